"""Builders for realistic, self-consistent EKS snapshot folders (kubectl get -A -o yaml shape)."""
import copy
import datetime as dt
import hashlib
import os
import shutil
import uuid

import yaml

SAFE = "bcdfghjklmnpqrstvwxz2456789"  # k8s rand.SafeEncodeString alphabet
REGION = "eu-west-1"
ACCOUNT = "123456789012"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
EKS_ECR = f"602401143452.dkr.ecr.{REGION}.amazonaws.com"
KUBELET = "v1.31.2-eks-94953ac"
CONTAINERD = "containerd://1.7.23"
KERNEL = "6.1.115-126.197.amzn2023.x86_64"
OS_IMAGE = "Amazon Linux 2023.6.20241121"
AMI = "ami-0c3a1f5e7d9b24681"

KIND_ORDER = ["Namespace", "Node", "Pod", "Service", "Endpoints", "Event", "PersistentVolumeClaim",
              "PersistentVolume", "ConfigMap", "Secret", "ServiceAccount", "ResourceQuota", "LimitRange",
              "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Ingress",
              "IngressClass", "NetworkPolicy", "StorageClass", "HorizontalPodAutoscaler",
              "PodDisruptionBudget"]
CLUSTER_SCOPED = {"Namespace", "Node", "PersistentVolume", "StorageClass", "IngressClass"}
API_VERSION = {"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1",
               "DaemonSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1",
               "Ingress": "networking.k8s.io/v1", "IngressClass": "networking.k8s.io/v1",
               "NetworkPolicy": "networking.k8s.io/v1", "StorageClass": "storage.k8s.io/v1",
               "HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1"}


def sha(s):
    return hashlib.sha256(s.encode()).digest()


def hexs(seed, n=64):
    out = ""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}#{i}".encode()).hexdigest()
        i += 1
    return out[:n]


def safe(seed, n):
    d = sha("safe:" + seed)
    return "".join(SAFE[b % len(SAFE)] for b in d[:n])


def mkuid(seed):
    b = bytearray(sha("uid:" + seed)[:16])
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(b)))


def godur(secs):
    """Go time.Duration String() for whole seconds: 10s, 1m20s, 5m0s."""
    secs = int(secs)
    if secs < 60:
        return f"{secs}s"
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return (f"{h}h" if h else "") + f"{m}m{s}s"


def ago_secs(a):
    if isinstance(a, (int, float)):
        return a
    total = 0
    num = ""
    for ch in a:
        if ch.isdigit():
            num += ch
        else:
            total += int(num) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[ch]
            num = ""
    if num:
        total += int(num)
    if "d" in a:
        # objects created days ago were not created at a round multiple of days before the capture
        total += 60 + int.from_bytes(hashlib.sha256(("jitter" + a).encode()).digest()[:2], "big") % 2900
    return total


# ---------------------------------------------------------------- YAML like kubectl (go-yaml v2)
class KDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _repr_str(dumper, s):
    style = None
    if s == "":
        style = '"'
    elif "\n" in s:
        style = "|"
    elif dumper.resolve(yaml.ScalarNode, s, (True, False)) != "tag:yaml.org,2002:str":
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", s, style=style)


KDumper.add_representer(str, _repr_str)


def kdump(obj):
    return yaml.dump(obj, Dumper=KDumper, sort_keys=True, default_flow_style=False, width=80,
                     allow_unicode=True)


class EDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def edump(obj):
    return yaml.dump(obj, Dumper=EDumper, sort_keys=False, default_flow_style=None, width=100,
                     allow_unicode=True)


# ---------------------------------------------------------------- instance types
NODE_TYPES = {
    "t3.medium": dict(cpu=2, mem_ki=3943372, pods=17, storage_gi=20),
    "t3.large": dict(cpu=2, mem_ki=7951640, pods=35, storage_gi=20),
    "m5.large": dict(cpu=2, mem_ki=7910348, pods=29, storage_gi=20),
    "m5.xlarge": dict(cpu=4, mem_ki=15896504, pods=58, storage_gi=50),
    "m6g.large": dict(cpu=2, mem_ki=7869072, pods=29, storage_gi=20, arch="arm64"),
    "g5.xlarge": dict(cpu=4, mem_ki=16102208, pods=58, storage_gi=100, gpu=1),
}


def cpu_reserved_m(cpu):
    # EKS AMI kube-reserved cpu: 6% of first core, 1% of second, 0.5% of 3rd-4th, 0.25% above
    r = 60
    if cpu >= 2:
        r += 10
    if cpu >= 3:
        r += 5 * (min(cpu, 4) - 2)
    if cpu > 4:
        r += int(2.5 * (cpu - 4))
    return r


def quantity_mi(q):
    """Memory quantity string to MiB (float)."""
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024, "M": 1e6 / 1048576, "G": 1e9 / 1048576}
    for u, f in sorted(units.items(), key=lambda x: -len(x[0])):
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q) / 1048576


def cpu_m(q):
    return float(q[:-1]) if q.endswith("m") else float(q) * 1000


# ---------------------------------------------------------------- containers
def probe(path="/healthz", port=8080, delay=None, period=10, timeout=1, failure=3, kind="http", command=None):
    p = {"failureThreshold": failure, "periodSeconds": period, "successThreshold": 1, "timeoutSeconds": timeout}
    if delay:
        p["initialDelaySeconds"] = delay
    if kind == "http":
        p["httpGet"] = {"path": path, "port": port, "scheme": "HTTP"}
    elif kind == "tcp":
        p["tcpSocket"] = {"port": port}
    elif kind == "exec":
        p["exec"] = {"command": command}
    return p


