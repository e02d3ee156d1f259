//! Building a [`kube::Client`]: from a kubeconfig, from an EKS cluster name, or from a plain
//! URL (the simulated cluster). Build one client per process and clone it: clones share the
//! connection pool and, for EKS, the token cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aiops_core::ErrorClass;
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eks::operation::describe_cluster::DescribeClusterError;
use kube::Client;
use kube::client::ClientBuilder;
use kube::config::{Cluster, Context, KubeConfigOptions, Kubeconfig, NamedCluster, NamedContext};

use crate::eks_auth::{BearerTokenLayer, EksTokenSource};
use crate::error::{Error, Result};

/// How long to wait for an API response. kube leaves this unset (for watches and exec); the
/// reader does neither, and a hung API server must not eat a Lambda's whole timeout.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A client from a kubeconfig file, for `context` (or the file's `current-context`).
///
/// `path` defaults to the files listed in `KUBECONFIG` (merged, as kubectl does; missing
/// ones skipped) or else `~/.kube/config`. Exec credential plugins (`aws eks get-token`),
/// token files and client certificates work as in kubectl.
///
/// # Errors
/// [`Error::KubeconfigMissing`] / [`Error::NoKubeconfig`] when there is no file,
/// [`Error::KubeconfigRead`] when it cannot be parsed, [`Error::ContextNotFound`] (listing the
/// contexts there are) for an unknown context, [`Error::Config`] for an incomplete context.
pub async fn from_kubeconfig(path: Option<&Path>, context: Option<&str>) -> Result<Client> {
    let kubeconfig = read_kubeconfig(path)?;
    let available = || kubeconfig.contexts.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let context_name = match context.map(str::to_string).or_else(|| kubeconfig.current_context.clone()) {
        Some(name) => name,
        None => return Err(Error::NoCurrentContext { available: available() }),
    };
    if !kubeconfig.contexts.iter().any(|c| c.name == context_name) {
        return Err(Error::ContextNotFound { context: context_name, available: available() });
    }
    let options = KubeConfigOptions { context: Some(context_name.clone()), ..KubeConfigOptions::default() };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|source| Error::Config { what: format!("context {context_name:?}"), source })?;
    tune(&mut config);
    Client::try_from(config).map_err(|source| Error::Client { what: format!("context {context_name:?}"), source })
}

/// Reads the kubeconfig at `path`, or the default one.
fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig> {
    let read = |path: &Path| {
        Kubeconfig::read_from(path).map_err(|source| Error::KubeconfigRead { path: path.to_path_buf(), source })
    };
    if let Some(path) = path {
        if !path.exists() {
            return Err(Error::KubeconfigMissing { path: path.to_path_buf() });
        }
        return read(path);
    }
    let searched = default_kubeconfig_paths();
    let mut merged: Option<Kubeconfig> = None;
    for path in searched.iter().filter(|p| p.exists()) {
        let next = read(path)?;
        merged = Some(match merged {
            None => next,
            Some(m) => m.merge(next).map_err(|source| Error::KubeconfigRead { path: path.clone(), source })?,
        });
    }
    merged.ok_or(Error::NoKubeconfig { searched })
}

/// `KUBECONFIG`'s list when set and non-empty, else `~/.kube/config`.
fn default_kubeconfig_paths() -> Vec<PathBuf> {
    if let Some(value) = std::env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = std::env::split_paths(&value).filter(|p| !p.as_os_str().is_empty()).collect();
        if !paths.is_empty() {
            return paths;
        }
    }
    std::env::home_dir().map(|home| vec![home.join(".kube").join("config")]).unwrap_or_default()
}

