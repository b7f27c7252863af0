//! Accepted operations turned into the GIS MT documents the True API defines, ready to sign.
//!
//! The hub makes an operation's documents in the transaction that accepts it, from the list as
//! it stood before the operation changed it: a write-off is routed by the status its codes had
//! (a code in circulation is withdrawn, a code never applied is cancelled), and that status is
//! gone once the write-off is applied. The documents are stored with the operation and
//! exported later (`tally-hub export`, `GET /v1/documents`) as `{type, pg, operation, seq,
//! document}`.
//!
//! Rules and their sources are in `wire/schemas/README.md` (the JSON Schema per document type,
//! checked by `hub/tests/documents.rs` on every exported document):
//!
//! - acceptance → `LP_ACCEPT_GOODS` per product group: `request_type: ACCEPTANCE`,
//!   `acceptance_date` (`yyyy-MM-ddTHH:mm:ss.SSSZ`, the operation's `finished_at`),
//!   `trade_sender_inn` and `trade_recipient_inn`, `turnover_type` and `release_order_number`
//!   from the task, and every shipped code: a box as `uitu_code` with its children, a loose
//!   unit as `uit_code`, each `accepted: true|false` (missing and refused ones `false`). A
//!   surplus unit was never shipped to us: it goes to the discrepancy list, not the document.
//!   An acceptance without a task, or whose task has no `releaseOrderNumber`, makes no
//!   document; the terminal is told so in the answer's notices.
//! - aggregation → `AGGREGATION_DOCUMENT`; disaggregation → `DISAGGREGATION_DOCUMENT`;
//!   re-aggregation → `REAGGREGATION_DOCUMENT` (`ADDING` / `REMOVING`); a move → a
//!   `REMOVING` of each box the units came out of, then the `ADDING` of the box they went in.
//! - write-off → [`WRITE_OFF_ROUTES`]: `LK_RECEIPT`, `LK_KM_CANCELLATION`,
//!   `LK_APPLIED_KM_CANCELLATION` or `LK_REMARK`, by the code's status and the reason.
//! - shipment → `DISAGGREGATION_DOCUMENT` for the boxes the operator opened, then
//!   `LP_SHIP_GOODS` per product group: `document_num`, `document_date` and `transfer_date`
//!   (`yyyy-MM-dd`: the UPD's date, the day the operation finished), `sender_inn` (us),
//!   `receiver_inn`, `turnover_type`, and every shipped code: a loose unit as `uit_code`, a
//!   box shipped whole as `uitu_code`, each with its `product_description` from the catalog.
//! - customer return → `LP_RETURN` per product group for the codes read off the goods
//!   (`trade_participant_inn`, `return_type` `RETAIL_RETURN` / `REMOTE_SALE_RETURN`, the
//!   return's primary document, `products[{ki}]`), and `LK_REMARK` per product group for the
//!   new codes on items whose labels could not be read (the return as `remarking_cause`, no
//!   `last_uin`, each with its `tnved_10` from the catalog and the primary document).
//!
//! One document carries one product group: an operation over several groups makes one
//! document per group; a single box of mixed groups is refused. Codes are written as GIS MT
//! wants them: a unit `01`GTIN`21`serial, a tobacco pack its 21 characters (GTIN + serial), a
//! box or pallet its 18-digit SSCC.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tally_domain::code::Ki;
use tally_domain::gs1::{Gs1Date, Gtin, Sscc};
use tally_domain::operation::{ReturnCause, ReturnReceipt, WriteOffReason, inventory};
use tally_domain::product_group::ProductGroup;
use tally_domain::status::{CisStatus, CodeStatus, Inn, PackageType, Timestamp};
use tally_wire::document::{
    AcceptanceDocument, AggregationDocument, DisaggregationDocument, InventoryDocument,
    OperationDocument, PackedChild, ReaggregationDocument, ReaggregationType, ReturnDocument,
    ShipmentDocument, WriteOffDocument,
};
use tally_wire::feed::Task;
use tally_wire::{DocumentKind, OperationReason};

use crate::store::{Store, StoreError};

/// The GIS MT document types the hub makes.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocType {
    LpAcceptGoods,
    AggregationDocument,
    DisaggregationDocument,
    ReaggregationDocument,
    LkReceipt,
    LkKmCancellation,
    LkAppliedKmCancellation,
    LkRemark,
    LpShipGoods,
    LpReturn,
}

impl DocType {
    pub const ALL: [DocType; 10] = [
        DocType::LpAcceptGoods,
        DocType::AggregationDocument,
        DocType::DisaggregationDocument,
        DocType::ReaggregationDocument,
        DocType::LkReceipt,
        DocType::LkKmCancellation,
        DocType::LkAppliedKmCancellation,
        DocType::LkRemark,
        DocType::LpShipGoods,
        DocType::LpReturn,
    ];

    /// The `type` of `lk/documents/create`.
    pub fn api_name(self) -> &'static str {
        match self {
            DocType::LpAcceptGoods => "LP_ACCEPT_GOODS",
            DocType::AggregationDocument => "AGGREGATION_DOCUMENT",
            DocType::DisaggregationDocument => "DISAGGREGATION_DOCUMENT",
            DocType::ReaggregationDocument => "REAGGREGATION_DOCUMENT",
            DocType::LkReceipt => "LK_RECEIPT",
            DocType::LkKmCancellation => "LK_KM_CANCELLATION",
            DocType::LkAppliedKmCancellation => "LK_APPLIED_KM_CANCELLATION",
            DocType::LkRemark => "LK_REMARK",
            DocType::LpShipGoods => "LP_SHIP_GOODS",
            DocType::LpReturn => "LP_RETURN",
        }
    }

    pub fn from_api_name(name: &str) -> Option<DocType> {
        DocType::ALL.into_iter().find(|t| t.api_name() == name)
    }

    /// The document types an operation of `kind` can make (a write-off is routed by status).
    pub fn made_from(kind: DocumentKind) -> &'static [DocType] {
        match kind {
            DocumentKind::Acceptance => &[DocType::LpAcceptGoods],
            DocumentKind::Aggregation => &[DocType::AggregationDocument],
            DocumentKind::Disaggregation => &[DocType::DisaggregationDocument],
            DocumentKind::Reaggregation => &[DocType::ReaggregationDocument],
            DocumentKind::WriteOff => &[
                DocType::LkReceipt,
                DocType::LkKmCancellation,
                DocType::LkAppliedKmCancellation,
                DocType::LkRemark,
            ],
            DocumentKind::Shipment => &[DocType::DisaggregationDocument, DocType::LpShipGoods],
            DocumentKind::Return => &[DocType::LpReturn, DocType::LkRemark],
            // A settled count writes off what is missing: goods in circulation.
            DocumentKind::Inventory => &[DocType::LkReceipt],
        }
    }
}

