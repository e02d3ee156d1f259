//! aiops-aws: the AWS adapters of the ports in aiops-core.
//!
//! Belongs here: SDK clients (built once, from the standard credential chain, honouring
//! `AWS_ENDPOINT_URL` for emulators), the Bedrock Converse reasoner, the DynamoDB stores, the
//! Step Functions task callback and execution starter, the sweep trigger (an asynchronous Lambda
//! invoke), the SNS notifier, and the AWS
//! inspection tools (EKS, EC2, CloudWatch metrics and logs). Every SDK error is classified
//! once into an [`aiops_core::ErrorClass`]; no raw SDK debug output leaves this crate.
//!
//! Does not belong here: Kubernetes access (aiops-kube), domain logic (aiops-core).

pub mod bedrock;
pub mod config;
pub mod dynamo;
pub mod error;
pub mod inspector;
pub mod invoke;
pub mod locks;
pub mod notify;
pub mod sfn;
pub mod sweeps;
