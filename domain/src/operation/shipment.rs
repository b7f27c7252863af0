//! Shipment (picking): codes of ours in circulation scanned against an order (GTIN × quantity
//! lines, a list of codes, or both) or free; a box or pallet label ships its whole content.
//!
//! A label's content comes from the replica at the moment it is scanned and is kept in the
//! event, so a replay after a restart ships exactly what the operator saw shipped, whatever a
//! sync has changed since. An opened label (the operator breaks a box up to take part of it)
//! ships no longer whole: its units go one by one, and the hub unpacks it in GIS MT first.

use std::collections::{BTreeMap, BTreeSet};

use super::Refusal;
use super::acceptance::{LineOutcome, QuantityLine};
use crate::code::Ki;
use crate::gs1::{Gs1Date, Gtin, Sscc};
use crate::status::Inn;
use crate::validate::Expectation;

/// What the outgoing document says whatever was picked: to whom, under which number and date
/// (the UPD's, as the books write it).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ShipmentHeader {
    pub receiver: Inn,
    pub document_number: String,
    pub document_date: Gs1Date,
}

/// The order to pick, from the hub or 1C.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ShipmentOrder {
    pub id: String,
    pub number: String,
    /// Whom the goods go to (the customer, or the supplier for a supplier return).
    pub receiver: Option<Inn>,
    /// Codes the order names one by one.
    pub units: Vec<Ki>,
    /// Goods ordered by count: any code of that GTIN fills the line.
    pub lines: Vec<QuantityLine>,
}

/// A box or pallet label with the units it holds (a pallet's: those of all its boxes), as the
/// replica knows them when it is scanned.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PackedLabel {
    pub sscc: Sscc,
    pub units: Vec<Ki>,
}

/// One thing the operator did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ShipmentEvent {
    Unit(Ki),
    /// A label shipped whole.
    Label(PackedLabel),
    /// The operator opens a label: it no longer ships whole (and comes off the shipment if it
    /// was on it); its units can then be scanned one by one.
    Open(Sscc),
    /// Takes a unit scanned on its own back off the shipment.
    Remove(Ki),
}

/// The running counters shown on screen.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ShipmentCounters {
    /// What the order asks for, in units (0 without an order).
    pub ordered: usize,
    /// Units on the shipment, loose and in labels.
    pub shipped: usize,
    /// Units past the order: not named, or over a line.
    pub over: usize,
    /// Units the order still lacks.
    pub short: usize,
}

/// What a finished shipment says: the document's contents and how it compares with the order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ShipmentSummary {
    pub order_id: Option<String>,
    /// Units shipped on their own, in the order scanned.
    pub units: Vec<Ki>,
    /// Labels shipped whole, in the order scanned.
    pub labels: Vec<PackedLabel>,
    /// Labels the operator opened: the hub unpacks them before the shipment goes out.
    pub opened: Vec<Sscc>,
    /// Per ordered GTIN, what filled it and what went over.
    pub lines: Vec<LineOutcome>,
    /// Shipped though the order neither names the code nor has room on its GTIN's line.
    pub over: Vec<Ki>,
    /// Codes the order names that were not shipped.
    pub missing: Vec<Ki>,
}

/// A shipment in progress.
#[derive(Clone, Debug)]
pub struct Shipment {
    header: ShipmentHeader,
    order: Option<ShipmentOrder>,
    named: BTreeSet<Ki>,
    events: Vec<ShipmentEvent>,
    /// Units scanned on their own.
    loose: Vec<Ki>,
    /// Labels shipped whole, by label.
    labels: BTreeMap<Sscc, Vec<Ki>>,
    /// Which label each unit on the shipment came with.
    in_label: BTreeMap<Ki, Sscc>,
    opened: Vec<Sscc>,
}

impl Shipment {
    pub fn new(header: ShipmentHeader, order: Option<ShipmentOrder>) -> Shipment {
        let named = order.iter().flat_map(|o| o.units.iter()).copied().collect();
        Shipment {
            header,
            order,
            named,
            events: Vec::new(),
            loose: Vec::new(),
            labels: BTreeMap::new(),
            in_label: BTreeMap::new(),
            opened: Vec::new(),
        }
    }

    /// Rebuilds a shipment from its journal, as after a restart.
    pub fn replay(
        header: ShipmentHeader,
        order: Option<ShipmentOrder>,
        events: &[ShipmentEvent],
    ) -> Result<Shipment, Refusal> {
        let mut shipment = Shipment::new(header, order);
        for event in events {
            shipment.apply(event.clone())?;
        }
        Ok(shipment)
    }

    pub fn header(&self) -> &ShipmentHeader {
        &self.header
    }

