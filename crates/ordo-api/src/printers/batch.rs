//! Job and CronJob printers (upstream `printJob`, `printCronJob`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    age, arr_at, container_cells, format_label_selector, get, int_at, name, str_at, wide, Col,
    Printer, AGE, NAME,
};
use crate::duration::{human_duration, parse_timestamp};

/// The wide columns of Jobs and CronJobs (their pod template and selector).
const CONTAINERS: Col = wide("Containers", "Names of each container in the template.");
const IMAGES: Col = wide(
    "Images",
    "Images referenced by each container in the template.",
);
const SELECTOR: Col = wide(
    "Selector",
    "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
);

const JOB_COLUMNS: &[Col] = &[
    NAME,
    super::col("Status", "Status of the job."),
    super::col(
        "Completions",
        "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
    ),
    super::col("Duration", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(crate) static JOB: Printer = Printer {
    columns: JOB_COLUMNS,
    cells: job_cells,
};

/// Whether the Job has condition `ty` with status True (upstream `hasJobCondition`).
fn has_condition(job: &Value, ty: &str) -> bool {
    arr_at(job, &["status", "conditions"])
        .iter()
        .any(|c| str_at(c, &["type"]) == ty && str_at(c, &["status"]) == "True")
}

fn job_status(job: &Value) -> &'static str {
    if has_condition(job, "Complete") {
        "Complete"
    } else if has_condition(job, "Failed") {
        "Failed"
    } else if get(job, &["metadata", "deletionTimestamp"]).is_some_and(|d| !d.is_null()) {
        "Terminating"
    } else if has_condition(job, "Suspended") {
        "Suspended"
    } else if has_condition(job, "FailureTarget") {
        "FailureTarget"
    } else if has_condition(job, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    }
}

fn job_cells(job: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let succeeded = int_at(job, &["status", "succeeded"]);
    let completions = match get(job, &["spec", "completions"]).and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => match int_at(job, &["spec", "parallelism"]) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let time = |f: &str| parse_timestamp(str_at(job, &["status", f]));
    let duration = match (time("startTime"), time("completionTime")) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(now - start),
        (Some(start), Some(end)) => human_duration(end - start),
    };
    let (containers, images) = container_cells(get(job, &["spec", "template", "spec"]));
    vec![
        name(job),
        job_status(job).into(),
        completions.into(),
        duration.into(),
        age(job, now),
        containers,
        images,
        format_label_selector(get(job, &["spec", "selector"])).into(),
    ]
}

const CRON_JOB_COLUMNS: &[Col] = &[
    NAME,
    super::col(
        "Schedule",
        "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
    ),
    super::col(
        "Timezone",
        "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
    ),
    super::typed(
        "Suspend",
        "boolean",
        "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.",
    ),
    super::typed(
        "Active",
        "integer",
        "A list of pointers to currently running jobs.",
    ),
    super::col(
        "Last Schedule",
        "Information when was the last time the job was successfully scheduled.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

pub(crate) static CRON_JOB: Printer = Printer {
    columns: CRON_JOB_COLUMNS,
    cells: cron_job_cells,
};

fn cron_job_cells(cj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let last = match parse_timestamp(str_at(cj, &["status", "lastScheduleTime"])) {
        Some(t) => human_duration(now - t),
        None => "<none>".into(),
    };
    let zone = match get(cj, &["spec", "timeZone"]).and_then(Value::as_str) {
        Some(z) => z.to_string(),
        None => "<none>".into(),
    };
    let suspend = match get(cj, &["spec", "suspend"]).and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let job_spec = get(cj, &["spec", "jobTemplate", "spec"]);
    let (containers, images) = container_cells(
        job_spec
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("spec")),
    );
    vec![
        name(cj),
        str_at(cj, &["spec", "schedule"]).into(),
        zone.into(),
        suspend.into(),
        (arr_at(cj, &["status", "active"]).len() as i64).into(),
        last.into(),
        age(cj, now),
        containers,
        images,
        format_label_selector(job_spec.and_then(|s| s.get("selector"))).into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{names, row};
    use serde_json::json;

    #[test]
    fn job_rows() {
        assert_eq!(
            names("Job"),
            [
                "Name",
                "Status",
                "Completions",
                "Duration",
                "Age",
                "Containers*",
                "Images*",
                "Selector*"
            ]
        );
        let job = json!({"metadata": {"name": "pi", "creationTimestamp": "2026-11-25T14:29:00Z"},
            "spec": {"completions": 3, "parallelism": 2, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
                     "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}},
            "status": {"succeeded": 3, "startTime": "2026-11-25T14:29:10Z", "completionTime": "2026-11-25T14:29:40Z",
                       "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}});
        let r = row("Job", &job);
        assert_eq!(
            r,
            [
                json!("pi"),
                json!("Complete"),
                json!("3/3"),
                json!("30s"),
                json!("60s"),
                json!("pi"),
                json!("perl"),
                json!("batch.kubernetes.io/controller-uid=u")
            ]
        );
        let running = json!({"metadata": {"name": "w"}, "spec": {"parallelism": 4},
            "status": {"startTime": "2026-11-25T14:29:50Z"}});
        let r = row("Job", &running);
        assert_eq!(
            (&r[1], &r[2], &r[3]),
            (&json!("Running"), &json!("0/1 of 4"), &json!("10s"))
        );
        let failed = json!({"metadata": {"name": "f"}, "spec": {"completions": 1},
            "status": {"failed": 7, "conditions": [{"type": "FailureTarget", "status": "True"}]}});
        assert_eq!(row("Job", &failed)[1], json!("FailureTarget"));
    }

    #[test]
    fn cron_job_rows() {
        assert_eq!(
            names("CronJob"),
            [
                "Name",
                "Schedule",
                "Timezone",
                "Suspend",
                "Active",
                "Last Schedule",
                "Age",
                "Containers*",
                "Images*",
                "Selector*"
            ]
        );
        let cj = json!({"metadata": {"name": "hello", "creationTimestamp": "2026-11-25T14:20:00Z"},
            "spec": {"schedule": "*/1 * * * *", "suspend": false,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "hello", "image": "busybox"}]}}}}},
            "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": "2026-11-25T14:29:00Z"}});
        assert_eq!(
            row("CronJob", &cj),
            [
                json!("hello"),
                json!("*/1 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(1),
                json!("60s"),
                json!("10m"),
                json!("hello"),
                json!("busybox"),
                json!("<none>")
            ]
        );
    }
}
