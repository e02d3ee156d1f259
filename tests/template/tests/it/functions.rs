//! The template's functions against the workspace: each is a binary of a workspace crate, built
//! by cargo-lambda for arm64 on provided.al2023; every function crate is deployed; and each
//! function's environment holds the names its code reads, spelled as the code spells them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, ensure};
use serde_json::Value;

use crate::{environment, read, resources, root, template};

/// A workspace crate: its folder (relative to the root) and its binaries.
#[derive(Debug)]
struct Crate {
    name: String,
    binaries: BTreeSet<String>,
}

/// The workspace's crates by folder, from `cargo metadata --no-deps` (the workspace members).
fn workspace() -> anyhow::Result<BTreeMap<PathBuf, Crate>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args(["metadata", "--no-deps", "--offline", "--format-version", "1"])
        .current_dir(root())
        .output()
        .context("run cargo metadata")?;
    ensure!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).context("parse cargo metadata")?;
    let root = Path::new(meta["workspace_root"].as_str().context("workspace_root")?).to_path_buf();
    let mut crates = BTreeMap::new();
    for package in meta["packages"].as_array().context("packages")? {
        let manifest = Path::new(package["manifest_path"].as_str().context("manifest_path")?);
        let dir = manifest.parent().context("manifest dir")?.strip_prefix(&root)?.to_path_buf();
        let binaries = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin")))
            .filter_map(|t| t["name"].as_str().map(str::to_string))
            .collect();
        crates.insert(dir, Crate { name: package["name"].as_str().unwrap_or_default().to_string(), binaries });
    }
    Ok(crates)
}

/// The template's functions: logical id, CodeUri, binary.
fn template_functions(template: &Value) -> anyhow::Result<Vec<(String, String, String)>> {
    resources(template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, f)| {
            let uri = f["Properties"]["CodeUri"].as_str().with_context(|| format!("{id}: CodeUri is a folder"))?;
            let binary = f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .with_context(|| format!("{id}: Metadata.BuildProperties.Binary names the Cargo binary"))?;
            Ok((id.to_string(), uri.trim_end_matches('/').to_string(), binary.to_string()))
        })
        .collect()
}

#[test]
fn every_function_of_the_template_is_a_workspace_binary_built_by_cargo_lambda() -> anyhow::Result<()> {
    let template = template()?;
    let workspace = workspace()?;
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], serde_json::json!(["arm64"]));
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Tracing"], "Active", "X-Ray on every function");
    let functions = template_functions(&template)?;
    assert!(!functions.is_empty());
    let mut problems = Vec::new();
    for (id, uri, binary) in &functions {
        let function = &template["Resources"][id.as_str()];
        if function["Metadata"]["BuildMethod"] != "rust-cargolambda" {
            problems.push(format!("{id}: Metadata.BuildMethod is not rust-cargolambda"));
        }
        if function["Properties"]["LoggingConfig"]["LogFormat"] != "JSON" {
            problems.push(format!("{id}: LoggingConfig.LogFormat is not JSON"));
        }
        match workspace.get(Path::new(uri)) {
            None => problems.push(format!("{id}: CodeUri {uri} is no workspace member")),
            Some(krate) if !krate.binaries.contains(binary) => problems.push(format!(
                "{id}: crate {} ({uri}) has no binary {binary} (it has {:?})",
                krate.name, krate.binaries
            )),
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "functions the workspace cannot build:\n{}", problems.join("\n"));
    Ok(())
}

#[test]
fn every_function_crate_of_the_workspace_is_deployed() -> anyhow::Result<()> {
    let template = template()?;
    let deployed: BTreeSet<(String, String)> =
        template_functions(&template)?.into_iter().map(|(_, uri, binary)| (uri, binary)).collect();
    for (dir, krate) in workspace()? {
        if !dir.starts_with("functions") {
            continue;
        }
        for binary in &krate.binaries {
            let key = (dir.to_string_lossy().into_owned(), binary.clone());
            assert!(
                deployed.contains(&key),
                "{} ({}) binary {binary} is in no function of template.yaml",
                krate.name,
                dir.display()
            );
        }
    }
    Ok(())
}

/// Settings every function may leave to their defaults in code (shared/aws/src/config.rs,
/// shared/aws/src/bedrock.rs): tuning knobs, not wiring.
const DEFAULTED: &[&str] = &[
    "AIOPS_MAX_TURNS",
    "AIOPS_MAX_INPUT_TOKENS",
    "AIOPS_MAX_RESULT_BYTES",
    "AIOPS_ALLOW_SCALE_TO_ZERO",
    "AIOPS_MAX_RESOURCE_FACTOR",
    "AIOPS_MEMORY_CEILING",
    "AIOPS_CPU_CEILING",
    "AIOPS_SWEEP_COOLDOWN_SECONDS",
    "AIOPS_SWEEP_MAX_INVESTIGATIONS",
    "AIOPS_SWEEP_MAX_LOGS",
];

