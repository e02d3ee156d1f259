//! Job analyzer: Jobs that failed — backoff limit reached (with the limit, the failure count,
//! and the failed pod's exit code and log lines; the Job is the root and its failed pods'
//! findings become its chain, since each pod is one attempt of it), active deadline exceeded
//! (with the deadline and how far it got), or another failure reason. A Complete Job is
//! healthy; a CronJob's failed Job that a later run of the same CronJob superseded with a
//! success is info only.

use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};

use super::pod::explaining_lines;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s::{self, human_duration};

/// Runs the job analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    state.jobs.iter().filter_map(|j| analyze_job(state, j)).collect()
}

/// A true condition of a Job.
pub(super) fn true_condition<'a>(job: &'a Job, ty: &str) -> Option<&'a JobCondition> {
    job.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == ty && c.status == "True")
}

/// Whether a Job finished: `Some(true)` complete, `Some(false)` failed, `None` still running.
pub(super) fn outcome(job: &Job) -> Option<bool> {
    if true_condition(job, "Complete").is_some() {
        Some(true)
    } else if true_condition(job, "Failed").is_some() {
        Some(false)
    } else {
        None
    }
}

/// The CronJob owning a Job.
pub(super) fn cronjob_of(job: &Job) -> Option<&str> {
    job.metadata.owner_references.iter().flatten().find(|o| o.kind == "CronJob").map(|o| o.name.as_str())
}

/// The creation time of a Job in seconds (0 when unknown).
pub(super) fn created(job: &Job) -> i64 {
    job.metadata.creation_timestamp.as_ref().map_or(0, |t| t.0.as_second())
}

/// A one-clause summary of why a Job failed: `BackoffLimitExceeded, 4 pod failures`.
pub(super) fn failure_summary(job: &Job) -> String {
    let reason = true_condition(job, "Failed").and_then(|c| c.reason.as_deref()).unwrap_or("Failed");
    let failed = job.status.as_ref().and_then(|s| s.failed).unwrap_or(0);
    format!("{reason}, {failed} pod failure{}", if failed == 1 { "" } else { "s" })
}

