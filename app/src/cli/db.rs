//! `tally db` and `tally queue`: load the replica from hub exports, show its figures and the
//! operations waiting for upload, and measure it.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tally_domain::code::{ParseOptions, parse};
use tally_domain::status::Timestamp;
use tally_domain::validate::{Context, Expectation, Facts, OperationKind, Policy, validate};
use tally_sync::store::{ImportReport, Importer, NewOperation, NewScan, Reader, Store};
use tally_sync::synthetic;

/// Where the replica lives when neither `--db` nor `TALLY_DB` says.
pub const DEFAULT_DB: &str = "tally.db";

#[derive(Debug, Args)]
pub struct DbLocation {
    /// The replica file. Default: the TALLY_DB environment variable, else `tally.db` in the
    /// current directory.
    #[arg(long, value_name = "PATH", global = true)]
    db: Option<PathBuf>,
}

impl DbLocation {
    pub fn path(&self) -> PathBuf {
        db_path(self.db.clone(), std::env::var_os("TALLY_DB"))
    }
}

/// `--db`, else `TALLY_DB` (when not empty), else [`DEFAULT_DB`].
pub fn db_path(arg: Option<PathBuf>, env: Option<OsString>) -> PathBuf {
    arg.or_else(|| env.filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DB))
}

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(flatten)]
    location: DbLocation,
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Load a status export (True API `cisInfo` JSON lines, plain or gzip; `-` reads standard
    /// input) and print a JSON report: rows imported, lines rejected with their line numbers
    /// and reasons, and the rate.
    ImportStatuses { file: PathBuf },
    /// Load catalog lines `{"gtin","name","productGroupId"?,"unit"?}`.
    ImportCatalog { file: PathBuf },
    /// Load block-list lines `{"kind":"code|gtin|series", "cis"|"gtin"(+"batch"), "remove"?}`.
    ImportBlocks { file: PathBuf },
    /// Load task lines `{"id","number","senderInn","date","units":[..],"boxes":[..]}`.
    ImportTasks { file: PathBuf },
    /// Load order lines `{"id","number","receiverInn"?,"date","units":[..],"lines":[..]}`:
    /// customers' orders to pick (`tally work shipment --order ID`).
    ImportOrders { file: PathBuf },
    /// Print the orders to pick the replica holds, one JSON line each, oldest first.
    Orders,
    /// Print the replica's figures as JSON: rows, bytes per code, cache age, last sync, queue
    /// depth.
    Stats,
    /// Build a throwaway replica of synthetic codes and measure import rate, bytes per code,
    /// lookup latency and durable scan commits.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// How many codes to import.
    #[arg(long, default_value_t = 1_000_000)]
    codes: u64,
    /// Where to put the throwaway replica (deleted afterwards unless --keep).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Point lookups to time.
    #[arg(long, default_value_t = 200_000)]
    lookups: u64,
    /// Durable scan commits to time.
    #[arg(long, default_value_t = 2_000)]
    scans: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Send the codes in an order unrelated to their keys, instead of production run after
    /// production run: the worst case for import speed and page fill.
    #[arg(long)]
    scattered: bool,
    /// Keep the replica file.
    #[arg(long)]
    keep: bool,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    #[command(flatten)]
    location: DbLocation,
}

pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp(millis)
}

pub fn run(args: &DbArgs, out: impl Write) -> anyhow::Result<()> {
    let path = args.location.path();
    match &args.command {
        DbCommand::ImportStatuses { file } => import(&path, file, Kind::Statuses, now(), out),
        DbCommand::ImportCatalog { file } => import(&path, file, Kind::Catalog, now(), out),
        DbCommand::ImportBlocks { file } => import(&path, file, Kind::Blocks, now(), out),
        DbCommand::ImportTasks { file } => import(&path, file, Kind::Tasks, now(), out),
        DbCommand::ImportOrders { file } => import(&path, file, Kind::Orders, now(), out),
        DbCommand::Orders => orders(&path, out),
        DbCommand::Stats => stats(&path, now(), out),
        DbCommand::Bench(bench_args) => bench(bench_args, out),
    }
}

pub fn run_queue(args: &QueueArgs, out: impl Write) -> anyhow::Result<()> {
    queue(&args.location.path(), out)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Statuses,
    Catalog,
    Blocks,
    Tasks,
    Orders,
}

