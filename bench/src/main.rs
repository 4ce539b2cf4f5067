//! `ordo-bench`: reproducible benchmarks of ordo against its performance targets.
//! Each subcommand prints `RESULT <bench> key=value ...` lines; `bench/run.sh` runs them all.

mod api;
mod runc;
mod server;
mod store;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "ordo-bench",
    about = "Benchmarks of ordo (not tests: nothing here asserts a time)"
)]
struct Cli {
    /// The ordo binary (default: target/release/ordo of this workspace).
    #[arg(long, global = true)]
    ordo: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// `ordo server` spawn → `/readyz` 200, fresh (cold) and existing (warm) data dir.
    Startup {
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// RSS of a full server with no pods.
    IdleRss {
        #[arg(long, default_value_t = 10)]
        settle_secs: u64,
        /// `sim` or `runc`.
        #[arg(long, default_value = "sim")]
        runtime: String,
    },
    /// Single-pod GET and merge PATCH latency with concurrent HTTPS clients (API only).
    GetPatch {
        #[arg(long, value_delimiter = ',', default_value = "1000")]
        objects: Vec<usize>,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Requests per client and verb.
        #[arg(long, default_value_t = 500)]
        ops: usize,
    },
    /// LIST of all pods as a Table and as JSON at growing sizes (API only).
    List {
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,20000")]
        sizes: Vec<usize>,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// RSS of a full server on the simulated runtime at growing pod counts.
    RssPods {
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,20000")]
        sizes: Vec<usize>,
    },
    /// StatefulSet of simulated pods (zero start delay) to all Ready.
    Statefulset {
        #[arg(long, default_value_t = 1000)]
        replicas: usize,
        /// `Parallel` or `OrderedReady`.
        #[arg(long, default_value = "Parallel")]
        policy: String,
        /// Pods of another (Parallel) set already Running in the namespace before the
        /// measured set is created: the cost of a controller action must not grow with them.
        #[arg(long, default_value_t = 0)]
        beside: usize,
    },
    /// Watchers on pods while pods are created: lost events and delivery latency.
    Watch {
        #[arg(long, default_value_t = 100)]
        watchers: usize,
        #[arg(long, default_value_t = 1000)]
        changes: usize,
        #[arg(long, default_value_t = 8)]
        writers: usize,
    },
    /// The store workload on one engine (`sqlite` or `etcd`) at growing sizes.
    Store {
        #[arg(long, default_value = "sqlite")]
        engine: String,
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,20000")]
        sizes: Vec<usize>,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        #[arg(long, default_value_t = 300)]
        ops: usize,
        #[arg(long, default_value_t = 2048)]
        value_bytes: usize,
    },
    /// Real pods with runc vs a raw `runc run` + veth of the same bundle (root).
    Runc {
        #[arg(long, default_value_t = 20)]
        samples: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let ordo = server::ordo_bin(cli.ordo.as_deref());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Cmd::Startup { runs } => api::startup(&ordo, runs).await,
            Cmd::IdleRss {
                settle_secs,
                runtime,
            } => api::idle_rss(&ordo, Duration::from_secs(settle_secs), &runtime).await,
            Cmd::GetPatch {
                objects,
                clients,
                ops,
            } => {
                for n in objects {
                    api::get_patch(&ordo, n, clients, ops).await?;
                }
                Ok(())
            }
            Cmd::List { sizes, runs } => api::list(&ordo, &sizes, runs).await,
            Cmd::RssPods { sizes } => api::rss_pods(&ordo, &sizes).await,
            Cmd::Statefulset {
                replicas,
                policy,
                beside,
            } => api::statefulset(&ordo, replicas, &policy, beside).await,
            Cmd::Watch {
                watchers,
                changes,
                writers,
            } => api::watch_fanout(&ordo, watchers, changes, writers).await,
            Cmd::Store {
                engine,
                sizes,
                clients,
                ops,
                value_bytes,
            } => store::run(&engine, &sizes, clients, ops, value_bytes).await,
            Cmd::Runc { samples } => runc::run(&ordo, samples).await,
        }
    })
}
