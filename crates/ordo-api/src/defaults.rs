//! Upstream API defaulting (`SetDefaults_*` of `pkg/apis/*/v1`, plus the few values the
//! upstream registry/admission fills that clients see, e.g. a Namespace's `kubernetes`
//! finalizer) applied to decoded JSON objects.

mod autoscaling;
mod batch;
mod pod;

pub use autoscaling::DEFAULT_CPU_UTILIZATION;
pub use batch::{
    generate_job_selector, CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL,
};

#[cfg(test)]
mod tests;

use serde_json::{json, Value};

/// Apply upstream API defaulting (SetDefaults_*) for `kind` in place. Idempotent.
pub fn apply_defaults(kind: &str, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match kind {
        "Pod" => pod::pod(obj),
        "Service" => service(obj),
        "Endpoints" => each(obj, "subsets", |s| {
            each(s, "ports", |p| default_str(p, "protocol", "TCP"))
        }),
        "EndpointSlice" => each(obj, "ports", |p| {
            default_val(p, "name", json!(""));
            default_val(p, "protocol", json!("TCP"));
        }),
        "Namespace" => namespace(obj),
        "Node" => node(obj),
        "PersistentVolume" => {
            let spec = ensure_obj(obj, "spec");
            default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
            default_val(spec, "volumeMode", json!("Filesystem"));
            default_str(ensure_obj(obj, "status"), "phase", "Pending");
        }
        "PersistentVolumeClaim" => {
            default_val(ensure_obj(obj, "spec"), "volumeMode", json!("Filesystem"))
        }
        "StorageClass" => {
            default_val(obj, "reclaimPolicy", json!("Delete"));
            default_val(obj, "volumeBindingMode", json!("Immediate"));
        }
        "Secret" => default_str(obj, "type", "Opaque"),
        "PriorityClass" => default_str(obj, "preemptionPolicy", "PreemptLowerPriority"),
        "RoleBinding" | "ClusterRoleBinding" => each(obj, "subjects", |s| {
            // SetDefaults_Subject: users and groups are of the RBAC group.
            if matches!(
                s.get("kind").and_then(Value::as_str),
                Some("User" | "Group")
            ) {
                default_str(s, "apiGroup", "rbac.authorization.k8s.io");
            }
        }),
        "StatefulSet" => statefulset(obj),
        "Job" => batch::job(obj),
        "HorizontalPodAutoscaler" => autoscaling::hpa(obj),
        "CronJob" => batch::cronjob(obj),
        "Deployment" => deployment(obj),
        "DaemonSet" => daemonset(obj),
        "ReplicationController" => replication_controller(obj),
        "LimitRange" => each(
            ensure_obj(obj, "spec"),
            "limits",
            crate::limit_range::default_item,
        ),
        "ReplicaSet" => {
            let spec = ensure_obj(obj, "spec");
            default_val(spec, "replicas", json!(1));
            template(spec);
        }
        _ => {}
    }
}

/// `v[key]` as an object, created (replacing null) when absent.
pub(crate) fn ensure_obj<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    if v.get(key).is_none_or(|x| !x.is_object()) {
        v[key] = json!({});
    }
    &mut v[key]
}

/// Sets `v[key]` when it is absent or null (a nil pointer upstream).
pub(crate) fn default_val(v: &mut Value, key: &str, value: Value) {
    if v.is_object() && v.get(key).is_none_or(Value::is_null) {
        v[key] = value;
    }
}

/// Sets `v[key]` when it is absent, null or `""` (an empty string upstream).
pub(crate) fn default_str(v: &mut Value, key: &str, value: &str) {
    if v.is_object()
        && v.get(key)
            .is_none_or(|x| x.is_null() || x.as_str() == Some(""))
    {
        v[key] = json!(value);
    }
}

/// Runs `f` on every object element of the array `v[key]`.
pub(crate) fn each(v: &mut Value, key: &str, mut f: impl FnMut(&mut Value)) {
    if let Some(items) = v.get_mut(key).and_then(Value::as_array_mut) {
        items.iter_mut().filter(|i| i.is_object()).for_each(&mut f);
    }
}

/// PodSpec defaults of `spec.template.spec` (created like upstream's non-pointer structs).
fn template(spec: &mut Value) {
    let t = ensure_obj(spec, "template");
    pod::pod_spec(ensure_obj(t, "spec"));
}

/// `SetDefaults_ReplicationController`: selector and labels from the template's labels,
/// one replica, and the pod template's defaults.
fn replication_controller(obj: &mut Value) {
    let labels = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        .cloned();
    if let Some(labels) = labels {
        if obj
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .is_none_or(|m| m.is_empty())
        {
            obj["spec"]["selector"] = labels.clone();
        }
        if obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .is_none_or(|m| m.is_empty())
        {
            ensure_obj(obj, "metadata")["labels"] = labels;
        }
    }
    let spec = ensure_obj(obj, "spec");
    default_val(spec, "replicas", json!(1));
    if spec.get("template").is_some_and(|t| t.is_object()) {
        template(spec);
    }
}

