//! The decisions of the DaemonSet controller, without I/O (upstream `daemon_controller.go`,
//! `update.go` and `util/daemonset_util.go`): which nodes should run a daemon pod, the pod made
//! for a node, the pods to create and delete (`manage`), the rolling update with
//! `maxUnavailable` or `maxSurge`, the failed-pod back-off and the status.

use crate::ownership::{is_pod_available, is_pod_ready};
use crate::placement::{node_selector_matches, untolerated_taint};
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, PodTemplateSpec, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The label every daemon pod and revision carries with its revision's hash.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";
/// The label holding the template generation a daemon pod was made from.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// The annotation apps/v1 keeps `spec.templateGeneration` in.
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";
/// Upstream's event reason for a failed daemon pod.
pub const FAILED_DAEMON_POD: &str = "FailedDaemonPod";

/// First and longest delay before a failed daemon pod on a node is deleted again.
const BACKOFF_INITIAL_MS: i64 = 1_000;
const BACKOFF_MAX_MS: i64 = 15 * 60 * 1_000;

fn toleration(key: &str, effect: &str) -> Toleration {
    Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some(effect.into()),
        ..Default::default()
    }
}

/// `AddOrUpdateDaemonPodTolerations`: the tolerations every daemon pod gets, so that it runs
/// on nodes that are not ready, unreachable, under pressure or cordoned (and, with the host
/// network, without a pod network).
pub fn add_daemon_tolerations(spec: &mut PodSpec) {
    let mut wanted = vec![
        toleration("node.kubernetes.io/not-ready", "NoExecute"),
        toleration("node.kubernetes.io/unreachable", "NoExecute"),
        toleration("node.kubernetes.io/disk-pressure", "NoSchedule"),
        toleration("node.kubernetes.io/memory-pressure", "NoSchedule"),
        toleration("node.kubernetes.io/pid-pressure", "NoSchedule"),
        toleration("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        wanted.push(toleration(
            "node.kubernetes.io/network-unavailable",
            "NoSchedule",
        ));
    }
    let list = spec.tolerations.get_or_insert_with(Vec::new);
    for t in wanted {
        // `AddOrUpdateTolerationInPodSpec`: an equal toleration is kept as it is.
        let same = |o: &Toleration| {
            o.key == t.key
                && o.effect == t.effect
                && o.operator.as_deref().unwrap_or("Equal") == "Exists"
                && o.value.as_deref().unwrap_or("").is_empty()
        };
        if !list.iter().any(same) {
            list.push(t);
        }
    }
}

/// The DaemonSet's pod template (empty without a spec).
pub fn template(ds: &DaemonSet) -> PodTemplateSpec {
    ds.spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default()
}

/// The template generation (`deprecated.daemonset.template.generation`), if readable.
pub fn template_generation(ds: &DaemonSet) -> Option<i64> {
    ds.metadata
        .annotations
        .as_ref()?
        .get(TEMPLATE_GENERATION_ANNOTATION)?
        .parse()
        .ok()
}

/// `ReplaceDaemonSetPodNodeNameNodeAffinity`: the required node affinity becomes the single
/// term `matchFields metadata.name In [node]`, which places the pod through the scheduler.
pub fn pin_to_node(affinity: Option<Affinity>, node: &str) -> Affinity {
    let term = NodeSelectorTerm {
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".into(),
            operator: "In".into(),
            values: Some(vec![node.into()]),
        }]),
        match_expressions: None,
    };
    let mut affinity = affinity.unwrap_or_default();
    let na = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    na.required_during_scheduling_ignored_during_execution
        .get_or_insert_with(NodeSelector::default)
        .node_selector_terms = vec![term];
    affinity
}

/// The node a daemon pod is for (`GetTargetNodeName`): its `nodeName`, else the node of its
/// `matchFields` affinity.
pub fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(n.clone());
    }
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == "metadata.name" && r.operator == "In")
        .and_then(|r| r.values.as_ref()?.first().cloned())
}

