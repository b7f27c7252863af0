//! The PostgreSQL backend: one database for several hub instances, any terminal at any one.
//!
//! The driver is `postgres` (the blocking face of `tokio-postgres`, same maintainers) behind an
//! `r2d2` pool: the hub's rules are synchronous domain code, and the HTTP layer runs every store
//! call on tokio's blocking pool, so a blocking client costs nothing there and keeps one store
//! interface for both backends. Each pooled connection keeps the statements prepared on it
//! (`Session`): a push runs some twenty, and preparing each anew would double its round trips.
//!
//! A push runs in one READ COMMITTED transaction that first takes transaction-scoped advisory
//! locks on everything it names (its device, each code, each label), in one sorted order so two
//! pushes never wait on each other in a circle, then loads its facts with `FOR UPDATE`, judges
//! them in memory (`push::judge`) and writes the outcome in a handful of array statements. Two
//! terminals writing off one code through two instances are thus judged one after the other, as
//! on SQLite; pushes over different codes run side by side. The device's lock also makes a
//! retried push wait for the first and then find its answers: the operation UUID, unique in the
//! table, is what keeps intake exactly-once, and a push that still meets it (or a deadlock, or a
//! serialization failure) starts again from the top.
//!
//! Change-log numbers are not taken inside the writing transaction: a sequence gives numbers in
//! the order they are asked for, not the order transactions commit, so a terminal could read 11,
//! move its cursor past 10 and never see 10 commit later. Writers leave `seq` NULL (not pulled),
//! and after commit a sequencer pass, one at a time under an advisory lock, numbers every
//! committed NULL row from `change_seq`. Each pass numbers only committed rows and runs after
//! the previous pass committed, so every number it gives is above every number any reader can
//! already see. Intake positions (the documents cursor) are given the same way.

use std::collections::HashMap;

use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, GenericClient, NoTls, Row, Statement};
use r2d2::{Pool, PooledConnection};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tally_domain::code::Ki;
use tally_domain::gs1::{Gtin, Sscc};
use tally_domain::status::{Inn, Timestamp};
use tally_domain::validate::Policy;
use tally_wire::{Feed, FleetDevice, OperationAnswer, PushRequest};

use super::sqlite::stored_answer;
use super::{
    Cell, Device, Exported, OperationRow, Pruned, Result, StatusColumns, StoreError, horizon_key,
    status_key,
};
use crate::documents::Selection;
use crate::push::{self, Keys, LabelOwner, Outcome, Snapshot};

/// Opens the pool's connections, each with its own cache of prepared statements.
#[derive(Debug)]
struct Manager {
    config: ::postgres::Config,
}

/// A pooled connection: the client and the statements prepared on it. A push runs some
/// twenty statements; preparing each anew would double its round trips to the server.
struct Connection {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl std::ops::Deref for Connection {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = ::postgres::Error;

    fn connect(&self) -> std::result::Result<Connection, ::postgres::Error> {
        Ok(Connection {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> std::result::Result<(), ::postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client.is_closed()
    }
}

impl Connection {
    /// The connection's client (or a transaction on it) with the statement cache beside it.
    fn session<'a, C: GenericClient>(
        client: &'a mut C,
        statements: &'a mut HashMap<&'static str, Statement>,
    ) -> Session<'a, C> {
        Session { client, statements }
    }
}

/// A client or transaction whose fixed statements are prepared once per connection.
struct Session<'a, C: GenericClient> {
    client: &'a mut C,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl<C: GenericClient> Session<'_, C> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        Ok(self.client.query(&statement, params)?)
    }

    fn query_one(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        let statement = self.statement(sql)?;
        Ok(self.client.query_one(&statement, params)?)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>> {
        let statement = self.statement(sql)?;
        Ok(self.client.query_opt(&statement, params)?)
    }

    fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let statement = self.statement(sql)?;
        Ok(self.client.execute(&statement, params)?)
    }
}

/// The migrations, in order; `schema_migrations` holds the versions run.
const MIGRATIONS: [&str; 7] = [
    include_str!("../../migrations/postgres/0001_initial.sql"),
    include_str!("../../migrations/postgres/0002_box_contents.sql"),
    include_str!("../../migrations/postgres/0003_operations_per_device.sql"),
    include_str!("../../migrations/postgres/0004_gismt.sql"),
    include_str!("../../migrations/postgres/0005_onec.sql"),
    include_str!("../../migrations/postgres/0006_onec_results.sql"),
    include_str!("../../migrations/postgres/0007_label_parents.sql"),
];

mod link;
mod onec;

/// Advisory lock keys of the hub's own: instances migrating at once, and the sequencer.
const MIGRATION_LOCK: i64 = 0x7461_6c6c_795f_6d67;
const SEQUENCER_LOCK: i64 = 0x7461_6c6c_795f_7371;

/// Connections one hub instance keeps. Pushes hold one for their whole transaction; a dock of
/// a thousand terminals waits its turn in the pool rather than in PostgreSQL.
const POOL_SIZE: u32 = 16;

/// How often a push that met another writer starts again before it gives up.
const ATTEMPTS: u32 = 8;

/// Change-log rows one sequencer statement numbers.
const SEQUENCE_CHUNK: i64 = 50_000;

/// Import rows sent to the server per statement.
const IMPORT_CHUNK: usize = 5_000;

pub struct Postgres {
    pool: Pool<Manager>,
    passes: Passes,
}

/// The sequencer passes this instance runs for its writers. A writer needs a pass that starts
/// after its commit; writers committing together share one, so a dock of terminals pushing at
/// once costs a pass per round, not one per push waiting its turn on the sequencer's lock.
#[derive(Debug, Default)]
struct Passes {
    state: std::sync::Mutex<PassState>,
    finished: std::sync::Condvar,
}

