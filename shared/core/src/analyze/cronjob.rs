//! CronJob analyzer: schedules that are invalid or never fire (validated like the CronJob
//! controller's parser: 5 fields, ranges, steps, month and weekday names, `@hourly`-style
//! descriptors, `@every`), CronJobs whose latest runs failed (linked to the newest failed
//! Job), CronJobs that missed scheduled runs (a `Forbid` policy held by a stuck Job, or the
//! controller giving up), and suspended CronJobs (info).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, Job};

use super::deployment::recent_events;
use super::event_line;
use super::job::{created, cronjob_of, failure_summary, outcome};
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s::{self, human_duration};

/// A run is only "missed" once this many scheduled times have passed without it.
const MISSED_RUNS: usize = 2;
/// Slack for the controller to start a run.
const START_SLACK_SECS: i64 = 60;
/// How far ahead a schedule is searched for its next run (leap days repeat within 8 years).
const HORIZON_DAYS: i64 = 8 * 366;

/// Runs the cronjob analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    state.cronjobs.iter().flat_map(|c| analyze_cronjob(state, c)).collect()
}

fn analyze_cronjob(state: &ClusterState, cj: &CronJob) -> Vec<Finding> {
    let ns = k8s::namespace(&cj.metadata);
    let name = k8s::name(&cj.metadata);
    let subject = ObjectRef::new("CronJob", ns, name);
    let now = state.now;
    let raw = cj.spec.schedule.trim();
    let status = cj.status.as_ref();
    let last = status.and_then(|s| s.last_schedule_time.as_ref());
    let last_text = last.map_or_else(
        || "it never ran".to_string(),
        |t| format!("last run {} ago", human_duration(k8s::seconds_since(t, now))),
    );

    let (sched_text, tz_prefix) = split_tz(raw);
    let tz_name = cj.spec.time_zone.as_deref().or(tz_prefix);
    let tz = tz_name.and_then(|n| TimeZone::get(n).ok()).unwrap_or(TimeZone::UTC);
    let parsed = parse_schedule(sched_text);
    // Scheduled times that passed without a run since the last one (or since creation).
    let since = last.or(cj.metadata.creation_timestamp.as_ref()).map(|t| t.0);
    let skipped = |s: &Schedule| {
        since.map_or(0, |from| s.runs_between(from, now.as_second() - START_SLACK_SECS, &tz, 1000).len())
    };

    if cj.spec.suspend.unwrap_or(false) {
        // Suspended on purpose is fine; suspended while runs pile up is worth a warning.
        let missed = parsed.as_ref().map_or(0, skipped);
        let (severity, skipped_text) = if missed >= MISSED_RUNS {
            (
                Severity::Warning,
                format!(
                    "; {} scheduled runs were skipped since",
                    if missed >= 1000 { "1000+".to_string() } else { missed.to_string() }
                ),
            )
        } else {
            (Severity::Info, String::new())
        };
        let mut f = Finding::new(
            subject,
            severity,
            "CronJobSuspended",
            format!("cronjob {ns}/{name} is suspended: no runs are scheduled (schedule \"{raw}\"; {last_text}{skipped_text})"),
        )
        .evidence("spec.suspend: true");
        if let Some(t) = last {
            f.evidence.push(format!("status.lastScheduleTime {}", t.0));
        }
        if let Some(t) = status.and_then(|s| s.last_successful_time.as_ref()) {
            f.evidence.push(format!("status.lastSuccessfulTime {}", t.0));
        }
        return vec![f.action(Action::text(format!(
            "If the suspension is no longer intended, resume it: kubectl patch cronjob {name} -n {ns} -p '{{\"spec\":{{\"suspend\":false}}}}'"
        )))];
    }

    let schedule = match parsed {
        Ok(s) => s,
        Err(e) => return vec![invalid(state, subject, raw, &e)],
    };
    if schedule.next_after(now, &tz).is_none() {
        return vec![invalid(
            state,
            subject,
            raw,
            "no date ever matches it (a day of the month that the month does not have)",
        )];
    }

    let mut out = Vec::new();
    let mut jobs: Vec<&Job> =
        state.jobs.iter().filter(|j| k8s::namespace(&j.metadata) == ns && cronjob_of(j) == Some(name)).collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(created(j)));
    let finished: Vec<&Job> = jobs.iter().copied().filter(|j| outcome(j).is_some()).collect();
    let failed_runs = finished.iter().take_while(|j| outcome(j) == Some(false)).count();
    if let Some(newest) = finished.first().filter(|_| failed_runs > 0) {
        let job = k8s::name(&newest.metadata);
        let success = match status.and_then(|s| s.last_successful_time.as_ref()) {
            Some(t) => format!("; last success {} ago", human_duration(k8s::seconds_since(t, now))),
            None if failed_runs == finished.len() => "; no successful run on record".to_string(),
            None => String::new(),
        };
        let runs = if failed_runs == 1 { "its last run".to_string() } else { format!("its last {failed_runs} runs") };
        let mut f = Finding::new(
            subject.clone(),
            Severity::Error,
            "CronJobFailing",
            format!(
                "cronjob {ns}/{name} is failing: {runs} failed (newest: job {job}, {}){success}",
                failure_summary(newest)
            ),
        )
        .caused_by(ObjectRef::new("Job", ns, job))
        .action(Action::text(format!(
            "Fix the failure of job {job} (see its finding and its pods' logs); the next scheduled run picks up the fix"
        )));
        for j in finished.iter().take(3) {
            f.evidence.push(format!(
                "job {}: {}",
                k8s::name(&j.metadata),
                if outcome(j) == Some(true) {
                    "Complete".to_string()
                } else {
                    format!("Failed ({})", failure_summary(j))
                }
            ));
        }
        out.push(f.warn(
            "Triggering a manual run (kubectl create job --from) will fail the same way until the cause is fixed",
        ));
    }

    // Missed runs: at least MISSED_RUNS scheduled times passed since the last one.
    let missed_runs = skipped(&schedule);
    if let Some(since) = since.filter(|_| missed_runs >= MISSED_RUNS) {
        out.push(missed(state, cj, &schedule, &tz, missed_runs, since));
    }
    out
}

