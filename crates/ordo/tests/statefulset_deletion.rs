//! End-to-end: deleting StatefulSets (issue #14) with the real kubectl: foreground deletion
//! finishes; ordo's ordered deletion (an OrderedReady set's pods go highest ordinal first,
//! each after the one above it is gone) with the background, foreground and orphan cascades,
//! for simulated and real pods; `Parallel` sets and the opt-out keep upstream's behaviour; a
//! claim that is being deleted blocks its pod; a set whose revisions kube-controller-manager
//! wrote is taken over without restarting its pods. Orders are read from a
//! `kubectl get pods -w` event stream, never from timestamps.

mod common;
use common::real_pods::with_real_pods;
use common::sts::{Ev, JsonWatch, PodWatch};
use common::{Server, WALKTHROUGH};
use std::time::{Duration, Instant};

fn start() -> Server {
    Server::start_with(&["--sim-start-delay-ms", "100"])
}

/// For pod `<set>-<i>`: the index of the event that first shows it marked for deletion (or
/// gone), and of its DELETED event.
fn deletion_events(evs: &[Ev], set: &str, i: usize) -> (usize, usize) {
    let name = format!("{set}-{i}");
    let at = |f: &dyn Fn(&Ev) -> bool| {
        evs.iter()
            .position(|e| e.name == name && f(e))
            .unwrap_or_else(|| panic!("{name}: no such event in {evs:?}"))
    };
    (
        at(&|e| e.terminating || e.kind == "DELETED"),
        at(&|e| e.kind == "DELETED"),
    )
}

/// Asserts that pods `<set>-0 .. <set>-(n-1)` were deleted highest ordinal first: each one is
/// marked for deletion only after the one above it is gone.
fn assert_descending_deletion(evs: &[Ev], set: &str, n: usize) {
    for i in 0..n - 1 {
        let (marked, _) = deletion_events(evs, set, i);
        let (_, above_gone) = deletion_events(evs, set, i + 1);
        assert!(
            above_gone < marked,
            "{set}-{i} was marked for deletion (event {marked}) before {set}-{} was gone \
             (event {above_gone}): {evs:?}",
            i + 1
        );
    }
}

fn wait_ready(s: &Server, set: &str, n: usize, secs: u64) {
    s.eventually(secs, &format!("{n} ready replicas of {set}"), || {
        s.ok(&[
            "get",
            "sts",
            set,
            "-o",
            "jsonpath={.status.readyReplicas}/{.status.replicas}",
        ]) == format!("{n}/{n}")
    });
}

fn pod_names(s: &Server) -> String {
    s.ok(&["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"])
}

const SET: &str = "nginx-statefulset";

