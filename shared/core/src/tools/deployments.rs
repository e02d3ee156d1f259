//! get_deployments: replica counts, conditions, and the revisions with their images.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use serde::Serialize;

use super::{Args, MAX_ROWS, Render, table};
use crate::error::Result;
use crate::k8s::{self, age, decode_all};
use crate::kinds::Kind;
use crate::ports::{ClusterReader, Scope};

/// The annotation carrying a Deployment's and a ReplicaSet's revision.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";

/// One revision of a deployment (one ReplicaSet).
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub revision: i64,
    pub replicaset: String,
    pub images: Vec<String>,
    pub replicas: i32,
    pub ready: i32,
}

/// A condition of a deployment.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionRow {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// One row of get_deployments.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentRow {
    pub namespace: String,
    pub name: String,
    pub desired: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    pub unavailable: i32,
    pub age: String,
    pub paused: bool,
    pub conditions: Vec<ConditionRow>,
    /// The revision the deployment is rolling to (or at).
    pub current: Option<Revision>,
    /// The revision before it.
    pub previous: Option<Revision>,
    pub healthy: bool,
    /// The pod template's containers, by name.
    pub containers: Vec<String>,
}

/// The result of get_deployments.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentsResult {
    pub deployments: Vec<DeploymentRow>,
    pub omitted: usize,
}

pub(super) async fn get_deployments(reader: &dyn ClusterReader, args: &Args) -> Result<DeploymentsResult> {
    let mut scope =
        Scope { namespace: args.namespace.clone(), label_selector: args.label_selector.clone(), field_selector: None };
    if let Some(n) = &args.name {
        scope.field_selector = Some(format!("metadata.name={n}"));
    }
    let deployments: Vec<Deployment> = decode_all(reader.list(Kind::Deployment, &scope).await?)?;
    let rs_scope = Scope::namespace(args.namespace.as_deref());
    let replicasets: Vec<ReplicaSet> =
        if deployments.is_empty() { Vec::new() } else { decode_all(reader.list(Kind::ReplicaSet, &rs_scope).await?)? };
    let now = reader.now();
    let mut rows: Vec<DeploymentRow> = deployments.iter().map(|d| row(d, &replicasets, now)).collect();
    rows.sort_by(|a, b| a.healthy.cmp(&b.healthy).then(a.namespace.cmp(&b.namespace)).then(a.name.cmp(&b.name)));
    let omitted = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    Ok(DeploymentsResult { deployments: rows, omitted })
}

/// The revisions of a deployment, newest first, from the ReplicaSets it owns.
pub fn revisions<'a>(d: &Deployment, replicasets: impl IntoIterator<Item = &'a ReplicaSet>) -> Vec<Revision> {
    let uid = d.metadata.uid.as_deref();
    let mut revs: Vec<Revision> = replicasets
        .into_iter()
        .filter(|rs| {
            k8s::namespace(&rs.metadata) == k8s::namespace(&d.metadata)
                && rs.metadata.owner_references.iter().flatten().any(|o| {
                    o.kind == "Deployment"
                        && (Some(o.uid.as_str()) == uid || (uid.is_none() && o.name == k8s::name(&d.metadata)))
                })
        })
        .map(|rs| Revision {
            revision: revision_of(&rs.metadata),
            replicaset: k8s::name(&rs.metadata).to_string(),
            images: rs
                .spec
                .template
                .as_ref()
                .and_then(|t| t.spec.as_ref())
                .map(|s| s.containers.iter().filter_map(|c| c.image.clone()).collect())
                .unwrap_or_default(),
            replicas: rs.status.as_ref().map_or(0, |s| s.replicas),
            ready: rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0),
        })
        .collect();
    revs.sort_by_key(|r| std::cmp::Reverse(r.revision));
    revs
}

/// The revision annotation of an object (0 when absent).
pub fn revision_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> i64 {
    meta.annotations.as_ref().and_then(|a| a.get(REVISION_ANNOTATION)).and_then(|r| r.parse().ok()).unwrap_or(0)
}

