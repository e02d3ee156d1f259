//! Lambda `diagnose`. Trigger: the investigation state machine's tool Map (state Diagnose).
//! Input: `{investigation_id, call: {id, tool, args, home}}`; output: the tool outcome
//! (`{call_id, ok, data_ref}`); the result itself goes to the state table. Environment:
//! AIOPS_CLUSTER_NAME, AIOPS_STATE_TABLE, AIOPS_AUDIT_TABLE, AIOPS_APPROVALS_TABLE,
//! AIOPS_MAX_RESULT_BYTES. IAM: eks:DescribeCluster; cloudwatch:ListMetrics and GetMetricData
//! (Container Insights, check_resource_usage's usage when the cluster has no metrics API); the
//! read-only Kubernetes identity (an EKS access entry bound to the read ClusterRole, which
//! cannot read Secrets); dynamodb PutItem on the state and audit tables, Query on the audit
//! table.

use std::sync::Arc;

use aiops_aws::config::{FunctionConfig, OnFirstEvent, load_sdk};
use aiops_aws::dynamo::DynamoStore;
use aiops_core::workflow::FnError;
use aiops_fn_diagnose::{Deps, handle};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let cfg = FunctionConfig::from_vars(|k| std::env::var(k).ok())?;
    let cluster = cfg.cluster()?.to_string();
    let deps = OnFirstEvent::new();
    lambda_runtime::run(service_fn(|e: LambdaEvent<Value>| {
        let (deps, cfg, cluster) = (&deps, &cfg, &cluster);
        async move {
            let diagnostic = |f: FnError| Diagnostic { error_type: f.error_type, error_message: f.message };
            let deps = deps.get(|| build(cfg, cluster)).await.map_err(diagnostic)?;
            handle(deps, e.payload).await.map_err(diagnostic)
        }
    }))
    .await
}

/// The clients, built on the first event (see [`OnFirstEvent`]).
async fn build(cfg: &FunctionConfig, cluster: &str) -> aiops_core::Result<Deps> {
    let sdk = load_sdk().await;
    let client = aiops_kube::from_eks(cluster, &sdk).await?;
    let store = Arc::new(DynamoStore::new(&sdk, cfg.tables.clone()));
    Ok(Deps {
        reader: Arc::new(aiops_kube::KubeReader::new(client, None)),
        state: store.clone(),
        audit: store,
        usage: Some(Arc::new(aiops_aws::inspector::ContainerInsightsUsage::new(&sdk, cluster))),
        max_result_bytes: cfg.workflow.budget.max_result_bytes,
    })
}
