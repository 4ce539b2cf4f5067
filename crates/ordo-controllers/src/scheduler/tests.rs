use super::*;
use k8s_openapi::api::core::v1::{Container, NodeCondition, NodeSpec, NodeStatus, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

fn node(name: &str, pods: &str) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..Default::default()
            }]),
            allocatable: Some([("pods".to_string(), Quantity(pods.into()))].into()),
            ..Default::default()
        }),
    }
}

fn pod(uid: &str, node: Option<&str>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("p-{uid}")),
            namespace: Some("default".into()),
            uid: Some(uid.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                ..Default::default()
            }],
            node_name: node.map(str::to_string),
            scheduler_name: Some(SCHEDULER_NAME.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn synced(nodes: Vec<Node>, pods: Vec<Pod>) -> Scheduler {
    let mut s = Scheduler::default();
    s.nodes_listed(nodes);
    s.pods_listed(pods);
    s
}

fn binds(actions: &[Action]) -> Vec<(String, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Bind { pod, node } => Some((uid_of(pod), node.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn waits_for_both_lists() {
    let mut s = Scheduler::default();
    s.pod_applied(pod("1", None));
    assert!(s.schedule(Instant::now()).is_empty());
    s.nodes_listed(vec![node("a", "110")]);
    assert!(s.schedule(Instant::now()).is_empty());
    s.pods_listed(vec![pod("1", None)]);
    assert_eq!(
        binds(&s.schedule(Instant::now())),
        [("1".to_string(), "a".to_string())]
    );
}

#[test]
fn spreads_with_assumed_pods_and_existing_ones() {
    let mut s = synced(
        vec![node("a", "110"), node("b", "110")],
        vec![pod("x", Some("a"))],
    );
    for u in ["1", "2", "3"] {
        s.pod_applied(pod(u, None));
    }
    let got = binds(&s.schedule(Instant::now()));
    assert_eq!(
        got,
        [
            ("1".into(), "b".into()),
            ("2".into(), "a".into()),
            ("3".into(), "b".into())
        ]
    );
    // The watch confirming a binding changes nothing; a second decision is not made.
    s.pod_applied(pod("1", Some("b")));
    s.bind_done("1", true, false);
    assert!(s.schedule(Instant::now()).is_empty());
    assert_eq!(s.usage["b"].pods, 2);
    s.pod_deleted(&pod("1", Some("b")));
    assert_eq!(s.usage["b"].pods, 1);
}

#[test]
fn unschedulable_pods_back_off_and_retry_when_nodes_change() {
    let mut s = synced(vec![node("a", "1")], vec![pod("x", Some("a"))]);
    s.pod_applied(pod("1", None));
    let t0 = Instant::now();
    let acts = s.schedule(t0);
    assert!(
        matches!(&acts[..], [Action::Unschedulable { message, .. }] if message.starts_with("0/1 nodes are available: 1 Too many pods."))
    );
    // Its own status update does not requeue it.
    s.pod_applied(pod("1", None));
    s.requeue(t0);
    assert!(s.schedule(t0).is_empty());
    // Backoff elapsed: retried (and fails again, with a longer backoff).
    s.requeue(t0 + Duration::from_secs(2));
    assert_eq!(s.schedule(t0 + Duration::from_secs(2)).len(), 1);
    assert_eq!(s.backoff["1"].1, Duration::from_secs(2));
    s.requeue(t0 + Duration::from_secs(3));
    assert!(s.schedule(t0 + Duration::from_secs(3)).is_empty());
    // Freed capacity: retried at once and bound.
    s.pod_deleted(&pod("x", Some("a")));
    s.requeue(t0 + Duration::from_secs(2));
    assert_eq!(
        binds(&s.schedule(t0 + Duration::from_secs(2))),
        [("1".to_string(), "a".to_string())]
    );
}

#[test]
fn failed_binding_is_retried_and_other_schedulers_ignored() {
    let mut s = synced(vec![node("a", "110")], vec![]);
    s.pod_applied(pod("1", None));
    let mut other = pod("2", None);
    other.spec.as_mut().unwrap().scheduler_name = Some("my-scheduler".into());
    s.pod_applied(other);
    assert_eq!(binds(&s.schedule(Instant::now())).len(), 1);
    s.bind_done("1", false, true);
    assert_eq!(s.usage["a"].pods, 0);
    s.requeue(Instant::now() + Duration::from_secs(2));
    assert_eq!(binds(&s.schedule(Instant::now())).len(), 1);
}

#[test]
fn host_ports_taken_on_a_node_keep_a_pod_off_it() {
    let with_port = |uid: &str, node: Option<&str>| {
        let mut p = pod(uid, node);
        p.spec.as_mut().unwrap().containers[0].ports =
            Some(vec![k8s_openapi::api::core::v1::ContainerPort {
                container_port: 80,
                host_port: Some(8080),
                ..Default::default()
            }]);
        p
    };
    // "x" holds 8080 on a: "1" goes to b even though b has more pods.
    let mut s = synced(
        vec![node("a", "110"), node("b", "110")],
        vec![with_port("x", Some("a")), pod("y", Some("b"))],
    );
    s.pod_applied(with_port("1", None));
    assert_eq!(
        binds(&s.schedule(Instant::now())),
        [("1".to_string(), "b".to_string())]
    );
    // With 8080 taken on both nodes (the assumed "1" counts), "2" fits nowhere.
    s.pod_applied(with_port("2", None));
    let acts = s.schedule(Instant::now());
    assert!(
        matches!(&acts[..], [Action::Unschedulable { message, .. }]
            if message.starts_with("0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.")),
        "{acts:?}"
    );
    // Once "x" is gone, a frees up.
    s.pod_deleted(&with_port("x", Some("a")));
    s.requeue(Instant::now() + Duration::from_secs(60));
    assert_eq!(
        binds(&s.schedule(Instant::now() + Duration::from_secs(60))),
        [("2".to_string(), "a".to_string())]
    );
}

#[test]
fn higher_priority_pods_get_the_last_room_first() {
    let with_priority = |uid: &str, p: i32| {
        let mut pod = pod(uid, None);
        pod.spec.as_mut().unwrap().priority = Some(p);
        pod
    };
    // Room for one pod; the low-priority pod queued first, the high-priority one second.
    let mut s = synced(vec![node("a", "1")], vec![]);
    s.pod_applied(with_priority("low", 0));
    s.pod_applied(with_priority("high", 1000));
    let actions = s.schedule(Instant::now());
    assert_eq!(binds(&actions), [("high".to_string(), "a".to_string())]);
}
