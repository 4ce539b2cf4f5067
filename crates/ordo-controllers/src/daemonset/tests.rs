//! The DaemonSet controller's decisions, in memory.

use super::logic::*;
use super::revision::{self, Current};
use k8s_openapi::api::apps::v1::{
    ControllerRevision, DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, RollingUpdateDaemonSet,
};
use k8s_openapi::api::core::v1::{
    Container, Node, NodeSpec, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec, Taint,
    Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};

fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ds(image: &str) -> DaemonSet {
    DaemonSet {
        metadata: ObjectMeta {
            name: Some("agent".into()),
            namespace: Some("default".into()),
            uid: Some("ds-uid".into()),
            generation: Some(1),
            annotations: Some(labels(&[(TEMPLATE_GENERATION_ANNOTATION, "1")])),
            ..Default::default()
        },
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(labels(&[("app", "agent")])),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&[("app", "agent")])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "c".into(),
                        image: Some(image.into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            update_strategy: Some(DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDaemonSet {
                    max_unavailable: Some(IntOrString::Int(1)),
                    max_surge: Some(IntOrString::Int(0)),
                }),
            }),
            ..Default::default()
        }),
        status: None,
    }
}

fn with_surge(mut d: DaemonSet, surge: i32) -> DaemonSet {
    let ru = d
        .spec
        .as_mut()
        .unwrap()
        .update_strategy
        .as_mut()
        .unwrap()
        .rolling_update
        .as_mut()
        .unwrap();
    ru.max_surge = Some(IntOrString::Int(surge));
    ru.max_unavailable = Some(IntOrString::Int(0));
    d
}

fn node(name: &str, lbls: &[(&str, &str)], taints: Vec<Taint>) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels(lbls)),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            taints: Some(taints),
            ..Default::default()
        }),
        status: None,
    }
}

fn taint(key: &str, effect: &str) -> Taint {
    Taint {
        key: key.into(),
        effect: effect.into(),
        ..Default::default()
    }
}

/// A running daemon pod of `hash` on `node`, Ready or not, created at second `created`.
fn pod(name: &str, node: &str, hash: &str, ready: bool, created: i64) -> Pod {
    let mut p = new_pod(&ds("x"), node, hash);
    p.metadata.name = Some(name.into());
    p.metadata.uid = Some(format!("{name}-uid"));
    p.metadata.creation_timestamp = Some(Time(Timestamp::from_second(created).unwrap()));
    let l = p.metadata.labels.as_mut().unwrap();
    l.remove(TEMPLATE_GENERATION_LABEL);
    p.spec.as_mut().unwrap().node_name = Some(node.into());
    p.status = Some(PodStatus {
        phase: Some("Running".into()),
        conditions: Some(vec![PodCondition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            last_transition_time: Some(Time(Timestamp::from_second(created).unwrap())),
            ..Default::default()
        }]),
        ..Default::default()
    });
    p
}

fn now() -> Timestamp {
    Timestamp::from_second(10_000).unwrap()
}

fn run(d: &DaemonSet, nodes: &[Node], pods: &[Pod], hash: &str) -> Plan {
    let nodes: Vec<&Node> = nodes.iter().collect();
    let pods: Vec<&Pod> = pods.iter().collect();
    plan(&Input {
        ds: d,
        nodes: &nodes,
        pods: &pods,
        hash,
        backoff: &HashMap::new(),
        now: now(),
    })
}

