//! `batch/v1` CronJob (what `kubectl create cronjob` sends).

use super::super::schema::{f, Kind::*, Msg};
use super::{JOB_SPEC, OBJECT_META, OBJECT_REFERENCE};

/// `CronJob` (`api.batch.v1`).
pub(crate) static CRON_JOB: Msg = Msg {
    name: "CronJob",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&CRON_JOB_SPEC)),
        f(3, "status", Message(&CRON_JOB_STATUS)),
    ],
};
/// `CronJobSpec` (`api.batch.v1`); its pointer fields keep their zero values.
pub(crate) static CRON_JOB_SPEC: Msg = Msg {
    name: "CronJobSpec",
    fields: &[
        f(1, "schedule", Str).keep(),
        f(2, "startingDeadlineSeconds", Int).keep(),
        f(3, "concurrencyPolicy", Str),
        f(4, "suspend", Bool).keep(),
        f(5, "jobTemplate", Message(&JOB_TEMPLATE_SPEC)),
        f(6, "successfulJobsHistoryLimit", Int).keep(),
        f(7, "failedJobsHistoryLimit", Int).keep(),
        f(8, "timeZone", Str).keep(),
    ],
};
/// `JobTemplateSpec` (`api.batch.v1`).
pub(crate) static JOB_TEMPLATE_SPEC: Msg = Msg {
    name: "JobTemplateSpec",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&JOB_SPEC)),
    ],
};
/// `CronJobStatus` (`api.batch.v1`).
pub(crate) static CRON_JOB_STATUS: Msg = Msg {
    name: "CronJobStatus",
    fields: &[
        f(1, "active", Message(&OBJECT_REFERENCE)).rep(),
        f(4, "lastScheduleTime", Time),
        f(5, "lastSuccessfulTime", Time),
    ],
};
