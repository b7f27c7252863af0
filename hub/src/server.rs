//! The hub's HTTP face: routes, bearer-token auth, protocol negotiation, body limits, slow
//! clients, and the JSON error bodies of `tally_wire`.
//!
//! axum routes and extracts on a tokio runtime of the hub's own, made when it is bound and
//! driven by [`Hub::run`] on the caller's thread: a few worker threads serve every connection,
//! so a stalled client costs a task and a socket, never a thread. Every call to the [`Store`]
//! runs on the runtime's blocking pool ([`with_store`]), so a slow transaction holds back
//! other store calls, not the sockets; the store shares itself (SQLite behind its one
//! connection, PostgreSQL through its pool). Every second a task runs [`Store::maintain`].
//!
//! Every refusal is decided before anything is written: a request's protocol, token, body,
//! limits and ids are checked whole, then applied in one store transaction. A refusal is an
//! `ErrorBody` whoever made it (a handler, the router, a tower-http layer), and every answer
//! names the hub's protocol version and varies on `Accept-Encoding` ([`answer`]).
//!
//! Clients cannot starve each other ([`Limits`]): the request line and headers must arrive
//! within `header_read` (hyper's timer, which also closes a kept-alive connection that sends no
//! next request within it), the body within `body_read` of the headers (else 408
//! `body_timeout`), a connection on which nothing moves while no request is handled is closed
//! after `idle`, a TLS handshake gets `tls_handshake`, and at most `max_connections` are served
//! at once; more wait in the listen backlog.
//!
//! Answers over [`GZIP_ABOVE`] bytes go gzipped to a client that accepts gzip (ureq does, and
//! unpacks them): a pull page of statuses shrinks about eightfold on a dock's Wi-Fi. Gzipped
//! bodies are taken, up to [`MAX_BODY_BYTES`] unpacked. The fleet view takes an administrator's
//! token (`tally-hub admin-token`), never a device's. With [`Hub::bind_tls`] the same accept
//! loop shakes hands with rustls before serving ([`connection`]).

mod answer;
mod body;
mod connection;
mod journal;
pub mod onec;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, State};
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::{Query, QueryRejection};
use axum_extra::headers::authorization::{Basic, Bearer};
use axum_extra::headers::{Authorization, HeaderMapExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tally_domain::status::Timestamp;
use tally_domain::validate::Policy;
use tally_wire::limits::{MAX_PUSH_CODES, Oversized};
use tally_wire::{
    DocumentKind, EnrollRequest, EnrollResponse, ErrorBody, Feed, FleetDevice, FleetResponse,
    MAX_PULL_LIMIT, MAX_PUSH_OPERATIONS, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PushRequest,
    PushResponse, SerialRange,
};
use tokio_rustls::TlsAcceptor;
use tower_http::compression::predicate::SizeAbove;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::documents::{self, DocType};
use crate::gismt::link::{Link, LinkConfig};
use crate::push;
use crate::store::{Device, Store, StoreError};
use body::Upload;

/// The largest request body taken, before and after gzip: a full push batch of big documents
/// fits with room to spare.
pub const MAX_BODY_BYTES: u64 = 16 << 20;
/// Answers larger than this are gzipped for a client that accepts it; smaller ones are not
/// worth the CPU (an enrollment, a push answer of a few operations).
pub const GZIP_ABOVE: usize = 8 << 10;
/// The first protocol version that understands snapshot pages (`"snapshot": true`).
const SNAPSHOT_PROTOCOL: u32 = 2;
/// The first protocol whose terminals read the `verdicts` feed and the list's age.
const VERDICTS_PROTOCOL: u32 = 3;
/// Threads serving sockets: the hub's work is the store's, on the blocking pool; two cores serve
/// a dock of terminals with room to spare.
const WORKER_THREADS: usize = 2;
/// Threads running store calls: as many as the PostgreSQL pool has connections (SQLite's calls
/// queue on its one connection; more threads would only wait).
const STORE_THREADS: usize = 16;
/// Connections the kernel holds for the hub before it accepts them: a dock of a thousand
/// terminals connects at once, and std's default of 128 would reset the rest.
const LISTEN_BACKLOG: u32 = 4096;
/// How often the store's upkeep runs (`Store::maintain`).
const MAINTAIN_EVERY: Duration = Duration::from_secs(1);

/// How long a client may take over each part of a request, and how many are served at once.
/// The defaults suit terminals on a dock's Wi-Fi; tests shorten them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The request line and headers must be in within this, counted from the connection's
    /// start or from the end of its previous answer (so it is also how long a kept-alive
    /// connection may sit without a next request).
    pub header_read: Duration,
    /// The whole body must be in within this after the headers; a body that drips is answered
    /// 408 `body_timeout` and its connection closed.
    pub body_read: Duration,
    /// A connection on which no byte moves either way while no request is being handled (a
    /// client that stopped reading its answer) is closed after this.
    pub idle: Duration,
    /// A TLS handshake must be over within this.
    pub tls_handshake: Duration,
    /// Connections served at once; further ones wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// Connections served at once from one client address; past it a connection is answered
    /// 503 `too_many_connections` and closed, so one address cannot take every slot.
    pub max_per_address: usize,
    /// After SIGTERM, requests in flight get this long to finish before the hub exits.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            tls_handshake: Duration::from_secs(10),
            // Tens of terminals per warehouse; well inside the 1024 descriptors a service gets.
            max_connections: 4096,
            // A dock's terminals behind one NAT share an address; hundreds fit.
            max_per_address: 512,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: String, message: String },
    #[error("cannot start the hub's threads: {0}")]
    Runtime(std::io::Error),
}

