//! Integration tests of aiops-kube: the real kube client over loopback HTTP, against the
//! simulated cluster (`aiops-sim`) and, for EKS, a small fake EKS + API server.

mod eks;
mod fixtures;
mod kubeconfig;
mod metrics;
mod reader;

/// The error of a client constructor that must fail (`kube::Client` is not `Debug`).
pub fn client_error<T>(result: aiops_kube::Result<T>, what: &str) -> aiops_kube::Error {
    match result {
        Ok(_) => panic!("{what}: expected an error, got a client"),
        Err(e) => e,
    }
}
