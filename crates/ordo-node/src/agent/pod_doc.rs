//! The form in which the agent keeps each pod between its worker's sync rounds.
//!
//! A decoded `k8s_openapi` `Pod` takes ≈ 10 KB of memory (≈ 2.5 KB inline plus many small heap
//! allocations) for ≈ 1.8 KB of JSON. One per pod, waiting in its worker's channel, that was
//! the largest share of a node's memory with 20,000 pods. The agent keeps the JSON instead and
//! decodes it when a round runs (tens of microseconds, a few times in a pod's life).

use k8s_openapi::api::core::v1::Pod;

/// One version of a pod, kept as its JSON.
pub(super) struct PodDoc {
    deleting: bool,
    /// Whether it has a local storage limit (the eviction check measures only those).
    storage_limited: bool,
    json: Box<[u8]>,
}

impl PodDoc {
    /// Keeps `pod` as JSON.
    pub(super) fn new(pod: &Pod) -> PodDoc {
        PodDoc {
            deleting: pod.metadata.deletion_timestamp.is_some(),
            storage_limited: crate::eviction::has_local_storage_limit(pod),
            // Serializing a `Pod` cannot fail: every map has string keys.
            json: serde_json::to_vec(pod)
                .unwrap_or_default()
                .into_boxed_slice(),
        }
    }

    /// Whether the pod is marked for deletion (`metadata.deletionTimestamp`).
    pub(super) fn deleting(&self) -> bool {
        self.deleting
    }

    /// Whether the pod has a local storage limit (`crate::eviction`).
    pub(super) fn storage_limited(&self) -> bool {
        self.storage_limited
    }

    /// The pod, decoded.
    pub(super) fn pod(&self) -> Pod {
        // It was encoded from a `Pod` by `new`; the types round-trip.
        serde_json::from_slice(&self.json).unwrap_or_else(|e| {
            tracing::error!("decoding the agent's copy of a pod: {e}");
            Pod::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_field_of_the_pod() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-0", "namespace": "default", "uid": "u-1",
                         "deletionTimestamp": "2026-01-02T03:04:05Z",
                         "labels": {"app": "web"}, "resourceVersion": "42"},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "resources": {"requests": {"cpu": "100m"}},
                                     "ports": [{"containerPort": 80}],
                                     "readinessProbe": {"httpGet": {"port": "http", "path": "/"}}}],
                     "terminationGracePeriodSeconds": 5},
            "status": {"phase": "Running", "podIP": "10.244.0.7",
                       "startTime": "2026-01-02T03:00:00Z",
                       "containerStatuses": [{"name": "c", "image": "busybox", "imageID": "",
                                              "ready": true, "restartCount": 2,
                                              "state": {"running": {"startedAt": "2026-01-02T03:00:01Z"}}}]}
        }))
        .unwrap();
        let doc = PodDoc::new(&pod);
        assert!(doc.deleting());
        assert_eq!(doc.pod(), pod);
        let mut live = pod.clone();
        live.metadata.deletion_timestamp = None;
        assert!(!PodDoc::new(&live).deleting());
    }
}
