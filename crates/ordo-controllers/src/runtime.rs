//! The client-side runtime controllers share: one reflector per resource kind in the process
//! ([`Shared`]), whose cache every controller reads instead of asking the API server, and whose
//! events (applies *and* deletions) every controller can take as a trigger stream for
//! kube-runtime's `Controller::for_stream`, `owns_stream` and `watches_stream`; and the wait a
//! controller makes after its writes until the cache shows them ([`Shared::wait_until`]), which
//! is what upstream's "expectations" are for: a sync never acts on a cache older than its own
//! last writes, so it never creates or deletes twice.

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::Api;
use kube::runtime::reflector::{store::Writer, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, Notify};

/// Objects buffered per subscriber before it counts as lagging (it then gets the whole cache
/// again, so no change is lost).
const BUFFER: usize = 8192;

/// One reflector of a kind, shared by every reader in the process.
pub struct Shared<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    events: broadcast::Sender<Arc<K>>,
    changed: Arc<Notify>,
}

impl<K> Shared<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// Starts watching every object of `api` (cluster-wide), each passed through `strip`
    /// before it is cached (to drop what no reader needs).
    pub fn start(api: Api<K>, strip: fn(&mut K)) -> Arc<Self> {
        let writer = Writer::<K>::default();
        let store = writer.as_reader();
        let (events, _) = broadcast::channel(BUFFER);
        let changed = Arc::new(Notify::new());
        let (tx, notify) = (events.clone(), changed.clone());
        tokio::spawn(
            watcher(api, watcher::Config::default())
                .default_backoff()
                .modify(strip)
                .reflect(writer)
                .for_each(move |ev| {
                    match ev {
                        Ok(watcher::Event::Apply(o))
                        | Ok(watcher::Event::Delete(o))
                        | Ok(watcher::Event::InitApply(o)) => {
                            let _ = tx.send(Arc::new(o));
                        }
                        Ok(_) => {}
                        Err(e) => tracing::debug!("watching {}: {e}", K::plural(&())),
                    }
                    notify.notify_waiters();
                    futures::future::ready(())
                }),
        );
        Arc::new(Shared {
            store,
            events,
            changed,
        })
    }

    /// The cache (a cheap handle).
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// Waits until the cache has listed everything once.
    pub async fn ready(&self) {
        let _ = self.store.wait_until_ready().await;
    }

    /// The cached objects of one namespace.
    pub fn in_namespace(&self, ns: &str) -> Vec<Arc<K>> {
        self.store
            .state()
            .into_iter()
            .filter(|o| o.meta().namespace.as_deref() == Some(ns))
            .collect()
    }

    /// The cached object `ns/name`.
    pub fn get(&self, ns: &str, name: &str) -> Option<Arc<K>> {
        self.store.get(&ObjectRef::new(name).within(ns))
    }

    /// Every change from now on (applied or deleted objects), preceded by the whole cache, as
    /// a trigger stream for kube-runtime's `Controller`. A subscriber that falls behind gets the
    /// whole cache again.
    pub fn stream(&self) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
        let rx = self.events.subscribe();
        let store = self.store.clone();
        let first: Vec<Arc<K>> = store.state();
        let live = futures::stream::unfold((rx, store), |(mut rx, store)| async move {
            match rx.recv().await {
                Ok(o) => Some((vec![o], (rx, store))),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let all = store.state();
                    Some((all, (rx, store)))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
        .flat_map(futures::stream::iter);
        futures::stream::iter(first)
            .chain(live)
            .map(|o| Ok(K::clone(&o)))
    }

    /// Waits (up to `limit`) until `done` holds for the cached `ns/name` (`None`: not cached).
    /// Returns whether it did.
    pub async fn wait_until(
        &self,
        ns: &str,
        name: &str,
        limit: Duration,
        done: impl Fn(Option<&K>) -> bool,
    ) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if done(self.get(ns, name).as_deref()) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, changed).await.is_err() {
                return done(self.get(ns, name).as_deref());
            }
        }
    }
}

/// Whether the cached copy is at least as new as `rv` (resource versions are numbers in both
/// store engines; an unparsable one must match exactly).
pub fn at_least(cached: Option<&str>, rv: Option<&str>) -> bool {
    match (cached, rv) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(c), Some(r)) => match (c.parse::<u64>(), r.parse::<u64>()) {
            (Ok(c), Ok(r)) => c >= r,
            _ => c == r,
        },
    }
}

/// Drops what no cached reader needs (managed fields: the largest part of most objects).
pub fn strip_managed_fields<K: Resource>(o: &mut K) {
    o.meta_mut().managed_fields = None;
}

/// The caches the controllers share (one reflector per kind in the process).
pub struct Caches {
    pub pods: Arc<Shared<Pod>>,
    pub claims: Arc<Shared<PersistentVolumeClaim>>,
    pub revisions: Arc<Shared<ControllerRevision>>,
    pub statefulsets: Arc<Shared<StatefulSet>>,
}

impl Caches {
    /// Starts the shared reflectors.
    pub fn start(client: &Client) -> Caches {
        Caches {
            pods: Shared::start(Api::all(client.clone()), strip_managed_fields),
            claims: Shared::start(Api::all(client.clone()), strip_managed_fields),
            revisions: Shared::start(Api::all(client.clone()), strip_managed_fields),
            statefulsets: Shared::start(Api::all(client.clone()), strip_managed_fields),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::at_least;

    #[test]
    fn resource_versions_compare_as_numbers() {
        assert!(at_least(Some("10"), Some("9")));
        assert!(!at_least(Some("9"), Some("10")));
        assert!(at_least(Some("x"), Some("x")));
        assert!(!at_least(None, Some("1")));
        assert!(at_least(None, None));
    }
}
