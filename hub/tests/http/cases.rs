use crate::common::Database;
use std::io::Write;
use std::thread;

use serde_json::{Value, json};
use tally_domain::code::Ki;
use tally_domain::gs1::Sscc;
use tally_domain::status::{CisStatus, Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::server::Hub;
use tally_hub::store::Store;
use tally_wire::{
    EnrollResponse, ErrorBody, Feed, FleetResponse, PullResponse, PushResponse, PushResult,
    SerialRange,
};

const OURS: &str = "7707083893";
const OTHER_PARTICIPANT: &str = "7736207543";
const SUPPLIER: &str = "7702070139";
const GTIN: &str = "04600840749372";

fn cis(serial: &str) -> String {
    format!("01{GTIN}21{serial}")
}

fn ki(serial: &str) -> Ki {
    Ki::from_cis(&cis(serial)).unwrap()
}

fn sscc(n: u64) -> String {
    Sscc::compose(0, "4600840", n).unwrap().to_string()
}

struct TestHub {
    base: String,
    db: Database,
    agent: ureq::Agent,
}

/// A hub on a fresh database holding these `cisInfo` lines.
fn start(statuses: &[Value]) -> TestHub {
    let db = Database::new(BACKEND);
    let store = db.store();
    let lines: String = statuses.iter().map(|s| format!("{s}\n")).collect();
    let report = import(&store, Feed::Statuses, lines.as_bytes()).unwrap();
    assert!(report.rejected.is_empty(), "{report:?}");
    let hub = Hub::bind(store, "127.0.0.1:0").unwrap();
    let base = format!("http://{}", hub.local_addr().unwrap());
    thread::spawn(move || hub.run());
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    TestHub { base, db, agent }
}

fn status(serial: &str, owner: &str) -> Value {
    json!({"cis": cis(serial), "gtin": GTIN, "status": "INTRODUCED", "ownerInn": owner, "productGroupId": 2,
           "packageType": "UNIT"})
}

struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn error(&self) -> ErrorBody {
        serde_json::from_value(self.body.clone()).unwrap()
    }
}

impl TestHub {
    fn store(&self) -> Store {
        self.db.store()
    }

    fn send(
        &self,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        if !extra.iter().any(|(name, _)| *name == "Tally-Protocol") {
            request = request.header("Tally-Protocol", "1");
        }
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let response = request.send(&body[..]).unwrap();
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.send(path, token, serde_json::to_vec(body).unwrap(), &[])
    }

    fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.get_with(path, token, "1")
    }

    /// A GET speaking protocol `version`.
    fn get_with(&self, path: &str, token: Option<&str>, version: &str) -> Answer {
        let mut request = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Tally-Protocol", version);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request.call().unwrap();
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    /// A new device of `warehouse` working for `inn`; returns its token.
    fn enroll(&self, warehouse: &str, inn: &str) -> String {
        let code = self
            .store()
            .create_enrollment_code(warehouse, &Inn::parse(inn).unwrap(), Timestamp(0))
            .unwrap();
        let answer = self.post(
            "/v1/enroll",
            None,
            &json!({"code": code, "device_name": "tsd-1", "app_version": "0.1.0"}),
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        let enrolled: EnrollResponse = serde_json::from_value(answer.body).unwrap();
        assert_eq!(enrolled.warehouse, warehouse);
        assert_eq!(enrolled.participant_inn, inn);
        assert_eq!(
            enrolled.sscc_serials,
            Some(SerialRange::for_device(enrolled.device_id)),
            "every device gets its own label range"
        );
        enrolled.token
    }

    fn push(&self, token: &str, operations: &[Value]) -> PushResponse {
        let answer = self.post("/v1/push", Some(token), &push_body(operations));
        assert_eq!(answer.status, 200, "{}", answer.body);
        serde_json::from_value(answer.body).unwrap()
    }

    fn pull(&self, token: &str, feed: &str, after: i64, limit: u32) -> PullResponse {
        let answer = self.get(
            &format!("/v1/pull/{feed}?after={after}&limit={limit}"),
            Some(token),
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        serde_json::from_value(answer.body).unwrap()
    }

    fn status_of(&self, serial: &str) -> tally_domain::status::CodeStatus {
        self.store().status(&ki(serial)).unwrap().unwrap()
    }
}

fn push_body(operations: &[Value]) -> Value {
    json!({
        "device": {"app_version": "0.1.0", "queue_depth": operations.len(),
                   "cache_synced_at": 1_700_000_000_000i64},
        "operations": operations,
    })
}

fn operation(seq: i64, kind: &str, payload: Value) -> Value {
    json!({
        "uuid": uuid::Uuid::new_v4().to_string(), "seq": seq, "kind": kind,
        "operator": "Иванова", "started_at": 1_700_000_000_000i64,
        "finished_at": 1_700_000_060_000i64, "payload": payload,
    })
}

fn write_off(seq: i64, serials: &[&str]) -> Value {
    let codes: Vec<String> = serials.iter().map(|s| cis(s)).collect();
    operation(
        seq,
        "write-off",
        json!({"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
               "gis_mt_reason": "DAMAGE_LOSS", "document_number": "A-1",
               "document_date": "2026-11-22", "supervisor": "Петров", "codes": codes}),
    )
}

fn aggregation(seq: i64, box_number: u64, serials: &[&str]) -> Value {
    let children: Vec<Value> = serials.iter().map(|s| json!({"unit": cis(s)})).collect();
    operation(
        seq,
        "aggregation",
        json!({"aggregates": [{"sscc": sscc(box_number), "level": "box",
                               "status": "INTRODUCED", "children": children}]}),
    )
}

fn acceptance(seq: i64, serials: &[&str]) -> Value {
    let accepted: Vec<String> = serials.iter().map(|s| cis(s)).collect();
    operation(
        seq,
        "acceptance",
        json!({"task_id": null, "accepted": accepted, "boxes": [], "rejected": [],
               "surplus": [], "missing": [], "acceptance_date": "2026-11-22"}),
    )
}

#[test]
fn enrollment_push_and_replay() {
    let hub = start(&[status("AAAAAAAAAAAA1", OURS), status("AAAAAAAAAAAA2", OURS)]);
    let code = hub
        .store()
        .create_enrollment_code("W1", &Inn::parse(OURS).unwrap(), Timestamp(0))
        .unwrap();
    let enroll = json!({"code": code, "device_name": "tsd-7", "app_version": "0.1.0"});
    let first = hub.post("/v1/enroll", None, &enroll);
    assert_eq!(first.status, 200, "{}", first.body);
    let token = first.body["token"].as_str().unwrap().to_owned();
    let again = hub.post("/v1/enroll", None, &enroll);
    assert_eq!(again.status, 403, "a code enrolls one terminal only");
    assert_eq!(again.error().code, "enrollment_code_invalid");

    let operations = [
        write_off(1, &["AAAAAAAAAAAA1"]),
        aggregation(2, 1, &["AAAAAAAAAAAA2"]),
    ];
    let answers = hub.push(&token, &operations).answers;
    let results: Vec<_> = answers.iter().map(|a| (a.result, a.original)).collect();
    assert_eq!(
        results,
        [(PushResult::Accepted, None), (PushResult::Accepted, None)]
    );
    assert_eq!(answers[0].uuid, operations[0]["uuid"].as_str().unwrap());
    assert_eq!(hub.status_of("AAAAAAAAAAAA1").status, CisStatus::WrittenOff);
    assert_eq!(
        hub.status_of("AAAAAAAAAAAA2").parent.map(|p| p.to_string()),
        Some(sscc(1))
    );

    // The terminal lost the answer and sends the same batch again.
    let replay = hub.push(&token, &operations).answers;
    for answer in &replay {
        assert_eq!(answer.result, PushResult::Duplicate);
        assert_eq!(answer.original, Some(PushResult::Accepted));
        assert!(answer.applied());
    }
    assert_eq!(hub.store().operation_count().unwrap(), 2, "applied once");

    let admin = hub.store().create_admin_token("ops", Timestamp(0)).unwrap();
    let fleet: FleetResponse =
        serde_json::from_value(hub.get("/v1/fleet", Some(&admin)).body).unwrap();
    assert_eq!(fleet.devices.len(), 1);
    assert_eq!(fleet.devices[0].name, "tsd-7");
    assert_eq!(fleet.devices[0].queue_depth, 2);
    assert_eq!(fleet.devices[0].cache_synced_at, Some(1_700_000_000_000));
    assert!(fleet.devices[0].last_contact.is_some());
    let page = hub.get("/fleet", Some(&admin));
    assert_eq!(page.status, 200);
    assert!(page.body.as_str().unwrap().contains("<td>tsd-7</td>"));
}

#[test]
fn a_label_is_one_devices_and_each_device_prints_from_its_own_range() {
    let hub = start(&[
        status("LLLLLLLLLLLL1", OURS),
        status("LLLLLLLLLLLL2", OURS),
        status("LLLLLLLLLLLL3", OURS),
    ]);
    let first = hub.enroll("W1", OURS);
    let second = hub.enroll("W1", OURS);
    let ranges = [SerialRange::for_device(1), SerialRange::for_device(2)];
    assert!(ranges[0].last < ranges[1].first, "{ranges:?}");
    assert!(!ranges[0].contains(ranges[1].first));

    let answers = hub
        .push(&first, &[aggregation(1, 40, &["LLLLLLLLLLLL1"])])
        .answers;
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");
    // The second terminal printed the same SSCC: refused, nothing of it applied.
    let answers = hub
        .push(&second, &[aggregation(1, 40, &["LLLLLLLLLLLL2"])])
        .answers;
    assert_eq!(answers[0].result, PushResult::Rejected);
    assert_eq!(answers[0].reasons[0].code, "label_of_another_device");
    assert_eq!(
        answers[0].reasons[0].subject.as_deref(),
        Some(sscc(40).as_str())
    );
    assert!(hub.status_of("LLLLLLLLLLLL2").parent.is_none());
    // The first terminal may build under its own label again (after unpacking it).
    let answers = hub
        .push(
            &first,
            &[
                operation(2, "disaggregation", json!({"labels": [sscc(40)]})),
                aggregation(3, 40, &["LLLLLLLLLLLL3"]),
            ],
        )
        .answers;
    let results: Vec<PushResult> = answers.iter().map(|a| a.result).collect();
    assert_eq!(
        results,
        [PushResult::Accepted, PushResult::Accepted],
        "{answers:?}"
    );
}

#[test]
fn two_terminals_one_code_one_acceptance() {
    let mut statuses: Vec<Value> = ["1", "2", "3", "4"]
        .iter()
        .map(|n| status(&format!("BBBBBBBBBBBB{n}"), OURS))
        .collect();
    statuses.push(status("BBBBBBBBBBBB5", SUPPLIER));
    let hub = start(&statuses);
    let a = hub.enroll("W1", OURS);
    let b = hub.enroll("W1", OURS);

    // Both wrote off code 1 offline; A docks first.
    let by_a = hub.push(&a, &[write_off(1, &["BBBBBBBBBBBB1"])]).answers;
    assert_eq!(by_a[0].result, PushResult::Accepted);
    let b_write_off = write_off(1, &["BBBBBBBBBBBB4", "BBBBBBBBBBBB1"]);
    let by_b = hub.push(&b, std::slice::from_ref(&b_write_off)).answers;
    assert_eq!(by_b[0].result, PushResult::Rejected);
    assert_eq!(by_b[0].reasons.len(), 1, "{:?}", by_b[0].reasons);
    let reason = &by_b[0].reasons[0];
    assert_eq!(reason.code, "out_of_circulation");
    assert_eq!(
        reason.subject.as_deref(),
        Some(cis("BBBBBBBBBBBB1").as_str())
    );
    assert!(reason.en.contains("WRITTEN_OFF") && reason.ru.contains("выведен"));
    assert_eq!(
        hub.status_of("BBBBBBBBBBBB4").status,
        CisStatus::Introduced,
        "a refused document changes none of its codes"
    );

    // Both boxed code 2, into different boxes.
    let by_a = hub
        .push(&a, &[aggregation(2, 10, &["BBBBBBBBBBBB2"])])
        .answers;
    assert_eq!(by_a[0].result, PushResult::Accepted);
    let by_b = hub
        .push(
            &b,
            &[aggregation(2, 20, &["BBBBBBBBBBBB2", "BBBBBBBBBBBB3"])],
        )
        .answers;
    assert_eq!(by_b[0].result, PushResult::Rejected);
    assert_eq!(by_b[0].reasons[0].code, "in_aggregate");
    assert_eq!(
        hub.status_of("BBBBBBBBBBBB2").parent.map(|p| p.to_string()),
        Some(sscc(10))
    );
    assert_eq!(hub.status_of("BBBBBBBBBBBB3").parent, None);

    // One document placing code 3 in two boxes is refused whole.
    let twice = operation(
        4,
        "aggregation",
        json!({"aggregates": [
            {"sscc": sscc(30), "level": "box", "children": [{"unit": cis("BBBBBBBBBBBB3")}]},
            {"sscc": sscc(31), "level": "box", "children": [{"unit": cis("BBBBBBBBBBBB3")}]},
        ]}),
    );
    let by_a = hub.push(&a, &[twice]).answers;
    assert_eq!(by_a[0].result, PushResult::Rejected);
    assert_eq!(by_a[0].reasons[0].code, "duplicate_in_document");
    assert_eq!(hub.status_of("BBBBBBBBBBBB3").parent, None);

    // Both accepted code 5 from the supplier.
    assert_eq!(
        hub.push(&a, &[acceptance(3, &["BBBBBBBBBBBB5"])]).answers[0].result,
        PushResult::Accepted
    );
    assert_eq!(
        hub.status_of("BBBBBBBBBBBB5")
            .owner
            .map(|i| i.as_str().to_owned()),
        Some(OURS.to_owned())
    );
    let by_b = hub.push(&b, &[acceptance(3, &["BBBBBBBBBBBB5"])]).answers;
    assert_eq!(by_b[0].result, PushResult::Rejected);
    assert_eq!(by_b[0].reasons[0].code, "already_ours");

    // B's replay of its refused write-off gets the same refusal, marked as a duplicate.
    let replay = hub.push(&b, &[b_write_off]).answers;
    assert_eq!(replay[0].result, PushResult::Duplicate);
    assert_eq!(replay[0].original, Some(PushResult::Rejected));
    assert_eq!(replay[0].reasons[0].code, "out_of_circulation");

    // A terminal of another participant cannot write off our code: it is owned by a
    // participant of this hub.
    let c = hub.enroll("W2", OTHER_PARTICIPANT);
    let by_c = hub.push(&c, &[write_off(1, &["BBBBBBBBBBBB3"])]).answers;
    assert_eq!(by_c[0].reasons[0].code, "owned_by_another_participant");

    // Disaggregating box 10 frees code 2 for another box.
    let d = operation(9, "disaggregation", json!({"labels": [sscc(10)]}));
    assert_eq!(hub.push(&a, &[d]).answers[0].result, PushResult::Accepted);
    assert_eq!(hub.status_of("BBBBBBBBBBBB2").parent, None);
}

#[test]
fn blocked_codes_are_refused_until_the_block_is_lifted() {
    let hub = start(&[status("GGGGGGGGGGGG1", OURS)]);
    let token = hub.enroll("W1", OURS);
    let block = |remove: bool| {
        let line = json!({"kind": "code", "cis": cis("GGGGGGGGGGGG1"), "remove": remove});
        let report = import(
            &hub.store(),
            Feed::Blocks,
            format!("{line}\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(report.imported, 1);
    };
    block(false);
    let answers = hub
        .push(&token, &[write_off(1, &["GGGGGGGGGGGG1"])])
        .answers;
    assert_eq!(answers[0].result, PushResult::Rejected);
    assert_eq!(answers[0].reasons[0].code, "blocked");
    block(true);
    let answers = hub
        .push(&token, &[write_off(2, &["GGGGGGGGGGGG1"])])
        .answers;
    assert_eq!(answers[0].result, PushResult::Accepted);
    let blocks = hub.pull(&token, "blocks", 0, 10);
    assert_eq!(
        blocks.items.len(),
        1,
        "the lifted block replaced the block in the feed"
    );
    assert_eq!(blocks.items[0].item["remove"], true);
}

#[test]
fn requests_without_a_valid_token_are_refused_and_write_nothing() {
    let hub = start(&[status("CCCCCCCCCCCC1", OURS)]);
    let body = push_body(&[write_off(1, &["CCCCCCCCCCCC1"])]);
    let none = hub.post("/v1/push", None, &body);
    assert_eq!(
        (none.status, none.error().code.as_str()),
        (401, "token_missing")
    );
    let wrong = hub.post("/v1/push", Some("not-a-token"), &body);
    assert_eq!(
        (wrong.status, wrong.error().code.as_str()),
        (401, "token_invalid")
    );
    assert!(!wrong.error().ru.is_empty());
    for path in ["/v1/pull/statuses", "/v1/fleet", "/fleet"] {
        assert_eq!(hub.get(path, None).status, 401, "{path}");
    }
    assert_eq!(hub.get("/v1/pull/statuses", Some("x")).status, 401);
    for path in ["/v1/fleet", "/fleet"] {
        assert_eq!(hub.get(path, Some("x")).status, 403, "{path}");
    }
    assert_eq!(hub.store().operation_count().unwrap(), 0);
    assert_eq!(hub.status_of("CCCCCCCCCCCC1").status, CisStatus::Introduced);

    // Tasks are per warehouse: a token of W2 does not see W1's. The fleet is an
    // administrator's, filtered by warehouse on request.
    hub.enroll("W1", OURS);
    let w2 = hub.enroll("W2", OURS);
    let admin = hub.store().create_admin_token("ops", Timestamp(0)).unwrap();
    let fleet: FleetResponse =
        serde_json::from_value(hub.get("/v1/fleet?warehouse=W2", Some(&admin)).body).unwrap();
    assert_eq!(fleet.devices.len(), 1);
    assert_eq!(fleet.devices[0].warehouse, "W2");
    let tasks = [
        json!({"id": "T-1", "warehouse": "W1", "number": "1", "senderInn": "7702070139",
               "date": "2026-11-21", "units": []}),
        json!({"id": "T-2", "warehouse": "W2", "number": "2", "senderInn": "7702070139",
               "date": "2026-11-21", "units": []}),
        json!({"id": "T-3", "number": "3", "senderInn": "7702070139",
               "date": "2026-11-21", "units": []}),
    ];
    let lines: String = tasks.iter().map(|t| format!("{t}\n")).collect();
    import(&hub.store(), Feed::Tasks, lines.as_bytes()).unwrap();
    let ids: Vec<Value> = hub
        .pull(&w2, "tasks", 0, 10)
        .items
        .into_iter()
        .map(|i| i.item["id"].clone())
        .collect();
    assert_eq!(ids, [json!("T-2"), json!("T-3")]);
}

#[test]
fn bad_requests_are_refused_with_a_reason_and_change_nothing() {
    let hub = start(&[status("DDDDDDDDDDDD1", OURS)]);
    let token = hub.enroll("W1", OURS);
    let check = |answer: Answer, status: u16, code: &str| {
        assert_eq!(answer.status, status, "{}", answer.body);
        let error = answer.error();
        assert_eq!(error.code, code);
        assert!(!error.en.is_empty() && !error.ru.is_empty());
    };
    check(
        hub.send("/v1/push", Some(&token), b"{\"device\": [".to_vec(), &[]),
        400,
        "malformed_json",
    );
    let mut wrong_types = push_body(&[write_off(1, &["DDDDDDDDDDDD1"])]);
    wrong_types["operations"][0]["seq"] = json!("one");
    check(
        hub.post("/v1/push", Some(&token), &wrong_types),
        400,
        "wrong_fields",
    );
    let mut bad_uuid = push_body(&[write_off(1, &["DDDDDDDDDDDD1"])]);
    bad_uuid["operations"][0]["uuid"] = json!("42");
    check(
        hub.post("/v1/push", Some(&token), &bad_uuid),
        400,
        "bad_uuid",
    );
    check(
        hub.send("/v1/push", Some(&token), vec![b' '; 17 << 20], &[]),
        413,
        "body_too_large",
    );
    check(
        hub.send("/v1/enroll", None, b"[1, 2]".to_vec(), &[]),
        400,
        "wrong_fields",
    );
    check(hub.get("/v1/pull/invoices", Some(&token)), 404, "not_found");
    check(
        hub.get("/v1/pull/statuses?after=soon", Some(&token)),
        400,
        "bad_query",
    );
    assert_eq!(hub.store().operation_count().unwrap(), 0);
    assert_eq!(hub.status_of("DDDDDDDDDDDD1").status, CisStatus::Introduced);

    // A gzip body is read like a plain one.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&serde_json::to_vec(&push_body(&[write_off(1, &["DDDDDDDDDDDD1"])])).unwrap())
        .unwrap();
    let answer = hub.send(
        "/v1/push",
        Some(&token),
        gzip.finish().unwrap(),
        &[("Content-Encoding", "gzip")],
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["answers"][0]["result"], "accepted");
    assert_eq!(hub.status_of("DDDDDDDDDDDD1").status, CisStatus::WrittenOff);
}

#[test]
fn pull_pages_follow_the_cursor_and_carry_changes() {
    let statuses: Vec<Value> = (1..=5)
        .map(|n| status(&format!("EEEEEEEEEEEE{n}"), OURS))
        .collect();
    let hub = start(&statuses);
    let token = hub.enroll("W1", OURS);
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = hub.pull(&token, "statuses", after, 2);
        assert!(page.items.len() <= 2);
        assert!(
            page.items.iter().all(|i| i.seq > after),
            "pages move forward"
        );
        seen.extend(
            page.items
                .iter()
                .map(|i| i.item["cis"].as_str().unwrap().to_owned()),
        );
        after = page.next_after;
        if !page.more {
            break;
        }
    }
    let expected: Vec<String> = (1..=5).map(|n| cis(&format!("EEEEEEEEEEEE{n}"))).collect();
    assert_eq!(seen, expected);
    let empty = hub.pull(&token, "statuses", after, 2);
    assert!(empty.items.is_empty() && !empty.more);
    assert_eq!(empty.next_after, after);

    // Another terminal's write-off reaches this one as one changed cisInfo line.
    let other = hub.enroll("W1", OURS);
    hub.push(&other, &[write_off(1, &["EEEEEEEEEEEE3"])]);
    let page = hub.pull(&token, "statuses", after, 100);
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].item["cis"], cis("EEEEEEEEEEEE3"));
    assert_eq!(page.items[0].item["status"], "WRITTEN_OFF");
    assert_eq!(
        page.items[0].item["ownerInn"], OURS,
        "the rest of the line is kept"
    );
    assert!(hub.pull(&token, "tasks", 0, 10).items.is_empty());
}

#[test]
fn a_terminal_too_old_is_told_to_update_and_nothing_is_written() {
    let hub = start(&[]);
    let code = hub
        .store()
        .create_enrollment_code("W1", &Inn::parse(OURS).unwrap(), Timestamp(0))
        .unwrap();
    let body =
        serde_json::to_vec(&json!({"code": code, "device_name": "old", "app_version": "0.0.1"}))
            .unwrap();
    let old = hub.send("/v1/enroll", None, body.clone(), &[("Tally-Protocol", "0")]);
    assert_eq!(old.status, 426);
    let error = old.error();
    assert_eq!(error.code, "protocol_too_old");
    assert!(error.en.contains("Update") && error.ru.contains("Обновите"));
    let garbled = hub.send(
        "/v1/enroll",
        None,
        body.clone(),
        &[("Tally-Protocol", "v1")],
    );
    assert_eq!(garbled.status, 400);
    // The code was not spent by the refused attempts.
    assert_eq!(hub.send("/v1/enroll", None, body, &[]).status, 200);
}

#[test]
fn import_reports_bad_lines_by_number_and_keeps_the_rest() {
    let db = Database::new(BACKEND);
    let store = db.store();
    let input = format!(
        "{}\nnot json\n{}\n{{\"cis\": \"{}\", \"status\": \"SOLD_TWICE\"}}\n\n{}\n",
        status("FFFFFFFFFFFF1", OURS),
        json!({"cis": "hello", "status": "INTRODUCED"}),
        cis("FFFFFFFFFFFF2"),
        status("FFFFFFFFFFFF3", OURS),
    );
    let report = import(&store, Feed::Statuses, input.as_bytes()).unwrap();
    assert_eq!(report.imported, 2);
    let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 3, 4]);
    assert!(store.status(&ki("FFFFFFFFFFFF3")).unwrap().is_some());
    assert!(store.status(&ki("FFFFFFFFFFFF2")).unwrap().is_none());

    // A task without its date is refused here as every terminal would refuse it.
    let tasks = "{\"id\": \"T-1\", \"number\": \"1\", \"senderInn\": \"7702070139\", \"date\": \"2026-11-21\", \"units\": []}\n{\"number\": \"2\"}\n{\"id\": \"T-4\", \"number\": \"4\", \"senderInn\": \"7702070139\", \"units\": []}\n";
    let report = import(&store, Feed::Tasks, tasks.as_bytes()).unwrap();
    let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!((report.imported, lines), (1, vec![2, 3]));
    assert!(
        report.rejected[1].reason.starts_with("bad_date"),
        "{report:?}"
    );
    let (items, more) = store.pull(Feed::Tasks, "W1", 0, 10).unwrap();
    assert_eq!((items.len(), more), (1, false));
    let task: Value = serde_json::from_str(&items[0].1).unwrap();
    assert_eq!(task["id"], "T-1");
}

