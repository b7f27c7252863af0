//! Runs the real `tally` binary the way a support engineer or a script would.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn tally() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tally"))
}

#[test]
fn parse_reads_standard_input_including_binary_garbage() {
    let mut child = tally()
        .arg("parse")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = b"0104600840749372215XyZ1a<GS>93Ab1+\n".to_vec();
    input.extend((0u8..=255).cycle().take(2000));
    input.extend(b"\n106141411234567897\n");
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let input_lines = input.split(|&b| b == b'\n').count() - 1;
    assert_eq!(lines.len(), input_lines);
    assert_eq!(lines[0]["kind"], "unit_short");
    assert!(lines[1..lines.len() - 1].iter().all(|l| l["ok"] == false));
    assert_eq!(lines.last().unwrap()["kind"], "sscc");
}

#[test]
fn parse_takes_codes_as_arguments_with_scanner_settings() {
    let output = tally()
        .args([
            "parse",
            "--gs-substitute",
            "|",
            "0104600840749372215XyZ1a|93Ab1+",
            "hello",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[1]["reason"]["code"], "not_marking_code");
}

#[test]
fn bad_options_are_refused_with_a_reason() {
    let output = tally()
        .args(["parse", "--serial-lengths", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("serial lengths"));
    let output = tally().args(["parse", "--no-such-flag"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

// Test helpers: a module under cfg(test), so that they may unwrap like the tests do.
#[cfg(test)]
mod support {
    pub use crate::common::Scratch;

    pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
        String::from_utf8(bytes.to_vec())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    use std::io::Write;
    use std::process::Stdio;

    /// Runs `tally work KIND ARGS --source stdin --db DB` with these scans, one a line.
    pub fn work(
        db: &std::path::Path,
        kind: &str,
        args: &[&str],
        scans: &[String],
    ) -> Vec<serde_json::Value> {
        let mut child = super::tally()
            .args(["work", kind, "--source", "stdin", "--inn", "7707083893"])
            .args(args)
            .arg("--db")
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = scans.join("\n");
        input.push('\n');
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        json_lines(&output.stdout)
    }

    /// Imports status lines (`{"cis", "status", ...}` JSON, one a line) into the replica `db`.
    pub fn import_statuses(db: &std::path::Path, lines: &str) {
        let export = db.with_extension("statuses.jsonl");
        std::fs::write(&export, lines).unwrap();
        let import = super::tally()
            .args(["db", "import-statuses"])
            .arg(&export)
            .arg("--db")
            .arg(db)
            .output()
            .unwrap();
        assert!(import.status.success(), "{import:?}");
    }

    /// What each line of `tally work` says, compactly: the outcome of a scan with its reason,
    /// a command and whether it was done.
    pub fn said(line: &serde_json::Value) -> String {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        match line["event"].as_str() {
            Some("scan") => format!(
                "{} {}",
                text(&line["outcome"]),
                text(&line["reason"]["code"])
            )
            .trim()
            .to_string(),
            Some("command") => format!("{} {}", text(&line["command"]), line["done"]),
            Some(other) => other.to_string(),
            None => line.to_string(),
        }
    }
}

use support::{Scratch, import_statuses, json_lines, said, work};

#[test]
fn db_import_statuses_reports_rejected_lines_and_stats_shows_the_rows() {
    let scratch = Scratch::new("import");
    let db = scratch.0.join("replica.db");
    let export = scratch.0.join("statuses.jsonl");
    std::fs::write(
        &export,
        concat!(
            r#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED","ownerInn":"7707083893"}"#,
            "\n",
            r#"{"cis":"0104600840749372215XyZ1b","status":"TELEPORTED"}"#,
            "\n",
            "not json\n",
            r#"{"cis":"04606203086627-CtOkRA","status":"APPLIED","packageType":"GROUP"}"#,
            "\n",
        ),
    )
    .unwrap();

    let output = tally()
        .args(["db", "import-statuses"])
        .arg(&export)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report = &json_lines(&output.stdout)[0];
    assert_eq!(report["imported"], 2);
    assert_eq!(report["rejected"], 2);
    assert_eq!(
        report["rejections"],
        serde_json::json!([
            {"line": 2, "reason": "unknown_status"},
            {"line": 3, "reason": "not_json"}
        ])
    );
    assert!(report["codes_per_second"].as_f64().unwrap() > 0.0);

    // The environment names the replica when --db does not.
    let output = tally()
        .args(["db", "stats"])
        .env("TALLY_DB", &db)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stats = &json_lines(&output.stdout)[0];
    assert_eq!(stats["status_rows"], 2);
    assert_eq!(stats["owners"], 1);
    assert_eq!(stats["queue_pending"], 0);
    assert!(stats["bytes_per_code"].as_f64().unwrap() > 0.0);
    assert!(stats["cache_age_hours"].as_f64().unwrap() < 1.0);

    // Nothing was finished on this replica: the queue prints nothing.
    let output = tally().arg("queue").arg("--db").arg(&db).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty());
}

#[test]
fn db_commands_explain_a_missing_replica_or_file() {
    let scratch = Scratch::new("missing");
    let db = scratch.0.join("none.db");
    let output = tally()
        .args(["db", "stats", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no replica"));
    let output = tally()
        .args(["db", "import-statuses", "/nonexistent/export.jsonl", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/export.jsonl"));
    assert!(!db.exists());
}

#[test]
fn db_import_statuses_reads_standard_input_for_a_dash() {
    let scratch = Scratch::new("stdin");
    let db = scratch.0.join("replica.db");
    let mut child = tally()
        .args(["db", "import-statuses", "-", "--db"])
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED"}"#)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let report = &json_lines(&output.stdout)[0];
    assert_eq!(
        (report["imported"].as_u64(), report["gzip"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(report["file"], "-");
}

#[test]
fn check_gives_the_offline_verdict_for_an_operation() {
    let scratch = Scratch::new("check");
    let db = scratch.0.join("replica.db");
    let export = scratch.0.join("statuses.jsonl");
    std::fs::write(
        &export,
        concat!(
            r#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED","ownerInn":"7707083893","productGroupId":8}"#,
            "\n",
            r#"{"cis":"0104600840749372215XyZ1b","status":"RETIRED","ownerInn":"7707083893","productGroupId":8}"#,
            "\n",
        ),
    )
    .unwrap();
    let import = tally()
        .args(["db", "import-statuses"])
        .arg(&export)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");

    let output = tally()
        .args(["check", "--op", "write-off", "--inn", "7707083893", "--db"])
        .arg(&db)
        .args([
            "0104600840749372215XyZ1a<GS>93Ab1+",
            "0104600840749372215XyZ1b<GS>93Ab1+",
            "0104600840749372215XyZ1c<GS>93Ab1+",
            "0104600840749372215XyZ1a93Ab1+",
            "hello",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output.stdout);
    let outcome = |i: usize| {
        lines[i]["verdict"]["outcome"]
            .as_str()
            .unwrap_or("none")
            .to_string()
    };
    let first_finding = |i: usize| {
        lines[i]["verdict"]["findings"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(outcome(0), "accept");
    assert_eq!(lines[0]["cached"]["status"], "INTRODUCED");
    assert_eq!(
        (outcome(1), first_finding(1)),
        ("reject".into(), "out_of_circulation".into())
    );
    assert_eq!(
        (outcome(2), first_finding(2)),
        ("warn".into(), "unknown_code".into())
    );
    assert_eq!(
        (outcome(3), first_finding(3)),
        ("warn".into(), "recovered".into())
    );
    assert!(
        lines[1]["verdict"]["findings"][0]["ru"]
            .as_str()
            .unwrap()
            .contains("выведен из оборота")
    );
    assert_eq!(lines[4]["reason"]["code"], "not_marking_code");
    assert!(lines[4].get("verdict").is_none());

    // Another participant's code may not be written off by us.
    let foreign = tally()
        .args(["check", "--op", "write-off", "--inn", "7736207543", "--db"])
        .arg(&db)
        .arg("0104600840749372215XyZ1a<GS>93Ab1+")
        .output()
        .unwrap();
    let lines = json_lines(&foreign.stdout);
    assert_eq!(lines[0]["verdict"]["findings"][0]["code"], "foreign_owner");

    let bad = tally()
        .args(["check", "--op", "teleport", "x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn scan_reads_standard_input_and_key_traces() {
    let mut child = tally()
        .args(["scan", "--source", "stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"0104600840749372215XyZ1a\x1d93Ab1+\r\nhello\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["event"], "scan");
    assert_eq!(lines[0]["source"], "script");
    assert_eq!(lines[0]["kind"], "unit_short");
    assert_eq!(lines[1]["reason"]["code"], "not_marking_code");

    let scratch = Scratch::new("trace");
    let trace = scratch.0.join("field.trace");
    // The scanner types a code with GS as F8; then a person presses two keys.
    std::fs::write(
        &trace,
        "d:0 d:1 d:0 d:4 d:6 d:0 d:0 d:8 d:4 d:0 d:7 d:4 d:9 d:3 d:7 d:2 d:2 d:1 d:5 \
         d:leftshift d:x u:leftshift d:y d:leftshift d:z u:leftshift d:1 d:a \
         d:f8 d:9 d:3 d:leftshift d:a u:leftshift d:b d:1 d:leftshift d:equal u:leftshift d:enter \
         t:500 d:h t:300 d:i",
    )
    .unwrap();
    let output = tally()
        .args(["scan", "--source"])
        .arg(format!("trace:{}", trace.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output.stdout);
    assert_eq!(
        lines[0]["canonical"],
        "0104600840749372215XyZ1a\u{1d}93Ab1+"
    );
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines.len(), 3);

    let bad = tally()
        .args(["scan", "--source", "camera"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn scan_reads_a_serial_scanner_through_a_pseudo_terminal() {
    use serialport::SerialPort;
    let (mut master, slave) = serialport::TTYPort::pair().unwrap();
    let path = slave.name().unwrap();
    drop(slave);
    let mut child = tally()
        .args(["scan", "--framing", "crlf", "--count", "2", "--source"])
        .arg(format!("serial:{path},115200"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Whatever goes wrong, the child must not outlive the test (CI would hang on it).
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(30));
        let _ = Command::new("kill").args(["-9", &pid]).status();
    });
    // Write only once the loop has the port open, as a scanner would be plugged in first.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    let connected: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(connected["event"], "connected");
    master
        .write_all(b"]d20104600840749372215XyZ1a\x1d93Ab1+\r\n106141411234567897\r\n")
        .unwrap();
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut stdout, &mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    let lines = json_lines(&rest);
    let scans: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "scan").collect();
    assert_eq!(scans.len(), 2);
    assert_eq!(
        scans[0]["canonical"],
        "0104600840749372215XyZ1a\u{1d}93Ab1+"
    );
    assert_eq!(scans[0]["symbology"]["aim"], "]d2");
    assert_eq!(scans[1]["kind"], "sscc");
}

#[test]
fn enroll_then_sync_with_a_real_hub() {
    let scratch = Scratch::new("sync");
    let statuses: String = ["5XyZ1a", "5XyZ1b", "5XyZ1c"]
        .iter()
        .map(|s| {
            format!(
                "{{\"cis\":\"010460084074937221{s}\",\"status\":\"INTRODUCED\",\"ownerInn\":\"7707083893\",\"productGroupId\":2}}\n"
            )
        })
        .collect();
    let (url, code) = serve_hub(&scratch, &statuses);
    let db = scratch.0.join("terminal.db");
    let enroll = tally()
        .args(["enroll", &url, &code, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(enroll.status.success(), "{enroll:?}");
    let answer = &json_lines(&enroll.stdout)[0];
    assert_eq!(answer["enrolled"], true);
    assert_eq!(answer["warehouse"], "W1");
    // The one-time code is spent: a second terminal cannot use it.
    let again = tally()
        .args(["enroll", &url, &code, "--db"])
        .arg(scratch.0.join("other.db"))
        .output()
        .unwrap();
    assert!(!again.status.success());

    let sync = tally().args(["sync", "--db"]).arg(&db).output().unwrap();
    assert!(sync.status.success(), "{sync:?}");
    let summary = &json_lines(&sync.stdout)[0];
    assert_eq!(summary["queue_depth"], 0);
    let statuses_feed = summary["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feed"] == "statuses")
        .unwrap();
    assert_eq!(statuses_feed["items"], 3, "{summary}");
    assert_eq!(statuses_feed["rejected_items"], 0, "{summary}");
    assert!(String::from_utf8_lossy(&sync.stderr).contains("pull statuses"));

    let stats = tally()
        .args(["db", "stats", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let stats = &json_lines(&stats.stdout)[0];
    assert_eq!(stats["status_rows"], 3, "{stats}");
    // The pulled statuses now judge scans offline.
    let check = tally()
        .args(["check", "--op", "write-off", "--inn", "7707083893", "--db"])
        .arg(&db)
        .arg("0104600840749372215XyZ1b<GS>93Ab1+")
        .output()
        .unwrap();
    let verdict = &json_lines(&check.stdout)[0]["verdict"];
    assert_eq!(verdict["outcome"], "accept", "{verdict}");
}

#[test]
fn sync_rejected_lists_what_the_hub_refused_with_its_reasons() {
    use tally_domain::status::Timestamp;
    use tally_sync::store::{NewOperation, Store};

    let scratch = Scratch::new("sync-rejected");
    let line = "{\"cis\":\"010460084074937221AAAAAAAAAAAA1\",\"status\":\"INTRODUCED\",\
                \"ownerInn\":\"7707083893\",\"productGroupId\":2}\n";
    let (url, code) = serve_hub(&scratch, line);
    let db = scratch.0.join("terminal.db");
    let enroll = tally()
        .args(["enroll", &url, &code, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(enroll.status.success(), "{enroll:?}");

    let rejected = || {
        let out = tally()
            .args(["sync", "--rejected", "--db"])
            .arg(&db)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        json_lines(&out.stdout)
    };
    assert!(rejected().is_empty(), "nothing refused yet");

    // The same code written off twice: the hub takes the first and refuses the second.
    {
        let mut store = Store::open(&db).unwrap();
        for document in ["A-1", "A-2"] {
            let id = store
                .begin_operation(&NewOperation {
                    kind: "write-off",
                    operator: "Иванова",
                    header: "{}",
                    started_at: Timestamp(1),
                })
                .unwrap();
            let payload = serde_json::json!({"reason": "damage_loss",
                "gis_mt_document": "LK_RECEIPT", "gis_mt_reason": "DAMAGE_LOSS",
                "document_number": document, "document_date": "2026-11-22",
                "supervisor": "Петров", "codes": ["010460084074937221AAAAAAAAAAAA1"]});
            store
                .finish_operation(id, Timestamp(2), &payload.to_string(), &Default::default())
                .unwrap();
        }
    }
    let sync = tally().args(["sync", "--db"]).arg(&db).output().unwrap();
    assert!(sync.status.success(), "{sync:?}");
    let summary = &json_lines(&sync.stdout)[0];
    assert_eq!(
        (summary["accepted"].clone(), summary["rejected"].clone()),
        (1.into(), 1.into())
    );

    let listed = rejected();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["seq"], 2);
    assert_eq!(listed[0]["kind"], "write-off");
    let reason = &listed[0]["reasons"][0];
    assert!(!reason["code"].as_str().unwrap().is_empty(), "{reason}");
    assert!(!reason["en"].as_str().unwrap().is_empty());
    assert!(!reason["ru"].as_str().unwrap().is_empty());
}

#[test]
fn bench_ui_and_bench_start_measure_the_running_terminal() {
    let scratch = Scratch::new("bench-terminal");
    let out = tally()
        .args(["--bench-ui", "5"])
        .env("TALLY_CONFIG", scratch.0.join("none.toml"))
        .output()
        .unwrap();
    // A named config file must exist: the error says which.
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("none.toml"));

    let out = tally().args(["--bench-ui", "5"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let figures = &json_lines(&out.stdout)[0];
    assert_eq!(figures["scans"], 5);
    assert!(figures["p99_ms"].as_f64().unwrap() > 0.0);

    let out = tally()
        .args(["--bench-start", "1", "--bench-codes", "3000"])
        .env("TALLY_DATA_DIR", &scratch.0)
        .env("TALLY_BENCH_WARM", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let figures = &json_lines(&out.stdout)[0];
    assert_eq!(figures["codes"], 3000);
    assert_eq!(figures["cold_page_cache"], false);
    let ui = figures["ui_up_ms"].as_f64().unwrap();
    let scan = figures["first_scan_shown_ms"].as_f64().unwrap();
    assert!(ui > 0.0 && scan >= ui, "{figures}");
    assert!(figures["rss_kib"].as_u64().unwrap() > 1000, "{figures}");
}

/// A hub in this process holding `statuses` (cisInfo lines), serving on loopback: its URL and
/// a one-time enrollment code for warehouse W1. Under cfg(test), like `support`, so that it
/// may unwrap like the tests do.
#[cfg(test)]
fn serve_hub(scratch: &Scratch, statuses: &str) -> (String, String) {
    use tally_domain::status::{Inn, Timestamp};
    use tally_wire::Feed;

    let hub_store = tally_hub::store::Store::open(scratch.0.join("hub.db")).unwrap();
    let report =
        tally_hub::import::import(&hub_store, Feed::Statuses, statuses.as_bytes()).unwrap();
    assert!(report.rejected.is_empty(), "{report:?}");
    let code = hub_store
        .create_enrollment_code("W1", &Inn::parse("7707083893").unwrap(), Timestamp(0))
        .unwrap();
    let hub = tally_hub::server::Hub::bind(hub_store, "127.0.0.1:0").unwrap();
    let url = format!("http://{}", hub.local_addr().unwrap());
    std::thread::spawn(move || hub.run());
    (url, code)
}

#[test]
fn work_reaggregation_and_re_marking_headless() {
    let scratch = Scratch::new("work-reaggregation");
    let db = scratch.0.join("replica.db");
    let mut lines = String::new();
    for s in ["a", "b", "c", "d", "e"] {
        lines.push_str(&format!(
            r#"{{"cis":"01046008407493722159XyZ2{s}","status":"INTRODUCED","ownerInn":"7707083893","productGroupId":8}}"#
        ));
        lines.push('\n');
    }
    lines.push_str(
        r#"{"cis":"01046008407493722159NeW1a","status":"EMITTED","ownerInn":"7707083893","productGroupId":8}"#,
    );
    import_statuses(&db, &lines);
    let code = |serial: &str| format!("01046008407493722159{serial}\u{1d}93Ab1+");
    let ki = |serial: &str| format!("01046008407493722159{serial}");
    let command = |name: &str| format!("TALLY:{name}");

    // A box of two packed here first.
    let packed = work(
        &db,
        "aggregation",
        &["--company-prefix", "4600840"],
        &[
            command("OPEN-BOX"),
            code("XyZ2a"),
            code("XyZ2b"),
            command("CLOSE"),
            command("FINISH"),
        ],
    );
    let finished = packed.last().unwrap();
    assert_eq!(finished["event"], "finished", "{packed:?}");
    let sscc = finished["payload"]["aggregates"][0]["sscc"]
        .as_str()
        .unwrap()
        .to_string();

    // One unit more goes into it: the label first, then the choice, then the units.
    let lines = work(
        &db,
        "reaggregation",
        &[],
        &[
            code("XyZ2c"),
            format!("00{sscc}"),
            code("XyZ2c"),
            command("ADDING"),
            code("XyZ2a"),
            code("XyZ2c"),
            command("REMOVING"),
            command("FINISH"),
        ],
    );
    let story: Vec<String> = lines.iter().map(said).collect();
    assert_eq!(
        story,
        [
            "began",
            "not_taken box_first",
            "recorded",
            "not_taken choose_mode",
            "ADDING true",
            "not_taken already_inside",
            "recorded",
            "REMOVING false",
            "finished",
        ],
        "{lines:?}"
    );
    assert_eq!(lines[4]["open"], sscc.as_str());
    assert_eq!(lines[7]["reason"]["code"], "mode_fixed");
    assert!(
        lines[7]["reason"]["ru"]
            .as_str()
            .unwrap()
            .contains("отсканированы")
    );
    assert_eq!(lines[8]["kind"], "reaggregation");
    assert_eq!(
        lines[8]["payload"],
        serde_json::json!({"sscc": sscc, "type": "adding", "units": [ki("XyZ2c")]})
    );

    // A spoiled label on goods in circulation: the next scan is its new code.
    let lines = work(
        &db,
        "write-off",
        &[
            "--reason",
            "code_spoiled",
            "--document",
            "A-1",
            "--date",
            "2026-11-22",
        ],
        &[
            code("XyZ2d"),
            code("XyZ2e"),
            code("NeW1a"),
            command("FINISH"),
        ],
    );
    let story: Vec<String> = lines.iter().map(said).collect();
    assert_eq!(
        story,
        [
            "began",
            "recorded",
            "not_taken not_a_new_code",
            "recorded",
            "finished"
        ],
        "{lines:?}"
    );
    assert_eq!(lines[1]["awaiting_replacement"], ki("XyZ2d"));
    assert_eq!(lines[2]["awaiting_replacement"], ki("XyZ2d"));
    assert!(lines[3].get("awaiting_replacement").is_none());
    let payload = &lines[4]["payload"];
    assert_eq!(payload["codes"], serde_json::json!([ki("XyZ2d")]));
    assert_eq!(
        payload["replacements"],
        serde_json::json!([{"old": ki("XyZ2d"), "new": ki("NeW1a")}])
    );
    // The queued payload is the one contract's document.
    let document = tally_wire::OperationDocument::from_parts("write-off", payload.clone()).unwrap();
    assert!(
        matches!(document, tally_wire::OperationDocument::WriteOff(w) if w.replacements.len() == 1)
    );
}

#[test]
fn scan_reads_a_recorded_camera_once_per_code_held_in_view() {
    use tally_drivers::image::synthetic::{self, Scene};
    use tally_drivers::image::{Layout, LumaFrame, PixelFormat, record_frame};

    let scratch = Scratch::new("scan-camera");
    let frames = scratch.0.join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    let milk = b"0104600840749372215XyZ1a\x1d93Ab1+";
    let shoes = b"0104690257528523215'<A&b\"%/;C>x\x1d91EE10\x1d92MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8";
    let blank = LumaFrame::filled(640, 480, 200).unwrap();
    let scene = Scene::default();
    let milk_frame = scene
        .shoot(&synthetic::data_matrix(milk, true).unwrap())
        .unwrap();
    let shoes_frame = scene
        .shoot(&synthetic::data_matrix(shoes, true).unwrap())
        .unwrap();
    let layout = |format, frame: &LumaFrame| Layout {
        format,
        width: frame.width(),
        height: frame.height(),
        bytes_per_line: 0,
    };
    // The camera's own formats: milk held in view for three YUYV frames, then nothing, then
    // shoes for two GREY frames.
    let mut index = 0;
    let mut record = |format, frame: &LumaFrame| {
        let bytes = match format {
            PixelFormat::Yuyv => synthetic::yuyv(frame, 0).unwrap(),
            _ => synthetic::grey(frame, 0).unwrap(),
        };
        record_frame(&frames, index, &layout(format, frame), &bytes).unwrap();
        index += 1;
    };
    for _ in 0..3 {
        record(PixelFormat::Yuyv, &milk_frame);
    }
    for _ in 0..6 {
        record(PixelFormat::Grey, &blank);
    }
    for _ in 0..2 {
        record(PixelFormat::Grey, &shoes_frame);
    }

    let output = tally()
        .args(["scan", "--source"])
        .arg(format!("recorded:{}", frames.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output.stdout);
    let scans: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "scan").collect();
    assert_eq!(scans.len(), 2, "{lines:?}");
    assert_eq!(
        scans[0]["canonical"],
        "0104600840749372215XyZ1a\u{1d}93Ab1+"
    );
    assert_eq!(scans[0]["source"], "camera");
    assert_eq!(scans[0]["source_symbology"], "d2");
    assert_eq!(scans[1]["ok"], true);
    assert_eq!(scans[1]["gtin"], "04690257528523");

    // A trigger mode without a key to press it is refused before anything starts.
    let refused = tally()
        .args(["scan", "--source"])
        .arg(format!("recorded:{};mode=press", frames.display()))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("trigger="));
}

#[cfg(test)]
mod printer_support {
    use std::io::Write;

    /// A label printer on a socket: answers `~HS` with `status`, then hands back each job's bytes.
    pub fn fake_printer(
        statuses: Vec<&'static [u8]>,
    ) -> (String, std::sync::mpsc::Receiver<Vec<u8>>) {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("tcp:127.0.0.1:{}", listener.local_addr().unwrap().port());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for status in statuses {
                let (mut stream, _) = listener.accept().unwrap();
                let mut request = [0u8; 5];
                stream.read_exact(&mut request).unwrap();
                stream.write_all(status).unwrap();
                let mut job = Vec::new();
                let _ = stream.read_to_end(&mut job);
                tx.send(job).unwrap();
            }
        });
        (address, rx)
    }
}

use printer_support::fake_printer;

#[test]
fn work_aggregation_prints_the_box_label_and_an_empty_roll_keeps_the_box() {
    const READY: &[u8] =
        b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n";
    const NO_PAPER: &[u8] =
        b"\x02030,1,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n";
    let scratch = Scratch::new("work-labels");
    let db = scratch.0.join("replica.db");
    let mut lines = String::new();
    for s in ["a", "b"] {
        lines.push_str(&format!(
            r#"{{"cis":"01046008407493722159XyZ3{s}","status":"INTRODUCED","ownerInn":"7707083893","productGroupId":8}}"#
        ));
        lines.push('\n');
    }
    import_statuses(&db, &lines);
    let code = |serial: &str| format!("01046008407493722159{serial}\u{1d}93Ab1+");
    let command = |name: &str| format!("TALLY:{name}");

    // The first label prints; the reprint finds the roll empty; the one after prints again.
    let (printer, jobs) = fake_printer(vec![READY, NO_PAPER, READY]);
    let lines = work(
        &db,
        "aggregation",
        &[
            "--company-prefix",
            "4600840",
            "--printer",
            &printer,
            "--packer",
            "ООО «Склад»",
        ],
        &[
            command("OPEN-BOX"),
            code("XyZ3a"),
            code("XyZ3b"),
            command("CLOSE"),
            command("PRINT"),
            command("PRINT"),
            command("FINISH"),
        ],
    );
    let story: Vec<String> = lines.iter().map(said).collect();
    assert_eq!(
        story,
        [
            "began",
            "OPEN-BOX true",
            "recorded",
            "recorded",
            "CLOSE true",
            "label",
            "label",
            "label",
            "finished"
        ],
        "{lines:?}"
    );
    let sscc = lines[1]["open"].as_str().unwrap().to_string();
    assert_eq!(lines[5]["sscc"], sscc.as_str());
    assert_eq!(lines[5]["printed"], true);
    assert_eq!(lines[6]["printed"], false);
    assert_eq!(lines[6]["reason"]["code"], "printer_out_of_paper");
    assert_eq!(lines[7]["printed"], true);
    // The box is whole in the finished operation whatever the printer did.
    assert_eq!(lines[8]["payload"]["aggregates"][0]["sscc"], sscc.as_str());

    let first = String::from_utf8(jobs.recv().unwrap()).unwrap();
    assert!(first.starts_with("^XA"), "{first}");
    assert!(
        first.contains(&format!("^BCN,160,N,N,N,D^FD(00){sscc}^FS")),
        "{first}"
    );
    assert!(first.contains("ООО «Склад»"), "{first}");
    assert!(first.contains("04600840749372 × 2"), "{first}");
    assert_eq!(jobs.recv().unwrap(), b"", "nothing sent to an empty roll");
    let again = String::from_utf8(jobs.recv().unwrap()).unwrap();
    assert!(again.contains(&format!("^FD(00){sscc}^FS")), "{again}");
}

#[test]
fn label_prints_zpl_or_draws_the_preview() {
    let scratch = Scratch::new("label");
    let zpl = tally()
        .args([
            "label",
            "--sscc",
            "00046008400000000015",
            "--level",
            "pallet",
            "--packer",
            "Склад №2",
            "--line",
            "Коробок/Boxes: 12",
            "--count",
            "12",
            "--date",
            "2026-12-02",
        ])
        .output()
        .unwrap();
    assert!(zpl.status.success(), "{zpl:?}");
    let text = String::from_utf8(zpl.stdout).unwrap();
    assert!(text.contains("^FD(00)046008400000000015^FS"), "{text}");
    assert!(text.contains("^FDПАЛЛЕТА / PALLET^FS"), "{text}");
    assert!(text.contains("02.12.2026"), "{text}");

    let png = scratch.0.join("label.png");
    let drawn = tally()
        .args(["label", "--sscc", "046008400000000015", "--png"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(drawn.status.success(), "{drawn:?}");
    let frame = tally_drivers::image::read_image_file(&png).unwrap();
    assert_eq!((frame.width(), frame.height()), (800, 560));

    let wrong = tally()
        .args(["label", "--sscc", "046008400000000016"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not an SSCC"));
}

#[test]
fn work_return_takes_back_what_we_sold_and_relabels_an_unreadable_item() {
    let scratch = Scratch::new("work-return");
    let db = scratch.0.join("replica.db");
    let line = |serial: &str, status: &str| {
        format!(
            r#"{{"cis":"01046008407493722159{serial}","status":"{status}","ownerInn":"7707083893","productGroupId":8}}"#
        )
    };
    let lines = [
        line("Sold1", "RETIRED"),
        line("Sold2", "RETIRED"),
        line("InUse", "INTRODUCED"),
        line("NeW1a", "EMITTED"),
    ]
    .join("\n");
    import_statuses(&db, &lines);
    let code = |serial: &str| format!("01046008407493722159{serial}\u{1d}93Ab1+");
    let ki = |serial: &str| format!("01046008407493722159{serial}");
    let command = |name: &str| format!("TALLY:{name}");
    let args = [
        "--cause",
        "remote_sale",
        "--unpaid",
        "--document",
        "ВЗ-3",
        "--date",
        "2026-12-02",
    ];
    let lines = work(
        &db,
        "return",
        &args,
        &[
            code("Sold1"),
            code("InUse"),
            command("DAMAGED"),
            code("Sold2"),
            command("FINISH"),
            code("NeW1a"),
            code("Sold2"),
            command("FINISH"),
        ],
    );
    let story: Vec<String> = lines.iter().map(said).collect();
    assert_eq!(
        story,
        [
            "began",
            "recorded",
            // In circulation: nothing was sold, nothing comes back.
            "refused",
            "DAMAGED true",
            // A sold code is someone's goods, not a new label; nor does the return finish
            // while the new label is awaited.
            "not_taken not_a_new_code",
            "FINISH false",
            "recorded",
            "recorded",
            "finished",
        ],
        "{lines:?}"
    );
    assert_eq!(lines[2]["findings"][0]["code"], "wrong_status");
    assert_eq!(lines[3]["awaiting_new_label"], true);
    assert_eq!(lines[5]["reason"]["code"], "awaiting_new_label");
    assert!(lines[6].get("awaiting_new_label").is_none());
    let payload = &lines[8]["payload"];
    assert_eq!(lines[8]["kind"], "return");
    assert_eq!(
        *payload,
        serde_json::json!({"cause": "remote_sale", "receipt": "receipt",
            "document_number": "ВЗ-3", "document_date": "2026-12-02", "paid": false,
            "units": [ki("Sold1"), ki("Sold2")], "relabelled": [ki("NeW1a")]})
    );
    assert!(matches!(
        tally_wire::OperationDocument::from_parts("return", payload.clone()),
        Ok(tally_wire::OperationDocument::Return(_))
    ));

    // Back in circulation on this terminal at once: the same unit cannot come back twice.
    let again = work(
        &db,
        "return",
        &["--document", "ФД-8"],
        &[code("Sold1"), command("FINISH")],
    );
    let story: Vec<String> = again.iter().map(said).collect();
    assert_eq!(
        story,
        ["began", "refused", "FINISH false", "end"],
        "{again:?}"
    );

    // What GIS MT would refuse is refused before the first scan (on a replica with no return
    // open, which would be resumed as it was begun).
    let fresh = scratch.0.join("fresh.db");
    for (bad, says) in [
        (vec!["--unpaid"], "remote sale"),
        (vec!["--receipt", "other"], "--receipt-name"),
        (vec!["--cause", "gift"], "retail or remote_sale"),
    ] {
        let output = tally()
            .args(["work", "return", "--source", "stdin", "--document", "ФД-9"])
            .args(&bad)
            .arg("--db")
            .arg(&fresh)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!output.status.success(), "{bad:?}");
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(text.contains(says), "{bad:?}: {text}");
    }
}

#[test]
fn work_inventory_counts_the_warehouse_and_settles_what_is_missing() {
    let scratch = Scratch::new("work-inventory");
    let db = scratch.0.join("replica.db");
    let sscc = "046008400000000817";
    let line = |serial: &str, status: &str, owner: &str, parent: Option<&str>| {
        serde_json::json!({"cis": format!("01046008407493722159{serial}"), "status": status,
            "ownerInn": owner, "productGroupId": 8, "parent": parent})
        .to_string()
    };
    let ours = "7707083893";
    let lines = [
        line("Shlf1", "INTRODUCED", ours, None),
        line("Shlf2", "INTRODUCED", ours, None),
        line("Lost1", "INTRODUCED", ours, None),
        line("Box01", "INTRODUCED", ours, Some(sscc)),
        line("Box02", "INTRODUCED", ours, Some(sscc)),
        line("Sold1", "RETIRED", ours, None),
        line("Their", "INTRODUCED", "7736207543", None),
        serde_json::json!({"cis": sscc, "status": "INTRODUCED", "ownerInn": ours,
            "packageType": "LEVEL1"})
        .to_string(),
    ]
    .join("\n");
    import_statuses(&db, &lines);
    let code = |serial: &str| format!("01046008407493722159{serial}\u{1d}93Ab1+");
    let ki = |serial: &str| format!("01046008407493722159{serial}");
    let command = |name: &str| format!("TALLY:{name}");
    let lines = work(
        &db,
        "inventory",
        &[
            "--document",
            "ИНВ-1",
            "--date",
            "2026-12-02",
            "--settle",
            "damage_loss",
            "--supervisor-required",
        ],
        &[
            code("Shlf1"),
            code("Shlf1"),
            code("Sold1"),
            code("Their"),
            code("NoIdea"),
            format!("00{sscc}"),
            command("FINISH"),
            command("CONFIRM:petrov"),
            command("FINISH"),
        ],
    );
    let story: Vec<String> = lines.iter().map(said).collect();
    assert_eq!(
        story,
        [
            "began",
            "recorded",
            "refused",
            // Sold, someone else's, unknown: each counted, none refused.
            "recorded",
            "recorded",
            "recorded",
            "recorded",
            "FINISH false",
            "CONFIRM:petrov true",
            "finished",
        ],
        "{lines:?}"
    );
    assert_eq!(lines[2]["findings"][0]["code"], "duplicate_in_document");
    assert_eq!(lines[7]["reason"]["code"], "supervisor_required");
    let payload = &lines[9]["payload"];
    assert_eq!(
        *payload,
        serde_json::json!({"zone": null, "document_number": "ИНВ-1",
            "document_date": "2026-12-02",
            "found": [ki("Shlf1"), ki("Box01"), ki("Box02")], "labels": [sscc], "opened": [],
            "foreign": [ki("Their")], "wrong_status": [ki("Sold1")], "unknown": [ki("NoIdea")],
            "missing": [ki("Lost1"), ki("Shlf2")], "settle": "damage_loss",
            "supervisor": "petrov"})
    );

    // Written off here at once: the missing unit found later cannot be shipped.
    let again = work(
        &db,
        "shipment",
        &["--receiver", "7736207543", "--document", "РН-1"],
        &[code("Lost1"), command("FINISH")],
    );
    let story: Vec<String> = again.iter().map(said).collect();
    assert_eq!(
        story,
        ["began", "refused", "FINISH false", "end"],
        "{again:?}"
    );

    // A zone knows what should be there only through its boxes: an opened box expects its
    // units, and nothing loose is missing.
    let zone = scratch.0.join("zone.db");
    import_statuses(&zone, &lines_of_box(sscc, ours));
    let lines = work(
        &zone,
        "inventory",
        &["--zone", "Ряд 3", "--document", "ИНВ-2"],
        &[
            command(&format!("OPEN:{sscc}")),
            code("Box01"),
            command("FINISH"),
        ],
    );
    let finished = lines.last().unwrap();
    assert_eq!(finished["event"], "finished", "{lines:?}");
    assert_eq!(finished["payload"]["zone"], "Ряд 3");
    assert_eq!(finished["payload"]["opened"], serde_json::json!([sscc]));
    assert_eq!(
        finished["payload"]["found"],
        serde_json::json!([ki("Box01")])
    );
    assert_eq!(
        finished["payload"]["missing"],
        serde_json::json!([ki("Box02")])
    );
}

/// A box of two units of ours and a loose unit, as status lines.
fn lines_of_box(sscc: &str, ours: &str) -> String {
    let unit = |serial: &str, parent: Option<&str>| {
        serde_json::json!({"cis": format!("01046008407493722159{serial}"),
            "status": "INTRODUCED", "ownerInn": ours, "productGroupId": 8, "parent": parent})
        .to_string()
    };
    [
        unit("Box01", Some(sscc)),
        unit("Box02", Some(sscc)),
        unit("Loose", None),
    ]
    .join("\n")
}

#[test]
fn work_shipment_picks_an_order_pulled_from_the_hub() {
    use tally_domain::status::{Inn, Timestamp};
    use tally_wire::Feed;

    const GTIN: &str = "04600840749372";
    const CUSTOMER: &str = "7736207543";
    let ki = |serial: &str| format!("01{GTIN}21{serial}");
    let scan = |serial: &str| format!("{}\u{1d}93Ab1+", ki(serial));
    let scratch = Scratch::new("work-shipment-order");
    let hub_store = tally_hub::store::Store::open(scratch.0.join("hub.db")).unwrap();
    let statuses: String = ["5Ord001", "5Ord002", "5Ord003"]
        .iter()
        .map(|s| {
            serde_json::json!({"cis": ki(s), "status": "INTRODUCED", "ownerInn": "7707083893",
                "productGroupId": 8})
            .to_string()
                + "\n"
        })
        .collect();
    let order = |id: &str, warehouse: &str| {
        serde_json::json!({"id": id, "number": format!("ЗК-{id}"), "receiverInn": CUSTOMER,
            "date": "2026-12-03", "warehouse": warehouse, "units": [ki("5Ord001")],
            "lines": [{"gtin": GTIN, "quantity": 2}]})
        .to_string()
    };
    for (feed, lines) in [
        (Feed::Statuses, statuses),
        (
            Feed::Catalog,
            format!("{{\"gtin\":\"{GTIN}\",\"name\":\"Молоко 3,2% 1 л\",\"productGroupId\":8}}\n"),
        ),
        (
            Feed::Orders,
            format!("{}\n{}\n", order("1", "W1"), order("2", "W2")),
        ),
    ] {
        let report = tally_hub::import::import(&hub_store, feed, lines.as_bytes()).unwrap();
        assert!(report.rejected.is_empty(), "{feed:?}: {report:?}");
    }
    let code = hub_store
        .create_enrollment_code("W1", &Inn::parse("7707083893").unwrap(), Timestamp(0))
        .unwrap();
    let hub = tally_hub::server::Hub::bind(hub_store, "127.0.0.1:0").unwrap();
    let url = format!("http://{}", hub.local_addr().unwrap());
    std::thread::spawn(move || hub.run());
    let db = scratch.0.join("terminal.db");
    let run = |args: &[&str]| {
        let out = tally().args(args).arg("--db").arg(&db).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        json_lines(&out.stdout)
    };
    run(&["enroll", &url, &code]);
    let summary = &run(&["sync"])[0];
    let orders_feed = summary["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feed"] == "orders")
        .unwrap();
    assert_eq!(orders_feed["items"], 1, "W1's order only: {summary}");

    // The warehouse's order is in the replica; the other warehouse's is not.
    let orders = run(&["db", "orders"]);
    assert_eq!(
        orders,
        [
            serde_json::json!({"id": "1", "number": "ЗК-1", "receiver_inn": CUSTOMER,
            "date": "2026-12-03", "units": 3})
        ]
    );
    let unknown = tally()
        .args([
            "work", "shipment", "--source", "stdin", "--order", "2", "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no order \"2\" in the replica"),
        "{unknown:?}"
    );

    // Picked against it: the named unit, then the terminal stops mid-order.
    let lines = work(
        &db,
        "shipment",
        &["--order", "1", "--date", "2026-12-03"],
        &[scan("5Ord001")],
    );
    let story: Vec<String> = lines.iter().map(said).collect();
    assert_eq!(story, ["began", "recorded", "end"], "{lines:?}");
    // The books withdraw the order meanwhile: the replica drops it at the next sync, but the
    // open shipment goes on against the order as it began (kept in its journal).
    let again = tally_hub::store::Store::open(scratch.0.join("hub.db")).unwrap();
    let withdrawn = r#"{"id": "1", "remove": true, "warehouse": "W1"}"#;
    tally_hub::import::import(&again, Feed::Orders, withdrawn.as_bytes()).unwrap();
    drop(again);
    run(&["sync"]);
    assert!(run(&["db", "orders"]).is_empty(), "withdrawn");
    // Resumed: one of the two by quantity, and finished; the receiver and the number are the
    // order's.
    let lines = work(
        &db,
        "shipment",
        &[],
        &[scan("5Ord002"), "TALLY:FINISH".to_owned()],
    );
    assert_eq!(lines[0]["event"], "resumed", "{lines:?}");
    let finished = lines.last().unwrap();
    assert_eq!(finished["event"], "finished", "{lines:?}");
    let payload = &finished["payload"];
    assert_eq!(payload["order_id"], "1", "{payload}");
    assert_eq!(payload["receiver_inn"], CUSTOMER);
    assert_eq!(payload["document_number"], "ЗК-1");
    assert_eq!(
        payload["units"],
        serde_json::json!([ki("5Ord001"), ki("5Ord002")])
    );
    assert_eq!(
        payload["lines"],
        serde_json::json!([{"gtin": GTIN, "ordered": 2, "shipped": 1, "over": 0}])
    );
    assert_eq!(payload["missing"], serde_json::json!([]));
    assert_eq!(payload["over"], serde_json::json!([]));

    // The hub takes it against the order.
    let summary = &run(&["sync"])[0];
    assert_eq!(
        (summary["accepted"].clone(), summary["rejected"].clone()),
        (1.into(), 0.into()),
        "{summary}"
    );
}
