//! `ordo`: the command line. Wiring only; the work is done by the library crates.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use ordo_apiserver::{pki::Pki, ApiServer, Config};
use ordo_store::Store;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

mod memory;

#[derive(Parser)]
#[command(
    name = "ordo",
    version,
    about = "Runs stateful services the way Kubernetes does; real kubectl talks to it unchanged."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum StoreKind {
    /// Embedded SQLite file in the data directory.
    Sqlite,
    /// An external etcd cluster (for several machines / HA).
    Etcd,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum RuntimeKind {
    /// Real containers with runc.
    Runc,
    /// Simulated pods (like kwok): no processes, for large-scale tests and benchmarks.
    Sim,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum ServiceProxyKind {
    /// ClusterIPs and NodePorts translated by an nftables table ordo keeps in sync.
    Nftables,
    /// No translation: the service range is routed `unreachable`.
    None,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server, controllers, scheduler, a local node agent and cluster DNS.
    Server(Box<ServerArgs>),
    /// Run a node agent alone, joining the cluster of the API server at `--server`.
    Agent(Box<AgentArgs>),
    /// Manage the node's images (import archives, pull from and push to registries, list).
    #[command(subcommand)]
    Image(ImageCommand),
    /// Internal: copies a container's stdout and stderr pipes to its log file in the CRI
    /// format (started by the node agent, one per ordinary container; outlives the agent).
    #[command(name = "log-shim", hide = true)]
    LogShim {
        /// The container's log file (appended to).
        #[arg(long)]
        file: PathBuf,
        /// The inherited read end of the container's stdout pipe.
        #[arg(long)]
        stdout_fd: i32,
        /// The inherited read end of the container's stderr pipe.
        #[arg(long)]
        stderr_fd: i32,
    },
}

#[derive(clap::Args)]
struct AgentArgs {
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
    /// Log filter (tracing EnvFilter syntax).
    #[arg(long, default_value = "info", env = "ORDO_LOG")]
    log: String,
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Import OCI image layout or `docker save` archives into the node's image store.
    Import {
        /// Archives (.tar or .tar.gz).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, default_value = "/var/lib/ordo", env = "ORDO_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Pull images from their registries (OCI distribution) into the node's image store.
    Pull {
        /// Image references (`127.0.0.1:5000/busybox:1.28`, `nginx:1.25.4`).
        #[arg(required = true)]
        references: Vec<String>,
        /// A registry (`HOST:PORT`) reached over plain HTTP; repeatable (loopback ones always are).
        #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
        insecure_registries: Vec<String>,
        #[arg(long, default_value = "/var/lib/ordo", env = "ORDO_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Push an image of the node's image store to a registry.
    Push {
        /// The image in the store (`busybox:1.28`).
        image: String,
        /// Where to push it (`127.0.0.1:5000/busybox:1.28`).
        target: String,
        /// A registry (`HOST:PORT`) reached over plain HTTP; repeatable (loopback ones always are).
        #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
        insecure_registries: Vec<String>,
        #[arg(long, default_value = "/var/lib/ordo", env = "ORDO_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// List the images in the node's image store.
    Ls {
        #[arg(long, default_value = "/var/lib/ordo", env = "ORDO_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Where ordo keeps its state: store, certificates, token, kubeconfig, volumes, images.
    #[arg(long, default_value = "/var/lib/ordo", env = "ORDO_DATA_DIR")]
    data_dir: PathBuf,
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
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `ordo_apiserver=debug`.
    #[arg(long, default_value = "info", env = "ORDO_LOG")]
    log: String,
}

fn main() -> Result<()> {
    memory::limit_arenas();
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
                .with_writer(std::io::stderr)
                .init();
            memory::release_freed_memory();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(server(*args))
        }
        Command::Agent(args) => {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
                .with_writer(std::io::stderr)
                .init();
            memory::release_freed_memory();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(agent(*args))
        }
        Command::Image(cmd) => image(cmd),
        Command::LogShim {
            file,
            stdout_fd,
            stderr_fd,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
                .with_writer(std::io::stderr)
                .init();
            ordo_node::runtime::runc::log_shim::main(&file, stdout_fd, stderr_fd)
        }
    }
}

fn image(cmd: ImageCommand) -> Result<()> {
    match cmd {
        ImageCommand::Import { files, data_dir } => {
            let store = ordo_node::image::ImageStore::open(&data_dir)?;
            for f in files {
                for r in store.import(&f)? {
                    println!("imported {r}");
                }
            }
        }
        ImageCommand::Pull {
            references,
            insecure_registries,
            data_dir,
        } => {
            let (store, registries, rt) = registry_session(&data_dir, insecure_registries)?;
            for r in references {
                let p = rt.block_on(store.pull(&r, &registries))?;
                println!("pulled {} {} ({} bytes)", p.reference, p.digest, p.size);
            }
        }
        ImageCommand::Push {
            image,
            target,
            insecure_registries,
            data_dir,
        } => {
            let (store, registries, rt) = registry_session(&data_dir, insecure_registries)?;
            let digest = rt.block_on(store.push(&image, &target, &registries))?;
            println!("pushed {target} {digest}");
        }
        ImageCommand::Ls { data_dir } => {
            let store = ordo_node::image::ImageStore::open(&data_dir)?;
            println!("{:<50} {:<20} {:>10}", "IMAGE", "DIGEST", "SIZE");
            for i in store.list()? {
                let short = i.digest.strip_prefix("sha256:").unwrap_or(&i.digest);
                println!(
                    "{:<50} {:<20} {:>10}",
                    ordo_node::image::reference::familiar(&i.reference),
                    &short[..12.min(short.len())],
                    format!("{:.1}MB", i.size as f64 / 1e6)
                );
            }
        }
    }
    Ok(())
}

/// What `ordo image pull|push` need: logs on stderr, the store, the registry settings and a
/// tokio runtime.
fn registry_session(
    data_dir: &std::path::Path,
    insecure: Vec<String>,
) -> Result<(
    Arc<ordo_node::image::ImageStore>,
    ordo_node::image::registry::RegistryConfig,
    tokio::runtime::Runtime,
)> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("ORDO_LOG").unwrap_or_else(|_| "info".into()),
        ))
        .with_writer(std::io::stderr)
        .init();
    let store = Arc::new(ordo_node::image::ImageStore::open(data_dir)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok((
        store,
        ordo_node::image::registry::RegistryConfig { insecure },
        rt,
    ))
}

async fn open_store(args: &ServerArgs) -> Result<Arc<dyn Store>> {
    Ok(match args.store {
        StoreKind::Sqlite => {
            let path = args.data_dir.join("ordo.db");
            Arc::new(
                ordo_store::sqlite::SqliteStore::open(&path)
                    .with_context(|| format!("opening {}", path.display()))?,
            )
        }
        StoreKind::Etcd => Arc::new(
            ordo_store::etcd::EtcdStore::connect(&args.etcd_endpoints, &args.etcd_prefix)
                .await
                .with_context(|| {
                    format!("connecting to etcd at {}", args.etcd_endpoints.join(","))
                })?,
        ),
    })
}

async fn server(args: ServerArgs) -> Result<()> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let store = open_store(&args).await?;
    let pki = Pki::load_or_create(&args.data_dir, &[args.bind.ip()])?;
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
    let kubeconfig = args.data_dir.join("kubeconfig.yaml");
    std::fs::write(&kubeconfig, pki.kubeconfig(&url))
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    let api = ApiServer::new(Config {
        store,
        token: pki.token.clone(),
        service_cidr: args.service_cidr.clone(),
        advertise: bound,
    })
    .await?;
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
    let proxy = if !args.api_only
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
    if !args.api_only {
        let kubeconfig_doc = kube::config::Kubeconfig::read_from(&kubeconfig)?;
        let client_cfg = kube::Config::from_custom_kubeconfig(
            kubeconfig_doc,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?;
        let client = kube::Client::try_from(client_cfg)?;
        let volumes_dir = args
            .volumes_dir
            .clone()
            .unwrap_or_else(|| args.data_dir.join("volumes"));
        background.spawn(ordo_controllers::run(client.clone(), volumes_dir));
        let agent = ordo_node::AgentConfig {
            node_name: node_name.clone(),
            runtime: match args.runtime {
                RuntimeKind::Runc => ordo_node::RuntimeKind::Runc,
                RuntimeKind::Sim => ordo_node::RuntimeKind::Sim,
            },
            data_dir: args.data_dir.clone(),
            sim_start_delay: std::time::Duration::from_millis(args.sim_start_delay_ms),
            bridge: args.bridge.clone(),
            token: pki.token.clone(),
            stop_pods_on_exit: args.stop_pods_on_exit,
            node_ip: args.node_ip,
            insecure_registries: args.insecure_registries.clone(),
            cluster_dns: cluster_dns_ip.unwrap_or(std::net::Ipv4Addr::new(10, 96, 0, 10)),
            service_proxy: proxy.is_some(),
        };
        if let Some(dns) = dns_config(&args)? {
            background.spawn(ordo_dns::run(client.clone(), dns));
        }
        if let Some((cfg, _)) = &proxy {
            background.spawn(ordo_proxy::run(client.clone(), cfg.clone()));
        }
        background.spawn(ordo_node::run(client, agent));
    }
    let store_desc = match args.store {
        StoreKind::Sqlite => format!("sqlite {}", args.data_dir.join("ordo.db").display()),
        StoreKind::Etcd => format!(
            "etcd {} (prefix {})",
            args.etcd_endpoints.join(","),
            args.etcd_prefix
        ),
    };
    eprintln!("ordo server ready in {} ms", started.elapsed().as_millis());
    eprintln!("  API         {url}");
    eprintln!("  store       {store_desc}");
    eprintln!("  data dir    {}", args.data_dir.display());
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
    eprintln!("  kubeconfig  {}", kubeconfig.display());
    eprintln!("export KUBECONFIG={}", kubeconfig.display());
    // Biased: at SIGTERM the node agent (which sees the signal too) may finish first; that is
    // the shutdown, not a failure.
    let r = tokio::select! {
        biased;
        _ = shutdown_signal() => {
            eprintln!("ordo server: shutting down");
            if args.stop_pods_on_exit && !args.api_only {
                // The node agent saw the signal too; it returns once its pods are stopped.
                eprintln!("ordo server: stopping this node's pods");
                let _ = tokio::time::timeout(std::time::Duration::from_secs(60), background.join_next()).await;
            }
            Ok(())
        }
        r = serving => r.map_err(anyhow::Error::from).and_then(|r| r),
        Some(r) = background.join_next() => {
            match r {
                Ok(Ok(())) => Err(anyhow::anyhow!("a controller or the node agent stopped")),
                Ok(Err(e)) => Err(e.context("a controller or the node agent failed")),
                Err(e) => Err(anyhow::anyhow!("a controller or the node agent panicked: {e}")),
            }
        }
    };
    background.abort_all();
    remove_proxy(&proxy).await;
    r
}

/// The service proxy's settings, after checking that `nft` runs; with its version.
async fn proxy_config(
    bridge: &str,
    service_cidr: &str,
    apiserver_loopback: Option<std::net::SocketAddrV4>,
    cluster_dns: Option<std::net::Ipv4Addr>,
) -> Result<(ordo_proxy::ProxyConfig, String)> {
    let cfg = ordo_proxy::ProxyConfig::new(
        bridge,
        service_cidr,
        apiserver_loopback,
        cluster_dns.into_iter().collect(),
    )?;
    let version = ordo_proxy::check_nft(&cfg).await?;
    Ok((cfg, version))
}

fn proxy_summary(proxy: &Option<(ordo_proxy::ProxyConfig, String)>) -> String {
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
async fn remove_proxy(proxy: &Option<(ordo_proxy::ProxyConfig, String)>) {
    if let Some((cfg, _)) = proxy {
        if let Err(e) = ordo_proxy::clean_up(cfg).await {
            eprintln!("ordo: {e:#}");
        }
    }
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

/// `ordo agent`: the node agent alone, a client of a remote API server.
async fn agent(args: AgentArgs) -> Result<()> {
    use base64::Engine;
    let token = std::fs::read_to_string(&args.token_file)
        .with_context(|| format!("reading the token from {}", args.token_file.display()))?;
    let ca = std::fs::read(&args.ca_file)
        .with_context(|| format!("reading the CA certificate from {}", args.ca_file.display()))?;
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ordo\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: agent\n  user:\n    token: {}\ncontexts:\n- name: ordo\n  context: {{cluster: ordo, user: agent}}\ncurrent-context: ordo\n",
        args.server,
        base64::engine::general_purpose::STANDARD.encode(&ca),
        token.trim()
    );
    let doc = kube::config::Kubeconfig::from_yaml(&kubeconfig)?;
    let cfg =
        kube::Config::from_custom_kubeconfig(doc, &kube::config::KubeConfigOptions::default())
            .await?;
    let client = kube::Client::try_from(cfg)?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let node_name = args.node_name.clone().unwrap_or_else(host_name);
    let node_ip = match args.node_ip {
        Some(ip) => ip,
        None => route_source(&args.server).with_context(|| {
            format!(
                "finding the local address that reaches {}; give --node-ip",
                args.server
            )
        })?,
    };
    let proxy =
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
    let agent = ordo_node::AgentConfig {
        node_name,
        runtime: match args.runtime {
            RuntimeKind::Runc => ordo_node::RuntimeKind::Runc,
            RuntimeKind::Sim => ordo_node::RuntimeKind::Sim,
        },
        data_dir: args.data_dir.clone(),
        sim_start_delay: std::time::Duration::from_millis(args.sim_start_delay_ms),
        bridge: args.bridge.clone(),
        token: token.trim().to_string(),
        cluster_dns: args.cluster_dns,
        stop_pods_on_exit: false,
        node_ip,
        insecure_registries: args.insecure_registries.clone(),
        service_proxy: proxy.is_some(),
    };
    let proxying = async {
        match &proxy {
            Some((cfg, _)) => ordo_proxy::run(client.clone(), cfg.clone()).await,
            None => std::future::pending().await,
        }
    };
    let r = tokio::select! {
        r = ordo_node::run(client.clone(), agent) => r,
        r = proxying => r.context("the service proxy failed"),
        _ = shutdown_signal() => { eprintln!("ordo agent: shutting down"); Ok(()) }
    };
    remove_proxy(&proxy).await;
    r
}

/// The local address the kernel would use to reach the host of `url` (a UDP "connect" sends
/// nothing; it only picks the route).
fn route_source(url: &str) -> anyhow::Result<std::net::IpAddr> {
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

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ordo-node".into())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
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
