//! The CronJob controller's decisions on a fixed clock.

use super::logic::*;
use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use serde_json::json;
use std::time::Duration;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A CronJob created at `created`, with `spec` merged over defaults.
fn cronjob(created: &str, spec: serde_json::Value) -> CronJob {
    let mut base = json!({"schedule": "*/1 * * * *", "concurrencyPolicy": "Allow", "suspend": false,
        "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
        "jobTemplate": {"metadata": {"labels": {"app": "x"}, "annotations": {"a": "b"}},
                        "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}});
    for (k, v) in spec.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(
        json!({"metadata": {"name": "hello", "namespace": "d", "uid": "cj-uid",
        "creationTimestamp": created}, "spec": base, "status": {}}),
    )
    .unwrap()
}

fn with_status(mut cj: CronJob, status: serde_json::Value) -> CronJob {
    cj.status = Some(serde_json::from_value(status).unwrap());
    cj
}

fn job(name: &str, uid: &str, start: &str, cond: Option<&str>) -> Job {
    let conditions = match cond {
        Some(c) => json!([{"type": c, "status": "True"}]),
        None => json!([]),
    };
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": "d", "uid": uid,
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "hello", "uid": "cj-uid", "controller": true}]},
        "status": {"startTime": start, "completionTime": start, "conditions": conditions}}))
    .unwrap()
}

fn status_of(cj: &CronJob) -> CronJobStatus {
    cj.status.clone().unwrap_or_default()
}

fn reasons(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.reason).collect()
}

#[test]
fn first_job_at_the_next_minute() {
    let cj = cronjob("2026-12-07T23:50:12Z", json!({}));
    // Before the first schedule time: nothing, requeue at 23:51:00.1.
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:50:30Z"));
    assert!(d.start.is_none());
    assert_eq!(d.requeue, Some(Duration::from_millis(30_100)));
    // At it: the Job for 23:51, named by minutes since the epoch.
    let now = at("2026-12-07T23:51:00.2Z");
    let d = decide(&cj, &status_of(&cj), now);
    let start = d.start.expect("a job is due");
    assert_eq!(start.scheduled, at("2026-12-07T23:51:00Z"));
    let minutes = at("2026-12-07T23:51:00Z").timestamp() / 60;
    let job = &start.job;
    assert_eq!(
        job.metadata.name.as_deref(),
        Some(format!("hello-{minutes}").as_str())
    );
    let ann = job.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann["a"], "b");
    assert_eq!(ann[SCHEDULED_TIMESTAMP_ANNOTATION], "2026-12-07T23:51:00Z");
    assert_eq!(job.metadata.labels.as_ref().unwrap()["app"], "x");
    let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("CronJob", "cj-uid", Some(true))
    );
    // Requeued for 23:52 (from the status that will hold 23:51).
    assert_eq!(d.requeue, Some(Duration::from_millis(59_900)));
    // Once lastScheduleTime says 23:51, the same minute starts nothing.
    let cj = with_status(cj, json!({"lastScheduleTime": "2026-12-07T23:51:00Z"}));
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:51:30Z"));
    assert!(d.start.is_none());
}

#[test]
fn missed_schedules_start_only_the_most_recent() {
    let cj = with_status(
        cronjob("2026-12-07T20:00:00Z", json!({"schedule": "0 * * * *"})),
        json!({"lastScheduleTime": "2026-12-07T20:00:00Z"}),
    );
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:10:00Z"));
    assert_eq!(d.start.unwrap().scheduled, at("2026-12-07T23:00:00Z"));
    assert!(d.events.is_empty());
    // More than 100 missed: still started, with upstream's warning.
    let cj = with_status(
        cronjob("2026-01-01T00:00:00Z", json!({})),
        json!({"lastScheduleTime": "2026-12-07T20:00:00Z"}),
    );
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:10:30Z"));
    assert_eq!(reasons(&d.events), ["TooManyMissedTimes"]);
    assert_eq!(d.start.unwrap().scheduled, at("2026-12-07T23:10:00Z"));
}

