//! End-to-end: an image whose layer is zstd-compressed (OCI media type
//! `application/vnd.oci.image.layer.v1.tar+zstd`), built in the test from the busybox test
//! image (its layer decompressed and compressed again with zstd, a new manifest) and pushed to
//! Debian's `docker-registry` on loopback, is pulled by a node that has no image, its blobs
//! checked against their digests, its layer unpacked, and a pod of it runs.
//!
//! Needs root and runc, and the docker-registry package.

mod common;
#[path = "../../ordo-node/tests/support/registry.rs"]
mod support;

use common::real_pods::{events_of, leftovers, repo, running_ready, with_real_pods_importing};
use ordo_node::image::archive;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

const ZSTD_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn a_pod_runs_an_image_with_zstd_layers() {
    let Some((data, _lock)) = with_real_pods_importing(&[], &[], |server| {
        let s = server.as_ref().unwrap();
        let registry = support::LocalRegistry::start();
        let dir = tempfile::tempdir().unwrap();
        let zstd_archive = dir.path().join("busybox-zstd.tar");
        let busybox = repo().join("target/test-images/busybox-1.28.tar");
        with_zstd_layers(&busybox, &zstd_archive, "docker.io/library/busybox:zstd");
        let digest = registry.push_archive(&zstd_archive, "busybox:zstd", "busybox:zstd");
        let image = format!("{}/busybox:zstd", registry.addr);
        s.ok(&[
            "run",
            "zstd",
            &format!("--image={image}"),
            "--command",
            "--",
            "sleep",
            "3600",
        ]);
        s.eventually(60, "the zstd pod Running", || running_ready(s, "zstd"));
        let id = s.ok(&[
            "get",
            "pod",
            "zstd",
            "-o",
            "jsonpath={.status.containerStatuses[0].imageID}",
        ]);
        assert_eq!(id, format!("{}/busybox@{digest}", registry.addr));
        let ev = events_of(s, "zstd");
        assert!(
            ev.contains(&format!("Pulling|Pulling image \"{image}\"\n")),
            "{ev}"
        );
        let out = s.ok(&["exec", "zstd", "--", "sh", "-c", "echo unpacked"]);
        assert_eq!(out, "unpacked\n");
        s.ok(&["delete", "pod", "zstd", "--grace-period=1", "--wait=true"]);
        s.eventually(30, "the node to clean up", || {
            leftovers(s.data_dir()).is_empty()
        });
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

/// Writes to `dst` the OCI layout archive `src` with every layer of its first image
/// decompressed and compressed again with zstd (new digests, sizes and media types; the
/// config, whose diff_ids name the uncompressed layers, is unchanged), named `name`.
fn with_zstd_layers(src: &Path, dst: &Path, name: &str) {
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    let mut a = tar::Archive::new(std::fs::File::open(src).unwrap());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        files.insert(path, body);
    }
    let blob_path = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
    let index: Value = serde_json::from_slice(&files["index.json"]).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let mut manifest: Value = serde_json::from_slice(&files[&blob_path(manifest_digest)]).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for layer in manifest["layers"].as_array_mut().unwrap() {
        let compressed = &files[&blob_path(layer["digest"].as_str().unwrap())];
        let mut tar = Vec::new();
        archive::decompressed(std::io::Cursor::new(compressed.clone()))
            .unwrap()
            .read_to_end(&mut tar)
            .unwrap();
        let zstd = ruzstd::encoding::compress_to_vec(
            tar.as_slice(),
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let digest = archive::sha256(&zstd);
        layer["mediaType"] = json!(ZSTD_LAYER);
        layer["digest"] = json!(digest);
        layer["size"] = json!(zstd.len());
        out.push((blob_path(&digest), zstd));
    }
    let config = manifest["config"]["digest"].as_str().unwrap().to_string();
    out.push((blob_path(&config), files[&blob_path(&config)].clone()));
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let digest = archive::sha256(&manifest);
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
        "size": manifest.len(), "annotations": {"io.containerd.image.name": name}}]});
    out.push((blob_path(&digest), manifest));
    out.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    out.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    let mut b = tar::Builder::new(std::fs::File::create(dst).unwrap());
    for (path, body) in out {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, body.as_slice()).unwrap();
    }
    b.finish().unwrap();
}
