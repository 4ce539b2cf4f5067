//! Deployment controller: rolls a Deployment's pod template out through ReplicaSets named
//! `<deployment>-<pod-template-hash>` (RollingUpdate or Recreate), keeps revisions and
//! change causes on them, prunes old ones, and reports status and conditions. The sync is
//! planned purely in [`sync`]; this module reads fresh state and performs the writes.

pub mod sync;
pub mod util;

use crate::events::{EventType, Recorder};
use crate::objects::{api_message, is_not_found};
use crate::replicaset::util::{
    claim, controller_of, controller_ref, owner_refs_after, owner_refs_patch, owners_to_sync,
    status_patch, Claim, Error,
};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use std::sync::Arc;
use std::time::Duration;
use sync::Step;

struct Ctx {
    client: Client,
    recorder: Recorder,
}

/// Runs the Deployment controller until the watch streams end.
pub async fn run(client: Client) -> anyhow::Result<()> {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), "deployment-controller"),
    });
    let controller = Controller::new(
        Api::<Deployment>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    controller
        .watches(
            Api::<ReplicaSet>::all(client),
            watcher::Config::default(),
            move |rs: ReplicaSet| {
                owners_to_sync(&store, &rs.metadata, "Deployment", |o| {
                    o.spec.as_ref().map(|s| &s.selector)
                })
            },
        )
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
    let d_api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let Some(d) = d_api.get_opt(&obj.name_any()).await? else {
        return Ok(Action::await_change());
    };
    let name = d.name_any();
    let spec = d.spec.clone().unwrap_or_default();
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);

    // Claim ReplicaSets: adopt matching orphans, release ours that stopped matching.
    let mut owned = Vec::new();
    for rs in rs_api.list(&ListParams::default()).await?.items {
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
            Ok(r) if decision == Claim::Adopt => owned.push(r),
            Ok(_) => {}
            Err(e) => tracing::debug!("{decision:?} of replicaset {ns}/{}: {e}", rs.name_any()),
        }
    }
    let pods: Vec<Pod> = if util::is_rolling(&d) {
        Vec::new()
    } else {
        let uids: Vec<&String> = owned
            .iter()
            .filter_map(|r| r.metadata.uid.as_ref())
            .collect();
        let all = Api::<Pod>::namespaced(ctx.client.clone(), &ns)
            .list(&ListParams::default())
            .await?
            .items;
        all.into_iter()
            .filter(|p| controller_of(&p.metadata).is_some_and(|r| uids.contains(&&r.uid)))
            .collect()
    };

    let plan = sync::plan(&d, &owned, &pods, Timestamp::now());
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
                    Ok(_) => {
                        if let Some(msg) = event {
                            ctx.recorder
                                .record(&d, EventType::Normal, "ScalingReplicaSet", &msg)
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
                            d_api
                                .patch_status(
                                    &name,
                                    &PatchParams::default(),
                                    &Patch::Merge(
                                        &serde_json::json!({"status": {"collisionCount": cc}}),
                                    ),
                                )
                                .await?;
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
                            .record(&d, EventType::Warning, "ReplicaSetCreateError", &msg)
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
                rs_api
                    .patch(&rs_name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
                if let Some(msg) = event {
                    ctx.recorder
                        .record(&d, EventType::Normal, "ScalingReplicaSet", &msg)
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
                match rs_api.delete(&rs_name, &dp).await {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => tracing::debug!("deleting old replicaset {ns}/{rs_name}: {e}"),
                }
            }
            Step::SetRevision(rev) => {
                let patch = serde_json::json!({"metadata": {"annotations": {util::REVISION: rev}}});
                d_api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
            }
            Step::Status(st) if Some(k) == last_status => {
                d_api
                    .patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(&status_patch(d.status.as_ref(), &st)),
                    )
                    .await?;
            }
            Step::Status(_) => {}
        }
    }
    Ok(Action::requeue(
        plan.requeue_after.unwrap_or(Duration::from_secs(300)),
    ))
}