def ctr(name, image, port=8080, port_name="http", req=None, lim=None, env=None, env_from=None,
        readiness=None, liveness=None, startup=None, command=None, args=None, mounts=None, ports=None,
        pull_policy=None, security=None):
    c = {"image": image, "name": name,
         "imagePullPolicy": pull_policy or ("Always" if image.endswith(":latest") else "IfNotPresent"),
         "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
    if ports is not None:
        c["ports"] = ports
    elif port:
        pp = {"containerPort": port, "protocol": "TCP"}
        if port_name:
            pp["name"] = port_name
        c["ports"] = [pp]
    res = {}
    if req:
        res["requests"] = dict(req)
    if lim:
        res["limits"] = dict(lim)
    c["resources"] = res
    if env:
        c["env"] = env
    if env_from:
        c["envFrom"] = env_from
    if readiness:
        c["readinessProbe"] = readiness
    if liveness:
        c["livenessProbe"] = liveness
    if startup:
        c["startupProbe"] = startup
    if command:
        c["command"] = command
    if args:
        c["args"] = args
    if mounts:
        c["volumeMounts"] = mounts
    if security:
        c["securityContext"] = security
    return c


def env(name, value=None, secret=None, cm=None, field=None, optional=None):
    e = {"name": name}
    if value is not None:
        e["value"] = value
    elif secret:
        ref = {"key": secret[1], "name": secret[0]}
        if optional is not None:
            ref["optional"] = optional
        e["valueFrom"] = {"secretKeyRef": ref}
    elif cm:
        ref = {"key": cm[1], "name": cm[0]}
        if optional is not None:
            ref["optional"] = optional
        e["valueFrom"] = {"configMapKeyRef": ref}
    elif field:
        e["valueFrom"] = {"fieldRef": {"apiVersion": "v1", "fieldPath": field}}
    return e


def status_image(image):
    """How containerd reports an image reference."""
    first = image.split("/")[0]
    if "." in first or ":" in first.split("@")[0] and "/" in image:
        return image
    if "/" in image:
        return "docker.io/" + image
    return "docker.io/library/" + image


def image_repo(image):
    img = status_image(image)
    if "@" in img:
        return img.split("@")[0]
    last = img.rsplit("/", 1)
    if ":" in last[-1]:
        return img.rsplit(":", 1)[0]
    return img


# ---------------------------------------------------------------- container runtime states
def running(since, ready=True, restarts=0, last=None, ready_since=None):
    return dict(kind="running", since=ago_secs(since), ready=ready, restarts=restarts, last=last, ready_since=ready_since)


def waiting(reason, message=None, restarts=0, last=None, pulled=True, started_container=None):
    return dict(kind="waiting", reason=reason, message=message, restarts=restarts, last=last, pulled=pulled,
                ready=False)


def terminated(reason, exit_code, started, finished, restarts=0, last=None, message=None):
    return dict(kind="terminated", reason=reason, exitCode=exit_code, started=ago_secs(started), finished=ago_secs(finished),
                restarts=restarts, last=last, ready=False, message=message)


def last_term(reason, exit_code, started, finished, message=None):
    return dict(reason=reason, exitCode=exit_code, started=ago_secs(started), finished=ago_secs(finished), message=message)


def crashloop(first_start, run, restarts, cap=300):
    """Simulates kubelet's restart back-off. Times are seconds ago. Returns instances [(start, end)],
    the back-off now in force and when the next start is due (seconds ago, negative = future)."""
    t = ago_secs(first_start)
    inst = []
    for k in range(restarts + 1):
        r = run(k) if callable(run) else run
        s = t
        e = s - r
        inst.append((s, e))
        t = e - min(10 * 2 ** k, cap) - 1
    backoff = min(10 * 2 ** restarts, cap)
    return inst, backoff, t


class Cluster:
    def __init__(self, name, captured_at, cluster_name="prod-eks-euw1"):
        self.name = name
        self.now = dt.datetime.strptime(captured_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
        self.cluster_name = cluster_name
        self.objs = []
        self.logs = {}
        self.rv = 40000000 + int.from_bytes(sha(name)[:3], "big") % 9000000
        self.nodes = {}
        self.used_ips = set()
        self.services = []
        self.namespaces = []
        self.event_names = set()
        self.node_images = {}
        self.skip_default = set()
        self._workloads = []

    # -- basics
    def t(self, ago):
        return (self.now - dt.timedelta(seconds=ago_secs(ago))).strftime("%Y-%m-%dT%H:%M:%SZ")

    def tmicro(self, ago, seed=""):
        us = int.from_bytes(sha("us" + seed + str(ago))[:3], "big") % 1000000
        return (self.now - dt.timedelta(seconds=ago_secs(ago))).strftime("%Y-%m-%dT%H:%M:%S") + f".{us:06d}Z"

    def next_rv(self):
        self.rv += 1 + int.from_bytes(sha(f"rv{self.rv}")[:1], "big") % 37
        return str(self.rv)

    def uid(self, kind, ns, name):
        return mkuid(f"{self.name}/{kind}/{ns}/{name}")

    def add(self, obj):
        self.objs.append(obj)
        return obj

    def meta(self, kind, name, ns=None, created="30d", labels=None, annotations=None, owner=None,
             generate_name=None, generation=None, finalizers=None, deletion=None):
        m = {"creationTimestamp": self.t(created), "name": name, "resourceVersion": self.next_rv(),
             "uid": self.uid(kind, ns, name)}
        if ns:
            m["namespace"] = ns
        if labels:
            m["labels"] = dict(labels)
        if annotations:
            m["annotations"] = dict(annotations)
        if owner:
            m["ownerReferences"] = [{"apiVersion": API_VERSION.get(owner["kind"], "v1"), "blockOwnerDeletion": True,
                                     "controller": True, "kind": owner["kind"], "name": owner["metadata"]["name"],
                                     "uid": owner["metadata"]["uid"]}]
        if generate_name:
            m["generateName"] = generate_name
        if generation is not None:
            m["generation"] = generation
        if finalizers:
            m["finalizers"] = finalizers
        if deletion is not None:
            m["deletionTimestamp"] = self.t(deletion)
            m["deletionGracePeriodSeconds"] = 30
        return m

    def get(self, kind, ns, name):
        for o in self.objs:
            if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace") == ns:
                return o
        raise KeyError((kind, ns, name))

    # -- cluster-scoped
    def namespace(self, name, created="180d", labels=None):
        lab = {"kubernetes.io/metadata.name": name}
        lab.update(labels or {})
        self.namespaces.append(name)
        return self.add({"apiVersion": "v1", "kind": "Namespace",
                         "metadata": self.meta("Namespace", name, created=created, labels=lab),
                         "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    def node(self, ip, zone, itype="m5.large", nodegroup="general", created="9d", ready=True,
             conditions=None, taints=None, unschedulable=False, labels=None, heartbeat=None,
             capacity_type="ON_DEMAND"):
        spec_t = NODE_TYPES[itype]
        name = f"ip-{ip.replace('.', '-')}.{REGION}.compute.internal"
        iid = "i-0" + hexs(self.name + ip, 16)
        arch = spec_t.get("arch", "amd64")
        lab = {
            "beta.kubernetes.io/arch": arch, "beta.kubernetes.io/instance-type": itype,
            "beta.kubernetes.io/os": "linux", "eks.amazonaws.com/capacityType": capacity_type,
            "eks.amazonaws.com/nodegroup": nodegroup, "eks.amazonaws.com/nodegroup-image": AMI,
            "eks.amazonaws.com/sourceLaunchTemplateId": "lt-0" + hexs("lt" + nodegroup, 16),
            "eks.amazonaws.com/sourceLaunchTemplateVersion": "1",
            "failure-domain.beta.kubernetes.io/region": REGION, "failure-domain.beta.kubernetes.io/zone": zone,
            "k8s.io/cloud-provider-aws": hexs("cp" + self.cluster_name, 32), "kubernetes.io/arch": arch,
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": itype,
            "topology.k8s.aws/zone-id": {"a": "euw1-az2", "b": "euw1-az3", "c": "euw1-az1"}[zone[-1]],
            "topology.kubernetes.io/region": REGION, "topology.kubernetes.io/zone": zone,
        }
        lab.update(labels or {})
        mem = spec_t["mem_ki"]
        amem = mem - (255 + 11 * spec_t["pods"] + 100) * 1024
        storage_ki = spec_t["storage_gi"] * 1048576 - 1048576 // 2 - 28468
        cap = {"cpu": str(spec_t["cpu"]), "ephemeral-storage": f"{storage_ki}Ki", "hugepages-1Gi": "0",
               "hugepages-2Mi": "0", "memory": f"{mem}Ki", "pods": str(spec_t["pods"])}
        alloc = {"cpu": f"{spec_t['cpu'] * 1000 - cpu_reserved_m(spec_t['cpu'])}m",
                 "ephemeral-storage": str(int(storage_ki * 1024 * 0.9) - 1073741824 // 8),
                 "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": f"{amem}Ki", "pods": str(spec_t["pods"])}
        if spec_t.get("gpu"):
            cap["nvidia.com/gpu"] = str(spec_t["gpu"])
            alloc["nvidia.com/gpu"] = str(spec_t["gpu"])
        hb = self.t(heartbeat if heartbeat is not None else 25)
        created_s = ago_secs(created)
        up = self.t(created_s - 20)
        conds = {
            "MemoryPressure": dict(status="False", reason="KubeletHasSufficientMemory",
                                   message="kubelet has sufficient memory available"),
            "DiskPressure": dict(status="False", reason="KubeletHasNoDiskPressure", message="kubelet has no disk pressure"),
            "PIDPressure": dict(status="False", reason="KubeletHasSufficientPID", message="kubelet has sufficient PID available"),
            "Ready": dict(status="True", reason="KubeletReady", message="kubelet is posting ready status"),
        }
        for k, v in (conditions or {}).items():
            conds[k] = dict(conds[k], **v)
        clist = []
        for typ in ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]:
            c = conds[typ]
            clist.append({"lastHeartbeatTime": self.t(c["heartbeat"]) if "heartbeat" in c else hb,
                          "lastTransitionTime": self.t(c["since"]) if "since" in c else up,
                          "message": c["message"], "reason": c["reason"], "status": c["status"], "type": typ})
        spec = {"providerID": f"aws:///{zone}/{iid}"}
        if taints:
            spec["taints"] = [dict(t, timeAdded=self.t(t["timeAdded"])) if "timeAdded" in t else t for t in taints]
        if unschedulable:
            spec["unschedulable"] = True
        dns = name
        obj = {"apiVersion": "v1", "kind": "Node",
               "metadata": self.meta("Node", name, created=created, labels=lab, annotations={
                   "alpha.kubernetes.io/provided-node-ip": ip, "node.alpha.kubernetes.io/ttl": "0",
                   "volumes.kubernetes.io/controller-managed-attach-detach": "true"}),
               "spec": spec,
               "status": {
                   "addresses": [{"address": ip, "type": "InternalIP"}, {"address": dns, "type": "InternalDNS"},
                                 {"address": dns, "type": "Hostname"}],
                   "allocatable": alloc, "capacity": cap, "conditions": clist,
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                   "images": [],
                   "nodeInfo": {"architecture": arch, "bootID": mkuid("boot" + name), "containerRuntimeVersion": CONTAINERD,
                                "kernelVersion": KERNEL if arch == "amd64" else KERNEL.replace("x86_64", "aarch64"),
                                "kubeProxyVersion": "", "kubeletVersion": KUBELET,
                                "machineID": hexs("mid" + name, 32), "operatingSystem": "linux", "osImage": OS_IMAGE,
                                "systemUUID": "ec2" + mkuid("sys" + name)[3:]},
                   "runtimeHandlers": [
                       {"features": {"recursiveReadOnlyMounts": True, "userNamespaces": False}, "name": "runc"},
                       {"features": {"recursiveReadOnlyMounts": True, "userNamespaces": False}, "name": ""}],
               }}
        obj["_ip"] = ip
        obj["_zone"] = zone
        obj["_pod_ips"] = 0
        self.nodes[name] = obj
        self.node_images[name] = {}
        return self.add(obj)

    def node_ip(self, node_name):
        return self.nodes[node_name]["_ip"]

    def alloc_ip(self, node_name, seed):
        ip = self.node_ip(node_name)
        a, b, c, d = [int(x) for x in ip.split(".")]
        base = c - (c % 32)
        h = sha("ip" + seed)
        i = 0
        while True:
            cc = base + (h[i % 32] % 32)
            dd = 4 + (h[(i + 1) % 32] + i * 7) % 250
            cand = f"{a}.{b}.{cc}.{dd}"
            if cand not in self.used_ips and cand != ip:
                self.used_ips.add(cand)
                return cand
            i += 1

    # -- config objects
    def configmap(self, ns, name, keys, created="60d", labels=None, annotations=None):
        return self.add({"apiVersion": "v1", "kind": "ConfigMap", "data": {k: "" for k in keys},
                         "metadata": self.meta("ConfigMap", name, ns, created, labels, annotations)})

    def secret(self, ns, name, keys, created="60d", type_="Opaque", labels=None, annotations=None):
        return self.add({"apiVersion": "v1", "kind": "Secret", "data": {k: "" for k in keys},
                         "metadata": self.meta("Secret", name, ns, created, labels, annotations), "type": type_})

    def serviceaccount(self, ns, name, created="60d", role_arn=None, labels=None):
        ann = {"eks.amazonaws.com/role-arn": role_arn} if role_arn else None
        return self.add({"apiVersion": "v1", "kind": "ServiceAccount",
                         "metadata": self.meta("ServiceAccount", name, ns, created, labels, ann)})

    def storageclass(self, name, provisioner="ebs.csi.aws.com", params=None, default=False, binding="WaitForFirstConsumer",
                     expansion=True, created="120d"):
        ann = {"storageclass.kubernetes.io/is-default-class": "true"} if default else None
        o = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
             "metadata": self.meta("StorageClass", name, created=created, annotations=ann),
             "parameters": params or {}, "provisioner": provisioner, "reclaimPolicy": "Delete",
             "volumeBindingMode": binding}
        if expansion:
            o["allowVolumeExpansion"] = True
        return self.add(o)

    # -- pods
    def pod(self, ns, name, containers, *, node=None, created="3d", owner=None, labels=None, annotations=None,
            statuses=None, init_containers=None, init_statuses=None, sa="default", phase=None,
            generate_name=None, host_network=False, restart_policy="Always", node_selector=None,
            tolerations=None, volumes=None, affinity=None, unschedulable=None, deletion=None,
            sandbox=True, reason=None, message=None, extra_conditions=None, priority_class=None,
            spec_extra=None, ready_override=None, grace=30, pod_ip=None):
        created_s = ago_secs(created)
        uid = self.uid("Pod", ns, name)
        token_vol = f"kube-api-access-{safe(name + 'kaa', 5)}"
        conts = copy.deepcopy(containers)
        token_mount = {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": token_vol, "readOnly": True}
        for c in conts:
            c.setdefault("volumeMounts", []).append(dict(token_mount))
        inits = copy.deepcopy(init_containers) if init_containers else None
        if inits:
            for c in inits:
                c.setdefault("volumeMounts", []).append(dict(token_mount))
        vols = copy.deepcopy(volumes) if volumes else []
        vols.append({"name": token_vol, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                        "path": "namespace"}]}}]}})
        tols = tolerations if tolerations is not None else [
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}]
        spec = {"containers": conts, "dnsPolicy": "ClusterFirst", "enableServiceLinks": True,
                "preemptionPolicy": "PreemptLowerPriority", "priority": 0, "restartPolicy": restart_policy,
                "schedulerName": "default-scheduler", "securityContext": {}, "serviceAccount": sa,
                "serviceAccountName": sa, "terminationGracePeriodSeconds": grace, "tolerations": tols,
                "volumes": vols}
        if inits:
            spec["initContainers"] = inits
        if node:
            spec["nodeName"] = node
        if host_network:
            spec["hostNetwork"] = True
            spec["dnsPolicy"] = "ClusterFirstWithHostNet" if spec["dnsPolicy"] == "ClusterFirst" else spec["dnsPolicy"]
        if node_selector:
            spec["nodeSelector"] = node_selector
        if affinity:
            spec["affinity"] = affinity
        if priority_class:
            spec["priorityClassName"] = priority_class
            spec["priority"] = 2000001000 if priority_class == "system-node-critical" else 2000000000
        if spec_extra:
            spec.update(spec_extra)
        meta = self.meta("Pod", name, ns, created, labels, annotations, owner, generate_name, deletion=deletion)
        if deletion is not None:
            meta["deletionGracePeriodSeconds"] = grace
        obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

        # ---- status
        qos = qos_class(conts + (inits or []))
        st = {"qosClass": qos}
        conds = []
        if node is None:
            st["phase"] = "Pending"
            conds.append({"lastProbeTime": None, "lastTransitionTime": self.t(created_s - 0),
                          "message": unschedulable, "reason": "Unschedulable", "status": "False", "type": "PodScheduled"})
            st["conditions"] = conds
            obj["status"] = st
            obj["_ready"] = False
            return self.add(obj)
        start = created_s - 1
        host_ip = self.node_ip(node)
        pod_ip = host_ip if host_network else (pod_ip or (self.alloc_ip(node, self.name + ns + name) if sandbox else None))
        if pod_ip:
            self.used_ips.add(pod_ip)
        st["hostIP"] = host_ip
        st["hostIPs"] = [{"ip": host_ip}]
        if pod_ip:
            st["podIP"] = pod_ip
            st["podIPs"] = [{"ip": pod_ip}]
        st["startTime"] = self.t(start)

        def mk_statuses(cs, specs, is_init=False):
            out = []
            for c, s in zip(cs, specs):
                out.append(self._cstatus(name, c, s, is_init))
            return sorted(out, key=lambda x: x["name"]) if not is_init else out

        statuses = statuses or [running(created_s - 4) for _ in conts]
        cstat = mk_statuses(conts, statuses)
        init_done = True
        if inits:
            init_statuses = init_statuses or [terminated("Completed", 0, created_s - 3, created_s - 5) for _ in inits]
            st["initContainerStatuses"] = mk_statuses(inits, init_statuses, True)
            init_done = all(s["kind"] == "terminated" and s["exitCode"] == 0 for s in init_statuses)
        st["containerStatuses"] = cstat
        all_ready = all(s["ready"] for s in statuses) if ready_override is None else ready_override
        kinds = [s["kind"] for s in statuses]
        if phase is None:
            if all(k == "terminated" for k in kinds):
                phase = "Succeeded" if all(s["exitCode"] == 0 for s in statuses) else "Failed"
            elif not init_done:
                phase = "Pending"
            elif any(k == "running" for k in kinds) or any(s.get("restarts") or s.get("last") for s in statuses):
                phase = "Running"
            else:
                phase = "Pending"
        st["phase"] = phase
        if reason:
            st["reason"] = reason
        if message:
            st["message"] = message
        finished = phase in ("Succeeded", "Failed")
        # conditions
        sandbox_t = created_s - 2
        if finished:
            end = max([s.get("finished", 0) for s in statuses] or [0])
            prtsc = {"status": "False", "t": end - 1}
        else:
            prtsc = {"status": "True" if sandbox else "False", "t": sandbox_t if sandbox else created_s - 1}
        conds.append({"lastProbeTime": None, "lastTransitionTime": self.t(prtsc["t"]), "status": prtsc["status"],
                      "type": "PodReadyToStartContainers"})
        if inits:
            if init_done:
                init_c = {"status": "True", "t": min(s["finished"] for s in init_statuses)}
            else:
                bad = [c["name"] for c, s in zip(inits, init_statuses) if not (s["kind"] == "terminated" and s["exitCode"] == 0)]
                init_c = {"status": "False", "t": start, "reason": "ContainersNotInitialized",
                          "message": f"containers with incomplete status: [{' '.join(bad)}]"}
        else:
            init_c = {"status": "True", "t": start}
        if finished:
            init_c["reason"] = "PodCompleted"
        c = {"lastProbeTime": None, "lastTransitionTime": self.t(init_c["t"]), "status": init_c["status"], "type": "Initialized"}
        for k in ("reason", "message"):
            if k in init_c:
                c[k] = init_c[k]
        conds.append(c)
        if finished:
            end = max(s.get("finished", 0) for s in statuses)
            rc = {"status": "False", "t": end, "reason": "PodCompleted" if phase == "Succeeded" else "PodFailed"}
        elif all_ready:
            times = [s.get("ready_since") or (s["since"] - (3 if "readinessProbe" in c_ else 1))
                     for s, c_ in zip(statuses, conts) if s["kind"] == "running"]
            rc = {"status": "True", "t": min(times) if times else start}
        else:
            if not init_done:
                rc = {"status": "False", "t": start, "reason": "ContainersNotReady",
                      "message": f"containers with unready status: [{' '.join(sorted(c['name'] for c in conts))}]"}
            else:
                unready = sorted(c_["name"] for s, c_ in zip(statuses, conts) if not s["ready"])
                since = [s.get("unready_since") for s in statuses if s.get("unready_since") is not None]
                lasts = [s["last"]["finished"] for s in statuses if s.get("last") and not s["ready"]]
                t0 = min(since) if since else (min(lasts) if lasts else start)
                rc = {"status": "False", "t": t0, "reason": "ContainersNotReady",
                      "message": f"containers with unready status: [{' '.join(unready)}]"}
        for typ in ("Ready", "ContainersReady"):
            c = {"lastProbeTime": None, "lastTransitionTime": self.t(rc["t"]), "status": rc["status"], "type": typ}
            for k in ("reason", "message"):
                if k in rc:
                    c[k] = rc[k]
            conds.append(c)
        conds.append({"lastProbeTime": None, "lastTransitionTime": self.t(created_s), "status": "True", "type": "PodScheduled"})
        if extra_conditions:
            conds = [dict(x, lastTransitionTime=self.t(x["lastTransitionTime"]), lastProbeTime=None) for x in extra_conditions] + conds
        st["conditions"] = conds
        obj["status"] = st
        obj["_ready"] = all_ready and not finished
        for c_ in conts + (inits or []):
            self.node_images[node][c_["image"]] = True
        return self.add(obj)

    def _cstatus(self, pod, c, s, is_init):
        img = status_image(c["image"])
        digest = hexs("digest" + c["image"], 64)
        pulled = s.get("pulled", True)
        cid = lambda n: "containerd://" + hexs(f"cid{self.name}{pod}{c['name']}{n}", 64)
        restarts = s.get("restarts", 0)
        out = {"image": img, "imageID": f"{image_repo(c['image'])}@sha256:{digest}" if pulled else "",
               "lastState": {}, "name": c["name"], "ready": s["ready"], "restartCount": restarts}
        if s.get("last"):
            lt = s["last"]
            term = {"containerID": cid(restarts - 1), "exitCode": lt["exitCode"], "finishedAt": self.t(lt["finished"]),
                    "reason": lt["reason"], "startedAt": self.t(lt["started"])}
            if lt.get("message"):
                term["message"] = lt["message"]
            out["lastState"] = {"terminated": term}
        if s["kind"] == "running":
            out["containerID"] = cid(restarts)
            out["started"] = True
            out["state"] = {"running": {"startedAt": self.t(s["since"])}}
        elif s["kind"] == "waiting":
            w = {"reason": s["reason"]}
            if s.get("message"):
                w["message"] = s["message"]
            out["state"] = {"waiting": w}
            out["started"] = False
            if s.get("last"):
                out["containerID"] = cid(restarts - 1)
        else:
            term = {"containerID": cid(restarts), "exitCode": s["exitCode"], "finishedAt": self.t(s["finished"]),
                    "reason": s["reason"], "startedAt": self.t(s["started"])}
            if s.get("message"):
                term["message"] = s["message"]
            out["containerID"] = term["containerID"]
            out["state"] = {"terminated": term}
            out["started"] = False
        vms = []
        for m in c.get("volumeMounts", []):
            vm = {"mountPath": m["mountPath"], "name": m["name"]}
            if m.get("readOnly"):
                vm["readOnly"] = True
                vm["recursiveReadOnly"] = "Disabled"
            vms.append(vm)
        if vms:
            out["volumeMounts"] = vms
        return out

    # -- workloads
    def pod_template(self, labels, containers, init_containers=None, sa=None, volumes=None, node_selector=None,
                     tolerations=None, affinity=None, restart_policy="Always", annotations=None, extra=None,
                     host_network=False, priority_class=None, grace=30):
        spec = {"containers": copy.deepcopy(containers), "dnsPolicy": "ClusterFirst", "restartPolicy": restart_policy,
                "schedulerName": "default-scheduler", "securityContext": {}, "terminationGracePeriodSeconds": grace}
        if init_containers:
            spec["initContainers"] = copy.deepcopy(init_containers)
        if sa:
            spec["serviceAccount"] = sa
            spec["serviceAccountName"] = sa
        if volumes:
            spec["volumes"] = copy.deepcopy(volumes)
        if node_selector:
            spec["nodeSelector"] = node_selector
        if tolerations:
            spec["tolerations"] = tolerations
        if affinity:
            spec["affinity"] = affinity
        if host_network:
            spec["hostNetwork"] = True
            spec["dnsPolicy"] = "ClusterFirstWithHostNet"
        if priority_class:
            spec["priorityClassName"] = priority_class
        if extra:
            spec.update(extra)
        md = {"creationTimestamp": None, "labels": dict(labels)}
        if annotations:
            md["annotations"] = dict(annotations)
        return {"metadata": md, "spec": spec}

    def deployment(self, ns, name, *, revisions, created="40d", labels=None, progress="complete",
                   progress_since=None, available_since=None, strategy=None, generation=None,
                   annotations=None, replicas=None, extra_conditions=None, paused=False, selector_labels=None):
        """revisions: list (oldest first) of dicts: rev, containers, replicas (pods of this RS), created, pods
        (list of per-pod kwargs for self.pod), hash (optional), template kwargs (init_containers, sa, volumes...).
        The last one is the current revision. Returns dict(deploy, rs: [..], pods: [[..]])."""
        sel = selector_labels or {"app": name}
        dlabels = dict(labels or {"app": name})
        cur = revisions[-1]
        desired = replicas if replicas is not None else cur.get("replicas", 1)
        gen = generation or cur["rev"]
        tmpl_kw = lambda r: {k: r[k] for k in ("init_containers", "sa", "volumes", "node_selector", "tolerations",
                                               "affinity", "annotations", "extra", "priority_class") if k in r}
        pod_labels = lambda r: dict(sel, **r.get("pod_labels", {}))
        dann = {"deployment.kubernetes.io/revision": str(cur["rev"])}
        dann.update(annotations or {})
        dep = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": self.meta("Deployment", name, ns, created, dlabels, dann, generation=gen),
               "spec": {"progressDeadlineSeconds": 600, "replicas": desired, "revisionHistoryLimit": 10,
                        "selector": {"matchLabels": dict(sel)},
                        "strategy": strategy or {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                                                 "type": "RollingUpdate"},
                        "template": self.pod_template(pod_labels(cur), cur["containers"], **tmpl_kw(cur))}}
        if paused:
            dep["spec"]["paused"] = True
        self.add(dep)
        rss, all_pods = [], []
        for r in revisions:
            h = r.get("hash") or safe(f"{ns}/{name}/{r['rev']}", 10)
            rs_name = f"{name}-{h}"
            n = r.get("replicas", 0)
            plabels = dict(pod_labels(r), **{"pod-template-hash": h})
            tmpl = self.pod_template(plabels, r["containers"], **tmpl_kw(r))
            rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": self.meta("ReplicaSet", rs_name, ns, r["created"], plabels, {
                      "deployment.kubernetes.io/desired-replicas": str(desired),
                      "deployment.kubernetes.io/max-replicas": str(desired + max(1, -(-desired * 25 // 100))),
                      "deployment.kubernetes.io/revision": str(r["rev"])}, owner=dep, generation=r.get("generation", 1 if n else 2)),
                  "spec": {"replicas": n, "selector": {"matchLabels": dict(sel, **{"pod-template-hash": h})},
                           "template": tmpl}}
            self.add(rs)
            pods = []
            for i, pk in enumerate(r.get("pods", [{} for _ in range(n)])):
                pk = dict(pk)
                pname = pk.pop("name", None) or f"{rs_name}-{safe(rs_name + str(i), 5)}"
                tk = tmpl_kw(r)
                kw = dict(node=pk.pop("node", None), created=pk.pop("created", r["created"]), owner=rs,
                          labels=dict(plabels, **pk.pop("labels", {})), generate_name=f"{rs_name}-",
                          sa=tk.get("sa", "default"), init_containers=tk.get("init_containers"),
                          volumes=tk.get("volumes"), node_selector=tk.get("node_selector"),
                          affinity=tk.get("affinity"), annotations=tk.get("annotations"),
                          priority_class=tk.get("priority_class"))
                if tk.get("tolerations"):
                    kw["tolerations"] = tk["tolerations"] + [
                        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}]
                kw.update(pk)
                pods.append(self.pod(ns, pname, r["containers"], **kw))
            live = [p for p in pods if "deletionTimestamp" not in p["metadata"] and p["status"]["phase"] not in ("Failed", "Succeeded")]
            ready = sum(1 for p in live if p["_ready"])
            rst = {"observedGeneration": rs["metadata"]["generation"], "replicas": len(live)}
            if len(live):
                rst["fullyLabeledReplicas"] = len(live)
            if ready:
                rst["readyReplicas"] = ready
                rst["availableReplicas"] = ready
            if r.get("rs_conditions"):
                rst["conditions"] = [dict(x, lastTransitionTime=self.t(x["lastTransitionTime"])) for x in r["rs_conditions"]]
            rs["status"] = rst
            rss.append(rs)
            all_pods.append(pods)
        # deployment status
        total = sum(rs["status"]["replicas"] for rs in rss)
        ready = sum(rs["status"].get("readyReplicas", 0) for rs in rss)
        updated = rss[-1]["status"]["replicas"]
        st = {"observedGeneration": gen}
        if total:
            st["replicas"] = total
        if updated:
            st["updatedReplicas"] = updated
        if ready:
            st["readyReplicas"] = ready
            st["availableReplicas"] = ready
        if total - ready > 0:
            st["unavailableReplicas"] = total - ready
        elif desired - ready > 0 and total < desired:
            st["unavailableReplicas"] = desired - ready
        max_unavail = desired * 25 // 100
        avail_ok = ready >= desired - max_unavail
        cur_rs = rss[-1]["metadata"]["name"]
        a_since = self.t(available_since if available_since is not None else ago_secs(cur["created"]) - 20)
        conds = [{"lastTransitionTime": a_since, "lastUpdateTime": a_since,
                  "message": "Deployment has minimum availability." if avail_ok else "Deployment does not have minimum availability.",
                  "reason": "MinimumReplicasAvailable" if avail_ok else "MinimumReplicasUnavailable",
                  "status": "True" if avail_ok else "False", "type": "Available"}]
        p_since = progress_since if progress_since is not None else ago_secs(cur["created"]) - 20
        if progress == "complete":
            conds.append({"lastTransitionTime": self.t(ago_secs(created) - 1), "lastUpdateTime": self.t(p_since),
                          "message": f'ReplicaSet "{cur_rs}" has successfully progressed.',
                          "reason": "NewReplicaSetAvailable", "status": "True", "type": "Progressing"})
        elif progress == "progressing":
            conds.append({"lastTransitionTime": self.t(ago_secs(created) - 1), "lastUpdateTime": self.t(p_since),
                          "message": f'ReplicaSet "{cur_rs}" is progressing.',
                          "reason": "ReplicaSetUpdated", "status": "True", "type": "Progressing"})
        elif progress == "deadline":
            conds.append({"lastTransitionTime": self.t(p_since), "lastUpdateTime": self.t(p_since),
                          "message": f'ReplicaSet "{cur_rs}" has timed out progressing.',
                          "reason": "ProgressDeadlineExceeded", "status": "False", "type": "Progressing"})
        for x in extra_conditions or []:
            conds.append(dict(x, lastTransitionTime=self.t(x["lastTransitionTime"]), lastUpdateTime=self.t(x["lastUpdateTime"])))
        st["conditions"] = conds
        dep["status"] = st
        self._workloads.append(("Deployment", dep, rss, all_pods, desired))
        return dict(deploy=dep, rs=rss, pods=all_pods)

    def service(self, ns, name, selector, ports, created="40d", type_="ClusterIP", cluster_ip=None, labels=None,
                annotations=None, headless=False, publish_not_ready=False):
        ip = "None" if headless else (cluster_ip or f"172.20.{sha('svc' + self.name + ns + name)[0]}.{sha('svc2' + ns + name)[0] % 250 + 2}")
        pl = []
        for p in ports:
            name_, port, target = p[0], p[1], p[2] if len(p) > 2 else p[1]
            proto = p[3] if len(p) > 3 else "TCP"
            d = {"port": port, "protocol": proto, "targetPort": target}
            if name_:
                d["name"] = name_
            if type_ in ("NodePort", "LoadBalancer"):
                d["nodePort"] = 30000 + sha(ns + name + str(port))[0] * 10 % 2767
            pl.append(d)
        spec = {"clusterIP": ip, "clusterIPs": [ip], "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack", "ports": pl, "sessionAffinity": "None", "type": type_}
        if selector is not None:
            spec["selector"] = dict(selector)
        if publish_not_ready:
            spec["publishNotReadyAddresses"] = True
        if type_ == "LoadBalancer":
            spec["allocateLoadBalancerNodePorts"] = True
            spec["externalTrafficPolicy"] = "Cluster"
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": self.meta("Service", name, ns, created, labels, annotations), "spec": spec,
               "status": {"loadBalancer": {}}}
        self.services.append(svc)
        return self.add(svc)

    def _endpoints(self, svc):
        ns = svc["metadata"]["namespace"]
        sel = svc["spec"].get("selector")
        if sel is None:
            return None
        ready, notready = [], []
        last_change = ago_secs(0)
        for p in self.objs:
            if p["kind"] != "Pod" or p["metadata"]["namespace"] != ns:
                continue
            labels = p["metadata"].get("labels", {})
            if not all(labels.get(k) == v for k, v in sel.items()):
                continue
            st = p.get("status", {})
            if not st.get("podIP") or st.get("phase") in ("Failed", "Succeeded"):
                continue
            if "deletionTimestamp" in p["metadata"] and not svc["spec"].get("publishNotReadyAddresses"):
                continue
            addr = {"ip": st["podIP"], "nodeName": p["spec"]["nodeName"],
                    "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": ns, "uid": p["metadata"]["uid"]}}
            if p["_ready"] or svc["spec"].get("publishNotReadyAddresses"):
                ready.append(addr)
            else:
                notready.append(addr)
        ports = []
        for sp in svc["spec"]["ports"]:
            tp = sp["targetPort"]
            if isinstance(tp, str):
                tp = self._named_port(ns, sel, tp) or 0
            d = {"port": tp, "protocol": sp["protocol"]}
            if sp.get("name"):
                d["name"] = sp["name"]
            ports.append(d)
        ep = {"apiVersion": "v1", "kind": "Endpoints",
              "metadata": {"creationTimestamp": svc["metadata"]["creationTimestamp"], "name": svc["metadata"]["name"],
                           "namespace": ns, "resourceVersion": self.next_rv(), "uid": self.uid("Endpoints", ns, svc["metadata"]["name"])}}
        if svc["metadata"].get("labels"):
            ep["metadata"]["labels"] = dict(svc["metadata"]["labels"])
        if svc["spec"].get("clusterIP") == "None":
            ep["metadata"].setdefault("labels", {})["service.kubernetes.io/headless"] = ""
        times = [p["status"]["conditions"][-2]["lastTransitionTime"] for p in self.objs if p["kind"] == "Pod"
                 and p["metadata"]["name"] in {a["targetRef"]["name"] for a in ready + notready}]
        trig = max(times) if times else svc["metadata"]["creationTimestamp"]
        ep["metadata"]["annotations"] = {"endpoints.kubernetes.io/last-change-trigger-time": trig.replace("Z", "Z")}
        if ready or notready:
            sub = {}
            if ready:
                sub["addresses"] = sorted(ready, key=lambda a: [int(x) for x in a["ip"].split(".")])
            if notready:
                sub["notReadyAddresses"] = sorted(notready, key=lambda a: [int(x) for x in a["ip"].split(".")])
            sub["ports"] = ports
            ep["subsets"] = [sub]
        return ep

    def _named_port(self, ns, sel, pname):
        for p in self.objs:
            if p["kind"] == "Pod" and p["metadata"]["namespace"] == ns and all(p["metadata"].get("labels", {}).get(k) == v for k, v in sel.items()):
                for c in p["spec"]["containers"]:
                    for port in c.get("ports", []):
                        if port.get("name") == pname:
                            return port["containerPort"]
        return None

    # -- events
    def event(self, obj, reason, message, *, type_="Normal", count=1, first=None, last=None, component="kubelet",
              host=None, field_path=None, new_api=False, reporting_instance=None, action=None, ns=None):
        kind = obj["kind"]
        md = obj["metadata"]
        ons = md.get("namespace")
        first_s = ago_secs(first if first is not None else (last if last is not None else 60))
        last_s = ago_secs(last if last is not None else first_s)
        ev_ns = ns or ons or "default"
        nano = int((self.now - dt.timedelta(seconds=first_s)).timestamp()) * 10**9 + int.from_bytes(sha(reason + md["name"] + message)[:4], "big") % 10**9
        ename = f"{md['name']}.{nano:x}"
        while ename in self.event_names:
            nano += 1
            ename = f"{md['name']}.{nano:x}"
        self.event_names.add(ename)
        inv = {"apiVersion": obj["apiVersion"], "kind": kind, "name": md["name"]}
        if ons:
            inv["namespace"] = ons
        if kind == "Node" and component == "kubelet":
            inv["uid"] = md["name"]
        else:
            inv["uid"] = md["uid"]
            inv["resourceVersion"] = str(max(1, int(md["resourceVersion"]) - 1 - (first_s % 50)))
        if kind == "Node" and component == "kubelet":
            inv.pop("resourceVersion", None)
        if field_path:
            inv["fieldPath"] = field_path
        ev = {"apiVersion": "v1", "kind": "Event", "involvedObject": inv, "message": message,
              "metadata": {"creationTimestamp": self.t(first_s), "name": ename, "namespace": ev_ns,
                           "resourceVersion": self.next_rv(), "uid": mkuid(self.name + ename)},
              "reason": reason, "type": type_}
        if new_api:
            ev["action"] = action or "Scheduling"
            ev["eventTime"] = self.tmicro(first_s, ename)
            ev["firstTimestamp"] = None
            ev["lastTimestamp"] = None
            ev["reportingComponent"] = component
            ev["reportingInstance"] = reporting_instance or f"{component}-ip-172-16-61-91.{REGION}.compute.internal"
            ev["source"] = {}
            if count > 1:
                ev["series"] = {"count": count, "lastObservedTime": self.tmicro(last_s, ename + "l")}
        else:
            ev["count"] = count
            ev["eventTime"] = None
            ev["firstTimestamp"] = self.t(first_s)
            ev["lastTimestamp"] = self.t(last_s)
            ev["reportingComponent"] = component
            if component == "kubelet":
                h = host or (obj.get("spec", {}).get("nodeName") if kind == "Pod" else md["name"])
                ev["reportingInstance"] = h
                ev["source"] = {"component": component, "host": h}
            else:
                ev["reportingInstance"] = reporting_instance or ""
                ev["source"] = {"component": component}
                if host:
                    ev["source"]["host"] = host
        return self.add(ev)

    def scheduled(self, pod, ago=None):
        node = pod["spec"]["nodeName"]
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        created = (self.now - dt.datetime.strptime(pod["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.timezone.utc)).total_seconds()
        return self.event(pod, "Scheduled", f"Successfully assigned {ns}/{name} to {node}", component="default-scheduler",
                          new_api=True, first=ago if ago is not None else created, action="Binding")

    def start_events(self, pod, container, at, pull_secs=None, size=None, present=False):
        """Pulling/Pulled/Created/Started for a container that started `at` seconds ago."""
        c = [x for x in pod["spec"]["containers"] + pod["spec"].get("initContainers", []) if x["name"] == container][0]
        is_init = c in pod["spec"].get("initContainers", [])
        fp = f"spec.{'initContainers' if is_init else 'containers'}{{{container}}}"
        at = ago_secs(at)
        img = c["image"]
        if present:
            self.event(pod, "Pulled", f'Container image "{img}" already present on machine', first=at + 1, field_path=fp)
        else:
            ps = pull_secs or 2.134
            sz = size or 48000000 + sha(img)[0] * 400000
            self.event(pod, "Pulling", f'Pulling image "{img}"', first=at + int(ps) + 1, field_path=fp)
            self.event(pod, "Pulled", f'Successfully pulled image "{img}" in {ps:.3f}s ({ps:.3f}s including waiting). Image size: {sz} bytes.',
                       first=at + 1, field_path=fp)
        self.event(pod, "Created", f"Created container {container}", first=at, field_path=fp)
        self.event(pod, "Started", f"Started container {container}", first=at, field_path=fp)

    def backoff_event(self, pod, container, first, last, count):
        ns, name, uid = pod["metadata"]["namespace"], pod["metadata"]["name"], pod["metadata"]["uid"]
        is_init = any(x["name"] == container for x in pod["spec"].get("initContainers", []))
        fp = f"spec.{'initContainers' if is_init else 'containers'}{{{container}}}"
        return self.event(pod, "BackOff", f"Back-off restarting failed container {container} in pod {name}_{ns}({uid})",
                          type_="Warning", count=count, first=first, last=last, field_path=fp)

    def crashloop_events(self, pod, container, inst, restarts, *, include_backoff=True, created_counts_from=0):
        """Pulled (already present)/Created/Started for each restart since the events' 1h window, and BackOff."""
        starts = [s for s, e in inst[1:] if s <= 3600]
        ends = [e for s, e in inst if 0 < e <= 3600]
        c = [x for x in pod["spec"]["containers"] + pod["spec"].get("initContainers", []) if x["name"] == container][0]
        is_init = c in pod["spec"].get("initContainers", [])
        fp = f"spec.{'initContainers' if is_init else 'containers'}{{{container}}}"
        if starts:
            n = len(starts) + created_counts_from
            first = max(starts) if not created_counts_from else ago_secs(inst[0][0])
            self.event(pod, "Pulled", f'Container image "{c["image"]}" already present on machine', count=n,
                       first=first + 1, last=min(starts) + 1, field_path=fp)
            self.event(pod, "Created", f"Created container {container}", count=n, first=first, last=min(starts), field_path=fp)
            self.event(pod, "Started", f"Started container {container}", count=n, first=first, last=min(starts), field_path=fp)
        if include_backoff and ends:
            # kubelet re-syncs roughly every 10-15s while in back-off
            total = 0
            for i, (s, e) in enumerate(inst):
                if e <= 0 or e > 3600:
                    continue
                nxt = inst[i + 1][0] if i + 1 < len(inst) else 0
                total += max(1, int((e - max(nxt, 0)) // 12))
            self.backoff_event(pod, container, max(ends) - 1, 7, max(total, 1))

    # -- finalize
    def refresh_statuses(self):
        """Recomputes replica counts after scenarios edited pods (deleted, marked not ready)."""
        live = lambda ps: [p for p in ps if "deletionTimestamp" not in p["metadata"] and p["status"]["phase"] not in ("Failed", "Succeeded")]
        for kind, obj, rss, all_pods, desired in self._workloads:
            if kind == "Deployment":
                total = ready = 0
                for rs, pods in zip(rss, all_pods):
                    lv = live(pods)
                    rd = sum(1 for p in lv if p["_ready"])
                    st = rs["status"]
                    st["replicas"] = len(lv)
                    for k in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
                        st.pop(k, None)
                    if lv:
                        st["fullyLabeledReplicas"] = len(lv)
                    if rd:
                        st["readyReplicas"] = rd
                        st["availableReplicas"] = rd
                    total += len(lv)
                    ready += rd
                st = obj["status"]
                for k in ("replicas", "readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas"):
                    st.pop(k, None)
                updated = rss[-1]["status"]["replicas"]
                if total:
                    st["replicas"] = total
                if updated:
                    st["updatedReplicas"] = updated
                if ready:
                    st["readyReplicas"] = ready
                    st["availableReplicas"] = ready
                if total - ready > 0:
                    st["unavailableReplicas"] = total - ready
                elif desired - ready > 0 and total < desired:
                    st["unavailableReplicas"] = desired - ready
                ok = ready >= desired - desired * 25 // 100
                av = st["conditions"][0]
                av.update({"message": "Deployment has minimum availability." if ok else "Deployment does not have minimum availability.",
                           "reason": "MinimumReplicasAvailable" if ok else "MinimumReplicasUnavailable",
                           "status": "True" if ok else "False"})
            elif kind == "DaemonSet":
                rd = sum(1 for p in all_pods if p["_ready"])
                st = obj["status"]
                st["numberReady"] = rd
                st.pop("numberAvailable", None)
                st.pop("numberUnavailable", None)
                if rd:
                    st["numberAvailable"] = rd
                if len(all_pods) - rd:
                    st["numberUnavailable"] = len(all_pods) - rd
            elif kind == "StatefulSet":
                rd = sum(1 for p in all_pods if p["_ready"])
                st = obj["status"]
                st["availableReplicas"] = rd
                st.pop("readyReplicas", None)
                if rd:
                    st["readyReplicas"] = rd

    def finalize(self):
        self.refresh_statuses()
        have = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in self.objs}
        for ns in self.namespaces:
            if ns in self.skip_default:
                continue
            nso = self.get_ns(ns)
            created = nso["metadata"]["creationTimestamp"]
            if ("ServiceAccount", ns, "default") not in have:
                sa = self.add({"apiVersion": "v1", "kind": "ServiceAccount",
                               "metadata": {"creationTimestamp": created, "name": "default", "namespace": ns,
                                            "resourceVersion": self.next_rv(), "uid": self.uid("ServiceAccount", ns, "default")}})
            if ("ConfigMap", ns, "kube-root-ca.crt") not in have:
                self.add({"apiVersion": "v1", "kind": "ConfigMap", "data": {"ca.crt": ""},
                          "metadata": {"annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."},
                                       "creationTimestamp": created, "name": "kube-root-ca.crt", "namespace": ns,
                                       "resourceVersion": self.next_rv(), "uid": self.uid("ConfigMap", ns, "kube-root-ca.crt")}})
        for svc in self.services:
            if ("Endpoints", svc["metadata"]["namespace"], svc["metadata"]["name"]) in have:
                continue
            ep = self._endpoints(svc)
            if ep:
                self.add(ep)
        for name, node in self.nodes.items():
            imgs = list(self.node_images[name].keys()) + [f"{EKS_ECR}/eks/pause:3.10"]
            node["status"]["images"] = [{"names": [f"{image_repo(i)}@sha256:{hexs('digest' + i, 64)}", status_image(i)],
                                         "sizeBytes": 20000000 + sha("sz" + i)[0] * 1100000 + sha("sz" + i)[1] * 3001}
                                        for i in sorted(set(imgs))]
        for o in self.objs:
            for k in [k for k in o if k.startswith("_")]:
                del o[k]
            assert o["metadata"]["name"], o
            if o["kind"] not in CLUSTER_SCOPED:
                assert o["metadata"].get("namespace"), (o["kind"], o["metadata"]["name"])

    def get_ns(self, ns):
        return [o for o in self.objs if o["kind"] == "Namespace" and o["metadata"]["name"] == ns][0]

    def write(self, root, expect):
        self.finalize()
        d = os.path.join(root, self.name)
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        order = {k: i for i, k in enumerate(KIND_ORDER)}
        items = sorted(self.objs, key=lambda o: (order[o["kind"]], o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        with open(os.path.join(d, "cluster.yaml"), "w") as f:
            f.write(kdump({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}))
        with open(os.path.join(d, "meta.yaml"), "w") as f:
            f.write(f'capturedAt: "{self.now.strftime("%Y-%m-%dT%H:%M:%SZ")}"\n')
        if self.logs:
            os.makedirs(os.path.join(d, "logs"))
            for fn, text in sorted(self.logs.items()):
                with open(os.path.join(d, "logs", fn), "w") as f:
                    f.write(text if text.endswith("\n") else text + "\n")
        with open(os.path.join(d, "expect.yaml"), "w") as f:
            f.write(edump(expect))
        return d

    def log(self, pod, container, text, previous=False):
        name = pod if isinstance(pod, str) else pod["metadata"]["name"]
        self.logs[f"{name}_{container}{'.previous' if previous else ''}.log"] = text.lstrip("\n")


def qos_class(containers):
    any_set = False
    guaranteed = True
    for c in containers:
        r = c.get("resources", {})
        req, lim = r.get("requests", {}), r.get("limits", {})
        if req or lim:
            any_set = True
        for res in ("cpu", "memory"):
            l = lim.get(res)
            q = req.get(res, l)
            if l is None or q != l:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


DS_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists"},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/disk-pressure", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/memory-pressure", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/pid-pressure", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable", "operator": "Exists"},
]


def _ds(self, ns, name, containers, *, labels, selector=None, created="9d", nodes=None, pods=None, init_containers=None,
        sa=None, host_network=False, priority_class=None, volumes=None, tolerations=None, generation=1, extra=None,
        ds_labels=None, annotations=None, node_selector=None):
    sel = selector or labels
    nodes = list(self.nodes.keys()) if nodes is None else nodes
    pods = pods or {}
    ds_ann = {"deprecated.daemonset.template.generation": str(generation)}
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": self.meta("DaemonSet", name, ns, created, ds_labels or labels, ds_ann, generation=generation),
          "spec": {"revisionHistoryLimit": 10, "selector": {"matchLabels": dict(sel)},
                   "template": self.pod_template(labels, containers, init_containers=init_containers, sa=sa,
                                                 volumes=volumes, tolerations=tolerations, host_network=host_network,
                                                 priority_class=priority_class, extra=extra, annotations=annotations,
                                                 node_selector=node_selector),
                   "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"}}}
    self.add(ds)
    h = safe(f"{ns}/{name}/ds{generation}", 9)
    plist = []
    tols = list(tolerations or []) + DS_TOLERATIONS + (
        [{"effect": "NoSchedule", "key": "node.kubernetes.io/network-unavailable", "operator": "Exists"}] if host_network else [])
    for node in nodes:
        kw = dict(pods.get(node, {}))
        pname = kw.pop("name", None) or f"{name}-{safe(name + node, 5)}"
        node_created = self.nodes[node]["metadata"]["creationTimestamp"]
        ncs = (self.now - dt.datetime.strptime(node_created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)).total_seconds()
        aff = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}
        bind = kw.pop("unscheduled", False)
        args = dict(node=None if bind else node, created=kw.pop("created", min(ncs - 5, ago_secs(created))), owner=ds,
                    labels=dict(labels, **{"controller-revision-hash": h, "pod-template-generation": str(generation)}),
                    generate_name=f"{name}-", sa=sa or "default", init_containers=init_containers, volumes=volumes,
                    host_network=host_network, tolerations=tols, affinity=aff, priority_class=priority_class,
                    annotations=annotations, node_selector=node_selector)
        args.update(kw)
        plist.append(self.pod(ns, pname, containers, **args))
    ready = sum(1 for p in plist if p["_ready"])
    st = {"currentNumberScheduled": len(plist), "desiredNumberScheduled": len(plist), "numberMisscheduled": 0,
          "numberReady": ready, "observedGeneration": generation, "updatedNumberScheduled": len(plist)}
    if ready:
        st["numberAvailable"] = ready
    if len(plist) - ready:
        st["numberUnavailable"] = len(plist) - ready
    ds["status"] = st
    self._workloads.append(("DaemonSet", ds, None, plist, None))
    return dict(ds=ds, pods=plist)


def _pvc(self, ns, name, size="10Gi", sc="gp3", created="30d", labels=None, bound_node=None, phase=None,
         access="ReadWriteOnce", provisioner="ebs.csi.aws.com", annotations=None, owner=None):
    ann = {}
    if bound_node or phase == "Bound":
        ann.update({"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                    "volume.beta.kubernetes.io/storage-provisioner": provisioner,
                    "volume.kubernetes.io/storage-provisioner": provisioner})
        if bound_node:
            ann["volume.kubernetes.io/selected-node"] = bound_node
    ann.update(annotations or {})
    md = self.meta("PersistentVolumeClaim", name, ns, created, labels, ann or None, owner=owner,
                   finalizers=["kubernetes.io/pvc-protection"])
    spec = {"accessModes": [access], "resources": {"requests": {"storage": size}}, "volumeMode": "Filesystem"}
    if sc is not None:
        spec["storageClassName"] = sc
    o = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": md, "spec": spec}
    if bound_node or phase == "Bound":
        pv_name = "pvc-" + md["uid"]
        spec["volumeName"] = pv_name
        o["status"] = {"accessModes": [access], "capacity": {"storage": size}, "phase": "Bound"}
        zone = self.nodes[bound_node]["_zone"] if bound_node else "eu-west-1a"
        self.add({"apiVersion": "v1", "kind": "PersistentVolume",
                  "metadata": self.meta("PersistentVolume", pv_name, created=ago_secs(created) - 3, annotations={
                      "pv.kubernetes.io/provisioned-by": provisioner,
                      "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                      "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                      finalizers=["external-provisioner.volume.kubernetes.io/finalizer", "kubernetes.io/pv-protection",
                                  "external-attacher/ebs-csi-aws-com"]),
                  "spec": {"accessModes": [access], "capacity": {"storage": size},
                           "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name, "namespace": ns,
                                        "resourceVersion": str(int(md["resourceVersion"]) - 3), "uid": md["uid"]},
                           "csi": {"driver": provisioner, "fsType": "ext4",
                                   "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": "1732001234567-8081-ebs.csi.aws.com"},
                                   "volumeHandle": "vol-0" + hexs("vol" + ns + name, 16)},
                           "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                               {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}},
                           "persistentVolumeReclaimPolicy": "Delete", "storageClassName": sc, "volumeMode": "Filesystem"},
                  "status": {"lastPhaseTransitionTime": self.t(ago_secs(created) - 3), "phase": "Bound"}})
    else:
        o["status"] = {"phase": "Pending"}
    return self.add(o)


