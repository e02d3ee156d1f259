//! AwsInspector against moto through the real SDK clients: EKS and EC2 straight to moto,
//! CloudWatch through the CBOR translating proxy (`aiops_testkit::cw_proxy`), CloudWatch Logs
//! straight to moto; the Kubernetes side from the simulated cluster over loopback.
//!
//! For every tool: a normal case, an empty case and an error case.

use aiops_aws::inspector::AwsInspector;
use aiops_core::ports::ClusterReader;
use aiops_core::snapshot::Snapshot;
use aiops_core::tools::ToolOutput;
use aiops_core::{Error, ErrorClass};
use aiops_kube::KubeReader;
use aiops_sim::SimCluster;
use aiops_testkit::cw_proxy::CwProxy;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use aws_sdk_eks::types::{LogSetup, LogType, Logging, NodegroupScalingConfig, Taint, TaintEffect, VpcConfigRequest};
use aws_smithy_types::DateTime;
use serde_json::{Value, json};

use crate::{sdk_config, unique};

/// Everything a test needs: the inspector (CloudWatch through the proxy) and raw clients to
/// seed moto.
struct Env {
    config: aws_config::SdkConfig,
    eks: aws_sdk_eks::Client,
    ec2: aws_sdk_ec2::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    // Kept alive for the test's duration.
    _proxy: CwProxy,
}

impl Env {
    async fn new() -> anyhow::Result<Env> {
        let config = sdk_config().await?;
        let proxy = CwProxy::start(aiops_testkit::moto::shared()?.endpoint()).await?;
        let cw_config = aws_sdk_cloudwatch::config::Builder::from(&config)
            .endpoint_url(proxy.endpoint())
            .disable_request_compression(true)
            .build();
        Ok(Env {
            eks: aws_sdk_eks::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cw_config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            config,
            _proxy: proxy,
        })
    }

    fn inspector(&self, cluster: Option<&str>) -> AwsInspector {
        AwsInspector::from_clients(
            self.eks.clone(),
            self.ec2.clone(),
            self.cloudwatch.clone(),
            self.logs.clone(),
            cluster.map(str::to_string),
        )
    }

    async fn create_cluster(&self, name: &str) -> anyhow::Result<()> {
        self.eks
            .create_cluster()
            .name(name)
            .version("1.29")
            .role_arn("arn:aws:iam::123456789012:role/eks-cluster")
            .resources_vpc_config(
                VpcConfigRequest::builder()
                    .subnet_ids("subnet-0a1")
                    .endpoint_public_access(true)
                    .endpoint_private_access(true)
                    .public_access_cidrs("203.0.113.0/24")
                    .build(),
            )
            .send()
            .await?;
        Ok(())
    }

    /// Runs `count` instances tagged for `cluster` (and `nodegroup`); returns their ids.
    async fn run_instances(&self, cluster: &str, nodegroup: Option<&str>, count: i32) -> anyhow::Result<Vec<String>> {
        let images = self.ec2.describe_images().send().await?;
        let image =
            images.images().first().and_then(|i| i.image_id()).ok_or_else(|| anyhow::anyhow!("moto has no AMI"))?;
        let mut tags = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(Tag::builder().key(format!("kubernetes.io/cluster/{cluster}")).value("owned").build())
            .tags(Tag::builder().key("eks:cluster-name").value(cluster).build());
        if let Some(ng) = nodegroup {
            tags = tags.tags(Tag::builder().key("eks:nodegroup-name").value(ng).build());
        }
        let out = self
            .ec2
            .run_instances()
            .image_id(image)
            .instance_type(InstanceType::M5Large)
            .min_count(count)
            .max_count(count)
            .tag_specifications(tags.build())
            .send()
            .await?;
        Ok(out.instances().iter().filter_map(|i| i.instance_id().map(str::to_string)).collect())
    }

    async fn put_metric(
        &self,
        name: &str,
        dims: &[(&str, &str)],
        points: &[(i64, f64)],
        unit: StandardUnit,
    ) -> anyhow::Result<()> {
        let now = jiff::Timestamp::now().as_second();
        let mut req = self.cloudwatch.put_metric_data().namespace("ContainerInsights");
        for (ago, value) in points {
            let mut datum = MetricDatum::builder()
                .metric_name(name)
                .value(*value)
                .unit(unit.clone())
                .timestamp(DateTime::from_secs(now - ago));
            for (k, v) in dims {
                datum = datum.dimensions(Dimension::builder().name(*k).value(*v).build());
            }
            req = req.metric_data(datum.build());
        }
        req.send().await?;
        Ok(())
    }
}

