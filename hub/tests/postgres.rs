//! What only the PostgreSQL backend has: its migrations upgrade a hub made by an older release,
//! and `tally-hub migrate` moves a SQLite hub into it whole, cursors and all. Compiled when
//! `TALLY_TEST_PG` names a server (see `hub/build.rs`).

#![cfg(tally_test_pg)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

mod common;

use std::process::Command;

use common::{Backend, Database};
use serde_json::{Value, json};
use tally_domain::status::{CisStatus, Inn, Timestamp};
use tally_hub::documents::{self, Selection};
use tally_hub::import::import;
use tally_hub::push::hub_policy;
use tally_hub::store::{ScratchDatabase, Store};
use tally_wire::{Feed, PushRequest, PushResult};

const OURS: &str = "7707083893";
const GTIN: &str = "04600840749372";

fn cis(n: usize) -> String {
    format!("01{GTIN}21S{n:012}")
}

fn statuses(range: std::ops::Range<usize>) -> String {
    range
        .map(|n| {
            format!(
                "{}\n",
                json!({"cis": cis(n), "gtin": GTIN, "status": "INTRODUCED", "ownerInn": OURS,
                       "productGroupId": 2, "packageType": "UNIT"})
            )
        })
        .collect()
}

fn write_offs(first_seq: i64, codes: &[usize]) -> PushRequest {
    let operations: Vec<Value> = codes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({
                "uuid": uuid::Uuid::new_v4().to_string(), "seq": first_seq + i as i64,
                "kind": "write-off", "operator": "Иванова",
                "started_at": 1_700_000_000_000i64, "finished_at": 1_700_000_060_000i64,
                "payload": {"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
                            "gis_mt_reason": "DAMAGE_LOSS", "document_number": "A-1",
                            "document_date": "2026-11-22", "codes": [cis(*n)]},
            })
        })
        .collect();
    serde_json::from_value(json!({
        "device": {"app_version": "0.1.0", "queue_depth": 0, "cache_synced_at": null},
        "operations": operations,
    }))
    .unwrap()
}

fn server() -> String {
    std::env::var("TALLY_TEST_PG").unwrap()
}

#[test]
fn a_hub_made_by_the_first_postgres_release_upgrades_with_its_data_intact() {
    let scratch = ScratchDatabase::create(&server()).unwrap();
    {
        // The schema as the first release left it, frozen here: its migration file and the
        // record that it ran.
        let mut client = postgres::Client::connect(&scratch.url, postgres::NoTls).unwrap();
        client
            .batch_execute(include_str!("../migrations/postgres/0001_initial.sql"))
            .unwrap();
        client
            .batch_execute(
                "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
                 INSERT INTO schema_migrations (version) VALUES (1);",
            )
            .unwrap();
        let token_hash = sha2_of("old-token");
        client
            .execute(
                "INSERT INTO devices (name, token_hash, warehouse, participant_inn, enrolled_at)
                 VALUES ('tsd', $1, 'W1', $2, 0)",
                &[&token_hash, &OURS],
            )
            .unwrap();
        let line = statuses(7..8);
        client
            .execute(
                "INSERT INTO statuses (ki_key, status, status_ex, owner_inn, parent, blocked, info)
                 VALUES ($1, 'INTRODUCED', 'EMPTY', $2, '004600840000000017', false, $3)",
                &[
                    &tally_domain::code::Ki::from_cis(&cis(7))
                        .unwrap()
                        .key()
                        .as_bytes(),
                    &OURS,
                    &line.trim(),
                ],
            )
            .unwrap();
        client
            .execute(
                "INSERT INTO changes (feed, key, seq, item) VALUES ('statuses', $1, 1, $2)",
                &[&cis(7), &line.trim()],
            )
            .unwrap();
    }
    let store = Store::connect(&scratch.url).unwrap();
    let device = store.authenticate("old-token").unwrap().unwrap();
    assert_eq!(device.warehouse, "W1");
    let ki = tally_domain::code::Ki::from_cis(&cis(7)).unwrap();
    assert_eq!(
        store.status(&ki).unwrap().unwrap().status,
        CisStatus::Introduced
    );
    let (items, more) = store.pull(Feed::Statuses, "W1", 0, 10).unwrap();
    assert_eq!((items.len(), items[0].0, more), (1, 1, false));
    let mut client = postgres::Client::connect(&scratch.url, postgres::NoTls).unwrap();
    let versions: Vec<i64> = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7]);
    let index: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'statuses_parent'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(index, 1, "the second migration ran");
    drop(store);
    assert!(
        Store::connect(&scratch.url).is_ok(),
        "connecting again changes nothing"
    );
}

