//! Whether a pod fits a node (upstream's filter plugins, simplified): node Ready,
//! schedulable, node selector and required node affinity, taints, and resources
//! (pod count, cpu, memory requests). Pure functions, no I/O.

use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use std::collections::BTreeMap;

/// What a pod asks of a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    pub cpu_milli: i64,
    pub memory: i64,
}

/// What is already placed on a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub pods: i64,
    pub cpu_milli: i64,
    pub memory: i64,
}

impl Usage {
    pub fn add(&mut self, r: Requests) {
        self.pods += 1;
        self.cpu_milli += r.cpu_milli;
        self.memory += r.memory;
    }

    pub fn sub(&mut self, r: Requests) {
        self.pods -= 1;
        self.cpu_milli -= r.cpu_milli;
        self.memory -= r.memory;
    }
}

/// Thousandths of a quantity, rounded up (millicores, or milli-bytes for memory).
pub fn milli(q: &str) -> Option<i64> {
    ordo_api::quantity::milli(q)
}

/// The pod's effective requests: the sum over its containers, or the largest init
/// container's if that is more (upstream's rule), plus the pod overhead.
pub fn requests(pod: &Pod) -> Requests {
    let get =
        |m: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
         k: &str| {
            m.and_then(|m| m.get(k))
                .and_then(|q| milli(&q.0))
                .unwrap_or(0)
        };
    let Some(spec) = pod.spec.as_ref() else {
        return Requests::default();
    };
    let mut r = Requests::default();
    for c in &spec.containers {
        let req = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        r.cpu_milli += get(req, "cpu");
        r.memory += get(req, "memory") / 1000;
    }
    for c in spec.init_containers.iter().flatten() {
        let req = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        r.cpu_milli = r.cpu_milli.max(get(req, "cpu"));
        r.memory = r.memory.max(get(req, "memory") / 1000);
    }
    let overhead = spec.overhead.as_ref();
    r.cpu_milli += get(overhead, "cpu");
    r.memory += get(overhead, "memory") / 1000;
    r
}

/// Whether the node's Ready condition is True.
pub fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

use crate::placement::{node_selector_matches, tolerates};

/// `spec.nodeSelector` and required node affinity.
fn selector_matches(pod: &Pod, node: &Node) -> bool {
    node_selector_matches(pod.spec.as_ref(), node)
}

/// Why `pod` does not fit `node` (upstream's reason strings), or None if it fits.
pub fn unfit_reason(pod: &Pod, req: Requests, node: &Node, used: Usage) -> Option<String> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    if !node_ready(node)
        && !tolerates(
            &tolerations,
            "node.kubernetes.io/not-ready",
            "",
            "NoSchedule",
        )
    {
        return Some("node(s) had untolerated taint {node.kubernetes.io/not-ready: }".into());
    }
    if node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
        && !tolerates(
            &tolerations,
            "node.kubernetes.io/unschedulable",
            "",
            "NoSchedule",
        )
    {
        return Some("node(s) were unschedulable".into());
    }
    if !selector_matches(pod, node) {
        return Some("node(s) didn't match Pod's node affinity/selector".into());
    }
    let taints: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    if let Some(t) = taints.iter().find(|t| {
        (t.effect == "NoSchedule" || t.effect == "NoExecute")
            && !tolerates(
                &tolerations,
                &t.key,
                t.value.as_deref().unwrap_or(""),
                &t.effect,
            )
    }) {
        return Some(format!(
            "node(s) had untolerated taint {{{}: {}}}",
            t.key,
            t.value.as_deref().unwrap_or("")
        ));
    }
    let alloc = node.status.as_ref().and_then(|s| s.allocatable.as_ref());
    let cap = |k: &str| alloc.and_then(|a| a.get(k)).and_then(|q| milli(&q.0));
    if let Some(pods) = cap("pods") {
        if (used.pods + 1) * 1000 > pods {
            return Some("Too many pods".into());
        }
    }
    if req.cpu_milli > 0 {
        if let Some(cpu) = cap("cpu") {
            if used.cpu_milli + req.cpu_milli > cpu {
                return Some("Insufficient cpu".into());
            }
        }
    }
    if req.memory > 0 {
        if let Some(mem) = cap("memory") {
            if used.memory + req.memory > mem / 1000 {
                return Some("Insufficient memory".into());
            }
        }
    }
    None
}

/// Upstream's `NodePorts` filter message.
pub const NO_FREE_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";

/// Picks the feasible node with the fewest pods (then the least requested cpu, then the
/// name), or returns upstream's FailedScheduling message (every node's host ports free).
#[cfg(test)]
pub fn choose<'a>(
    pod: &Pod,
    nodes: impl Iterator<Item = (&'a Node, Usage)>,
) -> Result<String, String> {
    choose_with_ports(pod, nodes.map(|(n, u)| (n, u, true)))
}

