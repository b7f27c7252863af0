//! The hub protocol's envelopes: the JSON bodies the terminal and the hub exchange over HTTP.
//!
//! Every request carries the header [`PROTOCOL_HEADER`] with the terminal's
//! [`PROTOCOL_VERSION`]; the hub answers a version below [`MIN_PROTOCOL_VERSION`] with
//! `426 Upgrade Required` and an [`ErrorBody`] coded `protocol_too_old`. A missing header counts
//! as version 1.
//!
//! **Released wire types are never edited, only added to.** A field once shipped keeps its name,
//! type and meaning; new fields are optional (`#[serde(default)]`) so an older peer's body still
//! reads; unknown fields are ignored on both sides. A change that cannot be made that way is a
//! new protocol version with new types beside the old ones, and the hub keeps serving the old
//! version until [`MIN_PROTOCOL_VERSION`] moves past it. `docs/hub-protocol.openapi.yaml`
//! describes the same bodies for people.
//!
//! Endpoints: `POST /v1/enroll` ([`EnrollRequest`] → [`EnrollResponse`], no token),
//! `POST /v1/push` ([`PushRequest`] → [`PushResponse`]), `GET /v1/pull/{feed}?after=&limit=`
//! (→ [`PullResponse`]), all but enrollment with a device's `Authorization: Bearer TOKEN`, and
//! `GET /v1/fleet` (→ [`FleetResponse`]) with an administrator's token. Errors are an
//! [`ErrorBody`] with a 4xx or 5xx status. Answers may come gzipped (`Content-Encoding`) to a
//! client that sends `Accept-Encoding: gzip`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::document::{OperationDocument, UnreadableDocument};

/// The version this build speaks. 2 added snapshot pages ([`PullResponse::snapshot`]); the
/// hub sends them only to terminals of version 2 or newer. 3 added the `verdicts` feed
/// ([`Verdict`]) and [`PullResponse::statuses_as_of`]; a hub of version 2 answers the feed
/// `404`, which a terminal of version 3 takes as an empty feed. 4 added the `orders` feed
/// (customers' orders to pick), which a hub of version 3 answers `404` the same way.
pub const PROTOCOL_VERSION: u32 = 4;
/// The oldest terminal version the hub still serves.
pub const MIN_PROTOCOL_VERSION: u32 = 1;
/// The request header that names the sender's protocol version.
pub const PROTOCOL_HEADER: &str = "Tally-Protocol";
/// Most operations one push may carry; the terminal sends its queue in batches of this size.
pub const MAX_PUSH_OPERATIONS: usize = 1000;
/// Most items one pull page holds, whatever `limit` asks for.
pub const MAX_PULL_LIMIT: u32 = 5000;

/// Every refusal: a stable code (never renamed once released) and both messages.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct ErrorBody {
    pub code: String,
    pub en: String,
    pub ru: String,
}

/// Trades a one-time enrollment code, printed by `tally-hub enroll-code`, for a device token.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct EnrollRequest {
    pub code: String,
    /// A name for the fleet page (the terminal's host name or serial number).
    pub device_name: String,
    pub app_version: String,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct EnrollResponse {
    pub device_id: i64,
    /// The bearer token: shown once, the hub keeps only its SHA-256.
    pub token: String,
    pub warehouse: String,
    /// The participant the terminal works for (its `own_inn` in validation).
    pub participant_inn: String,
    /// The serial references this terminal alone may put in the SSCCs it prints. Absent from
    /// hubs of protocol 2; a terminal then counts from 1 as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sscc_serials: Option<SerialRange>,
}

/// How many SSCC serial references each enrolled device gets: a million labels, years of
/// boxes for one terminal. With a 7-digit company prefix the 9-digit serial reference holds
/// a thousand devices' ranges; a longer prefix leaves fewer (the terminal refuses a label
/// its range or its prefix cannot hold).
pub const SSCC_SERIALS_PER_DEVICE: u64 = 1_000_000;

/// A range of SSCC serial references, both ends included.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SerialRange {
    pub first: u64,
    pub last: u64,
}

impl SerialRange {
    /// The range of a device: device ids are never reused (a reinstalled terminal enrolls as a
    /// new device), so no two devices, and no device twice, print the same label.
    pub fn for_device(device_id: i64) -> SerialRange {
        let block = device_id.unsigned_abs();
        let first = block.saturating_mul(SSCC_SERIALS_PER_DEVICE);
        SerialRange {
            first,
            last: first.saturating_add(SSCC_SERIALS_PER_DEVICE - 1),
        }
    }

