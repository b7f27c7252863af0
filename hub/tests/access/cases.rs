use crate::common::Database;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::Duration;

use flate2::read::GzDecoder;
use serde_json::{Value, json};
use tally_domain::status::{Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::server::Hub;
use tally_hub::store::Store;
use tally_wire::{EnrollResponse, Feed, FleetResponse, PullResponse};

const OURS: &str = "7707083893";
const GTIN: &str = "04600840749372";

fn cis(n: usize) -> String {
    format!("01{GTIN}21S{n:012}")
}

fn status(n: usize, status: &str) -> Value {
    json!({"cis": cis(n), "gtin": GTIN, "status": status, "ownerInn": OURS, "productGroupId": 2,
           "packageType": "UNIT"})
}

struct TestHub {
    addr: SocketAddr,
    db: Database,
}

fn start(statuses: usize) -> TestHub {
    let db = Database::new(BACKEND);
    let store = db.store();
    let lines: String = (0..statuses)
        .map(|n| format!("{}\n", status(n, "INTRODUCED")))
        .collect();
    assert!(
        import(&store, Feed::Statuses, lines.as_bytes())
            .unwrap()
            .rejected
            .is_empty()
    );
    let hub = Hub::bind(store, "127.0.0.1:0").unwrap();
    let addr = hub.local_addr().unwrap();
    thread::spawn(move || hub.run());
    TestHub { addr, db }
}

/// An answer read off the socket as it came: status, headers (names lower-cased), raw body.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, gunzipped when the hub said so.
    fn json(&self) -> Value {
        let mut text = Vec::new();
        if self.header("content-encoding") == Some("gzip") {
            GzDecoder::new(self.body.as_slice())
                .read_to_end(&mut text)
                .unwrap();
        } else {
            text.clone_from(&self.body);
        }
        serde_json::from_slice(&text).unwrap()
    }
}

/// The body of a `Transfer-Encoding: chunked` answer (the hub sends gzipped ones so).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&raw[..end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        raw = &raw[end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

impl TestHub {
    fn store(&self) -> Store {
        self.db.store()
    }

    /// One HTTP/1.1 request written by hand, so nothing between the test and the hub unpacks
    /// or rewrites the answer.
    fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\
             Content-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut body = Vec::new();
        reader.read_to_end(&mut body).unwrap();
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        if chunked {
            body = dechunk(&body);
        }
        Raw {
            status,
            headers,
            body,
        }
    }

    fn enroll(&self, warehouse: &str) -> EnrollResponse {
        let code = self
            .store()
            .create_enrollment_code(warehouse, &Inn::parse(OURS).unwrap(), Timestamp(0))
            .unwrap();
        let body = json!({"code": code, "device_name": "tsd", "app_version": "0.1.0"});
        let answer = self.raw(
            "POST",
            "/v1/enroll",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        assert_eq!(answer.status, 200);
        serde_json::from_value(answer.json()).unwrap()
    }

    /// A pull speaking protocol `version`.
    fn pull(&self, token: &str, version: u32, query: &str) -> PullResponse {
        let auth = format!("Bearer {token}");
        let answer = self.raw(
            "GET",
            &format!("/v1/pull/statuses?{query}"),
            &[
                ("Authorization", &auth),
                ("Tally-Protocol", &version.to_string()),
            ],
            b"",
        );
        assert_eq!(answer.status, 200, "{}", answer.json());
        serde_json::from_value(answer.json()).unwrap()
    }

    fn import_statuses(&self, lines: &[Value]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let report = import(&self.store(), Feed::Statuses, text.as_bytes()).unwrap();
        assert!(report.rejected.is_empty(), "{report:?}");
    }
}

