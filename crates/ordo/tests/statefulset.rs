//! End-to-end: the StatefulSet controller driven by the real kubectl through the walkthrough
//! (steps 1, 3, 4, 5, 6, 7): ordered creation and scaling, describe, rolling update in reverse
//! ordinal order, change-cause in `rollout history`, `rollout undo|status|restart`,
//! ControllerRevisions (no ReplicaSets), claims with retention policy, adoption and release.
//! Ordering is asserted on a `kubectl get pods -w` event stream, not on second-resolution
//! timestamps.

mod common;
use common::sts::{first, PodWatch};
use common::{table, Server, WALKTHROUGH};
use serde_json::Value;
use std::time::{Duration, Instant};

fn start() -> Server {
    Server::start_with(&["--sim-start-delay-ms", "300"])
}

fn pod(i: usize) -> String {
    format!("nginx-statefulset-{i}")
}

/// Asserts pods `from..to` were created in order, each only after its predecessor was Ready.
fn assert_ordered_creation(evs: &[common::sts::Ev], from: usize, to: usize) {
    for i in from.max(1)..to {
        let created = first(evs, |e| e.name == pod(i))
            .unwrap_or_else(|| panic!("{} never seen: {evs:?}", pod(i)));
        let prev_ready = first(evs, |e| e.name == pod(i - 1) && e.ready && !e.terminating)
            .unwrap_or_else(|| panic!("{} never Ready", pod(i - 1)));
        assert!(
            prev_ready < created,
            "{} created (event {created}) before {} was Ready (event {prev_ready})",
            pod(i),
            pod(i - 1)
        );
    }
}

fn sts_field(s: &Server, path: &str) -> String {
    s.ok(&[
        "get",
        "sts",
        "nginx-statefulset",
        "-o",
        &format!("jsonpath={{{path}}}"),
    ])
}

fn wait_ready(s: &Server, n: usize, secs: u64) {
    s.eventually(secs, &format!("{n} ready replicas"), || {
        sts_field(s, ".status.readyReplicas") == n.to_string()
            && sts_field(s, ".status.replicas") == n.to_string()
    });
}

