//! The kubelet's Events (`source.component = kubelet`, `source.host = <node>`), written in the
//! background with bounded concurrency so a pod's start never waits on its events.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};

/// At most this many Event creations in flight.
const CONCURRENCY: usize = 4;
/// Events beyond this backlog are dropped (they are best effort, like upstream's).
const BACKLOG: usize = 200_000;

/// Sends Events about pods and the node.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Event>,
    node: Arc<str>,
    seq: Arc<AtomicU64>,
}

impl EventSink {
    /// A sink whose writer task runs on the current tokio runtime.
    pub fn new(client: Client, node: &str) -> EventSink {
        let (tx, mut rx) = mpsc::channel::<Event>(BACKLOG);
        tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(CONCURRENCY));
            while let Some(ev) = rx.recv().await {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let ns = ev
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into());
                let api: Api<Event> = Api::namespaced(client.clone(), &ns);
                tokio::spawn(async move {
                    if let Err(e) = api.create(&PostParams::default(), &ev).await {
                        tracing::debug!("recording event {:?}: {e}", ev.reason);
                    }
                    drop(permit);
                });
            }
        });
        EventSink {
            tx,
            node: node.into(),
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    fn send(&self, involved: ObjectReference, ty: &str, reason: &str, message: String) {
        let now = crate::status::now();
        let base = involved.name.clone().unwrap_or_default();
        // client-go names events `<object>.<UnixNano in hex>`, so names sort by time.
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let prev = self.seq.fetch_max(wall, Ordering::Relaxed);
        let n = if prev >= wall {
            self.seq.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            wall
        };
        let ns = involved
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into());
        let ev = Event {
            metadata: ObjectMeta {
                name: Some(format!("{base}.{n:016x}")),
                namespace: Some(ns),
                ..Default::default()
            },
            involved_object: involved,
            reason: Some(reason.into()),
            message: Some(message),
            type_: Some(ty.into()),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some(self.node.to_string()),
            }),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(self.node.to_string()),
            ..Default::default()
        };
        if self.tx.try_send(ev).is_err() {
            tracing::debug!("event backlog full; dropping {reason} for {base}");
        }
    }

    /// An event about one container of a pod (`fieldPath: spec.containers{name}`).
    pub fn container(
        &self,
        pod: &Pod,
        init: bool,
        container: &str,
        ty: &str,
        reason: &str,
        message: String,
    ) {
        let field = if init {
            format!("spec.initContainers{{{container}}}")
        } else {
            format!("spec.containers{{{container}}}")
        };
        self.send(pod_ref(pod, Some(field)), ty, reason, message);
    }

    /// An event about a pod.
    pub fn pod(&self, pod: &Pod, ty: &str, reason: &str, message: String) {
        self.send(pod_ref(pod, None), ty, reason, message);
    }

    /// An event about this node (upstream's kubelet uses the node name as the UID).
    pub fn node(&self, ty: &str, reason: &str, message: String) {
        let r = ObjectReference {
            kind: Some("Node".into()),
            name: Some(self.node.to_string()),
            uid: Some(self.node.to_string()),
            namespace: Some(String::new()),
            ..Default::default()
        };
        self.send(r, ty, reason, message);
    }
}

fn pod_ref(pod: &Pod, field_path: Option<String>) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: Some(pod.name_any()),
        namespace: pod.namespace(),
        uid: pod.uid(),
        resource_version: pod.resource_version(),
        field_path,
    }
}
