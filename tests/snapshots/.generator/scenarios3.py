"""Scenarios beyond the first 18."""
from scenarios import (scenario, finding, expect, production_apps, failed_scheduling, cron_minutes, pull_attempts)
from scenarios2 import crash_status, go_json, pino, lose_node, pod_on_lost_node, lose_node_with_replacements
from base import base, healthy_deploy, java_app, go_app, node_app, spread, NODES3
from klib import (Cluster, ctr, env, probe, running, waiting, terminated, last_term, loop_until_now, godur, ago_secs, safe, sha,
                  hexs, mkuid, ECR, EKS_ECR, REGION, ACCOUNT)
from logs import ts, spring_line, go_ts

NOT_HELPFUL = "Preemption is not helpful for scheduling."


def new_pending_deploy(c, ns, name, cont, age, msg, rev=1, created=None, old=None, **rev_kw):
    """A Deployment whose single new pod cannot be scheduled."""
    revs = []
    if old:
        revs.append(old)
    r = dict(rev=rev, containers=[cont], replicas=1, created=age, pods=[dict(node=None, created=age - 1, unschedulable=msg)])
    r.update(rev_kw)
    revs.append(r)
    d = c.deployment(ns, name, created=created or age, progress="deadline" if age > 600 else "progressing",
                     progress_since=age - 600 if age > 600 else age, available_since=age if not old else None, revisions=revs)
    p = d["pods"][-1][0]
    c.scaled(d["deploy"], d["rs"][-1], 0, 1, age)
    c.rs_created(d["rs"][-1], p)
    failed_scheduling(c, p, msg, age - 1)
    return d, p


# ============================================================ node selector matches no node
@scenario
def pending_node_selector():
    c = Cluster("pending-node-selector", "2025-12-19T10:14:22Z")
    names = base(c)
    production_apps(c, names)
    ns = "production"
    cont = java_app("report-renderer", "1.2.0", mem_req="2Gi", mem_lim="3Gi", cpu_req="500m")
    msg = f"0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 {NOT_HELPFUL}"
    d, p = new_pending_deploy(c, ns, "report-renderer", cont, 12 * 60 + 4, msg, node_selector={"eks.amazonaws.com/nodegroup": "highmem"})
    return c, expect(
        "report-renderer has been Pending since it was deployed. Why?", {"kind": "Deployment", "namespace": ns, "name": "report-renderer"}, False,
        [dict(finding("Pod", ns, p["metadata"]["name"], "error", "NodeSelectorMismatch", ["eks.amazonaws.com/nodegroup", "highmem"]),
              also_accept=[{"kind": "Deployment", "name": "report-renderer"}])],
        must_not=["restart_deployment", "scale_deployment", "set_container_resources", "rollback_deployment"],
        should_mention=["general"])


