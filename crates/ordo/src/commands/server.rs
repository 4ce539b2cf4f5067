//! `ordo server`: the store, the API server, and (unless `--api-only`) the controllers, the
//! scheduler, cluster DNS, the service proxy and the local node agent, in one process.

use crate::args::{
    DataDirArgs, ImageGcArgs, LeaderElectArgs, LogArgs, RuntimeKind, ServiceProxyKind,
};
use crate::bootstrap::client_of;
use crate::node::{host_name, proxy_config, proxy_summary, remove_proxy, shutdown_signal};
use crate::node::{NodeFlags, Proxy};
use anyhow::{Context, Result};
use clap::ValueEnum;
use ordo_apiserver::{pki::Pki, ApiServer, Config};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// The storage engine flag (`--store`).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum StoreKind {
    /// Embedded SQLite file in the data directory.
    Sqlite,
    /// An external etcd cluster (for several machines / HA).
    Etcd,
}

#[derive(clap::Args)]
pub(crate) struct ServerArgs {
    #[command(flatten)]
    data: DataDirArgs,
    /// Address and port the HTTPS API listens on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    bind: SocketAddr,
    /// Storage engine.
    #[arg(long, value_enum, default_value_t = StoreKind::Sqlite)]
    store: StoreKind,
    /// etcd client URLs, comma separated (with --store etcd).
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:2379")]
    etcd_endpoints: Vec<String>,
    /// Key prefix of ordo's data in etcd (several clusters can share one etcd).
    #[arg(long, default_value = "/ordo")]
    etcd_prefix: String,
    /// Container runtime of the local node agent.
    #[arg(long, value_enum, default_value_t = RuntimeKind::Runc)]
    runtime: RuntimeKind,
    /// Service virtual IP range; its first address is the `kubernetes` Service.
    #[arg(long, default_value = "10.96.0.0/12")]
    service_cidr: String,
    /// Pod IP range; each node gets a /24 of it.
    #[arg(long, default_value = "10.244.0.0/16")]
    pod_cidr: String,
    /// Name of the local node (defaults to the host name).
    #[arg(long)]
    node_name: Option<String>,
    /// runc runtime: name of the pod network bridge.
    #[arg(long, default_value = "ordo0")]
    bridge: String,
    /// Simulated runtime: milliseconds from pod start to Running and Ready.
    #[arg(long, default_value_t = 0)]
    sim_start_delay_ms: u64,
    /// Where the local-path provisioner creates volume directories (default DATA/volumes).
    #[arg(long)]
    volumes_dir: Option<PathBuf>,
    /// Cluster DNS address (UDP and TCP), reachable from every pod; `none` disables DNS.
    #[arg(long, default_value = "10.96.0.10:53")]
    cluster_dns: String,
    /// The local node's address (InternalIP, pods' hostIP, where the API server reaches its
    /// logs/exec endpoint).
    #[arg(long, default_value = "127.0.0.1")]
    node_ip: std::net::IpAddr,
    /// runc runtime: how Service ClusterIPs and NodePorts are translated on the local node
    /// (`nftables`: a table `ip <bridge>` ordo keeps in sync; `none`: not at all).
    #[arg(long, value_enum, default_value_t = ServiceProxyKind::Nftables)]
    service_proxy: ServiceProxyKind,
    /// Resolvers for names outside cluster.local (ADDR[:PORT],...); default: the host's
    /// /etc/resolv.conf nameservers; `none` disables forwarding.
    #[arg(long, value_delimiter = ',')]
    dns_upstream: Vec<String>,
    /// On Ctrl-C/SIGTERM stop and remove this node's pods before exiting (by default they keep
    /// running while ordo is down, as with the kubelet, and are adopted at the next start).
    #[arg(long)]
    stop_pods_on_exit: bool,
    /// Serve the API only: no controllers, scheduler or node agent.
    #[arg(long)]
    api_only: bool,
    /// A registry (`HOST:PORT`) pulled from over plain HTTP; repeatable. Loopback registries
    /// (`localhost:5000`, `127.0.0.1:PORT`) always are.
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    insecure_registries: Vec<String>,
    /// Append an audit log here: one JSON line per request, upstream's `audit.k8s.io/v1`
    /// Event at the Metadata level (user, verb, resource, namespace, name, response code).
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// How often the node agents' resource metrics are scraped for `metrics.k8s.io` (`kubectl
    /// top`, the HorizontalPodAutoscaler), metrics-server's `--metric-resolution`.
    #[arg(long, default_value = "15s", value_parser = crate::args::parse_duration)]
    metric_resolution: std::time::Duration,
    /// How often each HorizontalPodAutoscaler is synced (kube-controller-manager's flag).
    #[arg(long, default_value = "15s", value_parser = crate::args::parse_duration)]
    horizontal_pod_autoscaler_sync_period: std::time::Duration,
    /// How long a node may go without posting its status or renewing its Lease before it is
    /// marked `Unknown` and tainted unreachable (kube-controller-manager's flag).
    #[arg(long, default_value = "50s", value_parser = crate::args::parse_duration)]
    node_monitor_grace_period: std::time::Duration,
    /// How often the node lifecycle controller checks the nodes.
    #[arg(long, default_value = "5s", value_parser = crate::args::parse_duration)]
    node_monitor_period: std::time::Duration,
    #[command(flatten)]
    leader: LeaderElectArgs,
    #[command(flatten)]
    image_gc: ImageGcArgs,
    #[command(flatten)]
    token_refresh: crate::args::TokenRefreshArgs,
    #[command(flatten)]
    log: LogArgs,
}

