use super::logic::*;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::json;

fn node(ready: Option<&str>, taints: serde_json::Value) -> Node {
    let conditions = match ready {
        Some(s) => {
            json!([{"type": "Ready", "status": s, "lastHeartbeatTime": "2026-01-01T00:00:00Z"},
                          {"type": "MemoryPressure", "status": "False"}])
        }
        None => json!([]),
    };
    serde_json::from_value(json!({
        "metadata": {"name": "n1", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"taints": taints},
        "status": {"conditions": conditions},
    }))
    .unwrap()
}

fn pod(tolerations: serde_json::Value) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": "p"},
        "spec": {"nodeName": "n1", "containers": [], "tolerations": tolerations}}))
    .unwrap()
}

fn t0() -> Timestamp {
    "2026-01-01T00:10:00Z".parse().unwrap()
}

#[test]
fn a_silent_node_gets_unknown_conditions_with_upstreams_texts() {
    let n = node(Some("True"), json!([]));
    let cs = unknown_conditions(&n, t0()).unwrap();
    let ready = cs.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.status, "Unknown");
    assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(
        ready.message.as_deref(),
        Some("Kubelet stopped posting node status.")
    );
    assert_eq!(ready.last_transition_time.as_ref().unwrap().0, t0());
    // The heartbeat stays what the kubelet last posted.
    assert_eq!(
        ready.last_heartbeat_time.as_ref().unwrap().0.to_string(),
        "2026-01-01T00:00:00Z"
    );
    // Conditions the kubelet never posted are added as never updated.
    let disk = cs.iter().find(|c| c.type_ == "DiskPressure").unwrap();
    assert_eq!(disk.reason.as_deref(), Some("NodeStatusNeverUpdated"));
    assert_eq!(
        disk.message.as_deref(),
        Some("Kubelet never posted node status.")
    );
    assert_eq!(cs.len(), 4);
    // Once Unknown, nothing more to do.
    let mut again = n.clone();
    again.status.as_mut().unwrap().conditions = Some(cs);
    assert!(unknown_conditions(&again, t0()).is_none());
}

#[test]
fn taints_follow_the_ready_condition() {
    let keys = |ts: &[Taint]| -> Vec<(String, String, bool)> {
        ts.iter()
            .map(|t| (t.key.clone(), t.effect.clone(), t.time_added.is_some()))
            .collect()
    };
    let unknown = desired_taints(&node(Some("Unknown"), json!([])), t0()).unwrap();
    assert_eq!(
        keys(&unknown),
        [
            (UNREACHABLE.into(), "NoSchedule".into(), false),
            (UNREACHABLE.into(), "NoExecute".into(), true)
        ]
    );
    // Not ready replaces unreachable; other taints stay.
    let current = json!([{"key": UNREACHABLE, "effect": "NoExecute"}, {"key": "dedicated", "value": "db", "effect": "NoSchedule"}]);
    let not_ready = desired_taints(&node(Some("False"), current), t0()).unwrap();
    assert_eq!(
        keys(&not_ready),
        [
            ("dedicated".into(), "NoSchedule".into(), false),
            (NOT_READY.into(), "NoSchedule".into(), false),
            (NOT_READY.into(), "NoExecute".into(), true)
        ]
    );
    // Ready again: ours go, the administrator's stay; nothing to change when already so.
    let current = json!([{"key": NOT_READY, "effect": "NoExecute"}, {"key": NOT_READY, "effect": "NoSchedule"}, {"key": "dedicated", "effect": "NoSchedule"}]);
    let ready = desired_taints(&node(Some("True"), current), t0()).unwrap();
    assert_eq!(
        keys(&ready),
        [("dedicated".into(), "NoSchedule".into(), false)]
    );
    assert!(desired_taints(&node(Some("True"), json!([])), t0()).is_none());
}

#[test]
fn eviction_waits_for_the_shortest_toleration() {
    let taints: Vec<Taint> = serde_json::from_value(json!([
        {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2026-01-01T00:10:00Z"},
        {"key": UNREACHABLE, "effect": "NoSchedule"}]))
    .unwrap();
    let later = t0() + SignedDuration::from_secs(30);
    // No toleration: at once.
    assert_eq!(eviction_time(&pod(json!([])), &taints, later), Some(later));
    // The default 300 s toleration: 300 s after the taint was added.
    let default = pod(
        json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]),
    );
    assert_eq!(
        eviction_time(&default, &taints, later),
        Some(t0() + SignedDuration::from_secs(300))
    );
    // Two matching tolerations: the shorter wins.
    let two = pod(json!([
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]));
    assert_eq!(
        eviction_time(&two, &taints, later),
        Some(t0() + SignedDuration::from_secs(5))
    );
    // Tolerated for ever (a DaemonSet's pods): never.
    let ever = pod(json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}]));
    assert_eq!(eviction_time(&ever, &taints, later), None);
    // NoSchedule taints evict nobody.
    assert_eq!(eviction_time(&pod(json!([])), &taints[1..], later), None);
}

#[test]
fn out_of_service_needs_the_taint_and_a_node_not_ready() {
    let taint = json!([{"key": OUT_OF_SERVICE, "value": "nodeshutdown", "effect": "NoExecute"}]);
    assert!(out_of_service(&node(Some("Unknown"), taint.clone())));
    assert!(!out_of_service(&node(Some("True"), taint)));
    assert!(!out_of_service(&node(Some("Unknown"), json!([]))));
}

#[test]
fn heartbeats_change_with_the_lease_or_the_ready_condition() {
    let n = node(Some("True"), json!([]));
    assert_ne!(
        heartbeat(&n, Some("2026-01-01T00:00:10Z")),
        heartbeat(&n, Some("2026-01-01T00:00:20Z"))
    );
    assert_eq!(heartbeat(&n, None), heartbeat(&n, None));
}
