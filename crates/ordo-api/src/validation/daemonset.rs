//! DaemonSet validation (`ValidateDaemonSet`, `ValidateDaemonSetUpdate` and
//! `ValidateRollingUpdateDaemonSet` of upstream `pkg/apis/apps/validation`).

use super::apps::{
    immutable_selector, int_or_percent_nonneg, restart_always, selector_matches_template, spec_of,
    validate_selector,
};
use super::meta;
use super::names::{self, NameRule};
use super::pod::{self, PodOpts};
use super::util::*;
use crate::status::Cause;
use serde_json::Value;

/// The value of an int-or-percent (the number before `%` for a percentage), as upstream's
/// `getIntOrPercentValue`.
fn int_or_percent_value(v: &Value) -> i64 {
    match v {
        Value::String(s) => s
            .strip_suffix('%')
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        other => as_int(other).unwrap_or(0),
    }
}

/// `IsNotMoreThan100Percent`.
fn not_over_100(v: &Value, path: &str, errs: &mut Errs) {
    if let Value::String(s) = v {
        if names::percent(s).is_empty() && int_or_percent_value(v) > 100 {
            errs.push(Cause::invalid(
                path,
                go_intstr(v),
                "must not be greater than 100%",
            ));
        }
    }
}

/// `ValidateDaemonSetUpdateStrategy` with `ValidateRollingUpdateDaemonSet`.
fn validate_update_strategy(spec: &Value, errs: &mut Errs) {
    let path = "spec.updateStrategy";
    let us = spec.get("updateStrategy").unwrap_or(&Value::Null);
    let ru = present(us, "rollingUpdate");
    match se(us, "type") {
        "OnDelete" => {}
        "RollingUpdate" => {
            let Some(r) = ru else {
                errs.push(Cause::required(format!("{path}.rollingUpdate"), ""));
                return;
            };
            let p = format!("{path}.rollingUpdate");
            let zero = Value::from(0);
            let mu = present(r, "maxUnavailable").unwrap_or(&zero);
            let ms = present(r, "maxSurge").unwrap_or(&zero);
            int_or_percent_nonneg(mu, &child(&p, "maxUnavailable"), errs);
            int_or_percent_nonneg(ms, &child(&p, "maxSurge"), errs);
            not_over_100(mu, &child(&p, "maxUnavailable"), errs);
            not_over_100(ms, &child(&p, "maxSurge"), errs);
            let (has_unavailable, has_surge) =
                (int_or_percent_value(mu) != 0, int_or_percent_value(ms) != 0);
            if has_unavailable && has_surge {
                errs.push(Cause::invalid(
                    child(&p, "maxSurge"),
                    go_intstr(ms),
                    "may not be set when maxUnavailable is non-zero",
                ));
            } else if !has_unavailable && !has_surge {
                errs.push(Cause::required(
                    child(&p, "maxUnavailable"),
                    "cannot be 0 when maxSurge is 0",
                ));
            }
        }
        other => {
            let ru_fmt = if ru.is_some() {
                "(*apps.RollingUpdateDaemonSet)(0xc000000000)"
            } else {
                "(*apps.RollingUpdateDaemonSet)(nil)"
            };
            let v = format!(
                "apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:{ru_fmt}}}",
                q(other)
            );
            errs.push(not_supported_fmt(path, &v, &["RollingUpdate", "OnDelete"]));
        }
    }
}

/// `ValidateDaemonSetSpec`.
fn validate_spec(spec: &Value, errs: &mut Errs) {
    if validate_selector(spec, "daemonset", errs) {
        selector_matches_template(spec, errs);
    }
    match present(spec, "template") {
        None => errs.push(Cause::required("spec.template", "")),
        Some(t) => errs.extend(pod::validate_pod_template(
            t,
            "spec.template",
            PodOpts::default(),
        )),
    }
    restart_always(spec, "DaemonSet", errs);
    nonneg(
        errs,
        "spec.minReadySeconds",
        int(spec, "minReadySeconds").unwrap_or(0),
    );
    validate_update_strategy(spec, errs);
    if let Some(r) = int(spec, "revisionHistoryLimit") {
        nonneg(errs, "spec.revisionHistoryLimit", r);
    }
}

/// `ValidateDaemonSet`.
pub(crate) fn validate_daemonset(ds: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(ds, Some(true), NameRule::Subdomain);
    validate_spec(spec_of(ds), &mut errs);
    errs
}

/// `ValidateDaemonSetUpdate`: the spec rules, an immutable selector, and the status counters.
pub(crate) fn validate_daemonset_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    validate_spec(spec_of(new), &mut errs);
    immutable_selector(new, old, &mut errs);
    if let Some(st) = present(new, "status") {
        for f in [
            "currentNumberScheduled",
            "numberMisscheduled",
            "desiredNumberScheduled",
            "numberReady",
            "observedGeneration",
            "updatedNumberScheduled",
            "numberAvailable",
            "numberUnavailable",
            "collisionCount",
        ] {
            if let Some(v) = int(st, f) {
                nonneg(&mut errs, format!("status.{f}"), v);
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(strategy: Value) -> Value {
        json!({
            "metadata": {"name": "agent", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "updateStrategy": strategy,
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {
                        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                        "terminationGracePeriodSeconds": 30,
                        "containers": [{"name": "c", "image": "busybox:1",
                            "imagePullPolicy": "IfNotPresent",
                            "terminationMessagePolicy": "File"}]
                    }
                }
            }
        })
    }

    fn messages(errs: &Errs) -> Vec<String> {
        errs.iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn a_valid_daemonset_passes() {
        let ok = ds(json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}));
        assert_eq!(messages(&validate_daemonset(&ok)), Vec::<String>::new());
        let surge = ds(json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "20%"}}));
        assert_eq!(messages(&validate_daemonset(&surge)), Vec::<String>::new());
        assert!(validate_daemonset(&ds(json!({"type": "OnDelete"}))).is_empty());
    }

    #[test]
    fn rolling_update_rules() {
        let both = ds(json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}));
        assert_eq!(
            messages(&validate_daemonset(&both)),
            ["spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: may not be set when maxUnavailable is non-zero"]
        );
        let none = ds(json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}));
        assert_eq!(
            messages(&validate_daemonset(&none)),
            ["spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"]
        );
        let over = ds(json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "150%", "maxSurge": 0}}));
        assert!(messages(&validate_daemonset(&over))
            .iter()
            .any(|m| m.ends_with("must not be greater than 100%")));
        let bad = ds(json!({"type": "Sometimes"}));
        assert_eq!(
            messages(&validate_daemonset(&bad)),
            ["spec.updateStrategy: Unsupported value: apps.DaemonSetUpdateStrategy{Type:\"Sometimes\", RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}: supported values: \"RollingUpdate\", \"OnDelete\""]
        );
    }

    #[test]
    fn selector_template_and_restart_policy() {
        let mut d = ds(json!({"type": "OnDelete"}));
        d["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
        d["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
        let m = messages(&validate_daemonset(&d));
        assert!(
            m.contains(&"spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`".to_string()),
            "{m:?}"
        );
        assert!(
            m.contains(&"spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"".to_string()),
            "{m:?}"
        );
        let old = ds(json!({"type": "OnDelete"}));
        let mut new = old.clone();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "agent", "x": "y"}});
        new["spec"]["template"]["metadata"]["labels"]["x"] = json!("y");
        let m = messages(&validate_daemonset_update(&new, &old));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].starts_with("spec.selector: Invalid value: ")
                && m[0].ends_with("field is immutable")
        );
    }
}