/// A Kubernetes Node object as the API server serves it.
fn node(name: &str, instance: &str, ready: &str, nodegroup: &str) -> Value {
    let (reason, message) = match ready {
        "True" => ("KubeletReady", "kubelet is posting ready status"),
        _ => ("NodeStatusUnknown", "Kubelet stopped posting node status."),
    };
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"eks.amazonaws.com/nodegroup": nodegroup, "topology.kubernetes.io/zone": "eu-west-1a"}
        },
        "spec": {"providerID": format!("aws:///eu-west-1a/{instance}")},
        "status": {"conditions": [
            {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
            {"type": "Ready", "status": ready, "reason": reason, "message": message}
        ]}
    })
}

/// The simulated cluster serving `objects`, and a reader over it.
async fn sim(objects: Vec<Value>) -> anyhow::Result<(SimCluster, KubeReader)> {
    let sim = SimCluster::start(Snapshot::from_objects(objects, None)).await?;
    let reader = KubeReader::new(aiops_kube::from_url(&sim.url()).await?, None);
    Ok((sim, reader))
}

async fn call(
    inspector: &AwsInspector,
    reader: Option<&dyn ClusterReader>,
    tool: &str,
    args: Value,
) -> anyhow::Result<ToolOutput> {
    Ok(inspector.run(reader, tool, &args).await?)
}

fn assert_clean(err: &Error) {
    let text = err.to_string();
    for debug in ["ServiceError", "ErrorMetadata", "SdkError", "DispatchFailure", "source:"] {
        assert!(!text.contains(debug), "raw SDK output in {text:?}");
    }
}

// ---------------------------------------------------------------- describe_cluster

#[tokio::test]
async fn describe_cluster_reports_version_endpoint_and_logging() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("desc");
    env.create_cluster(&cluster).await?;
    env.eks
        .update_cluster_config()
        .name(&cluster)
        .logging(
            Logging::builder()
                .cluster_logging(LogSetup::builder().types(LogType::Api).types(LogType::Audit).enabled(true).build())
                .cluster_logging(LogSetup::builder().types(LogType::Scheduler).enabled(false).build())
                .build(),
        )
        .send()
        .await?;

    let out = call(&env.inspector(None), None, "describe_cluster", json!({"cluster_name": cluster})).await?;
    assert_eq!(out.tool, "describe_cluster");
    let text = &out.text;
    assert!(text.starts_with(&format!("EKS cluster {cluster} (eu-west-1): ACTIVE, Kubernetes 1.29")), "{text}");
    assert!(text.contains("Endpoint: public yes (from 203.0.113.0/24), private yes"), "{text}");
    assert!(text.contains("Control-plane logging: enabled api, audit; disabled scheduler"), "{text}");
    assert!(text.contains("Cluster health issues: none"), "{text}");
    // moto serves neither add-ons nor insights: a note, not a failure.
    assert!(text.contains("Add-ons: not available from this endpoint"), "{text}");
    assert!(text.contains("Upgrade insights: not available from this endpoint"), "{text}");
    assert_eq!(out.data["version"], "1.29");
    assert_eq!(out.data["logging_enabled"], json!(["api", "audit"]));
    assert_eq!(out.data["addons"], Value::Null);
    Ok(())
}

#[tokio::test]
async fn describe_cluster_of_a_bare_cluster_uses_the_configured_name() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("bare");
    env.create_cluster(&cluster).await?;
    let out = call(&env.inspector(Some(&cluster)), None, "describe_cluster", Value::Null).await?;
    assert!(out.text.contains(&format!("EKS cluster {cluster} ")), "{}", out.text);
    assert!(out.text.contains("Control-plane logging: none enabled"), "{}", out.text);
    assert_eq!(out.data["name"], cluster.as_str());
    Ok(())
}

#[tokio::test]
async fn describe_cluster_of_an_unknown_cluster_is_not_found() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let missing = unique("ghost");
    let err = env.inspector(None).run(None, "describe_cluster", &json!({"cluster_name": missing})).await.err();
    let err = err.ok_or_else(|| anyhow::anyhow!("describing an unknown cluster succeeded"))?;
    assert_eq!(err.class(), ErrorClass::NotFound, "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("EKS cluster \"{missing}\" not found in region eu-west-1")), "{text}");
    assert!(text.starts_with("eks:DescribeCluster failed"), "{text}");
    assert_clean(&err);

    // No cluster named and none configured: a bad call, said plainly.
    let err = env.inspector(None).run(None, "describe_cluster", &Value::Null).await.err();
    let err = err.ok_or_else(|| anyhow::anyhow!("describe_cluster without a cluster succeeded"))?;
    assert_eq!(err.class(), ErrorClass::InvalidInput);
    assert!(err.to_string().contains("no EKS cluster given and none configured"), "{err}");
    Ok(())
}