impl ServerArgs {
    /// The store engine the flags choose.
    fn engine(&self) -> ordo_store::Engine {
        match self.store {
            StoreKind::Sqlite => ordo_store::Engine::Sqlite {
                path: self.data.data_dir.join("ordo.db"),
                options: Default::default(),
            },
            StoreKind::Etcd => ordo_store::Engine::Etcd {
                endpoints: self.etcd_endpoints.clone(),
                prefix: self.etcd_prefix.clone(),
            },
        }
    }
}

/// Runs `ordo server` until Ctrl-C/SIGTERM or until a part of it fails.
pub(crate) fn run(args: ServerArgs) -> Result<()> {
    crate::commands::run_daemon(&args.log, server(&args))
}

async fn server(args: &ServerArgs) -> Result<()> {
    let started = std::time::Instant::now();
    args.token_refresh.apply();
    let data_dir = &args.data.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let engine = args.engine();
    let store = ordo_store::open(&engine).await?;
    let pki = Pki::load_or_create(data_dir, &[args.bind.ip()])?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("listening on {} (is another server running?)", args.bind))?;
    let bound = listener.local_addr()?;
    let url = format!(
        "https://{}",
        if bound.ip().is_unspecified() {
            SocketAddr::new([127, 0, 0, 1].into(), bound.port())
        } else {
            bound
        }
    );
    let kubeconfig = data_dir.join("kubeconfig.yaml");
    std::fs::write(&kubeconfig, pki.kubeconfig(&url))
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    let api = ApiServer::new(Config {
        store,
        token: pki.token.clone(),
        service_cidr: args.service_cidr.clone(),
        advertise: bound,
        audit_log: args.audit_log.clone(),
        service_account_key_pem: pki.service_account_key_pem.clone(),
        ca_cert_pem: pki.ca_cert_pem.clone(),
        metric_resolution: args.metric_resolution,
    })
    .await?;
    let join_token = ordo_apiserver::join::JoinToken::load_or_create(data_dir)?;
    if args.store == StoreKind::Etcd {
        // Several servers may share the store: they must share the cluster's CA and keys.
        api.check_cluster_ca().await?;
    }
    api.ensure_join(&join_token, &url).await?;
    let ca_hash = ordo_apiserver::join::ca_cert_hash(&pki.ca_cert_pem)?;
    let tls = pki.server_config()?;
    let serving = tokio::spawn(api.serve(listener, tls));
    let node_name = args.node_name.clone().unwrap_or_else(host_name);
    let cluster_dns_ip = match args.cluster_dns.parse::<SocketAddr>() {
        Ok(SocketAddr::V4(a)) => Some(*a.ip()),
        _ => None,
    };
    // The `kubernetes` Service's endpoints hold the host's address; an API server listening on
    // loopback only is reached from pods through its loopback address instead.
    let apiserver_loopback = match bound {
        SocketAddr::V4(a) if a.ip().is_loopback() => Some(a),
        _ => None,
    };
    let proxy: Option<Proxy> = if !args.api_only
        && args.runtime == RuntimeKind::Runc
        && args.service_proxy == ServiceProxyKind::Nftables
    {
        Some(
            proxy_config(
                &args.bridge,
                &args.service_cidr,
                apiserver_loopback,
                cluster_dns_ip,
            )
            .await?,
        )
    } else {
        None
    };
    let mut background = tokio::task::JoinSet::new();
    // The controllers and the scheduler under leader election: told to stop (and give their
    // leases up) at shutdown.
    let mut elections = tokio::task::JoinSet::new();
    let (stop_elections, stop_rx) = tokio::sync::watch::channel(false);
    let leader_elect = match args
        .leader
        .leader_elect
        .unwrap_or(args.store == StoreKind::Etcd)
    {
        true => Some(args.leader.timings()?),
        false => None,
    };
    let mut leading = "always (no leader election)".to_string();
    if !args.api_only {
        // Each component talks with a credential of its own (client certificates made at each
        // start, kept in memory), as kube-controller-manager, kube-scheduler, kube-proxy and
        // the kubelet do; the shared caches list and watch as the controller manager.
        let ca = pki.ca();
        let identity = |user: &str, groups: &[&str]| {
            let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
            let (cert, key) = ca.client_certificate(user, &groups)?;
            ordo_apiserver::pki::cert_kubeconfig(&url, &ca.cert_pem, user, &cert, &key)
        };
        let client = client_of(&identity("system:kube-controller-manager", &[])?).await?;
        let scheduler = client_of(&identity("system:kube-scheduler", &[])?).await?;
        let node_client = client_of(&identity(
            &format!("system:node:{node_name}"),
            &["system:nodes"],
        )?)
        .await?;
        let proxy_client = client_of(&identity("system:kube-proxy", &[])?).await?;
        let volumes_dir = args
            .volumes_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("volumes"));
        // One reflector per kind in the process, shared by the controllers, the scheduler,
        // the DNS, the proxy and the node agent.
        let caches = ordo_client::Caches::new(client.clone());
        let signer: Arc<dyn ordo_controllers::certificates::CertificateAuthority> =
            Arc::new(ClusterSigner(pki.ca()));
        let (root_ca, hpa_period, pod_cidr) = (
            pki.ca_cert_pem.clone(),
            args.horizontal_pod_autoscaler_sync_period,
            args.pod_cidr.clone(),
        );
        let node_lifecycle = ordo_controllers::nodelifecycle::Config {
            monitor_period: args.node_monitor_period,
            grace_period: args.node_monitor_grace_period,
        };
        let controllers = {
            let caches = caches.clone();
            move || {
                ordo_controllers::run(
                    caches.clone(),
                    volumes_dir.clone(),
                    root_ca.clone(),
                    Some(signer.clone()),
                    hpa_period,
                    node_lifecycle,
                    pod_cidr.clone(),
                )
            }
        };
        let scheduling = {
            let caches = caches.with_client(scheduler.clone());
            move || ordo_controllers::run_scheduler(caches.clone())
        };
        if let Some(timings) = leader_elect {
            // Upstream's identity: `<hostname>_<uuid>`, one per process.
            let identity = format!("{}_{}", host_name(), uuid::Uuid::new_v4());
            let elect = |client: kube::Client, lease: &str, component: &str| {
                ordo_controllers::leader::Elector::new(
                    client,
                    "kube-system",
                    lease,
                    &identity,
                    component,
                    timings,
                )
            };
            let kcm = elect(client, "kube-controller-manager", "kube-controller-manager");
            let sched = elect(scheduler, "kube-scheduler", "default-scheduler");
            elections.spawn(kcm.run(controllers, stop_rx.clone()));
            elections.spawn(sched.run(scheduling, stop_rx.clone()));
            leading = format!(
                "by leases kube-system/kube-controller-manager and kube-scheduler as {identity}"
            );
        } else {
            background.spawn(controllers());
            background.spawn(scheduling());
        }
        let mut agent = NodeFlags {
            runtime: args.runtime,
            data_dir,
            bridge: &args.bridge,
            sim_start_delay_ms: args.sim_start_delay_ms,
            insecure_registries: &args.insecure_registries,
            image_gc: args.image_gc.policy()?,
            cluster_dns: cluster_dns_ip.unwrap_or(Ipv4Addr::new(10, 96, 0, 10)),
        }
        .agent_config(
            node_name.clone(),
            args.node_ip,
            pki.token.clone(),
            args.stop_pods_on_exit,
            proxy.is_some(),
        );
        // The server's own node runs the control plane.
        agent.control_plane = true;
        if let Some(dns) = dns_config(args)? {
            background.spawn(ordo_dns::run(caches.clone(), dns));
        }
        if let Some((cfg, _)) = &proxy {
            background.spawn(ordo_proxy::run(
                caches.with_client(proxy_client),
                cfg.clone(),
            ));
        }
        background.spawn(ordo_node::run(caches.with_client(node_client), agent));
    }
    eprintln!("ordo server ready in {} ms", started.elapsed().as_millis());
    eprintln!("  API         {url}");
    eprintln!("  web view    {}/ui/", url.trim_end_matches('/'));
    eprintln!("  store       {engine}");
    eprintln!("  data dir    {}", data_dir.display());
    eprintln!(
        "  node        {node_name} ({}, runtime {:?})",
        args.node_ip, args.runtime
    );
    eprintln!(
        "  services    {}   pods {}",
        args.service_cidr, args.pod_cidr
    );
    eprintln!("  dns         {}", args.cluster_dns);
    eprintln!("  proxy       {}", proxy_summary(&proxy));
    if !args.api_only {
        eprintln!("  controllers {leading}");
    }
    eprintln!("  kubeconfig  {}", kubeconfig.display());
    eprintln!("export KUBECONFIG={}", kubeconfig.display());
    eprintln!(
        "join another machine with:\n  ordo agent --server {url} --join-token {join_token} --ca-cert-hash {ca_hash}"
    );
    // Biased: at SIGTERM the node agent (which sees the signal too) may finish first; that is
    // the shutdown, not a failure.
    let r = tokio::select! {
        biased;
        _ = shutdown_signal() => {
            eprintln!("ordo server: shutting down");
            // The controllers and the scheduler stop and give their leases up, so that another
            // server takes over at once.
            let _ = stop_elections.send(true);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                while elections.join_next().await.is_some() {}
            })
            .await;
            if args.stop_pods_on_exit && !args.api_only {
                // The node agent saw the signal too; it returns once its pods are stopped.
                eprintln!("ordo server: stopping this node's pods");
                let _ = tokio::time::timeout(std::time::Duration::from_secs(60), background.join_next()).await;
            }
            Ok(())
        }
        r = serving => r.map_err(anyhow::Error::from).and_then(|r| r),
        Some(r) = elections.join_next() => {
            match r {
                Ok(Ok(())) => Err(anyhow::anyhow!("leader election stopped")),
                Ok(Err(e)) => Err(anyhow::Error::from(e).context("leader election")),
                Err(e) => Err(anyhow::anyhow!("leader election panicked: {e}")),
            }
        }
        Some(r) = background.join_next() => {
            match r {
                Ok(Ok(())) => Err(anyhow::anyhow!("a controller or the node agent stopped")),
                Ok(Err(e)) => Err(e.context("a controller or the node agent failed")),
                Err(e) => Err(anyhow::anyhow!("a controller or the node agent panicked: {e}")),
            }
        }
    };
    background.abort_all();
    elections.abort_all();
    remove_proxy(&proxy).await;
    r
}

