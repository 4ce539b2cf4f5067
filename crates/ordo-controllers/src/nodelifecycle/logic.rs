//! The decisions of the node lifecycle controller, without I/O: which nodes stopped
//! reporting, which taints a node's `Ready` condition calls for, and when a pod on a
//! `NoExecute`-tainted node must go (upstream `pkg/controller/nodelifecycle` and
//! `pkg/controller/tainteviction`).

use crate::placement::tolerates;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// The taint of a node whose `Ready` condition is `False`.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The taint of a node whose `Ready` condition is `Unknown` (it stopped reporting).
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The taint an administrator puts on a node known to be shut down (non-graceful shutdown).
pub const OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

/// The conditions the controller turns `Unknown` when the kubelet stops reporting.
const NODE_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// The status of a node's `Ready` condition (`None` when it has none).
pub fn ready_status(node: &Node) -> Option<&str> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str())
}

/// What says the node is alive: its Lease's renew time and its `Ready` condition's heartbeat.
/// The controller compares it with what it saw before, on its own clock (as upstream does, so
/// that clock skew between machines does not matter).
pub fn heartbeat(node: &Node, lease_renew: Option<&str>) -> String {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0.to_string())
        .unwrap_or_default();
    format!("{}|{ready}", lease_renew.unwrap_or_default())
}

/// The node's conditions once the kubelet is known to have stopped reporting: `Ready`,
/// `MemoryPressure`, `DiskPressure` and `PIDPressure` become `Unknown` with upstream's reasons
/// and messages (kept heartbeats, new transition times); `None` if they already are.
pub fn unknown_conditions(node: &Node, now: Timestamp) -> Option<Vec<NodeCondition>> {
    let current = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut out = current.clone();
    let mut changed = false;
    for ty in NODE_CONDITIONS {
        match out.iter_mut().find(|c| c.type_ == ty) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".into();
                c.reason = Some("NodeStatusUnknown".into());
                c.message = Some("Kubelet stopped posting node status.".into());
                c.last_transition_time = Some(Time(now));
                changed = true;
            }
            None => {
                out.push(NodeCondition {
                    type_: ty.into(),
                    status: "Unknown".into(),
                    reason: Some("NodeStatusNeverUpdated".into()),
                    message: Some("Kubelet never posted node status.".into()),
                    last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                    last_transition_time: Some(Time(now)),
                });
                changed = true;
            }
        }
    }
    changed.then_some(out)
}

/// The node's taints with those its `Ready` status calls for (`False`: `not-ready`,
/// `Unknown`: `unreachable`, each `NoSchedule` and `NoExecute`), and without the ones it does
/// not; `None` when nothing changes. New `NoExecute` taints get `timeAdded`.
pub fn desired_taints(node: &Node, now: Timestamp) -> Option<Vec<Taint>> {
    let current: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let want_key = match ready_status(node) {
        Some("False") => Some(NOT_READY),
        Some("Unknown") => Some(UNREACHABLE),
        _ => None,
    };
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| {
            let ours = t.key == NOT_READY || t.key == UNREACHABLE;
            let effect = t.effect == "NoSchedule" || t.effect == "NoExecute";
            !ours || !effect || Some(t.key.as_str()) == want_key
        })
        .cloned()
        .collect();
    if let Some(key) = want_key {
        for effect in ["NoSchedule", "NoExecute"] {
            if !out.iter().any(|t| t.key == key && t.effect == effect) {
                out.push(Taint {
                    key: key.into(),
                    effect: effect.into(),
                    value: None,
                    time_added: (effect == "NoExecute").then_some(Time(now)),
                });
            }
        }
    }
    (out != current).then_some(out)
}

/// When a pod on a node with `taints` must be deleted by taint-based eviction: `Some(now-ish)`
/// at once when it does not tolerate one of the `NoExecute` taints; at the earliest time a
/// tolerated taint's `tolerationSeconds` run out (counted from the taint's `timeAdded`); `None`
/// when it tolerates every `NoExecute` taint for ever (or there is none).
pub fn eviction_time(pod: &Pod, taints: &[Taint], now: Timestamp) -> Option<Timestamp> {
    let tolerations: &[Toleration] = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let mut at: Option<Timestamp> = None;
    for t in taints.iter().filter(|t| t.effect == "NoExecute") {
        let value = t.value.as_deref().unwrap_or("");
        if !tolerates(tolerations, &t.key, value, &t.effect) {
            return Some(now);
        }
        // The shortest of the matching tolerations' limits (none: tolerated for ever).
        let seconds = tolerations
            .iter()
            .filter(|tol| tolerates(std::slice::from_ref(tol), &t.key, value, &t.effect))
            .filter_map(|tol| tol.toleration_seconds)
            .min();
        if let Some(s) = seconds {
            let since = t.time_added.as_ref().map(|t| t.0).unwrap_or(now);
            let due = since
                .checked_add(SignedDuration::from_secs(s.max(0)))
                .unwrap_or(now);
            at = Some(at.map_or(due, |a| a.min(due)));
        }
    }
    at
}

/// Whether the node carries the out-of-service taint and is not `Ready`: its terminating pods
/// are force-deleted (non-graceful node shutdown).
pub fn out_of_service(node: &Node) -> bool {
    let tainted = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|ts| ts.iter().any(|t| t.key == OUT_OF_SERVICE));
    tainted && ready_status(node) != Some("True")
}
