//! hpa analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the hpa analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