/// Imports `file` (`-` for standard input) into the replica at `db`, creating it if needed.
pub fn import(
    db: &Path,
    file: &Path,
    kind: Kind,
    now: Timestamp,
    mut out: impl Write,
) -> anyhow::Result<()> {
    let input: Box<dyn Read> = if file == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(file).with_context(|| format!("opening {}", file.display()))?)
    };
    // The writer creates or upgrades the file; the import then runs on its own connection.
    let store = Store::open(db).with_context(|| format!("opening {}", db.display()))?;
    let mut importer = store.importer()?;
    let report = match kind {
        Kind::Statuses => importer.import_statuses(input, now),
        Kind::Catalog => importer.import_catalog(input),
        Kind::Blocks => importer.import_block_lists(input),
        Kind::Tasks => importer.import_tasks(input, now),
        Kind::Orders => importer.import_orders(input, now),
    }
    .with_context(|| format!("importing {}", file.display()))?;
    write_line(&mut out, &report_json(file, &report))
}

pub fn report_json(file: &Path, report: &ImportReport) -> Value {
    json!({
        "file": file.display().to_string(),
        "gzip": report.gzip,
        "lines": report.lines,
        "imported": report.imported,
        "rejected": report.rejected,
        "rejections": report.rejections.iter()
            .map(|r| json!({"line": r.line, "reason": r.reason.code()}))
            .collect::<Vec<_>>(),
        "seconds": round(report.elapsed.as_secs_f64(), 3),
        "codes_per_second": report.rows_per_second().round(),
    })
}

fn open_existing(db: &Path) -> anyhow::Result<Reader> {
    if !db.exists() {
        bail!(
            "no replica at {} (give --db PATH or set TALLY_DB)",
            db.display()
        );
    }
    // The writer upgrades an older file before it is read.
    drop(Store::open(db).with_context(|| format!("opening {}", db.display()))?);
    Ok(Reader::open(db)?)
}

pub fn stats(db: &Path, now: Timestamp, mut out: impl Write) -> anyhow::Result<()> {
    let stats = open_existing(db)?.stats(now)?;
    write_line(
        &mut out,
        &json!({
            "db": db.display().to_string(),
            "schema_version": stats.schema_version,
            "status_rows": stats.status_rows,
            "owners": stats.owners,
            "file_bytes": stats.file_bytes,
            "wal_bytes": stats.wal_bytes,
            "bytes_per_code": stats.bytes_per_code.map(|b| round(b, 2)),
            "statuses_refreshed_at": stats.statuses_refreshed_at.map(|t| t.0),
            "cache_age_hours": stats.cache_age_ms.map(|ms| round(ms as f64 / 3_600_000.0, 2)),
            "last_sync": stats.last_sync.map(|t| t.0),
            "open_operations": stats.open_operations,
            "queue_pending": stats.queue_pending,
            "queue_total": stats.queue_total,
        }),
    )
}

/// Prints the orders to pick, one JSON object per line: what `--order` of a shipment takes.
pub fn orders(db: &Path, mut out: impl Write) -> anyhow::Result<()> {
    for order in open_existing(db)?.orders()? {
        write_line(
            &mut out,
            &json!({
                "id": order.id,
                "number": order.number,
                "receiver_inn": order.receiver_inn.map(|i| i.as_str().to_owned()),
                "date": order.date.to_string(),
                "units": order.units,
            }),
        )?;
    }
    Ok(())
}

/// Prints every finished operation waiting for upload, one JSON object per line, in device
/// order.
pub fn queue(db: &Path, mut out: impl Write) -> anyhow::Result<()> {
    for row in open_existing(db)?.pending_queue()? {
        // The payload is the state machine's JSON; shown as JSON when it is, as text if not.
        let payload = serde_json::from_str::<Value>(&row.payload)
            .unwrap_or_else(|_| Value::String(row.payload.clone()));
        write_line(
            &mut out,
            &json!({
                "seq": row.seq.0,
                "uuid": row.uuid,
                "kind": row.kind,
                "operator": row.operator,
                "started_at": row.started_at.0,
                "finished_at": row.finished_at.0,
                "payload": payload,
            }),
        )?;
    }
    Ok(())
}

fn write_line(out: &mut impl Write, value: &Value) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// Latency figures of a sorted sample, in microseconds.
fn latency(sorted: &[Duration]) -> Value {
    let at = |q: f64| {
        let index = ((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1));
        sorted
            .get(index)
            .map_or(0.0, |d| round(d.as_secs_f64() * 1e6, 2))
    };
    let mean = sorted.iter().sum::<Duration>().as_secs_f64() / sorted.len().max(1) as f64;
    json!({
        "samples": sorted.len(),
        "p50_us": at(0.50),
        "p99_us": at(0.99),
        "max_us": at(1.0),
        "mean_us": round(mean * 1e6, 2),
    })
}

