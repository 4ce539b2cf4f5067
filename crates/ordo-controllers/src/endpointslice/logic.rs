//! Pure decisions of the EndpointSlice and Endpoints controllers: which pods are endpoints
//! of a Service, with which ports and conditions; how they are cut into slices and which
//! slices to create, update or delete; the legacy Endpoints subsets.

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort as CorePort, EndpointSubset, Endpoints, ObjectReference, Pod,
    Service, ServicePort,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// Label naming the Service of a slice.
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Label naming the controller that manages a slice.
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of [`MANAGED_BY`] (upstream's).
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// Label set on the endpoints of headless Services.
pub const HEADLESS: &str = "service.kubernetes.io/headless";
/// Endpoints per slice (upstream `--max-endpoints-per-slice` default).
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// The Service's selector picks `pod` (a Service without selector picks nothing).
pub fn selects(svc: &Service, pod: &Pod) -> bool {
    let Some(sel) = svc
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .filter(|s| !s.is_empty())
    else {
        return false;
    };
    pod.metadata.namespace == svc.metadata.namespace
        && sel
            .iter()
            .all(|(k, v)| pod.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v))
}

/// The pod's IPv4 address if it may be an endpoint: not loopback, link-local or unspecified
/// (the API refuses those in endpoints, e.g. host-network pods on a loopback node).
pub fn endpoint_ip(pod: &Pod) -> Option<Ipv4Addr> {
    let ip: Ipv4Addr = pod.status.as_ref()?.pod_ip.as_deref()?.parse().ok()?;
    (!ip.is_loopback() && !ip.is_unspecified() && !ip.is_link_local() && !ip.is_multicast())
        .then_some(ip)
}

/// Upstream `ShouldPodBeInEndpoints`: has an address, not terminal, and not terminating
/// unless `include_terminating`.
pub fn should_include(pod: &Pod, include_terminating: bool) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    endpoint_ip(pod).is_some()
        && !matches!(phase, Some("Succeeded") | Some("Failed"))
        && (include_terminating || pod.metadata.deletion_timestamp.is_none())
}

/// The pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Upstream `findPort`: a named targetPort is looked up among the pod's container ports (same
/// protocol); a number is used as is; no targetPort means the service port.
pub fn resolve_port(pod: &Pod, sp: &ServicePort) -> Option<i32> {
    let proto = sp.protocol.as_deref().unwrap_or("TCP");
    match &sp.target_port {
        Some(IntOrString::String(name)) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| {
                p.name.as_deref() == Some(name.as_str())
                    && p.protocol.as_deref().unwrap_or("TCP") == proto
            })
            .map(|p| p.container_port),
        Some(IntOrString::Int(n)) if *n > 0 => Some(*n),
        _ => Some(sp.port),
    }
}

/// Upstream `ShouldSetHostname`: the pod has `spec.hostname` and its `spec.subdomain` is the
/// Service's name (same namespace).
pub fn hostname_for(pod: &Pod, svc: &Service) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let h = spec.hostname.as_ref().filter(|h| !h.is_empty())?;
    (spec.subdomain.is_some()
        && spec.subdomain == svc.metadata.name
        && pod.metadata.namespace == svc.metadata.namespace)
        .then(|| h.clone())
}

fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

fn service_ports(svc: &Service) -> &[ServicePort] {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default()
}

fn publish_not_ready(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

/// `clusterIP: None`.
pub fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// The ports of `pod` for every service port it resolves (upstream `getEndpointPorts`).
fn endpoint_ports(svc: &Service, pod: &Pod) -> Vec<EndpointPort> {
    service_ports(svc)
        .iter()
        .filter_map(|sp| {
            Some(EndpointPort {
                name: Some(sp.name.clone().unwrap_or_default()),
                port: Some(resolve_port(pod, sp)?),
                protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                app_protocol: sp.app_protocol.clone(),
            })
        })
        .collect()
}

/// What one slice holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SliceContent {
    pub ports: Vec<EndpointPort>,
    pub endpoints: Vec<Endpoint>,
}

