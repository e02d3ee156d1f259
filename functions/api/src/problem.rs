//! Errors as `application/problem+json` (RFC 9457): a status, a stable type, a title and a
//! detail a caller can act on. Internal failures say only that something failed and carry an
//! id to find the log line by; their cause is logged, never returned.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of a problem.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URN naming the kind of problem (`urn:aiops:problem:validation`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What exactly is wrong with this request.
    pub detail: String,
}

impl Problem {
    /// A problem of `status`, kind `slug` (`validation`, `not-found`, …).
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:aiops:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// 400: the request cannot be read (malformed JSON, a bad parameter).
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 409: the state of the resource does not allow this (already decided, still running).
    pub fn conflict(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 413.
    pub fn too_large(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail)
    }

    /// 415.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", detail)
    }

    /// 422: well-formed, but not acceptable (unknown field, too long, bad name).
    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail)
    }

    /// 401: no caller identity reached the API.
    pub fn unauthenticated() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "the request carries no caller identity: the API needs IAM (SigV4) authentication",
        )
    }

    /// 500 or 503 for a failure of ours; `incident` is logged with the cause.
    pub fn internal(retryable: bool, incident: &str) -> Problem {
        let (status, slug) = if retryable {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        };
        Problem::new(status, slug, format!("the request could not be completed; incident {incident} was logged"))
    }

    /// The status code.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl From<aiops_core::Error> for Problem {
    /// Classifies a library error: what the caller got wrong or asked for in the wrong state
    /// is said; anything else is logged with an incident id and reported without its cause.
    fn from(e: aiops_core::Error) -> Problem {
        use aiops_core::{Error, ErrorClass};
        match &e {
            Error::InvalidArgs { message, .. } => Problem::invalid(message.clone()),
            Error::UnknownTool { .. } => Problem::invalid(e.to_string()),
            Error::NotFound { what } => Problem::not_found(format!("{what} not found")),
            // The stores phrase these for people (who decided, when; which cursor is bad).
            Error::Backend { class: ErrorClass::Conflict, message, .. } => Problem::conflict(message.clone()),
            Error::Backend { class: ErrorClass::InvalidInput, message, .. } => Problem::bad_request(message.clone()),
            Error::Backend { class: ErrorClass::NotFound, message, .. } => Problem::not_found(message.clone()),
            other => {
                let incident = incident_id();
                tracing::error!(incident = %incident, error = %other, class = ?other.class(), "request failed");
                Problem::internal(other.class().is_retryable(), &incident)
            }
        }
    }
}

/// A short id to find a failure's log line by.
fn incident_id() -> String {
    use sha2::Digest;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = format!("{}\0{n}\0{}", jiff::Timestamp::now().as_nanosecond(), std::process::id());
    hex::encode(&sha2::Sha256::digest(seed.as_bytes())[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_failure_hides_its_cause() {
        let e = aiops_core::Error::backend(
            aiops_core::ErrorClass::Fatal,
            "dynamodb:PutItem",
            "secret table aiops-prod-state is broken",
        );
        let p = Problem::from(e);
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("aiops-prod-state") && !p.detail.contains("PutItem"), "{}", p.detail);
        let throttled = aiops_core::Error::backend(aiops_core::ErrorClass::Throttled, "x", "y");
        assert_eq!(Problem::from(throttled).status, 503);
    }

    #[test]
    fn a_problem_is_problem_json() {
        let r = Problem::not_found("investigation x not found").into_response();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
