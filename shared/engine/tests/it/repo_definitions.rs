//! The repository's own state machines load in this engine: local mode runs exactly the files
//! Step Functions runs.

use std::collections::BTreeMap;

use aiops_engine::Definition;

/// Every `${Name}` in `text`, each pointing at a Lambda function of that name.
fn lambda_substitutions(text: &str) -> BTreeMap<String, String> {
    let mut subs = BTreeMap::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        subs.insert(name.to_owned(), format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"));
        rest = &after[end + 1..];
    }
    subs
}

#[test]
fn every_statemachine_file_loads() {
    let dir = std::path::Path::new(&manifest_dir()).join("../../statemachine");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut loaded = 0;
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if !path.to_string_lossy().ends_with(".asl.json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(e) = Definition::from_json(&text, &lambda_substitutions(&text)) {
            panic!("{} does not load: {e}", path.display());
        }
        loaded += 1;
    }
    assert!(loaded > 0, "no .asl.json file in {}", dir.display());
}

/// The crate folder, read when the test runs (cargo and nextest set it), so a test binary
/// built in another checkout that shares the target folder still looks in this one.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
