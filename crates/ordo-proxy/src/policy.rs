//! NetworkPolicy enforcement: the chains of the proxy's table that let through only what the
//! policies allow, a pure function of the policies, pods and namespaces.
//!
//! Semantics are upstream's (`networking.k8s.io/v1`):
//!
//! - A pod is *isolated for ingress* when a policy of its namespace selects it and has
//!   `Ingress` in its `policyTypes` (absent `policyTypes` means `Ingress`, plus `Egress` when the
//!   policy has egress rules); likewise for egress. A connection to an isolated pod is allowed
//!   when some ingress rule of some policy selecting it allows it; for egress the same with
//!   egress rules. Both ends must allow a connection between two pods.
//! - A rule allows its peers (`from`/`to`; none listed: everyone) on its ports (none listed:
//!   every port and protocol). A peer is a `podSelector` (pods of the policy's namespace), a
//!   `namespaceSelector` (every pod of the matching namespaces), both (the matching pods of the
//!   matching namespaces) or an `ipBlock` (`cidr` minus `except`). A port is a number, a range
//!   (`endPort`) or a name, resolved against the container ports of the destination pod.
//! - Replies of allowed connections pass (conntrack); traffic between a pod and its node is
//!   always allowed, as upstream documents, which includes the cluster DNS ordo serves on the
//!   node.
//!
//! In the table, the forward hook jumps to `network-policy`, which looks the source up in
//! `policy-egress` and the destination in `policy-ingress` (verdict maps from an isolated
//! pod's address to its chain). An egress chain returns when a rule allows the packet and
//! drops it otherwise; an ingress chain accepts or drops.

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use ordo_api::selector::label_selector_matches;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::Ipv4Addr;

/// One direction of a policy rule: `from` for ingress, `to` for egress.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Direction {
    Ingress,
    Egress,
}

/// A pod that takes part in policies: it has an IPv4 address of its own.
struct PodRef<'a> {
    pod: &'a Pod,
    namespace: &'a str,
    name: &'a str,
    ip: Ipv4Addr,
}

impl PodRef<'_> {
    /// The port numbers of the pod's containers named `name` with `protocol`.
    fn named_ports(&self, name: &str, protocol: &str) -> Vec<u16> {
        let spec = self.pod.spec.as_ref();
        spec.into_iter()
            .flat_map(|s| {
                s.containers
                    .iter()
                    .chain(s.init_containers.iter().flatten())
            })
            .flat_map(|c| c.ports.iter().flatten())
            .filter(|p| {
                p.name.as_deref() == Some(name)
                    && p.protocol.as_deref().unwrap_or("TCP") == protocol
            })
            .filter_map(|p| u16::try_from(p.container_port).ok())
            .collect()
    }
}

/// The pods of the cluster that policies can select or name as peers: running or pending
/// pods with an IPv4 `podIP` of their own (not `hostNetwork`).
fn pod_refs(pods: &[std::sync::Arc<Pod>]) -> Vec<PodRef<'_>> {
    pods.iter()
        .filter_map(|p| {
            let spec = p.spec.as_ref()?;
            if spec.host_network == Some(true) {
                return None;
            }
            let status = p.status.as_ref()?;
            if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
                return None;
            }
            Some(PodRef {
                pod: p,
                namespace: p.metadata.namespace.as_deref()?,
                name: p.metadata.name.as_deref()?,
                ip: status.pod_ip.as_deref()?.parse().ok()?,
            })
        })
        .collect()
}

/// Whether `np` applies in `dir` (upstream's reading of `policyTypes`).
fn applies(np: &NetworkPolicy, dir: Direction) -> bool {
    let Some(spec) = np.spec.as_ref() else {
        return false;
    };
    match &spec.policy_types {
        Some(types) if !types.is_empty() => types.iter().any(|t| {
            t == match dir {
                Direction::Ingress => "Ingress",
                Direction::Egress => "Egress",
            }
        }),
        _ => match dir {
            Direction::Ingress => true,
            Direction::Egress => spec.egress.as_ref().is_some_and(|e| !e.is_empty()),
        },
    }
}

/// A rule's peers and ports.
type RuleParts<'a> = (
    Option<&'a [NetworkPolicyPeer]>,
    Option<&'a [NetworkPolicyPort]>,
);

/// The rules of `np` in `dir`, as one shape for both directions.
fn rules(np: &NetworkPolicy, dir: Direction) -> Vec<RuleParts<'_>> {
    let Some(spec) = np.spec.as_ref() else {
        return Vec::new();
    };
    match dir {
        Direction::Ingress => spec
            .ingress
            .iter()
            .flatten()
            .map(|r| (r.from.as_deref(), r.ports.as_deref()))
            .collect(),
        Direction::Egress => spec
            .egress
            .iter()
            .flatten()
            .map(|r| (r.to.as_deref(), r.ports.as_deref()))
            .collect(),
    }
}

/// Where a rule's peers are: addresses of pods, and address blocks minus exceptions.
#[derive(Default)]
struct Peers {
    /// Every address (a rule without peers).
    any: bool,
    /// Pod addresses.
    pods: BTreeSet<Ipv4Addr>,
    /// `cidr` with its `except` list.
    blocks: Vec<(String, Vec<String>)>,
    /// Pods the peers name (for named ports of egress rules).
    pod_list: Vec<usize>,
}

