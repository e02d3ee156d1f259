//! Lambda `k8s-write`. Trigger: the state machine's PlanAction (`mode: plan`) and ExecuteAction
//! (`mode: execute`) tasks. Input: the proposal (+ plan and approval ids); output: the plan or
//! the executed action with its verification. Environment: AIOPS_CLUSTER_NAME, the three
//! AIOPS_*_TABLE names, the policy (AIOPS_ALLOW_NAMESPACES, AIOPS_DENY_NAMESPACES,
//! AIOPS_MAX_REPLICAS, AIOPS_ALLOW_SCALE_TO_ZERO, AIOPS_MAX_RESOURCE_FACTOR,
//! AIOPS_MEMORY_CEILING, AIOPS_CPU_CEILING). IAM: eks:DescribeCluster; the write Kubernetes
//! identity (a Role that may only patch and scale Deployments in the allowed namespaces);
//! dynamodb GetItem/UpdateItem on approvals (consume), Get/PutItem on state (plans, actions,
//! locks), PutItem/Query on audit. This is the only function with write access to the cluster.

use std::sync::Arc;

use aiops_aws::config::{FunctionConfig, OnFirstEvent, load_sdk};
use aiops_aws::dynamo::DynamoStore;
use aiops_core::workflow::FnError;
use aiops_fn_k8s_write::{Deps, handle};
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
        reader: Arc::new(aiops_kube::KubeReader::new(client.clone(), None)),
        actuator: Arc::new(aiops_kube::KubeActuator::new(client)),
        state: store.clone(),
        audit: store.clone(),
        approvals: store.clone(),
        locks: store,
        policy: cfg.policy.clone(),
    })
}
