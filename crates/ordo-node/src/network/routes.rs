//! Host-gateway routes between nodes (flannel's `host-gw`, kubenet's routes): for every other
//! Node with a pod CIDR and an `InternalIP`, a route `podCIDR via InternalIP` in this node's
//! main table, so that pods reach pods of other nodes by their own addresses, without NAT. The
//! nodes must share a link (the gateway is on-link); a route the kernel refuses is logged and
//! retried. Routes ordo adds carry the protocol number [`RTPROT_ORDO`]; those whose node left
//! (or changed address) are removed, and nothing else is touched.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteProtocol};
use rtnetlink::IpVersion;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The routing protocol number of ordo's routes (`ip route show proto 79`).
pub const RTPROT_ORDO: u8 = 79;

/// How often the routes are checked even without a change of the nodes.
const RESYNC: Duration = Duration::from_secs(30);

/// A destination `(network, prefix length)`.
pub type Destination = (Ipv4Addr, u8);

fn parse(cidr: &str) -> Option<Destination> {
    let (a, l) = cidr.split_once('/')?;
    let len: u8 = l.parse().ok().filter(|l| *l <= 32)?;
    Some((a.parse().ok()?, len))
}

fn overlaps(a: Destination, b: Destination) -> bool {
    let len = a.1.min(b.1) as u32;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(a.0) & mask == u32::from(b.0) & mask
}

/// The routes node `me` (whose own pod CIDR is `own`) wants: every other node's pod CIDR via
/// its `InternalIP`. Nodes without either, with a loopback address, or whose range overlaps
/// this node's own (the simulated runtime's whole-cluster ranges) get none.
pub fn wanted(me: &str, own: &str, nodes: &[Node]) -> BTreeMap<Destination, Ipv4Addr> {
    let own = parse(own);
    let mut out = BTreeMap::new();
    for n in nodes {
        if n.name_any() == me || n.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(dst) = n
            .spec
            .as_ref()
            .and_then(|s| s.pod_cidr.as_deref())
            .and_then(parse)
        else {
            continue;
        };
        if own.is_some_and(|o| overlaps(o, dst)) {
            continue;
        }
        let ip = n
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .into_iter()
            .flatten()
            .filter(|a| a.type_ == "InternalIP")
            .find_map(|a| a.address.parse::<Ipv4Addr>().ok());
        if let Some(ip) = ip.filter(|ip| !ip.is_loopback() && !ip.is_unspecified()) {
            out.insert(dst, ip);
        }
    }
    out
}

/// Keeps this node's routes to the other nodes' pod CIDRs as [`wanted`] says, from the shared
/// Node cache, until the cache ends.
pub async fn run(caches: ordo_client::Caches, me: String, own: String) -> anyhow::Result<()> {
    let nodes = caches.get::<Node>();
    nodes.ready().await;
    let (conn, handle, _) = rtnetlink::new_connection()?;
    tokio::spawn(conn);
    let mut changes = Box::pin(nodes.changes());
    let mut tick = tokio::time::interval(RESYNC);
    loop {
        let all: Vec<Node> = nodes.state().iter().map(|n| Node::clone(n)).collect();
        if let Err(e) = sync(&handle, &wanted(&me, &own, &all)).await {
            tracing::warn!("routes to other nodes' pods: {e:#}");
        }
        tokio::select! {
            c = changes.next() => if c.is_none() { anyhow::bail!("the node cache ended") },
            _ = tick.tick() => {}
        }
    }
}

/// Adds (or replaces) the wanted routes and deletes ordo's others.
async fn sync(h: &rtnetlink::Handle, want: &BTreeMap<Destination, Ipv4Addr>) -> anyhow::Result<()> {
    let routes: Vec<_> = h.route().get(IpVersion::V4).execute().try_collect().await?;
    let mut have = BTreeMap::new();
    for r in routes {
        if r.header.protocol != RouteProtocol::Other(RTPROT_ORDO) {
            continue;
        }
        let dst = r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Destination(RouteAddress::Inet(d)) => Some(*d),
            _ => None,
        });
        let via = r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Gateway(RouteAddress::Inet(g)) => Some(*g),
            _ => None,
        });
        let key = (
            dst.unwrap_or(Ipv4Addr::UNSPECIFIED),
            r.header.destination_prefix_length,
        );
        if want.get(&key) == via.as_ref() {
            have.insert(key, via);
        } else {
            h.route().del(r).execute().await?;
            tracing::info!("removed the route to {}/{}", key.0, key.1);
        }
    }
    let mut failed = None;
    for (&(net, len), &via) in want {
        if have.contains_key(&(net, len)) {
            continue;
        }
        let add = h
            .route()
            .add()
            .v4()
            .destination_prefix(net, len)
            .gateway(via)
            .protocol(RouteProtocol::Other(RTPROT_ORDO))
            .replace();
        match add.execute().await {
            Ok(()) => tracing::info!("route to {net}/{len} via {via}"),
            Err(e) => failed = Some(format!("adding {net}/{len} via {via}: {e}")),
        }
    }
    match failed {
        Some(e) => anyhow::bail!(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, cidr: &str, ip: &str) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"podCIDR": cidr},
            "status": {"addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": ip}]}
        }))
        .unwrap()
    }

    #[test]
    fn every_other_nodes_range_via_its_address() {
        let nodes = [
            node("a", "10.244.0.0/24", "192.168.213.11"),
            node("b", "10.244.1.0/24", "192.168.213.12"),
            node("c", "10.244.2.0/24", "192.168.213.13"),
            node("sim", "10.244.0.0/16", "192.168.213.20"),
            node("local", "10.244.3.0/24", "127.0.0.1"),
            node("new", "", "192.168.213.14"),
        ];
        let w = wanted("a", "10.244.0.0/24", &nodes);
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            vec![
                (
                    ("10.244.1.0".parse().unwrap(), 24),
                    "192.168.213.12".parse().unwrap()
                ),
                (
                    ("10.244.2.0".parse().unwrap(), 24),
                    "192.168.213.13".parse().unwrap()
                ),
            ]
        );
    }
}
