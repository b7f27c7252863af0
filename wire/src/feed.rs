//! The pull feeds' lines and the one parser both sides judge them with.
//!
//! The hub imports these lines and serves them unchanged; the terminal stores what it pulls.
//! Both call the `parse_*` functions here, so the hub refuses at import exactly what every
//! terminal would refuse later, with the same reason.
//!
//! The shapes, one JSON object per line (unknown fields are ignored):
//!
//! - statuses: `{"cis", "gtin"?, "productGroupId"?, "status", "statusEx"?, "ownerInn"?,
//!   "packageType"?, "generalPackageType"?, "extendedPackageType"?, "parent"?, "child"?,
//!   "expirationDate"?, "maxRetailPrice"?, "productName"?, "blocked"?}` as True API
//!   `cises/info` answers (`cisInfo`), plus `blocked` (the hub's block flag). Each line is the
//!   whole current state of its code. `parent` is an SSCC (18 digits, or 20 with the AI `00`)
//!   or a КИ. `cis` may be an SSCC too: a box or pallet label has a status, an owner and
//!   children like a unit. `{"cis", "remove": true}` stops tracking the code.
//! - catalog: `{"gtin", "name", "productGroupId"?, "unit"?, "tnved"?}`.
//! - block lists: `{"kind": "code", "cis"}`, `{"kind": "gtin", "gtin"}` or
//!   `{"kind": "series", "gtin", "batch"}`, each with `"remove": true` to lift the block.
//! - tasks (the supplier's shipments to accept): `{"id", "number", "senderInn", "date",
//!   "productGroupId"?, "releaseOrderNumber"?, "turnoverType"?, "warehouse"?, "units": [cis...],
//!   "boxes": [{"sscc", "units": [cis...]}], "lines": [{"gtin", "quantity", "name"?, "ref"?}]}`;
//!   `{"id", "remove": true}` deletes it. A line is goods the books know by count only (1C's
//!   delivery): any code of its GTIN fills it; `ref` is the books' id of the goods, echoed
//!   back in results.
//! - orders (customers' orders to pick and ship): `{"id", "number", "receiverInn"?, "date",
//!   "productGroupId"?, "warehouse"?, "units": [cis...], "lines": [{"gtin", "quantity",
//!   "name"?, "ref"?}]}`; `{"id", "remove": true}` withdraws it. The same shape as a task's
//!   codes and lines: `units` are codes the order names one by one (1C knows them), a line is
//!   goods by count that any code of its GTIN fills. An order names at least one of them.
//! - operators: `{"id", "name", "pinSalt", "pinSha256", "badge"?, "supervisor"?}`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use tally_domain::code::Ki;
use tally_domain::gs1::{Gs1Date, Gtin, Sscc};
use tally_domain::lang::Lang;
use tally_domain::operation::QuantityLine;
use tally_domain::product_group::ProductGroup;
use tally_domain::reason::Reason;
use tally_domain::status::{CisStatus, CodeStatus, Inn, PackageType, Parent, StatusEx};

use crate::text::{parse_iso_date, sscc_of};

/// Why a line was not imported. The codes are stable: support and scripts match on them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RejectReason {
    /// Not JSON, not UTF-8, or cut off.
    NotJson,
    /// JSON, but a required field is missing or has the wrong type.
    WrongFields,
    LineTooLong,
    /// `cis` (or a unit code in a task) is not a КИ.
    BadCis,
    /// An SSCC where a unit's code belongs (a block-list code, a task's unit). The code's name
    /// is from when status lines could not be labels; codes are never renamed.
    SsccNotCached,
    BadGtin,
    /// `gtin` disagrees with the GTIN inside `cis`.
    GtinMismatch,
    UnknownStatus,
    UnknownPackageType,
    BadOwnerInn,
    BadParent,
    BadExpirationDate,
    BadPrice,
    EmptyName,
    UnknownBlockKind,
    EmptyBatch,
    EmptyTaskId,
    BadSenderInn,
    BadDate,
    BadSscc,
    /// A task names the same unit code twice, or the same box twice.
    DuplicateInTask,
    EmptyOperatorId,
    /// An operator without a salt and a 64-hex-digit PIN digest.
    BadPinDigest,
    /// A task without its document number.
    EmptyTaskNumber,
    /// `turnoverType` is not one GIS MT knows.
    UnknownTurnoverType,
    /// `releaseOrderNumber` is not the UUID GIS MT gives a shipment document.
    BadReleaseOrderNumber,
    /// `GROUP` in a product group that has no group packages (a tobacco block is `LEVEL1`).
    GroupPackageNotAllowed,
    /// A task's quantity line asks for no units, or for more than a delivery holds.
    BadQuantity,
    /// A catalog item's `tnved` is not the 10 digits of a TN VED EAEU code.
    BadTnved,
    EmptyOrderId,
    /// An order without its document number.
    EmptyOrderNumber,
    /// `receiverInn` is there but not a valid INN.
    BadReceiverInn,
    /// An order names the same unit code twice.
    DuplicateInOrder,
    /// An order that names neither codes nor lines: nothing to pick.
    EmptyOrder,
}

