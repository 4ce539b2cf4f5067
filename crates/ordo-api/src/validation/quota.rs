//! ResourceQuota and LimitRange validation (upstream `ValidateResourceQuota`,
//! `ValidateLimitRange`).

use super::meta;
use super::names::NameRule;
use super::quantity::{parse_json, Quantity};
use super::util::*;
use crate::status::Cause;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// `standardQuotaResources`.
const STANDARD_QUOTA: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];

/// Quota resources counted in whole objects (`IsIntegerResourceName`).
const INTEGER_QUOTA: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_standard_quota(name: &str) -> bool {
    STANDARD_QUOTA.contains(&name)
        || name.starts_with("hugepages-")
        || name.starts_with("requests.hugepages-")
}

/// `IsResourceQuotaScopeValidForResource`.
fn scope_valid_for(scope: &str, resource: &str) -> bool {
    const POD_COUNT: &[&str] = &["pods"];
    const POD_COMPUTE: &[&str] = &[
        "cpu",
        "memory",
        "limits.cpu",
        "limits.memory",
        "requests.cpu",
        "requests.memory",
    ];
    match scope {
        "BestEffort" => POD_COUNT.contains(&resource),
        "Terminating"
        | "NotTerminating"
        | "NotBestEffort"
        | "PriorityClass"
        | "CrossNamespacePodAffinity" => {
            POD_COUNT.contains(&resource) || POD_COMPUTE.contains(&resource)
        }
        _ => true,
    }
}

const SCOPES: &[&str] = &[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
];

fn go_scopes(scopes: &[&str]) -> String {
    let items: Vec<String> = scopes.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[]core.ResourceQuotaScope{{{}}}", items.join(", "))
}

/// `ValidateResourceQuota`.
pub(crate) fn validate_resource_quota(rq: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(rq, Some(true), NameRule::Subdomain);
    let spec = rq.get("spec").unwrap_or(&Value::Null);
    let hard: BTreeMap<String, Value> = obj(spec, "hard")
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    for (k, v) in &hard {
        let path = key("spec.hard", k);
        validate_quota_resource(k, v, &path, &mut errs);
    }
    let scopes: Vec<&str> = arr(spec, "scopes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !scopes.is_empty() {
        let shown = go_scopes(&scopes);
        for scope in &scopes {
            if !SCOPES.contains(scope) {
                errs.push(Cause::invalid("spec.scopes", &shown, "unsupported scope"));
            }
            for k in hard.keys() {
                if is_standard_quota(k) && !scope_valid_for(scope, k) {
                    errs.push(Cause::invalid(
                        "spec.scopes",
                        &shown,
                        "unsupported scope applied to resource",
                    ));
                }
            }
        }
        for (a, b) in [
            ("BestEffort", "NotBestEffort"),
            ("Terminating", "NotTerminating"),
        ] {
            if scopes.contains(&a) && scopes.contains(&b) {
                errs.push(Cause::invalid("spec.scopes", &shown, "conflicting scopes"));
            }
        }
    }
    if let Some(sel) = present(spec, "scopeSelector") {
        for (i, r) in arr(sel, "matchExpressions").iter().enumerate() {
            let path = index("spec.scopeSelector.matchExpressions", i);
            let scope = se(r, "scopeName");
            if !SCOPES.contains(&scope) {
                errs.push(Cause::invalid(
                    child(&path, "scopeName"),
                    q(scope),
                    "unsupported scope",
                ));
            }
            let values = arr(r, "values");
            match se(r, "operator") {
                "In" | "NotIn" if values.is_empty() => errs.push(Cause::invalid(
                    child(&path, "values"),
                    "[]string(nil)",
                    "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
                )),
                "In" | "NotIn" => {}
                "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(Cause::invalid(
                    child(&path, "values"),
                    go_strings(r.get("values")),
                    "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
                )),
                "Exists" | "DoesNotExist" => {}
                other => errs.push(Cause::not_supported(
                    child(&path, "operator"),
                    other,
                    &["DoesNotExist", "Exists", "In", "NotIn"],
                )),
            }
        }
    }
    for f in ["hard", "used"] {
        if let Some(m) = rq
            .pointer(&format!("/status/{f}"))
            .and_then(Value::as_object)
        {
            for (k, v) in m {
                validate_quota_resource(k, v, &key(&format!("status.{f}"), k), &mut errs);
            }
        }
    }
    errs
}

