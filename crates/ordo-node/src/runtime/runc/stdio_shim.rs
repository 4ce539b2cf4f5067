//! The stdio shim of a `stdin`/`tty` container: a process of its own (ordo's hidden
//! `stdio-shim` subcommand), started detached as the log shim is ([`super::detached`]). It
//! runs `runc create` itself as a child subreaper, so the container's init becomes its child:
//! it reaps it and records its exit code in the bundle's `exit` file ([`EXIT_FILE`]), which
//! ordo reads (ordo is not the container's parent, before or after a restart). It owns the
//! container's end of its stdio (a terminal's master, received on its own console socket, or
//! the stdin pipe's write end and the output pipes' read ends), writes its output to the CRI
//! log file, and serves attach sessions on a unix socket `stdio.sock` in the container's
//! directory ([`crate::streaming::shim`]). It outlives ordo, so a shell on a terminal keeps its
//! terminal, a reader its stdin, across an ordo restart, and the restarted agent attaches to
//! them again. It exits when the container's output ends (the container exited), removing its
//! socket.
//!
//! The agent binds the socket before the shim starts and hands it over, so an attach right
//! after the container starts finds it; the shim reports the creation (`ok PID`, or runc's
//! failure) on a pipe. Without a shim binary (tests that embed the runtime) ordo runs runc
//! and the same server runs on tasks of the calling process, and stops with it.

use super::process::CreateIo;
use super::stdio::{ContainerIo, Streams};
use anyhow::Context;
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "stdio-shim";

/// The socket's name in the container's directory.
pub const SOCKET: &str = "stdio.sock";

/// Unix socket paths are limited to 108 bytes: longer ones are reached through the
/// directory's descriptor (`/proc/self/fd/N/name`).
const SHORT_PATH: usize = 100;

/// A path to `path` short enough for a unix socket address, and the directory descriptor
/// it goes through (to keep open until the bind or connect is done).
pub fn reachable(path: &Path) -> std::io::Result<(Option<File>, PathBuf)> {
    if path.as_os_str().len() < SHORT_PATH {
        return Ok((None, path.to_path_buf()));
    }
    let (dir, name) = split(path)?;
    let d = open_dir(dir)?;
    let short = PathBuf::from(format!("/proc/self/fd/{}", d.as_raw_fd())).join(name);
    Ok((Some(d), short))
}

fn split(path: &Path) -> std::io::Result<(&Path, &std::ffi::OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => Ok((d, n)),
        _ => Err(std::io::Error::other(format!(
            "{} is not a socket path",
            path.display()
        ))),
    }
}

/// A directory opened only to name it (`O_PATH`), close-on-exec.
fn open_dir(dir: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
}

/// Binds the socket `path` (an old one there is replaced), close-on-exec.
fn bind(path: &Path) -> anyhow::Result<std::os::unix::net::UnixListener> {
    let _ = std::fs::remove_file(path);
    let (_dir, p) = reachable(path)?;
    std::os::unix::net::UnixListener::bind(&p)
        .with_context(|| format!("listening on {}", path.display()))
}

/// Serves the stdio `streams` of container `name` on `dir/stdio.sock` from tasks of this
/// process (no shim binary: tests that embed the runtime), writing its output to `log`.
/// Returns the socket's path.
pub(super) fn serve_here(
    streams: Streams,
    log: &Path,
    dir: &Path,
    stdin_once: bool,
    name: &str,
) -> anyhow::Result<PathBuf> {
    let socket = dir.join(SOCKET);
    let listener = bind(&socket)?;
    let (io, first) = ContainerIo::start(streams, Some(log.into()), stdin_once, name)?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::UnixListener::from_std(listener)?;
    let d = open_dir(dir).ok();
    tokio::spawn(crate::streaming::shim::serve(
        io,
        first,
        listener,
        d,
        SOCKET.into(),
    ));
    Ok(socket)
}

/// How the shim's `runc create` ended, as it reports it on its status pipe.
pub(super) enum Created {
    /// The container exists; its init's pid.
    Pid(i32),
    /// runc failed (its log says why).
    RuncFailed,
}

