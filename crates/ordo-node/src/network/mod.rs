//! The pod network of one node: a Linux bridge (`ordo0`) holding the gateway address of the
//! node's pod CIDR slice, one network namespace per pod (`/run/netns/<bridge>-<uid>`) joined
//! to the bridge by a veth pair (`eth0` inside, with the pod IP and a default route via the
//! gateway), and a route for the service CIDR so that service traffic never leaves the
//! machine: `unreachable` without a service proxy; with one (`service_proxy`), a route via
//! the bridge, so that the host's own connect() to a ClusterIP reaches the nftables OUTPUT
//! hook, where the proxy translates or drops it (see `ordo-proxy`).
//!
//! The bridge, the service route, `net.ipv4.ip_forward=1` and `net.bridge.bridge-nf-call-iptables=1`
//! exist only while at least one pod namespace exists: tearing down the last pod restores the
//! host as it was.
//! Links, addresses and routes are set with rtnetlink; nothing shells out to `ip`. Routes to
//! the other nodes' pod CIDRs are kept by [`routes`].

pub mod netns;
pub mod routes;

use anyhow::Context;
use futures::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteType};
use rtnetlink::{Handle, IpVersion};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// How the pod network of this node is laid out.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Bridge name (`ordo0`); also the prefix of the pods' namespace names.
    pub bridge: String,
    /// Prefix length of the node's pod CIDR slice (24).
    pub prefix_len: u8,
    /// Service CIDR routed `unreachable` (`10.96.0.0/12`); None: no route.
    pub service_cidr: Option<(Ipv4Addr, u8)>,
    /// Where the network keeps its own state (the original `ip_forward` and bridge setting).
    pub state_dir: PathBuf,
    /// The cluster DNS address, put on the bridge (as a /32) so that every pod reaches it.
    pub cluster_dns: Option<Ipv4Addr>,
    /// A service proxy translates the service CIDR: route it via the bridge instead of
    /// `unreachable`, and set `net.ipv4.conf.<bridge>.route_localnet=1` (NodePorts on
    /// 127.0.0.1, an API server on loopback); the setting goes with the bridge.
    pub service_proxy: bool,
}

impl NetworkConfig {
    /// The conventional layout: bridge `bridge`, /24 slices, services in 10.96.0.0/12.
    pub fn new(bridge: &str, state_dir: &Path) -> NetworkConfig {
        NetworkConfig {
            bridge: bridge.into(),
            prefix_len: 24,
            service_cidr: Some((Ipv4Addr::new(10, 96, 0, 0), 12)),
            state_dir: state_dir.into(),
            cluster_dns: Some(Ipv4Addr::new(10, 96, 0, 10)),
            service_proxy: false,
        }
    }
}

/// Where agents claim their bridge names (host-wide, whatever network namespace they run in).
const CLAIMS_DIR: &str = "/run/ordo";

/// Claims bridge name `bridge` on this host for the calling agent's life (an exclusive `flock`
/// released when the process ends). Pod namespaces are named `<bridge>-<uid>` in the host-wide
/// `/run/netns`, and an agent takes every such namespace for one of its pods: two agents on one
/// host (each in a network namespace of its own) must use different bridge names.
pub fn claim_bridge(bridge: &str) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(CLAIMS_DIR).with_context(|| format!("creating {CLAIMS_DIR}"))?;
    let path = Path::new(CLAIMS_DIR).join(format!("bridge-{bridge}.lock"));
    let f = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another ordo on this host uses the pod bridge name {bridge:?} (its pods' network namespaces would mix with this node's): give this one another --bridge"
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow::Error::new(e).context(format!("locking {}", path.display())))
        }
    }
}

/// Sets up and tears down pod network namespaces.
pub struct PodNetwork {
    cfg: NetworkConfig,
    lock: tokio::sync::Mutex<()>,
}

