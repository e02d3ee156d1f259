//! aiops-tests-differential: end-to-end differential tests of the investigation workflow.
//!
//! Belongs here: running `statemachine/investigation.asl.json` on moto's Step Functions
//! interpreter (real execution mode, Lambda results queued) and on the local engine
//! (`aiops-engine`) with the same handler outputs in the same order, and comparing the states
//! each entered; and load-time checks of the definition (its `${...}` placeholders). The tests
//! live in `tests/it/` (one harness); this library is empty.
//!
//! Does not belong here: tests of one crate (they live beside that crate), and the handlers'
//! logic (the outputs here are fixed values in the handlers' real shapes).
//!
//! Run: `cargo nextest run -p aiops-tests-differential` (needs `moto_server`: `scripts/setup`).
