//! `KubeReader` through the real kube client against the simulated cluster.

use aiops_core::ports::{ClusterReader, LogRequest, Scope};
use aiops_core::{Error, ErrorClass, Kind};
use aiops_kube::KubeReader;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams};

use crate::fixtures::{self, BULK_CONFIGMAPS, SECRET_PASSWORD_B64, WEB_1_LOG, WEB_1_PREVIOUS_LOG, names};

async fn reader() -> (aiops_sim::SimCluster, kube::Client, KubeReader) {
    let (sim, url) = fixtures::sim().await;
    let client = aiops_kube::from_url(&url).await.expect("client for the simulated cluster");
    let reader = KubeReader::new(client.clone(), Some(fixtures::captured_at()));
    (sim, client, reader)
}

fn scope(ns: Option<&str>, labels: Option<&str>, fields: Option<&str>) -> Scope {
    Scope {
        namespace: ns.map(str::to_string),
        label_selector: labels.map(str::to_string),
        field_selector: fields.map(str::to_string),
    }
}

#[tokio::test]
async fn list_pods_across_namespaces_sets_api_version_and_kind() {
    let (_sim, _client, reader) = reader().await;
    let pods = reader.list(Kind::Pod, &Scope::all()).await.expect("list pods");
    assert_eq!(
        names(&pods),
        ["production/db-0", "production/web-1", "production/web-2", "staging/web-1"],
        "every pod in every namespace"
    );
    for pod in &pods {
        assert_eq!(pod["apiVersion"], "v1", "{pod}");
        assert_eq!(pod["kind"], "Pod", "{pod}");
        assert_eq!(pod["spec"]["nodeName"], "node-1", "the whole object comes back: {pod}");
    }
}

#[tokio::test]
async fn list_pods_in_one_namespace() {
    let (_sim, _client, reader) = reader().await;
    let pods = reader.list(Kind::Pod, &Scope::namespace(Some("production"))).await.expect("list pods");
    assert_eq!(names(&pods), ["production/db-0", "production/web-1", "production/web-2"]);
}

#[tokio::test]
async fn list_with_a_label_selector() {
    let (_sim, _client, reader) = reader().await;
    let web = reader.list(Kind::Pod, &scope(None, Some("app=web"), None)).await.expect("app=web");
    assert_eq!(names(&web), ["production/web-1", "production/web-2", "staging/web-1"]);
    let not_web = reader.list(Kind::Pod, &scope(Some("production"), Some("app!=web"), None)).await.expect("app!=web");
    assert_eq!(names(&not_web), ["production/db-0"]);
}

#[tokio::test]
async fn list_events_with_a_field_selector_on_the_involved_object() {
    let (_sim, _client, reader) = reader().await;
    let events = reader
        .list(Kind::Event, &scope(Some("production"), None, Some("involvedObject.name=web-1")))
        .await
        .expect("events of web-1");
    assert_eq!(names(&events), ["production/web-1.17a1"]);
    assert_eq!(events[0]["reason"], "BackOff");
    assert_eq!(events[0]["kind"], "Event");

    let everywhere = reader
        .list(Kind::Event, &scope(None, None, Some("involvedObject.name=web-1")))
        .await
        .expect("events of any web-1");
    assert_eq!(names(&everywhere), ["production/web-1.17a1", "staging/web-1.17a3"]);
}

#[tokio::test]
async fn list_follows_continue_tokens_past_500_objects() {
    let (_sim, client, reader) = reader().await;
    // The server pages: one request with limit 500 returns 500 and a continue token, so the
    // reader must follow it to see all of them.
    let first_page =
        Api::<ConfigMap>::namespaced(client, "bulk").list(&ListParams::default().limit(500)).await.expect("first page");
    assert_eq!(first_page.items.len(), 500, "the simulated cluster honours limit");
    assert!(first_page.metadata.continue_.as_deref().is_some_and(|c| !c.is_empty()), "a continue token");

    let all = reader.list(Kind::ConfigMap, &Scope::namespace(Some("bulk"))).await.expect("list configmaps");
    let expected: Vec<String> = (0..BULK_CONFIGMAPS).map(|i| format!("bulk/cm-{i:04}")).collect();
    assert_eq!(names(&all), expected, "every ConfigMap exactly once");
    assert!(all.iter().all(|c| c["kind"] == "ConfigMap" && c["apiVersion"] == "v1"));
}

#[tokio::test]
async fn list_of_a_cluster_scoped_kind_ignores_the_namespace() {
    let (_sim, _client, reader) = reader().await;
    let nodes = reader.list(Kind::Node, &Scope::namespace(Some("production"))).await.expect("list nodes");
    assert_eq!(names(&nodes), ["node-1"]);
    assert_eq!(nodes[0]["kind"], "Node");
}

