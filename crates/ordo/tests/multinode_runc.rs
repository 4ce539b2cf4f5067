//! End-to-end with real pods on two "machines" (network namespaces on an underlay bridge, each
//! with its own `ordo agent` joined with the join token, see `common/netns.rs`): each node gets
//! a pod CIDR of its own from the server's node IPAM, pods reach pods of the other node by
//! their addresses through the agents' host-gateway routes, and a node that leaves takes its
//! route and its pod CIDR with it. Every node answers cluster DNS: a pod resolves the other
//! node's pod by name (headless Service) and reaches it through a ClusterIP Service.

mod common;
use common::netns::Cluster;
use common::real_pods::can_run;
use common::Server;

/// A busybox pod on `node` serving `text` over HTTP on port 8080.
fn web_pod(name: &str, node: &str, text: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: mn, who: {name}}}}}
spec:
  nodeName: {node}
  hostname: {name}
  subdomain: peers
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox:1.28
    command: [sh, -c, "mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 8080 -h /www"]
"#
    )
}

fn field(s: &Server, kind: &str, name: &str, path: &str) -> String {
    String::from_utf8_lossy(
        &s.kubectl(&["get", kind, name, "-o", &format!("jsonpath={{{path}}}")])
            .stdout,
    )
    .to_string()
}

fn within(ip: &str, cidr: &str) -> bool {
    let net = cidr.trim_end_matches(".0/24");
    ip.starts_with(&format!("{net}."))
}

#[test]
#[ignore = "needs root and runc"]
fn pods_on_two_nodes_reach_each_other_through_routes_to_allocated_pod_cidrs() {
    assert!(
        can_run(),
        "needs root and runc: run as root with --include-ignored"
    );
    // One real-pod test at a time on this host.
    let lock = std::fs::File::create("/tmp/ordo-real-pods.lock").unwrap();
    lock.lock().unwrap();
    let mut c = Cluster::start(2, &["busybox-1.28.tar"]);
    let s = &c.server;
    let (n1, n2) = (c.nodes[0].name.clone(), c.nodes[1].name.clone());
    let cidr1 = field(s, "node", &n1, ".spec.podCIDR");
    let cidr2 = field(s, "node", &n2, ".spec.podCIDR");
    let mut cidrs = [cidr1.clone(), cidr2.clone()];
    cidrs.sort();
    assert_eq!(
        cidrs,
        ["10.244.0.0/24", "10.244.1.0/24"],
        "{}",
        c.agent_logs()
    );
    assert_eq!(field(s, "node", &n1, ".spec.podCIDRs[0]"), cidr1);

    s.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: peers}\nspec: {clusterIP: None, selector: {app: mn}, ports: [{port: 8080}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-b}\nspec: {selector: {who: b}, ports: [{port: 80, targetPort: 8080}]}\n",
    );
    s.apply(&web_pod("a", &n1, "hello-from-a"));
    s.apply(&web_pod("b", &n2, "hello-from-b"));
    s.eventually(90, "pods a and b Running", || {
        field(s, "pod", "a", ".status.phase") == "Running"
            && field(s, "pod", "b", ".status.phase") == "Running"
    });
    let (ip_a, ip_b) = (
        field(s, "pod", "a", ".status.podIP"),
        field(s, "pod", "b", ".status.podIP"),
    );
    assert!(within(&ip_a, &cidr1), "pod a {ip_a} outside {cidr1}");
    assert!(within(&ip_b, &cidr2), "pod b {ip_b} outside {cidr2}");
    assert_eq!(field(s, "pod", "a", ".status.hostIP"), c.nodes[0].ip);

    // Each agent routes the other node's pod CIDR via that node's underlay address.
    let r1 = c.nodes[0].run(&["ip", "route", "show", "proto", "79"]);
    assert!(
        r1.contains(&format!("{cidr2} via {}", c.nodes[1].ip)),
        "routes of node 1: {r1}"
    );
    let r2 = c.nodes[1].run(&["ip", "route", "show", "proto", "79"]);
    assert!(
        r2.contains(&format!("{cidr1} via {}", c.nodes[0].ip)),
        "routes of node 2: {r2}"
    );

    // Pod to pod across the nodes, both ways, by pod IP (no NAT: the server sees the client).
    let get = |from: &str, ip: &str| {
        s.kubectl(&[
            "exec",
            from,
            "--",
            "timeout",
            "5",
            "wget",
            "-qO-",
            &format!("http://{ip}:8080/"),
        ])
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let ab = get("a", &ip_b);
        let ba = get("b", &ip_a);
        let out = |o: &std::process::Output| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        };
        if String::from_utf8_lossy(&ab.stdout).trim() == "hello-from-b"
            && String::from_utf8_lossy(&ba.stdout).trim() == "hello-from-a"
        {
            break;
        }
        if std::time::Instant::now() > deadline {
            let state: Vec<String> = c
                .nodes
                .iter()
                .map(|m| {
                    format!(
                        "{}: {}{}{}",
                        m.name,
                        m.run(&["ip", "route"]),
                        m.run(&["ip", "addr"]),
                        m.run(&["nft", "list", "ruleset"])
                    )
                })
                .collect();
            panic!(
                "pods do not reach each other: a->b: {}; b->a: {}\n{}",
                out(&ab),
                out(&ba),
                state.join("\n")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    // Cluster DNS on each node: the other node's pod by name (headless Service), and a
    // ClusterIP Service whose only endpoint is on the other node.
    let fetch = |from: &str, url: &str| {
        let o = s.kubectl(&["exec", from, "--", "timeout", "5", "wget", "-qO-", url]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let by_name = fetch("a", "http://b.peers:8080/");
        let back = fetch("b", "http://a.peers:8080/");
        let by_service = fetch("a", "http://svc-b/");
        if by_name.trim() == "hello-from-b"
            && back.trim() == "hello-from-a"
            && by_service.trim() == "hello-from-b"
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "by name: {by_name}; back: {back}; by service: {by_service}\n{}",
            c.agent_logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    // Node 2 leaves: its pod goes, its agent stops, its Node is deleted. Node 1's route to
    // it goes, and its pod CIDR is free again (a new node gets it).
    s.ok(&["delete", "pod", "b", "--wait=true", "--timeout=60s"]);
    c.nodes[1].stop_agent();
    let s = &c.server;
    s.ok(&["delete", "node", &n2]);
    s.eventually(40, "node 1's route to node 2's pods removed", || {
        !c.nodes[0]
            .run(&["ip", "route", "show", "proto", "79"])
            .contains(&cidr2)
    });
    s.apply("apiVersion: v1\nkind: Node\nmetadata: {name: mn-extra}\n");
    s.eventually(20, "the new node to get the freed pod CIDR", || {
        field(s, "node", "mn-extra", ".spec.podCIDR") == cidr2
    });
    s.ok(&["delete", "node", "mn-extra"]);
    s.ok(&["delete", "pod", "a", "--wait=true", "--timeout=60s"]);
    // The agent on node 1 removed its pod network once its last pod went.
    s.eventually(20, "node 1's pod bridge removed", || {
        !c.nodes[0].run(&["ip", "link"]).contains(&c.nodes[0].bridge)
    });
    drop(c);
    for i in 1..=2 {
        assert!(
            !std::path::Path::new(&format!("/run/netns/ordomn-{i}")).exists(),
            "namespace ordomn-{i} left behind"
        );
    }
    assert!(!std::path::Path::new("/sys/class/net/ordomn0").exists());
}