/// The cluster DNS settings from the flags, or `None` with `--cluster-dns none`.
fn dns_config(args: &ServerArgs) -> Result<Option<ordo_dns::DnsConfig>> {
    if args.cluster_dns == "none" {
        return Ok(None);
    }
    let listen: SocketAddr = args.cluster_dns.parse().with_context(|| {
        format!(
            "--cluster-dns {:?}: expected ADDRESS:PORT or none",
            args.cluster_dns
        )
    })?;
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let upstreams = ordo_dns::parse_upstreams(&args.dns_upstream, &resolv, listen)?;
    Ok(Some(ordo_dns::DnsConfig {
        listen,
        upstreams,
        domain: "cluster.local".into(),
        service_cidr: args.service_cidr.clone(),
    }))
}

/// The cluster CA as the certificate controllers use it.
struct ClusterSigner(ordo_apiserver::pki::ClusterCa);

impl ordo_controllers::certificates::CertificateAuthority for ClusterSigner {
    fn subject(&self, csr_pem: &str) -> Result<ordo_controllers::certificates::Subject, String> {
        let r = ordo_apiserver::pki::parse_request(csr_pem).map_err(|e| format!("{e:#}"))?;
        Ok(ordo_controllers::certificates::Subject {
            common_name: r.common_name,
            organizations: r.organizations,
        })
    }

    fn sign(&self, csr_pem: &str, seconds: i64) -> Result<String, String> {
        self.0
            .sign_request(csr_pem, seconds)
            .map_err(|e| format!("{e:#}"))
    }
}
