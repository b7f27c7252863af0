//! The re-aggregation screen: one closed box, units added to it, taken out, or moved into it
//! from other boxes.

use tally_domain::code::Ki;
use tally_domain::operation::ReaggregationMode;
use tally_ui::{ReaggregationView, Tone, scan_row};

use super::{LIST_ROWS, NameOf, Scene, count};
use crate::operation_log::OperationState;

pub fn view(scene: &Scene<'_>, names: &mut NameOf<'_>) -> ReaggregationView {
    let t = scene.t;
    let Some(OperationState::Reaggregation(r)) = scene.operation else {
        return ReaggregationView::default();
    };
    let (sscc, mode, fill) = (r.sscc(), r.mode(), r.fill());
    let units: Vec<Ki> = r.units().iter().rev().take(LIST_ROWS).copied().collect();
    let mode_label = match mode {
        Some(ReaggregationMode::Adding) => t.s("Adding to the box"),
        Some(ReaggregationMode::Removing) => t.s("Taking out of the box"),
        Some(ReaggregationMode::Moving) => t.s("Moving into the box"),
        None => String::new(),
    };
    let hint = match (sscc, mode) {
        (None, _) => t.s("Scan the label of the closed box."),
        (Some(_), None) => t.s("Choose: add items to the box, take them out or move them in."),
        (Some(_), Some(ReaggregationMode::Adding)) => t.s("Scan each item that goes into the box."),
        (Some(_), Some(ReaggregationMode::Removing)) => {
            t.s("Scan each item you take out of the box.")
        }
        (Some(_), Some(ReaggregationMode::Moving)) => {
            t.s("Scan each item you move into the box from another one.")
        }
    };
    let note = match mode {
        Some(ReaggregationMode::Removing) => t.s("taken out"),
        Some(ReaggregationMode::Moving) => t.s("moved in"),
        _ => t.s("added"),
    };
    let rows = units
        .iter()
        .map(|ki| scan_row(&ki.to_string(), &names.of(ki.gtin()), &note, Tone::Good))
        .collect();
    ReaggregationView {
        active: true,
        sscc: sscc.map(|s| s.to_string()).unwrap_or_default(),
        mode: mode.map(|m| m.code().to_string()).unwrap_or_default(),
        mode_label,
        count: count(r.units().len()),
        fill: fill
            .map(|n| format!("{n}/{}", r.box_units()))
            .unwrap_or_default(),
        rows,
        hint,
    }
}