/// Starts the stdio shim of container `name` (bundle `bundle`), which runs `runc` (the
/// `runc ... create ...` command line without the container id) itself: so the container's
/// init becomes the shim's child (the shim is a child subreaper), and the shim, which outlives
/// ordo, records its exit code in `bundle/exit` ([`EXIT_FILE`]). The shim receives the
/// terminal (its own console socket) or gets the pipes, writes `log`, and serves attaches on
/// `bundle/stdio.sock`. Returns how the creation ended and the socket's path.
pub(super) async fn create(
    exe: &Path,
    runc: Vec<OsString>,
    io: CreateIo,
    bundle: &Path,
    log: &Path,
    name: &str,
) -> anyhow::Result<(Created, PathBuf)> {
    let socket = bundle.join(SOCKET);
    let listener = bind(&socket)?;
    let (status_r, status_w) = super::process::pipe()?;
    let mut args: Vec<OsString> = vec![
        SUBCOMMAND.into(),
        "--log".into(),
        log.into(),
        "--socket".into(),
        socket.clone().into(),
        "--name".into(),
        name.into(),
        "--pid-file".into(),
        bundle.join("pid").into(),
        "--exit-file".into(),
        bundle.join(EXIT_FILE).into(),
    ];
    let mut keep = Vec::new();
    let mut fd = |flag: &str, f: RawFd| {
        args.push(flag.into());
        args.push(f.to_string().into());
        keep.push(f);
    };
    fd("--listen-fd", listener.as_raw_fd());
    fd("--status-fd", status_w.as_raw_fd());
    // Ours, dropped once the shim has its copies.
    let mut held: Vec<OwnedFd> = Vec::new();
    match io {
        CreateIo::Tty { stdin } => {
            args.push("--tty".into());
            if stdin {
                args.push("--stdin".into());
            }
        }
        CreateIo::Pipes { stdin_once } => {
            let (in_r, in_w) = super::process::pipe()?;
            let (out_r, out_w) = super::process::pipe()?;
            let (err_r, err_w) = super::process::pipe()?;
            for (flag, f) in [
                ("--runc-stdin-fd", &in_r),
                ("--runc-stdout-fd", &out_w),
                ("--runc-stderr-fd", &err_w),
                ("--stdin-fd", &in_w),
                ("--stdout-fd", &out_r),
                ("--stderr-fd", &err_r),
            ] {
                fd(flag, f.as_raw_fd());
            }
            held.extend([in_r, in_w, out_r, out_w, err_r, err_w]);
            args.push("--stdin".into());
            if stdin_once {
                args.push("--stdin-once".into());
            }
        }
        CreateIo::Log => anyhow::bail!("container {name} has no stdin or terminal"),
    }
    args.push("--".into());
    args.extend(runc);
    let diag = bundle.join("stdio-shim.log");
    let pid = super::detached::spawn(exe, &args, &keep, &diag)?;
    tracing::debug!("stdio shim of {name}: pid {pid}");
    drop((held, listener, status_w));
    // The shim writes one line and closes the pipe (or dies, which closes it too).
    let report = tokio::task::spawn_blocking(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut File::from(status_r), &mut s);
        s
    })
    .await?;
    let created = match report.trim() {
        STATUS_RUNC_FAILED => Created::RuncFailed,
        r => match r.strip_prefix(STATUS_OK).map(str::trim).map(str::parse) {
            Some(Ok(pid)) => Created::Pid(pid),
            _ => {
                let diag = std::fs::read_to_string(&diag).unwrap_or_default();
                anyhow::bail!("the stdio shim of {name} failed: {} {}", r, diag.trim())
            }
        },
    };
    Ok((created, socket))
}

/// The shim's status line when the container was created: `ok PID`.
const STATUS_OK: &str = "ok";
/// The shim's status line when runc failed.
const STATUS_RUNC_FAILED: &str = "runc failed";

