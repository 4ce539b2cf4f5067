//! Tables of custom resources (upstream `tableconvertor`): `Name`, then the version's
//! `additionalPrinterColumns` in order, or `Age` when it declares none. `date` columns are
//! printed as ages, as upstream.

use super::jsonpath;
use super::registry::CustomResource;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The printer columns of a version: those declared, or `Age` when none are.
fn declared(cr: &CustomResource) -> Vec<Value> {
    if cr.columns.is_empty() {
        vec![
            json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
                    "description": AGE_DESCRIPTION}),
        ]
    } else {
        cr.columns.clone()
    }
}

/// `TableColumnDefinition`s of a custom resource's Table.
pub fn columns(cr: &CustomResource) -> Vec<Value> {
    let mut out = vec![json!({"name": "Name", "type": "string", "format": "name",
        "description": NAME_DESCRIPTION, "priority": 0})];
    for c in declared(cr) {
        out.push(json!({
            "name": c["name"], "type": c["type"],
            "format": c.get("format").cloned().unwrap_or(json!("")),
            "description": c.get("description").cloned().unwrap_or(json!("")),
            "priority": c.get("priority").cloned().unwrap_or(json!(0)),
        }));
    }
    out
}

/// The cells of `obj`'s row, one per [`columns`].
pub fn cells(cr: &CustomResource, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut out = vec![obj.pointer("/metadata/name").cloned().unwrap_or(json!(""))];
    for c in declared(cr) {
        let path = c["jsonPath"].as_str().unwrap_or("");
        let cell = match (jsonpath(obj, path), c["type"].as_str()) {
            (None | Some(Value::Null), _) => Value::Null,
            (Some(Value::String(ts)), Some("date")) => {
                json!(crate::duration::age(Some(ts), now))
            }
            (Some(v @ (Value::Object(_) | Value::Array(_))), _) => json!(v.to_string()),
            (Some(v), _) => v.clone(),
        };
        out.push(cell);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::registry::CustomResource;

    fn cr(columns: Vec<Value>) -> CustomResource {
        let info = crate::resources::find("", "v1", "configmaps").unwrap();
        CustomResource {
            info,
            storage: info,
            crd: "x".into(),
            schema: None,
            columns,
            scale: None,
            list_kind: "XList".into(),
            selectable_fields: Vec::new(),
        }
    }

    #[test]
    fn default_and_declared_columns() {
        let now = crate::duration::parse_timestamp("2024-01-01T00:10:00Z").unwrap();
        let obj = json!({"metadata": {"name": "a", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"replicas": 2},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let plain = cr(vec![]);
        let names: Vec<Value> = columns(&plain).iter().map(|c| c["name"].clone()).collect();
        assert_eq!(names, [json!("Name"), json!("Age")]);
        assert_eq!(cells(&plain, &obj, now), [json!("a"), json!("10m")]);
        let with = cr(vec![
            json!({"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}),
            json!({"name": "Ready", "type": "string",
                   "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}),
            json!({"name": "Missing", "type": "string", "jsonPath": ".spec.nope", "priority": 1}),
        ]);
        assert_eq!(columns(&with).len(), 4);
        assert_eq!(columns(&with)[3]["priority"], 1);
        assert_eq!(
            cells(&with, &obj, now),
            [json!("a"), json!(2), json!("True"), Value::Null]
        );
    }
}