fn invalid(state: &ClusterState, subject: ObjectRef, raw: &str, why: &str) -> Finding {
    let (ns, name) = (subject.namespace.clone(), subject.name.clone());
    let mut f = Finding::new(
        subject,
        Severity::Error,
        "InvalidCronSchedule",
        format!("cronjob {ns}/{name} never runs: its schedule \"{raw}\" is invalid: {why}"),
    )
    .evidence(format!("spec.schedule \"{raw}\""));
    f.evidence.extend(
        recent_events(state, "CronJob", &ns, &name, &["UnparseableSchedule", "InvalidSchedule"])
            .iter()
            .take(1)
            .map(|e| event_line(e, state.now)),
    );
    f.action(Action::text(
        "Fix spec.schedule: five fields (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT), or a descriptor such as @hourly",
    ))
}

fn missed(
    state: &ClusterState,
    cj: &CronJob,
    schedule: &Schedule,
    tz: &TimeZone,
    count: usize,
    since: Timestamp,
) -> Finding {
    let ns = k8s::namespace(&cj.metadata);
    let name = k8s::name(&cj.metadata);
    let now = state.now;
    let raw = cj.spec.schedule.trim();
    let status = cj.status.as_ref();
    let ago = human_duration(now.as_second() - since.as_second());
    let last_text = if status.and_then(|s| s.last_schedule_time.as_ref()).is_some() {
        format!("last scheduled {ago} ago")
    } else {
        format!("never scheduled since it was created {ago} ago")
    };
    let every = schedule
        .interval(now, tz)
        .map(|s| format!(" although \"{raw}\" runs about every {}", human_duration(s)))
        .unwrap_or_default();
    let count_text = if count >= 1000 { "1000+".to_string() } else { count.to_string() };
    let policy = cj.spec.concurrency_policy.as_deref().unwrap_or("Allow");
    let active: Vec<&str> =
        status.and_then(|s| s.active.as_ref()).into_iter().flatten().filter_map(|r| r.name.as_deref()).collect();
    let events = recent_events(
        state,
        "CronJob",
        ns,
        name,
        &["FailedNeedsStart", "TooManyMissedTimes", "MissSchedule", "JobAlreadyActive"],
    );
    let too_many = events.iter().any(|e| {
        e.reason.as_deref() == Some("TooManyMissedTimes")
            || e.message.as_deref().is_some_and(|m| m.contains("too many missed start times"))
    });
    let mut cause = None;
    let why = if policy == "Forbid" && !active.is_empty() {
        let job = active[0];
        let running = state
            .jobs
            .iter()
            .find(|j| k8s::namespace(&j.metadata) == ns && k8s::name(&j.metadata) == job)
            .and_then(|j| j.status.as_ref()?.start_time.as_ref())
            .map(|t| format!(" (running for {})", human_duration(k8s::seconds_since(t, now))))
            .unwrap_or_default();
        cause = Some(ObjectRef::new("Job", ns, job));
        format!("; concurrencyPolicy Forbid skips every run while job {job}{running} is still active")
    } else if too_many {
        "; the controller gave up after too many missed start times (startingDeadlineSeconds unset or too long)"
            .to_string()
    } else {
        "; the CronJob controller has not started it".to_string()
    };
    let mut f = Finding::new(
        ObjectRef::new("CronJob", ns, name),
        Severity::Warning,
        "CronJobMissedRuns",
        format!("cronjob {ns}/{name} missed {count_text} scheduled runs: {last_text}{every}{why}"),
    )
    .evidence(format!(
        "spec.schedule \"{raw}\"{}",
        cj.spec.time_zone.as_deref().map(|z| format!(", timeZone {z}")).unwrap_or_default()
    ))
    .evidence(format!("spec.concurrencyPolicy {policy}"));
    if !active.is_empty() {
        f.evidence.push(format!("status.active: {}", active.join(", ")));
    }
    f.evidence.extend(events.iter().take(2).map(|e| event_line(e, now)));
    f.cause = cause.clone();
    match cause {
        Some(job) => f
            .action(Action::text(format!(
                "Find why job {} never finishes (its pods, activeDeadlineSeconds); delete it to let the next run start, and set activeDeadlineSeconds on the job template",
                job.name
            )))
            .warn("Switching concurrencyPolicy to Allow would pile up runs behind the same stuck job"),
        None if too_many => f.action(Action::text("Set spec.startingDeadlineSeconds (e.g. 200) so the controller only looks back that far, then check the next run")),
        None => f.action(Action::text("Check the CronJob's events and the kube-controller-manager (control plane logs on EKS) for why runs are not created")),
    }
}

