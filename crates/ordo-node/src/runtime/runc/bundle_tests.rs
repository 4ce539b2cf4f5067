use super::*;
use k8s_openapi::api::core::v1::{
    Capabilities as K8sCaps, EnvVar, EnvVarSource, ObjectFieldSelector, PodSecurityContext,
    PodSpec, ResourceRequirements, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use oci_spec::image::ConfigBuilder;

fn pod() -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web-0".into()),
            namespace: Some("shop".into()),
            uid: Some("u-1".into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some("n1".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn image(entrypoint: &[&str], cmd: &[&str]) -> ImageConfig {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    ConfigBuilder::default()
        .entrypoint(v(entrypoint))
        .cmd(v(cmd))
        .env(vec!["PATH=/bin".to_string(), "MODE=image".into()])
        .working_dir("/srv")
        .build()
        .unwrap()
}

fn container(command: Option<&[&str]>, args: Option<&[&str]>) -> Container {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Container {
        name: "c".into(),
        command: command.map(v),
        args: args.map(v),
        ..Default::default()
    }
}

#[test]
fn argv_merges_like_kubernetes() {
    let img = image(&["/entry"], &["--cmd"]);
    let env = vec!["WHO=world".to_string()];
    assert_eq!(
        argv(&container(None, None), Some(&img), &env).unwrap(),
        ["/entry", "--cmd"]
    );
    // command replaces Entrypoint and drops Cmd.
    assert_eq!(
        argv(&container(Some(&["sh", "-c"]), None), Some(&img), &env).unwrap(),
        ["sh", "-c"]
    );
    // args replaces Cmd only.
    assert_eq!(
        argv(&container(None, Some(&["--x"])), Some(&img), &env).unwrap(),
        ["/entry", "--x"]
    );
    assert_eq!(
        argv(
            &container(Some(&["echo"]), Some(&["hi $(WHO)", "$$(WHO)", "$(NOPE)"])),
            Some(&img),
            &env
        )
        .unwrap(),
        ["echo", "hi world", "$(WHO)", "$(NOPE)"]
    );
    assert!(argv(&container(None, None), None, &env).is_err());
}

#[test]
fn environment_merges_image_container_and_field_refs() {
    let img = image(&[], &["sh"]);
    let mut c = container(None, None);
    let field = |p: &str| {
        Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: p.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
    };
    c.env = Some(vec![
        EnvVar {
            name: "MODE".into(),
            value: Some("pod".into()),
            ..Default::default()
        },
        EnvVar {
            name: "POD_NAME".into(),
            value_from: field("metadata.name"),
            ..Default::default()
        },
        EnvVar {
            name: "POD_NS".into(),
            value_from: field("metadata.namespace"),
            ..Default::default()
        },
        EnvVar {
            name: "POD_IP".into(),
            value_from: field("status.podIP"),
            ..Default::default()
        },
        EnvVar {
            name: "NODE".into(),
            value_from: field("spec.nodeName"),
            ..Default::default()
        },
        EnvVar {
            name: "GREETING".into(),
            value: Some("in $(POD_NS)".into()),
            ..Default::default()
        },
    ]);
    let env = environment(
        &pod(),
        &c,
        Some(&img),
        Some(Ipv4Addr::new(10, 244, 0, 9)),
        "127.0.0.1",
        "web-0",
        &[],
    );
    assert_eq!(
        env,
        [
            "PATH=/bin",
            "MODE=pod",
            "HOSTNAME=web-0",
            "POD_NAME=web-0",
            "POD_NS=shop",
            "POD_IP=10.244.0.9",
            "NODE=n1",
            "GREETING=in shop"
        ]
    );
}

#[test]
fn capabilities_default_add_drop() {
    let caps = capabilities(&container(None, None));
    assert!(caps.contains(&Capability::NetRaw), "ping needs NET_RAW");
    assert!(caps.contains(&Capability::NetBindService) && caps.contains(&Capability::Chown));
    assert!(!caps.contains(&Capability::SysAdmin) && !caps.contains(&Capability::NetAdmin));
    assert_eq!(caps.len(), DEFAULT_CAPABILITIES.len());
    let mut c = container(None, None);
    c.security_context = Some(SecurityContext {
        capabilities: Some(K8sCaps {
            add: Some(vec!["NET_ADMIN".into()]),
            drop: Some(vec!["ALL".into()]),
        }),
        ..Default::default()
    });
    assert_eq!(
        capabilities(&c),
        [Capability::NetAdmin].into_iter().collect()
    );
    c.security_context = Some(SecurityContext {
        privileged: Some(true),
        ..Default::default()
    });
    assert!(capabilities(&c).contains(&Capability::SysAdmin));
}

#[test]
fn users_resolve_against_the_image() {
    let passwd = "root:x:0:0::/root:/bin/sh\nnginx:x:101:102::/:/bin/false\n";
    let group = "root:x:0:\nnginx:x:102:\nstaff:x:50:\n";
    let p = pod();
    let c = container(None, None);
    assert_eq!(user(&p, &c, None, passwd, group).unwrap(), (0, 0));
    assert_eq!(
        user(&p, &c, Some("nginx"), passwd, group).unwrap(),
        (101, 102)
    );
    assert_eq!(
        user(&p, &c, Some("1000:staff"), passwd, group).unwrap(),
        (1000, 50)
    );
    assert!(user(&p, &c, Some("ghost"), passwd, group).is_err());
    let mut p2 = pod();
    p2.spec.as_mut().unwrap().security_context = Some(PodSecurityContext {
        run_as_user: Some(2000),
        run_as_group: Some(3000),
        ..Default::default()
    });
    assert_eq!(
        user(&p2, &c, Some("nginx"), passwd, group).unwrap(),
        (2000, 3000)
    );
}

#[test]
fn quantities() {
    assert_eq!(parse_bytes("128Mi"), Some(128 << 20));
    assert_eq!(parse_bytes("1G"), Some(1_000_000_000));
    assert_eq!(parse_bytes("1e3"), Some(1000));
    assert_eq!(parse_bytes("512"), Some(512));
    assert_eq!(parse_bytes("12XB"), None);
    assert_eq!(parse_millicpu("250m"), Some(250));
    assert_eq!(parse_millicpu("0.5"), Some(500));
    assert_eq!(parse_millicpu("2"), Some(2000));
}

fn input<'a>(
    p: &'a Pod,
    c: &'a Container,
    img: &'a ImageConfig,
    netns: Option<&str>,
) -> BundleInput<'a> {
    BundleInput {
        service_env: Vec::new(),
        pod: p,
        container: c,
        image: Some(img),
        rootfs: "/data/pods/u-1/containers/c/rootfs".into(),
        netns: netns.map(PathBuf::from),
        pid_ns: None,
        ipc_ns: None,
        uts_ns: None,
        hostname: "web-0".into(),
        pod_ip: Some(Ipv4Addr::new(10, 244, 0, 9)),
        host_ip: "127.0.0.1".into(),
        hosts: "/data/pods/u-1/hosts".into(),
        hostname_file: "/data/pods/u-1/hostname".into(),
        resolv_conf: "/data/pods/u-1/resolv.conf".into(),
        cgroups_path: "/ordo/abc".into(),
        user: (0, 0),
        groups: Vec::new(),
        devices: Vec::new(),
    }
}

#[test]
fn spec_has_namespaces_mounts_limits_and_process() {
    let p = pod();
    let mut c = container(None, None);
    c.resources = Some(ResourceRequirements {
        limits: Some(
            [
                ("memory".to_string(), Quantity("64Mi".into())),
                ("cpu".to_string(), Quantity("500m".into())),
            ]
            .into(),
        ),
        requests: Some([("cpu".to_string(), Quantity("250m".into()))].into()),
        ..Default::default()
    });
    let img = image(&[], &["nginx", "-g", "daemon off;"]);
    let s = spec(&input(&p, &c, &img, Some("/run/netns/ordo0-u-1"))).unwrap();
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["hostname"], "web-0");
    assert_eq!(v["root"]["path"], "/data/pods/u-1/containers/c/rootfs");
    assert_eq!(v["root"]["readonly"], false);
    assert_eq!(
        v["process"]["args"],
        serde_json::json!(["nginx", "-g", "daemon off;"])
    );
    assert_eq!(v["process"]["cwd"], "/srv");
    assert!(v["process"]["capabilities"]["bounding"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("CAP_NET_RAW")));
    let ns = v["linux"]["namespaces"].as_array().unwrap();
    for t in ["pid", "ipc", "uts", "mount"] {
        assert!(
            ns.iter().any(|n| n["type"] == t && n.get("path").is_none()),
            "{t} in {ns:?}"
        );
    }
    assert!(ns
        .iter()
        .any(|n| n["type"] == "network" && n["path"] == "/run/netns/ordo0-u-1"));
    assert_eq!(v["linux"]["resources"]["memory"]["limit"], 64 << 20);
    assert_eq!(v["linux"]["resources"]["cpu"]["quota"], 50_000);
    assert_eq!(v["linux"]["resources"]["cpu"]["period"], 100_000);
    assert_eq!(v["linux"]["resources"]["cpu"]["shares"], 256);
    assert_eq!(v["linux"]["cgroupsPath"], "/ordo/abc");
    let mounts = v["mounts"].as_array().unwrap();
    for (dst, src) in [
        ("/etc/hosts", "/data/pods/u-1/hosts"),
        ("/etc/resolv.conf", "/data/pods/u-1/resolv.conf"),
        ("/etc/hostname", "/data/pods/u-1/hostname"),
    ] {
        assert!(
            mounts
                .iter()
                .any(|m| m["destination"] == dst && m["source"] == src && m["type"] == "bind"),
            "{dst}"
        );
    }
    assert!(mounts
        .iter()
        .any(|m| m["destination"] == "/proc" && m["type"] == "proc"));
    // Host network: no network namespace.
    let s = spec(&input(&p, &c, &img, None)).unwrap();
    assert!(!serde_json::to_value(&s).unwrap()["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["type"] == "network"));
}

#[test]
fn a_tty_container_gets_a_terminal_and_term() {
    let p = pod();
    let img = image(&[], &["sh"]);
    let mut c = container(None, None);
    let plain = serde_json::to_value(spec(&input(&p, &c, &img, None)).unwrap()).unwrap();
    assert_eq!(plain["process"]["terminal"], false);
    assert!(!plain["process"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "TERM=xterm"));
    c.tty = Some(true);
    c.stdin = Some(true);
    let tty = serde_json::to_value(spec(&input(&p, &c, &img, None)).unwrap()).unwrap();
    assert_eq!(tty["process"]["terminal"], true);
    assert!(tty["process"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "TERM=xterm"));
}

#[test]
fn a_shared_process_namespace_is_joined() {
    let p = pod();
    let c = container(None, None);
    let img = image(&[], &["sh"]);
    let mut i = input(&p, &c, &img, None);
    let own = serde_json::to_value(spec(&i).unwrap()).unwrap();
    let pid_ns = |v: &serde_json::Value| {
        v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["type"] == "pid")
            .cloned()
            .unwrap()
    };
    assert!(pid_ns(&own).get("path").is_none());
    i.pid_ns = Some("/proc/42/ns/pid".into());
    let shared = serde_json::to_value(spec(&i).unwrap()).unwrap();
    assert_eq!(pid_ns(&shared)["path"], "/proc/42/ns/pid");
}

/// The namespaces of a spec as `type` or `type=path`, in order.
fn namespaces_of(i: &BundleInput) -> Vec<String> {
    let v = serde_json::to_value(spec(i).unwrap()).unwrap();
    v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| match n["path"].as_str() {
            Some(p) => format!("{}={p}", n["type"].as_str().unwrap()),
            None => n["type"].as_str().unwrap().to_string(),
        })
        .collect()
}

