//! One reflector per resource kind in the process, shared by every reader.
//!
//! [`Caches`] is the registry: the first reader of a kind starts its reflector (a kube-runtime
//! `watcher` feeding a `reflector::Store`), every later reader gets the same [`Shared`] handle.
//! A reader then
//! - reads the cache ([`Shared::state`], [`Shared::get`], [`Shared::in_namespace`]) instead of
//!   asking the API server,
//! - follows changes: [`Shared::changes`] (applies, deletions and whole-cache resyncs, for
//!   readers that keep their own index, like the scheduler or the DNS), [`Shared::stream`]
//!   (a trigger stream for kube-runtime's `Controller::for_stream`, `owns_stream` and
//!   `watches_stream`) or [`Shared::on_change`] (a `Notify` pinged on every change, for
//!   readers that recompute everything, paced by [`crate::pacing::Pacer`]),
//! - after its own writes, waits until the cache shows them ([`Shared::wait_until`]), which is
//!   what upstream's "expectations" are for: a sync never acts on a cache older than its own
//!   last writes, so it never creates or deletes twice.
//!
//! Kinds the process has no Rust type for (custom resources, for the garbage collector) are
//! cached as `DynamicObject`s by [`Caches::dynamic`]; [`Caches::metadata`] reads any kind,
//! typed or not, as metadata only.

use futures::{Stream, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{store::Writer, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, Notify};

/// Changes buffered per subscriber before it counts as lagging (it then gets the whole cache
/// again, so no change is lost). The ring keeps this many recent versions alive: 1,024 saved
/// memory (RSS with 20,000 pods 470 instead of 532 MiB) but made lagging readers resync the
/// whole cache so often that a 10,000-pod StatefulSet took 44 s instead of 21-22 s.
const BUFFER: usize = 8192;

/// A change of a cache, as its subscribers see it.
#[derive(Debug, Clone)]
pub enum Change<K> {
    /// The object was created or changed (the new version).
    Apply(Arc<K>),
    /// The object was deleted (its last version).
    Delete(Arc<K>),
    /// The whole cache: first of every subscription, after a re-list (objects deleted while
    /// the watch was down are simply absent) and after the subscriber lagged behind.
    All(Vec<Arc<K>>),
}

/// One reflector of a kind, shared by every reader in the process.
pub struct Shared<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store: Store<K>,
    events: broadcast::Sender<Change<K>>,
    changed: Arc<Notify>,
    listeners: Arc<Mutex<Vec<Arc<Notify>>>>,
    /// True once the cache has listed everything (kube-runtime's own readiness wakes only
    /// the last of several concurrent waiters).
    listed: tokio::sync::watch::Sender<bool>,
    dt: K::DynamicType,
}

impl<K> Shared<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Default + Send + Sync,
{
    /// Starts watching every object of `api` (cluster-wide) with `config`, each passed through
    /// `strip` before it is cached (to drop what no reader needs).
    pub fn start(api: Api<K>, config: watcher::Config, strip: fn(&mut K)) -> Arc<Self> {
        Self::start_with(api, config, strip, Default::default())
    }
}

