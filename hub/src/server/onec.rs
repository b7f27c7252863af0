//! 1C's site exchange at `/1c/exchange` ("Обмен с сайтом", CommerceML 2 over HTTP), as 1C
//! drives it: `checkauth` (Basic, a cookie back), `init`, `file` (fragments appended in
//! order; with `zip=yes` a zip archive of the exchange's files), `import` (the file read into
//! the hub: `progress` while a large one is still being read), and for `type=sale` `query`
//! (the warehouse's results as CommerceML) and `success` (1C confirms them). Every answer but
//! `query`'s is plain text; a refusal is `failure` and its reason on the next lines, never an
//! HTML page or a JSON body, because 1C shows the text as it came.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Query;
use axum_extra::headers::authorization::Basic;
use axum_extra::headers::{Authorization, HeaderMapExt};

use super::body::Upload;
use super::{App, MAX_BODY_BYTES, now, with_store};
use crate::onec::commerceml::ReadOptions;
use crate::store::onec::{OnecLogLine, OnecNode, new_cookie};

/// The cookie `checkauth` names: 1C sends it back on every later request.
pub const COOKIE_NAME: &str = "tally_1c";
/// The largest fragment 1C is told to send (`file_limit`) unless configured otherwise.
pub const FILE_LIMIT: usize = 8 << 20;
/// How long a session's cookie holds: an exchange, however large, is over well within it.
const SESSION_MS: i64 = 6 * 3_600_000;

/// How the exchange is served (`[onec]` of the hub's configuration).
#[derive(Clone, Debug)]
pub struct OnecConfig {
    /// Offer `zip=yes`: 1C then sends one zip archive of its files.
    pub zip: bool,
    /// The largest fragment 1C may send (`file_limit`); at most the hub's body limit.
    pub file_limit: usize,
    /// The most a zip archive may unpack to.
    pub unpacked_limit: u64,
    /// How long an `import` waits for the file to be read before answering `progress` (1C
    /// asks again until `success` or `failure`).
    pub progress_after: Duration,
    /// The most results one `query` answers; the rest wait for the next exchange.
    pub results_per_query: u32,
    /// Writes every answer whole (a query's CommerceML too, up to 64 KiB) to the node's log:
    /// for setting up a node, not for production (the hub warns at start, and every log line
    /// says `[DEBUG]`).
    pub debug: bool,
    /// Which requisites and properties carry the marking group.
    pub read: ReadOptions,
}

impl Default for OnecConfig {
    fn default() -> OnecConfig {
        OnecConfig {
            zip: true,
            file_limit: FILE_LIMIT,
            unpacked_limit: 512 << 20,
            progress_after: Duration::from_secs(20),
            results_per_query: 10_000,
            debug: false,
            read: ReadOptions::default(),
        }
    }
}

impl OnecConfig {
    /// `file_limit` held below the hub's body limit, so a fragment 1C was allowed is never
    /// refused by the layer underneath.
    pub fn file_limit(&self) -> usize {
        self.file_limit.clamp(1024, MAX_BODY_BYTES as usize - 4096)
    }
}

/// An import being read: when it started, and the task reading it (its answer when done).
type ImportJob = (Instant, tokio::task::JoinHandle<String>);

/// Imports being read, by (node, file name): 1C's repeated `import` finds its own.
#[derive(Debug, Default)]
pub struct Imports {
    running: Mutex<HashMap<(String, String), ImportJob>>,
}

impl Imports {
    fn take(&self, key: &(String, String)) -> Option<ImportJob> {
        self.running.lock().ok()?.remove(key)
    }