impl RejectReason {
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::NotJson => "not_json",
            RejectReason::WrongFields => "wrong_fields",
            RejectReason::LineTooLong => "line_too_long",
            RejectReason::BadCis => "bad_cis",
            RejectReason::SsccNotCached => "sscc_not_cached",
            RejectReason::BadGtin => "bad_gtin",
            RejectReason::GtinMismatch => "gtin_mismatch",
            RejectReason::UnknownStatus => "unknown_status",
            RejectReason::UnknownPackageType => "unknown_package_type",
            RejectReason::BadOwnerInn => "bad_owner_inn",
            RejectReason::BadParent => "bad_parent",
            RejectReason::BadExpirationDate => "bad_expiration_date",
            RejectReason::BadPrice => "bad_price",
            RejectReason::EmptyName => "empty_name",
            RejectReason::UnknownBlockKind => "unknown_block_kind",
            RejectReason::EmptyBatch => "empty_batch",
            RejectReason::EmptyTaskId => "empty_task_id",
            RejectReason::BadSenderInn => "bad_sender_inn",
            RejectReason::BadDate => "bad_date",
            RejectReason::BadSscc => "bad_sscc",
            RejectReason::DuplicateInTask => "duplicate_in_task",
            RejectReason::EmptyOperatorId => "empty_operator_id",
            RejectReason::BadPinDigest => "bad_pin_digest",
            RejectReason::EmptyTaskNumber => "empty_task_number",
            RejectReason::UnknownTurnoverType => "unknown_turnover_type",
            RejectReason::BadReleaseOrderNumber => "bad_release_order_number",
            RejectReason::GroupPackageNotAllowed => "group_package_not_allowed",
            RejectReason::BadQuantity => "bad_quantity",
            RejectReason::BadTnved => "bad_tnved",
            RejectReason::EmptyOrderId => "empty_order_id",
            RejectReason::EmptyOrderNumber => "empty_order_number",
            RejectReason::BadReceiverInn => "bad_receiver_inn",
            RejectReason::DuplicateInOrder => "duplicate_in_order",
            RejectReason::EmptyOrder => "empty_order",
        }
    }

    fn messages(self) -> (&'static str, &'static str) {
        match self {
            RejectReason::NotJson => ("the line is not JSON", "строка не является JSON"),
            RejectReason::WrongFields => (
                "a required field is missing or has the wrong type",
                "обязательное поле отсутствует или имеет неверный тип",
            ),
            RejectReason::LineTooLong => ("the line is too long", "строка слишком длинная"),
            RejectReason::BadCis => (
                "the code is not a marking code (01 GTIN 21 serial)",
                "код не является кодом маркировки (01 GTIN 21 серийный номер)",
            ),
            RejectReason::SsccNotCached => (
                "an SSCC where a unit's marking code belongs",
                "SSCC там, где должен быть код маркировки единицы",
            ),
            RejectReason::BadGtin => ("the GTIN is not valid", "GTIN некорректен"),
            RejectReason::GtinMismatch => (
                "the GTIN differs from the one inside the code",
                "GTIN не совпадает с GTIN внутри кода",
            ),
            RejectReason::UnknownStatus => (
                "the status is not a GIS MT status",
                "статус не является статусом ГИС МТ",
            ),
            RejectReason::UnknownPackageType => {
                ("the package type is not known", "тип упаковки неизвестен")
            }
            RejectReason::BadOwnerInn => {
                ("the owner's INN is not valid", "ИНН владельца некорректен")
            }
            RejectReason::BadParent => (
                "the parent is neither an SSCC nor a marking code",
                "родитель не является ни SSCC, ни кодом маркировки",
            ),
            RejectReason::BadExpirationDate => (
                "the expiration date is not a date",
                "срок годности не является датой",
            ),
            RejectReason::BadPrice => ("the price is out of range", "цена вне допустимых пределов"),
            RejectReason::EmptyName => ("the name is empty", "наименование пустое"),
            RejectReason::UnknownBlockKind => (
                "the block kind is not code, gtin or series",
                "вид блокировки не code, gtin или series",
            ),
            RejectReason::EmptyBatch => (
                "a series block without its batch",
                "блокировка серии без номера партии",
            ),
            RejectReason::EmptyTaskId => ("the task has no id", "у задания нет идентификатора"),
            RejectReason::BadSenderInn => (
                "the sender's INN is missing or not valid",
                "ИНН отправителя отсутствует или некорректен",
            ),
            RejectReason::BadDate => (
                "the date is missing or not a date",
                "дата отсутствует или некорректна",
            ),
            RejectReason::BadSscc => (
                "a box label is not an SSCC",
                "этикетка короба не является SSCC",
            ),
            RejectReason::DuplicateInTask => (
                "the task names a code or a box twice",
                "в задании код или короб указан дважды",
            ),
            RejectReason::EmptyOperatorId => {
                ("the operator has no id", "у оператора нет идентификатора")
            }
            RejectReason::BadPinDigest => (
                "the operator has no PIN salt and SHA-256 digest",
                "у оператора нет соли и SHA-256 PIN-кода",
            ),
            RejectReason::EmptyTaskNumber => (
                "the task has no document number",
                "у задания нет номера документа",
            ),
            RejectReason::UnknownTurnoverType => (
                "the turnover type is not SELLING, COMMISSION or AGENT",
                "вид оборота не SELLING, COMMISSION или AGENT",
            ),
            RejectReason::GroupPackageNotAllowed => (
                "GROUP is a milk or water multipack only; a tobacco block is LEVEL1",
                "GROUP бывает только у мультиупаковок молока и воды; блок сигарет — LEVEL1",
            ),
            RejectReason::BadReleaseOrderNumber => (
                "releaseOrderNumber is not a GIS MT document id (a UUID)",
                "releaseOrderNumber не является идентификатором документа ГИС МТ (UUID)",
            ),
            RejectReason::BadQuantity => (
                "a task line's quantity is not a whole number from 1 to 1000000",
                "количество в строке задания не целое число от 1 до 1000000",
            ),
            RejectReason::BadTnved => (
                "the TN VED code (tnved) is not 10 digits",
                "код ТН ВЭД (tnved) не из 10 цифр",
            ),
            RejectReason::EmptyOrderId => ("the order has no id", "у заказа нет идентификатора"),
            RejectReason::EmptyOrderNumber => (
                "the order has no document number",
                "у заказа нет номера документа",
            ),
            RejectReason::BadReceiverInn => (
                "the receiver's INN is not valid",
                "ИНН получателя некорректен",
            ),
            RejectReason::DuplicateInOrder => {
                ("the order names a code twice", "в заказе код указан дважды")
            }
            RejectReason::EmptyOrder => (
                "the order names neither codes nor goods by quantity",
                "в заказе нет ни кодов, ни товаров с количеством",
            ),
        }
    }
}

