//! A shipment and a count survive SIGKILL like every operation: a real `tally work` process
//! reading a serial scanner is killed halfway, a new one resumes from the journal with every
//! scan taken before the kill, refuses them again as duplicates, and finishes a document that
//! holds them all.

// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use crate::processes::{
    CUSTOMER, GTIN, OURS, Scratch, SerialScanner, Terminal, hub_and_terminal, ki, scan, story,
    sync, work,
};

/// Runs `kind` with `args`: `before` scanned, a kill, then `after` scanned into the resumed
/// operation (which ends with `TALLY:FINISH`); the stories of both halves and the payload.
fn killed_and_resumed(
    tsd: &std::path::Path,
    kind: &str,
    args: &[&str],
    before: &[String],
    after: &[String],
) -> (Vec<String>, Vec<String>, Value) {
    let mut serial = SerialScanner::new();
    let mut terminal = Terminal::spawn(&mut work(tsd, kind, &serial.source(), args));
    assert_eq!(terminal.next()["event"], "began");
    terminal.until("connected");
    for payload in before {
        serial.scan(payload);
    }
    let seen: Vec<Value> = before.iter().map(|_| terminal.next()).collect();
    terminal.kill();

    let mut terminal = Terminal::spawn(&mut work(tsd, kind, &serial.source(), args));
    assert_eq!(
        terminal.next(),
        json!({"event": "resumed", "kind": kind, "entries": before.len()})
    );
    terminal.until("connected");
    for payload in after {
        serial.scan(payload);
    }
    let resumed = terminal.until("finished");
    let payload = resumed.last().unwrap()["payload"].clone();
    assert!(terminal.finish().is_empty());
    (story(&seen), story(&resumed), payload)
}

#[test]
fn a_shipment_and_a_count_each_survive_a_kill_with_every_scan() {
    let dir = Scratch::new("kills");
    let hub_db = dir.path("hub.db");
    let serials = [
        "5Kill00000001",
        "5Kill00000002",
        "5Kill00000003",
        "5Kill00000004",
    ];
    let statuses: Vec<Value> = serials
        .iter()
        .map(|s| json!({"cis": ki(s), "status": "INTRODUCED", "ownerInn": OURS, "productGroupId": 2}))
        .collect();
    // The hub serves until the test ends: the last sync pushes to it.
    let (_hub, tsd) = hub_and_terminal(
        &dir,
        &hub_db,
        vec![
            ("statuses", statuses),
            (
                "catalog",
                vec![json!({"gtin": GTIN, "name": "Туфли женские", "productGroupId": 2})],
            ),
        ],
    );
    let finish = "TALLY:FINISH".to_owned();

    // Two pairs picked, the kill, the first again (on the shipment already), a third, done.
    let (before, after, payload) = killed_and_resumed(
        &tsd,
        "shipment",
        &[
            "--inn",
            OURS,
            "--receiver",
            CUSTOMER,
            "--document",
            "УПД-90",
        ],
        &[scan(serials[0]), scan(serials[1])],
        &[scan(serials[0]), scan(serials[2]), finish.clone()],
    );
    assert_eq!(before, ["recorded", "recorded"]);
    assert_eq!(
        after,
        ["refused duplicate_in_document", "recorded", "finished"]
    );
    assert_eq!(
        payload["units"],
        json!([ki(serials[0]), ki(serials[1]), ki(serials[2])]),
        "{payload}"
    );

    // The count of the whole warehouse: the last pair on the shelf, the kill, the same pair
    // again, done; the three shipped here are not expected on the shelf.
    let (before, after, payload) = killed_and_resumed(
        &tsd,
        "inventory",
        &["--inn", OURS, "--document", "ИНВ-3"],
        &[scan(serials[3])],
        &[scan(serials[3]), finish],
    );
    assert_eq!(before, ["recorded"]);
    assert_eq!(after, ["refused duplicate_in_document", "finished"]);
    assert_eq!(payload["found"], json!([ki(serials[3])]), "{payload}");
    let summary = sync(&tsd);
    assert_eq!(
        (&summary["accepted"], &summary["rejected"]),
        (&json!(2), &json!(0)),
        "{summary}"
    );
}
