//! A script on moto's Step Functions interpreter: the six functions created in moto's Lambda,
//! the definition created with their ARNs substituted, the replies queued as moto's simple
//! Lambda results, the approver answering the token read from the execution history.
//!
//! moto gaps met here (see the report in `investigation.rs`):
//! - its simple Lambda backend returns the queued results and never reports a function error,
//!   except one it raises itself when a result exceeds Lambda's 6 MB response limit
//!   (`Function.ResponseSizeTooLarge`, `FunctionError: Unhandled`). A failing reply is queued
//!   as such an oversized result: moto then takes the real function-error path (TaskFailed,
//!   Retry, Catch) but with that error name instead of the scripted `errorType`;
//! - its result queue is one FIFO per account and region, shared by every function, so each
//!   scenario deploys into a region of its own.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use aiops_testkit::moto::Moto;
use anyhow::{Context, bail};
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::script::{Approver, Reply, Scenario};
use crate::{FUNCTIONS, INVESTIGATION_ASL, substitute};

/// moto's default account.
const ACCOUNT: &str = "123456789012";

/// The role the functions and the state machine are created with.
const ROLE: &str = "aiops-differential";

/// How long moto may take to reach a state or end an execution.
const PATIENCE: Duration = Duration::from_secs(60);

/// An empty ZIP archive (just the end-of-central-directory record): the functions' code, which
/// moto's simple Lambda backend never runs.
const EMPTY_ZIP: [u8; 22] = [b'P', b'K', 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// A result moto's simple Lambda backend turns into a function error: larger than the 6 MB it
/// checks for (`Function.ResponseSizeTooLarge`).
const OVERSIZED: usize = 6_000_001;

/// The investigation state machine deployed in one region of the shared moto server.
pub struct MotoStack {
    moto: &'static Moto,
    region: String,
    client: aws_sdk_sfn::Client,
    substitutions: BTreeMap<String, String>,
    state_machine_arn: String,
}

/// How an execution went on moto.
#[derive(Debug)]
pub struct MotoRun {
    /// `SUCCEEDED`, `FAILED`, … (`DescribeExecution`).
    pub status: String,
    pub output: Option<Value>,
    /// The entered states (the `…StateEntered` events' names), Map iteration states included.
    pub path: Vec<String>,
    pub events: Vec<HistoryEvent>,
}

impl MotoRun {
    /// The output of every exit from `state`, in order.
    pub fn exits(&self, state: &str) -> Vec<Value> {
        self.events
            .iter()
            .filter_map(|e| e.state_exited_event_details())
            .filter(|d| d.name() == state)
            .filter_map(|d| d.output().and_then(|o| serde_json::from_str(o).ok()))
            .collect()
    }
}

impl MotoStack {
    /// Creates the role, the six functions and the state machine in `region` (use one region
    /// per scenario: moto's Lambda result queue is per region), with execution switched on.
    ///
    /// # Errors
    /// moto is missing or refuses a request.
    pub async fn deploy(region: &str) -> anyhow::Result<MotoStack> {
        let moto = aiops_testkit::moto::shared()
            .context("the differential tests run the state machine on moto's Step Functions")?;
        moto.enable_stepfunctions_execution()?;
        let role_arn = create_role(moto)?;
        let mut substitutions = BTreeMap::new();
        for (key, function) in FUNCTIONS {
            substitutions.insert(key.to_owned(), create_function(moto, region, function, &role_arn)?);
        }
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(moto.endpoint())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .build();
        let client = aws_sdk_sfn::Client::from_conf(config);
        let definition = substitute(INVESTIGATION_ASL, &substitutions)?;
        let created = client
            .create_state_machine()
            .name("aiops-investigation")
            .definition(definition)
            .role_arn(role_arn)
            .send()
            .await
            .context("moto refused the state machine")?;
        let state_machine_arn = created.state_machine_arn().to_owned();
        Ok(MotoStack { moto, region: region.to_owned(), client, substitutions, state_machine_arn })
    }

    /// The DefinitionSubstitutions used: each key to its function's ARN in moto.
    pub fn substitutions(&self) -> &BTreeMap<String, String> {
        &self.substitutions
    }

    /// Queues the replies, starts the execution, answers the approval when the script says so,
    /// and waits for the end.
    ///
    /// # Errors
    /// moto refuses a request, or the execution does not reach the approval or its end in time.
    pub async fn run(&self, scenario: &Scenario) -> anyhow::Result<MotoRun> {
        let results: Vec<Value> = scenario.replies.iter().map(queued_result).collect();
        self.moto.queue_lambda_results(&self.region, &results)?;
        let started = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(scenario.name)
            .input(scenario.input.to_string())
            .send()
            .await?;
        let execution = started.execution_arn().to_owned();

        if let Some(Approver::Decides(decision)) = &scenario.approver {
            let token = self.waiting_token(&execution).await?;
            self.client.send_task_success().task_token(token).output(decision.to_string()).send().await?;
        }
        let deadline = Instant::now() + PATIENCE;
        let described = loop {
            let described = self.client.describe_execution().execution_arn(&execution).send().await?;
            if described.status() != &ExecutionStatus::Running {
                break described;
            }
            if Instant::now() > deadline {
                bail!("moto's execution {} did not end within {PATIENCE:?}", scenario.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let events = self.history(&execution).await?;
        let path = events.iter().filter_map(|e| e.state_entered_event_details()).map(|d| d.name().to_owned()).collect();
        Ok(MotoRun {
            status: described.status().as_str().to_owned(),
            output: described.output().map(serde_json::from_str).transpose()?,
            path,
            events,
        })
    }

    /// Every event of an execution (`GetExecutionHistory`, all pages).
    async fn history(&self, execution: &str) -> anyhow::Result<Vec<HistoryEvent>> {
        let mut events = Vec::new();
        let mut next = None;
        loop {
            let page = self
                .client
                .get_execution_history()
                .execution_arn(execution)
                .max_results(1000)
                .set_next_token(next)
                .send()
                .await?;
            events.extend_from_slice(page.events());
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(events);
            }
        }
    }

    /// The token of the approval task once moto waits on it. moto, like Step Functions, records
    /// the resolved parameters in the TaskScheduled event, `$$.Task.Token` included; it waits
    /// once the Lambda call returned (TaskSubmitted).
    async fn waiting_token(&self, execution: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let events = self.history(execution).await?;
            let submitted = events.iter().any(|e| e.r#type() == &HistoryEventType::TaskSubmitted);
            let token = events
                .iter()
                .filter_map(|e| e.task_scheduled_event_details())
                .filter(|d| d.resource() == "invoke.waitForTaskToken")
                .filter_map(|d| serde_json::from_str::<Value>(d.parameters()).ok())
                .find_map(|p| p.pointer("/Payload/task_token").and_then(Value::as_str).map(str::to_owned));
            if let (true, Some(token)) = (submitted, token) {
                return Ok(token);
            }
            if events
                .iter()
                .any(|e| matches!(e.r#type(), HistoryEventType::ExecutionSucceeded | HistoryEventType::ExecutionFailed))
            {
                bail!("moto's execution ended without waiting for an approval");
            }
            if Instant::now() > deadline {
                bail!("moto's execution did not wait for an approval within {PATIENCE:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// What moto's simple Lambda backend is told to return for a reply.
fn queued_result(reply: &Reply) -> Value {
    match reply {
        Reply::Returns(payload) => payload.clone(),
        // moto cannot return a function error with our errorType (see the module docs); the
        // oversized result makes it raise Function.ResponseSizeTooLarge instead.
        Reply::Fails { error_type, message } => {
            json!({"errorType": error_type, "errorMessage": message, "padding": "x".repeat(OVERSIZED)})
        }
    }
}

/// Creates the role (IAM is global: once per moto) and returns its ARN.
fn create_role(moto: &Moto) -> anyhow::Result<String> {
    let body = format!("Action=CreateRole&Version=2010-05-08&RoleName={ROLE}&AssumeRolePolicyDocument=%7B%7D");
    let (status, text) =
        aws_request(moto, "iam", "us-east-1", "POST", "/", "application/x-www-form-urlencoded", &body)?;
    if status != 200 && !text.contains("EntityAlreadyExists") {
        bail!("moto refused to create the role ({status}): {text}");
    }
    Ok(format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}"))
}

/// Creates a function in moto's Lambda (`CreateFunction`) and returns its ARN.
fn create_function(moto: &Moto, region: &str, name: &str, role_arn: &str) -> anyhow::Result<String> {
    let body = json!({
        "FunctionName": name,
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Role": role_arn,
        "Code": {"ZipFile": base64::engine::general_purpose::STANDARD.encode(EMPTY_ZIP)},
    });
    let (status, text) =
        aws_request(moto, "lambda", region, "POST", "/2015-03-31/functions", "application/json", &body.to_string())?;
    match status {
        201 | 200 => {
            let created: Value =
                serde_json::from_str(&text).with_context(|| format!("CreateFunction answered {text}"))?;
            created["FunctionArn"].as_str().map(str::to_owned).with_context(|| format!("no FunctionArn in {text}"))
        }
        409 => Ok(format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{name}")),
        _ => bail!("moto refused to create function {name} ({status}): {text}"),
    }
}

/// One request to a moto service API without an SDK client (the workspace has no Lambda or IAM
/// client). moto picks the service and region from the SigV4 credential scope in the
/// Authorization header and does not verify the signature, so the header carries the scope and
/// a placeholder signature.
fn aws_request(
    moto: &Moto,
    service: &str,
    region: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    let address = moto.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let text = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, text))
}
