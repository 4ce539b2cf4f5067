//! Starting one of ordo's own helper processes (the log shim, the stdio shim) so that it
//! outlives ordo: ordo's binary run with a hidden subcommand, in a session of its own (signals
//! to ordo's process group do not reach it), in `/` (it holds no directory of ordo's busy), its
//! stderr appended to a diagnostics file, and inheriting exactly the descriptors it is given.

use anyhow::Context;
use std::ffi::OsString;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;

/// Runs `exe` (as `ordo`) with `args` in a new session, its stderr appended to `diag`, the
/// descriptors `keep` inherited (they are close-on-exec in ordo; only the helper keeps them).
/// The child is reaped on a thread when it exits (ordo is its parent until ordo exits).
/// Returns its pid.
pub(super) fn spawn(
    exe: &Path,
    args: &[OsString],
    keep: &[RawFd],
    diag: &Path,
) -> anyhow::Result<u32> {
    let diag = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(diag)
        .with_context(|| format!("opening {}", diag.display()))?;
    let keep = keep.to_vec();
    let mut cmd = std::process::Command::new(exe);
    cmd.arg0("ordo")
        .args(args)
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(diag);
    // SAFETY: between fork and exec only async-signal-safe calls (setsid, fcntl) on
    // descriptors the child inherited.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid()?;
            for &fd in &keep {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {} {:?}", exe.display(), args.first()))?;
    let pid = child.id();
    std::thread::Builder::new()
        .name(format!("helper-{pid}"))
        .spawn(move || {
            let _ = child.wait();
        })?;
    Ok(pid)
}
