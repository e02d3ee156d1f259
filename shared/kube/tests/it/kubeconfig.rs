//! `from_kubeconfig`: choosing a context, and the errors a user sees.

use std::path::Path;

use aiops_core::ports::{ClusterReader, Scope};
use aiops_core::{ErrorClass, Kind};
use aiops_kube::{Error, KubeReader};

use crate::fixtures::{self, names};

/// A kubeconfig with two contexts on the same server, defaulting to different namespaces.
fn write_kubeconfig(dir: &Path, server: &str, current: Option<&str>) -> std::path::PathBuf {
    let current = current.map(|c| format!("current-context: {c}\n")).unwrap_or_default();
    let text = format!(
        "apiVersion: v1
kind: Config
{current}clusters:
- name: sim
  cluster:
    server: {server}
contexts:
- name: sim-production
  context:
    cluster: sim
    user: nobody
    namespace: production
- name: sim-staging
  context:
    cluster: sim
    user: nobody
    namespace: staging
users:
- name: nobody
  user: {{}}
"
    );
    let path = dir.join("config");
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

#[tokio::test]
async fn a_context_is_selected_by_name() {
    let (_sim, url) = fixtures::sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_kubeconfig(dir.path(), &url, Some("sim-production"));

    let staging = aiops_kube::from_kubeconfig(Some(&path), Some("sim-staging")).await.expect("staging context");
    assert_eq!(staging.default_namespace(), "staging", "the named context, not current-context");
    let reader = KubeReader::new(staging, None);
    // The client really talks to the server of that context.
    let pod = reader.get(Kind::Pod, None, "web-1").await.expect("get web-1").expect("web-1 in staging");
    assert_eq!(pod["metadata"]["namespace"], "staging");

    let current = aiops_kube::from_kubeconfig(Some(&path), None).await.expect("current context");
    assert_eq!(current.default_namespace(), "production");
    let pods = KubeReader::new(current, None).list(Kind::Pod, &Scope::all()).await.expect("list");
    assert_eq!(names(&pods).len(), 4);
}

#[tokio::test]
async fn a_missing_context_lists_the_available_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_kubeconfig(dir.path(), "http://127.0.0.1:1", Some("sim-production"));
    let err = crate::client_error(aiops_kube::from_kubeconfig(Some(&path), Some("prod")).await, "no such context");
    assert!(matches!(&err, Error::ContextNotFound { context, .. } if context == "prod"), "{err:?}");
    assert_eq!(
        err.to_string(),
        r#"context "prod" not found in kubeconfig; available contexts: sim-production, sim-staging"#
    );
    assert_eq!(err.class(), ErrorClass::InvalidInput);
}

#[tokio::test]
async fn no_current_context_and_none_asked_for_lists_the_available_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_kubeconfig(dir.path(), "http://127.0.0.1:1", None);
    let err = crate::client_error(aiops_kube::from_kubeconfig(Some(&path), None).await, "no current context");
    assert_eq!(err.to_string(), "kubeconfig has no current-context; pick one of: sim-production, sim-staging");
}

#[tokio::test]
async fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope.yaml");
    let err = crate::client_error(aiops_kube::from_kubeconfig(Some(&path), None).await, "no file");
    assert!(matches!(err, Error::KubeconfigMissing { .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("kubeconfig {} does not exist", path.display()));
}

#[tokio::test]
async fn a_file_that_is_not_a_kubeconfig_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    std::fs::write(&path, "clusters: [not, a, kubeconfig").expect("write");
    let err = crate::client_error(aiops_kube::from_kubeconfig(Some(&path), None).await, "bad yaml");
    assert!(matches!(err, Error::KubeconfigRead { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}