#[tokio::test]
async fn get_returns_the_object_or_none() {
    let (_sim, _client, reader) = reader().await;
    let pod = reader.get(Kind::Pod, Some("production"), "web-1").await.expect("get web-1");
    let pod = pod.expect("web-1 exists");
    assert_eq!(pod["metadata"]["name"], "web-1");
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["apiVersion"], "v1");

    let missing = reader.get(Kind::Pod, Some("production"), "web-9").await.expect("get web-9");
    assert!(missing.is_none(), "a missing pod is None, not an error: {missing:?}");
    let wrong_ns = reader.get(Kind::Pod, Some("staging"), "db-0").await.expect("get db-0 in staging");
    assert!(wrong_ns.is_none());

    let node = reader.get(Kind::Node, None, "node-1").await.expect("get node").expect("node-1 exists");
    assert_eq!(node["kind"], "Node");
}

#[tokio::test]
async fn secrets_come_back_without_their_values() {
    let (_sim, client, reader) = reader().await;
    // The server does hold the value: a plain client reading the Secret sees it.
    let raw = Api::<Secret>::namespaced(client, "production").get("db-credentials").await.expect("raw get");
    let raw_password = raw.data.as_ref().and_then(|d| d.get("password")).map(|b| b.0.clone());
    assert_eq!(
        raw_password.as_deref(),
        Some(b"hunter2".as_slice()),
        "precondition: the simulated cluster serves the value ({SECRET_PASSWORD_B64})"
    );

    let listed = reader.list(Kind::Secret, &Scope::namespace(Some("production"))).await.expect("list secrets");
    let fetched = reader.get(Kind::Secret, Some("production"), "db-credentials").await.expect("get secret");
    let fetched = fetched.expect("the secret exists");
    assert_eq!(names(&listed), ["production/db-credentials"]);
    for secret in listed.iter().chain([&fetched]) {
        let keys: Vec<&str> = secret.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["apiVersion", "kind", "metadata"], "only metadata: {secret}");
        assert_eq!(secret["kind"], "Secret");
        assert_eq!(secret["apiVersion"], "v1");
        assert_eq!(secret["metadata"]["labels"]["app"], "db", "metadata is kept");
        let text = secret.to_string();
        assert!(!text.contains(SECRET_PASSWORD_B64) && !text.contains("hunter2"), "no value: {text}");
    }
    let missing = reader.get(Kind::Secret, Some("production"), "nope").await.expect("get missing secret");
    assert!(missing.is_none());
}

fn log_request(pod: &str, previous: bool) -> LogRequest {
    LogRequest {
        namespace: "production".into(),
        pod: pod.into(),
        container: Some("app".into()),
        previous,
        ..LogRequest::default()
    }
}

#[tokio::test]
async fn logs_current_previous_and_tail() {
    let (_sim, _client, reader) = reader().await;
    let current = reader.logs(&log_request("web-1", false)).await.expect("current log");
    assert_eq!(current, WEB_1_LOG);
    let previous = reader.logs(&log_request("web-1", true)).await.expect("previous log");
    assert_eq!(previous, WEB_1_PREVIOUS_LOG);
    let tail = reader.logs(&LogRequest { tail_lines: Some(1), ..log_request("web-1", false) }).await.expect("tail");
    assert_eq!(tail, "GET /healthz 200\n");
    let tail_previous =
        reader.logs(&LogRequest { tail_lines: Some(1), ..log_request("web-1", true) }).await.expect("tail of previous");
    assert_eq!(tail_previous, "java.lang.OutOfMemoryError: Java heap space\n");
}

#[tokio::test]
async fn logs_of_a_missing_pod_or_previous_instance_are_not_found() {
    let (_sim, _client, reader) = reader().await;
    let err = reader.logs(&log_request("web-9", false)).await.expect_err("no such pod");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::NotFound);

    // web-2 never restarted into a previous instance with a log.
    let err = reader.logs(&log_request("web-2", true)).await.expect_err("no previous instance");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(err.to_string(), r#"previous terminated container "app" in pod "web-2" not found"#);

    let err = reader
        .logs(&LogRequest { container: Some("sidecar".into()), ..log_request("web-1", false) })
        .await
        .expect_err("no such container");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("container sidecar is not valid for pod web-1"), "{err}");
}

#[tokio::test]
async fn now_is_the_fixed_time_when_given() {
    let (_sim, client, reader) = reader().await;
    assert_eq!(reader.now(), fixtures::captured_at());
    let live = KubeReader::new(client, None);
    let wall = jiff::Timestamp::now();
    assert!((live.now() - wall).get_seconds().abs() < 5, "None means the wall clock");
}

#[tokio::test]
async fn an_unreachable_server_is_transient() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let client = aiops_kube::from_url(&format!("http://127.0.0.1:{port}")).await.expect("client");
    let reader = KubeReader::new(client, None);
    let err = reader.list(Kind::Pod, &Scope::namespace(Some("production"))).await.expect_err("refused");
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    let Error::Backend { operation, source, .. } = &err else { panic!("not a backend error: {err:?}") };
    assert_eq!(operation, "list pods in namespace production");
    assert!(source.is_some(), "the cause is kept");
}
