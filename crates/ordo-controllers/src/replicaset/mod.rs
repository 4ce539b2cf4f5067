//! ReplicaSet controller: keeps `spec.replicas` active pods (`<rs>-<5 random chars>`, with a
//! controller reference) per ReplicaSet, adopts matching orphans, releases pods that stop
//! matching, and reports status. Decisions live in [`logic`]; this module only does I/O.
//! Every sync reads the ReplicaSet and its namespace's pods from the shared caches and, before
//! it ends, waits until they show its own writes ([`ordo_client::Writes`]), so the next sync
//! never counts a pod twice or misses one it created.

pub mod logic;

use crate::ownership::{
    claim, controller_ref, is_pod_active, owner_refs_after, owner_refs_patch, owners_to_sync,
    status_patch, Claim, Error,
};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::{Client, ResourceExt};
use logic::{
    calculate_status, new_pod, next_available_in, pods_to_delete, slow_start_batches,
    BURST_REPLICAS,
};
use ordo_client::events::{EventType, Recorder};
use ordo_client::{Caches, Shared, Writes};
use std::sync::Arc;
use std::time::Duration;

struct Ctx {
    client: Client,
    recorder: Recorder,
    sets: Arc<Shared<ReplicaSet>>,
    pods: Arc<Shared<Pod>>,
}

/// Runs the ReplicaSet controller until the watch streams end.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), "replicaset-controller"),
        sets: caches.get::<ReplicaSet>(),
        pods: caches.get::<Pod>(),
    });
    tokio::join!(ctx.sets.ready(), ctx.pods.ready());
    let store = ctx.sets.store();
    Controller::for_stream(ctx.sets.stream(), ctx.sets.store())
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
    // The newest cached copy (the trigger may be older).
    let Some(rs) = ctx.sets.get(&ns, &obj.name_any()) else {
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
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);
    let name = rs.name_any();
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
                Some(controller_ref("apps/v1", "ReplicaSet", &rs.metadata)),
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
            let template = new_pod(rs);
            let pp = PostParams::default();
            for batch in slow_start_batches(n) {
                let results =
                    futures::future::join_all((0..batch).map(|_| pod_api.create(&pp, &template)))
                        .await;
                for r in results {
                    match r {
                        Ok(p) => {
                            writes.wrote(&ctx.pods, &p);
                            ctx.recorder
                                .record(
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
                            ctx.recorder
                                .record(rs, EventType::Warning, "FailedCreate", &msg)
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
                        ctx.recorder
                            .record(
                                rs,
                                EventType::Normal,
                                "SuccessfulDelete",
                                &format!("Deleted pod: {pname}"),
                            )
                            .await
                    }
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => {
                        ctx.recorder
                            .record(
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
        let written = rs_api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        writes.wrote(&ctx.sets, &written);
    }
    if manage_error.is_some() {
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    Ok(Action::requeue(
        next_available_in(rs, &refs, now).unwrap_or(Duration::from_secs(300)),
    ))
}
