//! Health sweeps: every analyzer over every namespace the policy lets us watch, each finding
//! given an identity that survives across sweeps, the diff against the previous sweep (new,
//! ongoing with the time it was first seen, resolved), investigations started for new serious
//! findings (at most one open per root cause, with a cooldown, claimed with a conditional
//! write), and a summary for the notifier.
//!
//! Belongs here: the logic and its orchestration over ports. [`run`] is the one entry point
//! the sweep Lambda (`functions/sweep`), the CLI (`aiops sweep`) and the API (`POST /sweeps`)
//! call; [`latest`] reads the stored latest sweep (`GET /sweeps/latest`). The pure parts
//! ([`identity`], [`in_scope`], [`diff`], [`summary`]) are public for tests and callers.
//!
//! Does not belong here: storage (the [`SweepStore`] port's adapters: SQLite in aiops-local,
//! DynamoDB in aiops-aws), reading the environment, schedules.
//!
//! # Identity
//! A finding's identity is a hash of its kind, namespace, name and reason, never of its
//! message (which carries changing numbers: restart counts, ages). A pod with a generated name
//! (`web-7d9f8b6c5d-x2k4p`, `db-0`) is identified by its controller part (`web-7d9f8b6c5d-*`):
//! the analyzers merge such siblings into one finding named after whichever pod comes first,
//! and a replaced pod gets a new name, so the pod's own name would make one root cause look
//! resolved and new again. For every other finding the identity equals [`Finding::id`].
//!
//! # Investigations
//! A finding at or above [`SweepConfig::investigate_at`] that has no investigation yet (it is
//! new, it became serious, or an earlier start failed) is a candidate; at most
//! [`SweepConfig::max_investigations`] start per sweep, worst first, the rest wait for the next
//! sweep. For each, the root cause's claim is read from the [`SweepStore`]: a claim younger
//! than the cooldown, or one whose investigation is still open (running or waiting for an
//! approval), links the finding to that investigation instead. Otherwise the claim is taken
//! with a compare-and-swap write ([`SweepStore::put_claim`]), so of two concurrent sweeps
//! exactly one starts the investigation, through [`crate::workflow::launch`].

use std::collections::{BTreeMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::agent::InvestigationStatus;
use crate::analyze::{ClusterState, Finding, Severity, analyze};
use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::ports::{AuditLog, ClusterReader, ExecutionStarter, Notifier, StateStore, SweepStore};
use crate::workflow::{StartRequest, launch};

/// The actor investigations started by a sweep are recorded under.
pub const SWEEP_ACTOR: &str = "sweep";

/// A claim whose investigation does not exist this long after it was taken was abandoned (the
/// sweep that took it died before starting the investigation: a Lambda runs 15 minutes at most).
pub const ABANDONED_CLAIM_SECONDS: i64 = 15 * 60;

/// Most bytes of a question an investigation accepts (the workflow refuses longer ones).
const MAX_QUESTION_BYTES: usize = 4096;

/// Longest message quoted in a one-line rendering.
const LINE_MESSAGE_CHARS: usize = 200;

/// How a sweep behaves.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// Its namespace allow and deny lists say which namespaces are swept (the write bounds are
    /// not used here).
    pub policy: Policy,
    /// New findings at or above this severity start an investigation (default error).
    pub investigate_at: Severity,
    /// After an investigation is started for a root cause, no other starts for it for this long,
    /// even once the first has ended (default 3600).
    pub cooldown_seconds: i64,
    /// Investigations started by one sweep at most (default 5); the rest wait for the next.
    pub max_investigations: usize,
    /// Container logs read at most (those of failing containers), for the log analyzers.
    pub max_logs: usize,
    /// Passed to the investigations started.
    pub approval_timeout_seconds: u64,
    /// Findings listed per section of the summary (default 5).
    pub top: usize,
    /// The swept cluster's name, for summaries.
    pub cluster: String,
    pub links: SweepLinks,
}

impl Default for SweepConfig {
    fn default() -> SweepConfig {
        SweepConfig {
            policy: Policy::default(),
            investigate_at: Severity::Error,
            cooldown_seconds: 3600,
            max_investigations: 5,
            max_logs: 100,
            approval_timeout_seconds: 3600,
            top: 5,
            cluster: "the cluster".into(),
            links: SweepLinks::default(),
        }
    }
}

/// Links a summary carries.
#[derive(Debug, Clone, Default)]
pub struct SweepLinks {
    /// Builds a console link for an execution id (Step Functions console in the cloud).
    pub execution_link: Option<fn(&str) -> String>,
    /// The API's base URL, for `GET /sweeps/latest`.
    pub api_url: Option<String>,
    /// `--api URL` for the `aiops` commands quoted, or empty for local mode.
    pub cli_prefix: String,
}

/// The ports a sweep uses.
#[derive(Clone, Copy)]
pub struct SweepPorts<'a> {
    pub reader: &'a dyn ClusterReader,
    pub sweeps: &'a dyn SweepStore,
    /// Where the summary goes; `None` reports only (the CLI prints the diff itself).
    pub notifier: Option<&'a dyn Notifier>,
    /// How investigations start; `None` starts none.
    pub investigator: Option<Investigator<'a>>,
}

