//! The protobuf messages ordo decodes, field by field: number → JSON name and kind.
//!
//! Field numbers are those of upstream's `generated.proto` files (kubernetes/api and
//! kubernetes/apimachinery, as of API 1.33); JSON names are the API's. Fields newer than 1.33 are
//! left out on purpose, so a body carrying them is refused rather than silently trimmed.
//! `.keep()` marks fields whose zero value is meaningful (Go pointers and required fields): their
//! `0`, `false` or `""` is kept, while other zero scalars are dropped, as Go's `omitempty` would.

mod auth;
mod autoscaling;
mod batch;
mod certificates;
mod cronjob;
mod pod;
mod policy;
mod quota;
mod rbac;
mod volume;

pub(crate) use auth::*;
pub(crate) use autoscaling::*;
pub(crate) use batch::*;
pub(crate) use certificates::CERTIFICATE_SIGNING_REQUEST;
pub(crate) use cronjob::*;
pub(crate) use pod::*;
pub(crate) use policy::*;
pub(crate) use quota::*;
pub(crate) use rbac::*;
pub(crate) use volume::*;

use super::schema::{f, Kind::*, Msg};

/// `Deployment` (`api.apps.v1`).
pub(crate) static DEPLOYMENT: Msg = Msg {
    name: "Deployment",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&DEPLOYMENT_SPEC)),
        f(3, "status", Message(&DEPLOYMENT_STATUS)),
    ],
};
/// `ObjectMeta` (`apimachinery.pkg.apis.meta.v1`).
pub(crate) static OBJECT_META: Msg = Msg {
    name: "ObjectMeta",
    fields: &[
        f(1, "name", Str),
        f(2, "generateName", Str),
        f(3, "namespace", Str),
        f(4, "selfLink", Str),
        f(5, "uid", Str),
        f(6, "resourceVersion", Str),
        f(7, "generation", Int),
        f(8, "creationTimestamp", Time),
        f(9, "deletionTimestamp", Time),
        f(10, "deletionGracePeriodSeconds", Int).keep(),
        f(11, "labels", MapStr),
        f(12, "annotations", MapStr),
        f(13, "ownerReferences", Message(&OWNER_REFERENCE)).rep(),
        f(14, "finalizers", Str).rep(),
        f(17, "managedFields", Message(&MANAGED_FIELDS_ENTRY)).rep(),
    ],
};
/// `OwnerReference` (`apimachinery.pkg.apis.meta.v1`).
pub(crate) static OWNER_REFERENCE: Msg = Msg {
    name: "OwnerReference",
    fields: &[
        f(1, "kind", Str),
        f(3, "name", Str),
        f(4, "uid", Str),
        f(5, "apiVersion", Str),
        f(6, "controller", Bool).keep(),
        f(7, "blockOwnerDeletion", Bool).keep(),
    ],
};
/// `ManagedFieldsEntry` (`apimachinery.pkg.apis.meta.v1`).
pub(crate) static MANAGED_FIELDS_ENTRY: Msg = Msg {
    name: "ManagedFieldsEntry",
    fields: &[
        f(1, "manager", Str),
        f(2, "operation", Str),
        f(3, "apiVersion", Str),
        f(4, "time", Time),
        f(6, "fieldsType", Str),
        f(7, "fieldsV1", Raw),
        f(8, "subresource", Str),
    ],
};
/// `DeploymentSpec` (`api.apps.v1`).
pub(crate) static DEPLOYMENT_SPEC: Msg = Msg {
    name: "DeploymentSpec",
    fields: &[
        f(1, "replicas", Int).keep(),
        f(2, "selector", Message(&LABEL_SELECTOR)),
        f(3, "template", Message(&POD_TEMPLATE_SPEC)),
        f(4, "strategy", Message(&DEPLOYMENT_STRATEGY)),
        f(5, "minReadySeconds", Int),
        f(6, "revisionHistoryLimit", Int).keep(),
        f(7, "paused", Bool),
        f(9, "progressDeadlineSeconds", Int).keep(),
    ],
};
/// `LabelSelector` (`apimachinery.pkg.apis.meta.v1`).
pub(crate) static LABEL_SELECTOR: Msg = Msg {
    name: "LabelSelector",
    fields: &[
        f(1, "matchLabels", MapStr),
        f(2, "matchExpressions", Message(&LABEL_SELECTOR_REQUIREMENT)).rep(),
    ],
};
/// `LabelSelectorRequirement` (`apimachinery.pkg.apis.meta.v1`).
pub(crate) static LABEL_SELECTOR_REQUIREMENT: Msg = Msg {
    name: "LabelSelectorRequirement",
    fields: &[
        f(1, "key", Str),
        f(2, "operator", Str),
        f(3, "values", Str).rep(),
    ],
};
/// `PodTemplateSpec` (`api.core.v1`).
pub(crate) static POD_TEMPLATE_SPEC: Msg = Msg {
    name: "PodTemplateSpec",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&POD_SPEC)),
    ],
};
/// `DeploymentStrategy` (`api.apps.v1`).
pub(crate) static DEPLOYMENT_STRATEGY: Msg = Msg {
    name: "DeploymentStrategy",
    fields: &[
        f(1, "type", Str),
        f(2, "rollingUpdate", Message(&ROLLING_UPDATE_DEPLOYMENT)),
    ],
};
/// `RollingUpdateDeployment` (`api.apps.v1`).
pub(crate) static ROLLING_UPDATE_DEPLOYMENT: Msg = Msg {
    name: "RollingUpdateDeployment",
    fields: &[f(1, "maxUnavailable", IntOrStr), f(2, "maxSurge", IntOrStr)],
};
/// `DeploymentStatus` (`api.apps.v1`).
pub(crate) static DEPLOYMENT_STATUS: Msg = Msg {
    name: "DeploymentStatus",
    fields: &[
        f(1, "observedGeneration", Int),
        f(2, "replicas", Int),
        f(3, "updatedReplicas", Int),
        f(4, "availableReplicas", Int),
        f(5, "unavailableReplicas", Int),
        f(6, "conditions", Message(&DEPLOYMENT_CONDITION)).rep(),
        f(7, "readyReplicas", Int),
        f(8, "collisionCount", Int).keep(),
        f(9, "terminatingReplicas", Int).keep(),
    ],
};
/// `DeploymentCondition` (`api.apps.v1`).
pub(crate) static DEPLOYMENT_CONDITION: Msg = Msg {
    name: "DeploymentCondition",
    fields: &[
        f(1, "type", Str),
        f(2, "status", Str),
        f(4, "reason", Str),
        f(5, "message", Str),
        f(6, "lastUpdateTime", Time),
        f(7, "lastTransitionTime", Time),
    ],
};
/// `ReplicaSet` (`api.apps.v1`).
pub(crate) static REPLICA_SET: Msg = Msg {
    name: "ReplicaSet",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&REPLICA_SET_SPEC)),
        f(3, "status", Message(&REPLICA_SET_STATUS)),
    ],
};
/// `ReplicaSetSpec` (`api.apps.v1`).
pub(crate) static REPLICA_SET_SPEC: Msg = Msg {
    name: "ReplicaSetSpec",
    fields: &[
        f(1, "replicas", Int).keep(),
        f(2, "selector", Message(&LABEL_SELECTOR)),
        f(3, "template", Message(&POD_TEMPLATE_SPEC)),
        f(4, "minReadySeconds", Int),
    ],
};
/// `ReplicaSetStatus` (`api.apps.v1`).
pub(crate) static REPLICA_SET_STATUS: Msg = Msg {
    name: "ReplicaSetStatus",
    fields: &[
        f(1, "replicas", Int).keep(),
        f(2, "fullyLabeledReplicas", Int),
        f(3, "observedGeneration", Int),
        f(4, "readyReplicas", Int),
        f(5, "availableReplicas", Int),
        f(6, "conditions", Message(&REPLICA_SET_CONDITION)).rep(),
        f(7, "terminatingReplicas", Int).keep(),
    ],
};
/// `ReplicaSetCondition` (`api.apps.v1`).
pub(crate) static REPLICA_SET_CONDITION: Msg = Msg {
    name: "ReplicaSetCondition",
    fields: &[
        f(1, "type", Str),
        f(2, "status", Str),
        f(3, "lastTransitionTime", Time),
        f(4, "reason", Str),
        f(5, "message", Str),
    ],
};
/// `StatefulSet` (`api.apps.v1`).
pub(crate) static STATEFUL_SET: Msg = Msg {
    name: "StatefulSet",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&STATEFUL_SET_SPEC)),
        f(3, "status", Message(&STATEFUL_SET_STATUS)),
    ],
};
/// `StatefulSetSpec` (`api.apps.v1`).
pub(crate) static STATEFUL_SET_SPEC: Msg = Msg {
    name: "StatefulSetSpec",
    fields: &[
        f(1, "replicas", Int).keep(),
        f(2, "selector", Message(&LABEL_SELECTOR)),
        f(3, "template", Message(&POD_TEMPLATE_SPEC)),
        f(4, "volumeClaimTemplates", Message(&PERSISTENT_VOLUME_CLAIM)).rep(),
        f(5, "serviceName", Str),
        f(6, "podManagementPolicy", Str),
        f(7, "updateStrategy", Message(&STATEFUL_SET_UPDATE_STRATEGY)),
        f(8, "revisionHistoryLimit", Int).keep(),
        f(9, "minReadySeconds", Int),
        f(
            10,
            "persistentVolumeClaimRetentionPolicy",
            Message(&STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY),
        ),
        f(11, "ordinals", Message(&STATEFUL_SET_ORDINALS)),
    ],
};
/// `PersistentVolumeClaim` (`api.core.v1`).
pub(crate) static PERSISTENT_VOLUME_CLAIM: Msg = Msg {
    name: "PersistentVolumeClaim",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&PERSISTENT_VOLUME_CLAIM_SPEC)),
        f(3, "status", Message(&PERSISTENT_VOLUME_CLAIM_STATUS)),
    ],
};
/// `PersistentVolumeClaimStatus` (`api.core.v1`).
pub(crate) static PERSISTENT_VOLUME_CLAIM_STATUS: Msg = Msg {
    name: "PersistentVolumeClaimStatus",
    fields: &[
        f(1, "phase", Str),
        f(2, "accessModes", Str).rep(),
        f(3, "capacity", MapQuantity),
        f(4, "conditions", Message(&PERSISTENT_VOLUME_CLAIM_CONDITION)).rep(),
        f(5, "allocatedResources", MapQuantity),
        f(7, "allocatedResourceStatuses", MapStr),
        f(8, "currentVolumeAttributesClassName", Str),
        f(9, "modifyVolumeStatus", Message(&MODIFY_VOLUME_STATUS)),
    ],
};
/// `PersistentVolumeClaimCondition` (`api.core.v1`).
pub(crate) static PERSISTENT_VOLUME_CLAIM_CONDITION: Msg = Msg {
    name: "PersistentVolumeClaimCondition",
    fields: &[
        f(1, "type", Str),
        f(2, "status", Str),
        f(3, "lastProbeTime", Time),
        f(4, "lastTransitionTime", Time),
        f(5, "reason", Str),
        f(6, "message", Str),
    ],
};
/// `ModifyVolumeStatus` (`api.core.v1`).
pub(crate) static MODIFY_VOLUME_STATUS: Msg = Msg {
    name: "ModifyVolumeStatus",
    fields: &[
        f(1, "targetVolumeAttributesClassName", Str),
        f(2, "status", Str),
    ],
};
/// `StatefulSetUpdateStrategy` (`api.apps.v1`).
pub(crate) static STATEFUL_SET_UPDATE_STRATEGY: Msg = Msg {
    name: "StatefulSetUpdateStrategy",
    fields: &[
        f(1, "type", Str),
        f(
            2,
            "rollingUpdate",
            Message(&ROLLING_UPDATE_STATEFUL_SET_STRATEGY),
        ),
    ],
};
/// `RollingUpdateStatefulSetStrategy` (`api.apps.v1`).
pub(crate) static ROLLING_UPDATE_STATEFUL_SET_STRATEGY: Msg = Msg {
    name: "RollingUpdateStatefulSetStrategy",
    fields: &[
        f(1, "partition", Int).keep(),
        f(2, "maxUnavailable", IntOrStr),
    ],
};
/// `StatefulSetPersistentVolumeClaimRetentionPolicy` (`api.apps.v1`).
pub(crate) static STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY: Msg = Msg {
    name: "StatefulSetPersistentVolumeClaimRetentionPolicy",
    fields: &[f(1, "whenDeleted", Str), f(2, "whenScaled", Str)],
};
/// `StatefulSetOrdinals` (`api.apps.v1`).
pub(crate) static STATEFUL_SET_ORDINALS: Msg = Msg {
    name: "StatefulSetOrdinals",
    fields: &[f(1, "start", Int)],
};
/// `StatefulSetStatus` (`api.apps.v1`).
pub(crate) static STATEFUL_SET_STATUS: Msg = Msg {
    name: "StatefulSetStatus",
    fields: &[
        f(1, "observedGeneration", Int),
        f(2, "replicas", Int).keep(),
        f(3, "readyReplicas", Int),
        f(4, "currentReplicas", Int),
        f(5, "updatedReplicas", Int),
        f(6, "currentRevision", Str),
        f(7, "updateRevision", Str),
        f(9, "collisionCount", Int).keep(),
        f(10, "conditions", Message(&STATEFUL_SET_CONDITION)).rep(),
        f(11, "availableReplicas", Int),
    ],
};
/// `StatefulSetCondition` (`api.apps.v1`).
pub(crate) static STATEFUL_SET_CONDITION: Msg = Msg {
    name: "StatefulSetCondition",
    // The same fields as REPLICA_SET_CONDITION.
    fields: REPLICA_SET_CONDITION.fields,
};
/// `Pod` (`api.core.v1`).
pub(crate) static POD: Msg = Msg {
    name: "Pod",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&POD_SPEC)),
        f(3, "status", Message(&POD_STATUS)),
    ],
};
/// `Service` (`api.core.v1`).
pub(crate) static SERVICE: Msg = Msg {
    name: "Service",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&SERVICE_SPEC)),
        f(3, "status", Message(&SERVICE_STATUS)),
    ],
};
/// `ServiceSpec` (`api.core.v1`).
pub(crate) static SERVICE_SPEC: Msg = Msg {
    name: "ServiceSpec",
    fields: &[
        f(1, "ports", Message(&SERVICE_PORT)).rep(),
        f(2, "selector", MapStr),
        f(3, "clusterIP", Str),
        f(4, "type", Str),
        f(5, "externalIPs", Str).rep(),
        f(7, "sessionAffinity", Str),
        f(8, "loadBalancerIP", Str),
        f(9, "loadBalancerSourceRanges", Str).rep(),
        f(10, "externalName", Str),
        f(11, "externalTrafficPolicy", Str),
        f(12, "healthCheckNodePort", Int),
        f(13, "publishNotReadyAddresses", Bool),
        f(
            14,
            "sessionAffinityConfig",
            Message(&SESSION_AFFINITY_CONFIG),
        ),
        f(17, "ipFamilyPolicy", Str),
        f(18, "clusterIPs", Str).rep(),
        f(19, "ipFamilies", Str).rep(),
        f(20, "allocateLoadBalancerNodePorts", Bool).keep(),
        f(21, "loadBalancerClass", Str),
        f(22, "internalTrafficPolicy", Str),
        f(23, "trafficDistribution", Str),
    ],
};
/// `ServicePort` (`api.core.v1`).
pub(crate) static SERVICE_PORT: Msg = Msg {
    name: "ServicePort",
    fields: &[
        f(1, "name", Str),
        f(2, "protocol", Str),
        f(3, "port", Int).keep(),
        f(4, "targetPort", IntOrStr),
        f(5, "nodePort", Int),
        f(6, "appProtocol", Str),
    ],
};
/// `SessionAffinityConfig` (`api.core.v1`).
pub(crate) static SESSION_AFFINITY_CONFIG: Msg = Msg {
    name: "SessionAffinityConfig",
    fields: &[f(1, "clientIP", Message(&CLIENT_IP_CONFIG))],
};
/// `ClientIpConfig` (`api.core.v1`).
pub(crate) static CLIENT_IP_CONFIG: Msg = Msg {
    name: "ClientIpConfig",
    fields: &[f(1, "timeoutSeconds", Int).keep()],
};
/// `ServiceStatus` (`api.core.v1`).
pub(crate) static SERVICE_STATUS: Msg = Msg {
    name: "ServiceStatus",
    fields: &[
        f(1, "loadBalancer", Message(&LOAD_BALANCER_STATUS)),
        f(2, "conditions", Message(&CONDITION)).rep(),
    ],
};
/// `LoadBalancerStatus` (`api.core.v1`).
pub(crate) static LOAD_BALANCER_STATUS: Msg = Msg {
    name: "LoadBalancerStatus",
    fields: &[f(1, "ingress", Message(&LOAD_BALANCER_INGRESS)).rep()],
};
/// `LoadBalancerIngress` (`api.core.v1`).
pub(crate) static LOAD_BALANCER_INGRESS: Msg = Msg {
    name: "LoadBalancerIngress",
    fields: &[
        f(1, "ip", Str),
        f(2, "hostname", Str),
        f(3, "ipMode", Str),
        f(4, "ports", Message(&PORT_STATUS)).rep(),
    ],
};
/// `PortStatus` (`api.core.v1`).
pub(crate) static PORT_STATUS: Msg = Msg {
    name: "PortStatus",
    fields: &[
        f(1, "port", Int).keep(),
        f(2, "protocol", Str),
        f(3, "error", Str),
    ],
};
/// `Condition` (`apimachinery.pkg.apis.meta.v1`).
pub(crate) static CONDITION: Msg = Msg {
    name: "Condition",
    fields: &[
        f(1, "type", Str),
        f(2, "status", Str),
        f(3, "observedGeneration", Int),
        f(4, "lastTransitionTime", Time),
        f(5, "reason", Str),
        f(6, "message", Str),
    ],
};
/// `Namespace` (`api.core.v1`).
pub(crate) static NAMESPACE: Msg = Msg {
    name: "Namespace",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&NAMESPACE_SPEC)),
        f(3, "status", Message(&NAMESPACE_STATUS)),
    ],
};
/// `NamespaceSpec` (`api.core.v1`).
pub(crate) static NAMESPACE_SPEC: Msg = Msg {
    name: "NamespaceSpec",
    fields: &[f(1, "finalizers", Str).rep()],
};
/// `NamespaceStatus` (`api.core.v1`).
pub(crate) static NAMESPACE_STATUS: Msg = Msg {
    name: "NamespaceStatus",
    fields: &[
        f(1, "phase", Str),
        f(2, "conditions", Message(&NAMESPACE_CONDITION)).rep(),
    ],
};
/// `NamespaceCondition` (`api.core.v1`).
pub(crate) static NAMESPACE_CONDITION: Msg = Msg {
    name: "NamespaceCondition",
    fields: &[
        f(1, "type", Str),
        f(2, "status", Str),
        f(4, "lastTransitionTime", Time),
        f(5, "reason", Str),
        f(6, "message", Str),
    ],
};
/// `ConfigMap` (`api.core.v1`).
pub(crate) static CONFIG_MAP: Msg = Msg {
    name: "ConfigMap",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "data", MapStr),
        f(3, "binaryData", MapBytes),
        f(4, "immutable", Bool).keep(),
    ],
};
/// `Secret` (`api.core.v1`).
pub(crate) static SECRET: Msg = Msg {
    name: "Secret",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "data", MapBytes),
        f(3, "type", Str),
        f(4, "stringData", MapStr),
        f(5, "immutable", Bool).keep(),
    ],
};
/// `ServiceAccount` (`api.core.v1`).
pub(crate) static SERVICE_ACCOUNT: Msg = Msg {
    name: "ServiceAccount",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "secrets", Message(&OBJECT_REFERENCE)).rep(),
        f(3, "imagePullSecrets", Message(&LOCAL_OBJECT_REFERENCE)).rep(),
        f(4, "automountServiceAccountToken", Bool).keep(),
    ],
};
/// `ObjectReference` (`api.core.v1`).
pub(crate) static OBJECT_REFERENCE: Msg = Msg {
    name: "ObjectReference",
    fields: &[
        f(1, "kind", Str),
        f(2, "namespace", Str),
        f(3, "name", Str),
        f(4, "uid", Str),
        f(5, "apiVersion", Str),
        f(6, "resourceVersion", Str),
        f(7, "fieldPath", Str),
    ],
};
