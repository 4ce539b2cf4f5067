//! Pod, PodSpec and pod-template validation (`ValidatePodCreate`, `ValidatePodSpec`,
//! `ValidatePodTemplateSpec`, `ValidatePodUpdate`).

use super::container::{self, local_descending_path};
use super::ephemeral;
use super::meta;
use super::names::{self, NameRule};
use super::storage;
use super::util::*;
use crate::status::Cause;
use serde_json::Value;
use std::collections::BTreeSet;

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const VOLUME_FIELD_PATHS: [&str; 5] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];
/// Volume sources in upstream's check order: (JSON key, path used in the "more than 1" error).
const VOLUME_SOURCES: [(&str, &str); 30] = [
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];
const UPDATABLE_POD_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Options of a PodSpec check.
#[derive(Clone, Copy, Default)]
pub(crate) struct PodOpts<'a> {
    /// The spec is a Pod's (not a template's).
    pub is_pod: bool,
    /// Extra volume names mounts may refer to (StatefulSet claim templates).
    pub extra_volumes: &'a [String],
}

/// `ValidatePodCreate`.
pub(crate) fn validate_pod_create(pod: &Value) -> Errs {
    let mut errs = validate_pod_meta_and_spec(pod);
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    if !arr(spec, "ephemeralContainers").is_empty() {
        errs.push(Cause::forbidden(
            "spec.ephemeralContainers",
            "cannot be set on create",
        ));
    }
    if !se(spec, "nodeName").is_empty() && !arr(spec, "schedulingGates").is_empty() {
        errs.push(Cause::forbidden(
            "spec.nodeName",
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
    errs
}

/// `validatePodMetadataAndSpec`: object meta and the pod's spec.
pub(crate) fn validate_pod_meta_and_spec(pod: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(pod, Some(true), NameRule::Subdomain);
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    errs.extend(validate_pod_spec(
        spec,
        "spec",
        PodOpts {
            is_pod: true,
            ..Default::default()
        },
    ));
    for k in ["containers", "initContainers"] {
        for (i, c) in arr(spec, k).iter().enumerate() {
            let image = se(c, "image");
            if image.trim() != image {
                errs.push(invalid_str(
                    child(&index(&child("spec", k), i), "image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    errs
}

/// `ValidatePodTemplateSpec` of `template` at `path` (labels, annotations, spec).
pub(crate) fn validate_pod_template(template: &Value, path: &str, opts: PodOpts) -> Errs {
    let md = template.get("metadata").unwrap_or(&Value::Null);
    let mut errs = meta::validate_labels(md.get("labels"), &child(path, "labels"));
    errs.extend(meta::validate_annotations(
        md.get("annotations"),
        &child(path, "annotations"),
    ));
    let spec = template.get("spec").unwrap_or(&Value::Null);
    errs.extend(validate_pod_spec(spec, &child(path, "spec"), opts));
    if !arr(spec, "ephemeralContainers").is_empty() {
        errs.push(Cause::forbidden(
            child(&child(path, "spec"), "ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

/// `ValidatePodSpec`.
pub(crate) fn validate_pod_spec(spec: &Value, path: &str, opts: PodOpts) -> Errs {
    let mut errs = Errs::new();
    let grace = int(spec, "terminationGracePeriodSeconds");
    if present(spec, "terminationGracePeriodSeconds").is_none() {
        errs.push(Cause::required(
            child(path, "terminationGracePeriodSeconds"),
            "",
        ));
    }
    let (mut vols, verrs) = validate_volumes(arr(spec, "volumes"), &child(path, "volumes"));
    errs.extend(verrs);
    vols.extend(opts.extra_volumes.iter().cloned());
    errs.extend(validate_containers(spec, &vols, grace, path));
    errs.extend(host_network_ports(spec, path, opts.is_pod));
    match se(spec, "restartPolicy") {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(Cause::required(child(path, "restartPolicy"), "")),
        other => errs.push(Cause::not_supported(
            child(path, "restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    let dns = se(spec, "dnsPolicy");
    match dns {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(Cause::required(child(path, "dnsPolicy"), "")),
        other => errs.push(Cause::not_supported(
            child(path, "dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    errs.extend(meta::validate_labels(
        spec.get("nodeSelector"),
        &child(path, "nodeSelector"),
    ));
    if let Some(sc) = present(spec, "securityContext") {
        errs.extend(container::validate_ids(sc, &child(path, "securityContext")));
    }
    for (i, s) in arr(spec, "imagePullSecrets").iter().enumerate() {
        if s.as_object().is_some_and(|o| o.keys().any(|k| k != "name")) {
            errs.push(Cause::invalid(
                index(&child(path, "imagePullSecrets"), i),
                "core.LocalObjectReference{...}",
                "only name may be set",
            ));
        }
    }
    errs.extend(validate_dns_config(spec, dns, &child(path, "dnsConfig")));
    for (i, g) in arr(spec, "readinessGates").iter().enumerate() {
        let ct = se(g, "conditionType");
        for m in names::qualified_name(ct) {
            errs.push(invalid_str(
                child(&index(&child(path, "readinessGates"), i), "conditionType"),
                ct,
                &m,
            ));
        }
    }
    let mut gates = BTreeSet::new();
    for (i, g) in arr(spec, "schedulingGates").iter().enumerate() {
        let n = se(g, "name");
        let p = index(&child(path, "schedulingGates"), i);
        for m in names::qualified_name(n) {
            errs.push(invalid_str(&p, n, &m));
        }
        if !gates.insert(n) {
            errs.push(Cause::duplicate(&p, q(n)));
        }
    }
    for k in ["serviceAccountName", "nodeName"] {
        let v = se(spec, k);
        if !v.is_empty() {
            for m in names::dns1123_subdomain(v) {
                errs.push(invalid_str(child(path, k), v, &m));
            }
        }
    }
    if let Some(ads) = int(spec, "activeDeadlineSeconds") {
        if !(1..=i32::MAX as i64).contains(&ads) {
            errs.push(Cause::invalid(
                child(path, "activeDeadlineSeconds"),
                ads,
                &names::inclusive_range_error(1, i32::MAX as i64),
            ));
        }
    }
    for k in ["hostname", "subdomain"] {
        let v = se(spec, k);
        if !v.is_empty() {
            for m in names::dns1123_label(v) {
                errs.push(invalid_str(child(path, k), v, &m));
            }
        }
    }
    errs.extend(validate_tolerations(
        arr(spec, "tolerations"),
        &child(path, "tolerations"),
    ));
    for (i, h) in arr(spec, "hostAliases").iter().enumerate() {
        let p = index(&child(path, "hostAliases"), i);
        let ip = se(h, "ip");
        if !names::is_ip(ip) {
            errs.push(invalid_str(child(&p, "ip"), ip, names::INVALID_IP));
        }
        for (j, hn) in arr(h, "hostnames").iter().enumerate() {
            let hn = hn.as_str().unwrap_or("");
            for m in names::dns1123_subdomain(hn) {
                errs.push(invalid_str(index(&child(&p, "hostnames"), j), hn, &m));
            }
        }
    }
    let pc = se(spec, "priorityClassName");
    if !pc.is_empty() {
        for m in names::dns1123_subdomain(pc) {
            errs.push(invalid_str(child(path, "priorityClassName"), pc, &m));
        }
    }
    if let Some(pp) = s(spec, "preemptionPolicy") {
        match pp {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(Cause::required(child(path, "preemptionPolicy"), "")),
            other => errs.push(Cause::not_supported(
                child(path, "preemptionPolicy"),
                other,
                &["PreemptLowerPriority", "Never"],
            )),
        }
    }
    errs
}

fn validate_containers(
    spec: &Value,
    vols: &BTreeSet<String>,
    grace: Option<i64>,
    path: &str,
) -> Errs {
    let mut errs = Errs::new();
    let containers = arr(spec, "containers");
    let cpath = child(path, "containers");
    let mut all_names = BTreeSet::new();
    if containers.is_empty() {
        errs.push(Cause::required(&cpath, ""));
    } else {
        for (i, c) in containers.iter().enumerate() {
            let p = index(&cpath, i);
            errs.extend(container::validate_common(c, vols, &p));
            if !all_names.insert(se(c, "name").to_string()) {
                errs.push(Cause::duplicate(child(&p, "name"), q(se(c, "name"))));
            }
            errs.extend(container::validate_probes_and_lifecycle(c, grace, &p));
            if present(c, "restartPolicy").is_some() {
                errs.push(Cause::forbidden(
                    child(&p, "restartPolicy"),
                    "may not be set for non-init containers",
                ));
            }
        }
        errs.extend(container::host_port_conflicts(containers, &cpath));
    }
    let ipath = child(path, "initContainers");
    for (i, c) in arr(spec, "initContainers").iter().enumerate() {
        let p = index(&ipath, i);
        errs.extend(container::validate_common(c, vols, &p));
        let restart_always = match s(c, "restartPolicy") {
            Some("Always") => true,
            Some(other) => {
                errs.push(Cause::not_supported(
                    child(&p, "restartPolicy"),
                    other,
                    &["Always"],
                ));
                false
            }
            None => false,
        };
        let name = se(c, "name");
        if all_names.contains(name) {
            errs.push(Cause::duplicate(child(&p, "name"), q(name)));
        } else if !name.is_empty() {
            all_names.insert(name.to_string());
        }
        errs.extend(container::host_port_conflicts(
            std::slice::from_ref(c),
            &ipath,
        ));
        if restart_always {
            errs.extend(container::validate_probes_and_lifecycle(c, grace, &p));
        } else {
            for k in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if present(c, k).is_some() {
                    errs.push(Cause::forbidden(
                        child(&p, k),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
    }
    errs.extend(ephemeral::validate_ephemeral_containers(
        spec,
        vols,
        &child(path, "ephemeralContainers"),
    ));
    errs
}

fn host_network_ports(spec: &Value, path: &str, is_pod: bool) -> Errs {
    let mut errs = Errs::new();
    if !flag(spec, "hostNetwork") {
        return errs;
    }
    for (i, c) in arr(spec, "containers").iter().enumerate() {
        for (j, p) in arr(c, "ports").iter().enumerate() {
            let (hp, cp) = (
                int(p, "hostPort").unwrap_or(0),
                int(p, "containerPort").unwrap_or(0),
            );
            if (is_pod || hp != 0) && hp != cp {
                let f = child(
                    &index(&child(&index(&child(path, "containers"), i), "ports"), j),
                    "hostPort",
                );
                errs.push(Cause::invalid(
                    f,
                    hp,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
    errs
}

fn validate_dns_config(spec: &Value, dns_policy: &str, path: &str) -> Errs {
    let mut errs = Errs::new();
    let cfg = present(spec, "dnsConfig");
    if dns_policy == "None" {
        match cfg {
            None => {
                return vec![Cause::required(
                    path,
                    "must provide `dnsConfig` when `dnsPolicy` is None",
                )]
            }
            Some(c) if arr(c, "nameservers").is_empty() => {
                return vec![Cause::required(
                    child(path, "nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )]
            }
            _ => {}
        }
    }
    if let Some(c) = cfg {
        let ns = arr(c, "nameservers");
        if ns.len() > 3 {
            errs.push(Cause::invalid(
                child(path, "nameservers"),
                go_strings(c.get("nameservers")),
                "must not have more than 3 nameservers",
            ));
        }
        for (i, n) in ns.iter().enumerate() {
            let n = n.as_str().unwrap_or("");
            if !names::is_ip(n) {
                errs.push(invalid_str(
                    index(&child(path, "nameservers"), i),
                    n,
                    names::INVALID_IP,
                ));
            }
        }
        for (i, o) in arr(c, "options").iter().enumerate() {
            if se(o, "name").is_empty() {
                errs.push(Cause::required(
                    index(&child(path, "options"), i),
                    "must not be empty",
                ));
            }
        }
    }
    errs
}

/// `ValidateTolerations`.
pub(crate) fn validate_tolerations(tolerations: &[Value], path: &str) -> Errs {
    let mut errs = Errs::new();
    for (i, t) in tolerations.iter().enumerate() {
        let p = index(path, i);
        let (k, op, v, eff) = (
            se(t, "key"),
            se(t, "operator"),
            se(t, "value"),
            se(t, "effect"),
        );
        if !k.is_empty() {
            errs.extend(meta::validate_label_name(k, &child(&p, "key")));
        }
        if k.is_empty() && op != "Exists" {
            errs.push(invalid_str(
                child(&p, "operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if present(t, "tolerationSeconds").is_some() && eff != "NoExecute" {
            errs.push(invalid_str(
                child(&p, "effect"),
                eff,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "Equal" | "" => {
                let msgs = names::label_value(v);
                if !msgs.is_empty() {
                    errs.push(invalid_str(child(&p, "operator"), v, &msgs.join(";")));
                }
            }
            "Exists" if !v.is_empty() => errs.push(invalid_str(
                child(&p, "operator"),
                v,
                "value must be empty when `operator` is 'Exists'",
            )),
            "Exists" => {}
            other => errs.push(Cause::not_supported(
                child(&p, "operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if !eff.is_empty() && !matches!(eff, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            errs.push(Cause::not_supported(
                child(&p, "effect"),
                eff,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
    errs
}

/// `ValidateVolumes`: the names of the valid volumes and the errors.
fn validate_volumes(volumes: &[Value], path: &str) -> (BTreeSet<String>, Errs) {
    let mut names_ok = BTreeSet::new();
    let mut errs = Errs::new();
    for (i, vol) in volumes.iter().enumerate() {
        let p = index(path, i);
        let name = se(vol, "name");
        let mut el = validate_volume_source(vol, &p);
        if name.is_empty() {
            el.push(Cause::required(child(&p, "name"), ""));
        } else {
            for m in names::dns1123_label(name) {
                el.push(invalid_str(child(&p, "name"), name, &m));
            }
        }
        if names_ok.contains(name) {
            el.push(Cause::duplicate(child(&p, "name"), q(name)));
        }
        if el.is_empty() {
            names_ok.insert(name.to_string());
        } else {
            errs.extend(el);
        }
    }
    (names_ok, errs)
}

fn validate_volume_source(vol: &Value, path: &str) -> Errs {
    let mut errs = Errs::new();
    let mut n = 0;
    for (k, err_key) in VOLUME_SOURCES {
        let Some(src) = present(vol, k) else { continue };
        if n > 0 {
            errs.push(Cause::forbidden(
                child(path, err_key),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        n += 1;
        let p = child(path, k);
        let required = |errs: &mut Errs, field: &str| {
            if se(src, field).is_empty() {
                errs.push(Cause::required(child(&p, field), ""));
            }
        };
        match k {
            "hostPath" => {
                required(&mut errs, "path");
                if src
                    .get("path")
                    .and_then(Value::as_str)
                    .is_some_and(|x| x.split('/').any(|s| s == ".."))
                {
                    errs.push(invalid_str(
                        child(&p, "path"),
                        se(src, "path"),
                        "must not contain '..'",
                    ));
                }
            }
            "secret" => {
                required(&mut errs, "secretName");
                errs.extend(file_modes(src, &p));
            }
            "configMap" => {
                required(&mut errs, "name");
                errs.extend(file_modes(src, &p));
            }
            "persistentVolumeClaim" => required(&mut errs, "claimName"),
            "nfs" => {
                required(&mut errs, "server");
                required(&mut errs, "path");
                if !se(src, "path").starts_with('/') {
                    errs.push(invalid_str(
                        child(&p, "path"),
                        se(src, "path"),
                        "must be an absolute path",
                    ));
                }
            }
            "csi" => required(&mut errs, "driver"),
            "downwardAPI" => {
                file_mode(&mut errs, src, "defaultMode", &p);
                for (i, item) in arr(src, "items").iter().enumerate() {
                    errs.extend(downward_api_file(item, &index(&child(&p, "items"), i)));
                }
            }
            "projected" => errs.extend(file_modes(src, &p)),
            "ephemeral" => match present(src, "volumeClaimTemplate") {
                None => errs.push(Cause::required(child(&p, "volumeClaimTemplate"), "")),
                Some(t) => {
                    let sp = child(&child(&p, "volumeClaimTemplate"), "spec");
                    errs.extend(storage::validate_pvc_spec(
                        t.get("spec").unwrap_or(&Value::Null),
                        &sp,
                    ));
                }
            },
            _ => {}
        }
    }
    if n == 0 {
        errs.push(Cause::required(path, "must specify a volume type"));
    }
    errs
}

fn file_mode(errs: &mut Errs, v: &Value, k: &str, path: &str) {
    if let Some(m) = int(v, k) {
        if !(0..=0o777).contains(&m) {
            errs.push(Cause::invalid(child(path, k), m, FILE_MODE_MSG));
        }
    }
}

/// `defaultMode` and `items[*]` (`validateKeyToPath`) of a secret/configMap/projected source.
fn file_modes(src: &Value, path: &str) -> Errs {
    let mut errs = Errs::new();
    file_mode(&mut errs, src, "defaultMode", path);
    for (i, kp) in arr(src, "items").iter().enumerate() {
        let p = index(&child(path, "items"), i);
        if se(kp, "key").is_empty() {
            errs.push(Cause::required(child(&p, "key"), ""));
        }
        errs.extend(local_path(kp, &p));
        file_mode(&mut errs, kp, "mode", &p);
    }
    errs
}

/// `path` required and `ValidateLocalNonReservedPath`.
fn local_path(item: &Value, p: &str) -> Errs {
    let mut errs = Errs::new();
    let target = se(item, "path");
    if target.is_empty() {
        errs.push(Cause::required(child(p, "path"), ""));
    }
    errs.extend(local_descending_path(target, &child(p, "path")));
    if target.starts_with("..") && !target.starts_with("../") {
        errs.push(invalid_str(
            child(p, "path"),
            target,
            "must not start with '..'",
        ));
    }
    errs
}

fn downward_api_file(item: &Value, path: &str) -> Errs {
    let mut errs = local_path(item, path);
    match (present(item, "fieldRef"), present(item, "resourceFieldRef")) {
        (Some(fr), rr) => {
            errs.extend(container::validate_field_ref(
                fr,
                &VOLUME_FIELD_PATHS,
                &child(path, "fieldRef"),
            ));
            if rr.is_some() {
                errs.push(invalid_str(
                    path,
                    "resource",
                    "fieldRef and resourceFieldRef can not be specified simultaneously",
                ));
            }
        }
        (None, Some(rr)) => errs.extend(container::validate_resource_field_ref(
            rr,
            true,
            &child(path, "resourceFieldRef"),
        )),
        (None, None) => errs.push(Cause::required(
            path,
            "one of fieldRef and resourceFieldRef is required",
        )),
    }
    file_mode(&mut errs, item, "mode", path);
    errs
}

/// `ValidatePodUpdate`: only images, `activeDeadlineSeconds`, added tolerations, removed
/// scheduling gates and a negative grace period set to 1 may change.
pub(crate) fn validate_pod_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_pod_meta_and_spec(new));
    let null = Value::Null;
    let (ns, os) = (
        new.get("spec").unwrap_or(&null),
        old.get("spec").unwrap_or(&null),
    );
    for k in ["containers", "initContainers"] {
        let (nc, oc) = (arr(ns, k), arr(os, k));
        let p = child("spec", k);
        if nc.len() != oc.len() {
            errs.push(Cause::forbidden(
                p,
                "pod updates may not add or remove containers",
            ));
            return errs;
        }
        for (i, c) in nc.iter().enumerate() {
            if se(c, "image").is_empty() {
                errs.push(Cause::required(child(&index(&p, i), "image"), ""));
            }
        }
    }
    let ads_path = "spec.activeDeadlineSeconds";
    match (
        int(ns, "activeDeadlineSeconds"),
        int(os, "activeDeadlineSeconds"),
    ) {
        (Some(n), _) if !(0..=i32::MAX as i64).contains(&n) => {
            errs.push(Cause::invalid(
                ads_path,
                n,
                &names::inclusive_range_error(0, i32::MAX as i64),
            ));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(Cause::invalid(
                ads_path,
                n,
                "must be less than or equal to previous value",
            ));
            return errs;
        }
        (None, Some(_)) => errs.push(Cause::invalid(
            ads_path,
            "null",
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }
    let (nt, ot) = (arr(ns, "tolerations"), arr(os, "tolerations"));
    let strip = |t: &Value| {
        let mut t = normalize(t);
        t.as_object_mut().map(|o| o.remove("tolerationSeconds"));
        t
    };
    if !ot.iter().all(|o| nt.iter().any(|n| strip(n) == strip(o))) {
        errs.push(Cause::forbidden(
            "spec.tolerations",
            "existing toleration can not be modified except its tolerationSeconds",
        ));
    } else {
        errs.extend(validate_tolerations(nt, "spec.tolerations"));
    }
    let old_gates: Vec<&str> = arr(os, "schedulingGates")
        .iter()
        .map(|g| se(g, "name"))
        .collect();
    for (i, g) in arr(ns, "schedulingGates").iter().enumerate() {
        if !old_gates.contains(&se(g, "name")) {
            errs.push(Cause::forbidden(
                child(&index("spec.schedulingGates", i), "name"),
                &format!(
                    "only deletion is allowed, but found new scheduling gate '{}'",
                    se(g, "name")
                ),
            ));
        }
    }
    if sem_eq(Some(ns), Some(os)) {
        return errs;
    }
    let mut munged = ns.clone();
    for k in ["containers", "initContainers"] {
        if let Some(cs) = munged.get_mut(k).and_then(Value::as_array_mut) {
            for (i, c) in cs.iter_mut().enumerate() {
                c["image"] = arr(os, k)[i].get("image").cloned().unwrap_or(Value::Null);
            }
        }
    }
    for k in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        match os.get(k) {
            Some(v) => munged[k] = v.clone(),
            None => {
                munged.as_object_mut().map(|o| o.remove(k));
            }
        }
    }
    if int(os, "terminationGracePeriodSeconds").is_some_and(|g| g < 0)
        && int(&munged, "terminationGracePeriodSeconds") == Some(1)
    {
        munged["terminationGracePeriodSeconds"] = os["terminationGracePeriodSeconds"].clone();
    }
    if !sem_eq(Some(&munged), Some(os)) {
        let diff = spec_diff("core.PodSpec", Some(os), Some(&munged));
        errs.push(Cause::forbidden(
            "spec",
            &format!("pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n{diff}"),
        ));
    }
    errs
}
