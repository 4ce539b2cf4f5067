//! End-to-end: the node agent with the simulated runtime and the scheduler, driven by the
//! real kubectl: node registration and lease, a bare pod through ContainerCreating to
//! Running/Ready, its events, graceful deletion, and unschedulable pods.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// The node's name: the server defaults it to the host name.
fn node_name(s: &Server) -> String {
    s.ok(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"])
}

#[test]
fn node_registers_ready_with_lease() {
    let s = Server::start_with(&["--sim-start-delay-ms", "200"]);
    let mut rows = Vec::new();
    s.eventually(10, "the node to be Ready", || {
        rows = table(&s.ok(&["get", "nodes"]));
        rows.len() == 2 && rows[1][1] == "Ready"
    });
    assert_eq!(rows[0], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    assert_eq!(rows[1][2], "control-plane");
    assert_eq!(rows[1][4], "v1.33.0");
    let node = rows[1][0].clone();
    let wide = table(&s.ok(&["get", "nodes", "-o", "wide"]));
    assert_eq!(wide[1][5], "127.0.0.1", "INTERNAL-IP in {wide:?}");
    assert!(
        wide[1].last().unwrap().starts_with("sim://"),
        "CONTAINER-RUNTIME in {wide:?}"
    );
    let describe = s.ok(&["describe", "node", &node]);
    for want in [
        "Roles:              control-plane",
        "KubeletReady",
        "kubelet is posting ready status",
        "Kubelet Version:            v1.33.0",
        "HolderIdentity:  ",
        "PodCIDR:",
        "Starting kubelet.",
    ] {
        assert!(
            describe.contains(want),
            "describe node lacks {want:?}:\n{describe}"
        );
    }
    let leases = table(&s.ok(&["get", "lease", "-n", "kube-node-lease"]));
    assert_eq!(leases[0], ["NAME", "HOLDER", "AGE"]);
    assert!(
        leases.iter().any(|r| r[0] == node && r[1] == node),
        "lease of {node} in {leases:?}"
    );
}

#[test]
fn bare_pod_runs_becomes_ready_and_is_deleted() {
    let s = Server::start_with(&["--sim-start-delay-ms", "200"]);
    s.eventually(10, "a node", || s.ok(&["get", "nodes"]).contains(" Ready "));
    let node = node_name(&s);
    // Watch the pod list while the pod starts: ContainerCreating first (the simulated start
    // takes 200 ms), then Running.
    let cache = tempfile::tempdir().unwrap();
    let mut watch = std::process::Command::new(&s.kubectl_bin)
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .arg("--cache-dir")
        .arg(cache.path())
        .args(["get", "pods", "-w"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        s.ok(&["run", "web", "--image=nginx:1.25.4"]),
        "pod/web created\n"
    );
    let mut last = Vec::new();
    s.eventually(10, "web to be Running", || {
        last = table(&s.ok(&["get", "pods", "web", "--no-headers"])).remove(0);
        last[1] == "1/1" && last[2] == "Running"
    });
    assert_eq!(last[3], "0", "restarts in {last:?}");
    std::thread::sleep(Duration::from_millis(500));
    let _ = watch.kill();
    let out = watch.wait_with_output().unwrap();
    let rows = table(&String::from_utf8_lossy(&out.stdout));
    assert!(
        rows.iter()
            .any(|r| r[0] == "web" && r[1] == "0/1" && r[2] == "ContainerCreating"),
        "no 0/1 ContainerCreating in {rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r[0] == "web" && r[1] == "1/1" && r[2] == "Running"),
        "no 1/1 Running in {rows:?}"
    );
    let wide = table(&s.ok(&["get", "pods", "-o", "wide"]));
    assert_eq!(wide[0][5..7], ["IP", "NODE"]);
    assert!(wide[1][5].starts_with("10.244.0."), "pod IP in {wide:?}");
    assert_eq!(wide[1][6], node);
    assert_eq!(
        s.ok(&["wait", "--for=condition=Ready", "pod/web", "--timeout=20s"]),
        "pod/web condition met\n"
    );
    let status = s.ok(&["get", "pod", "web", "-o", "jsonpath={.status.phase} {.status.hostIP} {.status.containerStatuses[0].ready} {.status.containerStatuses[0].containerID}"]);
    assert!(
        status.starts_with("Running 127.0.0.1 true sim://"),
        "{status}"
    );
    // Events from the scheduler and the kubelet.
    s.eventually(10, "the pod's events", || {
        let ev = s.ok(&["get", "events"]);
        ["Scheduled", "Pulled", "Created", "Started"]
            .iter()
            .all(|r| ev.contains(r))
    });
    let ev = s.ok(&["get", "events"]);
    assert!(
        ev.contains(&format!("Successfully assigned default/web to {node}")),
        "{ev}"
    );
    assert!(
        ev.contains("Container image \"nginx:1.25.4\" already present on machine"),
        "{ev}"
    );
    assert!(ev.contains("Created container: web"), "{ev}");
    assert!(ev.contains("Started container web"), "{ev}");
    let describe = s.ok(&["describe", "pod", "web"]);
    assert!(
        describe.contains("default-scheduler  Successfully assigned default/web"),
        "{describe}"
    );
    // Graceful deletion completes promptly (not after the 30 s grace period).
    let t = Instant::now();
    assert_eq!(s.ok(&["delete", "pod", "web"]), "pod \"web\" deleted\n");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "delete took {:?}",
        t.elapsed()
    );
    assert_eq!(
        String::from_utf8_lossy(&s.kubectl(&["get", "pods"]).stderr),
        "No resources found in default namespace.\n"
    );
    s.eventually(10, "the Killing event", || {
        s.ok(&["get", "events"]).contains("Stopping container web")
    });
}

#[test]
fn unschedulable_pod_waits_then_schedules() {
    let s = Server::start();
    s.eventually(10, "a node", || s.ok(&["get", "nodes"]).contains(" Ready "));
    let node = node_name(&s);
    s.apply(
        r#"apiVersion: v1
kind: Pod
metadata: {name: picky}
spec:
  nodeSelector: {disk: ssd}
  containers: [{name: c, image: "nginx:1.25.4"}]
"#,
    );
    s.eventually(10, "FailedScheduling", || {
        let d = s.ok(&["describe", "pod", "picky"]);
        d.contains("FailedScheduling")
            && d.contains(
                "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
            )
    });
    let cond = s.ok(&["get", "pod", "picky", "-o", "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].status} {.status.conditions[?(@.type==\"PodScheduled\")].reason}"]);
    assert_eq!(cond, "False Unschedulable");
    assert_eq!(table(&s.ok(&["get", "pods"]))[1][2], "Pending");
    s.ok(&["label", "node", &node, "disk=ssd"]);
    s.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/picky",
        "--timeout=20s",
    ]);
    assert_eq!(
        s.ok(&["get", "pod", "picky", "-o", "jsonpath={.spec.nodeName}"]),
        node
    );
}

