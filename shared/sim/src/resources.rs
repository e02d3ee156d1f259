//! list, get, create, replace, patch and delete of any kind in the table.
//!
//! Writes follow the real server's rules that clients notice: a stale
//! `metadata.resourceVersion` is a 409 Conflict, a change of name or namespace is refused, the
//! result must decode as its kind (422 otherwise), a write that changes nothing keeps the
//! resourceVersion, any other bumps the global counter, a change to `spec` bumps
//! `metadata.generation`, writes to the main resource keep `status` and writes to `/status`
//! change only `status`, and `dryRun=All` answers the would-be result without storing it.

use aiops_core::Kind;
use aiops_core::kinds::KindInfo;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::controller;
use crate::patch::{self, PatchError, PatchType};
use crate::routes::{Params, Target, json};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{Shared, Store, k8s_time, meta_str, remove_meta, set_meta};
use crate::validate;

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The object (its `status` is kept when the kind has a status subresource).
    Main,
    /// The `/status` subresource: only `status` changes.
    Status,
}

/// The key namespace of a target: its namespace, or "" for cluster-scoped kinds.
fn key_namespace<'a>(target: &Target<'a>) -> &'a str {
    target.namespace.unwrap_or_default()
}

/// Parses a request body as a JSON object.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body of the request could not be decoded as JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("the body of the request must be a JSON object"));
    }
    Ok(value)
}

/// Checks `apiVersion` and `kind` against the target kind, filling them in when absent.
fn check_type_meta(info: &KindInfo, object: &mut Value) -> Result<(), ApiError> {
    let api_version = info.api_version();
    match object.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => object["apiVersion"] = json!(api_version),
        Some(v) if v == api_version => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
    }
    match object.get("kind").and_then(Value::as_str) {
        None | Some("") => object["kind"] = json!(info.name),
        Some(k) if k == info.name => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                info.name
            )));
        }
    }
    Ok(())
}

/// A `continue` token: the list's resourceVersion and the last key returned.
fn encode_continue(resource_version: u64, namespace: &str, name: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": resource_version, "start": format!("{namespace}/{name}")});
    URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(u64, (String, String)), ApiError> {
    let invalid = |why: &str| ApiError::bad_request(format!("invalid continue token: {why}"));
    let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).map_err(|e| invalid(&e.to_string()))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| invalid(&e.to_string()))?;
    if value.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
        return Err(invalid("unknown token version"));
    }
    let rv = value.get("rv").and_then(Value::as_u64).ok_or_else(|| invalid("no resource version"))?;
    let (ns, name) = value
        .get("start")
        .and_then(Value::as_str)
        .and_then(|s| s.split_once('/'))
        .ok_or_else(|| invalid("no start key"))?;
    Ok((rv, (ns.to_string(), name.to_string())))
}

