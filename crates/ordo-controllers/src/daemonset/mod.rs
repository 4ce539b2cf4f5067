//! DaemonSet controller (upstream `pkg/controller/daemon`): one pod per eligible node (node
//! selector, required node affinity, taints against the template's and the daemon
//! tolerations), each pinned to its node by a `matchFields metadata.name` affinity and placed
//! by the scheduler; pods of nodes that are gone or no longer eligible are deleted, failed
//! pods replaced after a per-node back-off; ControllerRevisions with the
//! `controller-revision-hash` and `pod-template-generation` pod labels; RollingUpdate
//! (`maxUnavailable` or `maxSurge`) and OnDelete; the status. Decisions live in [`logic`] and
//! [`revision`]; this module reads the shared caches and writes through the API.

pub mod logic;
pub mod revision;

#[cfg(test)]
mod tests;

use crate::history::sort_revisions;
use crate::ownership::{self, controller_of, Claim, Error};
use crate::pod_control::PodControl;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use logic::Backoff;
use ordo_client::events::{EventType, Recorder};
use ordo_client::objects::is_not_found;
use ordo_client::{Caches, Shared, Writes};
use revision::Current;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Ctx {
    client: Client,
    recorder: Recorder,
    sets: Arc<Shared<DaemonSet>>,
    pods: Arc<Shared<Pod>>,
    nodes: Arc<Shared<Node>>,
    revisions: Arc<Shared<ControllerRevision>>,
    /// Failed-pod back-off by DaemonSet uid, then node (in memory, as upstream's).
    backoff: Mutex<HashMap<String, HashMap<String, Backoff>>>,
}

/// Runs the DaemonSet controller until the watch streams end.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "daemonset-controller"),
        client,
        sets: caches.get::<DaemonSet>(),
        pods: caches.get::<Pod>(),
        nodes: caches.get::<Node>(),
        revisions: caches.get::<ControllerRevision>(),
        backoff: Mutex::default(),
    });
    tokio::join!(
        ctx.sets.ready(),
        ctx.pods.ready(),
        ctx.nodes.ready(),
        ctx.revisions.ready()
    );
    let (pod_sets, node_sets) = (ctx.sets.store(), ctx.sets.store());
    Controller::for_stream(ctx.sets.stream(), ctx.sets.store())
        .owns_stream(ctx.revisions.stream())
        .watches_stream(ctx.pods.stream(), move |pod: Pod| {
            ownership::owners_to_sync(&pod_sets, &pod.metadata, "DaemonSet", |d| {
                d.spec.as_ref().map(|s| &s.selector)
            })
        })
        // A node's labels, taints or existence decide where every DaemonSet runs.
        .watches_stream(ctx.nodes.stream(), move |_node: Node| {
            node_sets
                .state()
                .iter()
                .map(|d| ObjectRef::from_obj(d.as_ref()))
                .collect::<Vec<_>>()
        })
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("daemonset controller: {e}");
            }
        })
        .await;
    Ok(())
}

fn error_policy(ds: Arc<DaemonSet>, e: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!("syncing DaemonSet {}: {e:#}", ds.name_any());
    Action::requeue(Duration::from_millis(500))
}

async fn reconcile(obj: Arc<DaemonSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let Some(ds) = ctx.sets.get(&ns, &obj.name_any()) else {
        return Ok(Action::await_change());
    };
    if ds.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let writes = Writes::default();
    let result = sync(&ctx, &ns, &ds, &writes).await;
    writes
        .settle(&format!("daemonset {ns}/{}", ds.name_any()))
        .await;
    result
}

/// The pods `ds` controls after adoption of matching orphans and release of pods that no
/// longer match (`getDaemonPods`).
async fn claim_pods(
    ctx: &Ctx,
    ns: &str,
    ds: &DaemonSet,
    writes: &Writes,
) -> Result<Vec<Pod>, Error> {
    let Some(selector) = ds.spec.as_ref().map(|s| &s.selector) else {
        return Ok(Vec::new());
    };
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let mut owned = Vec::new();
    for pod in ctx.pods.in_namespace(ns) {
        let refs = match ownership::claim(&ds.metadata, selector, &pod.metadata) {
            Claim::Keep => {
                owned.push(Pod::clone(&pod));
                continue;
            }
            Claim::Ignore => continue,
            Claim::Adopt => ownership::owner_refs_after(
                &pod.metadata,
                Some(ownership::controller_ref(
                    "apps/v1",
                    "DaemonSet",
                    &ds.metadata,
                )),
                None,
            ),
            Claim::Release => {
                ownership::owner_refs_after(&pod.metadata, None, ds.metadata.uid.as_deref())
            }
        };
        let adopt = refs.len() > pod.metadata.owner_references.as_ref().map_or(0, Vec::len);
        let patch = ownership::owner_refs_patch(&pod.metadata, &refs);
        match api
            .patch(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(p) => {
                writes.wrote(&ctx.pods, &p);
                if adopt {
                    owned.push(p);
                }
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(owned)
}

/// The current revision (created, or renumbered for a rollback) and its hash, with the
/// DaemonSet's revisions sorted.
async fn current_revision(
    ctx: &Ctx,
    ns: &str,
    ds: &DaemonSet,
    revisions: &mut Vec<ControllerRevision>,
    writes: &Writes,
) -> Result<(String, String), Error> {
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), ns);
    match revision::current(ds, revisions) {
        Current::Exists(name) => {
            let cr = revisions
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(&name));
            Ok((name, cr.map(revision::hash_of).unwrap_or_default()))
        }
        Current::Bump { name, revision: n } => {
            let patch = serde_json::json!({ "revision": n });
            let cr = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            writes.wrote(&ctx.revisions, &cr);
            if let Some(r) = revisions
                .iter_mut()
                .find(|r| r.metadata.name.as_deref() == Some(&name))
            {
                r.revision = n;
            }
            sort_revisions(revisions);
            Ok((name, revision::hash_of(&cr)))
        }
        Current::Create(cr) => match api.create(&PostParams::default(), &cr).await {
            Ok(created) => {
                writes.wrote(&ctx.revisions, &created);
                revisions.push(created.clone());
                Ok((created.name_any(), revision::hash_of(&created)))
            }
            Err(kube::Error::Api(s)) if s.is_already_exists() => {
                // A revision of that name holds another template: count the collision, so
                // that the next sync hashes differently (`snapshot`).
                let count = ds
                    .status
                    .as_ref()
                    .and_then(|s| s.collision_count)
                    .unwrap_or(0)
                    + 1;
                let sets: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), ns);
                let patch = serde_json::json!({"status": {"collisionCount": count}});
                let written = sets
                    .patch_status(
                        &ds.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await?;
                writes.wrote(&ctx.sets, &written);
                Err(Error::Other(format!(
                    "found a stale revision {} for DaemonSet {ns}/{}: hash collision",
                    cr.name_any(),
                    ds.name_any()
                )))
            }
            Err(e) => Err(e.into()),
        },
    }
}

