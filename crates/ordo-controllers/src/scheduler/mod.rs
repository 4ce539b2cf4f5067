//! The scheduler (upstream's kube-scheduler, simplified): assigns pods that have no
//! `spec.nodeName` (and `schedulerName` default-scheduler) to a Ready, schedulable node that
//! fits them, spreading by pod count, through the `pods/NAME/binding` subresource.
//!
//! One watch on pods and one on nodes feed an in-memory picture of what is placed where;
//! decisions are made one at a time on that picture (a chosen node is "assumed" until the
//! watch shows the binding), while the binding requests run concurrently. Pods that fit
//! nowhere get a `FailedScheduling` event and `PodScheduled=False`, and are retried with
//! backoff or as soon as nodes or pods change.

pub mod fit;

use fit::{Requests, Usage};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Binding, Node, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use ordo_api::host_ports::HostPort;
use ordo_client::events::{EventType, Recorder};
use ordo_client::{Caches, Change};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

/// The scheduler's name, in `spec.schedulerName` and in its events.
pub const SCHEDULER_NAME: &str = "default-scheduler";
/// Binding requests in flight at most.
const BIND_CONCURRENCY: usize = 32;
const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Event recorders (each writes one event at a time).
const RECORDERS: usize = 4;

/// What the run loop must do after a decision.
#[derive(Debug)]
pub enum Action {
    Bind { pod: Box<Pod>, node: String },
    Unschedulable { pod: Box<Pod>, message: String },
}

/// The scheduler's picture of the cluster and its queue. No I/O.
#[derive(Default)]
pub struct Scheduler {
    nodes: BTreeMap<String, Node>,
    usage: HashMap<String, Usage>,
    /// Pods placed on a node (bound or assumed): uid → (node, requests).
    assigned: HashMap<String, (String, Requests)>,
    /// The host ports of the placed pods that ask for some: uid → (node, ports).
    host_ports: HashMap<String, (String, Vec<HostPort>)>,
    /// Unscheduled pods this scheduler is responsible for.
    pending: HashMap<String, Pod>,
    queue: VecDeque<String>,
    queued: HashSet<String>,
    binding: HashSet<String>,
    /// Pods that fit nowhere: uid → (next attempt, current backoff, `changes` when tried).
    backoff: HashMap<String, (Instant, Duration, u64)>,
    /// Counts changes (nodes, freed capacity) that may let a backed-off pod fit.
    changes: u64,
    pods_synced: bool,
    nodes_synced: bool,
}

fn uid_of(p: &Pod) -> String {
    p.metadata.uid.clone().unwrap_or_default()
}

fn is_terminal(p: &Pod) -> bool {
    matches!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded") | Some("Failed")
    )
}

fn ours(p: &Pod) -> bool {
    p.spec
        .as_ref()
        .and_then(|s| s.scheduler_name.as_deref())
        .is_none_or(|n| n.is_empty() || n == SCHEDULER_NAME)
}

impl Scheduler {
    fn assign(&mut self, uid: &str, node: &str, req: Requests) {
        if let Some((cur, _)) = self.assigned.get(uid) {
            if cur == node {
                return;
            }
            self.unassign(uid);
        }
        self.usage.entry(node.to_string()).or_default().add(req);
        self.assigned
            .insert(uid.to_string(), (node.to_string(), req));
    }

    /// Notes the host ports a pod placed on `node` holds.
    fn hold_ports(&mut self, uid: &str, node: &str, pod: &Pod) {
        let ports = ordo_api::host_ports::of(pod);
        if ports.is_empty() {
            self.host_ports.remove(uid);
        } else {
            self.host_ports
                .insert(uid.to_string(), (node.to_string(), ports));
        }
    }

    fn unassign(&mut self, uid: &str) {
        self.host_ports.remove(uid);
        if let Some((node, req)) = self.assigned.remove(uid) {
            if let Some(u) = self.usage.get_mut(&node) {
                u.sub(req);
            }
            self.changes += 1;
        }
    }

