//! A DaemonSet's ControllerRevisions (upstream `constructHistory`, `snapshot` and
//! `cleanupHistory`), on the shared [`crate::history`] helpers. Pure functions.

use super::logic::{template, REVISION_HASH_LABEL};
use crate::history::{self, canonical_bytes, last_equal, patch_data};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use std::collections::BTreeSet;

/// The revision of `ds`'s current template numbered `revision` (`snapshot`): named
/// `<ds>-<hash>`, labelled with the template's labels and the hash, carrying the DaemonSet's
/// annotations (so `kubectl rollout history` shows its change-cause).
pub fn new_revision(
    ds: &DaemonSet,
    revision: i64,
    collision_count: Option<i32>,
) -> ControllerRevision {
    let t = template(ds);
    let data = patch_data(&t);
    let hash = history::hash(&canonical_bytes(&data), collision_count);
    let mut labels = t.metadata.and_then(|m| m.labels).unwrap_or_default();
    labels.insert(REVISION_HASH_LABEL.into(), hash.clone());
    let name = ds.metadata.name.clone().unwrap_or_default();
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(history::revision_name(&name, &hash)),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: ds.metadata.annotations.clone(),
            owner_references: Some(vec![crate::ownership::controller_ref(
                "apps/v1",
                "DaemonSet",
                &ds.metadata,
            )]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

/// The hash a revision stands for: its `controller-revision-hash` label, else its name.
pub fn hash_of(cr: &ControllerRevision) -> String {
    cr.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(REVISION_HASH_LABEL))
        .cloned()
        .or_else(|| cr.metadata.name.clone())
        .unwrap_or_default()
}

/// What the sync does to have the current revision.
#[derive(Debug, Clone, PartialEq)]
pub enum Current {
    /// The revision equal to the template is already the newest.
    Exists(String),
    /// An older revision equals the template (a rollback): it is renumbered `revision`.
    Bump { name: String, revision: i64 },
    /// No revision equals the template: create this one.
    Create(Box<ControllerRevision>),
}

/// `constructHistory` on `revisions` (sorted by number): the current revision's fate.
pub fn current(ds: &DaemonSet, revisions: &[ControllerRevision]) -> Current {
    let collision = ds.status.as_ref().and_then(|s| s.collision_count);
    let candidate = new_revision(ds, 0, collision);
    match last_equal(revisions, &candidate) {
        Some(eq) => {
            let newest_other = revisions
                .iter()
                .filter(|r| r.metadata.name != eq.metadata.name)
                .map(|r| r.revision)
                .max()
                .unwrap_or(0);
            let name = eq.metadata.name.clone().unwrap_or_default();
            if eq.revision <= newest_other {
                Current::Bump {
                    name,
                    revision: newest_other + 1,
                }
            } else {
                Current::Exists(name)
            }
        }
        None => {
            let next = history::next_revision(revisions);
            Current::Create(Box::new(new_revision(ds, next, collision)))
        }
    }
}

/// `cleanupHistory`: the oldest revisions beyond `revisionHistoryLimit` that are neither
/// `current` nor the revision of a live pod.
pub fn to_prune(
    ds: &DaemonSet,
    pods: &[&Pod],
    revisions: &[ControllerRevision],
    current: &str,
) -> Vec<String> {
    let limit = ds
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10)
        .max(0) as usize;
    let old: Vec<&ControllerRevision> = revisions
        .iter()
        .filter(|r| r.metadata.name.as_deref() != Some(current))
        .collect();
    let mut excess = old.len().saturating_sub(limit);
    let live: BTreeSet<&str> = pods
        .iter()
        .filter_map(|p| p.metadata.labels.as_ref()?.get(REVISION_HASH_LABEL))
        .map(String::as_str)
        .collect();
    let mut out = Vec::new();
    for r in old {
        if excess == 0 {
            break;
        }
        if live.contains(hash_of(r).as_str()) {
            continue;
        }
        out.extend(r.metadata.name.clone());
        excess -= 1;
    }
    out
}
