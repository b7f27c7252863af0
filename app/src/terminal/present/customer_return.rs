//! The customer return screen: the kind of return and its receipt, then the goods brought
//! back, and new labels for items whose label cannot be read.

use tally_domain::operation::{ReturnCause, ReturnEvent, ReturnReceipt};
use tally_ui::{ReturnView, Tone, choice_row, scan_row};

use super::{LIST_ROWS, NameOf, Scene, count};
use crate::operation_log::OperationState;
use crate::terminal::text::Texts;

/// The kinds of return the touch screen starts: a cause and its receipt, `cause:receipt`.
/// A return under another document (which GIS MT wants named) is the command's.
pub fn kinds(t: Texts) -> Vec<(ReturnCause, ReturnReceipt, String)> {
    vec![
        (
            ReturnCause::Retail,
            ReturnReceipt::Receipt,
            t.s("Shop sale · till receipt"),
        ),
        (
            ReturnCause::Retail,
            ReturnReceipt::SalesReceipt,
            t.s("Shop sale · sales receipt"),
        ),
        (
            ReturnCause::RemoteSale,
            ReturnReceipt::Receipt,
            t.s("Remote sale · till receipt"),
        ),
        (
            ReturnCause::RemoteSale,
            ReturnReceipt::SalesReceipt,
            t.s("Remote sale · sales receipt"),
        ),
    ]
}

pub fn kind_id(cause: ReturnCause, receipt: ReturnReceipt) -> String {
    format!("{}:{}", cause.code(), receipt.code())
}

pub fn view(scene: &Scene<'_>, names: &mut NameOf<'_>, error: &str) -> ReturnView {
    let t = scene.t;
    let kinds = kinds(t)
        .into_iter()
        .map(|(cause, receipt, label)| choice_row(&kind_id(cause, receipt), &label))
        .collect();
    let Some(OperationState::Return(r)) = scene.operation else {
        return ReturnView {
            kinds,
            error: error.to_owned(),
            ..ReturnView::default()
        };
    };
    let header = r.header();
    let awaiting = r.awaiting_new_label();
    let rows = r
        .events()
        .iter()
        .rev()
        .take(LIST_ROWS)
        .map(|event| match event {
            ReturnEvent::Unit(ki) => {
                scan_row(&ki.to_string(), &names.of(ki.gtin()), "", Tone::Good)
            }
            ReturnEvent::Damaged => scan_row(
                "",
                &t.s("Label unreadable"),
                &t.s("a new label follows"),
                Tone::Warning,
            ),
            ReturnEvent::NewLabel { ki, .. } => scan_row(
                &ki.to_string(),
                &names.of(ki.gtin()),
                &t.s("new label"),
                Tone::Good,
            ),
        })
        .collect();
    ReturnView {
        active: true,
        kinds,
        title: t.f(
            "{cause} · receipt {number}",
            &[
                ("cause", &header.cause.name(t.lang())),
                ("number", &header.document_number),
            ],
        ),
        returned: count(r.units().count()),
        relabelled: count(r.relabelled().count()),
        awaiting_new_label: awaiting,
        rows,
        hint: if awaiting {
            t.s("Stick a new label on the item and scan its code.")
        } else {
            t.s("Scan the code on each returned item; tap “Label unreadable” when it cannot be read.")
        },
        error: error.to_owned(),
    }
}
