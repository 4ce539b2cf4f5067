//! Pod volumes for runc containers. [`prepare`] resolves each of the pod's `spec.volumes` to a
//! directory on the host when the sandbox is made: `emptyDir` (a directory, or a tmpfs for
//! `medium: Memory`), `hostPath` as is, `persistentVolumeClaim` the host path of the bound
//! volume (read through the API; an unbound claim is an error, so the agent retries).
//!
//! `configMap`, `secret`, `downwardAPI` and `projected` volumes are written under
//! `DATA/pods/<uid>/volumes/<name>` the way the kubelet writes them: [`projection`] computes the
//! files (a pure function), [`atomic`] writes them behind a `..data` symlink so that an update
//! is one `rename(2)`. Secrets and projected volumes live on a tmpfs, never on disk. The
//! [`refresh::Refresher`] rewrites them while the pod runs when their config maps, secrets or
//! the pod's labels and annotations change (`subPath` mounts keep what they had at start,
//! as upstream).
//!
//! With a pod `fsGroup`, [`ownership`] gives the volumes the kubelet manages that group.
//!
//! [`mounts`] turns a container's `volumeMounts` into OCI bind mounts. [`cleanup`] unmounts
//! the tmpfs volumes; nothing outside the pod directory is ever removed (PV data belongs to
//! the volume).

pub mod atomic;
pub mod ownership;
pub mod projection;
pub mod refresh;
pub mod tokens;

use anyhow::Context;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Volume,
};
use kube::Api;
use oci_spec::runtime::{Mount, MountBuilder};
use projection::{NodeAllocatable, Objects};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// A volume resolved to a host path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostVolume {
    pub path: PathBuf,
    /// Mounted read-only whatever the volumeMount says (configMap, secret, readOnly claims).
    pub read_only: bool,
    /// Written by the atomic writer: its visible names are symlinks through `..data`.
    #[serde(default)]
    pub atomic: bool,
}

/// Where the pod's own volumes (emptyDir, configMap, secret...) live.
pub fn volumes_dir(pod_dir: &Path) -> PathBuf {
    pod_dir.join("volumes")
}

fn volumes_of(pod: &Pod) -> &[Volume] {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_deref())
        .unwrap_or_default()
}

/// Resolves and materialises every volume of the pod; idempotent. Volume types not handled
/// here (ephemeral, csi, ...) are left out with a warning.
pub async fn prepare(
    pod: &Pod,
    pod_dir: &Path,
    client: Option<&kube::Client>,
) -> anyhow::Result<BTreeMap<String, HostVolume>> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let node = NodeAllocatable::probe(pod_dir);
    let mut out = BTreeMap::new();
    for v in volumes_of(pod) {
        let own = volumes_dir(pod_dir).join(&v.name);
        let resolved = if projection::is_projected(v) {
            match fetch(pod, v, ns, client).await {
                Ok(objects) => write_projected(pod, v, &own, &objects, &node).map(Some),
                Err(e) => Err(e),
            }
        } else {
            resolve(v, &own, ns, client).await
        }
        // The kubelet's words, so that the event reads as on Kubernetes.
        .with_context(|| format!("MountVolume.SetUp failed for volume {:?}", v.name))?;
        match resolved {
            Some(h) => {
                own_by_fs_group(pod, v, &h)
                    .with_context(|| format!("MountVolume.SetUp failed for volume {:?}", v.name))?;
                out.insert(v.name.clone(), h);
            }
            None => tracing::warn!(
                "pod {ns}/{}: volume {:?} has a type the runc runtime does not support",
                pod.metadata.name.as_deref().unwrap_or_default(),
                v.name
            ),
        }
    }
    Ok(out)
}

/// Applies the pod's `fsGroup` to volume `v` resolved to `h`, if the kubelet manages its
/// ownership.
fn own_by_fs_group(pod: &Pod, v: &Volume, h: &HostVolume) -> anyhow::Result<()> {
    let (Some((gid, policy)), Some(honours_policy)) =
        (ownership::fs_group(pod), ownership::managed(v))
    else {
        return Ok(());
    };
    let policy = policy.filter(|_| honours_policy);
    ownership::set_volume_ownership(&h.path, gid, h.read_only, policy)
        .with_context(|| format!("applying fsGroup {gid} to volume {:?}", v.name))?;
    Ok(())
}

