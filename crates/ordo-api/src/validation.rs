//! Upstream validation (`ValidateXxx` / `ValidateXxxUpdate`) of decoded, defaulted JSON
//! objects, producing [`Cause`]s with upstream's field paths and message texts (kubectl
//! prints them verbatim).

mod apps;
mod autoscaling;
mod batch;
mod certificates;
mod container;
mod core;
mod cronjob;
mod daemonset;
mod ephemeral;
mod meta;
mod names;
mod network;
mod network_policy;
mod pod;
mod policy;
pub(crate) mod quantity;
mod quota;
mod rbac;
mod scheduling;
mod storage;
mod util;
pub use certificates::{request_pem, KEY_USAGES};
pub use scheduling::{HIGHEST_USER_DEFINABLE_PRIORITY, SYSTEM_PRIORITY_CLASSES};
pub use util::go_quote;

#[cfg(test)]
mod tests_apps;
#[cfg(test)]
mod tests_core;
#[cfg(test)]
mod tests_pod;

use crate::status::Cause;
use names::NameRule;
use serde_json::Value;

/// Validation on create (`ValidateXxx`), as upstream: field paths like
/// `spec.template.spec.containers[0].image`, messages exactly upstream's. Unknown kinds get
/// only the object-meta rules.
pub fn validate_create(kind: &str, obj: &Value) -> Vec<Cause> {
    match kind {
        "Pod" => pod::validate_pod_create(obj),
        "Service" => network::validate_service(obj),
        "Endpoints" => network::validate_endpoints(obj),
        "EndpointSlice" => network::validate_endpoint_slice(obj),
        "NetworkPolicy" => network_policy::validate_network_policy(obj),
        "PodDisruptionBudget" => policy::validate_pdb(obj),
        "Job" => batch::validate_job(obj),
        "DaemonSet" => daemonset::validate_daemonset(obj),
        "HorizontalPodAutoscaler" => autoscaling::validate_hpa(obj),
        "CronJob" => cronjob::validate_cronjob(obj),
        "PriorityClass" => scheduling::validate_priority_class(obj),
        "CertificateSigningRequest" => certificates::validate_csr(obj),
        "Namespace" => core::validate_namespace(obj),
        "Node" => core::validate_node(obj),
        "PersistentVolume" => storage::validate_pv(obj),
        "PersistentVolumeClaim" => storage::validate_pvc(obj),
        "StorageClass" => storage::validate_storage_class(obj),
        "ConfigMap" => core::validate_config_map(obj),
        "Secret" => core::validate_secret(obj),
        "ServiceAccount" => meta::validate_object_meta(obj, Some(true), NameRule::Subdomain),
        "Event" => core::validate_event(obj),
        "Lease" => core::validate_lease(obj),
        "StatefulSet" => apps::validate_statefulset(obj),
        "Deployment" => apps::validate_deployment(obj),
        "ReplicaSet" => apps::validate_replicaset(obj),
        "ReplicationController" => apps::validate_replication_controller(obj),
        "ResourceQuota" => quota::validate_resource_quota(obj),
        "LimitRange" => quota::validate_limit_range(obj),
        "ControllerRevision" => apps::validate_controller_revision(obj),
        "Role" => rbac::validate_role(obj, true),
        "ClusterRole" => rbac::validate_role(obj, false),
        "RoleBinding" => rbac::validate_binding(obj, true),
        "ClusterRoleBinding" => rbac::validate_binding(obj, false),
        _ => meta::validate_object_meta(obj, None, NameRule::Subdomain),
    }
}

