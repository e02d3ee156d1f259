"""The parts every snapshot shares: namespaces, nodes, kube-system add-ons, and healthy apps."""
from klib import *  # noqa: F401,F403
from klib import ago_secs, ctr, env, probe, running, safe, sha, ECR, EKS_ECR, REGION, ACCOUNT

NODES3 = [("10.0.12.34", "eu-west-1a"), ("10.0.45.12", "eu-west-1b"), ("10.0.77.201", "eu-west-1c")]
NODES2 = [("10.0.12.34", "eu-west-1a"), ("10.0.45.12", "eu-west-1b")]

COREDNS_IMG = f"{EKS_ECR}/eks/coredns:v1.11.3-eksbuild.2"
CNI_IMG = f"{EKS_ECR}/amazon-k8s-cni:v1.19.0-eksbuild.1"
CNI_INIT_IMG = f"{EKS_ECR}/amazon-k8s-cni-init:v1.19.0-eksbuild.1"
NP_AGENT_IMG = f"{EKS_ECR}/amazon/aws-network-policy-agent:v1.1.5-eksbuild.1"
KPROXY_IMG = f"{EKS_ECR}/eks/kube-proxy:v1.31.2-minimal-eksbuild.3"


def coredns_containers():
    return [ctr("coredns", COREDNS_IMG, port=None, ports=[
        {"containerPort": 53, "name": "dns", "protocol": "UDP"},
        {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
        {"containerPort": 9153, "name": "metrics", "protocol": "TCP"}],
        req={"cpu": "100m", "memory": "70Mi"}, lim={"memory": "170Mi"}, args=["-conf", "/etc/coredns/Corefile"],
        liveness=probe("/health", 8080, delay=60, timeout=5, failure=5),
        readiness=probe("/ready", 8181),
        mounts=[{"mountPath": "/etc/coredns", "name": "config-volume", "readOnly": True}],
        security={"allowPrivilegeEscalation": False, "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                  "readOnlyRootFilesystem": True})]


COREDNS_VOLUMES = [{"configMap": {"defaultMode": 420, "items": [{"key": "Corefile", "path": "Corefile"}], "name": "coredns"},
                    "name": "config-volume"}]
COREDNS_TOLS = [{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"},
                {"key": "CriticalAddonsOnly", "operator": "Exists"}]


def base(c, nodes=NODES3, itype="m5.large", namespaces=("production",), coredns=None, node_kw=None,
         coredns_created="9d", extra_nodes=(), metrics_server=False, ebs_csi=False, lb_controller=False,
         nodegroup="general", coredns_hash=None):
    """Namespaces, nodes and healthy kube-system add-ons. Returns the node names."""
    c.namespace("default", "210d")
    c.namespace("kube-node-lease", "210d")
    c.namespace("kube-public", "210d")
    c.namespace("kube-system", "210d")
    for ns in namespaces:
        c.namespace(ns, "180d" if ns == "production" else "95d")
    names = []
    node_kw = node_kw or {}
    for ip, zone in nodes:
        kw = dict(itype=itype, nodegroup=nodegroup)
        kw.update(node_kw.get(ip, {}))
        names.append(c.node(ip, zone, **kw)["metadata"]["name"])
    for ip, zone, kw in extra_nodes:
        names.append(c.node(ip, zone, **kw)["metadata"]["name"])
    # default/kubernetes
    c.service("default", "kubernetes", None, [("https", 443, 443)], created="210d", cluster_ip="172.20.0.1",
              labels={"component": "apiserver", "provider": "kubernetes"})
    ep = c.generic("Endpoints", "default", "kubernetes", {"subsets": [{
        "addresses": [{"ip": "10.0.21.157"}, {"ip": "10.0.88.4"}],
        "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}]}, created="210d",
        labels={"endpointslice.kubernetes.io/skip-mirror": "true"})
    # kube-system
    ks = "kube-system"
    c.serviceaccount(ks, "coredns", "210d")
    c.serviceaccount(ks, "aws-node", "210d", role_arn=f"arn:aws:iam::{ACCOUNT}:role/{c.cluster_name}-vpc-cni")
    c.serviceaccount(ks, "kube-proxy", "210d")
    c.configmap(ks, "coredns", ["Corefile"], "210d", labels={"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"})
    c.configmap(ks, "aws-auth", ["mapRoles"], "210d")
    c.configmap(ks, "kube-proxy", ["kubeconfig"], "210d", labels={"eks.amazonaws.com/component": "kube-proxy", "k8s-app": "kube-proxy"})
    c.configmap(ks, "kube-proxy-config", ["config"], "210d", labels={"eks.amazonaws.com/component": "kube-proxy", "k8s-app": "kube-proxy"})
    c.configmap(ks, "amazon-vpc-cni", ["branch-eni-cooldown", "enable-network-policy-controller", "enable-windows-ipam",
                                       "enable-windows-prefix-delegation", "minimum-ip-target", "warm-ip-target", "warm-prefix-target"],
                "210d", labels={"app.kubernetes.io/instance": "aws-vpc-cni", "app.kubernetes.io/name": "aws-node"})
    c.storageclass("gp2", provisioner="kubernetes.io/aws-ebs", params={"fsType": "ext4", "type": "gp2"}, expansion=False, created="210d")
    c.storageclass("gp3", params={"encrypted": "true", "type": "gp3"}, default=True, created="200d")
    # coredns
    dns_nodes = [names[0], names[1 % len(names)]]
    cd_created = ago_secs(coredns_created)
    pods = coredns or [dict(node=dns_nodes[i], statuses=[running(cd_created - 6)]) for i in range(2)]
    c.deployment(ks, "coredns", created="210d", labels={"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"},
                 selector_labels={"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"},
                 revisions=[dict(rev=3, containers=coredns_containers(), replicas=2, created=coredns_created, pods=pods,
                                 **({"hash": coredns_hash} if coredns_hash else {}),
                                 sa="coredns", volumes=COREDNS_VOLUMES, tolerations=COREDNS_TOLS,
                                 priority_class="system-cluster-critical",
                                 affinity={"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                                     {"podAffinityTerm": {"labelSelector": {"matchExpressions": [
                                         {"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
                                         "topologyKey": "kubernetes.io/hostname"}, "weight": 100}]}})],
                 generation=3, progress="complete" if coredns is None else "complete",
                 available_since=None if coredns is None else None)
    c.service(ks, "kube-dns", {"k8s-app": "kube-dns"}, [("dns", 53, 53, "UDP"), ("dns-tcp", 53, 53, "TCP"),
                                                        ("metrics", 9153, 9153, "TCP")],
              created="210d", cluster_ip="172.20.0.10",
              labels={"eks.amazonaws.com/component": "kube-dns", "k8s-app": "kube-dns",
                      "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
              annotations={"prometheus.io/port": "9153", "prometheus.io/scrape": "true"})
    # aws-node
    mounts = [{"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"}, {"mountPath": "/host/etc/cni/net.d", "name": "cni-net-dir"},
              {"mountPath": "/host/var/log/aws-routed-eni", "name": "log-dir"}, {"mountPath": "/var/run/aws-node", "name": "run-dir"},
              {"mountPath": "/run/xtables.lock", "name": "xtables-lock"}]
    grpc = ["/app/grpc-health-probe", "-addr=:50051", "-connect-timeout=5s", "-rpc-timeout=5s"]
    aws_node = ctr("aws-node", CNI_IMG, port=None, ports=[{"containerPort": 61678, "hostPort": 61678, "name": "metrics", "protocol": "TCP"}],
                   req={"cpu": "25m"}, env=[
                       env("ADDITIONAL_ENI_TAGS", "{}"), env("ANNOTATE_POD_IP", "false"),
                       env("AWS_VPC_CNI_NODE_PORT_SUPPORT", "true"), env("AWS_VPC_ENI_MTU", "9001"),
                       env("AWS_VPC_K8S_CNI_EXTERNALSNAT", "false"), env("AWS_VPC_K8S_CNI_LOGLEVEL", "DEBUG"),
                       env("AWS_VPC_K8S_CNI_LOG_FILE", "/host/var/log/aws-routed-eni/ipamd.log"),
                       env("CLUSTER_NAME", c.cluster_name), env("ENABLE_IPv4", "true"), env("ENABLE_IPv6", "false"),
                       env("ENABLE_PREFIX_DELEGATION", "false"), env("MY_NODE_NAME", field="spec.nodeName"),
                       env("MY_POD_NAME", field="metadata.name"), env("NETWORK_POLICY_ENFORCING_MODE", "standard"),
                       env("VPC_CNI_VERSION", "v1.19.0"), env("WARM_ENI_TARGET", "1")],
                   liveness={"exec": {"command": grpc}, "failureThreshold": 3, "initialDelaySeconds": 60, "periodSeconds": 10,
                             "successThreshold": 1, "timeoutSeconds": 10},
                   readiness={"exec": {"command": grpc}, "failureThreshold": 3, "initialDelaySeconds": 1, "periodSeconds": 10,
                              "successThreshold": 1, "timeoutSeconds": 10},
                   security={"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}, mounts=mounts)
    agent = ctr("aws-eks-nodeagent", NP_AGENT_IMG, port=None, req={"cpu": "25m"},
                args=["--enable-ipv6=false", "--enable-network-policy=false", "--enable-cloudwatch-logs=false",
                      "--enable-policy-event-logs=false", "--log-file=/var/log/aws-routed-eni/network-policy-agent.log",
                      "--metrics-bind-addr=:8162", "--health-probe-bind-addr=:8163", "--conntrack-cache-cleanup-period=300"],
                env=[env("MY_NODE_NAME", field="spec.nodeName")],
                security={"capabilities": {"add": ["NET_ADMIN"]}, "privileged": True},
                mounts=[{"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"}, {"mountPath": "/sys/fs/bpf", "name": "bpf-pin-path"},
                        {"mountPath": "/var/log/aws-routed-eni", "name": "log-dir"}, {"mountPath": "/var/run/aws-node", "name": "run-dir"}])
    init = ctr("aws-vpc-cni-init", CNI_INIT_IMG, port=None, req={"cpu": "25m"},
               env=[env("DISABLE_TCP_EARLY_DEMUX", "false"), env("ENABLE_IPv6", "false")],
               security={"privileged": True}, mounts=[{"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"}])
    hp = lambda n, p, t=None: dict({"hostPath": dict({"path": p}, **({"type": t} if t else {"type": ""})), "name": n})
    vols = [hp("bpf-pin-path", "/sys/fs/bpf"), hp("cni-bin-dir", "/opt/cni/bin"), hp("cni-net-dir", "/etc/cni/net.d"),
            hp("log-dir", "/var/log/aws-routed-eni", "DirectoryOrCreate"), hp("run-dir", "/var/run/aws-node", "DirectoryOrCreate"),
            hp("xtables-lock", "/run/xtables.lock", "FileOrCreate")]
    c.daemonset(ks, "aws-node", [aws_node, agent], labels={"app.kubernetes.io/instance": "aws-vpc-cni",
                                                           "app.kubernetes.io/name": "aws-node", "k8s-app": "aws-node"},
                selector={"k8s-app": "aws-node"}, created="210d", init_containers=[init], sa="aws-node",
                host_network=True, priority_class="system-node-critical", volumes=vols, tolerations=[{"operator": "Exists"}],
                generation=4, extra={"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]},
                        {"key": "eks.amazonaws.com/compute-type", "operator": "NotIn", "values": ["fargate", "hybrid", "auto"]}]}]}}}},
                ds_labels={"app.kubernetes.io/instance": "aws-vpc-cni", "app.kubernetes.io/managed-by": "Helm",
                           "app.kubernetes.io/name": "aws-node", "app.kubernetes.io/version": "v1.19.0", "k8s-app": "aws-node"},
                pods=_ds_pod_kw(c, names, init=True))
    kp = ctr("kube-proxy", KPROXY_IMG, port=None, req={"cpu": "100m"},
             command=["kube-proxy", "--v=2", "--config=/var/lib/kube-proxy-config/config", "--hostname-override=$(NODE_NAME)"],
             env=[env("NODE_NAME", field="spec.nodeName")], security={"privileged": True},
             mounts=[{"mountPath": "/var/log", "name": "varlog"}, {"mountPath": "/run/xtables.lock", "name": "xtables-lock"},
                     {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": True},
                     {"mountPath": "/var/lib/kube-proxy/", "name": "kubeconfig"},
                     {"mountPath": "/var/lib/kube-proxy-config/", "name": "config"}])
    kvols = [hp("varlog", "/var/log"), hp("xtables-lock", "/run/xtables.lock", "FileOrCreate"), hp("lib-modules", "/lib/modules"),
             {"configMap": {"defaultMode": 420, "name": "kube-proxy"}, "name": "kubeconfig"},
             {"configMap": {"defaultMode": 420, "name": "kube-proxy-config"}, "name": "config"}]
    c.daemonset(ks, "kube-proxy", [kp], labels={"k8s-app": "kube-proxy"}, created="210d", sa="kube-proxy", host_network=True,
                priority_class="system-node-critical", volumes=kvols, tolerations=[{"operator": "Exists"}], generation=3,
                ds_labels={"eks.amazonaws.com/component": "kube-proxy", "k8s-app": "kube-proxy"},
                pods=_ds_pod_kw(c, names))
    if metrics_server:
        add_metrics_server(c, names)
    if lb_controller:
        add_lb_controller(c, names)
    if ebs_csi:
        add_ebs_csi(c, names)
    return names


def _ds_pod_kw(c, names, init=False):
    out = {}
    for n in names:
        node_created = c.nodes[n]["metadata"]["creationTimestamp"]
        import datetime as dt
        ncs = int((c.now - dt.datetime.strptime(node_created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)).total_seconds())
        kw = {"created": ncs - 12, "statuses": None}
        ready = c.nodes[n]["status"]["conditions"][-1]["status"] == "True"
        kw["statuses"] = None
        out[n] = kw
    return out


def add_metrics_server(c, names):
    ms = ctr("metrics-server", "registry.k8s.io/metrics-server/metrics-server:v0.7.2", port=10251, port_name="https",
             req={"cpu": "100m", "memory": "200Mi"},
             args=["--secure-port=10251", "--cert-dir=/tmp", "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                   "--kubelet-use-node-status-port", "--metric-resolution=15s"],
             liveness=probe("/livez", "https", period=10), readiness=probe("/readyz", "https", delay=20),
             mounts=[{"mountPath": "/tmp", "name": "tmp-dir"}],
             security={"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 1000})
    for p in ("livenessProbe", "readinessProbe"):
        ms[p]["httpGet"]["scheme"] = "HTTPS"
    c.serviceaccount("kube-system", "metrics-server", "120d")
    c.deployment("kube-system", "metrics-server", created="120d", labels={"app.kubernetes.io/instance": "metrics-server",
                                                                         "app.kubernetes.io/name": "metrics-server"},
                 selector_labels={"app.kubernetes.io/instance": "metrics-server", "app.kubernetes.io/name": "metrics-server"},
                 revisions=[dict(rev=1, containers=[ms], replicas=1, created="120d", sa="metrics-server",
                                 volumes=[{"emptyDir": {}, "name": "tmp-dir"}], priority_class="system-cluster-critical",
                                 pods=[dict(node=names[-1], created="8d", statuses=[running("8d")])])])
    c.service("kube-system", "metrics-server", {"app.kubernetes.io/instance": "metrics-server", "app.kubernetes.io/name": "metrics-server"},
              [("https", 443, "https")], created="120d",
              labels={"app.kubernetes.io/instance": "metrics-server", "app.kubernetes.io/name": "metrics-server"})


def add_lb_controller(c, names):
    img = f"{EKS_ECR}/amazon/aws-load-balancer-controller:v2.10.1"
    lab = {"app.kubernetes.io/instance": "aws-load-balancer-controller", "app.kubernetes.io/name": "aws-load-balancer-controller"}
    ctrl = ctr("aws-load-balancer-controller", img, port=9443, port_name="webhook-server",
               ports=[{"containerPort": 9443, "name": "webhook-server", "protocol": "TCP"},
                      {"containerPort": 8080, "name": "metrics-server", "protocol": "TCP"}],
               args=[f"--cluster-name={c.cluster_name}", "--ingress-class=alb", f"--aws-region={REGION}",
                     "--aws-vpc-id=vpc-0f3c2a1b9d8e7c654"],
               liveness=probe("/healthz", 61779, delay=30, timeout=10, failure=2),
               readiness=probe("/readyz", 61779, timeout=10, failure=2),
               mounts=[{"mountPath": "/tmp/k8s-webhook-server/serving-certs", "name": "cert", "readOnly": True}],
               security={"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True})
    c.serviceaccount("kube-system", "aws-load-balancer-controller", "150d",
                     role_arn=f"arn:aws:iam::{ACCOUNT}:role/{c.cluster_name}-aws-load-balancer-controller")
    c.secret("kube-system", "aws-load-balancer-tls", ["ca.crt", "tls.crt", "tls.key"], "150d", type_="kubernetes.io/tls")
    d = c.deployment("kube-system", "aws-load-balancer-controller", created="150d", labels=lab, selector_labels=lab,
                     revisions=[dict(rev=2, containers=[ctrl], replicas=2, created="30d", sa="aws-load-balancer-controller",
                                     volumes=[{"name": "cert", "secret": {"defaultMode": 420, "secretName": "aws-load-balancer-tls"}}],
                                     priority_class="system-cluster-critical",
                                     pods=[dict(node=names[i % len(names)], created="8d", statuses=[running("8d")]) for i in (1, 2)])])
    c.service("kube-system", "aws-load-balancer-webhook-service", lab, [("webhook-server", 443, "webhook-server")], created="150d", labels=lab)
    c.generic("IngressClass", None, "alb", {"spec": {"controller": "ingress.k8s.aws/alb"}}, created="150d",
              labels={"app.kubernetes.io/instance": "aws-load-balancer-controller", "app.kubernetes.io/name": "aws-load-balancer-controller"})
    return d


def add_ebs_csi(c, names):
    img = f"{EKS_ECR}/eks/aws-ebs-csi-driver:v1.37.0"
    lab = {"app": "ebs-csi-controller", "app.kubernetes.io/component": "csi-driver", "app.kubernetes.io/managed-by": "EKS",
           "app.kubernetes.io/name": "aws-ebs-csi-driver", "app.kubernetes.io/version": "1.37.0"}
    sel = {"app": "ebs-csi-controller", "app.kubernetes.io/name": "aws-ebs-csi-driver"}
    plugin = ctr("ebs-plugin", img, port=9808, port_name="healthz",
                 args=["controller", "--endpoint=$(CSI_ENDPOINT)", "--batching=true", "--logging-format=text", "--v=2"],
                 env=[env("CSI_ENDPOINT", "unix:///var/lib/csi/sockets/pluginproxy/csi.sock"),
                      env("CSI_NODE_NAME", field="spec.nodeName"), env("AWS_REGION", REGION)],
                 req={"cpu": "10m", "memory": "40Mi"}, lim={"memory": "256Mi"},
                 liveness=probe("/healthz", "healthz", delay=10, timeout=3, failure=5),
                 mounts=[{"mountPath": "/var/lib/csi/sockets/pluginproxy/", "name": "socket-dir"}])
    prov = ctr("csi-provisioner", f"{EKS_ECR}/eks/csi-provisioner:v5.1.0-eks-1-31-7", port=None,
               args=["--timeout=60s", "--csi-address=$(ADDRESS)", "--v=2", "--feature-gates=Topology=true",
                     "--extra-create-metadata", "--leader-election=true", "--default-fstype=ext4", "--kube-api-qps=20",
                     "--kube-api-burst=100", "--worker-threads=100", "--retry-interval-max=30m"],
               env=[env("ADDRESS", "/var/lib/csi/sockets/pluginproxy/csi.sock")],
               req={"cpu": "10m", "memory": "40Mi"}, lim={"memory": "256Mi"},
               mounts=[{"mountPath": "/var/lib/csi/sockets/pluginproxy/", "name": "socket-dir"}])
    att = ctr("csi-attacher", f"{EKS_ECR}/eks/csi-attacher:v4.7.0-eks-1-31-7", port=None,
              args=["--timeout=6m", "--csi-address=$(ADDRESS)", "--v=2", "--leader-election=true", "--kube-api-qps=20",
                    "--kube-api-burst=100", "--worker-threads=100", "--retry-interval-max=5m"],
              env=[env("ADDRESS", "/var/lib/csi/sockets/pluginproxy/csi.sock")],
              req={"cpu": "10m", "memory": "40Mi"}, lim={"memory": "256Mi"},
              mounts=[{"mountPath": "/var/lib/csi/sockets/pluginproxy/", "name": "socket-dir"}])
    c.serviceaccount("kube-system", "ebs-csi-controller-sa", "150d",
                     role_arn=f"arn:aws:iam::{ACCOUNT}:role/{c.cluster_name}-ebs-csi-driver")
    d = c.deployment("kube-system", "ebs-csi-controller", created="150d", labels=lab, selector_labels=sel,
                     revisions=[dict(rev=3, containers=[plugin, prov, att], replicas=2, created="30d", sa="ebs-csi-controller-sa",
                                     volumes=[{"emptyDir": {}, "name": "socket-dir"}], priority_class="system-cluster-critical",
                                     pod_labels={"app.kubernetes.io/component": "csi-driver", "app.kubernetes.io/managed-by": "EKS",
                                                 "app.kubernetes.io/version": "1.37.0"},
                                     pods=[dict(node=names[i % len(names)], created="8d", statuses=[running("8d")] * 3) for i in (0, 2)])])
    return d


def spread(names, i, offset=0):
    return names[(i + offset) % len(names)]


def java_app(name, version, *, mem_req="512Mi", mem_lim="1Gi", cpu_req="250m", cpu_lim=None, port=8080, env_=None,
             image=None, readiness=True, liveness=True, container="app", env_from=None, mounts=None):
    lim = {"memory": mem_lim}
    if cpu_lim:
        lim["cpu"] = cpu_lim
    return ctr(container, image or f"{ECR}/{name}:{version}", port=port, req={"cpu": cpu_req, "memory": mem_req}, lim=lim,
               env=env_ or [env("SPRING_PROFILES_ACTIVE", "prod"), env("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=75.0 -XX:+UseG1GC")],
               readiness=probe("/actuator/health/readiness", port, delay=20, period=10) if readiness else None,
               liveness=probe("/actuator/health/liveness", port, delay=60, period=15) if liveness else None,
               env_from=env_from, mounts=mounts)


def go_app(name, version, *, mem_req="64Mi", mem_lim="256Mi", cpu_req="100m", cpu_lim=None, port=8080, env_=None,
           image=None, readiness=None, liveness=None, container="app", env_from=None, mounts=None, command=None):
    lim = {"memory": mem_lim}
    if cpu_lim:
        lim["cpu"] = cpu_lim
    return ctr(container, image or f"{ECR}/{name}:{version}", port=port, req={"cpu": cpu_req, "memory": mem_req}, lim=lim,
               env=env_, readiness=readiness if readiness is not None else probe("/ready", port, delay=5),
               liveness=liveness if liveness is not None else probe("/healthz", port, delay=10, period=20),
               env_from=env_from, mounts=mounts, command=command)


def node_app(name, version, **kw):
    kw.setdefault("port", 3000)
    return go_app(name, version, **kw)


def healthy_deploy(c, ns, name, replicas, containers, names, *, created="60d", rev=1, rs_created="12d", svc_port=80,
                   offset=0, svc=True, old_revs=(), labels=None, hpa=None, extra_rev=None, target_port="http"):
    """A Deployment that works: one current ReplicaSet with ready pods spread over nodes, a Service."""
    revs = []
    for i, (r, rc) in enumerate(old_revs):
        revs.append(dict(rev=r, containers=rc, replicas=0, created=f"{20 + 10 * (len(old_revs) - i)}d"))
    cur = dict(rev=rev, containers=containers, replicas=replicas, created=rs_created,
               pods=[dict(node=spread(names, i, offset), statuses=[running(ago_secs(rs_created) - 8 - i * 21)] * len(containers))
                     for i in range(replicas)])
    cur.update(extra_rev or {})
    d = c.deployment(ns, name, created=created, revisions=revs + [cur], labels=labels)
    if svc:
        c.service(ns, name, {"app": name}, [("http", svc_port, target_port)], created=created, labels={"app": name})
    return d
