//! Node lifecycle: what kube-controller-manager's `node-lifecycle-controller`,
//! `taint-eviction-controller` and `pod-garbage-collector` do for nodes that stop reporting.
//! - A node whose Lease and `Ready` heartbeat have not moved for the grace period (50 s, the
//!   `--node-monitor-grace-period` of 1.32 and later) gets `Unknown` conditions
//!   (`NodeStatusUnknown`, "Kubelet stopped posting node status."), a `NodeNotReady` event, and
//!   its pods are marked not ready (so Services stop sending them traffic).
//! - Nodes are tainted from their `Ready` condition: `node.kubernetes.io/not-ready` when
//!   `False`, `node.kubernetes.io/unreachable` when `Unknown`, each `NoSchedule` and
//!   `NoExecute`; the taints go when the node is `Ready` again.
//! - Taint-based eviction: a pod on a node with a `NoExecute` taint it does not tolerate is
//!   deleted; one that tolerates it for `tolerationSeconds` (300 s by default, added by the API
//!   server's DefaultTolerationSeconds admission) when that time has run out. A StatefulSet pod
//!   deleted that way stays `Terminating` while its node is unreachable, as upstream: nothing
//!   can know that its containers stopped.
//! - Pod garbage collection: pods bound to a node that no longer exists (after 40 s of
//!   quarantine), and terminating pods on a node with the `node.kubernetes.io/out-of-service`
//!   taint that is not `Ready`, are force-deleted.
//!
//! Decisions live in [`logic`]; this module reads the shared caches and writes.

pub mod logic;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::ResourceExt;
use ordo_client::events::{EventType, Recorder};
use ordo_client::{Caches, Shared};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The controller's timings (kube-controller-manager's flags of the same names).
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// How often nodes are checked (`--node-monitor-period`, 5 s).
    pub monitor_period: Duration,
    /// How long a node may go without a heartbeat before it is `Unknown`
    /// (`--node-monitor-grace-period`, 50 s).
    pub grace_period: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            monitor_period: Duration::from_secs(5),
            grace_period: Duration::from_secs(50),
        }
    }
}

/// How long a pod's node must be missing before the pod is collected (upstream's quarantine).
const ORPHAN_QUARANTINE: Duration = Duration::from_secs(40);
/// How often taint-based evictions and pod garbage collection are checked.
const EVICTION_PERIOD: Duration = Duration::from_secs(1);

struct Probe {
    heartbeat: String,
    at: Instant,
}

struct Ctl {
    client: kube::Client,
    cfg: Config,
    nodes: Arc<Shared<Node>>,
    leases: Arc<Shared<Lease>>,
    pods: Arc<Shared<Pod>>,
    lifecycle: Recorder,
    eviction: Recorder,
    probes: HashMap<String, Probe>,
    /// Ready status last seen per node (pods are marked not ready when it leaves `True`).
    was_ready: HashMap<String, bool>,
    /// Pods this controller deleted (the cache may not show it yet).
    evicted: HashSet<String>,
    /// When a pod's node was first seen missing.
    orphans: HashMap<String, Instant>,
    last_monitor: Option<Instant>,
}

/// Runs the node lifecycle, taint eviction and pod garbage collection loops.
pub async fn run(caches: Caches, cfg: Config) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let mut ctl = Ctl {
        lifecycle: Recorder::new(client.clone(), "node-controller"),
        eviction: Recorder::new(client.clone(), "taint-eviction-controller"),
        client,
        cfg,
        nodes: caches.get(),
        leases: caches.get(),
        pods: caches.get(),
        probes: HashMap::new(),
        was_ready: HashMap::new(),
        evicted: HashSet::new(),
        orphans: HashMap::new(),
        last_monitor: None,
    };
    tokio::join!(ctl.nodes.ready(), ctl.leases.ready(), ctl.pods.ready());
    let mut tick = tokio::time::interval(EVICTION_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if ctl
            .last_monitor
            .is_none_or(|t| t.elapsed() >= ctl.cfg.monitor_period)
        {
            ctl.last_monitor = Some(Instant::now());
            ctl.monitor().await;
        }
        ctl.evict().await;
        ctl.collect().await;
    }
}

