//! The finished operations a terminal pushes: one document type per kind, one enum over them.
//!
//! The terminal writes these from its domain operations (`app::operation_log`), queues the JSON
//! text, and pushes it; the hub reads the same types to judge the operation again and to make
//! its GIS MT documents. On the wire an operation is `{"kind": "...", "payload": {...}}`; the
//! payloads below are exactly what terminals of protocol 2 wrote, with fields only added.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tally_domain::code::Ki;
use tally_domain::gs1::{Gs1Date, Gtin, Sscc};
use tally_domain::operation::{Child, Level, ReturnCause, ReturnReceipt, WriteOffReason};
use tally_domain::status::{CisStatus, Inn};

use crate::feed::TurnoverType;
use crate::text;

/// What kind of operation a document records. The wire name is `kind` of a pushed operation
/// and the journal's kind on the terminal.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    Acceptance,
    Aggregation,
    Disaggregation,
    /// A unit added to, or taken out of, a box that already exists.
    Reaggregation,
    WriteOff,
    /// Goods picked and shipped to a customer (or back to a supplier).
    Shipment,
    /// Sold goods a customer brought back, into circulation again.
    Return,
    /// Stock counted against what the warehouse owns, and what is missing written off when
    /// the operator settles the count so.
    Inventory,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 8] = [
        DocumentKind::Acceptance,
        DocumentKind::Aggregation,
        DocumentKind::Disaggregation,
        DocumentKind::Reaggregation,
        DocumentKind::WriteOff,
        DocumentKind::Shipment,
        DocumentKind::Return,
        DocumentKind::Inventory,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DocumentKind::Acceptance => "acceptance",
            DocumentKind::Aggregation => "aggregation",
            DocumentKind::Disaggregation => "disaggregation",
            DocumentKind::Reaggregation => "reaggregation",
            DocumentKind::WriteOff => "write-off",
            DocumentKind::Shipment => "shipment",
            DocumentKind::Return => "return",
            DocumentKind::Inventory => "inventory",
        }
    }

    pub fn from_name(name: &str) -> Option<DocumentKind> {
        DocumentKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One finished operation's document.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(tag = "kind", content = "payload", rename_all = "kebab-case")]
pub enum OperationDocument {
    Acceptance(AcceptanceDocument),
    Aggregation(AggregationDocument),
    Disaggregation(DisaggregationDocument),
    Reaggregation(ReaggregationDocument),
    WriteOff(WriteOffDocument),
    Shipment(ShipmentDocument),
    Return(ReturnDocument),
    Inventory(InventoryDocument),
}

/// A document whose kind or payload this build cannot read: kept whole, so the hub can refuse
/// it with the reason and still store what arrived.
#[derive(Clone, PartialEq, Debug)]
pub struct UnreadableDocument {
    pub kind: String,
    pub payload: Value,
    pub error: String,
}

impl OperationDocument {
    pub fn kind(&self) -> DocumentKind {
        match self {
            OperationDocument::Acceptance(_) => DocumentKind::Acceptance,
            OperationDocument::Aggregation(_) => DocumentKind::Aggregation,
            OperationDocument::Disaggregation(_) => DocumentKind::Disaggregation,
            OperationDocument::Reaggregation(_) => DocumentKind::Reaggregation,
            OperationDocument::WriteOff(_) => DocumentKind::WriteOff,
            OperationDocument::Shipment(_) => DocumentKind::Shipment,
            OperationDocument::Return(_) => DocumentKind::Return,
            OperationDocument::Inventory(_) => DocumentKind::Inventory,
        }
    }

    /// Reads a document from its kind name and payload, as the queue and the wire keep them.
    pub fn from_parts(kind: &str, payload: Value) -> Result<OperationDocument, UnreadableDocument> {
        let unreadable = |payload: Value, error: String| UnreadableDocument {
            kind: kind.to_owned(),
            payload,
            error,
        };
        let Some(known) = DocumentKind::from_name(kind) else {
            return Err(unreadable(
                payload,
                format!("no operation kind is called {kind:?}"),
            ));
        };
        let read =
            match known {
                DocumentKind::Acceptance => {
                    AcceptanceDocument::deserialize(&payload).map(OperationDocument::Acceptance)
                }
                DocumentKind::Aggregation => {
                    AggregationDocument::deserialize(&payload).map(OperationDocument::Aggregation)
                }
                DocumentKind::Disaggregation => DisaggregationDocument::deserialize(&payload)
                    .map(OperationDocument::Disaggregation),
                DocumentKind::Reaggregation => ReaggregationDocument::deserialize(&payload)
                    .map(OperationDocument::Reaggregation),
                DocumentKind::WriteOff => {
                    WriteOffDocument::deserialize(&payload).map(OperationDocument::WriteOff)
                }
                DocumentKind::Shipment => {
                    ShipmentDocument::deserialize(&payload).map(OperationDocument::Shipment)
                }
                DocumentKind::Return => {
                    ReturnDocument::deserialize(&payload).map(OperationDocument::Return)
                }
                DocumentKind::Inventory => {
                    InventoryDocument::deserialize(&payload).map(OperationDocument::Inventory)
                }
            };
        read.map_err(|e| unreadable(payload, e.to_string()))
    }

    /// The payload alone, as the terminal's queue row keeps it.
    pub fn payload(&self) -> Value {
        let written = match self {
            OperationDocument::Acceptance(d) => serde_json::to_value(d),
            OperationDocument::Aggregation(d) => serde_json::to_value(d),
            OperationDocument::Disaggregation(d) => serde_json::to_value(d),
            OperationDocument::Reaggregation(d) => serde_json::to_value(d),
            OperationDocument::WriteOff(d) => serde_json::to_value(d),
            OperationDocument::Shipment(d) => serde_json::to_value(d),
            OperationDocument::Return(d) => serde_json::to_value(d),
            OperationDocument::Inventory(d) => serde_json::to_value(d),
        };
        // Every field is a string, a number, a list or a map with string keys: writing to a
        // `Value` cannot fail.
        written.unwrap_or(Value::Null)
    }
}

/// An acceptance: what was accepted against the supplier's shipment (the task) or freely.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct AcceptanceDocument {
    /// The task (the supplier's shipment) accepted against; `None` for a free acceptance.
    #[serde(default)]
    pub task_id: Option<String>,
    /// Units accepted, the surplus among them, in the order they were accepted.
    #[serde(with = "text::list")]
    pub accepted: Vec<Ki>,
    /// Boxes accepted whole or in part.
    #[serde(default, with = "text::list")]
    pub boxes: Vec<Sscc>,
    /// Units taken back out after their box was accepted: refused to the supplier.
    #[serde(default, with = "text::list")]
    pub rejected: Vec<Ki>,
    /// Accepted but never shipped to us: not part of the shipment's document, a discrepancy.
    #[serde(default, with = "text::list")]
    pub surplus: Vec<Ki>,
    /// Shipped to us but not found.
    #[serde(default, with = "text::list")]
    pub missing: Vec<Ki>,
    /// The day the acceptance was finished (the instant is the operation's `finished_at`).
    #[serde(with = "text::one")]
    pub acceptance_date: Gs1Date,
    /// The task's lines by quantity and what was accepted on each (the codes past a line's
    /// quantity are in `surplus`); empty for a task by codes and a free acceptance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<AcceptedLine>,
}