impl Reason for RejectReason {
    fn code(&self) -> &'static str {
        RejectReason::code(*self)
    }

    fn message(&self, lang: Lang) -> String {
        let (en, ru) = self.messages();
        match lang {
            Lang::En => en.to_owned(),
            Lang::Ru => ru.to_owned(),
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a line names: a unit's КИ or a box or pallet's SSCC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Subject {
    Unit(Ki),
    Label(Sscc),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Unit(ki) => write!(f, "{ki}"),
            Subject::Label(sscc) => write!(f, "{sscc}"),
        }
    }
}

/// A JSON string, borrowed from the line when it has no escapes.
#[derive(Debug)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl Text<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `None` for an empty string: the hub writes `""` for a fact it does not have.
    pub fn non_empty<'s>(this: &'s Option<Text<'_>>) -> Option<&'s str> {
        this.as_ref().map(Text::as_str).filter(|s| !s.is_empty())
    }
}

fn json_reason(error: serde_json::Error) -> RejectReason {
    match error.classify() {
        serde_json::error::Category::Data => RejectReason::WrongFields,
        _ => RejectReason::NotJson,
    }
}

pub fn product_group(id: Option<u64>) -> Option<ProductGroup> {
    id.and_then(|id| u8::try_from(id).ok())
        .and_then(ProductGroup::from_id)
}

fn gtin_of(text: &str) -> Result<Gtin, RejectReason> {
    Gtin::from_digits(text.as_bytes()).ok_or(RejectReason::BadGtin)
}

fn ki_of(cis: &str) -> Result<Ki, RejectReason> {
    Ki::from_cis(cis).ok_or(if sscc_of(cis).is_some() {
        RejectReason::SsccNotCached
    } else {
        RejectReason::BadCis
    })
}

fn subject_of(cis: &str) -> Result<Subject, RejectReason> {
    match sscc_of(cis) {
        Some(sscc) => Ok(Subject::Label(sscc)),
        None => Ki::from_cis(cis)
            .map(Subject::Unit)
            .ok_or(RejectReason::BadCis),
    }
}

// ---- statuses ----

