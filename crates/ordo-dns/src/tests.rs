//! Unit tests of the pure parts: objects → zone → answers → messages.

use crate::answer::{parse_dashed, parse_reverse, resolve, respond, Data, Outcome, Rec};
use crate::zone::{pod_entry, service_entry, slice_entry, Zone};
use crate::{kube_dns_ip, parse_upstreams};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;
use std::net::Ipv4Addr;

const D: &str = "cluster.local";

fn svc(ns: &str, name: &str, ip: &str, ports: serde_json::Value) -> Service {
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip, "ports": ports}})).unwrap()
}

fn slice(ns: &str, svc: &str, eps: serde_json::Value, ports: serde_json::Value) -> EndpointSlice {
    serde_json::from_value(json!({"metadata": {"name": format!("{svc}-abcde"), "namespace": ns, "labels": {"kubernetes.io/service-name": svc}},
        "addressType": "IPv4", "endpoints": eps, "ports": ports}))
    .unwrap()
}

fn pod(ns: &str, ip: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": "p", "namespace": ns}, "status": {"phase": "Running", "podIP": ip}})).unwrap()
}

/// kubernetes (ClusterIP), web (ClusterIP, named port), nginx (headless: web-0 ready, web-1
/// ready, 10.244.0.9 ready without hostname, web-2 not ready), ext (ExternalName).
fn zone() -> Zone {
    let services: Vec<_> = [
        svc("default", "kubernetes", "10.96.0.1", json!([{"name": "https", "port": 443, "protocol": "TCP"}])),
        svc("shop", "web", "10.96.3.4", json!([{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 81}])),
        svc("shop", "nginx", "None", json!([{"name": "web-port", "port": 80}])),
        serde_json::from_value(json!({"metadata": {"name": "ext", "namespace": "shop"}, "spec": {"type": "ExternalName", "externalName": "example.org."}})).unwrap(),
    ]
    .iter()
    .filter_map(service_entry)
    .collect();
    let slices: Vec<_> = [slice(
        "shop",
        "nginx",
        json!([
            {"addresses": ["10.244.0.5"], "hostname": "web-0", "conditions": {"ready": true}},
            {"addresses": ["10.244.0.6"], "hostname": "web-1", "conditions": {"ready": true}},
            {"addresses": ["10.244.0.9"], "conditions": {}},
            {"addresses": ["10.244.0.7"], "hostname": "web-2", "conditions": {"ready": false}}
        ]),
        json!([{"name": "web-port", "port": 8080, "protocol": "TCP"}]),
    )]
    .iter()
    .filter_map(slice_entry)
    .collect();
    let pods: Vec<_> = [pod("shop", "10.244.0.5"), pod("shop", "10.244.0.8")]
        .iter()
        .filter_map(pod_entry)
        .collect();
    Zone::build(D, &services, &slices, &pods)
}

