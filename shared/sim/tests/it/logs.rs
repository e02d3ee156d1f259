//! Pod logs through `Api::logs`: container choice, previous, tail, since, timestamps, limits.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

use crate::support::{ENVOY_LOG, PAYMENT_POD, api_error, start};

fn container(name: &str) -> LogParams {
    LogParams { container: Some(name.into()), ..LogParams::default() }
}

#[tokio::test]
async fn whole_log_without_timestamps_by_default() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    let text = pods.logs(PAYMENT_POD, &container("payment")).await?;
    assert_eq!(
        text,
        "starting payment-service v1.4.2\nconnected to postgres at db:5432\nallocating cache: 512MiB\n\
         java.lang.OutOfMemoryError: Java heap space\n\tat com.example.Cache.fill(Cache.java:42)\n"
    );
    // A single-container pod needs no container name; its log file had no namespace.
    assert_eq!(pods.logs("api-7d9f-abc", &LogParams::default()).await?, "GET /healthz 200\n");
    Ok(())
}

#[tokio::test]
async fn several_containers_need_a_name() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    let status = api_error(pods.logs(PAYMENT_POD, &LogParams::default()).await);
    assert_eq!(status.code, 400);
    assert_eq!(
        status.message,
        format!("a container name must be specified for pod {PAYMENT_POD}, choose one of: [payment envoy]")
    );
    let status = api_error(pods.logs(PAYMENT_POD, &container("nginx")).await);
    assert_eq!(status.message, format!("container nginx is not valid for pod {PAYMENT_POD}"));
    Ok(())
}

#[tokio::test]
async fn previous_instance() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    let previous = LogParams { previous: true, ..container("payment") };
    assert_eq!(pods.logs(PAYMENT_POD, &previous).await?, "starting\nOOMKilled: heap exhausted\n");
    let status = api_error(pods.logs(PAYMENT_POD, &LogParams { previous: true, ..container("envoy") }).await);
    assert_eq!(status.code, 400);
    assert_eq!(status.message, format!("previous terminated container \"envoy\" in pod \"{PAYMENT_POD}\" not found"));
    Ok(())
}

#[tokio::test]
async fn tail_since_timestamps_and_limit() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    let tail = pods.logs(PAYMENT_POD, &LogParams { tail_lines: Some(2), ..container("payment") }).await?;
    assert_eq!(tail, "java.lang.OutOfMemoryError: Java heap space\n\tat com.example.Cache.fill(Cache.java:42)\n");
    // Captured at 12:00:00: the last minute holds 11:59:10 and 11:59:40 (and its continuation).
    let since = pods.logs(PAYMENT_POD, &LogParams { since_seconds: Some(60), ..container("payment") }).await?;
    assert_eq!(
        since,
        "allocating cache: 512MiB\njava.lang.OutOfMemoryError: Java heap space\n\tat com.example.Cache.fill(Cache.java:42)\n"
    );
    let stamped =
        pods.logs(PAYMENT_POD, &LogParams { timestamps: true, tail_lines: Some(3), ..container("payment") }).await?;
    assert_eq!(
        stamped,
        "2025-06-01T11:59:10Z allocating cache: 512MiB\n2025-06-01T11:59:40.250Z java.lang.OutOfMemoryError: Java heap space\n\tat com.example.Cache.fill(Cache.java:42)\n"
    );
    let limited = pods.logs(PAYMENT_POD, &LogParams { limit_bytes: Some(8), ..container("payment") }).await?;
    assert_eq!(limited, "starting");
    let since_time = "2025-06-01T11:59:30Z".parse().ok();
    let since = pods.logs(PAYMENT_POD, &LogParams { since_time, tail_lines: Some(1), ..container("payment") }).await?;
    assert_eq!(since, "\tat com.example.Cache.fill(Cache.java:42)\n");
    Ok(())
}

#[tokio::test]
async fn unstamped_logs_ignore_time_options() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    let lp = LogParams { since_seconds: Some(1), timestamps: true, ..container("envoy") };
    assert_eq!(pods.logs(PAYMENT_POD, &lp).await?, ENVOY_LOG);
    Ok(())
}

#[tokio::test]
async fn missing_pod_waiting_container_and_bad_options() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    let status = api_error(pods.logs("nope", &LogParams::default()).await);
    assert_eq!((status.code, status.message.as_str()), (404, "pods \"nope\" not found"));
    let status = api_error(pods.logs("worker-0", &LogParams::default()).await);
    assert_eq!(status.code, 400);
    assert_eq!(
        status.message,
        "container \"worker\" in pod \"worker-0\" is waiting to start: trying and failing to pull image"
    );
    // A running container without a captured log has an empty log.
    assert_eq!(pods.logs("web-1", &LogParams::default()).await?, "");
    let status = api_error(pods.logs("web-1", &LogParams { tail_lines: Some(-1), ..LogParams::default() }).await);
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    Ok(())
}