def _sts(self, ns, name, containers, *, replicas, service_name, created="60d", vcts=(), pods=None, labels=None,
         init_containers=None, sa=None, volumes=None, generation=1, current_replicas=None, pvc_created=None):
    lab = labels or {"app": name}
    h = f"{name}-{safe(ns + name + 'sts' + str(generation), 10)}"
    vct_objs = []
    for (vn, size, sc) in vcts:
        vct_objs.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": {"creationTimestamp": None, "name": vn},
                         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
                                  "storageClassName": sc, "volumeMode": "Filesystem"}, "status": {"phase": "Pending"}})
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": self.meta("StatefulSet", name, ns, created, lab, generation=generation),
           "spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                    "podManagementPolicy": "OrderedReady", "replicas": replicas, "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": dict(lab)}, "serviceName": service_name,
                    "template": self.pod_template(lab, containers, init_containers=init_containers, sa=sa, volumes=volumes),
                    "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
                    "volumeClaimTemplates": vct_objs}}
    self.add(sts)
    pods = pods if pods is not None else [{} for _ in range(replicas)]
    plist = []
    for i, kw in enumerate(pods):
        kw = dict(kw)
        pname = f"{name}-{i}"
        vols = list(volumes or []) + [{"name": vn, "persistentVolumeClaim": {"claimName": f"{vn}-{pname}"}} for vn, _, _ in vcts]
        args = dict(created=created, owner=sts, sa=sa or "default", init_containers=init_containers,
                    labels=dict(lab, **{"apps.kubernetes.io/pod-index": str(i), "controller-revision-hash": h,
                                        "statefulset.kubernetes.io/pod-name": pname}),
                    generate_name=f"{name}-", volumes=vols,
                    spec_extra={"hostname": pname, "subdomain": service_name})
        args.update(kw)
        plist.append(self.pod(ns, pname, containers, **args))
    live = [p for p in plist if "deletionTimestamp" not in p["metadata"]]
    ready = sum(1 for p in plist if p["_ready"])
    st = {"availableReplicas": ready, "collisionCount": 0, "currentRevision": h, "observedGeneration": generation,
          "replicas": len(plist), "updateRevision": h}
    cr = current_replicas if current_replicas is not None else len(plist)
    if cr:
        st["currentReplicas"] = cr
        st["updatedReplicas"] = cr
    if ready:
        st["readyReplicas"] = ready
    sts["status"] = st
    self._workloads.append(("StatefulSet", sts, None, plist, None))
    return dict(sts=sts, pods=plist)


