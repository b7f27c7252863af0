//! The hub's database: devices, enrollment codes, received operations, the authoritative status
//! list, the change log the terminals pull, block lists, catalog and tasks; on SQLite embedded
//! or on PostgreSQL for fleets past one machine.
//!
//! All of the hub's SQL lives under this module, behind [`Store`], so the rules in `push` and
//! the HTTP layer never know which database holds the list. The two backends keep the same
//! tables (migrations per backend in `hub/migrations/`) and differ only where the databases do:
//! SQLite has one writer, so a push is one `BEGIN IMMEDIATE` transaction and change-log numbers
//! are taken inside it; PostgreSQL serves several hub instances at once, so a push locks what
//! it names and numbers its changes only once they are committed (see `postgres` and
//! ARCHITECTURE.md, "The change feed on PostgreSQL").
//!
//! The feeds (block lists, catalog, tasks and the statuses' `cisInfo` lines) share one
//! change-log table keyed by (feed, record key): a change replaces the record's row and gives it
//! a number above every number already visible, so a pull after cursor N returns every record
//! whose current state a terminal holding N has not seen, once, in order.

/// One call on whichever backend the store is; defined before the modules that use it.
macro_rules! both {
    ($store:expr, $s:ident => $call:expr) => {
        match $store {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

pub mod link;
pub mod onec;
mod postgres;
mod sqlite;

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tally_domain::code::Ki;
use tally_domain::status::{CodeStatus, Inn, Timestamp};
use tally_domain::validate::Policy;
use tally_wire::{Feed, FleetDevice, OperationAnswer, OperationReason, PushRequest};

use crate::documents::{
    DocType, ExportedDiscrepancy, ExportedDocument, ExportedNotice, Page, Selection,
};
use crate::push::Record;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no randomness for a token: {0}")]
    Random(getrandom::Error),
    #[error("the database has schema version {0}, newer than this hub understands")]
    NewerSchema(i64),
    #[error("cannot migrate: {0}")]
    Migration(String),
    #[error("the push met other writers {0} times in a row; try again")]
    Contended(u32),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How stale a device's recorded last contact may get before an answered request rewrites it.
const CONTACT_GRAIN_MS: i64 = 60_000;

/// The meta row holding a feed's horizon: the highest change-log position pruning removed. A
/// terminal whose cursor is below it may have missed a removal, so it gets a snapshot.
fn horizon_key(feed: Feed) -> String {
    format!("horizon.{}", feed.name())
}

/// What `Store::prune` removed from one feed's change log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pruned {
    pub feed: Feed,
    /// Removal records (`"remove": true`) dropped.
    pub removed: u64,
    /// The feed's horizon afterwards.
    pub horizon: i64,
}

/// A device that presented a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub warehouse: String,
    pub participant_inn: String,
}

/// What enrollment hands the terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolled {
    pub device: Device,
    pub token: String,
}

fn sha256(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

/// Random text from an alphabet without look-alikes (no 0/O, 1/I/L), for codes typed by hand.
fn random_text(len: usize, alphabet: &[u8]) -> Result<String> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(StoreError::Random)?;
    // 256 is not a multiple of every alphabet size; the bias is immaterial at these lengths.
    Ok(bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect())
}

const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const TOKEN_ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The parts of a `cisInfo` line the status table keeps in columns of their own.
struct StatusColumns {
    status: String,
    status_ex: String,
    owner_inn: Option<String>,
    parent: Option<String>,
    blocked: bool,
}

