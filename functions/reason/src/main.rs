//! Lambda `reason`. Trigger: the investigation state machine (states Reason, Finalize,
//! RecordFailure). Input: the execution state (`ReasonEvent`); output: the next step
//! (`ReasonOut`) or the closing record. Environment: AIOPS_STATE_TABLE, AIOPS_AUDIT_TABLE,
//! AIOPS_APPROVALS_TABLE, AIOPS_TOPIC_ARN, BEDROCK_MODEL_ID (+ BEDROCK_* tuning), AIOPS_MAX_*.
//! IAM: dynamodb GetItem/PutItem/Query on the state table, PutItem/Query on the audit table
//! (never Update/Delete), bedrock:InvokeModel on the configured model, sns:Publish on the topic.

use std::sync::Arc;

use aiops_aws::bedrock::{BedrockConfig, BedrockReasoner};
use aiops_aws::config::{FunctionConfig, OnFirstEvent, load_sdk};
use aiops_aws::dynamo::DynamoStore;
use aiops_aws::notify::SnsNotifier;
use aiops_core::workflow::FnError;
use aiops_fn_reason::{Deps, handle};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Configuration is read (and refused) before the first event; clients are built on it.
    let env = |k: &str| std::env::var(k).ok();
    let cfg = FunctionConfig::from_vars(env)?;
    let topic = cfg.topic_arn.clone().ok_or("AIOPS_TOPIC_ARN is not set")?;
    let bedrock = BedrockConfig::from_vars(env)?;
    let deps = OnFirstEvent::new();
    lambda_runtime::run(service_fn(|e: LambdaEvent<Value>| {
        let (deps, cfg, topic, bedrock) = (&deps, &cfg, &topic, &bedrock);
        async move {
            let diagnostic = |f: FnError| Diagnostic { error_type: f.error_type, error_message: f.message };
            let deps = deps.get(|| build(cfg, topic, bedrock)).await.map_err(diagnostic)?;
            handle(deps, e.payload).await.map_err(diagnostic)
        }
    }))
    .await
}

/// The clients, built on the first event (see [`OnFirstEvent`]).
async fn build(cfg: &FunctionConfig, topic: &str, bedrock: &BedrockConfig) -> aiops_core::Result<Deps> {
    let sdk = load_sdk().await;
    let store = Arc::new(DynamoStore::new(&sdk, cfg.tables.clone()));
    Ok(Deps {
        state: store.clone(),
        audit: store,
        reasoner: Arc::new(BedrockReasoner::new(&sdk, bedrock.clone())),
        notifier: Arc::new(SnsNotifier::new(&sdk, topic.to_string())),
        config: cfg.workflow.clone(),
    })
}
