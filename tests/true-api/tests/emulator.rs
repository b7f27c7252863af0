//! The emulator as the hub will meet it: the real binary on a local port, a throwaway PKI with
//! the hub's signer script, real HTTP. Each test proves one refusal or effect GIS MT has.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use tally_true_api_emulator::{Emulator, FaultKind, TestPki};

const OWNER: &str = "7701234560";
const SUPPLIER: &str = "500312345614";
const OTHER: &str = "5001007329";

const RECEIPT_A: &str = "0104601234567893215AbC12";
const RECEIPT_B: &str = "0104601234567893215Qw3Er";

struct Fixture {
    pki: TestPki,
    emu: Emulator,
    agent: ureq::Agent,
    dir: PathBuf,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(name: &str) -> Value {
    let path = repo().join("wire/schemas/examples").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("true-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fixture_with(name: &str, extra: &[&str]) -> Fixture {
    let dir = scratch(name);
    let pki = TestPki::create(&dir.join("pki"), &[OWNER, SUPPLIER, OTHER]);
    let emu = Emulator::spawn_with(
        Path::new(env!("CARGO_BIN_EXE_true-api-emulator")),
        &pki.ca_path(),
        &repo().join("wire/schemas"),
        None,
        extra,
    );
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    Fixture {
        pki,
        emu,
        agent,
        dir,
    }
}

fn fixture(name: &str) -> Fixture {
    fixture_with(name, &[])
}

/// A unit code of light industry (pg 1) as `cisInfo`.
fn unit(cis: &str, status: &str, owner: &str) -> Value {
    json!({"cis": cis, "gtin": &cis[2..16], "productGroupId": 1, "status": status,
           "ownerInn": owner, "packageType": "UNIT", "productName": "Футболка"})
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.url())
    }

    fn answer(mut response: ureq::http::Response<ureq::Body>) -> (u16, String) {
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut request = self.agent.get(self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Self::answer(request.call().unwrap())
    }

    fn try_post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> Result<(u16, String), ureq::Error> {
        let mut request = self
            .agent
            .post(self.url(path))
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request.send(body).map(Self::answer)
    }

    fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
        self.try_post(path, token, body).unwrap()
    }

    fn key(&self) -> (String, String) {
        let (status, text) = self.get("/api/v3/true-api/auth/key", None);
        assert_eq!(status, 200, "{text}");
        let key: Value = serde_json::from_str(&text).unwrap();
        (
            key["uuid"].as_str().unwrap().to_owned(),
            key["data"].as_str().unwrap().to_owned(),
        )
    }

    fn sign_in_with(&self, uuid: &str, signature: &str) -> (u16, String) {
        self.post(
            "/api/v3/true-api/auth/simpleSignIn",
            None,
            &json!({"uuid": uuid, "data": signature}).to_string(),
        )
    }

    fn sign_in(&self, inn: &str) -> String {
        let (uuid, data) = self.key();
        let signature = self.pki.sign(inn, data.as_bytes(), true);
        let (status, text) = self.sign_in_with(&uuid, &signature);
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        answer["token"].as_str().unwrap().to_owned()
    }

    /// `create` with the body signed (detached) by `signer`.
    fn create(
        &self,
        token: &str,
        pg: &str,
        doc_type: &str,
        body: &Value,
        signer: &str,
    ) -> (u16, String) {
        let bytes = serde_json::to_vec(body).unwrap();
        let signature = self.pki.sign(signer, &bytes, false);
        self.create_raw(token, pg, doc_type, &B64.encode(&bytes), &signature)
    }

    fn create_raw(
        &self,
        token: &str,
        pg: &str,
        doc_type: &str,
        document: &str,
        signature: &str,
    ) -> (u16, String) {
        let envelope = json!({"document_format": "MANUAL", "product_document": document,
                              "type": doc_type, "signature": signature});
        self.post(
            &format!("/api/v3/true-api/lk/documents/create?pg={pg}"),
            Some(token),
            &envelope.to_string(),
        )
    }

    fn created(&self, token: &str, pg: &str, doc_type: &str, body: &Value) -> String {
        let (status, id) = self.create(token, pg, doc_type, body, OWNER);
        assert_eq!(status, 200, "{id}");
        id
    }

