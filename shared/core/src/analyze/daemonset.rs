//! DaemonSet analyzer: DaemonSets not ready on every node they should run on (linked to a
//! failing pod and its node, with what a missing node agent such as aws-node or kube-proxy
//! breaks there), pods the controller cannot create, DaemonSets that run on no node because
//! their nodeSelector matches none or every node carries a taint they do not tolerate, and
//! pods running on nodes they no longer belong on (misscheduled, info).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};

use super::deployment::{GRACE_SECS, failing_pod, is_failing, is_unschedulable, pod_state_text, unready_secs};
use super::replicaset::create_failure;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s;
use crate::kinds::Kind;
use crate::quantity::{format_bytes, format_millicores, parse_bytes, parse_millicores};

/// Taints the DaemonSet controller tolerates on its own.
const AUTO_TOLERATED: &[&str] = &[
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
    "node.kubernetes.io/disk-pressure",
    "node.kubernetes.io/memory-pressure",
    "node.kubernetes.io/pid-pressure",
    "node.kubernetes.io/unschedulable",
    "node.kubernetes.io/network-unavailable",
];

/// Runs the daemonset analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    state.daemonsets.iter().filter_map(|d| analyze_daemonset(state, d)).collect()
}

/// What a well-known node agent's absence breaks on its node.
fn agent_impact(name: &str) -> Option<&'static str> {
    match name {
        "aws-node" => Some("without the VPC CNI, new pods there get no IP address"),
        "kube-proxy" => Some("without kube-proxy, Service traffic from that node is not routed"),
        "ebs-csi-node" => Some("without the EBS CSI node plugin, EBS volumes cannot be mounted there"),
        "efs-csi-node" => Some("without the EFS CSI node plugin, EFS volumes cannot be mounted there"),
        "eks-pod-identity-agent" => {
            Some("without the Pod Identity agent, pods there get no AWS credentials from EKS Pod Identity")
        }
        _ => None,
    }
}

fn analyze_daemonset(state: &ClusterState, ds: &DaemonSet) -> Option<Finding> {
    let ns = k8s::namespace(&ds.metadata);
    let name = k8s::name(&ds.metadata);
    let status = ds.status.as_ref()?;
    let desired = status.desired_number_scheduled;
    let ready = status.number_ready;
    let unavailable = status.number_unavailable.unwrap_or((desired - ready).max(0));
    if desired == 0 {
        return no_nodes(state, ds);
    }
    if (ready < desired || unavailable > 0)
        && let Some(f) = unavailable_finding(state, ds, desired, ready, unavailable)
    {
        return Some(f);
    }
    if status.number_misscheduled > 0 {
        let n = status.number_misscheduled;
        return Some(
            Finding::new(
                ObjectRef::new("DaemonSet", ns, name),
                Severity::Info,
                "DaemonSetMisscheduled",
                format!("daemonset {ns}/{name} runs {n} pods on nodes that no longer match its nodeSelector, affinity or tolerations"),
            )
            .evidence(format!("status.numberMisscheduled {n}"))
            .action(Action::text("Check the node labels and taints that changed; the misscheduled pods are removed when the node no longer needs them or the DaemonSet is updated")),
        );
    }
    None
}

