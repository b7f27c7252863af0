//! The True API calls the hub makes, one HTTP request each (docs/true-api.md); retrying and
//! backing off is the link's decision, not the client's.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use ureq::Agent;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// The biggest answer read: a `cises/info` of 1000 codes with their children is a few MiB.
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

/// How one call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401 or 403: the token is not (or no longer) good.
    #[error("GIS MT refused the token ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// 429: too many requests; `Retry-After` when it said.
    #[error("GIS MT asks to slow down (429)")]
    Throttled { retry_after: Option<Duration> },
    /// 5xx, a dropped or stalled connection, an answer cut short: try again later.
    #[error("GIS MT is unavailable: {0}")]
    Unavailable(String),
    /// 404: no such document (or not this participant's).
    #[error("GIS MT knows no such document")]
    NotFound,
    /// Another 4xx: the request itself was refused, and sending it again will not help.
    #[error("GIS MT refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    /// The hub's own configuration (address, CA certificate) is wrong.
    #[error("the True API link is misconfigured: {0}")]
    Config(String),
}

impl ApiError {
    /// Whether the same call may succeed later unchanged.
    pub fn is_transient(&self) -> bool {
        matches!(self, ApiError::Throttled { .. } | ApiError::Unavailable(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthKey {
    pub uuid: String,
    pub data: String,
}

/// One element of a `doc/{id}/info` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentInfo {
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, rename = "type")]
    pub document_type: String,
    #[serde(default)]
    pub errors: Vec<String>,
    /// The body as submitted (with `body=true`): a JSON text, its base64, or the parsed
    /// object, depending on the API's version [U]; [`DocumentInfo::carries`] reads each.
    #[serde(default)]
    pub content: Option<Value>,
}

impl DocumentInfo {
    /// Whether the document's content is this body.
    pub fn carries(&self, body: &str) -> bool {
        use base64::Engine;
        match &self.content {
            Some(Value::String(text)) => {
                text.trim() == body.trim()
                    || base64::engine::general_purpose::STANDARD
                        .decode(text.trim())
                        .is_ok_and(|bytes| bytes == body.as_bytes())
            }
            Some(parsed @ Value::Object(_)) => {
                serde_json::from_str::<Value>(body).is_ok_and(|ours| &ours == parsed)
            }
            _ => false,
        }
    }
}

/// One element of a `doc/list` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedDocument {
    pub number: String,
    #[serde(default, rename = "type")]
    pub document_type: String,
    #[serde(default)]
    pub status: String,
}

#[derive(Deserialize)]
struct DocumentList {
    #[serde(default)]
    results: Vec<ListedDocument>,
}

#[derive(Deserialize)]
struct Token {
    token: String,
}

/// The True API of one host (`https://markirovka.crpt.ru`, a sandbox, or the test emulator).
#[derive(Debug, Clone)]
pub struct TrueApi {
    host: String,
    agent: Agent,
}

