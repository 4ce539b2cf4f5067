//! Real pods: `ordo` pod create → Ready with runc, against a raw `runc run -d` of the same
//! bundle (the `config.json` ordo generated, the same image layers) plus a veth pair into a
//! fresh network namespace, measured alternately in one run. Needs root, runc and the images
//! of `images/build.sh`. Everything it creates is removed; no traffic leaves loopback.

use crate::server::{ms, pct, result, Client, Server};
use anyhow::{bail, ensure, Context, Result};
use futures::StreamExt;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BRIDGE: &str = "obench0";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sh(prog: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {prog}"))?;
    ensure!(
        out.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Waits until pod `name` has condition Ready=True; watches from `rv`.
async fn wait_ready(c: &Client, name: &str, rv: &str) -> Result<Value> {
    let path = format!("/api/v1/namespaces/default/pods?watch=true&fieldSelector=metadata.name%3D{name}&resourceVersion={rv}");
    let r = c.req(reqwest::Method::GET, &path).send().await?;
    let mut body = r.bytes_stream();
    let mut buf = Vec::new();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(60), body.next())
            .await
            .context("pod not Ready in 60 s")?
            .context("watch ended")??;
        buf.extend_from_slice(&chunk);
        while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let ev: Value = serde_json::from_slice(&line)?;
            let conds = ev["object"]["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if conds
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
            {
                return Ok(ev["object"].clone());
            }
        }
    }
}

/// The bundle of a running ordo pod, reusable for a raw runc run.
struct Bundle {
    config: Value,
    lowerdir: String,
    pod_dir: PathBuf,
}

fn capture_bundle(data: &Path, uid: &str) -> Result<Bundle> {
    let pod_dir = data.join("pods").join(uid);
    let cdir = pod_dir.join("containers/c");
    let config: Value = serde_json::from_slice(&std::fs::read(cdir.join("config.json"))?)?;
    let rootfs = cdir.join("rootfs").display().to_string();
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    let line = info
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(rootfs.as_str()))
        .context("ordo pod rootfs is not an overlay mount")?;
    let lowerdir = line
        .split(',')
        .find_map(|o| o.strip_prefix("lowerdir="))
        .context("no lowerdir")?
        .to_string();
    Ok(Bundle {
        config,
        lowerdir,
        pod_dir,
    })
}

/// Prepares the baseline's bundle directory (copies of the pod files, rewritten config).
fn baseline_dir(b: &Bundle, work: &Path, i: usize) -> Result<PathBuf> {
    let dir = work.join(format!("b{i}"));
    for d in ["rootfs", "upper", "work"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    let mut cfg = b.config.clone();
    cfg["root"]["path"] = json!(dir.join("rootfs"));
    cfg["linux"]["cgroupsPath"] = json!(format!("/ordo-bench/b{i}"));
    if let Some(ns) = cfg["linux"]["namespaces"].as_array_mut() {
        for n in ns.iter_mut().filter(|n| n["type"] == "network") {
            n["path"] = json!(format!("/run/netns/obench-b{i}"));
        }
    }
    let pod_dir = b.pod_dir.display().to_string();
    if let Some(mounts) = cfg["mounts"].as_array_mut() {
        for m in mounts.iter_mut() {
            if let Some(src) = m["source"].as_str().filter(|s| s.starts_with(&pod_dir)) {
                let copy = dir.join(Path::new(src).file_name().unwrap_or_default());
                let _ = std::fs::copy(src, &copy);
                m["source"] = json!(copy);
            }
        }
    }
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&cfg)?)?;
    Ok(dir)
}

