//! aiops-bench: the benchmarks whose figures README's "Figures" table quotes (issue #11), run
//! against release binaries by `scripts/bench`.
//!
//! Belongs here: measuring — cold starts of the function binaries through a loopback Lambda
//! Runtime API ([`runtime_api`]) against a hello-world Lambda and a Python baseline; each tool
//! handler's invocations against the simulated cluster; the demo investigation end to end and
//! its projected AWS cost; collecting `aiops bench analyze` and `aiops bench tokens`; rendering
//! it all as text tables and JSON. Does not belong here: timing assertions in tests, anything
//! the product runs, any network beyond loopback.

pub mod cold_start;
pub mod cost;
pub mod e2e;
pub mod fake_aws;
pub mod process;
pub mod python;
pub mod report;
pub mod runtime_api;
pub mod tools;

/// An SDK configuration for `endpoint` on loopback with fake credentials.
pub fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("AKIDBENCHMARK", "benchmark-secret", None, None, "bench"),
        ))
        .endpoint_url(endpoint)
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}