    fn put(&self, key: (String, String), job: ImportJob) {
        if let Ok(mut running) = self.running.lock() {
            running.insert(key, job);
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ExchangeQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    mode: Option<String>,
    filename: Option<String>,
}

/// An exchange's answer: plain text, or the CommerceML of a `query`.
#[derive(Debug)]
pub(super) struct Answer(String, &'static str);

impl Answer {
    fn text(text: String) -> Answer {
        Answer(text, "text/plain; charset=utf-8")
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        ([(CONTENT_TYPE, HeaderValue::from_static(self.1))], self.0).into_response()
    }
}

fn failure(en: &str, ru: &str) -> Answer {
    Answer::text(format!("failure\n{en}\n{ru}\n"))
}

/// Whether `peer` is one of the node's allowed addresses (`10.0.0.0/8, 192.168.1.5`).
pub fn allowed(allow: &str, peer: IpAddr) -> bool {
    let mut any_rule = false;
    for rule in allow.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        any_rule = true;
        let (net, bits) = rule.split_once('/').unwrap_or((rule, ""));
        let Ok(net) = net.parse::<IpAddr>() else {
            continue;
        };
        let width = if net.is_ipv4() { 32 } else { 128 };
        let bits = if bits.is_empty() {
            width
        } else {
            match bits.parse::<u32>() {
                Ok(b) if b <= width => b,
                _ => continue,
            }
        };
        let as_bits = |ip: IpAddr| -> u128 {
            match ip {
                IpAddr::V4(v4) => u128::from(u32::from(v4)),
                IpAddr::V6(v6) => u128::from(v6),
            }
        };
        let peer = match (net, peer) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => continue,
            },
            _ => peer,
        };
        if net.is_ipv4() != peer.is_ipv4() {
            continue;
        }
        let shift = width - bits;
        if shift >= width || as_bits(net) >> shift == as_bits(peer) >> shift {
            return true;
        }
    }
    !any_rule
}

/// A file name 1C may use: a plain name, no folders, nothing that climbs out.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_owned())
}

pub(super) async fn exchange(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<ExchangeQuery>, axum_extra::extract::QueryRejection>,
    upload: Upload,
) -> Answer {
    let Ok(Query(query)) = query else {
        return failure(
            "The request's query does not read.",
            "Строка запроса не читается.",
        );
    };
    let kind = query.kind.unwrap_or_default();
    let mode = query.mode.unwrap_or_default();
    if kind != "catalog" && kind != "sale" {
        return failure(
            "type must be catalog or sale.",
            "Параметр type должен быть catalog или sale.",
        );
    }
    // checkauth signs in; every other mode rides on its cookie.
    let node = if mode == "checkauth" {
        let Some(Authorization(basic)) = headers.typed_get::<Authorization<Basic>>() else {
            return failure(
                "checkauth needs the node's login and password (HTTP Basic).",
                "Для checkauth нужны логин и пароль узла (HTTP Basic).",
            );
        };
        let (name, password) = (basic.username().to_owned(), basic.password().to_owned());
        match with_store(&app, move |store| store.onec_sign_in(&name, &password)).await {
            Ok(Some(node)) => node,
            Ok(None) => {
                return failure(
                    "Wrong login or password of the exchange node.",
                    "Неверный логин или пароль узла обмена.",
                );
            }
            Err(_) => {
                return failure(
                    "The hub's database is unavailable.",
                    "База хаба недоступна.",
                );
            }
        }
    } else {
        let Some(value) = cookie(&headers) else {
            return failure(
                "No session: sign in with mode=checkauth first.",
                "Нет сеанса: сначала mode=checkauth.",
            );
        };
        match with_store(&app, move |store| {
            store.onec_session(&value, now(), SESSION_MS)
        })
        .await
        {
            Ok(Some(node)) => node,
            Ok(None) => {
                return failure(
                    "The session is unknown or expired: sign in again.",
                    "Сеанс неизвестен или истёк: войдите снова.",
                );
            }
            Err(_) => {
                return failure(
                    "The hub's database is unavailable.",
                    "База хаба недоступна.",
                );
            }
        }
    };
    if !allowed(&node.allow, peer.ip()) {
        return failure(
            &format!("Address {} may not exchange as {}.", peer.ip(), node.name),
            &format!(
                "С адреса {} нельзя обмениваться как {}.",
                peer.ip(),
                node.name
            ),
        );
    }
    let filename = query.filename.clone();
    let answer = match mode.as_str() {
        "checkauth" => check_auth(&app, &node).await,
        "init" => Answer::text(format!(
            "zip={}\nfile_limit={}\n",
            if app.onec.zip { "yes" } else { "no" },
            app.onec.file_limit()
        )),
        "file" => file(&app, &node, &kind, filename.as_deref(), upload).await,
        "import" => import(&app, &node, &kind, filename.as_deref()).await,
        "query" if kind == "sale" => results_query(&app, &node).await,
        "success" if kind == "sale" => confirm(&app, &node).await,
        _ => failure(
            &format!("mode={mode} is not served for type={kind}."),
            &format!("mode={mode} не поддерживается для type={kind}."),
        ),
    };
    let outcome = answer.0.lines().next().unwrap_or("").to_owned();
    let message = if app.onec.debug {
        format!(
            "[DEBUG] {}",
            answer.0.chars().take(64 << 10).collect::<String>()
        )
    } else if mode == "query" && outcome != "failure" {
        format!("{} documents", answer.0.matches("<Документ>").count())
    } else {
        answer.0.lines().nth(1).unwrap_or("").to_owned()
    };
    let line = OnecLogLine {
        node: node.name.clone(),
        at: now().millis(),
        exchange: kind,
        mode,
        filename,
        message,
        outcome: if mode_is_query(&outcome) {
            "success".to_owned()
        } else {
            outcome
        },
    };
    if let Err(e) = with_store(&app, move |store| store.onec_log(&line)).await {
        tracing::warn!("the 1C exchange log: {e:?}");
    }
    answer
}