/// Validation on update (`ValidateXxxUpdate`): the create rules plus immutable fields
/// (StatefulSet spec, workload selectors, Pod spec, Service cluster IPs, PVC spec, ...)
/// and unchanged `metadata.name`/`namespace`/`uid`/`creationTimestamp`.
pub fn validate_update(kind: &str, new: &Value, old: &Value) -> Vec<Cause> {
    let meta_update = || meta::validate_object_meta_update(new, old);
    match kind {
        "Pod" => pod::validate_pod_update(new, old),
        "Service" => network::validate_service_update(new, old),
        "Endpoints" => concat(meta_update(), network::validate_endpoints(new)),
        "EndpointSlice" => {
            let mut errs = concat(meta_update(), network::validate_endpoint_slice(new));
            util::immutable_str(
                &mut errs,
                "addressType",
                util::se(new, "addressType"),
                util::se(old, "addressType"),
            );
            errs
        }
        "NetworkPolicy" => network_policy::validate_network_policy_update(new, old),
        "PodDisruptionBudget" => policy::validate_pdb_update(new, old),
        "Job" => batch::validate_job_update(new, old),
        "DaemonSet" => daemonset::validate_daemonset_update(new, old),
        "HorizontalPodAutoscaler" => autoscaling::validate_hpa_update(new, old),
        "CronJob" => cronjob::validate_cronjob_update(new, old),
        "PriorityClass" => scheduling::validate_priority_class_update(new, old),
        "CertificateSigningRequest" => certificates::validate_csr_update(new, old),
        "Namespace" => meta_update(),
        "Node" => core::validate_node_update(new, old),
        "PersistentVolume" => storage::validate_pv_update(new, old),
        "PersistentVolumeClaim" => storage::validate_pvc_update(new, old),
        "StorageClass" => concat(
            storage::validate_storage_class(new),
            storage::validate_storage_class_update(new, old),
        ),
        "ConfigMap" => core::validate_config_map_update(new, old),
        "Secret" => core::validate_secret_update(new, old),
        "ServiceAccount" => concat(meta_update(), validate_create(kind, new)),
        "Event" => concat(meta_update(), core::validate_event(new)),
        "Lease" => concat(meta_update(), core::validate_lease(new)),
        "StatefulSet" => apps::validate_statefulset_update(new, old),
        "Deployment" => apps::validate_deployment_update(new, old),
        "ReplicaSet" => apps::validate_replicaset_update(new, old),
        "ReplicationController" => {
            concat(meta_update(), apps::validate_replication_controller(new))
        }
        "ResourceQuota" => concat(meta_update(), quota::validate_resource_quota(new)),
        "LimitRange" => concat(meta_update(), quota::validate_limit_range(new)),
        "ControllerRevision" => apps::validate_controller_revision_update(new, old),
        "Role" | "ClusterRole" => concat(meta_update(), validate_create(kind, new)),
        "RoleBinding" => rbac::validate_binding_update(new, old, true),
        "ClusterRoleBinding" => rbac::validate_binding_update(new, old, false),
        _ => meta_update(),
    }
}

/// Validation of a write to `pods/NAME/ephemeralcontainers`
/// (`ValidatePodEphemeralContainersUpdate`): `new` is `old` with its
/// `spec.ephemeralContainers` replaced; containers may be added, never changed or removed.
pub fn validate_ephemeral_containers_update(new: &Value, old: &Value) -> Vec<Cause> {
    ephemeral::validate_ephemeral_update(new, old)
}

fn concat(mut a: Vec<Cause>, b: Vec<Cause>) -> Vec<Cause> {
    a.extend(b);
    a
}

/// `ValidateObjectMeta` of a custom object on create (names are DNS subdomains).
pub fn validate_custom_meta(obj: &Value, namespaced: bool) -> Vec<Cause> {
    meta::validate_object_meta(obj, Some(namespaced), NameRule::Subdomain)
}

/// `ValidateObjectMetaUpdate` of a custom object.
pub fn validate_custom_meta_update(new: &Value, old: &Value) -> Vec<Cause> {
    meta::validate_object_meta_update(new, old)
}

/// `IsDNS1035Label`'s messages for `s` (empty when valid).
pub(crate) fn dns1035_label_errors(s: &str) -> Vec<String> {
    names::dns1035_label(s)
}

/// `IsDNS1123Subdomain`'s messages for `s` (empty when valid).
pub(crate) fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    names::dns1123_subdomain(s)
}
