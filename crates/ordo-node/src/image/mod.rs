//! The node's image store under `DATA/images/`: content-addressed blobs
//! (`blobs/sha256/<hex>`), unpacked layers (`layers/<hex>/`, overlayfs lower dirs) and the
//! references that name manifests (`refs.json`).
//!
//! Images arrive by [`ImageStore::import`] of an OCI image layout archive or a `docker save`
//! archive, or by dropping archives into `DATA/images/import/` (imported when the agent starts,
//! like k3s air-gap images), or by [`ImageStore::pull`] from an OCI registry (see [`registry`]).

pub mod archive;
pub mod credentials;
pub mod reference;
pub mod registry;

use anyhow::Context;
use oci_spec::image::{Config, ImageConfiguration, ImageIndex, ImageManifest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One named image as `ordo image ls` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSummary {
    /// Normalised reference (`docker.io/library/nginx:1.25.4`).
    pub reference: String,
    /// Manifest digest (`sha256:...`).
    pub digest: String,
    /// Compressed size of config and layers in bytes.
    pub size: u64,
}

/// What a container needs of an image.
#[derive(Clone, Debug)]
pub struct ResolvedImage {
    /// Normalised reference (`docker.io/library/nginx:1.25.4`).
    pub reference: String,
    /// `docker.io/library/nginx@sha256:<manifest>`, as `containerStatuses[].imageID` shows it.
    pub image_id: String,
    /// The image's run configuration (entrypoint, cmd, env, working dir, user).
    pub config: Option<Config>,
    /// Unpacked layer directories, bottom layer first.
    pub layers: Vec<PathBuf>,
}

/// The error of an image that is not in the store when a container needs it (it vanished
/// after the pull, or a runtime without a registry was asked to pull it). The image manager's
/// `pull_error_in` finds it in an error chain, so the pod shows `ErrImagePull` /
/// `ImagePullBackOff` instead of a sandbox error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageNotPresent {
    /// The reference as the pod names it.
    pub image: String,
}

impl std::fmt::Display for ImageNotPresent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "image {:?} not present on node", self.image)
    }
}

impl std::error::Error for ImageNotPresent {}

/// The image store of one node.
pub struct ImageStore {
    root: PathBuf,
    lock: Mutex<()>,
    /// Held for the whole of a registry pull: pulls run one at a time.
    pulls: tokio::sync::Mutex<()>,
}

#[derive(Default, Serialize, Deserialize)]
struct Refs {
    /// Normalised reference → manifest digest.
    refs: BTreeMap<String, String>,
}

impl ImageStore {
    /// Opens (creating) the store under `data_dir/images`.
    pub fn open(data_dir: &Path) -> anyhow::Result<ImageStore> {
        let root = data_dir.join("images");
        for d in ["blobs/sha256", "layers", "import", "tmp"] {
            std::fs::create_dir_all(root.join(d))
                .with_context(|| format!("creating {}", root.join(d).display()))?;
        }
        Ok(ImageStore {
            root,
            lock: Mutex::new(()),
            pulls: tokio::sync::Mutex::new(()),
        })
    }

    /// The auto-import folder (`DATA/images/import`).
    pub fn import_dir(&self) -> PathBuf {
        self.root.join("import")
    }

    fn blob(&self, digest: &str) -> anyhow::Result<PathBuf> {
        let hex = digest
            .strip_prefix("sha256:")
            .ok_or_else(|| anyhow::anyhow!("unsupported digest {digest:?}"))?;
        anyhow::ensure!(
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "bad digest {digest:?}"
        );
        Ok(self.root.join("blobs/sha256").join(hex))
    }

    fn read_refs(&self) -> anyhow::Result<Refs> {
        match std::fs::read(self.root.join("refs.json")) {
            Ok(b) => Ok(serde_json::from_slice(&b).context("reading refs.json")?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Refs::default()),
            Err(e) => Err(e.into()),
        }
    }