fn unavailable_finding(
    state: &ClusterState,
    ds: &DaemonSet,
    desired: i32,
    ready: i32,
    unavailable: i32,
) -> Option<Finding> {
    let ns = k8s::namespace(&ds.metadata);
    let name = k8s::name(&ds.metadata);
    let mut failing: Vec<&Pod> = state.pods_of("DaemonSet", ns, name).into_iter().filter(|p| is_failing(p)).collect();
    failing.sort_by(|a, b| k8s::name(&a.metadata).cmp(k8s::name(&b.metadata)));
    let picked = failing_pod(state, &failing);
    if let Some((p, None)) = &picked
        && unready_secs(p, state.now) < GRACE_SECS
    {
        return None;
    }
    let failure = if picked.is_none() { create_failure(state, "DaemonSet", ns, name, None) } else { None };
    if picked.is_none() && failure.is_none() {
        // Pods not created yet with nothing to explain it: a node that just joined.
        return None;
    }
    let severity = if ready == 0 { Severity::Critical } else { Severity::Error };
    if let Some((p, _)) = picked.as_ref().filter(|(p, _)| is_unschedulable(p)) {
        return Some(unschedulable_finding(state, ds, p, severity, (desired, ready, unavailable)));
    }
    let mut message =
        format!("daemonset {ns}/{name} is ready on {ready} of {desired} nodes ({unavailable} unavailable)");
    let mut reason = "DaemonSetUnavailable";
    if let Some((p, _)) = &picked {
        let node = p.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("no node yet");
        message.push_str(&format!("; pod {} on node {node} is {}", k8s::name(&p.metadata), pod_state_text(p)));
        if failing.len() > 1 {
            message.push_str(&format!(" ({} pods failing)", failing.len()));
        }
        if let Some(impact) = agent_impact(name) {
            message.push_str(&format!("; {impact}"));
        }
    } else if let Some((cf, _)) = &failure {
        reason = cf.reason;
        message.push_str(&format!("; it cannot create pods: {}", cf.why));
    }
    let status = ds.status.as_ref();
    let mut f = Finding::new(ObjectRef::new("DaemonSet", ns, name), severity, reason, message).evidence(format!(
        "status: desiredNumberScheduled {desired}, numberReady {ready}, numberUnavailable {unavailable}, updatedNumberScheduled {}",
        status.and_then(|s| s.updated_number_scheduled).unwrap_or(0)
    ));
    match (picked, failure) {
        (Some((p, pf)), _) => {
            let pname = k8s::name(&p.metadata).to_string();
            if let Some(pf) = pf {
                f.evidence.push(format!("pod {pname}: {}", pf.message));
            }
            for other in failing.iter().filter(|o| k8s::name(&o.metadata) != pname).take(3) {
                f.evidence.push(format!(
                    "pod {} on node {} is {}",
                    k8s::name(&other.metadata),
                    other.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("?"),
                    pod_state_text(other)
                ));
            }
            f = f
                .caused_by(ObjectRef::new("Pod", ns, &pname))
                .action(Action::text(format!("Fix why pod {pname} is not ready (see its finding)")));
            if !is_unschedulable(p) {
                f = f.warn(format!("Restarting the DaemonSet will not help: pod {pname} fails on its own; fix the cause in its finding first"));
            }
        }
        (None, Some((cf, ev))) => {
            f.evidence.extend(ev);
            f.cause = cf.cause.clone();
            f = f.action(Action::text(cf.action.clone()));
            if let Some(w) = cf.warning {
                f = f.warn(w);
            }
        }
        (None, None) => {}
    }
    Some(f)
}

/// The node a DaemonSet pod is bound to, or pinned to by the controller's node affinity.
fn target_node(p: &Pod) -> Option<String> {
    let spec = p.spec.as_ref()?;
    if let Some(n) = &spec.node_name {
        return Some(n.clone());
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|f| f.key == "metadata.name")
        .and_then(|f| f.values.as_ref()?.first().cloned())
}

/// Total cpu (millicores) and memory (bytes) requests of a pod's containers.
fn requests(p: &Pod) -> (f64, f64) {
    let mut cpu = 0.0;
    let mut mem = 0.0;
    for c in p.spec.iter().flat_map(|s| s.containers.iter()) {
        if let Some(r) = c.resources.as_ref().and_then(|r| r.requests.as_ref()) {
            cpu += r.get("cpu").and_then(|q| parse_millicores(&q.0)).unwrap_or(0.0);
            mem += r.get("memory").and_then(|q| parse_bytes(&q.0)).unwrap_or(0.0);
        }
    }
    (cpu, mem)
}

