//! The API function: the REST API internal tools and the CLI's remote mode use, as one
//! [`axum::Router`] ([`router`]) that two front doors serve — the Lambda behind API Gateway
//! (`main.rs`, `lambda_http`) and `aiops serve-api` on a local listener.
//!
//! Routes: `POST /investigations`, `POST /investigations/{id}/messages`,
//! `GET /investigations`, `GET /investigations/{id}`, `GET /investigations/{id}/audit`,
//! `GET /approvals`, `POST /approvals/{id}/approve`, `POST /approvals/{id}/reject`,
//! `GET /openapi.json` (generated from these handlers and types), `GET /ui` (the approvals
//! page), `POST /sweeps` and `GET /sweeps/latest` (`aiops_core::sweep`; see [`Sweeps`]).
//!
//! Belongs here: HTTP concerns — validation, status codes, problem+json, CORS, idempotency
//! keys, the views. Does not belong here: workflow logic (`aiops_core::workflow`), adapters
//! (`aiops-aws`, `aiops-local`), or `lambda_http` (only `main.rs` knows the Lambda front door).
//!
//! The actor: the router trusts a [`Caller`] in the request's extensions, which the front
//! door puts there (the IAM principal from API Gateway's request context in the cloud; the
//! unverified SigV4 access key id, or `local:anonymous`, locally). A request without one
//! that needs an actor is refused with 401.

pub mod extract;
mod handlers;
pub mod openapi;
pub mod problem;
mod ui;
pub mod views;

use std::sync::Arc;

use aiops_core::ports::{
    ApprovalStore, AuditLog, ClusterReader, ExecutionStarter, Notifier, StateStore, SweepStore, TaskCallback,
};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use extract::MAX_BODY_BYTES;
pub use problem::Problem;

/// Who calls: an IAM principal ARN in the cloud; `local:…` locally. Put in the request's
/// extensions by the front door, never read from a header by the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

/// Settings of the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiConfig {
    /// How long an approval may wait before it counts as rejected.
    pub approval_timeout_seconds: u64,
    /// The cluster this deployment investigates; a request naming another is refused.
    pub cluster: Option<String>,
    /// The one origin browsers may call from (`AIOPS_CORS_ORIGIN`); no CORS when `None`.
    pub cors_origin: Option<String>,
}

impl ApiConfig {
    /// Reads what the API adds to the functions' shared configuration:
    /// `AIOPS_CORS_ORIGIN` (an origin like `https://tools.example.com`, or unset).
    ///
    /// # Errors
    /// A message naming the variable when its value is not an origin.
    pub fn cors_from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Option<String>, String> {
        match get("AIOPS_CORS_ORIGIN").filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(o) if o == "*" => Ok(Some(o)),
            Some(o) if (o.starts_with("https://") || o.starts_with("http://")) && !o.ends_with('/') => Ok(Some(o)),
            Some(o) => Err(format!("AIOPS_CORS_ORIGIN={o:?} is not an origin (scheme://host[:port], no path)")),
        }
    }
}

/// The Lambda's configuration: the functions' shared settings plus the API's own.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    pub function: aiops_aws::config::FunctionConfig,
    /// The investigation state machine (`AIOPS_STATE_MACHINE_ARN`).
    pub state_machine_arn: String,
    /// The sweep function `POST /sweeps` invokes (`AIOPS_SWEEP_FUNCTION`, a name or ARN);
    /// without it the route answers 404.
    pub sweep_function: Option<String>,
    pub api: ApiConfig,
}