#[test]
fn walkthrough_ordered_create_scale_and_describe() {
    let s = start();
    let watch = PodWatch::start(&s);
    let t0 = Instant::now();
    assert_eq!(
        s.apply(WALKTHROUGH),
        "service/nginx-stateful-service created\nstatefulset.apps/nginx-statefulset created\n"
    );
    // While starting, READY counts up and never more than one pod is not ready.
    s.eventually(20, "3/3", || {
        let rows = table(&s.ok(&["get", "pods", "--no-headers"]));
        let unready = rows
            .iter()
            .filter(|r| r.get(1).map(String::as_str) != Some("1/1"))
            .count();
        assert!(
            unready <= 1,
            "OrderedReady: at most one pod starting at a time: {rows:?}"
        );
        table(&s.ok(&["get", "sts", "--no-headers"]))[0][1] == "3/3"
    });
    eprintln!("3 replicas OrderedReady: {:?}", t0.elapsed());
    assert_ordered_creation(&watch.events(), 0, 3);
    let pvc = s.kubectl(&["get", "pvc"]);
    assert_eq!(
        String::from_utf8_lossy(&pvc.stderr),
        "No resources found in default namespace.\n"
    );

    // Identity of a pod.
    let p0: Value =
        serde_json::from_str(&s.ok(&["get", "pod", "nginx-statefulset-0", "-o", "json"])).unwrap();
    let labels = &p0["metadata"]["labels"];
    assert_eq!(
        labels["statefulset.kubernetes.io/pod-name"],
        "nginx-statefulset-0"
    );
    assert_eq!(labels["apps.kubernetes.io/pod-index"], "0");
    assert_eq!(
        labels["controller-revision-hash"],
        sts_field(&s, ".status.updateRevision").as_str()
    );
    assert_eq!(p0["spec"]["hostname"], "nginx-statefulset-0");
    assert_eq!(p0["spec"]["subdomain"], "nginx-stateful-service");
    let owner = &p0["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["controller"].as_bool()),
        (Some("StatefulSet"), Some(true))
    );

    // Scale up to 10: strictly in order; describe shows desired vs total mid-way.
    let t1 = Instant::now();
    assert_eq!(
        s.ok(&["scale", "statefulset", "nginx-statefulset", "--replicas=10"]),
        "statefulset.apps/nginx-statefulset scaled\n"
    );
    let mut saw_partial = false;
    s.eventually(40, "10 ready", || {
        let d = s.ok(&["describe", "sts", "nginx-statefulset"]);
        if let Some(line) = d.lines().find(|l| l.starts_with("Replicas:")) {
            let total: usize = line
                .split('|')
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(line.contains("10 desired"), "{line}");
            saw_partial |= total < 10;
        }
        sts_field(&s, ".status.readyReplicas") == "10"
    });
    eprintln!("scale 3 -> 10 OrderedReady: {:?}", t1.elapsed());
    assert!(
        saw_partial,
        "describe should have shown fewer than 10 total while scaling"
    );
    assert_ordered_creation(&watch.events(), 3, 10);
    let d = s.ok(&["describe", "sts", "nginx-statefulset"]);
    for want in [
        "Replicas:           10 desired | 10 total",
        "Update Strategy:    RollingUpdate",
        "  Partition:        0",
        "Pods Status:        10 Running / 0 Waiting / 0 Succeeded / 0 Failed",
        "Volume Claims:     <none>",
    ] {
        assert!(d.contains(want), "describe lacks {want:?}:\n{d}");
    }
    let ev = d
        .lines()
        .find(|l| {
            l.contains("create Pod nginx-statefulset-9 in StatefulSet nginx-statefulset successful")
        })
        .unwrap_or_else(|| panic!("{d}"));
    assert!(
        ev.trim_start().starts_with("Normal  SuccessfulCreate")
            && ev.contains("statefulset-controller"),
        "{ev}"
    );

    // Scale down to 5: highest ordinal first, each one gone before the next is deleted.
    let t2 = Instant::now();
    s.ok(&[
        "patch",
        "statefulset",
        "nginx-statefulset",
        "-p",
        r#"{"spec":{"replicas":5}}"#,
    ]);
    wait_ready(&s, 5, 30);
    eprintln!("scale 10 -> 5: {:?}", t2.elapsed());
    let evs = watch.events();
    let mut last_gone = 0;
    for i in (5..10).rev() {
        let term = first(&evs, |e| e.name == pod(i) && e.terminating)
            .unwrap_or_else(|| panic!("{} not deleted", pod(i)));
        let gone = first(&evs, |e| e.name == pod(i) && e.kind == "DELETED").unwrap();
        assert!(
            term > last_gone,
            "{} deleted before {} was gone",
            pod(i),
            pod(i + 1)
        );
        last_gone = gone;
    }
    assert!(
        first(&evs, |e| e.name == pod(4) && e.terminating).is_none(),
        "pod 4 must stay"
    );
    let d = s.ok(&["describe", "sts", "nginx-statefulset"]);
    assert!(
        d.contains("delete Pod nginx-statefulset-9 in StatefulSet nginx-statefulset successful"),
        "{d}"
    );
}

