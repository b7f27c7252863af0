//! `docs/hub-protocol.openapi.yaml` held to the hub: it parses strictly (a key given twice is an
//! error, not a silent overwrite), every `$ref` resolves and every component is used, its paths
//! and methods are the router's `ROUTES`, its enums and limits are the wire's, and the answers
//! of a real hub on 127.0.0.1 have the statuses, content types, headers and bodies it declares.
//! `.ci/schemathesis` then throws generated requests at a running hub with the same spec.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed set-up is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::thread;

use axum_extra::headers::{Authorization, HeaderMapExt};
use serde_json::{Value, json};
use tally_domain::gs1::Sscc;
use tally_domain::status::{Inn, Timestamp};
use tally_hub::documents::DocType;
use tally_hub::import::import;
use tally_hub::server::{Hub, ROUTES};
use tally_hub::store::Store;
use tally_wire::{DocumentKind, Feed, MAX_PUSH_OPERATIONS, PROTOCOL_VERSION};

const SPEC: &str = include_str!("../../docs/hub-protocol.openapi.yaml");
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The YAML as JSON. serde_norway's own `Value` refuses a key given twice in one mapping: the
/// bug that once replaced `PullResponse` with the fields of `FleetDevice`. serde_json's `Value`
/// would keep the last one quietly, so the text goes through serde_norway's first.
fn parse(text: &str) -> Result<Value, String> {
    let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    serde_json::to_value(yaml).map_err(|e| e.to_string())
}

fn spec() -> Value {
    parse(SPEC).unwrap()
}

/// What a local `$ref` (`#/a/b`) points at.
fn resolve<'a>(spec: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("{reference}: only references inside the spec are used"));
    spec.pointer(pointer)
        .unwrap_or_else(|| panic!("{reference} points at nothing"))
}

/// `value`, or what it refers to when it is a `{"$ref"}` object (parameters, responses).
fn follow<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => follow(spec, resolve(spec, reference)),
        None => value,
    }
}

/// The JSON pointer of `value`'s target, or `at` when it is no `{"$ref"}`.
fn pointer_of(spec: &Value, value: &Value, at: String) -> String {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#').to_owned();
            pointer_of(spec, resolve(spec, reference), pointer)
        }
        None => at,
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                found.push(reference.clone());
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

fn enum_of(spec: &Value, schema: &str) -> Vec<String> {
    spec["components"]["schemas"][schema]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{schema} has no enum"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_spec_parses_strictly_and_a_key_given_twice_is_refused() {
    let spec = spec();
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1."),
        "OpenAPI 3.1: its schemas are JSON Schema 2020-12, which the checks validate with"
    );
    // The shape of the old bug: a schema's key lost, its fields landing in the one before.
    let broken = "components:\n  schemas:\n    PullResponse:\n      type: object\n      \
                  required: [feed]\n      type: object\n      required: [device_id]\n";
    let error = parse(broken).unwrap_err();
    assert!(error.contains("duplicate"), "{error}");
}

