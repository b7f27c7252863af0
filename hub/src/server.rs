//! The hub's HTTP face: routing, bearer-token auth, protocol negotiation, body limits and the
//! JSON error bodies of `tally_wire`.
//!
//! tiny_http is a blocking server: a few worker threads take requests from its queue and share
//! the one [`Store`] behind a mutex. A warehouse has tens of terminals syncing now and then, and
//! SQLite has one writer anyway, so an async runtime would buy nothing here but build time.
//! Every refusal is decided before anything is written: a request is parsed and checked whole,
//! then applied in one store transaction.
//!
//! Answers over [`GZIP_ABOVE`] bytes go gzipped to a client that sends `Accept-Encoding: gzip`
//! (ureq does, and unpacks them): a pull page of statuses shrinks about eightfold on a dock's
//! Wi-Fi. The fleet view takes an administrator's token (`tally-hub admin-token`), never a
//! device's. With `--tls-cert`, [`crate::tls`] terminates TLS in front of this server.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tally_domain::status::Timestamp;
use tally_domain::validate::Policy;
use tally_wire::{
    EnrollRequest, EnrollResponse, ErrorBody, Feed, FleetDevice, FleetResponse, MAX_PULL_LIMIT,
    MAX_PUSH_OPERATIONS, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION, PushRequest,
    PushResponse, SerialRange,
};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::documents::{self, DocType};
use crate::push;
use crate::store::{Device, Store, StoreError};
use crate::tls::TlsFront;
use tally_wire::DocumentKind;

/// The largest request body taken, before and after gzip: a full push batch of big documents
/// fits with room to spare.
pub const MAX_BODY_BYTES: u64 = 16 << 20;
/// A body up to this size is read and dropped before answering 413, so the client, which sends
/// the whole body before it reads, gets the answer rather than a reset connection.
const DRAIN_LIMIT: u64 = 64 << 20;
const WORKERS: usize = 4;
/// Answers larger than this are gzipped for a client that accepts it; smaller ones are not
/// worth the CPU (an enrollment, a push answer of a few operations).
pub const GZIP_ABOVE: usize = 8 << 10;
/// The first protocol version that understands snapshot pages (`"snapshot": true`).
const SNAPSHOT_PROTOCOL: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: String, message: String },
}

/// Where the hub listens and whether it speaks TLS there.
enum Front {
    Plain,
    Tls(TlsFront),
}

/// A bound hub, ready to serve.
pub struct Hub {
    server: Arc<Server>,
    state: Arc<State>,
    front: Front,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct State {
    store: Mutex<Store>,
    policy: Policy,
}

impl Hub {
    pub fn bind(store: Store, addr: &str) -> Result<Hub, ServeError> {
        let bind_error = |message: String| ServeError::Bind {
            addr: addr.to_owned(),
            message,
        };
        let listener = std::net::TcpListener::bind(addr).map_err(|e| bind_error(e.to_string()))?;
        // tiny_http writes an answer's headers and its body apart; with Nagle's algorithm a
        // small body (a gzipped push answer) then waits for the terminal's delayed ACK, 40 ms
        // a request. Accepted sockets inherit TCP_NODELAY from the listener.
        nix::sys::socket::setsockopt(&listener, nix::sys::socket::sockopt::TcpNoDelay, &true)
            .map_err(|e| bind_error(e.to_string()))?;
        let server =
            Server::from_listener(listener, None).map_err(|e| bind_error(e.to_string()))?;
        Ok(Hub {
            server: Arc::new(server),
            state: Arc::new(State {
                store: Mutex::new(store),
                policy: push::hub_policy(),
            }),
            front: Front::Plain,
        })
    }

    /// A hub speaking HTTPS on `addr` with this certificate (see [`crate::tls`]); its HTTP
    /// server listens on a loopback port that only the TLS relay uses.
    pub fn bind_tls(
        store: Store,
        addr: &str,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<Hub, ServeError> {
        let mut hub = Hub::bind(store, "127.0.0.1:0")?;
        let bind_error = |message: String| ServeError::Bind {
            addr: addr.to_owned(),
            message,
        };
        let backend = hub
            .server
            .server_addr()
            .to_ip()
            .ok_or_else(|| bind_error("no loopback address for the relay".into()))?;
        let front = TlsFront::bind(addr, tls, backend).map_err(|e| bind_error(e.to_string()))?;
        hub.front = Front::Tls(front);
        Ok(hub)
    }

    /// The address bound, with the port the system chose for port 0.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.front {
            Front::Plain => self.server.server_addr().to_ip(),
            Front::Tls(front) => front.local_addr(),
        }
    }

