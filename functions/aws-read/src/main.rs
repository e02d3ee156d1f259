//! Lambda `aws-read`. Trigger: the investigation state machine's tool Map (state AwsRead).
//! Input: `{investigation_id, call: {id, tool, args, home}}`; output: the tool outcome; the
//! result goes to the state table. Environment: AIOPS_CLUSTER_NAME, the AIOPS_*_TABLE names.
//! IAM (see shared/aws/IAM.md): eks:DescribeCluster, eks:ListNodegroups, eks:DescribeNodegroup,
//! eks:ListAddons, eks:DescribeAddon, eks:ListInsights, ec2:DescribeInstances,
//! ec2:DescribeInstanceStatus, cloudwatch:GetMetricData, cloudwatch:ListMetrics,
//! logs:FilterLogEvents; dynamodb PutItem on state and audit, Query on audit.

use std::sync::Arc;

use aiops_aws::config::{FunctionConfig, OnFirstEvent, load_sdk};
use aiops_aws::dynamo::DynamoStore;
use aiops_aws::inspector::AwsInspector;
use aiops_core::workflow::FnError;
use aiops_fn_aws_read::{Deps, handle};
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
    let reader: Arc<dyn aiops_core::ports::ClusterReader> = Arc::new(aiops_kube::KubeReader::new(client, None));
    Ok(Deps {
        inspector: Arc::new(AwsInspector::new(&sdk, Some(cluster.to_string()))),
        reader: Some(reader),
        state: store.clone(),
        audit: store,
        max_result_bytes: cfg.workflow.budget.max_result_bytes,
    })
}
