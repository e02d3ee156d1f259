//! The controller: how the cluster reacts to writes to a Deployment (rollouts, rollbacks,
//! scaling, pods' health, status, Endpoints, Events), on a snapshot like the product demo's:
//! payment-service in production, one pod in CrashLoopBackOff, OOMKilled at 512Mi.

use aiops_core::Kind;
use aiops_core::snapshot::Snapshot;
use aiops_sim::SimCluster;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Endpoints, Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::support::client;

const NS: &str = "production";
const CAPTURED_AT: &str = "2025-11-30T10:08:12Z";
const DEPLOYMENT_UID: &str = "ce7d7e39-5fe5-43f0-bae1-3a5e545951d2";
/// The current ReplicaSet (revision 2, image 2.4.1) and its crashing pod.
const CURRENT_RS: &str = "payment-service-7d9f8b6c5d";
const OLD_POD: &str = "payment-service-7d9f8b6c5d-x2k4p";
/// The previous ReplicaSet (revision 1, image 2.3.7), scaled to 0.
const PREVIOUS_RS: &str = "payment-service-259dng7jct";

fn template(image: &str, hash: Option<&str>) -> Value {
    let mut labels = json!({"app": "payment-service"});
    if let Some(hash) = hash {
        labels["pod-template-hash"] = json!(hash);
    }
    json!({
        "metadata": {"creationTimestamp": null, "labels": labels},
        "spec": {"containers": [{
            "name": "app",
            "image": format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/payment-service:{image}"),
            "env": [{"name": "SPRING_PROFILES_ACTIVE", "value": "prod"}],
            "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
            "resources": {"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
        }], "restartPolicy": "Always"},
    })
}

fn replicaset(name: &str, uid: &str, hash: &str, image: &str, revision: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": name, "namespace": NS, "uid": uid, "generation": 1,
            "creationTimestamp": "2025-10-20T10:03:24Z",
            "labels": {"app": "payment-service", "pod-template-hash": hash},
            "annotations": {"deployment.kubernetes.io/revision": revision},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "payment-service",
                                 "uid": DEPLOYMENT_UID, "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "payment-service", "pod-template-hash": hash}},
            "template": template(image, Some(hash)),
        },
        "status": {"replicas": replicas, "observedGeneration": 1},
    })
}

fn node(name: &str, ip: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
           "status": {"addresses": [{"type": "InternalIP", "address": ip}],
                      "conditions": [{"type": "Ready", "status": "True"}]}})
}

