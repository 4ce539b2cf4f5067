//! The kubelet's Events (`source.component = kubelet`, `source.host = <node>`), through the
//! one recorder of ordo ([`ordo_client::events::Recorder`]: written in the background with
//! bounded concurrency, repeats aggregated as client-go's), so a pod's start never waits on
//! its events.

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::{Client, ResourceExt};
use ordo_client::events::{EventType, Recorder};

/// Sends Events about pods and the node.
#[derive(Clone)]
pub struct EventSink {
    recorder: Recorder,
    node: String,
}

impl EventSink {
    /// A sink whose writer task runs on the current tokio runtime.
    pub fn new(client: Client, node: &str) -> EventSink {
        EventSink {
            recorder: Recorder::with_host(client, "kubelet", node),
            node: node.to_string(),
        }
    }

    fn send(&self, involved: ObjectReference, ty: &str, reason: &str, message: String) {
        let ty = if ty == "Warning" {
            EventType::Warning
        } else {
            EventType::Normal
        };
        self.recorder.send(involved, ty, reason, message);
    }

    /// An event about one container of a pod (`fieldPath: spec.containers{name}`,
    /// `spec.initContainers{name}`, or `spec.ephemeralContainers{name}` for an ephemeral one).
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
        } else if crate::ephemeral::named(pod, container).is_some() {
            format!("spec.ephemeralContainers{{{container}}}")
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
            name: Some(self.node.clone()),
            uid: Some(self.node.clone()),
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
