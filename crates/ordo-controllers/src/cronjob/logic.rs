//! The CronJob controller's decisions, free of I/O (upstream `cronjob_controllerv2.go`
//! `syncCronJob`/`cleanupFinishedJobs` and `utils.go`): what the Jobs say about the status,
//! whether a Job is due and which, when to look again, which finished Jobs to prune.

use chrono::{DateTime, Duration as Span, Utc};
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use ordo_api::cron::{self, Schedule};
use std::collections::BTreeMap;
use std::time::Duration;

/// The annotation with a Job's scheduled time (RFC 3339, in the CronJob's time zone).
pub const SCHEDULED_TIMESTAMP_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// Upstream `nextScheduleDelta`: requeue this long after a schedule time (clock skew).
const NEXT_SCHEDULE_DELTA: Span = Span::milliseconds(100);

/// More missed start times than this are not started (upstream's arbitrary 100).
const MANY_MISSED: i64 = 100;

/// One event to record on the CronJob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Warning (else Normal).
    pub warning: bool,
    /// Upstream's reason.
    pub reason: &'static str,
    /// Upstream's message.
    pub message: String,
}

fn normal(reason: &'static str, message: String) -> Event {
    Event {
        warning: false,
        reason,
        message,
    }
}

fn warning(reason: &'static str, message: String) -> Event {
    Event {
        warning: true,
        reason,
        message,
    }
}

/// A `Time` as chrono.
pub fn to_chrono(t: &Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

/// A chrono time as a `Time`.
pub fn to_time(t: DateTime<Utc>) -> Time {
    Time(Timestamp::new(t.timestamp(), t.timestamp_subsec_nanos() as i32).unwrap_or_default())
}

/// The condition type (`Complete` or `Failed`) of a finished Job (upstream `FinishedCondition`).
pub fn finished_condition(job: &Job) -> Option<&str> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| matches!(c.type_.as_str(), "Complete" | "Failed") && c.status == "True")
        .map(|c| c.type_.as_str())
}

/// Whether `job` is controlled by a CronJob named `name` (upstream matches by name).
pub fn controlled_by(job: &Job, name: &str) -> bool {
    job.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.controller == Some(true) && r.kind == "CronJob" && r.name == name)
}

fn active(status: &CronJobStatus) -> &[ObjectReference] {
    status.active.as_deref().unwrap_or(&[])
}

fn in_active(status: &CronJobStatus, uid: &str) -> bool {
    active(status).iter().any(|r| r.uid.as_deref() == Some(uid))
}

/// Drops the Job with `uid` from the active list.
pub fn remove_active(status: &mut CronJobStatus, uid: &str) {
    if let Some(a) = status.active.as_mut() {
        a.retain(|r| r.uid.as_deref() != Some(uid));
        if a.is_empty() {
            status.active = None;
        }
    }
}

/// Upstream `getRef`: the reference to a Job kept in `status.active`.
pub fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// What the CronJob's Jobs say (the first loop of upstream's `syncCronJob`).
#[derive(Debug, Default)]
pub struct Observed {
    /// The status with finished Jobs out of the active list and `lastSuccessfulTime`.
    pub status: CronJobStatus,
    /// Events to record.
    pub events: Vec<Event>,
    /// Active references whose Job is not among `jobs` (the caller checks the API: a Job
    /// that is really gone leaves the list with a `MissingJob` event).
    pub missing: Vec<ObjectReference>,
}