/// The gateway (first host address) of the slice `ip/prefix_len` belongs to.
pub fn gateway_of(ip: Ipv4Addr, prefix_len: u8) -> Ipv4Addr {
    let mask = if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - prefix_len as u32)
    };
    Ipv4Addr::from((u32::from(ip) & mask) + 1)
}

/// The host-side veth name of a pod (at most 15 bytes).
pub fn host_veth(uid: &str) -> String {
    let hex: String = uid
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(11)
        .collect();
    format!("ov{hex}")
}

fn peer_veth(uid: &str) -> String {
    let hex: String = uid
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(11)
        .collect();
    format!("op{hex}")
}

impl PodNetwork {
    /// The pod network with settings `cfg`; nothing is set up until a pod's sandbox is.
    pub fn new(cfg: NetworkConfig) -> PodNetwork {
        PodNetwork {
            cfg,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The network's settings.
    pub fn config(&self) -> &NetworkConfig {
        &self.cfg
    }

    /// The namespace path of a pod.
    pub fn netns_path(&self, uid: &str) -> PathBuf {
        netns::path(&format!("{}-{uid}", self.cfg.bridge))
    }

    /// UIDs of the pods that have a namespace on this bridge.
    pub fn pods(&self) -> Vec<String> {
        let prefix = format!("{}-", self.cfg.bridge);
        let Ok(rd) = std::fs::read_dir(netns::NETNS_DIR) else {
            return vec![];
        };
        rd.filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix(&prefix))
                    .map(str::to_string)
            })
            .collect()
    }

    /// Creates the pod's namespace with `eth0` = `ip` on the bridge (idempotent); returns
    /// the namespace path.
    pub async fn setup(&self, uid: &str, ip: Ipv4Addr) -> anyhow::Result<PathBuf> {
        let _g = self.lock.lock().await;
        let (cfg, uid, path) = (self.cfg.clone(), uid.to_string(), self.netns_path(uid));
        tokio::task::spawn_blocking(move || setup_blocking(&cfg, &uid, ip, &path)).await?
    }

    /// Removes the pod's namespace and veth pair; the bridge too when it was the last pod.
    pub async fn teardown(&self, uid: &str) -> anyhow::Result<()> {
        let _g = self.lock.lock().await;
        let path = self.netns_path(uid);
        let veth = host_veth(uid);
        let cfg = self.cfg.clone();
        let idle = {
            let mut others = self.pods();
            others.retain(|u| u != uid);
            others.is_empty()
        };
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            block_on(async {
                let h = connect()?;
                if let Some(idx) = link_index(&h, &veth).await? {
                    h.link()
                        .del(idx)
                        .execute()
                        .await
                        .with_context(|| format!("deleting {veth}"))?;
                }
                anyhow::Ok(())
            })?;
            netns::remove(&path)?;
            if idle {
                block_on(remove_host_side(&cfg))?;
            }
            Ok(())
        })
        .await?
    }
}

fn block_on<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f)
}

/// A netlink connection in the calling thread's network namespace (inside a runtime).
fn connect() -> anyhow::Result<Handle> {
    let (conn, handle, _) = rtnetlink::new_connection().context("opening a netlink socket")?;
    tokio::spawn(conn);
    Ok(handle)
}

/// Turns hairpin mode on for bridge port `index`: what `ip link set X type bridge_slave hairpin
/// on` sends, an RTM_NEWLINK of the existing link with the port's bridge data (the kernel reads
/// port data in new-link requests only).
async fn set_hairpin(h: &Handle, index: u32) -> anyhow::Result<()> {
    use futures::StreamExt;
    use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST};
    use netlink_packet_route::link::{
        InfoBridgePort, InfoPortData, InfoPortKind, LinkAttribute, LinkInfo, LinkMessage,
    };
    use netlink_packet_route::RouteNetlinkMessage;
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::PortKind(InfoPortKind::Bridge),
        LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(
            true,
        )])),
    ]));
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewLink(msg));
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    let mut responses = h.clone().request(req)?;
    while let Some(m) = responses.next().await {
        if let NetlinkPayload::Error(e) = m.payload {
            if e.code.is_some() {
                anyhow::bail!("netlink: {e}");
            }
        }
    }
    Ok(())
}

