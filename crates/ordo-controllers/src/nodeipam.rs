//! Node IPAM (kube-controller-manager's `nodeipam` controller with the range allocator): gives
//! every Node without one a `/24` of the cluster's pod CIDR (`--pod-cidr`) in `spec.podCIDR`
//! and `spec.podCIDRs`, lowest free first; a deleted Node's range is free again. Ranges of
//! another size that a node gave itself (the simulated runtime's) are not the allocator's and
//! are left alone.

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use kube::ResourceExt;
use ordo_client::{Caches, Change};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The prefix length of each node's range (upstream's `--node-cidr-mask-size` for IPv4).
pub const NODE_MASK: u8 = 24;

/// The ranges of one cluster CIDR and which node holds each.
#[derive(Debug)]
pub struct CidrSet {
    base: u32,
    count: u32,
    /// Range index → node name.
    held: BTreeMap<u32, String>,
}

/// Parses `a.b.c.d/len`.
pub fn parse_cidr(cidr: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, l) = cidr.split_once('/')?;
    let len: u8 = l.parse().ok()?;
    (len <= 32).then_some(())?;
    Some((a.parse().ok()?, len))
}

impl CidrSet {
    /// The `/24`s of `cluster` (`10.244.0.0/16`); `None` if it is not IPv4 or smaller than one.
    pub fn new(cluster: &str) -> Option<CidrSet> {
        let (addr, len) = parse_cidr(cluster)?;
        if !(8..=NODE_MASK).contains(&len) {
            return None;
        }
        let mask = u32::MAX << (32 - len);
        Some(CidrSet {
            base: u32::from(addr) & mask,
            count: 1 << (NODE_MASK - len),
            held: BTreeMap::new(),
        })
    }

    fn index_of(&self, cidr: &str) -> Option<u32> {
        let (addr, len) = parse_cidr(cidr)?;
        if len != NODE_MASK {
            return None;
        }
        let off = u32::from(addr).checked_sub(self.base)?;
        let i = off >> (32 - NODE_MASK);
        (off.trailing_zeros() >= (32 - NODE_MASK as u32) && i < self.count).then_some(i)
    }

    fn cidr(&self, i: u32) -> String {
        let a = Ipv4Addr::from(self.base + (i << (32 - NODE_MASK)));
        format!("{a}/{NODE_MASK}")
    }

    /// Notes that `node` holds `cidr` (one of this set's ranges; others are ignored).
    pub fn occupy(&mut self, node: &str, cidr: &str) {
        if let Some(i) = self.index_of(cidr) {
            self.held.insert(i, node.to_string());
        }
    }

    /// Frees every range `node` holds.
    pub fn release(&mut self, node: &str) {
        self.held.retain(|_, n| n != node);
    }

    /// The range `node` holds, or the lowest free one, now held by it; `None` when all are
    /// taken.
    pub fn allocate(&mut self, node: &str) -> Option<String> {
        if let Some((i, _)) = self.held.iter().find(|(_, n)| *n == node) {
            return Some(self.cidr(*i));
        }
        let free = (0..self.count).find(|i| !self.held.contains_key(i))?;
        self.held.insert(free, node.to_string());
        Some(self.cidr(free))
    }
}

/// The pod CIDR a Node has, if any.
fn pod_cidr(node: &Node) -> Option<&str> {
    node.spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_deref())
        .filter(|c| !c.is_empty())
}

/// Runs the allocator for `cluster_cidr` until the node cache ends.
pub async fn run(caches: Caches, cluster_cidr: String) -> anyhow::Result<()> {
    let Some(mut set) = CidrSet::new(&cluster_cidr) else {
        anyhow::bail!("node IPAM: the pod CIDR {cluster_cidr:?} is not an IPv4 range of /8 to /24");
    };
    let nodes = caches.get::<Node>();
    let api: Api<Node> = Api::all(caches.client().clone());
    let recorder = ordo_client::events::Recorder::new(caches.client().clone(), "cidrAllocator");
    let mut changes = Box::pin(nodes.changes());
    while let Some(change) = changes.next().await {
        let pending: Vec<Node> = match change {
            Change::All(all) => {
                set.held.clear();
                for n in &all {
                    if let Some(c) = pod_cidr(n) {
                        set.occupy(&n.name_any(), c);
                    }
                }
                all.iter()
                    .filter(|n| pod_cidr(n).is_none())
                    .map(|n| Node::clone(n))
                    .collect()
            }
            Change::Apply(n) => match pod_cidr(&n) {
                Some(c) => {
                    set.occupy(&n.name_any(), c);
                    vec![]
                }
                None => vec![Node::clone(&n)],
            },
            Change::Delete(n) => {
                set.release(&n.name_any());
                vec![]
            }
        };
        for node in pending {
            if node.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let name = node.name_any();
            let Some(cidr) = set.allocate(&name) else {
                recorder
                    .record(
                        &node,
                        ordo_client::events::EventType::Normal,
                        "CIDRNotAvailable",
                        &format!("Node {name} status is now: CIDRNotAvailable"),
                    )
                    .await;
                continue;
            };
            let patch = json!({"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}});
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => tracing::info!("node {name}: pod CIDR {cidr} allocated"),
                Err(e) => {
                    // Gone, or given one meanwhile: the cache tells.
                    tracing::debug!("node {name}: setting pod CIDR {cidr}: {e}");
                    set.release(&name);
                }
            }
        }
    }
    anyhow::bail!("node IPAM: the node cache ended")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_range_first_and_released_with_the_node() {
        let mut s = CidrSet::new("10.244.0.0/16").unwrap();
        assert_eq!(s.allocate("a").as_deref(), Some("10.244.0.0/24"));
        s.occupy("b", "10.244.1.0/24");
        assert_eq!(s.allocate("c").as_deref(), Some("10.244.2.0/24"));
        // Asking again gives the same range.
        assert_eq!(s.allocate("a").as_deref(), Some("10.244.0.0/24"));
        s.release("a");
        assert_eq!(s.allocate("d").as_deref(), Some("10.244.0.0/24"));
    }

    #[test]
    fn ranges_of_other_sizes_or_outside_are_not_the_allocators() {
        let mut s = CidrSet::new("10.244.0.0/23").unwrap();
        s.occupy("sim", "10.244.0.0/16");
        s.occupy("other", "10.9.0.0/24");
        s.occupy("odd", "10.244.0.128/24");
        assert_eq!(s.allocate("a").as_deref(), Some("10.244.0.0/24"));
        assert_eq!(s.allocate("b").as_deref(), Some("10.244.1.0/24"));
        assert_eq!(s.allocate("c"), None);
        assert!(CidrSet::new("10.244.0.0/25").is_none());
        assert!(CidrSet::new("fd00::/64").is_none());
    }
}
