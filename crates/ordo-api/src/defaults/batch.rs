//! `SetDefaults_Job` and the selector the Job strategy generates at create.

use super::{default_str, default_val, each, ensure_obj, template};
use serde_json::{json, Value};

/// The legacy label with the Job's name on its pods (`batch.LegacyJobNameLabel`).
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
/// The label with the Job's name on its pods (`batch.JobNameLabel`).
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// The legacy label with the Job's uid (`batch.LegacyControllerUidLabel`).
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// The label with the Job's uid, the generated selector's key (`batch.ControllerUidLabel`).
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";

/// `SetDefaults_Job` (batch/v1).
pub(super) fn job(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    let unset = |s: &Value, k: &str| s.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec["completions"] = json!(1);
    }
    default_val(spec, "parallelism", json!(1));
    let backoff = if unset(spec, "backoffLimitPerIndex") {
        6
    } else {
        i64::from(i32::MAX)
    };
    default_val(spec, "backoffLimit", json!(backoff));
    default_str(spec, "completionMode", "NonIndexed");
    default_val(spec, "suspend", json!(false));
    let has_policy = !unset(spec, "podFailurePolicy");
    if has_policy {
        each(&mut spec["podFailurePolicy"], "rules", |r| {
            each(r, "onPodConditions", |c| default_str(c, "status", "True"))
        });
    }
    let replacement = if has_policy {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    default_str(spec, "podReplacementPolicy", replacement);
    template(spec);
    copy_template_labels(obj);
}

/// `SetDefaults_CronJob` (batch/v1) and the pod defaults of its job template (the Job spec
/// itself is not defaulted, as upstream: no completions or backoffLimit in the template).
pub(super) fn cronjob(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    default_str(spec, "concurrencyPolicy", "Allow");
    default_val(spec, "suspend", json!(false));
    default_val(spec, "successfulJobsHistoryLimit", json!(3));
    default_val(spec, "failedJobsHistoryLimit", json!(1));
    template(ensure_obj(ensure_obj(spec, "jobTemplate"), "spec"));
}

/// Upstream's defaulting gives a Job without labels its template's labels.
fn copy_template_labels(obj: &mut Value) {
    let labels = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.is_object())
        .cloned();
    let empty = obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .is_none_or(|l| l.is_empty());
    if let (Some(labels), true) = (labels, empty) {
        ensure_obj(obj, "metadata")["labels"] = labels;
    }
}

/// The Job strategy's `generateSelector` (unless `spec.manualSelector`): the name and uid
/// labels on the template (kept when the user set them) and a selector on the uid label;
/// then the labels defaulting would copy. Needs `metadata.name` and `metadata.uid` set.
pub fn generate_job_selector(obj: &mut Value) {
    if obj.pointer("/spec/manualSelector") == Some(&json!(true)) {
        return;
    }
    let meta = |k: &str| {
        obj.pointer(&format!("/metadata/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (name, uid) = (meta("name"), meta("uid"));
    let spec = ensure_obj(obj, "spec");
    let labels = ensure_obj(
        ensure_obj(ensure_obj(spec, "template"), "metadata"),
        "labels",
    );
    for (k, v) in [
        (LEGACY_JOB_NAME_LABEL, &name),
        (JOB_NAME_LABEL, &name),
        (LEGACY_CONTROLLER_UID_LABEL, &uid),
        (CONTROLLER_UID_LABEL, &uid),
    ] {
        default_val(labels, k, json!(v));
    }
    let selector = ensure_obj(ensure_obj(spec, "selector"), "matchLabels");
    default_val(selector, CONTROLLER_UID_LABEL, json!(uid));
    copy_template_labels(obj);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cronjob_defaults() {
        let mut cj = json!({"metadata": {"name": "c"}, "spec": {"schedule": "*/1 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "i"}]}}}}}});
        crate::defaults::apply_defaults("CronJob", &mut cj);
        let s = &cj["spec"];
        assert_eq!(
            (
                &s["concurrencyPolicy"],
                &s["suspend"],
                &s["successfulJobsHistoryLimit"],
                &s["failedJobsHistoryLimit"]
            ),
            (&json!("Allow"), &json!(false), &json!(3), &json!(1))
        );
        assert!(s["jobTemplate"]["spec"].get("backoffLimit").is_none());
        assert_eq!(
            s["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"],
            "ClusterFirst"
        );
    }

    #[test]
    fn job_defaults_and_generated_selector() {
        let mut j = json!({"metadata": {"name": "pi", "uid": "u1"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}});
        crate::defaults::apply_defaults("Job", &mut j);
        let s = &j["spec"];
        assert_eq!(
            (&s["completions"], &s["parallelism"], &s["backoffLimit"]),
            (&json!(1), &json!(1), &json!(6))
        );
        assert_eq!(
            (
                &s["completionMode"],
                &s["suspend"],
                &s["podReplacementPolicy"]
            ),
            (
                &json!("NonIndexed"),
                &json!(false),
                &json!("TerminatingOrFailed")
            )
        );
        generate_job_selector(&mut j);
        assert_eq!(
            j["spec"]["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}})
        );
        let labels = json!({"batch.kubernetes.io/controller-uid": "u1", "batch.kubernetes.io/job-name": "pi",
                            "controller-uid": "u1", "job-name": "pi"});
        assert_eq!(j["spec"]["template"]["metadata"]["labels"], labels);
        assert_eq!(j["metadata"]["labels"], labels);
        // Parallelism alone leaves completions unset (a work queue).
        let mut w = json!({"spec": {"parallelism": 3, "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}});
        crate::defaults::apply_defaults("Job", &mut w);
        assert!(w["spec"].get("completions").is_none());
        assert_eq!(w["spec"]["podReplacementPolicy"], "Failed");
        assert_eq!(
            w["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"],
            "True"
        );
    }
}
