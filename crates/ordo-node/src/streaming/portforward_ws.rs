//! WebSocket transports of `port-forward`: the SPDY tunnel (`SPDY/3.1+portforward.k8s.io`,
//! SPDY frames in binary messages, as client-go's `TunnelingConnection` sends them) and the
//! kubelet's channel protocol (`v4.channel.k8s.io`, or `v4.base64.channel.k8s.io` in text
//! messages): for the i-th port of `?port=`, channel 2i carries the data and 2i+1 the errors,
//! and the first message on each is the port, two bytes little endian. The WebSocket closes
//! once every port's connection is over.

use super::portforward::{pipe, PodPorts, WS_BASE64};
use super::portforward_spdy::Frames;
use axum::extract::ws::{Message, WebSocket};
use base64::Engine;
use bytes::Bytes;
use futures::{SinkExt, Stream, StreamExt};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

/// The ports of a channel-protocol request: `port` (the kubelet's parameter) or `ports` (the
/// API's `PodPortForwardOptions`, which kube-apiserver turns into `port` and ordo's API server
/// passes on as is), repeated or comma-separated, with upstream's `NewV4Options` errors.
pub fn ports_of(query: &str) -> Result<Vec<u16>, String> {
    let values: Vec<String> = super::proto::url_pairs(query)
        .into_iter()
        .filter(|(k, _)| k == "port" || k == "ports")
        .map(|(_, v)| v)
        .collect();
    if values.is_empty() {
        return Err("query parameter \"port\" is required".into());
    }
    let mut ports = Vec::new();
    for v in values {
        if v.is_empty() {
            return Err("query parameter \"port\" cannot be empty".into());
        }
        for p in v.split(',') {
            let n: u16 = p
                .parse()
                .map_err(|e| format!("unable to parse {v:?} as a port: {e}"))?;
            if n < 1 {
                return Err(format!("port {v:?} must be > 0"));
            }
            ports.push(n);
        }
    }
    Ok(ports)
}

/// The byte stream inside a WebSocket's binary messages.
struct WsReader {
    rx: futures::stream::SplitStream<WebSocket>,
    buf: Bytes,
}

impl AsyncRead for WsReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.buf.is_empty() {
            match Pin::new(&mut self.rx).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(Message::Binary(b)))) => self.buf = b,
                Poll::Ready(Some(Ok(Message::Close(_)))) | Poll::Ready(None) => {
                    return Poll::Ready(Ok(()))
                }
                Poll::Ready(Some(Ok(Message::Text(_)))) => {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "invalid message type received",
                    )))
                }
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Err(std::io::Error::other(e.to_string())))
                }
            }
        }
        let n = self.buf.len().min(out.remaining());
        let chunk = self.buf.split_to(n);
        out.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}