impl StatusColumns {
    fn of(info: &Value) -> StatusColumns {
        let text = |name: &str| info.get(name).and_then(Value::as_str).map(str::to_owned);
        StatusColumns {
            status: text("status").unwrap_or_default(),
            status_ex: text("statusEx").unwrap_or_else(|| "EMPTY".into()),
            owner_inn: text("ownerInn"),
            parent: text("parent").map(|p| normalize_parent(&p)),
            blocked: info
                .get("blocked")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

/// Parents are compared as text, so an SSCC is kept as its 18 digits without the AI.
fn normalize_parent(parent: &str) -> String {
    let digits = parent
        .strip_prefix("00")
        .filter(|d| d.len() == 18)
        .unwrap_or(parent);
    if digits.len() == 18
        && let Some(sscc) = tally_domain::gs1::Sscc::from_digits(digits.as_bytes())
    {
        return sscc.to_string();
    }
    match Ki::from_cis(parent) {
        Some(ki) => ki.to_string(),
        None => parent.to_owned(),
    }
}

/// The change-log key of a status: the КИ in its GS1 text form.
/// The code a stored `cisInfo` line is about, as `cises/info` takes it.
fn code_of_info(info: &str) -> String {
    let value: Value = serde_json::from_str(info).unwrap_or(Value::Null);
    let value = value.get("cisInfo").unwrap_or(&value);
    ["cis", "requestedCis"]
        .iter()
        .find_map(|k| value.get(k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned()
}

fn status_key(ki: &Ki) -> String {
    ki.to_string()
}

/// The hub's database. Cheap to share: every method takes `&self`, and each backend hands out
/// its own connections.
#[derive(Debug)]
pub enum Store {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// Whether `database` names a PostgreSQL server rather than a SQLite file.
pub fn is_postgres_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

impl Store {
    /// The SQLite hub in this file, created or upgraded as needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Ok(Store::Sqlite(sqlite::Sqlite::open(path.as_ref())?))
    }

    /// A PostgreSQL URL (`postgres://…`) or a SQLite file path; the schema is created or
    /// upgraded before it returns.
    pub fn connect(database: &str) -> Result<Store> {
        if is_postgres_url(database) {
            Ok(Store::Postgres(postgres::Postgres::connect(database)?))
        } else {
            Store::open(database.strip_prefix("sqlite://").unwrap_or(database))
        }
    }

    /// Which database this is, for logs: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers (`/readyz`).
    pub fn ping(&self) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.ping(),
            Store::Postgres(p) => p.ping(),
        }
    }

    /// Background upkeep a serving hub runs every second or so. On PostgreSQL: numbers the
    /// changes an instance committed and could not number (it was killed between its commit
    /// and its sequencer pass), so they reach the terminals even if nothing else is written.
    pub fn maintain(&self) -> Result<()> {
        match self {
            Store::Sqlite(_) => Ok(()),
            Store::Postgres(p) => p.sequence(),
        }
    }

    /// A one-time code for `tally-hub enroll-code`; only its hash is stored.
    pub fn create_enrollment_code(
        &self,
        warehouse: &str,
        inn: &Inn,
        now: Timestamp,
    ) -> Result<String> {
        let code = random_text(12, CODE_ALPHABET)?;
        let hash = sha256(&code);
        match self {
            Store::Sqlite(s) => s.create_enrollment_code(&hash, warehouse, inn, now)?,
            Store::Postgres(p) => p.create_enrollment_code(&hash, warehouse, inn, now)?,
        }
        Ok(code)
    }

    /// Spends a one-time code on a new device; `None` when the code is unknown or spent. A
    /// code is spent once however many hub instances are asked at once.
    pub fn enroll(
        &self,
        code: &str,
        name: &str,
        app_version: &str,
        now: Timestamp,
    ) -> Result<Option<Enrolled>> {
        let code_hash = sha256(&code.trim().to_ascii_uppercase());
        let token = random_text(43, TOKEN_ALPHABET)?;
        let device = match self {
            Store::Sqlite(s) => s.enroll(&code_hash, &sha256(&token), name, app_version, now)?,
            Store::Postgres(p) => p.enroll(&code_hash, &sha256(&token), name, app_version, now)?,
        };
        Ok(device.map(|device| Enrolled { device, token }))
    }

    /// The device a bearer token belongs to, if it is enrolled and not revoked. Reads only: a
    /// request refused after its token was checked must not count as the device's contact
    /// (see [`Store::touch`]).
    pub fn authenticate(&self, token: &str) -> Result<Option<Device>> {
        match self {
            Store::Sqlite(s) => s.authenticate(&sha256(token)),
            Store::Postgres(p) => p.authenticate(&sha256(token)),
        }
    }

    /// Records an answered request as the device's last contact; written at most once a
    /// minute, so a terminal paging through a feed does not commit a row per page. A push
    /// records it in its own transaction.
    pub fn touch(&self, device_id: i64, now: Timestamp) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.touch(device_id, now),
            Store::Postgres(p) => p.touch(device_id, now),
        }
    }

    /// A new administrator's token for the fleet view; only its hash is stored, so it is shown
    /// once. `label` says whose it is.
    pub fn create_admin_token(&self, label: &str, now: Timestamp) -> Result<String> {
        let token = random_text(43, TOKEN_ALPHABET)?;
        match self {
            Store::Sqlite(s) => s.create_admin_token(&sha256(&token), label, now)?,
            Store::Postgres(p) => p.create_admin_token(&sha256(&token), label, now)?,
        }
        Ok(token)
    }

    /// Whether `token` is an administrator's. Reads only.
    pub fn is_admin_token(&self, token: &str) -> Result<bool> {
        match self {
            Store::Sqlite(s) => s.is_admin_token(&sha256(token)),
            Store::Postgres(p) => p.is_admin_token(&sha256(token)),
        }
    }

    /// Revokes a device: its token is refused from now on. `false` when there is no such device
    /// or it was revoked already.
    pub fn revoke_device(&self, device_id: i64, now: Timestamp) -> Result<bool> {
        match self {
            Store::Sqlite(s) => s.revoke_device(device_id, now),
            Store::Postgres(p) => p.revoke_device(device_id, now),
        }
    }

    /// Drops removal records (`"remove": true` lines: lifted blocks, deleted tasks, statuses
    /// no longer tracked) from every feed's change log, except those among the newest
    /// `keep_last` positions, and raises each feed's horizon past what went. A record's
    /// superseded versions never pile up (a change replaces its record's row), so removals are
    /// the only rows a log can lose; a terminal that has not seen one gets a snapshot instead.
    pub fn prune(&self, keep_last: i64) -> Result<Vec<Pruned>> {
        match self {
            Store::Sqlite(s) => s.prune(keep_last),
            Store::Postgres(p) => p.prune(keep_last),
        }
    }

    /// The feed's horizon: a cursor below it may have missed a pruned removal.
    pub fn horizon(&self, feed: Feed) -> Result<i64> {
        match self {
            Store::Sqlite(s) => s.horizon(feed),
            Store::Postgres(p) => p.horizon(feed),
        }
    }

    /// Judges and applies one push in one transaction (see `push`) and answers each operation
    /// in order. Each operation is stored at most once, however many instances receive it.
    pub fn push(
        &self,
        device: &Device,
        request: &PushRequest,
        policy: &Policy,
        now: Timestamp,
    ) -> Result<Vec<OperationAnswer>> {
        match self {
            Store::Sqlite(s) => s.push(device, request, policy, now),
            Store::Postgres(p) => p.push(device, request, policy, now),
        }
    }

    /// Starts the one transaction an import is written in.
    pub fn import_batch(&self) -> Result<ImportBatch<'_>> {
        Ok(match self {
            Store::Sqlite(s) => ImportBatch::Sqlite(s.import_batch()?),
            Store::Postgres(p) => ImportBatch::Postgres(Box::new(p.import_batch()?)),
        })
    }

