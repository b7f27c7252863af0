//! A whole shift across real processes: a `tally-hub` on loopback and two terminals, each a
//! replica worked by `tally` commands, scans typed by a serial scanner on a pseudo-terminal and
//! by keyboard-wedge key traces, the hub stopped while they work and started again to dock.

// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::processes::{
    HubProcess, Scratch, SerialScanner, Terminal, assert_valid_documents, enroll, feed_items,
    json_lines, run_ok, sync, tally, tally_hub, wedge_trace, work, write_lines,
};

/// The warehouse's participant (ours) and the supplier of the delivery.
const OURS: &str = "7707083893";
const SUPPLIER: &str = "7736207543";
/// The GIS MT id of the supplier's shipment document the task accepts against.
const RELEASE_ORDER: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const GTIN: &str = "04600840749372";

/// The КИ of unit `n`, as the hub and the documents write it.
fn ki(n: u32) -> String {
    format!("01{GTIN}215Shft{n:02}")
}

/// What a scanner reads off unit `n`'s Data Matrix: the КИ, GS, the verification key.
fn scan(n: u32) -> String {
    format!("{}\u{1d}93Ab1+", ki(n))
}

fn kis(units: &[u32]) -> Vec<String> {
    units.iter().map(|&n| ki(n)).collect()
}

/// Each line's `outcome` (scans) or `command` + `done` (commands), for comparing a run at once.
fn steps(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l["event"].as_str().unwrap_or("") {
            "scan" => {
                let first = l["findings"][0]["code"]
                    .as_str()
                    .or(l["reason"]["code"].as_str())
                    .unwrap_or("");
                format!("{} {first}", l["outcome"].as_str().unwrap_or(""))
                    .trim_end()
                    .to_owned()
            }
            "command" => format!("{} {}", l["command"].as_str().unwrap_or(""), l["done"]),
            other => other.to_owned(),
        })
        .collect()
}