/// What starting an investigation needs (see [`crate::workflow::launch`]).
#[derive(Clone, Copy)]
pub struct Investigator<'a> {
    pub state: &'a dyn StateStore,
    pub audit: &'a dyn AuditLog,
    pub starter: &'a dyn ExecutionStarter,
}

/// What asked for a sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepRequest {
    /// `schedule`, `api`, `cli`, …
    pub trigger: String,
    /// The sweep's id when the trigger fixes it ([`scheduled_sweep_id`]): a redelivered event
    /// then finds its sweep done instead of sweeping twice. A fresh id otherwise.
    pub sweep_id: Option<String>,
}

/// The sweep to compare with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSweep {
    pub sweep_id: String,
    pub at: Timestamp,
    /// What it swept.
    #[serde(default)]
    pub cluster: String,
}

/// What a sweep covered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepScope {
    /// Namespaces swept.
    pub namespaces: usize,
    /// Namespaces present but left out by the allow/deny lists.
    pub excluded: Vec<String>,
    /// Pods read (in every namespace).
    pub pods: usize,
}

/// A finding as a sweep reports it: its identity, the finding as `aiops analyze` prints it,
/// when a sweep first saw it, and its investigation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweptFinding {
    /// The identity (see the module docs).
    pub id: String,
    #[serde(flatten)]
    pub finding: Finding,
    /// When a sweep first saw it (this sweep's time for a new one).
    pub since: Timestamp,
    /// The investigation working (or that worked) on this root cause.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub investigation: Option<String>,
}

/// What happened to a candidate for an investigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// An investigation was started.
    Started,
    /// An investigation of this root cause is still open.
    Open,
    /// One was started less than the cooldown ago.
    Cooldown,
    /// Another sweep claimed the root cause at the same moment and started one.
    ClaimedElsewhere,
    /// More candidates than a sweep may start: the next sweep tries again.
    Deferred,
    /// Starting failed (the next sweep tries again).
    Failed,
}

/// One candidate's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvestigationOutcome {
    /// The finding's identity.
    pub finding: String,
    /// `Pod prod/web-1 [OOMKilled]`.
    pub subject: String,
    pub status: OutcomeStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub investigation_id: Option<String>,
    /// The execution started (an ARN in the cloud).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub execution: Option<String>,
    /// Why it was not started.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
}

/// A sweep: the diff against the previous one, and what it started. The stored record of a
/// sweep is this report; its `new` and `ongoing` findings are what the next sweep compares with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub sweep_id: String,
    /// When it ran (the wall clock; ages inside findings are against the cluster's "now").
    pub at: Timestamp,
    /// What asked for it.
    pub trigger: String,
    /// What was swept (a cluster name, or the CLI's source label).
    pub cluster: String,
    /// The sweep compared with; `None` for the first.
    pub previous: Option<PreviousSweep>,
    pub scope: SweepScope,
    /// Findings the previous sweep did not have, worst first.
    pub new: Vec<SweptFinding>,
    /// Findings the previous sweep had too, worst first.
    pub ongoing: Vec<SweptFinding>,
    /// The previous sweep's findings that are gone, as last seen.
    pub resolved: Vec<SweptFinding>,
    /// The candidates for an investigation and what happened to each.
    pub investigations: Vec<InvestigationOutcome>,
}

/// A run of [`run`]: the report and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRun {
    #[serde(flatten)]
    pub report: SweepReport,
    /// Whether it is stored as the latest sweep. `false` when another sweep was stored after
    /// the one this compared with (that one stays the latest), or for a duplicate.
    pub saved: bool,
    /// The trigger's sweep id was already the latest: nothing was swept again; the report is
    /// the stored one.
    pub duplicate: bool,
    /// Whether a summary was sent.
    pub notified: bool,
}

/// A root cause's investigation claim (see [`SweepStore::put_claim`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvestigationClaim {
    /// The finding identity.
    pub identity: String,
    pub investigation_id: String,
    pub claimed_at: Timestamp,
    /// The sweep that took it.
    pub sweep_id: String,
    /// `Pod prod/web-1 [OOMKilled]`, for people reading the store.
    pub subject: String,
}

/// The sweep id of a scheduled run: `sweep-20251130T100000Z` for its scheduled time, so every
/// delivery of one schedule event names the same sweep.
pub fn scheduled_sweep_id(scheduled: Timestamp) -> String {
    format!("sweep-{}", scheduled.strftime("%Y%m%dT%H%M%SZ"))
}

/// The event a requested (not scheduled) sweep is queued with: the sweep function reads it
/// as it reads the schedule's (`trigger`; no `scheduled_time`, so the sweep gets a fresh id),
/// and logs who asked.
pub fn requested_event(trigger: &str, requested_by: &str) -> serde_json::Value {
    serde_json::json!({"trigger": trigger, "requested_by": requested_by})
}

/// A fresh sweep id: `sweep-20251130T100000Z-<8 hex>`.
pub fn new_sweep_id(now: Timestamp) -> String {
    use sha2::Digest;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = format!("{}\0{}\0{n}", now.as_nanosecond(), std::process::id());
    let h = hex::encode(sha2::Sha256::digest(seed.as_bytes()));
    format!("{}-{}", scheduled_sweep_id(now), &h[..8])
}

