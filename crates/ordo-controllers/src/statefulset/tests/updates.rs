//! Rolling update, partition, maxUnavailable, OnDelete (R36, R49–R56).

use super::world::{set, World};
use serde_json::json;

fn deletes(log: &[String]) -> Vec<String> {
    log.iter()
        .filter(|l| l.starts_with("delete "))
        .cloned()
        .collect()
}

#[test]
fn rolling_update_in_reverse_ordinal_order_one_at_a_time() {
    let mut w = World::new(set(3, json!({})));
    w.settle();
    let old = w.status().current_revision.unwrap();
    w.take_log();
    w.set_image("nginx:1.26");
    w.sync();
    let new = w.status().update_revision.unwrap();
    assert_ne!(old, new);
    assert_eq!(w.status().current_revision.as_deref(), Some(old.as_str()));
    assert_eq!(w.take_log(), ["delete web-2"]);
    // Terminating: wait. Gone: recreate at the new revision. Pending: wait.
    w.sync();
    assert!(w.take_log().is_empty());
    w.reap();
    w.sync();
    assert_eq!(w.take_log(), ["create web-2"]);
    assert_eq!(w.revision_of("web-2"), new);
    assert_eq!(w.image_of("web-2"), "nginx:1.26");
    w.sync();
    assert!(
        w.take_log().is_empty(),
        "web-2 not ready yet: web-1 must wait"
    );
    w.settle();
    assert_eq!(
        w.take_log(),
        [
            "create web-2",
            "delete web-1",
            "create web-1",
            "delete web-0",
            "create web-0"
        ][1..]
    );
    let st = w.status();
    assert_eq!(st.current_revision.as_deref(), Some(new.as_str()));
    assert_eq!(st.update_revision.as_deref(), Some(new.as_str()));
    assert_eq!(
        (st.current_replicas, st.updated_replicas),
        (Some(3), Some(3))
    );
    assert!(w.pods.keys().all(|p| w.image_of(p) == "nginx:1.26"));
}

#[test]
fn rolling_update_waits_for_updated_pod_to_be_available() {
    let mut w = World::new(set(2, json!({"minReadySeconds": 5})));
    w.now_ms += 0;
    for _ in 0..10 {
        w.sync();
        w.ready_pending();
        w.now_ms += 6000;
    }
    w.take_log();
    w.set_image("nginx:1.26");
    w.sync();
    w.reap();
    w.sync();
    w.ready("web-1");
    w.sync();
    assert_eq!(
        w.take_log(),
        ["delete web-1", "create web-1"],
        "web-0 waits for web-1 to be available"
    );
    w.now_ms += 5001;
    w.sync();
    assert_eq!(w.take_log(), ["delete web-0"]);
}

#[test]
fn partition_limits_the_update_and_governs_recreated_pods() {
    let mut w = World::new(set(
        3,
        json!({"updateStrategy": {"rollingUpdate": {"partition": 3}}}),
    ));
    w.settle();
    let old = w.status().current_revision.unwrap();
    w.take_log();
    // partition >= replicas: a new revision, but no pod changes.
    w.set_image("nginx:1.26");
    w.settle();
    assert!(deletes(&w.take_log()).is_empty());
    let new = w.status().update_revision.unwrap();
    assert_ne!(new, old);
    assert_eq!(w.status().current_revision.as_deref(), Some(old.as_str()));
    // partition 2: only web-2.
    w.edit(json!({"updateStrategy": {"rollingUpdate": {"partition": 2}}}));
    w.settle();
    assert_eq!(deletes(&w.take_log()), ["delete web-2"]);
    assert_eq!(w.revision_of("web-2"), new);
    assert_eq!(w.revision_of("web-1"), old);
    // A deleted pod below the partition comes back at the current revision, above at the update one.
    w.pods.remove("web-0");
    w.pods.remove("web-2");
    w.settle();
    assert_eq!(w.revision_of("web-0"), old);
    assert_eq!(w.revision_of("web-2"), new);
    // Phased: lower the partition step by step.
    w.edit(json!({"updateStrategy": {"rollingUpdate": {"partition": 0}}}));
    w.settle();
    assert_eq!(deletes(&w.take_log()), ["delete web-1", "delete web-0"]);
    assert_eq!(w.status().current_revision.as_deref(), Some(new.as_str()));
}

