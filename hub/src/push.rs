//! Pushed operations judged again on the hub, against its authoritative status list, and
//! applied at most once each.
//!
//! Terminals judge offline against a replica that may be hours old, so two of them can both
//! write off, box or accept the same code. The hub is where that is settled: it runs the same
//! `tally_domain::validate` rules against its own list, in arrival order, and every accepted
//! operation moves the list on before the next operation is judged. An operation is all or
//! nothing: one refused code refuses the document, as GIS MT would. An accepted operation's GIS
//! MT documents are made in the same step, from the list as it stood before the operation
//! changed it (`documents::make`).
//!
//! Judging is pure: a store loads everything a push can read into a [`Snapshot`] in a few bulk
//! reads (the [`Keys`] the push names), [`judge`] decides every operation against it in
//! memory, and the store writes the [`Outcome`] in the same transaction. A PostgreSQL round
//! trip per code would cap intake at a few thousand operations a second; one per kind of fact
//! does not.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;
use tally_domain::code::{Ki, ParseOptions, parse};
use tally_domain::gs1::{Gtin, Sscc};
use tally_domain::lang::Lang;
use tally_domain::product_group::ProductGroup;
use tally_domain::reason::Reason;
use tally_domain::status::{BlockHit, CisStatus, CodeStatus, Inn, Parent, Timestamp};
use tally_domain::validate::{
    Context, Expectation, Facts, OperationKind, Policy, Severity, Verdict, validate, validate_label,
};
use tally_wire::DocumentKind;
use tally_wire::document::{OperationDocument, PackedChild, ReaggregationType};
use tally_wire::feed::{self, StatusRecord, Task};
use tally_wire::limits::MAX_OPERATION_CODES;
use tally_wire::{OperationAnswer, OperationReason, PushRequest, PushResult, PushedOperation};

use crate::documents::{self, Made, reason};
use crate::store::{Device, Store, StoreError};

/// The terminal's rules with one change: a code the hub already holds as ours was accepted by
/// an earlier operation (from this or another terminal), so a second acceptance is refused
/// rather than merely warned about.
pub fn hub_policy() -> Policy {
    let mut policy = Policy::default();
    policy.set(OperationKind::Acceptance, "already_ours", Severity::Reject);
    // A terminal offline may meet a code its replica does not hold yet and let the operator
    // go on; the hub holds the list, and a code it has never heard of is not moved on its
    // word (see [`UNKNOWN_CODES`]).
    for kind in [
        OperationKind::Acceptance,
        OperationKind::Aggregation,
        OperationKind::WriteOff,
        OperationKind::Shipment,
        OperationKind::Return,
    ] {
        policy.set(kind, "unknown_code", Severity::Reject);
    }
    policy
}

/// What the hub does with a code it holds no status for, by operation. An acceptance may
/// take a code its task lists (the supplier's shipment vouches for it): it is accepted and
/// held as not yet known to GIS MT, the terminal is told so, and the next status import
/// brings it onto the list. Anything else about a code the hub has never heard of is refused.
pub const UNKNOWN_CODES: [(DocumentKind, UnknownCode); 8] = [
    (
        DocumentKind::Acceptance,
        UnknownCode::HeldWhenTheTaskListsIt,
    ),
    (DocumentKind::Aggregation, UnknownCode::Refused),
    (DocumentKind::Disaggregation, UnknownCode::Refused),
    (DocumentKind::Reaggregation, UnknownCode::Refused),
    (DocumentKind::WriteOff, UnknownCode::Refused),
    (DocumentKind::Shipment, UnknownCode::Refused),
    (DocumentKind::Return, UnknownCode::Refused),
    // A count reports a code the hub has not heard of; it changes nothing about it.
    (DocumentKind::Inventory, UnknownCode::Reported),
];

/// See [`UNKNOWN_CODES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownCode {
    Refused,
    HeldWhenTheTaskListsIt,
    /// Counted and reported as unknown, and left alone.
    Reported,
}

/// The one spelling an operation UUID is stored and looked up in (lower-case, hyphenated):
/// the same operation sent as `{…}`, `urn:uuid:…`, upper case or without dashes is one
/// operation. Text that is no UUID stays as it is (the server refuses it before this).
pub fn canonical_uuid(text: &str) -> String {
    uuid::Uuid::parse_str(text.trim())
        .map(|u| u.hyphenated().to_string())
        .unwrap_or_else(|_| text.to_owned())
}

/// Applies one push in one transaction and answers each operation in order.
pub fn apply(
    store: &Store,
    device: &Device,
    request: &PushRequest,
    policy: &Policy,
    now: Timestamp,
) -> Result<Vec<OperationAnswer>, StoreError> {
    store.push(device, request, policy, now)
}

/// What a push names, for a store to load before judging it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keys {
    pub uuids: Vec<String>,
    /// Every unit a document names (accepted, packed, written off, replaced…).
    pub codes: BTreeSet<Ki>,
    /// Every box or pallet a document names; their contents on the list are loaded too.
    pub labels: BTreeSet<Sscc>,
    pub tasks: BTreeSet<String>,
    /// The orders to pick shipments were picked against.
    pub orders: BTreeSet<String>,
}

impl Keys {
    /// The codes and labels to read again from GIS MT: every one a pushed operation names, as
    /// `cises/info` takes them.
    pub fn refresh_codes(&self) -> Vec<String> {
        self.codes
            .iter()
            .map(Ki::to_string)
            .chain(self.labels.iter().map(Sscc::to_string))
            .collect()
    }