    pub fn order(&self) -> Option<&ShipmentOrder> {
        self.order.as_ref()
    }

    pub fn events(&self) -> &[ShipmentEvent] {
        &self.events
    }

    /// Whether the unit is on the shipment, loose or in a label.
    pub fn contains(&self, ki: &Ki) -> bool {
        self.loose.contains(ki) || self.in_label.contains_key(ki)
    }

    /// The label a unit on the shipment came with.
    pub fn label_of(&self, ki: &Ki) -> Option<Sscc> {
        self.in_label.get(ki).copied()
    }

    pub fn is_opened(&self, sscc: Sscc) -> bool {
        self.opened.contains(&sscc)
    }

    /// Where a unit stands against the order, for validation: named, on a line with room, or
    /// past the order.
    pub fn expectation(&self, ki: &Ki) -> Expectation {
        match &self.order {
            None => Expectation::NoList,
            Some(_) if self.named.contains(ki) => Expectation::Expected,
            Some(_) if self.line_has_room(ki.gtin(), 1) => Expectation::Expected,
            Some(_) => Expectation::NotExpected,
        }
    }

    /// Whether a label's units all fit the order (named, or room on their lines together).
    pub fn label_fits(&self, units: &[Ki]) -> bool {
        let Some(_) = &self.order else {
            return true;
        };
        let mut by_gtin: BTreeMap<Gtin, usize> = BTreeMap::new();
        for ki in units.iter().filter(|ki| !self.named.contains(ki)) {
            *by_gtin.entry(ki.gtin()).or_default() += 1;
        }
        by_gtin
            .into_iter()
            .all(|(gtin, count)| self.line_has_room(gtin, count))
    }

    fn quantity_of(&self, gtin: Gtin) -> usize {
        self.order.as_ref().map_or(0, |o| {
            o.lines
                .iter()
                .filter(|l| l.gtin == gtin)
                .map(|l| l.quantity as usize)
                .sum()
        })
    }

    /// Units on the shipment that count toward a GTIN's line: not named by the order.
    fn by_quantity(&self, gtin: Gtin) -> usize {
        self.shipped_units()
            .filter(|ki| ki.gtin() == gtin && !self.named.contains(ki))
            .count()
    }

    fn line_has_room(&self, gtin: Gtin, count: usize) -> bool {
        let quantity = self.quantity_of(gtin);
        quantity > 0 && self.by_quantity(gtin) + count <= quantity
    }

    fn shipped_units(&self) -> impl Iterator<Item = &Ki> {
        self.loose.iter().chain(self.labels.values().flatten())
    }

    /// Takes one event; on refusal nothing changes.
    pub fn apply(&mut self, event: ShipmentEvent) -> Result<(), Refusal> {
        match &event {
            ShipmentEvent::Unit(ki) => {
                if self.loose.contains(ki) {
                    return Err(Refusal::Duplicate);
                }
                if let Some(&sscc) = self.in_label.get(ki) {
                    return Err(Refusal::ShippedWith { sscc });
                }
                self.loose.push(*ki);
            }
            ShipmentEvent::Label(label) => {
                if self.labels.contains_key(&label.sscc) {
                    return Err(Refusal::Duplicate);
                }
                if self.opened.contains(&label.sscc) {
                    return Err(Refusal::Opened { sscc: label.sscc });
                }
                if label.units.is_empty() {
                    return Err(Refusal::Empty);
                }
                // A unit can ship once: on its own or with one label.
                if let Some(ki) = label.units.iter().find(|ki| self.contains(ki)) {
                    return Err(match self.in_label.get(ki) {
                        Some(&sscc) => Refusal::ShippedWith { sscc },
                        None => Refusal::ShippedLoose { ki: *ki },
                    });
                }
                for ki in &label.units {
                    self.in_label.insert(*ki, label.sscc);
                }
                self.labels.insert(label.sscc, label.units.clone());
            }
            ShipmentEvent::Open(sscc) => {
                if self.opened.contains(sscc) {
                    return Err(Refusal::Opened { sscc: *sscc });
                }
                if let Some(units) = self.labels.remove(sscc) {
                    for ki in units {
                        self.in_label.remove(&ki);
                    }
                }
                self.opened.push(*sscc);
            }
            ShipmentEvent::Remove(ki) => {
                let Some(at) = self.loose.iter().position(|k| k == ki) else {
                    return Err(match self.in_label.get(ki) {
                        // Out of a whole label only by opening it.
                        Some(&sscc) => Refusal::ShippedWith { sscc },
                        None => Refusal::NotAccepted,
                    });
                };
                self.loose.remove(at);
            }
        }
        self.events.push(event);
        Ok(())
    }