/// One GIS MT document: its type, its product group and its body (`product_document`).
#[derive(Clone, PartialEq, Debug)]
pub struct GisDocument {
    pub doc_type: DocType,
    pub pg: ProductGroup,
    pub body: Value,
}

/// What an acceptance found that the shipment's document does not carry: for the supplier
/// and the books.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Discrepancy {
    pub task_id: Option<String>,
    pub supplier_inn: Option<String>,
    /// Accepted but never shipped to us.
    pub surplus: Vec<String>,
    /// Shipped to us but not found; for an inventory, expected and not found.
    pub missing: Vec<String>,
    /// What an inventory found: its report, beside the missing codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<InventoryReport>,
}

/// An inventory's report as the hub keeps it: what was counted, judged again against the
/// hub's list (a code the terminal counted as ours may have been sold since it last synced).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
pub struct InventoryReport {
    pub zone: Option<String>,
    pub document_number: String,
    /// Ours and in stock at the hub.
    pub found: Vec<String>,
    /// Another participant's, or a code whose owner GIS MT does not tell us.
    pub foreign: Vec<String>,
    /// Ours in a status no goods on a shelf have, with that status.
    pub wrong_status: Vec<(String, String)>,
    /// Codes the hub holds no status for.
    pub unknown: Vec<String>,
    /// Missing codes written off by the count's settling write-off.
    pub written_off: Vec<String>,
}

/// What an accepted operation makes.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Made {
    pub documents: Vec<GisDocument>,
    /// Told to the terminal with its `accepted` answer (no document could be made, say).
    pub notices: Vec<OperationReason>,
    pub discrepancy: Option<Discrepancy>,
}

/// What making documents needs to know from the hub's list, before the operation changes it.
pub trait Facts {
    fn status(&self, ki: &Ki) -> Result<Option<CodeStatus>, StoreError>;
    fn task(&self, id: &str) -> Result<Option<Task>, StoreError>;
    /// The units whose parent on the list is this box.
    fn children(&self, sscc: &Sscc) -> Result<Vec<Ki>, StoreError>;
    fn catalog_group(&self, ki: &Ki) -> Result<Option<ProductGroup>, StoreError>;
    /// The product's name in the catalog, for the documents that describe what they carry.
    fn product_name(&self, gtin: &Gtin) -> Result<Option<String>, StoreError>;
    /// The product's TN VED code in the catalog (10 digits).
    fn tnved(&self, gtin: &Gtin) -> Result<Option<String>, StoreError>;
}

/// A refusal or notice with its stable code and both messages.
pub(crate) fn reason(
    code: &str,
    en: String,
    ru: String,
    subject: Option<String>,
) -> OperationReason {
    OperationReason {
        code: code.into(),
        en,
        ru,
        subject,
    }
}

type Making = Result<Result<Made, Vec<OperationReason>>, StoreError>;

/// The documents of one operation the hub is about to accept, or why it cannot make them (the
/// operation is then refused: GIS MT would refuse its document after signing).
pub fn make(
    document: &OperationDocument,
    participant: &Inn,
    finished_at: Timestamp,
    facts: &impl Facts,
) -> Making {
    match document {
        OperationDocument::Acceptance(d) => acceptance(d, participant, finished_at, facts),
        OperationDocument::Aggregation(d) => aggregation(d, participant, facts),
        OperationDocument::Disaggregation(d) => disaggregation(d, participant, facts),
        OperationDocument::Reaggregation(d) => reaggregation(d, participant, facts),
        OperationDocument::WriteOff(d) => write_off(d, participant, finished_at, facts),
        OperationDocument::Shipment(d) => shipment(d, participant, finished_at, facts),
        OperationDocument::Return(d) => customer_return(d, participant, finished_at, facts),
        OperationDocument::Inventory(d) => inventory(d, participant, finished_at, facts),
    }
}

/// A КИ as documents carry it: a tobacco pack by its 21 characters, every other unit in the
/// GS1 text form.
pub fn document_cis(ki: &Ki, status: Option<&CodeStatus>) -> String {
    let pack = status.is_some_and(|s| {
        s.product_group == Some(ProductGroup::Tobacco) && s.package_type == PackageType::Unit
    });
    if pack {
        format!("{}{}", ki.gtin(), ki.serial())
    } else {
        ki.to_string()
    }
}

