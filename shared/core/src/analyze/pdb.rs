//! pdb analyzer (being written).

use super::{ClusterState, Finding};

/// Runs the pdb analyzer.
pub fn analyze(_state: &ClusterState) -> Vec<Finding> {
    Vec::new()
}