#[test]
fn eligibility_follows_selector_affinity_and_taints() {
    let mut d = ds("x");
    let plain = node("a", &[("disk", "ssd")], vec![]);
    assert_eq!(should_run(&d, &plain), (true, true));
    // A cordoned node (the unschedulable taint) and pressure are tolerated by every daemon pod.
    let cordoned = node(
        "b",
        &[],
        vec![
            taint("node.kubernetes.io/unschedulable", "NoSchedule"),
            taint("node.kubernetes.io/disk-pressure", "NoSchedule"),
            taint("node.kubernetes.io/not-ready", "NoExecute"),
        ],
    );
    assert_eq!(should_run(&d, &cordoned), (true, true));
    // An untolerated NoSchedule taint: no new pod, an existing one stays.
    let dedicated = node("c", &[], vec![taint("dedicated", "NoSchedule")]);
    assert_eq!(should_run(&d, &dedicated), (false, true));
    // An untolerated NoExecute taint removes it too.
    let evicting = node("d", &[], vec![taint("dedicated", "NoExecute")]);
    assert_eq!(should_run(&d, &evicting), (false, false));
    let spec = d.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
    spec.tolerations = Some(vec![Toleration {
        key: Some("dedicated".into()),
        operator: Some("Exists".into()),
        ..Default::default()
    }]);
    assert_eq!(should_run(&d, &dedicated), (true, true));
    assert_eq!(should_run(&d, &evicting), (true, true));
    // The node selector narrows the nodes.
    let spec = d.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
    spec.node_selector = Some(labels(&[("disk", "ssd")]));
    assert_eq!(should_run(&d, &plain), (true, true));
    assert_eq!(should_run(&d, &dedicated), (false, false));
    // A template nodeName picks one node.
    let spec = d.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
    spec.node_selector = None;
    spec.node_name = Some("c".into());
    assert_eq!(should_run(&d, &plain), (false, false));
    assert_eq!(should_run(&d, &dedicated), (true, true));
}

#[test]
fn daemon_pods_are_pinned_and_tolerant() {
    let mut d = ds("busybox:1");
    d.spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .host_network = Some(true);
    let p = new_pod(&d, "node-2", "abc");
    assert_eq!(p.metadata.generate_name.as_deref(), Some("agent-"));
    let l = p.metadata.labels.as_ref().unwrap();
    assert_eq!(l["controller-revision-hash"], "abc");
    assert_eq!(l["pod-template-generation"], "1");
    assert_eq!(l["app"], "agent");
    let owner = &p.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("DaemonSet", Some(true))
    );
    let spec = p.spec.as_ref().unwrap();
    let keys: Vec<(String, String)> = spec
        .tolerations
        .iter()
        .flatten()
        .map(|t| (t.key.clone().unwrap(), t.effect.clone().unwrap()))
        .collect();
    assert_eq!(keys.len(), 7);
    assert!(keys.contains(&("node.kubernetes.io/not-ready".into(), "NoExecute".into())));
    assert!(keys.contains(&(
        "node.kubernetes.io/network-unavailable".into(),
        "NoSchedule".into()
    )));
    assert!(spec
        .tolerations
        .iter()
        .flatten()
        .all(|t| t.toleration_seconds.is_none()));
    assert_eq!(target_node(&p).as_deref(), Some("node-2"));
    let terms = &spec
        .affinity
        .as_ref()
        .unwrap()
        .node_affinity
        .as_ref()
        .unwrap()
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .unwrap()
        .node_selector_terms;
    assert_eq!(terms.len(), 1);
    let f = &terms[0].match_fields.as_ref().unwrap()[0];
    assert_eq!(
        (f.key.as_str(), f.operator.as_str()),
        ("metadata.name", "In")
    );
    // Adding the daemon tolerations twice changes nothing.
    let mut again = spec.clone();
    add_daemon_tolerations(&mut again);
    assert_eq!(again.tolerations, spec.tolerations);
}

#[test]
fn manage_creates_per_node_and_removes_strays() {
    let d = ds("x");
    let nodes = [
        node("a", &[], vec![]),
        node("b", &[], vec![]),
        node("c", &[], vec![taint("dedicated", "NoExecute")]),
    ];
    let p = run(&d, &nodes, &[], "h1");
    assert_eq!(p.create_on, ["a", "b"]);
    assert!(p.delete.is_empty());
    // A pod on a node that is gone, one on an evicting node, two on one node.
    let pods = [
        pod("on-a", "a", "h1", true, 1),
        pod("extra-a", "a", "h1", true, 2),
        pod("on-c", "c", "h1", true, 1),
        pod("on-gone", "gone", "h1", true, 1),
    ];
    let p = run(&d, &nodes, &pods, "h1");
    assert_eq!(p.create_on, ["b"]);
    let mut deleted = p.delete.clone();
    deleted.sort();
    assert_eq!(deleted, ["extra-a", "on-c", "on-gone"]);
}

