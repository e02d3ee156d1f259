//! NetworkPolicy analyzer: egress policies that cut selected pods off from DNS (no rule allows
//! port 53 to kube-dns, or only over TCP), default-deny ingress policies that leave a Service's
//! pods unreachable with no policy allowing traffic to them, and policies whose pod selector
//! matches no pod (an empty selector `{}` selects every pod and is fine).
//!
//! Policies are additive, so a pod is judged on every policy that selects it. An egress policy
//! that blocks DNS absorbs the pods whose logs show DNS failures, so their crash loops group
//! under it. Whether the cluster enforces policies (VPC CNI network policy agent, Calico) is not
//! visible here; the findings say what the policy does where it is enforced.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::logpatterns::dns_failure;
use super::pod::strip_timestamp;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::agent::redact::redact;
use crate::k8s;

/// Runs the network policy analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    let dns = DnsTarget::of(state);
    let mut out = Vec::new();
    let mut namespaces: Vec<&str> = state.network_policies.iter().map(|p| k8s::namespace(&p.metadata)).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    for ns in namespaces {
        let policies: Vec<&NetworkPolicy> =
            state.network_policies.iter().filter(|p| k8s::namespace(&p.metadata) == ns).collect();
        let pods: Vec<&Pod> = state
            .pods
            .iter()
            .filter(|p| k8s::namespace(&p.metadata) == ns)
            .filter(|p| {
                !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"))
            })
            .filter(|p| p.spec.as_ref().and_then(|s| s.host_network) != Some(true))
            .collect();
        let ctx = Ctx { state, ns, policies, pods, dns: &dns };
        out.extend(ctx.dns_blocked());
        out.extend(ctx.default_deny_ingress());
        out.extend(ctx.selects_nothing());
    }
    out
}

/// Whether labels satisfy a label selector (matchLabels and matchExpressions). An empty
/// selector matches everything, as in NetworkPolicies and Deployments.
pub(super) fn label_selector_matches(sel: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    sel.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v))
        && sel.match_expressions.iter().flatten().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
                "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
                "Exists" => labels.contains_key(&e.key),
                "DoesNotExist" => !labels.contains_key(&e.key),
                _ => false,
            }
        })
}

