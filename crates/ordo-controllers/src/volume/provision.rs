//! The local-path provisioner: one directory per claim, `DATA/volumes/pvc-<claim uid>`,
//! exposed as a hostPath volume pinned to the consumer's node.

use super::{claim_request, reference, ANN_CAPACITY_ENFORCED, ANN_PROVISIONED_BY, PROVISIONER};
use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec, VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;
use std::path::Path;

/// The name of the volume provisioned for a claim: `pvc-<claim uid>`.
pub fn volume_name(pvc: &PersistentVolumeClaim) -> String {
    format!("pvc-{}", pvc.metadata.uid.as_deref().unwrap_or_default())
}

/// The volume the provisioner creates for `pvc` of `class` on `node`, already bound to the
/// claim (`claimRef` with its UID), as external provisioners do.
pub fn volume_for(
    pvc: &PersistentVolumeClaim,
    class: &StorageClass,
    node: &str,
    volumes_dir: &Path,
) -> PersistentVolume {
    let name = volume_name(pvc);
    let spec = pvc.spec.clone().unwrap_or_default();
    let mut capacity = BTreeMap::new();
    if let Some(q) = claim_request(pvc) {
        capacity.insert("storage".to_string(), q.clone());
    }
    let mut claim_ref = reference("PersistentVolumeClaim", "v1", &pvc.metadata);
    claim_ref.resource_version = pvc.metadata.resource_version.clone();
    let hostname = NodeSelectorRequirement {
        key: "kubernetes.io/hostname".into(),
        operator: "In".into(),
        values: Some(vec![node.to_string()]),
    };
    PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            annotations: Some(BTreeMap::from([
                (ANN_PROVISIONED_BY.to_string(), PROVISIONER.to_string()),
                (
                    ANN_CAPACITY_ENFORCED.to_string(),
                    "false: directory volumes can grow beyond their capacity".to_string(),
                ),
            ])),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: spec.access_modes.clone(),
            capacity: Some(capacity),
            claim_ref: Some(claim_ref),
            host_path: Some(HostPathVolumeSource {
                path: volumes_dir.join(&name).to_string_lossy().into_owned(),
                type_: Some("DirectoryOrCreate".into()),
            }),
            node_affinity: Some(VolumeNodeAffinity {
                required: Some(NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(vec![hostname]),
                        match_fields: None,
                    }],
                }),
            }),
            persistent_volume_reclaim_policy: Some(
                class
                    .reclaim_policy
                    .clone()
                    .unwrap_or_else(|| "Delete".into()),
            ),
            storage_class_name: class.metadata.name.clone(),
            mount_options: class.mount_options.clone(),
            volume_mode: Some(spec.volume_mode.unwrap_or_else(|| "Filesystem".into())),
            ..Default::default()
        }),
        status: None,
    }
}

/// Creates a volume's directory, writable by any user (as local-path does).
pub fn create_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))
}

/// Removes a volume's directory and its data; only paths directly under `volumes_dir`.
pub fn remove_dir(path: &Path, volumes_dir: &Path) -> std::io::Result<()> {
    if path.parent() != Some(volumes_dir) {
        return Err(std::io::Error::other(format!(
            "refusing to delete {}: not a volume directory under {}",
            path.display(),
            volumes_dir.display()
        )));
    }
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}
