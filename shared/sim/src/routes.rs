//! Routing: every request goes through one handler that parses the path against the kinds
//! served (the [`KINDS`](aiops_core::kinds::KINDS) table, less the optional kinds the snapshot holds nothing of), so the
//! served URLs are exactly the table's, and dispatches on the method. Optional kinds (the
//! metrics API) are read-only: get and list.
//!
//! Paths served:
//! - `/version`, `/api`, `/apis`, `/apis/{group}`, `/api/v1`, `/apis/{group}/{version}`;
//! - `/api/v1/{plural}[/{name}[/{sub}]]` and `/apis/{group}/{version}/{plural}[/{name}[/{sub}]]`
//!   for cluster-scoped kinds, and the cluster-wide list of namespaced kinds;
//! - `…/namespaces/{ns}/{plural}[/{name}[/{sub}]]` for namespaced kinds.

use std::sync::Arc;

use aiops_core::Kind;
use aiops_core::kinds::KindInfo;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::discovery;
use crate::resources::{self, Part};
use crate::status::ApiError;
use crate::store::Shared;
use crate::subresources;

/// The router: one fallback handler for every path.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = match handle(&shared, &method, &uri, &headers, &body) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    tracing::debug!(%method, uri = %uri, status = response.status().as_u16(), "simulated cluster request");
    response
}

/// Query parameters of a request.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    fn parse(uri: &Uri) -> Result<Params, ApiError> {
        Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|Query(pairs)| Params(pairs))
            .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))
    }

    /// The last value of a parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A boolean parameter, parsed as Go's `strconv.ParseBool` does; absent is `false`.
    pub(crate) fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
            Some("0" | "f" | "F" | "false" | "FALSE" | "False" | "") => Ok(false),
            Some(other) => Err(ApiError::bad_request(format!("invalid boolean value {other:?} for {name}"))),
        }
    }

    /// A non-negative integer parameter.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| v.parse::<i64>().map_err(|_| ApiError::bad_request(format!("{name}: invalid integer {v:?}"))))
            .transpose()
    }

    /// `dryRun=All` (the only value the real server accepts besides none).
    pub(crate) fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => {
                Err(ApiError::bad_request(format!("unsupported dry run value {other:?}: only All is supported")))
            }
        }
    }
}

/// A resource path: the kind, the namespace (for namespaced paths), the name and subresource.
pub(crate) struct Target<'a> {
    pub(crate) info: &'static KindInfo,
    pub(crate) namespace: Option<&'a str>,
    pub(crate) name: Option<&'a str>,
    pub(crate) sub: Option<&'a str>,
}

enum Route<'a> {
    Version,
    CoreVersions,
    GroupList,
    Group(&'a str),
    Resources { group: &'a str, version: &'a str },
    Resource(Target<'a>),
}

fn find_kind(
    kinds: &[&'static KindInfo],
    group: &str,
    version: &str,
    plural: &str,
) -> Result<&'static KindInfo, ApiError> {
    kinds
        .iter()
        .find(|i| i.group == group && i.version == version && i.plural == plural)
        .copied()
        .ok_or_else(ApiError::unknown_path)
}

fn parse_route<'a>(kinds: &[&'static KindInfo], path: &'a str) -> Result<Route<'a>, ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return Ok(Route::Version),
        ["api"] => return Ok(Route::CoreVersions),
        ["apis"] => return Ok(Route::GroupList),
        ["apis", group] => return Ok(Route::Group(group)),
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::unknown_path()),
    };
    if !discovery::serves_group_version(kinds, group, version) {
        return Err(ApiError::unknown_path());
    }
    let namespaced_path = match rest {
        // `namespaces/{name}/{sub}` is the Namespace's own subresource, not a namespaced list.
        ["namespaces", _, sub] if group.is_empty() && discovery::serves_subresource(Kind::Namespace.info(), sub) => {
            None
        }
        ["namespaces", ns, plural, tail @ ..] => Some((*ns, *plural, tail)),
        _ => None,
    };
    let target = match (namespaced_path, rest) {
        (Some((ns, plural, tail)), _) => {
            let info = find_kind(kinds, group, version, plural)?;
            if !info.namespaced {
                return Err(ApiError::unknown_path());
            }
            match tail {
                [] => Target { info, namespace: Some(ns), name: None, sub: None },
                [name] => Target { info, namespace: Some(ns), name: Some(name), sub: None },
                [name, sub] => Target { info, namespace: Some(ns), name: Some(name), sub: Some(sub) },
                _ => return Err(ApiError::unknown_path()),
            }
        }
        (None, []) => return Ok(Route::Resources { group, version }),
        (None, [plural]) => {
            Target { info: find_kind(kinds, group, version, plural)?, namespace: None, name: None, sub: None }
        }
        (None, [plural, name, tail @ ..]) => {
            let info = find_kind(kinds, group, version, plural)?;
            // A namespaced kind has no named path outside a namespace.
            if info.namespaced {
                return Err(ApiError::unknown_path());
            }
            match tail {
                [] => Target { info, namespace: None, name: Some(name), sub: None },
                [sub] => Target { info, namespace: None, name: Some(name), sub: Some(sub) },
                _ => return Err(ApiError::unknown_path()),
            }
        }
    };
    Ok(Route::Resource(target))
}