def _job(self, ns, name, containers, *, created, owner=None, backoff_limit=6, completions=1, parallelism=1,
         pods=(), outcome="complete", finished=None, restart_policy="Never", scheduled_ts=None, labels=None,
         active_deadline=None, ttl=None, suspend=False, sa=None, volumes=None):
    uid = self.uid("Job", ns, name)
    jl = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name}
    jl.update(labels or {})
    ann = {"batch.kubernetes.io/cronjob-scheduled-timestamp": scheduled_ts} if scheduled_ts else None
    md = self.meta("Job", name, ns, created, jl, ann, owner=owner, generation=1)
    spec = {"backoffLimit": backoff_limit, "completionMode": "NonIndexed", "completions": completions,
            "manualSelector": False, "parallelism": parallelism, "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}, "suspend": suspend,
            "template": self.pod_template(jl, containers, restart_policy=restart_policy, sa=sa, volumes=volumes)}
    if active_deadline:
        spec["activeDeadlineSeconds"] = active_deadline
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": md, "spec": spec}
    self.add(job)
    plist = []
    for i, kw in enumerate(pods):
        kw = dict(kw)
        pname = kw.pop("name", None) or f"{name}-{safe(name + str(i), 5)}"
        args = dict(owner=job, labels=dict(jl), generate_name=f"{name}-", restart_policy=restart_policy,
                    sa=sa or "default", volumes=volumes)
        args.update(kw)
        plist.append(self.pod(ns, pname, containers, **args))
    st = {"startTime": self.t(ago_secs(created) - 0), "terminating": 0, "uncountedTerminatedPods": {}}
    succeeded = sum(1 for p in plist if p["status"]["phase"] == "Succeeded")
    failed = sum(1 for p in plist if p["status"]["phase"] == "Failed")
    active = sum(1 for p in plist if p["status"]["phase"] in ("Pending", "Running"))
    st["ready"] = sum(1 for p in plist if p["_ready"])
    if succeeded:
        st["succeeded"] = succeeded
    if failed:
        st["failed"] = failed
    if active:
        st["active"] = active
    if outcome == "complete":
        f = self.t(finished)
        st["completionTime"] = f
        st["conditions"] = [
            {"lastProbeTime": f, "lastTransitionTime": f, "message": "Reached expected number of succeeded pods",
             "reason": "CompletionsReached", "status": "True", "type": "SuccessCriteriaMet"},
            {"lastProbeTime": f, "lastTransitionTime": f, "message": "Reached expected number of succeeded pods",
             "reason": "CompletionsReached", "status": "True", "type": "Complete"}]
    elif outcome == "failed":
        f = self.t(finished)
        st["conditions"] = [
            {"lastProbeTime": f, "lastTransitionTime": f, "message": "Job has reached the specified backoff limit",
             "reason": "BackoffLimitExceeded", "status": "True", "type": "FailureTarget"},
            {"lastProbeTime": f, "lastTransitionTime": f, "message": "Job has reached the specified backoff limit",
             "reason": "BackoffLimitExceeded", "status": "True", "type": "Failed"}]
    job["status"] = st
    return dict(job=job, pods=plist)