/// Removes the database and its WAL and shared-memory files.
fn remove_replica(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

pub fn bench(args: &BenchArgs, mut out: impl Write) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let path = args
        .dir
        .join(format!("tally-bench-{}.db", std::process::id()));
    remove_replica(&path);
    let result = run_bench(args, &path);
    if !args.keep {
        remove_replica(&path);
    }
    write_line(&mut out, &result?)
}

fn run_bench(args: &BenchArgs, path: &Path) -> anyhow::Result<Value> {
    let started = now();
    let mut store = Store::open(path)?;

    let export = if args.scattered {
        synthetic::StatusExport::scattered(args.seed, args.codes)
    } else {
        synthetic::StatusExport::new(args.seed, args.codes)
    };
    let mut importer: Importer = store.importer()?;
    let report = importer.import_statuses(export, started)?;
    drop(importer);
    store.checkpoint()?;
    let stats = store.stats(started)?;

    let mut keys = Vec::with_capacity(usize::try_from(args.lookups)?);
    let mut pick = args.seed;
    for _ in 0..args.lookups {
        // A multiplicative congruential walk: cheap and spread over the whole table.
        pick = pick
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let index = (pick >> 16) % args.codes.max(1);
        keys.push(synthetic::ki(args.seed, index).context("synthetic code")?);
    }
    let mut lookups = Vec::with_capacity(keys.len());
    let mut missing = 0u64;
    for ki in &keys {
        let start = Instant::now();
        let status = store.status(ki)?;
        lookups.push(start.elapsed());
        missing += u64::from(status.is_none());
    }
    lookups.sort();

    let operation = store.begin_operation(&NewOperation {
        kind: "bench",
        operator: "bench",
        header: "{}",
        started_at: now(),
    })?;
    // The whole path of one scan: parse, look up, judge, commit durably, in that order, as
    // the terminal does it; the commit alone is timed too.
    let options = ParseOptions::default();
    let policy = Policy::default();
    let context = Context {
        operation: OperationKind::Acceptance,
        own_inn: None,
        supplier_inn: None,
        product_group: None,
    };
    let mut commits = Vec::new();
    let mut pipeline = Vec::new();
    let mut raw = String::new();
    for (seq, ki) in (0..args.scans).zip(keys.iter().cycle()) {
        raw.clear();
        raw.push_str(&ki.to_string());
        raw.push_str("\u{1d}93Ab1+");
        let start = Instant::now();
        let at = now();
        let code = parse(raw.as_bytes(), &options)
            .map_err(|r| anyhow::anyhow!("synthetic code refused: {}", r.code()))?;
        let ki = code.ki().context("synthetic code without КИ")?;
        let status = store.status(&ki)?;
        let gtin = ki.gtin();
        let block = store.block_hit(Some(&ki), gtin, None)?;
        let catalog_group = store.catalog_item(gtin)?.and_then(|c| c.product_group);
        let facts = Facts {
            status: status.as_ref(),
            block,
            catalog_group,
            last_sync: Some(started),
            duplicate_in_document: false,
            expectation: Expectation::NoList,
        };
        let verdict = validate(&code, &facts, &context, &policy, at);
        let scan = NewScan {
            seq: u32::try_from(seq)?,
            at,
            action: "unit",
            code: code.canonical(),
            ki: Some(ki),
            verdict: verdict.outcome.code(),
            detail: "{}",
        };
        let commit_start = Instant::now();
        store.record_scan(operation, &scan)?;
        commits.push(commit_start.elapsed());
        pipeline.push(start.elapsed());
    }
    pipeline.sort();
    commits.sort();
    store.finish_operation(operation, now(), "{}", &Default::default())?;

    Ok(json!({
        "codes": args.codes,
        "order": if args.scattered { "scattered" } else { "production_runs" },
        "import": {
            "rows": report.imported,
            "rejected": report.rejected,
            "seconds": round(report.elapsed.as_secs_f64(), 2),
            "codes_per_second": report.rows_per_second().round(),
        },
        "size": {
            "status_rows": stats.status_rows,
            "file_bytes": stats.file_bytes,
            "wal_bytes": stats.wal_bytes,
            "bytes_per_code": stats.bytes_per_code.map(|b| round(b, 2)),
        },
        "lookup": latency(&lookups),
        "lookup_missing": missing,
        "durable_scan_commit": latency(&commits),
        "scan_to_verdict": latency(&pipeline),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tally-app-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn lines(bytes: &[u8]) -> Vec<Value> {
        std::str::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn the_database_path_comes_from_the_flag_then_the_environment_then_the_default() {
        let cases = [
            (Some("a.db"), Some("b.db"), "a.db"),
            (None, Some("b.db"), "b.db"),
            (None, Some(""), DEFAULT_DB),
            (None, None, DEFAULT_DB),
        ];
        for (arg, env, want) in cases {
            let got = db_path(arg.map(PathBuf::from), env.map(OsString::from));
            assert_eq!(got, PathBuf::from(want), "{arg:?} {env:?}");
        }
    }

    #[test]
    fn queue_prints_pending_operations_with_their_payload_as_json() {
        let dir = scratch("queue");
        let db = dir.join("t.db");
        let mut store = Store::open(&db).unwrap();
        for (kind, payload) in [
            ("acceptance", r#"{"accepted":3}"#),
            ("write_off", "not json"),
        ] {
            let op = store
                .begin_operation(&NewOperation {
                    kind,
                    operator: "ivanova",
                    header: "{}",
                    started_at: Timestamp(1_000),
                })
                .unwrap();
            store
                .finish_operation(op, Timestamp(2_000), payload, &Default::default())
                .unwrap();
        }
        let first = store.pending_queue().unwrap()[0].seq;
        store.mark_uploaded(&[first], Timestamp(3_000)).unwrap();
        drop(store);

        let mut out = Vec::new();
        queue(&db, &mut out).unwrap();
        let rows = lines(&out);
        assert_eq!(rows.len(), 1, "the uploaded row is not pending");
        assert_eq!(rows[0]["kind"], "write_off");
        assert_eq!(rows[0]["seq"], 2);
        assert_eq!(rows[0]["payload"], "not json");
        assert_eq!(rows[0]["operator"], "ivanova");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stats_and_queue_refuse_a_missing_replica_instead_of_creating_one() {
        let dir = scratch("missing");
        let db = dir.join("nothing.db");
        let error = stats(&db, Timestamp(0), Vec::new()).unwrap_err();
        assert!(error.to_string().contains("no replica"), "{error}");
        assert!(queue(&db, Vec::new()).is_err());
        assert!(!db.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn import_then_stats_report_rows_rejections_and_cache_age() {
        let dir = scratch("import");
        let db = dir.join("t.db");
        let file = dir.join("statuses.jsonl");
        let mut export = String::new();
        synthetic::StatusExport::new(3, 50)
            .read_to_string(&mut export)
            .unwrap();
        export.insert_str(0, "{\"cis\":\"nonsense\",\"status\":\"INTRODUCED\"}\n");
        std::fs::write(&file, export).unwrap();

        let mut out = Vec::new();
        import(&db, &file, Kind::Statuses, Timestamp(1_000), &mut out).unwrap();
        let report = &lines(&out)[0];
        assert_eq!(report["imported"], 50);
        assert_eq!(report["rejected"], 1);
        assert_eq!(
            report["rejections"][0],
            json!({"line": 1, "reason": "bad_cis"})
        );

        let mut out = Vec::new();
        stats(&db, Timestamp(1_000 + 7_200_000), &mut out).unwrap();
        let stats = &lines(&out)[0];
        assert_eq!(stats["status_rows"], 50);
        assert_eq!(stats["cache_age_hours"], 2.0);
        assert_eq!(stats["queue_pending"], 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bench_measures_a_small_replica_and_removes_it() {
        let dir = scratch("bench");
        let args = BenchArgs {
            codes: 5_000,
            dir: dir.clone(),
            lookups: 500,
            scans: 5,
            seed: 9,
            scattered: true,
            keep: false,
        };
        let mut out = Vec::new();
        bench(&args, &mut out).unwrap();
        let report = &lines(&out)[0];
        assert_eq!(report["import"]["rows"], 5_000);
        assert_eq!(report["size"]["status_rows"], 5_000);
        assert_eq!(report["lookup"]["samples"], 500);
        assert_eq!(report["lookup_missing"], 0);
        assert_eq!(report["durable_scan_commit"]["samples"], 5);
        assert_eq!(report["scan_to_verdict"]["samples"], 5);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
