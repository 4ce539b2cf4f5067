//! Deployment helpers (upstream `deployment/util`): the pod-template hash, template
//! equality, maxSurge/maxUnavailable arithmetic, revisions and annotations, conditions.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const HASH_LABEL: &str = "pod-template-hash";
pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";
/// Longest `revision-history` annotation kept (upstream default).
pub const MAX_REV_HISTORY_CHARS: usize = 2000;

/// Reasons of the `Progressing` / `Available` conditions.
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";
pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

/// Recursively drops nulls, empty maps and empty lists and sorts map keys, so that
/// semantically equal templates serialize identically.
fn normalize(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(m) => {
            let mut keys: Vec<(String, Value)> = m
                .into_iter()
                .filter_map(|(k, v)| normalize(v).map(|v| (k, v)))
                .collect();
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            (!keys.is_empty())
                .then(|| Value::Object(keys.into_iter().collect::<Map<String, Value>>()))
        }
        Value::Array(a) => {
            let a: Vec<Value> = a
                .into_iter()
                .map(|x| normalize(x).unwrap_or(Value::Null))
                .collect();
            (!a.is_empty()).then_some(Value::Array(a))
        }
        other => Some(other),
    }
}

/// The template as canonical JSON: `creationTimestamp` (kubectl rollout undo sends `null`)
/// and, if `strip_hash`, the `pod-template-hash` label removed.
pub fn canonical_template(t: &PodTemplateSpec, strip_hash: bool) -> Value {
    let mut t = t.clone();
    if let Some(m) = t.metadata.as_mut() {
        m.creation_timestamp = None;
        if strip_hash {
            if let Some(l) = m.labels.as_mut() {
                l.remove(HASH_LABEL);
            }
        }
    }
    normalize(serde_json::to_value(&t).unwrap_or(Value::Null)).unwrap_or(Value::Null)
}

/// Whether two templates are equal ignoring the `pod-template-hash` label (`EqualIgnoreHash`).
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    canonical_template(a, true) == canonical_template(b, true)
}

fn fnv32a(h: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(h, |h, b| (h ^ u32::from(*b)).wrapping_mul(16777619))
}

/// Upstream `rand.SafeEncodeString`: maps each byte onto a vowel-free alphabet.
pub fn safe_encode(s: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHABET[usize::from(b) % ALPHABET.len()] as char)
        .collect()
}

/// Upstream `ComputeHash`: FNV-32a of the (canonical) template, then of the collision
/// count as 8 little-endian bytes, printed in decimal and safe-encoded.
pub fn compute_hash(t: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let bytes = serde_json::to_vec(&canonical_template(t, false)).unwrap_or_default();
    let mut h = fnv32a(2166136261, &bytes);
    if let Some(c) = collision_count {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&(c as u32).to_le_bytes());
        h = fnv32a(h, &b);
    }
    safe_encode(&h.to_string())
}

/// `intstr.GetScaledValueFromIntOrPercent`.
pub fn scaled_value(v: Option<&IntOrString>, default: &str, total: i32, round_up: bool) -> i32 {
    let s = match v {
        Some(IntOrString::Int(i)) => return *i,
        Some(IntOrString::String(s)) => s.as_str(),
        None => default,
    };
    match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
        Some(p) => {
            let x = p * i64::from(total);
            (if round_up {
                (x + 99).div_euclid(100)
            } else {
                x.div_euclid(100)
            }) as i32
        }
        None => s.parse().unwrap_or(0),
    }
}

/// Desired replicas (defaulted to 1).
pub fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// The strategy is RollingUpdate (the default).
pub fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
        != "Recreate"
}

