//! Several hub processes over one PostgreSQL database serve one fleet: terminals push and pull
//! through all of them at once, behind a fault-injecting proxy that spreads connections over
//! the instances, while the instances are SIGKILLed and started again. Every operation lands
//! exactly once, each contested code is written off once, and every terminal's replica ends
//! equal to the hub's list. Compiled when `TALLY_TEST_PG` names a server (`hub/build.rs`).

#![cfg(tally_test_pg)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

#[path = "../../sync/tests/common/mod.rs"]
mod sync_common;

use std::collections::{BTreeMap, HashSet};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sync_common::{FaultProxy, Terminal, cis, now, scratch_dir, serial, status_line};
use tally_domain::code::Ki;
use tally_domain::status::{Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::store::{ScratchDatabase, Store};
use tally_sync::engine::{ClientConfig, enroll};
use tally_wire::Feed;

const INSTANCES: usize = 3;
const TERMINALS: usize = 5;
const ROUNDS: usize = 30;
/// Codes every terminal tries to write off too: exactly one write-off of each may win.
const CONTESTED: usize = OWN / 3;
/// Codes of one terminal's own.
const OWN: usize = 30;

/// One `tally-hub serve` process on a fixed port, started again after each kill.
struct Instance {
    addr: SocketAddr,
    database: String,
    child: Option<Child>,
}

impl Instance {
    fn start(addr: SocketAddr, database: &str) -> Instance {
        let mut instance = Instance {
            addr,
            database: database.to_owned(),
            child: None,
        };
        instance.spawn();
        instance
    }

    fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_tally-hub"))
            .args(["serve", "--database", &self.database, "--listen"])
            .arg(self.addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        // Up when it accepts connections; a hub that cannot start fails the test here.
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(self.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "hub on {} never came up",
                self.addr
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no shutdown, no flush, whatever it was doing.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The code a terminal writes off in a round: its own, or now and then a contested one.
fn code_of(terminal: usize, n: usize) -> usize {
    if n.is_multiple_of(3) && n / 3 < CONTESTED {
        n / 3
    } else {
        CONTESTED + terminal * OWN + n
    }
}

#[test]
fn three_hub_processes_on_one_database_serve_a_fleet_through_kills_and_faults() {
    let server = std::env::var("TALLY_TEST_PG").unwrap();
    let scratch = ScratchDatabase::create(&server).unwrap();
    let codes = CONTESTED + TERMINALS * OWN;
    {
        let store = Store::connect(&scratch.url).unwrap();
        let lines: String = (0..codes)
            .map(|n| format!("{}\n", status_line(&serial(n))))
            .collect();
        assert!(
            import(&store, Feed::Statuses, lines.as_bytes())
                .unwrap()
                .rejected
                .is_empty()
        );
    }
    let instances: Vec<Arc<Mutex<Instance>>> = (0..INSTANCES)
        .map(|_| Arc::new(Mutex::new(Instance::start(free_port(), &scratch.url))))
        .collect();
    let addrs: Vec<SocketAddr> = instances.iter().map(|i| i.lock().unwrap().addr).collect();

    // Enrolled straight with the instances in turn: a code spent at one is spent at all.
    let store = Store::connect(&scratch.url).unwrap();
    let inn = Inn::parse(sync_common::OURS).unwrap();
    let mut terminals: Vec<Terminal> = (0..TERMINALS)
        .map(|t| {
            let code = store
                .create_enrollment_code("W1", &inn, Timestamp(0))
                .unwrap();
            let base = format!("http://{}", addrs[t % INSTANCES]);
            let link = enroll(ClientConfig::new(&base, None), &code, "tsd", "0.1.0").unwrap();
            let other = format!("http://{}", addrs[(t + 1) % INSTANCES]);
            assert!(
                enroll(ClientConfig::new(&other, None), &code, "tsd", "0.1.0").is_err(),
                "a spent code enrolls nowhere"
            );
            let dir = scratch_dir(&format!("fleet-{t}"));
            let replica = tally_sync::store::Store::open(dir.join("tally.db")).unwrap();
            Terminal {
                dir,
                store: replica,
                link,
            }
        })
        .collect();

    let proxy = FaultProxy::spread(addrs.clone(), 0xF1EE_7000);
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicU64::new(0));
    let chaos = {
        let (instances, stop, kills) = (instances.clone(), Arc::clone(&stop), Arc::clone(&kills));
        thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(150 + splitmix(n) % 300));
                let mut instance = instances[(splitmix(n ^ 0xA5) % INSTANCES as u64) as usize]
                    .lock()
                    .unwrap();
                instance.kill();
                kills.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(splitmix(n ^ 0x5A) % 100));
                instance.spawn();
                n += 1;
            }
        })
    };

    let queued: Vec<Vec<String>> = thread::scope(|scope| {
        let handles: Vec<_> = terminals
            .iter_mut()
            .enumerate()
            .map(|(t, terminal)| {
                let base = proxy.base.clone();
                scope.spawn(move || {
                    let engine = terminal.engine(&base, 3, 25);
                    let mut uuids = Vec::new();
                    let mut n = 0;
                    for round in 0..ROUNDS {
                        for _ in 0..(1 + (round + t) % 2) {
                            if n < OWN {
                                uuids.push(terminal.write_off(&serial(code_of(t, n))).uuid);
                                n += 1;
                            }
                        }
                        // A failed round (a fault, a killed instance) leaves the queue for the
                        // next one.
                        let _ = engine.round(&mut terminal.store, &now, &mut |_| {});
                    }
                    uuids
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    stop.store(true, Ordering::SeqCst);
    chaos.join().unwrap();
    assert!(
        kills.load(Ordering::SeqCst) >= 3,
        "instances were killed during the run"
    );
    assert!(proxy.connections() > 0);

    // The network heals and every instance is up: the terminals catch up.
    proxy.clean.store(true, Ordering::SeqCst);
    // A refused write-off (a contested code another terminal won) stays on its terminal for
    // the operator; everything else is answered.
    for terminal in &mut terminals {
        let engine = terminal.engine(&proxy.base, 5, 1000);
        for _ in 0..5 {
            if terminal.store.pushable_queue().unwrap().is_empty() {
                break;
            }
            let _ = engine.round(&mut terminal.store, &now, &mut |_| {});
        }
        assert!(
            terminal.store.pushable_queue().unwrap().is_empty(),
            "every operation is answered once the network heals"
        );
    }
    // One more round after every terminal's last push: each pull sees every change.
    for terminal in &mut terminals {
        let engine = terminal.engine(&proxy.base, 5, 1000);
        engine
            .round(&mut terminal.store, &now, &mut |_| {})
            .unwrap();
    }

    // Exactly once: every queued UUID is on the hub, once (the column is unique), nothing else.
    let mut client = postgres::Client::connect(&scratch.url, postgres::NoTls).unwrap();
    let stored: Vec<(String, String, String)> = client
        .query("SELECT uuid, result, payload FROM operations", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let all: HashSet<&String> = queued.iter().flatten().collect();
    assert_eq!(all.len(), queued.iter().map(Vec::len).sum::<usize>());
    assert_eq!(stored.len(), all.len(), "no operation twice, none lost");
    assert!(stored.iter().all(|(uuid, _, _)| all.contains(uuid)));

    // Each code written off by one accepted operation at most; each contested code by one.
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    for (_, result, payload) in &stored {
        if result == "accepted" {
            let payload: serde_json::Value = serde_json::from_str(payload).unwrap();
            for code in payload["codes"].as_array().unwrap() {
                *accepted
                    .entry(code.as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
    }
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    let refused: usize = terminals
        .iter()
        .map(|t| t.store.rejected_operations().unwrap().len())
        .sum();
    assert_eq!(
        refused,
        stored.iter().filter(|(_, r, _)| r == "rejected").count(),
        "each terminal was told of each of its refusals"
    );
    assert!(refused > 0, "terminals contested codes");
    for contested in 0..CONTESTED {
        assert_eq!(accepted.get(&cis(&serial(contested))), Some(&1));
    }

    // Every replica equals the hub's list, code by code.
    for (t, terminal) in terminals.iter().enumerate() {
        for n in 0..codes {
            let ki = Ki::from_cis(&cis(&serial(n))).unwrap();
            assert_eq!(
                terminal.store.status(&ki).unwrap(),
                store.status(&ki).unwrap(),
                "terminal {t}, code {n}"
            );
        }
    }
    drop(instances);
}
