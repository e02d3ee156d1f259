//! Lambda `approval`. Trigger: the state machine's RequestApproval task
//! (`lambda:invoke.waitForTaskToken`; `mode: request`) and ExpireApproval (`mode: expire`).
//! Input: the proposal, its plan id, the task token; output: the request id (the workflow waits
//! for SendTaskSuccess from the API). Environment: AIOPS_STATE_TABLE, AIOPS_AUDIT_TABLE,
//! AIOPS_APPROVALS_TABLE, AIOPS_TOPIC_ARN, AIOPS_APPROVALS_URL. IAM: dynamodb PutItem/GetItem/
//! UpdateItem on the approvals table, PutItem/Query on the audit table, GetItem/PutItem on the
//! state table, sns:Publish on the topic. It never sends task results itself.

use std::sync::Arc;

use aiops_aws::config::{FunctionConfig, OnFirstEvent, load_sdk};
use aiops_aws::dynamo::DynamoStore;
use aiops_aws::notify::SnsNotifier;
use aiops_core::workflow::FnError;
use aiops_core::workflow::approval::ApprovalLinks;
use aiops_fn_approval::{Deps, handle};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Configuration is read (and refused) before the first event; clients are built on it.
    let cfg = FunctionConfig::from_vars(|k| std::env::var(k).ok())?;
    let topic = cfg.topic_arn.clone().ok_or("AIOPS_TOPIC_ARN is not set")?;
    let deps = OnFirstEvent::new();
    lambda_runtime::run(service_fn(|e: LambdaEvent<Value>| {
        let (deps, cfg, topic) = (&deps, &cfg, &topic);
        async move {
            let diagnostic = |f: FnError| Diagnostic { error_type: f.error_type, error_message: f.message };
            let deps = deps.get(|| build(cfg, topic)).await.map_err(diagnostic)?;
            handle(deps, e.payload).await.map_err(diagnostic)
        }
    }))
    .await
}

/// The clients, built on the first event (see [`OnFirstEvent`]).
async fn build(cfg: &FunctionConfig, topic: &str) -> aiops_core::Result<Deps> {
    let sdk = load_sdk().await;
    let store = Arc::new(DynamoStore::new(&sdk, cfg.tables.clone()));
    Ok(Deps {
        state: store.clone(),
        audit: store.clone(),
        approvals: store,
        notifier: Arc::new(SnsNotifier::new(&sdk, topic.to_string())),
        links: ApprovalLinks {
            execution_link: Some(aiops_aws::locks::execution_link),
            page_url: cfg.approvals_url.clone(),
            cli_prefix: String::new(),
        },
    })
}
