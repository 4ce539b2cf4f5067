//! End-to-end with real containers: pod volumes. Each StatefulSet ordinal keeps its own data
//! through deletion, scaling, rollouts and ordo restarts; retention policies remove or keep
//! claims and their data; configMap, secret, downwardAPI and projected volumes follow their
//! sources in running pods.
//!
//! Needs root and runc (skipped otherwise); one real-pod test at a time.

mod common;
use common::real_pods::*;
use common::Server;
use std::path::PathBuf;

/// A StatefulSet's claims are mounted into its pods; a replaced pod finds its data again.
const STS_WITH_VOLUMES: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata:
  name: web-secret
data:
  password: czNjcjN0
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 2
  selector:
    matchLabels:
      app: web-volumes
  template:
    metadata:
      labels:
        app: web-volumes
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: busybox:1.28
        command: ["sh", "-c", "hostname >> /data/names; sleep 3600"]
        volumeMounts:
        - name: data
          mountPath: /data
        - name: scratch
          mountPath: /scratch
        - name: config
          mountPath: /config
        - name: secret
          mountPath: /secret
      volumes:
      - name: scratch
        emptyDir:
          medium: Memory
          sizeLimit: 16Mi
      - name: config
        configMap:
          name: web-config
      - name: secret
        secret:
          secretName: web-secret
          defaultMode: 0400
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
"#;

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn statefulset_volumes_keep_their_data() {
    let Some((data, _lock)) = with_real_pods(&[], |server| sts_volumes(server.as_ref().unwrap()))
    else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn sts_volumes(s: &Server) {
    let field = |pod: &str, path: &str| {
        let out = s.kubectl(&["get", "pod", pod, "-o", &format!("jsonpath={{{path}}}")]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let running = |pod: &str| field(pod, ".status.phase") == "Running";
    let names = |pod: &str| s.ok(&["exec", pod, "--", "cat", "/data/names"]);
    s.apply(STS_WITH_VOLUMES);
    s.eventually(120, "web-0 and web-1 Running", || {
        running("web-0") && running("web-1")
    });
    s.eventually(10, "web-0's name in its volume", || {
        names("web-0") == "web-0\n"
    });
    assert_eq!(names("web-1"), "web-1\n");
    let uid0 = field("web-0", ".metadata.uid");
    // The emptyDir is a directory of the pod on the host.
    s.ok(&[
        "exec",
        "web-0",
        "--",
        "sh",
        "-c",
        "echo scratch > /scratch/f",
    ]);
    let scratch = s
        .data_dir()
        .join("pods")
        .join(&uid0)
        .join("volumes/scratch/f");
    assert_eq!(std::fs::read_to_string(&scratch).unwrap(), "scratch\n");
    let mounts = s.ok(&["exec", "web-0", "--", "cat", "/proc/mounts"]);
    assert!(
        mounts
            .lines()
            .any(|l| l.starts_with("tmpfs /scratch tmpfs") && l.contains("size=16384k")),
        "{mounts}"
    );
    // Config maps and secrets are read-only files.
    assert_eq!(
        s.ok(&[
            "exec",
            "web-0",
            "--",
            "cat",
            "/config/greeting",
            "/secret/password"
        ]),
        "hellos3cr3t"
    );
    let write = s.kubectl(&["exec", "web-0", "--", "touch", "/config/x"]);
    assert!(!write.status.success());

    // The replacement of web-0 mounts the same claim: the data is kept.
    s.ok(&["delete", "pod", "web-0"]);
    s.eventually(120, "a new web-0 Running", || {
        let uid = field("web-0", ".metadata.uid");
        !uid.is_empty() && uid != uid0 && running("web-0")
    });
    s.eventually(10, "web-0 twice in its volume", || {
        names("web-0") == "web-0\nweb-0\n"
    });
    assert_eq!(names("web-1"), "web-1\n");
    // The emptyDir of the old pod went with it.
    assert!(!s.data_dir().join("pods").join(&uid0).exists());

    // The claims' volumes are directories under DATA/volumes.
    let pvs: Vec<PathBuf> = std::fs::read_dir(s.data_dir().join("volumes"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(pvs.len(), 2, "{pvs:?}");
    let mut contents: Vec<String> = pvs
        .iter()
        .map(|p| std::fs::read_to_string(p.join("names")).unwrap())
        .collect();
    contents.sort();
    assert_eq!(contents, ["web-0\nweb-0\n", "web-1\n"]);

    s.ok(&["delete", "sts", "web"]);
    pods_gone_and_node_clean(s);
    // The volumes' data stays with the volumes.
    assert!(pvs.iter().all(|p| p.join("names").is_file()));
}

const PROJECTED_POD: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
data:
  password: czNjcjN0
---
apiVersion: v1
kind: Pod
metadata:
  name: reader
  labels:
    app: reader
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.28
    command: ["sleep", "3600"]
    resources:
      limits: {cpu: 500m, memory: 64Mi}
    volumeMounts:
    - {name: info, mountPath: /info}
    - {name: all, mountPath: /all}
    - {name: cfg, mountPath: /cfg}
    - {name: cfg, mountPath: /sub/greeting, subPath: greeting}
    - {name: sec, mountPath: /sec}
    - {name: late, mountPath: /late}
  volumes:
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: cpu, resourceFieldRef: {containerName: app, resource: limits.cpu, divisor: 1m}}
      - {path: mem, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}
  - name: all
    projected:
      defaultMode: 0440
      sources:
      - configMap: {name: app-config}
      - secret: {name: app-secret, items: [{key: password, path: creds/password}]}
      - downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
      - serviceAccountToken: {path: token, audience: test}
  - name: cfg
    configMap: {name: app-config}
  - name: sec
    secret: {secretName: app-secret}
  - name: late
    configMap: {name: late-config, optional: true}
"#;

/// downwardAPI and projected volumes show the pod and its config map and secret; new labels,
/// annotations, config map and secret contents reach the running pod (not its subPath mount);
/// secrets and projected volumes are tmpfs mounts; nothing is left on the host afterwards.
#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn projected_volumes_follow_their_sources_in_running_pods() {
    let Some((data, _lock)) = with_real_pods(&[], |server| {
        projected_volumes(server.as_ref().unwrap());
        projected_volumes_after_restart(server);
        missing_config_map(server.as_ref().unwrap());
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn projected_volumes(s: &Server) {
    let cat = |path: &str| cat_in(s, "reader", path);
    s.apply(PROJECTED_POD);
    s.eventually(120, "reader Running", || {
        s.ok(&["get", "pod", "reader", "-o", "jsonpath={.status.phase}"]) == "Running"
    });
    assert_eq!(cat("/info/labels"), "app=\"reader\"");
    assert_eq!(cat("/info/name"), "reader");
    assert_eq!(cat("/info/cpu"), "500");
    assert_eq!(cat("/info/mem"), "64");
    assert_eq!(cat("/all/greeting"), "hello");
    assert_eq!(cat("/all/creds/password"), "s3cr3t");
    assert_eq!(cat("/all/labels"), "app=\"reader\"");
    assert_eq!(cat("/sec/password"), "s3cr3t");
    assert_eq!(cat("/sub/greeting"), "hello");
    assert_eq!(cat("/all/token").split('.').count(), 3);
    // Laid out by the atomic writer, with the projected volume's mode.
    let ls = s.ok(&["exec", "reader", "--", "ls", "-la", "/all/", "/all/..data/"]);
    assert!(ls.contains("..data -> ..20"), "{ls}");
    assert!(ls.contains("greeting -> ..data/greeting"), "{ls}");
    assert!(
        ls.lines()
            .any(|l| l.starts_with("-r--r-----") && l.ends_with(" greeting")),
        "{ls}"
    );
    // Secrets and projected volumes are tmpfs mounts; all four are read-only.
    let mounts = s.ok(&["exec", "reader", "--", "cat", "/proc/mounts"]);
    for (dir, tmpfs) in [
        ("/sec", true),
        ("/all", true),
        ("/cfg", false),
        ("/info", false),
    ] {
        let line = mounts
            .lines()
            .find(|l| l.split(' ').nth(1) == Some(dir))
            .unwrap_or_else(|| panic!("{dir} not mounted:\n{mounts}"));
        assert_eq!(line.split(' ').nth(2) == Some("tmpfs"), tmpfs, "{line}");
        assert!(line.split(' ').nth(3).unwrap().starts_with("ro"), "{line}");
    }
    assert!(!s
        .kubectl(&["exec", "reader", "--", "touch", "/cfg/x"])
        .status
        .success());

    // New labels and annotations reach the downwardAPI and projected files.
    s.ok(&["label", "pod", "reader", "tier=backend"]);
    s.ok(&["annotate", "pod", "reader", "note=say \"hi\""]);
    s.eventually(60, "the new label in /info/labels", || {
        cat("/info/labels") == "app=\"reader\"\ntier=\"backend\""
    });
    s.eventually(60, "the new label in /all/labels", || {
        cat("/all/labels") == "app=\"reader\"\ntier=\"backend\""
    });
    s.eventually(60, "the annotation in /info/annotations", || {
        cat("/info/annotations")
            .lines()
            .any(|l| l == r#"note="say \"hi\"""#)
    });

    // New config map and secret contents reach the volumes, not the subPath mount.
    create_or_update(
        s,
        &[
            "configmap",
            "app-config",
            "--from-literal=greeting=bonjour",
            "--from-literal=extra=more",
        ],
    );
    create_or_update(
        s,
        &[
            "secret",
            "generic",
            "app-secret",
            "--from-literal=password=n3w",
        ],
    );
    s.eventually(60, "bonjour in /cfg and /all", || {
        cat("/cfg/greeting") == "bonjour" && cat("/all/greeting") == "bonjour"
    });
    assert_eq!(cat("/cfg/extra"), "more");
    s.eventually(60, "the new password in /sec and /all", || {
        cat("/sec/password") == "n3w" && cat("/all/creds/password") == "n3w"
    });
    assert_eq!(cat("/sub/greeting"), "hello");

    // An optional config map that did not exist when the pod started fills its volume.
    assert_eq!(s.ok(&["exec", "reader", "--", "ls", "/late"]), "");
    create_or_update(s, &["configmap", "late-config", "--from-literal=k=v"]);
    s.eventually(60, "the late config map in /late", || cat("/late/k") == "v");
}

/// After a restart of ordo the adopted pod's volumes are refreshed again.
fn projected_volumes_after_restart(server: &mut Option<Server>) {
    let dir = server.take().unwrap().kill9();
    *server = Some(Server::start_runc_in(dir, &["--bridge", BRIDGE]));
    let s = server.as_ref().unwrap();
    let cat = |path: &str| cat_in(s, "reader", path);
    s.eventually(30, "the adopted pod to answer", || {
        cat("/cfg/greeting") == "bonjour"
    });
    create_or_update(
        s,
        &["configmap", "app-config", "--from-literal=greeting=hallo"],
    );
    s.eventually(60, "hallo in /cfg and /all", || {
        cat("/cfg/greeting") == "hallo" && cat("/all/greeting") == "hallo"
    });
    assert_eq!(cat("/cfg/extra"), "");
    assert_eq!(cat("/sub/greeting"), "hello");

    s.ok(&["delete", "pod", "reader"]);
    pods_gone_and_node_clean(s);
}

const STS_RETAINED: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  podManagementPolicy: Parallel
  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete, whenDeleted: Retain}
  selector:
    matchLabels: {app: web-retained}
  template:
    metadata:
      labels: {app: web-retained}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: busybox:1.28
        command: ["sh", "-c", "[ -f /data/id ] || hostname > /data/id; sleep 3600"]
        volumeMounts:
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"#;

/// The StatefulSet retention policy with real pods and the garbage collector: each ordinal
/// reads back exactly its own data after its pod is replaced, after scaling to 0 and back,
/// after a rolling update and after ordo restarts (SIGTERM, SIGKILL); whenScaled Delete removes the
/// claim of the scaled-away ordinal and its directory; whenDeleted Retain keeps the others.
#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn statefulset_retention_policy_with_real_pods() {
    let Some((data, _lock)) = with_real_pods(&[], sts_retention) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn sts_retention(server: &mut Option<Server>) {
    let s = server.as_ref().unwrap();
    s.apply(STS_RETAINED);
    let own_data = |s: &Server, n: usize| {
        (0..n).all(|i| {
            let out = s.kubectl(&["exec", &format!("web-{i}"), "--", "cat", "/data/id"]);
            String::from_utf8_lossy(&out.stdout) == format!("web-{i}\n")
        })
    };
    s.eventually(120, "web-0..2 read their own data", || own_data(s, 3));
    let claims = ["data-web-0", "data-web-1", "data-web-2"];
    let dirs: Vec<PathBuf> = claims
        .iter()
        .map(|c| {
            let pv = s.ok(&["get", "pvc", c, "-o", "jsonpath={.spec.volumeName}"]);
            s.data_dir().join("volumes").join(pv)
        })
        .collect();
    for (i, d) in dirs.iter().enumerate() {
        assert_eq!(
            std::fs::read_to_string(d.join("id")).unwrap(),
            format!("web-{i}\n")
        );
    }

    // Replaced, scaled away and back, rolled: each ordinal finds its own data every time.
    // (whenScaled is Retain while scaling to 0 and back, Delete again below.)
    let retention = |when_scaled: &str| {
        s.ok(&[
            "patch",
            "sts",
            "web",
            "-p",
            &format!(r#"{{"spec":{{"persistentVolumeClaimRetentionPolicy":{{"whenScaled":"{when_scaled}"}}}}}}"#),
        ]);
    };
    retention("Retain");
    s.ok(&["delete", "pod", "web-1"]);
    s.eventually(120, "web-1 replaced, reading its own data", || {
        own_data(s, 3)
    });
    s.ok(&["scale", "sts", "web", "--replicas=0"]);
    s.eventually(120, "no pods left", || {
        s.ok(&["get", "pods", "-l", "app=web-retained", "-o", "name"])
            .is_empty()
    });
    assert_eq!(
        s.ok(&["get", "pvc", "-o", "jsonpath={.items[*].status.phase}"]),
        "Bound Bound Bound"
    );
    s.ok(&["scale", "sts", "web", "--replicas=3"]);
    s.eventually(120, "web-0..2 back, reading their own data", || {
        own_data(s, 3)
    });
    s.ok(&["set", "env", "sts/web", "ROLLED=1"]);
    s.eventually(180, "a rolled web-0..2 reading their own data", || {
        s.ok(&[
            "get",
            "pods",
            "-l",
            "app=web-retained",
            "-o",
            "jsonpath={.items[*].spec.containers[0].env[0].value}",
        ]) == "1 1 1"
            && own_data(s, 3)
    });
    retention("Delete");

    // ordo restarts, stopped (SIGTERM) and then killed (SIGKILL): every time the adopted pods
    // read their own data.
    for kill in [false, true] {
        let mut old = server.take().unwrap();
        let dir = if kill {
            old.kill9()
        } else {
            old.stop();
            std::mem::replace(&mut old.dir, tempfile::tempdir().unwrap())
        };
        *server = Some(Server::start_runc_in(dir, &["--bridge", BRIDGE]));
        let s = server.as_ref().unwrap();
        s.eventually(60, "web-0..2 read their own data after the restart", || {
            own_data(s, 3)
        });
    }
    let s = server.as_ref().unwrap();

    // whenScaled: Delete: the claim of web-2 and its directory go; the others stay.
    s.ok(&["scale", "sts", "web", "--replicas=2"]);
    s.eventually(120, "data-web-2 and its directory gone", || {
        s.ok(&["get", "pvc", "-o", "jsonpath={.items[*].metadata.name}"]) == "data-web-0 data-web-1"
            && !dirs[2].exists()
    });
    assert!(own_data(s, 2));

    // whenDeleted: Retain: the pods go, the claims and their data stay.
    s.ok(&["delete", "sts", "web"]);
    pods_gone_and_node_clean(s);
    for c in &claims[..2] {
        assert_eq!(
            s.ok(&["get", "pvc", c, "-o", "jsonpath={.status.phase}"]),
            "Bound"
        );
    }
    for (i, d) in dirs[..2].iter().enumerate() {
        assert_eq!(
            std::fs::read_to_string(d.join("id")).unwrap(),
            format!("web-{i}\n")
        );
    }
}

/// A pod whose config map does not exist waits, saying why as the kubelet does, and starts
/// once the config map is created.
fn missing_config_map(s: &Server) {
    s.apply(
        r#"apiVersion: v1
kind: Pod
metadata: {name: waiter}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: busybox:1.28, command: [sleep, "3600"], volumeMounts: [{name: cfg, mountPath: /cfg}]}
  volumes:
  - {name: cfg, configMap: {name: missing-config}}
"#,
    );
    s.eventually(60, "an event saying the config map is missing", || {
        s.ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=waiter",
            "-o",
            "jsonpath={range .items[*]}{.reason}={.message}{\"\\n\"}{end}",
        ])
        .contains(
            r#"FailedMount=MountVolume.SetUp failed for volume "cfg" : configmap "missing-config" not found"#,
        )
    });
    assert_eq!(
        s.ok(&["get", "pod", "waiter", "-o", "jsonpath={.status.phase}"]),
        "Pending"
    );
    create_or_update(s, &["configmap", "missing-config", "--from-literal=a=b"]);
    s.eventually(120, "waiter to start with its config map", || {
        cat_in(s, "waiter", "/cfg/a") == "b"
    });
    s.ok(&["delete", "pod", "waiter"]);
    pods_gone_and_node_clean(s);
}

/// `kubectl create <args> --dry-run=client -o yaml | kubectl apply -f -`.
fn create_or_update(s: &Server, args: &[&str]) {
    let mut create = vec!["create"];
    create.extend_from_slice(args);
    create.extend_from_slice(&["--dry-run=client", "-o", "yaml"]);
    let manifest = s.ok(&create);
    s.ok_stdin(&["apply", "-f", "-"], &manifest);
}

/// What `cat path` prints in the pod (empty when it fails).
fn cat_in(s: &Server, pod: &str, path: &str) -> String {
    let out = s.kubectl(&["exec", pod, "--", "cat", path]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}
