//! Server-side printing: the `meta.k8s.io/v1` Table columns and cells that
//! `kubectl get` displays.
//!
//! Ported from upstream `pkg/printers/internalversion/printers.go`. kubectl prints
//! the server's columns and cells verbatim (upper-casing the column names), so the
//! names, order and cell formats follow upstream exactly. Like the real apiserver
//! (which always generates with `Wide: true`), every row carries all cells,
//! including the `priority: 1` columns that only `-o wide` shows.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::duration;

mod apps;
mod autoscaling;
mod batch;
mod certificates;
mod corev1;
mod network;
mod pod;
mod policy;
mod quota;
mod rbac;
mod scheduling;
mod storage;

/// Column definitions for `kind` (`TableColumnDefinition` JSON objects with
/// `name`, `type`, `format`, `description` and `priority`), in upstream order.
/// Wide-only columns have priority 1. Kinds without a printer get Name and Age.
pub fn columns(kind: &str) -> Vec<Value> {
    printer(kind).columns.iter().map(Col::to_json).collect()
}

/// The cells of one row for `obj` (the full JSON object of that kind), matching
/// [`columns`] one to one. Ages are computed relative to `now`.
pub fn cells(kind: &str, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    (printer(kind).cells)(obj, now)
}

/// One `TableColumnDefinition`.
pub(crate) struct Col {
    name: &'static str,
    ty: &'static str,
    format: &'static str,
    pub(crate) description: &'static str,
    priority: i32,
}

impl Col {
    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.ty,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// A `string` column shown by default.
pub(crate) const fn col(name: &'static str, description: &'static str) -> Col {
    typed(name, "string", description)
}

/// A column of the given `type` shown by default.
pub(crate) const fn typed(name: &'static str, ty: &'static str, description: &'static str) -> Col {
    Col {
        name,
        ty,
        format: "",
        description,
        priority: 0,
    }
}

/// A `string` column only shown with `-o wide` (priority 1).
pub(crate) const fn wide(name: &'static str, description: &'static str) -> Col {
    Col {
        priority: 1,
        ..col(name, description)
    }
}

/// The `Name` column (format `name`).
pub(crate) const NAME: Col = Col {
    name: "Name",
    ty: "string",
    format: "name",
    description: "Name must be unique within a namespace.",
    priority: 0,
};

/// The `Age` column.
pub(crate) const AGE: Col = col(
    "Age",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);

type CellsFn = fn(&Value, DateTime<Utc>) -> Vec<Value>;

/// The columns and the row function of one kind.
pub(crate) struct Printer {
    pub(crate) columns: &'static [Col],
    pub(crate) cells: CellsFn,
}

fn printer(kind: &str) -> &'static Printer {
    match kind {
        "Pod" => &pod::POD,
        "Service" => &network::SERVICE,
        "Endpoints" => &network::ENDPOINTS,
        "EndpointSlice" => &network::ENDPOINT_SLICE,
        "NetworkPolicy" => &network::NETWORK_POLICY,
        "PodDisruptionBudget" => &policy::POD_DISRUPTION_BUDGET,
        "PriorityClass" => &scheduling::PRIORITY_CLASS,
        "CertificateSigningRequest" => &certificates::CERTIFICATE_SIGNING_REQUEST,
        "Namespace" => &corev1::NAMESPACE,
        "Node" => &corev1::NODE,
        "ConfigMap" => &corev1::CONFIG_MAP,
        "Secret" => &corev1::SECRET,
        "ServiceAccount" => &corev1::SERVICE_ACCOUNT,
        "Event" => &corev1::EVENT,
        "Lease" => &corev1::LEASE,
        "PersistentVolume" => &storage::PERSISTENT_VOLUME,
        "PersistentVolumeClaim" => &storage::PERSISTENT_VOLUME_CLAIM,
        "StorageClass" => &storage::STORAGE_CLASS,
        "StatefulSet" => &apps::STATEFUL_SET,
        "Deployment" => &apps::DEPLOYMENT,
        "DaemonSet" => &apps::DAEMON_SET,
        "ReplicaSet" => &apps::REPLICA_SET,
        "ReplicationController" => &apps::REPLICATION_CONTROLLER,
        "ResourceQuota" => &quota::RESOURCE_QUOTA,
        "LimitRange" => &quota::LIMIT_RANGE,
        "ControllerRevision" => &apps::CONTROLLER_REVISION,
        "Job" => &batch::JOB,
        "HorizontalPodAutoscaler" => &autoscaling::HPA,
        "CronJob" => &batch::CRON_JOB,
        "Role" | "ClusterRole" => &rbac::ROLE,
        "RoleBinding" | "ClusterRoleBinding" => &rbac::BINDING,
        "CustomResourceDefinition" => &CREATED_AT,
        _ => &DEFAULT,
    }
}