/// `yyyy-MM-ddTHH:mm:ss.SSSZ`, in UTC.
pub fn api_instant(at: Timestamp) -> String {
    let date = at.date();
    let ms = at.millis().rem_euclid(86_400_000);
    format!(
        "{date}T{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// `dd.MM.yyyy`, the date form of CRPT's XML-derived documents (the cancellations).
pub fn russian_date(date: Gs1Date) -> String {
    format!("{:02}.{:02}.{:04}", date.day, date.month, date.year)
}

/// A code's product group: its status says it, else the catalog knows its GTIN.
fn group_of(
    ki: &Ki,
    status: Option<&CodeStatus>,
    facts: &impl Facts,
) -> Result<Option<ProductGroup>, StoreError> {
    match status.and_then(|s| s.product_group) {
        Some(pg) => Ok(Some(pg)),
        None => facts.catalog_group(ki),
    }
}

fn unknown_group(ki: &Ki) -> OperationReason {
    reason(
        "unknown_product_group",
        "The hub knows no product group for this code, so no GIS MT document can carry it.".into(),
        "Хаб не знает товарную группу кода, и ни один документ ГИС МТ не может его содержать."
            .into(),
        Some(ki.to_string()),
    )
}

fn mixed_groups(sscc: &Sscc) -> OperationReason {
    reason(
        "mixed_product_groups",
        "The box holds goods of several product groups; GIS MT takes one group per document."
            .into(),
        "В коробе товары разных товарных групп; документ ГИС МТ содержит одну группу.".into(),
        Some(sscc.to_string()),
    )
}

/// A unit with what documents need of it.
struct Unit {
    cis: String,
    pg: ProductGroup,
}

fn unit(
    ki: &Ki,
    facts: &impl Facts,
    fallback: Option<ProductGroup>,
) -> Result<Result<Unit, OperationReason>, StoreError> {
    let status = facts.status(ki)?;
    let pg = group_of(ki, status.as_ref(), facts)?.or(fallback);
    Ok(match pg {
        Some(pg) => Ok(Unit {
            cis: document_cis(ki, status.as_ref()),
            pg,
        }),
        None => Err(unknown_group(ki)),
    })
}

/// The one product group of a box's units, or the reason there is none.
fn box_group(sscc: &Sscc, units: &[Unit]) -> Result<ProductGroup, OperationReason> {
    let groups: BTreeSet<u8> = units.iter().map(|u| u.pg.id()).collect();
    match groups.len() {
        1 => Ok(units[0].pg),
        0 => Err(reason(
            "empty_box",
            "The hub knows no contents of this box, so it cannot tell its product group.".into(),
            "Хаб не знает содержимого короба и не может определить его товарную группу.".into(),
            Some(sscc.to_string()),
        )),
        _ => Err(mixed_groups(sscc)),
    }
}

fn acceptance(
    d: &AcceptanceDocument,
    participant: &Inn,
    finished_at: Timestamp,
    facts: &impl Facts,
) -> Making {
    let task = match &d.task_id {
        Some(id) => facts.task(id)?,
        None => None,
    };
    let text = |list: &[Ki]| list.iter().map(Ki::to_string).collect::<Vec<_>>();
    let discrepancy = (!d.surplus.is_empty() || !d.missing.is_empty()).then(|| Discrepancy {
        task_id: d.task_id.clone(),
        supplier_inn: task.as_ref().map(|t| t.sender_inn.as_str().to_owned()),
        surplus: text(&d.surplus),
        missing: text(&d.missing),
        inventory: None,
    });
    let mut made = Made {
        discrepancy,
        ..Made::default()
    };
    let Some(task) = task else {
        made.notices.push(reason(
            "no_shipment_document",
            "Accepted without a supplier's shipment: GIS MT takes an acceptance only against \
             the supplier's shipment document, so the hub made none."
                .into(),
            "Принято без отгрузки поставщика: ГИС МТ принимает приёмку только по документу \
             отгрузки поставщика, поэтому хаб документ не сформировал."
                .into(),
            d.task_id.clone(),
        ));
        return Ok(Ok(made));
    };
    let Some(release_order_number) = task.release_order_number.clone() else {
        made.notices.push(reason(
            "no_shipment_document",
            "The task names no GIS MT shipment document (releaseOrderNumber), so the hub made \
             no acceptance document."
                .into(),
            "В задании не указан документ отгрузки ГИС МТ (releaseOrderNumber), поэтому хаб \
             не сформировал документ приёмки."
                .into(),
            d.task_id.clone(),
        ));
        return Ok(Ok(made));
    };
    let accepted: BTreeSet<Ki> = d.accepted.iter().copied().collect();
    let rejected: BTreeSet<Ki> = d.rejected.iter().copied().collect();
    let boxes_accepted: BTreeSet<Sscc> = d.boxes.iter().copied().collect();
    let is_accepted = |ki: &Ki| accepted.contains(ki) && !rejected.contains(ki);
    let mut products: BTreeMap<u8, (ProductGroup, Vec<Value>)> = BTreeMap::new();
    let mut reasons = Vec::new();
    for ki in &task.units {
        match unit(ki, facts, task.product_group)? {
            Ok(u) => products
                .entry(u.pg.id())
                .or_insert_with(|| (u.pg, Vec::new()))
                .1
                .push(json!({"uit_code": u.cis, "accepted": is_accepted(ki)})),
            Err(r) => reasons.push(r),
        }
    }
    for (sscc, children) in &task.boxes {
        let mut units = Vec::new();
        let mut lines = Vec::new();
        for ki in children {
            match unit(ki, facts, task.product_group)? {
                Ok(u) => {
                    lines.push(json!({"uit_code": u.cis, "accepted": is_accepted(ki)}));
                    units.push(u);
                }
                Err(r) => reasons.push(r),
            }
        }
        let pg = match box_group(sscc, &units) {
            Ok(pg) => pg,
            Err(r) => match task.product_group {
                Some(pg) if units.is_empty() => pg,
                _ => {
                    reasons.push(r);
                    continue;
                }
            },
        };
        products
            .entry(pg.id())
            .or_insert_with(|| (pg, Vec::new()))
            .1
            .push(json!({
                "uitu_code": sscc.to_string(),
                "accepted": boxes_accepted.contains(sscc),
                "children": lines,
            }));
    }
    if !reasons.is_empty() {
        return Ok(Err(reasons));
    }
    for (_, (pg, products)) in products {
        made.documents.push(GisDocument {
            doc_type: DocType::LpAcceptGoods,
            pg,
            body: json!({
                "request_type": "ACCEPTANCE",
                "acceptance_date": api_instant(finished_at),
                "trade_sender_inn": task.sender_inn.as_str(),
                "trade_recipient_inn": participant.as_str(),
                "turnover_type": task.turnover_type.api_name(),
                "release_order_number": release_order_number,
                "document_number": task.number,
                "document_date": format!("{}T00:00:00.000Z", task.date),
                "products": products,
            }),
        });
    }
    Ok(Ok(made))
}

/// The product group of an aggregate: its units', or its boxes' (from this document or the
/// list).
fn aggregate_group(
    sscc: &Sscc,
    children: &[PackedChild],
    known_boxes: &BTreeMap<Sscc, ProductGroup>,
    facts: &impl Facts,
) -> Result<Result<(ProductGroup, Vec<String>), OperationReason>, StoreError> {
    let mut groups = BTreeMap::new();
    let mut sntins = Vec::with_capacity(children.len());
    for child in children {
        match child {
            PackedChild::Unit(ki) => match unit(ki, facts, None)? {
                Ok(u) => {
                    groups.insert(u.pg.id(), u.pg);
                    sntins.push(u.cis);
                }
                Err(r) => return Ok(Err(r)),
            },
            PackedChild::Box(label) => {
                let pg = match known_boxes.get(label) {
                    Some(pg) => Some(*pg),
                    None => {
                        let mut found = None;
                        for ki in facts.children(label)? {
                            if let Ok(u) = unit(&ki, facts, None)? {
                                found = Some(u.pg);
                                break;
                            }
                        }
                        found
                    }
                };
                match pg {
                    Some(pg) => {
                        groups.insert(pg.id(), pg);
                    }
                    None => {
                        return Ok(Err(reason(
                            "unknown_product_group",
                            "The hub knows no contents of this box, so it cannot tell its \
                             product group."
                                .into(),
                            "Хаб не знает содержимого короба и не может определить его \
                             товарную группу."
                                .into(),
                            Some(label.to_string()),
                        )));
                    }
                }
                sntins.push(label.to_string());
            }
        }
    }
    let mut groups = groups.into_values();
    Ok(match (groups.next(), groups.next()) {
        (Some(pg), None) => Ok((pg, sntins)),
        (None, _) => Err(reason(
            "empty_box",
            "The aggregate is empty.".into(),
            "Агрегат пуст.".into(),
            Some(sscc.to_string()),
        )),
        (Some(_), Some(_)) => Err(mixed_groups(sscc)),
    })
}

fn aggregation(d: &AggregationDocument, participant: &Inn, facts: &impl Facts) -> Making {
    let mut known_boxes = BTreeMap::new();
    let mut units: BTreeMap<u8, (ProductGroup, Vec<Value>)> = BTreeMap::new();
    let mut reasons = Vec::new();
    for aggregate in &d.aggregates {
        match aggregate_group(&aggregate.sscc, &aggregate.children, &known_boxes, facts)? {
            Ok((pg, sntins)) => {
                known_boxes.insert(aggregate.sscc, pg);
                units
                    .entry(pg.id())
                    .or_insert_with(|| (pg, Vec::new()))
                    .1
                    .push(json!({
                        "unitSerialNumber": aggregate.sscc.to_string(),
                        "aggregationType": "AGGREGATION",
                        "sntins": sntins,
                    }));
            }
            Err(r) => reasons.push(r),
        }
    }
    if !reasons.is_empty() {
        return Ok(Err(reasons));
    }
    let documents = units
        .into_values()
        .map(|(pg, units)| GisDocument {
            doc_type: DocType::AggregationDocument,
            pg,
            body: json!({"participantId": participant.as_str(), "aggregationUnits": units}),
        })
        .collect();
    Ok(Ok(Made {
        documents,
        ..Made::default()
    }))
}

/// The product group of a box on the hub's list, from its units.
fn listed_box_group(
    sscc: &Sscc,
    facts: &impl Facts,
) -> Result<Result<ProductGroup, OperationReason>, StoreError> {
    let mut units = Vec::new();
    for ki in facts.children(sscc)? {
        match unit(&ki, facts, None)? {
            Ok(u) => units.push(u),
            Err(r) => return Ok(Err(r)),
        }
    }
    if units.is_empty() {
        // A pallet's children are boxes, which the list keys by unit: one level down.
        return Ok(Err(reason(
            "unknown_product_group",
            "The hub knows no contents of this box, so it cannot tell its product group.".into(),
            "Хаб не знает содержимого короба и не может определить его товарную группу.".into(),
            Some(sscc.to_string()),
        )));
    }
    Ok(box_group(sscc, &units))
}

fn disaggregation(d: &DisaggregationDocument, participant: &Inn, facts: &impl Facts) -> Making {
    let mut lists: BTreeMap<u8, (ProductGroup, Vec<Value>)> = BTreeMap::new();
    let mut reasons = Vec::new();
    for sscc in &d.labels {
        match listed_box_group(sscc, facts)? {
            Ok(pg) => lists
                .entry(pg.id())
                .or_insert_with(|| (pg, Vec::new()))
                .1
                .push(json!({"uitu": sscc.to_string()})),
            Err(r) => reasons.push(r),
        }
    }
    if !reasons.is_empty() {
        return Ok(Err(reasons));
    }
    Ok(Ok(Made {
        documents: lists
            .into_values()
            .map(|(pg, list)| GisDocument {
                doc_type: DocType::DisaggregationDocument,
                pg,
                body: json!({"participant_inn": participant.as_str(), "products_list": list}),
            })
            .collect(),
        ..Made::default()
    }))
}

/// A shipment: the opened boxes are unpacked first (GIS MT ships a packed unit only with its
/// box), then one `LP_SHIP_GOODS` per product group.
fn shipment(
    d: &ShipmentDocument,
    participant: &Inn,
    finished_at: Timestamp,
    facts: &impl Facts,
) -> Making {
    let mut made = if d.opened.is_empty() {
        Made::default()
    } else {
        let opened = DisaggregationDocument {
            labels: d.opened.clone(),
        };
        match disaggregation(&opened, participant, facts)? {
            Ok(made) => made,
            Err(reasons) => return Ok(Err(reasons)),
        }
    };
    let description = |gtin: &Gtin| -> Result<String, StoreError> {
        Ok(facts
            .product_name(gtin)?
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("GTIN {gtin}")))
    };
    let mut products: BTreeMap<u8, (ProductGroup, Vec<Value>)> = BTreeMap::new();
    let mut reasons = Vec::new();
    for ki in &d.units {
        match unit(ki, facts, None)? {
            Ok(u) => products
                .entry(u.pg.id())
                .or_insert_with(|| (u.pg, Vec::new()))
                .1
                .push(json!({"uit_code": u.cis, "product_description": description(&ki.gtin())?})),
            Err(r) => reasons.push(r),
        }
    }
    for sscc in &d.labels {
        let children = facts.children(sscc)?;
        let pg = match listed_box_group(sscc, facts)? {
            Ok(pg) => pg,
            Err(r) => {
                reasons.push(r);
                continue;
            }
        };
        // What the box holds, in words: one product, or several.
        let gtins: BTreeSet<Gtin> = children.iter().map(Ki::gtin).collect();
        let what = match gtins.iter().next() {
            Some(gtin) if gtins.len() == 1 => description(gtin)?,
            _ => "разные товары".to_owned(),
        };
        products
            .entry(pg.id())
            .or_insert_with(|| (pg, Vec::new()))
            .1
            .push(json!({
                "uitu_code": sscc.to_string(),
                "product_description": format!("Короб: {what}, {} шт.", children.len()),
            }));
    }
    if !reasons.is_empty() {
        return Ok(Err(reasons));
    }
    for (_, (pg, products)) in products {
        made.documents.push(GisDocument {
            doc_type: DocType::LpShipGoods,
            pg,
            body: json!({
                "document_num": d.document_number,
                "document_date": d.document_date.to_string(),
                "transfer_date": finished_at.moscow_date().to_string(),
                "sender_inn": participant.as_str(),
                "receiver_inn": d.receiver_inn.as_str(),
                "turnover_type": d.turnover_type.api_name(),
                "products": products,
            }),
        });
    }
    Ok(Ok(made))
}

/// The return's primary document as GIS MT's return documents carry it, or nothing for a
/// remote sale refused unpaid (GIS MT takes no primary document then). The date is the
/// document's calendar day at 00:00 UTC, in the documents' date-time form, so it reads as the
/// day written on the receipt.
fn return_receipt(d: &ReturnDocument) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    if d.cause == ReturnCause::RemoteSale {
        fields.insert("paid".into(), d.paid.into());
    }
    if d.paid {
        fields.insert("primary_document_type".into(), d.receipt.gis_mt().into());
        fields.insert(
            "primary_document_number".into(),
            d.document_number.clone().into(),
        );
        fields.insert(
            "primary_document_date".into(),
            format!("{}T00:00:00.000Z", d.document_date).into(),
        );
        if d.receipt == ReturnReceipt::Other {
            let name = d.receipt_name.clone().unwrap_or_default();
            fields.insert("primary_document_custom_name".into(), name.into());
        }
    }
    fields
}

