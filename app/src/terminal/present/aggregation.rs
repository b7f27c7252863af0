//! The aggregation screen: the open box or pallet filling up, or the labels of boxes to unpack.

use tally_domain::operation::{Child, Level};
use tally_ui::{AggregationView, Tone, scan_row};

use super::{LIST_ROWS, NameOf, Scene, count};
use crate::operation_log::OperationState;

pub fn view(scene: &Scene<'_>, names: &mut NameOf<'_>) -> AggregationView {
    let t = scene.t;
    let capacity = scene.settings.capacity;
    match scene.operation {
        Some(OperationState::Aggregation(g)) => {
            let closed = count(g.closed().len());
            let last_closed = g
                .closed()
                .last()
                .map(|a| a.sscc.to_string())
                .unwrap_or_default();
            let hint =
                t.s("Scan a box label or tap “New box”; a pallet label or “New pallet” for boxes.");
            let Some(open) = g.open_aggregate() else {
                return AggregationView {
                    active: true,
                    closed,
                    last_closed,
                    hint,
                    ..AggregationView::default()
                };
            };
            let rows = open
                .children
                .iter()
                .rev()
                .take(LIST_ROWS)
                .map(|child| match child {
                    Child::Unit(ki) => {
                        scan_row(&ki.to_string(), &names.of(ki.gtin()), "", Tone::Good)
                    }
                    Child::Box(sscc) => scan_row(&sscc.to_string(), &t.s("Box"), "", Tone::Good),
                })
                .collect();
            let (level, cap) = match open.level {
                Level::Box => (t.s("Box"), capacity.box_units),
                Level::Pallet => (t.s("Pallet"), capacity.pallet_boxes),
            };
            AggregationView {
                active: true,
                unpacking: false,
                box_open: true,
                pallet: open.level == Level::Pallet,
                level,
                sscc: open.sscc.to_string(),
                fill: count(open.children.len()),
                capacity: i32::try_from(cap).unwrap_or(i32::MAX),
                rows,
                closed,
                last_closed,
                hint,
            }
        }
        Some(OperationState::Disaggregation(d)) => AggregationView {
            active: true,
            unpacking: true,
            rows: d
                .labels()
                .iter()
                .rev()
                .take(LIST_ROWS)
                .map(|sscc| scan_row(&sscc.to_string(), "", "", Tone::Good))
                .collect(),
            closed: count(d.labels().len()),
            hint: t.s("Scan the label of each box to unpack, then tap “Finish”."),
            ..AggregationView::default()
        },
        _ => AggregationView::default(),
    }
}
