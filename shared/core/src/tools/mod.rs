//! The read tools, composed over the [`ClusterReader`] port: fetch through the port, then
//! summarise into typed results with a compact text rendering for the model. Every result is
//! bounded (rows and bytes) and says what it left out.

mod connectivity;
mod deployments;
mod describe;
mod diagnose;
mod events;
mod logs;
mod nodes;
mod pods;
mod resolve;
mod resource_usage;
mod services;

use serde::Serialize;
use serde_json::Value;

use crate::catalog;
use crate::error::{Error, Result};
use crate::ports::ClusterReader;

pub use connectivity::{ConnectivityResult, ConnectivityTarget, Hop, HopStatus, connectivity};
pub use deployments::{DeploymentRow, DeploymentsResult, Revision, revision_of, revisions as revisions_of};
pub use describe::PodDescription;
pub use diagnose::DiagnosisResult;
pub use events::{EventRow, EventsResult, event_count, event_last_time};
pub use logs::PodLogResult;
pub use nodes::{NodeRow, NodesResult};
pub use pods::{PodRow, PodsResult, Termination, pod_problem};
pub use resolve::{NameMatch, pod_healthy, ranked as ranked_by_name};
pub use resource_usage::{
    ContainerUsage, MetricsStatus, NodeAllocation, OomRecord, ResourceUsageResult, UsageTarget, resource_usage,
};
pub use services::{ServiceRow, ServicesResult};

/// Most rows a list result carries; the rest are counted in `omitted`.
pub const MAX_ROWS: usize = 200;
/// Most bytes of text a tool result renders for the model.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Bytes of log lines a log result keeps.
pub const LOG_BUDGET_BYTES: usize = 6 * 1024;

/// The result of one tool call: typed data (as JSON) and its text rendering.
#[derive(Debug, Clone, Serialize)]
pub struct ToolOutput {
    pub tool: String,
    pub data: Value,
    pub text: String,
}

/// The arguments of a tool after validation.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Args {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub label_selector: Option<String>,
    pub unhealthy_only: bool,
    pub previous: Option<bool>,
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    pub object_name: Option<String>,
    pub object_kind: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub reason: Option<String>,
    pub limit: Option<i64>,
    pub deployment: Option<String>,
    pub service: Option<String>,
    pub port: Option<i64>,
    pub source_namespace: Option<String>,
    pub source_pod: Option<String>,
}

/// Validates and runs a read tool against a cluster.
///
/// # Errors
/// [`Error::UnknownTool`], [`Error::InvalidArgs`], [`Error::NotImplemented`] for catalog tools
/// not built yet (or not served by the cluster reader), or the reader's error.
pub async fn run(reader: &dyn ClusterReader, tool: &str, args: &Value) -> Result<ToolOutput> {
    run_with(reader, None, tool, args).await
}

/// As [`run`], with a source of usage outside the cluster (Container Insights) that
/// check_resource_usage consults when the cluster serves no resource metrics API.
///
/// # Errors
/// As [`run`].
pub async fn run_with(
    reader: &dyn ClusterReader,
    usage: Option<&dyn crate::ports::UsageSource>,
    tool: &str,
    args: &Value,
) -> Result<ToolOutput> {
    let spec = catalog::validate(tool, args)?;
    let parsed: Args = if args.is_null() {
        Args::default()
    } else {
        serde_json::from_value(args.clone())
            .map_err(|e| Error::InvalidArgs { tool: tool.into(), message: e.to_string() })?
    };
    let (data, text) = match spec.name {
        "get_pods" => render(pods::get_pods(reader, &parsed).await?),
        "get_pod_logs" => render(logs::get_pod_logs(reader, &parsed).await?),
        "describe_pod" => render(describe::describe_pod(reader, &parsed).await?),
        "get_events" => render(events::get_events(reader, &parsed).await?),
        "get_deployments" => render(deployments::get_deployments(reader, &parsed).await?),
        "get_nodes" => render(nodes::get_nodes(reader, &parsed).await?),
        "get_services" => render(services::get_services(reader, &parsed).await?),
        "analyze_pod_issues" => {
            let mut parsed = parsed;
            parsed.name = parsed.deployment.take();
            render(diagnose::analyze_pod_issues(reader, &parsed).await?)
        }
        "check_resource_usage" => render(resource_usage::check_resource_usage(reader, usage, &parsed).await?),
        "connectivity_test" => render(connectivity::connectivity_test(reader, &parsed).await?),
        other if spec.home == crate::catalog::ToolHome::AwsRead => {
            return Err(Error::Backend {
                class: crate::ErrorClass::NotImplemented,
                operation: other.to_string(),
                message:
                    "this AWS tool needs AWS access: run against an EKS cluster (--eks-cluster) with AWS credentials"
                        .into(),
                source: None,
            });
        }
        other => return Err(Error::NotImplemented { tool: other.to_string() }),
    };
    Ok(ToolOutput { tool: spec.name.to_string(), data, text: bound_text(text, MAX_TEXT_BYTES) })
}

/// A typed tool result that renders itself as text.
pub trait Render: Serialize {
    /// The compact text the model reads.
    fn text(&self) -> String;
}

fn render<T: Render>(result: T) -> (Value, String) {
    let text = result.text();
    (serde_json::to_value(&result).unwrap_or(Value::Null), text)
}

/// Cuts `text` to at most `max` bytes on a line boundary, saying how much was cut.
pub fn bound_text(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub(80);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut_at = text[..end].rfind('\n').map_or(end, |i| i + 1);
    let dropped = text[cut_at..].lines().count();
    format!("{}[output truncated: {dropped} more lines, {} bytes]\n", &text[..cut_at], text.len() - cut_at)
}

/// Formats rows as aligned columns.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}
