//! The HorizontalPodAutoscaler's decisions, free of I/O (upstream
//! `pkg/controller/podautoscaler`: `replica_calculator.go` and the normalization in
//! `horizontal.go`): the replica count a resource metric asks for, given the pods, their
//! requests and their usage; then stabilization, behavior policies and min/max limits.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

/// Usage ratios within this distance of 1 change nothing (`--horizontal-pod-autoscaler-tolerance`).
pub const TOLERANCE: f64 = 0.1;
/// For this long after a pod starts, its CPU samples are only trusted once it has been ready a
/// whole metric window (`--horizontal-pod-autoscaler-cpu-initialization-period`).
pub const CPU_INITIALIZATION_PERIOD: Duration = Duration::from_secs(300);
/// A pod that turned unready within this long of its start is taken to have never been
/// ready (`--horizontal-pod-autoscaler-initial-readiness-delay`).
pub const INITIAL_READINESS_DELAY: Duration = Duration::from_secs(30);
/// The scale-down stabilization window without a `behavior`
/// (`--horizontal-pod-autoscaler-downscale-stabilization`).
pub const DOWNSCALE_STABILIZATION: Duration = Duration::from_secs(300);

/// What the calculator needs of one pod selected by the target's scale.
#[derive(Clone, Debug, PartialEq)]
pub struct PodInfo {
    /// The pod's name.
    pub name: String,
    /// Being deleted, or phase Failed: ignored altogether.
    pub ignored: bool,
    /// Phase Pending.
    pub pending: bool,
    /// The Ready condition: its status and when it last changed; None without one.
    pub ready: Option<(bool, SystemTime)>,
    /// `status.startTime`.
    pub start_time: Option<SystemTime>,
    /// The sum of its containers' requests of the resource (milli-units), None when a
    /// container has none (named here for the error).
    pub request: Result<i64, String>,
}

/// One pod's usage from the metrics API (milli-units), with the sample's time and window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PodMetric {
    /// Usage in thousandths (millicores, or thousandths of bytes for memory).
    pub value: i64,
    /// When it was measured.
    pub timestamp: SystemTime,
    /// Over how long.
    pub window: Duration,
}

/// A replica count proposed by one metric, with what the status reports of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    /// The proposed replicas.
    pub replicas: i32,
    /// Average utilization in percent of the requests (utilization targets).
    pub utilization: Option<i32>,
    /// The average usage per pod, in milli-units.
    pub raw_average: i64,
}

/// `groupPods`: which pods count as ready with metrics, which are unready, which lack
/// metrics, which are ignored. Returns (ready count, unready, missing, ignored).
fn group_pods(
    pods: &[PodInfo],
    metrics: &BTreeMap<String, PodMetric>,
    cpu: bool,
    now: SystemTime,
) -> (usize, BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let (mut ready, mut unready, mut missing, mut ignored) =
        (0, BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for p in pods {
        if p.ignored {
            ignored.insert(p.name.clone());
            continue;
        }
        if p.pending {
            unready.insert(p.name.clone());
            continue;
        }
        let Some(m) = metrics.get(&p.name) else {
            missing.insert(p.name.clone());
            continue;
        };
        if cpu {
            let is_unready = match (p.ready, p.start_time) {
                (Some((status, changed)), Some(start)) => {
                    if start + CPU_INITIALIZATION_PERIOD > now {
                        // Within the initialization period: only samples taken a whole window
                        // after the pod became ready count.
                        !status || m.timestamp < changed + m.window
                    } else {
                        // Unready pods that have never been ready are ignored.
                        !status && start + INITIAL_READINESS_DELAY > changed
                    }
                }
                _ => true,
            };
            if is_unready {
                unready.insert(p.name.clone());
                continue;
            }
        }
        ready += 1;
    }
    (ready, unready, missing, ignored)
}

/// `GetResourceUtilizationRatio`: (usage ratio, utilization percent, raw average) of the pods
/// that have both a metric and a request.
fn utilization_ratio(
    metrics: &BTreeMap<String, i64>,
    requests: &BTreeMap<String, i64>,
    target: i32,
) -> Result<(f64, i32, i64), String> {
    let (mut used, mut requested, mut n) = (0i64, 0i64, 0i64);
    for (pod, v) in metrics {
        if let Some(r) = requests.get(pod) {
            used += v;
            requested += r;
            n += 1;
        }
    }
    if requested == 0 {
        return Err("no metrics returned matched known pods".into());
    }
    let utilization = (used * 100 / requested) as i32;
    Ok((
        f64::from(utilization) / f64::from(target),
        utilization,
        used / n.max(1),
    ))
}

/// The target of a resource metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// Percent of the pods' requests.
    Utilization(i32),
    /// An average usage per pod, in milli-units.
    AverageValue(i64),
}

