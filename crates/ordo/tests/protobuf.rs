//! Kubernetes' protobuf encoding end to end: every `kubectl create <subcommand>` of kubectl 1.33
//! (typed-client commands that send protobuf bodies and read protobuf answers), and protobuf
//! responses read with k8s-pb's prost structs.

mod common;

use common::{Server, KUBECTL_1_33};
use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::Unknown;
use prost::Message;
use std::process::Command;

const NOT_SERVED: &str = "the server could not find the requested resource";

/// Every `kubectl create` subcommand of kubectl 1.33: each succeeds when ordo serves the resource,
/// and otherwise fails only with the 404 of an unserved resource (never a decoding error).
#[test]
fn every_kubectl_create_subcommand() {
    let mut s = Server::start_with(&["--api-only"]);
    s.kubectl_bin = KUBECTL_1_33.into();
    let pki = s.data_dir().join("pki");
    let cert = format!("--cert={}", pki.join("server.crt").display());
    let key = format!("--key={}", pki.join("server.key").display());
    let served = s.ok(&["api-resources", "-o", "name"]);
    let served: Vec<&str> = served.lines().collect();
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        ("namespace", "namespaces", vec!["namespace", "team-a"]),
        ("serviceaccount", "serviceaccounts", vec!["serviceaccount", "robot"]),
        ("token", "serviceaccounts", vec!["token", "robot"]),
        ("clusterrole", "clusterroles.rbac.authorization.k8s.io", vec!["clusterrole", "reader", "--verb=get,list", "--resource=pods"]),
        ("clusterrolebinding", "clusterrolebindings.rbac.authorization.k8s.io", vec!["clusterrolebinding", "readers", "--clusterrole=reader", "--user=alice"]),
        ("role", "roles.rbac.authorization.k8s.io", vec!["role", "r", "--verb=get", "--resource=pods"]),
        ("rolebinding", "rolebindings.rbac.authorization.k8s.io", vec!["rolebinding", "rb", "--role=r", "--serviceaccount=default:robot"]),
        ("configmap", "configmaps", vec!["configmap", "cfg", "--from-literal=a=b"]),
        ("secret generic", "secrets", vec!["secret", "generic", "sec", "--from-literal=p=s3cr3t"]),
        ("secret docker-registry", "secrets", vec!["secret", "docker-registry", "reg", "--docker-server=registry.example", "--docker-username=u", "--docker-password=p"]),
        ("secret tls", "secrets", vec!["secret", "tls", "tls", cert.as_str(), key.as_str()]),
        ("service clusterip", "services", vec!["service", "clusterip", "c", "--tcp=80:8080"]),
        ("service externalname", "services", vec!["service", "externalname", "e", "--external-name=example.com"]),
        ("service loadbalancer", "services", vec!["service", "loadbalancer", "lb", "--tcp=443:8443"]),
        ("service nodeport", "services", vec!["service", "nodeport", "np", "--tcp=80:8080"]),
        ("deployment", "deployments.apps", vec!["deployment", "web", "--image=nginx:1.25.4", "--replicas=2", "--port=80"]),
        ("job", "jobs.batch", vec!["job", "once", "--image=busybox", "--", "true"]),
        ("cronjob", "cronjobs.batch", vec!["cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *"]),
        ("poddisruptionbudget", "poddisruptionbudgets.policy", vec!["poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=50%"]),
        ("priorityclass", "priorityclasses.scheduling.k8s.io", vec!["priorityclass", "high", "--value=1000", "--description=important"]),
        ("quota", "resourcequotas", vec!["quota", "q", "--hard=pods=10,requests.cpu=2"]),
        ("ingress", "ingresses.networking.k8s.io", vec!["ingress", "web", "--rule=example.com/*=web:80"]),
    ];
    let mut report = Vec::new();
    for (name, resource, args) in &cases {
        let mut full = vec!["create"];
        full.extend(args.iter().copied());
        let out = s.kubectl(&full);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        if served.contains(resource) {
            assert!(
                out.status.success(),
                "kubectl create {name}: {stdout}{stderr}\n{}",
                common::tail(&s.log())
            );
            report.push(format!("{name}: created"));
        } else {
            assert!(
                !out.status.success() && stderr.contains(NOT_SERVED),
                "kubectl create {name} of an unserved resource: {stdout}{stderr}"
            );
            report.push(format!("{name}: not served (404)"));
        }
    }
    eprintln!("{}", report.join("\n"));
    // The objects are what kubectl asked for.
    let get = |what: &str, path: &str| s.ok(&["get", what, "-o", &format!("jsonpath={path}")]);
    assert_eq!(
        get(
            "deployment/web",
            "{.spec.replicas} {.spec.template.spec.containers[0].ports[0].containerPort}"
        ),
        "2 80"
    );
    assert_eq!(
        get(
            "svc/np",
            "{.spec.type} {.spec.ports[0].port} {.spec.ports[0].targetPort}"
        ),
        "NodePort 80 8080"
    );
    assert_eq!(
        get("svc/e", "{.spec.type} {.spec.externalName}"),
        "ExternalName example.com"
    );
    assert_eq!(
        get("secret/reg", "{.type}"),
        "kubernetes.io/dockerconfigjson"
    );
    assert_eq!(get("secret/tls", "{.type}"), "kubernetes.io/tls");
    assert_eq!(
        get("rolebinding/rb", "{.roleRef.name} {.subjects[0].name}"),
        "r robot"
    );
    assert_eq!(
        get(
            "job/once",
            "{.spec.template.spec.containers[0].command[0]} {.spec.template.spec.restartPolicy}"
        ),
        "true Never"
    );
    if served.contains(&"poddisruptionbudgets.policy") {
        assert_eq!(get("pdb/pdb", "{.spec.minAvailable}"), "50%");
    }
    if served.contains(&"priorityclasses.scheduling.k8s.io") {
        assert_eq!(
            get("priorityclass/high", "{.value} {.description}"),
            "1000 important"
        );
    }
    if served.contains(&"cronjobs.batch") {
        assert_eq!(get("cronjob/tick", "{.spec.schedule}"), "*/5 * * * *");
    }
    if served.contains(&"resourcequotas") {
        assert_eq!(get("quota/q", "{.spec.hard.pods}"), "10");
    }
}

