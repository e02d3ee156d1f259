//! Integration tests of aiops-engine: definitions run end to end through the public API, with
//! handlers written here. One harness (one link) for every module; `time_scale` keeps waits,
//! retries and timeouts in milliseconds.

mod callbacks;
mod execution;
mod lambda;
mod loading;
mod map;
mod paths;
mod repo_definitions;
mod retry_catch;
mod states;
mod support;