impl Passes {
    fn lock(&self) -> std::sync::MutexGuard<'_, PassState> {
        // A writer that panicked mid-pass left the counts as they were; they still hold.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Debug, Default)]
struct PassState {
    /// A pass of this instance is running now.
    running: bool,
    /// Passes begun and ended, counted.
    started: u64,
    ended: u64,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("connections", &self.pool.state().connections)
            .finish()
    }
}

/// Whether a failed transaction may simply run again: another writer got there first.
fn retryable(error: &StoreError) -> bool {
    let StoreError::Postgres(error) = error else {
        return false;
    };
    use ::postgres::error::SqlState;
    error.code().is_some_and(|code| {
        *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::UNIQUE_VIOLATION
    })
}

/// An advisory lock key for a thing a push names (`device:1`, `code:…`, `label:…`).
fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

impl Postgres {
    pub fn connect(url: &str) -> Result<Postgres> {
        let config: ::postgres::Config = url.parse()?;
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(std::time::Duration::from_secs(30))
            .build(Manager { config })?;
        let store = Postgres {
            pool,
            passes: Passes::default(),
        };
        migrate(&mut *store.pool.get()?)?;
        // A hub killed between a commit and its sequencer pass left rows unnumbered.
        store.sequence()?;
        Ok(store)
    }

    fn conn(&self) -> Result<PooledConnection<Manager>> {
        Ok(self.pool.get()?)
    }

    pub fn ping(&self) -> Result<()> {
        // A read of a hub table, not `SELECT 1`: a database without the hub's schema is not ready.
        self.conn()?.simple_query("SELECT count(*) FROM meta")?;
        Ok(())
    }

    /// Numbers every committed change and operation that has no number yet (see the module
    /// documentation). Cheap when there is none: both look through partial indexes of the NULLs.
    pub fn sequence(&self) -> Result<()> {
        sequence(&mut *self.conn()?)
    }

    /// Returns once a pass that began after this call has ended: the writer's committed rows
    /// are numbered then. Runs that pass itself unless another writer of this instance already
    /// runs one that began late enough, or is about to.
    fn sequence_after_commit(&self) -> Result<()> {
        let mut state = self.passes.lock();
        // A pass running now may have read the NULL rows before this commit.
        let needed = state.started + 1;
        loop {
            if state.ended >= needed {
                return Ok(());
            }
            if !state.running {
                state.running = true;
                state.started += 1;
                let number = state.started;
                drop(state);
                let result = self.sequence();
                let mut state = self.passes.lock();
                state.running = false;
                state.ended = number;
                self.passes.finished.notify_all();
                // A failed pass leaves the rows to the next one (a push, the upkeep): the
                // writers sharing it are answered all the same, their operations committed.
                return result;
            }
            state = self
                .passes
                .finished
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    pub fn create_enrollment_code(
        &self,
        code_hash: &[u8],
        warehouse: &str,
        inn: &Inn,
        now: Timestamp,
    ) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO enrollment_codes (code_hash, warehouse, participant_inn, created_at)
             VALUES ($1, $2, $3, $4)",
            &[&code_hash, &warehouse, &inn.as_str(), &now.millis()],
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
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // The row lock makes a second instance spending the same code wait, then find it used.
        let found = tx.query_opt(
            "SELECT warehouse, participant_inn FROM enrollment_codes
             WHERE code_hash = $1 AND used_by IS NULL FOR UPDATE",
            &[&code_hash],
        )?;
        let Some(found) = found else {
            return Ok(None);
        };
        let (warehouse, participant_inn): (String, String) = (found.get(0), found.get(1));
        let id: i64 = tx
            .query_one(
                "INSERT INTO devices (name, token_hash, warehouse, participant_inn, enrolled_at,
                                      last_contact, app_version)
                 VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id",
                &[
                    &name,
                    &token_hash,
                    &warehouse,
                    &participant_inn,
                    &now.millis(),
                    &app_version,
                ],
            )?
            .get(0);
        tx.execute(
            "UPDATE enrollment_codes SET used_by = $1 WHERE code_hash = $2",
            &[&id, &code_hash],
        )?;
        tx.commit()?;
        Ok(Some(Device {
            id,
            warehouse,
            participant_inn,
        }))
    }

    pub fn authenticate(&self, token_hash: &[u8]) -> Result<Option<Device>> {
        let mut conn = self.conn()?;
        let Connection { client, statements } = &mut *conn;
        let row = Connection::session(client, statements).query_opt(
            "SELECT id, warehouse, participant_inn FROM devices
             WHERE token_hash = $1 AND revoked_at IS NULL",
            &[&token_hash],
        )?;
        Ok(row.map(|r| Device {
            id: r.get(0),
            warehouse: r.get(1),
            participant_inn: r.get(2),
        }))
    }

    pub fn touch(&self, device_id: i64, now: Timestamp) -> Result<()> {
        let mut conn = self.conn()?;
        let Connection { client, statements } = &mut *conn;
        Connection::session(client, statements).execute(
            "UPDATE devices SET last_contact = $2
             WHERE id = $1 AND (last_contact IS NULL OR last_contact < $2::int8 - $3::int8)",
            &[&device_id, &now.millis(), &super::CONTACT_GRAIN_MS],
        )?;
        Ok(())
    }

