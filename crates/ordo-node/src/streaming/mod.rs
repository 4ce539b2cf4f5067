//! The agent's own HTTP endpoint, the counterpart of the kubelet's port 10250: container logs,
//! exec and attach over WebSocket (`v5.channel.k8s.io`, the protocol kubectl speaks) or SPDY,
//! and port forwarding. The API server proxies `pods/log`, `pods/exec`, `pods/attach` and
//! `pods/portforward` here; requests carry the API server's bearer token.
//!
//! `logs.rs` serves logs; `exec.rs` runs commands (pipes, or a terminal with `-t`); `attach.rs` attaches to a
//! container's own stdio (through its stdio shim, `shim.rs`, which serves it on a unix socket)
//! and holds the relay between a client's channels and a process's stdio that exec and the
//! shim use; `proto.rs` is the channel protocol; `spdy.rs` SPDY/3.1 for exec and attach;
//! `portforward.rs` port forwarding (SPDY in `portforward_spdy.rs`, whose header blocks
//! `spdy_headers.rs` reads, and WebSocket in `portforward_ws.rs`).

mod attach;
pub mod auth;
mod exec;
pub mod logs;
mod portforward;
mod portforward_spdy;
mod portforward_ws;
pub mod proto;
pub mod shim;
mod spdy;
mod spdy_headers;

use crate::runtime::runc::{AttachTarget, ExitWait, TtyExec};
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{FromRequest, Path, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{Sink, Stream, StreamExt};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

pub use portforward::PodPorts;
pub use proto::exit_status;
#[doc(hidden)]
pub use spdy::fuzz_frames as fuzz_spdy_frames;

/// The subprotocols offered in the WebSocket handshake.
const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

/// Channel messages to the client (first byte the channel), whatever the transport.
type Tx = Pin<Box<dyn Sink<Message, Error = axum::Error> + Send>>;
/// Channel messages from the client.
type Rx = Pin<Box<dyn Stream<Item = Result<Message, axum::Error>> + Send>>;

/// An authorized exec or attach request: the pod's container and the query's options.
struct StreamRequest {
    shared: Arc<Shared>,
    ns: String,
    pod: String,
    container: String,
    opts: proto::StreamOptions,
}

impl axum::extract::FromRequestParts<Arc<Shared>> for StreamRequest {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        shared: &Arc<Shared>,
    ) -> Result<StreamRequest, Response> {
        if !authorized(shared, &parts.method, &parts.headers).await {
            return Err(status_error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Unauthorized",
            ));
        }
        let Path((ns, pod, container)) =
            Path::<(String, String, String)>::from_request_parts(parts, shared)
                .await
                .map_err(IntoResponse::into_response)?;
        Ok(StreamRequest {
            shared: shared.clone(),
            ns,
            pod,
            container,
            opts: proto::StreamOptions::parse(parts.uri.query().unwrap_or("")),
        })
    }
}

/// Upgrades an exec or attach request to WebSocket (`v5.channel.k8s.io`) or SPDY/3.1 and runs
/// `session` on the client's channels; 400 when the request asks for neither.
async fn upgrade<F, Fut>(mut req: Request, opts: &proto::StreamOptions, session: F) -> Response
where
    F: FnOnce((Tx, Rx)) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    if spdy::is_spdy(req.headers()) {
        let on = hyper::upgrade::on(&mut req);
        let kinds = spdy::stream_kinds(opts);
        tokio::spawn(async move {
            let client = match on.await {
                Ok(up) => spdy::accept(up, kinds).await,
                Err(e) => Err(e.into()),
            };
            match client {
                Ok(c) => session(c).await,
                Err(e) => tracing::debug!("SPDY upgrade failed: {e:#}"),
            }
        });
        return spdy::switching_protocols(spdy::PROTOCOL);
    }
    match WebSocketUpgrade::from_request(req, &()).await {
        Ok(ws) => ws
            .protocols(PROTOCOLS)
            .on_upgrade(move |socket| {
                let (tx, rx) = socket.split();
                session((Box::pin(tx), Box::pin(rx)))
            })
            .into_response(),
        Err(_) => status_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Upgrade request required",
        ),
    }
}

/// What the endpoint needs from the node: where a container's log is, how to run a command
/// in it, and how to attach to it.
#[async_trait::async_trait]
pub trait StreamTarget: Send + Sync + 'static {
    /// The log file of a container (`previous`: of its last terminated instance), and the
    /// exit of the instance that writes it (a follow ends there).
    async fn log_file(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> anyhow::Result<LogFile>;
    /// A command that runs `argv` inside the container, ready to be spawned with piped stdio.
    async fn exec_command(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        argv: &[String],
    ) -> anyhow::Result<tokio::process::Command>;
    /// Runs `argv` inside the container on a new terminal.
    async fn exec_tty(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        argv: &[String],
    ) -> anyhow::Result<TtyExec>;
    /// The container's stdio (or log) and exit, to attach to.
    async fn attach(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> anyhow::Result<AttachTarget>;
    /// Where the pod's ports are, for port forwarding.
    async fn pod_ports(&self, namespace: &str, pod: &str) -> anyhow::Result<PodPorts>;
}

/// A container's log and, while an instance writes it, that instance's exit.
pub struct LogFile {
    /// The log file, in the CRI format (see `crate::crilog`).
    pub path: PathBuf,
    /// None: no instance writes it (the previous instance's log, or nothing was created).
    pub exit: Option<ExitWait>,
}

struct Shared {
    auth: auth::Auth,
    target: Arc<dyn StreamTarget>,
    metrics: Arc<crate::metrics::ResourceMetrics>,
}

/// Serves the endpoint on `listener` until the task is dropped: streams of `target`, and the
/// resource metrics of `metrics` at `/metrics/resource`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    auth: auth::Auth,
    target: Arc<dyn StreamTarget>,
    metrics: Arc<crate::metrics::ResourceMetrics>,
) -> anyhow::Result<()> {
    let shared = Arc::new(Shared {
        auth,
        target,
        metrics,
    });
    let app = axum::Router::new()
        .route("/metrics/resource", axum::routing::get(resource_metrics))
        .route(
            "/containerLogs/{ns}/{pod}/{container}",
            axum::routing::get(logs::logs),
        )
        .route(
            "/exec/{ns}/{pod}/{container}",
            axum::routing::get(exec::exec).post(exec::exec),
        )
        .route(
            "/attach/{ns}/{pod}/{container}",
            axum::routing::get(attach::attach).post(attach::attach),
        )
        .route(
            "/portForward/{ns}/{pod}",
            axum::routing::get(portforward::port_forward).post(portforward::port_forward),
        )
        .with_state(shared);
    axum::serve(listener, app).await?;
    Ok(())
}