/// The index of link `name` in the calling thread's namespace (an ioctl: reading link
/// messages makes netlink-packet-route warn about newer kernels' attributes).
async fn link_index(_h: &Handle, name: &str) -> anyhow::Result<Option<u32>> {
    match nix::net::if_::if_nametoindex(name) {
        Ok(i) => Ok(Some(i)),
        Err(nix::errno::Errno::ENODEV) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("looking up link {name}"))),
    }
}

fn exists(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code().abs() == libc::EEXIST)
}

async fn has_address(h: &Handle, idx: u32, ip: Ipv4Addr) -> anyhow::Result<bool> {
    let addrs: Vec<_> = h
        .address()
        .get()
        .set_link_index_filter(idx)
        .execute()
        .try_collect()
        .await?;
    Ok(addrs.iter().any(|a| a.attributes.iter().any(|at| matches!(at, AddressAttribute::Address(IpAddr::V4(x)) | AddressAttribute::Local(IpAddr::V4(x)) if *x == ip))))
}

fn setup_blocking(
    cfg: &NetworkConfig,
    uid: &str,
    ip: Ipv4Addr,
    path: &Path,
) -> anyhow::Result<PathBuf> {
    let gw = gateway_of(ip, cfg.prefix_len);
    let (host, peer) = (host_veth(uid), peer_veth(uid));
    block_on(ensure_host_side(cfg, gw))?;
    let fresh = !netns::is_mounted(path);
    let ns = netns::create(
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default(),
    )?;
    if !fresh {
        // An earlier attempt: done if eth0 has the address, else start over inside too.
        let stale_peer = peer.clone();
        let done = netns::run_in(&ns, move || {
            block_on(async move {
                let h = connect()?;
                if let Some(idx) = link_index(&h, "eth0").await? {
                    if has_address(&h, idx, ip).await? {
                        return Ok(true);
                    }
                    h.link().del(idx).execute().await?;
                }
                if let Some(idx) = link_index(&h, &stale_peer).await? {
                    h.link().del(idx).execute().await?;
                }
                Ok(false)
            })
        })?;
        if done {
            return Ok(ns);
        }
    }
    let prefix = cfg.prefix_len;
    let bridge = cfg.bridge.clone();
    block_on(async {
        let h = connect()?;
        for stale in [&host, &peer] {
            if let Some(idx) = link_index(&h, stale).await? {
                h.link().del(idx).execute().await?;
            }
        }
        h.link()
            .add()
            .veth(peer.clone(), host.clone())
            .execute()
            .await
            .with_context(|| format!("creating veth pair {host}/{peer}"))?;
        let br = link_index(&h, &bridge)
            .await?
            .ok_or_else(|| anyhow::anyhow!("bridge {bridge} vanished"))?;
        let host_idx = link_index(&h, &host)
            .await?
            .ok_or_else(|| anyhow::anyhow!("veth {host} vanished"))?;
        h.link()
            .set(host_idx)
            .controller(br)
            .execute()
            .await
            .with_context(|| format!("attaching {host} to {bridge}"))?;
        // Hairpin: a pod's connection to its own Service comes back out of the port it
        // entered (br_netfilter DNATs it and bridges it back), as with kubelet's hairpin-veth.
        // Set through netlink (`ip link set X type bridge_slave hairpin on`), not through
        // /sys/class/net, which shows the links of the namespace that mounted /sys: an agent
        // started in another network namespace with `nsenter --net` sees the host's there.
        set_hairpin(&h, host_idx)
            .await
            .with_context(|| format!("setting hairpin mode on {host}"))?;
        h.link().set(host_idx).up().execute().await?;
        let peer_idx = link_index(&h, &peer)
            .await?
            .ok_or_else(|| anyhow::anyhow!("veth {peer} vanished"))?;
        let f = std::fs::File::open(&ns)?;
        use std::os::fd::AsRawFd;
        h.link()
            .set(peer_idx)
            .setns_by_fd(f.as_raw_fd())
            .execute()
            .await
            .context("moving the veth into the pod namespace")?;
        anyhow::Ok(())
    })?;
    netns::run_in(&ns, move || {
        block_on(async move {
            let h = connect()?;
            let lo = link_index(&h, "lo")
                .await?
                .ok_or_else(|| anyhow::anyhow!("no lo in the pod namespace"))?;
            h.link().set(lo).up().execute().await?;
            let idx = link_index(&h, &peer)
                .await?
                .ok_or_else(|| anyhow::anyhow!("veth {peer} missing in the pod namespace"))?;
            h.link()
                .set(idx)
                .name("eth0".into())
                .execute()
                .await
                .context("renaming to eth0")?;
            h.address()
                .add(idx, IpAddr::V4(ip), prefix)
                .execute()
                .await
                .with_context(|| format!("adding {ip}/{prefix} to eth0"))?;
            h.link().set(idx).up().execute().await?;
            h.route()
                .add()
                .v4()
                .gateway(gw)
                .output_interface(idx)
                .execute()
                .await
                .with_context(|| format!("adding the default route via {gw}"))?;
            Ok(())
        })
    })?;
    Ok(ns)
}