fn analyze_job(state: &ClusterState, job: &Job) -> Option<Finding> {
    let cond = true_condition(job, "Failed")?;
    if true_condition(job, "Complete").is_some() {
        return None;
    }
    let ns = k8s::namespace(&job.metadata);
    let name = k8s::name(&job.metadata);
    let subject = ObjectRef::new("Job", ns, name);
    let now = state.now;
    let ago = cond
        .last_transition_time
        .as_ref()
        .map(|t| format!(" {} ago", human_duration(k8s::seconds_since(t, now))))
        .unwrap_or_default();
    let reason = cond.reason.as_deref().unwrap_or("Failed");
    let cron = cronjob_of(job);
    let owner = cron.map(|c| format!(" (cronjob {c})")).unwrap_or_default();
    let cond_line = format!("condition Failed=True {reason}: {}", cond.message.as_deref().unwrap_or("").trim());

    // A later run of the same CronJob succeeded: this failure is history.
    if let Some(c) = cron {
        let later_success = state
            .jobs
            .iter()
            .filter(|o| k8s::namespace(&o.metadata) == ns && cronjob_of(o) == Some(c))
            .find(|o| created(o) > created(job) && outcome(o) == Some(true));
        if let Some(later) = later_success {
            return Some(
                Finding::new(
                    subject,
                    Severity::Info,
                    "JobFailureSuperseded",
                    format!(
                        "job {ns}/{name}{owner} failed{ago} ({reason}) but a later run, job {}, succeeded",
                        k8s::name(&later.metadata)
                    ),
                )
                .evidence(cond_line),
            );
        }
    }

    let spec = job.spec.as_ref();
    let status = job.status.as_ref();
    let failed = status.and_then(|s| s.failed).unwrap_or(0);
    let succeeded = status.and_then(|s| s.succeeded).unwrap_or(0);
    let completions = spec.and_then(|s| s.completions).unwrap_or(1);
    let ran = match (status.and_then(|s| s.start_time.as_ref()), cond.last_transition_time.as_ref()) {
        (Some(start), Some(end)) => Some(end.0.as_second() - start.0.as_second()),
        _ => None,
    };
    let status_line = format!("status: {failed} failed, {succeeded} succeeded of {completions} completions");

    match reason {
        "BackoffLimitExceeded" => {
            let limit = spec.and_then(|s| s.backoff_limit).unwrap_or(6);
            let failed_pod = last_failed_pod(state, ns, name);
            let mut detail = String::new();
            let mut evidence = Vec::new();
            if let Some((p, container, t, previous)) = &failed_pod {
                let pname = k8s::name(&p.metadata);
                let lines = state
                    .log(ns, pname, container, *previous)
                    .or_else(|| state.log(ns, pname, container, !*previous))
                    .map(|l| explaining_lines(l, 3))
                    .unwrap_or_default();
                // The statement of the error: the last error line that is not a traceback
                // header or a stack frame (a Python exception comes last, after its frames).
                let explanation = lines
                    .iter()
                    .rev()
                    .find(|l| crate::logs::is_error_line(l) && !l.starts_with("Traceback") && !crate::logs::is_stack_line(l))
                    .or(lines.last());
                detail = format!(
                    "; pod {pname} exited with code {}{}{}",
                    t.exit_code,
                    t.reason.as_deref().filter(|r| *r != "Error").map(|r| format!(" ({r})")).unwrap_or_default(),
                    explanation.map(|l| format!(": {}", l.trim())).unwrap_or_default()
                );
                evidence.push(format!(
                    "pod {pname}: container {container} terminated: reason {}, exitCode {}",
                    t.reason.as_deref().unwrap_or("Error"),
                    t.exit_code
                ));
                evidence.extend(lines.into_iter().map(|l| format!("log: {l}")));
            }
            let mut f = Finding::new(
                subject,
                Severity::Error,
                "BackoffLimitExceeded",
                format!(
                    "job {ns}/{name}{owner} failed{ago}: {failed} pod failure{} reached its backoffLimit of {limit}{detail}",
                    if failed == 1 { "" } else { "s" }
                ),
            )
            .evidence(cond_line)
            .evidence(format!("spec.backoffLimit {limit}"))
            .evidence(status_line);
            f.evidence.extend(evidence);
            // Each failed pod is an attempt of this Job: their findings are its chain.
            f.absorbs = state.pods_of("Job", ns, name).iter().map(|p| ObjectRef::new("Pod", ns, k8s::name(&p.metadata))).collect();
            f = match &failed_pod {
                Some((p, container, t, _)) => f.action(Action::text(format!(
                        "Read the log of container {container} in pod {} and fix the cause of exit code {}; then re-run the job",
                        k8s::name(&p.metadata),
                        t.exit_code
                    ))),
                None => f.action(Action::text("Read the logs of the job's failed pods and fix the failure; then re-run the job")),
            };
            Some(f.warn("Raising backoffLimit only retries the same failure: fix its cause first"))
        }
        "DeadlineExceeded" => {
            let deadline = spec.and_then(|s| s.active_deadline_seconds);
            let deadline_text = deadline.map_or_else(|| "its activeDeadlineSeconds".to_string(), |d| format!("its activeDeadlineSeconds ({d}s)"));
            let ran_text = ran.map(|r| format!(" after running {}", human_duration(r))).unwrap_or_default();
            let mut f = Finding::new(
                subject,
                Severity::Error,
                "DeadlineExceeded",
                format!("job {ns}/{name}{owner} was stopped{ran_text} for exceeding {deadline_text}: {succeeded} of {completions} completions succeeded"),
            )
            .evidence(cond_line)
            .evidence(status_line);
            if let Some(d) = deadline {
                f = f.evidence(format!("spec.activeDeadlineSeconds {d}"));
            }
            Some(f.action(Action::text(
                "Find why the job runs longer than its deadline (slow dependency, too much work per run, pods Pending before they start) or raise activeDeadlineSeconds",
            )))
        }
        _ => Some(
            Finding::new(
                subject,
                Severity::Error,
                "JobFailed",
                format!(
                    "job {ns}/{name}{owner} failed{ago} ({reason}): {}; {failed} failed, {succeeded} of {completions} completions succeeded",
                    cond.message.as_deref().unwrap_or("no message").trim()
                ),
            )
            .evidence(cond_line)
            .evidence(status_line)
            .action(Action::text("Read the failed pods' logs and the job's pod failure policy, fix the failure, then re-run the job")),
        ),
    }
}

