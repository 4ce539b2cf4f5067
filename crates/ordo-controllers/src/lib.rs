//! The controllers of ordo. Each is a client of the Kubernetes API only, exactly as
//! kube-controller-manager is: it reads the shared caches of [`ordo_client`] (one reflector per
//! kind in the process) and writes through the API server.

mod aggregation;
mod cronjob;
mod deployment;
mod disruption;
mod endpointslice;
mod gc;
mod job;
mod namespace;
mod ownership;
mod replicaset;
mod root_ca;
mod scheduler;
mod statefulset;
mod volume;

/// Runs every controller and the scheduler until one fails; the local-path provisioner puts
/// volume directories in `volumes_dir`; `root_ca` (PEM) is published in every namespace as
/// the `kube-root-ca.crt` ConfigMap.
pub async fn run(
    caches: ordo_client::Caches,
    volumes_dir: std::path::PathBuf,
    root_ca: String,
) -> anyhow::Result<()> {
    tokio::try_join!(
        statefulset::run(caches.clone()),
        replicaset::run(caches.clone()),
        deployment::run(caches.clone()),
        gc::run(caches.clone()),
        namespace::run(caches.clone()),
        scheduler::run(caches.clone()),
        endpointslice::run(caches.clone()),
        disruption::run(caches.clone()),
        job::run(caches.clone()),
        cronjob::run(caches.clone()),
        aggregation::run(caches.clone()),
        volume::run(caches.clone(), volumes_dir),
        root_ca::run(caches.clone(), root_ca),
    )?;
    Ok(())
}
