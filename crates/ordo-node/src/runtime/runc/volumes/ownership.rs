//! The pod's `fsGroup` on its volumes, as the kubelet's `SetVolumeOwnership` applies it: every
//! file and directory of the volume gets the group (its owner is kept), group read and write
//! (read only for read-only volumes), directories also group execute and the setgid bit so
//! that new files inherit the group. Symbolic links get the group but keep their mode.
//! `fsGroupChangePolicy: OnRootMismatch` skips the walk when the volume's root already has
//! the group and those bits.

use k8s_openapi::api::core::v1::{Pod, Volume};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

const RW_MASK: u32 = 0o660;
const RO_MASK: u32 = 0o440;
const EXEC_MASK: u32 = 0o110;
const SETGID: u32 = 0o2000;

/// The pod's `fsGroup` and `fsGroupChangePolicy`.
pub fn fs_group(pod: &Pod) -> Option<(u32, Option<&str>)> {
    let sc = pod.spec.as_ref()?.security_context.as_ref()?;
    let g = u32::try_from(sc.fs_group?).ok()?;
    Some((g, sc.fs_group_change_policy.as_deref()))
}

/// Whether the kubelet manages the ownership of volume `v` (emptyDir, claims, configMap,
/// secret, downwardAPI, projected; not hostPath), and whether it honours
/// `fsGroupChangePolicy` for it (claims only; the others are always walked).
pub fn managed(v: &Volume) -> Option<bool> {
    if v.persistent_volume_claim.is_some() {
        Some(true)
    } else if v.empty_dir.is_some()
        || v.config_map.is_some()
        || v.secret.is_some()
        || v.downward_api.is_some()
        || v.projected.is_some()
    {
        Some(false)
    } else {
        None
    }
}

/// Whether the root of the volume already has the group and the mode bits the walk would set
/// (the kubelet's `requiresPermissionChange`, negated).
pub fn root_matches(root: &Path, gid: u32, read_only: bool) -> bool {
    let Ok(md) = std::fs::metadata(root) else {
        return false;
    };
    if md.gid() != gid || !md.is_dir() {
        return false;
    }
    let want = if read_only { RO_MASK } else { RW_MASK } | EXEC_MASK;
    md.mode() & want == want && md.mode() & SETGID != 0
}

/// Gives the volume at `root` the group `gid` (see the module); returns whether it walked
/// (false: skipped by `OnRootMismatch`). Failures on single files are logged and skipped,
/// as the kubelet does.
pub fn set_volume_ownership(
    root: &Path,
    gid: u32,
    read_only: bool,
    policy: Option<&str>,
) -> anyhow::Result<bool> {
    if policy == Some("OnRootMismatch") && root_matches(root, gid, read_only) {
        return Ok(false);
    }
    let mask = if read_only { RO_MASK } else { RW_MASK };
    walk(root, gid, mask)?;
    Ok(true)
}

fn walk(path: &Path, gid: u32, mask: u32) -> anyhow::Result<()> {
    let md = std::fs::symlink_metadata(path)?;
    if let Err(e) = std::os::unix::fs::lchown(path, None, Some(gid)) {
        tracing::warn!("fsGroup: chown of {} failed: {e}", path.display());
    }
    let ft = md.file_type();
    if ft.is_symlink() {
        return Ok(());
    }
    let mut mode = md.mode() & 0o7777 | mask;
    if ft.is_dir() {
        mode |= SETGID | EXEC_MASK;
    }
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        tracing::warn!("fsGroup: chmod of {} failed: {e}", path.display());
    }
    if ft.is_dir() {
        for e in std::fs::read_dir(path)?.filter_map(|e| e.ok()) {
            walk(&e.path(), gid, mask)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_sets_the_group_and_the_bits_and_on_root_mismatch_skips_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("vol");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/f"), "x").unwrap();
        std::fs::set_permissions(root.join("sub/f"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        std::os::unix::fs::symlink("sub/f", root.join("link")).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Only root may give files a group it is not in; the unit run may not be root.
        let gid = if nix::unistd::geteuid().is_root() {
            4321
        } else {
            nix::unistd::getegid().as_raw()
        };
        assert!(!root_matches(&root, gid, false));
        assert!(set_volume_ownership(&root, gid, false, None).unwrap());
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o7777;
        let group = |p: &Path| std::fs::symlink_metadata(p).unwrap().gid();
        assert_eq!(mode(&root), 0o2775);
        assert_eq!(mode(&root.join("sub")), 0o2775);
        assert_eq!(mode(&root.join("sub/f")), 0o660);
        for p in [
            &root,
            &root.join("sub"),
            &root.join("sub/f"),
            &root.join("link"),
        ] {
            assert_eq!(group(p), gid, "{p:?}");
        }
        assert!(root_matches(&root, gid, false));
        // A file added since is not walked to when the root matches...
        std::fs::write(root.join("new"), "y").unwrap();
        std::fs::set_permissions(root.join("new"), std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(!set_volume_ownership(&root, gid, false, Some("OnRootMismatch")).unwrap());
        assert_eq!(mode(&root.join("new")), 0o600);
        // ...but is by the default policy (Always).
        assert!(set_volume_ownership(&root, gid, false, Some("Always")).unwrap());
        assert_eq!(mode(&root.join("new")), 0o660);
        // Read-only volumes get group read only; the root needs r-x then.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o2550)).unwrap();
        assert!(root_matches(&root, gid, true));
        assert!(!root_matches(&root, gid, false));
    }

    #[test]
    fn which_volumes_are_managed() {
        let v = |j: serde_json::Value| serde_json::from_value::<Volume>(j).unwrap();
        assert_eq!(
            managed(&v(
                serde_json::json!({"name": "d", "persistentVolumeClaim": {"claimName": "c"}})
            )),
            Some(true)
        );
        assert_eq!(
            managed(&v(serde_json::json!({"name": "d", "emptyDir": {}}))),
            Some(false)
        );
        assert_eq!(
            managed(&v(
                serde_json::json!({"name": "d", "secret": {"secretName": "s"}})
            )),
            Some(false)
        );
        assert_eq!(
            managed(&v(
                serde_json::json!({"name": "d", "hostPath": {"path": "/x"}})
            )),
            None
        );
    }
}
