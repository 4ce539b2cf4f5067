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
    // web-0 is stale and unavailable: replaced for free; one healthy pod (web-3) uses the budget.
    assert_eq!(w.take_log(), ["delete web-3", "delete web-0"]);
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
        w.sync();
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
