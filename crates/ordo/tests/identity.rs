//! End-to-end: authentication with the real kubectl. `kubectl auth whoami` as the admin, with
//! ServiceAccount tokens from `kubectl create token` (plain, for another audience, bound to a
//! pod) and as a user of `ordo kubeconfig --user`; TokenReview; tokens of deleted
//! ServiceAccounts and pods stop working; legacy token Secrets are filled in; the OIDC
//! discovery documents; pods get the ServiceAccount token volume unless they opt out. With
//! real pods (needs root and runc): a pod reads its mounted token, which TokenReview accepts,
//! and a pod runs the real kubectl with its in-cluster configuration; a running pod reads its
//! projected token again after the node agent rotated it.

mod common;
use common::real_pods::*;
use common::{Server, KUBECTL_1_33};
use serde_json::Value;
use std::path::Path;

/// `kubectl auth whoami` rows as (attribute, value).
fn whoami(s: &Server, extra: &[&str]) -> Vec<(String, String)> {
    let mut args = extra.to_vec();
    args.extend(["auth", "whoami"]);
    let out = s.ok(&args);
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default();
    let col = header.find("VALUE").expect("a VALUE column");
    assert!(header.starts_with("ATTRIBUTE"), "{out}");
    lines
        .map(|l| (l[..col].trim().to_string(), l[col..].trim().to_string()))
        .collect()
}

fn row<'a>(rows: &'a [(String, String)], attr: &str) -> &'a str {
    rows.iter()
        .find(|(a, _)| a == attr)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {attr} in {rows:?}"))
}

fn token(s: &Server, args: &[&str]) -> String {
    let mut a = vec!["create", "token"];
    a.extend(args);
    s.ok(&a).trim().to_string()
}

fn unauthorized(s: &Server, token: &str) {
    let out = s.kubectl(&["--token", token, "auth", "whoami"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Unauthorized"),
        "expected Unauthorized, got: {err}"
    );
}

/// A TokenReview of `token` (for `audiences`, none: the API server's), as the admin.
fn review(s: &Server, token: &str, audiences: &[&str]) -> Value {
    let body = serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": token, "audiences": audiences},
    });
    let out = s.ok_stdin(&["create", "-f", "-", "-o", "json"], &body.to_string());
    serde_json::from_str(&out).unwrap()
}

