//! Persistent volumes, as kube-controller-manager's `persistentvolume-binder`,
//! `persistentvolumeclaim-protection`, `persistentvolume-protection` and `volume_expand`
//! controllers plus rancher's local-path provisioner and an external resizer, in one loop.
//!
//! Reflectors on claims, volumes, classes, pods, nodes and StatefulSets feed a snapshot
//! ([`World`]); [`plan`] turns it into [`Step`]s (pure, unit-tested); `controller` runs them
//! against the API and the data directory. Provisioned volumes are directories
//! `DATA/volumes/pvc-<claim uid>` (hostPath `DirectoryOrCreate` with node affinity to the
//! node that runs the first consumer); their capacity is recorded, not enforced.

pub mod binder;
mod controller;
pub mod expand;
pub mod protection;
pub mod provision;
#[cfg(test)]
mod tests;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    Node, ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use ordo_client::events::EventType;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use controller::run;

/// The built-in dynamic provisioner's name (the `provisioner` of the `local-path` class).
pub const PROVISIONER: &str = "rancher.io/local-path";
/// Set on a claim by the binder once binding is complete.
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Set on claims and volumes whose binding the controller (not the user) made.
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// The node chosen for a `WaitForFirstConsumer` claim.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// The provisioner asked to provision a claim.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// The deprecated beta form of [`ANN_STORAGE_PROVISIONER`], still set upstream.
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// The provisioner that created a volume.
pub const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// The storage class annotation that takes precedence over `storageClassName`.
pub const ANN_BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
/// Says on provisioned volumes that their capacity is not enforced (they are directories).
pub const ANN_CAPACITY_ENFORCED: &str = "ordo.dev/capacity-enforced";
/// Finalizer of claims in use by pods.
pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
/// Finalizer of bound volumes.
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

/// The host directory behind a volume: `spec.hostPath.path` or `spec.local.path`. The node
/// agent bind-mounts it into the containers of pods using a claim bound to `pv`.
pub fn host_path(pv: &PersistentVolume) -> Option<PathBuf> {
    let spec = pv.spec.as_ref()?;
    spec.host_path
        .as_ref()
        .map(|h| h.path.clone())
        .or_else(|| spec.local.as_ref().map(|l| l.path.clone()))
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// The value of a quantity (`1Gi`, `500M`, `1.5e9`); `None` when malformed.
pub fn quantity_value(q: &Quantity) -> Option<f64> {
    ordo_api::quantity::value(&q.0)
}

/// An annotation of an object.
pub(crate) fn ann<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The claim's class (`GetPersistentVolumeClaimClass`): the beta annotation, else
/// `spec.storageClassName`, else "".
pub fn claim_class(pvc: &PersistentVolumeClaim) -> String {
    ann(&pvc.metadata, ANN_BETA_STORAGE_CLASS)
        .map(str::to_string)
        .or_else(|| pvc.spec.as_ref().and_then(|s| s.storage_class_name.clone()))
        .unwrap_or_default()
}

/// The volume's class (`GetPersistentVolumeClass`).
pub fn volume_class(pv: &PersistentVolume) -> String {
    ann(&pv.metadata, ANN_BETA_STORAGE_CLASS)
        .map(str::to_string)
        .or_else(|| pv.spec.as_ref().and_then(|s| s.storage_class_name.clone()))
        .unwrap_or_default()
}

/// The claim's storage request.
pub fn claim_request(pvc: &PersistentVolumeClaim) -> Option<&Quantity> {
    pvc.spec
        .as_ref()?
        .resources
        .as_ref()?
        .requests
        .as_ref()?
        .get("storage")
}

/// The volume's storage capacity.
pub fn volume_capacity(pv: &PersistentVolume) -> Option<&Quantity> {
    pv.spec.as_ref()?.capacity.as_ref()?.get("storage")
}

/// A reference to an object for events and claimRefs.
pub(crate) fn reference(kind: &str, api_version: &str, meta: &ObjectMeta) -> ObjectReference {
    ObjectReference {
        api_version: Some(api_version.to_string()),
        kind: Some(kind.to_string()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        ..Default::default()
    }
}

/// What the controllers see: the caches of the kinds they watch.
#[derive(Default, Clone)]
pub struct World {
    pub claims: Vec<Arc<PersistentVolumeClaim>>,
    pub volumes: Vec<Arc<PersistentVolume>>,
    pub classes: Vec<Arc<StorageClass>>,
    pub pods: Vec<Arc<Pod>>,
    pub nodes: Vec<Arc<Node>>,
    pub sets: Vec<Arc<StatefulSet>>,
    /// Where provisioned volumes' directories go (`DATA/volumes`).
    pub volumes_dir: PathBuf,
}

/// Which component an event comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// `persistentvolume-controller` (the binder).
    Binder,
    /// The local-path provisioner.
    Provisioner,
    /// The external resizer of local-path volumes.
    Resizer,
    /// `volume_expand` (KEP-4650 claim template expansion).
    Expander,
}

/// Claim or volume, for finalizer edits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    Claim { namespace: String },
    Volume,
}

