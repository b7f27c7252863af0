//! 1C's site exchange at `/1c/exchange` ("Обмен с сайтом", CommerceML 2 over HTTP), as 1C
//! drives it: `checkauth` (Basic, a cookie back), `init`, `file` (fragments appended in
//! order), `import` (the file read into the hub). Every answer is plain text; a refusal is
//! `failure` and its reason on the next lines, never an HTML page or a JSON body, because 1C
//! shows the text as it came.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Query;
use axum_extra::headers::authorization::Basic;
use axum_extra::headers::{Authorization, HeaderMapExt};

use super::body::Upload;
use super::{App, now, with_store};
use crate::store::onec::{OnecLogLine, OnecNode, new_cookie};

/// The cookie `checkauth` names: 1C sends it back on every later request.
pub const COOKIE_NAME: &str = "tally_1c";
/// The largest fragment 1C is told to send (`file_limit`), below the hub's body limit.
pub const FILE_LIMIT: usize = 8 << 20;
/// How long a session's cookie holds: an exchange, however large, is over well within it.
const SESSION_MS: i64 = 6 * 3_600_000;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ExchangeQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    mode: Option<String>,
    filename: Option<String>,
}

/// An exchange's plain-text answer.
#[derive(Debug)]
pub(super) struct Answer(String);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (
            [(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            self.0,
        )
            .into_response()
    }
}

fn failure(en: &str, ru: &str) -> Answer {
    Answer(format!("failure\n{en}\n{ru}\n"))
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
        "init" => Answer(format!("zip=no\nfile_limit={FILE_LIMIT}\n")),
        "file" => file(&app, &node, filename.as_deref(), upload).await,
        "import" if kind == "catalog" => import(&app, &node, filename.as_deref()).await,
        _ => failure(
            &format!("mode={mode} is not served for type={kind}."),
            &format!("mode={mode} не поддерживается для type={kind}."),
        ),
    };
    let outcome = answer.0.lines().next().unwrap_or("").to_owned();
    let line = OnecLogLine {
        node: node.name.clone(),
        at: now().millis(),
        exchange: kind,
        mode,
        filename,
        message: answer.0.lines().nth(1).unwrap_or("").to_owned(),
        outcome,
    };
    if let Err(e) = with_store(&app, move |store| store.onec_log(&line)).await {
        tracing::warn!("the 1C exchange log: {e:?}");
    }
    answer
}

async fn check_auth(app: &App, node: &OnecNode) -> Answer {
    let Ok(value) = new_cookie() else {
        return failure("No cookie could be made.", "Не удалось создать cookie.");
    };
    let name = node.name.clone();
    let stored = value.clone();
    match with_store(app, move |store| store.onec_start(&name, &stored, now())).await {
        Ok(()) => Answer(format!("success\n{COOKIE_NAME}\n{value}\n")),
        Err(_) => failure(
            "The hub's database is unavailable.",
            "База хаба недоступна.",
        ),
    }
}

async fn file(app: &App, node: &OnecNode, filename: Option<&str>, upload: Upload) -> Answer {
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
    if bytes.len() > FILE_LIMIT {
        return failure(
            &format!("A fragment may be at most {FILE_LIMIT} bytes (file_limit)."),
            &format!("Фрагмент не больше {FILE_LIMIT} байт (file_limit)."),
        );
    }
    let name = node.name.clone();
    match with_store(app, move |store| {
        store.onec_append(&name, &filename, &bytes)
    })
    .await
    {
        Ok(()) => Answer("success\n".into()),
        Err(_) => failure(
            "The hub's database is unavailable.",
            "База хаба недоступна.",
        ),
    }
}

async fn import(app: &App, node: &OnecNode, filename: Option<&str>) -> Answer {
    let Some(filename) = filename.filter(|f| plain_file_name(f)).map(str::to_owned) else {
        return failure(
            "filename must be a plain file name.",
            "filename должен быть простым именем файла.",
        );
    };
    let name = node.name.clone();
    let keep_existing = node.keep_existing;
    let outcome = with_store(app, move |store| {
        let Some(bytes) = store.onec_file(&name, &filename)? else {
            return Ok(Err(format!(
                "{filename} was not uploaded in this exchange.\n{filename} не загружен в этом обмене."
            )));
        };
        Ok(crate::onec::site::import_catalog(store, &bytes, keep_existing))
    })
    .await;
    match outcome {
        Ok(Ok(report)) => Answer(format!("success\n{report}\n")),
        Ok(Err(reasons)) => Answer(format!("failure\n{reasons}\n")),
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
