//! schemathesis (PyPI; scripts/setup installs it in its own venv) against the OpenAPI
//! document of a running `aiops serve-api`: generated requests, valid and invalid, for every
//! operation; the run must find no 5xx, no undocumented status, no response that violates
//! its schema or content type.

use std::path::PathBuf;
use std::process::Command;

use crate::serving::ServeApi;

fn schemathesis() -> PathBuf {
    let venvs = std::env::var_os("AIOPS_VENVS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/aiops-venvs"));
    let bin = venvs.join("schemathesis/bin/schemathesis");
    assert!(bin.is_file(), "{} is missing: run scripts/setup (it installs schemathesis)", bin.display());
    bin
}

#[test]
fn schemathesis_finds_no_failures_against_the_openapi_document() {
    let bin = schemathesis();
    let api = ServeApi::start("demo-oom-crashloop", &[]);
    let report = tempfile::tempdir().expect("tempdir");
    let out = Command::new(bin)
        .args(["run", &format!("{}/openapi.json", api.url)])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,unsupported_method",
            "--max-examples",
            "40",
            "--seed",
            "20251130",
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--suppress-health-check",
            "too_slow,filter_too_much",
        ])
        .arg("--report-dir")
        .arg(report.path())
        .env("NO_COLOR", "1")
        .current_dir(report.path())
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures ({:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    // It really exercised the API: every operation was tested.
    assert!(stdout.contains("passed"), "{stdout}");
    eprintln!("{}", stdout.lines().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"));
}
