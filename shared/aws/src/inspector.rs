//! The AWS inspection tools of the catalog (home `aws-read`): `describe_cluster`,
//! `list_nodegroups`, `get_node_health`, `get_cloudwatch_metrics` and `get_cloudwatch_logs`.
//!
//! [`AwsInspector`] holds the EKS, EC2, CloudWatch and CloudWatch Logs clients, built once from
//! an [`SdkConfig`] (the standard chain: environment, profile, region, role, and
//! `AWS_ENDPOINT_URL` for emulators), and the configured cluster name. [`AwsInspector::run`]
//! validates the arguments against the catalog, calls AWS, and returns a
//! [`ToolOutput`]: typed data plus a compact text rendering, bounded to
//! [`MAX_TEXT_BYTES`].
//!
//! Every SDK failure goes through [`crate::error::backend_error`] (an answer carrying no error
//! code at all, such as an HTML page from an endpoint speaking another protocol, says just
//! that): classified (throttling is retryable), naming the IAM action a forbidden caller
//! lacks, never carrying SDK `Debug` output. "Nothing there" is an answer, not an error: a cluster without nodegroups, Container
//! Insights not enabled, a log group that does not exist, an endpoint (such as an emulator)
//! that does not serve add-ons or insights. The IAM actions each tool needs are listed in
//! `shared/aws/IAM.md`.

mod cluster;
mod logs;
mod metrics;
mod nodegroups;
mod nodes;
mod usage;

use std::fmt::Debug;

use aiops_core::catalog::{self, ToolHome, ToolSpec};
use aiops_core::ports::ClusterReader;
use aiops_core::tools::{MAX_TEXT_BYTES, Render, ToolOutput, bound_text};
use aiops_core::{Error, ErrorClass, Result};
use aws_config::SdkConfig;
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::DateTime;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{HttpStatus, backend_error, backend_error_as, classify, error_code};

pub use cluster::{AddonRow, ClusterResult, HealthIssue, InsightRow};
pub use logs::LogsResult;
pub use metrics::{MetricSeries, MetricsResult};
pub use nodegroups::{NodegroupRow, NodegroupsResult};
pub use nodes::{Ec2Side, Finding, NodeHealthResult, NodeHealthRow, NodeSide, Severity, join_node_health};
pub use usage::ContainerInsightsUsage;

/// The AWS tools over one set of SDK clients. Cheap to clone (the clients are shared handles).
#[derive(Debug, Clone)]
pub struct AwsInspector {
    eks: aws_sdk_eks::Client,
    ec2: aws_sdk_ec2::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    cluster_name: Option<String>,
}

/// The arguments of the AWS tools after validation (the union of their schemas).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Args {
    cluster_name: Option<String>,
    node_name: Option<String>,
    scope: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    pod: Option<String>,
    pattern: Option<String>,
    log_group: Option<String>,
    minutes: Option<i64>,
    period_seconds: Option<i64>,
    limit: Option<i64>,
}

impl AwsInspector {
    /// Builds the four clients from `config`. `cluster` is the EKS cluster the tools look at
    /// when a call does not name one (`describe_cluster` and `list_nodegroups` take
    /// `cluster_name`; the others always use this one).
    pub fn new(config: &SdkConfig, cluster: Option<String>) -> AwsInspector {
        AwsInspector::from_clients(
            aws_sdk_eks::Client::new(config),
            aws_sdk_ec2::Client::new(config),
            aws_sdk_cloudwatch::Client::new(config),
            aws_sdk_cloudwatchlogs::Client::new(config),
            cluster,
        )
    }

    /// Over existing clients, e.g. a CloudWatch client with its own endpoint.
    pub fn from_clients(
        eks: aws_sdk_eks::Client,
        ec2: aws_sdk_ec2::Client,
        cloudwatch: aws_sdk_cloudwatch::Client,
        logs: aws_sdk_cloudwatchlogs::Client,
        cluster: Option<String>,
    ) -> AwsInspector {
        AwsInspector { eks, ec2, cloudwatch, logs, cluster_name: cluster.filter(|c| !c.is_empty()) }
    }

    /// Container Insights as check_resource_usage's usage source, for the configured cluster.
    pub fn container_insights(&self) -> Option<ContainerInsightsUsage> {
        self.cluster_name.clone().map(|c| ContainerInsightsUsage::from_client(self.cloudwatch.clone(), c))
    }

    /// The configured cluster, if any.
    pub fn cluster_name(&self) -> Option<&str> {
        self.cluster_name.as_deref()
    }