#[test]
fn orders_to_pick_are_judged_at_import_and_pulled_by_their_warehouse_only() {
    let hub = start(&[]);
    let w1 = hub.enroll("W1", OURS);
    let w2 = hub.enroll("W2", OURS);
    let order = |id: &str, warehouse: &str| {
        json!({"id": id, "number": format!("ЗК-{id}"), "receiverInn": "7736207543",
               "date": "2026-12-03", "warehouse": warehouse, "units": [cis("OOOOOOOOOOOO1")],
               "lines": [{"gtin": "04600840749372", "quantity": 2}]})
    };
    let lines = [
        order("1", "W1"),
        order("2", "W2"),
        // Refused as every terminal would refuse it: nothing of it is stored.
        json!({"id": "3", "number": "ЗК-3", "date": "2026-12-03", "warehouse": "W1",
               "units": [cis("OOOOOOOOOOOO1"), cis("OOOOOOOOOOOO1")]}),
        json!({"id": "4", "number": "ЗК-4", "date": "2026-12-03", "warehouse": "W1"}),
        json!({"id": "5", "number": "ЗК-5", "date": "2026-12-03", "warehouse": 5,
               "units": [cis("OOOOOOOOOOOO1")]}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let report = import(&hub.store(), Feed::Orders, input.as_bytes()).unwrap();
    let refused: Vec<(u64, String)> = report
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.split(':').next().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(report.imported, 2, "{report:?}");
    assert_eq!(
        refused,
        [
            (3, "duplicate_in_order".to_owned()),
            (4, "empty_order".to_owned()),
            (5, "\"warehouse\" must name a warehouse".to_owned())
        ]
    );
    let ids = |token: &str| -> Vec<Value> {
        hub.pull(token, "orders", 0, 10)
            .items
            .into_iter()
            .map(|i| i.item["id"].clone())
            .collect()
    };
    assert_eq!(ids(&w1), [json!("1")], "a warehouse sees its own orders only");
    assert_eq!(ids(&w2), [json!("2")]);
    // Withdrawn: the warehouse's terminals get the removal, the other's nothing.
    let withdrawn = json!({"id": "1", "remove": true, "warehouse": "W1"});
    import(&hub.store(), Feed::Orders, format!("{withdrawn}\n").as_bytes()).unwrap();
    let page = hub.pull(&w1, "orders", 0, 10);
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].item, withdrawn);
    assert_eq!(ids(&w2), [json!("2")]);
}

