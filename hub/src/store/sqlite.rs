//! The embedded backend: one SQLite file, one connection, one writer at a time.
//!
//! SQLite has one writer anyway, so a push is one `BEGIN IMMEDIATE` transaction: the facts it
//! reads are a few indexed lookups in process, and the change-log number it takes from the
//! `change_seq` counter is in commit order because no other writer can run until it commits.
//! Hub processes sharing a file (a second `tally-hub` command while `serve` runs) wait for each
//! other through SQLite's busy timeout.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::Value;
use tally_domain::code::Ki;
use tally_domain::gs1::Sscc;
use tally_domain::status::{Inn, Timestamp};
use tally_domain::validate::Policy;
use tally_wire::{Feed, FleetDevice, OperationAnswer, OperationReason, PushRequest, PushResult};

use super::{
    Cell, Device, Exported, Pruned, Result, StatusColumns, StoreError, horizon_key, status_key,
};
use crate::documents::Selection;
use crate::push::{self, Keys, LabelOwner, Outcome, Snapshot};

/// The migrations, in order; a hub at `user_version` N has run the first N.
const MIGRATIONS: [&str; 9] = [
    include_str!("../../migrations/sqlite/0001_initial.sql"),
    include_str!("../../migrations/sqlite/0002_admin_tokens.sql"),
    include_str!("../../migrations/sqlite/0003_gis_documents.sql"),
    include_str!("../../migrations/sqlite/0004_box_contents.sql"),
    include_str!("../../migrations/sqlite/0005_operations_per_device.sql"),
    include_str!("../../migrations/sqlite/0006_gismt.sql"),
    include_str!("../../migrations/sqlite/0007_onec.sql"),
    include_str!("../../migrations/sqlite/0008_onec_results.sql"),
    include_str!("../../migrations/sqlite/0009_label_parents.sql"),
];

mod link;
mod onec;

#[derive(Debug)]
pub struct Sqlite {
    conn: Mutex<Connection>,
}

