//! Load-time checks of the definition: its placeholders are exactly the six substitution keys,
//! local mode substitutes those six, and the engine loads it with them (and refuses it without
//! one of them).

use std::collections::{BTreeMap, BTreeSet};

use aiops_engine::{Definition, LoadError};

use crate::{FUNCTIONS, INVESTIGATION_ASL, placeholders, substitute};

/// Local mode's source, whose `FUNCTIONS` table its substitutions are built from.
const LOCAL_RS: &str = include_str!("../../../../cli/src/local.rs");

/// The `("…FunctionArn", "function")` pairs of local mode's `FUNCTIONS` table.
fn local_functions() -> Vec<(String, String)> {
    LOCAL_RS
        .lines()
        .filter_map(|line| {
            let pair = line.trim().strip_prefix("(\"")?.strip_suffix("\"),")?;
            let (key, function) = pair.split_once("\", \"")?;
            key.ends_with("FunctionArn").then(|| (key.to_owned(), function.to_owned()))
        })
        .collect()
}

/// Local mode's DefinitionSubstitutions, as `aiops_cli::local::substitutions` builds them (read
/// from its source: depending on the CLI would build the whole workspace for this test).
fn local_substitutions() -> BTreeMap<String, String> {
    local_functions()
        .into_iter()
        .map(|(key, function)| (key, format!("arn:aws:lambda:local:000000000000:function:{function}")))
        .collect()
}

#[test]
fn every_placeholder_is_one_of_the_six_substitution_keys() {
    let keys: BTreeSet<&str> = FUNCTIONS.iter().map(|(key, _)| *key).collect();
    let used: BTreeSet<&str> = placeholders(INVESTIGATION_ASL).into_iter().collect();
    let unknown: Vec<_> = used.difference(&keys).collect();
    assert!(unknown.is_empty(), "placeholders that are no substitution key: {unknown:?}");
    assert_eq!(used, keys, "every substitution key is used by the definition");
}

#[test]
fn local_mode_substitutes_the_same_six_keys() {
    let expected: Vec<(String, String)> = FUNCTIONS.iter().map(|(k, f)| ((*k).to_owned(), (*f).to_owned())).collect();
    assert_eq!(local_functions(), expected, "cli/src/local.rs FUNCTIONS");
}

#[test]
fn the_engine_loads_the_definition_with_the_local_substitutions() -> anyhow::Result<()> {
    let substitutions = local_substitutions();
    assert_eq!(substitutions.len(), 6);
    let definition = Definition::from_json(INVESTIGATION_ASL, &substitutions)?;
    assert_eq!(definition.start_at(), "Reason");
    for state in
        ["RunTools", "RouteTool", "ToolFailed", "RequestApproval", "ExpireApproval", "ExecuteAction", "Finalize"]
    {
        assert!(definition.state_names().iter().any(|s| s == state), "{state} is a state");
    }

    // What the moto side creates: substituted up front, nothing left for the engine to replace.
    let substituted = substitute(INVESTIGATION_ASL, &substitutions)?;
    assert!(placeholders(&substituted).is_empty());
    Definition::from_json(&substituted, &BTreeMap::new())?;

    // Load-time validation is real: without one key the definition does not load.
    for (key, _) in FUNCTIONS {
        let mut missing = substitutions.clone();
        missing.remove(key);
        match Definition::from_json(INVESTIGATION_ASL, &missing) {
            Err(LoadError::UnknownSubstitution { name, .. }) => assert_eq!(name, key),
            other => panic!("without {key}: {other:?}"),
        }
    }
    Ok(())
}
