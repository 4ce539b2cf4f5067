//! The kubelet's atomic writer: a volume's files live in a timestamped directory
//! (`..2026_11_25_17_50_00.123456789`), `..data` is a symlink to it, and each top-level name
//! the payload holds is a symlink through `..data` (`key -> ..data/key`). An update writes a
//! new timestamped directory and swaps `..data` with one `rename(2)`, so a reader sees all
//! old files or all new ones, never a mix.

use super::projection::Payload;
use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// The symlink to the current data directory.
pub const DATA_LINK: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

/// One writer at a time (the pod's start and the refresher may both write a volume).
static WRITING: Mutex<()> = Mutex::new(());

/// Makes `dir` show exactly `payload`. Returns false when it already did (nothing written).
/// Earlier data directories are removed, except those named in `pinned`: `subPath` mounts
/// hold files in them, and removing those files would unmount them in the container.
pub fn write(dir: &Path, payload: &Payload, pinned: &BTreeSet<String>) -> anyhow::Result<bool> {
    let _one = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    for p in payload.keys() {
        super::relative(p)?;
        anyhow::ensure!(!p.starts_with(".."), "path {p:?} must not start with '..'");
    }
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    let old = std::fs::read_link(dir.join(DATA_LINK))
        .ok()
        .and_then(|t| t.to_str().map(str::to_string))
        .filter(|t| t.starts_with("..") && !t.contains('/'));
    let top: BTreeSet<String> = payload
        .keys()
        .filter_map(|p| p.split('/').next().map(str::to_string))
        .collect();
    let same = match &old {
        Some(o) => current(&dir.join(o)).ok().as_ref() == Some(payload),
        None => false,
    };
    if same {
        link_top(dir, &top)?;
        return Ok(false);
    }
    let ts = new_data_dir(dir)?;
    for (p, f) in payload {
        let file = dir.join(&ts).join(p);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&file, &f.data).with_context(|| format!("writing {}", file.display()))?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(f.mode & 0o7777))?;
    }
    let tmp = dir.join(DATA_TMP);
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&ts, &tmp)?;
    std::fs::rename(&tmp, dir.join(DATA_LINK))
        .with_context(|| format!("swapping {}/{DATA_LINK}", dir.display()))?;
    link_top(dir, &top)?;
    for e in std::fs::read_dir(dir)?.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().to_string();
        let data_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false)
            && name.starts_with("..")
            && name != ts;
        if data_dir && !pinned.contains(&name) {
            std::fs::remove_dir_all(e.path())
                .with_context(|| format!("removing {}/{name}", dir.display()))?;
        }
    }
    tracing::debug!("{}: {} files, data in {ts}", dir.display(), payload.len());
    Ok(true)
}

/// A fresh `..YYYY_MM_DD_HH_MM_SS.N` directory (0755) in `dir`; returns its name.
fn new_data_dir(dir: &Path) -> anyhow::Result<String> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    loop {
        let now = chrono::Utc::now();
        let name = format!(
            "{}{}{}",
            now.format("..%Y_%m_%d_%H_%M_%S."),
            now.timestamp_subsec_nanos(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        match std::fs::create_dir(dir.join(&name)) {
            Ok(()) => {
                std::fs::set_permissions(dir.join(&name), std::fs::Permissions::from_mode(0o755))?;
                return Ok(name);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("creating {name} in {}", dir.display()))
                )
            }
        }
    }
}

/// Points `name -> ..data/name` for each top-level name and removes every other visible
/// entry (names no longer in the payload, files of an older layout).
fn link_top(dir: &Path, top: &BTreeSet<String>) -> anyhow::Result<()> {
    for t in top {
        let link = dir.join(t);
        let target = Path::new(DATA_LINK).join(t);
        if std::fs::read_link(&link).ok().as_deref() == Some(target.as_path()) {
            continue;
        }
        remove_any(&link)?;
        std::os::unix::fs::symlink(&target, &link)
            .with_context(|| format!("linking {}", link.display()))?;
    }
    for e in std::fs::read_dir(dir)?.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("..") && !top.contains(&name) {
            remove_any(&e.path())?;
        }
    }
    Ok(())
}

fn remove_any(p: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p)?,
        Ok(_) => std::fs::remove_file(p)?,
        Err(_) => {}
    }
    Ok(())
}

