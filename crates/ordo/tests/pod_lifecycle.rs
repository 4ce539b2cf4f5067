//! End-to-end with real containers: what the node agent does over a pod's life, as kubectl
//! shows it. Containers that exit are restarted as `restartPolicy` says, with back-off
//! (CrashLoopBackOff, RESTARTS, `logs --previous`); pods that finish show Completed or Error;
//! init containers run to completion first; readiness, liveness and startup probes decide
//! READY and restarts; preStop hooks run before the stop signal.
//!
//! Needs root and runc (skipped otherwise); one real-pod test at a time.

mod common;
use common::real_pods::*;
use common::{table, Server};

/// The READY, STATUS and RESTARTS columns of `kubectl get pod NAME`.
fn columns(s: &Server, name: &str) -> (String, String, String) {
    let out = s.ok(&["get", "pod", name]);
    let t = table(&out);
    assert_eq!(t[0][..4], ["NAME", "READY", "STATUS", "RESTARTS"], "{out}");
    let row = &t[1];
    // RESTARTS may read `2 (5s ago)`: keep the count.
    (row[1].clone(), row[2].clone(), row[3].clone())
}

fn restarts(s: &Server, name: &str) -> i64 {
    columns(s, name).2.parse().unwrap_or(-1)
}

const PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers:
  - name: main
    image: busybox:1.28
    command: ["sh", "-c", "echo attempt; exit 1"]
---
apiVersion: v1
kind: Pod
metadata: {name: done}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.28
    command: ["sh", "-c", "echo finished"]
---
apiVersion: v1
kind: Pod
metadata: {name: failed}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.28
    command: ["sh", "-c", "exit 3"]
---
apiVersion: v1
kind: Pod
metadata: {name: retry}
spec:
  restartPolicy: OnFailure
  containers:
  - name: main
    image: busybox:1.28
    # Fails the first time, succeeds the second (the emptyDir survives the restart).
    command: ["sh", "-c", "if [ -f /state/once ]; then exit 0; fi; touch /state/once; exit 2"]
    volumeMounts: [{name: state, mountPath: /state}]
  volumes: [{name: state, emptyDir: {}}]