    pub fn of(request: &PushRequest) -> Keys {
        let mut keys = Keys::default();
        for operation in &request.operations {
            keys.uuids.push(canonical_uuid(&operation.uuid));
            let Ok(document) = &operation.document else {
                continue;
            };
            // Refused unread (see `judge`): its codes are not worth loading.
            if document.code_count() > MAX_OPERATION_CODES {
                continue;
            }
            match document {
                OperationDocument::Acceptance(d) => {
                    keys.tasks.extend(d.task_id.iter().cloned());
                    for list in [&d.accepted, &d.rejected, &d.surplus, &d.missing] {
                        keys.codes.extend(list.iter().copied());
                    }
                    keys.labels.extend(d.boxes.iter().copied());
                }
                OperationDocument::Aggregation(d) => {
                    for aggregate in &d.aggregates {
                        keys.labels.insert(aggregate.sscc);
                        for child in &aggregate.children {
                            match child {
                                PackedChild::Unit(ki) => keys.codes.insert(*ki),
                                PackedChild::Box(sscc) => keys.labels.insert(*sscc),
                            };
                        }
                    }
                }
                OperationDocument::Disaggregation(d) => keys.labels.extend(d.labels.iter()),
                OperationDocument::Reaggregation(d) => {
                    keys.labels.insert(d.sscc);
                    keys.codes.extend(d.units.iter().copied());
                }
                OperationDocument::WriteOff(d) => {
                    keys.codes.extend(d.codes.iter().copied());
                    for replacement in &d.replacements {
                        keys.codes.insert(replacement.old);
                        keys.codes.insert(replacement.new);
                    }
                }
                OperationDocument::Shipment(d) => {
                    keys.orders.extend(d.order_id.iter().cloned());
                    keys.codes.extend(d.units.iter().copied());
                    keys.labels.extend(d.labels.iter().chain(d.opened.iter()));
                }
                OperationDocument::Return(d) => {
                    keys.codes
                        .extend(d.units.iter().chain(d.relabelled.iter()).copied());
                }
                OperationDocument::Inventory(d) => {
                    keys.codes.extend(
                        d.found
                            .iter()
                            .chain(&d.foreign)
                            .chain(&d.wrong_status)
                            .chain(&d.unknown)
                            .chain(&d.missing)
                            .copied(),
                    );
                    keys.labels.extend(d.labels.iter().chain(d.opened.iter()));
                }
            }
        }
        keys
    }
}

/// One code on the list as a push holds it: the `cisInfo` line and what it says.
#[derive(Clone, Debug, PartialEq)]
struct Held {
    info: Value,
    status: Option<CodeStatus>,
}

/// Every fact a push can read, loaded before it is judged, and the list as the push's accepted
/// operations leave it.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The pushing device's own answers, by canonical UUID.
    answers: HashMap<String, OperationAnswer>,
    /// Canonical UUIDs another device already used.
    foreign_uuids: HashSet<String>,
    /// The participants (INNs) the hub's devices work for: a code one of them owns is not
    /// another's to accept or move.
    participants: HashSet<String>,
    statuses: HashMap<Ki, Held>,
    /// Block list keys in force (`code:КИ`, `gtin:GTIN`).
    blocks: HashSet<String>,
    labels: HashMap<Sscc, LabelOwner>,
    label_statuses: HashMap<Sscc, CodeStatus>,
    /// The boxes on each pallet named, as the terminals built them (`labels.parent`).
    pallet_boxes: HashMap<Sscc, Vec<Sscc>>,
    tasks: HashMap<String, Task>,
    /// The warehouse of each task that is one warehouse's.
    task_warehouses: HashMap<String, String>,
    /// The warehouse of each order to pick that is one warehouse's (withdrawn ones included:
    /// a withdrawn order is still that warehouse's).
    order_warehouses: HashMap<String, String>,
    catalog: HashMap<Gtin, ProductGroup>,
    /// Product names of the catalog, for the documents that describe their goods.
    names: HashMap<Gtin, String>,
    /// TN VED codes of the catalog, for the re-marking of returned goods.
    tnved: HashMap<Gtin, String>,
    /// Codes whose line the push changed, in the order first changed.
    changed: Vec<Ki>,
}

/// A code's status as a stored `cisInfo` line says it. Every stored line passed
/// `feed::parse_status` at import and the hub's own changes keep its shape; one that no longer
/// reads counts as unknown rather than failing the push.
pub fn status_of_line(line: &[u8]) -> Option<CodeStatus> {
    match feed::parse_status(line) {
        Ok(StatusRecord::Status { status, .. }) => Some(status),
        _ => None,
    }
}

/// The boxes a label's status names as its children (`child[]`, one level): how a pallet only
/// GIS MT knows says what it holds. Units among the children are left out; they are found by
/// their own `parent`.
pub fn label_children(line: &str) -> Vec<Sscc> {
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return Vec::new();
    };
    value
        .get("child")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|child| {
            let digits = match child.strip_prefix("00") {
                Some(rest) if rest.len() == 18 => rest,
                _ => child,
            };
            Sscc::from_digits(digits.as_bytes())
        })
        .collect()
}

/// The device that built a box or pallet under a label, and whose it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelOwner {
    pub device: i64,
    pub warehouse: String,
    pub participant: String,
}

impl Snapshot {
    /// The answer stored for an operation this device already pushed, under its canonical
    /// UUID.
    pub fn hold_answer(&mut self, uuid: String, answer: OperationAnswer) {
        self.answers.insert(uuid, answer);
    }

