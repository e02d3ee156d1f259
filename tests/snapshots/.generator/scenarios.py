"""The scenarios, one function each. Each returns (cluster, expect)."""
from base import *  # noqa: F401,F403
from base import base, healthy_deploy, java_app, go_app, node_app, spread, NODES3, NODES2
from klib import (Cluster, ctr, env, probe, running, waiting, terminated, last_term, crashloop, godur, ago_secs,
                  safe, sha, hexs, ECR, EKS_ECR, REGION, ACCOUNT)
from logs import ts, spring_line, spring_startup, json_line, go_ts, GO_NIL_PANIC

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__.replace("_", "-")] = fn
    return fn


def finding(kind, ns, name, severity, reason, must):
    f = {"kind": kind}
    if ns:
        f["namespace"] = ns
    f.update({"name": name, "severity": severity, "reason": reason, "must_mention": must})
    return f


def expect(question, target, healthy, findings, action=None, must_not=(), **extra):
    e = {"question": question}
    if target:
        e["target"] = target
    e["healthy"] = healthy
    e["findings"] = findings
    if action:
        e["action"] = action
    e["must_not_propose"] = list(must_not)
    e.update(extra)
    return e


def production_apps(c, names, checkout=True, orders=True, cart=False, cart_rs_created="9d"):
    """Healthy neighbours in production that a diagnosis must not blame."""
    if checkout:
        c.secret("production", "checkout-api-secrets", ["STRIPE_API_KEY", "DB_PASSWORD"], "120d")
        healthy_deploy(c, "production", "checkout-api", 3,
                       [java_app("checkout-api", "1.19.2", mem_req="768Mi", mem_lim="1536Mi", cpu_req="500m",
                                 env_from=[{"secretRef": {"name": "checkout-api-secrets"}}])],
                       names, created="150d", rev=12, rs_created="6d",
                       old_revs=[(11, [java_app("checkout-api", "1.19.1", mem_req="768Mi", mem_lim="1536Mi", cpu_req="500m",
                                                env_from=[{"secretRef": {"name": "checkout-api-secrets"}}])])])
    if orders:
        healthy_deploy(c, "production", "orders-api", 2,
                       [go_app("orders-api", "3.0.4", mem_req="128Mi", mem_lim="256Mi", cpu_req="200m",
                               env_=[env("DATABASE_URL", secret=("orders-db", "url")), env("LOG_LEVEL", "info")])],
                       names, created="170d", rev=6, rs_created="4d", offset=1)
        c.secret("production", "orders-db", ["url"], "170d")
    if cart:
        healthy_deploy(c, "production", "cart-api", 2,
                       [node_app("cart-api", "5.2.0", mem_req="192Mi", mem_lim="384Mi", cpu_req="100m")],
                       names, created="140d", rev=9, rs_created=cart_rs_created, offset=2,
                       old_revs=[(8, [node_app("cart-api", "5.1.3", mem_req="192Mi", mem_lim="384Mi", cpu_req="100m")])])


