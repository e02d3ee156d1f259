//! Differential tests of `statemachine/investigation.asl.json`: the same definition runs on
//! moto's Step Functions interpreter (real execution mode, Lambda results queued) and on the
//! local engine (`aiops-engine`), with the same handler outputs in the same order, and both must
//! enter the same states. One harness for the crate (STYLE.md: one link instead of many).
//!
//! - [`asl`]: load-time checks of the definition (placeholders, local substitutions).
//! - [`investigation`]: the five paths — tool loop, approved, rejected, approval timeout,
//!   failing tool.
//! - [`script`]: the scripted handler outputs, in the shapes the real handlers return.
//! - [`on_moto`] and [`on_engine`]: running a script on each side.
//!
//! Run: `cargo nextest run -p aiops-tests-differential`. moto comes from `scripts/setup`.

mod asl;
mod investigation;
mod on_engine;
mod on_moto;
mod script;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// The definition, the same file the template deploys and local mode runs.
pub const INVESTIGATION_ASL: &str = include_str!("../../../../statemachine/investigation.asl.json");

/// The DefinitionSubstitutions keys of the template and of local mode (`cli/src/local.rs`), and
/// the function each one names.
pub const FUNCTIONS: [(&str, &str); 6] = [
    ("ReasonFunctionArn", "aiops-reason"),
    ("K8sReadFunctionArn", "aiops-k8s-read"),
    ("AwsReadFunctionArn", "aiops-aws-read"),
    ("DiagnoseFunctionArn", "aiops-diagnose"),
    ("ApprovalFunctionArn", "aiops-approval"),
    ("K8sWriteFunctionArn", "aiops-k8s-write"),
];

/// Whether `name` can be a substitution name; the engine's rule (`Definition::from_json`).
fn is_substitution_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

/// Every `${Name}` placeholder in `text`: (byte range of the whole `${Name}`, name), in order. A
/// `${` not followed by a valid name and `}` is not a placeholder, as in the engine.
fn scan_placeholders(text: &str) -> Vec<(std::ops::Range<usize>, &str)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("${").map(|i| from + i) {
        let after = start + 2;
        match text[after..].find('}').map(|end| &text[after..after + end]).filter(|name| is_substitution_name(name)) {
            Some(name) => {
                let end = after + name.len() + 1;
                found.push((start..end, name));
                from = end;
            }
            None => from = after,
        }
    }
    found
}

/// The names of the `${Name}` placeholders in `text`, in order, repeats included.
pub fn placeholders(text: &str) -> Vec<&str> {
    scan_placeholders(text).into_iter().map(|(_, name)| name).collect()
}

/// `text` with every `${Name}` replaced by `substitutions[Name]`, as the engine does on load and
/// CloudFormation does with DefinitionSubstitutions; moto has no substitutions, so the moto side
/// creates its state machine from this text.
///
/// # Errors
/// A placeholder with no substitution.
pub fn substitute(text: &str, substitutions: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (range, name) in scan_placeholders(text) {
        let value = substitutions.get(name).ok_or_else(|| anyhow::anyhow!("no substitution for ${{{name}}}"))?;
        out.push_str(&text[copied..range.start]);
        out.push_str(value);
        copied = range.end;
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

/// The states of every Map's ItemProcessor (the iteration states), and the `StartAt` of each
/// processor (entered once per iteration).
fn iteration_states() -> (BTreeSet<String>, BTreeSet<String>) {
    fn walk(states: &Value, inner: bool, names: &mut BTreeSet<String>, starts: &mut BTreeSet<String>) {
        for (name, state) in states.as_object().into_iter().flatten() {
            if inner {
                names.insert(name.clone());
            }
            if let Some(processor) = state.get("ItemProcessor").or_else(|| state.get("Iterator")) {
                if let Some(start) = processor.get("StartAt").and_then(Value::as_str) {
                    starts.insert(start.to_owned());
                }
                if let Some(nested) = processor.get("States") {
                    walk(nested, true, names, starts);
                }
            }
        }
    }
    let mut names = BTreeSet::new();
    let mut starts = BTreeSet::new();
    if let Ok(asl) = serde_json::from_str::<Value>(INVESTIGATION_ASL) {
        walk(&asl["States"], false, &mut names, &mut starts);
    }
    (names, starts)
}

/// A path of entered states made comparable across the two engines: each run of Map iteration
/// states that holds more than one iteration is sorted. Both engines run a Map's iterations
/// concurrently (RunTools has `MaxConcurrency: 4`), so how two iterations' states interleave is
/// scheduling, not semantics; which states were entered, and how often, still must match. A
/// run of one iteration keeps its order, and so does everything outside Maps.
pub fn comparable<S: AsRef<str>>(path: &[S]) -> Vec<String> {
    let (inner, starts) = iteration_states();
    let mut out: Vec<String> = Vec::with_capacity(path.len());
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, out: &mut Vec<String>| {
        if run.iter().filter(|name| starts.contains(*name)).count() > 1 {
            run.sort();
        }
        out.append(run);
    };
    for name in path.iter().map(AsRef::as_ref) {
        if inner.contains(name) {
            run.push(name.to_owned());
        } else {
            flush(&mut run, &mut out);
            out.push(name.to_owned());
        }
    }
    flush(&mut run, &mut out);
    out
}

#[test]
fn comparable_sorts_only_runs_of_several_iterations() {
    let two = ["Reason", "RunTools", "RouteTool", "RouteTool", "Diagnose", "K8sRead", "Reason"];
    let other = ["Reason", "RunTools", "RouteTool", "K8sRead", "RouteTool", "Diagnose", "Reason"];
    assert_eq!(comparable(&two), comparable(&other));
    let one = ["RunTools", "RouteTool", "K8sRead", "ToolFailed", "Reason"];
    assert_eq!(comparable(&one), one);
    assert_ne!(comparable(&["RunTools", "K8sRead", "RouteTool"]), comparable(&["RunTools", "RouteTool", "K8sRead"]));
}

#[test]
fn substitution_follows_the_engine_rule() -> anyhow::Result<()> {
    let subs = BTreeMap::from([("A".to_owned(), "1".to_owned()), ("B.c".to_owned(), "two".to_owned())]);
    assert_eq!(substitute("x ${A} ${B.c}${A} ${ not } ${} $A", &subs)?, "x 1 two1 ${ not } ${} $A");
    assert_eq!(placeholders("${A} ${ not } ${B.c}"), ["A", "B.c"]);
    assert!(substitute("${C}", &subs).is_err());
    Ok(())
}
