//! ingress analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the ingress analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
