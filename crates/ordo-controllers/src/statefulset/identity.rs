//! Pod identity and the small predicates of `stateful_set_utils.go`: ordinals, names, the
//! identity labels, hostname/subdomain, claim wiring, and pod health as the controller sees it.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// Label carrying the pod's own name (`apps.StatefulSetPodNameLabel`).
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// Label carrying the pod's ordinal (`apps.PodIndexLabel`).
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// Label carrying the ControllerRevision name the pod was made from.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// Splits `<parent>-<ordinal>` like upstream's `(.*)-([0-9]+)$` regex; `None` if it does not parse.
pub fn parent_and_ordinal(name: &str) -> Option<(&str, i32)> {
    let (parent, digits) = name.rsplit_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i32>().ok().map(|o| (parent, o))
}

/// The ordinal parsed from a pod's name.
pub fn ordinal(pod: &Pod) -> Option<i32> {
    parent_and_ordinal(pod.metadata.name.as_deref().unwrap_or_default()).map(|(_, o)| o)
}

/// Whether the pod's name says it belongs to `set` (`isMemberOf`).
pub fn is_member_of(set: &StatefulSet, pod: &Pod) -> bool {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    parent_and_ordinal(name).is_some_and(|(p, _)| Some(p) == set.metadata.name.as_deref())
}

/// `spec.replicas` (default 1).
pub fn replicas(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0)
}

/// `spec.ordinals.start` (0 when unset).
pub fn start_ordinal(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.ordinals.as_ref())
        .and_then(|o| o.start)
        .unwrap_or(0)
}

/// Whether `ordinal` lies in `[start, start + replicas)`.
pub fn in_range(set: &StatefulSet, ordinal: i32) -> bool {
    let start = start_ordinal(set);
    ordinal >= start && ordinal < start + replicas(set)
}

/// `<set>-<ordinal>`.
pub fn pod_name(set: &StatefulSet, ordinal: i32) -> String {
    format!(
        "{}-{ordinal}",
        set.metadata.name.as_deref().unwrap_or_default()
    )
}

/// `<template>-<set>-<ordinal>`.
pub fn claim_name(template: &str, set: &StatefulSet, ordinal: i32) -> String {
    format!(
        "{template}-{}-{ordinal}",
        set.metadata.name.as_deref().unwrap_or_default()
    )
}

/// `spec.minReadySeconds` (default 0).
pub fn min_ready_seconds(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
        .max(0)
}

/// True for `podManagementPolicy: Parallel` (upstream's "burst").
pub fn allows_burst(set: &StatefulSet) -> bool {
    set.spec
        .as_ref()
        .and_then(|s| s.pod_management_policy.as_deref())
        == Some("Parallel")
}

/// True for `updateStrategy.type: OnDelete`.
pub fn is_on_delete(set: &StatefulSet) -> bool {
    update_strategy_type(set) == "OnDelete"
}

/// `updateStrategy.type`, `RollingUpdate` when unset.
pub fn update_strategy_type(set: &StatefulSet) -> &str {
    set.spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.type_.as_deref())
        .filter(|t| !t.is_empty())
        .unwrap_or("RollingUpdate")
}

/// `updateStrategy.rollingUpdate.partition`, or `None` when `rollingUpdate` is nil.
pub fn partition(set: &StatefulSet) -> Option<i32> {
    let ru = set
        .spec
        .as_ref()?
        .update_strategy
        .as_ref()?
        .rolling_update
        .as_ref()?;
    Some(ru.partition.unwrap_or(0).max(0))
}

/// The effective `maxUnavailable` (`getStatefulSetMaxUnavailable`): int or percentage of
/// replicas rounded down, at least 1; 1 when unset.
pub fn max_unavailable(set: &StatefulSet) -> i32 {
    let value = set
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.max_unavailable.as_ref());
    let n = match value {
        None => 1,
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => match s
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<i64>().ok())
        {
            Some(pct) => ((pct * replicas(set) as i64) / 100) as i32,
            None => s.trim().parse::<i32>().unwrap_or(1),
        },
    };
    n.max(1)
}

/// The controller ownerReference a StatefulSet puts on what it creates.
pub fn controller_ref(set: &StatefulSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "StatefulSet".into(),
        name: set.metadata.name.clone().unwrap_or_default(),
        uid: set.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

pub use ordo_client::objects::controller_of;

/// The claims a pod at `ordinal` uses, keyed by template name, in template order
/// (`getPersistentVolumeClaims`): labels = template labels overlaid with `selector.matchLabels`.
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<(String, PersistentVolumeClaim)> {
    let Some(spec) = set.spec.as_ref() else {
        return Vec::new();
    };
    let match_labels = spec.selector.match_labels.clone().unwrap_or_default();
    spec.volume_claim_templates
        .iter()
        .flatten()
        .map(|t| {
            let template_name = t.metadata.name.clone().unwrap_or_default();
            let mut labels = t.metadata.labels.clone().unwrap_or_default();
            labels.extend(match_labels.clone());
            let claim = PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(claim_name(&template_name, set, ordinal)),
                    namespace: set.metadata.namespace.clone(),
                    labels: Some(labels),
                    annotations: t.metadata.annotations.clone(),
                    ..Default::default()
                },
                spec: t.spec.clone(),
                status: None,
            };
            (template_name, claim)
        })
        .collect()
}

