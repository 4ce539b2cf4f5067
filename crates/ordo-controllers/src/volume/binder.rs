//! The binder (upstream `pv_controller.go`, `syncClaim`/`syncVolume`): matches claims to
//! volumes, asks for provisioning, keeps both phases, and reclaims released volumes.

use super::{
    ann, claim_class, claim_request, provision, quantity_value, reference, volume_capacity,
    volume_class, Action, Source, Step, World, ANN_BETA_STORAGE_PROVISIONER, ANN_BIND_COMPLETED,
    ANN_PROVISIONED_BY, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER, PROVISIONER,
};
use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use ordo_client::events::EventType;
use std::collections::{BTreeMap, HashMap};

/// Upstream's event texts.
pub const MSG_WAIT_FOR_FIRST_CONSUMER: &str =
    "waiting for first consumer to be created before binding";
pub const MSG_NO_CLASS: &str =
    "no persistent volumes available for this claim and no storage class is set";
pub const MSG_CLAIM_LOST: &str =
    "Bound claim has lost its PersistentVolume. Data on the volume is lost!";
pub const MSG_CLAIM_LOST_REFERENCE: &str =
    "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!";

/// The message of `ExternalProvisioning`.
pub fn external_provisioning_message(provisioner: &str) -> String {
    format!(
        "Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."
    )
}

/// A node as the binder needs it: name and labels.
pub struct NodeView<'a> {
    pub name: &'a str,
    pub labels: BTreeMap<String, String>,
}

use ordo_api::selector::node_requirement_holds as requirement_holds;

/// `CheckNodeAffinity`: the volume's required node affinity admits the node.
pub fn node_affinity_matches(pv: &PersistentVolume, node: &NodeView) -> bool {
    let Some(terms) = pv
        .spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref())
        .and_then(|a| a.required.as_ref())
        .map(|r| &r.node_selector_terms)
    else {
        return true;
    };
    terms.iter().any(|t| {
        let exprs = t.match_expressions.as_deref().unwrap_or_default();
        let fields = t.match_fields.as_deref().unwrap_or_default();
        (!exprs.is_empty() || !fields.is_empty())
            && exprs
                .iter()
                .all(|r| requirement_holds(r, node.labels.get(&r.key).map(String::as_str)))
            && fields
                .iter()
                .all(|r| r.key == "metadata.name" && requirement_holds(r, Some(node.name)))
    })
}

/// `IsVolumeBoundToClaim`: the volume's claimRef names the claim (any UID, or its UID).
pub fn is_bound_to_claim(pv: &PersistentVolume, pvc: &PersistentVolumeClaim) -> bool {
    let Some(r) = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    r.name == pvc.metadata.name
        && r.namespace == pvc.metadata.namespace
        && r.uid
            .as_deref()
            .is_none_or(|u| u.is_empty() || Some(u) == pvc.metadata.uid.as_deref())
}

fn labels_match(pvc: &PersistentVolumeClaim, pv: &PersistentVolume) -> bool {
    let Some(sel) = pvc.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return true;
    };
    ordo_api::selector::label_selector_matches(sel, pv.metadata.labels.as_ref())
}

fn access_modes_ok(pvc: &PersistentVolumeClaim, pv: &PersistentVolume) -> bool {
    let have = pv
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.clone())
        .unwrap_or_default();
    pvc.spec
        .as_ref()
        .and_then(|s| s.access_modes.as_deref())
        .unwrap_or_default()
        .iter()
        .all(|m| have.contains(m))
}

fn volume_mode(m: Option<&String>) -> &str {
    m.map(String::as_str).unwrap_or("Filesystem")
}

