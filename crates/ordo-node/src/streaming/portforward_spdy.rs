//! The SPDY/3.1 session of `port-forward` (`portforward.k8s.io`), over an upgraded connection
//! or tunnelled in WebSocket messages: the kubelet's `httpStreamHandler`. The client opens a
//! pair of streams per forwarded connection, `streamType: error` and `streamType: data`, both
//! with the `port` and the same `requestID` (older clients send none: the pair is then told
//! by stream id, as upstream does). Once both are there the data stream is connected to the
//! port inside the pod; a failure is written on the error stream, and both streams end (FIN)
//! when the connection is over. A pair still missing a stream after 30 s (the kubelet's stream
//! creation timeout) is given up with upstream's `timed out waiting for streams`. Flow-control
//! frames are ignored, as client-go's SPDY ignores them.

use super::portforward::{pipe, PodPorts};
use super::spdy::{
    control_frame, data_frame, empty_headers, read_frame, Frame, FLAG_FIN, GOAWAY, PING,
    RST_STREAM, SYN_REPLY, SYN_STREAM,
};
use super::spdy_headers::{get, HeaderDecoder};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Frames to the client, written in order by one writer task; when every sender is gone the
/// connection is closed.
pub type Frames = mpsc::Sender<Vec<u8>>;

/// How long the second stream of a pair may take (the kubelet's `StreamCreationTimeout`).
const STREAM_CREATION_TIMEOUT: Duration = Duration::from_secs(30);

/// RST_STREAM status `CANCEL`, what client-go's `Reset` sends and upstream answers a stream
/// with invalid headers with.
const CANCEL: u32 = 5;

/// The writer task of a raw (upgraded) connection.
pub fn raw_writer<W: AsyncWrite + Unpin + Send + 'static>(mut wr: W) -> Frames {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(64);
    tokio::spawn(async move {
        while let Some(f) = rx.recv().await {
            if wr.write_all(&f).await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });
    tx
}

/// The two halves of a forwarded connection, as they arrive.
struct Pair {
    error: Option<u32>,
    data: Option<(u32, u16, mpsc::Receiver<Bytes>)>,
    since: Instant,
}

/// What a valid SYN_STREAM asks for.
struct NewStream {
    id: u32,
    error: bool,
    port: u16,
    request: String,
}

struct Session {
    frames: Frames,
    ports: Arc<PodPorts>,
    headers: HeaderDecoder,
    replies: flate2::Compress,
    pairs: HashMap<String, Pair>,
    /// Where the client's bytes on each data stream go, until its FIN.
    inbound: HashMap<u32, mpsc::Sender<Bytes>>,
    /// The forwarding task of each stream (aborted by RST_STREAM).
    tasks: HashMap<u32, tokio::task::AbortHandle>,
    forwards: tokio::task::JoinSet<()>,
}

/// Serves port forwarding on a SPDY connection until the client goes away; every forwarded
/// connection ends with it.
pub async fn serve<R: AsyncRead + Unpin + Send + 'static>(
    mut rd: R,
    frames: Frames,
    ports: Arc<PodPorts>,
) {
    let mut s = Session::new(frames, ports);
    // Frames are read by a task of their own, so that waiting for one can be interrupted by
    // the timer of incomplete pairs (a read cut short would lose bytes).
    let (frames_in, mut incoming) = mpsc::channel::<Frame>(16);
    let reader = tokio::spawn(async move {
        loop {
            match read_frame(&mut rd).await {
                Ok(f) => {
                    if frames_in.send(f).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!("port-forward connection ended: {e}");
                    return;
                }
            }
        }
    });
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let f = tokio::select! {
            f = incoming.recv() => match f {
                Some(f) => f,
                None => break,
            },
            _ = tick.tick() => {
                s.expire(Instant::now()).await;
                continue;
            }
        };
        match f.control {
            Some(SYN_STREAM) => {
                if let Err(e) = s.syn_stream(&f).await {
                    tracing::warn!("port-forward: {e:#}; closing the connection");
                    break;
                }
            }
            Some(RST_STREAM) => {
                s.inbound.remove(&f.stream);
                if let Some(t) = s.tasks.remove(&f.stream) {
                    t.abort();
                }
            }
            Some(PING) => {
                let _ = s.frames.send(control_frame(PING, 0, &f.payload)).await;
            }
            Some(GOAWAY) => break,
            Some(_) => {}
            None => s.data(f).await,
        }
    }
    reader.abort();
    s.forwards.abort_all();
}

