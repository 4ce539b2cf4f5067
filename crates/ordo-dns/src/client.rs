//! A minimal blocking DNS client (one question over UDP or TCP), for tests and tools.

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

/// Asks `server` for `name` of type `rtype` (over TCP if `tcp`), waiting at most `wait`.
pub fn query(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    tcp: bool,
    wait: Duration,
) -> std::io::Result<Message> {
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    let qname = Name::from_ascii(name).map_err(|e| std::io::Error::other(e.to_string()))?;
    msg.add_query(Query::query(qname, rtype));
    let bytes = msg
        .to_vec()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let resp = if tcp {
        let mut s = TcpStream::connect_timeout(&server, wait)?;
        s.set_read_timeout(Some(wait))?;
        s.write_all(&(bytes.len() as u16).to_be_bytes())?;
        s.write_all(&bytes)?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len)?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf)?;
        buf
    } else {
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        sock.set_read_timeout(Some(wait))?;
        sock.send_to(&bytes, server)?;
        let mut buf = vec![0u8; 65535];
        let n = sock.recv(&mut buf)?;
        buf.truncate(n);
        buf
    };
    Message::from_vec(&resp).map_err(|e| std::io::Error::other(e.to_string()))
}

/// The answer section as text: `A 10.244.0.5`, `SRV 0 100 80 web-0.nginx.default.svc.cluster.local.`,
/// `PTR ...`, `CNAME ...`, sorted.
pub fn answers(msg: &Message) -> Vec<String> {
    let mut out: Vec<String> = msg
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::A(a) => format!("A {}", a.0),
            RData::SRV(s) => format!("SRV {} {} {} {}", s.priority, s.weight, s.port, s.target),
            RData::PTR(p) => format!("PTR {}", p.0),
            RData::CNAME(c) => format!("CNAME {}", c.0),
            other => format!("{} {other}", r.record_type()),
        })
        .collect();
    out.sort();
    out
}