/// Folds the Jobs controlled by `cj` into its status.
pub fn observe(cj: &CronJob, jobs: &[&Job]) -> Observed {
    let mut status = cj.status.clone().unwrap_or_default();
    let mut events = Vec::new();
    for job in jobs {
        let uid = job.metadata.uid.as_deref().unwrap_or("");
        let name = job.metadata.name.as_deref().unwrap_or("");
        let found = in_active(&status, uid);
        let finished = finished_condition(job);
        match finished {
            None if !found => events.push(warning(
                "UnexpectedJob",
                format!("Saw a job that the controller did not create or forgot: {name}"),
            )),
            Some(cond) if found => {
                remove_active(&mut status, uid);
                events.push(normal(
                    "SawCompletedJob",
                    format!("Saw completed job: {name}, status: {cond}"),
                ));
            }
            Some("Complete") => {
                let done = job.status.as_ref().and_then(|s| s.completion_time.clone());
                if let Some(done) = done {
                    if status
                        .last_successful_time
                        .as_ref()
                        .is_none_or(|last| done.0 > last.0)
                    {
                        status.last_successful_time = Some(done);
                    }
                }
            }
            _ => {}
        }
    }
    let missing = active(&status)
        .iter()
        .filter(|r| {
            !jobs
                .iter()
                .any(|j| j.metadata.uid.is_some() && j.metadata.uid == r.uid)
        })
        .cloned()
        .collect();
    Observed {
        status,
        events,
        missing,
    }
}

/// Upstream `formatSchedule` and `cron.ParseStandard`: the schedule in `spec.timeZone`.
/// `Err` carries the event that says why there is none.
pub fn schedule_of(cj: &CronJob, events: &mut Vec<Event>) -> Result<Schedule, Event> {
    let spec = cj.spec.as_ref();
    let text = spec.map(|s| s.schedule.as_str()).unwrap_or("");
    let zone = spec.and_then(|s| s.time_zone.as_deref());
    let mut tz = None;
    if let Some(name) = zone {
        match cron::load_location(name) {
            Ok(z) => tz = Some(z),
            Err(e) => {
                return Err(warning(
                    "UnknownTimeZone",
                    format!("invalid timeZone: {name:?}: {e}"),
                ))
            }
        }
    }
    if text.contains("TZ") {
        events.push(warning(
            "UnsupportedSchedule",
            format!("CRON_TZ or TZ used in schedule {text:?} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"),
        ));
        tz = None;
    }
    match cron::parse_standard(text) {
        Ok(s) => Ok(match tz {
            Some(z) => s.in_zone(z),
            None => s,
        }),
        Err(e) => Err(warning(
            "UnparseableSchedule",
            format!("unparseable schedule: {text:?} : {e}"),
        )),
    }
}

/// How many schedule times were missed (upstream `missedSchedulesType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// None.
    None,
    /// A few: the most recent one is started.
    Few,
    /// More than 100: started all the same, with a `TooManyMissedTimes` warning.
    Many,
}

/// What upstream's `mostRecentScheduleTime` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recent {
    /// The earliest time considered: the last schedule time or the creation time, or the
    /// start of the starting deadline's window.
    pub earliest: DateTime<Utc>,
    /// The most recent schedule time after `earliest` and not after now.
    pub most_recent: Option<DateTime<Utc>>,
    /// How many schedule times were missed.
    pub missed: Missed,
}

/// Upstream `mostRecentScheduleTime` (see [`Recent`]).
pub fn most_recent_schedule_time(
    cj: &CronJob,
    status: &CronJobStatus,
    now: DateTime<Utc>,
    schedule: &Schedule,
    with_deadline: bool,
) -> Result<Recent, String> {
    let recent = |earliest, most_recent, missed| Recent {
        earliest,
        most_recent,
        missed,
    };
    let mut earliest = status
        .last_schedule_time
        .as_ref()
        .or(cj.metadata.creation_timestamp.as_ref())
        .map(to_chrono)
        .unwrap_or(now);
    if let Some(deadline) = cj
        .spec
        .as_ref()
        .and_then(|s| s.starting_deadline_seconds)
        .filter(|_| with_deadline)
    {
        let limit = now - Span::seconds(deadline);
        if limit > earliest {
            earliest = limit;
        }
    }
    let Some(t1) = schedule.next(earliest) else {
        return Ok(recent(earliest, None, Missed::None));
    };
    if now < t1 {
        return Ok(recent(earliest, None, Missed::None));
    }
    let Some(t2) = schedule.next(t1) else {
        return Ok(recent(earliest, Some(t1), Missed::None));
    };
    if now < t2 {
        return Ok(recent(earliest, Some(t1), Missed::None));
    }
    let between = (t2 - t1 + Span::milliseconds(500)).num_seconds();
    if between < 1 {
        return Err("time difference between two schedules is less than 1 second".into());
    }
    let elapsed = (now - t1).num_seconds();
    let missed = elapsed / between + 1;
    let mut most_recent = None;
    let mut t = schedule.next(t1 + Span::seconds((missed - 2) * between));
    while let Some(at) = t.filter(|at| *at <= now) {
        most_recent = Some(at);
        t = schedule.next(at);
    }
    let kind = if missed > MANY_MISSED {
        Missed::Many
    } else {
        Missed::Few
    };
    Ok(recent(earliest, most_recent, kind))
}

