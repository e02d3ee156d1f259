//! [`ContainerInsightsUsage`]: the [`UsageSource`] check_resource_usage falls back on when an
//! EKS cluster serves no resource metrics API. Container Insights publishes each pod's share
//! of its limits (`pod_cpu_utilization_over_pod_limit`, `pod_memory_utilization_over_pod_limit`)
//! under `ClusterName, Namespace, PodName` — the workload's name for a controller's pods — and,
//! with enhanced observability, also under `…, FullPodName` (one pod). Series are found with
//! ListMetrics and read with one GetMetricData (the newest datapoint of the window).

use std::collections::BTreeMap;

use aiops_core::Result;
use aiops_core::ports::{PodUsageSample, UsageSource};
use aws_sdk_cloudwatch::types::{Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;

use super::aws_error;
use super::metrics::NAMESPACE;

const CPU: &str = "pod_cpu_utilization_over_pod_limit";
const MEMORY: &str = "pod_memory_utilization_over_pod_limit";
/// ListMetrics pages read at most per metric (500 series a page).
const MAX_LIST_PAGES: usize = 10;
/// Series read at most: GetMetricData takes 500 queries a request.
const MAX_QUERIES: usize = 500;

/// Pods' usage from Container Insights, for one cluster.
#[derive(Debug, Clone)]
pub struct ContainerInsightsUsage {
    cloudwatch: aws_sdk_cloudwatch::Client,
    cluster: String,
}

/// (namespace, pod or workload, per pod) → the exact dimensions of its CPU and memory series.
type Found = BTreeMap<(String, String, bool), [Option<Vec<(String, String)>>; 2]>;

impl ContainerInsightsUsage {
    /// Over the SDK configuration, for `cluster` (its EKS name).
    pub fn new(config: &aws_config::SdkConfig, cluster: impl Into<String>) -> ContainerInsightsUsage {
        ContainerInsightsUsage::from_client(aws_sdk_cloudwatch::Client::new(config), cluster)
    }

    /// Over an existing CloudWatch client.
    pub fn from_client(cloudwatch: aws_sdk_cloudwatch::Client, cluster: impl Into<String>) -> ContainerInsightsUsage {
        ContainerInsightsUsage { cloudwatch, cluster: cluster.into() }
    }

    /// The pod series of one metric: per pod where `FullPodName` is published, else per
    /// workload; other dimension sets (by service, by node) are left out.
    async fn list(&self, metric: &str, slot: usize, namespace: Option<&str>, found: &mut Found) -> Result<()> {
        let mut filter = vec![DimensionFilter::builder().name("ClusterName").value(&self.cluster).build()];
        if let Some(ns) = namespace {
            filter.push(DimensionFilter::builder().name("Namespace").value(ns).build());
        }
        let mut token: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let page = self
                .cloudwatch
                .list_metrics()
                .namespace(NAMESPACE)
                .metric_name(metric)
                .set_dimensions(Some(filter.clone()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws_error("cloudwatch:ListMetrics", e))?;
            for m in page.metrics() {
                let dims: Vec<(String, String)> = m
                    .dimensions()
                    .iter()
                    .map(|d| (d.name().unwrap_or_default().to_string(), d.value().unwrap_or_default().to_string()))
                    .collect();
                let get = |k: &str| dims.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                let names: Vec<&str> = dims.iter().map(|(n, _)| n.as_str()).collect();
                let key = match (get("Namespace"), get("PodName"), get("FullPodName")) {
                    (Some(ns), Some(_), Some(full)) if names.len() == 4 => (ns, full, true),
                    (Some(ns), Some(pod), None) if names.len() == 3 => (ns, pod, false),
                    _ => continue,
                };
                found.entry(key).or_default()[slot] = Some(dims);
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl UsageSource for ContainerInsightsUsage {
    fn name(&self) -> &str {
        "Container Insights"
    }

    async fn pod_usage(&self, namespace: Option<&str>, minutes: i64) -> Result<Vec<PodUsageSample>> {
        let mut found = Found::new();
        self.list(CPU, 0, namespace, &mut found).await?;
        self.list(MEMORY, 1, namespace, &mut found).await?;
        let mut queries = Vec::new();
        let mut keys = Vec::new();
        for (key, series) in &found {
            for (slot, dims) in series.iter().enumerate() {
                let Some(dims) = dims else { continue };
                if queries.len() >= MAX_QUERIES {
                    break;
                }
                let metric = Metric::builder()
                    .namespace(NAMESPACE)
                    .metric_name(if slot == 0 { CPU } else { MEMORY })
                    .set_dimensions(Some(
                        dims.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build()).collect(),
                    ))
                    .build();
                let stat = MetricStat::builder().metric(metric).period(60).stat("Average").build();
                queries.push(
                    MetricDataQuery::builder()
                        .id(format!("q{}", queries.len()))
                        .metric_stat(stat)
                        .return_data(true)
                        .build(),
                );
                keys.push((key.clone(), slot));
            }
        }
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let end = jiff::Timestamp::now().as_second();
        let mut newest: BTreeMap<String, (i64, f64)> = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .cloudwatch
                .get_metric_data()
                .start_time(DateTime::from_secs(end - minutes.max(1) * 60))
                .end_time(DateTime::from_secs(end))
                .scan_by(ScanBy::TimestampDescending)
                .set_metric_data_queries(Some(queries.clone()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws_error("cloudwatch:GetMetricData", e))?;
            for r in page.metric_data_results() {
                let points = r.timestamps().iter().map(DateTime::secs).zip(r.values().iter().copied());
                for (t, v) in points {
                    let e = newest.entry(r.id().unwrap_or_default().to_string()).or_insert((t, v));
                    if t > e.0 {
                        *e = (t, v);
                    }
                }
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut samples: BTreeMap<(String, String, bool), PodUsageSample> = BTreeMap::new();
        for (i, ((ns, pod, per_pod), slot)) in keys.into_iter().enumerate() {
            let Some((t, v)) = newest.get(&format!("q{i}")).copied() else { continue };
            let s = samples.entry((ns.clone(), pod.clone(), per_pod)).or_insert_with(|| PodUsageSample {
                namespace: ns,
                pod,
                per_pod,
                cpu_pct_of_limit: None,
                memory_pct_of_limit: None,
                at: None,
            });
            if slot == 0 {
                s.cpu_pct_of_limit = Some(v);
            } else {
                s.memory_pct_of_limit = Some(v);
            }
            let at = jiff::Timestamp::from_second(t).ok();
            s.at = s.at.max(at);
        }
        Ok(samples.into_values().collect())
    }
}
