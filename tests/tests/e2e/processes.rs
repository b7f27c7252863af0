//! Real processes for the end-to-end flows: the built `tally` and `tally-hub` executables, a
//! hub that can be stopped and started again on its port, and the scanners that feed a
//! terminal (a pseudo-terminal serial scanner and keyboard-wedge key traces).

// Test helpers: a failed set-up is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;

/// The directory holding `tally` and `tally-hub`, built fresh once per test process.
///
/// Cargo names binaries (`CARGO_BIN_EXE_*`) only to tests of the package that owns them, so
/// this package builds them itself, into the profile directory its own test binary runs from
/// (`target/<profile>/deps/e2e-*`), never running a stale binary under `-p tally-tests`. It
/// builds them the way `cargo nextest run --workspace` does (`cargo test --no-run
/// --workspace`), so that after the README's test command this is a no-op: a narrower
/// `cargo build -p …` unified other features, compiled the UI and the hub a second time and
/// filled a CI machine's disk. `TALLY_E2E_BIN_DIR` points at prebuilt binaries instead (an
/// installed package, a cross build run under emulation).
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("TALLY_E2E_BIN_DIR") {
            return PathBuf::from(dir);
        }
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let target_dir = profile_dir.parent().unwrap();
        // `target/debug` is cargo test's own default, which takes no --profile; naming "dev"
        // would build under another profile than the one the tests were built with.
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => vec![],
            Some(other) => vec!["--profile".to_owned(), other.to_owned()],
            None => panic!("no profile directory above {}", exe.display()),
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(cargo)
            .args(["test", "--no-run", "--quiet", "--workspace"])
            .args(profile)
            .arg("--manifest-path")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir)
            .stdin(Stdio::null())
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "building tally and tally-hub failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        profile_dir
    })
}

pub fn tally() -> Command {
    Command::new(bin_dir().join("tally"))
}

pub fn tally_hub() -> Command {
    Command::new(bin_dir().join("tally-hub"))
}

/// The True API emulator's executable (`tests/true-api`).
pub fn true_api_emulator() -> PathBuf {
    bin_dir().join("true-api-emulator")
}

/// Writes JSON lines, as the hub and the terminal import them.
pub fn write_lines(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// `tally work KIND` on a replica, scans from `source`.
pub fn work(db: &Path, kind: &str, source: &str, extra: &[&str]) -> Command {
    let mut command = tally();
    command
        .args(["work", kind, "--source", source, "--framing", "crlf"])
        .args(extra)
        .arg("--db")
        .arg(db);
    command
}

/// One `tally sync` round; its summary.
pub fn sync(db: &Path) -> Value {
    let output = run_ok(tally().arg("sync").arg("--db").arg(db));
    json_lines(&output.stdout).remove(0)
}

/// A one-time code from the hub's database (`tally-hub enroll-code`).
pub fn enrollment_code(hub_db: &Path, warehouse: &str, inn: &str) -> String {
    let code = run_ok(
        tally_hub()
            .args([
                "enroll-code",
                "--warehouse",
                warehouse,
                "--inn",
                inn,
                "--db",
            ])
            .arg(hub_db),
    );
    String::from_utf8(code.stdout).unwrap().trim().to_owned()
}

/// `tally enroll` of a replica with the hub at `url`, with a fresh one-time code of
/// `warehouse` and `inn`; what enroll printed.
pub fn enroll(
    url: &str,
    hub_db: &Path,
    db: &Path,
    warehouse: &str,
    inn: &str,
    name: &str,
) -> Value {
    let code = enrollment_code(hub_db, warehouse, inn);
    let enrolled = run_ok(
        tally()
            .args(["enroll", url, &code, "--name", name, "--db"])
            .arg(db),
    );
    json_lines(&enrolled.stdout).remove(0)
}

/// How many items a sync summary says it pulled of `feed`.
pub fn feed_items(summary: &Value, feed: &str) -> u64 {
    summary["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feed"] == feed)
        .and_then(|f| f["items"].as_u64())
        .unwrap_or_else(|| panic!("no {feed} feed in {summary}"))
}

