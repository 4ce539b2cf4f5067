//! End-to-end ports of upstream Kubernetes' `test/e2e/apps/statefulset.go` conformance tests of
//! the StatefulSet API: the scale subresource (GET, PUT, strategic-merge PATCH), list, patch and
//! deletecollection, and the status subresource (GET, PUT, PATCH, watch). Each test is named
//! after its upstream title; see `docs/compatibility.md`. Requests go through the real kubectl
//! (`--raw` and `--subresource` where client-go would call the subresource).

mod common;
use common::sts::*;
use common::Server;
use serde_json::{json, Value};
use std::time::Duration;

fn start() -> Server {
    Server::start_with(&["--sim-start-delay-ms", "300"])
}

const SS_PATH: &str = "/apis/apps/v1/namespaces/default/statefulsets";

#[test]
fn should_have_a_working_scale_subresource() {
    let s = start();
    create_headless_service(&s, &labels());
    create(&s, &new_stateful_set("ss", 1, false, &labels()));
    wait_running_and_ready(&s, "ss", SELECTOR, 1, 60);
    wait_for_status(&s, "ss");

    // Getting the scale subresource.
    let path = format!("{SS_PATH}/ss/scale");
    let mut scale: Value = serde_json::from_str(&s.ok(&["get", "--raw", &path])).unwrap();
    assert_eq!(
        (&scale["apiVersion"], &scale["kind"]),
        (&json!("autoscaling/v1"), &json!("Scale"))
    );
    assert_eq!(scale["spec"]["replicas"], 1, "{scale}");
    assert_eq!(scale["status"]["replicas"], 1, "{scale}");
    assert_eq!(scale["status"]["selector"], SELECTOR, "{scale}");

    // Updating it, unconditionally (no resourceVersion).
    scale["metadata"]["resourceVersion"] = json!("");
    scale["spec"]["replicas"] = json!(2);
    let result: Value = serde_json::from_str(
        &s.ok_stdin(&["replace", "--raw", &path, "-f", "-"], &scale.to_string()),
    )
    .unwrap();
    assert_eq!(result["spec"]["replicas"], 2, "{result}");
    assert_eq!(set_field(&s, "ss", ".spec.replicas"), "2");

    // Patching it with what client-go sends for `autoscalingv1.Scale{Spec: {Replicas: 4}}`.
    s.ok(&[
        "patch",
        "sts",
        "ss",
        "--subresource=scale",
        "--type=strategic",
        "-p",
        r#"{"metadata":{"creationTimestamp":null},"spec":{"replicas":4},"status":{"replicas":0}}"#,
    ]);
    assert_eq!(set_field(&s, "ss", ".spec.replicas"), "4");
    wait_running_and_ready(&s, "ss", SELECTOR, 4, 60);
}

#[test]
fn should_list_patch_and_delete_a_collection_of_statefulsets() {
    let s = start();
    let pod_labels = json!({"name": "sample-pod", "pod": "httpd"});
    let selector = "name=sample-pod,pod=httpd";
    create(&s, &new_stateful_set("test-ss", 1, false, &pod_labels));
    wait_running_and_ready(&s, "test-ss", selector, 1, 60);
    wait_for_status(&s, "test-ss");

    // Patching (strategic merge, as client-go; the misspelt field is upstream's own and only
    // draws a warning: kubectl patch, like client-go, sets no field validation).
    let pause = "registry.k8s.io/pause:3.9";
    let patch = json!({
        "metadata": {"labels": {"test-ss": "patched"}},
        "spec": {"replicas": 2, "template": {"spec": {
            "TerminationGracePeriodSeconds": 1,
            "containers": [{"name": "test-ss", "image": pause}]
        }}}
    });
    s.ok(&[
        "patch",
        "sts",
        "test-ss",
        "--type=strategic",
        "-p",
        &patch.to_string(),
    ]);
    let set = get_set(&s, "test-ss");
    assert_eq!(set["spec"]["replicas"], 2);
    assert_eq!(
        set["spec"]["template"]["spec"]["containers"][0]["image"], pause,
        "{}",
        set["spec"]["template"]
    );
    wait_running_and_ready(&s, "test-ss", selector, 2, 60);
    wait_for_status(&s, "test-ss");

    // Listing all StatefulSets (every namespace) by label.
    let list = |s: &Server| -> usize {
        let l: Value = serde_json::from_str(&s.ok(&[
            "get",
            "sts",
            "-A",
            "-l",
            "test-ss=patched",
            "-o",
            "json",
        ]))
        .unwrap();
        l["items"].as_array().unwrap().len()
    };
    assert_eq!(list(&s), 1, "filtered list wasn't found");

    // deletecollection (one DELETE on the collection, not kubectl's list-then-delete).
    s.ok(&[
        "delete",
        "--raw",
        &format!("{SS_PATH}?labelSelector=test-ss%3Dpatched&gracePeriodSeconds=1"),
    ]);
    assert_eq!(list(&s), 0, "filtered list should have no StatefulSets");
    s.eventually(60, "the set's pods garbage-collected", || {
        pods(&s, selector).is_empty()
    });
}

