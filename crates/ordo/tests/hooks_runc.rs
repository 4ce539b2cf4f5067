//! End-to-end with real containers: `postStart` hooks. An exec hook's effect is visible in the
//! container; an httpGet hook reaches a server of the test on 127.0.0.1; a failing hook gives
//! the kubelet's `FailedPostStartHook` and `Killing` events, kills the container (exit 137)
//! and has it restarted with back-off (or, under `restartPolicy: Never`, fails the pod).
//!
//! Needs root and runc; runs under the real-pods lock. Traffic stays on 127.0.0.1.

mod common;
use common::real_pods::*;
use common::Server;
use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};

/// A server on 127.0.0.1 that answers every request with 200 and records its request line.
fn http_recorder() -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    std::thread::spawn(move || {
        for mut conn in l.incoming().map_while(Result::ok) {
            let mut line = String::new();
            let _ = BufReader::new(&conn).read_line(&mut line);
            s.lock().unwrap().push(line.trim_end().to_string());
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (port, seen)
}

/// A pod of `sleep` containers, each with the `postStart` hook given (as YAML flow).
fn pod_with_hooks(name: &str, hooks: &[(&str, String)]) -> String {
    let containers: Vec<String> = hooks
        .iter()
        .map(|(c, hook)| {
            format!("{{name: {c}, image: busybox:1.28, command: [sleep, '3600'], lifecycle: {{postStart: {hook}}}}}")
        })
        .collect();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec: {{terminationGracePeriodSeconds: 1, containers: [{}]}}\n",
        containers.join(", ")
    )
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn post_start_hooks() {
    busybox_scenario(scenario);
}

fn scenario(s: &Server) {
    let (port, seen) = http_recorder();
    s.apply(&pod_with_hooks(
        "hooked",
        &[
            (
                "app",
                "{exec: {command: [sh, -c, 'echo started by the hook > /tmp/hook']}}".into(),
            ),
            (
                "web",
                format!("{{httpGet: {{host: 127.0.0.1, port: {port}, path: /started}}}}"),
            ),
        ],
    ));
    let failing = [(
        "app",
        "{exec: {command: [sh, -c, 'echo no; exit 3']}}".into(),
    )];
    s.apply(&pod_with_hooks("failing", &failing));
    // Under restartPolicy Never the killed container stays terminated: the pod fails.
    let never =
        pod_with_hooks("never", &failing).replace("spec: {", "spec: {restartPolicy: Never, ");
    s.apply(&never);
    s.eventually(90, "hooked Running", || {
        pod_field(s, "hooked", ".status.phase") == "Running"
    });
    assert_eq!(
        s.ok(&["exec", "hooked", "-c", "app", "--", "cat", "/tmp/hook"]),
        "started by the hook\n"
    );
    s.eventually(10, "the httpGet hook", || {
        seen.lock()
            .unwrap()
            .iter()
            .any(|l| l == "GET /started HTTP/1.1")
    });
    assert_eq!(
        pod_field(s, "hooked", ".status.containerStatuses[*].restartCount"),
        "0 0"
    );
    // The failing hook: events, the container killed and restarted.
    s.eventually(60, "failing restarted", || {
        pod_field(s, "failing", ".status.containerStatuses[0].restartCount")
            .parse::<i32>()
            .unwrap_or(0)
            >= 1
    });
    assert_eq!(
        pod_field(
            s,
            "failing",
            ".status.containerStatuses[0].lastState.terminated.exitCode"
        ),
        "137"
    );
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=failing",
        "-o",
        "jsonpath={range .items[*]}{.reason}|{.message}{\"\\n\"}{end}",
    ]);
    for want in [
        "FailedPostStartHook|PostStartHook failed",
        "Killing|FailedPostStartHook",
    ] {
        assert!(
            events.lines().any(|l| l == want),
            "{want:?} not in:\n{events}"
        );
    }
    // Waiting for the next restart: PostStartHookError or, once the back-off shows,
    // CrashLoopBackOff.
    s.eventually(30, "the waiting reason", || {
        let w = pod_field(
            s,
            "failing",
            ".status.containerStatuses[0].state.waiting.reason",
        );
        w == "CrashLoopBackOff" || w == "PostStartHookError"
    });
    s.eventually(30, "never Failed", || {
        pod_field(s, "never", ".status.phase") == "Failed"
    });
    let term = ".status.containerStatuses[0].state.terminated";
    assert_eq!(pod_field(s, "never", &format!("{term}.exitCode")), "137");
    assert_eq!(
        pod_field(s, "never", ".status.containerStatuses[0].restartCount"),
        "0"
    );
    let uid = pod_field(s, "failing", ".metadata.uid");
    let want = format!(
        "Exec lifecycle hook ([sh -c echo no; exit 3]) for Container \"app\" in Pod \"failing_default({uid})\" failed - error: command 'sh -c echo no; exit 3' exited with 3: no"
    );
    assert!(s.log().contains(&want), "{want:?} not logged");
}
