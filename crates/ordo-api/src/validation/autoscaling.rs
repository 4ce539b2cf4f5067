//! HorizontalPodAutoscaler validation (upstream `pkg/apis/autoscaling/validation`), on the
//! autoscaling/v2 form every version is stored in.

use super::meta;
use super::names::NameRule;
use super::util::{arr, child, index, int, present, q, s, se, Errs};
use crate::status::Cause;
use serde_json::Value;

/// Upper bound of a scaling policy's `periodSeconds` (`MaxPeriodSeconds`).
const MAX_PERIOD_SECONDS: i64 = 1800;
/// Upper bound of `stabilizationWindowSeconds` (`MaxStabilizationWindowSeconds`).
const MAX_STABILIZATION_WINDOW_SECONDS: i64 = 3600;

/// `ValidateHorizontalPodAutoscaler`: object meta and the spec.
pub(crate) fn validate_hpa(hpa: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(hpa, Some(true), NameRule::Subdomain);
    errs.extend(validate_spec(hpa.get("spec").unwrap_or(&Value::Null)));
    errs
}

/// `ValidateHorizontalPodAutoscalerUpdate`: metadata rules and the spec again.
pub(crate) fn validate_hpa_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_spec(new.get("spec").unwrap_or(&Value::Null)));
    errs
}

