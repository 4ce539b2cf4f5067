//! Identity, ordered/parallel creation and scale-down, failed pods, status (R19–R39, R57–R61).

use super::world::{set, World};
use crate::statefulset::identity;
use serde_json::json;

#[test]
fn identity_of_created_pods() {
    let mut w = World::new(set(1, json!({})));
    w.sync();
    let pod = &w.pods["web-0"];
    let labels = pod.metadata.labels.as_ref().unwrap();
    let rev = w
        .set
        .status
        .as_ref()
        .unwrap()
        .update_revision
        .clone()
        .unwrap();
    assert_eq!(labels["app"], "nginx");
    assert_eq!(labels[identity::POD_NAME_LABEL], "web-0");
    assert_eq!(labels[identity::POD_INDEX_LABEL], "0");
    assert_eq!(labels[identity::REVISION_LABEL], rev);
    assert!(
        rev.starts_with("web-") && rev.len() == "web-".len() + 10,
        "{rev}"
    );
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("web-0"));
    assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
    let r = &pod.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            r.api_version.as_str(),
            r.kind.as_str(),
            r.name.as_str(),
            r.uid.as_str()
        ),
        ("apps/v1", "StatefulSet", "web", "set-uid")
    );
    assert_eq!(
        (r.controller, r.block_owner_deletion),
        (Some(true), Some(true))
    );
}

#[test]
fn ordinal_parsing_and_start_ordinal() {
    assert_eq!(identity::parent_and_ordinal("web-12"), Some(("web", 12)));
    assert_eq!(
        identity::parent_and_ordinal("my-web-3"),
        Some(("my-web", 3))
    );
    assert_eq!(identity::parent_and_ordinal("web-x"), None);
    assert_eq!(identity::parent_and_ordinal("web"), None);
    let mut w = World::new(set(2, json!({"ordinals": {"start": 5}})));
    w.settle();
    assert_eq!(
        w.pods.keys().cloned().collect::<Vec<_>>(),
        ["web-5", "web-6"]
    );
    assert_eq!(
        w.pods["web-6"].metadata.labels.as_ref().unwrap()[identity::POD_INDEX_LABEL],
        "6"
    );
}

#[test]
fn ordered_ready_creates_one_at_a_time() {
    let mut w = World::new(set(3, json!({})));
    w.sync();
    assert_eq!(w.take_log(), ["create web-0"]);
    // web-0 Pending: nothing more, however often we sync.
    w.sync();
    w.sync();
    assert!(w.take_log().is_empty());
    // Running but not Ready still blocks.
    w.unready("web-0");
    w.sync();
    assert!(w.take_log().is_empty());
    w.ready("web-0");
    w.sync();
    assert_eq!(w.take_log(), ["create web-1"]);
    w.ready("web-1");
    w.sync();
    assert_eq!(w.take_log(), ["create web-2"]);
    w.ready("web-2");
    w.sync();
    let st = w.status();
    assert_eq!(
        (st.replicas, st.ready_replicas, st.available_replicas),
        (3, Some(3), Some(3))
    );
    assert_eq!(st.current_revision, st.update_revision);
    assert_eq!(
        (st.current_replicas, st.updated_replicas),
        (Some(3), Some(3))
    );
    assert_eq!(st.observed_generation, Some(1));
    assert_eq!(st.collision_count, Some(0));
}

#[test]
fn min_ready_seconds_gates_next_ordinal_and_requests_a_recheck() {
    let mut w = World::new(set(2, json!({"minReadySeconds": 10})));
    w.sync();
    w.take_log();
    w.ready("web-0");
    let p = w.sync();
    assert!(
        w.take_log().is_empty(),
        "web-1 must wait for web-0 to be available"
    );
    assert_eq!(p.status.ready_replicas, Some(1));
    assert_eq!(p.status.available_replicas, Some(0));
    assert_eq!(p.recheck_at_ms, Some(w.now_ms + 10_001));
    w.now_ms += 10_002;
    let p = w.sync();
    assert_eq!(w.take_log(), ["create web-1"]);
    assert_eq!(p.status.available_replicas, Some(1));
}

#[test]
fn parallel_creates_and_deletes_without_waiting() {
    let mut w = World::new(set(3, json!({"podManagementPolicy": "Parallel"})));
    w.sync();
    assert_eq!(
        w.take_log(),
        ["create web-0", "create web-1", "create web-2"]
    );
    w.edit(json!({"replicas": 1}));
    w.sync();
    assert_eq!(w.take_log(), ["delete web-2", "delete web-1"]);
}