"#;

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn restart_policy_back_off_and_final_states() {
    let Some((data, _lock)) = with_real_pods(&[], |server| {
        let s = server.as_ref().unwrap();
        s.apply(PODS);
        s.eventually(60, "done: Completed, failed: Error", || {
            columns(s, "done").1 == "Completed" && columns(s, "failed").1 == "Error"
        });
        assert_eq!(
            columns(s, "done"),
            ("0/1".into(), "Completed".into(), "0".into())
        );
        assert_eq!(
            s.ok(&[
                "get",
                "pod",
                "done",
                "failed",
                "-o",
                "jsonpath={.items[*].status.phase}"
            ]),
            "Succeeded Failed"
        );
        assert_eq!(
            s.ok(&[
                "get",
                "pod",
                "failed",
                "-o",
                "jsonpath={.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.reason}"
            ]),
            "3 Error"
        );
        assert_eq!(s.ok(&["logs", "done"]), "finished\n");

        // OnFailure: restarted once after exit 2, then done.
        s.eventually(60, "retry: Completed after one restart", || {
            columns(s, "retry") == ("0/1".into(), "Completed".into(), "1".into())
        });
        assert_eq!(
            s.ok(&["get", "pod", "retry", "-o", "jsonpath={.status.phase} {.status.containerStatuses[0].lastState.terminated.exitCode}"]),
            "Succeeded 2"
        );

        // Always: the first restart is immediate, the next waits in CrashLoopBackOff.
        s.eventually(60, "crash: CrashLoopBackOff", || {
            columns(s, "crash").1 == "CrashLoopBackOff"
        });
        let (ready, _, _) = columns(s, "crash");
        assert_eq!(ready, "0/1");
        assert!(restarts(s, "crash") >= 1, "{:?}", columns(s, "crash"));
        let waiting = s.ok(&[
            "get",
            "pod",
            "crash",
            "-o",
            "jsonpath={.status.phase}|{.status.containerStatuses[0].state.waiting.message}|{.status.containerStatuses[0].lastState.terminated.reason}",
        ]);
        let uid = s.ok(&["get", "pod", "crash", "-o", "jsonpath={.metadata.uid}"]);
        assert!(
            waiting.starts_with(
                "Running|back-off 10s restarting failed container=main pod=crash_default("
            ) || waiting.starts_with(
                "Running|back-off 20s restarting failed container=main pod=crash_default("
            ),
            "{waiting}"
        );
        assert!(
            waiting.contains(&uid) && waiting.ends_with("|Error"),
            "{waiting}"
        );
        assert_eq!(s.ok(&["logs", "crash", "--previous"]), "attempt\n");
        let describe = s.ok(&["describe", "pod", "crash"]);
        assert!(
            describe.contains("Back-off restarting failed container main in pod crash_default("),
            "{describe}"
        );
        assert!(
            describe.contains("Last State:     Terminated"),
            "{describe}"
        );
        // The back-off ends and the container runs (and fails) again: RESTARTS grows.
        let before = restarts(s, "crash");
        s.eventually(40, "crash restarted after its back-off", || {
            restarts(s, "crash") > before
        });
        s.ok(&["delete", "pod", "--all", "--wait=true"]);
        s.eventually(20, "the node to clean up", || {
            leftovers(s.data_dir()).is_empty()
        });
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

const PROBED: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: init-web}
spec:
  initContainers:
  - name: fetch
    image: busybox:1.28
    command: ["sh", "-c", "sleep 2; echo from-init > /www/index.html"]
    volumeMounts: [{name: www, mountPath: /www}]
  containers:
  - name: web
    image: busybox:1.28
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /index.html, port: http}
      periodSeconds: 1
    volumeMounts: [{name: www, mountPath: /www}]
  volumes: [{name: www, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata: {name: not-ready}
spec:
  containers:
  - name: web
    image: nginx:1.25.4
    readinessProbe:
      httpGet: {path: /missing, port: 80}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: gate}
spec:
  containers:
  - name: main
    image: busybox:1.28
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {command: ["test", "-f", "/tmp/ready"]}
      periodSeconds: 1
      failureThreshold: 1
    startupProbe:
      exec: {command: ["test", "-f", "/tmp/started"]}
      periodSeconds: 1
      failureThreshold: 600
---
apiVersion: v1
kind: Pod
metadata: {name: unhealthy}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:1.28
    command: ["sleep", "3600"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/healthy"]}
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 2
"#;

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn init_containers_probes_and_pre_stop() {
    let hook_dir = tempfile::tempdir().unwrap();
    let hook_path = hook_dir.path().to_string_lossy().to_string();
    let Some((data, _lock)) = with_real_pods(&[], |server| {
        let s = server.as_ref().unwrap();
        s.apply(PROBED);
        // Init container first (Init:0/1 while it runs), then the app, Ready by its probe.
        s.eventually(60, "init-web Running 1/1", || {
            let (ready, status, _) = columns(s, "init-web");
            assert!(
                ["Pending", "Init:0/1", "PodInitializing", "Running"].contains(&status.as_str()),
                "{status}"
            );
            ready == "1/1" && status == "Running"
        });
        let times = s.ok(&[
            "get",
            "pod",
            "init-web",
            "-o",
            "jsonpath={.status.initContainerStatuses[0].state.terminated.reason} {.status.initContainerStatuses[0].state.terminated.finishedAt} {.status.containerStatuses[0].state.running.startedAt}",
        ]);
        let parts: Vec<&str> = times.split(' ').collect();
        assert_eq!(parts[0], "Completed", "{times}");
        assert!(
            parts[1] <= parts[2],
            "app started before its init container finished: {times}"
        );
        let ip = s.ok(&["get", "pod", "init-web", "-o", "jsonpath={.status.podIP}"]);
        assert_eq!(
            curl(&format!("http://{ip}:8080/")).as_deref(),
            Some("from-init\n")
        );

        // A failing readiness probe keeps READY 0/1 while the pod runs.
        s.eventually(60, "not-ready: Unhealthy event", || {
            s.ok(&["describe", "pod", "not-ready"])
                .contains("Readiness probe failed: HTTP probe failed with statuscode: 404")
        });
        assert_eq!(
            columns(s, "not-ready"),
            ("0/1".into(), "Running".into(), "0".into())
        );
        assert_eq!(
            s.ok(&[
                "get",
                "pod",
                "not-ready",
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"
            ]),
            "False"
        );

        // Startup probe not passed yet: not started, not ready, readiness not even run.
        s.eventually(30, "gate: running, not started", || {
            s.ok(&[
                "get",
                "pod",
                "gate",
                "-o",
                "jsonpath={.status.phase} {.status.containerStatuses[0].started}",
            ]) == "Running false"
        });
        assert_eq!(columns(s, "gate").0, "0/1");
        s.ok(&["exec", "gate", "--", "touch", "/tmp/started"]);
        s.eventually(30, "gate: started, still not ready", || {
            s.ok(&[
                "get",
                "pod",
                "gate",
                "-o",
                "jsonpath={.status.containerStatuses[0].started}",
            ]) == "true"
        });
        assert_eq!(columns(s, "gate").0, "0/1");
        s.ok(&["exec", "gate", "--", "touch", "/tmp/ready"]);
        s.eventually(30, "gate: ready", || columns(s, "gate").0 == "1/1");
        // Liveness failures restart the container.
        s.eventually(60, "unhealthy restarted by its liveness probe", || {
            restarts(s, "unhealthy") >= 1
        });
        let describe = s.ok(&["describe", "pod", "unhealthy"]);
        assert!(
            describe.contains("Container main failed liveness probe, will be restarted"),
            "{describe}"
        );
        assert!(
            describe.contains("Liveness probe failed: cat: can't open '/tmp/healthy'"),
            "{describe}"
        );

        // A pod whose preStop hook writes to the host before it stops.
        s.apply(&format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: hooked}}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: busybox:1.28
    command: ["sleep", "3600"]
    lifecycle:
      preStop:
        exec: {{command: ["sh", "-c", "echo bye from $HOSTNAME > /hook/said"]}}
    volumeMounts: [{{name: hook, mountPath: /hook}}]
  volumes: [{{name: hook, hostPath: {{path: "{hook_path}"}}}}]
"#
        ));
        s.eventually(60, "hooked Running", || columns(s, "hooked").1 == "Running");
        s.ok(&["delete", "pod", "hooked"]);
        assert_eq!(
            std::fs::read_to_string(hook_dir.path().join("said")).unwrap_or_default(),
            "bye from hooked\n"
        );
        s.ok(&["delete", "pod", "--all", "--wait=true", "--grace-period=1"]);
        s.eventually(20, "the node to clean up", || {
            leftovers(s.data_dir()).is_empty()
        });
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

const TWO: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: busybox:1.28, command: ["sleep", "3600"]}
  - {name: b, image: busybox:1.28, command: ["sleep", "3600"]}
"#;

/// ordo restarts while a pod runs; one of its containers dies meanwhile. The running one is
/// adopted (same container, no restart counted); the dead one is started again as a restart.
#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn restart_adopts_running_containers_and_restarts_dead_ones() {
    let Some((data, _lock)) = with_real_pods(&[], |server| {
        let s = server.as_ref().unwrap();
        s.apply(TWO);
        s.eventually(60, "two Running 2/2", || columns(s, "two").0 == "2/2");
        let field = |s: &Server, c: &str, path: &str| {
            s.ok(&[
                "get",
                "pod",
                "two",
                "-o",
                &format!("jsonpath={{.status.containerStatuses[?(@.name==\"{c}\")]{path}}}"),
            ])
        };
        let a_id = field(s, "a", ".containerID");
        let a_started = field(s, "a", ".state.running.startedAt");
        let b_id = field(s, "b", ".containerID");
        let mut old = server.take().unwrap();
        old.stop();
        // Kill b's process (by its PID from runc) while ordo is down.
        let runc_root = old.data_dir().join("runc");
        let state = std::process::Command::new("runc")
            .arg("--root")
            .arg(&runc_root)
            .args(["state", b_id.trim_start_matches("runc://")])
            .output()
            .unwrap();
        let state: serde_json::Value = serde_json::from_slice(&state.stdout).unwrap();
        let pid = state["pid"].as_i64().unwrap_or(0);
        assert!(
            pid > 1,
            "runc state of b: {state}\nlog:\n{}",
            common::tail(&old.log())
        );
        assert!(std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success());
        let dir = std::mem::replace(&mut old.dir, tempfile::tempdir().unwrap());
        *server = Some(Server::start_runc_in(dir, &["--bridge", BRIDGE]));
        let s = server.as_ref().unwrap();
        s.eventually(60, "b restarted once, a adopted", || {
            field(s, "b", ".restartCount") == "1" && columns(s, "two").0 == "2/2"
        });
        assert_eq!(field(s, "a", ".containerID"), a_id);
        assert_eq!(field(s, "a", ".state.running.startedAt"), a_started);
        assert_eq!(field(s, "a", ".restartCount"), "0");
        assert_ne!(field(s, "b", ".containerID"), b_id);
        assert_eq!(
            field(s, "b", ".lastState.terminated.reason"),
            "ContainerStatusUnknown"
        );
        s.ok(&["delete", "pod", "two", "--wait=true"]);
        s.eventually(20, "the node to clean up", || {
            leftovers(s.data_dir()).is_empty()
        });
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}
