//! The `scale` subresource (an `autoscaling/v1` Scale over `spec.replicas`) and the pods'
//! `log` subresource. (`status` is served by the resource handlers with [`Part::Status`].)
//!
//! [`Part::Status`]: crate::resources::Part::Status

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::logs::{LogOptions, render};
use crate::resources::{self, Mode, Part, Verb, current, parse_body};
use crate::routes::{Params, Target, json};
use crate::selectors::selector_string;
use crate::status::ApiError;
use crate::store::{Shared, Store, meta_str};
use crate::validate;

/// The Scale view of a scalable object.
fn scale_of(object: &Value) -> Value {
    let mut metadata = json!({});
    for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(value) = object.get("metadata").and_then(|m| m.get(field)) {
            metadata[field] = value.clone();
        }
    }
    let replicas = object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let current = object.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0);
    let mut status = json!({"replicas": current});
    if let Some(selector) = object.pointer("/spec/selector") {
        status["selector"] = json!(selector_string(selector));
    }
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": metadata,
        "spec": {"replicas": replicas},
        "status": status,
    })
}

/// `GET …/scale`.
pub(crate) fn get_scale(shared: &Shared, target: &Target<'_>, name: &str) -> Result<Response, ApiError> {
    let object = current(&shared.read(), target, name)?;
    Ok(json(StatusCode::OK, &scale_of(&object)))
}

fn invalid_scale(name: &str, cause: &str) -> ApiError {
    ApiError::invalid("Scale", "autoscaling", name, cause)
}

/// Writes `scale.spec.replicas` into the object; answers the new Scale.
fn apply_scale(
    store: &mut Store,
    target: &Target<'_>,
    name: &str,
    old: &Value,
    scale: &Value,
    dry_run: bool,
    now: jiff::Timestamp,
) -> Result<Value, ApiError> {
    validate::check_scale_shape(scale).map_err(|cause| invalid_scale(name, &cause))?;
    if let Some(other) = meta_str(scale, "name").filter(|n| !n.is_empty() && *n != name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({other}) does not match the name on the URL ({name})"
        )));
    }
    let old_rv = meta_str(old, "resourceVersion").unwrap_or_default();
    if meta_str(scale, "resourceVersion").is_some_and(|rv| !rv.is_empty() && rv != old_rv) {
        return Err(ApiError::conflict(target.info, name));
    }
    let replicas = scale.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
    if replicas < 0 {
        return Err(invalid_scale(
            name,
            &format!("spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"),
        ));
    }
    let mut new = old.clone();
    match new.get_mut("spec").and_then(Value::as_object_mut) {
        Some(spec) => {
            spec.insert("replicas".into(), json!(replicas));
        }
        None => new["spec"] = json!({"replicas": replicas}),
    }
    let mode = Mode { part: Part::Main, verb: Verb::Patch, dry_run };
    let result = resources::commit_update(store, target, name, old, new, mode, now)?;
    Ok(scale_of(&result))
}

/// `PUT …/scale`.
pub(crate) fn replace_scale(
    shared: &Shared,
    target: &Target<'_>,
    name: &str,
    params: &Params,
    body: &[u8],
) -> Result<Response, ApiError> {
    let dry_run = params.dry_run()?;
    let scale = parse_body(body)?;
    let mut store = shared.write();
    let old = current(&store, target, name)?;
    let result = apply_scale(&mut store, target, name, &old, &scale, dry_run, shared.now())?;
    Ok(json(StatusCode::OK, &result))
}

/// `PATCH …/scale`: the patch applies to the Scale view.
pub(crate) fn patch_scale(
    shared: &Shared,
    target: &Target<'_>,
    name: &str,
    params: &Params,
    content_type: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let dry_run = params.dry_run()?;
    let patch_type = resources::patch_type(content_type)?;
    let mut store = shared.write();
    let old = current(&store, target, name)?;
    let scale = resources::apply_patch(&scale_of(&old), patch_type, body)?;
    let result = apply_scale(&mut store, target, name, &old, &scale, dry_run, shared.now())?;
    Ok(json(StatusCode::OK, &result))
}

