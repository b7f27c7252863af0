use crate::common::Database;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::thread;

use serde_json::{Value, json};
use tally_domain::gs1::Sscc;
use tally_domain::status::{Inn, Timestamp};
use tally_hub::documents::{self, DocType, ExportedDocument};
use tally_hub::import::import;
use tally_hub::server::Hub;
use tally_wire::{EnrollResponse, Feed, OperationAnswer, PushResponse, PushResult};

const OURS: &str = "7707083893";
const SUPPLIER: &str = "7702070139";
const RELEASE_ORDER: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

/// A product group of the scenario: its GTIN (valid check digit), id and serial length.
#[derive(Clone, Copy)]
struct Group {
    gtin: &'static str,
    id: u8,
    serial: usize,
}

const MILK: Group = Group {
    gtin: "04601234567893",
    id: 8,
    serial: 6,
};
const SHOES: Group = Group {
    gtin: "04600840749372",
    id: 2,
    serial: 13,
};
const TOBACCO: Group = Group {
    gtin: "09506000134352",
    id: 3,
    serial: 7,
};
const WATER: Group = Group {
    gtin: "04690257528523",
    id: 13,
    serial: 13,
};

/// A КИ of the group whose serial is `tag` padded to the group's length.
fn cis(group: Group, tag: &str) -> String {
    let serial = format!("5{tag:A>width$}", width = group.serial - 1);
    format!("01{}21{serial}", group.gtin)
}

fn sscc(n: u64) -> String {
    Sscc::compose(0, "4600840", n).unwrap().to_string()
}

struct TestHub {
    base: String,
    db: Database,
    agent: ureq::Agent,
}

fn status(group: Group, tag: &str, status: &str, owner: &str) -> Value {
    json!({"cis": cis(group, tag), "gtin": group.gtin, "status": status, "ownerInn": owner,
           "packageType": "UNIT", "productGroupId": group.id})
}

fn boxed(line: Value, sscc: &str) -> Value {
    let mut line = line;
    line["parent"] = json!(sscc);
    line
}

