//! End-to-end on two simulated nodes (`ordo server` and `ordo agent`), with the real kubectl:
//! apps/v1 DaemonSets. One pod per node, pinned by `matchFields` and tolerating upstream's
//! daemon taints; a node selector narrows the nodes; a tainted node is skipped unless
//! tolerated; a node that joins gets a pod and one that leaves loses it; rolling updates
//! (`kubectl rollout status|history|undo|restart`), OnDelete; `kubectl get ds` and
//! `kubectl get all`; `kubectl drain --ignore-daemonsets` leaves the daemon pods alone.

mod common;
use common::*;

const AGENT: &str = r#"apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: "busybox:1.28"}]}
"#;

/// `(name, node, image, ready)` of the live pods labelled `app=<app>`.
fn pods(s: &Server, app: &str) -> Vec<(String, String, String, bool)> {
    let out = s.ok(&[
        "get",
        "pods",
        "-l",
        &format!("app={app}"),
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.spec.containers[0].image} {.status.conditions[?(@.type==\"Ready\")].status} {.metadata.deletionTimestamp}{\"\\n\"}{end}",
    ]);
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 4).then(|| {
                (
                    f[0].to_string(),
                    f[1].to_string(),
                    f[2].to_string(),
                    f[3] == "True",
                )
            })
        })
        .collect()
}

/// The sorted nodes of the Ready pods of `app`, all with `image`.
fn ready_nodes(s: &Server, app: &str, image: &str) -> Vec<String> {
    let p = pods(s, app);
    let mut nodes: Vec<String> = p
        .iter()
        .filter(|p| p.3 && p.2 == image)
        .map(|p| p.1.clone())
        .collect();
    nodes.sort();
    if nodes.len() == p.len() {
        nodes
    } else {
        Vec::new()
    }
}

/// The revision numbers `kubectl rollout history ds/agent` lists.
fn revisions(s: &Server) -> Vec<String> {
    let history = s.ok(&["rollout", "history", "ds/agent"]);
    history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .map(str::to_string)
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn daemonsets_on_two_nodes() {
    let s = Server::start_with(&["--sim-start-delay-ms", "300"]);
    let data = tempfile::tempdir().unwrap();
    let mut node2 = sim_agent(&s, "node-2", "127.0.0.2", data.path());
    let data3 = tempfile::tempdir().unwrap();
    let mut node3 = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scenario(&s, &mut node3, data3.path())
    }));
    for child in std::iter::once(&mut node2).chain(node3.as_mut()) {
        let _ = child.kill();
        let _ = child.wait();
    }
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

