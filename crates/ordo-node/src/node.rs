//! Node registration and heartbeats: the Node object (labels, capacity, conditions, node info
//! from /proc), its Lease in `kube-node-lease` renewed every 10 s, and the status heartbeat
//! (`lastHeartbeatTime`) every minute.

use crate::events::EventSink;
use crate::status::now;
use crate::RuntimeKind;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Client;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// The kubelet version the node reports (`kubectl get nodes` VERSION).
pub const KUBELET_VERSION: &str = "v1.33.0";
/// The address pods and the node answer on.
pub const HOST_IP: &str = "127.0.0.1";
/// How often the Lease is renewed (upstream: every 10 s, 40 s duration).
pub const LEASE_RENEW: Duration = Duration::from_secs(10);
const LEASE_DURATION_SECONDS: i32 = 40;
/// How often the node status is posted even without changes (upstream: 1 minute... 5 with leases).
pub const STATUS_HEARTBEAT: Duration = Duration::from_secs(60);

/// What the node reports about the machine and its runtime.
#[derive(Clone, Debug)]
pub struct HostFacts {
    /// The machine's hostname (`/proc/sys/kernel/hostname`).
    pub hostname: String,
    /// CPU capacity in cores (`status.capacity.cpu`).
    pub cpu: String,
    /// Memory in Ki.
    pub memory_ki: u64,
    /// How many pods the node takes (`status.capacity.pods`).
    pub pods: String,
    /// The pod CIDR the node gives itself (`spec.podCIDR`); empty: the node IPAM controller
    /// allocates one (real pods: their addresses are routed between nodes).
    pub pod_cidr: String,
    /// `nodeInfo.kernelVersion` (`/proc/sys/kernel/osrelease`).
    pub kernel_version: String,
    /// `nodeInfo.osImage`: `PRETTY_NAME` of `/etc/os-release`.
    pub os_image: String,
    /// `nodeInfo.machineID` and `systemUUID` (`/etc/machine-id`, else derived from the hostname).
    pub machine_id: String,
    /// `nodeInfo.bootID` (`/proc/sys/kernel/random/boot_id`).
    pub boot_id: String,
    /// `nodeInfo.architecture` in Go's naming (`amd64`, `arm64`).
    pub architecture: String,
    /// `nodeInfo.containerRuntimeVersion` (`sim://0.1`, `runc://1.1`).
    pub runtime_version: String,
    /// Port of the agent's logs/exec endpoint (`status.daemonEndpoints.kubeletEndpoint`).
    pub kubelet_port: u16,
    /// The node's `InternalIP` (default [`HOST_IP`]).
    pub node_ip: String,
    /// The node runs the control plane (`ordo server`'s own node): labelled
    /// `node-role.kubernetes.io/control-plane`, as kubeadm labels such nodes. Agents' nodes
    /// have no role label (a kubelet may not set one, NodeRestriction forbids it).
    pub control_plane: bool,
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl HostFacts {
    /// Reads the machine's facts from /proc and /etc. The simulated runtime reports a large
    /// node (like kwok's) so that tens of thousands of simulated pods fit: the pod CIDR is a
    /// /16 and the pod capacity follows; the runc node has the real CPU and memory, 110 pods
    /// and a /24.
    pub fn probe(kind: RuntimeKind, runtime_version: &str) -> HostFacts {
        let host_cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let host_mem_ki = read("/proc/meminfo")
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(1024 * 1024);
        let (cpu, memory_ki, pods, pod_cidr) = match kind {
            RuntimeKind::Runc => (host_cpus.to_string(), host_mem_ki, "110", ""),
            RuntimeKind::Sim => ("512".to_string(), 2u64 << 30, "64512", "10.244.0.0/16"),
        };
        let os_image = read("/etc/os-release")
            .and_then(|r| {
                r.lines().find_map(|l| {
                    l.strip_prefix("PRETTY_NAME=")
                        .map(|v| v.trim_matches('"').to_string())
                })
            })
            .unwrap_or_else(|| "Linux".into());
        let hostname = read("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".into());
        let machine_id = read("/etc/machine-id")
            .unwrap_or_else(|| crate::runtime::digest(&["machine", &hostname])[..32].to_string());
        HostFacts {
            kubelet_port: 10250,
            node_ip: HOST_IP.into(),
            control_plane: false,
            hostname,
            cpu,
            memory_ki,
            pods: pods.into(),
            pod_cidr: pod_cidr.into(),
            kernel_version: read("/proc/sys/kernel/osrelease").unwrap_or_default(),
            os_image,
            machine_id,
            boot_id: read("/proc/sys/kernel/random/boot_id").unwrap_or_default(),
            architecture: match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                other => other,
            }
            .into(),
            runtime_version: runtime_version.into(),
        }
    }
}

/// Transition times of the node's conditions, kept across heartbeats.
#[derive(Clone, Debug)]
pub struct Registered {
    /// The Node's UID (the owner of its Lease).
    pub uid: String,
    /// The pod CIDR the Node carries (its existing one wins over ours).
    pub pod_cidr: String,
    since: BTreeMap<String, Time>,
}