    /// A UUID another device's operation already has.
    pub fn hold_foreign_uuid(&mut self, uuid: String) {
        self.foreign_uuids.insert(uuid);
    }

    /// A participant some device of the hub works for.
    pub fn hold_participant(&mut self, inn: String) {
        self.participants.insert(inn);
    }

    /// A code's stored `cisInfo` line.
    pub fn hold_status(&mut self, ki: Ki, line: &str) -> Result<(), StoreError> {
        let status = status_of_line(line.as_bytes());
        let info = serde_json::from_str(line)?;
        self.statuses.insert(ki, Held { info, status });
        Ok(())
    }

    /// A block list record's key, when the record is in force (not a lifted block).
    pub fn hold_block(&mut self, key: String, item: &str) -> Result<(), StoreError> {
        let item: Value = serde_json::from_str(item)?;
        if item.get("remove").and_then(Value::as_bool) != Some(true) {
            self.blocks.insert(key);
        }
        Ok(())
    }

    pub fn hold_pallet_box(&mut self, pallet: Sscc, inner: Sscc) {
        let boxes = self.pallet_boxes.entry(pallet).or_default();
        if !boxes.contains(&inner) {
            boxes.push(inner);
        }
    }

    /// The units a label holds: a box's own, a pallet's through its boxes.
    fn units_of(&self, sscc: &Sscc) -> Vec<Ki> {
        let mut units = self.children_of(sscc);
        for inner in self.pallet_boxes.get(sscc).into_iter().flatten() {
            units.extend(self.children_of(inner));
        }
        units.sort();
        units.dedup();
        units
    }

    pub fn hold_label(&mut self, sscc: Sscc, owner: LabelOwner) {
        self.labels.insert(sscc, owner);
    }

    /// What GIS MT says of a box or pallet label, as imported into the statuses feed.
    pub fn hold_label_status(&mut self, sscc: Sscc, line: &str) {
        if let Some(status) = status_of_line(line.as_bytes()) {
            self.label_statuses.insert(sscc, status);
        }
    }

    /// A task line, stored only after `feed::parse_task` took it, and the one warehouse it is
    /// for, if it is one warehouse's.
    pub fn hold_task(&mut self, id: String, line: &str, warehouse: Option<&str>) {
        if let Some(task) = feed::parse_task(line.as_bytes()).ok().and_then(|r| r.task) {
            if let Some(warehouse) = warehouse {
                self.task_warehouses
                    .insert(id.clone(), warehouse.to_owned());
            }
            self.tasks.insert(id, task);
        }
    }

    /// The one warehouse an order to pick is for, if it is one warehouse's.
    pub fn hold_order(&mut self, id: String, warehouse: Option<&str>) {
        if let Some(warehouse) = warehouse {
            self.order_warehouses.insert(id, warehouse.to_owned());
        }
    }

    pub fn hold_catalog(&mut self, gtin: Gtin, line: &str) {
        let Ok(item) = feed::parse_catalog(line.as_bytes()) else {
            return;
        };
        if let Some(pg) = item.product_group {
            self.catalog.insert(gtin, pg);
        }
        self.names.insert(gtin, item.name);
        if let Some(code) = item.tnved {
            self.tnved.insert(gtin, code);
        }
    }

    /// The codes held (named by the push, or inside a box it names).
    pub fn held_codes(&self) -> impl Iterator<Item = &Ki> {
        self.statuses.keys()
    }

    /// The block list keys a code can fall under: itself and its GTIN. Series blocks need the
    /// batch (AI 10), which finished documents do not carry.
    pub fn block_keys(ki: &Ki) -> [String; 2] {
        [format!("code:{ki}"), format!("gtin:{}", ki.gtin())]
    }

    fn status(&self, ki: &Ki) -> Option<&CodeStatus> {
        self.statuses.get(ki).and_then(|h| h.status.as_ref())
    }

    fn block_hit(&self, ki: &Ki) -> Option<BlockHit> {
        let [code, gtin] = Snapshot::block_keys(ki);
        if self.blocks.contains(&code) {
            Some(BlockHit::Code)
        } else if self.blocks.contains(&gtin) {
            Some(BlockHit::Gtin(ki.gtin()))
        } else {
            None
        }
    }

    /// The units whose parent on the list is this box.
    fn children_of(&self, sscc: &Sscc) -> Vec<Ki> {
        let mut children: Vec<Ki> = self
            .statuses
            .iter()
            .filter(|(_, held)| {
                held.status
                    .as_ref()
                    .is_some_and(|s| s.parent == Some(Parent::Sscc(*sscc)))
            })
            .map(|(ki, _)| *ki)
            .collect();
        children.sort();
        children
    }