/// A client for the EKS cluster `cluster_name`, authenticated as the identity of
/// `sdk_config` (its region and credentials provider).
///
/// Calls `eks:DescribeCluster` once for the endpoint and CA, signs a first token (so bad
/// credentials fail here, not on the first read), and installs a layer that puts a token no
/// older than [`crate::eks_auth::REFRESH_AFTER`] on every request.
///
/// # Errors
/// [`Error::Eks`] classified: not found (wrong name or region), forbidden (the identity lacks
/// `eks:DescribeCluster`), throttled, transient; [`Error::EksNotReady`] while the cluster is
/// being created; [`Error::NoRegion`], [`Error::NoCredentialsProvider`], [`Error::Credentials`]
/// for an incomplete AWS configuration.
pub async fn from_eks(cluster_name: &str, sdk_config: &aws_config::SdkConfig) -> Result<Client> {
    let region = sdk_config.region().ok_or(Error::NoRegion)?.to_string();
    let credentials = sdk_config.credentials_provider().ok_or(Error::NoCredentialsProvider)?;

    let eks = aws_sdk_eks::Client::new(sdk_config);
    let described =
        eks.describe_cluster().name(cluster_name).send().await.map_err(|e| describe_cluster_error(cluster_name, e))?;
    let cluster = described.cluster().ok_or_else(|| Error::Eks {
        class: ErrorClass::Transient,
        cluster: cluster_name.to_string(),
        message: "the response has no cluster".to_string(),
        source: None,
    })?;
    let status = cluster.status().map_or_else(|| "unknown".to_string(), |s| s.as_str().to_string());
    let not_ready = |missing| Error::EksNotReady { cluster: cluster_name.to_string(), status: status.clone(), missing };
    let endpoint = cluster.endpoint().filter(|e| !e.is_empty()).ok_or_else(|| not_ready("API endpoint"))?;
    let ca_data = cluster
        .certificate_authority()
        .and_then(|ca| ca.data())
        .filter(|d| !d.is_empty())
        .ok_or_else(|| not_ready("certificate authority"))?;

    // Let kube parse the CA exactly as it does for a kubeconfig (base64 of PEM).
    let kubeconfig = Kubeconfig {
        clusters: vec![NamedCluster {
            name: cluster_name.to_string(),
            cluster: Some(Cluster {
                server: Some(endpoint.to_string()),
                certificate_authority_data: Some(ca_data.to_string()),
                ..Cluster::default()
            }),
            ..NamedCluster::default()
        }],
        contexts: vec![NamedContext {
            name: cluster_name.to_string(),
            context: Some(Context { cluster: cluster_name.to_string(), ..Context::default() }),
            ..NamedContext::default()
        }],
        current_context: Some(cluster_name.to_string()),
        ..Kubeconfig::default()
    };
    let what = || format!("EKS cluster {cluster_name}");
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|source| Error::Config { what: what(), source })?;
    tune(&mut config);

    let source = Arc::new(EksTokenSource::new(cluster_name, region, credentials));
    source.token().await?;
    let builder = ClientBuilder::try_from(config).map_err(|source| Error::Client { what: what(), source })?;
    Ok(builder.with_layer(&BearerTokenLayer::new(source)).build())
}

fn describe_cluster_error<R>(cluster: &str, err: SdkError<DescribeClusterError, R>) -> Error
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let service_message = err.message().map(|m| format!(" ({m})")).unwrap_or_default();
    let (class, message) = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            (ErrorClass::Transient, "the EKS API could not be reached".to_string())
        }
        SdkError::ResponseError(_) => (ErrorClass::Transient, "the EKS API sent an unreadable response".to_string()),
        SdkError::ServiceError(service) => match service.err() {
            DescribeClusterError::ResourceNotFoundException(_) => (
                ErrorClass::NotFound,
                format!("no cluster named {cluster} in this account and region{service_message}"),
            ),
            DescribeClusterError::ServerException(_) | DescribeClusterError::ServiceUnavailableException(_) => {
                (ErrorClass::Transient, format!("the EKS API failed{service_message}"))
            }
            DescribeClusterError::ClientException(_) => {
                (ErrorClass::InvalidInput, format!("the EKS API rejected the request{service_message}"))
            }
            other => match other.code() {
                Some(
                    "AccessDeniedException"
                    | "AccessDenied"
                    | "UnauthorizedOperation"
                    | "UnrecognizedClientException"
                    | "InvalidClientTokenId"
                    | "InvalidSignatureException"
                    | "ExpiredTokenException",
                ) => (
                    ErrorClass::Forbidden,
                    format!(
                        "access denied: this identity may not call eks:DescribeCluster on {cluster}{service_message}"
                    ),
                ),
                Some(
                    "ThrottlingException"
                    | "Throttling"
                    | "TooManyRequestsException"
                    | "RequestLimitExceeded"
                    | "LimitExceededException",
                ) => (ErrorClass::Throttled, format!("throttled by the EKS API{service_message}")),
                Some(code) => (ErrorClass::Fatal, format!("{code}{service_message}")),
                None => (ErrorClass::Fatal, format!("unexpected error{service_message}")),
            },
        },
        _ => (ErrorClass::Fatal, "the request could not be built".to_string()),
    };
    Error::Eks { class, cluster: cluster.to_string(), message, source: Some(Box::new(err)) }
}

/// A client for a plain-HTTP API server with no authentication: the simulated cluster.
///
/// # Errors
/// [`Error::InvalidUrl`] for a malformed URL, [`Error::Client`] if the client cannot be built.
pub async fn from_url(url: &str) -> Result<Client> {
    let uri = url.parse::<http::Uri>().map_err(|source| Error::InvalidUrl { url: url.to_string(), source })?;
    let mut config = kube::Config::new(uri);
    tune(&mut config);
    Client::try_from(config).map_err(|source| Error::Client { what: format!("URL {url}"), source })
}

fn tune(config: &mut kube::Config) {
    config.read_timeout = Some(READ_TIMEOUT);
    // Count the timeout from the request, not from when a pooled connection went idle.
    config.reset_reader_on_write = true;
}