# ============================================================ taint not tolerated
@scenario
def pending_untolerated_taint():
    c = Cluster("pending-untolerated-taint", "2025-12-19T16:40:05Z")
    gpu = ("10.0.91.57", "eu-west-1c", dict(itype="g5.xlarge", nodegroup="gpu", created="3d",
                                            taints=[{"effect": "NoSchedule", "key": "nvidia.com/gpu", "value": "true"}],
                                            labels={"nvidia.com/gpu.present": "true"}))
    names = base(c, namespaces=("production", "ml"), extra_nodes=[gpu])
    production_apps(c, names[:3])
    ns = "ml"
    cont = ctr("embedder", f"{ECR}/image-embedder:0.4.1", port=8000, req={"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"},
               lim={"memory": "12Gi", "nvidia.com/gpu": "1"}, readiness=probe("/health", 8000, delay=60))
    msg = (f"0/4 nodes are available: 1 node(s) had untolerated taint {{nvidia.com/gpu: true}}, 3 node(s) didn't match Pod's node "
           f"affinity/selector. preemption: 0/4 nodes are available: 4 {NOT_HELPFUL}")
    d, p = new_pending_deploy(c, ns, "image-embedder", cont, 23 * 60 + 31, msg, node_selector={"eks.amazonaws.com/nodegroup": "gpu"})
    c.service(ns, "image-embedder", {"app": "image-embedder"}, [("http", 80, 8000)], created=23 * 60 + 31, labels={"app": "image-embedder"})
    return c, expect(
        "Why is image-embedder not scheduled on the GPU node?", {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"]}, False,
        [dict(finding("Pod", ns, p["metadata"]["name"], "error", "UntoleratedTaint", ["nvidia.com/gpu", "toleration"]),
              also_accept=[{"kind": "Deployment", "name": "image-embedder"}])],
        must_not=["restart_deployment", "scale_deployment", "set_container_resources", "rollback_deployment"])


# ============================================================ service account missing
def failed_create(c, d, rs, messages, age, combined_count=0):
    msgs = list(messages)
    for i, m in enumerate(msgs[:10]):
        c.event(rs, "FailedCreate", f"Error creating: {m}", type_="Warning", first=age - [0, 1, 1, 2, 4, 8, 16, 32, 64, 128][i],
                component="replicaset-controller")
    if combined_count:
        c.event(rs, "FailedCreate", f"(combined from similar events): Error creating: {msgs[-1]}", type_="Warning", count=combined_count,
                first=age - 250, last=30, component="replicaset-controller")


@scenario
def pending_missing_serviceaccount():
    c = Cluster("pending-missing-serviceaccount", "2025-12-20T09:03:33Z")
    names = base(c, namespaces=("production", "security"))
    production_apps(c, names)
    ns = "security"
    age = 16 * 60 + 12
    cont = go_app("audit-exporter", "0.8.0", port=9102, mem_req="64Mi", mem_lim="128Mi", cpu_req="50m",
                  env_=[env("AUDIT_LOG_GROUP", f"/aws/eks/{c.cluster_name}/cluster")])
    rs_name = f"audit-exporter-{safe(f'{ns}/audit-exporter/1', 10)}"
    msg = f'pods "{rs_name}-" is forbidden: error looking up service account {ns}/audit-exporter: serviceaccount "audit-exporter" not found'
    cond = {"lastTransitionTime": age - 1, "message": msg, "reason": "FailedCreate", "status": "True", "type": "ReplicaFailure"}
    d = c.deployment(ns, "audit-exporter", created=age, progress="deadline", progress_since=age - 600, available_since=age,
                     revisions=[dict(rev=1, containers=[cont], replicas=1, created=age, sa="audit-exporter", pods=[],
                                     rs_conditions=[cond])],
                     extra_conditions=[dict(cond, lastUpdateTime=age - 1)])
    dep = d["deploy"]
    # kubectl prints conditions in the order the controller stored them: Available, ReplicaFailure, Progressing
    conds = dep["status"]["conditions"]
    dep["status"]["conditions"] = [conds[0], conds[2], conds[1]]
    dep["status"]["unavailableReplicas"] = 1
    rs = d["rs"][0]
    c.scaled(dep, rs, 0, 1, age)
    failed_create(c, d, rs, [msg] * 10, age, combined_count=0)
    # the identical messages are counted on one event instead
    evs = [o for o in c.objs if o["kind"] == "Event" and o["reason"] == "FailedCreate"]
    for e in evs[1:]:
        c.objs.remove(e)
    evs[0]["count"] = 17
    evs[0]["lastTimestamp"] = c.t(4 * 60 + 51)
    return c, expect(
        "I deployed audit-exporter but no pod was ever created. Why?", {"kind": "Deployment", "namespace": ns, "name": "audit-exporter"}, False,
        [dict(finding("Deployment", ns, "audit-exporter", "error", "ServiceAccountNotFound", ["audit-exporter", "serviceaccount"]),
              also_accept=[{"kind": "ReplicaSet", "name": rs["metadata"]["name"]}])],
        must_not=["restart_deployment", "scale_deployment", "set_container_resources", "rollback_deployment"])


# ============================================================ quota requires limits
def quota(c, ns, name, hard, used, created="200d"):
    return c.generic("ResourceQuota", ns, name, {"spec": {"hard": hard}, "status": {"hard": hard, "used": used}}, created=created)


@scenario
def pending_resourcequota():
    c = Cluster("pending-resourcequota", "2025-12-20T14:26:51Z")
    names = base(c, namespaces=("production", "team-a"))
    production_apps(c, names)
    ns = "team-a"
    quota(c, ns, "compute-resources", {"limits.cpu": "16", "limits.memory": "32Gi", "pods": "40", "requests.cpu": "8",
                                       "requests.memory": "16Gi"},
          {"limits.cpu": "2", "limits.memory": "2Gi", "pods": "2", "requests.cpu": "500m", "requests.memory": "1Gi"})
    healthy_deploy(c, ns, "search-api", 2, [go_app("search-api", "2.3.1", mem_req="512Mi", mem_lim="1Gi", cpu_req="250m", cpu_lim="1")],
                   names, created="50d", rev=3, rs_created="10d")
    cont = ctr("indexer", f"{ECR}/search-indexer:1.0.0", port=8080, env=[env("OPENSEARCH_URL", "https://search-team-a.eu-west-1.es.amazonaws.com")])
    age = 13 * 60 + 45
    rs_name = f"search-indexer-{safe(f'{ns}/search-indexer/1', 10)}"
    q = "failed quota: compute-resources: must specify limits.cpu for: indexer; limits.memory for: indexer; requests.cpu for: indexer; requests.memory for: indexer"
    msgs = [f'pods "{rs_name}-{safe(str(i) + "q", 5)}" is forbidden: {q}' for i in range(11)]
    cond = {"lastTransitionTime": age - 1, "message": msgs[0], "reason": "FailedCreate", "status": "True", "type": "ReplicaFailure"}
    d = c.deployment(ns, "search-indexer", created=age, progress="deadline", progress_since=age - 600, available_since=age,
                     revisions=[dict(rev=1, containers=[cont], replicas=2, created=age, pods=[], rs_conditions=[cond])],
                     extra_conditions=[dict(cond, lastUpdateTime=age - 1)])
    dep = d["deploy"]
    conds = dep["status"]["conditions"]
    dep["status"]["conditions"] = [conds[0], conds[2], conds[1]]
    dep["status"]["unavailableReplicas"] = 2
    c.scaled(dep, d["rs"][0], 0, 2, age)
    failed_create(c, d, d["rs"][0], msgs, age, combined_count=9)
    return c, expect(
        "search-indexer in team-a has 0 pods. What's blocking it?", {"kind": "Deployment", "namespace": ns, "name": "search-indexer"}, False,
        [dict(finding("Deployment", ns, "search-indexer", "error", "QuotaRequiresResources", ["compute-resources", "must specify"]),
              also_accept=[{"kind": "ResourceQuota", "name": "compute-resources"}])],
        must_not=["restart_deployment", "scale_deployment", "rollback_deployment"])


# ============================================================ quota exceeded on scale-up
@scenario
def replicaset_failedcreate_quota():
    c = Cluster("replicaset-failedcreate-quota", "2025-12-21T11:47:09Z")
    names = base(c, namespaces=("production", "team-b"), metrics_server=True)
    production_apps(c, names)
    ns = "team-b"
    quota(c, ns, "team-b-quota", {"pods": "30", "requests.cpu": "12", "requests.memory": "16Gi"},
          {"pods": "10", "requests.cpu": "4300m", "requests.memory": "16Gi"})
    healthy_deploy(c, ns, "feed-worker", 4, [go_app("feed-worker", "1.7.2", mem_req="2Gi", mem_lim="2Gi", cpu_req="500m")],
                   names, created="60d", rev=5, rs_created="7d", svc=False)
    healthy_deploy(c, ns, "feed-cache", 1, [ctr("redis", "redis:7.2.6-alpine", port=6379, port_name="redis",
                                                req={"cpu": "200m", "memory": "3Gi"}, lim={"memory": "3Gi"})],
                   names, created="60d", rs_created="30d", target_port="redis")
    cont = go_app("feed-api", "2.11.0", mem_req="1Gi", mem_lim="1Gi", cpu_req="300m")
    scale = 9 * 60 + 2
    rs_age = ago_secs("5d")
    pods = [dict(node=spread(names, i), created=rs_age, statuses=[running(rs_age - 7 - 11 * i)]) for i in range(4)]
    pods.append(dict(node=names[1], created=scale - 1, statuses=[running(scale - 6)]))
    rs_name = f"feed-api-{safe(f'{ns}/feed-api/14', 10)}"
    msgs = [f'pods "{rs_name}-{safe(str(i) + "x", 5)}" is forbidden: exceeded quota: team-b-quota, requested: requests.memory=1Gi, '
            f'used: requests.memory=16Gi, limited: requests.memory=16Gi' for i in range(11)]
    cond = {"lastTransitionTime": scale - 2, "message": msgs[0], "reason": "FailedCreate", "status": "True", "type": "ReplicaFailure"}
    d = c.deployment(ns, "feed-api", created="60d", replicas=8,
                     revisions=[dict(rev=14, containers=[cont], replicas=8, created="5d", pods=pods, rs_conditions=[cond], generation=2)],
                     extra_conditions=[dict(cond, lastUpdateTime=scale - 2)], generation=15)
    d["deploy"]["status"]["conditions"][0].update({"lastTransitionTime": c.t(scale - 1), "lastUpdateTime": c.t(scale - 1)})
    dep = d["deploy"]
    conds = dep["status"]["conditions"]
    dep["status"]["conditions"] = [conds[0], conds[2], conds[1]]
    c.service(ns, "feed-api", {"app": "feed-api"}, [("http", 80, "http")], created="60d", labels={"app": "feed-api"})
    c.scaled(dep, d["rs"][0], 4, 8, scale)
    c.rs_created(d["rs"][0], d["pods"][0][4])
    c.scheduled(d["pods"][0][4])
    c.start_events(d["pods"][0][4], "app", scale - 6, present=True)
    failed_create(c, d, d["rs"][0], msgs, scale - 1, combined_count=7)
    hpa = c.generic("HorizontalPodAutoscaler", ns, "feed-api", {
        "spec": {"maxReplicas": 12, "metrics": [{"resource": {"name": "cpu", "target": {"averageUtilization": 65, "type": "Utilization"}},
                                                 "type": "Resource"}],
                 "minReplicas": 4, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "feed-api"}},
        "status": {"conditions": [
            {"lastTransitionTime": c.t("60d"), "message": "recommended size matches current size", "reason": "ReadyForNewScale",
             "status": "True", "type": "AbleToScale"},
            {"lastTransitionTime": c.t("5d"), "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
             "reason": "ValidMetricFound", "status": "True", "type": "ScalingActive"},
            {"lastTransitionTime": c.t(scale + 3600), "message": "the desired count is within the acceptable range", "reason": "DesiredWithinRange",
             "status": "False", "type": "ScalingLimited"}],
            "currentMetrics": [{"resource": {"current": {"averageUtilization": 118, "averageValue": "354m"}, "name": "cpu"}, "type": "Resource"}],
            "currentReplicas": 8, "desiredReplicas": 8, "lastScaleTime": c.t(scale)}}, created="60d")
    c.event(hpa, "SuccessfulRescale", "New size: 8; reason: cpu resource utilization (percentage of request) above target", first=scale,
            component="horizontal-pod-autoscaler")
    return c, expect(
        "feed-api is overloaded and the autoscaler asked for 8 replicas, but only 5 run. Why?",
        {"kind": "Deployment", "namespace": ns, "name": "feed-api"}, False,
        [dict(finding("Deployment", ns, "feed-api", "error", "QuotaExceeded", ["team-b-quota", "requests.memory", "16Gi"]),
              also_accept=[{"kind": "ReplicaSet", "name": rs_name}, {"kind": "ResourceQuota", "name": "team-b-quota", "reason": "QuotaExhausted"}])],
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment"])


# ============================================================ ingress backend missing
@scenario
def ingress_missing_backend():
    c = Cluster("ingress-missing-backend", "2025-12-22T13:58:40Z")
    names = base(c, lb_controller=True)
    production_apps(c, names, cart=True)
    ns = "production"
    healthy_deploy(c, ns, "gateway-api", 2, [go_app("gateway-api", "1.14.0")], names, created="90d", rev=7, rs_created="3d")
    age = 26 * 60 + 3
    ing = c.generic("Ingress", ns, "storefront", {
        "spec": {"ingressClassName": "alb", "rules": [{"host": "shop.example.com", "http": {"paths": [
            {"backend": {"service": {"name": "api-gateway", "port": {"number": 80}}}, "path": "/api", "pathType": "Prefix"},
            {"backend": {"service": {"name": "checkout-api", "port": {"number": 80}}}, "path": "/checkout", "pathType": "Prefix"},
            {"backend": {"service": {"name": "cart-api", "port": {"number": 80}}}, "path": "/cart", "pathType": "Prefix"}]}}]},
        "status": {"loadBalancer": {"ingress": [{"hostname": "k8s-producti-storefro-4f1c2b9a7e-1183920044.eu-west-1.elb.amazonaws.com"}]}}},
        created="120d", generation=4, finalizers=["ingress.k8s.aws/resources"],
        annotations={"alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/target-type": "ip",
                     "alb.ingress.kubernetes.io/healthcheck-path": "/healthz"})
    c.event(ing, "FailedBuildModel", 'Failed build model due to services "api-gateway" not found', type_="Warning",
            count=19, first=age, last=41, component="ingress")
    return c, expect(
        "shop.example.com/api returns errors since the ingress change. What's wrong?", {"kind": "Ingress", "namespace": ns, "name": "storefront"}, False,
        [finding("Ingress", ns, "storefront", "error", "IngressBackendMissing", ["api-gateway"])],
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment", "set_container_resources"],
        should_mention=["gateway-api"])


# ============================================================ HPA cannot compute
@scenario
def hpa_metrics_unavailable():
    c = Cluster("hpa-metrics-unavailable", "2025-12-23T15:12:00Z")
    names = base(c, namespaces=("production", "web"), metrics_server=True)
    production_apps(c, names)
    ns = "web"
    cont = node_app("web-frontend", "8.4.0", mem_req="256Mi", mem_lim="512Mi", cpu_req=None)
    cont["resources"] = {"limits": {"memory": "512Mi"}, "requests": {"memory": "256Mi"}}
    d = healthy_deploy(c, ns, "web-frontend", 2, [cont], names, created="30d", rev=4, rs_created="2d")
    p0 = d["pods"][0][0]["metadata"]["name"]
    msg = f"failed to get cpu utilization: missing request for cpu in container app of Pod {p0}"
    hpa = c.generic("HorizontalPodAutoscaler", ns, "web-frontend", {
        "spec": {"maxReplicas": 10, "metrics": [{"resource": {"name": "cpu", "target": {"averageUtilization": 60, "type": "Utilization"}},
                                                 "type": "Resource"}],
                 "minReplicas": 2, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-frontend"}},
        "status": {"conditions": [
            {"lastTransitionTime": c.t("30d"), "message": "the HPA controller was able to get the target's current scale",
             "reason": "SucceededGetScale", "status": "True", "type": "AbleToScale"},
            {"lastTransitionTime": c.t("2d"), "message": f"the HPA was unable to compute the replica count: {msg}",
             "reason": "FailedGetResourceMetric", "status": "False", "type": "ScalingActive"}],
            "currentMetrics": [{"type": ""}], "currentReplicas": 2, "desiredReplicas": 2}}, created="30d")
    c.event(hpa, "FailedGetResourceMetric", msg, type_="Warning", count=240, first=3590, last=12, component="horizontal-pod-autoscaler")
    c.event(hpa, "FailedComputeMetricsReplicas",
            f"invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: {msg}", type_="Warning",
            count=240, first=3590, last=12, component="horizontal-pod-autoscaler")
    return c, expect(
        "web-frontend is slow under load but the HPA never scales it. Why?",
        {"kind": "HorizontalPodAutoscaler", "namespace": ns, "name": "web-frontend"}, False,
        [dict(finding("HorizontalPodAutoscaler", ns, "web-frontend", "error", "HPAMissingRequests", ["request", "cpu"]),
              also_accept=[{"kind": "HorizontalPodAutoscaler", "name": "web-frontend", "reason": "HPAMetricsUnavailable"}])],
        action={"tool": "set_container_resources", "args": {"namespace": ns, "deployment": "web-frontend", "container": "app",
                                                            "cpu_request": "200m"}},
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment"])


# ============================================================ PDB blocks a node drain
@scenario
def pdb_blocking_drain():
    c = Cluster("pdb-blocking-drain", "2025-12-24T09:30:15Z")
    drain = 35 * 60 + 20
    new_node = ("10.0.99.14", "eu-west-1c", dict(created=drain + 190))
    names = base(c, nodes=NODES3[:2] + [new_node[:2]], node_kw={"10.0.99.14": new_node[2]})
    c.node_boot_events(names[2], drain + 185)
    old = names[1]
    n = c.nodes[old]
    n["spec"]["unschedulable"] = True
    n["spec"]["taints"] = [{"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable", "timeAdded": c.t(drain)}]
    c.event(n, "NodeNotSchedulable", f"Node {old} status is now: NodeNotSchedulable", first=drain)
    ns = "production"
    # apps already moved off the cordoned node: their replicas on it were re-created on the new node
    c.secret(ns, "orders-db", ["url"], "170d")
    for name, cont, reps in (("checkout-api", java_app("checkout-api", "1.19.2", mem_req="768Mi", mem_lim="1536Mi", cpu_req="500m"), 3),
                             ("orders-api", go_app("orders-api", "3.0.4", mem_req="128Mi", mem_lim="256Mi", cpu_req="200m",
                                                   env_=[env("DATABASE_URL", secret=("orders-db", "url"))]), 2)):
        rs_age = ago_secs("6d")
        pods = [dict(node=names[0], created=rs_age, statuses=[running(rs_age - 9)])]
        pods += [dict(node=names[2], created=drain - 20 - 13 * i, statuses=[running(drain - 30 - 13 * i)]) for i in range(reps - 1)]
        d = c.deployment(ns, name, created="150d", revisions=[dict(rev=4, containers=[cont], replicas=reps, created="6d", pods=pods)])
        c.service(ns, name, {"app": name}, [("http", 80, "http")], created="150d", labels={"app": name})
        for p in d["pods"][0][1:]:
            c.rs_created(d["rs"][0], p)
            c.scheduled(p)
            c.start_events(p, "app", c.age(p) - 10, pull_secs=3.3)
    cont = ctr("proxy", f"{ECR}/ledger-db-proxy:2.0.3", port=5432, port_name="postgres", req={"cpu": "100m", "memory": "128Mi"},
               lim={"memory": "256Mi"}, readiness=probe(kind="tcp", port=5432, period=5))
    d = c.deployment(ns, "ledger-db-proxy", created="200d",
                     revisions=[dict(rev=2, containers=[cont], replicas=2, created="40d",
                                     pods=[dict(node=names[0], statuses=[running(ago_secs("40d") - 5)]),
                                           dict(node=old, statuses=[running(ago_secs("40d") - 9)])])])
    c.service(ns, "ledger-db-proxy", {"app": "ledger-db-proxy"}, [("postgres", 5432, "postgres")], created="200d",
              labels={"app": "ledger-db-proxy"})
    c.generic("PodDisruptionBudget", ns, "ledger-db-proxy", {
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "ledger-db-proxy"}}},
        "status": {"conditions": [{"lastTransitionTime": c.t("40d"), "message": "", "observedGeneration": 1, "reason": "InsufficientPods",
                                   "status": "False", "type": "DisruptionAllowed"}],
                   "currentHealthy": 2, "desiredHealthy": 2, "disruptionsAllowed": 0, "expectedPods": 2, "observedGeneration": 1}},
        created="200d", generation=1)
    return c, expect(
        f"The node group upgrade is stuck draining {old}. What is blocking it?", {"kind": "Node", "name": old}, False,
        [dict(finding("PodDisruptionBudget", ns, "ledger-db-proxy", "error", "PDBBlocksDisruption", ["ledger-db-proxy", "minAvailable"]),
              also_accept=[{"kind": "Pod", "name_prefix": "ledger-db-proxy-"}])],
        action={"tool": "scale_deployment", "args": {"namespace": ns, "deployment": "ledger-db-proxy", "replicas": 3}},
        must_not=["restart_deployment", "rollback_deployment", "set_container_resources"],
        should_mention=["disruptionsAllowed", "0"])


