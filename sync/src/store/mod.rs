//! The terminal's local replica in SQLite: the status cache, block lists, catalog and tasks the
//! hub sends, the journal of operations in progress, the queue of finished ones and the boxes
//! built here.
//!
//! Connections, as the architecture has them:
//!
//! - [`Store`] is the one writer (the store thread owns it). Every open sets WAL and
//!   `synchronous=FULL`, so a write that returned is on disk: a scan counts as done only then.
//! - [`Reader`] is a read-only connection for other threads (the sync thread, the UI); WAL lets
//!   it read while the writer writes. [`Store`] derefs to the [`Reader`] that its own connection
//!   is, so every lookup is available on both.
//! - [`Importer`] is a separate connection for bulk loads from the hub, with
//!   `synchronous=NORMAL`, big transactions and sorted keys: a lost import batch is fetched
//!   again, a lost scan is not.
//!
//! All SQL of the terminal lives in this module and its children.

mod answers;
mod cache;
mod codec;
mod import;
mod journal;
mod schema;
#[cfg(test)]
mod tests;
mod verdicts;

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

pub use answers::RejectedOperation;
pub use cache::{
    CatalogItem, LocalStatus, Order, OrderSummary, Stats, StoredOperator, Task, TaskBox,
    TaskSummary,
};
pub use import::{
    ImportReport, Importer, MAX_KEPT_REJECTIONS, MAX_LINE_BYTES, PageKind, RejectReason,
    RejectedLine,
};
pub use journal::{
    AggregateItem, DeviceSeq, Effects, LocalStatuses, NewOperation, NewScan, OpenOperation,
    OperationId, QueuedOperation, ScanEntry, ScanId,
};
pub use schema::CURRENT_VERSION;
pub use verdicts::{RefusedVerdict, VerdictCounts};

use tally_domain::status::Timestamp;

/// Why the store could not do what was asked. A wrong code is never one of these: it is a
/// verdict. These are disk, database and programming faults.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the database has schema version {found}, newer than this build understands \
         ({supported}); it is left untouched so nothing in it is lost"
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error(
        "the database has schema version {found}; the writer (Store::open) upgrades it to \
         {supported} before a reader can use it"
    )]
    NotUpgraded { found: i64, supported: i64 },
    #[error("the database stays in journal mode {0:?}; WAL is required")]
    NotWal(String),
    #[error("operation {0} is not open on this terminal")]
    UnknownOperation(OperationId),
    #[error("operation {operation} already has a scan with sequence number {seq}")]
    DuplicateScan { operation: OperationId, seq: u32 },
    #[error("an item of box {sscc} is already in another box on this terminal")]
    AlreadyAggregated { sscc: tally_domain::gs1::Sscc },
    #[error(
        "every SSCC serial the hub gave this terminal is used: enroll it again for a new range"
    )]
    SsccSerialsUsedUp,
    #[error("a stored row of {table} cannot be read: {detail}")]
    Corrupt { table: &'static str, detail: String },
    #[error(
        "reading the import stopped at line {line}; {committed} rows before it are stored: \
         {source}"
    )]
    ImportInterrupted {
        line: u64,
        committed: u64,
        source: std::io::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<rusqlite::types::FromSqlError> for StoreError {
    fn from(error: rusqlite::types::FromSqlError) -> StoreError {
        StoreError::Sqlite(error.into())
    }
}

/// How long a connection waits for another one's write lock before it reports `SQLITE_BUSY`:
/// long enough to outlast one import batch.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Point lookups read through the page cache of the OS instead of copying pages; measured
/// about twice as fast. Only reads go through the map, so a crash cannot corrupt through it.
const MMAP_BYTES: i64 = 256 << 20;

/// The page cache of a bulk import: the B-tree's upper levels and the pages being filled.
const IMPORT_CACHE_KIB: i64 = 64 << 10;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Writer,
    Bulk,
    Reader,
}

fn connect(path: &Path, role: Role) -> Result<Connection> {
    use rusqlite::OpenFlags;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if role != Role::Reader {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL is stored in the file, but asking on every open also converts a file made elsewhere.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NotWal(mode));
    }
    // `synchronous` belongs to the connection, not the file: it must be set on every open.
    let synchronous = match role {
        Role::Writer => "FULL",
        Role::Bulk | Role::Reader => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Without the query planner stability guarantee, SQLite re-plans a cached statement each
    // time a parameter it might optimise on is rebound: the status lookup (a LEFT JOIN on a
    // bound key) was re-prepared on every call, 11 µs instead of 2. The terminal runs a fixed
    // set of queries whose plans never depend on the values.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    if role == Role::Bulk {
        conn.pragma_update(None, "cache_size", -IMPORT_CACHE_KIB)?;
        conn.pragma_update(None, "temp_store", "memory")?;
    }
    Ok(conn)
}

