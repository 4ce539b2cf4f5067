//! `ordo image`: the node's image store from the command line (import, pull, push, ls); the
//! work is in `ordo_node::image`.

use crate::args::{init_tracing, tokio_runtime, DataDirArgs};
use anyhow::Result;
use clap::Subcommand;
use ordo_node::image::{registry::RegistryConfig, ImageStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Subcommand)]
pub(crate) enum ImageCommand {
    /// Import OCI image layout or `docker save` archives into the node's image store.
    Import {
        /// Archives (.tar or .tar.gz).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Pull images from their registries (OCI distribution) into the node's image store.
    Pull {
        /// Image references (`127.0.0.1:5000/busybox:1.28`, `nginx:1.25.4`).
        #[arg(required = true)]
        references: Vec<String>,
        #[command(flatten)]
        registries: RegistryArgs,
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Push an image of the node's image store to a registry.
    Push {
        /// The image in the store (`busybox:1.28`).
        image: String,
        /// Where to push it (`127.0.0.1:5000/busybox:1.28`).
        target: String,
        #[command(flatten)]
        registries: RegistryArgs,
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// List the images in the node's image store.
    Ls {
        #[command(flatten)]
        data: DataDirArgs,
    },
}

/// `--insecure-registry` of `pull` and `push`.
#[derive(clap::Args)]
pub(crate) struct RegistryArgs {
    /// A registry (`HOST:PORT`) reached over plain HTTP; repeatable (loopback ones always are).
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    insecure_registries: Vec<String>,
}

/// Runs one `ordo image` command; prints what it did on stdout.
pub(crate) fn run(cmd: ImageCommand) -> Result<()> {
    match cmd {
        ImageCommand::Import { files, data } => {
            let store = ImageStore::open(&data.data_dir)?;
            for f in files {
                for r in store.import(&f)? {
                    println!("imported {r}");
                }
            }
        }
        ImageCommand::Pull {
            references,
            registries,
            data,
        } => {
            let (store, registries, rt) = registry_session(&data.data_dir, registries)?;
            for r in references {
                let p = rt.block_on(store.pull(&r, &registries, None))?;
                println!("pulled {} {} ({} bytes)", p.reference, p.digest, p.size);
            }
        }
        ImageCommand::Push {
            image,
            target,
            registries,
            data,
        } => {
            let (store, registries, rt) = registry_session(&data.data_dir, registries)?;
            let digest = rt.block_on(store.push(&image, &target, &registries))?;
            println!("pushed {target} {digest}");
        }
        ImageCommand::Ls { data } => {
            let store = ImageStore::open(&data.data_dir)?;
            println!("{:<50} {:<20} {:>10}", "IMAGE", "DIGEST", "SIZE");
            for i in store.list()? {
                let short = i.digest.strip_prefix("sha256:").unwrap_or(&i.digest);
                println!(
                    "{:<50} {:<20} {:>10}",
                    ordo_node::image::reference::familiar(&i.reference),
                    &short[..12.min(short.len())],
                    format!("{:.1}MB", i.size as f64 / 1e6)
                );
            }
        }
    }
    Ok(())
}

/// What `ordo image pull|push` need: logs on stderr (filtered by `ORDO_LOG`), the store, the
/// registry settings and a tokio runtime.
fn registry_session(
    data_dir: &Path,
    registries: RegistryArgs,
) -> Result<(Arc<ImageStore>, RegistryConfig, tokio::runtime::Runtime)> {
    init_tracing(&std::env::var("ORDO_LOG").unwrap_or_else(|_| "info".into()));
    let store = Arc::new(ImageStore::open(data_dir)?);
    let rt = tokio_runtime()?;
    Ok((
        store,
        RegistryConfig {
            insecure: registries.insecure_registries,
        },
        rt,
    ))
}
