//! Inventory: what is on the shelves counted against what the warehouse owns there, offline,
//! and the write-off that settles what is missing when the operator chooses it.
//!
//! A count of the whole warehouse expects every code the replica holds as ours and in
//! circulation when it starts. A count of one zone knows what should be there only through
//! its boxes: a box counted whole counts what the replica says it holds, and a box the
//! operator opens expects its units one by one. Each unit is judged as it is scanned: ours
//! (found), someone else's (foreign), in a status goods on a shelf cannot have (wrong status,
//! sold or written off, say), or unknown to the replica. The judgement is kept in the event,
//! so a replay after a restart counts what the operator saw counted.

use std::collections::BTreeSet;

use super::Refusal;
use super::shipment::PackedLabel;
use super::write_off::WriteOffReason;
use crate::code::Ki;
use crate::gs1::{Gs1Date, Sscc};
use crate::status::{CisStatus, CodeStatus, Inn, StatusEx};

/// What the operator states before counting.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct InventoryHeader {
    /// The zone counted; `None` for the whole warehouse.
    pub zone: Option<String>,
    pub document_number: String,
    pub document_date: Gs1Date,
    /// The write-off of what is missing, when the operator settles the count with it.
    pub settle: Option<WriteOffReason>,
    /// Policy: a supervisor confirms a settling write-off before the count is finished.
    pub needs_supervisor: bool,
}

/// How a counted unit stands, judged from the replica when it was scanned.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Counted {
    /// Ours and in circulation: where it should be.
    Ours,
    /// Another participant's, or a code whose owner GIS MT does not tell us.
    Foreign,
    /// Ours, but in a status no goods on a shelf have (sold, written off, on its way...).
    WrongStatus(CisStatus),
    /// The replica has never heard of it.
    Unknown,
}

impl Counted {
    /// Judges a unit by what the replica says of it, for the participant `own`.
    pub fn of(status: Option<&CodeStatus>, own: Option<Inn>) -> Counted {
        let Some(status) = status else {
            return Counted::Unknown;
        };
        if status.owner.is_none() || status.owner != own {
            return Counted::Foreign;
        }
        if !in_stock(status) {
            return Counted::WrongStatus(status.status);
        }
        Counted::Ours
    }

    pub fn code(self) -> &'static str {
        match self {
            Counted::Ours => "found",
            Counted::Foreign => "foreign",
            Counted::WrongStatus(_) => "wrong_status",
            Counted::Unknown => "unknown",
        }
    }
}

/// Whether goods with this status belong on the warehouse's shelves: in circulation and not
/// shipped away or waiting for anything.
pub fn in_stock(status: &CodeStatus) -> bool {
    matches!(
        status.status,
        CisStatus::Introduced | CisStatus::IntroducedReturned
    ) && matches!(
        status.status_ex,
        StatusEx::Empty | StatusEx::WaitTransferToOwner
    )
}

/// One thing the operator did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum InventoryEvent {
    Unit {
        ki: Ki,
        counted: Counted,
    },
    /// A box or pallet counted whole, with what the replica says it holds.
    Label(PackedLabel),
    /// A box the operator opens to count unit by unit: its units are expected one by one.
    Open(PackedLabel),
    /// A supervisor confirmed the settling write-off (their operator id).
    Confirmed {
        supervisor: String,
    },
}

/// The finished count.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct InventorySummary {
    pub header: InventoryHeader,
    /// Ours, counted on their own or in a box counted whole.
    pub found: Vec<Ki>,
    /// Boxes and pallets counted whole.
    pub labels: Vec<Sscc>,
    /// Boxes opened and counted unit by unit.
    pub opened: Vec<Sscc>,
    pub foreign: Vec<Ki>,
    pub wrong_status: Vec<(Ki, CisStatus)>,
    pub unknown: Vec<Ki>,
    /// Expected and not counted.
    pub missing: Vec<Ki>,
    pub supervisor: Option<String>,
}

/// A count in progress.
#[derive(Clone, Debug)]
pub struct Inventory {
    header: InventoryHeader,
    /// What the count expects before any box is opened (the whole warehouse's stock).
    expected: BTreeSet<Ki>,
    events: Vec<InventoryEvent>,
}

impl Inventory {
    /// A count expecting `expected` (empty for a zone: its boxes say what they hold).
    pub fn new(header: InventoryHeader, expected: impl IntoIterator<Item = Ki>) -> Inventory {
        Inventory {
            header,
            expected: expected.into_iter().collect(),
            events: Vec::new(),
        }
    }

    pub fn header(&self) -> &InventoryHeader {
        &self.header
    }

    pub fn events(&self) -> &[InventoryEvent] {
        &self.events
    }

