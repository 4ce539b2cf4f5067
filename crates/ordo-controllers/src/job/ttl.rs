//! The TTL-after-finished controller (upstream `pkg/controller/ttlafterfinished`): deletes a
//! finished Job (with its pods, in the foreground) `ttlSecondsAfterFinished` after it finished.

use super::logic::finished_at;
use crate::ownership::Error;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};
use kube::runtime::controller::{Action, Controller};
use kube::{Client, ResourceExt};
use ordo_client::objects::is_not_found;
use ordo_client::Shared;
use std::sync::Arc;
use std::time::Duration;

struct Ctx {
    client: Client,
    jobs: Arc<Shared<Job>>,
}

/// How long until `job` expires (zero: now), or None when it has no TTL or has not finished.
pub fn expires_in(job: &Job, now: Timestamp) -> Option<Duration> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    if job.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let finished = job
        .status
        .as_ref()
        .and_then(|s| s.completion_time.as_ref())
        .map(|t| t.0)
        .or_else(|| finished_at(job))?;
    let expire = finished + Duration::from_secs(ttl.max(0) as u64);
    Some(if expire <= now {
        Duration::ZERO
    } else {
        expire.duration_since(now).unsigned_abs()
    })
}

/// Runs the TTL-after-finished controller until the Job stream ends.
pub async fn run(client: Client, jobs: Arc<Shared<Job>>) {
    let ctx = Arc::new(Ctx { client, jobs });
    Controller::for_stream(ctx.jobs.stream(), ctx.jobs.store())
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("ttl-after-finished controller: {e}");
            }
        })
        .await;
}

fn error_policy(_job: Arc<Job>, e: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!("ttl-after-finished sync failed: {e:#}");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(obj: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let Some(job) = ctx.jobs.get(&ns, &obj.name_any()) else {
        return Ok(Action::await_change());
    };
    match expires_in(&job, Timestamp::now()) {
        None => Ok(Action::await_change()),
        Some(d) if !d.is_zero() => Ok(Action::requeue(d + Duration::from_millis(100))),
        Some(_) => {
            let api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
            let dp = DeleteParams {
                propagation_policy: Some(PropagationPolicy::Foreground),
                preconditions: Some(Preconditions {
                    uid: job.metadata.uid.clone(),
                    resource_version: job.metadata.resource_version.clone(),
                }),
                ..Default::default()
            };
            tracing::info!("deleting finished job {ns}/{} (ttl)", job.name_any());
            match api.delete(&job.name_any(), &dp).await {
                Ok(_) => Ok(Action::await_change()),
                Err(e) if is_not_found(&e) => Ok(Action::await_change()),
                Err(e) => Err(e.into()),
            }
        }
    }
}
