//! The slim view of Services and EndpointSlices the ruleset is built from, and the
//! conversions from the Kubernetes types.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// An L4 protocol a Service port can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// `TCP` (also when a port sets no protocol).
    Tcp,
    /// `UDP`.
    Udp,
    /// `SCTP`.
    Sctp,
}

impl Protocol {
    /// From the Kubernetes name (`TCP` when absent).
    pub fn parse(s: Option<&str>) -> Option<Protocol> {
        match s.unwrap_or("TCP") {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// The nftables name.
    pub fn nft(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// One port of a Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    /// The port's name ("" when the Service has a single unnamed port).
    pub name: String,
    /// The port's `protocol`.
    pub protocol: Protocol,
    /// The port on the ClusterIP (`port`).
    pub port: u16,
    /// The `nodePort` opened on every local address of the node, if the Service has one
    /// (NodePort and LoadBalancer Services).
    pub node_port: Option<u16>,
}

/// A Service with a virtual IP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceInfo {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// Its virtual IP (`spec.clusterIP`).
    pub cluster_ip: Ipv4Addr,
    /// Its ports (those with an unknown protocol or an out-of-range port left out).
    pub ports: Vec<ServicePort>,
}

/// One port of an EndpointSlice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlicePort {
    /// The name of the Service port it serves ("" for a single unnamed port).
    pub name: String,
    /// The port's `protocol`.
    pub protocol: Protocol,
    /// The port the endpoints listen on (the Service port's target port), the DNAT
    /// destination.
    pub port: u16,
}

/// The ready IPv4 endpoints of one EndpointSlice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceInfo {
    /// The slice's namespace (also its Service's).
    pub namespace: String,
    /// The Service the slice belongs to (its `kubernetes.io/service-name` label).
    pub service: String,
    /// Its ports (those without a port number or with an unknown protocol left out).
    pub ports: Vec<SlicePort>,
    /// The addresses of its ready endpoints (`ready` unset counts as ready).
    pub ready: BTreeSet<Ipv4Addr>,
}

/// The proxied view of a Service: `None` for headless, ExternalName and non-IPv4 Services.
pub fn service_info(svc: &Service) -> Option<ServiceInfo> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    let cluster_ip: Ipv4Addr = spec.cluster_ip.as_deref()?.parse().ok()?;
    let ports = spec
        .ports
        .iter()
        .flatten()
        .filter_map(|p| {
            Some(ServicePort {
                name: p.name.clone().unwrap_or_default(),
                protocol: Protocol::parse(p.protocol.as_deref())?,
                port: u16::try_from(p.port).ok()?,
                node_port: p.node_port.and_then(|n| u16::try_from(n).ok()),
            })
        })
        .collect();
    Some(ServiceInfo {
        namespace: svc.metadata.namespace.clone().unwrap_or_default(),
        name: svc.metadata.name.clone()?,
        cluster_ip,
        ports,
    })
}

/// The proxied view of an EndpointSlice: its ready IPv4 endpoints (`ready` unset counts as
/// ready, as the API documents); `None` for other address types or a slice without Service.
pub fn slice_info(es: &EndpointSlice) -> Option<SliceInfo> {
    if es.address_type != "IPv4" {
        return None;
    }
    let service = es
        .metadata
        .labels
        .as_ref()?
        .get(SERVICE_NAME_LABEL)?
        .clone();
    let ports = es
        .ports
        .iter()
        .flatten()
        .filter_map(|p| {
            Some(SlicePort {
                name: p.name.clone().unwrap_or_default(),
                protocol: Protocol::parse(p.protocol.as_deref())?,
                port: u16::try_from(p.port?).ok()?,
            })
        })
        .collect();
    let ready = es
        .endpoints
        .iter()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
        .flat_map(|e| e.addresses.iter())
        .filter_map(|a| a.parse().ok())
        .collect();
    Some(SliceInfo {
        namespace: es.metadata.namespace.clone().unwrap_or_default(),
        service,
        ports,
        ready,
    })
}
