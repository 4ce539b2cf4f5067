//! The node agent (ordo's kubelet): registers this machine as a Node, keeps its Lease and
//! status fresh, and runs the pods the scheduler binds to it through a [`runtime::Runtime`]
//! (`runc`: real containers; `sim`: simulated pods for scale). A client of the Kubernetes API
//! only, reading the process's shared caches ([`ordo_client::Caches`]).
//!
//! Start reading at [`run`], then [`agent`] (the loop over the pod cache and the pod workers).

pub mod agent;
pub mod crilog;
pub mod ephemeral;
pub mod events;
pub mod eviction;
pub mod hooks;
pub mod image;
pub mod image_gc;
pub mod image_manager;
pub mod ipam;
pub mod lifecycle;
pub mod metrics;
pub mod network;
pub mod node;
pub mod probes;
pub mod runtime;
pub mod status;
pub mod streaming;

use anyhow::Context;
use std::sync::Arc;

/// Which container runtime runs the pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeKind {
    /// Real containers with runc.
    Runc,
    /// Simulated pods: no processes; pods become Running and Ready after `sim_start_delay`.
    Sim,
}

/// How the agent is set up.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The name of the Node the agent registers and runs the pods of.
    pub node_name: String,
    /// Which runtime runs the pods.
    pub runtime: RuntimeKind,
    /// Data directory of this node (images, pod state, volumes).
    pub data_dir: std::path::PathBuf,
    /// Simulated runtime: time from pod start to Running/Ready.
    pub sim_start_delay: std::time::Duration,
    /// runc runtime: the pod network's bridge (`ordo0`).
    pub bridge: String,
    /// The cluster DNS address written into pods' resolv.conf and put on the pod bridge.
    pub cluster_dns: std::net::Ipv4Addr,
    /// On SIGTERM/Ctrl-C stop and remove every pod of this node before returning (by
    /// default pods keep running while ordo is down, as with the kubelet).
    pub stop_pods_on_exit: bool,
    /// Bearer token the API server presents to the agent's logs/exec endpoint; empty: each
    /// bearer token is reviewed by the API server (TokenReview and SubjectAccessReview).
    pub token: String,
    /// The node's address: its `InternalIP`, pods' `hostIP`, where the logs/exec endpoint
    /// listens (the API server must reach it there).
    pub node_ip: std::net::IpAddr,
    /// Registries (`HOST:PORT`) pulled from over plain HTTP besides loopback ones.
    pub insecure_registries: Vec<String>,
    /// runc runtime: a service proxy translates the service CIDR on this node (the pod
    /// network routes it via the bridge instead of `unreachable`).
    pub service_proxy: bool,
    /// runc runtime: when unused images are removed ([`image_gc`]).
    pub image_gc: image_gc::GcPolicy,
    /// The node runs the control plane (`ordo server`'s own node; see
    /// [`node::HostFacts::control_plane`]).
    pub control_plane: bool,
}

