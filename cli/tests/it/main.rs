//! End-to-end tests of local mode: the ASL on the local engine, the Lambda handlers in
//! process, the simulated cluster over loopback, SQLite stores.

mod api;
mod bedrock;
mod corpus;
mod fixtures;
mod hostile;
mod schemathesis;
mod serving;
mod support;
mod sweep;
mod tools;
mod ui;
mod workflow;
