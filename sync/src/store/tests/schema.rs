//! Schema versions: a new file, the frozen v1 fixture upgraded with every row kept, and files
//! this build must not touch.

use rusqlite::{Connection, TransactionBehavior};
use tally_domain::gs1::Sscc;
use tally_domain::product_group::ProductGroup;
use tally_domain::status::{CisStatus, Parent, StatusEx, Timestamp};

use super::{Scratch, ki, row_counts};
use crate::store::{
    AggregateItem, CURRENT_VERSION, DeviceSeq, OperationId, Reader, Store, StoreError, schema,
};

const FROZEN_V1: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/v1.sql"
));

const FROZEN_V2: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/v2.sql"
));

/// Every schema object as `(type, name, sql)`, in a stable order.
fn schema_of(conn: &Connection) -> Vec<(String, String, Option<String>)> {
    conn.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn frozen_v1(scratch: &Scratch) -> std::path::PathBuf {
    let path = scratch.path("v1.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(FROZEN_V1)
        .unwrap();
    path
}

fn sscc(digits: &str) -> Sscc {
    Sscc::from_digits(digits.as_bytes()).unwrap()
}

#[test]
fn a_new_replica_is_at_the_current_version_with_its_counters_and_device_id() {
    let scratch = Scratch::new("new");
    let store = scratch.store();
    assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
    let device = store.device_id().unwrap();
    assert_eq!(device.len(), 36, "{device}");
    drop(store);
    // Reopening keeps the identity: it is made once.
    assert_eq!(scratch.store().device_id().unwrap(), device);
}

#[test]
fn migration_1_is_still_exactly_the_released_schema() {
    let scratch = Scratch::new("frozen");
    let fixture = Connection::open(frozen_v1(&scratch)).unwrap();
    let mut fresh = Connection::open(scratch.path("migration1.db")).unwrap();
    let tx = fresh
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    schema::upgrade(&tx, 0, 1).unwrap();
    tx.commit().unwrap();
    assert_eq!(schema_of(&fresh), schema_of(&fixture));
}

#[test]
fn the_frozen_v1_replica_upgrades_without_losing_a_row() {
    let scratch = Scratch::new("upgrade");
    let path = frozen_v1(&scratch);
    let before = row_counts(&path);
    assert!(before.iter().all(|(_, n)| *n > 0), "{before:?}");

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
    // Later versions add tables (empty); every table v1 had keeps its rows.
    let after: Vec<_> = row_counts(&path)
        .into_iter()
        .filter(|(table, _)| before.iter().any(|(old, _)| old == table))
        .collect();
    assert_eq!(after, before);

    // The rows still mean what they meant.
    let milk = store
        .status(&ki("0104600840749372215XyZ1a"))
        .unwrap()
        .unwrap();
    assert_eq!(milk.status, CisStatus::Introduced);
    assert_eq!(milk.expiry.unwrap().to_string(), "2027-03-02");
    assert_eq!(milk.owner.unwrap().as_str(), "7707083893");
    let boxed = store
        .status(&ki("0104690257528523215ABCDEFGHIJKL"))
        .unwrap()
        .unwrap();
    assert_eq!(boxed.status_ex, StatusEx::WaitShipment);
    assert_eq!(boxed.parent, Some(Parent::Sscc(sscc("146000000000000012"))));
    let in_block = store
        .status(&ki("0109506000134352215MNOPQRSTUVWX"))
        .unwrap()
        .unwrap();
    assert!(in_block.blocked);
    assert_eq!(
        in_block.parent,
        Some(Parent::Code(ki("04606203086627-CtOkRA")))
    );
    assert_eq!(
        store.device_id().unwrap(),
        "0b9f5c52-6b0e-4d8e-9a51-3f1d2c7e8a10"
    );
    assert_eq!(
        store.cache_watermark().unwrap().as_deref(),
        Some("hub-cursor-17")
    );

    let open = store.open_operations().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, OperationId(5));
    assert_eq!(open[0].entries.len(), 2);
    assert!(open[0].entries[0].code.contains('\u{1d}'));
    let task = store.task("T-1").unwrap().unwrap();
    assert_eq!(task.product_group, Some(ProductGroup::LightIndustry));
    assert_eq!(task.loose_units.len(), 1);
    assert_eq!(task.boxes[0].units.len(), 1);
    assert_eq!(
        store
            .aggregate_of(&AggregateItem::Box(sscc("146000000000000029")))
            .unwrap(),
        Some(sscc("146000000000000036"))
    );
    let pending = store.pending_queue().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].seq, DeviceSeq(2));

    // The counters go on from where v1 left them.
    let queued = store
        .finish_operation(
            OperationId(5),
            Timestamp(1_795_306_000_000),
            "{}",
            &Default::default(),
        )
        .unwrap();
    assert_eq!(queued.seq, DeviceSeq(3));
    assert_eq!(store.next_sscc_serial().unwrap(), 42);
}