/// Fails unless every exported document (`tally-hub export` lines) passes its type's schema
/// in `wire/schemas/`: a document GIS MT takes.
pub fn assert_valid_documents(documents: &[Value]) {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wire/schemas");
    for document in documents {
        let doc_type = document["type"].as_str().unwrap();
        let path = schemas.join(format!("{doc_type}.schema.json"));
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let wrong: Vec<String> = validator
            .iter_errors(&document["document"])
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(wrong.is_empty(), "{doc_type}: {wrong:?}");
    }
}

/// Runs a command to its end and returns its output, failing the test when it failed.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command.stdin(Stdio::null()).output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A scratch directory for one test, removed when the test passes.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("tally-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A failed test leaves its files for a look.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A child that is SIGKILLed when dropped, so no process outlives its test, even a failed one.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tally-hub serve` on loopback. Stopping it is a SIGKILL, as a power cut or a pulled cable
/// looks to the terminals; it starts again on the same port, where they were enrolled.
pub struct HubProcess {
    db: PathBuf,
    pub addr: String,
    process: Option<Killed>,
    /// More `serve` arguments (`--config FILE` with a `[gismt]` section).
    extra: Vec<String>,
}

impl HubProcess {
    pub fn start(db: &Path) -> HubProcess {
        HubProcess::start_with(db, &[])
    }

    pub fn start_with(db: &Path, extra: &[&str]) -> HubProcess {
        let mut hub = HubProcess {
            db: db.to_path_buf(),
            addr: "127.0.0.1:0".into(),
            process: None,
            extra: extra.iter().map(|a| (*a).to_owned()).collect(),
        };
        hub.start_again();
        hub
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stop(&mut self) {
        self.process = None;
    }

    /// Serves on the same address again (the first start picks a free port).
    pub fn start_again(&mut self) {
        // The port was just released by a killed process; nothing else on this machine is
        // asked to take it, but a bind can still lose a race, so it gets a few tries.
        for _ in 0..20 {
            let mut child = tally_hub()
                .args(["serve", "--listen", &self.addr, "--db"])
                .arg(&self.db)
                .args(&self.extra)
                .stdin(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stderr = BufReader::new(child.stderr.take().unwrap());
            let mut line = String::new();
            stderr.read_line(&mut line).unwrap();
            // The hub reports errors on standard error; a closed pipe would make that fail.
            // They go to a log beside its database, for a failed test's look.
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.db.with_extension("log"))
                .unwrap();
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut log));
            if let Some(url) = line.trim().rsplit(' ').next()
                && let Some(addr) = url.strip_prefix("http://")
            {
                self.addr = addr.to_owned();
                self.process = Some(Killed(child));
                return;
            }
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("tally-hub did not serve on {}", self.addr);
    }
}

/// A `tally` child whose JSON lines are read as it prints them.
pub struct Terminal {
    process: Killed,
    stdout: BufReader<ChildStdout>,
    done: Arc<AtomicBool>,
}

/// How long a terminal child may live: a safety net so a hung child fails the test instead of
/// hanging CI, far above the second or two each one needs.
const WATCHDOG: Duration = Duration::from_secs(120);

impl Terminal {
    pub fn spawn(command: &mut Command) -> Terminal {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let done = Arc::new(AtomicBool::new(false));
        let pid = child.id().to_string();
        let watched = Arc::clone(&done);
        std::thread::spawn(move || {
            std::thread::sleep(WATCHDOG);
            if !watched.load(Ordering::SeqCst) {
                let _ = Command::new("kill").args(["-9", &pid]).status();
            }
        });
        Terminal {
            process: Killed(child),
            stdout,
            done,
        }
    }