fn container_names(pod: &Value, list: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c.get("name").and_then(Value::as_str)).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The `state.waiting.reason` of a container that has never run, if it is waiting.
fn waiting_reason(pod: &Value, container: &str) -> Option<String> {
    let statuses = ["containerStatuses", "initContainerStatuses"]
        .into_iter()
        .filter_map(|list| pod.pointer(&format!("/status/{list}")).and_then(Value::as_array))
        .flatten();
    for status in statuses {
        if status.get("name").and_then(Value::as_str) != Some(container) {
            continue;
        }
        let never_ran = status.get("restartCount").and_then(Value::as_i64).unwrap_or(0) == 0
            && status.pointer("/lastState/terminated").is_none();
        let reason = status.pointer("/state/waiting/reason").and_then(Value::as_str)?;
        if !never_ran {
            return None;
        }
        return Some(match reason {
            "ErrImagePull" | "ImagePullBackOff" => "trying and failing to pull image".to_string(),
            other => other.to_string(),
        });
    }
    None
}

fn invalid_log_options(name: &str, cause: &str) -> ApiError {
    ApiError::invalid("PodLogOptions", "", name, cause)
}

fn log_options(params: &Params, name: &str) -> Result<LogOptions, ApiError> {
    let positive = |field: &str, min: i64| -> Result<Option<u64>, ApiError> {
        match params.int(field)? {
            None => Ok(None),
            Some(v) if v < min => Err(invalid_log_options(
                name,
                &format!(
                    "{field}: Invalid value: {v}: must be greater than {}",
                    if min == 0 { "or equal to 0" } else { "0" }
                ),
            )),
            Some(v) => Ok(Some(v.unsigned_abs())),
        }
    };
    let since_time = params
        .get("sinceTime")
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<jiff::Timestamp>().map_err(|e| ApiError::bad_request(format!("sinceTime: {e}"))))
        .transpose()?;
    let options = LogOptions {
        tail_lines: positive("tailLines", 0)?,
        since_seconds: positive("sinceSeconds", 1)?,
        since_time,
        timestamps: params.flag("timestamps")?,
        limit_bytes: positive("limitBytes", 1)?,
    };
    if options.since_seconds.is_some() && options.since_time.is_some() {
        return Err(invalid_log_options(
            name,
            "sinceSeconds: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
        ));
    }
    Ok(options)
}

/// `GET …/pods/{name}/log`: `container`, `previous`, `tailLines`, `sinceSeconds`, `sinceTime`,
/// `timestamps`, `limitBytes` (`follow` is accepted and returns the whole log at once).
pub(crate) fn pod_log(shared: &Shared, target: &Target<'_>, name: &str, params: &Params) -> Result<Response, ApiError> {
    let pod = current(&shared.read(), target, name)?;
    let options = log_options(params, name)?;
    let previous = params.flag("previous")?;
    let containers = container_names(&pod, "containers");
    let init = container_names(&pod, "initContainers");
    let container = match params.get("container").filter(|c| !c.is_empty()) {
        Some(c) => {
            let ephemeral = container_names(&pod, "ephemeralContainers");
            if !containers.iter().chain(&init).chain(&ephemeral).any(|n| n == c) {
                return Err(ApiError::bad_request(format!("container {c} is not valid for pod {name}")));
            }
            c.to_string()
        }
        None => match containers.as_slice() {
            [only] => only.clone(),
            [] => return Err(ApiError::bad_request(format!("a container name must be specified for pod {name}"))),
            many => {
                let mut message =
                    format!("a container name must be specified for pod {name}, choose one of: [{}]", many.join(" "));
                if !init.is_empty() {
                    message.push_str(&format!(" or one of the init containers: [{}]", init.join(" ")));
                }
                return Err(ApiError::bad_request(message));
            }
        },
    };
    let namespace = target.namespace.unwrap_or_default();
    let text = match shared.log(namespace, name, &container, previous) {
        Some(text) => render(text, &options, shared.captured_at()),
        None if previous => {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            )));
        }
        None => {
            if let Some(reason) = waiting_reason(&pod, &container) {
                return Err(ApiError::bad_request(format!(
                    "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
                )));
            }
            String::new()
        }
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response())
}