/// One `cisInfo` as the True API answers it (the fields the warehouse uses).
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CisInfo<'a> {
    #[serde(borrow)]
    pub cis: Text<'a>,
    #[serde(borrow)]
    pub gtin: Option<Text<'a>>,
    pub product_group_id: Option<u64>,
    #[serde(borrow)]
    pub status: Option<Text<'a>>,
    #[serde(borrow)]
    pub status_ex: Option<Text<'a>>,
    #[serde(borrow)]
    pub owner_inn: Option<Text<'a>>,
    #[serde(borrow)]
    pub package_type: Option<Text<'a>>,
    /// Newer answers: `UNIT`, `GROUP`, `LEVEL1` ... beside `packageType`.
    #[serde(borrow)]
    pub general_package_type: Option<Text<'a>>,
    /// Newer answers: the physical package (`BOX`, `PALLET` ...), kept for people only.
    #[serde(borrow)]
    pub extended_package_type: Option<Text<'a>>,
    #[serde(borrow)]
    pub parent: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub child: Vec<Text<'a>>,
    #[serde(borrow)]
    pub expiration_date: Option<Text<'a>>,
    pub max_retail_price: Option<i64>,
    #[serde(borrow)]
    pub product_name: Option<Text<'a>>,
    pub blocked: Option<bool>,
    #[serde(default)]
    pub remove: bool,
}

/// A status line, judged.
#[derive(Debug)]
pub enum StatusRecord<'a> {
    /// The hub stopped tracking the code.
    Remove(Subject),
    Status {
        subject: Subject,
        status: CodeStatus,
        /// A box's or pallet's contents (one level), when the answer lists them.
        children: Vec<Subject>,
        /// The product name, for a catalog that does not know the GTIN yet.
        product_name: Option<Cow<'a, str>>,
    },
}

impl StatusRecord<'_> {
    pub fn subject(&self) -> Subject {
        match self {
            StatusRecord::Remove(s) => *s,
            StatusRecord::Status { subject, .. } => *subject,
        }
    }
}

/// Reads `packageType` (or, when it is absent, `generalPackageType`).
/// A type this build does not know is kept as [`PackageType::Other`], never refused: GIS MT
/// adds package types, and the line's status still holds.
fn package_type(info: &CisInfo<'_>) -> PackageType {
    let name = Text::non_empty(&info.package_type).or(Text::non_empty(&info.general_package_type));
    name.map_or(PackageType::Unit, PackageType::from_api_lenient)
}

/// Judges one status line (a flat `cisInfo`).
pub fn parse_status(line: &[u8]) -> Result<StatusRecord<'_>, RejectReason> {
    let info: CisInfo<'_> = serde_json::from_slice(line).map_err(json_reason)?;
    status_record(info)
}

/// Judges one `cisInfo` already read.
pub fn status_record(info: CisInfo<'_>) -> Result<StatusRecord<'_>, RejectReason> {
    let subject = subject_of(info.cis.as_str())?;
    if info.remove {
        return Ok(StatusRecord::Remove(subject));
    }
    if let (Some(gtin), Subject::Unit(ki)) = (Text::non_empty(&info.gtin), subject)
        && gtin_of(gtin)? != ki.gtin()
    {
        return Err(RejectReason::GtinMismatch);
    }
    let status = info.status.as_ref().ok_or(RejectReason::WrongFields)?;
    let status = CisStatus::from_api_name(status.as_str()).ok_or(RejectReason::UnknownStatus)?;
    let package_type = package_type(&info);
    let product_group = product_group(info.product_group_id);
    if product_group.is_some_and(|pg| !package_type.fits_group(pg)) {
        return Err(RejectReason::GroupPackageNotAllowed);
    }
    let owner = Text::non_empty(&info.owner_inn)
        .map(|inn| Inn::parse(inn).ok_or(RejectReason::BadOwnerInn))
        .transpose()?;
    let parent = Text::non_empty(&info.parent)
        .map(|parent| match sscc_of(parent) {
            Some(sscc) => Ok(Parent::Sscc(sscc)),
            None => Ki::from_cis(parent)
                .map(Parent::Code)
                .ok_or(RejectReason::BadParent),
        })
        .transpose()?;
    let expiry = Text::non_empty(&info.expiration_date)
        .map(|date| parse_iso_date(date).ok_or(RejectReason::BadExpirationDate))
        .transpose()?;
    let max_retail_price = info
        .max_retail_price
        .map(|p| u32::try_from(p).map_err(|_| RejectReason::BadPrice))
        .transpose()?;
    // Children are what the answer says a label holds, for people and the label's own
    // checks; one this build cannot read is left out rather than losing the line.
    let children = info
        .child
        .iter()
        .filter_map(|c| subject_of(c.as_str()).ok())
        .collect();
    Ok(StatusRecord::Status {
        subject,
        status: CodeStatus {
            status,
            status_ex: Text::non_empty(&info.status_ex)
                .map_or(StatusEx::Empty, StatusEx::from_api_lenient),
            owner,
            product_group,
            package_type,
            parent,
            expiry,
            max_retail_price,
            blocked: info.blocked.unwrap_or(false),
        },
        children,
        product_name: info.product_name.map(|t| t.0).filter(|n| !n.is_empty()),
    })
}

// ---- catalog ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CatalogLine<'a> {
    #[serde(borrow)]
    gtin: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    product_group_id: Option<u64>,
    #[serde(borrow)]
    unit: Option<Text<'a>>,
    #[serde(borrow)]
    tnved: Option<Text<'a>>,
}