    /// The next JSON line; panics when the process ended instead.
    pub fn next(&mut self) -> Value {
        let mut line = String::new();
        let read = self.stdout.read_line(&mut line).unwrap();
        assert!(read > 0, "the terminal ended early");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Lines until one whose `event` is `event`, which is returned with those before it.
    pub fn until(&mut self, event: &str) -> Vec<Value> {
        let mut lines = Vec::new();
        loop {
            let line = self.next();
            let done = line["event"] == event;
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// SIGKILL, mid-operation: nothing is flushed or closed.
    pub fn kill(mut self) {
        self.process.0.kill().unwrap();
        let status = self.process.0.wait().unwrap();
        self.done.store(true, Ordering::SeqCst);
        assert!(!status.success());
    }

    /// Waits for a clean exit and returns what the terminal still printed.
    pub fn finish(mut self) -> Vec<Value> {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).unwrap();
        let status = self.process.0.wait().unwrap();
        self.done.store(true, Ordering::SeqCst);
        assert!(status.success(), "{status}");
        rest.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // The child is killed and reaped with `process` right after this, so the watchdog
        // must not touch its pid, which may be reused by then.
        self.done.store(true, Ordering::SeqCst);
    }
}

/// A serial scanner on a pseudo-terminal: the terminal opens the slave by its path as it would
/// `/dev/ttyACM0`; the test writes scans to the master as the scanner's firmware would.
pub struct SerialScanner {
    master: serialport::TTYPort,
    pub path: String,
}

impl SerialScanner {
    pub fn new() -> SerialScanner {
        let (master, slave) = serialport::TTYPort::pair().unwrap();
        let path = serialport::SerialPort::name(&slave).unwrap();
        // The master keeps the pseudo-terminal; the terminal process opens the slave itself.
        drop(slave);
        SerialScanner { master, path }
    }

    pub fn source(&self) -> String {
        format!("serial:{},115200", self.path)
    }

    /// One scan as a 2D imager sends it: AIM prefix, the bytes with real GS, CR LF.
    pub fn scan(&mut self, payload: &str) {
        let aim = if payload.starts_with("TALLY:") {
            ""
        } else {
            "]d2"
        };
        self.master
            .write_all(format!("{aim}{payload}\r\n").as_bytes())
            .unwrap();
        self.master.flush().unwrap();
    }
}

/// Writes a key trace of a keyboard-wedge scanner typing each payload and Enter, with pauses
/// between scans, and returns its `trace:` source.
pub fn wedge_trace(path: &Path, payloads: &[&str]) -> String {
    let mut words = Vec::new();
    for payload in payloads {
        words.push(tally_drivers::wedge::type_text(payload.as_bytes(), 4));
        words.push("d:enter u:enter t:300".to_owned());
    }
    std::fs::write(path, words.join(" ")).unwrap();
    format!("trace:{}", path.display())
}

/// The GTIN of the flows' goods (shoes), our INN and a customer's.
pub const GTIN: &str = "04600840749372";
pub const OURS: &str = "7707083893";
pub const CUSTOMER: &str = "7736207543";

/// The КИ of one of the flows' units, by its serial.
pub fn ki(serial: &str) -> String {
    format!("01{GTIN}21{serial}")
}

/// That unit's code as a scanner reads it off the goods: КИ, GS, a crypto tail.
pub fn scan(serial: &str) -> String {
    format!("{}\u{1d}93Ab1+", ki(serial))
}

/// Each scan's outcome and first reason, each command and whether it was done.
pub fn story(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| match l["event"].as_str()? {
            "scan" => {
                let reason = l["reason"]["code"]
                    .as_str()
                    .or(l["findings"][0]["code"].as_str())
                    .unwrap_or("");
                Some(
                    format!("{} {reason}", l["outcome"].as_str()?)
                        .trim()
                        .to_owned(),
                )
            }
            "command" => Some(format!("{} {}", l["command"].as_str()?, l["done"])),
            "finished" => Some("finished".to_owned()),
            _ => None,
        })
        .collect()
}

/// A hub with these feeds imported (`tally-hub import`, in this order) and serving, and a
/// terminal `tsd-1` of warehouse W1 enrolled with it and synced once: the hub and the
/// terminal's replica.
pub fn hub_and_terminal(
    dir: &Scratch,
    hub_db: &Path,
    feeds: Vec<(&str, Vec<Value>)>,
) -> (HubProcess, PathBuf) {
    for (what, lines) in feeds {
        let file = dir.path(&format!("{what}.jsonl"));
        write_lines(&file, &lines);
        run_ok(
            tally_hub()
                .args(["import", what])
                .arg(&file)
                .arg("--db")
                .arg(hub_db),
        );
    }
    let hub = HubProcess::start(hub_db);
    let tsd = dir.path("tsd.db");
    enroll(&hub.url(), hub_db, &tsd, "W1", OURS, "tsd-1");
    sync(&tsd);
    (hub, tsd)
}
