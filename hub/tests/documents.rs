//! GIS MT documents from operations pushed through the real HTTP server: each accepted
//! operation's document type and exact codes, nothing of a rejected one, through the library
//! and through the real `tally-hub export` binary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::path::PathBuf;
use std::process::Command;
use std::thread;

use serde_json::{Value, json};
use tally_domain::gs1::Sscc;
use tally_domain::status::{Inn, Timestamp};
use tally_hub::documents::{self, ExportedDocument};
use tally_hub::import::import;
use tally_hub::server::Hub;
use tally_hub::store::Store;
use tally_sync::wire::{EnrollResponse, Feed, PushResponse, PushResult};

const OURS: &str = "7707083893";
const SUPPLIER: &str = "7702070139";
const GTIN: &str = "04600840749372";

fn cis(serial: &str) -> String {
    format!("01{GTIN}21{serial}")
}

fn sscc(n: u64) -> String {
    Sscc::compose(0, "4600840", n).unwrap().to_string()
}

struct TestHub {
    base: String,
    db: PathBuf,
    agent: ureq::Agent,
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(dir) = self.db.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn status(serial: &str, owner: &str) -> Value {
    json!({"cis": cis(serial), "gtin": GTIN, "status": "INTRODUCED", "ownerInn": owner,
           "packageType": "UNIT"})
}

/// A hub on a fresh database holding these `cisInfo` lines and task lines.
fn start(statuses: &[Value], tasks: &[Value]) -> TestHub {
    let dir = std::env::temp_dir().join(format!("tally-hub-docs-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("hub.db");
    let mut store = Store::open(&db).unwrap();
    for (feed, lines) in [(Feed::Statuses, statuses), (Feed::Tasks, tasks)] {
        let text: String = lines.iter().map(|s| format!("{s}\n")).collect();
        let report = import(&mut store, feed, text.as_bytes()).unwrap();
        assert!(report.rejected.is_empty(), "{report:?}");
    }
    let hub = Hub::bind(store, "127.0.0.1:0").unwrap();
    let base = format!("http://{}", hub.local_addr().unwrap());
    thread::spawn(move || hub.run());
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    TestHub { base, db, agent }
}

impl TestHub {
    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Value {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .header("Tally-Protocol", "1");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request
            .send(&serde_json::to_vec(body).unwrap()[..])
            .unwrap();
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap();
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Tally-Protocol", "1")
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap())
    }

    fn enroll(&self, warehouse: &str, inn: &str) -> String {
        let code = Store::open(&self.db)
            .unwrap()
            .create_enrollment_code(warehouse, &Inn::parse(inn).unwrap(), Timestamp(0))
            .unwrap();
        let answer = self.post(
            "/v1/enroll",
            None,
            &json!({"code": code, "device_name": "tsd", "app_version": "0.1.0"}),
        );
        serde_json::from_value::<EnrollResponse>(answer)
            .unwrap()
            .token
    }

    /// Pushes and returns each operation's result, in order.
    fn push(&self, token: &str, operations: &[Value]) -> Vec<PushResult> {
        let body = json!({
            "device": {"app_version": "0.1.0", "queue_depth": operations.len(),
                       "cache_synced_at": null},
            "operations": operations,
        });
        let answer: PushResponse =
            serde_json::from_value(self.post("/v1/push", Some(token), &body)).unwrap();
        answer.answers.iter().map(|a| a.result).collect()
    }

    /// Everything `documents::page` gives, a small page at a time to cross page boundaries.
    fn export(&self, kinds: &[&str]) -> Vec<ExportedDocument> {
        let store = Store::open(&self.db).unwrap();
        let mut after = 0;
        let mut all = Vec::new();
        loop {
            let selection = documents::Selection {
                after,
                kinds,
                warehouse: None,
            };
            let page = documents::page(&store, selection, 2).unwrap();
            assert!(page.unexportable.is_empty(), "{:?}", page.unexportable);
            all.extend(page.documents);
            after = page.next_after;
            if !page.more {
                return all;
            }
        }
    }

    fn run_export(&self, extra: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_tally-hub"))
            .arg("export")
            .arg("--db")
            .arg(&self.db)
            .args(extra)
            .output()
            .unwrap()
    }
}

fn operation(kind: &str, payload: Value) -> Value {
    json!({
        "uuid": uuid::Uuid::new_v4().to_string(), "seq": 1, "kind": kind,
        "operator": "Иванова", "started_at": 1_700_000_000_000i64,
        "finished_at": 1_700_000_060_000i64, "payload": payload,
    })
}

fn write_off(document: &str, reason: &str, serials: &[&str]) -> Value {
    let codes: Vec<String> = serials.iter().map(|s| cis(s)).collect();
    operation(
        "write-off",
        json!({"reason": "x", "gis_mt_document": document, "gis_mt_reason": reason,
               "document_number": "A-7", "document_date": "2026-11-22",
               "supervisor": "Петров", "codes": codes}),
    )
}

fn uuid_of(operation: &Value) -> String {
    operation["uuid"].as_str().unwrap().to_owned()
}

/// Every marking code or SSCC anywhere in a document, in order.
fn codes_in(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) if s.starts_with("01") && s.len() > 16 => vec![s.clone()],
        Value::String(s) if s.len() == 18 && s.bytes().all(|b| b.is_ascii_digit()) => {
            vec![s.clone()]
        }
        Value::Array(items) => items.iter().flat_map(codes_in).collect(),
        Value::Object(fields) => fields.values().flat_map(codes_in).collect(),
        _ => Vec::new(),
    }
}