impl Sqlite {
    pub fn open(path: &Path) -> Result<Sqlite> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // An answered push must survive a power cut: the terminal drops what the hub accepted.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        migrate(&conn)?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-call rolled its transaction back, so the connection itself is sound.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn ping(&self) -> Result<()> {
        // A read of a hub table, not `SELECT 1`: a file that lost its schema is not ready.
        self.conn()
            .query_row("SELECT count(*) FROM meta", [], |_| Ok(()))?;
        Ok(())
    }

    pub fn create_enrollment_code(
        &self,
        code_hash: &[u8],
        warehouse: &str,
        inn: &Inn,
        now: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO enrollment_codes (code_hash, warehouse, participant_inn, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![code_hash, warehouse, inn.as_str(), now.millis()],
        )?;
        Ok(())
    }

    pub fn enroll(
        &self,
        code_hash: &[u8],
        token_hash: &[u8],
        name: &str,
        app_version: &str,
        now: Timestamp,
    ) -> Result<Option<Device>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<(String, String)> = tx
            .query_row(
                "SELECT warehouse, participant_inn FROM enrollment_codes
                 WHERE code_hash = ?1 AND used_by IS NULL",
                [code_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((warehouse, participant_inn)) = found else {
            return Ok(None);
        };
        tx.execute(
            "INSERT INTO devices (name, token_hash, warehouse, participant_inn, enrolled_at,
                                  last_contact, app_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
            params![
                name,
                token_hash,
                warehouse,
                participant_inn,
                now.millis(),
                app_version
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE enrollment_codes SET used_by = ?1 WHERE code_hash = ?2",
            params![id, code_hash],
        )?;
        tx.commit()?;
        Ok(Some(Device {
            id,
            warehouse,
            participant_inn,
        }))
    }

    pub fn authenticate(&self, token_hash: &[u8]) -> Result<Option<Device>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT id, warehouse, participant_inn FROM devices
                 WHERE token_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([token_hash], |r| {
                Ok(Device {
                    id: r.get(0)?,
                    warehouse: r.get(1)?,
                    participant_inn: r.get(2)?,
                })
            })
            .optional()?)
    }

    pub fn touch(&self, device_id: i64, now: Timestamp) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE devices SET last_contact = ?2
                 WHERE id = ?1 AND (last_contact IS NULL OR last_contact < ?2 - ?3)",
            )?
            .execute(params![device_id, now.millis(), super::CONTACT_GRAIN_MS])?;
        Ok(())
    }

    pub fn create_admin_token(&self, token_hash: &[u8], label: &str, now: Timestamp) -> Result<()> {
        self.conn().execute(
            "INSERT INTO admin_tokens (token_hash, label, created_at) VALUES (?1, ?2, ?3)",
            params![token_hash, label, now.millis()],
        )?;
        Ok(())
    }

    pub fn is_admin_token(&self, token_hash: &[u8]) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("SELECT 1 FROM admin_tokens WHERE token_hash = ?1")?
            .query_row([token_hash], |_| Ok(()))
            .optional()?
            .is_some())
    }

    pub fn revoke_device(&self, device_id: i64, now: Timestamp) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE devices SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![now.millis(), device_id],
        )? == 1)
    }

    pub fn prune(&self, keep_last: i64) -> Result<Vec<Pruned>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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

    pub fn horizon(&self, feed: Feed) -> Result<i64> {
        horizon_of(&self.conn(), feed)
    }

    pub fn push(
        &self,
        device: &Device,
        request: &PushRequest,
        policy: &Policy,
        now: Timestamp,
    ) -> Result<Vec<OperationAnswer>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "UPDATE devices SET app_version = ?1, queue_depth = ?2, cache_synced_at = ?3,
                                last_contact = ?5
             WHERE id = ?4",
        )?
        .execute(params![
            request.device.app_version,
            i64::try_from(request.device.queue_depth).unwrap_or(i64::MAX),
            request.device.cache_synced_at,
            device.id,
            now.millis(),
        ])?;
        let keys = Keys::of(request);
        let mut snapshot = load(&tx, device, &keys)?;
        let outcome = push::judge(&mut snapshot, device, request, policy, now)?;
        write(&tx, device, &outcome, now)?;
        link::queue_refresh(&tx, &keys.refresh_codes(), now.millis())?;
        tx.commit()?;
        Ok(outcome.answers)
    }

    pub fn import_batch(&self) -> Result<ImportBatch<'_>> {
        let guard = self.conn();
        guard.execute_batch("BEGIN IMMEDIATE")?;
        Ok(ImportBatch {
            conn: guard,
            done: false,
        })
    }

    /// Up to `limit` rows after `after`; the caller trims and tells whether more follow.
    pub fn pull(
        &self,
        feed: Feed,
        warehouse: &str,
        after: i64,
        limit: i64,
    ) -> Result<(Vec<(i64, String)>, bool)> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, item FROM changes
             WHERE feed = ?1 AND seq > ?2 AND (warehouse IS NULL OR warehouse = ?4)
             ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![feed.name(), after, limit, warehouse], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, false))
    }

    pub fn fleet(&self) -> Result<Vec<FleetDevice>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
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

    pub fn operation_count(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM operations", [], |r| r.get(0))?)
    }

    pub fn status_line(&self, ki: &Ki) -> Result<Option<String>> {
        status_line(&self.conn(), ki)
    }

    /// Every row of `table` in key order, as cells.
    pub fn rows(&self, table: &str, each: &mut dyn FnMut(&[Cell])) -> Result<()> {
        let conn = self.conn();
        let (columns, order) = super::table_shape(table);
        // The counter of change-log numbers is a sequence on PostgreSQL, not a row.
        let filter = if table == "meta" {
            "WHERE name <> 'change_seq'"
        } else {
            ""
        };
        let mut stmt = conn.prepare(&format!(
            "SELECT {columns} FROM {table} {filter} ORDER BY {order}"
        ))?;
        let width = stmt.column_count();
        let mut rows = stmt.query([])?;
        let mut cells = Vec::with_capacity(width);
        while let Some(row) = rows.next()? {
            cells.clear();
            for i in 0..width {
                cells.push(match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Cell::Null,
                    rusqlite::types::ValueRef::Integer(n) => Cell::Int(n),
                    rusqlite::types::ValueRef::Real(f) => Cell::Text(f.to_string()),
                    rusqlite::types::ValueRef::Text(t) => {
                        Cell::Text(String::from_utf8_lossy(t).into_owned())
                    }
                    rusqlite::types::ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                });
            }
            each(&cells);
        }
        Ok(())
    }

    pub(crate) fn documents(&self, selection: Selection<'_>, limit: i64) -> Result<Vec<Exported>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
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
        let mut operations = stmt
            .query_map(
                params![selection.after, limit, selection.warehouse, types],
                |r| {
                    Ok(Exported {
                        position: r.get(0)?,
                        uuid: r.get(1)?,
                        notices: r.get(2)?,
                        documents: Vec::new(),
                        discrepancy: None,
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut docs = conn.prepare_cached(
            "SELECT doc_type, pg, body FROM gis_documents WHERE operation = ?1 ORDER BY position",
        )?;
        let mut discrepancy =
            conn.prepare_cached("SELECT body FROM discrepancies WHERE operation = ?1")?;
        for operation in &mut operations {
            operation.documents = docs
                .query_map([operation.position], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            operation.discrepancy = discrepancy
                .query_row([operation.position], |r| r.get(0))
                .optional()?;
        }
        Ok(operations)
    }
}

/// Runs the migrations this file has not run yet, in one transaction.
fn migrate(conn: &Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::NewerSchema(version));
    }
    if version == known {
        return Ok(());
    }
    let pending: String = MIGRATIONS[version as usize..].concat();
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {pending} PRAGMA user_version = {known}; COMMIT;"
    ))?;
    Ok(())
}

