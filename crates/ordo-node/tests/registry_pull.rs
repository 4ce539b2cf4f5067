//! Pulls from a real registry: Debian's `docker-registry` on loopback holds the busybox test
//! image (pushed from its archive); the image store pulls it over plain HTTP and must end up
//! exactly as an import of the same archive does (manifest digest, image ID, layers, config).
//! A second pull fetches nothing; a missing tag fails with the registry's answer.

mod support;

use ordo_node::image::registry::RegistryConfig;
use ordo_node::image::ImageStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use support::build_images;

/// Every file under `dir` with its size, relative and sorted.
fn tree(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let md = std::fs::symlink_metadata(e.path()).unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            if md.is_dir() {
                stack.push(e.path());
            }
            out.push((rel, if md.is_file() { md.len() } else { 0 }));
        }
    }
    out.sort();
    out
}

#[test]
fn pulls_from_a_loopback_registry_like_an_import() {
    let archive = build_images().join("busybox-1.28.tar");
    let registry = support::registry::LocalRegistry::start();
    let pushed = registry.push_archive(&archive, "busybox:1.28", "busybox:1.28");
    let remote = format!("{}/busybox:1.28", registry.addr);

    // The same archive, imported.
    let imported_dir = tempfile::tempdir().unwrap();
    let imported = ImageStore::open(imported_dir.path()).unwrap();
    imported.import(&archive).unwrap();
    let want = imported.resolve("busybox:1.28").unwrap().unwrap();
    assert_eq!(want.image_id, format!("docker.io/library/busybox@{pushed}"));

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(ImageStore::open(dir.path()).unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let no_flags = RegistryConfig::default();
    let t0 = Instant::now();
    let pulled = rt.block_on(store.pull(&remote, &no_flags, None)).unwrap();
    eprintln!(
        "pulled {remote} ({} bytes) in {:?}",
        pulled.fetched,
        t0.elapsed()
    );
    assert_eq!(pulled.reference, remote);
    assert_eq!(pulled.digest, pushed);
    assert_eq!(
        pulled.image_id,
        format!("{}/busybox@{pushed}", registry.addr)
    );
    assert!(pulled.size > 1_000_000, "{pulled:?}");
    assert_eq!(pulled.fetched, pulled.size, "every blob was downloaded");

    let got = store
        .resolve(&remote)
        .unwrap()
        .expect("the pulled image resolves");
    assert_eq!(got.image_id, pulled.image_id);
    assert_eq!(got.config, want.config);
    let names = |layers: &[PathBuf]| -> Vec<String> {
        layers
            .iter()
            .map(|l| l.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(&got.layers), names(&want.layers));
    assert!(!got.layers.is_empty());
    for (g, w) in got.layers.iter().zip(&want.layers) {
        assert_eq!(tree(g), tree(w));
    }
    assert!(got.layers[0].join("bin/busybox").is_file());
    let list = store.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].reference.as_str(), list[0].size),
        (remote.as_str(), pulled.size)
    );

    // Pulling again (pull policy Always) finds the same digest and downloads nothing.
    let again = rt.block_on(store.pull(&remote, &no_flags, None)).unwrap();
    assert_eq!((again.digest.as_str(), again.fetched), (pushed.as_str(), 0));

    // A tag the registry does not have.
    let missing = format!("{}/busybox:9.9", registry.addr);
    let err = format!(
        "{:#}",
        rt.block_on(store.pull(&missing, &no_flags, None))
            .unwrap_err()
    );
    assert!(
        err.starts_with(&format!("failed to pull and unpack image \"{missing}\"")),
        "{err}"
    );
    assert!(
        err.ends_with(&format!("\"{missing}\": {missing}: not found")),
        "{err}"
    );
    assert!(store.resolve(&missing).unwrap().is_none());
    // Nothing is left half-written.
    assert_eq!(
        std::fs::read_dir(dir.path().join("images/tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn a_registry_that_is_not_there_fails_the_pull() {
    // Loopback port 9 (discard): nothing listens, the connection is refused.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(ImageStore::open(dir.path()).unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(store.pull("127.0.0.1:9/app:1", &RegistryConfig::default(), None))
        .unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.starts_with("failed to pull and unpack image \"127.0.0.1:9/app:1\""),
        "{err}"
    );
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn an_image_index_resolves_to_linux_amd64() {
    let images = build_images();
    let registry = support::registry::LocalRegistry::start();
    // Two single-platform images in one repository; an index names nginx as linux/arm64
    // (listed first) and busybox as linux/amd64.
    let busybox = registry.push_archive(
        &images.join("busybox-1.28.tar"),
        "busybox:1.28",
        "multi:busybox",
    );
    let nginx = registry.push_archive(
        &images.join("nginx-1.25.4.tar"),
        "nginx:1.25.4",
        "multi:nginx",
    );
    // The manifests' sizes, from an import of the same archives.
    let scratch = tempfile::tempdir().unwrap();
    let local = ImageStore::open(scratch.path()).unwrap();
    for a in ["busybox-1.28.tar", "nginx-1.25.4.tar"] {
        local.import(&images.join(a)).unwrap();
    }
    let blobs = scratch.path().join("images/blobs/sha256");
    let size = |d: &str| std::fs::metadata(blobs.join(&d[7..])).unwrap().len();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": nginx, "size": size(&nginx),
             "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": busybox, "size": size(&busybox),
             "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    }))
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let multi = format!("{}/multi:1", registry.addr);
    let client = oci_client::Client::new(oci_client::client::ClientConfig {
        protocol: oci_client::client::ClientProtocol::Http,
        ..Default::default()
    });
    rt.block_on(client.push_manifest_raw(
        &multi.parse().unwrap(),
        index,
        "application/vnd.oci.image.index.v1+json".parse().unwrap(),
    ))
    .unwrap_or_else(|e| panic!("pushing the index: {e}\n{}", registry.log()));

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(ImageStore::open(dir.path()).unwrap());
    let pulled = rt
        .block_on(store.pull(&multi, &RegistryConfig::default(), None))
        .unwrap();
    assert_eq!(pulled.digest, busybox, "the linux/amd64 manifest");
    let img = store.resolve(&multi).unwrap().unwrap();
    assert!(img.layers[0].join("bin/busybox").is_file());
    // Only busybox's blobs were fetched, not nginx's.
    assert_eq!(pulled.fetched, pulled.size);
}
