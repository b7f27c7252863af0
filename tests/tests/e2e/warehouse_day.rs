//! The rest of the warehouse's day across real processes, on one terminal and a real hub:
//! goods accepted, packed into a box on a pallet whose labels go to a printer on a socket, the
//! pallet picked and shipped by its label, a customer's return brought back into circulation, and an
//! inventory that finds one unit missing and one foreign, settled by a write-off the
//! supervisor confirms. Every document the hub exports passes its schema.

// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc::{Receiver, channel};

use serde_json::{Value, json};

use crate::processes::{
    CUSTOMER, GTIN, OURS, Scratch, assert_valid_documents, hub_and_terminal, json_lines, ki,
    run_ok, scan, sync, tally_hub, wedge_trace, work,
};

const SUPPLIER: &str = "7702070139";
const OTHER: &str = "5001007329";
const RELEASE_ORDER: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

/// A label printer on a socket: answers `~HS` ready and hands each job's bytes to the test.
fn fake_printer(jobs: usize) -> (String, Receiver<Vec<u8>>) {
    const READY: &[u8] =
        b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n";
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("tcp:127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for _ in 0..jobs {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 5];
            stream.read_exact(&mut request).unwrap();
            assert_eq!(&request[..3], b"~HS");
            stream.write_all(READY).unwrap();
            let mut job = Vec::new();
            let _ = stream.read_to_end(&mut job);
            tx.send(job).unwrap();
        }
    });
    (address, rx)
}

/// Works one operation from a keyboard-wedge key trace and returns its `finished` line.
fn worked(dir: &Scratch, tsd: &Path, kind: &str, args: &[&str], scans: &[String]) -> Value {
    let trace_path = dir.path(&format!("{kind}.trace"));
    let scans: Vec<&str> = scans.iter().map(String::as_str).collect();
    let trace = wedge_trace(&trace_path, &scans);
    let lines = json_lines(&run_ok(&mut work(tsd, kind, &trace, args)).stdout);
    lines
        .iter()
        .find(|l| l["event"] == "finished")
        .cloned()
        .unwrap_or_else(|| panic!("{kind} did not finish: {lines:?}"))
}

/// Docks: every queued operation accepted by the hub.
fn docked(tsd: &Path, operations: u64) {
    let summary = sync(tsd);
    assert_eq!(
        (&summary["accepted"], &summary["rejected"]),
        (&json!(operations), &json!(0)),
        "{summary}"
    );
}