/// A product of the catalog.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CatalogRecord {
    pub gtin: Gtin,
    pub name: String,
    pub product_group: Option<ProductGroup>,
    pub unit: Option<String>,
    /// The product's TN VED EAEU code, 10 digits: GIS MT asks for it when a returned item is
    /// re-marked.
    pub tnved: Option<String>,
}

pub fn parse_catalog(line: &[u8]) -> Result<CatalogRecord, RejectReason> {
    let item: CatalogLine<'_> = serde_json::from_slice(line).map_err(json_reason)?;
    let name = item.name.as_str().trim();
    if name.is_empty() {
        return Err(RejectReason::EmptyName);
    }
    Ok(CatalogRecord {
        gtin: gtin_of(item.gtin.as_str())?,
        name: name.to_owned(),
        product_group: product_group(item.product_group_id),
        unit: Text::non_empty(&item.unit).map(str::to_owned),
        tnved: match Text::non_empty(&item.tnved) {
            Some(code) if code.len() == 10 && code.bytes().all(|b| b.is_ascii_digit()) => {
                Some(code.to_owned())
            }
            Some(_) => return Err(RejectReason::BadTnved),
            None => None,
        },
    })
}

// ---- block lists ----

#[derive(Deserialize)]
struct BlockLine<'a> {
    #[serde(borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    cis: Option<Text<'a>>,
    #[serde(borrow)]
    gtin: Option<Text<'a>>,
    #[serde(borrow)]
    batch: Option<Text<'a>>,
    #[serde(default)]
    remove: bool,
}

/// What a block list entry blocks.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Blocked {
    Code(Ki),
    Gtin(Gtin),
    /// A production series: GTIN and batch (AI 10).
    Series(Gtin, String),
}

impl Blocked {
    /// The entry's identity in a feed: one record per blocked thing.
    pub fn key(&self) -> String {
        match self {
            Blocked::Code(ki) => format!("code:{ki}"),
            Blocked::Gtin(gtin) => format!("gtin:{gtin}"),
            Blocked::Series(gtin, batch) => format!("series:{gtin}:{batch}"),
        }
    }
}

/// A block, or (`remove`) its lifting.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BlockRecord {
    pub blocked: Blocked,
    pub remove: bool,
}

pub fn parse_block(line: &[u8]) -> Result<BlockRecord, RejectReason> {
    let entry: BlockLine<'_> = serde_json::from_slice(line).map_err(json_reason)?;
    let gtin = || {
        Text::non_empty(&entry.gtin)
            .ok_or(RejectReason::WrongFields)
            .and_then(gtin_of)
    };
    let blocked = match entry.kind.as_str() {
        "code" => {
            let cis = Text::non_empty(&entry.cis).ok_or(RejectReason::WrongFields)?;
            Blocked::Code(ki_of(cis)?)
        }
        "gtin" => Blocked::Gtin(gtin()?),
        "series" => {
            let batch = Text::non_empty(&entry.batch).ok_or(RejectReason::EmptyBatch)?;
            Blocked::Series(gtin()?, batch.to_owned())
        }
        _ => return Err(RejectReason::UnknownBlockKind),
    };
    Ok(BlockRecord {
        blocked,
        remove: entry.remove,
    })
}

// ---- operators ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperatorLine<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    pin_salt: Option<Text<'a>>,
    #[serde(borrow)]
    pin_sha256: Option<Text<'a>>,
    #[serde(borrow)]
    badge: Option<Text<'a>>,
    #[serde(default)]
    supervisor: Option<bool>,
    #[serde(default)]
    remove: bool,
}

/// Who may sign in on the terminals.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Operator {
    pub name: String,
    pub pin_salt: String,
    /// [`crate::pin_digest`] of the salt and the PIN, lower-case hex.
    pub pin_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub badge: Option<String>,
    pub supervisor: bool,
}

/// An operator line: the operator, or `None` when the line removes them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OperatorRecord {
    pub id: String,
    pub operator: Option<Operator>,
}

