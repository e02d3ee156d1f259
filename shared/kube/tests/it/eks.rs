//! EKS: `from_eks` against a fake EKS API and API server on loopback (the real AWS SDK and
//! kube client on the wire), and the bearer-token layer on a real kube client.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aiops_core::ports::{ClusterReader, Scope};
use aiops_core::{ErrorClass, Kind};
use aiops_kube::eks_auth::{BearerTokenLayer, Clock, EksTokenSource, TOKEN_PREFIX};
use aiops_kube::{Error, KubeReader};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

/// A throwaway self-signed CA (`openssl req -x509 -newkey ec …`, key discarded): EKS returns
/// the cluster CA as base64 of PEM, and kube must parse it.
const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBgTCCASegAwIBAgIUNOd5Y2wcpQOKjbiwbAEPdJ5eQbkwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAgFw0yNjExMzAwODQwMDVaGA8yMTI2MTEw
NjA4NDAwNVowFTETMBEGA1UEAwwKa3ViZXJuZXRlczBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABNOYEv64SGBJZAs876/LMvlFv3DszKwFZT9/HUWVNd3KQyQK1HVF
BWdLW9yAieD/cPwdATtZS3xYwQndXFeSyLKjUzBRMB0GA1UdDgQWBBRFo/zYLMOF
OaVcUn2cxGyOG5/kgzAfBgNVHSMEGDAWgBRFo/zYLMOFOaVcUn2cxGyOG5/kgzAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIFVNZddzRh4BNmzxNam7
CADQaFgSYxAeDqLNi+rl+qtHAiEA8OCSak/0asYEvlQ7AGlSqHUP0ppqbdV1Ptb/
S/LitoI=
-----END CERTIFICATE-----
";

#[derive(Default)]
struct Fake {
    url: String,
    /// `Authorization` headers the API server saw, in order.
    authorizations: Mutex<Vec<String>>,
}

/// `GET /clusters/{name}` (EKS DescribeCluster, restJson1) and `GET /api/v1/namespaces/{ns}/pods`
/// (a Kubernetes API server that records the bearer tokens it is sent).
async fn start_fake() -> Arc<Fake> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let fake = Arc::new(Fake { url, ..Fake::default() });
    let app = Router::new()
        .route("/clusters/{name}", get(describe_cluster))
        .route("/api/v1/namespaces/{ns}/pods", get(list_pods))
        .with_state(Arc::clone(&fake));
    tokio::spawn(async move { axum::serve(listener, app).await });
    fake
}

fn aws_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, [("x-amzn-errortype", code)], Json(json!({ "message": message }))).into_response()
}

async fn describe_cluster(State(fake): State<Arc<Fake>>, Path(name): Path<String>) -> Response {
    match name.as_str() {
        "prod" => Json(json!({"cluster": {
            "name": "prod",
            "arn": "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
            "endpoint": fake.url,
            "status": "ACTIVE",
            "certificateAuthority": {"data": STANDARD.encode(CA_PEM)},
        }}))
        .into_response(),
        "creating" => Json(json!({"cluster": {"name": "creating", "status": "CREATING"}})).into_response(),
        "denied" => aws_error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: eks:DescribeCluster",
        ),
        "busy" => aws_error(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", "Rate exceeded"),
        "flaky" => aws_error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailableException", "try later"),
        _ => aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("No cluster found for name: {name}."),
        ),
    }
}

async fn list_pods(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    fake.authorizations.lock().expect("lock").push(auth);
    Json(json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": [
        {"metadata": {"name": "api-0", "namespace": "default"}, "spec": {"containers": []}}
    ]}))
    .into_response()
}

fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "SECRET", None, None, "test",
        )))
        .endpoint_url(endpoint)
        .behavior_version(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build()
}

/// The presigned URL inside a bearer header value.
fn presigned_url(authorization: &str) -> String {
    let token = authorization.strip_prefix("Bearer ").expect("a bearer token");
    let encoded = token.strip_prefix(TOKEN_PREFIX).expect("an EKS token");
    String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).expect("utf-8")
}

#[tokio::test]
async fn from_eks_describes_the_cluster_and_sends_a_signed_token() {
    let fake = start_fake().await;
    let client = aiops_kube::from_eks("prod", &sdk_config(&fake.url)).await.expect("client for prod");
    let reader = KubeReader::new(client, None);
    let pods = reader.list(Kind::Pod, &Scope::namespace(Some("default"))).await.expect("list pods");
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0]["kind"], "Pod");

    let seen = fake.authorizations.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let url = presigned_url(&seen[0]);
    assert!(
        url.starts_with("https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"),
        "{url}"
    );
    assert!(url.contains("X-Amz-Credential=AKIDTEST%2F"), "signed by the SDK config's identity: {url}");
    assert!(url.contains("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"), "{url}");
    assert!(url.contains("X-Amz-Expires=60"), "{url}");
}

