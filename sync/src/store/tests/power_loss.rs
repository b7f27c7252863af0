//! The power-loss proof. A child process (this test binary, run again for
//! [`child_workload`]) opens the replica and records scans in a loop, finishing operations,
//! undoing scans and taking SSCC serials along the way; it reports each one on stdout only
//! after the call returned. The parent kills it with SIGKILL at a random instant, hundreds of
//! times, and after each kill reopens the replica and checks that every scan reported as
//! committed is there exactly once (in the journal of the open operation or in the payload of
//! a queued one), that the file is sound, and that no device sequence number or SSCC serial
//! was handed out twice.
//!
//! SIGKILL stops the process between any two instructions, so this proves that each call is
//! atomic and that a call that returned had committed. It cannot cut power to the flash: that
//! a commit reached it rests on `synchronous=FULL` (the WAL is fsynced at every commit).
//!
//! `TALLY_POWER_LOSS_KILLS` (default 300) and `TALLY_POWER_LOSS_SEED` repeat or widen a run.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tally_domain::status::Timestamp;

use super::Scratch;
use crate::store::{NewOperation, NewScan, OperationId, ScanId, Store};

const CHILD_DB: &str = "TALLY_POWER_LOSS_DB";
const CHILD_TEST: &str = "store::tests::power_loss::child_workload";

/// Xorshift64*: the test needs repeatable chance, not quality.
struct Chance(u64);

impl Chance {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn report(out: &mut impl Write, line: std::fmt::Arguments<'_>) {
    // One write per line: a line is in the pipe whole or not at all.
    let text = format!("@{line}\n");
    out.write_all(text.as_bytes()).unwrap();
    out.flush().unwrap();
}

fn begin(store: &mut Store) -> OperationId {
    store
        .begin_operation(&NewOperation {
            kind: "acceptance",
            operator: "power-loss",
            header: "{}",
            started_at: Timestamp(0),
        })
        .unwrap()
}

/// Runs only when the parent test starts this binary with the replica's path.
#[test]
fn child_workload() {
    let Some(db) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let mut store = Store::open(Path::new(&db)).unwrap();
    let mut out = std::io::stdout().lock();
    let mut chance = Chance(u64::from(std::process::id()) | 1);
    // Resume the operation a previous child left open, as the terminal does after a restart.
    let (mut operation, mut entries): (OperationId, Vec<(ScanId, u32)>) =
        match store.open_operations().unwrap().pop() {
            Some(open) => (
                open.id,
                open.entries.iter().map(|e| (e.id, e.seq)).collect(),
            ),
            None => (begin(&mut store), Vec::new()),
        };
    // Stops by itself should the parent be gone.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match chance.below(25) {
            0 => {
                let ids: Vec<i64> = entries.iter().map(|(id, _)| id.0).collect();
                let payload = serde_json::to_string(&ids).unwrap();
                let queued = store
                    .finish_operation(operation, Timestamp(1), &payload, &Default::default())
                    .unwrap();
                report(
                    &mut out,
                    format_args!("queued {} {}", queued.seq.0, queued.uuid),
                );
                operation = begin(&mut store);
                entries.clear();
            }
            1 | 2 if !entries.is_empty() => {
                let (expected, _) = entries[entries.len() - 1];
                report(&mut out, format_args!("undoing {}", expected.0));
                let undone = store.undo_last_scan(operation).unwrap().unwrap();
                assert_eq!(undone.id, expected);
                entries.pop();
                report(&mut out, format_args!("undone {}", undone.id.0));
            }
            3 => {
                let serial = store.next_sscc_serial().unwrap();
                report(&mut out, format_args!("sscc {serial}"));
            }
            _ => {
                let seq = entries.last().map_or(0, |(_, seq)| seq + 1);
                let code = format!("0104600840749372215P{:011}", chance.below(1 << 36));
                let id = store
                    .record_scan(
                        operation,
                        &NewScan {
                            seq,
                            at: Timestamp(2),
                            action: "scan",
                            code: &code,
                            ki: None,
                            verdict: "accepted",
                            detail: "{}",
                        },
                    )
                    .unwrap();
                entries.push((id, seq));
                report(&mut out, format_args!("scan {}", id.0));
            }
        }
    }
}

/// Everything the children reported, over all runs.
#[derive(Default)]
struct Reported {
    scans: HashSet<i64>,
    undoing: HashSet<i64>,
    undone: HashSet<i64>,
    queued: BTreeMap<i64, String>,
    last_sscc: u64,
    sscc_count: u64,
}

impl Reported {
    fn read(&mut self, output: &[u8]) {
        for line in output.split_inclusive(|&b| b == b'\n') {
            // A line cut by the kill has no newline: it was never reported. The harness may
            // have printed the test's name in front of the first report.
            let Some(line) = line
                .strip_suffix(b"\n")
                .and_then(|l| l.iter().position(|&b| b == b'@').map(|at| &l[at + 1..]))
            else {
                continue;
            };
            let line = std::str::from_utf8(line).unwrap();
            let mut words = line.split(' ');
            let (what, number) = (words.next().unwrap(), words.next().unwrap());
            let number: i64 = number.parse().unwrap();
            match what {
                "scan" => assert!(self.scans.insert(number), "scan {number} reported twice"),
                "undoing" => {
                    self.undoing.insert(number);
                }
                "undone" => {
                    self.undone.insert(number);
                }
                "queued" => {
                    let uuid = words.next().unwrap().to_owned();
                    assert!(
                        self.queued.insert(number, uuid).is_none(),
                        "seq {number} twice"
                    );
                }
                "sscc" => {
                    let serial = number.unsigned_abs();
                    assert!(
                        serial > self.last_sscc,
                        "SSCC serial {serial} handed out again"
                    );
                    self.last_sscc = serial;
                    self.sscc_count += 1;
                }
                other => panic!("unknown report {other}"),
            }
        }
    }
}