#[test]
fn walkthrough_rolling_update_history_and_undo() {
    let s = start();
    s.apply(&WALKTHROUGH.replace("replicas: 3", "replicas: 4"));
    wait_ready(&s, 4, 30);
    let rev1 = sts_field(&s, ".status.currentRevision");
    let watch = PodWatch::start(&s);

    // Step 4: set image rolls pods 3, 2, 1, 0, each replacement Ready before the next goes.
    s.ok(&[
        "set",
        "image",
        "statefulset/nginx-statefulset",
        "nginx-container=nginx:1.26.1",
    ]);
    let status = s.ok(&[
        "rollout",
        "status",
        "statefulset/nginx-statefulset",
        "--timeout=50s",
    ]);
    assert!(
        status.ends_with("partitioned roll out complete: 4 new pods have been updated...\n"),
        "{status}"
    );
    let evs = watch.events();
    let mut prev_new_ready = 0;
    for i in (0..4).rev() {
        let old_uid = evs.iter().find(|e| e.name == pod(i)).unwrap().uid.clone();
        let term = first(&evs, |e| {
            e.name == pod(i) && e.uid == old_uid && e.terminating
        })
        .unwrap_or_else(|| panic!("{} not replaced", pod(i)));
        assert!(
            term > prev_new_ready,
            "{} deleted before its successor was Ready",
            pod(i)
        );
        prev_new_ready = first(&evs, |e| {
            e.name == pod(i) && e.uid != old_uid && e.ready && e.image == "nginx:1.26.1"
        })
        .unwrap_or_else(|| panic!("new {} never Ready", pod(i)));
    }
    let rev2 = sts_field(&s, ".status.updateRevision");
    assert_ne!(rev1, rev2);
    assert_eq!(sts_field(&s, ".status.currentRevision"), rev2);
    assert_eq!(sts_field(&s, ".status.updatedReplicas"), "4");
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=StatefulSet",
        "-o",
        "jsonpath={range .items[*]}{.reason} {.message}{\"\\n\"}{end}",
    ]);
    assert!(events.contains("SuccessfulDelete delete Pod nginx-statefulset-3 in StatefulSet nginx-statefulset successful"), "{events}");

    // Step 5: change cause recorded after the fact shows in the history (ordo deviation).
    s.ok(&[
        "annotate",
        "statefulset/nginx-statefulset",
        "kubernetes.io/change-cause=downgraded to 1.26.1",
    ]);
    s.eventually(10, "change-cause on revision 2", || {
        s.ok(&["rollout", "history", "statefulset/nginx-statefulset"])
            == "statefulset.apps/nginx-statefulset \nREVISION  CHANGE-CAUSE\n1         <none>\n2         downgraded to 1.26.1\n\n"
    });
    let detail = s.ok(&[
        "rollout",
        "history",
        "statefulset/nginx-statefulset",
        "--revision=2",
    ]);
    assert!(
        detail.contains("with revision #2") && detail.contains("Image:\tnginx:1.26.1"),
        "{detail}"
    );

    // Step 6: revisions are ControllerRevisions; no ReplicaSets.
    let crs = table(&s.ok(&["get", "controllerrevisions"]));
    assert_eq!(crs[0], ["NAME", "CONTROLLER", "REVISION", "AGE"]);
    let mut rows: Vec<(String, String, String)> = crs[1..]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    rows.sort_by(|a, b| a.2.cmp(&b.2));
    let ctl = "statefulset.apps/nginx-statefulset".to_string();
    assert_eq!(
        rows,
        [
            (rev1.clone(), ctl.clone(), "1".into()),
            (rev2.clone(), ctl.clone(), "2".into())
        ]
    );
    let rs = s.kubectl(&["get", "rs", "-o", "wide"]);
    assert_eq!(
        String::from_utf8_lossy(&rs.stderr),
        "No resources found in default namespace.\n"
    );

    // Undo: revision 1 is reused (renumbered 3), pods roll back, status completes.
    assert_eq!(
        s.ok(&["rollout", "undo", "statefulset/nginx-statefulset"]),
        "statefulset.apps/nginx-statefulset rolled back\n"
    );
    let status = s.ok(&[
        "rollout",
        "status",
        "statefulset/nginx-statefulset",
        "--timeout=50s",
    ]);
    assert!(
        status.contains("partitioned roll out complete: 4 new pods have been updated..."),
        "{status}"
    );
    s.eventually(20, "rolled back", || {
        sts_field(&s, ".status.currentRevision") == rev1
            && sts_field(&s, ".status.updatedReplicas") == "4"
    });
    let images = s.ok(&[
        "get",
        "pods",
        "-o",
        "jsonpath={.items[*].spec.containers[0].image}",
    ]);
    assert_eq!(
        images,
        "nginx:1.25.4 nginx:1.25.4 nginx:1.25.4 nginx:1.25.4"
    );
    assert_eq!(
        s.ok(&["rollout", "history", "statefulset/nginx-statefulset"]),
        "statefulset.apps/nginx-statefulset \nREVISION  CHANGE-CAUSE\n2         downgraded to 1.26.1\n3         <none>\n\n"
    );
    assert_eq!(
        table(&s.ok(&["get", "controllerrevisions", "--no-headers"])).len(),
        2,
        "rollback creates no revision"
    );

    // Restart: a new revision (4) that copies the set's annotations, rolled out fully.
    s.ok(&["rollout", "restart", "statefulset/nginx-statefulset"]);
    s.ok(&[
        "rollout",
        "status",
        "statefulset/nginx-statefulset",
        "--timeout=50s",
    ]);
    s.eventually(20, "restart complete", || {
        let st = sts_field(&s, ".status.currentRevision");
        st != rev1
            && st == sts_field(&s, ".status.updateRevision")
            && sts_field(&s, ".status.updatedReplicas") == "4"
    });
    let h = s.ok(&["rollout", "history", "statefulset/nginx-statefulset"]);
    assert!(h.ends_with("4         downgraded to 1.26.1\n\n"), "{h}");
    assert_eq!(
        sts_field(&s, ".status.observedGeneration"),
        sts_field(&s, ".metadata.generation")
    );
}