/// `SetDefaults_StatefulSet` (R1–R6) plus the claim-template defaults upstream stores.
fn statefulset(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    default_str(spec, "podManagementPolicy", "OrderedReady");
    let us = ensure_obj(spec, "updateStrategy");
    if us
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        us["type"] = json!("RollingUpdate");
        default_val(us, "rollingUpdate", json!({}));
    }
    if us["type"] == "RollingUpdate" {
        if let Some(ru) = us.get_mut("rollingUpdate").filter(|r| r.is_object()) {
            default_val(ru, "partition", json!(0));
            // ordo enables MaxUnavailableStatefulSet: maxUnavailable defaults to 1 (R3).
            default_val(ru, "maxUnavailable", json!(1));
        }
    }
    let policy = ensure_obj(spec, "persistentVolumeClaimRetentionPolicy");
    default_str(policy, "whenDeleted", "Retain");
    default_str(policy, "whenScaled", "Retain");
    default_val(spec, "replicas", json!(1));
    default_val(spec, "revisionHistoryLimit", json!(10));
    template(spec);
    each(spec, "volumeClaimTemplates", |t| {
        default_str(t, "apiVersion", "v1");
        default_str(t, "kind", "PersistentVolumeClaim");
        default_val(ensure_obj(t, "spec"), "volumeMode", json!("Filesystem"));
        default_str(ensure_obj(t, "status"), "phase", "Pending");
    });
}

/// `SetDefaults_DaemonSet`: RollingUpdate with maxUnavailable 1 and maxSurge 0, a history of 10.
fn daemonset(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    let us = ensure_obj(spec, "updateStrategy");
    default_str(us, "type", "RollingUpdate");
    if us["type"] == "RollingUpdate" {
        let ru = ensure_obj(us, "rollingUpdate");
        default_val(ru, "maxUnavailable", json!(1));
        default_val(ru, "maxSurge", json!(0));
    }
    default_val(spec, "revisionHistoryLimit", json!(10));
    template(spec);
}

/// `SetDefaults_Deployment`.
fn deployment(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    default_val(spec, "replicas", json!(1));
    let strategy = ensure_obj(spec, "strategy");
    default_str(strategy, "type", "RollingUpdate");
    if strategy["type"] == "RollingUpdate" {
        let ru = ensure_obj(strategy, "rollingUpdate");
        default_val(ru, "maxUnavailable", json!("25%"));
        default_val(ru, "maxSurge", json!("25%"));
    }
    default_val(spec, "revisionHistoryLimit", json!(10));
    default_val(spec, "progressDeadlineSeconds", json!(600));
    template(spec);
}

/// `SetDefaults_Service`, plus `clusterIPs`/`ipFamilyPolicy`/`ipFamilies` as the upstream
/// registry initialises them on a single-stack IPv4 cluster.
fn service(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    default_str(spec, "sessionAffinity", "None");
    match spec["sessionAffinity"].as_str() {
        Some("None") => {
            spec.as_object_mut()
                .map(|o| o.remove("sessionAffinityConfig"));
        }
        Some("ClientIP")
            if spec
                .pointer("/sessionAffinityConfig/clientIP/timeoutSeconds")
                .is_none_or(Value::is_null) =>
        {
            spec["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 10800}});
        }
        _ => {}
    }
    default_str(spec, "type", "ClusterIP");
    each(spec, "ports", |p| {
        default_str(p, "protocol", "TCP");
        let unset = p
            .get("targetPort")
            .is_none_or(|t| t.is_null() || t.as_i64() == Some(0) || t.as_str() == Some(""));
        if unset {
            if let Some(port) = p.get("port").cloned() {
                p["targetPort"] = port;
            }
        }
    });
    let ty = spec["type"].as_str().unwrap_or("").to_string();
    let has_external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if ty == "LoadBalancer" || ty == "NodePort" || (ty == "ClusterIP" && has_external_ips) {
        default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(ty.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        default_val(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        default_val(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if ty != "ExternalName" {
        let cip = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !cip.is_empty()
            && spec
                .get("clusterIPs")
                .and_then(Value::as_array)
                .is_none_or(|a| a.is_empty())
        {
            spec["clusterIPs"] = json!([cip]);
        }
        let selectorless = spec
            .get("selector")
            .and_then(Value::as_object)
            .is_none_or(|s| s.is_empty());
        let policy = if cip == "None" && selectorless {
            "RequireDualStack"
        } else {
            "SingleStack"
        };
        default_val(spec, "ipFamilyPolicy", json!(policy));
        if spec
            .get("ipFamilies")
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty())
        {
            spec["ipFamilies"] = json!(["IPv4"]);
        }
    }
    if ty == "LoadBalancer" {
        if let Some(ings) = obj
            .pointer_mut("/status/loadBalancer/ingress")
            .and_then(Value::as_array_mut)
        {
            for ing in ings.iter_mut().filter(|i| {
                i.get("ip")
                    .and_then(Value::as_str)
                    .is_some_and(|ip| !ip.is_empty())
            }) {
                default_val(ing, "ipMode", json!("VIP"));
            }
        }
    }
}

/// `SetDefaults_Namespace`/`NamespaceStatus` and the registry's `kubernetes` finalizer.
fn namespace(obj: &mut Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !name.is_empty() {
        let labels = ensure_obj(ensure_obj(obj, "metadata"), "labels");
        labels["kubernetes.io/metadata.name"] = json!(name);
    }
    let deleting = obj
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null());
    if !deleting {
        default_val(ensure_obj(obj, "spec"), "finalizers", json!(["kubernetes"]));
        default_str(ensure_obj(obj, "status"), "phase", "Active");
    }
}

/// `SetDefaults_NodeStatus`: allocatable defaults to capacity.
fn node(obj: &mut Value) {
    if let Some(cap) = obj
        .pointer("/status/capacity")
        .filter(|c| c.is_object())
        .cloned()
    {
        default_val(ensure_obj(obj, "status"), "allocatable", cap);
    }
}