# ============================================================ egress policy drops DNS
@scenario
def networkpolicy_blocks_dns():
    c = Cluster("networkpolicy-blocks-dns", "2025-12-25T18:44:33Z")
    names = base(c, namespaces=("production", "risk"))
    production_apps(c, names)
    ns = "risk"
    applied = 19 * 60 + 40
    c.generic("NetworkPolicy", ns, "default-deny-egress", {"spec": {
        "egress": [{"ports": [{"port": 5432, "protocol": "TCP"}], "to": [{"podSelector": {"matchLabels": {"app": "risk-db"}}}]},
                   {"ports": [{"port": 443, "protocol": "TCP"}], "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/16"]}}]}],
        "podSelector": {}, "policyTypes": ["Egress"]}}, created=applied, generation=1)
    cont = go_app("fraud-check", "5.0.2", mem_req="128Mi", mem_lim="256Mi", cpu_req="100m",
                  env_=[env("VENDOR_API", "https://api.fraud-vendor.example.com/v3/score"),
                        env("DB_HOST", "risk-db.risk.svc.cluster.local")])
    rs_age = ago_secs("8d")
    pods, infos = [], []
    for i in range(2):
        pname = f"fraud-check-6c8d7f9b5-{['gq2w4', 'tp7mk'][i]}"
        fs = rs_age - 7 - 7 * i
        inst, restarts, run_now, backoff = loop_until_now(fs, lambda k, fs=fs, i=i: (fs - (applied - 60 - 7 * i)) if k == 0 else 31)
        infos.append((pname, inst, restarts))
        pods.append(dict(name=pname, node=names[i], created=rs_age,
                         statuses=[crash_status(c, pname, ns, inst, restarts, run_now, backoff, "Error", 1)]))
    d = c.deployment(ns, "fraud-check", created="70d", available_since=applied - 90,
                     revisions=[dict(rev=6, containers=[cont], replicas=2, created="8d", hash="6c8d7f9b5", pods=pods)])
    c.service(ns, "fraud-check", {"app": "fraud-check"}, [("http", 80, "http")], created="70d", labels={"app": "fraud-check"})
    pg = ctr("postgres", "postgres:16.4", port=5432, port_name="postgres", req={"cpu": "250m", "memory": "512Mi"}, lim={"memory": "1Gi"})
    healthy_deploy(c, ns, "risk-db", 1, [pg], names, created="70d", rs_created="20d", target_port="postgres", offset=2)
    for (pname, inst, restarts), p in zip(infos, d["pods"][0]):
        c.crashloop_events(p, "app", inst, restarts)
        ip = p["status"]["podIP"]
        for (s, e), prev in ((inst[-1], False), (inst[-2], True)):
            lines = [go_json(c, s - 0.05, "INFO", "starting fraud-check", version="5.0.2")]
            for k in range(5):
                port = 30000 + int(sha(pname + str(s) + str(k))[0]) * 120
                lines.append(go_json(c, s - 0.1 - 5.2 * k, "WARN", "vendor health check failed", attempt=k + 1,
                                     error=f'Get "https://api.fraud-vendor.example.com/v3/health": dial tcp: lookup api.fraud-vendor.example.com on 172.20.0.10:53: read udp {ip}:{port}->172.20.0.10:53: i/o timeout'))
            lines.append(go_json(c, e + 0.02, "ERROR", "vendor unreachable after 5 attempts, exiting"))
            c.log(p, "app", "\n".join(lines), previous=prev)
    return c, expect(
        "fraud-check in risk started crash looping about 20 minutes ago. Why?", {"kind": "Deployment", "namespace": ns, "name": "fraud-check"}, False,
        [dict(finding("NetworkPolicy", ns, "default-deny-egress", "error", "NetworkPolicyBlocksDNS", ["default-deny-egress", "53"]),
              also_accept=[{"kind": "Deployment", "name": "fraud-check"}])],
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment", "set_container_resources"],
        should_mention=["i/o timeout", "kube-dns"])


