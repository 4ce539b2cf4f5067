//! PersistentVolume, PersistentVolumeClaim and StorageClass printers.
//!
//! Fields the apiserver always defaults (phase `Pending`, volume mode
//! `Filesystem`, reclaim policy, binding mode) print their default when absent.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{age, arr_at, bool_at, col, get, name, or, str_at, wide, Col, Printer, AGE, NAME};

/// Storage class annotation that takes precedence over `storageClassName`.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// Upstream `GetAccessModesAsString`: always in the order RWO, ROX, RWX, RWOP.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The storage class: the beta annotation if present, else `spec.storageClassName`.
fn storage_class(obj: &Value) -> &str {
    get(obj, &["metadata", "annotations", BETA_STORAGE_CLASS])
        .and_then(Value::as_str)
        .unwrap_or_else(|| str_at(obj, &["spec", "storageClassName"]))
}

/// `status.phase` (default `Pending`), or `Terminating` once deletion started.
fn phase(obj: &Value) -> &str {
    if get(obj, &["metadata", "deletionTimestamp"]).is_some() {
        "Terminating"
    } else {
        or(str_at(obj, &["status", "phase"]), "Pending")
    }
}

/// `spec.volumeAttributesClassName`, or `<unset>`.
fn volume_attributes_class(obj: &Value) -> &str {
    get(obj, &["spec", "volumeAttributesClassName"])
        .and_then(Value::as_str)
        .unwrap_or("<unset>")
}

fn volume_mode(obj: &Value) -> &str {
    or(str_at(obj, &["spec", "volumeMode"]), "Filesystem")
}

