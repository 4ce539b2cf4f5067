//! StatefulSet (R7–R18), Deployment, ReplicaSet and ControllerRevision validation.

use super::meta;
use super::names::{self, NameRule};
use super::pod::{self, PodOpts};
use super::quantity;
use super::storage;
use super::util::*;
use crate::status::Cause;
use serde_json::Value;

const STS_UPDATE_FORBIDDEN: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

pub(super) fn spec_of(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// Selector presence/format checks shared by the workloads; returns whether the selector
/// converts to a `labels.Selector` and the errors. `kind` names the "empty selector" message.
pub(super) fn validate_selector(spec: &Value, kind: &str, errs: &mut Errs) -> bool {
    match present(spec, "selector") {
        None => {
            errs.push(Cause::required("spec.selector", ""));
            true
        }
        Some(sel) => {
            let serrs = meta::validate_label_selector(Some(sel), "spec.selector");
            let ok = serrs.is_empty();
            errs.extend(serrs);
            if meta::selector_is_empty(sel) {
                let detail = format!("empty selector is invalid for {kind}");
                errs.push(Cause::invalid(
                    "spec.selector",
                    go_selector(Some(sel)),
                    &detail,
                ));
            }
            ok
        }
    }
}

/// The template's labels must satisfy the selector (a missing selector matches nothing).
pub(super) fn selector_matches_template(spec: &Value, errs: &mut Errs) {
    let labels = spec.pointer("/template/metadata/labels");
    let sel = present(spec, "selector");
    let matches = match sel {
        None => false,
        Some(s) if meta::selector_is_empty(s) => true,
        Some(s) => meta::selector_matches(s, labels),
    };
    if !matches {
        errs.push(Cause::invalid(
            "spec.template.metadata.labels",
            go_map(labels.filter(|l| !l.is_null())),
            "`selector` does not match template `labels`",
        ));
    }
}

pub(super) fn restart_always(spec: &Value, workload: &str, errs: &mut Errs) {
    let rp = spec
        .pointer("/template/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("");
    if rp != "Always" {
        errs.push(Cause::not_supported(
            "spec.template.spec.restartPolicy",
            rp,
            &["Always"],
        ));
    }
    if spec
        .pointer("/template/spec/activeDeadlineSeconds")
        .is_some_and(|v| !v.is_null())
    {
        errs.push(Cause::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            &format!("activeDeadlineSeconds in {workload} is not Supported"),
        ));
    }
}

/// `ValidatePositiveIntOrPercent` plus `IsNotMoreThan100Percent`; returns the int-or-percent value.
pub(crate) fn int_or_percent(v: &Value, path: &str, errs: &mut Errs) -> i64 {
    match v {
        Value::String(s) => {
            let msgs = names::percent(s);
            for m in &msgs {
                errs.push(Cause::invalid(path, go_intstr(v), m));
            }
            if !msgs.is_empty() {
                return s.parse().unwrap_or(0);
            }
            let n: i64 = s[..s.len() - 1].parse().unwrap_or(0);
            if n > 100 {
                errs.push(Cause::invalid(
                    path,
                    go_intstr(v),
                    "must not be greater than 100%",
                ));
            }
            n
        }
        other => {
            let n = as_int(other).unwrap_or(0);
            nonneg(errs, path, n);
            n
        }
    }
}

fn validate_sts_spec(spec: &Value, errs: &mut Errs, check_template: bool, check_vct: bool) {
    match se(spec, "podManagementPolicy") {
        "" => errs.push(Cause::required("spec.podManagementPolicy", "")),
        "OrderedReady" | "Parallel" => {}
        other => errs.push(invalid_str(
            "spec.podManagementPolicy",
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let us = spec.get("updateStrategy").unwrap_or(&Value::Null);
    let ru = present(us, "rollingUpdate");
    match se(us, "type") {
        "" => errs.push(Cause::required("spec.updateStrategy", "")),
        "OnDelete" => {
            if let Some(r) = ru {
                let value = format!(
                    "apps.RollingUpdateStatefulSetStrategy{{Partition:{}, MaxUnavailable:{}}}",
                    int(r, "partition").unwrap_or(0),
                    // Go prints a pointer field as its address.
                    if present(r, "maxUnavailable").is_some() {
                        "(*intstr.IntOrString)(0xc000a1c0a8)"
                    } else {
                        "(*intstr.IntOrString)(nil)"
                    }
                );
                errs.push(Cause::invalid(
                    "spec.updateStrategy.rollingUpdate",
                    value,
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(r) = ru {
                let p = "spec.updateStrategy.rollingUpdate";
                nonneg(
                    errs,
                    child(p, "partition"),
                    int(r, "partition").unwrap_or(0),
                );
                if let Some(mu) = present(r, "maxUnavailable") {
                    let mp = child(p, "maxUnavailable");
                    if int_or_percent(mu, &mp, errs) == 0 {
                        errs.push(Cause::invalid(&mp, go_intstr(mu), "cannot be 0"));
                    }
                }
            }
        }
        other => {
            let ru_fmt = if ru.is_some() {
                "(*apps.RollingUpdateStatefulSetStrategy)(0xc000000000)"
            } else {
                "(*apps.RollingUpdateStatefulSetStrategy)(nil)"
            };
            errs.push(Cause::invalid(
                "spec.updateStrategy",
                format!(
                    "apps.StatefulSetUpdateStrategy{{Type:{}, RollingUpdate:{ru_fmt}}}",
                    q(other)
                ),
                "must be 'RollingUpdate' or 'OnDelete'",
            ));
        }
    }
    if let Some(p) = present(spec, "persistentVolumeClaimRetentionPolicy") {
        for k in ["whenDeleted", "whenScaled"] {
            let v = se(p, k);
            if !matches!(v, "Retain" | "Delete") {
                errs.push(Cause::not_supported(
                    format!("spec.persistentVolumeClaimRetentionPolicy.{k}"),
                    v,
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    nonneg(errs, "spec.replicas", int(spec, "replicas").unwrap_or(0));
    nonneg(
        errs,
        "spec.minReadySeconds",
        int(spec, "minReadySeconds").unwrap_or(0),
    );
    if let Some(o) = present(spec, "ordinals") {
        nonneg(errs, "spec.ordinals.start", int(o, "start").unwrap_or(0));
    }
    if check_vct {
        for (i, t) in arr(spec, "volumeClaimTemplates").iter().enumerate() {
            let p = index("spec.volumeClaimTemplates", i);
            let name = t
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            if name.is_empty() {
                errs.push(Cause::required(child(&child(&p, "metadata"), "name"), ""));
            }
            errs.extend(storage::validate_pvc_spec(
                t.get("spec").unwrap_or(&Value::Null),
                &child(&p, "spec"),
            ));
        }
        let svc = se(spec, "serviceName");
        if !svc.is_empty() {
            for m in names::dns1123_label(svc) {
                errs.push(invalid_str("spec.serviceName", svc, &m));
            }
        }
    }
    let selector_ok = validate_selector(spec, "statefulset", errs);
    if !selector_ok {
        errs.push(Cause::invalid(
            "spec.selector",
            go_selector(spec.get("selector")),
            "",
        ));
    } else {
        selector_matches_template(spec, errs);
        let md = spec.pointer("/template/metadata").unwrap_or(&Value::Null);
        errs.extend(meta::validate_labels(
            md.get("labels"),
            "spec.template.labels",
        ));
        errs.extend(meta::validate_annotations(
            md.get("annotations"),
            "spec.template.annotations",
        ));
        if check_template {
            let claims: Vec<String> = arr(spec, "volumeClaimTemplates")
                .iter()
                .filter_map(|t| {
                    t.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect();
            let opts = PodOpts {
                is_pod: false,
                extra_volumes: &claims,
            };
            let tspec = spec.pointer("/template/spec").unwrap_or(&Value::Null);
            errs.extend(pod::validate_pod_spec(tspec, "spec.template.spec", opts));
        }
    }
    restart_always(spec, "StatefulSet", errs);
}

/// `ValidateStatefulSet` (R7–R14; the pod template is fully validated, claim templates
/// count as volumes).
pub(crate) fn validate_statefulset(sts: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(sts, Some(true), NameRule::Label);
    // Beyond upstream (#64023): the pods' `controller-revision-hash` label is `<name>-<hash>`
    // (up to 11 characters after the name) and a label value holds 63, so a longer name gives
    // a set whose pods can never be created. Refuse it here instead.
    if let Some(name) = sts.pointer("/metadata/name").and_then(Value::as_str) {
        if name.len() > 52 && name.len() <= 63 {
            errs.push(Cause::invalid(
                "metadata.name",
                format!("\"{name}\""),
                "must be no more than 52 characters: its pods carry the label controller-revision-hash=<name>-<hash>, and a label value holds at most 63",
            ));
        }
    }
    validate_sts_spec(spec_of(sts), &mut errs, true, true);
    errs
}

/// `ValidateStatefulSetUpdate` (R15, R16): spec rules (the template only when the stored
/// one was valid), immutable fields, and status counters.
pub(crate) fn validate_statefulset_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    let mut old_errs = Errs::new();
    validate_sts_spec(spec_of(old), &mut old_errs, true, false);
    validate_sts_spec(spec_of(new), &mut errs, old_errs.is_empty(), false);
    let strip = |spec: &Value| {
        let mut s = normalize(spec);
        if let Some(o) = s.as_object_mut() {
            for k in [
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            ] {
                o.remove(k);
            }
        }
        s
    };
    let grown = claim_templates_grown(spec_of(new), spec_of(old), &mut errs);
    if strip(&grown) != strip(spec_of(old)) {
        errs.push(Cause::forbidden("spec", STS_UPDATE_FORBIDDEN));
    }
    errs.extend(validate_workload_status(new, old, "StatefulSet"));
    errs
}

/// KEP-4650: the storage request of a claim template may grow (never shrink). Returns the
/// new spec with each template's request put back to its old value, for the comparison of
/// the fields that must not change.
fn claim_templates_grown(new: &Value, old: &Value, errs: &mut Errs) -> Value {
    const STORAGE: &str = "/spec/resources/requests/storage";
    let mut out = new.clone();
    let olds = arr(old, "volumeClaimTemplates");
    let Some(news) = out
        .get_mut("volumeClaimTemplates")
        .and_then(Value::as_array_mut)
    else {
        return out;
    };
    for (i, (n, o)) in news.iter_mut().zip(olds.iter()).enumerate() {
        let (Some(nv), Some(ov)) = (n.pointer(STORAGE).cloned(), o.pointer(STORAGE)) else {
            continue;
        };
        let (Some(nq), Some(oq)) = (quantity::parse_json(&nv), quantity::parse_json(ov)) else {
            continue;
        };
        if nq.nanos < oq.nanos {
            errs.push(Cause::forbidden(
                format!(
                    "{}.spec.resources.requests.storage",
                    index("spec.volumeClaimTemplates", i)
                ),
                "field can not be less than previous value",
            ));
        }
        if let Some(slot) = n.pointer_mut(STORAGE) {
            *slot = ov.clone();
        }
    }
    out
}

/// Status rules (R16 and the Deployment/ReplicaSet equivalents).
fn validate_workload_status(new: &Value, old: &Value, kind: &str) -> Errs {
    let mut errs = Errs::new();
    let Some(st) = present(new, "status") else {
        return errs;
    };
    let fields: &[&str] = match kind {
        "StatefulSet" => &[
            "replicas",
            "readyReplicas",
            "currentReplicas",
            "updatedReplicas",
            "availableReplicas",
            "observedGeneration",
            "collisionCount",
        ],
        "Deployment" => &[
            "observedGeneration",
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
            "collisionCount",
        ],
        _ => &[
            "replicas",
            "fullyLabeledReplicas",
            "readyReplicas",
            "availableReplicas",
            "observedGeneration",
        ],
    };
    for f in fields {
        if let Some(v) = int(st, f) {
            nonneg(&mut errs, format!("status.{f}"), v);
        }
    }
    let get = |f: &str| int(st, f).unwrap_or(0);
    let over: &[&str] = match kind {
        "StatefulSet" => &[
            "readyReplicas",
            "currentReplicas",
            "updatedReplicas",
            "availableReplicas",
        ],
        "Deployment" => &["updatedReplicas", "readyReplicas", "availableReplicas"],
        _ => &["fullyLabeledReplicas", "readyReplicas", "availableReplicas"],
    };
    for f in over {
        if get(f) > get("replicas") {
            errs.push(Cause::invalid(
                format!("status.{f}"),
                get(f),
                "cannot be greater than status.replicas",
            ));
        }
    }
    if get("availableReplicas") > get("readyReplicas") {
        let detail = if kind == "StatefulSet" {
            "cannot be greater than status.readyReplicas"
        } else {
            "cannot be greater than readyReplicas"
        };
        errs.push(Cause::invalid(
            "status.availableReplicas",
            get("availableReplicas"),
            detail,
        ));
    }
    if let Some(o) = old.pointer("/status/collisionCount").and_then(as_int) {
        let n = int(st, "collisionCount");
        if n.is_none_or(|n| n < o) {
            errs.push(Cause::invalid(
                "status.collisionCount",
                n.unwrap_or(0),
                "cannot be decremented",
            ));
        }
    }
    errs
}

/// `ValidatePodTemplateSpecForReplicaSet` (also used by Deployments).
fn validate_rs_template(spec: &Value, workload: &str, errs: &mut Errs) {
    let Some(t) = present(spec, "template") else {
        errs.push(Cause::required("spec.template", ""));
        return;
    };
    selector_matches_template(spec, errs);
    errs.extend(pod::validate_pod_template(
        t,
        "spec.template",
        PodOpts::default(),
    ));
    restart_always(spec, workload, errs);
}

fn validate_replicaset_spec(spec: &Value, errs: &mut Errs) {
    nonneg(errs, "spec.replicas", int(spec, "replicas").unwrap_or(0));
    nonneg(
        errs,
        "spec.minReadySeconds",
        int(spec, "minReadySeconds").unwrap_or(0),
    );
    if validate_selector(spec, "deployment", errs) {
        validate_rs_template(spec, "ReplicaSet", errs);
    } else {
        errs.push(Cause::invalid(
            "spec.selector",
            go_selector(spec.get("selector")),
            "invalid label selector",
        ));
    }
}

/// `ValidateReplicaSet`.
pub(crate) fn validate_replicaset(rs: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(rs, Some(true), NameRule::Subdomain);
    validate_replicaset_spec(spec_of(rs), &mut errs);
    errs
}

/// `ValidateReplicaSetUpdate` plus the immutable selector of apps/v1.
pub(crate) fn validate_replicaset_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    validate_replicaset_spec(spec_of(new), &mut errs);
    immutable_selector(new, old, &mut errs);
    errs.extend(validate_workload_status(new, old, "ReplicaSet"));
    errs
}

/// `ValidateReplicationController`: the v1 selector is a plain label map, defaulted from the
/// template's labels.
pub(crate) fn validate_replication_controller(rc: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(rc, Some(true), NameRule::Subdomain);
    let spec = spec_of(rc);
    nonneg(
        &mut errs,
        "spec.minReadySeconds",
        int(spec, "minReadySeconds").unwrap_or(0),
    );
    let selector = spec
        .get("selector")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty());
    if selector.is_none() {
        errs.push(Cause::required("spec.selector", ""));
    }
    nonneg(
        &mut errs,
        "spec.replicas",
        int(spec, "replicas").unwrap_or(0),
    );
    let Some(t) = present(spec, "template") else {
        errs.push(Cause::required("spec.template", ""));
        return errs;
    };
    if let Some(sel) = selector {
        let labels = t.pointer("/metadata/labels");
        let matches = sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !matches {
            errs.push(Cause::invalid(
                "spec.template.metadata.labels",
                go_map(labels.filter(|l| !l.is_null())),
                "`selector` does not match template `labels`",
            ));
        }
    }
    errs.extend(pod::validate_pod_template(
        t,
        "spec.template",
        PodOpts::default(),
    ));
    restart_always(spec, "ReplicationController", &mut errs);
    errs
}

pub(super) fn immutable_selector(new: &Value, old: &Value, errs: &mut Errs) {
    let (n, o) = (spec_of(new).get("selector"), spec_of(old).get("selector"));
    if !sem_eq(n, o) {
        errs.push(Cause::invalid(
            "spec.selector",
            go_selector(n),
            "field is immutable",
        ));
    }
}

fn validate_deployment_spec(spec: &Value, errs: &mut Errs) {
    nonneg(errs, "spec.replicas", int(spec, "replicas").unwrap_or(0));
    if validate_selector(spec, "deployment", errs) {
        validate_rs_template(spec, "Deployment", errs);
    } else {
        errs.push(Cause::invalid(
            "spec.selector",
            go_selector(spec.get("selector")),
            "invalid label selector",
        ));
    }
    let st = spec.get("strategy").unwrap_or(&Value::Null);
    let ru = present(st, "rollingUpdate");
    match se(st, "type") {
        "Recreate" if ru.is_some() => errs.push(Cause::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        )),
        "Recreate" => {}
        "RollingUpdate" => match ru {
            None => errs.push(Cause::required(
                "spec.strategy.rollingUpdate",
                "this should be defaulted and never be nil",
            )),
            Some(r) => {
                let p = "spec.strategy.rollingUpdate";
                let zero = Value::from(0);
                let mu = r
                    .get("maxUnavailable")
                    .filter(|v| !v.is_null())
                    .unwrap_or(&zero);
                let ms = r.get("maxSurge").filter(|v| !v.is_null()).unwrap_or(&zero);
                let mut sub = Errs::new();
                let u = int_or_percent_nonneg(mu, &child(p, "maxUnavailable"), &mut sub);
                let s = int_or_percent_nonneg(ms, &child(p, "maxSurge"), &mut sub);
                errs.extend(sub);
                if u == 0 && s == 0 {
                    errs.push(Cause::invalid(
                        child(p, "maxUnavailable"),
                        go_intstr(mu),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                if let Value::String(v) = mu {
                    if names::percent(v).is_empty()
                        && v[..v.len() - 1].parse::<i64>().unwrap_or(0) > 100
                    {
                        errs.push(Cause::invalid(
                            child(p, "maxUnavailable"),
                            go_intstr(mu),
                            "must not be greater than 100%",
                        ));
                    }
                }
            }
        },
        other => {
            let ru_fmt = if ru.is_some() {
                "(*apps.RollingUpdateDeployment)(0xc000000000)"
            } else {
                "(*apps.RollingUpdateDeployment)(nil)"
            };
            let v = format!(
                "apps.DeploymentStrategy{{Type:{}, RollingUpdate:{ru_fmt}}}",
                q(other)
            );
            errs.push(not_supported_fmt(
                "spec.strategy",
                &v,
                &["Recreate", "RollingUpdate"],
            ));
        }
    }
    let mrs = int(spec, "minReadySeconds").unwrap_or(0);
    nonneg(errs, "spec.minReadySeconds", mrs);
    if let Some(r) = int(spec, "revisionHistoryLimit") {
        nonneg(errs, "spec.revisionHistoryLimit", r);
    }
    if let Some(pd) = int(spec, "progressDeadlineSeconds") {
        nonneg(errs, "spec.progressDeadlineSeconds", pd);
        if pd <= mrs {
            errs.push(Cause::invalid(
                "spec.progressDeadlineSeconds",
                pd,
                "must be greater than minReadySeconds",
            ));
        }
    }
}

/// `ValidatePositiveIntOrPercent` only (no 100% cap); returns the value.
pub(super) fn int_or_percent_nonneg(v: &Value, path: &str, errs: &mut Errs) -> i64 {
    match v {
        Value::String(s) => {
            let msgs = names::percent(s);
            for m in &msgs {
                errs.push(Cause::invalid(path, go_intstr(v), m));
            }
            if msgs.is_empty() {
                s[..s.len() - 1].parse().unwrap_or(0)
            } else {
                s.parse().unwrap_or(0)
            }
        }
        other => {
            let n = as_int(other).unwrap_or(0);
            nonneg(errs, path, n);
            n
        }
    }
}

/// `ValidateDeployment`.
pub(crate) fn validate_deployment(d: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(d, Some(true), NameRule::Subdomain);
    validate_deployment_spec(spec_of(d), &mut errs);
    errs
}

/// `ValidateDeploymentUpdate` plus the immutable selector of apps/v1.
pub(crate) fn validate_deployment_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    validate_deployment_spec(spec_of(new), &mut errs);
    immutable_selector(new, old, &mut errs);
    errs.extend(validate_workload_status(new, old, "Deployment"));
    errs
}

/// `ValidateControllerRevision` (R18).
pub(crate) fn validate_controller_revision(cr: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(cr, Some(true), NameRule::Subdomain);
    if present(cr, "data").is_none() {
        errs.push(Cause::required("data", "data is mandatory"));
    }
    nonneg(&mut errs, "revision", int(cr, "revision").unwrap_or(0));
    errs
}

/// `ValidateControllerRevisionUpdate`: `data` is immutable.
pub(crate) fn validate_controller_revision_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_controller_revision(new));
    if !sem_eq(new.get("data"), old.get("data")) {
        let raw = new.get("data").map(|d| d.to_string()).unwrap_or_default();
        let bytes: Vec<String> = raw.bytes().map(|b| format!("0x{b:x}")).collect();
        let value = format!(
            "runtime.RawExtension{{Raw:[]uint8{{{}}}, Object:runtime.Object(nil)}}",
            bytes.join(", ")
        );
        errs.push(Cause::invalid("data", value, "field is immutable"));
    }
    errs
}
