//! End-to-end with real containers: security contexts. A non-root container writes to its
//! claim and emptyDir thanks to `fsGroup` (groups, setgid directories, `OnRootMismatch`
//! skipping a volume whose root already matches), with a read-only root filesystem, dropped
//! capabilities, no privilege escalation, the RuntimeDefault seccomp profile and a safe
//! sysctl; `runAsNonRoot` on an image that runs as root is refused with the kubelet's
//! `CreateContainerConfigError`; an unsafe sysctl fails the pod at admission
//! (`SysctlForbidden`); a privileged container has every capability, the host's devices and
//! a writable `/sys`; the containers of a pod with `shareProcessNamespace` see and signal each
//! other's processes, under an init that goes with the pod and outlives an ordo restart.
//!
//! Needs root and runc; runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::Server;
use std::os::unix::fs::MetadataExt;

const NON_ROOT: &str = r#"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {key: value}
---
apiVersion: v1
kind: Pod
metadata: {name: db}
spec:
  terminationGracePeriodSeconds: 1
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    fsGroup: 2000
    fsGroupChangePolicy: OnRootMismatch
    supplementalGroups: [4000]
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
    sysctls: [{name: kernel.shm_rmid_forced, value: "1"}]
  containers:
  - name: db
    image: busybox:1.28
    command: [sh, -c, "echo row > /data/table && echo tmp > /scratch/f && exec sleep 3600"]
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: scratch, mountPath: /scratch}
    - {name: cfg, mountPath: /cfg}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: scratch, emptyDir: {}}
  - {name: cfg, configMap: {name: cfg}}
"#;

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn security_contexts_in_real_pods() {
    busybox_scenario(|s| {
        non_root_with_fs_group(s);
        refusals(s);
        privileged(s);
        shared_process_namespace(s);
    });
}

