//! get_cloudwatch_metrics: Container Insights metrics through GetMetricData, summarised per
//! metric as min/avg/max/last over the window.
//!
//! Container Insights publishes pod metrics under `ClusterName, Namespace, PodName` (the
//! workload's name for Deployment pods) and, with enhanced observability, `FullPodName`; node
//! metrics under `ClusterName, InstanceId, NodeName`; cluster metrics under `ClusterName`.
//! GetMetricData needs the exact dimension set, so pod and node metrics are first found with
//! ListMetrics (a dimension subset matches), trying `PodName`, then `FullPodName`, then the
//! workload name derived from the pod name.

use std::collections::BTreeMap;

use aiops_core::tools::Render;
use aiops_core::{Error, Result};
use aws_sdk_cloudwatch::types::{Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;
use serde::Serialize;

use super::{Args, AwsInspector, aws_error, table};

/// The Container Insights namespace.
pub const NAMESPACE: &str = "ContainerInsights";
/// Default window, minutes.
const DEFAULT_MINUTES: i64 = 60;
/// Default period, seconds.
const DEFAULT_PERIOD: i64 = 300;
/// GetMetricData pages read at most.
const MAX_PAGES: usize = 10;
/// ListMetrics pages read at most per lookup.
const MAX_LIST_PAGES: usize = 5;

/// (metric, what it is, unit, statistic)
type MetricDef = (&'static str, &'static str, &'static str, &'static str);
/// `Name=Value` dimensions.
type Dims = Vec<(String, String)>;

const POD_METRICS: &[MetricDef] = &[
    ("pod_cpu_utilization", "CPU utilization of the node's capacity", "%", "Average"),
    ("pod_cpu_utilization_over_pod_limit", "CPU utilization of the pod's limit", "%", "Average"),
    ("pod_memory_utilization", "memory utilization of the node's capacity", "%", "Average"),
    ("pod_memory_utilization_over_pod_limit", "memory utilization of the pod's limit", "%", "Average"),
    ("pod_number_of_container_restarts", "container restarts", "count", "Maximum"),
    ("pod_network_rx_bytes", "network received", "B/s", "Average"),
    ("pod_network_tx_bytes", "network sent", "B/s", "Average"),
];

const NODE_METRICS: &[MetricDef] = &[
    ("node_cpu_utilization", "CPU utilization", "%", "Average"),
    ("node_memory_utilization", "memory utilization", "%", "Average"),
    ("node_filesystem_utilization", "filesystem utilization", "%", "Average"),
    ("node_network_total_bytes", "network traffic", "B/s", "Average"),
    ("node_number_of_running_pods", "running pods", "count", "Average"),
];

const CLUSTER_METRICS: &[MetricDef] = &[
    ("cluster_node_count", "nodes", "count", "Average"),
    ("cluster_failed_node_count", "failed nodes", "count", "Maximum"),
    ("node_cpu_utilization", "CPU utilization across nodes", "%", "Average"),
    ("node_memory_utilization", "memory utilization across nodes", "%", "Average"),
    ("cluster_number_of_running_pods", "running pods", "count", "Average"),
];

/// One metric over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSeries {
    pub metric: String,
    pub description: String,
    pub unit: String,
    pub stat: String,
    /// The exact dimensions queried (`Name=Value`).
    pub dimensions: Vec<String>,
    pub datapoints: usize,
    pub min: Option<f64>,
    pub avg: Option<f64>,
    pub max: Option<f64>,
    pub first: Option<f64>,
    pub last: Option<f64>,
    pub last_at: Option<String>,
}

/// The result of get_cloudwatch_metrics.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsResult {
    pub cluster: String,
    /// `pod`, `node` or `cluster`.
    pub scope: String,
    /// `pod prod/web`, `node ip-…`, `cluster demo`.
    pub target: String,
    pub minutes: i64,
    pub period_seconds: i64,
    /// Metrics with at least one datapoint in the window.
    pub series: Vec<MetricSeries>,
    /// Metrics queried that had no datapoint in the window.
    pub empty: Vec<String>,
    /// Why there is nothing to show, when there is nothing.
    pub note: Option<String>,
}

