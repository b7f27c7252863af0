//! TLS for `tally-hub serve --tls-cert --tls-key`: the hub terminates TLS itself, with the
//! rustls the terminals' client already uses, and relays the plain HTTP to its tiny_http
//! server on a loopback port.
//!
//! Why not tiny_http's own `ssl-rustls` feature: it is built on rustls 0.20 and ring 0.16, both
//! unmaintained (rustls 0.20 has an unfixed advisory, RUSTSEC-2024-0336), which would put a
//! second, older TLS stack into the hub; and it runs each handshake on its accept thread, so one
//! slow client would stall every new connection. Here every connection has its own thread that
//! shakes hands and then relays both ways, waiting on both sockets with poll.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

/// Connections relayed at once; more are closed at once rather than starving the hub of
/// threads. A warehouse has tens of terminals.
const MAX_CONNECTIONS: usize = 512;
/// A connection that moves no byte for this long is closed (terminals time out sooner).
const IDLE_LIMIT: Duration = Duration::from_secs(120);
/// How long one poll waits before the idle clock is looked at.
const POLL_TICK: u16 = 5_000;
/// Plaintext read from a client and not yet taken by the hub; reading stops above it.
const PENDING_LIMIT: usize = 1 << 20;

/// Why a certificate and key cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the certificate file holds no PEM certificate: {0}")]
    Certificate(String),
    #[error("the key file holds no PEM private key: {0}")]
    Key(String),
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// A TLS server configuration from PEM text: the certificate chain (the hub's certificate
/// first, then any intermediates) and its private key (PKCS#8, PKCS#1 or SEC1).
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Certificate("no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(config))
}

/// The public TLS listener in front of the hub's plain HTTP server.
#[derive(Debug)]
pub struct TlsFront {
    listener: TcpListener,
    config: Arc<ServerConfig>,
    backend: SocketAddr,
}

impl TlsFront {
    pub fn bind(
        addr: &str,
        config: Arc<ServerConfig>,
        backend: SocketAddr,
    ) -> io::Result<TlsFront> {
        Ok(TlsFront {
            listener: TcpListener::bind(addr)?,
            config,
            backend,
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Accepts until the listener fails; each connection is relayed on its own thread.
    pub fn run(self) {
        let open = Arc::new(AtomicUsize::new(0));
        for stream in self.listener.incoming() {
            let Ok(stream) = stream else { continue };
            if open.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                open.fetch_sub(1, Ordering::AcqRel);
                continue;
            }
            let config = Arc::clone(&self.config);
            let backend = self.backend;
            let counter = Arc::clone(&open);
            let spawned = thread::Builder::new()
                .name("tls-relay".into())
                .spawn(move || {
                    // A failed connection (bad handshake, reset) concerns that client only.
                    let _ = relay(config, stream, backend);
                    counter.fetch_sub(1, Ordering::AcqRel);
                });
            if spawned.is_err() {
                open.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// One client connection: handshake, then records from the client are decrypted and passed
/// to the hub, and the hub's bytes encrypted back, until either side closes. The hub's answer
/// is read only once the previous one has left for the client, so a slow client holds back
/// the hub's worker rather than the relay's memory.
fn relay(config: Arc<ServerConfig>, mut client: TcpStream, backend: SocketAddr) -> io::Result<()> {
    let mut tls = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut hub = TcpStream::connect(backend)?;
    for stream in [&client, &hub] {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
    }
    let mut to_hub: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut client_done = false;
    let mut hub_done = false;
    let mut hub_write_shut = false;
    let mut last_progress = Instant::now();
    loop {
        while tls.wants_write() {
            match tls.write_tls(&mut client) {
                Ok(_) => last_progress = Instant::now(),
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            }
        }
        while !to_hub.is_empty() {
            match hub.write(&to_hub) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    to_hub.drain(..n);
                    last_progress = Instant::now();
                }
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            }
        }
        if client_done && to_hub.is_empty() && !hub_write_shut {
            // The client said all it will: let the hub finish its answer and close.
            let _ = hub.shutdown(Shutdown::Write);
            hub_write_shut = true;
        }
        if hub_done && !tls.wants_write() {
            return Ok(());
        }
        if client_done && hub_done {
            return Ok(());
        }

        let mut client_events = PollFlags::empty();
        if !client_done && to_hub.len() < PENDING_LIMIT {
            client_events |= PollFlags::POLLIN;
        }
        if tls.wants_write() {
            client_events |= PollFlags::POLLOUT;
        }
        let mut hub_events = PollFlags::empty();
        if !hub_done && !tls.wants_write() {
            hub_events |= PollFlags::POLLIN;
        }
        if !to_hub.is_empty() {
            hub_events |= PollFlags::POLLOUT;
        }
        let (client_ready, hub_ready) = {
            let mut fds = Vec::with_capacity(2);
            if !client_events.is_empty() {
                fds.push(PollFd::new(client.as_fd(), client_events));
            }
            if !hub_events.is_empty() {
                fds.push(PollFd::new(hub.as_fd(), hub_events));
            }
            if fds.is_empty() {
                // Nothing can move (a client that stopped reading while the hub's answer
                // waits): only the idle limit ends it.
                thread::sleep(Duration::from_millis(u64::from(POLL_TICK)));
                (false, false)
            } else {
                match poll(&mut fds, PollTimeout::from(POLL_TICK)) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(io::Error::other(e)),
                }
                let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
                let mut it = fds.iter();
                let client_ready = if client_events.is_empty() {
                    false
                } else {
                    it.next().is_some_and(ready)
                };
                let hub_ready = if hub_events.is_empty() {
                    false
                } else {
                    it.next().is_some_and(ready)
                };
                (client_ready, hub_ready)
            }
        };
        if !client_ready && !hub_ready {
            if last_progress.elapsed() > IDLE_LIMIT {
                return Ok(());
            }
            continue;
        }

        if client_ready && !client_done {
            match tls.read_tls(&mut client) {
                Ok(0) => client_done = true,
                Ok(_) => {
                    last_progress = Instant::now();
                    let state = match tls.process_new_packets() {
                        Ok(state) => state,
                        Err(e) => {
                            // Tell the client why (an alert) before hanging up.
                            let _ = tls.write_tls(&mut client);
                            return Err(io::Error::other(e));
                        }
                    };
                    let n = state.plaintext_bytes_to_read();
                    let peer_closed = state.peer_has_closed();
                    if n > 0 {
                        let start = to_hub.len();
                        to_hub.resize(start + n, 0);
                        tls.reader().read_exact(&mut to_hub[start..])?;
                    }
                    if peer_closed {
                        client_done = true;
                    }
                }
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
        }
        if hub_ready && !hub_done && !tls.wants_write() {
            match hub.read(&mut buf) {
                Ok(0) => {
                    hub_done = true;
                    tls.send_close_notify();
                }
                Ok(n) => {
                    last_progress = Instant::now();
                    tls.writer().write_all(&buf[..n])?;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
}
