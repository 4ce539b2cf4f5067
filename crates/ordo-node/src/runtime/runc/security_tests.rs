use super::*;
use crate::runtime::runc::bundle::{self, BundleInput};
use serde_json::{json, Value};

fn pod(sc: Value, containers: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "db-0", "namespace": "shop", "uid": "u-1"},
        "spec": {"securityContext": sc, "containers": containers},
    }))
    .unwrap()
}

fn first(p: &Pod) -> &Container {
    &p.spec.as_ref().unwrap().containers[0]
}

/// The spec of the pod's first container, as JSON.
fn spec_of(p: &Pod, groups: &[u32], devices: &[LinuxDevice]) -> Value {
    let img = oci_spec::image::ConfigBuilder::default()
        .cmd(vec!["sh".to_string()])
        .build()
        .unwrap();
    let i = BundleInput {
        service_env: Vec::new(),
        pod: p,
        container: first(p),
        image: Some(&img),
        rootfs: "/r".into(),
        netns: None,
        pid_ns: None,
        ipc_ns: None,
        uts_ns: None,
        hostname: "db-0".into(),
        pod_ip: None,
        host_ip: "127.0.0.1".into(),
        hosts: "/h".into(),
        hostname_file: "/hn".into(),
        resolv_conf: "/rc".into(),
        cgroups_path: "/ordo/x".into(),
        user: (1000, 3000),
        groups: groups.to_vec(),
        devices: devices.to_vec(),
    };
    serde_json::to_value(bundle::spec(&i).unwrap()).unwrap()
}

#[test]
fn run_as_non_root_refuses_as_the_kubelet_does() {
    let c = json!([{"name": "app", "securityContext": {"runAsNonRoot": true}}]);
    let p = pod(json!({}), c);
    let err = |u: Option<&str>| verify_run_as_non_root(&p, first(&p), u).map_err(|e| e.0);
    assert_eq!(
        err(None),
        Err("container has runAsNonRoot and image will run as root (pod: \"db-0_shop(u-1)\", container: app)".into())
    );
    assert!(err(Some("0:0")).is_err());
    assert_eq!(err(Some("1000")), Ok(()));
    assert_eq!(err(Some("1000:50")), Ok(()));
    assert_eq!(
        err(Some("nginx")),
        Err("container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root (pod: \"db-0_shop(u-1)\", container: app)".into())
    );
    // runAsUser decides when set; the pod's fields apply when the container's are unset.
    let p = pod(
        json!({"runAsNonRoot": true, "runAsUser": 0}),
        json!([{"name": "app"}]),
    );
    assert_eq!(
        verify_run_as_non_root(&p, first(&p), Some("1000")).map_err(|e| e.0),
        Err("container's runAsUser breaks non-root policy (pod: \"db-0_shop(u-1)\", container: app)".into())
    );
    let p = pod(
        json!({"runAsNonRoot": true}),
        json!([{"name": "app", "securityContext": {"runAsUser": 1000}}]),
    );
    assert!(verify_run_as_non_root(&p, first(&p), None).is_ok());
    // The container may lift the pod's requirement.
    let p = pod(
        json!({"runAsNonRoot": true}),
        json!([{"name": "app", "securityContext": {"runAsNonRoot": false}}]),
    );
    assert!(verify_run_as_non_root(&p, first(&p), None).is_ok());
}

#[test]
fn additional_gids_are_containerds() {
    let passwd = "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n";
    let group = "root:x:0:\napp:x:1000:app\nwheel:x:10:root,app\naudio:x:29:other\n";
    let p = pod(
        json!({"supplementalGroups": [4000, 10], "fsGroup": 2000}),
        json!([{"name": "app"}]),
    );
    assert_eq!(
        additional_gids(&p, 1000, 3000, passwd, group),
        [3000, 10, 4000, 2000]
    );
    // A uid the image does not know has no memberships.
    assert_eq!(
        additional_gids(&p, 5000, 5000, passwd, group),
        [5000, 4000, 10, 2000]
    );
    let none = pod(json!({}), json!([{"name": "app"}]));
    assert_eq!(additional_gids(&none, 0, 0, passwd, group), [0, 10]);
}

