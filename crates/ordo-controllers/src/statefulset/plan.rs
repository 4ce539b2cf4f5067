//! The pure core of a sync (`updateStatefulSet` of `stateful_set_control.go`): observed set,
//! member pods, claims and the current/update revisions in; the writes to make (in order) and
//! the status out. The I/O shell executes the actions in order and stops at the first failure,
//! which is how upstream aborts a sync when a write fails.

use super::{claims, identity, status};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use std::collections::BTreeMap;

/// How long a pod at a superseded revision must have been not Ready, counted from the later of
/// its creation, its last Ready transition and the creation of the update revision, before the
/// heal (beyond upstream, #67250) replaces it. See [`Planner::heals`].
pub const HEAL_AFTER_MS: i64 = 10_000;

/// A revision as the planner needs it.
#[derive(Clone, Copy, Debug)]
pub struct RevisionRef<'a> {
    /// The ControllerRevision name (`<set>-<hash>`).
    pub name: &'a str,
    /// The pod template it restores.
    pub template: &'a PodTemplateSpec,
    /// The revision's `creationTimestamp` (ms since the epoch), when known.
    pub created_ms: Option<i64>,
}

/// Everything a sync observes.
pub struct Input<'a> {
    pub set: &'a StatefulSet,
    /// Pods the set owns (after adoption/release), any order.
    pub pods: &'a [Pod],
    /// The namespace's claims by name.
    pub claims: &'a BTreeMap<String, PersistentVolumeClaim>,
    pub current: RevisionRef<'a>,
    pub update: RevisionRef<'a>,
    pub collision_count: i32,
    /// Wall clock, ms since the epoch (availability under `minReadySeconds`).
    pub now_ms: i64,
}

/// One write, with what upstream records for it.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Create a claim for `pod` (event `SuccessfulCreate` "create Claim … Pod … success").
    CreateClaim {
        claim: PersistentVolumeClaim,
        pod: String,
    },
    /// Create a pod (event `SuccessfulCreate` "create Pod … successful").
    CreatePod(Box<Pod>),
    /// Delete a pod (event `SuccessfulDelete`). `for_update`: a rolling-update deletion, after
    /// which (once it succeeded or found the pod gone) `status.currentReplicas` is lowered by one.
    DeletePod { name: String, for_update: bool },
    /// A pod cannot be created because one of its claims is being deleted: record upstream's
    /// `FailedCreate` (`create Pod … failed error: pvc … is being deleted`) and retry later.
    ClaimTerminating { pod: String, claim: String },
    /// Replace a pod whose identity, storage or claims drifted (event `SuccessfulUpdate`).
    UpdatePod(Box<Pod>),
    /// Rewrite a claim's ownerReferences for the retention policy (no event).
    SetClaimOwners {
        claim: PersistentVolumeClaim,
        pod: String,
    },
}

/// The outcome of planning.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub status: StatefulSetStatus,
    /// When the plan may change with time alone (ms since the epoch): a Ready pod becoming
    /// available after `minReadySeconds`, or a stuck pod becoming eligible for the heal.
    pub recheck_at_ms: Option<i64>,
}

impl Plan {
    /// The status to write once the actions ran: `currentReplicas` lowered by the rolling-update
    /// deletions that succeeded (or found the pod gone), as upstream counts them.
    pub fn status_after(&self, update_deletions_done: i32) -> StatefulSetStatus {
        let mut st = self.status.clone();
        if update_deletions_done > 0 {
            st.current_replicas = Some(st.current_replicas.unwrap_or(0) - update_deletions_done);
        }
        st
    }
}

/// A slot of `[start, start+replicas)`: an existing pod or the in-memory pod to create.
struct Slot {
    pod: Pod,
    exists: bool,
}

struct Planner<'a> {
    input: &'a Input<'a>,
    monotonic: bool,
    min_ready: i32,
    actions: Vec<Action>,
    recheck_at_ms: Option<i64>,
}

