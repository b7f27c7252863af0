//! What the GIS MT link keeps in the store: each document's submission, the codes to read
//! again, each participant's pass over its codes, the alerts sent and the link's lease; one
//! face over both backends.

use serde_json::Value;
use tally_domain::status::Timestamp;
use tally_wire::DocumentState;

use super::{Result, Store};

/// One GIS MT document on its way: the stored body and where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// The operation's row and the document's place among its documents: the key.
    pub operation: i64,
    pub position: i64,
    /// The operation's UUID as the terminal pushed it.
    pub uuid: String,
    pub kind: String,
    pub device_id: i64,
    pub device: String,
    pub warehouse: String,
    pub participant_inn: String,
    pub doc_type: String,
    pub pg: String,
    /// The document's JSON as made at intake (empty in journal listings).
    pub body: String,
    pub state: DocumentState,
    pub gis_id: Option<String>,
    /// GIS MT's errors, in its words.
    pub errors: Vec<String>,
    pub made_at: i64,
    pub sending_at: Option<i64>,
    pub state_at: i64,
    pub next_at: i64,
    pub tries: i64,
    /// The last failure on the way (a 5xx, a signer error), for the journal.
    pub last_error: Option<String>,
}

/// Which submissions the journal lists, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalFilter {
    pub states: Vec<DocumentState>,
    pub warehouse: Option<String>,
    /// Made at or after, before (ms since the epoch).
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// The page after this (made_at, operation, position), for paging on.
    pub before: Option<(i64, i64, i64)>,
    pub limit: u32,
}

/// One participant's pass over the codes it owns: where it got to and when the last whole
/// pass began (the age of its list).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefreshPass {
    pub participant_inn: String,
    pub cursor: Vec<u8>,
    pub pass_started_at: Option<i64>,
    pub refreshed_at: Option<i64>,
}

/// An alert as the hub raised it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub key: String,
    pub kind: String,
    pub message: String,
    pub raised_at: i64,
    pub sent_at: Option<i64>,
}

/// A document that reached a final state, with the verdict its terminals pull.
#[derive(Clone, Debug)]
pub struct Final<'a> {
    pub operation: i64,
    pub position: i64,
    pub state: DocumentState,
    pub errors: &'a [String],
    /// The `verdicts` feed item, its key and the warehouse whose terminals get it.
    pub verdict: &'a Value,
    pub verdict_key: &'a str,
    pub warehouse: &'a str,
}

impl Store {
    /// The INNs of the participants the hub's active terminals work for.
    pub fn participants(&self) -> Result<Vec<String>> {
        both!(self, s => s.participants())
    }