/// A bound hub, ready to serve.
pub struct Hub {
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    tls: Option<TlsAcceptor>,
    app: App,
    limits: Limits,
    link: Option<LinkConfig>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("addr", &self.local_addr())
            .field("scheme", &self.scheme())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What every handler shares.
#[derive(Clone, Debug)]
struct App {
    store: Arc<Store>,
    policy: Arc<Policy>,
    onec: Arc<onec::OnecConfig>,
    imports: Arc<onec::Imports>,
}

impl Hub {
    /// A hub speaking plain HTTP on `addr` (port 0 picks a free one).
    pub fn bind(store: Store, addr: &str) -> Result<Hub, ServeError> {
        Hub::bind_with(store, addr, None)
    }

    /// A hub speaking HTTPS on `addr` with this configuration (see [`crate::tls`]), offering
    /// only HTTP/1.1 by ALPN, which is what the terminals speak.
    pub fn bind_tls(
        store: Store,
        addr: &str,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<Hub, ServeError> {
        let mut config = (*tls).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Hub::bind_with(store, addr, Some(TlsAcceptor::from(Arc::new(config))))
    }

    fn bind_with(store: Store, addr: &str, tls: Option<TlsAcceptor>) -> Result<Hub, ServeError> {
        let bind_error = |e: std::io::Error| ServeError::Bind {
            addr: addr.to_owned(),
            message: e.to_string(),
        };
        // Bound at once, so a bind error and the port chosen are the caller's before it runs.
        let addr_found = std::net::ToSocketAddrs::to_socket_addrs(addr)
            .map_err(bind_error)?
            .next()
            .ok_or_else(|| bind_error(std::io::ErrorKind::AddrNotAvailable.into()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .max_blocking_threads(STORE_THREADS)
            .thread_name("tally-hub")
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)?;
        let listener = {
            let _context = runtime.enter();
            let socket = if addr_found.is_ipv4() {
                tokio::net::TcpSocket::new_v4()
            } else {
                tokio::net::TcpSocket::new_v6()
            }
            .map_err(bind_error)?;
            // A restarted hub takes its port back at once, past the old sockets' TIME_WAIT.
            socket.set_reuseaddr(true).map_err(bind_error)?;
            socket.bind(addr_found).map_err(bind_error)?;
            socket.listen(LISTEN_BACKLOG).map_err(bind_error)?
        };
        Ok(Hub {
            runtime,
            listener,
            tls,
            app: App {
                store: Arc::new(store),
                policy: Arc::new(push::hub_policy()),
                onec: Arc::new(onec::OnecConfig::default()),
                imports: Arc::new(onec::Imports::default()),
            },
            limits: Limits::default(),
            link: None,
        })
    }

    /// The same hub, linked to GIS MT: while it serves, a thread of its own signs in, sends
    /// documents, polls their results and reads statuses again ([`crate::gismt::link`]).
    pub fn with_link(mut self, config: LinkConfig) -> Hub {
        self.link = Some(config);
        self
    }

    /// The same hub serving 1C's exchange this way.
    pub fn with_onec(mut self, config: onec::OnecConfig) -> Hub {
        if config.debug {
            tracing::warn!(
                "THE 1C EXCHANGE IS IN DEBUG MODE: every answer is written whole to the \
                 exchange log. Turn [onec] debug off once the node is set up."
            );
        }
        self.app.onec = Arc::new(config);
        self
    }

    /// The same hub with other limits (tests use short timeouts).
    pub fn with_limits(mut self, limits: Limits) -> Hub {
        self.limits = limits;
        self
    }

    /// The address bound, with the port the system chose for port 0.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// `https` when the hub terminates TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Serves until the process ends; blocks the calling thread, which must not be inside a
    /// tokio runtime.
    pub fn run(self) {
        self.run_until(std::future::pending());
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting and lets the requests in flight
    /// finish (for `tally-hub serve` under systemd).
    pub fn run_until_terminated(self) {
        let stop = {
            let _context = self.runtime.enter();
            connection::terminated()
        };
        self.run_until(stop);
    }

    /// Serves until `stop` completes, then stops accepting and lets the requests in flight
    /// finish, for at most [`Limits::shutdown_grace`].
    pub fn run_until(self, stop: impl Future<Output = ()>) {
        let Hub {
            runtime,
            listener,
            tls,
            app,
            limits,
            link,
        } = self;
        let store = Arc::clone(&app.store);
        let router = router(app, limits);
        runtime.spawn(maintain(Arc::clone(&store)));
        let stop_link = Arc::new(AtomicBool::new(false));
        let holder = format!(
            "{}:{}",
            crate::gismt::link::host_name(),
            listener
                .local_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string())
        );
        let link = link.and_then(|config| {
            let link = Link::new(config, Arc::clone(&store), holder);
            match crate::gismt::link::spawn(link, Arc::clone(&stop_link)) {
                Ok(thread) => Some(thread),
                Err(e) => {
                    tracing::error!("the GIS MT link could not start: {e}");
                    None
                }
            }
        });
        runtime.block_on(connection::serve(listener, tls, router, limits, stop));
        stop_link.store(true, Ordering::Relaxed);
        if let Some(thread) = link {
            let _ = thread.join();
        }
        // The runtime and its tasks' handles on the store go first, so the last handle is
        // dropped here, outside the runtime: PostgreSQL's blocking client closes its
        // connections with a runtime of its own, which tokio refuses to start inside another.
        drop(runtime);
        drop(store);
    }
}

/// Runs the store's upkeep every [`MAINTAIN_EVERY`] until the runtime stops; a failure is
/// logged and tried again next time.
async fn maintain(store: Arc<Store>) {
    let mut ticks = tokio::time::interval(MAINTAIN_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let store = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || store.maintain()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!("store upkeep: {error}"),
            Err(error) => tracing::warn!("store upkeep failed: {error}"),
        }
    }
}

/// Writes the route table once as both [`ROUTES`] and the router's routes, so the list that
/// `hub/tests/openapi.rs` holds the spec to is the one served.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:ident,)*) => {
        /// Every route the hub serves, as (method, path) in axum's syntax (`{feed}` is a path
        /// parameter); every GET route also answers HEAD. `docs/hub-protocol.openapi.yaml`
        /// describes exactly these (`hub/tests/openapi.rs`).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn routes() -> Router<App> {
            Router::new()$(.route($path, $method($handler)))*
        }
    };
}

