//! Upstream's bootstrap policy (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy`, as of 1.33):
//! the ClusterRoles and ClusterRoleBindings every cluster starts with, and their
//! reconciliation at start (missing objects created, missing rules, subjects, labels and
//! annotations added unless `rbac.authorization.kubernetes.io/autoupdate` is `"false"`).

use super::rules::Rule;
use serde_json::{json, Value};

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
const READ_WRITE: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
/// The annotation that lets reconciliation update a bootstrap object.
pub const AUTOUPDATE: &str = "rbac.authorization.kubernetes.io/autoupdate";
const AGG: &str = "rbac.authorization.k8s.io/aggregate-to-";

fn r(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Rule {
    Rule::resource(verbs, groups, resources)
}

fn events_rule() -> Rule {
    r(
        &["create", "update", "patch"],
        &["", "events.k8s.io"],
        &["events"],
    )
}

fn role(name: &str, rules: Vec<Rule>) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                     "annotations": {AUTOUPDATE: "true"}},
        "rules": rules,
    })
}

/// A role whose rules the aggregation controller fills from roles labelled `aggregate-to-NAME`.
fn aggregated(name: &str, also_into: Option<&str>) -> Value {
    let mut v = role(name, Vec::new());
    v["aggregationRule"] =
        json!({"clusterRoleSelectors": [{"matchLabels": {format!("{AGG}{name}"): "true"}}]});
    if let Some(into) = also_into {
        v["metadata"]["labels"][format!("{AGG}{into}")] = json!("true");
    }
    v
}

fn aggregate_to(target: &str, rules: Vec<Rule>) -> Value {
    let mut v = role(&format!("system:aggregate-to-{target}"), rules);
    v["metadata"]["labels"][format!("{AGG}{target}")] = json!("true");
    v
}

