//! Printers for cluster and configuration kinds: Namespace, Node, ConfigMap,
//! Secret, ServiceAccount, Event (core/v1 and events.k8s.io/v1) and Lease.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    age, arr_at, bool_at, col, get, int_at, len_at, name, or, since, str_at, wide, Col, Printer,
    AGE, NAME,
};

const NAMESPACE_COLUMNS: &[Col] = &[NAME, col("Status", "The status of the namespace"), AGE];

pub(crate) static NAMESPACE: Printer = Printer {
    columns: NAMESPACE_COLUMNS,
    cells: namespace_cells,
};

fn namespace_cells(ns: &Value, now: DateTime<Utc>) -> Vec<Value> {
    // The apiserver always sets the phase on create; assume Active if absent.
    let phase = or(str_at(ns, &["status", "phase"]), "Active");
    vec![name(ns), phase.into(), age(ns, now)]
}

const NODE_COLUMNS: &[Col] = &[
    NAME,
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    AGE,
    col("Version", "Kubelet Version reported by the node."),
    wide("Internal-IP", "List of addresses reachable to the node."),
    wide("External-IP", "List of addresses reachable to the node."),
    wide(
        "OS-Image",
        "OS Image reported by the node from /etc/os-release.",
    ),
    wide(
        "Kernel-Version",
        "Kernel Version reported by the node from 'uname -r'.",
    ),
    wide(
        "Container-Runtime",
        "ContainerRuntime Version reported by the node through runtime remote API.",
    ),
];

pub(crate) static NODE: Printer = Printer {
    columns: NODE_COLUMNS,
    cells: node_cells,
};

const NODE_ROLE_PREFIX: &str = "node-role.kubernetes.io/";
const NODE_ROLE_LABEL: &str = "kubernetes.io/role";

fn node_cells(node: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ready = arr_at(node, &["status", "conditions"])
        .iter()
        .rfind(|c| str_at(c, &["type"]) == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_at(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if bool_at(node, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }

    let mut roles = BTreeSet::new();
    if let Some(labels) = get(node, &["metadata", "labels"]).and_then(Value::as_object) {
        for (k, v) in labels {
            match k.strip_prefix(NODE_ROLE_PREFIX) {
                Some(role) if !role.is_empty() => {
                    roles.insert(role);
                }
                Some(_) => {}
                None if k == NODE_ROLE_LABEL => {
                    if let Some(v) = v.as_str().filter(|v| !v.is_empty()) {
                        roles.insert(v);
                    }
                }
                None => {}
            }
        }
    }
    let roles = roles.into_iter().collect::<Vec<_>>().join(",");

    let address = |ty: &str| {
        arr_at(node, &["status", "addresses"])
            .iter()
            .find(|a| str_at(a, &["type"]) == ty)
            .map_or("<none>", |a| str_at(a, &["address"]))
    };
    let info = |field: &str| or(str_at(node, &["status", "nodeInfo", field]), "<unknown>");

    vec![
        name(node),
        status.join(",").into(),
        or(&roles, "<none>").into(),
        age(node, now),
        str_at(node, &["status", "nodeInfo", "kubeletVersion"]).into(),
        address("InternalIP").into(),
        address("ExternalIP").into(),
        info("osImage").into(),
        info("kernelVersion").into(),
        info("containerRuntimeVersion").into(),
    ]
}

const CONFIG_MAP_COLUMNS: &[Col] = &[
    NAME,
    col("Data", "Data contains the configuration data."),
    AGE,
];

pub(crate) static CONFIG_MAP: Printer = Printer {
    columns: CONFIG_MAP_COLUMNS,
    cells: config_map_cells,
};

fn config_map_cells(cm: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let data = len_at(cm, &["data"]) + len_at(cm, &["binaryData"]);
    vec![name(cm), data.into(), age(cm, now)]
}

const SECRET_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Type",
        "Used to facilitate programmatic handling of secret data.",
    ),
    col("Data", "Data contains the secret data."),
    AGE,
];

pub(crate) static SECRET: Printer = Printer {
    columns: SECRET_COLUMNS,
    cells: secret_cells,
};

fn secret_cells(secret: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(secret),
        or(str_at(secret, &["type"]), "Opaque").into(),
        len_at(secret, &["data"]).into(),
        age(secret, now),
    ]
}

const SERVICE_ACCOUNT_COLUMNS: &[Col] = &[
    NAME,
    col("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."),
    AGE,
];

pub(crate) static SERVICE_ACCOUNT: Printer = Printer {
    columns: SERVICE_ACCOUNT_COLUMNS,
    cells: service_account_cells,
};

fn service_account_cells(sa: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(sa), len_at(sa, &["secrets"]).into(), age(sa, now)]
}

const EVENT_COLUMNS: &[Col] = &[
    col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    col("Type", "Type of this event (Normal, Warning)."),
    col("Reason", "A short, machine understandable string that gives the reason for the transition into the object's current status."),
    col("Object", "The object that this event is about."),
    wide("Subobject", "The field of the involved object the event is about, e.g. spec.containers{name}."),
    wide("Source", "The component reporting this event."),
    col("Message", "A human-readable description of the status of this operation."),
    wide("First Seen", "The time at which the event was first recorded."),
    wide("Count", "The number of times this event has occurred."),
    super::Col {
        priority: 1,
        ..NAME
    },
];

