//! Integration tests: the API server in-process over real HTTPS and a real SQLite store,
//! driven with a plain HTTP client. Each test checks one REST rule.

use ordo_apiserver::{pki::Pki, ApiServer, Config};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;

struct Api {
    base: String,
    client: Client,
    token: String,
    _dir: tempfile::TempDir,
}

async fn start() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(ordo_store::SqliteStore::open(dir.path().join("ordo.db")).unwrap());
    let pki = Pki::load_or_create(dir.path(), &[]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = ApiServer::new(Config {
        store,
        token: pki.token.clone(),
        service_cidr: "10.96.0.0/12".into(),
        advertise: addr,
        audit_log: None,
        service_account_key_pem: pki.service_account_key_pem.clone(),
        ca_cert_pem: pki.ca_cert_pem.clone(),
        metric_resolution: std::time::Duration::from_secs(15),
    })
    .await
    .unwrap();
    tokio::spawn(server.serve(listener, pki.server_config().unwrap()));
    let ca = reqwest::Certificate::from_pem(pki.ca_cert_pem.as_bytes()).unwrap();
    let client = Client::builder().add_root_certificate(ca).build().unwrap();
    Api {
        base: format!("https://127.0.0.1:{}", addr.port()),
        client,
        token: pki.token.clone(),
        _dir: dir,
    }
}

impl Api {
    async fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        ct: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Content-Type", ct);
        if let Some(b) = body {
            r = r.body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        let code = resp.status();
        let text = resp.text().await.unwrap();
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.req(reqwest::Method::GET, path, "application/json", None)
            .await
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.req(reqwest::Method::POST, path, "application/json", Some(body))
            .await
    }
    async fn patch(&self, path: &str, ct: &str, body: Value) -> (StatusCode, Value) {
        self.req(reqwest::Method::PATCH, path, ct, Some(body)).await
    }
    async fn delete(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.req(reqwest::Method::DELETE, path, "application/json", body)
            .await
    }
}