pub fn parse_operator(line: &[u8]) -> Result<OperatorRecord, RejectReason> {
    let item: OperatorLine<'_> = serde_json::from_slice(line).map_err(json_reason)?;
    let id = item.id.as_str().trim();
    if id.is_empty() {
        return Err(RejectReason::EmptyOperatorId);
    }
    if item.remove {
        return Ok(OperatorRecord {
            id: id.to_owned(),
            operator: None,
        });
    }
    let name = Text::non_empty(&item.name).ok_or(RejectReason::EmptyName)?;
    let salt = Text::non_empty(&item.pin_salt).ok_or(RejectReason::BadPinDigest)?;
    let digest = Text::non_empty(&item.pin_sha256)
        .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(RejectReason::BadPinDigest)?;
    Ok(OperatorRecord {
        id: id.to_owned(),
        operator: Some(Operator {
            name: name.trim().to_owned(),
            pin_salt: salt.to_owned(),
            pin_sha256: digest.to_ascii_lowercase(),
            badge: Text::non_empty(&item.badge).map(str::to_owned),
            supervisor: item.supervisor.unwrap_or(false),
        }),
    })
}

// ---- tasks ----

/// `turnover_type` of an acceptance: on what terms the goods change hands (True API
/// `TurnoverType`).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TurnoverType {
    /// A sale: the default of every shipment that says nothing else.
    #[default]
    Selling,
    Commission,
    Agent,
}

impl TurnoverType {
    pub const ALL: [TurnoverType; 3] = [
        TurnoverType::Selling,
        TurnoverType::Commission,
        TurnoverType::Agent,
    ];

    pub fn api_name(self) -> &'static str {
        match self {
            TurnoverType::Selling => "SELLING",
            TurnoverType::Commission => "COMMISSION",
            TurnoverType::Agent => "AGENT",
        }
    }

    pub fn from_api_name(name: &str) -> Option<TurnoverType> {
        TurnoverType::ALL.into_iter().find(|t| t.api_name() == name)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskLine<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    number: Option<Text<'a>>,
    #[serde(borrow)]
    sender_inn: Option<Text<'a>>,
    #[serde(borrow)]
    date: Option<Text<'a>>,
    product_group_id: Option<u64>,
    #[serde(borrow)]
    release_order_number: Option<Text<'a>>,
    #[serde(borrow)]
    turnover_type: Option<Text<'a>>,
    #[serde(borrow, default)]
    units: Vec<Text<'a>>,
    #[serde(borrow, default)]
    boxes: Vec<TaskBoxLine<'a>>,
    #[serde(borrow, default)]
    lines: Vec<TaskQuantityLine<'a>>,
    #[serde(default)]
    remove: bool,
}

#[derive(Deserialize)]
struct TaskQuantityLine<'a> {
    #[serde(borrow)]
    gtin: Text<'a>,
    quantity: serde_json::Value,
}

/// The most units one quantity line may ask for: more is a typing error in the books.
pub const MAX_LINE_QUANTITY: u32 = 1_000_000;

/// A task's or an order's lines by quantity, judged, in their order.
fn quantity_lines(lines: &[TaskQuantityLine<'_>]) -> Result<Vec<QuantityLine>, RejectReason> {
    lines
        .iter()
        .map(|line| {
            let gtin = gtin_of(line.gtin.as_str())?;
            let quantity = line
                .quantity
                .as_u64()
                .and_then(|q| u32::try_from(q).ok())
                .filter(|q| (1..=MAX_LINE_QUANTITY).contains(q))
                .ok_or(RejectReason::BadQuantity)?;
            Ok(QuantityLine { gtin, quantity })
        })
        .collect()
}

#[derive(Deserialize)]
struct TaskBoxLine<'a> {
    #[serde(borrow)]
    sscc: Text<'a>,
    #[serde(borrow, default)]
    units: Vec<Text<'a>>,
}

/// A supplier's shipment to accept.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Task {
    /// The supplier's document number, for people.
    pub number: String,
    pub sender_inn: Inn,
    pub date: Gs1Date,
    pub product_group: Option<ProductGroup>,
    /// The GIS MT id of the supplier's `LP_SHIP_GOODS`: without it no `LP_ACCEPT_GOODS` can
    /// be made.
    pub release_order_number: Option<String>,
    pub turnover_type: TurnoverType,
    /// Loose units.
    pub units: Vec<Ki>,
    pub boxes: Vec<(Sscc, Vec<Ki>)>,
    /// Goods by count: GTIN and quantity, in the task's order.
    pub lines: Vec<QuantityLine>,
}

/// A task line: the task, or `None` when the line removes it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TaskRecord {
    pub id: String,
    pub task: Option<Task>,
}

