//! The hub linked to GIS MT, across real processes: `tally-hub serve` with the True API
//! emulator (`tests/true-api`) as GIS MT and a throwaway certificate's `openssl cms` as the
//! organisation's signer. A whole shift ends with every document checked, the refreshed
//! statuses on the terminal and a refusal shown where it was made; a hub SIGKILLed a hundred
//! times while it sends and polls sends no document twice and loses none.

// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tally_true_api_emulator::{Emulator, FaultKind, TestPki};

use crate::processes::{
    HubProcess, Scratch, SerialScanner, Terminal, enroll, json_lines, run_ok, sync, tally,
    tally_hub, true_api_emulator, wedge_trace, work, write_lines,
};
// The browser half enrolls over HTTP itself (`cfg(tally_test_browser)`, tests/build.rs).
#[cfg(tally_test_browser)]
use crate::processes::enrollment_code;

const OURS: &str = "7707083893";
const SUPPLIER: &str = "7736207543";
const RELEASE_ORDER: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const GTIN: &str = "04600840749372";
const CREATE: &str = "/api/v3/true-api/lk/documents/create";

fn ki(n: u32) -> String {
    format!("01{GTIN}215GisM{n:02}")
}

fn scan(n: u32) -> String {
    format!("{}\u{1d}93Ab1+", ki(n))
}

fn unit(n: u32, owner: &str, status_ex: Option<&str>) -> Value {
    let mut line = json!({"cis": ki(n), "gtin": GTIN, "status": "INTRODUCED",
                          "ownerInn": owner, "productGroupId": 8, "packageType": "UNIT"});
    if let Some(ex) = status_ex {
        line["statusEx"] = json!(ex);
    }
    line
}

fn schemas() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wire/schemas")
}