    fn enqueue(&mut self, uid: &str) {
        if self.queued.insert(uid.to_string()) {
            self.queue.push_back(uid.to_string());
        }
    }

    /// A pod was added or changed.
    pub fn pod_applied(&mut self, pod: Pod) {
        let uid = uid_of(&pod);
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty());
        if let Some(node) = node {
            self.pending.remove(&uid);
            self.backoff.remove(&uid);
            if is_terminal(&pod) {
                self.unassign(&uid);
            } else {
                self.assign(&uid, &node, fit::requests(&pod));
                self.hold_ports(&uid, &node, &pod);
            }
            return;
        }
        if pod.metadata.deletion_timestamp.is_some() || is_terminal(&pod) || !ours(&pod) {
            self.pending.remove(&uid);
            self.backoff.remove(&uid);
            return;
        }
        let waiting = self.binding.contains(&uid) || self.backoff.contains_key(&uid);
        self.pending.insert(uid.clone(), pod);
        if !waiting {
            self.enqueue(&uid);
        }
    }

    /// A pod was deleted.
    pub fn pod_deleted(&mut self, pod: &Pod) {
        let uid = uid_of(pod);
        self.pending.remove(&uid);
        self.backoff.remove(&uid);
        self.unassign(&uid);
    }

    /// The pod watch (re)listed: rebuild from `pods` (assumptions of bindings in flight are kept).
    pub fn pods_listed(&mut self, pods: Vec<Pod>) {
        let in_flight: Vec<(String, (String, Requests))> = self
            .binding
            .iter()
            .filter_map(|u| self.assigned.get(u).map(|a| (u.clone(), a.clone())))
            .collect();
        self.assigned.clear();
        let binding = &self.binding;
        self.host_ports.retain(|u, _| binding.contains(u));
        self.usage.clear();
        self.pending.clear();
        self.queue.clear();
        self.queued.clear();
        for (uid, (node, req)) in in_flight {
            self.assign(&uid, &node, req);
        }
        let listed: HashSet<String> = pods.iter().map(uid_of).collect();
        self.backoff.retain(|u, _| listed.contains(u));
        for p in pods {
            self.pod_applied(p);
        }
        self.pods_synced = true;
        self.changes += 1;
    }

    /// A node was added or changed.
    pub fn node_applied(&mut self, node: Node) {
        self.nodes.insert(node.name_any(), node);
        self.changes += 1;
    }

    /// A node was deleted.
    pub fn node_deleted(&mut self, node: &Node) {
        self.nodes.remove(&node.name_any());
        self.changes += 1;
    }

    /// The node watch (re)listed.
    pub fn nodes_listed(&mut self, nodes: Vec<Node>) {
        self.nodes = nodes.into_iter().map(|n| (n.name_any(), n)).collect();
        self.nodes_synced = true;
        self.changes += 1;
    }

    /// The binding of `uid` to `node` finished; on failure the assumption is dropped and the
    /// pod retried later.
    pub fn bind_done(&mut self, uid: &str, ok: bool, retry: bool) {
        self.binding.remove(uid);
        if ok {
            return;
        }
        self.unassign(uid);
        if retry && self.pending.contains_key(uid) {
            self.backoff.insert(
                uid.to_string(),
                (
                    Instant::now() + INITIAL_BACKOFF,
                    INITIAL_BACKOFF,
                    self.changes,
                ),
            );
        }
    }

    /// Moves backed-off pods whose time came (all of them if the cluster changed) to the queue.
    pub fn requeue(&mut self, now: Instant) {
        let changes = self.changes;
        let due: Vec<String> = self
            .backoff
            .iter()
            .filter(|(_, (at, _, seen))| *seen < changes || *at <= now)
            .map(|(u, _)| u.clone())
            .collect();
        for uid in due {
            self.enqueue(&uid);
        }
    }

    /// Decides for every queued pod.
    pub fn schedule(&mut self, now: Instant) -> Vec<Action> {
        if !self.pods_synced || !self.nodes_synced {
            return vec![];
        }
        let mut out = Vec::new();
        // Higher priorities first (`spec.priority`, from the PriorityClass), then queue order.
        let mut order: Vec<String> = self.queue.drain(..).collect();
        order.sort_by_key(|uid| {
            std::cmp::Reverse(
                self.pending
                    .get(uid)
                    .and_then(|p| p.spec.as_ref()?.priority)
                    .unwrap_or(0),
            )
        });
        for uid in order {
            self.queued.remove(&uid);
            let Some(pod) = self.pending.get(&uid) else {
                continue;
            };
            if self.binding.contains(&uid) {
                continue;
            }
            let usage = &self.usage;
            let wanted = ordo_api::host_ports::of(pod);
            let held = &self.host_ports;
            let ports_free = |name: &str| {
                wanted.is_empty()
                    || !ordo_api::host_ports::any_conflict(
                        &wanted,
                        held.values()
                            .filter(|(n, _)| n == name)
                            .flat_map(|(_, ps)| ps),
                    )
            };
            let candidates = self.nodes.iter().map(|(name, n)| {
                (
                    n,
                    usage.get(name).copied().unwrap_or_default(),
                    ports_free(name),
                )
            });
            match fit::choose_with_ports(pod, candidates) {
                Ok(node) => {
                    let pod = pod.clone();
                    self.backoff.remove(&uid);
                    self.assign(&uid, &node, fit::requests(&pod));
                    self.hold_ports(&uid, &node, &pod);
                    self.binding.insert(uid);
                    out.push(Action::Bind {
                        pod: Box::new(pod),
                        node,
                    });
                }
                Err(message) => {
                    let pod = pod.clone();
                    let next = match self.backoff.get(&uid) {
                        Some((_, d, _)) => (*d * 2).min(MAX_BACKOFF),
                        None => INITIAL_BACKOFF,
                    };
                    self.backoff.insert(uid, (now + next, next, self.changes));
                    out.push(Action::Unschedulable {
                        pod: Box::new(pod),
                        message,
                    });
                }
            }
        }
        out
    }
}