/// Reads the config maps and secrets volume `v` of a pod in `ns` refers to into `out`, each by
/// name (absent ones are left out).
pub(super) async fn read_referenced(
    v: &Volume,
    ns: &str,
    client: &kube::Client,
    out: &mut Objects,
) -> Result<(), kube::Error> {
    let (cms, secrets) = projection::references(v);
    for name in cms {
        let api = Api::<ConfigMap>::namespaced(client.clone(), ns);
        if let Some(m) = api.get_opt(&name).await? {
            out.config_maps.insert(name, m);
        }
    }
    for name in secrets {
        let api = Api::<Secret>::namespaced(client.clone(), ns);
        if let Some(s) = api.get_opt(&name).await? {
            out.secrets.insert(name, s);
        }
    }
    Ok(())
}

/// Reads the config maps and secrets `v` refers to (absent ones are left out), and gets the
/// ServiceAccount tokens its projections show.
async fn fetch(
    pod: &Pod,
    v: &Volume,
    ns: &str,
    c: Option<&kube::Client>,
) -> anyhow::Result<Objects> {
    let mut out = Objects::default();
    let (cms, secrets) = projection::references(v);
    // Without a client, only volumes that read nothing from the API can be written.
    if !cms.is_empty() || !secrets.is_empty() {
        read_referenced(v, ns, &client(c)?, &mut out).await?;
    }
    if tokens::token_sources(v).next().is_some() {
        out.tokens = tokens::manager().tokens_for(&client(c)?, pod, v).await?;
    }
    Ok(out)
}

/// Where the data directories that `subPath` mounts of volume `own` hold are listed.
fn pins_file(own: &Path) -> PathBuf {
    let name = own.file_name().unwrap_or_default().to_string_lossy();
    own.with_file_name(".subpath-pins").join(&*name)
}

