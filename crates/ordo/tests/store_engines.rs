//! End-to-end: acknowledged writes survive `kill -9`, and `ordo server --store etcd` serves
//! kubectl the same way as the embedded SQLite store.

mod common;
use common::etcd::start_etcd;
use common::{sharing_pki, table, Server, WALKTHROUGH};

#[test]
fn acknowledged_writes_survive_kill_9() {
    let s = Server::start_with(&["--api-only"]);
    s.apply(WALKTHROUGH);
    // (apply sends JSON; `kubectl create configmap` would send protobuf.)
    for i in 0..20 {
        s.apply(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm{i}}}\ndata: {{k: v{i}}}\n"
        ));
    }
    s.ok(&["scale", "sts", "nginx-statefulset", "--replicas=7"]);
    let rv_before: u64 = s
        .ok(&[
            "get",
            "cm",
            "cm19",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .parse()
        .unwrap();
    let dir = s.kill9();
    let s = Server::start_in(dir, &["--api-only"]);
    assert_eq!(
        s.ok(&[
            "get",
            "sts",
            "nginx-statefulset",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "7"
    );
    assert_eq!(
        s.ok(&["get", "cm", "cm19", "-o", "jsonpath={.data.k}"]),
        "v19"
    );
    assert_eq!(
        table(&s.ok(&["get", "cm", "--no-headers"]))
            .iter()
            .filter(|r| r[0].starts_with("cm"))
            .count(),
        20
    );
    // The revision continues after the restart.
    s.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n");
    let rv_after: u64 = s
        .ok(&[
            "get",
            "cm",
            "after",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .parse()
        .unwrap();
    assert!(rv_after > rv_before, "{rv_after} > {rv_before}");
}

#[test]
fn etcd_engine_serves_kubectl() {
    let etcd = start_etcd();
    let s = Server::start_with(&[
        "--api-only",
        "--store",
        "etcd",
        "--etcd-endpoints",
        &etcd.url,
    ]);
    assert_eq!(
        s.apply(WALKTHROUGH),
        "service/nginx-stateful-service created\nstatefulset.apps/nginx-statefulset created\n"
    );
    assert_eq!(
        s.apply(WALKTHROUGH),
        "service/nginx-stateful-service unchanged\nstatefulset.apps/nginx-statefulset unchanged\n"
    );
    s.ok(&["scale", "sts", "nginx-statefulset", "--replicas=5"]);
    let sts = table(&s.ok(&["get", "sts"]));
    assert_eq!(sts[1][..2], ["nginx-statefulset", "0/5"]);
    assert!(s.log().contains("store       etcd"), "{}", s.log());
    // A second server on the same etcd must share the first one's CA and keys: with a PKI of
    // its own it refuses to start.
    let fresh = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("timeout")
        .arg("30")
        .arg(env!("CARGO_BIN_EXE_ordo"))
        .args([
            "server",
            "--api-only",
            "--bind",
            "127.0.0.1:0",
            "--log",
            "error",
        ])
        .args([
            "--store",
            "etcd",
            "--etcd-endpoints",
            &etcd.url,
            "--data-dir",
        ])
        .arg(fresh.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("the store holds a cluster with another CA"),
        "{err}"
    );
    // With a copy of the first one's DATA/pki it serves the same objects.
    let s2 = Server::start_in(
        sharing_pki(&s),
        &[
            "--api-only",
            "--store",
            "etcd",
            "--etcd-endpoints",
            &etcd.url,
        ],
    );
    assert_eq!(
        s2.ok(&[
            "get",
            "sts",
            "nginx-statefulset",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "5"
    );
}