#[test]
fn failed_pods_are_replaced_with_backoff() {
    let d = ds("x");
    let nodes = [node("a", &[], vec![])];
    let mut failed = pod("p", "a", "h1", false, 1);
    failed.status.as_mut().unwrap().phase = Some("Failed".into());
    let pods = [failed];
    let p = run(&d, &nodes, &pods, "h1");
    assert_eq!(p.delete, ["p"]);
    assert_eq!(
        p.events,
        [(
            true,
            FAILED_DAEMON_POD,
            "Found failed daemon pod default/p on node a, will try to kill it".to_string()
        )]
    );
    let (node, first) = p.backoff[0].clone();
    assert_eq!((node.as_str(), first.delay_ms), ("a", 1_000));
    // Within the back-off nothing is deleted and the sync comes back when it ends.
    let mut backoff = HashMap::new();
    backoff.insert("a".to_string(), first);
    let node_refs: Vec<&Node> = nodes.iter().collect();
    let pod_refs: Vec<&Pod> = pods.iter().collect();
    let mut input = Input {
        ds: &d,
        nodes: &node_refs,
        pods: &pod_refs,
        hash: "h1",
        backoff: &backoff,
        now: Timestamp::from_millisecond(now().as_millisecond() + 400).unwrap(),
    };
    let p = plan(&input);
    assert!(p.delete.is_empty());
    assert_eq!(p.requeue, Some(std::time::Duration::from_millis(600)));
    // After it, the delay doubles.
    input.now = Timestamp::from_millisecond(now().as_millisecond() + 1_500).unwrap();
    let p = plan(&input);
    assert_eq!(p.delete, ["p"]);
    assert_eq!(p.backoff[0].1.delay_ms, 2_000);
}

#[test]
fn rolling_update_keeps_within_max_unavailable() {
    let d = ds("x");
    let nodes = [
        node("a", &[], vec![]),
        node("b", &[], vec![]),
        node("c", &[], vec![]),
    ];
    let old = [
        pod("pa", "a", "old", true, 1),
        pod("pb", "b", "old", true, 1),
        pod("pc", "c", "old", true, 1),
    ];
    let p = run(&d, &nodes, &old, "new");
    assert_eq!(p.delete.len(), 1, "{p:?}");
    assert!(p.create_on.is_empty());
    // A new pod not yet available uses the budget: nothing more goes.
    let rolling = [
        pod("na", "a", "new", false, 5),
        pod("pb", "b", "old", true, 1),
        pod("pc", "c", "old", true, 1),
    ];
    assert!(run(&d, &nodes, &rolling, "new").delete.is_empty());
    // An unavailable old pod is replaced regardless of the budget.
    let broken = [
        pod("na", "a", "new", false, 5),
        pod("pb", "b", "old", false, 1),
        pod("pc", "c", "old", true, 1),
    ];
    assert_eq!(run(&d, &nodes, &broken, "new").delete, ["pb"]);
    // A percentage budget rounds up: 34% of 3 nodes is 2.
    let mut d2 = d.clone();
    d2.spec
        .as_mut()
        .unwrap()
        .update_strategy
        .as_mut()
        .unwrap()
        .rolling_update
        .as_mut()
        .unwrap()
        .max_unavailable = Some(IntOrString::String("34%".into()));
    assert_eq!(budgets(&d2, 3), (0, 2));
    assert_eq!(run(&d2, &nodes, &old, "new").delete.len(), 2);
    // OnDelete never replaces pods.
    let mut on_delete = d.clone();
    on_delete.spec.as_mut().unwrap().update_strategy = Some(DaemonSetUpdateStrategy {
        type_: Some("OnDelete".into()),
        rolling_update: None,
    });
    let p = run(&on_delete, &nodes, &old, "new");
    assert!(p.delete.is_empty() && p.create_on.is_empty());
}