    /// Up to `limit` changes of `feed` after cursor `after` that a terminal of `warehouse` may
    /// see, and whether more follow. Items stay the JSON text they were stored as: a pull of a
    /// million statuses must not parse and re-serialize every line.
    pub fn pull(
        &self,
        feed: Feed,
        warehouse: &str,
        after: i64,
        limit: u32,
    ) -> Result<(Vec<(i64, String)>, bool)> {
        let (mut items, more) = match self {
            Store::Sqlite(s) => s.pull(feed, warehouse, after, i64::from(limit) + 1)?,
            Store::Postgres(p) => p.pull(feed, warehouse, after, i64::from(limit) + 1)?,
        };
        let more = more || items.len() > limit as usize;
        items.truncate(limit as usize);
        Ok((items, more))
    }

    pub fn fleet(&self) -> Result<Vec<FleetDevice>> {
        match self {
            Store::Sqlite(s) => s.fleet(),
            Store::Postgres(p) => p.fleet(),
        }
    }

    /// How many operations the hub holds, for tests and the command line.
    pub fn operation_count(&self) -> Result<i64> {
        match self {
            Store::Sqlite(s) => s.operation_count(),
            Store::Postgres(p) => p.operation_count(),
        }
    }

    /// The documents of accepted operations after intake position `after` (see
    /// [`Selection`]), up to `limit` operations, oldest first.
    pub fn documents_page(&self, selection: Selection<'_>, limit: u32) -> Result<Page> {
        let limit = limit as usize;
        let mut operations = match self {
            Store::Sqlite(s) => s.documents(selection, limit as i64 + 1)?,
            Store::Postgres(p) => p.documents(selection, limit as i64 + 1)?,
        };
        let more = operations.len() > limit;
        operations.truncate(limit);
        let mut page = Page {
            next_after: operations.last().map_or(selection.after, |o| o.position),
            more,
            ..Page::default()
        };
        for operation in operations {
            let seq = operation.position;
            let notices: Vec<OperationReason> = serde_json::from_str(&operation.notices)?;
            if !notices.is_empty() {
                page.notices.push(ExportedNotice {
                    operation: operation.uuid.clone(),
                    seq,
                    notices,
                });
            }
            for (doc_type, pg, body) in &operation.documents {
                // Only a push writes the column, with a known type.
                let Some(doc_type) = DocType::from_api_name(doc_type) else {
                    continue;
                };
                if !selection.types.is_empty() && !selection.types.contains(&doc_type) {
                    continue;
                }
                page.documents.push(ExportedDocument {
                    doc_type,
                    pg: pg.clone(),
                    operation: operation.uuid.clone(),
                    seq,
                    document: serde_json::from_str(body)?,
                });
            }
            if let Some(body) = &operation.discrepancy {
                page.discrepancies.push(ExportedDiscrepancy {
                    operation: operation.uuid.clone(),
                    seq,
                    discrepancy: serde_json::from_str(body)?,
                });
            }
        }
        Ok(page)
    }

