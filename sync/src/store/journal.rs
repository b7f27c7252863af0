//! The durable side of the terminal's work: operations in progress and their scans, the queue
//! of finished operations waiting for the hub, boxes built here, and the counters that must
//! never repeat.
//!
//! Every write is one transaction on the writer connection (`synchronous=FULL`), so when a call
//! returns its effect survives a crash or a pulled battery; when it fails or is cut short,
//! nothing of it is there. The operation state machines own their payloads: the store keeps
//! their JSON as text and never looks inside.

use std::fmt;

use rusqlite::{OptionalExtension, Row, TransactionBehavior, ffi, params};
use tally_domain::code::Ki;
use tally_domain::gs1::Sscc;
use tally_domain::status::{CisStatus, Inn, Timestamp};

use super::codec::{item_column, item_from_column, sscc_column};
use super::{Reader, Result, Store, StoreError};

/// An operation in progress on this terminal. Never reused, even after it is finished.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct OperationId(pub i64);

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One recorded scan. Never reused, even after its operation is finished.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ScanId(pub i64);

impl fmt::Display for ScanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The per-device sequence number of a finished operation: strictly increasing, never reused,
/// so the hub can tell a resend from a new operation and see a gap.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct DeviceSeq(pub i64);

impl fmt::Display for DeviceSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What starts an operation.
#[derive(Clone, Copy, Debug)]
pub struct NewOperation<'a> {
    /// `acceptance`, `aggregation`, `write_off`, ...
    pub kind: &'a str,
    pub operator: &'a str,
    /// The state machine's header (task, document number, ...) as JSON text.
    pub header: &'a str,
    pub started_at: Timestamp,
}

/// One scan to record.
#[derive(Clone, Copy, Debug)]
pub struct NewScan<'a> {
    /// The scan's place in its operation, chosen by the state machine; unique per operation.
    pub seq: u32,
    pub at: Timestamp,
    /// `scan`, `remove`, `confirm`, ...
    pub action: &'a str,
    /// The canonical text of the code, exactly as parsed (GS bytes included).
    pub code: &'a str,
    pub ki: Option<Ki>,
    /// The verdict's stable code.
    pub verdict: &'a str,
    /// The verdict's details as JSON text.
    pub detail: &'a str,
}

/// A recorded scan, as read back.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ScanEntry {
    pub id: ScanId,
    pub seq: u32,
    pub at: Timestamp,
    pub action: String,
    pub code: String,
    pub ki: Option<Ki>,
    pub verdict: String,
    pub detail: String,
}

/// An operation not finished yet, with its scans in order: what the state machine replays
/// after a restart.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OpenOperation {
    pub id: OperationId,
    pub kind: String,
    pub operator: String,
    pub header: String,
    pub started_at: Timestamp,
    pub entries: Vec<ScanEntry>,
}

/// A finished operation in the outgoing queue.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct QueuedOperation {
    pub seq: DeviceSeq,
    /// A UUID v4: the operation's identity at the hub (idempotent uploads).
    pub uuid: String,
    pub kind: String,
    pub operator: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    /// The state machine's result as JSON text.
    pub payload: String,
    pub uploaded_at: Option<Timestamp>,
}

/// What a box or pallet built on this terminal holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AggregateItem {
    Code(Ki),
    /// A box on a pallet.
    Box(Sscc),
}

fn is_constraint(error: &rusqlite::Error, extended: i32) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == extended)
}

fn corrupt(table: &'static str) -> impl Fn(String) -> StoreError {
    move |detail| StoreError::Corrupt { table, detail }
}

fn ki_from_column(table: &'static str, key: Option<Vec<u8>>) -> Result<Option<Ki>> {
    key.map(|k| Ki::from_key(&k).ok_or_else(|| corrupt(table)("ki is not a КИ key".to_owned())))
        .transpose()
}

const ENTRY_COLUMNS: &str = "id, seq, at, action, code, ki, verdict, detail";

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<(ScanEntry, Option<Vec<u8>>)> {
    Ok((
        ScanEntry {
            id: ScanId(row.get(0)?),
            seq: row.get(1)?,
            at: Timestamp(row.get(2)?),
            action: row.get(3)?,
            code: row.get(4)?,
            ki: None,
            verdict: row.get(6)?,
            detail: row.get(7)?,
        },
        row.get(5)?,
    ))
}

