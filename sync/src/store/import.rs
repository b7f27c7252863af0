//! Bulk loads from the hub: status exports in the True API `cisInfo` shape, the catalog, block
//! lists and tasks, each as JSON lines, plain or gzip (told apart by the magic bytes `1f 8b`).
//!
//! A bad line is counted, its line number and reason kept (the first
//! [`MAX_KEPT_REJECTIONS`]), and skipped: it never stops an import and never touches a stored
//! row. Rows are written in large batches, one transaction each, so an import cut short keeps
//! every batch before the cut and the rows stored before the import began.
//!
//! The shapes, one JSON object per line (unknown fields are ignored):
//!
//! - statuses: `{"cis", "gtin"?, "productGroupId"?, "status", "statusEx"?, "ownerInn"?,
//!   "packageType"?, "parent"?, "child"?, "expirationDate"?, "maxRetailPrice"?,
//!   "productName"?, "blocked"?}` as True API `cises/info` answers, plus `blocked` (the hub's
//!   block flag). Each line is the whole current state of its code. `parent` is an SSCC (18
//!   digits, or 20 with the AI `00`) or a КИ; `child` is not stored: each child's own line
//!   carries its parent. `productName` fills the catalog for a GTIN it does not know yet.
//!   `{"cis", "remove": true}` (the hub stopped tracking the code) drops its cached status.
//! - catalog: `{"gtin", "name", "productGroupId"?, "unit"?}`.
//! - block lists: `{"kind": "code", "cis"}`, `{"kind": "gtin", "gtin"}` or
//!   `{"kind": "series", "gtin", "batch"}`, each with `"remove": true` to lift the block.
//! - tasks: `{"id", "number", "senderInn", "date", "productGroupId"?, "units": [cis...],
//!   "boxes": [{"sscc", "units": [cis...]}]}` replaces the task with that id;
//!   `{"id", "remove": true}` deletes it.
//! - orders (hub protocol 4): `{"id", "number", "receiverInn"?, "date", "productGroupId"?,
//!   "units": [cis...], "lines": [{"gtin", "quantity"}]}` replaces the order with that id;
//!   `{"id", "remove": true}` withdraws it.
//! - verdicts (hub protocol 3): `{"operation", "type", "pg", "gis_id"?, "state", "reasons"?,
//!   "at"}` as `tally_wire::Verdict`, what GIS MT made of one document of an operation. Only
//!   verdicts of operations in this terminal's queue are kept; the warehouse's other terminals'
//!   are skipped (not rejected: the hub sends the whole warehouse's feed).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::bufread::MultiGzDecoder;
use rusqlite::{Connection, Transaction, params};
use tally_domain::code::KiKey;
use tally_domain::gs1::Gtin;
use tally_domain::product_group::ProductGroup;
use tally_domain::status::{Inn, Parent, Timestamp};

use super::codec::{Flags, ParentColumn, day_number, gtin_column, sscc_column};
use super::{Result, Role, StoreError, checkpoint, connect, schema, set_meta};
use tally_wire::feed::{self, StatusRecord, Subject};
use tally_wire::{Feed, Verdict};

/// How many rejected lines a report names; the rest are only counted.
pub const MAX_KEPT_REJECTIONS: usize = 100;

/// The longest line read; a longer one is rejected without being held in memory. A task with
/// ten thousand codes fits.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Rows per transaction for statuses: large enough that the commit cost vanishes, small enough
/// that a batch sorts in a few milliseconds and a cut-short import loses little.
const STATUS_BATCH: usize = 50_000;
const SMALL_BATCH: usize = 5_000;
const TASK_BATCH: usize = 100;

const READ_BUFFER: usize = 256 << 10;

pub use tally_wire::feed::RejectReason;

/// A line that was not imported. Lines count from 1, blank ones included, so the number
/// points at the line in an editor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RejectedLine {
    pub line: u64,
    pub reason: RejectReason,
}

/// What an import did.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ImportReport {
    pub lines: u64,
    /// Rows written (a code sent twice counts twice).
    pub imported: u64,
    pub rejected: u64,
    /// The first [`MAX_KEPT_REJECTIONS`] rejected lines.
    pub rejections: Vec<RejectedLine>,
    pub gzip: bool,
    pub elapsed: Duration,
}

impl ImportReport {
    pub fn rows_per_second(&self) -> f64 {
        self.imported as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn reject(&mut self, reason: RejectReason) {
        self.rejected += 1;
        if self.rejections.len() < MAX_KEPT_REJECTIONS {
            self.rejections.push(RejectedLine {
                line: self.lines,
                reason,
            });
        }
    }
}

/// A connection for bulk loads: `synchronous=NORMAL` and a big page cache. A batch lost to a
/// power cut is fetched again from the hub; the file is never corrupted.
pub struct Importer {
    conn: Connection,
    path: PathBuf,
}

impl fmt::Debug for Importer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Importer")
            .field("path", &self.path)
            .finish()
    }
}

impl Importer {
    /// Opens (creating or upgrading as needed) the replica at `path` for bulk loads.
    pub fn open(path: impl AsRef<Path>) -> Result<Importer> {
        let path = path.as_ref().to_path_buf();
        let mut conn = connect(&path, Role::Bulk)?;
        schema::migrate(&mut conn)?;
        Ok(Importer { conn, path })
    }

