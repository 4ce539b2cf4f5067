//! End-to-end with a real container: a busybox pod spinning in a shell loop shows its CPU in
//! `kubectl top pods` (read from its cgroup's `cpu.stat` by the node agent, scraped every two
//! seconds here), and the node shows its own usage in `kubectl top nodes`.
//!
//! Needs root and runc; runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::{table, Server};

/// The busy pod's CPU in millicores, once `kubectl top` has it.
fn busy_cpu(s: &Server) -> Option<i64> {
    let out = s.kubectl(&["top", "pod", "busy", "--containers"]);
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    let rows = table(&out);
    let row = rows
        .iter()
        .find(|r| r.first().map(String::as_str) == Some("busy"))?;
    assert_eq!(row[1], "spin", "{out}");
    row[2].trim_end_matches('m').parse().ok()
}

#[test]
#[ignore = "needs root and runc"]
fn a_busy_container_shows_cpu_in_kubectl_top() {
    let Some((data, _lock)) = with_real_pods_importing(
        &["busybox-1.28.tar"],
        &["--metric-resolution", "2s"],
        |server| {
            let s = server.as_ref().unwrap();
            s.apply(
                r#"apiVersion: v1
kind: Pod
metadata: {name: busy}
spec:
  containers:
  - {name: spin, image: "busybox:1.28", command: [sh, -c, "while :; do :; done"]}
"#,
            );
            s.eventually(60, "the pod to run", || running_ready(s, "busy"));
            s.eventually(30, "kubectl top to show the busy container", || {
                busy_cpu(s).is_some()
            });
            // A spinning shell uses a good part of a core.
            s.eventually(20, "a busy CPU figure", || {
                busy_cpu(s).is_some_and(|m| m >= 200)
            });
            let out = s.ok(&["top", "pod", "busy"]);
            let row = &table(&out)[1];
            assert_eq!(row[0], "busy", "{out}");
            assert!(row[2].ends_with("Mi"), "{out}");
            let out = s.ok(&["top", "nodes"]);
            let node = &table(&out)[1];
            let cpu: i64 = node[1].trim_end_matches('m').parse().unwrap();
            assert!(cpu >= 200, "{out}");
            let mem: i64 = node[3].trim_end_matches("Mi").parse().unwrap();
            assert!(mem > 0, "{out}");
            s.ok(&["delete", "pod", "busy", "--grace-period=1"]);
            pods_gone_and_node_clean(s);
        },
    ) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}
