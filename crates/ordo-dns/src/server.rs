//! DNS over UDP and TCP: cluster names answered from the current [`Zone`], the rest relayed
//! byte for byte to the upstream resolvers (first answer wins, SERVFAIL by the deadline).

use crate::answer::{respond, response_to};
use crate::Snapshot;
use hickory_proto::op::{Message, ResponseCode};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::{timeout, Instant};

/// Past this, a forwarded query is answered SERVFAIL.
pub const FORWARD_DEADLINE: Duration = Duration::from_millis(1500);

/// What the listeners share.
pub struct Handler {
    /// The current snapshot, replaced whole by [`crate::watch::keep_current`].
    pub snapshot: Arc<RwLock<Arc<Snapshot>>>,
    /// The cluster domain (`cluster.local`).
    pub domain: String,
    /// Empty: forwarding is off and outside names get REFUSED.
    pub upstreams: Vec<SocketAddr>,
}

/// Where a query came in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A UDP datagram: oversized answers are truncated (TC) and forwarding uses UDP.
    Udp,
    /// A TCP connection (length-prefixed messages): forwarding uses TCP.
    Tcp,
}

impl Handler {
    /// The response bytes for `query`, or `None` if it is not a parsable query.
    pub async fn handle(&self, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
        let req = Message::from_vec(query).ok()?;
        if req.queries.len() != 1 {
            return response_to(&req, ResponseCode::FormErr).to_vec().ok();
        }
        let snap = self.snapshot.read().expect("zone lock").clone();
        if let Some(resp) = respond(&snap.zone, &self.domain, snap.serial, &req) {
            if !snap.synced {
                return response_to(&req, ResponseCode::ServFail).to_vec().ok();
            }
            return encode(resp, &req, transport);
        }
        if self.upstreams.is_empty() {
            return response_to(&req, ResponseCode::Refused).to_vec().ok();
        }
        match forward(&self.upstreams, query, transport).await {
            Some(bytes) => Some(bytes),
            None => {
                tracing::debug!(name = %req.queries[0].name, "no upstream answered");
                response_to(&req, ResponseCode::ServFail).to_vec().ok()
            }
        }
    }
}

/// Encodes `resp`; over UDP, an answer larger than the client accepts is truncated (TC).
fn encode(resp: Message, req: &Message, transport: Transport) -> Option<Vec<u8>> {
    let bytes = resp.to_vec().ok()?;
    let limit = req
        .edns
        .as_ref()
        .map(|e| e.max_payload())
        .unwrap_or(512)
        .max(512) as usize;
    if transport == Transport::Udp && bytes.len() > limit {
        return resp.truncate().to_vec().ok();
    }
    Some(bytes)
}

/// Relays `query` to each upstream in turn until one answers or the deadline passes.
async fn forward(upstreams: &[SocketAddr], query: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let deadline = Instant::now() + FORWARD_DEADLINE;
    let per_try = FORWARD_DEADLINE / upstreams.len().max(1) as u32;
    for up in upstreams {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let r = match transport {
            Transport::Udp => timeout(per_try.min(left), forward_udp(*up, query)).await,
            Transport::Tcp => timeout(per_try.min(left), forward_tcp(*up, query)).await,
        };
        match r {
            Ok(Ok(bytes)) => return Some(bytes),
            Ok(Err(e)) => tracing::debug!(upstream = %up, "forwarding failed: {e}"),
            Err(_) => tracing::debug!(upstream = %up, "forwarding timed out"),
        }
    }
    None
}

async fn forward_udp(up: SocketAddr, query: &[u8]) -> std::io::Result<Vec<u8>> {
    let bind: SocketAddr = if up.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
        .parse()
        .expect("addr");
    let sock = UdpSocket::bind(bind).await?;
    sock.connect(up).await?;
    sock.send(query).await?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = sock.recv(&mut buf).await?;
        // Ignore stray datagrams whose id does not match.
        if n >= 2 && query.len() >= 2 && buf[..2] == query[..2] {
            return Ok(buf[..n].to_vec());
        }
    }
}

async fn forward_tcp(up: SocketAddr, query: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(up).await?;
    s.write_all(&(query.len() as u16).to_be_bytes()).await?;
    s.write_all(query).await?;
    let len = s.read_u16().await? as usize;
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Serves UDP queries on `sock` for ever, each in its own task.
pub async fn serve_udp(sock: UdpSocket, handler: Arc<Handler>) {
    let sock = Arc::new(sock);
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, peer) = match sock.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!("dns udp receive: {e}");
                continue;
            }
        };
        let query = buf[..n].to_vec();
        let (sock, handler) = (sock.clone(), handler.clone());
        tokio::spawn(async move {
            if let Some(resp) = handler.handle(&query, Transport::Udp).await {
                let _ = sock.send_to(&resp, peer).await;
            }
        });
    }
}

/// Serves TCP connections on `listener` for ever (length-prefixed messages, RFC 1035 4.2.2).
pub async fn serve_tcp(listener: TcpListener, handler: Arc<Handler>) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            loop {
                let Ok(Ok(len)) = timeout(Duration::from_secs(10), conn.read_u16()).await else {
                    return;
                };
                let mut query = vec![0u8; len as usize];
                if conn.read_exact(&mut query).await.is_err() {
                    return;
                }
                let Some(resp) = handler.handle(&query, Transport::Tcp).await else {
                    return;
                };
                let mut out = (resp.len() as u16).to_be_bytes().to_vec();
                out.extend_from_slice(&resp);
                if conn.write_all(&out).await.is_err() {
                    return;
                }
            }
        });
    }
}