    /// The authoritative status of one code.
    pub fn status(&self, ki: &Ki) -> Result<Option<CodeStatus>> {
        let line = match self {
            Store::Sqlite(s) => s.status_line(ki)?,
            Store::Postgres(p) => p.status_line(ki)?,
        };
        Ok(line.and_then(|line| crate::push::status_of_line(line.as_bytes())))
    }

    /// Copies this SQLite hub into an empty PostgreSQL one, whole and in one transaction: ids,
    /// change-log numbers and intake positions are kept, so terminals and integrators keep
    /// their cursors. Answers each table's digest on both sides, for the caller to compare.
    pub fn copy_to(&self, target: &Store) -> Result<Vec<(TableDigest, TableDigest)>> {
        let (Store::Sqlite(source), Store::Postgres(postgres)) = (self, target) else {
            return Err(StoreError::Migration(
                "a hub moves from a SQLite file to a PostgreSQL database".into(),
            ));
        };
        if !postgres.is_empty()? {
            return Err(StoreError::Migration(
                "the PostgreSQL database already holds a hub; migrate into an empty one".into(),
            ));
        }
        postgres.copy_from(source)?;
        Ok(self.digests()?.into_iter().zip(target.digests()?).collect())
    }

    /// Every table's row count and a digest of its rows in key order, for `tally-hub migrate`
    /// to prove a copy whole. Rows are read one at a time: a hub holds millions of statuses.
    pub fn digests(&self) -> Result<Vec<TableDigest>> {
        TABLES
            .iter()
            .map(|table| {
                let mut rows = 0u64;
                let mut digest = Sha256::new();
                let mut add = |row: &[Cell]| {
                    rows += 1;
                    digest.update(serde_json::to_string(row).unwrap_or_default().as_bytes());
                    digest.update(b"\n");
                };
                match self {
                    Store::Sqlite(s) => s.rows(table, &mut add)?,
                    Store::Postgres(p) => p.rows(table, &mut add)?,
                }
                Ok(TableDigest {
                    table,
                    rows,
                    sha256: digest
                        .finalize()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect(),
                })
            })
            .collect()
    }
}