    /// Loads a status export. `now` becomes the cache's refresh time when the whole input was
    /// read and not every line was rejected.
    pub fn import_statuses(&mut self, input: impl Read, now: Timestamp) -> Result<ImportReport> {
        run(&mut self.conn, input, &mut Statuses::new(now))
    }

    pub fn import_catalog(&mut self, input: impl Read) -> Result<ImportReport> {
        run(&mut self.conn, input, &mut Catalog)
    }

    /// Operators in the hub's feed shape (salted PIN digests), as a file: a terminal set up
    /// by hand before it ever reached a hub.
    pub fn import_operators(&mut self, input: impl Read) -> Result<ImportReport> {
        run(&mut self.conn, input, &mut Operators)
    }

    pub fn import_block_lists(&mut self, input: impl Read) -> Result<ImportReport> {
        run(&mut self.conn, input, &mut BlockLists)
    }

    /// Loads tasks; `now` is recorded as when each arrived.
    pub fn import_tasks(&mut self, input: impl Read, now: Timestamp) -> Result<ImportReport> {
        run(&mut self.conn, input, &mut Tasks { now })
    }

    /// Loads customers' orders to pick; `now` is recorded as when each arrived.
    pub fn import_orders(&mut self, input: impl Read, now: Timestamp) -> Result<ImportReport> {
        run(&mut self.conn, input, &mut Orders { now })
    }

    /// Applies one page of a hub feed (JSON lines in the feed's import shape) and moves the
    /// feed's cursor to `next_after` in the same transaction: a download cut short resumes
    /// after the last page stored, never skipping or re-counting one. `caught_up` (the hub
    /// has nothing after this page) is when the status cache counts as refreshed at `now`:
    /// half a download is not a fresh cache.
    pub fn import_feed_page(
        &mut self,
        feed: Feed,
        lines: &[u8],
        next_after: i64,
        caught_up: bool,
        now: Timestamp,
    ) -> Result<ImportReport> {
        self.import_pulled_page(feed, PageKind::Delta, lines, next_after, caught_up, now)
    }

    /// Keeps `at`, when a pull answer said the hub last read the warehouse's statuses from
    /// GIS MT, unless an earlier answer already said later ([`crate::store::Reader::statuses_as_of`]).
    pub fn record_statuses_as_of(&mut self, at: Timestamp) -> Result<()> {
        super::verdicts::note_statuses_as_of(&self.conn, at)
    }

    /// [`Importer::import_feed_page`] for any kind of page. A snapshot's pages are stored as
    /// any page and their records noted (`snapshot_keys`), while the old rows keep answering
    /// lookups; its last page deletes, in the same transaction, every row of the feed the
    /// snapshot did not bring: what the hub removed and no longer logs a removal for. The
    /// feed counts as in a snapshot ([`crate::store::Reader::feed_in_snapshot`]) until then, so a cut
    /// download resumes the snapshot rather than starting it over.
    pub fn import_pulled_page(
        &mut self,
        feed: Feed,
        kind: PageKind,
        lines: &[u8],
        next_after: i64,
        caught_up: bool,
        now: Timestamp,
    ) -> Result<ImportReport> {
        let conn = &mut self.conn;
        let page = Page {
            feed,
            kind,
            next_after,
            caught_up,
        };
        match feed {
            Feed::Statuses => run_page(conn, lines, &mut Statuses::new(now), page),
            Feed::Blocks => run_page(conn, lines, &mut BlockLists, page),
            Feed::Catalog => run_page(conn, lines, &mut Catalog, page),
            Feed::Tasks => run_page(conn, lines, &mut Tasks { now }, page),
            Feed::Orders => run_page(conn, lines, &mut Orders { now }, page),
            Feed::Operators => run_page(conn, lines, &mut Operators, page),
            Feed::Verdicts => run_page(conn, lines, &mut Verdicts, page),
        }
    }
}

/// The meta key holding a feed's cursor.
pub(crate) fn cursor_key(feed: Feed) -> String {
    format!("feed_cursor.{}", feed.name())
}

/// The meta key present while a feed's snapshot is being downloaded.
pub(crate) fn snapshot_key(feed: Feed) -> String {
    format!("feed_snapshot.{}", feed.name())
}

/// How a pulled page relates to the replica's copy of its feed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PageKind {
    /// Changes after the cursor: applied on top.
    Delta,
    /// The first page of a snapshot: notes of an unfinished earlier one are dropped.
    SnapshotStart,
    /// A later page of a snapshot in progress.
    SnapshotMore,
}

/// One feed page in one transaction, cursor included. Pages are small (the hub sends at most
/// `MAX_PULL_LIMIT` items), so no batching inside.
#[derive(Clone, Copy)]
struct Page {
    feed: Feed,
    kind: PageKind,
    next_after: i64,
    caught_up: bool,
}