fn validate_quota_resource(k: &str, v: &Value, path: &str, errs: &mut Errs) {
    if !k.contains('/') && !is_standard_quota(k) {
        errs.push(Cause::invalid(
            path,
            q(k),
            "must be a standard resource for quota",
        ));
    }
    let Some(quantity) = parse_json(v) else {
        return;
    };
    if quantity.nanos < 0 {
        errs.push(Cause::invalid(
            path,
            q(&quantity.canonical()),
            "must be greater than or equal to 0",
        ));
    }
    let integer = INTEGER_QUOTA.contains(&k) || k.starts_with("count/");
    if integer && quantity.nanos % 1_000_000_000 != 0 {
        errs.push(Cause::invalid(
            path,
            q(&quantity.canonical()),
            "must be an integer",
        ));
    }
}

fn quantities(item: &Value, f: &str) -> BTreeMap<String, Quantity> {
    obj(item, f)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| parse_json(v).map(|q| (k.clone(), q)))
                .collect()
        })
        .unwrap_or_default()
}

/// `ValidateLimitRange`.
pub(crate) fn validate_limit_range(lr: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(lr, Some(true), NameRule::Subdomain);
    let mut types = BTreeSet::new();
    let limits = lr
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, item) in limits.iter().enumerate() {
        let path = index("spec.limits", i);
        let ty = se(item, "type");
        if ty.is_empty() {
            errs.push(Cause::required(child(&path, "type"), ""));
        }
        if !types.insert(ty.to_string()) {
            errs.push(Cause::duplicate(child(&path, "type"), q(ty)));
        }
        let min = quantities(item, "min");
        let max = quantities(item, "max");
        let (default, default_request) = if ty == "Pod" {
            for f in ["default", "defaultRequest"] {
                if obj(item, f).is_some_and(|m| !m.is_empty()) {
                    errs.push(Cause::forbidden(
                        child(&path, f),
                        "may not be specified when `type` is 'Pod'",
                    ));
                }
            }
            (BTreeMap::new(), BTreeMap::new())
        } else {
            (
                quantities(item, "default"),
                quantities(item, "defaultRequest"),
            )
        };
        if ty == "PersistentVolumeClaim"
            && !min.contains_key("storage")
            && !max.contains_key("storage")
        {
            errs.push(Cause::required(
                child(&path, "limits"),
                "either minimum or maximum storage value is required, but neither was provided",
            ));
        }
        let ratio = quantities(item, "maxLimitRequestRatio");
        let keys: BTreeSet<&String> = min
            .keys()
            .chain(max.keys())
            .chain(default.keys())
            .chain(default_request.keys())
            .chain(ratio.keys())
            .collect();
        for k in keys {
            let (mn, mx, d, dr, r) = (
                min.get(k),
                max.get(k),
                default.get(k),
                default_request.get(k),
                ratio.get(k),
            );
            let at = |f: &str| key(&child(&path, f), k);
            if let (Some(mn), Some(mx)) = (mn, mx) {
                if mn.nanos > mx.nanos {
                    errs.push(Cause::invalid(
                        at("min"),
                        q(&mn.canonical()),
                        &format!("min value {mn} is greater than max value {mx}"),
                    ));
                }
            }
            if let (Some(dr), Some(mn)) = (dr, mn) {
                if mn.nanos > dr.nanos {
                    errs.push(Cause::invalid(
                        at("defaultRequest"),
                        q(&dr.canonical()),
                        &format!("min value {mn} is greater than default request value {dr}"),
                    ));
                }
            }
            if let (Some(dr), Some(mx)) = (dr, mx) {
                if dr.nanos > mx.nanos {
                    errs.push(Cause::invalid(
                        at("defaultRequest"),
                        q(&dr.canonical()),
                        &format!("default request value {dr} is greater than max value {mx}"),
                    ));
                }
            }
            if let (Some(dr), Some(d)) = (dr, d) {
                if dr.nanos > d.nanos {
                    errs.push(Cause::invalid(
                        at("defaultRequest"),
                        q(&dr.canonical()),
                        &format!(
                            "default request value {dr} is greater than default limit value {d}"
                        ),
                    ));
                }
            }
            if let (Some(d), Some(mn)) = (d, mn) {
                if mn.nanos > d.nanos {
                    errs.push(Cause::invalid(
                        at("default"),
                        q(&mn.canonical()),
                        &format!("min value {mn} is greater than default value {d}"),
                    ));
                }
            }
            if let (Some(d), Some(mx)) = (d, mx) {
                if d.nanos > mx.nanos {
                    errs.push(Cause::invalid(
                        at("default"),
                        q(&mx.canonical()),
                        &format!("default value {d} is greater than max value {mx}"),
                    ));
                }
            }
            if let Some(r) = r {
                if r.nanos < 1_000_000_000 {
                    errs.push(Cause::invalid(
                        at("maxLimitRequestRatio"),
                        q(&r.canonical()),
                        &format!("ratio {r} is less than 1"),
                    ));
                }
                if let (Some(mn), Some(mx)) = (mn, mx) {
                    let limit = mx.nanos as f64 / mn.nanos as f64;
                    if r.nanos as f64 / 1e9 > limit {
                        errs.push(Cause::invalid(
                            at("maxLimitRequestRatio"),
                            q(&r.canonical()),
                            &format!("ratio {r} is greater than max/min = {limit:.6}"),
                        ));
                    }
                }
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(errs: &Errs) -> Vec<String> {
        errs.iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn quotas() {
        let ok = json!({"metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"pods": "2", "count/deployments.apps": "1", "requests.cpu": "500m"}}});
        assert!(validate_resource_quota(&ok).is_empty());
        let bad = json!({"metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"pods": "1500m", "foo": "1", "cpu": "-1"}, "scopes": ["BestEffort", "NotBestEffort"]}});
        assert_eq!(
            messages(&validate_resource_quota(&bad)),
            [
                "spec.hard[cpu]: Invalid value: \"-1\": must be greater than or equal to 0",
                "spec.hard[foo]: Invalid value: \"foo\": must be a standard resource for quota",
                "spec.hard[pods]: Invalid value: \"1500m\": must be an integer",
                "spec.scopes: Invalid value: []core.ResourceQuotaScope{\"BestEffort\", \"NotBestEffort\"}: unsupported scope applied to resource",
                "spec.scopes: Invalid value: []core.ResourceQuotaScope{\"BestEffort\", \"NotBestEffort\"}: conflicting scopes",
            ]
        );
    }

    #[test]
    fn limit_ranges() {
        let bad = json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"limits": [
            {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}, "default": {"cpu": "3"}},
            {"type": "Pod", "default": {"cpu": "1"}},
            {"type": "PersistentVolumeClaim"}
        ]}});
        assert_eq!(
            messages(&validate_limit_range(&bad)),
            [
                "spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1",
                "spec.limits[0].default[cpu]: Invalid value: \"1\": default value 3 is greater than max value 1",
                "spec.limits[1].default: Forbidden: may not be specified when `type` is 'Pod'",
                "spec.limits[2].limits: Required value: either minimum or maximum storage value is required, but neither was provided",
            ]
        );
    }
}