    pub fn contains(self, serial: u64) -> bool {
        (self.first..=self.last).contains(&serial)
    }
}

/// What the terminal reports about itself on every push, for the fleet page.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
pub struct DeviceReport {
    pub app_version: String,
    /// Finished operations waiting in its queue, this batch included.
    pub queue_depth: u64,
    /// When its status list was last brought up to date (ms since the epoch); `None` if never.
    pub cache_synced_at: Option<i64>,
}

/// One finished operation from the terminal's queue (`tally_sync::store::QueuedOperation`).
///
/// On the wire: `{"uuid", "seq", "kind", "operator", "started_at", "finished_at", "payload"}`.
/// A document this build cannot read (an unknown kind, a payload of the wrong shape) still
/// reads as an operation, so the hub can refuse that one operation with its reason and take the
/// rest of the push.
#[derive(Clone, PartialEq, Debug)]
pub struct PushedOperation {
    /// The operation's identity: the hub applies each UUID at most once.
    pub uuid: String,
    /// The per-device queue sequence number; never reused.
    pub seq: i64,
    pub operator: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub document: Result<OperationDocument, UnreadableDocument>,
}

#[derive(Serialize, Deserialize)]
struct PushedOperationWire {
    uuid: String,
    seq: i64,
    kind: String,
    operator: String,
    started_at: i64,
    finished_at: i64,
    payload: Value,
}

impl Serialize for PushedOperation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (kind, payload) = match &self.document {
            Ok(document) => (document.kind().name().to_owned(), document.payload()),
            Err(unreadable) => (unreadable.kind.clone(), unreadable.payload.clone()),
        };
        PushedOperationWire {
            uuid: self.uuid.clone(),
            seq: self.seq,
            kind,
            operator: self.operator.clone(),
            started_at: self.started_at,
            finished_at: self.finished_at,
            payload,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for PushedOperation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PushedOperation, D::Error> {
        let wire = PushedOperationWire::deserialize(d)?;
        Ok(PushedOperation {
            document: OperationDocument::from_parts(&wire.kind, wire.payload),
            uuid: wire.uuid,
            seq: wire.seq,
            operator: wire.operator,
            started_at: wire.started_at,
            finished_at: wire.finished_at,
        })
    }
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct PushRequest {
    pub device: DeviceReport,
    pub operations: Vec<PushedOperation>,
}

/// The hub's answer to one operation.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "snake_case")]
pub enum PushResult {
    /// Applied: the hub's statuses now reflect it.
    Accepted,
    /// Refused: nothing of it was applied; `reasons` say why.
    Rejected,
    /// Seen before: `original` and `reasons` are the first answer, unchanged.
    Duplicate,
}

impl PushResult {
    /// The JSON name, also how the hub stores the answer.
    pub fn code(self) -> &'static str {
        match self {
            PushResult::Accepted => "accepted",
            PushResult::Rejected => "rejected",
            PushResult::Duplicate => "duplicate",
        }
    }

    pub fn from_code(code: &str) -> Option<PushResult> {
        [
            PushResult::Accepted,
            PushResult::Rejected,
            PushResult::Duplicate,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

/// Why an operation was refused, naming the code at fault when there is one.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct OperationReason {
    pub code: String,
    pub en: String,
    pub ru: String,
    /// The КИ (`01`GTIN`21`serial) or SSCC the reason is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct OperationAnswer {
    pub uuid: String,
    pub result: PushResult,
    /// For a duplicate, the first answer (`accepted` or `rejected`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<PushResult>,
    #[serde(default)]
    pub reasons: Vec<OperationReason>,
    /// What an accepted operation should know: it was applied, but (for example) the hub could
    /// make no GIS MT document of it. Absent when empty; terminals of protocol 2 ignore it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<OperationReason>,
}

impl OperationAnswer {
    /// Whether the hub holds the operation as applied, on this push or an earlier one.
    pub fn applied(&self) -> bool {
        self.result == PushResult::Accepted || self.original == Some(PushResult::Accepted)
    }
}

/// One answer per pushed operation, in the request's order.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct PushResponse {
    pub answers: Vec<OperationAnswer>,
}

/// The feeds a terminal pulls, each with its own cursor.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    /// Items in the True API `cisInfo` line shape `store::import` reads.
    Statuses,
    /// `{"kind": "code"|"gtin"|"series", ...}` lines, `"remove": true` lifting a block.
    Blocks,
    /// `{"gtin", "name", "productGroupId"?, "unit"?}` lines.
    Catalog,
    /// Acceptance tasks, `{"id", "number", "senderInn", "date", "units", "boxes"}` lines.
    Tasks,
    /// Customers' orders to pick, `{"id", "number", "receiverInn"?, "date", "units", "lines"}`
    /// lines (`feed::parse_order`; protocol 4, a hub of 3 answers the feed `404`).
    Orders,
    /// Who may sign in: `{"id", "name", "pinSalt", "pinSha256", "badge"?, "supervisor"?}`
    /// lines. The hub hashes PINs on import; a plain PIN never travels.
    Operators,
    /// What GIS MT made of the documents of the warehouse's operations: [`Verdict`] items, one
    /// per document once it is final (protocol 3; made by the hub, never imported).
    Verdicts,
}

