//! End-to-end with a real container: a DaemonSet runs a busybox pod on the local node, which
//! becomes Ready, and the DaemonSet's status and `kubectl rollout status` say so; deleting the
//! DaemonSet removes its pod.
//!
//! Needs root and runc; runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::{table, Server};

const AGENT: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: "busybox:1.28"
        command: [sh, -c, "touch /tmp/ready; exec sleep 3600"]
        readinessProbe:
          exec: {command: [cat, /tmp/ready]}
          periodSeconds: 1
"#;

#[test]
#[ignore = "needs root and runc"]
fn busybox_daemonset_becomes_ready() {
    busybox_scenario(scenario);
}

fn scenario(s: &Server) {
    let node = node_name(s);
    s.apply(AGENT);
    let out = s.ok(&["rollout", "status", "ds/agent", "--timeout=120s"]);
    assert!(
        out.contains("daemon set \"agent\" successfully rolled out"),
        "{out}"
    );
    let rows = table(&s.ok(&["get", "ds", "agent"]));
    assert_eq!(rows[1][..6], ["agent", "1", "1", "1", "1", "1"]);
    let pod = s.ok(&[
        "get",
        "pods",
        "-l",
        "app=agent",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    assert_eq!(pod_field(s, &pod, ".spec.nodeName"), node);
    assert_eq!(pod_field(s, &pod, ".status.phase"), "Running");
    assert_eq!(
        pod_field(s, &pod, ".status.containerStatuses[0].ready"),
        "true"
    );
    let out = s.ok(&["exec", &pod, "--", "cat", "/tmp/ready"]);
    assert_eq!(out, "");
    // The pods go with their DaemonSet (before the harness checks the node is clean).
    s.ok(&["delete", "ds", "agent"]);
    s.eventually(60, "the daemon pod to go", || {
        s.ok(&["get", "pods", "-o", "name"]).is_empty()
    });
}