#[test]
fn starting_deadline() {
    // Deadline 10 s: at 23:51:30 the 23:51 run is too late.
    let cj = with_status(
        cronjob(
            "2026-12-07T23:50:12Z",
            json!({"startingDeadlineSeconds": 10}),
        ),
        json!({}),
    );
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:51:30Z"));
    assert!(d.start.is_none());
    assert!(
        d.events.is_empty(),
        "past the deadline no time is considered"
    );
    // Deadline 60 s at 23:51:30: still in time.
    let cj = cronjob(
        "2026-12-07T23:50:12Z",
        json!({"startingDeadlineSeconds": 60}),
    );
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:51:30Z"));
    assert_eq!(d.start.unwrap().scheduled, at("2026-12-07T23:51:00Z"));
    // A deadline shorter than the distance to the most recent time: MissSchedule.
    let cj = cronjob(
        "2026-12-07T22:00:00Z",
        json!({"schedule": "0 * * * *", "startingDeadlineSeconds": 600}),
    );
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:05:00Z"));
    assert!(d.start.is_some());
    let cj = with_status(
        cronjob(
            "2026-12-07T22:00:00Z",
            json!({"schedule": "*/30 * * * *", "startingDeadlineSeconds": 2400}),
        ),
        json!({}),
    );
    // Window starts 22:35; the most recent time (23:00) is 15 min ago, within 40 min.
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:15:00Z"));
    assert_eq!(d.start.unwrap().scheduled, at("2026-12-07T23:00:00Z"));
}

#[test]
fn forbid_and_replace() {
    let running = json!({"active": [{"kind": "Job", "name": "hello-1", "uid": "j1", "namespace": "d"}],
        "lastScheduleTime": "2026-12-07T23:50:00Z"});
    let forbid = with_status(
        cronjob(
            "2026-12-07T23:40:00Z",
            json!({"concurrencyPolicy": "Forbid"}),
        ),
        running.clone(),
    );
    let d = decide(&forbid, &status_of(&forbid), at("2026-12-07T23:51:01Z"));
    assert!(d.start.is_none());
    assert_eq!(reasons(&d.events), ["JobAlreadyActive"]);
    assert_eq!(d.requeue, Some(Duration::from_millis(59_100)));
    let replace = with_status(
        cronjob(
            "2026-12-07T23:40:00Z",
            json!({"concurrencyPolicy": "Replace"}),
        ),
        running.clone(),
    );
    let d = decide(&replace, &status_of(&replace), at("2026-12-07T23:51:01Z"));
    let start = d.start.unwrap();
    assert_eq!(start.replace.len(), 1);
    assert_eq!(start.replace[0].name.as_deref(), Some("hello-1"));
    let allow = with_status(cronjob("2026-12-07T23:40:00Z", json!({})), running);
    let d = decide(&allow, &status_of(&allow), at("2026-12-07T23:51:01Z"));
    assert!(d.start.unwrap().replace.is_empty());
}

#[test]
fn suspend_and_bad_schedules() {
    let cj = cronjob("2026-12-07T23:40:00Z", json!({"suspend": true}));
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:51:01Z"));
    assert!(d.start.is_none() && d.requeue.is_none() && d.events.is_empty());
    let cj = cronjob("2026-12-07T23:40:00Z", json!({"schedule": "61 * * * *"}));
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:51:01Z"));
    assert_eq!(reasons(&d.events), ["UnparseableSchedule"]);
    assert_eq!(
        d.events[0].message,
        "unparseable schedule: \"61 * * * *\" : end of range (61) above maximum (59): 61"
    );
    let cj = cronjob("2026-12-07T23:40:00Z", json!({"schedule": "0 0 30 2 *"}));
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:51:01Z"));
    assert!(d.start.is_none() && d.requeue.is_none());
    let cj = cronjob("2026-12-07T23:40:00Z", json!({"timeZone": "Mars/Olympus"}));
    let d = decide(&cj, &status_of(&cj), at("2026-12-07T23:51:01Z"));
    assert_eq!(reasons(&d.events), ["UnknownTimeZone"]);
}

