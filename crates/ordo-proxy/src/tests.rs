use crate::model::{self, Protocol, ServiceInfo, ServicePort, SliceInfo, SlicePort};
use crate::ruleset::{self, RulesetConfig};
use std::net::{Ipv4Addr, SocketAddrV4};

fn cfg() -> RulesetConfig {
    RulesetConfig {
        table: "ordot".into(),
        service_cidr: (Ipv4Addr::new(10, 96, 0, 0), 12),
        bridge: "ordo0".into(),
        masquerade_bridge: false,
        apiserver_loopback: None,
        served_locally: vec![Ipv4Addr::new(10, 96, 0, 10)],
    }
}

fn web(node_port: Option<u16>) -> ServiceInfo {
    ServiceInfo {
        namespace: "default".into(),
        name: "web".into(),
        cluster_ip: Ipv4Addr::new(10, 96, 0, 20),
        ports: vec![ServicePort {
            name: "http".into(),
            protocol: Protocol::Tcp,
            port: 80,
            node_port,
        }],
    }
}

fn slice(ips: &[[u8; 4]], port: u16) -> SliceInfo {
    SliceInfo {
        namespace: "default".into(),
        service: "web".into(),
        ports: vec![SlicePort {
            name: "http".into(),
            protocol: Protocol::Tcp,
            port,
        }],
        ready: ips.iter().map(|o| Ipv4Addr::from(*o)).collect(),
    }
}

/// The lines of `text` without indentation.
fn lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).collect()
}

#[test]
fn cluster_ip_spreads_over_ready_endpoints_at_random() {
    let text = ruleset::ruleset(
        &cfg(),
        &[web(None)],
        &[slice(&[[10, 244, 0, 6], [10, 244, 0, 5]], 8080)],
        "",
    );
    let l = lines(&text);
    assert_eq!(l[0], "add table ip ordot");
    assert_eq!(l[1], "delete table ip ordot");
    assert!(
        l.contains(&"elements = { 10.96.0.20 . tcp . 80 : goto service-default/web/tcp/http }"),
        "{text}"
    );
    assert!(l.contains(&"numgen random mod 2 vmap { 0 : goto endpoint-default/web/tcp/http/10.244.0.5/8080, 1 : goto endpoint-default/web/tcp/http/10.244.0.6/8080 }"), "{text}");
    // Each endpoint DNATs to the slice's port and masquerades its own connections (hairpin).
    let ep = text
        .split("chain endpoint-default/web/tcp/http/10.244.0.5/8080 {")
        .nth(1)
        .unwrap();
    let ep = lines(ep);
    assert_eq!(ep[1], "ip saddr 10.244.0.5 jump mark-for-masquerade");
    assert_eq!(ep[2], "meta l4proto tcp dnat to 10.244.0.5:8080");
    // No NodePort: nothing in the NodePort maps, no external chain.
    assert!(!text.contains("external-"), "{text}");
    assert!(l.contains(&"ip daddr 10.96.0.0/12 counter drop"));
    assert!(l.contains(&"elements = { 10.96.0.20 }"));
}

#[test]
fn a_service_without_ready_endpoints_is_rejected_not_translated() {
    let mut sl = slice(&[], 8080);
    sl.ready.clear();
    let text = ruleset::ruleset(&cfg(), &[web(Some(30080))], &[sl], "");
    let l = lines(&text);
    assert!(
        l.contains(&"elements = { 10.96.0.20 . tcp . 80 : goto reject-chain }"),
        "{text}"
    );
    assert!(
        l.contains(&"elements = { tcp . 30080 : goto reject-chain }"),
        "{text}"
    );
    assert!(!text.contains("chain service-"), "{text}");
    assert!(!text.contains("dnat to"), "{text}");
}

#[test]
fn node_ports_are_masqueraded_and_go_to_the_service_chain() {
    let text = ruleset::ruleset(
        &cfg(),
        &[web(Some(30080))],
        &[slice(&[[10, 244, 0, 5]], 80)],
        "",
    );
    let l = lines(&text);
    assert!(
        l.contains(&"elements = { tcp . 30080 : goto external-default/web/tcp/http }"),
        "{text}"
    );
    let ext = lines(
        text.split("chain external-default/web/tcp/http {")
            .nth(1)
            .unwrap(),
    );
    assert_eq!(
        ext[1..3],
        [
            "jump mark-for-masquerade",
            "goto service-default/web/tcp/http"
        ]
    );
    // One endpoint: no numgen.
    let svc = lines(
        text.split("chain service-default/web/tcp/http {")
            .nth(1)
            .unwrap(),
    );
    assert_eq!(svc[1], "goto endpoint-default/web/tcp/http/10.244.0.5/80");
    assert!(l.contains(&"fib daddr type local meta l4proto . th dport vmap @service-nodeports"));
}

