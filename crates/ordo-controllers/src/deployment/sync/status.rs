//! Deployment status and the Progressing/Available conditions (upstream `progress.go`,
//! `calculateStatus`, `syncRolloutStatus`).

use super::{nz, Planner};
use crate::deployment::util::*;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use std::time::Duration;

impl Planner<'_> {
    /// `calculateStatus`.
    fn calculate_status(&self, new: Option<usize>) -> DeploymentStatus {
        let sum = |f: fn(&ReplicaSet) -> i32| self.rss.iter().map(f).sum::<i32>();
        let available = sum(rs_available);
        let unavailable = (sum(rs_replicas) - available).max(0);
        let old = self.status();
        let mut st = DeploymentStatus {
            observed_generation: self.d.metadata.generation,
            replicas: nz(sum(rs_status_replicas)),
            updated_replicas: nz(new.map(|n| rs_status_replicas(&self.rss[n])).unwrap_or(0)),
            ready_replicas: nz(sum(rs_ready)),
            available_replicas: nz(available),
            unavailable_replicas: nz(unavailable),
            collision_count: old.collision_count,
            conditions: old.conditions.clone(),
            terminating_replicas: None,
        };
        let c = if available >= replicas(&self.d) - max_unavailable(&self.d) {
            new_condition(
                "Available",
                "True",
                MIN_AVAILABLE,
                "Deployment has minimum availability.".into(),
                self.now,
            )
        } else {
            new_condition(
                "Available",
                "False",
                MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.".into(),
                self.now,
            )
        };
        set_condition(&mut st, c);
        st
    }

    pub(super) fn sync_deployment_status(&mut self, new: Option<usize>) {
        let st = self.calculate_status(new);
        if Some(&st) != self.d.status.as_ref() {
            self.push_status(st);
        }
    }

    /// `syncRolloutStatus`: status plus the Progressing condition.
    pub(super) fn sync_rollout_status(&mut self, new: Option<usize>) {
        let mut st = self.calculate_status(new);
        if !self.has_progress_deadline() {
            remove_condition(&mut st, "Progressing");
        }
        let old = self.status();
        let cur = get_condition(&old, "Progressing").cloned();
        let complete_before = st.replicas == st.updated_replicas
            && cur
                .as_ref()
                .is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
        let rs_name = new.and_then(|n| self.rss[n].metadata.name.clone());
        let subject = match &rs_name {
            Some(n) => format!("ReplicaSet {n:?}"),
            None => format!("Deployment {:?}", self.name()),
        };
        if self.has_progress_deadline() && !complete_before {
            if deployment_complete(&self.d, &st) {
                set_condition(
                    &mut st,
                    new_condition(
                        "Progressing",
                        "True",
                        NEW_RS_AVAILABLE,
                        format!("{subject} has successfully progressed."),
                        self.now,
                    ),
                );
            } else if deployment_progressing(&old, &st) {
                let mut c = new_condition(
                    "Progressing",
                    "True",
                    RS_UPDATED,
                    format!("{subject} is progressing."),
                    self.now,
                );
                if let Some(cur) = &cur {
                    if cur.status == "True" {
                        c.last_transition_time = cur.last_transition_time.clone();
                    }
                    remove_condition(&mut st, "Progressing");
                }
                set_condition(&mut st, c);
            } else if self.timed_out(&st) {
                set_condition(
                    &mut st,
                    new_condition(
                        "Progressing",
                        "False",
                        TIMED_OUT,
                        format!("{subject} has timed out progressing."),
                        self.now,
                    ),
                );
            }
        }
        // Move the ReplicaSets' failure condition (the new one's first) onto the Deployment.
        match self.replica_failure(new) {
            Some(c) => set_condition(&mut st, c),
            None => remove_condition(&mut st, "ReplicaFailure"),
        }
        if Some(&st) != self.d.status.as_ref() {
            self.push_status(st.clone());
        }
        // requeueStuckDeployment.
        if let (true, Some(c)) = (
            self.has_progress_deadline(),
            get_condition(&st, "Progressing"),
        ) {
            if !deployment_complete(&self.d, &st) && c.reason.as_deref() != Some(TIMED_OUT) {
                if let Some(t) = &c.last_update_time {
                    let deadline = i64::from(self.spec().progress_deadline_seconds.unwrap_or(600));
                    let left = t.0.as_second() + deadline - self.now.as_second();
                    self.requeue(Duration::from_secs(left.clamp(0, i64::MAX) as u64 + 1));
                }
            }
        }
    }

    /// `getReplicaFailures`: the `ReplicaFailure` condition of the new RS, else of any RS.
    fn replica_failure(&self, new: Option<usize>) -> Option<DeploymentCondition> {
        let failure = |rs: &ReplicaSet| {
            let conds = rs.status.as_ref()?.conditions.as_ref()?;
            let c = conds.iter().find(|c| c.type_ == "ReplicaFailure")?;
            Some(DeploymentCondition {
                type_: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
                last_update_time: c.last_transition_time.clone(),
                last_transition_time: c.last_transition_time.clone(),
            })
        };
        new.and_then(|n| failure(&self.rss[n]))
            .or_else(|| self.rss.iter().find_map(failure))
    }

    /// `DeploymentTimedOut`.
    fn timed_out(&self, st: &DeploymentStatus) -> bool {
        let Some(c) = get_condition(st, "Progressing") else {
            return false;
        };
        match c.reason.as_deref() {
            Some(NEW_RS_AVAILABLE) => false,
            Some(TIMED_OUT) => true,
            _ => {
                let deadline = i64::from(self.spec().progress_deadline_seconds.unwrap_or(600));
                c.last_update_time
                    .as_ref()
                    .is_some_and(|t| t.0.as_second() + deadline < self.now.as_second())
            }
        }
    }
}

/// `DeploymentComplete`: every replica updated and available, and the spec observed.
pub fn deployment_complete(d: &Deployment, st: &DeploymentStatus) -> bool {
    let want = replicas(d);
    st.updated_replicas.unwrap_or(0) == want
        && st.replicas.unwrap_or(0) == want
        && st.available_replicas.unwrap_or(0) == want
        && st.observed_generation >= d.metadata.generation
}

/// `DeploymentProgressing`: more updated/ready/available replicas or fewer old ones.
pub fn deployment_progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let g = |x: Option<i32>| x.unwrap_or(0);
    let old_old = g(old.replicas) - g(old.updated_replicas);
    let new_old = g(new.replicas) - g(new.updated_replicas);
    g(new.updated_replicas) > g(old.updated_replicas)
        || new_old < old_old
        || g(new.ready_replicas) > g(old.ready_replicas)
        || g(new.available_replicas) > g(old.available_replicas)
}
