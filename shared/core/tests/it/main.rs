//! Integration tests of aiops-core: one harness, modules per concern.

mod corpus;
mod diagnostic_tools;