/// The baseline: netns + veth pair + addresses, overlay root, `runc run -d`. Returns its time.
fn baseline_run(b: &Bundle, dir: &Path, i: usize) -> Result<Duration> {
    let (ns, veth) = (format!("obench-b{i}"), format!("obv{i}"));
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        b.lowerdir,
        dir.join("upper").display(),
        dir.join("work").display()
    );
    let t = Instant::now();
    sh("ip", &["netns", "add", &ns])?;
    sh(
        "ip",
        &[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ],
    )?;
    sh(
        "ip",
        &["-n", &ns, "addr", "add", "10.250.0.2/24", "dev", "eth0"],
    )?;
    sh("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
    sh("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
    sh("ip", &["link", "set", &veth, "up"])?;
    sh(
        "mount",
        &[
            "-t",
            "overlay",
            "overlay",
            "-o",
            &opts,
            &dir.join("rootfs").display().to_string(),
        ],
    )?;
    // The container inherits runc's stdio: no pipes, or waiting for their end would hang.
    let id = format!("ordo-bench-b{i}");
    let bundle = dir.display().to_string();
    let st = Command::new("timeout")
        .args([
            "30",
            "runc",
            "--root",
            "/run/ordo-bench-runc",
            "run",
            "-d",
            "--bundle",
            &bundle,
            &id,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    ensure!(st.success(), "runc run failed: {st}");
    Ok(t.elapsed())
}

fn baseline_cleanup(dir: &Path, i: usize) {
    let _ = sh(
        "runc",
        &[
            "--root",
            "/run/ordo-bench-runc",
            "delete",
            "-f",
            &format!("ordo-bench-b{i}"),
        ],
    );
    let _ = sh("umount", &[&dir.join("rootfs").display().to_string()]);
    let _ = sh("ip", &["netns", "del", &format!("obench-b{i}")]);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir("/sys/fs/cgroup/ordo-bench");
}

/// Leftovers of either side: namespaces and links named by this benchmark or its bridge.
fn leftovers() -> Vec<String> {
    let mut found = Vec::new();
    for (args, pat) in [
        (&["netns", "list"][..], "obench"),
        (&["-o", "link", "show"][..], BRIDGE),
        (&["-o", "link", "show"][..], "obv"),
    ] {
        if let Ok(out) = Command::new("ip").args(args).output() {
            found.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|l| l.contains(pat))
                    .map(|l| l.chars().take(80).collect::<String>()),
            );
        }
    }
    found
}

/// Runs `samples` ordo pods and `samples` baselines, alternately.
pub async fn run(ordo: &Path, samples: usize) -> Result<()> {
    ensure!(
        Command::new("id").arg("-u").output()?.stdout == b"0\n",
        "the runc benchmark needs root"
    );
    sh("runc", &["--version"])?;
    sh(
        "bash",
        &[&repo().join("images/build.sh").display().to_string()],
    )?;
    // Real-pod tests of the workspace take this lock too (they share ip_forward and routes).
    let lock = std::fs::File::create("/tmp/ordo-real-pods.lock")?;
    lock.lock()?;
    let before = leftovers();
    ensure!(
        before.is_empty(),
        "leftovers from an earlier run: {before:?}"
    );
    // `ip netns add` turns /run/netns into a shared bind mount the first time; doing that now,
    // before ordo mounts pod namespaces there, keeps the baseline from hiding ordo's mounts.
    sh("ip", &["netns", "add", "obench-probe"])?;
    sh("ip", &["netns", "del", "obench-probe"])?;
    let dir = tempfile::Builder::new()
        .prefix("ordo-bench-runc.")
        .tempdir()?;
    let import = dir.path().join("images/import");
    std::fs::create_dir_all(&import)?;
    std::fs::copy(
        repo().join("target/test-images/busybox-1.28.tar"),
        import.join("busybox-1.28.tar"),
    )?;
    let (mut s, _) =
        Server::start(ordo, Some(dir), &["--runtime", "runc", "--bridge", BRIDGE]).await?;
    let outcome = measure(&s, samples).await;
    // Clean up whatever happened: pods first (the agent removes netns, veths, the bridge).
    let c = s.client()?;
    let pods = c
        .get("/api/v1/namespaces/default/pods")
        .await
        .unwrap_or_default();
    for p in pods["items"].as_array().cloned().unwrap_or_default() {
        let name = p["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let _ = c
            .delete(&format!("/api/v1/namespaces/default/pods/{name}"), Some(0))
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline
        && c.get("/api/v1/namespaces/default/pods")
            .await
            .map_or(true, |v| !v["items"].as_array().is_none_or(Vec::is_empty))
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.stop();
    let left = leftovers();
    result("runc-cleanup", &[("leftovers", left.len().to_string())]);
    if !left.is_empty() {
        bail!("left behind: {left:?}");
    }
    outcome
}

async fn measure(s: &Server, samples: usize) -> Result<()> {
    let c = s.client()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.get("/api/v1/nodes").await?["items"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        ensure!(Instant::now() < deadline, "node did not register");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let work = tempfile::Builder::new()
        .prefix("ordo-bench-baseline.")
        .tempdir()?;
    let (mut ordo_t, mut raw_t) = (Vec::new(), Vec::new());
    let mut bundle = None;
    // Sample 0 warms up (first overlay of the image, first bridge); it is not counted.
    for i in 0..=samples {
        let name = format!("real-{i}");
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": "busybox:1.28", "command": ["sleep", "3600"]}]}});
        let t = Instant::now();
        let created = c.post("/api/v1/namespaces/default/pods", &pod).await?;
        let rv = created["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("0")
            .to_string();
        let ready = wait_ready(&c, &name, &rv).await?;
        let took = t.elapsed();
        if bundle.is_none() {
            let uid = ready["metadata"]["uid"].as_str().unwrap_or_default();
            bundle = Some(capture_bundle(s.dir.path(), uid)?);
        }
        let b = bundle.as_ref().context("no bundle")?;
        let bdir = baseline_dir(b, work.path(), i)?;
        let raw = baseline_run(b, &bdir, i);
        baseline_cleanup(&bdir, i);
        let raw = raw?;
        if i > 0 {
            ordo_t.push(took);
            raw_t.push(raw);
        }
    }
    ordo_t.sort();
    raw_t.sort();
    let ratio = |p| pct(&ordo_t, p).as_secs_f64() / pct(&raw_t, p).as_secs_f64();
    result(
        "runc-pod",
        &[
            ("samples", samples.to_string()),
            ("ordo_p50_ms", ms(pct(&ordo_t, 0.5))),
            ("ordo_p99_ms", ms(pct(&ordo_t, 0.99))),
            ("raw_p50_ms", ms(pct(&raw_t, 0.5))),
            ("raw_p99_ms", ms(pct(&raw_t, 0.99))),
            ("ratio_p50", format!("{:.2}", ratio(0.5))),
            ("ratio_p99", format!("{:.2}", ratio(0.99))),
            ("loadavg", crate::server::loadavg()),
        ],
    );
    Ok(())
}