/// A `query`'s answer starts with the XML declaration, not an outcome word.
fn mode_is_query(first_line: &str) -> bool {
    first_line.starts_with("<?xml")
}

async fn check_auth(app: &App, node: &OnecNode) -> Answer {
    let Ok(value) = new_cookie() else {
        return failure("No cookie could be made.", "Не удалось создать cookie.");
    };
    let name = node.name.clone();
    let stored = value.clone();
    match with_store(app, move |store| store.onec_start(&name, &stored, now())).await {
        Ok(()) => Answer::text(format!("success\n{COOKIE_NAME}\n{value}\n")),
        Err(_) => failure(
            "The hub's database is unavailable.",
            "База хаба недоступна.",
        ),
    }
}

async fn file(
    app: &App,
    node: &OnecNode,
    kind: &str,
    filename: Option<&str>,
    upload: Upload,
) -> Answer {
    let Some(filename) = filename.filter(|f| plain_file_name(f)).map(str::to_owned) else {
        return failure(
            "filename must be a plain file name.",
            "filename должен быть простым именем файла.",
        );
    };
    let bytes = match upload.read().await {
        Ok(bytes) => bytes,
        Err(_) => return failure("The file did not arrive whole.", "Файл пришёл не целиком."),
    };
    let limit = app.onec.file_limit();
    if bytes.len() > limit {
        return failure(
            &format!("A fragment may be at most {limit} bytes (file_limit)."),
            &format!("Фрагмент не больше {limit} байт (file_limit)."),
        );
    }
    // Some configurations send the sale exchange's documents with `file` alone and never ask
    // to import them: a documents file whose last fragment closes the root is read now.
    // A zipped one (`zip=yes`) is read once the archive is whole: its central directory, at
    // the end, reads.
    let archive = filename.to_ascii_lowercase().ends_with(".zip");
    let complete = kind == "sale" && (archive || closes_root(&bytes));
    let name = node.name.clone();
    let stored = filename.clone();
    if with_store(app, move |store| store.onec_append(&name, &stored, &bytes))
        .await
        .is_err()
    {
        return failure(
            "The hub's database is unavailable.",
            "База хаба недоступна.",
        );
    }
    if complete {
        // No `import` follows, so this answer is the outcome itself, never `progress`.
        let store = Arc::clone(&app.store);
        let config = Arc::clone(&app.onec);
        let node = node.clone();
        let kind = kind.to_owned();
        return match tokio::task::spawn_blocking(move || {
            if archive {
                read_sale_archive(&store, &config, &node, &filename)
            } else {
                Some(read_file(&store, &config, &node, &kind, &filename))
            }
        })
        .await
        {
            Ok(Some(answer)) => Answer::text(answer),
            Ok(None) => Answer::text("success\n".into()),
            Err(_) => failure(
                "The import stopped unexpectedly; see the hub's log.",
                "Загрузка неожиданно прервалась; см. журнал хаба.",
            ),
        };
    }
    Answer::text("success\n".into())
}

/// Whether a fragment ends with the root's closing tag, in UTF-8 or windows-1251.
fn closes_root(bytes: &[u8]) -> bool {
    const ROOT_END: &str = "</КоммерческаяИнформация>";
    let tail = bytes.trim_ascii_end();
    let (in_1251, _, _) = encoding_rs::WINDOWS_1251.encode(ROOT_END);
    tail.ends_with(ROOT_END.as_bytes()) || tail.ends_with(&in_1251)
}