#[test]
fn a_large_pull_answer_is_gzipped_for_a_client_that_asks_and_only_then() {
    let hub = start(2000);
    let token = hub.enroll("W1").token;
    let auth = format!("Bearer {token}");
    let path = "/v1/pull/statuses?after=0&limit=2000";

    let packed = hub.raw(
        "GET",
        path,
        &[("Authorization", &auth), ("Accept-Encoding", "gzip")],
        b"",
    );
    assert_eq!(packed.status, 200);
    assert_eq!(packed.header("content-encoding"), Some("gzip"));
    assert_eq!(packed.header("vary"), Some("Accept-Encoding"));
    let plain = hub.raw("GET", path, &[("Authorization", &auth)], b"");
    assert_eq!(plain.header("content-encoding"), None);
    assert!(
        packed.body.len() * 4 < plain.body.len(),
        "gzip shrinks a page of statuses: {} vs {} bytes",
        packed.body.len(),
        plain.body.len()
    );
    assert_eq!(packed.json(), plain.json(), "the same answer either way");
    let page: PullResponse = serde_json::from_value(packed.json()).unwrap();
    assert_eq!(page.items.len(), 2000);

    // Refused with q=0, and small answers are not worth packing.
    let refused = hub.raw(
        "GET",
        path,
        &[("Authorization", &auth), ("Accept-Encoding", "gzip;q=0")],
        b"",
    );
    assert_eq!(refused.header("content-encoding"), None);
    let small = hub.raw(
        "GET",
        "/v1/pull/statuses?after=0&limit=2",
        &[("Authorization", &auth), ("Accept-Encoding", "gzip")],
        b"",
    );
    assert_eq!(small.status, 200);
    assert_eq!(small.header("content-encoding"), None);
}

