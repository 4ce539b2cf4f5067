//! What `ordo server` (for its local node) and `ordo agent` share: the node agent's
//! configuration, the service proxy's set-up and summary, the node name and the shutdown signal.

use crate::args::RuntimeKind;
use anyhow::Result;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::path::Path;

/// The node agent's settings both commands take from their flags.
pub(crate) struct NodeFlags<'a> {
    pub(crate) runtime: RuntimeKind,
    pub(crate) data_dir: &'a Path,
    pub(crate) bridge: &'a str,
    pub(crate) sim_start_delay_ms: u64,
    pub(crate) insecure_registries: &'a [String],
    /// When unused images are removed.
    pub(crate) image_gc: ordo_node::image_gc::GcPolicy,
    /// The cluster DNS address written into pods' resolv.conf.
    pub(crate) cluster_dns: Ipv4Addr,
}

impl NodeFlags<'_> {
    /// The node agent's configuration for node `node_name` at `node_ip`; `token` is the bearer
    /// token the API server presents to the agent's logs/exec endpoint, `service_proxy` whether
    /// a service proxy runs on this node.
    pub(crate) fn agent_config(
        &self,
        node_name: String,
        node_ip: IpAddr,
        token: String,
        stop_pods_on_exit: bool,
        service_proxy: bool,
    ) -> ordo_node::AgentConfig {
        ordo_node::AgentConfig {
            node_name,
            runtime: self.runtime.into(),
            data_dir: self.data_dir.to_path_buf(),
            sim_start_delay: std::time::Duration::from_millis(self.sim_start_delay_ms),
            bridge: self.bridge.to_string(),
            token,
            cluster_dns: self.cluster_dns,
            stop_pods_on_exit,
            node_ip,
            insecure_registries: self.insecure_registries.to_vec(),
            image_gc: self.image_gc.clone(),
            service_proxy,
            control_plane: false,
        }
    }
}

/// The service proxy's settings with the version of `nft`, once it is known to run.
pub(crate) type Proxy = (ordo_proxy::ProxyConfig, String);

/// The service proxy's settings, after checking that `nft` runs; with its version.
pub(crate) async fn proxy_config(
    bridge: &str,
    service_cidr: &str,
    apiserver_loopback: Option<SocketAddrV4>,
    cluster_dns: Option<Ipv4Addr>,
) -> Result<Proxy> {
    let cfg = ordo_proxy::ProxyConfig::new(
        bridge,
        service_cidr,
        apiserver_loopback,
        cluster_dns.into_iter().collect(),
    )?;
    let version = ordo_proxy::check_nft(&cfg).await?;
    Ok((cfg, version))
}

/// One line saying how Service addresses are translated, for the start-up banner.
pub(crate) fn proxy_summary(proxy: &Option<Proxy>) -> String {
    match proxy {
        Some((cfg, version)) => format!(
            "nftables table ip {} ({version}){}",
            cfg.ruleset.table,
            if cfg.ruleset.masquerade_bridge {
                ", masquerading bridged service traffic"
            } else {
                ""
            }
        ),
        None => "none".into(),
    }
}

/// Deletes the service proxy's table at exit.
pub(crate) async fn remove_proxy(proxy: &Option<Proxy>) {
    if let Some((cfg, _)) = proxy {
        if let Err(e) = ordo_proxy::clean_up(cfg).await {
            eprintln!("ordo: {e:#}");
        }
    }
}

/// The host's name, lower-cased: the default node name.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ordo-node".into())
}

/// Resolves at Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
