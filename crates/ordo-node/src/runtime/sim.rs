//! The simulated runtime (like kwok): no processes, no network. Every image is "present",
//! containers start after the configured delay and run until stopped, or, when the pod asks
//! for it ([`EXIT_AFTER_ANNOTATION`]), exit on their own. It keeps just enough state to answer
//! [`Runtime::pod_status`], so tens of thousands of pods cost little.

use super::{digest, ContainerExit, ContainerState, ImageInfo, Runtime, StartedContainer};
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::Duration;

/// One simulated container instance.
#[derive(Clone, Debug)]
struct SimContainer {
    name: String,
    id: String,
    started: Option<Time>,
    /// When and how the instance exits on its own (set at start from the pod's annotations).
    exit: Option<(Time, i32)>,
    /// How many instances of this container ran before this one.
    attempt: u32,
}

impl SimContainer {
    /// Its exit, if it has exited by `now`.
    fn exited(&self, now: &Time) -> Option<ContainerExit> {
        let (at, code) = self.exit.as_ref().filter(|(at, _)| at.0 <= now.0)?;
        Some(self.exit_record(*code, at.clone()))
    }

    fn exit_record(&self, exit_code: i32, finished_at: Time) -> ContainerExit {
        ContainerExit {
            name: self.name.clone(),
            container_id: format!("sim://{}", self.id),
            exit_code,
            reason: if exit_code == 0 { "Completed" } else { "Error" }.into(),
            started_at: self.started.clone(),
            finished_at,
        }
    }

    /// What stopping it now reports: its own exit if it had one, else a clean stop.
    fn stopped(&self, now: &Time) -> ContainerExit {
        self.exited(now)
            .unwrap_or_else(|| self.exit_record(0, now.clone()))
    }
}

/// Containers of one simulated pod (the latest instance of each).
type SimPod = Vec<SimContainer>;

/// The pod annotation that makes a simulated pod's containers not ready while it is `"false"`
/// (like kwok's stages, the way tests break a pod that upstream breaks through its readiness
/// probe): the pod stays Running with its Ready condition False until the annotation is removed
/// or set to anything else.
pub const READY_ANNOTATION: &str = "sim.ordo.dev/ready";

/// The pod annotation that makes each of a simulated pod's containers exit this many
/// milliseconds after it starts (with [`EXIT_CODE_ANNOTATION`]'s code, 0 by default), so that
/// tests can run Jobs and restart policies on the simulated runtime.
pub const EXIT_AFTER_ANNOTATION: &str = "sim.ordo.dev/exit-after-ms";

/// The exit code of containers that exit by [`EXIT_AFTER_ANNOTATION`] (default 0).
pub const EXIT_CODE_ANNOTATION: &str = "sim.ordo.dev/exit-code";

/// The planned exit of `pod`'s containers: after how long, with which code.
fn planned_exit(pod: &Pod) -> Option<(Duration, i32)> {
    let a = pod.annotations();
    let ms: u64 = a.get(EXIT_AFTER_ANNOTATION)?.trim().parse().ok()?;
    let code = a
        .get(EXIT_CODE_ANNOTATION)
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(0);
    Some((Duration::from_millis(ms), code))
}

/// The pod annotation that sets the CPU each running container of a simulated pod uses, as a
/// quantity of cores (`250m`), reported by the resource metrics endpoint (default 0); tests
/// change it to drive `kubectl top` and the HorizontalPodAutoscaler.
pub const CPU_ANNOTATION: &str = "sim.ordo.dev/cpu";

/// The pod annotation that sets the memory working set of each running container of a
/// simulated pod, as a quantity of bytes (`64Mi`; default 0).
pub const MEMORY_ANNOTATION: &str = "sim.ordo.dev/memory";

/// Simulated pods that become Running after `start_delay`.
pub struct SimRuntime {
    start_delay: Duration,
    pods: Mutex<HashMap<String, SimPod>>,
    /// Per container instance id: when CPU use was last computed (ms since the epoch) and the
    /// CPU seconds used until then.
    cpu: Mutex<HashMap<String, (i64, f64)>>,
    /// Carries a pod's uid when one of its containers exits on its own.
    exits: tokio::sync::broadcast::Sender<String>,
}

