//! Lambda `api`. Trigger: the API Gateway REST API (proxy integration on `/{proxy+}`, IAM
//! auth), events decoded by `lambda_http`. Input: an HTTP request; output: JSON, or
//! `application/problem+json` errors (400/401/404/409/413/415/422, 500/503 without detail).
//! The actor of every write is the caller's IAM principal from the request context
//! (`identity.userArn`, else `identity.caller`). The stage prefix API Gateway adds to the path
//! is dropped before routing.
//!
//! Environment: AIOPS_STATE_TABLE, AIOPS_AUDIT_TABLE, AIOPS_APPROVALS_TABLE (required),
//! AIOPS_STATE_MACHINE_ARN (required: the investigation state machine), AIOPS_CLUSTER_NAME
//! (the cluster investigated; a request naming another is refused),
//! AIOPS_APPROVAL_TIMEOUT_SECONDS (default 3600), AIOPS_CORS_ORIGIN (unset: no CORS; else
//! the one allowed origin, or `*`), and the budget variables FunctionConfig reads
//! (AIOPS_MAX_TURNS, AIOPS_MAX_INPUT_TOKENS, AIOPS_MAX_RESULT_BYTES).
//!
//! Sweeps: `GET /sweeps/latest` reads the stored latest sweep; `POST /sweeps` queues one run
//! of the sweep function named by AIOPS_SWEEP_FUNCTION (an asynchronous invoke: a sweep may
//! outlast API Gateway's 29 s) and answers 202; without that variable it answers 404.
//!
//! IAM: dynamodb GetItem, PutItem, Query on the state table and its indexes (by_created,
//! by_status; the latest sweep is read from it); PutItem, Query on the audit table; GetItem, UpdateItem, Query on the approvals
//! table and its indexes; states:StartExecution on the state machine; states:SendTaskSuccess
//! and states:SendTaskFailure (resource `*`, as task tokens require); lambda:InvokeFunction on
//! the sweep function.

use std::sync::Arc;

use aiops_aws::config::load_sdk;
use aiops_aws::dynamo::DynamoStore;
use aiops_aws::invoke::LambdaSweepTrigger;
use aiops_aws::sfn::{SfnStarter, SfnTaskCallback};
use aiops_fn_api::{Caller, Deps, LambdaConfig, Sweeps, router};
use lambda_http::request::RequestContext;
use lambda_http::{Error, Request, RequestExt, service_fn};
use tower::ServiceExt;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // Configuration is read (and refused) before the first request; the SDK clients and the
    // router are built on it, so nothing that can wait delays the cold start.
    let cfg = LambdaConfig::from_vars(|k| std::env::var(k).ok())?;
    let app = tokio::sync::OnceCell::new();
    lambda_http::run(service_fn(|req: Request| {
        let (app, cfg) = (&app, &cfg);
        async move {
            let app: &axum::Router = app.get_or_init(|| build(cfg)).await;
            app.clone().oneshot(front_door(req)).await
        }
    }))
    .await
}

/// The router and its clients, built on the first request.
async fn build(cfg: &LambdaConfig) -> axum::Router {
    let sdk = load_sdk().await;
    let store = Arc::new(DynamoStore::new(&sdk, cfg.function.tables.clone()));
    let deps = Deps {
        state: store.clone(),
        audit: store.clone(),
        approvals: store.clone(),
        starter: Arc::new(SfnStarter::new(&sdk, cfg.state_machine_arn.clone())),
        callback: Arc::new(SfnTaskCallback::new(&sdk)),
        config: cfg.api.clone(),
        // The sweep function runs sweeps in the cloud: POST /sweeps queues one, GET
        // /sweeps/latest reads the latest report.
        sweeps: Some(Sweeps {
            store,
            reader: None,
            notifier: None,
            trigger: cfg
                .sweep_function
                .clone()
                .map(|f| Arc::new(LambdaSweepTrigger::new(&sdk, f)) as Arc<dyn aiops_core::ports::SweepTrigger>),
            config: Default::default(),
        }),
    };
    router(Arc::new(deps))
}

/// The Lambda front door: the caller from the request context, the path without the stage.
fn front_door(mut req: Request) -> Request {
    let caller = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => {
            ctx.identity.user_arn.clone().or_else(|| ctx.identity.caller.clone()).filter(|c| !c.is_empty())
        }
        _ => None,
    };
    if let Some(c) = caller {
        req.extensions_mut().insert(Caller(c));
    }
    let raw = req.raw_http_path().to_string();
    if raw.starts_with('/') {
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{raw}?{q}"),
            None => raw,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = lambda_http::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}
