//! Integration tests of the simulated cluster, driven only through the real kube-rs client.
//! One harness (one link) for every module.

mod controller;
mod discovery;
mod lifecycle;
mod logs;
mod metrics;
mod reads;
mod scale;
mod support;
mod writes;
