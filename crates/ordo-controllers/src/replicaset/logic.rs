//! Pure decisions of the ReplicaSet controller: which pods to delete on scale-down, the
//! slow-start batches of creations, the pod made from the template, and the status.

use crate::ownership::{controller_ref, is_pod_available, is_pod_ready, ready_since};
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use std::cmp::Ordering;
use std::collections::HashMap;

/// At most this many creations or deletions per sync (upstream `BurstReplicas`).
pub const BURST_REPLICAS: usize = 500;

/// Annotation lowering a pod's cost of deletion (upstream `PodDeletionCost`).
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Batch sizes for creating `n` pods: 1, 2, 4, ... (upstream `slowStartBatch`).
pub fn slow_start_batches(n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut left, mut size) = (n, 1usize);
    while left > 0 {
        let b = size.min(left);
        out.push(b);
        left -= b;
        size *= 2;
    }
    out
}

fn phase_ordinal(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 0,
    }
}

/// `floor(log2(age in ns))`, -1 for ages <= 0 (upstream `logarithmicRankDiff`).
fn log_bucket(t: Option<Timestamp>, now: Timestamp) -> i64 {
    let Some(t) = t else { return i64::MAX };
    let d = now.as_nanosecond() - t.as_nanosecond();
    if d <= 0 {
        -1
    } else {
        (127 - d.leading_zeros()) as i64
    }
}

fn max_restarts(pod: &Pod) -> (i32, i32) {
    let st = pod.status.as_ref();
    let regular = st
        .and_then(|s| s.container_statuses.as_ref())
        .map(|c| c.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0);
    let sidecars: Vec<&str> = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .map(|ics| {
            ics.iter()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"))
                .map(|c| c.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let sidecar = st
        .and_then(|s| s.init_container_statuses.as_ref())
        .map(|c| {
            c.iter()
                .filter(|c| sidecars.contains(&c.name.as_str()))
                .map(|c| c.restart_count)
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    (regular, sidecar)
}

fn node(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// Upstream `ActivePodsWithRanks.Less` as a total order (log-bucketed times, as with the
/// GA `LogarithmicScaleDown`): unscheduled < scheduled, Pending < Unknown < Running,
/// not ready < ready, lower deletion cost, more co-located pods, more recently ready,
/// more restarts, newer, then uid. Smaller = deleted first.
pub fn deletion_order(a: &Pod, rank_a: usize, b: &Pod, rank_b: usize, now: Timestamp) -> Ordering {
    let cost = |p: &Pod| {
        p.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(DELETION_COST))
            .and_then(|c| c.parse::<i32>().ok())
            .unwrap_or(0)
    };
    let both_ready = is_pod_ready(a) && is_pod_ready(b);
    let ready_bucket = |p: &Pod| {
        if both_ready {
            log_bucket(ready_since(p).flatten(), now)
        } else {
            0
        }
    };
    let created = |p: &Pod| log_bucket(p.metadata.creation_timestamp.as_ref().map(|t| t.0), now);
    (!node(a).is_empty())
        .cmp(&!node(b).is_empty())
        .then(phase_ordinal(a).cmp(&phase_ordinal(b)))
        .then(is_pod_ready(a).cmp(&is_pod_ready(b)))
        .then(cost(a).cmp(&cost(b)))
        .then(rank_b.cmp(&rank_a))
        .then(ready_bucket(a).cmp(&ready_bucket(b)))
        .then(max_restarts(b).cmp(&max_restarts(a)))
        .then(created(a).cmp(&created(b)))
        .then(a.metadata.uid.cmp(&b.metadata.uid))
}

/// The `diff` pods to delete first (upstream `getPodsToDelete`).
pub fn pods_to_delete<'a>(pods: &[&'a Pod], diff: usize, now: Timestamp) -> Vec<&'a Pod> {
    let mut on_node: HashMap<&str, usize> = HashMap::new();
    for p in pods {
        *on_node.entry(node(p)).or_default() += 1;
    }
    let mut ranked: Vec<(&Pod, usize)> = pods.iter().map(|p| (*p, on_node[node(p)])).collect();
    if diff < ranked.len() {
        ranked.sort_by(|(a, ra), (b, rb)| deletion_order(a, *ra, b, *rb, now));
    }
    ranked.into_iter().take(diff).map(|(p, _)| p).collect()
}

/// The pod the ReplicaSet creates from its template: `generateName: <rs>-`, controller ref.
pub fn new_pod(rs: &ReplicaSet) -> Pod {
    let tmpl = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let tm = tmpl.metadata.unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!(
                "{}-",
                rs.metadata.name.as_deref().unwrap_or_default()
            )),
            namespace: rs.metadata.namespace.clone(),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![controller_ref("apps/v1", "ReplicaSet", &rs.metadata)]),
            ..Default::default()
        },
        spec: tmpl.spec,
        status: None,
    }
}

