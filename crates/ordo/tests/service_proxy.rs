//! End-to-end, real pods: the nftables service proxy. A Deployment of nginx (2 replicas)
//! behind a NodePort Service answers on its ClusterIP and its DNS name from a busybox pod,
//! from the host on the ClusterIP and on 127.0.0.1:<nodePort>; connections spread over both
//! endpoints; a pod reaches itself through its Service (hairpin); a pod reaches the API server
//! through the `kubernetes` Service; an unallocated address of the service range is dropped;
//! scaled to 0 the Service refuses connections; stopping the server removes the table.
//!
//! Traffic goes only to 127.0.0.1, pod IPs and service IPs (translated to pods or dropped
//! locally). Needs root, runc and nft (skipped otherwise); one real-pod test at a time.

mod common;
use common::real_pods::{leftovers, nft_table_exists, with_real_pods, BRIDGE};
use common::Server;
use std::io::ErrorKind;
use std::process::Command;
use std::time::Duration;

const WEB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25.4
        ports: [{containerPort: 80, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"#;

/// An address in the service range that nothing is allocated to.
const UNALLOCATED: &str = "10.111.222.33";

fn has_nft() -> bool {
    Command::new("nft")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// curl from the host: (exit code, stdout, stderr).
fn host_get(url: &str) -> (i32, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "3", url])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A TCP connection from the host (at most 3 s): the proxy's reject fails it with
/// ECONNREFUSED, its drop leaves it to time out.
fn host_connect(addr: &str) -> std::io::Result<()> {
    std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(3)).map(drop)
}

/// Packets the table dropped for being in the service range without translation.
fn drop_counter() -> u64 {
    let out = Command::new("nft")
        .args(["list", "chain", "ip", BRIDGE, "cluster-ips-check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains("drop"))
        .and_then(|l| l.split("packets ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no drop counter in {text}"))
}

/// `wget -qO- url` in `pod` (at most 3 s): (success, stdout + stderr).
fn pod_get(s: &Server, pod: &str, url: &str) -> (bool, String) {
    let out = s.kubectl(&["exec", pod, "--", "timeout", "3", "wget", "-qO-", url]);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn jsonpath(s: &Server, what: &[&str], path: &str) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    let p = format!("jsonpath={path}");
    args.extend_from_slice(&["-o", &p]);
    s.ok(&args)
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn cluster_ip_and_node_port_reach_the_ready_pods() {
    assert!(
        has_nft(),
        "needs nft (Debian package nftables; scripts/install-deps.sh installs it)"
    );
    let Some((data, _lock)) = with_real_pods(&["--cluster-dns", "10.96.0.53:53"], |server| {
        scenario(server.as_ref().unwrap())
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
    assert!(
        !nft_table_exists(),
        "the server's clean shutdown removes table ip {BRIDGE}"
    );
}

fn scenario(s: &Server) {
    s.eventually(30, "the node", || {
        s.ok(&["get", "nodes", "-o", "name"]).starts_with("node/")
    });
    assert!(
        s.log()
            .contains(&format!("proxy       nftables table ip {BRIDGE}")),
        "{}",
        s.log()
    );
    s.apply(WEB);
    s.ok(&[
        "run",
        "client",
        "--image=busybox:1.28",
        "--restart=Never",
        "--",
        "sleep",
        "3600",
    ]);
    let ip = jsonpath(s, &["svc", "web"], "{.spec.clusterIP}");
    let node_port = jsonpath(s, &["svc", "web"], "{.spec.ports[0].nodePort}");
    assert!(ip.starts_with("10."), "{ip}");
    assert!(
        node_port.parse::<u16>().is_ok_and(|p| p >= 30000),
        "{node_port}"
    );
    s.eventually(90, "2 ready endpoints and the client Running", || {
        let ready = jsonpath(
            s,
            &["endpointslices", "-l", "kubernetes.io/service-name=web"],
            "{.items[*].endpoints[*].conditions.ready}",
        );
        ready.split_whitespace().filter(|r| *r == "true").count() == 2
            && jsonpath(s, &["pod", "client"], "{.status.phase}") == "Running"
    });
    let pods: Vec<String> = jsonpath(s, &["pods", "-l", "app=web"], "{.items[*].metadata.name}")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(pods.len(), 2, "{pods:?}");
    for p in &pods {
        s.ok(&[
            "exec",
            p,
            "--",
            "sh",
            "-c",
            &format!("echo {p} > /usr/share/nginx/html/who.txt"),
        ]);
    }

    // From a pod: by ClusterIP and by name through the cluster DNS.
    let mut page = String::new();
    s.eventually(30, "the ClusterIP from a pod", || {
        let (ok, out) = pod_get(s, "client", &format!("http://{ip}/"));
        page = out;
        ok
    });
    assert!(page.contains("nginx 1.25.4"), "{page}");
    let (ok, page) = pod_get(s, "client", "http://web.default.svc.cluster.local/");
    assert!(ok && page.contains("nginx 1.25.4"), "{page}");

    // Session-less spreading: 20 connections reach both pods (each one alone: 2^-19).
    let out = s.ok(&[
        "exec",
        "client",
        "--",
        "sh",
        "-c",
        &format!("for i in $(seq 20); do wget -qO- http://{ip}/who.txt; done"),
    ]);
    for p in &pods {
        assert!(out.contains(p.as_str()), "{p} never answered: {out}");
    }

    // Hairpin: a pod reaches itself through its Service (masqueraded).
    let me = &pods[0];
    let out = s.ok(&[
        "exec",
        me,
        "--",
        "sh",
        "-c",
        &format!("for i in $(seq 20); do timeout 3 wget -qO- http://{ip}/who.txt; done; true"),
    ]);
    assert!(
        out.contains(me.as_str()),
        "{me} never reached itself: {out}"
    );

    // The kubernetes Service reaches the API server (on loopback here, through route_localnet).
    // busybox's TLS client and rustls share no cipher suite, so from the pod the proof is the
    // server's TLS alert; from the host, the public /version.
    let (_, out) = pod_get(
        s,
        "client",
        "https://kubernetes.default.svc.cluster.local/version",
    );
    assert!(
        out.contains("gitVersion") || out.contains("TLS error from peer"),
        "{out}"
    );
    let out = Command::new("curl")
        .args(["-sSk", "--max-time", "3", "https://10.96.0.1/version"])
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(version.contains("gitVersion"), "{version}");

    // From the host: the ClusterIP, and the NodePort on loopback.
    let (code, body, err) = host_get(&format!("http://{ip}/"));
    assert!(code == 0 && body.contains("nginx 1.25.4"), "{code} {err}");
    let local = format!("http://127.0.0.1:{node_port}/");
    let (code, body, err) = host_get(&local);
    assert!(code == 0 && body.contains("nginx 1.25.4"), "{code} {err}");

    // An unallocated service address is dropped: no answer, not even a refusal.
    let (ok, out) = pod_get(s, "client", &format!("http://{UNALLOCATED}/"));
    assert!(!ok && !out.contains("refused"), "{out}");
    let e = host_connect(&format!("{UNALLOCATED}:80")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    let dropped = drop_counter();
    assert!(
        dropped >= 2,
        "the table's drop rule counted {dropped} packets"
    );

    // Scaled to 0: the Service refuses connections (rejected, not left to time out).
    s.ok(&["scale", "deployment", "web", "--replicas=0"]);
    s.eventually(60, "no web pods", || {
        jsonpath(s, &["pods", "-l", "app=web"], "{.items[*].metadata.name}").is_empty()
    });
    let mut out = String::new();
    s.eventually(30, "the ClusterIP refusing connections", || {
        let (ok, o) = pod_get(s, "client", &format!("http://{ip}/"));
        out = o;
        !ok && out.contains("refused")
    });
    let e = host_connect(&format!("127.0.0.1:{node_port}")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    let e = host_connect(&format!("{ip}:80")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");

    // Clean up the pods while the server runs; the server's exit removes the table.
    s.ok(&["delete", "deployment", "web"]);
    s.ok(&["delete", "service", "web"]);
    s.ok(&["delete", "pod", "client", "--grace-period=1"]);
    s.eventually(60, "no pods left on the host", || {
        leftovers(s.data_dir()).is_empty()
    });
    assert!(nft_table_exists(), "the table stays while the server runs");
}
