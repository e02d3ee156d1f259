//! ReplicaSet analyzer: ReplicaSets the API server refuses pods to (ReplicaFailure condition,
//! FailedCreate events), classified: an exhausted ResourceQuota (with requested, used and
//! limited amounts), a quota demanding requests/limits the template lacks, a missing
//! ServiceAccount, an admission webhook that denies or cannot be reached, Pod Security.
//!
//! Old ReplicaSets scaled to 0 are ignored. The classification is shared with the
//! StatefulSet and DaemonSet analyzers, whose controllers fail to create pods the same way.

use k8s_openapi::api::apps::v1::ReplicaSet;

use super::deployment::recent_events;
use super::event_line;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s;
use crate::tools::revision_of;

/// Runs the replicaset analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    state.replicasets.iter().filter_map(|rs| analyze_replicaset(state, rs)).collect()
}

fn analyze_replicaset(state: &ClusterState, rs: &ReplicaSet) -> Option<Finding> {
    let ns = k8s::namespace(&rs.metadata);
    let name = k8s::name(&rs.metadata);
    let desired = rs.spec.replicas.unwrap_or(1);
    if desired == 0 {
        return None;
    }
    let (cf, evidence) = rs_create_failure(state, rs)?;
    let have = rs.status.as_ref().map_or(0, |s| s.replicas);
    let deployment = rs
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true) && o.kind == "Deployment")
        .map(|o| o.name.clone());
    // The workload's readiness decides the severity: a surge pod refused while the old
    // revision serves everyone is a stuck rollout, not an outage.
    let (ready, wanted) = match deployment.as_deref().and_then(|d| {
        state.deployments.iter().find(|x| k8s::namespace(&x.metadata) == ns && k8s::name(&x.metadata) == d)
    }) {
        Some(d) => (d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0), d.spec.replicas.unwrap_or(1)),
        None => (rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0), desired),
    };
    let severity = if ready == 0 {
        Severity::Critical
    } else if ready < wanted {
        Severity::Error
    } else {
        Severity::Warning
    };
    let owner = match &deployment {
        Some(d) => format!(" (deployment {d}, revision {})", revision_of(&rs.metadata)),
        None => String::new(),
    };
    let mut f = Finding::new(
        ObjectRef::new("ReplicaSet", ns, name),
        severity,
        cf.reason,
        format!("replicaset {ns}/{name}{owner} cannot create pods: {}; {have} of {desired} pods exist", cf.why),
    );
    f.evidence = evidence;
    f.cause = cf.cause.clone();
    f = f.action(Action::text(cf.action.clone()));
    if let Some(w) = &cf.warning {
        f = f.warn(w.clone());
    }
    Some(f)
}

/// Why the API server refuses a controller's pods.
#[derive(Debug, Clone)]
pub(super) struct CreateFailure {
    /// The reason code: QuotaExceeded, QuotaRequiresResources, ServiceAccountNotFound,
    /// AdmissionWebhookDenied, AdmissionWebhookUnavailable, PodSecurityViolation or FailedCreate.
    pub reason: &'static str,
    /// The explanation, one clause with the numbers.
    pub why: String,
    /// The object to fix, when one is named.
    pub cause: Option<ObjectRef>,
    /// What to do.
    pub action: String,
    /// An obvious action that would be wrong.
    pub warning: Option<String>,
}

/// Why a ReplicaSet cannot create pods, with the evidence: its ReplicaFailure condition or its
/// recent FailedCreate events.
pub(super) fn rs_create_failure(state: &ClusterState, rs: &ReplicaSet) -> Option<(CreateFailure, Vec<String>)> {
    let cond = rs.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|c| {
        c.iter().find(|c| c.type_.as_deref() == Some("ReplicaFailure") && c.status.as_deref() == Some("True"))
    });
    let cond_msg = cond.and_then(|c| c.message.as_deref());
    let mut out = create_failure(state, "ReplicaSet", k8s::namespace(&rs.metadata), k8s::name(&rs.metadata), cond_msg)?;
    if let Some(c) = cond {
        out.1.insert(
            0,
            format!(
                "condition ReplicaFailure=True {}: {}",
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or("").trim()
            ),
        );
    }
    Some(out)
}

