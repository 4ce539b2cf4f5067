//! End-to-end with the real kubectl on the simulated runtime: ResourceQuotas (`kubectl create
//! quota`, the ResourceQuota admission's upstream refusals, `kubectl describe quota` usage
//! rising and falling, concurrent creates never overspending a quota), LimitRanges (defaults and
//! max checks, `kubectl describe limitrange`) and ReplicationControllers (`kubectl scale rc`,
//! pods replaced when deleted).

mod common;
use common::*;
use std::process::Stdio;

fn pod(name: &str, ns: &str, cpu: Option<&str>) -> String {
    let res = cpu
        .map(|c| format!(", resources: {{requests: {{cpu: \"{c}\"}}, limits: {{cpu: \"{c}\"}}}}"))
        .unwrap_or_default();
    format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  containers: [{{name: app, image: nginx:1.25.4{res}}}]\n")
}

/// `kubectl create -f -` expected to fail; its stderr.
fn refused(s: &Server, manifest: &str) -> String {
    let out = s.kubectl_stdin(&["create", "-f", "-"], Some(manifest));
    assert!(
        !out.status.success(),
        "unexpectedly created:\n{manifest}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// The `Resource Used Hard` rows of `kubectl describe quota`, whitespace-normalized.
fn usage(s: &Server, ns: &str, name: &str) -> Vec<String> {
    s.ok(&["describe", "quota", name, "-n", ns])
        .lines()
        .skip_while(|l| !l.starts_with("Resource"))
        .skip(2)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn wait_usage(s: &Server, ns: &str, name: &str, want: &[&str]) {
    s.eventually(20, &format!("quota {ns}/{name} usage {want:?}"), || {
        usage(s, ns, name) == want
    });
}

#[test]
fn quotas_limit_ranges_and_replication_controllers() {
    let s = Server::start();

    // --- ResourceQuota on pods.
    s.ok(&["create", "quota", "compute", "--hard=pods=2,requests.cpu=1"]);
    wait_usage(&s, "default", "compute", &["pods 0 2", "requests.cpu 0 1"]);
    let rows = table(&s.ok(&["get", "quota"]));
    assert_eq!(rows[0], ["NAME", "AGE", "REQUEST", "LIMIT"]);
    assert_eq!(rows[1][0], "compute");
    assert_eq!(rows[1][2..], ["pods:", "0/2,", "requests.cpu:", "0/1"]);
    assert_eq!(
        refused(&s, &pod("nores", "default", None)),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"nores\" is forbidden: failed quota: compute: must specify requests.cpu for: app"
    );
    s.ok_stdin(&["create", "-f", "-"], &pod("a", "default", Some("400m")));
    s.ok_stdin(&["create", "-f", "-"], &pod("b", "default", Some("400m")));
    wait_usage(
        &s,
        "default",
        "compute",
        &["pods 2 2", "requests.cpu 800m 1"],
    );
    assert_eq!(
        refused(&s, &pod("c", "default", Some("100m"))),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"c\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2"
    );
    s.ok(&["delete", "pod", "a", "--wait=true"]);
    wait_usage(
        &s,
        "default",
        "compute",
        &["pods 1 2", "requests.cpu 400m 1"],
    );
    assert_eq!(
        refused(&s, &pod("c", "default", Some("700m"))),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"c\" is forbidden: exceeded quota: compute, requested: requests.cpu=700m, used: requests.cpu=400m, limited: requests.cpu=1"
    );
    s.ok_stdin(&["create", "-f", "-"], &pod("c", "default", Some("600m")));
    wait_usage(&s, "default", "compute", &["pods 2 2", "requests.cpu 1 1"]);

    // --- Services, claims and object counts.
    s.ok(&["create", "namespace", "objs"]);
    s.ok(&[
        "create",
        "quota",
        "objs",
        "-n",
        "objs",
        "--hard=services.nodeports=1,persistentvolumeclaims=2,requests.storage=1Gi",
    ]);
    wait_usage(
        &s,
        "objs",
        "objs",
        &[
            "persistentvolumeclaims 0 2",
            "requests.storage 0 1Gi",
            "services.nodeports 0 1",
        ],
    );
    s.ok(&[
        "create",
        "service",
        "nodeport",
        "np",
        "--tcp=80:80",
        "-n",
        "objs",
    ]);
    let err = s.fails(&[
        "create",
        "service",
        "nodeport",
        "np2",
        "--tcp=81:81",
        "-n",
        "objs",
    ]);
    assert!(
        err.contains("services \"np2\" is forbidden: exceeded quota: objs, requested: services.nodeports=1, used: services.nodeports=1, limited: services.nodeports=1"),
        "{err}"
    );
    // A ClusterIP Service costs no node port.
    s.ok(&[
        "create",
        "service",
        "clusterip",
        "cip",
        "--tcp=80:80",
        "-n",
        "objs",
    ]);
    let claim = |name: &str, size: &str| {
        format!("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: objs}}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: {size}}}}}\n")
    };
    assert_eq!(
        refused(&s, &claim("big", "2Gi")),
        "Error from server (Forbidden): error when creating \"STDIN\": persistentvolumeclaims \"big\" is forbidden: exceeded quota: objs, requested: requests.storage=2Gi, used: requests.storage=0, limited: requests.storage=1Gi"
    );
    s.ok_stdin(&["create", "-f", "-"], &claim("small", "600Mi"));
    wait_usage(
        &s,
        "objs",
        "objs",
        &[
            "persistentvolumeclaims 1 2",
            "requests.storage 600Mi 1Gi",
            "services.nodeports 1 1",
        ],
    );
    assert!(refused(&s, &claim("more", "500Mi")).contains(
        "exceeded quota: objs, requested: requests.storage=500Mi, used: requests.storage=600Mi, limited: requests.storage=1Gi"
    ));

    // --- Concurrent creates never overspend a quota.
    s.ok(&["create", "namespace", "race"]);
    s.ok(&[
        "create",
        "quota",
        "few",
        "-n",
        "race",
        "--hard=count/secrets=4",
    ]);
    wait_usage(&s, "race", "few", &["count/secrets 0 4"]);
    let children: Vec<_> = (0..10)
        .map(|i| {
            s.kubectl_command(&[
                "create",
                "secret",
                "generic",
                &format!("s{i}"),
                "--from-literal=k=v",
                "-n",
                "race",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let outcomes: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let created = outcomes.iter().filter(|o| o.status.success()).count();
    assert_eq!(created, 4, "{outcomes:?}");
    for o in outcomes.iter().filter(|o| !o.status.success()) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("exceeded quota: few, requested: count/secrets=1, used: count/secrets=4, limited: count/secrets=4"),
            "{err}"
        );
    }
    wait_usage(&s, "race", "few", &["count/secrets 4 4"]);

    // --- LimitRange: defaults and max.
    s.ok(&["create", "namespace", "limited"]);
    s.apply(
        "apiVersion: v1\nkind: LimitRange\nmetadata: {name: bounds, namespace: limited}\nspec:\n  limits:\n  - type: Container\n    max: {cpu: \"1\"}\n    default: {cpu: 500m, memory: 128Mi}\n    defaultRequest: {cpu: 200m}\n",
    );
    assert_eq!(
        table(&s.ok(&["get", "limits", "-n", "limited"]))[0],
        ["NAME", "CREATED", "AT"]
    );
    let described: Vec<String> = s
        .ok(&["describe", "limitrange", "bounds", "-n", "limited"])
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for line in [
        "Type Resource Min Max Default Request Default Limit Max Limit/Request Ratio",
        "Container cpu - 1 200m 500m -",
        "Container memory - - 128Mi 128Mi -",
    ] {
        assert!(described.iter().any(|l| l == line), "{described:#?}");
    }
    s.ok_stdin(&["create", "-f", "-"], &pod("plain", "limited", None));
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            "plain",
            "-n",
            "limited",
            "-o",
            "jsonpath={.spec.containers[0].resources.requests.cpu} {.spec.containers[0].resources.limits.cpu} {.spec.containers[0].resources.requests.memory} {.spec.containers[0].resources.limits.memory} {.status.qosClass}"
        ]),
        "200m 500m 128Mi 128Mi Burstable"
    );
    assert_eq!(
        s.ok(&["get", "pod", "plain", "-n", "limited", "-o", "jsonpath={.metadata.annotations.kubernetes\\.io/limit-ranger}"]),
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app"
    );
    assert_eq!(
        refused(&s, &pod("huge", "limited", Some("2"))),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"huge\" is forbidden: maximum cpu usage per Container is 1, but limit is 2"
    );

    // --- ReplicationController.
    s.apply(
        "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: web, namespace: limited}\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: nginx, image: nginx:1.25.4}]\n",
    );
    assert_eq!(
        s.ok(&[
            "get",
            "rc",
            "web",
            "-n",
            "limited",
            "-o",
            "jsonpath={.spec.selector.app} {.metadata.labels.app}"
        ]),
        "web web"
    );
    let rc_row = |s: &Server| table(&s.ok(&["get", "rc", "web", "-n", "limited"]));
    s.eventually(20, "2 ready replicas", || {
        rc_row(&s)[1][1..4] == ["2", "2", "2"]
    });
    assert_eq!(
        rc_row(&s)[0],
        ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    );
    s.ok(&["scale", "rc", "web", "--replicas=4", "-n", "limited"]);
    s.eventually(20, "4 ready replicas", || {
        rc_row(&s)[1][1..4] == ["4", "4", "4"]
    });
    let pods = |s: &Server| -> Vec<String> {
        let out = s.ok(&[
            "get",
            "pods",
            "-n",
            "limited",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ]);
        let mut v: Vec<String> = out.split_whitespace().map(str::to_string).collect();
        v.sort();
        v
    };
    let before = pods(&s);
    assert_eq!(before.len(), 4);
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            &before[0],
            "-n",
            "limited",
            "-o",
            "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}"
        ]),
        "ReplicationController/web"
    );
    s.ok(&["delete", "pod", &before[0], "-n", "limited"]);
    s.eventually(20, "the deleted pod replaced", || {
        let now = pods(&s);
        now.len() == 4 && !now.contains(&before[0])
    });
    s.eventually(20, "4 ready again", || {
        rc_row(&s)[1][1..4] == ["4", "4", "4"]
    });
    assert!(s
        .ok(&["get", "all", "-n", "limited"])
        .contains("replicationcontroller/web"));
    s.ok(&["scale", "rc", "web", "--replicas=1", "-n", "limited"]);
    s.eventually(20, "scaled down to 1", || pods(&s).len() == 1);
}
