//! End-to-end ports of upstream Kubernetes' `test/e2e/apps/statefulset.go`: scaling in
//! predictable order halting on an unhealthy pod, burst scaling, and `spec.ordinals.start`
//! ("Scaling StatefulSetStartOrdinal"). Each test is named after its upstream title (tags such
//! as `[Slow]` dropped); see `docs/compatibility.md`.
//!
//! Upstream makes pods unhealthy by breaking their HTTP readiness probe; on the simulated node
//! they are annotated `sim.ordo.dev/ready: "false"`. Ordering is asserted on the pod watch stream.

mod common;
use common::sts::*;
use common::Server;
use serde_json::json;

fn start() -> Server {
    Server::start_with(&["--sim-start-delay-ms", "300"])
}

/// Upstream's `breakHTTPProbe` / `restoreHTTPProbe` on every pod of the set.
fn break_all(s: &Server) {
    for p in pods(s, SELECTOR) {
        break_pod(s, &p.name);
    }
}
fn restore_all(s: &Server) {
    for p in pods(s, SELECTOR) {
        restore_pod(s, &p.name);
    }
}

/// Upstream's `waitForRunningAndNotReady`: `n` pods, all Running, none Ready.
fn wait_running_and_not_ready(s: &Server, n: usize) {
    wait_running(s, SELECTOR, n, 0, 30);
}

fn wait_ready_replicas(s: &Server, name: &str, n: usize) {
    s.eventually(30, &format!("status.readyReplicas {n}"), || {
        let r = set_field(s, name, ".status.readyReplicas");
        r == n.to_string() || (n == 0 && r.is_empty())
    });
}

fn scale(s: &Server, name: &str, n: usize) {
    s.ok(&["scale", "sts", name, &format!("--replicas={n}")]);
}

#[test]
fn scaling_should_happen_in_predictable_order_and_halt_if_any_stateful_pod_is_unhealthy() {
    let s = start();
    create_headless_service(&s, &labels());
    let watch = PodWatch::start_with(&s, &["-l", SELECTOR]);
    create(&s, &new_stateful_set("ss", 1, false, &labels()));
    wait_running_and_ready(&s, "ss", SELECTOR, 1, 60);

    // Scale up halts with an unhealthy pod.
    break_all(&s);
    wait_running_and_not_ready(&s, 1);
    wait_ready_replicas(&s, "ss", 0);
    scale(&s, "ss", 3);
    confirm_pod_count(&s, SELECTOR, 1, 10);
    restore_all(&s);
    wait_running_and_ready(&s, "ss", SELECTOR, 3, 60);
    assert_eq!(watch.order_of("ADDED"), ["ss-0", "ss-1", "ss-2"]);

    // Scale down halts with an unhealthy pod, then goes in reverse order.
    let watch = PodWatch::start_with(&s, &["-l", SELECTOR]);
    break_all(&s);
    wait_ready_replicas(&s, "ss", 0);
    wait_running_and_not_ready(&s, 3);
    scale(&s, "ss", 0);
    confirm_pod_count(&s, SELECTOR, 3, 10);
    restore_all(&s);
    s.eventually(60, "no pods", || pods(&s, SELECTOR).is_empty());
    assert_eq!(watch.order_of("DELETED"), ["ss-2", "ss-1", "ss-0"]);
    // Each deletion began only once the higher ordinal was gone.
    let evs = watch.events();
    for i in [1, 0] {
        let gone = first(&evs, |e| {
            e.kind == "DELETED" && e.name == format!("ss-{}", i + 1)
        })
        .unwrap();
        let term = first(&evs, |e| e.terminating && e.name == format!("ss-{i}")).unwrap();
        assert!(gone < term, "ss-{i} deleted before ss-{} was gone", i + 1);
    }
}

#[test]
fn burst_scaling_should_run_to_completion_even_with_unhealthy_pods() {
    let s = start();
    create_headless_service(&s, &labels());
    let mut ss = new_stateful_set("ss", 1, false, &labels());
    ss["spec"]["podManagementPolicy"] = json!("Parallel");
    create(&s, &ss);
    wait_running_and_ready(&s, "ss", SELECTOR, 1, 60);

    // Scale up does not halt with an unhealthy pod.
    break_all(&s);
    wait_running_and_not_ready(&s, 1);
    wait_ready_replicas(&s, "ss", 0);
    scale(&s, "ss", 3);
    s.eventually(30, "3 pods despite the unhealthy one", || {
        pods(&s, SELECTOR).len() == 3
    });
    restore_all(&s);
    wait_running_and_ready(&s, "ss", SELECTOR, 3, 60);

    // Scale down does not halt with unhealthy pods.
    break_all(&s);
    wait_ready_replicas(&s, "ss", 0);
    wait_running_and_not_ready(&s, 3);
    scale(&s, "ss", 0);
    s.eventually(30, "no pods despite the unhealthy ones", || {
        pods(&s, SELECTOR).is_empty()
    });
    s.eventually(30, "status.replicas 0", || {
        set_field(&s, "ss", ".status.replicas") == "0"
    });
}

/// Upstream's `waitForPodNames` followed by the status waits.
fn wait_pod_names(s: &Server, names: &[&str]) {
    s.eventually(60, &format!("pods {names:?}"), || {
        active_pod_names(s, SELECTOR) == names
    });
    wait_for_status(s, "ss");
    s.eventually(30, "status replicas and readyReplicas", || {
        let st = get_set(s, "ss")["status"].clone();
        st["replicas"] == names.len() && st["readyReplicas"] == names.len()
    });
}

fn set_with_start(start_ordinal: Option<i64>) -> serde_json::Value {
    let mut ss = new_stateful_set("ss", 2, false, &labels());
    if let Some(o) = start_ordinal {
        ss["spec"]["ordinals"] = json!({"start": o});
    }
    ss
}

#[test]
fn setting_start_ordinal() {
    let s = start();
    create_headless_service(&s, &labels());
    create(&s, &set_with_start(None));
    wait_pod_names(&s, &["ss-0", "ss-1"]);
    patch_set(
        &s,
        "ss",
        &json!({"spec": {"replicas": 3, "ordinals": {"start": 2}}}),
    );
    wait_pod_names(&s, &["ss-2", "ss-3", "ss-4"]);
}

#[test]
fn increasing_start_ordinal() {
    let s = start();
    create_headless_service(&s, &labels());
    create(&s, &set_with_start(Some(2)));
    wait_pod_names(&s, &["ss-2", "ss-3"]);
    patch_set(&s, "ss", &json!({"spec": {"ordinals": {"start": 4}}}));
    wait_pod_names(&s, &["ss-4", "ss-5"]);
}

#[test]
fn decreasing_start_ordinal() {
    let s = start();
    create_headless_service(&s, &labels());
    create(&s, &set_with_start(Some(3)));
    wait_pod_names(&s, &["ss-3", "ss-4"]);
    patch_set(&s, "ss", &json!({"spec": {"ordinals": {"start": 2}}}));
    wait_pod_names(&s, &["ss-2", "ss-3"]);
}

#[test]
fn removing_start_ordinal() {
    let s = start();
    create_headless_service(&s, &labels());
    create(&s, &set_with_start(Some(3)));
    wait_pod_names(&s, &["ss-3", "ss-4"]);
    patch_set(&s, "ss", &json!({"spec": {"ordinals": null}}));
    wait_pod_names(&s, &["ss-0", "ss-1"]);
}