/// `ResolveFenceposts`: (maxSurge rounded up, maxUnavailable rounded down); both 0 → unavailable 1.
pub fn fenceposts(d: &Deployment) -> (i32, i32) {
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let desired = replicas(d);
    let surge = scaled_value(
        ru.and_then(|r| r.max_surge.as_ref()),
        if ru.is_some() { "0" } else { "25%" },
        desired,
        true,
    );
    let mut unavailable = scaled_value(
        ru.and_then(|r| r.max_unavailable.as_ref()),
        if ru.is_some() { "0" } else { "25%" },
        desired,
        false,
    );
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// `MaxSurge`: 0 unless rolling.
pub fn max_surge(d: &Deployment) -> i32 {
    if is_rolling(d) {
        fenceposts(d).0
    } else {
        0
    }
}

/// `MaxUnavailable`: 0 unless rolling with replicas; at most the replicas.
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}
pub fn rs_status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map(|s| s.replicas).unwrap_or(0)
}
pub fn rs_ready(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}
pub fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}
pub fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}
/// The `deployment.kubernetes.io/revision` of a ReplicaSet, 0 if absent or bad.
pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn skip_copy(k: &str) -> bool {
    matches!(
        k,
        LAST_APPLIED | REVISION | REVISION_HISTORY | DESIRED_REPLICAS | MAX_REPLICAS | ROLLBACK_TO
    )
}

/// Copies the Deployment's annotations (minus bookkeeping ones) onto the RS; returns changed.
pub fn copy_annotations(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let mut changed = false;
    let ann = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if skip_copy(k) || ann.get(k) == Some(v) {
            continue;
        }
        ann.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// Sets `desired-replicas` and `max-replicas`; returns changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let ann = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        if ann.get(k).map(String::as_str) != Some(v.to_string().as_str()) {
            ann.insert(k.to_string(), v.to_string());
            changed = true;
        }
    }
    changed
}

/// `SetNewReplicaSetAnnotations`: copies annotations, raises the revision to `new_revision`
/// (remembering the old one in `revision-history` on a rollback) and, for a ReplicaSet
/// about to be created, sets the replica annotations. Returns whether anything changed.
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let mut changed = copy_annotations(d, rs);
    let ann = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let old = ann.get(REVISION).cloned();
    let old_n = match old.as_deref().map(str::parse::<i64>) {
        Some(Ok(n)) => n,
        Some(Err(_)) => return changed,
        None => 0,
    };
    if old_n < new_revision {
        ann.insert(REVISION.to_string(), new_revision.to_string());
        changed = true;
        if let Some(old) = old {
            let hist = ann.get(REVISION_HISTORY).cloned().unwrap_or_default();
            let mut parts: Vec<&str> = if hist.is_empty() {
                vec![]
            } else {
                hist.split(',').collect()
            };
            parts.push(&old);
            while parts.join(",").len() > MAX_REV_HISTORY_CHARS && parts.len() > 1 {
                parts.remove(0);
            }
            let joined = parts.join(",");
            ann.insert(REVISION_HISTORY.to_string(), joined);
        }
    }
    if !exists && set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)) {
        changed = true;
    }
    changed
}

/// Condition helpers (`GetDeploymentCondition`, `SetDeploymentCondition`, ...).
pub fn get_condition<'a>(st: &'a DeploymentStatus, ty: &str) -> Option<&'a DeploymentCondition> {
    st.conditions.as_ref()?.iter().find(|c| c.type_ == ty)
}

