//! Pulling images from OCI registries with `oci-client` (and pushing them back, for
//! `ordo image push` and the tests' loopback registry): the manifest (an index resolves to
//! linux/amd64), the config and the layers land in the content-addressed store, each checked
//! against its digest and size, the layers are unpacked and the reference is recorded, exactly
//! as an import of the same image would leave the store.
//!
//! Registries on loopback (`localhost:5000`, `127.0.0.1:*`, `[::1]:*`) are spoken to over plain
//! HTTP, as containerd does for localhost; so are the `--insecure-registry HOST:PORT` ones.
//! Every other registry gets HTTPS. A pull is anonymous or uses one [`Credential`] (HTTP basic
//! auth, or the registry's bearer token fetched with it), as the CRI's `AuthConfig`: the image
//! manager picks the credentials from the pod's pull secrets and tries them in turn. Pulls are
//! serialised per store (the kubelet's `serializeImagePulls` default). Blobs already in the store are not fetched again,
//! so re-pulling an unchanged image (pull policy `Always`) costs one or two manifest requests.

use super::credentials::Credential;
use super::{archive, reference, ImageStore};
use anyhow::Context;
use futures::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use oci_spec::image::{ImageIndex, ImageManifest};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// The manifest media types a pull accepts (docker v2 and OCI, single and multi-platform).
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// How often a long blob download logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Which registries are reached over plain HTTP.
#[derive(Clone, Debug, Default)]
pub struct RegistryConfig {
    /// `HOST:PORT` of registries spoken to over plain HTTP besides the loopback ones
    /// (`--insecure-registry`).
    pub insecure: Vec<String>,
}

impl RegistryConfig {
    /// True when `registry` (`host[:port]`) is reached over HTTP rather than HTTPS.
    pub fn plain_http(&self, registry: &str) -> bool {
        self.insecure.iter().any(|r| r == registry) || is_loopback(registry)
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => registry
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(registry),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// What one pull did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulled {
    /// The normalised reference (`127.0.0.1:5000/busybox:1.28`).
    pub reference: String,
    /// The digest of the (platform) manifest recorded for the reference.
    pub digest: String,
    /// `<repository>@<manifest digest>`, as `containerStatuses[].imageID` shows it.
    pub image_id: String,
    /// Compressed size of config and layers: the kubelet's "Image size".
    pub size: u64,
    /// Bytes downloaded by this pull (0 when every blob was already in the store).
    pub fetched: u64,
}

impl ImageStore {
    /// Pulls `image` (any docker form) from its registry into the store and names it,
    /// anonymously or with `auth`.
    pub async fn pull(
        self: &Arc<Self>,
        image: &str,
        registries: &RegistryConfig,
        auth: Option<&Credential>,
    ) -> anyhow::Result<Pulled> {
        let norm = reference::normalize(image)?;
        let _serial = self.pulls.lock().await;
        let started = Instant::now();
        let auth = match auth {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        };
        let result = self.pull_locked(&norm, registries, &auth).await;
        match &result {
            Ok(p) => tracing::info!(
                "pulled {norm} ({}): {} bytes fetched of {} in {:.3}s",
                p.digest,
                p.fetched,
                p.size,
                started.elapsed().as_secs_f64()
            ),
            Err(e) => tracing::warn!("pulling {norm}: {e:#}"),
        }
        result.with_context(|| format!("failed to pull and unpack image \"{norm}\""))
    }

