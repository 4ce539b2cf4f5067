//! End-to-end, real pods (needs root and runc): a runc node joined with the printed join
//! command runs as `system:node:NAME`, which the Node authorizer lets read only the Secrets
//! and ConfigMaps its pods use. Its running pods still see a changed ConfigMap and a rotated
//! projected ServiceAccount token (the agent reads each object by name instead of following
//! whole-kind caches it may not list), and the node carries no control-plane role.

mod common;
use common::real_pods::*;
use common::*;
use std::process::{Child, Command, Stdio};

/// The pod prints its ConfigMap's value and the start of its token each time either changes.
const POD: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {greeting: hello}
---
apiVersion: v1
kind: Pod
metadata: {name: watcher}
spec:
  nodeName: joined
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.28
    command:
    - sh
    - -c
    - |
      last=
      while true; do
        cur="$(cat /conf/greeting) $(md5sum /tokens/t | cut -c1-8)"
        if [ "$cur" != "$last" ]; then echo "$cur"; last="$cur"; fi
        sleep 1
      done
    volumeMounts:
    - {name: conf, mountPath: /conf}
    - {name: tokens, mountPath: /tokens}
  volumes:
  - name: conf
    configMap: {name: conf}
  - name: tokens
    projected:
      sources:
      - serviceAccountToken: {path: t, expirationSeconds: 600}
"#;

/// The joined agent, stopped (SIGTERM, by PID) and waited for when dropped.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn a_joined_runc_node_keeps_its_pods_volumes_fresh() {
    assert!(
        can_run(),
        "needs root and runc: run as root with --include-ignored (scripts/test.sh does)"
    );
    let lock = std::fs::File::create("/tmp/ordo-real-pods.lock").unwrap();
    lock.lock().unwrap();
    // The control plane with a simulated node of its own; the joined machine runs runc pods.
    let s = Server::start();
    let agent_dir = tempfile::tempdir().unwrap();
    let data = agent_dir.path().to_path_buf();
    stage_images(&["busybox-1.28.tar"], &data);
    let log = s.dir.path().join("agent.log");
    let agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_ordo"))
            .arg("agent")
            .args(s.join_command())
            .args(["--node-name", "joined", "--bridge", BRIDGE])
            .args(["--service-proxy", "none", "--image-gc-high-threshold=100"])
            // A 10-minute token is rotated after 12 s instead of 8 minutes.
            .args(["--token-refresh-percent", "2"])
            .arg("--data-dir")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&s, &data)));
    if r.is_err() {
        eprintln!(
            "agent log tail:\n{}",
            tail(&std::fs::read_to_string(&log).unwrap_or_default())
        );
    }
    drop(agent);
    if let Err(p) = r {
        force_cleanup(&data);
        std::panic::resume_unwind(p);
    }
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn logs_of(s: &Server, pod: &str) -> String {
    String::from_utf8_lossy(&s.kubectl(&["logs", pod]).stdout).into_owned()
}

fn scenario(s: &Server, data: &std::path::Path) {
    s.eventually(60, "node joined Ready", || {
        s.kubectl(&[
            "get",
            "node",
            "joined",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ])
        .stdout
            == b"True"
    });
    // kubeadm labels only control-plane machines with a role.
    let nodes = s.ok(&["get", "nodes"]);
    let joined = nodes.lines().find(|l| l.starts_with("joined ")).unwrap();
    assert_eq!(joined.split_whitespace().nth(2), Some("<none>"), "{nodes}");
    s.eventually(30, "the default ServiceAccount", || {
        s.kubectl(&["get", "sa", "default"]).status.success()
    });
    s.apply(POD);
    let mut logs = String::new();
    s.eventually(120, "the pod's first line", || {
        logs = logs_of(s, "watcher");
        logs.lines().count() >= 1
    });
    let first: Vec<String> = logs
        .lines()
        .next()
        .unwrap()
        .split(' ')
        .map(str::to_string)
        .collect();
    assert_eq!(first[0], "hello");
    s.ok(&[
        "patch",
        "configmap",
        "conf",
        "-p",
        r#"{"data":{"greeting":"bonjour"}}"#,
    ]);
    // The change arrives within the agent's 10 s reading period; the token rotates after 12 s,
    // checked every 30 s.
    s.eventually(
        90,
        "the new value and a new token in the running pod",
        || {
            logs = logs_of(s, "watcher");
            logs.lines().any(|l| l.starts_with("bonjour "))
                && logs
                    .lines()
                    .any(|l| !l.ends_with(&format!(" {}", first[1])))
        },
    );
    assert_eq!(
        pod_field(s, "watcher", ".status.containerStatuses[0].restartCount"),
        "0"
    );
    s.ok(&["delete", "pod", "watcher", "--wait=true"]);
    // The node removes the pod's sandbox, veth, bridge and mounts after the object is gone.
    s.eventually(60, "the joined node to clean up", || {
        leftovers(data).is_empty()
    });
}
