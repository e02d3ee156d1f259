//! get_cloudwatch_logs: FilterLogEvents over `/aws/containerinsights/<cluster>/application`
//! (Container Insights application logs) or `/aws/eks/<cluster>/cluster` (control-plane logs),
//! redacted line by line and reduced like pod logs.
//!
//! The server-side filter pattern is the caller's pattern, or else the pod (or namespace) name
//! as a quoted term; pod and namespace are then matched exactly on each event: on the
//! `kubernetes.pod_name` / `kubernetes.namespace_name` of Fluent Bit's JSON records, else on
//! the log stream name (`…<pod>_<namespace>_<container>-<id>.log`), else as text. Logs
//! Insights and JSON filter patterns are not used.

use aiops_core::Result;
use aiops_core::agent::redact::redact;
use aiops_core::logs::{ReducedLog, reduce};
use aiops_core::tools::{LOG_BUDGET_BYTES, Render};
use serde::Serialize;
use serde_json::Value;

use super::{Args, AwsInspector, aws_error};
use crate::error::error_code;

/// Default window, minutes.
const DEFAULT_MINUTES: i64 = 60;
/// Default number of events.
const DEFAULT_LIMIT: i64 = 100;
/// FilterLogEvents pages read at most.
const MAX_PAGES: usize = 5;
/// Last lines always kept by the reduction.
const KEEP_TAIL: usize = 25;

/// The result of get_cloudwatch_logs.
#[derive(Debug, Clone, Serialize)]
pub struct LogsResult {
    pub cluster: String,
    pub log_group: String,
    /// Whether the log group exists.
    pub exists: bool,
    /// The filter pattern sent to CloudWatch Logs (the caller's, or the pod or namespace
    /// name as a quoted term).
    pub filter_pattern: Option<String>,
    /// The caller's pattern.
    pub pattern: Option<String>,
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub minutes: i64,
    /// Events matching every filter among those scanned.
    pub matched: usize,
    /// Events shown (the newest `limit` of the matched ones).
    pub shown: usize,
    /// Whether events remained unscanned after the page limit.
    pub more_unscanned: bool,
    /// The shown events' lines, redacted and reduced.
    pub log: Option<ReducedLog>,
}

struct Event {
    timestamp: i64,
    stream: String,
    message: String,
}

/// Which pod/namespace/container an application log event is about.
#[derive(Debug, Default, PartialEq, Eq)]
struct Origin {
    pod: Option<String>,
    namespace: Option<String>,
    container: Option<String>,
    /// The log line itself (Fluent Bit's `log` field), when the message is a record.
    line: Option<String>,
}