impl<K> Shared<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    /// [`Shared::start`] for a kind known at run time only (`dt` is its `ApiResource`).
    pub fn start_with(
        api: Api<K>,
        config: watcher::Config,
        strip: fn(&mut K),
        dt: K::DynamicType,
    ) -> Arc<Self> {
        let writer = Writer::<K>::new(dt.clone());
        let store = writer.as_reader();
        let (events, _) = broadcast::channel(BUFFER);
        let changed = Arc::new(Notify::new());
        let listeners: Arc<Mutex<Vec<Arc<Notify>>>> = Default::default();
        let listed = tokio::sync::watch::Sender::new(false);
        let (tx, notify, ls, reader, done) = (
            events.clone(),
            changed.clone(),
            listeners.clone(),
            store.clone(),
            listed.clone(),
        );
        let plural = K::plural(&dt).to_string();
        tokio::spawn(
            watcher(api, config)
                .default_backoff()
                .modify(strip)
                .reflect(writer)
                .for_each(move |ev| {
                    let change = match ev {
                        Ok(watcher::Event::Apply(o)) => Some(Change::Apply(Arc::new(o))),
                        Ok(watcher::Event::Delete(o)) => Some(Change::Delete(Arc::new(o))),
                        // The reflector has just swapped in the new list.
                        Ok(watcher::Event::InitDone) => {
                            done.send_replace(true);
                            Some(Change::All(reader.state()))
                        }
                        Ok(_) => None,
                        Err(e) => {
                            tracing::debug!("watching {plural}: {e}");
                            None
                        }
                    };
                    if let Some(change) = change {
                        let _ = tx.send(change);
                        notify.notify_waiters();
                        for l in ls.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                            l.notify_one();
                        }
                    }
                    futures::future::ready(())
                }),
        );
        Arc::new(Shared {
            store,
            events,
            changed,
            listeners,
            listed,
            dt,
        })
    }

    /// The cache (a cheap handle).
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// Waits until the cache has listed everything once (any number of readers may wait).
    pub async fn ready(&self) {
        let _ = self.listed.subscribe().wait_for(|listed| *listed).await;
    }

    /// Every cached object.
    pub fn state(&self) -> Vec<Arc<K>> {
        self.store.state()
    }

    /// The cached objects of one namespace.
    pub fn in_namespace(&self, ns: &str) -> Vec<Arc<K>> {
        self.store
            .state()
            .into_iter()
            .filter(|o| o.meta().namespace.as_deref() == Some(ns))
            .collect()
    }

    /// The cached object `name` in namespace `ns` (`""` for cluster-scoped kinds).
    pub fn get(&self, ns: &str, name: &str) -> Option<Arc<K>> {
        let r = ObjectRef::new_with(name, self.dt.clone());
        self.store
            .get(&if ns.is_empty() { r } else { r.within(ns) })
    }

    /// Pings `notify` (`notify_one`, so a ping while its reader is busy is kept) on every
    /// change from now on.
    pub fn on_change(&self, notify: Arc<Notify>) {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(notify);
    }

    /// Every change from now on, preceded by the whole cache ([`Change::All`]).
    pub fn changes(&self) -> impl Stream<Item = Change<K>> + Send + 'static {
        let rx = self.events.subscribe();
        let store = self.store.clone();
        let first = Change::All(store.state());
        let live = futures::stream::unfold((rx, store), |(mut rx, store)| async move {
            match rx.recv().await {
                Ok(c) => Some((c, (rx, store))),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let all = Change::All(store.state());
                    Some((all, (rx, store)))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        });
        futures::stream::iter([first]).chain(live)
    }

    /// Every changed object (applied or deleted) from now on, preceded by the whole cache, as
    /// a trigger stream for kube-runtime's `Controller`.
    pub fn stream(&self) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
        self.changes()
            .flat_map(|c| {
                futures::stream::iter(match c {
                    Change::Apply(o) | Change::Delete(o) => vec![o],
                    Change::All(all) => all,
                })
            })
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

/// The objects of a [`Shared`] cache that a filter accepts, kept current from its changes
/// (no second watch); only changes of accepted objects ping its `Notify`. For readers that
/// care about a few objects of a numerous kind (the volume controllers read only the pods
/// that mount claims).
pub struct View<K>
where
    K: Resource + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    objects: Arc<Mutex<HashMap<ObjectRef<K>, Arc<K>>>>,
}

