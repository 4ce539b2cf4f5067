//! The one Event recorder of ordo (controllers, scheduler and the node agent's kubelet events),
//! like client-go's: core/v1 Events named `<object>.<unique hex>`, with repeats of the same
//! (object, type, reason, message) aggregated into one Event whose `count` and `lastTimestamp`
//! grow, so `kubectl describe` prints `(x2 over 98s)`. Writes happen in the background, a few at
//! a time, from a bounded queue: nothing waits for its events, and a burst of thousands of
//! events neither floods the API server nor grows without bound (beyond the queue they are
//! dropped, as upstream's are, with a debug log).

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Semaphore};

/// Event writes in flight per recorder at most.
const CONCURRENCY: usize = 4;
/// Events waiting to be written per recorder at most; later ones are dropped.
const BACKLOG: usize = 50_000;
/// Distinct events remembered for aggregation; the memory is cleared past this.
const REMEMBERED: usize = 4096;

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Something expected happened (`Created pod: web-0`).
    Normal,
    /// Something went wrong (`FailedCreate`).
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct EventKey {
    uid: String,
    kind: String,
    field_path: String,
    ty: EventType,
    reason: String,
    message: String,
}

/// An event to write.
struct Job {
    reference: ObjectReference,
    ty: EventType,
    reason: String,
    message: String,
    /// When it happened.
    at: Time,
}

struct Inner {
    client: Client,
    component: String,
    host: Option<String>,
    /// Events already written: key → (namespace, name, count).
    seen: Mutex<HashMap<EventKey, (String, String, i32)>>,
    /// Makes names unique when two events of one object share a nanosecond.
    last_name: AtomicU64,
}

/// Records Events for one component (`statefulset-controller`, `kubelet`...). Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    /// Events waiting for the writer task (which holds the recorder's state).
    queue: mpsc::Sender<Job>,
}

impl Recorder {
    /// A recorder whose Events say `source.component = component`; its writer task runs on the
    /// current tokio runtime.
    pub fn new(client: Client, component: &str) -> Recorder {
        Self::build(client, component, None)
    }

    /// A recorder whose Events also say `source.host = host` (the kubelet's carry the node).
    pub fn with_host(client: Client, component: &str, host: &str) -> Recorder {
        Self::build(client, component, Some(host.to_string()))
    }

    fn build(client: Client, component: &str, host: Option<String>) -> Recorder {
        let inner = Arc::new(Inner {
            client,
            component: component.to_string(),
            host,
            seen: Default::default(),
            last_name: AtomicU64::new(0),
        });
        let (queue, mut jobs) = mpsc::channel::<Job>(BACKLOG);
        let writer = inner;
        tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(CONCURRENCY));
            while let Some(job) = jobs.recv().await {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let w = writer.clone();
                tokio::spawn(async move {
                    w.write(job).await;
                    drop(permit);
                });
            }
        });
        Recorder { queue }
    }

    /// Records an event about `obj`. Failures are logged, never returned: events are best effort.
    pub async fn record<K>(&self, obj: &K, ty: EventType, reason: &str, message: &str)
    where
        K: Resource<DynamicType = ()>,
    {
        let reference = ObjectReference {
            api_version: Some(K::api_version(&()).to_string()),
            kind: Some(K::kind(&()).to_string()),
            name: Some(obj.name_any()),
            namespace: obj.namespace(),
            uid: obj.meta().uid.clone(),
            resource_version: obj.meta().resource_version.clone(),
            ..Default::default()
        };
        self.record_ref(reference, ty, reason, message).await
    }

    /// Records an event about the object `reference` points at (its `fieldPath` may name a
    /// container). The write happens in the background.
    pub async fn record_ref(
        &self,
        reference: ObjectReference,
        ty: EventType,
        reason: &str,
        message: &str,
    ) {
        self.send(reference, ty, reason, message.to_string());
    }

    /// [`Recorder::record_ref`] for callers that are not async.
    pub fn send(&self, reference: ObjectReference, ty: EventType, reason: &str, message: String) {
        let job = Job {
            reference,
            ty,
            reason: reason.to_string(),
            message,
            at: Time(k8s_openapi::jiff::Timestamp::now()),
        };
        if let Err(e) = self.queue.try_send(job) {
            let job = match e {
                mpsc::error::TrySendError::Full(j) | mpsc::error::TrySendError::Closed(j) => j,
            };
            tracing::debug!(
                "event backlog full; dropping {} for {:?}",
                job.reason,
                job.reference.name
            );
        }
    }
}

impl Inner {
    /// A name unique among this recorder's events: `<object>.<hex nanoseconds>` as client-go's,
    /// so names sort by time.
    fn name_for(&self, object: &str) -> String {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let prev = self.last_name.fetch_max(wall, Ordering::Relaxed);
        let n = if prev >= wall {
            self.last_name.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            wall
        };
        format!("{object}.{n:016x}")
    }

    async fn write(&self, job: Job) {
        let Job {
            reference,
            ty,
            reason,
            message,
            at,
        } = job;
        let ns = reference
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_string());
        let key = EventKey {
            uid: reference.uid.clone().unwrap_or_default(),
            kind: reference.kind.clone().unwrap_or_default(),
            field_path: reference.field_path.clone().unwrap_or_default(),
            ty,
            reason: reason.clone(),
            message: message.clone(),
        };
        // The lock is held only around lookups, never across a request.
        let existing = self.seen().get(&key).cloned();
        if let Some((ens, name, count)) = existing {
            let patch = serde_json::json!({"count": count + 1, "lastTimestamp": at});
            let api: Api<Event> = Api::namespaced(self.client.clone(), &ens);
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.seen().insert(key, (ens, name, count + 1));
                    return;
                }
                Err(e) => tracing::debug!("aggregating event {name}: {e}; creating a new one"),
            }
        }
        let base = reference.name.clone().unwrap_or_default();
        let name = self.name_for(&base);
        let ev = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            involved_object: reference,
            reason: Some(reason.clone()),
            message: Some(message),
            type_: Some(ty.as_str().to_string()),
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: self.host.clone(),
            }),
            first_timestamp: Some(at.clone()),
            last_timestamp: Some(at),
            count: Some(1),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.host.clone().unwrap_or_else(|| self.component.clone())),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        match api.create(&PostParams::default(), &ev).await {
            Ok(_) => {
                let mut seen = self.seen();
                if seen.len() > REMEMBERED {
                    seen.clear();
                }
                seen.insert(key, (ns, name, 1));
            }
            Err(e) => tracing::debug!("recording event {reason} for {base}: {e}"),
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<EventKey, (String, String, i32)>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}