impl SimRuntime {
    /// A runtime whose pods become Running `start_delay` after they start.
    pub fn new(start_delay: Duration) -> SimRuntime {
        SimRuntime {
            start_delay,
            pods: Mutex::new(HashMap::new()),
            cpu: Mutex::new(HashMap::new()),
            exits: tokio::sync::broadcast::channel(1024).0,
        }
    }
}

fn uid(pod: &Pod) -> String {
    pod.uid().unwrap_or_default()
}

#[async_trait::async_trait]
impl Runtime for SimRuntime {
    fn version(&self) -> String {
        "sim://0.1".into()
    }

    fn starts_instantly(&self) -> bool {
        self.start_delay.is_zero()
    }

    async fn prepare_sandbox(&self, pod: &Pod, _ip: Option<Ipv4Addr>) -> anyhow::Result<()> {
        if !self.start_delay.is_zero() {
            tokio::time::sleep(self.start_delay).await;
        }
        self.pods.lock().unwrap().entry(uid(pod)).or_default();
        Ok(())
    }

    async fn ensure_image(&self, image: &str) -> anyhow::Result<Option<ImageInfo>> {
        Ok(Some(ImageInfo {
            image_id: format!("sim://sha256:{}", digest(&["image", image])),
            already_present: true,
        }))
    }

    async fn create_container(
        &self,
        pod: &Pod,
        container: &Container,
        _image: &ImageInfo,
    ) -> anyhow::Result<String> {
        let u = uid(pod);
        let now = crate::status::now();
        let mut pods = self.pods.lock().unwrap();
        let cs = pods.entry(u.clone()).or_default();
        let attempt = match cs.iter().position(|c| c.name == container.name) {
            // The current instance, unless it has exited: then a new one (a restart).
            Some(i) if cs[i].exited(&now).is_none() => return Ok(cs[i].id.clone()),
            Some(i) => cs.remove(i).attempt + 1,
            None => 0,
        };
        let id = match attempt {
            0 => digest(&["container", &u, &container.name]),
            n => digest(&["container", &u, &container.name, &n.to_string()]),
        };
        cs.push(SimContainer {
            name: container.name.clone(),
            id: id.clone(),
            started: None,
            exit: None,
            attempt,
        });
        Ok(id)
    }

    async fn start_container(
        &self,
        pod: &Pod,
        container_id: &str,
    ) -> anyhow::Result<StartedContainer> {
        let now = crate::status::now();
        let planned = planned_exit(pod);
        let started_at = {
            let mut pods = self.pods.lock().unwrap();
            let c = pods
                .get_mut(&uid(pod))
                .and_then(|cs| cs.iter_mut().find(|c| c.id == container_id))
                .ok_or_else(|| anyhow::anyhow!("container {container_id} not found"))?;
            if c.started.is_none() {
                c.started = Some(now.clone());
                if let Some((after, code)) = planned {
                    let at = now
                        .0
                        .checked_add(after)
                        .map(Time)
                        .unwrap_or_else(|_| now.clone());
                    c.exit = Some((at, code));
                    let (tx, u) = (self.exits.clone(), uid(pod));
                    tokio::spawn(async move {
                        tokio::time::sleep(after).await;
                        let _ = tx.send(u);
                    });
                }
            }
            c.started.clone().unwrap_or(now)
        };
        Ok(StartedContainer {
            container_id: format!("sim://{container_id}"),
            started_at,
        })
    }

    async fn stop_pod(&self, uid: &str, _grace: Duration) -> anyhow::Result<Vec<ContainerExit>> {
        let now = crate::status::now();
        let mut pods = self.pods.lock().unwrap();
        let Some(cs) = pods.get_mut(uid) else {
            return Ok(vec![]);
        };
        let exits = cs
            .iter()
            .filter(|c| c.started.is_some())
            .map(|c| c.stopped(&now))
            .collect();
        // Stopped containers are no longer running; a second stop reports nothing.
        cs.clear();
        Ok(exits)
    }

    async fn remove_pod(&self, uid: &str) -> anyhow::Result<()> {
        if let Some(cs) = self.pods.lock().unwrap().remove(uid) {
            let mut cpu = self.cpu.lock().unwrap();
            for c in cs {
                cpu.remove(&c.id);
            }
        }
        Ok(())
    }