/// One write the controllers want. Writes carry the resourceVersion they were decided on,
/// so decisions made on a stale cache fail with a conflict and are made again.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Records an event.
    Event {
        target: ObjectReference,
        source: Source,
        ty: EventType,
        reason: &'static str,
        message: String,
    },
    /// Merges annotations into a claim.
    AnnotateClaim {
        namespace: String,
        name: String,
        rv: Option<String>,
        annotations: BTreeMap<String, String>,
    },
    /// Creates the directory and the volume (already bound to `claim`), then records
    /// `Provisioning` and `ProvisioningSucceeded` on the claim.
    Provision {
        volume: Box<PersistentVolume>,
        claim: ObjectReference,
    },
    /// Points a volume's `claimRef` at a claim.
    BindVolume {
        name: String,
        rv: Option<String>,
        claim: ObjectReference,
        by_controller: bool,
    },
    /// Sets a claim's `volumeName` and the binding annotations.
    BindClaim {
        namespace: String,
        name: String,
        rv: Option<String>,
        volume: String,
        by_controller: bool,
    },
    /// Sets a claim's status phase (with capacity and access modes when it becomes Bound).
    ClaimPhase {
        namespace: String,
        name: String,
        phase: &'static str,
        capacity: Option<BTreeMap<String, Quantity>>,
        access_modes: Option<Vec<String>>,
    },
    /// Sets a volume's status phase and message.
    VolumePhase {
        name: String,
        phase: &'static str,
        message: Option<String>,
    },
    /// Reclaim policy Delete of a released provisioned volume: removes the directory, then
    /// the volume (after checking the claim `uid` is really gone).
    Reclaim {
        name: String,
        claim: ObjectReference,
        path: Option<PathBuf>,
    },
    /// Adds or removes a protection finalizer.
    Finalizer {
        object: Object,
        name: String,
        rv: Option<String>,
        finalizer: &'static str,
        add: bool,
    },
    /// Sets a volume's capacity (resize of a directory volume).
    ResizeVolume { name: String, size: Quantity },
    /// Records a finished resize in the claim's status.
    ClaimResized {
        namespace: String,
        name: String,
        size: Quantity,
    },
    /// Raises a claim's storage request to a StatefulSet template's (KEP-4650).
    GrowClaim {
        namespace: String,
        name: String,
        size: Quantity,
        set: ObjectReference,
    },
}

/// Actions run in order; the first failure ends the step (it is planned again next pass).
pub type Step = Vec<Action>;

/// Every step the controllers want to take on this snapshot.
pub fn plan(w: &World) -> Vec<Step> {
    let mut steps = binder::plan_claims(w);
    steps.extend(binder::plan_volumes(w));
    steps.extend(protection::plan(w));
    steps.extend(expand::plan(w));
    steps
}