#[test]
fn a_shift_offline_then_docked_ends_in_exactly_the_expected_documents() {
    let dir = Scratch::new("shift");
    let hub_db = dir.path("hub.db");

    // The hub imports what GIS MT and the ERP export: eight units of the supplier's, the
    // product, and a delivery note (task) listing units 1-7. Unit 8 will come as a surplus
    // and unit 7 will not come at all.
    let statuses: Vec<Value> = (1..=8)
        .map(|n| json!({"cis": ki(n), "status": "INTRODUCED", "ownerInn": SUPPLIER, "productGroupId": 8}))
        .collect();
    let imports = [
        ("statuses", statuses),
        (
            "catalog",
            vec![json!({"gtin": GTIN, "name": "Молоко 3,2% 1 л", "productGroupId": 8})],
        ),
        (
            "tasks",
            vec![
                json!({"id": "T-1", "number": "ТН-0042", "senderInn": SUPPLIER,
                       "releaseOrderNumber": RELEASE_ORDER,
                        "date": "2026-11-22", "warehouse": "W1",
                        "units": kis(&[1, 2, 3, 4, 5, 6, 7]), "boxes": []}),
            ],
        ),
    ];
    for (what, lines) in &imports {
        let file = dir.path(&format!("{what}.jsonl"));
        write_lines(&file, lines);
        let output = run_ok(
            tally_hub()
                .args(["import", what])
                .arg(&file)
                .arg("--db")
                .arg(&hub_db),
        );
        assert_eq!(
            json_lines(&output.stdout)[0],
            json!({"feed": what, "imported": lines.len(), "rejected": 0})
        );
    }
    let mut hub = HubProcess::start(&hub_db);

    // Two terminals enroll with one-time codes and pull everything.
    let a = dir.path("tsd-a.db");
    let b = dir.path("tsd-b.db");
    for (db, name) in [(&a, "tsd-a"), (&b, "tsd-b")] {
        let enrolled = enroll(&hub.url(), &hub_db, db, "W1", OURS, name);
        assert_eq!(enrolled["participant_inn"], OURS);
        let summary = sync(db);
        assert_eq!(
            (
                feed_items(&summary, "statuses"),
                feed_items(&summary, "catalog"),
                feed_items(&summary, "tasks")
            ),
            (8, 1, 1),
            "{summary}"
        );
    }

    // The hub goes away (the terminals leave the dock): a sync fails and nothing else does.
    hub.stop();
    let offline = tally()
        .arg("sync")
        .arg("--db")
        .arg(&a)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!offline.status.success(), "{offline:?}");

    // Terminal A accepts the delivery from a serial scanner, and is killed halfway.
    let mut serial = SerialScanner::new();
    let accept = ["--task", "T-1", "--inn", OURS, "--operator", "ivanova"];
    let mut terminal = Terminal::spawn(&mut work(&a, "acceptance", &serial.source(), &accept));
    assert_eq!(terminal.next()["event"], "began");
    terminal.until("connected");
    for payload in [scan(1), scan(2), scan(1), scan(8), scan(8), "hello".into()] {
        serial.scan(&payload);
    }
    let seen: Vec<Value> = (0..6).map(|_| terminal.next()).collect();
    assert_eq!(
        steps(&seen),
        [
            "recorded",
            "recorded",
            "refused duplicate_in_document",
            "confirm not_expected",
            // The same scan again is the operator's confirmation of the surplus.
            "recorded not_expected",
            "unreadable not_marking_code",
        ]
    );
    assert_eq!(
        seen[3]["findings"][0]["ru"],
        "Не ожидается в этой поставке: излишек."
    );
    terminal.kill();

    // Restarted, it rebuilds the open acceptance from its journal and goes on.
    let mut terminal = Terminal::spawn(&mut work(&a, "acceptance", &serial.source(), &accept));
    assert_eq!(
        terminal.next(),
        json!({"event": "resumed", "kind": "acceptance", "entries": 3})
    );
    terminal.until("connected");
    for n in 3..=6 {
        serial.scan(&scan(n));
    }
    serial.scan("TALLY:FINISH");
    let seen = terminal.until("finished");
    assert_eq!(
        steps(&seen),
        ["recorded", "recorded", "recorded", "recorded", "finished"]
    );
    let acceptance = &seen[4]["payload"];
    assert_eq!(acceptance["accepted"], json!(kis(&[1, 2, 8, 3, 4, 5, 6])));
    assert_eq!(acceptance["surplus"], json!(kis(&[8])));
    assert_eq!(acceptance["missing"], json!(kis(&[7])));
    assert_eq!(acceptance["task_id"], "T-1");
    let mut a_operations = vec![seen[4]["uuid"].as_str().unwrap().to_owned()];
    assert!(terminal.finish().is_empty());

    // A packs units 1-4 into two boxes of two from a keyboard-wedge scanner; a fifth unit does
    // not fit. The key trace ends with the boxes closed and the aggregation still open.
    // With the owner rules on: the replica still names the supplier as the owner until the hub
    // confirms the acceptance, but units this terminal accepted are ours from the moment it
    // finished (the desk's local statuses).
    let pack = [
        "--inn",
        OURS,
        "--box-units",
        "2",
        "--pallet-boxes",
        "2",
        "--company-prefix",
        "4600840",
    ];
    let boxes = wedge_trace(
        &dir.path("boxes.trace"),
        &[
            "TALLY:OPEN-BOX",
            &scan(1),
            &scan(2),
            "TALLY:CLOSE",
            "TALLY:OPEN-BOX",
            &scan(3),
            &scan(4),
            &scan(5),
            "TALLY:CLOSE",
        ],
    );
    let lines = json_lines(&run_ok(&mut work(&a, "aggregation", &boxes, &pack)).stdout);
    assert_eq!(
        steps(&lines),
        [
            "began",
            "OPEN-BOX true",
            "recorded",
            "recorded",
            "CLOSE true",
            "OPEN-BOX true",
            "recorded",
            "recorded",
            "not_taken full",
            "CLOSE true",
            "end",
        ]
    );
    let labels: Vec<String> = [1, 5]
        .iter()
        .map(|&i| lines[i]["open"].as_str().unwrap().to_owned())
        .collect();
    assert_ne!(labels[0], labels[1]);

    // The printed labels go on a pallet, in a second run that resumes the aggregation.
    let pallet = wedge_trace(
        &dir.path("pallet.trace"),
        &[
            "TALLY:OPEN-PALLET",
            &format!("00{}", labels[0]),
            &format!("00{}", labels[1]),
            "TALLY:CLOSE",
            "TALLY:FINISH",
        ],
    );
    let lines = json_lines(&run_ok(&mut work(&a, "aggregation", &pallet, &pack)).stdout);
    assert_eq!(
        steps(&lines),
        [
            "resumed",
            "OPEN-PALLET true",
            "recorded",
            "recorded",
            "CLOSE true",
            "finished"
        ]
    );
    let pallet_label = lines[1]["open"].as_str().unwrap().to_owned();
    let unit = |n: u32| json!({"unit": ki(n)});
    assert_eq!(
        lines[5]["payload"]["aggregates"],
        json!([
            {"sscc": labels[0], "level": "box", "status": "INTRODUCED", "children": [unit(1), unit(2)]},
            {"sscc": labels[1], "level": "box", "status": "INTRODUCED", "children": [unit(3), unit(4)]},
            {"sscc": pallet_label, "level": "pallet", "status": null,
             "children": [{"box": labels[0]}, {"box": labels[1]}]},
        ])
    );
    a_operations.push(lines[5]["uuid"].as_str().unwrap().to_owned());

    // A writes off two damaged units from the serial scanner; the act needs a supervisor.
    let write_off = [
        "--inn",
        OURS,
        "--reason",
        "damage_loss",
        "--document",
        "АКТ-7",
        "--date",
        "2026-11-22",
        "--supervisor-required",
    ];
    let mut terminal = Terminal::spawn(&mut work(&a, "write-off", &serial.source(), &write_off));
    assert_eq!(terminal.next()["event"], "began");
    terminal.until("connected");
    for payload in [
        scan(5),
        scan(6),
        "TALLY:FINISH".into(),
        "TALLY:CONFIRM:petrov".into(),
    ] {
        serial.scan(&payload);
    }
    let seen: Vec<Value> = (0..4).map(|_| terminal.next()).collect();
    assert_eq!(
        steps(&seen),
        [
            "recorded",
            "recorded",
            "FINISH false",
            "CONFIRM:petrov true"
        ]
    );
    assert_eq!(seen[2]["reason"]["code"], "supervisor_required");
    serial.scan("TALLY:FINISH");
    let finished = terminal.next();
    assert_eq!(finished["payload"]["codes"], json!(kis(&[5, 6])));
    assert_eq!(finished["payload"]["supervisor"], "petrov");
    a_operations.push(finished["uuid"].as_str().unwrap().to_owned());
    assert!(terminal.finish().is_empty());

    // Terminal B, offline too, works the same codes from its older replica: it accepts units 1
    // and 2 (wedge) and writes off unit 5 (serial). Its own checks cannot know what A did.
    let b_accept = wedge_trace(
        &dir.path("b-accept.trace"),
        &[&scan(1), &scan(2), "TALLY:FINISH"],
    );
    let lines = json_lines(&run_ok(&mut work(&b, "acceptance", &b_accept, &accept)).stdout);
    assert_eq!(steps(&lines), ["began", "recorded", "recorded", "finished"]);
    let mut serial_b = SerialScanner::new();
    let b_write_off = ["--reason", "damage_loss", "--document", "АКТ-8"];
    let mut terminal =
        Terminal::spawn(&mut work(&b, "write-off", &serial_b.source(), &b_write_off));
    terminal.until("connected");
    serial_b.scan(&scan(5));
    serial_b.scan("TALLY:FINISH");
    assert_eq!(steps(&terminal.until("finished")), ["recorded", "finished"]);
    assert!(terminal.finish().is_empty());

    // Docked: the hub is back on its address; A pushes its three operations, all accepted, and
    // pulls what they changed.
    hub.start_again();
    let summary = sync(&a);
    assert_eq!(
        (
            &summary["accepted"],
            &summary["rejected"],
            &summary["queue_depth"]
        ),
        (&json!(3), &json!(0), &json!(0)),
        "{summary}"
    );
    let pushed: Vec<&str> = summary["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(pushed, a_operations);
    let check = run_ok(
        tally()
            .args(["check", "--op", "write-off", "--inn", OURS, "--db"])
            .arg(&a)
            .arg(scan(5)),
    );
    let verdict = &json_lines(&check.stdout)[0]["verdict"];
    assert_eq!(
        verdict["findings"][0]["code"], "out_of_circulation",
        "{verdict}"
    );

    // B docks after A: both of its operations come back refused, with reasons to read.
    let summary = sync(&b);
    assert_eq!(
        (
            &summary["accepted"],
            &summary["rejected"],
            &summary["queue_depth"]
        ),
        (&json!(0), &json!(2), &json!(2)),
        "{summary}"
    );
    let reasons = |i: usize| -> Vec<(String, String)> {
        summary["operations"][i]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert!(!r["en"].as_str().unwrap().is_empty(), "{r}");
                assert!(!r["ru"].as_str().unwrap().is_empty(), "{r}");
                (
                    r["code"].as_str().unwrap().to_owned(),
                    r["subject"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(summary["operations"][0]["kind"], "acceptance");
    assert_eq!(
        reasons(0),
        [
            ("already_ours".to_owned(), ki(1)),
            ("already_ours".to_owned(), ki(2))
        ]
    );
    assert_eq!(
        summary["operations"][0]["reasons"][0]["en"],
        "The code already belongs to us: it may have been accepted before."
    );
    assert_eq!(summary["operations"][1]["kind"], "write-off");
    assert_eq!(reasons(1), [("out_of_circulation".to_owned(), ki(5))]);
    assert!(
        summary["operations"][1]["reasons"][0]["ru"]
            .as_str()
            .unwrap()
            .contains("выведен из оборота")
    );
    // Refused operations stay on the terminal for a supervisor and are not pushed again.
    let again = sync(&b);
    assert_eq!(again["operations"], json!([]), "{again}");
    assert_eq!(again["queue_depth"], 2);

    // The books: exactly A's three documents with exactly A's codes; nothing of B's.
    let export = run_ok(tally_hub().args(["export", "--db"]).arg(&hub_db));
    let documents = json_lines(&export.stdout);
    // Each one is a document GIS MT takes: it passes its type's schema.
    assert_valid_documents(&documents);
    let types: Vec<&str> = documents
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["LP_ACCEPT_GOODS", "AGGREGATION_DOCUMENT", "LK_RECEIPT"]
    );
    let operations: Vec<&str> = documents
        .iter()
        .map(|d| d["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations, a_operations);

    let accept = &documents[0]["document"];
    assert_eq!(accept["trade_sender_inn"], SUPPLIER);
    assert_eq!(accept["trade_recipient_inn"], OURS);
    assert_eq!(accept["release_order_number"], RELEASE_ORDER);
    assert_eq!(accept["document_number"], "ТН-0042");
    let products: BTreeSet<(String, bool)> = accept["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["uit_code"].as_str().unwrap().to_owned(),
                p["accepted"].as_bool().unwrap(),
            )
        })
        .collect();
    // Every shipped unit: 7 was missing; the surplus 8 was never shipped, so it is not here.
    let expected: BTreeSet<(String, bool)> = (1..=7).map(|n| (ki(n), n != 7)).collect();
    assert_eq!(products, expected);
    assert_eq!(accept["products"].as_array().unwrap().len(), 7);

    assert_eq!(
        documents[1]["document"],
        json!({"participantId": OURS, "aggregationUnits": [
            {"unitSerialNumber": labels[0], "aggregationType": "AGGREGATION", "sntins": kis(&[1, 2])},
            {"unitSerialNumber": labels[1], "aggregationType": "AGGREGATION", "sntins": kis(&[3, 4])},
            {"unitSerialNumber": pallet_label, "aggregationType": "AGGREGATION",
             "sntins": [labels[0], labels[1]]},
        ]})
    );
    let receipt = &documents[2]["document"];
    for (field, value) in [
        ("inn", json!(OURS)),
        ("action", json!("DAMAGE_LOSS")),
        ("document_type", json!("OTHER")),
        ("document_number", json!("АКТ-7")),
        ("document_date", json!("2026-11-22")),
        ("products", json!([{"cis": ki(5)}, {"cis": ki(6)}])),
    ] {
        assert_eq!(receipt[field], value, "{field}");
    }
    assert!(receipt["primary_document_custom_name"].is_string());
    hub.stop();
}