    fn info(&self, token: &str, id: &str, pg: &str) -> Value {
        let (status, text) = self.get(
            &format!("/api/v4/true-api/doc/{id}/info?pg={pg}&body=true"),
            Some(token),
        );
        assert_eq!(status, 200, "{text}");
        let list: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1, "{text}");
        list[0].clone()
    }

    /// Reads the document's info until it is no longer IN_PROGRESS (at most 10 reads).
    fn verdict(&self, token: &str, id: &str, pg: &str) -> Value {
        for _ in 0..10 {
            let info = self.info(token, id, pg);
            if info["status"] != "IN_PROGRESS" {
                return info;
            }
        }
        panic!("document {id} never left IN_PROGRESS");
    }

    fn cises(&self, token: &str, codes: &[&str]) -> Vec<Value> {
        let (status, text) = self.post(
            "/api/v3/true-api/cises/info",
            Some(token),
            &json!(codes).to_string(),
        );
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    fn status_of(&self, cis: &str) -> Value {
        self.emu
            .codes(cis)
            .unwrap_or_else(|| panic!("{cis} unknown"))
    }
}

fn error_message(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    v["error_message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error_message: {text}"))
        .to_owned()
}

#[test]
fn sign_in_with_a_good_signature_gives_a_token_of_the_signers_participant() {
    let f = fixture("sign-in");
    let token = f.sign_in(OWNER);
    f.emu.seed(&[unit(RECEIPT_A, "INTRODUCED", OWNER)]);
    // The token is the owner's: cises/info shows it the owner's INN.
    let answer = f.cises(&token, &[RECEIPT_A]);
    assert_eq!(answer[0]["cisInfo"]["ownerInn"], OWNER);
    let other = f.sign_in(OTHER);
    let answer = f.cises(&other, &[RECEIPT_A]);
    assert!(answer[0]["cisInfo"].get("ownerInn").is_none(), "{answer:?}");
    assert_eq!(f.emu.stats().sign_ins, 2);
}

#[test]
fn sign_in_refuses_a_foreign_ca_other_data_a_detached_signature_and_a_used_uuid() {
    let f = fixture("sign-in-refusals");
    // A certificate for the same INN, from a CA the emulator does not trust.
    let stranger = TestPki::create(&f.dir.join("stranger"), &[OWNER]);
    let (uuid, data) = f.key();
    let (status, text) = f.sign_in_with(&uuid, &stranger.sign(OWNER, data.as_bytes(), true));
    assert_eq!(status, 401, "{text}");
    assert!(!error_message(&text).is_empty());

    let (uuid, _) = f.key();
    let (status, text) = f.sign_in_with(&uuid, &f.pki.sign(OWNER, b"other data", true));
    assert_eq!(status, 401, "{text}");

    let (uuid, data) = f.key();
    let (status, text) = f.sign_in_with(&uuid, &f.pki.sign(OWNER, data.as_bytes(), false));
    assert_eq!(status, 401, "a detached signature carries no data: {text}");

    let (uuid, data) = f.key();
    let signature = f.pki.sign(OWNER, data.as_bytes(), true);
    assert_eq!(f.sign_in_with(&uuid, &signature).0, 200);
    let (status, text) = f.sign_in_with(&uuid, &signature);
    assert_eq!(status, 401, "a used uuid: {text}");

    let (status, _) = f.sign_in_with("00000000-0000-4000-8000-000000000000", &signature);
    assert_eq!(status, 401, "an unknown uuid");
    assert_eq!(f.emu.stats().sign_ins, 1);
}

