//! check_resource_usage: the requests and limits of a pod, a deployment or a namespace against
//! what the containers actually use (the resource metrics API, `metrics.k8s.io`, when the
//! cluster serves it), their OOM history (last terminations, restart counts, the kubelet's
//! OOM events), containers without requests or a memory limit, and the nodes they run on:
//! allocatable against requested and used.
//!
//! Fetching is narrow ([`check_resource_usage`]: the scope's pods, the pods of the nodes they
//! run on, nodes, node events, metrics); the analysis ([`resource_usage`]) is a pure function
//! over a [`ClusterState`]. Without the metrics API the result says so plainly and still
//! reports requests, limits and OOM history. On EKS a [`UsageSource`] (Container Insights)
//! fills in usage when the cluster serves no metrics API: each pod's share of its limits.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use serde::Serialize;
use serde_json::json;

use super::{Args, MAX_ROWS, Render, table};
use crate::analyze::{Action, ClusterState, Finding, ObjectRef, Severity, render_findings};
use crate::error::{Error, Result};
use crate::k8s;
use crate::kinds::Kind;
use crate::ports::{ClusterReader, PodUsageSample, Scope, UsageSource};
use crate::quantity::{format_bytes, parse_bytes, parse_millicores, raised_memory_limit};

/// Usage at or above this share of a limit is "near the limit".
const NEAR_LIMIT_PCT: f64 = 90.0;
/// Usage at or above this share of a node's allocatable is "high".
const NODE_HIGH_PCT: f64 = 90.0;
/// OOM kills within this many seconds are recent.
const RECENT_OOM_SECS: i64 = 3600;
/// OOM kills older than this are history (info only).
const OLD_OOM_SECS: i64 = 86_400;
/// Nodes whose other pods are fetched one by one; with more, every pod is listed.
const MAX_NODES_BY_SELECTOR: usize = 20;
/// The window a usage source outside the cluster is asked about, minutes.
const EXTERNAL_WINDOW_MINUTES: i64 = 15;

/// Usage read outside the cluster (see [`UsageSource`]).
#[derive(Debug, Clone, Default)]
pub struct ExternalUsage {
    /// The source's name (`Container Insights`).
    pub source: String,
    pub samples: Vec<PodUsageSample>,
    /// Why it could not be read, when it could not.
    pub error: Option<String>,
}

impl ExternalUsage {
    /// The sample of a pod: its own, else its workload's (`workload` is the controller's name).
    fn of(&self, ns: &str, pod: &str, workload: Option<&str>) -> Option<&PodUsageSample> {
        self.samples.iter().find(|s| s.per_pod && s.namespace == ns && s.pod == pod).or_else(|| {
            let w = workload?;
            self.samples.iter().find(|s| !s.per_pod && s.namespace == ns && s.pod == w)
        })
    }
}

/// What check_resource_usage looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageTarget {
    /// A namespace; every namespace when `None`.
    pub namespace: Option<String>,
    /// One pod of `namespace`.
    pub pod: Option<String>,
    /// One deployment of `namespace`.
    pub deployment: Option<String>,
}

/// Where usage figures come from.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsStatus {
    /// Whether usage figures are present.
    pub available: bool,
    /// `metrics.k8s.io`, `container-insights` or `none`.
    pub source: String,
    /// One plain sentence about the source (or its absence).
    pub note: String,
    /// The newest sample time, when there are samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampled_at: Option<String>,
}

/// Requests, limits and usage of one container.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerUsage {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `Deployment/web`, `StatefulSet/db`, … when the pod has a controller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    pub cpu_request: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_request: Option<String>,
    pub memory_limit: Option<String>,
    /// CPU used, e.g. `120m` (absent without metrics).
    pub cpu_usage: Option<String>,
    /// Memory working set, e.g. `482Mi` (absent without metrics).
    pub memory_usage: Option<String>,
    pub cpu_pct_of_request: Option<u32>,
    pub cpu_pct_of_limit: Option<u32>,
    pub memory_pct_of_request: Option<u32>,
    pub memory_pct_of_limit: Option<u32>,
    pub restarts: i32,
    /// `OOMKilled (exit 137) 3m ago`, when the container terminated before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_termination: Option<String>,
}

/// One OOM kill seen in a container status or a node event.
#[derive(Debug, Clone, Serialize)]
pub struct OomRecord {
    pub namespace: String,
    /// The pod, when known (node events name a process, not a pod).
    pub pod: Option<String>,
    pub container: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// When it happened (RFC 3339), when known.
    pub at: Option<String>,
    /// How long ago, kubectl style.
    pub ago: Option<String>,
    pub memory_limit: Option<String>,
    pub restarts: i32,
    /// `lastState`, `state` or `event`.
    pub source: String,
    pub detail: String,
}

/// A node's allocatable against what its pods request, limit and use.
#[derive(Debug, Clone, Serialize)]
pub struct NodeAllocation {
    pub node: String,
    pub pods: usize,
    pub cpu_allocatable: String,
    pub memory_allocatable: String,
    pub cpu_requested: String,
    pub memory_requested: String,
    pub memory_limits: String,
    pub cpu_requested_pct: Option<u32>,
    pub memory_requested_pct: Option<u32>,
    pub memory_limits_pct: Option<u32>,
    pub cpu_usage: Option<String>,
    pub memory_usage: Option<String>,
    pub cpu_usage_pct: Option<u32>,
    pub memory_usage_pct: Option<u32>,
}

/// The result of check_resource_usage.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceUsageResult {
    /// What was looked at (`deployment production/web`, `namespace production`, `the cluster`).
    pub scope: String,
    pub metrics: MetricsStatus,
    /// One row per container, worst first.
    pub containers: Vec<ContainerUsage>,
    /// Containers left out of `containers`.
    pub omitted: usize,
    pub oom_history: Vec<OomRecord>,
    /// The nodes the scope's pods run on (every node for the whole cluster).
    pub nodes: Vec<NodeAllocation>,
    /// What is wrong or risky, worst first, with typed actions where a write tool applies.
    pub findings: Vec<Finding>,
    /// True when nothing above info was found.
    pub healthy: bool,
}

pub(super) async fn check_resource_usage(
    reader: &dyn ClusterReader,
    usage: Option<&dyn UsageSource>,
    args: &Args,
) -> Result<ResourceUsageResult> {
    let target =
        UsageTarget { namespace: args.namespace.clone(), pod: args.pod.clone(), deployment: args.deployment.clone() };
    check_target(&target)?;
    let ns = target.namespace.as_deref();
    let scope = Scope::namespace(ns);
    let node_events = Scope { field_selector: Some("involvedObject.kind=Node".into()), ..Scope::all() };
    let mut state = ClusterState::gather_kinds(
        reader,
        &[
            (Kind::Pod, scope.clone()),
            (Kind::ReplicaSet, scope.clone()),
            (Kind::Deployment, scope.clone()),
            (Kind::Event, scope.clone()),
            (Kind::Event, node_events),
            (Kind::Node, Scope::all()),
            (Kind::PodMetrics, scope.clone()),
            (Kind::NodeMetrics, Scope::all()),
        ],
    )
    .await?;
    if ns.is_some() {
        // Node totals need every pod on the scope's nodes, whatever their namespace.
        let pods = in_scope(&state, &target)?;
        let mut nodes: Vec<String> =
            pods.iter().filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone())).collect();
        nodes.sort();
        nodes.dedup();
        let wanted: Vec<(Kind, Scope)> = if nodes.len() > MAX_NODES_BY_SELECTOR {
            vec![(Kind::Pod, Scope::all())]
        } else {
            nodes
                .iter()
                .map(|n| (Kind::Pod, Scope { field_selector: Some(format!("spec.nodeName={n}")), ..Scope::all() }))
                .collect()
        };
        let more = ClusterState::gather_kinds(reader, &wanted).await?;
        for p in more.pods {
            let known = state.pods.iter().any(|q| {
                k8s::namespace(&q.metadata) == k8s::namespace(&p.metadata)
                    && k8s::name(&q.metadata) == k8s::name(&p.metadata)
            });
            if !known {
                state.pods.push(p);
            }
        }
    }
    // Without the cluster's metrics API, usage from outside it (Container Insights on EKS). A
    // failure to read it is said in the result; requests, limits and OOM history stand.
    let external = match usage {
        Some(source) if !state.has_metrics() => {
            let (samples, error) = match source.pod_usage(ns, EXTERNAL_WINDOW_MINUTES).await {
                Ok(samples) => (samples, None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            };
            Some(ExternalUsage { source: source.name().to_string(), samples, error })
        }
        _ => None,
    };
    resource_usage_with(&state, &target, external.as_ref())
}