# ============================================================ CronJob suspended
@scenario
def cronjob_suspended():
    c = Cluster("cronjob-suspended", "2025-12-26T08:05:00Z")
    names = base(c, namespaces=("production", "data"))
    production_apps(c, names)
    ns = "data"
    jc = ctr("backup", f"{ECR}/pg-backup:1.3.0", port=None, req={"cpu": "250m", "memory": "512Mi"}, lim={"memory": "512Mi"},
             command=["/usr/local/bin/backup.sh"], env=[env("PGHOST", "orders-db.cluster-c9xk2m1p0q7a.eu-west-1.rds.amazonaws.com"),
                                                        env("BACKUP_BUCKET", "s3://acme-db-backups-prod/orders/")])
    last = 4 * 86400 + 5 * 3600 + 5 * 60
    cj = c.cronjob(ns, "db-backup", [jc], schedule="0 3 * * *", created="300d", suspend=True, last_schedule=last,
                   last_success=last - 412, restart_policy="OnFailure")
    for k in (2, 1, 0):
        a = last + k * 86400
        m, sched = cron_minutes(c, a)
        c.job(ns, f"db-backup-{m}", [jc], created=a, owner=cj, backoff_limit=2, scheduled_ts=sched, outcome="complete",
              finished=a - 408 - k * 7, restart_policy="OnFailure",
              pods=[dict(node=names[k], created=a, statuses=[terminated("Completed", 0, a - 3, a - 406 - k * 7)])])
    return c, expect(
        "Why haven't the orders database backups run since Monday?", {"kind": "CronJob", "namespace": ns, "name": "db-backup"}, False,
        [finding("CronJob", ns, "db-backup", "warning", "CronJobSuspended", ["suspend", "db-backup"])],
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment", "set_container_resources"],
        should_mention=["lastScheduleTime", "2025-12-22"])


