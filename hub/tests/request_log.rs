//! The hub's request log names each client by its own address, over plain HTTP and over TLS
//! alike (no relay in between), with the device, the route and the status. Its own binary:
//! it installs the process's one global tracing subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tally_domain::status::{Inn, Timestamp};
use tally_hub::server::Hub;
use tally_hub::store::Store;

/// Log lines, as the subscriber writes them.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A TCP connection to `to` from `from` (another loopback address than the hub's own).
fn connect_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(from, 0))?;
            socket.connect(to).await?.into_std()
        })
        .unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
}

/// A device token of a new hub on `db`'s directory, enrolled through the store's own code.
fn enroll(base: &str, store_path: &std::path::Path, tls_roots: Option<&str>) -> String {
    let code = Store::open(store_path)
        .unwrap()
        .create_enrollment_code("W1", &Inn::parse("7707083893").unwrap(), Timestamp(0))
        .unwrap();
    let mut config = tally_sync::engine::ClientConfig::new(base, None);
    config.attempts = 1;
    config.ca_pem = tls_roots.map(|pem| pem.as_bytes().to_vec());
    tally_sync::engine::enroll(config, &code, "tsd", "0.1.0")
        .unwrap()
        .token
}

fn request(token: &str) -> String {
    format!(
        "GET /v1/pull/statuses?after=0 HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    )
}

/// Everything until the hub closes the stream; a TLS peer that hangs up without close_notify
/// still leaves what it sent.
fn read_all(stream: &mut impl Read) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// The one line that logs a pull answered to `peer`.
fn pull_line(lines: &Lines, peer: IpAddr) -> String {
    let text = lines.text();
    let found = text
        .lines()
        .find(|line| line.contains(&format!("peer={peer}:")) && line.contains("answered"));
    found
        .unwrap_or_else(|| panic!("no line for {peer}:\n{text}"))
        .to_owned()
}

#[test]
fn the_log_names_the_real_client_address_over_http_and_https() {
    let lines = Lines::default();
    let writer = lines.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let dir = std::env::temp_dir().join(format!("tally-hub-log-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();

    // Plain HTTP, a request from 127.0.0.2.
    let plain_db = dir.join("plain.db");
    let hub = Hub::bind(Store::open(&plain_db).unwrap(), "127.0.0.1:0").unwrap();
    let addr = hub.local_addr().unwrap();
    thread::spawn(move || hub.run());
    let token = enroll(&format!("http://{addr}"), &plain_db, None);
    let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut stream = connect_from(from, addr);
    stream.write_all(request(&token).as_bytes()).unwrap();
    let answer = read_all(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let line = pull_line(&lines, from);
    for part in [
        "route=/v1/pull/{feed}",
        "method=GET",
        "device=1",
        "status=200",
        "ms=",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }

    // TLS, from 127.0.0.3: the hub shakes hands itself and sees that address, not a relay's.
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Tally test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
    let cert = params.signed_by(&key, &issuer).unwrap();
    let config =
        tally_hub::tls::server_config(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
            .unwrap();
    let tls_db = dir.join("tls.db");
    let hub = Hub::bind_tls(Store::open(&tls_db).unwrap(), "127.0.0.1:0", config).unwrap();
    let addr = hub.local_addr().unwrap();
    thread::spawn(move || hub.run());
    let token = enroll(&format!("https://{addr}"), &tls_db, Some(&ca_cert.pem()));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca_cert.der().to_vec()))
        .unwrap();
    let mut client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
    let connection = rustls::ClientConnection::new(
        Arc::new(client),
        ServerName::IpAddress(Ipv4Addr::LOCALHOST.into()),
    )
    .unwrap();
    let mut tls = rustls::StreamOwned::new(connection, connect_from(from, addr));
    tls.write_all(request(&token).as_bytes()).unwrap();
    let answer = read_all(&mut tls);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        tls.conn.alpn_protocol(),
        Some(&b"http/1.1"[..]),
        "HTTP/1.1 is all the hub offers"
    );
    let page: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(page["feed"], json!("statuses"));
    let line = pull_line(&lines, from);
    assert!(
        line.contains("device=1") && line.contains("status=200"),
        "{line}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
