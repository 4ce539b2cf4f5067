//! HorizontalPodAutoscaler printer (upstream `printHorizontalPodAutoscaler`), from the
//! autoscaling/v2 form.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{age, arr_at, get, name, str_at, typed, Col, Printer, AGE, NAME};

const HPA_COLUMNS: &[Col] = &[
    NAME,
    super::col(
        "Reference",
        "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.",
    ),
    super::col(
        "Targets",
        "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).",
    ),
    super::col(
        "MinPods",
        "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.",
    ),
    typed(
        "MaxPods",
        "integer",
        "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.",
    ),
    typed(
        "Replicas",
        "integer",
        "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.",
    ),
    AGE,
];

pub(crate) static HPA: Printer = Printer {
    columns: HPA_COLUMNS,
    cells: hpa_cells,
};

fn hpa_cells(hpa: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        str_at(hpa, &["spec", "scaleTargetRef", "kind"]),
        str_at(hpa, &["spec", "scaleTargetRef", "name"])
    );
    let min = match get(hpa, &["spec", "minReplicas"]).and_then(Value::as_i64) {
        Some(m) => m.to_string(),
        None => "<unset>".to_string(),
    };
    vec![
        name(hpa),
        json!(reference),
        json!(format_metrics(
            arr_at(hpa, &["spec", "metrics"]),
            arr_at(hpa, &["status", "currentMetrics"])
        )),
        json!(min),
        json!(get(hpa, &["spec", "maxReplicas"])
            .and_then(Value::as_i64)
            .unwrap_or(0)),
        json!(get(hpa, &["status", "currentReplicas"])
            .and_then(Value::as_i64)
            .unwrap_or(0)),
        age(hpa, now),
    ]
}

/// `formatHPAMetrics`: `<name>: <current>/<target>` per metric (at most four, then
/// `+ N more...`), `<none>` without metrics.
pub(crate) fn format_metrics(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return "<none>".into();
    }
    let mut list = Vec::new();
    for (i, spec) in specs.iter().enumerate().take(4) {
        let status = statuses.get(i).unwrap_or(&Value::Null);
        list.push(format_one(spec, status));
    }
    let mut out = list.join(", ");
    if specs.len() > 4 {
        out.push_str(&format!(" + {} more...", specs.len() - 4));
    }
    out
}

fn format_one(spec: &Value, status: &Value) -> String {
    let unknown = "<unknown>".to_string();
    let ty = str_at(spec, &["type"]);
    let field = match ty {
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "Pods" => "pods",
        "Object" => "object",
        "External" => "external",
        _ => return "<unknown type>".into(),
    };
    let src = spec.get(field).unwrap_or(&Value::Null);
    let cur_src = status.get(field).unwrap_or(&Value::Null);
    let metric_name = match ty {
        "Resource" | "ContainerResource" => str_at(src, &["name"]).to_string(),
        _ => str_at(src, &["metric", "name"]).to_string(),
    };
    let target = src.get("target").unwrap_or(&Value::Null);
    let current = cur_src.get("current").unwrap_or(&Value::Null);
    let quantity = |v: Option<&Value>| {
        v.map(|q| {
            q.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| q.to_string())
        })
    };
    let (cur, tgt) = if let Some(u) = target.get("averageUtilization").and_then(Value::as_i64) {
        let cur = current
            .get("averageUtilization")
            .and_then(Value::as_i64)
            .map(|c| format!("{c}%"))
            .unwrap_or(unknown);
        (cur, format!("{u}%"))
    } else if let Some(t) = quantity(target.get("averageValue")) {
        (quantity(current.get("averageValue")).unwrap_or(unknown), t)
    } else {
        (
            quantity(current.get("value")).unwrap_or(unknown),
            quantity(target.get("value")).unwrap_or_default(),
        )
    };
    if ty == "Pods" {
        format!("{cur}/{tgt}")
    } else {
        format!("{metric_name}: {cur}/{tgt}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_column() {
        let specs = [
            json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}),
        ];
        assert_eq!(format_metrics(&specs, &[]), "cpu: <unknown>/50%");
        let st = [
            json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40, "averageValue": "40m"}}}),
        ];
        assert_eq!(format_metrics(&specs, &st), "cpu: 40%/50%");
        assert_eq!(format_metrics(&[], &[]), "<none>");
        let mem = [
            json!({"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "64Mi"}}}),
        ];
        assert_eq!(format_metrics(&mem, &[]), "memory: <unknown>/64Mi");
    }
}