# ============================================================ DaemonSet pod cannot fit
@scenario
def daemonset_unavailable():
    c = Cluster("daemonset-unavailable", "2025-12-27T12:00:00Z")
    names = base(c, namespaces=("production", "amazon-cloudwatch"))
    full = names[2]
    ns = "production"
    c.secret(ns, "checkout-api-secrets", ["STRIPE_API_KEY", "DB_PASSWORD"], "120d")
    rs_age = ago_secs("6d")
    ck = java_app("checkout-api", "1.19.2", mem_req="768Mi", mem_lim="1536Mi", cpu_req="500m",
                  env_from=[{"secretRef": {"name": "checkout-api-secrets"}}])
    c.deployment(ns, "checkout-api", created="150d", revisions=[dict(rev=12, containers=[ck], replicas=3, created="6d", pods=[
        dict(node=n, statuses=[running(rs_age - 9 - 7 * i)]) for i, n in enumerate([names[0], full, full])])])
    c.service(ns, "checkout-api", {"app": "checkout-api"}, [("http", 80, "http")], created="150d", labels={"app": "checkout-api"})
    c.secret(ns, "orders-db", ["url"], "170d")
    og = go_app("orders-api", "3.0.4", mem_req="128Mi", mem_lim="256Mi", cpu_req="200m", env_=[env("DATABASE_URL", secret=("orders-db", "url"))])
    c.deployment(ns, "orders-api", created="170d", revisions=[dict(rev=6, containers=[og], replicas=2, created="4d", pods=[
        dict(node=n, statuses=[running(ago_secs("4d") - 9)]) for n in (full, names[1])])])
    c.service(ns, "orders-api", {"app": "orders-api"}, [("http", 80, "http")], created="170d", labels={"app": "orders-api"})
    # fluent-bit: the new revision asks for 500m CPU; the busy node has 480m left
    ds_ns = "amazon-cloudwatch"
    c.serviceaccount(ds_ns, "fluent-bit", "150d", role_arn=f"arn:aws:iam::{ACCOUNT}:role/{c.cluster_name}-cloudwatch-agent")
    c.configmap(ds_ns, "fluent-bit-config", ["application-log.conf", "fluent-bit.conf", "parsers.conf"], "150d")
    fb = ctr("fluent-bit", "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4", port=2020, port_name="metrics",
             req={"cpu": "500m", "memory": "256Mi"}, lim={"memory": "512Mi"},
             env=[env("AWS_REGION", REGION), env("CLUSTER_NAME", c.cluster_name), env("HOST_NAME", field="spec.nodeName")],
             mounts=[{"mountPath": "/var/log", "name": "varlog", "readOnly": True},
                     {"mountPath": "/fluent-bit/etc/", "name": "fluent-bit-config"}])
    upd = 18 * 60 + 30
    msg = ("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes "
           "are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.")
    ds = c.daemonset(ds_ns, "fluent-bit", [fb], labels={"k8s-app": "fluent-bit"}, created="150d", sa="fluent-bit", generation=2,
                     volumes=[{"hostPath": {"path": "/var/log", "type": ""}, "name": "varlog"},
                              {"configMap": {"defaultMode": 420, "name": "fluent-bit-config"}, "name": "fluent-bit-config"}],
                     ds_labels={"k8s-app": "fluent-bit", "kubernetes.io/cluster-service": "true", "version": "v1"},
                     pods={names[0]: dict(created=upd, statuses=[running(upd - 4)]),
                           names[1]: dict(created=upd - 40, statuses=[running(upd - 44)]),
                           full: dict(created=upd - 80, unscheduled=True, unschedulable=msg)})
    pend = ds["pods"][2]
    c.event(ds["ds"], "SuccessfulDelete", f"Deleted pod: fluent-bit-{safe('old' + full, 5)}", first=upd - 79, component="daemonset-controller")
    for p in ds["pods"]:
        c.event(ds["ds"], "SuccessfulCreate", f"Created pod: {p['metadata']['name']}", first=c.age(p), component="daemonset-controller")
    failed_scheduling(c, pend, msg, upd - 81)
    return c, expect(
        "Logs from one node stopped arriving in CloudWatch. Why?", {"kind": "DaemonSet", "namespace": ds_ns, "name": "fluent-bit"}, False,
        [dict(finding("DaemonSet", ds_ns, "fluent-bit", "error", "DaemonSetUnavailable", ["Insufficient cpu", full]),
              also_accept=[{"kind": "Pod", "name": pend["metadata"]["name"]}])],
        must_not=["restart_deployment", "scale_deployment", "rollback_deployment"],
        should_mention=["500m"])


# ============================================================ init container fails
@scenario
def init_container_failing():
    c = Cluster("init-container-failing", "2025-12-28T07:21:40Z")
    names = base(c)
    production_apps(c, names)
    ns = "production"
    c.secret(ns, "invoice-db", ["password", "url", "username"], "200d")
    app = lambda v: java_app("invoice-service", v, mem_req="512Mi", mem_lim="1Gi",
                             env_=[env("SPRING_PROFILES_ACTIVE", "prod"), env("DB_URL", secret=("invoice-db", "url"))])
    mig = lambda v: ctr("db-migrate", f"{ECR}/invoice-service-migrations:{v}", port=None,
                        args=["migrate"], req={"cpu": "100m", "memory": "256Mi"}, lim={"memory": "512Mi"},
                        env=[env("FLYWAY_URL", secret=("invoice-db", "url")), env("FLYWAY_USER", secret=("invoice-db", "username")),
                             env("FLYWAY_PASSWORD", secret=("invoice-db", "password"))])
    age = 14 * 60 + 8
    pname = "invoice-service-85f6c9d7b4-l9x2v"
    inst, restarts, run_now, backoff = loop_until_now(age - 5, 6.5)
    ist = crash_status(c, pname, ns, inst, restarts, run_now, backoff, "Error", 1, container="db-migrate")
    rs_age = ago_secs("9d")
    d = c.deployment(ns, "invoice-service", created="200d", progress="deadline", progress_since=age - 600,
                     revisions=[dict(rev=8, containers=[app("3.4.0")], init_containers=[mig("3.4.0")], replicas=2, created="9d",
                                     pods=[dict(node=spread(names, i), statuses=[running(rs_age - 30 - 15 * i)],
                                                init_statuses=[terminated("Completed", 0, rs_age - 5 - 15 * i, rs_age - 24 - 15 * i)])
                                           for i in range(2)]),
                                dict(rev=9, containers=[app("3.5.0")], init_containers=[mig("3.5.0")], replicas=1, created=age,
                                     hash="85f6c9d7b4",
                                     pods=[dict(name=pname, node=names[2], created=age - 1, init_statuses=[ist],
                                                statuses=[waiting("PodInitializing", pulled=False)])])])
    c.service(ns, "invoice-service", {"app": "invoice-service"}, [("http", 80, "http")], created="200d", labels={"app": "invoice-service"})
    pod = d["pods"][1][0]
    c.scaled(d["deploy"], d["rs"][1], 0, 1, age)
    c.rs_created(d["rs"][1], pod)
    c.scheduled(pod)
    c.start_events(pod, "db-migrate", inst[0][0], pull_secs=1.96)
    c.crashloop_events(pod, "db-migrate", inst, restarts)
    for (s, e), prev in ((inst[-1], False), (inst[-2], True)):
        lines = [
            "Flyway OSS Edition 10.20.1 by Redgate",
            "",
            "See release notes here: https://rd.gt/416ObMi",
            "Database: jdbc:postgresql://invoice-db.cluster-c9xk2m1p0q7a.eu-west-1.rds.amazonaws.com:5432/invoices (PostgreSQL 16.4)",
            "Successfully validated 42 migrations (execution time 00:00.118s)",
            'Current version of schema "public": 41',
            'Migrating schema "public" to version "42 - add invoice due date index"',
            'ERROR: Migration of schema "public" to version "42 - add invoice due date index" failed! Changes successfully rolled back.',
            "ERROR: Migration V42__add_invoice_due_date_index.sql failed",
            "-------------------------------------------------------------------",
            "SQL State  : 42703",
            "Error Code : 0",
            'Message    : ERROR: column "due_date" does not exist',
            "Location   : db/migration/V42__add_invoice_due_date_index.sql (/flyway/sql/db/migration/V42__add_invoice_due_date_index.sql)",
            "Line       : 1",
            "Statement  : CREATE INDEX idx_invoices_due_date ON invoices (due_date)",
            "",
            "Caused by: Migration V42__add_invoice_due_date_index.sql failed",
            "-------------------------------------------------------------------",
            "SQL State  : 42703",
            "Error Code : 0",
            'Message    : ERROR: column "due_date" does not exist',
        ]
        c.log(pod, "db-migrate", "\n".join(lines), previous=prev)
    return c, expect(
        "The invoice-service 3.5.0 pod is stuck in Init. Why?", {"kind": "Pod", "namespace": ns, "name": pname}, False,
        [dict(finding("Pod", ns, pname, "error", "InitContainerCrashLoop", ["db-migrate", "due_date"]),
              also_accept=[{"kind": "Pod", "name": pname, "reason": "InitContainerFailed"}, {"kind": "Deployment", "name": "invoice-service"}])],
        action={"tool": "rollback_deployment", "args": {"namespace": ns, "deployment": "invoice-service", "revision": 8}},
        must_not=["restart_deployment", "set_container_resources", "scale_deployment"],
        should_mention=["V42"])


