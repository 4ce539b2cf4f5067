//! The seam between the agent loop and whatever runs containers. The agent decides *what*
//! (which pods, which IP, which status and events); a [`Runtime`] does the *how*. `sim` is
//! the simulated runtime; `runc` plugs in here without touching the agent loop.

pub mod runc;
pub mod sim;

use crate::image::credentials::Credential;
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::net::Ipv4Addr;
use std::time::Duration;

/// An image the runtime has made present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// What `containerStatuses[].imageID` shows.
    pub image_id: String,
    /// True when no pull was needed (event `Pulled` "... already present on machine").
    pub already_present: bool,
}

/// An image pulled from its registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledImage {
    /// What the image's containers report.
    pub info: ImageInfo,
    /// Compressed size of config and layers (the kubelet's "Image size: N bytes").
    pub size: u64,
}

/// A container that has been started.
#[derive(Clone, Debug, PartialEq)]
pub struct StartedContainer {
    /// `<runtime>://<id>`, as `containerStatuses[].containerID` shows it.
    pub container_id: String,
    /// When it started (`state.running.startedAt`).
    pub started_at: Time,
}

/// How a container ended.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerExit {
    /// The container's name in the pod spec.
    pub name: String,
    /// `<runtime>://<id>` of the instance that ended (empty when unknown).
    pub container_id: String,
    /// The process's exit code (0 when it could not be read).
    pub exit_code: i32,
    /// `Completed`, `Error`, `OOMKilled`...
    pub reason: String,
    /// When it started (None if it never did).
    pub started_at: Option<Time>,
    /// When it ended.
    pub finished_at: Time,
}

/// The state of one container as the runtime sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum ContainerState {
    /// The container is running.
    Running(StartedContainer),
    /// The container's process has exited.
    Exited(ContainerExit),
}

/// What runs pods. All methods take the pod's UID as its identity; they are idempotent.
#[async_trait::async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// The node's `containerRuntimeVersion`: `sim://0.1`, `runc://1.1`.
    fn version(&self) -> String;

    /// Whether [`Runtime::prepare_sandbox`] and the container starts complete at once, so the
    /// agent may write the pod's status once (Running) instead of twice (ContainerCreating, Running).
    fn starts_instantly(&self) -> bool;

    /// Creates the pod's sandbox: network namespace with `ip` (None: host network), cgroup,
    /// volumes. The simulated runtime spends its start delay here.
    async fn prepare_sandbox(&self, pod: &Pod, ip: Option<Ipv4Addr>) -> anyhow::Result<()>;

    /// The image if the node has it, without pulling (`None`: it does not; an error only when
    /// the store could not be read).
    async fn ensure_image(&self, image: &str) -> anyhow::Result<Option<ImageInfo>>;

    /// Pulls `image` from its registry (pull policy `Always`, or an image not present),
    /// anonymously or with `auth` (the CRI's `AuthConfig`).
    /// The default has no registry: the image must already be present.
    async fn pull_image(
        &self,
        image: &str,
        _auth: Option<&Credential>,
    ) -> anyhow::Result<PulledImage> {
        let info =
            self.ensure_image(image)
                .await?
                .ok_or_else(|| crate::image::ImageNotPresent {
                    image: image.to_string(),
                })?;
        Ok(PulledImage { info, size: 0 })
    }

    /// Creates one container in the pod's sandbox; returns its runtime id.
    async fn create_container(
        &self,
        pod: &Pod,
        container: &Container,
        image: &ImageInfo,
    ) -> anyhow::Result<String>;

    /// Starts a created container.
    async fn start_container(
        &self,
        pod: &Pod,
        container_id: &str,
    ) -> anyhow::Result<StartedContainer>;

    /// Stops every container of the pod (TERM, then KILL after `grace`) and reports how each ended.
    async fn stop_pod(&self, uid: &str, grace: Duration) -> anyhow::Result<Vec<ContainerExit>>;

    /// Removes the sandbox and everything in it. Unknown pods are fine.
    async fn remove_pod(&self, uid: &str) -> anyhow::Result<()>;

    /// The state of the pod's containers by name; None if the runtime does not know the pod.
    async fn pod_status(&self, uid: &str) -> Option<Vec<(String, ContainerState)>>;

    /// Takes over a pod that was running before the agent restarted. False if its containers
    /// are gone, in which case the agent starts it again.
    async fn adopt(&self, pod: &Pod) -> bool;

    /// UIDs of the pods the runtime holds (to clean up pods deleted while the agent was down).
    async fn list_pods(&self) -> Vec<String>;

    /// Whether containers really run, so that probes and hooks can be run against them
    /// (false for the simulated runtime: its probes count as passing).
    fn runs_probes(&self) -> bool;

    /// The readiness the runtime imposes on the pod's running app containers, whatever their
    /// probes say: None (the default) imposes nothing. The simulated runtime reads it from the
    /// pod's `sim.ordo.dev/ready` annotation.
    fn ready_override(&self, _pod: &Pod) -> Option<bool> {
        None
    }

    /// Runs `argv` in a running container of the pod, waiting at most `timeout`: its exit
    /// code and combined output (probes, preStop hooks).
    async fn exec_sync(
        &self,
        uid: &str,
        container: &str,
        argv: &[String],
        timeout: Duration,
    ) -> anyhow::Result<(i32, String)>;

    /// Stops one container (its stop signal, then KILL after `grace`); how it ended, or None
    /// if it was not running.
    async fn stop_container(
        &self,
        uid: &str,
        container: &str,
        grace: Duration,
    ) -> anyhow::Result<Option<ContainerExit>>;

    /// What the pod uses of the node's disk (its disk emptyDirs, each container's writable
    /// layer and logs, the rest), for local storage eviction; None (the default) when the
    /// runtime keeps nothing on disk for it.
    async fn local_storage(&self, _pod: &Pod) -> Option<crate::eviction::PodUsage> {
        None
    }

    /// What each running container of the pod uses (CPU time and memory working set), for
    /// the resource metrics endpoint ([`crate::metrics`]); empty (the default) when unknown.
    async fn container_stats(&self, _pod: &Pod) -> Vec<crate::metrics::ContainerStats> {
        Vec::new()
    }

    /// A channel that carries a pod's UID each time one of its containers exits.
    fn subscribe_exits(&self) -> tokio::sync::broadcast::Receiver<String>;
}

/// A short stable hex digest of `parts` (simulated ids).
pub fn digest(parts: &[&str]) -> String {
    use std::hash::{Hash, Hasher};
    let mut out = String::with_capacity(64);
    for round in 0u8..4 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        round.hash(&mut h);
        parts.hash(&mut h);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}