#[test]
fn a_box_label_gis_mt_knows_is_judged_like_a_unit() {
    let foreign = json!({"cis": sscc(41), "status": "INTRODUCED", "ownerInn": OTHER_PARTICIPANT,
                         "packageType": "LEVEL1"});
    let gone = json!({"cis": sscc(42), "status": "WRITTEN_OFF", "ownerInn": OURS,
                      "packageType": "LEVEL1"});
    let hub = start(&[foreign, gone]);
    let token = hub.enroll("W1", OURS);
    let answers = hub
        .push(
            &token,
            &[
                operation(1, "disaggregation", json!({"labels": [sscc(41)]})),
                operation(2, "disaggregation", json!({"labels": [sscc(42)]})),
                operation(3, "disaggregation", json!({"labels": [sscc(43)]})),
            ],
        )
        .answers;
    let codes: Vec<Vec<&str>> = answers
        .iter()
        .map(|a| a.reasons.iter().map(|r| r.code.as_str()).collect())
        .collect();
    assert_eq!(
        codes,
        // A box the hub knows nothing of (no label status, no units) makes no document.
        [
            vec!["foreign_owner"],
            vec!["out_of_circulation"],
            vec!["unknown_product_group"]
        ],
        "{answers:?}"
    );
    // The label statuses reach the terminals through the status feed.
    let page = hub.pull(&token, "statuses", 0, 10);
    assert_eq!(page.items.len(), 2);
}
