//! quota analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the quota analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