fn running(s: &Server, pod: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while pod_field(s, pod, ".status.phase") != "Running" {
        if std::time::Instant::now() > deadline {
            panic!("{pod} not Running:\n{}", s.ok(&["describe", "pod", pod]));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn sh(s: &Server, pod: &str, script: &str) -> String {
    s.ok(&["exec", pod, "--", "sh", "-c", script])
}

fn non_root_with_fs_group(s: &Server) {
    s.apply(NON_ROOT);
    running(s, "db");
    s.eventually(10, "the row written", || {
        s.kubectl(&["exec", "db", "--", "cat", "/data/table"])
            .stdout
            == b"row\n"
    });
    let id = sh(s, "db", "id -u; id -g; id -G");
    let lines: Vec<&str> = id.lines().collect();
    assert_eq!(lines[..2], ["1000", "3000"], "{id}");
    let mut groups: Vec<&str> = lines[2].split(' ').collect();
    groups.sort();
    assert_eq!(groups, ["2000", "3000", "4000"], "{id}");
    // New files take the volume's group (setgid directories); so does the config map's data.
    assert_eq!(
        sh(
            s,
            "db",
            "stat -c %g /data/table /scratch/f; stat -L -c %g /cfg/key"
        ),
        "2000\n2000\n2000\n"
    );
    let data_mode = sh(s, "db", "stat -c %A /data");
    assert!(data_mode.starts_with("drwxrws"), "{data_mode}");
    // Read-only root, only NET_BIND_SERVICE in the bounding set, no new privileges, seccomp
    // filter mode, the sysctl set in the container.
    let touch = s.kubectl(&["exec", "db", "--", "touch", "/newfile"]);
    assert!(!touch.status.success());
    assert!(
        String::from_utf8_lossy(&touch.stderr).contains("Read-only file system"),
        "{touch:?}"
    );
    let status = sh(s, "db", "cat /proc/self/status");
    for line in [
        "CapBnd:\t0000000000000400",
        "CapEff:\t0000000000000000",
        "NoNewPrivs:\t1",
        "Seccomp:\t2",
    ] {
        assert!(status.contains(line), "{line:?} not in:\n{status}");
    }
    assert_eq!(sh(s, "db", "cat /proc/sys/kernel/shm_rmid_forced"), "1\n");
    // On the host: the claim's directory has the group and the setgid bit.
    let pv = s.ok(&["get", "pv", "-o", "jsonpath={.items[0].spec.hostPath.path}"]);
    let dir = std::path::PathBuf::from(pv.trim());
    let md = std::fs::metadata(&dir).unwrap();
    assert_eq!(md.gid(), 2000);
    assert_ne!(md.mode() & 0o2000, 0);
    // OnRootMismatch: the root matches, so the next pod leaves a root-owned file alone.
    s.ok(&["delete", "pod", "db"]);
    let stray = dir.join("stray");
    std::fs::write(&stray, "x").unwrap();
    assert_eq!(std::fs::metadata(&stray).unwrap().gid(), 2000, "setgid");
    std::os::unix::fs::chown(&stray, Some(0), Some(0)).unwrap();
    s.apply(NON_ROOT);
    running(s, "db");
    assert_eq!(std::fs::metadata(&stray).unwrap().gid(), 0);
    assert_eq!(sh(s, "db", "cat /data/table"), "row\n");
    s.ok(&["delete", "pod", "db", "--wait=false"]);
}

const ROOT_IMAGE: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: rootful}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {runAsNonRoot: true}
  containers:
  - {name: app, image: busybox:1.28, command: [sleep, "3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: tuned}
spec:
  terminationGracePeriodSeconds: 1
  securityContext:
    sysctls: [{name: kernel.msgmax, value: "65536"}]
  containers:
  - {name: app, image: busybox:1.28, command: [sleep, "3600"]}
"#;

fn refusals(s: &Server) {
    s.apply(ROOT_IMAGE);
    s.eventually(60, "rootful refused", || {
        pod_field(
            s,
            "rootful",
            ".status.containerStatuses[0].state.waiting.reason",
        ) == "CreateContainerConfigError"
    });
    let uid = pod_field(s, "rootful", ".metadata.uid");
    let want = format!(
        "container has runAsNonRoot and image will run as root (pod: \"rootful_default({uid})\", container: app)"
    );
    assert_eq!(
        pod_field(
            s,
            "rootful",
            ".status.containerStatuses[0].state.waiting.message"
        ),
        want
    );
    let get = s.ok(&["get", "pod", "rootful"]);
    assert!(get.contains("CreateContainerConfigError"), "{get}");
    s.eventually(20, "the Failed event", || {
        s.ok(&["describe", "pod", "rootful"])
            .contains(&format!("Error: {want}"))
    });
    // The unsafe sysctl: the kubelet's admission fails the pod.
    s.eventually(60, "tuned rejected", || {
        pod_field(s, "tuned", ".status.phase") == "Failed"
    });
    assert_eq!(pod_field(s, "tuned", ".status.reason"), "SysctlForbidden");
    assert_eq!(
        pod_field(s, "tuned", ".status.message"),
        "Pod was rejected: forbidden sysctl: \"kernel.msgmax\" not allowlisted"
    );
    assert_eq!(pod_field(s, "tuned", ".status.containerStatuses"), "");
}

const PRIVILEGED: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: priv}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.28
    command: [sleep, "3600"]
    securityContext: {privileged: true}
"#;

fn privileged(s: &Server) {
    s.apply(PRIVILEGED);
    running(s, "priv");
    let status = sh(s, "priv", "cat /proc/self/status");
    assert!(status.contains("Seccomp:\t0"), "{status}");
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:\t"))
        .unwrap();
    assert!(
        u64::from_str_radix(eff, 16).unwrap() & (1 << 21) != 0,
        "CAP_SYS_ADMIN in {eff}"
    );
    // The host's devices, a writable /sys, and mount(2) allowed (inside its own namespace).
    let block = std::fs::read_dir("/dev")
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| {
            use std::os::unix::fs::FileTypeExt;
            e.file_type().map(|t| t.is_block_device()).unwrap_or(false)
        })
        .map(|e| e.path());
    if let Some(b) = block {
        sh(s, "priv", &format!("test -b {}", b.display()));
    }
    let sys = sh(s, "priv", "grep ' /sys ' /proc/mounts");
    assert!(sys.contains(" rw,"), "{sys}");
    sh(
        s,
        "priv",
        "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && umount /mnt/t",
    );
}

const SHARED: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: shared}
spec:
  terminationGracePeriodSeconds: 1
  shareProcessNamespace: true
  containers:
  - {name: app, image: busybox:1.28, command: [sleep, "3600"]}
  - {name: sidecar, image: busybox:1.28, command: [sleep, "7200"]}
"#;

fn shared_process_namespace(s: &Server) {
    s.apply(SHARED);
    running(s, "shared");
    let ps = s.ok(&[
        "exec", "shared", "-c", "sidecar", "--", "ps", "-o", "pid,args",
    ]);
    let init = ps
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap_or_default();
    assert!(init.contains("pause"), "{ps}");
    assert!(
        ps.contains("sleep 3600") && ps.contains("sleep 7200"),
        "{ps}"
    );
    // The sidecar ends the app's process: the app container is restarted.
    let app = ps
        .lines()
        .find(|l| l.contains("sleep 3600"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    s.ok(&["exec", "shared", "-c", "sidecar", "--", "kill", app]);
    s.eventually(30, "app restarted", || {
        pod_field(s, "shared", ".status.containerStatuses[0].restartCount") == "1"
    });
    // The namespace's init goes with the pod.
    let uid = pod_field(s, "shared", ".metadata.uid");
    let pid_file = s.data_dir().join("pods").join(&uid).join("pause.pid");
    let pid = std::fs::read_to_string(pid_file).unwrap();
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
    assert!(proc_dir.exists());
    s.ok(&["delete", "pod", "shared"]);
    s.eventually(20, "the namespace init gone", || !proc_dir.exists());
}

/// The namespace's init outlives ordo: after a restart the pod is adopted, its containers
/// still share the namespace, and a container restarted then joins it again.
#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn a_shared_process_namespace_outlives_an_ordo_restart() {
    let Some((data, _lock)) = with_real_pods_importing(&["busybox-1.28.tar"], &[], |server| {
        let s = server.as_ref().unwrap();
        s.apply(SHARED);
        running(s, "shared");
        let uid = pod_field(s, "shared", ".metadata.uid");
        let pid_file = s.data_dir().join("pods").join(&uid).join("pause.pid");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let mut old = server.take().unwrap();
        old.stop();
        let dir = std::mem::replace(&mut old.dir, tempfile::tempdir().unwrap());
        *server = Some(Server::start_runc_in(dir, &["--bridge", BRIDGE]));
        let s = server.as_ref().unwrap();
        s.eventually(30, "shared adopted", || {
            pod_field(s, "shared", ".status.containerStatuses[*].ready") == "true true"
        });
        assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid);
        let ps = |c: &str| s.ok(&["exec", "shared", "-c", c, "--", "ps", "-o", "pid,args"]);
        let before = ps("sidecar");
        let app = before
            .lines()
            .find(|l| l.contains("sleep 3600"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap()
            .to_string();
        s.ok(&["exec", "shared", "-c", "sidecar", "--", "kill", &app]);
        s.eventually(30, "app restarted", || {
            pod_field(s, "shared", ".status.containerStatuses[0].restartCount") == "1"
        });
        let after = ps("app");
        assert!(
            after.contains("sleep 7200") && after.contains("pause"),
            "{after}"
        );
        s.ok(&["delete", "pod", "shared", "--wait=false"]);
        pods_gone_and_node_clean(s);
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}
