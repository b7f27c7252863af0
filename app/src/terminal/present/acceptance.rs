//! The acceptance screen: the hub's tasks, then the counters and the codes of the open
//! acceptance, and its discrepancies before it is closed.

use tally_domain::operation::{AcceptanceEvent, AcceptanceSummary};
use tally_ui::{AcceptanceView, Tone, scan_row, task_row};

use super::{LIST_ROWS, NameOf, Scene, count};
use crate::operation_log::OperationState;

pub fn view(scene: &Scene<'_>, names: &mut NameOf<'_>) -> AcceptanceView {
    let t = scene.t;
    let tasks = scene
        .snapshot
        .tasks
        .iter()
        .map(|task| {
            let detail = t.f(
                "INN {inn} · {units} units, {boxes} boxes",
                &[
                    ("inn", &task.sender_inn),
                    ("units", &task.units),
                    ("boxes", &task.boxes),
                ],
            );
            task_row(
                &task.id,
                &format!("{} · {}", task.number, task.date),
                &detail,
            )
        })
        .collect();
    let Some(OperationState::Acceptance(a)) = scene.operation else {
        return AcceptanceView {
            tasks,
            ..AcceptanceView::default()
        };
    };
    let counters = a.counters();
    let title = a
        .task()
        .map_or_else(|| t.s("Free acceptance"), |task| task.number.clone());
    let summary = a.summary();
    let events: Vec<AcceptanceEvent> = a.events().iter().rev().take(LIST_ROWS).copied().collect();
    let rows = events
        .iter()
        .map(|event| match event {
            AcceptanceEvent::Unit(ki) => {
                // Judged on the finished picture: a unit that filled a quantity line is
                // expected even once the line is full, and only the units past it are surplus.
                let (note, tone) = if summary.surplus.contains(ki) {
                    (t.s("surplus"), Tone::Warning)
                } else {
                    (String::new(), Tone::Good)
                };
                scan_row(&ki.to_string(), &names.of(ki.gtin()), &note, tone)
            }
            AcceptanceEvent::Box(sscc) => scan_row(&sscc.to_string(), &t.s("Box"), "", Tone::Good),
            AcceptanceEvent::Exclude(ki) => scan_row(
                &ki.to_string(),
                &names.of(ki.gtin()),
                &t.s("excluded"),
                Tone::Error,
            ),
        })
        .collect();
    AcceptanceView {
        active: true,
        tasks,
        title,
        expected: count(counters.expected),
        scanned: count(counters.scanned),
        surplus: count(counters.surplus),
        missing: count(counters.missing),
        rows,
        reviewing: scene.shift.reviewing(),
        summary: summary_text(scene, &summary, names),
    }
}

fn summary_text(scene: &Scene<'_>, summary: &AcceptanceSummary, names: &mut NameOf<'_>) -> String {
    let t = scene.t;
    let (surplus, missing) = (&summary.surplus, &summary.missing);
    let mut lines = vec![t.f("Accepted: {n}.", &[("n", &summary.accepted.len())])];
    // Goods the task asks for by count: each line's count, and how far off it is.
    let mut off_by_quantity = false;
    for line in &summary.lines {
        let name = names.of(line.gtin);
        let (filled, over, short) = (line.filled.len(), line.over.len(), line.short());
        off_by_quantity |= over > 0 || short > 0;
        let off = match (over, short) {
            (0, 0) => String::new(),
            (0, short) => t.f(", short {n}", &[("n", &short)]),
            (over, _) => t.f(", over {n}", &[("n", &over)]),
        };
        let label = if name.is_empty() {
            line.gtin.to_string()
        } else {
            format!("{} {name}", line.gtin)
        };
        lines.push(format!("{label}: {filled}/{}{off}", line.expected));
    }
    for (label, codes) in [
        (t.s("Surplus (not in the task)"), surplus),
        (t.s("Missing (not scanned)"), missing),
    ] {
        super::code_list(&mut lines, &label, codes, names);
    }
    if surplus.is_empty() && missing.is_empty() && !off_by_quantity {
        lines.push(t.s("No discrepancies."));
    }
    lines.join("\n")
}