fn validate_spec(spec: &Value) -> Errs {
    let mut errs = Errs::new();
    let min = int(spec, "minReplicas");
    let max = int(spec, "maxReplicas").unwrap_or(0);
    if let Some(min) = min.filter(|m| *m < 1) {
        errs.push(Cause::invalid(
            "spec.minReplicas",
            min,
            "must be greater than or equal to 1",
        ));
    }
    if max < 1 {
        errs.push(Cause::invalid(
            "spec.maxReplicas",
            max,
            "must be greater than 0",
        ));
    }
    if min.is_some_and(|m| max < m) {
        errs.push(Cause::invalid(
            "spec.maxReplicas",
            max,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    let target = spec.get("scaleTargetRef").unwrap_or(&Value::Null);
    for f in ["kind", "name"] {
        let path = format!("spec.scaleTargetRef.{f}");
        match s(target, f).filter(|v| !v.is_empty()) {
            None => errs.push(Cause::required(path, "")),
            Some(v) => {
                for msg in super::rbac::path_segment(v) {
                    errs.push(Cause::invalid(path.clone(), q(v), &msg));
                }
            }
        }
    }
    for (i, m) in arr(spec, "metrics").iter().enumerate() {
        validate_metric(m, &index("spec.metrics", i), &mut errs);
    }
    if let Some(b) = present(spec, "behavior") {
        for dir in ["scaleUp", "scaleDown"] {
            if let Some(r) = present(b, dir) {
                validate_rules(r, &format!("spec.behavior.{dir}"), &mut errs);
            }
        }
    }
    errs
}

const SOURCE_TYPES: &[(&str, &str)] = &[
    ("ContainerResource", "containerResource"),
    ("External", "external"),
    ("Object", "object"),
    ("Pods", "pods"),
    ("Resource", "resource"),
];

fn validate_metric(m: &Value, path: &str, errs: &mut Errs) {
    let ty = se(m, "type");
    let type_path = child(path, "type");
    if ty.is_empty() {
        errs.push(Cause::required(
            type_path.clone(),
            "must specify a metric source type",
        ));
    } else if !SOURCE_TYPES.iter().any(|(t, _)| *t == ty) {
        let names: Vec<&str> = SOURCE_TYPES.iter().map(|(t, _)| *t).collect();
        errs.push(Cause::not_supported(type_path, ty, &names));
    }
    let present_fields: Vec<&str> = SOURCE_TYPES
        .iter()
        .map(|(_, f)| *f)
        .filter(|f| present(m, f).is_some())
        .collect();
    let expected = SOURCE_TYPES.iter().find(|(t, _)| *t == ty).map(|(_, f)| *f);
    if let Some(expected) = expected {
        if present_fields.len() != 1 || present_fields[0] != expected {
            for f in present_fields.iter().filter(|f| **f != expected) {
                errs.push(Cause::forbidden(
                    child(path, f),
                    "must populate the given metric source only",
                ));
            }
            if !present_fields.contains(&expected) {
                errs.push(Cause::required(
                    child(path, expected),
                    "must populate information for the given metric source",
                ));
            }
        }
        if expected == "resource" || expected == "containerResource" {
            if let Some(src) = present(m, expected) {
                validate_resource_source(src, &child(path, expected), errs);
            }
        }
    }
}

fn validate_resource_source(src: &Value, path: &str, errs: &mut Errs) {
    if se(src, "name").is_empty() {
        errs.push(Cause::required(
            child(path, "name"),
            "must specify a resource name",
        ));
    }
    let target = src.get("target").unwrap_or(&Value::Null);
    let tpath = child(path, "target");
    let ty = se(target, "type");
    if ty.is_empty() {
        errs.push(Cause::required(
            child(&tpath, "type"),
            "must specify a metric target type",
        ));
    } else if !matches!(ty, "Utilization" | "Value" | "AverageValue") {
        errs.push(Cause::invalid(
            child(&tpath, "type"),
            q(ty),
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    for f in ["value", "averageValue"] {
        if let Some(v) = present(target, f) {
            let text = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            if crate::quantity::value(&text).is_none_or(|x| x <= 0.0) {
                errs.push(Cause::invalid(
                    child(&tpath, f),
                    q(&text),
                    "must be positive",
                ));
            }
        }
    }
    let util = int(target, "averageUtilization");
    if let Some(u) = util.filter(|u| *u < 1) {
        errs.push(Cause::invalid(
            child(&tpath, "averageUtilization"),
            u,
            "must be greater than 0",
        ));
    }
    let avg_value = present(target, "averageValue").is_some();
    if util.is_none() && !avg_value {
        errs.push(Cause::required(
            child(&tpath, "averageUtilization"),
            "must set either a target raw value or a target utilization",
        ));
    }
    if util.is_some() && avg_value {
        errs.push(Cause::forbidden(
            child(&tpath, "averageValue"),
            "may not set both a target raw value and a target utilization",
        ));
    }
}

fn validate_rules(r: &Value, path: &str, errs: &mut Errs) {
    if let Some(w) = int(r, "stabilizationWindowSeconds") {
        let wpath = child(path, "stabilizationWindowSeconds");
        if w < 0 {
            errs.push(Cause::invalid(
                wpath,
                w,
                "must be greater than or equal to zero",
            ));
        } else if w > MAX_STABILIZATION_WINDOW_SECONDS {
            errs.push(Cause::invalid(
                wpath,
                w,
                &format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"),
            ));
        }
    }
    if let Some(sp) = s(r, "selectPolicy") {
        if !matches!(sp, "Max" | "Min" | "Disabled") {
            errs.push(Cause::not_supported(
                child(path, "selectPolicy"),
                sp,
                &["Disabled", "Max", "Min"],
            ));
        }
    }
    let policies = arr(r, "policies");
    if policies.is_empty() {
        errs.push(Cause::required(
            child(path, "policies"),
            "must specify at least one Policy",
        ));
    }
    for (i, p) in policies.iter().enumerate() {
        let ppath = index(&child(path, "policies"), i);
        let ty = se(p, "type");
        if !matches!(ty, "Pods" | "Percent") {
            errs.push(Cause::not_supported(
                child(&ppath, "type"),
                ty,
                &["Percent", "Pods"],
            ));
        }
        let value = int(p, "value").unwrap_or(0);
        if value <= 0 {
            errs.push(Cause::invalid(
                child(&ppath, "value"),
                value,
                "must be greater than zero",
            ));
        }
        let period = int(p, "periodSeconds").unwrap_or(0);
        if period <= 0 {
            errs.push(Cause::invalid(
                child(&ppath, "periodSeconds"),
                period,
                "must be greater than zero",
            ));
        } else if period > MAX_PERIOD_SECONDS {
            errs.push(Cause::invalid(
                child(&ppath, "periodSeconds"),
                period,
                &format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hpa(spec: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec})
    }

    fn messages(errs: &Errs) -> Vec<String> {
        errs.iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn replicas_and_target_ref() {
        let errs = validate_hpa(&hpa(json!({"minReplicas": 3, "maxReplicas": 2,
            "scaleTargetRef": {"kind": "Deployment"}})));
        assert_eq!(
            messages(&errs),
            vec![
                "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
                "spec.scaleTargetRef.name: Required value",
            ]
        );
        let errs = validate_hpa(&hpa(json!({"minReplicas": 0, "maxReplicas": 0,
            "scaleTargetRef": {"kind": "Deployment", "name": "web"}})));
        assert_eq!(
            messages(&errs),
            vec![
                "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
                "spec.maxReplicas: Invalid value: 0: must be greater than 0",
            ]
        );
    }

    #[test]
    fn metrics_and_behavior() {
        let errs = validate_hpa(&hpa(json!({"minReplicas": 1, "maxReplicas": 5,
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 4000, "selectPolicy": "Max",
                "policies": [{"type": "Percent", "value": 0, "periodSeconds": 2000}]}}})));
        assert_eq!(
            messages(&errs),
            vec![
                "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
                "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 4000: must be less than or equal to 3600",
                "spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero",
                "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 2000: must be less than or equal to 1800",
            ]
        );
        let errs = validate_hpa(&hpa(json!({"minReplicas": 1, "maxReplicas": 5,
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "metrics": [{"type": "Resource"}]})));
        assert_eq!(
            messages(&errs),
            vec!["spec.metrics[0].resource: Required value: must populate information for the given metric source"]
        );
    }
}