/// The status for `pods` (the active pods the ReplicaSet owns), keeping conditions, with a
/// `ReplicaFailure` condition when creating or deleting failed (upstream `calculateStatus`).
pub fn calculate_status(
    rs: &ReplicaSet,
    pods: &[&Pod],
    manage_error: Option<(&str, String)>,
    now: Timestamp,
) -> ReplicaSetStatus {
    let spec = rs.spec.clone().unwrap_or_default();
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let tmpl_labels = spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let mut st = rs.status.clone().unwrap_or_default();
    let fully = pods
        .iter()
        .filter(|p| {
            tmpl_labels
                .iter()
                .all(|(k, v)| p.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v))
        })
        .count();
    let ready = pods.iter().filter(|p| is_pod_ready(p)).count();
    let available = pods
        .iter()
        .filter(|p| is_pod_available(p, min_ready, now))
        .count();
    let mut conds: Vec<ReplicaSetCondition> = st.conditions.take().unwrap_or_default();
    let has_failure = conds.iter().any(|c| c.type_ == "ReplicaFailure");
    match manage_error {
        Some((reason, msg)) if !has_failure => conds.push(ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some(reason.into()),
            message: Some(msg),
            last_transition_time: Some(Time(now)),
        }),
        None if has_failure => conds.retain(|c| c.type_ != "ReplicaFailure"),
        _ => {}
    }
    st.conditions = (!conds.is_empty()).then_some(conds);
    st.replicas = pods.len() as i32;
    // Zero counts are omitted, as upstream's `omitempty` does.
    let nz = |x: usize| (x != 0).then_some(x as i32);
    st.fully_labeled_replicas = nz(fully);
    st.ready_replicas = nz(ready);
    st.available_replicas = nz(available);
    st.observed_generation = rs.metadata.generation;
    st
}