    async fn pull_locked(
        self: &Arc<Self>,
        norm: &str,
        registries: &RegistryConfig,
        auth: &RegistryAuth,
    ) -> anyhow::Result<Pulled> {
        let r: Reference = norm
            .parse()
            .with_context(|| format!("parsing reference {norm:?}"))?;
        let client = self.client_for(&r, registries);
        let (body, digest) = client
            .pull_manifest_raw(&r, auth, MANIFEST_TYPES)
            .await
            .map_err(|e| resolve_error(e, norm))
            .with_context(|| format!("failed to resolve reference \"{norm}\""))?;
        check_digest(&body, &digest)?;
        let (body, digest) = if is_index(&body)? {
            let index: ImageIndex =
                serde_json::from_slice(&body).with_context(|| format!("parsing index {digest}"))?;
            let pick = super::pick_platform(&index)
                .ok_or_else(|| anyhow::anyhow!("image index {digest} has no linux/amd64 manifest"))?
                .digest()
                .to_string();
            tracing::debug!("{norm}: index {digest} → linux/amd64 manifest {pick}");
            self.put_bytes(&body)?;
            let (m, d) = client
                .pull_manifest_raw(&r.clone_with_digest(pick.clone()), auth, MANIFEST_TYPES)
                .await
                .with_context(|| format!("fetching manifest {pick}"))?;
            check_digest(&m, &pick)?;
            (m, d)
        } else {
            (body, digest)
        };
        let manifest: ImageManifest =
            serde_json::from_slice(&body).with_context(|| format!("parsing manifest {digest}"))?;
        let mut blobs = vec![(
            manifest.config().digest().to_string(),
            manifest.config().size(),
            manifest.config().media_type().to_string(),
        )];
        for l in manifest.layers() {
            blobs.push((l.digest().to_string(), l.size(), l.media_type().to_string()));
        }
        let size = blobs.iter().map(|(_, s, _)| *s).sum::<u64>();
        let mut fetched = 0;
        for (d, s, mt) in &blobs {
            if !self.blob(d)?.exists() {
                fetched += self.fetch_blob(&client, &r, d, *s, mt).await?;
            }
        }
        anyhow::ensure!(self.put_bytes(&body)? == digest, "manifest digest mismatch");
        let store = self.clone();
        let (name, d) = (norm.to_string(), digest.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let _g = store.lock.lock().unwrap();
            store.unpack_layers(&d)?;
            let mut refs = store.read_refs()?;
            refs.refs.insert(name, d);
            store.write_refs(&refs)
        })
        .await??;
        Ok(Pulled {
            reference: norm.to_string(),
            image_id: format!("{}@{digest}", reference::repository(norm)),
            digest,
            size,
            fetched,
        })
    }

    /// Pushes the stored image `local` (any docker form) to the registry as `remote`.
    /// Returns the manifest digest.
    pub async fn push(
        &self,
        local: &str,
        remote: &str,
        registries: &RegistryConfig,
    ) -> anyhow::Result<String> {
        let norm = reference::normalize(local)?;
        let digest = self
            .read_refs()?
            .refs
            .get(&norm)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("image {norm} is not in the store"))?;
        let body = std::fs::read(self.blob(&digest)?)?;
        let manifest: ImageManifest = serde_json::from_slice(&body)?;
        let target: Reference = reference::normalize(remote)?
            .parse()
            .with_context(|| format!("parsing reference {remote:?}"))?;
        let client = self.client_for(&target, registries);
        let mut blobs = vec![manifest.config().digest().to_string()];
        blobs.extend(manifest.layers().iter().map(|l| l.digest().to_string()));
        for d in &blobs {
            let data = tokio::fs::read(self.blob(d)?).await?;
            client
                .push_blob(&target, &data, d)
                .await
                .with_context(|| format!("pushing blob {d} to {target}"))?;
        }
        let media_type = manifest
            .media_type()
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_else(|| "application/vnd.oci.image.manifest.v1+json".into());
        client
            .push_manifest_raw(&target, body, media_type.parse()?)
            .await
            .with_context(|| format!("pushing manifest {digest} to {target}"))?;
        tracing::info!("pushed {norm} ({digest}) to {target}");
        Ok(digest)
    }

    /// A client speaking HTTP or HTTPS to the reference's registry.
    fn client_for(&self, r: &Reference, registries: &RegistryConfig) -> Client {
        let protocol = if registries.plain_http(r.registry()) {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        Client::new(ClientConfig {
            protocol,
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            ..Default::default()
        })
    }

    /// Downloads one blob into the store, checking size and digest; returns its size.
    async fn fetch_blob(
        &self,
        client: &Client,
        r: &Reference,
        digest: &str,
        size: u64,
        media_type: &str,
    ) -> anyhow::Result<u64> {
        let dest = self.blob(digest)?;
        let tmp = self.root.join(format!(
            "tmp/pull.{}.{}",
            std::process::id(),
            super::unique()
        ));
        let result = async {
            let desc = OciDescriptor {
                media_type: media_type.to_string(),
                digest: digest.to_string(),
                size: size as i64,
                ..Default::default()
            };
            let mut stream = client
                .pull_blob_stream(r, &desc)
                .await
                .with_context(|| format!("fetching blob {digest}"))?;
            let mut out = tokio::fs::File::create(&tmp).await?;
            let mut hash = Sha256::new();
            let (mut n, started) = (0u64, Instant::now());
            let mut last_log = started;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.with_context(|| format!("reading blob {digest}"))?;
                n += chunk.len() as u64;
                anyhow::ensure!(n <= size, "blob {digest} is larger than its {size} bytes");
                hash.update(&chunk);
                out.write_all(&chunk).await?;
                if last_log.elapsed() >= PROGRESS_EVERY {
                    last_log = Instant::now();
                    tracing::info!(
                        "pulling {r}: {digest} {n}/{size} bytes ({:.1} MB/s)",
                        n as f64 / 1e6 / started.elapsed().as_secs_f64()
                    );
                }
            }
            out.sync_all().await?;
            let got = format!("sha256:{}", archive::hex(&hash.finalize()));
            anyhow::ensure!(n == size, "blob {digest}: got {n} bytes, expected {size}");
            anyhow::ensure!(got == digest, "blob has digest {got}, expected {digest}");
            tokio::fs::rename(&tmp, &dest).await?;
            tracing::debug!("fetched {digest} ({n} bytes) of {r}");
            Ok(n)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }
}