fn objects() -> Vec<Value> {
    let mut pod_spec = template("2.4.1", Some("7d9f8b6c5d"))["spec"].clone();
    pod_spec["nodeName"] = json!("ip-10-0-12-34");
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        node("ip-10-0-12-34", "10.0.12.34"),
        node("ip-10-0-45-12", "10.0.45.12"),
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "payment-service", "namespace": NS, "uid": DEPLOYMENT_UID, "generation": 2,
                "creationTimestamp": "2025-06-23T09:42:20Z", "labels": {"app": "payment-service"},
                "annotations": {"deployment.kubernetes.io/revision": "2"},
            },
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "payment-service"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": template("2.4.1", None),
            },
            "status": {
                "observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "unavailableReplicas": 1,
                "conditions": [
                    {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                     "message": "Deployment does not have minimum availability.",
                     "lastUpdateTime": "2025-11-30T09:58:22Z", "lastTransitionTime": "2025-11-30T09:58:22Z"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": "ReplicaSet \"payment-service-7d9f8b6c5d\" has successfully progressed.",
                     "lastUpdateTime": "2025-11-28T06:35:14Z", "lastTransitionTime": "2025-06-23T09:42:21Z"},
                ],
            },
        }),
        replicaset(PREVIOUS_RS, "bdcd122f-497f-4ca7-b28d-b70ec10161ee", "259dng7jct", "2.3.7", "1", 0),
        replicaset(CURRENT_RS, "7334fc96-1cf3-4177-8a0d-5336fa92b2dd", "7d9f8b6c5d", "2.4.1", "2", 1),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": OLD_POD, "namespace": NS, "uid": "30969015-4152-4b95-b176-6d58188393d0",
                "generateName": "payment-service-7d9f8b6c5d-", "creationTimestamp": "2025-11-28T06:34:44Z",
                "labels": {"app": "payment-service", "pod-template-hash": "7d9f8b6c5d"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": CURRENT_RS,
                                     "uid": "7334fc96-1cf3-4177-8a0d-5336fa92b2dd", "controller": true}],
            },
            "spec": pod_spec,
            "status": {
                "phase": "Running", "podIP": "10.0.6.40", "hostIP": "10.0.12.34", "startTime": "2025-11-28T06:34:45Z",
                "conditions": [
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                     "message": "containers with unready status: [app]"},
                    {"type": "PodScheduled", "status": "True"},
                ],
                "containerStatuses": [{
                    "name": "app", "ready": false, "started": false, "restartCount": 5,
                    "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payment-service:2.4.1",
                    "imageID": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payment-service@sha256:0577def2",
                    "state": {"waiting": {"reason": "CrashLoopBackOff",
                                          "message": "back-off 5m0s restarting failed container=app pod=payment-service-7d9f8b6c5d-x2k4p_production(30969015-4152-4b95-b176-6d58188393d0)"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                                 "startedAt": "2025-11-30T10:07:03Z", "finishedAt": "2025-11-30T10:08:02Z"}},
                }],
            },
        }),
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "payment-service", "namespace": NS, "labels": {"app": "payment-service"}},
               "spec": {"selector": {"app": "payment-service"},
                        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}),
        json!({"apiVersion": "v1", "kind": "Endpoints",
               "metadata": {"name": "payment-service", "namespace": NS, "labels": {"app": "payment-service"}},
               "subsets": [{"notReadyAddresses": [{"ip": "10.0.6.40", "nodeName": "ip-10-0-12-34",
                                                  "targetRef": {"kind": "Pod", "name": OLD_POD, "namespace": NS,
                                                                "uid": "30969015-4152-4b95-b176-6d58188393d0"}}],
                            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}),
    ]
}

async fn start() -> anyhow::Result<(SimCluster, kube::Client)> {
    let sim = SimCluster::start(Snapshot::from_objects(objects(), CAPTURED_AT.parse().ok())).await?;
    let client = client(&sim)?;
    Ok((sim, client))
}

/// A strategic merge patch of the `app` container's memory limit, as the write tool sends it.
fn memory_patch(limit: &str) -> Patch<Value> {
    Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"limits": {"memory": limit}}}
    ]}}}}))
}

fn restart_patch(at: &str) -> Patch<Value> {
    Patch::Strategic(
        json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": at}}}}}),
    )
}

fn name_of<K: kube::Resource>(object: &K) -> String {
    object.meta().name.clone().unwrap_or_default()
}

fn annotation<K: kube::Resource>(object: &K, key: &str) -> Option<String> {
    object.meta().annotations.as_ref().and_then(|a| a.get(key).cloned())
}

fn revision<K: kube::Resource>(object: &K) -> Option<String> {
    annotation(object, "deployment.kubernetes.io/revision")
}

async fn pods(client: &kube::Client) -> anyhow::Result<Vec<Pod>> {
    Ok(Api::<Pod>::namespaced(client.clone(), NS)
        .list(&ListParams::default().labels("app=payment-service"))
        .await?
        .items)
}

async fn replicasets(client: &kube::Client) -> anyhow::Result<Vec<ReplicaSet>> {
    Ok(Api::<ReplicaSet>::namespaced(client.clone(), NS).list(&ListParams::default()).await?.items)
}

/// `(reason, message)` of the Events about an object, in the order they were recorded.
async fn events(client: &kube::Client, object: &str) -> anyhow::Result<Vec<(String, String)>> {
    let lp = ListParams::default().fields(&format!("involvedObject.name={object}"));
    let mut items = Api::<Event>::namespaced(client.clone(), NS).list(&lp).await?.items;
    items.sort_by_key(|e| e.metadata.resource_version.as_deref().and_then(|rv| rv.parse::<u64>().ok()));
    Ok(items.into_iter().map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default())).collect())
}

