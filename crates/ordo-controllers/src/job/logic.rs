//! The Job controller's decisions (upstream `pkg/controller/job`'s `syncJob`), as a pure
//! function of the Job, the pods it owns, its back-off record and the time: which pods to
//! count (and release from the job-tracking finalizer), create and delete, which conditions
//! and events follow, and the status to write. [`super`] does the I/O.

use super::pods::{
    completion_index, finish_time, format_indexes, has_tracking_finalizer, is_indexed,
    match_failure_policy, parse_indexes, terminal, PolicyAction,
};
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use ordo_client::objects::is_pod_ready;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The first delay before a failed pod is replaced (upstream `DefaultJobPodFailureBackOff`).
pub const BACKOFF_BASE: Duration = Duration::from_secs(10);
/// The longest delay (upstream `MaxJobPodFailureBackOff`).
pub const BACKOFF_MAX: Duration = Duration::from_secs(360);
/// The most pods one sync creates or deletes (upstream `MaxPodCreateDeletePerSync`).
pub const MAX_PER_SYNC: usize = 500;

/// Upstream's reasons and messages.
pub const REASON_BACKOFF: &str = "BackoffLimitExceeded";
/// `Job has reached the specified backoff limit`.
pub const MSG_BACKOFF: &str = "Job has reached the specified backoff limit";
/// Reason of a Job past its `activeDeadlineSeconds`.
pub const REASON_DEADLINE: &str = "DeadlineExceeded";
/// Message of a Job past its `activeDeadlineSeconds`.
pub const MSG_DEADLINE: &str = "Job was active longer than specified deadline";
/// Reason of a Job failed by a `FailJob` rule.
pub const REASON_POLICY: &str = "PodFailurePolicy";
/// Reason of a Job that reached its completions.
pub const REASON_COMPLETIONS: &str = "CompletionsReached";
/// Message of a Job that reached its completions.
pub const MSG_COMPLETIONS: &str = "Reached expected number of succeeded pods";

/// Failures since the last success, for the pod back-off (upstream's `backoffRecord`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backoff {
    /// Failed pods counted after the last succeeded one.
    pub failures: u32,
    /// When the last of them finished.
    pub last_failure: Option<Timestamp>,
}

impl Backoff {
    /// How long a replacement pod must still wait (upstream `getRemainingTimeForFailuresCount`).
    pub fn remaining(&self, now: Timestamp) -> Duration {
        let Some(last) = self.last_failure.filter(|_| self.failures > 0) else {
            return Duration::ZERO;
        };
        let exp = (self.failures - 1).min(16);
        let delay = BACKOFF_BASE.saturating_mul(1u32 << exp).min(BACKOFF_MAX);
        let elapsed = now.duration_since(last).unsigned_abs();
        delay.saturating_sub(elapsed)
    }
}

/// An event the sync records on the Job: (warning, reason, message).
pub type JobEvent = (bool, &'static str, String);

/// What one sync does.
#[derive(Debug, Default)]
pub struct Plan {
    /// The status with newly terminated pods in `uncountedTerminatedPods`, written before
    /// their finalizers are removed (None when no pod newly terminated).
    pub interim: Option<JobStatus>,
    /// Pods whose job-tracking finalizer goes (counted, ignored, or deleted by the controller).
    pub unfinalize: Vec<String>,
    /// Active pods to delete.
    pub delete: Vec<String>,
    /// Pods to create, by completion index (None for NonIndexed Jobs).
    pub create: Vec<Option<i32>>,
    /// The status once the finalizers are gone (`active` counts the pods to create).
    pub status: JobStatus,
    /// Events to record.
    pub events: Vec<JobEvent>,
    /// The back-off record after this sync.
    pub backoff: Backoff,
    /// Sync again after this long (back-off, active deadline).
    pub requeue: Option<Duration>,
}

/// Whether `status` has condition `ty` with status True.
pub fn has_condition(status: Option<&JobStatus>, ty: &str) -> Option<JobCondition> {
    status?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == ty && c.status == "True")
        .cloned()
}

/// Whether the Job is finished (Complete or Failed true).
pub fn is_finished(job: &Job) -> bool {
    finished_at(job).is_some()
}

/// When the Job finished: the transition time of its Complete or Failed condition.
pub fn finished_at(job: &Job) -> Option<Timestamp> {
    let s = job.status.as_ref();
    let c = has_condition(s, "Complete").or_else(|| has_condition(s, "Failed"))?;
    Some(
        c.last_transition_time
            .map(|t| t.0)
            .unwrap_or(Timestamp::UNIX_EPOCH),
    )
}

