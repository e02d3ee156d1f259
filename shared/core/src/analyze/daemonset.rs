//! daemonset analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the daemonset analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
