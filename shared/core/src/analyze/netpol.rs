//! netpol analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the netpol analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