fn horizon_of(conn: &Connection, feed: Feed) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE name = ?1")?
        .query_row([horizon_key(feed)], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

fn status_line(conn: &Connection, ki: &Ki) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT info FROM statuses WHERE ki_key = ?1")?
        .query_row([ki.key().as_bytes()], |r| r.get(0))
        .optional()?)
}

fn feed_item(conn: &Connection, feed: Feed, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT item FROM changes WHERE feed = ?1 AND key = ?2")?
        .query_row(params![feed.name(), key], |r| r.get(0))
        .optional()?)
}

/// Everything the push names, read in the transaction it is applied in.
fn load(tx: &Transaction<'_>, device: &Device, keys: &Keys) -> Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    let mut answer = tx.prepare_cached(
        "SELECT device_id, result, reasons, notices FROM operations WHERE uuid = ?1",
    )?;
    for uuid in &keys.uuids {
        let rows = answer.query_map([uuid], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (owner, result, reasons, notices) = row?;
            if owner == device.id {
                let stored = stored_answer(uuid, &result, &reasons, &notices)?;
                snapshot.hold_answer(uuid.clone(), stored);
            } else {
                snapshot.hold_foreign_uuid(uuid.clone());
            }
        }
    }
    let mut participants = tx.prepare_cached("SELECT DISTINCT participant_inn FROM devices")?;
    for inn in participants.query_map([], |r| r.get::<_, String>(0))? {
        snapshot.hold_participant(inn?);
    }
    for ki in &keys.codes {
        if let Some(line) = status_line(tx, ki)? {
            snapshot.hold_status(*ki, &line)?;
        }
    }
    // A pallet named brings its boxes: what it holds is theirs.
    let mut labels: Vec<Sscc> = keys.labels.iter().copied().collect();
    let mut boxes = tx.prepare_cached("SELECT sscc FROM labels WHERE parent = ?1")?;
    for pallet in &keys.labels {
        for inner in boxes.query_map([pallet.to_string()], |r| r.get::<_, String>(0))? {
            if let Some(inner) = Sscc::from_digits(inner?.as_bytes()) {
                snapshot.hold_pallet_box(*pallet, inner);
                if !labels.contains(&inner) {
                    labels.push(inner);
                }
            }
        }
    }
    let mut children = tx.prepare_cached("SELECT ki_key, info FROM statuses WHERE parent = ?1")?;
    let mut next = 0;
    while let Some(sscc) = labels.get(next).copied() {
        next += 1;
        let sscc = &sscc;
        let rows = children.query_map([sscc.to_string()], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (key, line) = row?;
            if let Some(ki) = Ki::from_key(&key) {
                snapshot.hold_status(ki, &line)?;
            }
        }
        if let Some(line) = feed_item(tx, Feed::Statuses, &sscc.to_string())? {
            snapshot.hold_label_status(*sscc, &line);
            // A pallet only GIS MT knows names its boxes as its children.
            if keys.labels.contains(sscc) {
                for inner in push::label_children(&line) {
                    snapshot.hold_pallet_box(*sscc, inner);
                    if !labels.contains(&inner) {
                        labels.push(inner);
                    }
                }
            }
        }
        let owner = tx
            .prepare_cached(
                "SELECT l.device_id, d.warehouse, d.participant_inn
                 FROM labels l JOIN devices d ON d.id = l.device_id WHERE l.sscc = ?1",
            )?
            .query_row([sscc.to_string()], |r| {
                Ok(LabelOwner {
                    device: r.get(0)?,
                    warehouse: r.get(1)?,
                    participant: r.get(2)?,
                })
            })
            .optional()?;
        if let Some(owner) = owner {
            snapshot.hold_label(*sscc, owner);
        }
    }
    let held: Vec<Ki> = snapshot
        .held_codes()
        .copied()
        .chain(keys.codes.iter().copied())
        .collect();
    for ki in &held {
        for key in Snapshot::block_keys(ki) {
            if let Some(item) = feed_item(tx, Feed::Blocks, &key)? {
                snapshot.hold_block(key, &item)?;
            }
        }
        let gtin = ki.gtin();
        if let Some(line) = feed_item(tx, Feed::Catalog, &gtin.to_string())? {
            snapshot.hold_catalog(gtin, &line);
        }
    }
    let mut task =
        tx.prepare_cached("SELECT item, warehouse FROM changes WHERE feed = ?1 AND key = ?2")?;
    for id in &keys.tasks {
        let found: Option<(String, Option<String>)> = task
            .query_row(params![Feed::Tasks.name(), id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        if let Some((line, warehouse)) = found {
            snapshot.hold_task(id.clone(), &line, warehouse.as_deref());
        }
    }
    for id in &keys.orders {
        let found: Option<Option<String>> = task
            .query_row(params![Feed::Orders.name(), id], |r| r.get(1))
            .optional()?;
        if let Some(warehouse) = found {
            snapshot.hold_order(id.clone(), warehouse.as_deref());
        }
    }
    Ok(snapshot)
}

/// An answer as `write` stored it.
pub(super) fn stored_answer(
    uuid: &str,
    result: &str,
    reasons: &str,
    notices: &str,
) -> Result<OperationAnswer> {
    Ok(OperationAnswer {
        uuid: uuid.to_owned(),
        // Only `write` fills the column, with a known code.
        result: PushResult::from_code(result).unwrap_or(PushResult::Rejected),
        original: None,
        reasons: serde_json::from_str::<Vec<OperationReason>>(reasons)?,
        notices: serde_json::from_str(notices)?,
    })
}

/// A judged push written: the new operations with their answers and documents, the changed
/// statuses (and the change log with them), the labels claimed.
fn write(
    tx: &Transaction<'_>,
    device: &Device,
    outcome: &Outcome<'_>,
    now: Timestamp,
) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO operations (uuid, device_id, seq, kind, operator, started_at, finished_at,
                                 payload, result, reasons, received_at, notices)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING rowid",
    )?;
    let mut document = tx.prepare_cached(
        "INSERT INTO gis_documents (operation, position, doc_type, pg, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut discrepancy =
        tx.prepare_cached("INSERT INTO discrepancies (operation, body) VALUES (?1, ?2)")?;
    for record in &outcome.records {
        let row = super::OperationRow::of(record)?;
        let rowid: i64 = insert.query_row(
            params![
                record.uuid,
                device.id,
                record.operation.seq,
                row.kind,
                record.operation.operator,
                record.operation.started_at,
                record.operation.finished_at,
                row.payload,
                record.answer.result.code(),
                row.reasons,
                now.millis(),
                row.notices,
            ],
            |r| r.get(0),
        )?;
        for (position, (doc_type, pg, body)) in row.documents.iter().enumerate() {
            document.execute(params![rowid, position as i64, doc_type, pg, body])?;
        }
        link::submit(tx, rowid, row.documents.len(), now.millis())?;
        if let Some(body) = &row.discrepancy {
            discrepancy.execute(params![rowid, body])?;
        }
    }
    for (ki, info) in &outcome.statuses {
        write_status(tx, ki, info)?;
    }
    let mut label =
        tx.prepare_cached("INSERT OR IGNORE INTO labels (sscc, device_id) VALUES (?1, ?2)")?;
    for sscc in &outcome.labels {
        label.execute(params![sscc.to_string(), device.id])?;
    }
    let mut placed = tx.prepare_cached("UPDATE labels SET parent = ?2 WHERE sscc = ?1")?;
    for (inner, pallet) in &outcome.pallets {
        placed.execute(params![inner.to_string(), pallet.map(|p| p.to_string())])?;
    }
    Ok(())
}