impl Ctl {
    /// Marks nodes that stopped reporting `Unknown` and keeps every node's taints in line with
    /// its `Ready` condition.
    async fn monitor(&mut self) {
        let now = Timestamp::now();
        let nodes = self.nodes.state();
        let names: HashSet<String> = nodes.iter().map(|n| n.name_any()).collect();
        self.probes.retain(|n, _| names.contains(n));
        self.was_ready.retain(|n, _| names.contains(n));
        for node in nodes {
            let name = node.name_any();
            let renew = self.leases.get("kube-node-lease", &name).and_then(|l| {
                l.spec
                    .as_ref()?
                    .renew_time
                    .as_ref()
                    .map(|t| t.0.to_string())
            });
            let beat = logic::heartbeat(&node, renew.as_deref());
            let probe = self.probes.entry(name.clone()).or_insert(Probe {
                heartbeat: beat.clone(),
                at: Instant::now(),
            });
            if probe.heartbeat != beat {
                probe.heartbeat = beat;
                probe.at = Instant::now();
            }
            let mut node = (*node).clone();
            if probe.at.elapsed() > self.cfg.grace_period {
                if let Some(conditions) = logic::unknown_conditions(&node, now) {
                    if self.set_conditions(&name, &conditions).await {
                        self.lifecycle
                            .record(
                                &node,
                                EventType::Normal,
                                "NodeNotReady",
                                &format!("Node {name} status is now: NodeNotReady"),
                            )
                            .await;
                        node.status.get_or_insert_default().conditions = Some(conditions);
                    }
                }
            }
            let ready = logic::ready_status(&node) == Some("True");
            if self.was_ready.insert(name.clone(), ready) == Some(true) && !ready {
                self.mark_pods_not_ready(&name).await;
            }
            if let Some(taints) = logic::desired_taints(&node, now) {
                self.set_taints(&node, taints).await;
            }
        }
    }

    async fn set_conditions(
        &self,
        name: &str,
        conditions: &[k8s_openapi::api::core::v1::NodeCondition],
    ) -> bool {
        let api: Api<Node> = Api::all(self.client.clone());
        let patch = json!({"status": {"conditions": conditions}});
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
        {
            Ok(_) => {
                tracing::info!("node {name}: the kubelet stopped posting node status");
                true
            }
            Err(e) => {
                tracing::warn!("node {name}: setting its conditions Unknown: {e}");
                false
            }
        }
    }

    async fn set_taints(&self, node: &Node, taints: Vec<k8s_openapi::api::core::v1::Taint>) {
        let api: Api<Node> = Api::all(self.client.clone());
        // The resourceVersion makes a concurrent `kubectl taint` win, not vanish.
        let patch = json!({
            "metadata": {"resourceVersion": node.metadata.resource_version},
            "spec": {"taints": taints},
        });
        if let Err(e) = api
            .patch(
                &node.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            tracing::debug!("node {}: updating taints: {e}", node.name_any());
        }
    }

    /// Sets the `Ready` condition of the node's pods to `False` (upstream `MarkPodsNotReady`).
    async fn mark_pods_not_ready(&self, node: &str) {
        let now = Timestamp::now();
        for pod in self.pods_on(node) {
            let ready = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
            if ready.is_none_or(|c| c.status == "False") {
                continue;
            }
            let api: Api<Pod> =
                Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
            let patch = json!({"status": {"conditions": [
                {"type": "Ready", "status": "False", "lastTransitionTime": now}]}});
            match api
                .patch_status(
                    &pod.name_any(),
                    &PatchParams::default(),
                    &Patch::Strategic(&patch),
                )
                .await
            {
                Ok(_) => {
                    self.lifecycle
                        .record(
                            &*pod,
                            EventType::Warning,
                            "NodeNotReady",
                            "Node is not ready",
                        )
                        .await
                }
                Err(e) => tracing::debug!("pod {}: marking not ready: {e}", pod.name_any()),
            }
        }
    }

    fn pods_on(&self, node: &str) -> Vec<Arc<Pod>> {
        self.pods
            .state()
            .into_iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
            .collect()
    }

