use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aiops_aws::dynamo::{DynamoStore, TableNames};
use aiops_core::agent::approval::{ApprovalRequest, ApprovalStatus};
use aiops_core::agent::audit::AuditKind;
use aiops_core::agent::{Investigation, InvestigationStatus, Usage};
use aiops_core::ports::{ApprovalStore, AuditLog, StateStore};
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

const SEEDED: &str = "inv-20251130T100000-0a1b2c3d";
const APPROVAL: &str = "apr-0123456789ab";
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
const BOB: &str = "arn:aws:sts::123456789012:assumed-role/approver/bob";

/// The Lambda Runtime API (2018-06-01): queued events out, responses in.
#[derive(Default)]
struct Runtime {
    queue: Mutex<VecDeque<(String, Value)>>,
    responses: Mutex<HashMap<String, Value>>,
    next_id: Mutex<u64>,
}

async fn next(State(rt): State<Arc<Runtime>>) -> Response {
    loop {
        if let Some((id, event)) = rt.queue.lock().expect("lock").pop_front() {
            let mut headers = HeaderMap::new();
            headers.insert("lambda-runtime-aws-request-id", HeaderValue::from_str(&id).expect("id"));
            let deadline = jiff::Timestamp::now().as_millisecond() + 60_000;
            headers.insert("lambda-runtime-deadline-ms", HeaderValue::from_str(&deadline.to_string()).expect("ms"));
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                HeaderValue::from_static("arn:aws:lambda:eu-west-1:123456789012:function:aiops-api"),
            );
            return (StatusCode::OK, headers, event.to_string()).into_response();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn respond(State(rt): State<Arc<Runtime>>, UrlPath(id): UrlPath<String>, body: String) -> StatusCode {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    rt.responses.lock().expect("lock").insert(id, v);
    StatusCode::ACCEPTED
}

async fn error(State(rt): State<Arc<Runtime>>, UrlPath(id): UrlPath<String>, body: String) -> StatusCode {
    rt.responses.lock().expect("lock").insert(id, json!({"lambda_error": body}));
    StatusCode::ACCEPTED
}

struct Harness {
    rt: Arc<Runtime>,
    child: Child,
    store: DynamoStore,
    sfn: aws_sdk_sfn::Client,
    state_machine: String,
    _runtime: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Harness {
    /// Invokes the function with a fixture and returns the API Gateway response.
    async fn invoke(&mut self, fixture: &str) -> (u16, Value, HashMap<String, String>) {
        let path = Path::new(&manifest_dir()).join("fixtures").join(fixture);
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
        let id = {
            let mut n = self.rt.next_id.lock().expect("lock");
            *n += 1;
            format!("req-{n}")
        };
        self.rt.queue.lock().expect("lock").push_back((id.clone(), event));
        let deadline = Instant::now() + Duration::from_secs(60);
        let response = loop {
            if let Some(r) = self.rt.responses.lock().expect("lock").remove(&id) {
                break r;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the api binary exited ({status}) during {fixture}");
            }
            assert!(Instant::now() < deadline, "no response to {fixture}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(response.get("lambda_error").is_none(), "{fixture}: {response}");
        let status = response["statusCode"].as_u64().expect("statusCode") as u16;
        // API Gateway REST responses carry `headers` and/or `multiValueHeaders`.
        let mut headers: HashMap<String, String> = HashMap::new();
        for (k, v) in response["multiValueHeaders"].as_object().into_iter().flatten() {
            if let Some(first) = v.as_array().and_then(|a| a.first()).and_then(Value::as_str) {
                headers.insert(k.to_ascii_lowercase(), first.to_string());
            }
        }
        for (k, v) in response["headers"].as_object().into_iter().flatten() {
            if let Some(v) = v.as_str() {
                headers.insert(k.to_ascii_lowercase(), v.to_string());
            }
        }
        let body = response["body"].as_str().unwrap_or_default();
        let body: Value = serde_json::from_str(body).unwrap_or(Value::String(body.to_string()));
        (status, body, headers)
    }
}

async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_credential_types::Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), jiff::Timestamp::now().as_nanosecond() % 1_000_000_000)
}

async fn seed(store: &DynamoStore) {
    let at: jiff::Timestamp = "2025-11-30T10:00:00Z".parse().expect("ts");
    let inv = Investigation {
        id: SEEDED.into(),
        question: "Why is the payment-service pod crashing?".into(),
        status: InvestigationStatus::WaitingApproval,
        created_at: at,
        updated_at: at,
        actor: ALICE.into(),
        namespace: Some("production".into()),
        writes: true,
        turns: 3,
        usage: Usage::default(),
        answer: None,
        error: None,
        parent: None,
        executed_actions: Vec::new(),
        steps: vec!["tools:get_pods".into(), "propose:set_container_resources".into()],
        audit_head: None,
    };
    store.put_investigation(&inv).await.expect("seed investigation");
    store.append(SEEDED, ALICE, AuditKind::Question { text: inv.question.clone() }).await.expect("seed audit");
    let req = ApprovalRequest {
        id: APPROVAL.into(),
        investigation_id: SEEDED.into(),
        call_id: "call-1".into(),
        question: inv.question.clone(),
        tool: "set_container_resources".into(),
        args: json!({"namespace": "production", "deployment": "payment-service", "memory_limit": "1Gi"}),
        summary: "raise the memory limit of payment-service to 1Gi".into(),
        action_hash: aiops_core::agent::approval::action_hash("set_container_resources", &json!({})),
        plan_id: "plan-1".into(),
        diff: "- memory: 512Mi\n+ memory: 1Gi".into(),
        evidence: vec!["OOMKilled 5 times in 10 minutes".into()],
        resource_version: "4711".into(),
        requested_by: ALICE.into(),
        requested_at: jiff::Timestamp::now(),
        expires_at: jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
        status: ApprovalStatus::Pending,
        decided_by: None,
        decided_at: None,
        reason: None,
        comment: None,
        execution_link: None,
    };
    store.create(&req, "task-token-1").await.expect("seed approval");
}

/// The harness with a sweep function that exists on moto (an empty package: moto's simple
/// Lambda backend runs nothing).
async fn harness() -> Harness {
    let moto = aiops_testkit::moto::shared().expect("moto (run scripts/setup)");
    let config = sdk(moto.endpoint()).await;
    let name = unique("aiops-sweep");
    let role = moto.create_lambda_role(&name).expect("role");
    // The smallest zip: an end-of-central-directory record, no entries.
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.extend([0u8; 18]);
    aws_sdk_lambda::Client::new(&config)
        .create_function()
        .function_name(&name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
                .build(),
        )
        .send()
        .await
        .expect("sweep function");
    harness_with(&name).await
}

/// The api binary with `sweep_function` as AIOPS_SWEEP_FUNCTION.
async fn harness_with(sweep_function: &str) -> Harness {
    let moto = aiops_testkit::moto::shared().expect("moto (run scripts/setup)");
    let config = sdk(moto.endpoint()).await;
    let tables = TableNames::prefixed(&unique("api"));
    let store = DynamoStore::new(&config, tables.clone());
    store.create_tables().await.expect("tables");
    seed(&store).await;
    let sfn = aws_sdk_sfn::Client::new(&config);
    let state_machine = sfn
        .create_state_machine()
        .name(unique("investigation"))
        .definition(include_str!("../../../../statemachine/investigation.asl.json"))
        .role_arn("arn:aws:iam::123456789012:role/aiops-states")
        .send()
        .await
        .expect("state machine")
        .state_machine_arn()
        .to_string();

    let rt = Arc::new(Runtime::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .with_state(rt.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let child = lambda_command(&addr.to_string(), moto.endpoint(), &tables)
        .env("AIOPS_STATE_MACHINE_ARN", &state_machine)
        .env("AIOPS_SWEEP_FUNCTION", sweep_function)
        .spawn()
        .expect("api binary");
    Harness { rt, child, store, sfn, state_machine, _runtime: server }
}

fn lambda_command(runtime: &str, endpoint: &str, tables: &TableNames) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_api"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime)
        .env("AWS_LAMBDA_FUNCTION_NAME", "aiops-api")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/aiops-api")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AIOPS_STATE_TABLE", &tables.state)
        .env("AIOPS_AUDIT_TABLE", &tables.audit)
        .env("AIOPS_APPROVALS_TABLE", &tables.approvals)
        .env("AIOPS_APPROVAL_TIMEOUT_SECONDS", "600")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_serves_the_api_gateway_fixtures_with_the_caller_as_actor() {
    let mut h = harness().await;

    // Start: 202, recorded under the caller's IAM principal, an execution started on Step Functions.
    let (status, started, headers) = h.invoke("start_investigation.json").await;
    assert_eq!(status, 202, "{started}");
    let id = started["investigation_id"].as_str().expect("id").to_string();
    assert_eq!(headers.get("location").map(String::as_str), Some(format!("/investigations/{id}").as_str()));
    let events = h.store.events(&id).await.expect("audit");
    assert_eq!(events[0].actor, ALICE, "the actor is the caller's principal");
    let inv = h.store.get_investigation(&id).await.expect("read").expect("recorded");
    assert_eq!((inv.actor.as_str(), inv.namespace.as_deref(), inv.writes), (ALICE, Some("production"), true));
    let executions = h.sfn.list_executions().state_machine_arn(&h.state_machine).send().await.expect("executions");
    let names: Vec<&str> = executions.executions().iter().map(|e| e.name()).collect();
    assert_eq!(names, vec![format!("{id}-1").as_str()], "one execution for the question");

    // The same Idempotency-Key again: the same investigation, no second execution.
    let (status, replay, _) = h.invoke("start_investigation.json").await;
    assert_eq!(status, 202, "{replay}");
    assert_eq!(replay["investigation_id"], id.as_str());
    assert_eq!(replay["replayed"], true);
    let executions = h.sfn.list_executions().state_machine_arn(&h.state_machine).send().await.expect("executions");
    assert_eq!(executions.executions().len(), 1);

    let (status, page, _) = h.invoke("list_investigations.json").await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&str> = page["investigations"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["investigation_id"].as_str())
        .collect();
    assert!(ids.contains(&id.as_str()) && ids.contains(&SEEDED), "{ids:?}");

    let (status, detail, _) = h.invoke("get_investigation.json").await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["status"], "waiting_approval");
    assert_eq!(detail["pending_approval"]["id"], APPROVAL);

    let (status, pending, _) = h.invoke("list_pending_approvals.json").await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["approvals"][0]["id"], APPROVAL);

    // Approve: decided by the approver's principal, audited under it.
    let (status, approved, _) = h.invoke("approve.json").await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], BOB);
    assert_eq!(h.store.get(APPROVAL).await.expect("get").expect("approval").status, ApprovalStatus::Approved);
    let (status, trail, _) = h.invoke("get_audit.json").await;
    assert_eq!(status, 200, "{trail}");
    let last = trail["events"].as_array().and_then(|e| e.last()).cloned().expect("events");
    assert_eq!((last["actor"].as_str(), last["event"]["type"].as_str()), (Some(BOB), Some("approval_decided")));

    // A second decision, bad input and unknown ids: problem+json, nothing internal.
    let (status, again, headers) = h.invoke("approve.json").await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(headers.get("content-type").map(String::as_str), Some("application/problem+json"));
    assert!(again["detail"].as_str().is_some_and(|d| d.contains("already approved by") && d.contains(BOB)), "{again}");
    for (fixture, want) in
        [("start_unknown_field.json", 422), ("start_wrong_media_type.json", 415), ("reject_unknown.json", 404)]
    {
        let (status, problem, headers) = h.invoke(fixture).await;
        assert_eq!(status, want, "{fixture}: {problem}");
        assert_eq!(headers.get("content-type").map(String::as_str), Some("application/problem+json"), "{fixture}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(!detail.contains(&h.store.tables().state), "{fixture} leaks a table name: {detail}");
    }

    // POST /sweeps: one run of the sweep function queued (Lambda Invoke, InvocationType=Event,
    // on moto), 202 at once, by the caller.
    let (status, queued, _) = h.invoke("queue_sweep.json").await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["requested_by"], ALICE);
    assert_eq!(queued["links"]["latest"], "/sweeps/latest");

    let (status, doc, _) = h.invoke("get_openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_function_that_cannot_be_invoked_is_a_500_that_names_nothing_internal() {
    let missing = unique("aiops-sweep-missing");
    let mut h = harness_with(&missing).await;
    let (status, problem, headers) = h.invoke("queue_sweep.json").await;
    assert_eq!(status, 500, "{problem}");
    assert_eq!(headers.get("content-type").map(String::as_str), Some("application/problem+json"));
    assert!(!problem.to_string().contains(&missing), "the function's name leaked: {problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("incident")), "{problem}");
}

#[tokio::test]
async fn a_missing_state_machine_arn_fails_the_cold_start_and_names_it() {
    let moto = aiops_testkit::moto::shared().expect("moto (run scripts/setup)");
    let tables = TableNames::prefixed("unused");
    // No runtime API is needed: the configuration is read before the first poll.
    let out = lambda_command("127.0.0.1:9", moto.endpoint(), &tables).output().expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AIOPS_STATE_MACHINE_ARN"), "{stderr}");
}

/// The crate folder, read when the test runs (cargo and nextest set it), so a test binary
/// built in another checkout that shares the target folder still looks in this one.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
