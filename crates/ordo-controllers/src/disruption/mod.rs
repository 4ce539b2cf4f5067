//! Disruption controller: keeps every PodDisruptionBudget's status (expected pods, desired
//! and current healthy, disruptions allowed, evicted pods still on their way out, the
//! `DisruptionAllowed` condition) current from the shared caches, as upstream's
//! `disruption` controller does. The eviction subresource of the API server reads this
//! status and spends it. Decisions live in [`logic`]; this module reads caches and writes
//! status.

pub mod logic;

use crate::ownership::Error;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::ResourceExt;
use ordo_api::selector::label_selector_matches;
use ordo_client::events::{EventType, Recorder};
use ordo_client::{Caches, Shared, Writes};
use std::sync::Arc;
use std::time::Duration;

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    pdbs: Arc<Shared<PodDisruptionBudget>>,
    pods: Arc<Shared<Pod>>,
    sets: Arc<Shared<ReplicaSet>>,
    deployments: Arc<Shared<Deployment>>,
    statefulsets: Arc<Shared<StatefulSet>>,
}

/// Runs the disruption controller until the watch streams end.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), "controllermanager"),
        pdbs: caches.get::<PodDisruptionBudget>(),
        pods: caches.get::<Pod>(),
        sets: caches.get::<ReplicaSet>(),
        deployments: caches.get::<Deployment>(),
        statefulsets: caches.get::<StatefulSet>(),
    });
    tokio::join!(
        ctx.pdbs.ready(),
        ctx.pods.ready(),
        ctx.sets.ready(),
        ctx.deployments.ready(),
        ctx.statefulsets.ready()
    );
    let by_pod = ctx.pdbs.store();
    let by_sts = ctx.pdbs.store();
    let by_rs = ctx.pdbs.store();
    Controller::for_stream(ctx.pdbs.stream(), ctx.pdbs.store())
        .watches_stream(ctx.pods.stream(), move |pod: Pod| budgets_of(&by_pod, &pod))
        // Scales matter for percentages and maxUnavailable.
        .watches_stream(ctx.statefulsets.stream(), move |s: StatefulSet| {
            in_namespace(&by_sts, &s.namespace().unwrap_or_default())
        })
        .watches_stream(ctx.sets.stream(), move |s: ReplicaSet| {
            in_namespace(&by_rs, &s.namespace().unwrap_or_default())
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("disruption controller: {e}");
            }
        })
        .await;
    Ok(())
}

/// Whether a budget selects `pod` (policy/v1: no selector selects nothing).
fn selects(pdb: &PodDisruptionBudget, pod: &Pod) -> bool {
    pdb.metadata.namespace == pod.metadata.namespace
        && pdb
            .spec
            .as_ref()
            .and_then(|s| s.selector.as_ref())
            .is_some_and(|sel| label_selector_matches(sel, pod.metadata.labels.as_ref()))
}

fn budgets_of(
    store: &Store<PodDisruptionBudget>,
    pod: &Pod,
) -> Vec<ObjectRef<PodDisruptionBudget>> {
    store
        .state()
        .iter()
        .filter(|b| selects(b, pod))
        .map(|b| ObjectRef::from_obj(b.as_ref()))
        .collect()
}

fn in_namespace(
    store: &Store<PodDisruptionBudget>,
    ns: &str,
) -> Vec<ObjectRef<PodDisruptionBudget>> {
    store
        .state()
        .iter()
        .filter(|b| b.metadata.namespace.as_deref() == Some(ns))
        .map(|b| ObjectRef::from_obj(b.as_ref()))
        .collect()
}

fn error_policy(_pdb: Arc<PodDisruptionBudget>, e: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!("disruption sync failed: {e:#}");
    Action::requeue(Duration::from_millis(500))
}

