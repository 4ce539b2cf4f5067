//! Upstream's `RealPodControl`: an owner's pods created and deleted through the API with the
//! events `SuccessfulCreate` "Created pod: X", `FailedCreate` "Error creating: ...",
//! `SuccessfulDelete` "Deleted pod: X" and `FailedDelete` "Error deleting: ...", each write
//! recorded in the sync's [`Writes`]. Shared by the Job and DaemonSet controllers.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use kube::ResourceExt;
use ordo_client::events::{EventType, Recorder};
use ordo_client::objects::{api_message, is_not_found};
use ordo_client::{Shared, Writes};
use std::sync::Arc;

/// The pods of one owner in one namespace, for one sync.
pub struct PodControl<'a, K> {
    pub api: Api<Pod>,
    pub recorder: &'a Recorder,
    pub owner: &'a K,
    pub cache: &'a Arc<Shared<Pod>>,
    pub writes: &'a Writes,
}

impl<K> PodControl<'_, K>
where
    K: kube::Resource<DynamicType = ()>,
{
    /// Creates `pods` together; returns how many creations failed.
    pub async fn create_all(&self, pods: &[Pod]) -> usize {
        let pp = PostParams::default();
        let results = futures::future::join_all(pods.iter().map(|p| self.api.create(&pp, p))).await;
        let mut failed = 0;
        for r in results {
            match r {
                Ok(p) => {
                    self.writes.wrote(self.cache, &p);
                    let msg = format!("Created pod: {}", p.name_any());
                    self.recorder
                        .record(self.owner, EventType::Normal, "SuccessfulCreate", &msg)
                        .await;
                }
                Err(e) => {
                    failed += 1;
                    // A namespace being deleted refuses new pods: not worth an event.
                    if !api_message(&e).contains("being terminated") {
                        let msg = format!("Error creating: {}", api_message(&e));
                        self.recorder
                            .record(self.owner, EventType::Warning, "FailedCreate", &msg)
                            .await;
                    }
                }
            }
        }
        failed
    }

    /// Deletes the pod `name` if it is still the one with `uid` (`grace` overrides its grace
    /// period); false when the deletion failed (a pod already gone is not a failure).
    pub async fn delete(&self, name: &str, uid: Option<String>, grace: Option<u32>) -> bool {
        let dp = DeleteParams {
            grace_period_seconds: grace,
            preconditions: Some(Preconditions {
                uid: uid.clone(),
                resource_version: None,
            }),
            ..Default::default()
        };
        match self.api.delete(name, &dp).await {
            Ok(_) => {
                let ns = self.owner.meta().namespace.clone().unwrap_or_default();
                self.writes.deleted(self.cache, &ns, name, uid);
                let msg = format!("Deleted pod: {name}");
                self.recorder
                    .record(self.owner, EventType::Normal, "SuccessfulDelete", &msg)
                    .await;
                true
            }
            Err(e) if is_not_found(&e) => true,
            Err(e) => {
                let msg = format!("Error deleting: {}", api_message(&e));
                self.recorder
                    .record(self.owner, EventType::Warning, "FailedDelete", &msg)
                    .await;
                false
            }
        }
    }
}