/// The state of the `app` container: `(ready, restartCount, waiting reason, last terminated reason)`.
fn app_state(pod: &Pod) -> (bool, i32, Option<String>, Option<String>) {
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.clone()).unwrap_or_default();
    let Some(app) = statuses.into_iter().find(|s| s.name == "app") else { return (false, -1, None, None) };
    let waiting = app.state.and_then(|s| s.waiting).and_then(|w| w.reason);
    let last = app.last_state.and_then(|s| s.terminated).and_then(|t| t.reason);
    (app.ready, app.restart_count, waiting, last)
}

fn condition(deployment: &Deployment, kind: &str) -> Option<(String, Option<String>)> {
    let conditions = deployment.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .find(|c| c.type_.as_deref() == Some(kind))
        .map(|c| (c.status.clone().unwrap_or_default(), c.reason.clone()))
}

/// `(ready, not ready)` pod names in the Service's Endpoints.
async fn endpoints(client: &kube::Client) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let endpoints = Api::<Endpoints>::namespaced(client.clone(), NS).get("payment-service").await?;
    let names = |addresses: Option<Vec<k8s_openapi::api::core::v1::EndpointAddress>>| -> Vec<String> {
        addresses.unwrap_or_default().into_iter().filter_map(|a| a.target_ref.and_then(|r| r.name)).collect()
    };
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    for subset in endpoints.subsets.unwrap_or_default() {
        ready.extend(names(subset.addresses));
        not_ready.extend(names(subset.not_ready_addresses));
    }
    Ok((ready, not_ready))
}