/// The slices `svc` should have for `pods` (those it selects): endpoints grouped by their
/// port set, sorted by address, at most [`MAX_ENDPOINTS_PER_SLICE`] a slice; one empty
/// placeholder slice when there are none, as upstream.
pub fn desired_slices(svc: &Service, pods: &[&Pod]) -> Vec<SliceContent> {
    let publish = publish_not_ready(svc);
    type Group = (Vec<EndpointPort>, Vec<(Ipv4Addr, Endpoint)>);
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for pod in pods
        .iter()
        .filter(|p| selects(svc, p) && should_include(p, true))
    {
        let ip = endpoint_ip(pod).expect("checked");
        let ports = endpoint_ports(svc, pod);
        let serving = is_ready(pod);
        let terminating = pod.metadata.deletion_timestamp.is_some();
        let ep = Endpoint {
            addresses: vec![ip.to_string()],
            conditions: Some(EndpointConditions {
                ready: Some(publish || (serving && !terminating)),
                serving: Some(serving),
                terminating: Some(terminating),
            }),
            hostname: hostname_for(pod, svc),
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(pod_ref(pod)),
            ..Default::default()
        };
        let key = format!("{ports:?}");
        groups
            .entry(key)
            .or_insert_with(|| (ports, Vec::new()))
            .1
            .push((ip, ep));
    }
    let mut out = Vec::new();
    for (_, (ports, mut eps)) in groups {
        eps.sort_by_key(|(ip, _)| *ip);
        for chunk in eps.chunks(MAX_ENDPOINTS_PER_SLICE) {
            out.push(SliceContent {
                ports: ports.clone(),
                endpoints: chunk.iter().map(|(_, e)| e.clone()).collect(),
            });
        }
    }
    if out.is_empty() {
        out.push(SliceContent::default());
    }
    out
}

/// The labels of the Service's slices: its own (minus reserved keys), the service name,
/// the manager, and the headless marker.
pub fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = svc.metadata.labels.clone().unwrap_or_default();
    l.retain(|k, _| k != SERVICE_NAME && k != MANAGED_BY && k != HEADLESS);
    l.insert(
        SERVICE_NAME.into(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    l.insert(MANAGED_BY.into(), CONTROLLER_NAME.into());
    if is_headless(svc) {
        l.insert(HEADLESS.into(), String::new());
    }
    l
}

/// The controller reference from a slice to its Service.
pub fn owner_ref(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A new slice of `svc` holding `c` (named by the API server from `<service>-`).
pub fn new_slice(svc: &Service, c: &SliceContent) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!(
                "{}-",
                svc.metadata.name.as_deref().unwrap_or_default()
            )),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(slice_labels(svc)),
            owner_references: Some(vec![owner_ref(svc)]),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: c.endpoints.clone(),
        ports: Some(c.ports.clone()),
    }
}

/// A write to make.
#[derive(Debug, Clone, PartialEq)]
pub enum SliceAction {
    Create(EndpointSlice),
    /// The existing slice (name and resourceVersion kept) with new content.
    Update(EndpointSlice),
    Delete(String),
}

fn content_of(es: &EndpointSlice) -> SliceContent {
    SliceContent {
        ports: es.ports.clone().unwrap_or_default(),
        endpoints: es.endpoints.clone(),
    }
}

fn owned_by(es: &EndpointSlice, svc: &Service) -> bool {
    es.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.kind == "Service" && Some(&r.uid) == svc.metadata.uid.as_ref())
}