/// A hub on a fresh database holding these `cisInfo` lines and task lines.
fn start(statuses: &[Value], tasks: &[Value]) -> TestHub {
    let db = Database::new(BACKEND);
    let store = db.store();
    for (feed, lines) in [(Feed::Statuses, statuses), (Feed::Tasks, tasks)] {
        let text: String = lines.iter().map(|s| format!("{s}\n")).collect();
        let report = import(&store, feed, text.as_bytes()).unwrap();
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
        let (status, _, bytes) = self.fetch(path, token);
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// The answer's status, content type and bytes as they came.
    fn fetch(&self, path: &str, token: &str) -> (u16, Option<String>, Vec<u8>) {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Tally-Protocol", "1")
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, kind, response.into_body().read_to_vec().unwrap())
    }

    fn enroll(&self, warehouse: &str, inn: &str) -> String {
        let code = self.db
            .store()
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

    /// Pushes and returns each operation's answer, in order.
    fn push(&self, token: &str, operations: &[Value]) -> Vec<OperationAnswer> {
        let body = json!({
            "device": {"app_version": "0.1.0", "queue_depth": operations.len(),
                       "cache_synced_at": null},
            "operations": operations,
        });
        let answer: PushResponse =
            serde_json::from_value(self.post("/v1/push", Some(token), &body)).unwrap();
        answer.answers
    }

    /// Everything `documents::page` gives, a small page at a time to cross page boundaries.
    fn export(&self, types: &[DocType]) -> Vec<ExportedDocument> {
        let store = self.db.store();
        let mut after = 0;
        let mut all = Vec::new();
        loop {
            let selection = documents::Selection {
                after,
                types,
                warehouse: None,
            };
            let page = documents::page(&store, selection, 2).unwrap();
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
            .arg("--database")
            .arg(&self.db.location)
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

fn write_off(reason: &str, codes: &[String], replacements: Value) -> Value {
    operation(
        "write-off",
        json!({"reason": reason, "document_number": "A-7", "document_date": "2026-11-22",
               "supervisor": "Петров", "codes": codes, "replacements": replacements}),
    )
}

fn uuid_of(operation: &Value) -> String {
    operation["uuid"].as_str().unwrap().to_owned()
}

/// The JSON Schema of every document type, from `wire/schemas/`.
fn schemas() -> BTreeMap<String, jsonschema::Validator> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wire/schemas");
    DocType::ALL
        .iter()
        .map(|t| {
            let path = dir.join(format!("{}.schema.json", t.api_name()));
            let text = std::fs::read_to_string(&path).unwrap();
            let schema: Value = serde_json::from_str(&text).unwrap();
            let validator = jsonschema::validator_for(&schema)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (t.api_name().to_owned(), validator)
        })
        .collect()
}

fn violations(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// One hub that took operations of every kind and every write-off path, and refused four.
struct Scenario {
    hub: TestHub,
    token: String,
    /// Accepted operations by name.
    ops: BTreeMap<&'static str, Value>,
    answers: BTreeMap<&'static str, OperationAnswer>,
}

fn scenario() -> Scenario {
    let supplier = |g, tag| {
        let mut line = status(g, tag, "INTRODUCED", SUPPLIER);
        line["statusEx"] = json!("WAIT_SHIPMENT");
        line
    };
    let ours = |g, tag| status(g, tag, "INTRODUCED", OURS);
    let statuses = vec![
        supplier(MILK, "U1"),
        supplier(MILK, "U2"),
        boxed(supplier(MILK, "B1"), &sscc(7)),
        boxed(supplier(MILK, "B2"), &sscc(7)),
        supplier(MILK, "S1"),
        supplier(SHOES, "F1"),
        ours(MILK, "A1"),
        ours(MILK, "A2"),
        ours(SHOES, "A3"),
        ours(SHOES, "A4"),
        ours(MILK, "Y1"),
        ours(SHOES, "Y2"),
        boxed(ours(WATER, "D1"), &sscc(4)),
        boxed(ours(WATER, "D2"), &sscc(4)),
        boxed(ours(WATER, "R1"), &sscc(5)),
        ours(WATER, "R2"),
        ours(MILK, "W1"),
        ours(TOBACCO, "T1"),
        status(WATER, "E1", "EMITTED", OURS),
        status(WATER, "E2", "EMITTED", OURS),
        status(SHOES, "P1", "APPLIED", OURS),
        ours(MILK, "M1"),
        status(MILK, "N1", "APPLIED", OURS),
        ours(MILK, "X1"),
        ours(SHOES, "X2"),
        ours(MILK, "O1"),
        ours(MILK, "L1"),
    ];
    let task = json!({"id": "T-1", "number": "RO-42", "senderInn": SUPPLIER,
                      "date": "2026-11-21", "productGroupId": 8,
                      "releaseOrderNumber": RELEASE_ORDER,
                      "units": [cis(MILK, "U1"), cis(MILK, "U2")],
                      "boxes": [{"sscc": sscc(7),
                                 "units": [cis(MILK, "B1"), cis(MILK, "B2")]}]});
    let hub = start(&statuses, &[task]);
    let token = hub.enroll("W1", OURS);

    let aggregate = |n: u64, units: &[String]| {
        json!({"sscc": sscc(n), "level": "box", "status": "INTRODUCED",
               "children": units.iter().map(|u| json!({"unit": u})).collect::<Vec<_>>()})
    };
    let mut pallet = json!({"sscc": sscc(3), "level": "pallet", "status": null,
                            "children": [{"box": sscc(1)}]});
    pallet["children"][0] = json!({"box": sscc(1)});
    let planned: Vec<(&'static str, Value, PushResult)> = vec![
        (
            "acceptance",
            operation(
                "acceptance",
                json!({"task_id": "T-1",
                       "accepted": [cis(MILK, "U1"), cis(MILK, "B1"), cis(MILK, "B2"),
                                    cis(MILK, "S1")],
                       "boxes": [sscc(7)], "rejected": [cis(MILK, "B2")],
                       "surplus": [cis(MILK, "S1")], "missing": [cis(MILK, "U2")],
                       "acceptance_date": "2023-11-14"}),
            ),
            PushResult::Accepted,
        ),
        (
            "free acceptance",
            operation(
                "acceptance",
                json!({"task_id": null, "accepted": [cis(SHOES, "F1")],
                       "acceptance_date": "2023-11-14"}),
            ),
            PushResult::Accepted,
        ),
        (
            "aggregation",
            operation(
                "aggregation",
                json!({"aggregates": [
                    aggregate(1, &[cis(MILK, "A1"), cis(MILK, "A2")]),
                    aggregate(2, &[cis(SHOES, "A3"), cis(SHOES, "A4")]),
                    pallet,
                ]}),
            ),
            PushResult::Accepted,
        ),
        (
            "mixed box",
            operation(
                "aggregation",
                json!({"aggregates": [aggregate(6, &[cis(MILK, "Y1"), cis(SHOES, "Y2")])]}),
            ),
            PushResult::Rejected,
        ),
        (
            "disaggregation",
            operation("disaggregation", json!({"labels": [sscc(4)]})),
            PushResult::Accepted,
        ),
        (
            "adding",
            operation(
                "reaggregation",
                json!({"sscc": sscc(5), "type": "adding", "units": [cis(WATER, "R2")]}),
            ),
            PushResult::Accepted,
        ),
        (
            "removing",
            operation(
                "reaggregation",
                json!({"sscc": sscc(5), "type": "removing", "units": [cis(WATER, "R1")]}),
            ),
            PushResult::Accepted,
        ),
        (
            "damage",
            write_off("damage_loss", &[cis(MILK, "W1")], json!([])),
            PushResult::Accepted,
        ),
        (
            "destruction",
            write_off("destruction", &[cis(TOBACCO, "T1")], json!([])),
            PushResult::Accepted,
        ),
        (
            "cancellation",
            write_off("code_spoiled", &[cis(WATER, "E1")], json!([])),
            PushResult::Accepted,
        ),
        (
            "applied cancellation",
            write_off("code_lost", &[cis(SHOES, "P1")], json!([])),
            PushResult::Accepted,
        ),
        (
            "remark",
            write_off(
                "code_spoiled",
                &[cis(MILK, "M1")],
                json!([{"old": cis(MILK, "M1"), "new": cis(MILK, "N1")}]),
            ),
            PushResult::Accepted,
        ),
        (
            "mixed write-off",
            write_off(
                "damage_loss",
                &[cis(MILK, "X1"), cis(SHOES, "X2")],
                json!([]),
            ),
            PushResult::Accepted,
        ),
        (
            "other",
            write_off("other", &[cis(MILK, "O1")], json!([])),
            PushResult::Rejected,
        ),
        (
            "lost label",
            write_off("code_lost", &[cis(MILK, "L1")], json!([])),
            PushResult::Rejected,
        ),
        (
            "goods reason on an emitted code",
            write_off("damage_loss", &[cis(WATER, "E2")], json!([])),
            PushResult::Rejected,
        ),
    ];
    let operations: Vec<Value> = planned.iter().map(|(_, op, _)| op.clone()).collect();
    let answers = hub.push(&token, &operations);
    let mut by_name = BTreeMap::new();
    let mut ops = BTreeMap::new();
    for ((name, op, expected), answer) in planned.into_iter().zip(answers) {
        assert_eq!(answer.result, expected, "{name}: {answer:?}");
        if expected == PushResult::Accepted {
            ops.insert(name, op);
        }
        by_name.insert(name, answer);
    }
    Scenario {
        hub,
        token,
        ops,
        answers: by_name,
    }
}

#[test]
fn every_exported_document_passes_its_schema_with_one_product_group() {
    let s = scenario();
    let schemas = schemas();
    let exported = s.hub.export(&[]);
    for document in &exported {
        let validator = &schemas[document.doc_type.api_name()];
        let wrong = violations(validator, &document.document);
        assert!(
            wrong.is_empty(),
            "{} violates its schema: {wrong:?}\n{:#}",
            document.doc_type.api_name(),
            document.document
        );
    }
    let made = |name: &str| -> Vec<(&'static str, String)> {
        let uuid = uuid_of(&s.ops[name]);
        exported
            .iter()
            .filter(|d| d.operation == uuid)
            .map(|d| (d.doc_type.api_name(), d.pg.clone()))
            .collect()
    };
    let one = |t: &'static str, pg: &str| vec![(t, pg.to_owned())];
    assert_eq!(made("acceptance"), one("LP_ACCEPT_GOODS", "milk"));
    assert_eq!(
        made("free acceptance"),
        vec![],
        "no shipment, no LP_ACCEPT_GOODS"
    );
    assert_eq!(
        made("aggregation"),
        vec![
            ("AGGREGATION_DOCUMENT", "shoes".to_owned()),
            ("AGGREGATION_DOCUMENT", "milk".to_owned())
        ],
        "split by product group; the pallet goes with its box's group"
    );
    assert_eq!(
        made("disaggregation"),
        one("DISAGGREGATION_DOCUMENT", "water")
    );
    assert_eq!(made("adding"), one("REAGGREGATION_DOCUMENT", "water"));
    assert_eq!(made("removing"), one("REAGGREGATION_DOCUMENT", "water"));
    assert_eq!(made("damage"), one("LK_RECEIPT", "milk"));
    assert_eq!(made("destruction"), one("LK_RECEIPT", "tobacco"));
    assert_eq!(made("cancellation"), one("LK_KM_CANCELLATION", "water"));
    assert_eq!(
        made("applied cancellation"),
        one("LK_APPLIED_KM_CANCELLATION", "shoes")
    );
    assert_eq!(made("remark"), one("LK_REMARK", "milk"));
    assert_eq!(
        made("mixed write-off"),
        vec![
            ("LK_RECEIPT", "shoes".to_owned()),
            ("LK_RECEIPT", "milk".to_owned())
        ]
    );
    let uuids_out: Vec<&str> = exported.iter().map(|d| d.operation.as_str()).collect();
    for (name, answer) in &s.answers {
        if answer.result == PushResult::Rejected {
            assert!(!uuids_out.contains(&answer.uuid.as_str()), "{name} leaked");
        }
    }
    let codes = |name: &str| {
        s.answers[name]
            .reasons
            .iter()
            .map(|r| r.code.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(codes("mixed box"), ["mixed_product_groups"]);
    assert_eq!(codes("other"), ["no_gis_mt_route"]);
    assert_eq!(codes("lost label"), ["remark_needs_new_code"]);
    assert_eq!(
        codes("goods reason on an emitted code"),
        ["no_gis_mt_route"]
    );
    let notices = &s.answers["free acceptance"].notices;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].code, "no_shipment_document");
    assert!(!notices[0].ru.is_empty());
}

#[test]
fn an_acceptance_lists_every_shipped_code_and_leaves_the_surplus_to_the_discrepancies() {
    let s = scenario();
    let exported = s.hub.export(&[DocType::LpAcceptGoods]);
    let [document] = exported.as_slice() else {
        panic!("{exported:?}");
    };
    let d = &document.document;
    assert_eq!(d["request_type"], "ACCEPTANCE");
    assert_eq!(d["turnover_type"], "SELLING");
    assert_eq!(d["release_order_number"], RELEASE_ORDER);
    assert_eq!(d["trade_sender_inn"], SUPPLIER);
    assert_eq!(d["trade_recipient_inn"], OURS);
    assert_eq!(d["acceptance_date"], "2023-11-14T22:14:20.000Z");
    assert_eq!(
        d["products"],
        json!([
            {"uit_code": cis(MILK, "U1"), "accepted": true},
            {"uit_code": cis(MILK, "U2"), "accepted": false},
            {"uitu_code": sscc(7), "accepted": true, "children": [
                {"uit_code": cis(MILK, "B1"), "accepted": true},
                {"uit_code": cis(MILK, "B2"), "accepted": false},
            ]},
        ]),
        "the surplus S1 was never shipped: it is not in the document"
    );
    let out = s.hub.run_export(&["--discrepancies"]);
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["operation"], uuid_of(&s.ops["acceptance"]));
    assert_eq!(lines[0]["supplier_inn"], SUPPLIER);
    assert_eq!(lines[0]["surplus"], json!([cis(MILK, "S1")]));
    assert_eq!(lines[0]["missing"], json!([cis(MILK, "U2")]));
}

#[test]
fn write_offs_carry_what_their_route_needs() {
    let s = scenario();
    let by_type = |t: DocType| s.hub.export(&[t]);
    let receipts = by_type(DocType::LkReceipt);
    let tobacco = receipts.iter().find(|d| d.pg == "tobacco").unwrap();
    assert_eq!(
        tobacco.document["products"],
        json!([{"cis": format!("{}{}", TOBACCO.gtin, &cis(TOBACCO, "T1")[18..])}]),
        "a tobacco pack goes as its 21 characters"
    );
    assert_eq!(tobacco.document["document_type"], "DESTRUCTION_ACT");
    assert!(
        tobacco
            .document
            .get("primary_document_custom_name")
            .is_none()
    );
    let damage = receipts
        .iter()
        .find(|d| d.operation == uuid_of(&s.ops["damage"]))
        .unwrap();
    assert_eq!(damage.document["action"], "DAMAGE_LOSS");
    assert_eq!(damage.document["document_type"], "OTHER");
    assert!(damage.document["primary_document_custom_name"].is_string());
    let cancellation = &by_type(DocType::LkKmCancellation)[0].document;
    assert_eq!(cancellation["cancellation_doc_date"], "22.11.2026");
    assert_eq!(
        cancellation["km_list"],
        json!([{"uit": cis(WATER, "E1"), "cancellation_reason": "KM_SPOILED"}])
    );
    let remark = &by_type(DocType::LkRemark)[0].document;
    assert_eq!(remark["products"][0]["last_uin"], cis(MILK, "M1"));
    assert_eq!(remark["products"][0]["new_uin"], cis(MILK, "N1"));
}

#[test]
fn the_schemas_take_their_valid_examples_and_refuse_the_invalid_ones() {
    let schemas = schemas();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wire/schemas/examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some((doc_type, rest)) = name.split_once('.') else {
            continue;
        };
        let Some(validator) = schemas.get(doc_type) else {
            continue;
        };
        let document: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let wrong = violations(validator, &document);
        if rest.starts_with("valid") {
            assert!(wrong.is_empty(), "{name}: {wrong:?}");
        } else {
            assert!(!wrong.is_empty(), "{name} passed its schema");
        }
        checked += 1;
    }
    assert!(checked >= 2 * DocType::ALL.len(), "{checked} examples");
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
    // The acceptance that made no document is named, with why, beside the documents.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&uuid_of(&s.ops["free acceptance"]))
            && stderr.contains("no_shipment_document"),
        "{stderr}"
    );
    let store = s.hub.db.store();
    let page = documents::page(&store, documents::Selection::default(), 100).unwrap();
    assert_eq!(page.notices.len(), 1, "{:?}", page.notices);
    assert_eq!(
        page.notices[0].operation,
        uuid_of(&s.ops["free acceptance"])
    );
    for (line, document) in lines.iter().zip(&expected) {
        assert_eq!(line["type"], document.doc_type.api_name());
        assert_eq!(line["pg"], document.pg.as_str());
        assert_eq!(line["operation"], document.operation.as_str());
        assert_eq!(line["seq"], document.seq);
        assert_eq!(line["document"], document.document);
    }

    let after = expected
        .iter()
        .find(|d| d.operation == uuid_of(&s.ops["cancellation"]))
        .unwrap()
        .seq
        .to_string();
    let out = s
        .hub
        .run_export(&["--after", &after, "--kind", "write-off"]);
    assert!(out.status.success());
    let types: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["type"].to_string())
        .collect();
    assert_eq!(
        types,
        [
            "\"LK_APPLIED_KM_CANCELLATION\"",
            "\"LK_REMARK\"",
            "\"LK_RECEIPT\"",
            "\"LK_RECEIPT\""
        ]
    );
}

