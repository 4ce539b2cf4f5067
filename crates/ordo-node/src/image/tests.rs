use super::*;
use std::io::Write;

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

/// A one-layer OCI layout archive named `name`.
fn oci_archive(name: &str, file: &[u8]) -> Vec<u8> {
    let layer = gzip(&tar_of(&[("bin/hello", file), ("etc/.wh.gone", b"")]));
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
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_d, "size": layer.len()}]
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
