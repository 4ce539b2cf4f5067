//! `port-forward`: TCP connections to a port on a pod's loopback, as the kubelet serves
//! `/portForward/{ns}/{pod}` (`pkg/kubelet/cri/streaming/portforward`). Three transports:
//!
//! - SPDY/3.1 with subprotocol `portforward.k8s.io` (kubectl up to 1.30, and the fallback of
//!   later ones): per forwarded connection the client opens an error and a data stream with
//!   the headers `streamType`, `port` and `requestID` ([`super::portforward_spdy`]);
//! - the same SPDY session tunnelled in WebSocket binary messages, subprotocol
//!   `SPDY/3.1+portforward.k8s.io` (kubectl 1.31+, feature `PortForwardWebsockets`). Upstream
//!   the API server unwraps it and speaks SPDY to the kubelet; ordo's API server relays the
//!   WebSocket as is and the agent unwraps it, so the data still flows client → API server →
//!   agent;
//! - the WebSocket channel protocol (`v4.channel.k8s.io`, `v4.base64.channel.k8s.io`) with the
//!   ports in the query (`?port=80&port=81`): one connection per port, a data and an error
//!   channel each ([`super::portforward_ws`]).
//!
//! The connection to the pod is made inside the pod's network namespace, to `localhost`
//! (127.0.0.1, then ::1), and failures are reported with containerd's and the kubelet's
//! wording on the error stream.

use super::{portforward_spdy, portforward_ws, spdy, status_error, Shared};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The SPDY subprotocol of port forwarding.
pub const PROTOCOL_V1: &str = "portforward.k8s.io";
/// The subprotocol of SPDY tunnelled in WebSocket (`constants.WebsocketsSPDYTunnelingPrefix`).
pub const TUNNELED_V1: &str = "SPDY/3.1+portforward.k8s.io";
/// The WebSocket channel subprotocols, binary and base64.
pub const WS_BINARY: &str = "v4.channel.k8s.io";
pub const WS_BASE64: &str = "v4.base64.channel.k8s.io";

/// Where a pod's ports are.
#[derive(Clone, Debug)]
pub struct PodPorts {
    /// How error messages name the pod (containerd names its sandbox; ordo its uid).
    pub id: String,
    /// The pod's network namespace; `None` for a `hostNetwork` pod.
    pub netns: Option<PathBuf>,
}

impl PodPorts {
    /// Connects to `port` on the pod's loopback; the error is the text the kubelet writes on
    /// the error stream.
    pub async fn connect(&self, port: u16) -> Result<tokio::net::TcpStream, String> {
        let me = self.clone();
        let r = tokio::task::spawn_blocking(move || me.dial(port))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
        let s = r.map_err(|detail| {
            format!(
                "error forwarding port {port} to pod {}, uid : {detail}",
                self.id
            )
        })?;
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        let _ = s.set_nodelay(true);
        tokio::net::TcpStream::from_std(s).map_err(|e| e.to_string())
    }

    /// Dials `localhost:port` in the namespace (blocking), IPv4 first as containerd does.
    fn dial(&self, port: u16) -> Result<std::net::TcpStream, String> {
        let id = self.id.clone();
        let attempt = move || -> Result<std::net::TcpStream, String> {
            let timeout = Duration::from_secs(5);
            let v4 = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
            let v6 = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
            let e4 = match std::net::TcpStream::connect_timeout(&v4, timeout) {
                Ok(s) => return Ok(s),
                Err(e) => e,
            };
            let e6 = match std::net::TcpStream::connect_timeout(&v6, timeout) {
                Ok(s) => return Ok(s),
                Err(e) => e,
            };
            Err(format!(
                "failed to connect to localhost:{port} inside namespace \"{id}\", IPv4: dial tcp4 {v4}: connect: {} IPv6 dial tcp6 {v6}: connect: {} ",
                go_error(&e4),
                go_error(&e6)
            ))
        };
        let (where_, r) = match &self.netns {
            None => ("host".to_string(), attempt()),
            Some(p) => (
                p.display().to_string(),
                crate::network::netns::run_in(p, move || Ok(attempt()))
                    .unwrap_or_else(|e| Err(format!("{e:#}"))),
            ),
        };
        r.map_err(|e| {
            format!("failed to execute portforward in network namespace \"{where_}\": {e}")
        })
    }
}

/// An I/O error as Go prints a syscall error (`connection refused`).
fn go_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::TimedOut {
        return "i/o timeout".into();
    }
    match e.raw_os_error() {
        Some(code) => {
            let d = nix::errno::Errno::from_raw(code).desc();
            let mut c = d.chars();
            c.next()
                .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
        None => e.to_string(),
    }
}

/// Copies between a forwarded connection's client side and the pod's socket until the pod
/// side ends: `from_client` yields what the client sends (its end is the client's half
/// close), `to_client` takes what the pod sends (`None` once: the pod closed its side).
/// When the client stops sending first, the pod still gets to answer; when the pod closes
/// first, the client has a second to finish, as containerd gives it.
pub async fn pipe(
    tcp: tokio::net::TcpStream,
    mut from_client: tokio::sync::mpsc::Receiver<bytes::Bytes>,
    to_client: tokio::sync::mpsc::Sender<Option<bytes::Bytes>>,
) {
    let (mut rd, mut wr) = tcp.into_split();
    let mut up = tokio::spawn(async move {
        while let Some(b) = from_client.recv().await {
            if wr.write_all(&b).await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });
    let down = async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk = bytes::Bytes::copy_from_slice(&buf[..n]);
                    if to_client.send(Some(chunk)).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = to_client.send(None).await;
    };
    down.await;
    if tokio::time::timeout(Duration::from_secs(1), &mut up)
        .await
        .is_err()
    {
        up.abort();
    }
}