/// The node's conditions: no pressure, Ready.
fn conditions(since: &BTreeMap<String, Time>, now: &Time) -> Vec<NodeCondition> {
    [
        (
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        (
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        (
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        (
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ]
    .into_iter()
    .map(|(ty, status, reason, message)| NodeCondition {
        type_: ty.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(since.get(ty).cloned().unwrap_or_else(|| now.clone())),
    })
    .collect()
}

fn node_status(
    facts: &HostFacts,
    name: &str,
    since: &BTreeMap<String, Time>,
    now: &Time,
) -> NodeStatus {
    let capacity: BTreeMap<String, Quantity> = [
        ("cpu", facts.cpu.clone()),
        ("memory", format!("{}Ki", facts.memory_ki)),
        ("pods", facts.pods.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Quantity(v)))
    .collect();
    let mut allocatable = capacity.clone();
    // Upstream reserves the hard eviction threshold (100Mi) from allocatable memory.
    allocatable.insert(
        "memory".into(),
        Quantity(format!("{}Ki", facts.memory_ki.saturating_sub(100 * 1024))),
    );
    NodeStatus {
        capacity: Some(capacity),
        allocatable: Some(allocatable),
        conditions: Some(conditions(since, now)),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: facts.node_ip.clone(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: name.into(),
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: facts.kubelet_port as i32,
            }),
        }),
        node_info: Some(NodeSystemInfo {
            machine_id: facts.machine_id.clone(),
            system_uuid: facts.machine_id.clone(),
            boot_id: facts.boot_id.clone(),
            kernel_version: facts.kernel_version.clone(),
            os_image: facts.os_image.clone(),
            container_runtime_version: facts.runtime_version.clone(),
            kubelet_version: KUBELET_VERSION.into(),
            kube_proxy_version: String::new(),
            operating_system: "linux".into(),
            architecture: facts.architecture.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn labels(name: &str, facts: &HostFacts) -> BTreeMap<String, String> {
    let role = facts
        .control_plane
        .then_some(("node-role.kubernetes.io/control-plane", ""));
    [
        ("beta.kubernetes.io/arch", facts.architecture.as_str()),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", facts.architecture.as_str()),
        ("kubernetes.io/hostname", name),
        ("kubernetes.io/os", "linux"),
    ]
    .into_iter()
    .chain(role)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn annotations() -> BTreeMap<String, String> {
    [
        ("node.alpha.kubernetes.io/ttl", "0"),
        (
            "volumes.kubernetes.io/controller-managed-attach-detach",
            "true",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The Node object the agent registers.
pub fn node_object(name: &str, facts: &HostFacts, now: &Time) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels(name, facts)),
            annotations: Some(annotations()),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: Some(facts.pod_cidr.clone()).filter(|c| !c.is_empty()),
            pod_cidrs: Some(vec![facts.pod_cidr.clone()]).filter(|_| !facts.pod_cidr.is_empty()),
            ..Default::default()
        }),
        status: Some(node_status(facts, name, &BTreeMap::new(), now)),
    }
}

/// Creates the Node, or brings an existing one (from an earlier run) up to date, and its Lease.
pub async fn register(
    client: &Client,
    name: &str,
    facts: &HostFacts,
    events: &EventSink,
) -> anyhow::Result<Registered> {
    let api: Api<Node> = Api::all(client.clone());
    let now = now();
    let desired = node_object(name, facts, &now);
    let (node, was_ready) = match api.get_opt(name).await? {
        None => match api.create(&PostParams::default(), &desired).await {
            Ok(n) => (n, false),
            Err(kube::Error::Api(e)) if e.code == 409 => (api.get(name).await?, false),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("registering node {name}"))),
        },
        Some(existing) => (existing, true),
    };
    let mut since = BTreeMap::new();
    let mut was_ready = was_ready;
    for c in node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        let want = if c.type_ == "Ready" { "True" } else { "False" };
        if c.status == want {
            if let Some(t) = &c.last_transition_time {
                since.insert(c.type_.clone(), t.clone());
            }
        } else if c.type_ == "Ready" {
            was_ready = false;
        }
    }
    // Labels, annotations and (when unset) the pod CIDR; then the status.
    let mut meta_patch =
        json!({"metadata": {"labels": labels(name, facts), "annotations": annotations()}});
    let current_cidr = node
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.clone())
        .filter(|c| !c.is_empty());
    if current_cidr.is_none() && !facts.pod_cidr.is_empty() {
        meta_patch["spec"] = json!({"podCIDR": facts.pod_cidr, "podCIDRs": [facts.pod_cidr]});
    }
    let node = api
        .patch(name, &PatchParams::default(), &Patch::Merge(&meta_patch))
        .await?;
    let status = node_status(facts, name, &since, &now);
    for c in status.conditions.iter().flatten() {
        since.entry(c.type_.clone()).or_insert_with(|| now.clone());
    }
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({ "status": status })),
    )
    .await?;
    let uid = node.metadata.uid.clone().unwrap_or_default();
    let pod_cidr = match current_cidr {
        Some(c) => c,
        None if !facts.pod_cidr.is_empty() => facts.pod_cidr.clone(),
        None => allocated_cidr(&api, name).await?,
    };
    renew_lease(client, name, &uid).await?;
    events.node("Normal", "Starting", "Starting kubelet.".into());
    for reason in [
        "NodeHasSufficientMemory",
        "NodeHasNoDiskPressure",
        "NodeHasSufficientPID",
    ] {
        events.node(
            "Normal",
            reason,
            format!("Node {name} status is now: {reason}"),
        );
    }
    events.node(
        "Normal",
        "NodeAllocatableEnforced",
        "Updated Node Allocatable limit across pods".into(),
    );
    if !was_ready {
        events.node(
            "Normal",
            "NodeReady",
            format!("Node {name} status is now: NodeReady"),
        );
    }
    tracing::info!(
        "node {name} registered (pod CIDR {pod_cidr}, runtime {})",
        facts.runtime_version
    );
    Ok(Registered {
        uid,
        pod_cidr,
        since,
    })
}

