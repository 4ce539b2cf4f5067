//! Bodies built with a tiny encoder, decoded and compared with the JSON they stand for.

use super::*;
use serde_json::json;

fn varint_bytes(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// A length-delimited field.
fn ld(n: u64, b: &[u8]) -> Vec<u8> {
    [
        varint_bytes(n << 3 | 2),
        varint_bytes(b.len() as u64),
        b.to_vec(),
    ]
    .concat()
}

/// A string field.
fn s(n: u64, v: &str) -> Vec<u8> {
    ld(n, v.as_bytes())
}

/// A varint field.
fn vi(n: u64, v: i64) -> Vec<u8> {
    [varint_bytes(n << 3), varint_bytes(v as u64)].concat()
}

/// A map entry.
fn entry(n: u64, k: &str, v: &[u8]) -> Vec<u8> {
    ld(n, &[s(1, k), ld(2, v)].concat())
}

/// The whole body: magic, `Unknown{typeMeta, raw}`.
fn body(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let tm = [s(1, api_version), s(2, kind)].concat();
    [MAGIC.to_vec(), ld(1, &tm), ld(2, raw), s(3, ""), s(4, "")].concat()
}

#[test]
fn decodes_a_configmap() {
    let meta = [s(1, "cm"), entry(11, "a", b"b")].concat();
    let raw = [ld(1, &meta), entry(2, "k", b"v"), vi(4, 1)].concat();
    let v = decode(&body("v1", "ConfigMap", &raw)).unwrap();
    assert_eq!(
        v,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": {"a": "b"}}, "data": {"k": "v"}, "immutable": true})
    );
}

#[test]
fn decodes_a_secret_with_bytes() {
    let raw = [
        ld(1, &s(1, "sec")),
        entry(2, "p", b"s3cr3t"),
        s(3, "kubernetes.io/tls"),
    ]
    .concat();
    let v = decode(&body("v1", "Secret", &raw)).unwrap();
    assert_eq!(v["data"], json!({"p": "czNjcjN0"}));
    assert_eq!(v["type"], "kubernetes.io/tls");
}

/// What `kubectl create deployment web --image=nginx:1.25.4 --replicas=3 --port=80` sends: Go
/// emits every non-pointer field, zero or not.
#[test]
fn decodes_a_deployment_as_kubectl_sends_it() {
    let labels = entry(11, "app", b"web");
    let meta = [
        s(1, "web"),
        s(2, ""),
        s(3, ""),
        vi(7, 0),
        ld(8, &[]),
        labels.clone(),
    ]
    .concat();
    let container = [
        s(1, "nginx"),
        s(2, "nginx:1.25.4"),
        s(5, ""),
        ld(6, &[vi(3, 80), s(4, "")].concat()),
        ld(8, &[]),
        s(13, ""),
        s(14, ""),
        vi(16, 0),
        vi(17, 0),
        vi(18, 0),
    ]
    .concat();
    let pod_spec = [ld(2, &container), s(3, ""), s(6, ""), vi(11, 0), s(19, "")].concat();
    let template = [
        ld(1, &[ld(8, &[]), labels.clone()].concat()),
        ld(2, &pod_spec),
    ]
    .concat();
    let spec = [
        vi(1, 3),
        ld(2, &entry(1, "app", b"web")),
        ld(3, &template),
        ld(4, &s(1, "")),
        vi(5, 0),
        vi(7, 0),
    ]
    .concat();
    let raw = [ld(1, &meta), ld(2, &spec), ld(3, &vi(1, 0))].concat();
    let v = decode(&body("apps/v1", "Deployment", &raw)).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "creationTimestamp": null, "labels": {"app": "web"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                    "spec": {"containers": [{
                        "name": "nginx", "image": "nginx:1.25.4",
                        "ports": [{"containerPort": 80}], "resources": {}
                    }]}
                },
                "strategy": {}
            },
            "status": {}
        })
    );
}

#[test]
fn keeps_meaningful_zeros_only() {
    let spec = [vi(1, 0), vi(5, 0), vi(6, 0), vi(7, 0)].concat();
    let v = decode(&body("apps/v1", "Deployment", &ld(2, &spec))).unwrap();
    assert_eq!(v["spec"], json!({"replicas": 0, "revisionHistoryLimit": 0}));
}

