//! The HTTP side: the True API calls of docs/true-api.md, the `/emulator/*` control calls, and
//! the connections served by hand so that a fault can hold a request or close its connection
//! without an answer.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State as AppState};
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tally_domain::product_group::ProductGroup;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower::ServiceExt as _;

use crate::clock;
use crate::cms::Verifier;
use crate::dispenser;
use crate::rules;
use crate::state::{
    CisInfo, DocStatus, Document, Fault, FaultKind, State, TOKEN_LIFETIME, Token, field, spellings,
};

/// The document types the emulator takes and judges; each needs its schema in `--schemas`.
pub const DOCUMENT_TYPES: &[&str] = &[
    "LP_ACCEPT_GOODS",
    "LP_SHIP_GOODS",
    "AGGREGATION_DOCUMENT",
    "DISAGGREGATION_DOCUMENT",
    "REAGGREGATION_DOCUMENT",
    "LK_RECEIPT",
    "LK_KM_CANCELLATION",
    "LK_APPLIED_KM_CANCELLATION",
    "LK_REMARK",
    "LP_RETURN",
];

/// `cises/info` takes at most this many codes a call.
const MAX_CISES: usize = 1000;
/// `doc/list`'s largest `limit`.
const MAX_LIST: usize = 10_000;
/// How long a `stall` fault holds a request before it closes the connection unanswered.
const STALL: Duration = Duration::from_secs(60);

/// What `true-api-emulator` is started with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub ca: PathBuf,
    pub schemas: PathBuf,
    pub codes: Option<PathBuf>,
    pub checking_polls: u32,
}

struct App {
    state: Mutex<State>,
    verifier: Verifier,
    schemas: HashMap<String, jsonschema::Validator>,
}

impl App {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A handler never panics holding the lock; if one did, the data is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Reads JSON lines of `cisInfo` objects, each with its `cis`.
pub fn parse_codes(text: &str) -> Result<Vec<CisInfo>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        let Value::Object(info) = value else {
            return Err(format!("line {}: not a cisInfo object", n + 1));
        };
        if field(&info, "cis").is_empty() {
            return Err(format!("line {}: a cisInfo needs its \"cis\"", n + 1));
        }
        out.push(info);
    }
    Ok(out)
}

fn load_schemas(dir: &Path) -> anyhow::Result<HashMap<String, jsonschema::Validator>> {
    let mut out = HashMap::new();
    for name in DOCUMENT_TYPES {
        let path = dir.join(format!("{name}.schema.json"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the schema {}", path.display()))?;
        let schema: Value = serde_json::from_str(&text)
            .with_context(|| format!("parsing the schema {}", path.display()))?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| anyhow::anyhow!("the schema {}: {e}", path.display()))?;
        out.insert((*name).to_owned(), validator);
    }
    Ok(out)
}

/// Binds, prints `listening on http://ADDR` and serves until killed.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let schemas = load_schemas(&config.schemas)?;
    let ca = config
        .ca
        .canonicalize()
        .with_context(|| format!("the CA certificate {}", config.ca.display()))?;
    let mut state = State {
        checking_polls: config.checking_polls,
        ..State::default()
    };
    if let Some(path) = &config.codes {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the codes {}", path.display()))?;
        let codes =
            parse_codes(&text).map_err(|e| anyhow::anyhow!("the codes {}: {e}", path.display()))?;
        for info in codes {
            state.codes.insert(field(&info, "cis").to_owned(), info);
        }
    }
    let work = std::env::temp_dir().join(format!("true-api-emulator-{}", std::process::id()));
    std::fs::create_dir_all(&work)
        .with_context(|| format!("creating the scratch directory {}", work.display()))?;
    let app = Arc::new(App {
        state: Mutex::new(state),
        verifier: Verifier { ca, work },
        schemas,
    });
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    let router = router(Arc::clone(&app));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, router.clone(), Arc::clone(&app)));
            }
            Err(e) => {
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One connection: hyper's HTTP/1.1, with faults applied in front of the router. A `drop`,
/// `drop_after` or finished `stall` wakes `abort`, and returning drops the connection, which
/// closes the socket with no answer written.
async fn connection(stream: TcpStream, router: Router, app: Arc<App>) {
    let abort = Arc::new(Notify::new());
    let service = {
        let abort = Arc::clone(&abort);
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let abort = Arc::clone(&abort);
            let router = router.clone();
            let app = Arc::clone(&app);
            async move { handle(request, router, app, abort).await }
        })
    };
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                eprintln!("connection ended: {e}");
            }
        }
        () = abort.notified() => {}
    }
}

