//! HorizontalPodAutoscaler controller (upstream `pkg/controller/podautoscaler`): every sync
//! period it reads the target's `scale` subresource, the selected pods from the shared pod
//! cache and their usage from the `metrics.k8s.io` API, computes the replicas each metric asks
//! for ([`logic::resource_replicas`]), stabilizes and rate-limits the largest
//! ([`logic::normalize_with_behavior`]), writes the new scale and the HPA's status
//! (conditions AbleToScale, ScalingActive, ScalingLimited) and records `SuccessfulRescale`.
//! Deployments, StatefulSets and any kind with a `scale` subresource can be targets.

pub mod logic;
mod metrics;
#[cfg(test)]
mod tests;

use crate::ownership::Error;
use futures::StreamExt;
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition,
    HorizontalPodAutoscalerStatus, MetricSpec, MetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::ResourceExt;
use logic::{History, Normalized, Policy, Rules, Select};
use ordo_client::events::{EventType, Recorder};
use ordo_client::{Caches, Shared};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    pods: Arc<Shared<Pod>>,
    /// Recommendations and scale events per HPA (`namespace/name`).
    history: Mutex<HashMap<String, History>>,
    /// Resolved plurals of target kinds (`group/version/Kind`).
    plurals: Mutex<HashMap<String, String>>,
    sync_period: Duration,
}

/// Runs the HPA controller until the watch streams end, syncing each HPA every `sync_period`
/// (`--horizontal-pod-autoscaler-sync-period`, 15 s upstream).
pub async fn run(caches: Caches, sync_period: Duration) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let hpas = caches.get::<HorizontalPodAutoscaler>();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client, "horizontal-pod-autoscaler"),
        pods: caches.get::<Pod>(),
        history: Mutex::new(HashMap::new()),
        plurals: Mutex::new(HashMap::new()),
        sync_period,
    });
    tokio::join!(hpas.ready(), ctx.pods.ready());
    Controller::for_stream(hpas.stream(), hpas.store())
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("hpa controller: {e}");
            }
        })
        .await;
    Ok(())
}

fn error_policy(_hpa: Arc<HorizontalPodAutoscaler>, e: &Error, ctx: Arc<Ctx>) -> Action {
    tracing::debug!("hpa sync failed: {e:#}");
    Action::requeue(ctx.sync_period)
}

/// One direction's rules of a `behavior`, upstream's `default` for what it leaves out.
fn rules(r: Option<&HPAScalingRules>, default: Rules) -> Rules {
    Rules {
        window_seconds: r
            .and_then(|r| r.stabilization_window_seconds)
            .unwrap_or(default.window_seconds),
        select: match r.and_then(|r| r.select_policy.as_deref()) {
            Some("Min") => Select::Min,
            Some("Disabled") => Select::Disabled,
            _ => Select::Max,
        },
        policies: r
            .and_then(|r| r.policies.as_ref())
            .map(|ps| {
                ps.iter()
                    .map(|p| Policy {
                        pods: p.type_ == "Pods",
                        value: p.value,
                        period_seconds: p.period_seconds,
                    })
                    .collect()
            })
            .unwrap_or(default.policies),
    }
}

/// Sets a condition as upstream's `setCondition`: the transition time changes only with the
/// status.
fn set_condition(conds: &mut Vec<HorizontalPodAutoscalerCondition>, c: &logic::Condition) {
    let (ty, status, reason, message) = c;
    let status = if *status { "True" } else { "False" };
    let now = Time(Timestamp::now());
    match conds.iter_mut().find(|x| x.type_ == *ty) {
        Some(x) => {
            if x.status != status {
                x.last_transition_time = Some(now);
            }
            x.status = status.into();
            x.reason = Some(reason.to_string());
            x.message = Some(message.clone());
        }
        None => conds.push(HorizontalPodAutoscalerCondition {
            type_: ty.to_string(),
            status: status.into(),
            reason: Some(reason.to_string()),
            message: Some(message.clone()),
            last_transition_time: Some(now),
        }),
    }
}

/// The API path segment of `kind` in `api_version` (`deployments`), from a table of the usual
/// ones or discovery.
async fn plural_of(ctx: &Ctx, api_version: &str, kind: &str) -> Result<String, String> {
    let key = format!("{api_version}/{kind}");
    if let Some(p) = ctx.plurals.lock().unwrap().get(&key) {
        return Ok(p.clone());
    }
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
    let (ar, _) = kube::discovery::pinned_kind(&ctx.client, &gvk)
        .await
        .map_err(|e| format!("unable to determine resource for scale target reference: {e}"))?;
    ctx.plurals.lock().unwrap().insert(key, ar.plural.clone());
    Ok(ar.plural)
}

