//! End-to-end: after start-up the controllers, the scheduler, the DNS, the proxy and the node
//! agent read the shared caches and send no LIST, however large the rollout. Counted from the
//! API server's own request metrics (`apiserver_request_total{verb="LIST"}` at `/metrics`),
//! with the real kubectl, on a simulated node.
//!
//! Between the two readings the test itself only GETs, POSTs and PATCHes (`kubectl apply`,
//! `kubectl patch`, `kubectl get NAME`), so every LIST counted would be a controller's.

mod common;
use common::Server;
use std::collections::BTreeMap;

/// `apiserver_request_total` summed by verb.
fn requests_by_verb(s: &Server) -> BTreeMap<String, u64> {
    let text = s.ok(&["get", "--raw", "/metrics"]);
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let verb = rest
            .split(',')
            .find_map(|kv| kv.strip_prefix("verb=\""))
            .and_then(|v| v.strip_suffix('"'))
            .expect("a verb label")
            .to_string();
        let n: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("a count");
        *out.entry(verb).or_insert(0) += n as u64;
    }
    out
}

fn lists(s: &Server) -> u64 {
    requests_by_verb(s).get("LIST").copied().unwrap_or(0)
}

fn field(s: &Server, what: &str, path: &str) -> String {
    s.ok(&["get", what, "-o", &format!("jsonpath={{{path}}}")])
}

const DEPLOY: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1000
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "nginx:1"}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 200
  podManagementPolicy: Parallel
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: c, image: "postgres:16"}]
"#;

#[test]
fn controllers_send_no_list_during_a_rollout_of_1200_pods() {
    let s = Server::start();
    s.eventually(30, "the node to be Ready", || {
        s.ok(&["get", "nodes"]).contains(" Ready ")
    });
    // Start-up: every cache lists once (the garbage collector's after discovery).
    std::thread::sleep(std::time::Duration::from_secs(3));
    let before = requests_by_verb(&s);
    assert!(
        before.get("LIST").copied().unwrap_or(0) > 0,
        "the caches' start-up LISTs are counted: {before:?}"
    );

    s.apply(DEPLOY);
    s.eventually(180, "1000 available replicas", || {
        field(&s, "deploy/web", ".status.availableReplicas") == "1000"
    });
    s.eventually(120, "200 ready StatefulSet replicas", || {
        field(&s, "sts/db", ".status.readyReplicas") == "200"
    });
    // A rollout of both.
    s.ok(&[
        "patch",
        "deploy/web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"nginx:2"}]}}}}"#,
    ]);
    s.ok(&[
        "patch",
        "sts/db",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"postgres:17"}]}}}}"#,
    ]);
    s.eventually(300, "the Deployment rollout to finish", || {
        field(&s, "deploy/web", ".status.updatedReplicas") == "1000"
            && field(&s, "deploy/web", ".status.availableReplicas") == "1000"
            && field(&s, "deploy/web", ".status.replicas") == "1000"
    });
    s.eventually(300, "the StatefulSet rollout to finish", || {
        let (cur, upd) = (
            field(&s, "sts/db", ".status.currentRevision"),
            field(&s, "sts/db", ".status.updateRevision"),
        );
        cur == upd && field(&s, "sts/db", ".status.readyReplicas") == "200"
    });
    let after = requests_by_verb(&s);
    eprintln!("requests by verb before: {before:?}\nafter: {after:?}");
    assert_eq!(
        after.get("LIST"),
        before.get("LIST"),
        "LIST requests during the rollout (before {before:?}, after {after:?})"
    );
    assert!(
        after.get("POST").copied().unwrap_or(0) >= 2400,
        "the rollout created pods: {after:?}"
    );
    // The count is live: a LIST now is seen.
    let n = lists(&s);
    s.ok(&["get", "pods", "-l", "app=db"]);
    assert!(lists(&s) > n, "a kubectl LIST is counted");
}