pub(crate) static EVENT: Printer = Printer {
    columns: EVENT_COLUMNS,
    cells: event_cells,
};

/// A core/v1 Event field, or its events.k8s.io/v1 counterpart.
fn ev_field<'a>(ev: &'a Value, core: &str, events_v1: &str) -> Option<&'a Value> {
    get(ev, &[core]).or_else(|| get(ev, &[events_v1]))
}

fn event_cells(ev: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let first = match ev_field(ev, "firstTimestamp", "deprecatedFirstTimestamp") {
        Some(t) => since(Some(t), now),
        None => since(get(ev, &["eventTime"]), now),
    };
    let mut last = match ev_field(ev, "lastTimestamp", "deprecatedLastTimestamp") {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = ev_field(ev, "count", "deprecatedCount")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if let Some(series) = get(ev, &["series"]) {
        last = since(get(series, &["lastObservedTime"]), now);
        count = int_at(series, &["count"]);
    } else if count == 0 {
        // Singleton events don't have a count set in the new API.
        count = 1;
    }

    let involved = ev_field(ev, "involvedObject", "regarding").unwrap_or(&Value::Null);
    let kind = str_at(involved, &["kind"]).to_lowercase();
    let obj_name = str_at(involved, &["name"]);
    let target = if obj_name.is_empty() {
        kind
    } else {
        format!("{kind}/{obj_name}")
    };

    let source = ev_field(ev, "source", "deprecatedSource").unwrap_or(&Value::Null);
    let component = or(
        str_at(source, &["component"]),
        str_at(ev, &["reportingController"]),
    );
    let instance = or(
        str_at(source, &["host"]),
        str_at(ev, &["reportingInstance"]),
    );
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    };

    let message = ev_field(ev, "message", "note")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();

    vec![
        last.into(),
        str_at(ev, &["type"]).into(),
        str_at(ev, &["reason"]).into(),
        target.into(),
        str_at(involved, &["fieldPath"]).into(),
        source.into(),
        message.into(),
        first.into(),
        count.into(),
        name(ev),
    ]
}

const LEASE_COLUMNS: &[Col] = &[
    NAME,
    col("Holder", "The identity of the holder of a current lease."),
    AGE,
];

pub(crate) static LEASE: Printer = Printer {
    columns: LEASE_COLUMNS,
    cells: lease_cells,
};

