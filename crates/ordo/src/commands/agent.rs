//! `ordo agent`: a node agent alone (with its service proxy), a client of a remote API server.

use crate::args::{ImageGcArgs, LogArgs, RuntimeKind, ServiceProxyKind};
use crate::node::{host_name, proxy_config, proxy_summary, remove_proxy, shutdown_signal};
use crate::node::{NodeFlags, Proxy};
use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct AgentArgs {
    /// URL of the API server (`https://HOST:6443`).
    #[arg(long)]
    server: String,
    /// File holding the bearer token (the server's `DATA/pki/token`).
    #[arg(long)]
    token_file: PathBuf,
    /// The cluster CA certificate (the server's `DATA/pki/ca.crt`).
    #[arg(long)]
    ca_file: PathBuf,
    /// This node's data directory (images, pods, runc state).
    #[arg(long, default_value = "/var/lib/ordo-agent")]
    data_dir: PathBuf,
    /// Name of this node (defaults to the host name).
    #[arg(long)]
    node_name: Option<String>,
    /// Container runtime.
    #[arg(long, value_enum, default_value_t = RuntimeKind::Runc)]
    runtime: RuntimeKind,
    /// Pod network bridge (runc runtime).
    #[arg(long, default_value = "ordo0")]
    bridge: String,
    /// Cluster DNS address written into pods' resolv.conf.
    #[arg(long, default_value = "10.96.0.10")]
    cluster_dns: std::net::Ipv4Addr,
    /// This node's address (InternalIP, pods' hostIP; the API server reaches the logs/exec
    /// endpoint there). Default: the local address that routes to the API server.
    #[arg(long)]
    node_ip: Option<std::net::IpAddr>,
    /// runc runtime: how Service ClusterIPs and NodePorts are translated on this node.
    #[arg(long, value_enum, default_value_t = ServiceProxyKind::Nftables)]
    service_proxy: ServiceProxyKind,
    /// Service virtual IP range (the cluster's `--service-cidr`).
    #[arg(long, default_value = "10.96.0.0/12")]
    service_cidr: String,
    /// Simulated runtime: milliseconds from pod start to Running and Ready.
    #[arg(long, default_value_t = 0)]
    sim_start_delay_ms: u64,
    /// A registry (`HOST:PORT`) pulled from over plain HTTP; repeatable. Loopback registries
    /// (`localhost:5000`, `127.0.0.1:PORT`) always are.
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    insecure_registries: Vec<String>,
    #[command(flatten)]
    image_gc: ImageGcArgs,
    #[command(flatten)]
    log: LogArgs,
}

/// Runs `ordo agent` until Ctrl-C/SIGTERM or until the agent or its service proxy fails.
pub(crate) fn run(args: AgentArgs) -> Result<()> {
    crate::commands::run_daemon(&args.log, agent(&args))
}

async fn agent(args: &AgentArgs) -> Result<()> {
    let token = std::fs::read_to_string(&args.token_file)
        .with_context(|| format!("reading the token from {}", args.token_file.display()))?;
    let token = token.trim();
    let ca = std::fs::read(&args.ca_file)
        .with_context(|| format!("reading the CA certificate from {}", args.ca_file.display()))?;
    let kubeconfig = ordo_apiserver::pki::kubeconfig(&args.server, &ca, "agent", token);
    let doc = kube::config::Kubeconfig::from_yaml(&kubeconfig)?;
    let cfg =
        kube::Config::from_custom_kubeconfig(doc, &kube::config::KubeConfigOptions::default())
            .await?;
    let client = kube::Client::try_from(cfg)?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let node_name = args.node_name.clone().unwrap_or_else(host_name);
    // One cache per kind in the process, the pod cache holding this node's pods only.
    let caches = ordo_client::Caches::for_node(client.clone(), &node_name);
    let node_ip = match args.node_ip {
        Some(ip) => ip,
        None => route_source(&args.server).with_context(|| {
            format!(
                "finding the local address that reaches {}; give --node-ip",
                args.server
            )
        })?,
    };
    let proxy: Option<Proxy> =
        if args.runtime == RuntimeKind::Runc && args.service_proxy == ServiceProxyKind::Nftables {
            Some(
                proxy_config(
                    &args.bridge,
                    &args.service_cidr,
                    None,
                    Some(args.cluster_dns),
                )
                .await?,
            )
        } else {
            None
        };
    eprintln!(
        "ordo agent: node {node_name} ({node_ip}, runtime {:?}, service proxy {}) joining {}",
        args.runtime,
        proxy_summary(&proxy),
        args.server
    );
    let agent = NodeFlags {
        runtime: args.runtime,
        data_dir: &args.data_dir,
        bridge: &args.bridge,
        sim_start_delay_ms: args.sim_start_delay_ms,
        insecure_registries: &args.insecure_registries,
        image_gc: args.image_gc.policy()?,
        cluster_dns: args.cluster_dns,
    }
    .agent_config(
        node_name,
        node_ip,
        token.to_string(),
        false,
        proxy.is_some(),
    );
    let proxying = async {
        match &proxy {
            // NetworkPolicy peers may be pods of any node: the proxy's caches hold them all.
            Some((cfg, _)) => {
                ordo_proxy::run(ordo_client::Caches::new(client.clone()), cfg.clone()).await
            }
            None => std::future::pending().await,
        }
    };
    let r = tokio::select! {
        r = ordo_node::run(caches.clone(), agent) => r,
        r = proxying => r.context("the service proxy failed"),
        _ = shutdown_signal() => { eprintln!("ordo agent: shutting down"); Ok(()) }
    };
    remove_proxy(&proxy).await;
    r
}

/// The local address the kernel would use to reach the host of `url` (a UDP "connect" sends
/// nothing; it only picks the route).
fn route_source(url: &str) -> Result<std::net::IpAddr> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, p.parse().context("bad port in the server URL")?),
        _ => (authority, 443),
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.trim_matches(['[', ']']), port))?
        .next()
        .context("the server's host does not resolve")?;
    let any: std::net::SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0".parse()?
    } else {
        "[::]:0".parse()?
    };
    let sock = std::net::UdpSocket::bind(any)?;
    sock.connect(addr)?;
    Ok(sock.local_addr()?.ip())
}

#[cfg(test)]
mod tests {
    #[test]
    fn route_source_picks_the_local_address_towards_the_server() {
        assert_eq!(
            super::route_source("https://127.0.0.1:6443").unwrap(),
            "127.0.0.1".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(
            super::route_source("https://[::1]:6443/").unwrap(),
            "::1".parse::<std::net::IpAddr>().unwrap()
        );
        assert!(super::route_source("https://127.0.0.1:notaport").is_err());
    }
}
