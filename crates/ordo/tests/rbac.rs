//! End-to-end authorization with the real kubectl: the bootstrap roles (`kubectl auth can-i`,
//! `--list`, `--as`/`--as-group` impersonation), a user that starts with no rights and gains
//! exactly a RoleBinding's, upstream's 403 texts, `kubectl create role|rolebinding|clusterrole|
//! clusterrolebinding` (protobuf bodies), escalation prevention, ClusterRole aggregation into
//! `view`, the Node authorizer and NodeRestriction for an impersonated node, and anonymous
//! requests.

mod common;
use common::{table, Server};
use std::process::Output;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `kubectl auth can-i ARGS` as printed (`yes`/`no`).
fn can_i(s: &Server, args: &[&str]) -> String {
    let mut all = vec!["auth", "can-i"];
    all.extend_from_slice(args);
    stdout(&s.kubectl(&all)).trim().to_string()
}

#[test]
fn a_user_starts_with_nothing_and_gains_exactly_a_role_binding() {
    let s = Server::start_with(&["--api-only"]);
    assert_eq!(can_i(&s, &["create", "pods"]), "yes");
    assert_eq!(can_i(&s, &["*", "*"]), "yes");
    assert_eq!(can_i(&s, &["get", "pods", "--as=bob"]), "no");
    // system:basic-user: every authenticated user may review itself.
    assert_eq!(
        can_i(&s, &["create", "selfsubjectaccessreviews", "--as=bob"]),
        "yes"
    );
    let err = s.fails(&["get", "pods", "--as=bob"]);
    assert_eq!(
        err,
        "Error from server (Forbidden): pods is forbidden: User \"bob\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"\n"
    );
    let err = s.fails(&["get", "nodes", "n1", "--as=bob", "--as-group=devs"]);
    assert_eq!(
        err,
        "Error from server (Forbidden): nodes \"n1\" is forbidden: User \"bob\" cannot get resource \"nodes\" in API group \"\" at the cluster scope\n"
    );

    assert_eq!(
        s.ok(&[
            "create",
            "rolebinding",
            "bob-view",
            "--clusterrole=pod-reader",
            "--user=bob"
        ]),
        "rolebinding.rbac.authorization.k8s.io/bob-view created\n"
    );
    // The ClusterRole does not exist yet: the binding grants nothing.
    assert_eq!(can_i(&s, &["list", "pods", "--as=bob"]), "no");
    assert_eq!(
        s.ok(&[
            "create",
            "clusterrole",
            "pod-reader",
            "--verb=get,list,watch",
            "--resource=pods"
        ]),
        "clusterrole.rbac.authorization.k8s.io/pod-reader created\n"
    );
    assert_eq!(can_i(&s, &["list", "pods", "--as=bob"]), "yes");
    assert_eq!(can_i(&s, &["delete", "pods", "--as=bob"]), "no");
    assert_eq!(
        can_i(&s, &["list", "pods", "-n", "kube-system", "--as=bob"]),
        "no"
    );
    assert_eq!(can_i(&s, &["list", "services", "--as=bob"]), "no");
    let out = s.kubectl(&["get", "pods", "--as=bob"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "No resources found in default namespace.\n");

    // --list: what the bootstrap roles and the binding give bob in default.
    let list = s.ok(&["auth", "can-i", "--list", "--as=bob"]);
    let rows = table(&list);
    assert_eq!(
        rows[0],
        [
            "Resources",
            "Non-Resource",
            "URLs",
            "Resource",
            "Names",
            "Verbs"
        ]
    );
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("no row {name} in\n{list}"))
            .join(" ")
    };
    assert_eq!(row("pods"), "pods [] [] [get list watch]");
    assert_eq!(
        row("selfsubjectaccessreviews.authorization.k8s.io"),
        "selfsubjectaccessreviews.authorization.k8s.io [] [] [create]"
    );
    assert!(list.contains("[/healthz]"), "{list}");

    // Printers.
    let rb = table(&s.ok(&["get", "rolebinding", "bob-view", "-o", "wide"]));
    assert_eq!(
        rb[0],
        ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    );
    assert_eq!(rb[1][0], "bob-view");
    assert_eq!(rb[1][1], "ClusterRole/pod-reader");
    assert_eq!(rb[1][3], "bob");
    let cr = table(&s.ok(&["get", "clusterrole", "pod-reader"]));
    assert_eq!(cr[0], ["NAME", "CREATED", "AT"]);

    // Deleting the binding takes the rights away again.
    s.ok(&["delete", "rolebinding", "bob-view"]);
    assert_eq!(can_i(&s, &["list", "pods", "--as=bob"]), "no");
}

