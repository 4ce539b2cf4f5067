//! End-to-end image pulls: Debian's `docker-registry` on loopback holds the busybox test image;
//! a runc server whose node has imported no image at all runs a pod of
//! `127.0.0.1:PORT/busybox:1.28` to Running through the real kubectl, with the kubelet's
//! `Pulling`/`Pulled` events; `imagePullPolicy` Always pulls again, IfNotPresent does not; a
//! tag the registry lacks shows `ErrImagePull`, then `ImagePullBackOff`, with their events;
//! policy Never on an absent image shows `ErrImageNeverPull`.
//!
//! Pulls with credentials: a registry holding the image requires a password (htpasswd). With
//! pull policy `Always` throughout, so that every pod pulls:
//! - a pod without pull secrets fails with `ErrImagePull`, then `ImagePullBackOff`, the
//!   registry's 401 in its message and events, as containerd words it;
//! - a pod naming a secret that does not exist gets the kubelet's
//!   `FailedToRetrieveImagePullSecret` warning and fails the same way;
//! - a pod with `imagePullSecrets` (a `kubernetes.io/dockerconfigjson` Secret made by
//!   `kubectl create secret docker-registry`) runs;
//! - a pod listing a wrong password first and a legacy `kubernetes.io/dockercfg` Secret second
//!   runs (credentials tried in order);
//! - a pod of a ServiceAccount whose `imagePullSecrets` name the secret gets them (admission)
//!   and runs.
//!
//! Needs root and runc (skipped otherwise), the docker-registry and apache2-utils packages.

mod common;
#[path = "../../ordo-node/tests/support/registry.rs"]
mod support;