/// The files under a data directory, as a payload.
pub fn current(data: &Path) -> anyhow::Result<Payload> {
    fn walk(
        base: &Path,
        rel: &str,
        out: &mut BTreeMap<String, super::projection::FileProjection>,
    ) -> anyhow::Result<()> {
        for e in std::fs::read_dir(base.join(rel))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().to_string();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let m = std::fs::symlink_metadata(e.path())?;
            if m.is_dir() {
                walk(base, &r, out)?;
            } else {
                out.insert(
                    r,
                    super::projection::FileProjection {
                        data: std::fs::read(e.path())?,
                        mode: m.permissions().mode() & 0o7777,
                    },
                );
            }
        }
        Ok(())
    }
    let mut out = Payload::new();
    walk(data, "", &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::projection::FileProjection;
    use super::*;

    fn p(files: &[(&str, &str, u32)]) -> Payload {
        files
            .iter()
            .map(|(k, v, m)| {
                (
                    k.to_string(),
                    FileProjection {
                        data: v.as_bytes().to_vec(),
                        mode: *m,
                    },
                )
            })
            .collect()
    }

    fn none() -> BTreeSet<String> {
        BTreeSet::new()
    }

    fn data_dirs(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("..2"))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_swaps_and_cleans_up() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        assert!(write(
            dir,
            &p(&[("a", "1", 0o644), ("sub/b", "2", 0o600)]),
            &none()
        )
        .unwrap());
        assert_eq!(std::fs::read_to_string(dir.join("a")).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(dir.join("sub/b")).unwrap(), "2");
        assert_eq!(
            std::fs::read_link(dir.join("a")).unwrap(),
            Path::new("..data/a")
        );
        assert_eq!(
            std::fs::read_link(dir.join("sub")).unwrap(),
            Path::new("..data/sub")
        );
        let first = std::fs::read_link(dir.join(DATA_LINK)).unwrap();
        assert!(first.to_string_lossy().starts_with("..2"), "{first:?}");
        let mode = std::fs::metadata(dir.join("sub/b"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // The same payload again: nothing written.
        assert!(!write(
            dir,
            &p(&[("a", "1", 0o644), ("sub/b", "2", 0o600)]),
            &none()
        )
        .unwrap());
        assert_eq!(std::fs::read_link(dir.join(DATA_LINK)).unwrap(), first);
        // A new payload: new data dir, old one gone, vanished keys unlinked.
        assert!(write(dir, &p(&[("a", "3", 0o644), ("c", "4", 0o644)]), &none()).unwrap());
        assert_eq!(std::fs::read_to_string(dir.join("a")).unwrap(), "3");
        assert_eq!(std::fs::read_to_string(dir.join("c")).unwrap(), "4");
        assert!(std::fs::symlink_metadata(dir.join("sub")).is_err());
        assert_eq!(data_dirs(dir).len(), 1);
        assert_ne!(std::fs::read_link(dir.join(DATA_LINK)).unwrap(), first);
        // A mode change alone is a change.
        assert!(write(dir, &p(&[("a", "3", 0o400), ("c", "4", 0o644)]), &none()).unwrap());
        // A pinned data dir is kept (a subPath mount holds files in it); the others go.
        let pin: BTreeSet<String> = data_dirs(dir).into_iter().collect();
        assert!(write(dir, &p(&[("a", "5", 0o644)]), &pin).unwrap());
        assert!(write(dir, &p(&[("a", "6", 0o644)]), &pin).unwrap());
        assert_eq!(data_dirs(dir).len(), 2);
        assert!(data_dirs(dir).contains(pin.first().unwrap()));
        assert!(write(dir, &p(&[("a", "7", 0o644)]), &none()).unwrap());
        assert_eq!(data_dirs(dir).len(), 1);
        assert!(!dir.join(DATA_TMP).exists());
    }

    #[test]
    fn replaces_files_of_the_old_layout_and_refuses_bad_paths() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        std::fs::write(dir.join("a"), "plain").unwrap();
        std::fs::write(dir.join("stale"), "x").unwrap();
        write(dir, &p(&[("a", "new", 0o644)]), &none()).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("a")).unwrap(), "new");
        assert!(!dir.join("stale").exists());
        assert!(write(dir, &p(&[("../x", "1", 0o644)]), &none()).is_err());
        assert!(write(dir, &p(&[("..data/x", "1", 0o644)]), &none()).is_err());
        assert!(write(dir, &p(&[("/abs", "1", 0o644)]), &none()).is_err());
    }
}
