//! An event recorder like client-go's: core/v1 Events named `<object>.<unique>`, with repeats
//! of the same (object, type, reason, message, source) aggregated into one Event whose
//! `count` and `lastTimestamp` grow, so `kubectl describe` prints `(x2 over 98s)`.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

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
    ty: EventType,
    reason: String,
    message: String,
}

/// Events already written: key → (namespace, name, count).
type SeenEvents = Arc<Mutex<HashMap<EventKey, (String, String, i32)>>>;

/// Records Events for one component (`statefulset-controller`, `kubelet`...).
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    component: String,
    host: Option<String>,
    seen: SeenEvents,
}

impl Recorder {
    /// A recorder whose Events say `source.component = component`.
    pub fn new(client: Client, component: &str) -> Recorder {
        Recorder {
            client,
            component: component.to_string(),
            host: None,
            seen: Default::default(),
        }
    }

    /// Sets `source.host` (kubelet events carry the node name).
    pub fn with_host(mut self, host: &str) -> Recorder {
        self.host = Some(host.to_string());
        self
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

    /// Records an event about the object `reference` points at. The write happens in the
    /// background: a controller never waits for its events.
    pub async fn record_ref(
        &self,
        reference: ObjectReference,
        ty: EventType,
        reason: &str,
        message: &str,
    ) {
        let this = self.clone();
        let (reason, message) = (reason.to_string(), message.to_string());
        tokio::spawn(async move { this.write(reference, ty, &reason, &message).await });
    }

    async fn write(&self, reference: ObjectReference, ty: EventType, reason: &str, message: &str) {
        let ns = reference
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let key = EventKey {
            uid: reference.uid.clone().unwrap_or_default(),
            kind: reference.kind.clone().unwrap_or_default(),
            ty,
            reason: reason.to_string(),
            message: message.to_string(),
        };
        // The lock is held only around lookups, never across a request.
        let existing = self.seen.lock().await.get(&key).cloned();
        if let Some((ens, name, count)) = existing {
            let patch = serde_json::json!({"count": count + 1, "lastTimestamp": now});
            let api_ns: Api<Event> = Api::namespaced(self.client.clone(), &ens);
            match api_ns
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.seen.lock().await.insert(key, (ens, name, count + 1));
                    return;
                }
                Err(e) => tracing::debug!("aggregating event {name}: {e}; creating a new one"),
            }
        }
        let base = reference.name.clone().unwrap_or_default();
        // As client-go: `<object>.<creation time in hex nanoseconds>`, so names sort by time.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("{base}.{nanos:x}");
        let ev = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            involved_object: reference,
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            type_: Some(ty.as_str().to_string()),
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: self.host.clone(),
            }),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.host.clone().unwrap_or_else(|| self.component.clone())),
            ..Default::default()
        };
        match api.create(&PostParams::default(), &ev).await {
            Ok(_) => {
                let mut seen = self.seen.lock().await;
                if seen.len() > 4096 {
                    seen.clear();
                }
                seen.insert(key, (ns, name, 1));
            }
            Err(e) => tracing::debug!("recording event {reason} for {base}: {e}"),
        }
    }
}
