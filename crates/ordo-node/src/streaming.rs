//! The agent's own HTTP endpoint, the counterpart of the kubelet's port 10250: container logs
//! and exec over WebSocket (`v5.channel.k8s.io`, the protocol kubectl speaks). The API server
//! proxies `pods/log` and `pods/exec` here; requests carry the API server's bearer token.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// What the endpoint needs from the node: where a container's log is, and how to run a
/// command in it.
#[async_trait::async_trait]
pub trait StreamTarget: Send + Sync + 'static {
    /// The log file of a container (`previous`: of its last terminated instance).
    async fn log_file(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> anyhow::Result<PathBuf>;
    /// A command that runs `argv` inside the container, ready to be spawned with piped stdio.
    async fn exec_command(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        argv: &[String],
        tty: bool,
    ) -> anyhow::Result<tokio::process::Command>;
}

struct Shared {
    token: String,
    target: Arc<dyn StreamTarget>,
}

/// Serves the endpoint on `listener` until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    token: String,
    target: Arc<dyn StreamTarget>,
) -> anyhow::Result<()> {
    let shared = Arc::new(Shared { token, target });
    let app = axum::Router::new()
        .route(
            "/containerLogs/{ns}/{pod}/{container}",
            axum::routing::get(logs),
        )
        .route(
            "/exec/{ns}/{pod}/{container}",
            axum::routing::get(exec).post(exec),
        )
        .with_state(shared);
    axum::serve(listener, app).await?;
    Ok(())
}

fn status_error(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code.as_u16()});
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(shared.token.as_str())
}

/// The last `n` lines of `data`.
pub fn tail_lines(data: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &data[data.len()..];
    }
    let mut count = 0;
    let end = if data.ends_with(b"\n") {
        data.len() - 1
    } else {
        data.len()
    };
    for i in (0..end).rev() {
        if data[i] == b'\n' {
            count += 1;
            if count == n {
                return &data[i + 1..];
            }
        }
    }
    data
}

async fn logs(
    State(s): State<Arc<Shared>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&s, &headers) {
        return status_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let previous = q.get("previous").is_some_and(|v| v == "true");
    let path = match s.target.log_file(&ns, &pod, &container, previous).await {
        Ok(p) => p,
        Err(e) => return status_error(StatusCode::BAD_REQUEST, "BadRequest", &e.to_string()),
    };
    let data = tokio::fs::read(&path).await.unwrap_or_default();
    let mut start = data.as_slice();
    if let Some(n) = q.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        start = tail_lines(start, n);
    }
    if let Some(limit) = q.get("limitBytes").and_then(|n| n.parse::<usize>().ok()) {
        start = &start[..start.len().min(limit)];
    }
    let first = bytes::Bytes::copy_from_slice(start);
    if q.get("follow").is_none_or(|v| v != "true") {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            first,
        )
            .into_response();
    }
    // Follow: send what is there, then poll the file for appended bytes.
    let offset = data.len() as u64;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        if tx.send(Ok(first)).await.is_err() {
            return;
        }
        let mut offset = offset;
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
            }
            let Ok(mut f) = tokio::fs::File::open(&path).await else {
                return;
            };
            let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
            if len < offset {
                offset = 0;
            }
            if len > offset && f.seek(std::io::SeekFrom::Start(offset)).await.is_ok() {
                let mut buf = Vec::with_capacity((len - offset) as usize);
                if f.read_to_end(&mut buf).await.is_ok() {
                    offset += buf.len() as u64;
                    if tx.send(Ok(bytes::Bytes::from(buf))).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

async fn exec(
    State(s): State<Arc<Shared>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if !authorized(&s, &headers) {
        return status_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let pairs: Vec<(String, String)> = raw.as_deref().map(url_pairs).unwrap_or_default();
    let argv: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    let flag = |k: &str| {
        pairs
            .iter()
            .any(|(a, v)| a == k && (v == "true" || v == "1"))
    };
    let (stdin, tty) = (flag("stdin"), flag("tty"));
    let Ok(ws) = ws else {
        return status_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Upgrade request required",
        );
    };
    if argv.is_empty() {
        return status_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "you must specify at least 1 command",
        );
    }
    let cmd = match s
        .target
        .exec_command(&ns, &pod, &container, &argv, tty)
        .await
    {
        Ok(c) => c,
        Err(e) => return status_error(StatusCode::BAD_REQUEST, "BadRequest", &e.to_string()),
    };
    ws.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"])
        .on_upgrade(move |socket| run_exec(socket, cmd, stdin))
        .into_response()
}

fn url_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One frame of the channel protocol: the channel byte, then the payload.
fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(v.into())
}

/// The status message on channel 3 for an exit code.
pub fn exit_status(code: i32) -> serde_json::Value {
    if code == 0 {
        serde_json::json!({"metadata": {}, "status": "Success"})
    } else {
        serde_json::json!({
            "metadata": {}, "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [...], exit code {code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
        })
    }
}

