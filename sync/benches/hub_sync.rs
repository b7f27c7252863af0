//! The sync engine's throughput over loopback against a real hub in-process: a push of a large
//! queue (100,000 write-offs) and a pull of a large status list (1,000,000 codes) into a new
//! replica. Plain timing, one run each: these take seconds, not microseconds.
//!
//! `cargo bench -p tally-sync --bench hub_sync` (sizes: `TALLY_BENCH_PUSH`, `TALLY_BENCH_PULL`;
//! `TALLY_BENCH_DATABASE=postgres://…` puts the hub on a scratch database of that server
//! instead of a SQLite file).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed set-up is a crash

use std::path::PathBuf;
use std::thread;
use std::time::Instant;

use tally_domain::status::{Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::server::Hub;
use tally_sync::engine::{ClientConfig, HubClient, SyncEngine, enroll};
use tally_sync::store::Store;
use tally_sync::synthetic::StatusExport;
use tally_wire::Feed;

const OURS: &str = "7707083893";
const GTIN: &str = "04600840749372";

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp(i64::try_from(millis).unwrap())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tally-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A hub on `dir/hub.db` holding these status lines; returns its address and an enrolled
/// engine for a new replica at `dir/tally.db`.
fn hub_with(dir: &std::path::Path, lines: impl std::io::Read) -> (SyncEngine, Store, HubDb) {
    let db = HubDb::new(dir);
    let store = db.store();
    let started = Instant::now();
    let report = import(&store, Feed::Statuses, lines).unwrap();
    eprintln!(
        "  (set-up: hub import {report:?} in {:.1?})",
        started.elapsed()
    );
    let code = store
        .create_enrollment_code("W1", &Inn::parse(OURS).unwrap(), Timestamp(0))
        .unwrap();
    let hub = Hub::bind(store, "127.0.0.1:0").unwrap();
    let base = format!("http://{}", hub.local_addr().unwrap());
    thread::spawn(move || hub.run());
    let link = enroll(ClientConfig::new(&base, None), &code, "bench", "0.1.0").unwrap();
    let mut config = ClientConfig::new(&base, Some(link.token));
    config.global_timeout = std::time::Duration::from_secs(300);
    config.gzip_answers = std::env::var_os("TALLY_BENCH_PLAIN").is_none();
    let engine = SyncEngine::new(HubClient::new(config).unwrap(), "0.1.0");
    (engine, Store::open(dir.join("tally.db")).unwrap(), db)
}

/// The benchmark's hub database: a SQLite file in the run's directory, or a scratch database
/// on the server of `TALLY_BENCH_DATABASE`, dropped with the value.
struct HubDb {
    location: String,
    _scratch: Option<tally_hub::store::ScratchDatabase>,
}

impl HubDb {
    fn new(dir: &std::path::Path) -> HubDb {
        match std::env::var("TALLY_BENCH_DATABASE") {
            Ok(server) => {
                let scratch = tally_hub::store::ScratchDatabase::create(&server).unwrap();
                HubDb {
                    location: scratch.url.clone(),
                    _scratch: Some(scratch),
                }
            }
            Err(_) => HubDb {
                location: dir.join("hub.db").display().to_string(),
                _scratch: None,
            },
        }
    }

    fn store(&self) -> tally_hub::store::Store {
        tally_hub::store::Store::connect(&self.location).unwrap()
    }
}

fn push(operations: usize) {
    let dir = scratch("push");
    let lines: String = (0..operations)
        .map(|n| {
            format!(
                "{{\"cis\":\"01{GTIN}21S{n:012}\",\"gtin\":\"{GTIN}\",\"status\":\"INTRODUCED\",\
                 \"ownerInn\":\"{OURS}\",\"packageType\":\"UNIT\",\"productGroupId\":2}}\n"
            )
        })
        .collect();
    let (engine, mut store, _db) = hub_with(&dir, lines.as_bytes());
    // Set-up only: the queue rows are written in one transaction here, because
    // `finish_operation` syncs every row to disk (a scan is durable when it returns) and
    // 100,000 of them would measure the disk, not the sync.
    {
        let conn = rusqlite::Connection::open(dir.join("tally.db")).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        let mut insert = conn
            .prepare(
                "INSERT INTO queue (seq, uuid, kind, operator, started_at, finished_at, payload)
                 VALUES (?1, ?2, 'write-off', 'bench', ?3, ?3, ?4)",
            )
            .unwrap();
        let at = now().0;
        for n in 0..operations {
            let payload = format!(
                "{{\"reason\":\"damage_loss\",\"gis_mt_document\":\"LK_RECEIPT\",\
                 \"gis_mt_reason\":\"DAMAGE_LOSS\",\"document_number\":\"A-1\",\
                 \"document_date\":\"2026-11-22\",\"supervisor\":\"P\",\
                 \"codes\":[\"01{GTIN}21S{n:012}\"]}}"
            );
            insert
                .execute(rusqlite::params![
                    n as i64 + 1,
                    uuid::Uuid::new_v4().to_string(),
                    at,
                    payload
                ])
                .unwrap();
        }
        drop(insert);
        conn.execute_batch("COMMIT").unwrap();
    }
    let started = Instant::now();
    let mut pushed_at = None;
    let summary = engine
        .round(&mut store, &now, &mut |progress| {
            if let tally_sync::engine::Progress::Push { sent, total } = progress
                && sent == total
            {
                pushed_at = Some(started.elapsed());
            }
        })
        .expect("the round");
    let round = started.elapsed();
    let elapsed = pushed_at.unwrap();
    assert_eq!(
        summary.accepted, operations as u64,
        "every write-off accepted"
    );
    assert_eq!(summary.queue_depth, 0);
    println!(
        "push {operations} operations in {} batches: {:.2} s, {:.0} operations/s \
         (whole round, with the pull of the changed statuses: {:.2} s)",
        operations.div_ceil(1000),
        elapsed.as_secs_f64(),
        operations as f64 / elapsed.as_secs_f64(),
        round.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn pull(statuses: usize) {
    let dir = scratch("pull");
    let (engine, mut store, db) = hub_with(&dir, StatusExport::new(7, statuses as u64));
    let started = Instant::now();
    let summary = engine
        .round(&mut store, &now, &mut |_| {})
        .expect("the round");
    let elapsed = started.elapsed();
    let pulled = summary.feeds[0].items;
    assert_eq!(pulled, statuses as u64);
    println!(
        "pull {pulled} statuses in {} pages into a new replica: {:.2} s, {:.0} statuses/s",
        summary.feeds[0].pages,
        elapsed.as_secs_f64(),
        pulled as f64 / elapsed.as_secs_f64()
    );
    // The download alone, nothing stored: how much of the pull is the hub and the wire.
    let started = Instant::now();
    let (mut after, mut items) = (0, 0);
    loop {
        let page = engine.client().pull(Feed::Statuses, after, 5000).unwrap();
        items += page.items.len();
        after = page.next_after;
        if !page.more {
            break;
        }
    }
    println!(
        "  download only ({items} statuses, nothing stored): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // The same download with answers not gzipped: what gzip costs on loopback, where the
    // bytes it saves are free.
    let mut config = engine.client().config().clone();
    config.gzip_answers = false;
    let plain = HubClient::new(config).unwrap();
    let started = Instant::now();
    let (mut after, mut items) = (0, 0);
    loop {
        let page = plain.pull(Feed::Statuses, after, 5000).unwrap();
        items += page.items.len();
        after = page.next_after;
        if !page.more {
            break;
        }
    }
    println!(
        "  download only, answers not gzipped ({items} statuses): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // The hub's store alone (its SQL and the decoding of each stored item), no HTTP.
    let hub = db.store();
    let started = Instant::now();
    let (mut after, mut items) = (0, 0);
    loop {
        let (page, more) = hub.pull(Feed::Statuses, "W1", after, 5000).unwrap();
        items += page.len();
        after = page.last().map_or(after, |(seq, _)| *seq);
        if !more {
            break;
        }
    }
    println!(
        "  hub store reads only ({items} statuses, no HTTP): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn main() {
    // `cargo test --benches` and nextest run bench targets as tests: only `cargo bench`
    // (which passes `--bench`) measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    push(size("TALLY_BENCH_PUSH", 100_000));
    pull(size("TALLY_BENCH_PULL", 1_000_000));
}
