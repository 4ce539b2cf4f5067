use super::*;
use std::io::{Read, Write};

/// A tar with the given (path, contents) files.
fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZSTD_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// A one-layer OCI layout archive named `name`, its layer gzip-compressed.
fn oci_archive(name: &str, file: &[u8]) -> Vec<u8> {
    oci_archive_with(name, file, gzip, GZIP_LAYER)
}

/// A one-layer OCI layout archive named `name`, its layer compressed by `compress` and
/// labelled `media_type`.
fn oci_archive_with(
    name: &str,
    file: &[u8],
    compress: fn(&[u8]) -> Vec<u8>,
    media_type: &str,
) -> Vec<u8> {
    let layer = compress(&tar_of(&[("bin/hello", file), ("etc/.wh.gone", b"")]));
    let layer_d = archive::sha256(&layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/bin/hello"], "Cmd": ["world"], "Env": ["A=1"], "WorkingDir": "/srv"},
        "rootfs": {"type": "layers", "diff_ids": [archive::sha256(b"x")]}
    }))
    .unwrap();
    let config_d = archive::sha256(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_d, "size": config.len()},
        "layers": [{"mediaType": media_type, "digest": layer_d, "size": layer.len()}]
    }))
    .unwrap();
    let manifest_d = archive::sha256(&manifest);
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_d, "size": manifest.len(),
                       "annotations": {"io.containerd.image.name": name}}]
    }))
    .unwrap();
    let blob = |d: &str| format!("blobs/sha256/{}", &d[7..]);
    tar_of(&[
        ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
        ("index.json", &index),
        (&blob(&manifest_d), &manifest),
        (&blob(&config_d), &config),
        (&blob(&layer_d), &layer),
    ])
}

#[test]
fn imports_an_oci_layout_archive_and_resolves_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let ar = dir.path().join("hello.tar");
    std::fs::write(
        &ar,
        oci_archive("docker.io/library/hello:1.0", b"#!/bin/sh\necho hi\n"),
    )
    .unwrap();
    assert_eq!(
        store.import(&ar).unwrap(),
        vec!["docker.io/library/hello:1.0".to_string()]
    );
    let list = store.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].reference, "docker.io/library/hello:1.0");
    assert!(list[0].size > 0);

    let img = store
        .resolve("hello:1.0")
        .unwrap()
        .expect("resolves by the short name");
    assert_eq!(
        img.image_id,
        format!("docker.io/library/hello@{}", list[0].digest)
    );
    let cfg = img.config.unwrap();
    assert_eq!(
        cfg.entrypoint().as_deref(),
        Some(&["/bin/hello".to_string()][..])
    );
    assert_eq!(cfg.working_dir().as_deref(), Some("/srv"));
    assert_eq!(img.layers.len(), 1);
    assert_eq!(
        std::fs::read(img.layers[0].join("bin/hello")).unwrap(),
        b"#!/bin/sh\necho hi\n"
    );
    // The OCI whiteout became an overlayfs whiteout (character device 0/0).
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(img.layers[0].join("etc/gone"))
        .unwrap()
        .file_type()
        .is_char_device());
    // By digest too; unknown names are None.
    assert!(store
        .resolve(&format!("hello@{}", list[0].digest))
        .unwrap()
        .is_some());
    assert!(store.resolve("hello:2.0").unwrap().is_none());
    assert!(store.resolve("other").unwrap().is_none());
    // A second import is harmless; the temporary files are gone.
    store.import(&ar).unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path().join("images/tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn imports_a_docker_save_archive() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let layer = tar_of(&[("hello.txt", b"hi")]);
    let config = br#"{"architecture":"amd64","os":"linux","config":{"Cmd":["cat","/hello.txt"]},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let manifest = br#"[{"Config":"cfg.json","RepoTags":["example.com/team/app:v2"],"Layers":["l1/layer.tar"]}]"#;
    let ar = dir.path().join("app.tar");
    std::fs::write(
        &ar,
        tar_of(&[
            ("manifest.json", manifest),
            ("cfg.json", config),
            ("l1/layer.tar", &layer),
        ]),
    )
    .unwrap();
    assert_eq!(
        store.import(&ar).unwrap(),
        vec!["example.com/team/app:v2".to_string()]
    );
    let img = store.resolve("example.com/team/app:v2").unwrap().unwrap();
    assert_eq!(
        img.config.unwrap().cmd().clone().unwrap(),
        vec!["cat", "/hello.txt"]
    );
    assert_eq!(
        std::fs::read(img.layers[0].join("hello.txt")).unwrap(),
        b"hi"
    );
}

