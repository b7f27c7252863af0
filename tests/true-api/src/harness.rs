//! A running emulator for tests: [`Emulator::spawn`] starts the binary, reads its address line
//! and kills it on drop; small blocking helpers call its `/emulator/*` control API with ureq.
//! They panic with the emulator's answer when a call fails: they are test fixtures.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use serde::Deserialize;
use serde_json::{Value, json};

pub use crate::state::{FaultKind, Stats};

/// A document as the emulator holds it (`GET /emulator/documents`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredDocument {
    pub id: String,
    #[serde(rename = "type")]
    pub doc_type: String,
    pub pg: String,
    /// The signer's participant.
    pub inn: String,
    /// `IN_PROGRESS`, `CHECKED_OK` or `CHECKED_NOT_OK`.
    pub status: String,
    pub errors: Vec<String>,
    /// The body as submitted.
    pub content: Value,
    pub received_at: String,
}

/// A running `true-api-emulator`, killed when dropped.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    url: String,
    agent: ureq::Agent,
    // Held so the emulator's standard output stays open for as long as it runs.
    _stdout: BufReader<ChildStdout>,
}

impl Emulator {
    /// Starts `binary` on a free local port with `--ca`, `--schemas` and `--codes`.
    pub fn spawn(binary: &Path, ca: &Path, schemas: &Path, codes: Option<&Path>) -> Emulator {
        Emulator::spawn_with(binary, ca, schemas, codes, &[])
    }

    /// As [`Emulator::spawn`], with more arguments (`--checking-polls 3`, say).
    pub fn spawn_with(
        binary: &Path,
        ca: &Path,
        schemas: &Path,
        codes: Option<&Path>,
        extra: &[&str],
    ) -> Emulator {
        let mut command = Command::new(binary);
        command
            .args(["--listen", "127.0.0.1:0", "--ca"])
            .arg(ca)
            .arg("--schemas")
            .arg(schemas);
        if let Some(codes) = codes {
            command.arg("--codes").arg(codes);
        }
        let mut child = command
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let Some(stdout) = child.stdout.take() else {
            panic!("the emulator's standard output was not piped");
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let url = match line.trim().strip_prefix("listening on ") {
            Some(url) if read.is_ok() => url.to_owned(),
            _ => {
                let _ = child.kill();
                let status = child.wait();
                panic!("the emulator did not say where it listens: {line:?} ({status:?})");
            }
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        Emulator {
            child,
            url,
            agent,
            _stdout: stdout,
        }
    }

    /// `http://127.0.0.1:PORT`, the host to give the hub.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn call(&self, method: &str, path: &str, body: Option<String>) -> (u16, String) {
        let url = format!("{}{path}", self.url);
        let result = match body {
            Some(body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body),
            None if method == "POST" => self.agent.post(&url).send_empty(),
            None => self.agent.get(&url).call(),
        };
        let mut response =
            result.unwrap_or_else(|e| panic!("emulator control {method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("emulator control {method} {path}: {e}"));
        (status, text)
    }

    fn ok(&self, method: &str, path: &str, body: Option<String>) -> Value {
        let (status, text) = self.call(method, path, body);
        if status != 200 {
            panic!("emulator control {method} {path}: {status} {text}");
        }
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("emulator control {method} {path}: {e}: {text}"))
    }

    /// The next `count` requests whose path starts with `path` get `kind`.
    pub fn fault(&self, path: &str, kind: FaultKind, count: u32) {
        let body = match kind {
            FaultKind::Status {
                status,
                retry_after,
            } => json!({"path": path, "kind": "status", "status": status,
                        "retry_after": retry_after, "count": count}),
            FaultKind::Stall => json!({"path": path, "kind": "stall", "count": count}),
            FaultKind::Drop => json!({"path": path, "kind": "drop", "count": count}),
            FaultKind::DropAfter => json!({"path": path, "kind": "drop_after", "count": count}),
        };
        self.ok("POST", "/emulator/faults", Some(body.to_string()));
    }

    /// Every document `create` took, oldest first.
    pub fn documents(&self) -> Vec<StoredDocument> {
        let list = self.ok("GET", "/emulator/documents", None);
        serde_json::from_value(list).unwrap_or_else(|e| panic!("emulator documents: {e}"))
    }

    /// The code's `cisInfo` as the emulator holds it now (with `ownerInn`), if it knows it.
    pub fn codes(&self, cis: &str) -> Option<Value> {
        let url = format!("{}/emulator/codes", self.url);
        let mut response = self
            .agent
            .get(&url)
            .query("cis", cis)
            .call()
            .unwrap_or_else(|e| panic!("emulator codes {cis}: {e}"));
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("emulator codes {cis}: {e}"));
        match status {
            200 => Some(
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("emulator codes {cis}: {e}: {text}")),
            ),
            404 => None,
            _ => panic!("emulator codes {cis}: {status} {text}"),
        }
    }

    /// Adds or replaces codes: `cisInfo` objects, each with its `cis`.
    pub fn seed(&self, lines: &[Value]) {
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        self.ok("POST", "/emulator/codes", Some(body));
    }

    /// Every document judged from now on that names `cis` ends `CHECKED_NOT_OK`.
    pub fn refuse(&self, cis: &str) {
        self.ok(
            "POST",
            "/emulator/refuse",
            Some(json!({ "cis": cis }).to_string()),
        );
    }

    /// Every token issued so far answers 401 from now on.
    pub fn expire_tokens(&self) {
        self.ok("POST", "/emulator/expire-tokens", None);
    }

    pub fn stats(&self) -> Stats {
        let stats = self.ok("GET", "/emulator/stats", None);
        serde_json::from_value(stats).unwrap_or_else(|e| panic!("emulator stats: {e}"))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Killed, the emulator cannot remove its scratch directory (`server::run` names it).
        let scratch = std::env::temp_dir().join(format!("true-api-emulator-{}", self.child.id()));
        let _ = std::fs::remove_dir_all(scratch);
    }
}