    pub fn expected(&self) -> &BTreeSet<Ki> {
        &self.expected
    }

    /// Whether a unit is counted already, alone or in a box counted whole.
    pub fn contains(&self, ki: &Ki) -> bool {
        self.events.iter().any(|e| match e {
            InventoryEvent::Unit { ki: k, .. } => k == ki,
            InventoryEvent::Label(label) => label.units.contains(ki),
            InventoryEvent::Open(_) | InventoryEvent::Confirmed { .. } => false,
        })
    }

    fn has_label(&self, sscc: Sscc) -> bool {
        self.events.iter().any(|e| match e {
            InventoryEvent::Label(l) | InventoryEvent::Open(l) => l.sscc == sscc,
            _ => false,
        })
    }

    pub fn apply(&mut self, event: InventoryEvent) -> Result<(), Refusal> {
        match &event {
            InventoryEvent::Unit { ki, .. } if self.contains(ki) => {
                return Err(Refusal::Duplicate);
            }
            InventoryEvent::Label(label) | InventoryEvent::Open(label) => {
                if self.has_label(label.sscc) {
                    return Err(Refusal::Duplicate);
                }
                // A box counted whole holds units already counted on their own: counting it
                // whole would count them twice.
                if matches!(event, InventoryEvent::Label(_))
                    && let Some(ki) = label.units.iter().find(|u| self.contains(u))
                {
                    return Err(Refusal::CountedAlone { ki: *ki });
                }
            }
            InventoryEvent::Confirmed { .. } => {
                if self.header.settle.is_none() {
                    return Err(Refusal::NothingToSettle);
                }
            }
            InventoryEvent::Unit { .. } => {}
        }
        self.events.push(event);
        Ok(())
    }

    pub fn undo(&mut self) -> Result<InventoryEvent, Refusal> {
        self.events.pop().ok_or(Refusal::NothingToUndo)
    }

    /// What the count found so far.
    pub fn summary(&self) -> InventorySummary {
        let mut found = Vec::new();
        let mut labels = Vec::new();
        let mut opened = Vec::new();
        let mut foreign = Vec::new();
        let mut wrong_status = Vec::new();
        let mut unknown = Vec::new();
        let mut expected = self.expected.clone();
        let mut counted = BTreeSet::new();
        let mut supervisor = None;
        for event in &self.events {
            match event {
                InventoryEvent::Unit { ki, counted: c } => {
                    counted.insert(*ki);
                    match c {
                        Counted::Ours => found.push(*ki),
                        Counted::Foreign => foreign.push(*ki),
                        Counted::WrongStatus(status) => wrong_status.push((*ki, *status)),
                        Counted::Unknown => unknown.push(*ki),
                    }
                }
                InventoryEvent::Label(label) => {
                    labels.push(label.sscc);
                    for ki in &label.units {
                        counted.insert(*ki);
                        found.push(*ki);
                    }
                }
                InventoryEvent::Open(label) => {
                    opened.push(label.sscc);
                    expected.extend(label.units.iter().copied());
                }
                InventoryEvent::Confirmed { supervisor: s } => supervisor = Some(s.clone()),
            }
        }
        let missing = expected.difference(&counted).copied().collect();
        InventorySummary {
            header: self.header.clone(),
            found,
            labels,
            opened,
            foreign,
            wrong_status,
            unknown,
            missing,
            supervisor,
        }
    }

