//! End-to-end with real containers: `ordo server --runtime runc`, the test images built by
//! `images/build.sh` and imported from `DATA/images/import`, the real kubectl. A pod of
//! nginx becomes Running 1/1 and serves its page on the pod IP; a pod whose image is not on
//! the node reports why; deleting the pods removes every trace from the host.
//!
//! Needs root and runc (skipped otherwise). One real-pod test at a time (file lock): they
//! share the bridge, the pod CIDR and the service route.

mod common;
use common::real_pods::{curl, leftovers, node_clean, restart_killed, with_real_pods};
use common::Server;
use std::time::{Duration, Instant};

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn nginx_pod_runs_and_serves_its_page_on_the_pod_ip() {
    let mut forward_before = String::new();
    let Some((data, _lock)) = with_real_pods(&[], |server| {
        forward_before = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
        scenario(server)
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        forward_before
    );
}

fn scenario(server: &mut Option<Server>) {
    let s = server.as_ref().unwrap();
    // The node registers once its runtime is up (images imported).
    s.eventually(30, "the node", || {
        s.ok(&["get", "nodes", "-o", "name"]).starts_with("node/")
    });
    let node = s.ok(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[0].status.nodeInfo.containerRuntimeVersion}",
    ]);
    assert!(node.starts_with("runc://1."), "{node}");

    let t0 = Instant::now();
    s.ok(&["run", "web", "--image=nginx:1.25.4"]);
    s.eventually(60, "pod web Running 1/1", || {
        s.ok(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.status.phase} {.status.containerStatuses[0].ready}",
        ]) == "Running true"
    });
    let ready_in = t0.elapsed();
    let row = s.ok(&["get", "pod", "web", "--no-headers"]);
    assert!(
        row.split_whitespace().take(3).eq(["web", "1/1", "Running"]),
        "{row}"
    );
    let ip = s.ok(&["get", "pod", "web", "-o", "jsonpath={.status.podIP}"]);
    assert!(ip.starts_with("10.244.0."), "{ip}");
    let id = s.ok(&["get", "pod", "web", "-o", "jsonpath={.status.containerStatuses[0].containerID} {.status.containerStatuses[0].imageID}"]);
    assert!(
        id.starts_with("runc://") && id.contains(" docker.io/library/nginx@sha256:"),
        "{id}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        if let Some(p) = curl(&format!("http://{ip}/")) {
            break p;
        }
        assert!(Instant::now() < deadline, "pod {ip} does not answer");
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!(
        "kubectl run -> Running 1/1 in {ready_in:?}; page served after {:?}",
        t0.elapsed()
    );
    assert!(page.contains("nginx 1.25.4"), "{page}");

    // kubectl logs and exec: through the API server to the agent's endpoint (WebSocket v5).
    s.ok(&[
        "run",
        "bb",
        "--image=busybox:1.28",
        "--",
        "sh",
        "-c",
        "echo hello; echo world; sleep 3600",
    ]);
    s.eventually(60, "pod bb Running", || {
        s.ok(&["get", "pod", "bb", "-o", "jsonpath={.status.phase}"]) == "Running"
    });
    s.eventually(10, "bb's log", || s.ok(&["logs", "bb"]) == "hello\nworld\n");
    assert_eq!(s.ok(&["logs", "bb", "--tail=1"]), "world\n");
    assert_eq!(
        s.ok(&["exec", "bb", "--", "cat", "/etc/hostname"]).trim(),
        "bb"
    );
    let out = s.kubectl(&["exec", "bb", "--", "sh", "-c", "echo to-stderr >&2; exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("to-stderr") && err.contains("command terminated with exit code 3"),
        "{err}"
    );
    assert_eq!(
        s.ok_stdin(&["exec", "-i", "bb", "--", "cat"], "piped through stdin"),
        "piped through stdin"
    );
    s.ok(&["delete", "pod", "bb", "--grace-period=1"]);

    // ordo dies (SIGKILL) and comes back: the running container is adopted, not restarted.
    let t2 = Instant::now();
    let s = restart_killed(server);
    eprintln!("restart: node Ready again after {:?}", t2.elapsed());
    let after = s.ok(&["get", "pod", "web", "-o", "jsonpath={.status.containerStatuses[0].containerID} {.status.containerStatuses[0].imageID}"]);
    assert_eq!(after, id, "the container was adopted");
    assert!(curl(&format!("http://{ip}/"))
        .unwrap()
        .contains("nginx 1.25.4"));

    // An image the node does not have and cannot pull (nothing listens on loopback port 9):
    // the pod says why and stays pending. (`registry.rs` covers pulls and their statuses.)
    s.ok(&["run", "missing", "--image=127.0.0.1:9/nginx:9.9"]);
    s.eventually(30, "an event about the missing image", || {
        s.ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=missing",
        ])
        .contains("Failed to pull image \"127.0.0.1:9/nginx:9.9\"")
    });
    s.eventually(30, "STATUS ErrImagePull or ImagePullBackOff", || {
        let row = common::table(&s.ok(&["get", "pod", "missing", "--no-headers"]));
        matches!(row[0][2].as_str(), "ErrImagePull" | "ImagePullBackOff") && row[0][1] == "0/1"
    });

    let t1 = Instant::now();
    s.ok(&["delete", "pod", "web", "missing", "--wait=true"]);
    eprintln!("kubectl delete (nginx, SIGQUIT) took {:?}", t1.elapsed());
    node_clean(s);
}

