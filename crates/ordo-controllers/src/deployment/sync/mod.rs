//! The Deployment sync (upstream `sync.go`, `rolling.go`, `recreate.go`, `progress.go`) as
//! a pure planner: from the Deployment, its ReplicaSets and their pods it produces the
//! ordered writes to make. Each planned write is applied to the in-memory model at once,
//! so later decisions of the same sync see it, as upstream sees its own updates.

use super::util::*;
use crate::ownership::controller_ref;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::time::Duration;

/// One write the controller makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Create the new ReplicaSet; `event` is the ScalingReplicaSet message.
    CreateRs {
        rs: Box<ReplicaSet>,
        event: Option<String>,
    },
    /// Set replicas, minReadySeconds and (merge) annotations of a ReplicaSet.
    UpdateRs {
        name: String,
        replicas: i32,
        min_ready_seconds: i32,
        annotations: BTreeMap<String, String>,
        event: Option<String>,
    },
    /// Delete an old ReplicaSet beyond revisionHistoryLimit.
    DeleteRs { name: String, uid: Option<String> },
    /// Set the Deployment's `deployment.kubernetes.io/revision`.
    SetRevision(String),
    /// Write the Deployment's status.
    Status(DeploymentStatus),
}

/// The writes of one sync and when to look again.
#[derive(Debug, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub requeue_after: Option<Duration>,
}

/// Plans one sync of `d` given the ReplicaSets it owns and the pods those own.
pub fn plan(d: &Deployment, rss: &[ReplicaSet], pods: &[Pod], now: Timestamp) -> Plan {
    let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
    let mut p = Planner {
        d: d.clone(),
        rss: rss.to_vec(),
        pods,
        now,
        plan: Plan::default(),
    };
    p.sync();
    p.plan
}

struct Planner<'a> {
    d: Deployment,
    rss: Vec<ReplicaSet>,
    pods: &'a [Pod],
    now: Timestamp,
    plan: Plan,
}

fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let t = |r: &ReplicaSet| r.metadata.creation_timestamp.as_ref().map(|t| t.0);
    t(a).cmp(&t(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

fn nz(x: i32) -> Option<i32> {
    (x != 0).then_some(x)
}

impl Planner<'_> {
    fn spec(&self) -> DeploymentSpec {
        self.d.spec.clone().unwrap_or_default()
    }
    fn status(&self) -> DeploymentStatus {
        self.d.status.clone().unwrap_or_default()
    }
    fn name(&self) -> String {
        self.d.metadata.name.clone().unwrap_or_default()
    }
    fn has_progress_deadline(&self) -> bool {
        self.spec()
            .progress_deadline_seconds
            .is_some_and(|s| s != i32::MAX)
    }
    fn push_status(&mut self, st: DeploymentStatus) {
        self.d.status = Some(st.clone());
        self.plan.steps.push(Step::Status(st));
    }
    fn requeue(&mut self, after: Duration) {
        self.plan.requeue_after = Some(self.plan.requeue_after.map_or(after, |r| r.min(after)));
    }

    /// `syncDeployment`.
    fn sync(&mut self) {
        let sel = &self.spec().selector;
        if sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
            && sel.match_expressions.as_ref().is_none_or(|m| m.is_empty())
        {
            let mut st = self.status();
            if st.observed_generation < self.d.metadata.generation {
                st.observed_generation = self.d.metadata.generation;
                self.push_status(st);
            }
            return;
        }
        if self.d.metadata.deletion_timestamp.is_some() {
            let (new, _) = self.get_all(false);
            return self.sync_deployment_status(new);
        }
        self.check_paused_conditions();
        if self.spec().paused == Some(true) || self.is_scaling_event() {
            return self.sync_scale();
        }
        if is_rolling(&self.d) {
            self.rollout_rolling()
        } else {
            self.rollout_recreate()
        }
    }

    fn check_paused_conditions(&mut self) {
        if !self.has_progress_deadline() {
            return;
        }
        let mut st = self.status();
        let cond = get_condition(&st, "Progressing");
        if cond.is_some_and(|c| c.reason.as_deref() == Some(TIMED_OUT)) {
            return;
        }
        let paused_exists = cond.is_some_and(|c| c.reason.as_deref() == Some(PAUSED));
        let paused = self.spec().paused == Some(true);
        let c = if paused && !paused_exists {
            new_condition(
                "Progressing",
                "Unknown",
                PAUSED,
                "Deployment is paused".into(),
                self.now,
            )
        } else if !paused && paused_exists {
            new_condition(
                "Progressing",
                "Unknown",
                RESUMED,
                "Deployment is resumed".into(),
                self.now,
            )
        } else {
            return;
        };
        set_condition(&mut st, c);
        self.push_status(st);
    }

    /// `getAllReplicaSetsAndSyncRevision`: (new RS, old RSs), creating the new one if asked.
    fn get_all(&mut self, create: bool) -> (Option<usize>, Vec<usize>) {
        let spec = self.spec();
        let mut order: Vec<usize> = (0..self.rss.len()).collect();
        order.sort_by(|a, b| by_creation(&self.rss[*a], &self.rss[*b]));
        let new = order.iter().copied().find(|i| {
            self.rss[*i]
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| equal_ignore_hash(t, &spec.template))
        });
        let olds: Vec<usize> = (0..self.rss.len()).filter(|i| Some(*i) != new).collect();
        let new_revision = olds
            .iter()
            .map(|i| revision(&self.rss[*i]))
            .max()
            .unwrap_or(0)
            + 1;
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        if let Some(n) = new {
            let mut copy = self.rss[n].clone();
            let ann = set_new_rs_annotations(&self.d, &mut copy, new_revision, true);
            let rs_spec = copy.spec.get_or_insert_with(Default::default);
            if ann || rs_spec.min_ready_seconds.unwrap_or(0) != min_ready {
                rs_spec.min_ready_seconds = Some(min_ready);
                self.plan.steps.push(Step::UpdateRs {
                    name: copy.metadata.name.clone().unwrap_or_default(),
                    replicas: rs_replicas(&copy),
                    min_ready_seconds: min_ready,
                    annotations: copy.metadata.annotations.clone().unwrap_or_default(),
                    event: None,
                });
                self.rss[n] = copy;
            }
            let rev = annotation(&self.rss[n], REVISION)
                .unwrap_or_default()
                .to_string();
            self.set_deployment_revision(&rev);
            if self.has_progress_deadline()
                && get_condition(&self.status(), "Progressing").is_none()
            {
                let mut st = self.status();
                let msg = format!(
                    "Found new replica set {:?}",
                    self.rss[n].metadata.name.as_deref().unwrap_or_default()
                );
                set_condition(
                    &mut st,
                    new_condition("Progressing", "True", FOUND_NEW_RS, msg, self.now),
                );
                self.push_status(st);
            }
            return (Some(n), olds);
        }
        if !create {
            return (None, olds);
        }
        let hash = compute_hash(&spec.template, self.status().collision_count);
        let mut template = spec.template.clone();
        let tm = template.metadata.get_or_insert_with(Default::default);
        tm.labels
            .get_or_insert_with(BTreeMap::new)
            .insert(HASH_LABEL.into(), hash.clone());
        let mut selector = spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(HASH_LABEL.into(), hash.clone());
        let name = format!("{}-{}", self.name(), hash);
        let rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: self.d.metadata.namespace.clone(),
                labels: tm.labels.clone(),
                owner_references: Some(vec![controller_ref(
                    "apps/v1",
                    "Deployment",
                    &self.d.metadata,
                )]),
                creation_timestamp: Some(Time(self.now)),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: Some(min_ready),
                selector,
                template: Some(template),
            }),
            status: None,
        };
        self.rss.push(rs);
        let idx = self.rss.len() - 1;
        let all: Vec<usize> = (0..self.rss.len()).collect();
        let count = self.new_rs_new_replicas(&all, idx);
        let mut rs = self.rss[idx].clone();
        rs.spec.as_mut().expect("spec").replicas = Some(count);
        set_new_rs_annotations(&self.d, &mut rs, new_revision, false);
        self.rss[idx] = rs.clone();
        let event = (count > 0).then(|| format!("Scaled up replica set {name} from 0 to {count}"));
        self.plan.steps.push(Step::CreateRs {
            rs: Box::new(rs),
            event,
        });
        self.set_deployment_revision(&new_revision.to_string());
        if self.has_progress_deadline() {
            let mut st = self.status();
            set_condition(
                &mut st,
                new_condition(
                    "Progressing",
                    "True",
                    NEW_RS_CREATED,
                    format!("Created new replica set {name:?}"),
                    self.now,
                ),
            );
            self.push_status(st);
        }
        (Some(idx), olds)
    }

    fn set_deployment_revision(&mut self, rev: &str) {
        let ann = self
            .d
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new);
        if ann.get(REVISION).map(String::as_str) != Some(rev) {
            ann.insert(REVISION.into(), rev.into());
            self.plan.steps.push(Step::SetRevision(rev.into()));
        }
    }

    /// `NewRSNewReplicas`: how far the new RS may grow now.
    fn new_rs_new_replicas(&self, all: &[usize], new: usize) -> i32 {
        let want = replicas(&self.d);
        let cur = rs_replicas(&self.rss[new]);
        if !is_rolling(&self.d) {
            return want;
        }
        let total: i32 = all.iter().map(|i| rs_replicas(&self.rss[*i])).sum();
        let max_total = want + max_surge(&self.d);
        if total >= max_total {
            return cur;
        }
        cur + (max_total - total).min(want - cur).max(0)
    }

    /// `scaleReplicaSetAndRecordEvent`.
    fn scale_and_record(&mut self, i: usize, to: i32) -> bool {
        let cur = rs_replicas(&self.rss[i]);
        if cur == to {
            return false;
        }
        self.scale(i, to, if cur < to { "up" } else { "down" })
    }

    /// `scaleReplicaSet`: writes size and replica annotations if either changed.
    fn scale(&mut self, i: usize, to: i32, op: &str) -> bool {
        let mut rs = self.rss[i].clone();
        let from = rs_replicas(&rs);
        let size = from != to;
        let desired = replicas(&self.d);
        let ann = set_replicas_annotations(&mut rs, desired, desired + max_surge(&self.d));
        if !size && !ann {
            return false;
        }
        rs.spec.get_or_insert_with(Default::default).replicas = Some(to);
        let name = rs.metadata.name.clone().unwrap_or_default();
        self.plan.steps.push(Step::UpdateRs {
            name: name.clone(),
            replicas: to,
            min_ready_seconds: rs
                .spec
                .as_ref()
                .and_then(|s| s.min_ready_seconds)
                .unwrap_or(0),
            annotations: rs.metadata.annotations.clone().unwrap_or_default(),
            event: size.then(|| format!("Scaled {op} replica set {name} from {from} to {to}")),
        });
        self.rss[i] = rs;
        size
    }

    fn active(&self, idx: impl IntoIterator<Item = usize>) -> Vec<usize> {
        idx.into_iter()
            .filter(|i| rs_replicas(&self.rss[*i]) > 0)
            .collect()
    }

    /// `isScalingEvent`: an active RS was sized for a different replica count.
    fn is_scaling_event(&mut self) -> bool {
        let (_, _) = self.get_all(false);
        let want = replicas(&self.d);
        self.active(0..self.rss.len()).iter().any(|i| {
            annotation(&self.rss[*i], DESIRED_REPLICAS)
                .and_then(|v| v.parse::<i32>().ok())
                .is_some_and(|v| v != want)
        })
    }

    /// `sync`: scaling (or paused) without rolling.
    fn sync_scale(&mut self) {
        let (new, olds) = self.get_all(false);
        self.scale_proportionally(new, &olds);
        if self.spec().paused == Some(true) {
            self.cleanup(&olds);
        }
        self.sync_deployment_status(new);
    }

    /// `scale`: sizes the active ReplicaSets for the current replica count, proportionally
    /// to their size when a rolling update is in progress.
    fn scale_proportionally(&mut self, new: Option<usize>, olds: &[usize]) {
        let want = replicas(&self.d);
        // FindActiveOrLatest.
        let mut sorted_olds = olds.to_vec();
        sorted_olds.sort_by(|a, b| by_creation(&self.rss[*b], &self.rss[*a]));
        let all_active = self.active(sorted_olds.iter().copied().chain(new));
        let active_or_latest = match all_active.len() {
            0 => new.or(sorted_olds.first().copied()),
            1 => Some(all_active[0]),
            _ => None,
        };
        if let Some(i) = active_or_latest {
            if rs_replicas(&self.rss[i]) != want {
                self.scale_and_record(i, want);
            }
            return;
        }
        if let Some(n) = new {
            let rs = &self.rss[n];
            let desired_ok =
                annotation(rs, DESIRED_REPLICAS).and_then(|v| v.parse::<i32>().ok()) == Some(want);
            if desired_ok && rs_replicas(rs) == want && rs_available(rs) == want {
                for o in self.active(olds.iter().copied()) {
                    self.scale_and_record(o, 0);
                }
                return;
            }
        }
        if !is_rolling(&self.d) {
            return;
        }
        let mut all = all_active;
        let total: i32 = all.iter().map(|i| rs_replicas(&self.rss[*i])).sum();
        let allowed = if want > 0 {
            want + max_surge(&self.d)
        } else {
            0
        };
        let to_add = allowed - total;
        let op = match to_add.cmp(&0) {
            Ordering::Greater => {
                all.sort_by(|a, b| {
                    rs_replicas(&self.rss[*b])
                        .cmp(&rs_replicas(&self.rss[*a]))
                        .then_with(|| by_creation(&self.rss[*b], &self.rss[*a]))
                });
                "up"
            }
            Ordering::Less => {
                all.sort_by(|a, b| {
                    rs_replicas(&self.rss[*b])
                        .cmp(&rs_replicas(&self.rss[*a]))
                        .then_with(|| by_creation(&self.rss[*a], &self.rss[*b]))
                });
                "down"
            }
            Ordering::Equal => "",
        };
        let mut added = 0;
        let mut sizes: Vec<i32> = Vec::new();
        for i in &all {
            let cur = rs_replicas(&self.rss[*i]);
            if to_add != 0 {
                let p = self.proportion(*i, to_add, added);
                sizes.push(cur + p);
                added += p;
            } else {
                sizes.push(cur);
            }
        }
        for (k, i) in all.iter().enumerate() {
            if k == 0 && to_add != 0 {
                sizes[0] = (sizes[0] + to_add - added).max(0);
            }
            self.scale(*i, sizes[k], op);
        }
    }

    /// `GetProportion`.
    fn proportion(&self, i: usize, to_add: i32, added: i32) -> i32 {
        let rs = &self.rss[i];
        if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let fraction = self.fraction(rs);
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    /// `getReplicaSetFraction`: the RS's share of the new size, minus its size.
    fn fraction(&self, rs: &ReplicaSet) -> i32 {
        let want = replicas(&self.d);
        if want == 0 {
            return -rs_replicas(rs);
        }
        let max_now = want + max_surge(&self.d);
        let before = match annotation(rs, MAX_REPLICAS).and_then(|v| v.parse::<i32>().ok()) {
            Some(v) if v != 0 => v,
            _ => self.status().replicas.unwrap_or(0),
        };
        if before == 0 {
            return 0;
        }
        let size = f64::from(rs_replicas(rs)) * f64::from(max_now) / f64::from(before);
        size.round() as i32 - rs_replicas(rs)
    }

    fn rollout_rolling(&mut self) {
        let (new, olds) = self.get_all(true);
        let Some(new) = new else {
            return self.sync_rollout_status(None);
        };
        let all: Vec<usize> = (0..self.rss.len()).collect();
        // reconcileNewReplicaSet.
        let want = replicas(&self.d);
        let cur = rs_replicas(&self.rss[new]);
        let scaled_up = if cur == want {
            false
        } else if cur > want {
            self.scale_and_record(new, want)
        } else {
            let n = self.new_rs_new_replicas(&all, new);
            self.scale_and_record(new, n)
        };
        if scaled_up {
            return self.sync_rollout_status(Some(new));
        }
        if self.reconcile_old(&all, &olds, new) {
            return self.sync_rollout_status(Some(new));
        }
        if deployment_complete(&self.d, &self.status()) {
            self.cleanup(&olds);
        }
        self.sync_rollout_status(Some(new));
    }

    /// `reconcileOldReplicaSets`: scale old RSs down as far as availability allows.
    fn reconcile_old(&mut self, all: &[usize], olds: &[usize], new: usize) -> bool {
        let mut active_olds = self.active(olds.iter().copied());
        let old_count: i32 = active_olds.iter().map(|i| rs_replicas(&self.rss[*i])).sum();
        if old_count == 0 {
            return false;
        }
        let all_count: i32 = all.iter().map(|i| rs_replicas(&self.rss[*i])).sum();
        let min_available = replicas(&self.d) - max_unavailable(&self.d);
        let new_unavailable = rs_replicas(&self.rss[new]) - rs_available(&self.rss[new]);
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        active_olds.sort_by(|a, b| by_creation(&self.rss[*a], &self.rss[*b]));
        // cleanupUnhealthyReplicas.
        let mut cleaned = 0;
        for i in &active_olds {
            if cleaned >= max_scaled_down {
                break;
            }
            let (r, avail) = (rs_replicas(&self.rss[*i]), rs_available(&self.rss[*i]));
            if r == 0 || r == avail {
                continue;
            }
            let n = (max_scaled_down - cleaned).min(r - avail);
            self.scale_and_record(*i, r - n);
            cleaned += n;
        }
        // scaleDownOldReplicaSetsForRollingUpdate.
        let available: i32 = all.iter().map(|i| rs_available(&self.rss[*i])).sum();
        let mut scaled = 0;
        if available > min_available {
            let total = available - min_available;
            for i in &active_olds {
                if scaled >= total {
                    break;
                }
                let r = rs_replicas(&self.rss[*i]);
                if r == 0 {
                    continue;
                }
                let n = r.min(total - scaled);
                self.scale_and_record(*i, r - n);
                scaled += n;
            }
        }
        cleaned + scaled > 0
    }

    fn rollout_recreate(&mut self) {
        let (new, olds) = self.get_all(false);
        let mut scaled_down = false;
        for o in self.active(olds.iter().copied()) {
            scaled_down |= self.scale_and_record(o, 0);
        }
        if scaled_down {
            return self.sync_rollout_status(new);
        }
        if self.old_pods_running(new, &olds) {
            self.requeue(Duration::from_secs(1));
            return self.sync_rollout_status(new);
        }
        let (new, olds) = if new.is_none() {
            self.get_all(true)
        } else {
            (new, olds)
        };
        if let Some(n) = new {
            let want = replicas(&self.d);
            self.scale_and_record(n, want);
        }
        if deployment_complete(&self.d, &self.status()) {
            self.cleanup(&olds);
        }
        self.sync_rollout_status(new);
    }

    /// `oldPodsRunning`: old RSs still report pods, or non-terminal pods of theirs exist.
    fn old_pods_running(&self, new: Option<usize>, olds: &[usize]) -> bool {
        if olds
            .iter()
            .map(|i| rs_status_replicas(&self.rss[*i]))
            .sum::<i32>()
            > 0
        {
            return true;
        }
        let new_uid = new.and_then(|n| self.rss[n].metadata.uid.clone());
        let old_uids: Vec<&String> = olds
            .iter()
            .filter_map(|i| self.rss[*i].metadata.uid.as_ref())
            .collect();
        self.pods.iter().any(|p| {
            let owner = crate::ownership::controller_of(&p.metadata).map(|r| &r.uid);
            let terminal = matches!(
                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded") | Some("Failed")
            );
            owner.is_some_and(|u| old_uids.contains(&u) && Some(u) != new_uid.as_ref()) && !terminal
        })
    }

    /// `cleanupDeployment`: delete the oldest idle RSs beyond revisionHistoryLimit.
    fn cleanup(&mut self, olds: &[usize]) {
        let Some(limit) = self.spec().revision_history_limit else {
            return;
        };
        let mut alive: Vec<usize> = olds
            .iter()
            .copied()
            .filter(|i| self.rss[*i].metadata.deletion_timestamp.is_none())
            .collect();
        let diff = alive.len() as i32 - limit;
        if diff <= 0 {
            return;
        }
        alive.sort_by(|a, b| {
            revision(&self.rss[*a])
                .cmp(&revision(&self.rss[*b]))
                .then_with(|| by_creation(&self.rss[*a], &self.rss[*b]))
        });
        for i in alive.into_iter().take(diff as usize) {
            let rs = &self.rss[i];
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if rs_status_replicas(rs) != 0
                || rs_replicas(rs) != 0
                || rs.metadata.generation.unwrap_or(0) > observed
            {
                continue;
            }
            self.plan.steps.push(Step::DeleteRs {
                name: rs.metadata.name.clone().unwrap_or_default(),
                uid: rs.metadata.uid.clone(),
            });
        }
    }
}

mod status;
#[cfg(test)]
mod tests;

pub use status::deployment_complete;