#[test]
fn decodes_a_service_with_int_or_string_ports() {
    let port = |name: &str, p: i64, target: Vec<u8>, node: i64| {
        ld(
            1,
            &[
                s(1, name),
                s(2, "TCP"),
                vi(3, p),
                ld(4, &target),
                vi(5, node),
            ]
            .concat(),
        )
    };
    let spec = [
        port(
            "80-8080",
            80,
            [vi(1, 0), vi(2, 8080), s(3, "")].concat(),
            30080,
        ),
        port(
            "https",
            443,
            [vi(1, 1), vi(2, 0), s(3, "https")].concat(),
            0,
        ),
        port("p", 53, vec![], 0),
        entry(2, "app", b"web"),
        s(4, "NodePort"),
    ]
    .concat();
    let v = decode(&body("v1", "Service", &[ld(2, &spec), ld(3, &[])].concat())).unwrap();
    assert_eq!(
        v["spec"],
        json!({
            "ports": [
                {"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 30080},
                {"name": "https", "protocol": "TCP", "port": 443, "targetPort": "https"},
                {"name": "p", "protocol": "TCP", "port": 53, "targetPort": 0}
            ],
            "selector": {"app": "web"},
            "type": "NodePort"
        })
    );
    assert_eq!(v["status"], json!({}));
}

#[test]
fn decodes_special_kinds_inline_structs_and_packed_ints() {
    // A pod: a volume whose source is inlined, a probe with an inlined handler, resources as
    // quantities, a time, packed and unpacked repeated int64s.
    let config_map = [ld(1, &s(1, "my-config")), vi(3, 0o644)].concat();
    let volume = [s(1, "cfg"), ld(2, &ld(19, &config_map))].concat();
    let probe = [
        ld(
            1,
            &ld(
                2,
                &[s(1, "/healthz"), ld(2, &[vi(1, 0), vi(2, 8080)].concat())].concat(),
            ),
        ),
        vi(2, 5),
    ]
    .concat();
    let resources = [
        entry(1, "memory", &s(1, "64Mi")),
        entry(2, "cpu", &s(1, "250m")),
    ]
    .concat();
    let container = [s(1, "c"), ld(8, &resources), ld(10, &probe)].concat();
    let packed = [varint_bytes(1), varint_bytes(2)].concat();
    let security = [ld(4, &packed), vi(4, 3)].concat();
    let spec = [ld(1, &volume), ld(2, &container), ld(14, &security)].concat();
    let meta = [s(1, "p"), ld(8, &[vi(1, 1_700_000_000), vi(2, 5)].concat())].concat();
    let v = decode(&body("v1", "Pod", &[ld(1, &meta), ld(2, &spec)].concat())).unwrap();
    assert_eq!(v["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(
        v["spec"]["volumes"],
        json!([{"name": "cfg", "configMap": {"name": "my-config", "defaultMode": 420}}])
    );
    let c = &v["spec"]["containers"][0];
    assert_eq!(
        c["resources"],
        json!({"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}})
    );
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 5})
    );
    assert_eq!(
        v["spec"]["securityContext"]["supplementalGroups"],
        json!([1, 2, 3])
    );
}

#[test]
fn refuses_unknown_fields_naming_kind_message_and_path() {
    let container = [s(1, "c"), s(99, "new")].concat();
    let spec = ld(3, &ld(2, &ld(2, &container)));
    let err = decode(&body("apps/v1", "Deployment", &ld(2, &spec))).unwrap_err();
    assert!(err.contains("apps/v1 Deployment"), "{err}");
    assert!(
        err.contains("field 99 of the protobuf message Container"),
        "{err}"
    );
    assert!(err.contains("spec.template.spec.containers"), "{err}");
    // A known field with the wrong wire type.
    let err = decode(&body("v1", "ConfigMap", &vi(1, 1))).unwrap_err();
    assert!(
        err.contains("metadata: expected a length-delimited field"),
        "{err}"
    );
}

#[test]
fn decodes_a_job_as_kubectl_create_job_sends_it() {
    let container = [s(1, "hello"), s(2, "busybox"), s(3, "sh")].concat();
    let pod_spec = [ld(2, &container), s(3, "Never")].concat();
    let template = ld(2, &pod_spec);
    let spec = [vi(1, 0), ld(6, &template), vi(10, 0)].concat();
    let raw = [ld(1, &s(1, "hello")), ld(2, &spec)].concat();
    let job = decode(&body("batch/v1", "Job", &raw)).unwrap();
    assert_eq!(job["metadata"]["name"], "hello");
    // Pointer fields keep their zero values.
    assert_eq!(job["spec"]["parallelism"], 0);
    assert_eq!(job["spec"]["suspend"], false);
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        (&c["name"], &c["image"]),
        (&json!("hello"), &json!("busybox"))
    );
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
}

#[test]
fn refuses_unknown_kinds_and_garbage() {
    let err = decode(&body("example.com/v1", "Widget", &[])).unwrap_err();
    assert!(err.contains("kubectl apply -f"), "{err}");
    assert!(err.contains("example.com/v1 Widget"), "{err}");
    assert!(decode(b"nope").is_err());
    assert!(decode(&[MAGIC.to_vec(), vec![0x0a, 0x50]].concat()).is_err());
    let encoded = [
        MAGIC.to_vec(),
        ld(1, &[s(1, "v1"), s(2, "ConfigMap")].concat()),
        s(3, "gzip"),
    ]
    .concat();
    assert!(decode(&encoded).unwrap_err().contains("gzip"));
}

