#!/usr/bin/env python3
"""Checks every snapshot folder: YAML parses, objects are well-formed and refer to each other consistently.
Usage: validate.py ROOT  (prints problems; exit 1 on errors; notes are informational)"""
import datetime as dt
import os
import re
import sys

import yaml

NAMESPACED_NOT = {"Namespace", "Node", "PersistentVolume", "StorageClass", "IngressClass", "NodeMetrics"}
KNOWN = {"Namespace", "Node", "Pod", "Service", "Endpoints", "Event", "PersistentVolumeClaim", "PersistentVolume", "ConfigMap",
         "Secret", "ServiceAccount", "ResourceQuota", "LimitRange", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet",
         "Job", "CronJob", "Ingress", "IngressClass", "NetworkPolicy", "StorageClass", "HorizontalPodAutoscaler",
         "PodDisruptionBudget", "PodMetrics", "NodeMetrics"}
# metrics.k8s.io objects are computed on read: no uid, no resourceVersion.
METRICS = {"PodMetrics", "NodeMetrics"}
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
SECRETISH = re.compile(r"AKIA[0-9A-Z]{16}|hunter2|eyJ[A-Za-z0-9_-]{10,}|BEGIN (RSA |EC )?PRIVATE KEY|password=\S+")


def parse_ts(s):
    s = s.replace("Z", "+00:00")
    return dt.datetime.fromisoformat(s)


def walk_times(o, out, path=""):
    if isinstance(o, dict):
        for k, v in o.items():
            if isinstance(v, str) and (k.endswith("Time") or k.endswith("Timestamp") or k.endswith("At")):
                out.append((path + "." + k, v))
            else:
                walk_times(v, out, path + "." + k)
    elif isinstance(o, list):
        for i, v in enumerate(o):
            walk_times(v, out, path + f"[{i}]")


