//! End-to-end with real containers: how containers end. A container over its memory limit is
//! killed by the kernel and shows `OOMKilled` (exit code 137), read from its cgroup's OOM-kill
//! counter; `kubectl logs -f` returns when the container it follows exits, with its last
//! lines.
//!
//! Needs root and runc; runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::Server;
use std::process::Stdio;
use std::time::{Duration, Instant};

const PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: busybox:1.28
    command: [sh, -c, "echo allocating; head -c 300m /dev/zero | tail"]
    resources: {limits: {memory: 32Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: counter}
spec:
  restartPolicy: Never
  containers:
  - name: counter
    image: busybox:1.28
    command: [sh, -c, "sleep 2; for i in 1 2 3; do echo line $i; sleep 1; done"]
"#;

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn oom_killed_and_logs_follow_to_the_exit() {
    busybox_scenario(scenario);
}

fn scenario(s: &Server) {
    s.apply(PODS);
    logs_follow_ends_at_the_exit(s);
    s.eventually(60, "hog to end", || {
        pod_field(s, "hog", ".status.phase") == "Failed"
    });
    let term = ".status.containerStatuses[0].state.terminated";
    assert_eq!(pod_field(s, "hog", &format!("{term}.reason")), "OOMKilled");
    assert_eq!(pod_field(s, "hog", &format!("{term}.exitCode")), "137");
    let get = s.ok(&["get", "pod", "hog"]);
    assert!(get.contains("OOMKilled"), "{get}");
}

fn logs_follow_ends_at_the_exit(s: &Server) {
    s.eventually(60, "counter Running", || {
        pod_field(s, "counter", ".status.phase") == "Running"
    });
    let mut child = s
        .kubectl_command(&["logs", "-f", "counter"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kubectl logs -f did not return after the container exited");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    assert!(status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "line 1\nline 2\nline 3\n"
    );
    s.eventually(20, "counter Succeeded", || {
        pod_field(s, "counter", ".status.phase") == "Succeeded"
    });
}
