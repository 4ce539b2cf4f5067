//! Local storage eviction as the kubelet's eviction manager does it
//! (`pkg/kubelet/eviction`, `localStorageEviction`): the agent measures every pod that has a
//! local storage limit on a period, and a pod whose disk `emptyDir` outgrows its `sizeLimit`,
//! whose ephemeral storage as a whole outgrows the sum of its containers'
//! `ephemeral-storage` limits, or one of whose containers outgrows its own limit (writable
//! layer and logs) is evicted: its containers are killed at once, the pod fails with reason
//! `Evicted` and the kubelet's message, and a Warning event `Evicted` says the same.
//!
//! This module is the policy, a pure function of the pod and its measured usage, and the
//! measurement of a directory tree ([`disk_usage`]); the runtime knows where a pod's storage is
//! and the agent (`agent/`) runs the period and the eviction.

use k8s_openapi::api::core::v1::{Container, Pod};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

/// How often the agent measures (the kubelet's eviction monitoring interval).
pub const PERIOD: Duration = Duration::from_secs(10);
/// The pod status reason and event reason of an eviction.
pub const REASON: &str = "Evicted";

/// What a pod uses of the node's disk, in bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodUsage {
    /// Each disk-backed `emptyDir` volume, by volume name.
    pub volumes: HashMap<String, u64>,
    /// Each container's writable layer plus its logs, by container name.
    pub containers: HashMap<String, u64>,
    /// The rest of the pod's ephemeral storage (its `/etc/hosts`).
    pub other: u64,
}

impl PodUsage {
    /// The pod's whole ephemeral storage (containers, emptyDirs and the rest), as the kubelet's
    /// pod stats sum it.
    pub fn total(&self) -> u64 {
        self.volumes.values().sum::<u64>() + self.containers.values().sum::<u64>() + self.other
    }
}

/// Whether the pod has a limit this module enforces: a disk `emptyDir` with a `sizeLimit` or a
/// container with an `ephemeral-storage` limit (pods without are not measured).
pub fn has_local_storage_limit(pod: &Pod) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    let sized_dir = spec.volumes.iter().flatten().any(|v| {
        v.empty_dir
            .as_ref()
            .is_some_and(|e| e.medium.as_deref() != Some("Memory") && e.size_limit.is_some())
    });
    let limited = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| ephemeral_limit(c).is_some());
    sized_dir || limited
}

/// The eviction message when the pod is over a local storage limit, checked in the kubelet's
/// order (emptyDir size limits, the pod's total, each container); None when within them.
pub fn violation(pod: &Pod, usage: &PodUsage) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    for v in spec.volumes.iter().flatten() {
        let Some(limit) = v.empty_dir.as_ref().and_then(|e| e.size_limit.as_ref()) else {
            continue;
        };
        let Some(bytes) = bytes_of(&limit.0).filter(|b| *b > 0) else {
            continue;
        };
        if usage.volumes.get(&v.name).is_some_and(|used| *used > bytes) {
            return Some(format!(
                "Usage of EmptyDir volume \"{}\" exceeds the limit \"{}\". ",
                v.name,
                canonical(&limit.0)
            ));
        }
    }
    if let Some((limit, binary)) = pod_limit(&spec.containers, spec.init_containers.as_deref()) {
        if usage.total() > limit {
            return Some(format!(
                "Pod ephemeral local storage usage exceeds the total limit of containers {}. ",
                ordo_api::quantity::format_whole(limit as i64, binary)
            ));
        }
    }
    for c in &spec.containers {
        let Some((text, bytes)) = ephemeral_limit(c) else {
            continue;
        };
        if bytes > 0
            && usage
                .containers
                .get(&c.name)
                .is_some_and(|used| *used > bytes)
        {
            return Some(format!(
                "Container {} exceeded its local ephemeral storage limit \"{}\". ",
                c.name,
                canonical(&text)
            ));
        }
    }
    None
}

/// A container's `ephemeral-storage` limit: its text and bytes.
fn ephemeral_limit(c: &Container) -> Option<(String, u64)> {
    let q = c
        .resources
        .as_ref()?
        .limits
        .as_ref()?
        .get("ephemeral-storage")?;
    Some((q.0.clone(), bytes_of(&q.0)?))
}

/// The pod's `ephemeral-storage` limit as upstream's `PodLimits` computes it: the sum over its
/// containers that have one, or the largest init container's when that is larger; None when no
/// container has one. With it, whether the first limit was written in binary units (the sum
/// keeps the first one's format, as `Quantity.Add` does).
fn pod_limit(containers: &[Container], init: Option<&[Container]>) -> Option<(u64, bool)> {
    let limits: Vec<(String, u64)> = containers.iter().filter_map(ephemeral_limit).collect();
    let init_max = init
        .into_iter()
        .flatten()
        .filter_map(ephemeral_limit)
        .max_by_key(|l| l.1);
    let sum: u64 = limits.iter().map(|l| l.1).sum();
    let first = limits.first().or(init_max.as_ref())?;
    let binary = first.0.trim().ends_with('i');
    Some((sum.max(init_max.as_ref().map_or(0, |l| l.1)), binary))
}

fn bytes_of(q: &str) -> Option<u64> {
    ordo_api::quantity::value(q).map(|v| v.ceil().max(0.0) as u64)
}

/// A quantity as upstream prints it (`Quantity.String()`), or as written when it has no whole
/// canonical form.
fn canonical(q: &str) -> String {
    ordo_api::quantity::canonical(q).unwrap_or_else(|| q.to_string())
}

/// The disk space the files under `path` take (their allocated blocks, each inode once, as
/// the kubelet's `du`-style volume metrics count); 0 when it does not exist. Symbolic links
/// are not followed, mount points below `path` not crossed.
pub fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(root) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let dev = root.dev();
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![(path.to_path_buf(), root)];
    while let Some((p, md)) = stack.pop() {
        if md.dev() != dev || !seen.insert(md.ino()) {
            continue;
        }
        total += md.blocks() * 512;
        if md.is_dir() {
            let Ok(rd) = std::fs::read_dir(&p) else {
                continue;
            };
            for e in rd.flatten() {
                if let Ok(m) = e.metadata() {
                    stack.push((e.path(), m));
                }
            }
        }
    }
    total
}

#[cfg(test)]
#[path = "eviction_tests.rs"]
mod tests;
