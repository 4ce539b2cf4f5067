//! End-to-end, real pods: NetworkPolicies enforced by the node's nftables table, as upstream's
//! e2e `network_policy` behaviours describe them. A server pod listens on 80 (`http`) and 8080;
//! clients in its namespace and in another one connect to it:
//!
//! - without policies everyone connects; `kubectl get networkpolicy` prints upstream's columns;
//! - a default-deny ingress policy cuts every client off (the node itself still connects);
//! - a policy allowing pods labelled `role=client` on the named port `http` lets that client
//!   in on 80 only;
//! - a policy allowing a namespace (by its labels) lets that namespace's pod in;
//! - a default-deny egress policy on the client cuts it off although ingress allows it;
//! - deleting the policies opens everything again.
//!
//! Traffic goes only to pod IPs. Needs root, runc and nft; one real-pod test at a time.

mod common;
use common::real_pods::{leftovers, with_real_pods, BRIDGE};
use common::Server;
use std::process::Command;

const PODS: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: server, labels: {app: server}}
spec:
  containers:
  - name: httpd
    image: busybox:1.28
    command: [sh, -c, "mkdir -p /www && echo hello > /www/index.html && httpd -p 80 -h /www && exec httpd -f -p 8080 -h /www"]
    ports: [{containerPort: 80, name: http}, {containerPort: 8080, name: alt}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {role: client}}
spec:
  containers: [{name: c, image: "busybox:1.28", command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: other, labels: {role: other}}
spec:
  containers: [{name: c, image: "busybox:1.28", command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Namespace
metadata: {name: trusted, labels: {team: a}}
"#;

const FRIEND: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: friend, namespace: trusted, labels: {role: other}}
spec:
  containers: [{name: c, image: "busybox:1.28", command: [sleep, "3600"]}]
"#;

const DENY_INGRESS: &str = r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"#;

const ALLOW_CLIENT: &str = r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: http}]
"#;

const ALLOW_TRUSTED: &str = r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-trusted}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: a}}}]
    ports: [{port: 8000, endPort: 8100}]
"#;

const DENY_CLIENT_EGRESS: &str = r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-no-egress}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
"#;

/// Whether `pod` (in `ns`) fetches `http://ip:port/` within 2 s.
fn connects(s: &Server, ns: &str, pod: &str, ip: &str, port: u16) -> bool {
    let url = format!("http://{ip}:{port}/");
    let out = s.kubectl(&[
        "exec", "-n", ns, pod, "--", "timeout", "2", "wget", "-qO-", &url,
    ]);
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("hello")
}

/// Waits until each `(ns, pod, port, allowed)` holds (policies apply within moments).
fn expect(s: &Server, ip: &str, what: &str, cases: &[(&str, &str, u16, bool)]) {
    s.eventually(30, what, || {
        cases
            .iter()
            .all(|(ns, pod, port, allowed)| connects(s, ns, pod, ip, *port) == *allowed)
    });
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn network_policies_allow_only_what_they_name() {
    let Some((data, _lock)) = with_real_pods(&[], |server| scenario(server.as_ref().unwrap()))
    else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn scenario(s: &Server) {
    s.eventually(30, "the node", || {
        s.ok(&["get", "nodes", "-o", "name"]).starts_with("node/")
    });
    s.apply(PODS);
    s.eventually(30, "the trusted namespace's ServiceAccount", || {
        s.kubectl(&["get", "sa", "default", "-n", "trusted"])
            .status
            .success()
    });
    s.apply(FRIEND);
    s.eventually(90, "four Running pods", || {
        let phases = s.ok(&[
            "get",
            "pods",
            "-A",
            "-o",
            "jsonpath={.items[*].status.phase}",
        ]);
        phases
            .split_whitespace()
            .filter(|p| *p == "Running")
            .count()
            == 4
    });
    let ip = s.ok(&["get", "pod", "server", "-o", "jsonpath={.status.podIP}"]);
    assert!(ip.starts_with("10.244."), "{ip}");

    expect(
        s,
        &ip,
        "everyone connecting without policies",
        &[
            ("default", "client", 80, true),
            ("default", "client", 8080, true),
            ("default", "other", 80, true),
            ("trusted", "friend", 8080, true),
        ],
    );

    s.apply(DENY_INGRESS);
    let table = s.ok(&["get", "networkpolicy"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "POD-SELECTOR", "AGE"], "{table}");
    assert!(table.contains("default-deny   <none>"), "{table}");
    expect(
        s,
        &ip,
        "default-deny cutting every client off",
        &[
            ("default", "client", 80, false),
            ("default", "other", 80, false),
            ("trusted", "friend", 8080, false),
        ],
    );
    // The node reaches its pods whatever the policies say.
    let host = Command::new("curl")
        .args(["-sS", "--max-time", "3", &format!("http://{ip}/")])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&host.stdout).contains("hello"),
        "the node is cut off: {}",
        String::from_utf8_lossy(&host.stderr)
    );

    s.apply(ALLOW_CLIENT);
    assert!(s
        .ok(&["get", "networkpolicy", "allow-client"])
        .contains("app=server"));
    expect(
        s,
        &ip,
        "the client allowed on the named port only",
        &[
            ("default", "client", 80, true),
            ("default", "client", 8080, false),
            ("default", "other", 80, false),
        ],
    );

    s.apply(ALLOW_TRUSTED);
    expect(
        s,
        &ip,
        "the trusted namespace allowed on 8000-8100",
        &[
            ("trusted", "friend", 8080, true),
            ("trusted", "friend", 80, false),
            ("default", "other", 8080, false),
        ],
    );

    s.apply(DENY_CLIENT_EGRESS);
    expect(
        s,
        &ip,
        "the client's egress denied",
        &[
            ("default", "client", 80, false),
            ("trusted", "friend", 8080, true),
        ],
    );
    let counters = Command::new("nft")
        .args(["list", "table", "ip", BRIDGE])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&counters.stdout);
    assert!(
        text.contains("chain policy-egress-default/client"),
        "{text}"
    );

    s.ok(&["delete", "networkpolicy", "--all"]);
    expect(
        s,
        &ip,
        "everyone connecting again",
        &[
            ("default", "client", 80, true),
            ("default", "other", 8080, true),
            ("trusted", "friend", 80, true),
        ],
    );
    s.ok(&["delete", "pod", "--all", "--grace-period=1"]);
    s.ok(&["delete", "namespace", "trusted", "--wait=true"]);
}
