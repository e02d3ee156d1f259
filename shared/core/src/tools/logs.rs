//! get_pod_logs: a container's log reduced to the lines that matter.

use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

use super::{Args, LOG_BUDGET_BYTES, Render};
use crate::error::{Error, Result};
use crate::k8s::decode;
use crate::kinds::Kind;
use crate::logs::{ReducedLog, reduce};
use crate::ports::{ClusterReader, LogRequest};

/// Default number of last lines read from the server.
const DEFAULT_TAIL: i64 = 500;
/// Last lines always kept by the reduction.
const KEEP_TAIL: usize = 25;

/// The result of get_pod_logs.
#[derive(Debug, Clone, Serialize)]
pub struct PodLogResult {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    pub log: ReducedLog,
}

pub(super) async fn get_pod_logs(reader: &dyn ClusterReader, args: &Args) -> Result<PodLogResult> {
    let namespace = args.namespace.clone().unwrap_or_default();
    let pod_name = args.pod.clone().unwrap_or_default();
    let container = match &args.container {
        Some(c) => c.clone(),
        None => {
            let pod: Pod = match reader.get(Kind::Pod, Some(&namespace), &pod_name).await? {
                Some(v) => decode(v)?,
                None => return Err(Error::NotFound { what: format!("pod {namespace}/{pod_name}") }),
            };
            let names: Vec<String> =
                pod.spec.map(|s| s.containers.into_iter().map(|c| c.name).collect()).unwrap_or_default();
            match names.as_slice() {
                [only] => only.clone(),
                [] => return Err(Error::NotFound { what: format!("a container in pod {namespace}/{pod_name}") }),
                many => {
                    return Err(Error::InvalidArgs {
                        tool: "get_pod_logs".into(),
                        message: format!("pod {pod_name} has several containers; name one of: {}", many.join(", ")),
                    });
                }
            }
        }
    };
    let request = LogRequest {
        namespace: namespace.clone(),
        pod: pod_name.clone(),
        container: Some(container.clone()),
        previous: args.previous,
        tail_lines: Some(args.tail_lines.unwrap_or(DEFAULT_TAIL)),
        since_seconds: args.since_seconds,
        timestamps: false,
        limit_bytes: None,
    };
    let text = reader.logs(&request).await?;
    Ok(PodLogResult {
        namespace,
        pod: pod_name,
        container,
        previous: args.previous,
        log: reduce(&text, LOG_BUDGET_BYTES, KEEP_TAIL),
    })
}

impl Render for PodLogResult {
    fn text(&self) -> String {
        let which = if self.previous { "previous instance of container" } else { "container" };
        if self.log.total_lines == 0 {
            return format!("Log of {which} {} in pod {}/{} is empty.\n", self.container, self.namespace, self.pod);
        }
        format!(
            "Log of {which} {} in pod {}/{} ({} lines):\n{}",
            self.container,
            self.namespace,
            self.pod,
            self.log.total_lines,
            self.log.render()
        )
    }
}