#[test]
fn import_folder_imports_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    std::fs::write(
        store.import_dir().join("a.tar"),
        oci_archive("busybox:1.28", b"x"),
    )
    .unwrap();
    std::fs::write(store.import_dir().join("notes.txt"), b"ignored").unwrap();
    assert_eq!(store.import_folder().unwrap(), 1);
    assert_eq!(store.import_folder().unwrap(), 0);
    assert!(store
        .resolve("docker.io/library/busybox:1.28")
        .unwrap()
        .is_some());
}

#[test]
fn rejects_corrupt_and_unknown_archives() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let ar = dir.path().join("bad.tar");
    std::fs::write(&ar, tar_of(&[("random.txt", b"x")])).unwrap();
    assert!(store.import(&ar).is_err());
    // A blob whose content does not match its name.
    let mut good = oci_archive("x:1", b"x");
    let ar2 = dir.path().join("corrupt.tar");
    let mut files = tar::Archive::new(&good[..]);
    let mut b = tar::Builder::new(Vec::new());
    for e in files.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_path_buf();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if path.starts_with("blobs") && data.first() == Some(&0x1f) {
            data.push(0);
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append_data(&mut h, &path, &data[..]).unwrap();
    }
    good = b.into_inner().unwrap();
    std::fs::write(&ar2, good).unwrap();
    let err = format!("{:#}", store.import(&ar2).unwrap_err());
    assert!(err.contains("expected sha256:"), "{err}");
    assert!(store.list().unwrap().is_empty());
}

/// A zstd layer (OCI `tar+zstd`) is unpacked like a gzip one.
#[test]
fn imports_an_oci_archive_with_a_zstd_layer() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let ar = dir.path().join("hello.tar");
    let archive = oci_archive_with("docker.io/library/hello:zstd", b"zstd!", zstd, ZSTD_LAYER);
    std::fs::write(&ar, archive).unwrap();
    store.import(&ar).unwrap();
    let img = store.resolve("hello:zstd").unwrap().expect("imported");
    assert_eq!(
        std::fs::read(img.layers[0].join("bin/hello")).unwrap(),
        b"zstd!"
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(img.layers[0].join("etc/gone"))
        .unwrap()
        .file_type()
        .is_char_device());
}

/// zstd is told by its magic whatever the name: several frames are read in turn and skippable
/// frames (as in `zstd:chunked` layers) passed over; gzip and plain data read as before.
#[test]
fn decompression_by_magic_reads_every_zstd_frame() {
    let read = |bytes: Vec<u8>| {
        let mut out = Vec::new();
        archive::decompressed(std::io::Cursor::new(bytes))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    };
    let big: Vec<u8> = (0..300_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    assert_eq!(read(zstd(&big)), big);
    let mut frames = zstd(b"first ");
    // A skippable frame: magic 0x184D2A50..5F, a little-endian length, that many bytes.
    frames.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    frames.extend(zstd(b"second"));
    assert_eq!(read(frames), b"first second");
    assert_eq!(read(gzip(b"gz")), b"gz");
    assert_eq!(read(b"plain".to_vec()), b"plain");
    assert_eq!(read(Vec::new()), b"");
    let mut truncated = zstd(&big);
    truncated.truncate(truncated.len() / 2);
    let mut out = Vec::new();
    assert!(archive::decompressed(std::io::Cursor::new(truncated))
        .unwrap()
        .read_to_end(&mut out)
        .is_err());
}

/// Removing an image drops its references, blobs and unpacked layers, and leaves the others.
#[test]
fn removes_an_image_and_what_only_it_uses() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    for (name, body) in [
        ("docker.io/library/a:1", b"a" as &[u8]),
        ("docker.io/library/b:1", b"b" as &[u8]),
    ] {
        let ar = dir.path().join("x.tar");
        std::fs::write(&ar, oci_archive(name, body)).unwrap();
        store.import(&ar).unwrap();
    }
    let a = store.digest_of("a:1").unwrap().expect("a");
    let blobs = || {
        std::fs::read_dir(dir.path().join("images/blobs/sha256"))
            .unwrap()
            .count()
    };
    let layers = || {
        std::fs::read_dir(dir.path().join("images/layers"))
            .unwrap()
            .count()
    };
    // The two share their config blob.
    assert_eq!((blobs(), layers()), (5, 2));
    assert!(store.remove(&a).unwrap() > 0);
    assert_eq!(store.digest_of("a:1").unwrap(), None);
    assert_eq!((blobs(), layers()), (3, 1));
    let b = store.resolve("b:1").unwrap().expect("b is kept");
    assert_eq!(std::fs::read(b.layers[0].join("bin/hello")).unwrap(), b"b");
    let (capacity, available) = store.fs_stats().unwrap();
    assert!(capacity > 0 && available <= capacity);
}
