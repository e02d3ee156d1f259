//! get_pods: the pods, and for each unhealthy one the reason in plain words.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod};
use serde::Serialize;

use super::{Args, MAX_ROWS, Render, table};
use crate::error::Result;
use crate::k8s::{self, age, decode_all, human_duration, pod_status};
use crate::kinds::Kind;
use crate::ports::{ClusterReader, Scope};

/// How a container last terminated.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Termination {
    pub container: String,
    pub reason: Option<String>,
    pub exit_code: i32,
    pub signal: Option<i32>,
    /// When it finished, as an age (`2m`).
    pub finished_ago: Option<String>,
}

/// One row of get_pods.
#[derive(Debug, Clone, Serialize)]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    pub phase: String,
    /// kubectl's STATUS column.
    pub status: String,
    /// Ready containers, `x/y`.
    pub ready: String,
    pub restarts: i32,
    pub node: Option<String>,
    pub age: String,
    pub healthy: bool,
    /// Why the pod is unhealthy, in one line.
    pub problem: Option<String>,
    pub last_termination: Option<Termination>,
}

/// The result of get_pods.
#[derive(Debug, Clone, Serialize)]
pub struct PodsResult {
    pub namespace: Option<String>,
    /// The part of a name asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub total: usize,
    pub unhealthy: usize,
    pub pods: Vec<PodRow>,
    /// Rows left out to stay within bounds.
    pub omitted: usize,
}

pub(super) async fn get_pods(reader: &dyn ClusterReader, args: &Args) -> Result<PodsResult> {
    let scope =
        Scope { namespace: args.namespace.clone(), label_selector: args.label_selector.clone(), field_selector: None };
    let mut pods: Vec<Pod> = decode_all(reader.list(Kind::Pod, &scope).await?)?;
    if let Some(part) = &args.name {
        pods.retain(|p| k8s::name(&p.metadata).contains(part.as_str()));
    }
    let now = reader.now();
    let mut rows: Vec<PodRow> = pods.iter().map(|p| row(p, now)).collect();
    let total = rows.len();
    let unhealthy = rows.iter().filter(|r| !r.healthy).count();
    if args.unhealthy_only {
        rows.retain(|r| !r.healthy);
    }
    // Unhealthy first, so a bound never hides a problem behind healthy rows.
    rows.sort_by(|a, b| a.healthy.cmp(&b.healthy).then(a.namespace.cmp(&b.namespace)).then(a.name.cmp(&b.name)));
    let omitted = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    Ok(PodsResult { namespace: args.namespace.clone(), name: args.name.clone(), total, unhealthy, pods: rows, omitted })
}

fn row(pod: &Pod, now: Timestamp) -> PodRow {
    let statuses = k8s::container_statuses(pod);
    let spec_count = pod.spec.as_ref().map_or(0, |s| s.containers.len());
    let ready = statuses.iter().filter(|c| c.ready).count();
    let phase = pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into());
    let status = pod_status(pod);
    let healthy = super::resolve::pod_healthy(pod);
    PodRow {
        namespace: k8s::namespace(&pod.metadata).to_string(),
        name: k8s::name(&pod.metadata).to_string(),
        phase,
        status,
        ready: format!("{ready}/{}", spec_count.max(statuses.len())),
        restarts: k8s::restarts(pod),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        age: age(pod.metadata.creation_timestamp.as_ref(), now),
        problem: if healthy { None } else { pod_problem(pod, now) },
        healthy,
        last_termination: last_termination(pod, now),
    }
}

fn last_termination(pod: &Pod, now: Timestamp) -> Option<Termination> {
    k8s::container_statuses(pod)
        .iter()
        .filter_map(|cs| {
            let t = cs.last_state.as_ref()?.terminated.as_ref()?;
            Some((
                t.finished_at.as_ref().map(|f| f.0),
                Termination {
                    container: cs.name.clone(),
                    reason: t.reason.clone(),
                    exit_code: t.exit_code,
                    signal: t.signal,
                    finished_ago: t.finished_at.as_ref().map(|f| age(Some(f), now)),
                },
            ))
        })
        .max_by_key(|(t, _)| *t)
        .map(|(_, t)| t)
}