async fn scale_api(
    ctx: &Ctx,
    ns: &str,
    api_version: &str,
    kind: &str,
) -> Result<Api<kube::api::DynamicObject>, String> {
    let plural = plural_of(ctx, api_version, kind).await?;
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version.to_string()),
    };
    let ar = kube::api::ApiResource {
        group,
        version,
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        plural,
    };
    Ok(Api::namespaced_with(ctx.client.clone(), ns, &ar))
}

async fn reconcile(hpa: Arc<HorizontalPodAutoscaler>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if hpa.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = hpa.namespace().unwrap_or_default();
    let name = hpa.name_any();
    let key = format!("{ns}/{name}");
    let spec = hpa.spec.clone().unwrap_or_default();
    let original = hpa.status.clone().unwrap_or_default();
    let mut status = original.clone();
    let mut conds = status.conditions.clone().unwrap_or_default();
    let target = &spec.scale_target_ref;
    let api_version = target.api_version.clone().unwrap_or_default();
    let reference = format!("{}/{}", target.kind, target.name);
    let scale: Result<(Api<kube::api::DynamicObject>, Scale), String> =
        match scale_api(&ctx, &ns, &api_version, &target.kind).await {
            Ok(api) => match api.get_scale(&target.name).await {
                Ok(s) => Ok((api, s)),
                Err(e) => Err(ordo_client::objects::api_message(&e)),
            },
            Err(e) => Err(e),
        };
    let (api, scale) = match scale {
        Ok(x) => x,
        Err(e) => {
            ctx.recorder
                .record(hpa.as_ref(), EventType::Warning, "FailedGetScale", &e)
                .await;
            set_condition(
                &mut conds,
                &(
                    "AbleToScale",
                    false,
                    "FailedGetScale",
                    format!("the HPA controller was unable to get the target's current scale: {e}"),
                ),
            );
            status.conditions = Some(conds);
            write_status(&ctx, &hpa, &original, status).await?;
            return Ok(Action::requeue(ctx.sync_period));
        }
    };
    set_condition(
        &mut conds,
        &(
            "AbleToScale",
            true,
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale".into(),
        ),
    );
    let current = scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    let observed = scale.status.as_ref().map(|s| s.replicas).unwrap_or(0);
    let min = spec.min_replicas.unwrap_or(1);
    let now = SystemTime::now();
    {
        let mut h = ctx.history.lock().unwrap();
        let e = h.entry(key.clone()).or_default();
        if e.recommendations.is_empty() {
            e.recommendations.push(logic::Timestamped {
                value: current,
                at: now,
            });
        }
    }
    let mut desired = 0;
    let mut reason = String::new();
    let mut metric_statuses: Option<Vec<MetricStatus>> = status.current_metrics.clone();
    let rescale;
    if current == 0 && min != 0 {
        rescale = false;
        set_condition(
            &mut conds,
            &(
                "ScalingActive",
                false,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero".into(),
            ),
        );
    } else if current > spec.max_replicas {
        reason = "Current number of replicas above Spec.MaxReplicas".into();
        desired = spec.max_replicas;
        rescale = true;
    } else if current < min {
        reason = "Current number of replicas below Spec.MinReplicas".into();
        desired = min;
        rescale = true;
    } else {
        let selector = scale
            .status
            .as_ref()
            .and_then(|s| s.selector.clone())
            .unwrap_or_default();
        let computed = if selector.is_empty() {
            ctx.recorder
                .record(
                    hpa.as_ref(),
                    EventType::Warning,
                    "SelectorRequired",
                    "selector is required",
                )
                .await;
            Err((
                "InvalidSelector",
                "the HPA target's scale is missing a selector".to_string(),
            ))
        } else {
            metrics::compute(
                &ctx,
                &hpa,
                &ns,
                &selector,
                observed,
                spec.metrics.as_deref().unwrap_or_default(),
                now,
            )
            .await
        };
        match computed {
            Err((why, message)) => {
                set_condition(&mut conds, &("ScalingActive", false, why, message));
                status.conditions = Some(conds);
                status.current_replicas = Some(observed);
                write_status(&ctx, &hpa, &original, status).await?;
                return Ok(Action::requeue(ctx.sync_period));
            }
            Ok(c) => {
                set_condition(
                    &mut conds,
                    &(
                        "ScalingActive",
                        true,
                        "ValidMetricFound",
                        format!(
                            "the HPA was able to successfully calculate a replica count from {}",
                            c.metric_name
                        ),
                    ),
                );
                metric_statuses = Some(c.statuses);
                desired = c.replicas;
                if desired > current {
                    reason = format!("{} above target", c.metric_name);
                }
                if desired < current {
                    reason = "All metrics below target".into();
                }
            }
        }
        let Normalized {
            replicas,
            conditions,
        } = {
            let mut h = ctx.history.lock().unwrap();
            let e = h.entry(key.clone()).or_default();
            match &spec.behavior {
                None => logic::normalize(e, min, spec.max_replicas, current, desired, now),
                Some(b) => logic::normalize_with_behavior(
                    e,
                    &up_rules(b.scale_up.as_ref()),
                    &down_rules(b.scale_down.as_ref()),
                    min,
                    spec.max_replicas,
                    current,
                    desired,
                    now,
                ),
            }
        };
        for c in &conditions {
            set_condition(&mut conds, c);
        }
        desired = replicas;
        rescale = desired != current;
    }
    if rescale {
        let mut new_scale = scale.clone();
        new_scale.spec.get_or_insert_with(Default::default).replicas = Some(desired);
        match api
            .replace_scale(&target.name, &PostParams::default(), &new_scale)
            .await
        {
            Err(e) => {
                let msg = ordo_client::objects::api_message(&e);
                ctx.recorder
                    .record(
                        hpa.as_ref(),
                        EventType::Warning,
                        "FailedRescale",
                        &format!("New size: {desired}; reason: {reason}; error: {msg}"),
                    )
                    .await;
                set_condition(
                    &mut conds,
                    &(
                        "AbleToScale",
                        false,
                        "FailedUpdateScale",
                        format!("the HPA controller was unable to update the target scale: {msg}"),
                    ),
                );
                status.conditions = Some(conds);
                write_status(&ctx, &hpa, &original, status).await?;
                return Ok(Action::requeue(ctx.sync_period));
            }
            Ok(_) => {
                set_condition(
                    &mut conds,
                    &(
                        "AbleToScale",
                        true,
                        "SucceededRescale",
                        format!(
                            "the HPA controller was able to update the target scale to {desired}"
                        ),
                    ),
                );
                ctx.recorder
                    .record(
                        hpa.as_ref(),
                        EventType::Normal,
                        "SuccessfulRescale",
                        &format!("New size: {desired}; reason: {reason}"),
                    )
                    .await;
                tracing::info!(hpa = %key, target = %reference, from = current, to = desired, "rescaled");
                if let Some(b) = &spec.behavior {
                    let mut h = ctx.history.lock().unwrap();
                    let e = h.entry(key.clone()).or_default();
                    logic::record_scale(
                        e,
                        &up_rules(b.scale_up.as_ref()),
                        &down_rules(b.scale_down.as_ref()),
                        current,
                        desired,
                        now,
                    );
                }
                status.last_scale_time = Some(Time(Timestamp::now()));
            }
        }
    } else {
        desired = current;
    }
    status.current_replicas = Some(observed);
    status.desired_replicas = desired;
    status.current_metrics = metric_statuses;
    status.observed_generation = hpa.metadata.generation;
    status.conditions = Some(conds);
    write_status(&ctx, &hpa, &original, status).await?;
    Ok(Action::requeue(ctx.sync_period))
}

fn up_rules(r: Option<&HPAScalingRules>) -> Rules {
    rules(r, logic::default_scale_up())
}

fn down_rules(r: Option<&HPAScalingRules>) -> Rules {
    rules(r, logic::default_scale_down())
}

/// Writes the status when it changed (`updateStatusIfNeeded`).
async fn write_status(
    ctx: &Ctx,
    hpa: &HorizontalPodAutoscaler,
    original: &HorizontalPodAutoscalerStatus,
    status: HorizontalPodAutoscalerStatus,
) -> Result<(), Error> {
    if *original == status {
        return Ok(());
    }
    let api: Api<HorizontalPodAutoscaler> =
        Api::namespaced(ctx.client.clone(), &hpa.namespace().unwrap_or_default());
    api.patch_status(
        &hpa.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await?;
    Ok(())
}

/// The metric specs as the metrics module reads them.
pub(crate) type Metrics = [MetricSpec];
