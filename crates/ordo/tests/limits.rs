//! End-to-end: the API server's limits on what one client can send, with upstream's Statuses:
//! request body size, object size in the store, JSON patch operations, and slow clients (TLS
//! handshake and request headers).

mod common;
use common::Server;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A ConfigMap manifest (JSON) with `n` labels of about 60 bytes each.
fn labelled_configmap(name: &str, n: usize) -> String {
    let labels: serde_json::Map<String, serde_json::Value> = (0..n)
        .map(|i| (format!("k{i}"), serde_json::json!("v".repeat(50))))
        .collect();
    serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}})
    .to_string()
}

#[test]
fn oversized_requests_and_slow_clients_get_upstreams_answers() {
    // Every connection of this server must finish its TLS handshake and headers within 2 s.
    std::env::set_var("ORDO_HEADER_READ_TIMEOUT_SECS", "2");
    let s = Server::start_with(&["--api-only"]);

    // Bodies over 3 MiB: 413 before the body is read.
    let big = labelled_configmap("big", 60_000);
    assert!(big.len() > 3 * 1024 * 1024);
    let out = s.kubectl_stdin(&["create", "-f", "-"], Some(&big));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("Request entity too large: limit is 3145728"),
        "{err}"
    );

    // Objects over 1.5 MiB: refused as etcd refuses them, nothing stored.
    let large = labelled_configmap("large", 30_000);
    assert!(large.len() > 1536 * 1024 && large.len() < 3 * 1024 * 1024);
    let out = s.kubectl_stdin(&["create", "-f", "-"], Some(&large));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("etcdserver: request is too large"), "{err}");
    assert!(s.fails(&["get", "cm", "large"]).contains("NotFound"));
    // One under the limit is stored.
    s.ok_stdin(&["create", "-f", "-"], &labelled_configmap("fits", 20_000));

    // JSON patches of more than 10,000 operations: 413.
    let ops: Vec<_> = (0..10_001)
        .map(|_| serde_json::json!({"op": "test", "path": "/metadata/name", "value": "fits"}))
        .collect();
    let patch = s.dir.path().join("patch.json");
    std::fs::write(&patch, serde_json::to_string(&ops).unwrap()).unwrap();
    let err = s.fails(&[
        "patch",
        "cm",
        "fits",
        "--type=json",
        "--patch-file",
        patch.to_str().unwrap(),
    ]);
    assert!(
        err.contains("Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"),
        "{err}"
    );

    // A client that connects and sends nothing is disconnected after the handshake timeout.
    let started = Instant::now();
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 64];
    let n = tcp.read(&mut buf).unwrap_or(0);
    let took = started.elapsed();
    assert_eq!(n, 0, "the server answered a silent client");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "closed after {took:?}"
    );

    // A client that never finishes its request headers is disconnected too.
    let mut client = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect"])
        .arg(format!("127.0.0.1:{}", s.port))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running openssl s_client");
    let mut stdin = client.stdin.take().unwrap();
    stdin
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1")
        .unwrap();
    stdin.flush().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(st) = client.try_wait().unwrap() {
            break Some(st);
        }
        if started.elapsed() > Duration::from_secs(15) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if status.is_none() {
        let _ = client.kill();
    }
    let _ = client.wait();
    drop(stdin);
    assert!(
        status.is_some(),
        "the server kept a connection with unfinished headers open for 15 s"
    );
    let mut answer = String::new();
    let _ = client.stdout.take().unwrap().read_to_string(&mut answer);
    assert!(!answer.contains("200 OK"), "{answer}");

    // Prompt clients are served as before.
    assert!(s.ok(&["get", "ns", "default"]).contains("default"));
}