#[test]
fn integrators_page_through_their_warehouse_s_documents_over_http() {
    let s = scenario();
    let expected = s
        .hub
        .export(DocType::made_from(tally_wire::DocumentKind::WriteOff));
    assert!(expected.len() > 2);

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

    let (_, body) = s.hub.get("/v1/documents?type=LK_REMARK", &s.token);
    let remarks: documents::Page = serde_json::from_value(body).unwrap();
    assert_eq!(remarks.documents, s.hub.export(&[DocType::LkRemark]));

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

    let (status, body) = s.hub.get("/v1/documents?kind=stocktake", &s.token);
    assert_eq!((status, &body["code"]), (400, &json!("bad_query")));
    let (status, body) = s.hub.get("/v1/documents?type=WRITE_OFF", &s.token);
    assert_eq!((status, &body["code"]), (400, &json!("bad_query")));
    let (status, body) = s.hub.get("/v1/documents", "not-a-token");
    assert_eq!((status, &body["code"]), (401, &json!("token_invalid")));
}

#[test]
fn a_shipment_unpacks_its_opened_boxes_and_ships_units_and_whole_boxes_once() {
    let ours = |tag| status(MILK, tag, "INTRODUCED", OURS);
    let mut on_its_way = ours("X1");
    on_its_way["statusEx"] = json!("WAIT_SHIPMENT");
    let statuses = [
        ours("U1"),
        ours("U2"),
        boxed(ours("B1"), &sscc(20)),
        boxed(ours("B2"), &sscc(20)),
        boxed(ours("C1"), &sscc(21)),
        boxed(ours("C2"), &sscc(21)),
        status(MILK, "R1", "RETIRED", OURS),
        on_its_way,
    ];
    let hub = start(&statuses, &[]);
    let catalog = format!(
        "{}\n",
        json!({"gtin": MILK.gtin, "name": "Молоко 2,5% 0,9 л", "productGroupId": 8})
    );
    assert!(import(&hub.db.store(), Feed::Catalog, catalog.as_bytes()).unwrap().rejected.is_empty());
    let token = hub.enroll("W1", OURS);
    let shipment = |units: &[String], labels: &[String], opened: &[String], receiver: &str| {
        operation(
            "shipment",
            json!({"order_id": "O-7", "receiver_inn": receiver, "document_number": "РН-17",
                   "document_date": "2026-12-02", "units": units, "labels": labels,
                   "opened": opened}),
        )
    };
    // Box 21 opened for one unit of it; box 20 whole; two loose units.
    let good = shipment(&[cis(MILK, "U1"), cis(MILK, "U2"), cis(MILK, "C1")], &[sscc(20)], &[sscc(21)], SUPPLIER);
    let answers = hub.push(&token, std::slice::from_ref(&good));
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");

    let schemas = schemas();
    let exported = hub.export(&[DocType::DisaggregationDocument, DocType::LpShipGoods]);
    let types: Vec<&str> = exported.iter().map(|d| d.doc_type.api_name()).collect();
    assert_eq!(types, ["DISAGGREGATION_DOCUMENT", "LP_SHIP_GOODS"], "unpacked before shipped");
    for document in &exported {
        let wrong = violations(&schemas[document.doc_type.api_name()], &document.document);
        assert!(wrong.is_empty(), "{wrong:?}\n{:#}", document.document);
    }
    assert_eq!(exported[0].document["products_list"], json!([{"uitu": sscc(21)}]));
    let ship = &exported[1].document;
    assert_eq!(
        (&ship["sender_inn"], &ship["receiver_inn"], &ship["turnover_type"], &ship["document_num"]),
        (&json!(OURS), &json!(SUPPLIER), &json!("SELLING"), &json!("РН-17"))
    );
    assert_eq!(ship["document_date"], "2026-12-02");
    assert_eq!(ship["transfer_date"], "2023-11-15", "the day it finished, Moscow time");
    assert_eq!(
        ship["products"],
        json!([
            {"uit_code": cis(MILK, "U1"), "product_description": "Молоко 2,5% 0,9 л"},
            {"uit_code": cis(MILK, "U2"), "product_description": "Молоко 2,5% 0,9 л"},
            {"uit_code": cis(MILK, "C1"), "product_description": "Молоко 2,5% 0,9 л"},
            {"uitu_code": sscc(20), "product_description": "Короб: Молоко 2,5% 0,9 л, 2 шт."},
        ])
    );

    // What shipped is on its way: a second shipment of it is refused, as are a sold code, a
    // code already on its way and a shipment to ourselves; nothing of those is made.
    for (units, labels, receiver, code) in [
        (vec![cis(MILK, "U1")], vec![], SUPPLIER, "status_ex_forbids"),
        (vec![], vec![sscc(20)], SUPPLIER, "status_ex_forbids"),
        (vec![cis(MILK, "R1")], vec![], SUPPLIER, "out_of_circulation"),
        (vec![cis(MILK, "X1")], vec![], SUPPLIER, "status_ex_forbids"),
        (vec![cis(MILK, "C2")], vec![], OURS, "ship_to_self"),
    ] {
        let answers = hub.push(&token, &[shipment(&units, &labels, &[], receiver)]);
        assert_eq!(answers[0].result, PushResult::Rejected, "{code}: {answers:?}");
        assert!(answers[0].reasons.iter().any(|r| r.code == code), "{code}: {answers:?}");
    }
    assert_eq!(hub.export(&[DocType::LpShipGoods]).len(), 1);
}

