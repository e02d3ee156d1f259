//! list and get: namespaces, cluster scope, selectors, paging, errors.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, WatchParams};

use crate::support::{PAYMENT_POD, api_error, names, start};

#[tokio::test]
async fn lists_are_sorted_by_namespace_then_name() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let prod = Api::<Pod>::namespaced(client.clone(), "prod").list(&ListParams::default()).await?;
    assert_eq!(names(&prod.items), ["api-7d9f-abc", "api-7d9f-def", PAYMENT_POD, "web-1", "worker-0"]);
    let all = Api::<Pod>::all(client.clone()).list(&ListParams::default()).await?;
    assert_eq!(all.items.len(), 6);
    assert_eq!(all.items[5].metadata.namespace.as_deref(), Some("staging"));
    let deployments = Api::<Deployment>::all(client).list(&ListParams::default()).await?;
    assert_eq!(names(&deployments.items), ["api", "payment-service", "api"]);
    let rv: u64 = all.metadata.resource_version.as_deref().unwrap_or_default().parse()?;
    assert!(rv > 0, "a list carries the cluster's resourceVersion");
    Ok(())
}

#[tokio::test]
async fn loaded_objects_get_uid_and_resource_version() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pod = Api::<Pod>::namespaced(client, "prod").get("web-1").await?;
    assert!(pod.metadata.uid.as_deref().is_some_and(|u| !u.is_empty()));
    assert!(pod.metadata.resource_version.as_deref().is_some_and(|rv| rv.parse::<u64>().is_ok()));
    Ok(())
}

#[tokio::test]
async fn cluster_scoped_nodes() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let nodes: Api<Node> = Api::all(client);
    assert_eq!(names(&nodes.list(&ListParams::default()).await?.items), ["node-a", "node-b"]);
    let node = nodes.get("node-b").await?;
    assert_eq!(node.spec.and_then(|s| s.unschedulable), Some(true));
    let spot = nodes.list(&ListParams::default().labels("pool=spot")).await?;
    assert_eq!(names(&spot.items), ["node-b"]);
    Ok(())
}

#[tokio::test]
async fn missing_objects_are_404_with_the_real_message() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "prod");
    let status = api_error(pods.get("nope").await);
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    assert_eq!(status.message, "pods \"nope\" not found");
    assert!(pods.get_opt("nope").await?.is_none());
    let status = api_error(Api::<Deployment>::namespaced(client.clone(), "staging").get("payment-service").await);
    assert_eq!(status.message, "deployments.apps \"payment-service\" not found");
    // A pod of another namespace is not found here.
    assert!(Api::<Pod>::namespaced(client, "staging").get_opt("web-1").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn unknown_resources_are_404() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let widgets = ApiResource {
        group: "example.com".into(),
        version: "v1".into(),
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    let status = api_error(Api::<DynamicObject>::all_with(client.clone(), &widgets).list(&ListParams::default()).await);
    assert_eq!(status.code, 404);
    let wrong_version = ApiResource {
        group: "apps".into(),
        version: "v1beta1".into(),
        api_version: "apps/v1beta1".into(),
        kind: "Deployment".into(),
        plural: "deployments".into(),
    };
    let status = api_error(Api::<DynamicObject>::all_with(client, &wrong_version).list(&ListParams::default()).await);
    assert_eq!(status.code, 404);
    Ok(())
}

#[tokio::test]
async fn label_selectors() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    let cases: [(&str, &[&str]); 11] = [
        ("app=api", &["api-7d9f-abc", "api-7d9f-def"]),
        // `!=` and `notin` match objects without the label.
        ("tier!=frontend", &["api-7d9f-abc", "api-7d9f-def", PAYMENT_POD, "worker-0"]),
        ("tier notin (backend)", &["web-1", "worker-0"]),
        ("app==web", &["web-1"]),
        ("app!=api", &[PAYMENT_POD, "web-1", "worker-0"]),
        ("app in (web, payment)", &[PAYMENT_POD, "web-1"]),
        ("app notin (api,web)", &[PAYMENT_POD, "worker-0"]),
        ("tier", &["api-7d9f-abc", "api-7d9f-def", PAYMENT_POD, "web-1"]),
        ("!tier", &["worker-0"]),
        ("tier=backend,app!=api", &[PAYMENT_POD]),
        ("app=nothing", &[]),
    ];
    for (selector, expect) in cases {
        let list = pods.list(&ListParams::default().labels(selector)).await?;
        assert_eq!(names(&list.items), expect, "labelSelector {selector}");
    }
    Ok(())
}

