//! A customer return across real processes: a terminal takes sold goods back with
//! `tally work return` from a serial scanner, is killed with SIGKILL halfway and resumes from
//! its journal, re-labels an item whose label nobody can read, docks with a real hub, and the
//! hub makes `LP_RETURN` and `LK_REMARK` (return cause) that pass their schemas; the goods are
//! in circulation again and ship.

// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use crate::processes::{
    CUSTOMER, GTIN, OURS, Scratch, SerialScanner, Terminal, assert_valid_documents,
    hub_and_terminal, json_lines, ki, run_ok, scan, story, sync, tally_hub, wedge_trace, work,
};

#[test]
fn a_return_survives_a_kill_and_brings_the_goods_back_into_circulation_at_the_hub() {
    let dir = Scratch::new("customer-return");
    let hub_db = dir.path("hub.db");
    // Serials of 13 characters, as shoes have.
    let code = |status: &str, serial: &str| json!({"cis": ki(serial), "status": status, "ownerInn": OURS, "productGroupId": 2});
    let statuses = vec![
        code("RETIRED", "5Rtrn00000001"),
        code("RETIRED", "5Rtrn00000002"),
        code("INTRODUCED", "5Rtrn00000003"),
        code("APPLIED", "5Rtrn0000New1"),
    ];
    let (hub, tsd) = hub_and_terminal(
        &dir,
        &hub_db,
        vec![
            ("statuses", statuses),
            (
                "catalog",
                vec![
                    json!({"gtin": GTIN, "name": "Туфли женские", "productGroupId": 2,
                        "tnved": "6403999800"}),
                ],
            ),
        ],
    );

    let args = [
        "--inn",
        OURS,
        "--cause",
        "retail",
        "--receipt",
        "receipt",
        "--document",
        "ФД-7711",
        "--date",
        "2026-12-02",
    ];
    let mut serial = SerialScanner::new();
    let mut terminal = Terminal::spawn(&mut work(&tsd, "return", &serial.source(), &args));
    assert_eq!(terminal.next()["event"], "began");
    terminal.until("connected");
    // A sold pair comes back; one still in circulation was never sold.
    serial.scan(&scan("5Rtrn00000001"));
    serial.scan(&scan("5Rtrn00000003"));
    let seen: Vec<Value> = (0..2).map(|_| terminal.next()).collect();
    assert_eq!(story(&seen), ["recorded", "refused wrong_status"]);
    assert_eq!(
        seen[1]["findings"][0]["ru"],
        "Статус кода INTRODUCED не допускает эту операцию."
    );
    terminal.kill();

    // Restarted: the journal rebuilds the return. A second pair, then a pair whose label is
    // torn off: DAMAGED, a code in circulation refused as its new label, then a fresh one.
    let mut terminal = Terminal::spawn(&mut work(&tsd, "return", &serial.source(), &args));
    assert_eq!(
        terminal.next(),
        json!({"event": "resumed", "kind": "return", "entries": 1})
    );
    terminal.until("connected");
    for payload in [
        scan("5Rtrn00000001"),
        scan("5Rtrn00000002"),
        "TALLY:DAMAGED".to_owned(),
        scan("5Rtrn00000003"),
        scan("5Rtrn0000New1"),
        "TALLY:FINISH".to_owned(),
    ] {
        serial.scan(&payload);
    }
    let seen = terminal.until("finished");
    assert_eq!(
        story(&seen),
        [
            "refused duplicate_in_document",
            "recorded",
            "DAMAGED true",
            "not_taken not_a_new_code",
            "recorded",
            "finished"
        ],
        "{seen:?}"
    );
    assert_eq!(seen[2]["awaiting_new_label"], true);
    assert_eq!(seen[3]["awaiting_new_label"], true);
    let payload = &seen[5]["payload"];
    assert_eq!(
        (&payload["units"], &payload["relabelled"]),
        (
            &json!([ki("5Rtrn00000001"), ki("5Rtrn00000002")]),
            &json!([ki("5Rtrn0000New1")])
        )
    );
    assert!(terminal.finish().is_empty());

    let summary = sync(&tsd);
    assert_eq!(
        (&summary["accepted"], &summary["rejected"]),
        (&json!(1), &json!(0)),
        "{summary}"
    );
    let export = run_ok(tally_hub().args(["export", "--db"]).arg(&hub_db));
    let documents = json_lines(&export.stdout);
    assert_valid_documents(&documents);
    let types: Vec<&str> = documents
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["LP_RETURN", "LK_REMARK"]);
    assert_eq!(
        documents[0]["document"]["products"],
        json!([{"ki": ki("5Rtrn00000001")}, {"ki": ki("5Rtrn00000002")}])
    );
    assert_eq!(
        documents[1]["document"]["products"][0]["tnved_10"],
        "6403999800"
    );

    // In circulation again: the returned pair and the re-labelled one ship to a customer.
    let trace = wedge_trace(
        &dir.path("ship.trace"),
        &[
            &scan("5Rtrn00000001"),
            &scan("5Rtrn0000New1"),
            "TALLY:FINISH",
        ],
    );
    let ship = [
        "--inn",
        OURS,
        "--receiver",
        CUSTOMER,
        "--document",
        "РН-20",
        "--date",
        "2026-12-02",
    ];
    let lines = json_lines(&run_ok(&mut work(&tsd, "shipment", &trace, &ship)).stdout);
    assert_eq!(
        story(&lines),
        ["recorded", "recorded", "finished"],
        "{lines:?}"
    );
    let summary = sync(&tsd);
    assert_eq!(
        (&summary["accepted"], &summary["rejected"]),
        (&json!(1), &json!(0)),
        "{summary}"
    );
    drop(hub);
}