impl<K> View<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    /// Follows `cache`, keeping the objects `keep` accepts (`keep` must not change its answer
    /// over an object's life), pinging `notify` when one of them changes.
    pub fn new(cache: &Shared<K>, keep: fn(&K) -> bool, notify: Arc<Notify>) -> View<K> {
        let objects: Arc<Mutex<HashMap<ObjectRef<K>, Arc<K>>>> = Default::default();
        // Weak: the task ends with the View (a controller cancelled with its leader lease).
        let (map, dt) = (Arc::downgrade(&objects), cache.dt.clone());
        let key = move |o: &K| ObjectRef::from_obj_with(o, dt.clone());
        let mut changes = Box::pin(cache.changes());
        tokio::spawn(async move {
            while let Some(change) = changes.next().await {
                let Some(map) = map.upgrade() else { break };
                let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
                let touched = match change {
                    Change::Apply(o) if keep(&o) => {
                        map.insert(key(&o), o);
                        true
                    }
                    Change::Apply(_) => false,
                    Change::Delete(o) => map.remove(&key(&o)).is_some(),
                    Change::All(all) => {
                        *map = all
                            .into_iter()
                            .filter(|o| keep(o))
                            .map(|o| (key(&o), o))
                            .collect();
                        true
                    }
                };
                if touched {
                    notify.notify_one();
                }
            }
        });
        View { objects }
    }

    /// The accepted objects.
    pub fn state(&self) -> Vec<Arc<K>> {
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        map.values().cloned().collect()
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

/// Drops what no cached reader needs: managed fields (the largest part of most objects) and
/// `kubectl apply`'s copy of the last applied manifest.
pub fn strip_managed_fields<K: Resource>(o: &mut K) {
    let m = o.meta_mut();
    m.managed_fields = None;
    if let Some(a) = m.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
        if a.is_empty() {
            m.annotations = None;
        }
    }
}

/// A cache read as metadata only: what kind-agnostic readers (the garbage collector, the
/// namespace controller) need of any kind, typed or dynamic.
pub trait MetadataCache: Send + Sync {
    /// Calls `f` with the metadata of every cached object.
    fn each(&self, f: &mut dyn FnMut(&ObjectMeta));
    /// Pings `notify` on every change (see [`Shared::on_change`]).
    fn on_change(&self, notify: Arc<Notify>);
    /// Waits until the cache has listed everything once.
    fn ready(&self) -> futures::future::BoxFuture<'_, ()>;
}

impl<K> MetadataCache for Shared<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    fn each(&self, f: &mut dyn FnMut(&ObjectMeta)) {
        for o in self.store.state() {
            f(o.meta());
        }
    }
    fn on_change(&self, notify: Arc<Notify>) {
        Shared::on_change(self, notify)
    }
    fn ready(&self) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(Shared::ready(self))
    }
}

type AnyShared = Arc<dyn Any + Send + Sync>;
/// `(group, version, plural)` of a kind cached as `DynamicObject`s.
type DynamicKey = (String, String, String);

/// The registry of the process's caches: one [`Shared`] per kind, started by its first
/// reader. Cheap to clone (a handle).
#[derive(Clone)]
pub struct Caches {
    client: Client,
    /// The client the reflectors list and watch through.
    reader: Client,
    typed: Arc<Mutex<HashMap<TypeId, AnyShared>>>,
    dynamic: Arc<Mutex<HashMap<DynamicKey, Arc<Shared<DynamicObject>>>>>,
    pod_fields: Option<String>,
    /// [`Caches::may_watch`]'s answers by kind.
    allowed: Arc<tokio::sync::Mutex<HashMap<TypeId, bool>>>,
}

impl Caches {
    /// An empty registry whose reflectors watch through `client`.
    pub fn new(client: Client) -> Caches {
        Caches {
            reader: client.clone(),
            client,
            typed: Default::default(),
            dynamic: Default::default(),
            pod_fields: None,
            allowed: Default::default(),
        }
    }

    /// A registry whose pod cache holds only the pods bound to `node` (what a node agent on its
    /// own machine needs; every other kind is cached whole).
    pub fn for_node(client: Client, node: &str) -> Caches {
        Caches {
            pod_fields: Some(format!("spec.nodeName={node}")),
            ..Caches::new(client)
        }
    }

    /// The client of this handle's component, for its writes and reads outside the caches.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The same caches for a component with a credential of its own: `client` answers
    /// [`Caches::client`]; the caches keep listing and watching through the reader's client.
    pub fn with_client(&self, client: Client) -> Caches {
        Caches {
            client,
            ..self.clone()
        }
    }