fn sts(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
        "spec": {"serviceName": "s", "replicas": 2, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
}

const STS: &str = "/apis/apps/v1/namespaces/default/statefulsets";

#[tokio::test]
async fn health_and_version_are_public_everything_else_needs_the_token() {
    let api = start().await;
    let r = api
        .client
        .get(format!("{}/version", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["major"].as_str(), v["minor"].as_str()),
        (Some("1"), Some("33"))
    );
    let r = api
        .client
        .get(format!("{}/readyz", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Without credentials a request is anonymous, which RBAC allows nothing here (upstream's
    // 403); a bad token is refused before that (401).
    let r = api
        .client
        .get(format!("{}/api/v1/pods", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["reason"], "Forbidden");
    assert_eq!(
        v["message"],
        "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" at the cluster scope"
    );
    let r = api
        .client
        .get(format!("{}/api/v1/pods", api.base))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["reason"], "Unauthorized");
}

#[tokio::test]
async fn aggregated_discovery_has_the_exact_content_type() {
    let api = start().await;
    let r = api
        .client
        .get(format!("{}/apis", api.base))
        .bearer_auth(&api.token)
        .header(
            "Accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let v: Value = r.json().await.unwrap();
    let apps = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "apps")
        .unwrap();
    let sts = apps["versions"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "statefulsets")
        .unwrap();
    assert_eq!(sts["shortNames"], json!(["sts"]));
    assert_eq!(sts["categories"], json!(["all"]));
    let (_, legacy) = api.get("/api/v1").await;
    assert!(legacy["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "pods/status"));
}

#[tokio::test]
async fn create_get_conflict_and_generation() {
    let api = start().await;
    let (code, created) = api.post(STS, sts("web")).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(created["status"]["replicas"], 0);
    let (code, dup) = api.post(STS, sts("web")).await;
    assert_eq!(
        (code.as_u16(), dup["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
    assert_eq!(dup["message"], "statefulsets.apps \"web\" already exists");
    // Stale resourceVersion on update → 409 Conflict.
    let mut stale = created.clone();
    stale["spec"]["replicas"] = json!(3);
    let (code, _) = api
        .req(
            reqwest::Method::PUT,
            &format!("{STS}/web"),
            "application/json",
            Some(stale.clone()),
        )
        .await;
    assert_eq!(code, 200);
    let (code, conflict) = api
        .req(
            reqwest::Method::PUT,
            &format!("{STS}/web"),
            "application/json",
            Some(stale),
        )
        .await;
    assert_eq!(
        (code.as_u16(), conflict["reason"].as_str()),
        (409, Some("Conflict"))
    );
    let (_, got) = api.get(&format!("{STS}/web")).await;
    assert_eq!(got["metadata"]["generation"], 2);
    // Metadata-only change: no generation bump. No-op patch: same resourceVersion.
    let (_, labeled) = api
        .patch(
            &format!("{STS}/web"),
            "application/merge-patch+json",
            json!({"metadata": {"labels": {"x": "y"}}}),
        )
        .await;
    assert_eq!(labeled["metadata"]["generation"], 2);
    let (_, again) = api
        .patch(
            &format!("{STS}/web"),
            "application/merge-patch+json",
            json!({"metadata": {"labels": {"x": "y"}}}),
        )
        .await;
    assert_eq!(
        again["metadata"]["resourceVersion"],
        labeled["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn status_and_spec_writes_are_kept_apart() {
    let api = start().await;
    api.post(STS, sts("web")).await;
    let (code, v) = api
        .patch(
            &format!("{STS}/web/status"),
            "application/merge-patch+json",
            json!({"spec": {"replicas": 9}, "status": {"replicas": 2, "readyReplicas": 1}}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["status"]["readyReplicas"], 1);
    assert_eq!(
        v["spec"]["replicas"], 2,
        "status writes must not change spec"
    );
    let (_, v) = api
        .patch(
            &format!("{STS}/web"),
            "application/merge-patch+json",
            json!({"spec": {"replicas": 4}, "status": {"readyReplicas": 7}}),
        )
        .await;
    assert_eq!(v["spec"]["replicas"], 4);
    assert_eq!(
        v["status"]["readyReplicas"], 1,
        "spec writes must not change status"
    );
    // The scale subresource.
    let (code, scale) = api
        .patch(
            &format!("{STS}/web/scale"),
            "application/merge-patch+json",
            json!({"spec": {"replicas": 5}}),
        )
        .await;
    assert_eq!(code, 200, "{scale}");
    assert_eq!(
        (
            scale["kind"].as_str(),
            scale["spec"]["replicas"].as_i64(),
            scale["status"]["selector"].as_str()
        ),
        (Some("Scale"), Some(5), Some("app=web"))
    );
}

#[tokio::test]
async fn validation_errors_have_causes() {
    let api = start().await;
    let mut bad = sts("web");
    bad["spec"]["replicas"] = json!(-1);
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = json!("");
    let (code, v) = api.post(STS, bad).await;
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["reason"], "Invalid");
    assert_eq!(v["details"]["kind"], "StatefulSet");
    let fields: Vec<&str> = v["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"spec.replicas")
            && fields.contains(&"spec.template.spec.containers[0].image"),
        "{fields:?}"
    );
    let mut unknown = sts("web2");
    unknown["spec"]["bogus"] = json!(true);
    let (code, v) = api
        .post(&format!("{STS}?fieldValidation=Strict"), unknown.clone())
        .await;
    assert_eq!(code, 400);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("unknown field \"spec.bogus\""),
        "{v}"
    );
    let (code, _) = api
        .post(&format!("{STS}?fieldValidation=Ignore"), unknown)
        .await;
    assert_eq!(code, 201);
}

#[tokio::test]
async fn bodies_over_3_mib_are_refused() {
    let api = start().await;
    let big = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"x": "a".repeat(3 * 1024 * 1024 + 10)}});
    let (code, v) = api.post("/api/v1/namespaces/default/configmaps", big).await;
    assert_eq!(code, 413, "{v}");
}

#[tokio::test]
async fn list_pages_with_continue_and_selectors() {
    let api = start().await;
    for i in 0..5 {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm{i}"), "labels": {"even": (i % 2 == 0).to_string()}}});
        assert_eq!(
            api.post("/api/v1/namespaces/default/configmaps", cm)
                .await
                .0,
            201
        );
    }
    let (_, p1) = api
        .get("/api/v1/namespaces/default/configmaps?limit=2")
        .await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let token = p1["metadata"]["continue"].as_str().unwrap().to_string();
    let (_, p2) = api
        .get(&format!(
            "/api/v1/namespaces/default/configmaps?limit=2&continue={token}"
        ))
        .await;
    assert_eq!(p2["items"][0]["metadata"]["name"], "cm2");
    let (_, even) = api
        .get("/api/v1/namespaces/default/configmaps?labelSelector=even%3Dtrue")
        .await;
    assert_eq!(even["items"].as_array().unwrap().len(), 3);
    let (_, one) = api
        .get("/api/v1/configmaps?fieldSelector=metadata.name%3Dcm4")
        .await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    let (code, _) = api
        .get("/api/v1/configmaps?fieldSelector=spec.nope%3Dx")
        .await;
    assert_eq!(code, 400);
    let r = api
        .client
        .get(format!("{}/api/v1/namespaces/default/configmaps", api.base))
        .bearer_auth(&api.token)
        .header(
            "Accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .send()
        .await
        .unwrap();
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["columnDefinitions"][0]["name"], "Name");
    assert_eq!(t["rows"].as_array().unwrap().len(), 5);
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}

#[tokio::test]
async fn watch_replays_from_a_revision_and_filters() {
    let api = start().await;
    let (_, a) = api.post(STS, sts("a")).await;
    let rv = a["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    api.post(STS, sts("b")).await;
    api.patch(
        &format!("{STS}/a"),
        "application/merge-patch+json",
        json!({"spec": {"replicas": 3}}),
    )
    .await;
    api.delete(&format!("{STS}/b"), None).await;
    let r = api
        .client
        .get(format!(
            "{}{STS}?watch=true&resourceVersion={rv}&timeoutSeconds=1",
            api.base
        ))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("ADDED".into(), "b".into()),
            ("MODIFIED".into(), "a".into()),
            ("DELETED".into(), "b".into())
        ]
    );
    assert!(events.iter().all(|e| e["object"]["kind"] == "StatefulSet"));
    // Field-selected watch from "0" starts with a synthetic ADDED.
    let r = api
        .client
        .get(format!(
            "{}{STS}?watch=true&fieldSelector=metadata.name%3Da&timeoutSeconds=1",
            api.base
        ))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let api = start().await;
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "f", "finalizers": ["example.com/hold"]}});
    api.post("/api/v1/namespaces/default/configmaps", cm).await;
    let (code, v) = api
        .delete("/api/v1/namespaces/default/configmaps/f", None)
        .await;
    assert_eq!(code, 200);
    assert!(v["metadata"]["deletionTimestamp"].is_string());
    let (code, _) = api.get("/api/v1/namespaces/default/configmaps/f").await;
    assert_eq!(code, 200);
    api.patch(
        "/api/v1/namespaces/default/configmaps/f",
        "application/merge-patch+json",
        json!({"metadata": {"finalizers": null}}),
    )
    .await;
    let (code, _) = api.get("/api/v1/namespaces/default/configmaps/f").await;
    assert_eq!(code, 404);
    // Orphan propagation is recorded as a finalizer for the garbage collector.
    api.post(STS, sts("o")).await;
    let (_, v) = api
        .delete(
            &format!("{STS}/o"),
            Some(json!({"propagationPolicy": "Orphan"})),
        )
        .await;
    assert_eq!(v["metadata"]["finalizers"], json!(["orphan"]));
}

#[tokio::test]
async fn services_get_distinct_cluster_ips_and_node_ports() {
    let api = start().await;
    let mut ips = std::collections::HashSet::new();
    for i in 0..5 {
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("s{i}")}, "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 80}]}});
        let (code, v) = api.post("/api/v1/namespaces/default/services", svc).await;
        assert_eq!(code, 201, "{v}");
        let ip = v["spec"]["clusterIP"].as_str().unwrap().to_string();
        assert!(ip.starts_with("10.") && ip != "10.96.0.1");
        assert!(ips.insert(ip));
        let np = v["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
        assert!((30000..=32767).contains(&np));
        assert_eq!(v["spec"]["ports"][0]["targetPort"], 80);
    }
    // A PUT without clusterIP keeps it; NodePort → ClusterIP drops the node ports.
    let (_, s0) = api.get("/api/v1/namespaces/default/services/s0").await;
    let mut put = s0.clone();
    put["spec"]["clusterIP"] = json!("");
    put["spec"].as_object_mut().unwrap().remove("clusterIPs");
    put["spec"]["type"] = json!("ClusterIP");
    let (code, v) = api
        .req(
            reqwest::Method::PUT,
            "/api/v1/namespaces/default/services/s0",
            "application/json",
            Some(put),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["spec"]["clusterIP"], s0["spec"]["clusterIP"]);
    assert!(v["spec"]["ports"][0].get("nodePort").is_none(), "{v}");
    let (_, k) = api
        .get("/api/v1/namespaces/default/services/kubernetes")
        .await;
    assert_eq!(k["spec"]["clusterIP"], "10.96.0.1");
}

#[tokio::test]
async fn pods_on_a_node_are_deleted_gracefully() {
    let api = start().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    let (_, v) = api
        .post("/api/v1/namespaces/default/pods", pod.clone())
        .await;
    assert_eq!(v["status"]["phase"], "Pending");
    let (code, _) = api.post("/api/v1/namespaces/default/pods/p/binding", json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}})).await;
    assert_eq!(code, 201);
    let (_, v) = api.delete("/api/v1/namespaces/default/pods/p", None).await;
    assert_eq!(v["metadata"]["deletionGracePeriodSeconds"], 30);
    let (code, _) = api.get("/api/v1/namespaces/default/pods/p").await;
    assert_eq!(code, 200, "a bound pod waits for its node");
    let (code, _) = api
        .delete(
            "/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0",
            None,
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = api.get("/api/v1/namespaces/default/pods/p").await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn namespaced_objects_need_an_open_namespace() {
    let api = start().await;
    let (code, v) = api
        .post(
            "/api/v1/namespaces/nope/configmaps",
            json!({"metadata": {"name": "x"}}),
        )
        .await;
    assert_eq!(
        (code.as_u16(), v["message"].as_str()),
        (404, Some("namespaces \"nope\" not found"))
    );
    api.post("/api/v1/namespaces", json!({"metadata": {"name": "t"}}))
        .await;
    let (_, v) = api.delete("/api/v1/namespaces/t", None).await;
    assert_eq!(v["status"]["phase"], "Terminating");
    let (code, v) = api
        .post(
            "/api/v1/namespaces/t/configmaps",
            json!({"metadata": {"name": "x"}}),
        )
        .await;
    assert_eq!(code, 403, "{v}");
}

/// Admission `ServiceAccount`: a pod without `imagePullSecrets` gets its ServiceAccount's; a pod
/// with its own keeps them, and one whose ServiceAccount lists none gets none.
#[tokio::test]
async fn pods_get_their_service_accounts_pull_secrets() {
    let api = start().await;
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "puller"},
        "imagePullSecrets": [{"name": "regcred"}, {"name": "other"}]});
    let (code, body) = api
        .post("/api/v1/namespaces/default/serviceaccounts", sa)
        .await;
    assert_eq!(code, 201, "{body}");
    let pod = |name: &str, sa: Option<&str>, own: Option<Value>| {
        let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        if let Some(sa) = sa {
            p["spec"]["serviceAccountName"] = json!(sa);
        }
        if let Some(own) = own {
            p["spec"]["imagePullSecrets"] = own;
        }
        p
    };
    const PODS: &str = "/api/v1/namespaces/default/pods";
    let (code, p) = api.post(PODS, pod("a", Some("puller"), None)).await;
    assert_eq!(code, 201, "{p}");
    assert_eq!(
        p["spec"]["imagePullSecrets"],
        json!([{"name": "regcred"}, {"name": "other"}])
    );
    let (_, stored) = api.get(&format!("{PODS}/a")).await;
    assert_eq!(stored["spec"]["imagePullSecrets"][0]["name"], "regcred");
    let own = json!([{"name": "mine"}]);
    let (code, p) = api
        .post(PODS, pod("b", Some("puller"), Some(own.clone())))
        .await;
    assert_eq!(code, 201, "{p}");
    assert_eq!(p["spec"]["imagePullSecrets"], own);
    // The `default` ServiceAccount lists no secrets: the pod gets none.
    let (code, p) = api.post(PODS, pod("c", None, None)).await;
    assert_eq!(code, 201, "{p}");
    assert!(p["spec"].get("imagePullSecrets").is_none(), "{p}");
}

