//! job analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the job analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