/// The bootstrap ClusterRoles.
pub fn cluster_roles() -> Vec<Value> {
    vec![
        role(
            "cluster-admin",
            vec![r(&["*"], &["*"], &["*"]), Rule::urls(&["*"], &["*"])],
        ),
        role(
            "system:discovery",
            vec![Rule::urls(
                &["get"],
                &[
                    "/livez",
                    "/readyz",
                    "/healthz",
                    "/version",
                    "/version/",
                    "/openapi",
                    "/openapi/*",
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                ],
            )],
        ),
        role(
            "system:monitoring",
            vec![Rule::urls(
                &["get"],
                &[
                    "/metrics",
                    "/metrics/slis",
                    "/livez",
                    "/readyz",
                    "/healthz",
                    "/livez/*",
                    "/readyz/*",
                    "/healthz/*",
                ],
            )],
        ),
        role(
            "system:basic-user",
            vec![
                r(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                ),
                r(
                    &["create"],
                    &["authentication.k8s.io"],
                    &["selfsubjectreviews"],
                ),
            ],
        ),
        role(
            "system:public-info-viewer",
            vec![Rule::urls(
                &["get"],
                &["/livez", "/readyz", "/healthz", "/version", "/version/"],
            )],
        ),
        aggregated("admin", None),
        aggregated("edit", Some("admin")),
        aggregated("view", Some("edit")),
        aggregate_to(
            "admin",
            vec![
                r(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["localsubjectaccessreviews"],
                ),
                r(
                    READ_WRITE,
                    &["rbac.authorization.k8s.io"],
                    &["roles", "rolebindings"],
                ),
            ],
        ),
        aggregate_to("edit", edit_rules()),
        aggregate_to("view", view_rules()),
        role("system:node", node_rules()),
        role(
            "system:node-proxier",
            vec![
                r(&["list", "watch"], &[""], &["services", "endpoints"]),
                r(READ, &[""], &["nodes"]),
                events_rule(),
                r(
                    &["list", "watch"],
                    &["discovery.k8s.io"],
                    &["endpointslices"],
                ),
            ],
        ),
        role("system:kube-scheduler", scheduler_rules()),
        role(
            "system:kube-controller-manager",
            vec![
                events_rule(),
                r(&["create"], &["coordination.k8s.io"], &["leases"]),
                r(&["get", "update"], &["coordination.k8s.io"], &["leases"])
                    .named(&["kube-controller-manager"]),
                r(&["create"], &[""], &["secrets", "serviceaccounts"]),
                r(&["delete"], &[""], &["secrets"]),
                r(
                    &["get"],
                    &[""],
                    &["configmaps", "namespaces", "secrets", "serviceaccounts"],
                ),
                r(&["update"], &[""], &["secrets", "serviceaccounts"]),
                r(&["create"], &["authentication.k8s.io"], &["tokenreviews"]),
                r(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["subjectaccessreviews"],
                ),
                r(&["list", "watch"], &["*"], &["*"]),
                r(&["create"], &[""], &["serviceaccounts/token"]),
            ],
        ),
        role(
            "system:auth-delegator",
            vec![
                r(&["create"], &["authentication.k8s.io"], &["tokenreviews"]),
                r(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["subjectaccessreviews"],
                ),
            ],
        ),
        role(
            "system:kube-dns",
            vec![r(&["list", "watch"], &[""], &["endpoints", "services"])],
        ),
        role(
            "system:node-bootstrapper",
            vec![r(
                &["create", "get", "list", "watch"],
                &["certificates.k8s.io"],
                &["certificatesigningrequests"],
            )],
        ),
        role(
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            vec![r(
                &["create"],
                &["certificates.k8s.io"],
                &["certificatesigningrequests/nodeclient"],
            )],
        ),
        role(
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            vec![r(
                &["create"],
                &["certificates.k8s.io"],
                &["certificatesigningrequests/selfnodeclient"],
            )],
        ),
        role(
            "system:certificates.k8s.io:kube-apiserver-client-approver",
            vec![r(&["approve"], &["certificates.k8s.io"], &["signers"])
                .named(&["kubernetes.io/kube-apiserver-client"])],
        ),
        role(
            "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
            vec![r(&["approve"], &["certificates.k8s.io"], &["signers"])
                .named(&["kubernetes.io/kube-apiserver-client-kubelet"])],
        ),
        role(
            "system:service-account-issuer-discovery",
            vec![Rule::urls(
                &["get"],
                &[
                    "/.well-known/openid-configuration",
                    "/.well-known/openid-configuration/",
                    "/openid/v1/jwks",
                    "/openid/v1/jwks/",
                ],
            )],
        ),
    ]
}

fn edit_rules() -> Vec<Rule> {
    vec![
        r(
            READ,
            &[""],
            &[
                "pods/attach",
                "pods/proxy",
                "pods/exec",
                "pods/portforward",
                "secrets",
                "services/proxy",
            ],
        ),
        r(&["impersonate"], &[""], &["serviceaccounts"]),
        r(
            WRITE,
            &[""],
            &[
                "pods",
                "pods/attach",
                "pods/proxy",
                "pods/exec",
                "pods/portforward",
            ],
        ),
        r(&["create"], &[""], &["pods/eviction"]),
        r(
            WRITE,
            &[""],
            &[
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/proxy",
                "persistentvolumeclaims",
                "configmaps",
                "secrets",
                "events",
            ],
        ),
        r(&["create"], &[""], &["serviceaccounts/token"]),
        r(
            WRITE,
            &["apps"],
            &[
                "statefulsets",
                "statefulsets/scale",
                "daemonsets",
                "deployments",
                "deployments/scale",
                "deployments/rollback",
                "replicasets",
                "replicasets/scale",
            ],
        ),
        r(WRITE, &["autoscaling"], &["horizontalpodautoscalers"]),
        r(WRITE, &["batch"], &["jobs", "cronjobs"]),
        r(
            WRITE,
            &["extensions"],
            &[
                "daemonsets",
                "deployments",
                "deployments/scale",
                "deployments/rollback",
                "ingresses",
                "replicasets",
                "replicasets/scale",
                "replicationcontrollers/scale",
                "networkpolicies",
            ],
        ),
        r(WRITE, &["policy"], &["poddisruptionbudgets"]),
        r(
            WRITE,
            &["networking.k8s.io"],
            &["networkpolicies", "ingresses"],
        ),
    ]
}

