//! `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward`: proxied to the node agent
//! that runs the pod (as kube-apiserver proxies to the kubelet). Upgraded connections
//! (WebSocket `v5.channel.k8s.io`, SPDY/3.1, and for port-forward SPDY tunnelled in WebSocket,
//! which kube-apiserver would unwrap itself and the agent unwraps here) are relayed byte for
//! byte in both directions.

use crate::meta::{meta_str, Query};
use crate::router::Target;
use crate::ApiServer;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use ordo_api::resources;
use ordo_api::status::ApiError;
use serde_json::Value;

/// The path of the agent's endpoint for a pod subresource.
fn agent_path(sub: &str) -> Option<&'static str> {
    Some(match sub {
        "log" => "containerLogs",
        "exec" => "exec",
        "attach" => "attach",
        "portforward" => "portForward",
        _ => return None,
    })
}

/// The container a request is about: `?container=`, the default-container annotation, or
/// the first container.
fn pick_container(pod: &Value, q: &Query) -> Result<String, ApiError> {
    let name = meta_str(pod, "name").unwrap_or("");
    let names: Vec<String> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|f| {
            pod.pointer(&format!("/spec/{f}"))
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| c.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .collect();
    if let Some(c) = q.get("container").filter(|c| !c.is_empty()) {
        if names.iter().any(|n| n == c) {
            return Ok(c.to_string());
        }
        return Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        )));
    }
    if let Some(c) = pod
        .pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
        .and_then(|c| c.as_str())
    {
        return Ok(c.to_string());
    }
    pod.pointer("/spec/containers/0/name")
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request(format!("pod {name} has no containers")))
}

/// Why a container cannot serve logs or exec yet (upstream's wording), if it cannot.
fn waiting_reason(pod: &Value, container: &str) -> Option<String> {
    let name = meta_str(pod, "name").unwrap_or("");
    let st = [
        "initContainerStatuses",
        "containerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .filter_map(|k| pod.pointer(&format!("/status/{k}"))?.as_array())
    .flatten()
    .find(|s| s["name"] == container);
    match st {
        None => Some(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        )),
        Some(s)
            if s.pointer("/state/waiting").is_some()
                && s.get("lastState")
                    .and_then(|l| l.get("terminated"))
                    .is_none() =>
        {
            let reason = s
                .pointer("/state/waiting/reason")
                .and_then(|r| r.as_str())
                .unwrap_or("ContainerCreating");
            Some(format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
            ))
        }
        _ => None,
    }
}

/// Where a Node's agent serves its endpoint: its `InternalIP` and
/// `status.daemonEndpoints.kubeletEndpoint.Port`; None when it reports neither.
pub(crate) fn kubelet_endpoint(node: &Value) -> Option<(String, u16)> {
    let port = node
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(|p| p.as_u64())
        .filter(|p| *p > 0 && *p <= u16::MAX as u64)?;
    let addr = node
        .pointer("/status/addresses")
        .and_then(|a| a.as_array())
        .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
        .and_then(|x| x["address"].as_str())
        .filter(|a| !a.is_empty())?;
    Some((addr.to_string(), port as u16))
}

impl ApiServer {
    /// Proxies a pod subresource request to the agent of the pod's node.
    pub(crate) async fn proxy_pod(
        &self,
        t: &Target,
        sub: &str,
        q: &Query,
        mut req: Request,
    ) -> Result<Response, ApiError> {
        let agent = agent_path(sub)
            .ok_or_else(|| ApiError::bad_request(format!("unknown pod subresource {sub}")))?;
        let name = t.name.clone().unwrap_or_default();
        let ns = t.ns().unwrap_or("default").to_string();
        let (pod, _) = self.read(t.info, Some(&ns), &name).await?;
        let node = pod
            .pointer("/spec/nodeName")
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .to_string();
        if node.is_empty() {
            return Err(ApiError::bad_request(format!(
                "pod {name} does not have a host assigned"
            )));
        }
        let container = pick_container(&pod, q)?;
        if sub != "portforward" && !(sub == "log" && q.flag("previous")) {
            if let Some(why) = waiting_reason(&pod, &container) {
                return Err(ApiError::bad_request(why));
            }
        }
        let node_info = resources::find("", "v1", "nodes").expect("nodes are served");
        let (node_obj, _) = self.read(node_info, None, &node).await.map_err(|_| {
            ApiError::unavailable(format!("node {node} of pod {name} is not registered"))
        })?;
        let Some((addr, port)) = kubelet_endpoint(&node_obj) else {
            return Err(ApiError::unavailable(format!(
                "node {node} does not serve {sub} (no kubelet endpoint in its status)"
            )));
        };
        let path = match sub {
            "portforward" => format!("/{agent}/{ns}/{name}"),
            _ => format!("/{agent}/{ns}/{name}/{container}"),
        };
        let query = req
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let stream = tokio::net::TcpStream::connect((addr.as_str(), port))
            .await
            .map_err(|e| {
                ApiError::unavailable(format!(
                    "cannot reach the agent of node {node} at {addr}:{port}: {e}"
                ))
            })?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream))
                .await
                .map_err(|e| ApiError::unavailable(format!("agent handshake: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let mut out = hyper::Request::builder()
            .method(req.method().clone())
            .uri(format!("{path}{query}"));
        for (k, v) in req.headers() {
            if k != header::AUTHORIZATION && k != header::HOST {
                out = out.header(k, v);
            }
        }
        out = out
            .header(header::HOST, format!("{addr}:{port}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        let client_upgrade = hyper::upgrade::on(&mut req);
        let body = std::mem::replace(req.body_mut(), Body::empty());
        let out = out
            .body(body)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut resp = sender
            .send_request(out)
            .await
            .map_err(|e| ApiError::unavailable(format!("agent request: {e}")))?;
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            let agent_upgrade = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                match (client_upgrade.await, agent_upgrade.await) {
                    (Ok(c), Ok(a)) => {
                        let (mut c, mut a) = (TokioIo::new(c), TokioIo::new(a));
                        let _ = tokio::io::copy_bidirectional(&mut c, &mut a).await;
                    }
                    (c, a) => {
                        tracing::debug!("upgrade failed: client {:?} agent {:?}", c.err(), a.err())
                    }
                }
            });
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            *r.headers_mut() = resp.headers().clone();
            return Ok(r);
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut r = Response::new(Body::new(resp.into_body()));
        *r.status_mut() = status;
        *r.headers_mut() = headers;
        if !r.headers().contains_key(header::CONTENT_TYPE) {
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::waiting_reason;
    use serde_json::json;

    #[test]
    fn init_app_and_ephemeral_container_statuses_are_read() {
        let running = json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}});
        let pod = json!({"metadata": {"name": "web"}, "status": {
            "initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 0}}}],
            "containerStatuses": [{"name": "web", "state": running}],
            "ephemeralContainerStatuses": [
                {"name": "debugger", "state": running},
                {"name": "pulling", "state": {"waiting": {"reason": "ErrImagePull"}}},
            ],
        }});
        for c in ["init", "web", "debugger"] {
            assert_eq!(waiting_reason(&pod, c), None, "{c}");
        }
        assert_eq!(
            waiting_reason(&pod, "pulling").as_deref(),
            Some("container \"pulling\" in pod \"web\" is waiting to start: ErrImagePull")
        );
        assert_eq!(
            waiting_reason(&pod, "new").as_deref(),
            Some("container \"new\" in pod \"web\" is waiting to start: ContainerCreating")
        );
    }
}