    /// `https` when the hub terminates TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        match self.front {
            Front::Plain => "http",
            Front::Tls(_) => "https",
        }
    }

    /// Serves until the listener fails; blocks the calling thread.
    pub fn run(self) {
        if let Front::Tls(front) = self.front {
            thread::spawn(move || front.run());
        }
        let workers: Vec<_> = (1..WORKERS)
            .map(|_| {
                let server = Arc::clone(&self.server);
                let state = Arc::clone(&self.state);
                thread::spawn(move || serve_loop(&server, &state))
            })
            .collect();
        serve_loop(&self.server, &self.state);
        for worker in workers {
            let _ = worker.join();
        }
    }
}

fn serve_loop(server: &Server, state: &State) {
    while let Ok(request) = server.recv() {
        handle(request, state);
    }
}

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
    status: u16,
    body: ErrorBody,
}

fn refuse(status: u16, code: &str, en: impl Into<String>, ru: impl Into<String>) -> Refusal {
    Refusal {
        status,
        body: ErrorBody {
            code: code.into(),
            en: en.into(),
            ru: ru.into(),
        },
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Refusal {
        eprintln!("tally-hub: {error}");
        refuse(
            500,
            "internal",
            "The hub failed to handle the request; nothing was changed. Try again later.",
            "Хаб не смог обработать запрос; ничего не изменено. Повторите позже.",
        )
    }
}

enum Reply {
    Json(Vec<u8>),
    Html(String),
}

fn json(value: &impl Serialize) -> Result<Reply, Refusal> {
    serde_json::to_vec(value)
        .map(Reply::Json)
        .map_err(|e| StoreError::Json(e).into())
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn handle(mut request: Request, state: &State) {
    let (status, reply, challenge) = match route(&mut request, state) {
        Ok(reply) => (200, reply, false),
        Err(refusal) => {
            let body = serde_json::to_vec(&refusal.body).unwrap_or_default();
            let challenge = refusal.status == 401 && refusal.body.code == "admin_token_missing";
            (refusal.status, Reply::Json(body), challenge)
        }
    };
    let (bytes, content_type) = match reply {
        Reply::Json(bytes) => (bytes, "application/json"),
        Reply::Html(text) => (text.into_bytes(), "text/html; charset=utf-8"),
    };
    let (bytes, gzipped) = if bytes.len() > GZIP_ABOVE && accepts_gzip(&request) {
        match gzip(&bytes) {
            Ok(packed) => (packed, true),
            // Compression into memory does not fail; if it did, the plain body still serves.
            Err(_) => (bytes, false),
        }
    } else {
        (bytes, false)
    };
    let mut response = Response::from_data(bytes).with_status_code(status);
    for h in [
        header("Content-Type", content_type),
        header(PROTOCOL_HEADER, &PROTOCOL_VERSION.to_string()),
        // Caches between terminal and hub must not hand a gzipped answer to a client that
        // did not ask for one.
        header("Vary", "Accept-Encoding"),
        gzipped
            .then(|| header("Content-Encoding", "gzip"))
            .flatten(),
        // A browser opening the fleet page asks for the administrator's token.
        challenge
            .then(|| {
                header(
                    "WWW-Authenticate",
                    "Basic realm=\"tally-hub\", charset=\"UTF-8\"",
                )
            })
            .flatten(),
    ]
    .into_iter()
    .flatten()
    {
        response.add_header(h);
    }
    // The client may have gone; there is no one left to tell.
    let _ = request.respond(response);
}

/// Whether the client takes a gzipped answer: `gzip` (or `x-gzip`) in `Accept-Encoding`,
/// without `q=0`.
fn accepts_gzip(request: &Request) -> bool {
    request
        .headers()
        .iter()
        .filter(|h| h.field.equiv("Accept-Encoding"))
        .flat_map(|h| h.value.as_str().split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip")) && !refused
        })
}

fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    // The fast level: JSON of codes compresses well at it, and the hub serves many terminals.
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 6), Compression::fast());
    io::Write::write_all(&mut encoder, bytes)?;
    encoder.finish()
}

fn header_value<'a>(request: &'a Request, name: &'static str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

