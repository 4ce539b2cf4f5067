//! A container's root filesystem over the image's unpacked layers.

use std::path::{Path, PathBuf};

/// The container's root: an overlay of the image layers, else a copy of them.
pub fn make(dir: &Path, layers: &[PathBuf]) -> anyhow::Result<PathBuf> {
    let (rootfs, upper, work) = (dir.join("rootfs"), dir.join("upper"), dir.join("work"));
    for d in [&rootfs, &upper, &work] {
        std::fs::create_dir_all(d)?;
    }
    let lower: Vec<String> = layers
        .iter()
        .rev()
        .map(|l| l.display().to_string())
        .collect();
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    );
    match nix::mount::mount(
        Some("overlay"),
        &rootfs,
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(opts.as_str()),
    ) {
        Ok(()) => Ok(rootfs),
        Err(e) => {
            tracing::warn!(
                "overlay mount for {} failed ({e}); copying the image layers instead",
                rootfs.display()
            );
            for l in layers {
                let st = std::process::Command::new("cp")
                    .arg("-a")
                    .arg(format!("{}/.", l.display()))
                    .arg(&rootfs)
                    .status()?;
                anyhow::ensure!(st.success(), "copying layer {} failed", l.display());
            }
            Ok(rootfs)
        }
    }
}