/// `FindMatchingVolume`: the volume pre-bound to the claim, else the smallest Available one
/// that satisfies class, access modes, selector, capacity and (with `node`) node affinity.
/// With delayed binding and no node, only pre-bound volumes match.
pub fn find_best_match<'a>(
    pvc: &PersistentVolumeClaim,
    volumes: impl IntoIterator<Item = &'a PersistentVolume>,
    node: Option<&NodeView>,
    delay_binding: bool,
) -> Option<&'a PersistentVolume> {
    let requested = claim_request(pvc).and_then(quantity_value).unwrap_or(0.0);
    let class = claim_class(pvc);
    let mode = volume_mode(pvc.spec.as_ref().and_then(|s| s.volume_mode.as_ref()));
    let mut best: Option<(&PersistentVolume, f64)> = None;
    for pv in volumes {
        let size = volume_capacity(pv).and_then(quantity_value).unwrap_or(0.0);
        if size < requested
            || volume_mode(pv.spec.as_ref().and_then(|s| s.volume_mode.as_ref())) != mode
            || pv.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let affinity_ok = node.is_none_or(|n| node_affinity_matches(pv, n));
        if is_bound_to_claim(pv, pvc) {
            return affinity_ok.then_some(pv);
        }
        if node.is_none() && delay_binding {
            continue;
        }
        let phase = pv.status.as_ref().and_then(|s| s.phase.as_deref());
        let claimed = pv.spec.as_ref().is_some_and(|s| s.claim_ref.is_some());
        if phase != Some("Available")
            || claimed
            || !labels_match(pvc, pv)
            || volume_class(pv) != class
            || !affinity_ok
            || !access_modes_ok(pvc, pv)
        {
            continue;
        }
        if best.is_none_or(|(_, s)| s > size) {
            best = Some((pv, size));
        }
    }
    best.map(|(pv, _)| pv)
}

fn claim_phase(pvc: &PersistentVolumeClaim) -> &str {
    pvc.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

fn volume_phase(pv: &PersistentVolume) -> &str {
    pv.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

fn ns_name(pvc: &PersistentVolumeClaim) -> (String, String) {
    (
        pvc.metadata.namespace.clone().unwrap_or_default(),
        pvc.metadata.name.clone().unwrap_or_default(),
    )
}

fn claim_ref(pvc: &PersistentVolumeClaim) -> ObjectReference {
    reference("PersistentVolumeClaim", "v1", &pvc.metadata)
}

/// The node of each claim's first scheduled, running consumer: (namespace, claim) → node.
pub fn consumer_nodes(w: &World) -> HashMap<(String, String), String> {
    let mut out = HashMap::new();
    for pod in &w.pods {
        let terminal = matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        );
        let Some(spec) = pod.spec.as_ref() else {
            continue;
        };
        let Some(node) = spec.node_name.as_ref().filter(|n| !n.is_empty()) else {
            continue;
        };
        if terminal {
            continue;
        }
        for v in spec.volumes.as_deref().unwrap_or_default() {
            if let Some(c) = &v.persistent_volume_claim {
                let key = (
                    pod.metadata.namespace.clone().unwrap_or_default(),
                    c.claim_name.clone(),
                );
                out.entry(key).or_insert_with(|| node.clone());
            }
        }
    }
    out
}

fn node_view<'a>(w: &'a World, name: &'a str) -> NodeView<'a> {
    let labels = w
        .nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(name))
        .and_then(|n| n.metadata.labels.clone())
        .unwrap_or_else(|| {
            BTreeMap::from([("kubernetes.io/hostname".to_string(), name.to_string())])
        });
    NodeView { name, labels }
}

/// The steps that bind an unbound claim to `pv` (`bind`): volume, volume phase, claim, claim phase.
fn bind_steps(pvc: &PersistentVolumeClaim, pv: &PersistentVolume) -> Step {
    let (ns, name) = ns_name(pvc);
    let pv_name = pv.metadata.name.clone().unwrap_or_default();
    let mut step = Vec::new();
    let ref_uid = pv
        .spec
        .as_ref()
        .and_then(|s| s.claim_ref.as_ref())
        .and_then(|r| r.uid.clone());
    if ref_uid.is_none_or(|u| u.is_empty()) {
        let by_controller = pv.spec.as_ref().is_none_or(|s| s.claim_ref.is_none());
        step.push(Action::BindVolume {
            name: pv_name.clone(),
            rv: pv.metadata.resource_version.clone(),
            claim: claim_ref(pvc),
            by_controller,
        });
    }
    if volume_phase(pv) != "Bound" {
        step.push(Action::VolumePhase {
            name: pv_name.clone(),
            phase: "Bound",
            message: None,
        });
    }
    let bound_name = pvc
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or("");
    if bound_name != pv_name || ann(&pvc.metadata, ANN_BIND_COMPLETED).is_none() {
        step.push(Action::BindClaim {
            namespace: ns.clone(),
            name: name.clone(),
            rv: pvc.metadata.resource_version.clone(),
            volume: pv_name,
            by_controller: bound_name.is_empty(),
        });
    }
    if claim_phase(pvc) != "Bound" {
        let spec = pv.spec.as_ref();
        step.push(Action::ClaimPhase {
            namespace: ns,
            name,
            phase: "Bound",
            capacity: spec.and_then(|s| s.capacity.clone()),
            access_modes: spec.and_then(|s| s.access_modes.clone()),
        });
    }
    step
}

