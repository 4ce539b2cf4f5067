//! PodDisruptionBudget validation (upstream `pkg/apis/policy/validation`).

use super::apps::int_or_percent;
use super::meta;
use super::names::NameRule;
use super::util::{child, not_supported_fmt, present, q, se, Errs};
use crate::status::Cause;
use serde_json::Value;

/// `ValidatePodDisruptionBudget`: object meta and the spec.
pub(crate) fn validate_pdb(pdb: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(pdb, Some(true), NameRule::Subdomain);
    errs.extend(validate_spec(pdb.get("spec").unwrap_or(&Value::Null)));
    errs
}

/// `ValidatePodDisruptionBudgetUpdate`: the spec may change (since 1.15), metadata rules apply.
pub(crate) fn validate_pdb_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_spec(new.get("spec").unwrap_or(&Value::Null)));
    errs
}

fn validate_spec(spec: &Value) -> Errs {
    let mut errs = Errs::new();
    let min = present(spec, "minAvailable");
    let max = present(spec, "maxUnavailable");
    if let (Some(min), Some(max)) = (min, max) {
        errs.push(Cause::invalid(
            "spec",
            format!(
                "policy.PodDisruptionBudgetSpec{{MinAvailable:{}, MaxUnavailable:{}}}",
                super::util::go_intstr(min),
                super::util::go_intstr(max)
            ),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    if let Some(v) = min {
        int_or_percent(v, "spec.minAvailable", &mut errs);
    }
    if let Some(v) = max {
        int_or_percent(v, "spec.maxUnavailable", &mut errs);
    }
    errs.extend(meta::validate_label_selector(
        spec.get("selector"),
        &child("spec", "selector"),
    ));
    let policy = se(spec, "unhealthyPodEvictionPolicy");
    if present(spec, "unhealthyPodEvictionPolicy").is_some()
        && !matches!(policy, "IfHealthyBudget" | "AlwaysAllow")
    {
        errs.push(not_supported_fmt(
            "spec.unhealthyPodEvictionPolicy",
            &q(policy),
            &["AlwaysAllow", "IfHealthyBudget"],
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(spec: Value) -> Vec<String> {
        validate_pdb(&json!({"metadata": {"name": "p", "namespace": "d"}, "spec": spec}))
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn upstream_rules() {
        assert!(
            msgs(json!({"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}))
                .is_empty()
        );
        assert!(msgs(
            json!({"maxUnavailable": "25%", "unhealthyPodEvictionPolicy": "AlwaysAllow"})
        )
        .is_empty());
        assert_eq!(
            msgs(json!({"minAvailable": -1, "maxUnavailable": "120%", "unhealthyPodEvictionPolicy": "Never"})),
            [
                "spec: Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:intstr.IntOrString{Type:0, IntVal:-1, StrVal:\"\"}, MaxUnavailable:intstr.IntOrString{Type:1, IntVal:0, StrVal:\"120%\"}}: minAvailable and maxUnavailable cannot be both set",
                "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0",
                "spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"120%\"}: must not be greater than 100%",
                "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Never\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\"",
            ]
        );
    }
}
