//! PodDisruptionBudget analyzer: budgets that allow no disruption even when every pod is
//! healthy (`maxUnavailable: 0`, `minAvailable` equal to the pod count or 100%), which block
//! evictions and therefore node drains, upgrades and consolidation; budgets a drain is
//! actually stuck on (eviction refused events, a cordoned node holding a covered pod), raised
//! to error with the node; and budgets that select no pod (info).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::deployment::RECENT_EVENT_SECS;
use super::event_line;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s;

/// Runs the pdb analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    state.pdbs.iter().filter_map(|p| analyze_pdb(state, p)).collect()
}

/// Whether a label selector (matchLabels and matchExpressions) selects `labels`. An empty
/// selector selects everything, as a policy/v1 PDB's does.
fn selects(sel: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    let by_labels = sel.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let by_exprs = sel.match_expressions.iter().flatten().all(|r| {
        let values = r.values.as_deref().unwrap_or_default();
        match r.operator.as_str() {
            "In" => labels.get(&r.key).is_some_and(|v| values.contains(v)),
            "NotIn" => labels.get(&r.key).is_none_or(|v| !values.contains(v)),
            "Exists" => labels.contains_key(&r.key),
            "DoesNotExist" => !labels.contains_key(&r.key),
            _ => false,
        }
    });
    by_labels && by_exprs
}

