//! get_pod_logs: a container's log reduced to the lines that matter.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use serde::Serialize;

use super::resolve::resolve_pod;
use super::{Args, LOG_BUDGET_BYTES, Render};
use crate::error::{Error, Result};
use crate::logs::{ReducedLog, reduce};
use crate::ports::{ClusterReader, LogRequest};

/// Default number of last lines read from the server.
const DEFAULT_TAIL: i64 = 500;
/// Last lines always kept by the reduction.
const KEEP_TAIL: usize = 25;

/// The result of get_pod_logs.
#[derive(Debug, Clone, Serialize)]
pub struct PodLogResult {
    /// How the name asked for was resolved to this pod, when it was not its exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    pub log: ReducedLog,
}

pub(super) async fn get_pod_logs(reader: &dyn ClusterReader, args: &Args) -> Result<PodLogResult> {
    let given = args.pod.clone().unwrap_or_default();
    let found = resolve_pod(reader, "get_pod_logs", args.namespace.as_deref(), &given).await?;
    let (container, restarted) = match &args.container {
        Some(c) => (c.clone(), restarted(&found.pod, c)),
        None => {
            pick_container(&found.pod).map_err(|message| Error::InvalidArgs { tool: "get_pod_logs".into(), message })?
        }
    };
    // Unless told otherwise, a container that has restarted is read from its crashed instance:
    // the current one has often not logged anything yet.
    let previous = args.previous.unwrap_or(restarted);
    let request = LogRequest {
        namespace: found.namespace.clone(),
        pod: found.name.clone(),
        container: Some(container.clone()),
        previous,
        tail_lines: Some(args.tail_lines.unwrap_or(DEFAULT_TAIL)),
        since_seconds: args.since_seconds,
        timestamps: false,
        limit_bytes: None,
    };
    let text = reader.logs(&request).await?;
    Ok(PodLogResult {
        resolved: found.note,
        namespace: found.namespace,
        pod: found.name,
        container,
        previous,
        log: reduce(&text, LOG_BUDGET_BYTES, KEEP_TAIL),
    })
}

/// Statuses of a pod's init and regular containers, init first.
fn statuses(pod: &Pod) -> impl Iterator<Item = (&ContainerStatus, bool)> {
    let st = pod.status.as_ref();
    let init = st.and_then(|s| s.init_container_statuses.as_deref()).unwrap_or_default();
    let regular = st.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    init.iter().map(|c| (c, true)).chain(regular.iter().map(|c| (c, false)))
}

/// Whether the container has a terminated earlier instance to read.
fn restarted(pod: &Pod, container: &str) -> bool {
    statuses(pod).any(|(c, _)| {
        c.name == container && c.restart_count > 0 && c.last_state.as_ref().is_some_and(|l| l.terminated.is_some())
    })
}

/// The container whose log explains the pod when none is named: the only container, else the
/// one in trouble (an init container that has not completed comes first, as it holds the rest
/// back; then the one with the most restarts). With the answer, whether it has restarted.
fn pick_container(pod: &Pod) -> std::result::Result<(String, bool), String> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let in_trouble = |c: &ContainerStatus, init: bool| {
        let state = c.state.as_ref();
        let waiting = state.and_then(|s| s.waiting.as_ref()).is_some();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let running = state.and_then(|s| s.running.as_ref()).is_some();
        if init {
            // Not completed, and not a sidecar that is up.
            let completed = terminated.is_some_and(|t| t.exit_code == 0);
            let sidecar_up = running && c.ready;
            !(completed || sidecar_up)
        } else {
            c.restart_count > 0 || terminated.is_some_and(|t| t.exit_code != 0) || (waiting && !c.ready)
        }
    };
    let mut troubled: Vec<(&ContainerStatus, bool)> = statuses(pod).filter(|(c, init)| in_trouble(c, *init)).collect();
    // Init containers first, then the most restarts; the order of the spec breaks ties.
    troubled.sort_by_key(|(c, init)| (!init, std::cmp::Reverse(c.restart_count)));
    if let Some((c, _)) = troubled.first() {
        return Ok((c.name.clone(), restarted(pod, &c.name)));
    }
    let names: Vec<&str> =
        pod.spec.as_ref().map(|s| s.containers.iter().map(|c| c.name.as_str()).collect()).unwrap_or_default();
    match names.as_slice() {
        [only] => Ok(((*only).to_string(), restarted(pod, only))),
        [] => Err(format!("pod {name} has no containers")),
        many => Err(format!("pod {name} has several containers and none is failing; name one of: {}", many.join(", "))),
    }
}

impl Render for PodLogResult {
    fn text(&self) -> String {
        let which = if self.previous { "previous instance of container" } else { "container" };
        let resolved = self.resolved.as_ref().map(|r| format!("({r})\n")).unwrap_or_default();
        if self.log.total_lines == 0 {
            return format!(
                "{resolved}Log of {which} {} in pod {}/{} is empty.\n",
                self.container, self.namespace, self.pod
            );
        }
        format!(
            "{resolved}Log of {which} {} in pod {}/{} ({} lines):\n{}",
            self.container,
            self.namespace,
            self.pod,
            self.log.total_lines,
            self.log.render()
        )
    }
}
