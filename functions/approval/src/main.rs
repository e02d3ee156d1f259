//! Lambda `approval`. Trigger: the state machine's RequestApproval task
//! (`lambda:invoke.waitForTaskToken`; `mode: request`) and ExpireApproval (`mode: expire`).
//! Input: the proposal, its plan id, the task token; output: the request id (the workflow waits
//! for SendTaskSuccess from the API). Environment: AIOPS_STATE_TABLE, AIOPS_AUDIT_TABLE,
//! AIOPS_APPROVALS_TABLE, AIOPS_TOPIC_ARN, AIOPS_APPROVALS_URL. IAM: dynamodb PutItem/GetItem/
//! UpdateItem on the approvals table, PutItem/Query on the audit table, GetItem/PutItem on the
//! state table, sns:Publish on the topic. It never sends task results itself.

use std::sync::Arc;

use aiops_aws::config::{FunctionConfig, load_sdk};
use aiops_aws::dynamo::DynamoStore;
use aiops_aws::notify::SnsNotifier;
use aiops_core::workflow::approval::ApprovalLinks;
use aiops_fn_approval::{Deps, handle};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let cfg = FunctionConfig::from_vars(|k| std::env::var(k).ok())?;
    let sdk = load_sdk().await;
    let store = Arc::new(DynamoStore::new(&sdk, cfg.tables.clone()));
    let topic = cfg.topic_arn.clone().ok_or("AIOPS_TOPIC_ARN is not set")?;
    let deps = Deps {
        state: store.clone(),
        audit: store.clone(),
        approvals: store,
        notifier: Arc::new(SnsNotifier::new(&sdk, topic)),
        links: ApprovalLinks {
            execution_link: Some(aiops_aws::locks::execution_link),
            page_url: cfg.approvals_url.clone(),
            cli_prefix: String::new(),
        },
    };
    lambda_runtime::run(service_fn(|e: LambdaEvent<Value>| {
        let deps = &deps;
        async move {
            handle(deps, e.payload).await.map_err(|f| Diagnostic { error_type: f.error_type, error_message: f.message })
        }
    }))
    .await
}
