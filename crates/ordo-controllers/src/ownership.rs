//! Ownership helpers every controller that adopts objects shares (upstream's
//! `ControllerRefManager`): controller references, adoption and release decisions and their
//! patches, the owners to wake when an object changes, and status patches.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

pub use ordo_client::objects::{
    controller_of, is_pod_active, is_pod_available, is_pod_ready, ready_since, selector_matches,
};

pub use ordo_client::Error;

/// A controller owner reference (`controller` and `blockOwnerDeletion` true).
pub fn controller_ref(api_version: &str, kind: &str, meta: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// What a controller does with an object its selector may or may not match
/// (upstream `ControllerRefManager.ClaimObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Ours and matching.
    Keep,
    /// Orphan that matches: set our controller reference.
    Adopt,
    /// Ours but no longer matching: drop our reference.
    Release,
    /// Not ours.
    Ignore,
}

/// Decides the claim of `owner` (with `selector`) on `obj`.
pub fn claim(owner: &ObjectMeta, selector: &LabelSelector, obj: &ObjectMeta) -> Claim {
    let matches = selector_matches(selector, obj.labels.as_ref());
    match controller_of(obj) {
        Some(r) if Some(&r.uid) != owner.uid.as_ref() => Claim::Ignore,
        Some(_) if matches => Claim::Keep,
        Some(_) if owner.deletion_timestamp.is_some() => Claim::Ignore,
        Some(_) => Claim::Release,
        None if owner.deletion_timestamp.is_some()
            || !matches
            || obj.deletion_timestamp.is_some()
            || obj.namespace != owner.namespace =>
        {
            Claim::Ignore
        }
        None => Claim::Adopt,
    }
}

/// The owner references of `obj` after adopting (`add`) or releasing (`uid` removed).
pub fn owner_refs_after(
    obj: &ObjectMeta,
    add: Option<OwnerReference>,
    remove_uid: Option<&str>,
) -> Vec<OwnerReference> {
    let mut refs: Vec<OwnerReference> = obj
        .owner_references
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| Some(r.uid.as_str()) != remove_uid)
        .collect();
    if let Some(a) = add {
        refs.retain(|r| r.uid != a.uid);
        refs.push(a);
    }
    refs
}

/// A JSON merge patch setting the owner references (`null` when none are left, as
/// upstream's delete directive leaves no field), guarded by the resourceVersion.
pub fn owner_refs_patch(meta: &ObjectMeta, refs: &[OwnerReference]) -> serde_json::Value {
    let refs = if refs.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::json!(refs)
    };
    serde_json::json!({"metadata": {"ownerReferences": refs, "resourceVersion": meta.resource_version}})
}

/// A JSON merge patch `{"status": new}` that also clears (with `null`) the top-level
/// status fields `old` had and `new` lacks.
pub fn status_patch<T: serde::Serialize>(old: Option<&T>, new: &T) -> serde_json::Value {
    let mut body = serde_json::to_value(new).unwrap_or_default();
    if let (Some(o), Some(b)) = (
        old.and_then(|o| serde_json::to_value(o).ok()),
        body.as_object_mut(),
    ) {
        for k in o
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            b.entry(k).or_insert(serde_json::Value::Null);
        }
    }
    serde_json::json!({ "status": body })
}

/// The owners to sync when a dependent changes: its controller if that is of `kind`, else (an
/// orphan) every cached owner in its namespace whose selector matches it, which may adopt it.
pub fn owners_to_sync<K>(
    owners: &kube::runtime::reflector::Store<K>,
    dependent: &ObjectMeta,
    kind: &str,
    selector: impl Fn(&K) -> Option<&LabelSelector>,
) -> Vec<kube::runtime::reflector::ObjectRef<K>>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    use kube::runtime::reflector::ObjectRef;
    let ns = dependent.namespace.clone().unwrap_or_default();
    match controller_of(dependent) {
        Some(r) if r.kind == kind => vec![ObjectRef::new(&r.name).within(&ns)],
        Some(_) => vec![],
        None => owners
            .state()
            .iter()
            .filter(|o| {
                o.meta().namespace.as_deref() == Some(ns.as_str())
                    && selector(o).is_some_and(|s| selector_matches(s, dependent.labels.as_ref()))
            })
            .map(|o| ObjectRef::from_obj(o.as_ref()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    use std::collections::BTreeMap;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors() {
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "x")])),
            ..Default::default()
        };
        assert!(selector_matches(
            &sel,
            Some(&labels(&[("app", "x"), ("b", "c")]))
        ));
        assert!(!selector_matches(&sel, Some(&labels(&[("app", "y")]))));
        assert!(!selector_matches(&sel, None));
        let sel = LabelSelector {
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: Some(vec!["a".into(), "b".into()]),
                },
                LabelSelectorRequirement {
                    key: "x".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
            ]),
            ..Default::default()
        };
        assert!(selector_matches(&sel, Some(&labels(&[("tier", "b")]))));
        assert!(!selector_matches(
            &sel,
            Some(&labels(&[("tier", "b"), ("x", "1")]))
        ));
        assert!(!selector_matches(
            &LabelSelector::default(),
            Some(&labels(&[("a", "b")]))
        ));
    }

    #[test]
    fn claims() {
        let owner = ObjectMeta {
            name: Some("rs".into()),
            namespace: Some("d".into()),
            uid: Some("u1".into()),
            ..Default::default()
        };
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "x")])),
            ..Default::default()
        };
        let mut pod = ObjectMeta {
            namespace: Some("d".into()),
            labels: Some(labels(&[("app", "x")])),
            ..Default::default()
        };
        assert_eq!(claim(&owner, &sel, &pod), Claim::Adopt);
        pod.owner_references = Some(vec![controller_ref("apps/v1", "ReplicaSet", &owner)]);
        assert_eq!(claim(&owner, &sel, &pod), Claim::Keep);
        pod.labels = Some(labels(&[("app", "y")]));
        assert_eq!(claim(&owner, &sel, &pod), Claim::Release);
        pod.owner_references.as_mut().unwrap()[0].uid = "other".into();
        assert_eq!(claim(&owner, &sel, &pod), Claim::Ignore);
        let refs = owner_refs_after(&pod, None, Some("other"));
        assert!(refs.is_empty());
    }
}