fn with_ki((mut entry, key): (ScanEntry, Option<Vec<u8>>)) -> Result<ScanEntry> {
    entry.ki = ki_from_column("journal", key)?;
    Ok(entry)
}

const QUEUE_COLUMNS: &str =
    "seq, uuid, kind, operator, started_at, finished_at, payload, uploaded_at";

/// Reads the first eight columns of a row as [`QUEUE_COLUMNS`] orders them.
pub(super) fn queued_from_row(row: &Row<'_>) -> rusqlite::Result<QueuedOperation> {
    Ok(QueuedOperation {
        seq: DeviceSeq(row.get(0)?),
        uuid: row.get(1)?,
        kind: row.get(2)?,
        operator: row.get(3)?,
        started_at: Timestamp(row.get(4)?),
        finished_at: Timestamp(row.get(5)?),
        payload: row.get(6)?,
        uploaded_at: row.get::<_, Option<i64>>(7)?.map(Timestamp),
    })
}

impl Reader {
    /// Operations not finished yet, oldest first, each with its scans in sequence order.
    pub fn open_operations(&self) -> Result<Vec<OpenOperation>> {
        let mut operations = self
            .conn
            .prepare_cached(
                "SELECT id, kind, operator, header, started_at FROM operations ORDER BY id",
            )?
            .query_map([], |row| {
                Ok(OpenOperation {
                    id: OperationId(row.get(0)?),
                    kind: row.get(1)?,
                    operator: row.get(2)?,
                    header: row.get(3)?,
                    started_at: Timestamp(row.get(4)?),
                    entries: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut entries = self.conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM journal WHERE operation_id = ?1 ORDER BY seq"
        ))?;
        for operation in &mut operations {
            operation.entries = entries
                .query_map([operation.id.0], entry_from_row)?
                .map(|row| with_ki(row?))
                .collect::<Result<Vec<_>>>()?;
        }
        Ok(operations)
    }

    /// Finished operations not uploaded yet, in device order.
    pub fn pending_queue(&self) -> Result<Vec<QueuedOperation>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {QUEUE_COLUMNS} FROM queue WHERE uploaded_at IS NULL ORDER BY seq"
            ))?
            .query_map([], queued_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// How many finished operations wait for upload.
    pub fn queue_depth(&self) -> Result<u64> {
        let depth: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM queue WHERE uploaded_at IS NULL")?
            .query_row([], |row| row.get(0))?;
        Ok(depth.unsigned_abs())
    }

    /// The box or pallet built here that holds `item`.
    pub fn aggregate_of(&self, item: &AggregateItem) -> Result<Option<Sscc>> {
        let sscc: Option<i64> = self
            .conn
            .prepare_cached("SELECT sscc FROM aggregate_items WHERE item = ?1")?
            .query_row([item_column(item)], |row| row.get(0))
            .optional()?;
        sscc.map(|value| {
            u64::try_from(value)
                .ok()
                .and_then(Sscc::from_value)
                .ok_or_else(|| corrupt("aggregate_items")(format!("sscc {value}")))
        })
        .transpose()
    }

    /// The units a box or pallet label holds: by the status list (a unit's `parent`, a
    /// pallet's boxes one level down) and by the aggregates built here, less the units this
    /// terminal took out of a box. Sorted; empty when nothing is known of the label.
    pub fn label_units(&self, sscc: Sscc) -> Result<Vec<Ki>> {
        let mut boxes = vec![sscc];
        let mut inner = self
            .conn
            .prepare_cached("SELECT sscc FROM label_statuses WHERE parent = ?1")?;
        for row in inner.query_map([sscc_column(sscc)], |row| row.get::<_, i64>(0))? {
            if let Some(b) = u64::try_from(row?).ok().and_then(Sscc::from_value) {
                boxes.push(b);
            }
        }
        let mut units = std::collections::BTreeSet::new();
        let mut listed = self
            .conn
            .prepare_cached("SELECT ki FROM statuses WHERE parent = ?1")?;
        let mut at = 0;
        while let Some(&label) = boxes.get(at) {
            at += 1;
            for row in listed.query_map([sscc_column(label)], |row| row.get::<_, Vec<u8>>(0))? {
                units.extend(Ki::from_key(&row?));
            }
            for item in self.aggregate_items(label)?.unwrap_or_default() {
                match item {
                    AggregateItem::Code(ki) => {
                        units.insert(ki);
                    }
                    // A pallet built here: its boxes' units too.
                    AggregateItem::Box(b) if !boxes.contains(&b) => boxes.push(b),
                    AggregateItem::Box(_) => {}
                }
            }
        }
        let mut unboxed = self
            .conn
            .prepare_cached("SELECT 1 FROM local_unboxed WHERE ki = ?1")?;
        let mut out = Vec::with_capacity(units.len());
        for ki in units {
            if !unboxed.exists([ki.key().as_bytes()])? {
                out.push(ki);
            }
        }
        Ok(out)
    }

    /// What a box or pallet built here holds; `None` when there is no such aggregate.
    pub fn aggregate_items(&self, sscc: Sscc) -> Result<Option<Vec<AggregateItem>>> {
        let exists = self
            .conn
            .prepare_cached("SELECT 1 FROM aggregates WHERE sscc = ?1")?
            .exists([sscc_column(sscc)])?;
        if !exists {
            return Ok(None);
        }
        let mut statement = self
            .conn
            .prepare_cached("SELECT item FROM aggregate_items WHERE sscc = ?1")?;
        let mut rows = statement.query([sscc_column(sscc)])?;
        let mut items = Vec::new();
        while let Some(row) = rows.next()? {
            items.push(item_from_column(row.get_ref(0)?).map_err(corrupt("aggregate_items"))?);
        }
        Ok(Some(items))
    }
}

impl Store {
    /// Starts an operation; it stays open (across restarts) until finished or discarded.
    pub fn begin_operation(&mut self, operation: &NewOperation<'_>) -> Result<OperationId> {
        let id = self
            .conn()
            .prepare_cached(
                "INSERT INTO operations (kind, operator, header, started_at)
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
            )?
            .query_row(
                params![
                    operation.kind,
                    operation.operator,
                    operation.header,
                    operation.started_at.0
                ],
                |row| row.get(0),
            )?;
        Ok(OperationId(id))
    }