# ============================================================ wrong CPU architecture
@scenario
def exec_format_error():
    c = Cluster("exec-format-error", "2025-12-29T10:10:10Z")
    names = base(c)
    production_apps(c, names)
    ns = "production"
    mk = lambda v: go_app("pdf-renderer", v, mem_req="256Mi", mem_lim="512Mi", cpu_req="250m")
    age = 12 * 60 + 44
    rs_age = ago_secs("15d")
    pname = "pdf-renderer-7b5f9d6c8-zk4hr"
    inst, restarts, run_now, backoff = loop_until_now(age - 9, 0.1)
    d = c.deployment(ns, "pdf-renderer", created="110d", progress="deadline", progress_since=age - 600,
                     revisions=[dict(rev=4, containers=[mk("2.9.1")], replicas=2, created="15d",
                                     pods=[dict(node=spread(names, i, 1), statuses=[running(rs_age - 6 - 9 * i)]) for i in range(2)]),
                                dict(rev=5, containers=[mk("3.0.0")], replicas=1, created=age, hash="7b5f9d6c8",
                                     pods=[dict(name=pname, node=names[0], created=age - 1,
                                                statuses=[crash_status(c, pname, ns, inst, restarts, run_now, backoff, "Error", 255)])])])
    c.service(ns, "pdf-renderer", {"app": "pdf-renderer"}, [("http", 80, "http")], created="110d", labels={"app": "pdf-renderer"})
    pod = d["pods"][1][0]
    c.scaled(d["deploy"], d["rs"][1], 0, 1, age)
    c.rs_created(d["rs"][1], pod)
    c.scheduled(pod)
    c.start_events(pod, "app", inst[0][0], pull_secs=7.402, size=61233817)
    c.crashloop_events(pod, "app", inst, restarts)
    for prev in (False, True):
        c.log(pod, "app", "exec /usr/local/bin/pdf-renderer: exec format error", previous=prev)
    return c, expect(
        "pdf-renderer 3.0.0 crashes instantly with no real logs. What's wrong?", {"kind": "Pod", "namespace": ns, "name": pname}, False,
        [dict(finding("Pod", ns, pname, "error", "ExecFormatError", ["exec format error", "amd64"]),
              also_accept=[{"kind": "Deployment", "name": "pdf-renderer"}])],
        action={"tool": "rollback_deployment", "args": {"namespace": ns, "deployment": "pdf-renderer", "revision": 4}},
        must_not=["restart_deployment", "set_container_resources", "scale_deployment"],
        should_mention=["arm64", "architecture"])


# ============================================================ secret volume missing
@scenario
def failed_mount_missing_volume():
    c = Cluster("failed-mount-missing-volume", "2025-12-30T16:16:16Z")
    names = base(c)
    production_apps(c, names)
    ns = "production"
    c.secret(ns, "partner-gw-tls", ["ca.crt", "tls.crt", "tls.key"], "25d", type_="kubernetes.io/tls")
    cont = go_app("partner-gateway", "1.0.0", port=8443, mem_req="64Mi", mem_lim="128Mi", cpu_req="100m",
                  mounts=[{"mountPath": "/etc/tls", "name": "tls-certs", "readOnly": True}],
                  readiness=probe("/ready", 8443, delay=5), liveness=probe("/healthz", 8443, delay=10, period=20))
    for p in ("readinessProbe", "livenessProbe"):
        cont[p]["httpGet"]["scheme"] = "HTTPS"
    cont["ports"][0]["name"] = "https"
    age = 11 * 60 + 6
    vols = [{"name": "tls-certs", "secret": {"defaultMode": 420, "secretName": "partner-gateway-tls"}}]
    d = c.deployment(ns, "partner-gateway", created=age, progress="deadline", progress_since=age - 600, available_since=age,
                     revisions=[dict(rev=1, containers=[cont], replicas=1, created=age, volumes=vols,
                                     pods=[dict(node=names[1], created=age - 1, sandbox=False,
                                                statuses=[waiting("ContainerCreating", pulled=False)])])])
    c.service(ns, "partner-gateway", {"app": "partner-gateway"}, [("https", 443, "https")], created=age, labels={"app": "partner-gateway"})
    pod = d["pods"][0][0]
    c.scaled(d["deploy"], d["rs"][0], 0, 1, age)
    c.rs_created(d["rs"][0], pod)
    c.scheduled(pod)
    c.event(pod, "FailedMount", 'MountVolume.SetUp failed for volume "tls-certs" : secret "partner-gateway-tls" not found',
            type_="Warning", count=13, first=age - 2, last=63)
    return c, expect(
        "partner-gateway is stuck in ContainerCreating. Why?", {"kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"]}, False,
        [dict(finding("Pod", ns, pod["metadata"]["name"], "error", "SecretNotFound", ["partner-gateway-tls", "tls-certs"]),
              also_accept=[{"kind": "Pod", "name": pod["metadata"]["name"], "reason": "FailedMount"}, {"kind": "Deployment", "name": "partner-gateway"}])],
        must_not=["restart_deployment", "scale_deployment", "set_container_resources", "rollback_deployment"],
        should_mention=["partner-gw-tls"])