#[test]
fn the_spec_carries_groups_read_only_root_seccomp_and_sysctls() {
    let p = pod(
        json!({"seccompProfile": {"type": "RuntimeDefault"},
               "sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"},
                           {"name": "net/ipv4/ping_group_range", "value": "0 100"}]}),
        json!([{"name": "app", "securityContext": {
            "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}]),
    );
    let v = spec_of(&p, &[3000, 2000], &[]);
    assert_eq!(v["process"]["user"]["additionalGids"], json!([3000, 2000]));
    assert_eq!(v["process"]["noNewPrivileges"], true);
    assert_eq!(
        v["process"]["capabilities"]["effective"],
        json!(["CAP_NET_BIND_SERVICE"])
    );
    assert_eq!(v["root"]["readonly"], true);
    assert_eq!(
        v["linux"]["sysctl"],
        json!({"kernel.shm_rmid_forced": "1", "net.ipv4.ping_group_range": "0 100"})
    );
    let sc = &v["linux"]["seccomp"];
    assert_eq!(sc["defaultAction"], "SCMP_ACT_ALLOW");
    let refused = sc["syscalls"][0]["names"].as_array().unwrap();
    for s in ["mount", "unshare", "keyctl", "bpf", "ptrace"] {
        assert_eq!(refused.contains(&json!(s)), s != "ptrace", "{s}");
    }
    assert!(sc["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["names"] == json!(["clone"]) && s["args"][0]["op"] == "SCMP_CMP_MASKED_EQ"));
    // The container's Unconfined wins over the pod's RuntimeDefault.
    let mut p2 = p.clone();
    p2.spec.as_mut().unwrap().containers[0]
        .security_context
        .as_mut()
        .unwrap()
        .seccomp_profile = Some(SeccompProfile {
        type_: "Unconfined".into(),
        ..Default::default()
    });
    assert!(spec_of(&p2, &[], &[])["linux"].get("seccomp").is_none());
    // Without a security context: writable root, no filter, no sysctls, default capabilities.
    let plain = pod(json!({}), json!([{"name": "app"}]));
    let v = spec_of(&plain, &[], &[]);
    assert_eq!(v["root"]["readonly"], false);
    assert!(v["linux"].get("seccomp").is_none() && v["linux"].get("sysctl").is_none());
    assert!(v["linux"]["maskedPaths"].as_array().unwrap().len() > 3);
}

#[test]
fn capabilities_unlock_their_syscalls_in_the_default_profile() {
    let caps: Capabilities = [Capability::SysAdmin, Capability::SysTime]
        .into_iter()
        .collect();
    let p = runtime_default_profile(&caps).unwrap();
    let v = serde_json::to_value(&p).unwrap();
    let refused = v["syscalls"][0]["names"].as_array().unwrap();
    assert!(!refused.contains(&json!("mount")) && !refused.contains(&json!("settimeofday")));
    assert!(refused.contains(&json!("reboot")) && refused.contains(&json!("keyctl")));
    // With CAP_SYS_ADMIN, clone may create namespaces.
    assert_eq!(v["syscalls"].as_array().unwrap().len(), 1);
}

#[test]
fn privileged_containers_see_the_host() {
    let p = pod(
        json!({"seccompProfile": {"type": "RuntimeDefault"}}),
        json!([{"name": "app", "securityContext": {"privileged": true}}]),
    );
    let dev = oci_spec::runtime::LinuxDeviceBuilder::default()
        .path("/dev/loop0")
        .typ(oci_spec::runtime::LinuxDeviceType::B)
        .major(7)
        .minor(0)
        .build()
        .unwrap();
    let v = spec_of(&p, &[], &[dev]);
    assert!(v["linux"].get("seccomp").is_none());
    assert!(v["linux"].get("maskedPaths").is_none());
    assert!(v["linux"].get("readonlyPaths").is_none());
    assert_eq!(v["linux"]["devices"][0]["path"], "/dev/loop0");
    assert_eq!(
        v["linux"]["resources"]["devices"],
        json!([{"allow": true, "access": "rwm"}])
    );
    let sys = v["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/sys")
        .unwrap();
    assert!(sys["options"].as_array().unwrap().contains(&json!("rw")));
    assert!(v["process"]["capabilities"]["bounding"]
        .as_array()
        .unwrap()
        .contains(&json!("CAP_SYS_ADMIN")));
}

#[test]
fn localhost_seccomp_profiles_are_refused_as_configuration() {
    let p = pod(
        json!({"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}),
        json!([{"name": "app"}]),
    );
    let e = seccomp(&p, first(&p), &Capabilities::new()).unwrap_err();
    assert!(e.0.contains("Localhost"), "{e}");
}

#[test]
fn sysctl_admission_allows_the_safe_set_only() {
    let with = |sysctls: Value, host_net: bool| -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"hostNetwork": host_net, "containers": [],
                     "securityContext": {"sysctls": sysctls}},
        }))
        .unwrap()
    };
    let safe = json!([{"name": "net.ipv4.tcp_syncookies", "value": "1"},
                      {"name": "kernel/shm_rmid_forced", "value": "1"}]);
    assert_eq!(forbidden_sysctl(&with(safe.clone(), false)), None);
    assert_eq!(
        forbidden_sysctl(&with(safe, true)).as_deref(),
        Some("forbidden sysctl: \"net.ipv4.tcp_syncookies\" not allowed with host net enabled")
    );
    assert_eq!(
        forbidden_sysctl(&with(
            json!([{"name": "kernel.msgmax", "value": "1"}]),
            false
        ))
        .as_deref(),
        Some("forbidden sysctl: \"kernel.msgmax\" not allowlisted")
    );
    assert_eq!(
        normalize_sysctl("net/ipv4/conf/eth0.100/rp_filter"),
        "net.ipv4.conf.eth0/100.rp_filter"
    );
    assert_eq!(normalize_sysctl("net.ipv4.tcp_rmem"), "net.ipv4.tcp_rmem");
}
