//! How an operation is written down: its header, each event as a journal entry, and the
//! finished document as the queue payload (JSON text, the form the store keeps).
//!
//! The journal is the operation's truth: `OperationState::restore` replays it after a restart.

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use tally_domain::code::Ki;
use tally_domain::gs1::{Gs1Date, Gtin, Sscc};
use tally_domain::operation::{
    Acceptance, AcceptanceEvent, AcceptanceTask, Aggregation, AggregationEvent, Capacity, Child,
    Counted, CustomerReturn, Disaggregation, ExpectedBox, Inventory, InventoryEvent,
    InventoryHeader, Level, PackedLabel, QuantityLine, Reaggregation, ReaggregationEvent,
    ReaggregationMode, Refusal, ReturnCause, ReturnEvent, ReturnHeader, ReturnReceipt, Shipment,
    ShipmentEvent, ShipmentHeader, ShipmentOrder, WriteOff, WriteOffEvent, WriteOffHeader,
    WriteOffReason,
};
use tally_domain::status::{CisStatus, Inn};
use tally_domain::validate::OperationKind;
use tally_domain::{ProductGroup, Timestamp};
use tally_wire::document::{
    AcceptanceDocument, AcceptedLine, AggregationDocument, DisaggregationDocument,
    InventoryDocument, PackedAggregate, PackedChild, ReaggregationDocument, ReaggregationType,
    Replacement, ReturnDocument, ShipmentDocument, ShippedLine, TakenFrom, WriteOffDocument,
};
use tally_wire::feed::TurnoverType;
use tally_wire::{DocumentKind, OperationDocument};

/// One journal entry as the store keeps it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry {
    pub action: String,
    /// The КИ or SSCC the event is about, empty when none.
    pub code: String,
    pub detail: Value,
}

/// An open operation of any kind.
#[derive(Clone, Debug)]
pub enum OperationState {
    Acceptance(Acceptance),
    Aggregation(Aggregation),
    Disaggregation(Disaggregation),
    Reaggregation(Reaggregation),
    WriteOff(WriteOff),
    Shipment(Shipment),
    Return(CustomerReturn),
    Inventory(Inventory),
}

fn ki_text(ki: &Ki) -> String {
    ki.to_string()
}

fn parse_ki(text: &str) -> anyhow::Result<Ki> {
    Ki::from_cis(text).ok_or_else(|| anyhow!("not a КИ: {text:?}"))
}

fn parse_sscc(text: &str) -> anyhow::Result<Sscc> {
    Sscc::from_digits(text.as_bytes()).ok_or_else(|| anyhow!("not an SSCC: {text:?}"))
}

/// How a counted unit stood, as its journal entry says.
fn counted_from(detail: &Value) -> anyhow::Result<Counted> {
    Ok(match str_field(detail, "counted")? {
        "found" => Counted::Ours,
        "foreign" => Counted::Foreign,
        "unknown" => Counted::Unknown,
        "wrong_status" => {
            let status = str_field(detail, "status")?;
            Counted::WrongStatus(
                CisStatus::from_api_name(status)
                    .ok_or_else(|| anyhow!("unknown status {status:?}"))?,
            )
        }
        other => bail!("unknown count {other:?}"),
    })
}

fn opt_sscc(value: &Value) -> anyhow::Result<Option<Sscc>> {
    value.as_str().map(parse_sscc).transpose()
}

fn str_field<'v>(value: &'v Value, key: &str) -> anyhow::Result<&'v str> {
    value[key]
        .as_str()
        .ok_or_else(|| anyhow!("missing text field {key:?}"))
}

fn opt_inn(value: &Value) -> anyhow::Result<Option<Inn>> {
    match value.as_str() {
        None => Ok(None),
        Some(text) => Inn::parse(text)
            .map(Some)
            .ok_or_else(|| anyhow!("not an INN: {text:?}")),
    }
}

fn date_text(d: Gs1Date) -> String {
    d.to_string()
}

fn parse_date(text: &str) -> anyhow::Result<Gs1Date> {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        bail!("not a date: {text:?}");
    };
    let yymmdd = format!("{:02}{m:0>2}{d:0>2}", y.parse::<u16>()? % 100);
    Gs1Date::from_yymmdd(yymmdd.as_bytes()).ok_or_else(|| anyhow!("no such date: {text:?}"))
}

pub fn task_json(task: &AcceptanceTask) -> Value {
    json!({
        "id": task.id,
        "number": task.number,
        "sender": task.sender.map(|i| i.to_string()),
        "product_group": task.product_group.map(|p| p.code()),
        "units": task.units.iter().map(ki_text).collect::<Vec<_>>(),
        "boxes": task.boxes.iter().map(|b| json!({
            "sscc": b.sscc.to_string(),
            "children": b.children.iter().map(ki_text).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "lines": task.lines.iter().map(|l| json!({
            "gtin": l.gtin.to_string(),
            "quantity": l.quantity,
        })).collect::<Vec<_>>(),
    })
}

/// An order to pick as a shipment's journal header keeps it: the order as the shipment began,
/// whatever a sync changes or withdraws later.
pub fn order_json(order: &ShipmentOrder) -> Value {
    json!({
        "id": order.id,
        "number": order.number,
        "receiver": order.receiver.map(|i| i.to_string()),
        "units": order.units.iter().map(ki_text).collect::<Vec<_>>(),
        "lines": lines_json(&order.lines),
    })
}

pub fn order_from_json(value: &Value) -> anyhow::Result<ShipmentOrder> {
    Ok(ShipmentOrder {
        id: str_field(value, "id")?.to_string(),
        number: value["number"].as_str().unwrap_or_default().to_string(),
        receiver: opt_inn(&value["receiver"])?,
        units: value["units"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| parse_ki(k.as_str().unwrap_or_default()))
            .collect::<anyhow::Result<_>>()?,
        lines: lines_from_json(&value["lines"])?,
    })
}

fn lines_json(lines: &[QuantityLine]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| json!({"gtin": l.gtin.to_string(), "quantity": l.quantity}))
        .collect()
}

fn lines_from_json(value: &Value) -> anyhow::Result<Vec<QuantityLine>> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            Ok(QuantityLine {
                gtin: Gtin::from_digits(str_field(l, "gtin")?.as_bytes())
                    .ok_or_else(|| anyhow!("not a GTIN: {l}"))?,
                quantity: l["quantity"]
                    .as_u64()
                    .and_then(|q| u32::try_from(q).ok())
                    .ok_or_else(|| anyhow!("not a quantity: {l}"))?,
            })
        })
        .collect()
}