fn view_rules() -> Vec<Rule> {
    vec![
        r(
            READ,
            &[""],
            &[
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "configmaps",
            ],
        ),
        r(
            READ,
            &[""],
            &[
                "limitranges",
                "resourcequotas",
                "bindings",
                "events",
                "pods/status",
                "resourcequotas/status",
                "namespaces/status",
                "replicationcontrollers/status",
                "pods/log",
            ],
        ),
        r(READ, &[""], &["namespaces"]),
        r(READ, &["discovery.k8s.io"], &["endpointslices"]),
        r(
            READ,
            &["apps"],
            &[
                "controllerrevisions",
                "statefulsets",
                "statefulsets/status",
                "statefulsets/scale",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/status",
                "deployments/scale",
                "replicasets",
                "replicasets/status",
                "replicasets/scale",
            ],
        ),
        r(
            READ,
            &["autoscaling"],
            &[
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ],
        ),
        r(
            READ,
            &["batch"],
            &["jobs", "cronjobs", "cronjobs/status", "jobs/status"],
        ),
        r(
            READ,
            &["extensions"],
            &[
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "ingresses",
                "ingresses/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "replicationcontrollers/scale",
                "networkpolicies",
            ],
        ),
        r(
            READ,
            &["policy"],
            &["poddisruptionbudgets", "poddisruptionbudgets/status"],
        ),
        r(
            READ,
            &["networking.k8s.io"],
            &["networkpolicies", "ingresses", "ingresses/status"],
        ),
    ]
}

/// `NodeRules()`: what a node may do at all; the Node authorizer narrows the object reads and
/// NodeRestriction the writes.
pub fn node_rules() -> Vec<Rule> {
    vec![
        r(&["create"], &["authentication.k8s.io"], &["tokenreviews"]),
        r(
            &["create"],
            &["authorization.k8s.io"],
            &["subjectaccessreviews", "localsubjectaccessreviews"],
        ),
        r(READ, &[""], &["services"]),
        r(&["create", "get", "list", "watch"], &[""], &["nodes"]),
        r(&["update", "patch"], &[""], &["nodes/status"]),
        r(&["update", "patch"], &[""], &["nodes"]),
        r(
            &["create", "update", "patch"],
            &["", "events.k8s.io"],
            &["events"],
        ),
        r(READ, &[""], &["pods"]),
        r(&["create", "delete"], &[""], &["pods"]),
        r(&["update", "patch"], &[""], &["pods/status"]),
        r(&["create"], &[""], &["pods/eviction"]),
        r(READ, &[""], &["secrets", "configmaps"]),
        r(
            &["get"],
            &[""],
            &["persistentvolumeclaims", "persistentvolumes"],
        ),
        r(&["get"], &[""], &["endpoints"]),
        r(
            &["create", "get", "list", "watch"],
            &["certificates.k8s.io"],
            &["certificatesigningrequests"],
        ),
        r(
            &["get", "create", "update", "patch", "delete"],
            &["coordination.k8s.io"],
            &["leases"],
        ),
        r(&["get"], &["storage.k8s.io"], &["volumeattachments"]),
        r(
            &["update", "patch"],
            &[""],
            &["persistentvolumeclaims/status"],
        ),
        r(&["create"], &[""], &["serviceaccounts/token"]),
        r(READ, &["storage.k8s.io"], &["csidrivers"]),
        r(
            &["get", "create", "update", "patch", "delete"],
            &["storage.k8s.io"],
            &["csinodes"],
        ),
        r(READ, &["node.k8s.io"], &["runtimeclasses"]),
    ]
}

