//! Aggregation: packing units into boxes and boxes onto pallets under SSCC labels, and
//! disaggregation of a scanned box.

use std::collections::BTreeMap;

use super::Refusal;
use crate::code::Ki;
use crate::gs1::Sscc;
use crate::status::CisStatus;

/// What an aggregate holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Level {
    /// A box of units.
    Box,
    /// A pallet of boxes.
    Pallet,
}

impl Level {
    pub fn code(self) -> &'static str {
        match self {
            Level::Box => "box",
            Level::Pallet => "pallet",
        }
    }
}

/// Something packed into an aggregate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Child {
    Unit(Ki),
    Box(Sscc),
}

/// How many children a box and a pallet take (configuration).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Capacity {
    pub box_units: u32,
    pub pallet_boxes: u32,
}

impl Default for Capacity {
    fn default() -> Capacity {
        Capacity {
            box_units: 100,
            pallet_boxes: 40,
        }
    }
}

/// One thing the operator did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AggregationEvent {
    /// Opens a box or pallet under a scanned or generated label.
    Open {
        sscc: Sscc,
        level: Level,
    },
    /// Adds a child; for a unit, with the status the cache gave at scan time (so a replay
    /// decides the same way).
    Add {
        child: Child,
        status: Option<CisStatus>,
    },
    Remove(Child),
    Close,
}

/// A box or pallet with its contents.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Aggregate {
    pub sscc: Sscc,
    pub level: Level,
    pub children: Vec<Child>,
    /// The one status every unit shares (for a box whose units' statuses were known).
    pub status: Option<CisStatus>,
}

/// An aggregation session: aggregates are opened, filled and closed one at a time.
#[derive(Clone, Debug)]
pub struct Aggregation {
    capacity: Capacity,
    events: Vec<AggregationEvent>,
    closed: Vec<Aggregate>,
    open: Option<Aggregate>,
    /// Which aggregate of this session each child sits in.
    placed: BTreeMap<Child, Sscc>,
}

impl Aggregation {
    pub fn new(capacity: Capacity) -> Aggregation {
        Aggregation {
            capacity,
            events: Vec::new(),
            closed: Vec::new(),
            open: None,
            placed: BTreeMap::new(),
        }
    }

    pub fn replay(capacity: Capacity, events: &[AggregationEvent]) -> Result<Aggregation, Refusal> {
        let mut aggregation = Aggregation::new(capacity);
        for &event in events {
            aggregation.apply(event)?;
        }
        Ok(aggregation)
    }

    pub fn events(&self) -> &[AggregationEvent] {
        &self.events
    }

    pub fn open_aggregate(&self) -> Option<&Aggregate> {
        self.open.as_ref()
    }

    pub fn closed(&self) -> &[Aggregate] {
        &self.closed
    }

    /// The fill level of the open aggregate: (children, capacity).
    pub fn fill(&self) -> Option<(u32, u32)> {
        self.open
            .as_ref()
            .map(|a| (a.children.len() as u32, self.limit(a.level)))
    }

    fn limit(&self, level: Level) -> u32 {
        match level {
            Level::Box => self.capacity.box_units,
            Level::Pallet => self.capacity.pallet_boxes,
        }
    }

    fn label_used(&self, sscc: Sscc) -> bool {
        self.closed.iter().any(|a| a.sscc == sscc)
            || self.open.as_ref().is_some_and(|a| a.sscc == sscc)
    }

    /// Takes one event; on refusal nothing changes.
    pub fn apply(&mut self, event: AggregationEvent) -> Result<(), Refusal> {
        match event {
            AggregationEvent::Open { sscc, level } => {
                if let Some(open) = &self.open {
                    return Err(Refusal::AlreadyOpen { sscc: open.sscc });
                }
                if self.label_used(sscc) || self.placed.contains_key(&Child::Box(sscc)) {
                    return Err(Refusal::LabelUsed { sscc });
                }
                self.open = Some(Aggregate {
                    sscc,
                    level,
                    children: Vec::new(),
                    status: None,
                });
            }
            AggregationEvent::Add { child, status } => self.add(child, status)?,
            AggregationEvent::Remove(child) => {
                let open = self.open.as_mut().ok_or(Refusal::NothingOpen)?;
                let at = open
                    .children
                    .iter()
                    .position(|c| *c == child)
                    .ok_or(Refusal::NotInside)?;
                open.children.remove(at);
                self.placed.remove(&child);
            }
            AggregationEvent::Close => {
                let open = self.open.as_ref().ok_or(Refusal::NothingOpen)?;
                if open.children.is_empty() {
                    return Err(Refusal::Empty);
                }
                if let Some(open) = self.open.take() {
                    self.closed.push(open);
                }
            }
        }
        self.events.push(event);
        Ok(())
    }

