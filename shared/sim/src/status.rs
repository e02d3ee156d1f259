//! `Status` objects: how the API server reports a failure.
//!
//! Every error the simulated cluster returns is an [`ApiError`], serialized as the real server
//! does (`{"kind": "Status", "apiVersion": "v1", "status": "Failure", "message", "reason",
//! "details", "code"}`), so kube-rs turns it into `kube::Error::Api` with the same code, reason
//! and message a real cluster would give. The messages copy the real server's wording.

use aiops_core::kinds::KindInfo;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A failed request, as a Kubernetes `Status`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status code (400, 404, 405, 409, 410, 415, 422, 500).
    pub code: u16,
    /// The machine-readable reason (`NotFound`, `Conflict`, …).
    pub reason: &'static str,
    /// The human-readable message.
    pub message: String,
    /// `details`: `{name, group, kind}` where the real server sets them.
    pub details: Option<Value>,
}

/// `deployments.apps` for grouped kinds, `pods` for the core group: how the real server names a
/// resource in messages.
pub fn qualified_resource(info: &KindInfo) -> String {
    if info.group.is_empty() { info.plural.to_string() } else { format!("{}.{}", info.plural, info.group) }
}

/// `Deployment.apps` for grouped kinds, `Pod` for the core group: how the real server names a
/// kind in validation messages.
pub fn qualified_kind(info: &KindInfo) -> String {
    if info.group.is_empty() { info.name.to_string() } else { format!("{}.{}", info.name, info.group) }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { code, reason, message: message.into(), details: None }
    }

    fn resource_details(info: &KindInfo, name: &str) -> Value {
        let mut details = json!({"name": name, "kind": info.plural});
        if !info.group.is_empty() {
            details["group"] = json!(info.group);
        }
        details
    }

    /// 400 BadRequest with `message`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    /// 404 NotFound for an object: `deployments.apps "web" not found`.
    pub fn not_found(info: &KindInfo, name: &str) -> ApiError {
        let mut err = ApiError::new(404, "NotFound", format!("{} \"{name}\" not found", qualified_resource(info)));
        err.details = Some(ApiError::resource_details(info, name));
        err
    }

    /// 404 NotFound for a path the server does not serve (unknown group, version or resource).
    pub fn unknown_path() -> ApiError {
        let mut err = ApiError::new(404, "NotFound", "the server could not find the requested resource");
        err.details = Some(json!({}));
        err
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> ApiError {
        let mut err =
            ApiError::new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        err.details = Some(json!({}));
        err
    }

    /// 405 MethodNotAllowed for a watch, with a message saying why.
    pub fn watch_not_supported() -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the simulated cluster serves a snapshot and does not support watch; list instead",
        )
    }

    /// 409 AlreadyExists: `deployments.apps "web" already exists`.
    pub fn already_exists(info: &KindInfo, name: &str) -> ApiError {
        let mut err =
            ApiError::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", qualified_resource(info)));
        err.details = Some(ApiError::resource_details(info, name));
        err
    }

    /// 409 Conflict for a stale `resourceVersion`, with the real server's message.
    pub fn conflict(info: &KindInfo, name: &str) -> ApiError {
        ApiError::conflict_with(
            info,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 Conflict: `Operation cannot be fulfilled on deployments.apps "web": {why}`.
    pub fn conflict_with(info: &KindInfo, name: &str, why: &str) -> ApiError {
        let mut err = ApiError::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {} \"{name}\": {why}", qualified_resource(info)),
        );
        err.details = Some(ApiError::resource_details(info, name));
        err
    }

    /// 410 Gone, reason Expired: a `continue` token older than the server keeps.
    pub fn expired() -> ApiError {
        ApiError::new(
            410,
            "Expired",
            "The provided continue parameter is too old to display a consistent list result. You can start a new \
             list without the continue parameter, or use the continue token in this response to retrieve the \
             remainder of the results. Continuing with the provided token results in an inconsistent list - objects \
             that were created, modified, or deleted between the time the first chunk was returned and now may show \
             up in the list.",
        )
    }

    /// 415 UnsupportedMediaType for a PATCH content type the server does not apply.
    pub fn unsupported_patch(content_type: &str) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}) - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
            ),
        )
    }

    /// 422 Invalid: `{Kind}.{group} "{name}" is invalid: {cause}`, details naming the kind.
    pub fn invalid(kind_name: &str, group: &str, name: &str, cause: &str) -> ApiError {
        let qualified = if group.is_empty() { kind_name.to_string() } else { format!("{kind_name}.{group}") };
        let mut err = ApiError::new(422, "Invalid", format!("{qualified} \"{name}\" is invalid: {cause}"));
        let mut details = json!({"name": name, "kind": kind_name, "causes": [{"message": cause}]});
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        err.details = Some(details);
        err
    }

    /// 422 Invalid for an object of a known kind.
    pub fn invalid_object(info: &KindInfo, name: &str, cause: &str) -> ApiError {
        ApiError::invalid(info.name, info.group, name, cause)
    }

    /// 422 Invalid without a kind: a JSON patch that cannot be applied.
    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "Invalid", message)
    }

    /// 500 InternalError (a bug in the simulated cluster, never expected).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "InternalError", message)
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, Json(self.to_status())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use aiops_core::Kind;

    use super::*;

    #[test]
    fn conflict_message_matches_the_real_server() {
        let err = ApiError::conflict(Kind::Deployment.info(), "web");
        assert_eq!(
            err.message,
            "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply \
             your changes to the latest version and try again"
        );
        let status = err.to_status();
        assert_eq!(status["code"], 409);
        assert_eq!(status["details"]["group"], "apps");
        assert_eq!(status["details"]["kind"], "deployments");
    }

    #[test]
    fn core_kinds_have_no_group_in_messages() {
        let err = ApiError::not_found(Kind::Pod.info(), "api-1");
        assert_eq!(err.message, "pods \"api-1\" not found");
        assert!(err.to_status()["details"].get("group").is_none());
    }
}
