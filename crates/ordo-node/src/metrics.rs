//! Resource metrics, the kubelet's `/metrics/resource`: each running container's cumulative CPU
//! time and memory working set (from its cgroup: `usage_usec` of `cpu.stat`, `memory.current`
//! less `inactive_file` of `memory.stat`, as cAdvisor computes them), the pods' sums and the
//! node's own (`/proc/stat`, `/proc/meminfo`), as Prometheus text with timestamps. This is what
//! the API server's metrics scraper reads (metrics-server's source).

use crate::runtime::Runtime;
use k8s_openapi::api::core::v1::Pod;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// What one running container uses.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerStats {
    /// The container's name in the pod spec.
    pub name: String,
    /// Cumulative CPU time, in core-seconds.
    pub cpu_seconds: f64,
    /// Memory working set, in bytes.
    pub memory_working_set: u64,
    /// When the container started, in seconds since the epoch.
    pub start_time: f64,
    /// When these figures were measured, in milliseconds since the epoch.
    pub timestamp_ms: i64,
}

/// What the whole node uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeStats {
    /// Cumulative CPU time, in core-seconds.
    pub cpu_seconds: f64,
    /// Memory working set, in bytes.
    pub memory_working_set: u64,
}

/// The `usage_usec` line of a cgroup v2 `cpu.stat`.
pub fn parse_usage_usec(cpu_stat: &str) -> Option<u64> {
    stat_field(cpu_stat, "usage_usec")
}

/// A `key value` line of a cgroup stat file.
fn stat_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// The working set as cAdvisor computes it: usage less inactive file pages (`total_inactive_file`
/// in v1, `inactive_file` in v2), never below zero.
pub fn working_set(usage: u64, memory_stat: &str) -> u64 {
    let inactive = stat_field(memory_stat, "total_inactive_file")
        .or_else(|| stat_field(memory_stat, "inactive_file"))
        .unwrap_or(0);
    usage.saturating_sub(inactive)
}

/// CPU seconds and working set of the cgroup at `rel` (e.g. `/ordo/<id>`) under `root`
/// (`/sys/fs/cgroup`): cgroup v2 files, else the v1 `cpuacct` and `memory` controllers.
pub fn cgroup_usage(root: &Path, rel: &str) -> Option<(f64, u64)> {
    let rel = rel.trim_start_matches('/');
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).ok();
    let v2 = root.join(rel);
    if let Some(stat) = read(v2.join("cpu.stat")) {
        let cpu = parse_usage_usec(&stat)? as f64 / 1e6;
        let mem = read(v2.join("memory.current"))
            .and_then(|m| m.trim().parse::<u64>().ok())
            .map(|usage| working_set(usage, &read(v2.join("memory.stat")).unwrap_or_default()))
            .unwrap_or(0);
        return Some((cpu, mem));
    }
    let cpu_ns: u64 = read(root.join("cpuacct").join(rel).join("cpuacct.usage"))?
        .trim()
        .parse()
        .ok()?;
    let mdir = root.join("memory").join(rel);
    let mem = read(mdir.join("memory.usage_in_bytes"))
        .and_then(|m| m.trim().parse::<u64>().ok())
        .map(|usage| working_set(usage, &read(mdir.join("memory.stat")).unwrap_or_default()))
        .unwrap_or(0);
    Some((cpu_ns as f64 / 1e9, mem))
}

/// The node's CPU seconds from `/proc/stat`'s `cpu` line (every state but idle and iowait, in
/// `USER_HZ` ticks of 1/100 s) and its working set from `/proc/meminfo` (total less free less
/// inactive file pages, in KiB), as cAdvisor reports the root cgroup.
pub fn parse_node(proc_stat: &str, meminfo: &str) -> NodeStats {
    let ticks: u64 = proc_stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .enumerate()
                // user nice system idle iowait irq softirq steal (guest is inside user).
                .filter(|(i, _)| !matches!(i, 3 | 4) && *i < 8)
                .filter_map(|(_, v)| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let kib = |key: &str| -> u64 {
        meminfo
            .lines()
            .find_map(|l| {
                let rest = l.strip_prefix(key)?.strip_prefix(':')?;
                rest.split_whitespace().next()?.parse().ok()
            })
            .unwrap_or(0)
    };
    let usage = kib("MemTotal").saturating_sub(kib("MemFree"));
    NodeStats {
        cpu_seconds: ticks as f64 / 100.0,
        memory_working_set: usage.saturating_sub(kib("Inactive(file)")) * 1024,
    }
}

/// The running node's own usage (None when `/proc` cannot be read).
pub fn read_node() -> Option<NodeStats> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    Some(parse_node(&stat, &meminfo))
}

