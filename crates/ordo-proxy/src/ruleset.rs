//! The nftables ruleset for a set of Services and EndpointSlices: a pure function, so that
//! what the proxy asks of the kernel can be read and tested without one.
//!
//! The layout follows kube-proxy's nftables mode, in one table `ip <table>`:
//!
//! - `nat-prerouting` (pods, other hosts) and `nat-output` (this host) jump to `services`,
//!   which looks the destination up in two verdict maps: `service-ips`
//!   (`ClusterIP . proto . port`) and, for local destination addresses, `service-nodeports`
//!   (`proto . port`). A hit goes to the Service port's chain, which picks an endpoint with
//!   `numgen random mod N` (session-less spreading) and goes to the endpoint's chain, which
//!   DNATs. NodePort traffic passes an `external-…` chain that marks it for masquerading.
//! - An endpoint chain marks a pod's connection to itself (hairpin) for masquerading;
//!   `nat-postrouting` masquerades marked packets and clears the mark.
//! - `filter-input`/`-forward`/`-output` check new connections: a Service without ready
//!   endpoints is rejected (`no-endpoint-services`, `no-endpoint-nodeports`), a ClusterIP on a
//!   port it does not serve is rejected, any other address of the service range is dropped
//!   unless it is local to the host (the cluster DNS address on the bridge; the drops are
//!   counted), and traffic into
//!   the bridge for 127.0.0.0/8 that was not DNATed is dropped (the bridge has
//!   `route_localnet=1`).
//!
//! - `filter-forward` then jumps to `network-policy` when NetworkPolicies isolate pods (see
//!   [`crate::policy`]).
//!
//! The text starts with `add table` + `delete table`, so that one `nft -f` run replaces the
//! whole table atomically.

use crate::model::{Protocol, ServiceInfo, ServicePort, SliceInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The packet mark bit that asks `nat-postrouting` to masquerade (kube-proxy's bit).
pub const MASQUERADE_MARK: u32 = 0x4000;

/// What the ruleset depends on besides the Services and EndpointSlices.
#[derive(Clone, Debug)]
pub struct RulesetConfig {
    /// The table's name (family `ip`).
    pub table: String,
    /// The service range; untranslated addresses in it are dropped.
    pub service_cidr: (Ipv4Addr, u8),
    /// The pod bridge.
    pub bridge: String,
    /// Masquerade every Service connection that comes from the bridge. Needed when bridged
    /// traffic skips the IP hooks (`net.bridge.bridge-nf-call-iptables=0`): an endpoint's reply
    /// to a pod on the same bridge would otherwise bypass conntrack and never be un-DNATed.
    pub masquerade_bridge: bool,
    /// The API server of this process listens on this loopback address only: the `kubernetes`
    /// Service is translated to it instead of its endpoints (the host address in them has no
    /// listener).
    pub apiserver_loopback: Option<SocketAddrV4>,
    /// Service addresses ordo serves itself (the cluster DNS): never translated.
    pub served_locally: Vec<Ipv4Addr>,
}

/// One Service port with where its traffic goes.
struct Target<'a> {
    svc: &'a ServiceInfo,
    port: &'a ServicePort,
    endpoints: Vec<SocketAddrV4>,
}

impl Target<'_> {
    fn id(&self) -> String {
        let key = if self.port.name.is_empty() {
            self.port.port.to_string()
        } else {
            self.port.name.clone()
        };
        format!(
            "{}/{}/{}/{key}",
            self.svc.namespace,
            self.svc.name,
            self.port.protocol.nft()
        )
    }
    fn service_chain(&self) -> String {
        format!("service-{}", self.id())
    }
    fn external_chain(&self) -> String {
        format!("external-{}", self.id())
    }
    fn endpoint_chain(&self, ep: &SocketAddrV4) -> String {
        format!("endpoint-{}/{}/{}", self.id(), ep.ip(), ep.port())
    }
}

/// The ready endpoints of `port` of `svc`, from the Service's slices (matched by port name
/// and protocol), sorted and without duplicates.
pub fn endpoints(svc: &ServiceInfo, port: &ServicePort, slices: &[SliceInfo]) -> Vec<SocketAddrV4> {
    let mut out = BTreeSet::new();
    for s in slices
        .iter()
        .filter(|s| s.namespace == svc.namespace && s.service == svc.name)
    {
        for sp in s
            .ports
            .iter()
            .filter(|sp| sp.name == port.name && sp.protocol == port.protocol)
        {
            out.extend(s.ready.iter().map(|ip| SocketAddrV4::new(*ip, sp.port)));
        }
    }
    out.into_iter().collect()
}

