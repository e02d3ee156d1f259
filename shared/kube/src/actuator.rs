//! [`KubeActuator`]: the [`ClusterActuator`] port over a [`kube::Client`] — Deployment
//! patches, dry-run on the API server first. Used only by the write task after an approval
//! was checked; in the cloud it runs under a separate, write-capable identity.

use aiops_core::ports::{ClusterActuator, WritePatch};
use aiops_core::{Error, Result};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::Value;

/// The field manager our writes are recorded under.
pub const FIELD_MANAGER: &str = "agentic-aiops";

/// Writes to a cluster with kube-rs.
#[derive(Clone)]
pub struct KubeActuator {
    client: kube::Client,
}

impl KubeActuator {
    /// An actuator over `client`.
    pub fn new(client: kube::Client) -> KubeActuator {
        KubeActuator { client }
    }
}

impl std::fmt::Debug for KubeActuator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeActuator").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ClusterActuator for KubeActuator {
    async fn patch_deployment(&self, namespace: &str, name: &str, patch: &WritePatch, dry_run: bool) -> Result<Value> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), namespace);
        let mut params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..PatchParams::default() };
        if dry_run {
            params = params.dry_run();
        }
        let operation = format!("{} deployment {namespace}/{name}", if dry_run { "dry-run patch" } else { "patch" });
        let result = match patch {
            WritePatch::Merge(v) => api.patch(name, &params, &Patch::Merge(v)).await,
            WritePatch::Strategic(v) => api.patch(name, &params, &Patch::Strategic(v)).await,
            WritePatch::Json(v) => {
                let ops: json_patch::Patch = serde_json::from_value(v.clone()).map_err(|e| Error::Backend {
                    class: aiops_core::ErrorClass::InvalidInput,
                    operation: operation.clone(),
                    message: format!("not a JSON patch: {e}"),
                    source: Some(Box::new(e)),
                })?;
                api.patch(name, &params, &Patch::<()>::Json(ops)).await
            }
        };
        match result {
            Ok(d) => Ok(serde_json::to_value(d).unwrap_or(Value::Null)),
            Err(e) => {
                let (class, message) = crate::reader::classify(&e, &operation);
                Err(Error::Backend { class, operation, message, source: Some(Box::new(e)) })
            }
        }
    }
}