#[test]
fn whoami_and_service_account_tokens() {
    let s = Server::start_with(&["--api-only"]);
    let admin = whoami(&s, &[]);
    assert_eq!(row(&admin, "Username"), "kubernetes-admin");
    assert_eq!(
        row(&admin, "Groups"),
        "[system:masters system:authenticated]"
    );

    s.ok(&["create", "serviceaccount", "app"]);
    let sa_uid = s.ok(&["get", "sa", "app", "-o", "jsonpath={.metadata.uid}"]);
    let t = token(&s, &["app"]);
    let me = whoami(&s, &["--token", &t]);
    assert_eq!(row(&me, "Username"), "system:serviceaccount:default:app");
    assert_eq!(row(&me, "UID"), sa_uid);
    assert_eq!(
        row(&me, "Groups"),
        "[system:serviceaccounts system:serviceaccounts:default system:authenticated]"
    );
    assert!(row(&me, "Extra: authentication.kubernetes.io/credential-id").starts_with("[JTI="));
    // Authenticated, but (until RBAC) allowed nothing else: upstream's 403.
    let out = s.kubectl(&["--token", &t, "get", "pods"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "pods is forbidden: User \"system:serviceaccount:default:app\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // TokenReview.
    let r = review(&s, &t, &[]);
    assert_eq!(r["status"]["authenticated"], true, "{r}");
    assert_eq!(
        r["status"]["user"]["username"],
        "system:serviceaccount:default:app"
    );
    assert_eq!(
        r["status"]["audiences"],
        serde_json::json!(["https://kubernetes.default.svc.cluster.local"])
    );
    let bad = review(&s, "not-a-token", &[]);
    assert_ne!(bad["status"]["authenticated"], true, "{bad}");

    // Upstream's limits.
    let err = s.fails(&["create", "token", "app", "--duration", "1m"]);
    assert!(
        err.contains("may not specify a duration less than 10 minutes"),
        "{err}"
    );
    let err = s.fails(&["create", "token", "nobody"]);
    assert!(
        err.contains("serviceaccounts \"nobody\" not found"),
        "{err}"
    );

    // A token for another audience is not a credential for the API server.
    let vault = token(&s, &["app", "--audience", "vault", "--duration", "20m"]);
    unauthorized(&s, &vault);
    let r = review(&s, &vault, &["vault"]);
    assert_eq!(r["status"]["authenticated"], true, "{r}");
    assert_eq!(r["status"]["audiences"], serde_json::json!(["vault"]));
    let r = review(&s, &vault, &[]);
    assert_ne!(r["status"]["authenticated"], true, "{r}");
    assert!(
        r["status"]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("token audiences [\"vault\"] is invalid"),
        "{r}"
    );

    // Deleting the ServiceAccount revokes its tokens; a new one of the same name does not
    // bring them back (another uid).
    s.ok(&["delete", "serviceaccount", "app"]);
    unauthorized(&s, &t);
    s.ok(&["create", "serviceaccount", "app"]);
    unauthorized(&s, &t);
    let r = review(&s, &t, &[]);
    assert!(
        r["status"]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("does not match claim"),
        "{r}"
    );
}

#[test]
fn pod_bound_tokens_end_with_their_pod() {
    let s = Server::start();
    s.eventually(30, "the default ServiceAccount", || {
        s.kubectl(&["get", "sa", "default"]).status.success()
    });
    s.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers: [{name: c, image: busybox:1.28}]\n",
    );
    let pod_uid = s.ok(&["get", "pod", "web", "-o", "jsonpath={.metadata.uid}"]);
    let t = token(
        &s,
        &[
            "default",
            "--bound-object-kind",
            "Pod",
            "--bound-object-name",
            "web",
        ],
    );
    let me = whoami(&s, &["--token", &t]);
    assert_eq!(
        row(&me, "Username"),
        "system:serviceaccount:default:default"
    );
    assert_eq!(
        row(&me, "Extra: authentication.kubernetes.io/pod-name"),
        "[web]"
    );
    assert_eq!(
        row(&me, "Extra: authentication.kubernetes.io/pod-uid"),
        format!("[{pod_uid}]")
    );
    let err = s.fails(&[
        "create",
        "token",
        "default",
        "--bound-object-kind",
        "Pod",
        "--bound-object-name",
        "absent",
    ]);
    assert!(err.contains("pods \"absent\" not found"), "{err}");
    s.ok(&["delete", "pod", "web", "--grace-period=0", "--force"]);
    s.eventually(30, "the pod to go", || {
        !s.kubectl(&["get", "pod", "web"]).status.success()
    });
    unauthorized(&s, &t);
}

#[test]
fn users_by_client_certificate() {
    let s = Server::start_with(&["--api-only"]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args([
            "kubeconfig",
            "--user",
            "jane",
            "--group",
            "dev",
            "--group",
            "ops",
        ])
        .arg("--data-dir")
        .arg(s.data_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kc = s.data_dir().join("jane.yaml");
    std::fs::write(&kc, &out.stdout).unwrap();
    let kc = kc.to_str().unwrap();
    let me = whoami(&s, &["--kubeconfig", kc]);
    assert_eq!(row(&me, "Username"), "jane");
    assert_eq!(row(&me, "Groups"), "[dev ops system:authenticated]");
    // (Discovery is not allowed to such a user until RBAC; ask the path itself.)
    let out = s.kubectl(&[
        "--kubeconfig",
        kc,
        "get",
        "--raw",
        "/api/v1/namespaces/default/pods",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "pods is forbidden: User \"jane\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        ),
        "{err}"
    );
    // The admin's kubeconfig still works on the same server.
    assert_eq!(row(&whoami(&s, &[]), "Username"), "kubernetes-admin");
}

#[test]
fn legacy_token_secrets_are_filled_in() {
    let s = Server::start_with(&["--api-only"]);
    s.ok(&["create", "serviceaccount", "build-robot"]);
    s.apply(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: build-robot-secret\n  annotations: {kubernetes.io/service-account.name: build-robot}\ntype: kubernetes.io/service-account-token\n",
    );
    let get = |path: &str| {
        s.ok(&[
            "get",
            "secret",
            "build-robot-secret",
            "-o",
            &format!("jsonpath={{{path}}}"),
        ])
    };
    let b64 = |v: String| {
        use base64::Engine;
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(v).unwrap()).unwrap()
    };
    let t = b64(get(".data.token"));
    assert_eq!(b64(get(".data.namespace")), "default");
    assert!(b64(get(".data.ca\\.crt")).contains("BEGIN CERTIFICATE"));
    assert_eq!(
        get(".metadata.annotations.kubernetes\\.io/service-account\\.uid"),
        s.ok(&["get", "sa", "build-robot", "-o", "jsonpath={.metadata.uid}"])
    );
    let me = whoami(&s, &["--token", &t]);
    assert_eq!(
        row(&me, "Username"),
        "system:serviceaccount:default:build-robot"
    );
    s.ok(&["delete", "secret", "build-robot-secret"]);
    unauthorized(&s, &t);
}

#[test]
fn discovery_and_oidc_documents() {
    let s = Server::start_with(&["--api-only"]);
    let conf: Value =
        serde_json::from_str(&s.ok(&["get", "--raw", "/.well-known/openid-configuration"]))
            .unwrap();
    assert_eq!(
        conf["issuer"],
        "https://kubernetes.default.svc.cluster.local"
    );
    assert_eq!(
        conf["jwks_uri"],
        format!("https://127.0.0.1:{}/openid/v1/jwks", s.port)
    );
    let jwks: Value = serde_json::from_str(&s.ok(&["get", "--raw", "/openid/v1/jwks"])).unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert_eq!(jwks["keys"][0]["use"], "sig");
    let resources = s.ok(&["api-resources", "--api-group", "authentication.k8s.io"]);
    assert!(resources.contains("selfsubjectreviews"), "{resources}");
    assert!(resources.contains("tokenreviews"), "{resources}");
    let core: Value = serde_json::from_str(&s.ok(&["get", "--raw", "/api/v1"])).unwrap();
    let token = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "serviceaccounts/token")
        .expect("serviceaccounts/token");
    assert_eq!(token["kind"], "TokenRequest");
    assert_eq!(token["group"], "authentication.k8s.io");
}

#[test]
fn pods_get_the_token_volume_unless_they_opt_out() {
    let s = Server::start();
    s.eventually(30, "the kube-root-ca.crt ConfigMap", || {
        s.kubectl(&["get", "configmap", "kube-root-ca.crt"])
            .status
            .success()
    });
    let ca = s.ok(&[
        "get",
        "configmap",
        "kube-root-ca.crt",
        "-o",
        "jsonpath={.data.ca\\.crt}",
    ]);
    assert_eq!(
        ca,
        std::fs::read_to_string(s.data_dir().join("pki/ca.crt")).unwrap()
    );
    s.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: busybox:1.28}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  automountServiceAccountToken: false\n  containers: [{name: c, image: busybox:1.28}]\n",
    );
    let vol = s.ok(&[
        "get",
        "pod",
        "a",
        "-o",
        "jsonpath={.spec.volumes[0].name} {.spec.containers[0].volumeMounts[0].mountPath} {.spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds}",
    ]);
    assert!(vol.starts_with("kube-api-access-"), "{vol}");
    assert!(
        vol.ends_with(" /var/run/secrets/kubernetes.io/serviceaccount 3607"),
        "{vol}"
    );
    assert_eq!(
        s.ok(&["get", "pod", "b", "-o", "jsonpath={.spec.volumes}"]),
        ""
    );
}