    /// The catalog tools this inspector runs (home `aws-read`).
    pub fn tools() -> impl Iterator<Item = &'static ToolSpec> {
        catalog::catalog().iter().filter(|t| t.home == ToolHome::AwsRead)
    }

    /// Validates `args` against the tool's schema and runs the tool. `reader` gives
    /// `get_node_health` the Kubernetes side (node conditions) and `list_nodegroups` node
    /// counts; without it those tools report the AWS side only, saying so. Read-only and
    /// idempotent.
    ///
    /// # Errors
    /// - [`Error::UnknownTool`], [`Error::InvalidArgs`] (bad arguments, or no cluster named
    ///   and none configured);
    /// - [`Error::NotImplemented`] for a catalog tool that is not an AWS tool;
    /// - [`Error::Backend`] for a failed AWS call, classified: `NotFound` for an unknown
    ///   cluster (naming it and the region), `Forbidden` naming the missing IAM action,
    ///   `Throttled`/`Transient` (retryable), …; or the reader's error.
    pub async fn run(&self, reader: Option<&dyn ClusterReader>, tool: &str, args: &Value) -> Result<ToolOutput> {
        let spec = catalog::validate(tool, args)?;
        let parsed: Args = if args.is_null() {
            Args::default()
        } else {
            serde_json::from_value(args.clone())
                .map_err(|e| Error::InvalidArgs { tool: tool.into(), message: e.to_string() })?
        };
        let (data, text) = match spec.name {
            "describe_cluster" => render(cluster::describe_cluster(self, &parsed).await?),
            "list_nodegroups" => render(nodegroups::list_nodegroups(self, reader, &parsed).await?),
            "get_node_health" => render(nodes::get_node_health(self, reader, &parsed).await?),
            "get_cloudwatch_metrics" => render(metrics::get_cloudwatch_metrics(self, &parsed).await?),
            "get_cloudwatch_logs" => render(logs::get_cloudwatch_logs(self, &parsed).await?),
            other => return Err(Error::NotImplemented { tool: other.to_string() }),
        };
        Ok(ToolOutput { tool: spec.name.to_string(), data, text: bound_text(text, MAX_TEXT_BYTES) })
    }

    /// The cluster a call is about: the argument, else the configured one.
    fn cluster<'a>(&'a self, tool: &str, arg: Option<&'a str>) -> Result<&'a str> {
        match arg.filter(|a| !a.is_empty()).or(self.cluster_name.as_deref()) {
            Some(c) => Ok(c),
            None => Err(Error::InvalidArgs {
                tool: tool.to_string(),
                message: "no EKS cluster given and none configured: pass cluster_name where the tool takes it, or configure the cluster (e.g. --eks-cluster NAME)".into(),
            }),
        }
    }

    /// The region the clients talk to, for messages.
    fn region(&self) -> String {
        self.eks.config().region().map_or_else(|| "(no region configured)".to_string(), |r| r.to_string())
    }
}

fn render<T: Render>(result: T) -> (Value, String) {
    let text = result.text();
    (serde_json::to_value(&result).unwrap_or(Value::Null), text)
}

/// The error of a failed SDK call: [`backend_error`], except for an answer that carries no
/// error code at all (an endpoint speaking another protocol, an HTML error page), which says
/// so.
fn aws_error<E, R>(operation: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HttpStatus + Debug + Send + Sync + 'static,
{
    let status = match &err {
        SdkError::ServiceError(ctx) if ctx.err().code().is_none() && ctx.err().message().is_none() => {
            ctx.raw().http_status()
        }
        _ => return backend_error(operation, err),
    };
    let mut message = format!(
        "the endpoint answered HTTP {status} with a body that is not this service's protocol (is the endpoint URL right?)"
    );
    let class = classify(&err);
    if class == ErrorClass::Forbidden {
        message.push_str(&format!(" (the caller needs IAM permission {operation})"));
    }
    backend_error_as(class, operation, message, err)
}

/// The error of a call naming a cluster: an unknown cluster is a `NotFound` that names the
/// cluster and the region.
fn cluster_error<E, R>(operation: &str, cluster: &str, region: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HttpStatus + Debug + Send + Sync + 'static,
{
    if error_code(&err) == Some("ResourceNotFoundException") {
        let message = format!(
            "EKS cluster {cluster:?} not found in region {region} (check the name and the region; `aws eks list-clusters` lists the clusters this identity sees)"
        );
        return backend_error_as(ErrorClass::NotFound, operation, message, err);
    }
    aws_error(operation, err)
}

/// Why an optional part of an answer (add-ons, insights, instance counts) is missing, for a
/// note: an endpoint that does not serve the API (an emulator answering 404 without an error
/// code) says so; anything else is the classified error's message.
fn unavailable<E, R>(operation: &str, err: SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HttpStatus + Debug + Send + Sync + 'static,
{
    let status = match &err {
        SdkError::ServiceError(ctx) => Some(ctx.raw().http_status()),
        _ => None,
    };
    let class = classify(&err);
    if error_code(&err).is_none() && matches!(status, Some(404 | 405 | 501)) {
        return format!("not available from this endpoint ({operation} answered HTTP {})", status.unwrap_or_default());
    }
    let message = aws_error(operation, err).to_string();
    match class {
        ErrorClass::Forbidden => format!("not readable: {message}"),
        _ => format!("not available: {message}"),
    }
}

/// Seconds-precision RFC 3339 of an SDK timestamp.
fn time(t: &DateTime) -> String {
    jiff::Timestamp::from_second(t.secs()).map_or_else(|_| t.secs().to_string(), |ts| ts.to_string())
}

/// "3h ago" for an SDK timestamp, from the wall clock.
fn ago(t: &DateTime) -> String {
    let secs = jiff::Timestamp::now().as_second() - t.secs();
    if secs < 0 { "just now".to_string() } else { format!("{} ago", aiops_core::k8s::human_duration(secs)) }
}

/// Rows as aligned columns.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                let w = widths.get(i).copied().unwrap_or_default();
                s.push_str(&format!("{c:<w$}  "));
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

/// `Some(s)` for a non-empty string.
fn some(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_the_aws_read_tools() {
        let names: Vec<&str> = AwsInspector::tools().map(|t| t.name).collect();
        assert_eq!(
            names,
            ["describe_cluster", "list_nodegroups", "get_node_health", "get_cloudwatch_metrics", "get_cloudwatch_logs"]
        );
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "LONGER"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    LONGER\nxyz  1\n");
    }

    #[test]
    fn time_prints_rfc3339_seconds() {
        assert_eq!(time(&DateTime::from_secs(1_700_000_000)), "2023-11-14T22:13:20Z");
    }
}
