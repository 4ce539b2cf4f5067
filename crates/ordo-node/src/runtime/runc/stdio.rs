//! The stdio of a process held open for attached clients: a container with `stdin: true` or
//! `tty: true` (held by its stdio shim, [`super::stdio_shim`], which serves it on a socket),
//! or an `exec -t` session (held by ordo). Output (pipes or a pseudoterminal's master) is read
//! by one thread per stream, appended to the container's log file (CRI records,
//! [`crate::crilog`]; a terminal's output is all `stdout`) and broadcast to attached clients;
//! client stdin goes through a writer thread, so a container that does not read never blocks
//! its holder.
//!
//! Ordinary containers do not come here: their output goes to a log shim
//! ([`super::log_shim`]).

use crate::crilog::{CriWriter, Stream};
use bytes::Bytes;
use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::broadcast;

/// Output chunks kept for a slow attached client before it misses some.
const BACKLOG: usize = 1024;

/// Stdout, as the streaming channel numbers it.
pub const STDOUT: u8 = 1;
/// Stderr, as the streaming channel numbers it.
pub const STDERR: u8 = 2;

/// One chunk of output: (channel, bytes).
pub type Chunk = (u8, Bytes);

/// The file descriptors of a process whose stdio ordo holds.
pub enum Streams {
    /// A pseudoterminal's master: output, and input if `stdin`.
    Tty { master: OwnedFd, stdin: bool },
    /// Pipes: the write end of stdin (None: no stdin), the read ends of stdout and stderr.
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
}

/// A process's stdio as attached clients see it.
pub struct ContainerIo {
    tty: Option<Arc<File>>,
    stdin: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
    out: Mutex<Option<broadcast::Sender<Chunk>>>,
    /// Close stdin when the first client that attached with stdin is done with it (pipes
    /// only: a terminal stays open, as with containerd).
    stdin_once: bool,
    stdin_claimed: AtomicBool,
}

impl ContainerIo {
    /// Starts copying `streams`: output to `log` (if any) and to subscribers. Returns a first
    /// subscriber that sees every byte (for exec; a container's caller may drop it).
    pub fn start(
        streams: Streams,
        log: Option<PathBuf>,
        stdin_once: bool,
        name: &str,
    ) -> std::io::Result<(Arc<ContainerIo>, broadcast::Receiver<Chunk>)> {
        let (tx, rx) = broadcast::channel(BACKLOG);
        let log = match log {
            Some(p) => Some(Arc::new(Mutex::new(CriWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            )))),
            None => None,
        };
        let (tty, stdin_file, readers): (Option<Arc<File>>, Option<Arc<File>>, Vec<_>) =
            match streams {
                Streams::Tty { master, stdin } => {
                    let m = Arc::new(File::from(master));
                    let input = stdin.then(|| m.clone());
                    (Some(m.clone()), input, vec![(STDOUT, m)])
                }
                Streams::Pipes {
                    stdin,
                    stdout,
                    stderr,
                } => (
                    None,
                    stdin.map(|s| Arc::new(File::from(s))),
                    vec![
                        (STDOUT, Arc::new(File::from(stdout))),
                        (STDERR, Arc::new(File::from(stderr))),
                    ],
                ),
            };
        let stdin = stdin_file.map(|f| spawn_writer(f, name));
        let stdin_once = stdin_once && tty.is_none();
        let io = Arc::new(ContainerIo {
            tty,
            stdin: Mutex::new(stdin),
            out: Mutex::new(Some(tx.clone())),
            stdin_once,
            stdin_claimed: AtomicBool::new(false),
        });
        let left = Arc::new(AtomicUsize::new(readers.len()));
        for (channel, f) in readers {
            let (tx, log, left, io) = (tx.clone(), log.clone(), left.clone(), io.clone());
            std::thread::Builder::new()
                .name(format!("out-{name}"))
                .spawn(move || {
                    pump(&f, channel, &tx, log.as_deref());
                    drop(tx);
                    if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                        // The last stream ended: subscribers see the end once they drained.
                        io.out.lock().unwrap().take();
                    }
                })?;
        }
        Ok((io, rx))
    }

    /// Whether the process has a terminal.
    pub fn is_tty(&self) -> bool {
        self.tty.is_some()
    }

    /// Whether the process still has stdin open.
    pub fn has_stdin(&self) -> bool {
        self.stdin.lock().unwrap().is_some()
    }

    /// A receiver of the output from now on; None when the output has ended.
    pub fn subscribe(&self) -> Option<broadcast::Receiver<Chunk>> {
        self.out.lock().unwrap().as_ref().map(|t| t.subscribe())
    }

    /// Claims stdin for an attaching client. False when stdin is closed, or when it is
    /// `stdinOnce` and another client had it already (the kubelet's rule).
    pub fn claim_stdin(&self) -> bool {
        if !self.has_stdin() {
            return false;
        }
        !(self.stdin_once && self.stdin_claimed.swap(true, Ordering::AcqRel))
    }

    /// Queues bytes for the process's stdin (dropped when stdin is closed).
    pub fn write_stdin(&self, data: Vec<u8>) {
        if let Some(tx) = self.stdin.lock().unwrap().as_ref() {
            let _ = tx.send(data);
        }
    }

    /// A client that claimed stdin is done with it: `stdinOnce` closes the process's stdin.
    pub fn release_stdin(&self) {
        if self.stdin_once {
            self.close_stdin();
        }
    }

    /// Closes the process's stdin once what was queued is written.
    pub fn close_stdin(&self) {
        self.stdin.lock().unwrap().take();
    }

    /// Applies a window size to the terminal (no-op without one).
    pub fn resize(&self, width: u16, height: u16) {
        if let Some(t) = &self.tty {
            if let Err(e) = super::console::set_size(t.as_ref(), width, height) {
                tracing::debug!("resizing a terminal to {width}x{height}: {e}");
            }
        }
    }
}

