use super::*;

fn pod(spec: serde_json::Value) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "p", "namespace": "default", "uid": "u"},
        "spec": spec,
    }))
    .unwrap()
}

fn usage(volumes: &[(&str, u64)], containers: &[(&str, u64)], other: u64) -> PodUsage {
    PodUsage {
        volumes: volumes.iter().map(|(n, b)| (n.to_string(), *b)).collect(),
        containers: containers
            .iter()
            .map(|(n, b)| (n.to_string(), *b))
            .collect(),
        other,
    }
}

const MI: u64 = 1 << 20;

#[test]
fn an_empty_dir_over_its_size_limit() {
    let p = pod(serde_json::json!({
        "containers": [{"name": "app", "image": "busybox"}],
        "volumes": [
            {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
            {"name": "scratch", "emptyDir": {"sizeLimit": "10Mi"}},
            {"name": "free", "emptyDir": {}},
        ],
    }));
    assert!(has_local_storage_limit(&p));
    assert_eq!(violation(&p, &usage(&[("scratch", 10 * MI)], &[], 0)), None);
    assert_eq!(
        violation(
            &p,
            &usage(&[("scratch", 10 * MI + 1), ("free", 100 * MI)], &[], 0)
        )
        .as_deref(),
        Some("Usage of EmptyDir volume \"scratch\" exceeds the limit \"10Mi\". ")
    );
    let memory_only = pod(serde_json::json!({
        "containers": [{"name": "app", "image": "busybox"}],
        "volumes": [{"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}],
    }));
    assert!(!has_local_storage_limit(&memory_only));
}

#[test]
fn the_pods_total_then_each_container() {
    let p = pod(serde_json::json!({
        "containers": [
            {"name": "app", "image": "busybox", "resources": {"limits": {"ephemeral-storage": "5Mi"}}},
            {"name": "side", "image": "busybox", "resources": {"limits": {"ephemeral-storage": "15Mi"}}},
            {"name": "free", "image": "busybox"},
        ],
        "volumes": [{"name": "scratch", "emptyDir": {}}],
    }));
    assert!(has_local_storage_limit(&p));
    // Within: 20Mi in all.
    assert_eq!(
        violation(
            &p,
            &usage(&[("scratch", 10 * MI)], &[("app", 5 * MI)], 4096)
        ),
        None
    );
    // The pod's total counts emptyDirs, every container and the rest.
    assert_eq!(
        violation(&p, &usage(&[("scratch", 10 * MI)], &[("side", 10 * MI)], 1)).as_deref(),
        Some("Pod ephemeral local storage usage exceeds the total limit of containers 20Mi. ")
    );
    // Within the total, one container over its own limit.
    assert_eq!(
        violation(&p, &usage(&[], &[("app", 6 * MI), ("side", MI)], 0)).as_deref(),
        Some("Container app exceeded its local ephemeral storage limit \"5Mi\". ")
    );
}

#[test]
fn limits_print_as_upstream_quantities() {
    let p = pod(serde_json::json!({
        "containers": [
            {"name": "a", "image": "busybox", "resources": {"limits": {"ephemeral-storage": "1024Mi"}}},
            {"name": "b", "image": "busybox", "resources": {"limits": {"ephemeral-storage": "512Mi"}}},
        ],
    }));
    assert_eq!(
        violation(&p, &usage(&[], &[("a", 1000 * MI), ("b", 600 * MI)], 0)).as_deref(),
        Some("Pod ephemeral local storage usage exceeds the total limit of containers 1536Mi. ")
    );
    assert_eq!(
        violation(&p, &usage(&[], &[("a", 1025 * MI)], 0)).as_deref(),
        Some("Container a exceeded its local ephemeral storage limit \"1Gi\". ")
    );
    let decimal = pod(serde_json::json!({
        "containers": [{"name": "a", "image": "busybox", "resources": {"limits": {"ephemeral-storage": "2000k"}}}],
    }));
    assert_eq!(
        violation(&decimal, &usage(&[], &[("a", 2_000_001)], 0)).as_deref(),
        Some("Pod ephemeral local storage usage exceeds the total limit of containers 2M. ")
    );
    let none = pod(serde_json::json!({"containers": [{"name": "a", "image": "busybox"}]}));
    assert!(!has_local_storage_limit(&none));
    assert_eq!(
        violation(&none, &usage(&[], &[("a", u64::MAX / 2)], 0)),
        None
    );
}

#[test]
fn disk_usage_counts_blocks_once_per_inode() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(disk_usage(&dir.path().join("missing")), 0);
    let empty = disk_usage(dir.path());
    let data = vec![7u8; 1 << 20];
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/f"), &data).unwrap();
    std::fs::hard_link(dir.path().join("sub/f"), dir.path().join("g")).unwrap();
    std::os::unix::fs::symlink("/usr", dir.path().join("l")).unwrap();
    let used = disk_usage(dir.path()) - empty;
    assert!(used >= 1 << 20, "{used}");
    assert!(used < 2 << 20, "the hard link counted twice: {used}");
}
