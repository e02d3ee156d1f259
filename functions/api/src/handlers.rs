//! The route handlers: each reads its input through the [`crate::extract`] extractors, calls
//! one library function (`aiops_core::workflow`, the store ports) and maps the result to a
//! view or a [`Problem`].

use std::sync::Arc;

use aiops_core::agent::approval::{ApprovalStatus, Decision};
use aiops_core::catalog::{is_dns_label, is_dns_subdomain};
use aiops_core::workflow::approval::decide;
use aiops_core::workflow::{MAX_QUESTION_BYTES, StartRequest, launch};
use aiops_core::{ErrorClass, agent::InvestigationStatus};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::Deps;
use crate::extract::{Id, JsonBody, OptionalJsonBody, Q, Who};
use crate::problem::Problem;
use crate::views::{
    Approval, ApprovalList, ApprovalState, ApproveBody, AuditEntry, AuditPage, FollowUp, InvestigationDetail,
    InvestigationPage, InvestigationSummary, Links, RejectBody, StartInvestigation, Started, Status,
    investigation_detail,
};

/// The longest Idempotency-Key accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The longest comment or rejection reason, in bytes.
const MAX_NOTE_BYTES: usize = 2048;

/// Page size bounds.
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

type Shared = State<Arc<Deps>>;

fn check_question(q: &str) -> Result<String, Problem> {
    let q = q.trim();
    if q.is_empty() {
        return Err(Problem::invalid("question: must not be blank"));
    }
    if q.len() > MAX_QUESTION_BYTES {
        return Err(Problem::invalid(format!("question: longer than {MAX_QUESTION_BYTES} bytes")));
    }
    Ok(q.to_string())
}

fn check_note(field: &str, text: &str) -> Result<(), Problem> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(Problem::invalid(format!("{field}: longer than {MAX_NOTE_BYTES} bytes")));
    }
    Ok(())
}

fn check_limit(limit: Option<u32>) -> Result<usize, Problem> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n as usize),
        n => Err(Problem::bad_request(format!("limit: {n} is not between 1 and {MAX_LIMIT}"))),
    }
}

/// The Idempotency-Key header, checked: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let bad = || Problem::bad_request(format!("Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"));
    let s = v.to_str().map_err(|_| bad())?;
    if s.is_empty() || s.len() > MAX_IDEMPOTENCY_KEY || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(s.to_string()))
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn accepted(started: Started) -> Response {
    let location = HeaderValue::from_str(&started.links.this).ok();
    let mut response = (StatusCode::ACCEPTED, Json(started)).into_response();
    if let Some(l) = location {
        response.headers_mut().insert(header::LOCATION, l);
    }
    response
}