/// The `AIOPS_…` and `BEDROCK_…` names in `text`; a family (`AIOPS_MAX_*`, `AIOPS_*_TABLE`) is
/// no name.
fn variable_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for prefix in ["AIOPS_", "BEDROCK_"] {
        for (at, _) in text.match_indices(prefix) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let tail = &text[at..];
            let len =
                tail.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')).unwrap_or(tail.len());
            if tail[len..].starts_with('*') {
                continue;
            }
            let name = tail[..len].trim_end_matches('_');
            if name.len() > prefix.len() {
                names.insert(name.to_string());
            }
        }
    }
    names
}

/// Every `.rs` file under `dir` (relative to the root), as text.
fn sources(dir: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    let mut pending = vec![root().join(dir)];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).with_context(|| format!("list {}", path.display()))? {
                pending.push(entry?.path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            text.push_str(&std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?);
        }
    }
    Ok(text)
}

/// The names the code reads: quoted literals in the shared AWS crate and the functions.
fn names_read_by_code() -> anyhow::Result<BTreeSet<String>> {
    let mut code = sources("shared/aws/src")?;
    code.push_str(&sources("functions")?);
    // Read means a string literal ("AIOPS_STATE_TABLE"), not a mention in a comment.
    Ok(variable_names(&code).into_iter().filter(|name| code.contains(&format!("\"{name}\""))).collect())
}

#[test]
fn variable_names_skip_families_and_trailing_punctuation() {
    let names = variable_names(
        "Environment: AIOPS_CLUSTER_NAME, the AIOPS_*_TABLE names, AIOPS_MAX_*. XAIOPS_NO BEDROCK_MODEL_ID.",
    );
    assert_eq!(names, BTreeSet::from(["AIOPS_CLUSTER_NAME".to_string(), "BEDROCK_MODEL_ID".to_string()]));
}

#[test]
fn every_variable_the_template_sets_is_read_by_the_code() -> anyhow::Result<()> {
    let template = template()?;
    let read_by_code = names_read_by_code()?;
    assert!(read_by_code.contains("AIOPS_STATE_TABLE"), "the scan finds config.rs's names: {read_by_code:?}");
    let mut unknown = Vec::new();
    for (id, function) in resources(&template, "AWS::Serverless::Function") {
        for name in environment(&template, function).keys() {
            if !read_by_code.contains(name) {
                unknown.push(format!("{id}: {name}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "variables the template sets that no code reads (a typo, or code not written yet):\n{}",
        unknown.join("\n")
    );
    Ok(())
}

#[test]
fn every_variable_a_function_says_it_reads_is_set_by_the_template() -> anyhow::Result<()> {
    let template = template()?;
    let mut missing = Vec::new();
    for (id, uri, _) in template_functions(&template)? {
        let main = read(&format!("{uri}/src/main.rs"))?;
        let header: String = main.lines().filter_map(|l| l.strip_prefix("//!")).collect::<Vec<_>>().join("\n");
        let env = environment(&template, &template["Resources"][id.as_str()]);
        for name in variable_names(&header) {
            if !env.contains_key(&name) && !DEFAULTED.contains(&name.as_str()) {
                missing.push(format!("{id} ({uri}/src/main.rs): {name}"));
            }
        }
        for table in ["AIOPS_STATE_TABLE", "AIOPS_AUDIT_TABLE", "AIOPS_APPROVALS_TABLE"] {
            if !env.contains_key(table) {
                missing.push(format!("{id}: {table} (FunctionConfig::from_vars needs it)"));
            }
        }
    }
    assert!(missing.is_empty(), "variables functions read that the template does not set:\n{}", missing.join("\n"));
    Ok(())
}

#[test]
fn the_sweep_schedule_sends_the_input_the_sweep_expects() -> anyhow::Result<()> {
    let template = template()?;
    let source = read("functions/sweep/src/lib.rs")?;
    let expected = source
        .split_once("pub const SCHEDULE_INPUT: &str = r#\"")
        .and_then(|(_, rest)| rest.split_once("\"#;"))
        .map(|(input, _)| input)
        .context("functions/sweep/src/lib.rs defines SCHEDULE_INPUT as a raw string")?;
    let (id, sweep) = resources(&template, "AWS::Serverless::Function")
        .into_iter()
        .find(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"] == "sweep")
        .context("the template deploys the sweep")?;
    let schedules: Vec<&Value> = sweep["Properties"]["Events"]
        .as_object()
        .into_iter()
        .flat_map(|events| events.values())
        .filter(|e| e["Type"] == "ScheduleV2")
        .collect();
    assert_eq!(schedules.len(), 1, "{id} has one EventBridge Scheduler schedule");
    let schedule = &schedules[0]["Properties"];
    assert_eq!(schedule["Input"].as_str(), Some(expected), "{id}: the schedule's Input is SCHEDULE_INPUT");
    assert_eq!(schedule["ScheduleExpression"], serde_json::json!({"Ref": "SweepSchedule"}), "the rate is a parameter");
    Ok(())
}
