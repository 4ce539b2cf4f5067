//! End-to-end: Deployments and ReplicaSets driven by the real kubectl against a real
//! `ordo server` (controllers, scheduler and simulated node included): ReplicaSet naming
//! and selectors, rolling update, change causes, history, undo, status, cascading deletes.

mod common;
use common::{table, Server};

const DEPLOY: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25.4
"#;

fn start() -> Server {
    Server::start_with(&["--sim-start-delay-ms", "200"])
}

/// Rows (without header) of `kubectl get rs -o wide`.
fn replicasets(s: &Server) -> Vec<Vec<String>> {
    let out = s.kubectl(&["get", "rs", "-o", "wide"]);
    table(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .skip(1)
        .collect()
}

fn pod_names(s: &Server, ns: &str) -> Vec<String> {
    s.ok(&[
        "get",
        "pods",
        "-n",
        ns,
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ])
    .split_whitespace()
    .map(str::to_string)
    .collect()
}

fn rollout_done(s: &Server) {
    let out = s.ok(&["rollout", "status", "deployment/web", "--timeout=90s"]);
    assert!(
        out.trim_end()
            .ends_with("deployment \"web\" successfully rolled out"),
        "{out}"
    );
}

fn history(s: &Server) -> Vec<Vec<String>> {
    let out = s.ok(&["rollout", "history", "deployment/web"]);
    out.lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (rev, cause) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            vec![rev.to_string(), cause.trim().to_string()]
        })
        .collect()
}

