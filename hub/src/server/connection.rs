//! Connections: one accept loop for plain and TLS sockets, a task per connection (TLS handshake
//! under its own timeout, then hyper's HTTP/1.1 with a header read timeout), a watch on
//! connections where nothing moves, a cap on how many are served (in all, and from one
//! address), and a graceful stop.
//!
//! hyper's `http1` builder is used directly rather than hyper-util's `auto` one: the terminals
//! speak HTTP/1.1 only (ureq), ALPN offers nothing else, and `auto` would build the h2 crate in.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::{Service, ServiceExt};

use super::Limits;

/// After a failed accept (out of descriptors, most likely), the loop waits this long rather
/// than spin on the same error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts until `stop`, each connection on a task of its own; then stops accepting, asks
/// every connection to finish its request in flight and close, and waits for them, for at most
/// the shutdown grace.
pub(super) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let addresses = Arc::new(Addresses::default());
    let (closing, closing_seen) = watch::channel(false);
    let mut make_service: IntoMakeServiceWithConnectInfo<Router, SocketAddr> =
        router.into_make_service_with_connect_info();
    tokio::pin!(stop);
    loop {
        // A slot before the accept: past the cap, clients wait in the listen backlog.
        let slot = tokio::select! {
            biased;
            () = &mut stop => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            biased;
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!("accept failed: {error}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // One address may not take every slot: past its share it is told so and closed.
        let Some(address) = Addresses::enter(&addresses, peer.ip(), limits.max_per_address) else {
            tracing::warn!(%peer, "refused: too many connections from one address");
            drop(slot);
            tokio::spawn(refuse_crowd(tcp));
            continue;
        };
        // Answers go out as written: with Nagle's algorithm a small one waits for the
        // terminal's delayed ACK, 40 ms a request.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, "TCP_NODELAY: {error}");
        }
        let Ok(make) = make_service.ready().await;
        let Ok(service) = make.call(peer).await;
        tokio::spawn(serve_one(
            tcp,
            peer,
            tls.clone(),
            service,
            limits,
            closing_seen.clone(),
            (slot, address),
        ));
    }
    drop(listener);
    tracing::info!("stopping: finishing the requests in flight");
    let _ = closing.send(true);
    let every_slot =
        u32::try_from(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(every_slot))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace are cut");
    }
}

/// Connections open per client address.
#[derive(Debug, Default)]
struct Addresses {
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
}

impl Addresses {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<std::net::IpAddr, usize>> {
        // Counts only: a panic elsewhere leaves them as they were.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for one more connection from `ip`, unless it holds `cap` already.
    fn enter(addresses: &Arc<Addresses>, ip: std::net::IpAddr, cap: usize) -> Option<AddressSlot> {
        let mut open = addresses.lock();
        let count = open.entry(ip).or_insert(0);
        if *count >= cap.max(1) {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            addresses: Arc::clone(addresses),
            ip,
        })
    }
}

/// One connection's place in its address's count, given back when the connection ends.
#[derive(Debug)]
struct AddressSlot {
    addresses: Arc<Addresses>,
    ip: std::net::IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.addresses.lock();
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// What a client past its address's share gets: 503 with the hub's error body, then the close.
async fn refuse_crowd(mut tcp: TcpStream) {
    use tokio::io::AsyncWriteExt;
    let body = r#"{"code":"too_many_connections","en":"Too many connections from this address: close some and try again.","ru":"Слишком много соединений с этого адреса: закройте часть и повторите."}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nRetry-After: 1\r\nTally-Protocol: {}\r\nConnection: close\r\n\r\n{body}",
        body.len(),
        tally_wire::PROTOCOL_VERSION
    );
    // A client that does not read its answer loses it; the connection closes either way.
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.write_all(answer.as_bytes())).await;
    let _ = tcp.shutdown().await;
}

/// Resolves on SIGTERM (systemd's stop) or SIGINT (Ctrl-C). The handlers are installed here,
/// not when the future is first polled, so a signal that comes right after start is not left
/// to its default action (death without finishing anything). Needs the runtime's context.
pub(super) fn terminated() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind, name: &str| match signal(kind) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!("{name} cannot be caught: {error}");
            None
        }
    };
    let mut term = listen(SignalKind::terminate(), "SIGTERM");
    let mut int = listen(SignalKind::interrupt(), "SIGINT");
    async move {
        tokio::select! {
            () = received(term.as_mut()) => {}
            () = received(int.as_mut()) => {}
        }
    }
}

/// The next delivery of a signal, or never when it could not be caught.
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// One connection, holding its slot until it closes.
async fn serve_one<S>(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    service: S,
    limits: Limits,
    closing: watch::Receiver<bool>,
    _held: (OwnedSemaphorePermit, AddressSlot),
) where
    S: Service<
            Request<Incoming>,
            Response = Response<axum::body::Body>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let activity = Arc::new(Activity::new());
    let io = Watched {
        inner: tcp,
        activity: Arc::clone(&activity),
    };
    match tls {
        None => drive(io, service, activity, limits, closing).await,
        // The handshake runs here, on the connection's task, so a client that stalls in it
        // holds only its own connection.
        Some(acceptor) => {
            match tokio::time::timeout(limits.tls_handshake, acceptor.accept(io)).await {
                Ok(Ok(stream)) => drive(stream, service, activity, limits, closing).await,
                Ok(Err(error)) => tracing::debug!(%peer, "TLS handshake failed: {error}"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

/// HTTP/1.1 on one connection until the client closes it, a timeout does, or the hub stops.
async fn drive<I, S>(
    io: I,
    service: S,
    activity: Arc<Activity>,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<
            Request<Incoming>,
            Response = Response<axum::body::Body>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let handler = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let busy = Busy::enter(Arc::clone(&activity));
            let call = service.clone().oneshot(request);
            async move {
                let response = call.await;
                drop(busy);
                response
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(io), handler);
    tokio::pin!(connection);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!("connection closed: {error}");
                }
                return;
            }
            // Closes at once if idle, else after the answer in flight.
            _ = closing.changed(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(activity.quiet_deadline(limits.idle)) => {
                if activity.is_stalled(limits.idle) {
                    tracing::debug!("closing a connection on which nothing moved");
                    return;
                }
            }
        }
    }
}

/// When a connection last moved a byte, and how many of its requests are being handled.
#[derive(Debug)]
struct Activity {
    origin: Instant,
    last_ms: AtomicU64,
    busy: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// When the connection will have been quiet for `idle`, if nothing moves before; a
    /// connection whose request is being handled is looked at again `idle` from now.
    fn quiet_deadline(&self, idle: Duration) -> Instant {
        if self.busy.load(Ordering::Relaxed) > 0 {
            return Instant::now() + idle;
        }
        self.origin + Duration::from_millis(self.last_ms.load(Ordering::Relaxed)) + idle
    }

    fn is_stalled(&self, idle: Duration) -> bool {
        self.busy.load(Ordering::Relaxed) == 0 && Instant::now() >= self.quiet_deadline(idle)
    }
}

/// A request being handled on a connection, from its headers to its answer's headers.
struct Busy(Arc<Activity>);

impl Busy {
    fn enter(activity: Arc<Activity>) -> Busy {
        activity.busy.fetch_add(1, Ordering::Relaxed);
        Busy(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        // The quiet time counts from the end of the handling, not from the request's arrival.
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that notes in its [`Activity`] every time a byte moves either way.
struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