fn check_target(target: &UsageTarget) -> Result<()> {
    if (target.pod.is_some() || target.deployment.is_some()) && target.namespace.is_none() {
        return Err(Error::InvalidArgs {
            tool: "check_resource_usage".into(),
            message: "a pod or deployment needs its namespace".into(),
        });
    }
    Ok(())
}

/// The pods a target covers (terminated ones included, for their OOM history).
fn in_scope<'a>(state: &'a ClusterState, target: &UsageTarget) -> Result<Vec<&'a Pod>> {
    let ns = target.namespace.as_deref().unwrap_or_default();
    match (&target.pod, &target.deployment) {
        (Some(pod), _) => state
            .pods
            .iter()
            .find(|p| k8s::name(&p.metadata) == pod && k8s::namespace(&p.metadata) == ns)
            .map(|p| vec![p])
            .ok_or_else(|| Error::NotFound { what: format!("pod {ns}/{pod}") }),
        (None, Some(dep)) => {
            let exists =
                state.deployments.iter().any(|d| k8s::name(&d.metadata) == dep && k8s::namespace(&d.metadata) == ns);
            let pods = state.pods_of("Deployment", ns, dep);
            if !exists && pods.is_empty() {
                return Err(Error::NotFound { what: format!("deployment {ns}/{dep}") });
            }
            Ok(pods)
        }
        (None, None) => Ok(state
            .pods
            .iter()
            .filter(|p| target.namespace.as_deref().is_none_or(|n| k8s::namespace(&p.metadata) == n))
            .collect()),
    }
}

fn scope_text(target: &UsageTarget) -> String {
    let ns = target.namespace.as_deref().unwrap_or_default();
    match (&target.pod, &target.deployment, &target.namespace) {
        (Some(p), _, _) => format!("pod {ns}/{p}"),
        (None, Some(d), _) => format!("deployment {ns}/{d}"),
        (None, None, Some(n)) => format!("namespace {n}"),
        (None, None, None) => "the cluster".into(),
    }
}

/// CPU in millicores, including the `n` and `u` units metrics-server reports usage in.
fn cpu_millis(q: &str) -> Option<f64> {
    let q = q.trim();
    if let Some(n) = q.strip_suffix('n') {
        return n.parse::<f64>().ok().map(|v| v / 1e6);
    }
    if let Some(u) = q.strip_suffix('u') {
        return u.parse::<f64>().ok().map(|v| v / 1e3);
    }
    parse_millicores(q)
}

/// `482Mi`, `1.5Gi`: a readable memory amount (not necessarily a valid limit).
fn mem_text(bytes: f64) -> String {
    let gi = 1024.0 * 1024.0 * 1024.0;
    if bytes >= gi {
        let v = bytes / gi;
        if (v - v.round()).abs() < 0.05 { format!("{}Gi", v.round()) } else { format!("{v:.1}Gi") }
    } else {
        format!("{}Mi", (bytes / (1024.0 * 1024.0)).round())
    }
}

fn cpu_text(millis: f64) -> String {
    if millis >= 1000.0 && (millis % 1000.0).abs() < 0.5 {
        format!("{}", (millis / 1000.0).round())
    } else {
        format!("{}m", millis.round())
    }
}

fn pct(used: f64, of: f64) -> Option<u32> {
    (of > 0.0).then(|| (used / of * 100.0).round().clamp(0.0, 100_000.0) as u32)
}

fn quantity<'a>(c: &'a Container, which: &str, resource: &str) -> Option<&'a str> {
    let r = c.resources.as_ref()?;
    let map = if which == "requests" { r.requests.as_ref() } else { r.limits.as_ref() }?;
    map.get(resource).map(|q| q.0.as_str())
}

/// A pod's effective request or limit of one resource: the sum over its containers, or the
/// largest init container's when that is larger (as the scheduler counts).
fn pod_total(pod: &Pod, which: &str, resource: &str, parse: fn(&str) -> Option<f64>) -> f64 {
    let Some(spec) = pod.spec.as_ref() else { return 0.0 };
    let sum: f64 = spec.containers.iter().filter_map(|c| quantity(c, which, resource)).filter_map(parse).sum();
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .filter_map(|c| quantity(c, which, resource))
        .filter_map(parse)
        .fold(0.0, f64::max);
    sum.max(init)
}

fn terminal(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"))
}

/// The analysis: pure over the state.
///
/// # Errors
/// [`Error::InvalidArgs`] for a pod or deployment without a namespace; [`Error::NotFound`] when
/// the named pod or deployment does not exist.
pub fn resource_usage(state: &ClusterState, target: &UsageTarget) -> Result<ResourceUsageResult> {
    resource_usage_with(state, target, None)
}

