//! pvc analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the pvc analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
