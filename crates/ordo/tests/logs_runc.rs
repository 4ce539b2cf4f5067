//! End-to-end `kubectl logs` with real containers: CRI log files written by a log shim per
//! container, read back with `--timestamps`, `--since`, `--since-time`, `--tail` and `-f`,
//! stderr included; a container keeps logging across an ordo restart (its shim outlives
//! ordo), and the shim is gone once the pod is deleted. A `stdin` container (output held by
//! ordo) writes the same format.
//!
//! Shims are found in /proc by their command line (`log-shim` and the data dir) and are only
//! looked at, never signalled.
//!
//! Needs root and runc; skipped otherwise. Runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::Server;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const TALKER: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: talker
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: talker
    image: busybox:1.28
    command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo out-$i; echo err-$i >&2; sleep 0.2; done"]
"#;

const HELD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: held
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: held
    image: busybox:1.28
    stdin: true
    command: ["sh", "-c", "echo held-out; echo held-err >&2; exec sleep 3600"]
"#;

/// The PIDs of the log shims of the server on `data` (read from /proc, never signalled),
/// zombies left out.
fn shims(data: &Path) -> Vec<i32> {
    let d = data.to_string_lossy().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(" log-shim ") && cmd.contains(&d) && !zombie(pid) {
            out.push(pid);
        }
    }
    out
}

fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit_once(") ").is_none_or(|(_, r)| r.starts_with('Z')))
        .unwrap_or(true)
}

/// The session of a process (field 6 of its stat).
fn session(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let (_, rest) = stat.rsplit_once(") ").unwrap();
    rest.split(' ').nth(3).unwrap().parse().unwrap()
}

/// The numbers `n` of the `<prefix>-n` lines of `text`.
fn numbers(text: &str, prefix: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.rsplit(' ').next()?.strip_prefix(prefix)?.parse().ok())
        .collect()
}

/// A `--timestamps` line's time: RFC3339 in UTC with nanoseconds.
fn timestamp(line: &str) -> &str {
    let (t, _) = line.split_once(' ').expect(line);
    let b = t.as_bytes();
    assert!(
        t.len() == 30 && b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && t.ends_with('Z'),
        "not an RFC3339Nano time: {line:?}"
    );
    t
}

/// What kubectl prints (empty when it fails: the pod may not be running yet).
fn quiet(s: &Server, args: &[&str]) -> String {
    String::from_utf8_lossy(&s.kubectl(args).stdout).into_owned()
}

fn pod_uid(s: &Server, pod: &str) -> String {
    s.ok(&["get", "pod", pod, "-o", "jsonpath={.metadata.uid}"])
}

fn check_logs(s: &Server) {
    let plain = s.ok(&["logs", "talker"]);
    assert!(plain.lines().any(|l| l == "out-1"), "{plain}");
    assert!(
        plain.lines().any(|l| l == "err-1"),
        "stderr included: {plain}"
    );
    // --timestamps: an increasing RFC3339Nano time in front of each line.
    let stamped = s.ok(&["logs", "talker", "--timestamps"]);
    let times: Vec<&str> = stamped.lines().map(timestamp).collect();
    assert!(times.len() >= 6, "{stamped}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{stamped}");
    assert!(stamped.lines().any(|l| l.ends_with(" out-1")), "{stamped}");
    // --since / --since-time.
    assert!(numbers(&s.ok(&["logs", "talker", "--since=1h"]), "out-").contains(&1));
    assert_eq!(
        s.ok(&["logs", "talker", "--since-time=2099-01-01T00:00:00Z"]),
        ""
    );
    // kubectl sends sinceTime with whole seconds (metav1.Time).
    let later = times[times.len() / 2];
    let since = s.ok(&[
        "logs",
        "talker",
        "--timestamps",
        &format!("--since-time={later}"),
    ]);
    assert!(
        !since.is_empty() && since.lines().all(|l| timestamp(l)[..19] >= later[..19]),
        "{since}"
    );
    // --tail.
    assert_eq!(s.ok(&["logs", "talker", "--tail=2"]).lines().count(), 2);
    // --limit-bytes: the first line's first bytes (either stream's line may come first).
    let head = s.ok(&["logs", "talker", "--limit-bytes=4"]);
    assert!(head == "out-" || head == "err-", "{head:?}");
}

