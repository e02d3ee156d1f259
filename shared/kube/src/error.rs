//! The error type of aiops-kube's client construction and EKS authentication.
//!
//! Reading the cluster goes through the [`aiops_core::ports::ClusterReader`] port, whose errors
//! are [`aiops_core::Error`]; this enum covers what happens before that: finding and reading a
//! kubeconfig, describing an EKS cluster, signing its bearer token.

use std::path::PathBuf;

use aiops_core::ErrorClass;

/// A boxed error, as tower and the AWS SDK carry them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors building a Kubernetes client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An explicitly named kubeconfig file does not exist.
    #[error("kubeconfig {path} does not exist")]
    KubeconfigMissing { path: PathBuf },

    /// Neither `KUBECONFIG` nor `~/.kube/config` names a kubeconfig file that exists.
    #[error("no kubeconfig found: looked in {}; set KUBECONFIG or pass a kubeconfig path", display_paths(.searched))]
    NoKubeconfig { searched: Vec<PathBuf> },

    /// A kubeconfig file exists but cannot be read or parsed.
    #[error("failed to read kubeconfig {path}")]
    KubeconfigRead {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },

    /// The requested context is not in the kubeconfig.
    #[error("context {context:?} not found in kubeconfig; available contexts: {}", display_names(.available))]
    ContextNotFound { context: String, available: Vec<String> },

    /// No context was requested and the kubeconfig has no `current-context`.
    #[error("kubeconfig has no current-context; pick one of: {}", display_names(.available))]
    NoCurrentContext { available: Vec<String> },

    /// The kubeconfig (or the in-memory configuration) cannot be turned into a client
    /// configuration: missing server URL, bad certificate, unknown user, …
    #[error("invalid cluster configuration for {what}")]
    Config {
        what: String,
        #[source]
        source: kube::config::KubeconfigError,
    },

    /// The client could not be built (TLS setup, proxy settings).
    #[error("failed to build a Kubernetes client for {what}")]
    Client {
        what: String,
        #[source]
        source: kube::Error,
    },

    /// A URL given for the cluster is not a valid URL.
    #[error("invalid cluster URL {url:?}")]
    InvalidUrl {
        url: String,
        #[source]
        source: http::uri::InvalidUri,
    },

    /// `eks:DescribeCluster` failed; `class` says whether to retry.
    #[error("failed to describe EKS cluster {cluster}: {message}")]
    Eks {
        class: ErrorClass,
        cluster: String,
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// The EKS cluster exists but has no API endpoint or certificate yet (it is being created).
    #[error("EKS cluster {cluster} is not ready (status {status}): it has no {missing} yet")]
    EksNotReady { cluster: String, status: String, missing: &'static str },

    /// The AWS configuration has no region, so the STS endpoint cannot be chosen.
    #[error("no AWS region configured; set AWS_REGION or a profile region")]
    NoRegion,

    /// The AWS configuration has no credentials provider.
    #[error("no AWS credentials provider configured")]
    NoCredentialsProvider,

    /// The credentials provider could not produce credentials.
    #[error("failed to load AWS credentials for the EKS token")]
    Credentials {
        #[source]
        source: aws_credential_types::provider::error::CredentialsError,
    },

    /// SigV4 presigning of the STS request failed.
    #[error("failed to presign the STS GetCallerIdentity request for the EKS token: {message}")]
    Sign {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// How the error is to be treated: retried, shown, or fatal.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::KubeconfigMissing { .. }
            | Error::NoKubeconfig { .. }
            | Error::KubeconfigRead { .. }
            | Error::ContextNotFound { .. }
            | Error::NoCurrentContext { .. }
            | Error::Config { .. }
            | Error::InvalidUrl { .. }
            | Error::NoRegion => ErrorClass::InvalidInput,
            Error::Eks { class, .. } => *class,
            Error::EksNotReady { .. } => ErrorClass::Transient,
            Error::NoCredentialsProvider => ErrorClass::Forbidden,
            Error::Credentials { source } => {
                use aws_credential_types::provider::error::CredentialsError as E;
                match source {
                    E::CredentialsNotLoaded(_) => ErrorClass::Forbidden,
                    E::InvalidConfiguration(_) => ErrorClass::InvalidInput,
                    // Timeouts and provider failures (a 503 from STS, IMDS hiccups) pass.
                    _ => ErrorClass::Transient,
                }
            }
            Error::Client { .. } | Error::Sign { .. } => ErrorClass::Fatal,
        }
    }
}

impl From<Error> for aiops_core::Error {
    fn from(e: Error) -> aiops_core::Error {
        aiops_core::Error::Backend {
            class: e.class(),
            operation: "connect to the cluster".to_string(),
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn display_names(names: &[String]) -> String {
    if names.is_empty() { "(none)".to_string() } else { names.join(", ") }
}

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        "(nowhere: KUBECONFIG is empty and there is no home folder)".to_string()
    } else {
        paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    }
}
