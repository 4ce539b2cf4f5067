//! The log shim of an ordinary container: a process of its own (ordo's hidden `log-shim`
//! subcommand) that reads the container's stdout and stderr pipes and writes them to its log
//! file in the CRI format ([`crate::crilog`]). It runs in its own session, so signals to
//! ordo's process group do not reach it, and it outlives ordo: a container adopted after an
//! ordo restart keeps logging. It holds only the pipes' read ends, so it never keeps a
//! container alive, and it exits when both pipes reach end of file (the container exited).
//!
//! Without a shim binary (tests that embed the runtime) the same copy runs on threads of the
//! calling process, and stops with it.

use crate::crilog::{CriWriter, Stream};
use anyhow::Context;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A log file shared by the copies of both streams.
type SharedLog = Arc<Mutex<CriWriter<File>>>;

/// The hidden subcommand's name, as the shim binary is run with it.
pub const SUBCOMMAND: &str = "log-shim";

/// Creates a container's stdout and stderr pipes and starts copying them to `log` (created
/// if need be, appended to): with `shim` (ordo's binary) a detached `log-shim` process whose
/// own errors go to `diag`, else (or when it cannot start) threads of this process. Returns
/// the pipes' write ends, for the container.
pub fn start(
    shim: Option<&Path>,
    log: &Path,
    diag: &Path,
    name: &str,
) -> anyhow::Result<(OwnedFd, OwnedFd)> {
    let file = open(log)?;
    let (out_r, out_w) = super::process::pipe()?;
    let (err_r, err_w) = super::process::pipe()?;
    let spawned = match shim {
        Some(exe) => spawn(exe, log, diag, &out_r, &err_r, name)
            .inspect_err(|e| {
                tracing::warn!("{e:#}; the log of {name} is written by ordo (until it stops)")
            })
            .is_ok(),
        None => false,
    };
    if !spawned {
        let shared: SharedLog = Arc::new(Mutex::new(CriWriter::new(file)));
        for (fd, stream) in [(out_r, Stream::Stdout), (err_r, Stream::Stderr)] {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("log-{name}"))
                .spawn(move || copy(&File::from(fd), stream, Some(&*shared), |_| {}))?;
        }
    }
    Ok((out_w, err_w))
}

/// Runs `exe log-shim` on the read ends, detached (see [`super::detached`]).
fn spawn(
    exe: &Path,
    log: &Path,
    diag: &Path,
    out_r: &OwnedFd,
    err_r: &OwnedFd,
    name: &str,
) -> anyhow::Result<()> {
    let (out_fd, err_fd) = (out_r.as_raw_fd(), err_r.as_raw_fd());
    let args: Vec<std::ffi::OsString> = vec![
        SUBCOMMAND.into(),
        "--file".into(),
        log.into(),
        "--stdout-fd".into(),
        out_fd.to_string().into(),
        "--stderr-fd".into(),
        err_fd.to_string().into(),
    ];
    let pid = super::detached::spawn(exe, &args, &[out_fd, err_fd], diag)?;
    tracing::debug!("log shim of {name}: pid {pid}");
    Ok(())
}

/// The `log-shim` subcommand: copies the pipes `stdout_fd` and `stderr_fd` to `file` until
/// both end.
pub fn main(file: &Path, stdout_fd: i32, stderr_fd: i32) -> anyhow::Result<()> {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // No terminal and no process group to share, but a stray hang-up or interrupt must not
    // cost a running container its log.
    for s in [Signal::SIGHUP, Signal::SIGINT] {
        // SAFETY: ignoring a signal installs no handler.
        unsafe { signal(s, SigHandler::SigIgn) }?;
    }
    let shared: SharedLog = Arc::new(Mutex::new(CriWriter::new(open(file)?)));
    let mut threads = Vec::new();
    for (fd, stream) in [(stdout_fd, Stream::Stdout), (stderr_fd, Stream::Stderr)] {
        // SAFETY: ordo passed these descriptors to this process for it alone.
        let f = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let shared = shared.clone();
        threads.push(std::thread::spawn(move || {
            copy(&f, stream, Some(&*shared), |_| {})
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

fn open(log: &Path) -> anyhow::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))
}

/// Reads `f` until end of file (or an error: a terminal's master reads EIO once the last
/// process holding its other end is gone): each chunk goes to the log as `stream` (if any),
/// then to `each`; at the end, the stream's unterminated last line goes to the log.
pub(super) fn copy(
    mut f: &File,
    stream: Stream,
    log: Option<&Mutex<CriWriter<File>>>,
    mut each: impl FnMut(&[u8]),
) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::debug!("reading a container's {}: {e}", stream.name());
                break;
            }
        };
        if let Some(Err(e)) = log.map(|l| l.lock().unwrap().write(stream, &buf[..n])) {
            tracing::warn!("writing a container log: {e}");
        }
        each(&buf[..n]);
    }
    if let Some(Err(e)) = log.map(|l| l.lock().unwrap().finish(stream)) {
        tracing::warn!("writing a container log: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_write_both_streams_and_end_with_the_writer() {
        copies_both_streams(None);
    }

    #[test]
    fn threads_take_over_when_the_shim_cannot_start() {
        copies_both_streams(Some(Path::new("/nonexistent/ordo")));
    }

    fn copies_both_streams(shim: Option<&Path>) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c.log");
        let (out, err) = start(shim, &log, &dir.path().join("diag"), "t").unwrap();
        let st = std::process::Command::new("sh")
            .args(["-c", "echo one; echo two >&2; printf three"])
            .stdout(out)
            .stderr(err)
            .status()
            .unwrap();
        assert!(st.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let text = loop {
            let text = std::fs::read_to_string(&log).unwrap();
            if text.lines().count() == 3 || std::time::Instant::now() > deadline {
                break text;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let recs: Vec<&str> = text.lines().map(|l| l.split_once(' ').unwrap().1).collect();
        assert!(recs.contains(&"stdout F one"), "{text}");
        assert!(recs.contains(&"stderr F two"), "{text}");
        assert!(recs.contains(&"stdout P three"), "{text}");
    }
}
