//! volumeClaimTemplates and the retention policy (R30, R31, R64–R69).

use super::world::{set, World};
use serde_json::json;

fn with_claims(replicas: i32, policy: serde_json::Value) -> World {
    World::new(set(
        replicas,
        json!({
            "persistentVolumeClaimRetentionPolicy": policy,
            "volumeClaimTemplates": [{"metadata": {"name": "www", "labels": {"tier": "data"}},
                                      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
            "template": {"spec": {"volumes": [{"name": "www", "emptyDir": {}}, {"name": "cfg", "emptyDir": {}}]}}
        }),
    ))
}

fn owners(w: &World, claim: &str) -> Vec<(String, String)> {
    w.claims[claim]
        .metadata
        .owner_references
        .iter()
        .flatten()
        .map(|r| (r.kind.clone(), r.name.clone()))
        .collect()
}

#[test]
fn claims_are_created_before_pods_and_mounted() {
    let mut w = with_claims(2, json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
    w.sync();
    assert_eq!(w.take_log(), ["claim www-web-0", "create web-0"]);
    let c = &w.claims["www-web-0"];
    let labels = c.metadata.labels.as_ref().unwrap();
    assert_eq!(
        (labels["tier"].as_str(), labels["app"].as_str()),
        ("data", "nginx")
    );
    assert!(c.metadata.owner_references.is_none());
    let vols = w.pods["web-0"]
        .spec
        .as_ref()
        .unwrap()
        .volumes
        .clone()
        .unwrap();
    let names: Vec<&str> = vols.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        ["www", "cfg"],
        "the template's www volume is replaced by the claim"
    );
    assert_eq!(
        vols[0].persistent_volume_claim.as_ref().unwrap().claim_name,
        "www-web-0"
    );
    w.settle();
    // Existing claims are reused: deleting a pod does not create a claim again.
    w.take_log();
    w.pods.remove("web-1");
    w.settle();
    assert_eq!(w.take_log(), ["create web-1"]);
}

#[test]
fn pending_pod_gets_its_missing_claim_back() {
    let mut w = with_claims(1, json!({}));
    w.sync();
    w.take_log();
    w.claims.remove("www-web-0");
    w.sync();
    assert_eq!(w.take_log(), ["claim www-web-0"]);
}

#[test]
fn when_deleted_delete_owns_claims_by_the_set() {
    let mut w = with_claims(1, json!({"whenDeleted": "Delete", "whenScaled": "Retain"}));
    w.settle();
    assert_eq!(
        owners(&w, "www-web-0"),
        [("StatefulSet".to_string(), "web".to_string())]
    );
    // Back to Retain: the ref is removed, the pod updated as upstream does.
    w.take_log();
    w.edit(json!({"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain"}}));
    w.sync();
    assert_eq!(w.take_log(), ["owners www-web-0", "update web-0"]);
    assert!(owners(&w, "www-web-0").is_empty());
}

#[test]
fn when_scaled_delete_gives_condemned_claims_to_their_pod_before_deletion() {
    let mut w = with_claims(3, json!({"whenDeleted": "Retain", "whenScaled": "Delete"}));
    w.settle();
    assert!(
        owners(&w, "www-web-2").is_empty(),
        "in-range claims have no owner"
    );
    w.take_log();
    w.edit(json!({"replicas": 1}));
    w.sync();
    assert_eq!(
        w.take_log(),
        ["owners www-web-2", "owners www-web-1", "delete web-2"]
    );
    assert_eq!(
        owners(&w, "www-web-2"),
        [("Pod".to_string(), "web-2".to_string())]
    );
    let pod_uid = w.pods["web-2"].metadata.uid.clone().unwrap();
    assert_eq!(
        w.claims["www-web-2"]
            .metadata
            .owner_references
            .as_ref()
            .unwrap()[0]
            .uid,
        pod_uid
    );
    // Both Delete: in range -> set; condemned -> pod only.
    let mut w = with_claims(2, json!({"whenDeleted": "Delete", "whenScaled": "Delete"}));
    w.settle();
    w.edit(json!({"replicas": 1}));
    w.sync();
    assert_eq!(
        owners(&w, "www-web-0"),
        [("StatefulSet".to_string(), "web".to_string())]
    );
    assert_eq!(
        owners(&w, "www-web-1"),
        [("Pod".to_string(), "web-1".to_string())]
    );
}

#[test]
fn stale_claim_blocks_recreation_and_foreign_controller_is_respected() {
    let mut w = with_claims(1, json!({"whenDeleted": "Retain", "whenScaled": "Delete"}));
    w.settle();
    // The claim still points at a previous web-0 (GC has not removed it yet).
    let mut c = w.claims["www-web-0"].clone();
    c.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "v1".into(),
            kind: "Pod".into(),
            name: "web-0".into(),
            uid: "old".into(),
            controller: Some(true),
            ..Default::default()
        },
    ]);
    w.claims.insert("www-web-0".into(), c);
    w.pods.clear();
    w.take_log();
    w.sync();
    assert!(
        w.take_log().is_empty(),
        "pod creation waits for the stale claim to go"
    );
    w.claims.clear();
    w.sync();
    assert_eq!(w.take_log(), ["claim www-web-0", "create web-0"]);

    // Another controller owns the claim: the set leaves it alone.
    let mut w = with_claims(2, json!({"whenDeleted": "Delete", "whenScaled": "Delete"}));
    w.settle();
    let mut c = w.claims["www-web-1"].clone();
    c.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "x".into(),
            uid: "cm".into(),
            controller: Some(true),
            ..Default::default()
        },
    ]);
    w.claims.insert("www-web-1".into(), c);
    w.take_log();
    w.edit(json!({"replicas": 1}));
    w.sync();
    assert_eq!(
        owners(&w, "www-web-1"),
        [("ConfigMap".to_string(), "x".to_string())]
    );
}

#[test]
fn odd_owner_refs_do_not_cause_endless_pod_updates() {
    let mut w = with_claims(1, json!({"whenDeleted": "Delete", "whenScaled": "Retain"}));
    w.settle();
    // A non-controller ref carrying the set's UID under another name never "matches" the policy.
    let mut c = w.claims["www-web-0"].clone();
    c.metadata
        .owner_references
        .get_or_insert_with(Vec::new)
        .push(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "apps/v1".into(),
                kind: "StatefulSet".into(),
                name: "renamed".into(),
                uid: "set-uid".into(),
                ..Default::default()
            },
        );
    w.claims.insert("www-web-0".into(), c);
    w.sync(); // may normalise the refs once
    w.take_log();
    for _ in 0..3 {
        w.sync();
    }
    let log = w.take_log();
    assert!(log.is_empty(), "converged, so no more writes: {log:?}");
}

/// Defect 4 of #14: no pod is created on a claim that is being deleted; the sync stops there
/// (the shell records `FailedCreate` "pvc … is being deleted") and resumes once it is gone.
#[test]
fn terminating_claim_blocks_its_pod() {
    let mut w = with_claims(2, json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
    w.settle();
    w.take_log();
    w.claims
        .get_mut("www-web-0")
        .unwrap()
        .metadata
        .deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    w.pods.remove("web-0");
    w.sync();
    w.sync();
    assert_eq!(
        w.take_log(),
        ["blocked web-0 on www-web-0", "blocked web-0 on www-web-0"]
    );
    assert!(!w.pods.contains_key("web-0"));
    w.claims.remove("www-web-0");
    w.settle();
    assert_eq!(w.take_log()[..2], ["claim www-web-0", "create web-0"]);
}