const PV_COLUMNS: &[Col] = &[
    NAME,
    col("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
    col("Access Modes", "accessModes contains all ways the volume can be mounted."),
    col("Reclaim Policy", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim."),
    col("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
    col("Claim", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
    col("StorageClass", "StorageClass of the pv"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    col("Reason", "reason is a brief CamelCase string that describes any failure."),
    AGE,
    wide("VolumeMode", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state."),
];

pub(crate) static PERSISTENT_VOLUME: Printer = Printer {
    columns: PV_COLUMNS,
    cells: pv_cells,
};

fn pv_cells(pv: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let claim = get(pv, &["spec", "claimRef"]).map_or(String::new(), |c| {
        format!("{}/{}", str_at(c, &["namespace"]), str_at(c, &["name"]))
    });
    let capacity = or(str_at(pv, &["spec", "capacity", "storage"]), "0");
    let reclaim = or(
        str_at(pv, &["spec", "persistentVolumeReclaimPolicy"]),
        "Retain",
    );
    vec![
        name(pv),
        capacity.into(),
        access_modes(arr_at(pv, &["spec", "accessModes"])).into(),
        reclaim.into(),
        phase(pv).into(),
        claim.into(),
        storage_class(pv).into(),
        volume_attributes_class(pv).into(),
        str_at(pv, &["status", "reason"]).into(),
        age(pv, now),
        volume_mode(pv).into(),
    ]
}

const PVC_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Status",
        "phase represents the current phase of PersistentVolumeClaim.",
    ),
    col(
        "Volume",
        "volumeName is the binding reference to the PersistentVolume backing this claim.",
    ),
    col(
        "Capacity",
        "capacity represents the actual resources of the underlying volume.",
    ),
    col(
        "Access Modes",
        "accessModes contains the actual access modes the volume backing the PVC has.",
    ),
    col("StorageClass", "StorageClass of the pvc"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    AGE,
    wide(
        "VolumeMode",
        "volumeMode defines what type of volume is required by the claim.",
    ),
];

pub(crate) static PERSISTENT_VOLUME_CLAIM: Printer = Printer {
    columns: PVC_COLUMNS,
    cells: pvc_cells,
};

fn pvc_cells(pvc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let volume = str_at(pvc, &["spec", "volumeName"]);
    // Capacity and access modes are only shown once bound to a volume.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            or(str_at(pvc, &["status", "capacity", "storage"]), "0").to_string(),
            access_modes(arr_at(pvc, &["status", "accessModes"])),
        )
    };
    vec![
        name(pvc),
        phase(pvc).into(),
        volume.into(),
        capacity.into(),
        modes.into(),
        storage_class(pvc).into(),
        volume_attributes_class(pvc).into(),
        age(pvc, now),
        volume_mode(pvc).into(),
    ]
}

const STORAGE_CLASS_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Provisioner",
        "provisioner indicates the type of the provisioner.",
    ),
    col(
        "ReclaimPolicy",
        "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes.",
    ),
    col(
        "VolumeBindingMode",
        "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
    ),
    col(
        "AllowVolumeExpansion",
        "allowVolumeExpansion shows whether the storage class allow volume expand.",
    ),
    AGE,
];

pub(crate) static STORAGE_CLASS: Printer = Printer {
    columns: STORAGE_CLASS_COLUMNS,
    cells: storage_class_cells,
};

/// Upstream `storageutil.IsDefaultAnnotation`.
fn is_default_class(sc: &Value) -> bool {
    [
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
    ]
    .iter()
    .any(|a| str_at(sc, &["metadata", "annotations", a]) == "true")
}

fn storage_class_cells(sc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut name = str_at(sc, &["metadata", "name"]).to_string();
    if is_default_class(sc) {
        name.push_str(" (default)");
    }
    vec![
        name.into(),
        str_at(sc, &["provisioner"]).into(),
        or(str_at(sc, &["reclaimPolicy"]), "Delete").into(),
        or(str_at(sc, &["volumeBindingMode"]), "Immediate").into(),
        bool_at(sc, &["allowVolumeExpansion"]).into(),
        age(sc, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{names, row};
    use serde_json::json;

    #[test]
    fn pvc_columns_and_bound_row() {
        assert_eq!(
            names("PersistentVolumeClaim"),
            [
                "Name",
                "Status",
                "Volume",
                "Capacity",
                "Access Modes",
                "StorageClass",
                "VolumeAttributesClass",
                "Age",
                "VolumeMode*"
            ]
        );
        let pvc = json!({
            "metadata": {"name": "www-web-0", "creationTimestamp": "2026-11-25T14:29:52Z"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                     "resources": {"requests": {"storage": "1Gi"}},
                     "volumeName": "pvc-e445a823-3dae-48bd-bdb8-bb6ae05a2339",
                     "volumeMode": "Filesystem"},
            "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                       "capacity": {"storage": "1Gi"}}
        });
        assert_eq!(
            row("PersistentVolumeClaim", &pvc),
            [
                json!("www-web-0"),
                json!("Bound"),
                json!("pvc-e445a823-3dae-48bd-bdb8-bb6ae05a2339"),
                json!("1Gi"),
                json!("RWO"),
                json!("standard"),
                json!("<unset>"),
                json!("8s"),
                json!("Filesystem")
            ]
        );
    }

    #[test]
    fn pvc_pending_and_terminating() {
        let mut pvc = json!({
            "metadata": {"name": "data", "creationTimestamp": "2026-11-25T14:29:00Z",
                         "annotations": {"volume.beta.kubernetes.io/storage-class": "fast"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                     "volumeAttributesClassName": "gold", "volumeMode": "Block",
                     "resources": {"requests": {"storage": "5Gi"}}}
        });
        let r = row("PersistentVolumeClaim", &pvc);
        assert_eq!(
            r,
            [
                json!("data"),
                json!("Pending"),
                json!(""),
                json!(""),
                json!(""),
                json!("fast"),
                json!("gold"),
                json!("60s"),
                json!("Block")
            ]
        );
        pvc["metadata"]["deletionTimestamp"] = json!("2026-11-25T14:29:59Z");
        assert_eq!(row("PersistentVolumeClaim", &pvc)[1], "Terminating");
    }

    #[test]
    fn pv_row() {
        assert_eq!(
            names("PersistentVolume"),
            [
                "Name",
                "Capacity",
                "Access Modes",
                "Reclaim Policy",
                "Status",
                "Claim",
                "StorageClass",
                "VolumeAttributesClass",
                "Reason",
                "Age",
                "VolumeMode*"
            ]
        );
        let pv = json!({
            "metadata": {"name": "pvc-1", "creationTimestamp": "2026-11-25T13:00:00Z"},
            "spec": {"capacity": {"storage": "10Gi"},
                     "accessModes": ["ReadWriteOncePod", "ReadWriteMany", "ReadWriteOnce",
                                     "ReadOnlyMany", "ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
                     "claimRef": {"namespace": "default", "name": "www-web-0"}},
            "status": {"phase": "Bound"}
        });
        assert_eq!(
            row("PersistentVolume", &pv),
            [
                json!("pvc-1"),
                json!("10Gi"),
                json!("RWO,ROX,RWX,RWOP"),
                json!("Delete"),
                json!("Bound"),
                json!("default/www-web-0"),
                json!("standard"),
                json!("<unset>"),
                json!(""),
                json!("90m"),
                json!("Filesystem")
            ]
        );
        let bare = json!({"metadata": {"name": "v"}, "spec": {}});
        let r = row("PersistentVolume", &bare);
        assert_eq!(r[1], "0");
        assert_eq!(r[3], "Retain");
        assert_eq!(r[4], "Pending");
        assert_eq!(r[5], "");
    }

    #[test]
    fn storage_class_rows() {
        assert_eq!(
            names("StorageClass"),
            [
                "Name",
                "Provisioner",
                "ReclaimPolicy",
                "VolumeBindingMode",
                "AllowVolumeExpansion",
                "Age"
            ]
        );
        let sc = json!({
            "metadata": {"name": "standard", "creationTimestamp": "2026-11-20T14:30:00Z",
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path",
            "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"
        });
        assert_eq!(
            row("StorageClass", &sc),
            [
                json!("standard (default)"),
                json!("rancher.io/local-path"),
                json!("Delete"),
                json!("WaitForFirstConsumer"),
                json!(false),
                json!("5d")
            ]
        );
        let other = json!({"metadata": {"name": "fast",
                           "annotations": {"storageclass.beta.kubernetes.io/is-default-class": "false"}},
                           "provisioner": "csi.example.com", "allowVolumeExpansion": true});
        let r = row("StorageClass", &other);
        assert_eq!(r[0], "fast");
        assert_eq!(r[2], "Delete");
        assert_eq!(r[3], "Immediate");
        assert_eq!(r[4], true);
    }
}
