//! Criterion benchmarks of the replica at a size that runs in a minute: bulk import rate, the
//! point lookup the validator makes per scan, and the durable scan commit. The 10-million-code
//! figures of record come from `tally db bench` (see BENCHMARKS.md).

// Benchmarks are test code: a failed setup should stop them loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tally_domain::status::Timestamp;
use tally_sync::store::{NewOperation, NewScan, Store};
use tally_sync::synthetic;

const SEED: u64 = 1;
const CODES: u64 = 200_000;
const IMPORT_CODES: u64 = 50_000;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tally-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn import(c: &mut Criterion) {
    let dir = scratch("import");
    let mut group = c.benchmark_group("import_statuses");
    group.sample_size(10);
    group.throughput(Throughput::Elements(IMPORT_CODES));
    let mut round = 0;
    group.bench_function("50k_codes_new_file", |b| {
        b.iter_batched(
            || {
                round += 1;
                Store::open(dir.join(format!("import-{round}.db"))).unwrap()
            },
            |store| {
                let export = synthetic::StatusExport::new(SEED, IMPORT_CODES);
                let mut importer = store.importer().unwrap();
                black_box(importer.import_statuses(export, Timestamp(0)).unwrap());
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

fn lookup_and_commit(c: &mut Criterion) {
    let dir = scratch("lookup");
    let mut store = Store::open(dir.join("replica.db")).unwrap();
    store
        .importer()
        .unwrap()
        .import_statuses(synthetic::StatusExport::new(SEED, CODES), Timestamp(0))
        .unwrap();
    let keys: Vec<_> = (0..4096u64)
        .map(|i| synthetic::ki(SEED, i.wrapping_mul(2_654_435_761) % CODES).unwrap())
        .collect();

    let mut next = 0;
    c.bench_function("status_lookup_200k_codes", |b| {
        b.iter(|| {
            next = (next + 1) % keys.len();
            black_box(store.status(&keys[next]).unwrap())
        });
    });

    let operation = store
        .begin_operation(&NewOperation {
            kind: "bench",
            operator: "bench",
            header: "{}",
            started_at: Timestamp(0),
        })
        .unwrap();
    let code = keys[0].to_string();
    let mut seq = 0u32;
    let mut group = c.benchmark_group("record_scan");
    group.sample_size(20);
    group.bench_function("durable_synchronous_full", |b| {
        b.iter(|| {
            seq += 1;
            let scan = NewScan {
                seq,
                at: Timestamp(1),
                action: "scan",
                code: &code,
                ki: Some(keys[0]),
                verdict: "accepted",
                detail: "{}",
            };
            black_box(store.record_scan(operation, &scan).unwrap())
        });
    });
    group.finish();
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, import, lookup_and_commit);
criterion_main!(benches);