#[test]
fn accept_pack_label_ship_take_back_and_count_in_one_day() {
    let dir = Scratch::new("warehouse-day");
    let hub_db = dir.path("hub.db");
    let delivered = |serial: &str| {
        json!({"cis": ki(serial), "status": "INTRODUCED", "ownerInn": SUPPLIER,
               "statusEx": "WAIT_SHIPMENT", "productGroupId": 8})
    };
    let statuses = vec![
        delivered("5Day01"),
        delivered("5Day02"),
        delivered("5Day03"),
        delivered("5Day04"),
        // Sold at the shop last week, coming back today.
        json!({"cis": ki("5Sold1"), "status": "RETIRED", "ownerInn": OURS, "productGroupId": 8}),
        // On the shelf since before; nobody will find it today.
        json!({"cis": ki("5Gone1"), "status": "INTRODUCED", "ownerInn": OURS, "productGroupId": 8}),
        // Someone else's unit, left on our shelf.
        json!({"cis": ki("5Alien"), "status": "INTRODUCED", "ownerInn": OTHER, "productGroupId": 8}),
    ];
    let task = json!({"id": "T-1", "number": "ТН-0042", "senderInn": SUPPLIER,
        "releaseOrderNumber": RELEASE_ORDER, "date": "2026-12-02", "warehouse": "W1",
        "units": [ki("5Day01"), ki("5Day02"), ki("5Day03"), ki("5Day04")], "boxes": []});
    let (hub, tsd) = hub_and_terminal(
        &dir,
        &hub_db,
        vec![
            ("statuses", statuses),
            (
                "catalog",
                vec![json!({"gtin": GTIN, "name": "Молоко 3,2% 1 л", "productGroupId": 8})],
            ),
            ("tasks", vec![task]),
        ],
    );
    let command = |name: &str| format!("TALLY:{name}");

    // Accepted against the delivery note.
    let accepted = worked(
        &dir,
        &tsd,
        "acceptance",
        &["--inn", OURS, "--task", "T-1"],
        &[
            scan("5Day01"),
            scan("5Day02"),
            scan("5Day03"),
            scan("5Day04"),
            command("FINISH"),
        ],
    );
    assert_eq!(accepted["payload"]["missing"], json!([]));

    // Two units packed into a box, the box onto a pallet; each label prints as it closes.
    let (printer, jobs) = fake_printer(2);
    let pack = [
        "--inn",
        OURS,
        "--company-prefix",
        "4600840",
        "--printer",
        &printer,
        "--packer",
        "Иванова",
    ];
    let packed = worked(
        &dir,
        &tsd,
        "aggregation",
        &pack,
        &[
            command("OPEN-BOX"),
            scan("5Day01"),
            scan("5Day02"),
            command("CLOSE"),
            command("FINISH"),
        ],
    );
    let sscc = packed["payload"]["aggregates"][0]["sscc"]
        .as_str()
        .unwrap()
        .to_owned();
    let palletised = worked(
        &dir,
        &tsd,
        "aggregation",
        &pack,
        &[
            command("OPEN-PALLET"),
            format!("00{sscc}"),
            command("CLOSE"),
            command("FINISH"),
        ],
    );
    let pallet = palletised["payload"]["aggregates"][0]["sscc"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(palletised["payload"]["aggregates"][0]["level"], "pallet");
    for (label, of) in [(&sscc, "box"), (&pallet, "pallet")] {
        let job = String::from_utf8(jobs.recv().unwrap()).unwrap();
        assert!(
            job.starts_with("^XA") && job.trim_end().ends_with("^XZ"),
            "{job}"
        );
        assert!(
            job.contains(&format!("^BCN,160,N,N,N,D^FD(00){label}^FS")),
            "the {of}'s SSCC as GS1-128: {job}"
        );
        assert!(job.contains("Иванова"), "{job}");
    }
    docked(&tsd, 3);

    // Picked: the pallet by its label, and one loose unit.
    let shipped = worked(
        &dir,
        &tsd,
        "shipment",
        &[
            "--inn",
            OURS,
            "--receiver",
            CUSTOMER,
            "--document",
            "РН-17",
            "--date",
            "2026-12-02",
        ],
        &[format!("00{pallet}"), scan("5Day03"), command("FINISH")],
    );
    assert_eq!(shipped["payload"]["labels"], json!([pallet]));
    assert_eq!(shipped["payload"]["units"], json!([ki("5Day03")]));

    // A customer brings last week's unit back.
    let returned = worked(
        &dir,
        &tsd,
        "return",
        &[
            "--inn",
            OURS,
            "--cause",
            "retail",
            "--document",
            "ФД-7711",
            "--date",
            "2026-12-02",
        ],
        &[scan("5Sold1"), command("FINISH")],
    );
    assert_eq!(returned["payload"]["units"], json!([ki("5Sold1")]));
    docked(&tsd, 2);

    // The evening count of the whole warehouse: what is ours in stock is the returned unit,
    // the accepted unit not shipped and the one on the shelf from before; the box went out.
    let counted = worked(
        &dir,
        &tsd,
        "inventory",
        &[
            "--inn",
            OURS,
            "--document",
            "ИНВ-1",
            "--date",
            "2026-12-02",
            "--settle",
            "damage_loss",
            "--supervisor-required",
        ],
        &[
            scan("5Day04"),
            scan("5Sold1"),
            scan("5Alien"),
            command("CONFIRM:petrov"),
            command("FINISH"),
        ],
    );
    let count = &counted["payload"];
    assert_eq!(count["found"], json!([ki("5Day04"), ki("5Sold1")]));
    assert_eq!(count["foreign"], json!([ki("5Alien")]));
    assert_eq!(count["missing"], json!([ki("5Gone1")]));
    docked(&tsd, 1);

    // The books.
    let export = run_ok(tally_hub().args(["export", "--db"]).arg(&hub_db));
    let documents = json_lines(&export.stdout);
    assert_valid_documents(&documents);
    let types: Vec<&str> = documents
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "LP_ACCEPT_GOODS",
            "AGGREGATION_DOCUMENT",
            "AGGREGATION_DOCUMENT",
            "LP_SHIP_GOODS",
            "LP_RETURN",
            "LK_RECEIPT"
        ]
    );
    let ship_codes: Vec<&str> = documents[3]["document"]["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["uitu_code"].as_str().or(p["uit_code"].as_str()).unwrap())
        .collect();
    let third = ki("5Day03");
    assert_eq!(
        ship_codes,
        [third.as_str(), pallet.as_str()],
        "loose units, then the pallet, which the hub knows holds the box's units"
    );
    assert!(
        documents[3]["document"]["products"][1]["product_description"]
            .as_str()
            .unwrap()
            .ends_with("2 шт."),
        "{}",
        documents[3]["document"]
    );
    assert_eq!(
        documents[5]["document"]["products"],
        json!([{"cis": ki("5Gone1")}])
    );
    assert_eq!(documents[5]["document"]["action"], "DAMAGE_LOSS");

    // The count's report at the hub, as CSV.
    let report = run_ok(
        tally_hub()
            .args(["export", "--inventory", "--db"])
            .arg(&hub_db),
    );
    let text = String::from_utf8(report.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let findings: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[4], r[5], r[7])).collect();
    let (fourth, sold, alien, gone) = (ki("5Day04"), ki("5Sold1"), ki("5Alien"), ki("5Gone1"));
    assert_eq!(
        findings,
        [
            (fourth.as_str(), "found", "no"),
            (sold.as_str(), "found", "no"),
            (gone.as_str(), "missing", "yes"),
            (alien.as_str(), "foreign", "no"),
        ],
        "{text}"
    );
    drop(hub);
}
