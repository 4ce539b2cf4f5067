//! The Pod printer (upstream `printPod`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    age, arr_at, bool_at, col, get, int_at, name, or, str_at, wide, Col, Printer, AGE, NAME,
};
use crate::duration::{human_duration, parse_timestamp};

const COLUMNS: &[Col] = &[
    NAME,
    col(
        "Ready",
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    col(
        "Status",
        "The aggregate status of the containers in this pod.",
    ),
    col(
        "Restarts",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    wide("IP", "IP address allocated to the pod."),
    wide("Node", "The node the pod is scheduled onto."),
    wide(
        "Nominated Node",
        "The node the scheduler nominated for the pod when it preempts others.",
    ),
    wide(
        "Readiness Gates",
        "Pod conditions evaluated for readiness, true/total.",
    ),
];

pub(crate) static POD: Printer = Printer {
    columns: COLUMNS,
    cells: pod_cells,
};

/// `lastState.terminated.finishedAt` of a container status.
fn last_termination(status: &Value) -> Option<DateTime<Utc>> {
    get(status, &["lastState", "terminated", "finishedAt"])
        .and_then(Value::as_str)
        .and_then(parse_timestamp)
}

/// Keeps the latest of `latest` and `t` (upstream `lastRestartDate.Before`).
fn bump(latest: &mut Option<DateTime<Utc>>, t: Option<DateTime<Utc>>) {
    if t > *latest {
        *latest = t;
    }
}

/// Whether the first condition of type `ty` has status `True`.
fn condition_true(pod: &Value, ty: &str) -> bool {
    arr_at(pod, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == ty)
        .is_some_and(|c| str_at(c, &["status"]) == "True")
}

/// `Signal:N` / `ExitCode:N` (with `prefix`) or the reason of a terminated state.
fn terminated_reason(term: &Value, prefix: &str) -> String {
    let reason = str_at(term, &["reason"]);
    if !reason.is_empty() {
        return format!("{prefix}{reason}");
    }
    match int_at(term, &["signal"]) {
        0 => format!("{prefix}ExitCode:{}", int_at(term, &["exitCode"])),
        sig => format!("{prefix}Signal:{sig}"),
    }
}

fn pod_cells(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let init_specs = arr_at(pod, &["spec", "initContainers"]);
    // Sidecars: init containers with `restartPolicy: Always`.
    let restartable = |name: &str| {
        init_specs
            .iter()
            .rfind(|c| str_at(c, &["name"]) == name)
            .is_some_and(|c| str_at(c, &["restartPolicy"]) == "Always")
    };
    let sidecars = init_specs
        .iter()
        .filter(|c| str_at(c, &["restartPolicy"]) == "Always")
        .count();
    let total = arr_at(pod, &["spec", "containers"]).len() + sidecars;

    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut ready = 0;
    let mut last_restart = None;
    let mut last_sidecar_restart = None;

    let phase = str_at(pod, &["status", "phase"]);
    let status_reason = str_at(pod, &["status", "reason"]);
    let mut reason = or(status_reason, phase).to_string();
    let gated = arr_at(pod, &["status", "conditions"]).iter().any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    });
    if gated {
        reason = "SchedulingGated".to_string();
    }

    let mut initializing = false;
    for (i, c) in arr_at(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        let count = int_at(c, &["restartCount"]);
        restarts += count;
        bump(&mut last_restart, last_termination(c));
        let is_sidecar = restartable(str_at(c, &["name"]));
        if is_sidecar {
            sidecar_restarts += count;
            bump(&mut last_sidecar_restart, last_termination(c));
        }
        let terminated = get(c, &["state", "terminated"]);
        let waiting = str_at(c, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|t| int_at(t, &["exitCode"]) == 0) {
            continue;
        }
        if is_sidecar && bool_at(c, &["started"]) {
            if bool_at(c, &["ready"]) {
                ready += 1;
            }
            continue;
        }
        reason = if let Some(t) = terminated {
            terminated_reason(t, "Init:")
        } else if !waiting.is_empty() && waiting != "PodInitializing" {
            format!("Init:{waiting}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in arr_at(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int_at(c, &["restartCount"]);
            bump(&mut last_restart, last_termination(c));
            let waiting = str_at(c, &["state", "waiting", "reason"]);
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = get(c, &["state", "terminated"]) {
                reason = terminated_reason(t, "");
            } else if bool_at(c, &["ready"]) && get(c, &["state", "running"]).is_some() {
                has_running = true;
                ready += 1;
            }
        }
        // Back to Running if a container still runs after another completed.
        if reason == "Completed" && has_running {
            let ready_cond = arr_at(pod, &["status", "conditions"])
                .iter()
                .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True");
            reason = if ready_cond { "Running" } else { "NotReady" }.to_string();
        }
    }

    if get(pod, &["metadata", "deletionTimestamp"]).is_some() {
        if status_reason == "NodeLost" {
            reason = "Unknown".to_string();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_string();
        }
    }

    let restarts = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_duration(now - t)),
        _ => restarts.to_string(),
    };

    let pod_ip = arr_at(pod, &["status", "podIPs"]).first().map_or_else(
        || str_at(pod, &["status", "podIP"]),
        |ip| str_at(ip, &["ip"]),
    );
    let node = str_at(pod, &["spec", "nodeName"]);
    let nominated = str_at(pod, &["status", "nominatedNodeName"]);

    vec![
        name(pod),
        format!("{ready}/{total}").into(),
        reason.into(),
        restarts.into(),
        age(pod, now),
        or(pod_ip, "<none>").into(),
        or(node, "<none>").into(),
        or(nominated, "<none>").into(),
        readiness_gates(pod).into(),
    ]
}

