//! End-to-end on two simulated nodes (`ordo server` and `ordo agent`), with the real kubectl:
//! PodDisruptionBudgets, the eviction subresource and `kubectl drain`.
//!
//! A 3-replica StatefulSet guarded by `minAvailable: 2` runs on the server's node; `kubectl
//! drain` of that node evicts its pods one at a time (the others are refused with upstream's
//! 429 and retried by kubectl), each replacement comes up Ready on the other node before the
//! next pod goes, and the StatefulSet never has fewer than 2 Ready pods.

mod common;
use common::*;
use std::process::Command;

const WEB: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "nginx:1.25.4"}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
"#;

/// `(name, node, ready)` of the StatefulSet's pods.
fn web_pods(s: &Server) -> Vec<(String, String, bool)> {
    let out = s.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.conditions[?(@.type==\"Ready\")].status} {.metadata.deletionTimestamp}{\"\\n\"}{end}",
    ]);
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // A terminating pod is no longer counted as available.
            (f.len() == 3).then(|| (f[0].to_string(), f[1].to_string(), f[2] == "True"))
        })
        .collect()
}

fn ready_count(s: &Server) -> usize {
    web_pods(s).iter().filter(|p| p.2).count()
}

#[test]
fn drain_respects_the_disruption_budget() {
    let s = Server::start_with(&["--sim-start-delay-ms", "300"]);
    let data = tempfile::tempdir().unwrap();
    let mut node2 = sim_agent(&s, "node-2", "127.0.0.2", data.path());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&s)));
    let _ = node2.kill();
    let _ = node2.wait();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

fn scenario(s: &Server) {
    let first = server_node_beside_node2(s);
    // Every pod on the first node to begin with.
    s.ok(&["cordon", "node-2"]);
    s.apply(WEB);
    s.eventually(60, "3 Ready pods on the first node", || {
        let pods = web_pods(s);
        pods.len() == 3 && pods.iter().all(|p| p.2 && p.1 == first)
    });
    s.ok(&["uncordon", "node-2"]);

    // The budget's status, as `kubectl get pdb` shows it.
    s.eventually(30, "the budget to allow one disruption", || {
        let rows = table(&s.ok(&["get", "pdb", "web"]));
        rows.len() == 2 && rows[1][3] == "1"
    });
    let rows = table(&s.ok(&["get", "pdb"]));
    assert_eq!(
        rows[0],
        [
            "NAME",
            "MIN",
            "AVAILABLE",
            "MAX",
            "UNAVAILABLE",
            "ALLOWED",
            "DISRUPTIONS",
            "AGE"
        ]
    );
    assert_eq!(&rows[1][..4], ["web", "2", "N/A", "1"]);
    let status = s.ok(&[
        "get",
        "pdb",
        "web",
        "-o",
        "jsonpath={.status.currentHealthy}/{.status.desiredHealthy}/{.status.expectedPods}/{.status.conditions[0].reason}",
    ]);
    assert_eq!(status, "3/2/3/SufficientPods");

    // A pod made unready spends the budget: an eviction of a Ready pod is refused with 429.
    s.ok(&["annotate", "pod", "web-1", "sim.ordo.dev/ready=false"]);
    s.eventually(30, "no disruption allowed", || {
        s.ok(&[
            "get",
            "pdb",
            "web",
            "-o",
            "jsonpath={.status.disruptionsAllowed}",
        ]) == "0"
    });
    let body = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        body.path(),
        r#"{"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web-0"}}"#,
    )
    .unwrap();
    let refused = s.fails(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/pods/web-0/eviction",
        "-f",
        body.path().to_str().unwrap(),
    ]);
    assert!(
        refused.contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{refused}"
    );
    s.ok(&["annotate", "pod", "web-1", "sim.ordo.dev/ready-"]);
    s.eventually(30, "the budget back to one disruption", || {
        s.ok(&[
            "get",
            "pdb",
            "web",
            "-o",
            "jsonpath={.status.disruptionsAllowed}",
        ]) == "1"
    });

    // Drain the first node while watching the Ready count.
    let probe = ServerRef {
        kubeconfig: s.kubeconfig.clone(),
    };
    drain_within_budget(s, &first, 2, move || probe.ready());
    s.eventually(60, "3 Ready pods on node-2", || {
        let pods = web_pods(s);
        pods.len() == 3 && pods.iter().all(|p| p.2 && p.1 == "node-2")
    });
    assert_eq!(ready_count(s), 3);
    let unschedulable = s.ok(&[
        "get",
        "node",
        &first,
        "-o",
        "jsonpath={.spec.unschedulable}",
    ]);
    assert_eq!(unschedulable, "true");

    // kubectl's typed `create pdb` (a protobuf body).
    s.ok(&[
        "create",
        "pdb",
        "other",
        "--selector=app=other",
        "--max-unavailable=50%",
    ]);
    assert_eq!(
        s.ok(&[
            "get",
            "pdb",
            "other",
            "-o",
            "jsonpath={.spec.maxUnavailable}"
        ]),
        "50%"
    );
    let out = s.kubectl_stdin(
        &["create", "-f", "-"],
        Some("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: bad}\nspec: {minAvailable: 1, maxUnavailable: -1, selector: {}}\n"),
    );
    let refused = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        refused.contains("minAvailable and maxUnavailable cannot be both set")
            && refused.contains(
                "spec.maxUnavailable: Invalid value: -1: must be greater than or equal to 0"
            ),
        "{refused}"
    );
}

/// What the watcher thread needs of the server to run kubectl.
struct ServerRef {
    kubeconfig: std::path::PathBuf,
}

impl ServerRef {
    fn ready(&self) -> usize {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args([
                "get",
                "pods",
                "-l",
                "app=web",
                "-o",
                "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status} {.metadata.deletionTimestamp}{\"\\n\"}{end}",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.split_whitespace().collect::<Vec<_>>() == ["True"])
            .count()
    }
}