pub fn task_from_json(value: &Value) -> anyhow::Result<AcceptanceTask> {
    let kis = |v: &Value| -> anyhow::Result<Vec<Ki>> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|k| parse_ki(k.as_str().unwrap_or_default()))
            .collect()
    };
    let boxes = value["boxes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            Ok(ExpectedBox {
                sscc: parse_sscc(str_field(b, "sscc")?)?,
                children: kis(&b["children"])?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Journals written before tasks had quantity lines carry none.
    let lines = lines_from_json(&value["lines"])?;
    Ok(AcceptanceTask {
        id: str_field(value, "id")?.to_string(),
        number: value["number"].as_str().unwrap_or_default().to_string(),
        sender: opt_inn(&value["sender"])?,
        product_group: value["product_group"]
            .as_str()
            .and_then(ProductGroup::from_code),
        units: kis(&value["units"])?,
        boxes,
        lines,
    })
}

impl OperationState {
    pub fn kind(&self) -> OperationKind {
        match self {
            OperationState::Acceptance(_) => OperationKind::Acceptance,
            // Re-aggregation packs and unpacks like aggregation: the same rules on each unit.
            OperationState::Aggregation(_)
            | OperationState::Disaggregation(_)
            | OperationState::Reaggregation(_) => OperationKind::Aggregation,
            OperationState::WriteOff(_) => OperationKind::WriteOff,
            OperationState::Shipment(_) => OperationKind::Shipment,
            OperationState::Return(_) => OperationKind::Return,
            OperationState::Inventory(_) => OperationKind::Inventory,
        }
    }