#[test]
fn every_reference_resolves_and_every_component_is_used() {
    let spec = spec();
    let mut found = Vec::new();
    refs(&spec, &mut found);
    assert!(found.len() > 50, "{} references", found.len());
    for reference in &found {
        resolve(&spec, reference);
    }
    let used: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    for (kind, components) in spec["components"].as_object().unwrap() {
        if kind == "securitySchemes" {
            continue;
        }
        for name in components.as_object().unwrap().keys() {
            let reference = format!("#/components/{kind}/{}", escape(name));
            assert!(
                used.contains(reference.as_str()),
                "{reference} is never used"
            );
        }
    }
    let schemes: BTreeSet<&String> = spec["components"]["securitySchemes"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut named = BTreeSet::new();
    for requirements in std::iter::once(&spec["security"]).chain(
        spec["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|operation| operation.get("security")),
    ) {
        for requirement in requirements.as_array().unwrap() {
            named.extend(requirement.as_object().unwrap().keys());
        }
    }
    assert_eq!(named, schemes, "every security scheme used, none undefined");
}

#[test]
fn the_paths_are_the_routes_the_hub_serves() {
    let spec = spec();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
            documented.insert((method.clone(), path.clone()));
            // Each `{name}` of the path is a declared path parameter, and no other is.
            let in_path: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .map(str::to_owned)
                .collect();
            let declared: BTreeSet<String> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .map(|p| follow(&spec, p))
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(in_path, declared, "{method} {path}");
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|&(method, path)| (method.to_owned(), path.to_owned()))
        .collect();
    assert_eq!(documented, served, "the spec's operations are the router's");
}

#[test]
fn the_enums_and_limits_are_the_wires() {
    let spec = spec();
    assert_eq!(spec["info"]["version"], PROTOCOL_VERSION.to_string());
    assert_eq!(
        spec["components"]["headers"]["protocol"]["schema"]["enum"],
        json!([PROTOCOL_VERSION])
    );
    let names = |names: Vec<&str>| names.into_iter().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        enum_of(&spec, "Feed"),
        names(Feed::ALL.iter().map(|f| f.name()).collect())
    );
    assert_eq!(
        enum_of(&spec, "DocumentKind"),
        names(DocumentKind::ALL.iter().map(|k| k.name()).collect())
    );
    assert_eq!(
        enum_of(&spec, "DocType"),
        names(DocType::ALL.iter().map(|t| t.api_name()).collect())
    );
    assert_eq!(
        spec["components"]["schemas"]["PushRequest"]["properties"]["operations"]["maxItems"],
        json!(MAX_PUSH_OPERATIONS)
    );
}

// ---- real answers ----

const OURS: &str = "7707083893";
const SUPPLIER: &str = "7702070139";
const GTIN: &str = "04600840749372";

fn cis(serial: &str) -> String {
    format!("01{GTIN}21{serial}")
}

