//! describe_pod: what `kubectl describe pod` shows, as data and as text. Environment
//! values are never shown: only their names and where they come from.

use k8s_openapi::api::core::v1::{Container, ContainerState, ContainerStatus, Event, Pod, Probe};
use serde::Serialize;

use super::events::{EventRow, dedup};
use super::resolve::resolve_pod;
use super::{Args, Render};
use crate::error::Result;
use crate::k8s::{self, age, decode_all, human_duration, pod_status};
use crate::kinds::Kind;
use crate::ports::{ClusterReader, Scope};

/// One container of a described pod.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerDescription {
    pub name: String,
    pub init: bool,
    pub image: String,
    pub ports: Vec<String>,
    pub command: Vec<String>,
    pub state: String,
    pub last_state: Option<String>,
    pub ready: bool,
    pub restart_count: i32,
    pub requests: Vec<String>,
    pub limits: Vec<String>,
    pub liveness: Option<String>,
    pub readiness: Option<String>,
    pub startup: Option<String>,
    /// `NAME` (literal, value hidden) or `NAME from secret/key` etc.
    pub env: Vec<String>,
    pub mounts: Vec<String>,
}

/// The result of describe_pod.
#[derive(Debug, Clone, Serialize)]
pub struct PodDescription {
    /// How the name asked for was resolved to this pod, when it was not its exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
    pub namespace: String,
    pub name: String,
    pub node: Option<String>,
    pub status: String,
    pub phase: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub ip: Option<String>,
    pub controlled_by: Option<String>,
    pub service_account: Option<String>,
    pub qos: Option<String>,
    pub age: String,
    pub labels: Vec<String>,
    pub node_selector: Vec<String>,
    pub tolerations: Vec<String>,
    pub containers: Vec<ContainerDescription>,
    pub conditions: Vec<String>,
    pub volumes: Vec<String>,
    pub events: Vec<EventRow>,
    pub problem: Option<String>,
}

pub(super) async fn describe_pod(reader: &dyn ClusterReader, args: &Args) -> Result<PodDescription> {
    let given = args.pod.clone().unwrap_or_default();
    let found = resolve_pod(reader, "describe_pod", args.namespace.as_deref(), &given).await?;
    let scope = Scope {
        namespace: Some(found.namespace.clone()),
        label_selector: None,
        field_selector: Some(format!("involvedObject.name={},involvedObject.kind=Pod", found.name)),
    };
    let events: Vec<Event> = decode_all(reader.list(Kind::Event, &scope).await?)?;
    let mut d = describe(&found.pod, &events, reader.now());
    d.resolved = found.note;
    Ok(d)
}

/// Describes a pod with its events at `now`.
pub fn describe(pod: &Pod, events: &[Event], now: jiff::Timestamp) -> PodDescription {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let statuses = |init: bool| -> &[ContainerStatus] {
        status
            .and_then(|s| if init { s.init_container_statuses.as_deref() } else { s.container_statuses.as_deref() })
            .unwrap_or_default()
    };
    let mut containers = Vec::new();
    if let Some(spec) = spec {
        for (c, init) in
            spec.init_containers.iter().flatten().map(|c| (c, true)).chain(spec.containers.iter().map(|c| (c, false)))
        {
            let cs = statuses(init).iter().find(|s| s.name == c.name);
            containers.push(container(c, cs, init, now));
        }
    }
    let (rows, _) = dedup(events, now, 30);
    PodDescription {
        resolved: None,
        namespace: k8s::namespace(&pod.metadata).to_string(),
        name: k8s::name(&pod.metadata).to_string(),
        node: spec.and_then(|s| s.node_name.clone()),
        status: pod_status(pod),
        phase: status.and_then(|s| s.phase.clone()).unwrap_or_default(),
        reason: status.and_then(|s| s.reason.clone()),
        message: status.and_then(|s| s.message.clone()),
        ip: status.and_then(|s| s.pod_ip.clone()),
        controlled_by: pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| format!("{}/{}", o.kind, o.name)),
        service_account: spec.and_then(|s| s.service_account_name.clone()),
        qos: status.and_then(|s| s.qos_class.clone()),
        age: age(pod.metadata.creation_timestamp.as_ref(), now),
        labels: pod.metadata.labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect(),
        node_selector: spec
            .and_then(|s| s.node_selector.as_ref())
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        tolerations: spec
            .and_then(|s| s.tolerations.as_ref())
            .into_iter()
            .flatten()
            .map(|t| {
                let mut s = t.key.clone().unwrap_or_default();
                if let Some(v) = &t.value {
                    s.push_str(&format!("={v}"));
                }
                if let Some(e) = &t.effect {
                    s.push_str(&format!(":{e}"));
                }
                if t.operator.as_deref() == Some("Exists") && s.is_empty() {
                    s = "(tolerates everything)".into();
                }
                s
            })
            .collect(),
        containers,
        conditions: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .map(|c| {
                let mut s = format!("{}={}", c.type_, c.status);
                if let Some(r) = &c.reason {
                    s.push_str(&format!(" ({r}"));
                    if let Some(m) = &c.message {
                        s.push_str(&format!(": {m}"));
                    }
                    s.push(')');
                }
                s
            })
            .collect(),
        volumes: spec.and_then(|s| s.volumes.as_ref()).into_iter().flatten().map(volume).collect(),
        events: rows,
        problem: super::pods::pod_problem(pod, now),
    }
}

