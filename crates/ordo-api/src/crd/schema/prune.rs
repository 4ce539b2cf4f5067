//! Pruning (upstream `structuralpruning`): fields a structural schema does not declare are
//! dropped, except under `x-kubernetes-preserve-unknown-fields`; `apiVersion`, `kind` and
//! `metadata` are kept at the root and in embedded resources.

use super::{embedded, preserves, property};
use serde_json::Value;

/// Drops from `obj` the fields `schema` does not declare; returns their paths
/// (`spec.bogus`, `spec.list[0].x`), which `fieldValidation` reports.
pub fn prune(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut pruned = Vec::new();
    prune_node(schema, obj, true, "", &mut pruned);
    pruned
}

fn child(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_string()
    } else {
        format!("{path}.{k}")
    }
}

fn prune_node(s: &Value, v: &mut Value, root: bool, path: &str, pruned: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let keep_meta = root || embedded(s);
            let preserve = preserves(s);
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if keep_meta && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                match property(s, &k) {
                    Some(ps) => {
                        if let Some(child) = m.get_mut(&k) {
                            prune_node(ps, child, false, &self::child(path, &k), pruned);
                        }
                    }
                    None if preserve || s["additionalProperties"] == true => {}
                    None => {
                        m.shift_remove(&k);
                        pruned.push(child(path, &k));
                    }
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.get("items").filter(|i| i.is_object()) {
                for (i, e) in a.iter_mut().enumerate() {
                    prune_node(items, e, false, &format!("{path}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}