struct Answer {
    status: u16,
    content_type: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// Sends requests to a hub and holds each answer to the spec.
struct Checker {
    spec: Value,
    base: String,
    agent: ureq::Agent,
    /// (method, path template, status) of every answer checked.
    seen: BTreeSet<(String, String, u16)>,
}

impl Checker {
    /// Sends `method` to `path` (a concrete one of `template`) and checks the answer.
    fn check(
        &mut self,
        method: &str,
        template: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Value {
        let answer = self.send(method, path, headers, body);
        let what = format!("{method} {path} → {}: {}", answer.status, answer.body);
        let operation = &self.spec["paths"][template][method.to_ascii_lowercase()];
        assert!(operation.is_object(), "{what}: no such operation");
        let declared = &operation["responses"][answer.status.to_string()];
        assert!(declared.is_object(), "{what}: status not declared");
        let at = format!(
            "/paths/{}/{}/responses/{}",
            escape(template),
            method.to_ascii_lowercase(),
            answer.status
        );
        let at = pointer_of(&self.spec, declared, at);
        let response = follow(&self.spec, declared);
        for (name, declared) in response["headers"].as_object().into_iter().flatten() {
            let header = follow(&self.spec, declared);
            let header_at = pointer_of(
                &self.spec,
                declared,
                format!("{at}/headers/{}", escape(name)),
            );
            let value = answer.headers.get(&name.to_ascii_lowercase());
            if header["required"] == true {
                assert!(value.is_some(), "{what}: no {name} header");
            }
            if let Some(value) = value {
                let value = match header["schema"]["type"].as_str() {
                    Some("integer") => json!(value.parse::<i64>().unwrap()),
                    _ => json!(value),
                };
                let schema = format!("{header_at}/schema");
                self.validate(&schema, &value, &format!("{what}: header {name}"));
            }
        }
        let media = answer.content_type.split(';').next().unwrap().trim();
        let content = &response["content"][media];
        assert!(
            content.is_object(),
            "{what}: content type {} not declared",
            answer.content_type
        );
        let value = if media == "application/json" {
            serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{what}: {e}"))
        } else {
            Value::String(answer.body.clone())
        };
        let schema = format!("{at}/content/{}/schema", escape(media));
        self.validate(&schema, &value, &what);
        self.seen
            .insert((method.to_owned(), template.to_owned(), answer.status));
        value
    }

    /// Validates `value` against the schema at `pointer` in the spec, whose `$ref`s resolve
    /// against the whole spec: the spec itself is the root, with a `$ref` to that schema (its
    /// other keys are unknown keywords to JSON Schema, and ignored).
    fn validate(&self, pointer: &str, value: &Value, what: &str) {
        let mut root = self.spec.clone();
        // A URI fragment: the braces of a path template are percent-encoded.
        let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
        root["$ref"] = json!(format!("#{fragment}"));
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .unwrap_or_else(|e| panic!("{what}: the schema at {pointer} does not build: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:#?}");
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let request = axum::http::Request::builder().method(method).uri(url);
        let request = headers.iter().fold(request, |request, (name, value)| {
            request.header(*name, *value)
        });
        let response = match body {
            Some(body) => self
                .agent
                .run(
                    request
                        .header("Content-Type", "application/json")
                        .body(serde_json::to_vec(body).unwrap())
                        .unwrap(),
                )
                .unwrap(),
            None => self.agent.run(request.body(()).unwrap()).unwrap(),
        };
        let response_status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned()))
            .collect::<BTreeMap<_, _>>();
        let content_type = headers.get("content-type").cloned().unwrap_or_default();
        let bytes = response.into_body().read_to_vec().unwrap();
        // 1C's files come in its windows-1251, and say so.
        let body = if content_type.ends_with("charset=windows-1251") {
            let (text, _, malformed) = encoding_rs::WINDOWS_1251.decode(&bytes);
            assert!(!malformed, "{path}: not windows-1251");
            text.into_owned()
        } else {
            String::from_utf8(bytes).unwrap()
        };
        Answer {
            status: response_status,
            content_type,
            headers,
            body,
        }
    }
}

fn operation(seq: i64, kind: &str, payload: Value) -> Value {
    json!({
        "uuid": uuid::Uuid::new_v4().to_string(), "seq": seq, "kind": kind,
        "operator": "Иванова", "started_at": 1_700_000_000_000i64,
        "finished_at": 1_700_000_060_000i64, "payload": payload,
    })
}

fn push_body(operations: &[Value]) -> Value {
    json!({
        "device": {"app_version": "0.1.0", "queue_depth": operations.len(),
                   "cache_synced_at": null, "battery": "not read by the hub"},
        "operations": operations,
    })
}

/// A hub with something in every feed: statuses (one removed), the catalog, a block, tasks
/// (one removed), orders to pick (one withdrawn) and operators (one removed).
fn seeded_store(dir: &std::path::Path) -> Store {
    let store = Store::open(dir.join("hub.db")).unwrap();
    let status = |serial: &str, owner: &str| {
        json!({"cis": cis(serial), "gtin": GTIN, "status": "INTRODUCED", "ownerInn": owner,
               "productGroupId": 2, "packageType": "UNIT"})
    };
    let feeds = [
        (
            Feed::Statuses,
            vec![
                status("AAAAAAAAAAAA1", OURS),
                status("AAAAAAAAAAAA2", OURS),
                status("AAAAAAAAAAAA3", SUPPLIER),
                status("AAAAAAAAAAAA4", OURS),
                json!({"cis": cis("AAAAAAAAAAAA4"), "remove": true}),
            ],
        ),
        (
            Feed::Catalog,
            vec![json!({"gtin": GTIN, "name": "Молоко", "productGroupId": 2})],
        ),
        (
            Feed::Blocks,
            vec![json!({"kind": "series", "gtin": GTIN, "batch": "B-7"})],
        ),
        (
            Feed::Tasks,
            vec![
                json!({"id": "T-1", "number": "ТН-1", "senderInn": SUPPLIER,
                       "date": "2026-11-20", "units": [cis("AAAAAAAAAAAA3"), cis("MISSING00001")]}),
                json!({"id": "T-2", "remove": true}),
            ],
        ),
        (
            Feed::Orders,
            vec![
                json!({"id": "O-1", "number": "ЗК-1", "receiverInn": SUPPLIER,
                       "date": "2026-12-03", "warehouse": "W1", "units": [cis("AAAAAAAAAAAA1")],
                       "lines": [{"gtin": GTIN, "quantity": 2, "name": "Молоко", "ref": "m1"}]}),
                json!({"id": "O-2", "remove": true}),
            ],
        ),
        (
            Feed::Operators,
            vec![
                json!({"id": "op-1", "name": "Иванова", "pin": "1234", "supervisor": true}),
                json!({"id": "op-2", "remove": true}),
            ],
        ),
    ];
    for (feed, lines) in feeds {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let report = import(&store, feed, text.as_bytes()).unwrap();
        assert!(report.rejected.is_empty(), "{feed:?}: {report:?}");
    }
    store
}

#[test]
fn a_real_hubs_answers_are_what_the_spec_declares() {
    let dir = std::env::temp_dir().join(format!("tally-hub-openapi-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = seeded_store(&dir);
    let code = store
        .create_enrollment_code("W1", &Inn::parse(OURS).unwrap(), Timestamp(0))
        .unwrap();
    let second = store
        .create_enrollment_code("W1", &Inn::parse(OURS).unwrap(), Timestamp(0))
        .unwrap();
    let admin = store.create_admin_token("ops", Timestamp(0)).unwrap();
    let hub = Hub::bind(store, "127.0.0.1:0").unwrap();
    let base = format!("http://{}", hub.local_addr().unwrap());
    thread::spawn(move || hub.run());
    let mut c = Checker {
        spec: spec(),
        base,
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into(),
        seen: BTreeSet::new(),
    };

    // Enrollment; a field the hub does not know is ignored, as serde does.
    let enroll = |code: &str| json!({"code": code, "device_name": "tsd-1", "app_version": "0.1.0", "imei": "x"});
    let enrolled = c.check(
        "POST",
        "/v1/enroll",
        "/v1/enroll",
        &[],
        Some(&enroll(&code)),
    );
    let token = enrolled["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let device = [("Authorization", bearer.as_str())];
    c.check(
        "POST",
        "/v1/enroll",
        "/v1/enroll",
        &[],
        Some(&enroll(&code)),
    );
    c.check(
        "POST",
        "/v1/enroll",
        "/v1/enroll",
        &[],
        Some(&json!({"code": 1})),
    );
    let revoked = c.check(
        "POST",
        "/v1/enroll",
        "/v1/enroll",
        &[],
        Some(&enroll(&second)),
    );
    let store = Store::open(dir.join("hub.db")).unwrap();
    assert!(
        store
            .revoke_device(revoked["device_id"].as_i64().unwrap(), Timestamp(1))
            .unwrap()
    );

    // Pushes: accepted (with a notice, with a discrepancy), rejected, duplicate; refusals.
    let sscc = Sscc::compose(0, "4600840", 1).unwrap().to_string();
    let operations = [
        operation(
            1,
            "write-off",
            json!({"reason": "damage_loss", "document_number": "A-1",
                   "document_date": "2026-11-22", "codes": [cis("AAAAAAAAAAAA1")]}),
        ),
        operation(
            2,
            "aggregation",
            json!({"aggregates": [{"sscc": sscc, "level": "box",
                                   "children": [{"unit": cis("AAAAAAAAAAAA2")}]}]}),
        ),
        operation(
            3,
            "acceptance",
            json!({"task_id": "T-1", "accepted": [cis("AAAAAAAAAAAA3")],
                   "missing": [cis("MISSING00001")], "acceptance_date": "2026-11-22"}),
        ),
        operation(4, "write-off", json!({"reason": "nonsense"})),
        operation(5, "teleport", json!(null)),
    ];
    let pushed = c.check(
        "POST",
        "/v1/push",
        "/v1/push",
        &device,
        Some(&push_body(&operations)),
    );
    let results: Vec<&str> = pushed["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        ["accepted", "accepted", "accepted", "rejected", "rejected"],
        "{pushed}"
    );
    assert!(pushed["answers"][2]["notices"].is_array(), "{pushed}");
    let again = c.check(
        "POST",
        "/v1/push",
        "/v1/push",
        &device,
        Some(&push_body(&operations[..1])),
    );
    assert_eq!(again["answers"][0]["result"], "duplicate");
    c.check("POST", "/v1/push", "/v1/push", &[], Some(&push_body(&[])));
    let stranger = [("Authorization", "Bearer not-a-token")];
    c.check(
        "POST",
        "/v1/push",
        "/v1/push",
        &stranger,
        Some(&push_body(&[])),
    );
    let mut bad = operation(1, "write-off", json!({}));
    bad["uuid"] = json!("not-a-uuid");
    c.check(
        "POST",
        "/v1/push",
        "/v1/push",
        &device,
        Some(&push_body(&[bad])),
    );
    let many: Vec<Value> = (0..=MAX_PUSH_OPERATIONS as i64)
        .map(|i| operation(i, "teleport", json!(null)))
        .collect();
    c.check(
        "POST",
        "/v1/push",
        "/v1/push",
        &device,
        Some(&push_body(&many)),
    );
    c.check(
        "POST",
        "/v1/push",
        "/v1/push",
        &device,
        Some(&json!([1, 2, 3])),
    );

    // GIS MT answers one document (as the link would record it), so the verdicts feed and
    // the journal have something to show.
    let due = store.due_submissions(Timestamp(i64::MAX), 1).unwrap();
    let s = &due[0];
    assert!(
        store
            .mark_sending(s.operation, s.position, Timestamp(5), Timestamp(6))
            .unwrap()
    );
    assert!(
        store
            .record_gis_id(
                s.operation,
                s.position,
                "b1a2c3d4-0000-4000-8000-000000000001",
                Timestamp(6),
                Timestamp(7)
            )
            .unwrap()
    );
    let errors = vec!["Код не найден".to_owned()];
    let verdict = json!({"operation": s.uuid, "type": s.doc_type, "pg": s.pg,
                         "gis_id": "b1a2c3d4-0000-4000-8000-000000000001", "state": "checked_not_ok",
                         "reasons": [{"code": "gis_mt_refused", "en": "GIS MT refused", "ru": "ГИС МТ отклонила"}],
                         "at": 8});
    store
        .record_final(
            &tally_hub::store::link::Final {
                operation: s.operation,
                position: s.position,
                state: tally_wire::DocumentState::CheckedNotOk,
                errors: &errors,
                verdict: &verdict,
                verdict_key: "1/u/0",
                warehouse: &s.warehouse,
            },
            Timestamp(8),
        )
        .unwrap();

    // Every feed, a snapshot page, and the refusals of a pull.
    for feed in Feed::ALL {
        let path = format!("/v1/pull/{}", feed.name());
        let page = c.check("GET", "/v1/pull/{feed}", &path, &device, None);
        assert!(
            !page["items"].as_array().unwrap().is_empty(),
            "{path}: {page}"
        );
    }
    store.prune(1).unwrap();
    let snapshot = c.check(
        "GET",
        "/v1/pull/{feed}",
        "/v1/pull/statuses?after=1&limit=2",
        &[device[0], ("Tally-Protocol", "2")],
        None,
    );
    assert_eq!(snapshot["snapshot"], true, "{snapshot}");
    for path in [
        "/v1/pull/invoices",
        "/v1/pull/statuses?after=x",
        "/v1/pull/tasks?limit=",
    ] {
        c.check("GET", "/v1/pull/{feed}", path, &device, None);
    }
    c.check("GET", "/v1/pull/{feed}", "/v1/pull/statuses", &[], None);
    // A big page comes gzipped to a client that asks, with the same body.
    c.check(
        "GET",
        "/v1/pull/{feed}",
        "/v1/pull/statuses",
        &[device[0], ("Accept-Encoding", "gzip")],
        None,
    );

    // Documents: of every kind, filtered, refused.
    let page = c.check("GET", "/v1/documents", "/v1/documents", &device, None);
    for list in ["documents", "notices", "discrepancies"] {
        assert!(!page[list].as_array().unwrap().is_empty(), "{list}: {page}");
    }
    let filtered = "/v1/documents?kind=write-off&kind=aggregation&type=LP_ACCEPT_GOODS&limit=1";
    c.check("GET", "/v1/documents", filtered, &device, None);
    c.check(
        "GET",
        "/v1/documents",
        "/v1/documents?kind=teleport",
        &device,
        None,
    );
    c.check("GET", "/v1/documents", "/v1/documents", &stranger, None);

    // The fleet, JSON and HTML, for an administrator by Bearer or Basic, and its refusals.
    let admin_bearer = format!("Bearer {admin}");
    let mut basic = axum::http::HeaderMap::new();
    basic.typed_insert(Authorization::basic("ops", &admin));
    let admin_basic = basic["authorization"].to_str().unwrap().to_owned();
    for path in ["/v1/fleet", "/fleet"] {
        for credentials in [&admin_bearer, &admin_basic] {
            let auth = [("Authorization", credentials.as_str())];
            c.check("GET", path, &format!("{path}?warehouse=W1"), &auth, None);
            let twice = format!("{path}?warehouse=W1&warehouse=W2");
            c.check("GET", path, &twice, &auth, None);
        }
        c.check("GET", path, path, &[], None);
        c.check("GET", path, path, &device, None);
    }
    let fleet = c.check(
        "GET",
        "/v1/fleet",
        "/v1/fleet",
        &[("Authorization", &admin_bearer)],
        None,
    );
    assert!(
        fleet["devices"][1]["revoked_at"].is_i64(),
        "a revoked device: {fleet}"
    );

    // The exchange journal: JSON, CSV and the page, filtered, paged, and its refusals.
    for path in ["/v1/journal", "/journal"] {
        for credentials in [&admin_bearer, &admin_basic] {
            let auth = [("Authorization", credentials.as_str())];
            c.check("GET", path, path, &auth, None);
            let filtered = format!(
                "{path}?state=checked_not_ok&state=waiting&warehouse=W1&from=2020-01-01&to=2099-12-31&limit=1"
            );
            c.check("GET", path, &filtered, &auth, None);
            c.check("GET", path, &format!("{path}?state=done"), &auth, None);
            c.check("GET", path, &format!("{path}?from=2026-02-30"), &auth, None);
            c.check("GET", path, &format!("{path}?before=x"), &auth, None);
        }
        c.check("GET", path, path, &[], None);
        c.check("GET", path, path, &device, None);
    }
    let auth = [("Authorization", admin_bearer.as_str())];
    let refused = c.check(
        "GET",
        "/v1/journal",
        "/v1/journal?state=checked_not_ok",
        &auth,
        None,
    );
    assert_eq!(
        refused["entries"][0]["errors"][0], "Код не найден",
        "{refused}"
    );
    let journal = c.check("GET", "/v1/journal", "/v1/journal?limit=1", &auth, None);
    let older = journal["next_before"].as_str().unwrap().to_owned();
    c.check(
        "GET",
        "/v1/journal",
        &format!("/v1/journal?before={older}"),
        &auth,
        None,
    );
    let csv = c.check("GET", "/v1/journal", "/v1/journal?format=csv", &auth, None);
    assert!(
        csv.as_str().unwrap().starts_with("made_at,operation,kind"),
        "{csv}"
    );

    // The results, as integrators page through them, and their refusals.
    let results = c.check(
        "GET",
        "/v1/results",
        "/v1/results?warehouse=W1&limit=2",
        &auth,
        None,
    );
    let next = results["next"].as_i64().unwrap();
    c.check(
        "GET",
        "/v1/results",
        &format!("/v1/results?after={next}"),
        &auth,
        None,
    );
    c.check("GET", "/v1/results", "/v1/results?after=x", &auth, None);
    // An empty cursor is no cursor: refused, not read as the start.
    let empty = c.check("GET", "/v1/results", "/v1/results?after=", &auth, None);
    assert_eq!(empty["code"], "bad_query", "{empty}");
    c.check("GET", "/v1/results", "/v1/results", &[], None);
    c.check("GET", "/v1/results", "/v1/results", &device, None);

    // A shipment's codes for its UPD, and the refusals: a terminal's token, no token, an id
    // that is no applied shipment.
    let shipped = operation(
        6,
        "shipment",
        json!({"receiver_inn": SUPPLIER, "document_number": "УПД-1",
               "document_date": "2026-11-22", "labels": [sscc]}),
    );
    let answer = c.send(
        "POST",
        "/v1/push",
        &device,
        Some(&push_body(std::slice::from_ref(&shipped))),
    );
    assert!(answer.body.contains("\"accepted\""), "{}", answer.body);
    let upd = format!("/v1/results/{}/upd", shipped["uuid"].as_str().unwrap());
    let template = "/v1/results/{id}/upd";
    let file = c.check("GET", template, &upd, &auth, None);
    assert!(
        file.as_str()
            .unwrap()
            .contains(&format!("<НомУпак>{sscc}</НомУпак>")),
        "{file}"
    );
    c.check("GET", template, &upd, &device, None);
    c.check("GET", template, &upd, &[], None);
    c.check(
        "GET",
        template,
        &upd,
        &[auth[0], ("Tally-Protocol", "two")],
        None,
    );
    let written_off = format!(
        "/v1/results/{}/upd",
        operations[0]["uuid"].as_str().unwrap()
    );
    c.check("GET", template, &written_off, &auth, None);
    c.check("GET", template, "/v1/results/nothing/upd", &auth, None);

    // 1C's site exchange: checkauth by Basic, a fragment by cookie, and its refusals.
    let onec = store
        .onec_add_node(
            &tally_hub::store::onec::OnecNode {
                name: "ut11".into(),
                warehouse: "W1".into(),
                allow: String::new(),
                keep_existing: false,
            },
            Timestamp(9),
        )
        .unwrap()
        .unwrap();
    let mut onec_basic = axum::http::HeaderMap::new();
    onec_basic.typed_insert(Authorization::basic("ut11", &onec));
    let onec_basic = onec_basic["authorization"].to_str().unwrap().to_owned();
    let signed = c.check(
        "GET",
        "/1c/exchange",
        "/1c/exchange?type=catalog&mode=checkauth",
        &[("Authorization", onec_basic.as_str())],
        None,
    );
    let lines: Vec<&str> = signed.as_str().unwrap().lines().collect();
    assert_eq!(lines[0], "success", "{signed}");
    let session = format!("{}={}", lines[1], lines[2]);
    let sent = c.check(
        "POST",
        "/1c/exchange",
        "/1c/exchange?type=catalog&mode=file&filename=import.xml",
        &[("Cookie", session.as_str())],
        Some(&json!("<КоммерческаяИнформация/>")),
    );
    assert_eq!(sent.as_str().unwrap().trim(), "success");
    let refused = c.check(
        "GET",
        "/1c/exchange",
        "/1c/exchange?type=catalog&mode=init",
        &[],
        None,
    );
    assert!(
        refused.as_str().unwrap().starts_with("failure\n"),
        "{refused}"
    );

    // Probes, and protocol versions refused before anything else.
    for path in ["/healthz", "/readyz"] {
        c.check("GET", path, path, &[], None);
        c.check("GET", path, path, &[("Tally-Protocol", "0")], None);
        c.check("GET", path, path, &[("Tally-Protocol", "two")], None);
    }
    c.check(
        "POST",
        "/v1/push",
        "/v1/push",
        &[device[0], ("Tally-Protocol", "0")],
        Some(&json!("not even a push")),
    );

    // Every operation answered at least once with its success.
    for &(method, path) in ROUTES {
        let method = method.to_ascii_uppercase();
        assert!(
            c.seen.contains(&(method.clone(), path.to_owned(), 200)),
            "{method} {path} never answered 200"
        );
    }

    // Outside the operations: a path the hub does not serve, a method a path does not take.
    let unknown = c.send("GET", "/v2/pull", &[], None);
    assert_eq!(unknown.status, 404);
    c.validate(
        "/components/schemas/ErrorBody",
        &serde_json::from_str(&unknown.body).unwrap(),
        "404",
    );
    let wrong = c.send("DELETE", "/v1/push", &device, None);
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.headers.get("allow").map(String::as_str), Some("POST"));
    c.validate(
        "/components/schemas/ErrorBody",
        &serde_json::from_str(&wrong.body).unwrap(),
        "405",
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