    /// The finished count, once it may be finished: something counted, and a settling
    /// write-off of missing goods confirmed last when policy asks.
    pub fn finished(&self) -> Result<InventorySummary, Refusal> {
        let summary = self.summary();
        let counted = summary.found.len()
            + summary.foreign.len()
            + summary.wrong_status.len()
            + summary.unknown.len();
        if counted == 0 && summary.missing.is_empty() {
            return Err(Refusal::Empty);
        }
        let confirmed_last = matches!(self.events.last(), Some(InventoryEvent::Confirmed { .. }));
        if self.header.settle.is_some()
            && self.header.needs_supervisor
            && !summary.missing.is_empty()
            && !confirmed_last
        {
            return Err(Refusal::SupervisorRequired);
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::Gtin;
    use crate::status::PackageType;

    fn ki(serial: &str) -> Ki {
        Ki::new(
            Gtin::from_digits(b"04690257528523").unwrap(),
            serial.as_bytes(),
        )
        .unwrap()
    }

    fn sscc(n: u64) -> Sscc {
        Sscc::compose(0, "4690257", n).unwrap()
    }

    fn header(settle: Option<WriteOffReason>) -> InventoryHeader {
        InventoryHeader {
            zone: None,
            document_number: "ИНВ-1".into(),
            document_date: Gs1Date::from_yymmdd(b"261202").unwrap(),
            settle,
            needs_supervisor: true,
        }
    }

    fn ours() -> Inn {
        Inn::parse("7707083893").unwrap()
    }

    fn status(status: CisStatus, owner: Option<Inn>) -> CodeStatus {
        CodeStatus {
            status,
            status_ex: StatusEx::Empty,
            owner,
            product_group: None,
            package_type: PackageType::Unit,
            parent: None,
            expiry: None,
            max_retail_price: None,
            blocked: false,
        }
    }

    #[test]
    fn units_are_judged_by_the_replica() {
        let own = Some(ours());
        let other = Inn::parse("7736207543");
        assert_eq!(
            Counted::of(Some(&status(CisStatus::Introduced, own)), own),
            Counted::Ours
        );
        assert_eq!(
            Counted::of(Some(&status(CisStatus::Introduced, other)), own),
            Counted::Foreign
        );
        assert_eq!(
            Counted::of(Some(&status(CisStatus::Introduced, None)), own),
            Counted::Foreign
        );
        assert_eq!(
            Counted::of(Some(&status(CisStatus::Retired, own)), own),
            Counted::WrongStatus(CisStatus::Retired)
        );
        let mut shipped = status(CisStatus::Introduced, own);
        shipped.status_ex = StatusEx::WaitShipment;
        assert_eq!(
            Counted::of(Some(&shipped), own),
            Counted::WrongStatus(CisStatus::Introduced)
        );
        assert_eq!(Counted::of(None, own), Counted::Unknown);
    }

    #[test]
    fn a_count_finds_missing_foreign_and_boxes_whole_or_opened() {
        let mut count = Inventory::new(
            header(None),
            [ki("A1"), ki("A2"), ki("A3"), ki("B1"), ki("B2")],
        );
        count
            .apply(InventoryEvent::Unit {
                ki: ki("A1"),
                counted: Counted::Ours,
            })
            .unwrap();
        assert_eq!(
            count.apply(InventoryEvent::Unit {
                ki: ki("A1"),
                counted: Counted::Ours
            }),
            Err(Refusal::Duplicate)
        );
        count
            .apply(InventoryEvent::Unit {
                ki: ki("F1"),
                counted: Counted::Foreign,
            })
            .unwrap();
        count
            .apply(InventoryEvent::Label(PackedLabel {
                sscc: sscc(1),
                units: vec![ki("B1"), ki("B2")],
            }))
            .unwrap();
        // A box whose unit was counted alone cannot be counted whole too.
        assert_eq!(
            count.apply(InventoryEvent::Label(PackedLabel {
                sscc: sscc(2),
                units: vec![ki("A1")],
            })),
            Err(Refusal::CountedAlone { ki: ki("A1") })
        );
        // An opened box expects its units, here one not in the warehouse's list.
        count
            .apply(InventoryEvent::Open(PackedLabel {
                sscc: sscc(3),
                units: vec![ki("C1"), ki("C2")],
            }))
            .unwrap();
        count
            .apply(InventoryEvent::Unit {
                ki: ki("C1"),
                counted: Counted::Ours,
            })
            .unwrap();
        let s = count.finished().unwrap();
        assert_eq!(s.found, vec![ki("A1"), ki("B1"), ki("B2"), ki("C1")]);
        assert_eq!(s.foreign, vec![ki("F1")]);
        assert_eq!(s.labels, vec![sscc(1)]);
        assert_eq!(s.opened, vec![sscc(3)]);
        assert_eq!(s.missing, vec![ki("A2"), ki("A3"), ki("C2")]);
    }

    #[test]
    fn a_settling_write_off_waits_for_the_supervisor() {
        let mut count = Inventory::new(header(Some(WriteOffReason::DamageLoss)), [ki("A1")]);
        count
            .apply(InventoryEvent::Unit {
                ki: ki("F1"),
                counted: Counted::Foreign,
            })
            .unwrap();
        assert_eq!(count.finished(), Err(Refusal::SupervisorRequired));
        count
            .apply(InventoryEvent::Confirmed {
                supervisor: "petrov".into(),
            })
            .unwrap();
        let s = count.finished().unwrap();
        assert_eq!(s.missing, vec![ki("A1")]);
        assert_eq!(s.supervisor.as_deref(), Some("petrov"));
        // Nothing to settle: a count without a write-off takes no confirmation.
        let mut plain = Inventory::new(header(None), []);
        assert_eq!(
            plain.apply(InventoryEvent::Confirmed {
                supervisor: "petrov".into()
            }),
            Err(Refusal::NothingToSettle)
        );
        assert_eq!(plain.finished(), Err(Refusal::Empty));
    }
}