/// Copies `f` to the log and the subscribers until end of file (a terminal's master reads
/// EIO once the last process holding its other end is gone).
fn pump(
    f: &File,
    channel: u8,
    tx: &broadcast::Sender<Chunk>,
    log: Option<&Mutex<CriWriter<File>>>,
) {
    let stream = if channel == STDERR {
        Stream::Stderr
    } else {
        Stream::Stdout
    };
    super::log_shim::copy(f, stream, log, |data| {
        // No subscriber is fine: the bytes are in the log.
        let _ = tx.send((channel, Bytes::copy_from_slice(data)));
    });
}

/// A thread writing what it is sent to `f`; it ends (dropping `f`) when every sender is gone.
fn spawn_writer(f: Arc<File>, name: &str) -> mpsc::Sender<Vec<u8>> {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let spawned = std::thread::Builder::new()
        .name(format!("in-{name}"))
        .spawn(move || {
            let mut w: &File = &f;
            while let Ok(data) = rx.recv() {
                if w.write_all(&data).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no stdin writer for {name}: {e}");
    }
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(mut rx: broadcast::Receiver<Chunk>) -> Vec<Chunk> {
        let mut out = Vec::new();
        while let Ok(c) = rx.recv().await {
            out.push(c);
        }
        out
    }

    #[tokio::test]
    async fn pipes_reach_log_and_subscribers_and_stdin_once_closes() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c.log");
        let (in_r, in_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        // A "container": cat from stdin to stdout, a line on stderr.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "echo start >&2; cat"])
            .stdin(in_r)
            .stdout(out_w)
            .stderr(err_w)
            .spawn()
            .unwrap();
        let (io, rx) = ContainerIo::start(
            Streams::Pipes {
                stdin: Some(in_w),
                stdout: out_r,
                stderr: err_r,
            },
            Some(log.clone()),
            true,
            "t",
        )
        .unwrap();
        assert!(!io.is_tty());
        assert!(io.claim_stdin());
        assert!(!io.claim_stdin(), "stdinOnce: one client only");
        io.write_stdin(b"hello\n".to_vec());
        io.release_stdin();
        assert!(!io.has_stdin());
        let got = collect(rx).await;
        child.wait().unwrap();
        let out: Vec<u8> = got
            .iter()
            .filter(|c| c.0 == STDOUT)
            .flat_map(|c| c.1.to_vec())
            .collect();
        assert_eq!(out, b"hello\n");
        assert!(got.iter().any(|c| c.0 == STDERR && &c.1[..] == b"start\n"));
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(
            logged.contains(" stderr F start\n") && logged.contains(" stdout F hello\n"),
            "{logged}"
        );
        assert!(io.subscribe().is_none(), "the output has ended");
    }

    #[tokio::test]
    async fn a_terminal_echoes_and_ends_when_its_process_exits() {
        let (master, mut child) =
            super::super::console::spawn_on_pty("read x; echo got-$x; exit 0");
        let (io, rx) = ContainerIo::start(
            Streams::Tty {
                master,
                stdin: true,
            },
            None,
            true,
            "t",
        )
        .unwrap();
        assert!(io.is_tty());
        io.resize(100, 30);
        io.write_stdin(b"abc\n".to_vec());
        // A terminal keeps stdin open when the client is done (the shell may still read).
        io.release_stdin();
        assert!(io.has_stdin());
        let got = collect(rx).await;
        child.wait().unwrap();
        let text: String = got
            .iter()
            .map(|c| String::from_utf8_lossy(&c.1).into_owned())
            .collect();
        assert!(got.iter().all(|c| c.0 == STDOUT));
        // The terminal echoes the input and turns \n into \r\n.
        assert!(
            text.contains("abc\r\n") && text.contains("got-abc\r\n"),
            "{text:?}"
        );
    }
}