/// `GetResourceReplicas` / `GetRawResourceReplicas`: the replicas a resource metric asks for.
pub fn resource_replicas(
    current_replicas: i32,
    target: Target,
    cpu: bool,
    pods: &[PodInfo],
    metrics: &BTreeMap<String, PodMetric>,
    now: SystemTime,
) -> Result<Proposal, String> {
    if metrics.is_empty() {
        return Err("no metrics returned from resource metrics API".into());
    }
    if pods.is_empty() {
        return Err("no pods returned by selector while calculating replica count".into());
    }
    let (ready_count, unready, missing, ignored) = group_pods(pods, metrics, cpu, now);
    let mut values: BTreeMap<String, i64> = metrics
        .iter()
        .filter(|(p, _)| !unready.contains(*p) && !ignored.contains(*p))
        .filter(|(p, _)| pods.iter().any(|x| &x.name == *p))
        .map(|(p, m)| (p.clone(), m.value))
        .collect();
    let mut requests = BTreeMap::new();
    for p in pods {
        match &p.request {
            Ok(r) => {
                requests.insert(p.name.clone(), *r);
            }
            Err(e) if matches!(target, Target::Utilization(_)) => return Err(e.clone()),
            Err(_) => {}
        }
    }
    if values.is_empty() {
        return Err("did not receive metrics for targeted pods (pods might be unready)".into());
    }
    let ratio = |values: &BTreeMap<String, i64>| -> Result<(f64, Option<i32>, i64), String> {
        match target {
            Target::Utilization(t) => {
                let (r, u, raw) = utilization_ratio(values, &requests, t)?;
                Ok((r, Some(u), raw))
            }
            Target::AverageValue(t) => {
                let total: i64 = values.values().sum();
                let avg = total / values.len().max(1) as i64;
                Ok((total as f64 / values.len() as f64 / t as f64, None, avg))
            }
        }
    };
    let (usage_ratio, utilization, raw_average) = ratio(&values)?;
    let proposal = |replicas| Proposal {
        replicas,
        utilization,
        raw_average,
    };
    let scale_up_with_unready = !unready.is_empty() && usage_ratio > 1.0;
    if !scale_up_with_unready && missing.is_empty() {
        if (1.0 - usage_ratio).abs() <= TOLERANCE {
            return Ok(proposal(current_replicas));
        }
        let base = match target {
            Target::Utilization(_) => ready_count,
            Target::AverageValue(_) => values.len(),
        };
        return Ok(proposal((usage_ratio * base as f64).ceil() as i32));
    }
    // Pods without metrics count as using their whole request when scaling down and nothing
    // when scaling up; unready pods count as using nothing when scaling up.
    for p in &missing {
        let fallback = match target {
            Target::Utilization(_) => requests.get(p).copied().unwrap_or(0),
            Target::AverageValue(t) => t,
        };
        if usage_ratio < 1.0 {
            values.insert(p.clone(), fallback);
        } else if usage_ratio > 1.0 {
            values.insert(p.clone(), 0);
        }
    }
    if scale_up_with_unready {
        for p in &unready {
            values.insert(p.clone(), 0);
        }
    }
    let (new_ratio, _, _) = ratio(&values)?;
    if (1.0 - new_ratio).abs() <= TOLERANCE
        || (usage_ratio < 1.0 && new_ratio > 1.0)
        || (usage_ratio > 1.0 && new_ratio < 1.0)
    {
        return Ok(proposal(current_replicas));
    }
    let new_replicas = (new_ratio * values.len() as f64).ceil() as i32;
    if (new_ratio < 1.0 && new_replicas > current_replicas)
        || (new_ratio > 1.0 && new_replicas < current_replicas)
    {
        return Ok(proposal(current_replicas));
    }
    Ok(proposal(new_replicas))
}

/// A scaling policy of a behavior.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `Pods` (true) or `Percent` (false).
    pub pods: bool,
    /// How many pods or percent.
    pub value: i32,
    /// Over how many seconds.
    pub period_seconds: i32,
}

/// How policies combine (`selectPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No change in this direction.
    Disabled,
}

/// One direction's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// `stabilizationWindowSeconds`.
    pub window_seconds: i32,
    /// `selectPolicy`.
    pub select: Select,
    /// `policies`.
    pub policies: Vec<Policy>,
}

/// Upstream's scale-up rules for what a `behavior` leaves out: no window, the larger of 4
/// pods and 100 % per 15 s.
pub fn default_scale_up() -> Rules {
    Rules {
        window_seconds: 0,
        select: Select::Max,
        policies: vec![
            Policy {
                pods: true,
                value: 4,
                period_seconds: 15,
            },
            Policy {
                pods: false,
                value: 100,
                period_seconds: 15,
            },
        ],
    }
}