/// A UUID in its 36-character form, the way GIS MT names its documents.
fn is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub fn parse_task(line: &[u8]) -> Result<TaskRecord, RejectReason> {
    let task: TaskLine<'_> = serde_json::from_slice(line).map_err(json_reason)?;
    let id = task.id.as_str().trim();
    if id.is_empty() {
        return Err(RejectReason::EmptyTaskId);
    }
    if task.remove {
        return Ok(TaskRecord {
            id: id.to_owned(),
            task: None,
        });
    }
    let number = Text::non_empty(&task.number).ok_or(RejectReason::EmptyTaskNumber)?;
    let sender_inn = Text::non_empty(&task.sender_inn)
        .and_then(Inn::parse)
        .ok_or(RejectReason::BadSenderInn)?;
    let date = Text::non_empty(&task.date)
        .and_then(parse_iso_date)
        .ok_or(RejectReason::BadDate)?;
    let turnover_type = match Text::non_empty(&task.turnover_type) {
        None => TurnoverType::Selling,
        Some(name) => TurnoverType::from_api_name(name).ok_or(RejectReason::UnknownTurnoverType)?,
    };
    let mut seen = HashSet::new();
    let mut unit = |cis: &Text<'_>| -> Result<Ki, RejectReason> {
        let ki = ki_of(cis.as_str())?;
        if !seen.insert(ki) {
            return Err(RejectReason::DuplicateInTask);
        }
        Ok(ki)
    };
    let units = task
        .units
        .iter()
        .map(&mut unit)
        .collect::<Result<Vec<_>, _>>()?;
    let mut boxes: Vec<(Sscc, Vec<Ki>)> = Vec::with_capacity(task.boxes.len());
    for task_box in &task.boxes {
        let sscc = sscc_of(task_box.sscc.as_str()).ok_or(RejectReason::BadSscc)?;
        if boxes.iter().any(|(s, _)| *s == sscc) {
            return Err(RejectReason::DuplicateInTask);
        }
        let children = task_box
            .units
            .iter()
            .map(&mut unit)
            .collect::<Result<_, _>>()?;
        boxes.push((sscc, children));
    }
    let lines = quantity_lines(&task.lines)?;
    Ok(TaskRecord {
        id: id.to_owned(),
        task: Some(Task {
            number: number.to_owned(),
            sender_inn,
            date,
            product_group: product_group(task.product_group_id),
            release_order_number: Text::non_empty(&task.release_order_number)
                .map(|id| {
                    is_uuid(id)
                        .then(|| id.to_ascii_lowercase())
                        .ok_or(RejectReason::BadReleaseOrderNumber)
                })
                .transpose()?,
            turnover_type,
            units,
            boxes,
            lines,
        }),
    })
}

// ---- orders ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderLine<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    number: Option<Text<'a>>,
    #[serde(borrow)]
    receiver_inn: Option<Text<'a>>,
    #[serde(borrow)]
    date: Option<Text<'a>>,
    product_group_id: Option<u64>,
    #[serde(borrow, default)]
    units: Vec<Text<'a>>,
    #[serde(borrow, default)]
    lines: Vec<TaskQuantityLine<'a>>,
    #[serde(default)]
    remove: bool,
}

/// A customer's order to pick and ship.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Order {
    /// The order's document number in the books, for people and the outgoing document.
    pub number: String,
    /// Whom the goods go to; an order without it is shipped to the INN the operator gives.
    pub receiver_inn: Option<Inn>,
    pub date: Gs1Date,
    pub product_group: Option<ProductGroup>,
    /// Codes the order names one by one.
    pub units: Vec<Ki>,
    /// Goods by count: GTIN and quantity, in the order's order.
    pub lines: Vec<QuantityLine>,
}

/// An order line: the order, or `None` when the line withdraws it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OrderRecord {
    pub id: String,
    pub order: Option<Order>,
}

