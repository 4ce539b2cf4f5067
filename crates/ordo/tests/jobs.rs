//! End-to-end with the real kubectl on the simulated runtime: batch/v1 Jobs and their
//! controller. Simulated containers exit when their pod says so (`sim.ordo.dev/exit-after-ms`,
//! `sim.ordo.dev/exit-code`), so completions, Indexed Jobs, the back-off limit, the active
//! deadline, suspend and resume, and the TTL after finishing all run without processes.

mod common;
use common::*;

/// A Job manifest: `extra` goes into the spec, pods exit after `exit_ms` with `code`.
fn job(name: &str, extra: &str, exit_ms: Option<u64>, code: i32) -> String {
    let annotations = match exit_ms {
        Some(ms) => format!(
            "annotations: {{sim.ordo.dev/exit-after-ms: \"{ms}\", sim.ordo.dev/exit-code: \"{code}\"}}"
        ),
        None => "annotations: {}".into(),
    };
    format!(
        r#"apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  {extra}
  template:
    metadata: {{{annotations}}}
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox, command: [sh, -c, "exit {code}"]}}]
"#
    )
}

fn jsonpath(s: &Server, what: &str, path: &str) -> String {
    s.ok(&["get", what, "-o", &format!("jsonpath={path}")])
}

/// `type=status:reason` of each condition, in order.
fn conditions(s: &Server, job: &str) -> String {
    jsonpath(
        s,
        &format!("job/{job}"),
        "{range .status.conditions[*]}{.type}={.status}:{.reason} {end}",
    )
    .trim()
    .to_string()
}

#[test]
fn kubectl_create_job_is_served_listed_and_deleted_with_its_pods() {
    let s = Server::start();
    // kubectl create job sends protobuf.
    let out = s.ok(&[
        "create",
        "job",
        "hello",
        "--image=busybox",
        "--",
        "sh",
        "-c",
        "sleep 1000",
    ]);
    assert!(out.contains("job.batch/hello created"), "{out}");
    let uid = jsonpath(&s, "job/hello", "{.metadata.uid}");
    assert_eq!(
        jsonpath(&s, "job/hello", "{.spec.selector.matchLabels}"),
        format!("{{\"batch.kubernetes.io/controller-uid\":\"{uid}\"}}")
    );
    let labels = jsonpath(&s, "job/hello", "{.spec.template.metadata.labels}");
    for l in [
        format!("\"batch.kubernetes.io/controller-uid\":\"{uid}\""),
        "\"batch.kubernetes.io/job-name\":\"hello\"".to_string(),
        format!("\"controller-uid\":\"{uid}\""),
        "\"job-name\":\"hello\"".to_string(),
    ] {
        assert!(labels.contains(&l), "{labels} lacks {l}");
    }
    assert_eq!(
        jsonpath(
            &s,
            "job/hello",
            "{.spec.completions} {.spec.parallelism} {.spec.backoffLimit} {.spec.completionMode} {.spec.suspend} {.spec.podReplacementPolicy}"
        ),
        "1 1 6 NonIndexed false TerminatingOrFailed"
    );
    s.eventually(30, "a running pod of the job", || {
        jsonpath(&s, "pods", "{.items[*].status.phase}") == "Running"
    });
    let pod = jsonpath(&s, "pods", "{.items[0].metadata.name}");
    assert!(pod.starts_with("hello-"), "{pod}");
    assert_eq!(
        jsonpath(&s, &format!("pod/{pod}"), "{.metadata.finalizers}"),
        "[\"batch.kubernetes.io/job-tracking\"]"
    );
    assert_eq!(
        jsonpath(&s, &format!("pod/{pod}"), "{.metadata.labels.job-name}"),
        "hello"
    );
    s.eventually(30, "status active 1 and ready 1", || {
        jsonpath(&s, "job/hello", "{.status.active} {.status.ready}") == "1 1"
    });
    let t = table(&s.ok(&["get", "jobs"]));
    assert_eq!(t[0], ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]);
    assert_eq!(&t[1][..3], ["hello", "Running", "0/1"]);
    let wide = table(&s.ok(&["get", "jobs", "-o", "wide"]));
    assert_eq!(
        wide[0],
        [
            "NAME",
            "STATUS",
            "COMPLETIONS",
            "DURATION",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert_eq!(&wide[1][5..7], ["hello", "busybox"]);
    // kubectl get all lists jobs.
    assert!(s.ok(&["get", "all"]).contains("job.batch/hello"));
    // Validation with upstream's texts.
    let err = s.fails(&[
        "patch",
        "job/hello",
        "--type=merge",
        "-p",
        r#"{"spec":{"completions":3}}"#,
    ]);
    assert!(
        err.contains("spec.completions: Invalid value: 3: field is immutable"),
        "{err}"
    );
    let bad = job("bad", "backoffLimit: 1", None, 0)
        .replace("restartPolicy: Never", "restartPolicy: Always");
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(&bad));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never""#),
        "{err}"
    );
    // Deleting the Job deletes its pods, finalizer and all.
    s.ok(&["delete", "job", "hello", "--wait=true"]);
    s.eventually(60, "the job's pods gone", || {
        jsonpath(&s, "pods", "{.items[*].metadata.name}").is_empty()
    });
}

