//! aiops-testkit: test-only helpers shared by the crates' integration tests.
//!
//! Belongs here: launching `moto_server` on a free loopback port, the fake Bedrock Converse
//! server (scripted replies in the real wire format), and the CloudWatch CBOR translating
//! proxy in front of moto. Never a dependency of production code.

pub mod bedrock_fake;
pub mod cw_proxy;
pub mod moto;