/// Upstream's finders: the desired scale of a pod's controller (a ReplicaSet, or the
/// Deployment owning it; a StatefulSet), with the uid that identifies it.
fn scale_of(ctx: &Ctx, owner: &OwnerReference, ns: &str) -> Option<(String, i32)> {
    match (owner.api_version.split('/').next(), owner.kind.as_str()) {
        (Some("apps"), "ReplicaSet") => {
            let rs = ctx.sets.get(ns, &owner.name)?;
            if rs.metadata.uid.as_deref() != Some(owner.uid.as_str()) {
                return None;
            }
            let parent = rs
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true) && o.kind == "Deployment");
            match parent {
                Some(p) => {
                    let d = ctx.deployments.get(ns, &p.name)?;
                    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                    Some((d.metadata.uid.clone()?, replicas))
                }
                None => Some((
                    owner.uid.clone(),
                    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                )),
            }
        }
        (Some("apps"), "StatefulSet") => {
            let s = ctx.statefulsets.get(ns, &owner.name)?;
            (s.metadata.uid.as_deref() == Some(owner.uid.as_str())).then(|| {
                (
                    owner.uid.clone(),
                    s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                )
            })
        }
        _ => None,
    }
}

async fn reconcile(obj: Arc<PodDisruptionBudget>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let Some(pdb) = ctx.pdbs.get(&ns, &name) else {
        return Ok(Action::await_change());
    };
    if pdb.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let pods = ctx.pods.in_namespace(&ns);
    let mut selected: Vec<&Pod> = pods
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| selects(&pdb, p))
        .collect();
    selected.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if selected.is_empty() {
        ctx.recorder
            .record(
                pdb.as_ref(),
                EventType::Normal,
                "NoPods",
                "No matching pods found",
            )
            .await;
    }
    let now = Timestamp::now();
    let scale = |o: &OwnerReference, ns: &str| scale_of(&ctx, o, ns);
    let (mut status, outcome, recheck) = logic::desired_status(&pdb, &selected, &scale, now);
    match &outcome {
        Err(e) => {
            ctx.recorder
                .record(
                    pdb.as_ref(),
                    EventType::Warning,
                    "CalculateExpectedPodCountFailed",
                    &format!("Failed to calculate the number of expected pods: {}", e.0),
                )
                .await;
        }
        Ok(unmanaged) if !unmanaged.is_empty() => {
            let sel = serde_json::to_string(&pdb.spec.as_ref().and_then(|s| s.selector.clone()))
                .unwrap_or_default();
            ctx.recorder
                .record(
                    pdb.as_ref(),
                    EventType::Warning,
                    "UnmanagedPods",
                    &format!("Pods selected by this PodDisruptionBudget (selector: {sel}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value."),
                )
                .await;
        }
        Ok(_) => {}
    }
    // Keep the transition times of unchanged conditions, and write only a changed status.
    if let (Some(old), Some(new)) = (
        pdb.status.as_ref().and_then(|s| s.conditions.as_ref()),
        status.conditions.as_mut(),
    ) {
        for c in new.iter_mut() {
            if let Some(o) = old
                .iter()
                .find(|o| o.type_ == c.type_ && o.status == c.status)
            {
                c.last_transition_time = o.last_transition_time.clone();
            }
        }
    }
    if pdb.status.as_ref() != Some(&status) {
        let mut updated = PodDisruptionBudget::clone(&pdb);
        updated.status = Some(status);
        let api: Api<PodDisruptionBudget> = Api::namespaced(ctx.client.clone(), &ns);
        let written = api
            .replace_status(&name, &PostParams::default(), &updated)
            .await?;
        let writes = Writes::default();
        writes.wrote(&ctx.pdbs, &written);
        writes
            .settle(&format!("poddisruptionbudget {ns}/{name}"))
            .await;
    }
    Ok(match (outcome, recheck) {
        (Err(_), _) => Action::requeue(Duration::from_secs(10)),
        (Ok(_), Some(at)) => {
            let wait = at.duration_since(now).unsigned_abs();
            Action::requeue(wait + Duration::from_secs(1))
        }
        (Ok(_), None) => Action::requeue(Duration::from_secs(300)),
    })
}

#[cfg(test)]
mod tests;