/// Admission `ServiceAccount`: a pod naming a ServiceAccount that does not exist is refused
/// with upstream's 403; a namespace has its `default` ServiceAccount as soon as it is created,
/// so a pod created right after it is admitted.
#[tokio::test]
async fn pods_of_a_missing_service_account_are_forbidden() {
    let api = start().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"serviceAccountName": "nobody", "containers": [{"name": "c", "image": "nginx"}]}});
    let (code, body) = api.post("/api/v1/namespaces/default/pods", pod).await;
    assert_eq!(code, 403, "{body}");
    assert_eq!(body["reason"], "Forbidden");
    assert_eq!(
        body["message"],
        "pods \"p\" is forbidden: error looking up service account default/nobody: serviceaccount \"nobody\" not found"
    );
    assert_eq!(
        body["details"],
        json!({"name": "p", "group": "", "kind": "pods"})
    );
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}});
    let (code, body) = api.post("/api/v1/namespaces", ns).await;
    assert_eq!(code, 201, "{body}");
    let (code, sa) = api
        .get("/api/v1/namespaces/fresh/serviceaccounts/default")
        .await;
    assert_eq!(code, 200, "{sa}");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "p-"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let (code, body) = api.post("/api/v1/namespaces/fresh/pods", pod).await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["spec"]["serviceAccountName"], "default");
}
