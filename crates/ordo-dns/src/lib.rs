//! Cluster DNS for ordo, following the Kubernetes DNS specification (as CoreDNS's kubernetes
//! plugin does): Service, headless endpoint, SRV, pod and PTR records under the cluster
//! domain, from Services, EndpointSlices and Pods watched through the API; other names are
//! relayed to upstream resolvers.
//!
//! [`zone`] and [`answer`] are pure (objects → snapshot → records); [`watch`] and [`server`]
//! do the I/O.

pub mod answer;
pub mod client;
pub mod server;
pub mod watch;
pub mod zone;

pub use hickory_proto as proto;

use server::Handler;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The zone and its SOA serial, swapped whole on every change.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The cluster as of the last rebuild.
    pub zone: zone::Zone,
    /// The SOA serial: the Unix time (seconds) the DNS started, plus one per rebuild.
    pub serial: u32,
    /// Every watch has listed once; before that cluster names get SERVFAIL, not a
    /// (cacheable) NXDOMAIN.
    pub synced: bool,
}

/// How the DNS server runs.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// UDP and TCP address to answer on.
    pub listen: SocketAddr,
    /// Resolvers for names outside the cluster domain; empty disables forwarding.
    pub upstreams: Vec<SocketAddr>,
    /// The cluster domain (`cluster.local`).
    pub domain: String,
    /// The service range (`10.96.0.0/12`): the `kube-dns` Service gets the listen address if
    /// it is inside, the range's tenth address otherwise.
    pub service_cidr: String,
}

/// Parses `--dns-upstream`: `none`, or addresses with optional ports; empty means the
/// nameservers of `resolv_conf` (the host's `/etc/resolv.conf`). `listen` is left out so a
/// host that points at the cluster DNS does not make a loop.
pub fn parse_upstreams(
    values: &[String],
    resolv_conf: &str,
    listen: SocketAddr,
) -> anyhow::Result<Vec<SocketAddr>> {
    let values: Vec<&str> = values
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if values == ["none"] {
        return Ok(Vec::new());
    }
    let addrs: Vec<SocketAddr> = if values.is_empty() {
        resolv_conf
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some("nameserver")).then(|| w.next()).flatten()
            })
            .filter_map(|a| a.split('%').next()?.parse::<IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .collect()
    } else {
        values
            .iter()
            .map(|v| {
                v.parse::<SocketAddr>()
                    .or_else(|_| v.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| {
                        anyhow::anyhow!("--dns-upstream: {v:?} is not ADDRESS or ADDRESS:PORT")
                    })
            })
            .collect::<anyhow::Result<_>>()?
    };
    Ok(addrs.into_iter().filter(|a| *a != listen).collect())
}

/// The `kube-dns` ClusterIP: `listen`'s address if inside `cidr`, else the tenth address.
pub fn kube_dns_ip(listen: SocketAddr, cidr: &str) -> Option<Ipv4Addr> {
    let (base, bits) = cidr.split_once('/')?;
    let base = u32::from(base.parse::<Ipv4Addr>().ok()?);
    let bits: u32 = bits.parse().ok().filter(|b| (1..=30).contains(b))?;
    let mask = u32::MAX << (32 - bits);
    match listen.ip() {
        IpAddr::V4(ip) if u32::from(ip) & mask == base & mask => Some(ip),
        _ => Some(Ipv4Addr::from((base & mask) + 10)),
    }
}

/// Runs the cluster DNS for ever: creates the `kube-dns` Service, keeps the zone current
/// and answers on `cfg.listen`. If the address cannot be bound (not present yet), it warns
/// and tries again every few seconds instead of failing the server.
pub async fn run(caches: ordo_client::Caches, cfg: DnsConfig) -> anyhow::Result<()> {
    if let Some(ip) = kube_dns_ip(cfg.listen, &cfg.service_cidr) {
        tokio::spawn(watch::ensure_kube_dns_service(
            caches.client().clone(),
            ip.to_string(),
        ));
    }
    let snapshot = Arc::new(RwLock::new(Arc::new(Snapshot::default())));
    tokio::spawn(watch::keep_current(
        caches,
        cfg.domain.clone(),
        snapshot.clone(),
    ));
    let handler = Arc::new(Handler {
        snapshot,
        domain: cfg.domain.clone(),
        upstreams: cfg.upstreams.clone(),
    });
    let mut warned = false;
    let started = std::time::Instant::now();
    loop {
        match bind(cfg.listen).await {
            Ok((udp, tcp)) => {
                tracing::info!(listen = %cfg.listen, upstreams = ?cfg.upstreams, "cluster DNS serving");
                tokio::spawn(server::serve_udp(udp, handler.clone()));
                server::serve_tcp(tcp, handler).await;
                return Ok(());
            }
            // The node agent puts the address on the pod bridge as it starts: wait for it
            // quietly at first, then say what is wrong.
            Err(e) if started.elapsed() < ADDRESS_GRACE => {
                tracing::debug!("cluster DNS waits for {}: {e}", cfg.listen);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                if !warned {
                    tracing::warn!(
                        "cluster DNS cannot listen on {}: {e}; running without DNS and retrying every second \
                         (the address must be on an interface, or pass --cluster-dns)",
                        cfg.listen
                    );
                    warned = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// How long the DNS server waits for its address before warning that it is missing.
const ADDRESS_GRACE: Duration = Duration::from_secs(10);

async fn bind(
    addr: SocketAddr,
) -> std::io::Result<(tokio::net::UdpSocket, tokio::net::TcpListener)> {
    let udp = tokio::net::UdpSocket::bind(addr).await?;
    let tcp = tokio::net::TcpListener::bind(addr).await?;
    Ok((udp, tcp))
}

#[cfg(test)]
mod tests;