fn a(zone: &Zone, name: &str) -> Vec<Ipv4Addr> {
    match resolve(zone, D, name, RecordType::A) {
        Outcome::Answer { answers, .. } => answers
            .into_iter()
            .map(|r| match r.data {
                Data::A(ip) => ip,
                d => panic!("not A: {d:?}"),
            })
            .collect(),
        o => panic!("{name}: {o:?}"),
    }
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn service_names() {
    let z = zone();
    assert_eq!(
        a(&z, "kubernetes.default.svc.cluster.local"),
        [ip("10.96.0.1")]
    );
    assert_eq!(a(&z, "web.shop.svc.cluster.local"), [ip("10.96.3.4")]);
    // Headless: the ready endpoints only.
    assert_eq!(
        a(&z, "nginx.shop.svc.cluster.local"),
        [ip("10.244.0.5"), ip("10.244.0.6"), ip("10.244.0.9")]
    );
    assert_eq!(
        resolve(&z, D, "nope.shop.svc.cluster.local", RecordType::A),
        Outcome::NxDomain
    );
    assert_eq!(
        resolve(&z, D, "web.other.svc.cluster.local", RecordType::A),
        Outcome::NxDomain
    );
    // The name exists, not with this type: NODATA.
    assert_eq!(
        resolve(&z, D, "web.shop.svc.cluster.local", RecordType::AAAA),
        Outcome::Answer {
            answers: vec![],
            additionals: vec![]
        }
    );
    assert_eq!(
        resolve(&z, D, "example.org", RecordType::A),
        Outcome::Outside
    );
    let Outcome::Answer { answers, .. } =
        resolve(&z, D, "ext.shop.svc.cluster.local", RecordType::A)
    else {
        panic!()
    };
    assert_eq!(answers[0].data, Data::Cname("example.org".into()));
}

#[test]
fn headless_endpoint_names() {
    let z = zone();
    assert_eq!(
        a(&z, "web-0.nginx.shop.svc.cluster.local"),
        [ip("10.244.0.5")]
    );
    assert_eq!(
        a(&z, "web-1.nginx.shop.svc.cluster.local"),
        [ip("10.244.0.6")]
    );
    assert_eq!(
        a(&z, "10-244-0-9.nginx.shop.svc.cluster.local"),
        [ip("10.244.0.9")]
    );
    // Not ready, unknown, or not headless: no name.
    assert_eq!(
        resolve(&z, D, "web-2.nginx.shop.svc.cluster.local", RecordType::A),
        Outcome::NxDomain
    );
    assert_eq!(
        resolve(&z, D, "web-9.nginx.shop.svc.cluster.local", RecordType::A),
        Outcome::NxDomain
    );
    assert_eq!(
        resolve(&z, D, "x.web.shop.svc.cluster.local", RecordType::A),
        Outcome::NxDomain
    );
}

#[test]
fn srv_records() {
    let z = zone();
    let Outcome::Answer {
        answers,
        additionals,
    } = resolve(
        &z,
        D,
        "_http._tcp.web.shop.svc.cluster.local",
        RecordType::SRV,
    )
    else {
        panic!()
    };
    assert_eq!(
        answers[0].data,
        Data::Srv {
            weight: 100,
            port: 80,
            target: "web.shop.svc.cluster.local".into()
        }
    );
    assert_eq!(
        additionals,
        [Rec {
            name: "web.shop.svc.cluster.local".into(),
            data: Data::A(ip("10.96.3.4"))
        }]
    );
    assert_eq!(
        resolve(
            &z,
            D,
            "_http._udp.web.shop.svc.cluster.local",
            RecordType::SRV
        ),
        Outcome::NxDomain
    );
    // Headless: one per ready endpoint, with the endpoint port, target = hostname or dashed IP.
    let Outcome::Answer { answers, .. } = resolve(
        &z,
        D,
        "_web-port._tcp.nginx.shop.svc.cluster.local",
        RecordType::SRV,
    ) else {
        panic!()
    };
    let targets: Vec<_> = answers
        .iter()
        .map(|r| match &r.data {
            Data::Srv {
                port: 8080, target, ..
            } => target.clone(),
            d => panic!("{d:?}"),
        })
        .collect();
    assert_eq!(
        targets,
        [
            "web-0.nginx.shop.svc.cluster.local",
            "web-1.nginx.shop.svc.cluster.local",
            "10-244-0-9.nginx.shop.svc.cluster.local"
        ]
    );
}

#[test]
fn pod_and_reverse_names() {
    let z = zone();
    assert_eq!(
        a(&z, "10-244-0-8.shop.pod.cluster.local"),
        [ip("10.244.0.8")]
    );
    assert_eq!(
        resolve(&z, D, "10-244-0-8.other.pod.cluster.local", RecordType::A),
        Outcome::NxDomain
    );
    assert_eq!(
        resolve(&z, D, "10-244-0-99.shop.pod.cluster.local", RecordType::A),
        Outcome::NxDomain
    );
    let ptr = |n: &str| match resolve(&z, D, n, RecordType::PTR) {
        Outcome::Answer { answers, .. } => answers[0].data.clone(),
        o => panic!("{n}: {o:?}"),
    };
    assert_eq!(
        ptr("1.0.96.10.in-addr.arpa"),
        Data::Ptr("kubernetes.default.svc.cluster.local".into())
    );
    assert_eq!(
        ptr("5.0.244.10.in-addr.arpa"),
        Data::Ptr("web-0.nginx.shop.svc.cluster.local".into())
    );
    assert_eq!(
        ptr("8.0.244.10.in-addr.arpa"),
        Data::Ptr("10-244-0-8.shop.pod.cluster.local".into())
    );
    assert_eq!(
        resolve(&z, D, "4.3.2.1.in-addr.arpa", RecordType::PTR),
        Outcome::Outside
    );
    assert_eq!(
        parse_reverse("5.0.244.10.in-addr.arpa"),
        Some(ip("10.244.0.5"))
    );
    assert_eq!(parse_reverse("0.244.10.in-addr.arpa"), None);
    assert_eq!(parse_dashed("10-244-0-5"), Some(ip("10.244.0.5")));
    assert_eq!(parse_dashed("web-0"), None);
}

#[test]
fn zone_apex_and_namespaces() {
    let z = zone();
    assert!(
        matches!(resolve(&z, D, "cluster.local", RecordType::SOA), Outcome::Answer { answers, .. } if answers[0].data == Data::Soa)
    );
    assert!(
        matches!(resolve(&z, D, "shop.svc.cluster.local", RecordType::A), Outcome::Answer { answers, .. } if answers.is_empty())
    );
    assert_eq!(
        resolve(&z, D, "ghost.svc.cluster.local", RecordType::A),
        Outcome::NxDomain
    );
    assert_eq!(
        resolve(&z, D, "a.b.c.d.e.f.cluster.local", RecordType::A),
        Outcome::NxDomain
    );
}

fn ask(z: &Zone, name: &str, t: RecordType) -> Message {
    let mut req = Message::query();
    req.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    respond(z, D, 7, &req).expect("cluster name")
}

#[test]
fn messages() {
    let z = zone();
    let m = ask(&z, "WEB.Shop.svc.cluster.local.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers[0].ttl, 5);
    // The answer carries the name as asked.
    assert_eq!(m.answers[0].name.to_ascii(), "WEB.Shop.svc.cluster.local.");
    let m = ask(&z, "nope.shop.svc.cluster.local.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    let m = ask(
        &z,
        "_web-port._tcp.nginx.shop.svc.cluster.local.",
        RecordType::SRV,
    );
    assert_eq!(m.answers.len(), 3);
    assert_eq!(m.additionals.len(), 3);
    let mut req = Message::query();
    req.add_query(Query::query(
        Name::from_ascii("example.org.").unwrap(),
        RecordType::A,
    ));
    assert!(respond(&z, D, 7, &req).is_none());
}

#[test]
fn upstreams_and_kube_dns_ip() {
    let listen = "10.96.0.10:53".parse().unwrap();
    let host = "# comment\nnameserver 192.0.2.53\nnameserver 10.96.0.10\nnameserver fe80::1%eth0\nsearch x\n";
    let ups = parse_upstreams(&[], host, listen).unwrap();
    assert_eq!(
        ups,
        [
            "192.0.2.53:53".parse().unwrap(),
            "[fe80::1]:53".parse().unwrap()
        ]
    );
    assert!(parse_upstreams(&["none".into()], host, listen)
        .unwrap()
        .is_empty());
    let ups =
        parse_upstreams(&["127.0.0.1:5353".into(), "127.0.0.2".into()], host, listen).unwrap();
    assert_eq!(
        ups,
        [
            "127.0.0.1:5353".parse().unwrap(),
            "127.0.0.2:53".parse().unwrap()
        ]
    );
    assert!(parse_upstreams(&["bogus".into()], host, listen).is_err());
    assert_eq!(kube_dns_ip(listen, "10.96.0.0/12"), Some(ip("10.96.0.10")));
    assert_eq!(
        kube_dns_ip("10.100.0.53:53".parse().unwrap(), "10.96.0.0/12"),
        Some(ip("10.100.0.53"))
    );
    assert_eq!(
        kube_dns_ip("127.0.0.1:5300".parse().unwrap(), "10.96.0.0/12"),
        Some(ip("10.96.0.10"))
    );
}

fn handler(zone: Zone, synced: bool) -> crate::server::Handler {
    let snap = crate::Snapshot {
        zone,
        serial: 1,
        synced,
    };
    crate::server::Handler {
        snapshot: std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(snap))),
        domain: D.into(),
        upstreams: vec![],
    }
}