routes! {
    post "/v1/enroll" => enroll,
    post "/v1/push" => push,
    get "/v1/pull/{feed}" => pull,
    get "/v1/documents" => documents,
    get "/v1/fleet" => fleet_json,
    get "/fleet" => fleet_html,
    get "/v1/journal" => journal_json,
    get "/v1/results" => results_json,
    get "/v1/results/{id}/upd" => result_upd,
    get "/journal" => journal_html,
    get "/1c/exchange" => onec_exchange,
    post "/1c/exchange" => onec_exchange,
    get "/healthz" => healthz,
    get "/readyz" => readyz,
}

/// Every route and the layers around them, outermost last: the log line, the answer's common
/// headers and refusal bodies, the raw body limit, gzip out, gzip in.
fn router(app: App, limits: Limits) -> Router {
    routes()
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .with_state(app)
        .layer(RequestDecompressionLayer::new())
        .layer(
            CompressionLayer::new()
                // The fast level: JSON of codes compresses well at it, and the hub serves
                // many terminals.
                .quality(CompressionLevel::Fastest)
                .compress_when(SizeAbove::new(GZIP_FROM)),
        )
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES as usize))
        .layer(axum::middleware::from_fn_with_state(limits, answer::answer))
        .layer(axum::middleware::from_fn(answer::log))
}

/// tower-http compresses from this size on; the hub's rule is "over [`GZIP_ABOVE`]".
const GZIP_FROM: u64 = GZIP_ABOVE as u64 + 1;

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    Timestamp(millis)
}

/// A refusal on its way to the client.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    body: ErrorBody,
}

/// Marks an answer whose body is already an `ErrorBody`, so [`answer`] leaves it alone.
#[derive(Clone, Copy, Debug)]
struct Refused;

fn refuse(status: StatusCode, code: &str, en: impl Into<String>, ru: impl Into<String>) -> Refusal {
    Refusal {
        status,
        body: ErrorBody {
            code: code.into(),
            en: en.into(),
            ru: ru.into(),
        },
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let bytes = serde_json::to_vec(&self.body).unwrap_or_default();
        let mut response = (
            self.status,
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            bytes,
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED && self.body.code == "admin_token_missing" {
            // A browser opening the fleet page asks for the administrator's token.
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tally-hub\", charset=\"UTF-8\""),
            );
        }
        response.extensions_mut().insert(Refused);
        response
    }
}

fn internal() -> Refusal {
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "The hub failed to handle the request; nothing was changed. Try again later.",
        "Хаб не смог обработать запрос; ничего не изменено. Повторите позже.",
    )
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Refusal {
        tracing::error!("store: {error}");
        internal()
    }
}

/// Runs one store call on the blocking pool: store calls block (on SQLite's connection, on a
/// PostgreSQL round trip), and the runtime's workers must stay free for the sockets.
async fn with_store<T, F>(app: &App, call: F) -> Result<T, Refusal>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = Arc::clone(&app.store);
    match tokio::task::spawn_blocking(move || call(&store)).await {
        Ok(result) => result.map_err(Refusal::from),
        Err(error) => {
            tracing::error!("store call failed: {error}");
            Err(internal())
        }
    }
}

enum Reply {
    Json(Vec<u8>),
    Html(String),
    Csv(String),
    /// A file in 1C's windows-1251 (a shipment's UPD code list), with the name to save it as.
    Windows1251Xml(Vec<u8>, String),
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Json(bytes) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                bytes,
            )
                .into_response(),
            Reply::Html(text) => (
                [(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                )],
                text,
            )
                .into_response(),
            Reply::Csv(text) => (
                [
                    (
                        CONTENT_TYPE,
                        HeaderValue::from_static("text/csv; charset=utf-8"),
                    ),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        HeaderValue::from_static("attachment; filename=\"gismt-journal.csv\""),
                    ),
                ],
                text,
            )
                .into_response(),
            Reply::Windows1251Xml(bytes, name) => {
                let disposition =
                    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
                (
                    [
                        (
                            CONTENT_TYPE,
                            HeaderValue::from_static("application/xml; charset=windows-1251"),
                        ),
                        (axum::http::header::CONTENT_DISPOSITION, disposition),
                    ],
                    bytes,
                )
                    .into_response()
            }
        }
    }
}

