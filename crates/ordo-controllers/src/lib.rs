//! The controllers of ordo. Each is a client of the Kubernetes API only (kube-rs watch +
//! requests against ordo's own API server), exactly as kube-controller-manager is.

pub mod deployment;
pub mod endpointslice;
pub mod events;
pub mod gc;
pub mod namespace;
pub mod objects;
pub mod replicaset;
pub mod runtime;
pub mod scheduler;
pub mod statefulset;
pub mod volume;

/// Runs every controller and the scheduler until one fails; the local-path provisioner puts
/// volume directories in `volumes_dir`.
pub async fn run(client: kube::Client, volumes_dir: std::path::PathBuf) -> anyhow::Result<()> {
    let caches = runtime::Caches::start(&client);
    tokio::try_join!(
        statefulset::run(client.clone(), &caches),
        replicaset::run(client.clone()),
        deployment::run(client.clone()),
        gc::run(client.clone()),
        namespace::run(client.clone()),
        scheduler::run(client.clone()),
        endpointslice::run(client.clone(), &caches),
        volume::run(client.clone(), volumes_dir),
    )?;
    Ok(())
}