/// One hub that took one operation of every kind and refused two.
struct Scenario {
    hub: TestHub,
    token: String,
    accepted: Vec<Value>,
    rejected: Vec<Value>,
}

fn scenario() -> Scenario {
    let mut statuses: Vec<Value> = ["U1", "B1", "B2", "F1"]
        .iter()
        .map(|s| status(&format!("SUPPLIED00{s}"), SUPPLIER))
        .collect();
    statuses.extend(
        ["A1", "A2", "W1", "W2", "C1", "R9"]
            .iter()
            .map(|s| status(&format!("OURCODE000{s}"), OURS)),
    );
    let task = json!({"id": "T-1", "number": "RO-42", "senderInn": SUPPLIER,
                      "date": "2026-11-21", "units": [cis("SUPPLIED00U1")],
                      "boxes": [{"sscc": sscc(7),
                                 "units": [cis("SUPPLIED00B1"), cis("SUPPLIED00B2")]}]});
    let hub = start(&statuses, &[task]);
    let token = hub.enroll("W1", OURS);

    let by_task = operation(
        "acceptance",
        json!({"task_id": "T-1", "accepted": [cis("SUPPLIED00U1"), cis("SUPPLIED00B1")],
               "boxes": [sscc(7)], "rejected": [cis("SUPPLIED00B2")], "surplus": [],
               "missing": [], "acceptance_date": "2026-11-22"}),
    );
    let free = operation(
        "acceptance",
        json!({"task_id": null, "accepted": [cis("SUPPLIED00F1")], "boxes": [],
               "rejected": [], "surplus": [], "missing": [], "acceptance_date": "2026-11-22"}),
    );
    let boxed = operation(
        "aggregation",
        json!({"aggregates": [{"sscc": sscc(1), "level": "box", "status": "INTRODUCED",
                               "children": [{"unit": cis("OURCODE000A1")},
                                            {"unit": cis("OURCODE000A2")}]}]}),
    );
    let unboxed = operation("disaggregation", json!({"labels": [sscc(1)]}));
    let receipt = write_off("LK_RECEIPT", "DAMAGE_LOSS", &["OURCODE000W1"]);
    let cancellation = write_off("LK_KM_CANCELLATION", "KM_SPOILED", &["OURCODE000W2"]);
    // Refused: W1 is written off by then, and R9 must not leak out with it.
    let again = write_off(
        "LK_RECEIPT",
        "DESTRUCTION",
        &["OURCODE000R9", "OURCODE000W1"],
    );
    // Refused: A1 is in box 1 when this is judged (the disaggregation comes after it).
    let twice = operation(
        "aggregation",
        json!({"aggregates": [{"sscc": sscc(2), "level": "box", "status": "INTRODUCED",
                               "children": [{"unit": cis("OURCODE000A1")},
                                            {"unit": cis("OURCODE000C1")}]}]}),
    );
    let results = hub.push(
        &token,
        &[
            by_task.clone(),
            free.clone(),
            boxed.clone(),
            twice.clone(),
            unboxed.clone(),
            receipt.clone(),
            cancellation.clone(),
            again.clone(),
        ],
    );
    use PushResult::{Accepted, Rejected};
    assert_eq!(
        results,
        [
            Accepted, Accepted, Accepted, Rejected, Accepted, Accepted, Accepted, Rejected
        ]
    );
    Scenario {
        hub,
        token,
        accepted: vec![by_task, free, boxed, unboxed, receipt, cancellation],
        rejected: vec![twice, again],
    }
}

