//! The HPA's view of its metrics (`computeReplicasForMetrics`): the target's pods from the
//! shared pod cache, their usage from `metrics.k8s.io` PodMetrics (one list per sync, as
//! upstream's resource metrics client), and a replica proposal per metric. Resource and
//! ContainerResource metrics are supported; the others report that they are not.

use super::logic::{self, PodInfo, PodMetric, Target};
use super::{Ctx, Metrics};
use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricStatus, HorizontalPodAutoscaler, MetricStatus, MetricValueStatus,
    ResourceMetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use ordo_api::selector::LabelSelector;
use ordo_client::events::EventType;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// What the metrics ask for: the largest proposal and the metric that made it.
pub(super) struct Computed {
    pub replicas: i32,
    pub metric_name: String,
    pub statuses: Vec<MetricStatus>,
}

fn pod_metrics_api(ctx: &Ctx, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: "PodMetrics".into(),
        plural: "pods".into(),
    };
    Api::namespaced_with(ctx.client.clone(), ns, &ar)
}

/// A Go duration as metrics-server prints a window (`15s`, `1.5s`, `1m0s`).
fn parse_window(s: &str) -> Duration {
    let mut total = 0.0;
    let mut num = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'h' | 'm' | 's' => {
                let n: f64 = num.parse().unwrap_or(0.0);
                total += n * match c {
                    'h' => 3600.0,
                    'm' => 60.0,
                    _ => 1.0,
                };
                num.clear();
            }
            _ => {}
        }
    }
    Duration::from_secs_f64(total)
}

/// Usage in thousandths of a unit (millicores; thousandths of bytes for memory).
fn milli(q: &str) -> i64 {
    ordo_api::quantity::value(q)
        .map(|v| (v * 1000.0).round() as i64)
        .unwrap_or(0)
}

/// Each pod's usage of `resource` (only `container`'s when given), by pod name.
fn pod_usage(
    items: &[DynamicObject],
    resource: &str,
    container: Option<&str>,
) -> BTreeMap<String, PodMetric> {
    let mut out = BTreeMap::new();
    for m in items {
        let Some(name) = m.metadata.name.clone() else {
            continue;
        };
        let timestamp = m.data["timestamp"]
            .as_str()
            .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
            .map(SystemTime::from)
            .unwrap_or_else(SystemTime::now);
        let window = parse_window(m.data["window"].as_str().unwrap_or("0s"));
        let containers = m.data["containers"].as_array().cloned().unwrap_or_default();
        let mut value = 0;
        let mut found = false;
        for c in &containers {
            if container.is_some_and(|n| c["name"].as_str() != Some(n)) {
                continue;
            }
            if let Some(q) = c["usage"][resource].as_str() {
                value += milli(q);
                found = true;
            }
        }
        if found {
            out.insert(
                name,
                PodMetric {
                    value,
                    timestamp,
                    window,
                },
            );
        }
    }
    out
}

/// What the calculator needs of a pod: phase, readiness, start and its requests of `resource`.
fn pod_info(pod: &Pod, resource: &str, container: Option<&str>) -> PodInfo {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("");
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map(|c| {
            (
                c.status == "True",
                c.last_transition_time
                    .as_ref()
                    .map(|t| SystemTime::from(t.0))
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            )
        });
    let mut request = Ok(0);
    for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
        if container.is_some_and(|n| n != c.name) {
            continue;
        }
        let r = c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get(resource))
            .map(|q| milli(&q.0));
        request = match (request, r) {
            (Ok(sum), Some(r)) => Ok(sum + r),
            (Ok(_), None) => Err(format!(
                "missing request for {resource} in container {} of Pod {name}",
                c.name
            )),
            (e, _) => e,
        };
    }
    PodInfo {
        ignored: pod.metadata.deletion_timestamp.is_some() || phase == "Failed",
        pending: phase == "Pending",
        ready,
        start_time: status
            .and_then(|s| s.start_time.as_ref())
            .map(|t| SystemTime::from(t.0)),
        request,
        name,
    }
}

/// Thousandths of a unit as a quantity: millicores for CPU (`250m`), whole units otherwise.
fn quantity(milli: i64, resource: &str) -> Quantity {
    if resource == "cpu" {
        Quantity(format!("{milli}m"))
    } else {
        Quantity(ordo_api::quantity::format_whole(milli / 1000, true))
    }
}

