//! aiops-tests-template: checks of the deployable stack that need no AWS account.
//!
//! Belongs here: reading `template.yaml` (AWS SAM), `statemachine/*.asl.json` and the RBAC
//! manifests in `deploy/rbac/`, and checking them against each other and against the workspace:
//! every `${…}` placeholder of an ASL file is a DefinitionSubstitution of the template and every
//! substitution is used; every function the template names is a workspace binary built with
//! cargo-lambda, and every function crate is deployed; the environment the template gives each
//! function is what its code reads; the IAM claims (only the API sends task results, no role may
//! update or delete audit items, Bedrock only for the reason function and only on the configured
//! model, read tools cannot write); the Kubernetes claims (the read ClusterRole grants no Secrets
//! and no write verb and covers every kind the reader lists; the write Role only patches
//! Deployments). The tests live in `tests/it/` (one harness); this library is empty.
//!
//! Does not belong here: the CloudFormation and security linters (`scripts/check-template` runs
//! `sam validate --lint`, checkov and asl-validator), and tests of the workflow itself
//! (`tests/differential`).
//!
//! Run: `cargo nextest run -p aiops-tests-template`.