# ============================================================ 1. demo
@scenario
def demo_oom_crashloop():
    c = Cluster("demo-oom-crashloop", "2025-11-30T10:08:12Z")
    names = base(c)
    production_apps(c, names)
    ns = "production"
    c.secret(ns, "payment-service-db", ["DB_HOST", "DB_USER", "DB_PASSWORD"], "160d")
    c.configmap(ns, "payment-service-config", ["application-prod.yaml"], "160d")

    def app(version):
        return ctr("app", f"{ECR}/payment-service:{version}", port=8080,
                   req={"cpu": "250m", "memory": "256Mi"}, lim={"cpu": "500m", "memory": "512Mi"},
                   env=[env("SPRING_PROFILES_ACTIVE", "prod"),
                        env("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=75.0 -XX:+UseG1GC"),
                        env("SETTLEMENT_BATCH_SIZE", "50000")],
                   env_from=[{"secretRef": {"name": "payment-service-db"}}],
                   readiness=probe("/actuator/health/readiness", 8080, delay=20, period=10),
                   liveness=probe("/actuator/health/liveness", 8080, delay=60, period=15),
                   mounts=[{"mountPath": "/config", "name": "config", "readOnly": True}])

    pod_created = ago_secs("2d3h")
    inst, backoff, nxt = crashloop(pod_created - 4, lambda k: (pod_created - 4 - 590) if k == 0 else 44 + 3 * k, 5)
    assert nxt < 0 and inst[-1][1] > 0
    pname = "payment-service-7d9f8b6c5d-x2k4p"
    uid = c.uid("Pod", ns, pname)
    st = waiting("CrashLoopBackOff",
                 f"back-off {godur(backoff)} restarting failed container=app pod={pname}_{ns}({uid})",
                 restarts=5, last=last_term("OOMKilled", 137, inst[-1][0], inst[-1][1]))
    d = c.deployment(ns, "payment-service", created="160d", progress="complete", progress_since=pod_created - 30,
                     available_since=inst[0][1],
                     revisions=[dict(rev=1, containers=[app("2.3.7")], replicas=0, created="41d"),
                                dict(rev=2, containers=[app("2.4.1")], replicas=1, created=pod_created, hash="7d9f8b6c5d",
                                     volumes=[{"configMap": {"defaultMode": 420, "name": "payment-service-config"}, "name": "config"}],
                                     pods=[dict(name=pname, node=names[0], statuses=[st])])])
    pod = d["pods"][1][0]
    c.service(ns, "payment-service", {"app": "payment-service"}, [("http", 80, 8080)], created="160d", labels={"app": "payment-service"})
    c.crashloop_events(pod, "app", inst, 5)
    # readiness fails while the JVM starts: a distraction, not the cause
    c.event(pod, "Unhealthy", f'Readiness probe failed: Get "http://{pod["status"]["podIP"]}:8080/actuator/health/readiness": '
                              f'dial tcp {pod["status"]["podIP"]}:8080: connect: connection refused',
            type_="Warning", count=5, first=inst[1][0] - 21, last=inst[-1][0] - 21, field_path="spec.containers{app}")
    node = c.nodes[names[0]]
    for i, (s, e) in enumerate(inst):
        c.event(node, "SystemOOM", f"System OOM encountered, victim process: java, pid: {2871 + 1913 * i}",
                type_="Warning", first=e, last=e)
    # logs: the last instance (current) and the one before (previous)
    for (s, e), prev in ((inst[-1], False), (inst[-2], True)):
        lines = spring_startup(c, s, "payment-service", "PaymentServiceApplication", "2.4.1")
        L = lambda a, lvl, th, lg, m: spring_line(c, a, lvl, "payment-service", th, lg, m)
        lines += [
            L(s - 11.2, "INFO", "scheduling-1", "c.e.p.settlement.SettlementJob", "Resuming settlement run 2025-11-29 (pending=412873 transactions, batchSize=50000)"),
            L(s - 11.4, "INFO", "scheduling-1", "c.e.p.settlement.SettlementBatchLoader", "Loading batch 1/9 (50000 rows) into memory"),
            L(s - 19.9, "INFO", "scheduling-1", "c.e.p.settlement.SettlementBatchLoader", "Loading batch 2/9 (50000 rows) into memory"),
            L(s - 27.5, "WARN", "scheduling-1", "c.e.p.settlement.SettlementBatchLoader", "Heap usage 91% (349Mi of 384Mi) after batch 2/9"),
            L(s - 29.0, "INFO", "nio-8080-exec-3", "c.e.p.api.PaymentController", "POST /v1/payments 201 (412 ms)"),
            L(s - 33.6, "WARN", "nio-8080-exec-5", "c.e.p.api.PaymentController", "POST /v1/payments 503 (5012 ms): settlement lock held"),
            L(s - 38.1, "INFO", "scheduling-1", "c.e.p.settlement.SettlementBatchLoader", "Loading batch 3/9 (50000 rows) into memory"),
            L(e + 2.2, "ERROR", "scheduling-1", "o.s.s.s.TaskUtils$LoggingErrorHandler", "Unexpected error occurred in scheduled task"),
            "",
            "java.lang.OutOfMemoryError: Java heap space",
            "\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)",
            "\tat java.base/java.util.ArrayList.grow(ArrayList.java:237)",
            "\tat java.base/java.util.ArrayList.add(ArrayList.java:484)",
            "\tat org.hibernate.sql.results.spi.ListResultsConsumer.consume(ListResultsConsumer.java:206)",
            "\tat org.hibernate.sql.results.spi.ListResultsConsumer.consume(ListResultsConsumer.java:33)",
            "\tat org.hibernate.sql.exec.internal.JdbcSelectExecutorStandardImpl.doExecuteQuery(JdbcSelectExecutorStandardImpl.java:209)",
            "\tat org.hibernate.query.sqm.internal.ConcreteSqmSelectQueryPlan.performList(ConcreteSqmSelectQueryPlan.java:362)",
            "\tat org.hibernate.query.spi.AbstractSelectionQuery.list(AbstractSelectionQuery.java:143)",
            "\tat com.example.payments.settlement.SettlementBatchLoader.loadBatch(SettlementBatchLoader.java:88)",
            "\tat com.example.payments.settlement.SettlementJob.run(SettlementJob.java:54)",
            "\tat org.springframework.scheduling.support.ScheduledMethodRunnable.run(ScheduledMethodRunnable.java:84)",
            "\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1144)",
            "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
            "",
            L(e + 0.6, "ERROR", "nio-8080-exec-8", "o.a.c.c.C.[.[.[/].[dispatcherServlet]",
              "Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Handler dispatch failed: java.lang.OutOfMemoryError: Java heap space] with root cause"),
            "",
            "java.lang.OutOfMemoryError: Java heap space",
        ]
        c.log(pod, "app", "\n".join(lines), previous=prev)
    tgt = {"kind": "Pod", "namespace": ns, "name": pname}
    return c, expect(
        "Why is the payment-service pod crashing?", tgt, False,
        [finding("Pod", ns, pname, "critical", "OOMKilled", ["512Mi", "OOMKilled", "137"])],
        action={"tool": "set_container_resources", "args": {"namespace": ns, "deployment": "payment-service",
                                                            "container": "app", "memory_limit": "1Gi"}},
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment"])


def cron_minutes(c, ago):
    import datetime as dt
    t = c.now - dt.timedelta(seconds=ago_secs(ago))
    return int(t.timestamp()) // 60, t.strftime("%Y-%m-%dT%H:%M:%SZ")


def py_job_container(name, image, args, mem="512Mi", cpu="250m"):
    return ctr(name, image, port=None, req={"cpu": cpu, "memory": mem}, lim={"memory": mem}, command=["python", "-m"] + args)


# ============================================================ 2. healthy
@scenario
def healthy_cluster():
    c = Cluster("healthy-cluster", "2025-12-02T14:20:00Z")
    names = base(c, metrics_server=True, lb_controller=True, ebs_csi=True)
    ns = "production"
    production_apps(c, names, cart=True, cart_rs_created=81 * 60)
    healthy_deploy(c, ns, "payment-service", 2, [java_app("payment-service", "2.4.2", mem_req="512Mi", mem_lim="1Gi")],
                   names, created="160d", rev=3, rs_created="5d", offset=2)
    for p in c.objs:
        if p["kind"] == "Pod" and p["metadata"]["name"].startswith("cart-api-"):
            for cond in p["status"]["conditions"]:
                if cond["type"] in ("Ready", "ContainersReady"):
                    cond["lastTransitionTime"] = c.t(75 * 60 + 2)
    # catalog-api: rolled out 19 minutes ago, finished, every replica available
    cat = lambda v: go_app("catalog-api", v, mem_req="96Mi", mem_lim="192Mi", cpu_req="100m")
    roll = 19 * 60
    d = c.deployment(ns, "catalog-api", created="120d", progress="complete", progress_since=roll - 95,
                     available_since="3d",
                     revisions=[dict(rev=7, containers=[cat("4.11.0")], replicas=0, created="16d"),
                                dict(rev=8, containers=[cat("4.12.0")], replicas=3, created=roll,
                                     pods=[dict(node=spread(names, i), created=roll - 31 * i, statuses=[running(roll - 31 * i - 6)])
                                           for i in range(3)])])
    c.service(ns, "catalog-api", {"app": "catalog-api"}, [("http", 80, "http")], created="120d", labels={"app": "catalog-api"})
    old_rs, new_rs = d["rs"]
    dep = d["deploy"]
    for i, p in enumerate(d["pods"][1]):
        c.scaled(dep, new_rs, i, i + 1, roll - 31 * i)
        c.scaled(dep, old_rs, 3 - i, 2 - i, roll - 31 * i - 20)
        c.rs_created(new_rs, p)
        c.scheduled(p)
        c.start_events(p, "app", roll - 31 * i - 6, pull_secs=1.843 + i / 10)
        # the replaced pods are gone; their Killing events remain for an hour
        oldp = f"{old_rs['metadata']['name']}-{safe('old' + str(i), 5)}"
        c.event({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": oldp, "namespace": ns, "uid": c.uid("Pod", ns, oldp),
                                                                  "resourceVersion": str(c.rv - 5000)}, "spec": {"nodeName": spread(names, i + 1)}},
                "Killing", "Stopping container app", first=roll - 31 * i - 21, field_path="spec.containers{app}")
        c.event(old_rs, "SuccessfulDelete", f"Deleted pod: {oldp}", first=roll - 31 * i - 20, component="replicaset-controller")
    # an old, resolved warning: cart-api's rollout 80 minutes ago had a slow start
    cart = c.get("Deployment", ns, "cart-api")
    cpods = [p for p in c.objs if p["kind"] == "Pod" and p["metadata"]["name"].startswith("cart-api-")]
    c.event(cpods[0], "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", type_="Warning",
            count=3, first=80 * 60 + 40, last=75 * 60 + 10, field_path="spec.containers{app}")
    # HPA and PDB for checkout-api, both content
    c.generic("HorizontalPodAutoscaler", ns, "checkout-api", {
        "spec": {"maxReplicas": 10, "metrics": [{"resource": {"name": "cpu", "target": {"averageUtilization": 70, "type": "Utilization"}},
                                                 "type": "Resource"}],
                 "minReplicas": 3, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout-api"}},
        "status": {"conditions": [
            {"lastTransitionTime": c.t("60d"), "message": "recommended size matches current size", "reason": "ReadyForNewScale",
             "status": "True", "type": "AbleToScale"},
            {"lastTransitionTime": c.t("6d"), "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
             "reason": "ValidMetricFound", "status": "True", "type": "ScalingActive"},
            {"lastTransitionTime": c.t("2d"), "message": "the desired replica count is less than the minimum replica count",
             "reason": "TooFewReplicas", "status": "True", "type": "ScalingLimited"}],
            "currentMetrics": [{"resource": {"current": {"averageUtilization": 23, "averageValue": "117m"}, "name": "cpu"}, "type": "Resource"}],
            "currentReplicas": 3, "desiredReplicas": 3, "lastScaleTime": c.t("2d")}}, created="150d")
    c.generic("PodDisruptionBudget", ns, "checkout-api", {
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "checkout-api"}}},
        "status": {"conditions": [{"lastTransitionTime": c.t("6d"), "message": "", "observedGeneration": 1, "reason": "SufficientPods",
                                   "status": "True", "type": "DisruptionAllowed"}],
                   "currentHealthy": 3, "desiredHealthy": 2, "disruptionsAllowed": 1, "expectedPods": 3, "observedGeneration": 1}},
        created="150d", generation=1)
    c.generic("Ingress", ns, "storefront", {
        "spec": {"ingressClassName": "alb", "rules": [{"host": "shop.example.com", "http": {"paths": [
            {"backend": {"service": {"name": "checkout-api", "port": {"number": 80}}}, "path": "/checkout", "pathType": "Prefix"},
            {"backend": {"service": {"name": "catalog-api", "port": {"number": 80}}}, "path": "/catalog", "pathType": "Prefix"},
            {"backend": {"service": {"name": "cart-api", "port": {"number": 80}}}, "path": "/cart", "pathType": "Prefix"}]}}]},
        "status": {"loadBalancer": {"ingress": [{"hostname": "k8s-producti-storefro-4f1c2b9a7e-1183920044.eu-west-1.elb.amazonaws.com"}]}}},
        created="120d", generation=3, finalizers=["ingress.k8s.aws/resources"],
        annotations={"alb.ingress.kubernetes.io/certificate-arn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/3f1e2d4c-5b6a-4789-9abc-def012345678",
                     "alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/target-type": "ip"})
    # redis StatefulSet with a bound volume
    rc = ctr("redis", "redis:7.2.6-alpine", port=6379, port_name="redis", req={"cpu": "100m", "memory": "256Mi"}, lim={"memory": "512Mi"},
             args=["--appendonly", "yes"], readiness=probe(kind="exec", command=["redis-cli", "ping"], period=5),
             liveness=probe(kind="tcp", port=6379, delay=15), mounts=[{"mountPath": "/data", "name": "data"}])
    c.statefulset(ns, "redis", [rc], replicas=1, service_name="redis-headless", created="100d", vcts=[("data", "8Gi", "gp3")],
                  pods=[dict(node=names[2], created="8d", statuses=[running("8d")])])
    c.pvc(ns, "data-redis-0", "8Gi", "gp3", created="100d", bound_node=names[2], labels={"app": "redis"})
    c.service(ns, "redis-headless", {"app": "redis"}, [("redis", 6379, "redis")], created="100d", headless=True, labels={"app": "redis"})
    c.service(ns, "redis", {"app": "redis"}, [("redis", 6379, "redis")], created="100d", labels={"app": "redis"})
    # a CronJob whose last three runs succeeded; the newest finished 17 minutes ago
    jc = py_job_container("report", f"{ECR}/reporting:1.6.0", ["reporting.hourly", "--since=1h"])
    cj = c.cronjob(ns, "hourly-report", [jc], schedule="0 * * * *", created="70d", last_schedule="20m", last_success="17m",
                   restart_policy="OnFailure")
    for h in (2, 1, 0):
        ago = 20 * 60 + h * 3600
        m, sched = cron_minutes(c, ago)
        jname = f"hourly-report-{m}"
        run = 170 + h * 11
        j = c.job(ns, jname, [jc], created=ago, owner=cj, backoff_limit=2, restart_policy="OnFailure", scheduled_ts=sched,
                  outcome="complete", finished=ago - run - 3,
                  pods=[dict(node=spread(names, h + 1), created=ago, statuses=[terminated("Completed", 0, ago - 3, ago - run)])])
        if h == 0:
            p = j["pods"][0]
            c.event(cj, "SuccessfulCreate", f"Created job {jname}", first=ago, component="cronjob-controller")
            c.rs_created(j["job"], p)
            c.scheduled(p)
            c.start_events(p, "report", ago - 3, present=True)
            c.event(j["job"], "Completed", "Job completed", first=ago - run - 3, component="job-controller")
            c.event(cj, "SawCompletedJob", f"Saw completed job: {jname}, condition: Complete", first=ago - run - 2,
                    component="cronjob-controller")
            old_m, _ = cron_minutes(c, ago + 3 * 3600)
            c.event(cj, "SuccessfulDelete", f"Deleted job hourly-report-{old_m}", first=ago - run - 2, component="cronjob-controller")
            c.log(p, "report", "\n".join([
                f"{ts(c, ago - 4, fmt='py')} INFO reporting.hourly: window 2025-12-02T13:00:00Z..2025-12-02T14:00:00Z",
                f"{ts(c, ago - 31, fmt='py')} INFO reporting.hourly: aggregated 48211 orders, 1932 refunds",
                f"{ts(c, ago - run + 2, fmt='py')} INFO reporting.hourly: wrote s3://acme-reports-prod/hourly/2025-12-02T13.parquet (2.1 MiB)",
                f"{ts(c, ago - run + 1, fmt='py')} INFO reporting.hourly: done in {run - 4}s"]))
    return c, expect("Is anything wrong in the production namespace?", None, True, [],
                     must_not=["restart_deployment", "rollback_deployment", "scale_deployment", "set_container_resources"])