    pub fn create_admin_token(&self, token_hash: &[u8], label: &str, now: Timestamp) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO admin_tokens (token_hash, label, created_at) VALUES ($1, $2, $3)",
            &[&token_hash, &label, &now.millis()],
        )?;
        Ok(())
    }

    pub fn is_admin_token(&self, token_hash: &[u8]) -> Result<bool> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT 1 FROM admin_tokens WHERE token_hash = $1",
                &[&token_hash],
            )?
            .is_some())
    }

    pub fn revoke_device(&self, device_id: i64, now: Timestamp) -> Result<bool> {
        Ok(self.conn()?.execute(
            "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&now.millis(), &device_id],
        )? == 1)
    }

    pub fn prune(&self, keep_last: i64) -> Result<Vec<Pruned>> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // Prunes one at a time, and not while a pass numbers rows.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])?;
        let newest: i64 = tx
            .query_one("SELECT coalesce(max(seq), 0) FROM changes", &[])?
            .get(0);
        let below = newest.saturating_sub(keep_last.max(0));
        let mut report = Vec::new();
        for feed in Feed::ALL {
            let row = tx.query_one(
                "WITH gone AS (
                     DELETE FROM changes
                     WHERE feed = $1 AND seq <= $2 AND (item::jsonb ->> 'remove') = 'true'
                     RETURNING seq)
                 SELECT count(*), max(seq) FROM gone",
                &[&feed.name(), &below],
            )?;
            let (removed, highest): (i64, Option<i64>) = (row.get(0), row.get(1));
            let old = horizon_of(&mut tx, feed)?;
            let horizon = old.max(highest.unwrap_or(0));
            if horizon != old {
                tx.execute(
                    "INSERT INTO meta (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    &[&horizon_key(feed), &horizon],
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
        horizon_of(&mut self.conn()?.client, feed)
    }

    pub fn push(
        &self,
        device: &Device,
        request: &PushRequest,
        policy: &Policy,
        now: Timestamp,
    ) -> Result<Vec<OperationAnswer>> {
        let keys = Keys::of(request);
        let mut locks: Vec<i64> = std::iter::once(format!("device:{}", device.id))
            .chain(keys.codes.iter().map(|ki| format!("code:{ki}")))
            .chain(keys.labels.iter().map(|sscc| format!("label:{sscc}")))
            .map(|name| lock_key(&name))
            .collect();
        locks.sort_unstable();
        locks.dedup();
        let mut conn = self.conn()?;
        for _ in 0..ATTEMPTS {
            match push_once(&mut conn, device, request, &keys, &locks, policy, now) {
                Ok(answers) => {
                    drop(conn);
                    self.sequence_after_commit()?;
                    return Ok(answers);
                }
                Err(e) if retryable(&e) => {
                    tracing::debug!("push met another writer, again: {e}");
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Contended(ATTEMPTS))
    }

    pub fn import_batch(&self) -> Result<ImportBatch> {
        let mut conn = self.conn()?;
        conn.batch_execute("BEGIN")?;
        Ok(ImportBatch {
            conn,
            pending: Vec::new(),
            done: false,
        })
    }

    pub fn pull(
        &self,
        feed: Feed,
        warehouse: &str,
        after: i64,
        limit: i64,
    ) -> Result<(Vec<(i64, String)>, bool)> {
        let mut conn = self.conn()?;
        let Connection { client, statements } = &mut *conn;
        let rows = Connection::session(client, statements).query(
            "SELECT seq, item FROM changes
             WHERE feed = $1 AND seq > $2 AND (warehouse IS NULL OR warehouse = $4)
             ORDER BY seq LIMIT $3",
            &[&feed.name(), &after, &limit, &warehouse],
        )?;
        Ok((rows.iter().map(|r| (r.get(0), r.get(1))).collect(), false))
    }

    pub fn fleet(&self) -> Result<Vec<FleetDevice>> {
        let rows = self.conn()?.query(
            "SELECT id, name, warehouse, participant_inn, enrolled_at, last_contact, app_version,
                    queue_depth, cache_synced_at, revoked_at
             FROM devices ORDER BY warehouse, id",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| FleetDevice {
                device_id: r.get(0),
                name: r.get(1),
                warehouse: r.get(2),
                participant_inn: r.get(3),
                enrolled_at: r.get(4),
                last_contact: r.get(5),
                app_version: r.get(6),
                queue_depth: u64::try_from(r.get::<_, i64>(7)).unwrap_or_default(),
                cache_synced_at: r.get(8),
                revoked_at: r.get(9),
            })
            .collect())
    }

    pub fn operation_count(&self) -> Result<i64> {
        Ok(self
            .conn()?
            .query_one("SELECT count(*) FROM operations", &[])?
            .get(0))
    }

    pub fn status_line(&self, ki: &Ki) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT info FROM statuses WHERE ki_key = $1",
                &[&ki.key().as_bytes()],
            )?
            .map(|r| r.get(0)))
    }

    pub(crate) fn documents(&self, selection: Selection<'_>, limit: i64) -> Result<Vec<Exported>> {
        let mut conn = self.conn()?;
        let types: Option<Vec<&str>> = (!selection.types.is_empty())
            .then(|| selection.types.iter().map(|t| t.api_name()).collect());
        let rows = conn.query(
            "SELECT o.position, o.uuid, o.notices, o.id
             FROM operations o JOIN devices d ON d.id = o.device_id
             WHERE o.position > $1 AND o.result = 'accepted'
               AND ($3::text IS NULL OR d.warehouse = $3)
               AND ($4::text[] IS NULL OR EXISTS (SELECT 1 FROM gis_documents g
                    WHERE g.operation = o.id AND g.doc_type = ANY($4)))
             ORDER BY o.position LIMIT $2",
            &[&selection.after, &limit, &selection.warehouse, &types],
        )?;
        let ids: Vec<i64> = rows.iter().map(|r| r.get(3)).collect();
        let mut operations: Vec<Exported> = rows
            .iter()
            .map(|r| Exported {
                position: r.get(0),
                uuid: r.get(1),
                notices: r.get(2),
                documents: Vec::new(),
                discrepancy: None,
            })
            .collect();
        let index: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        for row in conn.query(
            "SELECT operation, doc_type, pg, body FROM gis_documents
             WHERE operation = ANY($1) ORDER BY operation, position",
            &[&ids],
        )? {
            if let Some(&i) = index.get(&row.get::<_, i64>(0)) {
                operations[i]
                    .documents
                    .push((row.get(1), row.get(2), row.get(3)));
            }
        }
        for row in conn.query(
            "SELECT operation, body FROM discrepancies WHERE operation = ANY($1)",
            &[&ids],
        )? {
            if let Some(&i) = index.get(&row.get::<_, i64>(0)) {
                operations[i].discrepancy = Some(row.get(1));
            }
        }
        Ok(operations)
    }

    /// Every row of `table` in key order, as cells, streamed.
    pub fn rows(&self, table: &str, each: &mut dyn FnMut(&[Cell])) -> Result<()> {
        let (columns, order) = super::table_shape(table);
        let mut conn = self.conn()?;
        let mut rows = conn.query_raw(
            &format!("SELECT {columns} FROM {table} ORDER BY {order}"),
            std::iter::empty::<i64>(),
        )?;
        let mut cells = Vec::new();
        while let Some(row) = ::postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
            cells.clear();
            for (i, column) in row.columns().iter().enumerate() {
                cells.push(cell(&row, i, column.type_())?);
            }
            each(&cells);
        }
        Ok(())
    }

    /// Copies every table of `source` in as it is (ids, numbers and cursors kept), in one
    /// transaction, for `tally-hub migrate`; then the numbering continues past the copy.
    pub fn copy_from(&self, source: &super::sqlite::Sqlite) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        for table in super::TABLES {
            let (columns, _) = super::table_shape(table);
            let types: Vec<Type> = tx
                .prepare(&format!("SELECT {columns} FROM {table} LIMIT 0"))?
                .columns()
                .iter()
                .map(|c| c.type_().clone())
                .collect();
            let sink = tx.copy_in(&format!("COPY {table} ({columns}) FROM STDIN BINARY"))?;
            let mut writer = ::postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
            let mut failed = None;
            source.rows(table, &mut |cells| {
                if failed.is_some() {
                    return;
                }
                let values: Vec<Box<dyn ToSql + Sync>> = cells
                    .iter()
                    .zip(&types)
                    .map(|(cell, ty)| to_sql(cell, ty))
                    .collect();
                let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
                if let Err(e) = writer.write(&refs) {
                    failed = Some(e);
                }
            })?;
            if let Some(e) = failed {
                return Err(e.into());
            }
            writer.finish()?;
        }
        tx.batch_execute(
            "UPDATE operations SET position = id;
             SELECT setval('change_seq', greatest((SELECT max(seq) FROM changes), 1));
             SELECT setval('operation_position', greatest((SELECT max(id) FROM operations), 1));
             SELECT setval(pg_get_serial_sequence('devices', 'id'),
                           greatest((SELECT max(id) FROM devices), 1));
             SELECT setval(pg_get_serial_sequence('operations', 'id'),
                           greatest((SELECT max(id) FROM operations), 1));
             SELECT setval(pg_get_serial_sequence('onec_log', 'id'),
                           greatest((SELECT max(id) FROM onec_log), 1));",
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the hub holds nothing yet: `migrate` copies into an empty database only.
    pub fn is_empty(&self) -> Result<bool> {
        let row = self.conn()?.query_one(
            "SELECT (SELECT count(*) FROM devices) + (SELECT count(*) FROM changes)
                  + (SELECT count(*) FROM operations) + (SELECT count(*) FROM enrollment_codes)",
            &[],
        )?;
        Ok(row.get::<_, i64>(0) == 0)
    }
}

