//! End-to-end ports of upstream Kubernetes' `test/e2e/apps/statefulset.go`: rolling updates and
//! roll backs, canary and phased updates with a partition, a partition with a finalizer on pod 0,
//! OnDelete, minReadySeconds, and (beyond upstream's file) maxUnavailable. Each test is named
//! after its upstream title; see `docs/compatibility.md`.
//!
//! Upstream makes a pod unhealthy by breaking its HTTP readiness probe; on the simulated node the
//! pod is annotated `sim.ordo.dev/ready: "false"` (and `"true"` to heal it).

mod common;
use common::real_pods::*;
use common::sts::*;
use common::Server;
use serde_json::{json, Value};
use std::time::Duration;

fn start() -> Server {
    Server::start_with(&["--sim-start-delay-ms", "300"])
}

fn pod_uid(s: &Server, pod: &str) -> String {
    s.ok(&["get", "pod", pod, "-o", "jsonpath={.metadata.uid}"])
}

#[test]
fn should_perform_rolling_updates_and_roll_backs_of_template_modifications_with_pvcs() {
    let s = start();
    create_headless_service(&s, &labels());
    let ss = new_stateful_set("ss", 3, true, &labels());
    rollback_test(&s, ss);
    assert_eq!(
        claim_names(&s),
        ["datadir-ss-0", "datadir-ss-1", "datadir-ss-2"]
    );
}

/// Upstream's `rollbackTest` (shared by the two rolling update tests): pod 1 is made unhealthy
/// before each template change and healed after, the update rolls in reverse ordinal order,
/// and going back to the old template reuses the prior revision instead of creating one.
pub fn rollback_test(s: &Server, ss: Value) {
    let name = ss["metadata"]["name"].as_str().unwrap().to_string();
    let p = |i: usize| format!("{name}-{i}");
    create(s, &ss);
    wait_running_and_ready(s, &name, SELECTOR, 3, 60);
    let set = wait_for_status(s, &name);
    let (current, update) = revisions(&set);
    assert_eq!(current, update, "created with update revision != current");
    for pod in pods(s, SELECTOR) {
        assert_eq!(pod.revision, current, "{}", pod.name);
    }
    break_pod(s, &p(1));
    wait_pod_not_ready(s, &p(1), 30);
    let old_image = WEBSERVER_IMAGE;
    let watch = PodWatch::start_with(s, &["-l", SELECTOR]);
    set_image(s, &name, NEW_WEBSERVER_IMAGE);
    let set = wait_for_status(s, &name);
    let (current, update) = revisions(&set);
    assert_ne!(current, update, "a new revision during the rolling update");

    // Updating pods in reverse ordinal order, once pod 1 is healthy again.
    restore_pod(s, &p(1));
    wait_pod_ready(s, &p(1), 30);
    let set = wait_for_rolling_update(s, &name, SELECTOR, 90);
    assert_eq!(set["status"]["currentRevision"], json!(update));
    for pod in pods(s, SELECTOR) {
        assert_eq!(
            (pod.image.as_str(), pod.revision.as_str()),
            (NEW_WEBSERVER_IMAGE, update.as_str()),
            "{}",
            pod.name
        );
    }
    assert_reverse_replacement(&watch.events(), &name, 3);

    // Rolling back: the update revision is the prior one again.
    let pods_now = pods(s, SELECTOR);
    break_pod(s, &pods_now[1].name);
    wait_pod_not_ready(s, &p(1), 30);
    let prior = current;
    let watch = PodWatch::start_with(s, &["-l", SELECTOR]);
    set_image(s, &name, old_image);
    let set = wait_for_status(s, &name);
    let (current, update) = revisions(&set);
    assert_eq!(
        prior, update,
        "prior revision should equal update revision during roll back"
    );
    assert_ne!(current, update);
    restore_pod(s, &p(1));
    wait_pod_ready(s, &p(1), 30);
    let set = wait_for_rolling_update(s, &name, SELECTOR, 90);
    assert_eq!(set["status"]["currentRevision"], json!(prior));
    for pod in pods(s, SELECTOR) {
        assert_eq!(
            (pod.image.as_str(), pod.revision.as_str()),
            (old_image, prior.as_str()),
            "{}",
            pod.name
        );
    }
    assert_reverse_replacement(&watch.events(), &name, 3);
}

