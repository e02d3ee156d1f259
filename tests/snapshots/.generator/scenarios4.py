"""Scenarios for the diagnostic tools: check_resource_usage (metrics-server usage) and connectivity_test
(a NetworkPolicy between a client and a Service).

Also teaches the generator the resource metrics API: PodMetrics and NodeMetrics objects as
`kubectl get podmetrics -A -o yaml` / `kubectl get nodemetrics -o yaml` print them (no uid, no
resourceVersion; creationTimestamp is the moment they were read; usage in nanocores and Ki), listed after
the other kinds, as in shared/core/src/kinds.rs."""
import klib
from scenarios import scenario, finding, expect, production_apps
from base import base, go_app, java_app, spread
from klib import Cluster, env, running, last_term, ago_secs, sha, quantity_mi, cpu_m
from logs import spring_line, spring_startup
from scenarios2 import go_json

for _k in ("PodMetrics", "NodeMetrics"):
    if _k not in klib.KIND_ORDER:
        klib.KIND_ORDER.append(_k)
klib.CLUSTER_SCOPED.add("NodeMetrics")
klib.API_VERSION.update({"PodMetrics": "metrics.k8s.io/v1beta1", "NodeMetrics": "metrics.k8s.io/v1beta1"})


def _frac(seed, lo, hi):
    return lo + (hi - lo) * (int.from_bytes(sha(seed)[:2], "big") / 65535)


class MetricsCluster(Cluster):
    """A cluster running metrics-server: after the objects are final, every running pod gets a PodMetrics
    and every node a NodeMetrics. `usage` overrides {(ns, pod, container): (cpu_m, mem_mi)}."""

    def __init__(self, *a, usage=None, **kw):
        super().__init__(*a, **kw)
        self.usage = usage or {}

    def finalize(self):
        super().finalize()
        stamp = self.t(17)
        node_use = {}
        metrics = []
        for p in [o for o in self.objs if o["kind"] == "Pod"]:
            st = p.get("status", {})
            if st.get("phase") != "Running" or p["metadata"].get("deletionTimestamp"):
                continue
            ns, name = p["metadata"]["namespace"], p["metadata"]["name"]
            conts = []
            for c in p["spec"]["containers"]:
                req = c.get("resources", {}).get("requests", {})
                lim = c.get("resources", {}).get("limits", {})
                key = (ns, name, c["name"])
                if key in self.usage:
                    cpu, mem = self.usage[key]
                else:
                    seed = f"{self.name}/{ns}/{name}/{c['name']}"
                    cpu = cpu_m(req.get("cpu", "50m")) * _frac(seed + "cpu", 0.08, 0.45)
                    base_mem = quantity_mi(req["memory"]) if "memory" in req else quantity_mi(lim.get("memory", "128Mi")) * 0.5
                    mem = base_mem * _frac(seed + "mem", 0.45, 0.8)
                conts.append({"name": c["name"], "usage": {"cpu": f"{int(cpu * 1_000_000)}n", "memory": f"{int(mem * 1024)}Ki"}})
                node = p["spec"].get("nodeName")
                u = node_use.setdefault(node, [0.0, 0.0])
                u[0] += cpu
                u[1] += mem
            metrics.append({"apiVersion": "metrics.k8s.io/v1beta1", "containers": conts, "kind": "PodMetrics",
                            "metadata": {"creationTimestamp": self.t(0), "labels": dict(p["metadata"].get("labels", {})),
                                         "name": name, "namespace": ns},
                            "timestamp": stamp, "window": "15.018s"})
        for name, node in sorted(self.nodes.items()):
            cpu, mem = node_use.get(name, [0.0, 0.0])
            # the kubelet, containerd and the system slice use some on top of the pods
            cpu += 61 + _frac(name + "sys", 0, 40)
            mem += 612 + _frac(name + "sysm", 0, 180)
            metrics.append({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
                            "metadata": {"creationTimestamp": self.t(0), "labels": dict(node["metadata"]["labels"]),
                                         "name": name},
                            "timestamp": stamp, "usage": {"cpu": f"{int(cpu * 1_000_000)}n", "memory": f"{int(mem * 1024)}Ki"},
                            "window": "20.041s"})
        self.objs.extend(metrics)


