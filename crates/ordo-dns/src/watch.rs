//! Keeps the [`Zone`] current: the process's shared caches of Services, EndpointSlices and
//! Pods ([`ordo_client::Caches`]) feed slim copies of the objects into maps, and every change
//! rebuilds the snapshot, paced by [`Pacer`] (changes within a few milliseconds are folded
//! into one rebuild).

use crate::zone::{
    pod_entry, service_entry, slice_entry, PodEntry, ServiceEntry, SliceEntry, Zone,
};
use crate::Snapshot;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::{Api, Client, Resource};
use ordo_client::pacing::Pacer;
use ordo_client::{Caches, Change, Shared};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

type Map<T> = Arc<Mutex<HashMap<String, T>>>;

/// The slim objects the zone is built from, keyed `namespace/name`.
#[derive(Default)]
struct Sources {
    services: Map<((String, String), ServiceEntry)>,
    slices: Map<SliceEntry>,
    pods: Map<PodEntry>,
}

fn key<K: Resource>(o: &K) -> String {
    let m = o.meta();
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or("")
    )
}

/// Mirrors the cache `shared` into `map` (through `slim`), pinging `changed` on every change
/// and counting itself in `synced` once the cache has listed everything.
async fn follow<K, T>(
    shared: Arc<Shared<K>>,
    slim: fn(&K) -> Option<T>,
    map: Map<T>,
    changed: Arc<Notify>,
    synced: Arc<AtomicUsize>,
) where
    K: Resource<DynamicType = ()>
        + Clone
        + Debug
        + k8s_openapi::serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
    T: Send + 'static,
{
    tracing::debug!("dns: waiting for the {} cache", K::plural(&()));
    shared.ready().await;
    let mut changes = Box::pin(shared.changes());
    let mut counted = false;
    while let Some(change) = changes.next().await {
        {
            let mut m = map.lock().expect("dns map");
            match change {
                Change::All(all) => {
                    *m = all
                        .iter()
                        .filter_map(|o| Some((key(o.as_ref()), slim(o)?)))
                        .collect();
                }
                Change::Apply(o) => {
                    match slim(&o) {
                        Some(v) => m.insert(key(o.as_ref()), v),
                        None => m.remove(&key(o.as_ref())),
                    };
                }
                Change::Delete(o) => {
                    m.remove(&key(o.as_ref()));
                }
            }
        }
        if !counted {
            counted = true;
            synced.fetch_add(1, Ordering::SeqCst);
            tracing::debug!("dns: {} listed", K::plural(&()));
        }
        changed.notify_one();
    }
}

/// Watches the cluster through `caches` and keeps `snapshot` current, for ever.
pub async fn keep_current(caches: Caches, domain: String, snapshot: Arc<RwLock<Arc<Snapshot>>>) {
    let src = Sources::default();
    let changed = Arc::new(Notify::new());
    let synced = Arc::new(AtomicUsize::new(0));
    tokio::spawn(follow(
        caches.get::<Service>(),
        service_entry,
        src.services.clone(),
        changed.clone(),
        synced.clone(),
    ));
    tokio::spawn(follow(
        caches.get::<EndpointSlice>(),
        slice_entry,
        src.slices.clone(),
        changed.clone(),
        synced.clone(),
    ));
    tokio::spawn(follow(
        caches.get::<Pod>(),
        pod_entry,
        src.pods.clone(),
        changed.clone(),
        synced.clone(),
    ));
    let mut serial: u32 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(1);
    // The zone is rebuilt whole; with 20,000 pods changing, rebuilds would follow each other
    // back to back. Rest several times as long as the build took, so the DNS takes at most
    // about a tenth of a core (and small clusters still see changes in 20 ms).
    let mut pacer = Pacer::new(
        changed,
        MIN_REBUILD_PAUSE,
        MAX_REBUILD_PAUSE,
        PAUSE_PER_BUILD,
    );
    loop {
        pacer.next().await;
        let zone = pacer.timed(|| {
            let (svcs, slices, pods) = (
                src.services.lock().expect("dns map"),
                src.slices.lock().expect("dns map"),
                src.pods.lock().expect("dns map"),
            );
            Zone::build(&domain, svcs.values(), slices.values(), pods.values())
        });
        serial = serial.wrapping_add(1);
        let snap = Snapshot {
            zone,
            serial,
            synced: synced.load(Ordering::SeqCst) >= 3,
        };
        *snapshot.write().expect("zone lock") = Arc::new(snap);
    }
}

/// Shortest wait between a change and the rebuild of the zone (changes meanwhile are batched).
const MIN_REBUILD_PAUSE: Duration = Duration::from_millis(20);
/// Longest wait between two rebuilds.
const MAX_REBUILD_PAUSE: Duration = Duration::from_secs(1);
/// Wait after a rebuild, as a multiple of the time the rebuild took.
const PAUSE_PER_BUILD: u32 = 9;

/// Creates the `kube-dns` Service in `kube-system` with `cluster_ip` if it is missing,
/// retrying until the API answers.
pub async fn ensure_kube_dns_service(client: Client, cluster_ip: String) {
    let api: Api<Service> = Api::namespaced(client, "kube-system");
    let svc: Service =
        serde_json::from_value(kube_dns_service(&cluster_ip)).expect("kube-dns Service");
    let mut warned = false;
    loop {
        match api.get_opt("kube-dns").await {
            Ok(Some(_)) => return,
            Ok(None) => match api.create(&Default::default(), &svc).await {
                Ok(_) => {
                    tracing::info!(
                        "created Service kube-system/kube-dns with clusterIP {cluster_ip}"
                    );
                    return;
                }
                Err(kube::Error::Api(s)) if s.code == 409 => return,
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!("creating Service kube-system/kube-dns (retrying): {e}")
                }
                Err(e) => tracing::debug!("creating Service kube-system/kube-dns: {e}"),
            },
            Err(e) => tracing::debug!("reading Service kube-system/kube-dns: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The `kube-dns` Service, without a selector: ordo answers DNS itself, no pod does.
pub fn kube_dns_service(cluster_ip: &str) -> Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {
            "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}},
        "spec": {"clusterIP": cluster_ip, "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}
    })
}
