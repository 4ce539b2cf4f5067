//! ReplicaSet controller: keeps `spec.replicas` active pods (`<rs>-<5 random chars>`, with a
//! controller reference) per ReplicaSet, adopts matching orphans, releases pods that stop
//! matching, and reports status. Decisions live in [`logic`]; this module only does I/O.
//! Every sync reads the ReplicaSet and its namespace's pods from the shared caches and, before
//! it ends, waits until they show its own writes ([`ordo_client::Writes`]), so the next sync
//! never counts a pod twice or misses one it created.
//!
//! The same code runs v1 ReplicationControllers (as upstream's `replication` package runs the
//! ReplicaSet controller through an adapter): [`replication`] converts each one to the
//! ReplicaSet it is, and [`Owners`] says which kind pods are owned by and where status goes.

pub mod logic;
mod replication;

use crate::ownership::{
    claim, controller_ref, is_pod_active, owner_refs_after, owner_refs_patch, owners_to_sync,
    status_patch, Claim, Error,
};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::core::v1::{ObjectReference, ReplicationController};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::{Client, Resource, ResourceExt};
use logic::{
    calculate_status, new_pod, next_available_in, pods_to_delete, slow_start_batches,
    BURST_REPLICAS,
};
use ordo_client::events::{EventType, Recorder};
use ordo_client::{Caches, Shared, Writes};
use std::sync::Arc;
use std::time::Duration;

/// The kind the controller runs: ReplicaSets, or ReplicationControllers seen as ReplicaSets.
enum Owners {
    ReplicaSets(Arc<Shared<ReplicaSet>>),
    ReplicationControllers(Arc<Shared<ReplicationController>>),
}

impl Owners {
    /// The owner's (apiVersion, kind), for controller references and events.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Owners::ReplicaSets(_) => ("apps/v1", "ReplicaSet"),
            Owners::ReplicationControllers(_) => ("v1", "ReplicationController"),
        }
    }

    /// The newest cached owner, as a ReplicaSet.
    fn get(&self, ns: &str, name: &str) -> Option<ReplicaSet> {
        match self {
            Owners::ReplicaSets(c) => c.get(ns, name).map(|rs| ReplicaSet::clone(&rs)),
            Owners::ReplicationControllers(c) => {
                c.get(ns, name).map(|rc| replication::to_replica_set(&rc))
            }
        }
    }

    /// Writes the owner's status (a merge patch of a ReplicaSet status, which a
    /// ReplicationController's status is field for field).
    async fn patch_status(
        &self,
        client: &Client,
        ns: &str,
        name: &str,
        patch: &serde_json::Value,
        writes: &Writes,
    ) -> Result<(), Error> {
        let pp = PatchParams::default();
        match self {
            Owners::ReplicaSets(c) => {
                let api: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
                let written = api.patch_status(name, &pp, &Patch::Merge(patch)).await?;
                writes.wrote(c, &written);
            }
            Owners::ReplicationControllers(c) => {
                let api: Api<ReplicationController> = Api::namespaced(client.clone(), ns);
                let written = api.patch_status(name, &pp, &Patch::Merge(patch)).await?;
                writes.wrote(c, &written);
            }
        }
        Ok(())
    }
}

struct Ctx {
    client: Client,
    recorder: Recorder,
    owners: Owners,
    pods: Arc<Shared<Pod>>,
}

impl Ctx {
    /// Records an event about the owner `rs` stands for.
    async fn event(&self, rs: &ReplicaSet, ty: EventType, reason: &str, message: &str) {
        let (api_version, kind) = self.owners.kind();
        let reference = ObjectReference {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
            name: Some(rs.name_any()),
            namespace: rs.namespace(),
            uid: rs.meta().uid.clone(),
            resource_version: rs.meta().resource_version.clone(),
            ..Default::default()
        };
        self.recorder
            .record_ref(reference, ty, reason, message)
            .await
    }
}

/// Runs the ReplicaSet controller until the watch streams end.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let sets = caches.get::<ReplicaSet>();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), "replicaset-controller"),
        owners: Owners::ReplicaSets(sets.clone()),
        pods: caches.get::<Pod>(),
    });
    tokio::join!(sets.ready(), ctx.pods.ready());
    let store = sets.store();
    Controller::for_stream(sets.stream(), sets.store())
        .watches_stream(ctx.pods.stream(), move |pod: Pod| {
            owners_to_sync(&store, &pod.metadata, "ReplicaSet", |o| {
                o.spec.as_ref().map(|s| &s.selector)
            })
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("replicaset controller: {e}");
            }
        })
        .await;
    Ok(())
}

/// Runs the ReplicationController controller (the ReplicaSet sync through
/// [`replication::to_replica_set`]) until the watch streams end.
pub async fn run_replication(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let rcs = caches.get::<ReplicationController>();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), "replication-controller"),
        owners: Owners::ReplicationControllers(rcs.clone()),
        pods: caches.get::<Pod>(),
    });
    tokio::join!(rcs.ready(), ctx.pods.ready());
    let store = rcs.store();
    Controller::for_stream(rcs.stream(), rcs.store())
        .watches_stream(ctx.pods.stream(), move |pod: Pod| {
            replication::owners_of(&store, &pod.metadata)
        })
        .run(
            |rc: Arc<ReplicationController>, ctx: Arc<Ctx>| async move {
                let ns = rc.namespace().unwrap_or_default();
                reconcile_named(&ns, &rc.name_any(), ctx).await
            },
            |_rc: Arc<ReplicationController>, e: &Error, _ctx: Arc<Ctx>| {
                tracing::debug!("replicationcontroller sync failed: {e:#}");
                Action::requeue(Duration::from_millis(500))
            },
            ctx,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("replicationcontroller controller: {e}");
            }
        })
        .await;
    Ok(())
}