const WITH_CLAIMS: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  podManagementPolicy: Parallel
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Delete}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: nginx:1.25.4, volumeMounts: [{name: www, mountPath: /data}]}]
  volumeClaimTemplates:
  - metadata: {name: www, labels: {tier: data}}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"#;

#[test]
fn claims_retention_adoption_and_release() {
    let s = start();
    s.apply(WITH_CLAIMS);
    s.eventually(20, "3 ready", || {
        s.ok(&[
            "get",
            "sts",
            "web",
            "-o",
            "jsonpath={.status.readyReplicas}",
        ]) == "3"
    });
    let pvcs = s.ok(&["get", "pvc", "-o", "jsonpath={.items[*].metadata.name}"]);
    assert_eq!(pvcs, "www-web-0 www-web-1 www-web-2");
    let c0: Value =
        serde_json::from_str(&s.ok(&["get", "pvc", "www-web-0", "-o", "json"])).unwrap();
    assert_eq!(
        c0["metadata"]["labels"],
        serde_json::json!({"app": "web", "tier": "data"})
    );
    assert_eq!(c0["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
    let vols = s.ok(&[
        "get",
        "pod",
        "web-1",
        "-o",
        "jsonpath={.spec.volumes[0].name}={.spec.volumes[0].persistentVolumeClaim.claimName}",
    ]);
    assert_eq!(vols, "www=www-web-1");
    let d = s.ok(&["describe", "sts", "web"]);
    assert!(
        d.contains("create Claim www-web-2 Pod web-2 in StatefulSet web success"),
        "{d}"
    );

    // Adoption: an orphaned member is re-adopted; a member whose labels stop matching is released.
    s.ok(&[
        "patch",
        "pod",
        "web-0",
        "--type",
        "json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/ownerReferences"}]"#,
    ]);
    s.eventually(15, "web-0 re-adopted", || {
        s.ok(&[
            "get",
            "pod",
            "web-0",
            "-o",
            "jsonpath={.metadata.ownerReferences[0].name}",
        ]) == "web"
    });
    s.ok(&["label", "pod", "web-2", "app=other", "--overwrite"]);
    s.eventually(15, "web-2 released and replaced", || {
        s.ok(&[
            "get",
            "pod",
            "web-2",
            "-o",
            "jsonpath={.metadata.ownerReferences}",
        ])
        .is_empty()
    });
    let released_uid = s.ok(&["get", "pod", "web-2", "-o", "jsonpath={.metadata.uid}"]);
    s.ok(&["delete", "pod", "web-2", "--wait=false"]);
    s.eventually(20, "web-2 recreated by the set", || {
        let uid = s.ok(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[?(@.metadata.name==\"web-2\")].metadata.uid}",
        ]);
        !uid.is_empty() && uid != released_uid
    });

    // whenScaled=Delete: the claims of scaled-away ordinals go with their pods.
    s.ok(&["scale", "sts", "web", "--replicas=1"]);
    s.eventually(30, "claims 1 and 2 deleted", || {
        s.ok(&["get", "pvc", "-o", "jsonpath={.items[*].metadata.name}"]) == "www-web-0"
    });
    // whenDeleted=Delete: the last claim goes with the set.
    s.ok(&["delete", "sts", "web"]);
    s.eventually(30, "claim 0 deleted", || {
        s.ok(&["get", "pvc", "-o", "jsonpath={.items[*].metadata.name}"])
            .is_empty()
    });
}

const PARALLEL: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {name: nginx-statefulset}
spec:
  serviceName: nginx
  replicas: 3
  podManagementPolicy: Parallel
  updateStrategy: {type: OnDelete}
  selector: {matchLabels: {app: par}}
  template:
    metadata: {labels: {app: par}}
    spec:
      containers: [{name: nginx-container, image: nginx:1.25.4}]
"#;

fn images(s: &Server) -> String {
    s.ok(&[
        "get",
        "pods",
        "-o",
        "jsonpath={.items[*].spec.containers[0].image}",
    ])
}

#[test]
fn parallel_on_delete_and_partition() {
    let s = start();
    let watch = PodWatch::start(&s);
    s.apply(PARALLEL);
    wait_ready(&s, 3, 20);
    // Parallel: all three pods exist before any of them is Ready.
    let evs = watch.events();
    let first_ready = first(&evs, |e| e.ready).unwrap();
    for i in 0..3 {
        assert!(
            first(&evs, |e| e.name == pod(i)).unwrap() < first_ready,
            "{} created late",
            pod(i)
        );
    }

    // OnDelete: a template change restarts nothing ...
    s.ok(&[
        "set",
        "image",
        "statefulset/nginx-statefulset",
        "nginx-container=nginx:1.26.1",
    ]);
    s.eventually(10, "new update revision", || {
        sts_field(&s, ".status.updateRevision") != sts_field(&s, ".status.currentRevision")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(images(&s), "nginx:1.25.4 nginx:1.25.4 nginx:1.25.4");
    // ... a deleted pod comes back at the update revision ...
    s.ok(&["delete", "pod", "nginx-statefulset-1", "--wait=false"]);
    s.eventually(20, "pod 1 replaced", || {
        images(&s) == "nginx:1.25.4 nginx:1.26.1 nginx:1.25.4"
    });
    assert_eq!(sts_field(&s, ".status.updatedReplicas"), "1");
    // ... and once every pod is updated, currentRevision is promoted.
    s.ok(&[
        "delete",
        "pod",
        "nginx-statefulset-0",
        "nginx-statefulset-2",
        "--wait=false",
    ]);
    s.eventually(20, "all replaced", || {
        images(&s) == "nginx:1.26.1 nginx:1.26.1 nginx:1.26.1"
    });
    s.eventually(10, "currentRevision promoted", || {
        sts_field(&s, ".status.currentRevision") == sts_field(&s, ".status.updateRevision")
    });

    // RollingUpdate with partition 2: only the pod at ordinal 2 moves to the next revision.
    s.ok(&[
        "patch",
        "statefulset",
        "nginx-statefulset",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}},"template":{"spec":{"containers":[{"name":"nginx-container","image":"nginx:1.27.0"}]}}}}"#,
    ]);
    let status = s.ok(&[
        "rollout",
        "status",
        "statefulset/nginx-statefulset",
        "--timeout=40s",
    ]);
    assert!(
        status.contains("partitioned roll out complete: 1 new pods have been updated..."),
        "{status}"
    );
    s.eventually(20, "pod 2 updated", || {
        images(&s) == "nginx:1.26.1 nginx:1.26.1 nginx:1.27.0"
    });
    assert_ne!(
        sts_field(&s, ".status.currentRevision"),
        sts_field(&s, ".status.updateRevision")
    );
}

