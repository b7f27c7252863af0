//! The sync engine against a real hub without faults: enrollment, two terminals in conflict,
//! a refused token, a large (gzipped) push, a large pull answered gzipped, and the worker
//! thread running real rounds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests

mod common;

use std::sync::mpsc;

use common::{Fault, FaultProxy, Terminal, now, serial, start_hub};
use tally_sync::engine::{
    ClientConfig, ClientError, HubClient, Progress, SyncEngine, SyncError, SyncWorker, Trigger,
    WorkerEvent, enroll,
};
use tally_sync::store::Store;
use tally_wire::{Feed, PushResult};

#[test]
fn enrollment_gives_a_token_that_syncs_and_a_code_works_once() {
    let hub = start_hub(3);
    let code = hub.enrollment_code();
    let link = enroll(ClientConfig::new(&hub.base, None), &code, "tsd-1", "0.1.0").unwrap();
    assert_eq!(link.warehouse, "W1");
    assert_eq!(link.url, hub.base);
    let again = enroll(ClientConfig::new(&hub.base, None), &code, "tsd-2", "0.1.0").unwrap_err();
    assert!(
        matches!(&again, ClientError::Refused { status: 403, body } if body.code == "enrollment_code_invalid")
            || again.is_unauthorized(),
        "{again}"
    );
}

#[test]
fn two_terminals_writing_off_one_code_offline_one_wins_and_the_other_sees_why() {
    let hub = start_hub(5);
    let mut first = Terminal::enrolled(&hub, "first");
    let mut second = Terminal::enrolled(&hub, "second");
    // Both offline, both write off the same code.
    first.write_off(&serial(1));
    let lost = second.write_off(&serial(1));

    let summary = first
        .engine(&hub.base, 1, 100)
        .round(&mut first.store, &now, &mut |_| {})
        .unwrap();
    assert_eq!((summary.accepted, summary.rejected), (1, 0), "{summary:?}");
    let summary = second
        .engine(&hub.base, 1, 100)
        .round(&mut second.store, &now, &mut |_| {})
        .unwrap();
    assert_eq!((summary.accepted, summary.rejected), (0, 1), "{summary:?}");
    assert_eq!(summary.operations[0].result, PushResult::Rejected);

    // The refusal is durable and readable on the terminal that lost.
    let rejected = second.store.rejected_operations().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].operation.uuid, lost.uuid);
    let reason = &rejected[0].reasons[0];
    assert!(!reason.code.is_empty() && !reason.en.is_empty() && !reason.ru.is_empty());
    // Kept for the operator, but not sent again: the next round pushes nothing.
    assert_eq!(second.store.queue_depth().unwrap(), 1);
    assert!(second.store.pushable_queue().unwrap().is_empty());
    let again = second
        .engine(&hub.base, 1, 100)
        .round(&mut second.store, &now, &mut |_| {})
        .unwrap();
    assert!(again.operations.is_empty());
    assert_eq!(
        hub.operation_uuids().len(),
        2,
        "the hub keeps both, each once"
    );
}

#[test]
fn a_wrong_token_is_a_clear_error_and_marks_nothing_uploaded() {
    let hub = start_hub(3);
    let mut terminal = Terminal::enrolled(&hub, "auth");
    terminal.write_off(&serial(0));
    let mut config = ClientConfig::new(&hub.base, Some("not-the-token".into()));
    config.attempts = 3;
    let engine = SyncEngine::new(HubClient::new(config).unwrap(), "0.1.0");
    let error = engine
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap_err();
    match &error {
        SyncError::Client(client) => assert!(client.is_unauthorized(), "{client}"),
        other => panic!("{other}"),
    }
    let text = error.to_string();
    assert!(text.contains("refused this terminal"), "{text}");
    assert!(!text.contains("not-the-token"), "{text}");
    assert_eq!(terminal.store.queue_depth().unwrap(), 1);
    assert_eq!(terminal.store.pushable_queue().unwrap().len(), 1);
    assert!(hub.operation_uuids().is_empty());
}

#[test]
fn a_large_queue_goes_in_gzipped_batches_with_progress() {
    const OPERATIONS: usize = 1200;
    let hub = start_hub(OPERATIONS);
    let mut terminal = Terminal::enrolled(&hub, "large");
    for n in 0..OPERATIONS {
        terminal.write_off(&serial(n));
    }
    // Through a proxy that passes everything, to see what goes over the wire.
    let proxy = FaultProxy::always(hub.addr, Fault::Pass);
    let mut engine = terminal.engine(&proxy.base, 1, 5000);
    engine.batch_size = 1000;
    let mut pushes = Vec::new();
    let mut statuses = 0;
    let summary = engine
        .round(&mut terminal.store, &now, &mut |progress| match progress {
            Progress::Push { sent, total } => pushes.push((sent, total)),
            Progress::Pull {
                feed: Feed::Statuses,
                items,
                ..
            } => statuses += items,
            Progress::Pull { .. } => {}
        })
        .unwrap();
    // Two batches (1,000 is the protocol's most), each over the gzip threshold.
    assert_eq!(pushes, [(1000, OPERATIONS), (OPERATIONS, OPERATIONS)]);
    assert_eq!(
        proxy
            .counts
            .gzipped
            .load(std::sync::atomic::Ordering::Relaxed),
        2,
        "both batches went gzipped"
    );
    assert_eq!(summary.accepted, OPERATIONS as u64);
    assert_eq!(summary.queue_depth, 0);
    assert_eq!(statuses, OPERATIONS);
    assert_eq!(hub.operation_uuids().len(), OPERATIONS);
}

