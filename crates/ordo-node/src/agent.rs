//! The agent loop: one watch on the pods bound to this node (`spec.nodeName=<node>`) and one
//! worker task per pod that owns the pod's life on the node: start it through the runtime,
//! report its status, and on graceful deletion stop it and remove it from the API.
//!
//! No polling: a worker sleeps until the watch hands it a newer version of its pod. Status is
//! written once per transition (once in all when the runtime starts pods instantly).

use crate::events::EventSink;
use crate::image_manager::{self, ImagePullError, PullFailure};
use crate::ipam::Ipam;
use crate::node::HOST_IP;
use crate::runtime::Runtime;
use crate::status::{self, StartedInfo};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};

/// The shortest time from a graceful DELETE to the pod leaving the API (see `terminate`).
const MIN_TERMINATION: Duration = Duration::from_millis(500);
use kube::runtime::watcher;
use kube::runtime::WatchStreamExt;
use kube::{Client, ResourceExt};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

/// At most this many status writes and deletions in flight (one HTTP connection each).
const WRITE_CONCURRENCY: usize = 32;

/// The node agent's pod side.
pub struct Agent {
    client: Client,
    node: String,
    rt: Arc<dyn Runtime>,
    ipam: Mutex<Ipam>,
    events: EventSink,
    writes: Semaphore,
}

/// Why a worker stopped driving its pod.
enum Exit {
    /// The pod is gone from the API.
    Gone,
}

impl Agent {
    /// An agent for `node` whose pods get addresses from `pod_cidr`.
    pub fn new(
        client: Client,
        node: &str,
        pod_cidr: &str,
        rt: Arc<dyn Runtime>,
        events: EventSink,
    ) -> anyhow::Result<Arc<Agent>> {
        Ok(Arc::new(Agent {
            client,
            node: node.into(),
            rt,
            ipam: Mutex::new(Ipam::new(pod_cidr)?),
            events,
            writes: Semaphore::new(WRITE_CONCURRENCY),
        }))
    }

    /// Watches this node's pods until the watch ends (it retries with backoff on errors).
    pub async fn run(self: Arc<Self>) -> anyhow::Result<()> {
        let api: Api<Pod> = Api::all(self.client.clone());
        let cfg = watcher::Config::default().fields(&format!("spec.nodeName={}", self.node));
        let mut stream = watcher(api, cfg).default_backoff().boxed();
        let mut workers: HashMap<String, watch::Sender<Pod>> = HashMap::new();
        let mut listing: Option<Vec<Pod>> = None;
        let mut first_sync = true;
        while let Some(ev) = stream.next().await {
            match ev {
                Err(e) => tracing::warn!("watching the pods of node {}: {e}", self.node),
                Ok(watcher::Event::Init) => listing = Some(Vec::new()),
                Ok(watcher::Event::InitApply(p)) => listing.get_or_insert_with(Vec::new).push(p),
                Ok(watcher::Event::InitDone) => {
                    let pods = listing.take().unwrap_or_default();
                    self.resync(&mut workers, pods, first_sync).await;
                    first_sync = false;
                }
                Ok(watcher::Event::Apply(p)) => self.apply(&mut workers, p),
                Ok(watcher::Event::Delete(p)) => {
                    // Dropping the sender tells the worker its pod is gone; it cleans up.
                    workers.remove(&p.uid().unwrap_or_default());
                }
            }
        }
        anyhow::bail!("the pod watch of node {} ended", self.node)
    }

    /// After a (re)list: adopt the listed pods' addresses, hand every pod to its worker, and
    /// forget pods deleted while the watch was down.
    async fn resync(
        self: &Arc<Self>,
        workers: &mut HashMap<String, watch::Sender<Pod>>,
        pods: Vec<Pod>,
        first: bool,
    ) {
        let listed: HashSet<String> = pods.iter().filter_map(|p| p.uid()).collect();
        workers.retain(|uid, _| listed.contains(uid));
        {
            let mut ipam = self.ipam.lock().unwrap();
            for p in &pods {
                let (Some(uid), Some(ip)) = (p.uid(), status::recorded_ip(p)) else {
                    continue;
                };
                if host_network(p) || ipam.get(&uid).is_some() {
                    continue;
                }
                if !ipam.reserve(&uid, ip) {
                    tracing::warn!(
                        "pod {}/{}: its address {ip} is outside this node's pod CIDR or taken",
                        p.namespace().unwrap_or_default(),
                        p.name_any()
                    );
                }
            }
        }
        if first {
            let n = pods.len();
            for uid in self.rt.list_pods().await {
                if !listed.contains(&uid) {
                    let _ = self.rt.remove_pod(&uid).await;
                }
            }
            tracing::info!("node {}: {n} pods bound at start", self.node);
        }
        for p in pods {
            self.apply(workers, p);
        }
    }