/// A read-only connection to the replica, and every lookup.
pub struct Reader {
    conn: Connection,
    path: PathBuf,
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader").field("path", &self.path).finish()
    }
}

impl Reader {
    /// Opens a reader on a replica that a [`Store`] has created.
    pub fn open(path: impl AsRef<Path>) -> Result<Reader> {
        let path = path.as_ref().to_path_buf();
        let conn = connect(&path, Role::Reader)?;
        // Read-write underneath (a WAL reader needs to touch the shared-memory index), but the
        // connection refuses every write.
        conn.pragma_update(None, "query_only", true)?;
        schema::check_readable(&conn)?;
        Ok(Reader { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<i64> {
        schema::version(&self.conn)
    }

    /// `PRAGMA integrity_check`: an empty list when the file is sound.
    pub fn check_integrity(&self) -> Result<Vec<String>> {
        let mut statement = self.conn.prepare("PRAGMA integrity_check")?;
        let lines = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(if lines == ["ok"] { Vec::new() } else { lines })
    }

    /// This terminal's identity, made on the first open and never changed.
    pub fn device_id(&self) -> Result<String> {
        Ok(self.meta_text("device_id")?.unwrap_or_default())
    }

    fn meta_text(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |row| row.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    fn meta_i64(&self, key: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |row| row.get::<_, Option<i64>>(0))
            .optional()?
            .flatten())
    }

    /// When the sync last completed ([`Store::record_sync`]).
    pub fn last_sync(&self) -> Result<Option<Timestamp>> {
        Ok(self.meta_i64("last_sync_at")?.map(Timestamp))
    }

    /// The hub's cursor into its status changes: where the next sync resumes.
    pub fn cache_watermark(&self) -> Result<Option<String>> {
        self.meta_text("cache_watermark")
    }

    /// Where the next pull of `feed` resumes: the `next_after` of the last page stored.
    pub fn feed_cursor(&self, feed: tally_wire::Feed) -> Result<Option<i64>> {
        self.meta_i64(&import::cursor_key(feed))
    }

    /// Whether a snapshot of `feed` is half downloaded: the next pull continues it.
    pub fn feed_in_snapshot(&self, feed: tally_wire::Feed) -> Result<bool> {
        Ok(self.meta_i64(&import::snapshot_key(feed))?.is_some())
    }

    /// When an import of statuses last completed.
    pub fn statuses_refreshed_at(&self) -> Result<Option<Timestamp>> {
        Ok(self.meta_i64("statuses_refreshed_at")?.map(Timestamp))
    }

    /// How old the status cache is at `now`, in milliseconds: what the 72-hour rule of the
    /// local module is measured against. `None` before the first import.
    pub fn cache_age_ms(&self, now: Timestamp) -> Result<Option<i64>> {
        Ok(self.statuses_refreshed_at()?.map(|at| now.0 - at.0))
    }
}

/// The writer: everything a [`Reader`] does, plus every write. One per replica.
pub struct Store {
    reader: Reader,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.reader.path)
            .finish()
    }
}

impl Deref for Store {
    type Target = Reader;

    fn deref(&self) -> &Reader {
        &self.reader
    }
}

impl Store {
    /// Opens the replica at `path`, creating it or upgrading its schema as needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let mut conn = connect(&path, Role::Writer)?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            reader: Reader { conn, path },
        })
    }

    /// A bulk-import connection on the same file.
    pub fn importer(&self) -> Result<Importer> {
        Importer::open(&self.reader.path)
    }

    /// A read-only connection on the same file, for another thread.
    pub fn reader(&self) -> Result<Reader> {
        Reader::open(&self.reader.path)
    }

    /// Moves the WAL's pages into the database file and empties the WAL. `false` when a reader
    /// kept it from finishing; nothing is lost either way.
    pub fn checkpoint(&self) -> Result<bool> {
        checkpoint(&self.reader.conn)
    }

    /// Records a completed sync and, when the hub sent one, its new cursor.
    pub fn record_sync(&mut self, at: Timestamp, watermark: Option<&str>) -> Result<()> {
        let tx = self.reader.conn.transaction()?;
        set_meta(&tx, "last_sync_at", at.0)?;
        if let Some(watermark) = watermark {
            set_meta(&tx, "cache_watermark", watermark)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn conn(&mut self) -> &mut Connection {
        &mut self.reader.conn
    }
}

fn set_meta(conn: &Connection, key: &str, value: impl rusqlite::ToSql) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(rusqlite::params![key, value])?;
    Ok(())
}

fn checkpoint(conn: &Connection) -> Result<bool> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
    Ok(busy == 0)
}

fn file_len(path: &Path) -> Result<u64> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(source) => Err(StoreError::File {
            path: path.to_path_buf(),
            source,
        }),
    }
}