/// Upstream's scale-down rules: a 300 s window, 100 % per 15 s.
pub fn default_scale_down() -> Rules {
    Rules {
        window_seconds: DOWNSCALE_STABILIZATION.as_secs() as i32,
        select: Select::Max,
        policies: vec![Policy {
            pods: false,
            value: 100,
            period_seconds: 15,
        }],
    }
}

/// A past recommendation or scale change, with when it happened.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timestamped {
    /// Replicas recommended, or replicas added/removed.
    pub value: i32,
    /// When.
    pub at: SystemTime,
}

/// What the controller remembers of one HPA between syncs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Recent unstabilized recommendations.
    pub recommendations: Vec<Timestamped>,
    /// Recent scale-ups (replicas added).
    pub scale_ups: Vec<Timestamped>,
    /// Recent scale-downs (replicas removed).
    pub scale_downs: Vec<Timestamped>,
}

/// A condition to set: type, status, reason, message.
pub type Condition = (&'static str, bool, &'static str, String);

/// The outcome of normalizing a recommendation.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalized {
    /// The replicas to scale to.
    pub replicas: i32,
    /// The `AbleToScale` and `ScalingLimited` conditions.
    pub conditions: Vec<Condition>,
}

fn within(at: SystemTime, now: SystemTime, seconds: i64) -> bool {
    now.duration_since(at)
        .map(|d| d.as_secs_f64() < seconds as f64)
        .unwrap_or(true)
}

fn change_in_period(events: &[Timestamped], period_seconds: i32, now: SystemTime) -> i32 {
    events
        .iter()
        .filter(|e| within(e.at, now, i64::from(period_seconds)))
        .map(|e| e.value)
        .sum()
}

/// The replicas at the start of the policy's period: the current count less what was added,
/// plus what was removed, since.
fn period_start(current: i32, h: &History, p: &Policy, now: SystemTime) -> i64 {
    i64::from(current) - i64::from(change_in_period(&h.scale_ups, p.period_seconds, now))
        + i64::from(change_in_period(&h.scale_downs, p.period_seconds, now))
}

