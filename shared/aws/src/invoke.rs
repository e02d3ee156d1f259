//! [`LambdaSweepTrigger`]: `POST /sweeps` in the cloud. The API function queues one run of the
//! sweep function with an asynchronous invoke (`InvocationType=Event`) and answers 202 at once:
//! a sweep of a large cluster can outlast API Gateway's 29 s, and the sweep function already
//! stores its report where `GET /sweeps/latest` reads it. Lambda retries a failed asynchronous
//! run twice. IAM: `lambda:InvokeFunction` on the sweep function only.

use aiops_core::ports::SweepTrigger;
use aiops_core::{Error, ErrorClass, Result};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::Value;

use crate::error::backend_error;

/// Invokes the sweep function asynchronously. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LambdaSweepTrigger {
    client: Client,
    function: String,
}

impl LambdaSweepTrigger {
    /// A trigger of `function` (a name or ARN) with a client built from `config`.
    pub fn new(config: &aws_config::SdkConfig, function: String) -> LambdaSweepTrigger {
        LambdaSweepTrigger { client: Client::new(config), function }
    }
}

#[async_trait::async_trait]
impl SweepTrigger for LambdaSweepTrigger {
    async fn trigger(&self, event: &Value) -> Result<String> {
        let out = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(serde_json::to_vec(event).unwrap_or_default()))
            .send()
            .await
            .map_err(|e| match backend_error("lambda:InvokeFunction", e) {
                // A missing function or a refused invoke is the deployment's fault, not the
                // caller's: a 500 with an incident id, its cause in the log.
                Error::Backend { class, operation, message, source } if !class.is_retryable() => Error::Backend {
                    class: ErrorClass::Fatal,
                    operation,
                    message: format!("the sweep function {} cannot be invoked: {message}", self.function),
                    source,
                },
                other => other,
            })?;
        // An asynchronous invoke is queued with 202; anything else was not queued.
        if out.status_code() != 202 {
            return Err(Error::Backend {
                class: ErrorClass::Transient,
                operation: "lambda:InvokeFunction".into(),
                message: format!("{} answered {} instead of 202 (queued)", self.function, out.status_code()),
                source: None,
            });
        }
        let request_id = aws_sdk_lambda::operation::RequestId::request_id(&out).unwrap_or_default().to_string();
        Ok(request_id)
    }
}
