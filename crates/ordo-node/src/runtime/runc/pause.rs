//! The process namespace of a pod with `shareProcessNamespace: true`, held as the kubelet's
//! pause container holds it: ordo's hidden `pause` subcommand, started in a session of its
//! own (it outlives ordo, like the log shim), makes a new PID namespace and forks its init,
//! which only reaps the processes orphaned in it (as `/pause` does). Every container of the
//! pod joins that namespace (`/proc/<init>/ns/pid`), so they see and signal each other's
//! processes; killing the init ends the namespace with everything left in it.

use anyhow::Context;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "pause";

/// The namespace file containers join, of the namespace whose init is `pid`.
pub fn namespace_of(pid: i32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/pid"))
}

/// Whether the namespace init `pid` of the pod whose directory is `pod_dir` still runs (its
/// command line names the pod's pid file: a reused pid is not taken for it).
pub fn running(pid: i32, pod_dir: &Path) -> bool {
    let file = pid_file(pod_dir);
    super::process::alive(pid)
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                c.split(|b| *b == 0)
                    .any(|a| a == file.as_os_str().as_encoded_bytes())
            })
            .unwrap_or(false)
}

fn pid_file(pod_dir: &Path) -> PathBuf {
    pod_dir.join("pause.pid")
}

/// What `ordo pause --pid-file FILE` runs: a new PID namespace whose init's pid (as this
/// process sees it) is written to `pid_file`; returns when the init is gone.
pub fn main(pid_file: &Path) -> anyhow::Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID).context("unshare(CLONE_NEWPID)")?;
    // SAFETY: this process has one thread (the subcommand runs before any runtime starts).
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => init(),
        ForkResult::Parent { child } => {
            let tmp = pid_file.with_extension("tmp");
            std::fs::write(&tmp, child.as_raw().to_string())?;
            std::fs::rename(&tmp, pid_file)?;
            loop {
                match waitpid(child, None) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    Ok(WaitStatus::StillAlive) => continue,
                    _ => return Ok(()),
                }
            }
        }
    }
}

/// PID 1 of the namespace: reaps orphans for ever (only SIGKILL from outside ends it).
fn init() -> ! {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    let _ = set.thread_block();
    loop {
        let _ = set.wait();
        while let Ok(s) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            if s == WaitStatus::StillAlive {
                break;
            }
        }
    }
}

/// Starts `exe pause` for the pod whose directory is `pod_dir` and returns its namespace
/// init's pid (the parent process is reaped on a thread while ordo runs).
pub fn start(exe: &Path, pod_dir: &Path) -> anyhow::Result<i32> {
    let pid_file = pid_file(pod_dir);
    let _ = std::fs::remove_file(&pid_file);
    let mut cmd = std::process::Command::new(exe);
    cmd.arg0("ordo")
        .arg(SUBCOMMAND)
        .arg("--pid-file")
        .arg(&pid_file)
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| nix::unistd::setsid().map(drop).map_err(Into::into));
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {} {SUBCOMMAND}", exe.display()))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            break pid;
        }
        if let Ok(Some(st)) = child.try_wait() {
            anyhow::bail!("the process namespace holder exited at once ({st})");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the process namespace holder did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    std::thread::Builder::new()
        .name(format!("pause-{pid}"))
        .spawn(move || {
            let _ = child.wait();
        })?;
    Ok(pid)
}

/// Ends the namespace of init `pid` of the pod in `pod_dir` (and every process left in it).
pub fn stop(pid: i32, pod_dir: &Path) {
    if running(pid, pod_dir) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}