/// A task line by quantity as it came out: under when `accepted` < `expected`, over when
/// more codes of its GTIN were scanned (those are the document's surplus).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct AcceptedLine {
    #[serde(with = "text::one")]
    pub gtin: Gtin,
    pub expected: u32,
    /// Units counted on the line, at most `expected`.
    pub accepted: u32,
    /// Units of the GTIN past the quantity.
    #[serde(default)]
    pub over: u32,
}

/// Boxes and pallets packed and closed.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct AggregationDocument {
    pub aggregates: Vec<PackedAggregate>,
}

/// One closed box or pallet.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct PackedAggregate {
    #[serde(with = "text::one")]
    pub sscc: Sscc,
    #[serde(with = "level")]
    pub level: Level,
    /// The status every unit shared when packed, when known.
    #[serde(default, with = "text::opt")]
    pub status: Option<CisStatus>,
    pub children: Vec<PackedChild>,
}

/// A child of an aggregate: `{"unit": КИ}` or `{"box": SSCC}`.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum PackedChild {
    Unit(#[serde(with = "text::one")] Ki),
    Box(#[serde(with = "text::one")] Sscc),
}

impl From<Child> for PackedChild {
    fn from(child: Child) -> PackedChild {
        match child {
            Child::Unit(ki) => PackedChild::Unit(ki),
            Child::Box(sscc) => PackedChild::Box(sscc),
        }
    }
}

impl From<PackedChild> for Child {
    fn from(child: PackedChild) -> Child {
        match child {
            PackedChild::Unit(ki) => Child::Unit(ki),
            PackedChild::Box(sscc) => Child::Box(sscc),
        }
    }
}

/// Boxes and pallets opened: their children leave them.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct DisaggregationDocument {
    #[serde(with = "text::list")]
    pub labels: Vec<Sscc>,
}

