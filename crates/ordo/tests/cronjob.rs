//! End-to-end with the real kubectl on the simulated runtime: batch/v1 CronJobs and their
//! controller. Cron's granularity is the minute, so every scenario runs side by side in one
//! server and the test waits for two minute boundaries at most: `kubectl create cronjob` with
//! `*/1 * * * *` (a Job at the next boundary whose pod completes), `kubectl get cronjob`,
//! Forbid and Replace while a Job runs, suspend and resume, `kubectl create job
//! --from=cronjob/X` and the history limit, and validation with upstream's texts.

mod common;
use common::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn jsonpath(s: &Server, what: &str, path: &str) -> String {
    s.ok(&["get", what, "-o", &format!("jsonpath={path}")])
}

fn epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A CronJob manifest: `*/1 * * * *`, `extra` in the spec, pods exiting after `exit_ms`
/// (running until deleted without).
fn cronjob(name: &str, extra: &str, exit_ms: Option<u64>) -> String {
    let annotations = match exit_ms {
        Some(ms) => format!("{{sim.ordo.dev/exit-after-ms: \"{ms}\"}}"),
        None => "{}".into(),
    };
    format!(
        r#"apiVersion: batch/v1
kind: CronJob
metadata: {{name: {name}}}
spec:
  schedule: "*/1 * * * *"
  {extra}
  jobTemplate:
    metadata: {{labels: {{team: {name}}}}}
    spec:
      template:
        metadata: {{annotations: {annotations}}}
        spec:
          restartPolicy: Never
          containers: [{{name: main, image: busybox}}]
"#
    )
}

/// The names of the Jobs controlled by CronJob `cj`, sorted.
fn jobs_of(s: &Server, cj: &str) -> Vec<String> {
    let out = jsonpath(
        s,
        "jobs",
        "{range .items[*]}{.metadata.name} {.metadata.ownerReferences[0].name}{\"\\n\"}{end}",
    );
    let mut names: Vec<String> = out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, owner)| *owner == cj)
        .map(|(n, _)| n.to_string())
        .collect();
    names.sort();
    names
}

/// `reason: message` of the events about CronJob `cj`.
fn events_of(s: &Server, cj: &str) -> String {
    s.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.kind=CronJob,involvedObject.name={cj}"),
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
    ])
}