/// As [`resource_usage`], with usage read outside the cluster for when the state holds no
/// metrics: a single-container pod's share of its limits becomes its container's usage.
///
/// # Errors
/// As [`resource_usage`].
pub fn resource_usage_with(
    state: &ClusterState,
    target: &UsageTarget,
    external: Option<&ExternalUsage>,
) -> Result<ResourceUsageResult> {
    check_target(target)?;
    let pods = in_scope(state, target)?;
    let scope = scope_text(target);
    let external = external.filter(|_| !state.has_metrics());
    let mut external_pods = 0;
    let mut rows = Vec::new();
    let mut oom = Vec::new();
    for pod in &pods {
        let ns = k8s::namespace(&pod.metadata);
        let name = k8s::name(&pod.metadata);
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
        let controller = state.controller_of(&pod.metadata);
        let workload = controller.as_ref().map(|(k, n)| format!("{k}/{n}"));
        let pm = state.pod_metrics_of(ns, name);
        // A pod-level share of the limits is its container's when it is the only one.
        let single = pod.spec.as_ref().is_some_and(|s| s.containers.len() == 1);
        let sample = external
            .filter(|_| single && !terminal(pod))
            .and_then(|x| x.of(ns, name, controller.as_ref().map(|(_, n)| n.as_str())));
        external_pods += usize::from(sample.is_some());
        let statuses = k8s::container_statuses(pod);
        for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
            let cs = statuses.iter().find(|s| s.name == c.name);
            let usage = pm.and_then(|m| m.containers.iter().find(|x| x.name == c.name)).map(|x| &x.usage);
            let mut cpu_use = usage.and_then(|u| u.get("cpu")).and_then(|q| cpu_millis(&q.0));
            let mut mem_use = usage.and_then(|u| u.get("memory")).and_then(|q| parse_bytes(&q.0));
            let req_cpu = quantity(c, "requests", "cpu");
            let lim_cpu = quantity(c, "limits", "cpu");
            let req_mem = quantity(c, "requests", "memory");
            let lim_mem = quantity(c, "limits", "memory");
            if let Some(sample) = sample {
                let share = |pct: Option<f64>, limit: Option<&str>, parse: fn(&str) -> Option<f64>| {
                    pct.zip(limit.and_then(parse)).map(|(p, l)| p / 100.0 * l)
                };
                cpu_use = share(sample.cpu_pct_of_limit, lim_cpu, cpu_millis);
                mem_use = share(sample.memory_pct_of_limit, lim_mem, parse_bytes);
            }
            let ratio = |used: Option<f64>, q: Option<&str>, parse: fn(&str) -> Option<f64>| {
                used.zip(q.and_then(parse)).and_then(|(u, q)| pct(u, q))
            };
            let last = cs.and_then(|s| s.last_state.as_ref()).and_then(|l| l.terminated.as_ref());
            let now_term = cs.and_then(|s| s.state.as_ref()).and_then(|l| l.terminated.as_ref());
            let last_termination = last.or(now_term).map(|t| {
                let when = t.finished_at.as_ref().map(|f| format!(" {} ago", k8s::age(Some(f), state.now)));
                format!(
                    "{} (exit {}){}",
                    t.reason.as_deref().unwrap_or("Terminated"),
                    t.exit_code,
                    when.unwrap_or_default()
                )
            });
            let restarts = cs.map_or(0, |s| s.restart_count);
            for (t, source) in [(last, "lastState"), (now_term, "state")] {
                let Some(t) = t.filter(|t| t.reason.as_deref() == Some("OOMKilled")) else { continue };
                oom.push(OomRecord {
                    namespace: ns.to_string(),
                    pod: Some(name.to_string()),
                    container: Some(c.name.clone()),
                    node: node.clone(),
                    at: t.finished_at.as_ref().map(|f| f.0.to_string()),
                    ago: t.finished_at.as_ref().map(|f| k8s::age(Some(f), state.now)),
                    memory_limit: lim_mem.map(str::to_string),
                    restarts,
                    source: source.into(),
                    detail: format!(
                        "container {} of pod {ns}/{name} OOMKilled (exit {}){}; {}",
                        c.name,
                        t.exit_code,
                        lim_mem.map(|l| format!(" at its {l} memory limit")).unwrap_or_default(),
                        restarts_text(restarts)
                    ),
                });
            }
            if terminal(pod) {
                continue;
            }
            rows.push(ContainerUsage {
                namespace: ns.to_string(),
                pod: name.to_string(),
                container: c.name.clone(),
                node: node.clone(),
                workload: workload.clone(),
                cpu_request: req_cpu.map(str::to_string),
                cpu_limit: lim_cpu.map(str::to_string),
                memory_request: req_mem.map(str::to_string),
                memory_limit: lim_mem.map(str::to_string),
                cpu_usage: cpu_use.map(cpu_text),
                memory_usage: mem_use.map(mem_text),
                cpu_pct_of_request: ratio(cpu_use, req_cpu, cpu_millis),
                cpu_pct_of_limit: ratio(cpu_use, lim_cpu, cpu_millis),
                memory_pct_of_request: ratio(mem_use, req_mem, parse_bytes),
                memory_pct_of_limit: ratio(mem_use, lim_mem, parse_bytes),
                restarts,
                last_termination,
            });
        }
    }
    let node_names: Vec<String> = if target.namespace.is_none() {
        state.nodes.iter().map(|n| k8s::name(&n.metadata).to_string()).collect()
    } else {
        let mut v: Vec<String> =
            pods.iter().filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone())).collect();
        v.sort();
        v.dedup();
        v
    };
    // The kubelet's OOM events on those nodes (they name a process, not a pod).
    for e in &state.events {
        let o = &e.involved_object;
        let reason = e.reason.as_deref().unwrap_or_default();
        if o.kind.as_deref() != Some("Node") || !matches!(reason, "OOMKilling" | "SystemOOM") {
            continue;
        }
        let node = o.name.clone().unwrap_or_default();
        if !node_names.contains(&node) {
            continue;
        }
        let at = super::event_last_time(e);
        if at.is_some_and(|t| state.now.as_second() - t.as_second() > OLD_OOM_SECS) {
            continue;
        }
        oom.push(OomRecord {
            namespace: String::new(),
            pod: None,
            container: None,
            node: Some(node.clone()),
            at: at.map(|t| t.to_string()),
            ago: at.map(|t| k8s::human_duration(state.now.as_second() - t.as_second())),
            memory_limit: None,
            restarts: super::event_count(e),
            source: "event".into(),
            detail: format!("node {node} {reason}: {}", e.message.as_deref().unwrap_or_default().trim()),
        });
    }
    oom.sort_by(|a, b| b.at.cmp(&a.at));
    let metrics = match external {
        Some(x) => external_status(x, &pods, external_pods),
        None => metrics_status(state, &pods),
    };
    let nodes = node_allocations(state, &node_names);
    let mut findings = Vec::new();
    findings.extend(oom_findings(state, &pods, &oom));
    findings.extend(usage_findings(&rows));
    findings.extend(missing_resources_findings(&rows));
    findings.extend(node_findings(&nodes));
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let healthy = findings.iter().all(|f| f.severity <= Severity::Info);
    rows.sort_by_key(|r| {
        (
            std::cmp::Reverse(r.memory_pct_of_limit.unwrap_or(0).max(r.cpu_pct_of_limit.unwrap_or(0))),
            std::cmp::Reverse(r.restarts),
            r.namespace.clone(),
            r.pod.clone(),
        )
    });
    let omitted = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    Ok(ResourceUsageResult { scope, metrics, containers: rows, omitted, oom_history: oom, nodes, findings, healthy })
}

/// The status when usage comes from outside the cluster (which has no metrics API).
fn external_status(x: &ExternalUsage, pods: &[&Pod], sampled: usize) -> MetricsStatus {
    let running = pods.iter().filter(|p| !terminal(p)).count();
    let without = "Usage is unknown: this cluster does not serve the resource metrics API (metrics.k8s.io; metrics-server is not installed)";
    let source = &x.source;
    if let Some(e) = &x.error {
        return MetricsStatus {
            available: false,
            source: "none".into(),
            note: format!(
                "{without}, and {source} could not be read: {e}. Requests, limits and OOM history below come from the pod specs, statuses and events."
            ),
            sampled_at: None,
        };
    }
    if sampled == 0 {
        return MetricsStatus {
            available: false,
            source: "none".into(),
            note: format!(
                "{without}, and {source} has no figures for these pods in the last {EXTERNAL_WINDOW_MINUTES} minutes (not enabled for the cluster, or the pods set no limits, or they have several containers). Requests, limits and OOM history below come from the pod specs, statuses and events."
            ),
            sampled_at: None,
        };
    }
    let by_workload = x.samples.iter().any(|s| !s.per_pod);
    MetricsStatus {
        available: true,
        source: "container-insights".into(),
        note: format!(
            "Usage from {source} (CloudWatch; the cluster serves no metrics API): each pod's share of its CPU and memory limits, the last datapoint of the past {EXTERNAL_WINDOW_MINUTES} minutes, for {sampled} of {running} running pods{}. Pods with several containers and pods without limits get no figure.",
            if by_workload { "; figures published under a workload's name are the average of its pods" } else { "" }
        ),
        sampled_at: x.samples.iter().filter_map(|s| s.at).max().map(|t| t.to_string()),
    }
}