    /// Applies a change to a code on the list; a code not on the list is left alone (the hub
    /// does not invent a status it was never told).
    fn change(&mut self, ki: &Ki, change: StatusChange<'_>) -> Result<(), StoreError> {
        let Some(held) = self.statuses.get_mut(ki) else {
            return Ok(());
        };
        if let Some(fields) = held.info.as_object_mut() {
            match change {
                StatusChange::WrittenOff => {
                    fields.insert("status".into(), CisStatus::WrittenOff.api_name().into());
                }
                StatusChange::Owner(inn) => {
                    fields.insert("ownerInn".into(), inn.into());
                    fields.insert("statusEx".into(), "EMPTY".into());
                }
                StatusChange::Parent(Some(sscc)) => {
                    fields.insert("parent".into(), sscc.to_string().into());
                }
                StatusChange::Parent(None) => {
                    fields.insert("parent".into(), Value::Null);
                }
                // Still ours until the receiver accepts; on its way meanwhile, so it cannot
                // ship twice (GIS MT says the same after LP_SHIP_GOODS).
                StatusChange::Shipped => {
                    fields.insert("statusEx".into(), "WAIT_SHIPMENT".into());
                }
                // Back in circulation, ours: a returned unit, or the new code on a returned
                // item (GIS MT says the same after LP_RETURN and LK_REMARK).
                StatusChange::InCirculation(inn) => {
                    fields.insert("status".into(), CisStatus::Introduced.api_name().into());
                    fields.insert("ownerInn".into(), inn.into());
                    fields.insert("statusEx".into(), "EMPTY".into());
                }
            }
        }
        held.status = status_of_line(&serde_json::to_vec(&held.info)?);
        if !self.changed.contains(ki) {
            self.changed.push(*ki);
        }
        Ok(())
    }
}

impl documents::Facts for Snapshot {
    fn status(&self, ki: &Ki) -> Result<Option<CodeStatus>, StoreError> {
        Ok(Snapshot::status(self, ki).cloned())
    }

    fn task(&self, id: &str) -> Result<Option<Task>, StoreError> {
        Ok(self.tasks.get(id).cloned())
    }

    fn children(&self, sscc: &Sscc) -> Result<Vec<Ki>, StoreError> {
        Ok(self.units_of(sscc))
    }

    fn catalog_group(&self, ki: &Ki) -> Result<Option<ProductGroup>, StoreError> {
        Ok(self.catalog.get(&ki.gtin()).copied())
    }

    fn product_name(&self, gtin: &Gtin) -> Result<Option<String>, StoreError> {
        Ok(self.names.get(gtin).cloned())
    }

    fn tnved(&self, gtin: &Gtin) -> Result<Option<String>, StoreError> {
        Ok(self.tnved.get(gtin).cloned())
    }
}

/// A change to one code's authoritative status made by an accepted operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange<'a> {
    WrittenOff,
    Owner(&'a str),
    Parent(Option<Sscc>),
    /// Shipped, waiting for the receiver's acceptance.
    Shipped,
    /// In circulation again and this participant's: returned by a customer, or a new code
    /// on a returned item.
    InCirculation(&'a str),
}

/// One operation of a push to store, with its answer and, when accepted, what it made.
#[derive(Debug)]
pub struct Record<'r> {
    pub operation: &'r PushedOperation,
    /// The operation's UUID as it is stored: canonical.
    pub uuid: String,
    pub answer: OperationAnswer,
    pub made: Option<Made>,
}

/// What a judged push writes, and what it answers.
#[derive(Debug, Default)]
pub struct Outcome<'r> {
    /// One per pushed operation, in order.
    pub answers: Vec<OperationAnswer>,
    /// The operations new to the hub (not duplicates), in order.
    pub records: Vec<Record<'r>>,
    /// Each changed code's whole new `cisInfo` line.
    pub statuses: Vec<(Ki, Value)>,
    /// Labels the device built its first box under.
    pub labels: Vec<Sscc>,
    /// Boxes put on a pallet (`Some`) or taken off theirs (`None`), in order.
    pub pallets: Vec<(Sscc, Option<Sscc>)>,
}

/// Judges one push in arrival order against `snapshot`, which the accepted operations move on.
pub fn judge<'r>(
    snapshot: &mut Snapshot,
    device: &Device,
    request: &'r PushRequest,
    policy: &Policy,
    now: Timestamp,
) -> Result<Outcome<'r>, StoreError> {
    let mut outcome = Outcome {
        answers: Vec::with_capacity(request.operations.len()),
        ..Outcome::default()
    };
    for operation in &request.operations {
        let uuid = canonical_uuid(&operation.uuid);
        if let Some(first) = snapshot.answers.get(&uuid) {
            outcome.answers.push(OperationAnswer {
                // Answered in the spelling the terminal used, which is how it matches answers.
                uuid: operation.uuid.clone(),
                result: PushResult::Duplicate,
                original: Some(first.result),
                ..first.clone()
            });
            continue;
        }
        let judged = if snapshot.foreign_uuids.contains(&uuid) {
            // Never another device's answer, and never silently dropped: the operation is
            // refused and kept, so a replay of it is this device's own duplicate.
            tracing::warn!(
                device = device.id,
                uuid = %uuid,
                "a device pushed an operation UUID another device already used"
            );
            Err(vec![reason(
                "uuid_of_another_device",
                "Another terminal already sent an operation with this id; this one is not \
                 applied. Tell the hub's administrator."
                    .into(),
                "Другой терминал уже отправил операцию с этим идентификатором; эта операция не \
                 применена. Сообщите администратору хаба."
                    .into(),
                Some(uuid.clone()),
            )])
        } else {
            match &operation.document {
                Ok(document) if document.code_count() > MAX_OPERATION_CODES => Err(vec![reason(
                    "too_many_codes",
                    format!(
                        "The operation names {} codes; at most {MAX_OPERATION_CODES} go in one.",
                        document.code_count()
                    ),
                    format!(
                        "В операции {} кодов; в одной операции может быть не более \
                         {MAX_OPERATION_CODES}.",
                        document.code_count()
                    ),
                    None,
                )]),
                Ok(document) => judge_one(
                    snapshot,
                    device,
                    document,
                    Timestamp(operation.finished_at),
                    policy,
                    now,
                )?,
                Err(unreadable) => Err(vec![reason(
                    "bad_payload",
                    format!(
                        "The {} document is not in the expected form: {}.",
                        unreadable.kind, unreadable.error
                    ),
                    format!(
                        "Документ «{}» имеет неверный формат: {}.",
                        unreadable.kind, unreadable.error
                    ),
                    None,
                )]),
            }
        };
        let record = match judged {
            Ok((changes, made)) => {
                for (ki, change) in changes {
                    snapshot.change(&ki, change)?;
                }
                record_pallets(snapshot, &mut outcome, &operation.document);
                if let Ok(OperationDocument::Aggregation(d)) = &operation.document {
                    for aggregate in &d.aggregates {
                        if let std::collections::hash_map::Entry::Vacant(entry) =
                            snapshot.labels.entry(aggregate.sscc)
                        {
                            entry.insert(LabelOwner {
                                device: device.id,
                                warehouse: device.warehouse.clone(),
                                participant: device.participant_inn.clone(),
                            });
                            outcome.labels.push(aggregate.sscc);
                        }
                    }
                }
                Record {
                    operation,
                    uuid: uuid.clone(),
                    answer: OperationAnswer {
                        uuid: operation.uuid.clone(),
                        result: PushResult::Accepted,
                        original: None,
                        reasons: Vec::new(),
                        notices: made.notices.clone(),
                    },
                    made: Some(made),
                }
            }
            Err(reasons) => Record {
                operation,
                uuid: uuid.clone(),
                answer: OperationAnswer {
                    uuid: operation.uuid.clone(),
                    result: PushResult::Rejected,
                    original: None,
                    reasons,
                    notices: Vec::new(),
                },
                made: None,
            },
        };
        // The same operation twice in one push is a duplicate of the first.
        snapshot.hold_answer(uuid, record.answer.clone());
        outcome.answers.push(record.answer.clone());
        outcome.records.push(record);
    }
    outcome.statuses = snapshot
        .changed
        .iter()
        .filter_map(|ki| snapshot.statuses.get(ki).map(|h| (*ki, h.info.clone())))
        .collect();
    Ok(outcome)
}

