use crate::common::Database;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use flate2::{Compress, Compression, Crc, FlushCompress};
use serde_json::{Value, json};
use tally_domain::status::{Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::server::{Hub, Limits};
use tally_hub::store::Store;
use tally_wire::Feed;

const OURS: &str = "7707083893";
const GTIN: &str = "04600840749372";

/// Short enough for a test to see every limit bite, long enough that a client which sends its
/// request at once never meets one.
const LIMITS: Limits = Limits {
    header_read: Duration::from_secs(2),
    body_read: Duration::from_secs(3),
    idle: Duration::from_secs(10),
    tls_handshake: Duration::from_secs(2),
    max_connections: 1024,
    max_per_address: 1024,
    shutdown_grace: Duration::from_secs(10),
};

/// How many rounds of 100 ms a test waits for the hub to cut a socket off before it fails:
/// a bound on a hung test, not a measure of the hub.
const PATIENCE: usize = 600;

fn cis(n: usize) -> String {
    format!("01{GTIN}21S{n:012}")
}

struct TestHub {
    addr: SocketAddr,
    db: Database,
}

/// A bound hub on a fresh database holding `statuses` codes of ours, not yet serving.
fn bind(statuses: usize, limits: Limits) -> (Hub, TestHub) {
    let db = Database::new(BACKEND);
    let store = db.store();
    let lines: String = (0..statuses)
        .map(|n| {
            let line = json!({"cis": cis(n), "gtin": GTIN, "status": "INTRODUCED",
                              "ownerInn": OURS, "productGroupId": 2, "packageType": "UNIT"});
            format!("{line}\n")
        })
        .collect();
    assert!(
        import(&store, Feed::Statuses, lines.as_bytes())
            .unwrap()
            .rejected
            .is_empty()
    );
    let hub = Hub::bind(store, "127.0.0.1:0").unwrap().with_limits(limits);
    let addr = hub.local_addr().unwrap();
    (hub, TestHub { addr, db })
}

fn start(statuses: usize, limits: Limits) -> TestHub {
    let (hub, test) = bind(statuses, limits);
    thread::spawn(move || hub.run());
    test
}

impl TestHub {
    fn store(&self) -> Store {
        self.db.store()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn enrollment_code(&self) -> String {
        self.store()
            .create_enrollment_code("W1", &Inn::parse(OURS).unwrap(), Timestamp(0))
            .unwrap()
    }
}

/// A terminal's client: ureq, as the terminals use, with a bound on the whole request so a
/// starved hub fails the test instead of hanging it.
fn terminal() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn enroll(agent: &ureq::Agent, hub: &TestHub) -> String {
    let body = json!({"code": hub.enrollment_code(), "device_name": "tsd", "app_version": "0.1.0"});
    let mut answer = agent
        .post(hub.url("/v1/enroll"))
        .header("Content-Type", "application/json")
        .send(serde_json::to_vec(&body).unwrap().as_slice())
        .unwrap();
    assert_eq!(answer.status(), 200);
    let enrolled: Value =
        serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
    enrolled["token"].as_str().unwrap().to_owned()
}

fn push_body(serials: &[usize]) -> Value {
    let operations: Vec<Value> = serials
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({"uuid": uuid::Uuid::new_v4().to_string(), "seq": i + 1, "kind": "write-off",
                   "operator": "Иванова", "started_at": 1, "finished_at": 2,
                   "payload": {"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
                               "gis_mt_reason": "DAMAGE_LOSS", "document_number": "A-1",
                               "document_date": "2026-11-22", "supervisor": "Петров",
                               "codes": [cis(*n)]}})
        })
        .collect();
    json!({"device": {"app_version": "0.1.0", "queue_depth": operations.len(),
                      "cache_synced_at": null},
           "operations": operations})
}

/// The threads of this process, the hub's among them.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// A socket the test holds open against the hub, and what became of it.
struct Held {
    stream: TcpStream,
    /// Bytes the hub sent on it.
    received: Vec<u8>,
    cut: bool,
}

impl Held {
    fn open(addr: SocketAddr, first: &[u8]) -> Held {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(first).unwrap();
        stream.set_nonblocking(true).unwrap();
        Held {
            stream,
            received: Vec::new(),
            cut: false,
        }
    }

    /// Reads what the hub sent; notes when it closed or reset the connection.
    fn look(&mut self) {
        let mut buf = [0u8; 4096];
        while !self.cut {
            match self.stream.read(&mut buf) {
                Ok(0) => self.cut = true,
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.cut = true,
            }
        }
    }

    /// One more byte of body, unless the hub has answered or hung up.
    fn drip(&mut self) {
        self.look();
        if !self.cut && self.received.is_empty() && self.stream.write_all(b" ").is_err() {
            self.cut = true;
        }
    }
}