async fn handle(
    request: Request<Incoming>,
    router: Router,
    app: Arc<App>,
    abort: Arc<Notify>,
) -> Result<Response<Body>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // The control calls are never faulted: tests must be able to set and read faults.
    let fault = if path.starts_with("/emulator/") {
        None
    } else {
        app.lock().take_fault(&path)
    };
    let unanswered = || async {
        abort.notify_one();
        std::future::pending::<Result<Response<Body>, Infallible>>().await
    };
    match fault {
        Some(FaultKind::Status {
            status,
            retry_after,
        }) => {
            eprintln!("{method} {path} -> {status} (fault)");
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = refusal(code, &format!("Ошибка сервиса ({status})"));
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            Ok(response)
        }
        Some(FaultKind::Drop) => {
            eprintln!("{method} {path} -> connection closed, not acted on (fault drop)");
            unanswered().await
        }
        Some(FaultKind::Stall) => {
            eprintln!("{method} {path} -> held unanswered (fault stall)");
            tokio::time::sleep(STALL).await;
            unanswered().await
        }
        Some(FaultKind::DropAfter) => {
            let response = router.oneshot(request).await;
            let status = response.as_ref().map_or(0, |r| r.status().as_u16());
            eprintln!(
                "{method} {path} -> {status} done, connection closed unanswered (fault drop_after)"
            );
            unanswered().await
        }
        None => {
            let response = router.oneshot(request).await;
            if let Ok(r) = &response {
                eprintln!("{method} {path} -> {}", r.status().as_u16());
            }
            response
        }
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/v3/true-api/auth/key", get(auth_key))
        .route("/api/v3/true-api/auth/simpleSignIn", post(sign_in))
        .route("/api/v3/true-api/cises/info", post(cises_info))
        .route("/api/v3/true-api/lk/documents/create", post(create))
        .route("/api/v4/true-api/doc/list", get(doc_list))
        .route("/api/v4/true-api/doc/{id}/info", get(doc_info))
        .route("/api/v3/true-api/dispenser/tasks", post(dispenser_order))
        .route("/api/v3/true-api/dispenser/tasks/{id}", get(dispenser_task))
        .route("/api/v3/true-api/dispenser/results", get(dispenser_results))
        .route(
            "/api/v3/true-api/dispenser/results/{id}/file",
            get(dispenser_file),
        )
        .route("/emulator/codes", post(seed_codes).get(get_code))
        .route("/emulator/documents", get(documents))
        .route("/emulator/faults", post(faults))
        .route("/emulator/expire-tokens", post(expire_tokens))
        .route("/emulator/refuse", post(refuse))
        .route("/emulator/stats", get(stats))
        .fallback(|| async { refusal(StatusCode::NOT_FOUND, "Ресурс не найден") })
        // Documents of thousands of codes, base64 and signed, are well past axum's 2 MB.
        .layer(DefaultBodyLimit::max(64 << 20))
        .with_state(app)
}

type Answer = Response<Body>;
type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

/// `{"error_message": …}` with `status`, the True API's refusal.
fn refusal(status: StatusCode, message: &str) -> Answer {
    json_answer(status, &json!({ "error_message": message }))
}

/// A JSON answer (axum's `json` feature is left off: this is all it would do here).
fn json_answer(status: StatusCode, value: &Value) -> Answer {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn bad(message: &str) -> Answer {
    refusal(StatusCode::BAD_REQUEST, message)
}

fn ok_json(value: &Value) -> Answer {
    json_answer(StatusCode::OK, value)
}

/// A refusal made before the handler has its answer; small, unlike a whole `Response`.
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn answer(&self) -> Answer {
        refusal(self.status, &self.message)
    }
}

