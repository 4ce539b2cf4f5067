//! PersistentVolume, PersistentVolumeClaim and StorageClass validation.

use super::meta;
use super::names::{self, NameRule};
use super::quantity;
use super::util::*;
use crate::status::Cause;
use serde_json::Value;

const ACCESS_MODES: [&str; 4] = [
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: [&str; 2] = ["Block", "Filesystem"];
/// The `PersistentVolumeSource` members of a PV spec.
const PV_SOURCES: [&str; 24] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "flocker",
    "nfs",
    "rbd",
    "quobyte",
    "cephfs",
    "iscsi",
    "cinder",
    "fc",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "scaleIO",
    "local",
    "storageos",
    "csi",
    "gitRepo",
    "secret",
];

fn validate_access_modes(spec: &Value, path: &str, required_detail: &str) -> Errs {
    let mut errs = Errs::new();
    let modes: Vec<&str> = arr(spec, "accessModes")
        .iter()
        .map(|m| m.as_str().unwrap_or(""))
        .collect();
    if modes.is_empty() {
        errs.push(Cause::required(child(path, "accessModes"), required_detail));
    }
    let (mut rwop, mut other) = (false, false);
    for m in &modes {
        if !ACCESS_MODES.contains(m) {
            errs.push(Cause::not_supported(
                child(path, "accessModes"),
                m,
                &ACCESS_MODES,
            ));
        } else if *m == "ReadWriteOncePod" {
            rwop = true;
        } else {
            other = true;
        }
    }
    if rwop && other {
        errs.push(Cause::forbidden(
            child(path, "accessModes"),
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    errs
}

fn validate_class_name(spec: &Value, k: &str, path: &str) -> Errs {
    let v = se(spec, k);
    if v.is_empty() {
        return vec![];
    }
    names::dns1123_subdomain(v)
        .iter()
        .map(|m| invalid_str(child(path, k), v, m))
        .collect()
}

fn validate_volume_mode(spec: &Value, path: &str) -> Errs {
    match s(spec, "volumeMode") {
        Some(m) if !VOLUME_MODES.contains(&m) => vec![Cause::not_supported(
            child(path, "volumeMode"),
            m,
            &VOLUME_MODES,
        )],
        _ => vec![],
    }
}

/// `ValidatePersistentVolumeClaimSpec` (also used for claim templates).
pub(crate) fn validate_pvc_spec(spec: &Value, path: &str) -> Errs {
    let mut errs = validate_access_modes(spec, path, "at least 1 access mode is required");
    if let Some(sel) = present(spec, "selector") {
        errs.extend(meta::validate_label_selector(
            Some(sel),
            &child(path, "selector"),
        ));
    }
    let storage_path = key(&child(path, "resources"), "storage");
    match spec
        .pointer("/resources/requests/storage")
        .filter(|v| !v.is_null())
    {
        None => errs.push(Cause::required(&storage_path, "")),
        Some(v) => match quantity::parse_json(v) {
            None => errs.push(invalid_str(
                &storage_path,
                &v.to_string(),
                "must be a valid resource quantity",
            )),
            Some(q) if q.nanos <= 0 => errs.push(invalid_str(
                &storage_path,
                &q.canonical(),
                "must be greater than zero",
            )),
            _ => {}
        },
    }
    errs.extend(validate_class_name(spec, "storageClassName", path));
    errs.extend(validate_volume_mode(spec, path));
    for k in ["dataSource", "dataSourceRef"] {
        if let Some(ds) = present(spec, k) {
            let p = child(path, k);
            if se(ds, "name").is_empty() {
                errs.push(Cause::required(child(&p, "name"), ""));
            }
            if se(ds, "kind").is_empty() {
                errs.push(Cause::required(child(&p, "kind"), ""));
            }
            if se(ds, "apiGroup").is_empty() && se(ds, "kind") != "PersistentVolumeClaim" {
                errs.push(invalid_str(
                    &p,
                    se(ds, "kind"),
                    "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
                ));
            }
        }
    }
    errs.extend(validate_class_name(spec, "volumeAttributesClassName", path));
    errs
}

/// `ValidatePersistentVolumeClaim`.
pub(crate) fn validate_pvc(pvc: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(pvc, Some(true), NameRule::Subdomain);
    errs.extend(validate_pvc_spec(
        pvc.get("spec").unwrap_or(&Value::Null),
        "spec",
    ));
    errs
}

fn storage_of(spec: &Value) -> Option<quantity::Quantity> {
    spec.pointer("/resources/requests/storage")
        .and_then(quantity::parse_json)
}

/// `ValidatePersistentVolumeClaimUpdate`: the spec is immutable except `volumeName` (once),
/// a `storageClassName` set from nil, and, for bound claims, `resources.requests` and
/// `volumeAttributesClassName`.
pub(crate) fn validate_pvc_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_pvc(new));
    let null = Value::Null;
    let (ns, os) = (
        new.get("spec").unwrap_or(&null),
        old.get("spec").unwrap_or(&null),
    );
    let (mut nc, mut oc) = (normalize(ns), normalize(os));
    if se(os, "volumeName").is_empty() {
        match nc.get("volumeName").cloned() {
            Some(v) => oc["volumeName"] = v,
            None => {
                oc.as_object_mut().map(|o| o.remove("volumeName"));
            }
        }
    }
    if present(os, "storageClassName").is_none() && present(ns, "storageClassName").is_some() {
        let ann = old
            .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
            .and_then(Value::as_str);
        if ann.is_none_or(|a| Some(a) == s(ns, "storageClassName")) {
            nc.as_object_mut().map(|o| o.remove("storageClassName"));
        }
    }
    let bound = new.pointer("/status/phase").and_then(Value::as_str) == Some("Bound");
    if bound {
        if nc.pointer("/resources/requests").is_some() {
            let old_storage = os
                .pointer("/resources/requests/storage")
                .cloned()
                .unwrap_or(Value::Null);
            nc["resources"]["requests"]["storage"] = normalize(&old_storage);
        }
        if nc.get("volumeAttributesClassName").is_some() {
            nc["volumeAttributesClassName"] = oc
                .get("volumeAttributesClassName")
                .cloned()
                .unwrap_or(Value::Null);
        }
    }
    if !sem_eq(Some(&nc), Some(&oc)) {
        let diff = spec_diff("core.PersistentVolumeClaimSpec", Some(&oc), Some(&nc));
        errs.push(Cause::forbidden(
            "spec",
            &format!("spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{diff}"),
        ));
    }
    if let (Some(n), Some(o)) = (storage_of(ns), storage_of(os)) {
        if n.nanos < o.nanos {
            let status = old
                .pointer("/status/capacity/storage")
                .and_then(quantity::parse_json)
                .map(|q| q.nanos)
                .unwrap_or(0);
            if n.nanos <= status {
                errs.push(Cause::forbidden(
                    "spec.resources.requests.storage",
                    "field can not be less than status.capacity",
                ));
            }
        }
    }
    if s(ns, "volumeMode") != s(os, "volumeMode") {
        errs.push(Cause::invalid(
            "volumeMode",
            s(ns, "volumeMode").map(q).unwrap_or("null".into()),
            "field is immutable",
        ));
    }
    if present(os, "volumeAttributesClassName").is_some() {
        match s(ns, "volumeAttributesClassName") {
            None => errs.push(Cause::forbidden(
                "spec.volumeAttributesClassName",
                "update from non-nil value to nil is forbidden",
            )),
            Some("") => errs.push(Cause::forbidden(
                "spec.volumeAttributesClassName",
                "update from non-nil value to an empty string is forbidden",
            )),
            _ => {}
        }
    }
    errs
}

/// `ValidatePersistentVolume`.
pub(crate) fn validate_pv(pv: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(pv, Some(false), NameRule::Subdomain);
    let spec = pv.get("spec").unwrap_or(&Value::Null);
    let path = "spec";
    errs.extend(validate_access_modes(spec, path, ""));
    let cap = obj(spec, "capacity");
    if cap.is_none_or(|c| c.is_empty()) {
        errs.push(Cause::required(child(path, "capacity"), ""));
    }
    if cap.is_none_or(|c| !c.contains_key("storage") || c.len() > 1) {
        let value = match cap {
            None => "core.ResourceList(nil)".to_string(),
            Some(c) => {
                let keys: Vec<String> = c
                    .keys()
                    .map(|k| format!("{}:resource.Quantity{{...}}", q(k)))
                    .collect();
                format!("core.ResourceList{{{}}}", keys.join(", "))
            }
        };
        errs.push(not_supported_fmt(
            child(path, "capacity"),
            &value,
            &["storage"],
        ));
    }
    if let Some(c) = cap {
        for (k, v) in c {
            let p = key(&child(path, "capacity"), k);
            match quantity::parse_json(v) {
                Some(q) if q.nanos > 0 => {}
                Some(q) => errs.push(invalid_str(p, &q.canonical(), "must be greater than zero")),
                None => errs.push(invalid_str(
                    p,
                    &v.to_string(),
                    "must be a valid resource quantity",
                )),
            }
        }
    }
    match s(spec, "persistentVolumeReclaimPolicy") {
        Some(p) if !p.is_empty() && !matches!(p, "Delete" | "Recycle" | "Retain") => {
            errs.push(Cause::not_supported(
                child(path, "persistentVolumeReclaimPolicy"),
                p,
                &["Delete", "Recycle", "Retain"],
            ))
        }
        _ => {}
    }
    let mut n = 0;
    for k in PV_SOURCES
        .iter()
        .filter(|k| !matches!(**k, "gitRepo" | "secret"))
    {
        if let Some(src) = present(spec, k) {
            if n > 0 {
                errs.push(Cause::forbidden(
                    child(path, k),
                    "may not specify more than 1 volume type",
                ));
                continue;
            }
            n += 1;
            let p = child(path, k);
            match *k {
                "hostPath" | "local" if se(src, "path").is_empty() => {
                    errs.push(Cause::required(child(&p, "path"), ""))
                }
                "nfs" => {
                    for f in ["server", "path"] {
                        if se(src, f).is_empty() {
                            errs.push(Cause::required(child(&p, f), ""));
                        }
                    }
                }
                "csi" => {
                    if se(src, "driver").is_empty() {
                        errs.push(Cause::required(child(&p, "driver"), ""));
                    }
                    if se(src, "volumeHandle").is_empty() {
                        errs.push(Cause::required(child(&p, "volumeHandle"), ""));
                    }
                }
                _ => {}
            }
            if *k == "local" && present(spec, "nodeAffinity").is_none() {
                errs.push(Cause::required(
                    child(path, "nodeAffinity"),
                    "Local volume requires node affinity",
                ));
            }
        }
    }
    if n == 0 {
        errs.push(Cause::required(path, "must specify a volume type"));
    }
    errs.extend(validate_class_name(spec, "storageClassName", path));
    errs.extend(validate_volume_mode(spec, path));
    errs
}

/// `ValidatePersistentVolumeUpdate`: the volume source and `volumeMode` are immutable.
pub(crate) fn validate_pv_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_pv(new));
    let null = Value::Null;
    let (ns, os) = (
        new.get("spec").unwrap_or(&null),
        old.get("spec").unwrap_or(&null),
    );
    let pick = |spec: &Value| -> Value {
        let mut m = serde_json::Map::new();
        for k in PV_SOURCES {
            if let Some(v) = present(spec, k) {
                m.insert(k.to_string(), v.clone());
            }
        }
        Value::Object(m)
    };
    let (nsrc, osrc) = (pick(ns), pick(os));
    if !sem_eq(Some(&nsrc), Some(&osrc)) {
        let diff = spec_diff("core.PersistentVolumeSource", Some(&osrc), Some(&nsrc));
        errs.push(Cause::forbidden(
            "spec.persistentvolumesource",
            &format!("spec.persistentvolumesource is immutable after creation\n{diff}"),
        ));
    }
    if s(ns, "volumeMode") != s(os, "volumeMode") {
        errs.push(Cause::invalid(
            "volumeMode",
            s(ns, "volumeMode").map(q).unwrap_or("null".into()),
            "field is immutable",
        ));
    }
    if present(os, "nodeAffinity").is_some()
        && !sem_eq(ns.get("nodeAffinity"), os.get("nodeAffinity"))
    {
        errs.push(Cause::invalid(
            "nodeAffinity",
            "core.VolumeNodeAffinity{...}",
            "field is immutable, except for updating from beta label to GA",
        ));
    }
    errs
}