# ============================================================ metrics: a deployment near its memory limit
@scenario
def metrics_memory_near_limit():
    ns = "search"
    c = MetricsCluster("metrics-memory-near-limit", "2025-12-29T14:20:41Z")
    names = base(c, namespaces=("production", ns), metrics_server=True)
    production_apps(c, names)
    cont = java_app("search-api", "7.4.2", mem_req="768Mi", mem_lim="1Gi", cpu_req="500m",
                    env_=[env("SPRING_PROFILES_ACTIVE", "prod"), env("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=75.0 -XX:+UseG1GC"),
                          env("SEARCH_CACHE_MAX_ENTRIES", "400000")])
    rs_age = ago_secs("3d")
    oom_end = 27 * 60 + 14
    oom_start = rs_age - 9
    pods = []
    for i in range(3):
        if i == 0:
            st = running(oom_end - 6, restarts=1, last=last_term("OOMKilled", 137, oom_start, oom_end))
        else:
            st = running(rs_age - 9 - 23 * i)
        pods.append(dict(node=spread(names, i), created=rs_age, statuses=[st]))
    d = c.deployment(ns, "search-api", created="210d",
                     revisions=[dict(rev=13, containers=[java_app("search-api", "7.4.1", mem_req="768Mi", mem_lim="1Gi", cpu_req="500m")],
                                     replicas=0, created="24d"),
                                dict(rev=14, containers=[cont], replicas=3, created=rs_age, pods=pods)])
    c.service(ns, "search-api", {"app": "search-api"}, [("http", 80, "http")], created="210d", labels={"app": "search-api"})
    p0, p1, p2 = d["pods"][1]
    n0 = c.nodes[p0["spec"]["nodeName"]]
    c.event(n0, "SystemOOM", "System OOM encountered, victim process: java, pid: 41873", type_="Warning",
            first=oom_end, last=oom_end)
    for reason, msg in (("Pulled", f'Container image "{cont["image"]}" already present on machine'),
                        ("Created", "Created container app"), ("Started", "Started container app")):
        c.event(p0, reason, msg, first=oom_end - 3, last=oom_end - 3, field_path="spec.containers{app}")
    c.usage = {(ns, p0["metadata"]["name"], "app"): (212.0, 703.0),
               (ns, p1["metadata"]["name"], "app"): (341.0, 962.0),
               (ns, p2["metadata"]["name"], "app"): (318.0, 948.0)}
    L = lambda a, lvl, th, lg, m: spring_line(c, a, lvl, "search-api", th, lg, m)
    # the instance that was killed, then the current one
    prev = spring_startup(c, oom_start, "search-api", "SearchApiApplication", "7.4.2", pkg="c.e.search", db=False)
    prev += [L(oom_end + 3 * 3600 + 12, "INFO", "cache-refresh-1", "c.e.search.cache.ResultCache", "result cache at 371204/400000 entries"),
             L(oom_end + 2 * 3600 + 8, "WARN", "cache-refresh-1", "c.e.search.cache.ResultCache", "heap 89% used after cache refresh (684Mi of 768Mi max heap)"),
             L(oom_end + 3600 + 41, "WARN", "cache-refresh-1", "c.e.search.cache.ResultCache", "heap 94% used after cache refresh (722Mi of 768Mi max heap)"),
             L(oom_end + 33, "WARN", "G1 Conc#0", "c.e.search.jvm.GcMonitor", "G1 old generation 97% full after mixed collection; pause 412 ms"),
             L(oom_end + 2, "INFO", "nio-8080-exec-4", "c.e.search.api.SearchController", "GET /v2/search?q=winter+boots 200 (388 ms)")]
    c.log(p0, "app", "\n".join(prev), previous=True)
    cur = spring_startup(c, oom_end - 6, "search-api", "SearchApiApplication", "7.4.2", pkg="c.e.search", db=False)
    cur += [L(oom_end - 60, "INFO", "cache-refresh-1", "c.e.search.cache.ResultCache", "result cache warming: 0/400000 entries"),
            L(9 * 60, "INFO", "cache-refresh-1", "c.e.search.cache.ResultCache", "result cache at 188310/400000 entries"),
            L(40, "INFO", "nio-8080-exec-2", "c.e.search.api.SearchController", "GET /v2/search?q=rain+jacket 200 (142 ms)")]
    c.log(p0, "app", "\n".join(cur))
    for p, heap in ((p1, 731), (p2, 719)):
        s = rs_age - 9
        lines = spring_startup(c, s, "search-api", "SearchApiApplication", "7.4.2", pkg="c.e.search", db=False)
        lines += [L(3 * 3600 + 5, "INFO", "cache-refresh-1", "c.e.search.cache.ResultCache", "result cache at 398113/400000 entries"),
                  L(14 * 60 + 3, "WARN", "cache-refresh-1", "c.e.search.cache.ResultCache",
                    f"heap {round(heap / 768 * 100)}% used after cache refresh ({heap}Mi of 768Mi max heap)"),
                  L(52, "INFO", "nio-8080-exec-7", "c.e.search.api.SearchController", "GET /v2/search?q=gloves 200 (97 ms)")]
        c.log(p, "app", "\n".join(lines))
    return c, expect(
        f"Pod {p0['metadata']['name']} in search restarted half an hour ago. Is search-api running out of memory?",
        {"kind": "Deployment", "namespace": ns, "name": "search-api"}, False,
        [dict(finding("Pod", ns, p0["metadata"]["name"], "warning", "OOMKilled", ["1Gi", "OOMKilled"]),
              also_accept=[{"kind": "Deployment", "name": "search-api"}])],
        action={"tool": "set_container_resources",
                "args": {"namespace": ns, "deployment": "search-api", "container": "app", "memory_limit": "2Gi"}},
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment"],
        should_mention=["962Mi", "94%"],
        tools=[{"tool": "check_resource_usage", "args": {"namespace": ns, "deployment": "search-api"},
                "metrics": True, "reasons": ["OOMKilled", "MemoryNearLimit"],
                "must_mention": ["962Mi", "1Gi", "94%", p1["metadata"]["name"]]},
               {"tool": "check_resource_usage", "args": {"namespace": "production"},
                "metrics": True, "healthy": True, "must_mention": ["checkout-api"]}])


