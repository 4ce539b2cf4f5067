//! End-to-end: the built-in cluster DNS (walkthrough step 2) answered with real DNS queries
//! on loopback against `ordo server --cluster-dns 127.0.0.1:PORT`: Service, headless
//! per-pod, SRV, pod and PTR records, NXDOMAIN with SOA, a name that goes with its pod,
//! forwarding off, and forwarding to a fake upstream started here. No query ever leaves
//! the loopback interface.

mod common;
use common::{Server, WALKTHROUGH};
use ordo_dns::client::{answers, query};
use ordo_dns::proto::op::{Message, ResponseCode};
use ordo_dns::proto::rr::RecordType;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// A loopback port free for both UDP and TCP.
fn free_dns_port() -> u16 {
    loop {
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = t.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn start(upstream: &str) -> (Server, SocketAddr) {
    let port = free_dns_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = Server::start_with(&[
        "--cluster-dns",
        &addr.to_string(),
        "--dns-upstream",
        upstream,
    ]);
    (s, addr)
}

fn ask(dns: SocketAddr, name: &str, t: RecordType) -> Message {
    query(dns, name, t, false, Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("query {name}: {e}"))
}

fn a(dns: SocketAddr, name: &str) -> Vec<String> {
    answers(&ask(dns, name, RecordType::A))
}

fn pod_ip(s: &Server, pod: &str) -> String {
    s.ok(&["get", "pod", pod, "-o", "jsonpath={.status.podIP}"])
}

const WEB: &str = r#"apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: nginx-stateful}
  ports: [{name: http, port: 8080, targetPort: web-port}]
"#;

#[test]
fn cluster_records_follow_the_pods() {
    let (s, dns) = start("none");
    s.apply(WALKTHROUGH);
    s.apply(WEB);
    let last = "nginx-statefulset-2.nginx-stateful-service.default.svc.cluster.local.";
    s.eventually(60, "the third pod's name", || {
        query(dns, last, RecordType::A, false, Duration::from_secs(1))
            .is_ok_and(|m| !m.answers.is_empty())
    });
    let ips: Vec<String> = (0..3)
        .map(|i| pod_ip(&s, &format!("nginx-statefulset-{i}")))
        .collect();
    let mut want: Vec<String> = ips.iter().map(|ip| format!("A {ip}")).collect();
    want.sort();

    // Services: ClusterIP, the kubernetes Service, headless = the ready pods.
    let web_ip = s.ok(&["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"]);
    assert_eq!(
        a(dns, "web.default.svc.cluster.local."),
        [format!("A {web_ip}")]
    );
    assert_eq!(
        a(dns, "kubernetes.default.svc.cluster.local."),
        ["A 10.96.0.1"]
    );
    assert_eq!(
        a(dns, "nginx-stateful-service.default.svc.cluster.local."),
        want
    );
    // The kube-dns Service is created at start with the conventional address.
    assert_eq!(
        s.ok(&[
            "get",
            "svc",
            "-n",
            "kube-system",
            "kube-dns",
            "-o",
            "jsonpath={.spec.clusterIP} {.metadata.labels.k8s-app}"
        ]),
        "10.96.0.10 kube-dns"
    );
    assert_eq!(
        a(dns, "kube-dns.kube-system.svc.cluster.local."),
        ["A 10.96.0.10"]
    );
    // Each StatefulSet pod by its stable name; case-insensitive; over TCP too.
    for (i, ip) in ips.iter().enumerate() {
        assert_eq!(
            a(
                dns,
                &format!("nginx-statefulset-{i}.nginx-stateful-service.default.svc.cluster.local.")
            ),
            [format!("A {ip}")]
        );
    }
    let m = ask(
        dns,
        "NGINX-statefulset-0.Nginx-Stateful-Service.default.svc.cluster.local.",
        RecordType::A,
    );
    assert_eq!(answers(&m), [format!("A {}", ips[0])]);
    assert_eq!(m.answers[0].ttl, 5);
    let m = query(
        dns,
        "web.default.svc.cluster.local.",
        RecordType::A,
        true,
        Duration::from_secs(3),
    )
    .unwrap();
    assert_eq!(answers(&m), [format!("A {web_ip}")]);

    // SRV: per pod for the headless Service, the Service name for a ClusterIP one.
    let srv = answers(&ask(
        dns,
        "_web-port._tcp.nginx-stateful-service.default.svc.cluster.local.",
        RecordType::SRV,
    ));
    assert_eq!(srv.len(), 3, "{srv:?}");
    for i in 0..3 {
        assert!(
            srv.iter().any(|r| r.ends_with(&format!(
                " 80 nginx-statefulset-{i}.nginx-stateful-service.default.svc.cluster.local."
            ))),
            "{srv:?}"
        );
    }
    let srv = ask(
        dns,
        "_http._tcp.web.default.svc.cluster.local.",
        RecordType::SRV,
    );
    assert_eq!(
        answers(&srv),
        ["SRV 0 100 8080 web.default.svc.cluster.local."]
    );
    assert_eq!(srv.additionals.len(), 1);

    // Pods and reverse lookups.
    let dashed = ips[1].replace('.', "-");
    assert_eq!(
        a(dns, &format!("{dashed}.default.pod.cluster.local.")),
        [format!("A {}", ips[1])]
    );
    let rev = |ip: &str| {
        let o: Vec<&str> = ip.split('.').rev().collect();
        format!("{}.in-addr.arpa.", o.join("."))
    };
    assert_eq!(
        answers(&ask(dns, &rev(&ips[0]), RecordType::PTR)),
        ["PTR nginx-statefulset-0.nginx-stateful-service.default.svc.cluster.local."]
    );
    assert_eq!(
        answers(&ask(dns, &rev(&web_ip), RecordType::PTR)),
        ["PTR web.default.svc.cluster.local."]
    );

    // Unknown cluster names: NXDOMAIN with the SOA; known names of another type: NODATA.
    let m = ask(dns, "nope.default.svc.cluster.local.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    let m = ask(dns, "web.default.svc.cluster.local.", RecordType::AAAA);
    assert_eq!(
        (m.metadata.response_code, m.answers.len()),
        (ResponseCode::NoError, 0)
    );

    // Forwarding off: outside names fail at once.
    let t = Instant::now();
    let m = ask(dns, "example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert!(t.elapsed() < Duration::from_millis(500));

    // Latency of cluster answers (sequential, one UDP socket per query).
    let mut lat: Vec<Duration> = (0..200)
        .map(|i| {
            let t = Instant::now();
            ask(
                dns,
                &format!(
                    "nginx-statefulset-{}.nginx-stateful-service.default.svc.cluster.local.",
                    i % 3
                ),
                RecordType::A,
            );
            t.elapsed()
        })
        .collect();
    lat.sort();
    eprintln!(
        "dns query latency over 200 queries: p50 {:?}, p99 {:?}, max {:?}",
        lat[100], lat[198], lat[199]
    );

    // Scale down: the third pod's name goes NXDOMAIN (polled every 10 ms to time it).
    s.ok(&["scale", "statefulset", "nginx-statefulset", "--replicas=2"]);
    let t = Instant::now();
    while ask(dns, last, RecordType::A).metadata.response_code != ResponseCode::NXDomain {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the third pod's name did not go"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("name gone {:?} after kubectl scale", t.elapsed());
    assert_eq!(
        a(dns, "nginx-stateful-service.default.svc.cluster.local.").len(),
        2
    );
    // And comes back when scaled up again.
    s.ok(&["scale", "statefulset", "nginx-statefulset", "--replicas=3"]);
    s.eventually(30, "the third pod's name to return", || {
        ask(dns, last, RecordType::A).answers.len() == 1
    });
}

/// A one-name resolver on loopback: answers `example.test.` with 203.0.113.7 and ignores
/// every other question.
fn fake_upstream() -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, peer)) = sock.recv_from(&mut buf) {
            let Ok(req) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let q = req.queries[0].clone();
            if q.name.to_ascii() != "example.test." {
                continue;
            }
            let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
            resp.add_query(q.clone());
            resp.add_answer(ordo_dns::proto::rr::Record::from_rdata(
                q.name.clone(),
                60,
                ordo_dns::proto::rr::RData::A(ordo_dns::proto::rr::rdata::A(
                    "203.0.113.7".parse().unwrap(),
                )),
            ));
            let _ = sock.send_to(&resp.to_vec().unwrap(), peer);
        }
    });
    addr
}

#[test]
fn outside_names_are_forwarded_or_fail_fast() {
    let up = fake_upstream();
    let (s, dns) = start(&up.to_string());
    let m = ask(dns, "example.test.", RecordType::A);
    assert_eq!(answers(&m), ["A 203.0.113.7"]);
    // A name the upstream never answers: SERVFAIL by the deadline.
    let t = Instant::now();
    let m = ask(dns, "other.test.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(t.elapsed() <= Duration::from_secs(2), "{:?}", t.elapsed());
    // Cluster names are still answered by ordo.
    assert_eq!(
        a(dns, "kubernetes.default.svc.cluster.local."),
        ["A 10.96.0.1"]
    );
    drop(s);

    // An upstream that is not there: SERVFAIL within two seconds.
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (_s, dns) = start(&closed.to_string());
    let t = Instant::now();
    assert_eq!(
        ask(dns, "example.test.", RecordType::A)
            .metadata
            .response_code,
        ResponseCode::ServFail
    );
    assert!(t.elapsed() <= Duration::from_secs(2), "{:?}", t.elapsed());
}
