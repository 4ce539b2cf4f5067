//! End-to-end: two `ordo server --store etcd` processes on one etcd both serve the API, while
//! the controllers and the scheduler run on one of them at a time, elected through the
//! `kube-system` Leases `kube-controller-manager` and `kube-scheduler`; a SIGKILLed leader hands
//! both over to the other within the lease time, with no action done twice.

mod common;
use common::etcd::{start_etcd, Etcd};
use common::{collect, sharing_pki, Server};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LEASES: [&str; 2] = ["kube-controller-manager", "kube-scheduler"];

/// The identity a server elects with, from its start-up banner.
fn identity(s: &Server) -> String {
    let mut id = String::new();
    s.eventually(10, "the start-up banner", || {
        let log = s.log();
        match log.lines().find(|l| l.contains("controllers by leases")) {
            Some(line) => {
                id = line.rsplit(" as ").next().unwrap().trim().to_string();
                true
            }
            None => false,
        }
    });
    id
}

/// `holderIdentity` and `leaseTransitions` of a `kube-system` Lease, as `s` serves it.
fn lease(s: &Server, name: &str) -> (String, String) {
    let out = s.ok(&[
        "get",
        "lease",
        "-n",
        "kube-system",
        name,
        "-o",
        "jsonpath={.spec.holderIdentity} {.spec.leaseTransitions}",
    ]);
    let (h, t) = out.split_once(' ').unwrap_or((&out, ""));
    (h.to_string(), t.to_string())
}

fn holds_both(s: &Server, who: &str) -> bool {
    LEASES.iter().all(|l| {
        s.kubectl(&[
            "get",
            "lease",
            "-n",
            "kube-system",
            l,
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ])
        .stdout
            == who.as_bytes()
    })
}

/// The flags of a server of the cluster on `etcd` whose node is `node`.
fn flags<'a>(etcd: &'a Etcd, node: &'a str) -> [&'a str; 6] {
    [
        "--store",
        "etcd",
        "--etcd-endpoints",
        &etcd.url,
        "--node-name",
        node,
    ]
}

/// The first server on `etcd` (`server-a`), once it holds both leases; with its identity.
fn first_leader(etcd: &Etcd) -> (Server, String) {
    let a = Server::start_with(&flags(etcd, "server-a"));
    let a_id = identity(&a);
    a.eventually(20, "server-a to hold both leases", || holds_both(&a, &a_id));
    (a, a_id)
}

/// A StatefulSet and a ReplicaSet (whose pods have generated names, so that a second active
/// controller would show as extra pods), pinned to `node`.
fn workloads(node: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web}}
spec:
  serviceName: web
  replicas: 3
  podManagementPolicy: Parallel
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      nodeSelector: {{kubernetes.io/hostname: {node}}}
      containers: [{{name: c, image: busybox}}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {{name: rs}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: rs}}}}
  template:
    metadata: {{labels: {{app: rs}}}}
    spec:
      nodeSelector: {{kubernetes.io/hostname: {node}}}
      containers: [{{name: c, image: busybox}}]
"#
    )
}

fn ready(s: &Server, kind: &str, name: &str) -> String {
    String::from_utf8_lossy(
        &s.kubectl(&["get", kind, name, "-o", "jsonpath={.status.readyReplicas}"])
            .stdout,
    )
    .to_string()
}