// ---------------------------------------------------------------- list_nodegroups

#[tokio::test]
async fn list_nodegroups_compares_desired_with_running_and_ready() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("ng");
    env.create_cluster(&cluster).await?;
    env.eks
        .create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name("workers")
        .node_role("arn:aws:iam::123456789012:role/eks-node")
        .subnets("subnet-0a1")
        .scaling_config(NodegroupScalingConfig::builder().min_size(1).max_size(3).desired_size(2).build())
        .instance_types("m5.large")
        .labels("team", "payments")
        .taints(Taint::builder().key("dedicated").value("payments").effect(TaintEffect::NoSchedule).build())
        .send()
        .await?;
    let ids = env.run_instances(&cluster, Some("workers"), 1).await?;
    let (_sim, reader) = sim(vec![node("ip-10-0-1-1.eu-west-1.compute.internal", &ids[0], "True", "workers")]).await?;

    let out = call(&env.inspector(Some(&cluster)), Some(&reader), "list_nodegroups", Value::Null).await?;
    let text = &out.text;
    assert!(
        text.contains(&format!("Managed nodegroups of cluster {cluster} (1), control plane Kubernetes 1.29:")),
        "{text}"
    );
    let row = text.lines().find(|l| l.starts_with("workers")).ok_or_else(|| anyhow::anyhow!("no row: {text}"))?;
    for cell in ["ACTIVE", "1/2/3", "m5.large", "ON_DEMAND", "AL2_x86_64"] {
        assert!(row.contains(cell), "{cell} missing from {row:?}");
    }
    assert!(text.contains("1 of 2 desired instances running in EC2"), "{text}");
    assert!(text.contains("1 of 2 desired nodes Ready in Kubernetes (1 registered)"), "{text}");
    assert!(text.contains("labels team=payments"), "{text}");
    assert!(text.contains("taints dedicated=payments:NO_SCHEDULE"), "{text}");
    // moto's nodegroups run 1.19.
    assert!(text.contains("runs Kubernetes 1.19, 10 minor versions behind the control plane (1.29): beyond the supported kubelet version skew"), "{text}");
    let ng = &out.data["nodegroups"][0];
    assert_eq!(
        (ng["desired_size"].as_i64(), ng["running_instances"].as_i64(), ng["kubernetes_ready"].as_i64()),
        (Some(2), Some(1), Some(1))
    );
    Ok(())
}

#[tokio::test]
async fn list_nodegroups_of_a_cluster_without_any_says_so() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("nong");
    env.create_cluster(&cluster).await?;
    let out = call(&env.inspector(None), None, "list_nodegroups", json!({"cluster_name": cluster})).await?;
    assert_eq!(
        out.text,
        format!(
            "Cluster {cluster} has no managed nodegroups (its nodes, if any, come from self-managed groups, Karpenter, EKS Auto Mode or Fargate).\n"
        )
    );
    assert_eq!(out.data["nodegroups"], json!([]));
    Ok(())
}

#[tokio::test]
async fn list_nodegroups_of_an_unknown_cluster_is_not_found() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let missing = unique("ghost");
    let err = env.inspector(Some(&missing)).run(None, "list_nodegroups", &Value::Null).await.err();
    let err = err.ok_or_else(|| anyhow::anyhow!("listing nodegroups of an unknown cluster succeeded"))?;
    assert_eq!(err.class(), ErrorClass::NotFound, "{err}");
    assert!(err.to_string().contains(&format!("EKS cluster \"{missing}\" not found in region eu-west-1")), "{err}");
    assert!(err.to_string().starts_with("eks:DescribeCluster failed"), "{err}");
    assert_clean(&err);
    Ok(())
}

// ---------------------------------------------------------------- get_node_health