/// The hub's configuration: the emulator as GIS MT, the test signer, quick polls, and an alert
/// command that appends each alert to a file.
fn hub_config(dir: &Scratch, emulator: &Emulator, pki: &TestPki, refresh_minutes: f64) -> String {
    let alerts = dir.path("alerts.jsonl");
    let script = dir.path("alert.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ncat >> '{}'\n", alerts.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = dir.path("hub.toml");
    std::fs::write(
        &config,
        format!(
            "[gismt]\ntrue_api = \"{}\"\nsigner = \"{}\"\nalerts = \"{}\"\n\
             poll_first_seconds = 0.2\npoll_longest_seconds = 1\nretry_first_seconds = 0.2\n\
             lookup_grace_seconds = 1\n\
             refresh_every_minutes = {refresh_minutes}\nrequest_timeout_seconds = 5\n\
             silent_after_minutes = 600\nstuck_after_minutes = 600\n",
            emulator.url(),
            pki.signer_command(),
            script.display()
        ),
    )
    .unwrap();
    config.display().to_string()
}

fn import(hub_db: &Path, what: &str, file: &Path) {
    let output = run_ok(
        tally_hub()
            .args(["import", what])
            .arg(file)
            .arg("--db")
            .arg(hub_db),
    );
    assert_eq!(json_lines(&output.stdout)[0]["rejected"], 0, "{what}");
}

fn admin_token(hub_db: &Path) -> String {
    let out = run_ok(tally_hub().args(["admin-token", "--db"]).arg(hub_db));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn journal(hub: &HubProcess, admin: &str) -> Vec<Value> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let Ok(response) = agent
        .get(format!("{}/v1/journal?limit=5000", hub.url()))
        .header("Authorization", format!("Bearer {admin}"))
        .call()
    else {
        return Vec::new();
    };
    if response.status() != 200 {
        return Vec::new();
    }
    let body: Value =
        serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
    body["entries"].as_array().unwrap().clone()
}

/// Waits until the journal holds `count` documents, all final.
fn all_final(hub: &HubProcess, admin: &str, count: usize, within: Duration) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let entries = journal(hub, admin);
        let done = entries
            .iter()
            .filter(|e| {
                ["checked_ok", "checked_not_ok", "processing_error"]
                    .contains(&e["state"].as_str().unwrap())
            })
            .count();
        if entries.len() == count && done == count {
            return entries;
        }
        assert!(
            started.elapsed() < within,
            "not all final after {within:?}: {entries:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The terminal's replica's view of a code (`tally check --op info`).
fn on_terminal(db: &Path, code: &str) -> Value {
    let out = run_ok(
        tally()
            .args(["check", "--op", "info", "--db"])
            .arg(db)
            .arg(code),
    );
    json_lines(&out.stdout).remove(0)
}

#[test]
fn a_shift_linked_to_gis_mt_ends_with_every_document_checked_and_the_refusal_on_the_terminal() {
    let dir = Scratch::new("gismt-shift");
    let pki = TestPki::create(&dir.path("pki"), &[OURS]);
    // GIS MT: the supplier's delivery of units 1-4, shipped to us; our own units 11-13.
    let mut codes: Vec<Value> = (1..=4)
        .map(|n| unit(n, SUPPLIER, Some("WAIT_SHIPMENT")))
        .collect();
    codes.extend((11..=13).map(|n| unit(n, OURS, None)));
    write_lines(&dir.path("gis.jsonl"), &codes);
    let emulator = Emulator::spawn(
        &true_api_emulator(),
        &pki.ca_path(),
        &schemas(),
        Some(&dir.path("gis.jsonl")),
    );

    // The hub starts from an export of the same list and the delivery note.
    let hub_db = dir.path("hub.db");
    write_lines(&dir.path("statuses.jsonl"), &codes);
    import(&hub_db, "statuses", &dir.path("statuses.jsonl"));
    write_lines(
        &dir.path("tasks.jsonl"),
        &[
            json!({"id": "T-1", "number": "ТН-0042", "senderInn": SUPPLIER,
                 "releaseOrderNumber": RELEASE_ORDER, "date": "2026-11-22", "warehouse": "W1",
                 "productGroupId": 8, "units": [ki(1), ki(2), ki(3), ki(4)], "boxes": []}),
        ],
    );
    import(&hub_db, "tasks", &dir.path("tasks.jsonl"));
    let admin = admin_token(&hub_db);
    let config = hub_config(&dir, &emulator, &pki, 0.02);
    let hub = HubProcess::start_with(&hub_db, &["--config", &config]);

    let tsd = dir.path("tsd.db");
    enroll(&hub.url(), &hub_db, &tsd, "W1", OURS, "tsd-1");
    sync(&tsd);

    // The acceptance of the delivery, from a serial scanner.
    let mut serial = SerialScanner::new();
    let accept = ["--task", "T-1", "--inn", OURS, "--operator", "ivanova"];
    let mut terminal = Terminal::spawn(&mut work(&tsd, "acceptance", &serial.source(), &accept));
    terminal.until("connected");
    for n in 1..=4 {
        serial.scan(&scan(n));
    }
    serial.scan("TALLY:FINISH");
    terminal.until("finished");
    assert!(terminal.finish().is_empty());

    // Units 1 and 2 go into a box at once: its aggregation names codes GIS MT makes ours only
    // when it has checked the acceptance, so the hub holds it back until then.
    let pack = [
        "--inn",
        OURS,
        "--box-units",
        "2",
        "--company-prefix",
        "4600840",
    ];
    let boxes = wedge_trace(
        &dir.path("box.trace"),
        &[
            "TALLY:OPEN-BOX",
            &scan(1),
            &scan(2),
            "TALLY:CLOSE",
            "TALLY:FINISH",
        ],
    );
    let packed = json_lines(&run_ok(&mut work(&tsd, "aggregation", &boxes, &pack)).stdout);
    assert_eq!(packed.last().unwrap()["event"], "finished", "{packed:?}");
    let label = packed[1]["open"].as_str().unwrap().to_owned();

    // Two write-offs of our own units; GIS MT will refuse the one naming unit 12.
    emulator.refuse(&ki(12));
    let write_off = [
        "--inn",
        OURS,
        "--reason",
        "damage_loss",
        "--document",
        "АКТ-1",
        "--date",
        "2026-11-22",
    ];
    for n in [11, 12] {
        let trace = wedge_trace(
            &dir.path(&format!("wo{n}.trace")),
            &[&scan(n), "TALLY:FINISH"],
        );
        let lines = json_lines(&run_ok(&mut work(&tsd, "write-off", &trace, &write_off)).stdout);
        assert_eq!(lines.last().unwrap()["event"], "finished", "{lines:?}");
    }
    // GIS MT revokes the hub's token meanwhile: the next call's 401 signs in again.
    let sign_ins = emulator.stats().sign_ins;
    emulator.expire_tokens();
    let summary = sync(&tsd);
    assert_eq!(summary["accepted"], 4, "{summary}");

    // GIS MT checks them: every document final, the refused one with GIS MT's words.
    let entries = all_final(&hub, &admin, 4, Duration::from_secs(90));
    let by_type: BTreeMap<String, Vec<&Value>> =
        entries.iter().fold(BTreeMap::new(), |mut m, e| {
            m.entry(e["type"].as_str().unwrap().to_owned())
                .or_default()
                .push(e);
            m
        });
    assert_eq!(by_type["LP_ACCEPT_GOODS"][0]["state"], "checked_ok");
    assert_eq!(
        by_type["AGGREGATION_DOCUMENT"][0]["state"], "checked_ok",
        "{entries:#?}"
    );
    let mut receipts: Vec<&str> = by_type["LK_RECEIPT"]
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    receipts.sort_unstable();
    assert_eq!(receipts, ["checked_not_ok", "checked_ok"]);
    let refused = by_type["LK_RECEIPT"]
        .iter()
        .find(|e| e["state"] == "checked_not_ok")
        .unwrap();
    assert!(
        refused["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains(&ki(12))),
        "{refused}"
    );
    assert!(
        emulator.stats().sign_ins > sign_ins,
        "signed in again after the 401"
    );
    // Every document is in GIS MT once.
    let documents = emulator.documents();
    assert_eq!(documents.len(), 4);
    let ids: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["gis_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, documents.iter().map(|d| d.id.as_str()).collect());

    // The effect is proven by the statuses: the hub reads them again and the terminal pulls
    // them. The accepted units are ours now, unit 11 is retired, unit 12 untouched.
    let started = Instant::now();
    loop {
        sync(&tsd);
        let accepted = on_terminal(&tsd, &ki(1));
        let retired = on_terminal(&tsd, &ki(11));
        if accepted["cached"]["owner_inn"] == OURS
            && accepted["cached"]["parent"] == label.as_str()
            && retired["cached"]["status"] == "RETIRED"
        {
            assert_eq!(on_terminal(&tsd, &ki(12))["cached"]["status"], "INTRODUCED");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{accepted} {retired}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(emulator.codes(&ki(1)).unwrap()["ownerInn"], OURS);

    // The refusal is back where it was made: in the terminal's list with GIS MT's reason.
    let rejected =
        json_lines(&run_ok(tally().args(["sync", "--rejected", "--db"]).arg(&tsd)).stdout);
    let gis = rejected
        .iter()
        .find(|r| r["reasons"].to_string().contains("gis_mt_refused"))
        .unwrap_or_else(|| panic!("no GIS MT refusal on the terminal: {rejected:?}"));
    assert_eq!(gis["uuid"], refused["operation"]);
    assert!(gis["reasons"].to_string().contains("ГИС МТ отклонила"));

    // A change made in GIS MT alone (unit 13 sold elsewhere) reaches the terminal on the next
    // scheduled pass over our codes.
    emulator.seed(&[
        json!({"cis": ki(13), "gtin": GTIN, "status": "RETIRED", "ownerInn": OURS,
                           "productGroupId": 8, "packageType": "UNIT"}),
    ]);
    let started = Instant::now();
    loop {
        sync(&tsd);
        if on_terminal(&tsd, &ki(13))["cached"]["status"] == "RETIRED" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "unit 13 not refreshed"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // The support engineer's commands, with the hub's configuration.
    let gismt = |args: &[&str]| {
        let mut command = tally_hub();
        command
            .args(["gismt", "--config", &config, "--db"])
            .arg(&hub_db)
            .args(args);
        command.stdin(std::process::Stdio::null()).output().unwrap()
    };
    let signed = gismt(&["sign-in", "--inn", OURS]);
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    assert_eq!(json_lines(&signed.stdout)[0]["inn"], OURS);
    let status = gismt(&[
        "status",
        "--operation",
        refused["operation"].as_str().unwrap(),
    ]);
    let status = json_lines(&status.stdout);
    assert_eq!(status.len(), 1);
    assert_eq!(
        (&status[0]["type"], &status[0]["state"]),
        (&json!("LK_RECEIPT"), &json!("checked_not_ok"))
    );
    let unknown = gismt(&[
        "status",
        "--operation",
        "00000000-0000-4000-8000-000000000000",
    ]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("operation_unknown"));
    let refreshed = gismt(&["refresh", &ki(2)]);
    assert!(
        refreshed.status.success(),
        "{}",
        String::from_utf8_lossy(&refreshed.stderr)
    );
    assert_eq!(
        json_lines(&refreshed.stdout)[0],
        json!({"asked": 1, "stored": 1})
    );
    // Sending is the running hub's: a second sender is refused, not run beside it.
    let second = gismt(&["submit", "--steps", "1"]);
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr)
            .contains("another hub process runs the GIS MT link"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // The refused document was alerted once, however many steps saw it.
    std::thread::sleep(Duration::from_secs(2));
    let alerts: Vec<Value> = std::fs::read_to_string(dir.path("alerts.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let refusals: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["kind"] == "document_refused")
        .collect();
    assert_eq!(refusals.len(), 1, "{alerts:#?}");
    let keys: BTreeSet<&str> = alerts.iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), alerts.len(), "each alert once: {alerts:#?}");
}

#[test]
fn what_we_own_is_filled_from_gis_mt_s_export_and_a_count_is_judged_against_it() {
    let dir = Scratch::new("gismt-own");
    let pki = TestPki::create(&dir.path("pki"), &[OURS]);
    // GIS MT: our units 21-23 in circulation and 25 sold, the supplier's 24. The hub was never
    // told of any of them.
    let mut codes: Vec<Value> = (21..=23).map(|n| unit(n, OURS, None)).collect();
    codes.push(unit(24, SUPPLIER, None));
    let mut sold = unit(25, OURS, None);
    sold["status"] = json!("RETIRED");
    codes.push(sold);
    write_lines(&dir.path("gis.jsonl"), &codes);
    let emulator = Emulator::spawn(
        &true_api_emulator(),
        &pki.ca_path(),
        &schemas(),
        Some(&dir.path("gis.jsonl")),
    );
    let hub_db = dir.path("hub.db");
    // No link in the serving hub: the command alone reads GIS MT here.
    let hub = HubProcess::start(&hub_db);
    let tsd = dir.path("tsd.db");
    enroll(&hub.url(), &hub_db, &tsd, "W1", OURS, "tsd-1");
    let config = hub_config(&dir, &emulator, &pki, 60.0);
    let own = |groups: &[&str]| {
        let mut command = tally_hub();
        command
            .args(["gismt", "--config", &config, "--db"])
            .arg(&hub_db)
            .args(["own", "--wait", "30"]);
        for pg in groups {
            command.args(["--pg", pg]);
        }
        command.stdin(std::process::Stdio::null()).output().unwrap()
    };
    let filled = own(&["milk"]);
    assert!(
        filled.status.success(),
        "{}",
        String::from_utf8_lossy(&filled.stderr)
    );
    assert_eq!(
        json_lines(&filled.stdout),
        [
            json!({"inn": OURS, "pg": "milk", "listed": 3}),
            json!({"stored": 3})
        ]
    );
    let unknown = own(&["caviar"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no product group is called"));

    // The terminal's replica has them now; the supplier's and the sold unit stay unknown.
    sync(&tsd);
    for n in 21..=23 {
        let known = on_terminal(&tsd, &ki(n));
        assert_eq!(
            (&known["cached"]["owner_inn"], &known["cached"]["status"]),
            (&json!(OURS), &json!("INTRODUCED")),
            "{known}"
        );
    }
    for n in [24, 25] {
        assert!(on_terminal(&tsd, &ki(n))["cached"].is_null(), "unit {n}");
    }

    // A count of the whole warehouse expects what GIS MT says is ours: unit 23 is missing.
    let trace = wedge_trace(
        &dir.path("count.trace"),
        &[&scan(21), &scan(22), "TALLY:FINISH"],
    );
    let count = ["--inn", OURS, "--document", "ИНВ-9", "--date", "2026-12-03"];
    let lines = json_lines(&run_ok(&mut work(&tsd, "inventory", &trace, &count)).stdout);
    let finished = lines
        .iter()
        .find(|l| l["event"] == "finished")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(finished["payload"]["found"], json!([ki(21), ki(22)]));
    assert_eq!(finished["payload"]["missing"], json!([ki(23)]));
    drop(hub);
}

/// A small deterministic generator for the kill times.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn a_hub_killed_a_hundred_times_while_it_sends_and_polls_sends_no_document_twice_and_loses_none() {
    const UNITS: u32 = 40;
    let dir = Scratch::new("gismt-kill");
    let pki = TestPki::create(&dir.path("pki"), &[OURS]);
    let codes: Vec<Value> = (1..=UNITS).map(|n| unit(n, OURS, None)).collect();
    write_lines(&dir.path("gis.jsonl"), &codes);
    let emulator = Emulator::spawn_with(
        &true_api_emulator(),
        &pki.ca_path(),
        &schemas(),
        Some(&dir.path("gis.jsonl")),
        &["--checking-polls", "3"],
    );
    // Answers lost after GIS MT acted, refusals to serve, throttling, dropped polls.
    emulator.fault(CREATE, FaultKind::DropAfter, 6);
    emulator.fault(
        CREATE,
        FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        4,
    );
    emulator.fault("/api/v4/true-api/doc", FaultKind::Drop, 4);
    emulator.fault(
        "/api/v3/true-api/cises/info",
        FaultKind::Status {
            status: 429,
            retry_after: Some(1),
        },
        2,
    );

    let hub_db = dir.path("hub.db");
    write_lines(&dir.path("statuses.jsonl"), &codes);
    import(&hub_db, "statuses", &dir.path("statuses.jsonl"));
    let admin = admin_token(&hub_db);
    let config = hub_config(&dir, &emulator, &pki, 600.0);
    let mut hub = HubProcess::start_with(&hub_db, &["--config", &config]);

    // One terminal writes off every unit, one operation each.
    let tsd = dir.path("tsd.db");
    enroll(&hub.url(), &hub_db, &tsd, "W1", OURS, "tsd-1");
    sync(&tsd);
    let write_off = [
        "--inn",
        OURS,
        "--reason",
        "damage_loss",
        "--document",
        "АКТ-2",
        "--date",
        "2026-11-22",
    ];
    for n in 1..=UNITS {
        let trace = wedge_trace(
            &dir.path(&format!("wo{n}.trace")),
            &[&scan(n), "TALLY:FINISH"],
        );
        run_ok(&mut work(&tsd, "write-off", &trace, &write_off));
    }
    assert_eq!(sync(&tsd)["accepted"], UNITS);

    // A hundred power cuts while the link sends and polls.
    let mut random = Lcg(20_261_202);
    for _ in 0..100 {
        hub.stop();
        hub.start_again();
        std::thread::sleep(Duration::from_millis(50 + random.below(400)));
    }
    let entries = all_final(&hub, &admin, UNITS as usize, Duration::from_secs(180));

    // Every operation is CHECKED_OK in GIS MT exactly once: as many documents there as here,
    // each of ours under its own id, no body twice.
    assert!(
        entries.iter().all(|e| e["state"] == "checked_ok"),
        "{entries:#?}"
    );
    let documents = emulator.documents();
    let bodies: BTreeSet<String> = documents.iter().map(|d| d.content.to_string()).collect();
    assert_eq!(bodies.len(), documents.len(), "a document sent twice");
    assert_eq!(documents.len(), UNITS as usize);
    let ours: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["gis_id"].as_str().unwrap())
        .collect();
    let theirs: BTreeSet<&str> = documents.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ours, theirs);
    for n in 1..=UNITS {
        assert_eq!(
            emulator.codes(&ki(n)).unwrap()["status"],
            "RETIRED",
            "unit {n}"
        );
    }
    let stats = emulator.stats();
    assert!(stats.faults_left == 0, "every fault was met: {stats:?}");
}

/// A JSON POST to the hub as a terminal sends it.
#[cfg(tally_test_browser)]
fn post(url: &str, token: Option<&str>, body: &Value) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent
        .post(url)
        .header("Tally-Protocol", "3")
        .header("Content-Type", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request
        .send(&serde_json::to_vec(body).unwrap()[..])
        .unwrap();
    let status = response.status();
    let text = response.into_body().read_to_string().unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[cfg(tally_test_browser)]
#[test]
fn the_journal_page_shows_the_documents_in_a_real_browser() {
    let dir = Scratch::new("gismt-browser");
    let pki = TestPki::create(&dir.path("pki"), &[OURS]);
    let codes: Vec<Value> = (21..=23).map(|n| unit(n, OURS, None)).collect();
    write_lines(&dir.path("gis.jsonl"), &codes);
    let emulator = Emulator::spawn(
        &true_api_emulator(),
        &pki.ca_path(),
        &schemas(),
        Some(&dir.path("gis.jsonl")),
    );
    emulator.refuse(&ki(23));
    let hub_db = dir.path("hub.db");
    write_lines(&dir.path("statuses.jsonl"), &codes);
    import(&hub_db, "statuses", &dir.path("statuses.jsonl"));
    let admin = admin_token(&hub_db);
    let config = hub_config(&dir, &emulator, &pki, 600.0);
    let hub = HubProcess::start_with(&hub_db, &["--config", &config]);
    let code = enrollment_code(&hub_db, "W1", OURS);
    let enrolled = post(
        &format!("{}/v1/enroll", hub.url()),
        None,
        &json!({"code": code, "device_name": "tsd-7", "app_version": "0.1.0"}),
    );
    let token = enrolled["token"].as_str().unwrap();
    let operations: Vec<Value> = (21..=23)
        .map(|n| {
            json!({"uuid": uuid_for(n), "seq": n, "kind": "write-off", "operator": "Иванова",
                   "started_at": 1_764_600_000_000_i64, "finished_at": 1_764_600_060_000_i64,
                   "payload": {"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
                               "gis_mt_reason": "DAMAGE_LOSS", "document_number": format!("АКТ-{n}"),
                               "document_date": "2026-12-01", "supervisor": "Петров",
                               "codes": [ki(n)]}})
        })
        .collect();
    let answer = post(
        &format!("{}/v1/push", hub.url()),
        Some(token),
        &json!({"device": {"app_version": "0.1.0", "queue_depth": 0, "cache_synced_at": null},
                "operations": operations}),
    );
    assert!(
        answer["answers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["result"] == "accepted"),
        "{answer}"
    );
    all_final(&hub, &admin, 3, Duration::from_secs(60));

    // The browser answers the page's Basic challenge with the token as the password.
    let chromium = std::env::var("TALLY_TEST_CHROMIUM").unwrap();
    let url = format!("http://admin:{admin}@{}/journal", hub.addr);
    let browser = |args: &[&str]| {
        std::process::Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.path("chromium").display()
            ))
            .args(args)
            .arg(&url)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let dom = String::from_utf8(browser(&["--dump-dom"]).stdout).unwrap();
    assert!(dom.contains("Журнал обмена с ГИС МТ"), "{dom}");
    assert_eq!(dom.matches("<tr class=\"checked_ok\">").count(), 2, "{dom}");
    assert_eq!(
        dom.matches("<tr class=\"checked_not_ok\">").count(),
        1,
        "{dom}"
    );
    assert!(dom.contains(&ki(23)), "the refusal names its code: {dom}");
    assert!(dom.contains("id=\"csv\""));
    let shot = dir.path("journal.png");
    let taken = browser(&[
        "--window-size=1500,520",
        &format!("--screenshot={}", shot.display()),
    ]);
    assert!(
        taken.status.success(),
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 10_000, "a page with a table, not a blank one");
    if let Some(keep) = std::env::var_os("TALLY_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

#[cfg(tally_test_browser)]
fn uuid_for(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}