/// The controller part of a generated pod name (`web-7d9f8b6c5d-x2k4p` → `web-7d9f8b6c5d`,
/// `db-0` → `db`), the same rule the analyzers merge sibling pods by.
fn pod_group(pod: &str) -> Option<&str> {
    let (head, tail) = pod.rsplit_once('-')?;
    let generated = (tail.len() == 5 && tail.bytes().all(|b| b.is_ascii_alphanumeric()))
        || (!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()));
    generated.then_some(head)
}

/// A finding's identity across sweeps (see the module docs): 16 hex characters.
pub fn identity(f: &Finding) -> String {
    use sha2::Digest;
    let grouped;
    let name = match pod_group(&f.name) {
        Some(group) if f.kind == "Pod" => {
            grouped = format!("{group}-*");
            grouped.as_str()
        }
        _ => f.name.as_str(),
    };
    let digest = sha2::Sha256::digest(format!("{}\0{}\0{}\0{}", f.kind, f.namespace, name, f.reason));
    hex::encode(&digest[..8])
}

/// `Pod prod/web-1 [OOMKilled]`.
pub fn subject(f: &Finding) -> String {
    format!("{} [{}]", f.subject(), f.reason)
}

/// Whether the policy's namespace lists let the sweep watch a namespace.
fn watched(policy: &Policy, ns: &str) -> bool {
    policy.check_namespace(ns).is_ok()
}

/// Keeps the findings the sweep watches: a namespaced finding when the policy allows its
/// namespace; a cluster-scoped one (a node, a StorageClass) unless every symptom it explains
/// lies in namespaces the policy leaves out.
pub fn in_scope(findings: Vec<Finding>, policy: &Policy) -> Vec<Finding> {
    findings
        .into_iter()
        .filter(|f| {
            if f.namespace.is_empty() {
                f.chain.is_empty() || f.chain.iter().any(|c| c.namespace.is_empty() || watched(policy, &c.namespace))
            } else {
                watched(policy, &f.namespace)
            }
        })
        .collect()
}

/// The namespaces swept and left out.
fn scope_of(state: &ClusterState, policy: &Policy) -> SweepScope {
    let mut names: Vec<String> =
        state.namespaces.iter().map(|n| crate::k8s::name(&n.metadata).to_string()).collect::<Vec<_>>();
    // Namespaces that hold pods but were not listed as objects (no list permission) count too.
    names.extend(state.pods.iter().map(|p| crate::k8s::namespace(&p.metadata).to_string()));
    names.sort();
    names.dedup();
    let (kept, excluded): (Vec<String>, Vec<String>) = names.into_iter().partition(|n| watched(policy, n));
    SweepScope { namespaces: kept.len(), excluded, pods: state.pods.len() }
}

/// Compares the current findings with the previous sweep's. A finding keeps the `since` and
/// the investigation of its previous sighting; two current findings with one identity (rare:
/// two analyzers naming one object with one reason) are reported once, the worst.
pub fn diff(previous: Option<&SweepReport>, current: Vec<Finding>, sweep_id: &str, now: Timestamp) -> SweepReport {
    let before: BTreeMap<&str, &SweptFinding> =
        previous.into_iter().flat_map(|p| p.new.iter().chain(&p.ongoing)).map(|f| (f.id.as_str(), f)).collect();
    let mut current = current;
    // Worst first, so a duplicate identity keeps its worst finding.
    current.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.namespace.cmp(&b.namespace))
            .then(a.kind.cmp(&b.kind))
            .then(a.name.cmp(&b.name))
            .then(a.reason.cmp(&b.reason))
    });
    let mut seen = HashSet::new();
    let (mut new, mut ongoing) = (Vec::new(), Vec::new());
    for finding in current {
        let id = identity(&finding);
        if !seen.insert(id.clone()) {
            continue;
        }
        match before.get(id.as_str()) {
            Some(prev) => {
                ongoing.push(SweptFinding { id, finding, since: prev.since, investigation: prev.investigation.clone() })
            }
            None => new.push(SweptFinding { id, finding, since: now, investigation: None }),
        }
    }
    let resolved: Vec<SweptFinding> = previous
        .into_iter()
        .flat_map(|p| p.new.iter().chain(&p.ongoing))
        .filter(|f| !seen.contains(&f.id))
        .cloned()
        .collect();
    SweepReport {
        sweep_id: sweep_id.to_string(),
        at: now,
        trigger: String::new(),
        cluster: String::new(),
        previous: previous.map(|p| PreviousSweep {
            sweep_id: p.sweep_id.clone(),
            at: p.at,
            cluster: p.cluster.clone(),
        }),
        scope: SweepScope::default(),
        new,
        ongoing,
        resolved,
        investigations: Vec::new(),
    }
}

/// The stored latest sweep, as [`run`] reported it.
///
/// # Errors
/// Store errors.
pub async fn latest(sweeps: &dyn SweepStore) -> Result<Option<SweepReport>> {
    sweeps.latest_sweep().await
}

