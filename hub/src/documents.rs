//! Accepted operations turned into GIS MT document bodies, ready to be signed and submitted.
//!
//! One accepted operation makes one document (the shapes of `marking-codes.md`, section 7):
//!
//! - acceptance → `LP_ACCEPT_GOODS`: `trade_sender_inn` (the task's `senderInn`, left out when
//!   the acceptance had no task or the task names none), `trade_recipient_inn` (the device's
//!   participant), `release_order_number` (the task's `number`, left out without one),
//!   `acceptance_date`, `accept_all: false` (each product says for itself), and `products[]`:
//!   `{uitu_code, accepted, children[{uit_code, accepted}]}` per box, `{uit_code, accepted}` per
//!   unit not inside an exported box. A box's children come from the task's box line, else from
//!   the hub's list (codes whose parent is the box); a rejected unit is `accepted: false`.
//! - aggregation → `AGGREGATION_DOCUMENT`: `participantId`, `aggregationUnits[]
//!   {unitSerialNumber (the SSCC, 18 digits), aggregationType: "AGGREGATION", sntins[]}`, where
//!   `sntins` are the КИ of the unit children and, for a pallet, the SSCC of its boxes.
//! - disaggregation → `DISAGGREGATION_DOCUMENT`: `participant_inn`, `products_list[] {uitu}`.
//! - write-off → the payload's `gis_mt_document`: `LK_RECEIPT` with `inn`, `action` (the
//!   payload's `gis_mt_reason`), `document_number`, `document_date`, `products[] {cis}`; or
//!   `LK_KM_CANCELLATION` with `participant_inn`, `reason` (`KM_SPOILED`, `KM_LOST`,
//!   `KM_DESTROYED`), `document_number`, `document_date`, `products[] {cis}`. The reference names
//!   only the reason for a cancellation and `action` + `products[] {cis, product_cost}` for a
//!   receipt, so the rest is kept minimal; the terminal knows no cost, so none is sent.
//!
//! Codes are written in the GS1 text form `01`GTIN`21`serial the hub stores. Rejected
//! operations are never read: the query takes only rows stored as accepted. Each document goes
//! out wrapped with the operation's UUID and its place in the hub's intake (`seq`), so the books
//! can trace a document to the terminal's operation and an export can resume after the last
//! one it wrote.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tally_domain::code::Ki;
use tally_domain::gs1::Sscc;

use crate::store::{AcceptedOperation, Store, StoreError};

/// The operation kinds a document is made from, as the terminal names them.
pub const KINDS: [&str; 4] = ["acceptance", "aggregation", "disaggregation", "write-off"];

/// One exported document with what traces it back to its operation.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct ExportedDocument {
    /// The GIS MT document type (`LP_ACCEPT_GOODS`, `AGGREGATION_DOCUMENT`, ...).
    #[serde(rename = "type")]
    pub doc_type: String,
    /// The UUID of the terminal's operation.
    pub operation: String,
    /// The operation's place in the hub's intake: the cursor for `--after`.
    pub seq: i64,
    pub document: Value,
}

/// An accepted operation whose payload does not make a document (the hub judges only the
/// fields its rules need, so a document field can still be missing or malformed).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Unexportable {
    pub operation: String,
    pub seq: i64,
    pub reason: String,
}

/// One page of the export, oldest first; also the body of `GET /v1/documents`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug, Default)]
pub struct Page {
    pub documents: Vec<ExportedDocument>,
    pub unexportable: Vec<Unexportable>,
    /// The cursor for the next page: the last operation read, or `after` when none was.
    pub next_after: i64,
    pub more: bool,
}

/// Which operations an export reads: those after intake position `after`, of `kinds` (terminal
/// kind names; all when empty), from devices of `warehouse` (all when `None`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Selection<'a> {
    pub after: i64,
    pub kinds: &'a [&'a str],
    pub warehouse: Option<&'a str>,
}

