//! PodDisruptionBudget printer.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{age, col, get, name, typed, Col, Printer, AGE, NAME};

const PDB_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Min Available",
        "The minimum number of pods that must be available.",
    ),
    col(
        "Max Unavailable",
        "The maximum number of pods that may be unavailable.",
    ),
    typed(
        "Allowed Disruptions",
        "integer",
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE,
];

pub(crate) static POD_DISRUPTION_BUDGET: Printer = Printer {
    columns: PDB_COLUMNS,
    cells: pdb_cells,
};

/// An IntOrString as `IntOrString.String()` prints it, `N/A` when unset.
fn int_or_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "N/A".into(),
    }
}

fn pdb_cells(pdb: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(pdb),
        int_or_string(get(pdb, &["spec", "minAvailable"])).into(),
        int_or_string(get(pdb, &["spec", "maxUnavailable"])).into(),
        json!(get(pdb, &["status", "disruptionsAllowed"])
            .and_then(Value::as_i64)
            .unwrap_or(0)),
        age(pdb, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{names, row};
    use serde_json::json;

    #[test]
    fn pdb_rows() {
        assert_eq!(
            names("PodDisruptionBudget"),
            [
                "Name",
                "Min Available",
                "Max Unavailable",
                "Allowed Disruptions",
                "Age"
            ]
        );
        let pdb = json!({"metadata": {"name": "web", "creationTimestamp": "2026-11-25T14:29:53Z"},
                         "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 1}});
        let r = row("PodDisruptionBudget", &pdb);
        assert_eq!(
            (&r[1], &r[2], &r[3]),
            (&json!("2"), &json!("N/A"), &json!(1))
        );
        let pct = json!({"metadata": {"name": "w"}, "spec": {"maxUnavailable": "25%"}});
        let r = row("PodDisruptionBudget", &pct);
        assert_eq!(
            (&r[1], &r[2], &r[3]),
            (&json!("N/A"), &json!("25%"), &json!(0))
        );
    }
}