fn scheduler_rules() -> Vec<Rule> {
    vec![
        events_rule(),
        r(&["create"], &["coordination.k8s.io"], &["leases"]),
        r(&["get", "update"], &["coordination.k8s.io"], &["leases"]).named(&["kube-scheduler"]),
        r(READ, &[""], &["nodes"]),
        r(&["get", "list", "watch", "delete"], &[""], &["pods"]),
        r(&["create"], &[""], &["pods/binding", "bindings"]),
        r(&["patch", "update"], &[""], &["pods/status"]),
        r(READ, &[""], &["services", "replicationcontrollers"]),
        r(READ, &["apps", "extensions"], &["replicasets"]),
        r(READ, &["apps"], &["statefulsets"]),
        r(READ, &["policy"], &["poddisruptionbudgets"]),
        r(
            READ,
            &[""],
            &["persistentvolumeclaims", "persistentvolumes"],
        ),
        r(&["create"], &["authentication.k8s.io"], &["tokenreviews"]),
        r(
            &["create"],
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
        ),
        r(READ, &["storage.k8s.io"], &["csinodes"]),
        r(READ, &[""], &["namespaces"]),
        r(READ, &["storage.k8s.io"], &["csidrivers"]),
        r(READ, &["storage.k8s.io"], &["csistoragecapacities"]),
    ]
}

fn binding(name: &str, subjects: &[(&str, &str)]) -> Value {
    let subjects: Vec<Value> = subjects
        .iter()
        .map(|(kind, who)| match *kind {
            "ServiceAccount" => {
                let (ns, n) = who.split_once('/').unwrap_or(("default", who));
                json!({"kind": kind, "name": n, "namespace": ns})
            }
            _ => json!({"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": who}),
        })
        .collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                     "annotations": {AUTOUPDATE: "true"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": subjects,
    })
}

/// The bootstrap ClusterRoleBindings.
pub fn cluster_role_bindings() -> Vec<Value> {
    vec![
        binding("cluster-admin", &[("Group", "system:masters")]),
        binding("system:monitoring", &[("Group", "system:monitoring")]),
        binding("system:discovery", &[("Group", "system:authenticated")]),
        binding("system:basic-user", &[("Group", "system:authenticated")]),
        binding(
            "system:public-info-viewer",
            &[
                ("Group", "system:authenticated"),
                ("Group", "system:unauthenticated"),
            ],
        ),
        binding("system:node-proxier", &[("User", "system:kube-proxy")]),
        binding(
            "system:kube-controller-manager",
            &[("User", "system:kube-controller-manager")],
        ),
        binding(
            "system:kube-dns",
            &[("ServiceAccount", "kube-system/kube-dns")],
        ),
        binding(
            "system:kube-scheduler",
            &[("User", "system:kube-scheduler")],
        ),
        // Nodes are authorized by the Node authorizer; the binding has no subjects.
        binding("system:node", &[]),
        binding(
            "system:service-account-issuer-discovery",
            &[("Group", "system:serviceaccounts")],
        ),
    ]
}

/// What reconciliation changes in `existing` to hold `wanted`: `None` when nothing is missing
/// or the object is not to be updated. Rules, subjects, labels, annotations and aggregation
/// selectors are added, never removed (upstream's non-removing reconciliation).
pub fn reconcile(existing: &Value, wanted: &Value) -> Option<Value> {
    if existing.pointer(&format!(
        "/metadata/annotations/{}",
        AUTOUPDATE.replace('/', "~1")
    )) == Some(&json!("false"))
    {
        return None;
    }
    let mut out = existing.clone();
    for map in ["labels", "annotations"] {
        for (k, v) in wanted["metadata"][map].as_object().into_iter().flatten() {
            if out["metadata"][map].get(k).is_none() {
                if !out["metadata"][map].is_object() {
                    out["metadata"][map] = json!({});
                }
                out["metadata"][map][k] = v.clone();
            }
        }
    }
    let aggregated = wanted.get("aggregationRule").is_some();
    if aggregated {
        if out.get("aggregationRule") != wanted.get("aggregationRule") {
            out["aggregationRule"] = wanted["aggregationRule"].clone();
        }
    } else {
        for list in ["rules", "subjects"] {
            for item in wanted[list].as_array().into_iter().flatten() {
                let have = out[list].as_array().is_some_and(|a| a.contains(item));
                if !have {
                    if !out[list].is_array() {
                        out[list] = json!([]);
                    }
                    out[list].as_array_mut().expect("array").push(item.clone());
                }
            }
        }
    }
    (out != *existing).then_some(out)
}