#[test]
fn deployment_rollout_history_undo() {
    let s = start();
    assert_eq!(s.apply(DEPLOY), "deployment.apps/web created\n");
    s.eventually(60, "one ReplicaSet with 3 ready pods", || {
        replicasets(&s)
            .first()
            .is_some_and(|r| r[1..4] == ["3", "3", "3"])
    });
    let rs = replicasets(&s);
    assert_eq!(rs.len(), 1, "{rs:?}");
    let first = rs[0][0].clone();
    let hash = first
        .strip_prefix("web-")
        .expect("RS named web-<hash>")
        .to_string();
    assert!(
        !hash.is_empty()
            && hash
                .chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
        "{hash}"
    );
    assert_eq!(
        rs[0][5..],
        [
            "nginx",
            "nginx:1.25.4",
            &format!("app=web,pod-template-hash={hash}")
        ]
    );
    let header = table(&s.ok(&["get", "rs", "-o", "wide"]))[0].clone();
    assert_eq!(
        header,
        [
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    let pods = pod_names(&s, "default");
    assert_eq!(pods.len(), 3, "{pods:?}");
    for p in &pods {
        let suffix = p
            .strip_prefix(&format!("{first}-"))
            .unwrap_or_else(|| panic!("pod {p} not named after {first}"));
        assert_eq!(suffix.len(), 5, "{p}");
    }
    let owner = s.ok(&["get", "pod", &pods[0], "-o", "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].controller} {.metadata.ownerReferences[0].blockOwnerDeletion} {.metadata.labels.pod-template-hash}"]);
    assert_eq!(owner, format!("ReplicaSet/{first} true true {hash}"));
    rollout_done(&s);
    let dep = s.ok(&["get", "deploy", "web", "-o", "jsonpath={.status.replicas} {.status.updatedReplicas} {.status.readyReplicas} {.status.availableReplicas} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}"]);
    assert_eq!(dep, "3 3 3 3 1");
    let conds = s.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={range .status.conditions[*]}{.type}={.reason} {end}",
    ]);
    assert!(
        conds.contains("Available=MinimumReplicasAvailable")
            && conds.contains("Progressing=NewReplicaSetAvailable"),
        "{conds}"
    );

    // Change cause set after the fact still lands on the current ReplicaSet.
    s.ok(&[
        "annotate",
        "deployment/web",
        "kubernetes.io/change-cause=initial deploy",
    ]);
    s.eventually(30, "change cause on the first RS", || {
        history(&s) == [vec!["1".to_string(), "initial deploy".to_string()]]
    });

    // Rolling update to a new image: a second ReplicaSet takes over.
    s.ok(&["set", "image", "deployment/web", "nginx=nginx:1.26.1"]);
    s.ok(&[
        "annotate",
        "deployment/web",
        "--overwrite",
        "kubernetes.io/change-cause=image updated to 1.26.1",
    ]);
    rollout_done(&s);
    s.eventually(30, "old RS scaled to 0, new RS to 3", || {
        let rs = replicasets(&s);
        rs.len() == 2
            && rs.iter().any(|r| r[0] == first && r[1] == "0")
            && rs
                .iter()
                .any(|r| r[0] != first && r[1..4] == ["3", "3", "3"] && r[6] == "nginx:1.26.1")
    });
    let second = replicasets(&s).into_iter().find(|r| r[0] != first).unwrap()[0].clone();
    s.eventually(30, "both causes in history", || {
        history(&s)
            == [
                vec!["1".to_string(), "initial deploy".to_string()],
                vec!["2".to_string(), "image updated to 1.26.1".to_string()],
            ]
    });
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Deployment",
        "-o",
        "jsonpath={range .items[*]}{.source.component}: {.message}{\"\\n\"}{end}",
    ]);
    assert!(
        events.contains(&format!(
            "deployment-controller: Scaled up replica set {first} from 0 to 3"
        )),
        "{events}"
    );
    assert!(
        events.contains(&format!(
            "deployment-controller: Scaled up replica set {second} from 0 to 1"
        )),
        "{events}"
    );
    assert!(
        events.contains(&format!(
            "deployment-controller: Scaled down replica set {first} from 3 to 2"
        )),
        "{events}"
    );
    let rs_events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name={first}"),
        "-o",
        "jsonpath={range .items[*]}{.source.component} {.reason}: {.message}{\"\\n\"}{end}",
    ]);
    assert!(
        rs_events.contains("replicaset-controller SuccessfulCreate: Created pod: "),
        "{rs_events}"
    );
    assert!(
        rs_events.contains("replicaset-controller SuccessfulDelete: Deleted pod: "),
        "{rs_events}"
    );

    // Undo goes back to the first ReplicaSet (no third one) with a new revision.
    let out = s.ok(&["rollout", "undo", "deployment/web"]);
    assert_eq!(out, "deployment.apps/web rolled back\n");
    rollout_done(&s);
    s.eventually(30, "first RS back at 3, no third RS", || {
        let rs = replicasets(&s);
        rs.len() == 2
            && rs
                .iter()
                .any(|r| r[0] == first && r[1..4] == ["3", "3", "3"])
            && rs.iter().any(|r| r[0] == second && r[1] == "0")
    });
    s.eventually(30, "history after undo", || {
        history(&s)
            == [
                vec!["2".to_string(), "image updated to 1.26.1".to_string()],
                vec!["3".to_string(), "initial deploy".to_string()],
            ]
    });
    let rev = s.ok(&["get", "rs", &first, "-o", "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision} {.metadata.annotations.deployment\\.kubernetes\\.io/revision-history}"]);
    assert_eq!(rev, "3 1");

    // Restart rolls out a third template; scaling resizes the current RS.
    s.ok(&["rollout", "restart", "deployment/web"]);
    rollout_done(&s);
    assert_eq!(replicasets(&s).len(), 3);
    s.ok(&["scale", "deployment/web", "--replicas=5"]);
    rollout_done(&s);
    s.eventually(30, "5 pods", || pod_names(&s, "default").len() == 5);
}

#[test]
fn paused_deployment_does_not_roll() {
    let s = start();
    s.apply(DEPLOY);
    rollout_done(&s);
    s.ok(&["rollout", "pause", "deployment/web"]);
    s.ok(&["set", "image", "deployment/web", "nginx=nginx:1.26.1"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(replicasets(&s).len(), 1);
    let cond = s.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}",
    ]);
    assert_eq!(cond, "DeploymentPaused");
    s.ok(&["rollout", "resume", "deployment/web"]);
    rollout_done(&s);
    assert_eq!(replicasets(&s).len(), 2);
}

