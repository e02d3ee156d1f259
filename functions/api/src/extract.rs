//! Request extractors whose every refusal is a [`Problem`]: JSON bodies (media type, size,
//! shape, unknown fields), query strings, path ids, and the caller.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{HeaderMap, header, request::Parts};
use serde::de::DeserializeOwned;

use crate::Caller;
use crate::problem::Problem;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The longest id a path may carry (ids this API issues are far shorter).
const MAX_ID_BYTES: usize = 128;

/// A JSON request body: `application/json` (415 otherwise), at most [`MAX_BODY_BYTES`]
/// (413), well-formed (400), of the expected shape with no unknown fields (422).
pub struct JsonBody<T>(pub T);

/// Like [`JsonBody`], but an empty body (with or without a content type) is `T::default()`.
pub struct OptionalJsonBody<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let mime = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

async fn read_body(parts: &Parts, body: Body) -> Result<bytes::Bytes, Problem> {
    let too_large = || Problem::too_large(format!("the request body is larger than {MAX_BODY_BYTES} bytes"));
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return too_large();
            }
            source = s.source();
        }
        Problem::bad_request("the request body could not be read")
    })
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            Problem::invalid(format!("the body does not have the expected shape: {e}"))
        }
        _ => Problem::bad_request(format!("the body is not valid JSON: {e}")),
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Problem> {
        let (parts, body) = req.into_parts();
        if !is_json(&parts.headers) {
            return Err(Problem::unsupported_media_type("the request body must be application/json"));
        }
        let bytes = read_body(&parts, body).await?;
        Ok(JsonBody(parse(&bytes)?))
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Problem> {
        let (parts, body) = req.into_parts();
        let bytes = read_body(&parts, body).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        if !is_json(&parts.headers) {
            return Err(Problem::unsupported_media_type("the request body must be application/json"));
        }
        Ok(OptionalJsonBody(parse(&bytes)?))
    }
}

/// A query string; a bad one is a 400.
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Q(q.0))
            .map_err(|e| Problem::bad_request(format!("bad query string: {}", e.body_text())))
    }
}

/// The id in a path (`/investigations/{id}`). An id this API could not have issued is a
/// 404 without a lookup.
pub struct Id(pub String);

/// Whether `id` has the shape of an id this API issues: ASCII letters, digits, `-`, `_`,
/// `.`, `:`; at most 128 bytes.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let axum::extract::Path(id) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::not_found("no such resource"))?;
        if plausible_id(&id) {
            Ok(Id(id))
        } else {
            Err(Problem::not_found(format!("{id:?} is not an id this API issues")))
        }
    }
}

/// The caller, as the front door established it ([`Caller`] in the request's extensions).
/// Without one, 401: the router is never reached unauthenticated in the cloud.
pub struct Who(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Who {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        parts.extensions.get::<Caller>().map(|c| Who(c.0.clone())).ok_or_else(Problem::unauthenticated)
    }
}