#[test]
fn cronjobs_schedule_forbid_replace_suspend_and_prune() {
    let s = Server::start();
    // Not too close to a minute boundary, so that the patch below lands before the first run.
    let into_minute = epoch() % 60;
    if into_minute > 50 {
        std::thread::sleep(Duration::from_secs(62 - into_minute));
    }
    // kubectl create cronjob sends protobuf.
    let out = s.ok(&[
        "create",
        "cronjob",
        "hello",
        "--image=busybox",
        "--schedule=*/1 * * * *",
        "--",
        "sh",
        "-c",
        "date",
    ]);
    assert!(out.contains("cronjob.batch/hello created"), "{out}");
    s.ok(&[
        "patch",
        "cronjob",
        "hello",
        "--type=merge",
        "-p",
        r#"{"spec":{"jobTemplate":{"spec":{"template":{"metadata":{"annotations":{"sim.ordo.dev/exit-after-ms":"300"}}}}}}}"#,
    ]);
    assert_eq!(
        jsonpath(
            &s,
            "cronjob/hello",
            "{.spec.concurrencyPolicy} {.spec.suspend} {.spec.successfulJobsHistoryLimit} {.spec.failedJobsHistoryLimit} {.spec.jobTemplate.spec.template.spec.restartPolicy}"
        ),
        "Allow false 3 1 OnFailure"
    );
    s.apply(&cronjob("forbid", "concurrencyPolicy: Forbid", None));
    s.apply(&cronjob("replace", "concurrencyPolicy: Replace", None));
    s.apply(&cronjob("sleepy", "suspend: true", Some(300)));
    s.apply(&cronjob(
        "hist",
        "suspend: true\n  successfulJobsHistoryLimit: 1",
        Some(300),
    ));

    // Validation with upstream's texts, and the short name and category.
    let err = s.fails(&[
        "create",
        "cronjob",
        "bad",
        "--image=busybox",
        "--schedule=61 * * * *",
    ]);
    assert!(
        err.contains(
            "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"
        ),
        "{err}"
    );
    let err = s.fails(&[
        "create",
        "cronjob",
        "bad",
        "--image=busybox",
        "--schedule=TZ=UTC 0 * * * *",
    ]);
    assert!(
        err.contains("cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
        "{err}"
    );
    let long = "a".repeat(53);
    let err = s.fails(&[
        "create",
        "cronjob",
        &long,
        "--image=busybox",
        "--schedule=@hourly",
    ]);
    assert!(err.contains("must be no more than 52 characters"), "{err}");
    assert!(s.ok(&["get", "cj"]).contains("hello"));
    assert!(s.ok(&["get", "all"]).contains("cronjob.batch/hello"));

    // kubectl create job --from=cronjob/X: a manual Job owned by the CronJob; with
    // successfulJobsHistoryLimit 1, the older of two finished ones is deleted.
    s.ok(&["create", "job", "manual-1", "--from=cronjob/hist"]);
    assert_eq!(
        jsonpath(
            &s,
            "job/manual-1",
            "{.metadata.annotations.cronjob\\.kubernetes\\.io/instantiate} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.metadata.labels.team}"
        ),
        "manual CronJob/hist hist"
    );
    s.eventually(30, "manual-1 complete", || {
        jsonpath(&s, "job/manual-1", "{.status.succeeded}") == "1"
    });
    s.ok(&["create", "job", "manual-2", "--from=cronjob/hist"]);
    s.eventually(30, "manual-1 pruned, manual-2 kept", || {
        jobs_of(&s, "hist") == ["manual-2"]
            && jsonpath(&s, "job/manual-2", "{.status.succeeded}") == "1"
    });
    let ev = events_of(&s, "hist");
    assert!(
        ev.contains("SuccessfulDelete: Deleted job manual-1"),
        "{ev}"
    );
    assert!(
        ev.contains(
            "UnexpectedJob: Saw a job that the controller did not create or forgot: manual-"
        ),
        "{ev}"
    );
    assert!(!jsonpath(&s, "cronjob/hist", "{.status.lastSuccessfulTime}").is_empty());

    // The first scheduled run: a Job named by its schedule time in minutes since the epoch.
    s.eventually(75, "hello's first job", || !jobs_of(&s, "hello").is_empty());
    let first = jobs_of(&s, "hello")[0].clone();
    let minutes: u64 = first.trim_start_matches("hello-").parse().unwrap();
    let scheduled = jsonpath(
        &s,
        &format!("job/{first}"),
        "{.metadata.annotations.batch\\.kubernetes\\.io/cronjob-scheduled-timestamp}",
    );
    let last = jsonpath(&s, "cronjob/hello", "{.status.lastScheduleTime}");
    assert_eq!(scheduled, last);
    let secs = chrono_secs(&scheduled);
    assert_eq!(secs, minutes * 60, "{scheduled} vs {first}");
    assert_eq!(
        jsonpath(
            &s,
            &format!("job/{first}"),
            "{.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].controller}"
        ),
        "CronJob true"
    );
    s.eventually(
        30,
        "hello's job complete and out of the active list",
        || {
            jsonpath(&s, &format!("job/{first}"), "{.status.succeeded}") == "1"
                && jsonpath(&s, "cronjob/hello", "{.status.active}").is_empty()
                && !jsonpath(&s, "cronjob/hello", "{.status.lastSuccessfulTime}").is_empty()
        },
    );
    let ev = events_of(&s, "hello");
    assert!(
        ev.contains(&format!("SuccessfulCreate: Created job {first}")),
        "{ev}"
    );
    assert!(
        ev.contains(&format!(
            "SawCompletedJob: Saw completed job: {first}, status: Complete"
        )),
        "{ev}"
    );
    let t = table(&s.ok(&["get", "cronjob", "hello"]));
    assert_eq!(
        t[0],
        ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    );
    assert_eq!(t[1][0], "hello");
    assert_eq!(&t[1][1..6], ["*/1", "*", "*", "*", "*"]);
    assert_eq!(&t[1][6..9], ["<none>", "False", "0"]);
    let wide = table(&s.ok(&["get", "cronjob", "hello", "-o", "wide"]));
    assert_eq!(&wide[0][8..], ["CONTAINERS", "IMAGES", "SELECTOR"]);
    assert_eq!(&wide[1][11..], ["hello", "busybox", "<none>"]);

    // Forbid and Replace both started their first Job at that boundary (pods run on).
    let forbid_first = jobs_of(&s, "forbid");
    let replace_first = jobs_of(&s, "replace");
    assert_eq!(forbid_first.len(), 1, "{forbid_first:?}");
    assert_eq!(replace_first.len(), 1, "{replace_first:?}");
    assert!(jobs_of(&s, "sleepy").is_empty(), "suspended");
    // The next boundary: Forbid skips, Replace deletes its Job and starts a new one.
    s.eventually(75, "replace's second job", || {
        let now = jobs_of(&s, "replace");
        !now.is_empty() && now != replace_first
    });
    s.eventually(20, "the replaced job gone", || {
        jobs_of(&s, "replace").len() == 1
    });
    let ev = events_of(&s, "replace");
    assert!(
        ev.contains(&format!(
            "SuccessfulDelete: Deleted job {}",
            replace_first[0]
        )),
        "{ev}"
    );
    s.eventually(20, "forbid's JobAlreadyActive", || {
        events_of(&s, "forbid").contains(
            "JobAlreadyActive: Not starting job because prior execution is running and concurrency policy is Forbid",
        )
    });
    assert_eq!(jobs_of(&s, "forbid"), forbid_first);
    assert_eq!(
        jsonpath(&s, "cronjob/forbid", "{.status.active[*].name}"),
        forbid_first[0]
    );
    // hello ran again and keeps its history (limit 3).
    s.eventually(20, "hello's second job", || jobs_of(&s, "hello").len() == 2);

    // Resuming a suspended CronJob starts the most recent missed run at once.
    assert!(jobs_of(&s, "sleepy").is_empty(), "suspended");
    s.ok(&[
        "patch",
        "cronjob",
        "sleepy",
        "-p",
        r#"{"spec":{"suspend":false}}"#,
    ]);
    s.eventually(15, "sleepy's job after resume", || {
        jobs_of(&s, "sleepy").len() == 1
    });

    // Deleting a CronJob deletes its Jobs (garbage collector, controller owner references).
    s.ok(&["delete", "cronjob", "replace"]);
    s.eventually(30, "replace's jobs collected", || {
        jobs_of(&s, "replace").is_empty()
    });
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SSZ`.
fn chrono_secs(ts: &str) -> u64 {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", ts, "+%s"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