fn params(query: Params) -> Result<HashMap<String, String>, Refusal> {
    query.map(|Query(q)| q).map_err(|e| Refusal {
        status: StatusCode::BAD_REQUEST,
        message: format!("Некорректные параметры запроса: {e}"),
    })
}

/// The participant of the request's bearer token, or the 401 GIS MT answers.
fn participant(app: &App, headers: &HeaderMap) -> Result<String, Refusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            message: "Не передан токен авторизации (Authorization: Bearer)".into(),
        });
    };
    app.lock().participant(token).ok_or_else(|| Refusal {
        status: StatusCode::UNAUTHORIZED,
        message: "Токен авторизации недействителен или истёк".into(),
    })
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if getrandom::fill(&mut buf).is_err() {
        // No OS randomness is a broken machine; a v4 UUID's bytes are the fallback.
        for chunk in buf.chunks_mut(16) {
            let id = uuid::Uuid::new_v4();
            chunk.copy_from_slice(&id.as_bytes()[..chunk.len()]);
        }
    }
    buf
}

fn parse_json(body: &[u8]) -> Result<Value, Refusal> {
    serde_json::from_slice(body).map_err(|e| Refusal {
        status: StatusCode::BAD_REQUEST,
        message: format!("Тело запроса не является JSON: {e}"),
    })
}

async fn auth_key(AppState(app): AppState<Arc<App>>) -> Answer {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let data: String = random_bytes::<30>()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    let uuid = uuid::Uuid::new_v4().to_string();
    app.lock().keys.insert(uuid.clone(), data.clone());
    ok_json(&json!({"uuid": uuid, "data": data}))
}

async fn sign_in(AppState(app): AppState<Arc<App>>, body: Bytes) -> Answer {
    let unauthorized = |m: &str| refusal(StatusCode::UNAUTHORIZED, m);
    let request = match parse_json(&body) {
        Ok(v) => v,
        Err(a) => return a.answer(),
    };
    let (Some(uuid), Some(data)) = (
        request.get("uuid").and_then(Value::as_str),
        request.get("data").and_then(Value::as_str),
    ) else {
        return bad("Ожидается {\"uuid\": …, \"data\": …}");
    };
    // A key is single-use whatever the outcome: a second try needs a new auth/key.
    let Some(issued) = app.lock().keys.remove(uuid) else {
        return unauthorized("Неизвестный или уже использованный uuid");
    };
    let Ok(der) = B64.decode(data.trim()) else {
        return unauthorized("Подпись не является base64");
    };
    let verifier = app.verifier.clone();
    let signed = match tokio::task::spawn_blocking(move || verifier.attached(&der)).await {
        Ok(Ok(signed)) => signed,
        Ok(Err(why)) => return unauthorized(&why),
        Err(_) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, "Ошибка проверки подписи"),
    };
    if signed.content != issued.as_bytes() {
        return unauthorized("Подписаны не те данные, что выданы для этого uuid");
    }
    let token: String = random_bytes::<24>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut state = app.lock();
    state.tokens.insert(
        token.clone(),
        Token {
            inn: signed.inn,
            expires: Instant::now() + TOKEN_LIFETIME,
        },
    );
    state.stats.sign_ins += 1;
    ok_json(&json!({ "token": token }))
}

/// A code as `cises/info` shows it to `inn`: `ownerInn` only to the owner, no `statusEx` for
/// tobacco and other tobacco products (marking-codes §5).
fn shown(info: &CisInfo, requested: &str, inn: &str) -> Value {
    let mut info = info.clone();
    if field(&info, "ownerInn") != inn {
        info.remove("ownerInn");
    }
    let pg = info.get("productGroupId").and_then(Value::as_u64);
    if pg == Some(u64::from(ProductGroup::Tobacco.id()))
        || pg == Some(u64::from(ProductGroup::OtherTobacco.id()))
    {
        info.remove("statusEx");
    }
    info.insert("requestedCis".into(), json!(requested));
    Value::Object(info)
}