/// One column of a row read as a cell; booleans as 0/1, as SQLite keeps them.
fn cell(row: &Row, i: usize, ty: &Type) -> Result<Cell> {
    Ok(match *ty {
        Type::INT8 => row.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int),
        Type::INT4 => row
            .get::<_, Option<i32>>(i)
            .map_or(Cell::Null, |n| Cell::Int(i64::from(n))),
        Type::BOOL => row
            .get::<_, Option<bool>>(i)
            .map_or(Cell::Null, |b| Cell::Int(i64::from(b))),
        Type::BYTEA => row
            .get::<_, Option<Vec<u8>>>(i)
            .map_or(Cell::Null, Cell::Bytes),
        _ => row
            .get::<_, Option<String>>(i)
            .map_or(Cell::Null, Cell::Text),
    })
}

/// A cell as the column's type wants it.
fn to_sql(cell: &Cell, ty: &Type) -> Box<dyn ToSql + Sync> {
    match (cell, ty) {
        (Cell::Null, &Type::INT8) => Box::new(None::<i64>),
        (Cell::Null, &Type::BOOL) => Box::new(None::<bool>),
        (Cell::Null, &Type::BYTEA) => Box::new(None::<Vec<u8>>),
        (Cell::Null, _) => Box::new(None::<String>),
        (Cell::Int(n), &Type::BOOL) => Box::new(*n != 0),
        (Cell::Int(n), &Type::INT4) => Box::new(i32::try_from(*n).unwrap_or(i32::MAX)),
        (Cell::Int(n), &Type::TEXT) => Box::new(n.to_string()),
        (Cell::Int(n), _) => Box::new(*n),
        (Cell::Text(t), _) => Box::new(t.clone()),
        (Cell::Bytes(b), _) => Box::new(b.clone()),
    }
}

fn migrate(client: &mut Client) -> Result<()> {
    // Instances started together migrate one at a time; the others then find nothing to do.
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = run_migrations(client);
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    result
}