fn event(
    target: ObjectReference,
    source: Source,
    ty: EventType,
    reason: &'static str,
    message: String,
) -> Action {
    Action::Event {
        target,
        source,
        ty,
        reason,
        message,
    }
}

/// `syncUnboundClaim`: bind to a matching volume or have one provisioned.
fn sync_unbound(
    w: &World,
    pvc: &PersistentVolumeClaim,
    consumers: &HashMap<(String, String), String>,
) -> Option<Step> {
    let key = ns_name(pvc);
    let class_name = claim_class(pvc);
    let class: Option<&StorageClass> = w
        .classes
        .iter()
        .map(|c| c.as_ref())
        .find(|c| c.metadata.name.as_deref() == Some(class_name.as_str()));
    let delay =
        class.is_some_and(|c| c.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer"));
    let selected = ann(&pvc.metadata, ANN_SELECTED_NODE).map(str::to_string);
    let node_name = selected
        .clone()
        .or_else(|| delay.then(|| consumers.get(&key).cloned()).flatten());
    let node = node_name.as_deref().map(|n| node_view(w, n));
    if let Some(pv) = find_best_match(
        pvc,
        w.volumes.iter().map(|v| v.as_ref()),
        node.as_ref(),
        delay,
    ) {
        return Some(bind_steps(pvc, pv));
    }
    let target = claim_ref(pvc);
    if delay && node_name.is_none() {
        return Some(vec![event(
            target,
            Source::Binder,
            EventType::Normal,
            "WaitForFirstConsumer",
            MSG_WAIT_FOR_FIRST_CONSUMER.into(),
        )]);
    }
    let Some(class) = class else {
        if class_name.is_empty() {
            return Some(vec![event(
                target,
                Source::Binder,
                EventType::Normal,
                "FailedBinding",
                MSG_NO_CLASS.into(),
            )]);
        }
        let msg = format!("storageclass.storage.k8s.io \"{class_name}\" not found");
        return Some(vec![event(
            target,
            Source::Binder,
            EventType::Warning,
            "ProvisioningFailed",
            msg,
        )]);
    };
    if class.provisioner == "kubernetes.io/no-provisioner"
        || pvc.metadata.deletion_timestamp.is_some()
    {
        return None;
    }
    let mut step = Vec::new();
    let mut anns = BTreeMap::new();
    if selected.is_none() {
        if let Some(n) = &node_name {
            anns.insert(ANN_SELECTED_NODE.to_string(), n.clone());
        }
    }
    if ann(&pvc.metadata, ANN_STORAGE_PROVISIONER) != Some(class.provisioner.as_str()) {
        anns.insert(
            ANN_STORAGE_PROVISIONER.to_string(),
            class.provisioner.clone(),
        );
        anns.insert(
            ANN_BETA_STORAGE_PROVISIONER.to_string(),
            class.provisioner.clone(),
        );
    }
    if !anns.is_empty() {
        step.push(Action::AnnotateClaim {
            namespace: key.0.clone(),
            name: key.1.clone(),
            rv: pvc.metadata.resource_version.clone(),
            annotations: anns,
        });
    }
    step.push(event(
        target.clone(),
        Source::Binder,
        EventType::Normal,
        "ExternalProvisioning",
        external_provisioning_message(&class.provisioner),
    ));
    if class.provisioner == PROVISIONER {
        let node = node_name.or_else(|| w.nodes.first().and_then(|n| n.metadata.name.clone()));
        match node {
            Some(node) => step.push(Action::Provision {
                volume: Box::new(provision::volume_for(pvc, class, &node, &w.volumes_dir)),
                claim: target,
            }),
            None => step.push(event(
                target,
                Source::Provisioner,
                EventType::Warning,
                "ProvisioningFailed",
                "no node to provision the volume on".into(),
            )),
        }
    }
    Some(step)
}

/// `syncBoundClaim`: the claim names a volume.
fn sync_bound(w: &World, pvc: &PersistentVolumeClaim, volume: &str) -> Option<Step> {
    let Some(pv) = w
        .volumes
        .iter()
        .find(|v| v.metadata.name.as_deref() == Some(volume))
    else {
        if ann(&pvc.metadata, ANN_BIND_COMPLETED).is_some() {
            return lost(pvc, MSG_CLAIM_LOST);
        }
        return None;
    };
    let claimed = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    if claimed.is_none() || is_bound_to_claim(pv, pvc) {
        let step = bind_steps(pvc, pv);
        return (!step.is_empty()).then_some(step);
    }
    if claim_phase(pvc) == "Bound" {
        let msg =
            "Two claims are bound to the same volume, this one is bound incorrectly".to_string();
        let (namespace, name) = ns_name(pvc);
        return Some(vec![
            Action::ClaimPhase {
                namespace,
                name,
                phase: "Lost",
                capacity: None,
                access_modes: None,
            },
            event(
                claim_ref(pvc),
                Source::Binder,
                EventType::Warning,
                "ClaimMisbound",
                msg,
            ),
        ]);
    }
    None
}

/// A claim that was bound lost its volume: phase Lost and a `ClaimLost` warning, once.
fn lost(pvc: &PersistentVolumeClaim, message: &str) -> Option<Step> {
    if claim_phase(pvc) == "Lost" {
        return None;
    }
    let (namespace, name) = ns_name(pvc);
    Some(vec![
        Action::ClaimPhase {
            namespace,
            name,
            phase: "Lost",
            capacity: None,
            access_modes: None,
        },
        event(
            claim_ref(pvc),
            Source::Binder,
            EventType::Warning,
            "ClaimLost",
            message.into(),
        ),
    ])
}

/// The binder's steps for every claim.
pub fn plan_claims(w: &World) -> Vec<Step> {
    let consumers = consumer_nodes(w);
    w.claims
        .iter()
        .filter_map(|pvc| {
            match pvc
                .spec
                .as_ref()
                .and_then(|s| s.volume_name.as_deref())
                .filter(|v| !v.is_empty())
            {
                Some(v) => sync_bound(w, pvc, v),
                None if ann(&pvc.metadata, ANN_BIND_COMPLETED).is_some() => {
                    lost(pvc, MSG_CLAIM_LOST_REFERENCE)
                }
                None => sync_unbound(w, pvc, &consumers),
            }
        })
        .collect()
}

/// `syncVolume` and `reclaimVolume` for one volume.
fn sync_volume(w: &World, pv: &PersistentVolume) -> Option<Step> {
    if pv.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let name = pv.metadata.name.clone().unwrap_or_default();
    let phase = volume_phase(pv);
    let set_phase = |p: &'static str, message: Option<String>| Action::VolumePhase {
        name: name.clone(),
        phase: p,
        message,
    };
    let Some(r) = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return (phase != "Available").then(|| vec![set_phase("Available", None)]);
    };
    let uid = r.uid.clone().unwrap_or_default();
    let claim = w
        .claims
        .iter()
        .find(|c| c.metadata.name == r.name && c.metadata.namespace == r.namespace);
    if uid.is_empty() {
        // Pre-bound by the user; the claim sync completes the binding.
        return (phase == "Pending").then(|| vec![set_phase("Available", None)]);
    }
    match claim {
        Some(c) if c.metadata.uid.as_deref() == Some(uid.as_str()) => {
            let bound_to = c
                .spec
                .as_ref()
                .and_then(|s| s.volume_name.as_deref())
                .unwrap_or("");
            (bound_to == name && phase != "Bound").then(|| vec![set_phase("Bound", None)])
        }
        _ => {
            let mut step = Vec::new();
            if phase != "Released" && phase != "Failed" {
                step.push(set_phase("Released", None));
            }
            if phase == "Failed" {
                return None;
            }
            let policy = pv
                .spec
                .as_ref()
                .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
                .unwrap_or("Retain");
            if policy == "Delete" {
                match ann(&pv.metadata, ANN_PROVISIONED_BY) {
                    Some(PROVISIONER) => step.push(Action::Reclaim {
                        name: name.clone(),
                        claim: r.clone(),
                        path: super::host_path(pv),
                    }),
                    Some(_) => {}
                    None => {
                        let msg = format!(
                            "error getting deleter volume plugin for volume \"{name}\": no deletable volume plugin matched"
                        );
                        step.push(set_phase("Failed", Some(msg.clone())));
                        let target = reference("PersistentVolume", "v1", &pv.metadata);
                        step.push(event(
                            target,
                            Source::Binder,
                            EventType::Warning,
                            "VolumeFailedDelete",
                            msg,
                        ));
                    }
                }
            }
            (!step.is_empty()).then_some(step)
        }
    }
}

/// The binder's steps for every volume.
pub fn plan_volumes(w: &World) -> Vec<Step> {
    w.volumes
        .iter()
        .filter_map(|pv| sync_volume(w, pv))
        .collect()
}