pub(super) async fn get_cloudwatch_logs(inspector: &AwsInspector, args: &Args) -> Result<LogsResult> {
    let cluster = inspector.cluster("get_cloudwatch_logs", None)?.to_string();
    let application = args.log_group.as_deref() != Some("cluster");
    let log_group = if application {
        format!("/aws/containerinsights/{cluster}/application")
    } else {
        format!("/aws/eks/{cluster}/cluster")
    };
    let minutes = args.minutes.unwrap_or(DEFAULT_MINUTES);
    let limit = usize::try_from(args.limit.unwrap_or(DEFAULT_LIMIT)).unwrap_or(100).max(1);
    let pattern = args.pattern.clone().filter(|p| !p.trim().is_empty());
    let server_pattern = pattern
        .clone()
        .or_else(|| args.pod.as_ref().or(args.namespace.as_ref()).map(|term| format!("\"{}\"", term.replace('"', ""))));
    let mut result = LogsResult {
        cluster,
        log_group: log_group.clone(),
        exists: true,
        filter_pattern: server_pattern.clone(),
        pattern: pattern.clone(),
        namespace: args.namespace.clone(),
        pod: args.pod.clone(),
        minutes,
        matched: 0,
        shown: 0,
        more_unscanned: false,
        log: None,
    };

    let end = jiff::Timestamp::now().as_millisecond();
    let start = end - minutes * 60_000;
    let mut events: Vec<Event> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = inspector
            .logs
            .filter_log_events()
            .log_group_name(&log_group)
            .start_time(start)
            .end_time(end)
            .set_filter_pattern(server_pattern.clone())
            .set_next_token(token.take())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            // The log group does not exist: an answer, not a failure.
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {
                result.exists = false;
                return Ok(result);
            }
            Err(e) => return Err(aws_error("logs:FilterLogEvents", e)),
        };
        for e in page.events() {
            let event = Event {
                timestamp: e.timestamp().unwrap_or_default(),
                stream: e.log_stream_name().unwrap_or_default().to_string(),
                message: e.message().unwrap_or_default().to_string(),
            };
            if matches(&event, application, args.pod.as_deref(), args.namespace.as_deref()) {
                events.push(event);
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    result.more_unscanned = token.is_some();
    events.sort_by_key(|e| e.timestamp);
    result.matched = events.len();
    let skip = events.len().saturating_sub(limit);
    let shown = &events[skip..];
    result.shown = shown.len();
    if !shown.is_empty() {
        let mut text = String::new();
        for e in shown {
            text.push_str(&render_event(e, application));
        }
        result.log = Some(reduce(&text, LOG_BUDGET_BYTES, KEEP_TAIL));
    }
    Ok(result)
}

/// Reads the origin of an application log event from its record or its stream name.
fn origin(event: &Event) -> Origin {
    let mut o = Origin::default();
    if event.message.trim_start().starts_with('{')
        && let Ok(v) = serde_json::from_str::<Value>(&event.message)
    {
        let k = |f: &str| v.pointer(&format!("/kubernetes/{f}")).and_then(Value::as_str).map(str::to_string);
        o.pod = k("pod_name");
        o.namespace = k("namespace_name");
        o.container = k("container_name");
        o.line = v.get("log").and_then(Value::as_str).map(|l| l.trim_end_matches('\n').to_string());
    }
    if o.pod.is_none() {
        // `<host>-application.var.log.containers.<pod>_<namespace>_<container>-<id>.log`
        let file = event.stream.rsplit("containers.").next().unwrap_or_default();
        let mut parts = file.splitn(3, '_');
        if let (Some(pod), Some(ns), Some(rest)) = (parts.next(), parts.next(), parts.next())
            && !pod.is_empty()
            && !ns.is_empty()
            && event.stream.contains("containers.")
        {
            o.pod = Some(pod.to_string());
            o.namespace = Some(ns.to_string());
            let container = rest.trim_end_matches(".log");
            o.container = Some(container.rsplit_once('-').map_or(container, |(c, _)| c).to_string());
        }
    }
    o
}

fn matches(event: &Event, application: bool, pod: Option<&str>, namespace: Option<&str>) -> bool {
    if !application {
        return pod.is_none_or(|p| event.message.contains(p)) && namespace.is_none_or(|n| event.message.contains(n));
    }
    let o = origin(event);
    let pod_ok = pod.is_none_or(|p| match &o.pod {
        Some(op) => op == p,
        None => event.message.contains(p),
    });
    let ns_ok = namespace.is_none_or(|n| match &o.namespace {
        Some(on) => on == n,
        None => event.message.contains(n),
    });
    pod_ok && ns_ok
}

/// `2026-01-01T00:00:00Z pod/container: line`, redacted; continuation lines as they are.
fn render_event(event: &Event, application: bool) -> String {
    let when = jiff::Timestamp::from_millisecond(event.timestamp)
        .map_or_else(|_| event.timestamp.to_string(), |t| format!("{t:.0}"));
    let (source, body) = if application {
        let o = origin(event);
        let source = match (&o.pod, &o.container) {
            (Some(p), Some(c)) => format!("{p}/{c}"),
            (Some(p), None) => p.clone(),
            _ => event.stream.clone(),
        };
        (source, o.line.unwrap_or_else(|| event.message.clone()))
    } else {
        (event.stream.clone(), event.message.clone())
    };
    let body = redact(body.trim_end_matches('\n')).into_owned();
    let mut out = String::new();
    for (i, line) in body.lines().enumerate() {
        if i == 0 {
            out.push_str(&format!("{when} {source}: {line}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if body.is_empty() {
        out.push_str(&format!("{when} {source}:\n"));
    }
    out
}

impl Render for LogsResult {
    fn text(&self) -> String {
        if !self.exists {
            let why = if self.log_group.ends_with("/application") {
                format!(
                    "Container Insights is not enabled for cluster {} (or its Fluent Bit does not ship application logs): install the amazon-cloudwatch-observability add-on",
                    self.cluster
                )
            } else {
                format!(
                    "control-plane logging is not enabled for cluster {} (enable api, audit, authenticator, controllerManager or scheduler logging in the cluster's logging configuration)",
                    self.cluster
                )
            };
            return format!("Log group {} does not exist: {why}.\n", self.log_group);
        }
        let mut what = Vec::new();
        if let Some(ns) = &self.namespace {
            what.push(format!("namespace {ns}"));
        }
        if let Some(p) = &self.pod {
            what.push(format!("pod {p}"));
        }
        if let Some(f) = &self.pattern {
            what.push(format!("filter {f}"));
        }
        let filters = if what.is_empty() { String::new() } else { format!(" matching {}", what.join(", ")) };
        let Some(log) = &self.log else {
            return format!("No log events in {} in the last {} minutes{filters}.\n", self.log_group, self.minutes);
        };
        let mut out =
            format!("{} events in {} in the last {} minutes{filters}", self.matched, self.log_group, self.minutes);
        if self.shown < self.matched {
            out.push_str(&format!(", the newest {} shown", self.shown));
        }
        out.push_str(":\n");
        out.push_str(&log.render());
        if self.more_unscanned {
            out.push_str(&format!(
                "[more events exist beyond the {MAX_PAGES} pages read: narrow the window, the pod or the pattern]\n"
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(stream: &str, message: &str) -> Event {
        Event { timestamp: 1_700_000_000_000, stream: stream.into(), message: message.into() }
    }

    #[test]
    fn origin_from_fluent_bit_records_and_stream_names() {
        let record = ev(
            "ip-10-0-1-1.ec2.internal-application.var.log.containers.web-1_prod_app-abc.log",
            r#"{"log":"boom\n","stream":"stderr","kubernetes":{"pod_name":"web-1","namespace_name":"prod","container_name":"app"}}"#,
        );
        assert_eq!(
            origin(&record),
            Origin {
                pod: Some("web-1".into()),
                namespace: Some("prod".into()),
                container: Some("app".into()),
                line: Some("boom".into())
            }
        );
        let plain = ev("host-application.var.log.containers.web-2_staging_sidecar-0123abcd.log", "plain text");
        let o = origin(&plain);
        assert_eq!(
            (o.pod.as_deref(), o.namespace.as_deref(), o.container.as_deref()),
            (Some("web-2"), Some("staging"), Some("sidecar"))
        );
    }

    #[test]
    fn pod_and_namespace_match_exactly() {
        let e = ev("s", r#"{"log":"x","kubernetes":{"pod_name":"web-10","namespace_name":"prod"}}"#);
        assert!(matches(&e, true, Some("web-10"), Some("prod")));
        assert!(!matches(&e, true, Some("web-1"), None), "a prefix of the pod name is another pod");
        assert!(!matches(&e, true, None, Some("staging")));
        assert!(matches(&ev("kube-apiserver-1", "web-1 deleted"), false, Some("web-1"), None));
    }

    #[test]
    fn events_are_redacted_and_prefixed() {
        let e = ev(
            "s",
            r#"{"log":"connecting with password=hunter22\n  at db.connect","kubernetes":{"pod_name":"web-1","container_name":"app"}}"#,
        );
        let text = render_event(&e, true);
        assert!(text.starts_with("2023-11-14T22:13:20Z web-1/app: connecting with password=****\n"), "{text}");
        assert!(text.contains("\n  at db.connect\n"), "{text}");
        assert!(!text.contains("hunter22"), "{text}");
    }

    #[test]
    fn missing_group_text_says_what_is_not_enabled() {
        let r = LogsResult {
            cluster: "demo".into(),
            log_group: "/aws/eks/demo/cluster".into(),
            exists: false,
            filter_pattern: None,
            pattern: None,
            namespace: None,
            pod: None,
            minutes: 60,
            matched: 0,
            shown: 0,
            more_unscanned: false,
            log: None,
        };
        assert!(r.text().starts_with(
            "Log group /aws/eks/demo/cluster does not exist: control-plane logging is not enabled for cluster demo"
        ));
    }
}