    fn write_refs(&self, refs: &Refs) -> anyhow::Result<()> {
        let tmp = self
            .root
            .join(format!("tmp/refs.{}.json", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec_pretty(refs)?)?;
        std::fs::rename(&tmp, self.root.join("refs.json"))?;
        Ok(())
    }

    /// Stores the file `src` as a blob; checks it against `expected` when given.
    fn put_blob(&self, src: &Path, expected: Option<&str>) -> anyhow::Result<String> {
        let tmp = self
            .root
            .join(format!("tmp/blob.{}.{}", std::process::id(), unique()));
        let (digest, _) = archive::copy_hashed(src, &tmp)?;
        if let Some(e) = expected {
            if e != digest {
                let _ = std::fs::remove_file(&tmp);
                anyhow::bail!("blob {} has digest {digest}, expected {e}", src.display());
            }
        }
        std::fs::rename(&tmp, self.blob(&digest)?)?;
        Ok(digest)
    }

    fn put_bytes(&self, data: &[u8]) -> anyhow::Result<String> {
        let digest = archive::sha256(data);
        let path = self.blob(&digest)?;
        if !path.exists() {
            let tmp = self
                .root
                .join(format!("tmp/blob.{}.{}", std::process::id(), unique()));
            std::fs::write(&tmp, data)?;
            std::fs::rename(&tmp, path)?;
        }
        Ok(digest)
    }

    /// Imports an OCI image layout archive or a `docker save` archive (plain or gzip tar).
    /// Returns the normalised references it named.
    pub fn import(&self, archive_path: &Path) -> anyhow::Result<Vec<String>> {
        let _g = self.lock.lock().unwrap();
        let tmp = self
            .root
            .join(format!("tmp/import.{}.{}", std::process::id(), unique()));
        std::fs::create_dir_all(&tmp)?;
        let result = (|| {
            archive::extract(archive_path, &tmp)?;
            let named = if tmp.join("index.json").exists() {
                self.import_oci_layout(&tmp)?
            } else if tmp.join("manifest.json").exists() {
                self.import_docker_save(&tmp)?
            } else {
                anyhow::bail!("{} is neither an OCI image layout (index.json) nor a docker save archive (manifest.json)", archive_path.display());
            };
            anyhow::ensure!(
                !named.is_empty(),
                "{} names no image (no io.containerd.image.name, ref.name or RepoTags)",
                archive_path.display()
            );
            let mut refs = self.read_refs()?;
            for (r, d) in &named {
                self.unpack_layers(d)?;
                refs.refs.insert(r.clone(), d.clone());
            }
            self.write_refs(&refs)?;
            Ok(named.into_iter().map(|(r, _)| r).collect())
        })();
        let _ = std::fs::remove_dir_all(&tmp);
        result.with_context(|| format!("importing {}", archive_path.display()))
    }

    /// (reference, manifest digest) pairs of an extracted OCI layout.
    fn import_oci_layout(&self, dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
        let index: ImageIndex = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)
            .context("parsing index.json")?;
        let layout_blob = |d: &str| -> anyhow::Result<PathBuf> {
            Ok(dir.join("blobs/sha256").join(
                d.strip_prefix("sha256:")
                    .ok_or_else(|| anyhow::anyhow!("unsupported digest {d}"))?,
            ))
        };
        let mut out = Vec::new();
        for desc in index.manifests() {
            let annotations = desc.annotations().clone().unwrap_or_default();
            let name = annotations
                .get("io.containerd.image.name")
                .cloned()
                .or_else(|| {
                    annotations
                        .get("org.opencontainers.image.ref.name")
                        .filter(|n| n.contains('/') || n.contains(':'))
                        .cloned()
                });
            let Some(name) = name else {
                tracing::warn!(
                    "image manifest {} has no full image name; skipped",
                    desc.digest()
                );
                continue;
            };
            let mut digest = desc.digest().to_string();
            let mut body = std::fs::read(layout_blob(&digest)?)?;
            if desc.media_type().to_string().contains("index")
                || desc.media_type().to_string().contains("manifest.list")
            {
                // A multi-platform image: take linux/amd64 (or the only manifest).
                let nested: ImageIndex = serde_json::from_slice(&body)?;
                let pick = pick_platform(&nested)
                    .ok_or_else(|| anyhow::anyhow!("image index {digest} is empty"))?;
                self.put_blob(&layout_blob(&digest)?, Some(&digest))?;
                digest = pick.digest().to_string();
                body = std::fs::read(layout_blob(&digest)?)?;
            }
            let manifest: ImageManifest = serde_json::from_slice(&body)
                .with_context(|| format!("parsing manifest {digest}"))?;
            self.put_blob(
                &layout_blob(manifest.config().digest().as_ref())?,
                Some(manifest.config().digest().as_ref()),
            )?;
            for l in manifest.layers() {
                self.put_blob(
                    &layout_blob(l.digest().as_ref())?,
                    Some(l.digest().as_ref()),
                )?;
            }
            self.put_blob(&layout_blob(&digest)?, Some(&digest))?;
            out.push((reference::normalize(&name)?, digest));
        }
        Ok(out)
    }

