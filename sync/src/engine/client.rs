//! The blocking hub client: one `ureq` agent, the protocol header, the bearer token, timeouts,
//! retries with backoff for failures a retry can cure, compact (and, when large, gzipped) JSON.
//! Answers come gzipped when large: ureq's `gzip` feature asks for that and unpacks them.

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use ureq::Agent;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use serde::Deserialize;
use serde_json::value::RawValue;

use tally_wire::{
    EnrollRequest, EnrollResponse, ErrorBody, Feed, PROTOCOL_HEADER, PROTOCOL_VERSION, PushRequest,
    PushResponse,
};

/// A pull page read as `wire::PullResponse` with each item left as the hub's JSON text: the
/// replica's importer parses it once, instead of a `Value` tree built and written out again
/// (a third of a million-status download).
#[derive(Deserialize, Debug)]
pub struct PullPage {
    pub feed: Feed,
    pub items: Vec<PulledItem>,
    pub next_after: i64,
    pub more: bool,
    /// Part of a snapshot (`wire::PullResponse::snapshot`).
    #[serde(default)]
    pub snapshot: bool,
    /// When the hub last read the warehouse's statuses from GIS MT
    /// (`wire::PullResponse::statuses_as_of`); absent from hubs of protocol 2.
    #[serde(default)]
    pub statuses_as_of: Option<i64>,
}

/// One `wire::FeedItem`, its item unparsed.
#[derive(Deserialize, Debug)]
pub struct PulledItem {
    pub seq: i64,
    pub item: Box<RawValue>,
}

/// How the client talks to the hub. [`ClientConfig::new`] has the terminal's defaults.
#[derive(Clone)]
pub struct ClientConfig {
    /// `https://hub.example:8443` (or `http://` on a trusted dock network); no trailing path.
    pub base_url: String,
    /// The device token; `None` only for enrollment.
    pub token: Option<String>,
    pub connect_timeout: Duration,
    /// The whole request, response body included.
    pub global_timeout: Duration,
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// The first backoff; it doubles per attempt up to `backoff_max`, with jitter.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Request bodies larger than this are sent gzipped (the hub accepts `Content-Encoding:
    /// gzip`); a push batch of documents shrinks about tenfold.
    pub gzip_above: usize,
    /// Ask the hub to gzip large answers (`Accept-Encoding: gzip`, the default). A pull page
    /// shrinks several times over, which a dock's Wi-Fi needs; on a wired dock or loopback
    /// the hub's and the terminal's CPU time may cost more than the bytes saved.
    pub gzip_answers: bool,
    /// PEM text of the private CA that signed the hub's certificate; `None` uses the
    /// compiled-in web roots.
    pub ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for ClientConfig {
    // The token never reaches a log: a log line with it would enroll whoever reads the log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("global_timeout", &self.global_timeout)
            .field("attempts", &self.attempts)
            .field("gzip_above", &self.gzip_above)
            .field("gzip_answers", &self.gzip_answers)
            .field("private_ca", &self.ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, token: Option<String>) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token,
            connect_timeout: Duration::from_secs(5),
            // A pull page of 5,000 statuses over a weak Wi-Fi link.
            global_timeout: Duration::from_secs(60),
            attempts: 5,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(8),
            gzip_above: 16 * 1024,
            gzip_answers: true,
            ca_pem: None,
        }
    }
}

/// Why a request to the hub failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The hub could not be reached or kept failing (network, timeout, 5xx) after every
    /// attempt; nothing is lost, the next round tries again.
    #[error("the hub did not answer after {attempts} attempts: {last}")]
    Unreachable { attempts: u32, last: String },
    /// The hub refused the device token (401/403): the terminal must be enrolled again.
    #[error("the hub refused this terminal ({status} {}): {}", .body.code, .body.en)]
    Unauthorized { status: u16, body: ErrorBody },
    /// Any other refusal (4xx): retrying the same request cannot help.
    #[error("the hub refused the request ({status} {}): {}", .body.code, .body.en)]
    Refused { status: u16, body: ErrorBody },
    /// The configuration cannot work (bad URL, bad CA file).
    #[error("hub client configuration: {0}")]
    Config(String),
    /// A 2xx answer that is not the protocol's JSON.
    #[error("the hub's answer cannot be read: {0}")]
    BadAnswer(String),
}