/// What the replica holds after a kill, checked against what was reported.
#[derive(Default)]
struct Checked {
    /// Scans found that no child reported: committed, then killed before the report.
    unreported: HashSet<i64>,
    /// Every queue row ever seen, by device sequence number.
    queue: BTreeMap<i64, String>,
}

fn check(db: &Path, reported: &Reported, checked: &mut Checked, kill: usize, seed: u64) {
    let context = format!("after kill {kill} (TALLY_POWER_LOSS_SEED={seed})");
    let store = Store::open(db).unwrap();
    assert_eq!(
        store.check_integrity().unwrap(),
        Vec::<String>::new(),
        "{context}"
    );

    let open = store.open_operations().unwrap();
    assert!(open.len() <= 1, "{} open operations {context}", open.len());
    let mut present: Vec<i64> = open
        .iter()
        .flat_map(|op| op.entries.iter().map(|e| e.id.0))
        .collect();
    let pending = store.pending_queue().unwrap();
    for row in &pending {
        let ids: Vec<i64> = serde_json::from_str(&row.payload).unwrap();
        present.extend(ids);
    }
    let found: HashSet<i64> = present.iter().copied().collect();
    assert_eq!(
        found.len(),
        present.len(),
        "a scan is stored twice {context}"
    );

    for id in &reported.scans {
        if reported.undone.contains(id) {
            assert!(!found.contains(id), "undone scan {id} is back {context}");
        } else if !reported.undoing.contains(id) {
            assert!(found.contains(id), "committed scan {id} is lost {context}");
        }
    }
    let new_unreported: Vec<i64> = found
        .iter()
        .filter(|id| !reported.scans.contains(id) && !checked.unreported.contains(id))
        .copied()
        .collect();
    // One kill can cut off at most the report of the one call it interrupted.
    assert!(
        new_unreported.len() <= 1,
        "{new_unreported:?} appeared {context}"
    );
    checked.unreported.extend(new_unreported);

    // Queue rows are never lost or renumbered, numbers only grow, and each reported row is
    // there with the UUID it was reported with.
    let seqs: Vec<i64> = pending.iter().map(|row| row.seq.0).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?} {context}");
    let newest_before = checked.queue.keys().next_back().copied().unwrap_or(0);
    for row in &pending {
        match checked.queue.get(&row.seq.0) {
            Some(uuid) => assert_eq!(uuid, &row.uuid, "seq {} reused {context}", row.seq),
            None => {
                assert!(
                    row.seq.0 > newest_before,
                    "seq {} out of order {context}",
                    row.seq
                );
                checked.queue.insert(row.seq.0, row.uuid.clone());
            }
        }
    }
    assert_eq!(
        checked.queue.len(),
        pending.len(),
        "a queue row is lost {context}"
    );
    for (seq, uuid) in &reported.queued {
        assert_eq!(checked.queue.get(seq), Some(uuid), "queued {seq} {context}");
    }
    let next_sscc: i64 = store
        .conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'next_sscc_serial'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(next_sscc.unsigned_abs() > reported.last_sscc, "{context}");
}

#[test]
fn scans_reported_as_committed_survive_hundreds_of_kills() {
    let kills: usize = std::env::var("TALLY_POWER_LOSS_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("TALLY_POWER_LOSS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut chance = Chance(seed);
    let scratch = Scratch::new("power-loss");
    let db = scratch.db();
    let exe = std::env::current_exe().unwrap();
    let mut reported = Reported::default();
    let mut checked = Checked::default();

    for kill in 0..kills {
        let mut child = Command::new(&exe)
            .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads", "1"])
            .env(CHILD_DB, &db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut output = Vec::new();
            stdout.read_to_end(&mut output).unwrap();
            output
        });
        // Half the kills land anywhere from start-up on, half once the child is at work.
        let delay = if kill % 2 == 0 {
            chance.below(60)
        } else {
            15 + chance.below(60)
        };
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        let output = reader.join().unwrap();
        reported.read(&output);
        check(&db, &reported, &mut checked, kill, seed);
    }

    // The children really worked (a child that fails at start-up prints its panic on
    // stderr): scans, undos, finished operations and serials were all exercised, so the
    // checks above had something to check.
    assert!(reported.scans.len() > 200, "{} scans", reported.scans.len());
    assert!(!reported.undone.is_empty(), "no undo");
    assert!(
        reported.queued.len() > 5,
        "{} queued",
        reported.queued.len()
    );
    assert!(reported.sscc_count > 5, "{} serials", reported.sscc_count);
    println!(
        "{kills} kills (seed {seed}): {} scans, {} undone, {} operations queued, {} serials, \
         {} scans committed but cut off before their report",
        reported.scans.len(),
        reported.undone.len(),
        reported.queued.len(),
        reported.sscc_count,
        checked.unreported.len()
    );
}
