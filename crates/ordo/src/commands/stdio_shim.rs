//! `ordo stdio-shim` (hidden): the per-container process that owns the stdio of a
//! `stdin`/`tty` container, writes its CRI log and serves attaches on a unix socket; the work
//! is in `ordo_node::runtime::runc::stdio_shim`.

use std::path::PathBuf;

/// The arguments the node agent starts the shim with.
#[derive(clap::Args)]
pub(crate) struct StdioShimArgs {
    /// The container's log file (appended to).
    #[arg(long)]
    log: PathBuf,
    /// The path of the listening socket (removed when the container's output ends).
    #[arg(long)]
    socket: PathBuf,
    /// The container's name in diagnostics.
    #[arg(long)]
    name: String,
    /// The inherited listening socket.
    #[arg(long)]
    listen_fd: i32,
    /// The inherited master of the container's terminal.
    #[arg(long, conflicts_with_all = ["stdout_fd", "stderr_fd", "stdin_fd"])]
    tty_fd: Option<i32>,
    /// The inherited read end of the container's stdout pipe.
    #[arg(long, requires = "stderr_fd")]
    stdout_fd: Option<i32>,
    /// The inherited read end of the container's stderr pipe.
    #[arg(long, requires = "stdout_fd")]
    stderr_fd: Option<i32>,
    /// The inherited write end of the container's stdin pipe.
    #[arg(long)]
    stdin_fd: Option<i32>,
    /// Clients may write to the container's stdin.
    #[arg(long)]
    stdin: bool,
    /// Stdin closes when the first client that attached with it is done (pipes).
    #[arg(long)]
    stdin_once: bool,
}

/// Runs the shim until the container's output ends (warnings and errors only on stderr).
pub(crate) fn run(a: StdioShimArgs) -> anyhow::Result<()> {
    crate::args::init_tracing("warn");
    ordo_node::runtime::runc::stdio_shim::main(ordo_node::runtime::runc::stdio_shim::ShimArgs {
        log: a.log,
        socket: a.socket,
        name: a.name,
        listen_fd: a.listen_fd,
        tty_fd: a.tty_fd,
        pipes: a.stdout_fd.zip(a.stderr_fd),
        stdin_fd: a.stdin_fd,
        stdin: a.stdin,
        stdin_once: a.stdin_once,
    })
}