#[test]
fn cises_info_answers_hides_owner_from_others_and_refuses_1001_codes() {
    let f = fixture("cises");
    f.emu.seed(&[
        unit(RECEIPT_A, "INTRODUCED", OWNER),
        unit(RECEIPT_B, "INTRODUCED", SUPPLIER),
    ]);
    let token = f.sign_in(OWNER);
    let unknown = "0104601234567893215Zz9Zz";
    let answer = f.cises(&token, &[RECEIPT_A, RECEIPT_B, unknown]);
    assert_eq!(answer.len(), 3);
    assert_eq!(answer[0]["cisInfo"]["cis"], RECEIPT_A);
    assert_eq!(answer[0]["cisInfo"]["requestedCis"], RECEIPT_A);
    assert_eq!(answer[0]["cisInfo"]["status"], "INTRODUCED");
    assert_eq!(answer[0]["cisInfo"]["ownerInn"], OWNER);
    assert!(answer[0].get("errorCode").is_none());
    assert_eq!(answer[1]["cisInfo"]["status"], "INTRODUCED");
    assert!(
        answer[1]["cisInfo"].get("ownerInn").is_none(),
        "{:?}",
        answer[1]
    );
    assert_eq!(answer[2]["errorCode"], "404");
    assert_eq!(answer[2]["cisInfo"]["requestedCis"], unknown);

    // A code with its crypto tail is found by its КИ.
    let with_tail = format!("{RECEIPT_A}\u{1d}93dGVz");
    let answer = f.cises(&token, &[&with_tail]);
    assert_eq!(answer[0]["cisInfo"]["cis"], RECEIPT_A);

    let many: Vec<String> = (0..1001)
        .map(|i| format!("0104601234567893215{i:05}"))
        .collect();
    let (status, text) = f.post(
        "/api/v3/true-api/cises/info",
        Some(&token),
        &json!(many).to_string(),
    );
    assert_eq!(status, 400, "{text}");
    let (status, _) = f.post(
        "/api/v3/true-api/cises/info",
        Some(&token),
        &json!(many[..1000]).to_string(),
    );
    assert_eq!(status, 200);
    let (status, _) = f.post(
        "/api/v3/true-api/cises/info",
        None,
        &json!([RECEIPT_A]).to_string(),
    );
    assert_eq!(status, 401);
    let (status, _) = f.post("/api/v3/true-api/cises/info", Some(&token), "[1, 2]");
    assert_eq!(status, 400);
    assert_eq!(f.emu.stats().cises_info_calls, 3);
}

#[test]
fn create_refuses_bad_signatures_schema_violations_and_bad_envelopes_and_stores_nothing() {
    let f = fixture("create-refusals");
    let token = f.sign_in(OWNER);
    let body = example("LK_RECEIPT.valid.json");
    let bytes = serde_json::to_vec(&body).unwrap();
    let document = B64.encode(&bytes);
    let signature = f.pki.sign(OWNER, &bytes, false);

    // Signed by another participant than the token's.
    let (status, text) = f.create(&token, "lp", "LK_RECEIPT", &body, OTHER);
    assert_eq!(status, 400, "{text}");
    assert!(error_message(&text).contains(OTHER), "{text}");
    // A signature over other bytes.
    let other_sig = f.pki.sign(OWNER, b"{}", false);
    let (status, text) = f.create_raw(&token, "lp", "LK_RECEIPT", &document, &other_sig);
    assert_eq!(status, 400, "{text}");
    // A certificate not under the CA.
    let stranger = TestPki::create(&f.dir.join("stranger"), &[OWNER]);
    let foreign = stranger.sign(OWNER, &bytes, false);
    assert_eq!(
        f.create_raw(&token, "lp", "LK_RECEIPT", &document, &foreign)
            .0,
        400
    );
    // Not base64.
    assert_eq!(
        f.create_raw(&token, "lp", "LK_RECEIPT", "%%%", &signature)
            .0,
        400
    );
    assert_eq!(
        f.create_raw(&token, "lp", "LK_RECEIPT", &document, "not base64!")
            .0,
        400
    );
    // Unknown type and group.
    assert_eq!(
        f.create_raw(&token, "lp", "LK_SOMETHING", &document, &signature)
            .0,
        400
    );
    assert_eq!(
        f.create_raw(&token, "plastics", "LK_RECEIPT", &document, &signature)
            .0,
        400
    );
    // Not MANUAL.
    let envelope = json!({"document_format": "XML", "product_document": document,
                          "type": "LK_RECEIPT", "signature": signature});
    let (status, _) = f.post(
        "/api/v3/true-api/lk/documents/create?pg=lp",
        Some(&token),
        &envelope.to_string(),
    );
    assert_eq!(status, 400);
    // A body its schema refuses: OTHER is not a withdrawal action (validly signed).
    let mut broken = body.clone();
    broken["action"] = json!("OTHER");
    let (status, text) = f.create(&token, "lp", "LK_RECEIPT", &broken, OWNER);
    assert_eq!(status, 400, "{text}");
    assert!(error_message(&text).contains("схеме"), "{text}");
    let mut broken = body.clone();
    broken.as_object_mut().unwrap().remove("inn");
    assert_eq!(f.create(&token, "lp", "LK_RECEIPT", &broken, OWNER).0, 400);
    // No token.
    let (status, _) = f.post(
        "/api/v3/true-api/lk/documents/create?pg=lp",
        None,
        &envelope.to_string(),
    );
    assert_eq!(status, 401);
    assert!(f.emu.documents().is_empty());
    assert_eq!(f.emu.stats().creates, 0);

    // The valid example, validly signed, is taken: its id is a v4 UUID.
    let (status, id) = f.create_raw(&token, "lp", "LK_RECEIPT", &document, &signature);
    assert_eq!(status, 200, "{id}");
    let parsed = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
    let stored = f.emu.documents();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, id);
    assert_eq!(stored[0].inn, OWNER);
    assert_eq!(stored[0].content, body);
}