fn in_cidr(ip: Ipv4Addr, cidr: &str) -> bool {
    let Some((net, len)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(len)) = (net.parse::<Ipv4Addr>(), len.parse::<u32>()) else {
        return false;
    };
    if len > 32 {
        return false;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(ip) & mask == u32::from(net) & mask
}

/// Everything one node's rules are computed from.
struct World<'a> {
    pods: Vec<PodRef<'a>>,
    ns_labels: BTreeMap<&'a str, Option<&'a BTreeMap<String, String>>>,
}

impl World<'_> {
    /// The peers of a rule of a policy in namespace `ns`.
    fn peers(&self, ns: &str, peers: Option<&[NetworkPolicyPeer]>) -> Peers {
        let mut out = Peers::default();
        let Some(peers) = peers.filter(|p| !p.is_empty()) else {
            out.any = true;
            out.pod_list = (0..self.pods.len()).collect();
            return out;
        };
        let mut listed = BTreeSet::new();
        for peer in peers {
            if let Some(b) = &peer.ip_block {
                if b.cidr.contains(':') {
                    continue;
                }
                let except: Vec<String> = b
                    .except
                    .iter()
                    .flatten()
                    .filter(|e| !e.contains(':'))
                    .cloned()
                    .collect();
                for (i, p) in self.pods.iter().enumerate() {
                    if in_cidr(p.ip, &b.cidr) && !except.iter().any(|e| in_cidr(p.ip, e)) {
                        listed.insert(i);
                    }
                }
                out.blocks.push((b.cidr.clone(), except));
                continue;
            }
            if peer.pod_selector.is_none() && peer.namespace_selector.is_none() {
                continue;
            }
            for (i, p) in self.pods.iter().enumerate() {
                let ns_ok = match &peer.namespace_selector {
                    Some(sel) => self
                        .ns_labels
                        .get(p.namespace)
                        .is_some_and(|labels| label_selector_matches(sel, *labels)),
                    None => p.namespace == ns,
                };
                let pod_ok = match &peer.pod_selector {
                    Some(sel) => label_selector_matches(sel, p.pod.metadata.labels.as_ref()),
                    None => true,
                };
                if ns_ok && pod_ok {
                    out.pods.insert(p.ip);
                    listed.insert(i);
                }
            }
        }
        out.pod_list = listed.into_iter().collect();
        out
    }
}

/// A rule's ports as nftables matches: `meta l4proto tcp th dport { 80, 8000-8080 }` per
/// protocol; `None` entry = every port of the protocol.
type PortMatches = BTreeMap<&'static str, Option<BTreeSet<String>>>;

fn protocol(p: &NetworkPolicyPort) -> Option<(&'static str, &'static str)> {
    match p.protocol.as_deref().unwrap_or("TCP") {
        "TCP" => Some(("TCP", "tcp")),
        "UDP" => Some(("UDP", "udp")),
        "SCTP" => Some(("SCTP", "sctp")),
        _ => None,
    }
}

/// The numeric ports of `ports` (names resolved against `dest`, when given); named ports
/// that need a destination pod are returned apart.
fn port_matches<'p>(
    ports: &'p [NetworkPolicyPort],
    dest: Option<&PodRef<'_>>,
) -> (PortMatches, Vec<(&'static str, &'static str, &'p str)>) {
    let mut out = PortMatches::new();
    let mut named = Vec::new();
    for p in ports {
        let Some((k8s, nft)) = protocol(p) else {
            continue;
        };
        let numbers: Vec<String> = match (&p.port, p.end_port) {
            (None, _) => {
                out.insert(nft, None);
                continue;
            }
            (Some(IntOrString::Int(n)), Some(end)) if end >= *n => vec![format!("{n}-{end}")],
            (Some(IntOrString::Int(n)), _) => vec![n.to_string()],
            (Some(IntOrString::String(name)), _) => match dest {
                Some(d) => d
                    .named_ports(name, k8s)
                    .into_iter()
                    .map(|n| n.to_string())
                    .collect(),
                None => {
                    named.push((k8s, nft, name.as_str()));
                    continue;
                }
            },
        };
        let entry = out.entry(nft).or_insert_with(|| Some(BTreeSet::new()));
        if let Some(set) = entry {
            set.extend(numbers);
        }
    }
    out.retain(|_, v| v.as_ref().is_none_or(|s| !s.is_empty()));
    (out, named)
}

fn nft_set<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    format!("{{ {} }}", items.join(", "))
}

/// The port part of a rule (`""` for every port), one per protocol.
fn port_clauses(ports: &PortMatches) -> Vec<String> {
    ports
        .iter()
        .map(|(proto, nums)| match nums {
            None => format!("meta l4proto {proto}"),
            Some(nums) => format!("meta l4proto {proto} th dport {}", nft_set(nums)),
        })
        .collect()
}