#[test]
fn host_pid_and_ipc_leave_out_their_namespaces() {
    let mut p = pod();
    let c = container(None, None);
    let img = image(&[], &["sh"]);
    let netns = Some("/run/netns/n");
    assert_eq!(
        namespaces_of(&input(&p, &c, &img, netns)),
        ["pid", "ipc", "uts", "mount", "network=/run/netns/n"]
    );
    let spec = p.spec.as_mut().unwrap();
    spec.host_pid = Some(true);
    spec.host_ipc = Some(true);
    spec.host_network = Some(true);
    assert_eq!(namespaces_of(&input(&p, &c, &img, None)), ["uts", "mount"]);
}

#[test]
fn an_ephemeral_container_joins_its_targets_namespaces() {
    let p = pod();
    let c = container(None, None);
    let img = image(&[], &["sh"]);
    let mut i = input(&p, &c, &img, Some("/run/netns/n"));
    i.pid_ns = Some("/proc/7/ns/pid".into());
    i.ipc_ns = Some("/proc/7/ns/ipc".into());
    i.uts_ns = Some("/proc/7/ns/uts".into());
    assert_eq!(
        namespaces_of(&i),
        [
            "pid=/proc/7/ns/pid",
            "ipc=/proc/7/ns/ipc",
            "uts=/proc/7/ns/uts",
            "mount",
            "network=/run/netns/n"
        ]
    );
}