#[test]
fn create_commands_and_escalation_prevention() {
    let s = Server::start_with(&["--api-only"]);
    assert_eq!(
        s.ok(&[
            "create",
            "role",
            "rbac-writer",
            "--verb=create,get,list",
            "--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io"
        ]),
        "role.rbac.authorization.k8s.io/rbac-writer created\n"
    );
    assert_eq!(
        s.ok(&[
            "create",
            "role",
            "pod-reader",
            "--verb=get,list",
            "--resource=pods"
        ]),
        "role.rbac.authorization.k8s.io/pod-reader created\n"
    );
    s.ok(&[
        "create",
        "rolebinding",
        "bob-writer",
        "--role=rbac-writer",
        "--user=bob",
    ]);
    s.ok(&[
        "create",
        "rolebinding",
        "bob-reader",
        "--role=pod-reader",
        "--user=bob",
    ]);
    // Rules bob holds may be granted; others may not.
    assert_eq!(
        s.ok(&[
            "create",
            "role",
            "subset",
            "--verb=get",
            "--resource=pods",
            "--as=bob"
        ]),
        "role.rbac.authorization.k8s.io/subset created\n"
    );
    let err = s.fails(&[
        "create",
        "role",
        "sneaky",
        "--verb=get,delete,update",
        "--resource=pods,secrets",
        "--as=bob",
    ]);
    assert_eq!(
        err,
        "Error from server (Forbidden): roles.rbac.authorization.k8s.io \"sneaky\" is forbidden: user \"bob\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n\
         {APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\" \"update\"]}\n\
         {APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"delete\" \"update\"]}\n"
    );
    // Binding a role whose rules bob holds works; cluster-admin does not.
    assert_eq!(
        s.ok(&[
            "create",
            "rolebinding",
            "amy-reader",
            "--role=pod-reader",
            "--user=amy",
            "--as=bob"
        ]),
        "rolebinding.rbac.authorization.k8s.io/amy-reader created\n"
    );
    assert_eq!(can_i(&s, &["list", "pods", "--as=amy"]), "yes");
    let err = s.fails(&[
        "create",
        "rolebinding",
        "amy-admin",
        "--clusterrole=cluster-admin",
        "--user=amy",
        "--as=bob",
    ]);
    assert!(
        err.starts_with("error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io \"amy-admin\" is forbidden: user \"bob\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}"),
        "{err}"
    );
    // `bind` on the role lifts the restriction.
    s.ok(&[
        "create",
        "clusterrole",
        "binder",
        "--verb=bind",
        "--resource=clusterroles.rbac.authorization.k8s.io",
        "--resource-name=cluster-admin",
    ]);
    s.ok(&[
        "create",
        "rolebinding",
        "bob-binder",
        "--clusterrole=binder",
        "--user=bob",
    ]);
    assert_eq!(
        s.ok(&[
            "create",
            "rolebinding",
            "amy-admin",
            "--clusterrole=cluster-admin",
            "--user=amy",
            "--as=bob"
        ]),
        "rolebinding.rbac.authorization.k8s.io/amy-admin created\n"
    );
    assert_eq!(can_i(&s, &["delete", "secrets", "--as=amy"]), "yes");
    assert_eq!(
        can_i(&s, &["delete", "secrets", "-n", "kube-system", "--as=amy"]),
        "no"
    );

    // ClusterRoleBindings, a group subject, and what validation refuses.
    s.ok(&[
        "create",
        "clusterrole",
        "node-reader",
        "--verb=get,list",
        "--resource=nodes",
    ]);
    assert_eq!(
        s.ok(&[
            "create",
            "clusterrolebinding",
            "ops-nodes",
            "--clusterrole=node-reader",
            "--group=ops"
        ]),
        "clusterrolebinding.rbac.authorization.k8s.io/ops-nodes created\n"
    );
    assert_eq!(
        can_i(&s, &["list", "nodes", "--as=carl", "--as-group=ops"]),
        "yes"
    );
    assert_eq!(can_i(&s, &["list", "nodes", "--as=carl"]), "no");
    let out = s.kubectl_stdin(
        &["apply", "-f", "-"],
        Some("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: bad\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: x\nsubjects:\n- kind: ServiceAccount\n  name: app\n"),
    );
    let err = stderr(&out);
    assert!(
        err.contains(
            "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\""
        ) && err.contains("subjects[0].namespace: Required value"),
        "{err}"
    );
}