    async fn container_stats(&self, pod: &Pod) -> Vec<crate::metrics::ContainerStats> {
        let quantity = |key: &str| {
            pod.annotations()
                .get(key)
                .and_then(|q| ordo_api::quantity::value(q))
                .unwrap_or(0.0)
                .max(0.0)
        };
        let (cores, memory) = (quantity(CPU_ANNOTATION), quantity(MEMORY_ANNOTATION));
        let now = crate::status::now();
        // Whole milliseconds, the resolution of the samples' timestamps, so that the rate
        // computed from two samples is exactly the annotation's.
        let now_ms = now.0.as_millisecond();
        let pods = self.pods.lock().unwrap();
        let Some(cs) = pods.get(&uid(pod)) else {
            return Vec::new();
        };
        let mut cpu = self.cpu.lock().unwrap();
        cs.iter()
            .filter(|c| c.exited(&now).is_none())
            .filter_map(|c| {
                let started = c.started.as_ref()?.0;
                // The annotation's rate holds since the last sample (since the start at first).
                let (since, used) = cpu
                    .get(&c.id)
                    .copied()
                    .unwrap_or((started.as_millisecond(), 0.0));
                let elapsed = (now_ms - since).max(0) as f64 / 1000.0;
                let used = used + cores * elapsed;
                cpu.insert(c.id.clone(), (now_ms.max(since), used));
                Some(crate::metrics::ContainerStats {
                    name: c.name.clone(),
                    cpu_seconds: used,
                    memory_working_set: memory as u64,
                    start_time: started.as_millisecond() as f64 / 1000.0,
                    timestamp_ms: now_ms.max(since),
                })
            })
            .collect()
    }

    async fn pod_status(&self, uid: &str) -> Option<Vec<(String, ContainerState)>> {
        let now = crate::status::now();
        let pods = self.pods.lock().unwrap();
        let cs = pods.get(uid)?;
        Some(
            cs.iter()
                .filter_map(|c| {
                    let started_at = c.started.clone()?;
                    let state = match c.exited(&now) {
                        Some(x) => ContainerState::Exited(x),
                        None => ContainerState::Running(StartedContainer {
                            container_id: format!("sim://{}", c.id),
                            started_at,
                        }),
                    };
                    Some((c.name.clone(), state))
                })
                .collect(),
        )
    }

    async fn adopt(&self, pod: &Pod) -> bool {
        let u = uid(pod);
        let mut running: SimPod = vec![];
        for cs in pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
        {
            let started = cs
                .state
                .as_ref()
                .and_then(|s| s.running.as_ref())
                .and_then(|r| r.started_at.clone());
            let id = cs
                .container_id
                .as_deref()
                .and_then(|c| c.strip_prefix("sim://"))
                .map(str::to_string)
                .unwrap_or_else(|| digest(&["container", &u, &cs.name]));
            running.push(SimContainer {
                name: cs.name.clone(),
                id,
                started,
                exit: None,
                attempt: 0,
            });
        }
        self.pods.lock().unwrap().insert(u, running);
        true
    }

    async fn list_pods(&self) -> Vec<String> {
        self.pods.lock().unwrap().keys().cloned().collect()
    }

    fn runs_probes(&self) -> bool {
        false
    }

    fn ready_override(&self, pod: &Pod) -> Option<bool> {
        let value = pod.annotations().get(READY_ANNOTATION).map(String::as_str);
        Some(value != Some("false"))
    }

    async fn exec_sync(
        &self,
        _uid: &str,
        _container: &str,
        _argv: &[String],
        _timeout: Duration,
    ) -> anyhow::Result<(i32, String)> {
        Ok((0, String::new()))
    }

    async fn stop_container(
        &self,
        uid: &str,
        container: &str,
        _grace: Duration,
    ) -> anyhow::Result<Option<ContainerExit>> {
        let mut pods = self.pods.lock().unwrap();
        let Some(cs) = pods.get_mut(uid) else {
            return Ok(None);
        };
        let Some(i) = cs
            .iter()
            .position(|c| c.name == container && c.started.is_some())
        else {
            return Ok(None);
        };
        let c = cs.remove(i);
        Ok(Some(c.stopped(&crate::status::now())))
    }