/// Reads an uploaded file into the hub. A file still being read after
/// [`OnecConfig::progress_after`] is answered `progress`; 1C asks again and gets the outcome
/// once it is there. An import the hub lost (it restarted) is started again: a refused file
/// wrote nothing and a taken one is taken alike a second time.
async fn import(app: &App, node: &OnecNode, kind: &str, filename: Option<&str>) -> Answer {
    let Some(filename) = filename.filter(|f| plain_file_name(f)).map(str::to_owned) else {
        return failure(
            "filename must be a plain file name.",
            "filename должен быть простым именем файла.",
        );
    };
    let key = (node.name.clone(), filename.clone());
    let (started, mut job, fresh) = match app.imports.take(&key) {
        Some((started, job)) => (started, job, false),
        None => {
            let store = Arc::clone(&app.store);
            let config = Arc::clone(&app.onec);
            let node = node.clone();
            let kind = kind.to_owned();
            let filename = filename.clone();
            let job = tokio::task::spawn_blocking(move || {
                read_file(&store, &config, &node, &kind, &filename)
            });
            (Instant::now(), job, true)
        }
    };
    // No wait allowed: a file just started answers progress whether or not its reading has
    // already ended, so the answer does not depend on how fast the blocking pool was.
    let waited = if fresh && app.onec.progress_after.is_zero() {
        Err(())
    } else {
        tokio::time::timeout(app.onec.progress_after, &mut job)
            .await
            .map_err(|_| ())
    };
    match waited {
        Ok(Ok(answer)) => Answer::text(answer),
        Ok(Err(_)) => failure(
            "The import stopped unexpectedly; see the hub's log.",
            "Загрузка неожиданно прервалась; см. журнал хаба.",
        ),
        Err(_) => {
            let seconds = started.elapsed().as_secs();
            app.imports.put(key, (started, job));
            Answer::text(format!(
                "progress\nReading {filename}: {seconds} s so far.\nЧтение {filename}: уже {seconds} с.\n"
            ))
        }
    }
}

/// The import itself, off the async threads: the file (from a zip archive of this exchange
/// when it was not uploaded plain), then the catalog or the documents in it.
fn read_file(
    store: &crate::store::Store,
    config: &OnecConfig,
    node: &OnecNode,
    kind: &str,
    filename: &str,
) -> String {
    let unavailable = "failure\nThe hub's database is unavailable.\nБаза хаба недоступна.\n";
    let bytes = match store.onec_file(&node.name, filename) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => match unpack_archives(store, config, node) {
            Err(reasons) => return format!("failure\n{reasons}\n"),
            Ok(()) => match store.onec_file(&node.name, filename) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => {
                    return format!(
                        "failure\n{filename} was not uploaded in this exchange.\n{filename} не загружен в этом обмене.\n"
                    );
                }
                Err(_) => return unavailable.to_owned(),
            },
        },
        Err(_) => return unavailable.to_owned(),
    };
    let outcome = if kind == "sale" {
        crate::onec::site::import_documents(store, &bytes, &node.name, &node.warehouse)
    } else {
        crate::onec::site::import_catalog(store, &bytes, node.keep_existing, &config.read)
    };
    match outcome {
        Ok(report) => format!("success\n{report}\n"),
        Err(reasons) => format!("failure\n{reasons}\n"),
    }
}