fn json(value: &impl Serialize) -> Result<Reply, Refusal> {
    serde_json::to_vec(value)
        .map(Reply::Json)
        .map_err(|e| StoreError::Json(e).into())
}

/// The client's protocol version (1 when it names none), refused when too old.
fn check_protocol(headers: &HeaderMap) -> Result<u32, Refusal> {
    let Some(value) = headers.get(PROTOCOL_HEADER) else {
        return Ok(1);
    };
    let version: u32 = value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "bad_protocol_header",
                format!("The {PROTOCOL_HEADER} header must be a whole number."),
                format!("Заголовок {PROTOCOL_HEADER} должен быть целым числом."),
            )
        })?;
    if version < MIN_PROTOCOL_VERSION {
        return Err(refuse(
            StatusCode::UPGRADE_REQUIRED,
            "protocol_too_old",
            format!(
                "This terminal speaks hub protocol {version}; the hub needs {MIN_PROTOCOL_VERSION} \
                 or newer. Update the terminal's software."
            ),
            format!(
                "Терминал использует протокол хаба {version}, а хабу нужен {MIN_PROTOCOL_VERSION} \
                 или новее. Обновите программу терминала."
            ),
        ));
    }
    Ok(version)
}

/// The protocol version the client speaks, put on the request by [`answer::answer`].
#[derive(Clone, Copy, Debug)]
struct Protocol(u32);

fn not_found(path: &str) -> Refusal {
    refuse(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("The hub has nothing at {path}."),
        format!("По адресу {path} на хабе ничего нет."),
    )
}

fn method_not_allowed(method: &Method, path: &str) -> Refusal {
    refuse(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {path}."),
        format!("Метод {method} недопустим для {path}."),
    )
}

async fn unknown_path(uri: Uri) -> Refusal {
    not_found(uri.path())
}

async fn wrong_method(method: Method, uri: Uri) -> Refusal {
    method_not_allowed(&method, uri.path())
}

fn bad_query(rejection: &QueryRejection) -> Refusal {
    let reason = rejection.to_string();
    refuse(
        StatusCode::BAD_REQUEST,
        "bad_query",
        format!("The query is not understood: {reason}."),
        format!("Параметры запроса не распознаны: {reason}."),
    )
}

fn token_invalid() -> Refusal {
    refuse(
        StatusCode::UNAUTHORIZED,
        "token_invalid",
        "The device token is not valid: the terminal may have been removed. Enroll it again.",
        "Токен устройства недействителен: возможно, терминал удалён. Зарегистрируйте его снова.",
    )
}

/// The device whose bearer token this is; its id goes on the request's log line.
async fn authenticate(app: &App, headers: &HeaderMap) -> Result<Device, Refusal> {
    if !headers.contains_key(axum::http::header::AUTHORIZATION) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "token_missing",
            "No device token: enroll the terminal first (Authorization: Bearer TOKEN).",
            "Нет токена устройства: сначала зарегистрируйте терминал (Authorization: Bearer ТОКЕН).",
        ));
    }
    let token = headers
        .typed_get::<Authorization<Bearer>>()
        .map(|Authorization(bearer)| bearer.token().trim().to_owned())
        .filter(|token| !token.is_empty())
        .ok_or_else(token_invalid)?;
    let device = with_store(app, move |store| store.authenticate(&token))
        .await?
        .ok_or_else(token_invalid)?;
    tracing::Span::current().record("device", device.id);
    Ok(device)
}

/// The token of an administrator, from `Authorization: Bearer TOKEN` or, for a browser on the
/// fleet page, `Authorization: Basic` with the token as the password (any user name).
async fn authenticate_admin(app: &App, headers: &HeaderMap) -> Result<(), Refusal> {
    let token = if let Some(Authorization(bearer)) = headers.typed_get::<Authorization<Bearer>>() {
        Some(bearer.token().trim().to_owned())
    } else {
        headers
            .typed_get::<Authorization<Basic>>()
            .map(|Authorization(basic)| basic.password().to_owned())
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "admin_token_missing",
            "The fleet view needs an administrator's token (tally-hub admin-token).",
            "Для просмотра парка терминалов нужен токен администратора (tally-hub admin-token).",
        ));
    };
    if with_store(app, move |store| store.is_admin_token(&token)).await? {
        tracing::Span::current().record("admin", true);
        return Ok(());
    }
    Err(refuse(
        StatusCode::FORBIDDEN,
        "admin_only",
        "Only an administrator's token opens the fleet view; a terminal's token does not.",
        "Парк терминалов открывается только токеном администратора, токен терминала не подходит.",
    ))
}

/// The body as `T`: a body that is not JSON, and one of the wrong shape, are refused apart.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            refuse(
                StatusCode::BAD_REQUEST,
                "wrong_fields",
                format!("The request has a missing field or a value of the wrong type: {e}."),
                format!("В запросе нет обязательного поля или значение неверного типа: {e}."),
            )
        } else {
            refuse(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("The request body is not valid JSON: {e}."),
                format!("Тело запроса не является корректным JSON: {e}."),
            )
        }
    })
}