#[tokio::test]
async fn field_selectors_on_any_field() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let events: Api<Event> = Api::namespaced(client.clone(), "prod");
    let cases: [(&str, &[&str]); 6] = [
        (&format!("involvedObject.name={PAYMENT_POD}"), &["payment.1", "payment.2", "payment.3"]),
        (&format!("involvedObject.name={PAYMENT_POD},type=Warning"), &["payment.1", "payment.2"]),
        ("involvedObject.kind=Deployment", &["api.1"]),
        ("reason=FailedScheduling", &["web.1"]),
        ("type!=Warning", &["api.1", "payment.3"]),
        ("involvedObject.namespace==prod,reason=OOMKilling", &["payment.2"]),
    ];
    for (selector, expect) in cases {
        let list = events.list(&ListParams::default().fields(selector)).await?;
        assert_eq!(names(&list.items), expect, "fieldSelector {selector}");
    }
    let pods: Api<Pod> = Api::all(client);
    let cases: [(&str, &[&str]); 5] = [
        ("spec.nodeName=node-a", &["api-7d9f-abc", PAYMENT_POD, "api-1"]),
        ("status.phase=Pending", &["web-1", "worker-0"]),
        ("metadata.name=web-1", &["web-1"]),
        ("metadata.namespace=staging", &["api-1"]),
        ("spec.schedulerName=", &["api-7d9f-abc", "api-7d9f-def", PAYMENT_POD, "web-1", "worker-0", "api-1"]),
    ];
    for (selector, expect) in cases {
        let list = pods.list(&ListParams::default().fields(selector)).await?;
        assert_eq!(names(&list.items), expect, "fieldSelector {selector}");
    }
    Ok(())
}

#[tokio::test]
async fn invalid_selectors_are_400() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::all(client);
    for lp in [
        ListParams::default().labels("app in (api"),
        ListParams::default().labels("app=a b"),
        ListParams::default().fields("metadata.name"),
    ] {
        let status = api_error(pods.list(&lp).await);
        assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"), "{lp:?}");
    }
    Ok(())
}

#[tokio::test]
async fn limit_and_continue_page_through_everything() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::all(client);
    let everything = names(&pods.list(&ListParams::default()).await?.items);
    let mut pages = Vec::new();
    let mut seen = Vec::new();
    let mut lp = ListParams::default().limit(2);
    loop {
        let page = pods.list(&lp).await?;
        if pages.is_empty() {
            assert_eq!(page.metadata.remaining_item_count, Some(4));
        }
        pages.push(page.items.len());
        seen.extend(names(&page.items));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = lp.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(pages, [2, 2, 2]);
    assert_eq!(seen, everything);
    // Paging composes with selectors.
    let first = pods.list(&ListParams::default().labels("app=api").limit(1)).await?;
    assert_eq!(names(&first.items), ["api-7d9f-abc"]);
    let token = first.metadata.continue_.expect("more api pods");
    let rest = pods.list(&ListParams::default().labels("app=api").continue_token(&token)).await?;
    assert_eq!(names(&rest.items), ["api-7d9f-def", "api-1"]);
    assert!(rest.metadata.continue_.is_none_or(|c| c.is_empty()));
    Ok(())
}

#[tokio::test]
async fn bad_and_expired_continue_tokens() -> anyhow::Result<()> {
    let (sim, client) = start().await?;
    let pods: Api<Pod> = Api::all(client);
    let status = api_error(pods.list(&ListParams::default().continue_token("garbage!")).await);
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
    let first = pods.list(&ListParams::default().limit(1)).await?;
    let token = first.metadata.continue_.expect("a continue token");
    sim.expire_continue_tokens();
    let status = api_error(pods.list(&ListParams::default().continue_token(&token)).await);
    assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
    // A new list works again.
    assert_eq!(pods.list(&ListParams::default()).await?.items.len(), 6);
    Ok(())
}

#[tokio::test]
async fn metadata_only_requests() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    let list = pods.list_metadata(&ListParams::default().labels("app=api")).await?;
    assert_eq!(names(&list.items), ["api-7d9f-abc", "api-7d9f-def"]);
    let meta = pods.get_metadata("web-1").await?;
    assert_eq!(meta.metadata.labels.and_then(|l| l.get("tier").cloned()).as_deref(), Some("frontend"));
    Ok(())
}

#[tokio::test]
async fn watch_is_refused_with_405() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let pods: Api<Pod> = Api::all(client);
    let status = api_error(pods.watch(&WatchParams::default(), "0").await.map(|_| ()));
    assert_eq!((status.code, status.reason.as_str()), (405, "MethodNotAllowed"));
    Ok(())
}