fn query_bytes(name: &str, t: RecordType) -> Vec<u8> {
    let mut req = Message::query();
    req.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    req.to_vec().unwrap()
}

#[tokio::test]
async fn handler_codes_and_truncation() {
    use crate::server::Transport::{Tcp, Udp};
    let code = |b: Option<Vec<u8>>| {
        Message::from_vec(&b.unwrap())
            .unwrap()
            .metadata
            .response_code
    };
    // Before the first full list: SERVFAIL rather than a cacheable NXDOMAIN.
    let h = handler(zone(), false);
    assert_eq!(
        code(
            h.handle(
                &query_bytes("web.shop.svc.cluster.local.", RecordType::A),
                Udp
            )
            .await
        ),
        ResponseCode::ServFail
    );
    let h = handler(zone(), true);
    assert_eq!(
        code(
            h.handle(
                &query_bytes("web.shop.svc.cluster.local.", RecordType::A),
                Udp
            )
            .await
        ),
        ResponseCode::NoError
    );
    // Forwarding off.
    assert_eq!(
        code(
            h.handle(&query_bytes("example.org.", RecordType::A), Udp)
                .await
        ),
        ResponseCode::Refused
    );
    assert!(h.handle(b"garbage", Udp).await.is_none());
    // 60 endpoints do not fit in 512 bytes over UDP: truncated; TCP carries them all.
    let svcs: Vec<_> = [svc("shop", "big", "None", json!([]))]
        .iter()
        .filter_map(service_entry)
        .collect();
    let eps: Vec<_> = (0..60)
        .map(|i| json!({"addresses": [format!("10.244.1.{}", i + 2)]}))
        .collect();
    let slices: Vec<_> = [slice("shop", "big", json!(eps), json!([]))]
        .iter()
        .filter_map(slice_entry)
        .collect();
    let h = handler(Zone::build(D, &svcs, &slices, &[]), true);
    let q = query_bytes("big.shop.svc.cluster.local.", RecordType::A);
    let udp = Message::from_vec(&h.handle(&q, Udp).await.unwrap()).unwrap();
    assert!(udp.metadata.truncation);
    let tcp = Message::from_vec(&h.handle(&q, Tcp).await.unwrap()).unwrap();
    assert_eq!(tcp.answers.len(), 60);
}