/// Plans one sync.
pub fn plan(input: &Input) -> Plan {
    let set = input.set;
    let min_ready = identity::min_ready_seconds(set);
    let start = identity::start_ordinal(set);
    let count = identity::replicas(set);

    let mut slots: Vec<Option<Slot>> = (0..count).map(|_| None).collect();
    let mut condemned: Vec<&Pod> = Vec::new();
    for pod in input.pods {
        match identity::ordinal(pod) {
            Some(ord) if identity::in_range(set, ord) => {
                slots[(ord - start) as usize] = Some(Slot {
                    pod: pod.clone(),
                    exists: true,
                });
            }
            Some(_) => condemned.push(pod),
            None => {}
        }
    }
    condemned.sort_by_key(|p| std::cmp::Reverse(identity::ordinal(p)));
    let replicas: Vec<Slot> = slots
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            s.unwrap_or_else(|| Slot {
                pod: new_versioned_pod(input, start + i as i32),
                exists: false,
            })
        })
        .collect();

    let existing: Vec<&Pod> = replicas
        .iter()
        .filter(|s| s.exists)
        .map(|s| &s.pod)
        .chain(condemned.iter().copied())
        .collect();
    let mut st = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        current_revision: Some(input.current.name.to_string()),
        update_revision: Some(input.update.name.to_string()),
        collision_count: Some(input.collision_count),
        ..Default::default()
    };
    status::count(
        &mut st,
        &existing,
        min_ready,
        input.current.name,
        input.update.name,
        input.now_ms,
    );
    let recheck_at_ms = existing
        .iter()
        .filter(|p| {
            identity::is_running_and_ready(p) && !identity::is_available(p, min_ready, input.now_ms)
        })
        .filter_map(|p| identity::available_at_ms(p, min_ready))
        .min();

    let mut planner = Planner {
        input,
        monotonic: !identity::allows_burst(set),
        min_ready,
        actions: Vec::new(),
        recheck_at_ms,
    };
    // A set being deleted only gets its status updated (upstream `updateStatefulSet`).
    if set.metadata.deletion_timestamp.is_none() {
        planner.run(&replicas, &condemned);
    }
    status::complete_update(set, &mut st);
    Plan {
        actions: planner.actions,
        status: st,
        recheck_at_ms: planner.recheck_at_ms,
    }
}

/// `newVersionedStatefulSetPod`: below the partition (or below `currentReplicas` when
/// `rollingUpdate` is nil) a missing pod comes back at the current revision, else at the update one.
fn new_versioned_pod(input: &Input, ordinal: i32) -> Pod {
    let set = input.set;
    let start = identity::start_ordinal(set);
    let rolling = identity::update_strategy_type(set) == "RollingUpdate";
    let use_current = match identity::partition(set) {
        Some(p) => ordinal < start + p,
        None => {
            let cur = set
                .status
                .as_ref()
                .and_then(|s| s.current_replicas)
                .unwrap_or(0);
            rolling && ordinal < start + cur
        }
    };
    let rev = if use_current {
        input.current
    } else {
        input.update
    };
    identity::new_pod(set, rev.template, ordinal, rev.name)
}

