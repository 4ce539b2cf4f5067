//! The agent loop: one watch on the pods bound to this node (`spec.nodeName=<node>`) and one
//! worker task per pod that owns the pod's life on the node (`worker.rs`): start it through
//! the runtime, restart its containers as `restartPolicy` says, run its probes, report its
//! status, and on graceful deletion stop it and remove it from the API.
//!
//! No polling: a worker sleeps until the watch hands it a newer version of its pod, the
//! runtime reports one of its containers exited, or a probe or back-off is due. Status is
//! written only when it changes (once in all when the runtime starts pods instantly).

mod host_ports;
mod pod_doc;
mod pull_secrets;
mod worker;

use pod_doc::PodDoc;

use crate::events::EventSink;
use crate::ipam::Ipam;
use crate::runtime::Runtime;
use crate::status;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};

/// The shortest time from a graceful DELETE to the pod leaving the API (see `terminate`).
const MIN_TERMINATION: Duration = Duration::from_millis(500);
use kube::{Client, ResourceExt};
use ordo_client::{Change, Shared};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch, Notify, Semaphore};

/// At most this many status writes and deletions in flight (one HTTP connection each).
const WRITE_CONCURRENCY: usize = 32;

/// The node agent's pod side.
pub struct Agent {
    client: Client,
    /// The process's shared caches (image pull secrets are read from its Secret cache).
    caches: ordo_client::Caches,
    node: String,
    rt: Arc<dyn Runtime>,
    ipam: Mutex<Ipam>,
    /// The node's address (pods' `hostIP`).
    host_ip: String,
    events: EventSink,
    writes: Semaphore,
    /// The host ports the node's pods hold (the kubelet's admission check).
    host_ports: Mutex<host_ports::HostPorts>,
}

/// Why a worker stopped driving its pod.
enum Exit {
    /// The pod is gone from the API.
    Gone,
}

/// The agent's handle on one pod worker.
struct Worker {
    /// The latest version of the pod.
    pod: watch::Sender<PodDoc>,
    /// Rung when one of the pod's containers exits.
    wake: Arc<Notify>,
    /// Set when the pod left the API. A worker whose channel closes without it is being
    /// shut down with the agent: its pod keeps running (and is adopted at the next start).
    deleted: Arc<AtomicBool>,
    /// The eviction message, once the eviction check finds the pod over a local storage
    /// limit (the worker is woken to evict it).
    evict: Eviction,
}

/// Where the eviction check leaves a pod's eviction message for its worker.
type Eviction = Arc<Mutex<Option<String>>>;

impl Worker {
    /// Tells the worker its pod is gone from the API; dropping the handle then ends it.
    fn pod_deleted(self) {
        self.deleted.store(true, Ordering::SeqCst);
    }
}

impl Agent {
    /// An agent for `node` whose pods get addresses from `pod_cidr`, reading and writing the
    /// API through `caches` and their client.
    pub fn new(
        caches: &ordo_client::Caches,
        node: &str,
        pod_cidr: &str,
        host_ip: &str,
        rt: Arc<dyn Runtime>,
        events: EventSink,
    ) -> anyhow::Result<Arc<Agent>> {
        Ok(Arc::new(Agent {
            client: caches.client().clone(),
            caches: caches.clone(),
            node: node.into(),
            rt,
            ipam: Mutex::new(Ipam::new(pod_cidr)?),
            host_ip: host_ip.into(),
            events,
            writes: Semaphore::new(WRITE_CONCURRENCY),
            host_ports: Mutex::default(),
        }))
    }