#[test]
fn a_withdrawal_goes_in_progress_then_checked_ok_and_retires_its_codes() {
    let f = fixture("withdrawal");
    f.emu.seed(&[
        unit(RECEIPT_A, "INTRODUCED", OWNER),
        unit(RECEIPT_B, "INTRODUCED", OWNER),
    ]);
    let token = f.sign_in(OWNER);
    let body = example("LK_RECEIPT.valid.json");
    let id = f.created(&token, "lp", "LK_RECEIPT", &body);

    let first = f.info(&token, &id, "lp");
    assert_eq!(first["status"], "IN_PROGRESS");
    assert_eq!(first["number"], id.as_str());
    assert_eq!(first["type"], "LK_RECEIPT");
    assert_eq!(first["senderInn"], OWNER);
    assert_eq!(first["content"], body);
    assert_eq!(
        f.status_of(RECEIPT_A)["status"],
        "INTRODUCED",
        "no effect while checked"
    );

    let second = f.info(&token, &id, "lp");
    assert_eq!(second["status"], "CHECKED_OK", "{second}");
    assert!(second.get("errors").is_none());
    let answer = f.cises(&token, &[RECEIPT_A, RECEIPT_B]);
    assert_eq!(answer[0]["cisInfo"]["status"], "RETIRED");
    assert_eq!(answer[1]["cisInfo"]["status"], "RETIRED");

    // doc/list: the participant's documents only.
    let (status, text) = f.get("/api/v4/true-api/doc/list?pg=lp&documentType=LK_RECEIPT&dateFrom=2026-01-01T00:00:00.000Z&limit=10", Some(&token));
    assert_eq!(status, 200, "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["results"][0]["number"], id.as_str());
    assert_eq!(list["results"][0]["status"], "CHECKED_OK");
    assert_eq!(list["nextPage"], false);
    let (_, text) = f.get(
        "/api/v4/true-api/doc/list?pg=lp&dateTo=2020-01-01T00:00:00.000Z",
        Some(&token),
    );
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["results"],
        json!([])
    );
    assert_eq!(
        f.get(
            "/api/v4/true-api/doc/list?pg=lp&dateFrom=yesterday",
            Some(&token)
        )
        .0,
        400
    );
    assert_eq!(
        f.get("/api/v4/true-api/doc/list?pg=lp&limit=10001", Some(&token))
            .0,
        400
    );

    let other = f.sign_in(OTHER);
    assert_eq!(
        f.get(
            &format!("/api/v4/true-api/doc/{id}/info?pg=lp"),
            Some(&other)
        )
        .0,
        404
    );
    let (_, text) = f.get("/api/v4/true-api/doc/list?pg=lp", Some(&other));
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["results"],
        json!([])
    );

    // The same codes cannot leave circulation twice.
    let again = f.created(&token, "lp", "LK_RECEIPT", &body);
    let verdict = f.verdict(&token, &again, "lp");
    assert_eq!(verdict["status"], "CHECKED_NOT_OK");
    assert_eq!(f.emu.stats().info_reads, 4);
}

#[test]
fn checking_polls_keeps_a_document_in_progress_for_that_many_reads() {
    let f = fixture_with("polls", &["--checking-polls", "3"]);
    f.emu.seed(&[
        unit(RECEIPT_A, "INTRODUCED", OWNER),
        unit(RECEIPT_B, "INTRODUCED", OWNER),
    ]);
    let token = f.sign_in(OWNER);
    let id = f.created(
        &token,
        "lp",
        "LK_RECEIPT",
        &example("LK_RECEIPT.valid.json"),
    );
    for _ in 0..3 {
        assert_eq!(f.info(&token, &id, "lp")["status"], "IN_PROGRESS");
    }
    assert_eq!(f.info(&token, &id, "lp")["status"], "CHECKED_OK");
}

