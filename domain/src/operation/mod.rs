//! The warehouse operations the terminal exists for, as state machines of scan events.
//!
//! Each operation is the list of events the operator produced; its state is what those events
//! add up to. That makes the journal the source of truth: a restart replays it, undo drops the
//! last event and replays the rest, and the hub receives what the finished state says.

pub mod acceptance;
pub mod aggregation;
pub mod write_off;

use crate::gs1::Sscc;
use crate::lang::Lang;
use crate::reason::Reason;

pub use acceptance::{Acceptance, AcceptanceEvent, AcceptanceSummary, AcceptanceTask, ExpectedBox};
pub use aggregation::{
    Aggregate, Aggregation, AggregationEvent, Capacity, Child, Disaggregation, Level,
};
pub use write_off::{WriteOff, WriteOffEvent, WriteOffHeader, WriteOffReason, WriteOffSummary};

/// Why an operation did not take a scan or a command.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Refusal {
    /// Scanned before in this document.
    Duplicate,
    NothingToUndo,
    /// A box label that the acceptance task does not list: its contents are unknown here.
    UnknownBox {
        sscc: Sscc,
    },
    /// Only what was accepted can be excluded from the acceptance.
    NotAccepted,
    /// Units need an open box; boxes need an open pallet.
    NothingOpen,
    /// Close the open box or pallet first.
    AlreadyOpen {
        sscc: Sscc,
    },
    /// That label was already used for an aggregate in this session.
    LabelUsed {
        sscc: Sscc,
    },
    Full {
        capacity: u32,
    },
    /// A box holds units and a pallet holds boxes.
    WrongChild,
    /// Already in the open aggregate.
    AlreadyInside,
    /// Already packed into another aggregate in this session.
    InAnotherAggregate {
        sscc: Sscc,
    },
    /// All units of one aggregate must share one status (APPLIED or INTRODUCED).
    MixedStatus,
    NotInside,
    /// An aggregate cannot be closed empty.
    Empty,
    /// Policy asks a supervisor to confirm this write-off before it is finished.
    SupervisorRequired,
}

impl Reason for Refusal {
    fn code(&self) -> &'static str {
        match self {
            Refusal::Duplicate => "duplicate",
            Refusal::NothingToUndo => "nothing_to_undo",
            Refusal::UnknownBox { .. } => "unknown_box",
            Refusal::NotAccepted => "not_accepted",
            Refusal::NothingOpen => "nothing_open",
            Refusal::AlreadyOpen { .. } => "already_open",
            Refusal::LabelUsed { .. } => "label_used",
            Refusal::Full { .. } => "full",
            Refusal::WrongChild => "wrong_child",
            Refusal::AlreadyInside => "already_inside",
            Refusal::InAnotherAggregate { .. } => "in_another_aggregate",
            Refusal::MixedStatus => "mixed_status",
            Refusal::NotInside => "not_inside",
            Refusal::Empty => "empty",
            Refusal::SupervisorRequired => "supervisor_required",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let (en, ru): (String, String) = match *self {
            Refusal::Duplicate => (
                "Already scanned in this document.".into(),
                "Уже отсканирован в этом документе.".into(),
            ),
            Refusal::NothingToUndo => ("Nothing to undo.".into(), "Нечего отменять.".into()),
            Refusal::UnknownBox { sscc } => (
                format!("Box {sscc} is not in this delivery: open it and scan the items."),
                format!("Короба {sscc} нет в этой поставке: вскройте его и отсканируйте товары."),
            ),
            Refusal::NotAccepted => (
                "This item was not accepted, so it cannot be excluded.".into(),
                "Этот товар не принят, исключить его нельзя.".into(),
            ),
            Refusal::NothingOpen => (
                "Open a box or pallet first: scan or generate its label.".into(),
                "Сначала откройте короб или паллету: отсканируйте или создайте этикетку.".into(),
            ),
            Refusal::AlreadyOpen { sscc } => (
                format!("Close {sscc} first."),
                format!("Сначала закройте {sscc}."),
            ),
            Refusal::LabelUsed { sscc } => (
                format!("Label {sscc} is already used in this session."),
                format!("Этикетка {sscc} уже использована в этой сессии."),
            ),
            Refusal::Full { capacity } => (
                format!("Full: it holds {capacity}. Close it and open the next one."),
                format!("Заполнено: вмещает {capacity}. Закройте и откройте следующую упаковку."),
            ),
            Refusal::WrongChild => (
                "A box takes items and a pallet takes boxes.".into(),
                "В короб кладут товары, на паллету — короба.".into(),
            ),
            Refusal::AlreadyInside => ("Already inside.".into(), "Уже внутри.".into()),
            Refusal::InAnotherAggregate { sscc } => (
                format!("Already packed into {sscc}: remove it there first."),
                format!("Уже упакован в {sscc}: сначала извлеките его оттуда."),
            ),
            Refusal::MixedStatus => (
                "Items of different statuses cannot share a box.".into(),
                "Товары с разными статусами нельзя упаковать в один короб.".into(),
            ),
            Refusal::NotInside => (
                "This is not in the open box or pallet.".into(),
                "Этого нет в открытом коробе или на паллете.".into(),
            ),
            Refusal::Empty => (
                "Nothing inside: an empty box or pallet cannot be closed.".into(),
                "Внутри ничего нет: пустой короб или паллету закрыть нельзя.".into(),
            ),
            Refusal::SupervisorRequired => (
                "A supervisor must confirm this write-off.".into(),
                "Списание должен подтвердить старший смены.".into(),
            ),
        };
        match lang {
            Lang::En => en,
            Lang::Ru => ru,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}