#[tokio::test]
async fn node_health_joins_ready_nodes_with_running_instances() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("nh");
    let ids = env.run_instances(&cluster, Some("workers"), 2).await?;
    let (_sim, reader) = sim(vec![
        node("ip-10-0-1-1.eu-west-1.compute.internal", &ids[0], "True", "workers"),
        node("ip-10-0-1-2.eu-west-1.compute.internal", &ids[1], "True", "workers"),
    ])
    .await?;
    let out = call(&env.inspector(Some(&cluster)), Some(&reader), "get_node_health", Value::Null).await?;
    let text = &out.text;
    assert!(text.contains(&format!("Node health of cluster {cluster}: 2 Kubernetes nodes, 2 EC2 instances")), "{text}");
    let row = text.lines().find(|l| l.starts_with("ip-10-0-1-1")).ok_or_else(|| anyhow::anyhow!("no row: {text}"))?;
    for cell in ["Ready", ids[0].as_str(), "running", "m5.large", "ok", "eu-west-1a"] {
        assert!(row.contains(cell), "{cell} missing from {row:?}");
    }
    assert!(text.contains("No mismatches"), "{text}");
    assert_eq!(out.data["findings"], json!([]));

    // One node by name.
    let out = call(
        &env.inspector(Some(&cluster)),
        Some(&reader),
        "get_node_health",
        json!({"node_name": "ip-10-0-1-2.eu-west-1.compute.internal"}),
    )
    .await?;
    assert_eq!(out.data["rows"].as_array().map(Vec::len), Some(1), "{}", out.text);
    assert!(out.text.contains(&ids[1]), "{}", out.text);
    Ok(())
}

#[tokio::test]
async fn node_health_calls_out_a_stopped_instance_a_vanished_one_and_one_that_never_joined() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("mismatch");
    let ids = env.run_instances(&cluster, Some("workers"), 3).await?;
    env.ec2.stop_instances().instance_ids(&ids[1]).send().await?;
    let (_sim, reader) = sim(vec![
        node("ip-10-0-1-1.eu-west-1.compute.internal", &ids[0], "True", "workers"),
        node("ip-10-0-1-2.eu-west-1.compute.internal", &ids[1], "Unknown", "workers"),
        node("ip-10-0-1-9.eu-west-1.compute.internal", "i-0000000000000dead", "Unknown", "workers"),
    ])
    .await?;
    let out = call(&env.inspector(Some(&cluster)), Some(&reader), "get_node_health", Value::Null).await?;
    let text = &out.text;
    assert!(
        text.contains(&format!(
            "- [critical] node ip-10-0-1-2.eu-west-1.compute.internal is NotReady (Ready=Unknown): Kubelet stopped posting node status because its instance {} is stopped (Client.UserInitiatedShutdown",
            ids[1]
        )),
        "{text}"
    );
    assert!(text.contains("points at instance i-0000000000000dead, which EC2 does not know"), "{text}");
    // Launched seconds ago: it may still be joining.
    assert!(text.contains(&format!("- [info] instance {} (tagged for {cluster}", ids[2])), "{text}");
    assert!(text.contains("has no node yet: it may still be joining"), "{text}");
    let severities: Vec<&str> =
        out.data["findings"].as_array().into_iter().flatten().filter_map(|f| f["severity"].as_str()).collect();
    assert_eq!(severities, ["critical", "critical", "info"], "{text}");
    // Problems first.
    assert!(text.find("ip-10-0-1-2").unwrap_or(usize::MAX) < text.find("ip-10-0-1-1").unwrap_or(0), "{text}");
    Ok(())
}

#[tokio::test]
async fn node_health_without_cluster_access_reports_the_ec2_side_only() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("ec2only");
    let ids = env.run_instances(&cluster, None, 2).await?;
    env.ec2.stop_instances().instance_ids(&ids[0]).send().await?;
    let out = call(&env.inspector(Some(&cluster)), None, "get_node_health", Value::Null).await?;
    let text = &out.text;
    assert!(
        text.starts_with("Kubernetes node conditions are not available (no cluster access): EC2 side only."),
        "{text}"
    );
    assert!(text.contains(&format!("EC2 instances of cluster {cluster}: 2.")), "{text}");
    assert!(!text.contains("NODE"), "{text}");
    assert!(text.contains(&ids[0]) && text.contains(&ids[1]), "{text}");
    assert!(text.contains(&format!("- [warning] instance {} is stopped", ids[0])), "{text}");
    assert_eq!(out.data["kubernetes"], false);
    Ok(())
}

#[tokio::test]
async fn node_health_of_an_empty_cluster_says_nothing_was_found() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("empty");
    let (_sim, reader) = sim(vec![]).await?;
    let out = call(&env.inspector(Some(&cluster)), Some(&reader), "get_node_health", Value::Null).await?;
    assert_eq!(out.text, format!("No nodes and no EC2 instances found for cluster {cluster}.\n"));
    Ok(())
}

