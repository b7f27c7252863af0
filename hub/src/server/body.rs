//! Request bodies: read whole within the request's deadline and size limit, and handed back
//! unread to [`super::answer`] when a refusal leaves part of one on the wire.

use std::error::Error;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{MAX_BODY_BYTES, Refusal, refuse};

/// When the body of this request must be in, put on it by [`super::answer::answer`].
#[derive(Clone, Copy, Debug)]
pub(super) struct BodyDeadline(pub(super) Instant);

/// A request's body, to be read once the handler has checked what comes before it (the
/// token), so a stranger's body is never buffered.
#[derive(Debug)]
pub(super) struct Upload {
    body: Body,
    deadline: Option<Instant>,
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, _: &S) -> Result<Upload, Self::Rejection> {
        let deadline = request.extensions().get::<BodyDeadline>().map(|d| d.0);
        Ok(Upload {
            body: request.into_body(),
            deadline,
        })
    }
}

impl Upload {
    /// The whole body, unzipped by the layer in front when it came gzipped, refused past
    /// [`MAX_BODY_BYTES`] (before and after unzipping) or when it is not in by the deadline.
    pub(super) async fn read(self) -> Result<Bytes, Refusal> {
        let limit = usize::try_from(MAX_BODY_BYTES).unwrap_or(usize::MAX);
        let collect = Limited::new(self.body, limit).collect();
        let collected = match self.deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, collect)
                .await
                .map_err(|_| body_timeout())?,
            None => collect.await,
        };
        match collected {
            Ok(body) => Ok(body.to_bytes()),
            Err(error) if is_too_large(&*error) => Err(too_large()),
            Err(error) => Err(refuse(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                format!("The request body could not be read: {error}."),
                format!("Не удалось прочитать тело запроса: {error}."),
            )),
        }
    }
}

/// Whether a body error is a size limit's, wherever in the chain of layers it was raised: the
/// gzip layer carries its inner body's errors inside `io::Error`s, whose `source` skips them.
fn is_too_large(error: &(dyn Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<LengthLimitError>() {
            return true;
        }
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && is_too_large(inner)
        {
            return true;
        }
        next = error.source();
    }
    false
}

pub(super) fn too_large() -> Refusal {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
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

pub(super) fn body_timeout() -> Refusal {
    refuse(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        "The request body did not arrive in time: send the request again.",
        "Тело запроса не пришло вовремя: отправьте запрос ещё раз.",
    )
}

/// The raw body as the layers inside see it. Whatever of it is left unread when they drop it
/// goes back to [`super::answer::answer`], which reads it off the wire before answering, so a
/// client that sends its whole body before it reads (ureq does) gets the refusal rather than a
/// reset connection.
pub(super) struct Returnable {
    body: Body,
    back: Option<oneshot::Sender<Body>>,
}

impl Returnable {
    pub(super) fn new(body: Body) -> (Returnable, oneshot::Receiver<Body>) {
        let (back, rest) = oneshot::channel();
        (
            Returnable {
                body,
                back: Some(back),
            },
            rest,
        )
    }
}

impl http_body::Body for Returnable {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Returnable {
    fn drop(&mut self) {
        if self.body.is_end_stream() {
            return;
        }
        if let Some(back) = self.back.take() {
            // Nobody waiting means nobody wants the rest.
            let _ = back.send(std::mem::take(&mut self.body));
        }
    }
}
