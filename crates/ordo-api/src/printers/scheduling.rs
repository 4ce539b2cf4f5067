//! PriorityClass printer.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{age, get, name, str_at, typed, Col, Printer, AGE, NAME};

const PRIORITY_CLASS_COLUMNS: &[Col] = &[
    NAME,
    typed(
        "Value",
        "integer",
        "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.",
    ),
    typed(
        "Global-Default",
        "boolean",
        "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.",
    ),
    AGE,
    typed(
        "PreemptionPolicy",
        "string",
        "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
    ),
];

pub(crate) static PRIORITY_CLASS: Printer = Printer {
    columns: PRIORITY_CLASS_COLUMNS,
    cells: priority_class_cells,
};

fn priority_class_cells(pc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(pc),
        json!(get(pc, &["value"]).and_then(Value::as_i64).unwrap_or(0)),
        json!(get(pc, &["globalDefault"])
            .and_then(Value::as_bool)
            .unwrap_or(false)),
        age(pc, now),
        str_at(pc, &["preemptionPolicy"]).into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{names, row};
    use serde_json::json;

    #[test]
    fn priority_class_rows() {
        assert_eq!(
            names("PriorityClass"),
            ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"]
        );
        let r = row(
            "PriorityClass",
            &json!({"metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "Never"}),
        );
        assert_eq!(
            (&r[1], &r[2], &r[4]),
            (&json!(1000), &json!(false), &json!("Never"))
        );
    }
}
