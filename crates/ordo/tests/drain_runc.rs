//! End-to-end with real containers: `kubectl drain` of a node running real pods. A 3-replica
//! StatefulSet of busybox pods guarded by `minAvailable: 2` runs on the server's runc node; a
//! second (simulated) node takes the pods over. The drain evicts the real pods one at a time
//! (the budget holds the others back with upstream's 429), never leaving fewer than 2 Ready, and
//! the drained node is left with no container, network namespace or pod directory.
//!
//! Needs root and runc; runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::{drain_within_budget, sim_agent, Server};
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
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: "busybox:1.28"
        command: [sh, -c, "touch /tmp/ready; exec sleep 3600"]
        readinessProbe:
          exec: {command: [cat, /tmp/ready]}
          periodSeconds: 1
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
"#;

/// `(node, ready)` of the StatefulSet's pods that are not terminating.
fn web_pods(kubeconfig: &std::path::Path) -> Vec<(String, bool)> {
    let out = Command::new("/usr/bin/kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={range .items[*]}{.spec.nodeName} {.status.conditions[?(@.type==\"Ready\")].status} {.metadata.deletionTimestamp}{\"\\n\"}{end}",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 2).then(|| (f[0].to_string(), f[1] == "True"))
        })
        .collect()
}

#[test]
#[ignore = "needs root and runc"]
fn drain_moves_real_pods_within_their_budget() {
    let Some((data, _lock)) = with_real_pods_importing(&["busybox-1.28.tar"], &[], |server| {
        let s = server.as_ref().unwrap();
        let agent_data = tempfile::tempdir().unwrap();
        let mut node2 = sim_agent(s, "node-2", "127.0.0.2", agent_data.path());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(s)));
        let _ = node2.kill();
        let _ = node2.wait();
        if let Err(p) = r {
            std::panic::resume_unwind(p);
        }
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn scenario(s: &Server) {
    let first = common::server_node_beside_node2(s);
    // All three real pods on the runc node first.
    s.ok(&["cordon", "node-2"]);
    s.apply(WEB);
    s.eventually(120, "3 Ready real pods", || {
        let pods = web_pods(&s.kubeconfig);
        pods.len() == 3 && pods.iter().all(|p| p.1 && p.0 == first)
    });
    s.eventually(30, "the budget to allow one disruption", || {
        s.ok(&[
            "get",
            "pdb",
            "web",
            "-o",
            "jsonpath={.status.disruptionsAllowed}",
        ]) == "1"
    });
    s.ok(&["uncordon", "node-2"]);
    let kubeconfig = s.kubeconfig.clone();
    drain_within_budget(s, &first, 2, move || {
        web_pods(&kubeconfig).iter().filter(|p| p.1).count()
    });
    s.eventually(60, "3 Ready pods on node-2", || {
        let pods = web_pods(&s.kubeconfig);
        pods.len() == 3 && pods.iter().all(|p| p.1 && p.0 == "node-2")
    });
    // The drained node stopped its containers and cleaned up after them.
    node_clean(s);
    s.ok(&["delete", "statefulset", "web", "--wait=false"]);
    s.ok(&["delete", "pdb", "web"]);
    s.eventually(60, "the pods to go", || web_pods(&s.kubeconfig).is_empty());
}