/// A customer return: `LP_RETURN` per product group for the codes read off the goods, then
/// `LK_REMARK` per product group for the new codes on items whose labels could not be read.
fn customer_return(
    d: &ReturnDocument,
    participant: &Inn,
    finished_at: Timestamp,
    facts: &impl Facts,
) -> Making {
    let mut reasons = Vec::new();
    if d.paid && d.receipt == ReturnReceipt::Other && d.receipt_name.is_none() {
        reasons.push(reason(
            "receipt_name_missing",
            "A return under another document must name that document.".into(),
            "Возврат по иному документу должен указывать наименование документа.".into(),
            None,
        ));
    }
    if d.cause == ReturnCause::Retail && !d.paid {
        reasons.push(reason(
            "retail_unpaid",
            "A retail sale was paid at the till: only a remote sale comes back unpaid.".into(),
            "Розничная продажа оплачена на кассе: неоплаченным возвращается только дистанционная \
             продажа."
                .into(),
            None,
        ));
    }
    let receipt = return_receipt(d);
    let mut returned: BTreeMap<u8, (ProductGroup, Vec<Value>)> = BTreeMap::new();
    for ki in &d.units {
        match unit(ki, facts, None)? {
            Ok(u) => returned
                .entry(u.pg.id())
                .or_insert_with(|| (u.pg, Vec::new()))
                .1
                .push(json!({"ki": u.cis})),
            Err(r) => reasons.push(r),
        }
    }
    let at = api_instant(finished_at);
    let mut relabelled: BTreeMap<u8, (ProductGroup, Vec<Value>)> = BTreeMap::new();
    for ki in &d.relabelled {
        let u = match unit(ki, facts, None)? {
            Ok(u) => u,
            Err(r) => {
                reasons.push(r);
                continue;
            }
        };
        let Some(tnved) = facts.tnved(&ki.gtin())? else {
            reasons.push(reason(
                "no_tnved",
                format!(
                    "The catalog has no TN VED code for GTIN {}: GIS MT re-marks a returned item \
                     only with it. Add \"tnved\" to the catalog and push again.",
                    ki.gtin()
                ),
                format!(
                    "В каталоге нет кода ТН ВЭД для GTIN {}: без него ГИС МТ не перемаркирует \
                     возвращённый товар. Добавьте \"tnved\" в каталог и отправьте снова.",
                    ki.gtin()
                ),
                Some(ki.to_string()),
            ));
            continue;
        };
        let mut line = serde_json::Map::new();
        line.insert("new_uin".into(), u.cis.into());
        line.insert("remarking_date".into(), at.clone().into());
        line.insert("remarking_cause".into(), d.cause.gis_mt().into());
        line.insert("tnved_10".into(), tnved.into());
        line.extend(receipt.clone());
        relabelled
            .entry(u.pg.id())
            .or_insert_with(|| (u.pg, Vec::new()))
            .1
            .push(Value::Object(line));
    }
    if !reasons.is_empty() {
        return Ok(Err(reasons));
    }
    let inn = participant.as_str();
    let mut made = Made::default();
    for (_, (pg, products)) in returned {
        let mut body = serde_json::Map::new();
        body.insert("trade_participant_inn".into(), inn.into());
        body.insert("return_type".into(), d.cause.gis_mt().into());
        body.extend(receipt.clone());
        body.insert("products".into(), products.into());
        made.documents.push(GisDocument {
            doc_type: DocType::LpReturn,
            pg,
            body: Value::Object(body),
        });
    }
    for (_, (pg, products)) in relabelled {
        made.documents.push(GisDocument {
            doc_type: DocType::LkRemark,
            pg,
            body: json!({
                "participant_inn": inn,
                "remarking_date": at,
                "remarking_cause": d.cause.gis_mt(),
                "products": products,
            }),
        });
    }
    Ok(Ok(made))
}

