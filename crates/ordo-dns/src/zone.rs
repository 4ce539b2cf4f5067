//! The cluster as DNS sees it: an immutable snapshot of Services, their endpoints and pod
//! addresses, indexed for lookups. Built from API objects with no I/O.

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;

/// A named port of a Service or endpoint: `(name, lowercase protocol, port)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPort {
    /// The port's name, lowercase (unnamed ports are left out: they get no SRV record).
    pub name: String,
    /// `tcp`, `udp` or `sctp` (`tcp` when unset), as in the SRV name's `_proto` label.
    pub protocol: String,
    /// The port number: the Service's `port`, or the port the endpoint listens on.
    pub port: u16,
}

/// What a Service name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceKind {
    /// A virtual IP.
    ClusterIp(Ipv4Addr),
    /// `clusterIP: None`: the ready endpoints.
    Headless,
    /// `type: ExternalName`: a CNAME.
    ExternalName(String),
}

/// One endpoint address of a Service (from its EndpointSlices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The endpoint's address.
    pub ip: Ipv4Addr,
    /// The endpoint's `hostname`, lowercase (set for pods with a `hostname` and a
    /// `subdomain` naming the Service, e.g. a StatefulSet's): its name under a headless
    /// Service instead of the dashed IP.
    pub hostname: Option<String>,
    /// The `ready` condition (unset counts as ready); only ready endpoints are answered.
    pub ready: bool,
    /// The named ports of its EndpointSlice.
    pub ports: Vec<NamedPort>,
}

/// A Service with its endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    /// What the Service name resolves to.
    pub kind: ServiceKind,
    /// The Service's named ports (SRV records).
    pub ports: Vec<NamedPort>,
    /// Its endpoints from all its EndpointSlices, one per address (empty until
    /// [`Zone::build`] merges them in).
    pub endpoints: Vec<Endpoint>,
}

/// The slim view of a Pod that DNS needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEntry {
    /// The pod's namespace, lowercase.
    pub namespace: String,
    /// The pod's IP (`status.podIP`).
    pub ip: Ipv4Addr,
}

/// The slim view of an EndpointSlice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceEntry {
    /// The slice's namespace, lowercase.
    pub namespace: String,
    /// The Service it belongs to (its `kubernetes.io/service-name` label), lowercase.
    pub service: String,
    /// One entry per address of its endpoints, each with all the slice's named ports.
    pub endpoints: Vec<Endpoint>,
}