/// The data directories of `own` that `subPath` mounts hold (kept by the atomic writer).
fn pinned(own: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(pins_file(own))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Records that a `subPath` mount holds data directory `ts` of `own`.
fn pin(own: &Path, ts: &str) -> anyhow::Result<()> {
    let mut all = pinned(own);
    if all.insert(ts.to_string()) {
        let f = pins_file(own);
        std::fs::create_dir_all(f.parent().unwrap_or(own))?;
        let text: Vec<String> = all.into_iter().collect();
        std::fs::write(&f, text.join("\n") + "\n")?;
    }
    Ok(())
}

/// Writes a configMap, secret, downwardAPI or projected volume into `own` (a tmpfs for
/// secrets and projected volumes), atomically.
fn write_projected(
    pod: &Pod,
    v: &Volume,
    own: &Path,
    objects: &Objects,
    node: &NodeAllocatable,
) -> anyhow::Result<HostVolume> {
    make_dir(own, 0o755)?;
    if projection::on_tmpfs(v) && !mounted(own) {
        nix::mount::mount(
            Some("tmpfs"),
            own,
            Some("tmpfs"),
            nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
            Some("mode=0755"),
        )
        .with_context(|| format!("mounting a tmpfs on {}", own.display()))?;
    }
    let payload = projection::payload(pod, v, objects, node)?.unwrap_or_default();
    atomic::write(own, &payload, &pinned(own))?;
    Ok(HostVolume {
        path: own.to_path_buf(),
        read_only: true,
        atomic: true,
    })
}

/// Rewrites the pod's configMap, secret, downwardAPI and projected volumes from `objects`
/// (and the pod's current metadata). Volumes whose sources are missing keep what they show;
/// a volume whose directory (or tmpfs) is gone is skipped, never re-created. Returns the
/// names of the volumes that changed.
pub fn refresh(
    pod: &Pod,
    pod_dir: &Path,
    objects: &Objects,
    node: &NodeAllocatable,
) -> Vec<String> {
    let mut changed = Vec::new();
    for v in volumes_of(pod)
        .iter()
        .filter(|v| projection::is_projected(v))
    {
        let own = volumes_dir(pod_dir).join(&v.name);
        if !own.is_dir() || (projection::on_tmpfs(v) && !mounted(&own)) {
            continue;
        }
        let r = projection::payload(pod, v, objects, node)
            .and_then(|p| atomic::write(&own, &p.unwrap_or_default(), &pinned(&own)));
        let r = r.and_then(|changed| {
            if changed {
                let h = HostVolume {
                    path: own.clone(),
                    read_only: true,
                    atomic: true,
                };
                own_by_fs_group(pod, v, &h)?;
            }
            Ok(changed)
        });
        match r {
            Ok(true) => changed.push(v.name.clone()),
            Ok(false) => {}
            Err(e) => tracing::warn!(
                "pod {}/{}: not refreshing volume {:?}: {e:#}",
                pod.metadata.namespace.as_deref().unwrap_or_default(),
                pod.metadata.name.as_deref().unwrap_or_default(),
                v.name
            ),
        }
    }
    changed
}

fn client(c: Option<&kube::Client>) -> anyhow::Result<kube::Client> {
    c.cloned()
        .ok_or_else(|| anyhow::anyhow!("the runtime has no API client to read the volume from"))
}

async fn resolve(
    v: &Volume,
    own: &Path,
    ns: &str,
    c: Option<&kube::Client>,
) -> anyhow::Result<Option<HostVolume>> {
    let rw = |path: PathBuf| HostVolume {
        path,
        read_only: false,
        atomic: false,
    };
    if let Some(e) = &v.empty_dir {
        make_dir(own, 0o777)?;
        if e.medium.as_deref() == Some("Memory") && !mounted(own) {
            let mut opts = "mode=1777".to_string();
            if let Some(b) = e
                .size_limit
                .as_ref()
                .and_then(|q| super::bundle::parse_bytes(&q.0))
            {
                opts.push_str(&format!(",size={b}"));
            }
            nix::mount::mount(
                Some("tmpfs"),
                own,
                Some("tmpfs"),
                nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
                Some(opts.as_str()),
            )
            .with_context(|| format!("mounting a tmpfs on {}", own.display()))?;
        }
        return Ok(Some(rw(own.to_path_buf())));
    }
    if let Some(h) = &v.host_path {
        let p = PathBuf::from(&h.path);
        match h.type_.as_deref() {
            Some("DirectoryOrCreate") if !p.exists() => std::fs::create_dir_all(&p)?,
            Some("FileOrCreate") if !p.exists() => {
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::File::create(&p)?;
            }
            Some("Directory") => anyhow::ensure!(p.is_dir(), "{} is not a directory", h.path),
            Some("File") => anyhow::ensure!(p.is_file(), "{} is not a file", h.path),
            // No type: no checks, and a missing path becomes a directory, as containerd and
            // docker do for the kubelet's bind mounts.
            None | Some("") if !p.exists() => std::fs::create_dir_all(&p)?,
            _ => {}
        }
        return Ok(Some(rw(p)));
    }
    if let Some(claim) = &v.persistent_volume_claim {
        let c = client(c)?;
        let name = &claim.claim_name;
        let pvc = Api::<PersistentVolumeClaim>::namespaced(c.clone(), ns)
            .get_opt(name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("persistentvolumeclaim {name:?} not found"))?;
        let phase = pvc.status.as_ref().and_then(|s| s.phase.clone());
        let pv_name = pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.clone())
            .filter(|n| !n.is_empty() && phase.as_deref() == Some("Bound"))
            .ok_or_else(|| anyhow::anyhow!("persistentvolumeclaim {name:?} is not bound yet"))?;
        let pv = Api::<PersistentVolume>::all(c).get(&pv_name).await?;
        let path = pv_host_path(&pv).ok_or_else(|| {
            anyhow::anyhow!("persistentvolume {pv_name:?} has no hostPath or local path")
        })?;
        if !path.exists() {
            std::fs::create_dir_all(&path)?;
        }
        return Ok(Some(HostVolume {
            path,
            read_only: claim.read_only.unwrap_or(false),
            atomic: false,
        }));
    }
    Ok(None)
}