impl LambdaConfig {
    /// Reads the configuration through `get` (`|k| std::env::var(k).ok()` in the Lambda).
    ///
    /// # Errors
    /// A message naming the missing or malformed variable.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<LambdaConfig, String> {
        let function = aiops_aws::config::FunctionConfig::from_vars(&get).map_err(|e| e.to_string())?;
        let state_machine_arn = get("AIOPS_STATE_MACHINE_ARN")
            .filter(|v| v.starts_with("arn:"))
            .ok_or_else(|| "configuration: AIOPS_STATE_MACHINE_ARN is not set to a state machine ARN".to_string())?;
        let api = ApiConfig {
            approval_timeout_seconds: function.workflow.approval_timeout_seconds,
            cluster: function.cluster_name.clone(),
            cors_origin: ApiConfig::cors_from_vars(&get)?,
        };
        let sweep_function = get("AIOPS_SWEEP_FUNCTION").map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Ok(LambdaConfig { function, state_machine_arn, sweep_function, api })
    }
}

/// What the API needs, built once per process.
#[derive(Clone)]
pub struct Deps {
    pub state: Arc<dyn StateStore>,
    pub audit: Arc<dyn AuditLog>,
    pub approvals: Arc<dyn ApprovalStore>,
    /// Starts the investigation state machine (Step Functions, or the local engine).
    pub starter: Arc<dyn ExecutionStarter>,
    /// Resumes a workflow waiting on an approval (SendTaskSuccess, or the local engine).
    pub callback: Arc<dyn TaskCallback>,
    pub config: ApiConfig,
    /// Health sweeps; `None`: the sweep routes answer 404.
    pub sweeps: Option<Sweeps>,
}

/// What the sweep routes need. `GET /sweeps/latest` reads the store; `POST /sweeps` runs a
/// sweep only where the API can read the cluster (`aiops serve-api`). In the cloud the
/// scheduled sweep function runs sweeps (a sweep may outlast API Gateway's 29 s), so the
/// Lambda has no reader and `POST /sweeps` is a 404 that says so.
#[derive(Clone)]
pub struct Sweeps {
    pub store: Arc<dyn SweepStore>,
    pub reader: Option<Arc<dyn ClusterReader>>,
    /// Where a sweep's summary goes.
    pub notifier: Option<Arc<dyn Notifier>>,
    /// Without a reader (in the cloud): what `POST /sweeps` queues a sweep with.
    pub trigger: Option<Arc<dyn aiops_core::ports::SweepTrigger>>,
    pub config: aiops_core::sweep::SweepConfig,
}

/// The API's router, for either front door.
pub fn router(deps: Arc<Deps>) -> Router {
    let cors = deps.config.cors_origin.clone();
    Router::new()
        .route("/investigations", post(handlers::start).get(handlers::list))
        .route("/investigations/{id}", get(handlers::show))
        .route("/investigations/{id}/messages", post(handlers::follow_up))
        .route("/investigations/{id}/audit", get(handlers::audit))
        .route("/approvals", get(handlers::approvals))
        .route("/approvals/{id}/approve", post(handlers::approve))
        .route("/approvals/{id}/reject", post(handlers::reject))
        .route("/sweeps", post(handlers::sweep))
        .route("/sweeps/latest", get(handlers::latest_sweep))
        .route("/openapi.json", get(handlers::openapi))
        .route("/ui", get(handlers::ui))
        .fallback(|| async { Problem::not_found("no such resource") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this resource does not take that method",
            )
        })
        .with_state(deps)
        .layer(middleware::from_fn_with_state(cors, cors_layer))
}

/// CORS, off unless an origin is configured: then that origin (or any, for `*`) gets the
/// `Access-Control-Allow-*` headers and preflights are answered. Without one, browsers keep
/// their same-origin rule (the approvals page is served from the API's own origin).
async fn cors_layer(State(origin): State<Option<String>>, req: Request, next: Next) -> Response {
    let Some(allowed) = origin else { return next.run(req).await };
    let request_origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string);
    let matches = request_origin.as_deref().is_some_and(|o| allowed == "*" || o == allowed);
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight && matches { StatusCode::NO_CONTENT.into_response() } else { next.run(req).await };
    if matches {
        let h = response.headers_mut();
        let value = if allowed == "*" { "*".to_string() } else { allowed.clone() };
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        if preflight {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(
                    "authorization, content-type, idempotency-key, x-amz-date, x-amz-security-token, x-amz-content-sha256",
                ),
            );
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
    }
    response
}
