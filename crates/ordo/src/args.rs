//! Flags several commands share, defined once and `#[command(flatten)]`ed into each, and the
//! set-up done for them: logging and the async runtime.

use clap::ValueEnum;
use std::path::PathBuf;

/// `--data-dir` of `ordo server` and the `ordo image` commands (the agent's own differs: it
/// has another default and no environment variable).
#[derive(clap::Args)]
pub(crate) struct DataDirArgs {
    /// Where ordo keeps its state: store, certificates, token, kubeconfig, volumes, images.
    #[arg(long, default_value = "/var/lib/ordo", env = "ORDO_DATA_DIR")]
    pub(crate) data_dir: PathBuf,
}

/// `--log` of the long-running commands.
#[derive(clap::Args)]
pub(crate) struct LogArgs {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `ordo_apiserver=debug`.
    #[arg(long, default_value = "info", env = "ORDO_LOG")]
    pub(crate) log: String,
}

/// The container runtime of a node agent.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum RuntimeKind {
    /// Real containers with runc.
    Runc,
    /// Simulated pods (like kwok): no processes, for large-scale tests and benchmarks.
    Sim,
}

impl From<RuntimeKind> for ordo_node::RuntimeKind {
    fn from(kind: RuntimeKind) -> Self {
        match kind {
            RuntimeKind::Runc => ordo_node::RuntimeKind::Runc,
            RuntimeKind::Sim => ordo_node::RuntimeKind::Sim,
        }
    }
}

/// How a runc node translates Service addresses.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum ServiceProxyKind {
    /// ClusterIPs and NodePorts translated by an nftables table ordo keeps in sync.
    Nftables,
    /// No translation: the service range is routed `unreachable`.
    None,
}

/// Sends logs to stderr, filtered by `filter` (tracing EnvFilter syntax). Called once per
/// process, by the command that runs.
pub(crate) fn init_tracing(filter: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
}

/// The multi-threaded tokio runtime the async commands run on.
pub(crate) fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
