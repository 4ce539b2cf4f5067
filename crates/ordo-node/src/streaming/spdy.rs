//! SPDY/3.1 for exec and attach, for kubectl older than 1.30 (and `KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`).
//!
//! The client upgrades with `Upgrade: SPDY/3.1`; ordo answers `X-Stream-Protocol-Version:
//! v4.channel.k8s.io`. The client then opens one stream per channel, in client-go's fixed order
//! (error, stdin, stdout, stderr, resize; each only if the request asks for it) and waits for
//! each stream's reply, so streams are told apart by order and their compressed headers are
//! not read. The connection is turned into the same channel messages the WebSocket carries
//! (first byte the channel), so exec and attach serve both transports alike: stdin data is
//! channel 0, its end (FIN) the v5 close signal, resize messages channel 4; channels 1, 2 and 3
//! go to the stdout, stderr and error streams, and a Close message ends every stream (FIN).

use super::proto::{StreamOptions, CLOSE, RESIZE, STATUS, STDIN};
use super::{Rx, Tx};
use axum::extract::ws::Message;
use futures::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// The subprotocol ordo answers with.
pub const PROTOCOL: &str = "v4.channel.k8s.io";

pub(super) const SYN_STREAM: u16 = 1;
pub(super) const SYN_REPLY: u16 = 2;
pub(super) const RST_STREAM: u16 = 3;
pub(super) const PING: u16 = 6;
pub(super) const GOAWAY: u16 = 7;
pub(super) const FLAG_FIN: u8 = 1;

/// Whether a request asks for a SPDY/3.1 upgrade.
pub fn is_spdy(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::UPGRADE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.eq_ignore_ascii_case("spdy/3.1")))
}

/// The 101 response accepting the upgrade, answering with subprotocol `protocol`.
pub fn switching_protocols(protocol: &str) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    axum::response::Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "SPDY/3.1")
        .header("X-Stream-Protocol-Version", protocol)
        .body(axum::body::Body::empty())
        .expect("a valid response")
}

/// What each stream the client opens is, in the order client-go opens them.
pub fn stream_kinds(o: &StreamOptions) -> Vec<Kind> {
    let mut v = vec![Kind::Error];
    if o.stdin {
        v.push(Kind::Stdin);
    }
    if o.stdout {
        v.push(Kind::Stdout);
    }
    if o.stderr && !o.tty {
        v.push(Kind::Stderr);
    }
    if o.tty {
        v.push(Kind::Resize);
    }
    v
}

/// A stream's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Error,
    Stdin,
    Stdout,
    Stderr,
    Resize,
}

impl Kind {
    /// The channel of a stream ordo writes to.
    fn channel(self) -> Option<u8> {
        match self {
            Kind::Stdout => Some(1),
            Kind::Stderr => Some(2),
            Kind::Error => Some(STATUS),
            _ => None,
        }
    }
}

/// One frame's header and payload.
pub(super) struct Frame {
    /// The type of a control frame; `None` for a data frame.
    pub control: Option<u16>,
    /// The stream of a data frame, or the first field of a control frame's payload.
    pub stream: u32,
    pub flags: u8,
    pub payload: Vec<u8>,
}

/// Reads one frame.
pub(super) async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Frame> {
    let mut h = [0u8; 8];
    r.read_exact(&mut h).await?;
    let len = u32::from_be_bytes([0, h[5], h[6], h[7]]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    let first = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let (control, stream) = if first & 0x8000_0000 != 0 {
        let ty = u16::from_be_bytes([h[2], h[3]]);
        let id = payload
            .get(..4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff)
            .unwrap_or(0);
        (Some(ty), id)
    } else {
        (None, first & 0x7fff_ffff)
    };
    Ok(Frame {
        control,
        stream,
        flags: h[4],
        payload,
    })
}

/// Runs raw client bytes through the frame reader, the header block decoder of SYN_STREAM
/// frames and the resize parser, as a connection would (for the fuzz targets in `fuzz/`).
/// Returns how many frames were read.
#[doc(hidden)]
pub fn fuzz_frames(mut data: &[u8]) -> usize {
    let mut headers = super::spdy_headers::HeaderDecoder::default();
    let mut n = 0;
    while let Ok(f) = futures::executor::block_on(read_frame(&mut data)) {
        n += 1;
        match f.control {
            Some(SYN_STREAM) => {
                if let Some(block) = f.payload.get(10..) {
                    let _ = headers.decode(block);
                }
            }
            None => {
                for line in f.payload.split(|b| *b == b'\n') {
                    let _ = super::proto::parse_resize(line);
                }
            }
            _ => {}
        }
    }
    n
}

/// A control frame (SPDY version 3).
pub fn control_frame(ty: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80, 0x03];
    f.extend_from_slice(&ty.to_be_bytes());
    f.push(flags);
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(payload);
    f
}

/// A data frame on `stream`.
pub fn data_frame(stream: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut f = (stream & 0x7fff_ffff).to_be_bytes().to_vec();
    f.push(flags);
    f.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(data);
    f
}

/// An empty header block, zlib-compressed on the connection's compression context (without
/// the SPDY dictionary, which the reader only needs when the block says it was used).
pub(super) fn empty_headers(z: &mut flate2::Compress) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let _ = z.compress_vec(&0u32.to_be_bytes(), &mut out, flate2::FlushCompress::Sync);
    out
}