async fn run_exec(socket: WebSocket, mut cmd: tokio::process::Command, want_stdin: bool) {
    use std::process::Stdio;
    cmd.stdin(if want_stdin {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let (mut sink, mut stream) = socket.split();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let st = serde_json::json!({"metadata": {}, "status": "Failure", "message": format!("exec failed: {e}"), "reason": "InternalError"});
            let _ = sink.send(frame(3, st.to_string().as_bytes())).await;
            let _ = sink.close().await;
            return;
        }
    };
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Message>(64);
    let mut pumps = Vec::new();
    for (channel, pipe) in [
        (
            1u8,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ),
        (
            2u8,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ),
    ] {
        if let Some(mut pipe) = pipe {
            let tx = out_tx.clone();
            pumps.push(tokio::spawn(async move {
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    match pipe.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if tx.send(frame(channel, &buf[..n])).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }));
        }
    }
    drop(out_tx);
    let mut stdin = child.stdin.take();
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            if sink.send(m).await.is_err() {
                return None;
            }
        }
        Some(sink)
    });
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let Message::Binary(data) = msg else {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
                continue;
            };
            match data.first() {
                Some(0) => {
                    if let Some(s) = stdin.as_mut() {
                        if s.write_all(&data[1..]).await.is_err() {
                            stdin = None;
                        }
                    }
                }
                // v5 close signal: [255, channel].
                Some(255) if data.get(1) == Some(&0) => stdin = None,
                _ => {}
            }
        }
    });
    let code = match child.wait().await {
        Ok(st) => st.code().unwrap_or(128 + st.signal_number()),
        Err(_) => 1,
    };
    for p in pumps {
        let _ = p.await;
    }
    reader.abort();
    if let Ok(Some(mut sink)) = writer.await {
        let _ = sink
            .send(frame(3, exit_status(code).to_string().as_bytes()))
            .await;
        let _ = sink
            .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                code: 1000,
                reason: "".into(),
            })))
            .await;
        let _ = sink.close().await;
    }
}

trait SignalNumber {
    fn signal_number(&self) -> i32;
}

impl SignalNumber for std::process::ExitStatus {
    fn signal_number(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        self.signal().unwrap_or(0)
    }
}

/// The node's [`StreamTarget`]: finds the pod through the API, then its container in the runc
/// runtime. The simulated runtime has no processes, so it serves neither logs nor exec.
pub struct PodStreams {
    client: kube::Client,
    runc: Option<Arc<crate::runtime::runc::RuncRuntime>>,
}

impl PodStreams {
    pub fn new(
        client: kube::Client,
        runc: Option<Arc<crate::runtime::runc::RuncRuntime>>,
    ) -> PodStreams {
        PodStreams { client, runc }
    }

    async fn uid(&self, namespace: &str, pod: &str) -> anyhow::Result<String> {
        let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
            kube::Api::namespaced(self.client.clone(), namespace);
        let p = api.get(pod).await?;
        p.metadata
            .uid
            .ok_or_else(|| anyhow::anyhow!("pod {pod} has no uid"))
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
    ) -> anyhow::Result<PathBuf> {
        let runc = self.runc()?;
        let uid = self.uid(namespace, pod).await?;
        if previous {
            let path = runc.previous_log_path(&uid, container);
            anyhow::ensure!(
                path.exists(),
                "previous terminated container \"{container}\" in pod \"{pod}\" not found"
            );
            return Ok(path);
        }
        Ok(runc.log_path(&uid, container))
    }

    async fn exec_command(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        argv: &[String],
        _tty: bool,
    ) -> anyhow::Result<tokio::process::Command> {
        let runc = self.runc()?;
        let uid = self.uid(namespace, pod).await?;
        let id = runc
            .container_id(&uid, container)
            .ok_or_else(|| anyhow::anyhow!("container {container} not found in pod {pod}"))?;
        Ok(runc.exec_command(&id, argv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        assert_eq!(tail_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail_lines(b"a\nb\nc", 1), b"c");
        assert_eq!(tail_lines(b"a\n", 5), b"a\n");
        assert_eq!(tail_lines(b"a\n", 0), b"");
    }

    #[test]
    fn query_decoding() {
        let p = url_pairs("command=nslookup&command=web-0.nginx&stdout=true&x=a%20b+c");
        assert_eq!(p[0], ("command".into(), "nslookup".into()));
        assert_eq!(p[1].1, "web-0.nginx");
        assert_eq!(p[3].1, "a b c");
    }

    #[test]
    fn exit_status_shapes() {
        assert_eq!(exit_status(0)["status"], "Success");
        let f = exit_status(3);
        assert_eq!(f["reason"], "NonZeroExitCode");
        assert_eq!(f["details"]["causes"][0]["message"], "3");
    }
}
