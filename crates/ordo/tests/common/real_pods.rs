//! Real pods (runc) for end-to-end tests: one at a time under a file lock, a runc server whose
//! node has the test images in its import folder, and clean-up of whatever a failed test left.

use super::Server;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The bridge (and nftables table) of real-pod tests, apart from a server on `ordo0`.
pub const BRIDGE: &str = "ordoe2e0";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn can_run() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let runc = Command::new("runc")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    root && runc
}

/// The archives `images/build.sh` builds.
pub const TEST_IMAGES: &[&str] = &["busybox-1.28.tar", "nginx-1.25.4.tar", "nginx-1.26.1.tar"];

/// The folder of the test image archives, built by `images/build.sh` if missing.
pub fn test_images() -> PathBuf {
    let images = repo().join("target/test-images");
    let st = Command::new("bash")
        .arg(repo().join("images/build.sh"))
        .arg(&images)
        .status()
        .unwrap();
    assert!(st.success(), "images/build.sh failed");
    images
}

/// Puts the `archives` of the test images into the import folder of a node's data dir `data`,
/// which imports them at start.
pub fn stage_images(archives: &[&str], data: &Path) {
    let images = test_images();
    let import = data.join("images/import");
    std::fs::create_dir_all(&import).unwrap();
    for a in archives {
        std::fs::copy(images.join(a), import.join(a)).unwrap();
    }
}

/// A runc server (with `extra` flags) whose node has the `archives` of the test images waiting
/// in its import folder.
pub fn runc_server_with(archives: &[&str], extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    stage_images(archives, dir.path());
    let mut flags = vec!["--bridge", BRIDGE];
    flags.extend_from_slice(extra);
    Server::start_runc_in(dir, &flags)
}

pub fn curl(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "2", url])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What the node left on the host: namespaces, the bridge, mounts under the data dir, `ordo
/// pause` and `ordo stdio-shim` processes.
pub fn leftovers(data: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/run/netns") {
        out.extend(
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with(&format!("{BRIDGE}-"))),
        );
    }
    if Path::new(&format!("/sys/class/net/{BRIDGE}")).exists() {
        out.push(format!("bridge {BRIDGE}"));
    }
    out.extend(
        pause_processes(data)
            .into_iter()
            .map(|pid| format!("ordo pause process {pid}")),
    );
    out.extend(
        helper_processes(data, "stdio-shim")
            .into_iter()
            .map(|pid| format!("ordo stdio-shim process {pid}")),
    );
    let d = data.to_string_lossy().to_string();
    out.extend(
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| l.contains(&d))
            .map(str::to_string),
    );
    out
}

/// The `ordo pause` processes (shared process namespaces) of pods under `data`.
pub fn pause_processes(data: &Path) -> Vec<i32> {
    helper_processes(data, "pause")
}

/// The processes of ordo's hidden `subcommand` (`pause`, `stdio-shim`) whose command lines
/// name a path under `data`.
pub fn helper_processes(data: &Path, subcommand: &str) -> Vec<i32> {
    let dir = data.to_string_lossy().to_string();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = cmd
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.get(1).map(String::as_str) == Some(subcommand)
                && args.iter().any(|a| a.starts_with(&dir))
        })
        .collect()
}

/// Kills what the pods of the data dir `data` left running (pause holders, stdio shims, runc
/// containers) and unmounts what is mounted under it.
pub fn kill_pods_of(data: &Path) {
    // The holders of shared process namespaces and the stdio shims, by their pids (their
    // command lines name the data dir).
    let helpers = [pause_processes(data), helper_processes(data, "stdio-shim")];
    for pid in helpers.concat() {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    let root = data.join("runc");
    if let Ok(out) = Command::new("runc")
        .arg("--root")
        .arg(&root)
        .args(["list", "-q"])
        .output()
    {
        for id in String::from_utf8_lossy(&out.stdout).lines() {
            let _ = Command::new("runc")
                .arg("--root")
                .arg(&root)
                .args(["delete", "--force", id])
                .status();
        }
    }
    let d = data.to_string_lossy().to_string();
    for l in std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&d))
    {
        if let Some(mp) = l.split(' ').nth(4) {
            let _ = Command::new("umount").args(["-l", mp]).status();
        }
    }
}

/// Best-effort removal of everything a failed test may have left (containers by their runc
/// ids, mounts, namespaces, the bridge, the nftables table, ip_forward), after the server
/// stopped.
pub fn force_cleanup(data: &Path) {
    kill_pods_of(data);
    if let Ok(rd) = std::fs::read_dir("/run/netns") {
        for e in rd.filter_map(|e| e.ok()).filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{BRIDGE}-"))
        }) {
            let _ = Command::new("ip")
                .args(["netns", "delete", &e.file_name().to_string_lossy()])
                .status();
        }
    }
    let _ = Command::new("ip").args(["link", "delete", BRIDGE]).status();
    let _ = Command::new("ip")
        .args(["route", "delete", "unreachable", "10.96.0.0/12"])
        .status();
    if nft_table_exists() {
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", BRIDGE])
            .status();
    }
    if let Ok(v) = std::fs::read_to_string(data.join("network/ip_forward.orig")) {
        let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", v.trim());
    }
    if let Ok(v) = std::fs::read_to_string(data.join("network/bridge-nf-call-iptables.orig")) {
        let _ = std::fs::write("/proc/sys/net/bridge/bridge-nf-call-iptables", v.trim());
    }
}