/// Takes over an upgraded connection: waits until the client opened its `kinds` of streams,
/// then returns the connection as channel messages.
pub async fn accept(
    upgraded: hyper::upgrade::Upgraded,
    kinds: Vec<Kind>,
) -> anyhow::Result<(Tx, Rx)> {
    let io = TokioIo::new(upgraded);
    let (mut rd, mut wr) = tokio::io::split(io);
    let (frames_tx, mut frames_rx) = tokio::sync::mpsc::unbounded_channel::<Option<Vec<u8>>>();
    // One writer owns the socket's write half; `None` shuts it down.
    tokio::spawn(async move {
        while let Some(Some(f)) = frames_rx.recv().await {
            if wr.write_all(&f).await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut z = flate2::Compress::new(flate2::Compression::fast(), true);
    let mut streams: Vec<(u32, Kind)> = Vec::new();
    while streams.len() < kinds.len() {
        let f = read_frame(&mut rd).await?;
        match f.control {
            Some(SYN_STREAM) => {
                let kind = kinds[streams.len()];
                streams.push((f.stream, kind));
                let mut reply = f.stream.to_be_bytes().to_vec();
                reply.extend(empty_headers(&mut z));
                let _ = frames_tx.send(Some(control_frame(SYN_REPLY, 0, &reply)));
            }
            Some(PING) => {
                let _ = frames_tx.send(Some(control_frame(PING, 0, &f.payload)));
            }
            Some(GOAWAY) => anyhow::bail!("the client went away while opening streams"),
            _ => {}
        }
    }
    tracing::debug!("spdy streams: {streams:?}");
    let (in_tx, in_rx) = futures::channel::mpsc::unbounded::<Result<Message, axum::Error>>();
    let (out_tx, mut out_rx) = futures::channel::mpsc::unbounded::<Message>();
    let find = |k: Kind| streams.iter().find(|s| s.1 == k).map(|s| s.0);
    let (stdin, resize) = (find(Kind::Stdin), find(Kind::Resize));
    let replies = frames_tx.clone();
    tokio::spawn(async move {
        let mut pending_resize = Vec::new();
        while let Ok(f) = read_frame(&mut rd).await {
            let mut msgs = Vec::new();
            match f.control {
                Some(PING) => {
                    let _ = replies.send(Some(control_frame(PING, 0, &f.payload)));
                }
                Some(GOAWAY) => break,
                Some(_) => {}
                None if Some(f.stream) == stdin => {
                    if !f.payload.is_empty() {
                        let mut m = vec![STDIN];
                        m.extend_from_slice(&f.payload);
                        msgs.push(m);
                    }
                    if f.flags & FLAG_FIN != 0 {
                        msgs.push(vec![CLOSE, STDIN]);
                    }
                }
                None if Some(f.stream) == resize => {
                    pending_resize.extend_from_slice(&f.payload);
                    while let Some(i) = pending_resize.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending_resize.drain(..=i).collect();
                        let mut m = vec![RESIZE];
                        m.extend_from_slice(&line);
                        msgs.push(m);
                    }
                }
                None => {}
            }
            for m in msgs {
                if in_tx.unbounded_send(Ok(Message::Binary(m.into()))).is_err() {
                    return;
                }
            }
        }
        // The client is gone: the message stream ends.
    });
    let writable: Vec<(u8, u32)> = streams
        .iter()
        .filter_map(|(id, k)| k.channel().map(|c| (c, *id)))
        .collect();
    tokio::spawn(async move {
        while let Some(m) = out_rx.next().await {
            match m {
                Message::Binary(b) if !b.is_empty() => {
                    if let Some((_, id)) = writable.iter().find(|(c, _)| *c == b[0]) {
                        let _ = frames_tx.send(Some(data_frame(*id, 0, &b[1..])));
                    }
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        for (_, id) in &writable {
            let _ = frames_tx.send(Some(data_frame(*id, FLAG_FIN, &[])));
        }
        let _ = frames_tx.send(None);
    });
    let tx: Tx = Box::pin(out_tx.sink_map_err(axum::Error::new));
    let rx: Rx = Box::pin(in_rx);
    Ok((tx, rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_follow_client_go_order() {
        let o = StreamOptions::parse("stdin=true&stdout=true&stderr=true");
        assert_eq!(
            stream_kinds(&o),
            [Kind::Error, Kind::Stdin, Kind::Stdout, Kind::Stderr]
        );
        let t = StreamOptions::parse("stdin=true&stdout=true&tty=true");
        assert_eq!(
            stream_kinds(&t),
            [Kind::Error, Kind::Stdin, Kind::Stdout, Kind::Resize]
        );
    }

    #[tokio::test]
    async fn frames_round_trip() {
        let mut bytes = control_frame(SYN_STREAM, 0, &[0, 0, 0, 3, 0, 0, 0, 0, 0, 0]);
        bytes.extend(data_frame(3, FLAG_FIN, b"abc"));
        let mut r = &bytes[..];
        let f = read_frame(&mut r).await.unwrap();
        assert_eq!((f.control, f.stream), (Some(SYN_STREAM), 3));
        let d = read_frame(&mut r).await.unwrap();
        assert_eq!((d.control, d.stream, d.flags), (None, 3, FLAG_FIN));
        assert_eq!(d.payload, b"abc");
    }

    #[test]
    fn header_blocks_are_zlib() {
        let mut z = flate2::Compress::new(flate2::Compression::fast(), true);
        let block = empty_headers(&mut z);
        let mut d = flate2::Decompress::new(true);
        let mut out = Vec::with_capacity(16);
        d.decompress_vec(&block, &mut out, flate2::FlushDecompress::Sync)
            .unwrap();
        assert_eq!(out, [0, 0, 0, 0]);
    }
}