#[test]
fn max_unavailable_updates_several_at_once() {
    let mut w = World::new(set(
        5,
        json!({"podManagementPolicy": "Parallel", "updateStrategy": {"rollingUpdate": {"maxUnavailable": 2}}}),
    ));
    w.settle();
    w.take_log();
    w.set_image("nginx:1.26");
    w.sync();
    assert_eq!(w.take_log(), ["delete web-4", "delete web-3"]);
    w.sync();
    assert!(
        w.take_log().is_empty(),
        "budget used up by the two terminating pods"
    );
    w.reap();
    w.sync();
    assert_eq!(w.take_log(), ["create web-3", "create web-4"]);
    w.ready("web-4");
    w.sync();
    assert_eq!(
        w.take_log(),
        ["delete web-2"],
        "one slot free (web-3 still pending)"
    );
    w.settle();
    assert!(w.pods.keys().all(|p| w.image_of(p) == "nginx:1.26"));
    // Percentages round down, never below 1.
    let s = set(
        5,
        json!({"updateStrategy": {"rollingUpdate": {"maxUnavailable": "50%"}}}),
    );
    assert_eq!(crate::statefulset::identity::max_unavailable(&s), 2);
    let s = set(
        1,
        json!({"updateStrategy": {"rollingUpdate": {"maxUnavailable": "10%"}}}),
    );
    assert_eq!(crate::statefulset::identity::max_unavailable(&s), 1);
}

#[test]
fn max_unavailable_never_exceeds_the_budget_with_an_unrelated_unready_pod() {
    let mut w = World::new(set(
        4,
        json!({"podManagementPolicy": "Parallel", "updateStrategy": {"rollingUpdate": {"maxUnavailable": 2}}}),
    ));
    w.settle();
    w.take_log();
    w.set_image("nginx:1.26");
    w.unready("web-0");
    w.sync();
    // podsToDelete = maxUnavailable - unavailable = 2 - 1: only web-3 goes; web-0 (unready,
    // merely briefly) is not replaced out of order.
    assert_eq!(w.take_log(), ["delete web-3"]);
    w.sync();
    assert!(w.take_log().is_empty(), "two pods down: the budget is used");
}

/// Defect 3 of #14: with the default budget of one (`rollingUpdate` nil, as most manifests
/// have it), an unrelated unavailable pod uses the whole budget: no stale pod is deleted until
/// it is available again.
#[test]
fn an_unrelated_unready_pod_uses_the_default_budget_of_one() {
    let mut w = World::new(set(
        3,
        json!({"podManagementPolicy": "Parallel", "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": null}}),
    ));
    w.settle();
    w.take_log();
    w.unready("web-0");
    w.set_image("nginx:1.26");
    for _ in 0..3 {
        w.sync();
        w.now_ms += 1000;
    }
    assert!(
        w.take_log().is_empty(),
        "web-0 is down: nothing else may go down"
    );
    w.ready("web-0");
    w.sync();
    assert_eq!(w.take_log(), ["delete web-2"]);
}

/// Defect 5 of #14: `currentReplicas` is lowered only for a rolling-update deletion that
/// succeeded; a failed one leaves the count as it was.
#[test]
fn current_replicas_lowered_only_after_the_delete_succeeded() {
    let mut w = World::new(set(3, json!({})));
    w.settle();
    w.take_log();
    w.failing_deletes.push("web-2".into());
    w.set_image("nginx:1.26");
    w.sync();
    assert_eq!(w.take_log(), ["failed delete web-2"]);
    assert_eq!(w.status().current_replicas, Some(3));
    w.failing_deletes.clear();
    w.sync();
    assert_eq!(w.take_log(), ["delete web-2"]);
    assert_eq!(w.status().current_replicas, Some(2));
}

#[test]
fn pod_stuck_at_a_broken_revision_is_replaced_regression_137409() {
    for max_unavailable in [1, 2] {
        let mut w = World::new(set(
            1,
            json!({"podManagementPolicy": "Parallel", "updateStrategy": {"rollingUpdate": {"maxUnavailable": max_unavailable}}}),
        ));
        w.sync();
        w.unready("web-0"); // the first revision is broken: never Ready
        w.sync();
        w.take_log();
        w.set_image("nginx:fixed");
        let p = w.sync();
        if max_unavailable == 1 {
            // Upstream's budget is 1 - 1 = 0 here, for ever (#137409). ordo replaces the pod
            // once it has been stuck for the stated time.
            assert!(w.take_log().is_empty(), "not stuck for long enough yet");
            assert_eq!(
                p.recheck_at_ms,
                Some(w.now_ms + crate::statefulset::plan::HEAL_AFTER_MS)
            );
            w.now_ms += crate::statefulset::plan::HEAL_AFTER_MS;
            w.sync();
        }
        assert_eq!(
            w.take_log(),
            ["delete web-0"],
            "maxUnavailable {max_unavailable}"
        );
        w.reap();
        w.settle();
        assert_eq!(w.image_of("web-0"), "nginx:fixed");
    }
}

