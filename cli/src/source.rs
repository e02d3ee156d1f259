//! The cluster a command talks to: a snapshot folder (served by the simulated cluster), a
//! kubeconfig context, or an EKS cluster by name.

use std::path::PathBuf;

use aiops_core::ports::ClusterReader;
use aiops_core::snapshot::Snapshot;
use aiops_kube::{KubeActuator, KubeReader};
use aiops_sim::SimCluster;
use clap::Args;

/// Bad usage or bad input: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Where the cluster comes from.
#[derive(Args, Debug, Clone, Default)]
pub struct SourceArgs {
    /// A snapshot folder, served by the simulated cluster.
    #[arg(long, conflicts_with_all = ["context", "kubeconfig", "eks_cluster"])]
    pub snapshot: Option<PathBuf>,
    /// A kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// A kubeconfig context (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
    /// An EKS cluster name: endpoint and CA from DescribeCluster, a token from STS.
    #[arg(long, conflicts_with_all = ["context", "kubeconfig"])]
    pub eks_cluster: Option<String>,
    /// AWS region for --eks-cluster (default: the standard AWS chain).
    #[arg(long, requires = "eks_cluster")]
    pub region: Option<String>,
}

/// An open cluster source. Keeps the simulated cluster alive while it is used.
pub struct Source {
    reader: KubeReader,
    actuator: KubeActuator,
    sim: Option<SimCluster>,
    /// The AWS inspection tools, when the source is an EKS cluster (credentials at hand).
    aws: Option<std::sync::Arc<aiops_aws::inspector::AwsInspector>>,
    /// What it is, for messages: `snapshot DIR`, `context X`, `EKS cluster X`.
    pub label: String,
}

impl Source {
    /// Opens the source the arguments name.
    ///
    /// # Errors
    /// A snapshot that does not load (exit 2), a kubeconfig or EKS cluster that cannot be reached.
    pub async fn open(args: &SourceArgs) -> anyhow::Result<Source> {
        if let Some(dir) = &args.snapshot {
            let snapshot = Snapshot::load(dir)?;
            return Source::from_snapshot(snapshot, format!("snapshot {}", dir.display())).await;
        }
        if let Some(name) = &args.eks_cluster {
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
            if let Some(r) = &args.region {
                loader = loader.region(aws_config::Region::new(r.clone()));
            }
            let sdk = loader.load().await;
            let client = aiops_kube::from_eks(name, &sdk).await?;
            let mut source = Source::live(client, format!("EKS cluster {name}"));
            source.aws = Some(std::sync::Arc::new(aiops_aws::inspector::AwsInspector::new(&sdk, Some(name.clone()))));
            return Ok(source);
        }
        let client = aiops_kube::from_kubeconfig(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
        let label = match &args.context {
            Some(c) => format!("kubeconfig context {c}"),
            None => "the current kubeconfig context".to_string(),
        };
        Ok(Source::live(client, label))
    }

    /// Serves a loaded snapshot with the simulated cluster.
    ///
    /// # Errors
    /// When the simulated cluster cannot start.
    pub async fn from_snapshot(snapshot: Snapshot, label: String) -> anyhow::Result<Source> {
        let now = snapshot.captured_at;
        let sim = SimCluster::start(snapshot).await?;
        let client = aiops_kube::from_url(&sim.url()).await?;
        Ok(Source {
            reader: KubeReader::new(client.clone(), Some(now)),
            actuator: KubeActuator::new(client),
            sim: Some(sim),
            aws: None,
            label,
        })
    }

    /// A source over an existing client (a live cluster, or a test's).
    pub fn live(client: kube::Client, label: String) -> Source {
        Source {
            reader: KubeReader::new(client.clone(), None),
            actuator: KubeActuator::new(client),
            sim: None,
            aws: None,
            label,
        }
    }

    /// The reader over this source.
    pub fn reader(&self) -> &dyn ClusterReader {
        &self.reader
    }

    /// A shareable reader.
    pub fn reader_arc(&self) -> std::sync::Arc<KubeReader> {
        std::sync::Arc::new(self.reader.clone())
    }

    /// A shareable actuator (writes only ever run after an approval is checked).
    pub fn actuator_arc(&self) -> std::sync::Arc<KubeActuator> {
        std::sync::Arc::new(self.actuator.clone())
    }

    /// The AWS inspection tools, when the source is an EKS cluster.
    pub fn aws(&self) -> Option<std::sync::Arc<aiops_aws::inspector::AwsInspector>> {
        self.aws.clone()
    }

    /// The simulated cluster, when the source is a snapshot.
    pub fn sim(&self) -> Option<&SimCluster> {
        self.sim.as_ref()
    }
}