/// The missing codes of a count that its settling write-off takes: those still ours and in
/// stock on the hub's list. A code sold or shipped since the terminal last synced left the
/// shelf another way and is only reported.
pub fn settled_missing(
    d: &InventoryDocument,
    participant: &Inn,
    facts: &impl Facts,
) -> Result<Vec<Ki>, StoreError> {
    let mut settled = Vec::new();
    if d.settle.is_none() {
        return Ok(settled);
    }
    for ki in &d.missing {
        if let Some(status) = facts.status(ki)?
            && status.owner == Some(*participant)
            && inventory::in_stock(&status)
        {
            settled.push(*ki);
        }
    }
    Ok(settled)
}

/// A count: its report against the hub's list, and, when it is settled, the write-off of
/// what is missing (`LK_RECEIPT` by the reason, as a write-off's).
fn inventory(
    d: &InventoryDocument,
    participant: &Inn,
    finished_at: Timestamp,
    facts: &impl Facts,
) -> Making {
    let mut report = InventoryReport {
        zone: d.zone.clone(),
        document_number: d.document_number.clone(),
        ..InventoryReport::default()
    };
    let counted = d
        .found
        .iter()
        .chain(&d.foreign)
        .chain(&d.wrong_status)
        .chain(&d.unknown);
    for ki in counted {
        let status = facts.status(ki)?;
        let code = ki.to_string();
        match inventory::Counted::of(status.as_ref(), Some(*participant)) {
            inventory::Counted::Ours => report.found.push(code),
            inventory::Counted::Foreign => report.foreign.push(code),
            inventory::Counted::WrongStatus(s) => {
                report.wrong_status.push((code, s.api_name().to_owned()));
            }
            inventory::Counted::Unknown => report.unknown.push(code),
        }
    }
    let settled = settled_missing(d, participant, facts)?;
    report.written_off = settled.iter().map(ToString::to_string).collect();
    let mut made = match d.settle {
        Some(reason) if !settled.is_empty() => {
            let write_off_document = WriteOffDocument {
                reason,
                document_number: d.document_number.clone(),
                document_date: d.document_date,
                supervisor: d.supervisor.clone(),
                codes: settled,
                gis_mt_document: None,
                gis_mt_reason: None,
                replacements: Vec::new(),
            };
            match write_off(&write_off_document, participant, finished_at, facts)? {
                Ok(made) => made,
                Err(reasons) => return Ok(Err(reasons)),
            }
        }
        _ => Made::default(),
    };
    made.discrepancy = Some(Discrepancy {
        task_id: None,
        supplier_inn: None,
        surplus: Vec::new(),
        missing: d.missing.iter().map(ToString::to_string).collect(),
        inventory: Some(report),
    });
    Ok(Ok(made))
}

