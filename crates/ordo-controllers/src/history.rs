//! Upstream's `controller/history` package, shared by the controllers that keep
//! ControllerRevisions (StatefulSet, DaemonSet): the revision data of a pod template, its FNV
//! hash and "safe" encoding, equality, ordering and numbering.

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::{Map, Value};

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
pub fn last_equal<'a>(
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
