//! Job controller (upstream `pkg/controller/job`): runs each Job's pods to its completions
//! (NonIndexed or Indexed), with parallelism, the pod back-off, `backoffLimit`,
//! `activeDeadlineSeconds`, suspend and resume and `podFailurePolicy`, and keeps its status:
//! every pod carries the `batch.kubernetes.io/job-tracking` finalizer until the controller has
//! counted it (through `uncountedTerminatedPods`, as upstream), conditions go
//! SuccessCriteriaMet → Complete and FailureTarget → Failed. Decisions live in [`logic`] and
//! [`pods`]; this module reads the shared caches and writes through the API. [`ttl`] deletes
//! finished Jobs after `ttlSecondsAfterFinished`.

pub mod logic;
pub mod pods;
pub mod ttl;

#[cfg(test)]
mod tests;

use crate::ownership::{controller_of, Error};
use crate::pod_control::PodControl;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use logic::Backoff;
use ordo_client::events::{EventType, Recorder};
use ordo_client::objects::is_not_found;
use ordo_client::{Caches, Change, Shared, Writes};
use pods::{has_tracking_finalizer, JOB_TRACKING_FINALIZER};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Ctx {
    client: Client,
    recorder: Recorder,
    jobs: Arc<Shared<Job>>,
    pods: Arc<Shared<Pod>>,
    /// Back-off records by Job uid (in memory, as upstream's `backoffRecordStore`).
    backoff: Mutex<HashMap<String, Backoff>>,
}

/// Runs the Job controller, its orphan-pod finalizer cleanup and the TTL-after-finished
/// controller until the watch streams end.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), "job-controller"),
        jobs: caches.get::<Job>(),
        pods: caches.get::<Pod>(),
        backoff: Mutex::default(),
    });
    tokio::join!(ctx.jobs.ready(), ctx.pods.ready());
    let jobs = Controller::for_stream(ctx.jobs.stream(), ctx.jobs.store())
        .watches_stream(ctx.pods.stream(), |pod: Pod| {
            let ns = pod.namespace().unwrap_or_default();
            controller_of(&pod.metadata)
                .filter(|r| r.kind == "Job")
                .map(|r| ObjectRef::<Job>::new(&r.name).within(&ns))
        })
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("job controller: {e}");
            }
        });
    tokio::join!(
        jobs,
        release_orphans(ctx.clone()),
        ttl::run(client, ctx.jobs.clone())
    );
    Ok(())
}

fn error_policy(_job: Arc<Job>, e: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!("job sync failed: {e:#}");
    Action::requeue(Duration::from_millis(500))
}

/// Whether `pod` is controlled by a Job the cache no longer has (so nobody will count it).
fn orphaned(ctx: &Ctx, pod: &Pod) -> bool {
    let Some(r) = controller_of(&pod.metadata).filter(|r| r.kind == "Job") else {
        return false;
    };
    let ns = pod.namespace().unwrap_or_default();
    ctx.jobs
        .get(&ns, &r.name)
        .is_none_or(|j| j.metadata.uid.as_deref() != Some(r.uid.as_str()))
}

/// Upstream's orphan-pod handling: a pod that still has the job-tracking finalizer once its
/// Job is gone loses the finalizer, so that it can be deleted. Looks at each changed pod, at
/// every pod after a re-list, and at a deleted Job's namespace.
async fn release_orphans(ctx: Arc<Ctx>) {
    let pods = ctx.pods.changes().map(|c| match c {
        Change::Apply(p) => vec![p],
        Change::All(all) => all,
        Change::Delete(_) => vec![],
    });
    let jobs_ctx = ctx.clone();
    let jobs = ctx.jobs.changes().map(move |c| match c {
        Change::Delete(j) => jobs_ctx
            .pods
            .in_namespace(&j.namespace().unwrap_or_default()),
        _ => vec![],
    });
    let mut all = std::pin::pin!(futures::stream::select(pods, jobs));
    while let Some(candidates) = all.next().await {
        for pod in candidates {
            if has_tracking_finalizer(&pod) && orphaned(&ctx, &pod) {
                if let Err(e) = remove_finalizer(&ctx, &pod).await {
                    tracing::debug!("releasing orphan pod {}: {e}", pod.name_any());
                }
            }
        }
    }
}