/// The `PartialObjectMetadata` view of an object.
fn partial(object: &Value) -> Value {
    json!({
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// `GET` a collection: selectors, `limit` and `continue`; `metadata_only` answers a
/// `PartialObjectMetadataList`.
pub(crate) fn list(
    shared: &Shared,
    target: &Target<'_>,
    params: &Params,
    metadata_only: bool,
) -> Result<Response, ApiError> {
    let info = target.info;
    let labels = params
        .get("labelSelector")
        .map(LabelSelector::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?
        .unwrap_or_default();
    let fields = params
        .get("fieldSelector")
        .map(FieldSelector::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?
        .unwrap_or_default();
    let limit = params.int("limit")?.filter(|l| *l > 0).map(|l| usize::try_from(l).unwrap_or(usize::MAX));
    let start = params.get("continue").filter(|t| !t.is_empty()).map(decode_continue).transpose()?;

    let store = shared.read();
    if start.as_ref().is_some_and(|(rv, _)| *rv < store.expired_before()) {
        return Err(ApiError::expired());
    }
    let list_rv = start.as_ref().map_or(store.resource_version(), |(rv, _)| *rv);
    let mut items = Vec::new();
    let mut last_key: Option<&(String, String)> = None;
    let mut remaining = 0_usize;
    for (key, object) in store.iter(info.kind, target.namespace) {
        if start.as_ref().is_some_and(|(_, after)| key <= after) {
            continue;
        }
        if !labels.matches_object(object) || !fields.matches(object) {
            continue;
        }
        if limit.is_some_and(|l| items.len() >= l) {
            remaining += 1;
            continue;
        }
        items.push(if metadata_only { partial(object) } else { object.clone() });
        last_key = Some(key);
    }
    let mut metadata = json!({"resourceVersion": list_rv.to_string()});
    if let Some((ns, name)) = last_key.filter(|_| remaining > 0) {
        metadata["continue"] = json!(encode_continue(list_rv, ns, name));
        metadata["remainingItemCount"] = json!(remaining);
    }
    let (api_version, kind) = if metadata_only {
        ("meta.k8s.io/v1".to_string(), "PartialObjectMetadataList".to_string())
    } else {
        (info.api_version(), format!("{}List", info.name))
    };
    let list = json!({"apiVersion": api_version, "kind": kind, "metadata": metadata, "items": items});
    Ok(json(StatusCode::OK, &list))
}

/// The object a target names, or 404.
pub(crate) fn current(store: &Store, target: &Target<'_>, name: &str) -> Result<Value, ApiError> {
    store
        .get(target.info.kind, key_namespace(target), name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(target.info, name))
}

/// `GET` one object (also serves `GET …/status`); `metadata_only` answers its
/// `PartialObjectMetadata`.
pub(crate) fn get(shared: &Shared, target: &Target<'_>, name: &str, metadata_only: bool) -> Result<Response, ApiError> {
    let object = current(&shared.read(), target, name)?;
    Ok(json(StatusCode::OK, &if metadata_only { partial(&object) } else { object }))
}

/// `POST` a new object.
pub(crate) fn create(shared: &Shared, target: &Target<'_>, params: &Params, body: &[u8]) -> Result<Response, ApiError> {
    let info = target.info;
    let dry_run = params.dry_run()?;
    let mut object = parse_body(body)?;
    check_type_meta(info, &mut object)?;
    let namespace = key_namespace(target);
    if info.namespaced {
        match meta_str(&object, "namespace") {
            None | Some("") => set_meta(&mut object, "namespace", json!(namespace)),
            Some(ns) if ns == namespace => {}
            Some(_) => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
        }
    } else {
        remove_meta(&mut object, "namespace");
    }

    let mut store = shared.write();
    let name = match (meta_str(&object, "name"), meta_str(&object, "generateName")) {
        (Some(name), _) if !name.is_empty() => name.to_string(),
        (_, Some(prefix)) if !prefix.is_empty() => {
            let name = format!("{prefix}{}", store.name_suffix());
            set_meta(&mut object, "name", json!(name));
            name
        }
        _ => {
            return Err(ApiError::invalid_object(
                info,
                "",
                "metadata.name: Required value: name or generateName is required",
            ));
        }
    };
    if store.get(info.kind, namespace, &name).is_some() {
        return Err(ApiError::already_exists(info, &name));
    }
    validate::check_shape(info.kind, &object)
        .and_then(|()| validate::check_values(&object))
        .map_err(|cause| ApiError::invalid_object(info, &name, &cause))?;

    let uid = store.new_uid();
    set_meta(&mut object, "uid", json!(uid));
    set_meta(&mut object, "creationTimestamp", json!(k8s_time(shared.now())));
    if object.get("spec").is_some() {
        set_meta(&mut object, "generation", json!(1));
    }
    if dry_run {
        remove_meta(&mut object, "resourceVersion");
    } else {
        let rv = store.next_resource_version();
        set_meta(&mut object, "resourceVersion", json!(rv.to_string()));
        store.put(info.kind, namespace, &name, object.clone());
    }
    Ok(json(StatusCode::CREATED, &object))
}

/// How the new object of an update was produced: PUT and PATCH answer a renamed object
/// differently, as the real server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Replace,
    Patch,
}

/// How an update is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mode {
    pub(crate) part: Part,
    pub(crate) verb: Verb,
    /// Check everything, store nothing.
    pub(crate) dry_run: bool,
}

/// Checks and stores the result of an update of `old` into `new`; returns what the server
/// answers. A stored change to a Deployment's `spec` then runs the [`controller`] (at `now`),
/// whose writes come after the answer's resourceVersion, as a real controller's would.
pub(crate) fn commit_update(
    store: &mut Store,
    target: &Target<'_>,
    name: &str,
    old: &Value,
    mut new: Value,
    mode: Mode,
    now: Timestamp,
) -> Result<Value, ApiError> {
    let Mode { part, verb, dry_run } = mode;
    let info = target.info;
    if !new.is_object() {
        return Err(ApiError::invalid_object(info, name, "the object is not a JSON object"));
    }
    check_type_meta(info, &mut new)?;
    let immutable = |field: &str, value: &str| {
        ApiError::invalid_object(info, name, &format!("metadata.{field}: Invalid value: {value:?}: field is immutable"))
    };
    match meta_str(&new, "name") {
        None | Some("") => set_meta(&mut new, "name", json!(name)),
        Some(n) if n == name => {}
        Some(n) if verb == Verb::Replace => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        Some(n) => return Err(immutable("name", n)),
    }
    let namespace = key_namespace(target);
    if info.namespaced {
        match meta_str(&new, "namespace") {
            None | Some("") => set_meta(&mut new, "namespace", json!(namespace)),
            Some(ns) if ns == namespace => {}
            Some(_) if verb == Verb::Replace => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            Some(ns) => return Err(immutable("namespace", ns)),
        }
    } else {
        remove_meta(&mut new, "namespace");
    }

    let old_rv = meta_str(old, "resourceVersion").unwrap_or_default().to_string();
    match meta_str(&new, "resourceVersion") {
        Some(rv) if !rv.is_empty() && rv != old_rv => return Err(ApiError::conflict(info, name)),
        _ => {}
    }

    // Server-owned metadata.
    for field in ["uid", "creationTimestamp", "resourceVersion", "generation"] {
        match old.get("metadata").and_then(|m| m.get(field)) {
            Some(value) => set_meta(&mut new, field, value.clone()),
            None => remove_meta(&mut new, field),
        }
    }
    match part {
        Part::Main if info.subresources.contains(&"status") => copy_field(old, &mut new, "status"),
        Part::Main => {}
        Part::Status => {
            let mut only_status = old.clone();
            copy_field(&new, &mut only_status, "status");
            new = only_status;
        }
    }

    let old_shape = validate::check_shape(info.kind, old).and_then(|()| validate::check_values(old));
    let new_shape = validate::check_shape(info.kind, &new).and_then(|()| validate::check_values(&new));
    if let (Ok(()), Err(cause)) = (old_shape, new_shape) {
        return Err(ApiError::invalid_object(info, name, &cause));
    }

    if &new == old {
        return Ok(new);
    }
    if new.get("spec") != old.get("spec") {
        let generation = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
        set_meta(&mut new, "generation", json!(generation + 1));
    }
    if !dry_run {
        let rv = store.next_resource_version();
        set_meta(&mut new, "resourceVersion", json!(rv.to_string()));
        store.put(info.kind, namespace, name, new.clone());
        if info.kind == Kind::Deployment && part == Part::Main {
            controller::deployment_written(store, now, namespace, old, &new);
        }
    }
    Ok(new)
}

/// Sets `to[field]` to `from[field]`, or removes it when `from` has none.
fn copy_field(from: &Value, to: &mut Value, field: &str) {
    let Some(map) = to.as_object_mut() else { return };
    match from.get(field) {
        Some(value) => {
            map.insert(field.to_string(), value.clone());
        }
        None => {
            map.remove(field);
        }
    }
}

/// `PUT` an object (or its status).
pub(crate) fn replace(
    shared: &Shared,
    target: &Target<'_>,
    name: &str,
    part: Part,
    params: &Params,
    body: &[u8],
) -> Result<Response, ApiError> {
    let dry_run = params.dry_run()?;
    let new = parse_body(body)?;
    let mut store = shared.write();
    let old = current(&store, target, name)?;
    let mode = Mode { part, verb: Verb::Replace, dry_run };
    let result = commit_update(&mut store, target, name, &old, new, mode, shared.now())?;
    Ok(json(StatusCode::OK, &result))
}

/// The patch type of a request, or 415.
pub(crate) fn patch_type(content_type: &str) -> Result<PatchType, ApiError> {
    PatchType::from_content_type(content_type).ok_or_else(|| ApiError::unsupported_patch(content_type))
}

/// Applies a patch body, mapping failures to the real server's codes.
pub(crate) fn apply_patch(target: &Value, patch_type: PatchType, body: &[u8]) -> Result<Value, ApiError> {
    patch::apply(target, patch_type, body).map_err(|e| match e {
        PatchError::Decode(_) => ApiError::bad_request(e.to_string()),
        PatchError::Apply(_) => ApiError::unprocessable(e.to_string()),
    })
}

/// `PATCH` an object (or its status).
pub(crate) fn patch(
    shared: &Shared,
    target: &Target<'_>,
    name: &str,
    part: Part,
    params: &Params,
    content_type: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let dry_run = params.dry_run()?;
    let patch_type = patch_type(content_type)?;
    let mut store = shared.write();
    let old = current(&store, target, name)?;
    let new = apply_patch(&old, patch_type, body)?;
    let mode = Mode { part, verb: Verb::Patch, dry_run };
    let result = commit_update(&mut store, target, name, &old, new, mode, shared.now())?;
    Ok(json(StatusCode::OK, &result))
}

/// `DELETE` an object: answers the object as it was. Honours `dryRun` (query or body) and the
/// body's `preconditions` (`resourceVersion`, `uid`).
pub(crate) fn delete(
    shared: &Shared,
    target: &Target<'_>,
    name: &str,
    params: &Params,
    body: &[u8],
) -> Result<Response, ApiError> {
    let info = target.info;
    let options: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    let body_dry_run =
        options.get("dryRun").and_then(Value::as_array).is_some_and(|v| v.iter().any(|d| d.as_str() == Some("All")));
    let dry_run = params.dry_run()? || body_dry_run;

    let mut store = shared.write();
    let old = current(&store, target, name)?;
    for (field, label) in [("resourceVersion", "ResourceVersion"), ("uid", "UID")] {
        let Some(expected) = options.pointer(&format!("/preconditions/{field}")).and_then(Value::as_str) else {
            continue;
        };
        let actual = meta_str(&old, field).unwrap_or_default();
        if expected != actual {
            return Err(ApiError::conflict_with(
                info,
                name,
                &format!("Precondition failed: {label} in precondition: {expected}, {label} in object meta: {actual}"),
            ));
        }
    }
    if !dry_run {
        store.remove(info.kind, key_namespace(target), name);
        store.next_resource_version();
    }
    Ok(json(StatusCode::OK, &old))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let token = encode_continue(42, "prod", "web-1");
        assert_eq!(decode_continue(&token).ok(), Some((42, ("prod".to_string(), "web-1".to_string()))));
        let err = decode_continue("not a token!").expect_err("garbage");
        assert_eq!(err.code, 400);
        let err = decode_continue(&URL_SAFE_NO_PAD.encode("{}")).expect_err("no version");
        assert!(err.message.contains("invalid continue token"), "{}", err.message);
    }
}
