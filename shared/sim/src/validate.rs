//! Shape validation: whether an object decodes as its typed Kubernetes kind.
//!
//! The real API server decodes every write into its Go type and answers 422 when a field has
//! the wrong JSON type (`spec.replicas: "3"`). The simulated cluster does the same with the
//! k8s-openapi types, plus the few value checks write tools rely on (no negative replicas).

use aiops_core::Kind;
use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy, storage};
use serde::de::DeserializeOwned;
use serde_json::Value;

fn decode<T: DeserializeOwned>(object: &Value) -> Result<(), String> {
    serde_json::from_value::<T>(object.clone()).map(|_| ()).map_err(|e| e.to_string())
}

/// Checks that `object` decodes as `kind`; the error is the decoder's message.
pub(crate) fn check_shape(kind: Kind, object: &Value) -> Result<(), String> {
    match kind {
        Kind::Namespace => decode::<core::v1::Namespace>(object),
        Kind::Node => decode::<core::v1::Node>(object),
        Kind::Pod => decode::<core::v1::Pod>(object),
        Kind::Service => decode::<core::v1::Service>(object),
        Kind::Endpoints => decode::<core::v1::Endpoints>(object),
        Kind::Event => decode::<core::v1::Event>(object),
        Kind::PersistentVolumeClaim => decode::<core::v1::PersistentVolumeClaim>(object),
        Kind::PersistentVolume => decode::<core::v1::PersistentVolume>(object),
        Kind::ConfigMap => decode::<core::v1::ConfigMap>(object),
        Kind::Secret => decode::<core::v1::Secret>(object),
        Kind::ServiceAccount => decode::<core::v1::ServiceAccount>(object),
        Kind::ResourceQuota => decode::<core::v1::ResourceQuota>(object),
        Kind::LimitRange => decode::<core::v1::LimitRange>(object),
        Kind::Deployment => decode::<apps::v1::Deployment>(object),
        Kind::ReplicaSet => decode::<apps::v1::ReplicaSet>(object),
        Kind::StatefulSet => decode::<apps::v1::StatefulSet>(object),
        Kind::DaemonSet => decode::<apps::v1::DaemonSet>(object),
        Kind::Job => decode::<batch::v1::Job>(object),
        Kind::CronJob => decode::<batch::v1::CronJob>(object),
        Kind::Ingress => decode::<networking::v1::Ingress>(object),
        Kind::IngressClass => decode::<networking::v1::IngressClass>(object),
        Kind::NetworkPolicy => decode::<networking::v1::NetworkPolicy>(object),
        Kind::StorageClass => decode::<storage::v1::StorageClass>(object),
        Kind::HorizontalPodAutoscaler => decode::<autoscaling::v2::HorizontalPodAutoscaler>(object),
        Kind::PodDisruptionBudget => decode::<policy::v1::PodDisruptionBudget>(object),
        Kind::PodMetrics => decode::<aiops_core::kinds::metrics::PodMetrics>(object),
        Kind::NodeMetrics => decode::<aiops_core::kinds::metrics::NodeMetrics>(object),
    }
}

/// Checks that `scale` decodes as an `autoscaling/v1` Scale.
pub(crate) fn check_scale_shape(scale: &Value) -> Result<(), String> {
    decode::<autoscaling::v1::Scale>(scale)
}

/// Value checks beyond the shape; the error is a field cause (`spec.replicas: Invalid value: …`).
pub(crate) fn check_values(object: &Value) -> Result<(), String> {
    match object.pointer("/spec/replicas").and_then(Value::as_i64) {
        Some(replicas) if replicas < 0 => {
            Err(format!("spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wrong_json_type_is_refused() {
        let ok = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 3, "selector": {}, "template": {}}});
        assert_eq!(check_shape(Kind::Deployment, &ok), Ok(()));
        let mut bad = ok.clone();
        bad["spec"]["replicas"] = json!("3");
        let err = check_shape(Kind::Deployment, &bad).expect_err("string replicas");
        assert!(err.contains("invalid type"), "{err}");
        assert!(check_values(&json!({"spec": {"replicas": -1}})).is_err());
    }
}