fn metrics_status(state: &ClusterState, pods: &[&Pod]) -> MetricsStatus {
    let running = pods.iter().filter(|p| !terminal(p)).count();
    if !state.has_read(Kind::PodMetrics) && !state.has_read(Kind::NodeMetrics) {
        return MetricsStatus {
            available: false,
            source: "none".into(),
            note: "Usage is unknown: the resource metrics API (metrics.k8s.io) did not answer (registered but unavailable, or not readable by this identity). Requests, limits and OOM history below come from the pod specs, statuses and events. On EKS, get_cloudwatch_metrics reads usage from Container Insights.".into(),
            sampled_at: None,
        };
    }
    if !state.has_metrics() {
        return MetricsStatus {
            available: false,
            source: "none".into(),
            note: "Usage is unknown: this cluster does not serve the resource metrics API (metrics.k8s.io; metrics-server is not installed). Requests, limits and OOM history below come from the pod specs, statuses and events. On EKS, get_cloudwatch_metrics reads usage from Container Insights.".into(),
            sampled_at: None,
        };
    }
    let sampled = pods
        .iter()
        .filter(|p| !terminal(p))
        .filter(|p| state.pod_metrics_of(k8s::namespace(&p.metadata), k8s::name(&p.metadata)).is_some())
        .count();
    let sampled_at = state
        .pod_metrics
        .iter()
        .filter_map(|m| m.timestamp.clone())
        .chain(state.node_metrics.iter().filter_map(|m| m.timestamp.clone()))
        .max();
    let window = state.pod_metrics.iter().find_map(|m| m.window.clone());
    let missing = running - sampled.min(running);
    let note = format!(
        "Usage from the resource metrics API (metrics.k8s.io, metrics-server){}: the working set and CPU of {sampled} of {running} running pods{}.",
        window.map(|w| format!(", averaged over {w}")).unwrap_or_default(),
        if missing > 0 {
            format!("; {missing} have no sample yet (started in the last minute, or not running)")
        } else {
            String::new()
        }
    );
    MetricsStatus { available: true, source: "metrics.k8s.io".into(), note, sampled_at }
}

/// The workload a finding about a pod's container is best filed under.
fn subject_of(state: &ClusterState, pod: &Pod) -> (ObjectRef, Option<String>) {
    let ns = k8s::namespace(&pod.metadata);
    match state.controller_of(&pod.metadata) {
        Some((kind, name)) if kind == "Deployment" => (ObjectRef::new(&kind, ns, &name), Some(name)),
        Some((kind, name)) if matches!(kind.as_str(), "StatefulSet" | "DaemonSet") => {
            (ObjectRef::new(&kind, ns, &name), None)
        }
        _ => (ObjectRef::new("Pod", ns, k8s::name(&pod.metadata)), None),
    }
}

fn raise_action(ns: &str, deployment: Option<&str>, container: &str, limit: Option<&str>) -> Option<Action> {
    let (dep, limit) = (deployment?, limit?);
    let new = format_bytes(raised_memory_limit(parse_bytes(limit)?));
    Some(Action::tool(
        "set_container_resources",
        json!({"namespace": ns, "deployment": dep, "container": container, "memory_limit": new}),
        format!("Raise the memory limit of container {container} in deployment {ns}/{dep} from {limit} to {new}"),
    ))
}

fn oom_findings(state: &ClusterState, pods: &[&Pod], oom: &[OomRecord]) -> Vec<Finding> {
    // One finding per (workload, container), from the most recent kill.
    let mut groups: BTreeMap<(ObjectRef, String), Vec<&OomRecord>> = BTreeMap::new();
    let mut deployments: BTreeMap<ObjectRef, Option<String>> = BTreeMap::new();
    for r in oom {
        let (Some(pod_name), Some(container)) = (&r.pod, &r.container) else { continue };
        let Some(pod) =
            pods.iter().find(|p| k8s::name(&p.metadata) == pod_name && k8s::namespace(&p.metadata) == r.namespace)
        else {
            continue;
        };
        let (subject, dep) = subject_of(state, pod);
        deployments.insert(subject.clone(), dep);
        groups.entry((subject, container.clone())).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((subject, container), records) in groups {
        let latest = records.iter().max_by(|a, b| a.at.cmp(&b.at)).copied();
        let Some(latest) = latest else { continue };
        let secs = latest
            .at
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| state.now.as_second() - t.as_second());
        let severity = match secs {
            Some(s) if s <= RECENT_OOM_SECS => Severity::Error,
            Some(s) if s <= OLD_OOM_SECS => Severity::Warning,
            Some(_) => Severity::Info,
            None => Severity::Warning,
        };
        let mut pods_hit: Vec<&str> = records.iter().filter_map(|r| r.pod.as_deref()).collect();
        pods_hit.sort_unstable();
        pods_hit.dedup();
        let restarts: i32 = records.iter().map(|r| r.restarts).max().unwrap_or(0);
        let limit = latest.memory_limit.clone();
        let message = format!(
            "container {container} of {} {}/{} was OOMKilled (exit 137){}{}; {} pod{} affected, up to {}",
            subject.kind.to_lowercase(),
            subject.namespace,
            subject.name,
            limit
                .as_deref()
                .map(|l| format!(" at its {l} memory limit"))
                .unwrap_or_else(|| " with no memory limit (the node ran out of memory)".into()),
            latest.ago.as_deref().map(|a| format!(", last {a} ago")).unwrap_or_default(),
            pods_hit.len(),
            if pods_hit.len() == 1 { "" } else { "s" },
            restarts_text(restarts),
        );
        let mut f = Finding::new(subject.clone(), severity, "OOMKilled", message);
        for r in records.iter().take(5) {
            f.evidence.push(format!(
                "{} ({} {})",
                r.detail,
                r.source,
                r.ago.as_deref().map(|a| format!("{a} ago")).unwrap_or_default()
            ));
        }
        let dep = deployments.get(&subject).cloned().flatten();
        if let Some(a) = raise_action(&subject.namespace, dep.as_deref(), &container, limit.as_deref()) {
            f = f.action(a);
        } else {
            f = f.action(Action::text(format!(
                "Raise the memory limit of container {container} (or find what grows the heap: a leak, a cache without bound)"
            )));
        }
        out.push(f.warn("Restarting will not fix an OOM: the container needs more memory or must use less"));
    }
    out
}

