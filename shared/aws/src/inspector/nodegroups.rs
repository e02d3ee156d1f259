//! list_nodegroups: ListNodegroups + DescribeNodegroup, with the current size counted from
//! EC2 (running instances tagged with the nodegroup) and, given cluster access, from the
//! Kubernetes nodes labelled with it.

use std::collections::BTreeMap;

use aiops_core::kinds::Kind;
use aiops_core::ports::{ClusterReader, Scope};
use aiops_core::tools::{MAX_ROWS, Render};
use aiops_core::{Error, Result};
use aws_sdk_ec2::types::Filter;
use serde::Serialize;
use serde_json::Value;

use super::cluster::HealthIssue;
use super::{Args, AwsInspector, cluster_error, some, table, unavailable};

/// The result of list_nodegroups.
#[derive(Debug, Clone, Serialize)]
pub struct NodegroupsResult {
    pub cluster: String,
    /// The control plane's Kubernetes version, to compare the nodegroups' with.
    pub control_plane_version: Option<String>,
    pub nodegroups: Vec<NodegroupRow>,
    /// Nodegroups beyond [`MAX_ROWS`], not described.
    pub omitted: usize,
    /// Why running instances could not be counted, if they could not.
    pub instances_note: Option<String>,
    /// Why Kubernetes nodes could not be counted (no cluster access, or an error).
    pub nodes_note: Option<String>,
}

/// One managed nodegroup.
#[derive(Debug, Clone, Serialize)]
pub struct NodegroupRow {
    pub name: String,
    /// `ACTIVE`, `DEGRADED`, `CREATING`, `UPDATING`, `CREATE_FAILED`, …
    pub status: Option<String>,
    pub issues: Vec<HealthIssue>,
    pub min_size: Option<i32>,
    pub max_size: Option<i32>,
    pub desired_size: Option<i32>,
    /// EC2 instances tagged with this nodegroup that are pending or running.
    pub running_instances: Option<usize>,
    /// Kubernetes nodes labelled with this nodegroup, and how many are Ready.
    pub kubernetes_nodes: Option<usize>,
    pub kubernetes_ready: Option<usize>,
    pub instance_types: Vec<String>,
    pub ami_type: Option<String>,
    pub release_version: Option<String>,
    pub kubernetes_version: Option<String>,
    /// `ON_DEMAND`, `SPOT` or `CAPACITY_BLOCK`.
    pub capacity_type: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// `key=value:EFFECT`.
    pub taints: Vec<String>,
    /// What needs attention: status, health issues, size below desired, at max size.
    pub problems: Vec<String>,
}

pub(super) async fn list_nodegroups(
    inspector: &AwsInspector,
    reader: Option<&dyn ClusterReader>,
    args: &Args,
) -> Result<NodegroupsResult> {
    let cluster = inspector.cluster("list_nodegroups", args.cluster_name.as_deref())?.to_string();
    let region = inspector.region();
    // The cluster first: an unknown cluster is a clear NotFound, and its version is what the
    // nodegroups' versions are compared with.
    let described = inspector
        .eks
        .describe_cluster()
        .name(&cluster)
        .send()
        .await
        .map_err(|e| cluster_error("eks:DescribeCluster", &cluster, &region, e))?;
    let control_plane_version = described.cluster().and_then(|c| some(c.version()));
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = inspector
            .eks
            .list_nodegroups()
            .cluster_name(&cluster)
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| cluster_error("eks:ListNodegroups", &cluster, &region, e))?;
        names.extend(page.nodegroups().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() || names.len() > MAX_ROWS {
            break;
        }
    }
    names.sort();
    let omitted = names.len().saturating_sub(MAX_ROWS);
    names.truncate(MAX_ROWS);
    if names.is_empty() {
        return Ok(NodegroupsResult {
            cluster,
            control_plane_version,
            nodegroups: Vec::new(),
            omitted,
            instances_note: None,
            nodes_note: None,
        });
    }

    let (running, instances_note) = match running_by_nodegroup(inspector, &cluster).await {
        Ok(counts) => (Some(counts), None),
        Err(note) => (None, Some(note)),
    };
    let (nodes, nodes_note) = match reader {
        None => (None, Some("no cluster access: Kubernetes nodes not counted".to_string())),
        Some(r) => match r.list(Kind::Node, &Scope::all()).await {
            Ok(nodes) => (Some(nodes_by_nodegroup(&nodes)), None),
            Err(e) => (None, Some(format!("Kubernetes nodes not counted: {e}"))),
        },
    };

    let mut rows = Vec::new();
    for name in names {
        let out =
            inspector.eks.describe_nodegroup().cluster_name(&cluster).nodegroup_name(&name).send().await.map_err(
                |e| match crate::error::error_code(&e) {
                    Some("ResourceNotFoundException") => Error::NotFound {
                        what: format!("nodegroup {name} of cluster {cluster} (deleted while listing?)"),
                    },
                    _ => super::aws_error("eks:DescribeNodegroup", e),
                },
            )?;
        let Some(ng) = out.nodegroup() else { continue };
        let scaling = ng.scaling_config();
        let mut row = NodegroupRow {
            name: name.clone(),
            status: ng.status().map(|s| s.as_str().to_string()),
            issues: ng
                .health()
                .map(|h| h.issues())
                .unwrap_or_default()
                .iter()
                .map(|i| HealthIssue {
                    code: i.code().map_or_else(|| "Unknown".to_string(), |c| c.as_str().to_string()),
                    message: i.message().unwrap_or_default().to_string(),
                    resources: i.resource_ids().to_vec(),
                })
                .collect(),
            min_size: scaling.and_then(|s| s.min_size()),
            max_size: scaling.and_then(|s| s.max_size()),
            desired_size: scaling.and_then(|s| s.desired_size()),
            running_instances: running.as_ref().map(|r| r.get(&name).copied().unwrap_or(0)),
            kubernetes_nodes: nodes.as_ref().map(|n| n.get(&name).map_or(0, |c| c.0)),
            kubernetes_ready: nodes.as_ref().map(|n| n.get(&name).map_or(0, |c| c.1)),
            instance_types: ng.instance_types().to_vec(),
            ami_type: ng.ami_type().map(|a| a.as_str().to_string()),
            release_version: some(ng.release_version()),
            kubernetes_version: some(ng.version()),
            capacity_type: ng.capacity_type().map(|c| c.as_str().to_string()),
            labels: ng.labels().map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
            taints: ng
                .taints()
                .iter()
                .map(|t| {
                    let key = t.key().unwrap_or_default();
                    let effect = t.effect().map(|e| e.as_str()).unwrap_or("?");
                    match t.value() {
                        Some(v) if !v.is_empty() => format!("{key}={v}:{effect}"),
                        _ => format!("{key}:{effect}"),
                    }
                })
                .collect(),
            problems: Vec::new(),
        };
        row.problems = problems(&row, control_plane_version.as_deref());
        rows.push(row);
    }
    rows.sort_by(|a, b| a.problems.is_empty().cmp(&b.problems.is_empty()).then(a.name.cmp(&b.name)));
    Ok(NodegroupsResult { cluster, control_plane_version, nodegroups: rows, omitted, instances_note, nodes_note })
}