type Changes<'a> = Vec<(Ki, StatusChange<'a>)>;

/// What an accepted operation changes and the documents it makes, or every reason it is
/// refused. An operation is judged in its device's warehouse and participant: a task must be
/// one its warehouse may work, a box one its warehouse built (or GIS MT says is its
/// participant's), and no code another participant of the hub owns is its to accept or move.
fn judge_one<'d>(
    snapshot: &Snapshot,
    device: &'d Device,
    document: &OperationDocument,
    finished_at: Timestamp,
    policy: &Policy,
    now: Timestamp,
) -> Result<Result<(Changes<'d>, Made), Vec<OperationReason>>, StoreError> {
    let own = device.participant_inn.as_str();
    let mut reasons = Vec::new();
    let mut changes = Changes::new();
    // Codes accepted on the task's word alone: the hub holds no status for them yet.
    let mut held = Vec::new();
    // A code twice in one document would otherwise pass both times: the list changes only
    // after the whole document is judged.
    let mut seen = HashSet::new();
    let mut check = |code: Code<'_>,
                     change: StatusChange<'d>,
                     reasons: &mut Vec<OperationReason>|
     -> Result<(), StoreError> {
        if let Some(refusal) = another_participants(snapshot, own, code.ki) {
            reasons.push(refusal);
            return Ok(());
        }
        match judge_code(snapshot, own, &code, &mut seen, policy, now) {
            Ok(()) => changes.push((*code.ki, change)),
            Err(mut refused) => reasons.append(&mut refused),
        }
        Ok(())
    };
    match document {
        OperationDocument::Acceptance(d) => {
            let task = d.task_id.as_ref().and_then(|id| snapshot.tasks.get(id));
            if let Some(id) = &d.task_id
                && let Some(warehouse) = snapshot.task_warehouses.get(id)
                && *warehouse != device.warehouse
            {
                reasons.push(reason(
                    "task_of_another_warehouse",
                    format!("The task is warehouse {warehouse}'s, not this terminal's."),
                    format!("Задание относится к складу {warehouse}, а не к складу терминала."),
                    Some(id.clone()),
                ));
            }
            let listed: HashSet<&Ki> = task.map_or_else(HashSet::new, |t| {
                t.units
                    .iter()
                    .chain(t.boxes.iter().flat_map(|(_, units)| units))
                    .collect()
            });
            // A surplus unit was never shipped to us: it is no part of the shipment's
            // document and does not change hands with it.
            let surplus: HashSet<&Ki> = d.surplus.iter().collect();
            let refused: HashSet<&Ki> = d.rejected.iter().collect();
            for ki in d
                .accepted
                .iter()
                .filter(|ki| !surplus.contains(ki) && !refused.contains(ki))
            {
                let unknown_held = listed.contains(ki) && snapshot.status(ki).is_none();
                if unknown_held {
                    held.push(*ki);
                }
                check(
                    Code {
                        ki,
                        operation: OperationKind::Acceptance,
                        supplier: task.map(|t| t.sender_inn),
                        unknown_held,
                        taken_out: false,
                    },
                    StatusChange::Owner(device.participant_inn.as_str()),
                    &mut reasons,
                )?;
            }
        }
        OperationDocument::Aggregation(d) => {
            for aggregate in &d.aggregates {
                // Each terminal prints labels from its own serial range; the same label from
                // two devices is two boxes under one SSCC, which GIS MT cannot tell apart.
                if snapshot
                    .labels
                    .get(&aggregate.sscc)
                    .is_some_and(|owner| owner.device != device.id)
                {
                    reasons.push(reason(
                        "label_of_another_device",
                        "Another terminal already built a box under this label: print a new \
                         label."
                            .into(),
                        "Другой терминал уже сформировал короб с этой этикеткой: напечатайте \
                         новую этикетку."
                            .into(),
                        Some(aggregate.sscc.to_string()),
                    ));
                }
                for child in &aggregate.children {
                    match child {
                        PackedChild::Unit(ki) => check(
                            Code::moved(ki, OperationKind::Aggregation),
                            StatusChange::Parent(Some(aggregate.sscc)),
                            &mut reasons,
                        )?,
                        PackedChild::Box(inner) => {
                            reasons.extend(box_not_ours(snapshot, device, inner));
                        }
                    }
                }
            }
        }
        OperationDocument::Disaggregation(d) => {
            for sscc in &d.labels {
                if let Some(refusal) = box_not_ours(snapshot, device, sscc) {
                    reasons.push(refusal);
                    continue;
                }
                // A label GIS MT knows is judged like a unit: ours, in circulation.
                let label = snapshot.label_statuses.get(sscc);
                let context = Context {
                    operation: OperationKind::Aggregation,
                    own_inn: Inn::parse(own),
                    supplier_inn: None,
                    product_group: None,
                };
                let verdict = validate_label(label, &context, policy);
                reasons.extend(refusals(&verdict, &sscc.to_string()));
                for ki in snapshot.children_of(sscc) {
                    match another_participants(snapshot, own, &ki) {
                        Some(refusal) => reasons.push(refusal),
                        None => changes.push((ki, StatusChange::Parent(None))),
                    }
                }
            }
        }
        OperationDocument::Reaggregation(d) => {
            if let Some(refusal) = box_not_ours(snapshot, device, &d.sscc) {
                reasons.push(refusal);
            }
            match d.reaggregation_type {
                ReaggregationType::Adding => {
                    for ki in &d.units {
                        check(
                            Code::moved(ki, OperationKind::Aggregation),
                            StatusChange::Parent(Some(d.sscc)),
                            &mut reasons,
                        )?;
                    }
                }
                ReaggregationType::Moving => {
                    // Each unit comes out of the box the terminal saw it in, which must be
                    // where the hub's list has it too, and is judged as if loose.
                    let mut from: HashMap<Ki, Sscc> = HashMap::new();
                    for taken in &d.taken_from {
                        if let Some(refusal) = box_not_ours(snapshot, device, &taken.sscc) {
                            reasons.push(refusal);
                        }
                        for ki in &taken.units {
                            from.insert(*ki, taken.sscc);
                        }
                    }
                    for ki in &d.units {
                        let parent = snapshot.status(ki).and_then(|s| match s.parent {
                            Some(Parent::Sscc(sscc)) => Some(sscc),
                            _ => None,
                        });
                        let declared = from.get(ki).copied();
                        if parent == Some(d.sscc) {
                            reasons.push(reason(
                                "already_inside",
                                "The unit is in this box already.".into(),
                                "Единица уже в этом коробе.".into(),
                                Some(ki.to_string()),
                            ));
                            continue;
                        }
                        if parent.is_some() && parent != declared {
                            reasons.push(reason(
                                "moved_from_elsewhere",
                                "The hub's list has the unit in another box than the one it was \
                                 moved out of."
                                    .into(),
                                "По списку хаба единица лежит не в том коробе, из которого её \
                                 переложили."
                                    .into(),
                                Some(ki.to_string()),
                            ));
                            continue;
                        }
                        check(
                            Code {
                                taken_out: true,
                                ..Code::moved(ki, OperationKind::Aggregation)
                            },
                            StatusChange::Parent(Some(d.sscc)),
                            &mut reasons,
                        )?;
                    }
                    if d.taken_from
                        .iter()
                        .any(|t| t.units.iter().any(|ki| !d.units.contains(ki)))
                    {
                        reasons.push(reason(
                            "bad_move",
                            "The move names a unit taken out of a box that it does not put into \
                             this one."
                                .into(),
                            "Перекладка называет единицу, изъятую из короба, но не вложенную в \
                             этот."
                                .into(),
                            None,
                        ));
                    }
                }
                ReaggregationType::Removing => {
                    let inside: HashSet<Ki> = snapshot.children_of(&d.sscc).into_iter().collect();
                    for ki in &d.units {
                        if let Some(refusal) = another_participants(snapshot, own, ki) {
                            reasons.push(refusal);
                        } else if inside.contains(ki) {
                            changes.push((*ki, StatusChange::Parent(None)));
                        } else {
                            reasons.push(reason(
                                "not_in_box",
                                "The unit is not in this box, so it cannot be taken out of it."
                                    .into(),
                                "Единицы нет в этом коробе, её нельзя из него изъять.".into(),
                                Some(ki.to_string()),
                            ));
                        }
                    }
                }
            }
        }
        OperationDocument::WriteOff(d) => {
            for ki in &d.codes {
                check(
                    Code::moved(ki, OperationKind::WriteOff),
                    StatusChange::WrittenOff,
                    &mut reasons,
                )?;
            }
        }
        OperationDocument::Shipment(d) => {
            if let Some(id) = &d.order_id
                && let Some(warehouse) = snapshot.order_warehouses.get(id)
                && *warehouse != device.warehouse
            {
                reasons.push(reason(
                    "order_of_another_warehouse",
                    format!("The order is warehouse {warehouse}'s, not this terminal's."),
                    format!("Заказ относится к складу {warehouse}, а не к складу терминала."),
                    Some(id.clone()),
                ));
            }
            if d.receiver_inn.as_str() == own {
                reasons.push(reason(
                    "ship_to_self",
                    "A shipment goes to another participant, not to ourselves.".into(),
                    "Отгрузка оформляется другому участнику, а не самим себе.".into(),
                    Some(d.receiver_inn.as_str().to_owned()),
                ));
            }
            let context = Context {
                operation: OperationKind::Shipment,
                own_inn: Inn::parse(own),
                supplier_inn: None,
                product_group: None,
            };
            // Opened boxes are unpacked first: what they held is loose from then on.
            let mut unpacked = Vec::new();
            for sscc in &d.opened {
                match box_not_ours(snapshot, device, sscc) {
                    Some(refusal) => reasons.push(refusal),
                    None => unpacked.extend(snapshot.children_of(sscc)),
                }
            }
            for ki in &d.units {
                check(
                    Code::moved(ki, OperationKind::Shipment),
                    StatusChange::Shipped,
                    &mut reasons,
                )?;
            }
            for sscc in &d.labels {
                if let Some(refusal) = box_not_ours(snapshot, device, sscc) {
                    reasons.push(refusal);
                    continue;
                }
                let verdict = validate_label(snapshot.label_statuses.get(sscc), &context, policy);
                reasons.extend(refusals(&verdict, &sscc.to_string()));
                // A box ships what it holds, a pallet what its boxes hold: each unit judged
                // as if scanned alone.
                for ki in snapshot.units_of(sscc) {
                    check(
                        Code::moved(&ki, OperationKind::Shipment),
                        StatusChange::Shipped,
                        &mut reasons,
                    )?;
                }
            }
            for ki in unpacked {
                changes.push((ki, StatusChange::Parent(None)));
            }
        }
        // A count changes nothing but what its settling write-off takes: the missing codes
        // still ours and in stock on the list. What it found is reported, never refused.
        OperationDocument::Inventory(d) => {
            if let Some(participant) = Inn::parse(own) {
                for ki in documents::settled_missing(d, &participant, snapshot)? {
                    match another_participants(snapshot, own, &ki) {
                        Some(refusal) => reasons.push(refusal),
                        None => changes.push((ki, StatusChange::WrittenOff)),
                    }
                }
            }
        }
        OperationDocument::Return(d) => {
            // Only what this participant sold comes back: retired, by us (the rules of
            // `OperationKind::Return`).
            for ki in &d.units {
                check(
                    Code::moved(ki, OperationKind::Return),
                    StatusChange::InCirculation(own),
                    &mut reasons,
                )?;
            }
            for ki in &d.relabelled {
                match new_label_refusal(snapshot, own, ki, &mut seen) {
                    Some(refusal) => reasons.push(refusal),
                    None => changes.push((*ki, StatusChange::InCirculation(own))),
                }
            }
        }
    }
    if !reasons.is_empty() {
        return Ok(Err(reasons));
    }
    let Some(participant) = Inn::parse(own) else {
        return Ok(Err(vec![reason(
            "bad_participant",
            "The device's participant INN is not valid.".into(),
            "ИНН участника устройства некорректен.".into(),
            None,
        )]));
    };
    Ok(
        documents::make(document, &participant, finished_at, snapshot)?.map(|mut made| {
            made.notices.extend(held.iter().map(|ki| {
                reason(
                    "not_yet_known",
                    "Accepted as the task lists it; GIS MT's status of this code is not on the \
                     hub yet and comes with the next status refresh."
                        .into(),
                    "Принят, так как указан в задании; статус кода из ГИС МТ ещё не загружен на \
                     хаб и придёт со следующим обновлением статусов."
                        .into(),
                    Some(ki.to_string()),
                )
            }));
            (changes, made)
        }),
    )
}

