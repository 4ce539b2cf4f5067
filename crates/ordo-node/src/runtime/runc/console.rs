//! runc's console socket: for a process with a terminal, runc creates the pseudoterminal and
//! sends its master end over a unix socket (`--console-socket`) as an `SCM_RIGHTS` message.
//! ordo listens, receives the fd and owns the terminal from then on; [`set_size`] applies
//! window sizes to it.

use anyhow::Context;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A listening console socket, removed from the file system when dropped.
pub struct ConsoleSocket {
    listener: tokio::net::UnixListener,
    path: PathBuf,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

impl ConsoleSocket {
    /// Listens on a fresh socket in `dir` (unix socket paths are limited to 108 bytes, so a
    /// short directory such as the system's temporary one).
    pub fn bind_in(dir: &Path) -> anyhow::Result<ConsoleSocket> {
        let path = dir.join(format!(
            "ordo-console-{}-{}.sock",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path)
            .with_context(|| format!("listening on {}", path.display()))?;
        Ok(ConsoleSocket { listener, path })
    }

    /// Listens in the system's temporary directory.
    pub fn bind() -> anyhow::Result<ConsoleSocket> {
        Self::bind_in(&std::env::temp_dir())
    }

    /// The path to give runc as `--console-socket`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts one connection and receives the terminal's master fd from it.
    pub async fn receive(&self) -> anyhow::Result<OwnedFd> {
        let (stream, _) = self
            .listener
            .accept()
            .await
            .context("accepting on the console socket")?;
        loop {
            stream.readable().await?;
            match stream.try_io(tokio::io::Interest::READABLE, || {
                recv_fd(stream.as_raw_fd()).map_err(std::io::Error::from)
            }) {
                Ok(Some(fd)) => return Ok(fd),
                Ok(None) => anyhow::bail!("the console socket message carried no file descriptor"),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(anyhow::Error::new(e).context("receiving the console fd")),
            }
        }
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One `recvmsg` on `sock`: the first fd of an `SCM_RIGHTS` message (others are closed).
fn recv_fd(sock: std::os::fd::RawFd) -> nix::Result<Option<OwnedFd>> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)?;
    let mut out = None;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for fd in fds {
                // SAFETY: the kernel just installed `fd` in this process for us; nothing else owns it.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                if out.is_none() {
                    out = Some(owned);
                }
            }
        }
    }
    Ok(out)
}

/// Sets a terminal's window size (`TIOCSWINSZ`); the foreground process gets `SIGWINCH`.
pub fn set_size(fd: &impl AsRawFd, width: u16, height: u16) -> std::io::Result<()> {
    let ws = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, which outlives the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A terminal's window size (`TIOCGWINSZ`) as (width, height); for tests.
#[cfg(test)]
pub fn get_size(fd: &impl AsRawFd) -> std::io::Result<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` to the pointer, which outlives the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((ws.ws_col, ws.ws_row))
}

/// A new pseudoterminal as (master, slave); for tests.
#[cfg(test)]
pub fn open_pty() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (mut m, mut s) = (0, 0);
    // SAFETY: openpty writes two fds; the name, termios and winsize pointers may be null.
    let r = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    for fd in [m, s] {
        // Close-on-exec, so that children of parallel tests do not hold them.
        // SAFETY: F_SETFD on fds we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: openpty succeeded, so both fds are new and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) })
}

/// Runs `sh -c script` on a new pseudoterminal; returns its master and the child; for tests.
#[cfg(test)]
pub fn spawn_on_pty(script: &str) -> (OwnedFd, std::process::Child) {
    let (master, slave) = open_pty().unwrap();
    let s2 = slave.try_clone().unwrap();
    let s3 = slave.try_clone().unwrap();
    let child = std::process::Command::new("sh")
        .args(["-c", script])
        .stdin(slave)
        .stdout(s2)
        .stderr(s3)
        .spawn()
        .unwrap();
    (master, child)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// What runc does: connect and send an fd with SCM_RIGHTS.
    fn send_fd(path: &Path, fd: &OwnedFd) {
        use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
        let s = std::os::unix::net::UnixStream::connect(path).unwrap();
        let fds = [fd.as_raw_fd()];
        let iov = [std::io::IoSlice::new(b"/dev/ptmx")];
        sendmsg::<()>(
            s.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .unwrap();
    }

    #[tokio::test]
    async fn receives_the_fd_runc_sends() {
        let dir = tempfile::tempdir().unwrap();
        let sock = ConsoleSocket::bind_in(dir.path()).unwrap();
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let path = sock.path().to_path_buf();
        let sender = std::thread::spawn(move || send_fd(&path, &w));
        let got = sock.receive().await.unwrap();
        sender.join().unwrap();
        // The received fd is the pipe's write end: what goes in comes out of `r`.
        let mut f = std::fs::File::from(got);
        f.write_all(b"through the socket").unwrap();
        drop(f);
        let mut out = String::new();
        std::fs::File::from(r).read_to_string(&mut out).unwrap();
        assert_eq!(out, "through the socket");
        let p = sock.path().to_path_buf();
        drop(sock);
        assert!(!p.exists());
    }

    #[test]
    fn window_size_round_trips() {
        let (m, _s) = open_pty().unwrap();
        set_size(&m, 132, 43).unwrap();
        assert_eq!(get_size(&m).unwrap(), (132, 43));
    }
}