/// Sets condition `ty` to `status` (upstream `ensureJobConditionStatus`); true if it changed.
fn set_condition(
    st: &mut JobStatus,
    ty: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> bool {
    let conds = st.conditions.get_or_insert_with(Vec::new);
    let fresh = JobCondition {
        type_: ty.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    };
    match conds.iter_mut().find(|c| c.type_ == ty) {
        Some(c) if c.status == status => false,
        Some(c) => {
            *c = fresh;
            true
        }
        None if status == "False" => false,
        None => {
            conds.push(fresh);
            true
        }
    }
}

fn uids(list: &Option<Vec<String>>) -> BTreeSet<String> {
    list.iter().flatten().cloned().collect()
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .into_iter()
        .flat_map(|s| {
            s.container_statuses
                .iter()
                .flatten()
                .chain(s.init_container_statuses.iter().flatten())
        })
        .map(|c| c.restart_count)
        .sum()
}

/// One sync of `job` over the pods it owns.
pub fn plan(job: &Job, pods: &[&Pod], backoff: Backoff, now: Timestamp) -> Plan {
    let mut out = Plan {
        backoff,
        status: job.status.clone().unwrap_or_default(),
        ..Default::default()
    };
    if is_finished(job) || job.metadata.deletion_timestamp.is_some() {
        // Counted already (or going away); only release what still carries the finalizer.
        out.unfinalize = pods
            .iter()
            .filter(|p| has_tracking_finalizer(p))
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        return out;
    }
    let spec = job.spec.clone().unwrap_or_default();
    let indexed = is_indexed(job);
    let parallelism = spec.parallelism.unwrap_or(1).max(0) as usize;
    let backoff_limit = spec.backoff_limit.unwrap_or(6);
    let only_failed = spec.pod_replacement_policy.as_deref() == Some("Failed");
    let restart_policy = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.clone());

    let old = job.status.clone().unwrap_or_default();
    let unc = old.uncounted_terminated_pods.clone().unwrap_or_default();
    let (mut all_succ, mut all_fail) = (uids(&unc.succeeded), uids(&unc.failed));
    let (mut new_succ, mut new_fail) = (BTreeSet::new(), BTreeSet::new());
    let mut completed = parse_indexes(old.completed_indexes.as_deref().unwrap_or(""));
    let completions = spec.completions;
    let mut active: Vec<&Pod> = Vec::new();
    let mut terminating = 0usize;
    let mut fail_job: Option<String> = None;
    let (mut succ_now, mut fail_now) = (0u32, None::<Timestamp>);
    let mut new_failures = 0u32;

    for pod in pods {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let tracked = has_tracking_finalizer(pod);
        let listed = all_succ.contains(&uid) || all_fail.contains(&uid);
        match terminal(pod) {
            Some(ok) if tracked || listed => {
                if tracked {
                    out.unfinalize.push(name);
                }
                if ok {
                    if let Some(ix) = completion_index(pod)
                        .filter(|ix| indexed && completions.is_some_and(|c| *ix < c))
                    {
                        completed.insert(ix);
                    }
                }
                if listed {
                    continue;
                }
                if ok {
                    new_succ.insert(uid);
                    succ_now += 1;
                    continue;
                }
                match match_failure_policy(job, pod) {
                    Some(PolicyAction::Ignore) => continue,
                    Some(PolicyAction::FailJob(msg)) => {
                        fail_job.get_or_insert(msg);
                    }
                    _ => {}
                }
                new_fail.insert(uid);
                new_failures += 1;
                let at = finish_time(pod, now);
                fail_now = Some(fail_now.map_or(at, |f: Timestamp| f.max(at)));
            }
            Some(_) => {}
            None if pod.metadata.deletion_timestamp.is_some() => {
                terminating += 1;
                // Deleted by someone else before it finished: a failure (TerminatingOrFailed).
                if tracked && !listed {
                    out.unfinalize.push(name);
                    new_fail.insert(uid);
                    new_failures += 1;
                    fail_now = Some(now);
                }
            }
            None => active.push(pod),
        }
    }
    if succ_now > 0 {
        out.backoff = Backoff::default();
    }
    if new_failures > 0 {
        out.backoff.failures += new_failures;
        out.backoff.last_failure = fail_now;
    }
    let succeeded = old.succeeded.unwrap_or(0) + (all_succ.len() + new_succ.len()) as i32;
    let mut failed = old.failed.unwrap_or(0) + (all_fail.len() + new_fail.len()) as i32;

    let mut st = old.clone();
    let finishing = has_condition(Some(&old), "FailureTarget")
        .map(|c| ("Failed", c))
        .or_else(|| has_condition(Some(&old), "SuccessCriteriaMet").map(|c| ("Complete", c)));
    let suspended = spec.suspend == Some(true);
    let mut target: Option<(&str, String, String)> = finishing.map(|(ty, c)| {
        (
            ty,
            c.reason.unwrap_or_default(),
            c.message.unwrap_or_default(),
        )
    });
    if target.is_none() {
        let on_failure_restarts: i32 = active.iter().map(|p| restarts(p)).sum();
        let past_restarts = restart_policy.as_deref() == Some("OnFailure")
            && if backoff_limit == 0 {
                on_failure_restarts > 0
            } else {
                on_failure_restarts >= backoff_limit
            };
        let deadline = spec.active_deadline_seconds.and_then(|ads| {
            let start = old.start_time.as_ref()?.0;
            Some(start + Duration::from_secs(ads.max(0) as u64))
        });
        let failure = if let Some(msg) = fail_job.clone() {
            Some((REASON_POLICY, msg))
        } else if failed > backoff_limit || past_restarts {
            Some((REASON_BACKOFF, MSG_BACKOFF.to_string()))
        } else if !suspended && deadline.is_some_and(|d| d <= now) {
            Some((REASON_DEADLINE, MSG_DEADLINE.to_string()))
        } else {
            None
        };
        let complete = match (indexed, completions) {
            (true, Some(c)) => completed.len() as i32 >= c,
            (_, Some(c)) => succeeded >= c,
            (_, None) => succeeded > 0 && active.is_empty(),
        };
        if let Some((reason, msg)) = failure {
            set_condition(&mut st, "FailureTarget", "True", reason, &msg, now);
            target = Some(("Failed", reason.to_string(), msg));
        } else if complete {
            set_condition(
                &mut st,
                "SuccessCriteriaMet",
                "True",
                REASON_COMPLETIONS,
                MSG_COMPLETIONS,
                now,
            );
            target = Some((
                "Complete",
                REASON_COMPLETIONS.into(),
                MSG_COMPLETIONS.into(),
            ));
        } else if let Some(d) = deadline.filter(|_| !suspended) {
            out.requeue = Some(d.duration_since(now).unsigned_abs() + Duration::from_millis(100));
        }
    }

    let deleted;
    let mut kept: Vec<&Pod> = active.clone();
    if let Some((ty, reason, msg)) = target {
        // Every pod still running goes; on failure they count as failed.
        for p in &active {
            let name = p.metadata.name.clone().unwrap_or_default();
            if has_tracking_finalizer(p) {
                out.unfinalize.push(name.clone());
                if ty == "Failed" {
                    new_fail.insert(p.metadata.uid.clone().unwrap_or_default());
                    failed += 1;
                }
            }
            out.delete.push(name);
        }
        deleted = active.len();
        kept.clear();
        if deleted == 0 && terminating == 0 {
            set_condition(&mut st, ty, "True", &reason, &msg, now);
            if ty == "Complete" {
                st.completion_time = Some(Time(now));
                out.events
                    .push((false, "Completed", "Job completed".into()));
            } else {
                out.events.push((true, leak(&reason), msg));
            }
        }
    } else if suspended {
        if set_condition(
            &mut st,
            "Suspended",
            "True",
            "JobSuspended",
            "Job suspended",
            now,
        ) {
            out.events
                .push((false, "Suspended", "Job suspended".into()));
        }
        for p in &active {
            let name = p.metadata.name.clone().unwrap_or_default();
            if has_tracking_finalizer(p) {
                out.unfinalize.push(name.clone());
            }
            out.delete.push(name);
        }
        deleted = active.len();
        kept.clear();
    } else {
        if set_condition(
            &mut st,
            "Suspended",
            "False",
            "JobResumed",
            "Job resumed",
            now,
        ) {
            out.events.push((false, "Resumed", "Job resumed".into()));
            st.start_time = Some(Time(now));
        }
        if st.start_time.is_none() {
            st.start_time = Some(Time(now));
            if let Some(ads) = spec.active_deadline_seconds {
                out.requeue =
                    Some(Duration::from_secs(ads.max(0) as u64) + Duration::from_millis(100));
            }
        }
        let blocked = if only_failed { terminating } else { 0 };
        let (create, victims) = if indexed {
            manage_indexed(
                &active,
                &completed,
                completions.unwrap_or(0),
                parallelism,
                blocked,
            )
        } else {
            let want = match completions {
                Some(c) => parallelism.min((c - succeeded).max(0) as usize),
                None if succeeded > 0 => active.len().min(parallelism),
                None => parallelism,
            };
            let have = active.len() + blocked;
            let create = vec![None; want.saturating_sub(have)];
            let victims = pick_victims(&active, active.len().saturating_sub(want));
            (create, victims)
        };
        for p in &victims {
            let name = p.metadata.name.clone().unwrap_or_default();
            if has_tracking_finalizer(p) {
                out.unfinalize.push(name.clone());
            }
            out.delete.push(name);
        }
        deleted = victims.len();
        kept.retain(|p| !victims.iter().any(|v| v.metadata.uid == p.metadata.uid));
        let wait = out.backoff.remaining(now);
        if !create.is_empty() && !wait.is_zero() {
            out.requeue = Some(out.requeue.map_or(wait, |r| r.min(wait)));
        } else {
            out.create = create.into_iter().take(MAX_PER_SYNC).collect();
        }
    }

    if !new_succ.is_empty() || !new_fail.is_empty() {
        let mut interim = old.clone();
        let mut u = UncountedTerminatedPods::default();
        all_succ.extend(new_succ);
        all_fail.extend(new_fail);
        u.succeeded = Some(all_succ.iter().cloned().collect());
        u.failed = Some(all_fail.iter().cloned().collect());
        interim.uncounted_terminated_pods = Some(u);
        out.interim = Some(interim);
    }
    st.uncounted_terminated_pods = Some(UncountedTerminatedPods::default());
    st.succeeded = Some(succeeded);
    st.failed = Some(failed);
    st.active = Some((kept.len() + out.create.len()) as i32);
    st.ready = Some(kept.iter().filter(|p| is_pod_ready(p)).count() as i32);
    st.terminating = Some((terminating + deleted) as i32);
    if indexed {
        st.completed_indexes = Some(format_indexes(&completed));
    }
    out.status = st;
    out
}