    /// Drops the last event and returns it.
    pub fn undo(&mut self) -> Result<ShipmentEvent, Refusal> {
        let mut events = std::mem::take(&mut self.events);
        let last = events.pop().ok_or(Refusal::NothingToUndo)?;
        // Replaying what was taken before cannot be refused.
        *self = Shipment::replay(self.header.clone(), self.order.take(), &events)?;
        Ok(last)
    }

    pub fn counters(&self) -> ShipmentCounters {
        let summary = self.summary();
        let ordered = self.named.len()
            + summary
                .lines
                .iter()
                .map(|l| l.expected as usize)
                .sum::<usize>();
        let short = summary.missing.len()
            + summary
                .lines
                .iter()
                .map(|l| l.short() as usize)
                .sum::<usize>();
        ShipmentCounters {
            ordered,
            shipped: self.loose.len() + self.in_label.len(),
            over: summary.over.len(),
            short,
        }
    }

    /// The document's contents and the comparison with the order.
    pub fn summary(&self) -> ShipmentSummary {
        // The order's GTIN lines, each once, in the order's order.
        let mut lines: Vec<LineOutcome> = Vec::new();
        for line in self.order.iter().flat_map(|o| o.lines.iter()) {
            if !lines.iter().any(|l| l.gtin == line.gtin) {
                lines.push(LineOutcome {
                    gtin: line.gtin,
                    expected: u32::try_from(self.quantity_of(line.gtin)).unwrap_or(u32::MAX),
                    filled: Vec::new(),
                    over: Vec::new(),
                });
            }
        }
        let labels: Vec<PackedLabel> = self
            .events
            .iter()
            .filter_map(|e| match e {
                ShipmentEvent::Label(label) if self.labels.contains_key(&label.sscc) => {
                    Some(label.clone())
                }
                _ => None,
            })
            .collect();
        let mut over = Vec::new();
        if self.order.is_some() {
            // Lines fill in scan order: labels and loose units as they came.
            let in_scan_order = self.events.iter().flat_map(|e| match e {
                ShipmentEvent::Unit(ki) if self.loose.contains(ki) => vec![*ki],
                ShipmentEvent::Label(l) if self.labels.contains_key(&l.sscc) => l.units.clone(),
                _ => Vec::new(),
            });
            let mut seen = BTreeSet::new();
            for ki in in_scan_order.filter(|ki| !self.named.contains(ki)) {
                if !seen.insert(ki) {
                    continue;
                }
                match lines.iter_mut().find(|l| l.gtin == ki.gtin()) {
                    Some(line) if line.filled.len() < line.expected as usize => {
                        line.filled.push(ki);
                    }
                    Some(line) => {
                        line.over.push(ki);
                        over.push(ki);
                    }
                    None => over.push(ki),
                }
            }
        }
        let missing = self
            .order
            .iter()
            .flat_map(|o| o.units.iter())
            .filter(|ki| !self.contains(ki))
            .copied()
            .collect();
        ShipmentSummary {
            order_id: self.order.as_ref().map(|o| o.id.clone()),
            units: self.loose.clone(),
            labels,
            opened: self.opened.clone(),
            lines,
            over,
            missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MILK: &[u8] = b"04600840749372";
    const KEFIR: &[u8] = b"04600840749389";

    fn ki(gtin: &[u8], serial: &str) -> Ki {
        Ki::new(Gtin::from_digits(gtin).unwrap(), serial.as_bytes()).unwrap()
    }

    fn milk(n: u32) -> Ki {
        ki(MILK, &format!("5M{n:04}"))
    }

    fn kefir(n: u32) -> Ki {
        ki(KEFIR, &format!("5K{n:04}"))
    }

    fn sscc(n: u64) -> Sscc {
        Sscc::compose(0, "4600840", n).unwrap()
    }

    fn label(n: u64, units: &[Ki]) -> ShipmentEvent {
        ShipmentEvent::Label(PackedLabel {
            sscc: sscc(n),
            units: units.to_vec(),
        })
    }

    fn header() -> ShipmentHeader {
        ShipmentHeader {
            receiver: Inn::parse("7736207543").unwrap(),
            document_number: "РН-17".into(),
            document_date: Gs1Date {
                year: 2026,
                month: 12,
                day: 2,
            },
        }
    }

    fn order() -> ShipmentOrder {
        ShipmentOrder {
            id: "O-7".into(),
            number: "ЗК-7".into(),
            receiver: Inn::parse("7736207543"),
            units: vec![kefir(1)],
            lines: vec![QuantityLine {
                gtin: Gtin::from_digits(MILK).unwrap(),
                quantity: 4,
            }],
        }
    }

    #[test]
    fn a_label_ships_its_content_and_lines_fill_short_and_over() {
        let mut s = Shipment::new(header(), Some(order()));
        s.apply(label(1, &[milk(1), milk(2), milk(3)])).unwrap();
        assert_eq!(s.label_of(&milk(2)), Some(sscc(1)));
        assert_eq!(s.expectation(&milk(4)), Expectation::Expected);
        s.apply(ShipmentEvent::Unit(milk(4))).unwrap();
        // The line is full: a fifth milk is past the order, a label of two does not fit.
        assert_eq!(s.expectation(&milk(5)), Expectation::NotExpected);
        assert!(!s.label_fits(&[milk(5), milk(6)]));
        assert!(s.label_fits(&[kefir(1)]), "a named code fits");
        s.apply(ShipmentEvent::Unit(milk(5))).unwrap();
        assert_eq!(
            s.counters(),
            ShipmentCounters {
                ordered: 5,
                shipped: 5,
                over: 1,
                short: 1,
            }
        );
        let summary = s.summary();
        assert_eq!(summary.units, vec![milk(4), milk(5)]);
        assert_eq!(summary.labels.len(), 1);
        assert_eq!(
            summary.lines[0].filled,
            vec![milk(1), milk(2), milk(3), milk(4)]
        );
        assert_eq!(summary.over, vec![milk(5)]);
        assert_eq!(summary.missing, vec![kefir(1)]);
    }

    #[test]
    fn a_unit_ships_once_and_an_opened_label_ships_unit_by_unit() {
        let mut s = Shipment::new(header(), None);
        s.apply(label(1, &[milk(1), milk(2)])).unwrap();
        assert_eq!(s.expectation(&milk(1)), Expectation::NoList);
        assert_eq!(
            s.apply(ShipmentEvent::Unit(milk(1))),
            Err(Refusal::ShippedWith { sscc: sscc(1) })
        );
        assert_eq!(
            s.apply(label(1, &[milk(1), milk(2)])),
            Err(Refusal::Duplicate)
        );
        assert_eq!(
            s.apply(label(2, &[milk(2), milk(3)])),
            Err(Refusal::ShippedWith { sscc: sscc(1) })
        );
        assert_eq!(
            s.apply(ShipmentEvent::Remove(milk(1))),
            Err(Refusal::ShippedWith { sscc: sscc(1) }),
            "a unit leaves a whole label only by opening it"
        );
        assert_eq!(s.apply(label(3, &[])), Err(Refusal::Empty));
        // The operator opens the box and takes one unit of it.
        s.apply(ShipmentEvent::Open(sscc(1))).unwrap();
        assert!(!s.contains(&milk(2)));
        assert_eq!(
            s.apply(label(1, &[milk(1), milk(2)])),
            Err(Refusal::Opened { sscc: sscc(1) })
        );
        s.apply(ShipmentEvent::Unit(milk(1))).unwrap();
        assert_eq!(
            s.apply(ShipmentEvent::Unit(milk(1))),
            Err(Refusal::Duplicate)
        );
        s.apply(ShipmentEvent::Unit(milk(3))).unwrap();
        assert_eq!(
            s.apply(label(4, &[milk(3), milk(9)])),
            Err(Refusal::ShippedLoose { ki: milk(3) })
        );
        s.apply(ShipmentEvent::Remove(milk(3))).unwrap();
        assert_eq!(
            s.apply(ShipmentEvent::Remove(milk(3))),
            Err(Refusal::NotAccepted)
        );
        let summary = s.summary();
        assert_eq!(summary.units, vec![milk(1)]);
        assert!(summary.labels.is_empty());
        assert_eq!(summary.opened, vec![sscc(1)]);
        assert!(
            summary.over.is_empty() && summary.lines.is_empty(),
            "no order, nothing over"
        );
    }

    #[test]
    fn replay_and_undo_rebuild_the_same_shipment() {
        let events = vec![
            label(1, &[milk(1), milk(2)]),
            ShipmentEvent::Unit(kefir(1)),
            ShipmentEvent::Open(sscc(1)),
            ShipmentEvent::Unit(milk(2)),
        ];
        let mut s = Shipment::replay(header(), Some(order()), &events).unwrap();
        assert_eq!(s.events(), &events[..]);
        assert_eq!(s.undo().unwrap(), ShipmentEvent::Unit(milk(2)));
        assert_eq!(s.undo().unwrap(), ShipmentEvent::Open(sscc(1)));
        // The label is whole again, as before it was opened.
        assert_eq!(s.label_of(&milk(1)), Some(sscc(1)));
        assert!(!s.is_opened(sscc(1)));
        assert_eq!(s.summary().missing, Vec::<Ki>::new());
        let mut empty = Shipment::new(header(), None);
        assert_eq!(empty.undo(), Err(Refusal::NothingToUndo));
    }
}