fn reaggregation(d: &ReaggregationDocument, participant: &Inn, facts: &impl Facts) -> Making {
    let mut units = Vec::new();
    let mut reasons = Vec::new();
    for ki in &d.units {
        match unit(ki, facts, None)? {
            Ok(u) => units.push(u),
            Err(r) => reasons.push(r),
        }
    }
    if !reasons.is_empty() {
        return Ok(Err(reasons));
    }
    let pg = match box_group(&d.sscc, &units) {
        Ok(pg) => pg,
        Err(r) => return Ok(Err(vec![r])),
    };
    let document = |kind: &str, sscc: &Sscc, units: &[&Unit]| GisDocument {
        doc_type: DocType::ReaggregationDocument,
        pg,
        body: json!({
            "participant_inn": participant.as_str(),
            "reaggregation_type": kind,
            "uitu": sscc.to_string(),
            "uit_uitu_list": units.iter().map(|u| json!({"uit_uitu": u.cis})).collect::<Vec<_>>(),
        }),
    };
    let all: Vec<&Unit> = units.iter().collect();
    let documents = match d.reaggregation_type {
        ReaggregationType::Adding => vec![document("ADDING", &d.sscc, &all)],
        ReaggregationType::Removing => vec![document("REMOVING", &d.sscc, &all)],
        // GIS MT adds to a box only a unit in none: each box the units came out of gives
        // them up first, and the link sends a document sharing codes with an unfinished one
        // only after it.
        ReaggregationType::Moving => {
            let mut documents: Vec<GisDocument> = d
                .taken_from
                .iter()
                .map(|taken| {
                    let out: Vec<&Unit> = d
                        .units
                        .iter()
                        .zip(&units)
                        .filter(|(ki, _)| taken.units.contains(ki))
                        .map(|(_, u)| u)
                        .collect();
                    document("REMOVING", &taken.sscc, &out)
                })
                .filter(|doc| {
                    doc.body["uit_uitu_list"]
                        .as_array()
                        .is_some_and(|l| !l.is_empty())
                })
                .collect();
            documents.push(document("ADDING", &d.sscc, &all));
            documents
        }
    };
    Ok(Ok(Made {
        documents,
        ..Made::default()
    }))
}