fn state_text(s: Option<&ContainerState>, now: jiff::Timestamp) -> Option<String> {
    let s = s?;
    if let Some(r) = &s.running {
        return Some(format!("Running (started {} ago)", age(r.started_at.as_ref(), now)));
    }
    if let Some(w) = &s.waiting {
        let mut t = format!("Waiting: {}", w.reason.as_deref().unwrap_or("unknown"));
        if let Some(m) = &w.message {
            t.push_str(&format!(" ({m})"));
        }
        return Some(t);
    }
    if let Some(x) = &s.terminated {
        let mut t = format!("Terminated: {} (exit code {}", x.reason.as_deref().unwrap_or("unknown"), x.exit_code);
        if let Some(sig) = x.signal {
            t.push_str(&format!(", signal {sig}"));
        }
        t.push(')');
        if let (Some(a), Some(b)) = (&x.started_at, &x.finished_at) {
            t.push_str(&format!(
                ", ran {} and finished {} ago",
                human_duration(b.0.as_second() - a.0.as_second()),
                age(Some(b), now)
            ));
        }
        if let Some(m) = x.message.as_deref().filter(|m| !m.is_empty()) {
            t.push_str(&format!(": {}", m.lines().next().unwrap_or(m)));
        }
        return Some(t);
    }
    None
}

fn probe(p: Option<&Probe>) -> Option<String> {
    let p = p?;
    let port = |i: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString| match i {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => n.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
    };
    let how = if let Some(h) = &p.http_get {
        format!(
            "http-get {}://:{}{}",
            h.scheme.as_deref().unwrap_or("HTTP").to_lowercase(),
            port(&h.port),
            h.path.as_deref().unwrap_or("/")
        )
    } else if let Some(t) = &p.tcp_socket {
        format!("tcp-socket :{}", port(&t.port))
    } else if let Some(e) = &p.exec {
        format!("exec {:?}", e.command.clone().unwrap_or_default())
    } else if let Some(g) = &p.grpc {
        format!("grpc :{}", g.port)
    } else {
        "unknown".into()
    };
    Some(format!(
        "{how} delay={}s timeout={}s period={}s #success={} #failure={}",
        p.initial_delay_seconds.unwrap_or(0),
        p.timeout_seconds.unwrap_or(1),
        p.period_seconds.unwrap_or(10),
        p.success_threshold.unwrap_or(1),
        p.failure_threshold.unwrap_or(3)
    ))
}

fn container(c: &Container, cs: Option<&ContainerStatus>, init: bool, now: jiff::Timestamp) -> ContainerDescription {
    let res = c.resources.as_ref();
    let quantities = |m: Option<
        &std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >|
     -> Vec<String> { m.into_iter().flatten().map(|(k, v)| format!("{k}={}", v.0)).collect() };
    ContainerDescription {
        name: c.name.clone(),
        init,
        image: c.image.clone().unwrap_or_default(),
        ports: c
            .ports
            .iter()
            .flatten()
            .map(|p| format!("{}/{}", p.container_port, p.protocol.as_deref().unwrap_or("TCP")))
            .collect(),
        command: c.command.iter().flatten().chain(c.args.iter().flatten()).cloned().collect(),
        state: state_text(cs.and_then(|s| s.state.as_ref()), now).unwrap_or_else(|| "Unknown".into()),
        last_state: state_text(cs.and_then(|s| s.last_state.as_ref()), now),
        ready: cs.is_some_and(|s| s.ready),
        restart_count: cs.map_or(0, |s| s.restart_count),
        requests: quantities(res.and_then(|r| r.requests.as_ref())),
        limits: quantities(res.and_then(|r| r.limits.as_ref())),
        liveness: probe(c.liveness_probe.as_ref()),
        readiness: probe(c.readiness_probe.as_ref()),
        startup: probe(c.startup_probe.as_ref()),
        env: c
            .env
            .iter()
            .flatten()
            .map(|e| match e.value_from.as_ref() {
                Some(v) if v.secret_key_ref.is_some() => {
                    let r = v.secret_key_ref.as_ref().map(|r| format!("{}/{}", r.name, r.key)).unwrap_or_default();
                    format!("{} from secret {r}", e.name)
                }
                Some(v) if v.config_map_key_ref.is_some() => {
                    let r = v.config_map_key_ref.as_ref().map(|r| format!("{}/{}", r.name, r.key)).unwrap_or_default();
                    format!("{} from configmap {r}", e.name)
                }
                Some(v) if v.field_ref.is_some() => format!(
                    "{} from field {}",
                    e.name,
                    v.field_ref.as_ref().map(|f| f.field_path.as_str()).unwrap_or("")
                ),
                Some(_) => format!("{} from a resource", e.name),
                None => format!("{} (value hidden)", e.name),
            })
            .chain(c.env_from.iter().flatten().map(|f| {
                if let Some(s) = &f.secret_ref {
                    format!("all keys of secret {}", s.name)
                } else if let Some(m) = &f.config_map_ref {
                    format!("all keys of configmap {}", m.name)
                } else {
                    "envFrom".into()
                }
            }))
            .collect(),
        mounts: c
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| {
                format!("{} from {}{}", m.mount_path, m.name, if m.read_only == Some(true) { " (ro)" } else { "" })
            })
            .collect(),
    }
}