/// `ValidateStorageClass`.
pub(crate) fn validate_storage_class(sc: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(sc, Some(false), NameRule::Subdomain);
    let prov = se(sc, "provisioner");
    if prov.is_empty() {
        errs.push(Cause::required("provisioner", ""));
    } else {
        for m in names::qualified_name(&prov.to_lowercase()) {
            errs.push(invalid_str("provisioner", &prov.to_lowercase(), &m));
        }
    }
    let params = obj(sc, "parameters");
    if params.is_some_and(|p| p.len() > 512) {
        errs.push(too_many("parameters", params.unwrap().len(), 512));
    }
    if params.is_some_and(|p| p.contains_key("")) {
        errs.push(Cause::invalid(
            "parameters",
            go_map(sc.get("parameters")),
            "key cannot be empty",
        ));
    }
    match s(sc, "reclaimPolicy") {
        Some(p) if !p.is_empty() && !matches!(p, "Delete" | "Retain") => errs.push(
            Cause::not_supported("reclaimPolicy", p, &["Delete", "Retain"]),
        ),
        _ => {}
    }
    match s(sc, "volumeBindingMode") {
        None => errs.push(Cause::required("volumeBindingMode", "")),
        Some(m) if !matches!(m, "Immediate" | "WaitForFirstConsumer") => {
            errs.push(Cause::not_supported(
                "volumeBindingMode",
                m,
                &["Immediate", "WaitForFirstConsumer"],
            ))
        }
        _ => {}
    }
    errs
}

/// `ValidateStorageClassUpdate`: parameters, provisioner, reclaimPolicy and binding mode are fixed.
pub(crate) fn validate_storage_class_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    if !sem_eq(new.get("parameters"), old.get("parameters")) {
        errs.push(Cause::forbidden(
            "parameters",
            "updates to parameters are forbidden.",
        ));
    }
    if se(new, "provisioner") != se(old, "provisioner") {
        errs.push(Cause::forbidden(
            "provisioner",
            "updates to provisioner are forbidden.",
        ));
    }
    if se(new, "reclaimPolicy") != se(old, "reclaimPolicy") {
        errs.push(Cause::forbidden(
            "reclaimPolicy",
            "updates to reclaimPolicy are forbidden.",
        ));
    }
    immutable_str(
        &mut errs,
        "volumeBindingMode",
        se(new, "volumeBindingMode"),
        se(old, "volumeBindingMode"),
    );
    errs
}