/// The codes of `LP_ACCEPT_GOODS.valid.json`, shipped by the supplier to the owner.
fn shipped() -> Vec<Value> {
    let shipped = |cis: &str| {
        let mut code = unit(cis, "INTRODUCED", SUPPLIER);
        code["statusEx"] = json!("WAIT_SHIPMENT");
        code
    };
    let mut a = shipped("0104607001234562215Tg7Hj1Kl3Zx9");
    a["parent"] = json!("046012345000000012");
    let mut b = shipped("0104607001234562215Mn4Bv6Cx8Zl2");
    b["parent"] = json!("046012345000000012");
    let mut sscc = json!({"cis": "046012345000000012", "productGroupId": 1, "status": "INTRODUCED",
                          "ownerInn": SUPPLIER, "packageType": "LEVEL1", "statusEx": "WAIT_SHIPMENT",
                          "child": ["0104607001234562215Tg7Hj1Kl3Zx9", "0104607001234562215Mn4Bv6Cx8Zl2"]});
    sscc["generalPackageType"] = json!("BOX");
    vec![
        shipped("0104607001234562215Ab3xYz9QwE7r"),
        shipped("0104607001234562215Kp8Lm2Nq4Rs6"),
        sscc,
        a,
        b,
    ]
}

#[test]
fn an_acceptance_of_codes_someone_else_owns_ends_checked_not_ok_naming_the_code() {
    let f = fixture("acceptance-refused");
    let mut codes = shipped();
    let wrong = "0104607001234562215Kp8Lm2Nq4Rs6";
    codes[1]["ownerInn"] = json!(OTHER);
    f.emu.seed(&codes);
    let token = f.sign_in(OWNER);
    let id = f.created(
        &token,
        "lp",
        "LP_ACCEPT_GOODS",
        &example("LP_ACCEPT_GOODS.valid.json"),
    );
    let verdict = f.verdict(&token, &id, "lp");
    assert_eq!(verdict["status"], "CHECKED_NOT_OK", "{verdict}");
    let errors = verdict["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].as_str().unwrap().contains(wrong), "{errors:?}");
    // All or nothing: the codes that were fine did not change hands.
    assert_eq!(
        f.status_of("0104607001234562215Ab3xYz9QwE7r")["ownerInn"],
        SUPPLIER
    );
    assert_eq!(f.emu.documents()[0].status, "CHECKED_NOT_OK");
    assert_eq!(f.emu.documents()[0].errors.len(), 1);
}

#[test]
fn an_acceptance_moves_accepted_codes_to_the_recipient_and_leaves_refused_ones() {
    let f = fixture("acceptance");
    f.emu.seed(&shipped());
    let token = f.sign_in(OWNER);
    let id = f.created(
        &token,
        "lp",
        "LP_ACCEPT_GOODS",
        &example("LP_ACCEPT_GOODS.valid.json"),
    );
    let verdict = f.verdict(&token, &id, "lp");
    assert_eq!(verdict["status"], "CHECKED_OK", "{verdict}");
    let accepted = f.status_of("0104607001234562215Ab3xYz9QwE7r");
    assert_eq!(accepted["ownerInn"], OWNER);
    assert!(accepted.get("statusEx").is_none(), "{accepted}");
    let refused = f.status_of("0104607001234562215Kp8Lm2Nq4Rs6");
    assert_eq!(refused["ownerInn"], SUPPLIER);
    assert_eq!(f.status_of("046012345000000012")["ownerInn"], OWNER);
    assert_eq!(
        f.status_of("0104607001234562215Tg7Hj1Kl3Zx9")["ownerInn"],
        OWNER
    );
    // The refused child left the accepted box.
    let out = f.status_of("0104607001234562215Mn4Bv6Cx8Zl2");
    assert_eq!(out["ownerInn"], SUPPLIER);
    assert!(out.get("parent").is_none(), "{out}");
    assert_eq!(
        f.status_of("046012345000000012")["child"],
        json!(["0104607001234562215Tg7Hj1Kl3Zx9"])
    );

    // Accepting them again: no longer the supplier's.
    let again = f.created(
        &token,
        "lp",
        "LP_ACCEPT_GOODS",
        &example("LP_ACCEPT_GOODS.valid.json"),
    );
    assert_eq!(f.verdict(&token, &again, "lp")["status"], "CHECKED_NOT_OK");
}

#[test]
fn aggregation_registers_the_box_and_disaggregation_breaks_it_up() {
    let f = fixture("aggregation");
    let children = [
        "0104601234567893215AbC12",
        "0104601234567893215xY7k9",
        "0104601234567893215Qw3Er",
    ];
    f.emu.seed(&children.map(|c| unit(c, "APPLIED", OWNER)));
    let token = f.sign_in(OWNER);
    let id = f.created(
        &token,
        "lp",
        "AGGREGATION_DOCUMENT",
        &example("AGGREGATION_DOCUMENT.valid.json"),
    );
    assert_eq!(f.verdict(&token, &id, "lp")["status"], "CHECKED_OK");
    let sscc = "046012345000000012";
    let info = &f.cises(&token, &[sscc])[0]["cisInfo"];
    assert_eq!(info["ownerInn"], OWNER);
    assert_eq!(info["status"], "APPLIED");
    assert_eq!(info["generalPackageType"], "BOX");
    assert_eq!(info["child"], json!(children));
    for c in children {
        assert_eq!(f.status_of(c)["parent"], sscc);
    }
    // Packed codes cannot be packed again.
    let again = f.created(
        &token,
        "lp",
        "AGGREGATION_DOCUMENT",
        &example("AGGREGATION_DOCUMENT.valid.json"),
    );
    assert_eq!(f.verdict(&token, &again, "lp")["status"], "CHECKED_NOT_OK");

    let body = json!({"participant_inn": OWNER, "products_list": [{"uitu": sscc}]});
    let id = f.created(&token, "lp", "DISAGGREGATION_DOCUMENT", &body);
    assert_eq!(f.verdict(&token, &id, "lp")["status"], "CHECKED_OK");
    assert_eq!(f.status_of(sscc)["status"], "DISAGGREGATED");
    for c in children {
        assert!(f.status_of(c).get("parent").is_none());
    }
}

#[test]
fn a_refused_code_makes_every_later_document_naming_it_checked_not_ok() {
    let f = fixture("refuse");
    f.emu.seed(&[
        unit(RECEIPT_A, "INTRODUCED", OWNER),
        unit(RECEIPT_B, "INTRODUCED", OWNER),
    ]);
    f.emu.refuse(RECEIPT_B);
    let token = f.sign_in(OWNER);
    let id = f.created(
        &token,
        "lp",
        "LK_RECEIPT",
        &example("LK_RECEIPT.valid.json"),
    );
    let verdict = f.verdict(&token, &id, "lp");
    assert_eq!(verdict["status"], "CHECKED_NOT_OK");
    let errors = verdict["errors"].to_string();
    assert!(errors.contains(RECEIPT_B), "{errors}");
    assert!(!errors.contains(RECEIPT_A), "{errors}");
    assert_eq!(f.status_of(RECEIPT_A)["status"], "INTRODUCED");
}

#[test]
fn status_faults_answer_their_count_then_the_call_works() {
    let f = fixture("fault-status");
    let token = f.sign_in(OWNER);
    f.emu.seed(&[unit(RECEIPT_A, "INTRODUCED", OWNER)]);
    f.emu.fault(
        "/api/v3/true-api/cises",
        FaultKind::Status {
            status: 429,
            retry_after: Some(7),
        },
        2,
    );
    assert_eq!(f.emu.stats().faults_left, 2);
    for _ in 0..2 {
        let response = f
            .agent
            .post(f.url("/api/v3/true-api/cises/info"))
            .header("Authorization", format!("Bearer {token}"))
            .send(json!([RECEIPT_A]).to_string())
            .unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers().get("retry-after").unwrap(), "7");
    }
    assert_eq!(
        f.cises(&token, &[RECEIPT_A])[0]["cisInfo"]["status"],
        "INTRODUCED"
    );
    assert_eq!(f.emu.stats().faults_left, 0);
    assert_eq!(
        f.emu.stats().cises_info_calls,
        1,
        "faulted calls never reached the API"
    );
}

