//! Integration tests of aiops-aws: the real SDK clients against `moto_server` on 127.0.0.1
//! (`scripts/setup` installs it; `aiops_testkit::moto` starts it). One harness for the whole
//! crate (STYLE.md: one link instead of many).
//!
//! Each area has its own module below. To add one, append a `mod <name>;` line (re-read this
//! file first: several people edit it) and use [`sdk_config`] and [`unique`] from here.
//!
//! Run: `cargo nextest run -p aiops-aws` (or a filter, e.g. `cargo nextest run -p aiops-aws dynamo::`).

mod audit_tamper;
mod bedrock;
mod dynamo;
mod inspector;
mod notify;
mod sfn;
mod sweeps;

use std::sync::atomic::{AtomicU32, Ordering};

/// The region every test uses.
pub const REGION: &str = "eu-west-1";

/// An `SdkConfig` for the shared moto server: its endpoint, [`REGION`], static test
/// credentials.
pub async fn sdk_config() -> anyhow::Result<aws_config::SdkConfig> {
    Ok(sdk_config_at(aiops_testkit::moto::shared()?.endpoint()).await)
}

/// An `SdkConfig` for the emulator at `endpoint`, [`REGION`], static test credentials.
pub async fn sdk_config_at(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(REGION)
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "test"))
        .load()
        .await
}

/// A name no other test of this run uses (tables, topics, state machines share one moto).
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}