/// The containers of one pod, for [`render`].
pub struct PodSample<'a> {
    /// The pod's namespace.
    pub namespace: &'a str,
    /// The pod's name.
    pub name: &'a str,
    /// Its running containers.
    pub containers: Vec<ContainerStats>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `/metrics/resource` document, in the kubelet's metric names, help texts and labels;
/// container samples stamped with their own time, the others with `now_ms`.
pub fn render(now_ms: i64, node: &NodeStats, pods: &[PodSample<'_>]) -> String {
    let mut out = String::new();
    let header = |out: &mut String, name: &str, help: &str, kind: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    };
    type ContainerValue = fn(&ContainerStats) -> f64;
    let container_metrics: [(&str, &str, &str, ContainerValue); 3] = [
        (
            "container_cpu_usage_seconds_total",
            "Cumulative cpu time consumed by the container in core-seconds",
            "counter",
            |c| c.cpu_seconds,
        ),
        (
            "container_memory_working_set_bytes",
            "Current working set of the container in bytes",
            "gauge",
            |c| c.memory_working_set as f64,
        ),
        (
            "container_start_time_seconds",
            "Start time of the container since unix epoch in seconds",
            "gauge",
            |c| c.start_time,
        ),
    ];
    for (name, help, kind, value) in container_metrics {
        header(&mut out, name, &format!("[STABLE] {help}"), kind);
        for p in pods {
            for c in &p.containers {
                let _ = writeln!(
                    out,
                    "{name}{{container=\"{}\",namespace=\"{}\",pod=\"{}\"}} {} {}",
                    escape(&c.name),
                    escape(p.namespace),
                    escape(p.name),
                    value(c),
                    c.timestamp_ms
                );
            }
        }
    }
    let node_metrics = [
        (
            "node_cpu_usage_seconds_total",
            "Cumulative cpu time consumed by the node in core-seconds",
            "counter",
            node.cpu_seconds,
        ),
        (
            "node_memory_working_set_bytes",
            "Current working set of the node in bytes",
            "gauge",
            node.memory_working_set as f64,
        ),
    ];
    for (name, help, kind, value) in node_metrics {
        header(&mut out, name, &format!("[STABLE] {help}"), kind);
        let _ = writeln!(out, "{name} {value} {now_ms}");
    }
    type PodValue = fn(&[ContainerStats]) -> f64;
    let pod_metrics: [(&str, &str, &str, PodValue); 2] = [
        (
            "pod_cpu_usage_seconds_total",
            "Cumulative cpu time consumed by the pod in core-seconds",
            "counter",
            |cs| cs.iter().map(|c| c.cpu_seconds).sum(),
        ),
        (
            "pod_memory_working_set_bytes",
            "Current working set of the pod in bytes",
            "gauge",
            |cs| cs.iter().map(|c| c.memory_working_set as f64).sum(),
        ),
    ];
    for (name, help, kind, value) in pod_metrics {
        header(&mut out, name, &format!("[STABLE] {help}"), kind);
        for p in pods.iter().filter(|p| !p.containers.is_empty()) {
            let _ = writeln!(
                out,
                "{name}{{namespace=\"{}\",pod=\"{}\"}} {} {now_ms}",
                escape(p.namespace),
                escape(p.name),
                value(&p.containers)
            );
        }
    }
    header(
        &mut out,
        "resource_scrape_error",
        "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
        "gauge",
    );
    let _ = writeln!(out, "resource_scrape_error 0");
    out
}

/// The node's source of resource metrics: its pods (from the shared pod cache) and runtime.
pub struct ResourceMetrics {
    node: String,
    runtime: Arc<dyn Runtime>,
    pods: Arc<ordo_client::Shared<Pod>>,
    /// Read the node's own usage from `/proc` (false for the simulated runtime, whose node
    /// uses what its pods use).
    real_node: bool,
}

