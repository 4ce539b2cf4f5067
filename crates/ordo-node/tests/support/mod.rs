//! Helpers shared by ordo-node's integration tests.

#![allow(dead_code)]

pub mod registry;

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds (or finds cached) the test image archives of `images/build.sh`; returns their folder.
pub fn build_images() -> PathBuf {
    let out = repo().join("target/test-images");
    let st = std::process::Command::new("bash")
        .arg(repo().join("images/build.sh"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "images/build.sh failed");
    out
}