/// Removes the job-tracking finalizer of `pod` (a merge patch guarded by its resourceVersion).
async fn remove_finalizer(ctx: &Ctx, pod: &Pod) -> Result<Option<Pod>, kube::Error> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
    let keep: Vec<&String> = pod
        .metadata
        .finalizers
        .iter()
        .flatten()
        .filter(|f| *f != JOB_TRACKING_FINALIZER)
        .collect();
    // An empty list is dropped, as Go's omitempty would.
    let finalizers = if keep.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::json!(keep)
    };
    let patch = serde_json::json!({"metadata": {
        "finalizers": finalizers, "resourceVersion": pod.metadata.resource_version}});
    match api
        .patch(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(p) => Ok(Some(p)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn reconcile(obj: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let Some(job) = ctx.jobs.get(&ns, &obj.name_any()) else {
        return Ok(Action::await_change());
    };
    let writes = Writes::default();
    let result = sync(&ctx, &ns, &job, &writes).await;
    writes.settle(&format!("job {ns}/{}", job.name_any())).await;
    result
}

/// One sync of `job`: counts finished pods, creates or deletes pods, writes status.
async fn sync(ctx: &Ctx, ns: &str, job: &Job, writes: &Writes) -> Result<Action, Error> {
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let cached = ctx.pods.in_namespace(ns);
    let owned: Vec<&Pod> = cached
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| controller_of(&p.metadata).is_some_and(|r| r.uid == uid))
        .collect();
    let now = Timestamp::now();
    let backoff = ctx
        .backoff
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&uid)
        .copied()
        .unwrap_or_default();
    let plan = logic::plan(job, &owned, backoff, now);
    let job_api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let name = job.name_any();
    let mut current = job.clone();

    // 1. Newly finished pods go into uncountedTerminatedPods before their finalizers go.
    if let Some(interim) = plan.interim.clone() {
        current = write_status(&job_api, &current, interim).await?;
        writes.wrote(&ctx.jobs, &current);
    }
    // 2. Release the counted pods (and those about to be deleted).
    let by_name: HashMap<&str, &Pod> = owned
        .iter()
        .map(|p| (p.metadata.name.as_deref().unwrap_or(""), *p))
        .collect();
    for pname in &plan.unfinalize {
        if let Some(pod) = by_name.get(pname.as_str()) {
            if let Some(p) = remove_finalizer(ctx, pod).await? {
                writes.wrote(&ctx.pods, &p);
            }
        }
    }
    // 3. Deletions and creations.
    let control = PodControl {
        api: Api::namespaced(ctx.client.clone(), ns),
        recorder: &ctx.recorder,
        owner: job,
        cache: &ctx.pods,
        writes,
    };
    for pname in &plan.delete {
        if let Some(pod) = by_name.get(pname.as_str()) {
            control.delete(pname, pod.metadata.uid.clone(), None).await;
        }
    }
    let new_pods: Vec<Pod> = plan
        .create
        .iter()
        .map(|ix| pods::new_pod(job, *ix))
        .collect();
    let failed_creates = control.create_all(&new_pods).await as i32;
    // 4. The status with everything counted.
    let mut status = plan.status.clone();
    if failed_creates > 0 {
        status.active = status.active.map(|a| a - failed_creates);
    }
    if current.status.as_ref() != Some(&status) {
        current = write_status(&job_api, &current, status).await?;
        writes.wrote(&ctx.jobs, &current);
    }
    for (warning, reason, message) in &plan.events {
        let ty = if *warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        ctx.recorder.record(job, ty, reason, message).await;
    }
    {
        let mut records = ctx.backoff.lock().unwrap_or_else(|e| e.into_inner());
        if logic::is_finished(&current) {
            records.remove(&uid);
        } else {
            records.insert(uid, plan.backoff);
        }
    }
    tracing::debug!("synced job {ns}/{name}");
    Ok(match plan.requeue {
        Some(d) => Action::requeue(d),
        None if failed_creates > 0 => Action::requeue(Duration::from_secs(2)),
        None => Action::requeue(Duration::from_secs(300)),
    })
}

/// Replaces the status of `job` (guarded by its resourceVersion, so that a stale cache never
/// counts a pod twice).
async fn write_status(api: &Api<Job>, job: &Job, status: JobStatus) -> Result<Job, Error> {
    let mut updated = job.clone();
    updated.status = Some(status);
    Ok(api
        .replace_status(&job.name_any(), &PostParams::default(), &updated)
        .await?)
}