#[test]
fn each_accepted_operation_exports_as_its_gis_mt_document() {
    let s = scenario();
    let exported = s.hub.export(&[]);
    let uuids: Vec<String> = exported.iter().map(|d| d.operation.clone()).collect();
    assert_eq!(
        uuids,
        s.accepted.iter().map(uuid_of).collect::<Vec<_>>(),
        "one document per accepted operation, in intake order, none of the refused"
    );
    assert!(exported.windows(2).all(|w| w[0].seq < w[1].seq));
    let types: Vec<&str> = exported.iter().map(|d| d.doc_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "LP_ACCEPT_GOODS",
            "LP_ACCEPT_GOODS",
            "AGGREGATION_DOCUMENT",
            "DISAGGREGATION_DOCUMENT",
            "LK_RECEIPT",
            "LK_KM_CANCELLATION"
        ]
    );

    assert_eq!(
        exported[0].document,
        json!({
            "trade_sender_inn": SUPPLIER,
            "trade_recipient_inn": OURS,
            "release_order_number": "RO-42",
            "acceptance_date": "2026-11-22",
            "accept_all": false,
            "products": [
                {"uitu_code": sscc(7), "accepted": true, "children": [
                    {"uit_code": cis("SUPPLIED00B1"), "accepted": true},
                    {"uit_code": cis("SUPPLIED00B2"), "accepted": false},
                ]},
                {"uit_code": cis("SUPPLIED00U1"), "accepted": true},
            ],
        }),
        "a task's acceptance: its sender and number, the box with its children, the loose unit"
    );
    assert_eq!(
        exported[1].document,
        json!({
            "trade_recipient_inn": OURS,
            "acceptance_date": "2026-11-22",
            "accept_all": false,
            "products": [{"uit_code": cis("SUPPLIED00F1"), "accepted": true}],
        }),
        "without a task the sender and the order number are left out, not invented"
    );
    assert_eq!(
        exported[2].document,
        json!({
            "participantId": OURS,
            "aggregationUnits": [{
                "unitSerialNumber": sscc(1),
                "aggregationType": "AGGREGATION",
                "sntins": [cis("OURCODE000A1"), cis("OURCODE000A2")],
            }],
        })
    );
    assert_eq!(
        exported[3].document,
        json!({"participant_inn": OURS, "products_list": [{"uitu": sscc(1)}]})
    );
    assert_eq!(
        exported[4].document,
        json!({"inn": OURS, "action": "DAMAGE_LOSS", "document_number": "A-7",
               "document_date": "2026-11-22", "products": [{"cis": cis("OURCODE000W1")}]})
    );
    assert_eq!(
        exported[5].document,
        json!({"participant_inn": OURS, "reason": "KM_SPOILED", "document_number": "A-7",
               "document_date": "2026-11-22", "products": [{"cis": cis("OURCODE000W2")}]})
    );

    let all_codes: Vec<String> = exported
        .iter()
        .flat_map(|d| codes_in(&d.document))
        .collect();
    for leaked in [cis("OURCODE000R9"), cis("OURCODE000C1"), sscc(2)] {
        assert!(
            !all_codes.contains(&leaked),
            "{leaked} belongs only to refused operations"
        );
    }
    for rejected in &s.rejected {
        assert!(!uuids.contains(&uuid_of(rejected)));
    }

    let write_offs = s.hub.export(&["write-off"]);
    assert_eq!(
        write_offs,
        exported[4..].to_vec(),
        "--kind narrows the export"
    );
    let boxes = s.hub.export(&["aggregation", "disaggregation"]);
    assert_eq!(boxes, exported[2..4].to_vec());
}

