//! Harness for end-to-end tests: a real `ordo server` process on a free loopback port and
//! the real kubectl binary, each test with its own data dir and discovery cache.

#![allow(dead_code)]

pub mod etcd;
pub mod invariants;
pub mod netns;
pub mod real_pods;
pub mod sts;
pub mod terminal;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The kubectl 1.33 binary itself (`/usr/bin/kubectl` is the SDK's dispatcher to it).
pub const KUBECTL_1_33: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

/// A running `ordo server`, stopped (by PID) when dropped.
pub struct Server {
    child: Child,
    pub dir: tempfile::TempDir,
    /// The address it listens on (loopback unless [`Server::start_bound`]).
    pub host: String,
    pub port: u16,
    pub kubeconfig: PathBuf,
    cache: tempfile::TempDir,
    /// kubectl binary used by [`Server::kubectl`].
    pub kubectl_bin: String,
}

/// A loopback port nothing listens on (at the time of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts a server with the SQLite store and the simulated runtime.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// Starts a server with extra flags.
    pub fn start_with(extra: &[&str]) -> Server {
        Self::start_in(tempfile::tempdir().unwrap(), extra)
    }

    /// Starts a server on an existing data directory (for restarts).
    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Server {
        Self::start_in_with_runtime(dir, "sim", extra)
    }

    /// Starts a server with the runc runtime (real pods; needs root). Test images go in
    /// `<data dir>/images/import` first: see [`Server::start_runc_in`].
    pub fn start_runc(extra: &[&str]) -> Server {
        Self::start_in_with_runtime(tempfile::tempdir().unwrap(), "runc", extra)
    }

    /// Starts a runc server on `dir`, which may already hold image archives to import.
    pub fn start_runc_in(dir: tempfile::TempDir, extra: &[&str]) -> Server {
        Self::start_in_with_runtime(dir, "runc", extra)
    }

    /// Starts a server with the given `--runtime` (clap refuses the flag twice).
    pub fn start_in_with_runtime(dir: tempfile::TempDir, runtime: &str, extra: &[&str]) -> Server {
        Self::start_at(dir, "127.0.0.1", free_port(), runtime, extra)
    }

    /// [`Server::start_in_with_runtime`] on a given port (a restart where clients stay pointed
    /// at the old address).
    pub fn start_on_port(
        dir: tempfile::TempDir,
        port: u16,
        runtime: &str,
        extra: &[&str],
    ) -> Server {
        Self::start_at(dir, "127.0.0.1", port, runtime, extra)
    }

    /// Starts a server listening on `host` (an address of this machine) instead of loopback.
    pub fn start_bound(
        dir: tempfile::TempDir,
        host: &str,
        runtime: &str,
        extra: &[&str],
    ) -> Server {
        Self::start_at(dir, host, free_port(), runtime, extra)
    }

    /// Starts a server on `host:port`.
    fn start_at(
        dir: tempfile::TempDir,
        host: &str,
        port: u16,
        runtime: &str,
        extra: &[&str],
    ) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("server.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordo"));
        cmd.arg("server")
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--bind")
            .arg(format!("{host}:{port}"))
            .args(["--runtime", runtime, "--log", "info"])
            .args(extra)
            // Only real-pod tests (run one at a time) take the cluster DNS address; the others
            // pass their own loopback address or none, so parallel servers never compete for it.
            .args(if runtime == "sim" && !extra.contains(&"--cluster-dns") {
                &["--cluster-dns", "none"][..]
            } else {
                &[][..]
            })
            // Image garbage collection off unless the test sets it: the test machine's disk
            // may be fuller than the default threshold, and the collection would remove the
            // imported test images of pods not created yet.
            .args(
                if extra
                    .iter()
                    .any(|a| a.starts_with("--image-gc-high-threshold"))
                {
                    &[][..]
                } else {
                    &["--image-gc-high-threshold=100"][..]
                },
            )
            .stdout(Stdio::null())
            .stderr(log);
        let child = cmd.spawn().expect("starting ordo server");
        let kubeconfig = dir.path().join("kubeconfig.yaml");
        let s = Server {
            child,
            dir,
            host: host.to_string(),
            port,
            kubeconfig,
            cache: tempfile::tempdir().unwrap(),
            kubectl_bin: "/usr/bin/kubectl".into(),
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.kubeconfig.exists()
                && std::net::TcpStream::connect((self.host.as_str(), self.port)).is_ok()
            {
                let out = Command::new("curl")
                    .args([
                        "-sk",
                        &format!("https://{}:{}/readyz", self.host, self.port),
                    ])
                    .output();
                if out.map(|o| o.stdout == b"ok").unwrap_or(false) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("ordo server did not become ready; log:\n{}", self.log());
    }

    /// The `ordo agent ...` arguments of the join command the server printed in its log.
    pub fn join_command(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if let Some(line) = log
                .lines()
                .find(|l| l.trim_start().starts_with("ordo agent --server"))
            {
                return line
                    .split_whitespace()
                    .skip(2)
                    .map(str::to_string)
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "no join command in the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The bearer token.
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pki/token"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Runs kubectl with this server's kubeconfig and a private discovery cache.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_stdin(args, None)
    }

    /// A kubectl command with this server's kubeconfig and discovery cache, not started (for
    /// long-running ones such as `get -w`).
    pub fn kubectl_command(&self, args: &[&str]) -> Command {
        self.kubectl_command_with(&self.kubectl_bin, args)
    }

    /// [`Server::kubectl_command`] with another kubectl binary.
    pub fn kubectl_command_with(&self, kubectl: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(kubectl);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.cache.path())
            .args(args);
        cmd
    }

    /// Runs kubectl with `stdin` fed to it.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut cmd = self.kubectl_command(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("running kubectl");
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Runs kubectl and returns stdout, panicking with stderr on failure.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(&self.kubectl_bin, args)
    }

    /// [`Server::ok`] with another kubectl binary.
    pub fn ok_with(&self, kubectl: &str, args: &[&str]) -> String {
        let out = self
            .kubectl_command_with(kubectl, args)
            .stdin(Stdio::null())
            .output()
            .expect("running kubectl");
        assert!(
            out.status.success(),
            "{kubectl} {args:?} failed:\nstdout: {}\nstderr: {}\nserver log tail:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log())
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs kubectl with `stdin` and returns stdout, panicking with stderr on failure.
    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.kubectl_stdin(args, Some(stdin));
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs kubectl expecting failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} unexpectedly succeeded:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Applies a manifest given as text.
    pub fn apply(&self, manifest: &str) -> String {
        let out = self.kubectl_stdin(&["apply", "-f", "-"], Some(manifest));
        assert!(
            out.status.success(),
            "apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Polls `f` until it returns true (or panics after `secs`).
    pub fn eventually(&self, secs: u64, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "timed out waiting for {what}; server log tail:\n{}",
            tail(&self.log())
        );
    }

    /// Sends SIGTERM and waits.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and returns its data dir.
    pub fn kill9(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// The server process's PID (for signals such as SIGSTOP).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A data dir for a further server of `first`'s cluster on a shared store: a copy of its
/// `DATA/pki` secrets (the server makes its own serving certificate).
pub fn sharing_pki(first: &Server) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pki")).unwrap();
    for f in ["ca.crt", "ca.key", "sa.key", "token", "join-token"] {
        std::fs::copy(
            first.data_dir().join("pki").join(f),
            dir.path().join("pki").join(f),
        )
        .unwrap();
    }
    dir
}

/// Collects what `r` yields (a child's output), on a thread, into a string.
pub fn collect(
    mut r: impl std::io::Read + Send + 'static,
) -> std::sync::Arc<std::sync::Mutex<String>> {
    let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let o = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            o.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    out
}

/// The last 40 lines of a log.
pub fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Splits a kubectl table into rows of whitespace-separated cells.
pub fn table(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// The walkthrough manifest (headless Service + StatefulSet), with a local image name.
pub const WALKTHROUGH: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: nginx-stateful-service
  labels: {app: nginx-stateful-service}
spec:
  ports: [{port: 80, name: web-port}]
  clusterIP: None
  selector: {app: nginx-stateful}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: nginx-statefulset
  labels: {app: nginx-stateful}
spec:
  serviceName: nginx-stateful-service
  replicas: 3
  selector: {matchLabels: {app: nginx-stateful}}
  template:
    metadata: {labels: {app: nginx-stateful}}
    spec:
      containers:
      - name: nginx-container
        image: nginx:1.25.4
        ports: [{containerPort: 80, name: web-port}]
"#;

/// Starts `ordo agent` (simulated runtime) as node `name` of `s`, with node address `ip`.
pub fn sim_agent(s: &Server, name: &str, ip: &str, data: &std::path::Path) -> Child {
    let pki = s.data_dir().join("pki");
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args([
            "agent",
            "--server",
            &format!("https://127.0.0.1:{}", s.port),
        ])
        .args(["--runtime", "sim", "--sim-start-delay-ms", "300"])
        .args(["--node-name", name, "--node-ip", ip])
        .arg("--token-file")
        .arg(pki.join("token"))
        .arg("--ca-file")
        .arg(pki.join("ca.crt"))
        .arg("--data-dir")
        .arg(data)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the server's node and a [`sim_agent`] named `node-2` are both Ready; the name
/// of the server's node.
pub fn server_node_beside_node2(s: &Server) -> String {
    s.eventually(30, "two Ready nodes", || {
        let out = s.ok(&["get", "nodes", "--no-headers"]);
        out.lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
            .count()
            == 2
    });
    s.ok(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[?(@.metadata.name!=\"node-2\")].metadata.name}",
    ])
}

/// The least value `count` gives, sampled every 100 ms on a thread from [`MinWatch::start`] until
/// [`MinWatch::stop`] (for "never fewer than N Ready during a drain").
pub struct MinWatch {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<usize>,
}

impl MinWatch {
    /// Starts sampling.
    pub fn start(count: impl Fn() -> usize + Send + 'static) -> MinWatch {
        use std::sync::atomic::Ordering;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = done.clone();
        let handle = std::thread::spawn(move || {
            let mut min = usize::MAX;
            while !stop.load(Ordering::SeqCst) {
                min = min.min(count());
                std::thread::sleep(Duration::from_millis(100));
            }
            min
        });
        MinWatch { done, handle }
    }

    /// Stops sampling: the least value seen.
    pub fn stop(self) -> usize {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

/// `kubectl drain NODE --ignore-daemonsets --delete-emptydir-data --timeout=180s` of a node
/// whose `web` pods a PodDisruptionBudget guards, while `ready` is sampled: checks that the drain
/// succeeded, cordoned the node, evicted `web` pods, was held back by the budget at least once,
/// and that `ready` never fell below `min`.
pub fn drain_within_budget(
    s: &Server,
    node: &str,
    min: usize,
    ready: impl Fn() -> usize + Send + 'static,
) {
    let watch = MinWatch::start(ready);
    let out = s.kubectl(&[
        "drain",
        node,
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--timeout=180s",
    ]);
    let min_ready = watch.stop();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("node/{node} cordoned")), "{text}");
    assert!(text.contains("evicting pod default/web-"), "{text}");
    assert!(
        text.contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "the budget never held an eviction back: {text}"
    );
    assert!(text.contains(&format!("node/{node} drained")), "{text}");
    assert!(
        min_ready >= min,
        "only {min_ready} Ready pods during the drain: {text}"
    );
}