fn is_empty_selector(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(BTreeMap::is_empty) && sel.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// `app=api,tier In (web,edge)`, or `{}` for the empty selector.
fn selector_text(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = sel.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    parts.extend(sel.match_expressions.iter().flatten().map(|e| match e.values.as_deref() {
        Some(v) if !v.is_empty() => format!("{} {} ({})", e.key, e.operator, v.join(",")),
        _ => format!("{} {}", e.key, e.operator),
    }));
    if parts.is_empty() { "{} (all pods)".into() } else { parts.join(",") }
}

/// (Ingress, Egress) policy types, with the API's defaults when `policyTypes` is unset.
fn types(spec: &NetworkPolicySpec) -> (bool, bool) {
    match spec.policy_types.as_deref() {
        Some(t) if !t.is_empty() => (t.iter().any(|t| t == "Ingress"), t.iter().any(|t| t == "Egress")),
        _ => (true, spec.egress.as_ref().is_some_and(|e| !e.is_empty())),
    }
}

/// The labels of the cluster DNS pods and of their namespace.
struct DnsTarget {
    pod_labels: BTreeMap<String, String>,
    ns_labels: BTreeMap<String, String>,
}

impl DnsTarget {
    fn of(state: &ClusterState) -> DnsTarget {
        let pod_labels = state
            .pods
            .iter()
            .filter(|p| k8s::namespace(&p.metadata) == "kube-system")
            .filter_map(|p| p.metadata.labels.as_ref())
            .find(|l| l.get("k8s-app").is_some_and(|v| v == "kube-dns"))
            .cloned()
            .unwrap_or_else(|| BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]));
        let mut ns_labels = state
            .namespaces
            .iter()
            .find(|n| k8s::name(&n.metadata) == "kube-system")
            .and_then(|n| n.metadata.labels.clone())
            .unwrap_or_default();
        ns_labels.entry("kubernetes.io/metadata.name".into()).or_insert_with(|| "kube-system".into());
        DnsTarget { pod_labels, ns_labels }
    }

    /// Whether an egress peer can be the cluster DNS (IP blocks are given the benefit of the
    /// doubt: the DNS pod IPs are not known here).
    fn reached_by(&self, peer: &NetworkPolicyPeer, policy_ns: &str) -> bool {
        if peer.ip_block.is_some() {
            return true;
        }
        let pods_ok = peer.pod_selector.as_ref().is_none_or(|s| label_selector_matches(s, Some(&self.pod_labels)));
        match &peer.namespace_selector {
            Some(ns) => label_selector_matches(ns, Some(&self.ns_labels)) && pods_ok,
            None if peer.pod_selector.is_some() => policy_ns == "kube-system" && pods_ok,
            None => true,
        }
    }

    /// (UDP, TCP): whether an egress rule lets DNS through.
    fn allowed_by(&self, rule: &NetworkPolicyEgressRule, policy_ns: &str) -> (bool, bool) {
        let peer_ok = match rule.to.as_deref() {
            None | Some([]) => true,
            Some(peers) => peers.iter().any(|p| self.reached_by(p, policy_ns)),
        };
        if !peer_ok {
            return (false, false);
        }
        match rule.ports.as_deref() {
            None | Some([]) => (true, true),
            Some(ports) => {
                let covers = |p: &NetworkPolicyPort| match &p.port {
                    None => true,
                    Some(IntOrString::Int(n)) => *n == 53 || p.end_port.is_some_and(|e| *n <= 53 && 53 <= e),
                    Some(IntOrString::String(s)) => matches!(s.as_str(), "dns" | "dns-tcp" | "53"),
                };
                let proto = |p: &NetworkPolicyPort| p.protocol.clone().unwrap_or_else(|| "TCP".into());
                (
                    ports.iter().any(|p| covers(p) && proto(p) == "UDP"),
                    ports.iter().any(|p| covers(p) && proto(p) == "TCP"),
                )
            }
        }
    }
}

struct Ctx<'a> {
    state: &'a ClusterState,
    ns: &'a str,
    policies: Vec<&'a NetworkPolicy>,
    pods: Vec<&'a Pod>,
    dns: &'a DnsTarget,
}

fn spec(p: &NetworkPolicy) -> Option<&NetworkPolicySpec> {
    p.spec.as_ref()
}

fn pod_selector(p: &NetworkPolicy) -> LabelSelector {
    spec(p).and_then(|s| s.pod_selector.clone()).unwrap_or_default()
}