/// Upstream's reasons are constants; keep the event's reason `'static`.
fn leak(reason: &str) -> &'static str {
    match reason {
        REASON_BACKOFF => REASON_BACKOFF,
        REASON_DEADLINE => REASON_DEADLINE,
        REASON_POLICY => REASON_POLICY,
        _ => "Failed",
    }
}

/// The `n` active pods to delete first: not ready before ready, newest first.
fn pick_victims<'a>(active: &[&'a Pod], n: usize) -> Vec<&'a Pod> {
    let mut sorted: Vec<&Pod> = active.to_vec();
    sorted.sort_by(|a, b| {
        is_pod_ready(a).cmp(&is_pod_ready(b)).then_with(|| {
            b.metadata
                .creation_timestamp
                .cmp(&a.metadata.creation_timestamp)
        })
    });
    sorted.into_iter().take(n).collect()
}

/// Indexed Jobs: the lowest pending indexes to create, and the active pods to delete
/// (no or out-of-range index, index already completed, duplicates, above parallelism).
fn manage_indexed<'a>(
    active: &[&'a Pod],
    completed: &BTreeSet<i32>,
    completions: i32,
    parallelism: usize,
    blocked: usize,
) -> (Vec<Option<i32>>, Vec<&'a Pod>) {
    let mut victims = Vec::new();
    let mut by_index: BTreeMap<i32, &Pod> = BTreeMap::new();
    for p in active {
        match completion_index(p) {
            Some(ix) if ix < completions && !completed.contains(&ix) => match by_index.entry(ix) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(*p);
                }
                std::collections::btree_map::Entry::Occupied(_) => victims.push(*p),
            },
            _ => victims.push(*p),
        }
    }
    while by_index.len() > parallelism {
        if let Some((_, p)) = by_index.pop_last() {
            victims.push(p);
        }
    }
    let room = parallelism.saturating_sub(by_index.len() + blocked);
    let create = (0..completions)
        .filter(|ix| !completed.contains(ix) && !by_index.contains_key(ix))
        .take(room)
        .map(Some)
        .collect();
    (create, victims)
}