/// [`choose`], with whether each node has the host ports the pod asks for free (upstream's
/// `NodePorts` filter).
pub fn choose_with_ports<'a>(
    pod: &Pod,
    nodes: impl Iterator<Item = (&'a Node, Usage, bool)>,
) -> Result<String, String> {
    let req = requests(pod);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut best: Option<(i64, i64, String)> = None;
    let mut total = 0;
    for (node, used, ports_free) in nodes {
        total += 1;
        let reason = unfit_reason(pod, req, node, used)
            .or_else(|| (!ports_free).then(|| NO_FREE_PORTS.to_string()));
        match reason {
            Some(r) => *reasons.entry(r).or_default() += 1,
            None => {
                let key = (
                    used.pods,
                    used.cpu_milli,
                    node.metadata.name.clone().unwrap_or_default(),
                );
                if best.as_ref().is_none_or(|b| key < *b) {
                    best = Some(key);
                }
            }
        }
    }
    if let Some((_, _, name)) = best {
        return Ok(name);
    }
    if total == 0 {
        return Err("no nodes available to schedule pods".into());
    }
    let mut parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    parts.sort();
    Err(format!("0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling.", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, NodeCondition, NodeSpec, NodeStatus, PodSpec, ResourceRequirements, Toleration,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str, ready: bool, labels: &[(&str, &str)]) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            },
            spec: Some(NodeSpec::default()),
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                allocatable: Some(
                    [("cpu", "2"), ("memory", "4Gi"), ("pods", "110")]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), Quantity(v.into())))
                        .collect(),
                ),
                ..Default::default()
            }),
        }
    }

    fn pod(cpu: Option<&str>) -> Pod {
        let resources = cpu.map(|c| ResourceRequirements {
            requests: Some([("cpu".to_string(), Quantity(c.into()))].into()),
            ..Default::default()
        });
        Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    resources,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn quantities() {
        assert_eq!(milli("100m"), Some(100));
        assert_eq!(milli("2"), Some(2000));
        assert_eq!(milli("0.5"), Some(500));
        assert_eq!(milli("1Ki"), Some(1_024_000));
        assert_eq!(milli("1e3"), Some(1_000_000));
        assert_eq!(milli("1G"), Some(1_000_000_000_000));
        assert_eq!(milli("abc"), None);
    }

    #[test]
    fn spreads_by_pod_count() {
        let (a, b) = (node("a", true, &[]), node("b", true, &[]));
        let got = choose(
            &pod(None),
            [
                (
                    &a,
                    Usage {
                        pods: 3,
                        ..Default::default()
                    },
                ),
                (
                    &b,
                    Usage {
                        pods: 1,
                        ..Default::default()
                    },
                ),
            ]
            .into_iter(),
        );
        assert_eq!(got, Ok("b".into()));
    }

    #[test]
    fn reports_why_nothing_fits() {
        let a = node("a", true, &[("disk", "hdd")]);
        let mut b = node("b", true, &[]);
        b.spec.as_mut().unwrap().unschedulable = Some(true);
        let c = node("c", false, &[]);
        let mut p = pod(None);
        p.spec.as_mut().unwrap().node_selector =
            Some([("disk".to_string(), "ssd".to_string())].into());
        let err = choose(
            &p,
            [
                (&a, Usage::default()),
                (&b, Usage::default()),
                (&c, Usage::default()),
            ]
            .into_iter(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
        assert_eq!(
            choose(&p, std::iter::empty()).unwrap_err(),
            "no nodes available to schedule pods"
        );
    }

    #[test]
    fn resources_and_selector_fit() {
        let a = node("a", true, &[("disk", "ssd")]);
        assert_eq!(
            unfit_reason(
                &pod(Some("3")),
                requests(&pod(Some("3"))),
                &a,
                Usage::default()
            ),
            Some("Insufficient cpu".into())
        );
        assert_eq!(
            unfit_reason(
                &pod(Some("1")),
                requests(&pod(Some("1"))),
                &a,
                Usage {
                    pods: 0,
                    cpu_milli: 1500,
                    memory: 0
                }
            ),
            Some("Insufficient cpu".into())
        );
        assert_eq!(
            unfit_reason(
                &pod(None),
                Requests::default(),
                &a,
                Usage {
                    pods: 110,
                    ..Default::default()
                }
            ),
            Some("Too many pods".into())
        );
        let mut p = pod(Some("1"));
        p.spec.as_mut().unwrap().node_selector =
            Some([("disk".to_string(), "ssd".to_string())].into());
        assert_eq!(unfit_reason(&p, requests(&p), &a, Usage::default()), None);
    }

    #[test]
    fn taints_need_tolerations() {
        let mut a = node("a", true, &[]);
        a.spec.as_mut().unwrap().taints = Some(vec![Taint {
            key: "dedicated".into(),
            value: Some("db".into()),
            effect: "NoSchedule".into(),
            ..Default::default()
        }]);
        let mut p = pod(None);
        assert_eq!(
            unfit_reason(&p, Requests::default(), &a, Usage::default()),
            Some("node(s) had untolerated taint {dedicated: db}".into())
        );
        p.spec.as_mut().unwrap().tolerations = Some(vec![Toleration {
            key: Some("dedicated".into()),
            operator: Some("Equal".into()),
            value: Some("db".into()),
            effect: Some("NoSchedule".into()),
            ..Default::default()
        }]);
        assert_eq!(
            unfit_reason(&p, Requests::default(), &a, Usage::default()),
            None
        );
    }
}