#[test]
fn bootstrap_roles_and_anonymous_requests() {
    let s = Server::start_with(&["--api-only"]);
    let roles = s.ok(&["get", "clusterroles", "-o", "name"]);
    for r in [
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:basic-user",
        "system:discovery",
        "system:public-info-viewer",
        "system:node",
        "system:kube-scheduler",
        "system:kube-controller-manager",
        "system:node-proxier",
        "system:aggregate-to-view",
    ] {
        assert!(
            roles.contains(&format!("clusterrole.rbac.authorization.k8s.io/{r}\n")),
            "{r} missing:\n{roles}"
        );
    }
    let autoupdate = s.ok(&["get", "clusterrole", "view", "-o", "jsonpath={.metadata.annotations.rbac\\.authorization\\.kubernetes\\.io/autoupdate} {.aggregationRule.clusterRoleSelectors[0].matchLabels}"]);
    assert_eq!(
        autoupdate,
        "true {\"rbac.authorization.k8s.io/aggregate-to-view\":\"true\"}"
    );
    // Anonymous: public info only.
    let url = format!("https://127.0.0.1:{}", s.port);
    let curl = |path: &str| {
        let o = std::process::Command::new("curl")
            .args(["-sk", "-w", " %{http_code}", &format!("{url}{path}")])
            .output()
            .expect("curl");
        stdout(&o)
    };
    assert_eq!(curl("/healthz"), "ok 200");
    let api = curl("/api");
    assert!(
        api.contains(
            "\"message\":\"forbidden: User \\\"system:anonymous\\\" cannot get path \\\"/api\\\"\""
        ) && api.ends_with(" 403"),
        "{api}"
    );
    let pods = curl("/api/v1/namespaces/default/pods");
    assert!(
        pods.contains("pods is forbidden: User \\\"system:anonymous\\\" cannot list resource \\\"pods\\\" in API group \\\"\\\" in the namespace \\\"default\\\""),
        "{pods}"
    );
    // Anonymous users may not even review themselves (system:basic-user is for the
    // authenticated), as upstream.
    assert_eq!(
        s.fails(&["auth", "can-i", "get", "/healthz", "--as=system:anonymous"]),
        "Error from server (Forbidden): selfsubjectaccessreviews.authorization.k8s.io is forbidden: User \"system:anonymous\" cannot create resource \"selfsubjectaccessreviews\" in API group \"authorization.k8s.io\" at the cluster scope\n"
    );
    assert_eq!(can_i(&s, &["get", "/apis", "--as=bob"]), "yes");
    // Impersonation is itself authorized.
    assert_eq!(can_i(&s, &["impersonate", "users", "--as=bob"]), "no");
    assert_eq!(can_i(&s, &["impersonate", "users"]), "yes");
}

#[test]
fn clusterroles_labelled_for_view_are_aggregated() {
    let s = Server::start();
    s.ok(&[
        "create",
        "rolebinding",
        "viewer",
        "--clusterrole=view",
        "--user=vic",
    ]);
    s.eventually(30, "view aggregated", || {
        can_i(&s, &["list", "statefulsets.apps", "--as=vic"]) == "yes"
    });
    assert_eq!(
        can_i(&s, &["get", "leases.coordination.k8s.io", "--as=vic"]),
        "no"
    );
    assert_eq!(can_i(&s, &["get", "secrets", "--as=vic"]), "no");
    s.ok(&[
        "create",
        "clusterrole",
        "lease-reader",
        "--verb=get,list",
        "--resource=leases.coordination.k8s.io",
    ]);
    s.ok(&[
        "label",
        "clusterrole",
        "lease-reader",
        "rbac.authorization.k8s.io/aggregate-to-view=true",
    ]);
    s.eventually(30, "lease-reader aggregated into view", || {
        can_i(&s, &["get", "leases.coordination.k8s.io", "--as=vic"]) == "yes"
    });
    // view is aggregated into edit, edit into admin.
    s.ok(&[
        "create",
        "rolebinding",
        "admins",
        "--clusterrole=admin",
        "--user=ada",
    ]);
    s.eventually(30, "admin holds view's rules", || {
        can_i(&s, &["list", "leases.coordination.k8s.io", "--as=ada"]) == "yes"
    });
    assert_eq!(can_i(&s, &["create", "rolebindings", "--as=ada"]), "yes");
    assert_eq!(can_i(&s, &["delete", "secrets", "--as=ada"]), "yes");
}