/// The status classes a write-off is routed by.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Circulation {
    /// `EMITTED`: the code was printed but never applied to goods.
    NeverApplied,
    /// `APPLIED` or `APPLIED_NOT_PAID`: on goods that never entered circulation.
    AppliedNotIntroduced,
    /// `INTRODUCED` or `INTRODUCED_RETURNED`: goods in circulation.
    InCirculation,
}

impl Circulation {
    pub fn of(status: CisStatus) -> Option<Circulation> {
        match status {
            CisStatus::Emitted => Some(Circulation::NeverApplied),
            CisStatus::Applied | CisStatus::AppliedNotPaid => {
                Some(Circulation::AppliedNotIntroduced)
            }
            CisStatus::Introduced | CisStatus::IntroducedReturned => {
                Some(Circulation::InCirculation)
            }
            _ => None,
        }
    }
}

/// Where a write-off of one code goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Route {
    /// `LK_RECEIPT`: withdrawal from circulation, with the API's `action` and primary
    /// document type (`OTHER` needs `primary_document_custom_name`).
    Receipt {
        action: &'static str,
        document_type: &'static str,
        custom_name: Option<&'static str>,
    },
    /// `LK_KM_CANCELLATION` (never applied) with its cancellation reason.
    Cancellation { reason: &'static str },
    /// `LK_APPLIED_KM_CANCELLATION` (applied, not in circulation).
    AppliedCancellation { reason: &'static str },
    /// `LK_REMARK` with `KM_SPOILED_OR_LOST`: the goods stay and get a new code.
    Remark,
}

/// How a write-off is routed, by the code's status class and the operator's reason: the one
/// table of these rules (sources: `wire/schemas/README.md`, marking-codes.md section 7). A
/// pair not in the table is refused with `no_gis_mt_route`: `OTHER` is not a withdrawal reason,
/// goods reasons do not apply to a code never applied, and a lost label on goods that stay
/// needs its new code.
pub const WRITE_OFF_ROUTES: &[(Circulation, WriteOffReason, Route)] = {
    use Circulation::{AppliedNotIntroduced as Applied, InCirculation as In, NeverApplied as New};
    use WriteOffReason as R;
    const fn receipt(action: &'static str, custom: &'static str) -> Route {
        Route::Receipt {
            action,
            document_type: "OTHER",
            custom_name: Some(custom),
        }
    }
    &[
        (
            In,
            R::DamageLoss,
            receipt("DAMAGE_LOSS", "Акт о порче (утрате) товара"),
        ),
        (
            In,
            R::Destruction,
            Route::Receipt {
                action: "DESTRUCTION",
                document_type: "DESTRUCTION_ACT",
                custom_name: None,
            },
        ),
        (
            In,
            R::Expiry,
            Route::Receipt {
                action: "DESTRUCTION",
                document_type: "DESTRUCTION_ACT",
                custom_name: None,
            },
        ),
        (
            In,
            R::Confiscation,
            receipt("CONFISCATION", "Решение о конфискации"),
        ),
        (In, R::Liquidation, receipt("LIQUIDATION", "Акт ликвидации")),
        (
            In,
            R::EnterpriseUse,
            receipt("ENTERPRISE_USE", "Акт списания на собственные нужды"),
        ),
        (
            In,
            R::Donation,
            receipt("DONATION", "Акт безвозмездной передачи"),
        ),
        (In, R::CodeSpoiled, Route::Remark),
        (In, R::CodeLost, Route::Remark),
        (In, R::CodeDestroyed, Route::Remark),
        (
            New,
            R::CodeSpoiled,
            Route::Cancellation {
                reason: "KM_SPOILED",
            },
        ),
        (New, R::CodeLost, Route::Cancellation { reason: "KM_LOST" }),
        (
            New,
            R::CodeDestroyed,
            Route::Cancellation {
                reason: "KM_DESTROYED",
            },
        ),
        (
            Applied,
            R::CodeSpoiled,
            Route::AppliedCancellation {
                reason: "KM_SPOILED",
            },
        ),
        (
            Applied,
            R::CodeLost,
            Route::AppliedCancellation { reason: "KM_LOST" },
        ),
        (
            Applied,
            R::CodeDestroyed,
            Route::AppliedCancellation {
                reason: "KM_DESTROYED",
            },
        ),
        (
            Applied,
            R::DamageLoss,
            Route::AppliedCancellation {
                reason: "KM_SPOILED",
            },
        ),
        (
            Applied,
            R::Destruction,
            Route::AppliedCancellation {
                reason: "KM_DESTROYED",
            },
        ),
        (
            Applied,
            R::Expiry,
            Route::AppliedCancellation {
                reason: "KM_DESTROYED",
            },
        ),
    ]
};

pub fn route(circulation: Circulation, why: WriteOffReason) -> Option<Route> {
    WRITE_OFF_ROUTES
        .iter()
        .find(|(c, r, _)| *c == circulation && *r == why)
        .map(|(_, _, route)| *route)
}

fn no_route(ki: &Ki, status: Option<CisStatus>, why: WriteOffReason) -> OperationReason {
    let status = status.map_or("unknown", CisStatus::api_name);
    reason(
        "no_gis_mt_route",
        format!(
            "No GIS MT document writes off a code in status {status} for the reason \"{}\".",
            why.name_en()
        ),
        format!(
            "Ни один документ ГИС МТ не списывает код в статусе {status} по причине «{}».",
            why.name_ru()
        ),
        Some(ki.to_string()),
    )
}

/// One write-off document: its type, product group and route's value (action or reason).
type RouteKey = (DocType, u8, &'static str);

fn write_off(
    d: &WriteOffDocument,
    participant: &Inn,
    finished_at: Timestamp,
    facts: &impl Facts,
) -> Making {
    // Documents are grouped by (type, route, product group): one document per group.
    let mut groups: BTreeMap<RouteKey, (ProductGroup, Route, Vec<Value>)> = BTreeMap::new();
    let mut reasons = Vec::new();
    for ki in &d.codes {
        let status = facts.status(ki)?;
        let Some(pg) = group_of(ki, status.as_ref(), facts)? else {
            reasons.push(unknown_group(ki));
            continue;
        };
        let circulation = status.as_ref().and_then(|s| Circulation::of(s.status));
        let Some(route) = circulation.and_then(|c| route(c, d.reason)) else {
            reasons.push(no_route(ki, status.map(|s| s.status), d.reason));
            continue;
        };
        let cis = document_cis(ki, status.as_ref());
        let (doc_type, key, line) = match route {
            Route::Receipt { action, .. } => (DocType::LkReceipt, action, json!({"cis": cis})),
            Route::Cancellation { reason } => (
                DocType::LkKmCancellation,
                reason,
                json!({"uit": cis, "cancellation_reason": reason}),
            ),
            Route::AppliedCancellation { reason } => (
                DocType::LkAppliedKmCancellation,
                reason,
                json!({"uit": cis, "cancellation_reason": reason}),
            ),
            Route::Remark => {
                let Some(new) = d.replacements.iter().find(|r| r.old == *ki) else {
                    reasons.push(reason(
                        "remark_needs_new_code",
                        "The goods are in circulation: a damaged label is replaced by a new \
                         code (re-marking), or the goods are written off with a goods reason."
                            .into(),
                        "Товар в обороте: испорченный код заменяют новым (перемаркировка) или \
                         списывают товар по товарной причине."
                            .into(),
                        Some(ki.to_string()),
                    ));
                    continue;
                };
                let new_status = facts.status(&new.new)?;
                (
                    DocType::LkRemark,
                    "KM_SPOILED_OR_LOST",
                    json!({
                        "last_uin": cis,
                        "new_uin": document_cis(&new.new, new_status.as_ref().or(status.as_ref())),
                        "remarking_date": api_instant(finished_at),
                        "remarking_cause": "KM_SPOILED_OR_LOST",
                    }),
                )
            }
        };
        groups
            .entry((doc_type, pg.id(), key))
            .or_insert_with(|| (pg, route, Vec::new()))
            .2
            .push(line);
    }
    if !reasons.is_empty() {
        return Ok(Err(reasons));
    }
    let date = d.document_date.to_string();
    let action_date = finished_at.moscow_date().to_string();
    let inn = participant.as_str();
    let documents = groups
        .into_iter()
        .map(|((doc_type, _, _), (pg, route, lines))| {
            let body = match route {
                Route::Receipt {
                    action,
                    document_type,
                    custom_name,
                } => {
                    let mut body = json!({
                        "inn": inn,
                        "action": action,
                        "action_date": action_date,
                        "document_type": document_type,
                        "document_number": d.document_number,
                        "document_date": date,
                        "products": lines,
                    });
                    if let (Some(name), Some(fields)) = (custom_name, body.as_object_mut()) {
                        fields.insert("primary_document_custom_name".into(), name.into());
                    }
                    body
                }
                Route::Cancellation { reason } | Route::AppliedCancellation { reason } => {
                    json!({
                        "trade_participant_inn": inn,
                        "cancellation_reason": reason,
                        "cancellation_doc_date": russian_date(d.document_date),
                        "cancellation_doc_number": d.document_number,
                        "km_list": lines,
                    })
                }
                Route::Remark => json!({
                    "participant_inn": inn,
                    "remarking_date": api_instant(finished_at),
                    "remarking_cause": "KM_SPOILED_OR_LOST",
                    "products": lines,
                }),
            };
            GisDocument { doc_type, pg, body }
        })
        .collect();
    Ok(Ok(Made {
        documents,
        ..Made::default()
    }))
}

// ---- export ----

/// One exported document with what traces it back to its operation.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct ExportedDocument {
    /// The GIS MT document type (`LP_ACCEPT_GOODS`, `AGGREGATION_DOCUMENT`, ...).
    #[serde(rename = "type")]
    pub doc_type: DocType,
    /// The product group's code (`milk`, `shoes` ...), the `pg` of `lk/documents/create`.
    pub pg: String,
    /// The UUID of the terminal's operation.
    pub operation: String,
    /// The operation's place in the hub's intake: the cursor for `--after`.
    pub seq: i64,
    pub document: Value,
}

/// An acceptance's discrepancies, traced to its operation.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct ExportedDiscrepancy {
    pub operation: String,
    pub seq: i64,
    #[serde(flatten)]
    pub discrepancy: Discrepancy,
}