    /// Hands a new version of a pod to its worker, starting one for a pod not seen before.
    fn apply(self: &Arc<Self>, workers: &mut HashMap<String, watch::Sender<Pod>>, pod: Pod) {
        let Some(uid) = pod.uid() else { return };
        if let Some(tx) = workers.get(&uid) {
            tx.send_replace(pod);
            return;
        }
        let (tx, rx) = watch::channel(pod);
        workers.insert(uid, tx);
        tokio::spawn(self.clone().pod_worker(rx));
    }

    /// Drives one pod from acceptance to removal.
    async fn pod_worker(self: Arc<Self>, mut rx: watch::Receiver<Pod>) {
        let pod = rx.borrow_and_update().clone();
        let uid = pod.uid().unwrap_or_default();
        let Exit::Gone = self.drive(&mut rx, pod).await;
        // The pod is gone from the API: free what it held on the node.
        let _ = self.rt.stop_pod(&uid, Duration::ZERO).await;
        if let Err(e) = self.rt.remove_pod(&uid).await {
            tracing::warn!("removing pod {uid}: {e:#}");
        }
        self.ipam.lock().unwrap().release(&uid);
    }

    async fn drive(&self, rx: &mut watch::Receiver<Pod>, pod: Pod) -> Exit {
        let terminal = matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded") | Some("Failed")
        );
        if pod.metadata.deletion_timestamp.is_none() && !terminal {
            let adopted = status::is_running_ready(&pod) && self.rt.adopt(&pod).await;
            if !adopted {
                let start = self.start_with_retry(pod.clone());
                tokio::pin!(start);
                loop {
                    tokio::select! {
                        () = &mut start => break,
                        changed = rx.changed() => {
                            if changed.is_err() {
                                return Exit::Gone;
                            }
                            if rx.borrow().metadata.deletion_timestamp.is_some() {
                                break;
                            }
                        }
                    }
                }
            }
        }
        loop {
            if rx.borrow().metadata.deletion_timestamp.is_some() {
                let pod = rx.borrow().clone();
                self.terminate(&pod).await;
                // Wait for the watch to confirm the deletion; try again if it does not come.
                let gone = async { while rx.changed().await.is_ok() {} };
                match tokio::time::timeout(Duration::from_secs(10), gone).await {
                    Ok(()) => return Exit::Gone,
                    Err(_) => continue,
                }
            }
            if rx.changed().await.is_err() {
                return Exit::Gone;
            }
        }
    }

    /// Starts the pod, retrying with backoff until it runs (the caller cancels on deletion).
    async fn start_with_retry(&self, pod: Pod) {
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.start(&pod).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(
                        "starting pod {}/{}: {e:#}",
                        pod.namespace().unwrap_or_default(),
                        pod.name_any()
                    );
                    match image_manager::pull_error_in(&e) {
                        Some(p) => {
                            self.image_pull_failed(&pod, &p, false).await;
                            if p.failure == PullFailure::ErrImagePull {
                                // The kubelet backs off before the next pull and says so.
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                self.image_pull_failed(&pod, &p, true).await;
                            }
                        }
                        None => self.events.pod(
                            &pod,
                            "Warning",
                            "FailedCreatePodSandBox",
                            format!("Failed to create pod sandbox: {e:#}"),
                        ),
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Accepts the pod: address, sandbox, containers, status.
    async fn start(&self, pod: &Pod) -> anyhow::Result<()> {
        let uid = pod.uid().unwrap_or_default();
        let start_time = pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.clone())
            .unwrap_or_else(status::now);
        let ip = if host_network(pod) {
            None
        } else {
            Some(self.ipam.lock().unwrap().allocate(&uid).ok_or_else(|| {
                anyhow::anyhow!("no free address in the pod CIDR of node {}", self.node)
            })?)
        };
        let mut latest = pod.clone();
        if !self.rt.starts_instantly() {
            let st = status::creating(pod, HOST_IP, &start_time, &status::now());
            if let Some(p) = self.write_status(pod, json!({ "status": st })).await? {
                latest = p;
            }
        }
        self.rt.prepare_sandbox(pod, ip).await?;
        let spec = pod.spec.clone().unwrap_or_default();
        let mut inits = Vec::new();
        for c in spec.init_containers.iter().flatten() {
            inits.push(self.run_container(pod, c, true).await?);
        }
        let mut apps = Vec::new();
        for c in &spec.containers {
            apps.push(self.run_container(pod, c, false).await?);
        }
        let pod_ip = ip
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| HOST_IP.to_string());
        let st = status::running(
            &latest,
            HOST_IP,
            &pod_ip,
            &start_time,
            &inits,
            &apps,
            &status::now(),
        );
        self.write_status(pod, json!({ "status": st })).await?;
        Ok(())
    }

    /// Image, create, start for one container, with the kubelet's events.
    async fn run_container(
        &self,
        pod: &Pod,
        c: &Container,
        init: bool,
    ) -> anyhow::Result<StartedInfo> {
        let image = c.image.clone().unwrap_or_default();
        let info = image_manager::ensure_image_exists(self.rt.as_ref(), &self.events, pod, c, init)
            .await?;
        let id = self.rt.create_container(pod, c, &info).await?;
        self.events.container(
            pod,
            init,
            &c.name,
            "Normal",
            "Created",
            format!("Created container: {}", c.name),
        );
        let started = self.rt.start_container(pod, &id).await?;
        self.events.container(
            pod,
            init,
            &c.name,
            "Normal",
            "Started",
            format!("Started container {}", c.name),
        );
        Ok(StartedInfo {
            name: c.name.clone(),
            image,
            image_id: info.image_id,
            container_id: started.container_id,
            started_at: started.started_at,
        })
    }

    /// Stops the pod's containers and deletes it for good (grace 0, UID precondition).
    async fn terminate(&self, pod: &Pod) {
        let began = std::time::Instant::now();
        let uid = pod.uid().unwrap_or_default();
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| {
                pod.spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds)
            })
            .unwrap_or(30)
            .max(0) as u64;
        match self.rt.stop_pod(&uid, Duration::from_secs(grace)).await {
            Ok(exits) => {
                for x in exits {
                    self.events.container(
                        pod,
                        false,
                        &x.name,
                        "Normal",
                        "Killing",
                        format!("Stopping container {}", x.name),
                    );
                }
            }
            Err(e) => tracing::warn!(
                "stopping pod {}/{}: {e:#}",
                pod.namespace().unwrap_or_default(),
                pod.name_any()
            ),
        }
        // A pod that vanishes within milliseconds of its DELETE can be re-created (same name,
        // by its StatefulSet) before `kubectl delete` has listed it; kubectl then waits forever
        // for a deletion it missed. A real kubelet never stops a pod that fast; keep a floor.
        if grace > 0 {
            tokio::time::sleep(MIN_TERMINATION.saturating_sub(began.elapsed())).await;
        }
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid),
                resource_version: None,
            }),
            ..Default::default()
        };
        for attempt in 0..5u32 {
            let _permit = self.writes.acquire().await;
            match api.delete(&pod.name_any(), &dp).await {
                Ok(_) => return,
                Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => return,
                Err(e) => {
                    tracing::warn!(
                        "deleting pod {}/{}: {e}",
                        pod.namespace().unwrap_or_default(),
                        pod.name_any()
                    );
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
            }
        }
    }

    /// An image the node could not get: the kubelet's events and the container's waiting
    /// state (see [`image_manager::report_failure`]).
    async fn image_pull_failed(&self, pod: &Pod, failed: &ImagePullError, backing_off: bool) {
        let patch = image_manager::report_failure(&self.events, pod, failed, backing_off);
        if let Err(e) = self.write_status(pod, patch).await {
            tracing::debug!("{e:#}");
        }
    }

    /// Merge-patches the pod's status. `Ok(None)` when the pod is gone.
    async fn write_status(
        &self,
        pod: &Pod,
        patch: serde_json::Value,
    ) -> anyhow::Result<Option<Pod>> {
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        let _permit = self.writes.acquire().await;
        match api
            .patch_status(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(p) if p.uid() == pod.uid() => Ok(Some(p)),
            Ok(_) => Ok(None),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context("writing pod status")),
        }
    }
}

fn host_network(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false)
}