fn sha2_of(text: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).to_vec()
}

#[test]
fn migrate_moves_a_sqlite_hub_whole_and_terminals_keep_their_cursors() {
    let sqlite = Database::new(Backend::Sqlite);
    let inn = Inn::parse(OURS).unwrap();
    let (token, spare_code, cursor, exported) = {
        let store = sqlite.store();
        assert!(
            import(&store, Feed::Statuses, statuses(0..50).as_bytes())
                .unwrap()
                .rejected
                .is_empty()
        );
        let code = store
            .create_enrollment_code("W1", &inn, Timestamp(0))
            .unwrap();
        let enrolled = store
            .enroll(&code, "tsd", "0.1.0", Timestamp(1))
            .unwrap()
            .unwrap();
        let spare = store
            .create_enrollment_code("W2", &inn, Timestamp(2))
            .unwrap();
        store.create_admin_token("ops", Timestamp(3)).unwrap();
        let answers = store
            .push(
                &enrolled.device,
                &write_offs(1, &[1, 2, 3]),
                &hub_policy(),
                Timestamp(4),
            )
            .unwrap();
        assert!(answers.iter().all(|a| a.result == PushResult::Accepted));
        import(
            &store,
            Feed::Statuses,
            json!({"cis": cis(9), "remove": true})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        store.prune(0).unwrap();
        // A terminal pulled everything so far.
        let (items, _) = store.pull(Feed::Statuses, "W1", 0, 1000).unwrap();
        let page = documents::page(&store, Selection::default(), 100).unwrap();
        (
            enrolled.token,
            spare,
            items.last().unwrap().0,
            page.documents.len(),
        )
    };

    let target = ScratchDatabase::create(&server()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tally-hub"))
        .args(["migrate", "--from", &sqlite.location, "--to", &target.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        tally_hub::store::TABLES.len(),
        "one line per table"
    );
    for line in &lines {
        assert_eq!(line["same"], true, "{line}");
        assert_eq!(line["rows"], line["copied_rows"]);
    }
    let rows = |table: &str| {
        lines.iter().find(|l| l["table"] == table).unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(rows("statuses"), 49, "the removed code is gone");
    assert_eq!(rows("operations"), 3);
    assert_eq!(rows("gis_documents") as usize, exported);

    let store = Store::connect(&target.url).unwrap();
    // The terminal's token works and its cursor is where it was: nothing new to pull.
    let device = store.authenticate(&token).unwrap().unwrap();
    let (items, more) = store.pull(Feed::Statuses, "W1", cursor, 1000).unwrap();
    assert_eq!((items.len(), more), (0, false));
    // The pruned horizon came along: a cursor behind it still gets a snapshot.
    assert!(store.horizon(Feed::Statuses).unwrap() > 0);
    // The written-off codes stayed written off, and a second write-off is refused.
    let again = store
        .push(&device, &write_offs(4, &[1]), &hub_policy(), Timestamp(6))
        .unwrap();
    assert_eq!(again[0].result, PushResult::Rejected);
    // New work continues past the copied numbers.
    let fresh = store
        .push(&device, &write_offs(5, &[4]), &hub_policy(), Timestamp(7))
        .unwrap();
    assert_eq!(fresh[0].result, PushResult::Accepted);
    let (items, _) = store.pull(Feed::Statuses, "W1", cursor, 1000).unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0].0 > cursor);
    let page = documents::page(&store, Selection::default(), 100).unwrap();
    assert_eq!(page.documents.len(), exported + 1);
    assert!(page.documents.last().unwrap().seq > page.documents[0].seq);
    // The unspent code still enrolls, with a new device id.
    let second = store
        .enroll(&spare_code, "tsd-2", "0.1.0", Timestamp(8))
        .unwrap()
        .unwrap();
    assert!(second.device.id > device.id);

    // A second migration into a hub that already holds data is refused, and changes nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_tally-hub"))
        .args(["migrate", "--from", &sqlite.location, "--to", &target.url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
    assert_eq!(store.operation_count().unwrap(), 5);
}