/// Upstream's default table convertor (kinds served without a printer, such as CRDs): Name
/// and `Created At`, the creation timestamp itself.
static CREATED_AT: Printer = Printer {
    columns: &[
        NAME,
        typed(
            "Created At",
            "date",
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
        ),
    ],
    cells: created_at_cells,
};

fn created_at_cells(o: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(o),
        get(o, &["metadata", "creationTimestamp"])
            .cloned()
            .unwrap_or(Value::Null),
    ]
}

/// Fallback for kinds without a printer: Name and Age.
static DEFAULT: Printer = Printer {
    columns: &[NAME, AGE],
    cells: default_cells,
};

fn default_cells(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(o), age(o, now)]
}

// ---- JSON access helpers shared by the per-group printers ----

/// The value at `path`, if present and not null.
pub(crate) fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .filter(|v| !v.is_null())
}

/// The string at `path`, or `""` (Go's zero value).
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    get(v, path).and_then(Value::as_str).unwrap_or("")
}

/// The integer at `path`, or 0.
pub(crate) fn int_at(v: &Value, path: &[&str]) -> i64 {
    get(v, path).and_then(Value::as_i64).unwrap_or(0)
}

/// The boolean at `path`, or false.
pub(crate) fn bool_at(v: &Value, path: &[&str]) -> bool {
    get(v, path).and_then(Value::as_bool).unwrap_or(false)
}

/// The array at `path`, or an empty slice.
pub(crate) fn arr_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    get(v, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The number of entries of the object (or array) at `path`.
pub(crate) fn len_at(v: &Value, path: &[&str]) -> i64 {
    let n = match get(v, path) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    n as i64
}

/// `s`, or `fallback` when empty.
pub(crate) fn or<'a>(s: &'a str, fallback: &'a str) -> &'a str {
    if s.is_empty() {
        fallback
    } else {
        s
    }
}

/// `metadata.name` as a cell.
pub(crate) fn name(obj: &Value) -> Value {
    str_at(obj, &["metadata", "name"]).into()
}

/// The AGE cell from `metadata.creationTimestamp`.
pub(crate) fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    since(get(obj, &["metadata", "creationTimestamp"]), now).into()
}