/// `(major, minor)` of `1.29` or `1.29.3`.
fn minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim_start_matches('v').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// What needs attention in a nodegroup.
fn problems(row: &NodegroupRow, control_plane: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = row.status.as_deref().filter(|s| *s != "ACTIVE") {
        out.push(format!("status {s}"));
    }
    if let (Some(ng), Some(cp)) = (row.kubernetes_version.as_deref(), control_plane)
        && let (Some((ng_major, ng_minor)), Some((cp_major, cp_minor))) = (minor(ng), minor(cp))
        && ng_major == cp_major
        && ng_minor < cp_minor
    {
        let behind = cp_minor - ng_minor;
        // The kubelet may trail the API server by 3 minor versions from 1.28, 2 before.
        let allowed = if cp_minor >= 28 { 3 } else { 2 };
        let advice = if behind > allowed {
            "beyond the supported kubelet version skew: upgrade it"
        } else {
            "upgrade it before the next control-plane upgrade"
        };
        let plural = if behind == 1 { "" } else { "s" };
        out.push(format!(
            "runs Kubernetes {ng}, {behind} minor version{plural} behind the control plane ({cp}): {advice}"
        ));
    }
    for i in &row.issues {
        out.push(i.line());
    }
    if let (Some(desired), Some(running)) = (row.desired_size, row.running_instances)
        && (running as i64) < i64::from(desired)
    {
        out.push(format!("{running} of {desired} desired instances running in EC2"));
    }
    if let (Some(desired), Some(ready), Some(nodes)) = (row.desired_size, row.kubernetes_ready, row.kubernetes_nodes)
        && (ready as i64) < i64::from(desired)
    {
        out.push(format!("{ready} of {desired} desired nodes Ready in Kubernetes ({nodes} registered)"));
    }
    if let (Some(desired), Some(max)) = (row.desired_size, row.max_size)
        && max > 0
        && desired >= max
    {
        out.push(format!("at its maximum size ({max}): it cannot scale out further"));
    }
    out
}

/// Pending and running instances of the cluster's managed nodegroups, by nodegroup.
async fn running_by_nodegroup(
    inspector: &AwsInspector,
    cluster: &str,
) -> std::result::Result<BTreeMap<String, usize>, String> {
    let mut counts = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = inspector
            .ec2
            .describe_instances()
            .filters(Filter::builder().name("tag:eks:cluster-name").values(cluster).build())
            .filters(Filter::builder().name("instance-state-name").values("pending").values("running").build())
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| unavailable("ec2:DescribeInstances", e))?;
        for instance in page.reservations().iter().flat_map(|r| r.instances()) {
            if let Some(ng) =
                instance.tags().iter().find(|t| t.key() == Some("eks:nodegroup-name")).and_then(|t| t.value())
            {
                *counts.entry(ng.to_string()).or_insert(0) += 1;
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(counts)
}

/// (nodes, ready nodes) by the `eks.amazonaws.com/nodegroup` label.
fn nodes_by_nodegroup(nodes: &[Value]) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for n in nodes {
        let Some(ng) = n.pointer("/metadata/labels/eks.amazonaws.com~1nodegroup").and_then(Value::as_str) else {
            continue;
        };
        let ready = n
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        let entry = out.entry(ng.to_string()).or_default();
        entry.0 += 1;
        if ready {
            entry.1 += 1;
        }
    }
    out
}

