//! HorizontalPodAutoscaler analyzer (autoscaling/v2): HPAs that cannot scale — their target
//! workload does not exist, a container of the target has no request for the metric's
//! resource, the resource metrics API (metrics-server) or a custom/external metrics adapter
//! returns nothing, the scale subresource cannot be updated — and HPAs pinned at
//! maxReplicas while utilization stays above target. A target scaled to 0 (scaling disabled)
//! is not a problem.

use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use serde_json::json;

use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s;
use crate::kinds::Kind;

/// Runs the hpa analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    state.hpas.iter().filter_map(|h| analyze_hpa(state, h)).collect()
}

fn condition<'a>(h: &'a HorizontalPodAutoscaler, ty: &str) -> Option<&'a HorizontalPodAutoscalerCondition> {
    h.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == ty)
}

fn condition_line(c: &HorizontalPodAutoscalerCondition) -> String {
    format!(
        "condition {}={} {}: {}",
        c.type_,
        c.status,
        c.reason.as_deref().unwrap_or(""),
        c.message.as_deref().unwrap_or("").trim()
    )
}

/// The word after `prefix` in `s`, without quotes.
fn word_after<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let rest = &s[s.find(prefix)? + prefix.len()..];
    rest.split_whitespace().next().map(|w| w.trim_matches(|c| c == '"' || c == ',' || c == ';' || c == ':'))
}

/// Whether the workload an HPA scales exists (`None` when its kind was not read or is not one
/// we hold).
fn target_exists(state: &ClusterState, ns: &str, kind: &str, name: &str) -> Option<bool> {
    fn found<'m>(mut metas: impl Iterator<Item = &'m ObjectMeta>, ns: &str, name: &str) -> bool {
        metas.any(|m| k8s::namespace(m) == ns && k8s::name(m) == name)
    }
    match kind {
        "Deployment" if state.has_read(Kind::Deployment) => {
            Some(found(state.deployments.iter().map(|d| &d.metadata), ns, name))
        }
        "StatefulSet" if state.has_read(Kind::StatefulSet) => {
            Some(found(state.statefulsets.iter().map(|d| &d.metadata), ns, name))
        }
        "ReplicaSet" if state.has_read(Kind::ReplicaSet) => {
            Some(found(state.replicasets.iter().map(|d| &d.metadata), ns, name))
        }
        _ => None,
    }
}

fn analyze_hpa(state: &ClusterState, h: &HorizontalPodAutoscaler) -> Option<Finding> {
    let ns = k8s::namespace(&h.metadata);
    let name = k8s::name(&h.metadata);
    let subject = ObjectRef::new("HorizontalPodAutoscaler", ns, name);
    let target = &h.spec.scale_target_ref;
    let target_text = format!("{} {}", target.kind.to_ascii_lowercase(), target.name);
    let max = h.spec.max_replicas;
    let current = h.status.as_ref().and_then(|s| s.current_replicas).unwrap_or(0);
    let able = condition(h, "AbleToScale");
    let active = condition(h, "ScalingActive");

    let get_scale_failed = able.is_some_and(|c| c.status == "False" && c.reason.as_deref() == Some("FailedGetScale"));
    if target_exists(state, ns, &target.kind, &target.name) == Some(false) || get_scale_failed {
        let mut f = Finding::new(
            subject,
            Severity::Error,
            "HPATargetNotFound",
            format!("hpa {ns}/{name} scales {target_text}, which does not exist: it scales nothing"),
        )
        .evidence(format!("spec.scaleTargetRef: {} {}", target.kind, target.name));
        if let Some(c) = able.filter(|c| c.status == "False") {
            f.evidence.push(condition_line(c));
        }
        return Some(f.action(Action::text(format!(
            "Point scaleTargetRef of hpa {ns}/{name} at the workload it should scale (kind and name), or delete the HPA"
        ))));
    }
    if let Some(c) = able.filter(|c| c.status == "False") {
        return Some(
            Finding::new(
                subject,
                Severity::Error,
                "HPAUnableToScale",
                format!("hpa {ns}/{name} cannot scale {target_text}: {}", c.message.as_deref().unwrap_or("AbleToScale is False").trim()),
            )
            .evidence(condition_line(c))
            .action(Action::text("Check the HPA controller's permissions on the target's scale subresource and the target's admission webhooks")),
        );
    }
    if let Some(c) = active.filter(|c| c.status == "False" && c.reason.as_deref() != Some("ScalingDisabled")) {
        return Some(scaling_inactive(state, h, c, &target_text, current));
    }
    at_max(h, &target_text, current, max)
}