/// The bridge with the gateway address, the service route and IP forwarding.
async fn ensure_host_side(cfg: &NetworkConfig, gw: Ipv4Addr) -> anyhow::Result<()> {
    let h = connect()?;
    let idx = match link_index(&h, &cfg.bridge).await? {
        Some(i) => i,
        None => {
            if let Err(e) = h.link().add().bridge(cfg.bridge.clone()).execute().await {
                anyhow::ensure!(exists(&e), "creating bridge {}: {e}", cfg.bridge);
            }
            link_index(&h, &cfg.bridge)
                .await?
                .ok_or_else(|| anyhow::anyhow!("bridge {} vanished", cfg.bridge))?
        }
    };
    if !has_address(&h, idx, gw).await? {
        if let Err(e) = h
            .address()
            .add(idx, IpAddr::V4(gw), cfg.prefix_len)
            .execute()
            .await
        {
            anyhow::ensure!(
                exists(&e),
                "adding {gw}/{} to {}: {e}",
                cfg.prefix_len,
                cfg.bridge
            );
        }
    }
    if let Some(dns) = cfg.cluster_dns {
        if !has_address(&h, idx, dns).await? {
            if let Err(e) = h.address().add(idx, IpAddr::V4(dns), 32).execute().await {
                anyhow::ensure!(
                    exists(&e),
                    "adding the cluster DNS address {dns}/32 to {}: {e}",
                    cfg.bridge
                );
            }
        }
    }
    h.link()
        .set(idx)
        .up()
        .execute()
        .await
        .with_context(|| format!("setting {} up", cfg.bridge))?;
    if let Some((net, len)) = cfg.service_cidr {
        let add = h.route().add().v4().destination_prefix(net, len).replace();
        let add = if cfg.service_proxy {
            add.output_interface(idx)
                .pref_source(gw)
                .scope(netlink_packet_route::route::RouteScope::Link)
        } else {
            add.kind(RouteType::Unreachable)
        };
        if let Err(e) = add.execute().await {
            anyhow::ensure!(exists(&e), "adding the route for {net}/{len}: {e}");
        }
    }
    if cfg.service_proxy {
        let knob = format!("/proc/sys/net/ipv4/conf/{}/route_localnet", cfg.bridge);
        std::fs::write(&knob, "1").with_context(|| format!("setting {knob}"))?;
    }
    enable_forwarding(&cfg.state_dir)
}