    /// Deletes the pods that `NoExecute` taints evict now.
    async fn evict(&mut self) {
        let now = Timestamp::now();
        for node in self.nodes.state() {
            let taints = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.clone())
                .unwrap_or_default();
            if !taints.iter().any(|t| t.effect == "NoExecute") {
                continue;
            }
            for pod in self.pods_on(&node.name_any()) {
                let uid = pod.uid().unwrap_or_default();
                if pod.metadata.deletion_timestamp.is_some() || self.evicted.contains(&uid) {
                    continue;
                }
                if logic::eviction_time(&pod, &taints, now).is_some_and(|at| at <= now) {
                    self.evicted.insert(uid);
                    self.delete(
                        &pod,
                        "DeletionByTaintManager",
                        "Taint manager: deleting due to NoExecute taint",
                        None,
                    )
                    .await;
                    let who = format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any());
                    self.eviction
                        .record(
                            &*pod,
                            EventType::Normal,
                            "TaintManagerEviction",
                            &format!("Marking for deletion Pod {who}"),
                        )
                        .await;
                }
            }
        }
        let live: HashSet<String> = self.pods.state().iter().filter_map(|p| p.uid()).collect();
        self.evicted.retain(|u| live.contains(u));
    }

    /// Force-deletes pods whose node is gone, and terminating pods on out-of-service nodes.
    async fn collect(&mut self) {
        let nodes: HashMap<String, Arc<Node>> = self
            .nodes
            .state()
            .into_iter()
            .map(|n| (n.name_any(), n))
            .collect();
        let mut seen = HashSet::new();
        for pod in self.pods.state() {
            let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
                continue;
            };
            let uid = pod.uid().unwrap_or_default();
            match nodes.get(&node) {
                Some(n) => {
                    if logic::out_of_service(n) && pod.metadata.deletion_timestamp.is_some() {
                        self.delete(
                            &pod,
                            "DeletionByPodGC",
                            "PodGC: node has out-of-service taint",
                            Some(0),
                        )
                        .await;
                    }
                }
                None => {
                    seen.insert(uid.clone());
                    let first = *self.orphans.entry(uid).or_insert_with(Instant::now);
                    if first.elapsed() < ORPHAN_QUARANTINE {
                        continue;
                    }
                    // The cache may lag: ask the API server before deleting.
                    let api: Api<Node> = Api::all(self.client.clone());
                    if matches!(api.get_opt(&node).await, Ok(None)) {
                        tracing::info!(
                            "pod {}/{}: its node {node} no longer exists",
                            pod.namespace().unwrap_or_default(),
                            pod.name_any()
                        );
                        self.delete(
                            &pod,
                            "DeletionByPodGC",
                            "PodGC: node no longer exists",
                            Some(0),
                        )
                        .await;
                    }
                }
            }
        }
        self.orphans.retain(|u, _| seen.contains(u));
    }

    /// Adds the `DisruptionTarget` condition, then deletes the pod (grace period `grace`, or
    /// the pod's own), guarded by its uid.
    async fn delete(&self, pod: &Pod, reason: &str, message: &str, grace: Option<u32>) {
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        let name = pod.name_any();
        let has_target = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "DisruptionTarget"));
        if !has_target {
            let patch = json!({"status": {"conditions": [{"type": "DisruptionTarget",
                "status": "True", "reason": reason, "message": message,
                "lastTransitionTime": Timestamp::now()}]}});
            if let Err(e) = api
                .patch_status(&name, &PatchParams::default(), &Patch::Strategic(&patch))
                .await
            {
                tracing::warn!("pod {name}: adding DisruptionTarget: {e}");
            }
        }
        let dp = DeleteParams {
            grace_period_seconds: grace,
            preconditions: Some(Preconditions {
                uid: pod.uid(),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete(&name, &dp).await {
            Ok(_) => tracing::info!("pod {name}: deleted ({reason})"),
            Err(e) => tracing::warn!("pod {name}: deleting: {e}"),
        }
    }
}

#[cfg(test)]
mod tests;