fn volume(v: &k8s_openapi::api::core::v1::Volume) -> String {
    let what = if let Some(p) = &v.persistent_volume_claim {
        format!("PersistentVolumeClaim {}", p.claim_name)
    } else if let Some(c) = &v.config_map {
        format!("ConfigMap {}{}", c.name, if c.optional == Some(true) { " (optional)" } else { "" })
    } else if let Some(s) = &v.secret {
        format!("Secret {}", s.secret_name.as_deref().unwrap_or(""))
    } else if v.empty_dir.is_some() {
        "EmptyDir".into()
    } else if let Some(h) = &v.host_path {
        format!("HostPath {}", h.path)
    } else if v.projected.is_some() {
        "Projected".into()
    } else {
        "other".into()
    };
    format!("{}: {what}", v.name)
}

impl Render for PodDescription {
    fn text(&self) -> String {
        let mut o = String::new();
        let line = |o: &mut String, k: &str, v: &str| o.push_str(&format!("{k:<16}{v}\n"));
        if let Some(r) = &self.resolved {
            o.push_str(&format!("({r})\n"));
        }
        line(&mut o, "Name:", &self.name);
        line(&mut o, "Namespace:", &self.namespace);
        line(&mut o, "Node:", self.node.as_deref().unwrap_or("<none>"));
        line(&mut o, "Status:", &self.status);
        if let Some(r) = &self.reason {
            line(&mut o, "Reason:", r);
        }
        if let Some(m) = &self.message {
            line(&mut o, "Message:", m);
        }
        line(&mut o, "Age:", &self.age);
        line(&mut o, "IP:", self.ip.as_deref().unwrap_or("<none>"));
        line(&mut o, "Controlled By:", self.controlled_by.as_deref().unwrap_or("<none>"));
        if let Some(sa) = &self.service_account {
            line(&mut o, "Service Account:", sa);
        }
        line(&mut o, "Labels:", &self.labels.join(" "));
        for c in &self.containers {
            o.push_str(&format!("{} {}:\n", if c.init { "Init Container" } else { "Container" }, c.name));
            o.push_str(&format!("  Image:          {}\n", c.image));
            if !c.ports.is_empty() {
                o.push_str(&format!("  Ports:          {}\n", c.ports.join(", ")));
            }
            if !c.command.is_empty() {
                o.push_str(&format!("  Command:        {}\n", c.command.join(" ")));
            }
            o.push_str(&format!("  State:          {}\n", c.state));
            if let Some(l) = &c.last_state {
                o.push_str(&format!("  Last State:     {l}\n"));
            }
            o.push_str(&format!("  Ready:          {}\n  Restart Count:  {}\n", c.ready, c.restart_count));
            if !c.limits.is_empty() {
                o.push_str(&format!("  Limits:         {}\n", c.limits.join(", ")));
            }
            if !c.requests.is_empty() {
                o.push_str(&format!("  Requests:       {}\n", c.requests.join(", ")));
            }
            for (k, p) in [("Liveness", &c.liveness), ("Readiness", &c.readiness), ("Startup", &c.startup)] {
                if let Some(p) = p {
                    o.push_str(&format!("  {k}:{}{p}\n", " ".repeat(15 - k.len())));
                }
            }
            if !c.env.is_empty() {
                o.push_str(&format!("  Environment:    {}\n", c.env.join("; ")));
            }
            if !c.mounts.is_empty() {
                o.push_str(&format!("  Mounts:         {}\n", c.mounts.join("; ")));
            }
        }
        if !self.conditions.is_empty() {
            o.push_str(&format!("Conditions:     {}\n", self.conditions.join("; ")));
        }
        if !self.volumes.is_empty() {
            o.push_str(&format!("Volumes:        {}\n", self.volumes.join("; ")));
        }
        if let Some(q) = &self.qos {
            line(&mut o, "QoS Class:", q);
        }
        if !self.node_selector.is_empty() {
            line(&mut o, "Node-Selectors:", &self.node_selector.join(", "));
        }
        if !self.tolerations.is_empty() {
            line(&mut o, "Tolerations:", &self.tolerations.join(", "));
        }
        if let Some(p) = &self.problem {
            line(&mut o, "Problem:", p);
        }
        if self.events.is_empty() {
            o.push_str("Events:         <none>\n");
        } else {
            o.push_str("Events:\n");
            for e in &self.events {
                let ago = e.last_seen_secs.map_or_else(|| "?".into(), human_duration);
                let count = if e.count > 1 { format!(" (x{})", e.count) } else { String::new() };
                o.push_str(&format!("  {ago:<6} {:<8} {:<20} {}{count}\n", e.type_, e.reason, e.message));
            }
        }
        o
    }
}