impl Feed {
    pub const ALL: [Feed; 7] = [
        Feed::Statuses,
        Feed::Blocks,
        Feed::Catalog,
        Feed::Tasks,
        Feed::Orders,
        Feed::Operators,
        Feed::Verdicts,
    ];

    /// The path segment: `/v1/pull/{name}`.
    pub fn name(self) -> &'static str {
        match self {
            Feed::Statuses => "statuses",
            Feed::Blocks => "blocks",
            Feed::Catalog => "catalog",
            Feed::Tasks => "tasks",
            Feed::Orders => "orders",
            Feed::Operators => "operators",
            Feed::Verdicts => "verdicts",
        }
    }

    pub fn from_name(name: &str) -> Option<Feed> {
        Feed::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The digest an operator's PIN is kept as, on the hub and on the terminal: SHA-256 of the
/// salt, a colon and the PIN, in lower-case hex. A four-digit PIN is no secret against someone
/// holding the replica; the digest keeps it out of logs, exports and backups.
pub fn pin_digest(salt: &str, pin: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{salt}:{pin}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// One change: the whole current state of one record, as an import line.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct FeedItem {
    /// Its place in the hub's change log; pass the last one seen as `after`.
    pub seq: i64,
    pub item: Value,
}

/// A page of a feed: the changes after the request's cursor, oldest first. A record changed
/// twice appears once, at its latest place, so a page is always the current state.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct PullResponse {
    pub feed: Feed,
    pub items: Vec<FeedItem>,
    /// The cursor for the next page (the last item's `seq`, or `after` for an empty page).
    pub next_after: i64,
    /// More items wait after `next_after`.
    pub more: bool,
    /// The page is part of a snapshot (protocol 2): the terminal's cursor was older than what
    /// the hub still logs, so the feed is sent whole from the start. The terminal asks for the
    /// next pages with `snapshot=1` until `more` is false, then drops every record of the feed
    /// the snapshot did not carry. Absent (false) on ordinary pages.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snapshot: bool,
    /// When the hub last read the statuses of the terminal's warehouse from GIS MT (ms since
    /// the epoch), so the terminal can show how old its list is (protocol 3; on pages of the
    /// statuses feed). Absent while the hub has no link to GIS MT or has not read them yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses_as_of: Option<i64>,
}

/// Where one GIS MT document of an operation stands (`tally-hub` journal, [`Verdict`]).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "snake_case")]
pub enum DocumentState {
    /// Made at intake, not yet sent.
    Waiting,
    /// Being sent: the hub asked GIS MT to create it and has no id back yet.
    Sending,
    /// GIS MT holds it (its id is known) and has not finished checking it.
    InProgress,
    /// GIS MT accepted it (the codes' statuses are read again to prove the effect).
    CheckedOk,
    /// GIS MT refused it; the reasons say why.
    CheckedNotOk,
    /// GIS MT could not process it; the reasons say why.
    ProcessingError,
}

impl DocumentState {
    pub const ALL: [DocumentState; 6] = [
        DocumentState::Waiting,
        DocumentState::Sending,
        DocumentState::InProgress,
        DocumentState::CheckedOk,
        DocumentState::CheckedNotOk,
        DocumentState::ProcessingError,
    ];

    /// The JSON name, also how the hub stores the state.
    pub fn code(self) -> &'static str {
        match self {
            DocumentState::Waiting => "waiting",
            DocumentState::Sending => "sending",
            DocumentState::InProgress => "in_progress",
            DocumentState::CheckedOk => "checked_ok",
            DocumentState::CheckedNotOk => "checked_not_ok",
            DocumentState::ProcessingError => "processing_error",
        }
    }

    pub fn from_code(code: &str) -> Option<DocumentState> {
        DocumentState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// GIS MT has finished with it: nothing more will change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DocumentState::CheckedOk | DocumentState::CheckedNotOk | DocumentState::ProcessingError
        )
    }

    /// GIS MT refused it or could not process it.
    pub fn is_refused(self) -> bool {
        matches!(
            self,
            DocumentState::CheckedNotOk | DocumentState::ProcessingError
        )
    }
}