#[tokio::test]
async fn from_eks_classifies_describe_cluster_failures() {
    struct Case {
        cluster: &'static str,
        class: ErrorClass,
        says: &'static str,
    }
    let cases = [
        Case { cluster: "missing", class: ErrorClass::NotFound, says: "no cluster named missing" },
        Case { cluster: "denied", class: ErrorClass::Forbidden, says: "eks:DescribeCluster" },
        Case { cluster: "busy", class: ErrorClass::Throttled, says: "throttled" },
        Case { cluster: "flaky", class: ErrorClass::Transient, says: "the EKS API failed" },
        Case { cluster: "creating", class: ErrorClass::Transient, says: "is not ready (status CREATING)" },
    ];
    let fake = start_fake().await;
    let sdk = sdk_config(&fake.url);
    for case in cases {
        let err = crate::client_error(aiops_kube::from_eks(case.cluster, &sdk).await, case.cluster);
        assert_eq!(err.class(), case.class, "{}: {err}", case.cluster);
        assert!(err.to_string().contains(case.says), "{}: {err}", case.cluster);
        if let Error::Eks { source, .. } = &err {
            assert!(source.is_some(), "{}: the SDK error is kept", case.cluster);
        }
    }

    let unreachable = sdk_config("http://127.0.0.1:1");
    let err = crate::client_error(aiops_kube::from_eks("prod", &unreachable).await, "unreachable");
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
}

#[tokio::test]
async fn from_eks_needs_a_region() {
    let sdk = aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
    let err = crate::client_error(aiops_kube::from_eks("prod", &sdk).await, "no region");
    assert!(matches!(err, Error::NoRegion), "{err:?}");
}

fn manual_clock() -> (Clock, Arc<AtomicU64>) {
    let start = SystemTime::now();
    let offset = Arc::new(AtomicU64::new(0));
    let o = Arc::clone(&offset);
    (Arc::new(move || start + Duration::from_secs(o.load(Ordering::SeqCst))), offset)
}

fn client_with_layer(url: &str, source: EksTokenSource) -> kube::Client {
    let config = kube::Config::new(url.parse().expect("url"));
    kube::client::ClientBuilder::try_from(config)
        .expect("builder")
        .with_layer(&BearerTokenLayer::new(Arc::new(source)))
        .build()
}

#[tokio::test]
async fn every_request_carries_a_fresh_enough_token() {
    let fake = start_fake().await;
    let (clock, offset) = manual_clock();
    let creds = SharedCredentialsProvider::new(Credentials::new("AKIDTEST", "SECRET", None, None, "test"));
    let source = EksTokenSource::new("prod", "eu-west-1", creds).with_clock(clock);
    let reader = KubeReader::new(client_with_layer(&fake.url, source), None);
    let scope = Scope::namespace(Some("default"));

    reader.list(Kind::Pod, &scope).await.expect("request at 0 min");
    offset.store(5 * 60, Ordering::SeqCst);
    reader.list(Kind::Pod, &scope).await.expect("request at 5 min");
    offset.store(11 * 60, Ordering::SeqCst);
    reader.list(Kind::Pod, &scope).await.expect("request at 11 min");
    reader.list(Kind::Pod, &scope).await.expect("second request at 11 min");

    let seen = fake.authorizations.lock().expect("lock").clone();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0], seen[1], "a 5-minute-old token is reused");
    assert_ne!(seen[1], seen[2], "an 11-minute-old token is replaced");
    assert_eq!(seen[2], seen[3], "the new token is reused in turn");
}

/// Fails the first `failures` times, then returns credentials.
#[derive(Debug)]
struct FlakyCredentials {
    failures: usize,
    calls: AtomicUsize,
}

impl ProvideCredentials for FlakyCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        future::ProvideCredentials::ready(if call < self.failures {
            Err(CredentialsError::not_loaded("no credentials yet"))
        } else {
            Ok(Credentials::new("AKIDTEST", "SECRET", None, None, "test"))
        })
    }
}

#[tokio::test]
async fn a_failed_token_fails_one_request_not_the_client() {
    let fake = start_fake().await;
    let flaky = FlakyCredentials { failures: 1, calls: AtomicUsize::new(0) };
    let source = EksTokenSource::new("prod", "eu-west-1", SharedCredentialsProvider::new(flaky));
    let reader = KubeReader::new(client_with_layer(&fake.url, source), None);
    let scope = Scope::namespace(Some("default"));

    let err = reader.list(Kind::Pod, &scope).await.expect_err("no credentials on the first request");
    assert_eq!(err.class(), ErrorClass::Forbidden, "{err}");
    assert!(err.to_string().contains("failed to load AWS credentials for the EKS token"), "{err}");
    assert!(fake.authorizations.lock().expect("lock").is_empty(), "nothing was sent without a token");

    let pods = reader.list(Kind::Pod, &scope).await.expect("the same client works once credentials load");
    assert_eq!(pods.len(), 1);
}
