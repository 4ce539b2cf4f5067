//! Deployment controller: rolls a Deployment's pod template out through ReplicaSets named
//! `<deployment>-<pod-template-hash>` (RollingUpdate or Recreate), keeps revisions and
//! change causes on them, prunes old ones, and reports status and conditions. The sync is
//! planned purely in [`sync`]; this module reads the shared caches, performs the writes and
//! waits until the caches show them ([`ordo_client::Writes`]).

pub mod sync;
pub mod util;

use crate::ownership::{
    claim, controller_of, controller_ref, owner_refs_after, owner_refs_patch, owners_to_sync,
    status_patch, Claim, Error,
};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::{Client, ResourceExt};
use ordo_client::events::{EventType, Recorder};
use ordo_client::objects::{api_message, is_not_found};
use ordo_client::{Caches, Shared, Writes};
use std::sync::Arc;
use std::time::Duration;
use sync::Step;

struct Ctx {
    client: Client,
    recorder: Recorder,
    deployments: Arc<Shared<Deployment>>,
    sets: Arc<Shared<ReplicaSet>>,
    pods: Arc<Shared<Pod>>,
}

/// Runs the Deployment controller until the watch streams end.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), "deployment-controller"),
        deployments: caches.get::<Deployment>(),
        sets: caches.get::<ReplicaSet>(),
        pods: caches.get::<Pod>(),
    });
    tokio::join!(ctx.deployments.ready(), ctx.sets.ready(), ctx.pods.ready());
    let store = ctx.deployments.store();
    Controller::for_stream(ctx.deployments.stream(), ctx.deployments.store())
        .watches_stream(ctx.sets.stream(), move |rs: ReplicaSet| {
            owners_to_sync(&store, &rs.metadata, "Deployment", |o| {
                o.spec.as_ref().map(|s| &s.selector)
            })
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("deployment controller: {e}");
            }
        })
        .await;
    Ok(())
}

fn error_policy(_d: Arc<Deployment>, e: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!("deployment sync failed: {e:#}");
    Action::requeue(Duration::from_millis(500))
}

async fn reconcile(obj: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    // The newest cached copy (the trigger may be older).
    let Some(d) = ctx.deployments.get(&ns, &obj.name_any()) else {
        return Ok(Action::await_change());
    };
    let writes = Writes::default();
    let result = sync(&ctx, &ns, &d, &writes).await;
    let name = d.name_any();
    writes.settle(&format!("deployment {ns}/{name}")).await;
    result
}

