//! PATCH bodies: JSON merge patch, strategic merge patch and JSON patch.
//!
//! - `application/merge-patch+json`: RFC 7386 (`json_patch::merge`): objects merge, `null`
//!   deletes a key, anything else (lists included) replaces.
//! - `application/strategic-merge-patch+json`: merge-patch semantics, except that lists whose
//!   elements Kubernetes identifies by a key are merged element by element: `containers`,
//!   `initContainers`, `ephemeralContainers`, `env`, `volumes`, `imagePullSecrets` by `name`,
//!   `volumeMounts` by `mountPath`, `ports` by `containerPort` (or `port` for a Service's ports),
//!   `conditions` by `type`. An element `{"name": "x", "$patch": "delete"}` removes `x`, and
//!   `{"$patch": "replace"}` in a map or list replaces instead of merging; other directives
//!   (`$retainKeys`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…`) are ignored.
//! - `application/json-patch+json`: RFC 6902 (`json_patch::patch`).
//! - `application/apply-patch+yaml` (server-side apply) is not supported: 415.

use serde_json::{Map, Value};

/// The kind of patch, from the request's `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/json-patch+json`.
    Json,
}

impl PatchType {
    /// The patch type for a `Content-Type` header value (parameters such as `; charset=utf-8`
    /// are ignored); `None` for anything else, server-side apply included.
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/json-patch+json" => Some(PatchType::Json),
            _ => None,
        }
    }
}

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The body is not a patch of the declared type (the real server answers 400).
    #[error("error decoding patch: {0}")]
    Decode(String),
    /// The patch is well formed but cannot be applied to this document (422).
    #[error("the server rejected our request due to an error in our request: {0}")]
    Apply(String),
}

/// Applies `body`, a patch of type `patch_type`, to a copy of `target`.
///
/// # Errors
/// [`PatchError::Decode`] when the body does not parse, [`PatchError::Apply`] when a JSON patch
/// operation fails (a `test` that does not hold, a path that does not exist).
pub fn apply(target: &Value, patch_type: PatchType, body: &[u8]) -> Result<Value, PatchError> {
    let mut doc = target.clone();
    match patch_type {
        PatchType::Merge => {
            let patch: Value = serde_json::from_slice(body).map_err(|e| PatchError::Decode(e.to_string()))?;
            json_patch::merge(&mut doc, &patch);
        }
        PatchType::Strategic => {
            let patch: Value = serde_json::from_slice(body).map_err(|e| PatchError::Decode(e.to_string()))?;
            if !patch.is_object() {
                return Err(PatchError::Decode("a strategic merge patch must be a JSON object".into()));
            }
            strategic_merge(&mut doc, &patch);
        }
        PatchType::Json => {
            let patch: json_patch::Patch =
                serde_json::from_slice(body).map_err(|e| PatchError::Decode(e.to_string()))?;
            json_patch::patch(&mut doc, &patch).map_err(|e| PatchError::Apply(e.to_string()))?;
        }
    }
    Ok(doc)
}

/// Applies a strategic merge patch to `target` in place (see the module docs for the rules).
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    merge_value(target, patch);
}

fn directive(value: &Value) -> Option<&str> {
    value.get("$patch").and_then(Value::as_str)
}

fn merge_value(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(patch_map) => {
            if directive(patch) == Some("replace") {
                *target = strip_directives(patch);
                return;
            }
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let Some(target_map) = target.as_object_mut() else { return };
            for (key, value) in patch_map {
                if key.starts_with('$') {
                    continue;
                }
                if value.is_null() || directive(value) == Some("delete") {
                    target_map.remove(key);
                    continue;
                }
                match (target_map.get_mut(key), value) {
                    (Some(Value::Array(items)), Value::Array(patch_items)) => {
                        merge_list(items, patch_items, key);
                    }
                    (Some(existing), Value::Object(_)) => merge_value(existing, value),
                    _ => {
                        target_map.insert(key.clone(), strip_directives(value));
                    }
                }
            }
        }
        _ => *target = strip_directives(patch),
    }
}