#[test]
fn a_customer_return_brings_sold_codes_back_and_re_marks_unreadable_labels() {
    let sold = |g, tag| status(g, tag, "RETIRED", OURS);
    let mut sold_elsewhere = status(MILK, "Z1", "RETIRED", OURS);
    sold_elsewhere.as_object_mut().unwrap().remove("ownerInn");
    let statuses = [
        sold(MILK, "R1"),
        sold(MILK, "R2"),
        sold(SHOES, "S1"),
        sold(MILK, "R4"),
        sold_elsewhere,
        status(MILK, "U1", "INTRODUCED", OURS),
        status(SHOES, "N1", "APPLIED", OURS),
        status(SHOES, "N2", "INTRODUCED", OURS),
        status(MILK, "N3", "APPLIED", OURS),
        status(SHOES, "N4", "EMITTED", OURS),
    ];
    let hub = start(&statuses, &[]);
    let catalog = [
        json!({"gtin": MILK.gtin, "name": "Молоко 2,5% 0,9 л", "productGroupId": 8}),
        json!({"gtin": SHOES.gtin, "name": "Туфли", "productGroupId": 2, "tnved": "6403999800"}),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect::<String>();
    assert!(import(&hub.db.store(), Feed::Catalog, catalog.as_bytes()).unwrap().rejected.is_empty());
    let token = hub.enroll("W1", OURS);
    let returned = |cause: &str, paid: bool, units: &[String], relabelled: &[String]| {
        operation(
            "return",
            json!({"cause": cause, "receipt": "receipt", "document_number": "ФД-7711",
                   "document_date": "2026-12-02", "paid": paid, "units": units,
                   "relabelled": relabelled}),
        )
    };
    let good = returned(
        "retail",
        true,
        &[cis(MILK, "R1"), cis(MILK, "R2"), cis(SHOES, "S1")],
        &[cis(SHOES, "N1")],
    );
    let answers = hub.push(&token, std::slice::from_ref(&good));
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");

    let schemas = schemas();
    let exported = hub.export(&[DocType::LpReturn, DocType::LkRemark]);
    let made: Vec<(&str, &str)> = exported
        .iter()
        .map(|d| (d.doc_type.api_name(), d.pg.as_str()))
        .collect();
    assert_eq!(
        made,
        [("LP_RETURN", "shoes"), ("LP_RETURN", "milk"), ("LK_REMARK", "shoes")],
        "one document per product group, the codes read off the goods first"
    );
    for document in &exported {
        let wrong = violations(&schemas[document.doc_type.api_name()], &document.document);
        assert!(wrong.is_empty(), "{wrong:?}\n{:#}", document.document);
    }
    let milk = &exported[1].document;
    assert_eq!(
        *milk,
        json!({"trade_participant_inn": OURS, "return_type": "RETAIL_RETURN",
               "primary_document_type": "RECEIPT", "primary_document_number": "ФД-7711",
               "primary_document_date": "2026-12-02T00:00:00.000Z",
               "products": [{"ki": cis(MILK, "R1")}, {"ki": cis(MILK, "R2")}]})
    );
    let remark = &exported[2].document;
    assert_eq!(remark["remarking_cause"], "RETAIL_RETURN");
    assert_eq!(
        remark["products"],
        json!([{"new_uin": cis(SHOES, "N1"), "remarking_date": "2023-11-14T22:14:20.000Z",
                "remarking_cause": "RETAIL_RETURN", "tnved_10": "6403999800",
                "primary_document_type": "RECEIPT", "primary_document_number": "ФД-7711",
                "primary_document_date": "2026-12-02T00:00:00.000Z"}])
    );

    // Back in circulation and ours: the returned unit ships again, and comes back only once.
    let ship = operation(
        "shipment",
        json!({"receiver_inn": SUPPLIER, "document_number": "РН-18",
               "document_date": "2026-12-02", "units": [cis(MILK, "R1")]}),
    );
    let answers = hub.push(&token, &[ship]);
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");

    // Refused, and nothing made: a code not sold (back already, or never sold), a code
    // another seller sold, a new label that marks goods already, a re-marking the catalog
    // has no TN VED code for, a retail sale said to be unpaid.
    for (units, relabelled, cause, paid, code) in [
        (vec![cis(MILK, "R2")], vec![], "retail", true, "wrong_status"),
        (vec![cis(MILK, "U1")], vec![], "retail", true, "wrong_status"),
        (vec![cis(MILK, "Z1")], vec![], "retail", true, "not_ours"),
        (vec![], vec![cis(SHOES, "N2")], "retail", true, "not_a_new_code"),
        (vec![], vec![cis(MILK, "N3")], "retail", true, "no_tnved"),
        (vec![cis(MILK, "R4")], vec![], "retail", false, "retail_unpaid"),
    ] {
        let answers = hub.push(&token, &[returned(cause, paid, &units, &relabelled)]);
        assert_eq!(answers[0].result, PushResult::Rejected, "{code}: {answers:?}");
        assert!(answers[0].reasons.iter().any(|r| r.code == code), "{code}: {answers:?}");
    }
    assert_eq!(hub.export(&[DocType::LpReturn, DocType::LkRemark]).len(), 3);

    // A remote sale refused at the door comes back unpaid: no primary document then.
    let unpaid = returned("remote_sale", false, &[cis(MILK, "R4")], &[cis(SHOES, "N4")]);
    let answers = hub.push(&token, &[unpaid]);
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");
    let exported = hub.export(&[DocType::LpReturn, DocType::LkRemark]);
    assert_eq!(exported.len(), 5);
    for document in &exported[3..] {
        let wrong = violations(&schemas[document.doc_type.api_name()], &document.document);
        assert!(wrong.is_empty(), "{wrong:?}\n{:#}", document.document);
        assert_eq!(document.document.get("primary_document_number"), None);
    }
    assert_eq!(exported[3].document["paid"], false);
    assert_eq!(exported[4].document["products"][0]["paid"], false);
}

#[test]
fn an_inventory_reports_against_the_hub_and_its_settlement_writes_off_what_is_still_missing() {
    let ours = |tag| status(MILK, tag, "INTRODUCED", OURS);
    let statuses = [
        ours("I1"),
        ours("I2"),
        ours("M1"),
        ours("M2"),
        // Counted as ours by a terminal that has not heard of the sale yet.
        status(MILK, "S1", "RETIRED", OURS),
        // Missing on the shelf and sold since: left the shelf another way.
        status(MILK, "S2", "RETIRED", OURS),
        status(MILK, "F1", "INTRODUCED", SUPPLIER),
    ];
    let hub = start(&statuses, &[]);
    let token = hub.enroll("W1", OURS);
    let count = |settle: Option<&str>, supervisor: Option<&str>| {
        let mut payload = json!({"zone": "Ряд 3, \"холодильник\"", "document_number": "ИНВ-7",
            "document_date": "2026-12-02",
            "found": [cis(MILK, "I1"), cis(MILK, "I2"), cis(MILK, "S1")],
            "foreign": [cis(MILK, "F1")], "unknown": [cis(MILK, "U9")],
            "missing": [cis(MILK, "M1"), cis(MILK, "M2"), cis(MILK, "S2")]});
        if let Some(reason) = settle {
            payload["settle"] = json!(reason);
        }
        if let Some(name) = supervisor {
            payload["supervisor"] = json!(name);
        }
        operation("inventory", payload)
    };
    // A count alone changes nothing and makes no document.
    let answers = hub.push(&token, &[count(None, None)]);
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");
    assert!(hub.export(&[]).is_empty());
    // Settled: what is still ours and in stock is written off, the sold one is only reported.
    let settled = count(Some("damage_loss"), Some("Петров"));
    let answers = hub.push(&token, std::slice::from_ref(&settled));
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");
    let exported = hub.export(&[]);
    assert_eq!(exported.len(), 1, "{exported:?}");
    let receipt = &exported[0];
    assert_eq!(receipt.doc_type, DocType::LkReceipt);
    assert_eq!(receipt.operation, uuid_of(&settled));
    let wrong = violations(&schemas()["LK_RECEIPT"], &receipt.document);
    assert!(wrong.is_empty(), "{wrong:?}");
    assert_eq!(receipt.document["action"], "DAMAGE_LOSS");
    assert_eq!(
        receipt.document["products"],
        json!([{"cis": cis(MILK, "M1")}, {"cis": cis(MILK, "M2")}])
    );
    // Written off on the list: the same settlement again takes nothing more.
    let answers = hub.push(&token, &[count(Some("damage_loss"), Some("Петров"))]);
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");
    assert_eq!(hub.export(&[]).len(), 1);

    // The report, as CSV, judged against the hub's list.
    let output = hub.run_export(&["--inventory"]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        ["operation", "seq", "zone", "document", "code", "finding", "status", "written_off"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let of = |uuid: &str| -> Vec<(String, String, String, String)> {
        rows.iter()
            .filter(|r| r[0] == uuid)
            .map(|r| (r[4].clone(), r[5].clone(), r[6].clone(), r[7].clone()))
            .collect()
    };
    let row = |tag: &str, finding: &str, status: &str, off: &str| {
        (cis(MILK, tag), finding.to_owned(), status.to_owned(), off.to_owned())
    };
    assert_eq!(
        of(&uuid_of(&settled)),
        [
            row("I1", "found", "", "no"),
            row("I2", "found", "", "no"),
            row("M1", "missing", "", "yes"),
            row("M2", "missing", "", "yes"),
            row("S2", "missing", "", "no"),
            row("F1", "foreign", "", "no"),
            row("S1", "wrong_status", "RETIRED", "no"),
            row("U9", "unknown", "", "no"),
        ]
    );
    assert!(rows.iter().all(|r| r[2] == "Ряд 3, \"холодильник\"" && r[3] == "ИНВ-7"));
    assert_eq!(rows.len(), 3 * 8);
}

#[test]
fn a_pallet_ships_what_its_boxes_hold_and_ships_once() {
    let ours = |tag| status(MILK, tag, "INTRODUCED", OURS);
    let hub = start(&[ours("P1"), ours("P2"), ours("P3")], &[]);
    let token = hub.enroll("W1", OURS);
    let (inner, pallet) = (sscc(31), sscc(32));
    let packed = operation(
        "aggregation",
        json!({"aggregates": [
            {"sscc": inner, "level": "box", "status": "INTRODUCED",
             "children": [{"unit": cis(MILK, "P1")}, {"unit": cis(MILK, "P2")}]},
            {"sscc": pallet, "level": "pallet", "status": null, "children": [{"box": inner}]},
        ]}),
    );
    let shipment = |labels: &[&String], units: &[String]| {
        operation(
            "shipment",
            json!({"receiver_inn": SUPPLIER, "document_number": "РН-31",
                   "document_date": "2026-12-02", "labels": labels, "units": units}),
        )
    };
    let answers = hub.push(&token, &[packed, shipment(&[&pallet], &[])]);
    assert!(
        answers.iter().all(|a| a.result == PushResult::Accepted),
        "{answers:?}"
    );
    let shipped = hub.export(&[DocType::LpShipGoods]);
    assert_eq!(shipped.len(), 1);
    let wrong = violations(&schemas()["LP_SHIP_GOODS"], &shipped[0].document);
    assert!(wrong.is_empty(), "{wrong:?}");
    assert_eq!(shipped[0].document["products"][0]["uitu_code"], pallet.as_str());
    assert!(
        shipped[0].document["products"][0]["product_description"]
            .as_str()
            .unwrap()
            .ends_with("2 шт."),
        "{:#}",
        shipped[0].document
    );
    // Its units are on their way: neither the pallet nor its box nor a unit ships again.
    for again in [
        shipment(&[&pallet], &[]),
        shipment(&[&inner], &[]),
        shipment(&[], &[cis(MILK, "P1")]),
    ] {
        let answers = hub.push(&token, &[again]);
        assert_eq!(answers[0].result, PushResult::Rejected, "{answers:?}");
        assert!(
            answers[0].reasons.iter().any(|r| r.code == "status_ex_forbids"),
            "{answers:?}"
        );
    }
}

#[test]
fn a_shipment_s_upd_code_list_names_its_units_boxes_and_pallet_line_by_line() {
    let ours = |group, tag| status(group, tag, "INTRODUCED", OURS);
    let (inner, pallet, gis_box) = (sscc(42), sscc(43), sscc(41));
    let hub = start(
        &[
            ours(MILK, "P1"),
            ours(MILK, "P2"),
            ours(MILK, "L1"),
            boxed(ours(SHOES, "B1"), &gis_box),
            boxed(ours(SHOES, "B2"), &gis_box),
            ours(SHOES, "L2"),
        ],
        &[],
    );
    let token = hub.enroll("W1", OURS);
    let packed = operation(
        "aggregation",
        json!({"aggregates": [
            {"sscc": inner, "level": "box", "status": "INTRODUCED",
             "children": [{"unit": cis(MILK, "P1")}, {"unit": cis(MILK, "P2")}]},
            {"sscc": pallet, "level": "pallet", "status": null, "children": [{"box": inner}]},
        ]}),
    );
    let shipment = operation(
        "shipment",
        json!({"receiver_inn": SUPPLIER, "document_number": "УПД-43", "document_date": "2026-12-02",
               "labels": [pallet, gis_box], "units": [cis(MILK, "L1"), cis(SHOES, "L2")]}),
    );
    let answers = hub.push(&token, &[packed.clone(), shipment.clone()]);
    assert!(
        answers.iter().all(|a| a.result == PushResult::Accepted),
        "{answers:?}"
    );
    let admin = hub
        .db
        .store()
        .create_admin_token("books", Timestamp(0))
        .unwrap();
    let fetch = |path: &str, token: &str| hub.fetch(path, token);
    let id = uuid_of(&shipment);
    let (status, kind, bytes) = fetch(&format!("/v1/results/{id}/upd"), &admin);
    assert_eq!(status, 200);
    assert_eq!(
        kind.as_deref(),
        Some("application/xml; charset=windows-1251")
    );
    let (text, _, malformed) = encoding_rs::WINDOWS_1251.decode(&bytes);
    assert!(!malformed);
    let flat: String = text.lines().map(str::trim).collect();
    // Shoes: the loose pair as КИЗ, the GIS MT box as НомУпак; three pairs in all.
    let shoes = format!(
        "<СвТов НомСтр=\"1\" НаимТов=\"\" ОКЕИ_Тов=\"796\" КолТов=\"3\"><ДопСведТов КодТов=\"{}\">\
         <НомСредИдентТов><КИЗ>{}</КИЗ></НомСредИдентТов>\
         <НомСредИдентТов><НомУпак>{gis_box}</НомУпак></НомСредИдентТов></ДопСведТов></СвТов>",
        SHOES.gtin,
        cis(SHOES, "L2")
    );
    // Milk: the loose unit, and the pallet over the box built on the terminal.
    let milk = format!(
        "<СвТов НомСтр=\"2\" НаимТов=\"\" ОКЕИ_Тов=\"796\" КолТов=\"3\"><ДопСведТов КодТов=\"{}\">\
         <НомСредИдентТов><КИЗ>{}</КИЗ></НомСредИдентТов>\
         <НомСредИдентТов ИдентТрансУпак=\"{pallet}\"><НомУпак>{inner}</НомУпак>\
         </НомСредИдентТов></ДопСведТов></СвТов>",
        MILK.gtin,
        cis(MILK, "L1")
    );
    assert!(flat.contains(&format!("{shoes}{milk}</КодыМаркировкиУПД>")), "{text}");
    assert!(
        flat.contains(&format!("НомерДок=\"УПД-43\" ДатаДок=\"02.12.2026\" ИННПокуп=\"{SUPPLIER}\"")),
        "{text}"
    );

    // The JSON results say the same of each line.
    let (status, _, body) = fetch("/v1/results", &admin);
    assert_eq!(status, 200);
    let body: Value = serde_json::from_slice(&body).unwrap();
    let result = &body["results"][0];
    assert_eq!(result["documentDate"], "2026-12-02");
    assert_eq!(
        result["lines"][1]["packages"],
        json!([{"sscc": pallet, "boxes": [inner], "units": 2}])
    );
    assert_eq!(result["lines"][1]["quantity"], 3);

    // Nothing for a terminal, nothing for what is not a shipment applied.
    let (status, _, _) = fetch(&format!("/v1/results/{id}/upd"), &token);
    assert_eq!(status, 403);
    for other in [uuid_of(&packed), uuid::Uuid::new_v4().to_string(), "x".into()] {
        let (status, _, body) = fetch(&format!("/v1/results/{other}/upd"), &admin);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((status, &body["code"]), (404, &json!("not_found")));
    }
}

#[test]
fn a_move_takes_units_out_of_their_boxes_then_adds_them_judged_by_the_hubs_list() {
    let ours = |tag| status(WATER, tag, "INTRODUCED", OURS);
    let (target, first, second) = (sscc(51), sscc(52), sscc(53));
    let hub = start(
        &[
            boxed(ours("G1"), &target),
            boxed(ours("G2"), &first),
            boxed(ours("G3"), &first),
            boxed(ours("G4"), &second),
            ours("G5"),
        ],
        &[],
    );
    let token = hub.enroll("W1", OURS);
    let unit = |tag| cis(WATER, tag);
    let moving = |units: &[String], taken: Value| {
        operation(
            "reaggregation",
            json!({"sscc": target, "type": "moving", "units": units, "taken_from": taken}),
        )
    };
    let refused = |op: Value, code: &str| {
        let answers = hub.push(&token, &[op]);
        assert_eq!(answers[0].result, PushResult::Rejected, "{answers:?}");
        assert!(
            answers[0].reasons.iter().any(|r| r.code == code),
            "{code}: {answers:?}"
        );
    };
    // The terminal saw G2 in the second box, the hub's list has it in the first.
    refused(
        moving(&[unit("G2")], json!([{"sscc": second, "units": [unit("G2")]}])),
        "moved_from_elsewhere",
    );
    refused(moving(&[unit("G1")], json!([])), "already_inside");
    refused(
        moving(&[unit("G5")], json!([{"sscc": first, "units": [unit("G3")]}])),
        "bad_move",
    );
    assert!(hub.export(&[DocType::ReaggregationDocument]).is_empty());

    let moved = moving(
        &[unit("G2"), unit("G4"), unit("G5")],
        json!([{"sscc": first, "units": [unit("G2")]}, {"sscc": second, "units": [unit("G4")]}]),
    );
    let answers = hub.push(&token, &[moved]);
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");
    let documents = hub.export(&[DocType::ReaggregationDocument]);
    let schema = &schemas()["REAGGREGATION_DOCUMENT"];
    let shape: Vec<(String, String, Vec<String>)> = documents
        .iter()
        .map(|d| {
            let wrong = violations(schema, &d.document);
            assert!(wrong.is_empty(), "{wrong:?}");
            (
                d.document["reaggregation_type"].as_str().unwrap().to_owned(),
                d.document["uitu"].as_str().unwrap().to_owned(),
                d.document["uit_uitu_list"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["uit_uitu"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("REMOVING".to_owned(), first.clone(), vec![unit("G2")]),
            ("REMOVING".to_owned(), second.clone(), vec![unit("G4")]),
            (
                "ADDING".to_owned(),
                target.clone(),
                vec![unit("G2"), unit("G4"), unit("G5")]
            ),
        ]
    );
    // GIS MT adds only a unit in no box: the link sends the ADDING after both REMOVINGs.
    let unfinished = hub.db.store().unfinished_submissions(100).unwrap();
    let held = tally_hub::gismt::link::held_back(&unfinished);
    let positions: Vec<(i64, bool)> = unfinished
        .iter()
        .filter(|s| s.doc_type == "REAGGREGATION_DOCUMENT")
        .map(|s| (s.position, held.contains(&(s.operation, s.position))))
        .collect();
    assert_eq!(positions, [(0, false), (1, false), (2, true)]);
    // The hub's list moved with them: G2 is no longer in the first box, but in the target.
    refused(
        operation(
            "reaggregation",
            json!({"sscc": first, "type": "removing", "units": [unit("G2")]}),
        ),
        "not_in_box",
    );
    let back = operation(
        "reaggregation",
        json!({"sscc": target, "type": "removing", "units": [unit("G2")]}),
    );
    assert_eq!(hub.push(&token, &[back])[0].result, PushResult::Accepted);
}

#[test]
fn a_pallet_only_gis_mt_knows_ships_its_boxes_units_and_names_them_for_the_upd() {
    let ours = |tag| status(WATER, tag, "INTRODUCED", OURS);
    let (pallet, left, right) = (sscc(61), sscc(62), sscc(63));
    let label = |sscc: &str, level: &str, parent: Option<&str>, child: Value| {
        let mut line = json!({"cis": sscc, "status": "INTRODUCED", "ownerInn": OURS,
                              "packageType": level, "productGroupId": WATER.id, "child": child});
        if let Some(parent) = parent {
            line["parent"] = json!(parent);
        }
        line
    };
    let hub = start(
        &[
            label(&pallet, "LEVEL2", None, json!([left, format!("00{right}")])),
            label(&left, "LEVEL1", Some(&pallet), json!([cis(WATER, "H1"), cis(WATER, "H2")])),
            label(&right, "LEVEL1", Some(&pallet), json!([cis(WATER, "H3")])),
            boxed(ours("H1"), &left),
            boxed(ours("H2"), &left),
            boxed(ours("H3"), &right),
        ],
        &[],
    );
    let token = hub.enroll("W1", OURS);
    let shipment = |labels: &[&String], units: &[String]| {
        operation(
            "shipment",
            json!({"receiver_inn": SUPPLIER, "document_number": "РН-61",
                   "document_date": "2026-12-03", "labels": labels, "units": units}),
        )
    };
    let whole = shipment(&[&pallet], &[]);
    let answers = hub.push(&token, std::slice::from_ref(&whole));
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");
    let shipped = hub.export(&[DocType::LpShipGoods]);
    assert_eq!(shipped.len(), 1);
    let product = &shipped[0].document["products"][0];
    assert_eq!(product["uitu_code"], pallet.as_str());
    assert!(
        product["product_description"].as_str().unwrap().ends_with("3 шт."),
        "{product}"
    );
    // What the pallet held is on its way: no box of it, no unit of it ships again.
    for again in [shipment(&[&right], &[]), shipment(&[], &[cis(WATER, "H1")])] {
        let answers = hub.push(&token, &[again]);
        assert_eq!(answers[0].result, PushResult::Rejected, "{answers:?}");
    }
    // The UPD's codes name the pallet over its two boxes.
    let admin = hub
        .db
        .store()
        .create_admin_token("books", Timestamp(0))
        .unwrap();
    let (status, _, bytes) = hub.fetch(&format!("/v1/results/{}/upd", uuid_of(&whole)), &admin);
    assert_eq!(status, 200);
    let (text, _, _) = encoding_rs::WINDOWS_1251.decode(&bytes);
    let flat: String = text.lines().map(str::trim).collect();
    assert!(
        flat.contains(&format!(
            "КолТов=\"3\"><ДопСведТов КодТов=\"{}\"><НомСредИдентТов ИдентТрансУпак=\"{pallet}\">\
             <НомУпак>{left}</НомУпак><НомУпак>{right}</НомУпак></НомСредИдентТов>",
            WATER.gtin
        )),
        "{text}"
    );
}