#[test]
fn drop_after_stores_the_document_and_the_client_sees_no_answer() {
    let f = fixture("fault-drop-after");
    let token = f.sign_in(OWNER);
    let body = example("LK_RECEIPT.valid.json");
    let bytes = serde_json::to_vec(&body).unwrap();
    let envelope = json!({"document_format": "MANUAL", "product_document": B64.encode(&bytes),
                          "type": "LK_RECEIPT", "signature": f.pki.sign(OWNER, &bytes, false)})
    .to_string();
    let path = "/api/v3/true-api/lk/documents/create?pg=lp";

    f.emu
        .fault("/api/v3/true-api/lk/documents/create", FaultKind::Drop, 1);
    let lost = f.try_post(path, Some(&token), &envelope);
    assert!(lost.is_err(), "a dropped connection answered: {lost:?}");
    assert!(f.emu.documents().is_empty(), "drop acts on nothing");

    f.emu.fault(
        "/api/v3/true-api/lk/documents/create",
        FaultKind::DropAfter,
        1,
    );
    let lost = f.try_post(path, Some(&token), &envelope);
    assert!(lost.is_err(), "a dropped connection answered: {lost:?}");
    let stored = f.emu.documents();
    assert_eq!(stored.len(), 1, "drop_after stores the document");
    assert_eq!(stored[0].content, body);
    // The hub's recovery: doc/list finds it, doc/{id}/info gives its body.
    let (_, text) = f.get(
        "/api/v4/true-api/doc/list?pg=lp&documentType=LK_RECEIPT",
        Some(&token),
    );
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["results"][0]["number"], stored[0].id.as_str());
    assert_eq!(f.info(&token, &stored[0].id, "lp")["content"], body);
}

