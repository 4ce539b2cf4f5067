//! CronJob controller (upstream `pkg/controller/cronjob`, `ControllerV2`): creates each
//! CronJob's Jobs at its schedule times (cron schedules with `spec.timeZone`), as
//! `NAME-<minutes since the epoch>` owned by the CronJob, with `concurrencyPolicy` Allow,
//! Forbid or Replace, `startingDeadlineSeconds`, suspend, the history limits, and keeps
//! `status.active`, `lastScheduleTime` and `lastSuccessfulTime`. Decisions live in [`logic`];
//! this module reads the shared caches, writes through the API and requeues each CronJob at
//! its next schedule time.

pub mod logic;

#[cfg(test)]
mod tests;

use crate::ownership::{controller_of, Error};
use futures::StreamExt;
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use logic::{Event, Start};
use ordo_client::events::{EventType, Recorder};
use ordo_client::objects::{api_message, is_not_found};
use ordo_client::{Caches, Shared, Writes};
use std::sync::Arc;
use std::time::Duration;

struct Ctx {
    client: Client,
    recorder: Recorder,
    cronjobs: Arc<Shared<CronJob>>,
    jobs: Arc<Shared<Job>>,
}

/// Runs the CronJob controller until the watch streams end.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client, "cronjob-controller"),
        cronjobs: caches.get::<CronJob>(),
        jobs: caches.get::<Job>(),
    });
    tokio::join!(ctx.cronjobs.ready(), ctx.jobs.ready());
    Controller::for_stream(ctx.cronjobs.stream(), ctx.cronjobs.store())
        .watches_stream(ctx.jobs.stream(), |job: Job| {
            let ns = job.namespace().unwrap_or_default();
            controller_of(&job.metadata)
                .filter(|r| r.kind == "CronJob")
                .map(|r| ObjectRef::<CronJob>::new(&r.name).within(&ns))
        })
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("cronjob controller: {e}");
            }
        })
        .await;
    Ok(())
}

