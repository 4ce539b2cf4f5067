//! Image garbage collection as the kubelet's image GC manager does it
//! (`pkg/kubelet/images/image_gc_manager.go`): every five minutes (and once when the agent
//! starts) images unused for longer than `--image-maximum-gc-age` are removed, and when the
//! image filesystem's use reaches `--image-gc-high-threshold` percent, unused images are removed,
//! least recently used first, until it is down to `--image-gc-low-threshold` percent. An image
//! is in use while a pod on the node that is not finished names it; images seen for less than
//! the minimum age are kept. When not enough can be freed the Node gets a Warning
//! `FreeDiskSpaceFailed`, and a collection that fails twice in a row an `ImageGCFailed`.
//!
//! The decisions are pure functions ([`to_free`], [`candidates`]); [`ImageGc`] keeps the
//! records (first seen, last used) and does the removals.

use crate::events::EventSink;
use crate::image::ImageStore;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use ordo_client::Shared;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often the collection runs (the kubelet's `ImageGCPeriod`).
pub const PERIOD: Duration = Duration::from_secs(300);

/// The thresholds, as the kubelet's flags of the same names set them.
#[derive(Clone, Debug, PartialEq)]
pub struct GcPolicy {
    /// Percent of the image filesystem in use at which collection starts (100: never).
    pub high_threshold: u8,
    /// Percent it frees down to.
    pub low_threshold: u8,
    /// Images unused for longer are removed whatever the disk use (None: never).
    pub max_age: Option<Duration>,
    /// Images seen for less time are never removed.
    pub min_age: Duration,
}

impl Default for GcPolicy {
    fn default() -> Self {
        GcPolicy {
            high_threshold: 85,
            low_threshold: 80,
            max_age: None,
            min_age: Duration::from_secs(120),
        }
    }
}

impl GcPolicy {
    /// The kubelet's validation of the thresholds.
    pub fn validate(&self) -> Result<(), String> {
        if self.high_threshold > 100 {
            return Err(format!("imageGCHighThresholdPercent (--image-gc-high-threshold) {} must be between 0 and 100, inclusive", self.high_threshold));
        }
        if self.low_threshold > 100 {
            return Err(format!("imageGCLowThresholdPercent (--image-gc-low-threshold) {} must be between 0 and 100, inclusive", self.low_threshold));
        }
        if self.low_threshold >= self.high_threshold {
            return Err(format!("imageGCLowThresholdPercent (--image-gc-low-threshold) {} must be less than imageGCHighThresholdPercent (--image-gc-high-threshold) {}", self.low_threshold, self.high_threshold));
        }
        Ok(())
    }
}

/// What the collector knows of one image.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageRecord {
    /// Manifest digest.
    pub digest: String,
    /// When the collector first saw it (the epoch for images present when the agent
    /// started, as the kubelet's "unknown, in the past").
    pub first_detected: SystemTime,
    /// When it was last seen in use (`first_detected` if never).
    pub last_used: SystemTime,
}

/// Bytes to free so that the use of a filesystem of `capacity` bytes with `available` free
/// falls to the low threshold; None when its use is below the high threshold.
pub fn to_free(capacity: u64, available: u64, policy: &GcPolicy) -> Option<u64> {
    if policy.high_threshold >= 100 || capacity == 0 {
        return None;
    }
    let usage = 100 - (available.min(capacity) * 100 / capacity);
    if usage < u64::from(policy.high_threshold) {
        return None;
    }
    let target = capacity * (100 - u64::from(policy.low_threshold)) / 100;
    Some(target.saturating_sub(available))
}

/// The images that may be removed at `now`, least recently used first (then first seen):
/// not in use and seen for at least the minimum age.
pub fn candidates<'a>(
    records: &'a [ImageRecord],
    in_use: &HashSet<String>,
    policy: &GcPolicy,
    now: SystemTime,
) -> Vec<&'a ImageRecord> {
    let mut out: Vec<&ImageRecord> = records
        .iter()
        .filter(|r| !in_use.contains(&r.digest))
        .filter(|r| age(now, r.first_detected) >= policy.min_age)
        .collect();
    out.sort_by_key(|r| (r.last_used, r.first_detected));
    out
}

/// The candidates unused for longer than the maximum age.
pub fn too_old<'a>(
    candidates: &[&'a ImageRecord],
    policy: &GcPolicy,
    now: SystemTime,
) -> Vec<&'a ImageRecord> {
    let Some(max) = policy.max_age.filter(|m| !m.is_zero()) else {
        return Vec::new();
    };
    candidates
        .iter()
        .filter(|r| age(now, r.last_used) > max)
        .copied()
        .collect()
}

fn age(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or_default()
}

/// The collector of one node's image store.
pub struct ImageGc {
    store: Arc<ImageStore>,
    policy: GcPolicy,
    node: String,
    events: EventSink,
    records: HashMap<String, ImageRecord>,
    started: bool,
    failed_before: bool,
}

