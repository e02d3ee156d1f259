//! statefulset analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the statefulset analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
