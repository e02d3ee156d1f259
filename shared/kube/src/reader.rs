//! [`KubeReader`]: the [`ClusterReader`] port over a [`kube::Client`].

use std::fmt;

use aiops_core::ports::{ClusterReader, LogRequest, Scope};
use aiops_core::{Error, ErrorClass, Kind, Result};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, LogParams, PartialObjectMeta};
use serde_json::{Value, json};

/// Objects asked for per page; `continue` tokens fetch the rest.
pub const PAGE_SIZE: u32 = 500;

/// Reads a cluster through the Kubernetes API with kube-rs.
///
/// Secrets are read through the metadata-only API (`PartialObjectMetadata`): their values
/// never reach this process. Optional kinds (the metrics API) on a cluster that does not serve
/// their group list as empty and get as absent, rather than failing.
#[derive(Clone)]
pub struct KubeReader {
    client: kube::Client,
    now: Option<Timestamp>,
}

impl KubeReader {
    /// A reader over `client`. `now` fixes "now" (a snapshot's capture time); `None` means the
    /// wall clock.
    pub fn new(client: kube::Client, now: Option<Timestamp>) -> KubeReader {
        KubeReader { client, now }
    }

    fn api(&self, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
        let info = kind.info();
        let resource = ApiResource {
            group: info.group.to_string(),
            version: info.version.to_string(),
            api_version: info.api_version(),
            kind: info.name.to_string(),
            plural: info.plural.to_string(),
        };
        match namespace {
            Some(ns) if info.namespaced => Api::namespaced_with(self.client.clone(), ns, &resource),
            _ => Api::all_with(self.client.clone(), &resource),
        }
    }
}

impl fmt::Debug for KubeReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeReader").field("now", &self.now).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ClusterReader for KubeReader {
    async fn list(&self, kind: Kind, scope: &Scope) -> Result<Vec<Value>> {
        let info = kind.info();
        let namespace = scope.namespace.as_deref().filter(|_| info.namespaced);
        let op = Operation::list(kind, namespace);
        let api = self.api(kind, namespace);
        let mut params = ListParams::default().limit(PAGE_SIZE);
        if let Some(labels) = &scope.label_selector {
            params = params.labels(labels);
        }
        if let Some(fields) = &scope.field_selector {
            params = params.fields(fields);
        }

        let mut items = Vec::new();
        let mut pages = 0_u32;
        loop {
            pages += 1;
            let next = if kind == Kind::Secret {
                let page = api.list_metadata(&params).await.map_err(|e| op.error(e))?;
                items.extend(page.items.iter().map(|m| metadata_only(kind, m)));
                page.metadata.continue_
            } else if info.optional {
                let page = match api.list(&params).await {
                    Ok(page) => page,
                    Err(e) if group_not_served(&e) => {
                        tracing::debug!(kind = info.name, group = info.group, "API group not served; no objects");
                        return Ok(Vec::new());
                    }
                    Err(e) => return Err(op.error(e)),
                };
                for object in page.items {
                    items.push(to_value(kind, object, &op)?);
                }
                page.metadata.continue_
            } else {
                let page = api.list(&params).await.map_err(|e| op.error(e))?;
                for object in page.items {
                    items.push(to_value(kind, object, &op)?);
                }
                page.metadata.continue_
            };
            match next {
                Some(token) if !token.is_empty() => params.continue_token = Some(token),
                _ => break,
            }
        }
        tracing::debug!(kind = info.name, namespace = ?namespace, count = items.len(), pages, "listed");
        Ok(items)
    }

    async fn get(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>> {
        let info = kind.info();
        let namespace = namespace.filter(|_| info.namespaced);
        // As kubectl: a namespaced kind without a namespace means the client's default one.
        let default_ns;
        let namespace = match namespace {
            None if info.namespaced => {
                default_ns = self.client.default_namespace().to_string();
                Some(default_ns.as_str())
            }
            ns => ns,
        };
        let op = Operation::get(kind, namespace, name);
        let api = self.api(kind, namespace);
        if kind == Kind::Secret {
            let meta = api.get_metadata_opt(name).await.map_err(|e| op.error(e))?;
            return Ok(meta.map(|m| metadata_only(kind, &m)));
        }
        match api.get_opt(name).await {
            Ok(Some(object)) => Ok(Some(to_value(kind, object, &op)?)),
            Ok(None) => Ok(None),
            Err(e) if info.optional && group_not_served(&e) => Ok(None),
            Err(e) => Err(op.error(e)),
        }
    }

    async fn logs(&self, request: &LogRequest) -> Result<String> {
        let op = Operation::logs(request);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &request.namespace);
        let params = LogParams {
            container: request.container.clone(),
            previous: request.previous,
            tail_lines: request.tail_lines,
            since_seconds: request.since_seconds,
            timestamps: request.timestamps,
            limit_bytes: request.limit_bytes,
            ..LogParams::default()
        };
        api.logs(&request.pod, &params).await.map_err(|e| op.log_error(e))
    }

    fn now(&self) -> Timestamp {
        self.now.unwrap_or_else(Timestamp::now)
    }
}