/// Creates the bootstrap ClusterRoles and ClusterRoleBindings, or reconciles them.
pub async fn ensure(server: &crate::ApiServer) -> anyhow::Result<()> {
    use crate::meta::Query;
    use crate::router::Target;
    let roles = ordo_api::resources::find("rbac.authorization.k8s.io", "v1", "clusterroles")
        .expect("clusterroles are served");
    let bindings =
        ordo_api::resources::find("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
            .expect("clusterrolebindings are served");
    let wanted = cluster_roles()
        .into_iter()
        .map(|v| (roles, v))
        .chain(cluster_role_bindings().into_iter().map(|v| (bindings, v)));
    for (info, obj) in wanted {
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        let t = Target {
            info,
            ns: None,
            name: None,
            sub: None,
        };
        match server.read(info, None, &name).await {
            Ok((existing, rev)) => {
                if let Some(updated) = reconcile(&existing, &obj) {
                    let t = Target {
                        name: Some(name.clone()),
                        ..t
                    };
                    server
                        .write_update(&t, &existing, rev, updated, &Query::default())
                        .await
                        .map_err(|e| anyhow::anyhow!("reconciling {} {name}: {e}", info.kind))?;
                    tracing::info!(kind = info.kind, %name, "reconciled bootstrap RBAC object");
                }
            }
            Err(e) if e.code == 404 => match server.create(&t, obj, &Query::default()).await {
                Ok(_) => {}
                Err(e) if e.code == 409 => {}
                Err(e) => anyhow::bail!("creating {} {name}: {e}", info.kind),
            },
            Err(e) => anyhow::bail!("reading {} {name}: {e}", info.kind),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_roles_are_upstreams() {
        let roles = cluster_roles();
        let find = |n: &str| roles.iter().find(|r| r["metadata"]["name"] == n).unwrap();
        assert_eq!(
            find("view")["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"],
            "true"
        );
        assert_eq!(
            find("admin")["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"]
                ["rbac.authorization.k8s.io/aggregate-to-admin"],
            "true"
        );
        let basic = Rule::parse_all(find("system:basic-user").get("rules"));
        assert!(basic
            .iter()
            .any(|r| r.resources.contains(&"selfsubjectrulesreviews".to_string())));
        for r in &roles {
            assert_eq!(r["metadata"]["annotations"][AUTOUPDATE], "true");
            let causes = ordo_api::validation::validate_create("ClusterRole", r);
            assert!(causes.is_empty(), "{}: {causes:?}", r["metadata"]["name"]);
        }
        for b in cluster_role_bindings() {
            assert!(roles
                .iter()
                .any(|r| r["metadata"]["name"] == b["roleRef"]["name"]));
        }
    }

    #[test]
    fn reconciliation_adds_and_respects_autoupdate() {
        let wanted = binding("system:basic-user", &[("Group", "system:authenticated")]);
        let mut existing = wanted.clone();
        existing["subjects"] =
            json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "x"}]);
        let fixed = reconcile(&existing, &wanted).unwrap();
        assert_eq!(fixed["subjects"].as_array().unwrap().len(), 2);
        assert!(reconcile(&fixed, &wanted).is_none());
        existing["metadata"]["annotations"][AUTOUPDATE] = json!("false");
        assert!(reconcile(&existing, &wanted).is_none());
    }
}