    /// (reference, manifest digest) pairs of an extracted `docker save` archive; an OCI
    /// manifest is written for each image.
    fn import_docker_save(&self, dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Entry {
            config: String,
            #[serde(default)]
            repo_tags: Option<Vec<String>>,
            layers: Vec<String>,
        }
        let entries: Vec<Entry> =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)
                .context("parsing manifest.json")?;
        let mut out = Vec::new();
        for e in entries {
            let config_path = dir.join(&e.config);
            let config_digest = self.put_blob(&config_path, None)?;
            let config_size = std::fs::metadata(&config_path)?.len();
            let mut layers = Vec::new();
            for l in &e.layers {
                let p = dir.join(l);
                let d = self.put_blob(&p, None)?;
                let mt = layer_media_type(&p);
                layers.push(serde_json::json!({"mediaType": mt, "digest": d, "size": std::fs::metadata(&p)?.len()}));
            }
            let manifest = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
                "layers": layers,
            });
            let digest = self.put_bytes(&serde_json::to_vec(&manifest)?)?;
            for t in e.repo_tags.into_iter().flatten() {
                out.push((reference::normalize(&t)?, digest.clone()));
            }
        }
        Ok(out)
    }

    fn manifest(&self, digest: &str) -> anyhow::Result<ImageManifest> {
        serde_json::from_slice(
            &std::fs::read(self.blob(digest)?)
                .with_context(|| format!("manifest {digest} missing from the store"))?,
        )
        .with_context(|| format!("parsing manifest {digest}"))
    }

    /// Unpacks the layers of a manifest that are not unpacked yet; returns their directories.
    fn unpack_layers(&self, manifest_digest: &str) -> anyhow::Result<Vec<PathBuf>> {
        let m = self.manifest(manifest_digest)?;
        let mut dirs = Vec::new();
        for l in m.layers() {
            let digest = l.digest().to_string();
            let hex = digest
                .strip_prefix("sha256:")
                .unwrap_or(&digest)
                .to_string();
            let dir = self.root.join("layers").join(&hex);
            if !dir.exists() {
                let tmp = self.root.join(format!("tmp/layer.{hex}.{}", unique()));
                archive::unpack_layer(&self.blob(&digest)?, &tmp)
                    .with_context(|| format!("unpacking layer {digest}"))?;
                if std::fs::rename(&tmp, &dir).is_err() {
                    // Unpacked concurrently by someone else.
                    let _ = std::fs::remove_dir_all(&tmp);
                }
            }
            dirs.push(dir);
        }
        Ok(dirs)
    }

    /// Imports every `*.tar` / `*.tar.gz` in the import folder that was not imported before
    /// (remembered by name, size and modification time). Returns how many archives were imported.
    pub fn import_folder(&self) -> anyhow::Result<usize> {
        let dir = self.import_dir();
        let seen_path = dir.join(".imported");
        let seen = std::fs::read_to_string(&seen_path).unwrap_or_default();
        let mut seen_now = String::new();
        let mut n = 0;
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if !(name.ends_with(".tar") || name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
                continue;
            }
            let md = std::fs::metadata(&p)?;
            let mtime = md
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let key = format!("{name} {} {mtime}", md.len());
            if !seen.lines().any(|l| l == key) {
                match self.import(&p) {
                    Ok(refs) => {
                        tracing::info!("imported {} from {}", refs.join(", "), p.display());
                        n += 1;
                    }
                    Err(e) => {
                        tracing::warn!("{e:#}");
                        continue;
                    }
                }
            }
            seen_now.push_str(&key);
            seen_now.push('\n');
        }
        std::fs::write(&seen_path, seen_now)?;
        Ok(n)
    }

    /// The named images, sorted by reference.
    pub fn list(&self) -> anyhow::Result<Vec<ImageSummary>> {
        let refs = self.read_refs()?;
        let mut out = Vec::new();
        for (reference, digest) in refs.refs {
            let size = self
                .manifest(&digest)
                .map(|m| m.config().size() + m.layers().iter().map(|l| l.size()).sum::<u64>())
                .unwrap_or(0);
            out.push(ImageSummary {
                reference,
                digest,
                size,
            });
        }
        Ok(out)
    }

    /// The manifest digest `reference` (any docker form, or `name@sha256:...`) names; `None`
    /// when not present.
    pub fn digest_of(&self, reference: &str) -> anyhow::Result<Option<String>> {
        let norm = reference::normalize(reference)?;
        let refs = self.read_refs()?;
        Ok(match norm.split_once('@') {
            Some((_, want)) => refs
                .refs
                .iter()
                .find(|(r, d)| {
                    *d == want && reference::repository(r) == reference::repository(&norm)
                })
                .map(|(_, d)| d.clone()),
            None => refs.refs.get(&norm).cloned(),
        })
    }

    /// Removes the image whose manifest is `digest`: every reference naming it, then its
    /// manifest, config and layer blobs and unpacked layers that no remaining image uses.
    /// Returns the bytes this freed on disk.
    pub fn remove(&self, digest: &str) -> anyhow::Result<u64> {
        let _g = self.lock.lock().unwrap();
        let mut refs = self.read_refs()?;
        refs.refs.retain(|_, d| d != digest);
        self.write_refs(&refs)?;
        let blobs_of = |d: &str| -> Vec<String> {
            let Ok(m) = self.manifest(d) else {
                return vec![d.to_string()];
            };
            let mut out = vec![d.to_string(), m.config().digest().to_string()];
            out.extend(m.layers().iter().map(|l| l.digest().to_string()));
            out
        };
        let kept: std::collections::HashSet<String> =
            refs.refs.values().flat_map(|d| blobs_of(d)).collect();
        let mut freed = 0;
        for blob in blobs_of(digest).iter().filter(|b| !kept.contains(*b)) {
            let hex = blob.strip_prefix("sha256:").unwrap_or(blob);
            for path in [self.blob(blob)?, self.root.join("layers").join(hex)] {
                let size = crate::eviction::disk_usage(&path);
                let removed = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                match removed {
                    Ok(()) => freed += size,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e).with_context(|| format!("removing {}", path.display()))
                    }
                }
            }
        }
        Ok(freed)
    }

    /// The size and free space, in bytes, of the filesystem the store is on (the image
    /// filesystem).
    pub fn fs_stats(&self) -> anyhow::Result<(u64, u64)> {
        let st = nix::sys::statvfs::statvfs(&self.root)
            .with_context(|| format!("statfs {}", self.root.display()))?;
        let frag = st.fragment_size() as u64;
        Ok((
            st.blocks() as u64 * frag,
            st.blocks_available() as u64 * frag,
        ))
    }

    /// Finds `reference` (any docker form, or `name@sha256:...`); `None` when not present.
    pub fn resolve(&self, reference: &str) -> anyhow::Result<Option<ResolvedImage>> {
        let norm = reference::normalize(reference)?;
        let Some(digest) = self.digest_of(reference)? else {
            return Ok(None);
        };
        let manifest = self.manifest(&digest)?;
        let config: ImageConfiguration = serde_json::from_slice(&std::fs::read(
            self.blob(manifest.config().digest().as_ref())?,
        )?)
        .context("parsing image config")?;
        let layers = {
            let _g = self.lock.lock().unwrap();
            self.unpack_layers(&digest)?
        };
        Ok(Some(ResolvedImage {
            image_id: format!("{}@{digest}", reference::repository(&norm)),
            reference: norm,
            config: config.config().clone(),
            layers,
        }))
    }
}

