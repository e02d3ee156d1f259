//! The sweep function: one scheduled health sweep of the cluster. Thin: the logic is
//! [`aiops_core::sweep::run`] over the ports in [`Deps`]; this crate decodes the schedule's
//! event, reads the function's configuration from the environment ([`Config::from_vars`]), and
//! shapes the result.
//!
//! Does not belong here: the diff, the claims, the summary (aiops-core), storage (aiops-aws).

use std::sync::Arc;

use aiops_aws::config::{ConfigError, FunctionConfig};
use aiops_core::ErrorClass;
use aiops_core::analyze::Severity;
use aiops_core::ports::{AuditLog, ClusterReader, ExecutionStarter, Notifier, StateStore, SweepStore};
use aiops_core::sweep::{self, Investigator, SweepConfig, SweepLinks, SweepPorts, SweepRequest};
use aiops_core::workflow::{self, FnError};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

/// The `Target.Input` the template gives the EventBridge Scheduler schedule. The Scheduler
/// replaces the `<aws.scheduler.…>` placeholders when it invokes the function, so every
/// delivery of one scheduled run carries the same `scheduled_time`, and so names the same sweep
/// (a redelivery finds it done). A placeholder left as it is (an emulator, a hand-made event)
/// is read as absent.
pub const SCHEDULE_INPUT: &str = r#"{"trigger":"schedule","schedule_arn":"<aws.scheduler.schedule-arn>","scheduled_time":"<aws.scheduler.scheduled-time>","execution_id":"<aws.scheduler.execution-id>"}"#;

/// What the function needs, built once per container.
#[derive(Clone)]
pub struct Deps {
    pub reader: Arc<dyn ClusterReader>,
    pub sweeps: Arc<dyn SweepStore>,
    pub state: Arc<dyn StateStore>,
    pub audit: Arc<dyn AuditLog>,
    /// Starts investigations; `None` when they are off (`AIOPS_SWEEP_INVESTIGATE=false`).
    pub starter: Option<Arc<dyn ExecutionStarter>>,
    pub notifier: Arc<dyn Notifier>,
    pub config: SweepConfig,
}

/// The event: the schedule's `Target.Input` ([`SCHEDULE_INPUT`]). Every field is optional, so
/// `{}` (a manual invoke) sweeps too; `time` is read as `scheduled_time`, for an EventBridge
/// rule's "Scheduled Event".
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SweepEvent {
    /// What triggered it (default `schedule`).
    #[serde(default)]
    pub trigger: Option<String>,
    /// RFC 3339; fixes the sweep id.
    #[serde(default, alias = "time")]
    pub scheduled_time: Option<String>,
    #[serde(default)]
    pub schedule_arn: Option<String>,
    #[serde(default)]
    pub execution_id: Option<String>,
    /// Who asked, for a sweep requested through the API ([`sweep::requested_event`]).
    #[serde(default)]
    pub requested_by: Option<String>,
}

/// Whether a value is a Scheduler context placeholder nobody substituted.
fn placeholder(v: &str) -> bool {
    v.starts_with("<aws.scheduler.") && v.ends_with('>')
}

/// The sweep request an event asks for.
///
/// # Errors
/// `Aiops.InvalidInput` when `scheduled_time` is neither absent, a placeholder, nor RFC 3339.
pub fn request_of(ev: &SweepEvent) -> Result<SweepRequest, FnError> {
    let sweep_id = match ev.scheduled_time.as_deref().map(str::trim).filter(|t| !t.is_empty() && !placeholder(t)) {
        None => None,
        Some(t) => {
            let at: Timestamp = t.parse().map_err(|e| FnError {
                error_type: ErrorClass::InvalidInput.error_type().to_string(),
                message: format!("scheduled_time {t:?} is not an RFC 3339 time: {e}"),
            })?;
            Some(sweep::scheduled_sweep_id(at))
        }
    };
    let trigger = ev.trigger.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| "schedule".to_string());
    Ok(SweepRequest { trigger, sweep_id })
}

