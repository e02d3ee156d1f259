//! node analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the node analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