/// A JSON response.
pub(crate) fn json(code: StatusCode, value: &Value) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

fn handle(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    let kinds = shared.served();
    let route = parse_route(kinds, uri.path())?;
    let params = Params::parse(uri)?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let aggregated = accept.contains("as=APIGroupDiscoveryList");
    // `Api::get_metadata`/`list_metadata` ask for `as=PartialObjectMetadata[List]`.
    let metadata_only = accept.contains("as=PartialObjectMetadata");
    let target = match route {
        Route::Resource(target) => target,
        discovery_route => {
            if method != Method::GET {
                return Err(ApiError::method_not_allowed());
            }
            let doc = match discovery_route {
                Route::Version => discovery::version(),
                Route::CoreVersions if aggregated => return Ok(aggregated_response(kinds, true)),
                Route::GroupList if aggregated => return Ok(aggregated_response(kinds, false)),
                Route::CoreVersions => {
                    let address = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
                    discovery::core_versions(kinds, address)
                }
                Route::GroupList => discovery::group_list(kinds),
                Route::Group(group) => discovery::group(kinds, group).ok_or_else(ApiError::unknown_path)?,
                Route::Resources { group, version } => discovery::resource_list(kinds, group, version),
                Route::Resource(_) => return Err(ApiError::internal("resource route reached discovery")),
            };
            return Ok(json(StatusCode::OK, &doc));
        }
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    // An add-on API such as metrics.k8s.io answers get and list only.
    if target.info.optional && *method != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    match (target.name, target.sub) {
        (None, _) => match *method {
            Method::GET if params.flag("watch")? => Err(ApiError::watch_not_supported()),
            Method::GET => resources::list(shared, &target, &params, metadata_only),
            Method::POST if target.info.namespaced == target.namespace.is_some() => {
                resources::create(shared, &target, &params, body)
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        (Some(name), None) => match *method {
            Method::GET => resources::get(shared, &target, name, metadata_only),
            Method::PUT => resources::replace(shared, &target, name, Part::Main, &params, body),
            Method::PATCH => resources::patch(shared, &target, name, Part::Main, &params, content_type, body),
            Method::DELETE => resources::delete(shared, &target, name, &params, body),
            _ => Err(ApiError::method_not_allowed()),
        },
        (Some(name), Some(sub)) if discovery::serves_subresource(target.info, sub) => match (sub, method.clone()) {
            ("status", Method::GET) => resources::get(shared, &target, name, false),
            ("status", Method::PUT) => resources::replace(shared, &target, name, Part::Status, &params, body),
            ("status", Method::PATCH) => {
                resources::patch(shared, &target, name, Part::Status, &params, content_type, body)
            }
            ("scale", Method::GET) => subresources::get_scale(shared, &target, name),
            ("scale", Method::PUT) => subresources::replace_scale(shared, &target, name, &params, body),
            ("scale", Method::PATCH) => subresources::patch_scale(shared, &target, name, &params, content_type, body),
            ("log", Method::GET) => subresources::pod_log(shared, &target, name, &params),
            _ => Err(ApiError::method_not_allowed()),
        },
        (Some(_), Some(_)) => Err(ApiError::unknown_path()),
    }
}

fn aggregated_response(kinds: &[&KindInfo], core: bool) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, discovery::AGGREGATED_CONTENT_TYPE)],
        discovery::aggregated(kinds, core).to_string(),
    )
        .into_response()
}