pub fn new_condition(
    ty: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: ty.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// Replaces the condition of the same type unless status and reason are unchanged; keeps
/// `lastTransitionTime` when the status is unchanged.
pub fn set_condition(st: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(cur) = get_condition(st, &c.type_) {
        if cur.status == c.status && cur.reason == c.reason {
            return;
        }
        if cur.status == c.status {
            c.last_transition_time = cur.last_transition_time.clone();
        }
    }
    remove_condition(st, &c.type_.clone());
    st.conditions.get_or_insert_with(Vec::new).push(c);
}

pub fn remove_condition(st: &mut DeploymentStatus, ty: &str) {
    if let Some(cs) = st.conditions.as_mut() {
        cs.retain(|c| c.type_ != ty);
        if cs.is_empty() {
            st.conditions = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn template(image: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "x".to_string())].into()),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }

    fn deploy(
        replicas: i32,
        surge: Option<IntOrString>,
        unavail: Option<IntOrString>,
    ) -> Deployment {
        Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: surge,
                        max_unavailable: unavail,
                    }),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn hash_is_stable_and_ignores_null_creation_timestamp() {
        let a = template("nginx:1");
        let h = compute_hash(&a, None);
        assert_eq!(h, compute_hash(&a, None));
        assert!(
            h.len() <= 10 && h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
            "{h}"
        );
        // kubectl rollout undo sends `creationTimestamp: null` and empty maps.
        let undo: PodTemplateSpec = serde_json::from_value(serde_json::json!({
            "metadata": {"creationTimestamp": null, "labels": {"app": "x"}, "annotations": {}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1", "args": []}]}
        }))
        .unwrap();
        assert_eq!(compute_hash(&undo, None), h);
        assert!(equal_ignore_hash(&a, &undo));
        assert_ne!(compute_hash(&template("nginx:2"), None), h);
        assert_ne!(compute_hash(&a, Some(1)), h);
        let mut labeled = a.clone();
        labeled
            .metadata
            .as_mut()
            .unwrap()
            .labels
            .as_mut()
            .unwrap()
            .insert(HASH_LABEL.into(), h.clone());
        assert!(equal_ignore_hash(&a, &labeled));
        assert_eq!(safe_encode("0123"), "4567");
    }

    #[test]
    fn fencepost_rounding() {
        // Defaults 25%/25% of 10: surge ceil(2.5)=3, unavailable floor(2.5)=2.
        let d = deploy(
            10,
            Some(IntOrString::String("25%".into())),
            Some(IntOrString::String("25%".into())),
        );
        assert_eq!((max_surge(&d), max_unavailable(&d)), (3, 2));
        let d = deploy(
            3,
            Some(IntOrString::String("25%".into())),
            Some(IntOrString::String("25%".into())),
        );
        assert_eq!((max_surge(&d), max_unavailable(&d)), (1, 0));
        let d = deploy(
            3,
            Some(IntOrString::Int(0)),
            Some(IntOrString::String("10%".into())),
        );
        assert_eq!(
            (max_surge(&d), max_unavailable(&d)),
            (0, 1),
            "both zero -> unavailable 1"
        );
        let d = deploy(2, Some(IntOrString::Int(2)), Some(IntOrString::Int(5)));
        assert_eq!(
            (max_surge(&d), max_unavailable(&d)),
            (2, 2),
            "unavailable capped at replicas"
        );
        let mut d = deploy(4, None, None);
        d.spec.as_mut().unwrap().strategy = None;
        assert_eq!((max_surge(&d), max_unavailable(&d)), (1, 1));
        d.spec.as_mut().unwrap().strategy = Some(DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        });
        assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 0));
    }

    #[test]
    fn revision_annotations_and_history() {
        let mut d = deploy(3, Some(IntOrString::Int(1)), None);
        d.metadata.annotations = Some(
            [
                ("kubernetes.io/change-cause".to_string(), "v2".to_string()),
                (REVISION.to_string(), "9".to_string()),
            ]
            .into(),
        );
        let mut rs = ReplicaSet::default();
        assert!(set_new_rs_annotations(&d, &mut rs, 1, false));
        let a = rs.metadata.annotations.clone().unwrap();
        assert_eq!(a.get(REVISION).map(String::as_str), Some("1"));
        assert_eq!(
            a.get("kubernetes.io/change-cause").map(String::as_str),
            Some("v2")
        );
        assert_eq!(a.get(MAX_REPLICAS).map(String::as_str), Some("4"));
        assert!(!set_new_rs_annotations(&d, &mut rs, 1, true));
        assert!(set_new_rs_annotations(&d, &mut rs, 3, true));
        assert!(set_new_rs_annotations(&d, &mut rs, 5, true));
        let a = rs.metadata.annotations.unwrap();
        assert_eq!(
            (a[REVISION].as_str(), a[REVISION_HISTORY].as_str()),
            ("5", "1,3")
        );
    }
}
