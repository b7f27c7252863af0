//! GIS MT's verdicts and the status list's age through real rounds: a hub of protocol 2 (no
//! `verdicts` feed, a `404`) leaves the round whole, and a hub of protocol 3 brings this
//! terminal's refusals and `statuses_as_of` into the replica. A hub of protocol 3 has no
//! `orders` feed either, and that `404` leaves the round whole the same way.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests

mod common;

use common::{HubFront, Terminal, not_found, now, serial, start_hub};
use serde_json::json;
use tally_sync::engine::{ClientError, SyncError};
use tally_wire::{DocumentState, Feed};

/// The `after` of a pull path (`/v1/pull/verdicts?after=2&limit=100`).
fn after_of(path: &str) -> i64 {
    path.split(['?', '&'])
        .find_map(|p| p.strip_prefix("after="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_hub_without_the_verdicts_feed_is_an_empty_feed_and_the_round_goes_on() {
    let hub = start_hub(3);
    let mut terminal = Terminal::enrolled(&hub, "protocol-2");
    terminal.write_off(&serial(0));
    let older = HubFront::start(
        hub.addr,
        Box::new(|path| {
            path.starts_with("/v1/pull/verdicts")
                .then(|| not_found(path))
        }),
    );
    let summary = terminal
        .engine(&older.base, 1, 100)
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap();
    assert_eq!(summary.accepted, 1, "{summary:?}");
    let verdicts = summary
        .feeds
        .iter()
        .find(|f| f.feed == Feed::Verdicts)
        .unwrap();
    assert_eq!((verdicts.pages, verdicts.items), (0, 0), "{verdicts:?}");
    assert_eq!(terminal.store.feed_cursor(Feed::Verdicts).unwrap(), None);
    assert!(!terminal.store.feed_in_snapshot(Feed::Verdicts).unwrap());
    assert!(
        terminal
            .store
            .feed_cursor(Feed::Statuses)
            .unwrap()
            .is_some(),
        "the other feeds were pulled"
    );
    assert!(
        terminal.store.last_sync().unwrap().is_some(),
        "a whole round"
    );
    assert!(terminal.store.refused_verdicts().unwrap().is_empty());
    assert_eq!(terminal.store.statuses_as_of().unwrap(), None);

    // Only that answer of that feed: a feed every hub has answered 404 is a wrong address.
    let wrong = HubFront::start(
        hub.addr,
        Box::new(|path| path.starts_with("/v1/pull/tasks").then(|| not_found(path))),
    );
    let error = terminal
        .engine(&wrong.base, 1, 100)
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(
            error,
            SyncError::Client(ClientError::Refused { status: 404, .. })
        ),
        "{error}"
    );
}

#[test]
fn a_hub_without_the_orders_feed_is_an_empty_feed_and_the_round_goes_on() {
    let hub = start_hub(3);
    let mut terminal = Terminal::enrolled(&hub, "protocol-3-orders");
    terminal.write_off(&serial(0));
    let older = HubFront::start(
        hub.addr,
        Box::new(|path| path.starts_with("/v1/pull/orders").then(|| not_found(path))),
    );
    let summary = terminal
        .engine(&older.base, 1, 100)
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap();
    assert_eq!(summary.accepted, 1, "{summary:?}");
    let orders = summary
        .feeds
        .iter()
        .find(|f| f.feed == Feed::Orders)
        .unwrap();
    assert_eq!((orders.pages, orders.items), (0, 0), "{orders:?}");
    assert_eq!(terminal.store.feed_cursor(Feed::Orders).unwrap(), None);
    assert!(terminal.store.orders().unwrap().is_empty());
    assert!(
        terminal
            .store
            .feed_cursor(Feed::Verdicts)
            .unwrap()
            .is_some(),
        "the feeds after it were pulled"
    );
    assert!(
        terminal.store.last_sync().unwrap().is_some(),
        "a whole round"
    );
}

#[test]
fn a_round_brings_this_terminals_refusals_and_the_list_age() {
    let hub = start_hub(3);
    let mut terminal = Terminal::enrolled(&hub, "protocol-3");
    let operation = terminal.write_off(&serial(0));
    let as_of = now().0 - 3 * 3_600_000;
    let uuid = operation.uuid.clone();
    let newer = HubFront::start(
        hub.addr,
        Box::new(move |path| {
            if !path.starts_with("/v1/pull/verdicts") {
                return None;
            }
            let refused = json!({"operation": uuid, "type": "LK_RECEIPT", "pg": "milk",
                "gis_id": "b1a2c3d4-0000-4000-8000-000000000001", "state": "checked_not_ok",
                "reasons": [{"code": "gis_mt_refused", "en": "Code not owned",
                             "ru": "Код не принадлежит участнику"}], "at": as_of + 1});
            let foreign = json!({"operation": "9a1b2c3d-0000-4000-8000-00000000f0f0",
                "type": "LK_RECEIPT", "pg": "milk", "state": "processing_error",
                "reasons": [{"code": "x", "en": "other", "ru": "другое"}], "at": as_of + 2});
            // The first round gets both; a later one nothing new, from a read said to be
            // older (a hub restored from a backup): the age must not go back.
            let page = match after_of(path) {
                0 => json!({"feed": "verdicts", "items": [{"seq": 1, "item": refused},
                            {"seq": 2, "item": foreign}], "next_after": 2, "more": false,
                            "statuses_as_of": as_of}),
                after => json!({"feed": "verdicts", "items": [], "next_after": after,
                                "more": false, "statuses_as_of": as_of - 60_000}),
            };
            Some((200, page.to_string()))
        }),
    );
    let summary = terminal
        .engine(&newer.base, 1, 100)
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap();
    assert_eq!(summary.accepted, 1, "{summary:?}");
    let refused = terminal.store.refused_verdicts().unwrap();
    assert_eq!(
        refused.len(),
        1,
        "the foreign verdict is skipped: {refused:?}"
    );
    assert_eq!(refused[0].operation.uuid, operation.uuid);
    assert_eq!(refused[0].operation.kind, "write-off");
    assert_eq!(refused[0].verdict.state, DocumentState::CheckedNotOk);
    assert_eq!(
        refused[0].verdict.reasons[0].ru,
        "Код не принадлежит участнику"
    );
    assert_eq!(terminal.store.verdict_counts().unwrap().refused, 1);
    assert_eq!(
        terminal.store.statuses_as_of().unwrap().map(|t| t.0),
        Some(as_of)
    );
    assert_eq!(terminal.store.feed_cursor(Feed::Verdicts).unwrap(), Some(2));

    terminal
        .engine(&newer.base, 1, 100)
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap();
    assert_eq!(
        terminal.store.statuses_as_of().unwrap().map(|t| t.0),
        Some(as_of),
        "an older read does not make the list look older than what is stored"
    );
    assert_eq!(terminal.store.refused_verdicts().unwrap().len(), 1);
}
