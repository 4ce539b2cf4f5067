//! Named network namespaces, compatible with `ip netns`: a namespace is kept alive by a bind
//! mount of `/proc/thread-self/ns/net` on `/run/netns/<name>`.

use anyhow::Context;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::path::{Path, PathBuf};

/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// The path of the namespace `name`.
pub fn path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

/// Whether `p` is a mounted network namespace (not just a leftover file).
pub fn is_mounted(p: &Path) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = p.to_string_lossy();
    mounts.lines().any(|l| l.split(' ').nth(4) == Some(&want))
}

/// Creates the named namespace (idempotent) and returns its path.
pub fn create(name: &str) -> anyhow::Result<PathBuf> {
    let p = path(name);
    if is_mounted(&p) {
        return Ok(p);
    }
    std::fs::create_dir_all(NETNS_DIR).with_context(|| format!("creating {NETNS_DIR}"))?;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .with_context(|| format!("creating {}", p.display()))?;
    let target = p.clone();
    // unshare() changes only the calling thread; a throwaway thread keeps ours untouched.
    let r = std::thread::spawn(move || -> anyhow::Result<()> {
        unshare(CloneFlags::CLONE_NEWNET).context("unshare(CLONE_NEWNET)")?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .with_context(|| format!("bind-mounting the new namespace on {}", target.display()))?;
        Ok(())
    })
    .join()
    .map_err(|_| anyhow::anyhow!("netns thread panicked"))?;
    if r.is_err() {
        let _ = std::fs::remove_file(&p);
    }
    r.map(|()| p)
}

/// Unmounts and removes the namespace at `p`. Missing namespaces are fine.
pub fn remove(p: &Path) -> anyhow::Result<()> {
    if is_mounted(p) {
        umount2(p, MntFlags::MNT_DETACH).with_context(|| format!("unmounting {}", p.display()))?;
    }
    match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("removing {}", p.display()))),
    }
}

/// Runs `f` on a new thread that has entered the namespace at `p` (blocking).
pub fn run_in<T: Send + 'static>(
    p: &Path,
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let file = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
    std::thread::spawn(move || {
        setns(&file, CloneFlags::CLONE_NEWNET).context("setns(CLONE_NEWNET)")?;
        f()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("netns thread panicked"))?
}