#[test]
fn the_fleet_opens_with_an_administrators_token_only() {
    let hub = start(0);
    let w1 = hub.enroll("W1");
    hub.enroll("W2");
    let admin = hub.store().create_admin_token("ops", Timestamp(0)).unwrap();

    for path in ["/v1/fleet", "/fleet"] {
        let none = hub.raw("GET", path, &[], b"");
        assert_eq!(none.status, 401, "{path}");
        assert_eq!(none.json()["code"], "admin_token_missing");
        assert!(
            none.header("www-authenticate")
                .is_some_and(|v| v.starts_with("Basic")),
            "a browser is asked for the token"
        );
        let device = hub.raw(
            "GET",
            path,
            &[("Authorization", &format!("Bearer {}", w1.token))],
            b"",
        );
        assert_eq!(
            device.status, 403,
            "{path}: a device token never sees the fleet"
        );
        assert_eq!(device.json()["code"], "admin_only");
        assert!(!device.json()["ru"].as_str().unwrap().is_empty());
    }

    let fleet = hub.raw(
        "GET",
        "/v1/fleet",
        &[("Authorization", &format!("Bearer {admin}"))],
        b"",
    );
    assert_eq!(fleet.status, 200);
    let fleet: FleetResponse = serde_json::from_value(fleet.json()).unwrap();
    let warehouses: Vec<&str> = fleet.devices.iter().map(|d| d.warehouse.as_str()).collect();
    assert_eq!(
        warehouses,
        ["W1", "W2"],
        "an administrator sees every warehouse"
    );

    // A browser sends the token as the Basic password ("admin:TOKEN" in base64).
    let basic = base64(format!("admin:{admin}").as_bytes());
    let page = hub.raw(
        "GET",
        "/fleet",
        &[("Authorization", &format!("Basic {basic}"))],
        b"",
    );
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("<td>W2</td>"), "{html}");
    let wrong = base64(format!("admin:{}", w1.token).as_bytes());
    let refused = hub.raw(
        "GET",
        "/fleet",
        &[("Authorization", &format!("Basic {wrong}"))],
        b"",
    );
    assert_eq!(refused.status, 403);
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut acc = [0u8; 3];
        acc[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from_be_bytes([0, acc[0], acc[1], acc[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn a_revoked_device_is_refused_and_writes_nothing() {
    let hub = start(1);
    let device = hub.enroll("W1");
    let auth = format!("Bearer {}", device.token);
    assert_eq!(
        hub.raw("GET", "/v1/pull/statuses", &[("Authorization", &auth)], b"")
            .status,
        200
    );
    assert!(
        hub.store()
            .revoke_device(device.device_id, Timestamp(5))
            .unwrap()
    );
    assert!(
        !hub.store()
            .revoke_device(device.device_id, Timestamp(6))
            .unwrap(),
        "revoked once"
    );
    let operation = json!({"uuid": uuid::Uuid::new_v4().to_string(), "seq": 1,
        "kind": "write-off", "operator": "Иванова", "started_at": 1, "finished_at": 2,
        "payload": {"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
                    "gis_mt_reason": "DAMAGE_LOSS", "codes": [cis(0)]}});
    let body = json!({"device": {"app_version": "0.1.0", "queue_depth": 1,
                                 "cache_synced_at": null},
                      "operations": [operation]});
    let push = hub.raw(
        "POST",
        "/v1/push",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(push.status, 401);
    assert_eq!(push.json()["code"], "token_invalid");
    let pull = hub.raw("GET", "/v1/pull/statuses", &[("Authorization", &auth)], b"");
    assert_eq!(pull.status, 401);
    let store = hub.store();
    assert_eq!(store.operation_count().unwrap(), 0, "nothing written");
    let fleet = store.fleet().unwrap();
    assert_eq!(fleet[0].revoked_at, Some(5));
    assert_eq!(fleet[0].queue_depth, 0, "the refused push reported nothing");
    drop(store);
    let admin = hub.store().create_admin_token("ops", Timestamp(0)).unwrap();
    let page = hub.raw(
        "GET",
        "/fleet",
        &[("Authorization", &format!("Bearer {admin}"))],
        b"",
    );
    assert!(
        String::from_utf8(page.body)
            .unwrap()
            .contains("tsd (revoked)")
    );
}

#[test]
fn a_cursor_behind_pruned_removals_gets_a_snapshot_from_protocol_2() {
    let hub = start(10);
    let token = hub.enroll("W1").token;
    let first = hub.pull(&token, 2, "after=0&limit=100");
    assert!(!first.snapshot && first.items.len() == 10);
    let cursor = first.next_after;

    // Codes 0..3 leave the list, 5 changes; nothing is pruned yet, so the removals are
    // ordinary changes after the cursor.
    hub.import_statuses(&[
        json!({"cis": cis(0), "remove": true}),
        json!({"cis": cis(1), "remove": true}),
        json!({"cis": cis(2), "remove": true}),
        status(5, "RETIRED"),
    ]);
    let delta = hub.pull(&token, 2, &format!("after={cursor}&limit=100"));
    assert!(!delta.snapshot);
    assert_eq!(delta.items.len(), 4);
    assert_eq!(delta.items[0].item["remove"], true);

    // The hub prunes the removals: a terminal at `cursor` can no longer learn of them.
    let pruned = hub.store().prune(0).unwrap();
    let statuses = pruned.iter().find(|p| p.feed == Feed::Statuses).unwrap();
    assert_eq!(statuses.removed, 3);
    assert!(statuses.horizon > cursor);
    assert_eq!(
        hub.store().horizon(Feed::Statuses).unwrap(),
        statuses.horizon
    );
    assert_eq!(
        hub.store().prune(0).unwrap()[0].removed,
        0,
        "nothing left to prune"
    );

    let snapshot = hub.pull(&token, 2, &format!("after={cursor}&limit=4"));
    assert!(snapshot.snapshot, "the feed comes whole");
    let first_seq = snapshot.items[0].seq;
    assert!(
        first_seq <= cursor,
        "from the start of the log, not the cursor"
    );
    assert!(snapshot.more);
    // Continuing the snapshot pages on instead of starting over.
    let next = hub.pull(
        &token,
        2,
        &format!("after={}&limit=100&snapshot=1", snapshot.next_after),
    );
    assert!(next.snapshot && !next.more);
    assert!(next.items.iter().all(|i| i.seq > snapshot.next_after));
    let all: Vec<String> = snapshot
        .items
        .iter()
        .chain(&next.items)
        .map(|i| i.item["cis"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all.len(), 7, "the seven codes still on the list: {all:?}");
    assert!(!all.contains(&cis(0)));

    // A protocol-1 terminal cannot read snapshots: it gets plain pages from its cursor.
    let old = hub.pull(&token, 1, &format!("after={cursor}&limit=100"));
    assert!(!old.snapshot);
    assert_eq!(old.items.len(), 1, "only the change of code 5 is left");
    // A cursor at or past the horizon, or a first pull, is served as before.
    let current = hub.pull(&token, 2, &format!("after={}&limit=100", statuses.horizon));
    assert!(!current.snapshot);
    assert!(!hub.pull(&token, 2, "after=0&limit=100").snapshot);
}

fn hub_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tally-hub"))
}

#[test]
fn admin_token_revoke_and_prune_commands() {
    let hub = start(2);
    let device = hub.enroll("W1");
    let out = hub_command()
        .args(["admin-token", "--label", "ops", "--database"])
        .arg(&hub.db.location)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let admin = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(hub.store().is_admin_token(&admin).unwrap());
    assert!(!hub.store().is_admin_token(&device.token).unwrap());

    let revoke = |id: i64| {
        hub_command()
            .args(["revoke", &id.to_string(), "--database"])
            .arg(&hub.db.location)
            .output()
            .unwrap()
    };
    assert!(revoke(device.device_id).status.success());
    let again = revoke(device.device_id);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("device_unknown") && stderr.contains("отозвано"),
        "{stderr}"
    );
    let auth = format!("Bearer {}", device.token);
    assert_eq!(
        hub.raw("GET", "/v1/pull/statuses", &[("Authorization", &auth)], b"")
            .status,
        401
    );

    hub.import_statuses(&[json!({"cis": cis(1), "remove": true})]);
    let out = hub_command()
        .args(["prune", "--keep-last", "0", "--database"])
        .arg(&hub.db.location)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["feed"], "statuses");
    assert_eq!(lines[0]["removed"], 1);
    assert_eq!(lines.len(), Feed::ALL.len(), "one line per feed");
}

#[test]
fn serve_with_tls_cert_and_key_speaks_https_with_that_certificate() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
    use tally_sync::engine::{ClientConfig, HubClient, enroll};

    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Tally test CA");
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![SanType::IpAddress(std::net::IpAddr::V4(
        std::net::Ipv4Addr::LOCALHOST,
    ))];
    let cert = params.signed_by(&key, &issuer).unwrap();

    let hub = start(3);
    let dir = &hub.db.dir;
    let (cert_file, key_file) = (dir.join("hub.pem"), dir.join("hub.key"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let code = hub
        .store()
        .create_enrollment_code("W1", &Inn::parse(OURS).unwrap(), Timestamp(0))
        .unwrap();

    // A key without its certificate is refused by the command line.
    let half = hub_command()
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-key"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(!half.status.success());

    let mut server = hub_command()
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(&hub.db.location)
        .arg("--tls-cert")
        .arg(&cert_file)
        .arg("--tls-key")
        .arg(&key_file)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    let mut config = ClientConfig::new(&url, None);
    config.attempts = 1;
    config.ca_pem = Some(ca_pem.into_bytes());
    let link = enroll(config, &code, "tsd", "0.1.0");
    let pulled = link.as_ref().ok().map(|link| {
        HubClient::new(link.client_config())
            .unwrap()
            .pull(Feed::Statuses, 0, 10)
    });
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{line}");
    let link = link.unwrap();
    assert_eq!(link.warehouse, "W1");
    assert_eq!(pulled.unwrap().unwrap().items.len(), 3);
}