/// The job's most recently failed pod, with the failed container, its termination, and
/// whether that termination is the previous instance (the container restarted since).
fn last_failed_pod<'s>(
    state: &'s ClusterState,
    ns: &str,
    job: &str,
) -> Option<(&'s Pod, String, ContainerStateTerminated, bool)> {
    let mut found: Vec<(&Pod, String, ContainerStateTerminated, bool)> = state
        .pods_of("Job", ns, job)
        .into_iter()
        .filter_map(|p| {
            let st = p.status.as_ref()?;
            st.container_statuses.iter().flatten().chain(st.init_container_statuses.iter().flatten()).find_map(|cs| {
                let now = cs.state.as_ref().and_then(|s| s.terminated.as_ref()).filter(|t| t.exit_code != 0);
                let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()).filter(|t| t.exit_code != 0);
                match (now, last) {
                    (Some(t), _) => Some((p, cs.name.clone(), t.clone(), false)),
                    (None, Some(t)) => Some((p, cs.name.clone(), t.clone(), true)),
                    (None, None) => None,
                }
            })
        })
        .collect();
    found.sort_by_key(|(p, _, t, _)| {
        std::cmp::Reverse(
            t.finished_at.as_ref().or(p.metadata.creation_timestamp.as_ref()).map_or(0, |x| x.0.as_second()),
        )
    });
    found.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::snapshot::LogKey;
    use serde_json::{Value, json};

    struct Case {
        name: &'static str,
        objects: Vec<Value>,
        /// (reason, severity, texts the message must carry); None = no finding.
        expect: Option<(&'static str, Severity, &'static [&'static str])>,
    }

    fn failed_pod(name: &str, job: &str, code: i32, finished_ago: i64) -> Value {
        pod(name)
            .in_ns("batch")
            .owned_by("Job", job)
            .with(|p| {
                p["spec"]["restartPolicy"] = json!("Never");
                p["status"]["phase"] = json!("Failed");
                p["status"]["conditions"][3]["status"] = json!("False");
                p["status"]["containerStatuses"][0]["ready"] = json!(false);
                p["status"]["containerStatuses"][0]["state"] =
                    json!({"terminated": {"reason": "Error", "exitCode": code, "startedAt": ago(finished_ago + 30), "finishedAt": ago(finished_ago)}});
            })
            .build()
    }

    #[test]
    fn job_cases() {
        let cases = vec![
            Case { name: "running job", objects: vec![job("batch", "report").build()], expect: None },
            Case { name: "complete job", objects: vec![job("batch", "report").complete().build()], expect: None },
            Case {
                name: "backoff limit exceeded",
                objects: vec![
                    job("batch", "migrate").failed_backoff(4, 3).build(),
                    failed_pod("migrate-a1b2c", "migrate", 1, 600),
                    failed_pod("migrate-d3e4f", "migrate", 2, 130),
                ],
                expect: Some(("BackoffLimitExceeded", Severity::Error, &[
                    "job batch/migrate failed 2m ago",
                    "4 pod failures reached its backoffLimit of 3",
                    "pod migrate-d3e4f exited with code 2",
                ])),
            },
            Case {
                name: "deadline exceeded",
                objects: vec![job("batch", "etl").created_ago(1000).deadline_exceeded(600).build()],
                expect: Some(("DeadlineExceeded", Severity::Error, &["activeDeadlineSeconds (600s)", "after running 14m", "0 of 1 completions"])),
            },
            Case {
                name: "failed cronjob run superseded by a later success",
                objects: vec![
                    job("batch", "report-28891200").owned_by_cronjob("report").created_ago(7200).failed_backoff(4, 3).build(),
                    job("batch", "report-28891260").owned_by_cronjob("report").created_ago(3600).complete().build(),
                ],
                expect: Some(("JobFailureSuperseded", Severity::Info, &["cronjob report", "job report-28891260, succeeded"])),
            },
            Case {
                name: "latest cronjob run failed after an earlier success",
                objects: vec![
                    job("batch", "report-28891200").owned_by_cronjob("report").created_ago(7200).complete().build(),
                    job("batch", "report-28891260").owned_by_cronjob("report").created_ago(3600).failed_backoff(4, 3).build(),
                ],
                expect: Some(("BackoffLimitExceeded", Severity::Error, &["job batch/report-28891260 (cronjob report) failed"])),
            },
            Case {
                name: "other failure reason",
                objects: vec![job("batch", "idx").with(|j| {
                    j["status"] = json!({"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "PodFailurePolicy",
                        "message": "Container app for pod batch/idx-0-abcde failed with exit code 42 matching FailJob rule at index 0"}]});
                }).build()],
                expect: Some(("JobFailed", Severity::Error, &["PodFailurePolicy", "exit code 42"])),
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
    fn python_traceback_is_explained_by_its_exception_line() {
        let objs =
            vec![job("batch", "report").failed_backoff(4, 3).build(), failed_pod("report-d3e4f", "report", 1, 130)];
        let mut st = state(objs);
        st.logs.insert(
            LogKey { namespace: Some("batch".into()), pod: "report-d3e4f".into(), container: "app".into(), previous: false },
            "Traceback (most recent call last):\n  File \"/app/report.py\", line 88, in upload\n    s3.put_object(Bucket=bucket)\nbotocore.errorfactory.NoSuchBucket: An error occurred (NoSuchBucket) when calling the PutObject operation: The specified bucket does not exist\n".into(),
        );
        let f = analyze(&st).remove(0);
        assert!(f.message.contains("exited with code 1: botocore.errorfactory.NoSuchBucket"), "{}", f.message);
    }

    #[test]
    fn backoff_failure_carries_the_log_line_and_roots_its_pods() {
        let objs =
            vec![job("batch", "migrate").failed_backoff(4, 3).build(), failed_pod("migrate-d3e4f", "migrate", 1, 130)];
        let mut st = state(objs);
        st.logs.insert(
            LogKey {
                namespace: Some("batch".into()),
                pod: "migrate-d3e4f".into(),
                container: "app".into(),
                previous: false,
            },
            "starting migration 0042\nERROR: relation \"orders\" already exists\n".into(),
        );
        let f = analyze(&st).remove(0);
        assert!(f.message.contains("ERROR: relation \"orders\" already exists"), "{}", f.message);
        assert_eq!(f.absorbs, vec![ObjectRef::new("Pod", "batch", "migrate-d3e4f")], "{f:#?}");
        assert!(f.evidence.iter().any(|e| e.starts_with("log: ERROR")), "{f:#?}");
        assert!(f.warnings.iter().any(|w| w.contains("backoffLimit")), "{f:#?}");
    }
}
