//! The controllers of ordo. Each is a client of the Kubernetes API only, exactly as
//! kube-controller-manager is: it reads the shared caches of [`ordo_client`] (one reflector per
//! kind in the process) and writes through the API server.

mod aggregation;
pub mod certificates;
mod cronjob;
mod daemonset;
mod deployment;
mod disruption;
mod endpointslice;
mod gc;
mod history;
mod hpa;
mod job;
pub mod leader;
mod namespace;
pub mod nodeipam;
pub mod nodelifecycle;
mod ownership;
mod placement;
mod pod_control;
mod replicaset;
mod resourcequota;
mod root_ca;
mod scheduler;
mod statefulset;
mod volume;

/// Runs every controller (kube-controller-manager's part, the garbage collector included;
/// not the scheduler, see [`run_scheduler`]) until one fails; the local-path provisioner puts
/// volume directories in `volumes_dir`; `root_ca` (PEM) is published in every namespace as
/// the `kube-root-ca.crt` ConfigMap; with `ca`, node client certificate requests are approved
/// and signed ([`certificates`]); HorizontalPodAutoscalers are synced every `hpa_sync_period`;
/// nodes get their pod CIDR from `pod_cidr` ([`nodeipam`]); nodes that stop reporting are
/// handled with the timings of `node_lifecycle` ([`nodelifecycle`]).
///
/// Dropping the future stops every controller: none leaves a task behind that writes (what
/// [`leader::Elector`] relies on when the lease is lost).
pub async fn run(
    caches: ordo_client::Caches,
    volumes_dir: std::path::PathBuf,
    root_ca: String,
    ca: Option<std::sync::Arc<dyn certificates::CertificateAuthority>>,
    hpa_sync_period: std::time::Duration,
    node_lifecycle: nodelifecycle::Config,
    pod_cidr: String,
) -> anyhow::Result<()> {
    let signing = async {
        match ca {
            Some(ca) => certificates::run(caches.clone(), ca).await,
            None => Ok(()),
        }
    };
    tokio::try_join!(
        statefulset::run(caches.clone()),
        replicaset::run(caches.clone()),
        replicaset::run_replication(caches.clone()),
        resourcequota::run(caches.clone()),
        deployment::run(caches.clone()),
        daemonset::run(caches.clone()),
        gc::run(caches.clone()),
        namespace::run(caches.clone()),
        endpointslice::run(caches.clone()),
        disruption::run(caches.clone()),
        job::run(caches.clone()),
        hpa::run(caches.clone(), hpa_sync_period),
        cronjob::run(caches.clone()),
        aggregation::run(caches.clone()),
        volume::run(caches.clone(), volumes_dir),
        root_ca::run(caches.clone(), root_ca),
        nodelifecycle::run(caches.clone(), node_lifecycle),
        nodeipam::run(caches.clone(), pod_cidr),
        signing,
    )?;
    Ok(())
}

/// Runs the scheduler (kube-scheduler's part) until it fails; `caches` carry the scheduler's
/// own credential. Dropping the future stops it, bindings in flight included.
pub async fn run_scheduler(caches: ordo_client::Caches) -> anyhow::Result<()> {
    scheduler::run(caches).await
}
