//! The state machines: every `statemachine/*.asl.json` is deployed by a state machine of the
//! template, its `${…}` placeholders are exactly that state machine's DefinitionSubstitutions,
//! and each substitution is the ARN of a function the template deploys.

use std::collections::BTreeSet;

use anyhow::Context;

use crate::{read, referenced_id, resources, root, template};

/// The names inside `${…}` in `text`.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                found.insert(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    found
}

/// The ASL files in `statemachine/`, relative to the root.
fn asl_files() -> anyhow::Result<BTreeSet<String>> {
    let dir = root().join("statemachine");
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("list {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".asl.json") {
            files.insert(format!("statemachine/{name}"));
        }
    }
    Ok(files)
}

#[test]
fn placeholders_are_found_and_only_inside_braces() {
    let found = placeholders(r#"{"a": "${One}", "b": "$.x", "c": "x${Two}y", "d": "${unterminated"#);
    assert_eq!(found, BTreeSet::from(["One".to_string(), "Two".to_string()]));
}

#[test]
fn every_placeholder_is_a_substitution_and_every_substitution_is_used() -> anyhow::Result<()> {
    let template = template()?;
    let machines = resources(&template, "AWS::Serverless::StateMachine");
    assert!(!machines.is_empty(), "the template deploys a state machine");
    let mut deployed = BTreeSet::new();
    for (id, machine) in machines {
        let uri = machine["Properties"]["DefinitionUri"]
            .as_str()
            .with_context(|| format!("{id}: DefinitionUri is a path in the repository"))?;
        let used = placeholders(&read(uri)?);
        let substitutions: BTreeSet<String> = machine["Properties"]["DefinitionSubstitutions"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let missing: Vec<_> = used.difference(&substitutions).collect();
        assert!(missing.is_empty(), "{id}: placeholders of {uri} that are no DefinitionSubstitution: {missing:?}");
        let unused: Vec<_> = substitutions.difference(&used).collect();
        assert!(unused.is_empty(), "{id}: DefinitionSubstitutions that {uri} never uses: {unused:?}");
        deployed.insert(uri.to_string());
    }
    let files = asl_files()?;
    let orphans: Vec<_> = files.difference(&deployed).collect();
    assert!(orphans.is_empty(), "ASL files no state machine of the template deploys: {orphans:?}");
    Ok(())
}

#[test]
fn every_substitution_is_the_arn_of_a_deployed_function() -> anyhow::Result<()> {
    let template = template()?;
    let functions: BTreeSet<&str> =
        resources(&template, "AWS::Serverless::Function").into_iter().map(|(id, _)| id).collect();
    for (id, machine) in resources(&template, "AWS::Serverless::StateMachine") {
        let substitutions = machine["Properties"]["DefinitionSubstitutions"]
            .as_object()
            .with_context(|| format!("{id} has DefinitionSubstitutions"))?;
        for (key, value) in substitutions {
            let target = referenced_id(value).with_context(|| format!("{id}.{key} is a reference"))?;
            assert!(functions.contains(target), "{id}.{key} names {target}, which is no function of the template");
            assert_eq!(value["Fn::GetAtt"][1], "Arn", "{id}.{key} is the function's ARN");
            assert_eq!(key.strip_suffix("Arn"), Some(target), "{id}.{key} is named after the function it names");
        }
    }
    Ok(())
}