/// One sync of `d`: claims ReplicaSets, then carries out the plan; notes its writes.
async fn sync(ctx: &Ctx, ns: &str, d: &Deployment, writes: &Writes) -> Result<Action, Error> {
    let d_api: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    let name = d.name_any();
    let spec = d.spec.clone().unwrap_or_default();
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);

    // Claim ReplicaSets: adopt matching orphans, release ours that stopped matching.
    let mut owned = Vec::new();
    for rs in ctx.sets.in_namespace(ns) {
        let rs = ReplicaSet::clone(&rs);
        let decision = claim(&d.metadata, &spec.selector, &rs.metadata);
        let refs = match decision {
            Claim::Keep => {
                owned.push(rs);
                continue;
            }
            Claim::Ignore => continue,
            Claim::Adopt => owner_refs_after(
                &rs.metadata,
                Some(controller_ref("apps/v1", "Deployment", &d.metadata)),
                None,
            ),
            Claim::Release => owner_refs_after(&rs.metadata, None, d.metadata.uid.as_deref()),
        };
        let patch = owner_refs_patch(&rs.metadata, &refs);
        match rs_api
            .patch(
                &rs.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(r) => {
                writes.wrote(&ctx.sets, &r);
                if decision == Claim::Adopt {
                    owned.push(r);
                }
            }
            Err(e) => tracing::debug!("{decision:?} of replicaset {ns}/{}: {e}", rs.name_any()),
        }
    }
    let pods: Vec<Pod> = if util::is_rolling(d) {
        Vec::new()
    } else {
        let uids: Vec<&String> = owned
            .iter()
            .filter_map(|r| r.metadata.uid.as_ref())
            .collect();
        ctx.pods
            .in_namespace(ns)
            .iter()
            .filter(|p| controller_of(&p.metadata).is_some_and(|r| uids.contains(&&r.uid)))
            .map(|p| Pod::clone(p))
            .collect()
    };

    let plan = sync::plan(d, &owned, &pods, Timestamp::now());
    let last_status = plan
        .steps
        .iter()
        .rposition(|s| matches!(s, Step::Status(_)));
    for (k, step) in plan.steps.into_iter().enumerate() {
        match step {
            Step::CreateRs { mut rs, event } => {
                rs.metadata.creation_timestamp = None;
                let rs_name = rs.name_any();
                match rs_api.create(&PostParams::default(), &rs).await {
                    Ok(created) => {
                        writes.wrote(&ctx.sets, &created);
                        if let Some(msg) = event {
                            ctx.recorder
                                .record(d, EventType::Normal, "ScalingReplicaSet", &msg)
                                .await;
                        }
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        // Ours but not seen yet, or a hash collision: bump collisionCount.
                        let existing = rs_api.get(&rs_name).await?;
                        let ours = controller_of(&existing.metadata)
                            .is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
                        let same = existing
                            .spec
                            .as_ref()
                            .and_then(|s| s.template.as_ref())
                            .is_some_and(|t| util::equal_ignore_hash(t, &spec.template));
                        if !(ours && same) {
                            let cc = d
                                .status
                                .as_ref()
                                .and_then(|s| s.collision_count)
                                .unwrap_or(0)
                                + 1;
                            let written = d_api
                                .patch_status(
                                    &name,
                                    &PatchParams::default(),
                                    &Patch::Merge(
                                        &serde_json::json!({"status": {"collisionCount": cc}}),
                                    ),
                                )
                                .await?;
                            writes.wrote(&ctx.deployments, &written);
                        }
                        return Ok(Action::requeue(Duration::from_millis(100)));
                    }
                    Err(kube::Error::Api(s))
                        if s.code == 403 && s.message.contains("being terminated") =>
                    {
                        return Ok(Action::await_change())
                    }
                    Err(e) => {
                        let msg = format!(
                            "Failed to create new replica set {rs_name:?}: {}",
                            api_message(&e)
                        );
                        ctx.recorder
                            .record(d, EventType::Warning, "ReplicaSetCreateError", &msg)
                            .await;
                        return Err(e.into());
                    }
                }
            }
            Step::UpdateRs {
                name: rs_name,
                replicas,
                min_ready_seconds,
                annotations,
                event,
            } => {
                let patch = serde_json::json!({"metadata": {"annotations": annotations}, "spec": {"replicas": replicas, "minReadySeconds": min_ready_seconds}});
                let written = rs_api
                    .patch(&rs_name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
                writes.wrote(&ctx.sets, &written);
                if let Some(msg) = event {
                    ctx.recorder
                        .record(d, EventType::Normal, "ScalingReplicaSet", &msg)
                        .await;
                }
            }
            Step::DeleteRs { name: rs_name, uid } => {
                let dp = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid,
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                writes.deleted(
                    &ctx.sets,
                    ns,
                    &rs_name,
                    dp.preconditions.as_ref().and_then(|p| p.uid.clone()),
                );
                match rs_api.delete(&rs_name, &dp).await {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => tracing::debug!("deleting old replicaset {ns}/{rs_name}: {e}"),
                }
            }
            Step::SetRevision(rev) => {
                let patch = serde_json::json!({"metadata": {"annotations": {util::REVISION: rev}}});
                let written = d_api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
                writes.wrote(&ctx.deployments, &written);
            }
            Step::Status(st) if Some(k) == last_status => {
                let written = d_api
                    .patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(&status_patch(d.status.as_ref(), &st)),
                    )
                    .await?;
                writes.wrote(&ctx.deployments, &written);
            }
            Step::Status(_) => {}
        }
    }
    Ok(Action::requeue(
        plan.requeue_after.unwrap_or(Duration::from_secs(300)),
    ))
}
