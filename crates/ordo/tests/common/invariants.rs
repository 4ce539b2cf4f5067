//! Invariant checkers for fault tests, sampling real state rather than the API (which may be
//! down while a test has killed the server).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Fails (in [`AtMostOne::stop`]) if two pods with one identity ever run at once: it samples
/// runc's container list of a node every 20 ms and groups the running containers named
/// `container` by their pod's host name (a StatefulSet pod's host name is its identity, e.g.
/// `web-1`); two pod uids under one name at one moment is a violation.
pub struct AtMostOne {
    done: Arc<AtomicBool>,
    handle: JoinHandle<(usize, BTreeSet<String>, Vec<String>)>,
}

impl AtMostOne {
    /// Starts sampling the node whose data dir is `data`.
    pub fn start(data: &Path, container: &str) -> AtMostOne {
        let done = Arc::new(AtomicBool::new(false));
        let (stop, data, container) = (done.clone(), data.to_path_buf(), container.to_string());
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let (mut samples, mut seen, mut violations) = (0, BTreeSet::new(), Vec::new());
            while !stop.load(Ordering::SeqCst) {
                let running = running_identities(&data, &container);
                samples += 1;
                for (name, uids) in running {
                    seen.insert(name.clone());
                    if uids.len() > 1 {
                        violations.push(format!(
                            "at {:.2?}: {name} runs as {} pods at once: {uids:?}",
                            started.elapsed(),
                            uids.len()
                        ));
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (samples, seen, violations)
        });
        AtMostOne { done, handle }
    }

    /// Stops sampling; panics with every violation seen. Returns the number of samples and
    /// the identities seen running (so a test can check the checker saw its pods at all).
    pub fn stop(self) -> (usize, BTreeSet<String>) {
        self.done.store(true, Ordering::SeqCst);
        let (samples, seen, violations) = self.handle.join().unwrap();
        assert!(
            violations.is_empty(),
            "two pods of one identity ran at once:\n{}",
            violations.join("\n")
        );
        (samples, seen)
    }
}

/// Host name → uids of the pods with a running container `container`, from `runc list`.
fn running_identities(data: &Path, container: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let Ok(list) = Command::new("runc")
        .arg("--root")
        .arg(data.join("runc"))
        .args(["list", "--format", "json"])
        .output()
    else {
        return out;
    };
    let containers: Vec<serde_json::Value> =
        serde_json::from_slice(&list.stdout).unwrap_or_default();
    for c in containers {
        if c["status"] != "running" {
            continue;
        }
        let bundle = PathBuf::from(c["bundle"].as_str().unwrap_or_default());
        // <data>/pods/<uid>/containers/<name>
        if bundle.file_name().and_then(|n| n.to_str()) != Some(container) {
            continue;
        }
        let Some(pod_dir) = bundle.parent().and_then(Path::parent) else {
            continue;
        };
        let uid = pod_dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let host = std::fs::read(pod_dir.join("pod.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|m| m["hostname"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("<unknown host of {uid}>"));
        out.entry(host).or_default().insert(uid);
    }
    out
}