/// Runs a sweep: reads the previous one, gathers the cluster through the reader (every kind,
/// paged), runs every analyzer, keeps what the policy's namespace lists watch, diffs, starts
/// investigations for new serious findings (when an investigator is given), sends a summary
/// when something changed (when a notifier is given), and stores the report as the latest
/// sweep with a compare-and-swap on the previous one.
///
/// The summary goes out before the report is stored, so a failure in between repeats it on
/// the retry rather than losing it (the claims keep investigations from starting twice). A
/// sweep id that is already the latest (a redelivered schedule event) returns the stored
/// report with `duplicate` set, sweeping nothing.
///
/// # Errors
/// The reader's error for pods, store errors, and the notifier's error (the report is then not
/// stored, so a retry sends it again). A failure to start one investigation is not an error: it
/// is reported in `investigations`, and the next sweep tries again.
pub async fn run(
    ports: &SweepPorts<'_>,
    config: &SweepConfig,
    request: SweepRequest,
    now: Timestamp,
) -> Result<SweepRun> {
    let previous = ports.sweeps.latest_sweep().await?;
    let sweep_id = request.sweep_id.unwrap_or_else(|| new_sweep_id(now));
    if let Some(p) = previous.as_ref().filter(|p| p.sweep_id == sweep_id) {
        tracing::info!(sweep_id = %sweep_id, "sweep already done; redelivered trigger ignored");
        return Ok(SweepRun { report: p.clone(), saved: false, duplicate: true, notified: false });
    }
    let state = ClusterState::gather(ports.reader, None, config.max_logs).await?;
    let scope = scope_of(&state, &config.policy);
    let findings = in_scope(analyze(&state), &config.policy);
    drop(state);
    let mut report = diff(previous.as_ref(), findings, &sweep_id, now);
    report.trigger = request.trigger;
    report.cluster = config.cluster.clone();
    report.scope = scope;
    if let Some(investigator) = &ports.investigator {
        investigate(investigator, ports.sweeps, config, &mut report, now).await;
    }
    let mut notified = false;
    if let Some(notifier) = ports.notifier
        && worth_notifying(&report)
    {
        let (subject, body) = summary(&report, config);
        notifier.notify(&subject, &body).await?;
        notified = true;
    }
    let saved = ports.sweeps.save_sweep(&report, previous.as_ref().map(|p| p.sweep_id.as_str())).await?;
    if !saved {
        tracing::warn!(sweep_id = %sweep_id, "another sweep was stored meanwhile; this one is reported, not stored");
    }
    tracing::info!(
        sweep_id = %sweep_id,
        new = report.new.len(),
        ongoing = report.ongoing.len(),
        resolved = report.resolved.len(),
        started = report.investigations.iter().filter(|o| o.status == OutcomeStatus::Started).count(),
        "sweep done"
    );
    Ok(SweepRun { report, saved, duplicate: false, notified })
}

/// Whether a report is worth a notification: a new or resolved finding above info, or an
/// investigation started.
pub fn worth_notifying(report: &SweepReport) -> bool {
    report.new.iter().chain(&report.resolved).any(|f| f.finding.severity > Severity::Info)
        || report.investigations.iter().any(|o| o.status == OutcomeStatus::Started)
}

/// Starts investigations for the candidates (see the module docs) and links each finding to
/// the investigation of its root cause.
async fn investigate(
    inv: &Investigator<'_>,
    sweeps: &dyn SweepStore,
    config: &SweepConfig,
    report: &mut SweepReport,
    now: Timestamp,
) {
    // (is ongoing, index); new ones first at equal severity.
    let mut candidates: Vec<(bool, usize)> = Vec::new();
    for (ongoing, list) in [(false, &report.new), (true, &report.ongoing)] {
        for (i, f) in list.iter().enumerate() {
            if f.finding.severity >= config.investigate_at && f.investigation.is_none() {
                candidates.push((ongoing, i));
            }
        }
    }
    let severity = |r: &SweepReport, (ongoing, i): (bool, usize)| {
        if ongoing { r.ongoing[i].finding.severity } else { r.new[i].finding.severity }
    };
    candidates.sort_by(|a, b| severity(report, *b).cmp(&severity(report, *a)).then(a.0.cmp(&b.0)));
    let mut started = 0usize;
    for (ongoing, i) in candidates {
        let f = if ongoing { &report.ongoing[i] } else { &report.new[i] };
        let outcome = if started >= config.max_investigations {
            InvestigationOutcome {
                finding: f.id.clone(),
                subject: subject(&f.finding),
                status: OutcomeStatus::Deferred,
                investigation_id: None,
                execution: None,
                message: Some(format!(
                    "{} investigations started by this sweep already (the most per sweep); the next sweep tries again",
                    config.max_investigations
                )),
            }
        } else {
            let outcome = claim_and_start(inv, sweeps, config, f, &report.sweep_id, now).await;
            if outcome.status == OutcomeStatus::Started {
                started += 1;
            }
            outcome
        };
        let link = matches!(
            outcome.status,
            OutcomeStatus::Started | OutcomeStatus::Open | OutcomeStatus::Cooldown | OutcomeStatus::ClaimedElsewhere
        );
        if link {
            let f = if ongoing { &mut report.ongoing[i] } else { &mut report.new[i] };
            f.investigation.clone_from(&outcome.investigation_id);
        }
        report.investigations.push(outcome);
    }
}

/// Claims the root cause and starts its investigation, or says why not.
async fn claim_and_start(
    inv: &Investigator<'_>,
    sweeps: &dyn SweepStore,
    config: &SweepConfig,
    f: &SweptFinding,
    sweep_id: &str,
    now: Timestamp,
) -> InvestigationOutcome {
    let mut outcome = InvestigationOutcome {
        finding: f.id.clone(),
        subject: subject(&f.finding),
        status: OutcomeStatus::Failed,
        investigation_id: None,
        execution: None,
        message: None,
    };
    match try_claim_and_start(inv, sweeps, config, f, sweep_id, now).await {
        Ok((status, id, execution, message)) => {
            outcome.status = status;
            outcome.investigation_id = id;
            outcome.execution = execution;
            outcome.message = message;
        }
        Err(e) => {
            tracing::warn!(finding = %f.id, error = %e, "could not start an investigation");
            outcome.message = Some(e.to_string());
        }
    }
    outcome
}