#[tokio::test]
async fn raising_the_memory_limit_of_an_oom_killed_deployment_recovers_it() -> anyhow::Result<()> {
    let (sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let answer = deployments.patch("payment-service", &PatchParams::default(), &memory_patch("1Gi")).await?;
    // The answer is the Deployment as written; the controller's writes come after it.
    let answer_rv: u64 = answer.metadata.resource_version.as_deref().unwrap_or_default().parse()?;
    assert!(answer_rv < sim.resource_version());

    // A new ReplicaSet at revision 3, owned by the Deployment; the previous ones at 0.
    let sets = replicasets(&client).await?;
    assert_eq!(sets.len(), 3, "{:?}", sets.iter().map(name_of).collect::<Vec<_>>());
    let new_rs = sets.iter().find(|rs| ![CURRENT_RS, PREVIOUS_RS].contains(&name_of(*rs).as_str())).expect("new rs");
    let new_rs_name = name_of(new_rs);
    let hash = new_rs_name.strip_prefix("payment-service-").expect("named after the deployment").to_string();
    assert_eq!(hash.len(), 10);
    assert_eq!(revision(new_rs).as_deref(), Some("3"));
    let owner = &new_rs.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!((owner.kind.as_str(), owner.uid.as_str(), owner.controller), ("Deployment", DEPLOYMENT_UID, Some(true)));
    let labels = new_rs.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("pod-template-hash"), Some(&hash));
    let selector = new_rs.spec.selector.match_labels.clone().unwrap_or_default();
    assert_eq!(selector.get("pod-template-hash"), Some(&hash));
    assert_eq!(new_rs.spec.replicas, Some(1));
    assert_eq!(new_rs.status.as_ref().and_then(|s| s.ready_replicas), Some(1));
    let current = sets.iter().find(|rs| name_of(*rs) == CURRENT_RS).expect("current rs");
    assert_eq!(current.spec.replicas, Some(0));
    assert_eq!(current.status.as_ref().map(|s| s.replicas), Some(0));

    // The crashing pod is gone; one new pod runs, ready, with the new limit.
    let pods = pods(&client).await?;
    assert_eq!(pods.len(), 1, "{:?}", pods.iter().map(name_of).collect::<Vec<_>>());
    let pod = &pods[0];
    let pod_name = name_of(pod);
    let suffix = pod_name.strip_prefix(&format!("{new_rs_name}-")).expect("named after the replica set");
    assert_eq!(suffix.len(), 5);
    assert_eq!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Running"));
    assert_eq!(app_state(pod), (true, 0, None, None));
    let ready =
        pod.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    assert_eq!(ready.map(|c| c.status.as_str()), Some("True"));
    let limits = pod.spec.as_ref().and_then(|s| s.containers[0].resources.clone()).and_then(|r| r.limits);
    assert_eq!(limits.and_then(|l| l.get("memory").map(|q| q.0.clone())).as_deref(), Some("1Gi"));
    assert_eq!(pod.metadata.owner_references.as_ref().map(|o| o[0].name.clone()), Some(new_rs_name.clone()));
    assert!(Api::<Pod>::namespaced(client.clone(), NS).get_opt(OLD_POD).await?.is_none());
    // Its start time is the cluster's clock: after the capture, not after now.
    let raw = sim.get(Kind::Pod, Some(NS), &pod_name).expect("stored");
    let started: Timestamp = raw["status"]["startTime"].as_str().unwrap_or_default().parse()?;
    assert!(sim.captured_at() <= started && started <= sim.now(), "{started}");
    assert!(sim.now() < sim.captured_at() + SignedDuration::from_secs(600));

    // The Deployment is available, 1/1, at revision 3.
    let deployment = deployments.get("payment-service").await?;
    assert_eq!(revision(&deployment).as_deref(), Some("3"));
    let status = deployment.status.clone().expect("status");
    assert_eq!(status.observed_generation, deployment.metadata.generation);
    assert_eq!(
        (status.replicas, status.updated_replicas, status.ready_replicas, status.available_replicas),
        (Some(1), Some(1), Some(1), Some(1))
    );
    assert_eq!(status.unavailable_replicas, None);
    assert_eq!(condition(&deployment, "Available"), Some(("True".into(), Some("MinimumReplicasAvailable".into()))));
    assert_eq!(condition(&deployment, "Progressing"), Some(("True".into(), Some("NewReplicaSetAvailable".into()))));

    // The Service sends traffic to the new pod.
    assert_eq!(endpoints(&client).await?, (vec![pod_name.clone()], vec![]));

    // Events, as a real cluster records them.
    let on_deployment = events(&client, "payment-service").await?;
    assert_eq!(
        on_deployment,
        [
            ("ScalingReplicaSet".to_string(), format!("Scaled up replica set {new_rs_name} from 0 to 1")),
            ("ScalingReplicaSet".to_string(), format!("Scaled down replica set {CURRENT_RS} from 1 to 0")),
        ]
    );
    assert_eq!(events(&client, &new_rs_name).await?, [("SuccessfulCreate".into(), format!("Created pod: {pod_name}"))]);
    assert_eq!(events(&client, CURRENT_RS).await?, [("SuccessfulDelete".into(), format!("Deleted pod: {OLD_POD}"))]);
    assert_eq!(events(&client, OLD_POD).await?, [("Killing".into(), "Stopping container app".into())]);
    let reasons: Vec<String> = events(&client, &pod_name).await?.into_iter().map(|(r, _)| r).collect();
    assert_eq!(reasons, ["Scheduled", "Pulled", "Created", "Started"]);
    let event = sim
        .objects()
        .into_iter()
        .find(|o| o["kind"] == "Event" && o["involvedObject"]["name"] == pod_name.as_str())
        .expect("event");
    let last: Timestamp = event["lastTimestamp"].as_str().unwrap_or_default().parse()?;
    assert!(sim.captured_at() <= last && last <= sim.now());
    Ok(())
}