# ============================================================ EBS provisioning denied
@scenario
def pvc_provisioning_failed():
    c = Cluster("pvc-provisioning-failed", "2025-12-31T11:30:00Z")
    names = base(c, namespaces=("production", "streaming"), ebs_csi=True)
    production_apps(c, names)
    ns = "streaming"
    age = 27 * 60 + 12
    kc = ctr("kafka", "bitnami/kafka:3.8.1", port=9092, port_name="client", req={"cpu": "500m", "memory": "2Gi"}, lim={"memory": "4Gi"},
             env=[env("KAFKA_CFG_PROCESS_ROLES", "controller,broker"), env("KAFKA_CFG_NODE_ID", "0")],
             mounts=[{"mountPath": "/bitnami/kafka", "name": "data"}])
    selected = names[1]
    msg = 'running PreBind plugin "VolumeBinding": binding volumes: provisioning failed for PVC "data-kafka-0"'
    s = c.statefulset(ns, "kafka", [kc], replicas=3, service_name="kafka-headless", created=age, vcts=[("data", "100Gi", "gp3")],
                      pods=[dict(node=None, created=age - 1, unschedulable=msg)], current_replicas=1)
    pvc = c.pvc(ns, "data-kafka-0", "100Gi", "gp3", created=age - 1, labels={"app": "kafka"},
                annotations={"volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
                             "volume.kubernetes.io/selected-node": selected,
                             "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com"})
    c.service(ns, "kafka-headless", {"app": "kafka"}, [("client", 9092, "client")], created=age, headless=True, labels={"app": "kafka"})
    c.service(ns, "kafka", {"app": "kafka"}, [("client", 9092, "client")], created=age, labels={"app": "kafka"})
    p = s["pods"][0]
    c.event(s["sts"], "SuccessfulCreate", "create Claim data-kafka-0 Pod kafka-0 in StatefulSet kafka success", first=age - 1,
            component="statefulset-controller")
    c.rs_created(s["sts"], p, age - 1)
    ctrl = [o for o in c.objs if o["kind"] == "Pod" and o["metadata"]["name"].startswith("ebs-csi-controller-")][0]["metadata"]["name"]
    src = f"ebs.csi.aws.com_{ctrl}_{mkuid('lease' + ctrl)}"
    c.event(pvc, "WaitForFirstConsumer", "waiting for first consumer to be created before binding", first=age - 1,
            component="persistentvolume-controller")
    c.event(pvc, "ExternalProvisioning",
            "Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually by the system "
            "administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
            count=(age - 3) // 15, first=age - 3, last=9, component="persistentvolume-controller")
    c.event(pvc, "Provisioning", f'External provisioner is provisioning volume for claim "{ns}/data-kafka-0"', count=11, first=age - 3,
            last=112, component=src)
    vol = "pvc-" + pvc["metadata"]["uid"]
    err = (f'failed to provision volume with StorageClass "gp3": rpc error: code = Internal desc = Could not create volume "{vol}": '
           f"could not create volume in EC2: operation error EC2: CreateVolume, https response error StatusCode: 403, RequestID: "
           f"{mkuid('req-ebs')}, api error UnauthorizedOperation: You are not authorized to perform this operation. User: "
           f"arn:aws:sts::{ACCOUNT}:assumed-role/{c.cluster_name}-ebs-csi-driver/1735641211718943027 is not authorized to perform: "
           f"ec2:CreateVolume on resource: arn:aws:ec2:{REGION}:{ACCOUNT}:volume/* because no identity-based policy allows the "
           f"ec2:CreateVolume action. Encoded authorization failure message: 3kS9xLwqZr8vYt2")
    c.event(pvc, "ProvisioningFailed", err, type_="Warning", count=11, first=age - 5, last=110, component=src)
    failed_scheduling(c, p, msg, age - 2)
    return c, expect(
        "kafka-0 has been Pending for almost half an hour. Why?", {"kind": "Pod", "namespace": ns, "name": "kafka-0"}, False,
        [dict(finding("PersistentVolumeClaim", ns, "data-kafka-0", "error", "ProvisioningFailed", ["UnauthorizedOperation", "ec2:CreateVolume"]),
              also_accept=[{"kind": "Pod", "name": "kafka-0"}, {"kind": "StatefulSet", "name": "kafka"}])],
        must_not=["restart_deployment", "scale_deployment", "rollback_deployment", "set_container_resources"],
        should_mention=["ebs-csi-driver", "IAM"])


# ============================================================ StatefulSet pod stuck on lost node
@scenario
def terminating_on_notready_node():
    c = Cluster("terminating-on-notready-node", "2026-01-02T04:05:06Z")
    names = base(c, namespaces=("production", "streaming"))
    bad = names[1]
    down = 31 * 60 + 15
    evict = down - 302
    lose_node_with_replacements(c, names, bad, down, evict, apps=("orders-api", "cart-api"))
    ns = "streaming"
    zk = ctr("zookeeper", "zookeeper:3.9.3", port=2181, port_name="client",
             ports=[{"containerPort": 2181, "name": "client", "protocol": "TCP"}, {"containerPort": 2888, "name": "server", "protocol": "TCP"},
                    {"containerPort": 3888, "name": "leader-election", "protocol": "TCP"}],
             req={"cpu": "250m", "memory": "512Mi"}, lim={"memory": "1Gi"},
             readiness=probe(kind="exec", command=["sh", "-c", "echo ruok | nc 127.0.0.1 2181 | grep imok"], delay=10),
             mounts=[{"mountPath": "/data", "name": "data"}])
    age = ago_secs("40d")
    s = c.statefulset(ns, "zookeeper", [zk], replicas=3, service_name="zookeeper-headless", created="40d", vcts=[("data", "10Gi", "gp3")],
                      pods=[dict(node=names[0], statuses=[running(age - 20)]), dict(node=bad, statuses=[running(age - 60)]),
                            dict(node=names[2], statuses=[running(age - 100)])])
    for i, n in enumerate((names[0], bad, names[2])):
        c.pvc(ns, f"data-zookeeper-{i}", "10Gi", "gp3", created="40d", bound_node=n, labels={"app": "zookeeper"})
    zk1 = s["pods"][1]
    pod_on_lost_node(c, zk1, down, evict, delete=True)
    c.service(ns, "zookeeper-headless", {"app": "zookeeper"}, [("client", 2181, "client"), ("server", 2888, 2888),
                                                                 ("leader-election", 3888, 3888)], created="40d", headless=True,
              labels={"app": "zookeeper"}, publish_not_ready=True)
    c.service(ns, "zookeeper", {"app": "zookeeper"}, [("client", 2181, "client")], created="40d", labels={"app": "zookeeper"})
    return c, expect(
        "zookeeper has had only 2 of 3 members for half an hour. Why isn't zookeeper-1 coming back?",
        {"kind": "Pod", "namespace": ns, "name": "zookeeper-1"}, False,
        [finding("Pod", ns, "zookeeper-1", "error", "StuckTerminating", ["zookeeper-1", bad]),
         dict(finding("Node", None, bad, "critical", "NodeNotReady", [bad]),
              also_accept=[{"kind": "Node", "name": bad, "reason": "NodeStatusUnknown"}])],
        must_not=["restart_deployment", "scale_deployment", "rollback_deployment", "set_container_resources"],
        should_mention=["StatefulSet", "force"])


# ============================================================ full volume behind a dependency
@scenario
def pvc_full_dependency_chain():
    c = Cluster("pvc-full-dependency-chain", "2026-01-03T13:13:13Z")
    names = base(c, ebs_csi=True)
    production_apps(c, names)
    ns = "production"
    c.secret(ns, "postgres-auth", ["password", "username"], "150d")
    pg = ctr("postgres", "postgres:16.4", port=5432, port_name="postgres", req={"cpu": "500m", "memory": "1Gi"}, lim={"memory": "2Gi"},
             env=[env("POSTGRES_USER", secret=("postgres-auth", "username")), env("POSTGRES_PASSWORD", secret=("postgres-auth", "password")),
                  env("PGDATA", "/var/lib/postgresql/data/pgdata")],
             readiness=probe(kind="exec", command=["pg_isready", "-U", "postgres"], delay=5),
             mounts=[{"mountPath": "/var/lib/postgresql/data", "name": "data"}])
    down = 17 * 60 + 40
    pinst, prest, prun, pback = loop_until_now(down, 2.1)
    pst = crash_status(c, "postgres-0", ns, pinst, prest, prun, pback, "Error", 1, container="postgres")
    pst["restarts"] = prest + 1
    pst["last"]["started"] = pinst[-1][0] if not prun else pinst[-2][0]
    s = c.statefulset(ns, "postgres", [pg], replicas=1, service_name="postgres-headless", created="150d", vcts=[("data", "10Gi", "gp3")],
                      pods=[dict(node=names[2], created="21d", statuses=[pst])])
    c.pvc(ns, "data-postgres-0", "10Gi", "gp3", created="150d", bound_node=names[2], labels={"app": "postgres"})
    c.service(ns, "postgres", {"app": "postgres"}, [("postgres", 5432, "postgres")], created="150d", cluster_ip="172.20.23.4",
              labels={"app": "postgres"})
    c.service(ns, "postgres-headless", {"app": "postgres"}, [("postgres", 5432, "postgres")], created="150d", headless=True,
              labels={"app": "postgres"})
    p0 = s["pods"][0]
    inst_all = [(ago_secs("21d") - 5, down)] + pinst
    c.crashloop_events(p0, "postgres", inst_all, prest + 1)
    for (st_, en), prev in ((inst_all[-1], False), (inst_all[-2], True)):
        pid = 29 + int(st_) % 40
        T = lambda a: ts(c, a, fmt="pg")
        lines = [f"{T(st_ - 0.01)} [1] LOG:  starting PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit",
                 f'{T(st_ - 0.02)} [1] LOG:  listening on IPv4 address "0.0.0.0", port 5432',
                 f'{T(st_ - 0.02)} [1] LOG:  listening on IPv6 address "::", port 5432',
                 f'{T(st_ - 0.03)} [1] LOG:  listening on Unix socket "/var/run/postgresql/.s.PGSQL.5432"',
                 f"{T(st_ - 0.05)} [{pid}] LOG:  database system was interrupted; last known up at {ts(c, down + 30, fmt='pg')[:-8]} UTC",
                 f"{T(st_ - 0.3)} [{pid}] LOG:  database system was not properly shut down; automatic recovery in progress",
                 f"{T(st_ - 0.31)} [{pid}] LOG:  redo starts at 2/8F000028",
                 f"{T(st_ - 1.7)} [{pid}] LOG:  redo done at 2/97FFFF58 system usage: CPU: user: 0.71 s, system: 0.52 s, elapsed: 1.38 s",
                 f"{T(st_ - 1.71)} [{pid + 1}] LOG:  checkpoint starting: end-of-recovery immediate wait",
                 f'{T(st_ - 1.75)} [{pid + 1}] PANIC:  could not write to file "pg_wal/xlogtemp.{pid + 1}": No space left on device',
                 f"{T(st_ - 1.76)} [1] LOG:  checkpointer process (PID {pid + 1}) was terminated by signal 6: Aborted",
                 f"{T(st_ - 1.76)} [1] LOG:  terminating any other active server processes",
                 f"{T(st_ - 1.77)} [1] LOG:  shutting down due to startup process failure",
                 f"{T(st_ - 1.8)} [1] LOG:  database system is shut down"]
        c.log(p0, "postgres", "\n".join(lines), previous=prev)
    # billing-api cannot reach it
    cont = node_app("billing-api", "4.2.1", mem_req="192Mi", mem_lim="384Mi", cpu_req="100m",
                    env_=[env("PGHOST", "postgres.production.svc.cluster.local"), env("PGUSER", secret=("postgres-auth", "username")),
                          env("PGPASSWORD", secret=("postgres-auth", "password"))])
    rs_age = ago_secs("3d")
    pods, infos = [], []
    for i in range(2):
        pname = f"billing-api-7f6d5c9b8-{['d4k8s', 'm2x7q'][i]}"
        fs = rs_age - 6 - 6 * i
        inst, restarts, run_now, backoff = loop_until_now(fs, lambda k, fs=fs, i=i: (fs - (down - 20 - 6 * i)) if k == 0 else 3.2)
        infos.append((pname, inst, restarts))
        pods.append(dict(name=pname, node=names[i], created=rs_age, statuses=[crash_status(c, pname, ns, inst, restarts, run_now, backoff, "Error", 1)]))
    d = c.deployment(ns, "billing-api", created="150d", available_since=down - 25,
                     revisions=[dict(rev=11, containers=[cont], replicas=2, created="3d", hash="7f6d5c9b8", pods=pods)])
    c.service(ns, "billing-api", {"app": "billing-api"}, [("http", 80, "http")], created="150d", labels={"app": "billing-api"})
    for (pname, inst, restarts), p in zip(infos, d["pods"][0]):
        c.crashloop_events(p, "app", inst, restarts)
        for (s_, e_), prev in ((inst[-1], False), (inst[-2], True)):
            lines = [pino(c, s_ - 0.3, "info", "billing-api 4.2.1 starting", pname),
                     pino(c, s_ - 0.4, "info", "connecting to postgres", pname, host="postgres.production.svc.cluster.local", port=5432),
                     pino(c, e_ + 0.1, "fatal", "could not connect to database", pname,
                          err={"type": "Error", "message": "connect ECONNREFUSED 172.20.23.4:5432",
                               "stack": "Error: connect ECONNREFUSED 172.20.23.4:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1610:16)",
                               "errno": -111, "code": "ECONNREFUSED", "syscall": "connect", "address": "172.20.23.4", "port": 5432})]
            c.log(p, "app", "\n".join(lines), previous=prev)
    return c, expect(
        "billing-api can't connect to its database. Why?", {"kind": "Deployment", "namespace": ns, "name": "billing-api"}, False,
        [finding("PersistentVolumeClaim", ns, "data-postgres-0", "critical", "VolumeFull", ["No space left on device", "data-postgres-0"]),
         dict(finding("Pod", ns, "postgres-0", "error", "CrashLoopBackOff", ["postgres-0"]),
              also_accept=[{"kind": "StatefulSet", "name": "postgres"}])],
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment", "set_container_resources"],
        should_mention=["10Gi", "ECONNREFUSED"])


# ============================================================ DNS name of a Service that does not exist
@scenario
def dns_nxdomain_wrong_service():
    c = Cluster("dns-nxdomain-wrong-service", "2026-01-04T09:09:09Z")
    names = base(c)
    production_apps(c, names)
    ns = "production"
    pg = ctr("postgresql", "bitnami/postgresql:16.4.0", port=5432, port_name="tcp-postgresql", req={"cpu": "250m", "memory": "256Mi"},
             lim={"memory": "1Gi"})
    healthy_deploy(c, ns, "postgresql", 1, [pg], names, created="200d", rs_created="30d", target_port="tcp-postgresql", offset=2)
    mk = lambda v, host: go_app("inventory-sync", v, port=9090, mem_req="64Mi", mem_lim="128Mi", cpu_req="50m",
                                env_=[env("DB_HOST", host), env("DB_NAME", "inventory")],
                                readiness=probe("/ready", 9090), liveness=probe("/healthz", 9090, delay=10, period=20))
    age = 13 * 60 + 27
    pname = "inventory-sync-59c7d8b6f4-vx9tn"
    inst, restarts, run_now, backoff = loop_until_now(age - 6, 0.4)
    d = c.deployment(ns, "inventory-sync", created="90d", strategy={"type": "Recreate"}, progress="deadline", progress_since=age - 600,
                     available_since=age,
                     revisions=[dict(rev=3, containers=[mk("1.8.0", "postgresql.production.svc.cluster.local")], replicas=0, created="30d"),
                                dict(rev=4, containers=[mk("1.9.0", "postgres.production.svc.cluster.local")], replicas=1, created=age,
                                     hash="59c7d8b6f4",
                                     pods=[dict(name=pname, node=names[1], created=age - 1,
                                                statuses=[crash_status(c, pname, ns, inst, restarts, run_now, backoff, "Error", 1)])])])
    pod = d["pods"][1][0]
    c.scaled(d["deploy"], d["rs"][0], 1, 0, age + 31)
    c.scaled(d["deploy"], d["rs"][1], 0, 1, age)
    c.rs_created(d["rs"][1], pod)
    c.scheduled(pod)
    c.start_events(pod, "app", inst[0][0], pull_secs=1.52)
    c.crashloop_events(pod, "app", inst, restarts)
    for (s, e), prev in ((inst[-1], False), (inst[-2], True)):
        t = go_ts(c, s - 0.1)
        c.log(pod, "app", "\n".join([
            f"{t} inventory-sync 1.9.0 starting",
            f"{t} connecting to postgres at postgres.production.svc.cluster.local:5432/inventory",
            f"{t} FATAL: ping database: dial tcp: lookup postgres.production.svc.cluster.local on 172.20.0.10:53: no such host"]),
            previous=prev)
    return c, expect(
        "inventory-sync 1.9.0 is crash looping. Why?", {"kind": "Pod", "namespace": ns, "name": pname}, False,
        [dict(finding("Pod", ns, pname, "error", "CrashLoopBackOff", ["postgres.production.svc.cluster.local", "no such host"]),
              also_accept=[{"kind": "Deployment", "name": "inventory-sync"}])],
        action={"tool": "rollback_deployment", "args": {"namespace": ns, "deployment": "inventory-sync", "revision": 3}},
        must_not=["restart_deployment", "set_container_resources", "scale_deployment"],
        should_mention=["postgresql"])
