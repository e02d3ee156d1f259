//! aiops-local: the adapters of local mode, the embedded default that runs on one machine
//! with no AWS account.
//!
//! Belongs here: [`SqliteStore`], one SQLite file that implements the state store, the
//! append-only hash-chained audit trail, the approval store and the object locks of
//! [`aiops_core::ports`] ([`aiops_core::ports::StateStore`], [`aiops_core::ports::AuditLog`],
//! [`aiops_core::ports::ApprovalStore`], [`aiops_core::ports::LockStore`]); and the notifiers of local mode and tests,
//! [`TerminalNotifier`] and [`RecordingNotifier`].
//!
//! Does not belong here: the cloud adapters (DynamoDB stores, SNS, Step Functions task
//! tokens) — those live in `aiops-aws`; the local workflow engine (`aiops-engine`); and any
//! domain logic — what an event, an approval or a transcript means is defined in
//! `aiops-core`, and this crate only stores it faithfully.

mod error;
mod notify;
mod sqlite;

pub use error::{Error, Result};
pub use notify::{Notification, RecordingNotifier, TerminalNotifier};
pub use sqlite::SqliteStore;