fn run_migrations(client: &mut Client) -> Result<()> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )?;
    let version: i64 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )?
        .get(0);
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::NewerSchema(version));
    }
    for (number, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let mut tx = client.transaction()?;
        tx.batch_execute(migration)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&(number as i64 + 1)],
        )?;
        tx.commit()?;
    }
    Ok(())
}

fn sequence(conn: &mut Connection) -> Result<()> {
    let Connection { client, statements } = conn;
    let mut tx = client.transaction()?;
    let mut db = Connection::session(&mut tx, statements);
    db.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])?;
    loop {
        // SKIP LOCKED: a row a writer is changing again is numbered by that writer's own pass.
        let rows = db.query(
            "SELECT feed, key FROM changes WHERE seq IS NULL ORDER BY written
             LIMIT $1 FOR UPDATE SKIP LOCKED",
            &[&SEQUENCE_CHUNK],
        )?;
        if rows.is_empty() {
            break;
        }
        let feeds: Vec<&str> = rows.iter().map(|r| r.get(0)).collect();
        let keys: Vec<&str> = rows.iter().map(|r| r.get(1)).collect();
        let first = reserve(&mut db, Numbering::Changes, rows.len())?;
        db.execute(
            "UPDATE changes c SET seq = $3 + t.n - 1
             FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(feed, key, n)
             WHERE c.feed = t.feed AND c.key = t.key",
            &[&feeds, &keys, &first],
        )?;
        if (rows.len() as i64) < SEQUENCE_CHUNK {
            break;
        }
    }
    let ids: Vec<i64> = db
        .query(
            "SELECT id FROM operations WHERE position IS NULL ORDER BY id FOR UPDATE SKIP LOCKED",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !ids.is_empty() {
        let first = reserve(&mut db, Numbering::Operations, ids.len())?;
        db.execute(
            "UPDATE operations o SET position = $2 + t.n - 1
             FROM unnest($1::int8[]) WITH ORDINALITY AS t(id, n) WHERE o.id = t.id",
            &[&ids, &first],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Takes `count` consecutive numbers of a sequence only the sequencer uses; the first.
fn reserve(
    db: &mut Session<'_, impl GenericClient>,
    sequence: Numbering,
    count: usize,
) -> Result<i64> {
    let (next, set) = match sequence {
        Numbering::Changes => (
            "SELECT nextval('change_seq')",
            "SELECT setval('change_seq', $1)",
        ),
        Numbering::Operations => (
            "SELECT nextval('operation_position')",
            "SELECT setval('operation_position', $1)",
        ),
    };
    let first: i64 = db.query_one(next, &[])?.get(0);
    db.execute(set, &[&(first + count as i64 - 1)])?;
    Ok(first)
}

/// The two sequences only the sequencer takes numbers from.
#[derive(Clone, Copy, Debug)]
enum Numbering {
    Changes,
    Operations,
}

fn horizon_of(client: &mut impl GenericClient, feed: Feed) -> Result<i64> {
    Ok(client
        .query_opt(
            "SELECT value FROM meta WHERE name = $1",
            &[&horizon_key(feed)],
        )?
        .map_or(0, |r| r.get(0)))
}

#[allow(clippy::too_many_arguments)]
fn push_once(
    conn: &mut Connection,
    device: &Device,
    request: &PushRequest,
    keys: &Keys,
    locks: &[i64],
    policy: &Policy,
    now: Timestamp,
) -> Result<Vec<OperationAnswer>> {
    let Connection { client, statements } = conn;
    let mut tx = client.transaction()?;
    let mut db = Connection::session(&mut tx, statements);
    db.execute(
        "SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) AS k",
        &[&locks],
    )?;
    db.execute(
        "UPDATE devices SET app_version = $1, queue_depth = $2, cache_synced_at = $3,
                            last_contact = $5
         WHERE id = $4",
        &[
            &request.device.app_version,
            &i64::try_from(request.device.queue_depth).unwrap_or(i64::MAX),
            &request.device.cache_synced_at,
            &device.id,
            &now.millis(),
        ],
    )?;
    let mut snapshot = load(&mut db, device, keys)?;
    let outcome = push::judge(&mut snapshot, device, request, policy, now)?;
    write(&mut db, device, &outcome, now)?;
    link::queue_refresh(&mut db, &keys.refresh_codes(), now.millis())?;
    tx.commit()?;
    Ok(outcome.answers)
}

/// Everything the push names, in a few statements: its stored answers, the codes (and the
/// contents of the boxes it names) locked for update, and the feed records it reads.
fn load(
    db: &mut Session<'_, impl GenericClient>,
    device: &Device,
    keys: &Keys,
) -> Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    for row in db.query(
        "SELECT uuid, device_id, result, reasons, notices FROM operations
         WHERE uuid = ANY($1)",
        &[&keys.uuids],
    )? {
        let (uuid, owner): (String, i64) = (row.get(0), row.get(1));
        if owner == device.id {
            let (result, reasons, notices): (&str, &str, &str) =
                (row.get(2), row.get(3), row.get(4));
            let stored = stored_answer(&uuid, result, reasons, notices)?;
            snapshot.hold_answer(uuid, stored);
        } else {
            snapshot.hold_foreign_uuid(uuid);
        }
    }
    for row in db.query("SELECT DISTINCT participant_inn FROM devices", &[])? {
        snapshot.hold_participant(row.get(0));
    }
    let codes: Vec<Vec<u8>> = keys
        .codes
        .iter()
        .map(|ki| ki.key().as_bytes().to_vec())
        .collect();
    let mut labels: HashMap<String, Sscc> =
        keys.labels.iter().map(|s| (s.to_string(), *s)).collect();
    // A pallet named brings its boxes: what it holds is theirs.
    let pallets: Vec<String> = labels.keys().cloned().collect();
    for row in db.query(
        "SELECT sscc, parent FROM labels WHERE parent = ANY($1)",
        &[&pallets],
    )? {
        let (inner, pallet): (&str, &str) = (row.get(0), row.get(1));
        if let (Some(inner), Some(pallet)) = (
            Sscc::from_digits(inner.as_bytes()),
            Sscc::from_digits(pallet.as_bytes()),
        ) {
            snapshot.hold_pallet_box(pallet, inner);
            labels.insert(inner.to_string(), inner);
        }
    }
    // A pallet only GIS MT knows names its boxes as its children.
    for row in db.query(
        "SELECT key, item FROM changes WHERE feed = $1 AND key = ANY($2)",
        &[&Feed::Statuses.name(), &pallets],
    )? {
        let (key, item): (&str, &str) = (row.get(0), row.get(1));
        if let Some(pallet) = Sscc::from_digits(key.as_bytes()) {
            for inner in push::label_children(item) {
                snapshot.hold_pallet_box(pallet, inner);
                labels.insert(inner.to_string(), inner);
            }
        }
    }
    let label_names: Vec<&String> = labels.keys().collect();
    for row in db.query(
        "SELECT ki_key, info FROM statuses WHERE ki_key = ANY($1) OR parent = ANY($2)
         ORDER BY ki_key FOR UPDATE",
        &[&codes, &label_names],
    )? {
        if let Some(ki) = Ki::from_key(row.get::<_, &[u8]>(0)) {
            snapshot.hold_status(ki, row.get(1))?;
        }
    }
    // The feed records read, fetched in one statement.
    let mut wanted: Vec<(&'static str, String)> = Vec::new();
    let mut gtins: HashMap<String, Gtin> = HashMap::new();
    let held: Vec<Ki> = snapshot
        .held_codes()
        .copied()
        .chain(keys.codes.iter().copied())
        .collect();
    for ki in &held {
        for key in Snapshot::block_keys(ki) {
            wanted.push((Feed::Blocks.name(), key));
        }
        gtins.insert(ki.gtin().to_string(), ki.gtin());
    }
    wanted.extend(gtins.keys().map(|g| (Feed::Catalog.name(), g.clone())));
    wanted.extend(labels.keys().map(|s| (Feed::Statuses.name(), s.clone())));
    wanted.extend(keys.tasks.iter().map(|t| (Feed::Tasks.name(), t.clone())));
    wanted.extend(keys.orders.iter().map(|o| (Feed::Orders.name(), o.clone())));
    let (feeds, names): (Vec<&str>, Vec<String>) = wanted.into_iter().unzip();
    for row in db.query(
        "SELECT c.feed, c.key, c.item, c.warehouse FROM changes c
         JOIN unnest($1::text[], $2::text[]) AS w(feed, key)
           ON c.feed = w.feed AND c.key = w.key",
        &[&feeds, &names],
    )? {
        let (feed, key, item): (&str, String, &str) = (row.get(0), row.get(1), row.get(2));
        match Feed::from_name(feed) {
            Some(Feed::Blocks) => snapshot.hold_block(key, item)?,
            Some(Feed::Catalog) => {
                if let Some(gtin) = gtins.get(&key) {
                    snapshot.hold_catalog(*gtin, item);
                }
            }
            Some(Feed::Statuses) => {
                if let Some(sscc) = labels.get(&key) {
                    snapshot.hold_label_status(*sscc, item);
                }
            }
            Some(Feed::Tasks) => snapshot.hold_task(key, item, row.get(3)),
            Some(Feed::Orders) => snapshot.hold_order(key, row.get(3)),
            _ => {}
        }
    }
    for row in db.query(
        "SELECT l.sscc, l.device_id, d.warehouse, d.participant_inn
         FROM labels l JOIN devices d ON d.id = l.device_id WHERE l.sscc = ANY($1)",
        &[&label_names],
    )? {
        if let Some(sscc) = labels.get(row.get::<_, &str>(0)) {
            snapshot.hold_label(
                *sscc,
                LabelOwner {
                    device: row.get(1),
                    warehouse: row.get(2),
                    participant: row.get(3),
                },
            );
        }
    }
    Ok(snapshot)
}

/// A judged push written in a few array statements.
fn write(
    db: &mut Session<'_, impl GenericClient>,
    device: &Device,
    outcome: &Outcome<'_>,
    now: Timestamp,
) -> Result<()> {
    if !outcome.records.is_empty() {
        let rows = outcome
            .records
            .iter()
            .map(OperationRow::of)
            .collect::<Result<Vec<_>>>()?;
        let records = &outcome.records;
        let uuids: Vec<&str> = records.iter().map(|r| r.uuid.as_str()).collect();
        let seqs: Vec<i64> = records.iter().map(|r| r.operation.seq).collect();
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        let operators: Vec<&str> = records
            .iter()
            .map(|r| r.operation.operator.as_str())
            .collect();
        let started: Vec<i64> = records.iter().map(|r| r.operation.started_at).collect();
        let finished: Vec<i64> = records.iter().map(|r| r.operation.finished_at).collect();
        let payloads: Vec<&str> = rows.iter().map(|r| r.payload.as_str()).collect();
        let results: Vec<&str> = records.iter().map(|r| r.answer.result.code()).collect();
        let reasons: Vec<&str> = rows.iter().map(|r| r.reasons.as_str()).collect();
        let notices: Vec<&str> = rows.iter().map(|r| r.notices.as_str()).collect();
        // A UUID stored meanwhile by another instance fails the statement (unique), and the
        // push starts again to find its answer.
        let inserted = db.query(
            "INSERT INTO operations (uuid, device_id, seq, kind, operator, started_at,
                                     finished_at, payload, result, reasons, received_at, notices)
             SELECT u, $2, s, k, o, st, f, p, r, re, $3, n
             FROM unnest($1::text[], $4::int8[], $5::text[], $6::text[], $7::int8[],
                         $8::int8[], $9::text[], $10::text[], $11::text[], $12::text[])
                  AS t(u, s, k, o, st, f, p, r, re, n)
             RETURNING uuid, id",
            &[
                &uuids,
                &device.id,
                &now.millis(),
                &seqs,
                &kinds,
                &operators,
                &started,
                &finished,
                &payloads,
                &results,
                &reasons,
                &notices,
            ],
        )?;
        let ids: HashMap<String, i64> = inserted.iter().map(|r| (r.get(0), r.get(1))).collect();
        let (mut doc_ops, mut doc_positions, mut doc_types, mut doc_pgs, mut doc_bodies) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut disc_ops, mut disc_bodies) = (Vec::new(), Vec::new());
        for (record, row) in records.iter().zip(&rows) {
            let Some(&id) = ids.get(&record.uuid) else {
                continue;
            };
            for (position, (doc_type, pg, body)) in row.documents.iter().enumerate() {
                doc_ops.push(id);
                doc_positions.push(position as i64);
                doc_types.push(*doc_type);
                doc_pgs.push(pg.as_str());
                doc_bodies.push(body.as_str());
            }
            if let Some(body) = &row.discrepancy {
                disc_ops.push(id);
                disc_bodies.push(body.as_str());
            }
        }
        if !doc_ops.is_empty() {
            db.execute(
                "INSERT INTO gis_documents (operation, position, doc_type, pg, body)
                 SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[])",
                &[&doc_ops, &doc_positions, &doc_types, &doc_pgs, &doc_bodies],
            )?;
            db.execute(
                "INSERT INTO submissions (operation, position, state, made_at, state_at, next_at)
                 SELECT o, p, 'waiting', $3, $3, $3 FROM unnest($1::int8[], $2::int8[]) AS t(o, p)",
                &[&doc_ops, &doc_positions, &now.millis()],
            )?;
        }
        if !disc_ops.is_empty() {
            db.execute(
                "INSERT INTO discrepancies (operation, body)
                 SELECT * FROM unnest($1::int8[], $2::text[])",
                &[&disc_ops, &disc_bodies],
            )?;
        }
    }
    let statuses: Vec<(Ki, &Value)> = outcome.statuses.iter().map(|(k, v)| (*k, v)).collect();
    write_statuses(db, &statuses)?;
    if !outcome.labels.is_empty() {
        let labels: Vec<String> = outcome.labels.iter().map(Sscc::to_string).collect();
        db.execute(
            "INSERT INTO labels (sscc, device_id) SELECT unnest($1::text[]), $2
             ON CONFLICT (sscc) DO NOTHING",
            &[&labels, &device.id],
        )?;
    }
    if !outcome.pallets.is_empty() {
        let (boxes, pallets): (Vec<String>, Vec<Option<String>>) = outcome
            .pallets
            .iter()
            .map(|(inner, pallet)| (inner.to_string(), pallet.map(|p| p.to_string())))
            .unzip();
        db.execute(
            "UPDATE labels SET parent = p.pallet
             FROM unnest($1::text[], $2::text[]) AS p(sscc, pallet) WHERE labels.sscc = p.sscc",
            &[&boxes, &pallets],
        )?;
    }
    Ok(())
}

