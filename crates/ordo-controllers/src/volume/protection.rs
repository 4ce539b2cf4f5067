//! `kubernetes.io/pvc-protection` and `kubernetes.io/pv-protection`: a claim in use by a
//! pod, and a bound volume, stay (Terminating) until they are no longer used.

use super::{Action, Object, Step, World, PVC_PROTECTION, PV_PROTECTION};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// `podUsesPVC`: a scheduled pod (whatever its phase: the kubelet may still have the volume
/// mounted) references the claim.
pub fn pod_uses_claim(pod: &Pod, pvc: &PersistentVolumeClaim) -> bool {
    if pod.metadata.namespace != pvc.metadata.namespace {
        return false;
    }
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    let scheduled = spec.node_name.as_deref().is_some_and(|n| !n.is_empty());
    scheduled
        && spec.volumes.as_deref().unwrap_or_default().iter().any(|v| {
            v.persistent_volume_claim
                .as_ref()
                .is_some_and(|c| Some(&c.claim_name) == pvc.metadata.name.as_ref())
        })
}

fn has(meta: &ObjectMeta, f: &str) -> bool {
    meta.finalizers
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|x| x == f)
}

/// Adds the finalizer to live objects, removes it from deleted ones no longer in use.
fn decide(
    meta: &ObjectMeta,
    object: Object,
    finalizer: &'static str,
    in_use: bool,
) -> Option<Step> {
    let deleting = meta.deletion_timestamp.is_some();
    let present = has(meta, finalizer);
    let add = if !deleting && !present {
        true
    } else if deleting && present && !in_use {
        false
    } else {
        return None;
    };
    Some(vec![Action::Finalizer {
        object,
        name: meta.name.clone().unwrap_or_default(),
        rv: meta.resource_version.clone(),
        finalizer,
        add,
    }])
}

/// Finalizer steps for every claim and volume.
pub fn plan(w: &World) -> Vec<Step> {
    let mut steps = Vec::new();
    for pvc in &w.claims {
        let in_use = w.pods.iter().any(|p| pod_uses_claim(p, pvc));
        let object = Object::Claim {
            namespace: pvc.metadata.namespace.clone().unwrap_or_default(),
        };
        steps.extend(decide(&pvc.metadata, object, PVC_PROTECTION, in_use));
    }
    for pv in &w.volumes {
        let bound = pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        steps.extend(decide(&pv.metadata, Object::Volume, PV_PROTECTION, bound));
    }
    steps
}