/// The seed walkthrough, steps 1–6, with real pods, real DNS and the real kubectl.
#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn walkthrough_with_real_pods() {
    // The cluster DNS at its default address unless something on this machine (a developer's
    // own ordo server) already holds it.
    let dns = cluster_dns_address();
    let flag = format!("{dns}:53");
    with_real_pods(&["--cluster-dns", &flag], |server| {
        let s = server.as_ref().unwrap();
        walkthrough(s, &dns);
        let _ = s.kubectl(&["delete", "sts", "nginx-statefulset", "--wait=false"]);
        let _ = s.kubectl(&["delete", "pod", "dns-test", "--grace-period=1"]);
        s.eventually(60, "every pod to go", || {
            s.ok(&["get", "pods", "-o", "name"]).is_empty()
        });
        s.eventually(20, "the node to clean up", || {
            leftovers(s.data_dir()).is_empty()
        });
    });
}

/// `10.96.0.10`, or `10.96.0.53` when an interface of this host already has `10.96.0.10`.
fn cluster_dns_address() -> String {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if out.contains(" 10.96.0.10/") {
        "10.96.0.53".into()
    } else {
        "10.96.0.10".into()
    }
}

fn ready_pods(s: &Server) -> Vec<(String, String)> {
    let out = s.ok(&["get", "pods", "-l", "app=nginx-stateful", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}"]);
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[2] == "True").then(|| (f[0].to_string(), f[1].to_string()))
        })
        .collect()
}