/// The client's protocol version (1 when it names none), refused when too old.
fn check_protocol(request: &Request) -> Result<u32, Refusal> {
    let Some(text) = header_value(request, PROTOCOL_HEADER) else {
        return Ok(1);
    };
    let version: u32 = text.trim().parse().map_err(|_| {
        refuse(
            400,
            "bad_protocol_header",
            format!("The {PROTOCOL_HEADER} header must be a whole number."),
            format!("Заголовок {PROTOCOL_HEADER} должен быть целым числом."),
        )
    })?;
    if version < MIN_PROTOCOL_VERSION {
        return Err(refuse(
            426,
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

fn route(request: &mut Request, state: &State) -> Result<Reply, Refusal> {
    let version = check_protocol(request)?;
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let method = request.method().clone();
    match (&method, path) {
        (Method::Post, "/v1/enroll") => enroll(request, state),
        (Method::Post, "/v1/push") => {
            let device = authenticate(request, state)?;
            push(request, state, &device)
        }
        (Method::Get, "/v1/fleet") => {
            authenticate_admin(request, state)?;
            json(&FleetResponse {
                now: now().millis(),
                devices: fleet(state, query)?,
            })
        }
        (Method::Get, "/fleet") => {
            authenticate_admin(request, state)?;
            Ok(Reply::Html(fleet_page(&fleet(state, query)?, now())))
        }
        (Method::Get, "/v1/documents") => {
            let device = authenticate(request, state)?;
            documents(state, &device, query)
        }
        (Method::Get, _) if path.starts_with("/v1/pull/") => {
            let device = authenticate(request, state)?;
            pull(state, &device, &path["/v1/pull/".len()..], query, version)
        }
        (_, "/v1/enroll" | "/v1/push" | "/v1/fleet" | "/fleet" | "/v1/documents") => Err(refuse(
            405,
            "method_not_allowed",
            format!("{method} is not allowed on {path}."),
            format!("Метод {method} недопустим для {path}."),
        )),
        _ => Err(not_found(path)),
    }
}

fn not_found(path: &str) -> Refusal {
    refuse(
        404,
        "not_found",
        format!("The hub has nothing at {path}."),
        format!("По адресу {path} на хабе ничего нет."),
    )
}

fn lock(state: &State) -> MutexGuard<'_, Store> {
    // A panic mid-request rolled its transaction back, so the store itself is sound.
    state
        .store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn authenticate(request: &Request, state: &State) -> Result<Device, Refusal> {
    let Some(value) = header_value(request, "Authorization") else {
        return Err(refuse(
            401,
            "token_missing",
            "No device token: enroll the terminal first (Authorization: Bearer TOKEN).",
            "Нет токена устройства: сначала зарегистрируйте терминал (Authorization: Bearer ТОКЕН).",
        ));
    };
    let token = value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let device = match token {
        Some(token) => lock(state).authenticate(token, now())?,
        None => None,
    };
    device.ok_or_else(|| {
        refuse(
            401,
            "token_invalid",
            "The device token is not valid: the terminal may have been removed. Enroll it again.",
            "Токен устройства недействителен: возможно, терминал удалён. Зарегистрируйте его снова.",
        )
    })
}

/// The token of an administrator, from `Authorization: Bearer TOKEN` or, for a browser on the
/// fleet page, `Authorization: Basic` with the token as the password (any user name).
fn authenticate_admin(request: &Request, state: &State) -> Result<(), Refusal> {
    let value = header_value(request, "Authorization").unwrap_or("").trim();
    let token = if let Some(token) = value.strip_prefix("Bearer ") {
        Some(token.trim().to_owned())
    } else if let Some(encoded) = value.strip_prefix("Basic ") {
        base64_decode(encoded.trim())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|pair| {
                pair.split_once(':')
                    .map(|(_, password)| password.to_owned())
            })
    } else {
        None
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(refuse(
            401,
            "admin_token_missing",
            "The fleet view needs an administrator's token (tally-hub admin-token).",
            "Для просмотра парка терминалов нужен токен администратора (tally-hub admin-token).",
        ));
    };
    let store = lock(state);
    if store.is_admin_token(&token)? {
        return Ok(());
    }
    Err(refuse(
        403,
        "admin_only",
        "Only an administrator's token opens the fleet view; a terminal's token does not.",
        "Парк терминалов открывается только токеном администратора, токен терминала не подходит.",
    ))
}

/// Standard base64 (padding optional); `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let digits = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= value(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

fn too_large() -> Refusal {
    refuse(
        413,
        "body_too_large",
        format!(
            "The request is larger than {} MiB: send fewer operations at a time.",
            MAX_BODY_BYTES >> 20
        ),
        format!(
            "Запрос больше {} МиБ: отправляйте меньше операций за раз.",
            MAX_BODY_BYTES >> 20
        ),
    )
}

/// The body, gunzipped when the client says so, refused past [`MAX_BODY_BYTES`].
fn read_body(request: &mut Request) -> Result<Vec<u8>, Refusal> {
    let declared = request.body_length().map(|n| n as u64);
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        if declared.is_some_and(|n| n <= DRAIN_LIMIT) {
            let _ = io::copy(&mut request.as_reader().take(DRAIN_LIMIT), &mut io::sink());
        }
        return Err(too_large());
    }
    let gzip = header_value(request, "Content-Encoding")
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("gzip"));
    let read_error = |e: io::Error| {
        refuse(
            400,
            "unreadable_body",
            format!("The request body could not be read: {e}."),
            format!("Не удалось прочитать тело запроса: {e}."),
        )
    };
    let mut raw = Vec::new();
    request
        .as_reader()
        .take(MAX_BODY_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(read_error)?;
    if raw.len() as u64 > MAX_BODY_BYTES {
        let _ = io::copy(&mut request.as_reader().take(DRAIN_LIMIT), &mut io::sink());
        return Err(too_large());
    }
    if !gzip {
        return Ok(raw);
    }
    let mut body = Vec::new();
    MultiGzDecoder::new(raw.as_slice())
        .take(MAX_BODY_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(read_error)?;
    if body.len() as u64 > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(body)
}

fn read_json<T: DeserializeOwned>(request: &mut Request) -> Result<T, Refusal> {
    let body = read_body(request)?;
    serde_json::from_slice(&body).map_err(|e| {
        if e.is_data() {
            refuse(
                400,
                "wrong_fields",
                format!("The request has a missing field or a value of the wrong type: {e}."),
                format!("В запросе нет обязательного поля или значение неверного типа: {e}."),
            )
        } else {
            refuse(
                400,
                "malformed_json",
                format!("The request body is not valid JSON: {e}."),
                format!("Тело запроса не является корректным JSON: {e}."),
            )
        }
    })
}

fn enroll(request: &mut Request, state: &State) -> Result<Reply, Refusal> {
    let body: EnrollRequest = read_json(request)?;
    let enrolled = lock(state).enroll(&body.code, &body.device_name, &body.app_version, now())?;
    let Some(enrolled) = enrolled else {
        return Err(refuse(
            403,
            "enrollment_code_invalid",
            "The enrollment code is unknown or already used: ask for a new one.",
            "Код регистрации неизвестен или уже использован: запросите новый.",
        ));
    };
    json(&EnrollResponse {
        device_id: enrolled.device.id,
        token: enrolled.token,
        warehouse: enrolled.device.warehouse,
        participant_inn: enrolled.device.participant_inn,
        sscc_serials: Some(SerialRange::for_device(enrolled.device.id)),
    })
}

fn push(request: &mut Request, state: &State, device: &Device) -> Result<Reply, Refusal> {
    let body: PushRequest = read_json(request)?;
    if body.operations.len() > MAX_PUSH_OPERATIONS {
        return Err(refuse(
            413,
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
            400,
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
    let answers = push::apply(&lock(state), device, &body, &state.policy, now())?;
    json(&PushResponse { answers })
}

/// A page of a feed. A terminal of protocol 2 or newer whose cursor is below the feed's horizon
/// (it may have missed a pruned removal) gets the feed from the start marked `"snapshot":
/// true`: it replaces its copy and pages on with `snapshot=1`, which keeps the hub from
/// restarting the snapshot. An older terminal gets plain pages and keeps what it missed.
fn pull(
    state: &State,
    device: &Device,
    feed: &str,
    query: &str,
    version: u32,
) -> Result<Reply, Refusal> {
    let Some(feed) = Feed::from_name(feed) else {
        return Err(not_found(&format!("/v1/pull/{feed}")));
    };
    let mut after = 0i64;
    let mut limit = 1000u32;
    let mut continuing = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let bad = || {
            refuse(
                400,
                "bad_query",
                format!("\"{name}\" must be a whole number, not \"{value}\"."),
                format!("«{name}» должно быть целым числом, а не «{value}»."),
            )
        };
        match name {
            "after" => after = value.parse().map_err(|_| bad())?,
            "limit" => limit = value.parse().map_err(|_| bad())?,
            "snapshot" => continuing = value == "1" || value == "true",
            _ => {}
        }
    }
    let limit = limit.clamp(1, MAX_PULL_LIMIT);
    let store = lock(state);
    let mut snapshot = continuing && version >= SNAPSHOT_PROTOCOL;
    if !snapshot && version >= SNAPSHOT_PROTOCOL && after > 0 && after < store.horizon(feed)? {
        snapshot = true;
        after = 0;
    }
    let (items, more) = store.pull(feed, &device.warehouse, after, limit)?;
    drop(store);
    let next_after = items.last().map_or(after, |(seq, _)| *seq);
    Ok(Reply::Json(pull_body(
        feed, &items, next_after, more, snapshot,
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
    body.push(b'}');
    body
}

/// A page of GIS MT documents for an integrator. Any device token reads them, but only those of
/// its own warehouse's devices, as with the fleet; an administrator's view of every warehouse
/// is `tally-hub export`. `kind` may repeat; without one every kind is exported.
fn documents(state: &State, device: &Device, query: &str) -> Result<Reply, Refusal> {
    let mut after = 0i64;
    let mut limit = 1000u32;
    let mut types: Vec<DocType> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let bad = || {
            refuse(
                400,
                "bad_query",
                format!("\"{name}\" must be a whole number, not \"{value}\"."),
                format!("«{name}» должно быть целым числом, а не «{value}»."),
            )
        };
        let one_of = |names: Vec<&str>| {
            let names = names.join(", ");
            refuse(
                400,
                "bad_query",
                format!("\"{name}\" must be one of {names}, not \"{value}\"."),
                format!("«{name}» должно быть одним из: {names}, а не «{value}»."),
            )
        };
        match name {
            "after" => after = value.parse().map_err(|_| bad())?,
            "limit" => limit = value.parse().map_err(|_| bad())?,
            "kind" => {
                let kind = DocumentKind::from_name(value)
                    .ok_or_else(|| one_of(DocumentKind::ALL.iter().map(|k| k.name()).collect()))?;
                types.extend_from_slice(DocType::made_from(kind));
            }
            "type" => types.push(
                DocType::from_api_name(value)
                    .ok_or_else(|| one_of(DocType::ALL.iter().map(|t| t.api_name()).collect()))?,
            ),
            _ => {}
        }
    }
    let selection = documents::Selection {
        after,
        types: &types,
        warehouse: Some(&device.warehouse),
    };
    let page = documents::page(&lock(state), selection, limit.clamp(1, MAX_PULL_LIMIT))?;
    json(&page)
}

/// Every terminal, or those of one warehouse (`?warehouse=W1`), for an administrator.
fn fleet(state: &State, query: &str) -> Result<Vec<FleetDevice>, Refusal> {
    let mut devices = lock(state).fleet()?;
    let warehouse = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "warehouse")
        .map(|(_, value)| value);
    if let Some(warehouse) = warehouse {
        devices.retain(|d| d.warehouse == warehouse);
    }
    Ok(devices)
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

fn fleet_page(devices: &[FleetDevice], now: Timestamp) -> String {
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
         {rows}</table></body></html>\n",
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
        let body = pull_body(Feed::Statuses, &items, 7, true, false);
        let page: PullResponse = serde_json::from_slice(&body).unwrap();
        assert_eq!(page.feed, Feed::Statuses);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[1].seq, 7);
        assert_eq!(page.items[1].item["cis"], "010469025752852321\u{1d}B");
        assert_eq!((page.next_after, page.more), (7, true));
        let empty: PullResponse =
            serde_json::from_slice(&pull_body(Feed::Tasks, &[], 0, false, false)).unwrap();
        assert!(empty.items.is_empty() && !empty.more && !empty.snapshot);
        let snapshot: PullResponse =
            serde_json::from_slice(&pull_body(Feed::Tasks, &[], 0, false, true)).unwrap();
        assert!(snapshot.snapshot);
    }

    #[test]
    fn base64_reads_basic_credentials() {
        assert_eq!(
            base64_decode("YWRtaW46czNjcmV0").unwrap(),
            b"admin:s3cret".to_vec()
        );
        assert_eq!(base64_decode("YQ==").unwrap(), b"a".to_vec());
        assert_eq!(base64_decode("YWI").unwrap(), b"ab".to_vec());
        assert!(base64_decode("Y").is_none());
        assert!(base64_decode("a*b=").is_none());
    }
}