const TOKEN_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.28
    command:
    - sh
    - -c
    - |
      cd /var/run/secrets/kubernetes.io/serviceaccount
      cat token; echo; cat namespace; echo
      echo host=$KUBERNETES_SERVICE_HOST port=$KUBERNETES_SERVICE_PORT
      grep -c BEGIN ca.crt
      exec sleep 3600
---
apiVersion: v1
kind: Pod
metadata: {name: whoami}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: kubectl
    image: busybox:1.28
    command:
    - sh
    - -c
    - |
      /kubectl auth whoami -o jsonpath={.status.userInfo.username}; echo
      /kubectl get configmaps -o name 2>&1
      /kubectl get secrets 2>&1
      exit 0
    volumeMounts: [{name: kubectl, mountPath: /kubectl, readOnly: true}]
  volumes:
  - name: kubectl
    hostPath: {path: /usr/lib/google-cloud-sdk/bin/kubectl.1.33, type: File}
"#;

fn logs_when(s: &Server, pod: &str, done: impl Fn(&str) -> bool) -> String {
    let mut logs = String::new();
    s.eventually(120, &format!("the logs of {pod}"), || {
        let out = s.kubectl(&["logs", pod]);
        logs = String::from_utf8_lossy(&out.stdout).into_owned();
        done(&logs)
    });
    logs
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn real_pods_use_their_service_account_token() {
    // `/usr/bin/kubectl` is the SDK's dispatcher, which runs the kubectl of the server's
    // version next to it; the pod gets that binary itself.
    assert!(Path::new(KUBECTL_1_33).exists(), "needs {KUBECTL_1_33}");
    busybox_scenario(|s| {
        s.eventually(30, "the default ServiceAccount", || {
            s.kubectl(&["get", "sa", "default"]).status.success()
        });
        // The pods' ServiceAccount may read what `view` grants in its namespace, no more.
        s.ok(&[
            "create",
            "rolebinding",
            "default-view",
            "--clusterrole=view",
            "--serviceaccount=default:default",
        ]);
        s.apply(TOKEN_POD);
        let logs = logs_when(s, "reader", |l| l.lines().count() >= 4);
        let lines: Vec<&str> = logs.lines().collect();
        let token = lines[0];
        assert_eq!(lines[1], "default");
        assert_eq!(lines[2], "host=10.96.0.1 port=443");
        assert_eq!(lines[3], "1");
        // The mounted token is a signed token bound to the pod, which TokenReview accepts.
        let r = review(s, token, &[]);
        assert_eq!(r["status"]["authenticated"], true, "{r}");
        assert_eq!(
            r["status"]["user"]["extra"]["authentication.kubernetes.io/pod-name"],
            serde_json::json!(["reader"])
        );
        assert_eq!(
            r["status"]["user"]["username"],
            "system:serviceaccount:default:default"
        );
        // The real kubectl in a pod, with its in-cluster configuration.
        s.eventually(120, "the whoami pod to finish", || {
            pod_field(s, "whoami", ".status.phase") == "Succeeded"
                || pod_field(s, "whoami", ".status.phase") == "Failed"
        });
        // It can do what its RoleBinding grants and gets upstream's 403 for the rest.
        let out = s.kubectl(&["logs", "whoami"]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "system:serviceaccount:default:default\n\
             configmap/kube-root-ca.crt\n\
             Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:default:default\" cannot list resource \"secrets\" in API group \"\" in the namespace \"default\"\n",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(pod_field(s, "whoami", ".status.phase"), "Succeeded");
        // Once the pod is gone, its token is no longer valid.
        s.ok(&["delete", "pod", "reader", "--wait=true"]);
        let r = review(s, token, &[]);
        assert_ne!(r["status"]["authenticated"], true, "{r}");
    });
}

/// A pod whose process prints its projected token each time the file's content changes.
const ROTATING_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: rotating}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.28
    command:
    - sh
    - -c
    - |
      last=
      while true; do
        cur=$(cat /tokens/vault)
        if [ "$cur" != "$last" ]; then echo "$cur"; last="$cur"; fi
        sleep 1
      done
    volumeMounts: [{name: tokens, mountPath: /tokens, readOnly: true}]
  volumes:
  - name: tokens
    projected:
      sources:
      - serviceAccountToken: {path: vault, audience: vault, expirationSeconds: 600}
"#;

/// The claims of a JWT, unverified.
fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn running_pods_read_their_rotated_projected_token() {
    // The shortest token the API issues lives 10 minutes and the kubelet rotates it after 8;
    // the agent is told to rotate after 2 % of the lifetime (12 s) so the test need not wait.
    // Everything else is as in production: the refresher's 30 s check, the TokenRequest bound
    // to the pod, the atomic writer swapping the volume under the running process.
    busybox_scenario_with(&["--token-refresh-percent", "2"], |s| {
        s.eventually(30, "the default ServiceAccount", || {
            s.kubectl(&["get", "sa", "default"]).status.success()
        });
        s.apply(ROTATING_POD);
        let logs = logs_when(s, "rotating", |l| l.lines().count() >= 2);
        let tokens: Vec<&str> = logs.lines().collect();
        let (first, second) = (tokens[0], tokens[1]);
        assert_ne!(first, second);
        let (c1, c2) = (claims(first), claims(second));
        for c in [&c1, &c2] {
            assert_eq!(c["aud"], serde_json::json!(["vault"]), "{c}");
            assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
            assert_eq!(c["kubernetes.io"]["pod"]["name"], "rotating", "{c}");
        }
        let age = c2["iat"].as_i64().unwrap() - c1["iat"].as_i64().unwrap();
        assert!(
            (12..=60).contains(&age),
            "the second token was issued {age} s after the first"
        );
        // Both are valid for their audience (the old one until it expires, as upstream) and
        // for no other.
        for t in [first, second] {
            let r = review(s, t, &["vault"]);
            assert_eq!(r["status"]["authenticated"], true, "{r}");
            assert_eq!(
                r["status"]["user"]["extra"]["authentication.kubernetes.io/pod-name"],
                serde_json::json!(["rotating"])
            );
            assert_ne!(review(s, t, &[])["status"]["authenticated"], true);
        }
        // The same process read both: the container was never restarted.
        assert_eq!(
            pod_field(s, "rotating", ".status.containerStatuses[0].restartCount"),
            "0"
        );
    });
}
