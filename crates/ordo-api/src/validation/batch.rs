//! Job validation (upstream `pkg/apis/batch/validation`: `ValidateJob`, `ValidateJobUpdate`).

use super::meta;
use super::names::NameRule;
use super::pod::{self, PodOpts};
use super::util::*;
use crate::status::Cause;
use serde_json::Value;

/// Upstream `maxParallelismForIndexedJob` and `maxCompletionsForIndexedJob` (without
/// per-index back-off).
const MAX_INDEXED: i64 = 100_000;

fn spec_of(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// `ValidateJob`: object meta, the generated selector and the spec.
pub(crate) fn validate_job(job: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(job, Some(true), NameRule::Subdomain);
    let spec = spec_of(job);
    if !flag(spec, "manualSelector") && spec.pointer("/template/metadata/labels").is_none() {
        errs.push(Cause::invalid(
            "spec.template.metadata.labels",
            "map[string]string(nil)",
            "`selector` does not match template `labels`",
        ));
    }
    errs.extend(validate_spec(spec, "spec", true));
    errs
}

/// `ValidateJobUpdate`: `ValidateJob` on the new object plus the fields that may not change.
pub(crate) fn validate_job_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_spec(spec_of(new), "spec", true));
    let (n, o) = (spec_of(new), spec_of(old));
    let indexed = se(n, "completionMode") == "Indexed";
    // Elastic Indexed Jobs: completions may change together with parallelism.
    let elastic = indexed && int(n, "completions") == int(n, "parallelism");
    if !elastic && !sem_eq(n.get("completions"), o.get("completions")) {
        errs.push(Cause::invalid(
            "spec.completions",
            go_int_ptr(n.get("completions")),
            "field is immutable",
        ));
    }
    if !sem_eq(n.get("selector"), o.get("selector")) {
        errs.push(Cause::invalid(
            "spec.selector",
            go_selector(n.get("selector")),
            "field is immutable",
        ));
    }
    for f in ["completionMode", "podFailurePolicy", "manualSelector"] {
        if !sem_eq(n.get(f), o.get(f)) {
            let shown = match n.get(f) {
                Some(Value::String(s)) => q(s),
                Some(v) if !v.is_null() => v.to_string(),
                _ => "null".into(),
            };
            errs.push(Cause::invalid(
                child("spec", f),
                shown,
                "field is immutable",
            ));
        }
    }
    if !template_change_allowed(new, old) {
        errs.push(Cause::invalid(
            "spec.template",
            "core.PodTemplateSpec{...}",
            "field is immutable",
        ));
    }
    errs
}

/// The template may change only in its scheduling directives, and only while the Job is
/// suspended and has never started (upstream `JobMutableSchedulingDirectives`).
fn template_change_allowed(new: &Value, old: &Value) -> bool {
    let (nt, ot) = (spec_of(new).get("template"), spec_of(old).get("template"));
    if sem_eq(nt, ot) {
        return true;
    }
    let suspended_never_started = flag(spec_of(new), "suspend")
        && flag(spec_of(old), "suspend")
        && old.pointer("/status/startTime").is_none_or(Value::is_null);
    if !suspended_never_started {
        return false;
    }
    let strip = |t: Option<&Value>| {
        let mut t = t.cloned().unwrap_or(Value::Null);
        if let Some(m) = t.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("labels");
            m.remove("annotations");
        }
        if let Some(s) = t.get_mut("spec").and_then(Value::as_object_mut) {
            for f in ["nodeSelector", "tolerations", "affinity", "schedulingGates"] {
                s.remove(f);
            }
        }
        t
    };
    sem_eq(Some(&strip(nt)), Some(&strip(ot)))
}

/// `field.Invalid` with `field.OmitValueType{}`: the message has no value.
fn omitted_value(field: String, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        field,
        message: format!("Invalid value: {detail}"),
    }
}

