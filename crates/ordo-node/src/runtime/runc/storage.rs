//! What a pod of the runc runtime uses of the node's disk, counted as the kubelet's pod stats
//! count ephemeral storage: each container's writable layer (its overlay upper directory) and
//! logs, the disk-backed `emptyDir` volumes, and the pod's `/etc/hosts`.

use crate::eviction::{disk_usage, PodUsage};
use k8s_openapi::api::core::v1::Pod;
use std::path::Path;

/// The usage of the pod whose directory is `pod_dir` (`DIR/pods/<uid>`).
pub fn pod_usage(pod_dir: &Path, pod: &Pod) -> PodUsage {
    let mut usage = PodUsage::default();
    let Some(spec) = pod.spec.as_ref() else {
        return usage;
    };
    let volumes = super::volumes::volumes_dir(pod_dir);
    for v in spec.volumes.iter().flatten() {
        let Some(e) = v.empty_dir.as_ref() else {
            continue;
        };
        if e.medium.as_deref() != Some("Memory") {
            usage
                .volumes
                .insert(v.name.clone(), disk_usage(&volumes.join(&v.name)));
        }
    }
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        let layer = disk_usage(&pod_dir.join("containers").join(&c.name).join("upper"));
        let logs = [
            format!("{}.log", c.name),
            format!("{}.previous.log", c.name),
        ]
        .iter()
        .map(|f| disk_usage(&pod_dir.join(f)))
        .sum::<u64>();
        usage.containers.insert(c.name.clone(), layer + logs);
    }
    usage.other = disk_usage(&pod_dir.join("hosts"));
    usage
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_layers_logs_disk_empty_dirs_and_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {
                "containers": [{"name": "app", "image": "busybox"}],
                "volumes": [
                    {"name": "scratch", "emptyDir": {}},
                    {"name": "mem", "emptyDir": {"medium": "Memory"}},
                ],
            },
        }))
        .unwrap();
        let mb = vec![1u8; 1 << 20];
        std::fs::create_dir_all(p.join("containers/app/upper/tmp")).unwrap();
        std::fs::write(p.join("containers/app/upper/tmp/f"), &mb).unwrap();
        std::fs::write(p.join("app.log"), &mb).unwrap();
        std::fs::create_dir_all(p.join("volumes/scratch")).unwrap();
        std::fs::write(p.join("volumes/scratch/f"), &mb).unwrap();
        std::fs::write(p.join("hosts"), b"127.0.0.1 localhost\n").unwrap();
        let u = pod_usage(p, &pod);
        assert!(u.containers["app"] >= 2 << 20, "{u:?}");
        assert!(u.volumes["scratch"] >= 1 << 20, "{u:?}");
        assert!(!u.volumes.contains_key("mem"), "{u:?}");
        assert!(u.other > 0, "{u:?}");
    }
}