#[test]
fn rolling_update_with_surge() {
    let d = with_surge(ds("x"), 1);
    let nodes = [node("a", &[], vec![]), node("b", &[], vec![])];
    let old = [
        pod("pa", "a", "old", true, 1),
        pod("pb", "b", "old", true, 1),
    ];
    let p = run(&d, &nodes, &old, "new");
    assert_eq!(p.create_on.len(), 1, "{p:?}");
    assert!(p.delete.is_empty());
    // The surged pod is not available yet: the old one stays, no second surge.
    let surging = [
        pod("pa", "a", "old", true, 1),
        pod("na", "a", "new", false, 5),
        pod("pb", "b", "old", true, 1),
    ];
    let p = run(&d, &nodes, &surging, "new");
    assert!(p.delete.is_empty() && p.create_on.is_empty(), "{p:?}");
    // Once it is available the old pod goes.
    let done = [
        pod("pa", "a", "old", true, 1),
        pod("na", "a", "new", true, 5),
        pod("pb", "b", "old", true, 1),
    ];
    let p = run(&d, &nodes, &done, "new");
    assert_eq!(p.delete, ["pa"]);
}

#[test]
fn status_counts_nodes() {
    let d = ds("x");
    let nodes = [
        node("a", &[], vec![]),
        node("b", &[], vec![]),
        node("c", &[], vec![taint("dedicated", "NoSchedule")]),
    ];
    let pods = [
        pod("pa", "a", "new", true, 1),
        pod("pb", "b", "old", false, 1),
        pod("pc", "c", "old", true, 1),
    ];
    let s = run(&d, &nodes, &pods, "new").status;
    assert_eq!(s.desired_number_scheduled, 2);
    assert_eq!(s.current_number_scheduled, 2);
    assert_eq!(s.number_ready, 1);
    assert_eq!(s.number_available, Some(1));
    assert_eq!(s.number_unavailable, Some(1));
    assert_eq!(s.updated_number_scheduled, Some(1));
    assert_eq!(s.number_misscheduled, 1);
    assert_eq!(s.observed_generation, Some(1));
}

#[test]
fn revisions_are_created_reused_and_pruned() {
    let d = ds("v1");
    let Current::Create(first) = revision::current(&d, &[]) else {
        panic!("no revision yet")
    };
    assert_eq!(first.revision, 1);
    let hash = revision::hash_of(&first);
    assert_eq!(
        first.metadata.name.as_deref(),
        Some(format!("agent-{hash}").as_str())
    );
    assert_eq!(first.metadata.labels.as_ref().unwrap()["app"], "agent");
    let mut revs: Vec<ControllerRevision> = vec![*first.clone()];
    assert_eq!(
        revision::current(&d, &revs),
        Current::Exists(first.metadata.name.clone().unwrap())
    );
    let d2 = ds("v2");
    let Current::Create(second) = revision::current(&d2, &revs) else {
        panic!("a new template gets a new revision")
    };
    assert_eq!(second.revision, 2);
    assert_ne!(revision::hash_of(&second), hash);
    revs.push(*second);
    // Back to v1 (a rollback): the old revision is renumbered.
    assert_eq!(
        revision::current(&d, &revs),
        Current::Bump {
            name: first.metadata.name.clone().unwrap(),
            revision: 3
        }
    );
    // History beyond the limit goes, oldest first, but not a revision a pod still runs.
    let mut d3 = ds("v3");
    d3.spec.as_mut().unwrap().revision_history_limit = Some(0);
    let live = pod("p", "a", &hash, true, 1);
    let pruned = revision::to_prune(&d3, &[&live], &revs, "current");
    assert_eq!(pruned, [revs[1].metadata.name.clone().unwrap()]);
}
