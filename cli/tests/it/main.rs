//! End-to-end tests of local mode: the ASL on the local engine, the Lambda handlers in
//! process, the simulated cluster over loopback, SQLite stores.

mod bedrock;
mod corpus;
mod fixtures;
mod support;
mod tools;
mod workflow;