/// What the hub told the terminal with an accepted operation, traced to it: an acceptance
/// without a shipment document, say, that made no GIS MT document.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct ExportedNotice {
    pub operation: String,
    pub seq: i64,
    pub notices: Vec<OperationReason>,
}

/// One page of the export, oldest first; also the body of `GET /v1/documents`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug, Default)]
pub struct Page {
    pub documents: Vec<ExportedDocument>,
    /// Accepted operations the hub has something to say about (no document made).
    #[serde(default)]
    pub notices: Vec<ExportedNotice>,
    /// What acceptances found beside their documents (surplus, missing).
    #[serde(default)]
    pub discrepancies: Vec<ExportedDiscrepancy>,
    /// The cursor for the next page: the last operation read, or `after` when none was.
    pub next_after: i64,
    pub more: bool,
}

/// Which operations an export reads: those after intake position `after`, of `types` (all
/// when empty), from devices of `warehouse` (all when `None`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Selection<'a> {
    pub after: i64,
    pub types: &'a [DocType],
    pub warehouse: Option<&'a str>,
}

/// Up to `limit` accepted operations' documents after the selection's cursor.
pub fn page(store: &Store, selection: Selection<'_>, limit: u32) -> Result<Page, StoreError> {
    store.documents_page(selection, limit)
}
