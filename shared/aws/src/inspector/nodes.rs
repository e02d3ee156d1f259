//! get_node_health: Kubernetes node conditions joined with EC2 (DescribeInstances,
//! DescribeInstanceStatus) through each node's `spec.providerID` (`aws:///zone/i-…`), with
//! mismatches called out. The join itself is the pure [`join_node_health`].

use std::collections::{BTreeMap, BTreeSet};

use aiops_core::kinds::Kind;
use aiops_core::ports::{ClusterReader, Scope};
use aiops_core::tools::{MAX_ROWS, Render};
use aiops_core::{Error, Result};
use aws_sdk_ec2::types::{Filter, Instance, InstanceStatus};
use serde::Serialize;
use serde_json::Value;

use super::{Args, AwsInspector, ago, aws_error, some, table, time};

/// Instance ids per DescribeInstances filter / DescribeInstanceStatus call.
const IDS_PER_CALL: usize = 100;
/// Instances read at most per DescribeInstances query.
const MAX_INSTANCES: usize = 1000;
/// An instance younger than this with no node may still be joining.
const JOIN_GRACE_SECONDS: i64 = 600;

/// The Kubernetes side of a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeSide {
    pub name: String,
    /// The Ready condition: `True`, `False` or `Unknown` (also when absent).
    pub ready: String,
    pub ready_reason: Option<String>,
    pub ready_message: Option<String>,
    /// Other conditions not in their normal state (`MemoryPressure=True`, …).
    pub problems: Vec<String>,
    pub unschedulable: bool,
    pub provider_id: Option<String>,
    /// The EC2 instance id from the provider id, when it is one.
    pub instance_id: Option<String>,
    pub zone: Option<String>,
}