#[test]
fn many_pods_get_distinct_addresses() {
    let s = Server::start();
    s.eventually(10, "a node", || s.ok(&["get", "nodes"]).contains(" Ready "));
    let items: Vec<String> = (0..50).map(|i| format!(r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p{i}","labels":{{"app":"bulk"}}}},"spec":{{"containers":[{{"name":"c","image":"nginx:1.25.4"}}]}}}}"#)).collect();
    let list = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
        items.join(",")
    );
    let out = s.kubectl_stdin(&["create", "--validate=false", "-f", "-"], Some(&list));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.eventually(30, "50 running pods", || {
        s.ok(&["get", "pods", "-l", "app=bulk", "--no-headers"])
            .lines()
            .filter(|l| l.contains(" 1/1 ") && l.contains("Running"))
            .count()
            == 50
    });
    let ips = s.ok(&[
        "get",
        "pods",
        "-l",
        "app=bulk",
        "-o",
        "jsonpath={.items[*].status.podIP}",
    ]);
    let mut ips: Vec<&str> = ips.split_whitespace().collect();
    assert_eq!(ips.len(), 50);
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 50, "pod IPs are not distinct");
}

#[test]
fn pods_keep_their_addresses_across_a_restart() {
    let s = Server::start_with(&["--node-name", "node-1"]);
    s.eventually(10, "a node", || s.ok(&["get", "nodes"]).contains(" Ready "));
    s.ok(&["run", "keep", "--image=nginx:1.25.4"]);
    s.ok(&["wait", "--for=condition=Ready", "pod/keep", "--timeout=20s"]);
    let before = s.ok(&[
        "get",
        "pod",
        "keep",
        "-o",
        "jsonpath={.status.podIP} {.status.containerStatuses[0].containerID}",
    ]);
    let dir = s.kill9();
    let s2 = Server::start_in(dir, &["--node-name", "node-1"]);
    s2.eventually(10, "a node", || {
        s2.ok(&["get", "nodes"]).contains(" Ready ")
    });
    s2.ok(&["run", "fresh", "--image=nginx:1.25.4"]);
    s2.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/fresh",
        "--timeout=20s",
    ]);
    let after = s2.ok(&[
        "get",
        "pod",
        "keep",
        "-o",
        "jsonpath={.status.podIP} {.status.containerStatuses[0].containerID}",
    ]);
    assert_eq!(before, after);
    let fresh = s2.ok(&["get", "pod", "fresh", "-o", "jsonpath={.status.podIP}"]);
    assert_ne!(
        fresh,
        before.split_whitespace().next().unwrap(),
        "the new pod got the adopted pod's address"
    );
    assert_eq!(s2.ok(&["delete", "pod", "keep"]), "pod \"keep\" deleted\n");
}