async fn cises_info(AppState(app): AppState<Arc<App>>, headers: HeaderMap, body: Bytes) -> Answer {
    let inn = match participant(&app, &headers) {
        Ok(inn) => inn,
        Err(a) => return a.answer(),
    };
    let codes = match parse_json(&body) {
        Ok(Value::Array(codes)) => codes,
        Ok(_) => return bad("Ожидается массив кодов"),
        Err(a) => return a.answer(),
    };
    if codes.is_empty() || codes.len() > MAX_CISES {
        return bad(&format!(
            "Количество кодов в запросе должно быть от 1 до {MAX_CISES}, передано {}",
            codes.len()
        ));
    }
    let Some(codes) = codes.iter().map(Value::as_str).collect::<Option<Vec<_>>>() else {
        return bad("Каждый элемент массива должен быть строкой");
    };
    let mut state = app.lock();
    state.stats.cises_info_calls += 1;
    let answer: Vec<Value> = codes
        .iter()
        .map(
            |code| match state.resolve(code).and_then(|k| state.codes.get(&k)) {
                Some(info) => json!({ "cisInfo": shown(info, code, &inn) }),
                None => json!({
                    "cisInfo": {"requestedCis": code},
                    "errorCode": "404",
                    "errorMessage": "Код идентификации не найден",
                }),
            },
        )
        .collect();
    ok_json(&Value::Array(answer))
}