impl Session {
    fn new(frames: Frames, ports: Arc<PodPorts>) -> Session {
        Session {
            frames,
            ports,
            headers: HeaderDecoder::default(),
            replies: flate2::Compress::new(flate2::Compression::fast(), true),
            pairs: HashMap::new(),
            inbound: HashMap::new(),
            tasks: HashMap::new(),
            forwards: tokio::task::JoinSet::new(),
        }
    }

    /// Gives up the pairs whose second stream has not come in time: upstream's message on the
    /// error stream, and both streams ended.
    async fn expire(&mut self, now: Instant) {
        let late: Vec<String> = self
            .pairs
            .iter()
            .filter(|(_, p)| now.duration_since(p.since) >= STREAM_CREATION_TIMEOUT)
            .map(|(r, _)| r.clone())
            .collect();
        for request in late {
            let p = self.pairs.remove(&request).expect("listed above");
            let msg = format!("(conn=spdy, request={request}) timed out waiting for streams");
            tracing::warn!("port-forward: {msg}");
            if let Some(err) = p.error {
                let _ = self.frames.send(data_frame(err, 0, msg.as_bytes())).await;
                let _ = self.frames.send(data_frame(err, FLAG_FIN, &[])).await;
            }
            if let Some((data, _, _)) = p.data {
                self.inbound.remove(&data);
                let _ = self.frames.send(data_frame(data, FLAG_FIN, &[])).await;
            }
        }
    }

    /// Client data on a stream: to its forwarded connection; FIN ends the client's side.
    async fn data(&mut self, f: Frame) {
        if let Some(tx) = self.inbound.get(&f.stream) {
            if !f.payload.is_empty() && tx.send(Bytes::from(f.payload)).await.is_err() {
                self.inbound.remove(&f.stream);
            }
        }
        if f.flags & FLAG_FIN != 0 {
            self.inbound.remove(&f.stream);
        }
    }

    /// A new stream: checked, answered, and paired with its other half.
    async fn syn_stream(&mut self, f: &Frame) -> anyhow::Result<()> {
        anyhow::ensure!(f.payload.len() >= 10, "short SYN_STREAM frame");
        let headers = self.headers.decode(&f.payload[10..])?;
        let new = match check(f.stream, &headers) {
            Ok(n) => n,
            Err(why) => {
                tracing::warn!("port-forward stream {} refused: {why}", f.stream);
                let mut p = f.stream.to_be_bytes().to_vec();
                p.extend_from_slice(&CANCEL.to_be_bytes());
                let _ = self.frames.send(control_frame(RST_STREAM, 0, &p)).await;
                return Ok(());
            }
        };
        let mut reply = f.stream.to_be_bytes().to_vec();
        reply.extend(empty_headers(&mut self.replies));
        let _ = self.frames.send(control_frame(SYN_REPLY, 0, &reply)).await;
        self.inbound.retain(|_, tx| !tx.is_closed());
        self.tasks.retain(|_, t| !t.is_finished());
        while self.forwards.try_join_next().is_some() {}
        let pair = self
            .pairs
            .entry(new.request.clone())
            .or_insert_with(|| Pair {
                error: None,
                data: None,
                since: Instant::now(),
            });
        let taken = if new.error {
            pair.error.replace(new.id).is_some()
        } else {
            let (tx, rx) = mpsc::channel(16);
            self.inbound.insert(new.id, tx);
            pair.data.replace((new.id, new.port, rx)).is_some()
        };
        if taken {
            let kind = if new.error { "error" } else { "data" };
            let msg = format!(
                "error processing stream for request {}: {kind} stream already assigned",
                new.request
            );
            tracing::warn!("port-forward: {msg}");
            if let Some(err) = pair.error {
                let _ = self.frames.send(data_frame(err, 0, msg.as_bytes())).await;
            }
        }
        if pair.error.is_some() && pair.data.is_some() {
            let pair = self.pairs.remove(&new.request).expect("the pair is there");
            let (Some(err), Some((data, port, rx))) = (pair.error, pair.data) else {
                unreachable!("both halves are there")
            };
            tracing::debug!("port-forward request {}: port {port}", new.request);
            let (frames, ports) = (self.frames.clone(), self.ports.clone());
            let h = self
                .forwards
                .spawn(forward(frames, ports, port, data, err, rx));
            self.tasks.insert(data, h.clone());
            self.tasks.insert(err, h);
        }
        Ok(())
    }
}