/// The writes turning `existing` (this controller's slices of `svc`) into `desired`: slices
/// whose content is already right are kept, others are reused (same ports first) and
/// updated, the rest created or deleted. Slices owned by another Service object (one deleted
/// and recreated under the same name) are deleted.
pub fn plan_slices(
    svc: &Service,
    existing: &[EndpointSlice],
    desired: Vec<SliceContent>,
) -> Vec<SliceAction> {
    let labels = slice_labels(svc);
    let mut free: Vec<&EndpointSlice> = Vec::new();
    let mut actions = Vec::new();
    for es in existing {
        if owned_by(es, svc) {
            free.push(es);
        } else {
            actions.push(SliceAction::Delete(
                es.metadata.name.clone().unwrap_or_default(),
            ));
        }
    }
    free.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut todo: Vec<SliceContent> = Vec::new();
    for c in desired {
        match free.iter().position(|es| content_of(es) == c) {
            Some(i) => {
                let es = free.remove(i);
                if es.metadata.labels.as_ref() != Some(&labels) {
                    let mut up = es.clone();
                    up.metadata.labels = Some(labels.clone());
                    actions.push(SliceAction::Update(up));
                }
            }
            None => todo.push(c),
        }
    }
    for c in todo {
        let pick = free
            .iter()
            .position(|es| es.ports.clone().unwrap_or_default() == c.ports)
            .or((!free.is_empty()).then_some(0));
        match pick {
            Some(i) => {
                let mut up = free.remove(i).clone();
                up.metadata.labels = Some(labels.clone());
                up.endpoints = c.endpoints;
                up.ports = Some(c.ports);
                actions.push(SliceAction::Update(up));
            }
            None => actions.push(SliceAction::Create(new_slice(svc, &c))),
        }
    }
    actions.extend(
        free.into_iter()
            .map(|es| SliceAction::Delete(es.metadata.name.clone().unwrap_or_default())),
    );
    actions
}

/// The legacy Endpoints subsets of `svc` for `pods` (upstream endpoints controller plus
/// `RepackSubsets`): ready pods in `addresses`, others in `notReadyAddresses` (all in
/// `addresses` with `publishNotReadyAddresses`), grouped by identical port sets.
pub fn endpoint_subsets(svc: &Service, pods: &[&Pod]) -> Vec<EndpointSubset> {
    let publish = publish_not_ready(svc);
    let headless_no_ports = is_headless(svc) && service_ports(svc).is_empty();
    type Group = (
        Vec<CorePort>,
        BTreeMap<Ipv4Addr, EndpointAddress>,
        BTreeMap<Ipv4Addr, EndpointAddress>,
    );
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for pod in pods
        .iter()
        .filter(|p| selects(svc, p) && should_include(p, publish))
    {
        let ip = endpoint_ip(pod).expect("checked");
        let mut ports: Vec<CorePort> = service_ports(svc)
            .iter()
            .filter_map(|sp| {
                Some(CorePort {
                    name: sp.name.clone().filter(|n| !n.is_empty()),
                    port: resolve_port(pod, sp)?,
                    protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: sp.app_protocol.clone(),
                })
            })
            .collect();
        if ports.is_empty() && !headless_no_ports {
            continue;
        }
        ports.sort_by(|a, b| (&a.name, a.port).cmp(&(&b.name, b.port)));
        let addr = EndpointAddress {
            ip: ip.to_string(),
            hostname: hostname_for(pod, svc),
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(pod_ref(pod)),
        };
        let g = groups
            .entry(format!("{ports:?}"))
            .or_insert_with(|| (ports, BTreeMap::new(), BTreeMap::new()));
        if publish || is_ready(pod) {
            g.1.insert(ip, addr);
        } else {
            g.2.insert(ip, addr);
        }
    }
    groups
        .into_values()
        .map(|(ports, ready, not_ready)| EndpointSubset {
            addresses: (!ready.is_empty()).then(|| ready.into_values().collect()),
            not_ready_addresses: (!not_ready.is_empty()).then(|| not_ready.into_values().collect()),
            ports: (!ports.is_empty()).then_some(ports),
        })
        .collect()
}

/// The labels of the Service's Endpoints: its own plus the headless marker.
pub fn endpoints_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut l = svc.metadata.labels.clone().unwrap_or_default();
    l.remove(HEADLESS);
    if is_headless(svc) {
        l.insert(HEADLESS.into(), String::new());
    }
    l
}

/// Addresses an Endpoints object holds at most (upstream's `maxCapacity`); a Service with more
/// pods is described in full by its EndpointSlices only.
pub const MAX_ENDPOINTS: usize = 1000;
/// The annotation of an Endpoints object truncated to [`MAX_ENDPOINTS`] (value `truncated`).
pub const OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";