/// The file in a container's bundle where its stdio shim records its exit code.
pub const EXIT_FILE: &str = "exit";

/// The exit code a container's stdio shim recorded in `file`, waiting a while for it (the
/// shim writes it right after reaping the process, but a loaded machine may delay it).
pub fn recorded_exit(file: &Path) -> Option<i32> {
    for _ in 0..250 {
        if let Ok(s) = std::fs::read_to_string(file) {
            return s.trim().parse().ok();
        }
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
    let diag = std::fs::read_to_string(file.with_file_name("stdio-shim.log")).unwrap_or_default();
    tracing::warn!("no exit code recorded in {}: {diag}", file.display());
    None
}

/// What the node agent passes the `stdio-shim` subcommand.
#[derive(Debug)]
pub struct ShimArgs {
    /// The container's log file (appended to).
    pub log: PathBuf,
    /// The socket `listen_fd` is bound to (removed at the end).
    pub socket: PathBuf,
    /// The container's id (runc's), the last argument of `runc`.
    pub name: String,
    /// The inherited listening socket.
    pub listen_fd: RawFd,
    /// The inherited pipe on which the shim reports the creation.
    pub status_fd: RawFd,
    /// Where runc writes the container init's pid.
    pub pid_file: PathBuf,
    /// Where the shim records the container's exit code.
    pub exit_file: PathBuf,
    /// The container has a terminal (received from runc on the shim's console socket).
    pub tty: bool,
    /// The inherited container ends of the pipes (stdin's read end, stdout's and stderr's
    /// write ends), runc's stdio; without a terminal.
    pub runc_stdio: Option<(RawFd, RawFd, RawFd)>,
    /// The inherited read ends of the output pipes (without a terminal).
    pub pipes: Option<(RawFd, RawFd)>,
    /// The inherited write end of the stdin pipe.
    pub stdin_fd: Option<RawFd>,
    /// Whether clients may write to the container's stdin.
    pub stdin: bool,
    /// Whether stdin closes when the first client that attached with it is done (pipes).
    pub stdin_once: bool,
    /// The `runc ... create ...` command line, without the container id.
    pub runc: Vec<OsString>,
}

/// The `stdio-shim` subcommand: creates the container with runc, reports it, then serves the
/// container's stdio until its output ends.
pub fn main(a: ShimArgs) -> anyhow::Result<()> {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // No terminal and no process group to share, but a stray hang-up or interrupt must not
    // cost a running container its stdio.
    for s in [Signal::SIGHUP, Signal::SIGINT] {
        // SAFETY: ignoring a signal installs no handler.
        unsafe { signal(s, SigHandler::SigIgn) }?;
    }
    let take = |fd: RawFd| {
        // SAFETY: ordo passed these descriptors to this process for it alone.
        unsafe { OwnedFd::from_raw_fd(fd) }
    };
    let mut status = File::from(take(a.status_fd));
    let listener = std::os::unix::net::UnixListener::from(take(a.listen_fd));
    let runc_stdio = a.runc_stdio.map(|(i, o, e)| (take(i), take(o), take(e)));
    let pipes = a.pipes.map(|(o, e)| (take(o), take(e)));
    let stdin_fd = a.stdin_fd.map(take);
    // The directory as it is now: a later container's socket at the same path is not ours.
    let dir = split(&a.socket).and_then(|(d, _)| open_dir(d)).ok();
    let name: PathBuf = a.socket.file_name().map(Into::into).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The container's init, orphaned when runc exits, becomes this process's child.
    nix::sys::prctl::set_child_subreaper(true)?;
    let created = rt.block_on(run_create(&a, runc_stdio));
    let streams = match created {
        Ok(Some(master)) => Streams::Tty {
            master,
            stdin: a.stdin,
        },
        Ok(None) => match pipes {
            Some((stdout, stderr)) => Streams::Pipes {
                stdin: stdin_fd,
                stdout,
                stderr,
            },
            None => anyhow::bail!("no output pipes"),
        },
        Err(e) => {
            let line = match e.downcast_ref::<RuncFailed>() {
                Some(_) => STATUS_RUNC_FAILED.to_string(),
                None => format!("error: {e:#}"),
            };
            let _ = writeln!(status, "{line}");
            return Ok(());
        }
    };
    let pid = std::fs::read_to_string(&a.pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    let Some(pid) = pid else {
        let _ = writeln!(status, "error: no pid in {}", a.pid_file.display());
        return Ok(());
    };
    let reaper = reap(pid, a.exit_file.clone());
    let _ = writeln!(status, "{STATUS_OK} {pid}");
    drop(status);
    rt.block_on(async move {
        let (io, first) = ContainerIo::start(streams, Some(a.log), a.stdin_once, &a.name)?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::UnixListener::from_std(listener)?;
        crate::streaming::shim::serve(io, first, listener, dir, name).await;
        Ok::<(), anyhow::Error>(())
    })?;
    // The output has ended; the exit is recorded once the container is reaped.
    if let Some(r) = reaper {
        let _ = r.join();
    }
    Ok(())
}

/// runc exited unsuccessfully (its log says why).
#[derive(Debug)]
struct RuncFailed;

impl std::fmt::Display for RuncFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("runc failed")
    }
}

