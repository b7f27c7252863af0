//! The sync engine against a real hub behind a fault-injecting proxy: hundreds of rounds with
//! dropped, cut and refused connections lose no operation, apply none twice, and an
//! interrupted download resumes from its cursor.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests

mod common;

use std::sync::atomic::Ordering;

use common::{Fault, FaultProxy, Terminal, cis, now, serial, start_hub};
use tally_domain::code::Ki;
use tally_domain::status::CisStatus;
use tally_sync::engine::{ClientConfig, HubClient, Progress, SyncEngine};
use tally_wire::Feed;

#[test]
fn every_operation_reaches_the_hub_exactly_once_through_faults() {
    const STATUSES: usize = 300;
    const ROUNDS: usize = 200;
    let hub = start_hub(STATUSES);
    let proxy = FaultProxy::start(hub.addr, 0x7A11_5EED);
    let mut terminal = Terminal::enrolled(&hub, "faults");
    let engine = terminal.engine(&proxy.base, 3, 40);

    let mut written_off = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for round in 0..ROUNDS {
        // The operator keeps working between syncs: 0, 1 or 2 write-offs per round.
        for _ in 0..(round % 3) {
            let n = written_off.len();
            if n < STATUSES {
                terminal.write_off(&serial(n));
                written_off.push(serial(n));
            }
        }
        match engine.round(&mut terminal.store, &now, &mut |_| {}) {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
    }
    assert!(
        ok > 0 && failed > 0,
        "faults both hit and missed: {ok} ok, {failed} failed"
    );
    for fault in [
        Fault::DropBeforeForward,
        Fault::DropMidRequest,
        Fault::DropAfterRequest,
        Fault::Truncate,
        Fault::Delay,
        Fault::Answer500,
        Fault::Answer503,
    ] {
        assert!(proxy.count(fault) > 0, "{fault:?} never happened");
    }

    // The network heals: one clean round empties the queue.
    proxy.clean.store(true, Ordering::SeqCst);
    let summary = engine
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap();
    assert_eq!(summary.queue_depth, 0, "{summary:?}");
    assert!(terminal.store.pending_queue().unwrap().is_empty());
    assert!(terminal.store.rejected_operations().unwrap().is_empty());

    // Exactly once: the hub holds every operation the terminal queued, each once (its
    // primary key is the UUID, so a second copy could not hide), and nothing else.
    let stats = terminal.store.stats(now()).unwrap();
    assert_eq!(stats.queue_total, written_off.len() as u64);
    let hub_uuids = hub.operation_uuids();
    assert_eq!(hub_uuids.len(), written_off.len());
    let mut terminal_uuids = terminal_uuids(&terminal);
    terminal_uuids.sort();
    assert_eq!(hub_uuids, terminal_uuids);

    // The replica has every status, and the hub's write-offs came back through the feed.
    assert_eq!(stats.status_rows, STATUSES as u64);
    for serial in &written_off {
        let status = terminal
            .store
            .status(&Ki::from_cis(&cis(serial)).unwrap())
            .unwrap()
            .unwrap();
        assert_ne!(status.status, CisStatus::Introduced, "{serial}");
    }
}

fn terminal_uuids(terminal: &Terminal) -> Vec<String> {
    // Every queue row, uploaded or not, through the reader the support tools use.
    let conn = rusqlite::Connection::open(terminal.store.path()).unwrap();
    conn.prepare("SELECT uuid FROM queue")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn an_interrupted_download_resumes_from_its_cursor() {
    const STATUSES: usize = 1500;
    const PAGE: u32 = 50;
    let hub = start_hub(STATUSES);
    let proxy = FaultProxy::start(hub.addr, 0xC0FF_EE00);
    let mut terminal = Terminal::enrolled(&hub, "resume");
    // One attempt per request: every fault ends the round, so the download is cut often.
    let engine = terminal.engine(&proxy.base, 1, PAGE);

    let mut pulled = 0u64;
    let mut resumed_mid_feed = 0;
    let mut finished = false;
    for _ in 0..500 {
        let before = terminal.store.feed_cursor(Feed::Statuses).unwrap();
        let mut first_after = None;
        let result = engine.round(&mut terminal.store, &now, &mut |progress| {
            if let Progress::Pull {
                feed: Feed::Statuses,
                after,
                items,
                ..
            } = progress
            {
                first_after.get_or_insert(after);
                pulled += items as u64;
            }
        });
        if let (Some(before), Some(first)) = (before, first_after) {
            // The round asked for the page right after the last one stored, never earlier.
            assert_eq!(first, before);
            if before > 0 && first_after.is_some() {
                resumed_mid_feed += 1;
            }
        }
        if result.is_ok() {
            finished = true;
            break;
        }
    }
    assert!(finished, "a round got through within 500 tries");
    assert!(resumed_mid_feed > 0, "some round resumed a cut download");
    // Each stored page was downloaded once: no item twice, none missing.
    assert_eq!(pulled, STATUSES as u64);
    assert_eq!(
        terminal.store.stats(now()).unwrap().status_rows,
        STATUSES as u64
    );
}

#[test]
fn a_refusal_is_not_retried_and_a_server_error_is_retried_up_to_the_limit() {
    let hub = start_hub(3);
    let mut terminal = Terminal::enrolled(&hub, "retries");
    terminal.write_off(&serial(0));

    // 401 through a clean proxy: one connection, however many attempts are allowed.
    let clean = FaultProxy::always(hub.addr, Fault::Pass);
    let mut config = ClientConfig::new(&clean.base, Some("wrong".into()));
    config.attempts = 5;
    let wrong = SyncEngine::new(HubClient::new(config).unwrap(), "0.1.0");
    let error = wrong
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap_err();
    assert!(
        error.to_string().contains("refused this terminal"),
        "{error}"
    );
    assert_eq!(clean.connections(), 1, "a 4xx is final");

    // 503 every time: exactly `attempts` tries, then a clear error, nothing marked uploaded.
    let down = FaultProxy::always(hub.addr, Fault::Answer503);
    let engine = terminal.engine(&down.base, 4, 100);
    let error = engine
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap_err();
    assert!(error.to_string().contains("after 4 attempts"), "{error}");
    assert_eq!(down.connections(), 4);
    assert_eq!(terminal.store.pushable_queue().unwrap().len(), 1);
    assert!(hub.operation_uuids().is_empty());
}