async fn create(
    AppState(app): AppState<Arc<App>>,
    query: Params,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let inn = match participant(&app, &headers) {
        Ok(inn) => inn,
        Err(a) => return a.answer(),
    };
    let query = match params(query) {
        Ok(q) => q,
        Err(a) => return a.answer(),
    };
    let pg = query.get("pg").map(String::as_str).unwrap_or("");
    if ProductGroup::from_code(pg).is_none() {
        return bad(&format!("Неизвестная товарная группа pg={pg:?}"));
    }
    let request = match parse_json(&body) {
        Ok(v) => v,
        Err(a) => return a.answer(),
    };
    let get = |name| request.get(name).and_then(Value::as_str);
    if get("document_format") != Some("MANUAL") {
        return bad("document_format должен быть MANUAL");
    }
    let doc_type = get("type").unwrap_or("");
    let Some(schema) = app.schemas.get(doc_type) else {
        return bad(&format!("Неизвестный тип документа {doc_type:?}"));
    };
    let Some(Ok(bytes)) = get("product_document").map(|d| B64.decode(d.trim())) else {
        return bad("product_document отсутствует или не является base64");
    };
    let Some(Ok(signature)) = get("signature").map(|s| B64.decode(s.trim())) else {
        return bad("signature отсутствует или не является base64");
    };
    let content: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return bad(&format!(
                "product_document не является документом JSON: {e}"
            ));
        }
    };
    let verifier = app.verifier.clone();
    let signed =
        match tokio::task::spawn_blocking(move || verifier.detached(&signature, &bytes)).await {
            Ok(Ok(signed)) => signed,
            Ok(Err(why)) => return bad(&why),
            Err(_) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, "Ошибка проверки подписи"),
        };
    if signed.inn != inn {
        return bad(&format!(
            "Документ подписан участником с ИНН {}, а токен выдан участнику с ИНН {inn}",
            signed.inn
        ));
    }
    let violations: Vec<String> = schema
        .iter_errors(&content)
        .take(5)
        .map(|e| format!("{} ({})", e, e.instance_path()))
        .collect();
    if !violations.is_empty() {
        return bad(&format!(
            "Документ не соответствует схеме {doc_type}: {}",
            violations.join("; ")
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut state = app.lock();
    state.documents.push(Document {
        id: id.clone(),
        doc_type: doc_type.to_owned(),
        pg: pg.to_owned(),
        inn,
        status: DocStatus::InProgress,
        errors: Vec::new(),
        content,
        received_at: clock::now_ms(),
        reads: 0,
    });
    state.stats.creates += 1;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        id,
    )
        .into_response()
}

fn status_name(status: DocStatus) -> Value {
    serde_json::to_value(status).unwrap_or(Value::Null)
}

async fn doc_info(
    AppState(app): AppState<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    query: Params,
    headers: HeaderMap,
) -> Answer {
    let inn = match participant(&app, &headers) {
        Ok(inn) => inn,
        Err(a) => return a.answer(),
    };
    let query = match params(query) {
        Ok(q) => q,
        Err(a) => return a.answer(),
    };
    if let Some(pg) = query.get("pg")
        && ProductGroup::from_code(pg).is_none()
    {
        return bad(&format!("Неизвестная товарная группа pg={pg:?}"));
    }
    let with_body = query.get("body").is_some_and(|b| b == "true");
    let mut state = app.lock();
    let Some(index) = state
        .documents
        .iter()
        .position(|d| d.id == id && d.inn == inn)
    else {
        return refusal(StatusCode::NOT_FOUND, &format!("Документ {id} не найден"));
    };
    state.stats.info_reads += 1;
    let polls = state.checking_polls;
    if let Some(doc) = state.documents.get_mut(index)
        && doc.status == DocStatus::InProgress
    {
        doc.reads += 1;
        if doc.reads > polls {
            rules::judge(&mut state, index);
        }
    }
    let Some(doc) = state.documents.get(index) else {
        return refusal(StatusCode::NOT_FOUND, &format!("Документ {id} не найден"));
    };
    let mut info = json!({
        "number": doc.id,
        "type": doc.doc_type,
        "status": status_name(doc.status),
        "docDate": clock::format_ms(doc.received_at),
        "receivedAt": clock::format_ms(doc.received_at),
        "senderInn": doc.inn,
    });
    if let Some(fields) = info.as_object_mut() {
        if !doc.errors.is_empty() {
            fields.insert("errors".into(), json!(doc.errors));
        }
        if with_body {
            fields.insert("content".into(), doc.content.clone());
        }
    }
    ok_json(&json!([info]))
}

async fn doc_list(AppState(app): AppState<Arc<App>>, query: Params, headers: HeaderMap) -> Answer {
    let inn = match participant(&app, &headers) {
        Ok(inn) => inn,
        Err(a) => return a.answer(),
    };
    let query = match params(query) {
        Ok(q) => q,
        Err(a) => return a.answer(),
    };
    let pg = query.get("pg").filter(|p| !p.is_empty());
    if let Some(pg) = pg
        && ProductGroup::from_code(pg).is_none()
    {
        return bad(&format!("Неизвестная товарная группа pg={pg:?}"));
    }
    let doc_type = query.get("documentType").filter(|t| !t.is_empty());
    let mut bounds = [None, None];
    for (slot, name) in bounds.iter_mut().zip(["dateFrom", "dateTo"]) {
        if let Some(text) = query.get(name).filter(|t| !t.is_empty()) {
            match clock::parse(text) {
                Some(ms) => *slot = Some(ms),
                None => {
                    return bad(&format!(
                        "{name}={text:?}: ожидается дата ISO-8601 (2026-12-02T10:00:00.000Z)"
                    ));
                }
            }
        }
    }
    let [from, to] = bounds;
    let limit = match query.get("limit").filter(|l| !l.is_empty()) {
        None => MAX_LIST,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_LIST).contains(&n) => n,
            _ => return bad(&format!("limit должен быть от 1 до {MAX_LIST}")),
        },
    };
    let state = app.lock();
    let mut found: Vec<&Document> = state
        .documents
        .iter()
        .filter(|d| d.inn == inn)
        .filter(|d| pg.is_none_or(|pg| &d.pg == pg))
        .filter(|d| doc_type.is_none_or(|t| &d.doc_type == t))
        .filter(|d| from.is_none_or(|f| d.received_at >= f))
        .filter(|d| to.is_none_or(|t| d.received_at <= t))
        .collect();
    // Newest first; documents of one millisecond in reverse order of creation.
    found.reverse();
    found.sort_by_key(|d| std::cmp::Reverse(d.received_at));
    let more = found.len() > limit;
    let results: Vec<Value> = found
        .into_iter()
        .take(limit)
        .map(|d| {
            json!({
                "number": d.id,
                "docDate": clock::format_ms(d.received_at),
                "receivedAt": clock::format_ms(d.received_at),
                "type": d.doc_type,
                "status": status_name(d.status),
                "senderInn": d.inn,
            })
        })
        .collect();
    ok_json(&json!({"results": results, "nextPage": more}))
}