/// The address part of a rule: one clause per peer kind (`""` for any address).
fn address_clauses(peers: &Peers, field: &str) -> Vec<String> {
    if peers.any {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    if !peers.pods.is_empty() {
        out.push(format!("ip {field} {}", nft_set(&peers.pods)));
    }
    for (cidr, except) in &peers.blocks {
        if except.is_empty() {
            out.push(format!("ip {field} {cidr}"));
        } else {
            out.push(format!(
                "ip {field} {cidr} ip {field} != {}",
                nft_set(except)
            ));
        }
    }
    out
}

/// The chain name of an isolated pod in one direction.
fn chain_name(dir: Direction, p: &PodRef<'_>) -> String {
    let d = match dir {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    };
    format!("policy-{d}-{}/{}", p.namespace, p.name)
}

/// The policy part of the proxy's table: the `policy-ingress`/`policy-egress` maps, the
/// `network-policy` chain the forward hook jumps to, and one chain per isolated pod and
/// direction. Written into the body of `table ip ...`; empty maps when nothing is isolated.
pub fn policy_rules(
    policies: &[std::sync::Arc<NetworkPolicy>],
    pods: &[std::sync::Arc<Pod>],
    namespaces: &[std::sync::Arc<Namespace>],
) -> String {
    let world = World {
        pods: pod_refs(pods),
        ns_labels: namespaces
            .iter()
            .filter_map(|n| Some((n.metadata.name.as_deref()?, n.metadata.labels.as_ref())))
            .collect(),
    };
    let mut chains = String::new();
    let mut maps: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for dir in [Direction::Ingress, Direction::Egress] {
        let mut entries = Vec::new();
        for pod in &world.pods {
            let selecting: Vec<&NetworkPolicy> = policies
                .iter()
                .map(|np| np.as_ref())
                .filter(|np| np.metadata.namespace.as_deref() == Some(pod.namespace))
                .filter(|np| applies(np, dir))
                .filter(|np| {
                    // An absent podSelector is the empty one: every pod of the namespace.
                    np.spec.as_ref().is_some_and(|s| {
                        s.pod_selector.as_ref().is_none_or(|sel| {
                            label_selector_matches(sel, pod.pod.metadata.labels.as_ref())
                        })
                    })
                })
                .collect();
            if selecting.is_empty() {
                continue;
            }
            let name = chain_name(dir, pod);
            let allow = match dir {
                Direction::Ingress => "accept",
                Direction::Egress => "return",
            };
            let field = match dir {
                Direction::Ingress => "saddr",
                Direction::Egress => "daddr",
            };
            let mut body = Vec::new();
            for np in &selecting {
                let ns = np.metadata.namespace.as_deref().unwrap_or_default();
                for (peers, ports) in rules(np, dir) {
                    let peers = world.peers(ns, peers);
                    let (ports, named) = match ports.filter(|p| !p.is_empty()) {
                        None => (None, Vec::new()),
                        Some(ports) => {
                            let dest = (dir == Direction::Ingress).then_some(pod);
                            let (m, named) = port_matches(ports, dest);
                            (Some(m), named)
                        }
                    };
                    for addr in address_clauses(&peers, field) {
                        match &ports {
                            None => body.push(join(&[&addr, allow])),
                            Some(m) => {
                                for p in port_clauses(m) {
                                    body.push(join(&[&addr, &p, allow]));
                                }
                            }
                        }
                    }
                    // Egress to a named port: the (address, protocol, port) of every peer pod
                    // that names it.
                    let mut tuples = BTreeSet::new();
                    for (k8s, nft, port_name) in named {
                        for &j in &peers.pod_list {
                            let dest = &world.pods[j];
                            for n in dest.named_ports(port_name, k8s) {
                                tuples.insert(format!("{} . {nft} . {n}", dest.ip));
                            }
                        }
                    }
                    if !tuples.is_empty() {
                        body.push(format!(
                            "ip daddr . meta l4proto . th dport {} {allow}",
                            nft_set(tuples)
                        ));
                    }
                }
            }
            body.push("counter drop".into());
            let _ = writeln!(chains, "\tchain {name} {{");
            for r in body {
                let _ = writeln!(chains, "\t\t{r}");
            }
            let _ = writeln!(chains, "\t}}");
            entries.push(format!("{} : jump {name}", pod.ip));
        }
        maps.insert(
            match dir {
                Direction::Ingress => "policy-ingress",
                Direction::Egress => "policy-egress",
            },
            entries,
        );
    }
    let mut out = String::new();
    for (name, entries) in &maps {
        let _ = writeln!(out, "\tmap {name} {{\n\t\ttype ipv4_addr : verdict");
        if !entries.is_empty() {
            let _ = writeln!(out, "\t\telements = {{ {} }}", entries.join(", "));
        }
        let _ = writeln!(out, "\t}}");
    }
    let _ = writeln!(
        out,
        "\tchain network-policy {{\n\t\tct state established,related accept\n\t\tip saddr vmap @policy-egress\n\t\tip daddr vmap @policy-ingress\n\t}}"
    );
    out.push_str(&chains);
    out
}

/// Joins the non-empty parts of a rule with spaces.
fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[path = "policy_tests.rs"]
pub(crate) mod tests;