/// `<none>`, or `true/total` over `spec.readinessGates`.
fn readiness_gates(pod: &Value) -> String {
    let gates = arr_at(pod, &["spec", "readinessGates"]);
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let met = gates
        .iter()
        .filter(|g| condition_true(pod, str_at(g, &["conditionType"])))
        .count();
    format!("{met}/{}", gates.len())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{names, row};
    use serde_json::{json, Value};

    /// A pod created at 14:29:32 (28s before the test "now"), with `status`.
    fn pod(containers: usize, status: Value) -> Value {
        let containers: Vec<Value> = (0..containers)
            .map(|i| json!({"name": format!("c{i}"), "image": "nginx"}))
            .collect();
        json!({
            "kind": "Pod",
            "metadata": {"name": "web-0", "namespace": "default",
                         "creationTimestamp": "2026-11-25T14:29:32Z"},
            "spec": {"containers": containers},
            "status": status
        })
    }

    fn running(ready: bool) -> Value {
        json!({"name": "c0", "ready": ready, "restartCount": 0,
               "state": {"running": {"startedAt": "2026-11-25T14:29:33Z"}}})
    }

    /// (Ready, Status, Restarts).
    fn brief(p: &Value) -> (String, String, String) {
        let r = row("Pod", p);
        let s = |i: usize| r[i].as_str().unwrap().to_string();
        (s(1), s(2), s(3))
    }

    fn b(ready: &str, status: &str, restarts: &str) -> (String, String, String) {
        (ready.into(), status.into(), restarts.into())
    }

    #[test]
    fn columns() {
        assert_eq!(
            names("Pod"),
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP*",
                "Node*",
                "Nominated Node*",
                "Readiness Gates*"
            ]
        );
    }

    #[test]
    fn running_pod_full_row() {
        let mut p = pod(
            1,
            json!({"phase": "Running", "podIP": "10.244.0.143",
                   "podIPs": [{"ip": "10.244.0.143"}],
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [running(true)]}),
        );
        p["spec"]["nodeName"] = json!("node-1");
        assert_eq!(
            row("Pod", &p),
            [
                json!("web-0"),
                json!("1/1"),
                json!("Running"),
                json!("0"),
                json!("28s"),
                json!("10.244.0.143"),
                json!("node-1"),
                json!("<none>"),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn pending_pod_without_status_details() {
        let p = pod(1, json!({"phase": "Pending"}));
        let r = row("Pod", &p);
        assert_eq!(brief(&p), b("0/1", "Pending", "0"));
        assert_eq!(
            &r[5..],
            [
                json!("<none>"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>")
            ]
        );
        // podIP alone (no podIPs) is still shown.
        let p = pod(1, json!({"phase": "Pending", "podIP": "10.0.0.9"}));
        assert_eq!(row("Pod", &p)[5], "10.0.0.9");
    }

    #[test]
    fn container_creating() {
        let p = pod(
            1,
            json!({"phase": "Pending",
                   "containerStatuses": [{"name": "c0", "ready": false, "restartCount": 0,
                       "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
        );
        assert_eq!(brief(&p), b("0/1", "ContainerCreating", "0"));
    }

    #[test]
    fn crash_loop_with_last_restart_time() {
        let p = pod(
            2,
            json!({"phase": "Running",
                   "containerStatuses": [
                       {"name": "c0", "ready": false, "restartCount": 3,
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                      "finishedAt": "2026-11-25T14:25:00Z"}}},
                       {"name": "c1", "ready": true, "restartCount": 1,
                        "state": {"running": {}},
                        "lastState": {"terminated": {"exitCode": 0,
                                      "finishedAt": "2026-11-25T14:10:00Z"}}}]}),
        );
        assert_eq!(brief(&p), b("1/2", "CrashLoopBackOff", "4 (5m ago)"));
    }

    #[test]
    fn restarts_without_termination_time_are_plain() {
        let p = pod(
            1,
            json!({"phase": "Running", "containerStatuses": [
                {"name": "c0", "ready": false, "restartCount": 2,
                 "state": {"waiting": {"reason": "ErrImagePull"}}}]}),
        );
        assert_eq!(brief(&p), b("0/1", "ErrImagePull", "2"));
    }

    #[test]
    fn terminated_reasons() {
        let term = |t: Value| {
            pod(
                1,
                json!({"phase": "Failed", "containerStatuses": [
                    {"name": "c0", "ready": false, "restartCount": 0,
                     "state": {"terminated": t}}]}),
            )
        };
        let completed = term(json!({"exitCode": 0, "reason": "Completed"}));
        assert_eq!(brief(&completed).1, "Completed");
        assert_eq!(
            brief(&term(json!({"exitCode": 3, "reason": "Error"}))).1,
            "Error"
        );
        assert_eq!(brief(&term(json!({"exitCode": 137}))).1, "ExitCode:137");
        assert_eq!(
            brief(&term(json!({"exitCode": 0, "signal": 9}))).1,
            "Signal:9"
        );
    }

    #[test]
    fn completed_with_running_sibling() {
        let status = |ready_cond: &str| {
            json!({"phase": "Running",
                   "conditions": [{"type": "Ready", "status": ready_cond}],
                   "containerStatuses": [
                       running(true),
                       {"name": "c1", "ready": false, "restartCount": 0,
                        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})
        };
        assert_eq!(brief(&pod(2, status("True"))), b("1/2", "Running", "0"));
        assert_eq!(brief(&pod(2, status("False"))), b("1/2", "NotReady", "0"));
    }

    #[test]
    fn terminating_and_node_lost() {
        let mut p = pod(
            1,
            json!({"phase": "Running", "containerStatuses": [running(true)]}),
        );
        p["metadata"]["deletionTimestamp"] = json!("2026-11-25T14:29:59Z");
        assert_eq!(brief(&p), b("1/1", "Terminating", "0"));

        p["status"]["reason"] = json!("NodeLost");
        assert_eq!(brief(&p).1, "Unknown");

        let mut done = pod(
            1,
            json!({"phase": "Succeeded", "containerStatuses": [
                {"name": "c0", "ready": false, "restartCount": 0,
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        );
        done["metadata"]["deletionTimestamp"] = json!("2026-11-25T14:29:59Z");
        assert_eq!(brief(&done).1, "Completed");
    }

    #[test]
    fn status_reason_and_scheduling_gates() {
        let evicted = pod(1, json!({"phase": "Failed", "reason": "Evicted"}));
        assert_eq!(brief(&evicted).1, "Evicted");
        let gated = pod(
            1,
            json!({"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
        );
        assert_eq!(brief(&gated).1, "SchedulingGated");
    }

    #[test]
    fn init_containers() {
        let with_init = |init_status: Value, conditions: Value| {
            let mut p = pod(
                1,
                json!({"phase": "Pending", "conditions": conditions,
                       "initContainerStatuses": [init_status],
                       "containerStatuses": [{"name": "c0", "ready": false, "restartCount": 0,
                           "state": {"waiting": {"reason": "PodInitializing"}}}]}),
            );
            p["spec"]["initContainers"] = json!([{"name": "init", "image": "busybox"}]);
            p
        };
        let waiting = |reason: &str| {
            json!({"name": "init", "ready": false, "restartCount": 0,
                   "state": {"waiting": {"reason": reason}}})
        };
        let running_init = json!({"name": "init", "ready": false, "restartCount": 0,
                                  "state": {"running": {}}});
        assert_eq!(brief(&with_init(running_init, json!([]))).1, "Init:0/1");
        assert_eq!(
            brief(&with_init(waiting("PodInitializing"), json!([]))).1,
            "Init:0/1"
        );
        assert_eq!(
            brief(&with_init(waiting("CrashLoopBackOff"), json!([]))).1,
            "Init:CrashLoopBackOff"
        );
        let failed = json!({"name": "init", "ready": false, "restartCount": 2,
                            "state": {"terminated": {"exitCode": 1, "reason": "Error"}}});
        assert_eq!(
            brief(&with_init(failed, json!([]))),
            b("0/1", "Init:Error", "2")
        );
        let signalled = json!({"name": "init", "ready": false, "restartCount": 0,
                               "state": {"terminated": {"exitCode": 2, "signal": 15}}});
        assert_eq!(brief(&with_init(signalled, json!([]))).1, "Init:Signal:15");

        // Init done: the main containers decide ("PodInitializing").
        let done = json!({"name": "init", "ready": false, "restartCount": 1,
                          "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
        assert_eq!(
            brief(&with_init(done, json!([]))),
            b("0/1", "PodInitializing", "0")
        );
    }

    #[test]
    fn sidecar_init_containers() {
        let mut p = pod(
            1,
            json!({"phase": "Running",
                   "conditions": [{"type": "Initialized", "status": "True"},
                                  {"type": "Ready", "status": "True"}],
                   "initContainerStatuses": [
                       {"name": "proxy", "ready": true, "started": true, "restartCount": 2,
                        "state": {"running": {}},
                        "lastState": {"terminated": {"exitCode": 1,
                                      "finishedAt": "2026-11-25T14:00:00Z"}}}],
                   "containerStatuses": [running(true)]}),
        );
        p["spec"]["initContainers"] =
            json!([{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]);
        assert_eq!(brief(&p), b("2/2", "Running", "2 (30m ago)"));
    }

    #[test]
    fn readiness_gates() {
        let mut p = pod(
            1,
            json!({"phase": "Running",
                   "conditions": [{"type": "example.com/a", "status": "True"},
                                  {"type": "example.com/b", "status": "False"}],
                   "containerStatuses": [running(true)]}),
        );
        p["spec"]["readinessGates"] = json!([
            {"conditionType": "example.com/a"},
            {"conditionType": "example.com/b"}
        ]);
        p["status"]["nominatedNodeName"] = json!("node-2");
        let r = row("Pod", &p);
        assert_eq!(r[7], "node-2");
        assert_eq!(r[8], "1/2");
    }
}