fn lease_cells(lease: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(lease),
        str_at(lease, &["spec", "holderIdentity"]).into(),
        age(lease, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{names, row};
    use serde_json::{json, Value};

    fn meta(name: &str) -> Value {
        json!({"name": name, "creationTimestamp": "2026-11-23T10:00:00Z"})
    }

    #[test]
    fn namespace_row() {
        assert_eq!(names("Namespace"), ["Name", "Status", "Age"]);
        let ns = json!({"metadata": meta("default"), "status": {"phase": "Terminating"}});
        assert_eq!(
            row("Namespace", &ns),
            [json!("default"), json!("Terminating"), json!("2d4h")]
        );
        let bare = json!({"metadata": meta("kube-system")});
        assert_eq!(row("Namespace", &bare)[1], "Active");
    }

    #[test]
    fn node_rows() {
        assert_eq!(
            names("Node"),
            [
                "Name",
                "Status",
                "Roles",
                "Age",
                "Version",
                "Internal-IP*",
                "External-IP*",
                "OS-Image*",
                "Kernel-Version*",
                "Container-Runtime*"
            ]
        );
        let node = json!({
            "metadata": {"name": "node-1", "creationTimestamp": "2026-11-25T14:00:00Z",
                         "labels": {"node-role.kubernetes.io/control-plane": "",
                                    "node-role.kubernetes.io/": "",
                                    "kubernetes.io/role": "master",
                                    "kubernetes.io/hostname": "node-1"}},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"},
                               {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                              {"type": "Hostname", "address": "node-1"}],
                "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian GNU/Linux 12",
                             "kernelVersion": "6.1.0", "containerRuntimeVersion": "ordo://0.1.0"}
            }
        });
        assert_eq!(
            row("Node", &node),
            [
                json!("node-1"),
                json!("Ready"),
                json!("control-plane,master"),
                json!("30m"),
                json!("v1.33.1"),
                json!("172.18.0.2"),
                json!("<none>"),
                json!("Debian GNU/Linux 12"),
                json!("6.1.0"),
                json!("ordo://0.1.0")
            ]
        );

        let mut cordoned = node.clone();
        cordoned["spec"] = json!({"unschedulable": true});
        assert_eq!(row("Node", &cordoned)[1], "Ready,SchedulingDisabled");
        cordoned["status"]["conditions"][1]["status"] = json!("Unknown");
        assert_eq!(row("Node", &cordoned)[1], "NotReady,SchedulingDisabled");

        let bare = json!({"metadata": {"name": "n"}});
        let r = row("Node", &bare);
        assert_eq!(r[1], "Unknown");
        assert_eq!(r[2], "<none>");
        assert_eq!(r[4], "");
        assert_eq!(r[7], "<unknown>");
    }

    #[test]
    fn config_map_secret_service_account_lease() {
        assert_eq!(names("ConfigMap"), ["Name", "Data", "Age"]);
        let cm = json!({"metadata": meta("cfg"), "data": {"a": "1", "b": "2"},
                        "binaryData": {"c": "AA=="}});
        assert_eq!(
            row("ConfigMap", &cm),
            [json!("cfg"), json!(3), json!("2d4h")]
        );

        assert_eq!(names("Secret"), ["Name", "Type", "Data", "Age"]);
        let secret = json!({"metadata": meta("tls"), "type": "kubernetes.io/tls",
                            "data": {"tls.crt": "", "tls.key": ""}});
        assert_eq!(
            row("Secret", &secret),
            [
                json!("tls"),
                json!("kubernetes.io/tls"),
                json!(2),
                json!("2d4h")
            ]
        );
        assert_eq!(
            row("Secret", &json!({"metadata": meta("s")}))[1..3],
            [json!("Opaque"), json!(0)]
        );

        assert_eq!(names("ServiceAccount"), ["Name", "Secrets", "Age"]);
        let sa = json!({"metadata": meta("default")});
        assert_eq!(
            row("ServiceAccount", &sa),
            [json!("default"), json!(0), json!("2d4h")]
        );

        assert_eq!(names("Lease"), ["Name", "Holder", "Age"]);
        let lease = json!({"metadata": meta("node-1"), "spec": {"holderIdentity": "node-1"}});
        assert_eq!(
            row("Lease", &lease),
            [json!("node-1"), json!("node-1"), json!("2d4h")]
        );
        assert_eq!(row("Lease", &json!({"metadata": meta("l")}))[1], "");
    }

    #[test]
    fn event_columns() {
        assert_eq!(
            names("Event"),
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject*",
                "Source*",
                "Message",
                "First Seen*",
                "Count*",
                "Name*"
            ]
        );
        assert_eq!(super::super::columns("Event")[9]["format"], "name");
    }

    #[test]
    fn core_event_with_count() {
        let ev = json!({
            "kind": "Event", "apiVersion": "v1",
            "metadata": {"name": "web-0.187a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web-0",
                               "fieldPath": "spec.containers{nginx}"},
            "reason": "BackOff", "type": "Warning",
            "message": "Back-off restarting failed container\n",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2026-11-25T14:20:00Z",
            "lastTimestamp": "2026-11-25T14:25:00Z",
            "count": 3
        });
        assert_eq!(
            row("Event", &ev),
            [
                json!("5m"),
                json!("Warning"),
                json!("BackOff"),
                json!("pod/web-0"),
                json!("spec.containers{nginx}"),
                json!("kubelet, node-1"),
                json!("Back-off restarting failed container"),
                json!("10m"),
                json!(3),
                json!("web-0.187a")
            ]
        );
    }

    #[test]
    fn controller_event_and_fallbacks() {
        // Only eventTime set, reporting controller instead of source, no count.
        let ev = json!({
            "metadata": {"name": "web.1"},
            "involvedObject": {"kind": "StatefulSet", "name": "web"},
            "reason": "SuccessfulCreate", "type": "Normal",
            "message": "create Pod web-0 in StatefulSet web successful",
            "reportingController": "statefulset-controller",
            "eventTime": "2026-11-25T14:29:30.123456Z"
        });
        let r = row("Event", &ev);
        assert_eq!(r[0], "29s");
        assert_eq!(r[3], "statefulset/web");
        assert_eq!(r[5], "statefulset-controller");
        assert_eq!(r[7], "29s");
        assert_eq!(r[8], 1);

        let unknown = json!({"metadata": {"name": "x"}, "involvedObject": {"kind": "Node"}});
        let r = row("Event", &unknown);
        assert_eq!(r[0], "<unknown>");
        assert_eq!(r[3], "node");
        assert_eq!(r[7], "<unknown>");
    }

    #[test]
    fn events_v1_event_with_series() {
        let ev = json!({
            "kind": "Event", "apiVersion": "events.k8s.io/v1",
            "metadata": {"name": "web-0.1"},
            "regarding": {"kind": "Pod", "name": "web-0"},
            "note": "Pulling image \"nginx\"",
            "reason": "Pulling", "type": "Normal",
            "reportingController": "kubelet", "reportingInstance": "node-1",
            "eventTime": "2026-11-25T14:00:00.000000Z",
            "series": {"count": 4, "lastObservedTime": "2026-11-25T14:28:00.000000Z"}
        });
        let r = row("Event", &ev);
        assert_eq!(r[0], "2m");
        assert_eq!(r[3], "pod/web-0");
        assert_eq!(r[5], "kubelet, node-1");
        assert_eq!(r[6], "Pulling image \"nginx\"");
        assert_eq!(r[7], "30m");
        assert_eq!(r[8], 4);
    }
}
