//! replicaset analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the replicaset analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