fn next_change_seq(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "UPDATE meta SET value = value + 1 WHERE name = 'change_seq' RETURNING value",
        )?
        .query_row([], |r| r.get(0))?)
}

fn log_change(
    conn: &Connection,
    feed: Feed,
    key: &str,
    item: &Value,
    warehouse: Option<&str>,
) -> Result<()> {
    let seq = next_change_seq(conn)?;
    conn.prepare_cached(
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

fn write_status(conn: &Connection, ki: &Ki, info: &Value) -> Result<()> {
    let columns = StatusColumns::of(info);
    conn.prepare_cached(
        "INSERT INTO statuses (ki_key, status, status_ex, owner_inn, parent, blocked, info)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (ki_key) DO UPDATE SET status = excluded.status,
             status_ex = excluded.status_ex, owner_inn = excluded.owner_inn,
             parent = excluded.parent, blocked = excluded.blocked, info = excluded.info",
    )?
    .execute(params![
        ki.key().as_bytes(),
        columns.status,
        columns.status_ex,
        columns.owner_inn,
        columns.parent,
        columns.blocked,
        serde_json::to_string(info)?
    ])?;
    log_change(conn, Feed::Statuses, &status_key(ki), info, None)
}

/// The transaction an import is written in: it holds the connection until it commits or is
/// dropped (which rolls it back).
pub struct ImportBatch<'a> {
    conn: MutexGuard<'a, Connection>,
    done: bool,
}

impl std::fmt::Debug for ImportBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportBatch")
            .field("done", &self.done)
            .finish()
    }
}

