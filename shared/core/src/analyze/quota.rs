//! ResourceQuota analyzer: quotas at or over their hard limit for any resource (warning, with
//! the numbers and the pods using the most of it) and quotas above 90% (info).
//!
//! Pods refused by an exhausted quota are the ReplicaSet/StatefulSet analyzers' findings
//! (FailedCreate); they link their cause to the ResourceQuota by name, so they group under this
//! finding. The refusals are only quoted here as evidence.

use k8s_openapi::api::core::v1::{Pod, ResourceQuota};

use super::event_line;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s;
use crate::quantity::{format_bytes, format_millicores, parse_bytes, parse_millicores};

/// Usage above this fraction of a hard limit is reported as info.
const NEAR_LIMIT: f64 = 0.9;

/// Runs the ResourceQuota analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    state.quotas.iter().filter_map(|q| analyze_quota(state, q)).collect()
}

/// One resource of a quota: name, used and hard as written, and their ratio.
struct Usage {
    resource: String,
    used: String,
    hard: String,
    ratio: f64,
}

fn usages(q: &ResourceQuota) -> Vec<Usage> {
    let Some(status) = q.status.as_ref() else { return Vec::new() };
    let Some(hard) = status.hard.as_ref() else { return Vec::new() };
    let used = status.used.as_ref();
    let mut out = Vec::new();
    for (resource, h) in hard {
        let u = used.and_then(|u| u.get(resource)).map_or_else(|| "0".to_string(), |q| q.0.clone());
        let (Some(hv), Some(uv)) = (parse_bytes(&h.0), parse_bytes(&u)) else { continue };
        let ratio = if hv > 0.0 {
            uv / hv
        } else if uv > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        out.push(Usage { resource: resource.clone(), used: u, hard: h.0.clone(), ratio });
    }
    out.sort_by(|a, b| b.ratio.total_cmp(&a.ratio).then(a.resource.cmp(&b.resource)));
    out
}

fn analyze_quota(state: &ClusterState, q: &ResourceQuota) -> Option<Finding> {
    let ns = k8s::namespace(&q.metadata);
    let name = k8s::name(&q.metadata);
    let usages = usages(q);
    // A hard limit of 0 with nothing used deliberately forbids the resource: not a finding.
    let exhausted: Vec<&Usage> =
        usages.iter().filter(|u| u.ratio >= 1.0 && parse_bytes(&u.hard).is_some_and(|h| h > 0.0)).collect();
    let near: Vec<&Usage> = usages.iter().filter(|u| u.ratio >= NEAR_LIMIT && u.ratio < 1.0).collect();
    let text = |u: &Usage| format!("{} {} of {} used", u.resource, u.used, u.hard);
    let (severity, reason, what) = if !exhausted.is_empty() {
        (Severity::Warning, "QuotaExhausted", exhausted.iter().map(|u| text(u)).collect::<Vec<_>>().join(", "))
    } else if !near.is_empty() {
        (
            Severity::Info,
            "QuotaNearLimit",
            near.iter().map(|u| format!("{} ({:.0}%)", text(u), u.ratio * 100.0)).collect::<Vec<_>>().join(", "),
        )
    } else {
        return None;
    };
    // Pods refused because of this quota (FailedCreate events naming it).
    let marker = format!("exceeded quota: {name}");
    let refusals: Vec<_> = state
        .events
        .iter()
        .filter(|e| e.metadata.namespace.as_deref().or(e.involved_object.namespace.as_deref()) == Some(ns))
        .filter(|e| {
            e.reason.as_deref() == Some("FailedCreate") && e.message.as_deref().is_some_and(|m| m.contains(&marker))
        })
        .collect();
    let refused = if refusals.is_empty() {
        if exhausted.is_empty() { String::new() } else { "; new pods needing it will be refused".to_string() }
    } else {
        let owners: Vec<String> = refusals
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.involved_object.kind.as_deref().unwrap_or("?"),
                    e.involved_object.name.as_deref().unwrap_or("?")
                )
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        format!("; it is refusing pods of {}", owners.join(", "))
    };
    let mut f = Finding::new(
        ObjectRef::new("ResourceQuota", ns, name),
        severity,
        reason,
        format!("resource quota {ns}/{name}: {what}{refused}"),
    );
    for u in &usages {
        f.evidence.push(format!("status: {} used {} / hard {}", u.resource, u.used, u.hard));
    }
    f.evidence.extend(refusals.iter().take(2).map(|e| event_line(e, state.now)));
    let top = exhausted.first().or(near.first());
    if let Some(u) = top
        && let Some(consumers) = top_consumers(state, ns, &u.resource)
    {
        f.evidence.push(consumers);
    }
    if severity == Severity::Warning {
        let resource = exhausted.first().map_or("the resource", |u| u.resource.as_str());
        f = f
            .action(Action::text(format!(
                "Raise spec.hard.{resource} of quota {ns}/{name} if the namespace needs more, or lower the {resource} of the workloads in {ns} (the largest users are in the evidence)"
            )))
            .action(Action::text(format!("Scale down or delete workloads in {ns} that are no longer needed to free {resource}")))
            .warn(format!("Restarting or scaling up workloads in {ns} will fail while the quota is exhausted: new pods are refused at admission"));
    }
    Some(f)
}

