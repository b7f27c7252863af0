//! Shared set-up of the sync tests: a real hub on 127.0.0.1, terminals with their own replica,
//! and a fault-injecting TCP proxy between them.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // test helpers

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};
use tally_domain::status::{Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::server::Hub;
use tally_sync::engine::{ClientConfig, HubClient, HubLink, SyncEngine, enroll};
use tally_sync::store::{NewOperation, QueuedOperation, Store};
use tally_wire::Feed;

pub const OURS: &str = "7707083893";
pub const GTIN: &str = "04600840749372";

pub fn cis(serial: &str) -> String {
    format!("01{GTIN}21{serial}")
}

/// The `n`th test serial: 13 characters, as the dairy group has them.
pub fn serial(n: usize) -> String {
    format!("S{n:012}")
}

pub fn status_line(serial: &str) -> Value {
    json!({"cis": cis(serial), "gtin": GTIN, "status": "INTRODUCED", "ownerInn": OURS, "productGroupId": 2,
           "packageType": "UNIT"})
}

pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tally-sync-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct TestHub {
    pub base: String,
    pub addr: SocketAddr,
    pub db: PathBuf,
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(dir) = self.db.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A hub holding `statuses` serials (introduced, ours), serving on a thread.
pub fn start_hub(statuses: usize) -> TestHub {
    let dir = scratch_dir("hub");
    let db = dir.join("hub.db");
    let store = tally_hub::store::Store::open(&db).unwrap();
    let lines: String = (0..statuses)
        .map(|n| format!("{}\n", status_line(&serial(n))))
        .collect();
    let report = import(&store, Feed::Statuses, lines.as_bytes()).unwrap();
    assert!(report.rejected.is_empty(), "{report:?}");
    let hub = Hub::bind(store, "127.0.0.1:0").unwrap();
    let addr = hub.local_addr().unwrap();
    thread::spawn(move || hub.run());
    TestHub {
        base: format!("http://{addr}"),
        addr,
        db,
    }
}

impl TestHub {
    pub fn enrollment_code(&self) -> String {
        tally_hub::store::Store::open(&self.db)
            .unwrap()
            .create_enrollment_code("W1", &Inn::parse(OURS).unwrap(), Timestamp(0))
            .unwrap()
    }

    /// Every operation UUID the hub holds, read from its file (read-only) with a count.
    pub fn operation_uuids(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open_with_flags(
            &self.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut uuids: Vec<String> = conn
            .prepare("SELECT uuid FROM operations ORDER BY uuid")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        uuids.sort();
        uuids
    }
}

pub fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp(i64::try_from(millis).unwrap())
}

/// A terminal: its replica and its enrollment.
pub struct Terminal {
    pub dir: PathBuf,
    pub store: Store,
    pub link: HubLink,
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Terminal {
    /// Enrolled directly with the hub (enrollment spends a one-time code; it is not retried
    /// through faults).
    pub fn enrolled(hub: &TestHub, name: &str) -> Terminal {
        let dir = scratch_dir(name);
        let store = Store::open(dir.join("tally.db")).unwrap();
        let link = enroll(
            ClientConfig::new(&hub.base, None),
            &hub.enrollment_code(),
            name,
            "0.1.0",
        )
        .unwrap();
        Terminal { dir, store, link }
    }

    /// An engine talking to `base` (the hub or a proxy in front of it), quick to give up.
    pub fn engine(&self, base: &str, attempts: u32, page_limit: u32) -> SyncEngine {
        let mut config = ClientConfig::new(base, Some(self.link.token.clone()));
        config.attempts = attempts;
        config.backoff_base = Duration::from_millis(1);
        config.backoff_max = Duration::from_millis(4);
        config.connect_timeout = Duration::from_secs(5);
        config.global_timeout = Duration::from_secs(10);
        let mut engine = SyncEngine::new(HubClient::new(config).unwrap(), "0.1.0");
        engine.page_limit = page_limit;
        engine
    }

    /// The operator writes off one code: an operation through the journal, finished into the
    /// queue.
    pub fn write_off(&mut self, serial: &str) -> QueuedOperation {
        let id = self
            .store
            .begin_operation(&NewOperation {
                kind: "write-off",
                operator: "Иванова",
                header: "{}",
                started_at: now(),
            })
            .unwrap();
        let payload = json!({"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
            "gis_mt_reason": "DAMAGE_LOSS", "document_number": "A-1",
            "document_date": "2026-11-22", "supervisor": "Петров", "codes": [cis(serial)]});
        self.store
            .finish_operation(id, now(), &payload.to_string(), &Default::default())
            .unwrap()
    }
}

/// What the proxy does to one connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    Pass,
    /// Closes the connection before reading anything.
    DropBeforeForward,
    /// Forwards half of the request to the hub, then closes both sides.
    DropMidRequest,
    /// The hub gets the whole request and answers; the client gets nothing.
    DropAfterRequest,
    /// The client gets the first half of the hub's answer.
    Truncate,
    /// Waits a little, then passes.
    Delay,
    /// Answers 500 itself.
    Answer500,
    /// Answers 503 itself.
    Answer503,
}

impl Fault {
    /// The fault of connection `n`, from the seed: half the connections pass.
    fn pick(seed: u64, n: u64) -> Fault {
        match splitmix(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % 100 {
            0..50 => Fault::Pass,
            50..57 => Fault::DropBeforeForward,
            57..64 => Fault::DropMidRequest,
            64..74 => Fault::DropAfterRequest,
            74..81 => Fault::Truncate,
            81..88 => Fault::Delay,
            88..94 => Fault::Answer500,
            _ => Fault::Answer503,
        }
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Counts per fault kind, to show the run met every one.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub counts: [AtomicU64; 8],
    /// Requests that came with `Content-Encoding: gzip`.
    pub gzipped: AtomicU64,
    /// Answers the hub sent with `Content-Encoding: gzip`.
    pub gzipped_answers: AtomicU64,
}

/// A TCP proxy on 127.0.0.1 in front of the hub. Each connection carries one request (the
/// proxy asks the hub to close after answering), and gets the fault its number and the seed
/// pick, unless `clean` is set.
pub struct FaultProxy {
    pub base: String,
    pub clean: Arc<AtomicBool>,
    pub counts: Arc<FaultCounts>,
}

impl FaultProxy {
    pub fn start(hub: SocketAddr, seed: u64) -> FaultProxy {
        FaultProxy::with(vec![hub], seed, None)
    }

    /// A proxy in front of several hubs, as a load balancer: connection n goes to hub n mod
    /// their number, whether that hub is up or not.
    pub fn spread(hubs: Vec<SocketAddr>, seed: u64) -> FaultProxy {
        FaultProxy::with(hubs, seed, None)
    }

    /// A proxy that does `fault` to every connection.
    pub fn always(hub: SocketAddr, fault: Fault) -> FaultProxy {
        FaultProxy::with(vec![hub], 0, Some(fault))
    }

    fn with(hubs: Vec<SocketAddr>, seed: u64, always: Option<Fault>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let clean = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(FaultCounts::default());
        let (clean2, counts2) = (Arc::clone(&clean), Arc::clone(&counts));
        thread::spawn(move || {
            for (n, client) in listener.incoming().enumerate() {
                let Ok(client) = client else { continue };
                let fault = if clean2.load(Ordering::SeqCst) {
                    Fault::Pass
                } else {
                    always.unwrap_or_else(|| Fault::pick(seed, n as u64))
                };
                counts2.counts[fault as usize].fetch_add(1, Ordering::Relaxed);
                let counts = Arc::clone(&counts2);
                let hub = hubs[n % hubs.len()];
                thread::spawn(move || {
                    let _ = serve(client, hub, fault, seed ^ n as u64, &counts);
                });
            }
        });
        FaultProxy {
            base,
            clean,
            counts,
        }
    }

    pub fn count(&self, fault: Fault) -> u64 {
        self.counts.counts[fault as usize].load(Ordering::Relaxed)
    }

    /// Connections accepted so far, whatever was done to them.
    pub fn connections(&self) -> u64 {
        self.counts
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

/// Reads one HTTP request: its head (with `Connection: close` put in) and its body.
fn read_request(
    client: &mut TcpStream,
    counts: &FaultCounts,
) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut length = 0usize;
    let mut lines: Vec<&str> = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("content-encoding:") && lower.contains("gzip") {
            counts.gzipped.fetch_add(1, Ordering::Relaxed);
        }
        if !lower.starts_with("connection:") {
            lines.push(line);
        }
    }
    let mut rebuilt = lines.join("\r\n");
    rebuilt.push_str("\r\nConnection: close\r\n\r\n");
    let mut body = vec![0u8; length];
    client.read_exact(&mut body)?;
    Ok((rebuilt.into_bytes(), body))
}

fn serve(
    mut client: TcpStream,
    hub: SocketAddr,
    fault: Fault,
    seed: u64,
    counts: &FaultCounts,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    if fault == Fault::DropBeforeForward {
        return client.shutdown(Shutdown::Both);
    }
    let (head, body) = read_request(&mut client, counts)?;
    let own_answer = |status: &str| {
        let body = r#"{"code":"proxy","en":"proxy fault","ru":"сбой прокси"}"#;
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
    };
    match fault {
        Fault::Answer500 => {
            return client.write_all(own_answer("500 Internal Server Error").as_bytes());
        }
        Fault::Answer503 => {
            return client.write_all(own_answer("503 Service Unavailable").as_bytes());
        }
        _ => {}
    }
    let mut upstream = TcpStream::connect(hub)?;
    upstream.set_read_timeout(Some(Duration::from_secs(10)))?;
    if fault == Fault::DropMidRequest {
        let mut request = head;
        request.extend_from_slice(&body);
        upstream.write_all(&request[..request.len() / 2])?;
        upstream.shutdown(Shutdown::Both)?;
        return client.shutdown(Shutdown::Both);
    }
    if fault == Fault::Delay {
        thread::sleep(Duration::from_millis(1 + splitmix(seed) % 20));
    }
    upstream.write_all(&head)?;
    upstream.write_all(&body)?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
    if head
        .lines()
        .any(|l| l.starts_with("content-encoding:") && l.contains("gzip"))
    {
        counts.gzipped_answers.fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Fault::DropAfterRequest => client.shutdown(Shutdown::Both),
        Fault::Truncate => {
            client.write_all(&answer[..answer.len() / 2])?;
            client.shutdown(Shutdown::Both)
        }
        _ => client.write_all(&answer),
    }
}

/// What a [`HubFront`] answers itself: a status and a JSON body, or `None` to pass the request
/// to the real hub. Called with the request's path (query included).
pub type FrontAnswer = dyn Fn(&str) -> Option<(u16, String)> + Send + Sync;

/// A hub of another protocol, made of the real one: a front on 127.0.0.1 that answers the
/// paths it is told to itself and passes every other request through unchanged.
pub struct HubFront {
    pub base: String,
}

impl HubFront {
    pub fn start(hub: SocketAddr, answer: Box<FrontAnswer>) -> HubFront {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let answer: Arc<FrontAnswer> = Arc::from(answer);
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let answer = Arc::clone(&answer);
                thread::spawn(move || {
                    let _ = front(client, hub, &*answer);
                });
            }
        });
        HubFront { base }
    }
}

/// The hub's refusal of a path it does not serve, as a hub of protocol 2 answers
/// `/v1/pull/verdicts`.
pub fn not_found(path: &str) -> (u16, String) {
    let body = json!({"code": "not_found", "en": format!("No such endpoint: {path}"),
                      "ru": format!("Нет такого адреса: {path}")});
    (404, body.to_string())
}

fn front(mut client: TcpStream, hub: SocketAddr, answer: &FrontAnswer) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let counts = FaultCounts::default();
    let (head, body) = read_request(&mut client, &counts)?;
    let text = String::from_utf8_lossy(&head).into_owned();
    let path = text.split(' ').nth(1).unwrap_or("").to_owned();
    if let Some((status, json)) = answer(&path) {
        let reply = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{json}",
            json.len()
        );
        return client.write_all(reply.as_bytes());
    }
    let mut upstream = TcpStream::connect(hub)?;
    upstream.set_read_timeout(Some(Duration::from_secs(10)))?;
    upstream.write_all(&head)?;
    upstream.write_all(&body)?;
    let mut reply = Vec::new();
    upstream.read_to_end(&mut reply)?;
    client.write_all(&reply)
}