/// Waits until the node IPAM controller has given node `name` its pod CIDR (as the kubelet
/// waits for `spec.podCIDR`).
async fn allocated_cidr(api: &Api<Node>, name: &str) -> anyhow::Result<String> {
    let mut told = false;
    loop {
        let node = api.get(name).await?;
        if let Some(c) = node.spec.and_then(|s| s.pod_cidr).filter(|c| !c.is_empty()) {
            return Ok(c);
        }
        if !told {
            tracing::info!("node {name}: waiting for a pod CIDR from the node IPAM controller");
            told = true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// Renews the node's Lease, creating it when missing.
async fn renew_lease(client: &Client, name: &str, node_uid: &str) -> anyhow::Result<()> {
    let api: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let renew = MicroTime(k8s_openapi::jiff::Timestamp::now());
    let patch = json!({"spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": renew}});
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    namespace: Some("kube-node-lease".into()),
                    owner_references: Some(vec![OwnerReference {
                        api_version: "v1".into(),
                        kind: "Node".into(),
                        name: name.into(),
                        uid: node_uid.into(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(name.into()),
                    lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
                    renew_time: Some(renew),
                    ..Default::default()
                }),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Renews the Lease every 10 s and posts the node status every minute, re-registering the
/// Node if it was deleted. Errors are logged and retried; this never returns on its own.
pub async fn heartbeat(
    client: Client,
    name: String,
    facts: HostFacts,
    mut reg: Registered,
) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let mut lease_tick = tokio::time::interval(LEASE_RENEW);
    let mut status_tick = tokio::time::interval(STATUS_HEARTBEAT);
    lease_tick.tick().await;
    status_tick.tick().await;
    loop {
        tokio::select! {
            _ = lease_tick.tick() => {
                if let Err(e) = renew_lease(&client, &name, &reg.uid).await {
                    tracing::warn!("renewing the lease of node {name}: {e:#}");
                }
            }
            _ = status_tick.tick() => {
                let status = node_status(&facts, &name, &reg.since, &now());
                match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&json!({"status": status}))).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(e)) if e.code == 404 => {
                        tracing::warn!("node {name} was deleted; registering it again");
                        let events = EventSink::new(client.clone(), &name);
                        match register(&client, &name, &facts, &events).await {
                            Ok(r) => reg = r,
                            Err(e) => tracing::warn!("registering node {name}: {e:#}"),
                        }
                    }
                    Err(e) => tracing::warn!("posting the status of node {name}: {e}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_object_has_what_kubectl_shows() {
        let mut facts = HostFacts::probe(RuntimeKind::Sim, "sim://0.1");
        let agent = node_object("node-2", &facts, &now());
        let labels = agent.metadata.labels.as_ref().unwrap();
        assert!(!labels.contains_key("node-role.kubernetes.io/control-plane"));
        facts.control_plane = true;
        let n = node_object("node-1", &facts, &now());
        let labels = n.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["node-role.kubernetes.io/control-plane"], "");
        assert_eq!(labels["kubernetes.io/hostname"], "node-1");
        let st = n.status.as_ref().unwrap();
        let ready = st
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_deref()),
            ("True", Some("KubeletReady"))
        );
        assert_eq!(st.conditions.as_ref().unwrap().len(), 4);
        let info = st.node_info.as_ref().unwrap();
        assert_eq!(info.kubelet_version, "v1.33.0");
        assert_eq!(info.container_runtime_version, "sim://0.1");
        assert_eq!(info.operating_system, "linux");
        assert_eq!(st.addresses.as_ref().unwrap()[0].address, "127.0.0.1");
        assert!(st.capacity.as_ref().unwrap().contains_key("pods"));
        let runc = HostFacts::probe(RuntimeKind::Runc, "runc://1.1");
        assert_eq!(runc.pods, "110");
        assert_eq!(runc.pod_cidr, "");
    }
}