    fn add(&mut self, child: Child, status: Option<CisStatus>) -> Result<(), Refusal> {
        let limit = self.open.as_ref().map(|a| self.limit(a.level));
        let open = self.open.as_mut().ok_or(Refusal::NothingOpen)?;
        match (open.level, child) {
            (Level::Box, Child::Unit(_)) => {}
            (Level::Pallet, Child::Box(sscc)) => {
                if sscc == open.sscc {
                    return Err(Refusal::WrongChild);
                }
            }
            _ => return Err(Refusal::WrongChild),
        }
        if open.children.contains(&child) {
            return Err(Refusal::AlreadyInside);
        }
        if let Some(&sscc) = self.placed.get(&child) {
            return Err(Refusal::InAnotherAggregate { sscc });
        }
        if limit.is_some_and(|l| open.children.len() as u32 >= l) {
            return Err(Refusal::Full {
                capacity: limit.unwrap_or_default(),
            });
        }
        if let Some(status) = status {
            match open.status {
                Some(first) if first != status => return Err(Refusal::MixedStatus),
                _ => open.status = Some(status),
            }
        }
        open.children.push(child);
        self.placed.insert(child, open.sscc);
        Ok(())
    }

    pub fn undo(&mut self) -> Result<AggregationEvent, Refusal> {
        let mut events = std::mem::take(&mut self.events);
        let last = events.pop().ok_or(Refusal::NothingToUndo)?;
        *self = Aggregation::replay(self.capacity, &events)?;
        Ok(last)
    }
}

/// Disaggregation: the boxes or pallets to be unpacked, each scanned once.
#[derive(Clone, Debug, Default)]
pub struct Disaggregation {
    labels: Vec<Sscc>,
}

impl Disaggregation {
    pub fn new() -> Disaggregation {
        Disaggregation::default()
    }

    pub fn replay(labels: &[Sscc]) -> Result<Disaggregation, Refusal> {
        let mut d = Disaggregation::new();
        for &sscc in labels {
            d.add(sscc)?;
        }
        Ok(d)
    }

    pub fn add(&mut self, sscc: Sscc) -> Result<(), Refusal> {
        if self.labels.contains(&sscc) {
            return Err(Refusal::Duplicate);
        }
        self.labels.push(sscc);
        Ok(())
    }

    pub fn undo(&mut self) -> Result<Sscc, Refusal> {
        self.labels.pop().ok_or(Refusal::NothingToUndo)
    }

