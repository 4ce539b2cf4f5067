//! PriorityClass validation (upstream `pkg/apis/scheduling/validation`) and the system
//! classes every cluster has.

use super::meta;
use super::names::NameRule;
use super::util::{not_supported_fmt, q, Errs};
use crate::status::Cause;
use serde_json::Value;

/// Names of reserved classes start with this.
pub const SYSTEM_PREFIX: &str = "system-";

/// The highest value a user's class may have (`HighestUserDefinablePriority`).
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i64 = 1_000_000_000;

/// The system classes: (name, value, description).
pub const SYSTEM_PRIORITY_CLASSES: [(&str, i64, &str); 2] = [
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];

fn value(pc: &Value) -> i64 {
    pc.get("value").and_then(Value::as_i64).unwrap_or(0)
}

fn global_default(pc: &Value) -> bool {
    pc.get("globalDefault")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// `IsKnownSystemPriorityClass`.
fn known_system_class(name: &str, value: i64, global_default: bool) -> Result<(), String> {
    match SYSTEM_PRIORITY_CLASSES.iter().find(|(n, ..)| *n == name) {
        Some((_, v, _)) if *v != value => Err(format!("value of {name} PriorityClass must be {v}")),
        Some(_) if global_default => Err(format!(
            "globalDefault of {name} PriorityClass must be false"
        )),
        Some(_) => Ok(()),
        None => Err(format!("{name} is not a known system priority class")),
    }
}

/// `ValidatePriorityClass`.
pub(crate) fn validate_priority_class(pc: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(pc, Some(false), NameRule::Subdomain);
    let name = pc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.starts_with(SYSTEM_PREFIX) {
        if let Err(e) = known_system_class(name, value(pc), global_default(pc)) {
            errs.push(Cause::forbidden(
                "metadata.name",
                &format!("priority class names with '{SYSTEM_PREFIX}' prefix are reserved for system use only. error: {e}"),
            ));
        }
    } else if value(pc) > HIGHEST_USER_DEFINABLE_PRIORITY {
        errs.push(Cause::forbidden(
            "value",
            &format!("maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"),
        ));
    }
    if let Some(p) = pc.get("preemptionPolicy").and_then(Value::as_str) {
        if !matches!(p, "PreemptLowerPriority" | "Never") {
            errs.push(not_supported_fmt(
                "preemptionPolicy",
                &q(p),
                &["Never", "PreemptLowerPriority"],
            ));
        }
    }
    errs
}

/// `ValidatePriorityClassUpdate`: the value and preemption policy are fixed.
pub(crate) fn validate_priority_class_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_priority_class(new));
    if value(new) != value(old) {
        errs.push(Cause::forbidden(
            "value",
            "may not be changed in an update.",
        ));
    }
    if new.get("preemptionPolicy") != old.get("preemptionPolicy") {
        errs.push(Cause::invalid(
            "preemptionPolicy",
            q(new
                .get("preemptionPolicy")
                .and_then(Value::as_str)
                .unwrap_or("")),
            "field is immutable",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(pc: Value) -> Vec<String> {
        validate_priority_class(&pc)
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn reserved_names_and_values() {
        assert!(msgs(json!({"metadata": {"name": "high"}, "value": 1000})).is_empty());
        assert!(
            msgs(json!({"metadata": {"name": "system-node-critical"}, "value": 2000001000}))
                .is_empty()
        );
        assert_eq!(
            msgs(json!({"metadata": {"name": "system-mine"}, "value": 5})),
            ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"]
        );
        assert_eq!(
            msgs(json!({"metadata": {"name": "huge"}, "value": 1000000001, "preemptionPolicy": "Sometimes"})),
            [
                "value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
                "preemptionPolicy: Unsupported value: \"Sometimes\": supported values: \"Never\", \"PreemptLowerPriority\"",
            ]
        );
        let old = json!({"metadata": {"name": "high"}, "value": 1000});
        let new = json!({"metadata": {"name": "high"}, "value": 2000});
        assert!(validate_priority_class_update(&new, &old)
            .iter()
            .any(|c| c.message == "Forbidden: may not be changed in an update."));
    }
}