/// How long each pod gets to stop when the agent stops its pods on exit.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs the agent until an unrecoverable error: registers the Node, starts the heartbeats,
/// then runs the pods bound to it.
pub async fn run(caches: ordo_client::Caches, cfg: AgentConfig) -> anyhow::Result<()> {
    let client = caches.client().clone();
    // Held until the agent ends.
    let _bridge_claim = match cfg.runtime {
        RuntimeKind::Runc => Some(network::claim_bridge(&cfg.bridge)?),
        RuntimeKind::Sim => None,
    };
    let runc = match cfg.runtime {
        RuntimeKind::Sim => None,
        RuntimeKind::Runc => {
            let mut rc = runtime::runc::RuncConfig::new(&cfg.data_dir, &cfg.bridge);
            rc.host_ip = cfg.node_ip.to_string();
            rc.dns.nameserver = cfg.cluster_dns;
            rc.registries.insecure = cfg.insecure_registries.clone();
            rc.service_proxy = cfg.service_proxy;
            // The agent runs in the `ordo` binary, whose hidden `log-shim` subcommand is
            // `runtime::runc::log_shim::main`; /proc/self/exe still runs it when the file
            // was replaced since ordo started.
            rc.log_shim = Some("/proc/self/exe".into());
            Some(Arc::new(
                runtime::runc::RuncRuntime::new(rc)
                    .await?
                    .with_caches(caches.clone()),
            ))
        }
    };
    let rt: Arc<dyn runtime::Runtime> = match &runc {
        Some(r) => r.clone(),
        None => Arc::new(runtime::sim::SimRuntime::new(cfg.sim_start_delay)),
    };
    let mut facts = node::HostFacts::probe(cfg.runtime, &rt.version());
    facts.node_ip = cfg.node_ip.to_string();
    facts.control_plane = cfg.control_plane;
    // The logs/exec endpoint the API server proxies to, on a free port so that several
    // servers can share a machine.
    let listener = tokio::net::TcpListener::bind((cfg.node_ip, 0))
        .await
        .with_context(|| format!("listening on the node address {}", cfg.node_ip))?;
    facts.kubelet_port = listener.local_addr()?.port();
    let images = runc.as_ref().map(|r| r.images().clone());
    let metrics = Arc::new(metrics::ResourceMetrics::new(
        &cfg.node_name,
        rt.clone(),
        caches.get(),
        runc.is_some(),
    ));
    let streams = Arc::new(streaming::PodStreams::new(client.clone(), runc));
    let auth = streaming::auth::Auth::new(cfg.token.clone(), client.clone(), cfg.node_name.clone());
    tokio::spawn(async move {
        if let Err(e) = streaming::serve(listener, auth, streams, metrics).await {
            tracing::error!("the logs/exec endpoint stopped: {e:#}");
        }
    });
    let events = events::EventSink::new(client.clone(), &cfg.node_name);
    let registered = node::register(&client, &cfg.node_name, &facts, &events).await?;
    if let Some(images) = images {
        let gc =
            image_gc::ImageGc::new(images, cfg.image_gc.clone(), &cfg.node_name, events.clone());
        tokio::spawn(gc.run(caches.get()));
    }
    let agent = agent::Agent::new(
        &caches,
        &cfg.node_name,
        &registered.pod_cidr,
        &cfg.node_ip.to_string(),
        rt.clone(),
        events,
    )?;
    // Real pods reach the pods of other nodes through routes to their pod CIDRs.
    let routing = {
        let (caches, me, own) = (
            caches.clone(),
            cfg.node_name.clone(),
            registered.pod_cidr.clone(),
        );
        let real = cfg.runtime == RuntimeKind::Runc;
        async move {
            if !real {
                return std::future::pending().await;
            }
            network::routes::run(caches, me, own).await
        }
    };
    let heartbeat = tokio::spawn(node::heartbeat(
        client,
        cfg.node_name.clone(),
        facts,
        registered,
    ));
    let stop_on_signal = async {
        if !cfg.stop_pods_on_exit {
            return std::future::pending::<()>().await;
        }
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    tokio::select! {
        r = agent.run(caches.get()) => r,
        r = routing => r,
        r = heartbeat => match r {
            Ok(r) => r,
            Err(e) => anyhow::bail!("node heartbeat panicked: {e}"),
        },
        () = stop_on_signal => {
            let pods = rt.list_pods().await;
            tracing::info!("stopping {} pods before exit", pods.len());
            // All at once, each with a short grace period (as a node shutting down).
            let stops = pods.iter().map(|uid| {
                let rt = rt.clone();
                async move {
                    if let Err(e) = rt.stop_pod(uid, SHUTDOWN_GRACE).await {
                        tracing::warn!("stopping pod {uid}: {e:#}");
                    }
                    if let Err(e) = rt.remove_pod(uid).await {
                        tracing::warn!("removing pod {uid}: {e:#}");
                    }
                }
            });
            futures::future::join_all(stops).await;
            Ok(())
        }
    }
}
