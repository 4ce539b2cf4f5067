//! Ownership of pods and revisions (upstream's `ControllerRefManager`): owned objects that stop
//! matching are released, matching orphans are adopted.

use super::identity;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams};
use kube::Resource;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::fmt::Debug;

pub use crate::ownership::Claim;

/// The set's selector (`None` without a spec).
pub fn selector(set: &StatefulSet) -> Option<&LabelSelector> {
    set.spec.as_ref().map(|s| &s.selector)
}

/// Whether `meta`'s labels satisfy the selector (an empty or missing one matches nothing).
pub fn labels_match(selector: Option<&LabelSelector>, meta: &ObjectMeta) -> bool {
    selector.is_some_and(|s| ordo_client::objects::selector_matches(s, meta.labels.as_ref()))
}

/// The decision for one object (`ClaimObject`): `matches` is selector (+ name pattern for pods).
pub fn decide(set: &StatefulSet, meta: &ObjectMeta, matches: bool) -> Claim {
    let uid = set.metadata.uid.as_deref().unwrap_or_default();
    match identity::controller_of(meta) {
        Some(r) if r.uid == uid => {
            if matches || set.metadata.deletion_timestamp.is_some() {
                Claim::Keep
            } else {
                Claim::Release
            }
        }
        Some(_) => Claim::Ignore,
        None => {
            if matches
                && set.metadata.deletion_timestamp.is_none()
                && meta.deletion_timestamp.is_none()
            {
                Claim::Adopt
            } else {
                Claim::Ignore
            }
        }
    }
}

/// The ownerReferences after adopting (ours appended) or releasing (ours removed).
pub fn new_owner_refs(set: &StatefulSet, meta: &ObjectMeta, adopt: bool) -> Vec<OwnerReference> {
    let uid = set.metadata.uid.as_deref().unwrap_or_default();
    let mut refs: Vec<OwnerReference> = meta
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.uid != uid)
        .cloned()
        .collect();
    if adopt {
        refs.push(identity::controller_ref(set));
    }
    refs
}

/// Writes the adoption/release and returns the object as written.
pub async fn apply<K>(api: &Api<K>, set: &StatefulSet, obj: &K, adopt: bool) -> kube::Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let refs = new_owner_refs(set, obj.meta(), adopt);
    let refs = if refs.is_empty() {
        Value::Null
    } else {
        serde_json::to_value(&refs).unwrap_or(Value::Null)
    };
    let patch = json!({"metadata": {"ownerReferences": refs}});
    let name = obj.meta().name.clone().unwrap_or_default();
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
}
