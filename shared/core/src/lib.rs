//! aiops-core: the domain of AgenticAIOps with no I/O of its own beyond reading snapshot
//! folders.
//!
//! Belongs here: domain types, the resource-kind table, the snapshot format, the tool catalog
//! with its JSON schemas and argument validation, the read tools composed over the
//! [`ports::ClusterReader`] port (fetching is the adapter's job; summarising is ours), log
//! reduction, and later the safety policy, analyzers, offline reasoner and prompts.
//!
//! Does not belong here: the AWS SDK, the kube client, HTTP servers, SQLite — those live in
//! adapter crates (`aiops-kube`, `aiops-aws`, `aiops-sim`, …) that implement these ports.

pub mod error;
pub mod kinds;
pub mod ports;
pub mod snapshot;

pub use error::{Error, ErrorClass, Result};
pub use kinds::Kind;
pub mod agent;
pub mod analyze;
pub mod capture;
pub mod catalog;
pub mod fixtures;
pub mod k8s;
pub mod logs;
pub mod policy;
pub mod quantity;
pub mod sweep;
pub mod tools;
pub mod workflow;