/// The sale documents of a zip archive uploaded with `file` alone, once it is whole (`None`
/// while fragments are still to come): each documents file in it is read as a plain one is.
fn read_sale_archive(
    store: &crate::store::Store,
    config: &OnecConfig,
    node: &OnecNode,
    archive: &str,
) -> Option<String> {
    let unavailable = "failure\nThe hub's database is unavailable.\nБаза хаба недоступна.\n";
    let bytes = match store.onec_file(&node.name, archive) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return None,
        Err(_) => return Some(unavailable.to_owned()),
    };
    if !crate::onec::site::whole_archive(&bytes) {
        return None;
    }
    let files = match crate::onec::site::unpack(&bytes, config.unpacked_limit) {
        Ok(files) => files,
        Err(reasons) => return Some(format!("failure\n{reasons}\n")),
    };
    let mut taken = Vec::new();
    let mut refused = Vec::new();
    for (name, content) in files
        .iter()
        .filter(|(name, _)| !name.contains('/') && name.to_ascii_lowercase().ends_with(".xml"))
    {
        if store.onec_replace_file(&node.name, name, content).is_err() {
            return Some(unavailable.to_owned());
        }
        match crate::onec::site::import_documents(store, content, &node.name, &node.warehouse) {
            Ok(report) => taken.push(format!("{name}: {report}")),
            Err(reasons) => refused.push(format!("{name}:\n{reasons}")),
        }
    }
    Some(match (taken.is_empty(), refused.is_empty()) {
        (true, true) => format!(
            "failure\n{archive} holds no documents file.\nВ {archive} нет файла документов.\n"
        ),
        // Each file is taken or refused whole; 1C is told of every refusal and of what was
        // taken all the same (taken again alike when 1C sends the archive again).
        (_, false) => format!("failure\n{}\n", [refused, taken].concat().join("\n")),
        (false, true) => format!("success\n{}\n", taken.join("\n")),
    })
}

/// Unpacks the zip archives uploaded in this exchange into its files.
fn unpack_archives(
    store: &crate::store::Store,
    config: &OnecConfig,
    node: &OnecNode,
) -> Result<(), String> {
    let unavailable = || "The hub's database is unavailable.\nБаза хаба недоступна.".to_owned();
    let names = store
        .onec_file_names(&node.name)
        .map_err(|_| unavailable())?;
    for archive in names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".zip"))
    {
        let Some(bytes) = store
            .onec_file(&node.name, archive)
            .map_err(|_| unavailable())?
        else {
            continue;
        };
        for (name, content) in crate::onec::site::unpack(&bytes, config.unpacked_limit)? {
            // Only the exchange files themselves; 1C's images (import_files/…) are not kept.
            if name.contains('/') {
                continue;
            }
            store
                .onec_replace_file(&node.name, &name, &content)
                .map_err(|_| unavailable())?;
        }
    }
    Ok(())
}

/// `type=sale&mode=query`: the warehouse's results 1C has not confirmed, as CommerceML.
async fn results_query(app: &App, node: &OnecNode) -> Answer {
    let name = node.name.clone();
    let limit = app.onec.results_per_query;
    let at = now();
    let built = with_store(app, move |store| {
        let rows = store.onec_query(&name, limit, at)?;
        crate::onec::results::load(store, &rows)
    })
    .await;
    match built {
        Ok(results) => Answer(
            crate::onec::results::commerceml(&results, at),
            "application/xml; charset=utf-8",
        ),
        Err(_) => failure(
            "The hub's database is unavailable.",
            "База хаба недоступна.",
        ),
    }
}

/// `type=sale&mode=success`: 1C took the last query's documents.
async fn confirm(app: &App, node: &OnecNode) -> Answer {
    let name = node.name.clone();
    match with_store(app, move |store| store.onec_confirm(&name, now())).await {
        Ok(count) => Answer::text(format!(
            "success\n{count} results confirmed / подтверждено результатов: {count}\n"
        )),
        Err(_) => failure(
            "The hub's database is unavailable.",
            "База хаба недоступна.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_allowed_by_cidr_and_by_address() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert!(allowed("", ip("203.0.113.9")), "no rule: any address");
        assert!(allowed("10.0.0.0/8, 192.168.1.5", ip("10.20.30.40")));
        assert!(allowed("10.0.0.0/8, 192.168.1.5", ip("192.168.1.5")));
        assert!(!allowed("10.0.0.0/8, 192.168.1.5", ip("192.168.1.6")));
        assert!(
            allowed("10.0.0.0/8", ip("::ffff:10.1.2.3")),
            "a v4 peer on a v6 socket"
        );
        assert!(allowed("0.0.0.0/0", ip("8.8.8.8")));
        assert!(
            !allowed("bogus, 10.0.0.0/40", ip("10.0.0.1")),
            "rules that do not read allow nothing"
        );
    }

    #[test]
    fn only_plain_file_names_are_taken() {
        assert!(plain_file_name("import.xml"));
        assert!(plain_file_name("import0_1.xml"));
        for bad in ["", ".", "..", "../etc/passwd", "a/b.xml", "a\\b.xml"] {
            assert!(!plain_file_name(bad), "{bad:?}");
        }
    }
}