#[tokio::test]
async fn node_health_of_an_unknown_node_is_not_found() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let (_sim, reader) =
        sim(vec![node("ip-10-0-1-1.eu-west-1.compute.internal", "i-0123456789abcdef0", "True", "w")]).await?;
    let err =
        env.inspector(Some("c")).run(Some(&reader), "get_node_health", &json!({"node_name": "ghost"})).await.err();
    let err = err.ok_or_else(|| anyhow::anyhow!("an unknown node was found"))?;
    assert_eq!(err.class(), ErrorClass::NotFound);
    assert_eq!(err.to_string(), "node ghost not found");

    // Without a reader and without a configured cluster there is nothing to look for.
    let err = env.inspector(None).run(None, "get_node_health", &Value::Null).await.err();
    let err = err.ok_or_else(|| anyhow::anyhow!("node health with nothing to look at succeeded"))?;
    assert_eq!(err.class(), ErrorClass::InvalidInput);
    Ok(())
}

// ---------------------------------------------------------------- get_cloudwatch_metrics

#[tokio::test]
async fn metrics_of_a_pod_a_node_and_the_cluster_over_the_cbor_proxy() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("ci");
    let pod_dims = [("ClusterName", cluster.as_str()), ("Namespace", "prod"), ("PodName", "payment-service")];
    env.put_metric("pod_cpu_utilization", &pod_dims, &[(600, 10.0), (300, 30.0), (60, 20.0)], StandardUnit::Percent)
        .await?;
    env.put_metric(
        "pod_number_of_container_restarts",
        &pod_dims,
        &[(600, 0.0), (300, 2.0), (60, 5.0)],
        StandardUnit::Count,
    )
    .await?;
    env.put_metric(
        "pod_memory_utilization_over_pod_limit",
        &pod_dims,
        &[(300, 91.0), (60, 97.5)],
        StandardUnit::Percent,
    )
    .await?;
    let node_dims = [("ClusterName", cluster.as_str()), ("InstanceId", "i-0abc"), ("NodeName", "ip-10-0-1-1")];
    env.put_metric("node_cpu_utilization", &node_dims, &[(120, 40.0), (60, 60.0)], StandardUnit::Percent).await?;
    env.put_metric(
        "cluster_node_count",
        &[("ClusterName", cluster.as_str())],
        &[(120, 3.0), (60, 3.0)],
        StandardUnit::Count,
    )
    .await?;

    let inspector = env.inspector(Some(&cluster));
    // The pod by its full name: found under its workload's PodName.
    let out = call(
        &inspector,
        None,
        "get_cloudwatch_metrics",
        json!({"scope": "pod", "namespace": "prod", "name": "payment-service-7d9f8b6c5d-x2k4q", "minutes": 30, "period_seconds": 60}),
    )
    .await?;
    let text = &out.text;
    assert!(text.contains("dimensions ClusterName="), "{text}");
    assert!(text.contains("PodName=payment-service"), "{text}");
    let cpu = text
        .lines()
        .find(|l| l.starts_with("pod_cpu_utilization (%)"))
        .ok_or_else(|| anyhow::anyhow!("no cpu row: {text}"))?;
    assert!(cpu.contains("Average") && cpu.contains(" 3 ") && cpu.contains("10") && cpu.contains("30"), "{cpu}");
    assert!(text.contains("- restarts rose from 0 to 5 in the window"), "{text}");
    assert!(text.contains("pod_memory_utilization_over_pod_limit peaked at 97.5%"), "{text}");
    let series = out.data["series"].as_array().cloned().unwrap_or_default();
    let cpu =
        series.iter().find(|s| s["metric"] == "pod_cpu_utilization").ok_or_else(|| anyhow::anyhow!("no cpu series"))?;
    assert_eq!(
        (cpu["min"].as_f64(), cpu["avg"].as_f64(), cpu["max"].as_f64(), cpu["last"].as_f64()),
        (Some(10.0), Some(20.0), Some(30.0), Some(20.0))
    );

    // A node: its exact dimension set (with InstanceId) is found through ListMetrics.
    let out = call(
        &inspector,
        None,
        "get_cloudwatch_metrics",
        json!({"scope": "node", "name": "ip-10-0-1-1", "period_seconds": 60}),
    )
    .await?;
    assert!(out.text.contains("InstanceId=i-0abc"), "{}", out.text);
    assert!(out.text.lines().any(|l| l.starts_with("node_cpu_utilization (%)") && l.contains("60")), "{}", out.text);

    // The cluster.
    let out =
        call(&inspector, None, "get_cloudwatch_metrics", json!({"scope": "cluster", "period_seconds": 60})).await?;
    assert!(out.text.lines().any(|l| l.starts_with("cluster_node_count") && l.contains(" 3")), "{}", out.text);
    assert!(out.text.contains("No datapoints in the window for: cluster_failed_node_count"), "{}", out.text);
    Ok(())
}