fn has_condition(set: &Value, f: impl Fn(&Value) -> bool) -> bool {
    set["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(f))
}

#[test]
fn should_validate_statefulset_status_endpoints() {
    let s = start();
    let watch = JsonWatch::start(&s, "sts", &["-l", "e2e=testing"]);
    create_headless_service(&s, &labels());
    create(&s, &new_stateful_set("ss", 1, false, &labels()));
    wait_running_and_ready(&s, "ss", SELECTOR, 1, 60);
    wait_for_status(&s, "ss");
    s.ok(&[
        "patch",
        "sts",
        "ss",
        "--type=strategic",
        "-p",
        r#"{"metadata":{"labels":{"e2e":"testing"}}}"#,
    ]);

    // GET /status.
    let status: Value =
        serde_json::from_str(&s.ok(&["get", "sts", "ss", "--subresource=status", "-o", "json"]))
            .unwrap();
    assert_eq!(status["kind"], "StatefulSet");
    assert_eq!(status["metadata"]["name"], "ss");
    assert_eq!(status["status"]["replicas"], 1, "{status}");

    // PUT /status with a condition appended, retried on conflict.
    let is_update = |c: &Value| {
        c["type"] == "StatusUpdate" && c["reason"] == "E2E" && c["message"] == "Set from e2e test"
    };
    let mut updated = Value::Null;
    for attempt in 0.. {
        let mut set = get_set(&s, "ss");
        let mut conds = set["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        conds.push(json!({"type": "StatusUpdate", "status": "True", "reason": "E2E", "message": "Set from e2e test"}));
        set["status"]["conditions"] = json!(conds);
        let out = s.kubectl_stdin(
            &["replace", "--subresource=status", "-o", "json", "-f", "-"],
            Some(&set.to_string()),
        );
        if out.status.success() {
            updated = serde_json::from_slice(&out.stdout).unwrap();
            break;
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            attempt < 5 && err.contains("Conflict"),
            "status update failed: {err}"
        );
    }
    assert!(has_condition(&updated, is_update), "{updated}");
    s.eventually(30, "the watch to show the updated status", || {
        watch.values().iter().any(|e| {
            e["object"]["metadata"]["name"] == "ss" && has_condition(&e["object"], is_update)
        })
    });

    // PATCH /status (merge).
    let patched: Value = serde_json::from_str(&s.ok(&[
        "patch",
        "sts",
        "ss",
        "--subresource=status",
        "--type=merge",
        "-o",
        "json",
        "-p",
        r#"{"status":{"conditions":[{"type":"StatusPatched","status":"True"}]}}"#,
    ]))
    .unwrap();
    let is_patched = |c: &Value| c["type"] == "StatusPatched";
    assert!(has_condition(&patched, is_patched), "{patched}");
    s.eventually(30, "the watch to show the patched status", || {
        watch.values().iter().any(|e| {
            e["object"]["metadata"]["name"] == "ss" && has_condition(&e["object"], is_patched)
        })
    });
    // Kept: the controller, with nothing to change, leaves the conditions alone.
    std::thread::sleep(Duration::from_secs(3));
    let set = get_set(&s, "ss");
    assert!(has_condition(&set, is_patched), "{}", set["status"]);
    assert_eq!(set["status"]["readyReplicas"], 1);
}