#[test]
fn on_delete_only_recreates_deleted_pods_and_promotes_current_revision() {
    let mut w = World::new(set(
        2,
        json!({"updateStrategy": {"type": "OnDelete", "rollingUpdate": null}}),
    ));
    w.settle();
    let old = w.status().current_revision.unwrap();
    w.take_log();
    w.set_image("nginx:1.26");
    w.settle();
    assert!(
        w.take_log().is_empty(),
        "OnDelete never deletes for an update"
    );
    let new = w.status().update_revision.unwrap();
    assert_eq!(w.status().current_revision.as_deref(), Some(old.as_str()));
    w.pods.remove("web-1");
    w.settle();
    assert_eq!(w.revision_of("web-1"), new);
    assert_eq!(w.revision_of("web-0"), old);
    assert_eq!(w.status().updated_replicas, Some(1));
    w.pods.remove("web-0");
    w.settle();
    assert_eq!(w.revision_of("web-0"), new);
    assert_eq!(
        w.status().current_revision.as_deref(),
        Some(new.as_str()),
        "promoted once all pods are updated"
    );
}

#[test]
fn scaling_takes_precedence_over_updates() {
    let mut w = World::new(set(3, json!({})));
    w.settle();
    w.take_log();
    w.set_image("nginx:1.26");
    w.edit(json!({"replicas": 2}));
    w.sync();
    assert_eq!(w.take_log(), ["delete web-2"]);
    w.reap();
    w.sync();
    assert_eq!(w.take_log(), ["delete web-1"], "then the update");
}

#[test]
fn ordered_ready_rollout_heals_a_pod_stuck_at_a_broken_revision_67250() {
    let mut w = World::new(set(2, json!({})));
    w.settle();
    w.take_log();
    w.set_image("nginx:broken");
    w.sync();
    assert_eq!(w.take_log(), ["delete web-1"]);
    w.reap();
    w.sync();
    w.take_log();
    w.unready("web-1"); // the new revision never becomes Ready: the rollout stalls
    w.sync();
    assert_eq!(
        w.take_log(),
        Vec::<String>::new(),
        "a stuck pod at the update revision is left alone"
    );
    w.set_image("nginx:fixed"); // back to a working template: web-1 is now at an old revision
    w.sync();
    assert!(
        w.take_log().is_empty(),
        "replaced only after it stayed stuck for the stated time"
    );
    w.now_ms += crate::statefulset::plan::HEAL_AFTER_MS;
    w.sync();
    assert_eq!(
        w.take_log(),
        ["delete web-1"],
        "the stuck pod is replaced without a human"
    );
    w.reap();
    w.settle();
    assert_eq!(w.image_of("web-1"), "nginx:fixed");
    assert_eq!(w.image_of("web-0"), "nginx:fixed");
}

/// Defect 2 of #14: during a rollout with `rollingUpdate` nil, a lower pod that is not Ready
/// (at the current revision) is waited for, as upstream does: never deleted, however long it
/// takes, and never re-created in a loop.
#[test]
fn heal_never_deletes_a_pod_at_the_current_revision_or_a_starting_pod() {
    let mut w = World::new(set(
        3,
        json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": null}}),
    ));
    w.settle();
    w.take_log();
    w.set_image("nginx:1.26");
    w.sync();
    assert_eq!(w.take_log(), ["delete web-2"]);
    w.reap();
    w.sync();
    assert_eq!(w.take_log(), ["create web-2"]);
    w.unready("web-0"); // briefly not Ready (a liveness restart, a slow disk)
    for _ in 0..60 {
        w.now_ms += 1000;
        w.sync();
        w.ready_pending();
    }
    let log = w.take_log();
    assert!(
        !log.iter().any(|l| l.contains("web-0")),
        "web-0 is at the current revision: waited for, not deleted: {log:?}"
    );
    w.ready("web-0");
    w.settle();
    assert!(w.pods.keys().all(|p| w.image_of(p) == "nginx:1.26"));
    let log = w.take_log();
    assert_eq!(
        deletes(&log),
        ["delete web-1", "delete web-0"],
        "then the rollout goes on in order"
    );
}

/// A pod at a superseded revision that is merely starting (created less than the stated time
/// ago) is left alone even though the template changed again.
#[test]
fn heal_waits_for_a_starting_pod_at_a_superseded_revision() {
    let mut w = World::new(set(2, json!({})));
    w.settle();
    w.take_log();
    w.set_image("nginx:2");
    w.sync();
    w.reap();
    w.sync();
    assert_eq!(w.take_log(), ["delete web-1", "create web-1"]);
    w.now_ms += 1000;
    w.set_image("nginx:3"); // web-1 (Pending, at nginx:2) is now at a superseded revision
    for _ in 0..9 {
        w.sync();
        w.now_ms += 1000;
    }
    assert!(w.take_log().is_empty(), "starting, not stuck");
    w.now_ms += 1000;
    w.sync();
    assert_eq!(w.take_log(), ["delete web-1"]);
    w.reap();
    w.settle();
    assert_eq!(w.image_of("web-1"), "nginx:3");
    assert_eq!(w.image_of("web-0"), "nginx:3");
}