/// Upstream `translateTimestampSince`: the age of a timestamp value, `<unknown>`
/// when it is missing.
pub(crate) fn since(ts: Option<&Value>, now: DateTime<Utc>) -> String {
    duration::age(ts.and_then(Value::as_str), now)
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key, comma separated; `<none>`
/// when empty.
pub(crate) fn format_labels(map: Option<&Value>) -> String {
    let mut pairs: Vec<(&str, &str)> = map
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
        .collect();
    if pairs.is_empty() {
        return "<none>".to_string();
    }
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.LabelSelectorAsSelector(sel).String()`: requirements sorted by key,
/// `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`. A missing or empty selector
/// gives `""`; an invalid one gives `Err`.
pub(crate) fn selector_string(sel: Option<&Value>) -> Result<String, ()> {
    let Some(sel) = sel else {
        return Ok(String::new());
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = get(sel, &["matchLabels"]).and_then(Value::as_object) {
        for (k, v) in labels {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for expr in arr_at(sel, &["matchExpressions"]) {
        let key = str_at(expr, &["key"]);
        let mut values: Vec<&str> = arr_at(expr, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let req = match (str_at(expr, &["operator"]), values.is_empty()) {
            ("In", false) => format!("{key} in ({})", values.join(",")),
            ("NotIn", false) => format!("{key} notin ({})", values.join(",")),
            ("Exists", true) => key.to_string(),
            ("DoesNotExist", true) => format!("!{key}"),
            _ => return Err(()),
        };
        reqs.push((key.to_string(), req));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`: like [`selector_string`] but `<none>` when empty
/// and `<error>` when invalid.
pub(crate) fn format_label_selector(sel: Option<&Value>) -> String {
    match selector_string(sel) {
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
        Err(()) => "<error>".to_string(),
    }
}

/// Upstream `layoutContainerCells`: container names and images, comma separated.
pub(crate) fn container_cells(pod_spec: Option<&Value>) -> (Value, Value) {
    let containers = pod_spec.map_or(&[][..], |s| arr_at(s, &["containers"]));
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (names.join(",").into(), images.join(",").into())
}

#[cfg(test)]
pub(crate) mod test_support {
    use chrono::{DateTime, Utc};
    use serde_json::Value;

    /// The fixed "now" of printer tests.
    pub fn now() -> DateTime<Utc> {
        crate::duration::parse_timestamp("2026-11-25T14:30:00Z").unwrap()
    }

    /// Column names of `kind`, with a `*` suffix on wide-only ones.
    pub fn names(kind: &str) -> Vec<String> {
        super::columns(kind)
            .iter()
            .map(|c| {
                let star = if c["priority"] == 1 { "*" } else { "" };
                format!("{}{star}", c["name"].as_str().unwrap())
            })
            .collect()
    }

    /// Cells of `obj`, checking they match the column count.
    pub fn row(kind: &str, obj: &Value) -> Vec<Value> {
        let cells = super::cells(kind, obj, now());
        assert_eq!(cells.len(), super::columns(kind).len(), "{kind} cell count");
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{names, now, row};
    use super::*;

    #[test]
    fn column_json_shape() {
        let cols = columns("StatefulSet");
        assert_eq!(
            cols[0],
            json!({"name": "Name", "type": "string", "format": "name",
                   "description": NAME.description, "priority": 0})
        );
        assert_eq!(cols[3]["priority"], 1);
        assert_eq!(cols[3]["format"], "");
    }

    #[test]
    fn default_printer() {
        assert_eq!(names("Widget"), ["Name", "Age"]);
        let obj = json!({"metadata": {"name": "w", "creationTimestamp": "2026-11-25T14:29:00Z"}});
        assert_eq!(row("Widget", &obj), [json!("w"), json!("60s")]);
        assert_eq!(
            cells("Widget", &json!({}), now()),
            [json!(""), json!("<unknown>")]
        );
    }

    #[test]
    fn labels_and_selectors() {
        assert_eq!(format_labels(Some(&json!({"b": "2", "a": "1"}))), "a=1,b=2");
        assert_eq!(format_labels(Some(&json!({}))), "<none>");
        assert_eq!(format_labels(None), "<none>");

        let sel = json!({
            "matchLabels": {"tier": "web", "app": "nginx"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "zone", "operator": "NotIn", "values": ["b"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "gpu", "operator": "Exists"}
            ]
        });
        assert_eq!(
            format_label_selector(Some(&sel)),
            "app=nginx,!canary,env in (dev,prod),gpu,tier=web,zone notin (b)"
        );
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(format_label_selector(None), "<none>");
        let bad = json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]});
        assert_eq!(format_label_selector(Some(&bad)), "<error>");
        assert_eq!(selector_string(Some(&json!({}))), Ok(String::new()));
    }
}