/// The linux/amd64 manifest of an image index, else its only (first) manifest.
fn pick_platform(index: &ImageIndex) -> Option<&oci_spec::image::Descriptor> {
    index
        .manifests()
        .iter()
        .find(|m| {
            m.platform()
                .as_ref()
                .map(|p| p.os().to_string() == "linux" && p.architecture().to_string() == "amd64")
                .unwrap_or(false)
        })
        .or_else(|| index.manifests().first())
}

/// The OCI media type of a `docker save` layer, by its compression's magic.
fn layer_media_type(p: &Path) -> &'static str {
    use std::io::Read;
    let mut m = [0u8; 4];
    let n = std::fs::File::open(p)
        .and_then(|mut f| f.read(&mut m))
        .unwrap_or(0);
    let head = &m[..n];
    if head.starts_with(&archive::GZIP_MAGIC) {
        "application/vnd.oci.image.layer.v1.tar+gzip"
    } else if head.starts_with(&archive::ZSTD_MAGIC) {
        "application/vnd.oci.image.layer.v1.tar+zstd"
    } else {
        "application/vnd.oci.image.layer.v1.tar"
    }
}

/// A process-unique suffix for temporary names.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    (N.fetch_add(1, Ordering::Relaxed) << 32) | t
}

#[cfg(test)]
mod tests;