/// The key that identifies elements of the list `field`, when Kubernetes merges it by key.
fn merge_key(field: &str, items: &[Value], patch_items: &[Value]) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "ephemeralContainers" | "env" | "volumes" | "imagePullSecrets" => {
            Some("name")
        }
        "volumeMounts" => Some("mountPath"),
        "conditions" => Some("type"),
        "ports" => {
            let has = |k: &str| items.iter().chain(patch_items).any(|i| i.get(k).is_some());
            if has("containerPort") {
                Some("containerPort")
            } else if has("port") {
                Some("port")
            } else {
                None
            }
        }
        _ => None,
    }
}

fn merge_list(items: &mut Vec<Value>, patch_items: &[Value], field: &str) {
    if patch_items.iter().any(|p| directive(p) == Some("replace")) {
        *items = patch_items.iter().filter(|p| directive(p) != Some("replace")).map(strip_directives).collect();
        return;
    }
    let Some(key) = merge_key(field, items, patch_items) else {
        *items = patch_items.iter().map(strip_directives).collect();
        return;
    };
    for patch_item in patch_items {
        let Some(id) = patch_item.get(key) else {
            items.push(strip_directives(patch_item));
            continue;
        };
        let position = items.iter().position(|i| i.get(key) == Some(id));
        match (position, directive(patch_item)) {
            (Some(index), Some("delete")) => {
                items.remove(index);
            }
            (None, Some("delete")) => {}
            (Some(index), _) => merge_value(&mut items[index], patch_item),
            (None, _) => items.push(strip_directives(patch_item)),
        }
    }
}

/// A copy of `value` without `$`-directives and without `null` map values (a patch's `null`
/// means "absent").
fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment() -> Value {
        json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "ports": [{"containerPort": 8080, "name": "http"}],
             "resources": {"limits": {"memory": "128Mi"}}},
            {"name": "sidecar", "image": "envoy:1"}
        ]}}}})
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "resources": {"limits": {"memory": "256Mi"}}, "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}
        ]}}}});
        let out = apply(&deployment(), PatchType::Strategic, patch.to_string().as_bytes()).expect("applies");
        let containers = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().map(Vec::len), Some(2), "sidecar kept: {containers}");
        assert_eq!(containers[0]["image"], "app:1");
        assert_eq!(containers[0]["resources"]["limits"]["memory"], "256Mi");
        assert_eq!(
            containers[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}])
        );
        assert_eq!(containers[0]["ports"][0]["name"], "http");
    }

    #[test]
    fn strategic_delete_and_replace_directives() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}});
        let out = apply(&deployment(), PatchType::Strategic, patch.to_string().as_bytes()).expect("applies");
        assert_eq!(out["spec"]["template"]["spec"]["containers"].as_array().map(Vec::len), Some(1));
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}}}});
        let out = apply(&deployment(), PatchType::Strategic, patch.to_string().as_bytes()).expect("applies");
        assert_eq!(out["spec"]["template"]["spec"]["containers"], json!([{"name": "only", "image": "x"}]));
    }

    #[test]
    fn merge_patch_replaces_lists_and_null_deletes() {
        let patch = json!({"spec": {"replicas": null, "template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}});
        let out = apply(&deployment(), PatchType::Merge, patch.to_string().as_bytes()).expect("applies");
        assert!(out["spec"].get("replicas").is_none());
        assert_eq!(out["spec"]["template"]["spec"]["containers"], json!([{"name": "app", "image": "app:2"}]));
    }

    #[test]
    fn json_patch_applies_and_reports_failures() {
        let patch = json!([{"op": "replace", "path": "/spec/replicas", "value": 5}]);
        let out = apply(&deployment(), PatchType::Json, patch.to_string().as_bytes()).expect("applies");
        assert_eq!(out["spec"]["replicas"], 5);
        let bad = json!([{"op": "test", "path": "/spec/replicas", "value": 9}]);
        assert!(matches!(apply(&deployment(), PatchType::Json, bad.to_string().as_bytes()), Err(PatchError::Apply(_))));
        assert!(matches!(apply(&deployment(), PatchType::Json, b"{}"), Err(PatchError::Decode(_))));
        assert!(matches!(apply(&deployment(), PatchType::Merge, b"not json"), Err(PatchError::Decode(_))));
    }

    #[test]
    fn content_types() {
        assert_eq!(PatchType::from_content_type("application/merge-patch+json; charset=utf-8"), Some(PatchType::Merge));
        assert_eq!(PatchType::from_content_type("application/apply-patch+yaml"), None);
    }
}
