//! End-to-end: the real kubectl against a real `ordo server` process (API only, no
//! controllers needed): apply, get, describe, scale, patch, set image, annotate, label,
//! delete, watch, explain, errors, authentication. The servers run `--api-only`: no
//! controller changes what these tests look at.

mod common;
use common::{table, Server, WALKTHROUGH};

#[test]
fn apply_creates_then_unchanged_then_configured() {
    let s = Server::start_with(&["--api-only"]);
    let out = s.apply(WALKTHROUGH);
    assert_eq!(
        out,
        "service/nginx-stateful-service created\nstatefulset.apps/nginx-statefulset created\n"
    );
    let out = s.apply(WALKTHROUGH);
    assert_eq!(
        out,
        "service/nginx-stateful-service unchanged\nstatefulset.apps/nginx-statefulset unchanged\n"
    );
    let out = s.apply(&WALKTHROUGH.replace("replicas: 3", "replicas: 4"));
    assert_eq!(
        out,
        "service/nginx-stateful-service unchanged\nstatefulset.apps/nginx-statefulset configured\n"
    );
    let replicas = s.ok(&[
        "get",
        "sts",
        "nginx-statefulset",
        "-o",
        "jsonpath={.spec.replicas} {.metadata.generation}",
    ]);
    assert_eq!(replicas, "4 2");
}