    pub fn labels(&self) -> &[Sscc] {
        &self.labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::Gtin;

    fn unit(serial: &str) -> Child {
        Child::Unit(
            Ki::new(
                Gtin::from_digits(b"04690257528523").unwrap(),
                serial.as_bytes(),
            )
            .unwrap(),
        )
    }

    fn sscc(n: u64) -> Sscc {
        Sscc::compose(0, "4690257", n).unwrap()
    }

    fn add(child: Child) -> AggregationEvent {
        AggregationEvent::Add {
            child,
            status: Some(CisStatus::Introduced),
        }
    }

    fn open(n: u64, level: Level) -> AggregationEvent {
        AggregationEvent::Open {
            sscc: sscc(n),
            level,
        }
    }

    #[test]
    fn boxes_onto_a_pallet() {
        let capacity = Capacity {
            box_units: 2,
            pallet_boxes: 2,
        };
        let mut a = Aggregation::new(capacity);
        let script = [
            open(1, Level::Box),
            add(unit("A")),
            add(unit("B")),
            AggregationEvent::Close,
            open(2, Level::Box),
            add(unit("C")),
            AggregationEvent::Close,
            open(3, Level::Pallet),
            add(Child::Box(sscc(1))),
            add(Child::Box(sscc(2))),
            AggregationEvent::Close,
        ];
        for e in script {
            a.apply(e).unwrap();
        }
        let closed: Vec<(u64, Level, usize)> = a
            .closed()
            .iter()
            .map(|g| (g.sscc.value() % 1000 / 10, g.level, g.children.len()))
            .collect();
        assert_eq!(closed.len(), 3);
        assert_eq!(closed[2].1, Level::Pallet);
        assert_eq!(a.closed()[0].children, vec![unit("A"), unit("B")]);
        assert_eq!(a.closed()[0].status, Some(CisStatus::Introduced));
    }

    #[test]
    fn rules_refuse_and_change_nothing() {
        let capacity = Capacity {
            box_units: 2,
            pallet_boxes: 1,
        };
        let mut a = Aggregation::new(capacity);
        assert_eq!(a.apply(add(unit("A"))), Err(Refusal::NothingOpen));
        a.apply(open(1, Level::Box)).unwrap();
        let cases = [
            (open(2, Level::Box), Refusal::AlreadyOpen { sscc: sscc(1) }),
            (AggregationEvent::Close, Refusal::Empty),
            (add(Child::Box(sscc(5))), Refusal::WrongChild),
            (AggregationEvent::Remove(unit("Z")), Refusal::NotInside),
        ];
        for (event, refusal) in cases {
            assert_eq!(a.apply(event), Err(refusal));
        }
        a.apply(add(unit("A"))).unwrap();
        assert_eq!(a.apply(add(unit("A"))), Err(Refusal::AlreadyInside));
        assert_eq!(
            a.apply(AggregationEvent::Add {
                child: unit("B"),
                status: Some(CisStatus::Applied)
            }),
            Err(Refusal::MixedStatus)
        );
        a.apply(add(unit("B"))).unwrap();
        assert_eq!(a.fill(), Some((2, 2)));
        assert_eq!(a.apply(add(unit("C"))), Err(Refusal::Full { capacity: 2 }));
        a.apply(AggregationEvent::Close).unwrap();
        assert_eq!(
            a.apply(open(1, Level::Box)),
            Err(Refusal::LabelUsed { sscc: sscc(1) })
        );
        a.apply(open(2, Level::Box)).unwrap();
        assert_eq!(
            a.apply(add(unit("A"))),
            Err(Refusal::InAnotherAggregate { sscc: sscc(1) })
        );
        assert_eq!(a.events().len(), 5);
    }

    #[test]
    fn remove_undo_and_replay() {
        let mut a = Aggregation::new(Capacity::default());
        for e in [
            open(1, Level::Box),
            add(unit("A")),
            add(unit("B")),
            AggregationEvent::Remove(unit("A")),
        ] {
            a.apply(e).unwrap();
        }
        assert_eq!(a.open_aggregate().unwrap().children, vec![unit("B")]);
        let replayed = Aggregation::replay(Capacity::default(), a.events()).unwrap();
        assert_eq!(replayed.open_aggregate(), a.open_aggregate());
        assert_eq!(a.undo(), Ok(AggregationEvent::Remove(unit("A"))));
        assert_eq!(
            a.open_aggregate().unwrap().children,
            vec![unit("A"), unit("B")]
        );
        // A removed unit may go into another box.
        a.apply(AggregationEvent::Remove(unit("B"))).unwrap();
        a.apply(AggregationEvent::Close).unwrap();
        a.apply(open(2, Level::Box)).unwrap();
        a.apply(add(unit("B"))).unwrap();
    }

    #[test]
    fn disaggregation_takes_each_label_once() {
        let mut d = Disaggregation::new();
        d.add(sscc(1)).unwrap();
        assert_eq!(d.add(sscc(1)), Err(Refusal::Duplicate));
        d.add(sscc(2)).unwrap();
        assert_eq!(d.undo(), Ok(sscc(2)));
        assert_eq!(d.labels(), &[sscc(1)]);
        assert_eq!(
            Disaggregation::replay(&[sscc(1), sscc(1)]).err(),
            Some(Refusal::Duplicate)
        );
    }
}
