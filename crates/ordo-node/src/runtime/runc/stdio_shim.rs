//! The stdio shim of a `stdin`/`tty` container: a process of its own (ordo's hidden
//! `stdio-shim` subcommand), started detached as the log shim is ([`super::detached`]), that
//! owns the container's end of its stdio (a terminal's master, or the stdin pipe's write end
//! and the output pipes' read ends), writes its output to the CRI log file, and serves attach
//! sessions on a unix socket `stdio.sock` in the container's directory
//! ([`crate::streaming::shim`]). It outlives ordo, so a shell on a terminal keeps its terminal,
//! a reader its stdin, across an ordo restart, and the restarted agent attaches to them
//! again. It exits when the container's output ends (the container exited), removing its
//! socket.
//!
//! The agent binds the socket before the shim starts and hands it over, so an attach right
//! after the container starts finds it. Without a shim binary (tests that embed the runtime)
//! the same server runs on tasks of the calling process, and stops with it.

use super::stdio::{ContainerIo, Streams};
use anyhow::Context;
use std::ffi::OsString;
use std::fs::File;
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

/// Starts serving the stdio `streams` of container `name` on `dir/stdio.sock`, and writing its
/// output to `log`: with `shim` (ordo's binary) a detached `stdio-shim` process whose own
/// errors go to `diag`, else (or when it cannot start) tasks of this process. Returns the
/// socket's path.
pub(super) fn start(
    shim: Option<&Path>,
    streams: Streams,
    log: &Path,
    dir: &Path,
    diag: &Path,
    stdin_once: bool,
    name: &str,
) -> anyhow::Result<PathBuf> {
    let socket = dir.join(SOCKET);
    let listener = bind(&socket)?;
    if let Some(exe) = shim {
        match spawn(
            exe, &streams, log, &socket, &listener, diag, stdin_once, name,
        ) {
            Ok(pid) => {
                tracing::debug!("stdio shim of {name}: pid {pid}");
                return Ok(socket);
            }
            Err(e) => tracing::warn!("{e:#}; the stdio of {name} is held by ordo (until it stops)"),
        }
    }
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

/// Runs `exe stdio-shim` on the streams and the listener.
#[allow(clippy::too_many_arguments)]
fn spawn(
    exe: &Path,
    streams: &Streams,
    log: &Path,
    socket: &Path,
    listener: &std::os::unix::net::UnixListener,
    diag: &Path,
    stdin_once: bool,
    name: &str,
) -> anyhow::Result<u32> {
    let mut args: Vec<OsString> = vec![
        SUBCOMMAND.into(),
        "--log".into(),
        log.into(),
        "--socket".into(),
        socket.into(),
        "--name".into(),
        name.into(),
    ];
    let mut keep = Vec::new();
    let mut fd = |flag: &str, f: RawFd| {
        args.push(flag.into());
        args.push(f.to_string().into());
        keep.push(f);
    };
    fd("--listen-fd", listener.as_raw_fd());
    let stdin = match streams {
        Streams::Tty { master, stdin } => {
            fd("--tty-fd", master.as_raw_fd());
            *stdin
        }
        Streams::Pipes {
            stdin,
            stdout,
            stderr,
        } => {
            fd("--stdout-fd", stdout.as_raw_fd());
            fd("--stderr-fd", stderr.as_raw_fd());
            if let Some(s) = stdin {
                fd("--stdin-fd", s.as_raw_fd());
            }
            stdin.is_some()
        }
    };
    if stdin {
        args.push("--stdin".into());
    }
    if stdin_once {
        args.push("--stdin-once".into());
    }
    super::detached::spawn(exe, &args, &keep, diag)
}

/// What the node agent passes the `stdio-shim` subcommand.
#[derive(Debug)]
pub struct ShimArgs {
    /// The container's log file (appended to).
    pub log: PathBuf,
    /// The socket `listen_fd` is bound to (removed at the end).
    pub socket: PathBuf,
    /// The container's name for diagnostics.
    pub name: String,
    /// The inherited listening socket.
    pub listen_fd: RawFd,
    /// The inherited terminal master (a `tty` container).
    pub tty_fd: Option<RawFd>,
    /// The inherited read ends of the output pipes (a container without a terminal).
    pub pipes: Option<(RawFd, RawFd)>,
    /// The inherited write end of the stdin pipe.
    pub stdin_fd: Option<RawFd>,
    /// Whether clients may write to the container's stdin.
    pub stdin: bool,
    /// Whether stdin closes when the first client that attached with it is done (pipes).
    pub stdin_once: bool,
}

/// The `stdio-shim` subcommand: serves the container's stdio until its output ends.
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
    let streams = match (a.tty_fd, a.pipes) {
        (Some(m), None) => Streams::Tty {
            master: take(m),
            stdin: a.stdin,
        },
        (None, Some((out, err))) => Streams::Pipes {
            stdin: a.stdin_fd.filter(|_| a.stdin).map(take),
            stdout: take(out),
            stderr: take(err),
        },
        _ => anyhow::bail!("either a terminal or output pipes"),
    };
    let listener = std::os::unix::net::UnixListener::from(take(a.listen_fd));
    // The directory as it is now: a later container's socket at the same path is not ours.
    let dir = split(&a.socket).and_then(|(d, _)| open_dir(d)).ok();
    let name: PathBuf = a.socket.file_name().map(Into::into).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (io, first) = ContainerIo::start(streams, Some(a.log), a.stdin_once, &a.name)?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::UnixListener::from_std(listener)?;
        crate::streaming::shim::serve(io, first, listener, dir, name).await;
        Ok::<(), anyhow::Error>(())
    })
}

#[cfg(test)]
#[path = "stdio_shim_tests.rs"]
mod tests;
