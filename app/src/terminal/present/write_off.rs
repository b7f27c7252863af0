//! The write-off screen: the reasons to choose from, then the codes written off, re-marked
//! codes waiting for their new label, and the supervisor's confirmation.

use std::collections::HashMap;

use tally_domain::code::Ki;
use tally_domain::operation::{WriteOffEvent, WriteOffReason};
use tally_ui::{Tone, WriteOffView, choice_row, scan_row};

use super::{LIST_ROWS, NameOf, Scene, count};
use crate::operation_log::OperationState;

pub fn view(scene: &Scene<'_>, names: &mut NameOf<'_>, error: &str) -> WriteOffView {
    let t = scene.t;
    let lang = t.lang();
    let reasons = WriteOffReason::ALL
        .iter()
        .map(|r| choice_row(r.code(), r.name(lang)))
        .collect();
    let Some(OperationState::WriteOff(w)) = scene.operation else {
        return WriteOffView {
            reasons,
            ..WriteOffView::default()
        };
    };
    let header = w.header();
    let codes: Vec<Ki> = w.codes().copied().collect();
    let replacements: HashMap<Ki, Ki> = w.replacements().collect();
    let replacing = w.awaiting_replacement();
    let confirmed = w
        .events()
        .iter()
        .any(|e| matches!(e, WriteOffEvent::Confirmed { .. }));
    let rows = codes
        .iter()
        .rev()
        .take(LIST_ROWS)
        .map(|ki| {
            let name = names.of(ki.gtin());
            // A re-marked code shows its new one, or that it still waits for it.
            match (replacements.get(ki), replacing == Some(*ki)) {
                (Some(new), _) => scan_row(
                    &ki.to_string(),
                    &name,
                    &t.f("new code {code}", &[("code", new)]),
                    Tone::Good,
                ),
                (None, true) => scan_row(
                    &ki.to_string(),
                    &name,
                    &t.s("waiting for the new code"),
                    Tone::Warning,
                ),
                (None, false) => scan_row(&ki.to_string(), &name, "", Tone::Good),
            }
        })
        .collect();
    WriteOffView {
        active: true,
        reasons,
        reason: format!("{} · {}", header.reason.name(lang), header.document_number),
        count: count(codes.len()),
        rows,
        needs_supervisor: header.needs_supervisor,
        confirmed,
        error: error.to_owned(),
        replacing: replacing.map(|ki| ki.to_string()).unwrap_or_default(),
    }
}
