//! Keeps the configMap, secret, downwardAPI and projected volumes of running pods up to date,
//! as the kubelet's volume manager does (it resyncs within about a minute; this reacts to
//! watch events, within moments). It follows three of the process's shared caches
//! ([`ordo_client::Caches`]): all ConfigMaps and Secrets, and the pods (those bound to this
//! node: their labels and annotations).
//! A change marks the pods that read the object dirty; one worker rewrites their volumes with
//! the atomic writer, which writes nothing when the files are already right.
//!
//! ServiceAccount tokens of `serviceAccountToken` projections are requested again when the
//! token manager ([`super::tokens`]) says they must be (80 % of their lifetime), checked every
//! [`TOKEN_CHECK_PERIOD`].
//!
//! A node that joined with its own credential (`system:node:NAME`) may not list Secrets and
//! ConfigMaps, only read those its pods use: when the caches are refused, the refresher reads
//! each object its pods use by name every [`GET_PERIOD`] instead (the kubelet's `Cache`
//! change-detection strategy).
//!
//! The runtime [`Refresher::register`]s a pod once its sandbox exists (or it was adopted) and
//! [`Refresher::unregister`]s it before removing its directory; nothing is written after that.

use super::projection::{self, NodeAllocatable, Objects};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Volume};
use kube::{Resource, ResourceExt};
use ordo_client::{Caches, Change, Shared};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How often the tokens of registered pods are checked for refresh.
pub const TOKEN_CHECK_PERIOD: std::time::Duration = std::time::Duration::from_secs(30);

/// How often a node that may not list Secrets and ConfigMaps reads again those its pods use.
pub const GET_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

/// A pod whose volumes are kept fresh.
#[derive(Clone)]
struct Registered {
    pod: Pod,
    dir: PathBuf,
}

#[derive(Default)]
struct State {
    pods: HashMap<String, Registered>,
    dirty: HashSet<String>,
}

/// The shared ConfigMap and Secret caches.
type ObjectCaches = (Arc<Shared<ConfigMap>>, Arc<Shared<Secret>>);

/// Refreshes the projected volumes of the pods registered with it.
pub struct Refresher {
    caches: Caches,
    node: NodeAllocatable,
    state: Mutex<State>,
    wake: tokio::sync::Notify,
    started: AtomicBool,
    /// The ConfigMap and Secret caches, once the first pod registers.
    objects: std::sync::OnceLock<ObjectCaches>,
    /// Held while volumes are written; [`Refresher::unregister`] takes it so that a pod being
    /// removed is not written to afterwards.
    writing: tokio::sync::Mutex<()>,
}

fn has_projected(pod: &Pod) -> bool {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .any(projection::is_projected)
}

impl Refresher {
    /// A refresher reading the shared `caches`; `data_dir` sizes `limits.ephemeral-storage`.
    /// It starts following the caches with the first registered pod.
    pub fn new(caches: Caches, data_dir: &Path) -> Arc<Refresher> {
        Arc::new(Refresher {
            caches,
            node: NodeAllocatable::probe(data_dir),
            state: Mutex::new(State::default()),
            wake: tokio::sync::Notify::new(),
            started: AtomicBool::new(false),
            objects: std::sync::OnceLock::new(),
            writing: tokio::sync::Mutex::new(()),
        })
    }

