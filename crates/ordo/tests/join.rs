//! End-to-end: a second machine joins with the join command `ordo server` prints (its
//! bootstrap token and CA pin), exchanges the token for its own node credential through a
//! CertificateSigningRequest that the cluster approves and signs, and runs pods as
//! `system:node:NAME`, confined by the Node authorizer. Also the user-certificate flow of the
//! upstream documentation: a request approved with `kubectl certificate approve`.
//! Simulated runtime, real kubectl.

mod common;
use common::*;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn agent_command(args: &[String], name: &str, data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordo"));
    cmd.arg("agent")
        .args(args)
        .args(["--runtime", "sim", "--sim-start-delay-ms", "200"])
        .args(["--node-name", name, "--node-ip", "127.0.0.3"])
        .arg("--data-dir")
        .arg(data);
    cmd
}

fn spawn_agent(args: &[String], name: &str, data: &Path, log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    agent_command(args, name, data)
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .unwrap()
}

/// Runs an agent that is expected to give up: its output.
fn failing_agent(args: &[String], data: &Path) -> Output {
    let mut child = agent_command(args, "node-x", data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the agent did not give up");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

fn with_flag(args: &[String], flag: &str, value: &str) -> Vec<String> {
    let mut out = args.to_vec();
    let i = out.iter().position(|a| a == flag).unwrap();
    out[i + 1] = value.to_string();
    out
}

/// kubectl with another kubeconfig.
fn kubectl_as(s: &Server, kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new("/usr/bin/kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(s.dir.path().join("other-cache"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_machine_joins_with_the_printed_command_and_gets_its_own_identity() {
    let s = Server::start_with(&["--sim-start-delay-ms", "200"]);
    let args = s.join_command();
    assert_eq!(
        args.iter()
            .step_by(2)
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["--server", "--join-token", "--ca-cert-hash"],
        "{args:?}"
    );
    let token = args[3].clone();
    let token_id = token.split('.').next().unwrap().to_string();
    let data = tempfile::tempdir().unwrap();
    let log = s.dir.path().join("agent.log");
    let mut agent = spawn_agent(&args, "node-2", data.path(), &log);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scenario(&s, &args, &token, &token_id, data.path(), &log, &mut agent)
    }));
    let _ = agent.kill();
    let _ = agent.wait();
    if let Err(p) = result {
        eprintln!(
            "agent log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::panic::resume_unwind(p);
    }
}

fn scenario(
    s: &Server,
    args: &[String],
    token: &str,
    token_id: &str,
    data: &Path,
    log: &Path,
    agent: &mut Child,
) {
    s.eventually(60, "node-2 Ready", || {
        s.kubectl(&[
            "get",
            "node",
            "node-2",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ])
        .stdout
            == b"True"
    });
    // One request, sent with the token, approved and signed by the cluster.
    let csrs = table(&s.ok(&["get", "csr"]));
    assert_eq!(csrs.len(), 2, "{csrs:?}");
    assert_eq!(
        csrs[0],
        [
            "NAME",
            "AGE",
            "SIGNERNAME",
            "REQUESTOR",
            "REQUESTEDDURATION",
            "CONDITION"
        ]
    );
    assert!(csrs[1][0].starts_with("node-csr-"), "{csrs:?}");
    assert_eq!(
        csrs[1][2..],
        [
            "kubernetes.io/kube-apiserver-client-kubelet".to_string(),
            format!("system:bootstrap:{token_id}"),
            "<none>".to_string(),
            "Approved,Issued".to_string()
        ]
    );
    let reason = s.ok(&[
        "get",
        "csr",
        &csrs[1][0],
        "-o",
        "jsonpath={.status.conditions[0].reason} {.spec.groups}",
    ]);
    assert_eq!(
        reason,
        "AutoApproved [\"system:bootstrappers\",\"system:bootstrappers:ordo:default-node-token\",\"system:authenticated\"]"
    );
    // The node's credential is its own.
    let node_kc = data.join("pki/node.kubeconfig");
    let whoami = kubectl_as(
        s,
        &node_kc,
        &[
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username} {.status.userInfo.groups}",
        ],
    );
    assert_eq!(
        text(&whoami),
        "system:node:node-2 [\"system:nodes\",\"system:authenticated\"]"
    );
    // ... and confined: no Secrets it has no pod for, no other Node.
    let secrets = kubectl_as(
        s,
        &node_kc,
        &["get", "secret", "bootstrap-token-x", "-n", "kube-system"],
    );
    assert!(
        text(&secrets).contains("Error from server (Forbidden): secrets \"bootstrap-token-x\" is forbidden: User \"system:node:node-2\" cannot get resource \"secrets\" in API group \"\" in the namespace \"kube-system\": no relationship found between node 'node-2' and this object"),
        "{}",
        text(&secrets)
    );
    let server_node = s.ok(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[?(@.metadata.name!=\"node-2\")].metadata.name}",
    ]);
    let label = kubectl_as(s, &node_kc, &["label", "node", server_node.trim(), "x=y"]);
    assert!(
        text(&label).contains(&format!(
            "node \"node-2\" is not allowed to modify node \"{}\"",
            server_node.trim()
        )),
        "{}",
        text(&label)
    );
    // The token itself only joins.
    let as_token = s.kubectl(&["--token", token, "get", "pods"]);
    assert!(
        text(&as_token).contains(&format!(
            "User \"system:bootstrap:{token_id}\" cannot list resource \"pods\""
        )),
        "{}",
        text(&as_token)
    );
    // A pod on the joined node runs: the agent watches, reports status and records events
    // with its node identity.
    s.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: on-node-2}\nspec:\n  nodeSelector: {kubernetes.io/hostname: node-2}\n  containers: [{name: c, image: nginx:1.25.4}]\n",
    );
    s.eventually(30, "on-node-2 Running", || {
        s.kubectl(&["get", "pod", "on-node-2", "-o", "jsonpath={.status.phase}"])
            .stdout
            == b"Running"
    });
    // The API server reaches the node's endpoint; the node reviews the API server's token
    // (a simulated container has no log, which is what it answers).
    let logs = s.kubectl(&["logs", "on-node-2"]);
    assert!(!text(&logs).contains("Unauthorized"), "{}", text(&logs));
    // A restart keeps the credential: no second request.
    let _ = agent.kill();
    let _ = agent.wait();
    *agent = spawn_agent(args, "node-2", data, log);
    s.eventually(
        30,
        "the restarted agent says it reuses its credential",
        || {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .contains("node.kubeconfig")
        },
    );
    s.ok(&["delete", "pod", "on-node-2", "--wait=true", "--timeout=30s"]);
    assert_eq!(table(&s.ok(&["get", "csr"])).len(), 2);
    // Wrong tokens and wrong pins are refused with a reason.
    let other = tempfile::tempdir().unwrap();
    let bad_token = failing_agent(
        &with_flag(args, "--join-token", "abcdef.0000000000000000"),
        other.path(),
    );
    assert!(!bad_token.status.success());
    assert!(
        text(&bad_token).contains("sending the certificate request")
            && text(&bad_token).contains("Unauthorized"),
        "{}",
        text(&bad_token)
    );
    let bad_pin = failing_agent(
        &with_flag(
            args,
            "--ca-cert-hash",
            &format!("sha256:{}", "0".repeat(64)),
        ),
        other.path(),
    );
    assert!(
        text(&bad_pin).contains("refusing to join"),
        "{}",
        text(&bad_pin)
    );
    assert!(!other.path().join("pki/node.kubeconfig").exists());
}