#[test]
fn expired_tokens_answer_401() {
    let f = fixture("expire");
    let token = f.sign_in(OWNER);
    f.emu.seed(&[unit(RECEIPT_A, "INTRODUCED", OWNER)]);
    assert_eq!(f.cises(&token, &[RECEIPT_A]).len(), 1);
    f.emu.expire_tokens();
    let (status, text) = f.post(
        "/api/v3/true-api/cises/info",
        Some(&token),
        &json!([RECEIPT_A]).to_string(),
    );
    assert_eq!(status, 401);
    assert!(!error_message(&text).is_empty());
    assert_eq!(
        f.get("/api/v4/true-api/doc/list?pg=lp", Some(&token)).0,
        401
    );
    // Signing in again gives a working token.
    let fresh = f.sign_in(OWNER);
    assert_eq!(f.cises(&fresh, &[RECEIPT_A]).len(), 1);
}

#[test]
fn the_signer_script_speaks_the_hubs_protocol_and_refuses_in_its_own_words() {
    let dir = scratch("signer");
    let pki = TestPki::create(&dir, &[OWNER]);
    assert_eq!(
        pki.signer_command(),
        format!("{} {{inn}}", pki.key_dir().join("sign.sh").display())
    );
    assert!(pki.ca_path().is_file());
    let line = pki.sign(OWNER, b"data", true);
    assert!(!line.contains('\n') && B64.decode(&line).is_ok());
    let run = |args: &[&str]| {
        std::process::Command::new(pki.key_dir().join("sign.sh"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    for args in [&[OWNER, "--both"][..], &[OTHER, "--attached"], &[OWNER]] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("sign.sh: "),
            "{args:?}"
        );
    }
}

#[test]
fn a_stalled_request_is_never_answered_nor_acted_on() {
    let f = fixture("fault-stall");
    let token = f.sign_in(OWNER);
    f.emu
        .fault("/api/v3/true-api/lk/documents/create", FaultKind::Stall, 1);
    let body = example("LK_RECEIPT.valid.json");
    let bytes = serde_json::to_vec(&body).unwrap();
    let envelope = json!({"document_format": "MANUAL", "product_document": B64.encode(&bytes),
                          "type": "LK_RECEIPT", "signature": f.pki.sign(OWNER, &bytes, false)});
    // The client gives up (its timeout), as the hub's would.
    let impatient = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_millis(500)))
        .build()
        .new_agent();
    let result = impatient
        .post(f.url("/api/v3/true-api/lk/documents/create?pg=lp"))
        .header("Authorization", format!("Bearer {token}"))
        .send(envelope.to_string());
    assert!(result.is_err(), "a stalled request answered: {result:?}");
    assert!(f.emu.documents().is_empty());
    // The fault is used up: the same call now works.
    assert_eq!(f.create(&token, "lp", "LK_RECEIPT", &body, OWNER).0, 200);
}