/// A snapshot of everything DNS answers from. Names are lowercase.
#[derive(Debug, Default, Clone)]
pub struct Zone {
    /// `(namespace, service)` → entry.
    pub services: HashMap<(String, String), ServiceEntry>,
    /// `(namespace, pod IP)` of running pods.
    pub pod_ips: HashSet<(String, Ipv4Addr)>,
    /// Namespaces holding a Service or a Pod.
    pub namespaces: HashSet<String>,
    /// IP → fully qualified name (without the trailing dot) for PTR answers.
    pub ptr: HashMap<Ipv4Addr, String>,
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The slim view of a Service, or `None` if it carries nothing DNS can answer.
pub fn service_entry(svc: &Service) -> Option<((String, String), ServiceEntry)> {
    let ns = lower(svc.metadata.namespace.as_deref()?);
    let name = lower(svc.metadata.name.as_deref()?);
    let spec = svc.spec.as_ref()?;
    let kind = if spec.type_.as_deref() == Some("ExternalName") {
        ServiceKind::ExternalName(
            spec.external_name
                .clone()?
                .trim_end_matches('.')
                .to_string(),
        )
    } else {
        match spec.cluster_ip.as_deref() {
            Some("None") => ServiceKind::Headless,
            Some(ip) => ServiceKind::ClusterIp(ip.parse().ok()?),
            None => return None,
        }
    };
    let ports = spec
        .ports
        .iter()
        .flatten()
        .filter_map(|p| {
            Some(NamedPort {
                name: lower(p.name.as_deref().filter(|n| !n.is_empty())?),
                protocol: lower(p.protocol.as_deref().unwrap_or("TCP")),
                port: u16::try_from(p.port).ok()?,
            })
        })
        .collect();
    Some((
        (ns, name),
        ServiceEntry {
            kind,
            ports,
            endpoints: Vec::new(),
        },
    ))
}

/// The slim view of an EndpointSlice (IPv4 only), keyed by the Service it belongs to.
pub fn slice_entry(es: &EndpointSlice) -> Option<SliceEntry> {
    if es.address_type != "IPv4" {
        return None;
    }
    let ns = lower(es.metadata.namespace.as_deref()?);
    let service = lower(
        es.metadata
            .labels
            .as_ref()?
            .get("kubernetes.io/service-name")?,
    );
    let ports: Vec<NamedPort> = es
        .ports
        .iter()
        .flatten()
        .filter_map(|p| {
            Some(NamedPort {
                name: lower(p.name.as_deref().filter(|n| !n.is_empty())?),
                protocol: lower(p.protocol.as_deref().unwrap_or("TCP")),
                port: u16::try_from(p.port?).ok()?,
            })
        })
        .collect();
    let endpoints = es
        .endpoints
        .iter()
        .flat_map(|e| {
            // A missing `ready` means unknown, which consumers treat as ready.
            let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            let hostname = e.hostname.as_deref().map(lower);
            let ports = ports.clone();
            e.addresses.iter().filter_map(move |a| {
                Some(Endpoint {
                    ip: a.parse().ok()?,
                    hostname: hostname.clone(),
                    ready,
                    ports: ports.clone(),
                })
            })
        })
        .collect();
    Some(SliceEntry {
        namespace: ns,
        service,
        endpoints,
    })
}

/// The slim view of a Pod with an IP that is not terminal.
pub fn pod_entry(pod: &Pod) -> Option<PodEntry> {
    let st = pod.status.as_ref()?;
    if matches!(st.phase.as_deref(), Some("Succeeded") | Some("Failed")) {
        return None;
    }
    Some(PodEntry {
        namespace: lower(pod.metadata.namespace.as_deref()?),
        ip: st.pod_ip.as_deref()?.parse().ok()?,
    })
}

/// `10.244.0.5` → `10-244-0-5`.
pub fn dashed(ip: Ipv4Addr) -> String {
    ip.to_string().replace('.', "-")
}

impl Zone {
    /// Indexes the slim objects. `domain` is the cluster domain (`cluster.local`).
    pub fn build<'a>(
        domain: &str,
        services: impl IntoIterator<Item = &'a ((String, String), ServiceEntry)>,
        slices: impl IntoIterator<Item = &'a SliceEntry>,
        pods: impl IntoIterator<Item = &'a PodEntry>,
    ) -> Zone {
        let mut z = Zone::default();
        for (k, v) in services {
            z.namespaces.insert(k.0.clone());
            z.services.insert(k.clone(), v.clone());
        }
        // Endpoints of one Service may be spread over several slices; an address listed
        // twice counts once (ready wins).
        let mut merged: BTreeMap<(String, String), BTreeMap<Ipv4Addr, Endpoint>> = BTreeMap::new();
        for s in slices {
            let m = merged
                .entry((s.namespace.clone(), s.service.clone()))
                .or_default();
            for e in &s.endpoints {
                match m.get_mut(&e.ip) {
                    Some(old) if !old.ready && e.ready => *old = e.clone(),
                    Some(_) => {}
                    None => {
                        m.insert(e.ip, e.clone());
                    }
                }
            }
        }
        for (k, eps) in merged {
            if let Some(svc) = z.services.get_mut(&k) {
                svc.endpoints = eps.into_values().collect();
            }
        }
        for p in pods {
            z.namespaces.insert(p.namespace.clone());
            z.pod_ips.insert((p.namespace.clone(), p.ip));
            z.ptr.insert(
                p.ip,
                format!("{}.{}.pod.{domain}", dashed(p.ip), p.namespace),
            );
        }
        for ((ns, name), svc) in &z.services {
            if svc.kind == ServiceKind::Headless {
                for e in svc.endpoints.iter().filter(|e| e.ready) {
                    if let Some(h) = &e.hostname {
                        z.ptr.insert(e.ip, format!("{h}.{name}.{ns}.svc.{domain}"));
                    }
                }
            }
        }
        for ((ns, name), svc) in &z.services {
            if let ServiceKind::ClusterIp(ip) = svc.kind {
                z.ptr.insert(ip, format!("{name}.{ns}.svc.{domain}"));
            }
        }
        z
    }
}