#[test]
fn ordered_scale_down_highest_first_waiting_for_termination() {
    let mut w = World::new(set(5, json!({})));
    w.settle();
    w.take_log();
    w.edit(json!({"replicas": 2}));
    w.sync();
    assert_eq!(w.take_log(), ["delete web-4"]);
    w.sync();
    assert!(w.take_log().is_empty(), "web-4 still terminating");
    w.reap();
    w.sync();
    assert_eq!(w.take_log(), ["delete web-3"]);
    w.reap();
    w.sync();
    w.reap();
    w.sync();
    assert_eq!(w.take_log(), ["delete web-2"]);
    assert_eq!(
        w.pods.keys().cloned().collect::<Vec<_>>(),
        ["web-0", "web-1"]
    );
    assert_eq!(w.status().replicas, 2);
}

#[test]
fn status_counts_terminating_pods_as_replicas() {
    let mut w = World::new(set(3, json!({})));
    w.settle();
    w.edit(json!({"replicas": 2}));
    let p = w.sync();
    // web-2 was just deleted but still exists (terminating): replicas 3, current 3 until it goes.
    assert_eq!(p.status.replicas, 3);
    w.sync();
    assert_eq!(w.status().replicas, 3);
    assert_eq!(w.status().current_replicas, Some(2));
}

#[test]
fn unhealthy_pod_halts_scaling_both_ways() {
    let mut w = World::new(set(3, json!({})));
    w.settle();
    w.take_log();
    w.unready("web-0");
    w.edit(json!({"replicas": 1}));
    w.sync();
    assert!(
        w.take_log().is_empty(),
        "scale-down must halt while web-0 is unready"
    );
    w.edit(json!({"replicas": 5}));
    w.sync();
    assert!(
        w.take_log().is_empty(),
        "scale-up must halt while web-0 is unready"
    );
    w.ready("web-0");
    w.sync();
    assert_eq!(w.take_log(), ["create web-3"]);
}

#[test]
fn unhealthy_condemned_pod_is_deleted_when_it_is_the_first_unhealthy() {
    let mut w = World::new(set(3, json!({})));
    w.settle();
    w.take_log();
    w.unready("web-2");
    w.edit(json!({"replicas": 2}));
    w.sync();
    assert_eq!(w.take_log(), ["delete web-2"]);
    // But a healthy condemned pod above an unhealthy condemned one waits.
    let mut w = World::new(set(4, json!({})));
    w.settle();
    w.take_log();
    w.unready("web-2");
    w.edit(json!({"replicas": 2}));
    w.sync();
    assert_eq!(
        w.take_log(),
        ["delete web-3"],
        "web-3 is healthy, deleted first"
    );
    w.reap();
    w.sync();
    assert_eq!(w.take_log(), ["delete web-2"]);
}

#[test]
fn failed_and_succeeded_pods_are_deleted_then_recreated_later() {
    for kill in ["fail", "succeed"] {
        let mut w = World::new(set(3, json!({})));
        w.settle();
        w.take_log();
        let old_uid = w.pods["web-1"].metadata.uid.clone();
        if kill == "fail" {
            w.fail("web-1");
        } else {
            w.pods
                .get_mut("web-1")
                .unwrap()
                .status
                .as_mut()
                .unwrap()
                .phase = Some("Succeeded".into());
        }
        w.sync();
        assert_eq!(
            w.take_log(),
            ["delete web-1"],
            "{kill}: deleted, not recreated in the same sync"
        );
        w.sync();
        assert!(w.take_log().is_empty());
        w.reap();
        w.sync();
        assert_eq!(w.take_log(), ["create web-1"]);
        assert_ne!(w.pods["web-1"].metadata.uid, old_uid);
    }
}

#[test]
fn deleting_a_healthy_lower_pod_while_a_higher_is_unready_recreates_it() {
    let mut w = World::new(set(2, json!({})));
    w.settle();
    w.take_log();
    w.unready("web-1");
    w.pods.remove("web-0");
    w.sync();
    assert_eq!(w.take_log(), ["create web-0"]);
}

#[test]
fn identity_drift_is_repaired_with_an_update() {
    let mut w = World::new(set(1, json!({})));
    w.settle();
    w.take_log();
    w.pods
        .get_mut("web-0")
        .unwrap()
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .remove(identity::POD_NAME_LABEL);
    w.sync();
    assert_eq!(w.take_log(), ["update web-0"]);
    assert_eq!(
        w.pods["web-0"].metadata.labels.as_ref().unwrap()[identity::POD_NAME_LABEL],
        "web-0"
    );
}

#[test]
fn deleting_set_only_updates_status() {
    let mut w = World::new(set(2, json!({})));
    w.set.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    let p = w.sync();
    assert!(p.actions.is_empty());
    assert_eq!(p.status.observed_generation, Some(1));
}
