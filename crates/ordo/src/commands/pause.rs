//! `ordo pause` (hidden): holds the shared process namespace of a pod with
//! `shareProcessNamespace: true`; the work is in `ordo_node::runtime::runc::pause`.

use std::path::PathBuf;

/// The arguments the node agent starts the holder with.
#[derive(clap::Args)]
pub(crate) struct PauseArgs {
    /// Where the pid of the namespace's init is written.
    #[arg(long)]
    pid_file: PathBuf,
}

/// Runs until the namespace's init is killed.
pub(crate) fn run(args: PauseArgs) -> anyhow::Result<()> {
    ordo_node::runtime::runc::pause::main(&args.pid_file)
}