/// A text field past its bound (`tally_wire::limits`): refused before anything is read from
/// the store, naming the field.
fn too_long(oversized: Oversized) -> Refusal {
    refuse(
        StatusCode::BAD_REQUEST,
        "field_too_long",
        format!(
            "\"{}\" is longer than {} characters.",
            oversized.field, oversized.limit
        ),
        format!(
            "Поле «{}» длиннее {} символов.",
            oversized.field, oversized.limit
        ),
    )
}

async fn enroll(State(app): State<App>, upload: Upload) -> Result<Reply, Refusal> {
    let body: EnrollRequest = parse_json(&upload.read().await?)?;
    body.oversized().map_err(too_long)?;
    let enrolled = with_store(&app, move |store| {
        store.enroll(&body.code, &body.device_name, &body.app_version, now())
    })
    .await?;
    let Some(enrolled) = enrolled else {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "enrollment_code_invalid",
            "The enrollment code is unknown or already used: ask for a new one.",
            "Код регистрации неизвестен или уже использован: запросите новый.",
        ));
    };
    tracing::Span::current().record("device", enrolled.device.id);
    json(&EnrollResponse {
        device_id: enrolled.device.id,
        token: enrolled.token,
        warehouse: enrolled.device.warehouse,
        participant_inn: enrolled.device.participant_inn,
        sscc_serials: Some(SerialRange::for_device(enrolled.device.id)),
    })
}

async fn push(
    State(app): State<App>,
    headers: HeaderMap,
    upload: Upload,
) -> Result<Reply, Refusal> {
    // The token first: a stranger's body is not worth reading.
    let device = authenticate(&app, &headers).await?;
    let body: PushRequest = parse_json(&upload.read().await?)?;
    if body.operations.len() > MAX_PUSH_OPERATIONS {
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_operations",
            format!("At most {MAX_PUSH_OPERATIONS} operations go in one push."),
            format!("За один раз можно отправить не более {MAX_PUSH_OPERATIONS} операций."),
        ));
    }
    if let Some(bad) = body
        .operations
        .iter()
        .find(|op| uuid::Uuid::parse_str(&op.uuid).is_err())
    {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "bad_uuid",
            format!(
                "Operation {} has an id that is not a UUID: \"{}\".",
                bad.seq, bad.uuid
            ),
            format!(
                "У операции {} идентификатор не является UUID: «{}».",
                bad.seq, bad.uuid
            ),
        ));
    }
    body.oversized().map_err(too_long)?;
    if body.weight() > MAX_PUSH_CODES {
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_codes",
            format!("At most {MAX_PUSH_CODES} codes go in one push: send fewer operations."),
            format!(
                "За один раз можно отправить не более {MAX_PUSH_CODES} кодов: отправьте меньше операций."
            ),
        ));
    }
    let policy = Arc::clone(&app.policy);
    let answers = with_store(&app, move |store| {
        push::apply(store, &device, &body, &policy, now())
    })
    .await?;
    json(&PushResponse { answers })
}

/// A number in the query, absent when the parameter is. Not `Option<T>`: serde_html_form
/// reads an empty value (`?after=`) into `None`, and so a client that lost its cursor would be
/// served from the start as if it had sent none; the protocol's cursors and limits are numbers,
/// and an empty one is refused as any other non-number (`bad_query`).
#[derive(Clone, Copy, Debug, Default)]
struct Number<T>(Option<T>);

impl<'de, T> serde::Deserialize<'de> for Number<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Number<T>, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse()
            .map(|n| Number(Some(n)))
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, serde::Deserialize)]
struct PullQuery {
    #[serde(default)]
    after: Number<i64>,
    #[serde(default)]
    limit: Number<u32>,
    snapshot: Option<String>,
}

