//! What upstream's controller "expectations" are for, done by waiting: a sync notes each of
//! its writes ([`Writes::wrote`], [`Writes::deleted`]) and, before it ends, waits until the
//! shared caches show them ([`Writes::observe`]). The next sync of the same object therefore
//! never reads a cache older than its own last writes, so it never creates or deletes twice.

use crate::cache::{at_least, Shared};
use futures::future::BoxFuture;
use kube::Resource;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a sync waits, at most, for the caches to show its writes.
pub const OBSERVE_LIMIT: Duration = Duration::from_secs(5);

type Check = Box<dyn FnOnce(Duration) -> BoxFuture<'static, (bool, String)> + Send>;

/// The writes of one sync.
#[derive(Default)]
pub struct Writes {
    checks: Mutex<Vec<Check>>,
}

impl Writes {
    /// Notes that a write returned `obj`: `cache` must show it, at least at that version.
    pub fn wrote<K>(&self, cache: &Arc<Shared<K>>, obj: &K)
    where
        K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        let m = obj.meta();
        let (ns, name) = (m.namespace.clone().unwrap_or_default(), m.name.clone());
        let (rv, cache) = (m.resource_version.clone(), cache.clone());
        let name = name.unwrap_or_default();
        self.push(Box::new(move |left| {
            Box::pin(async move {
                let ok = cache
                    .wait_until(&ns, &name, left, |o| {
                        o.is_some_and(|o| {
                            at_least(o.meta().resource_version.as_deref(), rv.as_deref())
                        })
                    })
                    .await;
                (ok, name)
            })
        }));
    }

    /// Notes a deletion of `ns/name` (with `uid`, if known): `cache` must show it gone,
    /// replaced by another object of the same name, or marked for deletion.
    pub fn deleted<K>(&self, cache: &Arc<Shared<K>>, ns: &str, name: &str, uid: Option<String>)
    where
        K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        let (ns, name, cache) = (ns.to_string(), name.to_string(), cache.clone());
        self.push(Box::new(move |left| {
            Box::pin(async move {
                let ok = cache
                    .wait_until(&ns, &name, left, |o| match o {
                        None => true,
                        Some(o) => {
                            o.meta().deletion_timestamp.is_some()
                                || (uid.is_some() && o.meta().uid != uid)
                        }
                    })
                    .await;
                (ok, name)
            })
        }));
    }

    fn push(&self, check: Check) {
        self.checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(check);
    }

    /// [`Writes::observe`] with [`OBSERVE_LIMIT`], logging each write the caches did not show
    /// in time; `what` names the synced object in the log (`statefulset ns/web`).
    pub async fn settle(&self, what: &str) {
        for name in self.observe(OBSERVE_LIMIT).await {
            tracing::debug!("{what}: cache did not show a write of {name} in time");
        }
    }

    /// Waits until the caches show every write noted so far (up to `limit` in all). Returns
    /// the names of the objects whose writes they did not show in time.
    pub async fn observe(&self, limit: Duration) -> Vec<String> {
        let checks = std::mem::take(&mut *self.checks.lock().unwrap_or_else(|e| e.into_inner()));
        let deadline = Instant::now() + limit;
        let mut late = Vec::new();
        for check in checks {
            let (ok, name) = check(deadline.saturating_duration_since(Instant::now())).await;
            if !ok {
                late.push(name);
            }
        }
        late
    }
}