fn usage_findings(rows: &[ContainerUsage]) -> Vec<Finding> {
    // Group pods of a workload: one finding per (workload or pod, container, concern).
    let mut groups: BTreeMap<(String, String, String, &'static str), Vec<&ContainerUsage>> = BTreeMap::new();
    for r in rows {
        let key = r.workload.clone().unwrap_or_else(|| format!("Pod/{}", r.pod));
        if r.memory_pct_of_limit.is_some_and(|p| f64::from(p) >= NEAR_LIMIT_PCT) {
            groups.entry((r.namespace.clone(), key.clone(), r.container.clone(), "memory")).or_default().push(r);
        }
        if r.cpu_pct_of_limit.is_some_and(|p| f64::from(p) >= NEAR_LIMIT_PCT) {
            groups.entry((r.namespace.clone(), key, r.container.clone(), "cpu")).or_default().push(r);
        }
    }
    let mut out = Vec::new();
    for ((ns, key, container, what), rows) in groups {
        let (kind, name) = key.split_once('/').unwrap_or(("Pod", key.as_str()));
        let worst = rows
            .iter()
            .max_by_key(|r| if what == "memory" { r.memory_pct_of_limit } else { r.cpu_pct_of_limit })
            .copied();
        let Some(worst) = worst else { continue };
        let subject = ObjectRef::new(kind, &ns, name);
        let of =
            if kind == "Pod" { format!("pod {ns}/{name}") } else { format!("{} {ns}/{name}", kind.to_lowercase()) };
        let mut f = if what == "memory" {
            let p = worst.memory_pct_of_limit.unwrap_or(0);
            let limit = worst.memory_limit.clone().unwrap_or_default();
            let (severity, reason, tail) = if f64::from(p) >= 100.0 {
                (Severity::Error, "MemoryAtLimit", "it is at its limit: the next allocation is an OOM kill")
            } else {
                (Severity::Warning, "MemoryNearLimit", "a spike or slow growth will get it OOMKilled")
            };
            let mut f = Finding::new(
                subject.clone(),
                severity,
                reason,
                format!(
                    "container {container} of {of} uses {} of its {limit} memory limit ({p}%): {tail}",
                    worst.memory_usage.clone().unwrap_or_default()
                ),
            );
            let dep = (kind == "Deployment").then_some(name);
            if let Some(a) = raise_action(&ns, dep, &container, worst.memory_limit.as_deref()) {
                f = f.action(a);
            }
            f.action(Action::text(format!(
                "Check whether container {container}'s memory keeps growing (a leak) before raising the limit; set the request to what it really uses"
            )))
            .warn("Restarting only resets the memory for a while: it does not change the limit")
        } else {
            let p = worst.cpu_pct_of_limit.unwrap_or(0);
            Finding::new(
                subject.clone(),
                Severity::Warning,
                "CPUNearLimit",
                format!(
                    "container {container} of {of} uses {} of its {} CPU limit ({p}%): it is being throttled, so requests slow down",
                    worst.cpu_usage.clone().unwrap_or_default(),
                    worst.cpu_limit.clone().unwrap_or_default()
                ),
            )
            .action(Action::text(format!(
                "Raise or remove the CPU limit of container {container} (set_container_resources cpu_limit), or scale out"
            )))
        };
        for r in rows.iter().take(5) {
            f.evidence.push(format!(
                "pod {}: {} {} of limit {} ({}%)",
                r.pod,
                what,
                if what == "memory" { r.memory_usage.clone() } else { r.cpu_usage.clone() }.unwrap_or_default(),
                if what == "memory" { r.memory_limit.clone() } else { r.cpu_limit.clone() }.unwrap_or_default(),
                if what == "memory" { r.memory_pct_of_limit } else { r.cpu_pct_of_limit }.unwrap_or(0)
            ));
        }
        if rows.len() > 5 {
            f.evidence.push(format!("and {} more pods", rows.len() - 5));
        }
        out.push(f);
    }
    out
}

fn missing_resources_findings(rows: &[ContainerUsage]) -> Vec<Finding> {
    let mut groups: BTreeMap<(String, String, String), Vec<&ContainerUsage>> = BTreeMap::new();
    for r in rows {
        let key = r.workload.clone().unwrap_or_else(|| format!("Pod/{}", r.pod));
        groups.entry((r.namespace.clone(), key, r.container.clone())).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((ns, key, container), rows) in groups {
        let Some(first) = rows.first() else { continue };
        let (kind, name) = key.split_once('/').unwrap_or(("Pod", key.as_str()));
        let of =
            if kind == "Pod" { format!("pod {ns}/{name}") } else { format!("{} {ns}/{name}", kind.to_lowercase()) };
        let subject = ObjectRef::new(kind, &ns, name);
        let missing: Vec<&str> = [("cpu", &first.cpu_request), ("memory", &first.memory_request)]
            .iter()
            .filter(|(_, q)| q.is_none())
            .map(|(r, _)| *r)
            .collect();
        if !missing.is_empty() {
            let used = match (&first.cpu_usage, &first.memory_usage) {
                (Some(c), Some(m)) => format!("; it uses {c} CPU and {m} memory now"),
                _ => String::new(),
            };
            // No request at all makes the pod BestEffort (evicted first); one missing request
            // is common (add-ons often request CPU only) and worth a note.
            // kube-system add-ons come with their installer's defaults (the AWS Load Balancer
            // Controller's chart sets no requests): a note, not an alarm.
            let addon = ns == "kube-system";
            let (severity, message) = if missing.len() == 2 {
                (
                    if addon { Severity::Info } else { Severity::Warning },
                    format!(
                        "container {container} of {of} has no CPU or memory request{used}: the scheduler places it blind, it is evicted first under node pressure, and an HPA cannot compute its utilization"
                    ),
                )
            } else {
                (
                    Severity::Info,
                    format!(
                        "container {container} of {of} has no {} request{used}: the scheduler does not count what it uses{}",
                        missing[0],
                        if missing[0] == "cpu" {
                            ", and an HPA cannot compute its CPU utilization"
                        } else {
                            ", and it is among the first evicted when the node runs short of memory"
                        }
                    ),
                )
            };
            out.push(
                Finding::new(subject.clone(), severity, "NoResourceRequests", message)
                .evidence(format!(
                    "spec.containers[{container}].resources.requests: cpu {}, memory {} ({} pod{})",
                    first.cpu_request.as_deref().unwrap_or("unset"),
                    first.memory_request.as_deref().unwrap_or("unset"),
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" }
                ))
                .action(Action::text(if addon {
                    format!("Set requests for container {container} through the add-on's configuration (Helm values or EKS add-on configuration values)")
                } else {
                    format!(
                        "Set CPU and memory requests on container {container} from its observed usage (set_container_resources cpu_request, memory_request)"
                    )
                })),
            );
        }
        if first.memory_limit.is_none() {
            out.push(
                Finding::new(
                    subject,
                    Severity::Info,
                    "NoMemoryLimit",
                    format!("container {container} of {of} has no memory limit: a leak can use the node's memory until the kernel kills something"),
                )
                .evidence(format!("spec.containers[{container}].resources.limits.memory unset"))
                .action(Action::text(format!("Set a memory limit on container {container} above its peak working set"))),
            );
        }
    }
    out
}

fn node_allocations(state: &ClusterState, names: &[String]) -> Vec<NodeAllocation> {
    let mut out = Vec::new();
    for name in names {
        let Some(node) = state.nodes.iter().find(|n| k8s::name(&n.metadata) == name) else { continue };
        let alloc = node.status.as_ref().and_then(|s| s.allocatable.as_ref());
        let a_cpu = alloc.and_then(|a| a.get("cpu")).and_then(|q| cpu_millis(&q.0)).unwrap_or(0.0);
        let a_mem = alloc.and_then(|a| a.get("memory")).and_then(|q| parse_bytes(&q.0)).unwrap_or(0.0);
        let pods: Vec<&Pod> = state
            .pods
            .iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name.as_str()))
            .filter(|p| !terminal(p))
            .collect();
        let r_cpu: f64 = pods.iter().map(|p| pod_total(p, "requests", "cpu", cpu_millis)).sum();
        let r_mem: f64 = pods.iter().map(|p| pod_total(p, "requests", "memory", parse_bytes)).sum();
        let l_mem: f64 = pods.iter().map(|p| pod_total(p, "limits", "memory", parse_bytes)).sum();
        let usage = state.node_metrics_of(name).map(|m| &m.usage);
        let u_cpu = usage.and_then(|u| u.get("cpu")).and_then(|q| cpu_millis(&q.0));
        let u_mem = usage.and_then(|u| u.get("memory")).and_then(|q| parse_bytes(&q.0));
        out.push(NodeAllocation {
            node: name.clone(),
            pods: pods.len(),
            cpu_allocatable: cpu_text(a_cpu),
            memory_allocatable: mem_text(a_mem),
            cpu_requested: cpu_text(r_cpu),
            memory_requested: mem_text(r_mem),
            memory_limits: mem_text(l_mem),
            cpu_requested_pct: pct(r_cpu, a_cpu),
            memory_requested_pct: pct(r_mem, a_mem),
            memory_limits_pct: pct(l_mem, a_mem),
            cpu_usage: u_cpu.map(cpu_text),
            memory_usage: u_mem.map(mem_text),
            cpu_usage_pct: u_cpu.and_then(|u| pct(u, a_cpu)),
            memory_usage_pct: u_mem.and_then(|u| pct(u, a_mem)),
        });
    }
    out
}

