//! The adapter that runs v1 ReplicationControllers through the ReplicaSet controller (upstream
//! `pkg/controller/replication/conversion.go`): an RC is the ReplicaSet whose selector is its
//! label map as `matchLabels`; its status has the same fields.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::ReplicationController;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use ordo_client::objects::controller_of;
use serde_json::json;

/// The ReplicaSet `rc` is (same metadata, spec and status; selector as `matchLabels`).
pub(crate) fn to_replica_set(rc: &ReplicationController) -> ReplicaSet {
    let mut v = serde_json::to_value(rc).unwrap_or_default();
    v["apiVersion"] = json!("apps/v1");
    v["kind"] = json!("ReplicaSet");
    if v.get("spec").is_some_and(|s| s.is_object()) {
        let labels = v["spec"].get("selector").cloned().unwrap_or(json!({}));
        v["spec"]["selector"] = json!({ "matchLabels": labels });
    }
    serde_json::from_value(v).unwrap_or_else(|e| {
        tracing::debug!("converting a ReplicationController: {e}");
        ReplicaSet {
            metadata: rc.metadata.clone(),
            ..Default::default()
        }
    })
}

/// The ReplicationControllers to sync when `pod` changes: its controller if that is one, else
/// those of its namespace whose selector matches it (orphans to adopt).
pub(crate) fn owners_of(
    rcs: &Store<ReplicationController>,
    pod: &ObjectMeta,
) -> Vec<ObjectRef<ReplicationController>> {
    let ns = pod.namespace.clone().unwrap_or_default();
    match controller_of(pod) {
        Some(r) if r.kind == "ReplicationController" => vec![ObjectRef::new(&r.name).within(&ns)],
        Some(_) => vec![],
        None => rcs
            .state()
            .iter()
            .filter(|rc| {
                rc.metadata.namespace.as_deref() == Some(ns.as_str())
                    && rc
                        .spec
                        .as_ref()
                        .and_then(|s| s.selector.as_ref())
                        .is_some_and(|sel| {
                            !sel.is_empty()
                                && sel.iter().all(|(k, v)| {
                                    pod.labels.as_ref().and_then(|l| l.get(k)) == Some(v)
                                })
                        })
            })
            .map(|rc| ObjectRef::from_obj(rc.as_ref()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replication_controller_is_a_replica_set() {
        let rc: ReplicationController = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "d", "uid": "u", "generation": 2},
            "spec": {"replicas": 3, "selector": {"app": "web"}, "minReadySeconds": 5,
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}},
            "status": {"replicas": 2, "readyReplicas": 1, "observedGeneration": 1}
        }))
        .unwrap();
        let rs = to_replica_set(&rc);
        let spec = rs.spec.unwrap();
        assert_eq!(spec.replicas, Some(3));
        assert_eq!(spec.min_ready_seconds, Some(5));
        assert_eq!(
            spec.selector
                .match_labels
                .unwrap()
                .get("app")
                .map(String::as_str),
            Some("web")
        );
        assert_eq!(rs.status.unwrap().ready_replicas, Some(1));
        assert_eq!(rs.metadata.uid.as_deref(), Some("u"));
    }
}