fn container_spec<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers.iter().chain(spec.init_containers.iter().flatten()).find(|c| c.name == name)
}

fn limit_of(pod: &Pod, container: &str, resource: &str) -> Option<String> {
    container_spec(pod, container)?.resources.as_ref()?.limits.as_ref()?.get(resource).map(|q| q.0.clone())
}

/// Why a pod is unhealthy, in one line with the numbers that matter; `None` when nothing
/// explains it.
pub fn pod_problem(pod: &Pod, now: Timestamp) -> Option<String> {
    let status = pod.status.as_ref()?;
    let mut parts: Vec<String> = Vec::new();
    if let Some(t) = &pod.metadata.deletion_timestamp {
        let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("no node");
        parts.push(format!("terminating for {} on {node}", human_duration(k8s::seconds_since(t, now))));
    }
    if status.reason.as_deref() == Some("Evicted")
        || status.phase.as_deref() == Some("Failed") && status.reason.is_some()
    {
        parts.push(format!(
            "{}: {}",
            status.reason.as_deref().unwrap_or("Failed"),
            status.message.as_deref().unwrap_or("no message")
        ));
    }
    let inits = status.init_container_statuses.iter().flatten().map(|c| (c, true));
    let mains = status.container_statuses.iter().flatten().map(|c| (c, false));
    for (cs, init) in inits.chain(mains) {
        let which = if init { "init container" } else { "container" };
        let state = cs.state.as_ref();
        let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
        if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
            let reason = w.reason.as_deref().unwrap_or("Waiting");
            if reason == "PodInitializing" || reason == "ContainerCreating" && w.message.is_none() {
                continue;
            }
            let mut p = format!("{which} {} {reason}", cs.name);
            if cs.restart_count > 0 {
                p.push_str(&format!(" (restarted {} times)", cs.restart_count));
            }
            if let Some(t) = last {
                p.push_str(&format!(
                    "; last terminated {} with exit code {}",
                    t.reason.as_deref().unwrap_or("with no reason"),
                    t.exit_code
                ));
                if let Some(f) = &t.finished_at {
                    p.push_str(&format!(" {} ago", age(Some(f), now)));
                }
                if t.reason.as_deref() == Some("OOMKilled") {
                    match limit_of(pod, &cs.name, "memory") {
                        Some(l) => p.push_str(&format!("; memory limit {l}")),
                        None => p.push_str("; no memory limit set (node memory exhausted)"),
                    }
                }
            }
            if let Some(m) = w.message.as_deref().filter(|m| !m.is_empty() && reason != "CrashLoopBackOff") {
                p.push_str(&format!(": {}", first_line(m)));
            }
            parts.push(p);
        } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()).filter(|t| t.exit_code != 0) {
            let mut p = format!(
                "{which} {} terminated {} with exit code {}",
                cs.name,
                t.reason.as_deref().unwrap_or("with no reason"),
                t.exit_code
            );
            if let Some(m) = t.message.as_deref().filter(|m| !m.is_empty()) {
                p.push_str(&format!(": {}", first_line(m)));
            }
            parts.push(p);
        } else if !init && state.is_some_and(|s| s.running.is_some()) && !cs.ready {
            let mut p = format!("container {} running but not ready", cs.name);
            if cs.restart_count > 0 {
                p.push_str(&format!(" (restarted {} times", cs.restart_count));
                if let Some(t) = last {
                    p.push_str(&format!(
                        "; last terminated {} with exit code {}",
                        t.reason.as_deref().unwrap_or("with no reason"),
                        t.exit_code
                    ));
                }
                p.push(')');
            }
            parts.push(p);
        }
    }
    if status.phase.as_deref() == Some("Pending") {
        if let Some(c) = status.conditions.iter().flatten().find(|c| c.type_ == "PodScheduled" && c.status == "False") {
            parts.push(format!(
                "unschedulable: {}",
                c.message.as_deref().or(c.reason.as_deref()).unwrap_or("not scheduled")
            ));
        } else if parts.is_empty() && pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_none() {
            parts.push("pending and not yet scheduled".into());
        }
    }
    if parts.is_empty() {
        if status.phase.as_deref() == Some("Running") && !k8s::is_ready(pod) {
            parts.push("running but not ready".into());
        } else if status.phase.as_deref() == Some("Failed") {
            parts.push(format!("failed: {}", status.message.as_deref().unwrap_or("no message")));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The domain every name shares (from its first dot), when it is long enough to be worth
/// saying once: `.eu-west-1.compute.internal`; else empty.
fn common_domain<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut common: Option<&str> = None;
    for n in names {
        let Some(dot) = n.find('.') else { return String::new() };
        let domain = &n[dot..];
        match common {
            None => common = Some(domain),
            Some(c) if c == domain => {}
            Some(_) => return String::new(),
        }
    }
    common.filter(|c| c.len() >= 12).map(str::to_string).unwrap_or_default()
}

impl Render for PodsResult {
    fn text(&self) -> String {
        if self.pods.is_empty() {
            let named = self.name.as_ref().map(|n| format!(" whose name contains {n}")).unwrap_or_default();
            return match &self.namespace {
                Some(ns) => format!("No pods{named} in namespace {ns}.\n"),
                None => format!("No pods{named} found.\n"),
            };
        }
        // EKS node names share a long domain (`.eu-west-1.compute.internal`): said once.
        let domain = common_domain(self.pods.iter().filter_map(|p| p.node.as_deref()));
        let rows: Vec<Vec<String>> = self
            .pods
            .iter()
            .map(|p| {
                let restarts = match &p.last_termination {
                    Some(t) if p.restarts > 0 => match &t.finished_ago {
                        Some(a) => format!("{} ({a} ago)", p.restarts),
                        None => p.restarts.to_string(),
                    },
                    _ => p.restarts.to_string(),
                };
                vec![
                    p.namespace.clone(),
                    p.name.clone(),
                    p.ready.clone(),
                    p.status.clone(),
                    restarts,
                    p.age.clone(),
                    p.node.as_deref().map_or_else(
                        || "<none>".into(),
                        |n| n.strip_suffix(domain.as_str()).filter(|s| !s.is_empty()).unwrap_or(n).to_string(),
                    ),
                ]
            })
            .collect();
        let mut out = format!("{} pods, {} unhealthy", self.total, self.unhealthy);
        if !domain.is_empty() {
            out.push_str(&format!(" (node names end in {domain})"));
        }
        out.push('\n');
        out.push_str(&table(&["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"], &rows));
        let problems: Vec<&PodRow> = self.pods.iter().filter(|p| p.problem.is_some()).collect();
        if !problems.is_empty() {
            out.push_str("\nUnhealthy:\n");
            for p in problems {
                out.push_str(&format!("- {}/{}: {}\n", p.namespace, p.name, p.problem.as_deref().unwrap_or_default()));
            }
        }
        if self.omitted > 0 {
            out.push_str(&format!("({} more pods omitted)\n", self.omitted));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::common_domain;

    #[test]
    fn a_shared_node_domain_is_said_once() {
        let eks = ["ip-10-0-1-2.eu-west-1.compute.internal", "ip-10-0-3-4.eu-west-1.compute.internal"];
        assert_eq!(common_domain(eks.into_iter()), ".eu-west-1.compute.internal");
        assert_eq!(
            common_domain(["ip-1.eu-west-1.compute.internal", "ip-2.us-east-1.compute.internal"].into_iter()),
            ""
        );
        assert_eq!(common_domain(["kind-worker", "kind-worker2"].into_iter()), "", "no domain");
        assert_eq!(common_domain(["a.b.c", "d.b.c"].into_iter()), "", "too short to be worth it");
    }
}
