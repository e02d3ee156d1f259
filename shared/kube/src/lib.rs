//! aiops-kube: the ports of `aiops-core` implemented with kube-rs, and the ways to reach a
//! cluster.
//!
//! Belongs here: building a [`kube::Client`] from a kubeconfig, from an EKS cluster name
//! (`eks:DescribeCluster` plus the STS-presigned bearer token that `aws eks get-token`
//! makes, refreshed before it expires) or from a plain URL (the simulated cluster), and
//! [`KubeReader`], the [`aiops_core::ports::ClusterReader`] over such a client, with kube
//! errors classified into [`aiops_core::ErrorClass`]. Later: the `ClusterActuator` port
//! (dry-run, patch, rollback) over the same clients.
//!
//! Does not belong here: what to read and how to summarise it (the tools, analyzers and log
//! reduction of `aiops-core`), the simulated API server (`aiops-sim`), other AWS services
//! (`aiops-aws`), and anything that writes without an approval record.

pub mod actuator;
pub mod client;
pub mod eks_auth;
pub mod error;
pub mod reader;

pub use actuator::KubeActuator;
pub use client::{from_eks, from_kubeconfig, from_url};
pub use eks_auth::{EksTokenSource, eks_token};
pub use error::{Error, Result};
pub use reader::KubeReader;