#[test]
fn time_zones_including_a_dst_day() {
    // 02:30 every day in New York: on 2026-03-08 that time does not exist, so the run after
    // 2026-03-07 02:30 EST is 2026-03-09 02:30 EDT.
    let cj = with_status(
        cronjob(
            "2026-03-01T00:00:00Z",
            json!({"schedule": "30 2 * * *", "timeZone": "America/New_York"}),
        ),
        json!({"lastScheduleTime": "2026-03-07T07:30:00Z"}),
    );
    let d = decide(&cj, &status_of(&cj), at("2026-03-08T12:00:00Z"));
    assert!(d.start.is_none());
    let next = at("2026-03-09T06:30:00Z");
    let wait = (next - at("2026-03-08T12:00:00Z")).to_std().unwrap() + Duration::from_millis(100);
    assert_eq!(d.requeue, Some(wait));
    let d = decide(&cj, &status_of(&cj), at("2026-03-09T06:30:01Z"));
    let start = d.start.unwrap();
    assert_eq!(start.scheduled, next);
    // The annotation is in the CronJob's zone.
    assert_eq!(
        start.job.metadata.annotations.as_ref().unwrap()[SCHEDULED_TIMESTAMP_ANNOTATION],
        "2026-03-09T02:30:00-04:00"
    );
    // 09:00 Tokyo is 00:00 UTC.
    let cj = cronjob(
        "2026-12-07T12:00:00Z",
        json!({"schedule": "0 9 * * *", "timeZone": "Asia/Tokyo"}),
    );
    let d = decide(&cj, &status_of(&cj), at("2026-12-08T00:00:05Z"));
    assert_eq!(d.start.unwrap().scheduled, at("2026-12-08T00:00:00Z"));
}

#[test]
fn observe_finished_and_unexpected_jobs() {
    let cj = with_status(
        cronjob("2026-12-07T23:40:00Z", json!({})),
        json!({"active": [{"kind": "Job", "name": "hello-1", "uid": "j1"}, {"kind": "Job", "name": "hello-2", "uid": "j2"}]}),
    );
    let done = job("hello-1", "j1", "2026-12-07T23:41:00Z", Some("Complete"));
    let manual = job("manual", "m1", "2026-12-07T23:42:00Z", None);
    let o = observe(&cj, &[&done, &manual]);
    assert_eq!(reasons(&o.events), ["SawCompletedJob", "UnexpectedJob"]);
    assert_eq!(
        o.events[0].message,
        "Saw completed job: hello-1, status: Complete"
    );
    assert_eq!(
        o.events[1].message,
        "Saw a job that the controller did not create or forgot: manual"
    );
    let active: Vec<_> = o
        .status
        .active
        .iter()
        .flatten()
        .map(|r| r.name.clone().unwrap())
        .collect();
    assert_eq!(active, ["hello-2"]);
    assert_eq!(o.missing.len(), 1, "hello-2 is not in the cache");
    // A Job that succeeded outside the active list still sets lastSuccessfulTime.
    let o = observe(
        &cj,
        &[&job("old", "o1", "2026-12-07T23:30:00Z", Some("Complete"))],
    );
    assert_eq!(
        o.status.last_successful_time.map(|t| to_chrono(&t)),
        Some(at("2026-12-07T23:30:00Z"))
    );
}

#[test]
fn history_limits_prune_the_oldest() {
    let cj = cronjob(
        "2026-12-07T23:40:00Z",
        json!({"successfulJobsHistoryLimit": 2, "failedJobsHistoryLimit": 0}),
    );
    let jobs = [
        job("hello-3", "3", "2026-12-07T23:43:00Z", Some("Complete")),
        job("hello-1", "1", "2026-12-07T23:41:00Z", Some("Complete")),
        job("hello-2", "2", "2026-12-07T23:42:00Z", Some("Complete")),
        job("hello-4", "4", "2026-12-07T23:44:00Z", Some("Failed")),
        job("hello-5", "5", "2026-12-07T23:45:00Z", None),
    ];
    let refs: Vec<&Job> = jobs.iter().collect();
    let gone: Vec<_> = prune(&cj, &refs)
        .iter()
        .map(|j| j.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(gone, ["hello-1", "hello-4"]);
}