impl<'a> Ctx<'a> {
    fn selected(&self, p: &NetworkPolicy) -> Vec<&'a Pod> {
        let sel = pod_selector(p);
        self.pods.iter().copied().filter(|pod| label_selector_matches(&sel, pod.metadata.labels.as_ref())).collect()
    }

    fn selects(&self, p: &NetworkPolicy, pod: &Pod) -> bool {
        label_selector_matches(&pod_selector(p), pod.metadata.labels.as_ref())
    }

    /// (UDP, TCP) DNS allowed for a pod by all the egress policies that select it; `None` when
    /// no egress policy selects it (egress unrestricted).
    fn dns_for(&self, pod: &Pod) -> Option<(bool, bool)> {
        let mut any = false;
        let (mut udp, mut tcp) = (false, false);
        for p in self.policies.iter().filter(|p| spec(p).is_some_and(|s| types(s).1) && self.selects(p, pod)) {
            any = true;
            for rule in spec(p).and_then(|s| s.egress.as_ref()).into_iter().flatten() {
                let (u, t) = self.dns.allowed_by(rule, self.ns);
                udp |= u;
                tcp |= t;
            }
        }
        any.then_some((udp, tcp))
    }

    /// DNS failure lines in a pod's logs (current and previous, every container).
    fn dns_log_lines(&self, pod: &Pod) -> Vec<String> {
        let name = k8s::name(&pod.metadata);
        let mut out = Vec::new();
        for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
            for previous in [false, true] {
                if let Some(log) = self.state.log(self.ns, name, &c.name, previous) {
                    out.extend(
                        log.lines()
                            .map(strip_timestamp)
                            .filter(|l| dns_failure(l))
                            .take(1)
                            .map(|l| format!("log of {name}/{}: {}", c.name, redact(l.trim()))),
                    );
                }
            }
        }
        out
    }

    fn dns_blocked(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for p in self.policies.iter().filter(|p| spec(p).is_some_and(|s| types(s).1)) {
            let blocked: Vec<(&Pod, bool)> = self
                .selected(p)
                .into_iter()
                .filter_map(|pod| match self.dns_for(pod) {
                    Some((false, tcp)) => Some((pod, tcp)),
                    _ => None,
                })
                .collect();
            if blocked.is_empty() {
                continue;
            }
            let name = k8s::name(&p.metadata);
            let ns = self.ns;
            let names: Vec<&str> = blocked.iter().map(|(pod, _)| k8s::name(&pod.metadata)).collect();
            let shown = if names.len() > 3 { format!("{}, …", names[..3].join(", ")) } else { names.join(", ") };
            let tcp_only = blocked.iter().all(|(_, tcp)| *tcp);
            let what = if tcp_only {
                "allows DNS (port 53) over TCP only; resolvers ask over UDP first, so lookups time out"
            } else {
                "allows no DNS (port 53): their name lookups time out"
            };
            let s = spec(p);
            let rules = s.and_then(|s| s.egress.as_ref()).map_or(0, Vec::len);
            let mut f = Finding::new(
                ObjectRef::new("NetworkPolicy", ns, name),
                Severity::Error,
                "NetworkPolicyBlocksDNS",
                format!(
                    "egress policy {ns}/{name} selects {} pod{} ({shown}) and {what}",
                    blocked.len(),
                    if blocked.len() == 1 { "" } else { "s" }
                ),
            )
            .evidence(format!("spec.podSelector {}", selector_text(&pod_selector(p))))
            .evidence(format!(
                "spec.policyTypes {}; {rules} egress rules, none allowing UDP 53 to kube-system k8s-app=kube-dns",
                s.and_then(|s| s.policy_types.as_ref()).map_or_else(|| "(default)".into(), |t| t.join(","))
            ));
            for (pod, _) in &blocked {
                let lines = self.dns_log_lines(pod);
                if !lines.is_empty() {
                    f.absorbs.push(ObjectRef::new("Pod", ns, k8s::name(&pod.metadata)));
                    if f.evidence.len() < 5 {
                        f.evidence.extend(lines.into_iter().take(1));
                    }
                }
            }
            out.push(
                f.action(Action::text(format!(
                    "Add an egress rule to {ns}/{name}: to namespaceSelector kubernetes.io/metadata.name=kube-system with podSelector k8s-app=kube-dns, ports UDP 53 and TCP 53"
                )))
                .warn("Restarting the pods will not fix DNS: the NetworkPolicy blocks their egress to kube-dns on port 53")
                .warn("CoreDNS is not at fault here: restarting or scaling it will not help"),
            );
        }
        out
    }

    /// Policies that deny all ingress to pods backing a Service that no policy lets traffic to.
    fn default_deny_ingress(&self) -> Vec<Finding> {
        let allows_ingress = |pod: &Pod| {
            self.policies.iter().any(|p| {
                spec(p).is_some_and(|s| types(s).0 && s.ingress.as_ref().is_some_and(|r| !r.is_empty()))
                    && self.selects(p, pod)
            })
        };
        let mut out = Vec::new();
        for p in &self.policies {
            let Some(s) = spec(p) else { continue };
            if !types(s).0 || s.ingress.as_ref().is_some_and(|r| !r.is_empty()) {
                continue;
            }
            let selected = self.selected(p);
            let mut blocked: Vec<(String, usize)> = Vec::new();
            for svc in self.state.services.iter().filter(|svc| k8s::namespace(&svc.metadata) == self.ns) {
                let Some(sel) = svc.spec.as_ref().and_then(|s| s.selector.as_ref()).filter(|s| !s.is_empty()) else {
                    continue;
                };
                let backing: Vec<&&Pod> =
                    selected.iter().filter(|pod| k8s::selector_matches(sel, pod.metadata.labels.as_ref())).collect();
                if !backing.is_empty() && !backing.iter().any(|pod| allows_ingress(pod)) {
                    blocked.push((k8s::name(&svc.metadata).to_string(), backing.len()));
                }
            }
            let Some((first, n)) = blocked.first() else { continue };
            let name = k8s::name(&p.metadata);
            let ns = self.ns;
            let more =
                if blocked.len() > 1 { format!(" and {} more Services", blocked.len() - 1) } else { String::new() };
            let mut f = Finding::new(
                ObjectRef::new("NetworkPolicy", ns, name),
                Severity::Warning,
                "DefaultDenyBlocksService",
                format!("network policy {ns}/{name} denies all ingress to the {n} pod(s) of service {ns}/{first}{more} and no policy allows traffic to them"),
            )
            .evidence(format!("spec.podSelector {}, policyTypes includes Ingress, no ingress rules", selector_text(&pod_selector(p))));
            for (svc, n) in &blocked {
                f.evidence.push(format!(
                    "service {ns}/{svc}: {n} selected pods, no NetworkPolicy with ingress rules selects them"
                ));
            }
            out.push(
                f.action(Action::text(format!(
                    "Add a NetworkPolicy in {ns} that allows ingress to the pods of service {first} from their clients (the ingress controller, the calling namespaces) on the service's ports"
                )))
                .warn("Restarting the pods will not help: the policy drops the traffic before it reaches them"),
            );
        }
        out
    }

    /// Policies with a non-empty pod selector that matches no pod.
    fn selects_nothing(&self) -> Vec<Finding> {
        if self.pods.is_empty() {
            return Vec::new();
        }
        let default_deny = self.policies.iter().find(|p| {
            spec(p).is_some_and(|s| {
                let (ing, eg) = types(s);
                (ing && s.ingress.as_ref().is_none_or(Vec::is_empty))
                    || (eg && s.egress.as_ref().is_none_or(Vec::is_empty))
            }) && !self.selected(p).is_empty()
        });
        let mut out = Vec::new();
        for p in &self.policies {
            let sel = pod_selector(p);
            if is_empty_selector(&sel) || !self.selected(p).is_empty() {
                continue;
            }
            let name = k8s::name(&p.metadata);
            let ns = self.ns;
            let allows = spec(p).is_some_and(|s| {
                s.ingress.as_ref().is_some_and(|r| !r.is_empty()) || s.egress.as_ref().is_some_and(|r| !r.is_empty())
            });
            let (severity, tail) = match default_deny.filter(|d| allows && k8s::name(&d.metadata) != name) {
                Some(d) => (
                    Severity::Warning,
                    format!(
                        "; the pods it was meant to let through stay blocked by default-deny policy {}",
                        k8s::name(&d.metadata)
                    ),
                ),
                None => (Severity::Info, "; it has no effect".to_string()),
            };
            out.push(
                Finding::new(
                    ObjectRef::new("NetworkPolicy", ns, name),
                    severity,
                    "NetworkPolicySelectsNothing",
                    format!("network policy {ns}/{name} selects {} but no pod in {ns} has those labels{tail}", selector_text(&sel)),
                )
                .evidence(format!("spec.podSelector {}; {} pods in {ns}, none matching", selector_text(&sel), self.pods.len()))
                .action(Action::text(format!("Fix the podSelector of {ns}/{name} to the labels of the pods it is meant for, or delete the policy if it is stale"))),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::snapshot::LogKey;
    use serde_json::json;

    struct Case {
        name: &'static str,
        objects: Vec<serde_json::Value>,
        /// (policy, reason, severity, texts the message must carry); empty = no finding.
        expect: Vec<(&'static str, &'static str, Severity, &'static [&'static str])>,
    }

    fn api_pods() -> Vec<serde_json::Value> {
        vec![
            pod("api-7d9f8b6c5d-x2k4p").in_ns("prod").labels(&[("app", "api")]).build(),
            pod("api-7d9f8b6c5d-b7n2q").in_ns("prod").labels(&[("app", "api")]).build(),
            pod("coredns-5d8c6b9f7d-abcde").in_ns("kube-system").labels(&[("k8s-app", "kube-dns")]).build(),
        ]
    }

    fn dns_rule(protocols: &[&str]) -> serde_json::Value {
        let ports: Vec<serde_json::Value> = protocols.iter().map(|p| json!({"protocol": p, "port": 53})).collect();
        json!({"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": ports})
    }

    fn db_rule() -> serde_json::Value {
        json!({"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"protocol": "TCP", "port": 5432}]})
    }

    #[test]
    fn netpol_cases() {
        let cases = vec![
            Case {
                name: "egress with dns allowed",
                objects: [
                    api_pods(),
                    vec![network_policy(
                        "prod",
                        "api-egress",
                        json!({"matchLabels": {"app": "api"}}),
                        &["Egress"],
                        json!([]),
                        json!([db_rule(), dns_rule(&["UDP", "TCP"])]),
                    )],
                ]
                .concat(),
                expect: vec![],
            },
            Case {
                name: "egress without dns",
                objects: [
                    api_pods(),
                    vec![network_policy(
                        "prod",
                        "api-egress",
                        json!({"matchLabels": {"app": "api"}}),
                        &["Egress"],
                        json!([]),
                        json!([db_rule()]),
                    )],
                ]
                .concat(),
                expect: vec![(
                    "api-egress",
                    "NetworkPolicyBlocksDNS",
                    Severity::Error,
                    &["egress policy prod/api-egress selects 2 pods", "allows no DNS (port 53)"],
                )],
            },
            Case {
                name: "default deny egress",
                objects: [
                    api_pods(),
                    vec![network_policy("prod", "deny-egress", json!({}), &["Egress"], json!([]), json!([]))],
                ]
                .concat(),
                expect: vec![(
                    "deny-egress",
                    "NetworkPolicyBlocksDNS",
                    Severity::Error,
                    &["selects 2 pods", "allows no DNS"],
                )],
            },
            Case {
                name: "dns over tcp only",
                objects: [
                    api_pods(),
                    vec![network_policy(
                        "prod",
                        "api-egress",
                        json!({"matchLabels": {"app": "api"}}),
                        &["Egress"],
                        json!([]),
                        json!([dns_rule(&["TCP"])]),
                    )],
                ]
                .concat(),
                expect: vec![("api-egress", "NetworkPolicyBlocksDNS", Severity::Error, &["over TCP only"])],
            },
            Case {
                name: "a second policy allowing dns makes it fine",
                objects: [
                    api_pods(),
                    vec![
                        network_policy("prod", "deny-egress", json!({}), &["Egress"], json!([]), json!([])),
                        network_policy(
                            "prod",
                            "allow-dns",
                            json!({}),
                            &["Egress"],
                            json!([]),
                            json!([dns_rule(&["UDP", "TCP"])]),
                        ),
                    ],
                ]
                .concat(),
                expect: vec![],
            },
            Case {
                name: "egress to all destinations on all ports",
                objects: [
                    api_pods(),
                    vec![network_policy("prod", "allow-all", json!({}), &["Egress"], json!([]), json!([{}]))],
                ]
                .concat(),
                expect: vec![],
            },
            Case {
                name: "default deny ingress blocks a service",
                objects: [
                    api_pods(),
                    vec![
                        service("prod", "api", "api"),
                        network_policy("prod", "default-deny", json!({}), &["Ingress"], json!([]), json!([])),
                    ],
                ]
                .concat(),
                expect: vec![(
                    "default-deny",
                    "DefaultDenyBlocksService",
                    Severity::Warning,
                    &["denies all ingress to the 2 pod(s) of service prod/api"],
                )],
            },
            Case {
                name: "default deny ingress with an allowing policy",
                objects: [
                    api_pods(),
                    vec![
                        service("prod", "api", "api"),
                        network_policy("prod", "default-deny", json!({}), &["Ingress"], json!([]), json!([])),
                        network_policy(
                            "prod",
                            "allow-api",
                            json!({"matchLabels": {"app": "api"}}),
                            &["Ingress"],
                            json!([{"ports": [{"port": 8080}]}]),
                            json!([]),
                        ),
                    ],
                ]
                .concat(),
                expect: vec![],
            },
            Case {
                name: "policy selecting nothing",
                objects: [
                    api_pods(),
                    vec![network_policy(
                        "prod",
                        "allow-web",
                        json!({"matchLabels": {"app": "web"}}),
                        &["Ingress"],
                        json!([{"ports": [{"port": 80}]}]),
                        json!([]),
                    )],
                ]
                .concat(),
                expect: vec![(
                    "allow-web",
                    "NetworkPolicySelectsNothing",
                    Severity::Info,
                    &["selects app=web", "no effect"],
                )],
            },
            Case {
                name: "allow policy selecting nothing next to a default deny",
                objects: [
                    api_pods(),
                    vec![
                        network_policy("prod", "default-deny", json!({}), &["Ingress"], json!([]), json!([])),
                        network_policy(
                            "prod",
                            "allow-api",
                            json!({"matchLabels": {"app": "api-v2"}}),
                            &["Ingress"],
                            json!([{"ports": [{"port": 8080}]}]),
                            json!([]),
                        ),
                    ],
                ]
                .concat(),
                expect: vec![(
                    "allow-api",
                    "NetworkPolicySelectsNothing",
                    Severity::Warning,
                    &["app=api-v2", "blocked by default-deny policy default-deny"],
                )],
            },
            Case {
                name: "match expressions",
                objects: [
                    api_pods(),
                    vec![network_policy(
                        "prod",
                        "api-in",
                        json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["api", "web"]}]}),
                        &["Ingress"],
                        json!([{}]),
                        json!([]),
                    )],
                ]
                .concat(),
                expect: vec![],
            },
        ];
        for case in cases {
            let findings = analyze(&state(case.objects));
            assert_eq!(findings.len(), case.expect.len(), "{}: {findings:#?}", case.name);
            for (policy, reason, sev, texts) in &case.expect {
                let Some(f) = findings.iter().find(|f| f.name == *policy && f.reason == *reason) else {
                    panic!("{}: no {reason} on {policy}: {findings:#?}", case.name)
                };
                assert_eq!(f.kind, "NetworkPolicy", "{}", case.name);
                assert_eq!(f.severity, *sev, "{}: {}", case.name, f.message);
                for t in *texts {
                    assert!(f.message.contains(t), "{}: message lacks {t:?}: {}", case.name, f.message);
                }
            }
        }
    }

    #[test]
    fn dns_blocking_policy_is_the_root_of_the_crashing_pod() {
        let objs = vec![
            pod("api-7d9f8b6c5d-x2k4p").in_ns("prod").labels(&[("app", "api")]).crashlooping(4).build(),
            pod("coredns-5d8c6b9f7d-abcde").in_ns("kube-system").labels(&[("k8s-app", "kube-dns")]).build(),
            network_policy(
                "prod",
                "api-egress",
                json!({"matchLabels": {"app": "api"}}),
                &["Egress"],
                json!([]),
                json!([db_rule()]),
            ),
        ];
        let mut st = state(objs);
        st.logs.insert(
            LogKey { namespace: Some("prod".into()), pod: "api-7d9f8b6c5d-x2k4p".into(), container: "app".into(), previous: true },
            "fatal: dial tcp: lookup db.prod.svc.cluster.local on 172.20.0.10:53: read udp 10.0.1.5:40000->172.20.0.10:53: i/o timeout\n".into(),
        );
        let out = crate::analyze::analyze(&st);
        let root = out.iter().find(|f| f.reason == "NetworkPolicyBlocksDNS").expect("a NetworkPolicyBlocksDNS finding");
        assert!(root.chain.iter().any(|c| c.reason == "CrashLoopBackOff"), "{out:#?}");
        assert!(root.evidence.iter().any(|e| e.contains("i/o timeout")), "{root:#?}");
        assert!(root.warnings.iter().any(|w| w.contains("Restarting the pods will not fix DNS")), "{root:#?}");
        assert!(!out.iter().any(|f| f.reason == "CrashLoopBackOff"), "the crash loop is a symptom: {out:#?}");
    }
}
