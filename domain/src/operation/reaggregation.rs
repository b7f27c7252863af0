//! Re-aggregation: units put into, or taken out of, one box that already exists and stays
//! closed (GIS MT's `REAGGREGATION_DOCUMENT`, `ADDING` or `REMOVING`), or moved into it out of
//! the boxes they sit in (a `REMOVING` of each of those boxes, then an `ADDING` of this one).
//!
//! The operator scans the box's label, chooses adding, removing or moving (in either order,
//! and may change the choice until the first unit), then scans units. Where a unit sits is a fact of the
//! replica and of the boxes this terminal built, so each event carries what was known at scan
//! time: a replay after a restart decides exactly as the operator saw.

use super::Refusal;
use crate::code::Ki;
use crate::gs1::Sscc;

/// Whether units go into the box, come out of it, or move into it from other boxes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ReaggregationMode {
    Adding,
    Removing,
    /// Into this box from wherever each unit sits: another box (taken out of it first) or
    /// none.
    Moving,
}

impl ReaggregationMode {
    pub const ALL: [ReaggregationMode; 3] = [
        ReaggregationMode::Adding,
        ReaggregationMode::Removing,
        ReaggregationMode::Moving,
    ];

    /// A stable name for storage.
    pub fn code(self) -> &'static str {
        match self {
            ReaggregationMode::Adding => "adding",
            ReaggregationMode::Removing => "removing",
            ReaggregationMode::Moving => "moving",
        }
    }

    pub fn from_code(code: &str) -> Option<ReaggregationMode> {
        ReaggregationMode::ALL
            .into_iter()
            .find(|m| m.code() == code)
    }
}

/// One thing the operator did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReaggregationEvent {
    /// The box's label was scanned. `units` is how many units the terminal knows it holds
    /// (a box built here), for the capacity check; `None` when only GIS MT knows.
    Box {
        sscc: Sscc,
        units: Option<u32>,
    },
    Mode(ReaggregationMode),
    /// A unit, with the box it sat in when scanned (by the replica or this terminal's own
    /// boxes), `None` when in none.
    Unit {
        ki: Ki,
        parent: Option<Sscc>,
    },
}

/// The finished document: one box, one direction, the units.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReaggregationSummary {
    pub sscc: Sscc,
    pub mode: ReaggregationMode,
    pub units: Vec<Ki>,
    /// Of a move: the boxes units came out of, each with its units, in the order first
    /// scanned. Units that sat in no box are in none.
    pub taken_from: Vec<(Sscc, Vec<Ki>)>,
}

/// A re-aggregation in progress.
#[derive(Clone, Debug)]
pub struct Reaggregation {
    /// Units a box takes (configuration), checked when the box's contents are known.
    box_units: u32,
    events: Vec<ReaggregationEvent>,
    sscc: Option<Sscc>,
    known: Option<u32>,
    mode: Option<ReaggregationMode>,
    units: Vec<Ki>,
}

impl Reaggregation {
    pub fn new(box_units: u32) -> Reaggregation {
        Reaggregation {
            box_units,
            events: Vec::new(),
            sscc: None,
            known: None,
            mode: None,
            units: Vec::new(),
        }
    }

    pub fn replay(box_units: u32, events: &[ReaggregationEvent]) -> Result<Reaggregation, Refusal> {
        let mut r = Reaggregation::new(box_units);
        for &event in events {
            r.apply(event)?;
        }
        Ok(r)
    }

    pub fn box_units(&self) -> u32 {
        self.box_units
    }

    pub fn events(&self) -> &[ReaggregationEvent] {
        &self.events
    }

    /// The box, once its label is scanned.
    pub fn sscc(&self) -> Option<Sscc> {
        self.sscc
    }

    pub fn mode(&self) -> Option<ReaggregationMode> {
        self.mode
    }

    /// The units scanned, in order.
    pub fn units(&self) -> &[Ki] {
        &self.units
    }

    pub fn contains(&self, ki: &Ki) -> bool {
        self.units.contains(ki)
    }

    /// How many units the box will hold once finished, when its contents are known.
    pub fn fill(&self) -> Option<u32> {
        let known = self.known?;
        let scanned = u32::try_from(self.units.len()).unwrap_or(u32::MAX);
        Some(match self.mode {
            Some(ReaggregationMode::Removing) => known.saturating_sub(scanned),
            _ => known.saturating_add(scanned),
        })
    }

    /// Takes one event; on refusal nothing changes.
    pub fn apply(&mut self, event: ReaggregationEvent) -> Result<(), Refusal> {
        match event {
            ReaggregationEvent::Box { sscc, units } => {
                match self.sscc {
                    Some(open) if open == sscc => return Err(Refusal::Duplicate),
                    // One document is one box: the next box is the next operation.
                    Some(open) => return Err(Refusal::AlreadyOpen { sscc: open }),
                    None => {}
                }
                self.sscc = Some(sscc);
                self.known = units;
            }
            ReaggregationEvent::Mode(mode) => {
                if self.mode == Some(mode) {
                    return Err(Refusal::AlreadyChosen);
                }
                if !self.units.is_empty() {
                    return Err(Refusal::ModeFixed);
                }
                self.mode = Some(mode);
            }
            ReaggregationEvent::Unit { ki, parent } => self.unit(ki, parent)?,
        }
        self.events.push(event);
        Ok(())
    }