pub(super) async fn get_cloudwatch_metrics(inspector: &AwsInspector, args: &Args) -> Result<MetricsResult> {
    const TOOL: &str = "get_cloudwatch_metrics";
    let cluster = inspector.cluster(TOOL, None)?.to_string();
    let scope = args.scope.clone().unwrap_or_else(|| "cluster".into());
    let minutes = args.minutes.unwrap_or(DEFAULT_MINUTES);
    let period = (args.period_seconds.unwrap_or(DEFAULT_PERIOD) / 60).max(1) * 60;
    let invalid = |message: &str| Error::InvalidArgs { tool: TOOL.into(), message: message.into() };
    let cluster_dim = || ("ClusterName".to_string(), cluster.clone());

    let (target, defs, queries): (String, &[MetricDef], Vec<Dims>) = match scope.as_str() {
        "pod" => {
            let (Some(ns), Some(pod)) = (args.namespace.as_deref(), args.name.as_deref()) else {
                return Err(invalid("scope pod needs namespace and name (the pod, or its Deployment's name)"));
            };
            let base = vec![cluster_dim(), ("Namespace".to_string(), ns.to_string())];
            let mut candidates = vec![("PodName", pod.to_string()), ("FullPodName", pod.to_string())];
            if let Some(w) = workload_name(pod) {
                candidates.push(("PodName", w));
            }
            let mut found = Vec::new();
            for (dim, value) in candidates {
                let mut filter = base.clone();
                filter.push((dim.to_string(), value));
                found = discover(inspector, &filter, POD_METRICS).await?;
                if !found.is_empty() {
                    break;
                }
            }
            (format!("pod {ns}/{pod}"), POD_METRICS, found)
        }
        "node" => {
            let Some(node) = args.name.as_deref() else {
                return Err(invalid("scope node needs name (the node name)"));
            };
            let filter = vec![cluster_dim(), ("NodeName".to_string(), node.to_string())];
            (format!("node {node}"), NODE_METRICS, discover(inspector, &filter, NODE_METRICS).await?)
        }
        _ => {
            let dims = vec![cluster_dim()];
            let queries = CLUSTER_METRICS.iter().map(|_| dims.clone()).collect();
            (format!("cluster {cluster}"), CLUSTER_METRICS, queries)
        }
    };
    let mut result = MetricsResult {
        cluster: cluster.clone(),
        scope: scope.clone(),
        target: target.clone(),
        minutes,
        period_seconds: period,
        series: Vec::new(),
        empty: Vec::new(),
        note: None,
    };

    // Pod and node: `queries` holds one exact dimension set per metric found (with the metric
    // name first); cluster: one per definition.
    let wanted: Vec<(MetricDef, Vec<(String, String)>)> = if scope == "cluster" {
        defs.iter().copied().zip(queries).collect()
    } else {
        queries
            .into_iter()
            .filter_map(|mut dims| {
                let name = dims.remove(0).1;
                defs.iter().find(|d| d.0 == name).map(|d| (*d, dims))
            })
            .collect()
    };
    if wanted.is_empty() {
        result.note = Some(if container_insights_seen(inspector, &cluster).await? {
            match scope.as_str() {
                "pod" => format!(
                    "No Container Insights metrics for {target} in cluster {cluster}: the pod has not run in the last two weeks, or its metrics are published under its workload's name (pass the Deployment's name)."
                ),
                _ => format!(
                    "No Container Insights metrics for {target} in cluster {cluster} (no such node in the last two weeks)."
                ),
            }
        } else {
            not_enabled(&cluster, &format!("no {NAMESPACE} metrics for it in the last two weeks"))
        });
        return Ok(result);
    }

    let end = jiff::Timestamp::now().as_second();
    let start = end - minutes * 60;
    let mut data: BTreeMap<String, (Vec<DateTime>, Vec<f64>)> = BTreeMap::new();
    let mut builder = inspector
        .cloudwatch
        .get_metric_data()
        .start_time(DateTime::from_secs(start))
        .end_time(DateTime::from_secs(end))
        .scan_by(ScanBy::TimestampAscending);
    for (i, ((name, _, _, stat), dims)) in wanted.iter().enumerate() {
        let metric = Metric::builder()
            .namespace(NAMESPACE)
            .metric_name(*name)
            .set_dimensions(Some(dims.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build()).collect()))
            .build();
        let stat = MetricStat::builder().metric(metric).period(period as i32).stat(*stat).build();
        builder = builder.metric_data_queries(
            MetricDataQuery::builder().id(format!("m{i}")).metric_stat(stat).return_data(true).build(),
        );
    }
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = builder
            .clone()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch:GetMetricData", e))?;
        for r in page.metric_data_results() {
            let entry = data.entry(r.id().unwrap_or_default().to_string()).or_default();
            entry.0.extend(r.timestamps().iter().copied());
            entry.1.extend(r.values().iter().copied());
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    for (i, ((name, description, unit, stat), dims)) in wanted.iter().enumerate() {
        let (times, values) = data.remove(&format!("m{i}")).unwrap_or_default();
        match summarise(&times, &values) {
            Some(s) => result.series.push(MetricSeries {
                metric: name.to_string(),
                description: description.to_string(),
                unit: unit.to_string(),
                stat: stat.to_string(),
                dimensions: dims.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                ..s
            }),
            None => result.empty.push(name.to_string()),
        }
    }
    if result.series.is_empty() {
        result.note = Some(if scope == "cluster" {
            not_enabled(&cluster, &format!("no {NAMESPACE} metrics in the last {minutes} minutes"))
        } else {
            format!(
                "Container Insights knows {target} but has no datapoints for it in the last {minutes} minutes (it has not run in that window)."
            )
        });
    }
    Ok(result)
}

