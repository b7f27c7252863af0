//! Acceptance of a delivery: against a task from the hub (expected codes, boxes, or GTIN ×
//! quantity lines when the books know no codes) or free.

use std::collections::{BTreeMap, BTreeSet};

use super::Refusal;
use crate::code::Ki;
use crate::gs1::{Gtin, Sscc};
use crate::product_group::ProductGroup;
use crate::status::Inn;
use crate::validate::Expectation;

/// An expected box: its label and the units the supplier packed into it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ExpectedBox {
    pub sscc: Sscc,
    pub children: Vec<Ki>,
}

/// A task line the books know by quantity only (1C's delivery: GTIN × quantity): any code
/// of that GTIN fills it, up to its quantity; more is a surplus, fewer is missing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QuantityLine {
    pub gtin: Gtin,
    pub quantity: u32,
}

/// The acceptance document the hub assigned: what the supplier says it shipped.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AcceptanceTask {
    pub id: String,
    pub number: String,
    pub sender: Option<Inn>,
    pub product_group: Option<ProductGroup>,
    /// Units shipped loose.
    pub units: Vec<Ki>,
    pub boxes: Vec<ExpectedBox>,
    /// Goods expected by count, their codes unknown until scanned.
    pub lines: Vec<QuantityLine>,
}

/// How one quantity line came out.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LineOutcome {
    pub gtin: Gtin,
    /// What the task asked for.
    pub expected: u32,
    /// The codes that fill the line, in the order they were accepted (at most `expected`).
    pub filled: Vec<Ki>,
    /// Codes of the line's GTIN past its quantity: surplus.
    pub over: Vec<Ki>,
}

impl LineOutcome {
    /// Units the line still lacks.
    pub fn short(&self) -> u32 {
        self.expected
            .saturating_sub(u32::try_from(self.filled.len()).unwrap_or(u32::MAX))
    }
}

/// One thing the operator did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AcceptanceEvent {
    Unit(Ki),
    /// A box label: accepts every unit the task lists in it.
    Box(Sscc),
    /// Takes one unit back out of the acceptance (damaged, wrong goods): a box accepted in part.
    Exclude(Ki),
}

/// How a unit came to be accepted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Via {
    Scan,
    Box(Sscc),
}

/// An acceptance in progress.
#[derive(Clone, Debug)]
pub struct Acceptance {
    task: Option<AcceptanceTask>,
    expected: BTreeSet<Ki>,
    events: Vec<AcceptanceEvent>,
    accepted: BTreeMap<Ki, Via>,
    boxes: Vec<Sscc>,
    excluded: BTreeSet<Ki>,
}

/// The running counters shown on screen.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Counters {
    pub expected: usize,
    pub scanned: usize,
    pub surplus: usize,
    pub missing: usize,
}

/// What a closed acceptance says: the discrepancy summary and the document's contents.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AcceptanceSummary {
    pub task_id: Option<String>,
    /// Units accepted, in the order they were accepted.
    pub accepted: Vec<Ki>,
    /// Boxes accepted whole or in part.
    pub boxes: Vec<Sscc>,
    /// Units taken back out after their box was accepted.
    pub rejected: Vec<Ki>,
    /// Accepted, but not in the task.
    pub surplus: Vec<Ki>,
    /// In the task, but not accepted.
    pub missing: Vec<Ki>,
    /// The task's quantity lines, each with what filled it and what went over; the over
    /// units are in `surplus` too.
    pub lines: Vec<LineOutcome>,
}

impl Acceptance {
    pub fn new(task: Option<AcceptanceTask>) -> Acceptance {
        let expected = task
            .iter()
            .flat_map(|t| {
                t.units
                    .iter()
                    .chain(t.boxes.iter().flat_map(|b| b.children.iter()))
            })
            .copied()
            .collect();
        Acceptance {
            task,
            expected,
            events: Vec::new(),
            accepted: BTreeMap::new(),
            boxes: Vec::new(),
            excluded: BTreeSet::new(),
        }
    }

    /// Rebuilds an acceptance from its journal, as after a restart.
    pub fn replay(
        task: Option<AcceptanceTask>,
        events: &[AcceptanceEvent],
    ) -> Result<Acceptance, Refusal> {
        let mut acceptance = Acceptance::new(task);
        for &event in events {
            acceptance.apply(event)?;
        }
        Ok(acceptance)
    }

    pub fn task(&self) -> Option<&AcceptanceTask> {
        self.task.as_ref()
    }

    pub fn events(&self) -> &[AcceptanceEvent] {
        &self.events
    }