#[test]
fn slices_are_matched_by_service_port_name_and_protocol() {
    let mut svc = web(None);
    svc.ports.push(ServicePort {
        name: "dns".into(),
        protocol: Protocol::Udp,
        port: 53,
        node_port: None,
    });
    let mut sl = slice(&[[10, 244, 0, 5]], 8080);
    sl.ports.push(SlicePort {
        name: "dns".into(),
        protocol: Protocol::Udp,
        port: 5353,
    });
    let other = SliceInfo {
        service: "other".into(),
        ..slice(&[[10, 244, 0, 9]], 80)
    };
    let slices = [sl, other];
    let eps = |p: &ServicePort| ruleset::endpoints(&svc, p, &slices);
    assert_eq!(
        eps(&svc.ports[0]),
        [SocketAddrV4::new([10, 244, 0, 5].into(), 8080)]
    );
    assert_eq!(
        eps(&svc.ports[1]),
        [SocketAddrV4::new([10, 244, 0, 5].into(), 5353)]
    );
    let text = ruleset::ruleset(&cfg(), &[svc.clone()], &slices, "");
    assert!(
        text.contains("meta l4proto udp dnat to 10.244.0.5:5353"),
        "{text}"
    );
    assert!(!text.contains("10.244.0.9"), "{text}");
}

#[test]
fn cluster_dns_is_left_alone_and_kubernetes_can_go_to_loopback() {
    let dns = ServiceInfo {
        namespace: "kube-system".into(),
        name: "kube-dns".into(),
        cluster_ip: Ipv4Addr::new(10, 96, 0, 10),
        ports: vec![ServicePort {
            name: "dns".into(),
            protocol: Protocol::Udp,
            port: 53,
            node_port: None,
        }],
    };
    let k = ServiceInfo {
        namespace: "default".into(),
        name: "kubernetes".into(),
        cluster_ip: Ipv4Addr::new(10, 96, 0, 1),
        ports: vec![ServicePort {
            name: "https".into(),
            protocol: Protocol::Tcp,
            port: 443,
            node_port: None,
        }],
    };
    let ks = SliceInfo {
        namespace: "default".into(),
        service: "kubernetes".into(),
        ports: vec![SlicePort {
            name: "https".into(),
            protocol: Protocol::Tcp,
            port: 6443,
        }],
        ready: [Ipv4Addr::new(192, 0, 2, 2)].into(),
    };
    let text = ruleset::ruleset(
        &cfg(),
        &[dns.clone(), k.clone()],
        std::slice::from_ref(&ks),
        "",
    );
    assert!(!text.contains("10.96.0.10"), "{text}");
    assert!(text.contains("dnat to 192.0.2.2:6443"), "{text}");
    let mut c = cfg();
    c.apiserver_loopback = Some(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 41234));
    c.masquerade_bridge = true;
    let text = ruleset::ruleset(&c, &[dns, k], &[ks], "");
    let l = lines(&text);
    assert!(
        l.contains(&"meta l4proto tcp dnat to 127.0.0.1:41234"),
        "{text}"
    );
    assert!(!text.contains("ip saddr 127.0.0.1"), "{text}");
    assert!(
        l.contains(&"iifname \"ordo0\" jump mark-for-masquerade"),
        "{text}"
    );
    assert!(l.contains(&"iifname \"ordo0\" ip daddr 127.0.0.0/8 ct status & dnat == 0 drop"));
}