    fn unit(&mut self, ki: Ki, parent: Option<Sscc>) -> Result<(), Refusal> {
        let sscc = self.sscc.ok_or(Refusal::BoxFirst)?;
        let mode = self.mode.ok_or(Refusal::ChooseMode)?;
        if self.units.contains(&ki) {
            return Err(Refusal::Duplicate);
        }
        match mode {
            ReaggregationMode::Adding | ReaggregationMode::Moving => {
                match parent {
                    Some(p) if p == sscc => return Err(Refusal::AlreadyInside),
                    Some(p) if mode == ReaggregationMode::Adding => {
                        return Err(Refusal::InAnotherAggregate { sscc: p });
                    }
                    _ => {}
                }
                if self.fill().is_some_and(|n| n >= self.box_units) {
                    return Err(Refusal::Full {
                        capacity: self.box_units,
                    });
                }
            }
            ReaggregationMode::Removing => {
                if parent != Some(sscc) {
                    return Err(Refusal::NotInBox { sscc });
                }
            }
        }
        self.units.push(ki);
        Ok(())
    }

    pub fn undo(&mut self) -> Result<ReaggregationEvent, Refusal> {
        let mut events = std::mem::take(&mut self.events);
        let last = events.pop().ok_or(Refusal::NothingToUndo)?;
        *self = Reaggregation::replay(self.box_units, &events)?;
        Ok(last)
    }

