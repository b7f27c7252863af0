//! A shipment across real processes: a terminal ships a loose unit, a whole box and part of an
//! opened box with `tally work shipment`, docks with a real hub, and the hub makes the
//! documents GIS MT takes; the same goods shipped again from an older replica are refused.

// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use crate::processes::{
    CUSTOMER, GTIN, OURS, Scratch, assert_valid_documents, enroll, hub_and_terminal, json_lines,
    ki, run_ok, scan, sync, tally_hub, wedge_trace, work,
};

/// The boxes on the list: one shipped whole, one opened for a unit.
const WHOLE: &str = "046008400000000817";
const OPENED: &str = "046008400000000824";

#[test]
fn a_shipment_from_a_terminal_becomes_lp_ship_goods_and_ships_nothing_twice() {
    let dir = Scratch::new("shipment");
    let hub_db = dir.path("hub.db");
    let ours = |serial: &str, parent: Option<&str>| {
        json!({"cis": ki(serial), "status": "INTRODUCED", "ownerInn": OURS,
               "productGroupId": 8, "parent": parent})
    };
    let label = |sscc: &str| json!({"cis": sscc, "status": "INTRODUCED", "ownerInn": OURS, "packageType": "LEVEL1"});
    let statuses = vec![
        ours("5Ship01", None),
        label(WHOLE),
        ours("5Ship02", Some(WHOLE)),
        ours("5Ship03", Some(WHOLE)),
        label(OPENED),
        ours("5Ship04", Some(OPENED)),
        ours("5Ship05", Some(OPENED)),
    ];
    let (hub, tsd) = hub_and_terminal(
        &dir,
        &hub_db,
        vec![
            ("statuses", statuses),
            (
                "catalog",
                vec![json!({"gtin": GTIN, "name": "Молоко 3,2% 1 л", "productGroupId": 8})],
            ),
        ],
    );
    // A second terminal, synced now and not again before it ships.
    let stale = dir.path("tsd-stale.db");
    enroll(&hub.url(), &hub_db, &stale, "W1", OURS, "tsd-2");
    sync(&stale);

    let ship = [
        "--inn",
        OURS,
        "--receiver",
        CUSTOMER,
        "--document",
        "РН-17",
        "--date",
        "2026-12-02",
    ];
    let trace = wedge_trace(
        &dir.path("ship.trace"),
        &[
            &scan("5Ship01"),
            &format!("00{WHOLE}"),
            &format!("TALLY:OPEN:{OPENED}"),
            &scan("5Ship04"),
            "TALLY:FINISH",
        ],
    );
    let lines = json_lines(&run_ok(&mut work(&tsd, "shipment", &trace, &ship)).stdout);
    let finished = lines.iter().find(|l| l["event"] == "finished").unwrap();
    assert_eq!(
        finished["payload"]["units"],
        json!([ki("5Ship01"), ki("5Ship04")])
    );
    assert_eq!(finished["payload"]["labels"], json!([WHOLE]));
    assert_eq!(finished["payload"]["opened"], json!([OPENED]));
    let summary = sync(&tsd);
    assert_eq!(
        (&summary["accepted"], &summary["rejected"]),
        (&json!(1), &json!(0)),
        "{summary}"
    );

    // The books: the opened box unpacked, then the shipment, each valid for GIS MT.
    let export = run_ok(tally_hub().args(["export", "--db"]).arg(&hub_db));
    let documents = json_lines(&export.stdout);
    assert_valid_documents(&documents);
    let types: Vec<&str> = documents
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["DISAGGREGATION_DOCUMENT", "LP_SHIP_GOODS"]);
    let shipped = &documents[1]["document"];
    assert_eq!(shipped["receiver_inn"], CUSTOMER);
    let codes: Vec<&str> = shipped["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["uit_code"].as_str().or(p["uitu_code"].as_str()).unwrap())
        .collect();
    let (first, fourth) = (ki("5Ship01"), ki("5Ship04"));
    assert_eq!(codes, [first.as_str(), fourth.as_str(), WHOLE]);

    // The stale terminal ships the same box: its replica cannot know, the hub refuses it.
    let trace = wedge_trace(
        &dir.path("again.trace"),
        &[&format!("00{WHOLE}"), "TALLY:FINISH"],
    );
    let again = json_lines(&run_ok(&mut work(&stale, "shipment", &trace, &ship)).stdout);
    assert!(again.iter().any(|l| l["event"] == "finished"), "{again:?}");
    let summary = sync(&stale);
    assert_eq!(
        (&summary["accepted"], &summary["rejected"]),
        (&json!(0), &json!(1)),
        "{summary}"
    );
    let reasons: Vec<(&str, &str)> = summary["operations"][0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["code"].as_str().unwrap(), r["subject"].as_str().unwrap()))
        .collect();
    let (second, third) = (ki("5Ship02"), ki("5Ship03"));
    assert_eq!(
        reasons,
        [
            ("status_ex_forbids", second.as_str()),
            ("status_ex_forbids", third.as_str())
        ],
        "the box's units are on their way already"
    );
    let export = run_ok(tally_hub().args(["export", "--db"]).arg(&hub_db));
    assert_eq!(
        json_lines(&export.stdout).len(),
        2,
        "nothing made of the refused shipment"
    );
    drop(hub);
}