/// `computeReplicasForMetrics`: the largest proposal of the metrics that could be computed; an
/// error (condition reason and message) when none could.
pub(super) async fn compute(
    ctx: &Ctx,
    hpa: &HorizontalPodAutoscaler,
    ns: &str,
    selector: &str,
    current: i32,
    metrics: &Metrics,
    now: SystemTime,
) -> Result<Computed, (&'static str, String)> {
    let sel = LabelSelector::parse(selector).map_err(|e| {
        (
            "InvalidSelector",
            format!("couldn't convert selector into a corresponding internal selector object: {e}"),
        )
    })?;
    let pods: Vec<_> = ctx
        .pods
        .in_namespace(ns)
        .into_iter()
        .filter(|p| {
            let labels = serde_json::to_value(&p.metadata.labels).unwrap_or_default();
            sel.matches(&labels)
        })
        .collect();
    let listed = pod_metrics_api(ctx, ns)
        .list(&ListParams::default().labels(selector))
        .await
        .map(|l| l.items);
    let mut best: Option<Computed> = None;
    let mut statuses = Vec::new();
    let mut last_error: Option<(&'static str, String)> = None;
    for m in metrics {
        let (src_field, resource, container, target) = match m.type_.as_str() {
            "Resource" => match &m.resource {
                Some(r) => ("Resource", r.name.clone(), None, r.target.clone()),
                None => continue,
            },
            "ContainerResource" => match &m.container_resource {
                Some(r) => (
                    "ContainerResource",
                    r.name.clone(),
                    Some(r.container.clone()),
                    r.target.clone(),
                ),
                None => continue,
            },
            other => {
                let msg = format!("the HPA was unable to compute the replica count: {other} metrics are not supported by ordo");
                last_error = Some(("FailedGetExternalMetric", msg));
                continue;
            }
        };
        let (target_kind, metric_name) = match (target.average_utilization, &target.average_value) {
            (Some(u), _) => (
                Target::Utilization(u),
                format!("{resource} resource utilization (percentage of request)"),
            ),
            (None, Some(v)) => (
                Target::AverageValue(milli(&v.0)),
                format!("{resource} resource"),
            ),
            (None, None) => continue,
        };
        let failed_reason = if src_field == "Resource" {
            "FailedGetResourceMetric"
        } else {
            "FailedGetContainerResourceMetric"
        };
        let what = match target_kind {
            Target::Utilization(_) => "utilization",
            Target::AverageValue(_) => "usage",
        };
        let result = match &listed {
            Err(e) => Err(format!(
                "unable to get metrics for resource {resource}: unable to fetch metrics from resource metrics API: {}",
                ordo_client::objects::api_message(e)
            )),
            Ok(items) => {
                let usage = pod_usage(items, &resource, container.as_deref());
                let infos: Vec<PodInfo> = pods
                    .iter()
                    .map(|p| pod_info(p, &resource, container.as_deref()))
                    .collect();
                if usage.is_empty() {
                    Err(format!(
                        "unable to get metrics for resource {resource}: no metrics returned from resource metrics API"
                    ))
                } else {
                    logic::resource_replicas(
                        current,
                        target_kind,
                        resource == "cpu",
                        &infos,
                        &usage,
                        now,
                    )
                }
            }
        };
        match result {
            Err(e) => {
                let e = format!("failed to get {resource} {what}: {e}");
                ctx.recorder
                    .record(hpa, EventType::Warning, failed_reason, &e)
                    .await;
                last_error = Some((
                    failed_reason,
                    format!("the HPA was unable to compute the replica count: {e}"),
                ));
                statuses.push(MetricStatus {
                    type_: String::new(),
                    ..Default::default()
                });
            }
            Ok(p) => {
                let current_value = MetricValueStatus {
                    average_value: Some(quantity(p.raw_average, &resource)),
                    average_utilization: p.utilization,
                    value: None,
                };
                statuses.push(if src_field == "Resource" {
                    MetricStatus {
                        type_: "Resource".into(),
                        resource: Some(ResourceMetricStatus {
                            name: resource.clone(),
                            current: current_value,
                        }),
                        ..Default::default()
                    }
                } else {
                    MetricStatus {
                        type_: "ContainerResource".into(),
                        container_resource: Some(ContainerResourceMetricStatus {
                            name: resource.clone(),
                            container: container.clone().unwrap_or_default(),
                            current: current_value,
                        }),
                        ..Default::default()
                    }
                });
                if best.as_ref().is_none_or(|b| p.replicas > b.replicas) {
                    best = Some(Computed {
                        replicas: p.replicas,
                        metric_name,
                        statuses: Vec::new(),
                    });
                }
            }
        }
    }
    let statuses: Vec<MetricStatus> = statuses
        .into_iter()
        .filter(|s| !s.type_.is_empty())
        .collect();
    match best {
        Some(mut b) => {
            b.statuses = statuses;
            Ok(b)
        }
        None => Err(last_error.unwrap_or((
            "FailedGetResourceMetric",
            "the HPA was unable to compute the replica count: no metrics".into(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_quantities() {
        assert_eq!(parse_window("15s"), Duration::from_secs(15));
        assert_eq!(parse_window("1m0s"), Duration::from_secs(60));
        assert_eq!(parse_window("1.5s"), Duration::from_millis(1500));
        assert_eq!(milli("250m"), 250);
        assert_eq!(milli("123456n"), 0);
        assert_eq!(milli("1"), 1000);
        assert_eq!(quantity(250, "cpu").0, "250m");
        assert_eq!(quantity(64 * 1024 * 1024 * 1000, "memory").0, "64Mi");
    }
}