/// Whether an error says the kind's API group is not served at all: a 404 with no object name
/// in its details (`the server could not find the requested resource`), as a cluster without
/// metrics-server answers for `metrics.k8s.io`. An aggregated API that is registered but down
/// answers 503 instead, which stays an error (transient).
fn group_not_served(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 404)
}

/// A full object as JSON, with `apiVersion` and `kind` set (list items often lack them).
fn to_value(kind: Kind, object: DynamicObject, op: &Operation) -> Result<Value> {
    let mut value = serde_json::to_value(object).map_err(|e| Error::Backend {
        class: ErrorClass::Fatal,
        operation: op.describe(),
        message: "the object cannot be represented as JSON".to_string(),
        source: Some(Box::new(e)),
    })?;
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".to_string(), Value::String(kind.info().api_version()));
        map.insert("kind".to_string(), Value::String(kind.info().name.to_string()));
    }
    Ok(value)
}

/// Only `apiVersion`, `kind` and `metadata`: what we keep of a Secret.
fn metadata_only(kind: Kind, object: &PartialObjectMeta<DynamicObject>) -> Value {
    json!({
        "apiVersion": kind.info().api_version(),
        "kind": kind.info().name,
        "metadata": object.metadata,
    })
}

/// What a call was doing, for error messages: "list pods in namespace production".
struct Operation {
    verb: &'static str,
    namespaced: bool,
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
}

impl Operation {
    fn list(kind: Kind, namespace: Option<&str>) -> Operation {
        Operation {
            verb: "list",
            namespaced: kind.info().namespaced,
            resource: kind.info().resource_name(),
            namespace: namespace.map(str::to_string),
            name: None,
        }
    }

    fn get(kind: Kind, namespace: Option<&str>, name: &str) -> Operation {
        Operation {
            verb: "get",
            namespaced: kind.info().namespaced,
            resource: kind.info().name.to_lowercase(),
            namespace: namespace.map(str::to_string),
            name: Some(name.to_string()),
        }
    }

    fn logs(request: &LogRequest) -> Operation {
        let resource = match (&request.container, request.previous) {
            (Some(c), true) => format!("previous logs of container {c} of pod"),
            (Some(c), false) => format!("logs of container {c} of pod"),
            (None, true) => "previous logs of pod".to_string(),
            (None, false) => "logs of pod".to_string(),
        };
        Operation {
            verb: "read",
            namespaced: true,
            resource,
            namespace: Some(request.namespace.clone()),
            name: Some(request.pod.clone()),
        }
    }

    fn describe(&self) -> String {
        match (&self.name, &self.namespace) {
            (Some(name), Some(ns)) => format!("{} {} {ns}/{name}", self.verb, self.resource),
            (Some(name), None) => format!("{} {} {name}", self.verb, self.resource),
            (None, Some(ns)) => format!("{} {} in namespace {ns}", self.verb, self.resource),
            (None, None) if self.namespaced => format!("{} {} in all namespaces", self.verb, self.resource),
            (None, None) => format!("{} {}", self.verb, self.resource),
        }
    }