#[tokio::test]
async fn metrics_without_container_insights_say_it_is_not_enabled() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("noci");
    let inspector = env.inspector(Some(&cluster));
    let out = call(&inspector, None, "get_cloudwatch_metrics", json!({"scope": "cluster"})).await?;
    assert!(
        out.text.contains(&format!(
            "Container Insights does not seem to be enabled for cluster {cluster} (no ContainerInsights metrics in the last 60 minutes)"
        )),
        "{}",
        out.text
    );
    assert_eq!(out.data["series"], json!([]));
    let out =
        call(&inspector, None, "get_cloudwatch_metrics", json!({"scope": "pod", "namespace": "prod", "name": "web"}))
            .await?;
    assert!(
        out.text.contains(&format!("Container Insights does not seem to be enabled for cluster {cluster}")),
        "{}",
        out.text
    );

    // Container Insights on, but nothing for this pod.
    env.put_metric("cluster_node_count", &[("ClusterName", cluster.as_str())], &[(60, 2.0)], StandardUnit::Count)
        .await?;
    let out =
        call(&inspector, None, "get_cloudwatch_metrics", json!({"scope": "pod", "namespace": "prod", "name": "web"}))
            .await?;
    assert!(
        out.text.contains(&format!("No Container Insights metrics for pod prod/web in cluster {cluster}")),
        "{}",
        out.text
    );
    Ok(())
}

#[tokio::test]
async fn metrics_errors_are_classified_and_clean() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let inspector = env.inspector(Some("c"));
    let err = inspector.run(None, "get_cloudwatch_metrics", &json!({"scope": "pod", "namespace": "prod"})).await.err();
    let err = err.ok_or_else(|| anyhow::anyhow!("a pod without a name was accepted"))?;
    assert_eq!(err.class(), ErrorClass::InvalidInput);
    assert!(err.to_string().contains("scope pod needs namespace and name"), "{err}");

    let err = inspector.run(None, "get_cloudwatch_metrics", &json!({"scope": "everything"})).await.err();
    let err = err.ok_or_else(|| anyhow::anyhow!("a bad scope was accepted"))?;
    assert!(err.to_string().contains("must be one of pod, node, cluster"), "{err}");

    // CloudWatch straight at moto, which does not speak CBOR: a classified error naming the
    // action, without SDK debug output.
    let raw = AwsInspector::new(&env.config, Some("c".into()));
    let err = raw.run(None, "get_cloudwatch_metrics", &json!({"scope": "cluster"})).await.err();
    let err = err.ok_or_else(|| anyhow::anyhow!("moto answered CBOR"))?;
    assert!(err.to_string().starts_with("cloudwatch:GetMetricData failed: the endpoint answered HTTP"), "{err}");
    assert!(err.to_string().contains("not this service's protocol"), "{err}");
    assert_clean(&err);
    Ok(())
}

// ---------------------------------------------------------------- get_cloudwatch_logs

/// A Fluent Bit record as Container Insights ships it.
fn record(pod: &str, ns: &str, line: &str) -> String {
    json!({"log": format!("{line}\n"), "stream": "stdout", "kubernetes": {"pod_name": pod, "namespace_name": ns, "container_name": "app", "host": "ip-10-0-1-1"}}).to_string()
}

async fn seed_logs(env: &Env, group: &str, stream: &str, messages: &[String]) -> anyhow::Result<()> {
    env.logs.create_log_group().log_group_name(group).send().await?;
    env.logs.create_log_stream().log_group_name(group).log_stream_name(stream).send().await?;
    if messages.is_empty() {
        return Ok(());
    }
    let now = jiff::Timestamp::now().as_millisecond();
    let n = messages.len() as i64;
    let mut req = env.logs.put_log_events().log_group_name(group).log_stream_name(stream);
    for (i, m) in messages.iter().enumerate() {
        let at = now - (n - i as i64) * 1000;
        req = req.log_events(aws_sdk_cloudwatchlogs::types::InputLogEvent::builder().timestamp(at).message(m).build()?);
    }
    req.send().await?;
    Ok(())
}