impl Render for NodegroupsResult {
    fn text(&self) -> String {
        if self.nodegroups.is_empty() {
            return format!(
                "Cluster {} has no managed nodegroups (its nodes, if any, come from self-managed groups, Karpenter, EKS Auto Mode or Fargate).\n",
                self.cluster
            );
        }
        let mut out = format!("Managed nodegroups of cluster {} ({})", self.cluster, self.nodegroups.len());
        if let Some(v) = &self.control_plane_version {
            out.push_str(&format!(", control plane Kubernetes {v}"));
        }
        out.push_str(":\n");
        let count = |n: Option<usize>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
        let size = |n: Option<i32>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
        let rows: Vec<Vec<String>> = self
            .nodegroups
            .iter()
            .map(|n| {
                let ready = match (n.kubernetes_ready, n.kubernetes_nodes) {
                    (Some(r), Some(t)) => format!("{r}/{t}"),
                    _ => "?".to_string(),
                };
                vec![
                    n.name.clone(),
                    n.status.clone().unwrap_or_else(|| "?".into()),
                    format!("{}/{}/{}", size(n.min_size), size(n.desired_size), size(n.max_size)),
                    count(n.running_instances),
                    ready,
                    n.instance_types.join(","),
                    n.capacity_type.clone().unwrap_or_default(),
                    n.ami_type.clone().unwrap_or_default(),
                    n.release_version.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["NAME", "STATUS", "MIN/DESIRED/MAX", "RUNNING", "READY", "INSTANCE TYPES", "CAPACITY", "AMI", "RELEASE"],
            &rows,
        ));
        for n in &self.nodegroups {
            let mut notes = n.problems.clone();
            if !n.labels.is_empty() {
                let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                notes.push(format!("labels {}", labels.join(", ")));
            }
            if !n.taints.is_empty() {
                notes.push(format!("taints {}", n.taints.join(", ")));
            }
            if !notes.is_empty() {
                out.push_str(&format!("- {}: {}\n", n.name, notes.join("; ")));
            }
        }
        if let Some(note) = &self.instances_note {
            out.push_str(&format!("Running instances: {note}\n"));
        }
        if let Some(note) = &self.nodes_note {
            out.push_str(&format!("({note})\n"));
        }
        if self.omitted > 0 {
            out.push_str(&format!("({} more nodegroups omitted)\n", self.omitted));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> NodegroupRow {
        NodegroupRow {
            name: "ng-1".into(),
            status: Some("ACTIVE".into()),
            issues: vec![],
            min_size: Some(1),
            max_size: Some(3),
            desired_size: Some(3),
            running_instances: Some(2),
            kubernetes_nodes: Some(2),
            kubernetes_ready: Some(1),
            instance_types: vec!["m5.large".into()],
            ami_type: Some("AL2023_x86_64_STANDARD".into()),
            release_version: None,
            kubernetes_version: None,
            capacity_type: Some("SPOT".into()),
            labels: BTreeMap::new(),
            taints: vec![],
            problems: vec![],
        }
    }

    #[test]
    fn problems_compare_desired_with_current() {
        let p = problems(&row(), None);
        assert_eq!(
            p,
            [
                "2 of 3 desired instances running in EC2",
                "1 of 3 desired nodes Ready in Kubernetes (2 registered)",
                "at its maximum size (3): it cannot scale out further",
            ]
        );
        let mut healthy = row();
        healthy.desired_size = Some(2);
        healthy.kubernetes_ready = Some(2);
        assert!(problems(&healthy, None).is_empty(), "{:?}", problems(&healthy, None));
        healthy.kubernetes_version = Some("1.29".into());
        assert_eq!(
            problems(&healthy, Some("1.30")),
            [
                "runs Kubernetes 1.29, 1 minor version behind the control plane (1.30): upgrade it before the next control-plane upgrade"
            ]
        );
        assert!(problems(&healthy, Some("1.33"))[0].ends_with("beyond the supported kubelet version skew: upgrade it"));
        assert!(problems(&healthy, Some("1.29")).is_empty());
    }

    #[test]
    fn nodes_are_counted_by_label() {
        let nodes = vec![
            serde_json::json!({"metadata": {"labels": {"eks.amazonaws.com/nodegroup": "a"}}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            serde_json::json!({"metadata": {"labels": {"eks.amazonaws.com/nodegroup": "a"}}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
            serde_json::json!({"metadata": {"labels": {}}}),
        ];
        assert_eq!(nodes_by_nodegroup(&nodes).get("a"), Some(&(2, 1)));
    }
}