fn node_findings(nodes: &[NodeAllocation]) -> Vec<Finding> {
    let mut out = Vec::new();
    for n in nodes {
        let subject = ObjectRef::new("Node", "", &n.node);
        let line = format!(
            "node {}: allocatable {} CPU / {} memory; requested {} ({}%) / {} ({}%); memory limits {} ({}%){}",
            n.node,
            n.cpu_allocatable,
            n.memory_allocatable,
            n.cpu_requested,
            n.cpu_requested_pct.unwrap_or(0),
            n.memory_requested,
            n.memory_requested_pct.unwrap_or(0),
            n.memory_limits,
            n.memory_limits_pct.unwrap_or(0),
            match (&n.cpu_usage, &n.memory_usage) {
                (Some(c), Some(m)) => format!(
                    "; using {c} ({}%) / {m} ({}%)",
                    n.cpu_usage_pct.unwrap_or(0),
                    n.memory_usage_pct.unwrap_or(0)
                ),
                _ => String::new(),
            }
        );
        if let Some(p) = n.memory_usage_pct.filter(|p| f64::from(*p) >= NODE_HIGH_PCT) {
            out.push(
                Finding::new(
                    subject.clone(),
                    Severity::Warning,
                    "NodeMemoryHigh",
                    format!("node {} uses {p}% of its allocatable memory ({} of {}): the kubelet will start evicting pods that use more than they request", n.node, n.memory_usage.clone().unwrap_or_default(), n.memory_allocatable),
                )
                .evidence(line.clone())
                .action(Action::text("Move or shrink the heaviest pods, or add nodes (the nodegroup's desired size)")),
            );
        }
        if let Some(p) = n.cpu_usage_pct.filter(|p| f64::from(*p) >= NODE_HIGH_PCT) {
            out.push(
                Finding::new(
                    subject.clone(),
                    Severity::Warning,
                    "NodeCPUHigh",
                    format!(
                        "node {} uses {p}% of its allocatable CPU ({} of {}): its pods compete for CPU",
                        n.node,
                        n.cpu_usage.clone().unwrap_or_default(),
                        n.cpu_allocatable
                    ),
                )
                .evidence(line.clone()),
            );
        }
        let over = [("CPU", n.cpu_requested_pct), ("memory", n.memory_requested_pct)]
            .into_iter()
            .filter_map(|(r, p)| p.filter(|p| *p > 100).map(|p| format!("{r} {p}%")))
            .collect::<Vec<_>>();
        if !over.is_empty() {
            out.push(
                Finding::new(
                    subject.clone(),
                    Severity::Error,
                    "NodeOverRequested",
                    format!(
                        "node {} has more requested than allocatable ({}): its allocatable shrank under running pods",
                        n.node,
                        over.join(", ")
                    ),
                )
                .evidence(line.clone()),
            );
        } else if n.memory_limits_pct.is_some_and(|p| p > 100) {
            out.push(
                Finding::new(
                    subject,
                    Severity::Info,
                    "NodeMemoryOvercommitted",
                    format!("node {}: its pods' memory limits add up to {}% of allocatable ({} of {}); if they all use their limits, some get OOMKilled or evicted", n.node, n.memory_limits_pct.unwrap_or(0), n.memory_limits, n.memory_allocatable),
                )
                .evidence(line),
            );
        }
    }
    out
}

fn restarts_text(n: i32) -> String {
    if n == 1 { "1 restart".into() } else { format!("{n} restarts") }
}