/// What a binding request ended with: (uid, ok, worth retrying).
type BindResult = (String, bool, bool);

/// Runs the scheduler until an unrecoverable error.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    // Several recorders: one serializes its writes, and each pod always uses the same one
    // (so repeated FailedScheduling events still aggregate).
    let recorders: Arc<Vec<Recorder>> = Arc::new(
        (0..RECORDERS)
            .map(|_| Recorder::new(client.clone(), SCHEDULER_NAME))
            .collect(),
    );
    let mut pod_stream = caches.get::<Pod>().changes().boxed();
    let mut node_stream = caches.get::<Node>().changes().boxed();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<BindResult>();
    let permits = Arc::new(Semaphore::new(BIND_CONCURRENCY));
    // Bindings and unschedulable marks in flight: owned here, so that dropping the scheduler
    // (its leader lease lost) aborts them too.
    let mut in_flight = tokio::task::JoinSet::new();
    let mut s = Scheduler::default();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ev = pod_stream.next() => match ev {
                None => anyhow::bail!("the scheduler's pod cache ended"),
                Some(Change::All(all)) => s.pods_listed(all.iter().map(|p| Pod::clone(p)).collect()),
                Some(Change::Apply(p)) => s.pod_applied(Pod::clone(&p)),
                Some(Change::Delete(p)) => s.pod_deleted(&p),
            },
            ev = node_stream.next() => match ev {
                None => anyhow::bail!("the scheduler's node cache ended"),
                Some(Change::All(all)) => s.nodes_listed(all.iter().map(|n| Node::clone(n)).collect()),
                Some(Change::Apply(n)) => s.node_applied(Node::clone(&n)),
                Some(Change::Delete(n)) => s.node_deleted(&n),
            },
            Some((uid, ok, retry)) = done_rx.recv() => s.bind_done(&uid, ok, retry),
            _ = tick.tick() => s.requeue(Instant::now()),
            Some(_) = in_flight.join_next() => {}
        }
        for action in s.schedule(Instant::now()) {
            match action {
                Action::Bind { pod, node } => {
                    let (client, recorder, done, permits) = (
                        client.clone(),
                        recorder_for(&recorders, &pod),
                        done_tx.clone(),
                        permits.clone(),
                    );
                    in_flight.spawn(async move {
                        let _permit = permits.acquire().await;
                        let r = bind(&client, &pod, &node).await;
                        let uid = uid_of(&pod);
                        match r {
                            Ok(()) => {
                                let _ = done.send((uid, true, false));
                                let msg = format!(
                                    "Successfully assigned {}/{} to {node}",
                                    pod.namespace().unwrap_or_default(),
                                    pod.name_any()
                                );
                                drop(_permit);
                                recorder
                                    .record(pod.as_ref(), EventType::Normal, "Scheduled", &msg)
                                    .await;
                            }
                            Err(e) => {
                                // 404: gone; 409: already bound or being deleted. Either way the watch tells.
                                let retry = !matches!(&e, kube::Error::Api(s) if s.code == 404 || s.code == 409);
                                if retry {
                                    tracing::warn!(
                                        "binding pod {}/{} to {node}: {e}",
                                        pod.namespace().unwrap_or_default(),
                                        pod.name_any()
                                    );
                                }
                                let _ = done.send((uid, false, retry));
                            }
                        }
                    });
                }
                Action::Unschedulable { pod, message } => {
                    let (client, recorder, permits) = (
                        client.clone(),
                        recorder_for(&recorders, &pod),
                        permits.clone(),
                    );
                    in_flight.spawn(async move {
                        let permit = permits.acquire().await;
                        mark_unschedulable(&client, &pod, &message).await;
                        drop(permit);
                        recorder
                            .record(
                                pod.as_ref(),
                                EventType::Warning,
                                "FailedScheduling",
                                &message,
                            )
                            .await;
                    });
                }
            }
        }
    }
}