    /// Classifies a kube error into the port's error, keeping it as the source.
    fn error(&self, err: kube::Error) -> Error {
        let operation = self.describe();
        let (class, message) = classify(&err, &operation);
        Error::Backend { class, operation, message, source: Some(Box::new(err)) }
    }

    /// As [`Operation::error`], with the log endpoint's "not found" cases as
    /// [`Error::NotFound`]: a missing pod (404), a missing container or a container that never
    /// terminated when the previous log is asked for (400).
    fn log_error(&self, err: kube::Error) -> Error {
        if let kube::Error::Api(status) = &err {
            let message = status.message.trim();
            let missing_container = status.code == 400
                && (message.contains("previous terminated container")
                    || message.contains("is not valid for pod")
                    || message.contains("not found"));
            if status.code == 404 {
                let what = match &self.name {
                    Some(pod) => format!("pod {}/{pod}", self.namespace.as_deref().unwrap_or_default()),
                    None => "pod".to_string(),
                };
                return Error::NotFound { what };
            }
            if missing_container {
                // `Error::NotFound` prints "{what} not found"; don't say it twice.
                let what = message.strip_suffix("not found").unwrap_or(message).trim_end().to_string();
                return Error::NotFound { what };
            }
        }
        self.error(err)
    }
}

/// The class and a message naming what was attempted, for any kube error.
pub(crate) fn classify(err: &kube::Error, operation: &str) -> (ErrorClass, String) {
    match err {
        kube::Error::Api(status) => {
            let detail = if status.message.is_empty() { status.reason.clone() } else { status.message.clone() };
            match status.code {
                401 => (
                    ErrorClass::Forbidden,
                    format!(
                        "the API server did not accept this identity's credentials (401 Unauthorized); for EKS, \
                         check that the IAM principal has an access entry or an aws-auth mapping: {detail}"
                    ),
                ),
                403 => (ErrorClass::Forbidden, format!("{operation} is forbidden for this identity: {detail}")),
                404 => (ErrorClass::NotFound, format!("not found: {detail}")),
                409 => (ErrorClass::Conflict, format!("conflict: {detail}")),
                // An expired `continue` token: the list must be restarted.
                410 => (ErrorClass::Transient, format!("the list changed while paging; retry: {detail}")),
                400 | 422 => (ErrorClass::InvalidInput, format!("the API server rejected the request: {detail}")),
                429 => (ErrorClass::Throttled, format!("throttled by the API server: {detail}")),
                500..=599 => (ErrorClass::Transient, format!("the API server failed ({}): {detail}", status.code)),
                code => (ErrorClass::Fatal, format!("unexpected status {code}: {detail}")),
            }
        }
        kube::Error::HyperError(e) => (ErrorClass::Transient, format!("connection to the API server failed: {e}")),
        kube::Error::Service(e) => match token_error(e.as_ref()) {
            Some(token_err) => (token_err.class(), token_err.to_string()),
            None => (ErrorClass::Transient, format!("connection to the API server failed: {}", chain(e.as_ref()))),
        },
        kube::Error::Auth(e) => (ErrorClass::Forbidden, format!("authentication failed: {e}")),
        kube::Error::SerdeError(e) => (ErrorClass::Fatal, format!("the API server sent an unreadable response: {e}")),
        kube::Error::FromUtf8(e) => (ErrorClass::Fatal, format!("the API server sent text that is not UTF-8: {e}")),
        kube::Error::ReadEvents(e) => (ErrorClass::Transient, format!("reading the response failed: {e}")),
        kube::Error::BuildRequest(e) => (ErrorClass::InvalidInput, format!("invalid request: {e}")),
        other => (ErrorClass::Fatal, other.to_string()),
    }
}