#[tokio::test]
async fn application_logs_of_one_pod_are_filtered_redacted_and_reduced() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("logs");
    let group = format!("/aws/containerinsights/{cluster}/application");
    let mut messages = Vec::new();
    for i in 0..300 {
        messages.push(record("web-1", "prod", &format!("INFO request {i} served in 3ms")));
        messages.push(record("web-10", "prod", &format!("INFO other pod {i}")));
    }
    messages.push(record("web-1", "prod", "ERROR cannot connect to db with password=hunter22"));
    messages.push(record("api-1", "staging", "ERROR unrelated"));
    messages.push(record("web-1", "prod", "INFO shutting down"));
    seed_logs(&env, &group, "ip-10-0-1-1.eu-west-1.compute.internal-application.var.log.containers.x.log", &messages)
        .await?;

    let inspector = env.inspector(Some(&cluster));
    let out = call(
        &inspector,
        None,
        "get_cloudwatch_logs",
        json!({"log_group": "application", "namespace": "prod", "pod": "web-1", "limit": 1000}),
    )
    .await?;
    let text = &out.text;
    assert!(
        text.starts_with(&format!(
            "302 events in {group} in the last 60 minutes matching namespace prod, pod web-1:\n"
        )),
        "{text}"
    );
    assert_eq!(out.data["filter_pattern"], "\"web-1\"");
    assert!(text.contains("web-1/app: ERROR cannot connect to db with password=****"), "{text}");
    assert!(!text.contains("hunter22"), "{text}");
    assert!(!text.contains("other pod"), "another pod's lines leaked: {text}");
    assert!(!text.contains("unrelated"), "{text}");
    assert!(text.contains("web-1/app: INFO shutting down"), "{text}");
    assert!(text.contains("lines skipped"), "the log was not reduced: {text}");
    assert!(text.len() < 10_000, "{} bytes", text.len());

    // A pattern is filtered server-side; limit keeps the newest.
    let out = call(
        &inspector,
        None,
        "get_cloudwatch_logs",
        json!({"log_group": "application", "pattern": "ERROR", "limit": 1}),
    )
    .await?;
    assert!(
        out.text.starts_with(&format!(
            "2 events in {group} in the last 60 minutes matching filter ERROR, the newest 1 shown:"
        )),
        "{}",
        out.text
    );
    assert!(out.text.contains("api-1/app: ERROR unrelated"), "{}", out.text);
    Ok(())
}

#[tokio::test]
async fn an_empty_log_group_has_no_events() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("quiet");
    let group = format!("/aws/eks/{cluster}/cluster");
    seed_logs(&env, &group, "kube-apiserver-0123", &[]).await?;
    let out = call(
        &env.inspector(Some(&cluster)),
        None,
        "get_cloudwatch_logs",
        json!({"log_group": "cluster", "minutes": 15}),
    )
    .await?;
    assert_eq!(out.text, format!("No log events in {group} in the last 15 minutes.\n"));
    assert_eq!(out.data["exists"], true);
    Ok(())
}

#[tokio::test]
async fn a_missing_log_group_says_logging_is_not_enabled() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cluster = unique("nolog");
    let inspector = env.inspector(Some(&cluster));
    let out = call(&inspector, None, "get_cloudwatch_logs", json!({"log_group": "cluster"})).await?;
    assert!(
        out.text.starts_with(&format!(
            "Log group /aws/eks/{cluster}/cluster does not exist: control-plane logging is not enabled for cluster {cluster}"
        )),
        "{}",
        out.text
    );
    assert_eq!(out.data["exists"], false);
    let out =
        call(&inspector, None, "get_cloudwatch_logs", json!({"log_group": "application", "pod": "web-1"})).await?;
    assert!(out.text.contains("does not exist: Container Insights is not enabled"), "{}", out.text);

    // No cluster configured: a bad call.
    let err = env.inspector(None).run(None, "get_cloudwatch_logs", &json!({"log_group": "cluster"})).await.err();
    assert_eq!(err.map(|e| e.class()), Some(ErrorClass::InvalidInput));
    Ok(())
}

// ---------------------------------------------------------------- check_resource_usage's usage