#[test]
fn kubernetes_objects_convert_to_the_slim_view() {
    let svc: k8s_openapi::api::core::v1::Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "NodePort", "clusterIP": "10.96.0.20", "ports": [
            {"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080},
            {"name": "q", "port": 81, "protocol": "UDP"}]}
    }))
    .unwrap();
    let s = model::service_info(&svc).unwrap();
    assert_eq!(s.cluster_ip, Ipv4Addr::new(10, 96, 0, 20));
    assert_eq!(s.ports[0].node_port, Some(30080));
    assert_eq!(s.ports[1].protocol, Protocol::Udp);
    let headless: k8s_openapi::api::core::v1::Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "h", "namespace": "default"}, "spec": {"clusterIP": "None"}
    }))
    .unwrap();
    assert!(model::service_info(&headless).is_none());
    let es: k8s_openapi::api::discovery::v1::EndpointSlice =
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-x", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": ["10.244.0.5"], "conditions": {"ready": true}},
                {"addresses": ["10.244.0.6"], "conditions": {"ready": false}},
                {"addresses": ["10.244.0.7"]}
            ]
        }))
        .unwrap();
    let sl = model::slice_info(&es).unwrap();
    assert_eq!(sl.service, "web");
    let ready: Vec<String> = sl.ready.iter().map(|i| i.to_string()).collect();
    assert_eq!(ready, ["10.244.0.5", "10.244.0.7"]);
}

/// The kernel accepts the generated script (`nft --check`: nothing is committed). Needs root
/// and nft (run as root with `--include-ignored`, as `scripts/test.sh` does).
#[test]
#[ignore = "needs root and nft (scripts/test.sh runs these as root with --include-ignored)"]
fn nft_accepts_the_ruleset() {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    let nft = std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_ok_and(|v| v.status.success());
    assert!(root && nft, "needs root and nft (Debian package nftables)");
    let mut c = cfg();
    c.masquerade_bridge = true;
    c.apiserver_loopback = Some(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 6443));
    let mut svc = web(Some(30080));
    svc.ports.push(ServicePort {
        name: "dns".into(),
        protocol: Protocol::Udp,
        port: 53,
        node_port: Some(30053),
    });
    let empty = ServiceInfo {
        name: "empty".into(),
        cluster_ip: Ipv4Addr::new(10, 96, 0, 21),
        ..web(Some(30081))
    };
    let mut sl = slice(&[[10, 244, 0, 5], [10, 244, 0, 6], [10, 244, 0, 7]], 80);
    sl.ports.push(SlicePort {
        name: "dns".into(),
        protocol: Protocol::Udp,
        port: 53,
    });
    for text in [
        ruleset::ruleset(&c, &[svc, empty], &[sl], ""),
        ruleset::ruleset(&c, &[], &[], ""),
        ruleset::ruleset(&c, &[], &[], &crate::policy::tests::sample()),
        ruleset::delete_script("ordot"),
    ] {
        let out = run_with_stdin("nft", &["--check", "-f", "-"], &text);
        assert!(
            out.status.success(),
            "{}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// How long one sync takes for 1000 Services of 2 endpoints each: the script's generation
/// and its `nft -f` transaction, run in a new network namespace (`unshare -n`), so nothing
/// touches the host's tables. Needs root, nft and unshare: `cargo test -p ordo-proxy --
/// --ignored --nocapture`.
#[test]
#[ignore]
fn measure_a_sync_of_1000_services() {
    let svcs: Vec<ServiceInfo> = (0..1000u32)
        .map(|i| ServiceInfo {
            name: format!("s{i}"),
            cluster_ip: Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 96, 1, 0)) + i),
            ..web(Some(30000 + i as u16))
        })
        .collect();
    let slices: Vec<SliceInfo> = (0..1000u32)
        .map(|i| SliceInfo {
            service: format!("s{i}"),
            ..slice(
                &[
                    [10, 244, (i / 100) as u8, (i % 100) as u8 + 2],
                    [10, 244, 9, 9],
                ],
                80,
            )
        })
        .collect();
    let t = std::time::Instant::now();
    let text = ruleset::ruleset(&cfg(), &svcs, &slices, "");
    let gen = t.elapsed();
    // The first transaction creates the table, the second replaces it (every later sync).
    let script = "f=$(mktemp); cat >$f; for i in 1 2; do s=$(date +%s%N); nft -f $f || exit 1; \
                  echo \"apply $i: $(( ($(date +%s%N) - s) / 1000000 )) ms\"; done; rm $f";
    let out = run_with_stdin("unshare", &["-n", "sh", "-c", script], &text);
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "1000 services: {} lines, generated in {gen:?}",
        text.lines().count()
    );
}

/// Runs `cmd args` with `stdin` written to it; its output.
fn run_with_stdin(cmd: &str, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
