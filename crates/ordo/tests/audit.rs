//! End-to-end: `ordo server --audit-log FILE` writes one `audit.k8s.io/v1` Event per request,
//! with the user, verb, object and response code of what the real kubectl did.

mod common;
use common::Server;
use serde_json::Value;

fn events(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every audit line is JSON"))
        .collect()
}

#[test]
fn audit_log_records_each_request() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit/audit.log");
    let s = Server::start_with(&["--audit-log", log.to_str().unwrap()]);
    s.ok(&["create", "configmap", "audited", "--from-literal=a=b"]);
    s.ok(&["get", "configmap", "audited", "-o", "name"]);
    s.fails(&["get", "configmap", "absent"]);
    let evs = events(&log);
    let find = |verb: &str, name: &str| {
        evs.iter()
            .find(|e| {
                e["verb"] == verb
                    && e["objectRef"]["resource"] == "configmaps"
                    && e["objectRef"]["name"] == name
            })
            .unwrap_or_else(|| panic!("no {verb} of configmap {name} in {evs:#?}"))
            .clone()
    };
    // The user's own create (the controllers, with identities of their own, create
    // `kube-root-ca.crt` ConfigMaps too).
    let created = evs
        .iter()
        .find(|e| {
            e["verb"] == "create"
                && e["objectRef"]["resource"] == "configmaps"
                && e["user"]["username"] == "kubernetes-admin"
        })
        .expect("the create is audited");
    assert_eq!(created["responseStatus"]["code"], 201);
    assert_eq!(created["objectRef"]["namespace"], "default");
    assert_eq!(created["user"]["username"], "kubernetes-admin");
    let got = find("get", "audited");
    assert_eq!(got["kind"], "Event");
    assert_eq!(got["apiVersion"], "audit.k8s.io/v1");
    assert_eq!(got["level"], "Metadata");
    assert_eq!(got["stage"], "ResponseComplete");
    assert_eq!(got["responseStatus"]["code"], 200);
    assert_eq!(got["sourceIPs"][0], "127.0.0.1");
    assert!(got["userAgent"].as_str().unwrap().starts_with("kubectl"));
    assert!(got["requestURI"]
        .as_str()
        .unwrap()
        .starts_with("/api/v1/namespaces/default/configmaps/audited"));
    assert_eq!(find("get", "absent")["responseStatus"]["code"], 404);
    // A request with a wrong token is audited too, without a user.
    let before = events(&log).len();
    let out = s
        .kubectl_command(&["get", "pods", "--token", "wrong"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let after = events(&log);
    assert!(after.len() > before);
    assert!(after[before..]
        .iter()
        .any(|e| e["responseStatus"]["code"] == 401 && e["user"] == serde_json::json!({})));
}