    fn subscribe_exits(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.exits.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod() -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("web".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn start_stop_remove() {
        let rt = SimRuntime::new(Duration::ZERO);
        assert!(rt.starts_instantly());
        let p = pod();
        rt.prepare_sandbox(&p, None).await.unwrap();
        let img = rt.ensure_image("nginx:1.25.4").await.unwrap().unwrap();
        assert!(img.already_present && img.image_id.starts_with("sim://sha256:"));
        let c = Container {
            name: "nginx".into(),
            ..Default::default()
        };
        let id = rt.create_container(&p, &c, &img).await.unwrap();
        let started = rt.start_container(&p, &id).await.unwrap();
        assert_eq!(started.container_id, format!("sim://{id}"));
        assert_eq!(rt.pod_status("u1").await.unwrap().len(), 1);
        let exits = rt.stop_pod("u1", Duration::from_secs(30)).await.unwrap();
        assert_eq!(exits.len(), 1);
        assert_eq!(exits[0].reason, "Completed");
        rt.remove_pod("u1").await.unwrap();
        assert!(rt.pod_status("u1").await.is_none());
        assert!(rt.list_pods().await.is_empty());
    }

    #[tokio::test]
    async fn usage_annotations_drive_the_cumulative_cpu_and_memory() {
        let rt = SimRuntime::new(Duration::ZERO);
        let mut p = pod();
        p.metadata.annotations = Some(
            [
                (CPU_ANNOTATION.to_string(), "500m".to_string()),
                (MEMORY_ANNOTATION.to_string(), "64Mi".to_string()),
            ]
            .into(),
        );
        rt.prepare_sandbox(&p, None).await.unwrap();
        let img = rt.ensure_image("nginx").await.unwrap().unwrap();
        let c = Container {
            name: "web".into(),
            ..Default::default()
        };
        let id = rt.create_container(&p, &c, &img).await.unwrap();
        rt.start_container(&p, &id).await.unwrap();
        let first = rt.container_stats(&p).await;
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].name, "web");
        assert_eq!(first[0].memory_working_set, 64 << 20);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let second = rt.container_stats(&p).await.remove(0);
        let elapsed = (second.timestamp_ms - first[0].timestamp_ms) as f64 / 1000.0;
        let rate = (second.cpu_seconds - first[0].cpu_seconds) / elapsed;
        assert!((rate - 0.5).abs() < 1e-9, "{rate}");
        // A new figure applies from the next sample on.
        p.metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert(CPU_ANNOTATION.into(), "1".into());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let third = rt.container_stats(&p).await.remove(0);
        let elapsed = (third.timestamp_ms - second.timestamp_ms) as f64 / 1000.0;
        let rate = (third.cpu_seconds - second.cpu_seconds) / elapsed;
        assert!((rate - 1.0).abs() < 1e-9, "{rate}");
        rt.remove_pod("u1").await.unwrap();
        assert!(rt.container_stats(&p).await.is_empty());
    }

    #[tokio::test]
    async fn exit_annotations_end_containers_and_restarts_get_new_ids() {
        let rt = SimRuntime::new(Duration::ZERO);
        let mut exits = rt.subscribe_exits();
        let mut p = pod();
        p.metadata.annotations = Some(
            [
                (EXIT_AFTER_ANNOTATION.to_string(), "10".to_string()),
                (EXIT_CODE_ANNOTATION.to_string(), "3".to_string()),
            ]
            .into(),
        );
        rt.prepare_sandbox(&p, None).await.unwrap();
        let img = rt.ensure_image("busybox").await.unwrap().unwrap();
        let c = Container {
            name: "main".into(),
            ..Default::default()
        };
        let id = rt.create_container(&p, &c, &img).await.unwrap();
        assert_eq!(rt.create_container(&p, &c, &img).await.unwrap(), id);
        rt.start_container(&p, &id).await.unwrap();
        assert_eq!(exits.recv().await.unwrap(), "u1");
        let status = rt.pod_status("u1").await.unwrap();
        let ContainerState::Exited(x) = &status[0].1 else {
            panic!("not exited: {status:?}");
        };
        assert_eq!((x.exit_code, x.reason.as_str()), (3, "Error"));
        // A restart is a new instance with its own id.
        let again = rt.create_container(&p, &c, &img).await.unwrap();
        assert_ne!(again, id);
    }

    #[test]
    fn ready_annotation_overrides_readiness() {
        let rt = SimRuntime::new(Duration::ZERO);
        let mut p = pod();
        assert_eq!(rt.ready_override(&p), Some(true));
        for (value, ready) in [("false", false), ("true", true), ("False", true)] {
            p.metadata.annotations =
                Some([(READY_ANNOTATION.to_string(), value.to_string())].into());
            assert_eq!(rt.ready_override(&p), Some(ready), "{value}");
        }
    }
}