    /// Takes or keeps the named lease for `holder` until `now + ttl_ms`: true when `holder`
    /// holds it now. One hub instance runs the link at a time.
    pub fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        ttl_ms: i64,
    ) -> Result<bool> {
        both!(self, s => s.claim_lease(name, holder, now.millis(), ttl_ms))
    }

    /// Submissions with something to do at `now` (send, look up, poll), soonest first.
    pub fn due_submissions(&self, now: Timestamp, limit: u32) -> Result<Vec<Submission>> {
        both!(self, s => s.due_submissions(now.millis(), limit))
    }

    /// Every document not yet final (waiting, sending, in progress), with its body, in intake
    /// order: what a waiting document may have to wait for.
    pub fn unfinished_submissions(&self, limit: u32) -> Result<Vec<Submission>> {
        both!(self, s => s.unfinished_submissions(limit))
    }

    /// The documents of an operation (by its UUID), every device's.
    pub fn submissions_of(&self, uuid: &str) -> Result<Vec<Submission>> {
        both!(self, s => s.submissions_of(uuid))
    }

    /// Notes that the document is about to be sent: written before the request, so a crash
    /// leaves it `sending` and it is looked up, never sent blind. False when it is no longer
    /// waiting or sending (another instance took it further).
    pub fn mark_sending(
        &self,
        operation: i64,
        position: i64,
        now: Timestamp,
        retry_at: Timestamp,
    ) -> Result<bool> {
        both!(self, s => s.mark_sending(operation, position, now.millis(), retry_at.millis()))
    }

    /// Sends a `sending` document back to `waiting`: the lookup proved GIS MT never got it.
    pub fn mark_unsent(&self, operation: i64, position: i64, now: Timestamp) -> Result<()> {
        both!(self, s => s.mark_unsent(operation, position, now.millis()))
    }

    /// The id GIS MT gave the document; it is `in_progress` from now. False when another
    /// document already holds the id (then this one stays as it was).
    pub fn record_gis_id(
        &self,
        operation: i64,
        position: i64,
        gis_id: &str,
        now: Timestamp,
        poll_at: Timestamp,
    ) -> Result<bool> {
        both!(self, s => s.record_gis_id(operation, position, gis_id, now.millis(), poll_at.millis()))
    }

    /// Tries again at `next_at`, noting why it could not be done now.
    pub fn postpone(
        &self,
        operation: i64,
        position: i64,
        next_at: Timestamp,
        error: Option<&str>,
    ) -> Result<()> {
        both!(self, s => s.postpone(operation, position, next_at.millis(), error))
    }

    /// The document's final state and errors, and its verdict in the warehouse's feed, in one
    /// transaction.
    pub fn record_final(&self, done: &Final<'_>, now: Timestamp) -> Result<()> {
        both!(self, s => s.record_final(done, now.millis()))
    }

    /// Whether a document of this hub already holds the GIS MT id.
    pub fn gis_id_taken(&self, gis_id: &str) -> Result<bool> {
        both!(self, s => s.gis_id_taken(gis_id))
    }

    /// Codes to read from GIS MT at once (a new task's, a pushed operation's, a checked
    /// document's).
    pub fn queue_refresh(&self, codes: &[String], now: Timestamp) -> Result<()> {
        if codes.is_empty() {
            return Ok(());
        }
        both!(self, s => s.queue_refresh(codes, now.millis()))
    }

    pub fn queued_refresh(&self, limit: u32) -> Result<Vec<String>> {
        both!(self, s => s.queued_refresh(limit))
    }

    pub fn dequeue_refresh(&self, codes: &[String]) -> Result<()> {
        if codes.is_empty() {
            return Ok(());
        }
        both!(self, s => s.dequeue_refresh(codes))
    }

    /// Up to `limit` codes the participant owns on the hub's list, after `cursor` in key order:
    /// `(key, code text)`.
    pub fn owned_codes(
        &self,
        inn: &str,
        cursor: &[u8],
        limit: u32,
    ) -> Result<Vec<(Vec<u8>, String)>> {
        both!(self, s => s.owned_codes(inn, cursor, limit))
    }

    pub fn refresh_pass(&self, inn: &str) -> Result<RefreshPass> {
        both!(self, s => s.refresh_pass(inn))
    }

    pub fn save_refresh_pass(&self, pass: &RefreshPass) -> Result<()> {
        both!(self, s => s.save_refresh_pass(pass))
    }

    /// When the statuses of the warehouse were last read whole from GIS MT: the oldest pass of
    /// its terminals' participants; `None` until each has had one.
    pub fn statuses_as_of(&self, warehouse: &str) -> Result<Option<i64>> {
        both!(self, s => s.statuses_as_of(warehouse))
    }

    /// Every warehouse with active terminals and the age of its list.
    pub fn warehouse_ages(&self) -> Result<Vec<(String, Option<i64>)>> {
        both!(self, s => s.warehouse_ages())
    }

    /// The exchange journal: submissions by the filter, newest first, without bodies.
    pub fn journal(&self, filter: &JournalFilter) -> Result<Vec<Submission>> {
        both!(self, s => s.journal(filter))
    }

    /// Alerts raised and not cleared.
    pub fn open_alerts(&self) -> Result<Vec<Alert>> {
        both!(self, s => s.open_alerts())
    }

    /// Raises the alert unless it is open already: true when it is new (or raised again after
    /// it cleared), and so is to be sent.
    pub fn raise_alert(
        &self,
        key: &str,
        kind: &str,
        message: &str,
        now: Timestamp,
    ) -> Result<bool> {
        both!(self, s => s.raise_alert(key, kind, message, now.millis()))
    }

    pub fn alert_sent(&self, key: &str, now: Timestamp) -> Result<()> {
        both!(self, s => s.alert_sent(key, now.millis()))
    }

    pub fn clear_alert(&self, key: &str, now: Timestamp) -> Result<()> {
        both!(self, s => s.clear_alert(key, now.millis()))
    }
}
