//! A StatefulSet's ControllerRevisions as `getStatefulSetRevisions` makes them, on the shared
//! [`crate::history`] helpers (data, hash, equality, order, re-exported here): the choice of the
//! update revision (reuse / rollback bump / create), history pruning, and ordo's change-cause
//! refresh.

use super::identity;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use std::collections::BTreeSet;

/// Label holding a revision's hash.
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";
use crate::history::last_equal;
pub use crate::history::{
    canonical_bytes, equal_revision, hash, next_revision, patch_data, revision_name,
    revision_template, sort_revisions, CHANGE_CAUSE,
};
#[cfg(test)]
pub use crate::history::{fnv32, safe_encode};

/// The set's template (empty when the spec is missing).
pub fn set_template(set: &StatefulSet) -> PodTemplateSpec {
    set.spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default()
}

/// A new revision of `set` (`newRevision`): data from the template, labels = template labels +
/// hash, annotations = the set's annotations, controller ownerRef to the set.
pub fn new_revision(set: &StatefulSet, revision: i64, collision_count: i32) -> ControllerRevision {
    let template = set_template(set);
    let data = patch_data(&template);
    let h = hash(&canonical_bytes(&data), Some(collision_count));
    let mut labels = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(HASH_LABEL.into(), h.clone());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(revision_name(
                set.metadata.name.as_deref().unwrap_or_default(),
                &h,
            )),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: Some(set.metadata.annotations.clone().unwrap_or_default()),
            owner_references: Some(vec![identity::controller_ref(set)]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

/// What the sync must do to obtain the update revision.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateChoice {
    /// The newest revision already equals the set's template.
    Latest(String),
    /// An older equal revision is reused; its `.revision` becomes `revision` (a rollback).
    Bump { name: String, revision: i64 },
    /// No equal revision exists: create this one (and handle name collisions).
    Create(Box<ControllerRevision>),
}

/// The update-revision choice of `getStatefulSetRevisions`; `revisions` sorted.
pub fn choose_update(
    set: &StatefulSet,
    revisions: &[ControllerRevision],
    collision_count: i32,
) -> UpdateChoice {
    let candidate = new_revision(set, next_revision(revisions), collision_count);
    // Equality is transitive, so the newest equal revision is equal to the latest one only if
    // it is the latest one.
    match (last_equal(revisions, &candidate), revisions.last()) {
        (Some(eq), Some(latest)) if std::ptr::eq(eq, latest) => {
            UpdateChoice::Latest(latest.metadata.name.clone().unwrap_or_default())
        }
        (Some(eq), _) => UpdateChoice::Bump {
            name: eq.metadata.name.clone().unwrap_or_default(),
            revision: candidate.revision,
        },
        (None, _) => UpdateChoice::Create(Box::new(candidate)),
    }
}

/// For a set being deleted, which gets no new revision: the newest revision equal to its
/// template, if any (`revisions` sorted).
pub fn latest_equal(
    set: &StatefulSet,
    revisions: &[ControllerRevision],
    collision_count: i32,
) -> Option<ControllerRevision> {
    let candidate = new_revision(set, next_revision(revisions), collision_count);
    last_equal(revisions, &candidate).cloned()
}

/// Names of revisions `truncateHistory` deletes: the oldest non-live ones beyond
/// `revisionHistoryLimit` (live = current, update, and any revision a pod is at).
pub fn revisions_to_prune(
    set: &StatefulSet,
    pods: &[Pod],
    revisions: &[ControllerRevision],
    current: &str,
    update: &str,
) -> Vec<String> {
    let limit = set
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10);
    if limit < 0 {
        return Vec::new();
    }
    let mut live: BTreeSet<&str> = [current, update].into_iter().collect();
    live.extend(pods.iter().map(identity::pod_revision));
    let history: Vec<&ControllerRevision> = revisions
        .iter()
        .filter(|r| !live.contains(r.metadata.name.as_deref().unwrap_or_default()))
        .collect();
    let excess = history.len().saturating_sub(limit as usize);
    history
        .into_iter()
        .take(excess)
        .filter_map(|r| r.metadata.name.clone())
        .collect()
}

/// ordo's change-cause refresh (walkthrough step 5): when the set carries a
/// `kubernetes.io/change-cause` that no revision records yet, it was set after the update
/// revision was made (e.g. `kubectl annotate` after `set image`), so the update revision takes
/// it. Returns the annotation value to write on `update`, if any. A rollback re-uses an old
/// revision whose own cause is kept, since the set's cause is then already recorded elsewhere.
pub fn change_cause_refresh(
    set: &StatefulSet,
    revisions: &[ControllerRevision],
    update: &str,
) -> Option<String> {
    let cause = set.metadata.annotations.as_ref()?.get(CHANGE_CAUSE)?;
    let recorded = |r: &ControllerRevision| {
        r.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(CHANGE_CAUSE))
            == Some(cause)
    };
    if revisions.iter().any(recorded) {
        return None;
    }
    revisions
        .iter()
        .any(|r| r.metadata.name.as_deref() == Some(update))
        .then(|| cause.clone())
}