impl ClientError {
    /// True when the hub refused the token: the operator must enroll again.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ClientError::Unauthorized { .. })
    }
}

/// Largest answer read: a full pull page of big task documents.
const MAX_ANSWER_BYTES: u64 = 256 << 20;

/// One outcome of one attempt.
enum Attempt<T> {
    Done(T),
    /// Worth another attempt (network, timeout, 5xx, cut-off answer).
    Retry(String),
    Fail(ClientError),
}

/// The hub client. Cheap to share by reference; one agent pools connections.
pub struct HubClient {
    agent: Agent,
    config: ClientConfig,
    /// Jitter state: splitmix64, seeded per client so terminals docking together spread out.
    jitter: AtomicU64,
}

impl fmt::Debug for HubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HubClient {
    pub fn new(config: ClientConfig) -> Result<HubClient, ClientError> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(ClientError::Config(format!(
                "the hub address must start with http:// or https://: {}",
                config.base_url
            )));
        }
        let mut tls = TlsConfig::builder();
        if let Some(pem) = &config.ca_pem {
            let certificate = Certificate::from_pem(pem)
                .map_err(|e| ClientError::Config(format!("the CA certificate: {e}")))?;
            tls = tls.root_certs(RootCerts::Specific(Arc::new(vec![certificate])));
        }
        let accept_encoding = if config.gzip_answers {
            ureq::config::AutoHeaderValue::Default
        } else {
            ureq::config::AutoHeaderValue::None
        };
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .accept_encoding(accept_encoding)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.global_timeout))
            .tls_config(tls.build())
            .build()
            .into();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(std::process::id());
        Ok(HubClient {
            agent,
            config,
            jitter: AtomicU64::new(seed),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Trades a one-time code for a device token (`POST /v1/enroll`).
    pub fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse, ClientError> {
        self.post("/v1/enroll", request)
    }

    /// Sends one batch of the queue (`POST /v1/push`). Safe to repeat: the hub applies each
    /// operation UUID once and answers a replay with its first answer.
    pub fn push(&self, request: &PushRequest) -> Result<PushResponse, ClientError> {
        self.post("/v1/push", request)
    }

    /// One page of a feed after `after` (`GET /v1/pull/{feed}`).
    pub fn pull(&self, feed: Feed, after: i64, limit: u32) -> Result<PullPage, ClientError> {
        self.pull_page(feed, after, limit, false)
    }

    /// One page of a feed; `in_snapshot` continues a snapshot the hub started (`snapshot=1`),
    /// so the hub pages on from `after` instead of starting the snapshot again.
    pub fn pull_page(
        &self,
        feed: Feed,
        after: i64,
        limit: u32,
        in_snapshot: bool,
    ) -> Result<PullPage, ClientError> {
        let mut path = format!("/v1/pull/{}?after={after}&limit={limit}", feed.name());
        if in_snapshot {
            path.push_str("&snapshot=1");
        }
        self.with_retries(|| {
            let mut request = self
                .agent
                .get(format!("{}{path}", self.config.base_url))
                .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
            if let Some(token) = &self.config.token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            answer(request.call())
        })
    }

    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let json = serde_json::to_vec(body).map_err(|e| ClientError::Config(e.to_string()))?;
        let (bytes, gzipped) = if json.len() > self.config.gzip_above {
            (
                gzip(&json).map_err(|e| ClientError::Config(e.to_string()))?,
                true,
            )
        } else {
            (json, false)
        };
        self.with_retries(|| {
            let mut request = self
                .agent
                .post(format!("{}{path}", self.config.base_url))
                .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
                .header("Content-Type", "application/json");
            if gzipped {
                request = request.header("Content-Encoding", "gzip");
            }
            if let Some(token) = &self.config.token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            answer(request.send(&bytes[..]))
        })
    }

    fn with_retries<T>(&self, mut attempt: impl FnMut() -> Attempt<T>) -> Result<T, ClientError> {
        let attempts = self.config.attempts.max(1);
        let mut last = String::new();
        for n in 0..attempts {
            if n > 0 {
                std::thread::sleep(self.backoff(n));
            }
            match attempt() {
                Attempt::Done(value) => return Ok(value),
                Attempt::Fail(error) => return Err(error),
                Attempt::Retry(why) => last = why,
            }
        }
        Err(ClientError::Unreachable { attempts, last })
    }

    /// Exponential backoff with "full jitter": a random wait up to the doubled base, so a
    /// dock full of terminals does not hammer a restarting hub in step.
    fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .config
            .backoff_base
            .saturating_mul(1u32 << retry.min(16))
            .min(self.config.backoff_max);
        let ceiling_us = u64::try_from(ceiling.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let random = splitmix(
            self.jitter
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed),
        );
        Duration::from_micros(ceiling_us / 2 + random % (ceiling_us / 2 + 1))
    }
}