/// An EKS token failure carried through tower's boxed errors, if that is what this is.
fn token_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a crate::Error> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<crate::Error>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// "outer: inner: innermost", for errors whose Display hides their cause.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut current = err.source();
    while let Some(e) = current {
        let text = e.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn api_error(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(Status::failure(message, "").with_code(code)))
    }

    #[test]
    fn status_codes_map_to_classes() {
        struct Case {
            code: u16,
            class: ErrorClass,
        }
        let cases = [
            Case { code: 429, class: ErrorClass::Throttled },
            Case { code: 500, class: ErrorClass::Transient },
            Case { code: 503, class: ErrorClass::Transient },
            Case { code: 504, class: ErrorClass::Transient },
            Case { code: 401, class: ErrorClass::Forbidden },
            Case { code: 403, class: ErrorClass::Forbidden },
            Case { code: 404, class: ErrorClass::NotFound },
            Case { code: 409, class: ErrorClass::Conflict },
            Case { code: 410, class: ErrorClass::Transient },
            Case { code: 400, class: ErrorClass::InvalidInput },
            Case { code: 422, class: ErrorClass::InvalidInput },
        ];
        let op = Operation::list(Kind::Pod, Some("production"));
        for case in cases {
            let err = op.error(api_error(case.code, "boom"));
            assert_eq!(err.class(), case.class, "status {}", case.code);
            let Error::Backend { source, .. } = &err else { panic!("status {}: not a backend error", case.code) };
            let source = source.as_ref().expect("source kept");
            assert!(source.downcast_ref::<kube::Error>().is_some(), "status {}: source is the kube error", case.code);
        }
    }

    #[test]
    fn forbidden_names_the_verb_resource_and_namespace() {
        let err = Operation::list(Kind::Pod, Some("production"))
            .error(api_error(403, r#"pods is forbidden: User "x" cannot list resource "pods""#));
        let text = err.to_string();
        assert!(text.contains("list pods in namespace production is forbidden for this identity"), "{text}");
        let err = Operation::get(Kind::Deployment, Some("shop"), "web").error(api_error(403, "no"));
        assert!(err.to_string().contains("get deployment shop/web is forbidden for this identity"), "{err}");
        let err = Operation::list(Kind::Pod, None).error(api_error(403, "no"));
        assert!(err.to_string().contains("list pods in all namespaces is forbidden"), "{err}");
        let err = Operation::list(Kind::Node, None).error(api_error(403, "no"));
        assert!(err.to_string().contains("list nodes is forbidden"), "{err}");
    }

    #[test]
    fn an_absent_metrics_group_is_not_an_error_but_an_unavailable_one_is() {
        assert!(group_not_served(&api_error(404, "the server could not find the requested resource")));
        // metrics-server registered but down: the aggregator answers 503, a real failure.
        assert!(!group_not_served(&api_error(503, "the server is currently unable to handle the request")));
        let err = Operation::list(Kind::PodMetrics, Some("shop")).error(api_error(503, "unavailable"));
        assert_eq!(err.class(), ErrorClass::Transient);
        assert!(err.to_string().contains("list pods.metrics.k8s.io in namespace shop"), "{err}");
    }

    #[test]
    fn previous_log_of_a_container_that_never_terminated_is_not_found() {
        let request = LogRequest {
            namespace: "shop".into(),
            pod: "web-1".into(),
            container: Some("app".into()),
            previous: true,
            ..LogRequest::default()
        };
        let err = Operation::logs(&request)
            .log_error(api_error(400, r#"previous terminated container "app" in pod "web-1" not found"#));
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert_eq!(err.to_string(), r#"previous terminated container "app" in pod "web-1" not found"#);

        let err = Operation::logs(&request).log_error(api_error(404, r#"pods "web-1" not found"#));
        assert_eq!(err.to_string(), "pod shop/web-1 not found");

        let err = Operation::logs(&request).log_error(api_error(400, "a container name must be specified"));
        assert_eq!(err.class(), ErrorClass::InvalidInput, "{err}");
    }
}
