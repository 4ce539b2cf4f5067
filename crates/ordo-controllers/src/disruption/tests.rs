use super::logic::*;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

fn pod(name: &str, ready: bool, owner: Option<&str>) -> Pod {
    let mut p: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "d", "labels": {"app": "web"}},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    }))
    .unwrap();
    if let Some(uid) = owner {
        p.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "apps/v1".into(),
            kind: "StatefulSet".into(),
            name: "web".into(),
            uid: uid.into(),
            controller: Some(true),
            ..Default::default()
        }]);
    }
    p
}

fn pdb(spec: serde_json::Value) -> PodDisruptionBudget {
    serde_json::from_value(
        json!({"metadata": {"name": "web", "namespace": "d", "generation": 2}, "spec": spec}),
    )
    .unwrap()
}

fn three_replicas(o: &OwnerReference, _ns: &str) -> Option<(String, i32)> {
    (o.uid == "sts-uid").then(|| ("sts-uid".to_string(), 3))
}

#[test]
fn min_available_counts_ready_pods() {
    let pods = [
        pod("web-0", true, Some("sts-uid")),
        pod("web-1", true, Some("sts-uid")),
        pod("web-2", true, Some("sts-uid")),
    ];
    let refs: Vec<&Pod> = pods.iter().collect();
    let now = Timestamp::now();
    let b = pdb(json!({"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}));
    let (s, ok, _) = desired_status(&b, &refs, &three_replicas, now);
    assert!(ok.is_ok());
    assert_eq!(
        (
            s.expected_pods,
            s.desired_healthy,
            s.current_healthy,
            s.disruptions_allowed
        ),
        (3, 2, 3, 1)
    );
    assert_eq!(s.observed_generation, Some(2));
    let c = &s.conditions.as_ref().unwrap()[0];
    assert_eq!(
        (c.type_.as_str(), c.status.as_str(), c.reason.as_str()),
        ("DisruptionAllowed", "True", "SufficientPods")
    );

    // One pod unready: nothing may go.
    let pods = [
        pod("web-0", true, Some("sts-uid")),
        pod("web-1", false, Some("sts-uid")),
        pod("web-2", true, Some("sts-uid")),
    ];
    let refs: Vec<&Pod> = pods.iter().collect();
    let (s, _, _) = desired_status(&b, &refs, &three_replicas, now);
    assert_eq!((s.current_healthy, s.disruptions_allowed), (2, 0));
    assert_eq!(s.conditions.as_ref().unwrap()[0].reason, "InsufficientPods");
}

#[test]
fn percentages_and_max_unavailable_use_the_controllers_scale() {
    let pods = [
        pod("web-0", true, Some("sts-uid")),
        pod("web-1", true, Some("sts-uid")),
    ];
    let refs: Vec<&Pod> = pods.iter().collect();
    let now = Timestamp::now();
    // 3 replicas wanted, 2 exist and are ready: maxUnavailable 1 ⇒ desired 2, allowed 0.
    let (s, _, _) = desired_status(
        &pdb(json!({"maxUnavailable": 1, "selector": {}})),
        &refs,
        &three_replicas,
        now,
    );
    assert_eq!(
        (s.expected_pods, s.desired_healthy, s.disruptions_allowed),
        (3, 2, 0)
    );
    // 50 % of 3 rounds up to 2.
    let (s, _, _) = desired_status(
        &pdb(json!({"minAvailable": "50%", "selector": {}})),
        &refs,
        &three_replicas,
        now,
    );
    assert_eq!((s.expected_pods, s.desired_healthy), (3, 2));
    assert_eq!(scaled(&IntOrString::String("25%".into()), 10).unwrap(), 3);
}

#[test]
fn a_pod_without_a_known_controller_fails_safe() {
    let pods = [pod("web-0", true, Some("gone"))];
    let refs: Vec<&Pod> = pods.iter().collect();
    let (s, ok, _) = desired_status(
        &pdb(json!({"maxUnavailable": 1, "selector": {}})),
        &refs,
        &three_replicas,
        Timestamp::now(),
    );
    assert_eq!(ok.unwrap_err().0, "found no controllers for pod \"web-0\"");
    assert_eq!(s.disruptions_allowed, 0);
    assert_eq!(s.conditions.as_ref().unwrap()[0].reason, "SyncFailed");
    // Unmanaged pods are reported, not fatal.
    let pods = [pod("bare", true, None)];
    let refs: Vec<&Pod> = pods.iter().collect();
    let (_, ok, _) = desired_status(
        &pdb(json!({"maxUnavailable": 1, "selector": {}})),
        &refs,
        &three_replicas,
        Timestamp::now(),
    );
    assert_eq!(ok.unwrap(), ["bare"]);
}

#[test]
fn evicted_pods_do_not_count_until_they_time_out() {
    let pods = [
        pod("web-0", true, Some("sts-uid")),
        pod("web-1", true, Some("sts-uid")),
        pod("web-2", true, Some("sts-uid")),
    ];
    let refs: Vec<&Pod> = pods.iter().collect();
    let now = Timestamp::now();
    let mut b = pdb(json!({"minAvailable": 2, "selector": {}}));
    let st = k8s_openapi::api::policy::v1::PodDisruptionBudgetStatus {
        disrupted_pods: Some(
            [
                ("web-0".to_string(), Time(now)),
                (
                    "web-1".to_string(),
                    Time(now - std::time::Duration::from_secs(600)),
                ),
            ]
            .into(),
        ),
        ..Default::default()
    };
    b.status = Some(st);
    let (s, _, recheck) = desired_status(&b, &refs, &three_replicas, now);
    assert_eq!((s.current_healthy, s.disruptions_allowed), (2, 0));
    assert_eq!(
        s.disrupted_pods
            .as_ref()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["web-0"]
    );
    assert_eq!(recheck, Some(now + DELETION_TIMEOUT));
}
