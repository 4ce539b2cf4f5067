//! End-to-end: what happens when a node stops reporting, with the real kubectl and a second
//! simulated node (`ordo agent --runtime sim`) that the test kills. Its conditions turn
//! `Unknown` with upstream's texts after the grace period (shortened here with
//! kube-controller-manager's own `--node-monitor-grace-period`), it is tainted unreachable,
//! Deployment pods are evicted once their tolerations run out and replaced on the other node;
//! pods get the API server's default 300 s tolerations; the taints go when the node returns;
//! the out-of-service taint has a dead node's pods force-deleted; pods bound to a deleted node
//! are garbage collected.

mod common;
use common::*;
use std::process::Child;

const WEB: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 3}
      containers: [{name: c, image: nginx}]
---
apiVersion: v1
kind: Pod
metadata: {name: plain}
spec:
  nodeName: node-2
  containers: [{name: c, image: nginx}]
"#;

/// `spec.nodeName` of every pod of `selector` that is not terminating, and of those that are.
fn placement(s: &Server, selector: &str) -> (Vec<String>, Vec<String>) {
    let out = s.ok(&[
        "get",
        "pods",
        "-l",
        selector,
        "-o",
        "jsonpath={range .items[*]}{.spec.nodeName} {.metadata.deletionTimestamp}{\"\\n\"}{end}",
    ]);
    let (mut live, mut terminating) = (Vec::new(), Vec::new());
    for l in out.lines() {
        let mut f = l.split_whitespace();
        let node = f.next().unwrap_or_default().to_string();
        match f.next() {
            Some(_) => terminating.push(node),
            None => live.push(node),
        }
    }
    (live, terminating)
}

fn node_ready(s: &Server, node: &str) -> String {
    s.ok(&[
        "get",
        "node",
        node,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ])
}

fn taints(s: &Server, node: &str) -> String {
    s.ok(&[
        "get",
        "node",
        node,
        "-o",
        "jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}",
    ])
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_node_that_stops_reporting_is_tainted_and_its_pods_evicted() {
    let s = Server::start_with(&[
        // More than the 10 s between a node's Lease renewals, as upstream requires.
        "--node-monitor-grace-period",
        "16s",
        "--node-monitor-period",
        "1s",
    ]);
    let data = tempfile::tempdir().unwrap();
    let mut agent = Agent(sim_agent(&s, "node-2", "127.0.0.2", data.path()));
    let me = server_node_beside_node2(&s);
    // Everything on node-2 first.
    s.ok(&["cordon", &me]);
    s.apply(WEB);
    s.eventually(30, "web and plain Running on node-2", || {
        s.ok(&["get", "pods", "--no-headers"])
            .lines()
            .filter(|l| l.contains(" Running "))
            .count()
            == 3
    });
    assert_eq!(placement(&s, "app=web").0, ["node-2", "node-2"]);
    s.ok(&["uncordon", &me]);
    // DefaultTolerationSeconds: the plain pod tolerates both taints for 300 s; the
    // Deployment's own toleration of unreachable is kept and only not-ready is added.
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            "plain",
            "-o",
            "jsonpath={range .spec.tolerations[*]}{.key}:{.effect}:{.tolerationSeconds} {end}"
        ]),
        "node.kubernetes.io/not-ready:NoExecute:300 node.kubernetes.io/unreachable:NoExecute:300 "
    );
    let web_pod = s.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            &web_pod,
            "-o",
            "jsonpath={range .spec.tolerations[*]}{.key}:{.tolerationSeconds} {end}"
        ]),
        "node.kubernetes.io/unreachable:3 node.kubernetes.io/not-ready:300 "
    );

    // The machine dies.
    drop(agent);
    s.eventually(30, "node-2 Unknown", || {
        node_ready(&s, "node-2") == "Unknown"
    });
    assert_eq!(
        s.ok(&[
            "get",
            "node",
            "node-2",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}|{.status.conditions[?(@.type==\"Ready\")].message}",
        ]),
        "NodeStatusUnknown|Kubelet stopped posting node status."
    );
    let nodes = s.ok(&["get", "nodes"]);
    let row = nodes.lines().find(|l| l.starts_with("node-2 ")).unwrap();
    assert_eq!(row.split_whitespace().nth(1), Some("NotReady"), "{nodes}");
    s.eventually(10, "the unreachable taints", || {
        taints(&s, "node-2")
            == "node.kubernetes.io/unreachable:NoSchedule node.kubernetes.io/unreachable:NoExecute "
    });
    assert!(s
        .ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=node-2",
            "-o",
            "jsonpath={range .items[*]}{.reason}|{.message}{\"\\n\"}{end}"
        ])
        .contains("NodeNotReady|Node node-2 status is now: NodeNotReady"));
    // The Deployment's pods go after their 3 s and are replaced on the live node; with no
    // kubelet to confirm, the old ones stay Terminating (as upstream).
    s.eventually(30, "web replaced on the server's node", || {
        let (live, terminating) = placement(&s, "app=web");
        live == [me.clone(), me.clone()] && terminating.len() == 2
    });
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name={web_pod}"),
        "-o",
        "jsonpath={range .items[*]}{.reason}|{.message}|{.source.component}{\"\\n\"}{end}",
    ]);
    assert!(
        events.contains(&format!(
            "TaintManagerEviction|Marking for deletion Pod default/{web_pod}|taint-eviction-controller"
        )),
        "{events}"
    );
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            &web_pod,
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"DisruptionTarget\")].reason}"
        ]),
        "DeletionByTaintManager"
    );
    // The plain pod tolerates the node for 300 s: not deleted, but no longer ready.
    assert_eq!(
        s.ok(&["get", "pod", "plain", "-o", "jsonpath={.metadata.deletionTimestamp}|{.status.conditions[?(@.type==\"Ready\")].status}"]),
        "|False"
    );

    // The machine comes back: Ready, untainted; it finishes the deletions it missed.
    agent = Agent(sim_agent(&s, "node-2", "127.0.0.2", data.path()));
    s.eventually(30, "node-2 Ready again", || {
        node_ready(&s, "node-2") == "True"
    });
    s.eventually(10, "no taints on node-2", || {
        taints(&s, "node-2").is_empty()
    });
    s.eventually(30, "the old web pods gone", || {
        placement(&s, "app=web") == (vec![me.clone(), me.clone()], vec![])
    });

    // It dies again, and an administrator declares it shut down: its pods are evicted at once
    // (they do not tolerate out-of-service) and force-deleted.
    drop(agent);
    s.eventually(30, "node-2 Unknown again", || {
        node_ready(&s, "node-2") == "Unknown"
    });
    s.ok(&[
        "taint",
        "node",
        "node-2",
        "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute",
    ]);
    s.eventually(20, "plain force-deleted", || {
        !s.kubectl(&["get", "pod", "plain"]).status.success()
    });

    // Pods bound to a node that no longer exists are collected (after 40 s of quarantine).
    s.ok(&["delete", "node", "node-2"]);
    s.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: orphan}\nspec:\n  nodeName: node-2\n  containers: [{name: c, image: nginx}]\n");
    s.eventually(70, "the orphan collected", || {
        !s.kubectl(&["get", "pod", "orphan"]).status.success()
    });
}