impl ImageGc {
    /// A collector of `store` for node `node`, reporting on the Node through `events`.
    pub fn new(store: Arc<ImageStore>, policy: GcPolicy, node: &str, events: EventSink) -> Self {
        ImageGc {
            store,
            policy,
            node: node.to_string(),
            events,
            records: HashMap::new(),
            started: false,
            failed_before: false,
        }
    }

    /// Collects once after the node's pods are listed, then every [`PERIOD`].
    pub async fn run(mut self, pods: Arc<Shared<Pod>>) {
        pods.ready().await;
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let in_use = self.in_use(&pods);
            let result = self.collect(&in_use, SystemTime::now());
            match result {
                Ok(()) => self.failed_before = false,
                Err(e) => {
                    if self.failed_before {
                        tracing::error!(
                            "image garbage collection failed multiple times in a row: {e}"
                        );
                        self.events.node("Warning", "ImageGCFailed", e.clone());
                    } else {
                        tracing::warn!("image garbage collection failed once: {e}");
                    }
                    self.failed_before = true;
                }
            }
        }
    }

    /// The manifest digests of the images that pods on this node, not finished, name.
    fn in_use(&self, pods: &Shared<Pod>) -> HashSet<String> {
        let mut out = HashSet::new();
        for p in pods.state() {
            let ours =
                p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(self.node.as_str());
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            if !ours || phase.is_some_and(crate::lifecycle::is_terminal) {
                continue;
            }
            let spec = p.spec.as_ref().expect("checked above");
            for c in spec
                .containers
                .iter()
                .chain(spec.init_containers.iter().flatten())
            {
                match c.image.as_deref().map(|i| self.store.digest_of(i)) {
                    Some(Ok(Some(d))) => {
                        out.insert(d);
                    }
                    Some(Err(e)) => tracing::debug!("pod {}: {e:#}", p.name_any()),
                    _ => {}
                }
            }
        }
        out
    }

    /// One collection at `now` (the kubelet's `GarbageCollect`).
    fn collect(&mut self, in_use: &HashSet<String>, now: SystemTime) -> Result<(), String> {
        let images = self.store.list().map_err(|e| format!("{e:#}"))?;
        let present: HashSet<String> = images.iter().map(|i| i.digest.clone()).collect();
        self.records.retain(|d, _| present.contains(d));
        let first_seen = if self.started {
            now
        } else {
            SystemTime::UNIX_EPOCH
        };
        self.started = true;
        for d in present {
            let r = self.records.entry(d.clone()).or_insert(ImageRecord {
                digest: d.clone(),
                first_detected: first_seen,
                last_used: first_seen,
            });
            if in_use.contains(&d) {
                r.last_used = now;
            }
        }
        let records: Vec<ImageRecord> = self.records.values().cloned().collect();
        let mut removable = candidates(&records, in_use, &self.policy, now);
        let mut removed = HashSet::new();
        for r in too_old(&removable, &self.policy, now) {
            if self
                .remove(&r.digest, "unused for longer than the maximum age")
                .is_some()
            {
                removed.insert(r.digest.clone());
            }
        }
        removable.retain(|r| !removed.contains(&r.digest));
        let (capacity, available) = self.store.fs_stats().map_err(|e| format!("{e:#}"))?;
        if capacity == 0 {
            let e = "invalid capacity 0 on image filesystem".to_string();
            self.events
                .node("Warning", "InvalidDiskCapacity", e.clone());
            return Err(e);
        }
        let Some(amount) = to_free(capacity, available, &self.policy) else {
            return Ok(());
        };
        tracing::info!(
            "disk usage on image filesystem is over the high threshold ({}%), trying to free {amount} bytes down to the low threshold ({}%)",
            self.policy.high_threshold,
            self.policy.low_threshold
        );
        let mut freed = 0;
        for r in removable {
            if freed >= amount {
                break;
            }
            freed += self.remove(&r.digest, "to free disk space").unwrap_or(0);
        }
        if freed < amount {
            let e = format!("Failed to garbage collect required amount of images. Attempted to free {amount} bytes, but only found {freed} bytes eligible to free.");
            self.events
                .node("Warning", "FreeDiskSpaceFailed", e.clone());
            return Err(e);
        }
        Ok(())
    }

    /// Removes one image; the bytes freed, or None when it could not be removed.
    fn remove(&mut self, digest: &str, why: &str) -> Option<u64> {
        match self.store.remove(digest) {
            Ok(freed) => {
                tracing::info!("removed image {digest} ({freed} bytes), {why}");
                self.records.remove(digest);
                Some(freed)
            }
            Err(e) => {
                tracing::warn!("removing image {digest}: {e:#}");
                None
            }
        }
    }
}

#[cfg(test)]
#[path = "image_gc_tests.rs"]
mod tests;