# ============================================================ connectivity: a NetworkPolicy drops a client's traffic
@scenario
def networkpolicy_blocks_service():
    ns = "payments"
    c = Cluster("networkpolicy-blocks-service", "2025-12-30T09:41:17Z")
    names = base(c, namespaces=("production", ns))
    production_apps(c, names)
    applied = 22 * 60 + 5
    cont = go_app("payments-api", "2.8.0", mem_req="128Mi", mem_lim="256Mi", cpu_req="200m",
                  env_=[env("PSP_ENDPOINT", "https://api.psp.example.com/v1"), env("LOG_FORMAT", "json")])
    rs_age = ago_secs("5d")
    d = c.deployment(ns, "payments-api", created="160d",
                     revisions=[dict(rev=9, containers=[cont], replicas=2, created=rs_age,
                                     pods=[dict(node=spread(names, i, 1), created=rs_age, statuses=[running(rs_age - 8 - 19 * i)])
                                           for i in range(2)])])
    c.service(ns, "payments-api", {"app": "payments-api"}, [("http", 80, "http")], created="160d", labels={"app": "payments-api"})
    c.generic("NetworkPolicy", ns, "default-deny-ingress", {"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
              created=applied, generation=1)
    c.generic("NetworkPolicy", ns, "allow-checkout-to-payments-api", {"spec": {
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "production"}},
                               "podSelector": {"matchLabels": {"app": "checkout-api"}}}],
                     "ports": [{"port": 8080, "protocol": "TCP"}]}],
        "podSelector": {"matchLabels": {"app": "payment-api"}}, "policyTypes": ["Ingress"]}}, created=applied, generation=1)
    checkout = sorted([o for o in c.objs if o["kind"] == "Pod" and o["metadata"]["name"].startswith("checkout-api-")],
                      key=lambda o: o["metadata"]["name"])
    svc_ip = [o for o in c.objs if o["kind"] == "Service" and o["metadata"]["name"] == "payments-api"][0]["spec"]["clusterIP"]
    for k, p in enumerate(checkout):
        L = lambda a, lvl, th, lg, m: spring_line(c, a, lvl, "checkout-api", th, lg, m)
        lines = []
        for j in range(4):
            a = applied + 600 - 140 * j - 11 * k
            lines.append(L(a, "INFO", f"nio-8080-exec-{j + 2}", "c.e.checkout.payment.PaymentClient",
                           f"POST http://payments-api.payments.svc.cluster.local/v1/charges 201 ({180 + 13 * j} ms)"))
        for j in range(6):
            a = applied - 95 - 190 * j - 7 * k
            lines.append(L(a, "ERROR", f"nio-8080-exec-{(j + k) % 9 + 1}", "c.e.checkout.payment.PaymentClient",
                           f'charge failed for order {8830412 + 97 * j + k}: I/O error on POST request for '
                           f'"http://payments-api.payments.svc.cluster.local/v1/charges": Connect timed out (connect to {svc_ip}:80 after 5000 ms)'))
            lines.append(L(a - 0.01, "WARN", f"nio-8080-exec-{(j + k) % 9 + 1}", "c.e.checkout.api.CheckoutController",
                           "POST /v1/checkout 502 (5031 ms): payment provider unreachable"))
        lines.sort(key=lambda s: s[:24])
        c.log(p, "app", "\n".join(lines))
    for i, p in enumerate(d["pods"][0]):
        lines = [go_json(c, rs_age - 9 - 19 * i, "INFO", "payments-api listening", addr=":8080", version="2.8.0")]
        for j in range(3):
            lines.append(go_json(c, applied + 900 - 200 * j - 3 * i, "INFO", "charge created", status=201, route="/v1/charges",
                                 duration_ms=150 + 11 * j))
        lines.append(go_json(c, 45 + 7 * i, "INFO", "health", route="/ready", status=200))
        c.log(p, "app", "\n".join(lines))
    src = checkout[0]["metadata"]["name"]
    return c, expect(
        "checkout-api times out calling payments-api since about 20 minutes ago. What is wrong in the payments namespace?",
        {"kind": "Service", "namespace": ns, "name": "payments-api"}, False,
        # The allow policy's typo is the root cause; the default deny doing its job is the other face of it.
        [dict(finding("NetworkPolicy", ns, "allow-checkout-to-payments-api", "warning", "NetworkPolicySelectsNothing",
                      ["default-deny-ingress", "payments-api"]),
              also_accept=[{"kind": "NetworkPolicy", "name": "default-deny-ingress", "reason": "DefaultDenyBlocksService"}])],
        must_not=["restart_deployment", "rollback_deployment", "scale_deployment", "set_container_resources"],
        should_mention=["allow-checkout-to-payments-api", "app=payment-api", "Connect timed out"],
        tools=[{"tool": "connectivity_test",
                "args": {"namespace": ns, "service": "payments-api", "port": 80, "source_namespace": "production", "source_pod": src},
                "first_broken": "ingress_policy",
                "must_mention": ["default-deny-ingress", "8080/TCP", f"pod production/{src}", "allow-checkout-to-payments-api"]},
               {"tool": "connectivity_test", "args": {"namespace": ns, "service": "payments-api"},
                "first_broken": "ingress_policy", "must_mention": ["dropped from everywhere"]},
               {"tool": "connectivity_test",
                "args": {"namespace": "production", "service": "orders-api", "port": 80, "source_namespace": "production", "source_pod": src},
                "first_broken": None, "must_mention": ["no broken link"]}])