/// Why a controller (`kind ns/name`) cannot create pods: from `condition_message` when its
/// status carries one, else from its newest recent FailedCreate event. `None` when neither
/// says anything.
pub(super) fn create_failure(
    state: &ClusterState,
    kind: &str,
    ns: &str,
    name: &str,
    condition_message: Option<&str>,
) -> Option<(CreateFailure, Vec<String>)> {
    let events = recent_events(state, kind, ns, name, &["FailedCreate"]);
    let message = condition_message
        .filter(|m| !m.trim().is_empty())
        .map(str::to_string)
        .or_else(|| events.first().and_then(|e| e.message.clone()))?;
    let evidence = events.iter().take(2).map(|e| event_line(e, state.now)).collect();
    Some((classify(ns, &message), evidence))
}

/// Classifies a FailedCreate message.
pub(super) fn classify(ns: &str, message: &str) -> CreateFailure {
    let msg = clean(message);
    let lower = msg.to_ascii_lowercase();
    if let Some(rest) = after(&msg, "exceeded quota: ") {
        let (quota, tail) = rest.split_once(", ").unwrap_or((rest, ""));
        let requested = between(tail, "requested: ", ", used: ");
        let used = between(tail, "used: ", ", limited: ");
        let limited = after(tail, "limited: ");
        let numbers = match (requested, used, limited) {
            (Some(r), Some(u), Some(l)) => format!(": requested {r}, used {u}, limited {l}"),
            _ => String::new(),
        };
        return CreateFailure {
            reason: "QuotaExceeded",
            why: format!("ResourceQuota {quota} is exhausted{numbers}"),
            cause: Some(ObjectRef::new("ResourceQuota", ns, quota)),
            action: format!(
                "Raise ResourceQuota {ns}/{quota}{} or free quota in {ns}: lower the pods' requests or remove workloads that no longer need it",
                limited.map(|l| format!(" (limited: {l})")).unwrap_or_default()
            ),
            warning: Some(
                "Scaling up or restarting will not help: every new pod needs quota that is already used".into(),
            ),
        };
    }
    if let Some(rest) = after(&msg, "failed quota: ") {
        let (quota, tail) = rest.split_once(": ").unwrap_or((rest, ""));
        return CreateFailure {
            reason: "QuotaRequiresResources",
            why: format!("ResourceQuota {quota} requires resources the pod template does not set ({})", tail.trim()),
            // The quota works as intended: the template is what lacks the resources.
            cause: None,
            action: format!(
                "Set the requests and limits ResourceQuota {ns}/{quota} names on every container, or add a LimitRange with defaults in {ns}"
            ),
            warning: Some(
                "Restarting will not help: the API server refuses every pod without those requests and limits".into(),
            ),
        };
    }
    if lower.contains("error looking up service account") || lower.contains("serviceaccount \"") {
        let sa = quoted_after(&msg, "serviceaccount \"")
            .or_else(|| {
                after(&msg, "service account ")
                    .and_then(|s| s.split(':').next())
                    .map(|s| s.rsplit('/').next().unwrap_or(s).to_string())
            })
            .unwrap_or_default();
        return CreateFailure {
            reason: "ServiceAccountNotFound",
            why: format!("ServiceAccount {ns}/{sa} does not exist"),
            cause: Some(ObjectRef::new("ServiceAccount", ns, &sa)),
            action: format!(
                "Create ServiceAccount {ns}/{sa} (with its eks.amazonaws.com/role-arn annotation if the app uses IRSA) or fix serviceAccountName in the pod template"
            ),
            warning: Some(format!(
                "Restarting will not help: the API server refuses every pod until ServiceAccount {sa} exists"
            )),
        };
    }
    if lower.contains("failed calling webhook") {
        let hook = quoted_after(&msg, "failed calling webhook \"").unwrap_or_default();
        return CreateFailure {
            reason: "AdmissionWebhookUnavailable",
            why: format!("admission webhook {hook} cannot be reached: {}", after(&msg, "\": ").unwrap_or(&msg).trim()),
            cause: None,
            action: format!(
                "Restore the webhook {hook}: check its Service has ready pods, and on EKS that the cluster security group lets the control plane reach the webhook port on the nodes; or set its failurePolicy to Ignore"
            ),
            warning: Some(
                "Restarting the workload will not help: every pod creation goes through the unreachable webhook".into(),
            ),
        };
    }
    if lower.contains("admission webhook") && lower.contains("denied the request") {
        let hook = quoted_after(&msg, "admission webhook \"").unwrap_or_default();
        return CreateFailure {
            reason: "AdmissionWebhookDenied",
            why: format!(
                "admission webhook {hook} denies them: {}",
                after(&msg, "denied the request: ").unwrap_or(&msg).trim()
            ),
            cause: None,
            action: format!(
                "Change the pod template to satisfy the policy behind webhook {hook}, or get a policy exception"
            ),
            warning: None,
        };
    }
    if lower.contains("violates podsecurity") {
        let level = quoted_after(&msg, "PodSecurity \"").unwrap_or_default();
        return CreateFailure {
            reason: "PodSecurityViolation",
            why: format!(
                "namespace {ns} enforces Pod Security {level}: {}",
                after(&msg, "\": ").unwrap_or(&msg).trim()
            ),
            cause: Some(ObjectRef::new("Namespace", "", ns)),
            action: format!(
                "Make the pod template comply with Pod Security {level} (securityContext), or change the namespace's pod-security.kubernetes.io/enforce label"
            ),
            warning: None,
        };
    }
    CreateFailure {
        reason: "FailedCreate",
        why: msg.trim().to_string(),
        cause: None,
        action: "Fix what the API server's error names; pods are created again once it accepts them".into(),
        warning: None,
    }
}