/// Whether units go into an existing box, come out of it, or move into it from other boxes.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "snake_case")]
pub enum ReaggregationType {
    Adding,
    Removing,
    /// Into the box, each unit out of the box `taken_from` names (or out of none).
    Moving,
}

/// A box units of a move came out of.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct TakenFrom {
    #[serde(with = "text::one")]
    pub sscc: Sscc,
    #[serde(with = "text::list")]
    pub units: Vec<Ki>,
}

/// Units added to, or taken out of, a box that already exists (and stays).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct ReaggregationDocument {
    /// The box.
    #[serde(with = "text::one")]
    pub sscc: Sscc,
    #[serde(rename = "type")]
    pub reaggregation_type: ReaggregationType,
    #[serde(with = "text::list")]
    pub units: Vec<Ki>,
    /// Of a move: the boxes its units came out of, as the terminal saw them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taken_from: Vec<TakenFrom>,
}

/// Codes written off for a reason, under the warehouse's document.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct WriteOffDocument {
    #[serde(with = "text::one")]
    pub reason: WriteOffReason,
    pub document_number: String,
    #[serde(with = "text::one")]
    pub document_date: Gs1Date,
    /// Who confirmed it, when the policy asked for a supervisor.
    #[serde(default)]
    pub supervisor: Option<String>,
    #[serde(with = "text::list")]
    pub codes: Vec<Ki>,
    /// The GIS MT document type protocol-2 terminals guessed from the reason alone. The hub
    /// routes by the code's status and the reason (`hub::documents`) and does not read it;
    /// terminals keep writing it for hubs of that release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gis_mt_document: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gis_mt_reason: Option<String>,
    /// New codes for goods that stay, by the old code they replace: a damaged label on goods
    /// in circulation is re-marked (`LK_REMARK`), not written off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacements: Vec<Replacement>,
}

/// Goods picked and shipped: to a customer, or back to the supplier (a supplier return is a
/// shipment to the supplier). The hub makes `LP_SHIP_GOODS` of it, after unpacking the opened
/// labels.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct ShipmentDocument {
    /// The order picked against; `None` for a free shipment.
    #[serde(default)]
    pub order_id: Option<String>,
    /// Whom the goods go to.
    #[serde(with = "text::one")]
    pub receiver_inn: Inn,
    /// The outgoing document's number and date (the UPD's), as the books write them.
    pub document_number: String,
    #[serde(with = "text::one")]
    pub document_date: Gs1Date,
    /// On what terms the goods change hands.
    #[serde(default)]
    pub turnover_type: TurnoverType,
    /// Units shipped on their own, in the order scanned.
    #[serde(default, with = "text::list")]
    pub units: Vec<Ki>,
    /// Box and pallet labels shipped whole.
    #[serde(default, with = "text::list")]
    pub labels: Vec<Sscc>,
    /// Labels the operator opened to ship part of them: unpacked before the shipment.
    #[serde(default, with = "text::list")]
    pub opened: Vec<Sscc>,
    /// The order's lines by quantity and how they came out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<ShippedLine>,
    /// Shipped past the order: neither named by it nor with room on a line.
    #[serde(default, with = "text::list")]
    pub over: Vec<Ki>,
    /// Codes the order names that were not shipped.
    #[serde(default, with = "text::list")]
    pub missing: Vec<Ki>,
}