/// Statuses upserted with their change-log rows (unnumbered until the sequencer's pass). Each
/// code at most once.
fn write_statuses(
    db: &mut Session<'_, impl GenericClient>,
    statuses: &[(Ki, &Value)],
) -> Result<()> {
    let lines = upsert_statuses(db, statuses)?;
    let names: Vec<String> = statuses.iter().map(|(ki, _)| status_key(ki)).collect();
    let changes: Vec<(&str, &str, &str, Option<&str>)> = names
        .iter()
        .zip(&lines)
        .map(|(key, line)| (Feed::Statuses.name(), key.as_str(), line.as_str(), None))
        .collect();
    log_changes(db, &changes)
}

/// Statuses upserted into the list alone; their lines as written, in order.
fn upsert_statuses(
    db: &mut Session<'_, impl GenericClient>,
    statuses: &[(Ki, &Value)],
) -> Result<Vec<String>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let mut keys = Vec::with_capacity(statuses.len());
    let mut columns = Vec::with_capacity(statuses.len());
    let mut lines = Vec::with_capacity(statuses.len());
    for (ki, info) in statuses {
        keys.push(ki.key().as_bytes().to_vec());
        columns.push(StatusColumns::of(info));
        lines.push(serde_json::to_string(info)?);
    }
    let status: Vec<&str> = columns.iter().map(|c| c.status.as_str()).collect();
    let status_ex: Vec<&str> = columns.iter().map(|c| c.status_ex.as_str()).collect();
    let owner: Vec<Option<&str>> = columns.iter().map(|c| c.owner_inn.as_deref()).collect();
    let parent: Vec<Option<&str>> = columns.iter().map(|c| c.parent.as_deref()).collect();
    let blocked: Vec<bool> = columns.iter().map(|c| c.blocked).collect();
    db.execute(
        "INSERT INTO statuses (ki_key, status, status_ex, owner_inn, parent, blocked, info)
         SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::bool[], $7::text[])
         ON CONFLICT (ki_key) DO UPDATE SET status = excluded.status,
             status_ex = excluded.status_ex, owner_inn = excluded.owner_inn,
             parent = excluded.parent, blocked = excluded.blocked, info = excluded.info",
        &[
            &keys, &status, &status_ex, &owner, &parent, &blocked, &lines,
        ],
    )?;
    Ok(lines)
}