/// A stream's headers checked as upstream's `httpStreamReceived` does; the request id is the
/// `requestID` header, or for old clients the error stream's id (the data stream's minus 2).
fn check(id: u32, h: &[(String, String)]) -> Result<NewStream, String> {
    let port = get(h, "port").filter(|p| !p.is_empty());
    let port = port.ok_or_else(|| "\"port\" header is required".to_string())?;
    let n: u16 = port
        .parse()
        .map_err(|e| format!("unable to parse {port:?} as a port: {e}"))?;
    if n < 1 {
        return Err(format!("port {port:?} must be > 0"));
    }
    let error = match get(h, "streamtype") {
        None | Some("") => return Err("\"streamType\" header is required".into()),
        Some("error") => true,
        Some("data") => false,
        Some(t) => return Err(format!("invalid stream type {t:?}")),
    };
    let request = match get(h, "requestid").filter(|r| !r.is_empty()) {
        Some(r) => r.to_string(),
        None if error => id.to_string(),
        None => id.saturating_sub(2).to_string(),
    };
    Ok(NewStream {
        id,
        error,
        port: n,
        request,
    })
}

/// One forwarded connection: the pod's port to the data stream; a failure on the error stream.
async fn forward(
    frames: Frames,
    ports: Arc<PodPorts>,
    port: u16,
    data: u32,
    err: u32,
    from_client: mpsc::Receiver<Bytes>,
) {
    match ports.connect(port).await {
        Err(msg) => {
            tracing::info!("port-forward: {msg}");
            let _ = frames.send(data_frame(err, 0, msg.as_bytes())).await;
            let _ = frames.send(data_frame(data, FLAG_FIN, &[])).await;
        }
        Ok(tcp) => {
            let (to_client, mut from_pod) = mpsc::channel::<Option<Bytes>>(16);
            let relay = async {
                while let Some(m) = from_pod.recv().await {
                    let Some(b) = m else { break };
                    if frames.send(data_frame(data, 0, &b)).await.is_err() {
                        return;
                    }
                }
                let _ = frames.send(data_frame(data, FLAG_FIN, &[])).await;
            };
            tokio::join!(pipe(tcp, from_client, to_client), relay);
        }
    }
    let _ = frames.send(data_frame(err, FLAG_FIN, &[])).await;
}

#[cfg(test)]
mod tests {
    use super::super::spdy_headers::dictionary;
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A client's SYN_STREAM with `headers`, compressed on the client's context.
    fn syn(z: &mut flate2::Compress, id: u32, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut block = (headers.len() as u32).to_be_bytes().to_vec();
        for (n, v) in headers {
            for x in [n, v] {
                block.extend_from_slice(&(x.len() as u32).to_be_bytes());
                block.extend_from_slice(x.as_bytes());
            }
        }
        let mut payload = id.to_be_bytes().to_vec();
        payload.extend_from_slice(&[0; 6]);
        let mut out = Vec::with_capacity(block.len() + 128);
        z.compress_vec(&block, &mut out, flate2::FlushCompress::Sync)
            .unwrap();
        payload.extend(out);
        control_frame(SYN_STREAM, 0, &payload)
    }

    fn client_compressor() -> flate2::Compress {
        let mut z = flate2::Compress::new(flate2::Compression::best(), true);
        z.set_dictionary(&dictionary()).unwrap();
        z
    }

    /// The next frame the session sends: (control type, stream, flags, payload).
    async fn next(rx: &mut mpsc::Receiver<Vec<u8>>) -> (Option<u16>, u32, u8, Vec<u8>) {
        let bytes = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a frame in time")
            .expect("a frame");
        let f = read_frame(&mut &bytes[..]).await.unwrap();
        (f.control, f.stream, f.flags, f.payload)
    }