impl NodeSide {
    /// Reads the fields from a Node object as the API server serves it.
    pub fn from_node(node: &Value) -> NodeSide {
        let name = node.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        let conditions = node.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
        let ready = conditions.iter().find(|c| c["type"] == "Ready");
        let text = |c: &Value, k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .map(|s| s.trim().trim_end_matches('.'))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let problems = conditions
            .iter()
            .filter(|c| c["type"] != "Ready" && c["status"] != "False")
            .map(|c| {
                let ty = c["type"].as_str().unwrap_or("?");
                let status = c["status"].as_str().unwrap_or("?");
                match text(c, "message").or_else(|| text(c, "reason")) {
                    Some(m) => format!("{ty}={status} ({m})"),
                    None => format!("{ty}={status}"),
                }
            })
            .collect();
        let provider_id = node.pointer("/spec/providerID").and_then(Value::as_str).map(str::to_string);
        let (zone, instance_id) = provider_id.as_deref().map(parse_provider_id).unwrap_or_default();
        NodeSide {
            name,
            ready: ready.and_then(|c| c["status"].as_str()).unwrap_or("Unknown").to_string(),
            ready_reason: ready.and_then(|c| text(c, "reason")),
            ready_message: ready.and_then(|c| text(c, "message")),
            problems,
            unschedulable: node.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false),
            provider_id,
            instance_id,
            zone: zone.or_else(|| {
                node.pointer("/metadata/labels/topology.kubernetes.io~1zone")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
        }
    }

    fn is_ready(&self) -> bool {
        self.ready == "True"
    }

    fn ready_text(&self) -> String {
        let status = if self.is_ready() { "Ready".to_string() } else { format!("NotReady (Ready={})", self.ready) };
        match (&self.ready_reason, &self.ready_message) {
            (_, Some(m)) if !self.is_ready() => format!("{status}: {m}"),
            (Some(r), None) if !self.is_ready() => format!("{status}: {r}"),
            _ => status,
        }
    }
}

/// (zone, instance id) of `aws:///eu-west-1a/i-0abc…`; the id only when it is an EC2 one.
fn parse_provider_id(id: &str) -> (Option<String>, Option<String>) {
    let Some(rest) = id.strip_prefix("aws://") else { return (None, None) };
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let instance = parts.last().filter(|p| p.starts_with("i-")).map(|p| p.to_string());
    let zone = if parts.len() >= 2 { parts.first().map(|z| z.to_string()) } else { None };
    (zone, instance)
}

/// The EC2 side of a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ec2Side {
    pub instance_id: String,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down` or `terminated`.
    pub state: String,
    /// Why the instance changed state (`Client.UserInitiatedShutdown: …`).
    pub state_reason: Option<String>,
    pub instance_type: Option<String>,
    pub launch_time: Option<String>,
    /// "3d ago", from the wall clock.
    pub launched: Option<String>,
    /// Seconds since launch, for the join's grace period.
    #[serde(skip)]
    pub age_seconds: Option<i64>,
    pub zone: Option<String>,
    pub private_dns_name: Option<String>,
    /// The system status check: `ok`, `impaired`, `initializing`, `insufficient-data`,
    /// `not-applicable`.
    pub system_status: Option<String>,
    /// The instance status check, same values.
    pub instance_status: Option<String>,
    /// Failing check details (`system reachability failed since …`).
    pub failed_checks: Vec<String>,
    /// Scheduled events not completed or canceled (`system-reboot from …: …`).
    pub events: Vec<String>,
    /// Whether the instance carries the cluster's tags.
    pub tagged_for_cluster: bool,
}

impl Ec2Side {
    fn impaired(&self) -> bool {
        self.system_status.as_deref() == Some("impaired") || self.instance_status.as_deref() == Some("impaired")
    }

    fn down(&self) -> bool {
        matches!(self.state.as_str(), "stopping" | "stopped" | "shutting-down" | "terminated")
    }

    fn state_text(&self) -> String {
        match &self.state_reason {
            Some(r) => format!("{} ({r})", self.state),
            None => self.state.clone(),
        }
    }

    fn checks_text(&self) -> String {
        let mut failing = Vec::new();
        if self.system_status.as_deref() == Some("impaired") {
            failing.push("system status check");
        }
        if self.instance_status.as_deref() == Some("impaired") {
            failing.push("instance status check");
        }
        let mut s = format!("EC2 {} impaired", failing.join(" and "));
        if !self.failed_checks.is_empty() {
            s.push_str(&format!(" ({})", self.failed_checks.join(", ")));
        }
        s
    }
}

/// One node, one instance, or both joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeHealthRow {
    pub node: Option<NodeSide>,
    pub ec2: Option<Ec2Side>,
    /// Nothing to call out on either side.
    pub healthy: bool,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

/// Something a person should look at: a mismatch between the two sides, a failing check, a
/// scheduled event, an instance that never became a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The node name, else the instance id.
    pub subject: String,
    pub message: String,
}

/// The result of get_node_health.
#[derive(Debug, Clone, Serialize)]
pub struct NodeHealthResult {
    pub cluster: Option<String>,
    /// Whether the Kubernetes side was read (false: EC2 side only).
    pub kubernetes: bool,
    pub node_name: Option<String>,
    pub rows: Vec<NodeHealthRow>,
    pub findings: Vec<Finding>,
    /// Rows beyond [`MAX_ROWS`].
    pub omitted: usize,
    pub note: Option<String>,
}

/// Joins nodes with instances by instance id and calls out what disagrees. `cluster` names
/// the cluster instances are tagged for; instances with no node are called out only when
/// `nodes_complete` (every node of the cluster was read).
pub fn join_node_health(
    nodes: Vec<NodeSide>,
    instances: Vec<Ec2Side>,
    cluster: Option<&str>,
    nodes_complete: bool,
) -> (Vec<NodeHealthRow>, Vec<Finding>) {
    let mut by_id: BTreeMap<String, Ec2Side> = instances.into_iter().map(|i| (i.instance_id.clone(), i)).collect();
    let mut rows = Vec::new();
    let mut findings = Vec::new();
    let push = |findings: &mut Vec<Finding>, severity, subject: &str, message: String| {
        findings.push(Finding { severity, subject: subject.to_string(), message });
    };
    for node in nodes {
        let ec2 = node.instance_id.as_ref().and_then(|id| by_id.remove(id));
        let before = findings.len();
        let n = node.name.as_str();
        for p in &node.problems {
            push(&mut findings, Severity::Warning, n, format!("node condition {p}"));
        }
        match (&node.instance_id, &ec2) {
            (None, _) => {
                if !node.is_ready() {
                    push(
                        &mut findings,
                        Severity::Warning,
                        n,
                        format!(
                            "node {n} is {} and is not an EC2 instance (provider id {}), so EC2 cannot say more",
                            node.ready_text(),
                            node.provider_id.as_deref().unwrap_or("none")
                        ),
                    );
                }
            }
            (Some(id), None) => push(
                &mut findings,
                Severity::Critical,
                n,
                format!(
                    "node {n} ({}) points at instance {id}, which EC2 does not know: it was terminated long ago or lives in another account or region; the Node object is stale",
                    node.ready_text()
                ),
            ),
            (Some(id), Some(i)) => {
                if i.down() {
                    if node.is_ready() {
                        push(
                            &mut findings,
                            Severity::Warning,
                            n,
                            format!(
                                "node {n} still reports Ready but its instance {id} is {}: the node status is stale and it will turn NotReady",
                                i.state_text()
                            ),
                        );
                    } else {
                        push(
                            &mut findings,
                            Severity::Critical,
                            n,
                            format!(
                                "node {n} is {} because its instance {id} is {}",
                                node.ready_text(),
                                i.state_text()
                            ),
                        );
                    }
                } else if i.impaired() {
                    if node.is_ready() {
                        push(
                            &mut findings,
                            Severity::Warning,
                            n,
                            format!(
                                "{} on instance {id} while node {n} is still Ready: expect trouble; cordon and drain it, then stop/start or replace the instance",
                                i.checks_text()
                            ),
                        );
                    } else {
                        push(
                            &mut findings,
                            Severity::Critical,
                            n,
                            format!(
                                "node {n} is {} and {} on instance {id}: an EC2 host or instance problem; stop/start or replace the instance",
                                node.ready_text(),
                                i.checks_text()
                            ),
                        );
                    }
                } else if !node.is_ready() && i.state == "running" {
                    push(
                        &mut findings,
                        Severity::Warning,
                        n,
                        format!(
                            "node {n} is {} while its instance {id} is running and its EC2 status checks are {}: look at the kubelet, the container runtime or the network (VPC CNI, security groups), not at the instance",
                            node.ready_text(),
                            i.system_status.as_deref().unwrap_or("unknown")
                        ),
                    );
                }
                for e in &i.events {
                    push(&mut findings, Severity::Warning, n, format!("instance {id} has a scheduled event: {e}"));
                }
            }
        }
        let healthy = findings.len() == before && node.is_ready() && !node.unschedulable;
        rows.push(NodeHealthRow { node: Some(node), ec2, healthy });
    }
    // Instances with no node.
    for (id, i) in by_id {
        let before = findings.len();
        if i.impaired() && !i.down() {
            push(&mut findings, Severity::Warning, &id, format!("{} on instance {id}", i.checks_text()));
        }
        for e in &i.events {
            push(&mut findings, Severity::Warning, &id, format!("instance {id} has a scheduled event: {e}"));
        }
        if !nodes_complete && i.down() {
            // No node to compare with (EC2 side only, or one node asked for).
            push(&mut findings, Severity::Warning, &id, format!("instance {id} is {}", i.state_text()));
        } else if nodes_complete && i.tagged_for_cluster {
            let cluster = cluster.unwrap_or("the cluster");
            match i.state.as_str() {
                "running" | "pending" if i.age_seconds.is_some_and(|a| a < JOIN_GRACE_SECONDS) => push(
                    &mut findings,
                    Severity::Info,
                    &id,
                    format!(
                        "instance {id} (tagged for {cluster}, launched {}) has no node yet: it may still be joining",
                        i.launched.as_deref().unwrap_or("recently")
                    ),
                ),
                "running" | "pending" => push(
                    &mut findings,
                    Severity::Warning,
                    &id,
                    format!(
                        "instance {id} is tagged for {cluster} and {} since {} but has no Kubernetes node: it did not join (check its bootstrap/user data, the node role's access entry or aws-auth mapping, security groups, and the kubelet log)",
                        i.state,
                        i.launched.as_deref().unwrap_or("an unknown time")
                    ),
                ),
                _ => push(
                    &mut findings,
                    Severity::Info,
                    &id,
                    format!("instance {id} is tagged for {cluster}, {} and has no node", i.state_text()),
                ),
            }
        }
        let healthy = findings.len() == before && i.state == "running";
        rows.push(NodeHealthRow { node: None, ec2: Some(i), healthy });
    }
    findings.sort_by_key(|f| f.severity);
    rows.sort_by_key(|r| r.healthy);
    (rows, findings)
}

pub(super) async fn get_node_health(
    inspector: &AwsInspector,
    reader: Option<&dyn ClusterReader>,
    args: &Args,
) -> Result<NodeHealthResult> {
    let cluster = inspector.cluster_name().map(str::to_string);
    let node_name = args.node_name.clone();
    let mut nodes = Vec::new();
    let mut note = None;
    if let Some(reader) = reader {
        let scope = Scope {
            namespace: None,
            label_selector: None,
            field_selector: node_name.as_ref().map(|n| format!("metadata.name={n}")),
        };
        nodes = reader.list(Kind::Node, &scope).await?.iter().map(NodeSide::from_node).collect();
        if let Some(n) = &node_name {
            nodes.retain(|s| &s.name == n);
            if nodes.is_empty() {
                return Err(Error::NotFound { what: format!("node {n}") });
            }
        }
    } else if node_name.is_none() && cluster.is_none() {
        return Err(Error::InvalidArgs {
            tool: "get_node_health".into(),
            message: "without cluster access the EC2 side is found through the cluster's tags, and no EKS cluster is configured (e.g. --eks-cluster NAME)".into(),
        });
    } else {
        note = Some("Kubernetes node conditions are not available (no cluster access): EC2 side only.".to_string());
    }

    // Instances: the nodes' own, and (for the whole cluster) those tagged for it.
    let mut instances: BTreeMap<String, Instance> = BTreeMap::new();
    let ids: Vec<String> =
        nodes.iter().filter_map(|n| n.instance_id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let filter = Filter::builder().name("instance-id").set_values(Some(chunk.to_vec())).build();
        add(&mut instances, describe_instances(inspector, vec![filter]).await?);
    }
    if reader.is_none()
        && let Some(n) = &node_name
    {
        let filter = Filter::builder().name("private-dns-name").values(n).build();
        add(&mut instances, describe_instances(inspector, vec![filter]).await?);
    }
    if node_name.is_none()
        && let Some(c) = &cluster
    {
        let live = || {
            Filter::builder()
                .name("instance-state-name")
                .set_values(Some(
                    ["pending", "running", "stopping", "stopped", "shutting-down"].map(String::from).to_vec(),
                ))
                .build()
        };
        let by_owner = Filter::builder().name("tag-key").values(format!("kubernetes.io/cluster/{c}")).build();
        add(&mut instances, describe_instances(inspector, vec![by_owner, live()]).await?);
        let by_eks = Filter::builder().name("tag:eks:cluster-name").values(c).build();
        add(&mut instances, describe_instances(inspector, vec![by_eks, live()]).await?);
    }
    if let (None, Some(n)) = (reader, &node_name)
        && instances.is_empty()
    {
        return Err(Error::NotFound { what: format!("an EC2 instance with private DNS name {n}") });
    }

    // Status checks and scheduled events.
    let mut statuses: BTreeMap<String, InstanceStatus> = BTreeMap::new();
    let found: Vec<String> = instances.keys().cloned().collect();
    for chunk in found.chunks(IDS_PER_CALL) {
        let out = inspector
            .ec2
            .describe_instance_status()
            .set_instance_ids(Some(chunk.to_vec()))
            .include_all_instances(true)
            .send()
            .await
            .map_err(|e| aws_error("ec2:DescribeInstanceStatus", e))?;
        for s in out.instance_statuses() {
            if let Some(id) = s.instance_id() {
                statuses.insert(id.to_string(), s.clone());
            }
        }
    }

    let sides: Vec<Ec2Side> = instances
        .values()
        .map(|i| ec2_side(i, i.instance_id().and_then(|id| statuses.get(id)), cluster.as_deref()))
        .collect();
    let nodes_complete = reader.is_some() && node_name.is_none();
    let (mut rows, findings) = join_node_health(nodes, sides, cluster.as_deref(), nodes_complete);
    let omitted = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    Ok(NodeHealthResult { cluster, kubernetes: reader.is_some(), node_name, rows, findings, omitted, note })
}

fn add(into: &mut BTreeMap<String, Instance>, instances: Vec<Instance>) {
    for i in instances {
        if let Some(id) = i.instance_id() {
            into.insert(id.to_string(), i);
        }
    }
}

async fn describe_instances(inspector: &AwsInspector, filters: Vec<Filter>) -> Result<Vec<Instance>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = inspector
            .ec2
            .describe_instances()
            .set_filters(Some(filters.clone()))
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error("ec2:DescribeInstances", e))?;
        out.extend(page.reservations().iter().flat_map(|r| r.instances()).cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() || out.len() >= MAX_INSTANCES {
            break;
        }
    }
    Ok(out)
}

fn ec2_side(i: &Instance, status: Option<&InstanceStatus>, cluster: Option<&str>) -> Ec2Side {
    let tags = i.tags();
    let tagged_for_cluster = cluster.is_some_and(|c| {
        let owner = format!("kubernetes.io/cluster/{c}");
        tags.iter()
            .any(|t| t.key() == Some(owner.as_str()) || (t.key() == Some("eks:cluster-name") && t.value() == Some(c)))
    });
    let summary = |s: Option<&aws_sdk_ec2::types::InstanceStatusSummary>| {
        s.and_then(|s| s.status()).map(|s| s.as_str().to_string())
    };
    let mut failed_checks = Vec::new();
    if let Some(s) = status {
        for (kind, summary) in [("system", s.system_status()), ("instance", s.instance_status())] {
            for d in summary.map(|s| s.details()).unwrap_or_default() {
                let st = d.status().map(|s| s.as_str()).unwrap_or("?");
                if st != "passed" {
                    let name = d.name().map(|n| n.as_str()).unwrap_or("check");
                    let mut text = format!("{kind} {name} {st}");
                    if let Some(since) = d.impaired_since() {
                        text.push_str(&format!(" since {}", time(since)));
                    }
                    failed_checks.push(text);
                }
            }
        }
    }
    let events = status
        .map(|s| s.events())
        .unwrap_or_default()
        .iter()
        .filter(|e| {
            let d = e.description().unwrap_or_default();
            !d.starts_with("[Completed]") && !d.starts_with("[Canceled]")
        })
        .map(|e| {
            let mut text = e.code().map_or_else(|| "event".to_string(), |c| c.as_str().to_string());
            if let Some(t) = e.not_before() {
                text.push_str(&format!(" from {}", time(t)));
            }
            if let Some(t) = e.not_after() {
                text.push_str(&format!(" until {}", time(t)));
            }
            if let Some(d) = some(e.description()) {
                text.push_str(&format!(": {d}"));
            }
            text
        })
        .collect();
    Ec2Side {
        instance_id: i.instance_id().unwrap_or_default().to_string(),
        state: i.state().and_then(|s| s.name()).map_or_else(|| "unknown".to_string(), |s| s.as_str().to_string()),
        state_reason: i.state_reason().and_then(|r| some(r.message())).or_else(|| some(i.state_transition_reason())),
        instance_type: i.instance_type().map(|t| t.as_str().to_string()),
        launch_time: i.launch_time().map(time),
        launched: i.launch_time().map(ago),
        age_seconds: i.launch_time().map(|t| jiff::Timestamp::now().as_second() - t.secs()),
        zone: i.placement().and_then(|p| some(p.availability_zone())),
        private_dns_name: some(i.private_dns_name()),
        system_status: summary(status.and_then(|s| s.system_status())),
        instance_status: summary(status.and_then(|s| s.instance_status())),
        failed_checks,
        events,
        tagged_for_cluster,
    }
}

impl Render for NodeHealthResult {
    fn text(&self) -> String {
        let mut out = String::new();
        let nodes = self.rows.iter().filter(|r| r.node.is_some()).count();
        let instances = self.rows.iter().filter(|r| r.ec2.is_some()).count();
        let what = match (&self.node_name, &self.cluster) {
            (Some(n), _) => format!("node {n}"),
            (None, Some(c)) => format!("cluster {c}"),
            (None, None) => "the cluster".to_string(),
        };
        if let Some(note) = &self.note {
            out.push_str(note);
            out.push('\n');
        }
        if self.rows.is_empty() {
            out.push_str(&format!("No nodes and no EC2 instances found for {what}.\n"));
            return out;
        }
        if self.kubernetes {
            out.push_str(&format!(
                "Node health of {what}: {nodes} Kubernetes nodes, {instances} EC2 instances (node conditions joined with EC2 status checks through providerID).\n"
            ));
        } else {
            out.push_str(&format!("EC2 instances of {what}: {instances}.\n"));
        }
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let n = r.node.as_ref();
                let i = r.ec2.as_ref();
                let dash = || "-".to_string();
                let mut row = Vec::new();
                if self.kubernetes {
                    row.push(n.map_or_else(|| "(no node)".to_string(), |n| n.name.clone()));
                    row.push(n.map_or_else(dash, |n| {
                        let mut s = if n.is_ready() { "Ready".to_string() } else { format!("NotReady({})", n.ready) };
                        if n.unschedulable {
                            s.push_str(",SchedulingDisabled");
                        }
                        s
                    }));
                }
                row.push(
                    i.map(|i| i.instance_id.clone())
                        .or_else(|| n.and_then(|n| n.instance_id.clone()))
                        .unwrap_or_else(dash),
                );
                row.push(i.map_or_else(|| "(not in EC2)".to_string(), |i| i.state.clone()));
                row.push(i.and_then(|i| i.instance_type.clone()).unwrap_or_else(dash));
                row.push(i.and_then(|i| i.system_status.clone()).unwrap_or_else(dash));
                row.push(i.and_then(|i| i.instance_status.clone()).unwrap_or_else(dash));
                row.push(
                    i.and_then(|i| i.zone.clone()).or_else(|| n.and_then(|n| n.zone.clone())).unwrap_or_else(dash),
                );
                row.push(i.and_then(|i| i.launched.clone()).unwrap_or_else(dash));
                row
            })
            .collect();
        let mut header = Vec::new();
        if self.kubernetes {
            header.extend(["NODE", "READY"]);
        }
        header.extend(["INSTANCE", "EC2 STATE", "TYPE", "SYSTEM CHECK", "INSTANCE CHECK", "ZONE", "LAUNCHED"]);
        out.push_str(&table(&header, &rows));
        if self.findings.is_empty() && self.kubernetes {
            out.push_str(
                "No mismatches: every node's EC2 instance is running with passing checks and nothing is scheduled.\n",
            );
        } else if self.findings.is_empty() {
            out.push_str("No problems on the EC2 side: every instance is running with passing checks and nothing is scheduled.\n");
        } else {
            out.push_str(&format!("Findings ({}):\n", self.findings.len()));
            for f in &self.findings {
                let sev = match f.severity {
                    Severity::Critical => "critical",
                    Severity::Warning => "warning",
                    Severity::Info => "info",
                };
                out.push_str(&format!("- [{sev}] {}\n", f.message));
            }
        }
        if self.omitted > 0 {
            out.push_str(&format!("({} more rows omitted)\n", self.omitted));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, ready: &str, id: &str) -> NodeSide {
        NodeSide {
            name: name.into(),
            ready: ready.into(),
            ready_reason: (ready != "True").then(|| "NodeStatusUnknown".into()),
            ready_message: (ready != "True").then(|| "Kubelet stopped posting node status".into()),
            provider_id: Some(format!("aws:///eu-west-1a/{id}")),
            instance_id: Some(id.into()),
            zone: Some("eu-west-1a".into()),
            ..NodeSide::default()
        }
    }

    fn instance(id: &str, state: &str, system: &str) -> Ec2Side {
        Ec2Side {
            instance_id: id.into(),
            state: state.into(),
            system_status: Some(system.into()),
            instance_status: Some(if system == "impaired" { "ok".into() } else { system.into() }),
            tagged_for_cluster: true,
            age_seconds: Some(86_400),
            launched: Some("1d ago".into()),
            ..Ec2Side::default()
        }
    }

    struct Case {
        name: &'static str,
        nodes: Vec<NodeSide>,
        instances: Vec<Ec2Side>,
        expect: Vec<(Severity, &'static str)>,
    }

    #[test]
    fn mismatches_table() {
        let cases = [
            Case {
                name: "healthy",
                nodes: vec![node("a", "True", "i-1")],
                instances: vec![instance("i-1", "running", "ok")],
                expect: vec![],
            },
            Case {
                name: "NotReady because stopped",
                nodes: vec![node("a", "Unknown", "i-1")],
                instances: vec![instance("i-1", "stopped", "not-applicable")],
                expect: vec![(
                    Severity::Critical,
                    "node a is NotReady (Ready=Unknown): Kubelet stopped posting node status because its instance i-1 is stopped",
                )],
            },
            Case {
                name: "Ready but stopped",
                nodes: vec![node("a", "True", "i-1")],
                instances: vec![instance("i-1", "stopped", "not-applicable")],
                expect: vec![(Severity::Warning, "still reports Ready but its instance i-1 is stopped")],
            },
            Case {
                name: "NotReady and impaired",
                nodes: vec![node("a", "False", "i-1")],
                instances: vec![instance("i-1", "running", "impaired")],
                expect: vec![(Severity::Critical, "EC2 system status check impaired on instance i-1")],
            },
            Case {
                name: "impaired while Ready",
                nodes: vec![node("a", "True", "i-1")],
                instances: vec![instance("i-1", "running", "impaired")],
                expect: vec![(
                    Severity::Warning,
                    "EC2 system status check impaired on instance i-1 while node a is still Ready",
                )],
            },
            Case {
                name: "NotReady while EC2 healthy",
                nodes: vec![node("a", "False", "i-1")],
                instances: vec![instance("i-1", "running", "ok")],
                expect: vec![(Severity::Warning, "look at the kubelet")],
            },
            Case {
                name: "instance unknown to EC2",
                nodes: vec![node("a", "Unknown", "i-9")],
                instances: vec![],
                expect: vec![(Severity::Critical, "which EC2 does not know")],
            },
            Case {
                name: "tagged instance with no node",
                nodes: vec![node("a", "True", "i-1")],
                instances: vec![instance("i-1", "running", "ok"), instance("i-2", "running", "ok")],
                expect: vec![(
                    Severity::Warning,
                    "instance i-2 is tagged for demo and running since 1d ago but has no Kubernetes node",
                )],
            },
            Case {
                name: "young instance with no node",
                nodes: vec![],
                instances: vec![Ec2Side { age_seconds: Some(30), ..instance("i-2", "pending", "initializing") }],
                expect: vec![(Severity::Info, "may still be joining")],
            },
            Case {
                name: "scheduled event",
                nodes: vec![node("a", "True", "i-1")],
                instances: vec![Ec2Side {
                    events: vec!["system-reboot from 2026-12-01T00:00:00Z".into()],
                    ..instance("i-1", "running", "ok")
                }],
                expect: vec![(Severity::Warning, "instance i-1 has a scheduled event: system-reboot")],
            },
        ];
        for c in cases {
            let (rows, findings) = join_node_health(c.nodes.clone(), c.instances.clone(), Some("demo"), true);
            check(&c, &rows, &findings);
        }
        // EC2 side only: a stopped instance is called out on its own.
        let c = Case {
            name: "EC2 only, stopped",
            nodes: vec![],
            instances: vec![instance("i-1", "stopped", "not-applicable"), instance("i-2", "running", "ok")],
            expect: vec![(Severity::Warning, "instance i-1 is stopped")],
        };
        let (rows, findings) = join_node_health(vec![], c.instances.clone(), Some("demo"), false);
        check(&c, &rows, &findings);
    }

    fn check(c: &Case, rows: &[NodeHealthRow], findings: &[Finding]) {
        assert_eq!(findings.len(), c.expect.len(), "{}: {findings:#?}", c.name);
        for ((sev, text), f) in c.expect.iter().zip(findings) {
            assert_eq!(f.severity, *sev, "{}: {f:?}", c.name);
            assert!(f.message.contains(text), "{}: {:?} lacks {text:?}", c.name, f.message);
        }
        assert_eq!(rows.iter().all(|r| r.healthy), findings.is_empty(), "{}: {rows:#?}", c.name);
    }

    #[test]
    fn provider_ids_parse() {
        assert_eq!(parse_provider_id("aws:///eu-west-1a/i-0abc"), (Some("eu-west-1a".into()), Some("i-0abc".into())));
        assert_eq!(parse_provider_id("aws:///eu-west-1a/fargate-ip-10-0-1-1").1, None);
        assert_eq!(parse_provider_id("gce://p/z/n"), (None, None));
    }

    #[test]
    fn node_side_reads_conditions() {
        let v = serde_json::json!({
            "metadata": {"name": "ip-10-0-1-1"},
            "spec": {"providerID": "aws:///eu-west-1b/i-0123", "unschedulable": true},
            "status": {"conditions": [
                {"type": "MemoryPressure", "status": "True", "reason": "KubeletHasInsufficientMemory"},
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "PLEG is not healthy"}
            ]}
        });
        let n = NodeSide::from_node(&v);
        assert_eq!(n.instance_id.as_deref(), Some("i-0123"));
        assert_eq!(n.zone.as_deref(), Some("eu-west-1b"));
        assert_eq!(n.ready, "False");
        assert_eq!(n.problems, ["MemoryPressure=True (KubeletHasInsufficientMemory)"]);
        assert!(n.unschedulable);
        assert_eq!(n.ready_text(), "NotReady (Ready=False): PLEG is not healthy");
    }
}
