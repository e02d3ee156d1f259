//! Checks of the deployable stack, one harness (STYLE.md: one link instead of many).
//!
//! - [`asl`]: the ASL files' `${…}` placeholders against the template's DefinitionSubstitutions.
//! - [`functions`]: the template's functions against the workspace's binaries and the
//!   environment their code reads.
//! - [`iam`]: the least-privilege claims of the template's roles.
//! - [`rbac`]: the Kubernetes RBAC manifests in `deploy/rbac/` against the reader, the write
//!   tools and the template's access entries.
//!
//! The template is written with long-form intrinsics (`Ref:`, `Fn::GetAtt:`, `Fn::Sub:`), so
//! it reads as plain YAML into JSON values here.

mod asl;
mod functions;
mod iam;
mod rbac;

use std::path::PathBuf;

use anyhow::Context;
use serde_json::{Map, Value};

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(&manifest_dir()).join("../..")
}

/// A file of the repository, as text.
fn read(relative: &str) -> anyhow::Result<String> {
    let path = root().join(relative);
    std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))
}

/// `template.yaml`, as JSON values.
fn template() -> anyhow::Result<Value> {
    serde_saphyr::from_str(&read("template.yaml")?).context("parse template.yaml")
}

/// The template's resources of one type, by logical id.
fn resources<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_object()
        .map(|all| {
            all.iter().filter(|(_, r)| r["Type"].as_str() == Some(kind)).map(|(id, r)| (id.as_str(), r)).collect()
        })
        .unwrap_or_default()
}

/// The logical id a `{"Fn::GetAtt": [ID, "Arn"]}` or `{"Ref": ID}` names.
fn referenced_id(value: &Value) -> Option<&str> {
    value.get("Fn::GetAtt").and_then(|a| a.get(0)).and_then(Value::as_str).or_else(|| value.get("Ref")?.as_str())
}

/// Whether `value` refers to the logical id or parameter `name`: a `Ref`, a `Fn::GetAtt`, or a
/// `${name}` / `${name.Attr}` inside a `Fn::Sub` string.
fn mentions(value: &Value, name: &str) -> bool {
    match value {
        Value::String(s) => s == name || s.contains(&format!("${{{name}}}")) || s.contains(&format!("${{{name}.")),
        Value::Array(items) => items.iter().any(|v| mentions(v, name)),
        Value::Object(map) => map.values().any(|v| mentions(v, name)),
        _ => false,
    }
}

/// Every string inside `value` (the text of `Fn::Sub`s, the branches of `Fn::If`s, …).
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The names of a function's environment: the template's `Globals` and its own.
fn environment<'a>(template: &'a Value, function: &'a Value) -> Map<String, Value> {
    let mut env = template["Globals"]["Function"]["Environment"]["Variables"].as_object().cloned().unwrap_or_default();
    if let Some(own) = function["Properties"]["Environment"]["Variables"].as_object() {
        env.extend(own.clone());
    }
    env
}

/// A `Fn::If: [condition, then, else]` seen through: the branches that are not
/// `AWS::NoValue`; anything else as itself.
fn branches(value: &Value) -> Vec<&Value> {
    match value.get("Fn::If").and_then(Value::as_array) {
        Some(parts) if parts.len() == 3 => parts[1..]
            .iter()
            .filter(|v| v.get("Ref").and_then(Value::as_str) != Some("AWS::NoValue"))
            .flat_map(branches)
            .collect(),
        _ => vec![value],
    }
}

#[test]
fn helpers_see_references_through_intrinsics() -> anyhow::Result<()> {
    let v: Value = serde_json::from_str(
        r#"{"Fn::If": ["C", {"Fn::Sub": "arn:${AuditTable.Arn}/index/*"}, {"Ref": "AWS::NoValue"}]}"#,
    )?;
    assert!(mentions(&v, "AuditTable"));
    assert!(!mentions(&v, "Audit"), "a prefix is not a reference");
    assert_eq!(branches(&v).len(), 1, "NoValue is no branch");
    assert_eq!(referenced_id(&serde_json::json!({"Fn::GetAtt": ["ReasonRole", "Arn"]})), Some("ReasonRole"));
    Ok(())
}

/// The crate folder, read when the test runs (cargo and nextest set it), so a test binary
/// built in another checkout that shares the target folder still looks in this one.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
