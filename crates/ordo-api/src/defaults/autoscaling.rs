//! `SetDefaults_HorizontalPodAutoscaler` (autoscaling/v2): one replica at least, 80 % CPU
//! utilization when no metric is given, and upstream's scale-up and scale-down rules for what a
//! given `behavior` leaves out.

use super::{default_str, default_val, ensure_obj};
use serde_json::{json, Value};

/// The utilization target of an HPA without metrics (`DefaultCPUUtilization`).
pub const DEFAULT_CPU_UTILIZATION: i64 = 80;

/// `SetDefaults_HorizontalPodAutoscaler` (autoscaling/v2).
pub(super) fn hpa(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    default_val(spec, "minReplicas", json!(1));
    if spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(|m| m.is_empty())
    {
        spec["metrics"] = json!([{
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}},
        }]);
    }
    if spec.get("behavior").is_some_and(Value::is_object) {
        let behavior = &mut spec["behavior"];
        rules(
            ensure_obj(behavior, "scaleUp"),
            0,
            json!([
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ]),
        );
        rules(
            ensure_obj(behavior, "scaleDown"),
            300,
            json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
        );
    }
}

/// Fills one direction's rules: its window, `selectPolicy: Max` and the policies.
fn rules(r: &mut Value, window: i64, policies: Value) {
    default_val(r, "stabilizationWindowSeconds", json!(window));
    default_str(r, "selectPolicy", "Max");
    default_val(r, "policies", policies);
}