def pull_attempts(age, cap=300):
    """Seconds-ago of each image pull attempt for a pod whose first pull was `age` seconds ago."""
    out, t, k = [], age, 0
    while t > 0:
        out.append(t)
        t -= min(10 * 2 ** k, cap) + 1
        k += 1
    return out


def image_pull_fail_events(c, pod, container, err, first):
    img = [x for x in pod["spec"]["containers"] if x["name"] == container][0]["image"]
    fp = f"spec.containers{{{container}}}"
    att = pull_attempts(first)
    n = len(att)
    c.event(pod, "Pulling", f'Pulling image "{img}"', count=n, first=att[0], last=att[-1], field_path=fp)
    c.event(pod, "Failed", f'Failed to pull image "{img}": {err}', type_="Warning", count=n, first=att[0] - 1,
            last=att[-1] - 1, field_path=fp)
    c.event(pod, "Failed", "Error: ErrImagePull", type_="Warning", count=n, first=att[0] - 1, last=att[-1] - 1, field_path=fp)
    nb = max(1, (first - 2) // 13)
    c.event(pod, "BackOff", f'Back-off pulling image "{img}"', count=nb, first=att[0] - 2, last=4, field_path=fp)
    c.event(pod, "Failed", "Error: ImagePullBackOff", type_="Warning", count=nb, first=att[0] - 2, last=4, field_path=fp)


def failed_scheduling(c, pod, message, first, every=300):
    created = c.age(pod)
    n = max(1, int(first // every) + 1)
    return c.event(pod, "FailedScheduling", message, type_="Warning", component="default-scheduler", new_api=True,
                   first=first, last=min(first, 30 + int(sha(message)[0]) % 200), count=n)


# ============================================================ 3. image tag not found
@scenario
def image_pull_bad_tag():
    c = Cluster("image-pull-bad-tag", "2025-12-03T09:41:27Z")
    names = base(c, namespaces=("production", "storefront"))
    production_apps(c, names)
    ns = "storefront"
    app = lambda v: node_app("inventory-api", v, mem_req="192Mi", mem_lim="384Mi", cpu_req="150m",
                             env_=[env("NODE_ENV", "production"), env("PORT", "3000")])
    roll = 7 * 60 + 12
    pname = "inventory-api-5c8f7d9b6-q7wzt"
    img = f"{ECR}/inventory-api:1.8.3"
    d = c.deployment(ns, "inventory-api", created="75d", progress="progressing", progress_since=roll,
                     revisions=[dict(rev=3, containers=[app("1.8.1")], replicas=0, created="22d"),
                                dict(rev=4, containers=[app("1.8.2")], replicas=3, created="9d",
                                     pods=[dict(node=spread(names, i), statuses=[running(ago_secs("9d") - 9 - 17 * i)]) for i in range(3)]),
                                dict(rev=5, containers=[app("1.8.3")], replicas=1, created=roll, hash="5c8f7d9b6",
                                     pods=[dict(name=pname, node=names[1], created=roll,
                                                statuses=[waiting("ImagePullBackOff", f'Back-off pulling image "{img}"', pulled=False)])])])
    dep, rs_new, pod = d["deploy"], d["rs"][2], d["pods"][2][0]
    c.service(ns, "inventory-api", {"app": "inventory-api"}, [("http", 80, "http")], created="75d", labels={"app": "inventory-api"})
    c.scaled(dep, rs_new, 0, 1, roll)
    c.rs_created(rs_new, pod)
    c.scheduled(pod)
    image_pull_fail_events(c, pod, "app",
                           f'rpc error: code = NotFound desc = failed to pull and unpack image "{img}": failed to resolve reference '
                           f'"{img}": {img}: not found', roll - 2)
    return c, expect(
        "Why is the inventory-api rollout in storefront not finishing?",
        {"kind": "Deployment", "namespace": ns, "name": "inventory-api"}, False,
        [dict(finding("Pod", ns, pname, "error", "ImagePullNotFound", ["inventory-api:1.8.3", "not found"]),
              also_accept=[{"kind": "Deployment", "name": "inventory-api"}])],
        action={"tool": "rollback_deployment", "args": {"namespace": ns, "deployment": "inventory-api", "revision": 4}},
        must_not=["restart_deployment", "set_container_resources", "scale_deployment"])


# ============================================================ 4. image pull unauthorized
@scenario
def image_pull_auth():
    c = Cluster("image-pull-auth", "2025-12-04T16:05:40Z")
    names = base(c, namespaces=("production", "analytics"))
    production_apps(c, names)
    ns = "analytics"
    img = "987654321098.dkr.ecr.eu-west-1.amazonaws.com/platform/events-ingest:2.0.0"
    cont = go_app("events-ingest", "2.0.0", image=img, mem_req="128Mi", mem_lim="256Mi", cpu_req="200m",
                  env_=[env("KAFKA_BROKERS", "b-1.analytics-msk.k3x9qa.c4.kafka.eu-west-1.amazonaws.com:9092"),
                        env("LOG_LEVEL", "info")])
    age = 24 * 60 + 50
    d = c.deployment(ns, "events-ingest", created=age, progress="deadline", progress_since=age - 600,
                     available_since=age - 1,
                     revisions=[dict(rev=1, containers=[cont], replicas=2, created=age,
                                     pods=[dict(node=names[i], created=age - 1,
                                                statuses=[waiting("ImagePullBackOff", f'Back-off pulling image "{img}"', pulled=False)])
                                           for i in (0, 2)])])
    c.service(ns, "events-ingest", {"app": "events-ingest"}, [("http", 80, "http")], created=age, labels={"app": "events-ingest"})
    dep, rs = d["deploy"], d["rs"][0]
    c.scaled(dep, rs, 0, 2, age)
    host = img.split("/")[0]
    err = (f'rpc error: code = Unknown desc = failed to pull and unpack image "{img}": failed to resolve reference "{img}": '
           f'unexpected status from HEAD request to https://{host}/v2/platform/events-ingest/manifests/2.0.0: 403 Forbidden')
    for p in d["pods"][0]:
        c.rs_created(rs, p)
        c.scheduled(p)
        image_pull_fail_events(c, p, "app", err, age - 3)
    # the old analytics service from this account pulls fine
    healthy_deploy(c, ns, "clickstream-api", 2, [go_app("clickstream-api", "1.3.2")], names, created="80d", rev=4, rs_created="11d")
    return c, expect(
        "events-ingest in analytics never started, why?",
        {"kind": "Deployment", "namespace": ns, "name": "events-ingest"}, False,
        [dict(finding("Deployment", ns, "events-ingest", "error", "ImagePullAuth",
                      ["403 Forbidden", "987654321098"]),
              also_accept=[{"kind": "Pod", "name_prefix": "events-ingest-"}])],
        must_not=["restart_deployment", "rollback_deployment", "set_container_resources", "scale_deployment"])


# ============================================================ 5. secret key missing
@scenario
def missing_secret_key():
    c = Cluster("missing-secret-key", "2025-12-05T11:12:03Z")
    names = base(c)
    production_apps(c, names)
    ns = "production"
    c.secret(ns, "db-credentials", ["DB_HOST", "DB_NAME", "DB_PASS", "DB_USER"], "300d" if False else "170d")
    cont = java_app("ledger-service", "1.0.0", mem_req="512Mi", mem_lim="1Gi",
                    env_=[env("SPRING_PROFILES_ACTIVE", "prod"), env("DB_HOST", secret=("db-credentials", "DB_HOST")),
                          env("DB_USER", secret=("db-credentials", "DB_USER")),
                          env("DB_PASSWORD", secret=("db-credentials", "DB_PASSWORD"))])
    age = 18 * 60 + 7
    msg = f"couldn't find key DB_PASSWORD in Secret {ns}/db-credentials"
    d = c.deployment(ns, "ledger-service", created=age, progress="deadline", progress_since=age - 601, available_since=age - 1,
                     revisions=[dict(rev=1, containers=[cont], replicas=2, created=age,
                                     pods=[dict(node=names[i], created=age - 1,
                                                statuses=[waiting("CreateContainerConfigError", msg, pulled=True)])
                                           for i in (1, 2)])])
    c.service(ns, "ledger-service", {"app": "ledger-service"}, [("http", 80, "http")], created=age, labels={"app": "ledger-service"})
    dep, rs = d["deploy"], d["rs"][0]
    c.scaled(dep, rs, 0, 2, age)
    img = cont["image"]
    for i, p in enumerate(d["pods"][0]):
        c.rs_created(rs, p)
        c.scheduled(p)
        n = (age - 4) // 14
        c.event(p, "Pulling", f'Pulling image "{img}"', first=age - 3, field_path="spec.containers{app}")
        c.event(p, "Pulled", f'Successfully pulled image "{img}" in 4.417s (4.417s including waiting). Image size: 187339211 bytes.',
                first=age - 8, field_path="spec.containers{app}")
        c.event(p, "Pulled", f'Container image "{img}" already present on machine', count=n, first=age - 22, last=9 + i,
                field_path="spec.containers{app}")
        c.event(p, "Failed", f"Error: {msg}", type_="Warning", count=n + 1, first=age - 8, last=9 + i, field_path="spec.containers{app}")
    return c, expect(
        "Why won't ledger-service start?", {"kind": "Deployment", "namespace": ns, "name": "ledger-service"}, False,
        [dict(finding("Deployment", ns, "ledger-service", "error", "SecretKeyMissing", ["DB_PASSWORD", "db-credentials"]),
              also_accept=[{"kind": "Pod", "name_prefix": "ledger-service-"}, {"kind": "Secret", "name": "db-credentials"}])],
        must_not=["restart_deployment", "rollback_deployment", "set_container_resources", "scale_deployment"])


# ============================================================ 6. configmap missing
@scenario
def missing_configmap():
    c = Cluster("missing-configmap", "2025-12-06T15:33:48Z")
    names = base(c, namespaces=("production", "web"))
    production_apps(c, names)
    ns = "web"
    c.configmap(ns, "storefront-web-config", ["API_BASE_URL", "CDN_URL"], "60d")
    cont = node_app("storefront-web", "2.7.0", mem_req="256Mi", mem_lim="512Mi", cpu_req="200m",
                    env_from=[{"configMapRef": {"name": "storefront-web-config"}}, {"configMapRef": {"name": "feature-flags"}}],
                    env_=[env("NODE_ENV", "production")])
    age = 9 * 60 + 31
    msg = 'configmap "feature-flags" not found'
    d = c.deployment(ns, "storefront-web", created="60d", progress="progressing", progress_since=age,
                     revisions=[dict(rev=11, containers=[node_app("storefront-web", "2.6.4", mem_req="256Mi", mem_lim="512Mi", cpu_req="200m",
                                                                  env_from=[{"configMapRef": {"name": "storefront-web-config"}}],
                                                                  env_=[env("NODE_ENV", "production")])],
                                     replicas=2, created="8d",
                                     pods=[dict(node=names[i], statuses=[running(ago_secs("8d") - 12 - 14 * i)]) for i in (0, 2)]),
                                dict(rev=12, containers=[cont], replicas=1, created=age,
                                     pods=[dict(node=names[1], created=age - 1,
                                                statuses=[waiting("CreateContainerConfigError", msg)])])])
    c.service(ns, "storefront-web", {"app": "storefront-web"}, [("http", 80, "http")], created="60d", labels={"app": "storefront-web"})
    dep, rs = d["deploy"], d["rs"][1]
    p = d["pods"][1][0]
    c.scaled(dep, rs, 0, 1, age)
    c.rs_created(rs, p)
    c.scheduled(p)
    img = cont["image"]
    n = (age - 4) // 14
    c.event(p, "Pulling", f'Pulling image "{img}"', first=age - 3, field_path="spec.containers{app}")
    c.event(p, "Pulled", f'Successfully pulled image "{img}" in 3.022s (3.022s including waiting). Image size: 96514003 bytes.',
            first=age - 6, field_path="spec.containers{app}")
    c.event(p, "Pulled", f'Container image "{img}" already present on machine', count=n, first=age - 20, last=11,
            field_path="spec.containers{app}")
    c.event(p, "Failed", f"Error: {msg}", type_="Warning", count=n + 1, first=age - 6, last=11, field_path="spec.containers{app}")
    return c, expect(
        "The new storefront-web version is not coming up, what's wrong?",
        {"kind": "Deployment", "namespace": ns, "name": "storefront-web"}, False,
        [dict(finding("Pod", ns, p["metadata"]["name"], "error", "ConfigMapNotFound", ["feature-flags"]),
              also_accept=[{"kind": "Deployment", "name": "storefront-web"}])],
        action={"tool": "rollback_deployment", "args": {"namespace": ns, "deployment": "storefront-web", "revision": 11}},
        must_not=["restart_deployment", "set_container_resources", "scale_deployment"])


# ============================================================ 7. insufficient memory
@scenario
def pending_insufficient_memory():
    c = Cluster("pending-insufficient-memory", "2025-12-07T08:52:19Z")
    names = base(c, itype="t3.medium", nodegroup="small", namespaces=("production", "ml"))
    production_apps(c, names, checkout=False)
    ns = "ml"
    cont = ctr("model-server", f"{ECR}/recommender:0.9.2", port=8501, req={"cpu": "1", "memory": "8Gi"}, lim={"memory": "8Gi"},
               env=[env("MODEL_PATH", "s3://acme-ml-models/recommender/2025-12-01/"), env("OMP_NUM_THREADS", "2")],
               readiness=probe("/v1/models/recommender", 8501, delay=30), port_name="http")
    age = 34 * 60 + 5
    d = c.deployment(ns, "recommender", created=age, progress="deadline", progress_since=age - 601, available_since=age - 1,
                     revisions=[dict(rev=1, containers=[cont], replicas=1, created=age,
                                     pods=[dict(node=None, created=age - 1,
                                                unschedulable="0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")])])
    c.service(ns, "recommender", {"app": "recommender"}, [("http", 80, "http")], created=age, labels={"app": "recommender"})
    p = d["pods"][0][0]
    c.scaled(d["deploy"], d["rs"][0], 0, 1, age)
    c.rs_created(d["rs"][0], p)
    failed_scheduling(c, p, "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
                      age - 1)
    return c, expect(
        "Why is the recommender pod stuck in Pending?", {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"]}, False,
        [dict(finding("Pod", ns, p["metadata"]["name"], "error", "InsufficientResources", ["8Gi", "Insufficient memory"]),
              also_accept=[{"kind": "Deployment", "name": "recommender"}])],
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment"])


# ============================================================ 8. PVC unbound, StorageClass missing
@scenario
def pending_unbound_pvc():
    c = Cluster("pending-unbound-pvc", "2025-12-08T13:27:55Z")
    names = base(c, namespaces=("production", "data"), ebs_csi=True)
    production_apps(c, names)
    ns = "data"
    age = 21 * 60 + 40
    pg = ctr("postgres", "postgres:16.4", port=5432, port_name="postgres", req={"cpu": "500m", "memory": "1Gi"}, lim={"memory": "2Gi"},
             env=[env("POSTGRES_USER", secret=("postgres-auth", "username")),
                  env("POSTGRES_PASSWORD", secret=("postgres-auth", "password")),
                  env("PGDATA", "/var/lib/postgresql/data/pgdata")],
             readiness=probe(kind="exec", command=["pg_isready", "-U", "postgres"], delay=5),
             liveness=probe(kind="exec", command=["pg_isready", "-U", "postgres"], delay=30),
             mounts=[{"mountPath": "/var/lib/postgresql/data", "name": "data"}])
    c.secret(ns, "postgres-auth", ["password", "username"], age)
    msg = ("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: "
           "3 Preemption is not helpful for scheduling.")
    s = c.statefulset(ns, "postgres", [pg], replicas=1, service_name="postgres-headless", created=age,
                      vcts=[("data", "50Gi", "gp3-encrypted")], pods=[dict(node=None, created=age - 1, unschedulable=msg)],
                      current_replicas=1)
    pvc = c.pvc(ns, "data-postgres-0", "50Gi", "gp3-encrypted", created=age - 1, labels={"app": "postgres"})
    c.service(ns, "postgres", {"app": "postgres"}, [("postgres", 5432, "postgres")], created=age, labels={"app": "postgres"})
    c.service(ns, "postgres-headless", {"app": "postgres"}, [("postgres", 5432, "postgres")], created=age, headless=True,
              labels={"app": "postgres"})
    p = s["pods"][0]
    c.event(s["sts"], "SuccessfulCreate", "create Claim data-postgres-0 Pod postgres-0 in StatefulSet postgres success",
            first=age - 1, component="statefulset-controller")
    c.rs_created(s["sts"], p, age - 1)
    c.event(pvc, "ProvisioningFailed", 'storageclass.storage.k8s.io "gp3-encrypted" not found', type_="Warning",
            count=(age - 1) // 15 + 1, first=age - 1, last=6, component="persistentvolume-controller")
    failed_scheduling(c, p, msg, age - 1)
    return c, expect(
        "Why does the postgres service in data have no endpoints?", {"kind": "Service", "namespace": ns, "name": "postgres"}, False,
        [finding("PersistentVolumeClaim", ns, "data-postgres-0", "error", "StorageClassNotFound", ["gp3-encrypted", "data-postgres-0"]),
         dict(finding("Pod", ns, "postgres-0", "error", "UnboundPVC", ["postgres-0", "Pending"]),
              also_accept=[{"kind": "StatefulSet", "name": "postgres"}])],
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment", "set_container_resources"])


# ============================================================ 9. service selector matches nothing
@scenario
def service_selector_mismatch():
    c = Cluster("service-selector-mismatch", "2025-12-09T10:02:31Z")
    names = base(c)
    production_apps(c, names, orders=False, cart=True)
    ns = "production"
    c.secret(ns, "orders-db", ["url"], "170d")
    healthy_deploy(c, ns, "orders-api", 2,
                   [go_app("orders-api", "3.0.4", mem_req="128Mi", mem_lim="256Mi", cpu_req="200m",
                           env_=[env("DATABASE_URL", secret=("orders-db", "url")), env("LOG_LEVEL", "info")])],
                   names, created="170d", rev=6, rs_created="4d", offset=1, svc=False)
    svc = c.service(ns, "orders-api", {"app": "orders-api-v2"}, [("http", 80, "http")], created="170d", labels={"app": "orders-api"})
    svc["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": ""}
    del svc["metadata"]["annotations"]
    # checkout-api cannot reach orders-api
    cp = [p for p in c.objs if p["kind"] == "Pod" and p["metadata"]["name"].startswith("checkout-api-")][0]
    L = lambda a, lvl, th, lg, m: spring_line(c, a, lvl, "checkout-api", th, lg, m)
    lines = []
    for i, a in enumerate(range(1500, 20, -97)):
        lines.append(L(a, "INFO", f"nio-8080-exec-{i % 9 + 1}", "c.e.checkout.api.CheckoutController", f"POST /v1/checkout started cart={hexs(str(a), 8)}"))
        lines.append(L(a - 0.05, "ERROR", f"nio-8080-exec-{i % 9 + 1}", "c.e.checkout.orders.OrdersClient",
                       "Failed to create order: I/O error on POST request for \"http://orders-api.production.svc.cluster.local/v1/orders\": Connection refused"))
        if i == 0:
            lines += ["", "org.springframework.web.client.ResourceAccessException: I/O error on POST request for \"http://orders-api.production.svc.cluster.local/v1/orders\": Connection refused",
                      "\tat org.springframework.web.client.RestTemplate.createResourceAccessException(RestTemplate.java:926)",
                      "\tat org.springframework.web.client.RestTemplate.doExecute(RestTemplate.java:906)",
                      "\tat com.example.checkout.orders.OrdersClient.create(OrdersClient.java:61)",
                      "Caused by: java.net.ConnectException: Connection refused",
                      "\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)",
                      "\tat java.base/sun.nio.ch.NioSocketImpl.timedFinishConnect(NioSocketImpl.java:542)",
                      "\t... 58 common frames omitted", ""]
        lines.append(L(a - 0.06, "WARN", f"nio-8080-exec-{i % 9 + 1}", "c.e.checkout.api.CheckoutController", "POST /v1/checkout 502 (7 ms)"))
    c.log(cp, "app", "\n".join(lines))
    return c, expect(
        "Checkout is returning 502s when it calls orders-api. Why?", {"kind": "Service", "namespace": ns, "name": "orders-api"}, False,
        [finding("Service", ns, "orders-api", "error", "NoEndpointsSelectorMismatch", ["orders-api-v2", "app=orders-api"])],
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment", "set_container_resources"])