/// Looks at the sockets every 100 ms, dripping into `drippers`, until the hub has cut every
/// one off.
fn until_cut_off(drippers: &mut [Held], others: &mut [Held]) {
    for _ in 0..PATIENCE {
        drippers.iter_mut().for_each(Held::drip);
        others.iter_mut().for_each(Held::look);
        if drippers.iter().chain(others.iter()).all(|held| held.cut) {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let open = drippers
        .iter()
        .chain(others.iter())
        .filter(|h| !h.cut)
        .count();
    panic!("{open} sockets were never cut off");
}

#[test]
fn dripping_stalled_and_idle_sockets_do_not_starve_a_terminal() {
    let hub = start(3, LIMITS);
    // Enrollment headers announcing 100,000 bytes of body, then a byte at a time.
    let mut drippers: Vec<Held> = (0..40)
        .map(|_| {
            Held::open(
                hub.addr,
                b"POST /v1/enroll HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n\
                  Content-Length: 100000\r\n\r\n{",
            )
        })
        .collect();
    // Half a request line, and nothing more.
    let mut others: Vec<Held> = (0..40)
        .map(|_| Held::open(hub.addr, b"POST /v1/enr"))
        .collect();
    // Connections that say nothing at all.
    others.extend((0..300).map(|_| Held::open(hub.addr, b"")));
    drippers.iter_mut().for_each(Held::drip);

    // Meanwhile a terminal enrolls, pushes and pulls, each request answered.
    let agent = terminal();
    let token = enroll(&agent, &hub);
    let auth = format!("Bearer {token}");
    let mut pushed = agent
        .post(hub.url("/v1/push"))
        .header("Authorization", &auth)
        .header("Content-Type", "application/json")
        .send(serde_json::to_vec(&push_body(&[0])).unwrap().as_slice())
        .unwrap();
    assert_eq!(pushed.status(), 200);
    let answers: Value =
        serde_json::from_str(&pushed.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(answers["answers"][0]["result"], "accepted", "{answers}");
    let mut pulled = agent
        .get(hub.url("/v1/pull/statuses?after=0&limit=10"))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(pulled.status(), 200);
    let page: Value = serde_json::from_str(&pulled.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    // 380 connections held open, and no thread for any of them.
    assert!(threads() < 64, "{} threads for 380 connections", threads());

    // The drippers get 408 when their body is overdue, the rest are closed when their
    // headers are.
    until_cut_off(&mut drippers, &mut others);
    for dripper in &drippers {
        let text = String::from_utf8_lossy(&dripper.received);
        assert!(
            text.starts_with("HTTP/1.1 408") && text.contains("\"code\":\"body_timeout\""),
            "{text}"
        );
    }
    assert!(
        others.iter().all(|held| held.received.is_empty()),
        "no answer to a request that never came"
    );
    assert_eq!(
        hub.store().fleet().unwrap().len(),
        1,
        "no dripped enrollment reached the store"
    );
    // And the hub still serves.
    let again = agent
        .get(hub.url("/v1/pull/statuses?after=0&limit=10"))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(again.status(), 200);
}

#[test]
fn past_the_connection_cap_a_terminal_waits_its_turn_rather_than_being_refused() {
    let hub = start(
        1,
        Limits {
            max_connections: 4,
            ..LIMITS
        },
    );
    // Every connection the hub serves is taken by a client stalled in its request line.
    let mut stalled: Vec<Held> = (0..4)
        .map(|_| Held::open(hub.addr, b"GET /v1/pu"))
        .collect();
    // The terminal's connection waits in the backlog until the header timeout frees a slot.
    let agent = terminal();
    let token = enroll(&agent, &hub);
    assert!(!token.is_empty());
    until_cut_off(&mut [], &mut stalled);
}

#[test]
fn one_address_past_its_share_is_told_so_while_the_others_are_served() {
    let hub = start(
        1,
        Limits {
            max_per_address: 3,
            ..LIMITS
        },
    );
    // Three stalled sockets from 127.0.0.1 take that address's share.
    let mut stalled: Vec<Held> = (0..3)
        .map(|_| Held::open(hub.addr, b"GET /v1/pu"))
        .collect();
    let agent = terminal();
    let mut crowded = agent.get(hub.url("/healthz")).call().unwrap();
    assert_eq!(crowded.status(), 503);
    let error: Value = serde_json::from_str(&crowded.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(error["code"], "too_many_connections", "{error}");
    assert!(error["ru"].as_str().is_some_and(|ru| !ru.is_empty()));
    // Once the header timeout frees the address's places, the same client is served.
    until_cut_off(&mut [], &mut stalled);
    let token = enroll(&agent, &hub);
    assert!(!token.is_empty());
}

/// A gzip member of `size` zero bytes (a multiple of 1 MiB) in about a thousandth of that: one
/// deflate block of a MiB of zeros, repeated. Each copy refers only to the zeros before it.
fn gzip_bomb(size: usize) -> Vec<u8> {
    const MIB: usize = 1 << 20;
    let zeros = vec![0u8; MIB];
    let mut deflate = Compress::new(Compression::best(), false);
    let mut block = |input: &[u8], flush: FlushCompress| {
        let mut out = Vec::with_capacity(16 << 10);
        let start = deflate.total_in();
        loop {
            let done = usize::try_from(deflate.total_in() - start).unwrap();
            deflate
                .compress_vec(&input[done..], &mut out, flush)
                .unwrap();
            let done = usize::try_from(deflate.total_in() - start).unwrap();
            if done == input.len() && out.len() < out.capacity() {
                return out;
            }
            out.reserve(16 << 10);
        }
    };
    let first = block(&zeros, FlushCompress::Sync);
    let repeated = block(&zeros, FlushCompress::Sync);
    let last = block(&[], FlushCompress::Finish);
    let mut crc = Crc::new();
    crc.update(&zeros);
    let mut total = Crc::new();
    for _ in 0..size / MIB {
        total.combine(&crc);
    }
    let mut bomb = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    bomb.extend_from_slice(&first);
    for _ in 1..size / MIB {
        bomb.extend_from_slice(&repeated);
    }
    bomb.extend_from_slice(&last);
    bomb.extend_from_slice(&total.sum().to_le_bytes());
    bomb.extend_from_slice(&(size as u32).to_le_bytes());
    bomb
}

#[test]
fn a_gzip_bomb_is_refused_as_too_large_and_writes_nothing() {
    let hub = start(1, LIMITS);
    let agent = terminal();
    let token = enroll(&agent, &hub);
    let bomb = gzip_bomb(1 << 30);
    assert!(bomb.len() < 2 << 20, "{} bytes on the wire", bomb.len());
    // It is a real gzip stream of zeros, as far as anyone reads it.
    let mut head = vec![0u8; 20 << 20];
    flate2::read::GzDecoder::new(bomb.as_slice())
        .read_exact(&mut head)
        .unwrap();
    assert!(head.iter().all(|b| *b == 0));

    let mut answer = agent
        .post(hub.url("/v1/push"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .send(bomb.as_slice())
        .unwrap();
    assert_eq!(answer.status(), 413);
    let error: Value = serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(error["code"], "body_too_large", "{error}");
    assert!(!error["ru"].as_str().unwrap().is_empty());
    let store = hub.store();
    assert_eq!(store.operation_count().unwrap(), 0, "nothing written");
    assert_eq!(store.fleet().unwrap()[0].queue_depth, 0, "nothing reported");

    // A push that fits goes through on the same hub.
    let mut fits = agent
        .post(hub.url("/v1/push"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(serde_json::to_vec(&push_body(&[0])).unwrap().as_slice())
        .unwrap();
    assert_eq!(
        fits.status(),
        200,
        "{}",
        fits.body_mut().read_to_string().unwrap()
    );
}

#[test]
fn the_probes_answer_without_a_token_and_readiness_follows_the_database() {
    let hub = start(0, LIMITS);
    let agent = terminal();
    for path in ["/healthz", "/readyz"] {
        let mut answer = agent.get(hub.url(path)).call().unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(
            answer.headers().get("Tally-Protocol").unwrap(),
            &tally_wire::PROTOCOL_VERSION.to_string()
        );
        let body: Value =
            serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(body, json!({"status": "ok"}), "{path}");
    }

    // A database the store cannot read: not ready, though still up.
    hub.db.execute("ALTER TABLE meta RENAME TO meta_gone");
    let mut ready = agent.get(hub.url("/readyz")).call().unwrap();
    assert_eq!(ready.status(), 503);
    let error: Value = serde_json::from_str(&ready.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(error["code"], "not_ready", "{error}");
    assert_eq!(agent.get(hub.url("/healthz")).call().unwrap().status(), 200);
}

#[test]
fn a_stopping_hub_finishes_the_request_in_flight_and_takes_no_new_ones() {
    let (hub, test) = bind(0, LIMITS);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = thread::spawn(move || {
        hub.run_until(async {
            let _ = stopped.await;
        })
    });
    let body =
        json!({"code": test.enrollment_code(), "device_name": "tsd", "app_version": "0.1.0"})
            .to_string();
    let mut stream = TcpStream::connect(test.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // The hub says "100 Continue" once the enrollment reads its body: the request is in flight.
    write!(
        stream,
        "POST /v1/enroll HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed before 100 Continue");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(
        seen.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&seen)
    );

    stop.send(()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"token\""), "{answer}");

    server.join().unwrap();
    assert!(
        TcpStream::connect(test.addr).is_err(),
        "a stopped hub takes no connection"
    );
    assert_eq!(test.store().fleet().unwrap().len(), 1);
}
