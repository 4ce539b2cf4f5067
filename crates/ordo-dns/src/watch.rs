//! Keeps the [`Zone`] current: kube-rs watchers on Services, EndpointSlices and Pods feed
//! slim copies of the objects into maps, and every change rebuilds the snapshot (changes
//! within a few milliseconds are folded into one rebuild).

use crate::zone::{
    pod_entry, service_entry, slice_entry, PodEntry, ServiceEntry, SliceEntry, Zone,
};
use crate::Snapshot;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource};
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

/// Mirrors `api` into `map` (through `slim`), pinging `changed` on every change and
/// counting itself in `synced` once its first list is complete.
async fn follow<K, T>(
    api: Api<K>,
    slim: fn(&K) -> Option<T>,
    map: Map<T>,
    changed: Arc<Notify>,
    synced: Arc<AtomicUsize>,
) where
    K: Resource + Clone + Debug + k8s_openapi::serde::de::DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    let mut pending: Option<HashMap<String, T>> = None;
    let mut counted = false;
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    loop {
        let ev = match events.try_next().await {
            Ok(Some(ev)) => ev,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("dns watch: {e}");
                continue;
            }
        };
        match ev {
            watcher::Event::Init => pending = Some(HashMap::new()),
            watcher::Event::InitApply(o) => {
                if let (Some(p), Some(v)) = (pending.as_mut(), slim(&o)) {
                    p.insert(key(&o), v);
                }
            }
            watcher::Event::InitDone => {
                if let Some(p) = pending.take() {
                    *map.lock().expect("dns map") = p;
                }
                if !counted {
                    counted = true;
                    synced.fetch_add(1, Ordering::SeqCst);
                }
                changed.notify_one();
            }
            watcher::Event::Apply(o) => {
                let mut m = map.lock().expect("dns map");
                match slim(&o) {
                    Some(v) => m.insert(key(&o), v),
                    None => m.remove(&key(&o)),
                };
                drop(m);
                changed.notify_one();
            }
            watcher::Event::Delete(o) => {
                map.lock().expect("dns map").remove(&key(&o));
                changed.notify_one();
            }
        }
    }
}

/// Watches the cluster and keeps `snapshot` current, for ever.
pub async fn keep_current(client: Client, domain: String, snapshot: Arc<RwLock<Arc<Snapshot>>>) {
    let src = Sources::default();
    let changed = Arc::new(Notify::new());
    let synced = Arc::new(AtomicUsize::new(0));
    tokio::spawn(follow(
        Api::<Service>::all(client.clone()),
        service_entry,
        src.services.clone(),
        changed.clone(),
        synced.clone(),
    ));
    tokio::spawn(follow(
        Api::<EndpointSlice>::all(client.clone()),
        slice_entry,
        src.slices.clone(),
        changed.clone(),
        synced.clone(),
    ));
    tokio::spawn(follow(
        Api::<Pod>::all(client),
        pod_entry,
        src.pods.clone(),
        changed.clone(),
        synced.clone(),
    ));
    let mut serial: u32 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(1);
    let mut pause = MIN_REBUILD_PAUSE;
    loop {
        changed.notified().await;
        tokio::time::sleep(pause).await;
        let began = std::time::Instant::now();
        let zone = {
            let (svcs, slices, pods) = (
                src.services.lock().expect("dns map"),
                src.slices.lock().expect("dns map"),
                src.pods.lock().expect("dns map"),
            );
            Zone::build(&domain, svcs.values(), slices.values(), pods.values())
        };
        serial = serial.wrapping_add(1);
        let snap = Snapshot {
            zone,
            serial,
            synced: synced.load(Ordering::SeqCst) >= 3,
        };
        *snapshot.write().expect("zone lock") = Arc::new(snap);
        // The zone is rebuilt whole; with 20,000 pods changing, rebuilds would follow each
        // other back to back. Rest several times as long as the build took, so the DNS takes
        // at most about a tenth of a core (and small clusters still see changes in 20 ms).
        pause = (began.elapsed() * PAUSE_PER_BUILD).clamp(MIN_REBUILD_PAUSE, MAX_REBUILD_PAUSE);
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
