//! `ordo agent`: a node agent alone (with its service proxy), a client of a remote API server.

use crate::args::{ImageGcArgs, LogArgs, RuntimeKind, ServiceProxyKind};
use crate::bootstrap::{self, CaSource};
use crate::node::{host_name, proxy_config, proxy_summary, remove_proxy, shutdown_signal};
use crate::node::{NodeFlags, Proxy};
use anyhow::{Context, Result};
use ordo_apiserver::join::JoinToken;
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct AgentArgs {
    /// URL of the API server (`https://HOST:6443`); several, comma separated, for a cluster
    /// of servers: the agent joins through the first and moves on to the next when the one it
    /// talks to stops answering.
    #[arg(long, value_delimiter = ',', required = true)]
    server: Vec<String>,
    /// The join token `ordo server` prints (`ID.SECRET`): exchanged once for this node's own
    /// credential (`system:node:NAME`), kept in `DATA/pki/node.kubeconfig`.
    #[arg(long, conflicts_with = "token_file")]
    join_token: Option<String>,
    /// With --join-token: the cluster CA's pin (`sha256:...`, printed by `ordo server`); the
    /// CA is then read from the server's `kube-public/cluster-info`.
    #[arg(long, value_name = "sha256:HEX")]
    ca_cert_hash: Option<String>,
    /// File holding a bearer token to use instead of a node credential (the server's
    /// `DATA/pki/token`: the admin).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// The cluster CA certificate (the server's `DATA/pki/ca.crt`); with --join-token it may
    /// replace --ca-cert-hash.
    #[arg(long)]
    ca_file: Option<PathBuf>,
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
    /// Cluster DNS address written into pods' resolv.conf; with the runc runtime this node
    /// answers on it (port 53, on the pod bridge), as every node of the cluster does.
    #[arg(long, default_value = "10.96.0.10")]
    cluster_dns: std::net::Ipv4Addr,
    /// Resolvers for names outside cluster.local (ADDR[:PORT],...); default: the host's
    /// /etc/resolv.conf nameservers; `none` disables forwarding.
    #[arg(long, value_delimiter = ',')]
    dns_upstream: Vec<String>,
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
    token_refresh: crate::args::TokenRefreshArgs,
    #[command(flatten)]
    log: LogArgs,
}

/// Runs `ordo agent` until Ctrl-C/SIGTERM or until the agent or its service proxy fails.
pub(crate) fn run(args: AgentArgs) -> Result<()> {
    crate::commands::run_daemon(&args.log, agent(&args))
}

async fn agent(args: &AgentArgs) -> Result<()> {
    args.token_refresh.apply();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let node_name = args.node_name.clone().unwrap_or_else(host_name);
    // The token the API server presents to this node's logs/exec endpoint: known only when
    // this agent holds the admin token; a joined node reviews each request instead.
    let (kubeconfig, api_token) = match (&args.join_token, &args.token_file) {
        (Some(join), _) => {
            let token = JoinToken::parse(join.trim()).context(
                "--join-token: expected ID.SECRET (6 and 16 lower-case letters or digits), as ordo server prints it",
            )?;
            let source = match (&args.ca_cert_hash, &args.ca_file) {
                (Some(pin), _) => CaSource::Pinned(pin),
                (None, Some(file)) => CaSource::File(file),
                (None, None) => anyhow::bail!(
                    "--join-token needs --ca-cert-hash (printed by ordo server) or --ca-file"
                ),
            };
            let kc = bootstrap::node_kubeconfig(
                &args.server[0],
                &args.data_dir,
                &node_name,
                &token,
                source,
            )
            .await?;
            (kc, String::new())
        }
        (None, Some(file)) => {
            let token = std::fs::read_to_string(file)
                .with_context(|| format!("reading the token from {}", file.display()))?;
            let token = token.trim().to_string();
            let ca_file = args
                .ca_file
                .as_ref()
                .context("--token-file needs --ca-file (the server's DATA/pki/ca.crt)")?;
            let ca = std::fs::read(ca_file).with_context(|| {
                format!("reading the CA certificate from {}", ca_file.display())
            })?;
            (
                ordo_apiserver::pki::kubeconfig(&args.server[0], &ca, "agent", &token),
                token,
            )
        }
        (None, None) => {
            // A node that joined before keeps its credential.
            match std::fs::read_to_string(bootstrap::node_kubeconfig_path(&args.data_dir)) {
                Ok(kc) => (kc, String::new()),
                Err(_) => anyhow::bail!(
                    "give --join-token and --ca-cert-hash (ordo server prints the join command), or --token-file and --ca-file"
                ),
            }
        }
    };
    let client = bootstrap::failover_client_of(&kubeconfig, &args.server).await?;
    // One cache per kind in the process, the pod cache holding this node's pods only.
    let caches = ordo_client::Caches::for_node(client.clone(), &node_name);
    let node_ip = match args.node_ip {
        Some(ip) => ip,
        None => route_source(&args.server[0]).with_context(|| {
            format!(
                "finding the local address that reaches {}; give --node-ip",
                args.server[0]
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
        args.server.join(",")
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
    .agent_config(node_name, node_ip, api_token, false, proxy.is_some());
    // NetworkPolicy peers and DNS answers may be pods of any node: the caches of the proxy and
    // the DNS hold them all.
    let cluster = ordo_client::Caches::new(client.clone());
    let proxying = async {
        match &proxy {
            Some((cfg, _)) => ordo_proxy::run(cluster.clone(), cfg.clone()).await,
            None => std::future::pending().await,
        }
    };
    let dns = match args.runtime {
        RuntimeKind::Runc => Some(dns_config(args)?),
        RuntimeKind::Sim => None,
    };
    let answering = async {
        match dns {
            Some(cfg) => {
                if let Err(e) = ordo_dns::run(cluster.clone(), cfg).await {
                    tracing::warn!("the cluster DNS of this node stopped: {e:#}");
                }
                std::future::pending().await
            }
            None => std::future::pending::<()>().await,
        }
    };
    let r = tokio::select! {
        r = ordo_node::run(caches.clone(), agent) => r,
        r = proxying => r.context("the service proxy failed"),
        () = answering => Ok(()),
        _ = shutdown_signal() => { eprintln!("ordo agent: shutting down"); Ok(()) }
    };
    remove_proxy(&proxy).await;
    r
}

/// This node's cluster DNS: on `--cluster-dns`, port 53.
fn dns_config(args: &AgentArgs) -> Result<ordo_dns::DnsConfig> {
    let listen = std::net::SocketAddr::from((args.cluster_dns, 53));
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    Ok(ordo_dns::DnsConfig {
        listen,
        upstreams: ordo_dns::parse_upstreams(&args.dns_upstream, &resolv, listen)?,
        domain: "cluster.local".into(),
        service_cidr: args.service_cidr.clone(),
    })
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