/// A new daemon pod of `ds` for `node` (`CreatePodTemplate` + `GetPodFromTemplate`): the
/// template's labels plus the revision hash and template generation, the daemon tolerations,
/// pinned to the node by its required affinity, controlled by the DaemonSet.
pub fn new_pod(ds: &DaemonSet, node: &str, hash: &str) -> Pod {
    let t = template(ds);
    let tm = t.metadata.unwrap_or_default();
    let mut labels = tm.labels.unwrap_or_default();
    if let Some(g) = template_generation(ds) {
        labels.insert(TEMPLATE_GENERATION_LABEL.into(), g.to_string());
    }
    labels.insert(REVISION_HASH_LABEL.into(), hash.into());
    let mut spec = t.spec.unwrap_or_default();
    add_daemon_tolerations(&mut spec);
    spec.affinity = Some(pin_to_node(spec.affinity.take(), node));
    let name = ds.metadata.name.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![crate::ownership::controller_ref(
                "apps/v1",
                "DaemonSet",
                &ds.metadata,
            )]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// Whether `node` should run a daemon pod of `ds`, and whether a pod already there may keep
/// running (`NodeShouldRunDaemonPod`): the template's `nodeName`, node selector and required
/// affinity must hold; an untolerated NoSchedule taint keeps new pods off, an untolerated
/// NoExecute taint also removes running ones.
pub fn should_run(ds: &DaemonSet, node: &Node) -> (bool, bool) {
    let mut spec = template(ds).spec.unwrap_or_default();
    let node_name = node.metadata.name.as_deref().unwrap_or_default();
    if spec
        .node_name
        .as_deref()
        .is_some_and(|n| !n.is_empty() && n != node_name)
    {
        return (false, false);
    }
    if !node_selector_matches(Some(&spec), node) {
        return (false, false);
    }
    add_daemon_tolerations(&mut spec);
    let tolerations = spec.tolerations.unwrap_or_default();
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let schedulable =
        |t: &k8s_openapi::api::core::v1::Taint| t.effect == "NoSchedule" || t.effect == "NoExecute";
    if untolerated_taint(&taints, &tolerations, schedulable).is_none() {
        return (true, true);
    }
    let evicting = untolerated_taint(&taints, &tolerations, |t| t.effect == "NoExecute");
    (false, evicting.is_none())
}

/// `IsPodUpdated`: the pod carries the current hash, or the current template generation.
pub fn is_updated(pod: &Pod, hash: &str, generation: Option<i64>) -> bool {
    let label = |k: &str| pod.metadata.labels.as_ref().and_then(|l| l.get(k));
    let generation_matches =
        generation.is_some_and(|g| label(TEMPLATE_GENERATION_LABEL) == Some(&g.to_string()));
    (!hash.is_empty() && label(REVISION_HASH_LABEL).map(String::as_str) == Some(hash))
        || generation_matches
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// `podByCreationTimestampAndPhase`: scheduled pods first, then the oldest, then by name.
fn sort_pods(pods: &mut [&Pod]) {
    pods.sort_by(|a, b| {
        let scheduled = |p: &Pod| {
            p.spec
                .as_ref()
                .and_then(|s| s.node_name.as_ref())
                .is_some_and(|n| !n.is_empty())
        };
        scheduled(b)
            .cmp(&scheduled(a))
            .then_with(|| {
                let t = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
                t(a).cmp(&t(b))
            })
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

/// `GetScaledValueFromIntOrPercent` rounding up, of `total`.
fn scaled(v: Option<&IntOrString>, total: i64) -> i64 {
    match v {
        None => 0,
        Some(IntOrString::Int(n)) => i64::from(*n),
        Some(IntOrString::String(s)) => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            (pct * total + 99) / 100
        }
    }
}

/// `maxSurge` and `maxUnavailable` for `desired` nodes (`updatedDesiredNodeCounts`): both 0
/// (an impossible configuration) is taken as `maxUnavailable` 1.
pub fn budgets(ds: &DaemonSet, desired: i64) -> (i64, i64) {
    let strategy = ds.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
    let ru = strategy
        .filter(|s| s.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate")
        .and_then(|s| s.rolling_update.as_ref());
    let surge = scaled(ru.and_then(|r| r.max_surge.as_ref()), desired);
    let mut unavailable = scaled(ru.and_then(|r| r.max_unavailable.as_ref()), desired);
    if desired > 0 && surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// The failed-pod back-off of one node (client-go's `flowcontrol.Backoff` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The current delay.
    pub delay_ms: i64,
    /// When it was last stepped.
    pub updated_ms: i64,
}

impl Backoff {
    /// `IsInBackOffSinceUpdate`.
    fn holds(entry: Option<&Backoff>, now_ms: i64) -> Option<i64> {
        let e = entry?;
        let left = e.updated_ms + e.delay_ms - now_ms;
        (left > 0).then_some(left)
    }

    /// `Next`: doubles the delay (starting at 1 s, at most 15 min; reset after long quiet).
    fn next(entry: Option<&Backoff>, now_ms: i64) -> Backoff {
        let delay_ms = match entry {
            Some(e) if now_ms - e.updated_ms <= 2 * BACKOFF_MAX_MS => {
                (e.delay_ms * 2).min(BACKOFF_MAX_MS)
            }
            _ => BACKOFF_INITIAL_MS,
        };
        Backoff {
            delay_ms,
            updated_ms: now_ms,
        }
    }
}

/// What one sync sees.
pub struct Input<'a> {
    pub ds: &'a DaemonSet,
    /// Every node.
    pub nodes: &'a [&'a Node],
    /// The pods the DaemonSet controls.
    pub pods: &'a [&'a Pod],
    /// The current revision's hash.
    pub hash: &'a str,
    /// Failed-pod back-off by node name.
    pub backoff: &'a HashMap<String, Backoff>,
    pub now: Timestamp,
}

/// What one sync does.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Nodes that get a new daemon pod.
    pub create_on: Vec<String>,
    /// Pods to delete.
    pub delete: Vec<String>,
    /// `(warning, reason, message)` events to record.
    pub events: Vec<(bool, &'static str, String)>,
    /// Back-off entries stepped by this sync.
    pub backoff: Vec<(String, Backoff)>,
    /// The status the DaemonSet gets.
    pub status: DaemonSetStatus,
    /// When to look again (back-off ends, a pod becomes available).
    pub requeue: Option<Duration>,
}

impl Input<'_> {
    fn min_ready(&self) -> i32 {
        self.ds
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    }

    fn available(&self, pod: &Pod) -> bool {
        is_pod_available(pod, self.min_ready(), self.now)
    }

    /// The controlled pods by target node (`getNodesToDaemonPods`), deleted terminal pods left
    /// out.
    fn by_node(&self) -> BTreeMap<String, Vec<&Pod>> {
        let mut out: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
        for pod in self.pods {
            if is_terminal(pod) && pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            if let Some(node) = target_node(pod) {
                out.entry(node).or_default().push(*pod);
            }
        }
        out
    }

    fn is_updated(&self, pod: &Pod) -> bool {
        is_updated(pod, self.hash, template_generation(self.ds))
    }

    fn surge_allowed(&self) -> bool {
        let strategy = self
            .ds
            .spec
            .as_ref()
            .and_then(|s| s.update_strategy.as_ref());
        strategy.is_some_and(|s| s.type_.as_deref() == Some("RollingUpdate"))
            && budgets(self.ds, 1).0 > 0
    }
}

/// One sync: `manage` (pods to create and delete per node); when it has nothing to do and
/// the strategy is RollingUpdate, the rolling update; and the status.
pub fn plan(input: &Input) -> Plan {
    let mut plan = Plan {
        status: status(input),
        ..Default::default()
    };
    manage(input, &mut plan);
    let rolling = input
        .ds
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .is_none_or(|s| s.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate");
    if plan.create_on.is_empty() && plan.delete.is_empty() && rolling {
        rolling_update(input, &mut plan);
    }
    // Pods that become available after minReadySeconds change the status and the update.
    let min_ready = input.min_ready();
    if min_ready > 0 && plan.requeue.is_none() {
        let now_ms = input.now.as_millisecond();
        let soonest = input
            .pods
            .iter()
            .filter(|p| is_pod_ready(p) && !input.available(p))
            .filter_map(|p| crate::ownership::ready_since(p).flatten())
            .map(|t| t.as_millisecond() + i64::from(min_ready) * 1000 - now_ms)
            .min();
        if let Some(ms) = soonest {
            plan.requeue = Some(Duration::from_millis(ms.clamp(0, 3_600_000) as u64 + 100));
        }
    }
    plan
}

fn requeue_within(plan: &mut Plan, ms: i64) {
    let d = Duration::from_millis(ms.max(1) as u64);
    plan.requeue = Some(plan.requeue.map_or(d, |r| r.min(d)));
}

/// `manage` with `podsShouldBeOnNode` for every node, plus the pods of nodes that are gone.
fn manage(input: &Input, plan: &mut Plan) {
    let by_node = input.by_node();
    let now_ms = input.now.as_millisecond();
    let ns = input.ds.metadata.namespace.as_deref().unwrap_or_default();
    for node in input.nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let (run, keep) = should_run(input.ds, node);
        let pods = by_node.get(&name);
        match pods {
            None if run => plan.create_on.push(name),
            Some(pods) if keep => {
                let mut running: Vec<&Pod> = Vec::new();
                for pod in pods
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                {
                    let pname = pod.metadata.name.clone().unwrap_or_default();
                    match phase(pod) {
                        "Failed" => {
                            if let Some(left) = Backoff::holds(input.backoff.get(&name), now_ms) {
                                requeue_within(plan, left);
                                continue;
                            }
                            plan.backoff.push((
                                name.clone(),
                                Backoff::next(input.backoff.get(&name), now_ms),
                            ));
                            plan.events.push((
                                true,
                                FAILED_DAEMON_POD,
                                format!("Found failed daemon pod {ns}/{pname} on node {name}, will try to kill it"),
                            ));
                            plan.delete.push(pname);
                        }
                        "Succeeded" => plan.delete.push(pname),
                        _ => running.push(*pod),
                    }
                }
                if running.len() <= 1 {
                    continue;
                }
                sort_pods(&mut running);
                if !input.surge_allowed() {
                    // One pod per node: the oldest stays.
                    plan.delete
                        .extend(running[1..].iter().filter_map(|p| p.metadata.name.clone()));
                    continue;
                }
                // With surge, an old and a new pod may overlap until the new one is available.
                let (mut oldest_new, mut oldest_old) = (None, None);
                for pod in running {
                    let slot = if input.is_updated(pod) {
                        &mut oldest_new
                    } else {
                        &mut oldest_old
                    };
                    if slot.is_none() {
                        *slot = Some(pod);
                    } else {
                        plan.delete.extend(pod.metadata.name.clone());
                    }
                }
                if let (Some(new), Some(old)) = (oldest_new, oldest_old) {
                    if !is_pod_ready(old) || input.available(new) {
                        plan.delete.extend(old.metadata.name.clone());
                    }
                }
            }
            Some(pods) if !keep => plan.delete.extend(
                pods.iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .filter_map(|p| p.metadata.name.clone()),
            ),
            _ => {}
        }
    }
    // The pods of nodes that no longer exist (upstream leaves scheduled ones to the pod
    // garbage collector, which ordo folds in here).
    for (node, pods) in &by_node {
        if input
            .nodes
            .iter()
            .all(|n| n.metadata.name.as_deref() != Some(node.as_str()))
        {
            plan.delete.extend(
                pods.iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .filter_map(|p| p.metadata.name.clone()),
            );
        }
    }
}

/// `findUpdatedPodsOnNode`: the node's live new and old pod, or `None` with several of either.
fn updated_and_old<'a>(
    input: &Input,
    pods: &[&'a Pod],
) -> Option<(Option<&'a Pod>, Option<&'a Pod>)> {
    let (mut new, mut old) = (None, None);
    for pod in pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let slot = if input.is_updated(pod) {
            &mut new
        } else {
            &mut old
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(*pod);
    }
    Some((new, old))
}

/// `rollingUpdate`: without surge, deletes old pods while the unavailable count stays within
/// `maxUnavailable` (the next sync creates their replacements); with surge, creates new pods
/// next to old ones up to `maxSurge` and deletes an old pod once its replacement is available.
fn rolling_update(input: &Input, plan: &mut Plan) {
    let mut by_node = input.by_node();
    let mut desired = 0;
    for node in input.nodes {
        if should_run(input.ds, node).0 {
            desired += 1;
            by_node
                .entry(node.metadata.name.clone().unwrap_or_default())
                .or_default();
        }
    }
    let (max_surge, max_unavailable) = budgets(input.ds, desired);
    let name_of = |p: &Pod| p.metadata.name.clone().unwrap_or_default();
    if max_surge == 0 {
        let mut unavailable = 0;
        let (mut replace, mut candidates) = (Vec::new(), Vec::new());
        for pods in by_node.values() {
            match updated_and_old(input, pods) {
                None | Some((None, None)) | Some((Some(_), Some(_))) => unavailable += 1,
                Some((Some(new), None)) => {
                    if !input.available(new) {
                        unavailable += 1;
                    }
                }
                Some((None, Some(old))) => {
                    if !input.available(old) {
                        replace.push(name_of(old));
                        unavailable += 1;
                    } else if unavailable < max_unavailable {
                        candidates.push(name_of(old));
                    }
                }
            }
        }
        let room = (max_unavailable - unavailable).clamp(0, candidates.len() as i64) as usize;
        plan.delete.extend(replace);
        plan.delete.extend(candidates.into_iter().take(room));
        return;
    }
    let (mut surge, mut available) = (0, 0);
    let (mut allowed_new, mut candidate_new, mut not_run) = (Vec::new(), Vec::new(), Vec::new());
    for (node_name, pods) in &by_node {
        let Some((new, old)) = updated_and_old(input, pods) else {
            surge += 1;
            continue;
        };
        if let Some(p) = old.or(new) {
            if input.available(p) {
                available += 1;
            }
        }
        let node = input
            .nodes
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(node_name.as_str()));
        let runs = node.is_some_and(|n| should_run(input.ds, n).0);
        match (new, old) {
            (_, None) => {}
            (None, Some(old)) if !input.available(old) => {
                if runs {
                    allowed_new.push(node_name.clone());
                } else {
                    plan.delete.push(name_of(old));
                }
            }
            (None, Some(old)) => {
                if !runs {
                    not_run.push(name_of(old));
                } else if surge < max_surge {
                    candidate_new.push(node_name.clone());
                }
            }
            (Some(new), Some(old)) => {
                if input.available(new) {
                    plan.delete.push(name_of(old));
                } else {
                    surge += 1;
                }
            }
        }
    }
    let deletable = (available - desired).clamp(0, not_run.len() as i64) as usize;
    plan.delete.extend(not_run.into_iter().take(deletable));
    let room = (max_surge - surge).clamp(0, candidate_new.len() as i64) as usize;
    plan.create_on.extend(allowed_new);
    plan.create_on.extend(candidate_new.into_iter().take(room));
}