def check(folder):
    errs, notes = [], []
    E = errs.append
    N = notes.append
    name = os.path.basename(folder)
    try:
        doc = yaml.safe_load(open(os.path.join(folder, "cluster.yaml")))
    except Exception as e:  # noqa: BLE001
        return [f"cluster.yaml does not parse: {e}"], []
    try:
        exp = yaml.safe_load(open(os.path.join(folder, "expect.yaml")))
    except Exception as e:  # noqa: BLE001
        return [f"expect.yaml does not parse: {e}"], []
    meta = yaml.safe_load(open(os.path.join(folder, "meta.yaml")))
    now = parse_ts(meta["capturedAt"])
    if doc.get("kind") != "List" or doc.get("apiVersion") != "v1":
        E("cluster.yaml is not a v1 List")
    items = doc["items"]
    by_uid, by_key = {}, {}
    for i, o in enumerate(items):
        for f in ("apiVersion", "kind", "metadata"):
            if f not in o:
                E(f"item {i}: missing {f}")
        k = o.get("kind")
        m = o.get("metadata", {})
        if k not in KNOWN:
            E(f"item {i}: unknown kind {k}")
        if not m.get("name"):
            E(f"item {i}: no name")
        if k not in NAMESPACED_NOT and not m.get("namespace"):
            E(f"{k} {m.get('name')}: no namespace")
        if k in NAMESPACED_NOT and m.get("namespace"):
            E(f"{k} {m.get('name')}: cluster-scoped with namespace")
        uid = m.get("uid")
        if k in METRICS:
            if uid:
                E(f"{k} {m.get('name')}: metrics objects have no uid")
            owner = ("Pod" if k == "PodMetrics" else "Node", m.get("namespace"), m.get("name"))
            if not any((o.get("kind"), o.get("metadata", {}).get("namespace"), o.get("metadata", {}).get("name")) == owner
                       for o in items):
                E(f"{k} {m.get('name')}: no such {owner[0]}")
        elif uid in by_uid:
            E(f"duplicate uid {uid}: {k}/{m.get('name')}")
        if uid:
            by_uid[uid] = o
        key = (k, m.get("namespace"), m.get("name"))
        if key in by_key:
            E(f"duplicate object {key}")
        by_key[key] = o
        times = []
        walk_times(o, times)
        for p, v in times:
            if not TS.match(v):
                E(f"{k}/{m.get('name')} {p}: not RFC3339 {v!r}")
                continue
            if parse_ts(v) > now:
                E(f"{k}/{m.get('name')} {p}: {v} is after capturedAt")
    namespaces = {o["metadata"]["name"] for o in items if o["kind"] == "Namespace"}
    nodes = {o["metadata"]["name"]: o for o in items if o["kind"] == "Node"}
    pods = [o for o in items if o["kind"] == "Pod"]
    for o in items:
        ns = o["metadata"].get("namespace")
        if ns and ns not in namespaces:
            E(f"{o['kind']}/{o['metadata']['name']}: namespace {ns} has no Namespace object")
        for ref in o["metadata"].get("ownerReferences", []):
            own = by_uid.get(ref["uid"])
            if not own or own["kind"] != ref["kind"] or own["metadata"]["name"] != ref["name"]:
                E(f"{o['kind']}/{o['metadata']['name']}: ownerReference {ref['kind']}/{ref['name']} does not resolve")
            elif own["apiVersion"] != ref["apiVersion"]:
                E(f"{o['kind']}/{o['metadata']['name']}: ownerReference apiVersion {ref['apiVersion']} != {own['apiVersion']}")
    ips = {}
    for p in pods:
        md, sp, st = p["metadata"], p["spec"], p.get("status", {})
        pn = md["name"]
        ns = md["namespace"]
        for ref in md.get("ownerReferences", []):
            if ref["kind"] == "ReplicaSet":
                rs = by_uid.get(ref["uid"])
                if rs and rs["metadata"]["labels"].get("pod-template-hash") != md["labels"].get("pod-template-hash"):
                    E(f"Pod {pn}: pod-template-hash differs from its ReplicaSet")
                if rs and not pn.startswith(rs["metadata"]["name"] + "-"):
                    E(f"Pod {pn}: name does not start with ReplicaSet name")
        if sp.get("nodeName") and sp["nodeName"] not in nodes:
            E(f"Pod {pn}: node {sp['nodeName']} does not exist")
        if st.get("podIP") and not sp.get("hostNetwork"):
            if st["podIP"] in ips and st.get("phase") not in ("Succeeded", "Failed"):
                E(f"Pod {pn}: podIP {st['podIP']} also used by {ips[st['podIP']]}")
            ips[st["podIP"]] = pn
        if sp.get("nodeName") and st.get("hostIP"):
            addr = [a["address"] for a in nodes.get(sp["nodeName"], {"status": {"addresses": []}})["status"]["addresses"] if a["type"] == "InternalIP"]
            if addr and addr[0] != st["hostIP"]:
                E(f"Pod {pn}: hostIP {st['hostIP']} is not its node's IP {addr[0]}")
        sa = sp.get("serviceAccountName", "default")
        if ("ServiceAccount", ns, sa) not in by_key:
            N(f"Pod {pn}: service account {ns}/{sa} missing")
        for c in sp.get("containers", []) + sp.get("initContainers", []):
            for e in c.get("env", []):
                vf = e.get("valueFrom", {})
                for kind, f in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                    if f in vf:
                        ref = vf[f]
                        obj = by_key.get((kind, ns, ref["name"]))
                        if not obj:
                            N(f"Pod {pn}: {kind} {ref['name']} missing")
                        elif ref["key"] not in (obj.get("data") or {}):
                            N(f"Pod {pn}: {kind} {ref['name']} has no key {ref['key']}")
            for ef in c.get("envFrom", []):
                for kind, f in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                    if f in ef and (kind, ns, ef[f]["name"]) not in by_key:
                        N(f"Pod {pn}: {kind} {ef[f]['name']} (envFrom) missing")
        for v in sp.get("volumes", []):
            if "persistentVolumeClaim" in v and ("PersistentVolumeClaim", ns, v["persistentVolumeClaim"]["claimName"]) not in by_key:
                N(f"Pod {pn}: PVC {v['persistentVolumeClaim']['claimName']} missing")
            if "configMap" in v and ("ConfigMap", ns, v["configMap"]["name"]) not in by_key:
                N(f"Pod {pn}: ConfigMap volume {v['configMap']['name']} missing")
            if "secret" in v and ("Secret", ns, v["secret"]["secretName"]) not in by_key:
                N(f"Pod {pn}: Secret volume {v['secret']['secretName']} missing")
        names = [c["name"] for c in sp["containers"]]
        sn = sorted(cs["name"] for cs in st.get("containerStatuses", []))
        if st.get("containerStatuses") and sn != sorted(names):
            E(f"Pod {pn}: containerStatuses {sn} != containers {names}")
        for cs in st.get("containerStatuses", []):
            img = [c["image"] for c in sp["containers"] if c["name"] == cs["name"]][0]
            if not cs["image"].endswith(img.split("/")[-1]):
                E(f"Pod {pn}: status image {cs['image']} != spec {img}")
            lt = cs.get("lastState", {}).get("terminated")
            if lt and cs["restartCount"] == 0:
                E(f"Pod {pn}: lastState terminated but restartCount 0")
            if cs["restartCount"] > 0 and not lt and "deletionTimestamp" not in md:
                N(f"Pod {pn}: restartCount {cs['restartCount']} without lastState")
    # services and endpoints
    for s in (o for o in items if o["kind"] == "Service"):
        ns, sn = s["metadata"]["namespace"], s["metadata"]["name"]
        sel = s["spec"].get("selector")
        if not sel:
            continue
        match = [p for p in pods if p["metadata"]["namespace"] == ns and all(p["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
        if not match:
            N(f"Service {ns}/{sn}: selector {sel} matches no pod")
        ep = by_key.get(("Endpoints", ns, sn))
        if not ep:
            E(f"Service {ns}/{sn}: no Endpoints object")
            continue
        for sub in ep.get("subsets", []):
            for a in sub.get("addresses", []) + sub.get("notReadyAddresses", []):
                t = by_uid.get(a["targetRef"]["uid"])
                if not t or t["status"].get("podIP") != a["ip"]:
                    E(f"Endpoints {ns}/{sn}: address {a['ip']} does not match its pod")
        ready = sum(len(sub.get("addresses", [])) for sub in ep.get("subsets", []))
        if match and not ready:
            N(f"Service {ns}/{sn}: no ready endpoints")
    # events
    for e in (o for o in items if o["kind"] == "Event"):
        io = e["involvedObject"]
        t = by_key.get((io["kind"], io.get("namespace"), io["name"]))
        if io["kind"] == "Node" and io["name"] in nodes:
            continue
        if not t:
            N(f"Event {e['reason']}: involved {io['kind']}/{io['name']} not in snapshot (deleted object)")
        elif t["metadata"]["uid"] != io.get("uid"):
            E(f"Event {e['reason']}: uid of {io['kind']}/{io['name']} differs")
        if e["metadata"]["namespace"] != (io.get("namespace") or "default"):
            E(f"Event {e['metadata']['name']}: namespace differs from involved object")
        if e.get("firstTimestamp") and e.get("lastTimestamp") and e["firstTimestamp"] > e["lastTimestamp"]:
            E(f"Event {e['metadata']['name']}: firstTimestamp after lastTimestamp")
        last = e.get("lastTimestamp") or (e.get("series") or {}).get("lastObservedTime") or e.get("eventTime")
        if last and (now - parse_ts(last)).total_seconds() > 3600 * 1.5:
            N(f"Event {e['reason']} on {io['name']}: last seen {(now - parse_ts(last)).total_seconds() / 60:.0f} min before capture")
    # deployments -> replicasets
    for d in (o for o in items if o["kind"] == "Deployment"):
        rss = [o for o in items if o["kind"] == "ReplicaSet" and any(r["uid"] == d["metadata"]["uid"] for r in o["metadata"].get("ownerReferences", []))]
        revs = sorted(int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) for r in rss)
        if not rss:
            E(f"Deployment {d['metadata']['name']}: no ReplicaSet")
        elif str(revs[-1]) != d["metadata"]["annotations"]["deployment.kubernetes.io/revision"]:
            E(f"Deployment {d['metadata']['name']}: revision annotation != newest ReplicaSet")
    # secret values must be empty, and secret-looking text only where intended
    for o in items:
        if o["kind"] in ("Secret", "ConfigMap"):
            for k, v in (o.get("data") or {}).items():
                if v != "":
                    E(f"{o['kind']} {o['metadata']['name']}: value of {k} is not empty")
    text = open(os.path.join(folder, "cluster.yaml")).read()
    logs_dir = os.path.join(folder, "logs")
    for fn in sorted(os.listdir(logs_dir)) if os.path.isdir(logs_dir) else []:
        if not re.match(r"^[a-z0-9][a-z0-9.-]*_[a-z0-9][a-z0-9-]*(\.previous)?\.log$", fn):
            E(f"log file name {fn} does not follow <pod>_<container>[.previous].log")
        pod, cont = fn.replace(".previous.log", "").replace(".log", "").split("_")
        pp = [p for p in pods if p["metadata"]["name"] == pod]
        if not pp:
            E(f"log {fn}: no such pod")
        elif cont not in [c["name"] for c in pp[0]["spec"]["containers"] + pp[0]["spec"].get("initContainers", [])]:
            E(f"log {fn}: no such container")
        text += open(os.path.join(logs_dir, fn)).read()
    leaks = SECRETISH.findall(text)
    if leaks and name != "log-with-secrets":
        E(f"secret-looking text outside log-with-secrets: {leaks[:3]}")
    # expect.yaml
    for f in ("question", "healthy", "findings", "must_not_propose"):
        if f not in exp:
            E(f"expect.yaml: missing {f}")
    for f in exp.get("findings", []):
        key = (f["kind"], f.get("namespace"), f["name"])
        if key not in by_key:
            E(f"expect.yaml: finding object {key} not in snapshot")
        if f["severity"] not in ("critical", "error", "warning", "info"):
            E(f"expect.yaml: bad severity {f['severity']}")
    tg = exp.get("target")
    if tg and (tg["kind"], tg.get("namespace"), tg["name"]) not in by_key:
        E(f"expect.yaml: target {tg} not in snapshot")
    return errs, notes


def main():
    root = sys.argv[1]
    bad = 0
    for d in sorted(os.listdir(root)):
        p = os.path.join(root, d)
        if not os.path.isdir(p) or not os.path.isfile(os.path.join(p, "cluster.yaml")):
            continue
        errs, notes = check(p)
        status = "FAIL" if errs else "ok"
        print(f"{status:4} {d}")
        for e in errs:
            print(f"     ERROR {e}")
        if "-v" in sys.argv:
            for n in notes:
                print(f"     note  {n}")
        bad += bool(errs)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