/// The generated schema covers the kinds ordo serves, with Kubernetes' JSON names.
#[test]
fn the_generated_schema_covers_every_served_kind() {
    for r in ordo_api::resources::RESOURCES {
        let api_version = if r.group.is_empty() {
            r.version.to_string()
        } else {
            format!("{}/{}", r.group, r.version)
        };
        assert!(
            schema::root(&api_version, r.kind).is_some(),
            "no protobuf message for {api_version} {}",
            r.kind
        );
        assert!(
            schema::root(&api_version, &format!("{}List", r.kind)).is_some()
                || r.kind == "Binding"
                || r.group.starts_with("authentication.")
                || r.group.starts_with("authorization."),
            "no protobuf list message for {api_version} {}",
            r.kind
        );
    }
    let spec = schema::root("v1", "Pod").unwrap().fields[1].ty;
    let schema::Ty::Message(i) = spec else {
        panic!("{spec:?}")
    };
    let names: Vec<&str> = schema::message(i).fields.iter().map(|f| f.json).collect();
    for n in [
        "hostIPC",
        "hostPID",
        "nodeName",
        "dnsPolicy",
        "setHostnameAsFQDN",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let volume = schema::MESSAGES
        .iter()
        .find(|m| m.path == "api::core::v1::Volume")
        .unwrap();
    assert!(volume.fields.iter().any(|f| f.inline), "{volume:?}");
    // Names k8s-pb's snake_case mangles (`non_resource_ur_ls`) keep their API spelling.
    let all: Vec<&str> = schema::MESSAGES
        .iter()
        .flat_map(|m| m.fields.iter().map(|f| f.json))
        .collect();
    for n in [
        "nonResourceURLs",
        "podCIDRs",
        "targetWWNs",
        "apiGroup",
        "uid",
    ] {
        assert!(all.contains(&n), "{n}");
    }
    assert!(!all.contains(&"nonResourceUrLs"));
}

/// Bodies captured from kubectl 1.33 (`kubectl create cronjob|job|quota|poddisruptionbudget`).
#[test]
fn decodes_bodies_captured_from_kubectl() {
    let cj = decode(include_bytes!("testdata/create-cronjobs.bin")).unwrap();
    assert_eq!(
        cj["metadata"],
        json!({"name": "tick", "creationTimestamp": null})
    );
    assert_eq!(cj["spec"]["schedule"], "*/5 * * * *");
    let template = &cj["spec"]["jobTemplate"]["spec"]["template"];
    assert_eq!(
        template["spec"],
        json!({"containers": [{"name": "tick", "image": "busybox", "resources": {}}], "restartPolicy": "OnFailure"})
    );
    assert_eq!(cj["status"], json!({}));

    let job = decode(include_bytes!("testdata/create-jobs.bin")).unwrap();
    assert_eq!(
        (&job["apiVersion"], &job["kind"]),
        (&json!("batch/v1"), &json!("Job"))
    );
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        (&c["image"], &c["command"]),
        (&json!("busybox"), &json!(["true"]))
    );
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");

    let quota = decode(include_bytes!("testdata/create-resourcequotas.bin")).unwrap();
    assert_eq!(
        quota["spec"],
        json!({"hard": {"pods": "10", "requests.cpu": "2"}})
    );

    let pdb = decode(include_bytes!("testdata/create-poddisruptionbudgets.bin")).unwrap();
    assert_eq!(
        pdb["spec"],
        json!({"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}})
    );
}

/// A ControllerRevision whose `data` embeds a ControllerRevision, `depth` times.
fn nested_revisions(depth: usize) -> Vec<u8> {
    let mut b = body("apps/v1", "ControllerRevision", &vi(3, 1));
    for _ in 0..depth {
        // data (2) is a RawExtension whose raw (1) is a whole protobuf body.
        b = body("apps/v1", "ControllerRevision", &ld(2, &ld(1, &b)));
    }
    b
}

#[test]
fn deeply_nested_bodies_are_refused_not_overflowing_the_stack() {
    let v = decode(&nested_revisions(20)).unwrap();
    assert_eq!(v["data"]["data"]["kind"], "ControllerRevision");
    // Each level recursed: 5,000 levels (200 kB) overflowed the stack and aborted the server.
    let e = decode(&nested_revisions(5_000)).unwrap_err();
    assert!(e.contains("nested more than 100 levels deep"), "{e}");
}