/// A new pod for `ordinal` from `template` (`newStatefulSetPod` + `setPodRevision`).
pub fn new_pod(set: &StatefulSet, template: &PodTemplateSpec, ordinal: i32, revision: &str) -> Pod {
    let tm = template.metadata.clone().unwrap_or_default();
    let mut pod = Pod {
        metadata: ObjectMeta {
            name: Some(pod_name(set, ordinal)),
            namespace: set.metadata.namespace.clone(),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![controller_ref(set)]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    };
    update_identity(set, &mut pod);
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.hostname = pod.metadata.name.clone();
    spec.subdomain = set
        .spec
        .as_ref()
        .and_then(|s| s.service_name.clone())
        .filter(|s| !s.is_empty());
    update_storage(set, &mut pod);
    pod.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(REVISION_LABEL.into(), revision.into());
    pod
}

/// Restores name, namespace and the two identity labels (`updateIdentity`).
pub fn update_identity(set: &StatefulSet, pod: &mut Pod) {
    let ord = ordinal(pod).unwrap_or(-1);
    let name = pod_name(set, ord);
    pod.metadata.name = Some(name.clone());
    pod.metadata.namespace = set.metadata.namespace.clone();
    let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME_LABEL.into(), name);
    labels.insert(POD_INDEX_LABEL.into(), ord.to_string());
}

/// Points the pod's volumes at its claims, replacing template volumes of the same name (`updateStorage`).
pub fn update_storage(set: &StatefulSet, pod: &mut Pod) {
    let ord = ordinal(pod).unwrap_or(-1);
    let claims = claims_for(set, ord);
    if claims.is_empty() {
        return;
    }
    let spec = pod.spec.get_or_insert_with(Default::default);
    let current = spec.volumes.take().unwrap_or_default();
    let mut volumes: Vec<Volume> = claims
        .iter()
        .map(|(template, claim)| Volume {
            name: template.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.metadata.name.clone().unwrap_or_default(),
                read_only: None,
            }),
            ..Default::default()
        })
        .collect();
    volumes.extend(
        current
            .into_iter()
            .filter(|v| !claims.iter().any(|(t, _)| *t == v.name)),
    );
    spec.volumes = Some(volumes);
}

/// Name, namespace and pod-name label as the set dictates (`identityMatches`).
pub fn identity_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    match parent_and_ordinal(name) {
        Some((parent, ord)) => {
            Some(parent) == set.metadata.name.as_deref()
                && name == pod_name(set, ord)
                && pod.metadata.namespace == set.metadata.namespace
                && label(pod, POD_NAME_LABEL) == Some(name)
        }
        None => false,
    }
}

/// Whether every claim template is mounted from the right claim (`storageMatches`).
pub fn storage_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let Some(ord) = ordinal(pod) else {
        return false;
    };
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_ref());
    claims_for(set, ord).iter().all(|(template, claim)| {
        volumes.into_iter().flatten().any(|v| {
            v.name == *template
                && v.persistent_volume_claim
                    .as_ref()
                    .map(|p| p.claim_name.as_str())
                    == claim.metadata.name.as_deref()
        })
    })
}

/// A label value.
pub fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// The ControllerRevision name recorded on the pod (`getPodRevision`), `""` when absent.
pub fn pod_revision(pod: &Pod) -> &str {
    label(pod, REVISION_LABEL).unwrap_or_default()
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

/// `status.phase == Failed`.
pub fn is_failed(pod: &Pod) -> bool {
    phase(pod) == "Failed"
}

/// `status.phase == Succeeded`.
pub fn is_succeeded(pod: &Pod) -> bool {
    phase(pod) == "Succeeded"
}

/// `status.phase == Pending`.
pub fn is_pending(pod: &Pod) -> bool {
    phase(pod) == "Pending"
}

/// `metadata.deletionTimestamp` is set.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Running with condition `Ready=True`.
pub fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && ready_since_ms(pod).is_some()
}

/// When the pod became Ready (ms since the epoch; `i64::MIN` if Ready without a transition time),
/// or `None` when it is not Ready.
pub fn ready_since_ms(pod: &Pod) -> Option<i64> {
    let cond = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (cond.status == "True").then(|| {
        cond.last_transition_time
            .as_ref()
            .map_or(i64::MIN, |t| t.0.as_millisecond())
    })
}

/// `podutil.IsPodAvailable`: Ready, and for at least `min_ready_seconds` if that is positive.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now_ms: i64) -> bool {
    match ready_since_ms(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(i64::MIN) => false,
        Some(since) => since + i64::from(min_ready_seconds) * 1000 < now_ms,
    }
}

/// When a Ready but not yet available pod becomes available (ms since the epoch).
pub fn available_at_ms(pod: &Pod, min_ready_seconds: i32) -> Option<i64> {
    match ready_since_ms(pod) {
        Some(since) if min_ready_seconds > 0 && since != i64::MIN => {
            Some(since + i64::from(min_ready_seconds) * 1000 + 1)
        }
        _ => None,
    }
}

/// Not Running+Ready+Available, or terminating (`isUnavailable`).
pub fn is_unavailable(pod: &Pod, min_ready_seconds: i32, now_ms: i64) -> bool {
    !is_running_and_ready(pod)
        || !is_available(pod, min_ready_seconds, now_ms)
        || is_terminating(pod)
}