    /// The document, once it may be finished: a box, a choice and at least one unit.
    pub fn summary(&self) -> Result<ReaggregationSummary, Refusal> {
        let sscc = self.sscc.ok_or(Refusal::BoxFirst)?;
        let mode = self.mode.ok_or(Refusal::ChooseMode)?;
        if self.units.is_empty() {
            return Err(Refusal::Empty);
        }
        let mut taken_from: Vec<(Sscc, Vec<Ki>)> = Vec::new();
        if mode == ReaggregationMode::Moving {
            for event in &self.events {
                if let ReaggregationEvent::Unit {
                    ki,
                    parent: Some(from),
                } = event
                {
                    match taken_from.iter_mut().find(|(s, _)| s == from) {
                        Some((_, units)) => units.push(*ki),
                        None => taken_from.push((*from, vec![*ki])),
                    }
                }
            }
        }
        Ok(ReaggregationSummary {
            sscc,
            mode,
            units: self.units.clone(),
            taken_from,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::Gtin;
    use ReaggregationEvent as E;
    use ReaggregationMode::{Adding, Moving, Removing};

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

    fn unit(serial: &str, parent: Option<u64>) -> ReaggregationEvent {
        E::Unit {
            ki: ki(serial),
            parent: parent.map(sscc),
        }
    }

    fn boxed(n: u64, units: Option<u32>) -> ReaggregationEvent {
        E::Box {
            sscc: sscc(n),
            units,
        }
    }

    /// Each step: the event and what became of it; refused steps change nothing, so the
    /// events kept are exactly the accepted ones.
    fn trace(box_units: u32, steps: &[(ReaggregationEvent, Result<(), Refusal>)]) -> Reaggregation {
        let mut r = Reaggregation::new(box_units);
        let mut kept = Vec::new();
        for (i, (event, want)) in steps.iter().enumerate() {
            assert_eq!(r.apply(*event), *want, "step {i}: {event:?}");
            if want.is_ok() {
                kept.push(*event);
            }
            assert_eq!(r.events(), kept.as_slice(), "step {i}");
        }
        r
    }

    #[test]
    fn adding_to_a_box_built_here() {
        let r = trace(
            4,
            &[
                (unit("A", None), Err(Refusal::BoxFirst)),
                (boxed(1, Some(2)), Ok(())),
                (unit("A", None), Err(Refusal::ChooseMode)),
                (E::Mode(Adding), Ok(())),
                (E::Mode(Adding), Err(Refusal::AlreadyChosen)),
                (boxed(1, Some(2)), Err(Refusal::Duplicate)),
                (boxed(2, None), Err(Refusal::AlreadyOpen { sscc: sscc(1) })),
                (unit("A", Some(1)), Err(Refusal::AlreadyInside)),
                (
                    unit("B", Some(7)),
                    Err(Refusal::InAnotherAggregate { sscc: sscc(7) }),
                ),
                (unit("C", None), Ok(())),
                (unit("C", None), Err(Refusal::Duplicate)),
                (E::Mode(Removing), Err(Refusal::ModeFixed)),
                (unit("D", None), Ok(())),
                // Two inside and two added: the box of four is full.
                (unit("E", None), Err(Refusal::Full { capacity: 4 })),
            ],
        );
        assert_eq!(r.fill(), Some(4));
        assert_eq!(
            r.summary(),
            Ok(ReaggregationSummary {
                sscc: sscc(1),
                mode: Adding,
                units: vec![ki("C"), ki("D")],
                taken_from: Vec::new(),
            })
        );
    }

    #[test]
    fn removing_takes_only_what_the_box_holds() {
        let r = trace(
            2,
            &[
                // The choice may come before the label.
                (E::Mode(Removing), Ok(())),
                (E::Mode(Adding), Ok(())),
                (E::Mode(Removing), Ok(())),
                // Only GIS MT knows this box: no capacity applies.
                (boxed(3, None), Ok(())),
                (unit("A", None), Err(Refusal::NotInBox { sscc: sscc(3) })),
                (unit("B", Some(4)), Err(Refusal::NotInBox { sscc: sscc(3) })),
                (unit("C", Some(3)), Ok(())),
                (unit("D", Some(3)), Ok(())),
                (unit("E", Some(3)), Ok(())),
                (unit("C", Some(3)), Err(Refusal::Duplicate)),
            ],
        );
        assert_eq!(r.fill(), None);
        assert_eq!(r.summary().unwrap().units, vec![ki("C"), ki("D"), ki("E")]);
    }

    #[test]
    fn moving_takes_units_out_of_the_boxes_they_sit_in() {
        let r = trace(
            3,
            &[
                (boxed(1, Some(1)), Ok(())),
                (E::Mode(Moving), Ok(())),
                (unit("A", Some(1)), Err(Refusal::AlreadyInside)),
                (unit("B", Some(7)), Ok(())),
                (unit("C", None), Ok(())),
                (E::Mode(Adding), Err(Refusal::ModeFixed)),
                (unit("D", Some(8)), Err(Refusal::Full { capacity: 3 })),
            ],
        );
        assert_eq!(r.fill(), Some(3));
        let mut bigger = trace(
            9,
            &[
                (boxed(1, Some(1)), Ok(())),
                (E::Mode(Moving), Ok(())),
                (unit("B", Some(7)), Ok(())),
                (unit("C", None), Ok(())),
                (unit("D", Some(8)), Ok(())),
                (unit("E", Some(7)), Ok(())),
            ],
        );
        assert_eq!(
            bigger.summary(),
            Ok(ReaggregationSummary {
                sscc: sscc(1),
                mode: Moving,
                units: vec![ki("B"), ki("C"), ki("D"), ki("E")],
                taken_from: vec![(sscc(7), vec![ki("B"), ki("E")]), (sscc(8), vec![ki("D")]),],
            })
        );
        // Undone, a unit is no longer taken out of its box.
        assert_eq!(bigger.undo(), Ok(unit("E", Some(7))));
        assert_eq!(
            bigger.summary().unwrap().taken_from,
            vec![(sscc(7), vec![ki("B")]), (sscc(8), vec![ki("D")])]
        );
        assert_eq!(
            r.summary().unwrap().taken_from,
            vec![(sscc(7), vec![ki("B")])]
        );
    }

    #[test]
    fn unfinished_documents_say_what_is_missing() {
        let mut r = Reaggregation::new(10);
        assert_eq!(r.summary(), Err(Refusal::BoxFirst));
        r.apply(boxed(1, None)).unwrap();
        assert_eq!(r.summary(), Err(Refusal::ChooseMode));
        r.apply(E::Mode(Adding)).unwrap();
        assert_eq!(r.summary(), Err(Refusal::Empty));
    }

    #[test]
    fn undo_and_replay_rebuild_the_same_state() {
        let mut r = trace(
            5,
            &[
                (boxed(1, Some(1)), Ok(())),
                (E::Mode(Removing), Ok(())),
                (unit("A", Some(1)), Ok(())),
            ],
        );
        assert_eq!(r.fill(), Some(0));
        let replayed = Reaggregation::replay(5, r.events()).unwrap();
        assert_eq!(replayed.summary(), r.summary());
        assert_eq!(r.undo(), Ok(unit("A", Some(1))));
        // With no unit left the choice may change again.
        r.apply(E::Mode(Adding)).unwrap();
        r.apply(unit("B", None)).unwrap();
        assert_eq!(r.fill(), Some(2));
        assert_eq!(r.undo(), Ok(unit("B", None)));
        assert_eq!(r.undo(), Ok(E::Mode(Adding)));
        assert_eq!(r.undo(), Ok(E::Mode(Removing)));
        assert_eq!(r.undo(), Ok(boxed(1, Some(1))));
        assert_eq!(r.undo(), Err(Refusal::NothingToUndo));
        assert_eq!(r.sscc(), None);
        // A journal with an event the rules refuse does not replay.
        assert_eq!(
            Reaggregation::replay(5, &[unit("A", None)]).err(),
            Some(Refusal::BoxFirst)
        );
    }

    #[test]
    fn modes_have_stable_names() {
        for m in ReaggregationMode::ALL {
            assert_eq!(ReaggregationMode::from_code(m.code()), Some(m));
        }
        assert_eq!(ReaggregationMode::from_code("shaking"), None);
    }
}
