//! The DefaultTolerationSeconds admission plugin: a new pod that does not already tolerate the
//! `node.kubernetes.io/not-ready` and `node.kubernetes.io/unreachable` `NoExecute` taints gets
//! tolerations of them for 300 s (kube-apiserver's `--default-not-ready-toleration-seconds` and
//! `--default-unreachable-toleration-seconds`), so its pods leave a failed node after five
//! minutes rather than at once.

use k8s_openapi::api::core::v1::Toleration;
use ordo_api::taints::tolerates;
use serde_json::{json, Value};

/// The seconds a pod tolerates a not-ready or unreachable node by default.
pub(crate) const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// Adds the default tolerations to pod `obj` where it has none of its own for those taints.
pub(crate) fn add_default_tolerations(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let list = spec.entry("tolerations").or_insert_with(|| json!([]));
    if list.is_null() {
        *list = json!([]);
    }
    let Some(list) = list.as_array_mut() else {
        return;
    };
    // Entries that do not parse are left to validation, which refuses them.
    let own: Vec<Toleration> = list
        .iter()
        .filter_map(|t| serde_json::from_value(t.clone()).ok())
        .collect();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        if !tolerates(&own, key, "", "NoExecute") {
            list.push(
                json!({"key": key, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_get_five_minutes_unless_they_say_otherwise() {
        let mut pod = json!({"spec": {"containers": []}});
        add_default_tolerations(&mut pod);
        assert_eq!(
            pod["spec"]["tolerations"],
            json!([
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ])
        );
        // A pod's own toleration of one taint is kept, and only the other is added.
        let own = json!({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5});
        let mut pod = json!({"spec": {"tolerations": [own.clone()]}});
        add_default_tolerations(&mut pod);
        let ts = pod["spec"]["tolerations"].as_array().unwrap();
        assert_eq!(ts.len(), 2);
        assert_eq!(ts[0], own);
        assert_eq!(ts[1]["key"], "node.kubernetes.io/not-ready");
        // Tolerating everything (`operator: Exists` without a key) adds nothing.
        let mut pod = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
        add_default_tolerations(&mut pod);
        assert_eq!(pod["spec"]["tolerations"].as_array().unwrap().len(), 1);
    }
}