/// `updateDaemonSetStatus`: per node that should run a pod, whether it has one, and whether
/// its oldest pod is ready, available and up to date; pods on other nodes are misscheduled.
pub fn status(input: &Input) -> DaemonSetStatus {
    let by_node = input.by_node();
    let mut st = DaemonSetStatus {
        observed_generation: input.ds.metadata.generation,
        collision_count: input.ds.status.as_ref().and_then(|s| s.collision_count),
        conditions: input.ds.status.as_ref().and_then(|s| s.conditions.clone()),
        ..Default::default()
    };
    let (mut updated, mut available) = (0, 0);
    for node in input.nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let pods = by_node.get(&name).filter(|p| !p.is_empty());
        if !should_run(input.ds, node).0 {
            if pods.is_some() {
                st.number_misscheduled += 1;
            }
            continue;
        }
        st.desired_number_scheduled += 1;
        let Some(pods) = pods else { continue };
        st.current_number_scheduled += 1;
        let mut pods = pods.clone();
        sort_pods(&mut pods);
        let pod = pods[0];
        if is_pod_ready(pod) {
            st.number_ready += 1;
            if input.available(pod) {
                available += 1;
            }
        }
        if input.is_updated(pod) {
            updated += 1;
        }
    }
    // Zero counts are left out, as Go's `omitempty` does.
    let some = |n: i32| (n != 0).then_some(n);
    st.updated_number_scheduled = some(updated);
    st.number_available = some(available);
    st.number_unavailable = some(st.desired_number_scheduled - available);
    st
}