/// A DaemonSet pod the scheduler cannot place on its node: the DaemonSet is the root (its
/// pods can only go to that node), with the node's room and the pod's requests.
fn unschedulable_finding(
    state: &ClusterState,
    ds: &DaemonSet,
    p: &Pod,
    severity: Severity,
    counts: (i32, i32, i32),
) -> Finding {
    let (desired, ready, unavailable) = counts;
    let ns = k8s::namespace(&ds.metadata);
    let name = k8s::name(&ds.metadata);
    let pname = k8s::name(&p.metadata);
    let node = target_node(p).unwrap_or_else(|| "its node".into());
    let sched = p
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled" && c.status == "False"))
        .and_then(|c| c.message.clone())
        .unwrap_or_default();
    let (cpu, mem) = requests(p);
    let req = format!("cpu {}, memory {}", format_millicores(cpu), format_bytes(mem));
    let lower = sched.to_ascii_lowercase();
    let resource = if lower.contains("insufficient cpu") && lower.contains("insufficient memory") {
        Some("cpu and memory")
    } else if lower.contains("insufficient cpu") {
        Some("cpu")
    } else if lower.contains("insufficient memory") {
        Some("memory")
    } else {
        None
    };
    let why = match resource {
        Some(r) => format!("Insufficient {r}: the node has no room left for its requests ({req})"),
        None => sched.split(". ").next().unwrap_or(&sched).trim().to_string(),
    };
    let mut f = Finding::new(
        ObjectRef::new("DaemonSet", ns, name),
        severity,
        "DaemonSetUnavailable",
        format!("daemonset {ns}/{name} is ready on {ready} of {desired} nodes ({unavailable} unavailable); its pod {pname} cannot be scheduled on node {node}: {why}"),
    )
    .evidence(format!("pod {pname}: PodScheduled=False: {}", sched.trim()))
    .evidence(format!("pod {pname} requests {req}"));
    if let Some(n) = state.nodes.iter().find(|n| k8s::name(&n.metadata) == node) {
        let alloc = n.status.as_ref().and_then(|s| s.allocatable.as_ref());
        let alloc_cpu = alloc.and_then(|a| a.get("cpu")).and_then(|q| parse_millicores(&q.0)).unwrap_or(0.0);
        let alloc_mem = alloc.and_then(|a| a.get("memory")).and_then(|q| parse_bytes(&q.0)).unwrap_or(0.0);
        let (used_cpu, used_mem) = state
            .pods
            .iter()
            .filter(|o| o.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.as_str()))
            .filter(|o| !matches!(o.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed")))
            .map(requests)
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        f.evidence.push(format!(
            "node {node}: allocatable cpu {}, memory {}; requested by its pods cpu {}, memory {}",
            format_millicores(alloc_cpu),
            format_bytes(alloc_mem),
            format_millicores(used_cpu),
            format_bytes(used_mem)
        ));
    }
    f.absorbs.push(ObjectRef::new("Pod", ns, pname));
    let priority = p.spec.as_ref().and_then(|s| s.priority_class_name.clone());
    let mut f = f.action(Action::text(match resource {
        Some(r) => format!("Free {r} on node {node} (move or shrink the pods there) or lower the {r} request of daemonset {ns}/{name} ({req})"),
        None => format!("Make node {node} able to take the pod: fix what the scheduler names, or the DaemonSet's tolerations and affinity"),
    }));
    if priority.is_none() {
        f = f.action(Action::text(format!(
            "Give daemonset {ns}/{name} a priorityClassName such as system-node-critical so its pod can preempt ordinary pods on a full node"
        )));
    }
    f.warn(format!(
        "Restarting the DaemonSet will not help: node {node} has no room for the pod until something there changes"
    ))
}

/// A DaemonSet that should run somewhere but matches no node.
fn no_nodes(state: &ClusterState, ds: &DaemonSet) -> Option<Finding> {
    if !state.has_read(Kind::Node) || state.nodes.is_empty() || ds.status.as_ref()?.observed_generation.is_none() {
        return None;
    }
    let ns = k8s::namespace(&ds.metadata);
    let name = k8s::name(&ds.metadata);
    let spec = ds.spec.template.spec.as_ref();
    let empty = BTreeMap::new();
    let selector = spec.and_then(|s| s.node_selector.as_ref()).unwrap_or(&empty);
    let tolerations: &[Toleration] = spec.and_then(|s| s.tolerations.as_deref()).unwrap_or_default();
    let n = state.nodes.len();
    let subject = ObjectRef::new("DaemonSet", ns, name);
    if !selector.is_empty() {
        let matching: Vec<&Node> =
            state.nodes.iter().filter(|node| k8s::selector_matches(selector, node.metadata.labels.as_ref())).collect();
        if matching.is_empty() {
            let sel = k8s::labels_string(selector);
            let mut f = Finding::new(
                subject,
                Severity::Warning,
                "DaemonSetNoNodes",
                format!("daemonset {ns}/{name} runs on no node: its nodeSelector {sel} matches none of the {n} nodes"),
            )
            .evidence("status.desiredNumberScheduled 0")
            .evidence(format!("nodeSelector {sel}"));
            for key in selector.keys() {
                let mut values: BTreeMap<&str, usize> = BTreeMap::new();
                for node in &state.nodes {
                    if let Some(v) = node.metadata.labels.as_ref().and_then(|l| l.get(key)) {
                        *values.entry(v.as_str()).or_default() += 1;
                    }
                }
                let seen = if values.is_empty() {
                    "no node has the label".to_string()
                } else {
                    values.iter().map(|(v, c)| format!("{key}={v} on {c}")).collect::<Vec<_>>().join(", ")
                };
                f.evidence.push(format!("node label {key}: {seen}"));
            }
            return Some(f.action(Action::text(format!(
                "Fix the nodeSelector {sel} of daemonset {ns}/{name}, or label the nodes that should run it"
            ))));
        }
        return untolerated(subject, &matching, tolerations, ns, name);
    }
    let all: Vec<&Node> = state.nodes.iter().collect();
    untolerated(subject, &all, tolerations, ns, name)
}

/// A finding when every node in `nodes` carries a NoSchedule/NoExecute taint the pods do not tolerate.
fn untolerated(
    subject: ObjectRef,
    nodes: &[&Node],
    tolerations: &[Toleration],
    ns: &str,
    name: &str,
) -> Option<Finding> {
    let blocking = |node: &Node| -> Option<Taint> {
        node.spec
            .as_ref()?
            .taints
            .as_ref()?
            .iter()
            .find(|t| {
                t.effect != "PreferNoSchedule"
                    && !AUTO_TOLERATED.contains(&t.key.as_str())
                    && !tolerations.iter().any(|tol| tolerates(tol, t))
            })
            .cloned()
    };
    let taints: Vec<Taint> = nodes.iter().map(|n| blocking(n)).collect::<Option<Vec<_>>>()?;
    let first = taints.first()?;
    let taint = format!("{}={}:{}", first.key, first.value.as_deref().unwrap_or(""), first.effect);
    Some(
        Finding::new(
            subject,
            Severity::Warning,
            "DaemonSetNoNodes",
            format!("daemonset {ns}/{name} runs on no node: every one of the {} nodes it selects carries a taint it does not tolerate ({taint})", nodes.len()),
        )
        .evidence("status.desiredNumberScheduled 0")
        .evidence(format!("taint {taint} on node {}", nodes.first().map_or("", |n| k8s::name(&n.metadata))))
        .action(Action::text(format!("Add a toleration for {taint} to daemonset {ns}/{name} if it must run on those nodes"))),
    )
}

fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    let effect_ok = tol.effect.as_deref().is_none_or(|e| e.is_empty() || e == taint.effect);
    let key_ok = match tol.key.as_deref() {
        None | Some("") => tol.operator.as_deref() == Some("Exists"),
        Some(k) => k == taint.key,
    };
    let value_ok = tol.operator.as_deref() == Some("Exists")
        || tol.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("");
    effect_ok && key_ok && value_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use serde_json::{Value, json};

    struct Case {
        name: &'static str,
        objects: Vec<Value>,
        /// (reason, severity, texts the message must carry); None = no finding.
        expect: Option<(&'static str, Severity, &'static [&'static str])>,
    }

    fn agent(node: &str, suffix: &str) -> PodBuilder {
        pod(&format!("aws-node-{suffix}")).in_ns("kube-system").owned_by("DaemonSet", "aws-node").on_node(node)
    }

    fn nodes() -> Vec<Value> {
        vec![node("ip-10-0-1-10", "2", "7Gi"), node("ip-10-0-2-20", "2", "7Gi"), node("ip-10-0-3-30", "2", "7Gi")]
    }

    #[test]
    fn daemonset_cases() {
        let cases = vec![
            Case {
                name: "healthy daemonset",
                objects: [nodes(), vec![daemonset("kube-system", "aws-node", 3, 3), agent("ip-10-0-1-10", "a1b2c").build()]].concat(),
                expect: None,
            },
            Case {
                name: "gpu plugin on a selector a node matches is healthy",
                objects: [nodes(), vec![workload_node_selector(daemonset("kube-system", "nvidia", 1, 1), &[("kubernetes.io/hostname", "ip-10-0-1-10")])]].concat(),
                expect: None,
            },
            Case {
                name: "one node's agent crash loops",
                objects: [
                    nodes(),
                    vec![
                        daemonset("kube-system", "aws-node", 3, 2),
                        agent("ip-10-0-1-10", "a1b2c").build(),
                        agent("ip-10-0-2-20", "d3e4f").build(),
                        agent("ip-10-0-3-30", "g5h6j").crashlooping(9).build(),
                    ],
                ]
                .concat(),
                expect: Some(("DaemonSetUnavailable", Severity::Error, &[
                    "ready on 2 of 3 nodes (1 unavailable)",
                    "pod aws-node-g5h6j on node ip-10-0-3-30 is CrashLoopBackOff",
                    "new pods there get no IP address",
                ])),
            },
            Case {
                name: "new pod does not fit on a full node",
                objects: vec![
                    node("ip-10-0-3-30", "1930m", "7Gi"),
                    {
                        let mut d = daemonset("logging", "fluent-bit", 3, 2);
                        d["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "500m", "memory": "256Mi"}});
                        d
                    },
                    pod("fluent-bit-qfdqx")
                        .in_ns("logging")
                        .owned_by("DaemonSet", "fluent-bit")
                        .requests("500m", "256Mi")
                        .unschedulable("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].")
                        .with(|p| {
                            p["spec"]["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["ip-10-0-3-30"]}]}]}}});
                        })
                        .build(),
                    pod("busy").in_ns("prod").on_node("ip-10-0-3-30").requests("1600m", "1Gi").build(),
                ],
                expect: Some(("DaemonSetUnavailable", Severity::Error, &[
                    "ready on 2 of 3 nodes",
                    "its pod fluent-bit-qfdqx cannot be scheduled on node ip-10-0-3-30: Insufficient cpu",
                    "(cpu 500m, memory 256Mi)",
                ])),
            },
            Case {
                name: "pod rolling right now is not a problem",
                objects: vec![
                    daemonset("logging", "fluent-bit", 3, 2),
                    pod("fluent-bit-x1y2z").in_ns("logging").owned_by("DaemonSet", "fluent-bit").unready().with(|p| {
                        p["status"]["conditions"][3]["lastTransitionTime"] = json!(ago(15));
                    }).build(),
                ],
                expect: None,
            },
            Case {
                name: "no agent ready anywhere is critical",
                objects: vec![
                    daemonset("logging", "fluent-bit", 2, 0),
                    pod("fluent-bit-x1y2z").in_ns("logging").owned_by("DaemonSet", "fluent-bit").waiting("ImagePullBackOff", "Back-off").build(),
                    pod("fluent-bit-q8w9e").in_ns("logging").owned_by("DaemonSet", "fluent-bit").waiting("ImagePullBackOff", "Back-off").build(),
                ],
                expect: Some(("DaemonSetUnavailable", Severity::Critical, &["ready on 0 of 2 nodes", "ImagePullBackOff", "(2 pods failing)"])),
            },
            Case {
                name: "nodeSelector matches no node",
                objects: [nodes(), vec![workload_node_selector(daemonset("monitoring", "node-exporter", 0, 0), &[("kubernetes.io/os", "linx")])]].concat(),
                expect: Some(("DaemonSetNoNodes", Severity::Warning, &["runs on no node", "nodeSelector kubernetes.io/os=linx", "none of the 3 nodes"])),
            },
            Case {
                name: "every node tainted",
                objects: vec![
                    {
                        let mut n = node("ip-10-0-1-10", "2", "7Gi");
                        n["spec"]["taints"] = json!([{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]);
                        n
                    },
                    daemonset("monitoring", "node-exporter", 0, 0),
                ],
                expect: Some(("DaemonSetNoNodes", Severity::Warning, &["taint it does not tolerate (dedicated=batch:NoSchedule)"])),
            },
            Case {
                name: "tolerated taint is fine",
                objects: vec![
                    {
                        let mut n = node("ip-10-0-1-10", "2", "7Gi");
                        n["spec"]["taints"] = json!([{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]);
                        n
                    },
                    {
                        let mut d = daemonset("monitoring", "node-exporter", 1, 1);
                        d["spec"]["template"]["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
                        d
                    },
                ],
                expect: None,
            },
            Case {
                name: "misscheduled pods are info",
                objects: vec![{
                    let mut d = daemonset("monitoring", "node-exporter", 3, 3);
                    d["status"]["numberMisscheduled"] = json!(1);
                    d
                }],
                expect: Some(("DaemonSetMisscheduled", Severity::Info, &["runs 1 pods on nodes that no longer match"])),
            },
        ];
        for case in cases {
            let findings = analyze(&state(case.objects));
            match case.expect {
                None => assert!(findings.is_empty(), "{}: expected nothing, got {findings:#?}", case.name),
                Some((reason, sev, texts)) => {
                    assert_eq!(findings.len(), 1, "{}: {findings:#?}", case.name);
                    let f = &findings[0];
                    assert_eq!(f.reason, reason, "{}: {}", case.name, f.message);
                    assert_eq!(f.severity, sev, "{}: {}", case.name, f.message);
                    for t in texts {
                        assert!(f.message.contains(t), "{}: message lacks {t:?}: {}", case.name, f.message);
                    }
                }
            }
        }
    }

    #[test]
    fn failing_agent_is_the_cause() {
        let objs = vec![
            daemonset("kube-system", "aws-node", 2, 1),
            agent("ip-10-0-1-10", "a1b2c").build(),
            agent("ip-10-0-2-20", "d3e4f").crashlooping(3).build(),
        ];
        let f = analyze(&state(objs)).remove(0);
        assert_eq!(f.cause, Some(ObjectRef::new("Pod", "kube-system", "aws-node-d3e4f")), "{f:#?}");
        assert!(f.warnings.iter().any(|w| w.contains("Restarting the DaemonSet will not help")), "{f:#?}");
    }
}
