//! What the runc containers use, read from their cgroups (`/ordo/<id>`, see [`super::cgroup`])
//! for the resource metrics endpoint.

use super::{cgroup, RuncRuntime};
use crate::metrics::{cgroup_usage, ContainerStats};
use std::path::Path;

impl RuncRuntime {
    /// CPU time and working set of each running container of pod `uid`.
    pub(super) fn stats_of(&self, uid: &str) -> Vec<ContainerStats> {
        let running: Vec<(String, String, f64)> = {
            let pods = self.pods.lock().unwrap();
            let Some(p) = pods.get(uid) else {
                return Vec::new();
            };
            p.containers
                .iter()
                .filter(|c| c.exit.lock().unwrap().is_none())
                .filter_map(|c| {
                    let m = c.meta.lock().unwrap();
                    let started = m.started_at.as_ref()?.0.as_millisecond() as f64 / 1000.0;
                    Some((m.name.clone(), m.id.clone(), started))
                })
                .collect()
        };
        running
            .into_iter()
            .filter_map(|(name, id, start_time)| {
                let (cpu_seconds, memory_working_set) =
                    cgroup_usage(Path::new("/sys/fs/cgroup"), &cgroup::path_of(&id))?;
                Some(ContainerStats {
                    name,
                    cpu_seconds,
                    memory_working_set,
                    start_time,
                    timestamp_ms: chrono::Utc::now().timestamp_millis(),
                })
            })
            .collect()
    }
}
