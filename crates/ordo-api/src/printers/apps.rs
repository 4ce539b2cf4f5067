//! StatefulSet, DaemonSet, Deployment, ReplicaSet and ControllerRevision printers.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    age, arr_at, bool_at, col, container_cells, format_label_selector, format_labels, get, int_at,
    name, selector_string, str_at, typed, wide, Col, Printer, AGE, NAME,
};

const CONTAINERS: Col = wide("Containers", "Names of each container in the template.");
const IMAGES: Col = wide(
    "Images",
    "Images referenced by each container in the template.",
);

/// `spec.replicas`, defaulted to 1 like the apiserver does.
fn desired(obj: &Value) -> i64 {
    get(obj, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn template_spec(obj: &Value) -> Option<&Value> {
    get(obj, &["spec", "template", "spec"])
}

const STATEFUL_SET_COLUMNS: &[Col] = &[
    NAME,
    col("Ready", "Number of the pod with ready state"),
    AGE,
    CONTAINERS,
    IMAGES,
];

pub(crate) static STATEFUL_SET: Printer = Printer {
    columns: STATEFUL_SET_COLUMNS,
    cells: stateful_set_cells,
};

fn stateful_set_cells(sts: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ready = int_at(sts, &["status", "readyReplicas"]);
    let (containers, images) = container_cells(template_spec(sts));
    vec![
        name(sts),
        format!("{ready}/{}", desired(sts)).into(),
        age(sts, now),
        containers,
        images,
    ]
}

const DAEMON_SET_COLUMNS: &[Col] = &[
    NAME,
    typed(
        "Desired",
        "integer",
        "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    typed(
        "Current",
        "integer",
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    typed(
        "Ready",
        "integer",
        "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
    ),
    typed(
        "Up-to-date",
        "integer",
        "The total number of nodes that are running updated daemon pod",
    ),
    typed(
        "Available",
        "integer",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
    ),
    col(
        "Node Selector",
        "An object that describes the pod that will be created. The DaemonSet will create exactly one copy of this pod on every node that matches the template's node selector (or on every node if no node selector is specified). The only allowed template.spec.restartPolicy value is \"Always\". More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#pod-template",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

pub(crate) static DAEMON_SET: Printer = Printer {
    columns: DAEMON_SET_COLUMNS,
    cells: daemon_set_cells,
};

fn daemon_set_cells(ds: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let status = |f: &str| Value::from(int_at(ds, &["status", f]));
    let (containers, images) = container_cells(template_spec(ds));
    vec![
        name(ds),
        status("desiredNumberScheduled"),
        status("currentNumberScheduled"),
        status("numberReady"),
        status("updatedNumberScheduled"),
        status("numberAvailable"),
        format_labels(get(ds, &["spec", "template", "spec", "nodeSelector"])).into(),
        age(ds, now),
        containers,
        images,
        format_label_selector(get(ds, &["spec", "selector"])).into(),
    ]
}

const DEPLOYMENT_COLUMNS: &[Col] = &[
    NAME,
    col("Ready", "Number of the pod with ready state"),
    col(
        "Up-to-date",
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    col(
        "Available",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "Label selector for pods."),
];

pub(crate) static DEPLOYMENT: Printer = Printer {
    columns: DEPLOYMENT_COLUMNS,
    cells: deployment_cells,
};

fn deployment_cells(deploy: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ready = int_at(deploy, &["status", "readyReplicas"]);
    let (containers, images) = container_cells(template_spec(deploy));
    let selector = selector_string(get(deploy, &["spec", "selector"]))
        .unwrap_or_else(|()| "<invalid>".to_string());
    vec![
        name(deploy),
        format!("{ready}/{}", desired(deploy)).into(),
        int_at(deploy, &["status", "updatedReplicas"]).into(),
        int_at(deploy, &["status", "availableReplicas"]).into(),
        age(deploy, now),
        containers,
        images,
        selector.into(),
    ]
}

const REPLICA_SET_COLUMNS: &[Col] = &[
    NAME,
    typed(
        "Desired",
        "integer",
        "Replicas is the number of desired replicas.",
    ),
    typed(
        "Current",
        "integer",
        "Replicas is the most recently observed number of replicas.",
    ),
    typed(
        "Ready",
        "integer",
        "The number of ready replicas for this replica set.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "Selector is a label query over pods that should match the replica count.",
    ),
];

pub(crate) static REPLICA_SET: Printer = Printer {
    columns: REPLICA_SET_COLUMNS,
    cells: replica_set_cells,
};

fn replica_set_cells(rs: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (containers, images) = container_cells(template_spec(rs));
    vec![
        name(rs),
        desired(rs).into(),
        int_at(rs, &["status", "replicas"]).into(),
        int_at(rs, &["status", "readyReplicas"]).into(),
        age(rs, now),
        containers,
        images,
        format_label_selector(get(rs, &["spec", "selector"])).into(),
    ]
}

const REPLICATION_CONTROLLER_COLUMNS: &[Col] = &[
    NAME,
    typed(
        "Desired",
        "integer",
        "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
    ),
    typed(
        "Current",
        "integer",
        "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
    ),
    typed(
        "Ready",
        "integer",
        "The number of ready replicas for this replication controller.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

/// v1 ReplicationController (`printReplicationController`): the selector is a label map.
pub(crate) static REPLICATION_CONTROLLER: Printer = Printer {
    columns: REPLICATION_CONTROLLER_COLUMNS,
    cells: replication_controller_cells,
};

fn replication_controller_cells(rc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (containers, images) = container_cells(template_spec(rc));
    vec![
        name(rc),
        desired(rc).into(),
        int_at(rc, &["status", "replicas"]).into(),
        int_at(rc, &["status", "readyReplicas"]).into(),
        age(rc, now),
        containers,
        images,
        format_labels(get(rc, &["spec", "selector"])).into(),
    ]
}

const CONTROLLER_REVISION_COLUMNS: &[Col] = &[
    NAME,
    col("Controller", "Controller of the object"),
    col(
        "Revision",
        "Revision indicates the revision of the state represented by Data.",
    ),
    AGE,
];

pub(crate) static CONTROLLER_REVISION: Printer = Printer {
    columns: CONTROLLER_REVISION_COLUMNS,
    cells: controller_revision_cells,
};

/// The controller owner as `kind.group/name` in lower case (`statefulset.apps/web`),
/// or `<none>`.
fn controller(obj: &Value) -> String {
    let Some(owner) = arr_at(obj, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| bool_at(r, &["controller"]))
    else {
        return "<none>".to_string();
    };
    let api_version = str_at(owner, &["apiVersion"]);
    let group = api_version.split_once('/').map_or("", |(g, _)| g);
    let kind = str_at(owner, &["kind"]);
    let name = str_at(owner, &["name"]);
    match (kind.is_empty() && group.is_empty(), group.is_empty()) {
        (true, _) => name.to_string(),
        (false, true) => format!("{}/{name}", kind.to_lowercase()),
        (false, false) => format!("{}.{}/{name}", kind.to_lowercase(), group.to_lowercase()),
    }
}

fn controller_revision_cells(cr: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(cr),
        controller(cr).into(),
        int_at(cr, &["revision"]).into(),
        age(cr, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{names, row};
    use serde_json::{json, Value};

    fn template(containers: Value) -> Value {
        json!({"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": containers}})
    }

    #[test]
    fn stateful_set_row() {
        assert_eq!(
            names("StatefulSet"),
            ["Name", "Ready", "Age", "Containers*", "Images*"]
        );
        let sts = json!({
            "metadata": {"name": "web", "creationTimestamp": "2026-11-25T14:29:54Z"},
            "spec": {"replicas": 3, "serviceName": "nginx",
                     "selector": {"matchLabels": {"app": "nginx"}},
                     "template": template(json!([
                         {"name": "nginx", "image": "nginx:1.25"},
                         {"name": "sidecar", "image": "busybox:1.28"}]))},
            "status": {"replicas": 3, "readyReplicas": 2}
        });
        assert_eq!(
            row("StatefulSet", &sts),
            [
                json!("web"),
                json!("2/3"),
                json!("6s"),
                json!("nginx,sidecar"),
                json!("nginx:1.25,busybox:1.28")
            ]
        );
        // Fresh object: no status, replicas defaulted to 1.
        let fresh = json!({"metadata": {"name": "db"}, "spec": {}});
        assert_eq!(
            row("StatefulSet", &fresh),
            [
                json!("db"),
                json!("0/1"),
                json!("<unknown>"),
                json!(""),
                json!("")
            ]
        );
    }

    #[test]
    fn deployment_row() {
        assert_eq!(
            names("Deployment"),
            [
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "Containers*",
                "Images*",
                "Selector*"
            ]
        );
        let deploy = json!({
            "metadata": {"name": "nginx-deployment", "creationTimestamp": "2026-11-25T14:29:47Z"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "nginx-d"}},
                     "template": template(json!([{"name": "nginx", "image": "nginx:1.16.1"}]))},
            "status": {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
                       "availableReplicas": 2}
        });
        assert_eq!(
            row("Deployment", &deploy),
            [
                json!("nginx-deployment"),
                json!("2/2"),
                json!(2),
                json!(2),
                json!("13s"),
                json!("nginx"),
                json!("nginx:1.16.1"),
                json!("app=nginx-d")
            ]
        );
        let mut odd = deploy.clone();
        odd["spec"]["selector"] = json!({});
        assert_eq!(row("Deployment", &odd)[7], "");
        odd["spec"]["selector"] = json!({"matchExpressions": [{"key": "a", "operator": "Nope"}]});
        assert_eq!(row("Deployment", &odd)[7], "<invalid>");
    }

    #[test]
    fn replica_set_wide_row() {
        assert_eq!(
            names("ReplicaSet"),
            [
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Age",
                "Containers*",
                "Images*",
                "Selector*"
            ]
        );
        assert_eq!(super::super::columns("ReplicaSet")[1]["type"], "integer");
        let rs = json!({
            "metadata": {"name": "nginx-deployment-jpnfpgxp6j",
                         "creationTimestamp": "2026-11-25T14:29:55Z"},
            "spec": {"replicas": 2,
                     "selector": {"matchLabels": {"pod-template-hash": "jpnfpgxp6j",
                                                  "app": "nginx-d"}},
                     "template": template(json!([{"name": "nginx", "image": "nginx:1.16.1"}]))},
            "status": {"replicas": 2, "readyReplicas": 2}
        });
        assert_eq!(
            row("ReplicaSet", &rs),
            [
                json!("nginx-deployment-jpnfpgxp6j"),
                json!(2),
                json!(2),
                json!(2),
                json!("5s"),
                json!("nginx"),
                json!("nginx:1.16.1"),
                json!("app=nginx-d,pod-template-hash=jpnfpgxp6j")
            ]
        );
        let mut scaled_down = rs.clone();
        scaled_down["spec"]["replicas"] = json!(0);
        scaled_down["status"] = json!({"replicas": 0});
        assert_eq!(
            row("ReplicaSet", &scaled_down)[1..4],
            [json!(0), json!(0), json!(0)]
        );
    }

    #[test]
    fn controller_revision_rows() {
        assert_eq!(
            names("ControllerRevision"),
            ["Name", "Controller", "Revision", "Age"]
        );
        let cr = json!({
            "metadata": {"name": "web-7c9d8f6b5", "creationTimestamp": "2026-11-25T14:00:00Z",
                         "ownerReferences": [
                             {"apiVersion": "v1", "kind": "Pod", "name": "other"},
                             {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                              "controller": true, "blockOwnerDeletion": true}]},
            "revision": 2,
            "data": {}
        });
        assert_eq!(
            row("ControllerRevision", &cr),
            [
                json!("web-7c9d8f6b5"),
                json!("statefulset.apps/web"),
                json!(2),
                json!("30m")
            ]
        );
        let mut core_owner = cr.clone();
        core_owner["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "v1", "kind": "Node", "name": "n1", "controller": true}]);
        assert_eq!(row("ControllerRevision", &core_owner)[1], "node/n1");
        let orphan = json!({"metadata": {"name": "r"}, "revision": 1});
        assert_eq!(
            row("ControllerRevision", &orphan)[1..3],
            [json!("<none>"), json!(1)]
        );
    }

    #[test]
    fn daemon_set_row() {
        assert_eq!(
            names("DaemonSet"),
            [
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Up-to-date",
                "Available",
                "Node Selector",
                "Age",
                "Containers*",
                "Images*",
                "Selector*"
            ]
        );
        let mut ds = json!({
            "metadata": {"name": "agent", "creationTimestamp": "2026-11-25T14:29:54Z"},
            "spec": {"selector": {"matchLabels": {"app": "nginx"}},
                     "template": template(json!([{"name": "a", "image": "busybox:1"}]))},
            "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2,
                       "numberReady": 1, "updatedNumberScheduled": 2, "numberAvailable": 1}
        });
        assert_eq!(
            row("DaemonSet", &ds),
            [
                json!("agent"),
                json!(2),
                json!(2),
                json!(1),
                json!(2),
                json!(1),
                json!("<none>"),
                json!("6s"),
                json!("a"),
                json!("busybox:1"),
                json!("app=nginx")
            ]
        );
        ds["spec"]["template"]["spec"]["nodeSelector"] = json!({"zone": "b", "disk": "ssd"});
        assert_eq!(row("DaemonSet", &ds)[6], json!("disk=ssd,zone=b"));
    }
}