/// `GET|POST /portForward/{ns}/{pod}`.
pub(super) async fn port_forward(
    State(shared): State<Arc<Shared>>,
    Path((ns, pod)): Path<(String, String)>,
    req: Request,
) -> Response {
    if !super::authorized(&shared, req.method(), req.headers()).await {
        return status_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let ports = match shared.target.pod_ports(&ns, &pod).await {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::info!("port-forward to {ns}/{pod} refused: {e:#}");
            return status_error(StatusCode::BAD_REQUEST, "BadRequest", &format!("{e:#}"));
        }
    };
    if spdy::is_spdy(req.headers()) {
        return upgrade_spdy(req, ns, pod, ports);
    }
    let offered = offered_protocols(req.headers());
    let query = req.uri().query().unwrap_or("").to_string();
    let Ok(ws) = WebSocketUpgrade::from_request(req, &()).await else {
        return status_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Upgrade request required",
        );
    };
    if offered.iter().any(|p| p == TUNNELED_V1) {
        tracing::info!("port-forward to {ns}/{pod} over SPDY tunnelled in WebSocket");
        return ws
            .protocols([TUNNELED_V1])
            .on_upgrade(move |socket| async move {
                let (rd, frames) = portforward_ws::tunnel(socket);
                portforward_spdy::serve(rd, frames, ports).await;
                tracing::info!("port-forward to {ns}/{pod} ended");
            })
            .into_response();
    }
    let wanted = match portforward_ws::ports_of(&query) {
        Ok(p) => p,
        Err(e) => return status_error(StatusCode::BAD_REQUEST, "BadRequest", &e),
    };
    tracing::info!("port-forward to {ns}/{pod}: WebSocket channels for ports {wanted:?}");
    ws.protocols([WS_BINARY, WS_BASE64])
        .on_upgrade(move |socket| portforward_ws::serve(socket, wanted, ports))
        .into_response()
}

/// The subprotocols a WebSocket request offers.
fn offered_protocols(h: &HeaderMap) -> Vec<String> {
    h.get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .collect()
}

/// Accepts a SPDY upgrade if the client speaks `portforward.k8s.io` (or names no protocol, as
/// very old clients), as `httpstream.Handshake` does.
fn upgrade_spdy(mut req: Request, ns: String, pod: String, ports: Arc<PodPorts>) -> Response {
    let asked: Vec<String> = req
        .headers()
        .get_all("X-Stream-Protocol-Version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .collect();
    if !asked.is_empty() && !asked.iter().any(|p| p == PROTOCOL_V1) {
        return status_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "unable to upgrade: unable to negotiate protocol: client supports {asked:?}, server supports [\"{PROTOCOL_V1}\"]"
            ),
        );
    }
    let on = hyper::upgrade::on(&mut req);
    tracing::info!("port-forward to {ns}/{pod} over SPDY/3.1");
    tokio::spawn(async move {
        match on.await {
            Ok(up) => {
                let io = hyper_util::rt::TokioIo::new(up);
                let (rd, wr) = tokio::io::split(io);
                let frames = portforward_spdy::raw_writer(wr);
                portforward_spdy::serve(rd, frames, ports).await;
                tracing::info!("port-forward to {ns}/{pod} ended");
            }
            Err(e) => tracing::debug!("port-forward upgrade failed: {e}"),
        }
    });
    spdy::switching_protocols(PROTOCOL_V1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_like_go() {
        let e = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(go_error(&e), "connection refused");
    }

    #[tokio::test]
    async fn closed_ports_give_containerds_text() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let p = PodPorts {
            id: "abc".into(),
            netns: None,
        };
        let err = p.connect(port).await.unwrap_err();
        assert!(
            err.starts_with(&format!(
                "error forwarding port {port} to pod abc, uid : failed to execute portforward in network namespace \"host\": failed to connect to localhost:{port} inside namespace \"abc\", IPv4: dial tcp4 127.0.0.1:{port}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: "
            )),
            "{err}"
        );
    }

    #[tokio::test]
    async fn pipe_relays_both_ways_and_reports_the_end() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let echo = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            s.write_all(&got).await.unwrap();
        });
        let p = PodPorts {
            id: "x".into(),
            netns: None,
        };
        let tcp = p.connect(port).await.unwrap();
        let (in_tx, in_rx) = tokio::sync::mpsc::channel(4);
        let (out_tx, mut out_rx) = tokio::sync::mpsc::channel(4);
        let piping = tokio::spawn(pipe(tcp, in_rx, out_tx));
        in_tx
            .send(bytes::Bytes::from_static(b"hello"))
            .await
            .unwrap();
        drop(in_tx);
        let mut back = Vec::new();
        while let Some(Some(b)) = out_rx.recv().await {
            back.extend_from_slice(&b);
        }
        assert_eq!(back, b"hello");
        piping.await.unwrap();
        echo.await.unwrap();
    }
}