/// Runs `scenario` on a fresh runc server (with `extra` flags) under the real-pods lock. The
/// server is stopped afterwards; on failure its log is printed and the host force-cleaned while
/// the data dir (which the clean-up reads) still exists. Returns the data dir's path and the
/// lock. Tests that use it are `#[ignore = "needs root and runc ..."]`; run explicitly on a
/// machine that cannot run real pods, they fail (never pass without running).
pub fn with_real_pods(
    extra: &[&str],
    scenario: impl FnOnce(&mut Option<Server>),
) -> Option<(PathBuf, std::fs::File)> {
    with_real_pods_importing(TEST_IMAGES, extra, scenario)
}

/// [`with_real_pods`] with only the given test image `archives` imported on the node.
pub fn with_real_pods_importing(
    archives: &[&str],
    extra: &[&str],
    scenario: impl FnOnce(&mut Option<Server>),
) -> Option<(PathBuf, std::fs::File)> {
    assert!(
        can_run(),
        "needs root and runc: run as root with --include-ignored (scripts/test.sh does)"
    );
    let lock = std::fs::File::create("/tmp/ordo-real-pods.lock").unwrap();
    lock.lock().unwrap();
    let s = runc_server_with(archives, extra);
    let data = s.data_dir().to_path_buf();
    let mut server = Some(s);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&mut server)));
    let mut stopped = server.take();
    if let Some(s) = stopped.as_mut() {
        s.stop();
        if r.is_err() {
            eprintln!("server log tail:\n{}", super::tail(&s.log()));
        }
    }
    if r.is_err() {
        force_cleanup(&data);
    }
    drop(stopped);
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
    Some((data, lock))
}

/// Whether the service proxy's table of the test bridge is in the kernel.
pub fn nft_table_exists() -> bool {
    Command::new("nft")
        .args(["list", "table", "ip", BRIDGE])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Kills the server with SIGKILL and starts it again on the same data dir (on the test
/// bridge); returns once its node is Ready again.
pub fn restart_killed(server: &mut Option<Server>) -> &Server {
    let dir = server.take().unwrap().kill9();
    let s = server.insert(Server::start_runc_in(dir, &["--bridge", BRIDGE]));
    s.eventually(30, "the restarted node to be Ready", || {
        s.ok(&[
            "get",
            "nodes",
            "-o",
            "jsonpath={.items[0].status.conditions[?(@.type==\"Ready\")].status}",
        ]) == "True"
    });
    s
}

/// Waits until no pod is left in the API, the node left nothing on the host, and the pod
/// directories are removed.
pub fn pods_gone_and_node_clean(s: &Server) {
    s.eventually(60, "the pods to go", || {
        s.ok(&["get", "pods", "-o", "name"]).is_empty()
    });
    node_clean(s);
}

/// Waits until the node left nothing on the host and the pod directories are removed.
pub fn node_clean(s: &Server) {
    s.eventually(20, "the node to clean up", || {
        leftovers(s.data_dir()).is_empty()
    });
    s.eventually(20, "the pod directories to be removed", || {
        std::fs::read_dir(s.data_dir().join("pods"))
            .unwrap()
            .count()
            == 0
    });
}

/// Runs `scenario` on a runc server with the busybox test image, then deletes every pod and
/// checks that the node is left clean.
pub fn busybox_scenario(scenario: impl FnOnce(&Server)) {
    busybox_scenario_with(&[], scenario)
}

/// [`busybox_scenario`] with extra server flags.
pub fn busybox_scenario_with(extra: &[&str], scenario: impl FnOnce(&Server)) {
    let Some((data, _lock)) = with_real_pods_importing(&["busybox-1.28.tar"], extra, |server| {
        let s = server.as_ref().unwrap();
        scenario(s);
        s.ok(&["delete", "pod", "--all", "--wait=false"]);
        pods_gone_and_node_clean(s);
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

/// Waits for the server's node to register; its name.
pub fn node_name(s: &Server) -> String {
    s.eventually(30, "the node", || {
        s.ok(&["get", "nodes", "-o", "name"]).starts_with("node/")
    });
    s.ok(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"])
}

/// A field of a pod by JSONPath (`.status.phase`); empty if the pod or the field is absent.
pub fn pod_field(s: &Server, pod: &str, path: &str) -> String {
    let out = s.kubectl(&["get", "pod", pod, "-o", &format!("jsonpath={{{path}}}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `reason|message` of the events about one object, a line each.
pub fn events_of(s: &Server, name: &str) -> String {
    s.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name={name}"),
        "-o",
        "jsonpath={range .items[*]}{.reason}|{.message}{\"\\n\"}{end}",
    ])
}

/// Whether the pod is Running with its first container ready.
pub fn running_ready(s: &Server, pod: &str) -> bool {
    s.ok(&[
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={.status.phase} {.status.containerStatuses[0].ready}",
    ]) == "Running true"
}