    /// The kind of document it makes: its name is what the journal and the queue store.
    pub fn document_kind(&self) -> DocumentKind {
        match self {
            OperationState::Acceptance(_) => DocumentKind::Acceptance,
            OperationState::Aggregation(_) => DocumentKind::Aggregation,
            OperationState::Disaggregation(_) => DocumentKind::Disaggregation,
            OperationState::Reaggregation(_) => DocumentKind::Reaggregation,
            OperationState::WriteOff(_) => DocumentKind::WriteOff,
            OperationState::Shipment(_) => DocumentKind::Shipment,
            OperationState::Return(_) => DocumentKind::Return,
            OperationState::Inventory(_) => DocumentKind::Inventory,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        self.document_kind().name()
    }

    /// What the journal keeps at the start of the operation, to rebuild it from nothing.
    pub fn header(&self, capacity: Capacity) -> Value {
        match self {
            OperationState::Acceptance(a) => json!({"task": a.task().map(task_json)}),
            OperationState::Aggregation(_) => json!({"capacity": {
                "box_units": capacity.box_units, "pallet_boxes": capacity.pallet_boxes,
            }}),
            OperationState::Disaggregation(_) => json!({}),
            OperationState::Reaggregation(r) => json!({"box_units": r.box_units()}),
            OperationState::WriteOff(w) => {
                let h = w.header();
                json!({
                    "reason": h.reason.code(),
                    "document_number": h.document_number,
                    "document_date": date_text(h.document_date),
                    "needs_supervisor": h.needs_supervisor,
                })
            }
            // The order (if any) as it stood when picking began: a sync while picking must not
            // move the goalposts. A free shipment's header has no `order`.
            OperationState::Shipment(s) => {
                let h = s.header();
                let mut header = json!({
                    "receiver_inn": h.receiver.as_str(),
                    "document_number": h.document_number,
                    "document_date": date_text(h.document_date),
                });
                if let Some(order) = s.order() {
                    header["order"] = order_json(order);
                }
                header
            }
            OperationState::Return(r) => {
                let h = r.header();
                json!({
                    "cause": h.cause.code(),
                    "receipt": h.receipt.code(),
                    "receipt_name": h.receipt_name,
                    "document_number": h.document_number,
                    "document_date": date_text(h.document_date),
                    "paid": h.paid,
                })
            }
            // What the count expects is kept as it was when it began: a sync while counting
            // must not move the goalposts.
            OperationState::Inventory(i) => {
                let h = i.header();
                json!({
                    "zone": h.zone,
                    "document_number": h.document_number,
                    "document_date": date_text(h.document_date),
                    "settle": h.settle.map(WriteOffReason::code),
                    "needs_supervisor": h.needs_supervisor,
                    "expected": i.expected().iter().map(ki_text).collect::<Vec<_>>(),
                })
            }
        }
    }

    /// Rebuilds an operation from its kind, header and journal, as after a restart.
    pub fn restore(
        kind: &str,
        header: &Value,
        entries: &[Entry],
    ) -> anyhow::Result<OperationState> {
        let mut state = match kind {
            "acceptance" => {
                let task = match &header["task"] {
                    Value::Null => None,
                    t => Some(task_from_json(t)?),
                };
                OperationState::Acceptance(Acceptance::new(task))
            }
            "aggregation" => {
                let c = &header["capacity"];
                let number = |key: &str| c[key].as_u64().and_then(|n| u32::try_from(n).ok());
                OperationState::Aggregation(Aggregation::new(Capacity {
                    box_units: number("box_units").context("capacity.box_units")?,
                    pallet_boxes: number("pallet_boxes").context("capacity.pallet_boxes")?,
                }))
            }
            "disaggregation" => OperationState::Disaggregation(Disaggregation::new()),
            "reaggregation" => {
                let box_units = header["box_units"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .context("box_units")?;
                OperationState::Reaggregation(Reaggregation::new(box_units))
            }
            "write-off" => {
                let reason = str_field(header, "reason")?;
                OperationState::WriteOff(WriteOff::new(WriteOffHeader {
                    reason: WriteOffReason::from_code(reason)
                        .ok_or_else(|| anyhow!("unknown write-off reason {reason:?}"))?,
                    document_number: str_field(header, "document_number")?.to_string(),
                    document_date: parse_date(str_field(header, "document_date")?)?,
                    needs_supervisor: header["needs_supervisor"].as_bool().unwrap_or(false),
                }))
            }
            "shipment" => OperationState::Shipment(Shipment::new(
                ShipmentHeader {
                    receiver: opt_inn(&header["receiver_inn"])?.context("receiver_inn")?,
                    document_number: str_field(header, "document_number")?.to_string(),
                    document_date: parse_date(str_field(header, "document_date")?)?,
                },
                match &header["order"] {
                    Value::Null => None,
                    order => Some(order_from_json(order).context("order")?),
                },
            )),
            "return" => {
                let cause = str_field(header, "cause")?;
                let receipt = str_field(header, "receipt")?;
                OperationState::Return(CustomerReturn::new(ReturnHeader {
                    cause: ReturnCause::from_code(cause)
                        .ok_or_else(|| anyhow!("unknown return cause {cause:?}"))?,
                    receipt: ReturnReceipt::from_code(receipt)
                        .ok_or_else(|| anyhow!("unknown return document {receipt:?}"))?,
                    receipt_name: header["receipt_name"].as_str().map(str::to_owned),
                    document_number: str_field(header, "document_number")?.to_string(),
                    document_date: parse_date(str_field(header, "document_date")?)?,
                    paid: header["paid"].as_bool().unwrap_or(true),
                }))
            }
            "inventory" => {
                let settle = match header["settle"].as_str() {
                    None => None,
                    Some(code) => Some(
                        WriteOffReason::from_code(code)
                            .ok_or_else(|| anyhow!("unknown write-off reason {code:?}"))?,
                    ),
                };
                let expected = header["expected"]
                    .as_array()
                    .context("expected")?
                    .iter()
                    .map(|k| parse_ki(k.as_str().unwrap_or_default()))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                OperationState::Inventory(Inventory::new(
                    InventoryHeader {
                        zone: header["zone"].as_str().map(str::to_owned),
                        document_number: str_field(header, "document_number")?.to_string(),
                        document_date: parse_date(str_field(header, "document_date")?)?,
                        settle,
                        needs_supervisor: header["needs_supervisor"].as_bool().unwrap_or(false),
                    },
                    expected,
                ))
            }
            other => bail!("unknown operation kind {other:?}"),
        };
        for entry in entries {
            state
                .apply_entry(entry)
                .with_context(|| format!("replaying {} {:?}", entry.action, entry.code))?;
        }
        Ok(state)
    }

    fn apply_entry(&mut self, entry: &Entry) -> anyhow::Result<()> {
        let refused = |r: Refusal| anyhow!("the journal holds an event the operation refuses: {r}");
        match self {
            OperationState::Acceptance(a) => {
                let event = match entry.action.as_str() {
                    "unit" => AcceptanceEvent::Unit(parse_ki(&entry.code)?),
                    "box" => AcceptanceEvent::Box(parse_sscc(&entry.code)?),
                    "exclude" => AcceptanceEvent::Exclude(parse_ki(&entry.code)?),
                    other => bail!("unknown acceptance action {other:?}"),
                };
                a.apply(event).map_err(refused)
            }
            OperationState::Aggregation(g) => {
                let child = || -> anyhow::Result<Child> {
                    Ok(match entry.detail["child"].as_str() {
                        Some("box") => Child::Box(parse_sscc(&entry.code)?),
                        _ => Child::Unit(parse_ki(&entry.code)?),
                    })
                };
                let event = match entry.action.as_str() {
                    "open" => AggregationEvent::Open {
                        sscc: parse_sscc(&entry.code)?,
                        level: match entry.detail["level"].as_str() {
                            Some("pallet") => Level::Pallet,
                            _ => Level::Box,
                        },
                    },
                    "add" => AggregationEvent::Add {
                        child: child()?,
                        status: entry.detail["status"]
                            .as_str()
                            .and_then(CisStatus::from_api_name),
                    },
                    "remove" => AggregationEvent::Remove(child()?),
                    "close" => AggregationEvent::Close,
                    other => bail!("unknown aggregation action {other:?}"),
                };
                g.apply(event).map_err(refused)
            }
            OperationState::Disaggregation(d) => match entry.action.as_str() {
                "box" => d.add(parse_sscc(&entry.code)?).map_err(refused),
                other => bail!("unknown disaggregation action {other:?}"),
            },
            OperationState::Reaggregation(r) => {
                let event = match entry.action.as_str() {
                    "box" => ReaggregationEvent::Box {
                        sscc: parse_sscc(&entry.code)?,
                        units: match &entry.detail["units"] {
                            Value::Null => None,
                            n => Some(
                                n.as_u64()
                                    .and_then(|n| u32::try_from(n).ok())
                                    .context("units")?,
                            ),
                        },
                    },
                    "mode" => {
                        let mode = str_field(&entry.detail, "mode")?;
                        ReaggregationEvent::Mode(
                            ReaggregationMode::from_code(mode)
                                .ok_or_else(|| anyhow!("unknown re-aggregation mode {mode:?}"))?,
                        )
                    }
                    "unit" => ReaggregationEvent::Unit {
                        ki: parse_ki(&entry.code)?,
                        parent: opt_sscc(&entry.detail["parent"])?,
                    },
                    other => bail!("unknown re-aggregation action {other:?}"),
                };
                r.apply(event).map_err(refused)
            }
            OperationState::WriteOff(w) => {
                let event = match entry.action.as_str() {
                    "unit" => WriteOffEvent::Unit(parse_ki(&entry.code)?),
                    "remark" => WriteOffEvent::Remark(parse_ki(&entry.code)?),
                    "replace" => WriteOffEvent::Replacement {
                        old: parse_ki(str_field(&entry.detail, "old")?)?,
                        new: parse_ki(&entry.code)?,
                        status: entry.detail["status"]
                            .as_str()
                            .and_then(CisStatus::from_api_name),
                    },
                    "confirm" => WriteOffEvent::Confirmed {
                        supervisor: str_field(&entry.detail, "supervisor")?.to_string(),
                    },
                    other => bail!("unknown write-off action {other:?}"),
                };
                w.apply(event).map_err(refused)
            }
            OperationState::Shipment(s) => {
                let event = match entry.action.as_str() {
                    "unit" => ShipmentEvent::Unit(parse_ki(&entry.code)?),
                    // The label's content as it was when scanned, not as the replica says now.
                    "label" => ShipmentEvent::Label(PackedLabel {
                        sscc: parse_sscc(&entry.code)?,
                        units: entry.detail["units"]
                            .as_array()
                            .context("units")?
                            .iter()
                            .map(|u| parse_ki(u.as_str().unwrap_or_default()))
                            .collect::<anyhow::Result<_>>()?,
                    }),
                    "open" => ShipmentEvent::Open(parse_sscc(&entry.code)?),
                    "remove" => ShipmentEvent::Remove(parse_ki(&entry.code)?),
                    other => bail!("unknown shipment action {other:?}"),
                };
                s.apply(event).map_err(refused)
            }
            OperationState::Return(r) => {
                let event = match entry.action.as_str() {
                    "unit" => ReturnEvent::Unit(parse_ki(&entry.code)?),
                    "damaged" => ReturnEvent::Damaged,
                    "new_label" => ReturnEvent::NewLabel {
                        ki: parse_ki(&entry.code)?,
                        status: entry.detail["status"]
                            .as_str()
                            .and_then(CisStatus::from_api_name),
                    },
                    other => bail!("unknown return action {other:?}"),
                };
                r.apply(event).map_err(refused)
            }
            OperationState::Inventory(i) => {
                let label = || -> anyhow::Result<PackedLabel> {
                    Ok(PackedLabel {
                        sscc: parse_sscc(&entry.code)?,
                        units: entry.detail["units"]
                            .as_array()
                            .context("units")?
                            .iter()
                            .map(|u| parse_ki(u.as_str().unwrap_or_default()))
                            .collect::<anyhow::Result<_>>()?,
                    })
                };
                let event = match entry.action.as_str() {
                    "unit" => InventoryEvent::Unit {
                        ki: parse_ki(&entry.code)?,
                        counted: counted_from(&entry.detail)?,
                    },
                    "label" => InventoryEvent::Label(label()?),
                    "open" => InventoryEvent::Open(label()?),
                    "confirm" => InventoryEvent::Confirmed {
                        supervisor: str_field(&entry.detail, "supervisor")?.to_string(),
                    },
                    other => bail!("unknown inventory action {other:?}"),
                };
                i.apply(event).map_err(refused)
            }
        }
    }

    /// The journal entry for the operation's last event.
    pub fn last_entry(&self) -> Option<Entry> {
        let entry = |action: &str, code: String, detail: Value| Entry {
            action: action.to_string(),
            code,
            detail,
        };
        let child = |c: &Child| match c {
            Child::Unit(ki) => (ki_text(ki), "unit"),
            Child::Box(sscc) => (sscc.to_string(), "box"),
        };
        Some(match self {
            OperationState::Acceptance(a) => match a.events().last()? {
                AcceptanceEvent::Unit(ki) => entry("unit", ki_text(ki), json!({})),
                AcceptanceEvent::Box(sscc) => entry("box", sscc.to_string(), json!({})),
                AcceptanceEvent::Exclude(ki) => entry("exclude", ki_text(ki), json!({})),
            },
            OperationState::Aggregation(g) => match g.events().last()? {
                AggregationEvent::Open { sscc, level } => {
                    entry("open", sscc.to_string(), json!({"level": level.code()}))
                }
                AggregationEvent::Add { child: c, status } => {
                    let (code, kind) = child(c);
                    entry(
                        "add",
                        code,
                        json!({"child": kind, "status": status.map(|s| s.api_name())}),
                    )
                }
                AggregationEvent::Remove(c) => {
                    let (code, kind) = child(c);
                    entry("remove", code, json!({"child": kind}))
                }
                AggregationEvent::Close => entry("close", String::new(), json!({})),
            },
            OperationState::Disaggregation(d) => {
                entry("box", d.labels().last()?.to_string(), json!({}))
            }
            OperationState::Reaggregation(r) => match r.events().last()? {
                ReaggregationEvent::Box { sscc, units } => {
                    entry("box", sscc.to_string(), json!({"units": units}))
                }
                ReaggregationEvent::Mode(mode) => {
                    entry("mode", String::new(), json!({"mode": mode.code()}))
                }
                ReaggregationEvent::Unit { ki, parent } => entry(
                    "unit",
                    ki_text(ki),
                    json!({"parent": parent.map(|p| p.to_string())}),
                ),
            },
            OperationState::WriteOff(w) => match w.events().last()? {
                WriteOffEvent::Unit(ki) => entry("unit", ki_text(ki), json!({})),
                WriteOffEvent::Remark(ki) => entry("remark", ki_text(ki), json!({})),
                WriteOffEvent::Replacement { old, new, status } => entry(
                    "replace",
                    ki_text(new),
                    json!({"old": ki_text(old), "status": status.map(|s| s.api_name())}),
                ),
                WriteOffEvent::Confirmed { supervisor } => {
                    entry("confirm", String::new(), json!({"supervisor": supervisor}))
                }
            },
            OperationState::Shipment(s) => match s.events().last()? {
                ShipmentEvent::Unit(ki) => entry("unit", ki_text(ki), json!({})),
                ShipmentEvent::Label(label) => entry(
                    "label",
                    label.sscc.to_string(),
                    json!({"units": label.units.iter().map(ki_text).collect::<Vec<_>>()}),
                ),
                ShipmentEvent::Open(sscc) => entry("open", sscc.to_string(), json!({})),
                ShipmentEvent::Remove(ki) => entry("remove", ki_text(ki), json!({})),
            },
            OperationState::Inventory(i) => {
                let units = |label: &PackedLabel| json!({"units": label.units.iter().map(ki_text).collect::<Vec<_>>()});
                match i.events().last()? {
                    InventoryEvent::Unit { ki, counted } => {
                        let status = match counted {
                            Counted::WrongStatus(s) => Some(s.api_name()),
                            _ => None,
                        };
                        entry(
                            "unit",
                            ki_text(ki),
                            json!({"counted": counted.code(), "status": status}),
                        )
                    }
                    InventoryEvent::Label(label) => {
                        entry("label", label.sscc.to_string(), units(label))
                    }
                    InventoryEvent::Open(label) => {
                        entry("open", label.sscc.to_string(), units(label))
                    }
                    InventoryEvent::Confirmed { supervisor } => {
                        entry("confirm", String::new(), json!({"supervisor": supervisor}))
                    }
                }
            }
            OperationState::Return(r) => match r.events().last()? {
                ReturnEvent::Unit(ki) => entry("unit", ki_text(ki), json!({})),
                ReturnEvent::Damaged => entry("damaged", String::new(), json!({})),
                ReturnEvent::NewLabel { ki, status } => entry(
                    "new_label",
                    ki_text(ki),
                    json!({"status": status.map(|s| s.api_name())}),
                ),
            },
        })
    }

    /// Drops the last event.
    pub fn undo(&mut self) -> Result<(), Refusal> {
        match self {
            OperationState::Acceptance(a) => a.undo().map(drop),
            OperationState::Aggregation(g) => g.undo().map(drop),
            OperationState::Disaggregation(d) => d.undo().map(drop),
            OperationState::Reaggregation(r) => r.undo().map(drop),
            OperationState::WriteOff(w) => w.undo().map(drop),
            OperationState::Shipment(s) => s.undo().map(drop),
            OperationState::Return(r) => r.undo().map(drop),
            OperationState::Inventory(i) => i.undo().map(drop),
        }
    }

    /// The finished document for the queue, or why it cannot be finished yet.
    pub fn document(&self, finished_at: Timestamp) -> Result<OperationDocument, Refusal> {
        Ok(match self {
            OperationState::Acceptance(a) => {
                let s = a.summary();
                if s.accepted.is_empty() && s.rejected.is_empty() {
                    return Err(Refusal::Empty);
                }
                OperationDocument::Acceptance(AcceptanceDocument {
                    task_id: s.task_id,
                    accepted: s.accepted,
                    boxes: s.boxes,
                    rejected: s.rejected,
                    surplus: s.surplus,
                    missing: s.missing,
                    acceptance_date: finished_at.date(),
                    lines: s
                        .lines
                        .iter()
                        .map(|l| AcceptedLine {
                            gtin: l.gtin,
                            expected: l.expected,
                            accepted: u32::try_from(l.filled.len()).unwrap_or(u32::MAX),
                            over: u32::try_from(l.over.len()).unwrap_or(u32::MAX),
                        })
                        .collect(),
                })
            }
            OperationState::Aggregation(g) => {
                if let Some(open) = g.open_aggregate() {
                    return Err(Refusal::AlreadyOpen { sscc: open.sscc });
                }
                if g.closed().is_empty() {
                    return Err(Refusal::Empty);
                }
                OperationDocument::Aggregation(AggregationDocument {
                    aggregates: g
                        .closed()
                        .iter()
                        .map(|a| PackedAggregate {
                            sscc: a.sscc,
                            level: a.level,
                            status: a.status,
                            children: a.children.iter().map(|c| PackedChild::from(*c)).collect(),
                        })
                        .collect(),
                })
            }
            OperationState::Disaggregation(d) => {
                if d.labels().is_empty() {
                    return Err(Refusal::Empty);
                }
                OperationDocument::Disaggregation(DisaggregationDocument {
                    labels: d.labels().to_vec(),
                })
            }
            OperationState::Reaggregation(r) => {
                let s = r.summary()?;
                OperationDocument::Reaggregation(ReaggregationDocument {
                    sscc: s.sscc,
                    reaggregation_type: match s.mode {
                        ReaggregationMode::Adding => ReaggregationType::Adding,
                        ReaggregationMode::Removing => ReaggregationType::Removing,
                        ReaggregationMode::Moving => ReaggregationType::Moving,
                    },
                    units: s.units,
                    taken_from: s
                        .taken_from
                        .into_iter()
                        .map(|(sscc, units)| TakenFrom { sscc, units })
                        .collect(),
                })
            }
            OperationState::WriteOff(w) => {
                let s = w.summary()?;
                let (document, reason) = s.header.reason.gis_mt();
                OperationDocument::WriteOff(WriteOffDocument {
                    reason: s.header.reason,
                    document_number: s.header.document_number,
                    document_date: s.header.document_date,
                    supervisor: s.supervisor,
                    codes: s.codes,
                    // For hubs of the last release, which read these instead of routing.
                    gis_mt_document: Some(document.to_owned()),
                    gis_mt_reason: Some(reason.to_owned()),
                    replacements: s
                        .replacements
                        .into_iter()
                        .map(|(old, new)| Replacement { old, new })
                        .collect(),
                })
            }
            OperationState::Shipment(s) => {
                let summary = s.summary();
                if summary.units.is_empty() && summary.labels.is_empty() {
                    return Err(Refusal::Empty);
                }
                let h = s.header();
                OperationDocument::Shipment(ShipmentDocument {
                    order_id: summary.order_id,
                    receiver_inn: h.receiver,
                    document_number: h.document_number.clone(),
                    document_date: h.document_date,
                    turnover_type: TurnoverType::Selling,
                    units: summary.units,
                    labels: summary.labels.iter().map(|l| l.sscc).collect(),
                    opened: summary.opened,
                    lines: summary
                        .lines
                        .iter()
                        .map(|l| ShippedLine {
                            gtin: l.gtin,
                            ordered: l.expected,
                            shipped: u32::try_from(l.filled.len()).unwrap_or(u32::MAX),
                            over: u32::try_from(l.over.len()).unwrap_or(u32::MAX),
                        })
                        .collect(),
                    over: summary.over,
                    missing: summary.missing,
                })
            }
            OperationState::Return(r) => {
                let s = r.summary()?;
                OperationDocument::Return(ReturnDocument {
                    cause: s.header.cause,
                    receipt: s.header.receipt,
                    receipt_name: s.header.receipt_name,
                    document_number: s.header.document_number,
                    document_date: s.header.document_date,
                    paid: s.header.paid,
                    units: s.units,
                    relabelled: s.relabelled,
                })
            }
            OperationState::Inventory(i) => {
                let s = i.finished()?;
                OperationDocument::Inventory(InventoryDocument {
                    zone: s.header.zone,
                    document_number: s.header.document_number,
                    document_date: s.header.document_date,
                    found: s.found,
                    labels: s.labels,
                    opened: s.opened,
                    foreign: s.foreign,
                    wrong_status: s.wrong_status.into_iter().map(|(ki, _)| ki).collect(),
                    unknown: s.unknown,
                    missing: s.missing,
                    settle: s.header.settle,
                    supervisor: s.supervisor,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_domain::gs1::Gtin;

    fn ki(serial: &str) -> Ki {
        Ki::new(
            Gtin::from_digits(b"04600840749372").unwrap(),
            serial.as_bytes(),
        )
        .unwrap()
    }

    fn sscc(n: u64) -> Sscc {
        Sscc::compose(0, "4600840", n).unwrap()
    }

    /// Applies events through the state, writing each to a journal, then restores from it.
    fn round_trip(state: OperationState, steps: impl Fn(&mut OperationState, usize) -> bool) {
        let capacity = Capacity::default();
        let header = state.header(capacity);
        let kind = state.kind_name();
        let mut live = state;
        let mut journal = Vec::new();
        let mut i = 0;
        while steps(&mut live, i) {
            journal.push(live.last_entry().unwrap());
            i += 1;
        }
        let header_text = serde_json::to_string(&header).unwrap();
        let restored =
            OperationState::restore(kind, &serde_json::from_str(&header_text).unwrap(), &journal)
                .unwrap();
        let now = Timestamp(1_795_305_600_000);
        assert_eq!(restored.document(now), live.document(now));
        assert!(live.document(now).is_ok());
    }

    #[test]
    fn an_inventory_survives_the_journal() {
        let header = InventoryHeader {
            zone: Some("A-3".into()),
            document_number: "ИНВ-1".into(),
            document_date: Gs1Date::from_yymmdd(b"261202").unwrap(),
            settle: Some(WriteOffReason::DamageLoss),
            needs_supervisor: true,
        };
        let events = [
            InventoryEvent::Unit {
                ki: ki("I1"),
                counted: Counted::Ours,
            },
            InventoryEvent::Unit {
                ki: ki("S1"),
                counted: Counted::WrongStatus(CisStatus::Retired),
            },
            InventoryEvent::Label(PackedLabel {
                sscc: sscc(1),
                units: vec![ki("B1")],
            }),
            InventoryEvent::Open(PackedLabel {
                sscc: sscc(2),
                units: vec![ki("C1"), ki("C2")],
            }),
            InventoryEvent::Unit {
                ki: ki("C1"),
                counted: Counted::Ours,
            },
            InventoryEvent::Unit {
                ki: ki("F1"),
                counted: Counted::Foreign,
            },
            InventoryEvent::Confirmed {
                supervisor: "petrov".into(),
            },
        ];
        round_trip(
            OperationState::Inventory(Inventory::new(header.clone(), [ki("I1"), ki("M1")])),
            |s, i| match (s, events.get(i)) {
                (OperationState::Inventory(c), Some(e)) => c.apply(e.clone()).is_ok(),
                _ => false,
            },
        );
        let mut count = Inventory::new(header, [ki("I1"), ki("M1")]);
        for e in events {
            count.apply(e).unwrap();
        }
        let Ok(OperationDocument::Inventory(d)) =
            OperationState::Inventory(count).document(Timestamp(1_795_305_600_000))
        else {
            panic!("a confirmed count makes its document");
        };
        assert_eq!(d.missing, vec![ki("C2"), ki("M1")]);
        assert_eq!(d.wrong_status, vec![ki("S1")]);
        assert_eq!(d.found, vec![ki("I1"), ki("B1"), ki("C1")]);
        assert_eq!(d.supervisor.as_deref(), Some("petrov"));
    }

    #[test]
    fn a_customer_return_survives_the_journal() {
        let header = ReturnHeader {
            cause: ReturnCause::RemoteSale,
            receipt: ReturnReceipt::Other,
            receipt_name: Some("Акт возврата".into()),
            document_number: "ВЗ-3".into(),
            document_date: Gs1Date::from_yymmdd(b"261202").unwrap(),
            paid: false,
        };
        let events = [
            ReturnEvent::Unit(ki("R1")),
            ReturnEvent::Damaged,
            ReturnEvent::NewLabel {
                ki: ki("N1"),
                status: Some(CisStatus::Applied),
            },
            ReturnEvent::Unit(ki("R2")),
        ];
        round_trip(
            OperationState::Return(CustomerReturn::new(header.clone())),
            |s, i| match (s, events.get(i)) {
                (OperationState::Return(r), Some(e)) => r.apply(e.clone()).is_ok(),
                _ => false,
            },
        );
        let mut r = CustomerReturn::new(header);
        for e in events {
            r.apply(e).unwrap();
        }
        let Ok(OperationDocument::Return(d)) =
            OperationState::Return(r).document(Timestamp(1_795_305_600_000))
        else {
            panic!("a return with units makes its document");
        };
        assert_eq!(d.units, vec![ki("R1"), ki("R2")]);
        assert_eq!(d.relabelled, vec![ki("N1")]);
        assert_eq!(d.receipt_name.as_deref(), Some("Акт возврата"));
        assert!(!d.paid);
    }

    #[test]
    fn acceptance_survives_the_journal() {
        let task = AcceptanceTask {
            id: "T-9".into(),
            number: "N-1".into(),
            sender: Inn::parse("7736207543"),
            product_group: Some(ProductGroup::Milk),
            units: vec![ki("5a1")],
            boxes: vec![ExpectedBox {
                sscc: sscc(1),
                children: vec![ki("5b1"), ki("5b2")],
            }],
            lines: vec![QuantityLine {
                gtin: ki("x").gtin(),
                quantity: 2,
            }],
        };
        let events = [
            AcceptanceEvent::Unit(ki("5zz")),
            AcceptanceEvent::Box(sscc(1)),
            AcceptanceEvent::Exclude(ki("5b2")),
        ];
        round_trip(
            OperationState::Acceptance(Acceptance::new(Some(task))),
            |s, i| match (s, events.get(i)) {
                (OperationState::Acceptance(a), Some(e)) => a.apply(*e).is_ok(),
                _ => false,
            },
        );
    }

    #[test]
    fn aggregation_survives_the_journal() {
        let events = [
            AggregationEvent::Open {
                sscc: sscc(1),
                level: Level::Box,
            },
            AggregationEvent::Add {
                child: Child::Unit(ki("A")),
                status: Some(CisStatus::Introduced),
            },
            AggregationEvent::Add {
                child: Child::Unit(ki("B")),
                status: None,
            },
            AggregationEvent::Remove(Child::Unit(ki("B"))),
            AggregationEvent::Close,
            AggregationEvent::Open {
                sscc: sscc(2),
                level: Level::Pallet,
            },
            AggregationEvent::Add {
                child: Child::Box(sscc(1)),
                status: None,
            },
            AggregationEvent::Close,
        ];
        round_trip(
            OperationState::Aggregation(Aggregation::new(Capacity::default())),
            |s, i| match (s, events.get(i)) {
                (OperationState::Aggregation(g), Some(e)) => g.apply(*e).is_ok(),
                _ => false,
            },
        );
    }

    #[test]
    fn write_off_survives_the_journal() {
        let header = WriteOffHeader {
            reason: WriteOffReason::Expiry,
            document_number: "A-1".into(),
            document_date: Gs1Date {
                year: 2026,
                month: 11,
                day: 22,
            },
            needs_supervisor: true,
        };
        let events = [
            WriteOffEvent::Unit(ki("A")),
            WriteOffEvent::Unit(ki("B")),
            WriteOffEvent::Confirmed {
                supervisor: "boss".into(),
            },
        ];
        round_trip(
            OperationState::WriteOff(WriteOff::new(header)),
            |s, i| match (s, events.get(i)) {
                (OperationState::WriteOff(w), Some(e)) => w.apply(e.clone()).is_ok(),
                _ => false,
            },
        );
    }

    #[test]
    fn reaggregation_survives_the_journal_and_reads_back_as_its_document() {
        for (mode, parent, kind) in [
            (ReaggregationMode::Adding, None, ReaggregationType::Adding),
            (
                ReaggregationMode::Removing,
                Some(sscc(1)),
                ReaggregationType::Removing,
            ),
            (
                ReaggregationMode::Moving,
                Some(sscc(2)),
                ReaggregationType::Moving,
            ),
        ] {
            // The choice may change before the first unit: adding first, then the one tested
            // (choosing adding twice would be refused, so it is chosen once).
            let mut events = vec![
                ReaggregationEvent::Mode(ReaggregationMode::Adding),
                ReaggregationEvent::Box {
                    sscc: sscc(1),
                    units: Some(3),
                },
            ];
            if mode != ReaggregationMode::Adding {
                events.push(ReaggregationEvent::Mode(mode));
            }
            events.extend([
                ReaggregationEvent::Unit {
                    ki: ki("A"),
                    parent,
                },
                ReaggregationEvent::Unit {
                    ki: ki("B"),
                    parent,
                },
            ]);
            round_trip(
                OperationState::Reaggregation(Reaggregation::new(12)),
                |s, i| match (s, events.get(i)) {
                    (OperationState::Reaggregation(r), Some(e)) => r.apply(*e).is_ok(),
                    _ => false,
                },
            );
            let live = Reaggregation::replay(12, &events).unwrap();
            let document = OperationState::Reaggregation(live)
                .document(Timestamp(1_795_305_600_000))
                .unwrap();
            // The queue keeps the payload as text; the hub reads it by kind.
            let text = document.payload().to_string();
            let read = OperationDocument::from_parts(
                document.kind().name(),
                serde_json::from_str(&text).unwrap(),
            )
            .unwrap();
            let OperationDocument::Reaggregation(read) = read else {
                panic!("not a re-aggregation: {text}");
            };
            assert_eq!(read.sscc, sscc(1));
            assert_eq!(read.reaggregation_type, kind);
            assert_eq!(read.units, vec![ki("A"), ki("B")]);
            let taken: Vec<(Sscc, Vec<Ki>)> = read
                .taken_from
                .iter()
                .map(|t| (t.sscc, t.units.clone()))
                .collect();
            if kind == ReaggregationType::Moving {
                assert_eq!(taken, vec![(sscc(2), vec![ki("A"), ki("B")])]);
            } else {
                assert!(taken.is_empty(), "{text}");
            }
        }
    }

    #[test]
    fn re_marking_survives_the_journal_and_writes_its_replacements() {
        let header = WriteOffHeader {
            reason: WriteOffReason::CodeSpoiled,
            document_number: "A-2".into(),
            document_date: Gs1Date {
                year: 2026,
                month: 11,
                day: 22,
            },
            needs_supervisor: false,
        };
        let events = [
            WriteOffEvent::Unit(ki("E")),
            WriteOffEvent::Remark(ki("A")),
            WriteOffEvent::Replacement {
                old: ki("A"),
                new: ki("N1"),
                status: Some(CisStatus::Emitted),
            },
            WriteOffEvent::Remark(ki("B")),
            WriteOffEvent::Replacement {
                old: ki("B"),
                new: ki("N2"),
                status: None,
            },
        ];
        round_trip(
            OperationState::WriteOff(WriteOff::new(header.clone())),
            |s, i| match (s, events.get(i)) {
                (OperationState::WriteOff(w), Some(e)) => w.apply(e.clone()).is_ok(),
                _ => false,
            },
        );
        let mut w = WriteOff::new(header);
        for e in events {
            w.apply(e).unwrap();
        }
        let document = OperationState::WriteOff(w)
            .document(Timestamp(1_795_305_600_000))
            .unwrap();
        let text = document.payload().to_string();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["replacements"],
            json!([
                {"old": ki("A").to_string(), "new": ki("N1").to_string()},
                {"old": ki("B").to_string(), "new": ki("N2").to_string()},
            ])
        );
        let Ok(OperationDocument::WriteOff(read)) =
            OperationDocument::from_parts("write-off", value)
        else {
            panic!("not a write-off: {text}");
        };
        assert_eq!(read.codes, vec![ki("E"), ki("A"), ki("B")]);
        assert_eq!(
            read.replacements,
            vec![
                Replacement {
                    old: ki("A"),
                    new: ki("N1")
                },
                Replacement {
                    old: ki("B"),
                    new: ki("N2")
                },
            ]
        );
        // A write-off without re-marking writes no replacements at all (hubs of the last
        // release never saw the field).
        let mut plain = WriteOff::new(WriteOffHeader {
            reason: WriteOffReason::DamageLoss,
            document_number: "A-3".into(),
            document_date: Gs1Date {
                year: 2026,
                month: 11,
                day: 22,
            },
            needs_supervisor: false,
        });
        plain.apply(WriteOffEvent::Unit(ki("E"))).unwrap();
        let payload = OperationState::WriteOff(plain)
            .document(Timestamp(1_795_305_600_000))
            .unwrap()
            .payload();
        assert!(payload.get("replacements").is_none(), "{payload}");
    }

    #[test]
    fn a_damaged_journal_is_an_error_not_a_panic() {
        let bad = [
            (
                "acceptance",
                json!({"task": null}),
                Entry {
                    action: "unit".into(),
                    code: "junk".into(),
                    detail: json!({}),
                },
            ),
            (
                "acceptance",
                json!({"task": null}),
                Entry {
                    action: "fly".into(),
                    code: String::new(),
                    detail: json!({}),
                },
            ),
            (
                "aggregation",
                json!({}),
                Entry {
                    action: "close".into(),
                    code: String::new(),
                    detail: json!({}),
                },
            ),
            (
                "write-off",
                json!({"reason": "nope"}),
                Entry {
                    action: "unit".into(),
                    code: String::new(),
                    detail: json!({}),
                },
            ),
            (
                "reaggregation",
                json!({}),
                Entry {
                    action: "mode".into(),
                    code: String::new(),
                    detail: json!({"mode": "adding"}),
                },
            ),
            (
                "reaggregation",
                json!({"box_units": 4}),
                Entry {
                    action: "mode".into(),
                    code: String::new(),
                    detail: json!({"mode": "juggling"}),
                },
            ),
            (
                "reaggregation",
                json!({"box_units": 4}),
                Entry {
                    action: "box".into(),
                    code: "123".into(),
                    detail: json!({"units": null}),
                },
            ),
            (
                "reaggregation",
                json!({"box_units": 4}),
                Entry {
                    action: "unit".into(),
                    code: "01046008407493722159XyZ1a".into(),
                    detail: json!({"parent": "not an sscc"}),
                },
            ),
            (
                "write-off",
                json!({"reason": "code_lost", "document_number": "1", "document_date": "2026-11-22"}),
                Entry {
                    action: "replace".into(),
                    code: "01046008407493722159XyZ1a".into(),
                    detail: json!({}),
                },
            ),
            (
                "teleport",
                json!({}),
                Entry {
                    action: "x".into(),
                    code: String::new(),
                    detail: json!({}),
                },
            ),
        ];
        for (kind, header, entry) in bad {
            assert!(
                OperationState::restore(kind, &header, &[entry]).is_err(),
                "{kind}"
            );
        }
        // An event the operation refuses (closing nothing) is reported, not applied.
        let header = json!({"capacity": {"box_units": 1, "pallet_boxes": 1}});
        let close = Entry {
            action: "close".into(),
            code: String::new(),
            detail: json!({}),
        };
        assert!(OperationState::restore("aggregation", &header, &[close]).is_err());
        // A unit before its box, or a new code with no old one waiting, likewise.
        let unit = Entry {
            action: "unit".into(),
            code: ki("A").to_string(),
            detail: json!({"parent": null}),
        };
        assert!(
            OperationState::restore("reaggregation", &json!({"box_units": 4}), &[unit]).is_err()
        );
        let replace = Entry {
            action: "replace".into(),
            code: ki("N").to_string(),
            detail: json!({"old": ki("A").to_string(), "status": null}),
        };
        let header =
            json!({"reason": "code_lost", "document_number": "1", "document_date": "2026-11-22"});
        assert!(OperationState::restore("write-off", &header, &[replace]).is_err());
    }
}