/// A request with curl; returns (status, content type, body).
fn curl(s: &Server, path: &str, accept: &str) -> (u16, String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let (headers, body) = (dir.path().join("h"), dir.path().join("b"));
    let out = Command::new("curl")
        .args(["-sk", "-o"])
        .arg(&body)
        .arg("-D")
        .arg(&headers)
        .args(["-w", "%{http_code}", "-H"])
        .arg(format!("Authorization: Bearer {}", s.token()))
        .args(["-H", &format!("Accept: {accept}")])
        .arg(format!("https://127.0.0.1:{}{path}", s.port))
        .output()
        .unwrap();
    let code = String::from_utf8_lossy(&out.stdout).parse().unwrap();
    let headers = std::fs::read_to_string(headers).unwrap();
    let ct = headers
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    (code, ct, std::fs::read(body).unwrap())
}

/// The `Unknown` envelope of a protobuf response: (apiVersion, kind, raw object).
fn unwrap(body: &[u8]) -> (String, String, Vec<u8>) {
    let rest = body.strip_prefix(b"k8s\0").expect("protobuf magic");
    let u = Unknown::decode(rest).unwrap();
    let tm = u.type_meta.unwrap();
    (tm.api_version.unwrap(), tm.kind.unwrap(), u.raw.unwrap())
}

/// GET and LIST answer in protobuf to a client that asks for it, errors too; tables and JSON
/// clients keep JSON.
#[test]
fn protobuf_responses_read_with_k8s_pb() {
    let s = Server::start_with(&["--api-only"]);
    s.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.25.4",
        "--replicas=3",
    ]);
    s.ok(&["create", "configmap", "cfg", "--from-literal=a=b"]);
    let pb = "application/vnd.kubernetes.protobuf";

    let (code, ct, body) = curl(&s, "/apis/apps/v1/namespaces/default/deployments/web", pb);
    assert_eq!((code, ct.as_str()), (200, pb));
    let (v, k, raw) = unwrap(&body);
    assert_eq!((v.as_str(), k.as_str()), ("apps/v1", "Deployment"));
    let d = apps::Deployment::decode(raw.as_slice()).unwrap();
    let m = d.metadata.unwrap();
    assert_eq!(m.name.as_deref(), Some("web"));
    assert!(m.creation_timestamp.and_then(|t| t.seconds).unwrap_or(0) > 1_600_000_000);
    let spec = d.spec.unwrap();
    assert_eq!(spec.replicas, Some(3));
    let c = &spec.template.unwrap().spec.unwrap().containers[0];
    assert_eq!(c.image.as_deref(), Some("nginx:1.25.4"));

    let (code, ct, body) = curl(
        &s,
        "/api/v1/namespaces/default/configmaps",
        &format!("{pb}, */*"),
    );
    assert_eq!((code, ct.as_str()), (200, pb));
    let (_, k, raw) = unwrap(&body);
    assert_eq!(k, "ConfigMapList");
    let list = core::ConfigMapList::decode(raw.as_slice()).unwrap();
    assert!(list.metadata.unwrap().resource_version.is_some());
    let cfg = list
        .items
        .iter()
        .find(|c| c.metadata.as_ref().unwrap().name.as_deref() == Some("cfg"))
        .expect("cfg listed");
    assert_eq!(cfg.data.get("a").map(String::as_str), Some("b"));

    // A watch streams length-prefixed WatchEvents, each holding a protobuf object.
    let (code, ct, body) = curl(
        &s,
        "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1",
        pb,
    );
    assert_eq!(
        (code, ct.as_str()),
        (200, "application/vnd.kubernetes.protobuf;stream=watch")
    );
    let mut names = Vec::new();
    let mut rest = body.as_slice();
    while rest.len() >= 4 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let ev = meta::WatchEvent::decode(&rest[4..4 + len]).unwrap();
        rest = &rest[4 + len..];
        assert_eq!(ev.r#type.as_deref(), Some("ADDED"));
        let (_, kind, raw) = unwrap(&ev.object.unwrap().raw.unwrap());
        assert_eq!(kind, "ConfigMap");
        let cm = core::ConfigMap::decode(raw.as_slice()).unwrap();
        names.push(cm.metadata.unwrap().name.unwrap());
    }
    assert!(
        rest.is_empty() && names.contains(&"cfg".to_string()),
        "{names:?}"
    );

    // Errors are protobuf Statuses.
    let (code, ct, body) = curl(&s, "/api/v1/namespaces/default/pods/nope", pb);
    assert_eq!((code, ct.as_str()), (404, pb));
    let (_, k, raw) = unwrap(&body);
    assert_eq!(k, "Status");
    let st = meta::Status::decode(raw.as_slice()).unwrap();
    assert_eq!(
        (st.code, st.reason.as_deref()),
        (Some(404), Some("NotFound"))
    );

    // Tables stay JSON, as do JSON clients.
    let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (code, ct, body) = curl(&s, "/api/v1/namespaces/default/configmaps", table);
    assert_eq!((code, ct.as_str()), (200, "application/json"));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["kind"], "Table");
    let (_, ct, _) = curl(
        &s,
        "/api/v1/namespaces/default/configmaps",
        "application/json",
    );
    assert_eq!(ct, "application/json");
}
