//! `ordo`: the command line. Parsing and dispatch only: each command is a module of
//! [`commands`], and the work is done by the library crates.

use clap::{Parser, Subcommand};

mod args;
mod bootstrap;
mod commands;
mod memory;
mod node;

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

#[derive(Subcommand)]
enum Command {
    /// Run the API server, controllers, scheduler, a local node agent and cluster DNS.
    Server(Box<commands::server::ServerArgs>),
    /// Run a node agent alone, joining the cluster of the API server at `--server`.
    Agent(Box<commands::agent::AgentArgs>),
    /// Manage the node's images (import archives, pull from and push to registries, list).
    #[command(subcommand)]
    Image(commands::image::ImageCommand),
    /// Print a kubeconfig for a user authenticated by a new client certificate signed by the
    /// cluster CA (CN = user, O = groups).
    Kubeconfig(commands::kubeconfig::KubeconfigArgs),
    /// Internal: copies a container's stdout and stderr pipes to its log file in the CRI
    /// format (started by the node agent, one per ordinary container; outlives the agent).
    #[command(name = "log-shim", hide = true)]
    LogShim(commands::log_shim::LogShimArgs),
    /// Internal: holds the shared process namespace of a pod with `shareProcessNamespace`
    /// (started by the node agent, one per such pod; outlives the agent).
    #[command(name = "pause", hide = true)]
    Pause(commands::pause::PauseArgs),
    /// Internal: creates a `stdin`/`tty` container with runc and reaps it, owns its stdio,
    /// writes its log and serves attaches on a unix socket (started by the node agent, one per
    /// such container; outlives the agent).
    #[command(name = "stdio-shim", hide = true)]
    StdioShim(commands::stdio_shim::StdioShimArgs),
}

fn main() -> anyhow::Result<()> {
    memory::limit_arenas();
    match Cli::parse().command {
        Command::Server(args) => commands::server::run(*args),
        Command::Agent(args) => commands::agent::run(*args),
        Command::Image(cmd) => commands::image::run(cmd),
        Command::Kubeconfig(args) => commands::kubeconfig::run(args),
        Command::LogShim(args) => commands::log_shim::run(args),
        Command::Pause(args) => commands::pause::run(args),
        Command::StdioShim(args) => commands::stdio_shim::run(args),
    }
}
