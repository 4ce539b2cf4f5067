//! ResourceQuota and LimitRange printers (`printResourceQuota`, `printLimitRange`).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{age, col, get, name, str_at, typed, Col, Printer, AGE, NAME};
use crate::quota::list_from_json;

const RESOURCE_QUOTA_COLUMNS: &[Col] = &[
    NAME,
    AGE,
    col(
        "Request",
        "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    col(
        "Limit",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
];

pub(crate) static RESOURCE_QUOTA: Printer = Printer {
    columns: RESOURCE_QUOTA_COLUMNS,
    cells: resource_quota_cells,
};

/// `name: used/hard` for each resource of `spec.hard` (sorted), `limits.*` in the Limit column.
fn resource_quota_cells(rq: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec_hard = list_from_json(get(rq, &["spec", "hard"]));
    let used = list_from_json(get(rq, &["status", "used"]));
    let hard = list_from_json(get(rq, &["status", "hard"]));
    let (mut request, mut limit) = (Vec::new(), Vec::new());
    for k in spec_hard.keys() {
        let show = |l: &crate::quota::ResourceList| {
            l.get(k)
                .map(|q| q.canonical())
                .unwrap_or_else(|| "0".into())
        };
        let cell = format!("{k}: {}/{}", show(&used), show(&hard));
        if k.split('.').next() == Some("limits") && k.contains('.') {
            limit.push(cell);
        } else {
            request.push(cell);
        }
    }
    vec![
        name(rq),
        age(rq, now),
        json!(request.join(", ")),
        json!(limit.join(", ")),
    ]
}

const LIMIT_RANGE_COLUMNS: &[Col] = &[
    NAME,
    typed(
        "Created At",
        "date",
        "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    ),
];

pub(crate) static LIMIT_RANGE: Printer = Printer {
    columns: LIMIT_RANGE_COLUMNS,
    cells: limit_range_cells,
};

fn limit_range_cells(lr: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(lr),
        json!(str_at(lr, &["metadata", "creationTimestamp"])),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{names, row};
    use serde_json::json;

    #[test]
    fn quota_rows() {
        assert_eq!(names("ResourceQuota"), ["Name", "Age", "Request", "Limit"]);
        let r = row(
            "ResourceQuota",
            &json!({"metadata": {"name": "q"},
                "spec": {"hard": {"pods": "2", "limits.cpu": "2", "requests.memory": "1Gi"}},
                "status": {"hard": {"pods": "2", "limits.cpu": "2", "requests.memory": "1Gi"},
                           "used": {"pods": "1", "limits.cpu": "500m", "requests.memory": "0"}}}),
        );
        assert_eq!(r[2], json!("pods: 1/2, requests.memory: 0/1Gi"));
        assert_eq!(r[3], json!("limits.cpu: 500m/2"));
        assert_eq!(names("LimitRange"), ["Name", "Created At"]);
    }
}