/// A page of a feed. A terminal of protocol 2 or newer whose cursor is below the feed's horizon
/// (it may have missed a pruned removal) gets the feed from the start marked `"snapshot":
/// true`: it replaces its copy and pages on with `snapshot=1`, which keeps the hub from
/// restarting the snapshot. An older terminal gets plain pages and keeps what it missed.
async fn pull(
    State(app): State<App>,
    headers: HeaderMap,
    Extension(Protocol(version)): Extension<Protocol>,
    uri: Uri,
    feed: Result<Path<String>, PathRejection>,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Reply, Refusal> {
    let device = authenticate(&app, &headers).await?;
    let feed = feed
        .ok()
        .and_then(|Path(name)| Feed::from_name(&name))
        .ok_or_else(|| not_found(uri.path()))?;
    let Query(query) = query.map_err(|e| bad_query(&e))?;
    let continuing = matches!(query.snapshot.as_deref(), Some("1" | "true"));
    let limit = query.limit.0.unwrap_or(1000).clamp(1, MAX_PULL_LIMIT);
    let mut after = query.after.0.unwrap_or(0);
    let (items, more, snapshot, after, statuses_as_of) = with_store(&app, move |store| {
        let mut snapshot = continuing && version >= SNAPSHOT_PROTOCOL;
        if !snapshot && version >= SNAPSHOT_PROTOCOL && after > 0 && after < store.horizon(feed)? {
            snapshot = true;
            after = 0;
        }
        let (items, more) = store.pull(feed, &device.warehouse, after, limit)?;
        // The list's age rides on the statuses pages only: that is the feed it dates.
        let statuses_as_of = if feed == Feed::Statuses && version >= VERDICTS_PROTOCOL {
            store.statuses_as_of(&device.warehouse)?
        } else {
            None
        };
        // Only a request that was answered counts as contact.
        store.touch(device.id, now())?;
        Ok((items, more, snapshot, after, statuses_as_of))
    })
    .await?;
    let next_after = items.last().map_or(after, |(seq, _)| *seq);
    Ok(Reply::Json(pull_body(
        feed,
        &items,
        next_after,
        more,
        snapshot,
        statuses_as_of,
    )))
}

/// Writes a `PullResponse` around items that already are JSON text (checked when they were
/// stored), instead of parsing each one into a tree only to write it out again.
fn pull_body(
    feed: Feed,
    items: &[(i64, String)],
    next_after: i64,
    more: bool,
    snapshot: bool,
    statuses_as_of: Option<i64>,
) -> Vec<u8> {
    let size = items.iter().map(|(_, item)| item.len() + 32).sum::<usize>() + 96;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(b"{\"feed\":\"");
    body.extend_from_slice(feed.name().as_bytes());
    body.extend_from_slice(b"\",\"items\":[");
    for (i, (seq, item)) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(format!("{{\"seq\":{seq},\"item\":").as_bytes());
        body.extend_from_slice(item.as_bytes());
        body.push(b'}');
    }
    body.extend_from_slice(format!("],\"next_after\":{next_after},\"more\":{more}").as_bytes());
    if snapshot {
        body.extend_from_slice(b",\"snapshot\":true");
    }
    if let Some(at) = statuses_as_of {
        body.extend_from_slice(format!(",\"statuses_as_of\":{at}").as_bytes());
    }
    body.push(b'}');
    body
}

#[derive(Debug, serde::Deserialize)]
struct DocumentsQuery {
    #[serde(default)]
    after: Number<i64>,
    #[serde(default)]
    limit: Number<u32>,
    #[serde(default)]
    kind: Vec<String>,
    #[serde(default, rename = "type")]
    doc_type: Vec<String>,
}

/// A page of GIS MT documents for an integrator. Any device token reads them, but only those of
/// its own warehouse's devices, as with the fleet; an administrator's view of every warehouse
/// is `tally-hub export`. `kind` and `type` may repeat; without either every kind is exported.
async fn documents(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<DocumentsQuery>, QueryRejection>,
) -> Result<Reply, Refusal> {
    let device = authenticate(&app, &headers).await?;
    let Query(query) = query.map_err(|e| bad_query(&e))?;
    let one_of = |name: &str, value: &str, names: Vec<&str>| {
        let names = names.join(", ");
        refuse(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("\"{name}\" must be one of {names}, not \"{value}\"."),
            format!("«{name}» должно быть одним из: {names}, а не «{value}»."),
        )
    };
    let mut types: Vec<DocType> = Vec::new();
    for kind in &query.kind {
        let kind = DocumentKind::from_name(kind).ok_or_else(|| {
            one_of(
                "kind",
                kind,
                DocumentKind::ALL.iter().map(|k| k.name()).collect(),
            )
        })?;
        types.extend_from_slice(DocType::made_from(kind));
    }
    for name in &query.doc_type {
        types.push(DocType::from_api_name(name).ok_or_else(|| {
            one_of(
                "type",
                name,
                DocType::ALL.iter().map(|t| t.api_name()).collect(),
            )
        })?);
    }
    let after = query.after.0.unwrap_or(0);
    let limit = query.limit.0.unwrap_or(1000).clamp(1, MAX_PULL_LIMIT);
    let page = with_store(&app, move |store| {
        let selection = documents::Selection {
            after,
            types: &types,
            warehouse: Some(&device.warehouse),
        };
        let page = documents::page(store, selection, limit)?;
        store.touch(device.id, now())?;
        Ok(page)
    })
    .await?;
    json(&page)
}

#[derive(Debug, serde::Deserialize)]
struct FleetQuery {
    warehouse: Option<String>,
}

async fn fleet_json(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<FleetQuery>, QueryRejection>,
) -> Result<Reply, Refusal> {
    authenticate_admin(&app, &headers).await?;
    let Query(query) = query.map_err(|e| bad_query(&e))?;
    json(&FleetResponse {
        now: now().millis(),
        devices: fleet(&app, query).await?,
    })
}

async fn fleet_html(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<FleetQuery>, QueryRejection>,
) -> Result<Reply, Refusal> {
    authenticate_admin(&app, &headers).await?;
    let Query(query) = query.map_err(|e| bad_query(&e))?;
    let ages = with_store(&app, |store| store.warehouse_ages()).await?;
    Ok(Reply::Html(fleet_page(
        &fleet(&app, query).await?,
        &ages,
        now(),
    )))
}

#[derive(Debug, serde::Deserialize)]
struct ResultsQuery {
    warehouse: Option<String>,
    // `Number`, not `Option`: an integrator whose cursor came out empty (`?after=`) must be
    // told, not paged from the start again.
    #[serde(default)]
    after: Number<i64>,
    #[serde(default)]
    limit: Number<u32>,
}

/// The most results one page of `/v1/results` answers.
const RESULTS_PAGE_MAX: u32 = 10_000;

