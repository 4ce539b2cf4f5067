//! `ordo log-shim` (hidden): the per-container process that copies a container's output
//! pipes to its CRI log file; the work is in `ordo_node::runtime::runc::log_shim`.

use std::path::PathBuf;

/// The arguments the node agent starts the shim with.
#[derive(clap::Args)]
pub(crate) struct LogShimArgs {
    /// The container's log file (appended to).
    #[arg(long)]
    file: PathBuf,
    /// The inherited read end of the container's stdout pipe.
    #[arg(long)]
    stdout_fd: i32,
    /// The inherited read end of the container's stderr pipe.
    #[arg(long)]
    stderr_fd: i32,
}

/// Runs the shim until both pipes close (warnings and errors only on stderr).
pub(crate) fn run(args: LogShimArgs) -> anyhow::Result<()> {
    crate::args::init_tracing("warn");
    ordo_node::runtime::runc::log_shim::main(&args.file, args.stdout_fd, args.stderr_fd)
}