/// One column value of a row as both backends can say it: what `migrate` copies and digests.
/// Booleans are integers (SQLite has no other kind) and blobs are bytes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// An accepted operation's stored documents as a backend reads them, before they are parsed
/// into a [`Page`].
#[derive(Debug)]
pub(crate) struct Exported {
    /// The intake position, the documents cursor.
    pub(crate) position: i64,
    pub(crate) uuid: String,
    pub(crate) notices: String,
    /// `(doc_type, pg, body)` in the order made.
    pub(crate) documents: Vec<(String, String, String)>,
    pub(crate) discrepancy: Option<String>,
}

/// A judged operation as both backends store it: its columns as text.
struct OperationRow {
    kind: String,
    payload: String,
    reasons: String,
    notices: String,
    /// `(doc_type, pg, body)` in the order made.
    documents: Vec<(&'static str, String, String)>,
    discrepancy: Option<String>,
}

impl OperationRow {
    fn of(record: &Record<'_>) -> Result<OperationRow> {
        let (kind, payload) = match &record.operation.document {
            Ok(document) => (document.kind().name().to_owned(), document.payload()),
            Err(unreadable) => (unreadable.kind.clone(), unreadable.payload.clone()),
        };
        let made = record.made.as_ref();
        Ok(OperationRow {
            kind,
            payload: serde_json::to_string(&payload)?,
            reasons: serde_json::to_string(&record.answer.reasons)?,
            notices: serde_json::to_string(&record.answer.notices)?,
            documents: made
                .map(|m| {
                    m.documents
                        .iter()
                        .map(|d| {
                            Ok((
                                d.doc_type.api_name(),
                                d.pg.code().to_string(),
                                serde_json::to_string(&d.body)?,
                            ))
                        })
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?
                .unwrap_or_default(),
            discrepancy: made
                .and_then(|m| m.discrepancy.as_ref())
                .map(serde_json::to_string)
                .transpose()?,
        })
    }
}

/// The columns of a table and the key it is read in, the same on both backends.
fn table_shape(table: &str) -> (&'static str, &'static str) {
    match table {
        "devices" => (
            "id, name, token_hash, warehouse, participant_inn, enrolled_at, last_contact, \
             app_version, queue_depth, cache_synced_at, revoked_at",
            "id",
        ),
        "enrollment_codes" => (
            "code_hash, warehouse, participant_inn, created_at, used_by",
            "code_hash",
        ),
        "admin_tokens" => ("token_hash, label, created_at", "token_hash"),
        "operations" => (
            "id, uuid, device_id, seq, kind, operator, started_at, finished_at, payload, result, \
             reasons, received_at, notices",
            "id",
        ),
        "statuses" => (
            "ki_key, status, status_ex, owner_inn, parent, blocked, info",
            "ki_key",
        ),
        "changes" => ("feed, key, seq, item, warehouse", "seq"),
        "meta" => ("name, value", "name"),
        "gis_documents" => (
            "operation, position, doc_type, pg, body",
            "operation, position",
        ),
        "discrepancies" => ("operation, body", "operation"),
        "submissions" => (
            "operation, position, state, gis_id, errors, made_at, sending_at, state_at, \
             next_at, tries, last_error",
            "operation, position",
        ),
        "refresh_queue" => ("code, queued_at", "code"),
        "refreshes" => (
            "participant_inn, cursor, pass_started_at, refreshed_at",
            "participant_inn",
        ),
        "alerts" => ("key, kind, message, raised_at, sent_at, cleared_at", "key"),
        "onec_nodes" => (
            "name, password_hash, warehouse, allow, keep_existing, created_at",
            "name",
        ),
        "onec_log" => (
            "id, node, at, exchange, mode, filename, outcome, message",
            "id",
        ),
        "onec_results" => (
            "node, operation, batch, sent_at, confirmed_at",
            "node, operation",
        ),
        _ => ("sscc, device_id, parent", "sscc"),
    }
}

/// One table of a store, counted and digested.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDigest {
    pub table: &'static str,
    pub rows: u64,
    pub sha256: String,
}

/// The tables a hub holds, in the order `migrate` copies them (parents before children).
/// Not among them: the link's lease (it names a process of the old hub) and 1C's sessions and
/// half-uploaded files (an exchange in flight starts again with checkauth).
pub const TABLES: [&str; 17] = [
    "devices",
    "enrollment_codes",
    "admin_tokens",
    "operations",
    "statuses",
    "changes",
    "meta",
    "gis_documents",
    "discrepancies",
    "labels",
    "submissions",
    "refresh_queue",
    "refreshes",
    "alerts",
    "onec_nodes",
    "onec_log",
    "onec_results",
];

/// The transaction an import is written in; nothing of it is visible until
/// [`ImportBatch::commit`].
#[derive(Debug)]
pub enum ImportBatch<'a> {
    Sqlite(sqlite::ImportBatch<'a>),
    // Boxed: the pooled connection and its held lines dwarf the SQLite variant.
    Postgres(Box<postgres::ImportBatch>),
}

impl ImportBatch<'_> {
    /// One `cisInfo` line, already checked: the code's whole current state.
    pub fn status(&mut self, ki: &Ki, info: &Value) -> Result<()> {
        match self {
            ImportBatch::Sqlite(b) => b.status(ki, info),
            ImportBatch::Postgres(b) => b.status(ki, info),
        }
    }