/// What the warehouse did, for integrators' own processing: the results 1C's sale exchange
/// sends, as JSON, oldest first after the cursor `after` (the `next` of the page before).
async fn results_json(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<ResultsQuery>, QueryRejection>,
) -> Result<Reply, Refusal> {
    authenticate_admin(&app, &headers).await?;
    let Query(query) = query.map_err(|e| bad_query(&e))?;
    let after = query.after.0.unwrap_or(0);
    let limit = query.limit.0.unwrap_or(1000).clamp(1, RESULTS_PAGE_MAX);
    let warehouse = query.warehouse.filter(|w| !w.is_empty());
    let results = with_store(&app, move |store| {
        let rows = store.results_page(warehouse.as_deref(), after, limit)?;
        let next = rows.last().map_or(after, |r| r.id);
        Ok((crate::onec::results::load(store, &rows)?, next))
    })
    .await?;
    json(&serde_json::json!({"results": results.0, "next": results.1}))
}

/// A shipment's marking codes for its outgoing UPD (`onec::upd`), as a windows-1251 XML file.
/// Not found unless the id is an applied shipment's.
async fn result_upd(
    State(app): State<App>,
    headers: HeaderMap,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
) -> Result<Reply, Refusal> {
    authenticate_admin(&app, &headers).await?;
    let Ok(Path(id)) = id else {
        return Err(not_found(uri.path()));
    };
    let file = with_store(&app, move |store| {
        let Some(row) = store.result_of(&id)? else {
            return Ok(None);
        };
        Ok(crate::onec::results::load(store, &[row])?
            .first()
            .and_then(|result| Some((crate::onec::upd::code_list(result)?, result.id.clone()))))
    })
    .await?;
    match file {
        // The UUID is hex and dashes: safe in a header as it is.
        Some((bytes, id)) => Ok(Reply::Windows1251Xml(bytes, format!("upd-codes-{id}.xml"))),
        None => Err(not_found(uri.path())),
    }
}

/// 1C's site exchange (`server/onec.rs`), for GET and POST alike: 1C sends some modes one way
/// and some the other.
async fn onec_exchange(
    state: State<App>,
    peer: axum::extract::ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<onec::ExchangeQuery>, QueryRejection>,
    upload: Upload,
) -> onec::Answer {
    onec::exchange(state, peer, headers, query, upload).await
}

/// An administrator's journal query, read whole before the store is asked.
async fn journal_query(
    app: &App,
    headers: &HeaderMap,
    query: Result<Query<journal::JournalQuery>, QueryRejection>,
) -> Result<(journal::JournalQuery, crate::store::link::JournalFilter), Refusal> {
    authenticate_admin(app, headers).await?;
    let Query(query) = query.map_err(|e| bad_query(&e))?;
    let filter = query
        .filter()
        .map_err(|(code, en, ru)| refuse(StatusCode::BAD_REQUEST, code, en, ru))?;
    Ok((query, filter))
}

/// The exchange journal as JSON, or CSV with `format=csv`.
async fn journal_json(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<journal::JournalQuery>, QueryRejection>,
) -> Result<Reply, Refusal> {
    let (query, filter) = journal_query(&app, &headers, query).await?;
    let limit = filter.limit;
    let rows = with_store(&app, move |store| store.journal(&filter)).await?;
    let page = journal::page(rows, limit, now());
    if query.csv() {
        return Ok(Reply::Csv(journal::csv(&page.entries)));
    }
    json(&page)
}

/// The exchange journal's page, for a browser.
async fn journal_html(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<journal::JournalQuery>, QueryRejection>,
) -> Result<Reply, Refusal> {
    let (query, filter) = journal_query(&app, &headers, query).await?;
    let limit = filter.limit;
    let (rows, ages) = with_store(&app, move |store| {
        Ok((store.journal(&filter)?, store.warehouse_ages()?))
    })
    .await?;
    let warehouses: Vec<String> = ages.into_iter().map(|(w, _)| w).collect();
    let page = journal::page(rows, limit, now());
    Ok(Reply::Html(journal::html(&query, &page, &warehouses)))
}

/// Every terminal, or those of one warehouse (`?warehouse=W1`), for an administrator.
async fn fleet(app: &App, query: FleetQuery) -> Result<Vec<FleetDevice>, Refusal> {
    let mut devices = with_store(app, |store| store.fleet()).await?;
    if let Some(warehouse) = query.warehouse {
        devices.retain(|d| d.warehouse == warehouse);
    }
    Ok(devices)
}

