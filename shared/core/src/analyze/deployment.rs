//! deployment analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the deployment analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
