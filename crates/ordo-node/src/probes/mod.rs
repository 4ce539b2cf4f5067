//! Container probes as the kubelet runs them: startup, then liveness and readiness, each with
//! `initialDelaySeconds`, `periodSeconds`, `timeoutSeconds`, `successThreshold` and
//! `failureThreshold`; `exec` (in the container, through the runtime), `httpGet` and
//! `tcpSocket` and `grpc` (the gRPC health protocol, [`grpc`]) from the node to the pod's IP;
//! `httpGet` with `scheme: HTTPS` speaks TLS without verifying the certificate ([`tls`]).
//!
//! [`Prober`] is the pure part (when the next run is due, thresholds); [`run`] does the I/O.

pub mod grpc;
pub mod tls;

use crate::runtime::Runtime;
use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `startupProbe`: the other probes wait until it succeeds; failing restarts the container.
    Startup,
    /// `livenessProbe`: failing restarts the container.
    Liveness,
    /// `readinessProbe`: sets the container's `ready`.
    Readiness,
}

impl Kind {
    /// `Startup`, `Liveness`, `Readiness`: the first word of upstream's event messages.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
        }
    }
}

/// One probe of one container instance: when it runs next and its consecutive results.
#[derive(Clone, Debug)]
pub struct Prober {
    /// Which probe this is.
    pub kind: Kind,
    /// The probe as the container spec sets it.
    pub probe: Probe,
    /// When the next run is due.
    pub next: Instant,
    successes: i32,
    failures: i32,
}

fn secs(v: Option<i32>, default: i32, min: i32) -> Duration {
    Duration::from_secs(v.unwrap_or(default).max(min) as u64)
}

impl Prober {
    /// A probe for a container that started at `started`; the first run is due after
    /// `initialDelaySeconds`.
    pub fn new(kind: Kind, probe: &Probe, started: Instant) -> Prober {
        Prober {
            kind,
            next: started + secs(probe.initial_delay_seconds, 0, 0),
            probe: probe.clone(),
            successes: 0,
            failures: 0,
        }
    }

    /// `periodSeconds` (default 10).
    pub fn period(&self) -> Duration {
        secs(self.probe.period_seconds, 10, 1)
    }

    /// `timeoutSeconds` (default 1).
    pub fn timeout(&self) -> Duration {
        secs(self.probe.timeout_seconds, 1, 1)
    }

    /// Records one result at `now` and schedules the next run. Returns the verdict when a
    /// threshold is reached: `Some(true)` after `successThreshold` successes in a row,
    /// `Some(false)` after `failureThreshold` failures in a row.
    pub fn record(&mut self, ok: bool, now: Instant) -> Option<bool> {
        self.next = now + self.period();
        if ok {
            self.failures = 0;
            self.successes += 1;
            let need = match self.kind {
                Kind::Readiness => self.probe.success_threshold.unwrap_or(1).max(1),
                _ => 1,
            };
            (self.successes >= need).then_some(true)
        } else {
            self.successes = 0;
            self.failures += 1;
            let need = self.probe.failure_threshold.unwrap_or(3).max(1);
            (self.failures >= need).then(|| {
                self.failures = 0;
                false
            })
        }
    }
}

/// The probes a container instance has, by kind.
pub fn probers(c: &Container, started: Instant) -> Vec<Prober> {
    [
        (Kind::Startup, &c.startup_probe),
        (Kind::Liveness, &c.liveness_probe),
        (Kind::Readiness, &c.readiness_probe),
    ]
    .into_iter()
    .filter_map(|(k, p)| p.as_ref().map(|p| Prober::new(k, p, started)))
    .collect()
}

/// Where a probe's target runs.
pub struct Target<'a> {
    /// The runtime, which runs `exec` probes in the container.
    pub runtime: &'a dyn Runtime,
    /// The pod's UID.
    pub pod_uid: &'a str,
    /// The pod's IP: the host of `grpc` probes, and of `httpGet` and `tcpSocket` probes without
    /// `host`.
    pub pod_ip: &'a str,
    /// The container probed (its name, and its ports for named probe ports).
    pub container: &'a Container,
}

/// Runs the probe once: `Ok(())` on success, else the failure message upstream prints after
/// `<Kind> probe failed: `.
pub async fn run(probe: &Probe, timeout: Duration, t: &Target<'_>) -> Result<(), String> {
    if let Some(exec) = &probe.exec {
        let argv = exec.command.clone().unwrap_or_default();
        return match t
            .runtime
            .exec_sync(t.pod_uid, &t.container.name, &argv, timeout)
            .await
        {
            Ok((0, _)) => Ok(()),
            Ok((code, out)) if out.trim().is_empty() => {
                Err(format!("command {argv:?} exited with {code}"))
            }
            Ok((_, out)) => Err(out),
            Err(e) => Err(format!("{e:#}")),
        };
    }
    if let Some(h) = &probe.http_get {
        let host = h
            .host
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| t.pod_ip.to_string());
        let port = port_number(&h.port, t.container)?;
        let path = h.path.clone().unwrap_or_else(|| "/".into());
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        let headers: Vec<(String, String)> = h
            .http_headers
            .iter()
            .flatten()
            .map(|x| (x.name.clone(), x.value.clone()))
            .collect();
        let https = h.scheme.as_deref() == Some("HTTPS");
        return http_get(https, &host, port, &path, &headers, timeout).await;
    }
    if let Some(s) = &probe.tcp_socket {
        let host = s
            .host
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| t.pod_ip.to_string());
        let port = port_number(&s.port, t.container)?;
        return tcp(&host, port, timeout).await.map(drop);
    }
    if let Some(g) = &probe.grpc {
        let port = u16::try_from(g.port).map_err(|_| format!("invalid port {}", g.port))?;
        let service = g.service.as_deref().unwrap_or_default();
        return grpc::check(t.pod_ip, port, service, timeout).await;
    }
    Ok(())
}