#[test]
fn a_shipment_awaits_the_receivers_acceptance_and_only_the_receiver_can_accept_it() {
    let f = fixture("ship-accept");
    let (a, b) = (
        "01046061234567082152kLm9Pq4Rst8",
        "0104606123456708215Zx7Cv6Bn5Ma4",
    );
    let sscc = "046012345000000036";
    let mut boxed = unit("0104606123456708215Qa1Ws2Ed3Rf4", "INTRODUCED", OWNER);
    boxed["parent"] = json!(sscc);
    f.emu.seed(&[
        unit(a, "INTRODUCED", OWNER),
        unit(b, "INTRODUCED", OWNER),
        json!({"cis": sscc, "productGroupId": 1, "status": "INTRODUCED", "ownerInn": OWNER,
               "packageType": "LEVEL1", "child": ["0104606123456708215Qa1Ws2Ed3Rf4"]}),
        boxed,
    ]);
    let owner = f.sign_in(OWNER);
    // LP_SHIP_GOODS.valid.json: from OWNER to SUPPLIER.
    let id = f.created(
        &owner,
        "lp",
        "LP_SHIP_GOODS",
        &example("LP_SHIP_GOODS.valid.json"),
    );
    assert_eq!(f.verdict(&owner, &id, "lp")["status"], "CHECKED_OK");
    for cis in [a, b, sscc, "0104606123456708215Qa1Ws2Ed3Rf4"] {
        let info = f.status_of(cis);
        assert_eq!(info["statusEx"], "WAIT_SHIPMENT", "{cis}");
        assert_eq!(info["ownerInn"], OWNER, "{cis}: ours until accepted");
    }
    let acceptance = |recipient: &str| {
        json!({"request_type": "ACCEPTANCE", "acceptance_date": "2026-12-02T10:00:00.000Z",
               "trade_sender_inn": OWNER, "trade_recipient_inn": recipient,
               "turnover_type": "SELLING", "release_order_number": id,
               "products": [{"uit_code": a, "accepted": true}, {"uit_code": b, "accepted": false},
                            {"uitu_code": sscc, "accepted": true}]})
    };
    // A third participant cannot accept what was shipped to the supplier.
    let other = f.sign_in(OTHER);
    let (status, wrong) = f.create(&other, "lp", "LP_ACCEPT_GOODS", &acceptance(OTHER), OTHER);
    assert_eq!(status, 200, "{wrong}");
    let verdict = f.verdict(&other, &wrong, "lp");
    assert_eq!(verdict["status"], "CHECKED_NOT_OK");
    assert!(verdict["errors"].to_string().contains(a), "{verdict}");

    let supplier = f.sign_in(SUPPLIER);
    let (status, right) = f.create(
        &supplier,
        "lp",
        "LP_ACCEPT_GOODS",
        &acceptance(SUPPLIER),
        SUPPLIER,
    );
    assert_eq!(status, 200, "{right}");
    assert_eq!(f.verdict(&supplier, &right, "lp")["status"], "CHECKED_OK");
    assert_eq!(f.status_of(a)["ownerInn"], SUPPLIER);
    assert_eq!(
        f.status_of("0104606123456708215Qa1Ws2Ed3Rf4")["ownerInn"],
        SUPPLIER,
        "inside the box"
    );
    let refused = f.status_of(b);
    assert_eq!(refused["ownerInn"], OWNER);
    assert!(refused.get("statusEx").is_none(), "{refused}");
}

#[test]
fn a_return_brings_our_sold_codes_back_into_circulation_and_refuses_the_rest() {
    let f = fixture("return");
    let sold = "0104607001234562215Tg7Hj1Kl3Zx9";
    let unsold = "010460700123456221Abc123";
    f.emu.seed(&[
        unit(sold, "RETIRED", OWNER),
        unit(unsold, "INTRODUCED", OWNER),
    ]);
    let token = f.sign_in(OWNER);
    let body = example("LP_RETURN.valid.json");
    let id = f.created(&token, "lp", "LP_RETURN", &body);
    assert_eq!(f.verdict(&token, &id, "lp")["status"], "CHECKED_OK");
    assert_eq!(f.status_of(sold)["status"], "INTRODUCED");

    // Back in circulation already, or never sold: nothing to return.
    for code in [sold, unsold] {
        let mut again = body.clone();
        again["products"] = json!([{"ki": code}]);
        let id = f.created(&token, "lp", "LP_RETURN", &again);
        let verdict = f.verdict(&token, &id, "lp");
        assert_eq!(verdict["status"], "CHECKED_NOT_OK", "{code}");
        assert!(verdict["errors"].to_string().contains(code), "{verdict}");
    }
    // Another participant cannot return our sale.
    f.emu.seed(&[unit(sold, "RETIRED", OWNER)]);
    let other = f.sign_in(OTHER);
    let mut theirs = body.clone();
    theirs["trade_participant_inn"] = json!(OTHER);
    let (status, id) = f.create(&other, "lp", "LP_RETURN", &theirs, OTHER);
    assert_eq!(status, 200, "{id}");
    assert_eq!(f.verdict(&other, &id, "lp")["status"], "CHECKED_NOT_OK");
    assert_eq!(f.status_of(sold)["status"], "RETIRED");
}