fn revisions(set: &Value) -> (String, String) {
    let st = &set["status"];
    (
        st["currentRevision"].as_str().unwrap_or_default().into(),
        st["updateRevision"].as_str().unwrap_or_default().into(),
    )
}

fn set_image(s: &Server, name: &str, image: &str) {
    s.ok(&[
        "set",
        "image",
        &format!("statefulset/{name}"),
        &format!("webserver={image}"),
    ]);
}

/// Each pod's old instance is deleted only after the next higher ordinal's replacement was
/// Ready (pods `n-1` down to 0).
fn assert_reverse_replacement(evs: &[Ev], name: &str, n: usize) {
    let mut prev_ready = 0;
    for i in (0..n).rev() {
        let pod = format!("{name}-{i}");
        let old_uid = evs.iter().find(|e| e.name == pod).unwrap().uid.clone();
        let term = first(evs, |e| e.name == pod && e.uid == old_uid && e.terminating)
            .unwrap_or_else(|| panic!("{pod} not replaced: {evs:?}"));
        assert!(
            term > prev_ready,
            "{pod} deleted before its successor was Ready"
        );
        prev_ready = first(evs, |e| e.name == pod && e.uid != old_uid && e.ready)
            .unwrap_or_else(|| panic!("new {pod} never Ready"));
    }
}

#[test]
fn should_perform_rolling_updates_and_roll_backs_of_template_modifications() {
    let s = start();
    create_headless_service(&s, &labels());
    rollback_test(&s, new_stateful_set("ss2", 3, false, &labels()));
}

/// Checks that the pods below the partition are at the old image and current revision, the
/// others at the new image and update revision.
fn check_partitioned(ps: &[PodInfo], partition: i64, current: &str, update: &str) {
    for p in ps {
        let want = if ordinal(&p.name) < partition {
            (WEBSERVER_IMAGE, current)
        } else {
            (NEW_WEBSERVER_IMAGE, update)
        };
        assert_eq!(
            (p.image.as_str(), p.revision.as_str()),
            want,
            "{} (partition {partition})",
            p.name
        );
    }
}