/// The splitmix64 finaliser: a well-mixed number from a counter.
pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    // Fast level: the terminal's CPU is the bottleneck, and JSON compresses well at level 1.
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 8), Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Sorts one attempt's outcome into done, retry or fail.
fn answer<T: DeserializeOwned>(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Attempt<T> {
    let response = match result {
        Ok(response) => response,
        Err(error) => return transport(error),
    };
    let status = response.status().as_u16();
    let body = match response
        .into_body()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
    {
        Ok(body) => body,
        // An answer cut off on the way is a network failure: ask again.
        Err(error) => return transport(error),
    };
    if status >= 500 {
        return Attempt::Retry(format!("hub answered {status}"));
    }
    if status >= 400 {
        let body = serde_json::from_slice::<ErrorBody>(&body).unwrap_or_else(|_| ErrorBody {
            code: format!("http_{status}"),
            en: String::from_utf8_lossy(&body).chars().take(200).collect(),
            ru: String::new(),
        });
        return Attempt::Fail(if status == 401 || status == 403 {
            ClientError::Unauthorized { status, body }
        } else {
            ClientError::Refused { status, body }
        });
    }
    match serde_json::from_slice(&body) {
        Ok(value) => Attempt::Done(value),
        // A 2xx whose body does not read is a body damaged on the way (a proxy cut it): the
        // request is idempotent, so asking again is safe.
        Err(error) => Attempt::Retry(format!("unreadable answer: {error}")),
    }
}

fn transport<T>(error: ureq::Error) -> Attempt<T> {
    match error {
        ureq::Error::BadUri(_)
        | ureq::Error::Tls(_)
        | ureq::Error::Pem(_)
        | ureq::Error::Rustls(_)
        | ureq::Error::InvalidProxyUrl
        | ureq::Error::BodyExceedsLimit(_) => Attempt::Fail(ClientError::Config(error.to_string())),
        other => Attempt::Retry(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_output_never_shows_the_token() {
        let client = HubClient::new(ClientConfig::new(
            "http://127.0.0.1:1",
            Some("s3cret".into()),
        ))
        .unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("redacted"), "{text}");
    }

    #[test]
    fn backoff_grows_to_its_ceiling_with_jitter() {
        let mut config = ClientConfig::new("http://127.0.0.1:1", None);
        config.backoff_base = Duration::from_millis(100);
        config.backoff_max = Duration::from_millis(1000);
        let client = HubClient::new(config).unwrap();
        for retry in 1..10 {
            let wait = client.backoff(retry);
            let ceiling =
                Duration::from_millis(100 << retry.min(16)).min(Duration::from_millis(1000));
            assert!(wait <= ceiling && wait >= ceiling / 2, "{retry}: {wait:?}");
        }
    }

    #[test]
    fn a_hub_address_without_scheme_is_refused() {
        assert!(matches!(
            HubClient::new(ClientConfig::new("hub.local", None)),
            Err(ClientError::Config(_))
        ));
    }
}
