//! A real `ordo server` process on a free loopback port, an HTTPS client for it, and the
//! measuring helpers every benchmark shares (percentiles, RSS, bulk creation).

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Name the benchmarks give the local node (`--node-name`).
pub const NODE: &str = "bench-node";

/// A running `ordo server`, stopped with SIGTERM (then SIGKILL) when dropped.
pub struct Server {
    child: Child,
    /// Kept alive for the data directory's lifetime.
    pub dir: tempfile::TempDir,
    pub url: String,
    pub token: String,
    ca: Vec<u8>,
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The `ordo` binary: `--ordo` or `target/release/ordo` of this workspace.
pub fn ordo_bin(given: Option<&Path>) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/ordo"))
}

impl Server {
    /// Starts `ordo server` with `extra` flags on a fresh data dir (or `dir`) and returns it
    /// with the time from spawn to the first `/readyz` 200.
    pub async fn start(
        ordo: &Path,
        dir: Option<tempfile::TempDir>,
        extra: &[&str],
    ) -> Result<(Server, Duration)> {
        let dir = match dir {
            Some(d) => d,
            None => tempfile::Builder::new().prefix("ordo-bench.").tempdir()?,
        };
        let port = free_port()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("server.log"))?;
        // Probe client for readiness only: the CA does not exist before the server creates it.
        let probe = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(2))
            .build()?;
        let ready_url = format!("https://127.0.0.1:{port}/readyz");
        let started = Instant::now();
        let child = Command::new(ordo)
            .arg("server")
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .args(["--node-name", NODE, "--log"])
            .arg(std::env::var("ORDO_BENCH_LOG").unwrap_or_else(|_| "warn".into()))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", ordo.display()))?;
        let mut s = Server {
            child,
            dir,
            url: format!("https://127.0.0.1:{port}"),
            token: String::new(),
            ca: Vec::new(),
        };
        loop {
            if let Ok(r) = probe.get(&ready_url).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if started.elapsed() > Duration::from_secs(60) || s.child.try_wait()?.is_some() {
                bail!("ordo server did not become ready; log:\n{}", s.log());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let ready = started.elapsed();
        let pki = s.dir.path().join("pki");
        s.token = std::fs::read_to_string(pki.join("token"))?
            .trim()
            .to_string();
        s.ca = std::fs::read(pki.join("ca.crt"))?;
        Ok((s, ready))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A new HTTP/1.1 client (its own connection pool) trusting the cluster CA, with the token.
    pub fn client(&self) -> Result<Client> {
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&self.ca)?)
            .http1_only()
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Client {
            http,
            base: self.url.clone(),
            auth: format!("Bearer {}", self.token),
        })
    }

    /// Resident set size of the server process in MiB (`VmRSS`).
    pub fn rss_mib(&self) -> Result<f64> {
        rss_mib(self.child.id())
    }

    /// A `kB` field of the server's `/proc/PID/status`, in MiB.
    pub fn status_mib(&self, field: &str) -> Result<f64> {
        status_mib(self.child.id(), field)
    }

    /// CPU time the server process has used so far (user + system), in seconds. Unlike wall
    /// time it hardly depends on what else runs on the machine: the A/B measure on a shared box.
    pub fn cpu_s(&self) -> Result<f64> {
        cpu_s(self.child.id())
    }

    /// SIGTERM, then SIGKILL after 20 s.
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
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        // Keep the server's log for a look afterwards: `ORDO_BENCH_KEEP_LOG=/path/to/file`.
        if let Some(to) = std::env::var_os("ORDO_BENCH_KEEP_LOG") {
            let _ = std::fs::copy(self.dir.path().join("server.log"), to);
        }
    }
}

/// `VmRSS` of a process in MiB.
pub fn rss_mib(pid: u32) -> Result<f64> {
    status_mib(pid, "VmRSS")
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `RssAnon`, `RssFile`...) in MiB.
pub fn status_mib(pid: u32, field: &str) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