#[test]
fn an_upgraded_replica_has_the_schema_of_a_new_one() {
    let scratch = Scratch::new("same");
    let upgraded = frozen_v1(&scratch);
    drop(Store::open(&upgraded).unwrap());
    drop(scratch.store());
    assert_eq!(
        schema_of(&Connection::open(upgraded).unwrap()),
        schema_of(&Connection::open(scratch.db()).unwrap())
    );
}

#[test]
fn version_2_reads_pending_queue_rows_through_its_partial_index() {
    let scratch = Scratch::new("plan");
    let store = scratch.store();
    let plan: Vec<String> = store
        .conn
        .prepare("EXPLAIN QUERY PLAN SELECT seq FROM queue WHERE uploaded_at IS NULL ORDER BY seq")
        .unwrap()
        .query_map([], |row| row.get(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        plan.iter().any(|step| step.contains("queue_pending")),
        "{plan:?}"
    );
}

#[test]
fn a_failed_upgrade_leaves_the_old_version_whole() {
    let scratch = Scratch::new("failed");
    let path = frozen_v1(&scratch);
    // Something in the way of version 2's index makes its upgrade fail halfway.
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE queue_pending (x);")
        .unwrap();
    let before = row_counts(&path);
    assert!(matches!(Store::open(&path), Err(StoreError::Sqlite(_))));
    assert_eq!(row_counts(&path), before);
    let conn = Connection::open(&path).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), 1);
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let scratch = Scratch::new("newer");
    drop(scratch.store());
    Connection::open(scratch.db())
        .unwrap()
        .execute(
            "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
            [CURRENT_VERSION + 1],
        )
        .unwrap();
    let before = row_counts(&scratch.db());
    let error = Store::open(scratch.db()).unwrap_err();
    assert!(
        matches!(error, StoreError::NewerSchema { found, .. } if found == CURRENT_VERSION + 1),
        "{error}"
    );
    assert!(Reader::open(scratch.db()).is_err());
    assert_eq!(row_counts(&scratch.db()), before);
}

#[test]
fn a_reader_waits_for_the_writer_to_upgrade() {
    let scratch = Scratch::new("reader-old");
    let path = frozen_v1(&scratch);
    assert!(matches!(
        Reader::open(&path),
        Err(StoreError::NotUpgraded { found: 1, .. })
    ));
    assert!(matches!(
        Reader::open(scratch.path("absent.db")),
        Err(StoreError::Sqlite(_))
    ));
    assert!(!scratch.path("absent.db").exists());
}

#[test]
fn migrations_1_and_2_are_still_exactly_the_released_v2_schema() {
    let scratch = Scratch::new("frozen2");
    let path = scratch.path("v2.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(FROZEN_V2)
        .unwrap();
    let fixture = Connection::open(&path).unwrap();
    let mut fresh = Connection::open(scratch.path("migration2.db")).unwrap();
    let tx = fresh
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    schema::upgrade(&tx, 0, 2).unwrap();
    tx.commit().unwrap();
    assert_eq!(schema_of(&fresh), schema_of(&fixture));
}

#[test]
fn the_frozen_v2_replica_upgrades_to_v3_without_losing_a_row() {
    let scratch = Scratch::new("upgrade2");
    let path = scratch.path("v2.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(FROZEN_V2)
        .unwrap();
    let before = row_counts(&path);
    assert!(before.iter().all(|(_, n)| *n > 0), "{before:?}");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
    let after: Vec<_> = row_counts(&path)
        .into_iter()
        .filter(|(table, _)| before.iter().any(|(old, _)| old == table))
        .collect();
    assert_eq!(after, before);
    assert!(
        row_counts(&path).contains(&("push_answers".to_owned(), 0)),
        "version 3 adds the hub's answers, empty"
    );
    // The pending row of v2 is still pending and has no answer yet.
    assert_eq!(store.pending_queue().unwrap().len(), 1);
    assert_eq!(store.pushable_queue().unwrap().len(), 1);
    assert!(store.rejected_operations().unwrap().is_empty());
    drop(store);
    drop(scratch.store());
    assert_eq!(
        schema_of(&Connection::open(&path).unwrap()),
        schema_of(&Connection::open(scratch.db()).unwrap())
    );
}
