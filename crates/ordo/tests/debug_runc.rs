//! `kubectl debug` end to end: the `pods/ephemeralcontainers` subresource (discovery, kubectl's
//! strategic-merge PATCH, upstream's 422 for a PUT that removes or changes an ephemeral
//! container) on the simulated runtime; with real containers, `kubectl debug -it --target` on
//! a terminal (the debugger sees the target's processes, what is typed reaches its shell, its
//! status, its log), `kubectl debug node/NAME` (the host's filesystem under `/host`, the host's
//! process and IPC namespaces) and `kubectl debug --copy-to`.
//!
//! The real-pod test needs root, runc and `script` (util-linux); it runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::terminal::*;
use common::Server;

/// A pod with two long-running containers, `web` (the target) and `side`.
const WEB: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: web, image: busybox:1.28, command: [sleep, "3601"]}
  - {name: side, image: busybox:1.28, command: [sleep, "3602"]}
"#;

/// Fields of pod `pod` by JSONPath (`.spec.hostPID`), separated by spaces.
fn fields(s: &Server, pod: &str, paths: &[&str]) -> String {
    let template: Vec<String> = paths.iter().map(|p| format!("{{{p}}}")).collect();
    let out = s.kubectl(&[
        "get",
        "pod",
        pod,
        "-o",
        &format!("jsonpath={}", template.join(" ")),
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fields `fs` (`.name`) of web's ephemeral container status `i`, separated by spaces.
fn ephemeral_status(s: &Server, i: usize, fs: &[&str]) -> String {
    let paths: Vec<String> = fs
        .iter()
        .map(|f| format!(".status.ephemeralContainerStatuses[{i}]{f}"))
        .collect();
    fields(
        s,
        "web",
        &paths.iter().map(String::as_str).collect::<Vec<_>>(),
    )
}

/// PUTs `pod` (edited by `edit`) to `pods/web/ephemeralcontainers`: kubectl's stderr.
fn put_ephemeral(s: &Server, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut pod: serde_json::Value =
        serde_json::from_str(&s.ok(&["get", "pod", "web", "-o", "json"])).unwrap();
    edit(&mut pod);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), pod.to_string()).unwrap();
    s.fails(&[
        "replace",
        "--raw",
        "/api/v1/namespaces/default/pods/web/ephemeralcontainers",
        "-f",
        file.path().to_str().unwrap(),
    ])
}

/// The subresource itself, on the simulated runtime: discovery, `kubectl debug` (its
/// PATCH), the GET, and the 422s of a PUT that removes or changes an ephemeral container.
#[test]
fn ephemeral_containers_subresource() {
    let s = Server::start();
    let discovery: serde_json::Value =
        serde_json::from_str(&s.ok(&["get", "--raw", "/api/v1"])).unwrap();
    let sub = discovery["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods/ephemeralcontainers")
        .cloned();
    assert_eq!(
        sub,
        Some(
            serde_json::json!({"name": "pods/ephemeralcontainers", "singularName": "",
            "namespaced": true, "kind": "Pod", "verbs": ["get", "patch", "update"]})
        )
    );
    s.apply(WEB);
    s.eventually(30, "pod web Running", || {
        pod_field(&s, "web", ".status.phase") == "Running"
    });
    let out = s.kubectl(&[
        "debug",
        "web",
        "--image=busybox:1.28",
        "--container=debugger",
        "--target=web",
        "--",
        "true",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Targeting container \"web\""),
        "{}",
        text(&out)
    );
    let spec = s.ok(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/pods/web/ephemeralcontainers",
    ]);
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    assert_eq!(spec["kind"], "Pod");
    assert_eq!(
        spec["spec"]["ephemeralContainers"][0]["targetContainerName"],
        "web"
    );
    s.eventually(30, "the debugger's status", || {
        ephemeral_status(&s, 0, &[".name"]) == "debugger"
    });
    assert_eq!(ephemeral_status(&s, 0, &[".ready"]), "false");

    // Removing it, or changing it, is refused with upstream's texts.
    let removed = put_ephemeral(&s, |p| {
        p["spec"]["ephemeralContainers"] = serde_json::json!([]);
    });
    assert!(
        removed.contains(
            "Pod \"web\" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger\" may not be removed"
        ),
        "{removed}"
    );
    let changed = put_ephemeral(&s, |p| {
        p["spec"]["ephemeralContainers"][0]["image"] = "busybox:1.36".into();
    });
    assert!(
        changed.contains(
            "Pod \"web\" is invalid: spec.ephemeralContainers.debugger: Forbidden: existing ephemeral containers \"debugger\" may not be changed"
        ),
        "{changed}"
    );
    // One with a port, or a name taken by another container, is refused too.
    let port = put_ephemeral(&s, |p| {
        let list = p["spec"]["ephemeralContainers"].as_array_mut().unwrap();
        list.push(serde_json::json!({"name": "web", "image": "busybox:1.28",
            "ports": [{"containerPort": 80}]}));
    });
    assert!(
        port.contains("spec.ephemeralContainers[1].name: Duplicate value: \"web\"")
            && port.contains(
                "spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container"
            ),
        "{port}"
    );
    // Nor can a pod update change them.
    let err = s.fails(&[
        "patch",
        "pod",
        "web",
        "--type=json",
        "-p",
        r#"[{"op": "remove", "path": "/spec/ephemeralContainers"}]"#,
    ]);
    assert!(
        err.contains("spec: Forbidden: pod updates may not change fields other than"),
        "{err}"
    );
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn kubectl_debug_with_real_containers() {
    assert!(have_script(), "needs script (Debian package bsdutils)");
    busybox_scenario(scenario);
}

fn scenario(s: &Server) {
    let cache = tempfile::tempdir().unwrap();
    let node = node_name(s);
    s.apply(WEB);
    s.eventually(60, "pod web Running", || running_ready(s, "web"));

    // kubectl debug -it --target on a terminal: the debugger is in web's process namespace
    // (its PID 1 is web's sleep; side's sleep is not there), what is typed reaches its shell.
    let line = kubectl_line(
        s,
        cache.path(),
        &[
            "debug",
            "-it",
            "web",
            "--image=busybox:1.28",
            "--target=web",
            "--container=debugger",
            "--",
            "sh",
        ],
    );
    let out = on_terminal(
        &line,
        "echo typed-$((2+3)); ps -o pid,args; echo host=$(hostname); exit 4\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("typed-5\r\n"), "{}", text(&out));
    assert!(
        stdout.lines().any(|l| l.trim() == "1 sleep 3601"),
        "{}",
        text(&out)
    );
    assert!(!stdout.contains("sleep 3602"), "{}", text(&out));
    assert!(stdout.contains("host=web\r\n"), "{}", text(&out));
    s.eventually(30, "the debugger to be terminated with code 4", || {
        ephemeral_status(s, 0, &[".state.terminated.exitCode"]) == "4"
    });
    let id = ephemeral_status(s, 0, &[".containerID"]);
    assert!(id.starts_with("runc://"), "{id}");
    assert!(
        ephemeral_status(s, 0, &[".imageID"]).contains("sha256:"),
        "{}",
        ephemeral_status(s, 0, &[".imageID"])
    );
    assert_eq!(
        ephemeral_status(s, 0, &[".name", ".image", ".ready", ".restartCount"]),
        "debugger busybox:1.28 false 0"
    );
    // Its log has what the shell printed; the pod runs on.
    assert!(s.ok(&["logs", "web", "-c", "debugger"]).contains("typed-5"));
    assert!(running_ready(s, "web"));

    // A second, non-interactive one: started without a target (its own processes), logs.
    s.ok(&[
        "debug",
        "web",
        "--image=busybox:1.28",
        "--container=second",
        "--",
        "sh",
        "-c",
        "echo second-$((3*3)); ps -o pid,args",
    ]);
    s.eventually(60, "the second debugger to end", || {
        ephemeral_status(s, 1, &[".state.terminated.reason"]) == "Completed"
    });
    let log = s.ok(&["logs", "web", "-c", "second"]);
    assert!(log.contains("second-9") && !log.contains("sleep"), "{log}");
    // The first one was never restarted.
    assert_eq!(
        ephemeral_status(s, 0, &[".restartCount", ".state.terminated.exitCode"]),
        "0 4"
    );
    assert_eq!(ephemeral_status(s, 0, &[".containerID"]), id);
    let events = events_of(s, "web");
    assert!(
        events.contains("Started|Started container debugger"),
        "{events}"
    );

    // kubectl debug node/NAME: the host's filesystem at /host, its processes and IPC namespace.
    let marker = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(marker.path(), "marker-from-the-host\n").unwrap();
    let me = std::process::id();
    let ns = |k: &str| std::fs::read_link(format!("/proc/self/ns/{k}")).unwrap();
    let line = kubectl_line(
        s,
        cache.path(),
        &[
            "debug",
            &format!("node/{node}"),
            "-it",
            "--image=busybox:1.28",
        ],
    );
    let typed = format!(
        "cat /host{}; [ -d /proc/{me} ] && echo pid-{me}-seen; echo ipc=$(readlink /proc/self/ns/ipc) pid=$(readlink /proc/self/ns/pid); exit\n",
        marker.path().display()
    );
    let out = on_terminal(&line, &typed);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout.contains("marker-from-the-host"), "{}", text(&out));
    assert!(stdout.contains(&format!("pid-{me}-seen")), "{}", text(&out));
    let want = format!("ipc={} pid={}", ns("ipc").display(), ns("pid").display());
    assert!(stdout.contains(&want), "{want}\n{}", text(&out));
    let pods = s.ok(&["get", "pods", "-o", "name"]);
    let debugger = pods
        .lines()
        .find(|p| p.starts_with(&format!("pod/node-debugger-{node}-")))
        .unwrap_or_else(|| panic!("no node debugger pod in {pods}"))
        .trim_start_matches("pod/")
        .to_string();
    assert_eq!(
        fields(
            s,
            &debugger,
            &[
                ".spec.hostPID",
                ".spec.hostIPC",
                ".spec.hostNetwork",
                ".spec.volumes[0].hostPath.path",
                ".spec.containers[0].volumeMounts[0].mountPath",
            ]
        ),
        "true true true / /host"
    );

    // kubectl debug --copy-to: a copy of the pod (an ordinary create) with the debugger
    // added, attached to.
    let line = kubectl_line(
        s,
        cache.path(),
        &[
            "debug",
            "web",
            "-it",
            "--copy-to=web-copy",
            "--share-processes",
            "--image=busybox:1.28",
            "--container=debugger",
            "--",
            "sh",
        ],
    );
    let out = on_terminal(&line, "echo copy-$((1+1)); ps -o args; exit\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("copy-2\r\n"), "{}", text(&out));
    // --share-processes (given: kubectl changes the copy's setting only when told) puts the
    // copy's containers in one process namespace.
    assert!(
        stdout.contains("sleep 3601") && stdout.contains("sleep 3602"),
        "{}\n{}",
        text(&out),
        s.ok(&["get", "pod", "web-copy", "-o", "yaml"])
    );
    assert_eq!(
        fields(s, "web-copy", &[".spec.containers[*].name"]),
        "web side debugger"
    );
}