fn not_enabled(cluster: &str, why: &str) -> String {
    format!(
        "Container Insights does not seem to be enabled for cluster {cluster} ({why}): install the amazon-cloudwatch-observability add-on (or the CloudWatch agent) to get pod, node and cluster metrics."
    )
}

/// Whether the cluster has published any Container Insights metric in the last two weeks.
async fn container_insights_seen(inspector: &AwsInspector, cluster: &str) -> Result<bool> {
    let out = inspector
        .cloudwatch
        .list_metrics()
        .namespace(NAMESPACE)
        .dimensions(DimensionFilter::builder().name("ClusterName").value(cluster).build())
        .send()
        .await
        .map_err(|e| aws_error("cloudwatch:ListMetrics", e))?;
    Ok(!out.metrics().is_empty())
}

/// The metrics of `defs` published with (at least) the dimensions of `filter`, each with its
/// smallest exact dimension set: `[("metric", name), dims…]`.
async fn discover(
    inspector: &AwsInspector,
    filter: &[(String, String)],
    defs: &[MetricDef],
) -> Result<Vec<Vec<(String, String)>>> {
    let mut best: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_LIST_PAGES {
        let page = inspector
            .cloudwatch
            .list_metrics()
            .namespace(NAMESPACE)
            .set_dimensions(Some(
                filter.iter().map(|(k, v)| DimensionFilter::builder().name(k).value(v).build()).collect(),
            ))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch:ListMetrics", e))?;
        for m in page.metrics() {
            let Some(name) = m.metric_name() else { continue };
            if !defs.iter().any(|d| d.0 == name) {
                continue;
            }
            let dims: Vec<(String, String)> = m
                .dimensions()
                .iter()
                .map(|d| (d.name().unwrap_or_default().to_string(), d.value().unwrap_or_default().to_string()))
                .collect();
            let better = best.get(name).is_none_or(|b| dims.len() < b.len());
            if better {
                best.insert(name.to_string(), dims);
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    // In the definitions' order.
    Ok(defs
        .iter()
        .filter_map(|d| {
            best.remove(d.0).map(|dims| {
                let mut v = vec![("metric".to_string(), d.0.to_string())];
                v.extend(dims);
                v
            })
        })
        .collect())
}

/// `payment-7d9f8b6c5d-x2k4q` → `payment` (Deployment pods), `db-0` → `db` (StatefulSet pods),
/// `agent-x2k4q` → `agent` (DaemonSet pods); `None` when nothing looks generated.
fn workload_name(pod: &str) -> Option<String> {
    let parts: Vec<&str> = pod.split('-').collect();
    let is_suffix = |s: &str| s.len() == 5 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let is_hash =
        |s: &str| (6..=10).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let is_ordinal = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let n = parts.len();
    let keep = if n >= 3 && is_hash(parts[n - 2]) && is_suffix(parts[n - 1]) {
        n - 2
    } else if n >= 2 && (is_suffix(parts[n - 1]) || is_ordinal(parts[n - 1])) {
        n - 1
    } else {
        return None;
    };
    Some(parts[..keep].join("-"))
}

/// min/avg/max/first/last of a series (sorted by time); `None` when it is empty.
fn summarise(times: &[DateTime], values: &[f64]) -> Option<MetricSeries> {
    let mut points: Vec<(i64, f64)> = times.iter().map(DateTime::secs).zip(values.iter().copied()).collect();
    points.retain(|(_, v)| v.is_finite());
    if points.is_empty() {
        return None;
    }
    points.sort_by_key(|(t, _)| *t);
    let vals: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
    let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let max = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let avg = vals.iter().sum::<f64>() / vals.len() as f64;
    let last = points.last().copied();
    Some(MetricSeries {
        metric: String::new(),
        description: String::new(),
        unit: String::new(),
        stat: String::new(),
        dimensions: Vec::new(),
        datapoints: vals.len(),
        min: Some(min),
        avg: Some(avg),
        max: Some(max),
        first: vals.first().copied(),
        last: last.map(|(_, v)| v),
        last_at: last.map(|(t, _)| super::time(&DateTime::from_secs(t))),
    })
}

/// A number for the table: short, without noise digits.
fn num(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else { return "-".into() };
    if unit == "B/s" {
        return bytes(v);
    }
    if (v.fract() == 0.0 && v.abs() < 1e12) || v.abs() >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

fn bytes(v: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = v;
    let mut i = 0;
    while v.abs() >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 { format!("{v:.0}{}", units[i]) } else { format!("{v:.1}{}", units[i]) }
}

impl Render for MetricsResult {
    fn text(&self) -> String {
        let mut out = format!(
            "Container Insights metrics for {} (cluster {}), last {} min, period {} s",
            self.target, self.cluster, self.minutes, self.period_seconds
        );
        if let Some(dims) = self.series.first().map(|s| s.dimensions.join(", ")) {
            out.push_str(&format!(" (dimensions {dims})"));
        }
        out.push_str(":\n");
        if let Some(note) = &self.note {
            out.push_str(note);
            out.push('\n');
        }
        if self.series.is_empty() {
            return out;
        }
        let rows: Vec<Vec<String>> = self
            .series
            .iter()
            .map(|s| {
                let unit = if s.unit == "count" { String::new() } else { format!(" ({})", s.unit) };
                vec![
                    format!("{}{unit}", s.metric),
                    s.stat.clone(),
                    s.datapoints.to_string(),
                    num(s.min, &s.unit),
                    num(s.avg, &s.unit),
                    num(s.max, &s.unit),
                    num(s.last, &s.unit),
                ]
            })
            .collect();
        out.push_str(&table(&["METRIC", "STAT", "POINTS", "MIN", "AVG", "MAX", "LAST"], &rows));
        for s in &self.series {
            if s.metric.ends_with("restarts")
                && let (Some(first), Some(last)) = (s.first, s.last)
                && last > first
            {
                out.push_str(&format!("- restarts rose from {first:.0} to {last:.0} in the window\n"));
            }
            if s.unit == "%" && s.max.is_some_and(|m| m >= 90.0) {
                out.push_str(&format!(
                    "- {} peaked at {:.1}% ({})\n",
                    s.metric,
                    s.max.unwrap_or_default(),
                    s.description
                ));
            }
        }
        if !self.empty.is_empty() {
            out.push_str(&format!("No datapoints in the window for: {}\n", self.empty.join(", ")));
        }
        if let Some(at) = self.series.iter().filter_map(|s| s.last_at.as_deref()).max() {
            out.push_str(&format!("Latest datapoint: {at}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_names_from_pod_names() {
        let cases = [
            ("payment-service-7d9f8b6c5d-x2k4q", Some("payment-service")),
            ("db-0", Some("db")),
            ("fluent-bit-x2k4q", Some("fluent-bit")),
            ("web", None),
            ("api-server", None),
        ];
        for (pod, want) in cases {
            assert_eq!(workload_name(pod).as_deref(), want, "{pod}");
        }
    }

    #[test]
    fn series_are_summarised_in_time_order() {
        let times = [DateTime::from_secs(300), DateTime::from_secs(100), DateTime::from_secs(200)];
        let s = summarise(&times, &[9.0, 1.0, 5.0]).unwrap_or_else(|| panic!("summary"));
        assert_eq!((s.min, s.avg, s.max, s.first, s.last), (Some(1.0), Some(5.0), Some(9.0), Some(1.0), Some(9.0)));
        assert_eq!(s.last_at.as_deref(), Some("1970-01-01T00:05:00Z"));
        assert!(summarise(&[], &[]).is_none());
    }

    #[test]
    fn text_shows_table_and_notes() {
        let r = MetricsResult {
            cluster: "demo".into(),
            scope: "pod".into(),
            target: "pod prod/web".into(),
            minutes: 60,
            period_seconds: 300,
            series: vec![
                MetricSeries {
                    metric: "pod_memory_utilization_over_pod_limit".into(),
                    description: "memory utilization of the pod's limit".into(),
                    unit: "%".into(),
                    stat: "Average".into(),
                    dimensions: vec!["ClusterName=demo".into()],
                    datapoints: 3,
                    min: Some(50.0),
                    avg: Some(80.0),
                    max: Some(97.5),
                    first: Some(50.0),
                    last: Some(97.5),
                    last_at: Some("2026-01-01T00:00:00Z".into()),
                },
                MetricSeries {
                    metric: "pod_number_of_container_restarts".into(),
                    description: "container restarts".into(),
                    unit: "count".into(),
                    stat: "Maximum".into(),
                    dimensions: vec![],
                    datapoints: 3,
                    min: Some(1.0),
                    avg: Some(2.0),
                    max: Some(4.0),
                    first: Some(1.0),
                    last: Some(4.0),
                    last_at: None,
                },
                MetricSeries {
                    metric: "pod_network_rx_bytes".into(),
                    description: "network received".into(),
                    unit: "B/s".into(),
                    stat: "Average".into(),
                    dimensions: vec![],
                    datapoints: 1,
                    min: Some(2048.0),
                    avg: Some(2048.0),
                    max: Some(2048.0),
                    first: Some(2048.0),
                    last: Some(2048.0),
                    last_at: None,
                },
            ],
            empty: vec!["pod_network_tx_bytes".into()],
            note: None,
        };
        let text = r.text();
        assert!(text.contains("pod_memory_utilization_over_pod_limit (%)  Average  3"), "{text}");
        assert!(text.contains("97.5"), "{text}");
        assert!(text.contains("- restarts rose from 1 to 4 in the window"), "{text}");
        assert!(text.contains("peaked at 97.5%"), "{text}");
        assert!(text.contains("2.0KiB"), "{text}");
        assert!(text.contains("No datapoints in the window for: pod_network_tx_bytes"), "{text}");
    }
}
