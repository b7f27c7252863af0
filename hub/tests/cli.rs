//! The `tally-hub` executable: enrollment codes, imports with line numbers, and `serve`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn hub() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tally-hub"))
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tally-hub-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn enroll_code_then_serve_then_enroll() {
    let dir = temp_dir();
    let db = dir.join("hub.db");
    let out = hub()
        .args([
            "enroll-code",
            "--warehouse",
            "W1",
            "--inn",
            "7707083893",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(code.len(), 12);

    let bad_inn = hub()
        .args([
            "enroll-code",
            "--warehouse",
            "W1",
            "--inn",
            "7707083890",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!bad_inn.status.success());
    assert!(String::from_utf8_lossy(&bad_inn.stderr).contains("not a valid INN"));

    // With --qr the code also comes as a QR code to scan: the code first, then the drawing.
    let with_qr = hub()
        .args(["enroll-code", "--warehouse", "W1", "--inn", "7707083893"])
        .args(["--qr", "http://hub.local:8080", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(with_qr.status.success());
    let printed = String::from_utf8(with_qr.stdout).unwrap();
    let mut lines = printed.lines();
    assert_eq!(lines.next().unwrap().trim().len(), 12);
    assert!(lines.filter(|l| l.contains('█')).count() > 10);

    let mut server = hub()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let body = serde_json::json!({"code": code, "device_name": "tsd", "app_version": "0.1.0"});
    let answer = ureq::post(format!("{url}/v1/enroll"))
        .header("Content-Type", "application/json")
        .send(serde_json::to_vec(&body).unwrap().as_slice());
    server.kill().unwrap();
    server.wait().unwrap();
    let text = answer.unwrap().into_body().read_to_string().unwrap();
    let enrolled: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(enrolled["warehouse"], "W1");
    assert!(enrolled["token"].as_str().unwrap().len() >= 32);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn import_names_rejected_lines() {
    let dir = temp_dir();
    let file = dir.join("statuses.jsonl");
    std::fs::write(
        &file,
        "{\"cis\": \"010460084074937221AAAAAAAAAAAA1\", \"status\": \"INTRODUCED\"}\n\
         {\"cis\": \"010460084074937221AAAAAAAAAAAA2\", \"status\": \"INTRODUCED\", \"ownerInn\": \"123\"}\n",
    )
    .unwrap();
    let out = hub()
        .args(["import", "statuses"])
        .arg(&file)
        .arg("--db")
        .arg(dir.join("hub.db"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"feed": "statuses", "imported": 1, "rejected": 1})
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("line 2: bad_owner_inn"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn import_orders_takes_orders_to_pick_and_names_the_bad_ones() {
    let dir = temp_dir();
    let file = dir.join("orders.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"ZK-1\", \"number\": \"ЗК-1\", \"receiverInn\": \"7736207543\", \"date\": \"2026-12-03\", \"warehouse\": \"W1\", \"lines\": [{\"gtin\": \"04600840749372\", \"quantity\": 4}]}\n\
         {\"id\": \"ZK-2\", \"number\": \"ЗК-2\", \"date\": \"2026-12-03\"}\n",
    )
    .unwrap();
    let out = hub()
        .args(["import", "orders"])
        .arg(&file)
        .arg("--db")
        .arg(dir.join("hub.db"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"feed": "orders", "imported": 1, "rejected": 1})
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("line 2: empty_order"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_configuration_file_names_the_database_and_a_flag_wins_over_it() {
    let dir = temp_dir();
    // The packaged configuration, pointed at this test's directory.
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../packaging/tally-hub.toml"
    ))
    .unwrap();
    let configured = dir.join("configured.db");
    let config = dir.join("hub.toml");
    std::fs::write(
        &config,
        shipped.replace("/var/lib/tally-hub/hub.db", configured.to_str().unwrap()),
    )
    .unwrap();
    let enroll_code = |extra: &[&str]| {
        hub()
            .args([
                "enroll-code",
                "--warehouse",
                "W1",
                "--inn",
                "7707083893",
                "--config",
            ])
            .arg(&config)
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(enroll_code(&[]).status.success());
    assert!(configured.exists(), "the configured database was used");
    let flagged = dir.join("flagged.db");
    assert!(
        enroll_code(&["--database", flagged.to_str().unwrap()])
            .status
            .success()
    );
    assert!(flagged.exists(), "--database wins over the file");

    // The shipped `[limits]` read; a misspelt limit is an error too.
    assert!(shipped.contains("[limits]"));
    std::fs::write(&config, "[limits]\nmax_connectons = 8\n").unwrap();
    let out = enroll_code(&[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("max_connectons"),
        "{out:?}"
    );

    // A misspelt key is an error, not a silent default.
    std::fs::write(&config, "databse = \"/tmp/x.db\"\n").unwrap();
    let out = enroll_code(&[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("databse"),
        "{out:?}"
    );
    // The shipped `[gismt]` reads (with no True API it links nothing); a misspelt key is
    // named, and a True API without a signer, or a signer without a True API, is refused.
    assert!(shipped.contains("[gismt]"));
    std::fs::write(
        &config,
        shipped.replace("/var/lib/tally-hub/hub.db", configured.to_str().unwrap()),
    )
    .unwrap();
    let gismt = |extra: &[&str]| {
        hub()
            .args(["gismt", "--config"])
            .arg(&config)
            .args(extra)
            .args(["sign-in", "--inn", "7707083893"])
            .output()
            .unwrap()
    };
    let out = gismt(&[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("gismt_not_configured"),
        "{out:?}"
    );
    let out = gismt(&["--signer", "/bin/false"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--signer needs --true-api"),
        "{out:?}"
    );
    let out = gismt(&["--true-api", "https://markirovka.sandbox.crptech.ru"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs a signer"),
        "{out:?}"
    );
    std::fs::write(&config, "[gismt]\nsignr = \"/bin/false\"\n").unwrap();
    let out = gismt(&[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("signr"),
        "{out:?}"
    );
    // An unreachable True API is reported as such (the signer is not asked).
    std::fs::write(
        &config,
        format!(
            "database = \"{}\"\n[gismt]\ntrue_api = \"http://127.0.0.1:9\"\n\
             signer = \"sh -c 'echo token unreadable >&2; exit 3'\"\n",
            configured.display()
        ),
    )
    .unwrap();
    let out = gismt(&[]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("GIS MT is unavailable"), "{said}");
    assert!(!said.contains("token unreadable"), "{said}");

    // A configuration file named on the command line must exist.
    let missing = hub()
        .args([
            "enroll-code",
            "--warehouse",
            "W1",
            "--inn",
            "7707083893",
            "--config",
        ])
        .arg(dir.join("nowhere.toml"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = temp_dir();
    let mut server = hub()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.join("hub.db"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    let health = ureq::get(format!("{url}/healthz")).call().unwrap();
    assert_eq!(health.status(), 200);
    // systemd's stop: SIGTERM, then the process is expected to exit by itself.
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(rest.contains("stopping"), "{rest}");
    std::fs::remove_dir_all(dir).unwrap();
}