/// The recorder of `pod` (always the same one for a pod).
fn recorder_for(recorders: &[Recorder], pod: &Pod) -> Recorder {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pod.metadata.uid.hash(&mut h);
    recorders[(h.finish() as usize) % recorders.len()].clone()
}

/// POSTs a v1 Binding of `pod` to `node`.
async fn bind(client: &Client, pod: &Pod, node: &str) -> Result<(), kube::Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(pod.name_any()),
            namespace: pod.namespace(),
            uid: pod.uid(),
            ..Default::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.into()),
            ..Default::default()
        },
    };
    let _: serde_json::Value = api
        .create_subresource("binding", &pod.name_any(), &PostParams::default(), &binding)
        .await?;
    Ok(())
}

/// Sets `PodScheduled=False` (reason Unschedulable) unless the pod already says so. The patch
/// carries the pod's resourceVersion, so it cannot land on a pod bound in the meantime.
async fn mark_unschedulable(client: &Client, pod: &Pod, message: &str) {
    let current = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"));
    if current.is_some_and(|c| {
        c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
            && c.message.as_deref() == Some(message)
    }) {
        return;
    }
    let since =
        current
            .filter(|c| c.status == "False")
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or_else(|| {
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::now(),
                )
            });
    let patch = json!({"metadata": {"resourceVersion": pod.metadata.resource_version}, "status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message, "lastProbeTime": null, "lastTransitionTime": since}]}});
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    if let Err(e) = api
        .patch_status(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
    {
        tracing::debug!("marking pod {} unschedulable: {e}", pod.name_any());
    }
}

#[cfg(test)]
mod tests;