#[tokio::test]
async fn container_insights_is_check_resource_usage_s_usage_without_metrics_server() -> anyhow::Result<()> {
    use aiops_core::fixtures;
    use aiops_core::ports::UsageSource;
    let env = Env::new().await?;
    let cluster = unique("ciu");
    let c = cluster.as_str();
    // Standard Container Insights: by workload name. Enhanced observability: also per pod.
    let web = [("ClusterName", c), ("Namespace", "prod"), ("PodName", "web")];
    let memory = "pod_memory_utilization_over_pod_limit";
    env.put_metric(memory, &web, &[(600, 80.0), (60, 95.0)], StandardUnit::Percent).await?;
    env.put_metric("pod_cpu_utilization_over_pod_limit", &web, &[(60, 40.0)], StandardUnit::Percent).await?;
    let full = [("ClusterName", c), ("Namespace", "prod"), ("PodName", "api"), ("FullPodName", "api-7d9f8b6c5d-x2k4q")];
    env.put_metric(memory, &full, &[(60, 30.0)], StandardUnit::Percent).await?;
    // Another namespace, and a series by Service: neither is a pod of prod.
    env.put_metric(
        memory,
        &[("ClusterName", c), ("Namespace", "other"), ("PodName", "x")],
        &[(60, 50.0)],
        StandardUnit::Percent,
    )
    .await?;
    env.put_metric(
        memory,
        &[("ClusterName", c), ("Namespace", "prod"), ("Service", "web")],
        &[(60, 50.0)],
        StandardUnit::Percent,
    )
    .await?;

    let usage = env.inspector(Some(c)).container_insights().expect("a cluster is configured");
    assert_eq!(usage.name(), "Container Insights");
    let samples = usage.pod_usage(Some("prod"), 15).await?;
    assert_eq!(samples.len(), 2, "{samples:?}");
    let web_sample = samples.iter().find(|s| s.pod == "web").expect("web by workload");
    assert!(!web_sample.per_pod);
    assert_eq!(
        (web_sample.memory_pct_of_limit, web_sample.cpu_pct_of_limit),
        (Some(95.0), Some(40.0)),
        "the newest point"
    );
    let api = samples.iter().find(|s| s.pod == "api-7d9f8b6c5d-x2k4q").expect("api per pod");
    assert!(api.per_pod);
    assert_eq!((api.memory_pct_of_limit, api.cpu_pct_of_limit), (Some(30.0), None));
    assert_eq!(usage.pod_usage(None, 15).await?.len(), 3, "every namespace");
    assert!(
        env.inspector(Some(&unique("none")))
            .container_insights()
            .expect("cluster")
            .pod_usage(None, 15)
            .await?
            .is_empty()
    );

    // Through check_resource_usage over the simulated cluster, which serves no metrics API: the
    // workload's share of its 512Mi limit becomes its one container's usage.
    let hash = "5d8f7c9b4d";
    let objects = vec![
        fixtures::namespace("prod"),
        fixtures::node("ip-10-0-1-1.eu-west-1.compute.internal", "4", "15Gi"),
        fixtures::deployment("prod", "web", 1, 1, 2),
        fixtures::replicaset("prod", "web", hash, 2, "registry.example.com/web:2.0", 1, 1),
        fixtures::pod(&format!("web-{hash}-q8x2k"))
            .in_ns("prod")
            .owned_by_rs(&format!("web-{hash}"))
            .on_node("ip-10-0-1-1.eu-west-1.compute.internal")
            .labels(&[("app", "web"), ("pod-template-hash", hash)])
            .memory_limit("512Mi")
            .build(),
    ];
    let (_sim, reader) = sim(objects).await?;
    let args = json!({"namespace": "prod", "deployment": "web"});
    let out = aiops_core::tools::run_with(&reader, Some(&usage), "check_resource_usage", &args).await?;
    assert_eq!(out.data["metrics"]["source"], "container-insights", "{}", out.text);
    let row = &out.data["containers"][0];
    assert_eq!((row["memory_pct_of_limit"].as_u64(), row["memory_usage"].as_str()), (Some(95), Some("486Mi")), "{row}");
    assert!(out.text.contains("uses 486Mi of its 512Mi memory limit (95%)"), "{}", out.text);
    assert!(out.text.contains("Container Insights"), "{}", out.text);

    // Without the source, the same call says usage is unknown.
    let out = aiops_core::tools::run(&reader, "check_resource_usage", &args).await?;
    assert_eq!(out.data["metrics"]["source"], "none");
    assert!(out.data["containers"][0]["memory_usage"].is_null());
    Ok(())
}
