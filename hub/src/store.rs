//! The hub's database: devices, enrollment codes, received operations, the authoritative status
//! list, the change log the terminals pull, block lists, catalog and tasks.
//!
//! All of the hub's SQL lives here, behind [`Store`] and the transactions it hands out, so a
//! PostgreSQL store can later take its place without touching the rules in `push` or the HTTP
//! layer. The feeds (block lists, catalog, tasks and the statuses' `cisInfo` lines) share one
//! change-log table keyed by (feed, record key): a change replaces the record's row and gives it
//! the next number of one hub-wide sequence, so a pull after cursor N returns every record whose
//! current state a terminal holding N has not seen, once, in order.

use std::path::Path;

use crate::documents::{
    self, DocType, ExportedDiscrepancy, ExportedDocument, ExportedNotice, Made, Page, Selection,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tally_domain::code::Ki;
use tally_domain::gs1::Sscc;
use tally_domain::product_group::ProductGroup;
use tally_domain::status::{BlockHit, CisStatus, CodeStatus, Inn, Parent, Timestamp};
use tally_wire::feed::{self, StatusRecord, Task};
use tally_wire::{
    DeviceReport, Feed, FleetDevice, OperationAnswer, OperationReason, PushResult, PushedOperation,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no randomness for a token: {0}")]
    Random(getrandom::Error),
    #[error("the database has schema version {0}, newer than this hub understands")]
    NewerSchema(i64),
}

pub type Result<T> = std::result::Result<T, StoreError>;

const SCHEMA_VERSION: i64 = 3;

const SCHEMA_V1: &str = "
CREATE TABLE devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    warehouse TEXT NOT NULL,
    participant_inn TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL,
    last_contact INTEGER,
    app_version TEXT NOT NULL DEFAULT '',
    queue_depth INTEGER NOT NULL DEFAULT 0,
    cache_synced_at INTEGER
);
CREATE TABLE enrollment_codes (
    code_hash BLOB PRIMARY KEY,
    warehouse TEXT NOT NULL,
    participant_inn TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_by INTEGER REFERENCES devices(id)
);
CREATE TABLE operations (
    uuid TEXT PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    operator TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    payload TEXT NOT NULL,
    result TEXT NOT NULL,
    reasons TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX operations_device_seq ON operations(device_id, seq);
CREATE TABLE statuses (
    ki_key BLOB PRIMARY KEY,
    status TEXT NOT NULL,
    status_ex TEXT NOT NULL,
    owner_inn TEXT,
    parent TEXT,
    blocked INTEGER NOT NULL,
    info TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE changes (
    feed TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE,
    item TEXT NOT NULL,
    -- The one warehouse a record is for (a task); NULL for every terminal.
    warehouse TEXT,
    PRIMARY KEY (feed, key)
) WITHOUT ROWID;
CREATE INDEX changes_feed_seq ON changes(feed, seq);
CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta (name, value) VALUES ('change_seq', 0);
";

/// Version 2: administrators' tokens (the fleet view) and revoked devices. Released versions are
/// never edited; a hub on version 1 runs this once on open.
const SCHEMA_V2: &str = "
CREATE TABLE admin_tokens (
    token_hash BLOB PRIMARY KEY,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE devices ADD COLUMN revoked_at INTEGER;
";

/// Version 3: the GIS MT documents an accepted operation made (made at intake, from the list
/// as it stood then), an acceptance's discrepancies, and the notices answered with it.
const SCHEMA_V3: &str = "
CREATE TABLE gis_documents (
    operation INTEGER NOT NULL,
    position INTEGER NOT NULL,
    doc_type TEXT NOT NULL,
    pg TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (operation, position)
) WITHOUT ROWID;
CREATE TABLE discrepancies (
    operation INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);
-- Box and pallet labels built by the terminals: a label is one device's.
CREATE TABLE labels (
    sscc TEXT PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices(id)
) WITHOUT ROWID;
ALTER TABLE operations ADD COLUMN notices TEXT NOT NULL DEFAULT '[]';
";

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

#[derive(Debug)]
pub struct Store {
    conn: Connection,
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

impl Store {
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // An answered push must survive a power cut: the terminal drops what the hub accepted.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        match version {
            0 => {
                conn.execute_batch(&format!(
                    "BEGIN; {SCHEMA_V1} {SCHEMA_V2} {SCHEMA_V3}
                     PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))?;
            }
            1 => {
                conn.execute_batch(&format!(
                    "BEGIN; {SCHEMA_V2} {SCHEMA_V3} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))?;
            }
            2 => {
                conn.execute_batch(&format!(
                    "BEGIN; {SCHEMA_V3} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))?;
            }
            SCHEMA_VERSION => {}
            newer => return Err(StoreError::NewerSchema(newer)),
        }
        Ok(Store { conn })
    }

    /// A one-time code for `tally-hub enroll-code`; only its hash is stored.
    pub fn create_enrollment_code(
        &mut self,
        warehouse: &str,
        inn: &Inn,
        now: Timestamp,
    ) -> Result<String> {
        let code = random_text(12, CODE_ALPHABET)?;
        self.conn.execute(
            "INSERT INTO enrollment_codes (code_hash, warehouse, participant_inn, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![sha256(&code), warehouse, inn.as_str(), now.millis()],
        )?;
        Ok(code)
    }

    /// Spends a one-time code on a new device; `None` when the code is unknown or spent.
    pub fn enroll(
        &mut self,
        code: &str,
        name: &str,
        app_version: &str,
        now: Timestamp,
    ) -> Result<Option<Enrolled>> {
        let code = code.trim().to_ascii_uppercase();
        let tx = self.conn.transaction()?;
        let found: Option<(String, String)> = tx
            .query_row(
                "SELECT warehouse, participant_inn FROM enrollment_codes
                 WHERE code_hash = ?1 AND used_by IS NULL",
                [sha256(&code)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((warehouse, participant_inn)) = found else {
            return Ok(None);
        };
        let token = random_text(43, TOKEN_ALPHABET)?;
        tx.execute(
            "INSERT INTO devices (name, token_hash, warehouse, participant_inn, enrolled_at,
                                  last_contact, app_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
            params![
                name,
                sha256(&token),
                warehouse,
                participant_inn,
                now.millis(),
                app_version
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE enrollment_codes SET used_by = ?1 WHERE code_hash = ?2",
            params![id, sha256(&code)],
        )?;
        tx.commit()?;
        Ok(Some(Enrolled {
            device: Device {
                id,
                warehouse,
                participant_inn,
            },
            token,
        }))
    }

    /// The device a bearer token belongs to; its last contact moves to `now`. A wrong token
    /// writes nothing.
    pub fn authenticate(&mut self, token: &str, now: Timestamp) -> Result<Option<Device>> {
        let device = self
            .conn
            .query_row(
                "SELECT id, warehouse, participant_inn FROM devices
                 WHERE token_hash = ?1 AND revoked_at IS NULL",
                [sha256(token)],
                |r| {
                    Ok(Device {
                        id: r.get(0)?,
                        warehouse: r.get(1)?,
                        participant_inn: r.get(2)?,
                    })
                },
            )
            .optional()?;
        if let Some(device) = &device {
            self.conn.execute(
                "UPDATE devices SET last_contact = ?1 WHERE id = ?2",
                params![now.millis(), device.id],
            )?;
        }
        Ok(device)
    }

    /// A new administrator's token for the fleet view; only its hash is stored, so it is shown
    /// once. `label` says whose it is.
    pub fn create_admin_token(&mut self, label: &str, now: Timestamp) -> Result<String> {
        let token = random_text(43, TOKEN_ALPHABET)?;
        self.conn.execute(
            "INSERT INTO admin_tokens (token_hash, label, created_at) VALUES (?1, ?2, ?3)",
            params![sha256(&token), label, now.millis()],
        )?;
        Ok(token)
    }

    /// Whether `token` is an administrator's. Reads only.
    pub fn is_admin_token(&self, token: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM admin_tokens WHERE token_hash = ?1")?
            .query_row([sha256(token)], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Revokes a device: its token is refused from now on. `false` when there is no such device
    /// or it was revoked already.
    pub fn revoke_device(&mut self, device_id: i64, now: Timestamp) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE devices SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![now.millis(), device_id],
        )? == 1)
    }

    /// Drops removal records (`"remove": true` lines: lifted blocks, deleted tasks, statuses
    /// no longer tracked) from every feed's change log, except those among the newest
    /// `keep_last` positions, and raises each feed's horizon past what went. A record's
    /// superseded versions never pile up (a change replaces its record's row), so removals are
    /// the only rows a log can lose; a terminal that has not seen one gets a snapshot instead.
    pub fn prune(&mut self, keep_last: i64) -> Result<Vec<Pruned>> {
        let tx = self.conn.transaction()?;
        let newest: i64 = tx.query_row(
            "SELECT value FROM meta WHERE name = 'change_seq'",
            [],
            |r| r.get(0),
        )?;
        let below = newest.saturating_sub(keep_last.max(0));
        let mut report = Vec::new();
        for feed in Feed::ALL {
            let (removed, highest): (i64, Option<i64>) = tx.query_row(
                "SELECT count(*), max(seq) FROM changes
                 WHERE feed = ?1 AND seq <= ?2 AND json_extract(item, '$.remove') = 1",
                params![feed.name(), below],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            tx.execute(
                "DELETE FROM changes
                 WHERE feed = ?1 AND seq <= ?2 AND json_extract(item, '$.remove') = 1",
                params![feed.name(), below],
            )?;
            let old = horizon_of(&tx, feed)?;
            let horizon = old.max(highest.unwrap_or(0));
            if horizon != old {
                tx.execute(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)",
                    params![horizon_key(feed), horizon],
                )?;
            }
            report.push(Pruned {
                feed,
                removed: u64::try_from(removed).unwrap_or_default(),
                horizon,
            });
        }
        tx.commit()?;
        Ok(report)
    }

    /// The feed's horizon: a cursor below it may have missed a pruned removal.
    pub fn horizon(&self, feed: Feed) -> Result<i64> {
        horizon_of(&self.conn, feed)
    }

    /// Starts the one transaction a push is applied in.
    pub fn push_batch(&mut self) -> Result<PushBatch<'_>> {
        Ok(PushBatch {
            tx: self.conn.transaction()?,
        })
    }

    /// Starts the one transaction an import is written in.
    pub fn import_batch(&mut self) -> Result<ImportBatch<'_>> {
        Ok(ImportBatch {
            tx: self.conn.transaction()?,
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
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, item FROM changes
             WHERE feed = ?1 AND seq > ?2 AND (warehouse IS NULL OR warehouse = ?4)
             ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![feed.name(), after, i64::from(limit) + 1, warehouse],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )?;
        let mut items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        Ok((items, more))
    }

    pub fn fleet(&self) -> Result<Vec<FleetDevice>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, warehouse, participant_inn, enrolled_at, last_contact, app_version,
                    queue_depth, cache_synced_at, revoked_at
             FROM devices ORDER BY warehouse, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FleetDevice {
                device_id: r.get(0)?,
                name: r.get(1)?,
                warehouse: r.get(2)?,
                participant_inn: r.get(3)?,
                enrolled_at: r.get(4)?,
                last_contact: r.get(5)?,
                app_version: r.get(6)?,
                queue_depth: u64::try_from(r.get::<_, i64>(7)?).unwrap_or_default(),
                cache_synced_at: r.get(8)?,
                revoked_at: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many operations the hub holds, for tests and the command line.
    pub fn operation_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM operations", [], |r| r.get(0))?)
    }

    /// The documents of accepted operations after intake position `after` (see
    /// [`documents::Selection`]), up to `limit` operations, oldest first.
    pub fn documents_page(&self, selection: Selection<'_>, limit: u32) -> Result<Page> {
        let after = selection.after;
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.rowid, o.uuid, o.notices
             FROM operations o JOIN devices d ON d.id = o.device_id
             WHERE o.rowid > ?1 AND o.result = 'accepted' AND (?3 IS NULL OR d.warehouse = ?3)
               AND (?4 IS NULL OR EXISTS (SELECT 1 FROM gis_documents g
                    WHERE g.operation = o.rowid
                      AND g.doc_type IN (SELECT value FROM json_each(?4))))
             ORDER BY o.rowid LIMIT ?2",
        )?;
        let types = if selection.types.is_empty() {
            None
        } else {
            let names: Vec<&str> = selection.types.iter().map(|t| t.api_name()).collect();
            Some(serde_json::to_string(&names)?)
        };
        let operations = stmt
            .query_map(
                params![after, i64::from(limit) + 1, selection.warehouse, types],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let more = operations.len() > limit as usize;
        let operations = &operations[..operations.len().min(limit as usize)];
        let mut page = Page {
            next_after: operations.last().map_or(after, |o| o.0),
            more,
            ..Page::default()
        };
        let mut docs = self.conn.prepare_cached(
            "SELECT doc_type, pg, body FROM gis_documents WHERE operation = ?1 ORDER BY position",
        )?;
        let mut discrepancy = self
            .conn
            .prepare_cached("SELECT body FROM discrepancies WHERE operation = ?1")?;
        for (seq, uuid, notices) in operations {
            let notices: Vec<OperationReason> = serde_json::from_str(notices)?;
            if !notices.is_empty() {
                page.notices.push(ExportedNotice {
                    operation: uuid.clone(),
                    seq: *seq,
                    notices,
                });
            }
            let rows = docs.query_map([seq], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (doc_type, pg, body) = row?;
                // Only `record` writes the column, with a known type.
                let Some(doc_type) = DocType::from_api_name(&doc_type) else {
                    continue;
                };
                if !selection.types.is_empty() && !selection.types.contains(&doc_type) {
                    continue;
                }
                page.documents.push(ExportedDocument {
                    doc_type,
                    pg,
                    operation: uuid.clone(),
                    seq: *seq,
                    document: serde_json::from_str(&body)?,
                });
            }
            let found: Option<String> = discrepancy.query_row([seq], |r| r.get(0)).optional()?;
            if let Some(body) = found {
                page.discrepancies.push(ExportedDiscrepancy {
                    operation: uuid.clone(),
                    seq: *seq,
                    discrepancy: serde_json::from_str(&body)?,
                });
            }
        }
        Ok(page)
    }

    /// The authoritative status of one code.
    pub fn status(&self, ki: &Ki) -> Result<Option<CodeStatus>> {
        status_of(&self.conn, ki)
    }
}

fn horizon_of(conn: &Connection, feed: Feed) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE name = ?1")?
        .query_row([horizon_key(feed)], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

fn next_change_seq(tx: &Transaction<'_>) -> Result<i64> {
    Ok(tx
        .prepare_cached(
            "UPDATE meta SET value = value + 1 WHERE name = 'change_seq' RETURNING value",
        )?
        .query_row([], |r| r.get(0))?)
}

fn log_change(
    tx: &Transaction<'_>,
    feed: Feed,
    key: &str,
    item: &Value,
    warehouse: Option<&str>,
) -> Result<()> {
    let seq = next_change_seq(tx)?;
    tx.prepare_cached(
        "INSERT INTO changes (feed, key, seq, item, warehouse) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (feed, key) DO UPDATE SET seq = excluded.seq, item = excluded.item,
             warehouse = excluded.warehouse",
    )?
    .execute(params![
        feed.name(),
        key,
        seq,
        serde_json::to_string(item)?,
        warehouse
    ])?;
    Ok(())
}

/// The change-log key of a status: the КИ in its GS1 text form.
fn status_key(ki: &Ki) -> String {
    ki.to_string()
}

fn parent_of(text: &str) -> Option<Parent> {
    let digits = text
        .strip_prefix("00")
        .filter(|d| d.len() == 18)
        .unwrap_or(text);
    if digits.len() == 18 {
        return Sscc::from_digits(digits.as_bytes()).map(Parent::Sscc);
    }
    Ki::from_cis(text).map(Parent::Code)
}

fn status_of(conn: &Connection, ki: &Ki) -> Result<Option<CodeStatus>> {
    let info: Option<String> = conn
        .prepare_cached("SELECT info FROM statuses WHERE ki_key = ?1")?
        .query_row([ki.key().as_bytes()], |r| r.get(0))
        .optional()?;
    // Every stored line passed `feed::parse_status` at import, and the hub's own changes keep
    // its shape; one that no longer reads counts as unknown rather than failing the push.
    Ok(
        info.and_then(|info| match feed::parse_status(info.as_bytes()) {
            Ok(StatusRecord::Status { status, .. }) => Some(status),
            _ => None,
        }),
    )
}

fn feed_item(conn: &Connection, feed: Feed, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT item FROM changes WHERE feed = ?1 AND key = ?2")?
        .query_row(params![feed.name(), key], |r| r.get(0))
        .optional()?)
}

fn children_of(conn: &Connection, sscc: &str) -> Result<Vec<Ki>> {
    let mut stmt = conn.prepare_cached("SELECT ki_key FROM statuses WHERE parent = ?1")?;
    let rows = stmt.query_map([sscc], |r| r.get::<_, Vec<u8>>(0))?;
    let mut children = Vec::new();
    for key in rows {
        children.extend(Ki::from_key(&key?));
    }
    Ok(children)
}

/// A change to one code's authoritative status made by an accepted operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange<'a> {
    WrittenOff,
    Owner(&'a str),
    Parent(Option<Sscc>),
}

/// The transaction one push is applied in: nothing of it is visible until [`PushBatch::commit`].
#[derive(Debug)]
pub struct PushBatch<'a> {
    tx: Transaction<'a>,
}

impl PushBatch<'_> {
    /// The answer stored for an operation already received, if any.
    pub fn stored_answer(&self, uuid: &str) -> Result<Option<OperationAnswer>> {
        let row: Option<(String, String, String)> = self
            .tx
            .prepare_cached("SELECT result, reasons, notices FROM operations WHERE uuid = ?1")?
            .query_row([uuid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((result, reasons, notices)) = row else {
            return Ok(None);
        };
        // Only `record` writes the column, with a known code.
        let result = PushResult::from_code(&result).unwrap_or(PushResult::Rejected);
        let reasons: Vec<OperationReason> = serde_json::from_str(&reasons)?;
        Ok(Some(OperationAnswer {
            uuid: uuid.to_owned(),
            result,
            original: None,
            reasons,
            notices: serde_json::from_str(&notices)?,
        }))
    }

    pub fn status(&self, ki: &Ki) -> Result<Option<CodeStatus>> {
        status_of(&self.tx, ki)
    }

    /// Applies a change to a code on the list and logs it for the statuses feed; a code not on
    /// the list is left alone (the hub does not invent a status it was never told).
    pub fn change_status(&self, ki: &Ki, change: StatusChange<'_>) -> Result<()> {
        let info: Option<String> = self
            .tx
            .prepare_cached("SELECT info FROM statuses WHERE ki_key = ?1")?
            .query_row([ki.key().as_bytes()], |r| r.get(0))
            .optional()?;
        let Some(info) = info else {
            return Ok(());
        };
        let mut info: Value = serde_json::from_str(&info)?;
        if let Some(fields) = info.as_object_mut() {
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
            }
        }
        write_status(&self.tx, ki, &info)
    }

    /// The block list entry a code falls under, if any: the code itself or its GTIN. Series
    /// blocks need the batch (AI 10), which finished documents do not carry.
    pub fn block_hit(&self, ki: &Ki) -> Result<Option<BlockHit>> {
        let gtin = ki.gtin();
        for (key, hit) in [
            (format!("code:{ki}"), BlockHit::Code),
            (format!("gtin:{gtin}"), BlockHit::Gtin(gtin)),
        ] {
            let item: Option<String> = self
                .tx
                .prepare_cached("SELECT item FROM changes WHERE feed = ?1 AND key = ?2")?
                .query_row(params![Feed::Blocks.name(), key], |r| r.get(0))
                .optional()?;
            if let Some(item) = item {
                let item: Value = serde_json::from_str(&item)?;
                if item.get("remove").and_then(Value::as_bool) != Some(true) {
                    return Ok(Some(hit));
                }
            }
        }
        Ok(None)
    }

    /// What GIS MT says of a box or pallet label, as imported into the status feed.
    pub fn label_status(&self, sscc: &Sscc) -> Result<Option<CodeStatus>> {
        let Some(line) = feed_item(&self.tx, Feed::Statuses, &sscc.to_string())? else {
            return Ok(None);
        };
        Ok(match feed::parse_status(line.as_bytes()) {
            Ok(StatusRecord::Status { status, .. }) => Some(status),
            _ => None,
        })
    }

    /// The device that built a box or pallet under this label, if one did.
    pub fn label_device(&self, sscc: &Sscc) -> Result<Option<i64>> {
        Ok(self
            .tx
            .prepare_cached("SELECT device_id FROM labels WHERE sscc = ?1")?
            .query_row([sscc.to_string()], |r| r.get(0))
            .optional()?)
    }

    /// Records that `device` built an aggregate under this label (again, if it had).
    pub fn claim_label(&self, sscc: &Sscc, device: &Device) -> Result<()> {
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO labels (sscc, device_id) VALUES (?1, ?2)")?
            .execute(params![sscc.to_string(), device.id])?;
        Ok(())
    }

    /// The КИ whose parent is this box, for disaggregation.
    pub fn children_of(&self, sscc: &Sscc) -> Result<Vec<Ki>> {
        children_of(&self.tx, &sscc.to_string())
    }

    /// Stores an operation with its answer and, when accepted, the documents it made.
    pub fn record(
        &self,
        device: &Device,
        operation: &PushedOperation,
        answer: &OperationAnswer,
        made: Option<&Made>,
        now: Timestamp,
    ) -> Result<()> {
        let (kind, payload) = match &operation.document {
            Ok(document) => (document.kind().name().to_owned(), document.payload()),
            Err(unreadable) => (unreadable.kind.clone(), unreadable.payload.clone()),
        };
        let rowid: i64 = self
            .tx
            .prepare_cached(
                "INSERT INTO operations (uuid, device_id, seq, kind, operator, started_at,
                                     finished_at, payload, result, reasons, received_at, notices)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING rowid",
            )?
            .query_row(
                params![
                    operation.uuid,
                    device.id,
                    operation.seq,
                    kind,
                    operation.operator,
                    operation.started_at,
                    operation.finished_at,
                    serde_json::to_string(&payload)?,
                    answer.result.code(),
                    serde_json::to_string(&answer.reasons)?,
                    now.millis(),
                    serde_json::to_string(&answer.notices)?,
                ],
                |r| r.get(0),
            )?;
        let Some(made) = made else {
            return Ok(());
        };
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO gis_documents (operation, position, doc_type, pg, body)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (position, document) in made.documents.iter().enumerate() {
            insert.execute(params![
                rowid,
                position as i64,
                document.doc_type.api_name(),
                document.pg.code(),
                serde_json::to_string(&document.body)?,
            ])?;
        }
        if let Some(discrepancy) = &made.discrepancy {
            self.tx
                .prepare_cached("INSERT INTO discrepancies (operation, body) VALUES (?1, ?2)")?
                .execute(params![rowid, serde_json::to_string(discrepancy)?])?;
        }
        Ok(())
    }

    pub fn report_device(&self, device: &Device, report: &DeviceReport) -> Result<()> {
        self.tx.execute(
            "UPDATE devices SET app_version = ?1, queue_depth = ?2, cache_synced_at = ?3
             WHERE id = ?4",
            params![
                report.app_version,
                i64::try_from(report.queue_depth).unwrap_or(i64::MAX),
                report.cache_synced_at,
                device.id
            ],
        )?;
        Ok(())
    }

    pub fn commit(self) -> Result<()> {
        Ok(self.tx.commit()?)
    }
}

impl documents::Facts for PushBatch<'_> {
    fn status(&self, ki: &Ki) -> Result<Option<CodeStatus>> {
        status_of(&self.tx, ki)
    }

    fn task(&self, id: &str) -> Result<Option<Task>> {
        let Some(line) = feed_item(&self.tx, Feed::Tasks, id)? else {
            return Ok(None);
        };
        // Task lines are stored only after `feed::parse_task` took them.
        Ok(feed::parse_task(line.as_bytes()).ok().and_then(|r| r.task))
    }

    fn children(&self, sscc: &Sscc) -> Result<Vec<Ki>> {
        children_of(&self.tx, &sscc.to_string())
    }

    fn catalog_group(&self, ki: &Ki) -> Result<Option<ProductGroup>> {
        let Some(line) = feed_item(&self.tx, Feed::Catalog, &ki.gtin().to_string())? else {
            return Ok(None);
        };
        Ok(feed::parse_catalog(line.as_bytes())
            .ok()
            .and_then(|c| c.product_group))
    }
}

fn write_status(tx: &Transaction<'_>, ki: &Ki, info: &Value) -> Result<()> {
    let text = |name: &str| info.get(name).and_then(Value::as_str).map(str::to_owned);
    let status = text("status").unwrap_or_default();
    let status_ex = text("statusEx").unwrap_or_else(|| "EMPTY".into());
    let blocked = info
        .get("blocked")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    tx.prepare_cached(
        "INSERT INTO statuses (ki_key, status, status_ex, owner_inn, parent, blocked, info)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (ki_key) DO UPDATE SET status = excluded.status,
             status_ex = excluded.status_ex, owner_inn = excluded.owner_inn,
             parent = excluded.parent, blocked = excluded.blocked, info = excluded.info",
    )?
    .execute(params![
        ki.key().as_bytes(),
        status,
        status_ex,
        text("ownerInn"),
        text("parent").map(|p| normalize_parent(&p)),
        blocked,
        serde_json::to_string(info)?
    ])?;
    log_change(tx, Feed::Statuses, &status_key(ki), info, None)
}

/// Parents are compared as text, so an SSCC is kept as its 18 digits without the AI.
fn normalize_parent(parent: &str) -> String {
    match parent_of(parent) {
        Some(Parent::Sscc(sscc)) => sscc.to_string(),
        Some(Parent::Code(ki)) => ki.to_string(),
        None => parent.to_owned(),
    }
}

/// The transaction an import is written in.
#[derive(Debug)]
pub struct ImportBatch<'a> {
    tx: Transaction<'a>,
}

impl ImportBatch<'_> {
    /// One `cisInfo` line, already checked: the code's whole current state.
    pub fn status(&self, ki: &Ki, info: &Value) -> Result<()> {
        write_status(&self.tx, ki, info)
    }

    /// Stops tracking a code: its status leaves the list and the statuses feed carries a
    /// removal record (`{"cis", "remove": true}`), so terminals drop their copy.
    pub fn remove_status(&self, ki: &Ki) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM statuses WHERE ki_key = ?1")?
            .execute([ki.key().as_bytes()])?;
        let item = serde_json::json!({"cis": ki.to_string(), "remove": true});
        log_change(&self.tx, Feed::Statuses, &status_key(ki), &item, None)
    }

    /// One line of a feed other than statuses, under its record key, for one warehouse or
    /// (`None`) for all.
    pub fn item(&self, feed: Feed, key: &str, item: &Value, warehouse: Option<&str>) -> Result<()> {
        log_change(&self.tx, feed, key, item, warehouse)
    }

    pub fn commit(self) -> Result<()> {
        Ok(self.tx.commit()?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_version_1_hub_upgrades_with_its_devices_and_tokens_intact() {
        let dir = std::env::temp_dir().join(format!("tally-hub-v1-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!("{SCHEMA_V1} PRAGMA user_version = 1;"))
                .unwrap();
            conn.execute(
                "INSERT INTO devices (name, token_hash, warehouse, participant_inn, enrolled_at)
                 VALUES ('tsd', ?1, 'W1', '7707083893', 0)",
                [sha256("old-token")],
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let device = store.authenticate("old-token", Timestamp(1)).unwrap();
        assert_eq!(device.map(|d| d.warehouse).as_deref(), Some("W1"));
        assert!(store.revoke_device(1, Timestamp(2)).unwrap());
        assert!(
            store
                .authenticate("old-token", Timestamp(3))
                .unwrap()
                .is_none()
        );
        let admin = store.create_admin_token("ops", Timestamp(4)).unwrap();
        assert!(store.is_admin_token(&admin).unwrap());
        assert!(!store.is_admin_token("old-token").unwrap());
        drop(store);
        assert!(Store::open(&path).is_ok(), "opening again changes nothing");
        let _ = std::fs::remove_dir_all(dir);
    }
}
