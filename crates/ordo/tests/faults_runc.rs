//! Fault runs with real pods (needs root and runc): `ordo server` (API server, controllers and
//! the node agent in one process) is killed with SIGKILL in the middle of a StatefulSet's
//! rolling update, scale-down and scale-up, several times, and restarted on the same data
//! dir. Each operation completes after the restart, a write acknowledged just before the kill
//! is still there, the set ends with exactly its pods, and an invariant checker that samples
//! runc's container list every 20 ms never sees two pods of one identity running at once.

mod common;
use common::invariants::AtMostOne;
use common::real_pods::*;
use common::*;

const SET: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: None, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: busybox:1.28
        command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 1; done']
        env: [{name: GEN, value: "0"}]
"#;

/// `name deleting? revision ready` of each pod of the set, a line each.
fn pods(s: &Server) -> String {
    String::from_utf8_lossy(
        &s.kubectl(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.metadata.deletionTimestamp} {.metadata.labels.controller-revision-hash} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}",
        ])
        .stdout,
    )
    .into_owned()
}

/// Whether the set has exactly `replicas` pods, all Ready, all of its update revision.
fn converged(s: &Server, replicas: usize) -> bool {
    let st = s.ok(&[
        "get",
        "sts",
        "web",
        "-o",
        "jsonpath={.status.updateRevision} {.status.readyReplicas} {.status.updatedReplicas} {.status.observedGeneration} {.metadata.generation}",
    ]);
    let f: Vec<&str> = st.split(' ').collect();
    if f.len() < 5 || f[3] != f[4] {
        return false;
    }
    let want: Vec<String> = (0..replicas).map(|i| format!("web-{i}")).collect();
    let lines = pods(s);
    let names: Vec<&str> = lines.lines().filter_map(|l| l.split(' ').next()).collect();
    names == want
        && lines.lines().all(|l| {
            let p: Vec<&str> = l.split(' ').collect();
            p.len() == 4 && p[1].is_empty() && p[2] == f[0] && p[3] == "True"
        })
}

/// Waits until `moment` holds (polling the API as fast as kubectl answers), writes an
/// acknowledged ConfigMap, and SIGKILLs the server; restarts it on the same data dir.
fn kill_when(server: &mut Option<Server>, round: usize, moment: impl Fn(&str) -> bool) {
    {
        let s = server.as_ref().unwrap();
        s.eventually(60, &format!("round {round}'s kill point"), || {
            moment(&pods(s))
        });
        s.ok(&["create", "configmap", &format!("ack-{round}")]);
    }
    let dir = server.take().unwrap().kill9();
    *server = Some(Server::start_runc_in(dir, &["--bridge", BRIDGE]));
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn sigkill_of_the_server_mid_operation_loses_and_doubles_nothing() {
    let Some((data, _lock)) = with_real_pods_importing(&["busybox-1.28.tar"], &[], |server| {
        let data = server.as_ref().unwrap().data_dir().to_path_buf();
        {
            let s = server.as_ref().unwrap();
            s.apply(SET);
            s.eventually(120, "web-0..2 Ready", || converged(s, 3));
        }
        let checker = AtMostOne::start(&data, "app");
        // A pod being replaced (deleted, not yet re-created) is the moment a second copy of
        // an identity could start.
        let terminating = |p: &str| p.lines().any(|l| l.split(' ').nth(1) != Some(""));
        let mut round = 0;
        for (change, replicas) in [
            ("rolling", 3),
            ("scale", 1),
            ("scale", 3),
            ("rolling", 3),
            ("rolling", 3),
        ] {
            round += 1;
            {
                let s = server.as_ref().unwrap();
                match change {
                    "rolling" => s.ok(&["set", "env", "sts/web", &format!("GEN={round}")]),
                    _ => s.ok(&["scale", "sts/web", &format!("--replicas={replicas}")]),
                };
            }
            if change == "scale" && replicas == 3 {
                // Scale-up: kill once web-1 exists and before web-2 is Ready.
                kill_when(server, round, |p| {
                    p.lines().any(|l| l.starts_with("web-1 "))
                        && !p
                            .lines()
                            .any(|l| l.starts_with("web-2 ") && l.ends_with(" True"))
                });
            } else {
                kill_when(server, round, terminating);
            }
            let s = server.as_ref().unwrap();
            s.eventually(
                180,
                &format!("round {round} ({change}) to complete"),
                || converged(s, replicas),
            );
            // Every acknowledged write survived the kills.
            for r in 1..=round {
                s.ok(&["get", "configmap", &format!("ack-{r}")]);
            }
        }
        let (samples, seen) = checker.stop();
        assert!(samples > 100, "the checker sampled only {samples} times");
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            ["web-0", "web-1", "web-2"],
            "the identities the checker saw running"
        );
        let s = server.as_ref().unwrap();
        s.ok(&["delete", "sts", "web", "--wait=true"]);
        pods_gone_and_node_clean(s);
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

/// The checker itself: two pods given one host name are two copies of one identity to it.
#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn the_checker_sees_two_running_copies_of_an_identity() {
    busybox_scenario(|s| {
        let checker = AtMostOne::start(s.data_dir(), "app");
        for name in ["twin-a", "twin-b"] {
            s.apply(&format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  hostname: twin\n  terminationGracePeriodSeconds: 1\n  containers: [{{name: app, image: busybox:1.28, command: [sleep, '3600']}}]\n"
            ));
        }
        s.eventually(60, "both twins Running", || {
            s.ok(&["get", "pods", "--no-headers"])
                .lines()
                .filter(|l| l.contains(" Running "))
                .count()
                == 2
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| checker.stop()));
        let message = caught
            .expect_err("the checker must fail")
            .downcast::<String>()
            .unwrap();
        assert!(message.contains("twin runs as 2 pods at once"), "{message}");
    });
}
