//! Readers, figures and sync bookkeeping.

use rusqlite::StatementStatus;
use tally_domain::status::Timestamp;

use super::{Scratch, ki};
use crate::store::cache::STATUS_SQL;
use crate::store::{NewOperation, Reader};
use crate::synthetic;

#[test]
fn a_reader_sees_each_commit_of_the_writer_while_both_are_open() {
    let scratch = Scratch::new("reader");
    let store = scratch.store();
    let reader = store.reader().unwrap();
    let code = ki("0104600840749372215XyZ1a");
    assert_eq!(reader.status(&code).unwrap(), None);
    store
        .importer()
        .unwrap()
        .import_statuses(
            &br#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED"}"#[..],
            Timestamp(5),
        )
        .unwrap();
    assert!(reader.status(&code).unwrap().is_some());
    // The reader cannot write, even by accident.
    assert!(reader.conn.execute("DELETE FROM statuses", []).is_err());
    assert!(
        Reader::open(scratch.db())
            .unwrap()
            .status(&code)
            .unwrap()
            .is_some()
    );
}

#[test]
fn status_lookups_reuse_their_plan() {
    // SQLite re-plans a cached statement when a rebound parameter might change the plan,
    // unless the planner stability guarantee is on; the status lookup used to pay that on
    // every call.
    let scratch = Scratch::new("plan-reuse");
    let store = scratch.store();
    for index in 0..20 {
        store.status(&synthetic::ki(1, index).unwrap()).unwrap();
    }
    let statement = store.conn.prepare_cached(STATUS_SQL).unwrap();
    assert_eq!(statement.get_status(StatementStatus::RePrepare), 0);
}

#[test]
fn stats_count_rows_bytes_cache_age_sync_and_queue() {
    let scratch = Scratch::new("stats");
    let mut store = scratch.store();
    let empty = store.stats(Timestamp(0)).unwrap();
    assert_eq!(
        (empty.status_rows, empty.bytes_per_code, empty.cache_age_ms),
        (0, None, None)
    );

    store
        .importer()
        .unwrap()
        .import_statuses(synthetic::StatusExport::new(2, 1_000), Timestamp(10_000))
        .unwrap();
    store
        .record_sync(Timestamp(10_500), Some("cursor-9"))
        .unwrap();
    let op = store
        .begin_operation(&NewOperation {
            kind: "write_off",
            operator: "petrov",
            header: "{}",
            started_at: Timestamp(11_000),
        })
        .unwrap();
    store
        .begin_operation(&NewOperation {
            kind: "acceptance",
            operator: "petrov",
            header: "{}",
            started_at: Timestamp(11_000),
        })
        .unwrap();
    store
        .finish_operation(op, Timestamp(12_000), "{}", &Default::default())
        .unwrap();
    assert!(store.checkpoint().unwrap());

    let stats = store.stats(Timestamp(20_000)).unwrap();
    assert_eq!(stats.status_rows, 1_000);
    // The first 1 000 synthetic codes are one production run: one owner.
    assert_eq!(stats.owners, 1);
    assert_eq!(stats.cache_age_ms, Some(10_000));
    assert_eq!(stats.last_sync, Some(Timestamp(10_500)));
    assert_eq!((stats.open_operations, stats.queue_pending), (1, 1));
    assert_eq!(stats.wal_bytes, 0);
    let file = std::fs::metadata(scratch.db()).unwrap().len();
    assert_eq!(stats.file_bytes, file);
    assert_eq!(stats.bytes_per_code, Some(file as f64 / 1_000.0));
    assert_eq!(
        store.cache_watermark().unwrap().as_deref(),
        Some("cursor-9")
    );
    assert_eq!(store.cache_age_ms(Timestamp(15_000)).unwrap(), Some(5_000));
    // A sync without a new cursor keeps the old one.
    store.record_sync(Timestamp(30_000), None).unwrap();
    assert_eq!(
        store.cache_watermark().unwrap().as_deref(),
        Some("cursor-9")
    );
    assert!(store.check_integrity().unwrap().is_empty());
}

#[test]
fn integrity_check_reports_a_damaged_file() {
    let scratch = Scratch::new("damage_loss");
    let store = scratch.store();
    store
        .importer()
        .unwrap()
        .import_statuses(synthetic::StatusExport::new(4, 3_000), Timestamp(0))
        .unwrap();
    assert!(store.check_integrity().unwrap().is_empty());
    // Garbage over a page in the middle of the status table.
    drop(store);
    let mut bytes = std::fs::read(scratch.db()).unwrap();
    let page = 4096 * 10;
    bytes[page..page + 4096].fill(0x5a);
    std::fs::write(scratch.db(), bytes).unwrap();
    let problems = Reader::open(scratch.db())
        .and_then(|reader| reader.check_integrity())
        .map_or(vec!["error".to_owned()], |p| p);
    assert!(!problems.is_empty());
}