fn error_policy(_cj: Arc<CronJob>, e: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!("cronjob sync failed: {e:#}");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(obj: Arc<CronJob>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let Some(cj) = ctx.cronjobs.get(&ns, &obj.name_any()) else {
        return Ok(Action::await_change());
    };
    let writes = Writes::default();
    let result = sync(&ctx, &ns, &cj, &writes).await;
    writes
        .settle(&format!("cronjob {ns}/{}", cj.name_any()))
        .await;
    result
}

impl Ctx {
    async fn events(&self, cj: &CronJob, events: &[Event]) {
        for e in events {
            let ty = if e.warning {
                EventType::Warning
            } else {
                EventType::Normal
            };
            self.recorder.record(cj, ty, e.reason, &e.message).await;
        }
    }

    /// Upstream `deleteJob`: deletes the Job (background propagation) and records it.
    async fn delete_job(&self, cj: &CronJob, ns: &str, name: &str, writes: &Writes) -> bool {
        let api: Api<Job> = Api::namespaced(self.client.clone(), ns);
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        match api.delete(name, &dp).await {
            Ok(_) => {
                writes.deleted(&self.jobs, ns, name, None);
                let msg = format!("Deleted job {name}");
                self.recorder
                    .record(cj, EventType::Normal, "SuccessfulDelete", &msg)
                    .await;
                true
            }
            Err(e) => {
                let msg = format!("Deleted job: {}", api_message(&e));
                self.recorder
                    .record(cj, EventType::Warning, "FailedDelete", &msg)
                    .await;
                false
            }
        }
    }
}

/// One sync of `cj` (upstream `sync`: `syncCronJob`, then `cleanupFinishedJobs`, then one
/// status update).
async fn sync(ctx: &Ctx, ns: &str, cj: &CronJob, writes: &Writes) -> Result<Action, Error> {
    let name = cj.name_any();
    let cached = ctx.jobs.in_namespace(ns);
    let jobs: Vec<&Job> = cached
        .iter()
        .map(|j| j.as_ref())
        .filter(|j| logic::controlled_by(j, &name))
        .collect();
    let job_api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let observed = logic::observe(cj, &jobs);
    ctx.events(cj, &observed.events).await;
    let mut status = observed.status;
    // An active Job the cache lacks is asked for: only a Job really gone leaves the list.
    for r in &observed.missing {
        let jname = r.name.clone().unwrap_or_default();
        match job_api.get(&jname).await {
            Err(e) if is_not_found(&e) => {
                let msg = format!("Active job went missing: {jname}");
                ctx.recorder
                    .record(cj, EventType::Normal, "MissingJob", &msg)
                    .await;
                logic::remove_active(&mut status, r.uid.as_deref().unwrap_or(""));
            }
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
    }
    let now = chrono::Utc::now();
    let decision = logic::decide(cj, &status, now);
    ctx.events(cj, &decision.events).await;
    let mut result = Ok(());
    if let Some(start) = decision.start {
        result = start_job(ctx, ns, cj, start, &mut status, writes).await;
    }
    for job in logic::prune(cj, &jobs) {
        let jname = job.name_any();
        if ctx.delete_job(cj, ns, &jname, writes).await {
            logic::remove_active(&mut status, job.metadata.uid.as_deref().unwrap_or(""));
        }
    }
    if cj.status.as_ref().unwrap_or(&CronJobStatus::default()) != &status {
        let mut updated = cj.clone();
        updated.status = Some(status);
        let api: Api<CronJob> = Api::namespaced(ctx.client.clone(), ns);
        let written = api
            .replace_status(&name, &PostParams::default(), &updated)
            .await?;
        writes.wrote(&ctx.cronjobs, &written);
    }
    result?;
    tracing::debug!("synced cronjob {ns}/{name}");
    Ok(match decision.requeue {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}

/// Replaces the active Jobs if asked, creates the Job and puts it in the status.
async fn start_job(
    ctx: &Ctx,
    ns: &str,
    cj: &CronJob,
    start: Start,
    status: &mut CronJobStatus,
    writes: &Writes,
) -> Result<(), Error> {
    let job_api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    for r in &start.replace {
        let jname = r.name.clone().unwrap_or_default();
        if let Err(e) = job_api.get(&jname).await {
            let msg = format!("Get job: {}", api_message(&e));
            ctx.recorder
                .record(cj, EventType::Warning, "FailedGet", &msg)
                .await;
            return Err(e.into());
        }
        if !ctx.delete_job(cj, ns, &jname, writes).await {
            return Err(Error::Other(format!("could not replace job {ns}/{jname}")));
        }
        logic::remove_active(status, r.uid.as_deref().unwrap_or(""));
    }
    let created = match job_api.create(&PostParams::default(), &start.job).await {
        Ok(job) => {
            writes.wrote(&ctx.jobs, &job);
            let msg = format!("Created job {}", job.name_any());
            ctx.recorder
                .record(cj, EventType::Normal, "SuccessfulCreate", &msg)
                .await;
            job
        }
        Err(kube::Error::Api(s)) if s.reason == "AlreadyExists" => {
            let job = job_api.get(&start.job.name_any()).await?;
            // Someone else's Job, or ours already counted: nothing to do.
            let ours =
                controller_of(&job.metadata).is_some_and(|r| r.uid == cj.uid().unwrap_or_default());
            let uid = job.metadata.uid.clone().unwrap_or_default();
            let listed = status
                .active
                .iter()
                .flatten()
                .any(|r| r.uid.as_deref() == Some(uid.as_str()));
            if !ours || listed {
                return Ok(());
            }
            job
        }
        Err(e) => {
            let msg = api_message(&e);
            if !msg.contains("being terminated") {
                let msg = format!("Error creating job: {msg}");
                ctx.recorder
                    .record(cj, EventType::Warning, "FailedCreate", &msg)
                    .await;
            }
            return Err(e.into());
        }
    };
    status
        .active
        .get_or_insert_with(Vec::new)
        .push(logic::job_ref(&created));
    status.last_schedule_time = Some(logic::to_time(start.scheduled));
    Ok(())
}
