//! The pod's image pull secrets, as the kubelet's `getPullSecretsForPod` retrieves them: each
//! named in `spec.imagePullSecrets` (the API server's ServiceAccount admission copies the
//! ServiceAccount's there), from the process's Secret cache, or by a GET when the cache does
//! not have it yet or this node may not list Secrets (a joined node's own credential). Secrets that cannot be retrieved are left out, with the kubelet's
//! `FailedToRetrieveImagePullSecret` warning: the pull then goes ahead without them.

use super::Agent;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::Api;
use kube::ResourceExt;

impl Agent {
    /// The pod's pull secrets that could be retrieved, in the pod's order.
    pub(super) async fn pull_secrets(&self, pod: &Pod) -> Vec<Secret> {
        let refs = pod
            .spec
            .as_ref()
            .and_then(|s| s.image_pull_secrets.as_deref())
            .unwrap_or_default();
        // Entries without a name pass validation upstream; the kubelet ignores them.
        let names: Vec<&str> = refs
            .iter()
            .map(|r| r.name.as_str())
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Vec::new();
        }
        let ns = pod.namespace().unwrap_or_default();
        // A node's own credential may read only its pods' Secrets, not fill a cache of all.
        let cache = if self.caches.may_watch::<Secret>().await {
            Some(self.caches.get::<Secret>())
        } else {
            None
        };
        let (mut found, mut failed) = (Vec::new(), Vec::new());
        for name in names {
            if let Some(s) = cache.as_ref().and_then(|c| c.get(&ns, name)) {
                found.push((*s).clone());
                continue;
            }
            let api = Api::<Secret>::namespaced(self.client.clone(), &ns);
            match api.get_opt(name).await {
                Ok(Some(s)) => found.push(s),
                Ok(None) => failed.push(name.to_string()),
                Err(e) => {
                    tracing::info!("unable to retrieve pull secret {ns}/{name}: {e}");
                    failed.push(name.to_string());
                }
            }
        }
        if !failed.is_empty() {
            self.events.pod(
                pod,
                "Warning",
                "FailedToRetrieveImagePullSecret",
                format!(
                    "Unable to retrieve some image pull secrets ({}); attempting to pull the image may not succeed.",
                    failed.join(", ")
                ),
            );
        }
        found
    }
}