/// `kubectl logs -f` sees lines written after it started.
fn check_follow(s: &Server) {
    let mut child = s
        .kubectl_command(&["logs", "-f", "talker", "--tail=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.len() < 6 && Instant::now() < deadline {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        seen.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    let outs = numbers(&seen.concat(), "out-");
    assert!(
        seen.len() >= 6 && outs.windows(2).all(|w| w[1] == w[0] + 1) && outs.len() >= 2,
        "kubectl logs -f: {seen:?}"
    );
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn logs_carry_times_survive_restarts_and_leave_nothing() {
    let Some((data, _lock)) = with_real_pods(&[], |server| {
        let s = server.as_ref().unwrap();
        s.apply(TALKER);
        s.apply(HELD);
        s.eventually(60, "talker logging", || {
            numbers(&quiet(s, &["logs", "talker"]), "out-").len() >= 5
        });
        let data = s.data_dir().to_path_buf();
        let uid = pod_uid(s, "talker");
        let file = std::fs::read_to_string(data.join(format!("pods/{uid}/talker.log"))).unwrap();
        let first = file.lines().next().unwrap();
        assert!(
            first
                .split(' ')
                .nth(1)
                .is_some_and(|s| s == "stdout" || s == "stderr")
                && first.split(' ').nth(2) == Some("F"),
            "a CRI record: {first:?}"
        );
        check_logs(s);
        check_follow(s);

        // One shim, in a session of its own.
        let pids = shims(&data);
        assert_eq!(
            pids.len(),
            1,
            "one log shim per ordinary container: {pids:?}"
        );
        assert_eq!(session(pids[0]), pids[0], "the shim leads its own session");

        // The stdin container: ordo writes its log, in the same format.
        s.eventually(60, "held's log", || {
            let mut l: Vec<String> = quiet(s, &["logs", "held"])
                .lines()
                .map(String::from)
                .collect();
            l.sort();
            l == ["held-err", "held-out"]
        });
        let held = s.ok(&["logs", "held", "--timestamps"]);
        assert_eq!(held.lines().map(timestamp).count(), 2, "{held}");
        s.ok(&["delete", "pod", "held", "--wait=true"]);

        // Restart ordo: the container keeps logging while it is away, and after.
        let id = s.ok(&[
            "get",
            "pod",
            "talker",
            "-o",
            "jsonpath={.status.containerStatuses[0].containerID}",
        ]);
        let mut old = server.take().unwrap();
        old.stop();
        let before = std::fs::read_to_string(data.join(format!("pods/{uid}/talker.log")))
            .unwrap()
            .len();
        std::thread::sleep(Duration::from_secs(2));
        let during = std::fs::read_to_string(data.join(format!("pods/{uid}/talker.log")))
            .unwrap()
            .len();
        assert!(during > before, "the shim logs while ordo is down");
        assert_eq!(shims(&data), pids, "the shim outlived ordo");
        let dir = std::mem::replace(&mut old.dir, tempfile::tempdir().unwrap());
        *server = Some(Server::start_runc_in(dir, &["--bridge", BRIDGE]));
        let s = server.as_ref().unwrap();
        s.eventually(60, "talker adopted", || {
            s.ok(&[
                "get",
                "pod",
                "talker",
                "-o",
                "jsonpath={.status.containerStatuses[0].containerID}",
            ]) == id
        });
        let n = numbers(&s.ok(&["logs", "talker"]), "out-").len();
        s.eventually(20, "new lines after the restart", || {
            numbers(&quiet(s, &["logs", "talker"]), "out-").len() > n + 3
        });
        let outs = numbers(&s.ok(&["logs", "talker"]), "out-");
        assert!(
            outs.iter().enumerate().all(|(i, n)| *n == i as u64 + 1),
            "no line lost across the restart: {outs:?}"
        );
        check_logs(s);

        // Deleting the pod ends its shim.
        s.ok(&["delete", "pod", "talker", "--wait=true"]);
        s.eventually(20, "the shim to exit", || shims(&data).is_empty());
        s.eventually(20, "the node to clean up", || {
            leftovers(s.data_dir()).is_empty()
        });
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
    assert_eq!(shims(&data), Vec::<i32>::new());
}