/// The target utilization (percent) of a resource metric, when the HPA sets one.
fn target_utilization(h: &HorizontalPodAutoscaler, resource: &str) -> Option<i32> {
    h.spec.metrics.iter().flatten().find_map(|m| {
        let r = m.resource.as_ref().filter(|r| r.name == resource)?;
        r.target.average_utilization
    })
}

fn scaling_inactive(
    state: &ClusterState,
    h: &HorizontalPodAutoscaler,
    c: &HorizontalPodAutoscalerCondition,
    target_text: &str,
    current: i32,
) -> Finding {
    let ns = k8s::namespace(&h.metadata);
    let name = k8s::name(&h.metadata);
    let subject = ObjectRef::new("HorizontalPodAutoscaler", ns, name);
    let msg = c.message.as_deref().unwrap_or("").trim();
    let reason = c.reason.as_deref().unwrap_or("");
    let stuck = format!("it stays at {current} replicas whatever the load");
    let target = &h.spec.scale_target_ref;

    if msg.contains("missing request for") {
        let resource = word_after(msg, "missing request for ").unwrap_or("cpu");
        let container = word_after(msg, "in container ").unwrap_or("?");
        let pod = word_after(msg, "of Pod ");
        let target_pct = target_utilization(h, resource).map(|t| format!(" (target {t}%)")).unwrap_or_default();
        let mut f = Finding::new(
            subject,
            Severity::Error,
            "HPAMissingRequests",
            format!(
                "hpa {ns}/{name} cannot scale {target_text}: container {container} has no {resource} request, so {resource} utilization{target_pct} cannot be computed; {stuck}"
            ),
        )
        .evidence(condition_line(c));
        if let Some(p) = pod {
            f.evidence.push(format!("pod {p}: container {container} sets no resources.requests.{resource}"));
        }
        let typed = (target.kind == "Deployment")
            .then(|| suggested_request(state, ns, &target.name, container, resource))
            .flatten()
            .filter(|_| matches!(resource, "cpu" | "memory"));
        f = match typed {
            Some((value, basis)) => f.action(Action::tool(
                "set_container_resources",
                {
                    let mut args = json!({"namespace": ns, "deployment": target.name, "container": container});
                    args[format!("{resource}_request")] = json!(value);
                    args
                },
                format!("Set a {resource} request of {value} on container {container} of deployment {ns}/{} ({basis}); the HPA computes utilization as usage / request", target.name),
            )),
            None => f.action(Action::text(format!(
                "Set a {resource} request on container {container} of {target_text} in {ns}, sized from its real usage (kubectl top pod)"
            ))),
        };
        return f
            .action(Action::text("Every container of the pod needs the request, or the HPA still cannot compute utilization"))
            .warn(format!("Raising maxReplicas or minReplicas will not help: without a {resource} request the HPA cannot compute utilization at all"));
    }

    if matches!(reason, "FailedGetPodsMetric" | "FailedGetObjectMetric" | "FailedGetExternalMetric") {
        let kind = if reason == "FailedGetExternalMetric" { "external" } else { "custom" };
        return Finding::new(
            subject,
            Severity::Error,
            "HPAMetricsUnavailable",
            format!("hpa {ns}/{name} cannot scale {target_text}: the {kind} metrics API does not serve its metric ({msg}); {stuck}"),
        )
        .evidence(condition_line(c))
        .action(Action::text(format!(
            "Check the {kind} metrics adapter (prometheus-adapter, KEDA, CloudWatch adapter): that it is running, registered as an APIService, and exposes the metric the HPA names"
        )))
        .warn("Raising maxReplicas will not help: the HPA has no metric to act on");
    }

    let resource_api = matches!(reason, "FailedGetResourceMetric" | "FailedGetContainerResourceMetric")
        || msg.contains("resource metrics API")
        || msg.contains("pods.metrics.k8s.io");
    if resource_api {
        let resource = word_after(msg, "for resource ").unwrap_or("cpu");
        let server = state.deployments.iter().find(|d| k8s::name(&d.metadata).contains("metrics-server"));
        let (why, cause, action) = match server {
            None if state.has_read(Kind::Deployment) => (
                "metrics-server is not installed (no metrics-server deployment in the cluster)".to_string(),
                None,
                "Install metrics-server (the EKS metrics-server add-on or its Helm chart)".to_string(),
            ),
            None => (
                "the resource metrics API (metrics-server) returns no metrics".to_string(),
                None,
                "Check that metrics-server is installed and ready".to_string(),
            ),
            Some(d) => {
                let (dns, dname) = (k8s::namespace(&d.metadata), k8s::name(&d.metadata));
                let ready = d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
                if ready == 0 {
                    (
                        format!("metrics-server (deployment {dns}/{dname}) has no ready pod"),
                        Some(ObjectRef::new("Deployment", dns, dname)),
                        format!("Fix deployment {dns}/{dname} (see its finding)"),
                    )
                } else {
                    (
                        format!(
                            "metrics-server (deployment {dns}/{dname}) runs but returns no {resource} metrics for these pods"
                        ),
                        None,
                        format!(
                            "Check metrics-server's log: it must reach each kubelet on port 10250 (node security group) and the pods must be running; kubectl top pod -n {ns} shows what it returns"
                        ),
                    )
                }
            }
        };
        let mut f = Finding::new(
            subject,
            Severity::Error,
            "HPAMetricsUnavailable",
            format!("hpa {ns}/{name} cannot scale {target_text}: it gets no {resource} metrics because {why}; {stuck}"),
        )
        .evidence(condition_line(c));
        f.cause = cause;
        return f
            .action(Action::text(action))
            .warn("Raising maxReplicas will not help: the HPA has no metric to act on");
    }

    Finding::new(
        subject,
        Severity::Warning,
        "HPAScalingInactive",
        format!(
            "hpa {ns}/{name} cannot scale {} {}: {reason}: {msg}; {stuck}",
            target.kind.to_ascii_lowercase(),
            target.name
        ),
    )
    .evidence(condition_line(c))
    .action(Action::text("Fix what the ScalingActive condition names (metric spec, selector, target)"))
}

