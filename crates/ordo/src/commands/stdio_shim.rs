//! `ordo stdio-shim` (hidden): the per-container process that creates a `stdin`/`tty`
//! container with runc (so that it is the container's reaper and records its exit code), owns
//! its stdio, writes its CRI log and serves attaches on a unix socket; the work is in
//! `ordo_node::runtime::runc::stdio_shim`.

use std::ffi::OsString;
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
    /// The container's id, the last argument of `runc create`.
    #[arg(long)]
    name: String,
    /// The inherited listening socket.
    #[arg(long)]
    listen_fd: i32,
    /// The inherited pipe on which the creation is reported.
    #[arg(long)]
    status_fd: i32,
    /// Where runc writes the container init's pid.
    #[arg(long)]
    pid_file: PathBuf,
    /// Where the container's exit code is recorded.
    #[arg(long)]
    exit_file: PathBuf,
    /// The container has a terminal (runc sends its master to the shim's console socket).
    #[arg(long, conflicts_with_all = ["stdout_fd", "stderr_fd", "stdin_fd"])]
    tty: bool,
    /// The inherited read end of the container's stdin pipe (runc's stdin).
    #[arg(long, requires_all = ["runc_stdout_fd", "runc_stderr_fd"])]
    runc_stdin_fd: Option<i32>,
    /// The inherited write end of the container's stdout pipe (runc's stdout).
    #[arg(long)]
    runc_stdout_fd: Option<i32>,
    /// The inherited write end of the container's stderr pipe (runc's stderr).
    #[arg(long)]
    runc_stderr_fd: Option<i32>,
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
    /// The `runc ... create ...` command line, without the container id.
    #[arg(last = true, required = true)]
    runc: Vec<OsString>,
}

/// Runs the shim until the container's output ends (warnings and errors only on stderr).
pub(crate) fn run(a: StdioShimArgs) -> anyhow::Result<()> {
    crate::args::init_tracing("warn");
    let runc_stdio = match (a.runc_stdin_fd, a.runc_stdout_fd, a.runc_stderr_fd) {
        (Some(i), Some(o), Some(e)) => Some((i, o, e)),
        _ => None,
    };
    ordo_node::runtime::runc::stdio_shim::main(ordo_node::runtime::runc::stdio_shim::ShimArgs {
        log: a.log,
        socket: a.socket,
        name: a.name,
        listen_fd: a.listen_fd,
        status_fd: a.status_fd,
        pid_file: a.pid_file,
        exit_file: a.exit_file,
        tty: a.tty,
        runc_stdio,
        pipes: a.stdout_fd.zip(a.stderr_fd),
        stdin_fd: a.stdin_fd,
        stdin: a.stdin,
        stdin_once: a.stdin_once,
        runc: a.runc,
    })
}