/// Drops `file` from the page cache (`POSIX_FADV_DONTNEED`; its clean pages only).
///
/// The code of a binary counts in `VmRSS` as far as it is mapped, and how far the kernel maps
/// around each page fault depends on the size of the page-cache folios that hold the file,
/// which depends on how the file was last read (a `cp`, `nm` or `perf report` of it leaves
/// large folios). The same binary then shows 36 or 39 MiB idle. Evicting it first makes runs
/// comparable: the pages come back as the server faults them in.
pub fn evict_from_page_cache(file: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    // SAFETY: an advisory call on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        bail!("posix_fadvise of {}: error {rc}", file.display());
    }
    Ok(())
}

/// `utime + stime` of a process from `/proc/PID/stat`, in seconds.
pub fn cpu_s(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at field 3 (`state`).
    let rest = stat.rsplit_once(')').context("malformed /proc/PID/stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).context("no utime")?.parse::<u64>()?
        + f.get(12).context("no stime")?.parse::<u64>()?;
    // /proc reports clock ticks of USER_HZ, which is 100 on every Linux ABI.
    Ok(ticks as f64 / 100.0)
}

/// An authenticated client of one server.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    base: String,
    auth: String,
}

impl Client {
    /// A request to `path` (starting with `/`) with the bearer token.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", &self.auth)
    }

    /// GET `path` as JSON; fails on a non-2xx status.
    pub async fn get(&self, path: &str) -> Result<Value> {
        let r = self.req(reqwest::Method::GET, path).send().await?;
        let code = r.status();
        let body = r.bytes().await?;
        if !code.is_success() {
            bail!("GET {path}: {code}: {}", String::from_utf8_lossy(&body));
        }
        Ok(serde_json::from_slice(&body)?)
    }

    /// POST `obj` to `path`; fails on a non-2xx status.
    pub async fn post(&self, path: &str, obj: &Value) -> Result<Value> {
        let r = self
            .req(reqwest::Method::POST, path)
            .json(obj)
            .send()
            .await?;
        let code = r.status();
        let body = r.bytes().await?;
        if !code.is_success() {
            bail!("POST {path}: {code}: {}", String::from_utf8_lossy(&body));
        }
        Ok(serde_json::from_slice(&body)?)
    }

    /// DELETE `path` (with `gracePeriodSeconds`); 404 counts as done.
    pub async fn delete(&self, path: &str, grace: Option<i64>) -> Result<()> {
        let body = match grace {
            Some(g) => {
                json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": g})
            }
            None => json!({"kind": "DeleteOptions", "apiVersion": "v1"}),
        };
        let r = self
            .req(reqwest::Method::DELETE, path)
            .json(&body)
            .send()
            .await?;
        if !r.status().is_success() && r.status() != reqwest::StatusCode::NOT_FOUND {
            bail!("DELETE {path}: {}", r.status());
        }
        Ok(())
    }
}

/// A pod named `name` in `default`, bound to the bench node when `bound`.
pub fn pod(name: &str, bound: bool) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "load"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.28", "command": ["sleep", "3600"],
                                 "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}
    });
    if bound {
        p["spec"]["nodeName"] = json!(NODE);
    }
    p
}

/// Creates pods `prefix-00000`.. (`n` of them) with `conc` requests in flight; returns the
/// elapsed time.
pub async fn create_pods(
    c: &Client,
    prefix: &str,
    n: usize,
    conc: usize,
    bound: bool,
) -> Result<Duration> {
    let started = Instant::now();
    let mut results = futures::stream::iter(0..n)
        .map(|i| {
            let c = c.clone();
            let name = format!("{prefix}-{i:05}");
            async move {
                c.post("/api/v1/namespaces/default/pods", &pod(&name, bound))
                    .await
            }
        })
        .buffer_unordered(conc);
    while let Some(r) = results.next().await {
        r?;
    }
    Ok(started.elapsed())
}

/// The `p`-quantile (0..=1) of sorted samples.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// Prints one machine-readable result line: `RESULT bench key=value ...`.
pub fn result(bench: &str, fields: &[(&str, String)]) {
    let f: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("RESULT {bench} {}", f.join(" "));
}

/// The 1-minute load average, for noting how busy the machine was.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}
