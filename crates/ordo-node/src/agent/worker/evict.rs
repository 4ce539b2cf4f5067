//! Eviction of a pod over a local storage limit (`crate::eviction` decides which), as the
//! kubelet's eviction manager carries it out.

use super::Agent;
use crate::status;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use serde_json::json;
use std::time::Duration;

impl Agent {
    /// The kubelet's `evictPod` for a pod over a local storage limit: a Warning event
    /// `Evicted`, its containers killed at once, and the pod Failed with reason `Evicted` and
    /// the message; it stays so until deleted.
    pub(super) async fn evict(&self, pod: &Pod, message: String) {
        let ns = pod.namespace().unwrap_or_default();
        tracing::info!("evicting pod {ns}/{}: {message}", pod.name_any());
        self.events
            .pod(pod, "Warning", crate::eviction::REASON, message.clone());
        let uid = pod.uid().unwrap_or_default();
        let exits = match self.rt.stop_pod(&uid, Duration::ZERO).await {
            Ok(exits) => exits,
            Err(e) => {
                tracing::warn!("stopping evicted pod {ns}/{}: {e:#}", pod.name_any());
                Vec::new()
            }
        };
        for x in &exits {
            let msg = format!("Stopping container {}", x.name);
            self.events
                .container(pod, false, &x.name, "Normal", "Killing", msg);
        }
        let mut st = status::stopped(pod, &exits, &status::now());
        st.phase = Some("Failed".into());
        st.reason = Some(crate::eviction::REASON.into());
        st.message = Some(message);
        if let Err(e) = self.write_status(pod, json!({ "status": st })).await {
            tracing::warn!("evicting pod {ns}/{}: {e:#}", pod.name_any());
        }
    }
}