#[test]
fn a_user_certificate_approved_with_kubectl() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("jane.key");
    let csr = dir.path().join("jane.csr");
    let out = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=jane/O=devs",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    use base64::Engine;
    let request = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&csr).unwrap());
    let manifest = format!(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {{name: jane}}\nspec:\n  request: {request}\n  signerName: kubernetes.io/kube-apiserver-client\n  expirationSeconds: 86400\n  usages: [client auth]\n"
    );
    assert_eq!(
        s.apply(&manifest),
        "certificatesigningrequest.certificates.k8s.io/jane created\n"
    );
    let row = &table(&s.ok(&["get", "csr", "jane"]))[1];
    assert_eq!(
        row[2..],
        [
            "kubernetes.io/kube-apiserver-client",
            "kubernetes-admin",
            "24h",
            "Pending"
        ]
    );
    assert_eq!(
        s.ok(&["certificate", "approve", "jane"]),
        "certificatesigningrequest.certificates.k8s.io/jane approved\n"
    );
    s.eventually(10, "jane's certificate issued", || {
        !s.ok(&["get", "csr", "jane", "-o", "jsonpath={.status.certificate}"])
            .is_empty()
    });
    assert_eq!(
        table(&s.ok(&["get", "csr", "jane"]))[1][5],
        "Approved,Issued"
    );
    let cert = s.ok(&["get", "csr", "jane", "-o", "jsonpath={.status.certificate}"]);
    let cert = base64::engine::general_purpose::STANDARD
        .decode(cert.trim())
        .unwrap();
    let cert_path = dir.path().join("jane.crt");
    std::fs::write(&cert_path, cert).unwrap();
    let kc = dir.path().join("jane.kubeconfig");
    let kc_s = kc.to_str().unwrap();
    let server_flag = format!("--server=https://127.0.0.1:{}", s.port);
    let cert_flag = format!("--client-certificate={}", cert_path.display());
    let key_flag = format!("--client-key={}", key.display());
    for args in [
        vec![
            "config",
            "set-cluster",
            "ordo",
            &server_flag,
            "--insecure-skip-tls-verify=true",
        ],
        vec!["config", "set-credentials", "jane", &cert_flag, &key_flag],
        vec![
            "config",
            "set-context",
            "jane",
            "--cluster=ordo",
            "--user=jane",
        ],
        vec!["config", "use-context", "jane"],
    ] {
        let mut full: Vec<&str> = vec!["--kubeconfig", kc_s];
        full.extend(args.iter().copied());
        let o = Command::new("/usr/bin/kubectl")
            .args(&full)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    let whoami = kubectl_as(
        &s,
        &kc,
        &[
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username} {.status.userInfo.groups}",
        ],
    );
    assert_eq!(text(&whoami), "jane [\"devs\",\"system:authenticated\"]");
    // Denied requests get no certificate; approving needs the right to approve for the signer.
    let out = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=mallory/O=system:masters",
            "-keyout",
        ])
        .arg(dir.path().join("m.key"))
        .arg("-out")
        .arg(dir.path().join("m.csr"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let request = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(dir.path().join("m.csr")).unwrap());
    let masters = s.kubectl_stdin(
        &["apply", "-f", "-"],
        Some(&format!("apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {{name: mallory}}\nspec:\n  request: {request}\n  signerName: kubernetes.io/kube-apiserver-client\n  usages: [client auth]\n")),
    );
    assert!(
        text(&masters).contains("use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"),
        "{}",
        text(&masters)
    );
    let manifest2 = manifest.replace("name: jane", "name: jane2");
    s.apply(&manifest2);
    assert_eq!(
        s.ok(&["certificate", "deny", "jane2"]),
        "certificatesigningrequest.certificates.k8s.io/jane2 denied\n"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(table(&s.ok(&["get", "csr", "jane2"]))[1][5], "Denied");
    let by_jane = kubectl_as(&s, &kc, &["certificate", "approve", "jane2"]);
    assert!(text(&by_jane).contains("Forbidden"), "{}", text(&by_jane));
}