impl Planner<'_> {
    fn run(&mut self, replicas: &[Slot], condemned: &[&Pod]) {
        let set = self.input.set;
        let now = self.input.now_ms;
        // First unavailable pod: lowest in-range one, else lowest condemned.
        let first_unavailable: Option<&str> = replicas
            .iter()
            .map(|s| &s.pod)
            .chain(condemned.iter().rev().copied())
            .find(|p| identity::is_unavailable(p, self.min_ready, now))
            .and_then(|p| p.metadata.name.as_deref());

        for slot in replicas {
            if self.process_replica(slot) && self.monotonic {
                return;
            }
        }
        for pod in condemned {
            self.fix_claims(pod);
        }
        for pod in condemned {
            if self.process_condemned(pod, first_unavailable) && self.monotonic {
                return;
            }
        }
        if identity::is_on_delete(set) {
            return;
        }
        self.rolling_update(replicas);
    }

    /// Asks for a sync at `at_ms` (the earliest asked for wins).
    fn recheck_at(&mut self, at_ms: i64) {
        self.recheck_at_ms = Some(self.recheck_at_ms.map_or(at_ms, |t| t.min(at_ms)));
    }

    /// Beyond upstream (#67250): whether a pod that blocks an OrderedReady set is replaced
    /// rather than waited for. Only a pod at a *superseded* revision (neither the current nor the
    /// update one: the template changed again while it was being rolled out) that is
    /// [`Self::stuck`], at or above the partition, in a RollingUpdate set. A pod at the current
    /// revision would come back at that same revision, so it is waited for, as upstream does.
    fn heals(&mut self, pod: &Pod) -> bool {
        let set = self.input.set;
        let rev = identity::pod_revision(pod);
        if identity::is_on_delete(set)
            || rev == self.input.update.name
            || rev == self.input.current.name
        {
            return false;
        }
        let partition = identity::partition(set).unwrap_or(0).max(0);
        identity::ordinal(pod).is_some_and(|o| o - identity::start_ordinal(set) >= partition)
            && self.stuck(pod)
    }

    /// Whether a pod is stuck rather than starting: not terminating, not Ready, and not Ready
    /// for [`HEAL_AFTER_MS`] counted from the latest of its creation, its last Ready transition
    /// and the update revision's creation (the template change). Asks for a recheck for when a
    /// not-Ready pod will have been so for that long.
    fn stuck(&mut self, pod: &Pod) -> bool {
        if identity::is_terminating(pod) || identity::is_running_and_ready(pod) {
            return false;
        }
        let ms = |t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| {
            t.map(|t| t.0.as_millisecond())
        };
        let last_ready_change = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
            .and_then(|c| ms(c.last_transition_time.as_ref()));
        let since = [
            ms(pod.metadata.creation_timestamp.as_ref()),
            last_ready_change,
            self.input.update.created_ms,
        ]
        .into_iter()
        .flatten()
        .max();
        let Some(since) = since else {
            return false;
        };
        let due = since + HEAL_AFTER_MS;
        if self.input.now_ms >= due {
            return true;
        }
        self.recheck_at(due);
        false
    }

    /// `processReplica`; true means "stop here" in OrderedReady mode.
    fn process_replica(&mut self, slot: &Slot) -> bool {
        let (set, pod) = (self.input.set, &slot.pod);
        let name = pod.metadata.name.clone().unwrap_or_default();
        if slot.exists && (identity::is_failed(pod) || identity::is_succeeded(pod)) {
            // Replaced on a later sync, once the old pod is gone.
            if !identity::is_terminating(pod) {
                self.actions.push(Action::DeletePod {
                    name,
                    for_update: false,
                });
            }
            return true;
        }
        if !slot.exists {
            if claims::claim_is_stale(set, self.input.claims, pod) {
                return true;
            }
            if let Some(claim) = self.terminating_claim(pod) {
                self.actions
                    .push(Action::ClaimTerminating { pod: name, claim });
                return true;
            }
            self.create_missing_claims(pod, false);
            self.actions.push(Action::CreatePod(Box::new(pod.clone())));
            if self.monotonic {
                return true;
            }
            return false;
        }
        if identity::is_pending(pod) {
            self.create_missing_claims(pod, true);
        }
        if self.monotonic
            && (identity::is_terminating(pod)
                || !identity::is_running_and_ready(pod)
                || !identity::is_available(pod, self.min_ready, self.input.now_ms))
        {
            // Beyond upstream (#67250): see `heals`.
            if self.heals(pod) {
                self.actions.push(Action::DeletePod {
                    name,
                    for_update: false,
                });
            }
            return true;
        }
        let retention_ok = self.claims_match_retention(pod);
        let (id_ok, storage_ok) = (
            identity::identity_matches(set, pod),
            identity::storage_matches(set, pod),
        );
        if id_ok && storage_ok && retention_ok {
            return false;
        }
        let mut fixed = pod.clone();
        if !id_ok {
            identity::update_identity(set, &mut fixed);
        }
        if !storage_ok {
            identity::update_storage(set, &mut fixed);
            self.create_missing_claims(&fixed, false);
        }
        let claims_fixed = !retention_ok && self.fix_claims(&fixed) > 0;
        // Upstream updates the pod whenever claims were re-owned too (event `SuccessfulUpdate`).
        if !id_ok || !storage_ok || claims_fixed {
            self.actions.push(Action::UpdatePod(Box::new(fixed)));
        }
        false
    }

    /// Creates the pod's missing claims; with `fix_owners`, also aligns existing claims' owners
    /// (`createMissingPersistentVolumeClaims` for Pending pods).
    fn create_missing_claims(&mut self, pod: &Pod, fix_owners: bool) {
        let set = self.input.set;
        let Some(ord) = identity::ordinal(pod) else {
            return;
        };
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        for (_, mut claim) in identity::claims_for(set, ord) {
            let name = claim.metadata.name.clone().unwrap_or_default();
            if !self.input.claims.contains_key(&name) {
                claim.metadata.owner_references = claims::initial_owner_refs(set);
                self.actions.push(Action::CreateClaim {
                    claim,
                    pod: pod_name.clone(),
                });
            }
        }
        if fix_owners {
            self.fix_claims(pod);
        }
    }

    /// `ClaimsMatchRetentionPolicy`: missing claims count as matching.
    fn claims_match_retention(&self, pod: &Pod) -> bool {
        let set = self.input.set;
        let Some(ord) = identity::ordinal(pod) else {
            return true;
        };
        identity::claims_for(set, ord).iter().all(|(_, c)| {
            let name = c.metadata.name.as_deref().unwrap_or_default();
            self.input
                .claims
                .get(name)
                .is_none_or(|existing| claims::owner_up_to_date(existing, set, pod))
        })
    }

    /// `UpdatePodClaimForRetentionPolicy`: rewrites ownerRefs of the pod's claims that disagree.
    /// Returns how many claims it rewrites.
    fn fix_claims(&mut self, pod: &Pod) -> usize {
        let set = self.input.set;
        let Some(ord) = identity::ordinal(pod) else {
            return 0;
        };
        let mut fixed = 0;
        for (_, c) in identity::claims_for(set, ord) {
            let name = c.metadata.name.as_deref().unwrap_or_default();
            let Some(existing) = self.input.claims.get(name) else {
                continue;
            };
            if claims::owner_up_to_date(existing, set, pod) {
                continue;
            }
            let mut claim = existing.clone();
            let refs = claims::updated_owner_refs(existing, set, pod);
            claim.metadata.owner_references = Some(refs);
            if claim.metadata.owner_references != existing.metadata.owner_references {
                fixed += 1;
                self.actions.push(Action::SetClaimOwners {
                    claim,
                    pod: pod.metadata.name.clone().unwrap_or_default(),
                });
            }
        }
        fixed
    }

    /// `processCondemned`; true means "stop here" in OrderedReady mode.
    fn process_condemned(&mut self, pod: &Pod, first_unavailable: Option<&str>) -> bool {
        if identity::is_terminating(pod) {
            return self.monotonic;
        }
        let is_first = pod.metadata.name.as_deref() == first_unavailable;
        if self.monotonic
            && !is_first
            && (!identity::is_running_and_ready(pod)
                || !identity::is_available(pod, self.min_ready, self.input.now_ms))
        {
            return true;
        }
        self.actions.push(Action::DeletePod {
            name: pod.metadata.name.clone().unwrap_or_default(),
            for_update: false,
        });
        true
    }

    /// The first of the pod's claims that exists and is being deleted (upstream's
    /// `createPersistentVolumeClaims` refuses to create the pod on it).
    fn terminating_claim(&self, pod: &Pod) -> Option<String> {
        let ord = identity::ordinal(pod)?;
        identity::claims_for(self.input.set, ord)
            .into_iter()
            .filter_map(|(_, c)| c.metadata.name)
            .find(|name| {
                self.input
                    .claims
                    .get(name)
                    .is_some_and(|c| c.metadata.deletion_timestamp.is_some())
            })
    }

    /// The RollingUpdate step (`updateStatefulSetAfterInvariantEstablished`): stale pods are
    /// deleted from the highest ordinal down to the partition, at most
    /// `maxUnavailable - unavailable` of them, where `unavailable` counts every replica that is
    /// not available (an unrelated unready pod uses the budget too). ordo's one difference (no
    /// #137409): a stale pod that is itself unavailable and [`Self::stuck`] (a pod at an old,
    /// broken revision) is replaced beyond the budget, since it is down already. The walk stops
    /// at the first stale pod it may not delete, so a rollout is never reordered.
    fn rolling_update(&mut self, replicas: &[Slot]) {
        let set = self.input.set;
        let (now, update) = (self.input.now_ms, self.input.update.name);
        let update_min = identity::partition(set).unwrap_or(0).max(0) as usize;
        let unavailable = replicas
            .iter()
            .filter(|s| identity::is_unavailable(&s.pod, self.min_ready, now))
            .count() as i32;
        let mut budget = identity::max_unavailable(set) - unavailable;
        for target in (update_min..replicas.len()).rev() {
            let slot = &replicas[target];
            if !slot.exists
                || identity::pod_revision(&slot.pod) == update
                || identity::is_terminating(&slot.pod)
            {
                continue;
            }
            if budget > 0 {
                budget -= 1;
            } else if !self.stuck(&slot.pod) {
                return;
            }
            self.actions.push(Action::DeletePod {
                name: slot.pod.metadata.name.clone().unwrap_or_default(),
                for_update: true,
            });
        }
    }
}
