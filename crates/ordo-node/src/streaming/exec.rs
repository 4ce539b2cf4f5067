//! `exec`: a command in a container over WebSocket or SPDY. Without a terminal it is a `runc exec`
//! child with piped stdio; with `tty=true` it runs on a terminal received through a console
//! socket (see [`crate::runtime::runc::RuncRuntime::exec_tty`]) and is relayed like an attach.
//! The exit code goes on channel 3.

use super::proto::{self, frame, StreamOptions, CLOSE, STDIN};
use super::{status_error, upgrade, Rx, StreamRequest, Tx};
use axum::extract::ws::Message;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET|POST /exec/{ns}/{pod}/{container}?command=...&stdin=&stdout=&stderr=&tty=`.
pub(super) async fn exec(r: StreamRequest, req: Request) -> Response {
    let StreamRequest {
        shared: s,
        ns,
        pod,
        container,
        opts,
    } = r;
    if opts.command.is_empty() {
        return status_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "you must specify at least 1 command",
        );
    }
    if opts.tty {
        tracing::debug!("exec -t in {ns}/{pod}/{container}: {:?}", opts.command);
        let o = opts.clone();
        return upgrade(req, &o, move |client| async move {
            let started = s
                .target
                .exec_tty(&ns, &pod, &container, &opts.command)
                .await;
            run_exec_tty(client, started, opts).await
        })
        .await;
    }
    let cmd = match s
        .target
        .exec_command(&ns, &pod, &container, &opts.command)
        .await
    {
        Ok(c) => c,
        Err(e) => return status_error(StatusCode::BAD_REQUEST, "BadRequest", &e.to_string()),
    };
    let stdin = opts.stdin;
    upgrade(req, &opts, move |client| run_exec(client, cmd, stdin)).await
}

/// Relays an `exec -t` process; the client going away hangs it up (SIGHUP), as closing a
/// terminal does.
async fn run_exec_tty(
    client: (Tx, Rx),
    started: anyhow::Result<crate::runtime::runc::TtyExec>,
    opts: StreamOptions,
) {
    let t = match started {
        Ok(t) => t,
        Err(e) => return super::attach::fail(client, &format!("exec failed: {e:#}")).await,
    };
    let mut exit = t.exit;
    let finish = async move { proto::exit_status(exit.wait().await.unwrap_or(1)) };
    let pid = t.pid;
    let done = super::attach::relay(client, t.io, Some(t.output), opts, true, finish).await;
    if !done {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGHUP,
        );
    }
}

/// Runs a piped `runc exec` child: stdout on channel 1, stderr on 2, client stdin (channel 0)
/// into its stdin until the v5 close signal, the exit status on channel 3.
async fn run_exec(client: (Tx, Rx), mut cmd: tokio::process::Command, want_stdin: bool) {
    use std::process::Stdio;
    cmd.stdin(if want_stdin {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return super::attach::fail(client, &format!("exec failed: {e}")).await,
    };
    let (mut sink, mut stream) = client;
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Message>(64);
    let mut pumps = Vec::new();
    let outputs: [(u8, Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>); 2] = [
        (1, child.stdout.take().map(|p| Box::new(p) as _)),
        (2, child.stderr.take().map(|p| Box::new(p) as _)),
    ];
    for (channel, pipe) in outputs {
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
                Some(&STDIN) => {
                    if let Some(s) = stdin.as_mut() {
                        if s.write_all(&data[1..]).await.is_err() {
                            stdin = None;
                        }
                    }
                }
                Some(&CLOSE) if data.get(1) == Some(&STDIN) => stdin = None,
                _ => {}
            }
        }
    });
    let code = match child.wait().await {
        Ok(st) => {
            use std::os::unix::process::ExitStatusExt;
            st.code().unwrap_or(128 + st.signal().unwrap_or(0))
        }
        Err(_) => 1,
    };
    for p in pumps {
        let _ = p.await;
    }
    reader.abort();
    if let Ok(Some(mut sink)) = writer.await {
        super::attach::finish(&mut sink, proto::exit_status(code)).await;
    }
}