    #[tokio::test]
    async fn a_pair_forwards_to_the_port_and_ends_both_streams() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port().to_string();
        tokio::spawn(async move {
            let (mut c, _) = l.accept().await.unwrap();
            let mut got = Vec::new();
            c.read_to_end(&mut got).await.unwrap();
            c.write_all(&got.to_ascii_uppercase()).await.unwrap();
        });
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let (tx, mut rx) = mpsc::channel(64);
        let pod = Arc::new(PodPorts {
            id: "p".into(),
            netns: None,
        });
        tokio::spawn(serve(server, tx, pod));
        let mut z = client_compressor();
        let h = |t| {
            [
                ("streamtype", t),
                ("port", port.as_str()),
                ("requestid", "0"),
            ]
        };
        client
            .write_all(&syn(&mut z, 1, &h("error")))
            .await
            .unwrap();
        client.write_all(&syn(&mut z, 3, &h("data"))).await.unwrap();
        client
            .write_all(&data_frame(3, FLAG_FIN, b"ping"))
            .await
            .unwrap();
        assert_eq!(next(&mut rx).await.0, Some(SYN_REPLY));
        assert_eq!(next(&mut rx).await.0, Some(SYN_REPLY));
        let mut body = Vec::new();
        loop {
            let (control, stream, flags, payload) = next(&mut rx).await;
            assert_eq!((control, stream), (None, 3));
            body.extend(payload);
            if flags & FLAG_FIN != 0 {
                break;
            }
        }
        assert_eq!(body, b"PING");
        assert_eq!(next(&mut rx).await, (None, 1, FLAG_FIN, vec![]));
    }

    #[tokio::test]
    async fn a_pair_without_its_data_stream_times_out() {
        let (tx, mut rx) = mpsc::channel(64);
        let pod = Arc::new(PodPorts {
            id: "p".into(),
            netns: None,
        });
        let mut s = Session::new(tx, pod);
        let mut z = client_compressor();
        let f = syn(&mut z, 1, &[("streamtype", "error"), ("port", "80")]);
        let f = read_frame(&mut &f[..]).await.unwrap();
        s.syn_stream(&f).await.unwrap();
        assert_eq!(next(&mut rx).await.0, Some(SYN_REPLY));
        s.expire(Instant::now()).await;
        assert!(rx.try_recv().is_err(), "not yet");
        s.expire(Instant::now() + STREAM_CREATION_TIMEOUT).await;
        let msg = next(&mut rx).await;
        assert_eq!(
            msg,
            (
                None,
                1,
                0,
                b"(conn=spdy, request=1) timed out waiting for streams".to_vec()
            )
        );
        assert_eq!(next(&mut rx).await, (None, 1, FLAG_FIN, vec![]));
        assert!(s.pairs.is_empty());
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn streams_are_checked_like_upstream() {
        let ok = check(
            5,
            &h(&[("streamtype", "data"), ("port", "80"), ("requestid", "2")]),
        )
        .unwrap();
        assert!(!ok.error && ok.port == 80 && ok.request == "2");
        let legacy = check(7, &h(&[("streamtype", "data"), ("port", "80")])).unwrap();
        assert_eq!(legacy.request, "5");
        let legacy = check(5, &h(&[("streamtype", "error"), ("port", "80")])).unwrap();
        assert_eq!(legacy.request, "5");
        let e = |pairs: &[(&str, &str)]| check(1, &h(pairs)).err().unwrap();
        assert_eq!(e(&[("streamtype", "data")]), "\"port\" header is required");
        assert_eq!(
            e(&[("port", "0"), ("streamtype", "data")]),
            "port \"0\" must be > 0"
        );
        assert!(e(&[("port", "x"), ("streamtype", "data")]).starts_with("unable to parse \"x\""));
        assert_eq!(e(&[("port", "80")]), "\"streamType\" header is required");
        assert_eq!(
            e(&[("port", "80"), ("streamtype", "other")]),
            "invalid stream type \"other\""
        );
    }
}
