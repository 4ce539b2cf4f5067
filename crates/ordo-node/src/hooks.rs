//! Container lifecycle hooks as the kubelet's handler runner runs them (`exec`, `httpGet`,
//! `sleep`), with its failure messages. An `httpGet` hook fails only when the request cannot
//! be made: the kubelet does not look at the response's status.

use crate::probes::{self, Target};
use k8s_openapi::api::core::v1::{LifecycleHandler, Pod, Probe};
use std::time::Duration;

/// How long a `postStart` hook may run. The kubelet waits without limit; ordo's pod worker
/// cannot notice the pod's deletion meanwhile, so it gives up (the hook fails) after this.
pub const POST_START_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `h` against the container of `t`, for at most `timeout`: `Err` carries the message the
/// kubelet gives a failed hook (`Exec lifecycle hook ([sh -c ...]) for Container "c" in Pod
/// "p_ns(uid)" failed - error: ..., message: "..."`).
pub async fn run(
    h: &LifecycleHandler,
    pod: &Pod,
    t: &Target<'_>,
    timeout: Duration,
) -> Result<(), String> {
    let who = format!(
        "for Container {:?} in Pod {:?}",
        t.container.name,
        crate::lifecycle::format_pod(pod)
    );
    if let Some(e) = &h.exec {
        let argv = e.command.clone().unwrap_or_default();
        let r = t
            .runtime
            .exec_sync(t.pod_uid, &t.container.name, &argv, timeout)
            .await;
        let (err, out) = match r {
            Ok((0, _)) => return Ok(()),
            Ok((code, out)) => (
                format!("command '{}' exited with {code}: {out}", argv.join(" ")),
                out,
            ),
            Err(e) => (format!("{e:#}"), String::new()),
        };
        return Err(format!(
            "Exec lifecycle hook ({}) {who} failed - error: {err}, message: {out:?}",
            go_list(&argv)
        ));
    }
    if let Some(g) = &h.http_get {
        let probe = Probe {
            http_get: Some(g.clone()),
            ..Default::default()
        };
        return match probes::run(&probe, timeout, t).await {
            Err(e) if !e.starts_with(probes::HTTP_STATUS_FAILURE) => Err(format!(
                "HTTP lifecycle hook ({}) {who} failed - error: {e}",
                g.path.as_deref().unwrap_or_default()
            )),
            _ => Ok(()),
        };
    }
    if let Some(s) = &h.sleep {
        let d = Duration::from_secs(s.seconds.max(0) as u64);
        tokio::time::sleep(d.min(timeout)).await;
        return Ok(());
    }
    Err(format!("invalid handler: {h:?}"))
}

/// A list as Go's `%v` prints it: `[sh -c exit 1]`.
fn go_list(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::sim::SimRuntime;
    use k8s_openapi::api::core::v1::{Container, HTTPGetAction};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    #[tokio::test]
    async fn http_hooks_fail_on_transport_errors_only() {
        // A server that answers 500: the hook still succeeds, as upstream.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        });
        let rt = SimRuntime::new(Duration::ZERO);
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {"containers": [{"name": "c"}]},
        }))
        .unwrap();
        let c = Container {
            name: "c".into(),
            ..Default::default()
        };
        let t = Target {
            runtime: &rt,
            pod_uid: "u",
            pod_ip: "127.0.0.1",
            container: &c,
        };
        let hook = |port: u16| LifecycleHandler {
            http_get: Some(HTTPGetAction {
                path: Some("/started".into()),
                port: IntOrString::Int(port as i32),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            run(&hook(port), &pod, &t, Duration::from_secs(2)).await,
            Ok(())
        );
        // Nothing listens on the port the listener had before it was taken: refused.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = run(&hook(closed), &pod, &t, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            format!("HTTP lifecycle hook (/started) for Container \"c\" in Pod \"p_ns(u)\" failed - error: Get \"http://127.0.0.1:{closed}/started\": dial tcp 127.0.0.1:{closed}: connect: connection refused")
        );
        assert_eq!(
            go_list(&["sh".into(), "-c".into(), "exit 1".into()]),
            "[sh -c exit 1]"
        );
    }
}
