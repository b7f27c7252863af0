//! The inventory screen: what was counted against what the warehouse should hold (found,
//! missing, foreign, wrong status), the count's report, and the settling write-off's
//! confirmation.

use tally_domain::operation::{Counted, InventoryEvent, InventorySummary};
use tally_ui::{InventoryView, Tone, scan_row};

use super::{LIST_ROWS, NameOf, Scene, code_list, count};
use crate::operation_log::OperationState;

pub fn view(
    scene: &Scene<'_>,
    names: &mut NameOf<'_>,
    open_next: bool,
    error: &str,
) -> InventoryView {
    let t = scene.t;
    let Some(OperationState::Inventory(i)) = scene.operation else {
        return InventoryView {
            error: error.to_owned(),
            ..InventoryView::default()
        };
    };
    let header = i.header();
    let summary = i.summary();
    let rows = i
        .events()
        .iter()
        .rev()
        .take(LIST_ROWS)
        .map(|event| match event {
            InventoryEvent::Unit { ki, counted } => {
                let (note, tone) = match counted {
                    Counted::Ours => (String::new(), Tone::Good),
                    Counted::Foreign => (t.s("not ours"), Tone::Error),
                    Counted::WrongStatus(status) => (
                        t.f("status {status}", &[("status", &status.api_name())]),
                        Tone::Warning,
                    ),
                    Counted::Unknown => (t.s("unknown to the terminal"), Tone::Warning),
                };
                scan_row(&ki.to_string(), &names.of(ki.gtin()), &note, tone)
            }
            InventoryEvent::Label(label) => scan_row(
                &label.sscc.to_string(),
                &t.f("Box, {n} units", &[("n", &label.units.len())]),
                &t.s("counted whole"),
                Tone::Good,
            ),
            InventoryEvent::Open(label) => scan_row(
                &label.sscc.to_string(),
                &t.f("Box, {n} units", &[("n", &label.units.len())]),
                &t.s("opened: count its units"),
                Tone::Warning,
            ),
            InventoryEvent::Confirmed { supervisor } => {
                scan_row("", &t.s("Write-off confirmed"), supervisor, Tone::Good)
            }
        })
        .collect();
    let title = match &header.zone {
        Some(zone) => t.f(
            "Zone {zone} · {document}",
            &[("zone", zone), ("document", &header.document_number)],
        ),
        None => t.f(
            "Whole warehouse · {document}",
            &[("document", &header.document_number)],
        ),
    };
    InventoryView {
        active: true,
        title,
        expected: count(i.expected().len()),
        found: count(summary.found.len()),
        missing: count(summary.missing.len()),
        foreign: count(summary.foreign.len()),
        wrong_status: count(summary.wrong_status.len() + summary.unknown.len()),
        rows,
        reviewing: scene.shift.reviewing(),
        summary: report(scene, &summary, names),
        settles: header.settle.is_some(),
        needs_supervisor: header.settle.is_some()
            && header.needs_supervisor
            && !summary.missing.is_empty(),
        confirmed: summary.supervisor.is_some(),
        open_next,
        hint: if open_next {
            t.s("Scan the label of the box to open: then count its units one by one.")
        } else {
            t.s("Scan every unit, or a box label to count the box whole.")
        },
        error: error.to_owned(),
    }
}

/// The count's report on the terminal: what was found and what is off.
fn report(scene: &Scene<'_>, summary: &InventorySummary, names: &mut NameOf<'_>) -> String {
    let t = scene.t;
    let mut lines = vec![t.f(
        "Found: {found}. Missing: {missing}.",
        &[
            ("found", &summary.found.len()),
            ("missing", &summary.missing.len()),
        ],
    )];
    code_list(&mut lines, &t.s("Missing"), &summary.missing, names);
    code_list(&mut lines, &t.s("Not ours"), &summary.foreign, names);
    let wrong: Vec<_> = summary.wrong_status.iter().map(|(ki, _)| *ki).collect();
    code_list(&mut lines, &t.s("Wrong status"), &wrong, names);
    code_list(
        &mut lines,
        &t.s("Unknown to the terminal"),
        &summary.unknown,
        names,
    );
    if let Some(reason) = summary.header.settle
        && !summary.missing.is_empty()
    {
        lines.push(t.f(
            "The missing goods are written off: {reason}.",
            &[("reason", &reason.name(t.lang()))],
        ));
    }
    if summary.missing.is_empty()
        && summary.foreign.is_empty()
        && summary.wrong_status.is_empty()
        && summary.unknown.is_empty()
    {
        lines.push(t.s("No discrepancies."));
    }
    lines.join("\n")
}