/// `ordo agent` joins a second node to a running server; the scheduler spreads pods over both.
#[test]
fn a_second_node_joins_with_ordo_agent() {
    let s = Server::start_with(&["--sim-start-delay-ms", "100"]);
    let data = tempfile::tempdir().unwrap();
    let pki = s.data_dir().join("pki");
    let mut agent = std::process::Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args([
            "agent",
            "--server",
            &format!("https://127.0.0.1:{}", s.port),
            "--runtime",
            "sim",
            "--node-name",
            "node-2",
            "--node-ip",
            "127.0.0.2",
        ])
        .arg("--token-file")
        .arg(pki.join("token"))
        .arg("--ca-file")
        .arg(pki.join("ca.crt"))
        .arg("--data-dir")
        .arg(data.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.eventually(30, "two Ready nodes", || {
            let out = s.ok(&["get", "nodes", "--no-headers"]);
            out.lines()
                .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
                .count()
                == 2
        });
        s.apply("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: spread}\nspec:\n  replicas: 6\n  selector: {matchLabels: {app: spread}}\n  template:\n    metadata: {labels: {app: spread}}\n    spec: {containers: [{name: c, image: nginx:1.25.4}]}\n");
        s.eventually(30, "6 running pods on two nodes", || {
            let out = s.ok(&[
                "get",
                "pods",
                "-l",
                "app=spread",
                "-o",
                "jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{\"\\n\"}{end}",
            ]);
            let running: Vec<&str> = out.lines().filter(|l| l.ends_with(" Running")).collect();
            let nodes: std::collections::HashSet<&str> = running
                .iter()
                .filter_map(|l| l.split_whitespace().next())
                .collect();
            running.len() == 6 && nodes.len() == 2 && nodes.contains("node-2")
        });
        // The agent's node has its own address, and its pods report it as their hostIP.
        assert_eq!(
            s.ok(&[
                "get",
                "node",
                "node-2",
                "-o",
                "jsonpath={.status.addresses[?(@.type==\"InternalIP\")].address}"
            ]),
            "127.0.0.2"
        );
        let host_ips = s.ok(&[
            "get",
            "pods",
            "-l",
            "app=spread",
            "-o",
            "jsonpath={range .items[*]}{.spec.nodeName}={.status.hostIP}{\"\\n\"}{end}",
        ]);
        for l in host_ips.lines() {
            let (node, ip) = l.split_once('=').unwrap();
            let want = if node == "node-2" {
                "127.0.0.2"
            } else {
                "127.0.0.1"
            };
            assert_eq!(ip, want, "{host_ips}");
        }
    }));
    let _ = agent.kill();
    let _ = agent.wait();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