#[test]
fn a_killed_leader_hands_controllers_and_scheduler_over_without_double_actions() {
    let etcd = start_etcd();
    let (a, a_id) = first_leader(&etcd);

    // A second server on the same etcd shares the first one's CA, ServiceAccount signing key,
    // admin token and join token: its data dir starts with a copy of `DATA/pki` (its serving
    // certificate is made anew for its own address).
    let b = Server::start_in(sharing_pki(&a), &flags(&etcd, "server-b"));
    let b_id = identity(&b);
    assert_ne!(a_id, b_id);
    assert!(
        b_id.contains('_'),
        "identity {b_id} is not <hostname>_<uuid>"
    );
    // Both serve the API; `kubectl get leases` on either shows the one holder.
    let out = b.ok(&["get", "leases", "-n", "kube-system"]);
    for l in LEASES {
        assert!(
            out.lines()
                .any(|row| row.starts_with(l) && row.contains(&a_id)),
            "{out}"
        );
    }
    // The second server keeps trying (every 2 s) and never leads while the first renews.
    std::thread::sleep(Duration::from_secs(5));
    assert!(holds_both(&a, &a_id));
    assert!(b
        .log()
        .contains("attempting to acquire leader lease kube-system/kube-controller-manager"));
    assert!(
        !b.log().contains("successfully acquired lease"),
        "{}",
        b.log()
    );
    let acquired = |s: &Server| s.log().matches("successfully acquired lease").count();
    assert_eq!(acquired(&a), 2, "{}", a.log());

    // A node agent that knows both servers (joined with the printed join command): it talks to
    // the first and fails over to the second when the first stops answering.
    let join = a.log();
    let join: Vec<&str> = join
        .lines()
        .find(|l| l.contains("ordo agent --server"))
        .unwrap()
        .split_whitespace()
        .collect();
    let flag = |f: &str| join[join.iter().position(|w| *w == f).unwrap() + 1].to_string();
    let worker_dir = tempfile::tempdir().unwrap();
    let _worker = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_ordo"))
            .arg("agent")
            .arg("--server")
            .arg(format!(
                "https://127.0.0.1:{},https://127.0.0.1:{}",
                a.port, b.port
            ))
            .args(["--join-token", &flag("--join-token")])
            .args(["--ca-cert-hash", &flag("--ca-cert-hash")])
            .args([
                "--runtime",
                "sim",
                "--node-name",
                "worker",
                "--node-ip",
                "127.0.0.1",
            ])
            .arg("--data-dir")
            .arg(worker_dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(worker_dir.path().join("agent.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let worker_log =
        || std::fs::read_to_string(worker_dir.path().join("agent.log")).unwrap_or_default();
    b.eventually(30, "node worker Ready", || {
        b.kubectl(&[
            "get",
            "node",
            "worker",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ])
        .stdout
            == b"True"
    });

    // Every pod the survivor ever serves, by name, with every uid seen for it.
    let mut watch = b
        .kubectl_command(&["get", "pods", "-w", "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let watched = collect(watch.stdout.take().unwrap());
    b.apply(&workloads("worker"));
    b.eventually(30, "3 web and 2 rs pods ready", || {
        ready(&b, "sts", "web") == "3" && ready(&b, "rs", "rs") == "2"
    });

    // kubectl pointed at the survivor, every 200 ms throughout the hand-over.
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (failures, done) = (failures.clone(), done.clone());
        let cmd = b.kubectl_command(&["get", "pods,sts,rs,leases", "-A"]);
        let (prog, args): (String, Vec<String>) = (
            cmd.get_program().to_string_lossy().into(),
            cmd.get_args().map(|a| a.to_string_lossy().into()).collect(),
        );
        std::thread::spawn(move || {
            let mut runs = 0;
            while !done.load(Ordering::SeqCst) {
                let out = std::process::Command::new(&prog)
                    .args(&args)
                    .output()
                    .unwrap();
                if !out.status.success() {
                    failures
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&out.stderr).into());
                }
                runs += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            runs
        })
    };

    let killed = Instant::now();
    let a_log = a.log();
    drop(a.kill9());
    // Work for the new leader: the old one is gone, nobody acts until the takeover.
    b.ok(&["scale", "sts", "web", "--replicas=5"]);
    b.ok(&["scale", "rs", "rs", "--replicas=4"]);
    b.eventually(30, "server-b to take both leases", || holds_both(&b, &b_id));
    let took = killed.elapsed();
    // Taken the lease duration (15 s) after the last renewal was *seen*, which the candidate
    // polls every retry period (2 s, jittered up to 1.2 times more: 4.4 s), and noticed at its
    // next poll: at most 15 + 2 × 4.4 s after the kill, with some slack for a loaded machine.
    assert!(
        took <= Duration::from_secs(27),
        "took {took:?} to take over"
    );
    for l in LEASES {
        assert_eq!(lease(&b, l), (b_id.clone(), "1".to_string()), "{l}");
    }
    // Their new pods run on the worker, which now talks to the survivor.
    b.eventually(30, "5 web and 4 rs pods ready", || {
        ready(&b, "sts", "web") == "5" && ready(&b, "rs", "rs") == "4"
    });
    // Exactly once: the agent kept to the first server while it answered.
    assert_eq!(
        worker_log().matches("failing over to").count(),
        1,
        "{}",
        worker_log()
    );
    assert!(
        worker_log().contains(&format!("failing over to https://127.0.0.1:{}", b.port)),
        "{}",
        worker_log()
    );
    // Settle, so that a late duplicate would show.
    std::thread::sleep(Duration::from_secs(3));
    done.store(true, Ordering::SeqCst);
    let runs = sampler.join().unwrap();
    let _ = watch.kill();
    let _ = watch.wait();
    let failures = failures.lock().unwrap().clone();
    assert!(runs > 10, "only {runs} kubectl runs");
    assert!(
        failures.is_empty(),
        "kubectl against the survivor failed {} times: {failures:?}",
        failures.len()
    );
    assert_eq!(acquired(&b), 2, "{}", b.log());

    let text = watched.lock().unwrap().clone();
    let mut uids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for pod in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>() {
        let pod = pod.unwrap();
        let name = pod["metadata"]["name"].as_str().unwrap().to_string();
        let uid = pod["metadata"]["uid"].as_str().unwrap().to_string();
        uids.entry(name).or_default().insert(uid);
    }
    let web: Vec<&String> = uids.keys().filter(|n| n.starts_with("web-")).collect();
    assert_eq!(
        web,
        ["web-0", "web-1", "web-2", "web-3", "web-4"],
        "StatefulSet pods seen: {uids:?}"
    );
    let rs = uids.keys().filter(|n| n.starts_with("rs-")).count();
    assert_eq!(rs, 4, "ReplicaSet pods ever created: {uids:?}");
    for (name, set) in &uids {
        assert_eq!(set.len(), 1, "pod {name} was created {} times", set.len());
    }
    let deleted = b.ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=SuccessfulDelete",
        "-o",
        "name",
    ]);
    assert!(deleted.is_empty(), "pods deleted: {deleted}");
    let _ = a_log;

    // A leader stopped gracefully (SIGTERM) gives its leases up: a third server takes them
    // within a retry period or two, not a lease duration.
    let c = Server::start_in(sharing_pki(&b), &flags(&etcd, "server-c"));
    let c_id = identity(&c);
    std::thread::sleep(Duration::from_secs(3));
    assert!(holds_both(&c, &b_id));
    let mut b = b;
    let stopped = Instant::now();
    b.stop();
    assert!(
        b.log()
            .contains("released lease kube-system/kube-controller-manager"),
        "{}",
        b.log()
    );
    c.eventually(10, "server-c to take both leases", || holds_both(&c, &c_id));
    let took_over = stopped.elapsed();
    assert!(
        took_over < Duration::from_secs(8),
        "took {took_over:?} after a graceful stop"
    );
    eprintln!("hand-over after SIGKILL: {took:?}; after SIGTERM: {took_over:?}");
}

/// A child process killed (by its PID) and reaped when dropped, on panic too.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `signal` (`STOP`, `CONT`) to the server, by its PID.
fn signal(s: &Server, signal: &str) {
    let st = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &s.pid().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn a_frozen_leader_that_wakes_up_stops_leading_and_keeps_serving() {
    let etcd = start_etcd();
    let (a, a_id) = first_leader(&etcd);
    let b = Server::start_in(sharing_pki(&a), &flags(&etcd, "server-b"));
    let b_id = identity(&b);
    // Frozen (as by a long pause): it renews nothing, and the other takes over.
    signal(&a, "STOP");
    let frozen = Instant::now();
    b.eventually(30, "server-b to take both leases", || holds_both(&b, &b_id));
    assert!(
        frozen.elapsed() <= Duration::from_secs(27),
        "{:?}",
        frozen.elapsed()
    );
    signal(&a, "CONT");
    // Awake again, it finds the leases held by another and stops its controllers and its
    // scheduler, while it keeps serving the API.
    a.eventually(20, "server-a to stop leading", || {
        let log = a.log();
        LEASES.iter().all(|l| {
            log.contains(&format!(
                "failed to renew lease kube-system/{l}: stopped leading"
            ))
        })
    });
    std::thread::sleep(Duration::from_secs(5));
    assert!(holds_both(&a, &b_id), "{}", a.log());
    assert_eq!(
        a.log().matches("successfully acquired lease").count(),
        2,
        "{}",
        a.log()
    );
    let events = b.ok(&[
        "get",
        "events",
        "-n",
        "kube-system",
        "--field-selector",
        "reason=LeaderElection",
        "-o",
        "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
    ]);
    for who in [
        format!("{a_id} became leader"),
        format!("{b_id} became leader"),
        format!("{a_id} stopped leading"),
    ] {
        assert!(events.contains(&who), "no event {who:?}: {events}");
    }
}