impl std::error::Error for RuncFailed {}

/// Runs `runc create` (with a console socket of this process for a terminal, whose master it
/// returns; else on the container's pipes).
async fn run_create(
    a: &ShimArgs,
    stdio: Option<(OwnedFd, OwnedFd, OwnedFd)>,
) -> anyhow::Result<Option<OwnedFd>> {
    let (bin, rest) = a
        .runc
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("no runc command line"))?;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(rest);
    let console = match a.tty {
        true => {
            let sock = super::console::ConsoleSocket::bind()?;
            cmd.arg("--console-socket").arg(sock.path());
            Some(sock)
        }
        false => None,
    };
    cmd.arg(&a.name);
    match stdio {
        Some((i, o, e)) => cmd.stdin(i).stdout(o).stderr(e),
        // runc's own output: its errors are in its log.
        None => cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    };
    let mut child = cmd.spawn().context("running runc create")?;
    // The child has its copies of the pipes' container ends; ours must go.
    drop(cmd);
    let master = match console {
        Some(sock) => tokio::select! {
            m = sock.receive() => Some(m?),
            // runc ended without sending a terminal: it failed (reported below).
            _ = child.wait() => None,
        },
        None => None,
    };
    let st = child.wait().await.context("running runc create")?;
    if !st.success() {
        return Err(RuncFailed.into());
    }
    match (a.tty, master) {
        (true, None) => anyhow::bail!("runc sent no terminal"),
        (_, m) => Ok(m),
    }
}

/// Reaps this process's children on a thread until `pid` exits, and records its exit code
/// (128 + signal when killed) in `file`. The shim waits for the thread before it exits: the
/// container's output may end before its exit can be reaped.
fn reap(pid: i32, file: PathBuf) -> Option<std::thread::JoinHandle<()>> {
    use nix::sys::wait::{waitpid, WaitStatus};
    let spawned = std::thread::Builder::new()
        .name("reaper".into())
        .spawn(move || loop {
            let code = match waitpid(nix::unistd::Pid::from_raw(-1), None) {
                Ok(WaitStatus::Exited(p, c)) if p.as_raw() == pid => c,
                Ok(WaitStatus::Signaled(p, s, _)) if p.as_raw() == pid => 128 + s as i32,
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    tracing::warn!("reaper of {pid} ends: {e}");
                    return;
                }
            };
            let tmp = file.with_extension("tmp");
            if let Err(e) = std::fs::write(&tmp, format!("{code}\n"))
                .and_then(|()| std::fs::rename(&tmp, &file))
            {
                tracing::warn!("recording the exit code {code} in {}: {e}", file.display());
            }
            return;
        });
    spawned
        .inspect_err(|e| tracing::warn!("no reaper thread: {e}"))
        .ok()
}

#[cfg(test)]
#[path = "stdio_shim_tests.rs"]
mod tests;