#[test]
fn completions_indexed_and_ttl() {
    let s = Server::start();
    s.apply(&job(
        "five",
        "completions: 5\n  parallelism: 2",
        Some(300),
        0,
    ));
    s.apply(&job(
        "idx",
        "completions: 3\n  parallelism: 3\n  completionMode: Indexed",
        Some(200),
        0,
    ));
    s.apply(&job("short", "ttlSecondsAfterFinished: 2", Some(100), 0));
    s.ok(&[
        "wait",
        "--for=condition=complete",
        "job/five",
        "job/idx",
        "--timeout=120s",
    ]);
    assert_eq!(
        jsonpath(
            &s,
            "job/five",
            "{.status.succeeded} {.status.active} {.status.ready} {.status.terminating}"
        ),
        "5 0 0 0"
    );
    assert_eq!(
        conditions(&s, "five"),
        "SuccessCriteriaMet=True:CompletionsReached Complete=True:CompletionsReached"
    );
    assert!(!jsonpath(&s, "job/five", "{.status.completionTime}").is_empty());
    let t = table(&s.ok(&["get", "job", "five"]));
    assert_eq!(&t[1][..3], ["five", "Complete", "5/5"]);
    // Five pods ran, each counted and released from the finalizer.
    let pods = jsonpath(
        &s,
        "pods",
        "{range .items[?(@.metadata.labels.job-name==\"five\")]}{.status.phase}:{.metadata.finalizers} {end}",
    );
    assert_eq!(
        pods.split_whitespace().collect::<Vec<_>>(),
        ["Succeeded:"; 5]
    );
    // Indexed: one pod per index, with its hostname, index label and JOB_COMPLETION_INDEX.
    assert_eq!(jsonpath(&s, "job/idx", "{.status.completedIndexes}"), "0-2");
    let idx = jsonpath(
        &s,
        "pods",
        "{range .items[?(@.metadata.labels.job-name==\"idx\")]}{.spec.hostname}={.metadata.labels.batch\\.kubernetes\\.io/job-completion-index} {end}",
    );
    let mut idx: Vec<&str> = idx.split_whitespace().collect();
    idx.sort();
    assert_eq!(idx, ["idx-0=0", "idx-1=1", "idx-2=2"]);
    let env = jsonpath(
        &s,
        "pods",
        "{.items[?(@.spec.hostname==\"idx-1\")].spec.containers[0].env[0].valueFrom.fieldRef.fieldPath}",
    );
    assert_eq!(
        env,
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    // The finished Job with a TTL is deleted (and its pod with it).
    s.eventually(60, "job/short deleted after its TTL", || {
        !s.ok(&["get", "jobs", "-o", "name"])
            .contains("job.batch/short")
    });
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=five",
    ]);
    for e in ["SuccessfulCreate", "Completed"] {
        assert!(events.contains(e), "{events}");
    }
}

#[test]
fn backoff_limit_deadline_and_suspend() {
    let s = Server::start();
    s.apply(&job("fails", "backoffLimit: 1", Some(100), 3));
    s.apply(&job("slow", "activeDeadlineSeconds: 3", None, 0));
    s.apply(&job("later", "suspend: true", Some(100), 0));
    // Suspended: no pods, the Suspended condition, STATUS Suspended.
    s.eventually(30, "job/later suspended", || {
        conditions(&s, "later") == "Suspended=True:JobSuspended"
    });
    let t = table(&s.ok(&["get", "job", "later"]));
    assert_eq!(&t[1][..3], ["later", "Suspended", "0/1"]);
    assert!(jsonpath(
        &s,
        "pods",
        "{.items[?(@.metadata.labels.job-name==\"later\")].metadata.name}"
    )
    .is_empty());
    s.ok(&[
        "patch",
        "job/later",
        "--type=merge",
        "-p",
        r#"{"spec":{"suspend":false}}"#,
    ]);
    s.ok(&[
        "wait",
        "--for=condition=complete",
        "job/later",
        "--timeout=60s",
    ]);
    assert!(conditions(&s, "later").starts_with("Suspended=False:JobResumed"));
    // The deadline fails the Job and deletes its running pod.
    s.ok(&[
        "wait",
        "--for=condition=failed",
        "job/slow",
        "--timeout=60s",
    ]);
    assert_eq!(
        conditions(&s, "slow"),
        "FailureTarget=True:DeadlineExceeded Failed=True:DeadlineExceeded"
    );
    assert_eq!(
        jsonpath(&s, "job/slow", "{.status.conditions[1].message}"),
        "Job was active longer than specified deadline"
    );
    s.eventually(60, "job/slow's pod gone", || {
        jsonpath(
            &s,
            "pods",
            "{.items[?(@.metadata.labels.job-name==\"slow\")].metadata.name}",
        )
        .is_empty()
    });
    // Two failures (the second after the 10 s back-off) exceed backoffLimit 1.
    s.ok(&[
        "wait",
        "--for=condition=failed",
        "job/fails",
        "--timeout=90s",
    ]);
    assert_eq!(jsonpath(&s, "job/fails", "{.status.failed}"), "2");
    assert_eq!(
        conditions(&s, "fails"),
        "FailureTarget=True:BackoffLimitExceeded Failed=True:BackoffLimitExceeded"
    );
    let t = table(&s.ok(&["get", "job", "fails"]));
    assert_eq!(&t[1][..3], ["fails", "Failed", "0/1"]);
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=fails",
    ]);
    assert!(
        events.contains("Job has reached the specified backoff limit"),
        "{events}"
    );
}
