//! The shipment screen: the orders to pick (or a free shipment to a receiver), then what is
//! on the shipment, against the order's lines.

use tally_domain::operation::ShipmentEvent;
use tally_ui::{ShipmentView, Tone, scan_row, task_row};

use super::{LIST_ROWS, NameOf, Scene, count};
use crate::operation_log::OperationState;

pub fn view(
    scene: &Scene<'_>,
    names: &mut NameOf<'_>,
    open_next: bool,
    error: &str,
) -> ShipmentView {
    let t = scene.t;
    let orders = scene
        .snapshot
        .orders
        .iter()
        .map(|order| {
            let detail = match order.receiver_inn {
                Some(inn) => t.f(
                    "to INN {inn} · {units} units",
                    &[("inn", &inn), ("units", &order.units)],
                ),
                None => t.f("{units} units", &[("units", &order.units)]),
            };
            task_row(
                &order.id,
                &format!("{} · {}", order.number, order.date),
                &detail,
            )
        })
        .collect();
    let Some(OperationState::Shipment(s)) = scene.operation else {
        return ShipmentView {
            orders,
            error: error.to_owned(),
            ..ShipmentView::default()
        };
    };
    let header = s.header();
    let counters = s.counters();
    let summary = s.summary();
    let title = match s.order() {
        Some(order) => t.f(
            "Order {number} · to INN {inn}",
            &[("number", &order.number), ("inn", &header.receiver)],
        ),
        None => t.f(
            "{document} · to INN {inn}",
            &[
                ("document", &header.document_number),
                ("inn", &header.receiver),
            ],
        ),
    };
    let rows = s
        .events()
        .iter()
        .rev()
        .take(LIST_ROWS)
        .map(|event| match event {
            ShipmentEvent::Unit(ki) => {
                let over = summary.over.contains(ki);
                scan_row(
                    &ki.to_string(),
                    &names.of(ki.gtin()),
                    &if over {
                        t.s("not ordered")
                    } else {
                        String::new()
                    },
                    if over { Tone::Warning } else { Tone::Good },
                )
            }
            ShipmentEvent::Label(label) => scan_row(
                &label.sscc.to_string(),
                &t.f("Box, {n} units", &[("n", &label.units.len())]),
                &if s.is_opened(label.sscc) {
                    t.s("opened")
                } else {
                    String::new()
                },
                Tone::Good,
            ),
            ShipmentEvent::Open(sscc) => scan_row(
                &sscc.to_string(),
                &t.s("Box opened"),
                &t.s("its units are scanned one by one"),
                Tone::Warning,
            ),
            ShipmentEvent::Remove(ki) => scan_row(
                &ki.to_string(),
                &names.of(ki.gtin()),
                &t.s("taken off"),
                Tone::Error,
            ),
        })
        .collect();
    ShipmentView {
        active: true,
        orders,
        title,
        has_order: s.order().is_some(),
        ordered: count(counters.ordered),
        shipped: count(counters.shipped),
        short: count(counters.short),
        over: count(counters.over),
        rows,
        open_next,
        hint: if open_next {
            t.s("Scan the label of the box to open: its units then ship one by one.")
        } else {
            t.s("Scan units, or a box or pallet label to ship it whole.")
        },
        error: error.to_owned(),
    }
}