impl TrueApi {
    /// `ca_pem` replaces the bundled web roots when GIS MT's certificate chains to a root they
    /// lack (such as the Russian Trusted Root CA).
    pub fn new(host: &str, timeout: Duration, ca_pem: Option<&[u8]>) -> Result<TrueApi, ApiError> {
        let host = host.trim_end_matches('/');
        if !(host.starts_with("https://") || host.starts_with("http://")) {
            return Err(ApiError::Config(format!(
                "the True API address must start with https:// or http://: {host}"
            )));
        }
        let mut tls = TlsConfig::builder();
        if let Some(pem) = ca_pem {
            let certificate = Certificate::from_pem(pem)
                .map_err(|e| ApiError::Config(format!("the True API CA certificate: {e}")))?;
            tls = tls.root_certs(RootCerts::Specific(Arc::new(vec![certificate.to_owned()])));
        }
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
            .timeout_global(Some(timeout))
            .tls_config(tls.build())
            .build()
            .into();
        Ok(TrueApi {
            host: host.to_owned(),
            agent,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// `GET /api/v3/true-api/auth/key`: the text to sign for a sign-in.
    pub fn auth_key(&self) -> Result<AuthKey, ApiError> {
        let answer = self
            .agent
            .get(format!("{}/api/v3/true-api/auth/key", self.host))
            .call();
        json(read(answer)?)
    }

    /// `POST /api/v3/true-api/auth/simpleSignIn` with the attached CMS of the key's data.
    pub fn sign_in(&self, key: &AuthKey, signed: &str) -> Result<String, ApiError> {
        let body = serde_json::json!({"uuid": key.uuid, "data": signed});
        let answer = self
            .agent
            .post(format!("{}/api/v3/true-api/auth/simpleSignIn", self.host))
            .content_type("application/json")
            .send(body.to_string().as_bytes());
        let token: Token = json(read(answer)?)?;
        Ok(token.token)
    }

    /// `POST /api/v3/true-api/cises/info` for at most 1000 codes: one `{cisInfo, errorCode?,
    /// errorMessage?}` per code.
    pub fn cises_info(&self, token: &str, codes: &[String]) -> Result<Vec<Value>, ApiError> {
        let body = serde_json::to_vec(codes).map_err(|e| ApiError::Config(e.to_string()))?;
        let answer = self
            .agent
            .post(format!("{}/api/v3/true-api/cises/info", self.host))
            .header("Authorization", format!("Bearer {token}"))
            .content_type("application/json")
            .send(&body[..]);
        json(read(answer)?)
    }

    /// `POST /api/v3/true-api/lk/documents/create?pg=`: the new document's id.
    pub fn create(
        &self,
        token: &str,
        pg: &str,
        document_type: &str,
        body_base64: &str,
        signature: &str,
    ) -> Result<String, ApiError> {
        let request = serde_json::json!({
            "document_format": "MANUAL",
            "product_document": body_base64,
            "type": document_type,
            "signature": signature,
        });
        let answer = self
            .agent
            .post(format!(
                "{}/api/v3/true-api/lk/documents/create?pg={}",
                self.host,
                query_value(pg)
            ))
            .header("Authorization", format!("Bearer {token}"))
            .content_type("application/json")
            .send(request.to_string().as_bytes());
        let body = read(answer)?;
        let text = String::from_utf8_lossy(&body)
            .trim()
            .trim_matches('"')
            .to_owned();
        if text.is_empty() || text.len() > 128 || text.contains(char::is_whitespace) {
            return Err(ApiError::Unavailable(format!(
                "the answer to create is not a document id: {}",
                text.chars().take(80).collect::<String>()
            )));
        }
        Ok(text)
    }

    /// `GET /api/v4/true-api/doc/{id}/info`, with the submitted body when `with_body`.
    pub fn info(
        &self,
        token: &str,
        pg: &str,
        id: &str,
        with_body: bool,
    ) -> Result<DocumentInfo, ApiError> {
        let mut url = format!(
            "{}/api/v4/true-api/doc/{}/info?pg={}",
            self.host,
            query_value(id),
            query_value(pg)
        );
        if with_body {
            url.push_str("&body=true");
        }
        let answer = self
            .agent
            .get(url)
            .header("Authorization", format!("Bearer {token}"))
            .call();
        let infos: Vec<DocumentInfo> = json(read(answer)?)?;
        infos.into_iter().next().ok_or(ApiError::NotFound)
    }

    /// `GET /api/v4/true-api/doc/list`: the participant's documents of one type and group
    /// received since `from` (an ISO-8601 UTC time), newest first.
    pub fn list(
        &self,
        token: &str,
        pg: &str,
        document_type: &str,
        from: &str,
    ) -> Result<Vec<ListedDocument>, ApiError> {
        let answer = self
            .agent
            .get(format!(
                "{}/api/v4/true-api/doc/list?pg={}&documentType={}&dateFrom={}&limit=10000",
                self.host,
                query_value(pg),
                query_value(document_type),
                query_value(from)
            ))
            .header("Authorization", format!("Bearer {token}"))
            .call();
        let list: DocumentList = json(read(answer)?)?;
        Ok(list.results)
    }
}

/// The export service's packaging levels the hub asks for: units, and the boxes and pallets
/// that hold them.
pub const OWNED_PACKAGE_TYPES: &[&str] = &["UNIT", "LEVEL1", "LEVEL2", "LEVEL3"];

/// A task of the export service (`dispenser/tasks`), as far as the hub reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportTask {
    pub id: String,
    /// `PREPARATION`, `COMPLETED`, `CANCELED`, `ARCHIVE`, `FAILED`.
    #[serde(default)]
    pub current_status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportResult {
    id: String,
    #[serde(default)]
    task_id: String,
    #[serde(default)]
    download_status: String,
    #[serde(default)]
    available: Option<String>,
}

#[derive(Deserialize)]
struct ExportResults {
    #[serde(default)]
    list: Vec<ExportResult>,
}

impl TrueApi {
    /// `POST /api/v3/true-api/dispenser/tasks`: orders the list of codes `inn` owns in circulation
    /// (`FILTERED_CIS_REPORT`) of one product group (its numeric code).
    pub fn order_owned_codes(
        &self,
        token: &str,
        inn: &str,
        pg: u8,
    ) -> Result<ExportTask, ApiError> {
        // `params` is a JSON text inside the JSON, as the export service takes it.
        let params = serde_json::json!({
            "participantInn": inn,
            "packageType": OWNED_PACKAGE_TYPES,
            "status": "INTRODUCED",
        });
        let request = serde_json::json!({
            "format": "CSV",
            "name": "FILTERED_CIS_REPORT",
            "periodicity": "SINGLE",
            "productGroupCode": pg.to_string(),
            "params": params.to_string(),
        });
        let answer = self
            .agent
            .post(format!("{}/api/v3/true-api/dispenser/tasks", self.host))
            .header("Authorization", format!("Bearer {token}"))
            .content_type("application/json")
            .send(request.to_string().as_bytes());
        json(read(answer)?)
    }

    /// `GET /api/v3/true-api/dispenser/tasks/{id}?pg=`: how far the export got.
    pub fn export_task(&self, token: &str, id: &str, pg: u8) -> Result<ExportTask, ApiError> {
        let answer = self
            .agent
            .get(format!(
                "{}/api/v3/true-api/dispenser/tasks/{}?pg={pg}",
                self.host,
                query_value(id)
            ))
            .header("Authorization", format!("Bearer {token}"))
            .call();
        json(read(answer)?)
    }

    /// `GET /api/v3/true-api/dispenser/results?pg=&task_ids=`: the id of the task's file once
    /// it is ready to download, `None` before.
    pub fn export_result(
        &self,
        token: &str,
        task: &str,
        pg: u8,
    ) -> Result<Option<String>, ApiError> {
        let answer = self
            .agent
            .get(format!(
                "{}/api/v3/true-api/dispenser/results?page=0&size=100&pg={pg}&task_ids={}",
                self.host,
                query_value(task)
            ))
            .header("Authorization", format!("Bearer {token}"))
            .call();
        let results: ExportResults = json(read(answer)?)?;
        Ok(results
            .list
            .into_iter()
            .find(|r| {
                r.task_id == task
                    && r.download_status == "SUCCESS"
                    && r.available.as_deref().is_none_or(|a| a == "AVAILABLE")
            })
            .map(|r| r.id))
    }

    /// `GET /api/v3/true-api/dispenser/results/{id}/file?pg=`: the export, a zip of CSV.
    pub fn export_file(&self, token: &str, result: &str, pg: u8) -> Result<Vec<u8>, ApiError> {
        let answer = self
            .agent
            .get(format!(
                "{}/api/v3/true-api/dispenser/results/{}/file?pg={pg}",
                self.host,
                query_value(result)
            ))
            .header("Authorization", format!("Bearer {token}"))
            .call();
        read(answer)
    }
}

/// The codes of an export file: each CSV in the zip, whose header line (after a line
/// describing the filter) names the code's column `requestedCis`. Columns are found by name,
/// so added ones change nothing.
pub fn owned_codes_of(zip_bytes: &[u8]) -> Result<Vec<String>, ApiError> {
    let unreadable = |what: String| ApiError::Unavailable(format!("an unreadable export: {what}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| unreadable(e.to_string()))?;
    let mut codes = Vec::new();
    for index in 0..archive.len() {
        let mut file = archive
            .by_index(index)
            .map_err(|e| unreadable(e.to_string()))?;
        if file.size() > MAX_ANSWER_BYTES {
            return Err(unreadable(format!("a file of {} bytes", file.size())));
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text)
            .map_err(|e| unreadable(e.to_string()))?;
        let Some(start) = text.lines().position(|line| line.contains("requestedCis")) else {
            continue;
        };
        let body: String = text
            .lines()
            .skip(start)
            .flat_map(|line| [line, "\n"])
            .collect();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let column = reader
            .headers()
            .map_err(|e| unreadable(e.to_string()))?
            .iter()
            .position(|h| h.trim() == "requestedCis")
            .ok_or_else(|| unreadable("no requestedCis column".into()))?;
        for record in reader.records() {
            let record = record.map_err(|e| unreadable(e.to_string()))?;
            if let Some(code) = record.get(column).map(str::trim).filter(|c| !c.is_empty()) {
                codes.push(code.to_owned());
            }
        }
    }
    Ok(codes)
}

/// Percent-encodes a query value (ids, groups and dates are plain, but an id comes from GIS
/// MT and is not trusted to be).
pub(crate) fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn read(
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Vec<u8>, ApiError> {
    let response = answer.map_err(transport)?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response
        .into_body()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
        .map_err(transport)?;
    let message = || error_message(&body);
    match status {
        200..=299 => Ok(body),
        401 | 403 => Err(ApiError::Unauthorized {
            status,
            message: message(),
        }),
        404 => Err(ApiError::NotFound),
        429 => Err(ApiError::Throttled { retry_after }),
        500..=599 => Err(ApiError::Unavailable(format!("{status}: {}", message()))),
        _ => Err(ApiError::Refused {
            status,
            message: message(),
        }),
    }
}

/// The API's own words from an error body (`error_message`, `errorMessage`, `message`), or
/// the start of the body.
fn error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        for key in ["error_message", "errorMessage", "message", "description"] {
            if let Some(text) = value.get(key).and_then(Value::as_str) {
                return text.to_owned();
            }
        }
    }
    String::from_utf8_lossy(body).chars().take(300).collect()
}

fn json<T: serde::de::DeserializeOwned>(body: Vec<u8>) -> Result<T, ApiError> {
    // A 2xx that does not read is an answer damaged or cut on the way.
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::Unavailable(format!("an unreadable answer: {e}")))
}

fn transport(error: ureq::Error) -> ApiError {
    match error {
        ureq::Error::BadUri(_)
        | ureq::Error::Tls(_)
        | ureq::Error::Pem(_)
        | ureq::Error::Rustls(_)
        | ureq::Error::InvalidProxyUrl => ApiError::Config(error.to_string()),
        other => ApiError::Unavailable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn error_bodies_are_read_in_the_apis_words() {
        assert_eq!(
            error_message(br#"{"error_message": "Token expired"}"#),
            "Token expired"
        );
        assert_eq!(error_message(b"Bad gateway"), "Bad gateway");
        assert_eq!(query_value("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn a_documents_content_is_recognised_in_each_form_the_api_gives_it() {
        let body = r#"{"inn":"7707083893","products":[{"cis":"x"}]}"#;
        let info = |content: Value| DocumentInfo {
            number: "id".into(),
            status: "CHECKED_OK".into(),
            document_type: "LK_RECEIPT".into(),
            errors: Vec::new(),
            content: Some(content),
        };
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(body);
        assert!(info(Value::String(body.into())).carries(body));
        assert!(info(Value::String(encoded)).carries(body));
        assert!(info(serde_json::from_str(body).unwrap()).carries(body));
        assert!(!info(serde_json::json!({"inn": "other"})).carries(body));
        assert!(
            !DocumentInfo {
                content: None,
                ..info(Value::Null)
            }
            .carries(body)
        );
    }

    #[test]
    fn only_http_addresses_are_taken() {
        assert!(matches!(
            TrueApi::new("markirovka.crpt.ru", Duration::from_secs(1), None),
            Err(ApiError::Config(_))
        ));
        assert!(TrueApi::new("https://markirovka.crpt.ru/", Duration::from_secs(1), None).is_ok());
    }
}
