//! `grpc` probes: one `grpc.health.v1.Health/Check` call over plain HTTP/2 (tonic), as the
//! kubelet's prober makes it, with its failure messages.

use std::time::Duration;

/// `grpc.health.v1.HealthCheckRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HealthCheckRequest {
    /// The service asked about; empty: the server as a whole.
    #[prost(string, tag = "1")]
    pub service: String,
}

/// `grpc.health.v1.HealthCheckResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HealthCheckResponse {
    /// `ServingStatus`: 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN.
    #[prost(int32, tag = "1")]
    pub status: i32,
}

/// The method the probe calls.
pub const CHECK: &str = "/grpc.health.v1.Health/Check";

/// The name of a `ServingStatus` value, as Go's generated `String()` gives it.
pub fn status_name(status: i32) -> String {
    match status {
        0 => "UNKNOWN".into(),
        1 => "SERVING".into(),
        2 => "NOT_SERVING".into(),
        3 => "SERVICE_UNKNOWN".into(),
        n => n.to_string(),
    }
}

/// The probe's verdict on a completed call: the kubelet's failure message, or success.
pub fn verdict(
    r: Result<HealthCheckResponse, tonic::Status>,
    timeout: Duration,
) -> Result<(), String> {
    match r {
        Ok(resp) if resp.status == 1 => Ok(()),
        Ok(resp) => Err(format!(
            "service unhealthy (responded with {:?})",
            status_name(resp.status)
        )),
        Err(s) if s.code() == tonic::Code::Unimplemented => Err(format!(
            "this server does not implement the grpc health protocol (grpc.health.v1.Health): {}",
            s.message()
        )),
        Err(s) if s.code() == tonic::Code::DeadlineExceeded => Err(format!(
            "timeout: health rpc did not complete within {}",
            crate::lifecycle::go_duration(timeout)
        )),
        Err(s) => Err(format!(
            "error: health rpc probe failed: rpc error: code = {:?} desc = {}",
            s.code(),
            s.message()
        )),
    }
}

/// Checks the health of `service` at `host:port` within `timeout`.
pub async fn check(host: &str, port: u16, service: &str, timeout: Duration) -> Result<(), String> {
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let within = crate::lifecycle::go_duration(timeout);
    let connect = async {
        tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| e.to_string())?
            .user_agent("kube-probe/1.33")
            .map_err(|e| e.to_string())?
            .connect_timeout(timeout)
            .timeout(timeout)
            .connect()
            .await
            .map_err(|e| {
                format!(
                    "{e}: {}",
                    std::error::Error::source(&e)
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                )
            })
    };
    let channel = match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            return Err(format!(
                "timeout: failed to connect service {addr:?} within {within}: {e}"
            ))
        }
        Err(_) => {
            return Err(format!(
                "timeout: failed to connect service {addr:?} within {within}: context deadline exceeded"
            ))
        }
    };
    let mut grpc = tonic::client::Grpc::new(channel);
    let call = async {
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(CHECK);
        let req = tonic::Request::new(HealthCheckRequest {
            service: service.to_string(),
        });
        grpc.unary(req, path, tonic_prost::ProstCodec::default())
            .await
            .map(|r| r.into_inner())
    };
    let r = match tokio::time::timeout(timeout, call).await {
        Ok(r) => r,
        Err(_) => Err(tonic::Status::deadline_exceeded("")),
    };
    verdict(r, timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_read_like_the_kubelets() {
        let t = Duration::from_secs(1);
        let resp = |status| Ok(HealthCheckResponse { status });
        assert_eq!(verdict(resp(1), t), Ok(()));
        assert_eq!(
            verdict(resp(2), t),
            Err("service unhealthy (responded with \"NOT_SERVING\")".into())
        );
        assert_eq!(
            verdict(Err(tonic::Status::unimplemented("unknown service grpc.health.v1.Health")), t),
            Err("this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health".into())
        );
        assert_eq!(
            verdict(Err(tonic::Status::deadline_exceeded("")), t),
            Err("timeout: health rpc did not complete within 1s".into())
        );
    }

    #[tokio::test]
    async fn nothing_listening_fails_to_connect() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = check("127.0.0.1", port, "", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            e.starts_with(&format!(
                "timeout: failed to connect service \"127.0.0.1:{port}\" within 1s: "
            )),
            "{e}"
        );
    }
}