def _cronjob(self, ns, name, containers, *, schedule, created="90d", suspend=False, last_schedule=None,
             last_success=None, active=(), restart_policy="OnFailure", concurrency="Forbid", backoff_limit=2,
             sa=None, time_zone=None):
    tmpl = self.pod_template({}, containers, restart_policy=restart_policy, sa=sa)
    del tmpl["metadata"]["labels"]
    spec = {"concurrencyPolicy": concurrency, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"metadata": {"creationTimestamp": None},
                            "spec": {"backoffLimit": backoff_limit, "template": tmpl}},
            "schedule": schedule, "successfulJobsHistoryLimit": 3, "suspend": suspend}
    if time_zone:
        spec["timeZone"] = time_zone
    cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": self.meta("CronJob", name, ns, created, generation=2 if suspend else 1),
          "spec": spec, "status": {}}
    if last_schedule is not None:
        cj["status"]["lastScheduleTime"] = self.t(last_schedule)
    if last_success is not None:
        cj["status"]["lastSuccessfulTime"] = self.t(last_success)
    if active:
        cj["status"]["active"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": j["metadata"]["name"], "namespace": ns,
                                   "resourceVersion": j["metadata"]["resourceVersion"], "uid": j["metadata"]["uid"]} for j in active]
    return self.add(cj)