fn run_page<I: LineImport>(
    conn: &mut Connection,
    lines: &[u8],
    import: &mut I,
    page: Page,
) -> Result<ImportReport> {
    let started = Instant::now();
    let mut report = ImportReport::default();
    let mut rows = Vec::new();
    for line in lines.split(|&b| b == b'\n') {
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        report.lines += 1;
        if text.len() > MAX_LINE_BYTES {
            report.reject(RejectReason::LineTooLong);
            continue;
        }
        match import.parse(text) {
            Ok(row) => rows.push(row),
            Err(reason) => report.reject(reason),
        }
    }
    let tx = conn.transaction()?;
    if page.kind == PageKind::SnapshotStart {
        // Notes of an earlier snapshot that never finished are stale: the hub started over.
        tx.prepare_cached("DELETE FROM snapshot_keys WHERE feed = ?1")?
            .execute([page.feed.name()])?;
    }
    import.write(&tx, &mut rows)?;
    report.imported = rows.len() as u64;
    if page.kind != PageKind::Delta {
        import.mark(&tx, &rows)?;
        if page.caught_up {
            import.sweep(&tx)?;
            tx.prepare_cached("DELETE FROM snapshot_keys WHERE feed = ?1")?
                .execute([page.feed.name()])?;
        }
    }
    if page.caught_up {
        import.complete(&tx, &report)?;
    }
    set_meta(&tx, &cursor_key(page.feed), page.next_after)?;
    let in_snapshot = page.kind != PageKind::Delta && !page.caught_up;
    if in_snapshot {
        set_meta(&tx, &snapshot_key(page.feed), 1)?;
    } else {
        tx.prepare_cached("DELETE FROM meta WHERE key = ?1")?
            .execute([snapshot_key(page.feed)])?;
    }
    tx.commit()?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// One kind of JSON-lines import.
trait LineImport {
    type Row;
    const BATCH: usize;

    fn parse(&mut self, line: &[u8]) -> Result<Self::Row, RejectReason>;

    /// Writes a batch inside `tx` (and may reorder it).
    fn write(&mut self, tx: &Transaction<'_>, rows: &mut Vec<Self::Row>) -> Result<()>;

    /// Runs in the last batch's transaction once the whole input was read.
    fn complete(&mut self, _tx: &Transaction<'_>, _report: &ImportReport) -> Result<()> {
        Ok(())
    }

    /// Notes in `snapshot_keys` the records these rows (a snapshot page, already written)
    /// keep; removal rows are not noted.
    fn mark(&mut self, tx: &Transaction<'_>, rows: &[Self::Row]) -> Result<()>;

    /// Deletes the feed's rows that the finished snapshot did not note.
    fn sweep(&mut self, tx: &Transaction<'_>) -> Result<()>;
}

fn note_key<'a>(tx: &'a Transaction<'_>) -> Result<rusqlite::CachedStatement<'a>> {
    Ok(tx.prepare_cached("INSERT OR IGNORE INTO snapshot_keys (feed, key) VALUES (?1, ?2)")?)
}

/// Notes the ids a snapshot of `feed` carried (rows with content, not removals), so its sweep
/// keeps them.
fn note_ids<T>(tx: &Transaction<'_>, feed: Feed, rows: &[(String, Option<T>)]) -> Result<()> {
    let mut note = note_key(tx)?;
    for (id, content) in rows {
        if content.is_some() {
            note.execute(params![feed.name(), id])?;
        }
    }
    Ok(())
}

/// Deletes the rows of `table` (keyed by `id`) that the snapshot of `feed` did not carry; their
/// child rows go with them (ON DELETE CASCADE).
fn sweep_ids(tx: &Transaction<'_>, table: &str, feed: Feed) -> Result<()> {
    tx.execute(
        &format!(
            "DELETE FROM {table} WHERE NOT EXISTS
                 (SELECT 1 FROM snapshot_keys k WHERE k.feed = ?1 AND k.key = {table}.id)"
        ),
        [feed.name()],
    )?;
    Ok(())
}

enum Line {
    End,
    Fits,
    TooLong,
}

/// Reads one line without its newline; a line over `max` bytes is skipped, not held.
fn read_line(input: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    buf.clear();
    let n = (&mut *input).take(max as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(Line::End);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(Line::Fits);
    }
    if buf.len() <= max {
        return Ok(Line::Fits);
    }
    input.skip_until(b'\n')?;
    Ok(Line::TooLong)
}

/// Wraps the input in a gzip decoder when it starts with the gzip magic bytes.
fn open_input<'a>(mut input: impl Read + 'a) -> io::Result<(Box<dyn BufRead + 'a>, bool)> {
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < magic.len() {
        match input.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let whole = io::Cursor::new(magic[..got].to_vec()).chain(input);
    let buffered = BufReader::with_capacity(READ_BUFFER, whole);
    if magic[..got] == [0x1f, 0x8b] {
        let decoder = MultiGzDecoder::new(buffered);
        Ok((
            Box::new(BufReader::with_capacity(READ_BUFFER, decoder)),
            true,
        ))
    } else {
        Ok((Box::new(buffered), false))
    }
}

fn run<I: LineImport>(
    conn: &mut Connection,
    input: impl Read,
    import: &mut I,
) -> Result<ImportReport> {
    let started = Instant::now();
    let mut report = ImportReport::default();
    let interrupted = |report: &ImportReport, source| StoreError::ImportInterrupted {
        line: report.lines + 1,
        committed: report.imported,
        source,
    };
    let (mut lines, gzip) = open_input(input).map_err(|e| interrupted(&report, e))?;
    report.gzip = gzip;
    let mut buf = Vec::with_capacity(4096);
    let mut rows = Vec::with_capacity(I::BATCH);
    loop {
        let line = read_line(&mut *lines, &mut buf, MAX_LINE_BYTES)
            .map_err(|e| interrupted(&report, e))?;
        match line {
            Line::End => break,
            Line::TooLong => {
                report.lines += 1;
                report.reject(RejectReason::LineTooLong);
                continue;
            }
            Line::Fits => report.lines += 1,
        }
        let mut text = buf.trim_ascii();
        if report.lines == 1 {
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        if text.is_empty() {
            continue;
        }
        match import.parse(text) {
            Ok(row) => rows.push(row),
            Err(reason) => report.reject(reason),
        }
        if rows.len() >= I::BATCH {
            let tx = conn.transaction()?;
            import.write(&tx, &mut rows)?;
            tx.commit()?;
            report.imported += rows.len() as u64;
            rows.clear();
        }
    }
    let tx = conn.transaction()?;
    import.write(&tx, &mut rows)?;
    report.imported += rows.len() as u64;
    import.complete(&tx, &report)?;
    tx.commit()?;
    // Leaves a small WAL behind a big import; a reader holding old pages only postpones it.
    checkpoint(conn)?;
    report.elapsed = started.elapsed();
    Ok(report)
}

// ---- statuses ----

/// What a status line is about: a unit's КИ, or a box or pallet label (as its SSCC column).
enum StatusKey {
    Unit(KiKey),
    Label(i64),
}

struct StatusRow {
    key: StatusKey,
    /// The line drops the code's cached status; the other fields are empty.
    remove: bool,
    flags: i64,
    owner: Option<Inn>,
    parent: Option<ParentColumn>,
    expiry: Option<i64>,
    price: Option<i64>,
    /// The product name, carried only by the first line of a GTIN in this import.
    name: Option<(Gtin, String, Option<ProductGroup>)>,
}

struct Statuses {
    now: Timestamp,
    owners: Option<HashMap<Inn, i64>>,
    named_gtins: HashSet<Gtin>,
}

impl Statuses {
    fn new(now: Timestamp) -> Statuses {
        Statuses {
            now,
            owners: None,
            named_gtins: HashSet::new(),
        }
    }

    /// The interned id of an owner, adding it in `tx` when new. The map lives for one import
    /// only, and an error ends the import, so it never holds an id of a rolled-back insert.
    fn owner_id(&mut self, tx: &Transaction<'_>, inn: Inn) -> Result<i64> {
        let owners = match &mut self.owners {
            Some(owners) => owners,
            None => {
                let mut statement = tx.prepare("SELECT inn, id FROM owners")?;
                let known = statement
                    .query_map([], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                    })?
                    .filter_map(|row| match row {
                        Ok((inn, id)) => Inn::parse(&inn).map(|inn| Ok((inn, id))),
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<rusqlite::Result<HashMap<_, _>>>()?;
                self.owners.insert(known)
            }
        };
        if let Some(&id) = owners.get(&inn) {
            return Ok(id);
        }
        let id = tx
            .prepare_cached("INSERT INTO owners (inn) VALUES (?1) RETURNING id")?
            .query_row([inn.as_str()], |row| row.get(0))?;
        owners.insert(inn, id);
        Ok(id)
    }
}

impl LineImport for Statuses {
    type Row = StatusRow;
    const BATCH: usize = STATUS_BATCH;

    fn parse(&mut self, line: &[u8]) -> Result<StatusRow, RejectReason> {
        let record = feed::parse_status(line)?;
        let (key, ki) = match record.subject() {
            Subject::Unit(ki) => (StatusKey::Unit(ki.key()), Some(ki)),
            Subject::Label(sscc) => (StatusKey::Label(sscc_column(sscc)), None),
        };
        let StatusRecord::Status {
            status,
            product_name,
            ..
        } = record
        else {
            return Ok(StatusRow {
                key,
                remove: true,
                flags: 0,
                owner: None,
                parent: None,
                expiry: None,
                price: None,
                name: None,
            });
        };
        let flags = Flags {
            status: status.status,
            status_ex: status.status_ex,
            package_type: status.package_type,
            product_group: status.product_group,
            blocked: status.blocked,
        };
        let parent = status.parent.map(|parent| match parent {
            Parent::Sscc(sscc) => ParentColumn::Sscc(sscc_column(sscc)),
            Parent::Code(ki) => ParentColumn::Code(ki.key()),
        });
        let name = match (product_name, ki) {
            (Some(name), Some(ki)) if self.named_gtins.insert(ki.gtin()) => {
                Some((ki.gtin(), name.into_owned(), status.product_group))
            }
            _ => None,
        };
        Ok(StatusRow {
            key,
            remove: false,
            flags: flags.pack(),
            owner: status.owner,
            parent,
            expiry: status.expiry.map(day_number),
            price: status.max_retail_price.map(i64::from),
            name,
        })
    }

    fn write(&mut self, tx: &Transaction<'_>, rows: &mut Vec<StatusRow>) -> Result<()> {
        // Sorted keys fill B-tree pages in order; the sort is stable, so when a batch holds a
        // code twice the later line is written last and wins.
        rows.sort_by(|a, b| match (&a.key, &b.key) {
            (StatusKey::Unit(x), StatusKey::Unit(y)) => x.as_bytes().cmp(y.as_bytes()),
            (StatusKey::Label(x), StatusKey::Label(y)) => x.cmp(y),
            (StatusKey::Unit(_), StatusKey::Label(_)) => std::cmp::Ordering::Less,
            (StatusKey::Label(_), StatusKey::Unit(_)) => std::cmp::Ordering::Greater,
        });
        let mut insert = tx.prepare_cached(
            "INSERT OR REPLACE INTO statuses (ki, flags, owner, parent, expiry, price)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut insert_label = tx.prepare_cached(
            "INSERT OR REPLACE INTO label_statuses (sscc, flags, owner, parent)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut delete_label = tx.prepare_cached("DELETE FROM label_statuses WHERE sscc = ?1")?;
        let mut name = tx.prepare_cached(
            "INSERT INTO catalog (gtin, name, product_group) VALUES (?1, ?2, ?3)
             ON CONFLICT (gtin) DO NOTHING",
        )?;
        let mut delete = tx.prepare_cached("DELETE FROM statuses WHERE ki = ?1")?;
        for row in rows.iter() {
            let owner = match row.remove {
                true => None,
                false => row.owner.map(|inn| self.owner_id(tx, inn)).transpose()?,
            };
            let key = match (&row.key, row.remove) {
                (StatusKey::Unit(key), true) => {
                    delete.execute([key.as_bytes()])?;
                    continue;
                }
                (StatusKey::Label(sscc), true) => {
                    delete_label.execute([sscc])?;
                    continue;
                }
                (StatusKey::Label(sscc), false) => {
                    insert_label.execute(params![sscc, row.flags, owner, row.parent])?;
                    continue;
                }
                (StatusKey::Unit(key), false) => key,
            };
            insert.execute(params![
                key.as_bytes(),
                row.flags,
                owner,
                row.parent,
                row.expiry,
                row.price
            ])?;
            if let Some((gtin, text, group)) = &row.name {
                name.execute(params![gtin_column(*gtin), text, group.map(|g| g.id())])?;
            }
        }
        Ok(())
    }

    fn complete(&mut self, tx: &Transaction<'_>, report: &ImportReport) -> Result<()> {
        if report.imported > 0 || report.rejected == 0 {
            set_meta(tx, "statuses_refreshed_at", self.now.0)?;
        }
        Ok(())
    }

    fn mark(&mut self, tx: &Transaction<'_>, rows: &[StatusRow]) -> Result<()> {
        let mut note = note_key(tx)?;
        for row in rows.iter().filter(|r| !r.remove) {
            match &row.key {
                StatusKey::Unit(key) => {
                    note.execute(params![Feed::Statuses.name(), key.as_bytes()])?
                }
                StatusKey::Label(sscc) => note.execute(params![Feed::Statuses.name(), sscc])?,
            };
        }
        Ok(())
    }

    fn sweep(&mut self, tx: &Transaction<'_>) -> Result<()> {
        tx.execute(
            "DELETE FROM statuses WHERE NOT EXISTS
                 (SELECT 1 FROM snapshot_keys k WHERE k.feed = ?1 AND k.key = statuses.ki)",
            [Feed::Statuses.name()],
        )?;
        tx.execute(
            "DELETE FROM label_statuses WHERE NOT EXISTS
                 (SELECT 1 FROM snapshot_keys k WHERE k.feed = ?1 AND k.key = label_statuses.sscc)",
            [Feed::Statuses.name()],
        )?;
        Ok(())
    }
}

// ---- catalog ----

struct CatalogRow {
    gtin: i64,
    name: String,
    group: Option<u8>,
    unit: Option<String>,
}

struct Catalog;

impl LineImport for Catalog {
    type Row = CatalogRow;
    const BATCH: usize = SMALL_BATCH;

    fn parse(&mut self, line: &[u8]) -> Result<CatalogRow, RejectReason> {
        let item = feed::parse_catalog(line)?;
        Ok(CatalogRow {
            gtin: gtin_column(item.gtin),
            name: item.name,
            group: item.product_group.map(ProductGroup::id),
            unit: item.unit,
        })
    }

    fn write(&mut self, tx: &Transaction<'_>, rows: &mut Vec<CatalogRow>) -> Result<()> {
        let mut upsert = tx.prepare_cached(
            "INSERT OR REPLACE INTO catalog (gtin, name, product_group, unit)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for row in rows.iter() {
            upsert.execute(params![row.gtin, row.name, row.group, row.unit])?;
        }
        Ok(())
    }

    fn mark(&mut self, tx: &Transaction<'_>, rows: &[CatalogRow]) -> Result<()> {
        let mut note = note_key(tx)?;
        for row in rows {
            note.execute(params![Feed::Catalog.name(), row.gtin])?;
        }
        Ok(())
    }

    fn sweep(&mut self, tx: &Transaction<'_>) -> Result<()> {
        tx.execute(
            "DELETE FROM catalog WHERE NOT EXISTS
                 (SELECT 1 FROM snapshot_keys k WHERE k.feed = ?1 AND k.key = catalog.gtin)",
            [Feed::Catalog.name()],
        )?;
        Ok(())
    }
}

// ---- block lists ----

enum Blocked {
    Code(KiKey),
    Gtin(i64),
    Series(i64, String),
}

struct BlockLists;

impl LineImport for BlockLists {
    type Row = (Blocked, bool);
    const BATCH: usize = SMALL_BATCH;

    fn parse(&mut self, line: &[u8]) -> Result<(Blocked, bool), RejectReason> {
        let entry = feed::parse_block(line)?;
        let blocked = match entry.blocked {
            feed::Blocked::Code(ki) => Blocked::Code(ki.key()),
            feed::Blocked::Gtin(gtin) => Blocked::Gtin(gtin_column(gtin)),
            feed::Blocked::Series(gtin, batch) => Blocked::Series(gtin_column(gtin), batch),
        };
        Ok((blocked, entry.remove))
    }

    fn write(&mut self, tx: &Transaction<'_>, rows: &mut Vec<(Blocked, bool)>) -> Result<()> {
        for (blocked, remove) in rows.iter() {
            match (blocked, remove) {
                (Blocked::Code(key), false) => tx
                    .prepare_cached("INSERT OR IGNORE INTO blocked_codes (ki) VALUES (?1)")?
                    .execute([key.as_bytes()])?,
                (Blocked::Code(key), true) => tx
                    .prepare_cached("DELETE FROM blocked_codes WHERE ki = ?1")?
                    .execute([key.as_bytes()])?,
                (Blocked::Gtin(gtin), false) => tx
                    .prepare_cached("INSERT OR IGNORE INTO blocked_gtins (gtin) VALUES (?1)")?
                    .execute([gtin])?,
                (Blocked::Gtin(gtin), true) => tx
                    .prepare_cached("DELETE FROM blocked_gtins WHERE gtin = ?1")?
                    .execute([gtin])?,
                (Blocked::Series(gtin, batch), false) => tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO blocked_series (gtin, batch) VALUES (?1, ?2)",
                    )?
                    .execute(params![gtin, batch])?,
                (Blocked::Series(gtin, batch), true) => tx
                    .prepare_cached("DELETE FROM blocked_series WHERE gtin = ?1 AND batch = ?2")?
                    .execute(params![gtin, batch])?,
            };
        }
        Ok(())
    }

    fn mark(&mut self, tx: &Transaction<'_>, rows: &[(Blocked, bool)]) -> Result<()> {
        let mut note = note_key(tx)?;
        let feed = Feed::Blocks.name();
        for (blocked, remove) in rows {
            if *remove {
                continue;
            }
            match blocked {
                Blocked::Code(key) => note.execute(params![feed, key.as_bytes()])?,
                Blocked::Gtin(gtin) => note.execute(params![feed, gtin])?,
                Blocked::Series(gtin, batch) => {
                    note.execute(params![feed, format!("{gtin}:{batch}")])?
                }
            };
        }
        Ok(())
    }

    fn sweep(&mut self, tx: &Transaction<'_>) -> Result<()> {
        let feed = Feed::Blocks.name();
        tx.execute(
            "DELETE FROM blocked_codes WHERE NOT EXISTS
                 (SELECT 1 FROM snapshot_keys k WHERE k.feed = ?1 AND k.key = blocked_codes.ki)",
            [feed],
        )?;
        tx.execute(
            "DELETE FROM blocked_gtins WHERE NOT EXISTS
                 (SELECT 1 FROM snapshot_keys k WHERE k.feed = ?1 AND k.key = blocked_gtins.gtin)",
            [feed],
        )?;
        tx.execute(
            "DELETE FROM blocked_series WHERE NOT EXISTS
                 (SELECT 1 FROM snapshot_keys k WHERE k.feed = ?1
                      AND k.key = blocked_series.gtin || ':' || blocked_series.batch)",
            [feed],
        )?;
        Ok(())
    }
}

// ---- operators ----

struct OperatorRow {
    id: String,
    /// `None` removes the operator.
    content: Option<OperatorContent>,
}

struct OperatorContent {
    name: String,
    pin_salt: String,
    pin_sha256: String,
    badge: Option<String>,
    supervisor: bool,
}

struct Operators;

impl LineImport for Operators {
    type Row = OperatorRow;
    const BATCH: usize = SMALL_BATCH;

    fn parse(&mut self, line: &[u8]) -> Result<OperatorRow, RejectReason> {
        let record = feed::parse_operator(line)?;
        Ok(OperatorRow {
            id: record.id,
            content: record.operator.map(|o| OperatorContent {
                name: o.name,
                pin_salt: o.pin_salt,
                pin_sha256: o.pin_sha256,
                badge: o.badge,
                supervisor: o.supervisor,
            }),
        })
    }

    fn write(&mut self, tx: &Transaction<'_>, rows: &mut Vec<OperatorRow>) -> Result<()> {
        let mut upsert = tx.prepare_cached(
            "INSERT OR REPLACE INTO operators (id, name, pin_salt, pin_sha256, badge, supervisor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut remove = tx.prepare_cached("DELETE FROM operators WHERE id = ?1")?;
        for row in rows.iter() {
            match &row.content {
                Some(o) => {
                    upsert.execute(params![
                        row.id,
                        o.name,
                        o.pin_salt,
                        o.pin_sha256,
                        o.badge,
                        o.supervisor
                    ])?;
                }
                None => {
                    remove.execute([&row.id])?;
                }
            }
        }
        Ok(())
    }

    fn mark(&mut self, tx: &Transaction<'_>, rows: &[OperatorRow]) -> Result<()> {
        let mut note = note_key(tx)?;
        for row in rows.iter().filter(|r| r.content.is_some()) {
            note.execute(params![Feed::Operators.name(), row.id])?;
        }
        Ok(())
    }

    fn sweep(&mut self, tx: &Transaction<'_>) -> Result<()> {
        tx.execute(
            "DELETE FROM operators WHERE NOT EXISTS
                 (SELECT 1 FROM snapshot_keys k WHERE k.feed = ?1 AND k.key = operators.id)",
            [Feed::Operators.name()],
        )?;
        Ok(())
    }
}

// ---- tasks ----

struct TaskContent {
    number: String,
    sender_inn: Inn,
    date: String,
    product_group: Option<u8>,
    /// `(unit key, the box it is expected in)`.
    units: Vec<(KiKey, Option<i64>)>,
    boxes: Vec<i64>,
    /// `(GTIN value, quantity)` in the task's order.
    lines: Vec<(i64, u32)>,
}

struct Tasks {
    now: Timestamp,
}

impl LineImport for Tasks {
    /// The task id, and its content unless the line removes it.
    type Row = (String, Option<TaskContent>);
    const BATCH: usize = TASK_BATCH;

    fn parse(&mut self, line: &[u8]) -> Result<Self::Row, RejectReason> {
        let record = feed::parse_task(line)?;
        let Some(task) = record.task else {
            return Ok((record.id, None));
        };
        let loose = task.units.iter().map(|ki| (ki.key(), None));
        let boxed = task.boxes.iter().flat_map(|(sscc, units)| {
            let column = sscc_column(*sscc);
            units.iter().map(move |ki| (ki.key(), Some(column)))
        });
        let units = loose.chain(boxed).collect();
        Ok((
            record.id,
            Some(TaskContent {
                number: task.number,
                sender_inn: task.sender_inn,
                date: task.date.to_string(),
                product_group: task.product_group.map(ProductGroup::id),
                units,
                boxes: task
                    .boxes
                    .iter()
                    .map(|(sscc, _)| sscc_column(*sscc))
                    .collect(),
                lines: task
                    .lines
                    .iter()
                    .map(|l| (gtin_column(l.gtin), l.quantity))
                    .collect(),
            }),
        ))
    }

    fn write(&mut self, tx: &Transaction<'_>, rows: &mut Vec<Self::Row>) -> Result<()> {
        for (id, content) in rows.iter() {
            // The task's boxes and units go with it (ON DELETE CASCADE).
            tx.prepare_cached("DELETE FROM tasks WHERE id = ?1")?
                .execute([id])?;
            let Some(task) = content else { continue };
            tx.prepare_cached(
                "INSERT INTO tasks (id, number, sender_inn, date, product_group, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                id,
                task.number,
                task.sender_inn.as_str(),
                task.date,
                task.product_group,
                self.now.0
            ])?;
            let mut add_box =
                tx.prepare_cached("INSERT INTO task_boxes (task_id, sscc) VALUES (?1, ?2)")?;
            for sscc in &task.boxes {
                add_box.execute(params![id, sscc])?;
            }
            let mut add_unit = tx
                .prepare_cached("INSERT INTO task_units (task_id, ki, sscc) VALUES (?1, ?2, ?3)")?;
            for (key, sscc) in &task.units {
                add_unit.execute(params![id, key.as_bytes(), sscc])?;
            }
            let mut add_line = tx.prepare_cached(
                "INSERT INTO task_lines (task_id, position, gtin, quantity) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (position, (gtin, quantity)) in task.lines.iter().enumerate() {
                add_line.execute(params![id, position as i64, gtin, quantity])?;
            }
        }
        Ok(())
    }

    fn mark(&mut self, tx: &Transaction<'_>, rows: &[Self::Row]) -> Result<()> {
        note_ids(tx, Feed::Tasks, rows)
    }

    fn sweep(&mut self, tx: &Transaction<'_>) -> Result<()> {
        sweep_ids(tx, "tasks", Feed::Tasks)
    }
}

// ---- orders ----

struct OrderContent {
    number: String,
    receiver_inn: Option<Inn>,
    date: String,
    product_group: Option<u8>,
    units: Vec<KiKey>,
    /// `(GTIN value, quantity)` in the order's order.
    lines: Vec<(i64, u32)>,
}

struct Orders {
    now: Timestamp,
}

impl LineImport for Orders {
    /// The order id, and its content unless the line withdraws it.
    type Row = (String, Option<OrderContent>);
    const BATCH: usize = TASK_BATCH;

    fn parse(&mut self, line: &[u8]) -> Result<Self::Row, RejectReason> {
        let record = feed::parse_order(line)?;
        let Some(order) = record.order else {
            return Ok((record.id, None));
        };
        Ok((
            record.id,
            Some(OrderContent {
                number: order.number,
                receiver_inn: order.receiver_inn,
                date: order.date.to_string(),
                product_group: order.product_group.map(ProductGroup::id),
                units: order.units.iter().map(|ki| ki.key()).collect(),
                lines: order
                    .lines
                    .iter()
                    .map(|l| (gtin_column(l.gtin), l.quantity))
                    .collect(),
            }),
        ))
    }

    fn write(&mut self, tx: &Transaction<'_>, rows: &mut Vec<Self::Row>) -> Result<()> {
        for (id, content) in rows.iter() {
            // The order's units and lines go with it (ON DELETE CASCADE).
            tx.prepare_cached("DELETE FROM orders WHERE id = ?1")?
                .execute([id])?;
            let Some(order) = content else { continue };
            tx.prepare_cached(
                "INSERT INTO orders (id, number, receiver_inn, date, product_group, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                id,
                order.number,
                order.receiver_inn.as_ref().map(Inn::as_str),
                order.date,
                order.product_group,
                self.now.0
            ])?;
            let mut add_unit =
                tx.prepare_cached("INSERT INTO order_units (order_id, ki) VALUES (?1, ?2)")?;
            for key in &order.units {
                add_unit.execute(params![id, key.as_bytes()])?;
            }
            let mut add_line = tx.prepare_cached(
                "INSERT INTO order_lines (order_id, position, gtin, quantity)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (position, (gtin, quantity)) in order.lines.iter().enumerate() {
                add_line.execute(params![id, position as i64, gtin, quantity])?;
            }
        }
        Ok(())
    }

    fn mark(&mut self, tx: &Transaction<'_>, rows: &[Self::Row]) -> Result<()> {
        note_ids(tx, Feed::Orders, rows)
    }

    fn sweep(&mut self, tx: &Transaction<'_>) -> Result<()> {
        sweep_ids(tx, "orders", Feed::Orders)
    }
}

// ---- verdicts ----

/// Joins a verdict's key fields in `snapshot_keys` (schema v8): a character no UUID, True API
/// document type or product group code holds, and lines holding it are rejected.
const KEY_SEPARATOR: char = '\u{1f}';

/// What GIS MT made of one document of an operation, ready to store.
struct VerdictRow {
    verdict: Verdict,
    /// `verdict.reasons` as the JSON array the table keeps.
    reasons: String,
}

impl VerdictRow {
    fn key(&self) -> String {
        let v = &self.verdict;
        format!(
            "{}{KEY_SEPARATOR}{}{KEY_SEPARATOR}{}",
            v.operation, v.document_type, v.pg
        )
    }
}

struct Verdicts;

impl LineImport for Verdicts {
    type Row = VerdictRow;
    const BATCH: usize = SMALL_BATCH;

    fn parse(&mut self, line: &[u8]) -> Result<VerdictRow, RejectReason> {
        let verdict: Verdict = serde_json::from_slice(line).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => RejectReason::WrongFields,
            _ => RejectReason::NotJson,
        })?;
        let key_fields = [&verdict.operation, &verdict.document_type, &verdict.pg];
        let bad_key = key_fields
            .iter()
            .any(|f| f.trim().is_empty() || f.contains(KEY_SEPARATOR));
        // The feed carries final states only; a waiting or in-progress one would be the hub's
        // bug, and showing it as GIS MT's answer would tell the operator something GIS MT never
        // said. The wire has no closer reason than a field of the wrong value.
        if bad_key || !verdict.state.is_final() {
            return Err(RejectReason::WrongFields);
        }
        let reasons =
            serde_json::to_string(&verdict.reasons).map_err(|_| RejectReason::WrongFields)?;
        Ok(VerdictRow { verdict, reasons })
    }

    fn write(&mut self, tx: &Transaction<'_>, rows: &mut Vec<VerdictRow>) -> Result<()> {
        // The feed is the whole warehouse's: a verdict of another terminal's operation is
        // none of this one's business. Dropped from `rows`, so it counts as neither imported
        // nor rejected, and a snapshot does not note it.
        let mut own = tx.prepare_cached("SELECT 1 FROM queue WHERE uuid = ?1")?;
        let mut kept = Vec::with_capacity(rows.len());
        for row in rows.drain(..) {
            if own.exists([&row.verdict.operation])? {
                kept.push(row);
            }
        }
        *rows = kept;
        let mut upsert = tx.prepare_cached(
            "INSERT OR REPLACE INTO verdicts (operation, type, pg, gis_id, state, reasons, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for row in rows.iter() {
            let v = &row.verdict;
            upsert.execute(params![
                v.operation,
                v.document_type,
                v.pg,
                v.gis_id,
                v.state.code(),
                row.reasons,
                v.at
            ])?;
        }
        Ok(())
    }

    fn mark(&mut self, tx: &Transaction<'_>, rows: &[VerdictRow]) -> Result<()> {
        let mut note = note_key(tx)?;
        for row in rows {
            note.execute(params![Feed::Verdicts.name(), row.key()])?;
        }
        Ok(())
    }

    fn sweep(&mut self, tx: &Transaction<'_>) -> Result<()> {
        tx.execute(
            "DELETE FROM verdicts WHERE NOT EXISTS
                 (SELECT 1 FROM snapshot_keys k WHERE k.feed = ?1
                      AND k.key = verdicts.operation || char(31) || verdicts.type
                                  || char(31) || verdicts.pg)",
            [Feed::Verdicts.name()],
        )?;
        Ok(())
    }
}
