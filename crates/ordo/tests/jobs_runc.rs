//! End-to-end with real containers: a Job whose busybox pod exits 0 completes, one whose pod
//! exits 1 fails on its back-off limit, and both leave their pods counted and released from
//! the job-tracking finalizer. `kubectl wait --for=condition=complete|failed` follows them.
//!
//! Needs root and runc; runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::Server;

const JOBS: &str = r#"
apiVersion: batch/v1
kind: Job
metadata: {name: ok}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: "busybox:1.28", command: [sh, -c, "exit 0"]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: bad}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: "busybox:1.28", command: [sh, -c, "exit 1"]}]
"#;

#[test]
#[ignore = "needs root and runc"]
fn busybox_jobs_complete_and_fail() {
    busybox_scenario(scenario);
}

fn job_field(s: &Server, job: &str, path: &str) -> String {
    s.ok(&["get", "job", job, "-o", &format!("jsonpath={path}")])
}

fn scenario(s: &Server) {
    s.apply(JOBS);
    s.ok(&[
        "wait",
        "--for=condition=complete",
        "job/ok",
        "--timeout=120s",
    ]);
    s.ok(&[
        "wait",
        "--for=condition=failed",
        "job/bad",
        "--timeout=120s",
    ]);
    assert_eq!(
        job_field(s, "ok", "{.status.succeeded} {.status.active}"),
        "1 0"
    );
    assert_eq!(
        job_field(s, "bad", "{.status.failed} {.status.active}"),
        "1 0"
    );
    assert_eq!(
        job_field(
            s,
            "bad",
            "{.status.conditions[?(@.type==\"Failed\")].reason}"
        ),
        "BackoffLimitExceeded"
    );
    let pods = s.ok(&[
        "get",
        "pods",
        "-o",
        "jsonpath={range .items[*]}{.metadata.labels.job-name}:{.status.phase}:{.status.containerStatuses[0].state.terminated.exitCode}:{.metadata.finalizers} {end}",
    ]);
    let mut pods: Vec<&str> = pods.split_whitespace().collect();
    pods.sort();
    assert_eq!(pods, ["bad:Failed:1:", "ok:Succeeded:0:"]);
    let t = common::table(&s.ok(&["get", "jobs"]));
    assert_eq!(&t[1][..3], ["bad", "Failed", "0/1"]);
    assert_eq!(&t[2][..3], ["ok", "Complete", "1/1"]);
    s.ok(&["delete", "jobs", "--all"]);
}
