//! The `aiops` command-line tool's library: the local stack that local mode runs on (the
//! simulated or real cluster, SQLite stores, the local Step Functions engine executing
//! `statemachine/investigation.asl.json` with the same handler functions the Lambdas run), and
//! the helpers the commands share. `main.rs` parses arguments and renders.
//!
//! Does not belong here: business logic (aiops-core) or adapters (aiops-kube, aiops-local,
//! aiops-aws).

pub mod local;
pub mod source;
