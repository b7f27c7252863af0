use std::collections::BTreeMap;

use serde_json::{Value, json};
use tally_domain::code::Ki;
use tally_domain::status::{CodeStatus, Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::push::hub_policy;
use tally_hub::server::Hub;
use tally_hub::store::{Device, Store};
use tally_wire::{Feed, OperationAnswer, PushRequest, PushResponse, PushResult};

use crate::common::Database;

const P1: &str = "7707083893";
const P2: &str = "7736207543";
const SUPPLIER: &str = "7702070139";
const GTIN: &str = "04600840749372";
const CUSTOMER: &str = "7728168971";

fn cis(serial: &str) -> String {
    format!("01{GTIN}21{serial}")
}

fn ki(serial: &str) -> Ki {
    Ki::from_cis(&cis(serial)).unwrap()
}

fn sscc(n: u64) -> String {
    tally_domain::gs1::Sscc::compose(0, "4600840", n)
        .unwrap()
        .to_string()
}

fn status(serial: &str, owner: &str) -> Value {
    json!({"cis": cis(serial), "gtin": GTIN, "status": "INTRODUCED", "ownerInn": owner,
           "productGroupId": 2, "packageType": "UNIT"})
}

fn operation(seq: i64, kind: &str, payload: Value) -> Value {
    json!({
        "uuid": uuid::Uuid::new_v4().to_string(), "seq": seq, "kind": kind,
        "operator": "Иванова", "started_at": 1_700_000_000_000i64,
        "finished_at": 1_700_000_060_000i64, "payload": payload,
    })
}

fn write_off(serials: &[&str]) -> Value {
    let codes: Vec<String> = serials.iter().map(|s| cis(s)).collect();
    operation(
        1,
        "write-off",
        json!({"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
               "gis_mt_reason": "DAMAGE_LOSS", "document_number": "A-1",
               "document_date": "2026-11-22", "supervisor": "Петров", "codes": codes}),
    )
}

fn aggregation(box_number: u64, serials: &[&str]) -> Value {
    let children: Vec<Value> = serials.iter().map(|s| json!({"unit": cis(s)})).collect();
    operation(
        2,
        "aggregation",
        json!({"aggregates": [{"sscc": sscc(box_number), "level": "box", "children": children}]}),
    )
}

fn disaggregation(box_number: u64) -> Value {
    operation(3, "disaggregation", json!({"labels": [sscc(box_number)]}))
}

fn taking_out(box_number: u64, serials: &[&str]) -> Value {
    let units: Vec<String> = serials.iter().map(|s| cis(s)).collect();
    operation(
        4,
        "reaggregation",
        json!({"sscc": sscc(box_number), "type": "removing", "units": units}),
    )
}

fn acceptance(task: Option<&str>, serials: &[&str]) -> Value {
    let accepted: Vec<String> = serials.iter().map(|s| cis(s)).collect();
    operation(
        5,
        "acceptance",
        json!({"task_id": task, "accepted": accepted, "boxes": [], "rejected": [],
               "surplus": [], "missing": [], "acceptance_date": "2026-11-22"}),
    )
}

/// A shipment of these units to `CUSTOMER`, against `order` when given.
fn shipment(order: Option<&str>, serials: &[&str]) -> Value {
    let units: Vec<String> = serials.iter().map(|s| cis(s)).collect();
    operation(
        6,
        "shipment",
        json!({"order_id": order, "receiver_inn": CUSTOMER, "document_number": "РН-1",
               "document_date": "2026-11-22", "units": units}),
    )
}

fn request(operations: &[Value]) -> PushRequest {
    serde_json::from_value(json!({
        "device": {"app_version": "0.1.0", "queue_depth": 0, "cache_synced_at": null},
        "operations": operations,
    }))
    .unwrap()
}

/// A hub of three devices: `w1` and `w2` in two warehouses of participant P1, `p2` of another
/// participant of the same hub; codes of P1, a supplier's shipment task for W1, and a box
/// `w1` built.
struct Tenants {
    db: Database,
    store: Store,
    devices: BTreeMap<&'static str, Device>,
}

impl Tenants {
    fn new() -> Tenants {
        let db = Database::new(BACKEND);
        let store = db.store();
        let mut lines: Vec<Value> = ["OURS00000001", "OURS00000002", "OURS00000003"]
            .iter()
            .map(|s| status(s, P1))
            .collect();
        lines.push(status("SHIPPED00001", SUPPLIER));
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        assert!(import(&store, Feed::Statuses, text.as_bytes()).unwrap().rejected.is_empty());
        let task = json!({"id": "T-W1", "number": "1", "senderInn": SUPPLIER,
                          "date": "2026-11-21", "warehouse": "W1", "productGroupId": 2,
                          "releaseOrderNumber": "0f8fad5b-d9cb-469f-a165-70867728950e",
                          "units": [cis("SHIPPED00001"), cis("NEWCODE00001")]});
        assert!(
            import(&store, Feed::Tasks, format!("{task}\n").as_bytes())
                .unwrap()
                .rejected
                .is_empty()
        );
        let order = json!({"id": "O-W1", "number": "ЗК-1", "receiverInn": CUSTOMER,
                           "date": "2026-11-21", "warehouse": "W1",
                           "units": [cis("OURS00000002")]});
        assert!(
            import(&store, Feed::Orders, format!("{order}\n").as_bytes())
                .unwrap()
                .rejected
                .is_empty()
        );
        let mut devices = BTreeMap::new();
        for (name, warehouse, inn) in [("w1", "W1", P1), ("w2", "W2", P1), ("p2", "W3", P2)] {
            let code = store
                .create_enrollment_code(warehouse, &Inn::parse(inn).unwrap(), Timestamp(0))
                .unwrap();
            let enrolled = store.enroll(&code, name, "0.1.0", Timestamp(0)).unwrap().unwrap();
            devices.insert(name, enrolled.device);
        }
        let tenants = Tenants { db, store, devices };
        let built = tenants.push("w1", aggregation(10, &["OURS00000003"]));
        assert_eq!(built.result, PushResult::Accepted, "{built:?}");
        tenants
    }

    fn push(&self, device: &str, operation: Value) -> OperationAnswer {
        let answers = self
            .store
            .push(
                &self.devices[device],
                &request(&[operation]),
                &hub_policy(),
                Timestamp(1_700_000_100_000),
            )
            .unwrap();
        answers.into_iter().next().unwrap()
    }

    fn status(&self, serial: &str) -> Option<CodeStatus> {
        self.store.status(&ki(serial)).unwrap()
    }

    /// Every code's status, to show a refusal changed none.
    fn list(&self) -> Vec<Option<CodeStatus>> {
        ["OURS00000001", "OURS00000002", "OURS00000003", "SHIPPED00001"]
            .iter()
            .map(|s| self.status(s))
            .collect()
    }
}

/// A JSON POST as a terminal sends it; the status and the JSON answer.
fn post(agent: &ureq::Agent, url: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = agent
        .post(url)
        .header("Tally-Protocol", "2")
        .header("Content-Type", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.send(&serde_json::to_vec(body).unwrap()[..]).unwrap();
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

fn refused(answer: &OperationAnswer, code: &str) {
    assert_eq!(answer.result, PushResult::Rejected, "{answer:?}");
    assert!(
        answer.reasons.iter().any(|r| r.code == code),
        "{code} expected: {:?}",
        answer.reasons
    );
    let reason = answer.reasons.iter().find(|r| r.code == code).unwrap();
    assert!(!reason.en.is_empty() && !reason.ru.is_empty());
}

#[test]
fn every_kind_of_operation_is_judged_in_the_pushing_devices_warehouse_and_participant() {
    let t = Tenants::new();
    let before = t.list();
    // Another participant of the hub: none of P1's codes, boxes or tasks are its own.
    let cases: Vec<(&str, Value, &str)> = vec![
        ("p2", write_off(&["OURS00000001"]), "owned_by_another_participant"),
        ("p2", aggregation(20, &["OURS00000002"]), "owned_by_another_participant"),
        ("p2", disaggregation(10), "box_of_another_warehouse"),
        ("p2", taking_out(10, &["OURS00000003"]), "box_of_another_warehouse"),
        ("p2", acceptance(None, &["OURS00000001"]), "owned_by_another_participant"),
        ("p2", acceptance(Some("T-W1"), &["SHIPPED00001"]), "task_of_another_warehouse"),
        // The same participant's other warehouse: its codes are the participant's, but a
        // box and a task are one warehouse's.
        ("w2", disaggregation(10), "box_of_another_warehouse"),
        ("w2", taking_out(10, &["OURS00000003"]), "box_of_another_warehouse"),
        ("w2", acceptance(Some("T-W1"), &["SHIPPED00001"]), "task_of_another_warehouse"),
        ("w2", shipment(Some("O-W1"), &["OURS00000002"]), "order_of_another_warehouse"),
    ];
    for (device, operation, code) in cases {
        let answer = t.push(device, operation);
        refused(&answer, code);
        assert_eq!(t.list(), before, "{device}'s refused {code} changed nothing");
    }
    // And what is theirs goes through: the participant's code by its other warehouse, the
    // task and the box by their own warehouse.
    assert_eq!(t.push("w2", write_off(&["OURS00000001"])).result, PushResult::Accepted);
    let accepted = t.push("w1", acceptance(Some("T-W1"), &["SHIPPED00001"]));
    assert_eq!(accepted.result, PushResult::Accepted, "{accepted:?}");
    assert_eq!(
        t.status("SHIPPED00001").unwrap().owner.map(|i| i.as_str().to_owned()),
        Some(P1.to_owned())
    );
    assert_eq!(t.push("w1", disaggregation(10)).result, PushResult::Accepted);
    assert_eq!(t.status("OURS00000003").unwrap().parent, None);
    let shipped = t.push("w1", shipment(Some("O-W1"), &["OURS00000002"]));
    assert_eq!(shipped.result, PushResult::Accepted, "{shipped:?}");
    drop(t.db);
}

#[test]
fn a_code_the_hub_never_heard_of_is_refused_unless_the_task_vouches_for_it() {
    let t = Tenants::new();
    refused(&t.push("w1", write_off(&["UNKNOWN00001"])), "unknown_code");
    refused(&t.push("w1", aggregation(30, &["UNKNOWN00001"])), "unknown_code");
    refused(&t.push("w1", acceptance(None, &["UNKNOWN00001"])), "unknown_code");
    refused(
        &t.push("w1", acceptance(Some("T-W1"), &["UNKNOWN00001"])),
        "unknown_code",
    );
    // Listed in the supplier's shipment: accepted and held as not yet known to GIS MT.
    let held = t.push("w1", acceptance(Some("T-W1"), &["NEWCODE00001"]));
    assert_eq!(held.result, PushResult::Accepted, "{held:?}");
    assert!(
        held.notices
            .iter()
            .any(|n| n.code == "not_yet_known" && n.subject.as_deref() == Some(&cis("NEWCODE00001"))),
        "{:?}",
        held.notices
    );
}

#[test]
fn one_operation_is_one_uuid_of_one_device_however_it_is_spelled() {
    let t = Tenants::new();
    let hub = Hub::bind(t.db.store(), "127.0.0.1:0").unwrap();
    let base = format!("http://{}", hub.local_addr().unwrap());
    std::thread::spawn(move || hub.run());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let token = |name: &str| {
        let code = t
            .store
            .create_enrollment_code(
                &t.devices[name].warehouse,
                &Inn::parse(&t.devices[name].participant_inn).unwrap(),
                Timestamp(0),
            )
            .unwrap();
        let (status, answer) = post(
            &agent,
            &format!("{base}/v1/enroll"),
            None,
            &json!({"code": code, "device_name": name, "app_version": "0.1.0"}),
        );
        assert_eq!(status, 200, "{answer}");
        answer["token"].as_str().unwrap().to_owned()
    };
    let (mine, theirs) = (token("w1"), token("p2"));
    let body = |operation: &Value| {
        json!({
            "device": {"app_version": "0.1.0", "queue_depth": 1, "cache_synced_at": null},
            "operations": [operation],
        })
    };
    let push = |token: &str, operation: &Value| -> OperationAnswer {
        let (status, answer) = post(&agent, &format!("{base}/v1/push"), Some(token), &body(operation));
        assert_eq!(status, 200, "{answer}");
        let answer: PushResponse = serde_json::from_value(answer).unwrap();
        answer.answers.into_iter().next().unwrap()
    };
    let id = uuid::Uuid::new_v4();
    let mut operation = write_off(&["OURS00000002"]);
    let spellings = [
        id.hyphenated().to_string(),
        id.hyphenated().to_string().to_uppercase(),
        format!("{{{}}}", id.hyphenated()),
        id.urn().to_string(),
        id.simple().to_string(),
    ];
    let before = t.store.operation_count().unwrap();
    for (n, spelling) in spellings.iter().enumerate() {
        operation["uuid"] = json!(spelling);
        let answer = push(&mine, &operation);
        assert_eq!(answer.uuid, *spelling, "answered as the terminal spelled it");
        let expected = if n == 0 { PushResult::Accepted } else { PushResult::Duplicate };
        assert_eq!(answer.result, expected, "{spelling}");
    }
    assert_eq!(t.store.operation_count().unwrap(), before + 1, "applied once");

    // Another device using that UUID is refused and told why, not given w1's answer.
    operation["uuid"] = json!(id.to_string());
    let conflict = push(&theirs, &operation);
    refused(&conflict, "uuid_of_another_device");
    assert_eq!(conflict.original, None);
    let again = push(&theirs, &operation);
    assert_eq!(again.result, PushResult::Duplicate);
    assert_eq!(again.original, Some(PushResult::Rejected));

    // A UUID that is no UUID at all is refused whole, and nothing is written.
    operation["uuid"] = json!("not-a-uuid");
    let (status, error) = post(&agent, &format!("{base}/v1/push"), Some(&mine), &body(&operation));
    assert_eq!(status, 400);
    assert_eq!(error["code"], "bad_uuid");
    assert_eq!(t.store.operation_count().unwrap(), before + 2);
}

#[test]
fn text_and_codes_past_their_bounds_are_refused_before_anything_is_written() {
    use tally_wire::limits::{MAX_NAME_CHARS, MAX_OPERATION_CODES, MAX_PUSH_CODES};
    let t = Tenants::new();
    let hub = Hub::bind(t.db.store(), "127.0.0.1:0").unwrap();
    let base = format!("http://{}", hub.local_addr().unwrap());
    std::thread::spawn(move || hub.run());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let devices = t.store.fleet().unwrap().len();

    // A device naming itself at length is not enrolled, and its code is not spent.
    let code = t
        .store
        .create_enrollment_code("W1", &Inn::parse(P1).unwrap(), Timestamp(0))
        .unwrap();
    let enroll = |name: String| {
        post(
            &agent,
            &format!("{base}/v1/enroll"),
            None,
            &json!({"code": code, "device_name": name, "app_version": "0.1.0"}),
        )
    };
    let (status, error) = enroll("x".repeat(MAX_NAME_CHARS + 1));
    assert_eq!((status, error["code"].as_str()), (400, Some("field_too_long")));
    assert!(error["en"].as_str().unwrap().contains("device_name"));
    assert_eq!(t.store.fleet().unwrap().len(), devices);
    let (status, enrolled) = enroll("tsd".into());
    assert_eq!(status, 200, "{enrolled}");
    let token = enrolled["token"].as_str().unwrap().to_owned();
    let contact = |store: &Store| {
        store
            .fleet()
            .unwrap()
            .into_iter()
            .find(|d| d.name == "tsd")
            .unwrap()
            .last_contact
    };
    let contact_before = contact(&t.store);

    let body = |operations: Vec<Value>| {
        json!({
            "device": {"app_version": "0.1.0", "queue_depth": 1, "cache_synced_at": null},
            "operations": operations,
        })
    };
    let push = |operations: Vec<Value>| {
        post(&agent, &format!("{base}/v1/push"), Some(&token), &body(operations))
    };
    let operations = t.store.operation_count().unwrap();

    // An operator's name past its bound: the whole push is refused, nothing is stored, and
    // the refused request is no contact.
    let mut long_operator = write_off(&["OURS00000001"]);
    long_operator["operator"] = json!("И".repeat(MAX_NAME_CHARS + 1));
    let (status, error) = push(vec![long_operator]);
    assert_eq!((status, error["code"].as_str()), (400, Some("field_too_long")));
    assert_eq!(t.store.operation_count().unwrap(), operations);
    assert_eq!(contact(&t.store), contact_before);

    // One operation naming more codes than one may is answered, refused, without its codes
    // read; the push's other operations go on.
    let serials: Vec<String> = (0..=MAX_OPERATION_CODES).map(|n| format!("U{n:011}")).collect();
    let refs: Vec<&str> = serials.iter().map(String::as_str).collect();
    let (status, answer) = push(vec![write_off(&refs), write_off(&["OURS00000002"])]);
    assert_eq!(status, 200, "{answer}");
    let answers: PushResponse = serde_json::from_value(answer).unwrap();
    refused(&answers.answers[0], "too_many_codes");
    assert_eq!(answers.answers[1].result, PushResult::Accepted);

    // A push naming more codes than a push may is refused whole.
    let too_many = MAX_PUSH_CODES / (MAX_OPERATION_CODES + 1) + 1;
    let (status, error) = push(vec![write_off(&refs); too_many]);
    assert_eq!((status, error["code"].as_str()), (413, Some("too_many_codes")));
    assert_eq!(t.store.operation_count().unwrap(), operations + 2);
}