fn go_int_ptr(v: Option<&Value>) -> String {
    match v.and_then(Value::as_i64) {
        Some(n) => n.to_string(),
        None => "null".into(),
    }
}

/// `validateJobSpec` (with `selector`: `ValidateJobSpec`, which also requires the selector and
/// its match with the template labels) for the spec at `path`.
pub(super) fn validate_spec(spec: &Value, path: &str, selector: bool) -> Errs {
    let p = |s: &str| format!("{path}.{s}");
    let mut errs = Errs::new();
    for f in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ] {
        if let Some(v) = int(spec, f) {
            nonneg(&mut errs, child(path, f), v);
        }
    }
    let mode = se(spec, "completionMode");
    if present(spec, "completionMode").is_some() && !matches!(mode, "NonIndexed" | "Indexed") {
        errs.push(Cause::not_supported(
            p("completionMode"),
            mode,
            &["NonIndexed", "Indexed"],
        ));
    }
    if mode == "Indexed" {
        if int(spec, "completions").is_none() {
            errs.push(Cause::required(
                p("completions"),
                "when completion mode is Indexed",
            ));
        }
        if let Some(n) = int(spec, "parallelism").filter(|n| *n > MAX_INDEXED) {
            errs.push(Cause::invalid(
                p("parallelism"),
                n,
                &format!(
                    "must be less than or equal to {MAX_INDEXED} when completion mode is Indexed"
                ),
            ));
        }
    }
    if let Some(policy) = present(spec, "podReplacementPolicy").and_then(Value::as_str) {
        let supported: &[&str] = if present(spec, "podFailurePolicy").is_some() {
            &["Failed"]
        } else {
            &["Failed", "TerminatingOrFailed"]
        };
        if !supported.contains(&policy) {
            errs.push(Cause::not_supported(
                p("podReplacementPolicy"),
                policy,
                supported,
            ));
        }
    }
    match present(spec, "selector").filter(|_| selector) {
        None if !selector => {}
        None => errs.push(Cause::required(p("selector"), "")),
        Some(sel) => {
            errs.extend(meta::validate_label_selector(Some(sel), &p("selector")));
            let labels = spec.pointer("/template/metadata/labels");
            if !meta::selector_is_empty(sel) && !meta::selector_matches(sel, labels) {
                errs.push(Cause::invalid(
                    p("template.metadata.labels"),
                    go_map(labels.filter(|l| !l.is_null())),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    let template = spec.get("template").unwrap_or(&Value::Null);
    errs.extend(pod::validate_pod_template(
        template,
        &p("template"),
        PodOpts::default(),
    ));
    let restart = template
        .pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("");
    if matches!(restart, "Always" | "") {
        errs.push(Cause::required(
            p("template.spec.restartPolicy"),
            "valid values: \"OnFailure\", \"Never\"",
        ));
    } else if !matches!(restart, "OnFailure" | "Never") {
        errs.push(Cause::not_supported(
            p("template.spec.restartPolicy"),
            restart,
            &["OnFailure", "Never"],
        ));
    } else if present(spec, "podFailurePolicy").is_some() && restart != "Never" {
        errs.push(invalid_str(
            p("template.spec.restartPolicy"),
            restart,
            "only \"Never\" is supported when podFailurePolicy is specified",
        ));
    }
    if let Some(policy) = present(spec, "podFailurePolicy") {
        validate_pod_failure_policy(spec, policy, path, &mut errs);
    }
    errs
}

/// `validatePodFailurePolicy`: each rule's action, and exactly one of its requirements.
fn validate_pod_failure_policy(spec: &Value, policy: &Value, path: &str, errs: &mut Errs) {
    let rules_path = &format!("{path}.podFailurePolicy.rules");
    for (i, rule) in arr(policy, "rules").iter().enumerate() {
        let path = index(rules_path, i);
        let action = se(rule, "action");
        if action.is_empty() {
            errs.push(Cause::required(
                child(&path, "action"),
                "valid values: [\"Count\" \"FailIndex\" \"FailJob\" \"Ignore\"]",
            ));
        } else if action == "FailIndex" && present(spec, "backoffLimitPerIndex").is_none() {
            errs.push(invalid_str(
                child(&path, "action"),
                action,
                "requires the backoffLimitPerIndex to be set",
            ));
        }
        if !action.is_empty() && !matches!(action, "FailJob" | "FailIndex" | "Ignore" | "Count") {
            errs.push(Cause::not_supported(
                child(&path, "action"),
                action,
                &["Count", "FailIndex", "FailJob", "Ignore"],
            ));
        }
        let codes = present(rule, "onExitCodes");
        let conds = !arr(rule, "onPodConditions").is_empty();
        match (codes, conds) {
            (Some(_), true) => errs.push(omitted_value(
                path.clone(),
                "specifying both OnExitCodes and OnPodConditions is not supported",
            )),
            (None, false) => errs.push(omitted_value(
                path.clone(),
                "specifying one of OnExitCodes and OnPodConditions is required",
            )),
            _ => {}
        }
        if let Some(c) = codes {
            let cpath = child(&path, "onExitCodes");
            let op = se(c, "operator");
            if !matches!(op, "In" | "NotIn") {
                errs.push(Cause::not_supported(
                    child(&cpath, "operator"),
                    op,
                    &["In", "NotIn"],
                ));
            }
            let values = arr(c, "values");
            if values.is_empty() {
                errs.push(Cause::invalid(
                    child(&cpath, "values"),
                    "[]int32{}",
                    "at least one value is required",
                ));
            }
            for (j, v) in values.iter().enumerate() {
                if op == "In" && v.as_i64() == Some(0) {
                    errs.push(Cause::invalid(
                        index(&child(&cpath, "values"), j),
                        0,
                        "must not be 0 for the In operator",
                    ));
                }
            }
        }
        for (j, c) in arr(rule, "onPodConditions").iter().enumerate() {
            let status = se(c, "status");
            if !matches!(status, "True" | "False" | "Unknown") {
                errs.push(Cause::not_supported(
                    child(&index(&child(&path, "onPodConditions"), j), "status"),
                    status,
                    &["False", "True", "Unknown"],
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A Job as the API server validates it: defaulted.
    fn job(spec: Value) -> Value {
        let mut j = json!({"metadata": {"name": "pi", "namespace": "d", "uid": "u"}, "spec": spec});
        crate::defaults::apply_defaults("Job", &mut j);
        j
    }

    fn msgs(errs: Errs) -> Vec<String> {
        errs.into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    fn good_spec() -> Value {
        json!({"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
               "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "u"}},
                            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}})
    }

    #[test]
    fn valid_job() {
        assert!(msgs(validate_job(&job(good_spec()))).is_empty());
    }

    #[test]
    fn upstream_texts() {
        let mut spec = good_spec();
        spec["template"]["spec"]["restartPolicy"] = json!("Always");
        spec["completionMode"] = json!("Indexed");
        spec["parallelism"] = json!(2);
        spec["backoffLimit"] = json!(-1);
        assert_eq!(
            msgs(validate_job(&job(spec))),
            [
                "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
                "spec.completions: Required value: when completion mode is Indexed",
                "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
            ]
        );
    }

    #[test]
    fn immutable_fields() {
        let old = job(good_spec());
        let mut new = old.clone();
        new["spec"]["completions"] = json!(3);
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx");
        assert_eq!(
            msgs(validate_job_update(&new, &old)),
            [
                "spec.completions: Invalid value: 3: field is immutable",
                "spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable",
            ]
        );
        // A suspended Job that never started may change its scheduling directives.
        let mut old = job(good_spec());
        old["spec"]["suspend"] = json!(true);
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["nodeSelector"] = json!({"zone": "a"});
        assert!(msgs(validate_job_update(&new, &old)).is_empty());
    }
}