    /// Keeps the volumes of `pod` (its sandbox in `dir`) fresh from now on, and brings them
    /// up to date once (a pod adopted after a restart may have missed changes).
    pub fn register(self: &Arc<Self>, pod: &Pod, dir: &Path) {
        let Some(uid) = pod.uid() else { return };
        if !has_projected(pod) {
            return;
        }
        if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            self.start(node);
        }
        let mut st = self.state.lock().unwrap();
        st.pods.insert(
            uid.clone(),
            Registered {
                pod: pod.clone(),
                dir: dir.to_path_buf(),
            },
        );
        st.dirty.insert(uid);
        drop(st);
        self.wake.notify_one();
    }

    /// Stops refreshing the pod; when this returns nothing writes its volumes any more.
    pub async fn unregister(&self, uid: &str) {
        {
            let mut st = self.state.lock().unwrap();
            st.pods.remove(uid);
            st.dirty.remove(uid);
        }
        let _quiet = self.writing.lock().await;
        super::tokens::manager().forget(uid);
    }

    fn start(self: &Arc<Self>, node: &str) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::info!(
            "refreshing configMap, secret, downwardAPI and projected volumes of node {node}"
        );
        tokio::spawn(self.clone().watch_pods(node.to_string()));
        tokio::spawn(self.clone().check_tokens());
        tokio::spawn(self.clone().follow());
    }

    /// Follows the Secrets and ConfigMaps the pods read, through the shared caches or, when
    /// this node may not list them, by reading each by name every [`GET_PERIOD`]; then
    /// rewrites dirty pods' volumes.
    async fn follow(self: Arc<Self>) {
        let whole_kinds =
            self.caches.may_watch::<ConfigMap>().await && self.caches.may_watch::<Secret>().await;
        if whole_kinds {
            let (config_maps, secrets) = self
                .objects
                .get_or_init(|| (self.caches.get(), self.caches.get()))
                .clone();
            tokio::spawn(
                self.clone()
                    .follow_objects(config_maps.clone(), |v| projection::references(v).0),
            );
            tokio::spawn(
                self.clone()
                    .follow_objects(secrets.clone(), |v| projection::references(v).1),
            );
            tokio::join!(config_maps.ready(), secrets.ready());
        } else {
            tracing::info!(
                "this node may not list Secrets and ConfigMaps: reading those its pods use by name every {}s",
                GET_PERIOD.as_secs()
            );
            let me = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(GET_PERIOD);
                loop {
                    tick.tick().await;
                    me.touch_all();
                }
            });
        }
        self.work(whole_kinds).await
    }

    /// Marks dirty the pods in `ns` with a volume that `refs` says reads `name`.
    fn touch(&self, ns: &str, name: &str, refs: fn(&Volume) -> Vec<String>) {
        let mut st = self.state.lock().unwrap();
        let hit: Vec<String> = st
            .pods
            .iter()
            .filter(|(_, r)| r.pod.metadata.namespace.as_deref().unwrap_or("default") == ns)
            .filter(|(_, r)| {
                r.pod
                    .spec
                    .iter()
                    .flat_map(|s| s.volumes.iter().flatten())
                    .any(|v| refs(v).iter().any(|n| n == name))
            })
            .map(|(uid, _)| uid.clone())
            .collect();
        if hit.is_empty() {
            return;
        }
        st.dirty.extend(hit);
        drop(st);
        self.wake.notify_one();
    }

    fn touch_all(&self) {
        let mut st = self.state.lock().unwrap();
        let all: Vec<String> = st.pods.keys().cloned().collect();
        st.dirty.extend(all);
        drop(st);
        self.wake.notify_one();
    }

    /// Follows one kind's cache and marks the pods reading a changed object.
    async fn follow_objects<K>(
        self: Arc<Self>,
        cache: Arc<Shared<K>>,
        refs: fn(&Volume) -> Vec<String>,
    ) where
        K: Resource<DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug
            + Send
            + Sync
            + 'static,
    {
        cache.ready().await;
        let mut changes = Box::pin(cache.changes());
        while let Some(change) = changes.next().await {
            match change {
                Change::Apply(o) | Change::Delete(o) => {
                    let ns = o.namespace().unwrap_or_default();
                    self.touch(&ns, &o.name_any(), refs);
                }
                Change::All(_) => self.touch_all(),
            }
        }
    }

    /// Marks dirty the pods with a token that must be requested again, periodically.
    async fn check_tokens(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TOKEN_CHECK_PERIOD);
        loop {
            tick.tick().await;
            let mut st = self.state.lock().unwrap();
            let stale: Vec<String> = st
                .pods
                .keys()
                .filter(|uid| super::tokens::manager().needs_refresh(uid))
                .cloned()
                .collect();
            if stale.is_empty() {
                continue;
            }
            st.dirty.extend(stale);
            drop(st);
            self.wake.notify_one();
        }
    }

    /// Follows the node's pods: new labels or annotations mark the pod dirty.
    async fn watch_pods(self: Arc<Self>, node: String) {
        let cache = self.caches.get::<Pod>();
        let mut changes = Box::pin(cache.changes());
        while let Some(change) = changes.next().await {
            let pods = match change {
                Change::Apply(p) => vec![p],
                Change::All(all) => all,
                Change::Delete(_) => continue,
            };
            for p in pods {
                if p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.as_str()) {
                    self.pod_changed(&p);
                }
            }
        }
    }

    /// Takes a pod's new labels and annotations; marks it dirty if its volumes read them.
    fn pod_changed(&self, p: &Pod) {
        let Some(uid) = p.uid() else { return };
        let mut st = self.state.lock().unwrap();
        let Some(r) = st.pods.get_mut(&uid) else {
            return;
        };
        let m = &r.pod.metadata;
        if m.labels == p.metadata.labels && m.annotations == p.metadata.annotations {
            return;
        }
        r.pod.metadata.labels = p.metadata.labels.clone();
        r.pod.metadata.annotations = p.metadata.annotations.clone();
        let reads = r
            .pod
            .spec
            .iter()
            .flat_map(|s| s.volumes.iter().flatten())
            .any(projection::reads_pod_metadata);
        if reads {
            st.dirty.insert(uid);
            drop(st);
            self.wake.notify_one();
        }
    }

    /// The config maps and secrets the pod's volumes read, each read by name from the API
    /// (for a node that may not list them). Absent ones are left out, as from the caches.
    async fn read_objects(&self, pod: &Pod) -> Result<Objects, kube::Error> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let client = self.caches.client();
        let mut out = Objects::default();
        for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
            super::read_referenced(v, ns, client, &mut out).await?;
        }
        Ok(out)
    }

    /// The cached config maps and secrets the pod's volumes read.
    fn objects(&self, pod: &Pod) -> Objects {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let mut out = Objects::default();
        let Some((config_maps, secrets)) = self.objects.get() else {
            return out;
        };
        for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
            let (cms, secret_names) = projection::references(v);
            for n in cms {
                if let Some(o) = config_maps.get(ns, &n) {
                    out.config_maps.insert(n, (*o).clone());
                }
            }
            for n in secret_names {
                if let Some(o) = secrets.get(ns, &n) {
                    out.secrets.insert(n, (*o).clone());
                }
            }
        }
        out
    }

    /// Adds the pod's ServiceAccount tokens to `objects` (fresh ones from the token manager); a
    /// token that cannot be had is logged, and its volume keeps what it shows.
    async fn tokens(&self, pod: &Pod, objects: &mut Objects) {
        let client = self.caches.client();
        for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
            if super::tokens::token_sources(v).next().is_none() {
                continue;
            }
            match super::tokens::manager().tokens_for(client, pod, v).await {
                Ok(t) => objects.tokens.extend(t),
                Err(e) => tracing::warn!(
                    "pod {}/{}: volume {:?}: {e:#}",
                    pod.namespace().unwrap_or_default(),
                    pod.name_any(),
                    v.name
                ),
            }
        }
    }

    /// Rewrites the volumes of dirty pods: from the caches (`whole_kinds`, once they hold
    /// every object) or from single reads.
    async fn work(self: Arc<Self>, whole_kinds: bool) {
        loop {
            let batch: Vec<Registered> = {
                let mut st = self.state.lock().unwrap();
                let dirty: Vec<String> = st.dirty.drain().collect();
                dirty
                    .iter()
                    .filter_map(|uid| st.pods.get(uid).cloned())
                    .collect()
            };
            if batch.is_empty() {
                self.wake.notified().await;
                continue;
            }
            let _writing = self.writing.lock().await;
            for r in batch {
                let uid = r.pod.uid().unwrap_or_default();
                if !self.state.lock().unwrap().pods.contains_key(&uid) {
                    continue;
                }
                let mut objects = if whole_kinds {
                    self.objects(&r.pod)
                } else {
                    match self.read_objects(&r.pod).await {
                        Ok(o) => o,
                        Err(e) => {
                            tracing::warn!(
                                "pod {}/{}: reading the objects its volumes use: {e}",
                                r.pod.namespace().unwrap_or_default(),
                                r.pod.name_any()
                            );
                            continue;
                        }
                    }
                };
                self.tokens(&r.pod, &mut objects).await;
                let changed = super::refresh(&r.pod, &r.dir, &objects, &self.node);
                if !changed.is_empty() {
                    tracing::info!(
                        "pod {}/{}: volumes {changed:?} updated",
                        r.pod.namespace().unwrap_or_default(),
                        r.pod.name_any()
                    );
                }
            }
        }
    }
}
