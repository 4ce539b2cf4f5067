//! CronJob validation (upstream `pkg/apis/batch/validation`: `ValidateCronJobCreate`,
//! `ValidateCronJobUpdate`, `validateCronJobSpec`, `ValidateJobTemplateSpec`).

use super::batch::validate_spec as validate_job_spec;
use super::meta;
use super::names::NameRule;
use super::util::*;
use crate::cron;
use crate::status::Cause;
use serde_json::Value;

/// The longest CronJob name: a Job name (a DNS-1035 label, 63) less the controller's
/// 11-character `-<minutes>` suffix.
const MAX_NAME: usize = 63 - 11;

fn spec_of(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// `ValidateCronJobCreate`.
pub(crate) fn validate_cronjob(cj: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(cj, Some(true), NameRule::Subdomain);
    errs.extend(validate_cronjob_spec(spec_of(cj), None));
    let name = cj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.len() > MAX_NAME {
        errs.push(invalid_str(
            "metadata.name",
            name,
            "must be no more than 52 characters",
        ));
    }
    errs
}

/// `ValidateCronJobUpdate` (no name length check, so that older long names stay updatable).
pub(crate) fn validate_cronjob_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_cronjob_spec(spec_of(new), Some(spec_of(old))));
    errs
}

/// `validateCronJobSpec`.
fn validate_cronjob_spec(spec: &Value, old: Option<&Value>) -> Errs {
    let mut errs = Errs::new();
    let schedule = se(spec, "schedule");
    let time_zone = present(spec, "timeZone").and_then(Value::as_str);
    if schedule.is_empty() {
        errs.push(Cause::required("spec.schedule", ""));
    } else {
        let allow_tz = old.is_some_and(|o| se(o, "schedule").contains("TZ"));
        errs.extend(validate_schedule(schedule, allow_tz, time_zone));
    }
    if let Some(v) = int(spec, "startingDeadlineSeconds") {
        nonneg(&mut errs, "spec.startingDeadlineSeconds", v);
    }
    let old_zone = old
        .and_then(|o| present(o, "timeZone"))
        .and_then(Value::as_str);
    if old.is_none() || old_zone != time_zone {
        errs.extend(validate_time_zone(time_zone));
    }
    let policy = se(spec, "concurrencyPolicy");
    match policy {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(Cause::required("spec.concurrencyPolicy", "")),
        p => errs.push(Cause::not_supported(
            "spec.concurrencyPolicy",
            p,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    errs.extend(validate_job_template(
        spec.get("jobTemplate").unwrap_or(&Value::Null),
    ));
    for f in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        if let Some(v) = int(spec, f) {
            nonneg(&mut errs, child("spec", f), v);
        }
    }
    errs
}

/// `validateScheduleFormat`: the parser's error, and no `TZ=` in a new schedule.
fn validate_schedule(schedule: &str, allow_tz: bool, time_zone: Option<&str>) -> Errs {
    let mut errs = Errs::new();
    if let Err(e) = cron::parse_standard(schedule) {
        errs.push(invalid_str("spec.schedule", schedule, &e));
    }
    if allow_tz && schedule.contains("TZ") && time_zone.is_some() {
        errs.push(invalid_str(
            "spec.schedule",
            schedule,
            "cannot use both timeZone field and TZ or CRON_TZ in schedule",
        ));
    } else if !allow_tz && schedule.contains("TZ") {
        errs.push(invalid_str(
            "spec.schedule",
            schedule,
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        ));
    }
    errs
}

/// Upstream `validTimeZoneCharacters`: `^[A-Za-z\.\-_0-9+]{1,14}$` for each path element.
fn valid_zone_part(part: &str) -> bool {
    (1..=14).contains(&part.len())
        && part
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+'))
}

/// `validateTimeZone`: an explicit IANA name known to the tz database.
fn validate_time_zone(time_zone: Option<&str>) -> Errs {
    let mut errs = Errs::new();
    let Some(tz) = time_zone else {
        return errs;
    };
    let path = "spec.timeZone";
    if tz.is_empty() {
        errs.push(invalid_str(
            path,
            tz,
            "timeZone must be nil or non-empty string",
        ));
        return errs;
    }
    for part in tz.split('/') {
        if part == "." || part == ".." || part.starts_with('-') || !valid_zone_part(part) {
            errs.push(invalid_str(path, tz, &format!("unknown time zone {tz}")));
            return errs;
        }
    }
    if tz.eq_ignore_ascii_case("Local") {
        errs.push(invalid_str(
            path,
            tz,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        ));
    } else if let Err(e) = cron::load_location(tz) {
        errs.push(invalid_str(path, tz, &e));
    }
    errs
}

/// `ValidateJobTemplateSpec`: the Job spec, whose selector is always generated.
fn validate_job_template(template: &Value) -> Errs {
    let spec = template.get("spec").unwrap_or(&Value::Null);
    let mut errs = validate_job_spec(spec, "spec.jobTemplate.spec", false);
    if let Some(sel) = present(spec, "selector") {
        errs.push(Cause::invalid(
            "spec.jobTemplate.spec.selector",
            go_selector(Some(sel)),
            "`selector` will be auto-generated",
        ));
    }
    if flag(spec, "manualSelector") {
        errs.push(Cause::not_supported(
            "spec.jobTemplate.spec.manualSelector",
            "true",
            &["nil", "false"],
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cronjob(name: &str, spec: Value) -> Value {
        let mut cj = json!({"metadata": {"name": name, "namespace": "d"}, "spec": spec});
        crate::defaults::apply_defaults("CronJob", &mut cj);
        cj
    }

    fn good_spec() -> Value {
        json!({"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}})
    }

    fn msgs(errs: Errs) -> Vec<String> {
        errs.into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn valid_cronjob() {
        assert!(msgs(validate_cronjob(&cronjob("hello", good_spec()))).is_empty());
        let mut spec = good_spec();
        spec["timeZone"] = json!("Europe/Berlin");
        spec["schedule"] = json!("@daily");
        assert!(msgs(validate_cronjob(&cronjob("hello", spec))).is_empty());
    }

    #[test]
    fn upstream_texts() {
        let mut spec = good_spec();
        spec["schedule"] = json!("61 * * * *");
        spec["startingDeadlineSeconds"] = json!(-1);
        spec["timeZone"] = json!("Mars/Olympus");
        spec["concurrencyPolicy"] = json!("Sometimes");
        spec["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        let long = "a".repeat(53);
        assert_eq!(
            msgs(validate_cronjob(&cronjob(&long, spec))),
            [
                "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61",
                "spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0",
                "spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus",
                "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
                "spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
                &format!("metadata.name: Invalid value: \"{long}\": must be no more than 52 characters"),
            ]
        );
        let mut spec = good_spec();
        spec["schedule"] = json!("TZ=UTC 0 * * * *");
        spec["timeZone"] = json!("Local");
        assert_eq!(
            msgs(validate_cronjob(&cronjob("c", spec))),
            [
                "spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                "spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
            ]
        );
        let mut spec = good_spec();
        spec["jobTemplate"]["spec"]["selector"] = json!({"matchLabels": {"a": "b"}});
        assert_eq!(
            msgs(validate_cronjob(&cronjob("c", spec))),
            ["spec.jobTemplate.spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` will be auto-generated"]
        );
    }

    #[test]
    fn update_keeps_legacy_tz_and_long_names() {
        let mut old = cronjob(&"a".repeat(60), good_spec());
        old["spec"]["schedule"] = json!("TZ=UTC 0 * * * *");
        let new = old.clone();
        assert!(msgs(validate_cronjob_update(&new, &old)).is_empty());
    }
}