fn set_partition(s: &Server, name: &str, partition: i64) {
    patch_set(
        s,
        name,
        &json!({"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}}}}),
    );
}

#[test]
fn should_perform_canary_updates_and_phased_rolling_updates_of_template_modifications() {
    let s = start();
    create_headless_service(&s, &labels());
    let mut ss = new_stateful_set("ss2", 3, false, &labels());
    ss["spec"]["updateStrategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 3}});
    create(&s, &ss);
    wait_running_and_ready(&s, "ss2", SELECTOR, 3, 60);
    let (current, update) = revisions(&wait_for_status(&s, "ss2"));
    assert_eq!(current, update);
    for p in pods(&s, SELECTOR) {
        assert_eq!(p.revision, current, "{}", p.name);
    }
    set_image(&s, "ss2", NEW_WEBSERVER_IMAGE);
    let (current, update) = revisions(&wait_for_status(&s, "ss2"));
    assert_ne!(current, update);

    // Not applying an update when the partition is greater than the number of replicas.
    std::thread::sleep(Duration::from_secs(2));
    check_partitioned(&pods(&s, SELECTOR), 3, &current, &update);

    // A canary update.
    set_partition(&s, "ss2", 2);
    let (_, ps) = wait_for_partitioned_rolling_update(&s, "ss2", SELECTOR, 60);
    check_partitioned(&ps, 2, &current, &update);

    // Pods deleted during the update come back at the revision of their side of the partition.
    let (uid0, uid2) = (pod_uid(&s, "ss2-0"), pod_uid(&s, "ss2-2"));
    delete_pod_now(&s, "ss2-0");
    delete_pod_now(&s, "ss2-2");
    s.eventually(60, "ss2-0 and ss2-2 restored", || {
        let ps = pods(&s, SELECTOR);
        ps.len() == 3
            && ps[0].uid != uid0
            && ps[2].uid != uid2
            && ps.iter().all(|p| p.ready && !p.terminating)
    });
    check_partitioned(&pods(&s, SELECTOR), 2, &current, &update);

    // A phased rolling update.
    for partition in (0..2).rev() {
        set_partition(&s, "ss2", partition);
        let (_, ps) = wait_for_partitioned_rolling_update(&s, "ss2", SELECTOR, 60);
        check_partitioned(&ps, partition, &current, &update);
    }
    s.eventually(30, "currentRevision is the update revision", || {
        set_field(&s, "ss2", ".status.currentRevision") == update
    });
}

/// Upstream's `deletingPodForRollingUpdatePartitionTest`: partition 1, a finalizer holds pod 0
/// while it is deleted; once released it is re-created at the current revision.
/// `stopped_phase`: the phase the node gives the deleted pod 0 once its containers stopped (the
/// finalizer keeps it in the API): Failed when one exits non-zero.
fn deleting_pod_for_rolling_update_partition_test(
    s: &Server,
    mut ss: Value,
    secs: u64,
    stopped_phase: &str,
) {
    let name = ss["metadata"]["name"].as_str().unwrap().to_string();
    let pod0 = format!("{name}-0");
    ss["spec"]["updateStrategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
    create(s, &ss);
    wait_running_and_ready(s, &name, SELECTOR, 3, secs);
    let (current, update) = revisions(&wait_for_status(s, &name));
    assert_eq!(current, update);
    for p in pods(s, SELECTOR) {
        assert_eq!(p.revision, current, "{}", p.name);
    }
    s.ok(&[
        "patch",
        "pod",
        &pod0,
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/metadata/finalizers","value":["example.com/test-finalizer"]}]"#,
    ]);
    let image = ss["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string();
    let new_image = if image == WEBSERVER_IMAGE {
        NEW_WEBSERVER_IMAGE
    } else {
        "nginx:1.26.1"
    };
    s.ok(&[
        "set",
        "image",
        &format!("statefulset/{name}"),
        &format!("webserver={new_image}"),
    ]);
    let (current, update) = revisions(&wait_for_status(s, &name));
    assert_ne!(current, update);

    // All replicas running, all updated but pod 0.
    s.eventually(secs, "2 updated, 3 ready", || {
        let st = get_set(s, &name)["status"].clone();
        st["updatedReplicas"] == 2 && st["replicas"] == 3 && st["readyReplicas"] == 3
    });
    let check = |ps: &[PodInfo]| {
        for p in ps {
            let want = if p.name == pod0 {
                (image.as_str(), current.as_str())
            } else {
                (new_image, update.as_str())
            };
            assert_eq!((p.image.as_str(), p.revision.as_str()), want, "{}", p.name);
        }
    };
    check(&pods(s, SELECTOR));

    // Pod 0 deleted: the finalizer keeps it terminating, not ready.
    delete_pod_now(s, &pod0);
    s.eventually(secs, "2 ready replicas while pod 0 terminates", || {
        set_field(s, &name, ".status.readyReplicas") == "2"
    });
    s.eventually(secs, &format!("{pod0} stopped, {stopped_phase}"), || {
        s.ok(&["get", "pod", &pod0, "-o", "jsonpath={.status.phase}"]) == stopped_phase
    });
    s.ok(&[
        "patch",
        "pod",
        &pod0,
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    s.eventually(secs, "pod 0 re-created and all 3 ready", || {
        let ps = pods(s, SELECTOR);
        set_field(s, &name, ".status.readyReplicas") == "3"
            && ps.len() == 3
            && ps.iter().all(|p| p.ready && !p.terminating)
    });
    check(&pods(s, SELECTOR));
}

#[test]
fn should_perform_canary_updates_and_phased_rolling_updates_of_template_modifications_for_partiton1_and_delete_pod_0_without_failing_container(
) {
    let s = start();
    create_headless_service(&s, &labels());
    deleting_pod_for_rolling_update_partition_test(
        &s,
        new_stateful_set("ss2", 3, false, &labels()),
        60,
        "Succeeded",
    );
}

/// Real pods: a second container that exits 1 on SIGTERM in pod 0 (0 elsewhere), so pod 0 ends
/// Failed when it is deleted; the webserver is nginx with upstream's HTTP readiness probe.
#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn should_perform_canary_updates_and_phased_rolling_updates_of_template_modifications_for_partiton1_and_delete_pod_0_with_failing_container(
) {
    let Some((data, _lock)) = with_real_pods(&[], |server| {
        let s = server.as_ref().unwrap();
        create_headless_service(s, &labels());
        let mut ss = new_stateful_set("ss3", 3, false, &labels());
        let spec = &mut ss["spec"]["template"]["spec"];
        spec["terminationGracePeriodSeconds"] = json!(5);
        spec["containers"][0]["image"] = json!("nginx:1.25.4");
        spec["containers"][0]["readinessProbe"] = json!({
            "httpGet": {"path": "/index.html", "port": 80},
            "periodSeconds": 1, "successThreshold": 1, "failureThreshold": 1
        });
        spec["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({
            "name": "sleep-exit-with-1",
            "image": "busybox:1.28",
            "command": ["sh", "-c"],
            "args": [r#"
                echo "Running in pod $POD_NAME"
                _term(){
                    echo "Received SIGTERM signal"
                    if [ "${POD_NAME}" = "ss3-0" ]; then exit 1; else exit 0; fi
                }
                trap _term SIGTERM
                while true; do sleep 1; done
            "#],
            "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}]
        }));
        deleting_pod_for_rolling_update_partition_test(s, ss, 180, "Failed");
        s.ok(&["delete", "sts", "ss3"]);
        pods_gone_and_node_clean(s);
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

#[test]
fn should_implement_legacy_replacement_when_the_update_strategy_is_on_delete() {
    let s = start();
    create_headless_service(&s, &labels());
    let mut ss = new_stateful_set("ss2", 3, false, &labels());
    ss["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
    create(&s, &ss);
    wait_running_and_ready(&s, "ss2", SELECTOR, 3, 60);
    let (current, update) = revisions(&wait_for_status(&s, "ss2"));
    assert_eq!(current, update);
    let replace_all = || {
        let uids: Vec<String> = pods(&s, SELECTOR).into_iter().map(|p| p.uid).collect();
        for i in 0..3 {
            delete_pod_now(&s, &format!("ss2-{i}"));
        }
        s.eventually(60, "3 new pods ready", || {
            let ps = pods(&s, SELECTOR);
            ps.len() == 3
                && ps
                    .iter()
                    .all(|p| p.ready && !p.terminating && !uids.contains(&p.uid))
        });
    };
    // Restoring pods to the current revision.
    replace_all();
    for p in pods(&s, SELECTOR) {
        assert_eq!(p.revision, current, "{}", p.name);
    }
    set_image(&s, "ss2", NEW_WEBSERVER_IMAGE);
    let (current, update) = revisions(&wait_for_status(&s, "ss2"));
    assert_ne!(current, update);
    // Nothing rolls by itself.
    std::thread::sleep(Duration::from_secs(2));
    for p in pods(&s, SELECTOR) {
        assert_eq!(
            (p.image.as_str(), p.revision.as_str()),
            (WEBSERVER_IMAGE, current.as_str())
        );
    }
    // Recreating pods at the new revision.
    replace_all();
    for p in pods(&s, SELECTOR) {
        assert_eq!(
            (p.image.as_str(), p.revision.as_str()),
            (NEW_WEBSERVER_IMAGE, update.as_str()),
            "{}",
            p.name
        );
    }
}

fn sample_pod_labels() -> Value {
    json!({"name": "sample-pod", "pod": "httpd"})
}
const SAMPLE_SELECTOR: &str = "name=sample-pod,pod=httpd";

/// Upstream's `WaitForStatusAvailableReplicas`.
fn wait_available(s: &Server, name: &str, n: usize, secs: u64) {
    s.eventually(secs, &format!("{n} available replicas"), || {
        let set = get_set(s, name);
        set["status"]["observedGeneration"] == set["metadata"]["generation"]
            && set["status"]["availableReplicas"].as_u64().unwrap_or(0) == n as u64
    });
}

#[test]
fn min_ready_seconds_should_be_honored_when_enabled() {
    let s = start();
    create(
        &s,
        &new_stateful_set("test-ss", 1, false, &sample_pod_labels()),
    );
    wait_available(&s, "test-ss", 1, 60);
    wait_running_and_ready(&s, "test-ss", SAMPLE_SELECTOR, 1, 10);
}

#[test]
fn available_replicas_should_get_updated_accordingly_when_min_ready_seconds_is_enabled() {
    let s = start();
    let mut ss = new_stateful_set("test-ss", 2, false, &sample_pod_labels());
    ss["spec"]["minReadySeconds"] = json!(30);
    create(&s, &ss);
    wait_available(&s, "test-ss", 0, 30);
    // Pod 0 is Ready but not yet available.
    wait_pod_ready(&s, "test-ss-0", 30);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(set_field(&s, "test-ss", ".status.availableReplicas"), "0");
    wait_available(&s, "test-ss", 2, 150);
    patch_set(&s, "test-ss", &json!({"spec": {"minReadySeconds": 3600}}));
    wait_available(&s, "test-ss", 0, 30);
    patch_set(&s, "test-ss", &json!({"spec": {"minReadySeconds": 0}}));
    wait_available(&s, "test-ss", 2, 30);
    let yaml = s.ok(&["get", "statefulset", "test-ss", "-o=yaml"]);
    assert!(yaml.contains("availableReplicas: 2"), "{yaml}");
}

/// Beyond upstream's file (KEP-961): with `maxUnavailable: 2` a rolling update replaces up to two
/// pods at once, in reverse ordinal order, and never has more than two unavailable. Counted on
/// the pod watch stream.
#[test]
fn rolling_update_with_max_unavailable_replaces_pods_two_at_a_time() {
    let s = start();
    create_headless_service(&s, &labels());
    let mut ss = new_stateful_set("ss", 5, false, &labels());
    ss["spec"]["updateStrategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}});
    create(&s, &ss);
    wait_running_and_ready(&s, "ss", SELECTOR, 5, 60);
    let watch = PodWatch::start_with(&s, &["-l", SELECTOR]);
    set_image(&s, "ss", NEW_WEBSERVER_IMAGE);
    wait_for_rolling_update(&s, "ss", SELECTOR, 90);
    let evs = watch.events();
    let mut ready: std::collections::BTreeMap<String, bool> = Default::default();
    let mut most_unavailable = 0;
    let mut first_deleted = Vec::new();
    for e in &evs {
        let now_ready = e.kind != "DELETED" && e.ready && !e.terminating;
        ready.insert(e.name.clone(), now_ready);
        if e.terminating && e.image == WEBSERVER_IMAGE && !first_deleted.contains(&e.name) {
            first_deleted.push(e.name.clone());
        }
        if ready.len() == 5 {
            most_unavailable = most_unavailable.max(ready.values().filter(|r| !**r).count());
        }
    }
    assert_eq!(
        most_unavailable, 2,
        "at most, and at some point exactly, 2 unavailable: {evs:?}"
    );
    assert_eq!(first_deleted, ["ss-4", "ss-3", "ss-2", "ss-1", "ss-0"]);
}