/// Unwraps the SPDY tunnel: the bytes the client sends, and where SPDY frames to it go (one
/// binary message each; the WebSocket closes when every sender is gone).
pub fn tunnel(socket: WebSocket) -> (impl AsyncRead + Unpin + Send + 'static, Frames) {
    let (mut sink, rx) = socket.split();
    let (tx, mut frames) = mpsc::channel::<Vec<u8>>(64);
    tokio::spawn(async move {
        while let Some(f) = frames.recv().await {
            if sink.send(Message::Binary(f.into())).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    (
        WsReader {
            rx,
            buf: Bytes::new(),
        },
        tx,
    )
}

/// Serves the channel protocol for `ports` until every connection is over or the client
/// goes away.
pub async fn serve(socket: WebSocket, ports: Vec<u16>, pod: Arc<PodPorts>) {
    let base64 = socket.protocol().and_then(|p| p.to_str().ok()) == Some(WS_BASE64);
    let (mut sink, mut rx) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<(u8, Bytes)>(64);
    let writer = tokio::spawn(async move {
        while let Some((channel, data)) = out_rx.recv().await {
            if sink.send(encode(base64, channel, &data)).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    let mut inbound = Vec::new();
    let mut forwards = tokio::task::JoinSet::new();
    for (i, port) in ports.iter().copied().enumerate() {
        let (data, err) = ((2 * i) as u8, (2 * i + 1) as u8);
        let le = Bytes::copy_from_slice(&port.to_le_bytes());
        let _ = out_tx.send((data, le.clone())).await;
        let _ = out_tx.send((err, le)).await;
        let (tx, from_client) = mpsc::channel::<Bytes>(16);
        inbound.push(tx);
        let (out, pod) = (out_tx.clone(), pod.clone());
        forwards.spawn(async move {
            match pod.connect(port).await {
                Err(msg) => {
                    tracing::info!("port-forward: {msg}");
                    let _ = out.send((err, Bytes::from(msg))).await;
                }
                Ok(tcp) => {
                    let (to_client, mut from_pod) = mpsc::channel::<Option<Bytes>>(16);
                    let relay = async {
                        while let Some(Some(b)) = from_pod.recv().await {
                            if out.send((data, b)).await.is_err() {
                                return;
                            }
                        }
                    };
                    tokio::join!(pipe(tcp, from_client, to_client), relay);
                }
            }
        });
    }
    drop(out_tx);
    let reader = async {
        while let Some(Ok(m)) = rx.next().await {
            let (channel, data) = match decode(m) {
                Some(Ok(cd)) => cd,
                Some(Err(())) => continue,
                None => break,
            };
            let Some(tx) = inbound
                .get(channel as usize / 2)
                .filter(|_| channel % 2 == 0)
            else {
                continue;
            };
            let _ = tx.send(data).await;
        }
    };
    let client_left = tokio::select! {
        _ = reader => true,
        _ = async { while forwards.join_next().await.is_some() {} } => false,
    };
    if client_left {
        forwards.abort_all();
    }
    drop(forwards);
    let _ = writer.await;
}

/// A channel message: binary `[channel, data...]`, or base64 text `'0'+channel` then data.
fn encode(base64: bool, channel: u8, data: &[u8]) -> Message {
    if base64 {
        let mut s = String::from((b'0' + channel) as char);
        s.push_str(&base64::engine::general_purpose::STANDARD.encode(data));
        Message::Text(s.into())
    } else {
        super::proto::frame(channel, data)
    }
}

/// A client message's channel and data; `None` when the client closed, `Err` for messages
/// that carry nothing.
fn decode(m: Message) -> Option<Result<(u8, Bytes), ()>> {
    match m {
        Message::Binary(b) if !b.is_empty() => Some(Ok((b[0], b.slice(1..)))),
        Message::Text(t) if !t.is_empty() => {
            let s = t.as_str();
            let channel = s.as_bytes()[0].wrapping_sub(b'0');
            match base64::engine::general_purpose::STANDARD.decode(&s[1..]) {
                Ok(d) => Some(Ok((channel, Bytes::from(d)))),
                Err(_) => Some(Err(())),
            }
        }
        Message::Close(_) => None,
        _ => Some(Err(())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_like_new_v4_options() {
        assert_eq!(ports_of("port=80&port=81,82").unwrap(), [80, 81, 82]);
        assert_eq!(ports_of("&ports=80%2C1234").unwrap(), [80, 1234]);
        assert_eq!(
            ports_of("container=x").unwrap_err(),
            "query parameter \"port\" is required"
        );
        assert_eq!(
            ports_of("port=").unwrap_err(),
            "query parameter \"port\" cannot be empty"
        );
        assert_eq!(ports_of("port=0").unwrap_err(), "port \"0\" must be > 0");
        assert!(ports_of("port=http")
            .unwrap_err()
            .starts_with("unable to parse \"http\" as a port"));
    }

    #[test]
    fn channel_messages_round_trip() {
        for b64 in [false, true] {
            let m = encode(b64, 3, b"\x50\x00");
            let (c, d) = decode(m).unwrap().unwrap();
            assert_eq!((c, &d[..]), (3, &b"\x50\x00"[..]));
        }
        assert!(decode(Message::Close(None)).is_none());
    }
}
