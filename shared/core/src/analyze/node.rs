//! Node analyzer: nodes that are NotReady (with how long, the kubelet's message, the EC2
//! instance id and the nodegroup), under memory, disk or PID pressure (with the pods evicted
//! from them), without network, or cordoned with pods still on them.
//!
//! A NotReady node absorbs the pods that went not-ready with it, and the pod analyzer links
//! evicted and stuck-terminating pods to their node, so those pods group under the node's
//! finding — except a pod that caused the pressure itself (the kubelet names it as the largest
//! consumer) and a StatefulSet pod stuck on a dead node, which are reported first with the node
//! in their chain. Pressure findings use the condition as reason: `DiskPressure`,
//! `MemoryPressure`, `PIDPressure`.

use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod};

use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s::{self, human_duration};
use crate::quantity::parse_bytes;

/// A node younger than this that is not Ready yet is still joining the cluster.
const JOINING_SECS: i64 = 300;
/// A node cordoned for longer than this with pods still on it is a warning (else info).
const LONG_CORDON_SECS: i64 = 3600;
/// A pod that became not-ready up to this long before its node did is still the node's symptom.
const ABSORB_SLACK_SECS: i64 = 60;
/// Taints that mark a node being removed by an autoscaler.
const REMOVAL_TAINTS: &[&str] =
    &["karpenter.sh/disrupted", "karpenter.sh/disruption", "ToBeDeletedByClusterAutoscaler"];

/// Runs the node analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    let total = state.nodes.len();
    let not_ready = state.nodes.iter().filter(|n| !is_ready(n)).count();
    let mut out = Vec::new();
    for node in &state.nodes {
        let ctx = Ctx { state, node, name: k8s::name(&node.metadata), total, not_ready };
        if !is_ready(node) {
            out.extend(ctx.not_ready());
            continue;
        }
        out.extend(ctx.pressure());
        out.extend(ctx.network());
        out.extend(ctx.cordoned());
    }
    out
}

fn condition<'a>(node: &'a Node, ty: &str) -> Option<&'a NodeCondition> {
    node.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == ty)
}

/// Ready=True; a node without a Ready condition is taken as ready (nothing to go on).
fn is_ready(node: &Node) -> bool {
    condition(node, "Ready").is_none_or(|c| c.status == "True")
}

/// `i-0abc…` from `aws:///eu-west-1a/i-0abc…`.
fn instance_id(node: &Node) -> Option<&str> {
    let id = node.spec.as_ref()?.provider_id.as_deref()?;
    id.rsplit('/').next().filter(|s| s.starts_with("i-"))
}

/// The managed nodegroup, Karpenter NodePool or eksctl nodegroup the node belongs to.
fn nodegroup(node: &Node) -> Option<String> {
    let labels = node.metadata.labels.as_ref()?;
    if let Some(g) = labels.get("eks.amazonaws.com/nodegroup") {
        return Some(format!("nodegroup {g}"));
    }
    if let Some(p) = labels.get("karpenter.sh/nodepool") {
        return Some(format!("Karpenter NodePool {p}"));
    }
    labels.get("alpha.eksctl.io/nodegroup-name").map(|g| format!("nodegroup {g}"))
}

struct Ctx<'a> {
    state: &'a ClusterState,
    node: &'a Node,
    name: &'a str,
    total: usize,
    not_ready: usize,
}