    /// Records one scan of an open operation. When this returns `Ok`, the scan is on disk.
    pub fn record_scan(&mut self, operation: OperationId, scan: &NewScan<'_>) -> Result<ScanId> {
        let key = scan.ki.map(|ki| ki.key());
        let inserted = self
            .conn()
            .prepare_cached(
                "INSERT INTO journal (operation_id, seq, at, action, code, ki, verdict, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
            )?
            .query_row(
                params![
                    operation.0,
                    scan.seq,
                    scan.at.0,
                    scan.action,
                    scan.code,
                    key.as_ref().map(|k| k.as_bytes()),
                    scan.verdict,
                    scan.detail
                ],
                |row| row.get(0),
            );
        match inserted {
            Ok(id) => Ok(ScanId(id)),
            Err(e) if is_constraint(&e, ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                Err(StoreError::UnknownOperation(operation))
            }
            Err(e) if is_constraint(&e, ffi::SQLITE_CONSTRAINT_UNIQUE) => {
                Err(StoreError::DuplicateScan {
                    operation,
                    seq: scan.seq,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Takes back the last scan (highest sequence number) of an open operation and returns it;
    /// `None` when the operation has no scans.
    pub fn undo_last_scan(&mut self, operation: OperationId) -> Result<Option<ScanEntry>> {
        let tx = self.conn().transaction()?;
        let removed = tx
            .prepare_cached(&format!(
                "DELETE FROM journal WHERE id = (
                     SELECT id FROM journal WHERE operation_id = ?1 ORDER BY seq DESC LIMIT 1
                 ) RETURNING {ENTRY_COLUMNS}"
            ))?
            .query_row([operation.0], entry_from_row)
            .optional()?;
        if removed.is_none() && !operation_exists(&tx, operation)? {
            return Err(StoreError::UnknownOperation(operation));
        }
        tx.commit()?;
        removed.map(with_ki).transpose()
    }

    /// Finishes an operation: in one transaction its journal is closed (deleted: the payload
    /// now carries the result) and one row enters the queue with the next device sequence
    /// number and a new UUID.
    pub fn finish_operation(
        &mut self,
        operation: OperationId,
        finished_at: Timestamp,
        payload: &str,
        effects: &Effects,
    ) -> Result<QueuedOperation> {
        let tx = self
            .conn()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (kind, operator, started_at): (String, String, i64) = tx
            .prepare_cached("SELECT kind, operator, started_at FROM operations WHERE id = ?1")?
            .query_row([operation.0], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?
            .ok_or(StoreError::UnknownOperation(operation))?;
        let seq = next_counter(&tx, "next_device_seq")?;
        let queued = QueuedOperation {
            seq: DeviceSeq(seq),
            uuid: uuid::Uuid::new_v4().to_string(),
            kind,
            operator,
            started_at: Timestamp(started_at),
            finished_at,
            payload: payload.to_owned(),
            uploaded_at: None,
        };
        tx.prepare_cached(
            "INSERT INTO queue (seq, uuid, kind, operator, started_at, finished_at, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            queued.seq.0,
            queued.uuid,
            queued.kind,
            queued.operator,
            queued.started_at.0,
            queued.finished_at.0,
            queued.payload
        ])?;
        delete_operation(&tx, operation)?;
        for (sscc, items) in &effects.aggregates {
            put_aggregate(&tx, *sscc, items, finished_at)?;
        }
        for sscc in &effects.unpacked {
            remove_aggregate(&tx, *sscc)?;
        }
        for local in &effects.statuses {
            put_local_statuses(&tx, local, finished_at)?;
        }
        let mut unbox =
            tx.prepare_cached("INSERT OR REPLACE INTO local_unboxed (ki, at) VALUES (?1, ?2)")?;
        for ki in &effects.unboxed {
            unbox.execute(params![ki.key().as_bytes(), finished_at.0])?;
        }
        drop(unbox);
        tx.commit()?;
        Ok(queued)
    }

    /// Drops an open operation and its scans without queueing anything (the operator
    /// cancelled it). `false` when it was not open.
    pub fn discard_operation(&mut self, operation: OperationId) -> Result<bool> {
        let tx = self.conn().transaction()?;
        let existed = delete_operation(&tx, operation)?;
        tx.commit()?;
        Ok(existed)
    }

    /// Marks queue rows as accepted by the hub; returns how many were pending. The rows stay
    /// as the terminal's record.
    pub fn mark_uploaded(&mut self, seqs: &[DeviceSeq], at: Timestamp) -> Result<usize> {
        let tx = self.conn().transaction()?;
        let mut marked = 0;
        {
            let mut update = tx.prepare_cached(
                "UPDATE queue SET uploaded_at = ?2 WHERE seq = ?1 AND uploaded_at IS NULL",
            )?;
            for seq in seqs {
                marked += update.execute(params![seq.0, at.0])?;
            }
        }
        tx.commit()?;
        Ok(marked)
    }

    /// Records a box or pallet built here, in its own transaction (finishing an operation
    /// records its boxes in the finishing transaction instead, see [`Effects`]).
    pub fn put_aggregate(
        &mut self,
        sscc: Sscc,
        items: &[AggregateItem],
        built_at: Timestamp,
    ) -> Result<()> {
        let tx = self.conn().transaction()?;
        put_aggregate(&tx, sscc, items, built_at)?;
        tx.commit()?;
        Ok(())
    }

    /// Records what a finished operation did to these codes (accepted: ours and introduced;
    /// written off: out of circulation) until a sync later than `at` brings the hub's word.
    /// `owner` `None` leaves the cached owner as it is.
    pub fn put_local_statuses(
        &mut self,
        kis: &[Ki],
        status: CisStatus,
        owner: Option<&Inn>,
        at: Timestamp,
    ) -> Result<()> {
        let tx = self.conn().transaction()?;
        let local = LocalStatuses {
            codes: kis.to_vec(),
            status,
            owner: owner.copied(),
        };
        put_local_statuses(&tx, &local, at)?;
        tx.commit()?;
        Ok(())
    }

    /// Takes a box or pallet apart; `false` when there was none.
    pub fn remove_aggregate(&mut self, sscc: Sscc) -> Result<bool> {
        remove_aggregate(self.conn(), sscc)
    }

    /// The next serial reference for an SSCC printed here. Durable before it is returned, so a
    /// label is never printed twice, even across a crash; past the end of the range the hub
    /// gave (`adopt_sscc_serials`), none is handed out.
    pub fn next_sscc_serial(&mut self) -> Result<u64> {
        let tx = self.conn().transaction()?;
        let serial = next_counter(&tx, "next_sscc_serial")?;
        let last: Option<i64> = tx
            .prepare_cached("SELECT value FROM meta WHERE key = 'sscc_serial_last'")?
            .query_row([], |row| row.get(0))
            .optional()?;
        if last.is_some_and(|last| serial > last) {
            // Dropped: the counter stays where it was.
            return Err(StoreError::SsccSerialsUsedUp);
        }
        tx.commit()?;
        // The counter starts at 1 (or the range's first) and only grows.
        Ok(serial.unsigned_abs())
    }

    /// Takes the serial range the hub gave this terminal at enrollment: the counter moves to
    /// its start unless it is already inside it (a second call, or a restart, changes nothing),
    /// and no serial past its end is handed out. Serials are never handed out twice: the
    /// counter never moves back.
    pub fn adopt_sscc_serials(&mut self, first: u64, last: u64) -> Result<()> {
        let (first, last) = (
            i64::try_from(first).unwrap_or(i64::MAX),
            i64::try_from(last).unwrap_or(i64::MAX),
        );
        let tx = self.conn().transaction()?;
        tx.prepare_cached(
            "UPDATE meta SET value = ?1 WHERE key = 'next_sscc_serial' AND value < ?1",
        )?
        .execute([first])?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('sscc_serial_last', ?1)",
        )?
        .execute([last])?;
        tx.commit()?;
        Ok(())
    }
}

/// What finishing an operation leaves in the replica besides its queue row, committed in the
/// same transaction: were any of it to fail, the operation stays open and nothing is queued.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Boxes and pallets built here.
    pub aggregates: Vec<(Sscc, Vec<AggregateItem>)>,
    /// Boxes and pallets taken apart here.
    pub unpacked: Vec<Sscc>,
    pub statuses: Vec<LocalStatuses>,
    /// Units taken out of a box here (its list may be one only GIS MT knows).
    pub unboxed: Vec<Ki>,
}

/// Codes whose status this terminal changed, until the hub's word arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalStatuses {
    pub codes: Vec<Ki>,
    pub status: CisStatus,
    /// `None` leaves the cached owner as it is.
    pub owner: Option<Inn>,
}

fn put_aggregate(
    tx: &rusqlite::Connection,
    sscc: Sscc,
    items: &[AggregateItem],
    built_at: Timestamp,
) -> Result<()> {
    let value = sscc_column(sscc);
    tx.prepare_cached("DELETE FROM aggregates WHERE sscc = ?1")?
        .execute([value])?;
    tx.prepare_cached("INSERT INTO aggregates (sscc, built_at) VALUES (?1, ?2)")?
        .execute(params![value, built_at.0])?;
    let mut insert =
        tx.prepare_cached("INSERT INTO aggregate_items (item, sscc) VALUES (?1, ?2)")?;
    for item in items {
        match insert.execute(params![item_column(item), value]) {
            Ok(_) => {}
            Err(e) if is_constraint(&e, ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                return Err(StoreError::AlreadyAggregated { sscc });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn put_local_statuses(
    tx: &rusqlite::Connection,
    local: &LocalStatuses,
    at: Timestamp,
) -> Result<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT OR REPLACE INTO local_statuses (ki, status, owner, at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for ki in &local.codes {
        upsert.execute(params![
            ki.key().as_bytes(),
            local.status.number(),
            local.owner.as_ref().map(Inn::as_str),
            at.0
        ])?;
    }
    Ok(())
}

fn remove_aggregate(conn: &rusqlite::Connection, sscc: Sscc) -> Result<bool> {
    let removed = conn
        .prepare_cached("DELETE FROM aggregates WHERE sscc = ?1")?
        .execute([sscc_column(sscc)])?;
    Ok(removed > 0)
}

fn operation_exists(conn: &rusqlite::Connection, operation: OperationId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM operations WHERE id = ?1")?
        .exists([operation.0])?)
}

fn delete_operation(conn: &rusqlite::Connection, operation: OperationId) -> Result<bool> {
    conn.prepare_cached("DELETE FROM journal WHERE operation_id = ?1")?
        .execute([operation.0])?;
    let deleted = conn
        .prepare_cached("DELETE FROM operations WHERE id = ?1")?
        .execute([operation.0])?;
    Ok(deleted > 0)
}

/// Takes the counter's value and moves it on, inside the caller's transaction.
fn next_counter(conn: &rusqlite::Connection, key: &str) -> Result<i64> {
    let taken: Option<i64> = conn
        .prepare_cached("UPDATE meta SET value = value + 1 WHERE key = ?1 RETURNING value - 1")?
        .query_row([key], |row| row.get(0))
        .optional()?;
    taken.ok_or_else(|| StoreError::Corrupt {
        table: "meta",
        detail: format!("counter {key} is missing"),
    })
}