/// `POST dispenser/tasks`: orders a `FILTERED_CIS_REPORT` of the token's participant.
async fn dispenser_order(
    AppState(app): AppState<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let inn = match participant(&app, &headers) {
        Ok(inn) => inn,
        Err(a) => return a.answer(),
    };
    let body = match parse_json(&body) {
        Ok(v) => v,
        Err(a) => return a.answer(),
    };
    let order = match dispenser::order(&body, &inn) {
        Ok(order) => order,
        Err((status, message)) => {
            return refusal(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                &message,
            );
        }
    };
    let mut state = app.lock();
    let rows = dispenser::found(&order, state.codes.values());
    let export = dispenser::Export {
        id: uuid::Uuid::new_v4().to_string(),
        result_id: uuid::Uuid::new_v4().to_string(),
        inn,
        pg: order.pg,
        created_at: clock::format_ms(clock::now_ms()),
        reads: 0,
        filter: dispenser::filter_line(&order),
        rows,
    };
    let task = export.task();
    state.exports.push(export);
    ok_json(&task)
}

/// `pg` of a dispenser call: required, and the export's own.
fn export_group(query: &HashMap<String, String>) -> Result<u8, Refusal> {
    query
        .get("pg")
        .and_then(|pg| pg.parse::<u8>().ok())
        .filter(|id| ProductGroup::from_id(*id).is_some())
        .ok_or_else(|| Refusal {
            status: StatusCode::BAD_REQUEST,
            message: "Не указана или неизвестна товарная группа (pg)".into(),
        })
}

/// `GET dispenser/tasks/{id}?pg=`: the task and how far it got.
async fn dispenser_task(
    AppState(app): AppState<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    query: Params,
    headers: HeaderMap,
) -> Answer {
    let inn = match participant(&app, &headers) {
        Ok(inn) => inn,
        Err(a) => return a.answer(),
    };
    let pg = match params(query).and_then(|q| export_group(&q)) {
        Ok(pg) => pg,
        Err(r) => return r.answer(),
    };
    let mut state = app.lock();
    let Some(export) = state
        .exports
        .iter_mut()
        .find(|e| e.id == id && e.inn == inn && e.pg == pg)
    else {
        return refusal(StatusCode::NOT_FOUND, "Задание на выгрузку не найдено");
    };
    let task = export.task();
    export.reads = export.reads.saturating_add(1);
    ok_json(&task)
}

/// `GET dispenser/results?pg=&task_ids=`: the participant's ready results of the group.
async fn dispenser_results(
    AppState(app): AppState<Arc<App>>,
    query: Params,
    headers: HeaderMap,
) -> Answer {
    let inn = match participant(&app, &headers) {
        Ok(inn) => inn,
        Err(a) => return a.answer(),
    };
    let query = match params(query) {
        Ok(q) => q,
        Err(a) => return a.answer(),
    };
    let pg = match export_group(&query) {
        Ok(pg) => pg,
        Err(r) => return r.answer(),
    };
    let wanted: Option<Vec<&str>> = query.get("task_ids").map(|ids| ids.split(',').collect());
    let state = app.lock();
    let list: Vec<Value> = state
        .exports
        .iter()
        .filter(|e| e.inn == inn && e.pg == pg)
        .filter(|e| {
            wanted
                .as_ref()
                .is_none_or(|ids| ids.contains(&e.id.as_str()))
        })
        .filter_map(dispenser::Export::result)
        .collect();
    ok_json(&json!({"list": list}))
}

/// `GET dispenser/results/{id}/file`: the report, a zip of one CSV.
async fn dispenser_file(
    AppState(app): AppState<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Answer {
    let inn = match participant(&app, &headers) {
        Ok(inn) => inn,
        Err(a) => return a.answer(),
    };
    let state = app.lock();
    let Some(export) = state
        .exports
        .iter()
        .find(|e| e.result_id == id && e.inn == inn && e.result().is_some())
    else {
        return refusal(StatusCode::NOT_FOUND, "Результат выгрузки не найден");
    };
    match dispenser::file(export) {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/zip")],
            bytes,
        )
            .into_response(),
        Err(_) => refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Ошибка формирования файла",
        ),
    }
}

