//! A terminal far behind a hub that pruned its feeds gets a snapshot: it ends with exactly the
//! hub's statuses and blocks, removals it never saw included, even when the snapshot's
//! download is cut and resumed over several rounds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests

mod common;

use common::{FaultProxy, GTIN, Terminal, TestHub, cis, now, serial, start_hub, status_line};
use serde_json::{Value, json};
use tally_domain::code::Ki;
use tally_domain::gs1::Gtin;
use tally_hub::import::import;
use tally_wire::Feed;

fn hub_import(hub: &TestHub, feed: Feed, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let store = tally_hub::store::Store::open(&hub.db).unwrap();
    let report = import(&store, feed, text.as_bytes()).unwrap();
    assert!(report.rejected.is_empty(), "{report:?}");
}

fn ki(n: usize) -> Ki {
    Ki::from_cis(&cis(&serial(n))).unwrap()
}

/// The terminal's cached status of every code the test ever used equals the hub's: the same
/// status, or absent on both.
fn assert_same_statuses(hub: &TestHub, terminal: &Terminal, codes: usize) {
    let hub_store = tally_hub::store::Store::open(&hub.db).unwrap();
    let mut present = 0;
    for n in 0..codes {
        let on_hub = hub_store.status(&ki(n)).unwrap().map(|s| s.status);
        let cached = terminal.store.status(&ki(n)).unwrap().map(|s| s.status);
        assert_eq!(cached, on_hub, "code {n}");
        present += usize::from(on_hub.is_some());
    }
    let rows = terminal.store.stats(now()).unwrap().status_rows;
    assert_eq!(rows, present as u64, "nothing else is cached");
}

#[test]
fn a_terminal_behind_pruned_removals_replaces_its_copy_and_matches_the_hub() {
    const FIRST: usize = 300;
    const ADDED: usize = 60;
    let hub = start_hub(FIRST);
    let gtin = Gtin::from_digits(GTIN.as_bytes()).unwrap();
    hub_import(&hub, Feed::Blocks, &[json!({"kind": "gtin", "gtin": GTIN})]);
    let mut terminal = Terminal::enrolled(&hub, "snapshot");
    let direct = terminal.engine(&hub.base, 3, 50);
    let summary = direct
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap();
    assert!(summary.feeds.iter().all(|f| !f.snapshot));
    assert_same_statuses(&hub, &terminal, FIRST);
    assert!(
        terminal
            .store
            .block_hit(None, gtin, None)
            .unwrap()
            .is_some()
    );

    // While the terminal is away: a third of the codes leave the list, a third change, new
    // ones arrive, the block is lifted; then the hub prunes every removal.
    let mut changes = Vec::new();
    for n in 0..FIRST {
        match n % 3 {
            0 => changes.push(json!({"cis": cis(&serial(n)), "remove": true})),
            1 => {
                let mut line = status_line(&serial(n));
                line["status"] = json!("RETIRED");
                changes.push(line);
            }
            _ => {}
        }
    }
    changes.extend((FIRST..FIRST + ADDED).map(|n| status_line(&serial(n))));
    hub_import(&hub, Feed::Statuses, &changes);
    hub_import(
        &hub,
        Feed::Blocks,
        &[json!({"kind": "gtin", "gtin": GTIN, "remove": true})],
    );
    let pruned = tally_hub::store::Store::open(&hub.db)
        .unwrap()
        .prune(0)
        .unwrap();
    let removed: u64 = pruned.iter().map(|p| p.removed).sum();
    assert_eq!(removed, FIRST as u64 / 3 + 1);

    // The terminal syncs through a faulty network, one attempt per request, small pages: the
    // snapshot is cut and resumed from its cursor by the next round.
    let proxy = FaultProxy::start(hub.addr, 0x5AA9_5407);
    let faulty = terminal.engine(&proxy.base, 1, 20);
    let mut resumed_mid_snapshot = false;
    let mut snapshot_seen = false;
    let mut done = false;
    for _ in 0..300 {
        match faulty.round(&mut terminal.store, &now, &mut |_| {}) {
            Ok(summary) => {
                snapshot_seen |= summary
                    .feeds
                    .iter()
                    .any(|f| f.feed == Feed::Statuses && f.snapshot);
                done = true;
                break;
            }
            Err(_) => {
                if terminal.store.feed_in_snapshot(Feed::Statuses).unwrap() {
                    resumed_mid_snapshot = true;
                    snapshot_seen = true;
                    // Half a snapshot never leaves the terminal with half a cache: the old
                    // copy answers until the snapshot is whole.
                    let rows = terminal.store.stats(now()).unwrap().status_rows;
                    assert!(rows >= FIRST as u64, "{rows} cached mid-snapshot");
                }
            }
        }
    }
    assert!(done, "a round got through");
    assert!(snapshot_seen, "the hub answered with a snapshot");
    assert!(
        resumed_mid_snapshot,
        "a cut left the snapshot half done, and a later round finished it"
    );
    assert!(!terminal.store.feed_in_snapshot(Feed::Statuses).unwrap());
    assert_same_statuses(&hub, &terminal, FIRST + ADDED);
    assert!(
        terminal.store.status(&ki(0)).unwrap().is_none(),
        "a removal the terminal never saw is applied"
    );
    assert!(
        terminal
            .store
            .block_hit(None, gtin, None)
            .unwrap()
            .is_none(),
        "the lifted block, whose removal was pruned, is gone"
    );

    // Caught up: the next round is ordinary and brings nothing.
    let summary = direct
        .round(&mut terminal.store, &now, &mut |_| {})
        .unwrap();
    assert!(summary.feeds.iter().all(|f| !f.snapshot && f.items == 0));
    assert_same_statuses(&hub, &terminal, FIRST + ADDED);
}