/// One item of the `verdicts` feed: what GIS MT made of one document of an operation a
/// terminal of the warehouse pushed. A terminal keeps those of its own operations (by
/// `operation`) and shows the refused ones with their reasons.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Verdict {
    /// The operation's UUID, as the terminal pushed it.
    pub operation: String,
    /// The document's True API type, such as `LP_ACCEPT_GOODS`.
    #[serde(rename = "type")]
    pub document_type: String,
    /// Its product group's True API code, such as `lp`.
    pub pg: String,
    /// The id GIS MT gave the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gis_id: Option<String>,
    /// Always final in the feed: `checked_ok`, `checked_not_ok` or `processing_error`.
    pub state: DocumentState,
    /// GIS MT's errors, in its words and in both languages; empty when checked OK.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<OperationReason>,
    /// When the hub learned the state (ms since the epoch).
    pub at: i64,
}

/// One terminal as the fleet page shows it.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct FleetDevice {
    pub device_id: i64,
    pub name: String,
    pub warehouse: String,
    pub participant_inn: String,
    pub enrolled_at: i64,
    pub last_contact: Option<i64>,
    pub app_version: String,
    pub queue_depth: u64,
    pub cache_synced_at: Option<i64>,
    /// When `tally-hub revoke` cut the device off (ms since the epoch); absent while active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct FleetResponse {
    /// The hub's clock when it answered, to read `last_contact` and cache age against.
    pub now: i64,
    pub devices: Vec<FleetDevice>,
}

/// One document in the hub's exchange journal (`GET /v1/journal`, administrators only).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct JournalEntry {
    /// The operation's UUID and kind, and the terminal that made it.
    pub operation: String,
    pub kind: String,
    pub device_id: i64,
    pub device: String,
    pub warehouse: String,
    pub participant_inn: String,
    /// The document's True API type and product group.
    #[serde(rename = "type")]
    pub document_type: String,
    pub pg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gis_id: Option<String>,
    pub state: DocumentState,
    /// GIS MT's errors, in its words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Made at intake, first sent, last changed state (ms since the epoch).
    pub made_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
    pub state_at: i64,
    /// Times the hub sent it (a lost answer sends it again only after a lookup found nothing).
    pub tries: i64,
    /// The last failure on the way (GIS MT unavailable, the signer failing), while it waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A page of the journal, newest first.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct JournalResponse {
    pub now: i64,
    pub entries: Vec<JournalEntry>,
    /// Pass as `before` for the next page; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_read_as_documented() {
        let answer: OperationAnswer = serde_json::from_value(json!({
            "uuid": "u", "result": "duplicate", "original": "rejected",
            "reasons": [{"code": "in_aggregate", "en": "e", "ru": "р", "subject": "x"}]
        }))
        .unwrap();
        assert_eq!(answer.result, PushResult::Duplicate);
        assert!(!answer.applied());
        let accepted: OperationAnswer =
            serde_json::from_value(json!({"uuid": "u", "result": "accepted"})).unwrap();
        assert!(accepted.applied() && accepted.reasons.is_empty());
    }

    #[test]
    fn feed_names_round_trip() {
        for feed in Feed::ALL {
            assert_eq!(Feed::from_name(feed.name()), Some(feed));
            assert_eq!(
                serde_json::to_value(feed).unwrap(),
                json!(feed.name()),
                "the path segment and the JSON name agree"
            );
        }
        assert_eq!(Feed::from_name("orders"), Some(Feed::Orders));
        assert_eq!(Feed::from_name("order"), None);
        assert_eq!(Feed::from_name("operators"), Some(Feed::Operators));
    }

    #[test]
    fn pin_digests_depend_on_salt_and_pin() {
        let d = pin_digest("a1b2", "1234");
        assert_eq!(d.len(), 64);
        assert!(d.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(d, pin_digest("a1b2", "1234"));
        assert_ne!(d, pin_digest("a1b3", "1234"));
        assert_ne!(d, pin_digest("a1b2", "1235"));
        for result in [
            PushResult::Accepted,
            PushResult::Rejected,
            PushResult::Duplicate,
        ] {
            assert_eq!(PushResult::from_code(result.code()), Some(result));
            assert_eq!(serde_json::to_value(result).unwrap(), json!(result.code()));
        }
    }
}
