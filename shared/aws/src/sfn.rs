//! Step Functions: [`SfnTaskCallback`] resumes a workflow waiting on a task token (the cloud's
//! [`TaskCallback`]); [`SfnStarter`] starts and describes executions of the investigation
//! state machine; [`console_link`] points a person at an execution.

use aiops_core::ports::{ExecutionStarter, TaskCallback};
use aiops_core::{Error, ErrorClass, Result};
use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::SdkError;
use jiff::Timestamp;
use serde_json::Value;

use crate::error::{backend_error, backend_error_as, error_code};

/// The longest `error` SendTaskFailure accepts, in characters.
const MAX_ERROR_CHARS: usize = 256;

/// The longest `cause` SendTaskFailure accepts, in characters.
const MAX_CAUSE_CHARS: usize = 32_768;

/// The link to an execution in the Step Functions console.
pub fn console_link(region: &str, execution_arn: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"
    )
}

/// The first `max` characters of `text`.
fn clip(text: &str, max: usize) -> &str {
    text.char_indices().nth(max).map_or(text, |(i, _)| &text[..i])
}

/// The error of a SendTask* call: a token Step Functions no longer waits on is a `Conflict`
/// that says so (the token itself is never part of a message).
fn task_error<E, R>(operation: &str, err: SdkError<E, R>) -> Error
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: crate::error::HttpStatus + std::fmt::Debug + Send + Sync + 'static,
{
    let why = match error_code(&err) {
        Some("TaskTimedOut") => "the workflow stopped waiting for this task: it timed out, or the execution ended",
        Some("TaskDoesNotExist") => {
            "the workflow is not waiting on this task token: it was already resumed, or its execution ended"
        }
        Some("InvalidToken") => {
            "the task token is not one Step Functions issued (malformed or from another account or region)"
        }
        _ => return backend_error(operation, err),
    };
    backend_error_as(ErrorClass::Conflict, operation, why, err)
}

/// Resumes workflows waiting on task tokens with SendTaskSuccess / SendTaskFailure. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct SfnTaskCallback {
    client: Client,
}

impl SfnTaskCallback {
    /// A callback whose client is built from `config`.
    pub fn new(config: &aws_config::SdkConfig) -> SfnTaskCallback {
        SfnTaskCallback::with_client(Client::new(config))
    }

    /// A callback over an existing client.
    pub fn with_client(client: Client) -> SfnTaskCallback {
        SfnTaskCallback { client }
    }
}

#[async_trait::async_trait]
impl TaskCallback for SfnTaskCallback {
    /// SendTaskSuccess with `output` as the task's result. A second call for the same token
    /// fails (`Conflict`), so it is not idempotent.
    ///
    /// # Errors
    /// `Conflict` when the workflow no longer waits on the token (timed out, already resumed,
    /// ended) or the token is invalid; `InvalidInput` when the output is too large
    /// (`InvalidOutput`, over 256 KiB); other classified SDK errors.
    async fn succeed(&self, token: &str, output: &Value) -> Result<()> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
            .map_err(|e| task_error("states:SendTaskSuccess", e))?;
        Ok(())
    }

    /// SendTaskFailure with `error` (cut to 256 characters) and `cause` (cut to 32,768).
    ///
    /// # Errors
    /// As [`SfnTaskCallback::succeed`].
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<()> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(clip(error, MAX_ERROR_CHARS))
            .cause(clip(cause, MAX_CAUSE_CHARS))
            .send()
            .await
            .map_err(|e| task_error("states:SendTaskFailure", e))?;
        Ok(())
    }
}

/// Where an execution stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    PendingRedrive,
    /// A status newer than this code.
    Other(String),
}

impl ExecutionStatus {
    fn from_sdk(status: &aws_sdk_sfn::types::ExecutionStatus) -> ExecutionStatus {
        match status.as_str() {
            "RUNNING" => ExecutionStatus::Running,
            "SUCCEEDED" => ExecutionStatus::Succeeded,
            "FAILED" => ExecutionStatus::Failed,
            "TIMED_OUT" => ExecutionStatus::TimedOut,
            "ABORTED" => ExecutionStatus::Aborted,
            "PENDING_REDRIVE" => ExecutionStatus::PendingRedrive,
            other => ExecutionStatus::Other(other.to_string()),
        }
    }

