//! service analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the service analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