/// `largest requests.memory: deployment api 6Gi, pod x 1Gi` for compute resources.
fn top_consumers(state: &ClusterState, ns: &str, resource: &str) -> Option<String> {
    let (kind, res) = match resource {
        "requests.cpu" | "cpu" => ("requests", "cpu"),
        "requests.memory" | "memory" => ("requests", "memory"),
        "limits.cpu" => ("limits", "cpu"),
        "limits.memory" => ("limits", "memory"),
        _ => return None,
    };
    let amount = |p: &Pod| -> f64 {
        p.spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .filter_map(|c| {
                let r = c.resources.as_ref()?;
                let m = if kind == "requests" { r.requests.as_ref()? } else { r.limits.as_ref()? };
                let q = &m.get(res)?.0;
                if res == "cpu" { parse_millicores(q) } else { parse_bytes(q) }
            })
            .sum()
    };
    let mut by_owner: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    for p in state.pods_in(ns) {
        if matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed")) {
            continue;
        }
        let owner = match state.controller_of(&p.metadata) {
            Some((k, n)) => format!("{} {n}", k.to_ascii_lowercase()),
            None => format!("pod {}", k8s::name(&p.metadata)),
        };
        *by_owner.entry(owner).or_default() += amount(p);
    }
    let mut top: Vec<(String, f64)> = by_owner.into_iter().filter(|(_, v)| *v > 0.0).collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    if top.is_empty() {
        return None;
    }
    let fmt = |v: f64| if res == "cpu" { format_millicores(v) } else { format_bytes(v) };
    Some(format!(
        "largest {resource}: {}",
        top.iter().take(3).map(|(o, v)| format!("{o} {}", fmt(*v))).collect::<Vec<_>>().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    struct Case {
        name: &'static str,
        objects: Vec<serde_json::Value>,
        /// (reason, severity, texts the message must carry); None = no finding.
        expect: Option<(&'static str, Severity, &'static [&'static str])>,
    }

    #[test]
    fn quota_cases() {
        let cases = vec![
            Case {
                name: "quota with room",
                objects: vec![resource_quota(
                    "prod",
                    "compute",
                    &[("requests.memory", "8Gi", "4Gi"), ("pods", "20", "7")],
                )],
                expect: None,
            },
            Case {
                name: "memory exhausted",
                objects: vec![
                    resource_quota(
                        "prod",
                        "compute",
                        &[("requests.memory", "8Gi", "8Gi"), ("requests.cpu", "4", "1500m"), ("pods", "20", "9")],
                    ),
                    pod("api-7d9f8b6c5d-x2k4p")
                        .in_ns("prod")
                        .owned_by_rs("api-7d9f8b6c5d")
                        .requests("500m", "6Gi")
                        .build(),
                ],
                expect: Some((
                    "QuotaExhausted",
                    Severity::Warning,
                    &["resource quota prod/compute: requests.memory 8Gi of 8Gi used"],
                )),
            },
            Case {
                name: "exhausted quota refusing pods",
                objects: vec![
                    resource_quota("prod", "compute", &[("pods", "10", "10")]),
                    event(
                        "prod",
                        "ReplicaSet",
                        "web-7d9f8b6c5d",
                        "Warning",
                        "FailedCreate",
                        "Error creating: pods \"web-7d9f8b6c5d-q\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=10, limited: pods=10",
                        14,
                        30,
                    ),
                ],
                expect: Some((
                    "QuotaExhausted",
                    Severity::Warning,
                    &["pods 10 of 10 used", "refusing pods of ReplicaSet web-7d9f8b6c5d"],
                )),
            },
            Case {
                name: "over ninety percent",
                objects: vec![resource_quota("prod", "compute", &[("limits.cpu", "10", "9500m")])],
                expect: Some(("QuotaNearLimit", Severity::Info, &["limits.cpu 9500m of 10 used (95%)"])),
            },
            Case {
                name: "a zero limit that forbids a resource",
                objects: vec![resource_quota("prod", "no-lb", &[("services.loadbalancers", "0", "0")])],
                expect: None,
            },
        ];
        for case in cases {
            let findings = analyze(&state(case.objects));
            match case.expect {
                None => assert!(findings.is_empty(), "{}: expected nothing, got {findings:#?}", case.name),
                Some((reason, sev, texts)) => {
                    assert_eq!(findings.len(), 1, "{}: {findings:#?}", case.name);
                    let f = &findings[0];
                    assert_eq!(f.kind, "ResourceQuota", "{}", case.name);
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
    fn exhausted_quota_names_the_largest_users_and_warns_against_scaling_up() {
        let objs = vec![
            resource_quota("prod", "compute", &[("requests.memory", "8Gi", "8Gi")]),
            pod("api-7d9f8b6c5d-x2k4p").in_ns("prod").owned_by_rs("api-7d9f8b6c5d").requests("500m", "6Gi").build(),
            pod("worker-0").in_ns("prod").owned_by("StatefulSet", "worker").requests("500m", "2Gi").build(),
        ];
        let findings = analyze(&state(objs));
        let f = &findings[0];
        assert!(
            f.evidence.iter().any(|e| e == "largest requests.memory: deployment api 6Gi, statefulset worker 2Gi"),
            "{f:#?}"
        );
        assert!(f.warnings.iter().any(|w| w.contains("scaling up")), "{f:#?}");
    }
}
