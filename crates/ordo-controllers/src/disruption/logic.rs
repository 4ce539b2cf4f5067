//! What the disruption controller decides, without I/O (upstream
//! `pkg/controller/disruption/disruption.go`): a budget's expected, desired and current
//! healthy pods, the disruptions it allows, and which evicted pods still count as disrupted.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// How long an evicted pod may take to be deleted before it counts again (upstream's
/// `DeletionTimeout`).
pub const DELETION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The condition a budget's status carries.
pub const DISRUPTION_ALLOWED: &str = "DisruptionAllowed";

/// Why a budget's status could not be computed (upstream then fails safe: no disruptions).
#[derive(Debug, PartialEq, Eq)]
pub struct SyncFailed(pub String);

/// A pod's controller and its desired scale, from the controller's cache.
pub type ScaleOf<'a> = dyn Fn(&OwnerReference, &str) -> Option<(String, i32)> + 'a;

/// `GetScaledValueFromIntOrPercent(v, total, roundUp=true)`.
pub fn scaled(v: &IntOrString, total: i32) -> Result<i32, SyncFailed> {
    match v {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| {
                    SyncFailed(format!(
                        "invalid value for IntOrString: invalid value {s:?}"
                    ))
                })?;
            Ok(((pct * i64::from(total) + 99) / 100) as i32)
        }
    }
}

/// Upstream's `getExpectedScale`: the sum of the desired scales of the pods' controllers,
/// and the pods without a controller.
pub fn expected_scale(
    pods: &[&Pod],
    scale_of: &ScaleOf<'_>,
) -> Result<(i32, Vec<String>), SyncFailed> {
    let mut scales: HashMap<String, i32> = HashMap::new();
    let mut unmanaged = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(owner) = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
        else {
            unmanaged.push(name);
            continue;
        };
        if scales.contains_key(&owner.uid) {
            continue;
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        match scale_of(owner, ns) {
            Some((uid, scale)) => {
                scales.insert(uid, scale);
            }
            None => return Err(SyncFailed(format!("found no controllers for pod {name:?}"))),
        }
    }
    Ok((scales.values().sum(), unmanaged))
}

/// Upstream's `getExpectedPodCount`: (expected pods, desired healthy, unmanaged pods).
pub fn expected_and_desired(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    scale_of: &ScaleOf<'_>,
) -> Result<(i32, i32, Vec<String>), SyncFailed> {
    let spec = pdb.spec.as_ref();
    if let Some(max) = spec.and_then(|s| s.max_unavailable.as_ref()) {
        let (expected, unmanaged) = expected_scale(pods, scale_of)?;
        let max = scaled(max, expected)?;
        return Ok((expected, (expected - max).max(0), unmanaged));
    }
    match spec.and_then(|s| s.min_available.as_ref()) {
        Some(IntOrString::Int(n)) => Ok((pods.len() as i32, *n, Vec::new())),
        Some(pct) => {
            let (expected, unmanaged) = expected_scale(pods, scale_of)?;
            Ok((expected, scaled(pct, expected)?, unmanaged))
        }
        None => Ok((pods.len() as i32, 0, Vec::new())),
    }
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Upstream's `buildDisruptedPodMap`: the evicted pods still expected to go, and when the
/// oldest of them times out (the budget is synced again then).
pub fn disrupted_pods(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    now: Timestamp,
) -> (BTreeMap<String, Time>, Option<Timestamp>) {
    let recorded = pdb
        .status
        .as_ref()
        .and_then(|s| s.disrupted_pods.clone())
        .unwrap_or_default();
    let mut kept = BTreeMap::new();
    let mut recheck: Option<Timestamp> = None;
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(t) = recorded.get(&name) else {
            continue;
        };
        let expires = t.0 + DELETION_TIMEOUT;
        if expires < now {
            continue;
        }
        recheck = Some(recheck.map_or(expires, |r| r.min(expires)));
        kept.insert(name, t.clone());
    }
    (kept, recheck)
}

/// Upstream's `countHealthyPods`: ready pods neither terminating nor just evicted.
pub fn count_healthy(pods: &[&Pod], disrupted: &BTreeMap<String, Time>, now: Timestamp) -> i32 {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            let name = p.metadata.name.as_deref().unwrap_or_default();
            disrupted
                .get(name)
                .is_none_or(|t| t.0 + DELETION_TIMEOUT <= now)
        })
        .filter(|p| is_ready(p))
        .count() as i32
}

/// Sets the `DisruptionAllowed` condition as upstream's `UpdateDisruptionAllowedCondition`
/// (and `SyncFailed` when `failed` says why the status could not be computed).
pub fn set_condition(status: &mut PodDisruptionBudgetStatus, failed: Option<&str>, now: Timestamp) {
    let (value, reason, message) = match failed {
        Some(why) => ("False", "SyncFailed", why.to_string()),
        None if status.disruptions_allowed > 0 => ("True", "SufficientPods", String::new()),
        None => ("False", "InsufficientPods", String::new()),
    };
    let conds = status.conditions.get_or_insert_with(Vec::new);
    let observed = status.observed_generation;
    match conds.iter_mut().find(|c| c.type_ == DISRUPTION_ALLOWED) {
        Some(c) => {
            if c.status != value {
                c.last_transition_time = Time(now);
            }
            c.status = value.into();
            c.reason = reason.into();
            c.message = message;
            c.observed_generation = observed;
        }
        None => conds.push(Condition {
            type_: DISRUPTION_ALLOWED.into(),
            status: value.into(),
            reason: reason.into(),
            message,
            observed_generation: observed,
            last_transition_time: Time(now),
        }),
    }
}

/// The status a budget should have (upstream's `trySync` and `updatePdbStatus`), or why it
/// cannot be computed; the second value is when to look again for an evicted pod's timeout.
pub fn desired_status(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    scale_of: &ScaleOf<'_>,
    now: Timestamp,
) -> (
    PodDisruptionBudgetStatus,
    Result<Vec<String>, SyncFailed>,
    Option<Timestamp>,
) {
    let mut status = pdb.status.clone().unwrap_or_default();
    status.observed_generation = pdb.metadata.generation;
    match expected_and_desired(pdb, pods, scale_of) {
        Err(e) => {
            // Fail safe: no disruptions while the budget cannot be computed.
            status.disruptions_allowed = 0;
            set_condition(&mut status, Some(&e.0), now);
            (status, Err(e), None)
        }
        Ok((expected, desired, unmanaged)) => {
            let (disrupted, recheck) = disrupted_pods(pdb, pods, now);
            let current = count_healthy(pods, &disrupted, now);
            let mut allowed = current - desired;
            if expected <= 0 || allowed <= 0 {
                allowed = 0;
            }
            status.current_healthy = current;
            status.desired_healthy = desired;
            status.expected_pods = expected;
            status.disruptions_allowed = allowed;
            status.disrupted_pods = (!disrupted.is_empty()).then_some(disrupted);
            set_condition(&mut status, None, now);
            (status, Ok(unmanaged), recheck)
        }
    }
}