#[tokio::test]
async fn a_dry_run_changes_nothing() -> anyhow::Result<()> {
    let (sim, client) = start().await?;
    let before = (sim.objects(), sim.resource_version());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let preview = deployments.patch("payment-service", &PatchParams::default().dry_run(), &memory_patch("1Gi")).await?;
    assert_eq!(preview.metadata.generation, Some(3), "the would-be result");
    deployments
        .patch("payment-service", &PatchParams::default().dry_run(), &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await?;
    assert_eq!((sim.objects(), sim.resource_version()), before);
    assert_eq!(pods(&client).await?.iter().map(name_of).collect::<Vec<_>>(), [OLD_POD]);
    Ok(())
}

#[tokio::test]
async fn a_restart_does_not_fix_a_crash_but_more_memory_does() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    deployments.patch("payment-service", &PatchParams::default(), &restart_patch("2025-11-30T10:10:00Z")).await?;

    let pods_now = pods(&client).await?;
    assert_eq!(pods_now.len(), 1);
    let pod = &pods_now[0];
    assert_ne!(name_of(pod), OLD_POD);
    assert_eq!(app_state(pod), (false, 1, Some("CrashLoopBackOff".into()), Some("OOMKilled".into())));
    let app = pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()).map(|s| s[0].clone()).expect("app");
    assert_eq!(app.last_state.and_then(|s| s.terminated).map(|t| t.exit_code), Some(137));
    assert_eq!(
        annotation(pod, "kubectl.kubernetes.io/restartedAt").as_deref(),
        Some("2025-11-30T10:10:00Z"),
        "the pod carries the template's annotation"
    );
    let deployment = deployments.get("payment-service").await?;
    assert_eq!(revision(&deployment).as_deref(), Some("3"));
    assert_eq!(condition(&deployment, "Available"), Some(("False".into(), Some("MinimumReplicasUnavailable".into()))));
    assert_eq!(condition(&deployment, "Progressing"), Some(("False".into(), Some("ProgressDeadlineExceeded".into()))));
    assert_eq!(deployment.status.as_ref().and_then(|s| s.unavailable_replicas), Some(1));
    assert_eq!(endpoints(&client).await?, (vec![], vec![name_of(pod)]));
    let reasons: Vec<String> = events(&client, &name_of(pod)).await?.into_iter().map(|(r, _)| r).collect();
    assert_eq!(reasons, ["Scheduled", "Pulled", "Created", "Started", "BackOff"]);

    // The crash of the restarted pod is the evidence for the next rollout: more memory fixes it.
    deployments.patch("payment-service", &PatchParams::default(), &memory_patch("768Mi")).await?;
    let pods_now = pods(&client).await?;
    assert_eq!(pods_now.len(), 1);
    assert_eq!(app_state(&pods_now[0]), (true, 0, None, None));
    let deployment = deployments.get("payment-service").await?;
    assert_eq!(revision(&deployment).as_deref(), Some("4"));
    assert_eq!(condition(&deployment, "Progressing"), Some(("True".into(), Some("NewReplicaSetAvailable".into()))));
    Ok(())
}

#[tokio::test]
async fn scaling_adds_and_removes_pods_of_the_current_replicaset() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    deployments
        .patch("payment-service", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await?;

    let scaled = pods(&client).await?;
    assert_eq!(scaled.len(), 3);
    assert!(scaled.iter().all(|p| name_of(p).starts_with(&format!("{CURRENT_RS}-"))));
    // Same template, same fate: the new pods are OOMKilled like the old one.
    for pod in scaled.iter().filter(|p| name_of(*p) != OLD_POD) {
        assert_eq!(app_state(pod), (false, 1, Some("CrashLoopBackOff".into()), Some("OOMKilled".into())));
    }
    let sets = replicasets(&client).await?;
    assert_eq!(sets.len(), 2, "no new replica set");
    let current = sets.iter().find(|rs| name_of(*rs) == CURRENT_RS).expect("current");
    assert_eq!(current.spec.replicas, Some(3));
    assert_eq!(current.status.as_ref().map(|s| s.replicas), Some(3));
    let deployment = deployments.get("payment-service").await?;
    assert_eq!(revision(&deployment).as_deref(), Some("2"));
    let status = deployment.status.expect("status");
    assert_eq!((status.replicas, status.ready_replicas, status.unavailable_replicas), (Some(3), None, Some(3)));
    assert_eq!(endpoints(&client).await?.1.len(), 3);
    assert_eq!(
        events(&client, "payment-service").await?,
        [("ScalingReplicaSet".into(), format!("Scaled up replica set {CURRENT_RS} from 1 to 3"))]
    );

    // Down to 1 through the scale subresource: the newest pods go first.
    deployments
        .patch_scale("payment-service", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 1}})))
        .await?;
    assert_eq!(pods(&client).await?.iter().map(name_of).collect::<Vec<_>>(), [OLD_POD]);
    assert_eq!(endpoints(&client).await?, (vec![], vec![OLD_POD.to_string()]));
    Ok(())
}

