//! ControllerRevisions as upstream's `history` package and `getStatefulSetRevisions` make them:
//! the patch data, its FNV hash and "safe" encoding, equality, the choice of the update revision
//! (reuse / rollback bump / create), history pruning, and ordo's change-cause refresh.

use super::identity;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Label holding a revision's hash.
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";
/// The annotation `kubectl rollout history` shows as CHANGE-CAUSE.
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

/// The revision `data` for a template: `{"spec":{"template":{…,"$patch":"replace"}}}`, with keys
/// sorted and `metadata.creationTimestamp: null` as Go's encoder writes it.
pub fn patch_data(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Some(obj) = t.as_object_mut() {
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = meta.as_object_mut() {
            m.entry("creationTimestamp").or_insert(Value::Null);
        }
        obj.insert("$patch".into(), Value::String("replace".into()));
    }
    sorted(&serde_json::json!({"spec": {"template": t}}))
}

/// A copy of `v` with every object's keys in byte order (Go's `json.Marshal` of maps).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The canonical bytes of revision data: sorted keys, compact, HTML characters escaped as Go does.
pub fn canonical_bytes(data: &Value) -> Vec<u8> {
    let s = serde_json::to_string(&sorted(data)).unwrap_or_default();
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
        .into_bytes()
}

/// 32-bit FNV-1 (Go's `hash/fnv.New32`, which `HashControllerRevision` uses).
pub fn fnv32(chunks: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in chunks.iter().flat_map(|c| c.iter()) {
        h = h.wrapping_mul(0x0100_0193);
        h ^= u32::from(*b);
    }
    h
}

/// `rand.SafeEncodeString`: each byte mapped onto an alphabet without vowels.
pub fn safe_encode(s: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.chars()
        .map(|c| ALPHABET[(c as usize) % ALPHABET.len()] as char)
        .collect()
}

/// `HashControllerRevision`: FNV-32 of the data bytes plus the decimal collision count.
pub fn hash(data: &[u8], collision_count: Option<i32>) -> String {
    let probe = collision_count.map(|c| c.to_string()).unwrap_or_default();
    safe_encode(&fnv32(&[data, probe.as_bytes()]).to_string())
}

/// `<set>-<hash>`, the prefix cut to 223 bytes.
pub fn revision_name(set_name: &str, hash: &str) -> String {
    let mut prefix = set_name;
    if prefix.len() > 223 {
        let mut end = 223;
        while !prefix.is_char_boundary(end) {
            end -= 1;
        }
        prefix = &prefix[..end];
    }
    format!("{prefix}-{hash}")
}

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

/// The pod template a revision restores (`ApplyRevision` for the only field revisions carry).
pub fn revision_template(cr: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = cr.data.as_ref()?.0.get("spec")?.get("template")?.clone();
    t.as_object_mut()?.remove("$patch");
    serde_json::from_value(t).ok()
}

/// `EqualRevision`: the same data bytes (compared in canonical form), or the same pod template
/// once both are read back. The second test is ordo's: it adopts revisions written by other
/// versions of kube-controller-manager, whose bytes differ for the same template (1.34 stopped
/// writing `metadata.creationTimestamp: null`; Go writes empty structs such as `resources: {}`
/// that a template may leave out), without re-rolling pods that are up to date.
pub fn equal_revision(a: &ControllerRevision, b: &ControllerRevision) -> bool {
    Compared::of(a).same(&Compared::of(b))
}

/// A revision's data as [`equal_revision`] compares it, computed once.
struct Compared {
    /// Canonical bytes of `data` (`None` without data).
    bytes: Option<Vec<u8>>,
    /// The template read back, with absent, `null` and empty-object fields dropped.
    template: Option<Value>,
}

impl Compared {
    fn of(cr: &ControllerRevision) -> Compared {
        Compared {
            bytes: cr.data.as_ref().map(|d| canonical_bytes(&d.0)),
            template: revision_template(cr).map(|t| {
                let mut v = serde_json::to_value(&t).unwrap_or(Value::Null);
                drop_empty(&mut v);
                v
            }),
        }
    }

    fn same(&self, other: &Compared) -> bool {
        match (&self.bytes, &other.bytes) {
            (Some(x), Some(y)) => {
                x == y || (self.template.is_some() && self.template == other.template)
            }
            (None, None) => true,
            _ => false,
        }
    }
}

/// The newest revision equal to `candidate` (`revisions` sorted), the candidate's side of the
/// comparison computed once.
fn last_equal<'a>(
    revisions: &'a [ControllerRevision],
    candidate: &ControllerRevision,
) -> Option<&'a ControllerRevision> {
    let wanted = Compared::of(candidate);
    revisions
        .iter()
        .rev()
        .find(|r| Compared::of(r).same(&wanted))
}

/// Removes `null` values and objects that are (or become) empty, recursively.
fn drop_empty(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for x in m.values_mut() {
                drop_empty(x);
            }
            m.retain(|_, x| !(x.is_null() || x.as_object().is_some_and(Map::is_empty)));
        }
        Value::Array(a) => a.iter_mut().for_each(drop_empty),
        _ => {}
    }
}

/// Sorts by `.revision` (stable; ties by creation time, then name).
pub fn sort_revisions(revisions: &mut [ControllerRevision]) {
    revisions.sort_by(|a, b| {
        a.revision
            .cmp(&b.revision)
            .then_with(|| {
                let ta = a.metadata.creation_timestamp.as_ref().map(|t| t.0);
                let tb = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
                ta.cmp(&tb)
            })
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

/// 1 + the highest revision number (1 for an empty history); `revisions` sorted.
pub fn next_revision(revisions: &[ControllerRevision]) -> i64 {
    revisions.last().map_or(1, |r| r.revision + 1)
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