fn scenario(s: &Server, node3: &mut Option<std::process::Child>, data3: &std::path::Path) {
    let first = server_node_beside_node2(s);
    let both = sorted(vec![first.clone(), "node-2".to_string()]);

    // One pod per node.
    assert!(s.apply(AGENT).contains("daemonset.apps/agent created"));
    s.eventually(60, "an agent pod Ready on each node", || {
        ready_nodes(s, "agent", "busybox:1.28") == both
    });
    let pod = &pods(s, "agent")[0].0;
    let affinity = s.ok(&[
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key}",
    ]);
    assert_eq!(affinity, "metadata.name");
    let tolerations = s.ok(&[
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={range .spec.tolerations[*]}{.key}:{.effect} {end}",
    ]);
    for t in [
        "node.kubernetes.io/not-ready:NoExecute",
        "node.kubernetes.io/unreachable:NoExecute",
        "node.kubernetes.io/unschedulable:NoSchedule",
        "node.kubernetes.io/disk-pressure:NoSchedule",
    ] {
        assert!(tolerations.contains(t), "{tolerations}");
    }
    let owner = s.ok(&[
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={.metadata.ownerReferences[0].kind} {.metadata.labels.pod-template-generation}",
    ]);
    assert_eq!(owner, "DaemonSet 1");

    // `kubectl get ds`, wide, and `kubectl get all`.
    s.eventually(30, "the status to count both nodes", || {
        let rows = table(&s.ok(&["get", "ds", "agent"]));
        rows.len() == 2 && rows[1][1..6] == ["2", "2", "2", "2", "2"]
    });
    let rows = table(&s.ok(&["get", "ds"]));
    assert_eq!(
        rows[0],
        [
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "NODE",
            "SELECTOR",
            "AGE"
        ]
    );
    assert_eq!(rows[1][..7], ["agent", "2", "2", "2", "2", "2", "<none>"]);
    let rows = table(&s.ok(&["get", "ds", "-o", "wide"]));
    // NODE SELECTOR is one column of two words.
    assert_eq!(rows[0][9..], ["CONTAINERS", "IMAGES", "SELECTOR"]);
    assert_eq!(rows[1][8..], ["c", "busybox:1.28", "app=agent"]);
    let all = s.ok(&["get", "all"]);
    assert!(all.contains("daemonset.apps/agent"), "{all}");
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=agent",
    ]);
    assert!(
        events.contains("SuccessfulCreate") && events.contains("Created pod: agent-"),
        "{events}"
    );

    // Validation with upstream's texts.
    let bad = AGENT
        .replace("name: agent}", "name: bad}")
        .replace("{app: agent}}\n  template", "{app: other}}\n  template");
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(&bad));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`selector` does not match template `labels`"),
        "{err}"
    );

    // A node selector narrows the DaemonSet to the labelled node.
    s.ok(&["label", "node", "node-2", "role=edge"]);
    s.apply(&AGENT.replace("agent", "edge").replace(
        "spec: {containers",
        "spec: {nodeSelector: {role: edge}, containers",
    ));
    s.eventually(60, "one edge pod on node-2", || {
        ready_nodes(s, "edge", "busybox:1.28") == ["node-2"]
    });
    s.eventually(30, "the edge status", || {
        let rows = table(&s.ok(&["get", "ds", "edge"]));
        rows.len() == 2 && rows[1][1..7] == ["1", "1", "1", "1", "1", "role=edge"]
    });
    // The label goes: so does the pod.
    s.ok(&["label", "node", "node-2", "role-"]);
    s.eventually(30, "the edge pod to go", || pods(s, "edge").is_empty());

    // A tainted node is skipped unless tolerated; pods already there stay (NoSchedule).
    s.ok(&["taint", "node", "node-2", "dedicated=db:NoSchedule"]);
    s.apply(&AGENT.replace("agent", "plain"));
    s.apply(&AGENT.replace("agent", "tolerant").replace(
        "spec: {containers",
        "spec: {tolerations: [{key: dedicated, operator: Exists}], containers",
    ));
    s.eventually(60, "plain on the first node only, tolerant on both", || {
        ready_nodes(s, "plain", "busybox:1.28") == [first.clone()]
            && ready_nodes(s, "tolerant", "busybox:1.28") == both
    });
    assert_eq!(ready_nodes(s, "agent", "busybox:1.28"), both);
    s.ok(&["taint", "node", "node-2", "dedicated-"]);
    s.eventually(60, "plain on both nodes once the taint is gone", || {
        ready_nodes(s, "plain", "busybox:1.28") == both
    });
    s.ok(&["delete", "ds", "plain", "tolerant", "edge"]);
    s.eventually(60, "their pods to go", || {
        s.ok(&[
            "get",
            "pods",
            "-l",
            "app in (plain,tolerant,edge)",
            "-o",
            "name",
        ])
        .is_empty()
    });

    // A node that joins gets a pod; one that leaves loses it.
    *node3 = Some(sim_agent(s, "node-3", "127.0.0.3", data3));
    let three = sorted(vec![first.clone(), "node-2".into(), "node-3".into()]);
    s.eventually(60, "an agent pod on node-3", || {
        ready_nodes(s, "agent", "busybox:1.28") == three
    });
    if let Some(mut c) = node3.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
    s.ok(&["delete", "node", "node-3"]);
    s.eventually(60, "the node-3 pod to go", || {
        ready_nodes(s, "agent", "busybox:1.28") == both
    });

    // kubectl drain: without --ignore-daemonsets it refuses; with it the daemon pods stay.
    let err = s.fails(&["drain", "node-2", "--timeout=30s"]);
    assert!(
        err.contains("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"),
        "{err}"
    );
    let out = s.kubectl(&["drain", "node-2", "--ignore-daemonsets", "--timeout=60s"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("ignoring DaemonSet-managed Pods: default/agent-"),
        "{text}"
    );
    assert!(text.contains("node/node-2 drained"), "{text}");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(ready_nodes(s, "agent", "busybox:1.28"), both);
    s.ok(&["uncordon", "node-2"]);

    // A rolling update to a new image, followed by `rollout status`.
    s.ok(&["set", "image", "ds/agent", "c=nginx:1.25.4"]);
    let out = s.ok(&["rollout", "status", "ds/agent", "--timeout=90s"]);
    assert!(
        out.contains("daemon set \"agent\" successfully rolled out"),
        "{out}"
    );
    assert_eq!(ready_nodes(s, "agent", "nginx:1.25.4"), both);
    let hashes = s.ok(&[
        "get",
        "pods",
        "-l",
        "app=agent",
        "-o",
        "jsonpath={.items[*].metadata.labels.pod-template-generation}",
    ]);
    assert_eq!(hashes, "2 2");

    // History and undo read the ControllerRevisions.
    assert_eq!(revisions(s), ["1", "2"]);
    let detail = s.ok(&["rollout", "history", "ds/agent", "--revision=1"]);
    assert!(detail.contains("busybox:1.28"), "{detail}");
    let out = s.ok(&["rollout", "undo", "ds/agent"]);
    assert!(out.contains("daemonset.apps/agent rolled back"), "{out}");
    s.ok(&["rollout", "status", "ds/agent", "--timeout=90s"]);
    s.eventually(30, "busybox back on both nodes", || {
        ready_nodes(s, "agent", "busybox:1.28") == both
    });
    assert_eq!(revisions(s), ["2", "3"]);

    // rollout restart replaces every pod.
    let before: Vec<String> = pods(s, "agent").into_iter().map(|p| p.0).collect();
    let out = s.ok(&["rollout", "restart", "ds/agent"]);
    assert!(out.contains("daemonset.apps/agent restarted"), "{out}");
    s.ok(&["rollout", "status", "ds/agent", "--timeout=90s"]);
    s.eventually(30, "new pods after the restart", || {
        let now = pods(s, "agent");
        now.len() == 2 && now.iter().all(|p| p.3 && !before.contains(&p.0))
    });

    // OnDelete: a new template replaces a pod only when it is deleted.
    s.ok(&[
        "patch",
        "ds",
        "agent",
        "-p",
        r#"{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}"#,
    ]);
    s.ok(&["set", "image", "ds/agent", "c=nginx:1.25.4"]);
    s.eventually(30, "the new generation to be observed", || {
        let rows = table(&s.ok(&["get", "ds", "agent"]));
        rows.len() == 2 && rows[1][4] == "0"
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(ready_nodes(s, "agent", "busybox:1.28"), both);
    let victim = pods(s, "agent")
        .into_iter()
        .find(|p| p.1 == "node-2")
        .unwrap()
        .0;
    s.ok(&["delete", "pod", &victim]);
    s.eventually(60, "node-2's replacement on the new image", || {
        let p = pods(s, "agent");
        p.len() == 2
            && p.iter()
                .any(|p| p.1 == "node-2" && p.2 == "nginx:1.25.4" && p.3)
            && p.iter().any(|p| p.1 == first && p.2 == "busybox:1.28")
    });
    let err = s.fails(&["rollout", "status", "ds/agent"]);
    assert!(
        err.contains("rollout status is only available for RollingUpdate strategy type"),
        "{err}"
    );

    // Deleting the DaemonSet removes its pods (garbage collector).
    s.ok(&["delete", "ds", "agent"]);
    s.eventually(60, "the agent pods to go", || pods(s, "agent").is_empty());
}