/// `/metrics/resource`: the node's and its containers' CPU and memory, in Prometheus text.
async fn resource_metrics(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &axum::http::Method::GET, &headers).await {
        return status_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let body = shared.metrics.document().await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// A `Status` error response.
fn status_error(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code.as_u16()});
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Whether the request's credentials may use the endpoint.
async fn authorized(shared: &Shared, method: &axum::http::Method, headers: &HeaderMap) -> bool {
    shared.auth.allows(method, headers).await
}

/// The node's [`StreamTarget`]: finds the pod through the API, then its container in the runc
/// runtime. The simulated runtime has no processes, so it serves neither logs, exec nor attach.
pub struct PodStreams {
    client: kube::Client,
    runc: Option<Arc<crate::runtime::runc::RuncRuntime>>,
}

impl PodStreams {
    /// Streams of the pods found with `client`, in the runc runtime `runc` (None: the simulated
    /// runtime).
    pub fn new(
        client: kube::Client,
        runc: Option<Arc<crate::runtime::runc::RuncRuntime>>,
    ) -> PodStreams {
        PodStreams { client, runc }
    }

    async fn get(
        &self,
        namespace: &str,
        pod: &str,
    ) -> anyhow::Result<k8s_openapi::api::core::v1::Pod> {
        let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
            kube::Api::namespaced(self.client.clone(), namespace);
        Ok(api.get(pod).await?)
    }

    async fn uid(&self, namespace: &str, pod: &str) -> anyhow::Result<String> {
        let p = self.get(namespace, pod).await?;
        p.metadata
            .uid
            .ok_or_else(|| anyhow::anyhow!("pod {pod} has no uid"))
    }

    async fn container_id(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> anyhow::Result<String> {
        let uid = self.uid(namespace, pod).await?;
        self.runc()?
            .container_id(&uid, container)
            .ok_or_else(|| anyhow::anyhow!("container {container} not found in pod {pod}"))
    }

    fn runc(&self) -> anyhow::Result<&Arc<crate::runtime::runc::RuncRuntime>> {
        self.runc.as_ref().ok_or_else(|| anyhow::anyhow!("this node runs the simulated runtime: its containers have no processes, logs or exec"))
    }
}

#[async_trait::async_trait]
impl StreamTarget for PodStreams {
    async fn log_file(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> anyhow::Result<LogFile> {
        let runc = self.runc()?;
        let uid = self.uid(namespace, pod).await?;
        if previous {
            let path = runc.previous_log_path(&uid, container);
            anyhow::ensure!(
                path.exists(),
                "previous terminated container \"{container}\" in pod \"{pod}\" not found"
            );
            return Ok(LogFile { path, exit: None });
        }
        Ok(LogFile {
            path: runc.log_path(&uid, container),
            exit: runc.exit_wait(&uid, container),
        })
    }

    async fn exec_command(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        argv: &[String],
    ) -> anyhow::Result<tokio::process::Command> {
        let runc = self.runc()?;
        let id = self.container_id(namespace, pod, container).await?;
        Ok(runc.exec_command(&id, argv))
    }

    async fn exec_tty(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        argv: &[String],
    ) -> anyhow::Result<TtyExec> {
        let runc = self.runc()?;
        let id = self.container_id(namespace, pod, container).await?;
        runc.exec_tty(&id, argv).await
    }

    async fn attach(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> anyhow::Result<AttachTarget> {
        let runc = self.runc()?;
        let uid = self.uid(namespace, pod).await?;
        runc.attach_target(&uid, container)
            .ok_or_else(|| anyhow::anyhow!("container {container} not found in pod {pod}"))
    }

    async fn pod_ports(&self, namespace: &str, pod: &str) -> anyhow::Result<PodPorts> {
        let runc = self.runc.as_ref().ok_or_else(|| {
            anyhow::anyhow!("this node runs the simulated runtime: its pods have no network to forward ports to")
        })?;
        let p = self.get(namespace, pod).await?;
        let uid = p
            .metadata
            .uid
            .ok_or_else(|| anyhow::anyhow!("pod {pod} has no uid"))?;
        if p.spec.and_then(|s| s.host_network).unwrap_or(false) {
            return Ok(PodPorts {
                id: uid,
                netns: None,
            });
        }
        let netns = runc.network().netns_path(&uid);
        anyhow::ensure!(
            crate::network::netns::is_mounted(&netns),
            "pod {pod} has no network namespace on this node (it is not running)"
        );
        Ok(PodPorts {
            id: uid,
            netns: Some(netns),
        })
    }
}
