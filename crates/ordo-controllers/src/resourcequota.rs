//! The resource quota controller (upstream `pkg/controller/resourcequota`): keeps each
//! ResourceQuota's `status.hard` (its `spec.hard`) and `status.used` (what the namespace's
//! objects cost, measured by `ordo_api::quota`'s evaluators) current as objects come and go.
//! It reads the shared caches and writes status with compare-on-revision, so a charge the
//! API server's ResourceQuota admission made meanwhile is never overwritten blindly (the sync
//! is retried on the newer quota). Usage is recalculated in full every 5 minutes as well.

use crate::ownership::Error;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, ReplicationController, ResourceQuota, Secret, Service,
};
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource, ResourceExt};
use ordo_api::quota::{calculate_used, list_from_json, list_to_json};
use ordo_client::objects::is_not_found;
use ordo_client::{Caches, Shared};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often every quota is recalculated even when nothing it counts changed.
const RESYNC: Duration = Duration::from_secs(300);

/// The caches of the kinds quotas count, by (group, plural).
struct Counted {
    pods: Arc<Shared<Pod>>,
    services: Arc<Shared<Service>>,
    claims: Arc<Shared<PersistentVolumeClaim>>,
    config_maps: Arc<Shared<ConfigMap>>,
    secrets: Arc<Shared<Secret>>,
    rcs: Arc<Shared<ReplicationController>>,
    deployments: Arc<Shared<Deployment>>,
    replica_sets: Arc<Shared<ReplicaSet>>,
    stateful_sets: Arc<Shared<StatefulSet>>,
    jobs: Arc<Shared<Job>>,
}

fn json_of<K: Serialize>(items: Vec<Arc<K>>) -> Vec<Value> {
    items
        .iter()
        .filter_map(|o| serde_json::to_value(o.as_ref()).ok())
        .collect()
}

impl Counted {
    /// The namespace's objects of (group, plural) as JSON, or None for kinds not cached.
    fn objects(
        &self,
        quotas: &Shared<ResourceQuota>,
        ns: &str,
        g: &str,
        p: &str,
    ) -> Option<Vec<Value>> {
        Some(match (g, p) {
            ("", "pods") => json_of(self.pods.in_namespace(ns)),
            ("", "services") => json_of(self.services.in_namespace(ns)),
            ("", "persistentvolumeclaims") => json_of(self.claims.in_namespace(ns)),
            ("", "configmaps") => json_of(self.config_maps.in_namespace(ns)),
            ("", "secrets") => json_of(self.secrets.in_namespace(ns)),
            ("", "replicationcontrollers") => json_of(self.rcs.in_namespace(ns)),
            ("", "resourcequotas") => json_of(quotas.in_namespace(ns)),
            ("apps", "deployments") => json_of(self.deployments.in_namespace(ns)),
            ("apps", "replicasets") => json_of(self.replica_sets.in_namespace(ns)),
            ("apps", "statefulsets") => json_of(self.stateful_sets.in_namespace(ns)),
            ("batch", "jobs") => json_of(self.jobs.in_namespace(ns)),
            _ => return None,
        })
    }
}

struct Ctx {
    client: Client,
    quotas: Arc<Shared<ResourceQuota>>,
    counted: Counted,
}

/// Every quota of the namespace of `meta` (what to sync when an object there changes).
fn quotas_of(store: &Store<ResourceQuota>, ns: Option<&str>) -> Vec<ObjectRef<ResourceQuota>> {
    store
        .state()
        .iter()
        .filter(|q| q.metadata.namespace.as_deref() == ns)
        .map(|q| ObjectRef::from_obj(q.as_ref()))
        .collect()
}

