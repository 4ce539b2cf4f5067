//! End-to-end with real containers: `grpc` and HTTPS `httpGet` probes. The test serves the gRPC
//! health protocol (tonic) and HTTPS (rustls, a self-signed certificate) on 127.0.0.1 and
//! probes them from a `hostNetwork` pod, whose address is the node's: the pod is Ready only
//! while the health service says SERVING (the kubelet's `Unhealthy` text otherwise), and it
//! is restarted when the HTTPS endpoint starts answering 500.
//!
//! Needs root and runc; runs under the real-pods lock. Traffic stays on 127.0.0.1.

mod common;
use common::real_pods::*;
use common::Server;
use ordo_node::probes::grpc::{HealthCheckRequest, HealthCheckResponse};
use std::sync::atomic::{AtomicI32, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::codegen::{http, BoxFuture, Context, Poll, Service};

/// `grpc.health.v1.Health` answering `status` to every check.
#[derive(Clone)]
struct Health(Arc<AtomicI32>);

impl tonic::server::NamedService for Health {
    const NAME: &'static str = "grpc.health.v1.Health";
}

struct Check(Arc<AtomicI32>);

impl tonic::server::UnaryService<HealthCheckRequest> for Check {
    type Response = HealthCheckResponse;
    type Future = std::future::Ready<Result<tonic::Response<HealthCheckResponse>, tonic::Status>>;
    fn call(&mut self, _: tonic::Request<HealthCheckRequest>) -> Self::Future {
        let status = self.0.load(Ordering::SeqCst);
        std::future::ready(Ok(tonic::Response::new(HealthCheckResponse { status })))
    }
}

impl Service<http::Request<tonic::body::Body>> for Health {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let status = self.0.clone();
        Box::pin(async move {
            if req.uri().path() != "/grpc.health.v1.Health/Check" {
                return Ok(tonic::Status::unimplemented("").into_http());
            }
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(Check(status), req).await)
        })
    }
}

/// What the test's servers answer and saw.
struct Servers {
    grpc_port: u16,
    https_port: u16,
    grpc_status: Arc<AtomicI32>,
    https_status: Arc<AtomicU16>,
    https_requests: Arc<Mutex<Vec<String>>>,
}

/// Starts the gRPC health server and the HTTPS server on 127.0.0.1 (in a runtime of their own
/// that lives as long as the test process).
fn start_servers() -> Servers {
    let grpc = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let https = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s = Servers {
        grpc_port: grpc.local_addr().unwrap().port(),
        https_port: https.local_addr().unwrap().port(),
        grpc_status: Arc::new(AtomicI32::new(2)),
        https_status: Arc::new(AtomicU16::new(200)),
        https_requests: Arc::default(),
    };
    let (status, https_status, seen) = (
        s.grpc_status.clone(),
        s.https_status.clone(),
        s.https_requests.clone(),
    );
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            grpc.set_nonblocking(true).unwrap();
            https.set_nonblocking(true).unwrap();
            let grpc = tokio::net::TcpListener::from_std(grpc).unwrap();
            let incoming = tonic::codegen::tokio_stream::wrappers::TcpListenerStream::new(grpc);
            tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(Health(status))
                    .serve_with_incoming(incoming),
            );
            serve_https(
                tokio::net::TcpListener::from_std(https).unwrap(),
                https_status,
                seen,
            )
            .await;
        });
    });
    s
}

/// HTTPS with a fresh self-signed certificate: answers `status`, records the request heads.
async fn serve_https(
    l: tokio::net::TcpListener,
    status: Arc<AtomicU16>,
    seen: Arc<Mutex<Vec<String>>>,
) {
    let acceptor = ordo_node::probes::tls::self_signed_acceptor().unwrap();
    while let Ok((tcp, _)) = l.accept().await {
        let (acceptor, status, seen) = (acceptor.clone(), status.clone(), seen.clone());
        tokio::spawn(async move {
            let Ok(mut s) = acceptor.accept(tcp).await else {
                return;
            };
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap_or(0);
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let code = status.load(Ordering::SeqCst);
            let resp =
                format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = s.write_all(resp.as_bytes()).await;
            let _ = s.shutdown().await;
        });
    }
}

fn probed(grpc: u16, https: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: probed}}\nspec:\n  hostNetwork: true\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: app\n    image: busybox:1.28\n    command: [sleep, '3600']\n    readinessProbe: {{grpc: {{port: {grpc}}}, periodSeconds: 1}}\n    livenessProbe: {{httpGet: {{scheme: HTTPS, port: {https}, path: /healthz}}, periodSeconds: 1, failureThreshold: 1}}\n"
    )
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn grpc_and_https_probes() {
    busybox_scenario(scenario);
}

fn events(s: &Server) -> String {
    s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=probed",
        "-o",
        "jsonpath={range .items[*]}{.reason}|{.message}{\"\\n\"}{end}",
    ])
}

fn scenario(s: &Server) {
    let srv = start_servers();
    s.apply(&probed(srv.grpc_port, srv.https_port));
    s.eventually(90, "probed Running", || {
        pod_field(s, "probed", ".status.phase") == "Running"
    });
    // NOT_SERVING: not ready, with the kubelet's words.
    s.eventually(20, "the readiness failure", || {
        events(s).lines().any(|l| {
            l == "Unhealthy|Readiness probe failed: service unhealthy (responded with \"NOT_SERVING\")"
        })
    });
    assert_eq!(
        pod_field(s, "probed", ".status.containerStatuses[0].ready"),
        "false"
    );
    srv.grpc_status.store(1, Ordering::SeqCst);
    s.eventually(20, "probed Ready", || {
        pod_field(s, "probed", ".status.containerStatuses[0].ready") == "true"
    });
    // The liveness probe spoke TLS to the HTTPS server, as kube-probe.
    let seen = srv.https_requests.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|r| r.starts_with("GET /healthz HTTP/1.1\r\n")
                && r.contains("User-Agent: kube-probe/")),
        "{seen:?}"
    );
    assert_eq!(
        pod_field(s, "probed", ".status.containerStatuses[0].restartCount"),
        "0"
    );
    // 500 over HTTPS: the container is killed and restarted.
    srv.https_status.store(500, Ordering::SeqCst);
    s.eventually(30, "the restart", || {
        pod_field(s, "probed", ".status.containerStatuses[0].restartCount")
            .parse::<i32>()
            .unwrap_or(0)
            >= 1
    });
    let ev = events(s);
    for want in [
        "Unhealthy|Liveness probe failed: HTTP probe failed with statuscode: 500",
        "Killing|Container app failed liveness probe, will be restarted",
    ] {
        assert!(ev.lines().any(|l| l == want), "{want:?} not in:\n{ev}");
    }
}
