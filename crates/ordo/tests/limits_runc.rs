//! End-to-end with real containers: resource limits as the kubelet applies them. A container's
//! CPU limit becomes its cgroup's CFS quota over a 100 ms period and its CPU request its CPU
//! shares (cgroup v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`/`cpu.shares`, or cgroup v2 `cpu.max`
//! and `cpu.weight`, which runc derives from the shares); a container without CPU resources
//! gets the minimum shares and no quota.
//!
//! Local storage eviction as the kubelet's eviction manager does it: a pod whose emptyDir
//! outgrows its `sizeLimit`, one whose ephemeral storage outgrows its containers' limits, and
//! one with a container over its own `ephemeral-storage` limit are evicted (phase Failed,
//! reason `Evicted`, the kubelet's message and a Warning event `Evicted`; their containers
//! killed, so `kubectl get pod` shows the killed container's `Error`, as upstream since 1.22),
//! while a pod within its limits keeps running.
//!
//! Needs root and runc; runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::Server;
use std::path::PathBuf;

const CPU_PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: limited}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.28
    command: [sleep, "3600"]
    resources: {requests: {cpu: 250m}, limits: {cpu: 500m}}
---
apiVersion: v1
kind: Pod
metadata: {name: besteffort}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.28
    command: [sleep, "3600"]
"#;

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn cpu_limits_and_requests_reach_the_cgroup() {
    busybox_scenario(|s| {
        s.apply(CPU_PODS);
        for pod in ["limited", "besteffort"] {
            s.eventually(60, &format!("{pod} running"), || running_ready(s, pod));
        }
        let limited = CpuCgroup::of(s, "limited");
        let besteffort = CpuCgroup::of(s, "besteffort");
        match (&limited, &besteffort) {
            (CpuCgroup::V1(l), CpuCgroup::V1(b)) => {
                assert_eq!(read(l, "cpu.cfs_quota_us"), "50000");
                assert_eq!(read(l, "cpu.cfs_period_us"), "100000");
                assert_eq!(read(l, "cpu.shares"), "256");
                assert_eq!(read(b, "cpu.cfs_quota_us"), "-1");
                assert_eq!(read(b, "cpu.shares"), "2");
            }
            (CpuCgroup::V2(l), CpuCgroup::V2(b)) => {
                assert_eq!(read(l, "cpu.max"), "50000 100000");
                // runc: weight = 1 + (shares - 2) * 9999 / 262142
                assert_eq!(read(l, "cpu.weight"), "10");
                assert_eq!(read(b, "cpu.max"), "max 100000");
                assert_eq!(read(b, "cpu.weight"), "1");
            }
            other => panic!("mixed cgroup layouts: {other:?}"),
        }
    });
}

const STORAGE_PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: overflow}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: busybox:1.28
    command: [sh, -c, "dd if=/dev/zero of=/scratch/f bs=1048576 count=12 && exec sleep 3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes:
  - {name: scratch, emptyDir: {sizeLimit: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: within}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.28
    command: [sh, -c, "dd if=/dev/zero of=/scratch/f bs=1048576 count=2 && dd if=/dev/zero of=/f bs=1048576 count=2 && exec sleep 3600"]
    resources: {limits: {ephemeral-storage: 20Mi}}
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes:
  - {name: scratch, emptyDir: {sizeLimit: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: solo}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: busybox:1.28
    command: [sh, -c, "dd if=/dev/zero of=/f bs=1048576 count=8 && exec sleep 3600"]
    resources: {limits: {ephemeral-storage: 5Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: pair}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: busybox:1.28
    command: [sh, -c, "dd if=/dev/zero of=/f bs=1048576 count=8 && exec sleep 3600"]
    resources: {limits: {ephemeral-storage: 5Mi}}
  - name: side
    image: busybox:1.28
    command: [sleep, "3600"]
    resources: {limits: {ephemeral-storage: 50Mi}}
"#;

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn pods_over_local_storage_limits_are_evicted() {
    busybox_scenario(|s| {
        s.apply(STORAGE_PODS);
        let evicted = [
            (
                "overflow",
                "Usage of EmptyDir volume \"scratch\" exceeds the limit \"10Mi\". ",
            ),
            (
                "solo",
                "Pod ephemeral local storage usage exceeds the total limit of containers 5Mi. ",
            ),
            (
                "pair",
                "Container app exceeded its local ephemeral storage limit \"5Mi\". ",
            ),
        ];
        for (pod, message) in evicted {
            s.eventually(90, &format!("{pod} evicted"), || {
                pod_field(s, pod, ".status.phase") == "Failed"
            });
            assert_eq!(pod_field(s, pod, ".status.reason"), "Evicted");
            assert_eq!(pod_field(s, pod, ".status.message"), message);
            let ev = events_of(s, pod);
            assert!(ev.contains(&format!("Evicted|{message}\n")), "{ev}");
            let exit = pod_field(
                s,
                pod,
                ".status.containerStatuses[0].state.terminated.exitCode",
            );
            assert_eq!(exit, "137", "{pod}: its container was killed");
            let row = &common::table(&s.ok(&["get", "pod", pod, "--no-headers"]))[0];
            assert!(row[1].starts_with("0/"), "{row:?}");
            assert_eq!(row[2], "Error", "{row:?}");
        }
        // The killed containers are not restarted, and the pod within its limits still runs.
        assert_eq!(
            pod_field(s, "solo", ".status.containerStatuses[0].restartCount"),
            "0"
        );
        assert!(running_ready(s, "within"));
        let ev = events_of(s, "within");
        assert!(!ev.contains("Evicted"), "{ev}");
    });
}

/// Where a container's CPU controller files are, on the host.
#[derive(Debug)]
enum CpuCgroup {
    V1(PathBuf),
    V2(PathBuf),
}

impl CpuCgroup {
    /// From the container's own `/proc/self/cgroup` (runc gives it no cgroup namespace, so the
    /// paths are the host's).
    fn of(s: &Server, pod: &str) -> CpuCgroup {
        let text = s.ok(&["exec", pod, "--", "cat", "/proc/self/cgroup"]);
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
            let (Some(controllers), Some(path)) = (controllers, path) else {
                continue;
            };
            let rel = path.trim_start_matches('/');
            assert!(!rel.is_empty(), "{pod} is in a root cgroup: {text}");
            if controllers.split(',').any(|c| c == "cpu") {
                let mount = ["cpu", "cpu,cpuacct", "cpuacct,cpu"]
                    .iter()
                    .map(|m| PathBuf::from("/sys/fs/cgroup").join(m))
                    .find(|m| m.join(rel).join("cpu.shares").exists())
                    .unwrap_or_else(|| panic!("no cgroup v1 cpu files for {path}"));
                return CpuCgroup::V1(mount.join(rel));
            }
        }
        let path = text
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or_else(|| panic!("no cpu cgroup in {text}"));
        CpuCgroup::V2(PathBuf::from("/sys/fs/cgroup").join(path.trim_start_matches('/')))
    }
}

fn read(dir: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}
