//! StatefulSet analyzer: StatefulSets with fewer ready pods than replicas, linked to the first
//! pod (by ordinal) that is not ready — with OrderedReady that pod also holds back the ones
//! after it — and rolling updates stuck on a pod of the new revision that never gets ready
//! (which a template revert alone does not fix). Pods the controller cannot create are
//! classified like a ReplicaSet's (quota, ServiceAccount, webhook).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;

use super::deployment::{GRACE_SECS, failing_pod, is_failing, is_unschedulable, pod_state_text, unready_secs};
use super::replicaset::create_failure;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s;

/// Runs the statefulset analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    state.statefulsets.iter().filter_map(|s| analyze_statefulset(state, s)).collect()
}

/// The ordinal of a StatefulSet pod (`db-2` → 2).
fn ordinal(pod: &Pod) -> i64 {
    k8s::name(&pod.metadata).rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(i64::MAX)
}

fn analyze_statefulset(state: &ClusterState, ss: &StatefulSet) -> Option<Finding> {
    let ns = k8s::namespace(&ss.metadata);
    let name = k8s::name(&ss.metadata);
    let desired = ss.spec.replicas.unwrap_or(1);
    let status = ss.status.as_ref()?;
    let ready = status.ready_replicas.unwrap_or(0);
    if desired == 0 || ready >= desired {
        return None;
    }
    let ordered = ss.spec.pod_management_policy.as_deref() != Some("Parallel");
    let mut pods = state.pods_of("StatefulSet", ns, name);
    pods.sort_by_key(|p| ordinal(p));
    let start = i64::from(ss.spec.ordinals.as_ref().and_then(|o| o.start).unwrap_or(0));
    let missing: Vec<String> = (start..start + i64::from(desired))
        .filter(|i| !pods.iter().any(|p| ordinal(p) == *i))
        .map(|i| format!("{name}-{i}"))
        .collect();
    // The first not-ready pod by ordinal: with OrderedReady it is the one holding the rest.
    let first_bad: Vec<&Pod> = pods.iter().copied().filter(|p| is_failing(p)).take(1).collect();
    let picked = failing_pod(state, &first_bad);
    if let Some((p, None)) = &picked
        && unready_secs(p, state.now) < GRACE_SECS
    {
        return None;
    }
    let failure = if picked.is_none() { create_failure(state, "StatefulSet", ns, name, None) } else { None };
    if picked.is_none() && failure.is_none() {
        return None;
    }

    let current = status.current_revision.as_deref().unwrap_or_default();
    let update = status.update_revision.as_deref().unwrap_or_default();
    let updated = status.updated_replicas.unwrap_or(0);
    let stuck = picked.as_ref().is_some_and(|(p, _)| {
        !update.is_empty()
            && current != update
            && updated < desired
            && p.metadata.labels.as_ref().and_then(|l| l.get("controller-revision-hash")).is_some_and(|h| h == update)
    });

    let mut message = format!("statefulset {ns}/{name} has {ready} of {desired} pods ready");
    let mut reason = "StatefulSetUnavailable";
    if let Some((p, _)) = &picked {
        let pname = k8s::name(&p.metadata);
        message.push_str(&format!("; pod {pname} is {}", pod_state_text(p)));
        if stuck {
            reason = "StatefulSetUpdateStuck";
            message.push_str(&format!(
                "; its rolling update from revision {current} to {update} is stuck at {updated} of {desired} pods updated"
            ));
        }
        if ordered && !missing.is_empty() {
            message
                .push_str(&format!("; {} not created: OrderedReady waits for {pname} to be ready", missing.join(", ")));
        }
    } else if let Some((cf, _)) = &failure {
        reason = cf.reason;
        let what = if missing.is_empty() { "pods".to_string() } else { missing.join(", ") };
        message.push_str(&format!("; it cannot create {what}: {}", cf.why));
    }
    let severity = if ready == 0 { Severity::Critical } else { Severity::Error };
    let mut f = Finding::new(ObjectRef::new("StatefulSet", ns, name), severity, reason, message).evidence(format!(
        "status: {desired} desired, {ready} ready, {} current, {updated} updated; currentRevision {current}, updateRevision {update}",
        status.current_replicas.unwrap_or(0)
    ));
    f.evidence.push(format!("podManagementPolicy {}", if ordered { "OrderedReady" } else { "Parallel" }));

    match (&picked, failure) {
        (Some((p, pf)), _) => {
            let pname = k8s::name(&p.metadata);
            if let Some(pf) = pf {
                f.evidence.push(format!("pod {pname}: {}", pf.message));
            }
            f = f.caused_by(ObjectRef::new("Pod", ns, pname));
            if stuck {
                f = f
                    .action(Action::text(format!(
                        "Revert the template to revision {current} (kubectl rollout undo statefulset/{name} -n {ns}) or fix revision {update}, then delete pod {pname} so it is recreated from the fixed template"
                    )))
                    .warn(format!(
                        "Reverting the template alone will not unstick it: the controller waits for pod {pname} to be Ready before replacing it, so delete that pod after reverting"
                    ));
            } else {
                f = f.action(Action::text(format!(
                    "Fix why pod {pname} is not ready (see its finding); the StatefulSet proceeds once it is"
                )));
            }
            if ordered && !missing.is_empty() && !is_unschedulable(p) {
                f = f.warn(format!(
                    "Scaling up will not help: with OrderedReady no further pod is created until {pname} is ready"
                ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use serde_json::{Value, json};

    struct Case {
        name: &'static str,
        objects: Vec<Value>,
        /// (reason, severity, texts the message must carry, cause pod); None = no finding.
        expect: Option<(&'static str, Severity, &'static [&'static str], Option<&'static str>)>,
    }

    fn db_pod(i: usize) -> PodBuilder {
        pod(&format!("db-{i}"))
            .in_ns("data")
            .owned_by("StatefulSet", "db")
            .labels(&[("app", "db"), ("controller-revision-hash", "db-5d8f7c9b4")])
    }

    #[test]
    fn statefulset_cases() {
        let cases = vec![
            Case {
                name: "healthy statefulset",
                objects: vec![statefulset("data", "db", 3, 3), db_pod(0).build(), db_pod(1).build(), db_pod(2).build()],
                expect: None,
            },
            Case { name: "scaled to zero", objects: vec![statefulset("data", "db", 0, 0)], expect: None },
            Case {
                name: "pod just restarted is not yet a problem",
                objects: vec![
                    statefulset("data", "db", 3, 2),
                    db_pod(0).build(),
                    db_pod(1)
                        .unready()
                        .with(|p| p["status"]["conditions"][3]["lastTransitionTime"] = json!(ago(30)))
                        .build(),
                    db_pod(2).build(),
                ],
                expect: None,
            },
            Case {
                name: "ordered statefulset held by a crashing pod",
                objects: vec![statefulset("data", "db", 3, 1), db_pod(0).build(), db_pod(1).crashlooping(7).build()],
                expect: Some((
                    "StatefulSetUnavailable",
                    Severity::Error,
                    &[
                        "1 of 3 pods ready",
                        "pod db-1 is CrashLoopBackOff",
                        "db-2 not created: OrderedReady waits for db-1",
                    ],
                    Some("db-1"),
                )),
            },
            Case {
                name: "first not-ready pod by ordinal is the cause",
                objects: vec![
                    statefulset("data", "db", 12, 9),
                    db_pod(10).crashlooping(2).build(),
                    db_pod(2).crashlooping(2).build(),
                    db_pod(11).crashlooping(2).build(),
                ],
                expect: Some((
                    "StatefulSetUnavailable",
                    Severity::Error,
                    &["9 of 12 pods ready", "pod db-2 is CrashLoopBackOff"],
                    Some("db-2"),
                )),
            },
            Case {
                name: "update stuck on the new revision",
                objects: vec![
                    statefulset_updating(statefulset("data", "db", 3, 2), "db-7f8d9e6c1", 1),
                    db_pod(0).build(),
                    db_pod(1).build(),
                    db_pod(2)
                        .crashlooping(5)
                        .with(|p| p["metadata"]["labels"]["controller-revision-hash"] = json!("db-7f8d9e6c1"))
                        .build(),
                ],
                expect: Some((
                    "StatefulSetUpdateStuck",
                    Severity::Error,
                    &[
                        "2 of 3 pods ready",
                        "from revision db-5d8f7c9b4 to db-7f8d9e6c1 is stuck at 1 of 3 pods updated",
                    ],
                    Some("db-2"),
                )),
            },
            Case {
                name: "no pod ready at all is critical",
                objects: vec![
                    statefulset("data", "db", 1, 0),
                    db_pod(0).waiting("ImagePullBackOff", "Back-off pulling image").build(),
                ],
                expect: Some((
                    "StatefulSetUnavailable",
                    Severity::Critical,
                    &["0 of 1 pods ready", "ImagePullBackOff"],
                    Some("db-0"),
                )),
            },
            Case {
                name: "controller cannot create pods",
                objects: vec![
                    statefulset("data", "db", 2, 0),
                    event(
                        "data",
                        "StatefulSet",
                        "db",
                        "Warning",
                        "FailedCreate",
                        "create Pod db-0 in StatefulSet db failed error: pods \"db-0\" is forbidden: error looking up service account data/db: serviceaccount \"db\" not found",
                        11,
                        20,
                    ),
                ],
                expect: Some((
                    "ServiceAccountNotFound",
                    Severity::Critical,
                    &["0 of 2 pods ready", "cannot create db-0, db-1", "ServiceAccount data/db does not exist"],
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
                    if let Some(p) = cause {
                        assert_eq!(f.cause, Some(ObjectRef::new("Pod", "data", p)), "{}", case.name);
                    }
                }
            }
        }
    }

    #[test]
    fn stuck_update_warns_that_a_revert_alone_does_not_help() {
        let objs = vec![
            statefulset_updating(statefulset("data", "db", 3, 2), "db-7f8d9e6c1", 1),
            db_pod(0).build(),
            db_pod(1).build(),
            db_pod(2)
                .crashlooping(5)
                .with(|p| p["metadata"]["labels"]["controller-revision-hash"] = json!("db-7f8d9e6c1"))
                .build(),
        ];
        let f = analyze(&state(objs)).remove(0);
        assert!(f.warnings.iter().any(|w| w.contains("Reverting the template alone will not unstick it")), "{f:#?}");
        assert!(f.actions.iter().any(|a| a.summary.contains("delete pod db-2")), "{f:#?}");
        assert!(f.actions.iter().all(|a| a.tool.is_none()), "no write tool applies to a StatefulSet: {f:#?}");
    }
}