fn or_dash(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn with_pct(v: &Option<String>, p: Option<u32>, of: &str) -> String {
    match (v, p) {
        (Some(v), Some(p)) => format!("{v} ({p}% {of})"),
        (Some(v), None) => v.clone(),
        _ => "-".into(),
    }
}

impl Render for ResourceUsageResult {
    /// Findings first, then OOM history, the containers (worst first) and the nodes: when the
    /// text is cut to the byte budget, what is cut is the least telling rows.
    fn text(&self) -> String {
        let n = self.containers.len() + self.omitted;
        let mut out = format!(
            "Resource usage of {}: {n} container{}\n{}\n",
            self.scope,
            if n == 1 { "" } else { "s" },
            self.metrics.note
        );
        if let Some(t) = &self.metrics.sampled_at {
            out.push_str(&format!("sampled at {t}\n"));
        }
        out.push('\n');
        out.push_str(&render_findings(&self.findings, &self.scope));
        out.push_str("\nOOM history: ");
        if self.oom_history.is_empty() {
            out.push_str("none (no OOMKilled terminations, no kubelet OOM events in the last day)\n");
        } else {
            out.push('\n');
            for r in self.oom_history.iter().take(20) {
                out.push_str(&format!(
                    "  - {}{}\n",
                    r.detail,
                    r.ago.as_deref().map(|a| format!(", {a} ago")).unwrap_or_default()
                ));
            }
            if self.oom_history.len() > 20 {
                out.push_str(&format!("  ({} more)\n", self.oom_history.len() - 20));
            }
        }
        if !self.containers.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .containers
                .iter()
                .map(|r| {
                    let used = |v: &Option<String>, of_limit: Option<u32>, of_request: Option<u32>| {
                        if !self.metrics.available {
                            return "n/a".to_string();
                        }
                        match (of_limit, of_request) {
                            (Some(_), _) => with_pct(v, of_limit, "of limit"),
                            (None, Some(_)) => with_pct(v, of_request, "of request"),
                            (None, None) => with_pct(v, None, ""),
                        }
                    };
                    vec![
                        format!("{}/{}", r.namespace, r.pod),
                        r.container.clone(),
                        format!("{}/{}", or_dash(&r.cpu_request), or_dash(&r.cpu_limit)),
                        used(&r.cpu_usage, r.cpu_pct_of_limit, r.cpu_pct_of_request),
                        format!("{}/{}", or_dash(&r.memory_request), or_dash(&r.memory_limit)),
                        used(&r.memory_usage, r.memory_pct_of_limit, r.memory_pct_of_request),
                        r.restarts.to_string(),
                        or_dash(&r.last_termination).to_string(),
                    ]
                })
                .collect();
            out.push_str(&table(
                &[
                    "POD",
                    "CONTAINER",
                    "CPU REQ/LIM",
                    "CPU USED",
                    "MEM REQ/LIM",
                    "MEM USED",
                    "RESTARTS",
                    "LAST TERMINATION",
                ],
                &rows,
            ));
            if self.omitted > 0 {
                out.push_str(&format!("({} more containers not shown)\n", self.omitted));
            }
        }
        if !self.nodes.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .nodes
                .iter()
                .map(|n| {
                    let p = |v: Option<u32>| v.map(|p| format!(" ({p}%)")).unwrap_or_default();
                    vec![
                        n.node.clone(),
                        n.pods.to_string(),
                        format!("{}{} of {}", n.cpu_requested, p(n.cpu_requested_pct), n.cpu_allocatable),
                        format!("{}{} of {}", n.memory_requested, p(n.memory_requested_pct), n.memory_allocatable),
                        format!("{}{}", n.memory_limits, p(n.memory_limits_pct)),
                        n.cpu_usage.as_ref().map_or_else(|| "n/a".into(), |c| format!("{c}{}", p(n.cpu_usage_pct))),
                        n.memory_usage
                            .as_ref()
                            .map_or_else(|| "n/a".into(), |m| format!("{m}{}", p(n.memory_usage_pct))),
                    ]
                })
                .collect();
            out.push_str(&table(
                &["NODE", "PODS", "CPU REQUESTED", "MEM REQUESTED", "MEM LIMITS", "CPU USED", "MEM USED"],
                &rows,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::fixtures::*;

    fn pod_metrics(ns: &str, pod: &str, cpu: &str, memory: &str) -> Value {
        json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
            "metadata": {"name": pod, "namespace": ns, "creationTimestamp": NOW},
            "timestamp": ago(20), "window": "15s",
            "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": memory}}]})
    }

    fn node_metrics(node: &str, cpu: &str, memory: &str) -> Value {
        json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
            "metadata": {"name": node, "creationTimestamp": NOW}, "timestamp": ago(20), "window": "20s",
            "usage": {"cpu": cpu, "memory": memory}})
    }

    fn web_pods(limit: &str) -> Vec<Value> {
        vec![
            deployment("prod", "web", 2, 2, 3),
            replicaset("prod", "web", "5d8c6b9f7d", 3, "registry.example.com/web:1.0.0", 2, 2),
            pod("web-5d8c6b9f7d-a1b2c")
                .in_ns("prod")
                .labels(&[("app", "web")])
                .owned_by_rs("web-5d8c6b9f7d")
                .requests("250m", "256Mi")
                .memory_limit(limit)
                .build(),
            pod("web-5d8c6b9f7d-d3e4f")
                .in_ns("prod")
                .labels(&[("app", "web")])
                .owned_by_rs("web-5d8c6b9f7d")
                .requests("250m", "256Mi")
                .memory_limit(limit)
                .build(),
            node("node-1", "2", "8Gi"),
        ]
    }

    fn target(ns: &str, pod: Option<&str>, deployment: Option<&str>) -> UsageTarget {
        UsageTarget {
            namespace: Some(ns.into()),
            pod: pod.map(str::to_string),
            deployment: deployment.map(str::to_string),
        }
    }

    struct Case {
        name: &'static str,
        objects: Vec<Value>,
        target: UsageTarget,
        metrics: bool,
        /// (reason, severity, texts the message or evidence carries)
        expect: Vec<(&'static str, Severity, &'static [&'static str])>,
        /// Reasons that must not appear.
        absent: &'static [&'static str],
    }

    #[test]
    fn resource_usage_cases() {
        let cases = vec![
            Case {
                name: "healthy with metrics",
                objects: [
                    web_pods("512Mi"),
                    vec![
                        pod_metrics("prod", "web-5d8c6b9f7d-a1b2c", "120m", "200Mi"),
                        pod_metrics("prod", "web-5d8c6b9f7d-d3e4f", "98765432n", "210Mi"),
                        node_metrics("node-1", "800m", "3Gi"),
                    ],
                ]
                .concat(),
                target: target("prod", None, Some("web")),
                metrics: true,
                expect: vec![],
                absent: &["MemoryNearLimit", "NoResourceRequests", "OOMKilled", "NodeMemoryHigh"],
            },
            Case {
                name: "memory near the limit",
                objects: [
                    web_pods("512Mi"),
                    vec![
                        pod_metrics("prod", "web-5d8c6b9f7d-a1b2c", "120m", "482Mi"),
                        pod_metrics("prod", "web-5d8c6b9f7d-d3e4f", "110m", "300Mi"),
                    ],
                ]
                .concat(),
                target: target("prod", None, Some("web")),
                metrics: true,
                expect: vec![(
                    "MemoryNearLimit",
                    Severity::Warning,
                    &["482Mi", "512Mi", "94%", "web-5d8c6b9f7d-a1b2c"],
                )],
                absent: &["MemoryAtLimit"],
            },
            Case {
                name: "memory at the limit",
                objects: [web_pods("256Mi"), vec![pod_metrics("prod", "web-5d8c6b9f7d-a1b2c", "120m", "262144Ki")]]
                    .concat(),
                target: target("prod", Some("web-5d8c6b9f7d-a1b2c"), None),
                metrics: true,
                expect: vec![("MemoryAtLimit", Severity::Error, &["256Mi", "100%"])],
                absent: &[],
            },
            Case {
                name: "cpu throttled",
                objects: [
                    web_pods("512Mi"),
                    vec![
                        pod("batch-1")
                            .in_ns("prod")
                            .requests("100m", "64Mi")
                            .with(|p| p["spec"]["containers"][0]["resources"]["limits"]["cpu"] = json!("200m"))
                            .build(),
                    ],
                    vec![pod_metrics("prod", "batch-1", "199m", "40Mi")],
                ]
                .concat(),
                target: target("prod", None, None),
                metrics: true,
                expect: vec![("CPUNearLimit", Severity::Warning, &["199m", "200m", "throttled"])],
                absent: &[],
            },
            Case {
                name: "oom history without metrics",
                objects: vec![
                    deployment("prod", "api", 1, 0, 2),
                    replicaset("prod", "api", "7d9f8b6c5d", 2, "registry.example.com/api:1.0.0", 1, 0),
                    pod("api-7d9f8b6c5d-x2k4p")
                        .in_ns("prod")
                        .owned_by_rs("api-7d9f8b6c5d")
                        .memory_limit("512Mi")
                        .crashlooping(5)
                        .oom_killed()
                        .build(),
                    node("node-1", "2", "8Gi"),
                ],
                target: target("prod", None, Some("api")),
                metrics: false,
                expect: vec![("OOMKilled", Severity::Error, &["512Mi", "exit 137", "5 restarts"])],
                absent: &["MemoryNearLimit"],
            },
            Case {
                name: "container without requests",
                objects: vec![
                    pod("sidecar-free")
                        .in_ns("prod")
                        .with(|p| p["spec"]["containers"][0]["resources"] = json!({}))
                        .build(),
                    node("node-1", "2", "8Gi"),
                ],
                target: target("prod", None, None),
                metrics: false,
                expect: vec![
                    ("NoResourceRequests", Severity::Warning, &["no CPU or memory request"]),
                    ("NoMemoryLimit", Severity::Info, &["no memory limit"]),
                ],
                absent: &[],
            },
            Case {
                name: "an add-on requesting cpu only is a note",
                objects: vec![
                    pod("aws-node-x7k2p")
                        .in_ns("kube-system")
                        .with(|p| p["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "25m"}}))
                        .build(),
                    node("node-1", "2", "8Gi"),
                ],
                target: target("kube-system", None, None),
                metrics: false,
                expect: vec![("NoResourceRequests", Severity::Info, &["no memory request"])],
                absent: &[],
            },
            Case {
                name: "node memory high and overcommitted",
                objects: [
                    web_pods("6Gi"),
                    vec![
                        pod_metrics("prod", "web-5d8c6b9f7d-a1b2c", "120m", "3Gi"),
                        pod_metrics("prod", "web-5d8c6b9f7d-d3e4f", "120m", "3Gi"),
                        node_metrics("node-1", "700m", "7600Mi"),
                    ],
                ]
                .concat(),
                target: target("prod", None, None),
                metrics: true,
                expect: vec![
                    ("NodeMemoryHigh", Severity::Warning, &["node-1", "93%"]),
                    ("NodeMemoryOvercommitted", Severity::Info, &["150%"]),
                ],
                absent: &[],
            },
        ];
        for case in cases {
            let st = state(case.objects);
            let got = resource_usage(&st, &case.target).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(got.metrics.available, case.metrics, "{}: {:?}", case.name, got.metrics);
            for (reason, severity, texts) in &case.expect {
                let f = got
                    .findings
                    .iter()
                    .find(|f| f.reason == *reason)
                    .unwrap_or_else(|| panic!("{}: no {reason} in {:#?}", case.name, got.findings));
                assert_eq!(f.severity, *severity, "{}: {reason}", case.name);
                let text = format!("{} {}", f.message, f.evidence.join(" "));
                for t in *texts {
                    assert!(text.contains(t), "{}: {reason} lacks {t:?}: {text}", case.name);
                }
            }
            for reason in case.absent {
                assert!(
                    got.findings.iter().all(|f| f.reason != *reason),
                    "{}: unexpected {reason}: {:#?}",
                    case.name,
                    got.findings
                );
            }
            let loud = case.expect.iter().any(|(_, s, _)| *s > Severity::Info);
            assert_eq!(got.healthy, !loud, "{}: {:#?}", case.name, got.findings);
            let text = got.text();
            if case.metrics {
                assert!(text.contains("metrics.k8s.io, metrics-server"), "{}: {text}", case.name);
            } else {
                assert!(text.contains("does not serve the resource metrics API"), "{}: {text}", case.name);
                assert!(text.contains("n/a"), "{}: usage columns say n/a: {text}", case.name);
            }
        }
    }

    #[test]
    fn near_limit_on_a_deployment_proposes_a_raised_limit_not_a_restart() {
        let st =
            state([web_pods("512Mi"), vec![pod_metrics("prod", "web-5d8c6b9f7d-a1b2c", "120m", "482Mi")]].concat());
        let got = resource_usage(&st, &target("prod", None, Some("web"))).expect("usage");
        let f = got.findings.iter().find(|f| f.reason == "MemoryNearLimit").expect("near limit");
        assert_eq!((f.kind.as_str(), f.name.as_str()), ("Deployment", "web"));
        let typed: Vec<&Action> = f.actions.iter().filter(|a| a.tool.is_some()).collect();
        assert_eq!(typed.len(), 1, "{f:#?}");
        assert_eq!(
            typed[0].args.clone(),
            Some(json!({"namespace": "prod", "deployment": "web", "container": "app", "memory_limit": "1Gi"}))
        );
        let row = &got.containers[0];
        assert_eq!((row.pod.as_str(), row.memory_pct_of_limit), ("web-5d8c6b9f7d-a1b2c", Some(94)));
        assert_eq!(row.memory_pct_of_request, Some(188));
    }

    #[test]
    fn node_totals_count_every_pod_on_the_node() {
        let mut objects = web_pods("512Mi");
        objects.push(pod("other-ns-pod").in_ns("tools").requests("1", "4Gi").build());
        let st = state(objects);
        let got = resource_usage(&st, &target("prod", None, None)).expect("usage");
        assert_eq!(got.nodes.len(), 1);
        let n = &got.nodes[0];
        assert_eq!((n.pods, n.cpu_requested.as_str(), n.memory_requested.as_str()), (3, "1500m", "4.5Gi"));
        assert_eq!(n.memory_requested_pct, Some(56));
        assert_eq!(got.containers.len(), 2, "only the namespace's containers are rows");
    }

    #[test]
    fn oom_events_on_the_node_are_history() {
        let mut objects = web_pods("512Mi");
        let mut e = event(
            "default",
            "Node",
            "node-1",
            "Warning",
            "OOMKilling",
            "Memory cgroup out of memory: Killed process 4107 (java) total-vm:2807080kB, anon-rss:524288kB",
            1,
            1200,
        );
        e["involvedObject"]["namespace"] = Value::Null;
        objects.push(e);
        let got = resource_usage(&state(objects), &target("prod", None, Some("web"))).expect("usage");
        assert_eq!(got.oom_history.len(), 1, "{:#?}", got.oom_history);
        assert!(got.oom_history[0].detail.contains("Killed process 4107 (java)"));
        assert_eq!(got.oom_history[0].ago.as_deref(), Some("20m"));
    }

    #[test]
    fn unknown_targets_are_clear_errors() {
        let st = state(web_pods("512Mi"));
        let err = resource_usage(&st, &target("prod", Some("nope"), None)).expect_err("no pod");
        assert_eq!(err.to_string(), "pod prod/nope not found");
        let err = resource_usage(&st, &target("prod", None, Some("nope"))).expect_err("no deployment");
        assert_eq!(err.to_string(), "deployment prod/nope not found");
        let err = resource_usage(&st, &UsageTarget { pod: Some("x".into()), ..UsageTarget::default() })
            .expect_err("no namespace");
        assert!(err.to_string().contains("needs its namespace"), "{err}");
    }

    #[test]
    fn metrics_server_cpu_units() {
        assert_eq!(cpu_millis("1234567n"), Some(1.234567));
        assert_eq!(cpu_millis("250u"), Some(0.25));
        assert_eq!(cpu_millis("250m"), Some(250.0));
        assert_eq!(mem_text(482.0 * 1024.0 * 1024.0), "482Mi");
        assert_eq!(mem_text(1.5 * 1024.0 * 1024.0 * 1024.0), "1.5Gi");
    }

    fn sample(pod: &str, per_pod: bool, memory: Option<f64>) -> PodUsageSample {
        PodUsageSample {
            namespace: "prod".into(),
            pod: pod.into(),
            per_pod,
            cpu_pct_of_limit: None,
            memory_pct_of_limit: memory,
            at: NOW.parse().ok(),
        }
    }

    #[test]
    fn usage_from_outside_the_cluster() {
        let t = target("prod", None, Some("web"));
        let external = |samples: Vec<PodUsageSample>, error: Option<&str>| ExternalUsage {
            source: "Container Insights".into(),
            samples,
            error: error.map(str::to_string),
        };
        // By workload, with one pod's own figure preferred where there is one.
        let x =
            external(vec![sample("web", false, Some(50.0)), sample("web-5d8c6b9f7d-d3e4f", true, Some(97.0))], None);
        let r = resource_usage_with(&state(web_pods("512Mi")), &t, Some(&x)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.metrics.source, "container-insights");
        assert!(
            r.metrics.note.contains("for 2 of 2 running pods") && r.metrics.note.contains("average of its pods"),
            "{}",
            r.metrics.note
        );
        let usage: Vec<(&str, Option<&str>, Option<u32>)> =
            r.containers.iter().map(|c| (c.pod.as_str(), c.memory_usage.as_deref(), c.memory_pct_of_limit)).collect();
        assert_eq!(
            usage,
            [("web-5d8c6b9f7d-d3e4f", Some("497Mi"), Some(97)), ("web-5d8c6b9f7d-a1b2c", Some("256Mi"), Some(50))]
        );
        assert!(r.findings.iter().any(|f| f.reason == "MemoryNearLimit"), "{:?}", r.findings);

        // A source that failed, or that knows nothing of these pods: said plainly.
        let failed =
            external(Vec::new(), Some("access denied (the caller needs IAM permission cloudwatch:ListMetrics)"));
        let r = resource_usage_with(&state(web_pods("512Mi")), &t, Some(&failed)).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !r.metrics.available && r.metrics.note.contains("Container Insights could not be read: access denied"),
            "{}",
            r.metrics.note
        );
        let other = external(vec![sample("api", false, Some(99.0))], None);
        let r = resource_usage_with(&state(web_pods("512Mi")), &t, Some(&other)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!r.metrics.available && r.metrics.note.contains("has no figures for these pods"), "{}", r.metrics.note);
        assert!(r.containers.iter().all(|c| c.memory_usage.is_none()));

        // The cluster's own metrics API wins when it answers.
        let mut objects = web_pods("512Mi");
        objects.push(pod_metrics("prod", "web-5d8c6b9f7d-a1b2c", "120m", "200Mi"));
        let r = resource_usage_with(&state(objects), &t, Some(&x)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.metrics.source, "metrics.k8s.io");

        // A pod-level share says nothing about one of several containers.
        let mut objects = web_pods("512Mi");
        for o in &mut objects {
            if o["kind"] == "Pod" {
                let sidecar = json!({"name": "proxy", "image": "envoy:1.30"});
                if let Some(c) = o["spec"]["containers"].as_array_mut() {
                    c.push(sidecar);
                }
            }
        }
        let r = resource_usage_with(&state(objects), &t, Some(&x)).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.containers.iter().all(|c| c.memory_usage.is_none()), "{:?}", r.containers);
        assert!(!r.metrics.available);
    }
}
