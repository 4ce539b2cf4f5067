//! `attach`: a client joins a running container's stdio (WebSocket or SPDY), as with the kubelet.
//! A `stdin`/`tty` container's stdio is held by its stdio shim, which the attach goes through
//! ([`super::shim`]): output is relayed from the moment of attaching (what it printed before
//! is in its log); client stdin goes into it (`stdinOnce`: the first client's only), resize
//! messages size its terminal. An ordinary container has no stdin: the attach follows its log
//! from the end (so does an attach to a `stdin`/`tty` container whose shim is gone). Either way the attach ends when the container exits, with `Success`
//! on channel 3 as the kubelet sends (`kubectl run` reads the exit code from the pod status).

use super::proto::{self, frame, parse_resize, StreamOptions, CLOSE, RESIZE, STATUS, STDIN};
use super::{status_error, upgrade, Rx, StreamRequest, Tx};
use crate::crilog;
use crate::runtime::runc::{AttachTarget, Chunk, ContainerIo, ExitWait};
use axum::extract::ws::{CloseFrame, Message};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::{broadcast, oneshot};

/// How often an attach to an ordinary container looks for new bytes in its log.
const LOG_POLL: Duration = Duration::from_millis(100);

/// `GET|POST /attach/{ns}/{pod}/{container}?stdin=&stdout=&stderr=&tty=`.
pub(super) async fn attach(r: StreamRequest, req: Request) -> Response {
    let StreamRequest {
        shared: s,
        ns,
        pod,
        container,
        opts,
    } = r;
    let target = match s.target.attach(&ns, &pod, &container).await {
        Ok(t) => t,
        Err(e) => return status_error(StatusCode::BAD_REQUEST, "BadRequest", &e.to_string()),
    };
    tracing::debug!(
        "attach to {ns}/{pod}/{container}: {opts:?}, stdio shim: {:?}",
        target.stdio
    );
    let o = opts.clone();
    upgrade(req, &o, move |client| run_attach(client, target, opts)).await
}

async fn run_attach(client: (Tx, Rx), target: AttachTarget, opts: StreamOptions) {
    let AttachTarget { stdio, log, exit } = target;
    if let Some(socket) = stdio {
        match super::shim::connect(&socket, &opts).await {
            Ok(shim) => return super::shim::forward(client, shim).await,
            Err(e) => tracing::debug!(
                "no stdio shim at {}: {e}; following the log",
                socket.display()
            ),
        }
    }
    follow_log(client, log, exit, opts).await
}

/// Relays a process's stdio and a client: `output` to the client (the channels it asked
/// for), client stdin to the process if `stdin` (released at the close signal or when the
/// client goes), resize messages to its terminal. When the output ends, sends the `status`
/// it resolves to and closes: true. False when the client went away first.
pub(super) async fn relay(
    client: (Tx, Rx),
    io: Arc<ContainerIo>,
    output: Option<broadcast::Receiver<Chunk>>,
    opts: StreamOptions,
    stdin: bool,
    status: impl Future<Output = serde_json::Value>,
) -> bool {
    let (mut sink, mut stream) = client;
    let (gone_tx, mut gone) = oneshot::channel::<()>();
    let client_io = io.clone();
    let reader = tokio::spawn(async move {
        let mut stdin_open = stdin;
        while let Some(Ok(msg)) = stream.next().await {
            let data = match msg {
                Message::Binary(d) => d,
                Message::Close(_) => break,
                _ => continue,
            };
            match data.first() {
                Some(&STDIN) if stdin_open => client_io.write_stdin(data[1..].to_vec()),
                Some(&RESIZE) => {
                    if let Some((w, h)) = parse_resize(&data[1..]) {
                        client_io.resize(w, h);
                    }
                }
                Some(&CLOSE) if data.get(1) == Some(&STDIN) && stdin_open => {
                    stdin_open = false;
                    client_io.release_stdin();
                }
                _ => {}
            }
        }
        if stdin_open {
            client_io.release_stdin();
        }
        let _ = gone_tx.send(());
    });
    let ended = match output {
        None => true,
        Some(mut rx) => loop {
            tokio::select! {
                r = rx.recv() => match r {
                    Ok((ch, data)) if opts.wants(ch) => {
                        if sink.send(frame(ch, &data)).await.is_err() {
                            break false;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!("attached client too slow: {n} output chunks skipped");
                    }
                    Err(broadcast::error::RecvError::Closed) => break true,
                },
                _ = &mut gone => break false,
            }
        },
    };
    if ended {
        finish(&mut sink, status.await).await;
    }
    reader.abort();
    ended
}

/// Attach to a container whose output goes to its log (a log shim's CRI records): follows the
/// log from its end until the container exits (and what it wrote last is sent), stdout and
/// stderr on their channels.
async fn follow_log(
    client: (Tx, Rx),
    log: std::path::PathBuf,
    mut exit: ExitWait,
    opts: StreamOptions,
) {
    let (mut sink, mut stream) = client;
    let mut offset = tokio::fs::metadata(&log)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    });
    let mut exited = exit.exited();
    loop {
        if !exited {
            tokio::select! {
                _ = exit.wait() => exited = true,
                _ = tokio::time::sleep(LOG_POLL) => {}
            }
            if exited {
                // The log shim writes the last output after the exit: give it a moment.
                tokio::time::sleep(LOG_POLL * 2).await;
            }
        }
        if reader.is_finished() {
            return;
        }
        let mut buf = Vec::new();
        if let Ok(mut f) = tokio::fs::File::open(&log).await {
            if f.seek(std::io::SeekFrom::Start(offset)).await.is_ok() {
                let _ = f.read_to_end(&mut buf).await;
            }
        }
        // Whole records only: the rest is still being written.
        let (records, used) = crilog::complete_records(&buf);
        offset += used as u64;
        for r in records {
            let channel = match r.stream {
                crilog::Stream::Stdout => 1,
                crilog::Stream::Stderr => 2,
            };
            if opts.wants(channel) && sink.send(frame(channel, &r.output())).await.is_err() {
                reader.abort();
                return;
            }
        }
        if exited {
            break;
        }
    }
    finish(&mut sink, proto::success()).await;
    reader.abort();
}

/// Sends `status` on channel 3, then a normal close.
pub(super) async fn finish(sink: &mut Tx, status: serde_json::Value) {
    let _ = sink
        .send(frame(STATUS, status.to_string().as_bytes()))
        .await;
    close(sink).await
}

/// Closes the client's side normally (code 1000).
pub(super) async fn close(sink: &mut Tx) {
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "".into(),
        })))
        .await;
    let _ = sink.close().await;
}

/// Ends a stream that could not start: an `InternalError` status with `message`.
pub(super) async fn fail(client: (Tx, Rx), message: &str) {
    tracing::warn!("{message}");
    let (mut sink, _) = client;
    finish(&mut sink, proto::internal_error(message)).await
}