def _generic(self, kind, ns, name, body, created="30d", labels=None, annotations=None, generation=None, finalizers=None):
    o = {"apiVersion": API_VERSION.get(kind, "v1"), "kind": kind,
         "metadata": self.meta(kind, name, ns, created, labels, annotations, generation=generation, finalizers=finalizers)}
    o.update(body)
    return self.add(o)


Cluster.daemonset = _ds
Cluster.pvc = _pvc
Cluster.statefulset = _sts
Cluster.job = _job
Cluster.cronjob = _cronjob
Cluster.generic = _generic


def _scaled(self, dep, rs, frm, to, ago):
    op = "up" if to > frm else "down"
    name = rs if isinstance(rs, str) else rs["metadata"]["name"]
    return self.event(dep, "ScalingReplicaSet", f"Scaled {op} replica set {name} to {to} from {frm}",
                      first=ago, component="deployment-controller")


def _rs_created(self, rs, pod, ago=None):
    pname = pod["metadata"]["name"]
    if ago is None:
        ago = (self.now - dt.datetime.strptime(pod["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.timezone.utc)).total_seconds()
    comp = {"ReplicaSet": "replicaset-controller", "Job": "job-controller", "StatefulSet": "statefulset-controller",
            "DaemonSet": "daemonset-controller"}[rs["kind"]]
    msg = f"create Pod {pname} in StatefulSet {rs['metadata']['name']} successful" if rs["kind"] == "StatefulSet" else f"Created pod: {pname}"
    return self.event(rs, "SuccessfulCreate", msg, first=ago, component=comp)


def _age(self, obj):
    return int((self.now - dt.datetime.strptime(obj["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc)).total_seconds())


def _node_boot_events(self, node, ago):
    n = self.nodes[node] if isinstance(node, str) else node
    a = ago_secs(ago)
    name = n["metadata"]["name"]
    self.event(n, "Starting", "Starting kubelet.", first=a)
    self.event(n, "InvalidDiskCapacity", "invalid capacity 0 on image filesystem", type_="Warning", first=a)
    self.event(n, "NodeHasSufficientMemory", f"Node {name} status is now: NodeHasSufficientMemory", count=2, first=a, last=a - 1)
    self.event(n, "NodeHasNoDiskPressure", f"Node {name} status is now: NodeHasNoDiskPressure", count=2, first=a, last=a - 1)
    self.event(n, "NodeHasSufficientPID", f"Node {name} status is now: NodeHasSufficientPID", count=2, first=a, last=a - 1)
    self.event(n, "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods", first=a - 1)
    self.event(n, "RegisteredNode", f"Node {name} event: Registered Node {name} in Controller", first=a - 3,
               component="node-controller")
    self.event(n, "Synced", "Node synced successfully", first=a - 3, component="cloud-node-controller")
    self.event(n, "NodeReady", f"Node {name} status is now: NodeReady", first=a - 14)


Cluster.scaled = _scaled
Cluster.rs_created = _rs_created
Cluster.age = _age
Cluster.node_boot_events = _node_boot_events


def loop_until_now(first_start, run, cap=300):
    """Crash loop from first_start (seconds ago) until now. Returns (inst, restarts, running_now, backoff)
    where inst[-1] is the current or last instance."""
    t = ago_secs(first_start)
    inst = []
    k = 0
    while True:
        r = run(k) if callable(run) else run
        inst.append((t, t - r))
        if t - r <= 0:
            return inst, k, True, min(10 * 2 ** max(k - 1, 0), cap)
        nxt = t - r - min(10 * 2 ** k, cap) - 1
        if nxt <= 0:
            return inst, k, False, min(10 * 2 ** k, cap)
        t = nxt
        k += 1


def _attach_pod(self, rs, pod):
    for kind, obj, rss, all_pods, desired in self._workloads:
        if kind == "Deployment":
            for r, pods in zip(rss, all_pods):
                if r is rs:
                    pods.append(pod)
                    return
    raise KeyError(rs["metadata"]["name"])


Cluster.attach_pod = _attach_pod