/// A request to propose for a container that has none, with where the value comes from: an
/// older revision of the Deployment that set one, the container's limit, the namespace's
/// LimitRange default, else a modest starting point.
fn suggested_request(
    state: &ClusterState,
    ns: &str,
    deployment: &str,
    container: &str,
    resource: &str,
) -> Option<(String, String)> {
    let d =
        state.deployments.iter().find(|d| k8s::namespace(&d.metadata) == ns && k8s::name(&d.metadata) == deployment)?;
    let current = crate::tools::revision_of(&d.metadata);
    let mut older: Vec<(i64, &k8s_openapi::api::apps::v1::ReplicaSet)> = state
        .replicasets
        .iter()
        .filter(|rs| {
            k8s::namespace(&rs.metadata) == ns
                && rs.metadata.owner_references.iter().flatten().any(|o| o.kind == "Deployment" && o.name == deployment)
        })
        .map(|rs| (crate::tools::revision_of(&rs.metadata), rs))
        .filter(|(r, _)| *r < current)
        .collect();
    older.sort_by_key(|(r, _)| std::cmp::Reverse(*r));
    for (rev, rs) in older {
        let req = rs
            .spec
            .template
            .as_ref()
            .and_then(|t| t.spec.as_ref())
            .and_then(|s| s.containers.iter().find(|c| c.name == container))
            .and_then(|c| c.resources.as_ref()?.requests.as_ref()?.get(resource).map(|q| q.0.clone()));
        if let Some(q) = req {
            return Some((q, format!("as revision {rev} had")));
        }
    }
    let spec = d.spec.template.spec.as_ref()?;
    let c = spec.containers.iter().find(|c| c.name == container).or(spec.containers.first())?;
    if let Some(q) = c.resources.as_ref().and_then(|r| r.limits.as_ref()).and_then(|l| l.get(resource)) {
        return Some((q.0.clone(), "equal to its limit".into()));
    }
    let lr = state
        .limit_ranges
        .iter()
        .filter(|l| k8s::namespace(&l.metadata) == ns)
        .flat_map(|l| l.spec.iter().flat_map(|s| s.limits.iter()))
        .filter(|i| i.type_ == "Container")
        .find_map(|i| {
            i.default_request
                .as_ref()
                .and_then(|m| m.get(resource))
                .or(i.default.as_ref().and_then(|m| m.get(resource)))
        });
    if let Some(q) = lr {
        return Some((q.0.clone(), format!("the LimitRange default in {ns}")));
    }
    let start = if resource == "cpu" { "200m" } else { "256Mi" };
    Some((start.into(), "a starting point: adjust it to the usage kubectl top pod shows".into()))
}