fn walkthrough(s: &Server, dns: &str) {
    let fqdn =
        |i: u32| format!("nginx-statefulset-{i}.nginx-stateful-service.default.svc.cluster.local");
    // 1. Create: pods appear one after another.
    assert_eq!(
        s.apply(common::WALKTHROUGH),
        "service/nginx-stateful-service created\nstatefulset.apps/nginx-statefulset created\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&s.kubectl(&["get", "pvc"]).stderr),
        "No resources found in default namespace.\n"
    );
    s.eventually(90, "3/3 ready", || {
        common::table(&s.ok(&["get", "sts", "--no-headers"]))[0][1] == "3/3"
    });
    let created: Vec<String> = (0..3)
        .map(|i| {
            s.ok(&[
                "get",
                "pod",
                &format!("nginx-statefulset-{i}"),
                "-o",
                "jsonpath={.metadata.creationTimestamp}",
            ])
        })
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");
    let pods = common::table(&s.ok(&["get", "pods"]));
    assert_eq!(pods[0], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert!(
        pods[1..].iter().all(|r| r[1] == "1/1" && r[2] == "Running"),
        "{pods:?}"
    );

    // 2. Stable network identity through the headless Service, seen from inside a pod.
    s.ok(&[
        "run",
        "dns-test",
        "--image=busybox:1.28",
        "--restart=Never",
        "--",
        "sleep",
        "3600",
    ]);
    s.eventually(60, "dns-test Running", || {
        s.ok(&["get", "pod", "dns-test", "-o", "jsonpath={.status.phase}"]) == "Running"
    });
    let ips: std::collections::HashMap<String, String> = ready_pods(s).into_iter().collect();
    let mut answer = String::new();
    s.eventually(30, "nslookup through the cluster DNS", || {
        let out = s.kubectl(&["exec", "dns-test", "--", "nslookup", &fqdn(0)]);
        answer = String::from_utf8_lossy(&out.stdout).into_owned();
        out.status.success()
    });
    // Debian's busybox prints `Server: 10.96.0.10`, `Address: 10.96.0.10:53`; busybox 1.28 in the
    // seed also printed the server's PTR name.
    assert!(
        answer.contains(&format!("Server:\t\t{dns}")) || answer.contains(dns),
        "{answer}"
    );
    assert!(
        answer.contains(&ips["nginx-statefulset-0"]) && answer.contains(&fqdn(0)),
        "{answer}"
    );
    for i in 0..3 {
        let out = s.ok(&["exec", "dns-test", "--", "nslookup", &fqdn(i)]);
        assert!(
            out.contains(&ips[&format!("nginx-statefulset-{i}")]),
            "each name resolves to its own pod: {out}"
        );
        let page = s.ok(&[
            "exec",
            "dns-test",
            "--",
            "wget",
            "-qO-",
            &format!("http://{}", fqdn(i)),
        ]);
        assert!(page.contains("nginx 1.25.4"), "{page}");
    }
    s.ok(&[
        "exec",
        "dns-test",
        "--",
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        &fqdn(0),
    ]);
    // The seed's way: an interactive shell in a new pod (`kubectl run -i`, commands on stdin).
    let out = s.kubectl_stdin(
        &[
            "run",
            "-i",
            "--rm",
            "--restart=Never",
            "--image=busybox:1.28",
            "dns-shell",
            "--",
            "sh",
        ],
        // (Debian's busybox nslookup, unlike 1.28's, applies no search path to a dotted name:
        // it gets the full name; wget resolves through the search path like any libc client.)
        Some(&format!(
            "nslookup {}\nwget -qO- http://nginx-statefulset-0.nginx-stateful-service\nexit\n",
            fqdn(0)
        )),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&ips["nginx-statefulset-0"]) && text.contains(&fqdn(0)),
        "{text}"
    );
    assert!(text.contains("nginx 1.25.4"), "{text}");
    // Short names `$pod.$service` through the search path.
    s.ok(&[
        "exec",
        "dns-test",
        "--",
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        "nginx-statefulset-0.nginx-stateful-service",
    ]);
    let page = s.ok(&[
        "exec",
        "dns-test",
        "--",
        "wget",
        "-qO-",
        "http://nginx-statefulset-1.nginx-stateful-service",
    ]);
    assert!(page.contains("nginx 1.25.4"), "{page}");
    // A replaced pod keeps its name; the name follows it to its new address.
    let old_uid = s.ok(&[
        "get",
        "pod",
        "nginx-statefulset-1",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    s.ok(&["delete", "pod", "nginx-statefulset-1"]);
    s.eventually(60, "nginx-statefulset-1 re-created and Ready", || {
        s.ok(&[
            "get",
            "pod",
            "nginx-statefulset-1",
            "-o",
            "jsonpath={.metadata.uid}",
        ]) != old_uid
            && ready_pods(s)
                .iter()
                .any(|(n, _)| n == "nginx-statefulset-1")
    });
    let ips: std::collections::HashMap<String, String> = ready_pods(s).into_iter().collect();
    let mut last = String::new();
    let resolved = (0..30).any(|_| {
        let out = s.kubectl(&["exec", "dns-test", "--", "nslookup", &fqdn(1)]);
        last = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let ok = last.contains(&ips["nginx-statefulset-1"]);
        if !ok {
            std::thread::sleep(Duration::from_secs(1));
        }
        ok
    });
    assert!(
        resolved,
        "the name did not follow the new pod ({}): {last}\n{}",
        ips["nginx-statefulset-1"],
        s.ok(&["get", "endpointslices", "-o", "yaml"])
    );

    // 3. Scale up and down; describe.
    assert_eq!(
        s.ok(&["scale", "statefulset", "nginx-statefulset", "--replicas=10"]),
        "statefulset.apps/nginx-statefulset scaled\n"
    );
    s.eventually(180, "10/10 ready", || {
        common::table(&s.ok(&["get", "sts", "--no-headers"]))[0][1] == "10/10"
    });
    let d = s.ok(&["describe", "sts", "nginx-statefulset"]);
    for line in [
        "Replicas:           10 desired | 10 total",
        "Update Strategy:    RollingUpdate",
        "  Partition:        0",
        "Pods Status:        10 Running / 0 Waiting / 0 Succeeded / 0 Failed",
        "Volume Claims:     <none>",
    ] {
        assert!(d.contains(line), "describe lacks {line:?}:\n{d}");
    }
    assert!(d.contains("statefulset-controller  create Pod nginx-statefulset-9 in StatefulSet nginx-statefulset successful"), "{d}");
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
    s.eventually(120, "5 pods", || {
        s.ok(&["get", "pods", "-l", "app=nginx-stateful", "-o", "name"])
            .lines()
            .count()
            == 5
    });
    let names = s.ok(&[
        "get",
        "pods",
        "-l",
        "app=nginx-stateful",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    assert_eq!(
        names,
        (0..5)
            .map(|i| format!("nginx-statefulset-{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    );

    // 4. Rolling update: every pod serves the new page.
    assert_eq!(
        s.ok(&[
            "set",
            "image",
            "statefulset/nginx-statefulset",
            "nginx-container=nginx:1.26.1"
        ]),
        "statefulset.apps/nginx-statefulset image updated\n"
    );
    let status = s.ok(&[
        "rollout",
        "status",
        "statefulset/nginx-statefulset",
        "--timeout=180s",
    ]);
    assert!(
        status.contains("partitioned roll out complete: 5 new pods have been updated..."),
        "{status}"
    );
    for (name, ip) in ready_pods(s) {
        let page = s.ok(&[
            "exec",
            "dns-test",
            "--",
            "wget",
            "-qO-",
            &format!("http://{ip}/"),
        ]);
        assert!(page.contains("nginx 1.26.1"), "{name}: {page}");
    }
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=StatefulSet",
        "--sort-by=.metadata.name",
        "-o",
        "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
    ]);
    let deletes: Vec<&str> = events
        .lines()
        .filter(|l| l.starts_with("delete Pod"))
        .collect();
    // Event names are `<object>.<creation time in hex nanoseconds>`: sorted by name = by time.
    // The scale-down deleted 9..5; the rolling update deletes 4..0.
    let last_deletes: Vec<String> = deletes
        .iter()
        .map(|l| l.split_whitespace().nth(2).unwrap().to_string())
        .filter(|n| {
            n.rsplit('-')
                .next()
                .and_then(|i| i.parse::<u32>().ok())
                .is_some_and(|i| i < 5)
        })
        .collect();
    assert_eq!(
        last_deletes,
        (0..5)
            .rev()
            .map(|i| format!("nginx-statefulset-{i}"))
            .collect::<Vec<_>>(),
        "reverse ordinal order"
    );

    // 5. Change cause and history.
    s.ok(&[
        "annotate",
        "statefulset/nginx-statefulset",
        "kubernetes.io/change-cause=downgraded to 1.26.1",
    ]);
    let history = s.ok(&["rollout", "history", "statefulset/nginx-statefulset"]);
    let rows = common::table(&history);
    assert_eq!(rows[1], ["REVISION", "CHANGE-CAUSE"], "{history}");
    assert_eq!(rows[2], ["1", "<none>"], "{history}");
    assert_eq!(rows[3].join(" "), "2 downgraded to 1.26.1", "{history}");

    // 6. Revisions live in ControllerRevisions, not ReplicaSets.
    assert_eq!(
        String::from_utf8_lossy(&s.kubectl(&["get", "rs", "-o", "wide"]).stderr),
        "No resources found in default namespace.\n"
    );
    let crs = common::table(&s.ok(&["get", "controllerrevisions"]));
    assert_eq!(crs[0], ["NAME", "CONTROLLER", "REVISION", "AGE"]);
    assert_eq!(crs.len(), 3, "{crs:?}");
    assert!(
        crs[1..]
            .iter()
            .all(|r| r[1] == "statefulset.apps/nginx-statefulset"),
        "{crs:?}"
    );
}

/// `--stop-pods-on-exit`: on SIGTERM the server stops its pods and leaves nothing behind.
#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn stop_pods_on_exit_cleans_the_node() {
    with_real_pods(&["--stop-pods-on-exit"], |server| {
        let s = server.as_mut().unwrap();
        let data = s.data_dir().to_path_buf();
        s.ok(&[
            "run",
            "sleeper",
            "--image=busybox:1.28",
            "--",
            "sleep",
            "3600",
        ]);
        s.eventually(60, "sleeper Running", || {
            s.ok(&["get", "pod", "sleeper", "-o", "jsonpath={.status.phase}"]) == "Running"
        });
        assert!(
            !leftovers(&data).is_empty(),
            "a running pod has a namespace and a bridge"
        );
        s.stop();
        let log = s.log();
        assert!(
            leftovers(&data).is_empty(),
            "leftovers after SIGTERM with --stop-pods-on-exit; log:\n{}",
            common::tail(&log)
        );
        assert!(
            log.contains("stopping 1 pods before exit"),
            "{}",
            common::tail(&log)
        );
    });
}