/// Runs the resource quota controller until the watch streams end.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let ctx = Arc::new(Ctx {
        client,
        quotas: caches.get::<ResourceQuota>(),
        counted: Counted {
            pods: caches.get(),
            services: caches.get(),
            claims: caches.get(),
            config_maps: caches.get(),
            secrets: caches.get(),
            rcs: caches.get(),
            deployments: caches.get(),
            replica_sets: caches.get(),
            stateful_sets: caches.get(),
            jobs: caches.get(),
        },
    });
    let c = &ctx.counted;
    tokio::join!(
        ctx.quotas.ready(),
        c.pods.ready(),
        c.services.ready(),
        c.claims.ready(),
        c.config_maps.ready(),
        c.secrets.ready(),
        c.rcs.ready(),
        c.deployments.ready(),
        c.replica_sets.ready(),
        c.stateful_sets.ready(),
        c.jobs.ready(),
    );
    let store = ctx.quotas.store();
    macro_rules! on {
        ($controller:expr, $cache:expr, $kind:ty) => {{
            let s = store.clone();
            $controller.watches_stream($cache.stream(), move |o: $kind| {
                quotas_of(&s, o.meta().namespace.as_deref())
            })
        }};
    }
    let controller = Controller::for_stream(ctx.quotas.stream(), ctx.quotas.store());
    let controller = on!(controller, c.pods, Pod);
    let controller = on!(controller, c.services, Service);
    let controller = on!(controller, c.claims, PersistentVolumeClaim);
    let controller = on!(controller, c.config_maps, ConfigMap);
    let controller = on!(controller, c.secrets, Secret);
    let controller = on!(controller, c.rcs, ReplicationController);
    let controller = on!(controller, c.deployments, Deployment);
    let controller = on!(controller, c.replica_sets, ReplicaSet);
    let controller = on!(controller, c.stateful_sets, StatefulSet);
    let controller = on!(controller, c.jobs, Job);
    controller
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("resourcequota controller: {e}");
            }
        })
        .await;
    Ok(())
}

fn error_policy(_q: Arc<ResourceQuota>, e: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!("resourcequota sync failed: {e:#}");
    Action::requeue(Duration::from_millis(200))
}

/// The status `quota` should have: `hard` from the spec, `used` measured over `objects`.
pub(crate) fn desired_status(
    quota: &Value,
    objects: impl Fn(&str, &str) -> Option<Vec<Value>>,
) -> Value {
    let mut fetched: HashMap<(String, String), Option<Vec<Value>>> = HashMap::new();
    let hard = list_from_json(quota.pointer("/spec/hard"));
    for (g, p, _) in ordo_api::quota::evaluators_for(&hard) {
        let objs = objects(&g, &p);
        fetched.insert((g, p), objs);
    }
    let used = calculate_used(quota, |g, p| {
        fetched
            .get(&(g.to_string(), p.to_string()))
            .and_then(|o| o.as_ref())
            .map(|v| v.iter().collect())
    });
    serde_json::json!({"hard": list_to_json(&hard), "used": list_to_json(&used)})
}

async fn reconcile(obj: Arc<ResourceQuota>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let Some(quota) = ctx.quotas.get(&ns, &obj.name_any()) else {
        return Ok(Action::await_change());
    };
    if quota.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let Ok(mut value) = serde_json::to_value(quota.as_ref()) else {
        return Ok(Action::await_change());
    };
    let status = desired_status(&value, |g, p| ctx.counted.objects(&ctx.quotas, &ns, g, p));
    let current = value.get("status").cloned().unwrap_or(Value::Null);
    let same = |f: &str| {
        list_from_json(current.get(f)) == list_from_json(status.get(f)) && current.get(f).is_some()
    };
    if same("hard") && same("used") {
        return Ok(Action::requeue(RESYNC));
    }
    value["status"] = status;
    let api: Api<ResourceQuota> = Api::namespaced(ctx.client.clone(), &ns);
    let Ok(body) = serde_json::from_value::<ResourceQuota>(value) else {
        return Ok(Action::await_change());
    };
    match api
        .replace_status(&quota.name_any(), &PostParams::default(), &body)
        .await
    {
        Ok(written) => {
            // Let the cache catch up before the next sync of this quota.
            let rv = written.metadata.resource_version.clone();
            ctx.quotas
                .wait_until(&ns, &written.name_any(), Duration::from_secs(2), |q| {
                    ordo_client::cache::at_least(
                        q.and_then(|q| q.metadata.resource_version.as_deref()),
                        rv.as_deref(),
                    )
                })
                .await;
            Ok(Action::requeue(RESYNC))
        }
        Err(e) if is_not_found(&e) => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_follows_the_objects() {
        let quota = json!({"metadata": {"name": "q", "namespace": "d"},
            "spec": {"hard": {"pods": "3", "configmaps": "2", "count/deployments.apps": "1", "requests.cpu": "1000m"}}});
        let pods = vec![
            json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "250m"}}}]}}),
        ];
        let status = desired_status(&quota, |g, p| match (g, p) {
            ("", "pods") => Some(pods.clone()),
            ("", "configmaps") => Some(vec![json!({}), json!({})]),
            ("apps", "deployments") => Some(vec![]),
            _ => None,
        });
        assert_eq!(
            status,
            json!({"hard": {"pods": "3", "configmaps": "2", "count/deployments.apps": "1", "requests.cpu": "1"},
                   "used": {"pods": "1", "configmaps": "2", "count/deployments.apps": "0", "requests.cpu": "250m"}})
        );
    }
}