/// Handles one invocation: sweeps, and returns a small summary (the full report is stored:
/// `GET /sweeps/latest`).
///
/// # Errors
/// A malformed event (`Aiops.InvalidInput`); the sweep's errors, classified (throttled and
/// transient ones are worth the asynchronous invocation's retries: a retry of a scheduled run
/// names the same sweep).
pub async fn handle(deps: &Deps, event: Value) -> Result<Value, FnError> {
    let ev: SweepEvent = workflow::parse_event(event)?;
    let request = request_of(&ev)?;
    if let Some(by) = &ev.requested_by {
        tracing::info!(trigger = %request.trigger, requested_by = %by, "a sweep was requested");
    }
    let ports = SweepPorts {
        reader: deps.reader.as_ref(),
        sweeps: deps.sweeps.as_ref(),
        notifier: Some(deps.notifier.as_ref()),
        investigator: deps.starter.as_ref().map(|starter| Investigator {
            state: deps.state.as_ref(),
            audit: deps.audit.as_ref(),
            starter: starter.as_ref(),
        }),
    };
    let run = sweep::run(&ports, &deps.config, request, Timestamp::now()).await.map_err(FnError::from)?;
    let r = &run.report;
    Ok(json!({
        "sweep_id": r.sweep_id,
        "at": r.at,
        "trigger": r.trigger,
        "counts": {"new": r.new.len(), "ongoing": r.ongoing.len(), "resolved": r.resolved.len()},
        "scope": r.scope,
        "investigations": r.investigations,
        "saved": run.saved,
        "duplicate": run.duplicate,
        "notified": run.notified,
    }))
}

/// The function's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Tables, topic, cluster, namespace lists, approval timeout (shared by every function).
    pub function: FunctionConfig,
    pub sweep: SweepConfig,
    /// The investigation state machine; `None` when investigations are off.
    pub state_machine_arn: Option<String>,
    /// The SNS topic summaries go to.
    pub topic_arn: String,
}