#[test]
fn get_prints_upstream_columns() {
    let s = Server::start_with(&["--api-only"]);
    s.apply(WALKTHROUGH);
    let svc = table(&s.ok(&["get", "svc"]));
    assert_eq!(
        svc[0],
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    let kubernetes = svc
        .iter()
        .find(|r| r[0] == "kubernetes")
        .expect("kubernetes service");
    assert_eq!(
        &kubernetes[1..5],
        ["ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    );
    let headless = svc
        .iter()
        .find(|r| r[0] == "nginx-stateful-service")
        .expect("headless service");
    assert_eq!(&headless[1..5], ["ClusterIP", "None", "<none>", "80/TCP"]);
    let sts = table(&s.ok(&["get", "sts"]));
    assert_eq!(sts[0], ["NAME", "READY", "AGE"]);
    assert_eq!(sts[1][..2], ["nginx-statefulset", "0/3"]);
    let wide = table(&s.ok(&["get", "sts", "-o", "wide"]));
    assert_eq!(wide[0], ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]);
    assert_eq!(wide[1][3..], ["nginx-container", "nginx:1.25.4"]);
    let pvc = s.kubectl(&["get", "pvc"]);
    assert_eq!(
        String::from_utf8_lossy(&pvc.stderr),
        "No resources found in default namespace.\n"
    );
    let ns = table(&s.ok(&["get", "ns"]));
    assert_eq!(ns[0], ["NAME", "STATUS", "AGE"]);
    for n in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        assert!(
            ns.iter().any(|r| r[0] == n && r[1] == "Active"),
            "namespace {n} in {ns:?}"
        );
    }
    // Every served kind lists with its own header.
    for (res, header) in [
        ("pods", "NAME READY STATUS RESTARTS AGE"),
        ("rs", "NAME DESIRED CURRENT READY AGE"),
        ("deploy", "NAME READY UP-TO-DATE AVAILABLE AGE"),
        ("controllerrevisions", "NAME CONTROLLER REVISION AGE"),
        ("pv", "NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE"),
        ("cm", "NAME DATA AGE"),
        ("secrets", "NAME TYPE DATA AGE"),
        ("sa", "NAME SECRETS AGE"),
        ("sc", "NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE"),
        ("leases", "NAME HOLDER AGE"),
        ("ev", "LAST SEEN TYPE REASON OBJECT MESSAGE"),
        ("nodes", "NAME STATUS ROLES AGE VERSION"),
        ("ep", "NAME ENDPOINTS AGE"),
        ("endpointslices", "NAME ADDRESSTYPE PORTS ENDPOINTS AGE"),
    ] {
        let out = s.kubectl(&["get", res, "-A"]);
        assert!(out.status.success(), "get {res}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        if let Some(first) = stdout.lines().next() {
            let got = first.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(got, format!("NAMESPACE {header}").replace("NAMESPACE NAME STATUS ROLES", "NAME STATUS ROLES").replace("NAMESPACE NAME CAPACITY", "NAME CAPACITY").replace("NAMESPACE NAME PROVISIONER", "NAME PROVISIONER"), "header of {res}");
        }
    }
}

#[test]
fn scale_patch_set_image_annotate_label() {
    let s = Server::start_with(&["--api-only"]);
    s.apply(WALKTHROUGH);
    assert_eq!(
        s.ok(&["scale", "statefulset", "nginx-statefulset", "--replicas=10"]),
        "statefulset.apps/nginx-statefulset scaled\n"
    );
    assert_eq!(
        s.ok(&[
            "get",
            "sts",
            "nginx-statefulset",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "10"
    );
    assert_eq!(
        s.ok(&[
            "patch",
            "statefulset",
            "nginx-statefulset",
            "-p",
            r#"{"spec":{"replicas":5}}"#
        ]),
        "statefulset.apps/nginx-statefulset patched\n"
    );
    assert_eq!(
        s.ok(&[
            "patch",
            "statefulset",
            "nginx-statefulset",
            "-p",
            r#"{"spec":{"replicas":5}}"#
        ]),
        "statefulset.apps/nginx-statefulset patched (no change)\n"
    );
    assert_eq!(
        s.ok(&[
            "patch",
            "statefulset",
            "nginx-statefulset",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"replicas":6}}"#
        ]),
        "statefulset.apps/nginx-statefulset patched\n"
    );
    assert_eq!(
        s.ok(&[
            "patch",
            "statefulset",
            "nginx-statefulset",
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":7}]"#
        ]),
        "statefulset.apps/nginx-statefulset patched\n"
    );
    assert_eq!(
        s.ok(&[
            "get",
            "sts",
            "nginx-statefulset",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "7"
    );
    assert_eq!(
        s.ok(&[
            "set",
            "image",
            "statefulset/nginx-statefulset",
            "nginx-container=nginx:1.26.1"
        ]),
        "statefulset.apps/nginx-statefulset image updated\n"
    );
    assert_eq!(s.ok(&["get", "sts", "nginx-statefulset", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}"]), "nginx:1.26.1 80");
    assert_eq!(
        s.ok(&[
            "annotate",
            "statefulset/nginx-statefulset",
            "kubernetes.io/change-cause=downgraded to 1.26.1"
        ]),
        "statefulset.apps/nginx-statefulset annotated\n"
    );
    assert_eq!(
        s.ok(&[
            "get",
            "sts",
            "nginx-statefulset",
            "-o",
            "jsonpath={.metadata.annotations.kubernetes\\.io/change-cause}"
        ]),
        "downgraded to 1.26.1"
    );
    assert_eq!(
        s.ok(&["label", "statefulset", "nginx-statefulset", "tier=web"]),
        "statefulset.apps/nginx-statefulset labeled\n"
    );
    let labels = s.ok(&["get", "sts", "--show-labels"]);
    assert!(labels.contains("app=nginx-stateful,tier=web"), "{labels}");
    assert_eq!(
        s.ok(&["get", "sts", "-l", "tier=web", "-o", "name"]),
        "statefulset.apps/nginx-statefulset\n"
    );
    assert_eq!(s.ok(&["get", "sts", "-l", "tier!=web", "-o", "name"]), "");
    // Generation counts spec changes only (create, scale, 3 patches, set image); metadata changes do not bump it.
    assert_eq!(
        s.ok(&[
            "get",
            "sts",
            "nginx-statefulset",
            "-o",
            "jsonpath={.metadata.generation}"
        ]),
        "6"
    );
}

#[test]
fn output_formats_and_describe() {
    let s = Server::start_with(&["--api-only"]);
    s.apply(WALKTHROUGH);
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["get", "sts", "nginx-statefulset", "-o", "json"])).unwrap();
    assert_eq!(json["kind"], "StatefulSet");
    assert_eq!(json["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(json["spec"]["updateStrategy"]["type"], "RollingUpdate");
    assert_eq!(
        json["spec"]["updateStrategy"]["rollingUpdate"]["partition"],
        0
    );
    assert_eq!(json["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(
        json["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert!(json["metadata"]["uid"]
        .as_str()
        .is_some_and(|u| u.len() == 36));
    let yaml = s.ok(&["get", "svc", "nginx-stateful-service", "-o", "yaml"]);
    assert!(
        yaml.contains("clusterIP: None") && yaml.contains("kind: Service"),
        "{yaml}"
    );
    let d = s.ok(&["describe", "sts", "nginx-statefulset"]);
    for line in [
        "Name:               nginx-statefulset",
        "Namespace:          default",
        "Replicas:           3 desired | 0 total",
        "Update Strategy:    RollingUpdate",
        "  Partition:        0",
        "Pods Status:        0 Running / 0 Waiting / 0 Succeeded / 0 Failed",
        "Volume Claims:     <none>",
        "    Image:         nginx:1.25.4",
    ] {
        assert!(d.contains(line), "describe lacks {line:?}:\n{d}");
    }
}

#[test]
fn watch_streams_changes() {
    let s = Server::start_with(&["--api-only"]);
    s.apply(WALKTHROUGH);
    let mut child = std::process::Command::new(&s.kubectl_bin)
        .args([
            "--kubeconfig",
            s.kubeconfig.to_str().unwrap(),
            "--cache-dir",
            s.data_dir().join("wcache").to_str().unwrap(),
            "get",
            "sts",
            "-w",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    s.ok(&["label", "sts", "nginx-statefulset", "x=y"]);
    s.ok(&["delete", "sts", "nginx-statefulset"]);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let rows = table(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rows[0], ["NAME", "READY", "AGE"], "{rows:?}");
    assert!(
        rows.len() >= 4,
        "initial row + modified + deleted: {rows:?}"
    );
    assert!(
        rows[1..]
            .iter()
            .all(|r| r[0] == "nginx-statefulset" && r[1] == "0/3"),
        "{rows:?}"
    );
}

#[test]
fn errors_are_upstream_texts() {
    let s = Server::start_with(&["--api-only"]);
    let bad = WALKTHROUGH.replace(
        "template:\n    metadata: {labels: {app: nginx-stateful}}",
        "template:\n    metadata: {labels: {app: other}}",
    );
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(&bad));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("The StatefulSet \"nginx-statefulset\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`"),
        "{err}"
    );
    s.apply(WALKTHROUGH);
    let err = s.fails(&[
        "patch",
        "sts",
        "nginx-statefulset",
        "-p",
        r#"{"spec":{"serviceName":"other"}}"#,
    ]);
    assert!(err.contains("The StatefulSet \"nginx-statefulset\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than"), "{err}");
    let err = s.fails(&["get", "sts", "nope"]);
    assert_eq!(
        err,
        "Error from server (NotFound): statefulsets.apps \"nope\" not found\n"
    );
    let out = s.kubectl_stdin(&["create", "-f", "-"], Some(WALKTHROUGH));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Error from server (AlreadyExists): error when creating \"STDIN\": services \"nginx-stateful-service\" already exists"), "{err}");
    let unknown = WALKTHROUGH.replace("  replicas: 3", "  replicas: 3\n  bogus: 1");
    let out = s.kubectl_stdin(
        &["apply", "-f", "-"],
        Some(&unknown.replace("nginx-statefulset", "other")),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field \"spec.bogus\""), "{err}");
    let err = s.fails(&["scale", "sts", "nginx-statefulset", "--replicas=-1"]);
    assert!(err.contains("replicas"), "{err}");
}

/// Admission `ServiceAccount`: a pod naming a ServiceAccount that does not exist is refused with
/// upstream's 403 until it is created; a new namespace's `default` ServiceAccount exists at once,
/// so a pod created right after `kubectl create namespace` is admitted.
#[test]
fn pods_need_their_service_account() {
    let s = Server::start_with(&["--api-only"]);
    let run = [
        "run",
        "p",
        "--image=busybox:1.28",
        "--overrides",
        r#"{"apiVersion":"v1","spec":{"serviceAccountName":"robot"}}"#,
    ];
    let err = s.fails(&run);
    assert_eq!(
        err,
        "Error from server (Forbidden): pods \"p\" is forbidden: error looking up service account default/robot: serviceaccount \"robot\" not found\n"
    );
    s.ok(&["create", "serviceaccount", "robot"]);
    assert_eq!(s.ok(&run), "pod/p created\n");
    s.ok(&["create", "namespace", "fresh"]);
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: fresh}\nspec:\n  containers: [{name: c, image: busybox:1.28}]\n";
    assert_eq!(s.apply(pod), "pod/q created\n");
    let sa = s.ok(&[
        "get",
        "pod",
        "q",
        "-n",
        "fresh",
        "-o",
        "jsonpath={.spec.serviceAccountName}",
    ]);
    assert_eq!(sa, "default");
}

#[test]
fn unauthenticated_requests_are_refused() {
    let s = Server::start_with(&["--api-only"]);
    let cfg = std::fs::read_to_string(&s.kubeconfig).unwrap();
    let token = s.token();
    let anon = s.data_dir().join("anon.yaml");
    std::fs::write(&anon, cfg.replace(&token, "wrong-token")).unwrap();
    let out = std::process::Command::new(&s.kubectl_bin)
        .args([
            "--kubeconfig",
            anon.to_str().unwrap(),
            "--cache-dir",
            s.data_dir().join("c2").to_str().unwrap(),
            "get",
            "pods",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    // Same text as kube-apiserver gives kubectl for a bad token.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: You must be logged in to the server (the server has asked for the client to provide credentials)"), "{err}");
}

#[test]
fn delete_and_old_kubectl() {
    let mut s = Server::start_with(&["--api-only"]);
    s.kubectl_bin = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27".into();
    // kubectl 1.27 validates client-side against OpenAPI v2 in protobuf, which ordo does not
    // serve (only v3); the server still validates (`fieldValidation`).
    let out = s.kubectl_stdin(&["apply", "--validate=false", "-f", "-"], Some(WALKTHROUGH));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("statefulset.apps/nginx-statefulset created"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sts = table(&s.ok(&["get", "sts"]));
    assert_eq!(sts[0], ["NAME", "READY", "AGE"]);
    assert_eq!(
        s.ok(&["delete", "sts", "nginx-statefulset"]),
        "statefulset.apps \"nginx-statefulset\" deleted\n"
    );
    assert_eq!(
        s.ok(&["delete", "svc", "nginx-stateful-service"]),
        "service \"nginx-stateful-service\" deleted\n"
    );
    let err = s.fails(&["get", "sts", "nginx-statefulset"]);
    assert!(err.contains("NotFound"), "{err}");
}

#[test]
fn explain_reads_openapi() {
    let s = Server::start_with(&["--api-only"]);
    let out = s.ok(&["explain", "statefulset.spec.replicas"]);
    assert!(
        out.contains("KIND:       StatefulSet") || out.contains("KIND:     StatefulSet"),
        "{out}"
    );
    assert!(out.contains("replicas"), "{out}");
}

#[test]
fn examples_apply_cleanly() {
    let s = Server::start_with(&["--api-only"]);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    for f in [
        "stateful-nginx-without-pvc.yaml",
        "deployment-with-service.yaml",
        "dns-test-pod.yaml",
    ] {
        let out = s.ok(&["apply", "-f", &format!("{dir}/{f}")]);
        assert!(out.lines().all(|l| l.ends_with(" created")), "{f}: {out}");
    }
    // The PVC variant changes the StatefulSet's volumeClaimTemplates, which a StatefulSet
    // cannot do in place: it applies after the first one is gone.
    s.ok(&["delete", "sts", "nginx-statefulset"]);
    let out = s.ok(&[
        "apply",
        "-f",
        &format!("{dir}/stateful-nginx-with-pvc.yaml"),
    ]);
    assert!(
        out.contains("statefulset.apps/nginx-statefulset created"),
        "{out}"
    );
}

/// kubectl's typed-client commands send protobuf bodies.
#[test]
fn kubectl_create_subcommands_send_protobuf() {
    let s = Server::start_with(&["--api-only"]);
    assert_eq!(
        s.ok(&["create", "namespace", "team-a"]),
        "namespace/team-a created\n"
    );
    assert_eq!(
        s.ok(&["get", "ns", "team-a", "-o", "jsonpath={.status.phase}"]),
        "Active"
    );
    assert_eq!(
        s.ok(&[
            "create",
            "configmap",
            "cfg",
            "--from-literal=a=b",
            "-n",
            "team-a"
        ]),
        "configmap/cfg created\n"
    );
    assert_eq!(
        s.ok(&[
            "get",
            "cm",
            "cfg",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.a}"
        ]),
        "b"
    );
    assert_eq!(
        s.ok(&[
            "create",
            "secret",
            "generic",
            "sec",
            "--from-literal=p=s3cr3t"
        ]),
        "secret/sec created\n"
    );
    assert_eq!(
        s.ok(&["get", "secret", "sec", "-o", "jsonpath={.data.p} {.type}"]),
        "czNjcjN0 Opaque"
    );
    assert_eq!(
        s.ok(&["create", "serviceaccount", "robot"]),
        "serviceaccount/robot created\n"
    );
    assert_eq!(
        s.ok(&["create", "deployment", "web", "--image=nginx:1.25.4"]),
        "deployment.apps/web created\n"
    );
}

/// The typed-client `kubectl create <kind>` commands (protobuf bodies) and `expose`/`run` (JSON),
/// checked on the objects they create, with the default kubectl and the oldest and newest ones.
#[test]
fn kubectl_create_deployment_service_expose_with_protobuf() {
    let mut s = Server::start_with(&["--api-only"]);
    let pki = s.data_dir().join("pki");
    let (cert, key) = (
        format!("--cert={}", pki.join("server.crt").display()),
        format!("--key={}", pki.join("server.key").display()),
    );
    let bins = [
        "/usr/bin/kubectl",
        "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
        "/usr/lib/google-cloud-sdk/bin/kubectl.1.30",
    ];
    for (i, bin) in bins.into_iter().enumerate() {
        s.kubectl_bin = bin.into();
        let ns = format!("v{i}");
        let ns = ns.as_str();
        let get = |what: &str, path: &str| {
            s.ok(&["get", what, "-n", ns, "-o", &format!("jsonpath={path}")])
        };
        s.ok(&["create", "namespace", ns]);
        let out = s.ok(&[
            "create",
            "deployment",
            "web",
            "-n",
            ns,
            "--image=nginx:1.25.4",
            "--replicas=3",
            "--port=80",
        ]);
        assert_eq!(out, "deployment.apps/web created\n", "{bin}");
        assert_eq!(
            get(
                "deploy/web",
                "{.spec.replicas} {.spec.selector.matchLabels.app} {.spec.template.metadata.labels.app} \
                 {.spec.template.spec.containers[0].name} {.spec.template.spec.containers[0].image} \
                 {.spec.template.spec.containers[0].ports[0].containerPort} {.spec.strategy.type}"
            ),
            "3 web web nginx nginx:1.25.4 80 RollingUpdate",
            "{bin}"
        );
        // An explicit zero is kept (replicas is a pointer), and a command after `--`.
        s.ok(&[
            "create",
            "deployment",
            "idle",
            "-n",
            ns,
            "--image=busybox:1.28",
            "--replicas=0",
            "--",
            "sleep",
            "3600",
        ]);
        assert_eq!(
            get(
                "deploy/idle",
                "{.spec.replicas} {.spec.template.spec.containers[0].command}"
            ),
            r#"0 ["sleep","3600"]"#,
            "{bin}"
        );
        s.ok(&[
            "create",
            "service",
            "clusterip",
            "cip",
            "-n",
            ns,
            "--tcp=80:8080",
        ]);
        assert_eq!(
            get("svc/cip", "{.spec.type} {.spec.selector.app} {.spec.ports[0].port} {.spec.ports[0].targetPort} {.spec.ports[0].protocol}"),
            "ClusterIP cip 80 8080 TCP",
            "{bin}"
        );
        let node_port = format!("{}", 30080 + i);
        s.ok(&[
            "create",
            "service",
            "nodeport",
            "np",
            "-n",
            ns,
            "--tcp=80:8080",
            &format!("--node-port={node_port}"),
        ]);
        assert_eq!(
            get(
                "svc/np",
                "{.spec.type} {.spec.ports[0].nodePort} {.spec.ports[0].targetPort}"
            ),
            format!("NodePort {node_port} 8080"),
            "{bin}"
        );
        s.ok(&[
            "create",
            "service",
            "loadbalancer",
            "lb",
            "-n",
            ns,
            "--tcp=443:https",
        ]);
        let lb = get("svc/lb", "{.spec.type} {.spec.ports[0].port} {.spec.ports[0].targetPort} {.spec.ports[0].nodePort}");
        assert!(lb.starts_with("LoadBalancer 443 https 3"), "{bin}: {lb}");
        s.ok(&[
            "create",
            "service",
            "externalname",
            "ext",
            "-n",
            ns,
            "--external-name=example.com",
        ]);
        assert_eq!(
            get("svc/ext", "{.spec.type} {.spec.externalName}"),
            "ExternalName example.com",
            "{bin}"
        );
        let out = s.ok(&[
            "expose",
            "deployment",
            "web",
            "-n",
            ns,
            "--port=80",
            "--target-port=8080",
            "--type=NodePort",
            "--name=web-np",
        ]);
        assert_eq!(out, "service/web-np exposed\n", "{bin}");
        let exposed = get("svc/web-np", "{.spec.type} {.spec.selector.app} {.spec.ports[0].port} {.spec.ports[0].targetPort} {.spec.ports[0].nodePort}");
        assert!(
            exposed.starts_with("NodePort web 80 8080 3"),
            "{bin}: {exposed}"
        );
        s.ok(&[
            "run",
            "once",
            "-n",
            ns,
            "--image=busybox:1.28",
            "--restart=Never",
            "--",
            "echo",
            "hi",
        ]);
        assert_eq!(
            get(
                "pod/once",
                "{.spec.restartPolicy} {.spec.containers[0].image} {.spec.containers[0].args}"
            ),
            r#"Never busybox:1.28 ["echo","hi"]"#,
            "{bin}"
        );
        s.ok(&[
            "create",
            "secret",
            "docker-registry",
            "reg",
            "-n",
            ns,
            "--docker-server=r.example.com",
            "--docker-username=u",
            "--docker-password=p",
        ]);
        assert_eq!(
            get("secret/reg", "{.type}"),
            "kubernetes.io/dockerconfigjson",
            "{bin}"
        );
        s.ok(&["create", "secret", "tls", "tls", "-n", ns, &cert, &key]);
        assert_eq!(get("secret/tls", "{.type}"), "kubernetes.io/tls", "{bin}");
        assert!(get("secret/tls", "{.data.tls\\.crt}").len() > 100, "{bin}");
    }
}