/// The host directory behind a volume: `spec.hostPath.path` or `spec.local.path`.
pub fn pv_host_path(pv: &PersistentVolume) -> Option<PathBuf> {
    let spec = pv.spec.as_ref()?;
    spec.host_path
        .as_ref()
        .map(|h| h.path.clone())
        .or_else(|| spec.local.as_ref().map(|l| l.path.clone()))
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

fn make_dir(p: &Path, mode: u32) -> anyhow::Result<()> {
    if !p.exists() {
        std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// A relative path without `..`: safe to join under a volume.
fn relative(p: &str) -> anyhow::Result<&Path> {
    let path = Path::new(p);
    anyhow::ensure!(
        path.components().all(|c| matches!(c, Component::Normal(_))),
        "path {p:?} must be relative and must not contain '..'"
    );
    Ok(path)
}

/// The bind mounts of the container's `volumeMounts` (`subPath` directories are created).
pub fn mounts(c: &Container, vols: &BTreeMap<String, HostVolume>) -> anyhow::Result<Vec<Mount>> {
    let mut out = Vec::new();
    for m in c.volume_mounts.iter().flatten() {
        let Some(v) = vols.get(&m.name) else {
            tracing::warn!(
                "container {:?}: volume {:?} is not available; not mounted",
                c.name,
                m.name
            );
            continue;
        };
        anyhow::ensure!(
            m.mount_path.starts_with('/'),
            "mountPath {:?} must be absolute",
            m.mount_path
        );
        let mut src = v.path.clone();
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            src = src.join(relative(sub)?);
            if v.atomic {
                // The file or directory the `..data` symlinks lead to now: the container keeps
                // it when the volume is refreshed (the old data directory is kept for it).
                let real = std::fs::canonicalize(&src)
                    .with_context(|| format!("subPath {sub:?} is not in volume {:?}", m.name))?;
                let base = std::fs::canonicalize(&v.path)?;
                let Ok(inside) = real.strip_prefix(&base) else {
                    anyhow::bail!("subPath {sub:?} leads outside volume {:?}", m.name)
                };
                if let Some(Component::Normal(ts)) = inside.components().next() {
                    pin(&v.path, &ts.to_string_lossy())?;
                }
                src = real;
            } else if !src.exists() {
                std::fs::create_dir_all(&src)
                    .with_context(|| format!("creating subPath {}", src.display()))?;
            }
        }
        let ro = v.read_only || m.read_only.unwrap_or(false);
        out.push(
            MountBuilder::default()
                .destination(&m.mount_path)
                .typ("bind")
                .source(src)
                .options(vec![
                    "rbind".to_string(),
                    "rprivate".into(),
                    if ro { "ro" } else { "rw" }.into(),
                ])
                .build()?,
        );
    }
    Ok(out)
}

fn mounted(p: &Path) -> bool {
    crate::network::netns::is_mounted(p)
}

/// Unmounts the pod's tmpfs volumes, so that its directory can be removed.
pub fn cleanup(pod_dir: &Path) -> anyhow::Result<()> {
    let Ok(rd) = std::fs::read_dir(volumes_dir(pod_dir)) else {
        return Ok(());
    };
    for e in rd.filter_map(|e| e.ok()) {
        let p = e.path();
        if mounted(&p) {
            nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH)
                .with_context(|| format!("unmounting {}", p.display()))?;
        }
        anyhow::ensure!(!mounted(&p), "{} is still mounted", p.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::VolumeMount;

    #[test]
    fn mounts_bind_sub_paths_read_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let mut vols = BTreeMap::new();
        vols.insert(
            "data".to_string(),
            HostVolume {
                path: dir.path().into(),
                read_only: false,
                atomic: false,
            },
        );
        vols.insert(
            "cfg".to_string(),
            HostVolume {
                path: dir.path().join("cfg"),
                read_only: true,
                atomic: false,
            },
        );
        let c = Container {
            name: "c".into(),
            volume_mounts: Some(vec![
                VolumeMount {
                    name: "data".into(),
                    mount_path: "/data".into(),
                    sub_path: Some("a/b".into()),
                    ..Default::default()
                },
                VolumeMount {
                    name: "cfg".into(),
                    mount_path: "/etc/cfg".into(),
                    ..Default::default()
                },
                VolumeMount {
                    name: "missing".into(),
                    mount_path: "/x".into(),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        let m = mounts(&c, &vols).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[0].source().as_deref(),
            Some(dir.path().join("a/b").as_path())
        );
        assert!(dir.path().join("a/b").is_dir());
        assert!(m[0].options().as_ref().unwrap().contains(&"rw".to_string()));
        assert!(m[1].options().as_ref().unwrap().contains(&"ro".to_string()));
        let bad = Container {
            volume_mounts: Some(vec![VolumeMount {
                name: "data".into(),
                mount_path: "/d".into(),
                sub_path: Some("../escape".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert!(mounts(&bad, &vols).is_err());
    }

    #[tokio::test]
    async fn refresh_follows_labels_keeps_sub_path_data_and_never_recreates() {
        let dir = tempfile::tempdir().unwrap();
        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "uid": "u", "labels": {"a": "1"}},
            "spec": {"containers": [{"name": "c", "volumeMounts": [
                {"name": "info", "mountPath": "/info"},
                {"name": "info", "mountPath": "/labels", "subPath": "labels"},
            ]}], "volumes": [
                {"name": "info", "downwardAPI": {"items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                ]}},
            ]}
        }))
        .unwrap();
        let v = prepare(&pod, dir.path(), None).await.unwrap();
        let m = mounts(&pod.spec.as_ref().unwrap().containers[0], &v).unwrap();
        // The subPath mount binds the file in the current data directory.
        let sub = m[1].source().clone().unwrap();
        assert!(sub.to_string_lossy().contains("/..20"), "{sub:?}");
        let node = NodeAllocatable::probe(dir.path());
        let objects = Objects::default();
        assert!(refresh(&pod, dir.path(), &objects, &node).is_empty());
        pod.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("b".into(), "2".into());
        assert_eq!(refresh(&pod, dir.path(), &objects, &node), ["info"]);
        let info = &v["info"].path;
        assert_eq!(
            std::fs::read_to_string(info.join("labels")).unwrap(),
            "a=\"1\"\nb=\"2\""
        );
        // What the subPath mount holds is kept as it was.
        assert_eq!(std::fs::read_to_string(&sub).unwrap(), "a=\"1\"");
        // A pod whose volumes are gone is not written to.
        std::fs::remove_dir_all(volumes_dir(dir.path())).unwrap();
        pod.metadata.labels = None;
        assert!(refresh(&pod, dir.path(), &objects, &node).is_empty());
        assert!(!volumes_dir(dir.path()).exists());
    }

    #[tokio::test]
    async fn host_path_and_empty_dir_resolve_without_a_client() {
        let dir = tempfile::tempdir().unwrap();
        let hp = dir.path().join("made/here");
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "uid": "u", "labels": {"app": "web"}},
            "spec": {"containers": [], "volumes": [
                {"name": "scratch", "emptyDir": {}},
                {"name": "host", "hostPath": {"path": hp, "type": "DirectoryOrCreate"}},
                {"name": "untyped", "hostPath": {"path": dir.path().join("untyped/dir")}},
                {"name": "info", "downwardAPI": {"items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                ]}},
                {"name": "unsupported", "csi": {"driver": "x"}},
            ]}
        }))
        .unwrap();
        let v = prepare(&pod, dir.path(), None).await.unwrap();
        assert_eq!(v.len(), 4);
        assert!(
            v["untyped"].path.is_dir(),
            "a missing untyped hostPath is created"
        );
        assert!(v["info"].read_only && v["info"].atomic);
        assert_eq!(
            std::fs::read_to_string(v["info"].path.join("labels")).unwrap(),
            "app=\"web\""
        );
        assert_eq!(v["scratch"].path, dir.path().join("volumes/scratch"));
        assert!(v["scratch"].path.is_dir());
        assert_eq!(v["host"].path, hp);
        assert!(hp.is_dir());
    }
}