#[test]
fn the_worker_thread_runs_real_rounds_on_triggers() {
    let hub = start_hub(10);
    let mut terminal = Terminal::enrolled(&hub, "worker");
    terminal.write_off(&serial(3));
    let engine = terminal.engine(&hub.base, 2, 100);
    // The worker owns its own writer on the replica, as the sync thread will.
    let mut store = Store::open(terminal.store.path()).unwrap();
    let (events_tx, events) = mpsc::channel();
    let worker = SyncWorker::spawn(
        move |progress: &mut dyn FnMut(Progress)| engine.round(&mut store, &now, progress),
        events_tx,
        None,
    );
    worker.trigger(Trigger::Docked);
    let summary = loop {
        match events.recv().unwrap() {
            WorkerEvent::Finished(result) => break result.unwrap(),
            WorkerEvent::Started(trigger) => assert_eq!(trigger, Trigger::Docked),
            WorkerEvent::Progress(_) => {}
        }
    };
    worker.stop();
    assert_eq!(summary.accepted, 1);
    assert_eq!(terminal.store.queue_depth().unwrap(), 0);
    assert!(terminal.store.last_sync().unwrap().is_some());
}

#[test]
fn a_large_pull_comes_gzipped_and_the_terminal_applies_it() {
    const STATUSES: usize = 3000;
    let hub = start_hub(STATUSES);
    // A clean proxy, only to see the answers as they cross the wire.
    let proxy = FaultProxy::always(hub.addr, Fault::Pass);
    let mut terminal = Terminal::enrolled(&hub, "gzip-pull");
    let engine = terminal.engine(&proxy.base, 1, 1000);
    let summary = engine
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap();
    let statuses = summary
        .feeds
        .iter()
        .find(|f| f.feed == Feed::Statuses)
        .unwrap();
    assert_eq!((statuses.pages, statuses.items), (3, STATUSES as u64));
    let gzipped = proxy
        .counts
        .gzipped_answers
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(gzipped >= 3, "every full page came gzipped: {gzipped}");
    let stats = terminal.store.stats(now()).unwrap();
    assert_eq!(stats.status_rows, STATUSES as u64);
    let last = tally_domain::code::Ki::from_cis(&common::cis(&serial(STATUSES - 1))).unwrap();
    assert!(terminal.store.status(&last).unwrap().is_some());

    // A terminal that does not ask for gzip gets plain answers.
    let mut config = engine.client().config().clone();
    config.gzip_answers = false;
    let page = HubClient::new(config)
        .unwrap()
        .pull(Feed::Statuses, 0, 1000)
        .unwrap();
    assert_eq!(page.items.len(), 1000);
    let after = proxy
        .counts
        .gzipped_answers
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(after, gzipped, "no gzipped answer without Accept-Encoding");
}

#[test]
fn operators_reach_the_terminal_as_pin_digests_only() {
    let hub = start_hub(1);
    {
        let store = tally_hub::store::Store::open(&hub.db).unwrap();
        let lines = "{\"id\":\"anna\",\"name\":\"Анна\",\"pin\":\"4711\",\"badge\":\"B-7\"}\n\
                     {\"id\":\"ivan\",\"name\":\"Иван\",\"pin\":\"9999\",\"supervisor\":true}\n\
                     {\"id\":\"bad\",\"name\":\"Bad\",\"pin\":\"12\"}\n\
                     {\"id\":\"none\",\"name\":\"No PIN\"}\n";
        let report = tally_hub::import::import(&store, Feed::Operators, lines.as_bytes()).unwrap();
        assert_eq!(report.rejected.len(), 2, "{report:?}");
    }
    // The hub's file holds no PIN in the clear.
    let raw = std::fs::read(&hub.db).unwrap();
    assert!(!raw.windows(10).any(|w| w == b"\"pin\":\"471"));
    let code = hub.enrollment_code();
    let link = enroll(ClientConfig::new(&hub.base, None), &code, "tsd-1", "0.1.0").unwrap();
    let dir = common::scratch_dir("operators");
    let mut store = Store::open(dir.join("t.db")).unwrap();
    let engine = SyncEngine::new(HubClient::new(link.client_config()).unwrap(), "0.1.0");
    engine.round(&mut store, &now, &mut |_| {}).unwrap();
    let operators = store.operators().unwrap();
    assert_eq!(operators.len(), 2);
    let anna = operators.iter().find(|o| o.id == "anna").unwrap();
    assert!(anna.pin_matches("4711"));
    assert!(!anna.pin_matches("4712"));
    assert_eq!(anna.badge.as_deref(), Some("B-7"));
    assert!(operators.iter().any(|o| o.id == "ivan" && o.supervisor));
    let _ = std::fs::remove_dir_all(dir);
}