/// The Endpoints object of `svc` with `subsets`, truncated to [`MAX_ENDPOINTS`] addresses
/// (and annotated [`OVER_CAPACITY`]) as upstream's endpoints controller does.
pub fn endpoints(svc: &Service, mut subsets: Vec<EndpointSubset>) -> Endpoints {
    let truncated = truncate(&mut subsets, MAX_ENDPOINTS);
    Endpoints {
        metadata: ObjectMeta {
            name: svc.metadata.name.clone(),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(endpoints_labels(svc)),
            annotations: truncated
                .then(|| BTreeMap::from([(OVER_CAPACITY.to_string(), "truncated".to_string())])),
            ..Default::default()
        },
        subsets: (!subsets.is_empty()).then_some(subsets),
    }
}

/// Keeps at most `max` addresses in `subsets` (upstream's `truncateEndpoints`): ready addresses
/// first; each subset keeps its share of the truncated kind, rounded up, in order, until `max`
/// is reached. Returns whether anything was dropped.
pub fn truncate(subsets: &mut [EndpointSubset], max: usize) -> bool {
    let count = |f: fn(&EndpointSubset) -> usize| subsets.iter().map(f).sum::<usize>();
    let ready = count(|s| s.addresses.as_ref().map_or(0, Vec::len));
    let not_ready = count(|s| s.not_ready_addresses.as_ref().map_or(0, Vec::len));
    if ready + not_ready <= max {
        return false;
    }
    // Over capacity in ready addresses alone: share `max` among them and drop every not-ready
    // one; else keep every ready one and share what is left among the not-ready ones.
    let ready_over = ready > max;
    let (room, total) = if ready_over {
        (max, ready)
    } else {
        (max - ready, not_ready)
    };
    let mut left = room;
    for s in subsets.iter_mut() {
        let list = if ready_over {
            s.not_ready_addresses = Some(Vec::new());
            &mut s.addresses
        } else {
            &mut s.not_ready_addresses
        };
        let n = list.as_ref().map_or(0, Vec::len);
        let share = (n * room).div_ceil(total).min(left);
        if let Some(l) = list.as_mut() {
            l.truncate(share);
            left -= l.len();
        }
    }
    true
}

/// The endpoints of the `kubernetes` Service: the API server at `ip` and the Service's
/// `targetPort` (the port it listens on).
pub fn apiserver_endpoints(
    svc: &Service,
    ip: Ipv4Addr,
) -> Option<(Vec<EndpointSubset>, SliceContent)> {
    let sp = service_ports(svc).first()?;
    let port = match &sp.target_port {
        Some(IntOrString::Int(n)) if *n > 0 => *n,
        _ => sp.port,
    };
    let name = sp.name.clone().filter(|n| !n.is_empty());
    let subsets = vec![EndpointSubset {
        addresses: Some(vec![EndpointAddress {
            ip: ip.to_string(),
            ..Default::default()
        }]),
        not_ready_addresses: None,
        ports: Some(vec![CorePort {
            name: name.clone(),
            port,
            protocol: Some("TCP".into()),
            app_protocol: None,
        }]),
    }];
    let slice = SliceContent {
        ports: vec![EndpointPort {
            name: Some(name.unwrap_or_default()),
            port: Some(port),
            protocol: Some("TCP".into()),
            app_protocol: None,
        }],
        endpoints: vec![Endpoint {
            addresses: vec![ip.to_string()],
            conditions: Some(EndpointConditions {
                ready: Some(true),
                serving: Some(true),
                terminating: Some(false),
            }),
            ..Default::default()
        }],
    };
    Some((subsets, slice))
}

/// The first non-loopback IPv4 address the host owns, from `/proc/net/fib_trie` text
/// (the `/32 host LOCAL` entries).
pub fn host_ipv4(fib_trie: &str) -> Option<Ipv4Addr> {
    let mut last: Option<Ipv4Addr> = None;
    let mut found = BTreeSet::new();
    for line in fib_trie.lines() {
        let t = line.trim();
        if let Some(ip) = t
            .strip_prefix("|-- ")
            .and_then(|s| s.parse::<Ipv4Addr>().ok())
        {
            last = Some(ip);
        } else if t.starts_with("/32 host LOCAL") {
            if let Some(ip) = last.filter(|ip| !ip.is_loopback()) {
                found.insert(ip);
            }
        }
    }
    found.into_iter().next()
}