pub fn parse_order(line: &[u8]) -> Result<OrderRecord, RejectReason> {
    let order: OrderLine<'_> = serde_json::from_slice(line).map_err(json_reason)?;
    let id = order.id.as_str().trim();
    if id.is_empty() {
        return Err(RejectReason::EmptyOrderId);
    }
    if order.remove {
        return Ok(OrderRecord {
            id: id.to_owned(),
            order: None,
        });
    }
    let number = Text::non_empty(&order.number).ok_or(RejectReason::EmptyOrderNumber)?;
    let receiver_inn = Text::non_empty(&order.receiver_inn)
        .map(|inn| Inn::parse(inn).ok_or(RejectReason::BadReceiverInn))
        .transpose()?;
    let date = Text::non_empty(&order.date)
        .and_then(parse_iso_date)
        .ok_or(RejectReason::BadDate)?;
    let mut seen = HashSet::new();
    let units = order
        .units
        .iter()
        .map(|cis| {
            let ki = ki_of(cis.as_str())?;
            if !seen.insert(ki) {
                return Err(RejectReason::DuplicateInOrder);
            }
            Ok(ki)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let lines = quantity_lines(&order.lines)?;
    if units.is_empty() && lines.is_empty() {
        return Err(RejectReason::EmptyOrder);
    }
    Ok(OrderRecord {
        id: id.to_owned(),
        order: Some(Order {
            number: number.trim().to_owned(),
            receiver_inn,
            date,
            product_group: product_group(order.product_group_id),
            units,
            lines,
        }),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const KI_A: &str = "010460084074937221AAAAAAAAAAAA1";
    const KI_B: &str = "010460084074937221AAAAAAAAAAAA2";

    #[test]
    fn an_order_names_codes_and_lines_by_quantity() {
        let line = json!({"id": " ЗК-1 ", "number": "ЗК-000123", "receiverInn": "7736207543",
            "date": "2026-12-03", "productGroupId": 8, "warehouse": "W1", "units": [KI_A],
            "lines": [{"gtin": "4600840749372", "quantity": 3, "name": "Молоко", "ref": "a1"}]})
        .to_string();
        let record = parse_order(line.as_bytes()).unwrap();
        assert_eq!(record.id, "ЗК-1");
        let order = record.order.unwrap();
        assert_eq!(order.number, "ЗК-000123");
        assert_eq!(
            order.receiver_inn.map(|i| i.as_str().to_owned()).as_deref(),
            Some("7736207543")
        );
        assert_eq!(order.date.to_string(), "2026-12-03");
        assert_eq!(order.product_group.map(ProductGroup::id), Some(8));
        assert_eq!(
            order.units.iter().map(Ki::to_string).collect::<Vec<_>>(),
            [KI_A]
        );
        assert_eq!(
            order
                .lines
                .iter()
                .map(|l| (l.gtin.to_string(), l.quantity))
                .collect::<Vec<_>>(),
            [("04600840749372".to_owned(), 3)]
        );
        // Without a receiver: the operator names one when the shipment starts.
        let free = json!({"id": "2", "number": "2", "date": "2026-12-03", "units": [KI_B]});
        let order = parse_order(free.to_string().as_bytes())
            .unwrap()
            .order
            .unwrap();
        assert_eq!(order.receiver_inn, None);
        // A withdrawal needs nothing but its id.
        let gone = parse_order(br#"{"id": "ZK-1", "remove": true}"#).unwrap();
        assert_eq!((gone.id.as_str(), gone.order), ("ZK-1", None));
    }

    #[test]
    fn a_bad_order_is_refused_with_its_reason() {
        let base = || json!({"id": "O", "number": "1", "date": "2026-12-03", "units": [KI_A]});
        let with = |key: &str, value: serde_json::Value| {
            let mut line = base();
            line[key] = value;
            line.to_string()
        };
        for (line, reason) in [
            ("{\"id\": \"O\"".to_owned(), RejectReason::NotJson),
            (
                json!({"number": "1"}).to_string(),
                RejectReason::WrongFields,
            ),
            (with("id", json!(" ")), RejectReason::EmptyOrderId),
            (with("id", json!(7)), RejectReason::WrongFields),
            (with("number", json!("")), RejectReason::EmptyOrderNumber),
            (
                with("receiverInn", json!("7736207544")),
                RejectReason::BadReceiverInn,
            ),
            (with("date", json!("03.12.2026")), RejectReason::BadDate),
            (with("date", json!("2026-02-30")), RejectReason::BadDate),
            (
                with("units", json!([KI_A, KI_A])),
                RejectReason::DuplicateInOrder,
            ),
            (
                with("units", json!(["046008400000000817"])),
                RejectReason::SsccNotCached,
            ),
            (with("units", json!(["nonsense"])), RejectReason::BadCis),
            (with("units", json!([])), RejectReason::EmptyOrder),
            (
                with("lines", json!([{"gtin": "04600840749372", "quantity": 0}])),
                RejectReason::BadQuantity,
            ),
            (
                with(
                    "lines",
                    json!([{"gtin": "04600840749372", "quantity": 1_000_001}]),
                ),
                RejectReason::BadQuantity,
            ),
            (
                with("lines", json!([{"gtin": "04600840749373", "quantity": 1}])),
                RejectReason::BadGtin,
            ),
        ] {
            assert_eq!(parse_order(line.as_bytes()).unwrap_err(), reason, "{line}");
        }
    }

    #[test]
    fn every_order_reason_has_a_code_and_both_messages() {
        for reason in [
            RejectReason::EmptyOrderId,
            RejectReason::EmptyOrderNumber,
            RejectReason::BadReceiverInn,
            RejectReason::DuplicateInOrder,
            RejectReason::EmptyOrder,
        ] {
            assert!(!reason.code().is_empty());
            assert_ne!(
                reason.message(Lang::En),
                reason.message(Lang::Ru),
                "{reason}"
            );
        }
    }
}