fn error_policy(_rs: Arc<ReplicaSet>, e: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!("replicaset sync failed: {e:#}");
    Action::requeue(Duration::from_millis(500))
}

pub(crate) use ordo_client::objects::{api_message, is_not_found};

fn namespace_terminating(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 403 && s.message.contains("being terminated"))
}

async fn reconcile(obj: Arc<ReplicaSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    reconcile_named(&ns, &obj.name_any(), ctx).await
}

async fn reconcile_named(ns: &str, name: &str, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = ns.to_string();
    // The newest cached copy (the trigger may be older).
    let Some(rs) = ctx.owners.get(&ns, name) else {
        return Ok(Action::await_change());
    };
    let writes = Writes::default();
    let result = sync(&ctx, &ns, &rs, &writes).await;
    let name = rs.name_any();
    writes.settle(&format!("replicaset {ns}/{name}")).await;
    result
}

/// One sync of `rs`: claims, creates or deletes pods, writes status; notes its writes.
async fn sync(ctx: &Ctx, ns: &str, rs: &ReplicaSet, writes: &Writes) -> Result<Action, Error> {
    let name = rs.name_any();
    let (owner_api_version, owner_kind) = ctx.owners.kind();
    let spec = rs.spec.clone().unwrap_or_default();
    let pod_api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let pods: Vec<Pod> = ctx
        .pods
        .in_namespace(ns)
        .iter()
        .map(|p| Pod::clone(p))
        .collect();

    // Claim: adopt matching orphans, release ours that no longer match.
    let mut owned: Vec<Pod> = Vec::new();
    for pod in pods.into_iter().filter(is_pod_active) {
        let decision = claim(&rs.metadata, &spec.selector, &pod.metadata);
        let refs = match decision {
            Claim::Keep => {
                owned.push(pod);
                continue;
            }
            Claim::Ignore => continue,
            Claim::Adopt => owner_refs_after(
                &pod.metadata,
                Some(controller_ref(owner_api_version, owner_kind, &rs.metadata)),
                None,
            ),
            Claim::Release => owner_refs_after(&pod.metadata, None, rs.metadata.uid.as_deref()),
        };
        let patch = owner_refs_patch(&pod.metadata, &refs);
        match pod_api
            .patch(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(p) => {
                writes.wrote(&ctx.pods, &p);
                if decision == Claim::Adopt {
                    owned.push(p);
                }
            }
            Err(e) => tracing::debug!("{decision:?} of pod {}/{}: {e}", ns, pod.name_any()),
        }
    }

    let now = Timestamp::now();
    let mut manage_error: Option<(&str, String)> = None;
    if rs.metadata.deletion_timestamp.is_none() {
        let want = spec.replicas.unwrap_or(1).max(0) as usize;
        if owned.len() < want {
            let n = (want - owned.len()).min(BURST_REPLICAS);
            let mut template = new_pod(rs);
            template.metadata.owner_references = Some(vec![controller_ref(
                owner_api_version,
                owner_kind,
                &rs.metadata,
            )]);
            let pp = PostParams::default();
            for batch in slow_start_batches(n) {
                let results =
                    futures::future::join_all((0..batch).map(|_| pod_api.create(&pp, &template)))
                        .await;
                for r in results {
                    match r {
                        Ok(p) => {
                            writes.wrote(&ctx.pods, &p);
                            ctx.event(
                                rs,
                                EventType::Normal,
                                "SuccessfulCreate",
                                &format!("Created pod: {}", p.name_any()),
                            )
                            .await
                        }
                        Err(e) if namespace_terminating(&e) => {}
                        Err(e) => {
                            let msg = format!("Error creating: {}", api_message(&e));
                            ctx.event(rs, EventType::Warning, "FailedCreate", &msg)
                                .await;
                            manage_error = Some(("FailedCreate", api_message(&e)));
                        }
                    }
                }
                if manage_error.is_some() {
                    break;
                }
            }
        } else if owned.len() > want {
            let refs: Vec<&Pod> = owned.iter().collect();
            let victims = pods_to_delete(&refs, (owned.len() - want).min(BURST_REPLICAS), now);
            for p in &victims {
                writes.deleted(&ctx.pods, ns, &p.name_any(), p.metadata.uid.clone());
            }
            let results = futures::future::join_all(victims.iter().map(|p| {
                let dp = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: p.metadata.uid.clone(),
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                let (api, pname) = (pod_api.clone(), p.name_any());
                async move { (pname.clone(), api.delete(&pname, &dp).await) }
            }))
            .await;
            for (pname, r) in results {
                match r {
                    Ok(_) => {
                        ctx.event(
                            rs,
                            EventType::Normal,
                            "SuccessfulDelete",
                            &format!("Deleted pod: {pname}"),
                        )
                        .await
                    }
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => {
                        ctx.event(
                            rs,
                            EventType::Warning,
                            "FailedDelete",
                            &format!("Error deleting: {}", api_message(&e)),
                        )
                        .await;
                        manage_error = Some(("FailedDelete", api_message(&e)));
                    }
                }
            }
        }
    }

    let refs: Vec<&Pod> = owned.iter().collect();
    let status = calculate_status(rs, &refs, manage_error.clone(), now);
    if rs.status.as_ref() != Some(&status) {
        let patch = status_patch(rs.status.as_ref(), &status);
        ctx.owners
            .patch_status(&ctx.client, ns, &name, &patch, writes)
            .await?;
    }
    if manage_error.is_some() {
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    Ok(Action::requeue(
        next_available_in(rs, &refs, now).unwrap_or(Duration::from_secs(300)),
    ))
}