/// When a pod that is ready but not yet available becomes available (for a requeue).
pub fn next_available_in(
    rs: &ReplicaSet,
    pods: &[&Pod],
    now: Timestamp,
) -> Option<std::time::Duration> {
    let min_ready = rs.spec.as_ref()?.min_ready_seconds.unwrap_or(0);
    if min_ready <= 0 {
        return None;
    }
    pods.iter()
        .filter(|p| !is_pod_available(p, min_ready, now))
        .filter_map(|p| ready_since(p).flatten())
        .map(|t| t.as_millisecond() + i64::from(min_ready) * 1000 - now.as_millisecond() + 10)
        .min()
        .map(|ms| std::time::Duration::from_millis(ms.max(10) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerStatus, PodCondition, PodSpec, PodStatus};

    fn ts(secs_ago: i64, now: Timestamp) -> Timestamp {
        Timestamp::from_second(now.as_second() - secs_ago).unwrap()
    }

    fn pod(
        name: &str,
        node: &str,
        phase: &str,
        ready_ago: Option<i64>,
        restarts: i32,
        created_ago: i64,
        now: Timestamp,
    ) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                uid: Some(name.into()),
                creation_timestamp: Some(Time(ts(created_ago, now))),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: (!node.is_empty()).then(|| node.to_string()),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: ready_ago.map(|a| {
                    vec![PodCondition {
                        type_: "Ready".into(),
                        status: "True".into(),
                        last_transition_time: Some(Time(ts(a, now))),
                        ..Default::default()
                    }]
                }),
                container_statuses: Some(vec![ContainerStatus {
                    name: "c".into(),
                    restart_count: restarts,
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    fn order(pods: &[Pod], now: Timestamp) -> Vec<String> {
        let refs: Vec<&Pod> = pods.iter().collect();
        pods_to_delete(&refs, pods.len() - 1, now)
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect()
    }

    #[test]
    fn batches() {
        assert_eq!(slow_start_batches(0), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1), vec![1]);
        assert_eq!(slow_start_batches(10), vec![1, 2, 4, 3]);
        assert_eq!(slow_start_batches(15), vec![1, 2, 4, 8]);
    }

    #[test]
    fn victims_unscheduled_pending_notready_first() {
        let now = Timestamp::now();
        let pods = vec![
            pod("running-ready", "n1", "Running", Some(100), 0, 200, now),
            pod("unscheduled", "", "Pending", None, 0, 200, now),
            pod("pending", "n1", "Pending", None, 0, 200, now),
            pod("unknown", "n1", "Unknown", None, 0, 200, now),
            pod("running-notready", "n1", "Running", None, 0, 200, now),
        ];
        assert_eq!(
            order(&pods, now),
            vec!["unscheduled", "pending", "unknown", "running-notready"]
        );
    }

    #[test]
    fn victims_recent_ready_restarts_newer() {
        let now = Timestamp::now();
        let pods = [
            pod("old-ready", "n1", "Running", Some(10_000), 0, 20_000, now),
            pod("recent-ready", "n2", "Running", Some(10), 0, 20_000, now),
            pod("restarts", "n3", "Running", Some(10_000), 5, 20_000, now),
            pod("newer", "n4", "Running", Some(10_000), 0, 12_000, now),
        ];
        // recent ready first; then among equally old ready: more restarts; then newer.
        let refs: Vec<&Pod> = pods.iter().collect();
        let all: Vec<String> = {
            let mut r: Vec<(&Pod, usize)> = refs.iter().map(|p| (*p, 1)).collect();
            r.sort_by(|(a, ra), (b, rb)| deletion_order(a, *ra, b, *rb, now));
            r.iter()
                .map(|(p, _)| p.metadata.name.clone().unwrap())
                .collect()
        };
        assert_eq!(all, vec!["recent-ready", "restarts", "newer", "old-ready"]);
    }

    #[test]
    fn victims_deletion_cost_and_colocation() {
        let now = Timestamp::now();
        let mut cheap = pod("cheap", "n1", "Running", Some(100), 0, 200, now);
        cheap.metadata.annotations = Some([(DELETION_COST.to_string(), "-5".to_string())].into());
        let pods = [
            pod("alone", "n2", "Running", Some(100), 0, 200, now),
            pod("doubled", "n1", "Running", Some(100), 0, 200, now),
            cheap,
        ];
        let refs: Vec<&Pod> = pods.iter().collect();
        let names: Vec<String> = pods_to_delete(&refs, 2, now)
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, vec!["cheap", "doubled"]);
    }

    #[test]
    fn status_counts_and_min_ready() {
        let now = Timestamp::now();
        let mut rs = ReplicaSet::default();
        rs.metadata.generation = Some(3);
        rs.spec = Some(k8s_openapi::api::apps::v1::ReplicaSetSpec {
            min_ready_seconds: Some(30),
            ..Default::default()
        });
        let pods = [
            pod("a", "n", "Running", Some(60), 0, 100, now),
            pod("b", "n", "Running", Some(5), 0, 100, now),
            pod("c", "n", "Pending", None, 0, 100, now),
        ];
        let refs: Vec<&Pod> = pods.iter().collect();
        let st = calculate_status(&rs, &refs, None, now);
        assert_eq!(
            (
                st.replicas,
                st.ready_replicas,
                st.available_replicas,
                st.observed_generation
            ),
            (3, Some(2), Some(1), Some(3))
        );
        let wait = next_available_in(&rs, &refs, now).unwrap();
        assert!(wait.as_secs() >= 24 && wait.as_secs() <= 26, "{wait:?}");
        let st = calculate_status(&rs, &refs, Some(("FailedCreate", "boom".into())), now);
        assert_eq!(
            st.conditions.unwrap()[0].reason.as_deref(),
            Some("FailedCreate")
        );
    }

    #[test]
    fn pod_from_template() {
        let rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some("web-abc".into()),
                namespace: Some("d".into()),
                uid: Some("u".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let p = new_pod(&rs);
        assert_eq!(p.metadata.generate_name.as_deref(), Some("web-abc-"));
        let r = &p.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (r.kind.as_str(), r.controller, r.block_owner_deletion),
            ("ReplicaSet", Some(true), Some(true))
        );
    }
}