    /// Whether the reader may list and watch every object of kind `K` (a cache of it can fill):
    /// a node's own credential may read only the Secrets and ConfigMaps its pods use. Asked once
    /// per kind with a SelfSubjectAccessReview (false when it cannot be asked).
    pub async fn may_watch<K>(&self) -> bool
    where
        K: Resource<DynamicType = ()> + 'static,
    {
        use k8s_openapi::api::authorization::v1::{
            ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
        };
        let mut allowed = self.allowed.lock().await;
        if let Some(a) = allowed.get(&TypeId::of::<K>()) {
            return *a;
        }
        let mut answer = true;
        for verb in ["list", "watch"] {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        verb: Some(verb.into()),
                        group: Some(K::group(&()).into_owned()),
                        resource: Some(K::plural(&()).into_owned()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            let api = Api::<SelfSubjectAccessReview>::all(self.reader.clone());
            match api.create(&Default::default(), &review).await {
                Ok(r) => answer &= r.status.is_some_and(|s| s.allowed),
                Err(e) => {
                    // Not remembered: asked again next time.
                    tracing::warn!("asking whether {verb} {} is allowed: {e}", K::plural(&()));
                    return false;
                }
            }
        }
        allowed.insert(TypeId::of::<K>(), answer);
        answer
    }

    /// The shared cache of kind `K`, started on first use.
    pub fn get<K>(&self) -> Arc<Shared<K>>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let mut typed = self.typed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = typed.get(&TypeId::of::<K>()) {
            if let Ok(s) = s.clone().downcast::<Shared<K>>() {
                return s;
            }
        }
        let mut config = watcher::Config::default();
        if K::kind(&()) == "Pod" && K::group(&()).is_empty() {
            if let Some(f) = &self.pod_fields {
                config = config.fields(f);
            }
        }
        let s = Shared::<K>::start(Api::all(self.reader.clone()), config, strip_managed_fields);
        typed.insert(TypeId::of::<K>(), s.clone());
        s
    }

    /// The shared cache of a kind known at run time only (custom resources), as
    /// `DynamicObject`s, started on first use.
    pub fn dynamic(&self, ar: &ApiResource) -> Arc<Shared<DynamicObject>> {
        let key = (ar.group.clone(), ar.version.clone(), ar.plural.clone());
        let mut dynamic = self.dynamic.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = dynamic.get(&key) {
            return s.clone();
        }
        let s = Shared::start_with(
            Api::all_with(self.reader.clone(), ar),
            watcher::Config::default(),
            strip_managed_fields,
            ar.clone(),
        );
        dynamic.insert(key, s.clone());
        s
    }

    /// Any kind's cache read as metadata: the typed cache for the kinds ordo has Rust types
    /// for (so the garbage collector shares the controllers' pod cache instead of holding a
    /// second one), a dynamic cache for the rest.
    pub fn metadata(&self, ar: &ApiResource) -> Arc<dyn MetadataCache> {
        use k8s_openapi::api::{apps::v1 as apps, core::v1 as core};
        macro_rules! typed {
            ($($t:ty),*) => {
                $(if ar.group == <$t>::GROUP && ar.kind == <$t>::KIND {
                    return self.get::<$t>();
                })*
            };
        }
        use k8s_openapi::Resource as _;
        typed!(
            core::Pod,
            core::ServiceAccount,
            core::Endpoints,
            k8s_openapi::api::storage::v1::StorageClass,
            core::PersistentVolumeClaim,
            core::PersistentVolume,
            core::Service,
            core::Node,
            core::Namespace,
            core::ConfigMap,
            core::Secret,
            apps::StatefulSet,
            apps::ReplicaSet,
            apps::Deployment,
            apps::ControllerRevision,
            k8s_openapi::api::discovery::v1::EndpointSlice
        );
        self.dynamic(ar)
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
