//! Conversion between the versions of a multi-version kind, on JSON: autoscaling/v1
//! HorizontalPodAutoscaler to and from autoscaling/v2, the version it is stored in (upstream
//! `pkg/apis/autoscaling/v1/conversion.go`): the CPU utilization target and current value
//! become a `Resource` metric, and what v1 has no field for (behavior, conditions) travels in
//! the `autoscaling.alpha.kubernetes.io/*` annotations.

use serde_json::{json, Map, Value};

/// The v1 annotation carrying a v2 HPA's `spec.behavior`.
pub const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";
/// The v1 annotation carrying a v2 HPA's `status.conditions`.
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";

/// The spec fields both versions have alike.
const SPEC_FIELDS: &[&str] = &["scaleTargetRef", "minReplicas", "maxReplicas"];
/// The status fields both versions have alike.
const STATUS_FIELDS: &[&str] = &[
    "observedGeneration",
    "lastScaleTime",
    "currentReplicas",
    "desiredReplicas",
];

/// The `fields` of `from` that it has.
fn copied(from: &Value, fields: &[&str]) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|k| Some((k.to_string(), from.get(*k)?.clone())))
        .collect()
}

fn is_cpu_utilization(m: &Value) -> bool {
    m["type"] == "Resource"
        && m.pointer("/resource/name") == Some(&json!("cpu"))
        && m.pointer("/resource/target/averageUtilization").is_some()
}

fn annotations(obj: &mut Value) -> &mut Map<String, Value> {
    let meta = obj
        .as_object_mut()
        .expect("an object")
        .entry("metadata")
        .or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    let a = meta
        .as_object_mut()
        .expect("an object")
        .entry("annotations")
        .or_insert_with(|| json!({}));
    if !a.is_object() {
        *a = json!({});
    }
    a.as_object_mut().expect("an object")
}

fn drop_empty_annotations(obj: &mut Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if m.get("annotations")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            m.remove("annotations");
        }
    }
}

/// An autoscaling/v2 HorizontalPodAutoscaler as autoscaling/v1 shows it.
pub fn hpa_v2_to_v1(v2: &Value) -> Value {
    let mut out = json!({
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v1",
        "metadata": v2.get("metadata").cloned().unwrap_or(json!({})),
    });
    let spec = v2.get("spec").cloned().unwrap_or(json!({}));
    let mut s = copied(&spec, SPEC_FIELDS);
    if let Some(u) = spec
        .get("metrics")
        .and_then(Value::as_array)
        .and_then(|ms| ms.iter().find(|m| is_cpu_utilization(m)))
        .and_then(|m| m.pointer("/resource/target/averageUtilization"))
    {
        s.insert("targetCPUUtilizationPercentage".into(), u.clone());
    }
    out["spec"] = Value::Object(s);
    if let Some(b) = spec.get("behavior").filter(|b| !b.is_null()) {
        annotations(&mut out).insert(BEHAVIOR_ANNOTATION.into(), json!(b.to_string()));
    }
    if let Some(status) = v2.get("status").filter(|s| s.is_object()) {
        let mut st = copied(status, STATUS_FIELDS);
        if !st.contains_key("currentReplicas") {
            st.insert("currentReplicas".into(), json!(0));
        }
        if !st.contains_key("desiredReplicas") {
            st.insert("desiredReplicas".into(), json!(0));
        }
        if let Some(u) = status
            .get("currentMetrics")
            .and_then(Value::as_array)
            .and_then(|ms| {
                ms.iter().find(|m| {
                    m["type"] == "Resource" && m.pointer("/resource/name") == Some(&json!("cpu"))
                })
            })
            .and_then(|m| m.pointer("/resource/current/averageUtilization"))
        {
            st.insert("currentCPUUtilizationPercentage".into(), u.clone());
        }
        if let Some(c) = status
            .get("conditions")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
        {
            annotations(&mut out).insert(
                CONDITIONS_ANNOTATION.into(),
                json!(Value::from(c.clone()).to_string()),
            );
        }
        out["status"] = Value::Object(st);
    }
    drop_empty_annotations(&mut out);
    out
}

/// An autoscaling/v1 HorizontalPodAutoscaler in its autoscaling/v2 form.
pub fn hpa_v1_to_v2(v1: &Value) -> Value {
    let mut out = json!({
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v2",
        "metadata": v1.get("metadata").cloned().unwrap_or(json!({})),
    });
    let spec = v1.get("spec").cloned().unwrap_or(json!({}));
    let mut s = copied(&spec, SPEC_FIELDS);
    if let Some(u) = spec
        .get("targetCPUUtilizationPercentage")
        .filter(|u| !u.is_null())
    {
        s.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": u}}}]),
        );
    }
    let a = annotations(&mut out);
    let behavior = a
        .remove(BEHAVIOR_ANNOTATION)
        .and_then(|b| serde_json::from_str::<Value>(b.as_str()?).ok());
    let conditions = a
        .remove(CONDITIONS_ANNOTATION)
        .and_then(|c| serde_json::from_str::<Value>(c.as_str()?).ok());
    if let Some(b) = behavior {
        s.insert("behavior".into(), b);
    }
    out["spec"] = Value::Object(s);
    if let Some(status) = v1.get("status").filter(|s| s.is_object()) {
        let mut st = copied(status, STATUS_FIELDS);
        if let Some(u) = status.get("currentCPUUtilizationPercentage") {
            st.insert(
                "currentMetrics".into(),
                json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": u}}}]),
            );
        }
        if let Some(c) = conditions {
            st.insert("conditions".into(), c);
        }
        out["status"] = Value::Object(st);
    }
    drop_empty_annotations(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_round_trips_through_v2() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}});
        let v2 = hpa_v1_to_v2(&v1);
        assert_eq!(
            v2["spec"]["metrics"][0]["resource"]["target"],
            json!({"type": "Utilization", "averageUtilization": 50})
        );
        assert_eq!(hpa_v2_to_v1(&v2), v1);
    }

    #[test]
    fn behavior_and_conditions_travel_in_annotations() {
        let v2 = json!({"metadata": {"name": "web"},
            "spec": {"maxReplicas": 3, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 5}},
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]},
            "status": {"currentReplicas": 2, "desiredReplicas": 2,
                       "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 30, "averageValue": "30m"}}}],
                       "conditions": [{"type": "AbleToScale", "status": "True"}]}});
        let v1 = hpa_v2_to_v1(&v2);
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
        assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 30);
        assert!(v1["metadata"]["annotations"][BEHAVIOR_ANNOTATION].is_string());
        let back = hpa_v1_to_v2(&v1);
        assert_eq!(back["spec"]["behavior"], v2["spec"]["behavior"]);
        assert_eq!(back["status"]["conditions"], v2["status"]["conditions"]);
        assert!(back["metadata"].get("annotations").is_none());
    }
}