    /// Follows this node's pods in the shared pod cache (`pods`: every pod, or only this
    /// node's with [`ordo_client::Caches::for_node`]) until it ends.
    pub async fn run(self: Arc<Self>, pods: Arc<Shared<Pod>>) -> anyhow::Result<()> {
        // The first listing decides which running containers are orphans: never act on an
        // empty cache that has not listed yet.
        pods.ready().await;
        let mut stream = Box::pin(pods.changes());
        let mut exits = self.rt.subscribe_exits();
        let mut workers: HashMap<String, Worker> = HashMap::new();
        let mut first_sync = true;
        let mut storage_check = tokio::time::interval(crate::eviction::PERIOD);
        storage_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (evict_tx, mut evict_rx) = tokio::sync::mpsc::unbounded_channel();
        let checking = Arc::new(AtomicBool::new(false));
        let ours = |p: &Pod| {
            p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(self.node.as_str())
        };
        loop {
            let change = tokio::select! {
                c = stream.next() => match c {
                    Some(c) => c,
                    None => break,
                },
                uid = exits.recv() => {
                    match uid {
                        Ok(uid) => {
                            if let Some(w) = workers.get(&uid) {
                                w.wake.notify_one();
                            }
                        }
                        // Missed some: wake every worker, each checks its own pod.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            workers.values().for_each(|w| w.wake.notify_one())
                        }
                        Err(broadcast::error::RecvError::Closed) => {}
                    }
                    continue;
                }
                _ = storage_check.tick() => {
                    self.check_local_storage(&workers, &checking, &evict_tx);
                    continue;
                }
                Some((uid, message)) = evict_rx.recv() => {
                    if let Some(w) = workers.get(&uid) {
                        *w.evict.lock().unwrap() = Some(message);
                        w.wake.notify_one();
                    }
                    continue;
                }
            };
            match change {
                Change::All(all) => {
                    let pods = all
                        .iter()
                        .filter(|p| ours(p))
                        .map(|p| Pod::clone(p))
                        .collect();
                    self.resync(&mut workers, pods, first_sync).await;
                    first_sync = false;
                }
                Change::Apply(p) if ours(&p) => self.apply(&mut workers, Pod::clone(&p)),
                Change::Apply(_) => {}
                Change::Delete(p) => {
                    // Dropping the sender tells the worker its pod is gone; it cleans up.
                    if let Some(w) = workers.remove(&p.uid().unwrap_or_default()) {
                        w.pod_deleted();
                    }
                }
            }
        }
        anyhow::bail!("the pod cache of node {} ended", self.node)
    }

    /// After a (re)list: adopt the listed pods' addresses, hand every pod to its worker, and
    /// forget pods deleted while the watch was down.
    async fn resync(
        self: &Arc<Self>,
        workers: &mut HashMap<String, Worker>,
        pods: Vec<Pod>,
        first: bool,
    ) {
        let listed: HashSet<String> = pods.iter().filter_map(|p| p.uid()).collect();
        let gone: Vec<String> = workers
            .keys()
            .filter(|uid| !listed.contains(*uid))
            .cloned()
            .collect();
        for uid in gone {
            if let Some(w) = workers.remove(&uid) {
                w.pod_deleted();
            }
        }
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
    fn apply(self: &Arc<Self>, workers: &mut HashMap<String, Worker>, pod: Pod) {
        let Some(uid) = pod.uid() else { return };
        let doc = PodDoc::new(&pod);
        drop(pod);
        if let Some(w) = workers.get(&uid) {
            w.pod.send_replace(doc);
            return;
        }
        let (tx, rx) = watch::channel(doc);
        let wake = Arc::new(Notify::new());
        let deleted = Arc::new(AtomicBool::new(false));
        let evict = Eviction::default();
        workers.insert(
            uid.clone(),
            Worker {
                pod: tx,
                wake: wake.clone(),
                deleted: deleted.clone(),
                evict: evict.clone(),
            },
        );
        tokio::spawn(self.clone().pod_worker(uid, rx, (wake, evict), deleted));
    }

    /// Drives one pod from acceptance to removal.
    async fn pod_worker(
        self: Arc<Self>,
        uid: String,
        mut rx: watch::Receiver<PodDoc>,
        (wake, evict): (Arc<Notify>, Eviction),
        deleted: Arc<AtomicBool>,
    ) {
        rx.mark_unchanged();
        let Exit::Gone = self.drive(&mut rx, &wake, &evict).await;
        self.host_ports.lock().unwrap().release(&uid);
        if !deleted.load(Ordering::SeqCst) {
            // The agent is shutting down, not the pod: leave it running.
            return;
        }
        // The pod is gone from the API: free what it held on the node.
        let _ = self.rt.stop_pod(&uid, Duration::ZERO).await;
        if let Err(e) = self.rt.remove_pod(&uid).await {
            tracing::warn!("removing pod {uid}: {e:#}");
        }
        self.ipam.lock().unwrap().release(&uid);
    }

    /// Measures, in the background, the pods with a local storage limit whose containers
    /// run, and sends the UID and message of those over a limit (one check at a time).
    fn check_local_storage(
        self: &Arc<Self>,
        workers: &HashMap<String, Worker>,
        checking: &Arc<AtomicBool>,
        evictions: &tokio::sync::mpsc::UnboundedSender<(String, String)>,
    ) {
        let pods: Vec<(String, Pod)> = workers
            .iter()
            .filter(|(_, w)| {
                let doc = w.pod.borrow();
                doc.storage_limited() && !doc.deleting() && w.evict.lock().unwrap().is_none()
            })
            .map(|(uid, w)| (uid.clone(), w.pod.borrow().pod()))
            .filter(|(_, p)| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .collect();
        if pods.is_empty() || checking.swap(true, Ordering::SeqCst) {
            return;
        }
        let (agent, checking, evictions) = (self.clone(), checking.clone(), evictions.clone());
        tokio::spawn(async move {
            for (uid, pod) in pods {
                let Some(usage) = agent.rt.local_storage(&pod).await else {
                    continue;
                };
                tracing::debug!(pod = pod.name_any(), ?usage, "local storage");
                if let Some(message) = crate::eviction::violation(&pod, &usage) {
                    let _ = evictions.send((uid, message));
                }
            }
            checking.store(false, Ordering::SeqCst);
        });
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
        if grace > 0 && self.rt.runs_probes() {
            self.pre_stop_hooks(pod, Duration::from_secs(grace)).await;
        }
        let grace = grace.saturating_sub(began.elapsed().as_secs());
        match self.rt.stop_pod(&uid, Duration::from_secs(grace)).await {
            Ok(exits) => {
                // Finalizers keep the pod in the API after the DELETE below: show it stopped
                // (terminal phase, not ready), as the kubelet does.
                if pod.finalizers().iter().any(|f| !f.is_empty()) {
                    let st = status::stopped(pod, &exits, &status::now());
                    if let Err(e) = self
                        .write_status(pod, serde_json::json!({ "status": st }))
                        .await
                    {
                        tracing::warn!("{e:#}");
                    }
                }
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

    /// Runs the `preStop` hooks of the pod's containers (exec or httpGet), all at once, for
    /// at most `grace`; a failure is an event (`FailedPreStopHook`), not a reason to wait.
    async fn pre_stop_hooks(&self, pod: &Pod, grace: Duration) {
        let uid = pod.uid().unwrap_or_default();
        let ip = status::recorded_ip(pod)
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| self.host_ip.clone());
        let containers = pod.spec.as_ref().map(|s| s.containers.clone());
        let hooks = containers.iter().flatten().filter_map(|c| {
            let h = c.lifecycle.as_ref()?.pre_stop.clone()?;
            let probe = k8s_openapi::api::core::v1::Probe {
                exec: h.exec,
                http_get: h.http_get,
                tcp_socket: h.tcp_socket,
                ..Default::default()
            };
            let (uid, ip) = (uid.clone(), ip.clone());
            Some(async move {
                let target = crate::probes::Target {
                    runtime: self.rt.as_ref(),
                    pod_uid: &uid,
                    pod_ip: &ip,
                    container: c,
                };
                if let Err(msg) = crate::probes::run(&probe, grace, &target).await {
                    self.events.container(
                        pod,
                        false,
                        &c.name,
                        "Warning",
                        "FailedPreStopHook",
                        format!("PreStopHook failed: {msg}"),
                    );
                }
            })
        });
        futures::future::join_all(hooks).await;
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
