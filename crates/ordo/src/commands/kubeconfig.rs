//! `ordo kubeconfig --user NAME [--group G]...`: prints a kubeconfig for a user authenticated
//! by a new client certificate signed by the cluster CA (CN = the user, O = each group), as
//! kube-apiserver's X.509 authentication reads it. The user has only the rights that RBAC
//! gives it.

use crate::args::DataDirArgs;
use anyhow::{Context, Result};
use ordo_apiserver::pki::ClusterCa;

#[derive(clap::Args)]
pub(crate) struct KubeconfigArgs {
    #[command(flatten)]
    data: DataDirArgs,
    /// The user name (the certificate's common name).
    #[arg(long)]
    user: String,
    /// A group of the user (the certificate's organizations); repeatable.
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// The API server's URL (default: the one in DATA/kubeconfig.yaml).
    #[arg(long)]
    server: Option<String>,
}

/// The server URL of the admin kubeconfig `ordo server` writes.
fn server_of(data_dir: &std::path::Path) -> Result<String> {
    let path = data_dir.join("kubeconfig.yaml");
    let kc = kube::config::Kubeconfig::read_from(&path)
        .with_context(|| format!("reading {} (or pass --server)", path.display()))?;
    kc.clusters
        .iter()
        .find_map(|c| c.cluster.as_ref().and_then(|c| c.server.clone()))
        .with_context(|| format!("{} names no server", path.display()))
}

/// Prints the kubeconfig on stdout.
pub(crate) fn run(args: KubeconfigArgs) -> Result<()> {
    anyhow::ensure!(!args.user.is_empty(), "--user must not be empty");
    let server = match args.server {
        Some(s) => s,
        None => server_of(&args.data.data_dir)?,
    };
    let ca = ClusterCa::load(&args.data.data_dir)?;
    print!("{}", ca.user_kubeconfig(&server, &args.user, &args.groups)?);
    Ok(())
}