/// Splits a `TZ=Zone ` / `CRON_TZ=Zone ` prefix off a schedule.
fn split_tz(s: &str) -> (&str, Option<&str>) {
    for p in ["CRON_TZ=", "TZ="] {
        if let Some(rest) = s.strip_prefix(p) {
            let (zone, sched) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            return (sched.trim(), Some(zone));
        }
    }
    (s, None)
}

/// A parsed cron schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Schedule {
    /// Five fields as bitsets; `*_star` when the day field was `*` or `?` (days then need both
    /// fields to match, else either).
    Fields { minute: u64, hour: u64, dom: u64, month: u64, dow: u64, dom_star: bool, dow_star: bool },
    /// `@every <duration>`, in seconds.
    Every(i64),
}

const MONTHS: &[&str] = &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Parses a schedule as the CronJob controller does (robfig/cron's standard parser).
///
/// # Errors
/// What is wrong with it, in words.
pub(super) fn parse_schedule(s: &str) -> Result<Schedule, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if let Some(d) = s.strip_prefix("@every ") {
        let secs = parse_go_duration(d.trim())
            .ok_or_else(|| format!("\"{}\" is not a duration such as 90s, 15m or 1h30m", d.trim()))?;
        return Ok(Schedule::Every(secs.max(1)));
    }
    let expanded = match s.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other if other.starts_with('@') => return Err(format!("unknown descriptor {s}")),
        _ => s,
    };
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields (minute hour day-of-month month day-of-week), found {}",
            fields.len()
        ));
    }
    let (minute, _) = parse_field(fields[0], "minute", 0, 59, &[])?;
    let (hour, _) = parse_field(fields[1], "hour", 0, 23, &[])?;
    let (dom, dom_star) = parse_field(fields[2], "day of month", 1, 31, &[])?;
    let (month, _) = parse_field(fields[3], "month", 1, 12, MONTHS)?;
    let (dow, dow_star) = parse_field(fields[4], "day of week", 0, 6, DAYS)?;
    Ok(Schedule::Fields { minute, hour, dom, month, dow, dom_star, dow_star })
}