#[test]
fn the_export_command_prints_one_line_per_document_and_resumes_after_a_seq() {
    let s = scenario();
    let expected = s.hub.export(&[]);

    let out = s.hub.run_export(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), expected.len());
    for (line, document) in lines.iter().zip(&expected) {
        assert_eq!(line["type"], document.doc_type.as_str());
        assert_eq!(line["operation"], document.operation.as_str());
        assert_eq!(line["document"], document.document);
    }

    let third = expected[2].seq.to_string();
    let out = s
        .hub
        .run_export(&["--after", &third, "--kind", "write-off"]);
    assert!(out.status.success());
    let types: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["type"].to_string())
        .collect();
    assert_eq!(types, ["\"LK_RECEIPT\"", "\"LK_KM_CANCELLATION\""]);

    // An operation the hub accepted but that makes no document (a write-off as a document type
    // the hub does not make) is named on standard error and fails the run; the rest still print.
    let odd = write_off("WRITE_OFF", "OTHER", &["OURCODE000C1"]);
    assert_eq!(
        s.hub.push(&s.token, std::slice::from_ref(&odd)),
        [PushResult::Accepted]
    );
    let out = s.hub.run_export(&[]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().count(),
        expected.len()
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(&uuid_of(&odd)), "{stderr}");
    assert!(stderr.contains("WRITE_OFF"), "{stderr}");
}

#[test]
fn integrators_page_through_their_warehouse_s_documents_over_http() {
    let s = scenario();
    let expected = s.hub.export(&["write-off"]);

    let (status, body) = s.hub.get("/v1/documents?kind=write-off&limit=1", &s.token);
    assert_eq!(status, 200, "{body}");
    let first: documents::Page = serde_json::from_value(body).unwrap();
    assert_eq!(first.documents, expected[..1].to_vec());
    assert!(first.more);
    let (_, body) = s.hub.get(
        &format!("/v1/documents?kind=write-off&after={}", first.next_after),
        &s.token,
    );
    let rest: documents::Page = serde_json::from_value(body).unwrap();
    assert_eq!(rest.documents, expected[1..].to_vec());
    assert!(!rest.more);

    let (_, body) = s.hub.get("/v1/documents", &s.token);
    let all: documents::Page = serde_json::from_value(body).unwrap();
    assert_eq!(all.documents, s.hub.export(&[]));

    let elsewhere = s.hub.enroll("W2", OURS);
    let (status, body) = s.hub.get("/v1/documents", &elsewhere);
    assert_eq!(status, 200);
    let theirs: documents::Page = serde_json::from_value(body).unwrap();
    assert!(
        theirs.documents.is_empty(),
        "a token of another warehouse sees none of W1's documents"
    );

    let (status, body) = s.hub.get("/v1/documents?kind=shipment", &s.token);
    assert_eq!((status, &body["code"]), (400, &json!("bad_query")));
    let (status, body) = s.hub.get("/v1/documents", "not-a-token");
    assert_eq!((status, &body["code"]), (401, &json!("token_invalid")));
}