/// The whole table for `services` and `slices`, as an `nft -f` script, with `policy` (the
/// NetworkPolicy maps and chains of [`crate::policy::policy_rules`], or `""`) in it.
pub fn ruleset(
    cfg: &RulesetConfig,
    services: &[ServiceInfo],
    slices: &[SliceInfo],
    policy: &str,
) -> String {
    let mut sorted: Vec<&ServiceInfo> = services
        .iter()
        .filter(|s| !cfg.served_locally.contains(&s.cluster_ip))
        .collect();
    sorted.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut targets = Vec::new();
    let mut cluster_ips = BTreeSet::new();
    let mut node_ports: BTreeMap<(Protocol, u16), usize> = BTreeMap::new();
    for svc in sorted {
        cluster_ips.insert(svc.cluster_ip);
        let is_apiserver = svc.namespace == "default" && svc.name == "kubernetes";
        for port in &svc.ports {
            let endpoints = match cfg.apiserver_loopback {
                Some(a) if is_apiserver => vec![a],
                _ => endpoints(svc, port, slices),
            };
            if let Some(np) = port.node_port {
                // The first Service (in name order) keeps a NodePort given twice.
                node_ports
                    .entry((port.protocol, np))
                    .or_insert(targets.len());
            }
            targets.push(Target {
                svc,
                port,
                endpoints,
            });
        }
    }

    let mut service_ips = Vec::new();
    let mut no_endpoint_ips = Vec::new();
    for t in &targets {
        let key = format!(
            "{} . {} . {}",
            t.svc.cluster_ip,
            t.port.protocol.nft(),
            t.port.port
        );
        if t.endpoints.is_empty() {
            no_endpoint_ips.push(format!("{key} : goto reject-chain"));
        } else {
            service_ips.push(format!("{key} : goto {}", t.service_chain()));
        }
    }
    let mut service_nodeports = Vec::new();
    let mut no_endpoint_nodeports = Vec::new();
    for ((proto, np), &i) in &node_ports {
        let t = &targets[i];
        let key = format!("{} . {np}", proto.nft());
        if t.endpoints.is_empty() {
            no_endpoint_nodeports.push(format!("{key} : goto reject-chain"));
        } else {
            service_nodeports.push(format!("{key} : goto {}", t.external_chain()));
        }
    }

    let table = &cfg.table;
    let bridge = &cfg.bridge;
    let (net, len) = cfg.service_cidr;
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "add table ip {table}\ndelete table ip {table}");
    let _ = writeln!(w, "table ip {table} {{");
    set(
        w,
        "cluster-ips",
        "ipv4_addr",
        cluster_ips.iter().map(|i| i.to_string()),
    );
    let key3 = "ipv4_addr . inet_proto . inet_service : verdict";
    let key2 = "inet_proto . inet_service : verdict";
    set_kind(w, "map", "service-ips", key3, service_ips);
    set_kind(w, "map", "service-nodeports", key2, service_nodeports);
    set_kind(w, "map", "no-endpoint-services", key3, no_endpoint_ips);
    set_kind(
        w,
        "map",
        "no-endpoint-nodeports",
        key2,
        no_endpoint_nodeports,
    );

    chain(
        w,
        "nat-prerouting",
        Some("type nat hook prerouting priority dstnat; policy accept;"),
        &["jump services"],
    );
    chain(
        w,
        "nat-output",
        Some("type nat hook output priority -100; policy accept;"),
        &["jump services"],
    );
    chain(
        w,
        "nat-postrouting",
        Some("type nat hook postrouting priority srcnat; policy accept;"),
        &["jump masquerading"],
    );
    chain(
        w,
        "services",
        None,
        &[
            "ip daddr . meta l4proto . th dport vmap @service-ips",
            "fib daddr type local meta l4proto . th dport vmap @service-nodeports",
        ],
    );
    let mark = format!("meta mark set meta mark | {MASQUERADE_MARK:#x}");
    chain(w, "mark-for-masquerade", None, &[&mark]);
    let skip = format!("meta mark & {MASQUERADE_MARK:#x} == 0 return");
    let clear = format!("meta mark set meta mark ^ {MASQUERADE_MARK:#x}");
    chain(
        w,
        "masquerading",
        None,
        &[&skip, &clear, "masquerade fully-random"],
    );

    let checks = [
        "ct state new jump endpoints-check",
        "ct state new jump cluster-ips-check",
    ];
    let localnet = format!("iifname \"{bridge}\" ip daddr 127.0.0.0/8 ct status & dnat == 0 drop");
    chain(
        w,
        "filter-input",
        Some("type filter hook input priority -10; policy accept;"),
        &[&localnet, checks[0]],
    );
    let mut forward = checks.to_vec();
    if !policy.is_empty() {
        forward.push("jump network-policy");
    }
    chain(
        w,
        "filter-forward",
        Some("type filter hook forward priority -10; policy accept;"),
        &forward,
    );
    chain(
        w,
        "filter-output",
        Some("type filter hook output priority -10; policy accept;"),
        &checks,
    );
    chain(
        w,
        "endpoints-check",
        None,
        &[
            "ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
            "fib daddr type local meta l4proto . th dport vmap @no-endpoint-nodeports",
        ],
    );
    let drop = format!("ip daddr {net}/{len} counter drop");
    chain(
        w,
        "cluster-ips-check",
        None,
        &[
            "fib daddr type local return",
            "ip daddr @cluster-ips reject",
            &drop,
        ],
    );
    chain(w, "reject-chain", None, &["reject"]);

    for (i, t) in targets.iter().enumerate() {
        if t.endpoints.is_empty() {
            continue;
        }
        let mut rules = Vec::new();
        if cfg.masquerade_bridge {
            rules.push(format!("iifname \"{bridge}\" jump mark-for-masquerade"));
        }
        if let [ep] = t.endpoints.as_slice() {
            rules.push(format!("goto {}", t.endpoint_chain(ep)));
        } else {
            let arms: Vec<String> = t
                .endpoints
                .iter()
                .enumerate()
                .map(|(n, ep)| format!("{n} : goto {}", t.endpoint_chain(ep)))
                .collect();
            rules.push(format!(
                "numgen random mod {} vmap {{ {} }}",
                t.endpoints.len(),
                arms.join(", ")
            ));
        }
        chain_owned(w, &t.service_chain(), &rules);
        if node_ports.values().any(|&j| j == i) {
            let rules = vec![
                "jump mark-for-masquerade".to_string(),
                format!("goto {}", t.service_chain()),
            ];
            chain_owned(w, &t.external_chain(), &rules);
        }
        for ep in &t.endpoints {
            let mut rules = Vec::new();
            if !ep.ip().is_loopback() {
                rules.push(format!("ip saddr {} jump mark-for-masquerade", ep.ip()));
            }
            rules.push(format!(
                "meta l4proto {} dnat to {ep}",
                t.port.protocol.nft()
            ));
            chain_owned(w, &t.endpoint_chain(ep), &rules);
        }
    }
    w.push_str(policy);
    let _ = writeln!(w, "}}");
    o
}

/// The script that deletes the table (`add` first, so that a missing table is no error).
pub fn delete_script(table: &str) -> String {
    format!("add table ip {table}\ndelete table ip {table}\n")
}

fn set(w: &mut String, name: &str, ty: &str, elems: impl Iterator<Item = String>) {
    set_kind(w, "set", name, ty, elems.collect())
}

fn set_kind(w: &mut String, kind: &str, name: &str, ty: &str, elems: Vec<String>) {
    let _ = writeln!(w, "\t{kind} {name} {{\n\t\ttype {ty}");
    if !elems.is_empty() {
        let _ = writeln!(w, "\t\telements = {{ {} }}", elems.join(", "));
    }
    let _ = writeln!(w, "\t}}");
}

fn chain(w: &mut String, name: &str, base: Option<&str>, rules: &[&str]) {
    let _ = writeln!(w, "\tchain {name} {{");
    if let Some(b) = base {
        let _ = writeln!(w, "\t\t{b}");
    }
    for r in rules {
        let _ = writeln!(w, "\t\t{r}");
    }
    let _ = writeln!(w, "\t}}");
}

fn chain_owned(w: &mut String, name: &str, rules: &[String]) {
    let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
    chain(w, name, None, &refs)
}
