//! Which operations each `statusEx` allows: one table, a row per value, each row with its source.
//!
//! The sources are public integrations as marking-codes.md §5 sums them up; they only say what
//! aggregation and withdrawal allow, so the acceptance column is our reading and marked [U]
//! where no source speaks to it. How much a refusal weighs is still the policy's, per operation.

use super::OperationKind;
use crate::lang::Lang;
use crate::status::StatusEx;

/// What the table says about one `statusEx` for one operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Rule {
    Allows,
    Forbids,
    /// A value this terminal does not know: worth a word, never silently taken.
    Unknown,
}

pub(super) fn rule(status_ex: StatusEx, operation: OperationKind) -> Rule {
    row(status_ex)[operation.index()]
}

/// Columns in the order of [`OperationKind::ALL`]: acceptance, aggregation, write-off, info,
/// shipment, customer return, inventory (which counts whatever it finds: every value allows).
/// A customer return takes a sold code with no extended status only: every other state is a
/// code that is not plainly sold (lent, re-marked, its sale being cancelled, at customs) [U].
/// Info flags only the states in which the code can take part in nothing here, to explain why.
/// A `match`, so a new `StatusEx` does not build until it has its row.
const fn row(status_ex: StatusEx) -> [Rule; OperationKind::ALL.len()] {
    use Rule::{Allows as OK, Forbids as NO, Unknown as UNKNOWN};
    match status_ex {
        //                                 accept agg  w-off info ship ret  inv
        // No extended status. Integrations allow aggregation and withdrawal with it (§5).
        StatusEx::Empty => [OK, OK, OK, OK, OK, OK, OK],
        // Shipped to us, awaiting acceptance: what a delivery looks like (§5: the supplier's
        // codes typically carry it). Not in the aggregation or withdrawal lists: accept first,
        // and only then ship on.
        StatusEx::WaitShipment => [OK, NO, NO, OK, NO, NO, OK],
        // In both the aggregation and the withdrawal lists (§5). Acceptance and shipment: no
        // source forbids them, and the owner checks still apply [U].
        StatusEx::WaitTransferToOwner => [OK, OK, OK, OK, OK, NO, OK],
        // Waiting for re-marking: the code is about to be replaced. In neither list (§5).
        StatusEx::WaitRemark => [NO, NO, NO, NO, NO, NO, OK],
        // Reserved, not used. In neither list (§5).
        StatusEx::ReservedNotUsed => [NO, NO, NO, NO, NO, NO, OK],
        // In the grey zone. In neither list (§5).
        StatusEx::InGrayZone => [NO, NO, NO, NO, NO, NO, OK],
        // Lost in an inventory. In neither list (§5).
        StatusEx::LostInventory => [NO, NO, NO, NO, NO, NO, OK],
        // Exported. In neither list (§5).
        StatusEx::Exported => [NO, NO, NO, NO, NO, NO, OK],
        // A draft keg connected to a tap: the withdrawal list has it, aggregation's does not
        // (§5). A keg on a tap is at a bar, not in a delivery [U].
        StatusEx::ConnectTap => [NO, NO, OK, OK, NO, NO, OK],
        // Already shipped away (§5). In neither list; our own deliveries arrive as
        // WAIT_SHIPMENT [U]. Shipping it again is what this state exists to stop.
        StatusEx::MovingByUd => [NO, NO, NO, NO, NO, NO, OK],
        // Retired, and a retired code takes part in no warehouse operation (§5, "other
        // statusEx seen").
        StatusEx::LoanRetired => [NO, NO, NO, NO, NO, NO, OK],
        // Retired by re-marking: a new code replaced it (§5, "other statusEx seen").
        StatusEx::RemarkRetired => [NO, NO, NO, NO, NO, NO, OK],
        // Customs (FTS) answered "not OK" (§5, "other statusEx seen").
        StatusEx::FtsRespondNotOk => [NO, NO, NO, NO, NO, NO, OK],
        // Waiting for the customs answer (§5, "other statusEx seen").
        StatusEx::FtsRespondWaiting => [NO, NO, NO, NO, NO, NO, OK],
        // Under customs control (§5, "other statusEx seen").
        StatusEx::FtsControl => [NO, NO, NO, NO, NO, NO, OK],
        // The cancellation of a retirement is being processed (§5, "other statusEx seen"): the
        // code is neither in nor out until GIS MT settles it.
        StatusEx::RetiredCancellation => [NO, NO, NO, NO, NO, NO, OK],
        // Waiting for a primary document's answer (§5, "other statusEx seen") [U].
        StatusEx::PrimResponseWaiting => [NO, NO, NO, NO, NO, NO, OK],
        // Not known to this build: warned about, never dropped.
        StatusEx::Other => [
            UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN,
        ],
    }
}

/// The state in words, to follow "The code is" / "Код".
pub(super) fn state_words(status_ex: StatusEx, lang: Lang) -> &'static str {
    let (en, ru) = match status_ex {
        StatusEx::Empty => ("without an extended status", "без расширенного статуса"),
        StatusEx::WaitShipment => (
            "shipped to us and awaiting acceptance",
            "отгружен нам и ожидает приёмки",
        ),
        StatusEx::WaitTransferToOwner => (
            "waiting to be transferred to its owner",
            "ожидает передачи собственнику",
        ),
        StatusEx::WaitRemark => ("waiting for re-marking", "ожидает перемаркировки"),
        StatusEx::ReservedNotUsed => ("reserved and not used", "зарезервирован и не использован"),
        StatusEx::InGrayZone => ("in the grey zone", "находится в «серой зоне»"),
        StatusEx::LostInventory => ("lost in an inventory", "утрачен по итогам инвентаризации"),
        StatusEx::Exported => ("exported", "вывезен на экспорт"),
        StatusEx::ConnectTap => (
            "connected to a tap for pouring",
            "подключён к оборудованию для розлива",
        ),
        StatusEx::MovingByUd => ("already shipped away", "уже отгружен"),
        StatusEx::LoanRetired => ("retired from circulation", "выведен из оборота"),
        StatusEx::RemarkRetired => (
            "retired by re-marking: a new code replaced it",
            "выведен из оборота при перемаркировке: его заменил новый код",
        ),
        StatusEx::FtsRespondNotOk => ("refused by customs", "отклонён таможней"),
        StatusEx::FtsRespondWaiting => ("waiting for the customs answer", "ожидает ответа таможни"),
        StatusEx::FtsControl => (
            "under customs control",
            "находится под таможенным контролем",
        ),
        StatusEx::RetiredCancellation => (
            "waiting for its retirement to be cancelled",
            "ожидает отмены вывода из оборота",
        ),
        StatusEx::PrimResponseWaiting => (
            "waiting for the answer to its primary document",
            "ожидает ответа по первичному документу",
        ),
        StatusEx::Other => (
            "in an extended status this terminal does not know",
            "в расширенном статусе, неизвестном терминалу",
        ),
    };
    match lang {
        Lang::En => en,
        Lang::Ru => ru,
    }
}