/// Strips `Error creating: ` and `pods "x" is forbidden: `.
fn clean(message: &str) -> String {
    let m = message.trim();
    let m = m.strip_prefix("Error creating: ").unwrap_or(m);
    match m.find(" is forbidden: ") {
        Some(i) if m.starts_with("pods ") => m[i + " is forbidden: ".len()..].to_string(),
        _ => m.to_string(),
    }
}

fn after<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    s.find(prefix).map(|i| &s[i + prefix.len()..])
}

fn between<'s>(s: &'s str, start: &str, end: &str) -> Option<&'s str> {
    let rest = after(s, start)?;
    Some(rest.find(end).map_or(rest, |i| &rest[..i]))
}

/// The text between `prefix` (case-insensitive) and the next `"`.
fn quoted_after(s: &str, prefix: &str) -> Option<String> {
    let i = s.to_ascii_lowercase().find(&prefix.to_ascii_lowercase())? + prefix.len();
    let rest = s.get(i..)?;
    Some(rest[..rest.find('"')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use serde_json::Value;

    /// (reason, severity, texts the message must carry, cause kind and name).
    type Expect = (&'static str, Severity, &'static [&'static str], Option<(&'static str, &'static str)>);

    struct Case {
        name: &'static str,
        objects: Vec<Value>,
        /// None = no finding.
        expect: Option<Expect>,
    }

    const QUOTA: &str = "pods \"web-7d9f8b6c5d-zz9yy\" is forbidden: exceeded quota: compute-quota, requested: requests.memory=2Gi, used: requests.memory=7Gi, limited: requests.memory=8Gi";

    /// The ReplicaSet of web at revision 4; only its ready pods exist.
    fn rs(replicas: i32, ready: i32) -> Value {
        let mut rs = replicaset("prod", "web", "7d9f8b6c5d", 4, "web:4", replicas, ready);
        rs["status"]["replicas"] = serde_json::json!(ready);
        rs
    }

    #[test]
    fn replicaset_cases() {
        let cases = vec![
            Case {
                name: "healthy replicaset",
                objects: vec![deployment("prod", "web", 2, 2, 4), rs(2, 2)],
                expect: None,
            },
            Case {
                name: "old replicaset at 0 with a stale failure is ignored",
                objects: vec![replicaset_failing(rs(0, 0), QUOTA)],
                expect: None,
            },
            Case {
                name: "old FailedCreate event is ignored",
                objects: vec![
                    deployment("prod", "web", 2, 2, 4),
                    rs(2, 2),
                    event("prod", "ReplicaSet", "web-7d9f8b6c5d", "Warning", "FailedCreate", QUOTA, 3, 7200),
                ],
                expect: None,
            },
            Case {
                name: "quota exhausted with no replica ready",
                objects: vec![deployment("prod", "web", 2, 0, 4), replicaset_failing(rs(2, 0), QUOTA)],
                expect: Some((
                    "QuotaExceeded",
                    Severity::Critical,
                    &[
                        "deployment web, revision 4",
                        "ResourceQuota compute-quota is exhausted",
                        "requested requests.memory=2Gi",
                        "used requests.memory=7Gi",
                        "limited requests.memory=8Gi",
                        "0 of 2 pods exist",
                    ],
                    Some(("ResourceQuota", "compute-quota")),
                )),
            },
            Case {
                name: "quota blocks the surge pod while the old revision serves",
                objects: vec![
                    deployment("prod", "web", 3, 3, 4),
                    rs(1, 0),
                    event(
                        "prod",
                        "ReplicaSet",
                        "web-7d9f8b6c5d",
                        "Warning",
                        "FailedCreate",
                        &format!("Error creating: {QUOTA}"),
                        14,
                        30,
                    ),
                ],
                expect: Some((
                    "QuotaExceeded",
                    Severity::Warning,
                    &["compute-quota", "0 of 1 pods exist"],
                    Some(("ResourceQuota", "compute-quota")),
                )),
            },
            Case {
                name: "service account missing",
                objects: vec![
                    deployment("prod", "web", 2, 0, 4),
                    rs(2, 0),
                    event(
                        "prod",
                        "ReplicaSet",
                        "web-7d9f8b6c5d",
                        "Warning",
                        "FailedCreate",
                        "Error creating: pods \"web-7d9f8b6c5d-\" is forbidden: error looking up service account prod/web-sa: serviceaccount \"web-sa\" not found",
                        20,
                        10,
                    ),
                ],
                expect: Some((
                    "ServiceAccountNotFound",
                    Severity::Critical,
                    &["ServiceAccount prod/web-sa does not exist"],
                    Some(("ServiceAccount", "web-sa")),
                )),
            },
            Case {
                name: "quota requires limits",
                objects: vec![
                    rs(1, 0),
                    event(
                        "prod",
                        "ReplicaSet",
                        "web-7d9f8b6c5d",
                        "Warning",
                        "FailedCreate",
                        "Error creating: pods \"web-7d9f8b6c5d-abcde\" is forbidden: failed quota: compute-quota: must specify limits.cpu for: app; limits.memory for: app",
                        5,
                        10,
                    ),
                ],
                expect: Some((
                    "QuotaRequiresResources",
                    Severity::Critical,
                    &["compute-quota", "must specify limits.cpu for: app"],
                    None,
                )),
            },
            Case {
                name: "webhook unreachable",
                objects: vec![
                    deployment("prod", "web", 2, 1, 4),
                    rs(2, 1),
                    event(
                        "prod",
                        "ReplicaSet",
                        "web-7d9f8b6c5d",
                        "Warning",
                        "FailedCreate",
                        "Error creating: Internal error occurred: failed calling webhook \"mpod.kb.io\": failed to call webhook: Post \"https://webhook.system.svc:443/mutate?timeout=10s\": context deadline exceeded",
                        9,
                        10,
                    ),
                ],
                expect: Some((
                    "AdmissionWebhookUnavailable",
                    Severity::Error,
                    &["mpod.kb.io", "context deadline exceeded", "1 of 2 pods exist"],
                    None,
                )),
            },
            Case {
                name: "other failure stays FailedCreate",
                objects: vec![replicaset_failing(
                    rs(1, 0),
                    "pods \"web-7d9f8b6c5d-q\" is forbidden: unable to validate against any security context constraint",
                )],
                expect: Some((
                    "FailedCreate",
                    Severity::Critical,
                    &["unable to validate against any security context constraint"],
                    None,
                )),
            },
        ];
        for case in cases {
            let findings = analyze(&state(case.objects));
            match case.expect {
                None => assert!(findings.is_empty(), "{}: expected nothing, got {findings:#?}", case.name),
                Some((reason, sev, texts, cause)) => {
                    assert_eq!(findings.len(), 1, "{}: {findings:#?}", case.name);
                    let f = &findings[0];
                    assert_eq!(f.reason, reason, "{}: {}", case.name, f.message);
                    assert_eq!(f.severity, sev, "{}: {}", case.name, f.message);
                    for t in texts {
                        assert!(f.message.contains(t), "{}: message lacks {t:?}: {}", case.name, f.message);
                    }
                    assert_eq!(f.cause, cause.map(|(k, n)| ObjectRef::new(k, "prod", n)), "{}", case.name);
                    assert!(!f.evidence.is_empty(), "{}: no evidence", case.name);
                }
            }
        }
    }
}
