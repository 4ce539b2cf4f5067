//! End-to-end ports of upstream Kubernetes' `test/e2e/apps/statefulset.go`, "Basic StatefulSet
//! functionality [StatefulSetBasic]": identity, adoption and release, no deadlock on a failed
//! predecessor, recreation of failed pods. Each test is named after its upstream title; see
//! `docs/compatibility.md`.
//!
//! The simulated node stands in for upstream's pods unless the test needs a real process:
//! upstream pauses new pods with a readiness probe on a file (`PauseNewPods`) and resumes them by
//! creating it; here the template carries `sim.ordo.dev/ready: "false"` and resuming a pod
//! annotates it `"true"`.

mod common;
use common::real_pods::*;
use common::sts::*;
use common::Server;
use serde_json::{json, Value};

fn start() -> Server {
    Server::start_with(&["--sim-start-delay-ms", "300"])
}

fn controller_ref(p: &Value) -> Option<Value> {
    p["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
        .cloned()
}

fn get_pod(s: &Server, name: &str) -> Value {
    serde_json::from_str(&s.ok(&["get", "pod", name, "-o", "json"])).unwrap()
}

/// Real pods: the claims are real directories, `hostname` and the files are checked inside the
/// containers, and the readiness probe that pauses new pods is upstream's own exec probe on
/// `/data/statefulset-continue`, so the data survives the set's restart (scale to 0 and back).
#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn should_provide_basic_identity() {
    let Some((data, _lock)) = with_real_pods_importing(&["busybox-1.28.tar"], &[], |server| {
        basic_identity(server.as_ref().unwrap())
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn basic_identity(s: &Server) {
    create_headless_service(s, &labels());
    let mut ss = new_stateful_set("ss", 3, true, &labels());
    let c = &mut ss["spec"]["template"]["spec"];
    c["terminationGracePeriodSeconds"] = json!(1);
    // Upstream's `home` hostPath is /tmp/<name>; here a (missing) directory in the server's data
    // dir, created by the node as containerd would, and removed with the data dir.
    c["volumes"][0]["hostPath"]["path"] = json!(s.data_dir().join("home"));
    c["containers"][0]["image"] = json!("busybox:1.28");
    c["containers"][0]["command"] = json!(["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]);
    // Upstream's PauseNewPods.
    c["containers"][0]["readinessProbe"] = json!({
        "exec": {"command": ["test", "-f", "/data/statefulset-continue"]},
        "periodSeconds": 1
    });
    create(s, &ss);
    // Upstream's Saturate: each pod is resumed (its file created) once it is the only paused one.
    for i in 0..3 {
        wait_running(s, SELECTOR, i + 1, i, 120);
        let paused: Vec<PodInfo> = pods(s, SELECTOR).into_iter().filter(|p| !p.ready).collect();
        assert_eq!(paused.len(), 1, "{paused:?}");
        assert_eq!(paused[0].name, format!("ss-{i}"));
        s.ok(&[
            "exec",
            &paused[0].name,
            "--",
            "sh",
            "-c",
            "dd if=/dev/zero of=/data/statefulset-continue bs=1 count=1 conv=fsync",
        ]);
    }
    wait_running_and_ready(s, "ss", SELECTOR, 3, 60);

    let exec_all = |cmd: &str| {
        for i in 0..3 {
            s.ok(&["exec", &format!("ss-{i}"), "--", "sh", "-c", cmd]);
        }
    };
    // CheckMount: the data directory is usable.
    exec_all("touch /data/mounted && ls /data/mounted");
    // CheckHostname: each pod's hostname is its name.
    for i in 0..3 {
        let host = s.ok(&["exec", &format!("ss-{i}"), "--", "hostname"]);
        assert_eq!(host.trim(), format!("ss-{i}"));
    }
    // CheckServiceName.
    assert_eq!(set_field(s, "ss", ".spec.serviceName"), "test");
    for p in pods(s, SELECTOR) {
        assert_eq!(p.json["spec"]["subdomain"], "test", "{}", p.name);
    }
    exec_all("echo $(hostname) | dd of=/data/hostname conv=fsync");
    exec_all("ln -s /data/hostname /data/hostname-symlink");

    // Restart: scale to 0, wait for no pods, scale back.
    s.ok(&["scale", "sts", "ss", "--replicas=0"]);
    s.eventually(120, "no pods", || pods(s, SELECTOR).is_empty());
    s.ok(&["scale", "sts", "ss", "--replicas=3"]);
    wait_running_and_ready(s, "ss", SELECTOR, 3, 120);
    exec_all("touch /data/mounted && ls /data/mounted");
    exec_all(r#"if [ "$(cat /data/hostname)" = "$(hostname)" ]; then exit 0; else exit 1; fi"#);
    exec_all(
        r#"if [ "$(cat /data/hostname-symlink)" = "$(hostname)" ]; then exit 0; else exit 1; fi"#,
    );
    s.ok(&["delete", "sts", "ss"]);
    s.eventually(120, "pods gone", || pods(s, SELECTOR).is_empty());
    s.ok(&["delete", "pvc", "--all"]);
    s.eventually(60, "claims gone", || claim_names(s).is_empty());
    pods_gone_and_node_clean(s);
}

#[test]
fn should_adopt_matching_orphans_and_release_non_matching_pods() {
    let s = start();
    create_headless_service(&s, &labels());
    let mut ss = new_stateful_set("ss", 1, true, &labels());
    pause_new_pods(&mut ss);
    create(&s, &ss);
    saturate(&s, SELECTOR, 1);
    let set = get_set(&s, "ss");
    let ps = pods(&s, SELECTOR);
    assert_eq!(ps.len(), 1);
    // Pods are created with a ControllerRef.
    let r = controller_ref(&ps[0].json).expect("controllerRef");
    assert_eq!(
        (&r["kind"], &r["name"], &r["uid"]),
        (&json!("StatefulSet"), &json!("ss"), &set["metadata"]["uid"])
    );
    let readopted = |what: &str| {
        s.eventually(30, what, || match controller_ref(&get_pod(&s, "ss-0")) {
            None => false,
            Some(r) => {
                assert_eq!(
                    (&r["kind"], &r["name"], &r["uid"]),
                    (&json!("StatefulSet"), &json!("ss"), &set["metadata"]["uid"]),
                    "wrong controllerRef"
                );
                true
            }
        })
    };
    // Orphaned, then re-adopted.
    s.ok(&[
        "patch",
        "pod",
        "ss-0",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/ownerReferences"}]"#,
    ]);
    readopted("ss-0 re-adopted");
    // Labels removed: released.
    let prev_labels = get_pod(&s, "ss-0")["metadata"]["labels"].clone();
    s.ok(&[
        "patch",
        "pod",
        "ss-0",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/labels"}]"#,
    ]);
    s.eventually(30, "ss-0 released", || {
        controller_ref(&get_pod(&s, "ss-0")).is_none()
    });
    // Labels back: re-adopted.
    s.ok(&[
        "patch",
        "pod",
        "ss-0",
        "--type=merge",
        "-p",
        &json!({"metadata": {"labels": prev_labels}}).to_string(),
    ]);
    readopted("ss-0 re-adopted after its labels came back");
}

/// Upstream's paused pods keep their "resumed" mark in their claim, so the re-created pod 0 is
/// ready at once; on the simulated node the re-created pod 0 starts paused like every new pod and
/// is resumed by hand (after the check that the controller re-created it while pod 1 was
/// unhealthy, which is what the test is about).
#[test]
fn should_not_deadlock_when_a_pods_predecessor_fails() {
    let s = start();
    create_headless_service(&s, &labels());
    let mut ss = new_stateful_set("ss", 2, true, &labels());
    pause_new_pods(&mut ss);
    create(&s, &ss);
    wait_running(&s, SELECTOR, 1, 0, 60);
    resume_next_pod(&s, SELECTOR);
    wait_running(&s, SELECTOR, 2, 1, 60);
    // One healthy pod (0) and one unhealthy (1): deleting the healthy one must not deadlock.
    let old0 = get_pod(&s, "ss-0")["metadata"]["uid"].clone();
    delete_pod_now(&s, "ss-0");
    s.eventually(60, "ss-0 re-created while ss-1 is unhealthy", || {
        let ps = pods(&s, SELECTOR);
        ps.len() == 2
            && ps[0].name == "ss-0"
            && json!(ps[0].uid) != old0
            && ps[0].phase == "Running"
            && !ps[1].ready
    });
    restore_pod(&s, "ss-0");
    wait_running(&s, SELECTOR, 2, 1, 60);
    resume_next_pod(&s, SELECTOR);
    wait_running_and_ready(&s, "ss", SELECTOR, 2, 60);
}

/// As upstream: a pod bound to the node holds host port 21017; the set's pod, bound to the same
/// node and asking for the same host port, is rejected by the node agent (phase Failed, reason
/// `NodePorts`, the kubelet's admission check), so the controller deletes and re-creates it until
/// the conflicting pod is gone.
#[test]
fn should_recreate_evicted_statefulset() {
    let s = start();
    let node = s.ok(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    let conflicting_port = json!({"hostPort": 21017, "containerPort": 21017, "name": "conflict"});
    create(
        &s,
        &json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "test-pod"},
            "spec": {
                "nodeName": node,
                "containers": [{"name": "webserver", "image": WEBSERVER_IMAGE, "ports": [conflicting_port]}]
            }
        }),
    );
    s.eventually(30, "test-pod running", || {
        s.ok(&["get", "pod", "test-pod", "-o", "jsonpath={.status.phase}"]) == "Running"
    });
    let watch = PodWatch::start_with(&s, &["--field-selector", "metadata.name=ss-0"]);
    let mut ss = new_stateful_set("ss", 1, false, &labels());
    ss["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([conflicting_port]);
    ss["spec"]["template"]["spec"]["nodeName"] = json!(node);
    create(&s, &ss);
    // The stateful pod is re-created (deleted) at least once.
    s.eventually(60, "ss-0 rejected and deleted at least once", || {
        let evs = watch.events();
        evs.iter().any(|e| e.kind == "DELETED" && !e.uid.is_empty())
    });
    let evs = watch.events();
    let rejected = evs
        .iter()
        .find(|e| e.phase == "Failed")
        .unwrap_or_else(|| panic!("ss-0 never Failed: {evs:?}"));
    let p = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=NodePorts",
        "-o",
        "name",
    ]);
    assert!(!p.is_empty(), "no NodePorts event");
    assert!(
        evs.iter()
            .any(|e| e.kind == "DELETED" && e.uid == rejected.uid),
        "the rejected pod was not deleted: {evs:?}"
    );
    // Removing the conflicting pod lets the stateful pod run.
    s.ok(&["delete", "pod", "test-pod", "--grace-period=0", "--force"]);
    let rejected_uid = rejected.uid.clone();
    s.eventually(60, "ss-0 re-created and running", || {
        let out = s.kubectl(&["get", "pod", "ss-0", "-o", "json"]);
        out.status.success() && {
            let p: Value = serde_json::from_slice(&out.stdout).unwrap();
            p["status"]["phase"] == "Running" && p["metadata"]["uid"] != rejected_uid.as_str()
        }
    });
    wait_running_and_ready(&s, "ss", SELECTOR, 1, 30);
}