/// Up to `limit` selected accepted operations as documents.
pub fn page(store: &Store, selection: Selection<'_>, limit: u32) -> Result<Page, StoreError> {
    let after = selection.after;
    let (operations, more) =
        store.accepted_operations(after, limit, selection.kinds, selection.warehouse)?;
    let mut page = Page {
        next_after: operations.last().map_or(after, |o| o.seq),
        more,
        ..Page::default()
    };
    for operation in &operations {
        match document(store, operation)? {
            Ok((doc_type, document)) => page.documents.push(ExportedDocument {
                doc_type: doc_type.to_owned(),
                operation: operation.uuid.clone(),
                seq: operation.seq,
                document,
            }),
            Err(reason) => page.unexportable.push(Unexportable {
                operation: operation.uuid.clone(),
                seq: operation.seq,
                reason,
            }),
        }
    }
    Ok(page)
}

type Made = Result<(&'static str, Value), String>;

fn parse<T: for<'de> Deserialize<'de>>(kind: &str, payload: &Value) -> Result<T, String> {
    T::deserialize(payload).map_err(|e| format!("the {kind} payload is not as expected: {e}"))
}

fn cis(text: &str) -> Result<String, String> {
    Ki::from_cis(text)
        .map(|ki| ki.to_string())
        .ok_or_else(|| format!("{text:?} is not a marking code"))
}

/// An SSCC as its 18 digits, with or without the `00` AI in front.
fn sscc(text: &str) -> Result<String, String> {
    let digits = text
        .strip_prefix("00")
        .filter(|d| d.len() == 18)
        .unwrap_or(text);
    Sscc::from_digits(digits.as_bytes())
        .map(|s| s.to_string())
        .ok_or_else(|| format!("{text:?} is not an SSCC"))
}

fn document(store: &Store, operation: &AcceptedOperation) -> Result<Made, StoreError> {
    let inn = operation.participant_inn.as_str();
    let payload = &operation.payload;
    Ok(match operation.kind.as_str() {
        "acceptance" => match parse::<AcceptancePayload>("acceptance", payload) {
            Ok(p) => acceptance(store, inn, &p)?,
            Err(e) => Err(e),
        },
        "aggregation" => parse("aggregation", payload).and_then(|p| aggregation(inn, &p)),
        "disaggregation" => parse("disaggregation", payload).and_then(|p| disaggregation(inn, &p)),
        "write-off" => parse("write-off", payload).and_then(|p| write_off(inn, &p)),
        other => Err(format!(
            "no GIS MT document is made from a {other:?} operation"
        )),
    })
}

#[derive(Deserialize)]
struct AcceptancePayload {
    #[serde(default)]
    task_id: Option<String>,
    accepted: Vec<String>,
    #[serde(default)]
    boxes: Vec<String>,
    #[serde(default)]
    rejected: Vec<String>,
    acceptance_date: String,
}

/// What an acceptance document needs from its task line.
#[derive(Deserialize, Default)]
struct TaskLine {
    #[serde(default, rename = "senderInn")]
    sender_inn: Option<String>,
    #[serde(default)]
    number: Option<Value>,
    #[serde(default)]
    boxes: Vec<TaskBox>,
}

#[derive(Deserialize)]
struct TaskBox {
    sscc: String,
    #[serde(default)]
    units: Vec<String>,
}

fn acceptance(store: &Store, inn: &str, p: &AcceptancePayload) -> Result<Made, StoreError> {
    let task: TaskLine = match &p.task_id {
        Some(id) => match store.task(id)? {
            // A task line the hub holds passed its import checks; a shape this module does not
            // expect only costs the optional fields, never the document.
            Some(line) => TaskLine::deserialize(&line).unwrap_or_default(),
            None => TaskLine::default(),
        },
        None => TaskLine::default(),
    };
    let codes = |list: &[String]| list.iter().map(|c| cis(c)).collect::<Result<Vec<_>, _>>();
    let (accepted, rejected) = match (codes(&p.accepted), codes(&p.rejected)) {
        (Ok(a), Ok(r)) => (a, r),
        (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
    };
    let accepted_set: HashSet<&str> = accepted.iter().map(String::as_str).collect();
    let rejected_set: HashSet<&str> = rejected.iter().map(String::as_str).collect();
    let mut in_a_box = HashSet::new();
    let mut products = Vec::new();
    for label in &p.boxes {
        let label = match sscc(label) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let from_task = task
            .boxes
            .iter()
            .find(|b| sscc(&b.sscc).as_deref() == Ok(label.as_str()));
        let candidates: Vec<String> = match from_task {
            Some(b) => b.units.iter().filter_map(|u| cis(u).ok()).collect(),
            None => store.box_children(&label)?,
        };
        let mut children = Vec::new();
        for child in candidates {
            let accepted = accepted_set.contains(child.as_str());
            if !accepted && !rejected_set.contains(child.as_str()) {
                continue;
            }
            children.push(json!({"uit_code": child, "accepted": accepted}));
            in_a_box.insert(child);
        }
        products.push(json!({"uitu_code": label, "accepted": true, "children": children}));
    }
    for (list, accepted) in [(&accepted, true), (&rejected, false)] {
        for code in list.iter().filter(|c| !in_a_box.contains(*c)) {
            products.push(json!({"uit_code": code, "accepted": accepted}));
        }
    }
    let mut document = Map::new();
    if let Some(sender) = task.sender_inn.filter(|s| !s.is_empty()) {
        document.insert("trade_sender_inn".into(), sender.into());
    }
    document.insert("trade_recipient_inn".into(), inn.into());
    let number = match task.number {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let Some(number) = number {
        document.insert("release_order_number".into(), number.into());
    }
    document.insert("acceptance_date".into(), p.acceptance_date.clone().into());
    document.insert("accept_all".into(), false.into());
    document.insert("products".into(), products.into());
    Ok(Ok(("LP_ACCEPT_GOODS", Value::Object(document))))
}

#[derive(Deserialize)]
struct AggregationPayload {
    aggregates: Vec<Aggregate>,
}

#[derive(Deserialize)]
struct Aggregate {
    sscc: String,
    children: Vec<AggregateChild>,
}

#[derive(Deserialize)]
struct AggregateChild {
    #[serde(default)]
    unit: Option<String>,
    #[serde(rename = "box", default)]
    r#box: Option<String>,
}

fn aggregation(inn: &str, p: &AggregationPayload) -> Made {
    let mut units = Vec::new();
    for aggregate in &p.aggregates {
        let sntins = aggregate
            .children
            .iter()
            .map(|child| match (&child.unit, &child.r#box) {
                (Some(unit), _) => cis(unit),
                (None, Some(label)) => sscc(label),
                (None, None) => Err("an aggregate's child is neither a unit nor a box".into()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        units.push(json!({
            "unitSerialNumber": sscc(&aggregate.sscc)?,
            "aggregationType": "AGGREGATION",
            "sntins": sntins,
        }));
    }
    Ok((
        "AGGREGATION_DOCUMENT",
        json!({"participantId": inn, "aggregationUnits": units}),
    ))
}

#[derive(Deserialize)]
struct DisaggregationPayload {
    labels: Vec<String>,
}

fn disaggregation(inn: &str, p: &DisaggregationPayload) -> Made {
    let products = p
        .labels
        .iter()
        .map(|label| sscc(label).map(|uitu| json!({"uitu": uitu})))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        "DISAGGREGATION_DOCUMENT",
        json!({"participant_inn": inn, "products_list": products}),
    ))
}

#[derive(Deserialize)]
struct WriteOffPayload {
    gis_mt_document: String,
    gis_mt_reason: String,
    document_number: String,
    document_date: String,
    codes: Vec<String>,
}

const RECEIPT_ACTIONS: [&str; 7] = [
    "DAMAGE_LOSS",
    "DESTRUCTION",
    "CONFISCATION",
    "LIQUIDATION",
    "ENTERPRISE_USE",
    "DONATION",
    "OTHER",
];
const CANCELLATION_REASONS: [&str; 3] = ["KM_SPOILED", "KM_LOST", "KM_DESTROYED"];

fn write_off(inn: &str, p: &WriteOffPayload) -> Made {
    let products = p
        .codes
        .iter()
        .map(|code| cis(code).map(|cis| json!({"cis": cis})))
        .collect::<Result<Vec<_>, _>>()?;
    let reason = p.gis_mt_reason.as_str();
    match p.gis_mt_document.as_str() {
        // The terminal maps its reasons to these (`WriteOffReason::gis_mt`); a reason that does
        // not belong to the document would be refused by GIS MT after signing, so it stops here.
        "LK_RECEIPT" if RECEIPT_ACTIONS.contains(&reason) => Ok((
            "LK_RECEIPT",
            json!({
                "inn": inn,
                "action": reason,
                "document_number": p.document_number,
                "document_date": p.document_date,
                "products": products,
            }),
        )),
        "LK_KM_CANCELLATION" if CANCELLATION_REASONS.contains(&reason) => Ok((
            "LK_KM_CANCELLATION",
            json!({
                "participant_inn": inn,
                "reason": reason,
                "document_number": p.document_number,
                "document_date": p.document_date,
                "products": products,
            }),
        )),
        document => Err(format!(
            "a write-off as {document:?} with reason {reason:?} is not a document the hub makes"
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot build its input has failed

    use super::*;

    const INN: &str = "7707083893";
    const KI: &str = "010460084074937221AAAAAAAAAAAA1";

    fn write_off_of(document: &str, reason: &str) -> WriteOffPayload {
        WriteOffPayload {
            gis_mt_document: document.into(),
            gis_mt_reason: reason.into(),
            document_number: "1".into(),
            document_date: "2026-11-22".into(),
            codes: vec![KI.into()],
        }
    }

    #[test]
    fn a_write_off_reason_must_belong_to_its_document() {
        assert!(write_off(INN, &write_off_of("LK_RECEIPT", "DESTRUCTION")).is_ok());
        assert!(write_off(INN, &write_off_of("LK_KM_CANCELLATION", "KM_LOST")).is_ok());
        assert!(write_off(INN, &write_off_of("LK_RECEIPT", "KM_LOST")).is_err());
        assert!(write_off(INN, &write_off_of("LK_KM_CANCELLATION", "DAMAGE_LOSS")).is_err());
        assert!(write_off(INN, &write_off_of("WRITE_OFF", "OTHER")).is_err());
    }

    #[test]
    fn a_pallet_lists_its_boxes_by_sscc_and_bad_codes_make_no_document() {
        let box_label = Sscc::compose(0, "4600840", 5).unwrap().to_string();
        let pallet_label = Sscc::compose(0, "4600840", 6).unwrap().to_string();
        let payload: AggregationPayload = serde_json::from_value(json!({"aggregates": [
            {"sscc": format!("00{pallet_label}"), "children": [{"box": box_label}]},
        ]}))
        .unwrap();
        let (doc_type, document) = aggregation(INN, &payload).unwrap();
        assert_eq!(doc_type, "AGGREGATION_DOCUMENT");
        assert_eq!(
            document["aggregationUnits"][0],
            json!({"unitSerialNumber": pallet_label, "aggregationType": "AGGREGATION",
                   "sntins": [box_label]}),
            "the AI in front of an SSCC is dropped"
        );
        let bad: AggregationPayload = serde_json::from_value(json!({"aggregates": [
            {"sscc": pallet_label, "children": [{"unit": "0104600840749372"}]},
        ]}))
        .unwrap();
        assert!(aggregation(INN, &bad).is_err());
        let bad: DisaggregationPayload =
            serde_json::from_value(json!({"labels": ["123"]})).unwrap();
        assert!(disaggregation(INN, &bad).is_err());
    }
}