/// Start an investigation.
///
/// Records the question and starts the workflow on it; `202` with the id and links. With an
/// `Idempotency-Key`, a retry of the same request (same caller, same key, same body) returns
/// the same investigation; the same key with another body is a `422`, and a retry while the
/// first request is still being recorded a `409`.
#[utoipa::path(
    post, path = "/investigations", tag = "investigations",
    request_body(content = StartInvestigation, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1 to 255 visible ASCII characters, scoped to the caller")),
    responses(
        (status = 202, description = "The investigation started (or, for a replayed Idempotency-Key, had started)", body = Started,
            headers(("Location" = String, description = "The investigation"))),
        (status = 400, description = "Malformed JSON or header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No caller identity", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still being recorded", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, unknown field, or Idempotency-Key reused with another body", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal failure (logged)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backend is throttled or unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start(
    State(deps): Shared,
    Who(actor): Who,
    headers: HeaderMap,
    JsonBody(body): JsonBody<StartInvestigation>,
) -> Result<Response, Problem> {
    let question = check_question(&body.question)?;
    if let Some(ns) = &body.namespace
        && !is_dns_label(ns)
    {
        return Err(Problem::invalid(format!("namespace: {ns:?} is not an RFC 1123 label")));
    }
    if let Some(cluster) = &body.cluster {
        if !is_dns_subdomain(cluster) {
            return Err(Problem::invalid(format!("cluster: {cluster:?} is not an RFC 1123 name")));
        }
        match &deps.config.cluster {
            Some(served) if served == cluster => {}
            Some(served) => {
                return Err(Problem::invalid(format!(
                    "cluster: this API investigates cluster {served}, not {cluster}"
                )));
            }
            None => {
                return Err(Problem::invalid(format!(
                    "cluster: this API serves one unnamed cluster source; leave cluster out (got {cluster})"
                )));
            }
        }
    }
    let key = idempotency_key(&headers)?;
    let now = Timestamp::now();
    let mut id = None;
    if let Some(key) = &key {
        let doc_key = format!("IDEMPOTENCY#{}", sha256_hex(&format!("{actor}\n{key}")));
        let request_hash = sha256_hex(&serde_json::to_string(&body).unwrap_or_default());
        let fresh = aiops_core::workflow::new_id(&question, &actor, now);
        let doc = json!({"investigation_id": fresh, "request_hash": request_hash, "started": false});
        if deps.state.create_doc(&doc_key, &doc).await? {
            id = Some(fresh);
        } else {
            let existing = deps.state.get_doc(&doc_key).await?.unwrap_or(Value::Null);
            if existing.get("request_hash").and_then(Value::as_str) != Some(request_hash.as_str()) {
                return Err(Problem::invalid("Idempotency-Key: already used with a different request body"));
            }
            let earlier = existing.get("investigation_id").and_then(Value::as_str).unwrap_or_default().to_string();
            if existing.get("started").and_then(Value::as_bool) == Some(true) {
                return replay(&deps, &earlier).await;
            }
            id = Some(earlier);
        }
        let req = StartRequest {
            question,
            actor: actor.clone(),
            namespace: body.namespace.clone(),
            writes: body.writes.unwrap_or(false),
            continue_from: None,
            id: id.clone(),
        };
        let launched = match launch(
            deps.state.as_ref(),
            deps.audit.as_ref(),
            deps.starter.as_ref(),
            req,
            deps.config.approval_timeout_seconds,
            now,
        )
        .await
        {
            Ok(l) => l,
            Err(e) if e.class() == ErrorClass::Conflict => {
                return Err(Problem::conflict(
                    "a request with this Idempotency-Key is still being recorded; retry in a moment",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let done =
            json!({"investigation_id": launched.investigation.id, "request_hash": request_hash, "started": true});
        deps.state.put_doc(&doc_key, &done).await?;
        return Ok(accepted(Started {
            investigation_id: launched.investigation.id.clone(),
            status: launched.investigation.status.into(),
            execution_name: launched.execution_name,
            replayed: false,
            links: Links::of(&launched.investigation.id),
        }));
    }
    let req = StartRequest {
        question,
        actor,
        namespace: body.namespace.clone(),
        writes: body.writes.unwrap_or(false),
        continue_from: None,
        id,
    };
    let launched = launch(
        deps.state.as_ref(),
        deps.audit.as_ref(),
        deps.starter.as_ref(),
        req,
        deps.config.approval_timeout_seconds,
        now,
    )
    .await?;
    Ok(accepted(Started {
        investigation_id: launched.investigation.id.clone(),
        status: launched.investigation.status.into(),
        execution_name: launched.execution_name,
        replayed: false,
        links: Links::of(&launched.investigation.id),
    }))
}

/// The answer to a retried request whose investigation was recorded and started.
async fn replay(deps: &Deps, id: &str) -> Result<Response, Problem> {
    let inv = deps
        .state
        .get_investigation(id)
        .await?
        .ok_or_else(|| Problem::conflict("a request with this Idempotency-Key is still being recorded"))?;
    Ok(accepted(Started {
        investigation_id: inv.id.clone(),
        status: inv.status.into(),
        // The first question's execution (see `aiops_core::workflow::launch`).
        execution_name: format!("{}-1", inv.id),
        replayed: true,
        links: Links::of(&inv.id),
    }))
}

/// Ask a follow-up question in the same conversation.
///
/// The investigation must have finished its previous question (`409` while it runs or waits
/// for an approval).
#[utoipa::path(
    post, path = "/investigations/{id}/messages", tag = "investigations",
    params(("id" = String, Path, description = "The investigation")),
    request_body(content = FollowUp, content_type = "application/json"),
    responses(
        (status = 202, description = "The follow-up started", body = Started, headers(("Location" = String, description = "The investigation"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No caller identity", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such investigation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still working on the previous question", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal failure (logged)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backend is throttled or unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn follow_up(
    State(deps): Shared,
    Id(id): Id,
    Who(actor): Who,
    JsonBody(body): JsonBody<FollowUp>,
) -> Result<Response, Problem> {
    let question = check_question(&body.question)?;
    let inv = deps
        .state
        .get_investigation(&id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("investigation {id} not found")))?;
    if matches!(inv.status, InvestigationStatus::Running | InvestigationStatus::WaitingApproval) {
        return Err(Problem::conflict(format!(
            "investigation {id} is still {}: ask once it has answered",
            inv.status.as_str().replace('_', " ")
        )));
    }
    let req = StartRequest {
        question,
        actor,
        namespace: inv.namespace.clone(),
        writes: inv.writes,
        continue_from: Some(id),
        id: None,
    };
    let launched = launch(
        deps.state.as_ref(),
        deps.audit.as_ref(),
        deps.starter.as_ref(),
        req,
        deps.config.approval_timeout_seconds,
        Timestamp::now(),
    )
    .await?;
    Ok(accepted(Started {
        investigation_id: launched.investigation.id.clone(),
        status: launched.investigation.status.into(),
        execution_name: launched.execution_name,
        replayed: false,
        links: Links::of(&launched.investigation.id),
    }))
}

/// Query of `GET /investigations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only investigations in this state.
    status: Option<Status>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(max_length = 512)]
    cursor: Option<String>,
}

/// List investigations, newest first.
#[utoipa::path(
    get, path = "/investigations", tag = "investigations", params(ListQuery),
    responses(
        (status = 200, description = "A page of investigations", body = InvestigationPage),
        (status = 400, description = "Bad status, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal failure (logged)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backend is throttled or unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(State(deps): Shared, Q(q): Q<ListQuery>) -> Result<Json<InvestigationPage>, Problem> {
    let limit = check_limit(q.limit)?;
    let cursor = q.cursor.filter(|c| !c.is_empty());
    let (items, next) =
        deps.state.list_investigations(q.status.map(Into::into), limit, cursor.as_deref()).await.map_err(|e| {
            if e.class() == ErrorClass::InvalidInput {
                Problem::bad_request("cursor: not a cursor this API returned")
            } else {
                e.into()
            }
        })?;
    Ok(Json(InvestigationPage { investigations: items.iter().map(InvestigationSummary::from).collect(), next }))
}

/// An investigation: status, steps so far, findings, answer, and the approval it waits on.
#[utoipa::path(
    get, path = "/investigations/{id}", tag = "investigations",
    params(("id" = String, Path, description = "The investigation")),
    responses(
        (status = 200, description = "The investigation", body = InvestigationDetail),
        (status = 404, description = "No such investigation", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal failure (logged)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backend is throttled or unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(State(deps): Shared, Id(id): Id) -> Result<Json<InvestigationDetail>, Problem> {
    investigation_detail(deps.state.as_ref(), deps.audit.as_ref(), deps.approvals.as_ref(), &id)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("investigation {id} not found")))
}

/// Query of `GET /investigations/{id}/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events after this sequence number (the `next` of the previous page); default 0.
    #[param(minimum = 0)]
    after: Option<u64>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// A page of an investigation's audit trail, by sequence.
#[utoipa::path(
    get, path = "/investigations/{id}/audit", tag = "audit",
    params(("id" = String, Path, description = "The investigation"), AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 400, description = "Bad after or limit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such investigation", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal failure (logged)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backend is throttled or unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn audit(State(deps): Shared, Id(id): Id, Q(q): Q<AuditQuery>) -> Result<Json<AuditPage>, Problem> {
    let limit = check_limit(q.limit)?;
    if deps.state.get_investigation(&id).await?.is_none() {
        return Err(Problem::not_found(format!("investigation {id} not found")));
    }
    let events = deps.audit.events_after(&id, q.after.unwrap_or(0), limit).await?;
    let next = if events.len() == limit { events.last().map(|e| e.seq) } else { None };
    Ok(Json(AuditPage { investigation_id: id, events: events.into_iter().map(AuditEntry::from).collect(), next }))
}

/// Query of `GET /approvals`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApprovalsQuery {
    /// Only requests in this state (all when absent).
    status: Option<ApprovalState>,
}

/// List approval requests, newest first.
#[utoipa::path(
    get, path = "/approvals", tag = "approvals", params(ApprovalsQuery),
    responses(
        (status = 200, description = "Approval requests", body = ApprovalList),
        (status = 400, description = "Bad status", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal failure (logged)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backend is throttled or unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn approvals(State(deps): Shared, Q(q): Q<ApprovalsQuery>) -> Result<Json<ApprovalList>, Problem> {
    let status = q.status.map(|s| match s {
        ApprovalState::Pending => ApprovalStatus::Pending,
        ApprovalState::Approved => ApprovalStatus::Approved,
        ApprovalState::Rejected => ApprovalStatus::Rejected,
        ApprovalState::Expired => ApprovalStatus::Expired,
        ApprovalState::Used => ApprovalStatus::Used,
    });
    let list = deps.approvals.list(status).await?;
    Ok(Json(ApprovalList { approvals: list.into_iter().map(Approval::from).collect() }))
}

async fn decide_as(deps: &Deps, id: &str, decision: Decision) -> Result<Json<Approval>, Problem> {
    let req = decide(
        deps.state.as_ref(),
        deps.audit.as_ref(),
        deps.approvals.as_ref(),
        deps.callback.as_ref(),
        id,
        &decision,
        Timestamp::now(),
    )
    .await?;
    Ok(Json(Approval::from(req)))
}

/// Approve a pending approval request: the waiting workflow resumes and runs the action.
#[utoipa::path(
    post, path = "/approvals/{id}/approve", tag = "approvals",
    params(("id" = String, Path, description = "The approval request")),
    request_body(content = Option<ApproveBody>, content_type = "application/json", description = "Optional; the body may be empty"),
    responses(
        (status = 200, description = "Approved", body = Approval),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No caller identity", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such approval request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided, or expired", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal failure (logged)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backend is throttled or unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn approve(
    State(deps): Shared,
    Id(id): Id,
    Who(actor): Who,
    OptionalJsonBody(body): OptionalJsonBody<ApproveBody>,
) -> Result<Json<Approval>, Problem> {
    if let Some(c) = &body.comment {
        check_note("comment", c)?;
    }
    let comment = body.comment.filter(|c| !c.trim().is_empty());
    decide_as(&deps, &id, Decision { approve: true, by: actor, reason: None, comment }).await
}

/// Reject a pending approval request, with a reason: the workflow resumes without the action.
#[utoipa::path(
    post, path = "/approvals/{id}/reject", tag = "approvals",
    params(("id" = String, Path, description = "The approval request")),
    request_body(content = RejectBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Rejected", body = Approval),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No caller identity", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such approval request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided, or expired", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing, blank or unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal failure (logged)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backend is throttled or unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reject(
    State(deps): Shared,
    Id(id): Id,
    Who(actor): Who,
    JsonBody(body): JsonBody<RejectBody>,
) -> Result<Json<Approval>, Problem> {
    if body.reason.trim().is_empty() {
        return Err(Problem::invalid("reason: a rejection needs a reason"));
    }
    check_note("reason", &body.reason)?;
    decide_as(&deps, &id, Decision { approve: false, by: actor, reason: Some(body.reason), comment: None }).await
}

/// Run a health sweep now: every analyzer over every watched namespace, the diff against the
/// previous sweep, investigations started for new serious findings. Where the API has the
/// cluster (`aiops serve-api`) it sweeps and answers 200 with the report; in the cloud it
/// queues one run of the sweep function and answers 202 (the report then lands at
/// `/sweeps/latest`).
#[utoipa::path(
    post, path = "/sweeps", tag = "sweeps",
    responses(
        (status = 200, description = "The sweep: `new`, `ongoing` and `resolved` findings, the investigations started", content_type = "application/json", body = Object),
        (status = 202, description = "A sweep was queued (in the cloud): `{status, request_id, requested_by, links}`", content_type = "application/json", body = Object),
        (status = 401, description = "No caller identity", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "This API is configured without sweeps", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal failure (logged)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backend is throttled or unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sweep(State(deps): Shared, Who(actor): Who) -> Result<Response, Problem> {
    use aiops_core::sweep::{Investigator, SweepPorts, SweepRequest, requested_event, run};
    let not_here = || Problem::not_found("this API is configured without sweeps");
    let sweeps = deps.sweeps.as_ref().ok_or_else(not_here)?;
    let Some(reader) = sweeps.reader.as_ref() else {
        let trigger = sweeps.trigger.as_ref().ok_or_else(not_here)?;
        let request_id = trigger.trigger(&requested_event("api", &actor)).await?;
        let body = json!({
            "status": "queued",
            "request_id": request_id,
            "requested_by": actor,
            "links": {"latest": "/sweeps/latest"},
        });
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    };
    let ports = SweepPorts {
        reader: reader.as_ref(),
        sweeps: sweeps.store.as_ref(),
        notifier: sweeps.notifier.as_deref(),
        investigator: Some(Investigator {
            state: deps.state.as_ref(),
            audit: deps.audit.as_ref(),
            starter: deps.starter.as_ref(),
        }),
    };
    let request = SweepRequest { trigger: "api".into(), sweep_id: None };
    let done = run(&ports, &sweeps.config, request, Timestamp::now()).await?;
    Ok(Json(done).into_response())
}

/// The latest sweep.
#[utoipa::path(
    get, path = "/sweeps/latest", tag = "sweeps",
    responses(
        (status = 200, description = "The latest sweep's report", content_type = "application/json", body = Object),
        (status = 404, description = "No sweep has run yet, or this API has no sweeps", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal failure (logged)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A backend is throttled or unavailable; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn latest_sweep(State(deps): Shared) -> Result<Response, Problem> {
    let sweeps = deps.sweeps.as_ref().ok_or_else(|| Problem::not_found("this API has no sweeps"))?;
    let report = aiops_core::sweep::latest(sweeps.store.as_ref())
        .await?
        .ok_or_else(|| Problem::not_found("no sweep has run yet"))?;
    Ok(Json(report).into_response())
}

/// The OpenAPI 3.1 document of this API, generated from the code.
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)),
)]
pub async fn openapi() -> Response {
    let doc = crate::openapi::document_json();
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

/// The approvals page: pending approvals with the diff, the evidence, and approve/reject.
#[utoipa::path(
    get, path = "/ui", tag = "meta",
    responses((status = 200, description = "A self-contained HTML page", content_type = "text/html", body = String)),
)]
pub async fn ui() -> Response {
    crate::ui::page()
}