/// An HPA pinned at maxReplicas while a resource is above its target.
fn at_max(h: &HorizontalPodAutoscaler, target_text: &str, current: i32, max: i32) -> Option<Finding> {
    if current < max {
        return None;
    }
    let ns = k8s::namespace(&h.metadata);
    let name = k8s::name(&h.metadata);
    let (resource, now_pct, target_pct) = h.status.as_ref()?.current_metrics.iter().flatten().find_map(|m| {
        let r = m.resource.as_ref()?;
        let now = r.current.average_utilization?;
        let target = target_utilization(h, &r.name)?;
        (now > target).then(|| (r.name.clone(), now, target))
    })?;
    let mut f = Finding::new(
        ObjectRef::new("HorizontalPodAutoscaler", ns, name),
        Severity::Warning,
        "HPAAtMaxReplicas",
        format!(
            "hpa {ns}/{name} is at its maximum of {max} replicas with {resource} at {now_pct}% of requests against a {target_pct}% target: {target_text} cannot get more capacity"
        ),
    )
    .evidence(format!("status.currentReplicas {current}, spec.maxReplicas {max}"))
    .evidence(format!("{resource} utilization {now_pct}%, target {target_pct}%"));
    if let Some(c) = condition(h, "ScalingLimited").filter(|c| c.status == "True") {
        f.evidence.push(condition_line(c));
    }
    Some(
        f.action(Action::text(format!(
            "Raise maxReplicas of hpa {ns}/{name} if the nodes (or Cluster Autoscaler / Karpenter) can take more pods, and find what drives the load; more efficient pods or higher requests also help"
        )))
        .warn(format!("Scaling {target_text} by hand will not stick: the HPA sets its replicas back to at most {max}")),
    )
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

    fn web() -> Value {
        deployment("prod", "web", 3, 3, 2)
    }

    fn metrics_server(ready: i32) -> Value {
        deployment("kube-system", "metrics-server", 1, ready, 1)
    }

    const NO_METRICS: &str = "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API";

    #[test]
    fn hpa_cases() {
        let cases = vec![
            Case { name: "healthy hpa", objects: vec![web(), metrics_server(1), hpa("prod", "web", "web", 3, 10).build()], expect: None },
            Case {
                name: "at max but under target is fine",
                objects: vec![web(), hpa("prod", "web", "web", 3, 10).current(10, 60).build()],
                expect: None,
            },
            Case {
                name: "target scaled to zero disables scaling",
                objects: vec![
                    deployment("prod", "web", 0, 0, 2),
                    hpa("prod", "web", "web", 1, 5).condition("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero").build(),
                ],
                expect: None,
            },
            Case {
                name: "missing cpu request",
                objects: vec![
                    web(),
                    hpa("prod", "web", "web", 3, 10)
                        .no_metrics()
                        .condition("ScalingActive", "False", "FailedGetResourceMetric", "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container app of Pod web-7d9f8b6c5d-x2k4p")
                        .build(),
                ],
                expect: Some(("HPAMissingRequests", Severity::Error, &["container app has no cpu request", "(target 70%)", "stays at 3 replicas"])),
            },
            Case {
                name: "metrics-server missing",
                objects: vec![web(), hpa("prod", "web", "web", 3, 10).no_metrics().condition("ScalingActive", "False", "FailedGetResourceMetric", NO_METRICS).build()],
                expect: Some(("HPAMetricsUnavailable", Severity::Error, &["no cpu metrics", "metrics-server is not installed"])),
            },
            Case {
                name: "metrics-server down",
                objects: vec![
                    web(),
                    metrics_server(0),
                    hpa("prod", "web", "web", 3, 10).no_metrics().condition("ScalingActive", "False", "FailedGetResourceMetric", NO_METRICS).build(),
                ],
                expect: Some(("HPAMetricsUnavailable", Severity::Error, &["metrics-server (deployment kube-system/metrics-server) has no ready pod"])),
            },
            Case {
                name: "custom metric missing",
                objects: vec![
                    web(),
                    hpa("prod", "web", "web", 3, 10)
                        .condition("ScalingActive", "False", "FailedGetPodsMetric", "the HPA was unable to compute the replica count: unable to get metric http_requests_per_second: unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered")
                        .build(),
                ],
                expect: Some(("HPAMetricsUnavailable", Severity::Error, &["custom metrics API", "http_requests_per_second"])),
            },
            Case {
                name: "pinned at max above target",
                objects: vec![
                    web(),
                    hpa("prod", "web", "web", 3, 10)
                        .current(10, 180)
                        .condition("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count")
                        .build(),
                ],
                expect: Some(("HPAAtMaxReplicas", Severity::Warning, &["maximum of 10 replicas", "cpu at 180% of requests against a 70% target"])),
            },
            Case {
                name: "target deployment missing",
                objects: vec![hpa("prod", "web", "web-v2", 3, 10).build()],
                expect: Some(("HPATargetNotFound", Severity::Error, &["scales deployment web-v2, which does not exist"])),
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
    fn at_max_warns_that_manual_scaling_does_not_stick() {
        let objs = vec![web(), hpa("prod", "web", "web", 3, 10).current(10, 180).build()];
        let f = analyze(&state(objs)).remove(0);
        assert!(f.warnings.iter().any(|w| w.contains("will not stick")), "{f:#?}");
        assert!(f.actions.iter().all(|a| a.tool.is_none()), "scale_deployment would be undone by the HPA: {f:#?}");
    }

    #[test]
    fn missing_request_proposes_the_request_an_older_revision_had() {
        let mut old = replicaset("prod", "web", "aaaaa11111", 1, "web:1", 0, 0);
        old["spec"]["template"]["spec"]["containers"][0]["resources"] =
            serde_json::json!({"requests": {"cpu": "250m"}});
        let objs = vec![
            web(),
            old,
            hpa("prod", "web", "web", 3, 10)
                .condition("ScalingActive", "False", "FailedGetResourceMetric", "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container app of Pod web-7d9f8b6c5d-x2k4p")
                .build(),
        ];
        let f = analyze(&state(objs)).remove(0);
        let typed = f.actions.iter().find(|a| a.tool.as_deref() == Some("set_container_resources"));
        assert_eq!(
            typed.and_then(|a| a.args.clone()),
            Some(json!({"namespace": "prod", "deployment": "web", "container": "app", "cpu_request": "250m"})),
            "{f:#?}"
        );
        assert!(typed.is_some_and(|a| a.summary.contains("as revision 1 had")), "{f:#?}");
    }

    #[test]
    fn down_metrics_server_is_the_cause() {
        let objs = vec![
            web(),
            metrics_server(0),
            hpa("prod", "web", "web", 3, 10)
                .condition("ScalingActive", "False", "FailedGetResourceMetric", NO_METRICS)
                .build(),
        ];
        let f = analyze(&state(objs)).remove(0);
        assert_eq!(f.cause, Some(ObjectRef::new("Deployment", "kube-system", "metrics-server")), "{f:#?}");
    }
}