/// One field: a comma-separated list of `*`, `?`, `a`, `a-b`, each with an optional `/step`.
/// Returns the bitset and whether the field is an unstepped wildcard.
fn parse_field(field: &str, what: &str, min: u32, max: u32, names: &[&str]) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for item in field.split(',') {
        let (range, step) = match item.split('/').collect::<Vec<_>>().as_slice() {
            [r] => (*r, None),
            [r, s] => (*r, Some(*s)),
            _ => return Err(format!("{what} \"{item}\" has too many slashes")),
        };
        let (mut start, mut end, wildcard) = if range == "*" || range == "?" {
            (min, max, true)
        } else {
            let parts: Vec<&str> = range.split('-').collect();
            match parts.as_slice() {
                [a] => {
                    let a = value(a, what, names)?;
                    (a, a, false)
                }
                [a, b] => (value(a, what, names)?, value(b, what, names)?, false),
                _ => return Err(format!("{what} \"{item}\" has too many hyphens")),
            }
        };
        let step = match step {
            None => 1,
            Some(s) => {
                let n: u32 = s.parse().map_err(|_| format!("{what} step \"{s}\" is not a number"))?;
                if n == 0 {
                    return Err(format!("{what} step in \"{item}\" must be positive"));
                }
                if !wildcard && !range.contains('-') {
                    // `a/step` means from a to the maximum.
                    end = max;
                }
                n
            }
        };
        if wildcard && step == 1 {
            star = true;
        }
        if start < min {
            return Err(format!("{what} {start} is below the minimum {min}"));
        }
        if end > max {
            return Err(format!("{what} {end} is above the maximum {max}"));
        }
        if start > end {
            return Err(format!("{what} range \"{item}\" starts after it ends"));
        }
        while start <= end {
            bits |= 1 << start;
            start += step;
        }
    }
    Ok((bits, star))
}

fn value(s: &str, what: &str, names: &[&str]) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        // Month names count from 1, weekday names from 0.
        let base = if names.len() == 12 { 1 } else { 0 };
        return u32::try_from(i).map(|i| i + base).map_err(|e| e.to_string());
    }
    s.parse().map_err(|_| format!("{what} \"{s}\" is not a number{}", if names.is_empty() { "" } else { " or a name" }))
}

/// A Go duration (`90s`, `1h30m`, `1.5h`) in seconds.
fn parse_go_duration(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let unit_end =
            rest[num_end..].find(|c: char| c.is_ascii_digit() || c == '.').map_or(rest.len(), |i| num_end + i);
        let n: f64 = rest[..num_end].parse().ok()?;
        let factor = match &rest[num_end..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_end..];
    }
    // Whole seconds are enough for schedules.
    Some(total.ceil() as i64)
}

impl Schedule {
    fn day_matches(&self, dt: DateTime) -> bool {
        let Schedule::Fields { dom, dow, dom_star, dow_star, .. } = self else { return true };
        let d = dom & (1 << dt.day()) != 0;
        let w = dow & (1 << dt.weekday().to_sunday_zero_offset()) != 0;
        if *dom_star || *dow_star { d && w } else { d || w }
    }

    /// The scheduled times in `(from, until]` (seconds), at most `max`.
    pub(super) fn runs_between(&self, from: Timestamp, until: i64, tz: &TimeZone, max: usize) -> Vec<Timestamp> {
        let mut out = Vec::new();
        let mut cursor = from;
        while out.len() < max {
            match self.next_after(cursor, tz) {
                Some(t) if t.as_second() <= until => {
                    out.push(t);
                    cursor = t;
                }
                _ => break,
            }
        }
        out
    }

    /// Seconds between the next two runs after `at`.
    fn interval(&self, at: Timestamp, tz: &TimeZone) -> Option<i64> {
        let a = self.next_after(at, tz)?;
        let b = self.next_after(a, tz)?;
        Some(b.as_second() - a.as_second())
    }