/// Upstream `nextScheduleTimeDuration`: how long until the next schedule time after the
/// most recent one (plus 100 ms).
pub fn requeue_after(
    cj: &CronJob,
    status: &CronJobStatus,
    now: DateTime<Utc>,
    schedule: &Schedule,
) -> Option<Duration> {
    let base = match most_recent_schedule_time(cj, status, now, schedule, false) {
        Err(_) => now,
        Ok(r) => r.most_recent.unwrap_or(r.earliest),
    };
    let next = schedule.next(base)? + NEXT_SCHEDULE_DELTA;
    Some((next - now).to_std().unwrap_or(Duration::ZERO))
}

/// Upstream `getJobName`: the CronJob's name and the scheduled time in minutes since the epoch.
pub fn job_name(cj_name: &str, scheduled: DateTime<Utc>) -> String {
    format!("{cj_name}-{}", scheduled.timestamp().div_euclid(60))
}

/// Upstream `getJobFromTemplate2`: the Job for `scheduled`, with the template's labels and
/// annotations, the scheduled-timestamp annotation and a controller reference.
pub fn job_for(cj: &CronJob, scheduled: DateTime<Utc>) -> Job {
    let spec = cj.spec.clone().unwrap_or_default();
    let template = spec.job_template;
    let tmeta = template.metadata.unwrap_or_default();
    let mut annotations: BTreeMap<String, String> = tmeta.annotations.unwrap_or_default();
    // The zone of spec.timeZone; UTC without one (Go's LoadLocation("")).
    let zone = spec
        .time_zone
        .as_deref()
        .and_then(|z| cron::load_location(z).ok())
        .unwrap_or(chrono_tz::Tz::UTC);
    annotations.insert(
        SCHEDULED_TIMESTAMP_ANNOTATION.into(),
        scheduled
            .with_timezone(&zone)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(
                &cj.metadata.name.clone().unwrap_or_default(),
                scheduled,
            )),
            namespace: cj.metadata.namespace.clone(),
            labels: tmeta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name: cj.metadata.name.clone().unwrap_or_default(),
                uid: cj.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// A Job to start.
#[derive(Debug, Clone)]
pub struct Start {
    /// Its schedule time.
    pub scheduled: DateTime<Utc>,
    /// The Job to create.
    pub job: Job,
    /// Active Jobs to delete first (`concurrencyPolicy: Replace`).
    pub replace: Vec<ObjectReference>,
}

/// What to do now about the schedule.
#[derive(Debug, Default)]
pub struct Decision {
    /// Events to record.
    pub events: Vec<Event>,
    /// The Job to start, if one is due.
    pub start: Option<Start>,
    /// When to look again (None: only when something changes).
    pub requeue: Option<Duration>,
}

/// The schedule half of upstream's `syncCronJob`, on the status that [`observe`] returned.
pub fn decide(cj: &CronJob, status: &CronJobStatus, now: DateTime<Utc>) -> Decision {
    let mut d = Decision::default();
    if cj.metadata.deletion_timestamp.is_some() {
        return d;
    }
    let spec = cj.spec.clone().unwrap_or_default();
    let mut events = Vec::new();
    let schedule = match schedule_of(cj, &mut events) {
        Ok(s) => s,
        Err(e) => {
            // The zone check comes before suspension upstream; a bad schedule after it.
            if e.reason == "UnknownTimeZone" || spec.suspend != Some(true) {
                d.events.push(e);
            }
            return d;
        }
    };
    if spec.suspend == Some(true) {
        return d;
    }
    d.events.extend(events);
    let requeue = |status: &CronJobStatus| requeue_after(cj, status, now, &schedule);
    let scheduled = match most_recent_schedule_time(cj, status, now, &schedule, true) {
        Err(e) => {
            d.events.push(warning(
                "InvalidSchedule",
                format!("invalid schedule: {} : {e}", spec.schedule),
            ));
            return d;
        }
        Ok(Recent {
            most_recent: None, ..
        }) => {
            d.requeue = requeue(status);
            return d;
        }
        Ok(Recent {
            most_recent: Some(t),
            missed,
            ..
        }) => {
            if missed == Missed::Many {
                d.events.push(warning(
                    "TooManyMissedTimes",
                    "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".into(),
                ));
            }
            t
        }
    };
    let too_late = spec
        .starting_deadline_seconds
        .is_some_and(|s| scheduled + Span::seconds(s) < now);
    if too_late {
        d.events.push(warning(
            "MissSchedule",
            format!(
                "Missed scheduled time to start a job: {}",
                scheduled.format("%a, %d %b %Y %H:%M:%S %z")
            ),
        ));
        d.requeue = requeue(status);
        return d;
    }
    let name = job_name(cj.metadata.name.as_deref().unwrap_or(""), scheduled);
    let done = active(status)
        .iter()
        .any(|r| r.name.as_deref() == Some(name.as_str()))
        || status
            .last_schedule_time
            .as_ref()
            .is_some_and(|t| to_chrono(t) == scheduled);
    if done {
        d.requeue = requeue(status);
        return d;
    }
    let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
    if policy == "Forbid" && !active(status).is_empty() {
        d.events.push(normal(
            "JobAlreadyActive",
            "Not starting job because prior execution is running and concurrency policy is Forbid"
                .into(),
        ));
        d.requeue = requeue(status);
        return d;
    }
    let replace = if policy == "Replace" {
        active(status).to_vec()
    } else {
        Vec::new()
    };
    // The next look is from the status as it will be once this Job is in it.
    let mut after = status.clone();
    after.last_schedule_time = Some(to_time(scheduled));
    d.requeue = requeue(&after);
    d.start = Some(Start {
        scheduled,
        job: job_for(cj, scheduled),
        replace,
    });
    d
}

/// Upstream `byJobStartTime`: by start time (none last), then by name.
fn oldest_first(a: &&Job, b: &&Job) -> std::cmp::Ordering {
    let start = |j: &Job| j.status.as_ref().and_then(|s| s.start_time.clone());
    match (start(a), start(b)) {
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (x, y) if x == y => a.metadata.name.cmp(&b.metadata.name),
        (Some(x), Some(y)) => x.0.cmp(&y.0),
        (None, None) => a.metadata.name.cmp(&b.metadata.name),
    }
}

/// Upstream `cleanupFinishedJobs`: the oldest finished Jobs past the history limits
/// (`successfulJobsHistoryLimit` for Complete, `failedJobsHistoryLimit` for Failed).
pub fn prune<'a>(cj: &CronJob, jobs: &[&'a Job]) -> Vec<&'a Job> {
    let spec = cj.spec.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (cond, limit) in [
        ("Complete", spec.successful_jobs_history_limit),
        ("Failed", spec.failed_jobs_history_limit),
    ] {
        let Some(limit) = limit else { continue };
        let mut finished: Vec<&Job> = jobs
            .iter()
            .copied()
            .filter(|j| finished_condition(j) == Some(cond))
            .collect();
        let excess = finished.len().saturating_sub(limit.max(0) as usize);
        finished.sort_by(oldest_first);
        out.extend(finished.into_iter().take(excess));
    }
    out
}