/// `calculateScaleUpLimitWithScalingRules`.
fn scale_up_limit(current: i32, h: &History, rules: &Rules, now: SystemTime) -> i32 {
    let (mut result, pick): (i64, fn(i64, i64) -> i64) = match rules.select {
        Select::Disabled => return current,
        Select::Min => (i64::from(i32::MAX), i64::min),
        Select::Max => (i64::from(i32::MIN), i64::max),
    };
    for p in &rules.policies {
        let start = period_start(current, h, p, now);
        let proposed = if p.pods {
            start + i64::from(p.value)
        } else {
            (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64
        };
        result = pick(result, proposed);
    }
    result.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// `calculateScaleDownLimitWithBehaviors`.
fn scale_down_limit(current: i32, h: &History, rules: &Rules, now: SystemTime) -> i32 {
    let (mut result, pick): (i64, fn(i64, i64) -> i64) = match rules.select {
        Select::Disabled => return current,
        Select::Min => (i64::from(i32::MIN), i64::max),
        Select::Max => (i64::from(i32::MAX), i64::min),
    };
    for p in &rules.policies {
        let start = period_start(current, h, p, now);
        let proposed = if p.pods {
            start - i64::from(p.value)
        } else {
            (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64
        };
        result = pick(result, proposed);
    }
    result.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

const SCALE_UP_LIMIT: (&str, &str) = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
);
const TOO_MANY: (&str, &str) = (
    "TooManyReplicas",
    "the desired replica count is more than the maximum replica count",
);
const SCALE_DOWN_LIMIT: (&str, &str) = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
);
const TOO_FEW: (&str, &str) = (
    "TooFewReplicas",
    "the desired replica count is less than the minimum replica count",
);
const WITHIN_RANGE: (&str, &str) = (
    "DesiredWithinRange",
    "the desired count is within the acceptable range",
);

/// Records `desired` in place of the sample at `old` (one that fell out of every window) or
/// after the others.
fn remember(h: &mut History, old: Option<usize>, desired: i32, now: SystemTime) {
    let rec = Timestamped {
        value: desired,
        at: now,
    };
    match old {
        Some(i) => h.recommendations[i] = rec,
        None => h.recommendations.push(rec),
    }
}

/// The `AbleToScale` condition after stabilization; `up` when the stabilization may have held
/// back a scale-up (with a `behavior`).
fn stabilization_condition(desired: i32, stabilized: i32, current: i32, up: bool) -> Condition {
    if stabilized == desired {
        (
            "AbleToScale",
            true,
            "ReadyForNewScale",
            "recommended size matches current size".into(),
        )
    } else if up && desired >= current {
        (
            "AbleToScale",
            true,
            "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent recommendation".into(),
        )
    } else {
        (
            "AbleToScale",
            true,
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation".into(),
        )
    }
}

/// The `ScalingLimited` condition and the result: `replicas` after limiting `stabilized`.
fn limited(replicas: i32, stabilized: i32, why: (&'static str, &'static str)) -> Normalized {
    Normalized {
        replicas,
        conditions: vec![(
            "ScalingLimited",
            replicas != stabilized,
            why.0,
            why.1.to_string(),
        )],
    }
}

/// `normalizeDesiredReplicasWithBehaviors`: stabilizes `desired` over the windows, records it,
/// then applies the policies' rate limits and min/max.
#[allow(clippy::too_many_arguments)]
pub fn normalize_with_behavior(
    h: &mut History,
    up: &Rules,
    down: &Rules,
    min: i32,
    max: i32,
    current: i32,
    desired: i32,
    now: SystemTime,
) -> Normalized {
    // Stabilization: the lowest recommendation of the scale-up window, the highest of the
    // scale-down window.
    let (mut up_rec, mut down_rec) = (desired, desired);
    let mut old: Option<usize> = None;
    for (i, r) in h.recommendations.iter().enumerate() {
        let in_up = within(r.at, now, i64::from(up.window_seconds));
        let in_down = within(r.at, now, i64::from(down.window_seconds));
        if in_up {
            up_rec = up_rec.min(r.value);
        }
        if in_down {
            down_rec = down_rec.max(r.value);
        }
        if !in_up && !in_down {
            old = Some(i);
        }
    }
    let stabilized = current.max(up_rec).min(down_rec);
    remember(h, old, desired, now);
    let stabilizing = stabilization_condition(desired, stabilized, current, true);
    let mut out = limited(stabilized, stabilized, WITHIN_RANGE);
    if stabilized > current {
        let limit = scale_up_limit(current, h, up, now).max(current);
        let (allowed, why) = if max > limit {
            (limit, SCALE_UP_LIMIT)
        } else {
            (max, TOO_MANY)
        };
        if stabilized > allowed {
            out = limited(allowed, stabilized, why);
        }
    } else if stabilized < current {
        let limit = scale_down_limit(current, h, down, now).min(current);
        let (allowed, why) = if min < limit {
            (limit, SCALE_DOWN_LIMIT)
        } else {
            (min, TOO_FEW)
        };
        if stabilized < allowed {
            out = limited(allowed, stabilized, why);
        }
    }
    out.conditions.insert(0, stabilizing);
    out
}

/// `normalizeDesiredReplicas` (no `behavior`): the highest recommendation of the last five
/// minutes, then at most double (at least 4) per step, within min and max.
pub fn normalize(
    h: &mut History,
    min: i32,
    max: i32,
    current: i32,
    desired: i32,
    now: SystemTime,
) -> Normalized {
    let window = DOWNSCALE_STABILIZATION.as_secs() as i64;
    let mut stabilized = desired;
    let mut old: Option<usize> = None;
    for (i, r) in h.recommendations.iter().enumerate() {
        if within(r.at, now, window) {
            stabilized = stabilized.max(r.value);
        } else {
            old = Some(i);
        }
    }
    remember(h, old, desired, now);
    let stabilizing = stabilization_condition(desired, stabilized, current, false);
    let up_limit = (2 * current).max(4);
    let (max_allowed, max_why) = if max > up_limit {
        (up_limit, SCALE_UP_LIMIT)
    } else {
        (max, TOO_MANY)
    };
    let mut out = if stabilized < min {
        limited(min, stabilized, TOO_FEW)
    } else if stabilized > max_allowed {
        limited(max_allowed, stabilized, max_why)
    } else {
        limited(stabilized, stabilized, WITHIN_RANGE)
    };
    out.conditions.insert(0, stabilizing);
    out
}

/// `storeScaleEvent`: remembers a change for the policies' periods (with a `behavior` only),
/// dropping events older than the longest period.
pub fn record_scale(
    h: &mut History,
    up: &Rules,
    down: &Rules,
    from: i32,
    to: i32,
    now: SystemTime,
) {
    let longest = |r: &Rules| {
        r.policies
            .iter()
            .map(|p| p.period_seconds)
            .max()
            .unwrap_or(0)
    };
    h.scale_ups
        .retain(|e| within(e.at, now, i64::from(longest(up))));
    h.scale_downs
        .retain(|e| within(e.at, now, i64::from(longest(down))));
    if to > from {
        h.scale_ups.push(Timestamped {
            value: to - from,
            at: now,
        });
    } else if to < from {
        h.scale_downs.push(Timestamped {
            value: from - to,
            at: now,
        });
    }
}