#[test]
fn delete_deployment_cascades() {
    let s = start();
    // Background (kubectl's default): the deployment goes at once, then its RS and pods.
    s.apply(DEPLOY);
    rollout_done(&s);
    assert_eq!(
        s.ok(&["delete", "deployment", "web"]),
        "deployment.apps \"web\" deleted\n"
    );
    s.eventually(60, "RS and pods collected", || {
        replicasets(&s).is_empty() && pod_names(&s, "default").is_empty()
    });

    // Foreground: when kubectl returns, the dependents are already gone.
    s.apply(DEPLOY);
    rollout_done(&s);
    assert_eq!(
        s.ok(&[
            "delete",
            "deployment",
            "web",
            "--cascade=foreground",
            "--timeout=90s"
        ]),
        "deployment.apps \"web\" deleted\n"
    );
    assert!(replicasets(&s).is_empty(), "{:?}", replicasets(&s));
    assert!(pod_names(&s, "default").is_empty());

    // Orphan: the RS stays (without owner) and keeps its pods.
    s.apply(DEPLOY);
    rollout_done(&s);
    let rs = replicasets(&s)[0][0].clone();
    let pods = pod_names(&s, "default");
    assert_eq!(
        s.ok(&["delete", "deployment", "web", "--cascade=orphan"]),
        "deployment.apps \"web\" deleted\n"
    );
    // kubectl waited for the deployment to go, which the collector allows only after
    // dropping its reference from the RS.
    assert_eq!(
        s.ok(&[
            "get",
            "rs",
            &rs,
            "-o",
            "jsonpath={.metadata.ownerReferences}{.spec.replicas}"
        ]),
        "3"
    );
    assert_eq!(pod_names(&s, "default"), pods);
    // A new Deployment with the same template adopts it instead of creating another.
    s.apply(DEPLOY);
    rollout_done(&s);
    assert_eq!(replicasets(&s).len(), 1);
    assert_eq!(
        s.ok(&[
            "get",
            "rs",
            &rs,
            "-o",
            "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}"
        ]),
        "Deployment/web"
    );
    assert_eq!(pod_names(&s, "default"), pods);
}

#[test]
fn replicaset_adopts_releases_and_scales_down() {
    let s = start();
    s.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: stray, labels: {app: rs}}\nspec:\n  containers: [{name: c, image: nginx:1.25.4}]\n");
    s.apply("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: front}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: rs}}\n  template:\n    metadata: {labels: {app: rs}}\n    spec:\n      containers: [{name: c, image: nginx:1.25.4}]\n");
    s.eventually(60, "3 ready replicas", || s.ok(&["get", "rs", "front", "-o", "jsonpath={.status.readyReplicas}/{.status.replicas}/{.status.fullyLabeledReplicas}/{.status.observedGeneration}"]) == "3/3/3/1");
    let pods = pod_names(&s, "default");
    assert_eq!(pods.len(), 3, "the stray pod was adopted: {pods:?}");
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            "stray",
            "-o",
            "jsonpath={.metadata.ownerReferences[0].name}"
        ]),
        "front"
    );
    // Relabelled pod is released and replaced.
    s.ok(&["label", "pod", "stray", "--overwrite", "app=other"]);
    s.eventually(30, "stray released", || {
        s.ok(&[
            "get",
            "pod",
            "stray",
            "-o",
            "jsonpath={.metadata.ownerReferences}",
        ])
        .is_empty()
    });
    s.eventually(30, "replacement created", || {
        pod_names(&s, "default").len() == 4
    });
    // Scale down: one pod goes, with an event.
    s.ok(&["scale", "rs", "front", "--replicas=2"]);
    s.eventually(30, "2 replicas", || {
        s.ok(&["get", "rs", "front", "-o", "jsonpath={.status.replicas}"]) == "2"
    });
    let ev = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=front",
        "-o",
        "jsonpath={range .items[*]}{.reason} {end}",
    ]);
    assert!(
        ev.contains("SuccessfulCreate") && ev.contains("SuccessfulDelete"),
        "{ev}"
    );
}