fn row(d: &Deployment, replicasets: &[ReplicaSet], now: jiff::Timestamp) -> DeploymentRow {
    let spec = Some(&d.spec);
    let status = d.status.as_ref();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    let ready = status.and_then(|s| s.ready_replicas).unwrap_or(0);
    let updated = status.and_then(|s| s.updated_replicas).unwrap_or(0);
    let available = status.and_then(|s| s.available_replicas).unwrap_or(0);
    let unavailable = status.and_then(|s| s.unavailable_replicas).unwrap_or(0);
    let conditions: Vec<ConditionRow> = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .map(|c| ConditionRow {
            type_: c.type_.clone().unwrap_or_default(),
            status: c.status.clone().unwrap_or_default(),
            reason: c.reason.clone(),
            message: c.message.clone(),
        })
        .collect();
    let revs = revisions(d, replicasets);
    let current_rev = revision_of(&d.metadata);
    let current_idx = revs.iter().position(|r| r.revision == current_rev).unwrap_or(0);
    let current = revs.get(current_idx).cloned();
    let previous = revs.get(current_idx + 1).cloned();
    let stalled = conditions.iter().any(|c| {
        matches!(
            (c.type_.as_str(), c.status.as_str()),
            ("Progressing", "False") | ("Available", "False") | ("ReplicaFailure", "True")
        )
    });
    DeploymentRow {
        namespace: k8s::namespace(&d.metadata).to_string(),
        name: k8s::name(&d.metadata).to_string(),
        desired,
        ready,
        updated,
        available,
        unavailable,
        age: age(d.metadata.creation_timestamp.as_ref(), now),
        paused: spec.and_then(|s| s.paused).unwrap_or(false),
        healthy: !stalled && ready >= desired && available >= desired && updated >= desired,
        containers: d
            .spec
            .template
            .spec
            .as_ref()
            .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default(),
        conditions,
        current,
        previous,
    }
}

impl Render for DeploymentsResult {
    fn text(&self) -> String {
        if self.deployments.is_empty() {
            return "No deployments found.\n".into();
        }
        let rows: Vec<Vec<String>> = self
            .deployments
            .iter()
            .map(|d| {
                let rev =
                    d.current.as_ref().map_or_else(String::new, |r| format!("{} {}", r.revision, r.images.join(",")));
                vec![
                    d.namespace.clone(),
                    d.name.clone(),
                    format!("{}/{}", d.ready, d.desired),
                    d.updated.to_string(),
                    d.available.to_string(),
                    d.age.clone(),
                    rev,
                ]
            })
            .collect();
        let mut out =
            table(&["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "REVISION IMAGES"], &rows);
        for d in self.deployments.iter().filter(|d| !d.healthy) {
            out.push_str(&format!("\n{}/{}:\n", d.namespace, d.name));
            for c in d.conditions.iter().filter(|c| !(c.status == "True" && c.type_ != "ReplicaFailure")) {
                out.push_str(&format!(
                    "  condition {}={} {}: {}\n",
                    c.type_,
                    c.status,
                    c.reason.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or("")
                ));
            }
            if let Some(r) = &d.current {
                out.push_str(&format!(
                    "  current revision {} ({}): {} ready of {}, images {}\n",
                    r.revision,
                    r.replicaset,
                    r.ready,
                    r.replicas,
                    r.images.join(", ")
                ));
            }
            if let Some(r) = &d.previous {
                out.push_str(&format!(
                    "  previous revision {} ({}): {} ready of {}, images {}\n",
                    r.revision,
                    r.replicaset,
                    r.ready,
                    r.replicas,
                    r.images.join(", ")
                ));
            }
        }
        if self.omitted > 0 {
            out.push_str(&format!("({} more deployments omitted)\n", self.omitted));
        }
        out
    }
}