/// containerd's texts for a reference that does not resolve: `<ref>: not found` for a registry's
/// "manifest unknown" / "name unknown", `unexpected status from HEAD request to <url>: 401
/// Unauthorized` when the registry refuses the (missing or wrong) credentials.
fn resolve_error(e: oci_client::errors::OciDistributionError, norm: &str) -> anyhow::Error {
    use oci_client::errors::{OciDistributionError as E, OciErrorCode as C};
    match &e {
        E::RegistryError { envelope, .. }
            if envelope
                .errors
                .iter()
                .any(|x| matches!(x.code, C::ManifestUnknown | C::NameUnknown)) =>
        {
            anyhow::anyhow!("{norm}: not found")
        }
        E::ImageManifestNotFoundError(_) => anyhow::anyhow!("{norm}: not found"),
        E::UnauthorizedError { url } => {
            anyhow::anyhow!("unexpected status from HEAD request to {url}: 401 Unauthorized")
        }
        _ => e.into(),
    }
}

/// True when a manifest body is an image index / manifest list.
fn is_index(body: &[u8]) -> anyhow::Result<bool> {
    let v: serde_json::Value = serde_json::from_slice(body).context("parsing manifest")?;
    Ok(v.get("manifests").is_some())
}

/// Checks a manifest body against the digest it was asked for or announced with.
fn check_digest(body: &[u8], digest: &str) -> anyhow::Result<()> {
    let got = archive::sha256(body);
    anyhow::ensure!(
        !digest.starts_with("sha256:") || got == digest,
        "manifest has digest {got}, expected {digest}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_use_plain_http() {
        let c = RegistryConfig {
            insecure: vec!["registry.lan:5000".into()],
        };
        assert!(c.plain_http("localhost:5000"));
        assert!(c.plain_http("localhost"));
        assert!(c.plain_http("127.0.0.1:41234"));
        assert!(c.plain_http("127.3.2.1:80"));
        assert!(c.plain_http("[::1]:5000"));
        assert!(c.plain_http("registry.lan:5000"));
        assert!(!c.plain_http("registry.lan:5001"));
        assert!(!c.plain_http("docker.io"));
        assert!(!c.plain_http("10.0.0.1:5000"));
    }

    /// The HTTPS client builds (rustls with ring, webpki roots) and fails cleanly where nothing
    /// listens (loopback port 9).
    #[tokio::test]
    async fn https_client_fails_cleanly() {
        let client = Client::new(ClientConfig {
            protocol: ClientProtocol::Https,
            ..Default::default()
        });
        let r: Reference = "127.0.0.1:9/app:1".parse().unwrap();
        let err = client
            .pull_manifest_raw(&r, &RegistryAuth::Anonymous, MANIFEST_TYPES)
            .await
            .unwrap_err();
        assert!(
            format!("{err:?}").contains("https://127.0.0.1:9/v2/"),
            "{err:?}"
        );
    }

    #[test]
    fn index_detection() {
        assert!(is_index(br#"{"schemaVersion":2,"manifests":[]}"#).unwrap());
        assert!(!is_index(br#"{"schemaVersion":2,"layers":[]}"#).unwrap());
    }
}