/// `args` as the node `n1` (impersonated).
fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend_from_slice(&["--as=system:node:n1", "--as-group=system:nodes"]);
    v
}

/// A merge patch of `pod`'s status as node `n1` (the admin token with impersonation headers):
/// the response body and code.
fn patch_status_as_n1(s: &Server, pod: &str) -> String {
    let o = std::process::Command::new("curl")
        .args([
            "-sk",
            "-w",
            " %{http_code}",
            "-X",
            "PATCH",
            "-H",
            &format!("Authorization: Bearer {}", s.token()),
            "-H",
            "Impersonate-User: system:node:n1",
            "-H",
            "Impersonate-Group: system:nodes",
            "-H",
            "Content-Type: application/merge-patch+json",
            "-d",
            "{\"status\":{\"message\":\"hi\"}}",
            &format!(
                "https://127.0.0.1:{}/api/v1/namespaces/default/pods/{pod}/status",
                s.port
            ),
        ])
        .output()
        .expect("curl");
    let out = stdout(&o);
    match out.rsplit_once(' ') {
        Some((_, "200")) => "200".into(),
        _ => out,
    }
}

#[test]
fn a_node_reaches_only_its_own_pods_and_their_objects() {
    let s = Server::start_with(&["--api-only"]);
    s.apply(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mine\nstringData:\n  k: v\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: other\nstringData:\n  k: v\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\nspec:\n  nodeName: n1\n  containers:\n  - name: c\n    image: busybox:1.28\n  volumes:\n  - name: s\n    secret:\n      secretName: mine\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: p2\nspec:\n  nodeName: n2\n  containers:\n  - name: c\n    image: busybox:1.28\n  volumes:\n  - name: s\n    secret:\n      secretName: other\n",
    );
    s.ok(&with(&["get", "secret", "mine"]));
    assert_eq!(
        s.fails(&with(&["get", "secret", "other"])),
        "Error from server (Forbidden): secrets \"other\" is forbidden: User \"system:node:n1\" cannot get resource \"secrets\" in API group \"\" in the namespace \"default\": no relationship found between node 'n1' and this object\n"
    );
    assert_eq!(
        can_i(&s, &with(&["get", "secrets/other"])),
        "no - no relationship found between node 'n1' and this object"
    );
    // Pods: read any, change the status of its own only, delete its own only.
    s.ok(&with(&["get", "pod", "p2"]));
    // The kubelet patches pod status without reading pods/status first (kubectl would).
    assert_eq!(patch_status_as_n1(&s, "p1"), "200");
    let denied = patch_status_as_n1(&s, "p2");
    assert!(
        denied.contains("\"message\":\"pods \\\"p2\\\" is forbidden: node \\\"n1\\\" can only update pod status for pods with spec.nodeName set to itself\"")
            && denied.ends_with("403"),
        "{denied}"
    );
    assert_eq!(
        s.fails(&with(&["label", "pod", "p1", "x=y"])),
        "Error from server (Forbidden): pods \"p1\" is forbidden: User \"system:node:n1\" cannot patch resource \"pods\" in API group \"\" in the namespace \"default\"\n"
    );
    assert_eq!(
        s.fails(&with(&["delete", "pod", "p2"])),
        "Error from server (Forbidden): pods \"p2\" is forbidden: node \"n1\" can only delete pods with spec.nodeName set to itself\n"
    );
    // Its own Node and Lease only.
    assert_eq!(
        can_i(
            &s,
            &with(&[
                "update",
                "leases.coordination.k8s.io/n1",
                "-n",
                "kube-node-lease"
            ])
        ),
        "yes"
    );
    assert_eq!(
        can_i(
            &s,
            &with(&[
                "update",
                "leases.coordination.k8s.io/n2",
                "-n",
                "kube-node-lease"
            ])
        ),
        "no - can only access node lease with the same name as the requesting node"
    );
    s.apply("apiVersion: v1\nkind: Node\nmetadata:\n  name: n2\n");
    assert_eq!(
        s.fails(&with(&["label", "node", "n2", "x=y"])),
        "Error from server (Forbidden): nodes \"n2\" is forbidden: node \"n1\" is not allowed to modify node \"n2\"\n"
    );
}
