//! Unit tests of the Job controller's decisions.

use super::logic::{plan, Backoff, MSG_BACKOFF, MSG_COMPLETIONS, MSG_DEADLINE};
use super::pods::{
    format_indexes, match_failure_policy, new_pod, parse_indexes, PolicyAction, COMPLETION_INDEX,
    JOB_TRACKING_FINALIZER,
};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;
use std::time::Duration;

fn now() -> Timestamp {
    "2026-12-07T12:00:00Z".parse().unwrap()
}

fn job(spec: serde_json::Value, status: serde_json::Value) -> Job {
    let mut s = json!({"parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
        "suspend": false, "podReplacementPolicy": "TerminatingOrFailed",
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "j1"}},
        "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "j1"}},
                     "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}});
    for (k, v) in spec.as_object().unwrap() {
        s[k] = v.clone();
    }
    serde_json::from_value(
        json!({"metadata": {"name": "pi", "namespace": "d", "uid": "j1"},
        "spec": s, "status": status}),
    )
    .unwrap()
}

fn pod(name: &str, phase: &str, index: Option<i32>) -> Pod {
    let mut p = json!({"metadata": {"name": name, "namespace": "d", "uid": format!("u-{name}"),
        "finalizers": [JOB_TRACKING_FINALIZER],
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "j1", "controller": true}]},
        "status": {"phase": phase}});
    if let Some(i) = index {
        p["metadata"]["annotations"] = json!({COMPLETION_INDEX: i.to_string()});
    }
    serde_json::from_value(p).unwrap()
}

fn cond<'a>(p: &'a super::logic::Plan, ty: &str) -> Option<(&'a str, &'a str)> {
    p.status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == ty)
        .map(|c| (c.status.as_str(), c.reason.as_deref().unwrap_or("")))
}

#[test]
fn creates_up_to_parallelism_within_completions() {
    let j = job(
        json!({"parallelism": 3, "completions": 5}),
        json!({"succeeded": 3}),
    );
    let p = plan(&j, &[], Backoff::default(), now());
    assert_eq!(p.create, vec![None, None]);
    assert_eq!(p.status.active, Some(2));
    assert!(p.status.start_time.is_some());
    let running = pod("a", "Running", None);
    let p = plan(&j, &[&running], Backoff::default(), now());
    assert_eq!(p.create.len(), 1);
}

#[test]
fn counts_through_uncounted_then_completes() {
    let j = job(json!({}), json!({"startTime": "2026-12-07T11:59:00Z"}));
    let done = pod("a", "Succeeded", None);
    let p = plan(&j, &[&done], Backoff::default(), now());
    let interim = p.interim.as_ref().unwrap();
    assert_eq!(
        interim
            .uncounted_terminated_pods
            .as_ref()
            .unwrap()
            .succeeded,
        Some(vec!["u-a".to_string()])
    );
    assert_eq!(p.unfinalize, ["a"]);
    assert_eq!(p.status.succeeded, Some(1));
    assert_eq!(
        cond(&p, "SuccessCriteriaMet"),
        Some(("True", "CompletionsReached"))
    );
    assert_eq!(cond(&p, "Complete"), Some(("True", "CompletionsReached")));
    assert!(p.status.completion_time.is_some());
    assert_eq!(p.events[0].1, "Completed");
    assert!(p.create.is_empty());
    let c = p.status.conditions.as_ref().unwrap();
    assert_eq!(c[0].message.as_deref(), Some(MSG_COMPLETIONS));
    assert_eq!(c[0].type_, "SuccessCriteriaMet");
}

#[test]
fn waits_for_terminating_pods_before_the_terminal_condition() {
    let j = job(
        json!({"completions": 1, "parallelism": 2}),
        json!({"startTime": "2026-12-07T11:59:00Z"}),
    );
    let done = pod("a", "Succeeded", None);
    let other = pod("b", "Running", None);
    let p = plan(&j, &[&done, &other], Backoff::default(), now());
    assert_eq!(p.delete, ["b"]);
    assert_eq!(
        cond(&p, "SuccessCriteriaMet"),
        Some(("True", "CompletionsReached"))
    );
    assert_eq!(cond(&p, "Complete"), None);
    assert_eq!(p.status.terminating, Some(1));
}

#[test]
fn indexed_pods_get_index_hostname_and_env() {
    let j = job(
        json!({"completionMode": "Indexed", "completions": 4, "parallelism": 2}),
        json!({"completedIndexes": "0"}),
    );
    let running = pod("pi-1-x", "Running", Some(1));
    let p = plan(&j, &[&running], Backoff::default(), now());
    assert_eq!(p.create, vec![Some(2)]);
    let np = new_pod(&j, Some(2));
    assert_eq!(np.metadata.generate_name.as_deref(), Some("pi-2-"));
    assert_eq!(
        np.metadata.annotations.as_ref().unwrap()[COMPLETION_INDEX],
        "2"
    );
    assert_eq!(np.metadata.labels.as_ref().unwrap()[COMPLETION_INDEX], "2");
    let spec = np.spec.unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("pi-2"));
    let env = &spec.containers[0].env.as_ref().unwrap()[0];
    assert_eq!(env.name, "JOB_COMPLETION_INDEX");
    assert_eq!(
        env.value_from
            .as_ref()
            .unwrap()
            .field_ref
            .as_ref()
            .unwrap()
            .field_path,
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    assert_eq!(np.metadata.finalizers.unwrap(), [JOB_TRACKING_FINALIZER]);
    // Succeeded index 3 completes the set with 0-2.
    let j = job(
        json!({"completionMode": "Indexed", "completions": 4, "parallelism": 2}),
        json!({"completedIndexes": "0-2", "succeeded": 3}),
    );
    let done = pod("pi-3-x", "Succeeded", Some(3));
    let p = plan(&j, &[&done], Backoff::default(), now());
    assert_eq!(p.status.completed_indexes.as_deref(), Some("0-3"));
    assert_eq!(cond(&p, "Complete"), Some(("True", "CompletionsReached")));
}

