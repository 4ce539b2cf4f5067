//! Ephemeral containers: `validateEphemeralContainers` (part of `ValidatePodSpec`) and
//! `ValidatePodEphemeralContainersUpdate` (the `pods/ephemeralcontainers` subresource).

use super::container;
use super::meta;
use super::util::*;
use crate::status::Cause;
use serde_json::Value;
use std::collections::BTreeSet;

/// `EphemeralContainerCommon` fields an ephemeral container may not set (upstream's
/// `allowedEphemeralContainerFields` holds the others), with their JSON names.
const FORBIDDEN_FIELDS: [&str; 8] = [
    "ports",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
];
const NOT_FOR_EPHEMERAL: &str = "cannot be set for an Ephemeral Container";

/// Whether `v` differs from its Go zero value (absent, null, `{}`, `[]`, `""`, `0`, `false`).
fn is_set(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
    }
}

/// `validateEphemeralContainers` of `spec.ephemeralContainers` at `path`: the common container
/// rules, names unique across every container of the pod, a `targetContainerName` naming a
/// regular or init container, no field outside the allow list and no `subPath`/`subPathExpr`.
pub(crate) fn validate_ephemeral_containers(
    spec: &Value,
    vols: &BTreeSet<String>,
    path: &str,
) -> Errs {
    let mut errs = Errs::new();
    let ephemeral = arr(spec, "ephemeralContainers");
    if ephemeral.is_empty() {
        return errs;
    }
    let other: BTreeSet<&str> = ["containers", "initContainers"]
        .iter()
        .flat_map(|k| arr(spec, k).iter().map(|c| se(c, "name")))
        .collect();
    let mut all = other.clone();
    for (i, c) in ephemeral.iter().enumerate() {
        let p = index(path, i);
        errs.extend(container::validate_common(c, vols, &p));
        let image = se(c, "image");
        if image.trim() != image {
            errs.push(invalid_str(
                child(&p, "image"),
                image,
                "must not have leading or trailing whitespace",
            ));
        }
        let name = se(c, "name");
        if !all.insert(name) {
            errs.push(Cause::duplicate(child(&p, "name"), q(name)));
        }
        let target = se(c, "targetContainerName");
        if !target.is_empty() && !other.contains(target) {
            errs.push(not_found(child(&p, "targetContainerName"), target));
        }
        for f in FORBIDDEN_FIELDS {
            if is_set(c.get(f)) {
                errs.push(Cause::forbidden(child(&p, f), NOT_FOR_EPHEMERAL));
            }
        }
        for (j, m) in arr(c, "volumeMounts").iter().enumerate() {
            for k in ["subPath", "subPathExpr"] {
                if !se(m, k).is_empty() {
                    errs.push(Cause::forbidden(
                        child(&index(&child(&p, "volumeMounts"), j), k),
                        NOT_FOR_EPHEMERAL,
                    ));
                }
            }
        }
    }
    errs
}

/// `ValidatePodEphemeralContainersUpdate`: `new` is `old` with only its
/// `spec.ephemeralContainers` replaced (the subresource's strategy); the pod must still be
/// valid, and existing ephemeral containers may be neither removed nor changed.
pub(crate) fn validate_ephemeral_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(super::pod::validate_pod_meta_and_spec(new));
    if old
        .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
        .is_some()
    {
        return vec![Cause::forbidden(
            "",
            "static pods do not support ephemeral containers",
        )];
    }
    let null = Value::Null;
    let spec_path = "spec.ephemeralContainers";
    let new_list = arr(new.get("spec").unwrap_or(&null), "ephemeralContainers");
    for o in arr(old.get("spec").unwrap_or(&null), "ephemeralContainers") {
        let name = se(o, "name");
        match new_list.iter().find(|n| se(n, "name") == name) {
            None => errs.push(Cause::forbidden(
                spec_path,
                &format!(
                    "existing ephemeral containers {} may not be removed\n",
                    q(name)
                ),
            )),
            Some(n) if !sem_eq(Some(o), Some(n)) => {
                let diff = spec_diff("core.EphemeralContainer", Some(o), Some(n));
                errs.push(Cause::forbidden(
                    child(spec_path, name),
                    &format!(
                        "existing ephemeral containers {} may not be changed\n{diff}",
                        q(name)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    errs
}
