//! logpatterns analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the logpatterns analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
