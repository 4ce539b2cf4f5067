//! Volume expansion: a bound claim whose request grew past its capacity, in a class that
//! allows expansion, gets its directory volume resized (capacity only: directories are not
//! size-limited). KEP-4650: a StatefulSet whose claim template asks for more storage has
//! the requests of its existing claims `<template>-<set>-<ordinal>` raised.

use super::{
    claim_class, claim_request, quantity_value, reference, volume_capacity, Action, Source, Step,
    World,
};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ordo_client::events::EventType;

/// Whether `a` is a larger quantity than `b` (a missing or malformed `b` counts as zero).
fn larger(a: &Quantity, b: Option<&Quantity>) -> bool {
    let bv = b.and_then(quantity_value).unwrap_or(0.0);
    quantity_value(a).is_some_and(|av| av > bv)
}

fn claim_capacity(pvc: &PersistentVolumeClaim) -> Option<&Quantity> {
    pvc.status.as_ref()?.capacity.as_ref()?.get("storage")
}

/// The resize steps of one bound claim, or None when there is nothing to do.
pub fn resize(w: &World, pvc: &PersistentVolumeClaim, pv: &PersistentVolume) -> Option<Step> {
    let phase = pvc.status.as_ref().and_then(|s| s.phase.as_deref());
    if phase != Some("Bound")
        || pvc.metadata.deletion_timestamp.is_some()
        || super::host_path(pv).is_none()
    {
        return None;
    }
    let want = claim_request(pvc)?;
    if !larger(want, claim_capacity(pvc)) {
        return None;
    }
    let class = claim_class(pvc);
    let allowed = w.classes.iter().any(|c| {
        c.metadata.name.as_deref() == Some(class.as_str()) && c.allow_volume_expansion == Some(true)
    });
    if !allowed {
        return None;
    }
    let pv_name = pv.metadata.name.clone().unwrap_or_default();
    let target = reference("PersistentVolumeClaim", "v1", &pvc.metadata);
    let mut step = vec![Action::Event {
        target: target.clone(),
        source: Source::Resizer,
        ty: EventType::Normal,
        reason: "Resizing",
        message: format!("External resizer is resizing volume {pv_name}"),
    }];
    if larger(want, volume_capacity(pv)) {
        step.push(Action::ResizeVolume {
            name: pv_name,
            size: want.clone(),
        });
    }
    step.push(Action::ClaimResized {
        namespace: pvc.metadata.namespace.clone().unwrap_or_default(),
        name: pvc.metadata.name.clone().unwrap_or_default(),
        size: want.clone(),
    });
    step.push(Action::Event {
        target,
        source: Source::Resizer,
        ty: EventType::Normal,
        reason: "VolumeResizeSuccessful",
        message: "Resize volume succeeded".into(),
    });
    Some(step)
}

/// Whether `claim` is the claim of template `template` for an ordinal of set `set`.
pub fn is_set_claim(claim: &str, template: &str, set: &str) -> bool {
    claim
        .strip_prefix(template)
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_prefix(set))
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()))
}

/// KEP-4650: raise the requests of a set's bound claims to its templates' requests.
fn grow_set_claims(w: &World) -> Vec<Step> {
    let mut steps = Vec::new();
    for set in &w.sets {
        if set.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let set_name = set.metadata.name.as_deref().unwrap_or_default();
        let templates = set
            .spec
            .as_ref()
            .and_then(|s| s.volume_claim_templates.as_deref())
            .unwrap_or_default();
        for t in templates {
            let Some(want) = claim_request(t) else {
                continue;
            };
            let tname = t.metadata.name.as_deref().unwrap_or_default();
            for c in &w.claims {
                let bound = c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
                if c.metadata.namespace != set.metadata.namespace
                    || c.metadata.deletion_timestamp.is_some()
                    || !bound
                    || !is_set_claim(
                        c.metadata.name.as_deref().unwrap_or_default(),
                        tname,
                        set_name,
                    )
                    || !larger(want, claim_request(c))
                {
                    continue;
                }
                steps.push(vec![Action::GrowClaim {
                    namespace: c.metadata.namespace.clone().unwrap_or_default(),
                    name: c.metadata.name.clone().unwrap_or_default(),
                    size: want.clone(),
                    set: reference("StatefulSet", "apps/v1", &set.metadata),
                }]);
            }
        }
    }
    steps
}

/// Expansion steps: claim resizes and StatefulSet template growth.
pub fn plan(w: &World) -> Vec<Step> {
    let mut steps: Vec<Step> = w
        .claims
        .iter()
        .filter_map(|pvc| {
            let vname = pvc.spec.as_ref()?.volume_name.as_deref()?;
            let pv = w
                .volumes
                .iter()
                .find(|v| v.metadata.name.as_deref() == Some(vname))?;
            resize(w, pvc, pv)
        })
        .collect();
    steps.extend(grow_set_claims(w));
    steps
}