    /// Where a unit stands against the task, for validation.
    pub fn expectation(&self, ki: &Ki) -> Expectation {
        match &self.task {
            None => Expectation::NoList,
            Some(_) if self.expected.contains(ki) => Expectation::Expected,
            Some(_) if self.line_has_room(ki.gtin()) => Expectation::Expected,
            Some(_) => Expectation::NotExpected,
        }
    }

    /// The quantity a task's lines ask of a GTIN (lines of one GTIN add up).
    fn quantity_of(&self, gtin: Gtin) -> u32 {
        self.task.as_ref().map_or(0, |t| {
            t.lines
                .iter()
                .filter(|l| l.gtin == gtin)
                .map(|l| l.quantity)
                .sum()
        })
    }

    /// Accepted units that count toward quantity lines: not a listed code, of that GTIN.
    fn by_quantity(&self, gtin: Gtin) -> usize {
        self.accepted
            .keys()
            .filter(|ki| {
                ki.gtin() == gtin && !self.expected.contains(ki) && !self.excluded.contains(ki)
            })
            .count()
    }

    fn line_has_room(&self, gtin: Gtin) -> bool {
        let quantity = self.quantity_of(gtin) as usize;
        quantity > 0 && self.by_quantity(gtin) < quantity
    }

    /// The task's GTINs by quantity, each once, in the task's order.
    fn line_gtins(&self) -> Vec<Gtin> {
        let mut gtins: Vec<Gtin> = Vec::new();
        for line in self.task.iter().flat_map(|t| t.lines.iter()) {
            if !gtins.contains(&line.gtin) {
                gtins.push(line.gtin);
            }
        }
        gtins
    }

    /// Whether the unit is accepted in this document already.
    pub fn contains(&self, ki: &Ki) -> bool {
        self.accepted.contains_key(ki) && !self.excluded.contains(ki)
    }

    /// Whether the task lists this box.
    pub fn expects_box(&self, sscc: Sscc) -> bool {
        self.expected_box(sscc).is_some()
    }

    fn expected_box(&self, sscc: Sscc) -> Option<&ExpectedBox> {
        self.task.as_ref()?.boxes.iter().find(|b| b.sscc == sscc)
    }

    /// Takes one event; on refusal nothing changes.
    pub fn apply(&mut self, event: AcceptanceEvent) -> Result<(), Refusal> {
        match event {
            AcceptanceEvent::Unit(ki) => {
                if self.contains(&ki) {
                    return Err(Refusal::Duplicate);
                }
                self.excluded.remove(&ki);
                self.accepted.entry(ki).or_insert(Via::Scan);
            }
            AcceptanceEvent::Box(sscc) => {
                if self.boxes.contains(&sscc) {
                    return Err(Refusal::Duplicate);
                }
                let children = self
                    .expected_box(sscc)
                    .ok_or(Refusal::UnknownBox { sscc })?
                    .children
                    .clone();
                for ki in children {
                    self.accepted.entry(ki).or_insert(Via::Box(sscc));
                }
                self.boxes.push(sscc);
            }
            AcceptanceEvent::Exclude(ki) => {
                if !self.contains(&ki) {
                    return Err(Refusal::NotAccepted);
                }
                self.excluded.insert(ki);
            }
        }
        self.events.push(event);
        Ok(())
    }

    /// Drops the last event and returns it.
    pub fn undo(&mut self) -> Result<AcceptanceEvent, Refusal> {
        let mut events = std::mem::take(&mut self.events);
        let last = events.pop().ok_or(Refusal::NothingToUndo)?;
        // Replaying what was accepted before cannot be refused.
        *self = Acceptance::replay(self.task.take(), &events)?;
        Ok(last)
    }

    pub fn counters(&self) -> Counters {
        let scanned = self.accepted.len() - self.excluded.len();
        let unlisted = self
            .accepted
            .keys()
            .filter(|ki| !self.expected.contains(ki) && !self.excluded.contains(ki))
            .count();
        let mut missing = self.expected.iter().filter(|ki| !self.contains(ki)).count();
        let (mut by_quantity, mut filled) = (0usize, 0usize);
        for gtin in self.line_gtins() {
            let quantity = self.quantity_of(gtin) as usize;
            let count = self.by_quantity(gtin);
            by_quantity += quantity;
            filled += count.min(quantity);
            missing += quantity.saturating_sub(count);
        }
        Counters {
            expected: self.expected.len() + by_quantity,
            scanned,
            surplus: unlisted - filled,
            missing,
        }
    }

    /// Units accepted through a box label, with their box.
    pub fn box_of(&self, ki: &Ki) -> Option<Sscc> {
        match self.accepted.get(ki) {
            Some(Via::Box(sscc)) => Some(*sscc),
            _ => None,
        }
    }