/// One sync of `ds`: revisions, pods to create and delete, status, history clean-up.
async fn sync(ctx: &Ctx, ns: &str, ds: &DaemonSet, writes: &Writes) -> Result<Action, Error> {
    let uid = ds.metadata.uid.clone().unwrap_or_default();
    let name = ds.name_any();
    let pods = claim_pods(ctx, ns, ds, writes).await?;
    let mut revisions: Vec<ControllerRevision> = ctx
        .revisions
        .in_namespace(ns)
        .into_iter()
        .filter(|r| controller_of(&r.metadata).is_some_and(|o| o.uid == uid))
        .map(|r| ControllerRevision::clone(&r))
        .collect();
    sort_revisions(&mut revisions);
    let (current, hash) = current_revision(ctx, ns, ds, &mut revisions, writes).await?;

    let nodes = ctx.nodes.state();
    let node_refs: Vec<&Node> = nodes.iter().map(|n| n.as_ref()).collect();
    let pod_refs: Vec<&Pod> = pods.iter().collect();
    let backoff = ctx
        .backoff
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&uid)
        .cloned()
        .unwrap_or_default();
    let now = Timestamp::now();
    let plan = logic::plan(&logic::Input {
        ds,
        nodes: &node_refs,
        pods: &pod_refs,
        hash: &hash,
        backoff: &backoff,
        now,
    });
    if !plan.backoff.is_empty() {
        let mut all = ctx.backoff.lock().unwrap_or_else(|e| e.into_inner());
        let mine = all.entry(uid.clone()).or_default();
        mine.extend(plan.backoff.iter().cloned());
    }
    for (warning, reason, message) in &plan.events {
        let ty = if *warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        ctx.recorder.record(ds, ty, reason, message).await;
    }

    let control = PodControl {
        api: Api::namespaced(ctx.client.clone(), ns),
        recorder: &ctx.recorder,
        owner: ds,
        cache: &ctx.pods,
        writes,
    };
    let mut failures = 0;
    for pname in &plan.delete {
        let pod = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(pname.as_str()));
        // A pod of a node that is gone has no kubelet to finish its deletion: it goes at
        // once, as upstream's pod garbage collector deletes it.
        let orphaned = pod.and_then(logic::target_node).is_some_and(|n| {
            nodes
                .iter()
                .all(|x| x.metadata.name.as_deref() != Some(n.as_str()))
        });
        let uid = pod.and_then(|p| p.metadata.uid.clone());
        if !control.delete(pname, uid, orphaned.then_some(0)).await {
            failures += 1;
        }
    }
    let new_pods: Vec<Pod> = plan
        .create_on
        .iter()
        .map(|node| logic::new_pod(ds, node, &hash))
        .collect();
    failures += control.create_all(&new_pods).await;

    if ds.status.as_ref() != Some(&plan.status) {
        let patch = ownership::status_patch(ds.status.as_ref(), &plan.status);
        let sets: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), ns);
        let written = sets
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        writes.wrote(&ctx.sets, &written);
    }
    let rev_api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), ns);
    for old in revision::to_prune(ds, &pod_refs, &revisions, &current) {
        match rev_api.delete(&old, &DeleteParams::default()).await {
            Ok(_) => writes.deleted(&ctx.revisions, ns, &old, None),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    tracing::debug!("synced daemonset {ns}/{name}");
    let busy = !plan.create_on.is_empty() || !plan.delete.is_empty();
    Ok(match plan.requeue {
        Some(d) => Action::requeue(d),
        None if failures > 0 => Action::requeue(Duration::from_secs(2)),
        // Writes made: look again once the caches show them.
        None if busy => Action::requeue(Duration::from_millis(200)),
        None => Action::requeue(Duration::from_secs(300)),
    })
}