type Attempt = (OutcomeStatus, Option<String>, Option<String>, Option<String>);

async fn try_claim_and_start(
    inv: &Investigator<'_>,
    sweeps: &dyn SweepStore,
    config: &SweepConfig,
    f: &SweptFinding,
    sweep_id: &str,
    now: Timestamp,
) -> Result<Attempt> {
    let existing = sweeps.get_claim(&f.id).await?;
    let mut investigation_id = investigation_id_for(&f.id, sweep_id, now);
    match &existing {
        // Our own earlier attempt (a redelivered trigger after a failure): finish it.
        Some(c) if c.sweep_id == sweep_id => {
            if inv.state.get_investigation(&c.investigation_id).await?.is_some() {
                return Ok((OutcomeStatus::Open, Some(c.investigation_id.clone()), None, None));
            }
            investigation_id.clone_from(&c.investigation_id);
        }
        Some(c) => {
            let record = inv.state.get_investigation(&c.investigation_id).await?;
            let abandoned = record.is_none()
                && now.duration_since(c.claimed_at) > SignedDuration::from_secs(ABANDONED_CLAIM_SECONDS);
            if !abandoned {
                let until = c
                    .claimed_at
                    .checked_add(SignedDuration::from_secs(config.cooldown_seconds.max(0)))
                    .unwrap_or(Timestamp::MAX);
                if now < until {
                    let message = format!(
                        "investigation {} was started at {}; cooldown until {}",
                        c.investigation_id,
                        when(c.claimed_at),
                        when(until)
                    );
                    return Ok((OutcomeStatus::Cooldown, Some(c.investigation_id.clone()), None, Some(message)));
                }
                if let Some(r) = record.filter(|r| is_open(r.status)) {
                    let message = format!("investigation {} is still {}", r.id, r.status.as_str());
                    return Ok((OutcomeStatus::Open, Some(r.id), None, Some(message)));
                }
            }
            let claim = InvestigationClaim {
                identity: f.id.clone(),
                investigation_id: investigation_id.clone(),
                claimed_at: now,
                sweep_id: sweep_id.to_string(),
                subject: subject(&f.finding),
            };
            if !sweeps.put_claim(&claim, Some(&c.investigation_id)).await? {
                return claimed_elsewhere(sweeps, &f.id).await;
            }
        }
        None => {
            let claim = InvestigationClaim {
                identity: f.id.clone(),
                investigation_id: investigation_id.clone(),
                claimed_at: now,
                sweep_id: sweep_id.to_string(),
                subject: subject(&f.finding),
            };
            if !sweeps.put_claim(&claim, None).await? {
                return claimed_elsewhere(sweeps, &f.id).await;
            }
        }
    }
    let req = StartRequest {
        question: question(&f.finding),
        actor: SWEEP_ACTOR.to_string(),
        namespace: (!f.finding.namespace.is_empty()).then(|| f.finding.namespace.clone()),
        writes: false,
        continue_from: None,
        id: Some(investigation_id.clone()),
    };
    match launch(inv.state, inv.audit, inv.starter, req, config.approval_timeout_seconds, now).await {
        Ok(launched) => Ok((OutcomeStatus::Started, Some(investigation_id), Some(launched.execution_id), None)),
        Err(e) => {
            // The record, if it was written, must not look open forever.
            if let Ok(Some(mut record)) = inv.state.get_investigation(&investigation_id).await {
                record.status = InvestigationStatus::Failed;
                record.error = Some(format!("the sweep could not start its execution: {e}"));
                record.updated_at = now;
                if let Err(put) = inv.state.put_investigation(&record).await {
                    tracing::warn!(investigation_id = %investigation_id, error = %put, "could not mark a failed start");
                }
            }
            // Free the root cause for the next sweep (best effort: an orphaned claim ends with
            // the cooldown, or after ABANDONED_CLAIM_SECONDS since its investigation is missing).
            if let Err(release) = sweeps.release_claim(&f.id, &investigation_id).await {
                tracing::warn!(finding = %f.id, error = %release, "could not release a claim");
            }
            tracing::warn!(finding = %f.id, error = %e, "could not start an investigation");
            Ok((OutcomeStatus::Failed, Some(investigation_id), None, Some(e.to_string())))
        }
    }
}

async fn claimed_elsewhere(sweeps: &dyn SweepStore, identity: &str) -> Result<Attempt> {
    let winner = sweeps.get_claim(identity).await?;
    let message = winner.as_ref().map(|c| format!("sweep {} claimed this root cause first", c.sweep_id));
    Ok((OutcomeStatus::ClaimedElsewhere, winner.map(|c| c.investigation_id), None, message))
}

fn is_open(status: InvestigationStatus) -> bool {
    matches!(status, InvestigationStatus::Running | InvestigationStatus::WaitingApproval)
}

