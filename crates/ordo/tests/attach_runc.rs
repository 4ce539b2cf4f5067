//! End-to-end with real containers and the real kubectl: `kubectl run -i --rm` with piped
//! stdin, `kubectl run -it` and `kubectl attach -it` on a terminal (driven through `script`,
//! which gives kubectl a pseudoterminal), `kubectl exec -it` with terminal resize, and attach to
//! an ordinary container (its log, followed). Exit codes come back as kubectl's own.
//!
//! Needs root, runc and `script` (util-linux); skipped otherwise. Runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::terminal::*;
use common::Server;
use std::io::{BufRead, Read};
use std::process::{Command, Output, Stdio};

/// kubectl with `stdin` piped, speaking SPDY/3.1 instead of WebSocket (as kubectl < 1.30).
fn kubectl_spdy(s: &Server, cache: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    with_input(
        Command::new(&s.kubectl_bin)
            .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "false")
            .arg("--kubeconfig")
            .arg(&s.kubeconfig)
            .arg("--cache-dir")
            .arg(cache)
            .args(args),
        stdin,
    )
}

/// `kubectl exec -it bb` (after `env`) on a 123x45 terminal: the command waits for the size to
/// arrive (asynchronously, on the resize channel; busybox's `stty size` fails while there is
/// none), prints its tty and size, and exits 7.
fn exec_tty_sized(s: &Server, cache: &std::path::Path, env: &str) -> Output {
    let wait_size = "for i in $(seq 100); do s=$(stty size 2>/dev/null); [ -n \"$s\" ] && [ \"$s\" != '0 0' ] && break; sleep 0.1; done; tty; stty size; exit 7";
    let line = format!(
        "stty cols 123 rows 45; {env}{}",
        kubectl_line(
            s,
            cache,
            &["exec", "-it", "bb", "--", "sh", "-c", wait_size]
        )
    );
    on_terminal(&line, "")
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn run_attach_and_exec_with_stdin_and_terminals() {
    assert!(have_script(), "needs script (Debian package bsdutils)");
    let Some((data, _lock)) = with_real_pods(&[], |server| scenario(server.as_ref().unwrap()))
    else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn scenario(s: &Server) {
    let cache = tempfile::tempdir().unwrap();
    node_name(s);

    // kubectl run -i --rm with stdin piped (no terminal): the shell reads it, its output comes
    // back, its exit code becomes kubectl's, and the pod is deleted.
    let out = s.kubectl_stdin(
        &[
            "run",
            "-i",
            "--rm",
            "--restart=Never",
            "--image",
            "busybox:1.28",
            "t",
            "--",
            "sh",
        ],
        Some("hostname; echo hi; exit 3\n"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(stdout.starts_with("t\nhi\n"), "{}", text(&out));
    assert!(stdout.contains("pod \"t\" deleted"), "{}", text(&out));
    s.eventually(30, "pod t to be gone", || {
        s.kubectl(&["get", "pod", "t"]).status.code() == Some(1)
    });

    // Walkthrough step 2: kubectl run -it on a terminal; what is typed reaches the shell.
    let line = kubectl_line(
        s,
        cache.path(),
        &[
            "run",
            "-it",
            "--rm",
            "--image",
            "busybox:1.28",
            "dns-test",
            "--restart=Never",
            "--",
            "/bin/sh",
        ],
    );
    let out = on_terminal(&line, "echo typed-$((2+3)); tty\nexit\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout.contains("typed-5\r\n"), "{}", text(&out));
    assert!(stdout.contains("/dev/pts/0\r\n"), "{}", text(&out));
    s.eventually(30, "pod dns-test to be gone", || {
        s.kubectl(&["get", "pod", "dns-test"]).status.code() == Some(1)
    });

    // A running stdin+tty pod: kubectl attach -it; the container's exit ends the attach and
    // its exit code is in the pod's status.
    s.apply(
        r#"apiVersion: v1
kind: Pod
metadata: {name: shell}
spec:
  restartPolicy: Never
  containers:
  - {name: shell, image: busybox:1.28, command: [sh], stdin: true, tty: true}
"#,
    );
    s.eventually(60, "pod shell Running", || {
        s.ok(&["get", "pod", "shell", "-o", "jsonpath={.status.phase}"]) == "Running"
    });
    let line = kubectl_line(s, cache.path(), &["attach", "-it", "shell"]);
    let out = on_terminal(&line, "echo attached-$((6*7))\nexit 5\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("attached-42\r\n"),
        "{}",
        text(&out)
    );
    s.eventually(30, "pod shell Failed with exit code 5", || {
        s.ok(&[
            "get",
            "pod",
            "shell",
            "-o",
            "jsonpath={.status.phase} {.status.containerStatuses[0].state.terminated.exitCode}",
        ]) == "Failed 5"
    });
    // What the shell printed is in its log too.
    assert!(s.ok(&["logs", "shell"]).contains("attached-42"));

    // kubectl exec -it: a terminal in an ordinary container, sized by the client's terminal
    // (resize on channel 4), the command's exit code as kubectl's.
    s.ok(&[
        "run",
        "bb",
        "--image=busybox:1.28",
        "--restart=Never",
        "--",
        "sh",
        "-c",
        "while [ ! -f /tmp/go ]; do echo tick; sleep 0.2; done; echo done",
    ]);
    s.eventually(60, "pod bb Running", || {
        s.ok(&["get", "pod", "bb", "-o", "jsonpath={.status.phase}"]) == "Running"
    });
    // WebSocket, then SPDY/3.1 (kubectl < 1.30).
    for env in ["", "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false "] {
        let out = exec_tty_sized(s, cache.path(), env);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(7), "{env}{}", text(&out));
        assert!(stdout.contains("/dev/pts/"), "{env}{}", text(&out));
        assert!(stdout.contains("45 123\r\n"), "{env}{}", text(&out));
    }

    // SPDY/3.1 without a terminal: exec with stdin and an exit code, and run -i --rm.
    let out = kubectl_spdy(
        s,
        cache.path(),
        &[
            "exec",
            "-i",
            "bb",
            "--",
            "sh",
            "-c",
            "cat; echo err >&2; exit 4",
        ],
        "over spdy\n",
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "over spdy\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("err\n"),
        "{}",
        text(&out)
    );
    let out = kubectl_spdy(
        s,
        cache.path(),
        &[
            "run",
            "-i",
            "--rm",
            "--restart=Never",
            "--image",
            "busybox:1.28",
            "t2",
            "--",
            "sh",
        ],
        "echo via-$((1+1)); exit 0\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("via-2\n"),
        "{}",
        text(&out)
    );

    // kubectl attach to an ordinary container: its log from now on, until it exits.
    let mut attach = Command::new(&s.kubectl_bin)
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .arg("--cache-dir")
        .arg(cache.path())
        .args(["attach", "bb"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(attach.stdout.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    assert_eq!(first, "tick\n", "the attach follows the log");
    s.ok(&["exec", "bb", "--", "touch", "/tmp/go"]);
    let mut rest = String::new();
    lines.read_to_string(&mut rest).unwrap();
    let status = attach.wait().unwrap();
    assert!(status.success(), "kubectl attach: {status:?}");
    assert!(rest.ends_with("done\n"), "{rest}");

    s.ok(&["delete", "pod", "shell", "bb", "--wait=true"]);
    s.eventually(30, "the node to clean up", || {
        leftovers(s.data_dir()).is_empty()
    });
}
