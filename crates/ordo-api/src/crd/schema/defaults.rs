//! Defaulting (upstream `structuraldefaulting`): a missing property with a `default` gets
//! it (inside objects that are present), and a `null` that the schema does not allow is
//! replaced by the default or dropped.

use super::property;
use serde_json::Value;

/// Fills in `default`s of `schema` into `obj`.
pub fn apply_defaults(schema: &Value, obj: &mut Value) {
    default_node(schema, obj);
}

fn default_node(s: &Value, v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, ps) in props {
                    let nullable = ps["nullable"] == true;
                    match m.get(k) {
                        None => {
                            if let Some(d) = ps.get("default") {
                                m.insert(k.clone(), d.clone());
                            }
                        }
                        Some(Value::Null) if !nullable => match ps.get("default") {
                            Some(d) => {
                                m.insert(k.clone(), d.clone());
                            }
                            None => {
                                m.shift_remove(k);
                            }
                        },
                        _ => {}
                    }
                }
            }
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if let (Some(ps), Some(child)) = (property(s, &k), m.get_mut(&k)) {
                    default_node(ps, child);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.get("items").filter(|i| i.is_object()) {
                for e in a {
                    default_node(items, e);
                }
            }
        }
        _ => {}
    }
}
