//! The hub's write path: a full push batch judged and applied, its replay, and a status import.

#![allow(clippy::unwrap_used)] // bench set-up: a failed set-up is a broken bench

use std::path::PathBuf;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::json;
use tally_domain::status::{Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::push;
use tally_hub::store::{Device, Store};
use tally_wire::{
    DeviceReport, Feed, MAX_PUSH_OPERATIONS, OperationDocument, PushRequest, PushResult,
    PushedOperation,
};

const OURS: &str = "7707083893";
const CODES: usize = 10_000;

fn cis(n: usize) -> String {
    format!("0104600840749372210000{n:09}")
}

fn statuses() -> String {
    (0..CODES)
        .map(|n| {
            format!(
                "{}\n",
                json!({"cis": cis(n), "status": "INTRODUCED", "ownerInn": OURS, "productGroupId": 8})
            )
        })
        .collect()
}

/// A database file in a directory of its own, removed on drop (outside the timed routine:
/// criterion drops what the routine returns after measuring).
struct TempDb(PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn fresh_db() -> TempDb {
    let dir = std::env::temp_dir().join(format!("tally-hub-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDb(dir.join("hub.db"))
}

/// A hub holding [`CODES`] statuses and one enrolled device.
fn hub(lines: &str) -> (Store, Device, TempDb) {
    let db = fresh_db();
    let store = Store::open(&db.0).unwrap();
    import(&store, Feed::Statuses, lines.as_bytes()).unwrap();
    let inn = Inn::parse(OURS).unwrap();
    let code = store
        .create_enrollment_code("W1", &inn, Timestamp(0))
        .unwrap();
    let device = store
        .enroll(&code, "bench", "0", Timestamp(0))
        .unwrap()
        .unwrap()
        .device;
    (store, device, db)
}

/// A full batch: one write-off of one code per operation.
fn batch() -> PushRequest {
    PushRequest {
        device: DeviceReport::default(),
        operations: (0..MAX_PUSH_OPERATIONS)
            .map(|n| PushedOperation {
                uuid: uuid::Uuid::new_v4().to_string(),
                seq: n as i64,
                operator: "bench".into(),
                started_at: 0,
                finished_at: 0,
                document: OperationDocument::from_parts(
                    "write-off",
                    json!({"reason": "damage_loss", "document_number": "B-1",
                           "document_date": "2026-11-22", "codes": [cis(n)]}),
                ),
            })
            .collect(),
    }
}

fn bench(c: &mut Criterion) {
    let lines = statuses();
    let policy = push::hub_policy();
    let now = Timestamp(1_700_000_000_000);
    let mut group = c.benchmark_group("hub");
    group.sample_size(10);
    group.bench_function("push 1000 write-offs", |b| {
        b.iter_batched(
            || (hub(&lines), batch()),
            |((store, device, db), request)| {
                let answers = push::apply(&store, &device, &request, &policy, now).unwrap();
                assert!(answers.iter().all(|a| a.result == PushResult::Accepted));
                (store, db)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("replay 1000 write-offs", |b| {
        b.iter_batched(
            || {
                let (store, device, db) = hub(&lines);
                let request = batch();
                push::apply(&store, &device, &request, &policy, now).unwrap();
                (store, device, db, request)
            },
            |(store, device, db, request)| {
                push::apply(&store, &device, &request, &policy, now).unwrap();
                (store, db)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("import 10000 statuses", |b| {
        b.iter_batched(
            || {
                let db = fresh_db();
                (Store::open(&db.0).unwrap(), db)
            },
            |(store, db)| {
                import(&store, Feed::Statuses, lines.as_bytes()).unwrap();
                (store, db)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