#[test]
fn delete_namespace_removes_content_then_namespace() {
    let s = start();
    s.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
    s.eventually(30, "default service account", || {
        s.kubectl(&["get", "sa", "default", "-n", "shop"])
            .status
            .success()
    });
    let out = s.kubectl_stdin(&["apply", "-n", "shop", "-f", "-"], Some(DEPLOY));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A finalizer nobody removes holds the namespace in Terminating.
    s.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hold, namespace: shop, finalizers: [example.com/hold]}\ndata: {a: b}\n");
    s.eventually(60, "3 pods in shop", || pod_names(&s, "shop").len() == 3);
    s.ok(&["delete", "namespace", "shop", "--wait=false"]);
    s.eventually(30, "namespace Terminating", || {
        table(&s.ok(&["get", "ns", "shop"]))
            .get(1)
            .is_some_and(|r| r[1] == "Terminating")
    });
    s.eventually(60, "content removed", || {
        pod_names(&s, "shop").is_empty()
            && s.ok(&["get", "deploy,rs,sa", "-n", "shop", "-o", "name"])
                .trim()
                .is_empty()
    });
    let cm = s.ok(&[
        "get",
        "cm",
        "hold",
        "-n",
        "shop",
        "-o",
        "jsonpath={.metadata.deletionTimestamp}",
    ]);
    assert!(!cm.is_empty(), "the held configmap is being deleted");
    assert_eq!(table(&s.ok(&["get", "ns", "shop"]))[1][1], "Terminating");
    s.eventually(30, "finalizers-remaining condition", || {
        s.ok(&["get", "ns", "shop", "-o", "jsonpath={.status.conditions[?(@.type==\"NamespaceFinalizersRemaining\")].message}"])
            == "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
    });
    s.ok(&[
        "patch",
        "cm",
        "hold",
        "-n",
        "shop",
        "--type=merge",
        "-p",
        "{\"metadata\":{\"finalizers\":null}}",
    ]);
    s.eventually(30, "namespace gone", || {
        !s.kubectl(&["get", "ns", "shop"]).status.success()
    });
}

#[test]
fn recreate_strategy_and_min_ready_seconds() {
    let s = start();
    let manifest = DEPLOY.replace(
        "replicas: 3",
        "replicas: 2\n  minReadySeconds: 5\n  strategy: {type: Recreate}",
    );
    s.apply(&manifest);
    // Ready pods count as available only after minReadySeconds.
    s.eventually(60, "ready but not yet available", || {
        let st = s.ok(&[
            "get",
            "rs",
            "-o",
            "jsonpath={.items[0].status.readyReplicas}/{.items[0].status.availableReplicas}",
        ]);
        st == "2/"
    });
    rollout_done(&s);
    let first = replicasets(&s)[0][0].clone();
    s.ok(&["set", "image", "deployment/web", "nginx=nginx:1.26.1"]);
    rollout_done(&s);
    let rs = replicasets(&s);
    assert_eq!(rs.len(), 2, "{rs:?}");
    let second = rs.iter().find(|r| r[0] != first).unwrap()[0].clone();
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Deployment",
        "-o",
        "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
    ]);
    assert!(
        events.contains(&format!("Scaled down replica set {first} from 2 to 0")),
        "{events}"
    );
    assert!(
        events.contains(&format!("Scaled up replica set {second} from 0 to 2")),
        "{events}"
    );
}

#[test]
fn stuck_rollout_scales_proportionally_and_times_out() {
    let s = start();
    let manifest = DEPLOY.replace(
        "replicas: 3",
        "replicas: 10\n  progressDeadlineSeconds: 5\n  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 3, maxUnavailable: 2}}",
    );
    s.apply(&manifest);
    rollout_done(&s);
    let old = replicasets(&s)[0][0].clone();
    // New pods can never be scheduled: the rollout stops at old 8 + new 5 (13 = 10 + surge).
    s.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"nodeSelector":{"nowhere":"true"}}}}}"#,
    ]);
    let sizes = |s: &Server| -> (String, String) {
        let rs = replicasets(s);
        let get = |old_one: bool| {
            rs.iter()
                .find(|r| (r[0] == old) == old_one)
                .map(|r| r[1].clone())
                .unwrap_or_default()
        };
        (get(true), get(false))
    };
    s.eventually(60, "old 8 / new 5", || {
        sizes(&s) == ("8".into(), "5".into())
    });
    // Scaling mid-rollout spreads the 10 extra replicas (+3 surge) proportionally.
    s.ok(&["scale", "deployment/web", "--replicas=20"]);
    s.eventually(60, "old 14 / new 9", || {
        sizes(&s) == ("14".into(), "9".into())
    });
    // No progress: the Progressing condition turns False and rollout status fails.
    s.eventually(60, "ProgressDeadlineExceeded", || {
        s.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}",
        ]) == "ProgressDeadlineExceeded"
    });
    let err = s.fails(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    assert!(
        err.contains("deployment \"web\" exceeded its progress deadline"),
        "{err}"
    );
    let avail = s.ok(&["get", "deploy", "web", "-o", "jsonpath={.status.conditions[?(@.type==\"Available\")].reason} {.status.unavailableReplicas}"]);
    assert_eq!(avail, "MinimumReplicasUnavailable 9");
}
