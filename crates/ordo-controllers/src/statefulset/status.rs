//! `status` as upstream computes it (`computeReplicaStatus`, `completeRollingUpdate`,
//! `inconsistentStatus`) and the merge patch that writes it.

use super::identity;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

/// Counts over existing pods: replicas (all, terminating included), ready, available, and
/// current/updated (non-terminating pods at that revision).
pub fn count(
    status: &mut StatefulSetStatus,
    pods: &[&Pod],
    min_ready_seconds: i32,
    current: &str,
    update: &str,
    now_ms: i64,
) {
    let (mut replicas, mut ready, mut available, mut cur, mut upd) = (0, 0, 0, 0, 0);
    for pod in pods {
        replicas += 1;
        if identity::is_running_and_ready(pod) {
            ready += 1;
            if identity::is_available(pod, min_ready_seconds, now_ms) {
                available += 1;
            }
        }
        if !identity::is_terminating(pod) {
            let rev = identity::pod_revision(pod);
            if rev == current {
                cur += 1;
            }
            if rev == update {
                upd += 1;
            }
        }
    }
    status.replicas = replicas;
    status.ready_replicas = Some(ready);
    status.available_replicas = Some(available);
    status.current_replicas = Some(cur);
    status.updated_replicas = Some(upd);
}

/// Marks the update complete (`currentRevision := updateRevision`) when every replica is
/// updated and ready. Applies to OnDelete too (upstream fixed #73492 in 1.36).
pub fn complete_update(set: &StatefulSet, status: &mut StatefulSetStatus) {
    let want = identity::replicas(set);
    if status.updated_replicas.unwrap_or(0) == want
        && status.ready_replicas.unwrap_or(0) == want
        && status.replicas == want
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
}

/// Whether `status` must be written (`inconsistentStatus`): a newer observed generation, or
/// any count or revision name that differs. Like upstream, the collision count alone does not.
pub fn differs(set: &StatefulSet, status: &StatefulSetStatus) -> bool {
    let old = set.status.clone().unwrap_or_default();
    let n = |v: Option<i32>| v.unwrap_or(0);
    let g = |v: Option<i64>| v.unwrap_or(0);
    g(status.observed_generation) > g(old.observed_generation)
        || old.replicas != status.replicas
        || n(old.current_replicas) != n(status.current_replicas)
        || n(old.ready_replicas) != n(status.ready_replicas)
        || n(old.updated_replicas) != n(status.updated_replicas)
        || old.current_revision.as_deref().unwrap_or_default()
            != status.current_revision.as_deref().unwrap_or_default()
        || n(old.available_replicas) != n(status.available_replicas)
        || old.update_revision.as_deref().unwrap_or_default()
            != status.update_revision.as_deref().unwrap_or_default()
}

/// The merge patch for the status subresource. Zero counts upstream omits (`omitempty`) are
/// removed; user-set conditions are left alone.
pub fn patch(status: &StatefulSetStatus) -> Value {
    let omit_zero = |v: Option<i32>| match v.unwrap_or(0) {
        0 => Value::Null,
        n => json!(n),
    };
    json!({"status": {
        "observedGeneration": status.observed_generation,
        "replicas": status.replicas,
        "readyReplicas": omit_zero(status.ready_replicas),
        "availableReplicas": status.available_replicas.unwrap_or(0),
        "currentReplicas": omit_zero(status.current_replicas),
        "updatedReplicas": omit_zero(status.updated_replicas),
        "currentRevision": status.current_revision,
        "updateRevision": status.update_revision,
        "collisionCount": status.collision_count.unwrap_or(0),
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_status(st: StatefulSetStatus) -> StatefulSet {
        StatefulSet {
            status: Some(st),
            ..Default::default()
        }
    }

    /// `inconsistentStatus`: an older observed generation (a stale cache) is not written back,
    /// and the collision count alone does not cause a write.
    #[test]
    fn status_written_as_upstream_decides() {
        let recorded = StatefulSetStatus {
            observed_generation: Some(5),
            replicas: 2,
            collision_count: Some(0),
            ..Default::default()
        };
        let set = with_status(recorded.clone());
        let older = StatefulSetStatus {
            observed_generation: Some(4),
            ..recorded.clone()
        };
        assert!(!differs(&set, &older));
        let newer = StatefulSetStatus {
            observed_generation: Some(6),
            ..recorded.clone()
        };
        assert!(differs(&set, &newer));
        let collided = StatefulSetStatus {
            collision_count: Some(1),
            ..recorded.clone()
        };
        assert!(!differs(&set, &collided));
        let fewer = StatefulSetStatus {
            replicas: 1,
            ..recorded
        };
        assert!(differs(&set, &fewer));
    }
}