    /// The first scheduled time strictly after `at`, within [`HORIZON_DAYS`].
    pub(super) fn next_after(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let (minute, hour, month) = match self {
            Schedule::Every(secs) => return Timestamp::from_second(at.as_second() + secs).ok(),
            Schedule::Fields { minute, hour, month, .. } => (*minute, *hour, *month),
        };
        let start = at.to_zoned(tz.clone()).datetime();
        // The next whole minute.
        let mut dt =
            start.with().second(0).subsec_nanosecond(0).build().ok()?.checked_add(jiff::Span::new().minutes(1)).ok()?;
        let limit = start.checked_add(jiff::Span::new().days(HORIZON_DAYS)).ok()?;
        while dt <= limit {
            if month & (1 << dt.month()) == 0 {
                dt = dt
                    .first_of_month()
                    .date()
                    .checked_add(jiff::Span::new().months(1))
                    .ok()?
                    .to_datetime(jiff::civil::Time::midnight());
                continue;
            }
            if !self.day_matches(dt) {
                dt = dt.date().tomorrow().ok()?.to_datetime(jiff::civil::Time::midnight());
                continue;
            }
            if hour & (1 << dt.hour()) == 0 {
                dt = dt.with().minute(0).build().ok()?.checked_add(jiff::Span::new().hours(1)).ok()?;
                continue;
            }
            if minute & (1 << dt.minute()) == 0 {
                dt = dt.checked_add(jiff::Span::new().minutes(1)).ok()?;
                continue;
            }
            let t = tz.to_zoned(dt).ok()?.timestamp();
            if t > at {
                return Some(t);
            }
            dt = dt.checked_add(jiff::Span::new().minutes(1)).ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use serde_json::Value;

    struct Case {
        name: &'static str,
        objects: Vec<Value>,
        /// (reason, severity, texts the message must carry) for each finding, in order.
        expect: Vec<(&'static str, Severity, &'static [&'static str])>,
    }

    #[test]
    fn cronjob_cases() {
        let cases = vec![
            Case {
                name: "healthy every five minutes",
                objects: vec![cronjob("batch", "sync", "*/5 * * * *").last_scheduled_ago(120).build()],
                expect: vec![],
            },
            Case {
                name: "healthy with a completed run",
                objects: vec![
                    cronjob("batch", "report", "0 * * * *").last_scheduled_ago(1800).build(),
                    job("batch", "report-1").owned_by_cronjob("report").created_ago(1800).complete().build(),
                ],
                expect: vec![],
            },
            Case {
                name: "suspended recently is info",
                objects: vec![
                    cronjob("batch", "cleanup", "0 3 * * *").suspended().last_scheduled_ago(3 * 3600).build(),
                ],
                expect: vec![(
                    "CronJobSuspended",
                    Severity::Info,
                    &["is suspended", "schedule \"0 3 * * *\"", "last run 3h ago"],
                )],
            },
            Case {
                name: "suspended while daily runs pile up is a warning",
                objects: vec![cronjob("batch", "cleanup", "0 3 * * *").suspended().last_scheduled_ago(864_000).build()],
                expect: vec![(
                    "CronJobSuspended",
                    Severity::Warning,
                    &["is suspended", "last run 10d ago", "10 scheduled runs were skipped since"],
                )],
            },
            Case {
                name: "invalid minute",
                objects: vec![cronjob("batch", "bad", "61 * * * *").build()],
                expect: vec![(
                    "InvalidCronSchedule",
                    Severity::Error,
                    &["\"61 * * * *\" is invalid", "minute 61 is above the maximum 59"],
                )],
            },
            Case {
                name: "six fields",
                objects: vec![cronjob("batch", "bad", "0 0 * * * *").build()],
                expect: vec![("InvalidCronSchedule", Severity::Error, &["expected exactly 5 fields", "found 6"])],
            },
            Case {
                name: "never fires",
                objects: vec![cronjob("batch", "feb30", "0 0 30 2 *").build()],
                expect: vec![("InvalidCronSchedule", Severity::Error, &["no date ever matches it"])],
            },
            Case {
                name: "last run failed",
                objects: vec![
                    cronjob("batch", "report", "0 * * * *").last_scheduled_ago(1800).last_successful_ago(9000).build(),
                    job("batch", "report-2").owned_by_cronjob("report").created_ago(1800).failed_backoff(4, 3).build(),
                    job("batch", "report-1").owned_by_cronjob("report").created_ago(5400).failed_backoff(4, 3).build(),
                    job("batch", "report-0").owned_by_cronjob("report").created_ago(9000).complete().build(),
                ],
                expect: vec![(
                    "CronJobFailing",
                    Severity::Error,
                    &[
                        "its last 2 runs failed",
                        "newest: job report-2, BackoffLimitExceeded, 4 pod failures",
                        "last success 2h30m ago",
                    ],
                )],
            },
            Case {
                name: "forbid policy held by a stuck job misses runs",
                objects: vec![
                    cronjob("batch", "sync", "*/10 * * * *")
                        .forbid_concurrency()
                        .active("sync-28891000")
                        .last_scheduled_ago(5 * 3600)
                        .build(),
                    job("batch", "sync-28891000").owned_by_cronjob("sync").created_ago(5 * 3600).build(),
                ],
                expect: vec![(
                    "CronJobMissedRuns",
                    Severity::Warning,
                    &[
                        "missed 29 scheduled runs",
                        "last scheduled 5h ago",
                        "runs about every 10m",
                        "concurrencyPolicy Forbid skips every run while job sync-28891000 (running for 5h) is still active",
                    ],
                )],
            },
            Case {
                name: "daily job one run late is not yet missed",
                objects: vec![cronjob("batch", "nightly", "0 2 * * *").last_scheduled_ago(86_400 + 3600).build()],
                expect: vec![],
            },
        ];
        for case in cases {
            let findings = analyze(&state(case.objects));
            assert_eq!(findings.len(), case.expect.len(), "{}: {findings:#?}", case.name);
            for (f, (reason, sev, texts)) in findings.iter().zip(case.expect.iter()) {
                assert_eq!(f.reason, *reason, "{}: {}", case.name, f.message);
                assert_eq!(f.severity, *sev, "{}: {}", case.name, f.message);
                for t in texts.iter() {
                    assert!(f.message.contains(t), "{}: message lacks {t:?}: {}", case.name, f.message);
                }
            }
        }
    }

    #[test]
    fn failing_cronjob_links_its_newest_failed_job() {
        let objs = vec![
            cronjob("batch", "report", "0 * * * *").last_scheduled_ago(1800).build(),
            job("batch", "report-2").owned_by_cronjob("report").created_ago(1800).failed_backoff(4, 3).build(),
        ];
        let f = analyze(&state(objs)).remove(0);
        assert_eq!(f.cause, Some(ObjectRef::new("Job", "batch", "report-2")), "{f:#?}");
        assert!(f.message.contains("no successful run on record"), "{}", f.message);
    }

    #[test]
    fn schedules_parse_like_the_controller() {
        struct S {
            schedule: &'static str,
            /// None = valid; Some(text) = the error contains it.
            error: Option<&'static str>,
        }
        let cases = [
            S { schedule: "*/5 * * * *", error: None },
            S { schedule: "0 9-17/2 * * MON-FRI", error: None },
            S { schedule: "15,45 0 1 jan,Jul ?", error: None },
            S { schedule: "@hourly", error: None },
            S { schedule: "@every 1h30m", error: None },
            S { schedule: "5/15 * * * *", error: None },
            S { schedule: "* * * *", error: Some("found 4") },
            S { schedule: "*/0 * * * *", error: Some("must be positive") },
            S { schedule: "30-10 * * * *", error: Some("starts after it ends") },
            S { schedule: "0 24 * * *", error: Some("hour 24 is above the maximum 23") },
            S { schedule: "0 0 0 * *", error: Some("day of month 0 is below the minimum 1") },
            S { schedule: "0 0 * * 7", error: Some("day of week 7 is above the maximum 6") },
            S { schedule: "0 0 * foo *", error: Some("month \"foo\" is not a number or a name") },
            S { schedule: "@fortnightly", error: Some("unknown descriptor") },
            S { schedule: "@every soon", error: Some("not a duration") },
            S { schedule: "1-2-3 * * * *", error: Some("too many hyphens") },
        ];
        for c in cases {
            match (parse_schedule(c.schedule), c.error) {
                (Ok(_), None) => {}
                (Err(e), Some(want)) => assert!(e.contains(want), "{}: error {e:?} lacks {want:?}", c.schedule),
                (got, want) => panic!("{}: got {got:?}, wanted error {want:?}", c.schedule),
            }
        }
    }

    #[test]
    fn next_runs_follow_the_fields() {
        let at: Timestamp = "2025-11-30T10:07:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let next =
            |s: &str| parse_schedule(s).ok().and_then(|p| p.next_after(at, &TimeZone::UTC)).map(|t| t.to_string());
        assert_eq!(next("*/5 * * * *").as_deref(), Some("2025-11-30T10:10:00Z"));
        assert_eq!(next("0 2 * * *").as_deref(), Some("2025-12-01T02:00:00Z"));
        // 2025-11-30 is a Sunday: the next weekday 09:00 is Monday.
        assert_eq!(next("0 9 * * MON-FRI").as_deref(), Some("2025-12-01T09:00:00Z"));
        // Day of month OR day of week when both are restricted.
        assert_eq!(next("0 0 15 * 1").as_deref(), Some("2025-12-01T00:00:00Z"));
        assert_eq!(next("@monthly").as_deref(), Some("2025-12-01T00:00:00Z"));
        assert_eq!(next("@yearly").as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(next("@every 90m").as_deref(), Some("2025-11-30T11:37:00Z"));
        assert_eq!(next("0 0 29 2 *").as_deref(), Some("2028-02-29T00:00:00Z"));
    }
}