/// Change-log rows `(feed, key, item, warehouse)` upserted unnumbered; each key at most once.
fn log_changes(
    db: &mut Session<'_, impl GenericClient>,
    changes: &[(&str, &str, &str, Option<&str>)],
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let feeds: Vec<&str> = changes.iter().map(|c| c.0).collect();
    let keys: Vec<&str> = changes.iter().map(|c| c.1).collect();
    let items: Vec<&str> = changes.iter().map(|c| c.2).collect();
    let warehouses: Vec<Option<&str>> = changes.iter().map(|c| c.3).collect();
    db.execute(
        "INSERT INTO changes (feed, key, seq, item, warehouse)
         SELECT f, k, NULL, i, w FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
              AS t(f, k, i, w)
         ON CONFLICT (feed, key) DO UPDATE SET seq = NULL, item = excluded.item,
             warehouse = excluded.warehouse, written = excluded.written",
        &[&feeds, &keys, &items, &warehouses],
    )?;
    Ok(())
}

/// One line of an import, held until the next chunk is sent.
#[derive(Debug)]
enum Pending {
    Status(Ki, Value),
    Remove(Ki),
    Item {
        feed: Feed,
        key: String,
        item: String,
        warehouse: Option<String>,
    },
}

/// The transaction an import is written in, on a connection of its own; lines are sent in
/// chunks of [`IMPORT_CHUNK`]. Dropped without a commit, it rolls back.
pub struct ImportBatch {
    conn: PooledConnection<Manager>,
    pending: Vec<Pending>,
    done: bool,
}