/// A probe's port: a number, or the name of one of the container's ports.
fn port_number(p: &IntOrString, c: &Container) -> Result<u16, String> {
    match p {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("invalid port {n}")),
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|cp| cp.name.as_deref() == Some(name.as_str()))
            .and_then(|cp| u16::try_from(cp.container_port).ok())
            .ok_or_else(|| format!("couldn't find port: {name} in {}", c.name)),
    }
}

async fn tcp(host: &str, port: u16, timeout: Duration) -> Result<tokio::net::TcpStream, String> {
    let addr = format!("{host}:{port}");
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addr)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(format!("dial tcp {addr}: connect: connection refused"))
        }
        Ok(Err(e)) => Err(format!("dial tcp {addr}: {e}")),
        Err(_) => Err(format!("dial tcp {addr}: i/o timeout")),
    }
}

/// A connection an HTTP request is written to: plain TCP or TLS.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

/// How a failure for the response's status starts (`HTTP probe failed with statuscode: 500`).
pub const HTTP_STATUS_FAILURE: &str = "HTTP probe failed with statuscode: ";

/// An HTTP/1.1 GET; 200 ≤ status < 400 passes (redirects are not followed).
pub async fn http_get(
    https: bool,
    host: &str,
    port: u16,
    path: &str,
    headers: &[(String, String)],
    timeout: Duration,
) -> Result<(), String> {
    let scheme = if https { "https" } else { "http" };
    let url = format!("{scheme}://{host}:{port}{path}");
    let work = async {
        let s = tcp(host, port, timeout)
            .await
            .map_err(|e| format!("Get \"{url}\": {e}"))?;
        let mut s: Box<dyn Stream> = if https {
            Box::new(
                tls::connect(s, host)
                    .await
                    .map_err(|e| format!("Get \"{url}\": {e}"))?,
            )
        } else {
            Box::new(s)
        };
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n");
        let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        if !has("user-agent") {
            req.push_str("User-Agent: kube-probe/1.33\r\n");
        }
        if !has("accept") {
            req.push_str("Accept: */*\r\n");
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("Connection: close\r\n\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| format!("Get \"{url}\": {e}"))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(2).any(|w| w == b"\r\n") {
            let n = s
                .read(&mut chunk)
                .await
                .map_err(|e| format!("Get \"{url}\": {e}"))?;
            if n == 0 {
                return Err(format!("Get \"{url}\": EOF"));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&buf);
        let code: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("Get \"{url}\": malformed HTTP response"))?;
        if (200..400).contains(&code) {
            Ok(())
        } else {
            Err(format!("{HTTP_STATUS_FAILURE}{code}"))
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerPort, ExecAction};

    fn probe(success: i32, failure: i32) -> Probe {
        Probe {
            exec: Some(ExecAction {
                command: Some(vec!["true".into()]),
            }),
            initial_delay_seconds: Some(5),
            period_seconds: Some(2),
            success_threshold: Some(success),
            failure_threshold: Some(failure),
            ..Default::default()
        }
    }

    #[test]
    fn thresholds_and_schedule() {
        let t0 = Instant::now();
        let mut p = Prober::new(Kind::Readiness, &probe(2, 3), t0);
        assert_eq!(p.next, t0 + Duration::from_secs(5));
        assert_eq!(p.record(true, t0), None);
        assert_eq!(p.next, t0 + Duration::from_secs(2));
        assert_eq!(p.record(true, t0), Some(true));
        assert_eq!(p.record(false, t0), None);
        assert_eq!(p.record(false, t0), None);
        assert_eq!(p.record(true, t0), None, "a success resets the failures");
        assert_eq!(p.record(false, t0), None);
        assert_eq!(p.record(false, t0), None);
        assert_eq!(p.record(false, t0), Some(false));
        // Liveness needs one success whatever successThreshold says.
        let mut l = Prober::new(Kind::Liveness, &probe(5, 1), t0);
        assert_eq!(l.record(true, t0), Some(true));
        assert_eq!(l.record(false, t0), Some(false));
        assert_eq!(l.timeout(), Duration::from_secs(1));
    }

    #[test]
    fn named_ports_resolve() {
        let c = Container {
            name: "web".into(),
            ports: Some(vec![ContainerPort {
                name: Some("http".into()),
                container_port: 8080,
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(
            port_number(&IntOrString::String("http".into()), &c),
            Ok(8080)
        );
        assert_eq!(port_number(&IntOrString::Int(81), &c), Ok(81));
        assert_eq!(
            port_number(&IntOrString::String("grpc".into()), &c),
            Err("couldn't find port: grpc in web".into())
        );
    }

    #[tokio::test]
    async fn http_and_tcp_probes_on_loopback() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let code = if n == 0 { 200 } else { 503 };
                n += 1;
                let _ = s
                    .write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        let t = Duration::from_secs(2);
        assert_eq!(
            http_get(false, "127.0.0.1", port, "/", &[], t).await,
            Ok(())
        );
        assert_eq!(
            http_get(false, "127.0.0.1", port, "/", &[], t).await,
            Err("HTTP probe failed with statuscode: 503".into())
        );
        assert!(tcp("127.0.0.1", port, t).await.is_ok());
        // A port nobody listens on (bound and dropped).
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fport = free.local_addr().unwrap().port();
        drop(free);
        assert_eq!(
            tcp("127.0.0.1", fport, t).await.unwrap_err(),
            format!("dial tcp 127.0.0.1:{fport}: connect: connection refused")
        );
    }
}
