//! `persistentVolumeClaimRetentionPolicy` as ownerReferences on claims (`isClaimOwnerUpToDate`,
//! `updateClaimOwnerRefForSetAndPod`, `PodClaimIsStale`): whenDeleted=Delete puts a controller
//! ref to the set on in-range claims, whenScaled=Delete a controller ref to the pod on claims of
//! condemned ordinals; Retain removes them; claims someone else controls are left alone.

use super::identity;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::collections::BTreeMap;

/// The retention policy as (whenDeleted is Delete, whenScaled is Delete); unset means Retain.
pub fn policy(set: &StatefulSet) -> (bool, bool) {
    let p = set
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
    let is_delete = |v: Option<&String>| v.map(String::as_str) == Some("Delete");
    (
        is_delete(p.and_then(|p| p.when_deleted.as_ref())),
        is_delete(p.and_then(|p| p.when_scaled.as_ref())),
    )
}

/// An owner we may put on a claim: the set (`apps/v1 StatefulSet`) or the pod (`v1 Pod`).
struct Owner<'a> {
    api_version: &'a str,
    kind: &'a str,
    name: &'a str,
    uid: &'a str,
}

impl Owner<'_> {
    fn matches(&self, r: &OwnerReference) -> bool {
        r.api_version == self.api_version && r.kind == self.kind && r.name == self.name
    }

    fn controller_ref(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.api_version.into(),
            kind: self.kind.into(),
            name: self.name.into(),
            uid: self.uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }
}

fn set_owner(set: &StatefulSet) -> Owner<'_> {
    Owner {
        api_version: "apps/v1",
        kind: "StatefulSet",
        name: set.metadata.name.as_deref().unwrap_or_default(),
        uid: set.metadata.uid.as_deref().unwrap_or_default(),
    }
}

fn pod_owner(pod: &Pod) -> Owner<'_> {
    Owner {
        api_version: "v1",
        kind: "Pod",
        name: pod.metadata.name.as_deref().unwrap_or_default(),
        uid: pod.metadata.uid.as_deref().unwrap_or_default(),
    }
}

fn refs(claim: &PersistentVolumeClaim) -> &[OwnerReference] {
    claim
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or_default()
}

/// The first ref naming `owner` carries another UID (a previous incarnation).
fn has_stale_ref(claim: &PersistentVolumeClaim, owner: &Owner) -> bool {
    refs(claim)
        .iter()
        .find(|r| owner.matches(r))
        .is_some_and(|r| r.uid != owner.uid)
}

fn has_ref(claim: &PersistentVolumeClaim, uid: &str) -> bool {
    !uid.is_empty() && refs(claim).iter().any(|r| r.uid == uid)
}

fn has_unexpected_controller(claim: &PersistentVolumeClaim, set: &StatefulSet, pod: &Pod) -> bool {
    let (deleted, scaled) = policy(set);
    if !deleted && !scaled {
        return false;
    }
    let (so, po) = (set_owner(set), pod_owner(pod));
    refs(claim).iter().any(|r| {
        if so.matches(r) {
            r.uid != so.uid
        } else if po.matches(r) {
            r.uid != po.uid
        } else {
            r.controller == Some(true)
        }
    })
}

fn has_non_controller_owner(claim: &PersistentVolumeClaim, set: &StatefulSet, pod: &Pod) -> bool {
    let set_uid = set.metadata.uid.as_deref().unwrap_or_default();
    let pod_uid = pod.metadata.uid.as_deref().unwrap_or_default();
    refs(claim).iter().any(|r| {
        (r.uid == set_uid || (!pod_uid.is_empty() && r.uid == pod_uid))
            && r.controller != Some(true)
    })
}

/// Whether the claim's ownerRefs already agree with the policy (`isClaimOwnerUpToDate`).
pub fn owner_up_to_date(claim: &PersistentVolumeClaim, set: &StatefulSet, pod: &Pod) -> bool {
    if has_stale_ref(claim, &set_owner(set)) || has_stale_ref(claim, &pod_owner(pod)) {
        return true;
    }
    let set_uid = set.metadata.uid.as_deref().unwrap_or_default();
    let pod_uid = pod.metadata.uid.as_deref().unwrap_or_default();
    if has_unexpected_controller(claim, set, pod) {
        return !(has_ref(claim, set_uid) || has_ref(claim, pod_uid));
    }
    if has_non_controller_owner(claim, set, pod) {
        return false;
    }
    let (deleted, scaled) = policy(set);
    let scaled_down = !identity::ordinal(pod).is_some_and(|o| identity::in_range(set, o));
    let want_set = deleted && !(scaled && scaled_down);
    let want_pod = scaled && scaled_down;
    has_ref(claim, set_uid) == want_set && has_ref(claim, pod_uid) == want_pod
}

/// The ownerRefs the claim should carry (`updateClaimOwnerRefForSetAndPod`).
pub fn updated_owner_refs(
    claim: &PersistentVolumeClaim,
    set: &StatefulSet,
    pod: &Pod,
) -> Vec<OwnerReference> {
    let unexpected = has_unexpected_controller(claim, set, pod);
    let (so, po) = (set_owner(set), pod_owner(pod));
    let mut out: Vec<OwnerReference> = refs(claim)
        .iter()
        .filter(|r| !so.matches(r) && !po.matches(r))
        .cloned()
        .collect();
    if unexpected {
        return out;
    }
    let (deleted, scaled) = policy(set);
    let scaled_down = !identity::ordinal(pod).is_some_and(|o| identity::in_range(set, o));
    if scaled && scaled_down && !po.uid.is_empty() {
        out.push(po.controller_ref());
    }
    if deleted && !(scaled && scaled_down) {
        out.push(so.controller_ref());
    }
    out
}

/// The ownerRefs a claim gets when the controller creates it for an in-range pod.
pub fn initial_owner_refs(set: &StatefulSet) -> Option<Vec<OwnerReference>> {
    let (deleted, _) = policy(set);
    deleted.then(|| vec![set_owner(set).controller_ref()])
}

/// `PodClaimIsStale`: with whenScaled=Delete, a claim of this ordinal still owned by a previous
/// pod (ref to the pod's name with another UID, or any UID when the pod is not yet created)
/// blocks the pod's creation until the garbage collector removes it.
pub fn claim_is_stale(
    set: &StatefulSet,
    claims: &BTreeMap<String, PersistentVolumeClaim>,
    pod: &Pod,
) -> bool {
    let (_, scaled) = policy(set);
    if !scaled {
        return false;
    }
    let Some(ord) = identity::ordinal(pod) else {
        return false;
    };
    identity::claims_for(set, ord).iter().any(|(_, c)| {
        let name = c.metadata.name.as_deref().unwrap_or_default();
        claims
            .get(name)
            .is_some_and(|existing| has_stale_ref(existing, &pod_owner(pod)))
    })
}
