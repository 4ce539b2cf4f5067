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
use std::io::{BufRead, Read, Write};
use std::process::{Command, Output, Stdio};

/// kubectl with `stdin` piped, speaking SPDY/3.1 instead of WebSocket (as kubectl < 1.30).
fn kubectl_spdy(s: &Server, args: &[&str], stdin: &str) -> Output {
    with_input(
        s.kubectl_command(args)
            .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "false"),
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
    let mut attach = s
        .kubectl_command(&["attach", "bb"])
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

/// A process whose output is collected as it comes and whose stdin stays open, to type into
/// it step by step (`script` giving kubectl a terminal, or kubectl with piped stdin).
struct Interactive {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    out: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Interactive {
    fn spawn(cmd: &mut Command) -> Interactive {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning");
        let out = common::collect(child.stdout.take().unwrap());
        Interactive {
            stdin: child.stdin.take(),
            child,
            out,
        }
    }

    /// Runs the shell command `line` on a pseudoterminal made by `script`.
    fn terminal(line: &str) -> Interactive {
        Interactive::spawn(Command::new("script").args(["-qfec", line, "/dev/null"]))
    }

    fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits (up to a minute) until the output has `what` after `after`, and returns the
    /// output from `what` on.
    fn wait_for(&self, what: &str, after: &str) -> String {
        for _ in 0..600 {
            let out = self.out.lock().unwrap().clone();
            if let Some(i) = out.find(after) {
                if let Some(j) = out[i..].find(what) {
                    return out[i + j..].to_string();
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "no {what:?} after {after:?} in the output:\n{}",
            self.out.lock().unwrap()
        );
    }

    /// Kills the process (by its pid) and reaps it.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes its stdin and waits for it to exit: its exit code and output.
    fn finish(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let st = self.child.wait().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let out = self.out.lock().unwrap().clone();
        (st.code(), out)
    }
}

/// The word made of `[A-Za-z0-9-]` that starts `s`.
fn word(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(s.len());
    &s[..end]
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn attach_after_restart() {
    assert!(have_script(), "needs script (Debian package bsdutils)");
    let Some((data, _lock)) = with_real_pods(&[], after_restart) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn after_restart(server: &mut Option<Server>) {
    let cache = tempfile::tempdir().unwrap();
    let s = server.as_ref().unwrap();
    s.eventually(30, "the node", || {
        s.ok(&["get", "nodes", "-o", "name"]).starts_with("node/")
    });

    // `kubectl run -it`: a shell on a terminal, which sets a variable only it knows.
    let mut run = Interactive::terminal(&kubectl_line(
        s,
        cache.path(),
        &[
            "run",
            "-it",
            "keep",
            "--image=busybox:1.28",
            "--restart=Never",
            "--",
            "sh",
        ],
    ));
    run.send("MARK=kept-$RANDOM$RANDOM; echo set-$MARK\n");
    let mark = word(&run.wait_for("set-kept-", "")["set-".len()..]).to_string();
    // The client goes away (its terminal with it); the shell stays.
    run.kill();

    // A container reading piped stdin (no terminal), attached once before the restart.
    s.apply(
        r#"apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  containers:
  - name: reader
    image: busybox:1.28
    command: [sh, -c, 'while read l; do echo got-$l; done; echo reader-eof']
    stdin: true
---
apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  containers:
  - name: once
    image: busybox:1.28
    command: [sh, -c, 'while read l; do echo once-$l; done; echo once-eof']
    stdin: true
    stdinOnce: true
"#,
    );
    for p in ["reader", "once"] {
        s.eventually(60, &format!("pod {p} Running"), || {
            pod_field(s, p, ".status.phase") == "Running"
        });
    }
    let attach_reader =
        |s: &Server| Interactive::spawn(&mut s.kubectl_command(&["attach", "-i", "reader"]));
    let mut a = attach_reader(s);
    a.send("one\n");
    a.wait_for("got-one\n", "");
    a.kill();
    assert_eq!(pod_field(s, "keep", ".status.phase"), "Running");
    let mut shims = helper_processes(s.data_dir(), "stdio-shim");
    shims.sort();
    assert_eq!(shims.len(), 3, "a stdio shim per stdin/tty container");

    // ordo dies (SIGKILL) and comes back on the same data dir.
    let s = restart_killed(server);
    let mut after = helper_processes(s.data_dir(), "stdio-shim");
    after.sort();
    assert_eq!(after, shims, "the stdio shims outlived ordo");

    // kubectl attach -it reaches the same shell: its variable is still set, the terminal is
    // sized as the client's, and its exit ends the attach.
    let mut att = Interactive::terminal(&format!(
        "stty cols 111 rows 33; {}",
        kubectl_line(s, cache.path(), &["attach", "-it", "keep"])
    ));
    att.send("echo still-$MARK\n");
    let still = word(&att.wait_for("still-kept-", ""))["still-".len()..].to_string();
    assert_eq!(still, mark, "the same shell");
    att.send("for i in $(seq 100); do z=$(stty size); [ \"$z\" = '33 111' ] && break; sleep 0.1; done; echo size-${z% *}x${z#* }\n");
    att.wait_for("size-33x111", "");
    att.send("exit 3\n");
    let (rc, out) = att.finish();
    assert_eq!(rc, Some(0), "kubectl attach: {out}");
    // Its stdio shim reaped it and recorded its exit code, which the restarted ordo reads.
    s.eventually(30, "pod keep Failed with exit code 3", || {
        pod_field(
            s,
            "keep",
            ".status.phase} {.status.containerStatuses[0].state.terminated.exitCode",
        ) == "Failed 3"
    });
    assert_eq!(
        pod_field(s, "keep", ".status.containerStatuses[0].restartCount"),
        "0"
    );
    // The shim wrote the log across the restart.
    let log = s.ok(&["logs", "keep"]);
    assert!(
        log.contains(&format!("set-{mark}")) && log.contains(&format!("still-{mark}")),
        "{log}"
    );

    // The piped reader still reads.
    let mut a = attach_reader(s);
    a.send("two\n");
    a.wait_for("got-two\n", "");
    a.kill();
    let log = s.ok(&["logs", "reader"]);
    assert!(log.contains("got-one\ngot-two\n"), "{log}");
    assert_eq!(pod_field(s, "reader", ".status.phase"), "Running");

    // stdinOnce: the first attach (after the restart) ends the container's stdin.
    let out = with_input(&mut s.kubectl_command(&["attach", "-i", "once"]), "x\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("once-x\nonce-eof\n"),
        "{}",
        text(&out)
    );
    s.eventually(30, "pod once Succeeded", || {
        pod_field(s, "once", ".status.phase") == "Succeeded"
    });

    // A terminal container that exits is restarted with a new shim on the same socket path
    // (the old shim, exiting, leaves the new socket alone), and its exit code is recorded.
    s.apply(
        r#"apiVersion: v1
kind: Pod
metadata: {name: again}
spec:
  containers:
  - {name: again, image: busybox:1.28, command: [sh], stdin: true, tty: true}
"#,
    );
    s.eventually(60, "pod again Running", || {
        pod_field(s, "again", ".status.phase") == "Running"
    });
    let mut att =
        Interactive::terminal(&kubectl_line(s, cache.path(), &["attach", "-it", "again"]));
    att.send("echo first-$((2*2)); exit 4\n");
    att.wait_for("first-4", "");
    att.finish();
    s.eventually(60, "pod again restarted after exit code 4", || {
        pod_field(
            s,
            "again",
            ".status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.exitCode} {.status.containerStatuses[0].state.running.startedAt",
        )
        .starts_with("1 4 2")
    });
    let mut att =
        Interactive::terminal(&kubectl_line(s, cache.path(), &["attach", "-it", "again"]));
    att.send("echo second-$((3*3))\n");
    att.wait_for("second-9", "");
    att.kill();

    // Deleting the pods leaves no shim and no socket behind.
    s.ok(&["delete", "pod", "--all", "--wait=false"]);
    pods_gone_and_node_clean(s);
}