    /// Whether the execution has ended (any status but running or pending redrive).
    pub fn is_done(&self) -> bool {
        !matches!(self, ExecutionStatus::Running | ExecutionStatus::PendingRedrive)
    }
}

/// What [`SfnStarter::describe`] reports about an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub execution_arn: String,
    pub name: Option<String>,
    pub status: ExecutionStatus,
    pub started_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
    /// The output of a succeeded execution (JSON; a string when it is not JSON).
    pub output: Option<Value>,
    /// The error name of a failed execution (`Aiops.Throttled`, `States.Timeout`, …).
    pub error: Option<String>,
    pub cause: Option<String>,
}

fn timestamp(dt: &aws_smithy_types::DateTime) -> Option<Timestamp> {
    Timestamp::new(dt.secs(), i32::try_from(dt.subsec_nanos()).ok()?).ok()
}

#[async_trait::async_trait]
impl ExecutionStarter for SfnStarter {
    async fn start_execution(&self, name: &str, input: &Value) -> Result<String> {
        self.start(name, input).await
    }
}

/// Starts and describes executions of one state machine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SfnStarter {
    client: Client,
    state_machine_arn: String,
}

impl SfnStarter {
    /// A starter whose client is built from `config`.
    pub fn new(config: &aws_config::SdkConfig, state_machine_arn: impl Into<String>) -> SfnStarter {
        SfnStarter::with_client(Client::new(config), state_machine_arn)
    }

    /// A starter over an existing client.
    pub fn with_client(client: Client, state_machine_arn: impl Into<String>) -> SfnStarter {
        SfnStarter { client, state_machine_arn: state_machine_arn.into() }
    }

    /// The state machine.
    pub fn state_machine_arn(&self) -> &str {
        &self.state_machine_arn
    }

    /// StartExecution named `name` (the investigation id, so a retried start cannot start a
    /// second execution) with `input`; returns the execution's ARN.
    ///
    /// # Errors
    /// `Conflict` when an execution of that name exists (`ExecutionAlreadyExists`);
    /// `InvalidInput` for a bad name or input; `NotFound` when the state machine does not
    /// exist; other classified SDK errors.
    pub async fn start(&self, name: &str, input: &Value) -> Result<String> {
        let out = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| {
                if error_code(&e) == Some("ExecutionAlreadyExists") {
                    let message = format!("an execution named {name} exists already");
                    backend_error_as(ErrorClass::Conflict, "states:StartExecution", message, e)
                } else {
                    backend_error("states:StartExecution", e)
                }
            })?;
        Ok(out.execution_arn().to_string())
    }

    /// DescribeExecution.
    ///
    /// # Errors
    /// `NotFound` when there is no such execution (`ExecutionDoesNotExist`); other classified
    /// SDK errors.
    pub async fn describe(&self, execution_arn: &str) -> Result<Execution> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| backend_error("states:DescribeExecution", e))?;
        Ok(Execution {
            execution_arn: out.execution_arn().to_string(),
            name: out.name().map(str::to_string),
            status: ExecutionStatus::from_sdk(out.status()),
            started_at: timestamp(out.start_date()),
            stopped_at: out.stop_date().and_then(timestamp),
            output: out.output().map(|o| serde_json::from_str(o).unwrap_or_else(|_| Value::String(o.to_string()))),
            error: out.error().map(str::to_string),
            cause: out.cause().map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_link_points_at_the_execution() {
        let arn = "arn:aws:states:eu-west-1:123456789012:execution:investigation:inv-1";
        assert_eq!(
            console_link("eu-west-1", arn),
            "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:investigation:inv-1"
        );
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("héllo", 2), "hé");
        assert_eq!(clip("hi", 5), "hi");
    }
}