impl ImportBatch<'_> {
    pub fn status(&mut self, ki: &Ki, info: &Value) -> Result<()> {
        write_status(&self.conn, ki, info)
    }

    pub fn remove_status(&mut self, ki: &Ki) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM statuses WHERE ki_key = ?1")?
            .execute([ki.key().as_bytes()])?;
        let item = serde_json::json!({"cis": ki.to_string(), "remove": true});
        log_change(&self.conn, Feed::Statuses, &status_key(ki), &item, None)
    }

    pub fn item(
        &mut self,
        feed: Feed,
        key: &str,
        item: &Value,
        warehouse: Option<&str>,
    ) -> Result<()> {
        log_change(&self.conn, feed, key, item, warehouse)
    }

    pub fn queue_refresh(&mut self, codes: &[String], now: Timestamp) -> Result<()> {
        link::queue_refresh(&self.conn, codes, now.millis())
    }

    pub fn commit(mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.done = true;
        Ok(())
    }
}

impl Drop for ImportBatch<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing of a failed import may stay; if even the rollback fails, the connection
            // is closed with the process and SQLite rolls back on the next open.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_version_1_hub_upgrades_with_its_devices_and_tokens_intact() {
        let dir = std::env::temp_dir().join(format!("tally-hub-v1-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!("{} PRAGMA user_version = 1;", MIGRATIONS[0]))
                .unwrap();
            conn.execute(
                "INSERT INTO devices (name, token_hash, warehouse, participant_inn, enrolled_at)
                 VALUES ('tsd', ?1, 'W1', '7707083893', 0)",
                [super::super::sha256("old-token")],
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let Store::Sqlite(sqlite) = &store else {
            unreachable!("Store::open is SQLite")
        };
        let version: i64 = sqlite
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let device = store.authenticate("old-token").unwrap();
        assert_eq!(device.map(|d| d.warehouse).as_deref(), Some("W1"));
        assert!(store.revoke_device(1, Timestamp(2)).unwrap());
        assert!(store.authenticate("old-token").unwrap().is_none());
        let admin = store.create_admin_token("ops", Timestamp(4)).unwrap();
        assert!(store.is_admin_token(&admin).unwrap());
        assert!(!store.is_admin_token("old-token").unwrap());
        drop(store);
        assert!(Store::open(&path).is_ok(), "opening again changes nothing");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_newer_hub_is_refused_rather_than_changed() {
        let dir = std::env::temp_dir().join(format!("tally-hub-new-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99;")
            .unwrap();
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::NewerSchema(99))
        ));
        let _ = std::fs::remove_dir_all(dir);
    }
}