#[test]
fn backoff_limit_fails_the_job_after_failure_target() {
    let j = job(
        json!({"backoffLimit": 1, "parallelism": 2, "completions": 4}),
        json!({"failed": 1, "startTime": "2026-12-07T11:59:00Z"}),
    );
    let failed = pod("a", "Failed", None);
    let running = pod("b", "Running", None);
    let p = plan(&j, &[&failed, &running], Backoff::default(), now());
    assert_eq!(
        cond(&p, "FailureTarget"),
        Some(("True", "BackoffLimitExceeded"))
    );
    assert_eq!(cond(&p, "Failed"), None);
    assert_eq!(p.delete, ["b"]);
    assert_eq!(p.status.failed, Some(3));
    // Once nothing runs, Failed follows with the same reason and message.
    let j = job(
        json!({"backoffLimit": 1}),
        serde_json::to_value(&p.status).unwrap(),
    );
    let p = plan(&j, &[], Backoff::default(), now());
    assert_eq!(cond(&p, "Failed"), Some(("True", "BackoffLimitExceeded")));
    assert_eq!(
        p.events,
        [(true, "BackoffLimitExceeded", MSG_BACKOFF.to_string())]
    );
}

#[test]
fn pod_backoff_doubles_from_ten_seconds_to_six_minutes() {
    let at = |failures| {
        Backoff {
            failures,
            last_failure: Some(now()),
        }
        .remaining(now())
    };
    assert_eq!(at(0), Duration::ZERO);
    assert_eq!(at(1), Duration::from_secs(10));
    assert_eq!(at(3), Duration::from_secs(40));
    assert_eq!(at(10), Duration::from_secs(360));
    // A failure holds back the replacement, and the sync comes back when it is due.
    let j = job(json!({}), json!({"startTime": "2026-12-07T11:59:00Z"}));
    let failed = pod("a", "Failed", None);
    let p = plan(&j, &[&failed], Backoff::default(), now());
    assert!(p.create.is_empty());
    assert_eq!(p.backoff.failures, 1);
    assert_eq!(p.requeue, Some(Duration::from_secs(10)));
}

#[test]
fn active_deadline() {
    let j = job(
        json!({"activeDeadlineSeconds": 30}),
        json!({"startTime": "2026-12-07T11:59:00Z"}),
    );
    let running = pod("a", "Running", None);
    let p = plan(&j, &[&running], Backoff::default(), now());
    let c = p.status.conditions.as_ref().unwrap();
    assert_eq!(
        (c[0].type_.as_str(), c[0].reason.as_deref()),
        ("FailureTarget", Some("DeadlineExceeded"))
    );
    assert_eq!(c[0].message.as_deref(), Some(MSG_DEADLINE));
    assert_eq!(p.delete, ["a"]);
}

#[test]
fn suspend_and_resume() {
    let j = job(
        json!({"suspend": true}),
        json!({"startTime": "2026-12-07T11:59:00Z"}),
    );
    let running = pod("a", "Running", None);
    let p = plan(&j, &[&running], Backoff::default(), now());
    assert_eq!(cond(&p, "Suspended"), Some(("True", "JobSuspended")));
    assert_eq!(p.delete, ["a"]);
    assert_eq!(p.unfinalize, ["a"]);
    assert_eq!(
        p.events,
        [(false, "Suspended", "Job suspended".to_string())]
    );
    let resumed = job(
        json!({"suspend": false}),
        serde_json::to_value(&p.status).unwrap(),
    );
    let p = plan(&resumed, &[], Backoff::default(), now());
    assert_eq!(cond(&p, "Suspended"), Some(("False", "JobResumed")));
    assert_eq!(p.events, [(false, "Resumed", "Job resumed".to_string())]);
    assert_eq!(p.create.len(), 1);
}

#[test]
fn pod_failure_policy_rules() {
    let j = job(
        json!({"podFailurePolicy": {"rules": [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
        {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}}]}}),
        json!({}),
    );
    let mut p = pod("a", "Failed", None);
    p.status = serde_json::from_value(
        json!({"phase": "Failed", "containerStatuses": [{"name": "main",
        "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": 42}}}]}),
    )
    .unwrap();
    assert_eq!(
        match_failure_policy(&j, &p),
        Some(PolicyAction::FailJob(
            "Container main for pod d/a failed with exit code 42 matching FailJob rule at index 1"
                .into()
        ))
    );
    let out = plan(&j, &[&p], Backoff::default(), now());
    assert_eq!(cond(&out, "Failed"), Some(("True", "PodFailurePolicy")));
}

#[test]
fn index_intervals() {
    let set = parse_indexes("0,2-4,7");
    assert_eq!(set.iter().copied().collect::<Vec<_>>(), [0, 2, 3, 4, 7]);
    assert_eq!(format_indexes(&set), "0,2-4,7");
    assert_eq!(format_indexes(&parse_indexes("")), "");
}