/// Which pallet each box sits on after an accepted operation: a pallet packed puts its boxes
/// on it; a pallet unpacked, or opened to ship part of it, takes them off.
fn record_pallets(
    snapshot: &mut Snapshot,
    outcome: &mut Outcome<'_>,
    document: &Result<OperationDocument, tally_wire::document::UnreadableDocument>,
) {
    let mut placed: Vec<(Sscc, Option<Sscc>)> = Vec::new();
    let mut off = |pallets: &[Sscc], snapshot: &Snapshot| {
        for pallet in pallets {
            for inner in snapshot.pallet_boxes.get(pallet).into_iter().flatten() {
                placed.push((*inner, None));
            }
        }
    };
    match document {
        Ok(OperationDocument::Aggregation(d)) => {
            for aggregate in &d.aggregates {
                for child in &aggregate.children {
                    if let PackedChild::Box(inner) = child {
                        placed.push((*inner, Some(aggregate.sscc)));
                    }
                }
            }
        }
        Ok(OperationDocument::Disaggregation(d)) => off(&d.labels, snapshot),
        Ok(OperationDocument::Shipment(d)) => off(&d.opened, snapshot),
        _ => {}
    }
    for (inner, pallet) in placed {
        for boxes in snapshot.pallet_boxes.values_mut() {
            boxes.retain(|b| *b != inner);
        }
        if let Some(pallet) = pallet {
            snapshot.hold_pallet_box(pallet, inner);
        }
        outcome.pallets.push((inner, pallet));
    }
}