/// The process is up; nothing else is asked.
async fn healthz() -> Reply {
    Reply::Json(br#"{"status":"ok"}"#.to_vec())
}

/// The process is up and its store answers.
async fn readyz(State(app): State<App>) -> Result<Reply, Refusal> {
    let not_ready = || {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "The hub cannot reach its database yet.",
            "Хаб пока не может обратиться к своей базе данных.",
        )
    };
    match with_store(&app, |store| Ok(store.ping())).await {
        Ok(Ok(())) => Ok(Reply::Json(br#"{"status":"ok"}"#.to_vec())),
        Ok(Err(error)) => {
            tracing::error!("not ready: {error}");
            Err(not_ready())
        }
        Err(_) => Err(not_ready()),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn age(now: Timestamp, then: Option<i64>) -> String {
    match then {
        None => "never".into(),
        Some(t) => {
            let minutes = (now.millis() - t).max(0) / 60_000;
            if minutes < 120 {
                format!("{minutes} min ago")
            } else {
                format!("{} h ago", minutes / 60)
            }
        }
    }
}

fn fleet_page(devices: &[FleetDevice], ages: &[(String, Option<i64>)], now: Timestamp) -> String {
    let rows: String = devices
        .iter()
        .map(|d| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td></tr>\n",
                d.device_id,
                escape(&d.warehouse),
                escape(&d.name),
                if d.revoked_at.is_some() {
                    " (revoked)"
                } else {
                    ""
                },
                age(now, d.last_contact),
                d.queue_depth,
                age(now, d.cache_synced_at),
                escape(&d.app_version),
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Tally fleet</title></head><body>\n<h1>Terminals</h1>\n\
         <table border=\"1\"><tr><th>id</th><th>warehouse</th><th>name</th>\
         <th>last contact</th><th>queue</th><th>status list synced</th><th>version</th></tr>\n\
         {rows}</table>\n<h2>Status lists read from GIS MT</h2>\n\
         <table border=\"1\" id=\"lists\"><tr><th>warehouse</th><th>read whole</th></tr>\n\
         {lists}</table>\n<p><a href=\"/journal\">GIS MT exchange journal</a></p></body></html>\n",
        lists = ages
            .iter()
            .map(|(warehouse, at)| format!(
                "<tr><td>{}</td><td>{}</td></tr>\n",
                escape(warehouse),
                age(now, *at)
            ))
            .collect::<String>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_pull_body_is_a_pull_response() {
        use tally_wire::PullResponse;
        let items = vec![
            (
                3,
                r#"{"cis":"010469025752852321A","status":"INTRODUCED"}"#.to_string(),
            ),
            (7, r#"{"cis":"010469025752852321\u001dB"}"#.to_string()),
        ];
        let body = pull_body(Feed::Statuses, &items, 7, true, false, Some(5));
        let page: PullResponse = serde_json::from_slice(&body).unwrap();
        assert_eq!(page.feed, Feed::Statuses);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[1].seq, 7);
        assert_eq!(page.items[1].item["cis"], "010469025752852321\u{1d}B");
        assert_eq!((page.next_after, page.more), (7, true));
        assert_eq!(page.statuses_as_of, Some(5));
        let empty: PullResponse =
            serde_json::from_slice(&pull_body(Feed::Tasks, &[], 0, false, false, None)).unwrap();
        assert!(empty.items.is_empty() && !empty.more && !empty.snapshot);
        assert_eq!(empty.statuses_as_of, None);
        let snapshot: PullResponse =
            serde_json::from_slice(&pull_body(Feed::Tasks, &[], 0, false, true, None)).unwrap();
        assert!(snapshot.snapshot);
    }

    #[test]
    fn cursors_and_limits_given_empty_are_refused_not_taken_as_absent() {
        let read = |query: &str| {
            let uri: Uri = format!("/v1/pull/statuses{query}").parse().unwrap();
            Query::<PullQuery>::try_from_uri(&uri).map(|Query(q)| (q.after.0, q.limit.0))
        };
        assert_eq!(read("").unwrap(), (None, None));
        assert_eq!(read("?after=-3&limit=7").unwrap(), (Some(-3), Some(7)));
        // schemathesis found `?limit=` served as if no limit had been named.
        for refused in [
            "?after=",
            "?limit=",
            "?after=1&after=2",
            "?limit=-1",
            "?after=1e3",
        ] {
            assert!(read(refused).is_err(), "{refused}");
        }
        let uri: Uri = "/v1/documents?after=&kind=write-off".parse().unwrap();
        assert!(Query::<DocumentsQuery>::try_from_uri(&uri).is_err());
    }

    #[test]
    fn basic_credentials_give_the_password_as_the_token() {
        let mut headers = HeaderMap::new();
        // "admin:s3cret:with:colons" in base64: the password runs from the first colon.
        headers.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWRtaW46czNjcmV0OndpdGg6Y29sb25z"),
        );
        let Some(Authorization(basic)) = headers.typed_get::<Authorization<Basic>>() else {
            panic!("Basic credentials not read");
        };
        assert_eq!(basic.password(), "s3cret:with:colons");
        headers.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_static("Basic a*b="),
        );
        assert!(headers.typed_get::<Authorization<Basic>>().is_none());
    }

    #[test]
    fn protocol_versions_are_read_and_old_ones_refused() {
        let mut headers = HeaderMap::new();
        assert_eq!(check_protocol(&headers).unwrap(), 1, "none named: 1");
        headers.insert(PROTOCOL_HEADER, HeaderValue::from_static(" 2 "));
        assert_eq!(check_protocol(&headers).unwrap(), 2);
        headers.insert(PROTOCOL_HEADER, HeaderValue::from_static("v1"));
        assert_eq!(
            check_protocol(&headers).unwrap_err().body.code,
            "bad_protocol_header"
        );
        headers.insert(PROTOCOL_HEADER, HeaderValue::from_static("0"));
        let old = check_protocol(&headers).unwrap_err();
        assert_eq!(
            (old.status, old.body.code.as_str()),
            (StatusCode::UPGRADE_REQUIRED, "protocol_too_old")
        );
    }
}