/// The id of the investigation a sweep starts for a root cause: shaped like every
/// investigation id, and the same for a retried sweep.
fn investigation_id_for(identity: &str, sweep_id: &str, now: Timestamp) -> String {
    use sha2::Digest;
    let h = hex::encode(sha2::Sha256::digest(format!("{identity}\0{sweep_id}").as_bytes()));
    format!("inv-{}-{}", now.strftime("%Y%m%dT%H%M%S"), &h[..8])
}

/// The question an investigation of a finding asks.
pub fn question(f: &Finding) -> String {
    let mut q = format!(
        "A health sweep found a new {} problem: {} [{}]: {}",
        f.severity.as_str(),
        f.subject(),
        f.reason,
        clip(&f.message, 1000)
    );
    let ask = "\nWhat is the root cause, and what would fix it?";
    let mut cut = MAX_QUESTION_BYTES.saturating_sub(ask.len()).min(q.len());
    while !q.is_char_boundary(cut) {
        cut -= 1;
    }
    q.truncate(cut);
    q.push_str(ask);
    q
}

/// The first `max` characters of `text` (with `…` when cut), on one line.
fn clip(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// A time as people read it in a report: `2025-11-30T10:00:00Z` (whole seconds, UTC).
pub fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// One line about a finding: `ERROR    Pod prod/web-1 [OOMKilled] message`.
pub fn line(f: &SweptFinding) -> String {
    format!(
        "{:<8} {} [{}] {}",
        f.finding.severity.as_str().to_uppercase(),
        f.finding.subject(),
        f.finding.reason,
        clip(&f.finding.message, LINE_MESSAGE_CHARS)
    )
}

/// The summary a notifier sends: subject and body with the counts, the top new and resolved
/// findings, the investigations and links.
pub fn summary(report: &SweepReport, config: &SweepConfig) -> (String, String) {
    let (n, o, r) = (report.new.len(), report.ongoing.len(), report.resolved.len());
    let subject = format!("aiops sweep of {}: {n} new, {r} resolved, {o} ongoing", report.cluster);
    let mut body = format!(
        "Health sweep {} of {} at {} ({}).\n",
        report.sweep_id,
        report.cluster,
        when(report.at),
        report.trigger
    );
    match &report.previous {
        Some(p) => body.push_str(&format!("Compared with sweep {} at {}.\n", p.sweep_id, when(p.at))),
        None => body.push_str("First sweep: every finding is new.\n"),
    }
    body.push_str(&format!(
        "{n} new, {o} ongoing, {r} resolved; {} namespaces and {} pods swept",
        report.scope.namespaces, report.scope.pods
    ));
    if !report.scope.excluded.is_empty() {
        body.push_str(&format!(" (left out: {})", report.scope.excluded.join(", ")));
    }
    body.push_str(".\n");
    let section = |body: &mut String, title: &str, list: &[SweptFinding]| {
        if list.is_empty() {
            return;
        }
        let shown = list.len().min(config.top);
        body.push_str(&format!("\n{title} ({}{}):\n", if shown < list.len() { "top " } else { "" }, shown));
        let mut sorted: Vec<&SweptFinding> = list.iter().collect();
        sorted.sort_by_key(|f| std::cmp::Reverse(f.finding.severity));
        for f in sorted.into_iter().take(shown) {
            body.push_str(&format!("  - {}\n", line(f)));
        }
        if shown < list.len() {
            body.push_str(&format!("  … and {} more\n", list.len() - shown));
        }
    };
    section(&mut body, "New", &report.new);
    section(&mut body, "Resolved", &report.resolved);
    let p = if config.links.cli_prefix.is_empty() {
        "aiops".to_string()
    } else {
        format!("aiops {}", config.links.cli_prefix)
    };
    if !report.investigations.is_empty() {
        body.push_str("\nInvestigations:\n");
        for o in &report.investigations {
            let id = o.investigation_id.as_deref().unwrap_or("-");
            let what = match o.status {
                OutcomeStatus::Started => format!("started {id}"),
                OutcomeStatus::Open => format!("already open: {id}"),
                OutcomeStatus::Cooldown => format!("in cooldown after {id}"),
                OutcomeStatus::ClaimedElsewhere => format!("started by another sweep: {id}"),
                OutcomeStatus::Deferred => "deferred to the next sweep".to_string(),
                OutcomeStatus::Failed => "failed to start".to_string(),
            };
            body.push_str(&format!("  - {} — {what}\n", o.subject));
            if let Some(e) = &o.execution {
                let link = config.links.execution_link.map_or_else(|| e.clone(), |l| l(e));
                body.push_str(&format!("    execution: {link}\n"));
            }
            if o.status == OutcomeStatus::Started {
                body.push_str(&format!("    trail: {p} audit {id}\n"));
            }
            if o.status == OutcomeStatus::Failed
                && let Some(m) = &o.message
            {
                body.push_str(&format!("    error: {}\n", clip(m, 300)));
            }
        }
    }
    if let Some(api) = &config.links.api_url {
        body.push_str(&format!("\nLatest sweep: {}/sweeps/latest\n", api.trim_end_matches('/')));
    }
    (subject, body)
}

/// Checks a sweep report read back from a store for the invariants [`run`] keeps (one
/// identity per finding).
///
/// # Errors
/// `Backend`/Fatal naming the duplicate identity.
pub fn check_report(report: &SweepReport) -> Result<()> {
    let mut seen = HashSet::new();
    for f in report.new.iter().chain(&report.ongoing) {
        if !seen.insert(f.id.as_str()) {
            return Err(Error::backend(
                crate::ErrorClass::Fatal,
                format!("read sweep {}", report.sweep_id),
                format!("finding {} appears twice", f.id),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{ChainLink, ObjectRef};

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_764_496_800 + secs).expect("time")
    }

    fn finding(kind: &str, ns: &str, name: &str, severity: Severity, reason: &str, message: &str) -> Finding {
        Finding::new(ObjectRef::new(kind, ns, name), severity, reason, message)
    }

    #[test]
    fn identity_ignores_the_message_and_groups_generated_pod_names() {
        struct Case {
            name: &'static str,
            a: Finding,
            b: Finding,
            same: bool,
        }
        let oom = |name: &str, msg: &str| finding("Pod", "prod", name, Severity::Error, "OOMKilled", msg);
        let cases = [
            Case {
                name: "message with changing numbers",
                a: oom("web-7d9f8b6c5d-x2k4p", "restarted 5 times"),
                b: oom("web-7d9f8b6c5d-x2k4p", "restarted 9 times"),
                same: true,
            },
            Case {
                name: "replaced pod of the same ReplicaSet",
                a: oom("web-7d9f8b6c5d-x2k4p", "m"),
                b: oom("web-7d9f8b6c5d-q8z1m", "m"),
                same: true,
            },
            Case { name: "StatefulSet ordinals", a: oom("db-0", "m"), b: oom("db-1", "m"), same: true },
            Case {
                name: "another ReplicaSet (a rollout)",
                a: oom("web-7d9f8b6c5d-x2k4p", "m"),
                b: oom("web-5c6d7e8f9a-x2k4p", "m"),
                same: false,
            },
            Case {
                name: "another reason",
                a: oom("web-7d9f8b6c5d-x2k4p", "m"),
                b: finding("Pod", "prod", "web-7d9f8b6c5d-x2k4p", Severity::Error, "CrashLoopBackOff", "m"),
                same: false,
            },
            Case {
                name: "another namespace",
                a: oom("api", "m"),
                b: finding("Pod", "staging", "api", Severity::Error, "OOMKilled", "m"),
                same: false,
            },
            Case {
                name: "severity is not identity",
                a: finding("Service", "prod", "web", Severity::Error, "NoEndpoints", "m"),
                b: finding("Service", "prod", "web", Severity::Critical, "NoEndpoints", "m"),
                same: true,
            },
            Case {
                name: "a Deployment named like a generated pod is not grouped",
                a: finding("Deployment", "prod", "web-12345", Severity::Error, "Stuck", "m"),
                b: finding("Deployment", "prod", "web-67890", Severity::Error, "Stuck", "m"),
                same: false,
            },
        ];
        for c in cases {
            assert_eq!(identity(&c.a) == identity(&c.b), c.same, "{}", c.name);
            assert_eq!(identity(&c.a).len(), 16, "{}", c.name);
        }
        // Not a generated name: the identity is Finding::id.
        let bare = finding("Pod", "prod", "payment", Severity::Error, "OOMKilled", "m");
        assert_eq!(identity(&bare), bare.id());
        let svc = finding("Service", "prod", "web-1", Severity::Error, "NoEndpoints", "m");
        assert_eq!(identity(&svc), svc.id());
    }

    #[test]
    fn diff_reports_new_ongoing_since_and_resolved() {
        let a = finding("Pod", "prod", "api", Severity::Error, "OOMKilled", "restarted 5 times");
        let b = finding("Service", "prod", "web", Severity::Warning, "NoEndpoints", "0 of 3 ready");
        let first = diff(None, vec![a.clone(), b.clone()], "s1", t(0));
        assert!(first.previous.is_none() && first.ongoing.is_empty() && first.resolved.is_empty());
        assert_eq!(first.new.len(), 2);
        assert!(first.new.iter().all(|f| f.since == t(0)));

        let a2 = finding("Pod", "prod", "api", Severity::Critical, "OOMKilled", "restarted 9 times");
        let c = finding("PersistentVolumeClaim", "prod", "data", Severity::Error, "Unbound", "pending 10m");
        let mut prev = first.clone();
        prev.new[0].investigation = Some("inv-1".into());
        let second = diff(Some(&prev), vec![c.clone(), a2.clone()], "s2", t(300));
        assert_eq!(second.previous, Some(PreviousSweep { sweep_id: "s1".into(), at: t(0), cluster: String::new() }));
        assert_eq!(second.new.iter().map(|f| f.finding.name.as_str()).collect::<Vec<_>>(), ["data"]);
        assert_eq!(second.new[0].since, t(300));
        assert_eq!(second.ongoing.len(), 1);
        let ongoing = &second.ongoing[0];
        assert_eq!(ongoing.finding.message, "restarted 9 times", "the current finding is reported");
        assert_eq!(ongoing.since, t(0), "since is the first sighting");
        assert_eq!(ongoing.investigation.as_deref(), Some("inv-1"), "the investigation carries over");
        assert_eq!(second.resolved.len(), 1);
        assert_eq!(second.resolved[0].finding, b, "resolved as last seen");

        let third = diff(Some(&second), vec![c], "s3", t(600));
        assert!(third.new.is_empty());
        assert_eq!(third.ongoing[0].since, t(300));
        assert_eq!(third.resolved.iter().map(|f| f.finding.name.as_str()).collect::<Vec<_>>(), ["api"]);
    }

    #[test]
    fn duplicate_identities_are_reported_once_worst_first() {
        let warn = finding("Pod", "prod", "api", Severity::Warning, "X", "w");
        let err = finding("Pod", "prod", "api", Severity::Error, "X", "e");
        let r = diff(None, vec![warn, err], "s", t(0));
        assert_eq!(r.new.len(), 1);
        assert_eq!(r.new[0].finding.message, "e");
        check_report(&r).expect("one identity each");
    }

    #[test]
    fn scope_follows_the_namespace_lists() {
        let node = |chain_ns: &[&str]| {
            let mut f = finding("Node", "", "n1", Severity::Error, "NotReady", "m");
            f.chain = chain_ns
                .iter()
                .map(|ns| ChainLink {
                    kind: "Pod".into(),
                    namespace: ns.to_string(),
                    name: "p".into(),
                    reason: "r".into(),
                    message: "m".into(),
                })
                .collect();
            f
        };
        let findings = vec![
            finding("Pod", "kube-system", "coredns", Severity::Error, "CrashLoopBackOff", "m"),
            finding("Pod", "prod", "api", Severity::Error, "OOMKilled", "m"),
            finding("Pod", "staging", "api", Severity::Error, "OOMKilled", "m"),
            node(&[]),
            node(&["kube-system"]),
            node(&["kube-system", "prod"]),
        ];
        let keys = |fs: Vec<Finding>| {
            fs.iter().map(|f| format!("{}/{}:{}", f.namespace, f.name, f.chain.len())).collect::<Vec<_>>()
        };
        assert_eq!(
            keys(in_scope(findings.clone(), &Policy::default())),
            ["prod/api:0", "staging/api:0", "/n1:0", "/n1:2"],
            "kube-system is denied by default"
        );
        let only_prod = Policy { allow_namespaces: vec!["prod".into()], ..Policy::default() };
        assert_eq!(keys(in_scope(findings, &only_prod)), ["prod/api:0", "/n1:0", "/n1:2"]);
    }

    #[test]
    fn summary_has_counts_top_findings_and_links() {
        let many: Vec<Finding> = (0..8)
            .map(|i| {
                finding(
                    "Pod",
                    "prod",
                    &format!("api{i}"),
                    if i == 3 { Severity::Critical } else { Severity::Error },
                    "OOMKilled",
                    "oom",
                )
            })
            .collect();
        let mut r = diff(None, many, "sweep-1", t(0));
        r.cluster = "prod-eks".into();
        r.trigger = "schedule".into();
        r.investigations.push(InvestigationOutcome {
            finding: r.new[0].id.clone(),
            subject: subject(&r.new[0].finding),
            status: OutcomeStatus::Started,
            investigation_id: Some("inv-1".into()),
            execution: Some("arn:aws:states:eu-west-1:1:execution:sm:inv-1-1".into()),
            message: None,
        });
        fn link(e: &str) -> String {
            format!("https://console/{e}")
        }
        let config = SweepConfig {
            links: SweepLinks {
                execution_link: Some(link),
                api_url: Some("https://api.example/".into()),
                cli_prefix: String::new(),
            },
            ..SweepConfig::default()
        };
        let (subject, body) = summary(&r, &config);
        assert_eq!(subject, "aiops sweep of prod-eks: 8 new, 0 resolved, 0 ongoing");
        assert!(body.contains("First sweep: every finding is new."), "{body}");
        assert!(body.contains("New (top 5):\n  - CRITICAL Pod prod/api3 [OOMKilled] oom\n"), "{body}");
        assert!(body.contains("… and 3 more"), "{body}");
        assert!(
            body.contains(
                "started inv-1\n    execution: https://console/arn:aws:states:eu-west-1:1:execution:sm:inv-1-1"
            ),
            "{body}"
        );
        assert!(body.contains("trail: aiops audit inv-1"), "{body}");
        assert!(body.contains("Latest sweep: https://api.example/sweeps/latest"), "{body}");
        assert!(worth_notifying(&r));
        let quiet = diff(Some(&r), r.new.iter().map(|f| f.finding.clone()).collect(), "sweep-2", t(60));
        assert!(!worth_notifying(&quiet), "nothing changed");
    }

    #[test]
    fn the_question_fits_and_names_the_finding() {
        let f = finding("Pod", "prod", "api", Severity::Error, "OOMKilled", &"x ".repeat(5000));
        let q = question(&f);
        assert!(q.len() <= MAX_QUESTION_BYTES, "{}", q.len());
        let wide = question(&finding("Pod", "prod", &"é".repeat(200), Severity::Error, "R", &"€".repeat(3000)));
        assert!(wide.len() <= MAX_QUESTION_BYTES && wide.ends_with("would fix it?"), "{}", wide.len());
        assert!(q.starts_with("A health sweep found a new error problem: Pod prod/api [OOMKilled]: x x"), "{q}");
        assert!(scheduled_sweep_id(t(0)) == "sweep-20251130T100000Z");
        assert!(new_sweep_id(t(0)).starts_with("sweep-20251130T100000Z-"));
        assert_ne!(new_sweep_id(t(0)), new_sweep_id(t(0)));
    }
}
