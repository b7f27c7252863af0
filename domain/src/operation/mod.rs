//! The warehouse operations the terminal exists for, as state machines of scan events.
//!
//! Each operation is the list of events the operator produced; its state is what those events
//! add up to. That makes the journal the source of truth: a restart replays it, undo drops the
//! last event and replays the rest, and the hub receives what the finished state says.

pub mod acceptance;
pub mod aggregation;
pub mod customer_return;
pub mod inventory;
pub mod reaggregation;
pub mod shipment;
pub mod write_off;

use crate::code::Ki;
use crate::gs1::{Gtin, Sscc};
use crate::lang::Lang;
use crate::reason::Reason;

pub use acceptance::{
    Acceptance, AcceptanceEvent, AcceptanceSummary, AcceptanceTask, ExpectedBox, LineOutcome,
    QuantityLine,
};
pub use aggregation::{
    Aggregate, Aggregation, AggregationEvent, Capacity, Child, Disaggregation, Level,
};
pub use customer_return::{
    CustomerReturn, ReturnCause, ReturnEvent, ReturnHeader, ReturnReceipt, ReturnSummary,
};
pub use inventory::{Counted, Inventory, InventoryEvent, InventoryHeader, InventorySummary};
pub use reaggregation::{
    Reaggregation, ReaggregationEvent, ReaggregationMode, ReaggregationSummary,
};
pub use shipment::{
    PackedLabel, Shipment, ShipmentCounters, ShipmentEvent, ShipmentHeader, ShipmentOrder,
    ShipmentSummary,
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
    /// Re-aggregation: units go into or out of one box, so its label comes first.
    BoxFirst,
    /// Re-aggregation: adding or removing is chosen before the first unit.
    ChooseMode,
    /// Re-aggregation: that choice is already made.
    AlreadyChosen,
    /// Re-aggregation: the units scanned so far were scanned for the other choice.
    ModeFixed,
    /// Re-aggregation: only what the box holds can be taken out of it.
    NotInBox {
        sscc: Sscc,
    },
    /// Re-aggregation works on a box of units; a pallet's boxes are another document.
    NotABox {
        sscc: Sscc,
    },
    /// Write-off: the code before this one is re-marked and its new code comes next.
    AwaitingReplacement {
        old: Ki,
    },
    /// Write-off: no code waits for a new one.
    NothingToReplace,
    /// Write-off: only a code reason (spoiled, lost, destroyed) replaces a label.
    NoRemarking,
    /// Write-off: a replacement must be a fresh code, not one in or out of circulation.
    NotANewCode {
        status: crate::status::CisStatus,
    },
    /// Write-off: a replacement is for the same product as the code it replaces.
    OtherProduct {
        gtin: Gtin,
    },
    /// Shipment: the unit ships already, with that label.
    ShippedWith {
        sscc: Sscc,
    },
    /// Shipment: a unit of this label ships already on its own.
    ShippedLoose {
        ki: Ki,
    },
    /// Shipment: the label was opened; its units ship one by one.
    Opened {
        sscc: Sscc,
    },
    /// Customer return: the item before this scan has an unreadable label, and its new code
    /// comes next.
    AwaitingNewLabel,
    /// Inventory: a unit of this box was counted on its own; the box is opened, not counted
    /// whole.
    CountedAlone {
        ki: Ki,
    },
    /// Inventory: no write-off settles this count, so there is nothing to confirm.
    NothingToSettle,
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
            Refusal::BoxFirst => "box_first",
            Refusal::ChooseMode => "choose_mode",
            Refusal::AlreadyChosen => "already_chosen",
            Refusal::ModeFixed => "mode_fixed",
            Refusal::NotInBox { .. } => "not_in_box",
            Refusal::NotABox { .. } => "not_a_box",
            Refusal::AwaitingReplacement { .. } => "awaiting_replacement",
            Refusal::NothingToReplace => "nothing_to_replace",
            Refusal::NoRemarking => "no_remarking",
            Refusal::NotANewCode { .. } => "not_a_new_code",
            Refusal::OtherProduct { .. } => "other_product",
            Refusal::ShippedWith { .. } => "shipped_with",
            Refusal::ShippedLoose { .. } => "shipped_loose",
            Refusal::Opened { .. } => "opened",
            Refusal::AwaitingNewLabel => "awaiting_new_label",
            Refusal::CountedAlone { .. } => "counted_alone",
            Refusal::NothingToSettle => "nothing_to_settle",
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
            Refusal::BoxFirst => (
                "Scan the box label first.".into(),
                "Сначала отсканируйте этикетку короба.".into(),
            ),
            Refusal::ChooseMode => (
                "Choose first: add to the box or take out of it.".into(),
                "Сначала выберите: добавить в короб или изъять из него.".into(),
            ),
            Refusal::AlreadyChosen => ("Already chosen.".into(), "Уже выбрано.".into()),
            Refusal::ModeFixed => (
                "Items are already scanned: undo them to switch between adding and taking out."
                    .into(),
                "Товары уже отсканированы: отмените их, чтобы переключиться между добавлением и изъятием."
                    .into(),
            ),
            Refusal::NotInBox { sscc } => (
                format!("Not in box {sscc}: only what it holds can be taken out."),
                format!("Этого нет в коробе {sscc}: изъять можно только его содержимое."),
            ),
            Refusal::NotABox { sscc } => (
                format!("{sscc} is a pallet: items are added to and taken out of boxes."),
                format!("{sscc} — палета: товары добавляют в короба и изымают из коробов."),
            ),
            Refusal::AwaitingReplacement { old } => (
                format!("Scan the new code for {old} first: the goods stay and get a new label."),
                format!(
                    "Сначала отсканируйте новый код для {old}: товар остаётся и получает новую этикетку."
                ),
            ),
            Refusal::NothingToReplace => (
                "No code waits for a new one.".into(),
                "Ни один код не ждёт замены.".into(),
            ),
            Refusal::NoRemarking => (
                "Only a code reason (spoiled, lost, destroyed) replaces a label.".into(),
                "Заменить код можно только по причине кода (испорчен, утерян, уничтожен).".into(),
            ),
            Refusal::NotANewCode { status } => (
                format!("This code is already {status}: the new label needs a code not in circulation yet."),
                format!("Этот код уже в статусе {status}: для новой этикетки нужен код, ещё не введённый в оборот."),
            ),
            Refusal::OtherProduct { gtin } => (
                format!("The new code is for another product: it must carry GTIN {gtin}."),
                format!("Новый код от другого товара: нужен код с GTIN {gtin}."),
            ),
            Refusal::ShippedWith { sscc } => (
                format!("Already on this shipment with {sscc}: open that label to ship its items one by one."),
                format!("Уже в этой отгрузке в составе {sscc}: вскройте упаковку, чтобы отгружать её товары поштучно."),
            ),
            Refusal::ShippedLoose { ki } => (
                format!("{ki} of this label is already on the shipment on its own: take it off first."),
                format!("{ki} из этой упаковки уже в отгрузке отдельно: сначала уберите его из отгрузки."),
            ),
            Refusal::Opened { sscc } => (
                format!("{sscc} was opened in this shipment: scan its items one by one."),
                format!("{sscc} вскрыта в этой отгрузке: сканируйте её товары поштучно."),
            ),
            Refusal::AwaitingNewLabel => (
                "Scan the new code for the item with the damaged label first.".into(),
                "Сначала отсканируйте новый код для товара с повреждённой этикеткой.".into(),
            ),
            Refusal::CountedAlone { ki } => (
                format!("{ki} of this box is counted on its own already: open the box and count it unit by unit."),
                format!("{ki} из этого короба уже посчитан отдельно: вскройте короб и посчитайте его поштучно."),
            ),
            Refusal::NothingToSettle => (
                "This count is not settled by a write-off: there is nothing to confirm.".into(),
                "Эта инвентаризация не закрывается списанием: подтверждать нечего.".into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::CisStatus;

    #[test]
    fn every_refusal_has_a_stable_code_and_both_messages() {
        let sscc = Sscc::compose(0, "4690257", 1).unwrap();
        let gtin = Gtin::from_digits(b"04690257528523").unwrap();
        let ki = Ki::new(gtin, b"A").unwrap();
        let all = [
            (Refusal::Duplicate, "duplicate"),
            (Refusal::NothingToUndo, "nothing_to_undo"),
            (Refusal::UnknownBox { sscc }, "unknown_box"),
            (Refusal::NotAccepted, "not_accepted"),
            (Refusal::NothingOpen, "nothing_open"),
            (Refusal::AlreadyOpen { sscc }, "already_open"),
            (Refusal::LabelUsed { sscc }, "label_used"),
            (Refusal::Full { capacity: 3 }, "full"),
            (Refusal::WrongChild, "wrong_child"),
            (Refusal::AlreadyInside, "already_inside"),
            (Refusal::InAnotherAggregate { sscc }, "in_another_aggregate"),
            (Refusal::MixedStatus, "mixed_status"),
            (Refusal::NotInside, "not_inside"),
            (Refusal::Empty, "empty"),
            (Refusal::SupervisorRequired, "supervisor_required"),
            (Refusal::BoxFirst, "box_first"),
            (Refusal::ChooseMode, "choose_mode"),
            (Refusal::AlreadyChosen, "already_chosen"),
            (Refusal::ModeFixed, "mode_fixed"),
            (Refusal::NotInBox { sscc }, "not_in_box"),
            (Refusal::NotABox { sscc }, "not_a_box"),
            (
                Refusal::AwaitingReplacement { old: ki },
                "awaiting_replacement",
            ),
            (Refusal::NothingToReplace, "nothing_to_replace"),
            (Refusal::NoRemarking, "no_remarking"),
            (
                Refusal::NotANewCode {
                    status: CisStatus::Introduced,
                },
                "not_a_new_code",
            ),
            (Refusal::OtherProduct { gtin }, "other_product"),
            (Refusal::ShippedWith { sscc }, "shipped_with"),
            (Refusal::ShippedLoose { ki }, "shipped_loose"),
            (Refusal::Opened { sscc }, "opened"),
            (Refusal::AwaitingNewLabel, "awaiting_new_label"),
            (Refusal::CountedAlone { ki }, "counted_alone"),
            (Refusal::NothingToSettle, "nothing_to_settle"),
        ];
        let mut codes = std::collections::BTreeSet::new();
        for (refusal, code) in all {
            assert_eq!(refusal.code(), code);
            assert!(codes.insert(code), "{code} twice");
            let en = refusal.message(Lang::En);
            let ru = refusal.message(Lang::Ru);
            assert!(en.is_ascii() && !en.is_empty(), "{code}: {en}");
            assert!(ru.chars().any(|c| ('а'..='я').contains(&c)), "{code}: {ru}");
        }
        // The messages name what they are about.
        assert!(
            Refusal::NotInBox { sscc }
                .message(Lang::En)
                .contains(&sscc.to_string())
        );
        assert!(
            Refusal::AwaitingReplacement { old: ki }
                .message(Lang::Ru)
                .contains(&ki.to_string())
        );
    }
}