    /// The discrepancy summary and the document's contents.
    pub fn summary(&self) -> AcceptanceSummary {
        let mut accepted: Vec<Ki> = Vec::new();
        for event in &self.events {
            let units: Vec<Ki> = match event {
                AcceptanceEvent::Unit(ki) => vec![*ki],
                AcceptanceEvent::Box(sscc) => self
                    .expected_box(*sscc)
                    .map(|b| b.children.clone())
                    .unwrap_or_default(),
                AcceptanceEvent::Exclude(_) => Vec::new(),
            };
            for ki in units {
                if self.contains(&ki) && !accepted.contains(&ki) {
                    accepted.push(ki);
                }
            }
        }
        // A quantity line is filled by the first codes of its GTIN, in the order accepted.
        let mut lines: Vec<LineOutcome> = self
            .line_gtins()
            .into_iter()
            .map(|gtin| LineOutcome {
                gtin,
                expected: self.quantity_of(gtin),
                filled: Vec::new(),
                over: Vec::new(),
            })
            .collect();
        let mut surplus = Vec::new();
        for ki in accepted
            .iter()
            .filter(|ki| self.task.is_some() && !self.expected.contains(ki))
        {
            match lines.iter_mut().find(|l| l.gtin == ki.gtin()) {
                Some(line) if line.filled.len() < line.expected as usize => line.filled.push(*ki),
                Some(line) => {
                    line.over.push(*ki);
                    surplus.push(*ki);
                }
                None => surplus.push(*ki),
            }
        }
        let missing = self
            .expected
            .iter()
            .filter(|ki| !self.contains(ki))
            .copied()
            .collect();
        AcceptanceSummary {
            task_id: self.task.as_ref().map(|t| t.id.clone()),
            accepted,
            boxes: self.boxes.clone(),
            rejected: self.excluded.iter().copied().collect(),
            surplus,
            missing,
            lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::Gtin;

    fn ki(serial: &str) -> Ki {
        Ki::new(
            Gtin::from_digits(b"04600840749372").unwrap(),
            serial.as_bytes(),
        )
        .unwrap()
    }

    fn sscc(n: u64) -> Sscc {
        Sscc::compose(0, "4600840", n).unwrap()
    }

    fn task() -> AcceptanceTask {
        AcceptanceTask {
            id: "T-1".into(),
            number: "УПД-17".into(),
            sender: None,
            product_group: Some(ProductGroup::Milk),
            units: vec![ki("5aaaa1"), ki("5aaaa2")],
            boxes: vec![ExpectedBox {
                sscc: sscc(1),
                children: vec![ki("5bbbb1"), ki("5bbbb2"), ki("5bbbb3")],
            }],
            lines: Vec::new(),
        }
    }

    fn ki_of(gtin: &str, serial: &str) -> Ki {
        Ki::new(
            Gtin::from_digits(gtin.as_bytes()).unwrap(),
            serial.as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn quantity_lines_are_filled_by_any_code_of_their_gtin() {
        let cheese = Gtin::from_digits(b"04607004650048").unwrap();
        let kefir = Gtin::from_digits(b"04600840749365").unwrap();
        let mut task = task();
        task.lines = vec![
            QuantityLine {
                gtin: cheese,
                quantity: 2,
            },
            QuantityLine {
                gtin: kefir,
                quantity: 3,
            },
        ];
        let mut a = Acceptance::new(Some(task));
        assert_eq!(a.counters().expected, 10, "5 codes and 2 + 3 by quantity");
        let c = |s| ki_of("04607004650048", s);
        let k = |s| ki_of("04600840749365", s);
        assert_eq!(a.expectation(&c("c1")), Expectation::Expected);
        for ki in [c("c1"), c("c2"), k("k1")] {
            a.apply(AcceptanceEvent::Unit(ki)).unwrap();
        }
        assert_eq!(
            a.expectation(&c("c3")),
            Expectation::NotExpected,
            "the cheese line is full"
        );
        a.apply(AcceptanceEvent::Unit(c("c3"))).unwrap();
        a.apply(AcceptanceEvent::Unit(ki("5aaaa1"))).unwrap();
        assert_eq!(
            a.counters(),
            Counters {
                expected: 10,
                scanned: 5,
                surplus: 1,
                missing: 4 + 2
            }
        );
        let s = a.summary();
        assert_eq!(s.surplus, vec![c("c3")]);
        assert_eq!(s.lines.len(), 2);
        assert_eq!(
            (s.lines[0].filled.clone(), s.lines[0].over.clone()),
            (vec![c("c1"), c("c2")], vec![c("c3")])
        );
        assert_eq!(s.lines[0].short(), 0);
        assert_eq!(
            (s.lines[1].filled.clone(), s.lines[1].short()),
            (vec![k("k1")], 2)
        );
        // Taking a unit out frees its place on the line.
        a.apply(AcceptanceEvent::Exclude(c("c1"))).unwrap();
        let s = a.summary();
        assert_eq!(s.lines[0].filled, vec![c("c2"), c("c3")]);
        assert!(s.surplus.is_empty());
        assert_eq!(a.counters().surplus, 0);
        let replayed = Acceptance::replay(a.task().cloned(), a.events()).unwrap();
        assert_eq!(replayed.summary(), s);
    }

    #[test]
    fn task_with_a_surplus_a_missing_code_and_a_box() {
        let mut a = Acceptance::new(Some(task()));
        assert_eq!(
            a.counters(),
            Counters {
                expected: 5,
                scanned: 0,
                surplus: 0,
                missing: 5
            }
        );
        a.apply(AcceptanceEvent::Unit(ki("5aaaa1"))).unwrap();
        a.apply(AcceptanceEvent::Unit(ki("5zzzz9"))).unwrap();
        assert_eq!(a.expectation(&ki("5zzzz9")), Expectation::NotExpected);
        a.apply(AcceptanceEvent::Box(sscc(1))).unwrap();
        assert_eq!(a.box_of(&ki("5bbbb2")), Some(sscc(1)));
        a.apply(AcceptanceEvent::Exclude(ki("5bbbb3"))).unwrap();
        assert_eq!(
            a.counters(),
            Counters {
                expected: 5,
                scanned: 4,
                surplus: 1,
                missing: 2
            }
        );
        let summary = a.summary();
        assert_eq!(
            summary.accepted,
            vec![ki("5aaaa1"), ki("5zzzz9"), ki("5bbbb1"), ki("5bbbb2")]
        );
        assert_eq!(summary.surplus, vec![ki("5zzzz9")]);
        assert_eq!(summary.missing, vec![ki("5aaaa2"), ki("5bbbb3")]);
        assert_eq!(summary.rejected, vec![ki("5bbbb3")]);
        assert_eq!(summary.boxes, vec![sscc(1)]);
        assert_eq!(summary.task_id.as_deref(), Some("T-1"));
    }

    #[test]
    fn refusals_change_nothing() {
        let mut a = Acceptance::new(Some(task()));
        a.apply(AcceptanceEvent::Unit(ki("5aaaa1"))).unwrap();
        let before = a.counters();
        let refused = [
            (AcceptanceEvent::Unit(ki("5aaaa1")), Refusal::Duplicate),
            (
                AcceptanceEvent::Box(sscc(9)),
                Refusal::UnknownBox { sscc: sscc(9) },
            ),
            (AcceptanceEvent::Exclude(ki("5aaaa2")), Refusal::NotAccepted),
        ];
        for (event, refusal) in refused {
            assert_eq!(a.apply(event), Err(refusal));
        }
        assert_eq!(a.counters(), before);
        assert_eq!(a.events().len(), 1);
    }

    #[test]
    fn undo_and_replay() {
        let mut a = Acceptance::new(Some(task()));
        let events = [
            AcceptanceEvent::Box(sscc(1)),
            AcceptanceEvent::Exclude(ki("5bbbb1")),
            AcceptanceEvent::Unit(ki("5aaaa2")),
        ];
        for e in events {
            a.apply(e).unwrap();
        }
        let replayed = Acceptance::replay(Some(task()), a.events()).unwrap();
        assert_eq!(replayed.summary(), a.summary());
        assert_eq!(a.undo(), Ok(AcceptanceEvent::Unit(ki("5aaaa2"))));
        assert_eq!(a.undo(), Ok(AcceptanceEvent::Exclude(ki("5bbbb1"))));
        assert!(a.contains(&ki("5bbbb1")));
        assert_eq!(a.undo(), Ok(AcceptanceEvent::Box(sscc(1))));
        assert_eq!(a.undo(), Err(Refusal::NothingToUndo));
        assert_eq!(a.counters().scanned, 0);
    }

    #[test]
    fn free_acceptance_has_no_expectations() {
        let mut a = Acceptance::new(None);
        assert_eq!(a.expectation(&ki("5aaaa1")), Expectation::NoList);
        a.apply(AcceptanceEvent::Unit(ki("5aaaa1"))).unwrap();
        assert_eq!(
            a.apply(AcceptanceEvent::Box(sscc(1))),
            Err(Refusal::UnknownBox { sscc: sscc(1) })
        );
        let s = a.summary();
        assert_eq!(s.accepted, vec![ki("5aaaa1")]);
        assert!(s.surplus.is_empty() && s.missing.is_empty());
    }
}
