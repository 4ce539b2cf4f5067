//! Attaching through a container's stdio shim: the shim (ordo's hidden `stdio-shim`
//! subcommand, see [`crate::runtime::runc::stdio_shim`]) owns the stdio of a `stdin`/`tty`
//! container and serves it on a unix socket in the container's directory; the node agent
//! connects there for each `attach` and relays the client's channels.
//!
//! The socket speaks the channel protocol itself, each message framed by its length (4 bytes,
//! big endian): the agent's first message is the attach's query string
//! (`stdin=true&stdout=true&...`), then the client's own messages (stdin on channel 0, resize
//! on 4, the close signal 255), and the shim sends output on channels 1 and 2 and, when the
//! container's output ends, the status on channel 3, then closes. The client going away is the
//! agent closing its side. So the attach's semantics (stdin claims, `stdinOnce`, resizes) live
//! in the shim, in [`super::attach::relay`], and survive an ordo restart with it.

use super::attach::relay;
use super::proto::{self, StreamOptions};
use super::{Rx, Tx};
use crate::runtime::runc::{Chunk, ContainerIo};
use axum::extract::ws::Message;
use futures::{SinkExt, StreamExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast;

/// The largest message accepted on the socket (a client's frame is far smaller).
const MAX_MESSAGE: usize = 16 << 20;

/// How long sessions may take to send what is left once the output ended.
const DRAIN: Duration = Duration::from_secs(10);

/// The channel messages of a unix socket connection, length-framed. A `Close` message (or
/// closing the sink) shuts the write side down; end of file ends the stream.
pub fn framed(conn: UnixStream) -> (Tx, Rx) {
    let (r, w) = conn.into_split();
    let rx = futures::stream::unfold(r, |mut r| async move {
        let mut len = [0u8; 4];
        r.read_exact(&mut len).await.ok()?;
        let n = u32::from_be_bytes(len) as usize;
        if n > MAX_MESSAGE {
            tracing::debug!("a {n}-byte message on a stdio socket: closing it");
            return None;
        }
        let mut buf = vec![0u8; n];
        r.read_exact(&mut buf).await.ok()?;
        Some((Ok(Message::Binary(buf.into())), r))
    });
    let tx = futures::sink::unfold(Some(w), |w, m: Message| async move {
        let Some(mut w) = w else {
            return Ok(None);
        };
        let data = match m {
            Message::Binary(d) => d,
            Message::Close(_) => {
                let _ = w.shutdown().await;
                return Ok(None);
            }
            _ => return Ok(Some(w)),
        };
        let len = u32::try_from(data.len()).map_err(axum::Error::new)?;
        w.write_all(&len.to_be_bytes())
            .await
            .map_err(axum::Error::new)?;
        w.write_all(&data).await.map_err(axum::Error::new)?;
        Ok::<_, axum::Error>(Some(w))
    });
    (Box::pin(tx), Box::pin(rx))
}

/// What the shim runs: serves attach sessions on `listener` until the output of `io` ends
/// (`first`, a receiver from its start, closes), then removes the socket `name` from the
/// directory `dir` (opened when the shim started, so a newer container's socket at the same
/// path is never removed) and gives the sessions a moment to send what is left.
pub async fn serve(
    io: Arc<ContainerIo>,
    mut first: broadcast::Receiver<Chunk>,
    listener: UnixListener,
    dir: Option<std::fs::File>,
    name: PathBuf,
) {
    let ended = async move {
        while !matches!(first.recv().await, Err(broadcast::error::RecvError::Closed)) {}
    };
    tokio::pin!(ended);
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut ended => break,
            a = listener.accept() => match a {
                Ok((conn, _)) => {
                    sessions.spawn(session(io.clone(), conn));
                }
                Err(e) => {
                    tracing::warn!("accepting on the stdio socket: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    if let Some(dir) = dir {
        use std::os::fd::AsRawFd;
        let _ = nix::unistd::unlinkat(
            Some(dir.as_raw_fd()),
            &name,
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
    }
    let _ = tokio::time::timeout(DRAIN, async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
}

/// One attach through the socket: the agent's first message is the attach's options.
async fn session(io: Arc<ContainerIo>, conn: UnixStream) {
    let (tx, mut rx) = framed(conn);
    let Some(Ok(Message::Binary(first))) = rx.next().await else {
        return;
    };
    let opts = StreamOptions::parse(&String::from_utf8_lossy(&first));
    // Subscribe first: output from here on reaches this client.
    let output = io.subscribe();
    let stdin = opts.stdin && io.claim_stdin();
    relay((tx, rx), io, output, opts, stdin, async {
        proto::success()
    })
    .await;
}

/// Connects to the stdio socket `path` of a container for an attach with `opts`.
pub async fn connect(path: &Path, opts: &StreamOptions) -> std::io::Result<(Tx, Rx)> {
    let conn = {
        let (_dir, p) = crate::runtime::runc::stdio_shim::reachable(path)?;
        UnixStream::connect(&p).await?
    };
    let (mut tx, rx) = framed(conn);
    tx.send(Message::Binary(opts.to_query().into_bytes().into()))
        .await
        .map_err(std::io::Error::other)?;
    Ok((tx, rx))
}

/// Relays a client and a shim session until the shim closes it (the status was sent) or the
/// client goes away (the shim sees its side close).
pub async fn forward(client: (Tx, Rx), shim: (Tx, Rx)) {
    let (mut csink, mut cstream) = client;
    let (mut ssink, mut sstream) = shim;
    let up = tokio::spawn(async move {
        while let Some(Ok(m)) = cstream.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
            if matches!(m, Message::Binary(_)) && ssink.send(m).await.is_err() {
                break;
            }
        }
        let _ = ssink.close().await;
    });
    while let Some(Ok(m)) = sstream.next().await {
        if csink.send(m).await.is_err() {
            break;
        }
    }
    super::attach::close(&mut csink).await;
    up.abort();
}