    /// Stops tracking a code: its status leaves the list and the statuses feed carries a
    /// removal record (`{"cis", "remove": true}`), so terminals drop their copy.
    pub fn remove_status(&mut self, ki: &Ki) -> Result<()> {
        match self {
            ImportBatch::Sqlite(b) => b.remove_status(ki),
            ImportBatch::Postgres(b) => b.remove_status(ki),
        }
    }

    /// One line of a feed other than statuses, under its record key, for one warehouse or
    /// (`None`) for all.
    pub fn item(
        &mut self,
        feed: Feed,
        key: &str,
        item: &Value,
        warehouse: Option<&str>,
    ) -> Result<()> {
        match self {
            ImportBatch::Sqlite(b) => b.item(feed, key, item, warehouse),
            ImportBatch::Postgres(b) => b.item(feed, key, item, warehouse),
        }
    }

    /// Codes to read from GIS MT at once, queued in the import's transaction (a new task's).
    pub fn queue_refresh(&mut self, codes: &[String], now: Timestamp) -> Result<()> {
        match self {
            ImportBatch::Sqlite(b) => b.queue_refresh(codes, now),
            ImportBatch::Postgres(b) => b.queue_refresh(codes, now),
        }
    }

    pub fn commit(self) -> Result<()> {
        match self {
            ImportBatch::Sqlite(b) => b.commit(),
            ImportBatch::Postgres(b) => (*b).commit(),
        }
    }
}

/// A throwaway database on a PostgreSQL server, dropped with the value: what
/// `tally-hub bench-intake --database` and the tests run on, so they never touch a real hub.
#[derive(Debug)]
pub struct ScratchDatabase {
    server: String,
    name: String,
    /// The new database's URL.
    pub url: String,
}

impl ScratchDatabase {
    /// Creates an empty database on the server `server_url` points at (its role needs
    /// CREATEDB).
    pub fn create(server_url: &str) -> Result<ScratchDatabase> {
        let name = format!("tally_scratch_{}", uuid::Uuid::new_v4().simple());
        let mut client = ::postgres::Client::connect(server_url, ::postgres::NoTls)?;
        client.batch_execute(&format!("CREATE DATABASE {name}"))?;
        Ok(ScratchDatabase {
            server: server_url.to_owned(),
            url: with_database(server_url, &name),
            name,
        })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // Best effort: a scratch database left behind is named as one and harms nothing.
        if let Ok(mut client) = ::postgres::Client::connect(&self.server, ::postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// `url` with its database name replaced (`postgres://user@host:port/NAME?options`).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_name_is_replaced_whatever_the_url_holds() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/tally?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            with_database("postgresql://u@h/", "x"),
            "postgresql://u@h/x"
        );
    }

    #[test]
    fn a_path_is_sqlite_and_a_url_is_postgres() {
        assert!(is_postgres_url("postgres://h/db"));
        assert!(is_postgres_url("postgresql://h/db"));
        assert!(!is_postgres_url("/var/lib/tally-hub/hub.db"));
        assert!(!is_postgres_url("sqlite:///tmp/hub.db"));
    }
}
