//! The simulated runtime (like kwok): no processes, no network. Every image is "present",
//! containers start after the configured delay and run until stopped. It keeps just enough
//! state to answer [`Runtime::pod_status`], so tens of thousands of pods cost little.

use super::{digest, ContainerExit, ContainerState, ImageInfo, Runtime, StartedContainer};
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::Duration;

/// Containers of one simulated pod: (name, id, started at).
type SimPod = Vec<(String, String, Option<Time>)>;

/// The pod annotation that makes a simulated pod's containers not ready while it is `"false"`
/// (like kwok's stages, the way tests break a pod that upstream breaks through its readiness
/// probe): the pod stays Running with its Ready condition False until the annotation is removed
/// or set to anything else.
pub const READY_ANNOTATION: &str = "sim.ordo.dev/ready";

/// Simulated pods that become Running after `start_delay`.
pub struct SimRuntime {
    start_delay: Duration,
    pods: Mutex<HashMap<String, SimPod>>,
    /// Simulated containers never exit; the channel stays silent.
    exits: tokio::sync::broadcast::Sender<String>,
}

impl SimRuntime {
    /// A runtime whose pods become Running `start_delay` after they start.
    pub fn new(start_delay: Duration) -> SimRuntime {
        SimRuntime {
            start_delay,
            pods: Mutex::new(HashMap::new()),
            exits: tokio::sync::broadcast::channel(1).0,
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
        let id = digest(&["container", &u, &container.name]);
        let mut pods = self.pods.lock().unwrap();
        let cs = pods.entry(u).or_default();
        if !cs.iter().any(|(_, i, _)| *i == id) {
            cs.push((container.name.clone(), id.clone(), None));
        }
        Ok(id)
    }

    async fn start_container(
        &self,
        pod: &Pod,
        container_id: &str,
    ) -> anyhow::Result<StartedContainer> {
        let now = crate::status::now();
        let mut pods = self.pods.lock().unwrap();
        let c = pods
            .get_mut(&uid(pod))
            .and_then(|cs| cs.iter_mut().find(|(_, i, _)| i == container_id))
            .ok_or_else(|| anyhow::anyhow!("container {container_id} not found"))?;
        let started_at = c.2.get_or_insert(now).clone();
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
            .filter(|(_, _, started)| started.is_some())
            .map(|(name, id, started)| ContainerExit {
                name: name.clone(),
                container_id: format!("sim://{id}"),
                exit_code: 0,
                reason: "Completed".into(),
                started_at: started.clone(),
                finished_at: now.clone(),
            })
            .collect();
        // Stopped containers are no longer running; a second stop reports nothing.
        cs.clear();
        Ok(exits)
    }

    async fn remove_pod(&self, uid: &str) -> anyhow::Result<()> {
        self.pods.lock().unwrap().remove(uid);
        Ok(())
    }

    async fn pod_status(&self, uid: &str) -> Option<Vec<(String, ContainerState)>> {
        let pods = self.pods.lock().unwrap();
        let cs = pods.get(uid)?;
        Some(
            cs.iter()
                .filter_map(|(name, id, started)| {
                    Some((
                        name.clone(),
                        ContainerState::Running(StartedContainer {
                            container_id: format!("sim://{id}"),
                            started_at: started.clone()?,
                        }),
                    ))
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
            running.push((cs.name.clone(), id, started));
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
            .position(|(n, _, s)| n == container && s.is_some())
        else {
            return Ok(None);
        };
        let (name, id, started) = cs.remove(i);
        Ok(Some(ContainerExit {
            name,
            container_id: format!("sim://{id}"),
            exit_code: 0,
            reason: "Completed".into(),
            started_at: started,
            finished_at: crate::status::now(),
        }))
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