impl ResourceMetrics {
    /// Metrics of the pods bound to `node` in `pods`, measured by `runtime`.
    pub fn new(
        node: &str,
        runtime: Arc<dyn Runtime>,
        pods: Arc<ordo_client::Shared<Pod>>,
        real_node: bool,
    ) -> ResourceMetrics {
        ResourceMetrics {
            node: node.to_string(),
            runtime,
            pods,
            real_node,
        }
    }

    /// The `/metrics/resource` document now.
    pub async fn document(&self) -> String {
        let pods: Vec<Arc<Pod>> = self
            .pods
            .state()
            .into_iter()
            .filter(|p| {
                p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(self.node.as_str())
            })
            .collect();
        let mut measured = Vec::new();
        for p in pods {
            let containers = self.runtime.container_stats(&p).await;
            measured.push((p, containers));
        }
        let samples: Vec<PodSample<'_>> = measured
            .iter()
            .map(|(p, containers)| PodSample {
                namespace: p.metadata.namespace.as_deref().unwrap_or(""),
                name: p.metadata.name.as_deref().unwrap_or(""),
                containers: containers.clone(),
            })
            .collect();
        let node = if self.real_node {
            read_node().unwrap_or_default()
        } else {
            NodeStats {
                cpu_seconds: samples
                    .iter()
                    .flat_map(|p| &p.containers)
                    .map(|c| c.cpu_seconds)
                    .sum(),
                memory_working_set: samples
                    .iter()
                    .flat_map(|p| &p.containers)
                    .map(|c| c.memory_working_set)
                    .sum(),
            }
        };
        render(chrono::Utc::now().timestamp_millis(), &node, &samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_v2_files_give_cpu_seconds_and_working_set() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ordo/abc");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("cpu.stat"),
            "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
        )
        .unwrap();
        std::fs::write(dir.join("memory.current"), "10485760\n").unwrap();
        std::fs::write(
            dir.join("memory.stat"),
            "anon 6291456\nfile 4194304\nactive_file 1048576\ninactive_file 3145728\n",
        )
        .unwrap();
        let (cpu, mem) = cgroup_usage(root.path(), "/ordo/abc").unwrap();
        assert_eq!(cpu, 2.5);
        assert_eq!(mem, 10485760 - 3145728);
        assert_eq!(cgroup_usage(root.path(), "/ordo/gone"), None);
        assert_eq!(working_set(100, "inactive_file 500\n"), 0);
    }

    #[test]
    fn node_usage_from_proc() {
        let stat = "cpu  1000 50 450 90000 300 20 30 0 0 0\ncpu0 1 2 3 4\n";
        let meminfo =
            "MemTotal:       8000000 kB\nMemFree:        3000000 kB\nInactive(file):  1000000 kB\n";
        let n = parse_node(stat, meminfo);
        assert_eq!(n.cpu_seconds, 15.5);
        assert_eq!(n.memory_working_set, 4_000_000 * 1024);
    }

    #[test]
    fn rendered_in_the_kubelet_format() {
        let c = ContainerStats {
            name: "web".into(),
            cpu_seconds: 1.5,
            memory_working_set: 1024,
            start_time: 1.7e9,
            timestamp_ms: 1234,
        };
        let pods = [PodSample {
            namespace: "default",
            name: "p",
            containers: vec![
                c.clone(),
                ContainerStats {
                    name: "side".into(),
                    ..c
                },
            ],
        }];
        let node = NodeStats {
            cpu_seconds: 10.0,
            memory_working_set: 4096,
        };
        let text = render(1234, &node, &pods);
        assert!(text.contains(
            "container_cpu_usage_seconds_total{container=\"web\",namespace=\"default\",pod=\"p\"} 1.5 1234\n"
        ));
        assert!(text.contains(
            "container_memory_working_set_bytes{container=\"side\",namespace=\"default\",pod=\"p\"} 1024 1234\n"
        ));
        assert!(
            text.contains("pod_cpu_usage_seconds_total{namespace=\"default\",pod=\"p\"} 3 1234\n")
        );
        assert!(text
            .contains("pod_memory_working_set_bytes{namespace=\"default\",pod=\"p\"} 2048 1234\n"));
        assert!(text.contains("node_cpu_usage_seconds_total 10 1234\n"));
        assert!(text.contains("node_memory_working_set_bytes 4096 1234\n"));
        assert!(text.contains("# TYPE container_cpu_usage_seconds_total counter\n"));
    }
}