#[tokio::test]
async fn a_rollback_reuses_the_previous_replicaset() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    // As the rollback tool does: the previous ReplicaSet's template, read through a typed
    // client, without its pod-template-hash label.
    let previous = Api::<ReplicaSet>::namespaced(client.clone(), NS).get(PREVIOUS_RS).await?;
    let mut template = serde_json::to_value(previous.spec.template.expect("template"))?;
    template["metadata"]["labels"].as_object_mut().expect("labels").remove("pod-template-hash");
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/template", "value": template}]))?;
    deployments.patch("payment-service", &PatchParams::default(), &Patch::Json::<()>(ops)).await?;

    let sets = replicasets(&client).await?;
    assert_eq!(sets.len(), 2, "the previous replica set is reused");
    let reused = sets.iter().find(|rs| name_of(*rs) == PREVIOUS_RS).expect("previous");
    assert_eq!(revision(reused).as_deref(), Some("3"));
    assert_eq!(annotation(reused, "deployment.kubernetes.io/revision-history").as_deref(), Some("1"));
    assert_eq!(reused.spec.replicas, Some(1));
    let current = sets.iter().find(|rs| name_of(*rs) == CURRENT_RS).expect("current");
    assert_eq!(current.spec.replicas, Some(0));

    let pods_now = pods(&client).await?;
    assert_eq!(pods_now.len(), 1);
    assert!(name_of(&pods_now[0]).starts_with(&format!("{PREVIOUS_RS}-")), "{}", name_of(&pods_now[0]));
    assert_eq!(app_state(&pods_now[0]), (true, 0, None, None), "another image is assumed to work");
    let deployment = deployments.get("payment-service").await?;
    assert_eq!(revision(&deployment).as_deref(), Some("3"));
    assert_eq!(deployment.status.and_then(|s| s.available_replicas), Some(1));
    Ok(())
}

#[tokio::test]
async fn the_same_writes_give_the_same_cluster() -> anyhow::Result<()> {
    async fn run() -> anyhow::Result<Vec<(String, Option<String>, Option<String>)>> {
        let (_sim, client) = start().await?;
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
        deployments.patch("payment-service", &PatchParams::default(), &memory_patch("1Gi")).await?;
        deployments
            .patch("payment-service", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 2}})))
            .await?;
        Ok(pods(&client)
            .await?
            .into_iter()
            .map(|p| {
                let ip = p.status.as_ref().and_then(|s| s.pod_ip.clone());
                (name_of(&p), p.metadata.uid, ip)
            })
            .collect())
    }
    let first = run().await?;
    assert_eq!(first.len(), 2);
    assert_eq!(first, run().await?);
    Ok(())
}

#[tokio::test]
async fn writes_that_leave_the_spec_alone_do_not_roll_out() -> anyhow::Result<()> {
    let (sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let labelled = deployments
        .patch(
            "payment-service",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "pay"}}})),
        )
        .await?;
    assert_eq!(labelled.metadata.resource_version, Some(sim.resource_version().to_string()), "no controller write");
    deployments
        .patch_status(
            "payment-service",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 1}})),
        )
        .await?;
    assert_eq!(pods(&client).await?.iter().map(name_of).collect::<Vec<_>>(), [OLD_POD]);
    assert_eq!(replicasets(&client).await?.len(), 2);
    Ok(())
}