impl std::fmt::Debug for ImportBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportBatch")
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl ImportBatch {
    fn push(&mut self, line: Pending) -> Result<()> {
        self.pending.push(line);
        if self.pending.len() >= IMPORT_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    pub fn status(&mut self, ki: &Ki, info: &Value) -> Result<()> {
        self.push(Pending::Status(*ki, info.clone()))
    }

    pub fn remove_status(&mut self, ki: &Ki) -> Result<()> {
        self.push(Pending::Remove(*ki))
    }

    pub fn item(
        &mut self,
        feed: Feed,
        key: &str,
        item: &Value,
        warehouse: Option<&str>,
    ) -> Result<()> {
        self.push(Pending::Item {
            feed,
            key: key.to_owned(),
            item: serde_json::to_string(item)?,
            warehouse: warehouse.map(str::to_owned),
        })
    }

    pub fn queue_refresh(&mut self, codes: &[String], now: Timestamp) -> Result<()> {
        self.conn.execute(
            "INSERT INTO refresh_queue (code, queued_at) SELECT unnest($1::text[]), $2
             ON CONFLICT (code) DO NOTHING",
            &[&codes, &now.millis()],
        )?;
        Ok(())
    }

    /// Sends the held lines: the last line of a key wins, as it would line by line.
    fn flush(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let mut last: HashMap<(Feed, String), usize> = HashMap::new();
        for (i, line) in pending.iter().enumerate() {
            let key = match line {
                Pending::Status(ki, _) | Pending::Remove(ki) => (Feed::Statuses, status_key(ki)),
                Pending::Item { feed, key, .. } => (*feed, key.clone()),
            };
            last.insert(key, i);
        }
        let mut kept: Vec<usize> = last.into_values().collect();
        kept.sort_unstable();
        let mut statuses = Vec::new();
        let mut removed = Vec::new();
        // The change-log rows in the order of the lines, so a pull sees them in that order.
        let mut changes: Vec<(&'static str, String, String, Option<&str>)> = Vec::new();
        for i in kept {
            match &pending[i] {
                Pending::Status(ki, info) => {
                    statuses.push((*ki, info));
                    changes.push((
                        Feed::Statuses.name(),
                        status_key(ki),
                        info.to_string(),
                        None,
                    ));
                }
                Pending::Remove(ki) => {
                    removed.push(ki.key().as_bytes().to_vec());
                    let line = serde_json::json!({"cis": ki.to_string(), "remove": true});
                    changes.push((
                        Feed::Statuses.name(),
                        status_key(ki),
                        line.to_string(),
                        None,
                    ));
                }
                Pending::Item {
                    feed,
                    key,
                    item,
                    warehouse,
                } => changes.push((feed.name(), key.clone(), item.clone(), warehouse.as_deref())),
            }
        }
        let Connection { client, statements } = &mut *self.conn;
        let mut db = Connection::session(client, statements);
        upsert_statuses(&mut db, &statuses)?;
        if !removed.is_empty() {
            db.execute("DELETE FROM statuses WHERE ki_key = ANY($1)", &[&removed])?;
        }
        let changes: Vec<(&str, &str, &str, Option<&str>)> = changes
            .iter()
            .map(|(feed, key, item, warehouse)| (*feed, key.as_str(), item.as_str(), *warehouse))
            .collect();
        log_changes(&mut db, &changes)?;
        Ok(())
    }

    pub fn commit(mut self) -> Result<()> {
        self.flush()?;
        self.conn.batch_execute("COMMIT")?;
        self.done = true;
        sequence(&mut self.conn)?;
        // An import is where the list grows by the million: without fresh statistics the
        // planner keeps the plans it made for an empty table (sequential scans) in the
        // statements each connection has prepared.
        self.conn
            .batch_execute("ANALYZE statuses; ANALYZE changes")?;
        Ok(())
    }
}

impl Drop for ImportBatch {
    fn drop(&mut self) {
        if !self.done {
            // A connection back in the pool must not carry a half-done import.
            let _ = self.conn.batch_execute("ROLLBACK");
        }
    }
}
