//! cronjob analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the cronjob analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
