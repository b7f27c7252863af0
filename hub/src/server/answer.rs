//! What every answer shares, whoever made it: the protocol check, the `Tally-Protocol` and
//! `Vary` headers, an `ErrorBody` for refusals the handlers did not make (the router's, a
//! tower-http layer's), the rest of a refused body read off the wire, and one log line per
//! request.

use std::fmt;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, HeaderName, VARY};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tally_wire::{PROTOCOL_HEADER, PROTOCOL_VERSION};
use tokio::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

use super::body::{BodyDeadline, Returnable, body_timeout, too_large};
use super::{
    Limits, Protocol, Refusal, Refused, check_protocol, internal, method_not_allowed, not_found,
    refuse,
};

/// A refused body up to this size is read and dropped before the answer goes, so the client,
/// which sends the whole body before it reads, gets the answer rather than a reset connection.
/// Past it, or past the body's deadline, the connection is closed after the answer instead.
const DRAIN_LIMIT: u64 = 64 << 20;

/// The protocol check, then the request; the answer gets the common headers, refusals an
/// `ErrorBody`, and whatever the handlers left of the body is read off the wire.
pub(super) async fn answer(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let deadline = Instant::now() + limits.body_read;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let declared = content_length(request.headers());
    let (mut parts, body) = request.into_parts();
    let (body, mut rest) = Returnable::new(body);
    let mut response = match check_protocol(&parts.headers) {
        Ok(version) => {
            parts.extensions.insert(Protocol(version));
            parts.extensions.insert(BodyDeadline(deadline));
            next.run(Request::from_parts(parts, Body::new(body))).await
        }
        Err(refusal) => {
            drop(body);
            refusal.into_response()
        }
    };
    let status = response.status();
    if (status.is_client_error() || status.is_server_error())
        && response.extensions().get::<Refused>().is_none()
    {
        response = refusal_for(status, &method, &path).into_response();
    }
    if let Ok(rest) = rest.try_recv() {
        let drained = declared.is_none_or(|n| n <= DRAIN_LIMIT) && drain(rest, deadline).await;
        if !drained {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
    }
    let headers = response.headers_mut();
    if let Ok(name) = HeaderName::from_bytes(PROTOCOL_HEADER.as_bytes()) {
        headers.insert(name, HeaderValue::from(PROTOCOL_VERSION));
    }
    // Caches between terminal and hub must not hand a gzipped answer to a client that did not
    // ask for one; one spelling, whether or not this answer was packed.
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The `ErrorBody` for a refusal made outside the handlers, by its status.
fn refusal_for(status: StatusCode, method: &Method, path: &str) -> Refusal {
    match status {
        StatusCode::NOT_FOUND => not_found(path),
        StatusCode::METHOD_NOT_ALLOWED => method_not_allowed(method, path),
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        StatusCode::REQUEST_TIMEOUT => body_timeout(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => refuse(
            status,
            "unsupported_encoding",
            "The hub reads request bodies plain or gzipped (Content-Encoding: gzip) only.",
            "Хаб принимает тело запроса только без сжатия или в gzip (Content-Encoding: gzip).",
        ),
        StatusCode::NOT_ACCEPTABLE => refuse(
            status,
            "not_acceptable",
            "The hub answers plain or gzipped only: accept one of them (Accept-Encoding).",
            "Хаб отвечает только без сжатия или в gzip: разрешите одно из них (Accept-Encoding).",
        ),
        status if status.is_server_error() => internal(),
        status => refuse(
            status,
            "bad_request",
            format!("The hub cannot take this request ({status})."),
            format!("Хаб не может принять этот запрос ({status})."),
        ),
    }
}

/// Reads the rest of a body and drops it; false when it is too long or too late for that.
async fn drain(mut body: Body, deadline: Instant) -> bool {
    let read = async {
        let mut left = DRAIN_LIMIT;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return false;
            };
            if let Some(data) = frame.data_ref() {
                let len = data.len() as u64;
                if len > left {
                    return false;
                }
                left -= len;
            }
        }
        true
    };
    tokio::time::timeout_at(deadline, read)
        .await
        .unwrap_or(false)
}

/// The client's address as the log shows it.
struct Peer(Option<SocketAddr>);

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => write!(f, "{addr}"),
            None => f.write_str("-"),
        }
    }
}

/// One line per request, when it is answered: the client's address, the method and route, the
/// device (or administrator) once authenticated, the status and the time taken. Everything
/// logged while handling it (a store error) carries the same fields. Probes log at debug.
pub(super) async fn log(request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let span = tracing::info_span!(
        "request",
        peer = %Peer(peer),
        method = %request.method(),
        route = %route.as_deref().unwrap_or("-"),
        path = Empty,
        device = Empty,
        admin = Empty,
    );
    if route.is_none() {
        span.record("path", tracing::field::display(request.uri().path()));
    }
    let probe = matches!(route.as_deref(), Some("/healthz" | "/readyz"));
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    span.in_scope(|| {
        if probe {
            tracing::debug!(status, ms, "answered");
        } else {
            tracing::info!(status, ms, "answered");
        }
    });
    response
}
