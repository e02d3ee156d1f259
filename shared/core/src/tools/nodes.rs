//! get_nodes: readiness, pressure, taints, capacity and placement of each node.

use k8s_openapi::api::core::v1::Node;
use serde::Serialize;

use super::{Args, MAX_ROWS, Render, table};
use crate::error::Result;
use crate::k8s::{self, age, decode_all};
use crate::kinds::Kind;
use crate::ports::{ClusterReader, Scope};

/// One row of get_nodes.
#[derive(Debug, Clone, Serialize)]
pub struct NodeRow {
    pub name: String,
    /// `True`, `False` or `Unknown`.
    pub ready: String,
    pub ready_message: Option<String>,
    /// Conditions other than Ready that are not in their normal state.
    pub problems: Vec<String>,
    pub unschedulable: bool,
    pub taints: Vec<String>,
    pub nodegroup: Option<String>,
    pub instance_type: Option<String>,
    pub zone: Option<String>,
    pub instance_id: Option<String>,
    pub kubelet_version: Option<String>,
    pub cpu_allocatable: Option<String>,
    pub memory_allocatable: Option<String>,
    pub age: String,
    pub healthy: bool,
}

/// The result of get_nodes.
#[derive(Debug, Clone, Serialize)]
pub struct NodesResult {
    pub nodes: Vec<NodeRow>,
    pub omitted: usize,
}

pub(super) async fn get_nodes(reader: &dyn ClusterReader, args: &Args) -> Result<NodesResult> {
    let scope = Scope {
        namespace: None,
        label_selector: args.label_selector.clone(),
        field_selector: args.name.as_ref().map(|n| format!("metadata.name={n}")),
    };
    let nodes: Vec<Node> = decode_all(reader.list(Kind::Node, &scope).await?)?;
    let now = reader.now();
    let mut rows: Vec<NodeRow> = nodes.iter().map(|n| row(n, now)).collect();
    rows.sort_by(|a, b| a.healthy.cmp(&b.healthy).then(a.name.cmp(&b.name)));
    let omitted = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    Ok(NodesResult { nodes: rows, omitted })
}

fn row(n: &Node, now: jiff::Timestamp) -> NodeRow {
    let labels = n.metadata.labels.clone().unwrap_or_default();
    let status = n.status.as_ref();
    let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    let ready = conditions.iter().find(|c| c.type_ == "Ready");
    let problems: Vec<String> = conditions
        .iter()
        .filter(|c| c.type_ != "Ready" && c.status != "False")
        .map(|c| format!("{}={} ({})", c.type_, c.status, c.message.as_deref().or(c.reason.as_deref()).unwrap_or("")))
        .collect();
    let taints: Vec<String> = n
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .map(|t| match &t.value {
            Some(v) => format!("{}={v}:{}", t.key, t.effect),
            None => format!("{}:{}", t.key, t.effect),
        })
        .collect();
    let unschedulable = n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false);
    let ready_status = ready.map_or_else(|| "Unknown".to_string(), |c| c.status.clone());
    let alloc = status.and_then(|s| s.allocatable.as_ref());
    NodeRow {
        name: k8s::name(&n.metadata).to_string(),
        healthy: ready_status == "True" && problems.is_empty() && !unschedulable,
        ready_message: ready
            .filter(|c| c.status != "True")
            .and_then(|c| c.message.clone().or_else(|| c.reason.clone())),
        ready: ready_status,
        problems,
        unschedulable,
        taints,
        nodegroup: labels
            .get("eks.amazonaws.com/nodegroup")
            .or_else(|| labels.get("karpenter.sh/nodepool"))
            .or_else(|| labels.get("alpha.eksctl.io/nodegroup-name"))
            .cloned(),
        instance_type: labels
            .get("node.kubernetes.io/instance-type")
            .or_else(|| labels.get("beta.kubernetes.io/instance-type"))
            .cloned(),
        zone: labels.get("topology.kubernetes.io/zone").cloned(),
        instance_id: n
            .spec
            .as_ref()
            .and_then(|s| s.provider_id.as_deref())
            .and_then(|p| p.rsplit('/').next())
            .map(str::to_string),
        kubelet_version: status.and_then(|s| s.node_info.as_ref()).map(|i| i.kubelet_version.clone()),
        cpu_allocatable: alloc.and_then(|a| a.get("cpu")).map(|q| q.0.clone()),
        memory_allocatable: alloc.and_then(|a| a.get("memory")).map(|q| q.0.clone()),
        age: age(n.metadata.creation_timestamp.as_ref(), now),
    }
}

impl Render for NodesResult {
    fn text(&self) -> String {
        if self.nodes.is_empty() {
            return "No nodes found.\n".into();
        }
        let rows: Vec<Vec<String>> = self
            .nodes
            .iter()
            .map(|n| {
                let status = match (n.ready.as_str(), n.unschedulable) {
                    ("True", false) => "Ready".to_string(),
                    ("True", true) => "Ready,SchedulingDisabled".to_string(),
                    (_, false) => "NotReady".to_string(),
                    (_, true) => "NotReady,SchedulingDisabled".to_string(),
                };
                vec![
                    n.name.clone(),
                    status,
                    n.nodegroup.clone().unwrap_or_default(),
                    n.instance_type.clone().unwrap_or_default(),
                    n.zone.clone().unwrap_or_default(),
                    n.age.clone(),
                    n.kubelet_version.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let mut out = table(&["NAME", "STATUS", "NODEGROUP", "INSTANCE", "ZONE", "AGE", "VERSION"], &rows);
        for n in self.nodes.iter().filter(|n| !n.healthy || !n.taints.is_empty()) {
            let mut notes = Vec::new();
            if let Some(m) = &n.ready_message {
                notes.push(format!("Ready={}: {m}", n.ready));
            }
            notes.extend(n.problems.iter().cloned());
            if !n.taints.is_empty() {
                notes.push(format!("taints {}", n.taints.join(", ")));
            }
            out.push_str(&format!("- {}: {}\n", n.name, notes.join("; ")));
        }
        if self.omitted > 0 {
            out.push_str(&format!("({} more nodes omitted)\n", self.omitted));
        }
        out
    }
}