/// One code to judge, with what its operation says of it.
#[derive(Clone, Copy, Debug)]
struct Code<'a> {
    ki: &'a Ki,
    operation: OperationKind,
    /// The shipment's supplier, for an acceptance against a task.
    supplier: Option<Inn>,
    /// An acceptance may take this code without a status (see [`UNKNOWN_CODES`]).
    unknown_held: bool,
    /// The unit leaves the box it sits in first (a move): judged as if in none.
    taken_out: bool,
}

impl<'a> Code<'a> {
    fn moved(ki: &'a Ki, operation: OperationKind) -> Code<'a> {
        Code {
            ki,
            operation,
            supplier: None,
            unknown_held: false,
            taken_out: false,
        }
    }
}

/// The refusal of a code another participant of this hub owns: not this device's to accept,
/// box, open or write off, whatever the terminal's replica said.
fn another_participants(snapshot: &Snapshot, own: &str, ki: &Ki) -> Option<OperationReason> {
    let owner = snapshot.status(ki)?.owner?;
    (owner.as_str() != own && snapshot.participants.contains(owner.as_str())).then(|| {
        reason(
            "owned_by_another_participant",
            format!(
                "The code belongs to {}, another participant of this hub.",
                owner.as_str()
            ),
            format!(
                "Код принадлежит {}, другому участнику этого хаба.",
                owner.as_str()
            ),
            Some(ki.to_string()),
        )
    })
}

/// Why a code cannot be the new label of a returned item: it marks goods already (in
/// circulation or out of it), another participant of this hub holds it, or the document
/// names it twice. A code the hub has not heard of is a fresh one from the participant's
/// order, as the terminal judged it.
fn new_label_refusal(
    snapshot: &Snapshot,
    own: &str,
    ki: &Ki,
    seen: &mut HashSet<Ki>,
) -> Option<OperationReason> {
    if !seen.insert(*ki) {
        return Some(reason(
            "duplicate_in_document",
            "The document names this code twice.".into(),
            "Код указан в документе дважды.".into(),
            Some(ki.to_string()),
        ));
    }
    if let Some(refusal) = another_participants(snapshot, own, ki) {
        return Some(refusal);
    }
    let status = snapshot.status(ki)?.status;
    (!matches!(
        status,
        CisStatus::Emitted | CisStatus::Applied | CisStatus::AppliedNotPaid
    ))
    .then(|| {
        reason(
            "not_a_new_code",
            format!("The code is already {status}: a new label needs a code not in circulation yet."),
            format!("Код уже в статусе {status}: для новой этикетки нужен код, ещё не введённый в оборот."),
            Some(ki.to_string()),
        )
    })
}

/// The refusal of a box or pallet another warehouse built, or another participant's.
fn box_not_ours(snapshot: &Snapshot, device: &Device, sscc: &Sscc) -> Option<OperationReason> {
    let owner = snapshot.labels.get(sscc)?;
    (owner.warehouse != device.warehouse || owner.participant != device.participant_inn).then(
        || {
            reason(
                "box_of_another_warehouse",
                format!(
                    "The box was built at warehouse {} for {}; this terminal may not open or \
                     change it.",
                    owner.warehouse, owner.participant
                ),
                format!(
                    "Короб сформирован на складе {} для {}; этот терминал не может его \
                     вскрыть или изменить.",
                    owner.warehouse, owner.participant
                ),
                Some(sscc.to_string()),
            )
        },
    )
}

/// One code of a document judged as the terminal would, but against the hub's list. Warnings
/// were confirmed by the operator at the terminal; only what the policy rejects refuses.
fn judge_code(
    snapshot: &Snapshot,
    own: &str,
    code: &Code<'_>,
    seen: &mut HashSet<Ki>,
    policy: &Policy,
    now: Timestamp,
) -> Result<(), Vec<OperationReason>> {
    let ki = code.ki;
    let Ok(parsed) = parse(ki.to_string().as_bytes(), &ParseOptions::default()) else {
        return Err(vec![reason(
            "bad_code",
            "The document holds text that is not a marking code.".into(),
            "В документе есть текст, не являющийся кодом маркировки.".into(),
            Some(ki.to_string()),
        )]);
    };
    let loose = code
        .taken_out
        .then(|| snapshot.status(ki).cloned())
        .flatten()
        .map(|mut status| {
            status.parent = None;
            status
        });
    let facts = Facts {
        status: if code.taken_out {
            loose.as_ref()
        } else {
            snapshot.status(ki)
        },
        block: snapshot.block_hit(ki),
        catalog_group: None,
        // The hub's list is the source of truth, never stale from its own point of view.
        last_sync: Some(now),
        duplicate_in_document: !seen.insert(*ki),
        expectation: Expectation::NoList,
    };
    let context = Context {
        operation: code.operation,
        own_inn: Inn::parse(own),
        supplier_inn: code.supplier,
        product_group: None,
    };
    let verdict = validate(&parsed, &facts, &context, policy, now);
    let mut reasons = refusals(&verdict, &ki.to_string());
    if code.unknown_held {
        reasons.retain(|r| r.code != "unknown_code");
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

/// What a verdict refuses, as reasons about `subject`. Warnings were the operator's to
/// confirm at the terminal; only what the policy rejects refuses at the hub.
fn refusals(verdict: &Verdict, subject: &str) -> Vec<OperationReason> {
    verdict
        .findings
        .iter()
        .filter(|(_, severity)| *severity == Severity::Reject)
        .map(|(finding, _)| {
            reason(
                finding.code(),
                finding.message(Lang::En),
                finding.message(Lang::Ru),
                Some(subject.to_owned()),
            )
        })
        .collect()
}