/// An order line by quantity as it came out.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct ShippedLine {
    #[serde(with = "text::one")]
    pub gtin: Gtin,
    pub ordered: u32,
    /// Units counted on the line, at most `ordered`.
    pub shipped: u32,
    /// Units of the GTIN past the quantity (in `over`).
    #[serde(default)]
    pub over: u32,
}

/// Sold goods a customer brought back: the hub returns the codes read off them to circulation
/// (`LP_RETURN`) and registers the new codes put on items whose labels could not be read
/// (`LK_REMARK` with the return as its cause).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct ReturnDocument {
    /// How the goods were sold: `retail` or `remote_sale`.
    #[serde(with = "text::one")]
    pub cause: ReturnCause,
    /// The return's primary document: `receipt`, `sales_receipt` or `other`.
    #[serde(with = "text::one")]
    pub receipt: ReturnReceipt,
    /// Its name, when `receipt` is `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_name: Option<String>,
    pub document_number: String,
    #[serde(with = "text::one")]
    pub document_date: Gs1Date,
    /// False for a remote sale refused unpaid at the door.
    #[serde(default = "paid")]
    pub paid: bool,
    /// Codes read off the goods, in scan order.
    #[serde(default, with = "text::list")]
    pub units: Vec<Ki>,
    /// New codes put on returned items whose labels could not be read.
    #[serde(default, with = "text::list")]
    pub relabelled: Vec<Ki>,
}

/// A count of stock: what was found, against what the warehouse owns there. The hub keeps it
/// as the count's report, and writes off what is missing when `settle` names a reason.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct InventoryDocument {
    /// The zone counted; `None` for the whole warehouse.
    #[serde(default)]
    pub zone: Option<String>,
    pub document_number: String,
    #[serde(with = "text::one")]
    pub document_date: Gs1Date,
    /// Ours, counted alone or in boxes counted whole.
    #[serde(default, with = "text::list")]
    pub found: Vec<Ki>,
    /// Boxes and pallets counted whole.
    #[serde(default, with = "text::list")]
    pub labels: Vec<Sscc>,
    /// Boxes opened and counted unit by unit.
    #[serde(default, with = "text::list")]
    pub opened: Vec<Sscc>,
    /// Someone else's codes on our shelves.
    #[serde(default, with = "text::list")]
    pub foreign: Vec<Ki>,
    /// Ours, in a status no goods on a shelf have (sold, written off, on its way).
    #[serde(default, with = "text::list")]
    pub wrong_status: Vec<Ki>,
    /// Codes the terminal's replica did not know.
    #[serde(default, with = "text::list")]
    pub unknown: Vec<Ki>,
    /// Expected and not found.
    #[serde(default, with = "text::list")]
    pub missing: Vec<Ki>,
    /// The write-off that settles what is missing, when the operator chose one.
    #[serde(default, with = "text::opt", skip_serializing_if = "Option::is_none")]
    pub settle: Option<WriteOffReason>,
    /// Who confirmed the settling write-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<String>,
}

fn paid() -> bool {
    true
}

/// A code that replaces a damaged one on goods that stay.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub struct Replacement {
    #[serde(with = "text::one")]
    pub old: Ki,
    #[serde(with = "text::one")]
    pub new: Ki,
}

mod level {
    use serde::{Deserialize, Deserializer, Serializer, de};
    use tally_domain::operation::Level;

    pub fn serialize<S: Serializer>(level: &Level, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(level.code())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Level, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        match &*text {
            "box" => Ok(Level::Box),
            "pallet" => Ok(Level::Pallet),
            other => Err(de::Error::custom(format_args!(
                "{other:?} is not a level (box or pallet)"
            ))),
        }
    }
}