async fn seed_codes(AppState(app): AppState<Arc<App>>, body: Bytes) -> Answer {
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad("The body must be UTF-8 JSON lines of cisInfo objects");
    };
    let codes = match parse_codes(text) {
        Ok(c) => c,
        Err(e) => return bad(&e),
    };
    let n = codes.len();
    let mut state = app.lock();
    for info in codes {
        let key = field(&info, "cis").to_owned();
        state.pending.remove(&key);
        state.codes.insert(key, info);
    }
    ok_json(&json!({ "codes": n }))
}

async fn get_code(AppState(app): AppState<Arc<App>>, query: Params) -> Answer {
    let query = match params(query) {
        Ok(q) => q,
        Err(a) => return a.answer(),
    };
    let Some(cis) = query.get("cis") else {
        return bad("?cis= is required");
    };
    let state = app.lock();
    match state.resolve(cis).and_then(|k| state.codes.get(&k)) {
        Some(info) => ok_json(&Value::Object(info.clone())),
        None => refusal(StatusCode::NOT_FOUND, &format!("unknown code {cis}")),
    }
}

async fn documents(AppState(app): AppState<Arc<App>>) -> Answer {
    let state = app.lock();
    let list: Vec<Value> = state
        .documents
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "type": d.doc_type,
                "pg": d.pg,
                "inn": d.inn,
                "status": status_name(d.status),
                "errors": d.errors,
                "content": d.content,
                "received_at": clock::format_ms(d.received_at),
            })
        })
        .collect();
    ok_json(&Value::Array(list))
}

async fn faults(AppState(app): AppState<Arc<App>>, body: Bytes) -> Answer {
    let request = match parse_json(&body) {
        Ok(v) => v,
        Err(a) => return a.answer(),
    };
    let Some(path) = request.get("path").and_then(Value::as_str) else {
        return bad("a fault needs its \"path\" (a prefix such as /api/v3/true-api/cises/info)");
    };
    let count = match request.get("count") {
        None => 1,
        Some(c) => match c.as_u64().and_then(|c| u32::try_from(c).ok()) {
            Some(c) if c > 0 => c,
            _ => return bad("\"count\" must be a positive integer"),
        },
    };
    let kind = match request.get("kind").and_then(Value::as_str) {
        Some("status") => {
            let status = request.get("status").and_then(Value::as_u64);
            let Some(status) = status
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (400..=599).contains(s))
            else {
                return bad("a status fault needs \"status\" between 400 and 599");
            };
            let retry_after = match request.get("retry_after") {
                None | Some(Value::Null) => None,
                Some(r) => match r.as_u64().and_then(|r| u32::try_from(r).ok()) {
                    Some(r) => Some(r),
                    None => return bad("\"retry_after\" must be whole seconds"),
                },
            };
            FaultKind::Status {
                status,
                retry_after,
            }
        }
        Some("stall") => FaultKind::Stall,
        Some("drop") => FaultKind::Drop,
        Some("drop_after") => FaultKind::DropAfter,
        other => {
            return bad(&format!(
                "unknown fault kind {other:?}: status, stall, drop or drop_after"
            ));
        }
    };
    let mut state = app.lock();
    state.faults.push(Fault {
        path: path.to_owned(),
        kind,
        count,
    });
    ok_json(&json!({ "faults_left": state.stats().faults_left }))
}

async fn expire_tokens(AppState(app): AppState<Arc<App>>) -> Answer {
    let mut state = app.lock();
    let n = state.tokens.len();
    state.tokens.clear();
    ok_json(&json!({ "expired": n }))
}

async fn refuse(AppState(app): AppState<Arc<App>>, body: Bytes) -> Answer {
    let request = match parse_json(&body) {
        Ok(v) => v,
        Err(a) => return a.answer(),
    };
    let Some(cis) = request.get("cis").and_then(Value::as_str) else {
        return bad("expected {\"cis\": CODE}");
    };
    let mut state = app.lock();
    state.refused.extend(spellings(cis));
    ok_json(&json!({ "refused": cis }))
}

async fn stats(AppState(app): AppState<Arc<App>>) -> Answer {
    let stats = app.lock().stats();
    ok_json(&serde_json::to_value(stats).unwrap_or(Value::Null))
}