/// Defect 1 of #14: `--cascade=foreground` used to leave the set for ever, its revision
/// re-created by the controller as fast as the collector deleted it.
#[test]
fn foreground_delete_of_a_statefulset_finishes() {
    let s = start();
    s.apply(WALKTHROUGH);
    wait_ready(&s, SET, 3, 60);
    let revisions = JsonWatch::start(&s, "controllerrevisions", &[]);
    let began = Instant::now();
    s.ok(&[
        "delete",
        "statefulset",
        SET,
        "--cascade=foreground",
        "--timeout=60s",
    ]);
    eprintln!("foreground delete took {:?}", began.elapsed());
    assert!(s.fails(&["get", "statefulset", SET]).contains("not found"));
    assert_eq!(pod_names(&s), "", "pods are gone before their set");
    assert_eq!(
        s.ok(&["get", "controllerrevisions", "-o", "name"]),
        "",
        "no revision left or re-created"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(s.ok(&["get", "controllerrevisions", "-o", "name"]), "");
    let evs = revisions.values();
    assert_eq!(
        evs.iter().filter(|e| e["type"] == "ADDED").count(),
        1,
        "the revision was written anew while its set was being deleted: {evs:?}"
    );
}

/// Ordered deletion, default (background) cascade: `kubectl delete` returns at once and the set
/// is gone; its pods follow, highest ordinal first.
#[test]
fn ordered_deletion_background_removes_pods_highest_first() {
    let s = start();
    s.apply(&WALKTHROUGH.replace("replicas: 3", "replicas: 4"));
    wait_ready(&s, SET, 4, 60);
    let w = PodWatch::start(&s);
    // kubectl waits for the set itself to be gone (`--wait` is on by default): it is, at once.
    s.ok(&["delete", "statefulset", SET, "--timeout=10s"]);
    assert!(
        s.fails(&["get", "statefulset", SET]).contains("not found"),
        "the set itself goes at once, as upstream"
    );
    s.eventually(60, "all pods gone", || pod_names(&s).is_empty());
    std::thread::sleep(Duration::from_millis(300));
    assert_descending_deletion(&w.events(), SET, 4);
}

/// Ordered deletion with `--cascade=foreground`: the set stays (with its `foregroundDeletion`
/// finalizer) until its last pod is gone; the pods go highest ordinal first.
#[test]
fn ordered_deletion_foreground_removes_the_set_after_its_pods() {
    let s = start();
    s.apply(WALKTHROUGH);
    wait_ready(&s, SET, 3, 60);
    let w = PodWatch::start(&s);
    s.ok(&[
        "delete",
        "statefulset",
        SET,
        "--cascade=foreground",
        "--timeout=60s",
    ]);
    assert_eq!(pod_names(&s), "", "kubectl returned once the set was gone");
    std::thread::sleep(Duration::from_millis(300));
    assert_descending_deletion(&w.events(), SET, 3);
}

/// `--cascade=orphan` keeps the pods, without their owner reference, as upstream does.
#[test]
fn ordered_deletion_orphan_keeps_the_pods() {
    let s = start();
    s.apply(WALKTHROUGH);
    wait_ready(&s, SET, 3, 60);
    s.ok(&["delete", "statefulset", SET, "--cascade=orphan"]);
    s.eventually(30, "owner references dropped", || {
        s.ok(&[
            "get",
            "pods",
            "-o",
            "jsonpath={.items[*].metadata.ownerReferences}",
        ])
        .is_empty()
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        pod_names(&s),
        "nginx-statefulset-0 nginx-statefulset-1 nginx-statefulset-2"
    );
}

/// `Parallel` sets, and OrderedReady sets annotated `ordo.dev/ordered-deletion: "false"`, keep
/// upstream's behaviour: the collector deletes all their pods at once.
#[test]
fn parallel_and_opted_out_sets_delete_their_pods_at_once() {
    let s = start();
    let parallel = WALKTHROUGH.replace(
        "  replicas: 3\n",
        "  replicas: 3\n  podManagementPolicy: Parallel\n",
    );
    let opted_out = WALKTHROUGH.replace(
        "  labels: {app: nginx-stateful}\nspec:",
        "  labels: {app: nginx-stateful}\n  annotations: {ordo.dev/ordered-deletion: \"false\"}\nspec:",
    );
    assert_ne!(opted_out, WALKTHROUGH);
    for manifest in [parallel, opted_out] {
        s.apply(&manifest);
        wait_ready(&s, SET, 3, 60);
        let w = PodWatch::start(&s);
        s.ok(&["delete", "statefulset", SET]);
        s.eventually(60, "all pods gone", || pod_names(&s).is_empty());
        std::thread::sleep(Duration::from_millis(300));
        // The collector asks all three to go in one pass: some lower pod is marked for
        // deletion before the pod above it is gone.
        let evs = w.events();
        let marked = |i| deletion_events(&evs, SET, i).0;
        let gone = |i| deletion_events(&evs, SET, i).1;
        assert!(
            (0..2).any(|i| marked(i) < gone(i + 1)),
            "deleted one by one, in order: {evs:?}"
        );
        s.eventually(30, "revisions collected", || {
            s.ok(&["get", "controllerrevisions", "-o", "name"])
                .is_empty()
        });
    }
}

/// Ordered deletion of real pods: nginx containers under runc, deleted highest first.
#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn ordered_deletion_of_real_pods() {
    let Some((data, _lock)) = with_real_pods(&[], |server| {
        let s = server.as_ref().unwrap();
        s.apply(&WALKTHROUGH.replace(
            "    spec:\n      containers:",
            "    spec:\n      terminationGracePeriodSeconds: 5\n      containers:",
        ));
        wait_ready(s, SET, 3, 120);
        let w = PodWatch::start(s);
        s.ok(&["delete", "statefulset", SET]);
        s.eventually(120, "all pods gone", || pod_names(s).is_empty());
        std::thread::sleep(Duration::from_millis(300));
        assert_descending_deletion(&w.events(), SET, 3);
    }) else {
        return;
    };
    let left = common::real_pods::leftovers(&data);
    assert!(left.is_empty(), "left on the host: {left:?}");
}

/// Defect 4 of #14: no pod is created on a claim that is being deleted; the controller records
/// upstream's `FailedCreate` and creates the pod once the claim is gone.
#[test]
fn pod_waits_for_its_terminating_claim() {
    let s = start();
    s.apply(
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25.4
        volumeMounts: [{name: www, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
"#,
    );
    wait_ready(&s, "web", 1, 60);
    let old_claim = s.ok(&["get", "pvc", "www-web-0", "-o", "jsonpath={.metadata.uid}"]);
    // Hold the claim in Terminating with a finalizer of our own.
    s.ok(&[
        "patch",
        "pvc",
        "www-web-0",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
    ]);
    s.ok(&["delete", "pvc", "www-web-0", "--wait=false"]);
    s.ok(&["delete", "pod", "web-0"]);
    let text = "create Pod web-0 in StatefulSet web failed error: pvc www-web-0 is being deleted";
    s.eventually(30, "FailedCreate event", || {
        s.ok(&[
            "get",
            "events",
            "--field-selector",
            "reason=FailedCreate",
            "-o",
            "jsonpath={.items[*].message}",
        ])
        .contains(text)
    });
    assert!(
        s.fails(&["get", "pod", "web-0"]).contains("not found"),
        "no pod on a terminating claim"
    );
    s.ok(&[
        "patch",
        "pvc",
        "www-web-0",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    wait_ready(&s, "web", 1, 60);
    let new_claim = s.ok(&["get", "pvc", "www-web-0", "-o", "jsonpath={.metadata.uid}"]);
    assert_ne!(new_claim, old_claim, "a new claim for the new pod");
}

/// Defect 6 of #14: a set, its ControllerRevision, pod and claim written as
/// kube-controller-manager writes them (fixtures of ordo-controllers' `testdata/`, 1.33 and
/// 1.34 encodings) and then run by ordo: the pod is up to date, nothing is re-rolled.
#[test]
fn statefulset_written_by_kube_controller_manager_is_taken_over_without_restarts() {
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ordo-controllers/src/statefulset/tests/testdata"
    );
    let api = Server::start_with(&["--api-only", "--node-name", "kcm-node"]);
    let mut names = Vec::new();
    for (ns, version) in [("kcm133", "1.33"), ("kcm134", "1.34")] {
        let text = std::fs::read_to_string(format!("{fixtures}/kcm-{version}.json")).unwrap();
        let f: serde_json::Value = serde_json::from_str(&text).unwrap();
        api.ok(&["create", "namespace", ns]);
        let with_ns = |v: &serde_json::Value| {
            let mut v = v.clone();
            v["metadata"]["namespace"] = ns.into();
            v
        };
        let mut set = with_ns(&f["statefulSet"]);
        let status = set.as_object_mut().unwrap().remove("status").unwrap();
        api.ok_stdin(&["create", "-f", "-"], &set.to_string());
        api.ok(&[
            "patch",
            "sts",
            "kcm-web",
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            &serde_json::json!({ "status": status }).to_string(),
        ]);
        let uid = api.ok(&[
            "get",
            "sts",
            "kcm-web",
            "-n",
            ns,
            "-o",
            "jsonpath={.metadata.uid}",
        ]);
        let owner = serde_json::json!([{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "kcm-web",
            "uid": uid, "controller": true, "blockOwnerDeletion": true}]);
        let mut cr = with_ns(&f["controllerRevision"]);
        cr["metadata"]["ownerReferences"] = owner.clone();
        api.ok_stdin(&["create", "-f", "-"], &cr.to_string());
        let mut pod = with_ns(&f["pod"]);
        pod["metadata"]["ownerReferences"] = owner;
        pod["spec"]["nodeName"] = "kcm-node".into();
        api.ok_stdin(&["create", "-f", "-"], &pod.to_string());
        let claim = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "www-kcm-web-0", "namespace": ns, "labels": {"app": "kcm-web"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        api.ok_stdin(&["create", "-f", "-"], &claim.to_string());
        let pod_uid = api.ok(&[
            "get",
            "pod",
            "kcm-web-0",
            "-n",
            ns,
            "-o",
            "jsonpath={.metadata.uid}",
        ]);
        names.push((
            ns,
            cr["metadata"]["name"].as_str().unwrap().to_string(),
            pod_uid,
        ));
    }
    // Now ordo's controllers and node take over the same data.
    let dir = api.kill9();
    let s = Server::start_in(
        dir,
        &["--sim-start-delay-ms", "100", "--node-name", "kcm-node"],
    );
    for (ns, _, _) in &names {
        s.eventually(60, "the pod running and Ready", || {
            s.ok(&[
                "get",
                "sts",
                "kcm-web",
                "-n",
                ns,
                "-o",
                "jsonpath={.status.readyReplicas}",
            ]) == "1"
        });
    }
    std::thread::sleep(Duration::from_secs(3));
    for (ns, revision, pod_uid) in &names {
        let get = |args: &[&str]| {
            let mut a = args.to_vec();
            a.extend(["-n", ns]);
            s.ok(&a)
        };
        assert_eq!(
            get(&[
                "get",
                "controllerrevisions",
                "-o",
                "jsonpath={.items[*].metadata.name}"
            ]),
            *revision,
            "{ns}: no new revision"
        );
        assert_eq!(
            get(&["get", "pod", "kcm-web-0", "-o", "jsonpath={.metadata.uid}"]),
            *pod_uid,
            "{ns}: the pod was not restarted"
        );
        assert_eq!(
            get(&[
                "get",
                "sts",
                "kcm-web",
                "-o",
                "jsonpath={.status.currentRevision} {.status.updateRevision} {.status.updatedReplicas}",
            ]),
            format!("{revision} {revision} 1"),
            "{ns}"
        );
    }
}
