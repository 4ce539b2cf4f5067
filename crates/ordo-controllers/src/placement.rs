//! Whether a pod may be placed on a node, as far as the node's labels, name and taints decide
//! (upstream's `NodeAffinity` and `TaintToleration` rules). Shared by the scheduler and the
//! DaemonSet controller, which decides per node where its pods belong. Pure functions.

use k8s_openapi::api::core::v1::{Node, PodSpec, Taint, Toleration};
use ordo_api::selector::node_requirement_holds;
use std::collections::BTreeMap;

pub use ordo_api::taints::tolerates;

/// The first taint of `taints` that `filter` selects and no toleration tolerates
/// (`FindMatchingUntoleratedTaint`).
pub fn untolerated_taint<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    filter: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints.iter().filter(|t| filter(t)).find(|t| {
        !tolerates(
            tolerations,
            &t.key,
            t.value.as_deref().unwrap_or(""),
            &t.effect,
        )
    })
}

/// `spec.nodeSelector` and the required node affinity (`matchExpressions` on the node's
/// labels, `matchFields` on `metadata.name`) of a pod spec hold for `node`.
pub fn node_selector_matches(spec: Option<&PodSpec>, node: &Node) -> bool {
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    if let Some(sel) = spec.and_then(|s| s.node_selector.as_ref()) {
        if !sel.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            return false;
        }
    }
    let required = spec
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    let Some(required) = required else {
        return true;
    };
    let name = node.metadata.name.clone().unwrap_or_default();
    required.node_selector_terms.iter().any(|term| {
        let exprs = term
            .match_expressions
            .iter()
            .flatten()
            .all(|r| node_requirement_holds(r, labels.get(&r.key).map(String::as_str)));
        let fields = term.match_fields.iter().flatten().all(|r| {
            node_requirement_holds(r, (r.key == "metadata.name").then_some(name.as_str()))
        });
        (term.match_expressions.is_some() || term.match_fields.is_some()) && exprs && fields
    })
}