impl Config {
    /// Reads the configuration through `get` (`|k| std::env::var(k).ok()` in the Lambda). The
    /// variables are listed in `main.rs`.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let function = FunctionConfig::from_vars(&get)?;
        let set = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let num = |k: &str, default: u64| -> Result<u64, ConfigError> {
            set(k)
                .map_or(Ok(default), |v| v.parse().map_err(|_| ConfigError(format!("{k}={v:?} is not a whole number"))))
        };
        let investigate_at = match set("AIOPS_SWEEP_SEVERITY") {
            None => Severity::Error,
            Some(v) => Severity::parse(&v).ok_or_else(|| {
                ConfigError(format!("AIOPS_SWEEP_SEVERITY={v:?} is not one of critical, error, warning, info"))
            })?,
        };
        let investigate = match set("AIOPS_SWEEP_INVESTIGATE").as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(v) => return Err(ConfigError(format!("AIOPS_SWEEP_INVESTIGATE={v:?} is not true or false"))),
        };
        let state_machine_arn = if investigate {
            Some(set("AIOPS_STATE_MACHINE_ARN").ok_or_else(|| {
                ConfigError(
                    "AIOPS_STATE_MACHINE_ARN is not set (needed to start investigations; AIOPS_SWEEP_INVESTIGATE=false turns them off)"
                        .into(),
                )
            })?)
        } else {
            None
        };
        let topic_arn = function.topic_arn.clone().ok_or_else(|| ConfigError("AIOPS_TOPIC_ARN is not set".into()))?;
        let cluster = function.cluster()?.to_string();
        let api_url = set("AIOPS_API_URL");
        let defaults = SweepConfig::default();
        let sweep = SweepConfig {
            policy: function.policy.clone(),
            investigate_at,
            cooldown_seconds: i64::try_from(num(
                "AIOPS_SWEEP_COOLDOWN_SECONDS",
                defaults.cooldown_seconds.unsigned_abs(),
            )?)
            .map_err(|_| ConfigError("AIOPS_SWEEP_COOLDOWN_SECONDS is too large".into()))?,
            max_investigations: usize::try_from(num(
                "AIOPS_SWEEP_MAX_INVESTIGATIONS",
                defaults.max_investigations as u64,
            )?)
            .unwrap_or(defaults.max_investigations),
            max_logs: usize::try_from(num("AIOPS_SWEEP_MAX_LOGS", defaults.max_logs as u64)?)
                .unwrap_or(defaults.max_logs),
            approval_timeout_seconds: function.workflow.approval_timeout_seconds,
            top: defaults.top,
            cluster,
            links: SweepLinks {
                execution_link: Some(aiops_aws::locks::execution_link),
                cli_prefix: api_url.as_ref().map(|u| format!("--api {u}")).unwrap_or_default(),
                api_url,
            },
        };
        Ok(Config { function, sweep, state_machine_arn, topic_arn })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(extra: Vec<(&'static str, &'static str)>) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            let base = [
                ("AIOPS_STATE_TABLE", "s"),
                ("AIOPS_AUDIT_TABLE", "a"),
                ("AIOPS_APPROVALS_TABLE", "p"),
                ("AIOPS_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:aiops"),
                ("AIOPS_CLUSTER_NAME", "prod-eks"),
                ("AIOPS_STATE_MACHINE_ARN", "arn:aws:states:eu-west-1:123456789012:stateMachine:aiops"),
            ];
            extra.iter().chain(base.iter()).find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn configuration_defaults_and_errors_name_the_variable() {
        let cfg = Config::from_vars(vars(vec![])).expect("config");
        assert_eq!(cfg.sweep.investigate_at, Severity::Error);
        assert_eq!(cfg.sweep.cooldown_seconds, 3600);
        assert_eq!(cfg.sweep.cluster, "prod-eks");
        assert_eq!(cfg.sweep.policy.deny_namespaces, ["kube-system"]);
        assert!(cfg.state_machine_arn.is_some());

        let cfg = Config::from_vars(vars(vec![
            ("AIOPS_SWEEP_SEVERITY", "critical"),
            ("AIOPS_SWEEP_COOLDOWN_SECONDS", "600"),
            ("AIOPS_SWEEP_INVESTIGATE", "false"),
            ("AIOPS_STATE_MACHINE_ARN", ""),
            ("AIOPS_API_URL", "https://api.example"),
        ]))
        .expect("config");
        assert_eq!(cfg.sweep.investigate_at, Severity::Critical);
        assert_eq!(cfg.sweep.cooldown_seconds, 600);
        assert_eq!(cfg.state_machine_arn, None);
        assert_eq!(cfg.sweep.links.cli_prefix, "--api https://api.example");

        for bad in [
            ("AIOPS_SWEEP_SEVERITY", "loud"),
            ("AIOPS_SWEEP_COOLDOWN_SECONDS", "an hour"),
            ("AIOPS_SWEEP_INVESTIGATE", "yes"),
            ("AIOPS_STATE_MACHINE_ARN", ""),
            ("AIOPS_TOPIC_ARN", ""),
            ("AIOPS_CLUSTER_NAME", ""),
        ] {
            let var = bad.0;
            let err = Config::from_vars(vars(vec![bad])).expect_err(var);
            assert!(err.to_string().contains(var), "{var}: {err}");
        }
    }

    #[test]
    fn scheduled_times_name_the_sweep_and_placeholders_do_not() {
        let ev = |v: Value| serde_json::from_value::<SweepEvent>(v).expect("event");
        let r = request_of(&ev(json!({"scheduled_time": "2025-11-30T10:00:00Z"}))).expect("request");
        assert_eq!(r, SweepRequest { trigger: "schedule".into(), sweep_id: Some("sweep-20251130T100000Z".into()) });
        let from_rule = request_of(&ev(json!({"time": "2025-11-30T10:05:00Z", "detail-type": "Scheduled Event"})))
            .expect("request");
        assert_eq!(from_rule.sweep_id.as_deref(), Some("sweep-20251130T100500Z"));
        let raw: Value = serde_json::from_str(SCHEDULE_INPUT).expect("json");
        assert_eq!(request_of(&ev(raw)).expect("request"), SweepRequest { trigger: "schedule".into(), sweep_id: None });
        assert_eq!(request_of(&ev(json!({}))).expect("request").trigger, "schedule");
        // What the API queues (POST /sweeps): a fresh sweep, named as requested.
        let requested = ev(sweep::requested_event("api", "arn:aws:iam::123456789012:user/ops"));
        assert_eq!(request_of(&requested).expect("request"), SweepRequest { trigger: "api".into(), sweep_id: None });
        assert_eq!(requested.requested_by.as_deref(), Some("arn:aws:iam::123456789012:user/ops"));
        let bad = request_of(&ev(json!({"scheduled_time": "yesterday"}))).expect_err("bad time");
        assert_eq!(bad.error_type, "Aiops.InvalidInput");
        assert!(bad.message.contains("\"yesterday\" is not an RFC 3339 time"), "{}", bad.message);
    }
}