impl Ctx<'_> {
    fn subject(&self) -> ObjectRef {
        ObjectRef::new("Node", "", self.name)
    }

    /// `node X (i-0abc, nodegroup general)`.
    fn node_ref(&self) -> String {
        let parts: Vec<String> =
            instance_id(self.node).map(str::to_string).into_iter().chain(nodegroup(self.node)).collect();
        if parts.is_empty() {
            format!("node {}", self.name)
        } else {
            format!("node {} ({})", self.name, parts.join(", "))
        }
    }

    /// Pods bound to this node that are not finished.
    fn pods(&self) -> Vec<&Pod> {
        self.state
            .pods
            .iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(self.name))
            .filter(|p| {
                !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"))
            })
            .collect()
    }

    fn age(&self) -> i64 {
        self.node.metadata.creation_timestamp.as_ref().map_or(i64::MAX, |t| k8s::seconds_since(t, self.state.now))
    }

    fn since(&self, c: &NodeCondition) -> Option<i64> {
        c.last_transition_time.as_ref().map(|t| k8s::seconds_since(t, self.state.now))
    }

    fn not_ready(&self) -> Option<Finding> {
        let ready = condition(self.node, "Ready")?;
        let age = self.age();
        let since = self.since(ready);
        let how_long = since.map(|s| format!(" for {}", human_duration(s))).unwrap_or_default();
        let state = if ready.status == "Unknown" {
            "NotReady (status Unknown: the kubelet stopped reporting)"
        } else {
            "NotReady"
        };
        let why = ready.message.as_deref().or(ready.reason.as_deref()).unwrap_or("no message").trim();
        let pods = self.pods();
        // A third of the capacity gone (one node of three) is an outage, not a blip.
        let wide = self.not_ready * 3 >= self.total;
        let removing = self.node.metadata.deletion_timestamp.is_some()
            || self
                .node
                .spec
                .iter()
                .flat_map(|s| s.taints.iter().flatten())
                .any(|t| REMOVAL_TAINTS.contains(&t.key.as_str()));
        let severity = if age < JOINING_SECS || removing {
            Severity::Info
        } else if wide {
            Severity::Critical
        } else {
            Severity::Error
        };
        let scope = if self.not_ready > 1 {
            format!("; {} of {} nodes are NotReady", self.not_ready, self.total)
        } else {
            String::new()
        };
        let mut f = Finding::new(
            self.subject(),
            severity,
            "NodeNotReady",
            format!(
                "{} has been {state}{how_long}: {why}; {} pod{} run on it{scope}",
                self.node_ref(),
                pods.len(),
                if pods.len() == 1 { "" } else { "s" }
            ),
        )
        .evidence(format!(
            "condition Ready={} reason {} since {}: {why}",
            ready.status,
            ready.reason.as_deref().unwrap_or("-"),
            since.map_or_else(|| "?".into(), |s| format!("{} ago", human_duration(s)))
        ));
        if let Some(hb) = ready.last_heartbeat_time.as_ref() {
            f.evidence.push(format!("last heartbeat {} ago", human_duration(k8s::seconds_since(hb, self.state.now))));
        }
        for c in self
            .node
            .status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .filter(|c| c.type_ != "Ready" && c.status == "True")
        {
            f.evidence.push(format!("condition {}=True: {}", c.type_, c.message.as_deref().unwrap_or("")));
        }
        let taints: Vec<String> = self
            .node
            .spec
            .iter()
            .flat_map(|s| s.taints.iter().flatten())
            .map(|t| format!("{}:{}", t.key, t.effect))
            .collect();
        if !taints.is_empty() {
            f.evidence.push(format!("taints: {}", taints.join(", ")));
        }
        if age < JOINING_SECS {
            f.message = format!("{} joined {} ago and is not Ready yet: {why}", self.node_ref(), human_duration(age));
            return Some(f);
        }
        if removing {
            f.message = format!(
                "{} is being removed (scale-down or replacement) and is {state}{how_long}: {why}",
                self.node_ref()
            );
            return Some(f);
        }
        // The pods that went not-ready when the node did are its symptoms; a pod that was
        // failing before has its own cause.
        let node_since = since.unwrap_or(0);
        for p in pods.iter().filter(|p| !k8s::is_ready(p)) {
            let pod_since = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .and_then(|c| c.last_transition_time.as_ref())
                .map(|t| k8s::seconds_since(t, self.state.now));
            if pod_since.is_some_and(|s| s <= node_since + ABSORB_SLACK_SECS) {
                f.absorbs.push(ObjectRef::new("Pod", k8s::namespace(&p.metadata), k8s::name(&p.metadata)));
            }
        }
        // A StatefulSet pod stuck Terminating on the dead node is the one consequence that does
        // not heal by itself: its controller creates no replacement while the old pod object
        // exists. Pointing the node finding at it closes a cycle with the pod's StuckTerminating
        // finding (whose cause is this node); correlate resolves cycles to the earliest finding,
        // the pod analyzer's, so that pod is reported first with this node in its chain.
        if let Some(stuck) = pods.iter().find(|p| {
            p.metadata.deletion_timestamp.is_some()
                && self.state.controller_of(&p.metadata).is_some_and(|(k, _)| k == "StatefulSet")
        }) {
            f.cause = Some(ObjectRef::new("Pod", k8s::namespace(&stuck.metadata), k8s::name(&stuck.metadata)));
            f.evidence.push(format!(
                "StatefulSet pod {}/{} is stuck Terminating on it: no replacement is created until the pod object is gone",
                k8s::namespace(&stuck.metadata),
                k8s::name(&stuck.metadata)
            ));
        }
        let instance = instance_id(self.node).unwrap_or("of the node");
        f = f.action(Action::text(format!(
            "Check EC2 instance {instance}: status checks, system log (aws ec2 get-console-output) and, through SSM, the kubelet and containerd (journalctl -u kubelet)"
        )));
        if wide {
            f = f.action(Action::text(
                "Many nodes at once points at a shared cause: the VPC CNI (aws-node) pods, the cluster endpoint or security groups, or a bad AMI/launch template rollout",
            ));
        }
        f = f.action(Action::text(format!(
            "If the instance is impaired, drain and terminate it; its {} replaces it",
            nodegroup(self.node).unwrap_or_else(|| "Auto Scaling group".into())
        )));
        Some(f.warn("Restarting the pods on this node will not help: they cannot run until the node is Ready or they are rescheduled elsewhere"))
    }

    fn pressure(&self) -> Option<Finding> {
        let which: Vec<&NodeCondition> = ["MemoryPressure", "DiskPressure", "PIDPressure"]
            .iter()
            .filter_map(|t| condition(self.node, t))
            .filter(|c| c.status == "True")
            .collect();
        if which.is_empty() {
            return None;
        }
        let names: Vec<&str> = which.iter().map(|c| c.type_.as_str()).collect();
        let evicted: Vec<&Pod> = self
            .state
            .pods
            .iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(self.name))
            .filter(|p| p.status.as_ref().and_then(|s| s.reason.as_deref()) == Some("Evicted"))
            .collect();
        let since = which
            .iter()
            .filter_map(|c| self.since(c))
            .max()
            .map(|s| format!(" for {}", human_duration(s)))
            .unwrap_or_default();
        let evictions = match evicted.len() {
            0 => String::new(),
            1 => "; 1 pod was evicted from it".to_string(),
            n => format!("; {n} pods were evicted from it"),
        };
        let severity = if names.iter().any(|n| *n != "PIDPressure") { Severity::Error } else { Severity::Warning };
        // The evicted pod the kubelet names as the largest consumer over its request.
        let hog = evicted
            .iter()
            .filter_map(|p| {
                let msg = p.status.as_ref()?.message.as_deref()?;
                let used = msg.split("was using ").nth(1)?.split([',', ' ']).next()?;
                msg.contains("has larger consumption of")
                    .then(|| (*p, used.to_string(), parse_bytes(used).unwrap_or(0.0)))
            })
            .max_by(|a, b| a.2.total_cmp(&b.2));
        let by_hog = hog.as_ref().map_or_else(String::new, |(p, used, bytes)| {
            let container = p.status.as_ref().and_then(|s| s.message.as_deref()).and_then(|m| m.split("Container ").nth(1)).and_then(|m| m.split(' ').next()).unwrap_or("?");
            let resource = if names.contains(&"DiskPressure") { "ephemeral-storage" } else { "memory" };
            format!(
                "; container {container} of pod {}/{}{} was using {used} ({:.1}Gi) of {resource}, more than its request, and was evicted",
                k8s::namespace(&p.metadata),
                k8s::name(&p.metadata),
                self.state.controller_of(&p.metadata).map(|(k, n)| format!(" ({k} {n})")).unwrap_or_default(),
                bytes / f64::from(1u32 << 30)
            )
        });
        // DiskPressure, MemoryPressure or PIDPressure: the reason is the condition, worst first.
        let reason = ["DiskPressure", "MemoryPressure", "PIDPressure"]
            .into_iter()
            .find(|r| names.contains(r))
            .unwrap_or("NodePressure");
        let mut f = Finding::new(
            self.subject(),
            severity,
            reason,
            format!(
                "{} reports {}{since}: the kubelet evicts pods to recover{by_hog}{evictions}",
                self.node_ref(),
                names.join(" and ")
            ),
        );
        // A pod that filled the node itself is the root: its Evicted finding links to this node,
        // and this link closes the cycle, which correlate resolves to the pod's (earlier) finding.
        if let Some((p, _, _)) = hog {
            f.cause = Some(ObjectRef::new("Pod", k8s::namespace(&p.metadata), k8s::name(&p.metadata)));
        }
        for c in &which {
            f.evidence.push(format!(
                "condition {}=True reason {}: {}",
                c.type_,
                c.reason.as_deref().unwrap_or("-"),
                c.message.as_deref().unwrap_or("")
            ));
        }
        if let Some(a) = self.node.status.as_ref().and_then(|s| s.allocatable.as_ref()) {
            let get = |k: &str| a.get(k).map_or_else(|| "?".into(), |q| q.0.clone());
            f.evidence.push(format!(
                "allocatable memory {}, ephemeral-storage {}, pods {}",
                get("memory"),
                get("ephemeral-storage"),
                get("pods")
            ));
        }
        for p in evicted.iter().take(3) {
            f.evidence.push(format!(
                "pod {}/{} evicted: {}",
                k8s::namespace(&p.metadata),
                k8s::name(&p.metadata),
                p.status.as_ref().and_then(|s| s.message.as_deref()).unwrap_or("").trim()
            ));
        }
        if names.contains(&"DiskPressure") {
            f = f.action(Action::text(
                "Free disk on the node: unused images (crictl rmi --prune), large emptyDir volumes and container logs; set ephemeral-storage requests and limits, or raise the nodegroup's root volume size",
            ));
        }
        if names.contains(&"MemoryPressure") {
            f = f.action(Action::text(
                "Set memory requests close to real usage so the scheduler does not overpack the node; move memory-heavy pods or use a larger instance type",
            ));
        }
        if names.contains(&"PIDPressure") {
            f = f.action(Action::text("Find the pod that forks without bound (ps on the node) and set a pod PID limit (podPidsLimit in the kubelet config)"));
        }
        Some(f.warn(
            "Recreating the evicted pods on the same node will get them evicted again until the pressure is relieved",
        ))
    }

    fn network(&self) -> Option<Finding> {
        let c = condition(self.node, "NetworkUnavailable").filter(|c| c.status == "True")?;
        let pods = self.pods();
        Some(
            Finding::new(
                self.subject(),
                Severity::Error,
                "NodeNetworkUnavailable",
                format!(
                    "{} has no pod network (NetworkUnavailable: {}); the {} pods on it cannot communicate",
                    self.node_ref(),
                    c.message.as_deref().or(c.reason.as_deref()).unwrap_or("no message"),
                    pods.len()
                ),
            )
            .evidence(format!("condition NetworkUnavailable=True reason {}", c.reason.as_deref().unwrap_or("-")))
            .action(Action::text("Check the CNI pod on the node (kube-system aws-node for the VPC CNI): its logs, IPAM errors and the node role's EC2 network permissions")),
        )
    }

    fn cordoned(&self) -> Option<Finding> {
        if self.node.spec.as_ref().and_then(|s| s.unschedulable) != Some(true) {
            return None;
        }
        let pods: Vec<&Pod> = self
            .pods()
            .into_iter()
            .filter(|p| self.state.controller_of(&p.metadata).is_none_or(|(k, _)| k != "DaemonSet"))
            .collect();
        if pods.is_empty() {
            return None;
        }
        let since = self
            .node
            .spec
            .iter()
            .flat_map(|s| s.taints.iter().flatten())
            .find(|t| t.key == "node.kubernetes.io/unschedulable")
            .and_then(|t| t.time_added.as_ref())
            .map(|t| k8s::seconds_since(t, self.state.now));
        let long = since.is_some_and(|s| s > LONG_CORDON_SECS);
        let names: Vec<String> = pods
            .iter()
            .take(3)
            .map(|p| format!("{}/{}", k8s::namespace(&p.metadata), k8s::name(&p.metadata)))
            .collect();
        Some(
            Finding::new(
                self.subject(),
                if long { Severity::Warning } else { Severity::Info },
                "NodeCordoned",
                format!(
                    "{} is cordoned{} with {} pod(s) still on it ({}{})",
                    self.node_ref(),
                    since.map(|s| format!(" since {} ago", human_duration(s))).unwrap_or_default(),
                    pods.len(),
                    names.join(", "),
                    if pods.len() > 3 { ", …" } else { "" }
                ),
            )
            .evidence("spec.unschedulable true")
            .action(Action::text(format!(
                "Finish the drain (kubectl drain {} --ignore-daemonsets --delete-emptydir-data) if the node is being retired, or uncordon it; a PodDisruptionBudget may be blocking the drain",
                self.name
            ))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    struct Case {
        name: &'static str,
        objects: Vec<serde_json::Value>,
        /// (node, reason, severity, texts the message must carry); empty = no finding.
        expect: Vec<(&'static str, &'static str, Severity, &'static [&'static str])>,
    }

    fn nodes(n: usize) -> Vec<serde_json::Value> {
        (1..=n).map(|i| node(&format!("node-{i}"), "2", "7Gi")).collect()
    }

    #[test]
    fn node_cases() {
        let lost = || {
            node_condition(
                node("node-1", "2", "7Gi"),
                "Ready",
                "Unknown",
                "NodeStatusUnknown",
                "Kubelet stopped posting node status.",
                720,
            )
        };
        let cases = vec![
            Case { name: "healthy nodes", objects: nodes(3), expect: vec![] },
            Case {
                name: "one of three nodes not ready is critical",
                objects: [vec![lost()], nodes(3).split_off(1)].concat(),
                expect: vec![("node-1", "NodeNotReady", Severity::Critical, &["12m"])],
            },
            Case {
                name: "one of four nodes not ready",
                objects: [vec![lost()], nodes(4).split_off(1), vec![pod("api").in_ns("prod").on_node("node-1").unready().build()]].concat(),
                expect: vec![("node-1", "NodeNotReady", Severity::Error, &["12m", "Kubelet stopped posting node status.", "nodegroup general", "i-", "1 pod run on it"])],
            },
            Case {
                name: "two of three nodes not ready is critical",
                objects: [
                    vec![lost(), node_condition(node("node-2", "2", "7Gi"), "Ready", "False", "KubeletNotReady", "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized", 300)],
                    nodes(3).split_off(2),
                ]
                .concat(),
                expect: vec![
                    ("node-1", "NodeNotReady", Severity::Critical, &["2 of 3 nodes are NotReady"]),
                    ("node-2", "NodeNotReady", Severity::Critical, &["cni plugin not initialized"]),
                ],
            },
            Case {
                name: "joining node is info",
                objects: vec![node_created_ago(node_condition(node("node-9", "2", "7Gi"), "Ready", "False", "KubeletNotReady", "PLEG is not healthy", 60), 90)],
                expect: vec![("node-9", "NodeNotReady", Severity::Info, &["joined"])],
            },
            Case {
                name: "node removed by karpenter is info",
                objects: [
                    vec![{
                        let mut n = node_condition(node("node-1", "2", "7Gi"), "Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.", 120);
                        n["spec"]["taints"] = serde_json::json!([{"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}]);
                        n
                    }],
                    nodes(2).split_off(1),
                ]
                .concat(),
                expect: vec![("node-1", "NodeNotReady", Severity::Info, &["being removed"])],
            },
            Case {
                name: "disk pressure with evictions",
                objects: [
                    vec![node_condition(node("node-1", "2", "7Gi"), "DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure", 1200)],
                    nodes(2).split_off(1),
                    vec![pod("old").in_ns("prod").on_node("node-1").evicted("The node was low on resource: ephemeral-storage.").build()],
                ]
                .concat(),
                expect: vec![("node-1", "DiskPressure", Severity::Error, &["DiskPressure", "20m", "1 pod was evicted"])],
            },
            Case {
                name: "cordoned with pods (a drain in progress)",
                objects: vec![node_cordoned(node("node-1", "2", "7Gi")), pod("api").in_ns("prod").on_node("node-1").build()],
                expect: vec![("node-1", "NodeCordoned", Severity::Info, &["cordoned since 20m", "1 pod(s)", "prod/api"])],
            },
            Case {
                name: "cordoned for hours with pods",
                objects: vec![
                    {
                        let mut n = node_cordoned(node("node-1", "2", "7Gi"));
                        n["spec"]["taints"][0]["timeAdded"] = serde_json::json!(ago(7200));
                        n
                    },
                    pod("api").in_ns("prod").on_node("node-1").build(),
                ],
                expect: vec![("node-1", "NodeCordoned", Severity::Warning, &["cordoned since 2h"])],
            },
            Case {
                name: "cordoned and empty",
                objects: vec![node_cordoned(node("node-1", "2", "7Gi")), pod("ds").in_ns("kube-system").on_node("node-1").owned_by("DaemonSet", "aws-node").build()],
                expect: vec![],
            },
            Case {
                name: "network unavailable",
                objects: vec![node_condition(node("node-1", "2", "7Gi"), "NetworkUnavailable", "True", "NoRouteCreated", "RouteController failed to create a route", 600)],
                expect: vec![("node-1", "NodeNetworkUnavailable", Severity::Error, &["no pod network", "RouteController"])],
            },
        ];
        for case in cases {
            let findings = analyze(&state(case.objects));
            assert_eq!(findings.len(), case.expect.len(), "{}: {findings:#?}", case.name);
            for (node, reason, sev, texts) in &case.expect {
                let f = findings.iter().find(|f| f.name == *node && f.reason == *reason);
                let Some(f) = f else { panic!("{}: no {reason} on {node}: {findings:#?}", case.name) };
                assert_eq!(f.kind, "Node", "{}", case.name);
                assert_eq!(f.severity, *sev, "{}: {}", case.name, f.message);
                for t in *texts {
                    assert!(f.message.contains(t), "{}: message lacks {t:?}: {}", case.name, f.message);
                }
            }
        }
    }

    #[test]
    fn a_pod_failing_before_the_node_keeps_its_own_cause() {
        let objs = [
            vec![node_condition(
                node("node-1", "2", "7Gi"),
                "Ready",
                "Unknown",
                "NodeStatusUnknown",
                "Kubelet stopped posting node status.",
                300,
            )],
            nodes(4).split_off(1),
            // Crash-looping for 10 minutes, since before the node went NotReady 5 minutes ago.
            vec![pod("api").in_ns("prod").on_node("node-1").crashlooping(5).build()],
        ]
        .concat();
        let findings = analyze(&state(objs));
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(findings[0].absorbs.is_empty(), "the crash loop predates the node failure: {findings:#?}");
    }

    #[test]
    fn pod_that_filled_the_disk_is_the_root_with_the_node_in_its_chain() {
        let objs = [
            vec![node_condition(node("node-1", "2", "7Gi"), "DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure", 180)],
            nodes(3).split_off(1),
            vec![pod("resizer-5c4f7d8b9-zlcj7").in_ns("media").on_node("node-1").owned_by_rs("resizer-5c4f7d8b9").evicted(
                "The node was low on resource: ephemeral-storage. Threshold quantity: 2090881433, available: 1873420Ki. Container app was using 14383416Ki, request is 0, has larger consumption of ephemeral-storage. ",
            ).build()],
        ]
        .concat();
        let st = state(objs);
        let node_finding = analyze(&st);
        assert!(
            node_finding[0].message.contains("was using 14383416Ki (13.7Gi) of ephemeral-storage"),
            "{node_finding:#?}"
        );
        let out = crate::analyze::analyze(&st);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!((out[0].kind.as_str(), out[0].reason.as_str()), ("Pod", "Evicted"), "{out:#?}");
        assert_eq!(out[0].chain.first().map(|c| c.reason.as_str()), Some("DiskPressure"), "{out:#?}");
    }

    #[test]
    fn statefulset_pod_stuck_on_a_dead_node_is_reported_first() {
        let objs = [
            vec![node_condition(
                node("node-1", "2", "7Gi"),
                "Ready",
                "Unknown",
                "NodeStatusUnknown",
                "Kubelet stopped posting node status.",
                1800,
            )],
            nodes(3).split_off(1),
            vec![
                pod("zookeeper-1")
                    .in_ns("streaming")
                    .on_node("node-1")
                    .owned_by("StatefulSet", "zookeeper")
                    .unready()
                    .terminating_for(1500)
                    .with(|p| p["status"]["conditions"][3]["lastTransitionTime"] = serde_json::json!(ago(1790)))
                    .build(),
                pod("cart-7d9f8b6c5d-x2k4p")
                    .in_ns("prod")
                    .on_node("node-1")
                    .owned_by_rs("cart-7d9f8b6c5d")
                    .unready()
                    .terminating_for(1500)
                    .with(|p| p["status"]["conditions"][3]["lastTransitionTime"] = serde_json::json!(ago(1790)))
                    .build(),
            ],
        ]
        .concat();
        let out = crate::analyze::analyze(&state(objs));
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!((out[0].name.as_str(), out[0].reason.as_str()), ("zookeeper-1", "StuckTerminating"), "{out:#?}");
        assert_eq!(out[0].severity, Severity::Critical, "{out:#?}");
        assert!(out[0].chain.iter().any(|c| c.kind == "Node" && c.reason == "NodeNotReady"), "{out:#?}");
        assert!(out[0].chain.iter().any(|c| c.name == "cart-7d9f8b6c5d-x2k4p"), "{out:#?}");
    }

    #[test]
    fn not_ready_node_is_the_root_of_its_pods() {
        let objs = [
            vec![node_condition(
                node("node-1", "2", "7Gi"),
                "Ready",
                "Unknown",
                "NodeStatusUnknown",
                "Kubelet stopped posting node status.",
                900,
            )],
            nodes(4).split_off(1),
            vec![
                pod("api")
                    .in_ns("prod")
                    .on_node("node-1")
                    .unready()
                    .with(|p| p["status"]["conditions"][3]["lastTransitionTime"] = serde_json::json!(ago(900)))
                    .build(),
            ],
        ]
        .concat();
        let out = crate::analyze::analyze(&state(objs));
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].reason, "NodeNotReady");
        assert_eq!(out[0].chain.first().map(|c| c.name.as_str()), Some("api"), "{out:#?}");
        assert!(out[0].warnings.iter().any(|w| w.contains("Restarting the pods")), "{out:#?}");
    }
}