fn selector_text(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = sel.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    for r in sel.match_expressions.iter().flatten() {
        parts.push(format!("{} {} ({})", r.key, r.operator, r.values.as_deref().unwrap_or_default().join(",")));
    }
    if parts.is_empty() { "{} (every pod in the namespace)".into() } else { parts.join(",") }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn budget_text(spec: &PodDisruptionBudgetSpec) -> String {
    match (&spec.min_available, &spec.max_unavailable) {
        (Some(m), _) => format!("minAvailable {}", int_or_string(m)),
        (None, Some(m)) => format!("maxUnavailable {}", int_or_string(m)),
        (None, None) => "no budget".into(),
    }
}

fn is_zero(v: &IntOrString) -> bool {
    matches!(v, IntOrString::Int(0)) || matches!(v, IntOrString::String(s) if s.trim() == "0%" || s.trim() == "0")
}

fn analyze_pdb(state: &ClusterState, pdb: &PodDisruptionBudget) -> Option<Finding> {
    let ns = k8s::namespace(&pdb.metadata);
    let name = k8s::name(&pdb.metadata);
    let subject = ObjectRef::new("PodDisruptionBudget", ns, name);
    let spec = pdb.spec.as_ref()?;
    let status = pdb.status.as_ref()?;
    let expected = status.expected_pods.unwrap_or(0);
    let healthy = status.current_healthy.unwrap_or(0);
    let desired_healthy = status.desired_healthy.unwrap_or(0);
    let allowed = status.disruptions_allowed.unwrap_or(0);
    let sel = spec.selector.clone().unwrap_or_default();
    let sel_text = selector_text(&sel);
    let status_line = format!(
        "status: expectedPods {expected}, currentHealthy {healthy}, desiredHealthy {desired_healthy}, disruptionsAllowed {allowed}"
    );

    if expected == 0 {
        return Some(
            Finding::new(subject, Severity::Info, "PDBNoPods", format!("pdb {ns}/{name} selects no pods (selector {sel_text}): it protects nothing"))
                .evidence(status_line)
                .action(Action::text(format!(
                    "Fix the selector of pdb {ns}/{name} to match the workload's pod labels, or delete the PDB if the workload is gone"
                ))),
        );
    }
    if allowed > 0 {
        return None;
    }

    let budget = budget_text(spec);
    let covered: Vec<&Pod> = state
        .pods
        .iter()
        .filter(|p| k8s::namespace(&p.metadata) == ns && p.metadata.deletion_timestamp.is_none())
        .filter(|p| selects(&sel, p.metadata.labels.as_ref()))
        .collect();
    let node_of = |p: &Pod| p.spec.as_ref().and_then(|s| s.node_name.clone());
    let blocked = blocking_events(state, ns, name, &covered);
    // Covered pods on cordoned nodes, with how long ago the node was cordoned.
    let cordoned: Vec<(String, &Pod, Option<i64>)> = covered
        .iter()
        .filter_map(|p| {
            let node = node_of(p)?;
            let n = state.nodes.iter().find(|n| k8s::name(&n.metadata) == node)?;
            let spec = n.spec.as_ref()?;
            let since = spec
                .taints
                .iter()
                .flatten()
                .find(|t| t.key == "node.kubernetes.io/unschedulable")
                .and_then(|t| t.time_added.as_ref())
                .map(|t| k8s::seconds_since(t, state.now));
            spec.unschedulable.unwrap_or(false).then_some((node, *p, since))
        })
        .collect();
    let config_blocks = healthy >= desired_healthy;
    if !config_blocks && blocked.is_empty() {
        // Unhealthy pods use up the budget: their own findings say why.
        return None;
    }

    // The drain: the node an eviction was refused on, else a cordoned node holding a pod.
    let drain: Option<(String, String)> = blocked
        .iter()
        .find_map(|(_, node, pod)| Some((node.clone()?, pod.clone().or_else(|| pod_on(&covered, node.as_deref()?))?)))
        .or_else(|| cordoned.first().map(|(n, p, _)| (n.clone(), k8s::name(&p.metadata).to_string())));
    // A refused eviction, or a cordoned node (a drain, an upgrade) holding a pod it protects:
    // something is stuck on this budget right now.
    let severity = if blocked.is_empty() && cordoned.is_empty() { Severity::Warning } else { Severity::Error };
    let mut message = if config_blocks {
        format!(
            "pdb {ns}/{name} blocks evictions and node drains: {budget} of {expected} pods allows 0 disruptions even with all {healthy} healthy"
        )
    } else {
        format!(
            "pdb {ns}/{name} blocks evictions and node drains: only {healthy} of {expected} pods are healthy and {budget} needs {desired_healthy}"
        )
    };
    match (&drain, blocked.is_empty()) {
        (Some((node, pod)), false) => {
            message.push_str(&format!("; node {node} is being drained and cannot evict pod {pod}"))
        }
        (Some((node, pod)), true) => {
            let ago = cordoned
                .first()
                .and_then(|(_, _, s)| *s)
                .map(|s| format!(" {} ago", k8s::human_duration(s)))
                .unwrap_or_default();
            message.push_str(&format!("; node {node} was cordoned{ago} for a drain and cannot evict pod {pod}"));
        }
        (None, false) => message.push_str("; evictions are being refused"),
        (None, true) => {}
    }
    let mut f = Finding::new(subject, severity, "PDBBlocksDisruption", message)
        .evidence(format!("spec: {budget}, selector {sel_text}"))
        .evidence(status_line);
    f.evidence.extend(blocked.iter().take(2).map(|(e, _, _)| event_line(e, state.now)));
    for (node, _, _) in cordoned.iter().take(1) {
        f.evidence.push(format!("node {node}: spec.unschedulable true (cordoned)"));
    }

    if !config_blocks {
        if let Some(p) = covered.iter().find(|p| !k8s::is_ready(p)) {
            f = f.caused_by(ObjectRef::new("Pod", ns, k8s::name(&p.metadata)));
        }
        return Some(
            f.action(Action::text(format!("Fix the unhealthy pods selected by pdb {ns}/{name} (see their findings); evictions resume once {desired_healthy} are healthy")))
                .warn("Deleting the PDB or draining with --disable-eviction pushes the drain through but takes down pods the budget protects"),
        );
    }
    let max_zero = spec.max_unavailable.as_ref().is_some_and(is_zero);
    let min_all = matches!(&spec.min_available, Some(IntOrString::String(s)) if s.trim() == "100%");
    if max_zero || min_all {
        f = f
            .action(Action::text(format!(
                "Set maxUnavailable: 1 on pdb {ns}/{name} (kubectl patch pdb {name} -n {ns} --type merge -p '{{\"spec\":{{\"minAvailable\":null,\"maxUnavailable\":1}}}}') so one pod at a time can be evicted"
            )))
            .warn(format!("Scaling up will not help: {budget} forbids every voluntary eviction whatever the replica count"));
    } else if let Some(IntOrString::Int(n)) = &spec.min_available {
        let workload = covered.first().and_then(|p| state.controller_of(&p.metadata));
        match workload {
            Some((kind, dep)) if kind == "Deployment" => {
                let hpa = state.hpas.iter().find(|h| {
                    k8s::namespace(&h.metadata) == ns
                        && h.spec.scale_target_ref.kind == "Deployment"
                        && h.spec.scale_target_ref.name == dep
                });
                f = match hpa {
                    Some(h) => f.action(Action::text(format!(
                        "Raise minReplicas of hpa {ns}/{} to {} so the PDB allows one eviction at a time",
                        k8s::name(&h.metadata),
                        n + 1
                    ))),
                    None => f.action(Action::tool(
                        "scale_deployment",
                        json!({"namespace": ns, "deployment": dep, "replicas": n + 1}),
                        format!("Scale deployment {ns}/{dep} from {expected} to {} replicas so the PDB allows one eviction at a time", n + 1),
                    )),
                };
            }
            _ => {}
        }
        f = f.action(Action::text(format!(
            "Or relax the budget: minAvailable {} or maxUnavailable: 1 on pdb {ns}/{name}",
            (n - 1).max(0)
        )));
    } else {
        f = f.action(Action::text(format!(
            "Relax the budget of pdb {ns}/{name} so at least one pod can be evicted (e.g. maxUnavailable: 1)"
        )));
    }
    Some(f.warn("Deleting the PDB or draining with --disable-eviction pushes the drain through but takes down pods the budget protects"))
}

/// A covered pod on `node`.
fn pod_on(covered: &[&Pod], node: &str) -> Option<String> {
    covered
        .iter()
        .find(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
        .map(|p| k8s::name(&p.metadata).to_string())
}

/// Recent events saying an eviction was refused because of this budget: `(event, node, pod)`.
fn blocking_events<'s>(
    state: &'s ClusterState,
    ns: &str,
    name: &str,
    covered: &[&Pod],
) -> Vec<(&'s Event, Option<String>, Option<String>)> {
    let now = state.now.as_second();
    let mut out: Vec<(&Event, Option<String>, Option<String>)> = state
        .events
        .iter()
        .filter(|e| crate::tools::event_last_time(e).is_some_and(|t| now - t.as_second() <= RECENT_EVENT_SECS))
        .filter_map(|e| {
            let msg = e.message.as_deref().unwrap_or_default();
            let lower = msg.to_ascii_lowercase();
            if !(lower.contains("disruption budget") || lower.contains("poddisruptionbudget") || lower.contains("pdb"))
            {
                return None;
            }
            let o = &e.involved_object;
            let kind = o.kind.as_deref().unwrap_or_default();
            let oname = o.name.as_deref().unwrap_or_default();
            let ons = o.namespace.as_deref().or(e.metadata.namespace.as_deref()).unwrap_or_default();
            let names_us = msg.contains(&format!("\"{ns}/{name}\""))
                || msg.contains(&format!("pdb \"{name}\""))
                || msg.contains(&format!("pdb {ns}/{name}"));
            match kind {
                "Pod" if ons == ns => {
                    let p = covered.iter().find(|p| k8s::name(&p.metadata) == oname)?;
                    let node = p.spec.as_ref().and_then(|s| s.node_name.clone());
                    Some((e, node, Some(oname.to_string())))
                }
                "PodDisruptionBudget" if ons == ns && oname == name => Some((e, None, None)),
                "Node" => {
                    let hosts =
                        covered.iter().any(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(oname));
                    (names_us || hosts).then(|| (e, Some(oname.to_string()), None))
                }
                _ if names_us => Some((e, None, None)),
                _ => None,
            }
        })
        .collect();
    out.sort_by_key(|(e, _, _)| std::cmp::Reverse(crate::tools::event_last_time(e)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use serde_json::Value;

    struct Case {
        name: &'static str,
        objects: Vec<Value>,
        /// (reason, severity, texts the message must carry); None = no finding.
        expect: Option<(&'static str, Severity, &'static [&'static str])>,
    }

    fn web_pods() -> Vec<Value> {
        ["a1b2c", "d3e4f", "g5h6j"]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                pod(&format!("web-7d9f8b6c5d-{s}"))
                    .in_ns("prod")
                    .labels(&[("app", "web")])
                    .owned_by_rs("web-7d9f8b6c5d")
                    .on_node(&format!("ip-10-0-{i}-10"))
                    .build()
            })
            .collect()
    }

    fn web() -> Vec<Value> {
        [
            vec![deployment("prod", "web", 3, 3, 2), replicaset("prod", "web", "7d9f8b6c5d", 2, "web:2", 3, 3)],
            web_pods(),
        ]
        .concat()
    }

    #[test]
    fn pdb_cases() {
        let cases = vec![
            Case {
                name: "healthy budget",
                objects: [web(), vec![pdb("prod", "web", "web").build()]].concat(),
                expect: None,
            },
            Case {
                name: "minAvailable equals the pod count",
                objects: [web(), vec![pdb("prod", "web", "web").min_available(json!(3)).status(3, 3, 3, 0).build()]]
                    .concat(),
                expect: Some((
                    "PDBBlocksDisruption",
                    Severity::Warning,
                    &["blocks evictions and node drains", "minAvailable 3 of 3 pods", "all 3 healthy"],
                )),
            },
            Case {
                name: "maxUnavailable 0",
                objects: [web(), vec![pdb("prod", "web", "web").max_unavailable(json!(0)).status(3, 3, 3, 0).build()]]
                    .concat(),
                expect: Some(("PDBBlocksDisruption", Severity::Warning, &["maxUnavailable 0 of 3 pods"])),
            },
            Case {
                name: "drain refused by the budget",
                objects: [
                    web(),
                    vec![
                        pdb("prod", "web", "web").min_available(json!("100%")).status(3, 3, 3, 0).build(),
                        node_cordoned(node("ip-10-0-1-10", "2", "7Gi")),
                        event(
                            "prod",
                            "Pod",
                            "web-7d9f8b6c5d-d3e4f",
                            "Warning",
                            "EvictionBlocked",
                            "Cannot evict pod as it would violate the pod's disruption budget.",
                            12,
                            20,
                        ),
                    ],
                ]
                .concat(),
                expect: Some((
                    "PDBBlocksDisruption",
                    Severity::Error,
                    &[
                        "minAvailable 100% of 3 pods",
                        "node ip-10-0-1-10 is being drained and cannot evict pod web-7d9f8b6c5d-d3e4f",
                    ],
                )),
            },
            Case {
                name: "cordoned node holding a covered pod is a stuck drain",
                objects: [
                    web(),
                    vec![
                        pdb("prod", "web", "web").min_available(json!(3)).status(3, 3, 3, 0).build(),
                        node_cordoned(node("ip-10-0-2-10", "2", "7Gi")),
                    ],
                ]
                .concat(),
                expect: Some((
                    "PDBBlocksDisruption",
                    Severity::Error,
                    &["node ip-10-0-2-10 was cordoned 20m ago for a drain and cannot evict pod web-7d9f8b6c5d-g5h6j"],
                )),
            },
            Case {
                name: "unhealthy pods using up the budget without a drain are left to their findings",
                objects: [web(), vec![pdb("prod", "web", "web").min_available(json!(2)).status(3, 1, 2, 0).build()]]
                    .concat(),
                expect: None,
            },
            Case {
                name: "selects no pods",
                objects: [web(), vec![pdb("prod", "api", "api").status(0, 0, 1, 0).build()]].concat(),
                expect: Some(("PDBNoPods", Severity::Info, &["selects no pods (selector app=api)"])),
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
    fn min_available_equal_to_replicas_proposes_one_more_replica() {
        let objs = [web(), vec![pdb("prod", "web", "web").min_available(json!(3)).status(3, 3, 3, 0).build()]].concat();
        let f = analyze(&state(objs)).remove(0);
        let scale = f.actions.iter().find(|a| a.tool.as_deref() == Some("scale_deployment"));
        assert_eq!(
            scale.and_then(|a| a.args.clone()),
            Some(json!({"namespace": "prod", "deployment": "web", "replicas": 4})),
            "{f:#?}"
        );
    }

    #[test]
    fn max_unavailable_zero_warns_that_scaling_does_not_help() {
        let objs =
            [web(), vec![pdb("prod", "web", "web").max_unavailable(json!(0)).status(3, 3, 3, 0).build()]].concat();
        let f = analyze(&state(objs)).remove(0);
        assert!(f.actions.iter().all(|a| a.tool.is_none()), "{f:#?}");
        assert!(f.warnings.iter().any(|w| w.contains("Scaling up will not help")), "{f:#?}");
    }

    #[test]
    fn match_expressions_select_pods() {
        let sel: LabelSelector = serde_json::from_value(json!({"matchExpressions": [
            {"key": "app", "operator": "In", "values": ["web", "api"]}, {"key": "canary", "operator": "DoesNotExist"}]}))
        .unwrap_or_default();
        let labels = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()
        };
        assert!(selects(&sel, Some(&labels(&[("app", "api")]))));
        assert!(!selects(&sel, Some(&labels(&[("app", "api"), ("canary", "true")]))));
        assert!(!selects(&sel, Some(&labels(&[("app", "db")]))));
        assert!(selects(&LabelSelector::default(), None), "an empty selector selects every pod");
    }
}