use base64::Engine;
use common::real_pods::{
    events_of as events, leftovers, repo, running_ready as running, with_real_pods_importing,
};
use common::Server;
use std::process::Stdio;

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn pods_pull_their_images_from_a_loopback_registry() {
    let Some((data, _lock)) = with_real_pods_importing(&[], &[], scenario) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

/// Deletes the scenario's pods, waits until the node cleaned up, stops the registry.
fn clean_up(s: &Server, pods: &[&str], mut registry: support::LocalRegistry) {
    let mut delete = vec!["delete", "pod", "--grace-period=1", "--wait=true"];
    delete.extend_from_slice(pods);
    s.ok(&delete);
    s.eventually(30, "the node to clean up", || {
        leftovers(s.data_dir()).is_empty()
    });
    registry.stop();
}

fn status_column(s: &Server, pod: &str) -> String {
    common::table(&s.ok(&["get", "pod", pod, "--no-headers"]))[0][2].clone()
}

fn scenario(server: &mut Option<Server>) {
    let s = server.as_ref().unwrap();
    let registry = support::LocalRegistry::start();
    let addr = registry.addr.clone();
    let archive = repo().join("target/test-images/busybox-1.28.tar");
    let digest = registry.push_archive(&archive, "busybox:1.28", "busybox:1.28");
    let image = format!("{addr}/busybox:1.28");
    s.eventually(30, "the node", || {
        s.ok(&["get", "nodes", "-o", "name"]).starts_with("node/")
    });
    assert!(s.ok(&["get", "pods"]).is_empty(), "no pods yet");

    // Not on the node: pulled from the registry, then run.
    let sleep = ["--command", "--", "sleep", "3600"];
    let run = |name: &str, image: &str, extra: &[&str]| {
        let img = format!("--image={image}");
        let mut args = vec!["run", name, img.as_str()];
        args.extend_from_slice(extra);
        s.ok(&args);
    };
    run("pulled", &image, &sleep);
    s.eventually(60, "pod pulled Running 1/1", || running(s, "pulled"));
    let id = s.ok(&[
        "get",
        "pod",
        "pulled",
        "-o",
        "jsonpath={.status.containerStatuses[0].imageID}",
    ]);
    assert_eq!(id, format!("{addr}/busybox@{digest}"));
    let ev = events(s, "pulled");
    assert!(
        ev.contains(&format!("Pulling|Pulling image \"{image}\"\n")),
        "{ev}"
    );
    let pulled = ev
        .lines()
        .find_map(|l| l.strip_prefix("Pulled|"))
        .unwrap_or_else(|| panic!("no Pulled event: {ev}"));
    eprintln!("{pulled}");
    let prefix = format!("Successfully pulled image \"{image}\" in ");
    assert!(pulled.starts_with(&prefix), "{pulled}");
    let size: u64 = pulled
        .split("Image size: ")
        .nth(1)
        .and_then(|r| r.strip_suffix(" bytes."))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{pulled}"));
    assert!(size > 1_000_000, "{pulled}");
    assert!(
        pulled.contains(" including waiting). Image size: "),
        "{pulled}"
    );

    // IfNotPresent (the default for a tag other than latest): no pull.
    run("cached", &image, &sleep);
    // Always: pulled again, the same image.
    let mut always = vec!["--image-pull-policy=Always"];
    always.extend_from_slice(&sleep);
    run("again", &image, &always);
    s.eventually(60, "pods cached and again Running", || {
        running(s, "cached") && running(s, "again")
    });
    let ev = events(s, "cached");
    assert!(
        ev.contains(&format!(
            "Pulled|Container image \"{image}\" already present on machine\n"
        )),
        "{ev}"
    );
    assert!(!ev.contains("Pulling|"), "{ev}");
    let ev = events(s, "again");
    assert!(
        ev.contains(&format!("Pulling|Pulling image \"{image}\"\n")),
        "{ev}"
    );
    assert!(ev.contains(&format!("Pulled|{prefix}")), "{ev}");

    // A tag the registry does not have: ErrImagePull, then ImagePullBackOff, in STATUS as a
    // watch started before the pod sees it.
    let missing = format!("{addr}/busybox:9.9");
    let watch_out = tempfile::NamedTempFile::new().unwrap();
    let mut watch = s
        .kubectl_command(&["get", "pods", "-l", "run=missing", "-w", "--no-headers"])
        .stdout(watch_out.reopen().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    run("missing", &missing, &[]);
    let seen = || std::fs::read_to_string(watch_out.path()).unwrap_or_default();
    s.eventually(
        60,
        "ErrImagePull then ImagePullBackOff in the watch",
        || {
            let out = seen();
            let statuses: Vec<String> = common::table(&out)
                .into_iter()
                .filter_map(|r| r.get(2).cloned())
                .collect();
            let err = statuses.iter().position(|st| st == "ErrImagePull");
            let back = statuses.iter().rposition(|st| st == "ImagePullBackOff");
            matches!((err, back), (Some(e), Some(b)) if e < b)
        },
    );
    let _ = std::process::Command::new("kill")
        .arg(watch.id().to_string())
        .status();
    let _ = watch.wait();
    eprintln!("kubectl get pods -w:\n{}", seen());
    assert!(matches!(
        status_column(s, "missing").as_str(),
        "ErrImagePull" | "ImagePullBackOff"
    ));
    s.eventually(30, "the pull failure in kubectl describe", || {
        let d = s.ok(&["describe", "pod", "missing"]);
        d.contains(&format!("Failed to pull image \"{missing}\": "))
            && d.contains(&format!("{missing}: not found"))
            && d.contains("Error: ErrImagePull")
            && d.contains(&format!("Back-off pulling image \"{missing}\""))
            && d.contains("Error: ImagePullBackOff")
    });

    // Policy Never and an absent image.
    let never = format!("{addr}/busybox:7.7");
    run("never", &never, &["--image-pull-policy=Never"]);
    s.eventually(60, "STATUS ErrImageNeverPull", || {
        status_column(s, "never") == "ErrImageNeverPull"
    });
    let ev = events(s, "never");
    assert!(
        ev.contains(&format!(
            "ErrImageNeverPull|Container image \"{never}\" is not present with pull policy of Never\n"
        )),
        "{ev}"
    );
    assert!(ev.contains("Failed|Error: ErrImageNeverPull\n"), "{ev}");
    assert!(!ev.contains("Pulling|"), "{ev}");

    // An init container's image: `Init:` in STATUS, the app container waits.
    s.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: init-missing}}\nspec:\n  initContainers:\n  - {{name: setup, image: \"{addr}/busybox:8.8\"}}\n  containers:\n  - {{name: app, image: \"{image}\"}}\n"
    ));
    s.eventually(
        60,
        "STATUS Init:ErrImagePull or Init:ImagePullBackOff",
        || {
            matches!(
                status_column(s, "init-missing").as_str(),
                "Init:ErrImagePull" | "Init:ImagePullBackOff"
            )
        },
    );
    let waiting = s.ok(&[
        "get",
        "pod",
        "init-missing",
        "-o",
        "jsonpath={.status.initContainerStatuses[0].name} {.status.containerStatuses[0].state.waiting.reason}",
    ]);
    assert_eq!(waiting, "setup PodInitializing");

    let pods = [
        "pulled",
        "cached",
        "again",
        "missing",
        "never",
        "init-missing",
    ];
    clean_up(s, &pods, registry);
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn pods_pull_with_their_pull_secrets() {
    let Some((data, _lock)) = with_real_pods_importing(&[], &[], auth_scenario) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn waiting(s: &Server, pod: &str) -> (String, String) {
    let out = s.ok(&[
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={.status.containerStatuses[0].state.waiting.reason}|{.status.containerStatuses[0].state.waiting.message}",
    ]);
    let (r, m) = out.split_once('|').unwrap_or((&out, ""));
    (r.to_string(), m.to_string())
}

/// A pod of `image` (pull policy Always) with the given pull secrets and ServiceAccount.
fn pod(name: &str, image: &str, secrets: &[&str], sa: Option<&str>) -> String {
    let mut spec = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - {{name: c, image: \"{image}\", imagePullPolicy: Always, command: [sleep, \"3600\"]}}\n"
    );
    if !secrets.is_empty() {
        spec.push_str("  imagePullSecrets:\n");
        for s in secrets {
            spec.push_str(&format!("  - name: {s}\n"));
        }
    }
    if let Some(sa) = sa {
        spec.push_str(&format!("  serviceAccountName: {sa}\n"));
    }
    spec
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn auth_scenario(server: &mut Option<Server>) {
    let s = server.as_ref().unwrap();
    let mut registry = support::LocalRegistry::start();
    let addr = registry.addr.clone();
    let archive = repo().join("target/test-images/busybox-1.28.tar");
    registry.push_archive(&archive, "busybox:1.28", "busybox:1.28");
    registry.require_password("ordo", "s3cret-pw");
    let image = format!("{addr}/busybox:1.28");
    s.eventually(30, "the node", || {
        s.ok(&["get", "nodes", "-o", "name"]).starts_with("node/")
    });

    // Without credentials: the registry's 401, as containerd reports it.
    s.apply(&pod("anonymous", &image, &[], None));
    s.apply(&pod("missing-secret", &image, &["nosuch"], None));
    let refused = format!(
        "failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": unexpected status from HEAD request to http://{addr}/v2/busybox/manifests/1.28: 401 Unauthorized"
    );
    for name in ["anonymous", "missing-secret"] {
        s.eventually(60, &format!("{name}: ErrImagePull, then back-off"), || {
            let (reason, message) = waiting(s, name);
            match reason.as_str() {
                "ErrImagePull" => message == refused,
                "ImagePullBackOff" => {
                    message
                        == format!("Back-off pulling image \"{image}\": ErrImagePull: {refused}")
                }
                _ => false,
            }
        });
        s.eventually(30, &format!("{name}: the pull failure events"), || {
            let ev = events(s, name);
            ev.contains(&format!(
                "Failed|Failed to pull image \"{image}\": {refused}\n"
            )) && ev.contains("Failed|Error: ErrImagePull\n")
        });
    }
    s.eventually(30, "the FailedToRetrieveImagePullSecret warning", || {
        events(s, "missing-secret").contains(
            "FailedToRetrieveImagePullSecret|Unable to retrieve some image pull secrets (nosuch); attempting to pull the image may not succeed.\n",
        )
    });
    assert!(!events(s, "anonymous").contains("FailedToRetrieveImagePullSecret"));
    eprintln!("events of missing-secret:\n{}", events(s, "missing-secret"));

    // A dockerconfigjson Secret made by kubectl.
    s.ok(&[
        "create",
        "secret",
        "docker-registry",
        "regcred",
        &format!("--docker-server={addr}"),
        "--docker-username=ordo",
        "--docker-password=s3cret-pw",
    ]);
    // A wrong password first, then a legacy dockercfg Secret with the right one.
    let wrong = format!(
        r#"{{"auths":{{"http://{addr}":{{"auth":"{}"}}}}}}"#,
        b64("ordo:wrong")
    );
    let legacy = format!(r#"{{"{addr}":{{"auth":"{}"}}}}"#, b64("ordo:s3cret-pw"));
    s.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: wrongcred}}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: legacycred}}\ntype: kubernetes.io/dockercfg\ndata:\n  .dockercfg: {}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: puller}}\nimagePullSecrets:\n- name: regcred\n",
        b64(&wrong),
        b64(&legacy)
    ));
    s.apply(&pod("with-secret", &image, &["regcred"], None));
    s.apply(&pod("in-order", &image, &["wrongcred", "legacycred"], None));
    s.apply(&pod("of-sa", &image, &[], Some("puller")));
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            "of-sa",
            "-o",
            "jsonpath={.spec.imagePullSecrets[*].name}"
        ]),
        "regcred"
    );
    for name in ["with-secret", "in-order", "of-sa"] {
        s.eventually(90, &format!("{name} Running 1/1"), || running(s, name));
        let ev = events(s, name);
        eprintln!("events of {name}:\n{ev}");
        assert!(
            ev.contains(&format!("Pulled|Successfully pulled image \"{image}\" in ")),
            "{name}: {ev}"
        );
    }
    // The pods without credentials still fail (the image is on the node now, but Always pulls).
    let (reason, _) = waiting(s, "anonymous");
    assert!(
        matches!(reason.as_str(), "ErrImagePull" | "ImagePullBackOff"),
        "{reason}"
    );

    let pods = [
        "anonymous",
        "missing-secret",
        "with-secret",
        "in-order",
        "of-sa",
    ];
    clean_up(s, &pods, registry);
}