async fn remove_host_side(cfg: &NetworkConfig) -> anyhow::Result<()> {
    let h = connect()?;
    if let Some(idx) = link_index(&h, &cfg.bridge).await? {
        h.link()
            .del(idx)
            .execute()
            .await
            .with_context(|| format!("deleting bridge {}", cfg.bridge))?;
    }
    if let Some((net, len)) = cfg.service_cidr {
        let routes: Vec<_> = h.route().get(IpVersion::V4).execute().try_collect().await?;
        for r in routes {
            let dst = r.attributes.iter().find_map(|a| match a {
                RouteAttribute::Destination(RouteAddress::Inet(d)) => Some(*d),
                _ => None,
            });
            if r.header.kind == RouteType::Unreachable
                && r.header.destination_prefix_length == len
                && dst == Some(net)
            {
                h.route()
                    .del(r)
                    .execute()
                    .await
                    .context("deleting the service route")?;
            }
        }
    }
    restore_forwarding(&cfg.state_dir)
}

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Bridged IPv4 traffic passes the IP hooks (and conntrack): what NetworkPolicy rules in the
/// forward hook need to see traffic between two pods of this node (kubeadm asks for it too).
const BRIDGE_NF_CALL_IPTABLES: &str = "/proc/sys/net/bridge/bridge-nf-call-iptables";

/// The host settings the pod network turns on while it exists, with the file in the state
/// directory that remembers each one's original value.
const RAISED: [(&str, &str); 2] = [
    (IP_FORWARD, "ip_forward.orig"),
    (BRIDGE_NF_CALL_IPTABLES, "bridge-nf-call-iptables.orig"),
];

/// Turns on `net.ipv4.ip_forward` and `net.bridge.bridge-nf-call-iptables`, remembering the
/// values they had. Without `br_netfilter` (no bridge knob) NetworkPolicies do not apply to
/// traffic between pods of this node: a warning says so.
fn enable_forwarding(state_dir: &Path) -> anyhow::Result<()> {
    for (knob, orig_name) in RAISED {
        let cur = match std::fs::read_to_string(knob) {
            Ok(v) => v,
            Err(e) if knob == BRIDGE_NF_CALL_IPTABLES => {
                tracing::warn!(
                    "{knob}: {e}; NetworkPolicies will not apply between pods of this node (load br_netfilter: modprobe br_netfilter)"
                );
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("reading {knob}")),
        };
        if cur.trim() == "1" {
            continue;
        }
        std::fs::create_dir_all(state_dir)?;
        let orig = state_dir.join(orig_name);
        if !orig.exists() {
            std::fs::write(&orig, cur.trim())?;
        }
        std::fs::write(knob, "1").with_context(|| format!("setting {knob} to 1"))?;
    }
    Ok(())
}

/// Puts back the values [`enable_forwarding`] found.
fn restore_forwarding(state_dir: &Path) -> anyhow::Result<()> {
    for (knob, orig_name) in RAISED {
        let orig = state_dir.join(orig_name);
        if let Ok(v) = std::fs::read_to_string(&orig) {
            std::fs::write(knob, v.trim()).with_context(|| format!("restoring {knob}"))?;
            std::fs::remove_file(&orig)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_gateways() {
        assert_eq!(
            gateway_of(Ipv4Addr::new(10, 244, 0, 17), 24),
            Ipv4Addr::new(10, 244, 0, 1)
        );
        assert_eq!(
            gateway_of(Ipv4Addr::new(10, 244, 3, 200), 16),
            Ipv4Addr::new(10, 244, 0, 1)
        );
        let v = host_veth("0b5e1c2a-7d4f-4e8a-9c1b-2f3e4d5c6b7a");
        assert_eq!(v, "ov0b5e1c2a7d4");
        assert!(v.len() <= 15 && peer_veth("0b5e1c2a-7d4f").len() <= 15);
        let n = PodNetwork::new(NetworkConfig::new("ordo0", Path::new("/tmp")));
        assert_eq!(n.netns_path("u1"), PathBuf::from("/run/netns/ordo0-u1"));
    }
}