/// Beyond upstream (#67250): a rollout stuck on a pod that never becomes Ready (here: its new
/// template cannot be scheduled) heals when the template changes again, without anyone
/// deleting the pod.
#[test]
fn broken_rollout_heals() {
    let s = start();
    s.apply(&WALKTHROUGH.replace("replicas: 3", "replicas: 2"));
    wait_ready(&s, 2, 30);
    s.ok(&[
        "patch",
        "statefulset",
        "nginx-statefulset",
        "-p",
        r#"{"spec":{"template":{"spec":{"nodeSelector":{"disk":"none-such"}}}}}"#,
    ]);
    s.eventually(
        30,
        "web-1 re-created at the broken revision and stuck Pending",
        || {
            // Not found while it is being replaced: keep polling.
            let out = s.kubectl(&[
                "get",
                "pod",
                "nginx-statefulset-1",
                "-o",
                "jsonpath={.spec.nodeSelector.disk} {.status.phase}",
            ]);
            out.status.success() && out.stdout == b"none-such Pending"
        },
    );
    let stuck_uid = s.ok(&[
        "get",
        "pod",
        "nginx-statefulset-1",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            "nginx-statefulset-1",
            "-o",
            "jsonpath={.metadata.uid}"
        ]),
        stuck_uid,
        "a stuck pod at the update revision stays"
    );
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            "nginx-statefulset-0",
            "-o",
            "jsonpath={.spec.nodeSelector}"
        ]),
        "",
        "the rollout is stalled before web-0"
    );
    // Back to a working template: the stuck pod (now at an old revision) is replaced.
    s.ok(&[
        "patch",
        "statefulset",
        "nginx-statefulset",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]"#,
    ]);
    s.eventually(60, "both pods Ready without the selector", || {
        s.ok(&[
            "get",
            "pods",
            "-o",
            "jsonpath={.items[*].spec.nodeSelector}",
        ])
        .is_empty()
            && sts_field(&s, ".status.readyReplicas") == "2"
            && s.ok(&[
                "get",
                "pod",
                "nginx-statefulset-1",
                "-o",
                "jsonpath={.metadata.uid}",
            ]) != stuck_uid
    });
}
