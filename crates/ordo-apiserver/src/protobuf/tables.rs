//! The protobuf messages ordo decodes, field by field: number → JSON name and kind.
//!
//! Field numbers are those of upstream's `generated.proto` files (kubernetes/api and
//! kubernetes/apimachinery, as of API 1.33); JSON names are the API's. Fields newer than 1.33 are
//! left out on purpose, so a body carrying them is refused rather than silently trimmed.
//! `.keep()` marks fields whose zero value is meaningful (Go pointers and required fields): their
//! `0`, `false` or `""` is kept, while other zero scalars are dropped, as Go's `omitempty` would.

use super::schema::{f, Kind::*, Msg};

/// `Deployment` (`api.apps.v1`).
pub static DEPLOYMENT: Msg = Msg {
    name: "Deployment",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&DEPLOYMENT_SPEC)),
        f(3, "status", Message(&DEPLOYMENT_STATUS)),
    ],
};
/// `ObjectMeta` (`apimachinery.pkg.apis.meta.v1`).
pub static OBJECT_META: Msg = Msg {
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
pub static OWNER_REFERENCE: Msg = Msg {
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
pub static MANAGED_FIELDS_ENTRY: Msg = Msg {
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
pub static DEPLOYMENT_SPEC: Msg = Msg {
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
pub static LABEL_SELECTOR: Msg = Msg {
    name: "LabelSelector",
    fields: &[
        f(1, "matchLabels", MapStr),
        f(2, "matchExpressions", Message(&LABEL_SELECTOR_REQUIREMENT)).rep(),
    ],
};
/// `LabelSelectorRequirement` (`apimachinery.pkg.apis.meta.v1`).
pub static LABEL_SELECTOR_REQUIREMENT: Msg = Msg {
    name: "LabelSelectorRequirement",
    fields: &[
        f(1, "key", Str),
        f(2, "operator", Str),
        f(3, "values", Str).rep(),
    ],
};
/// `PodTemplateSpec` (`api.core.v1`).
pub static POD_TEMPLATE_SPEC: Msg = Msg {
    name: "PodTemplateSpec",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&POD_SPEC)),
    ],
};
/// `PodSpec` (`api.core.v1`).
pub static POD_SPEC: Msg = Msg {
    name: "PodSpec",
    fields: &[
        f(1, "volumes", Message(&VOLUME)).rep(),
        f(2, "containers", Message(&CONTAINER)).rep(),
        f(3, "restartPolicy", Str),
        f(4, "terminationGracePeriodSeconds", Int).keep(),
        f(5, "activeDeadlineSeconds", Int).keep(),
        f(6, "dnsPolicy", Str),
        f(7, "nodeSelector", MapStr),
        f(8, "serviceAccountName", Str),
        f(9, "serviceAccount", Str),
        f(10, "nodeName", Str),
        f(11, "hostNetwork", Bool),
        f(12, "hostPID", Bool),
        f(13, "hostIPC", Bool),
        f(14, "securityContext", Message(&POD_SECURITY_CONTEXT)),
        f(15, "imagePullSecrets", Message(&LOCAL_OBJECT_REFERENCE)).rep(),
        f(16, "hostname", Str),
        f(17, "subdomain", Str),
        f(18, "affinity", Message(&AFFINITY)),
        f(19, "schedulerName", Str),
        f(20, "initContainers", Message(&CONTAINER)).rep(),
        f(21, "automountServiceAccountToken", Bool).keep(),
        f(22, "tolerations", Message(&TOLERATION)).rep(),
        f(23, "hostAliases", Message(&HOST_ALIAS)).rep(),
        f(24, "priorityClassName", Str),
        f(25, "priority", Int).keep(),
        f(26, "dnsConfig", Message(&POD_DNS_CONFIG)),
        f(27, "shareProcessNamespace", Bool).keep(),
        f(28, "readinessGates", Message(&POD_READINESS_GATE)).rep(),
        f(29, "runtimeClassName", Str),
        f(30, "enableServiceLinks", Bool).keep(),
        f(31, "preemptionPolicy", Str),
        f(32, "overhead", MapQuantity),
        f(
            33,
            "topologySpreadConstraints",
            Message(&TOPOLOGY_SPREAD_CONSTRAINT),
        )
        .rep(),
        f(34, "ephemeralContainers", Message(&EPHEMERAL_CONTAINER)).rep(),
        f(35, "setHostnameAsFQDN", Bool).keep(),
        f(36, "os", Message(&POD_OS)),
        f(37, "hostUsers", Bool).keep(),
        f(38, "schedulingGates", Message(&POD_SCHEDULING_GATE)).rep(),
        f(39, "resourceClaims", Message(&POD_RESOURCE_CLAIM)).rep(),
        f(40, "resources", Message(&RESOURCE_REQUIREMENTS)),
    ],
};
/// `Volume` (`api.core.v1`).
pub static VOLUME: Msg = Msg {
    name: "Volume",
    fields: &[f(1, "name", Str), f(2, "", Inline(&VOLUME_SOURCE))],
};
/// `VolumeSource` (`api.core.v1`).
pub static VOLUME_SOURCE: Msg = Msg {
    name: "VolumeSource",
    fields: &[
        f(1, "hostPath", Message(&HOST_PATH_VOLUME_SOURCE)),
        f(2, "emptyDir", Message(&EMPTY_DIR_VOLUME_SOURCE)),
        f(
            3,
            "gcePersistentDisk",
            Message(&GCE_PERSISTENT_DISK_VOLUME_SOURCE),
        ),
        f(
            4,
            "awsElasticBlockStore",
            Message(&AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE),
        ),
        f(5, "gitRepo", Message(&GIT_REPO_VOLUME_SOURCE)),
        f(6, "secret", Message(&SECRET_VOLUME_SOURCE)),
        f(7, "nfs", Message(&NFS_VOLUME_SOURCE)),
        f(8, "iscsi", Message(&ISCSI_VOLUME_SOURCE)),
        f(9, "glusterfs", Message(&GLUSTERFS_VOLUME_SOURCE)),
        f(
            10,
            "persistentVolumeClaim",
            Message(&PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE),
        ),
        f(11, "rbd", Message(&RBD_VOLUME_SOURCE)),
        f(12, "flexVolume", Message(&FLEX_VOLUME_SOURCE)),
        f(13, "cinder", Message(&CINDER_VOLUME_SOURCE)),
        f(14, "cephfs", Message(&CEPH_FS_VOLUME_SOURCE)),
        f(15, "flocker", Message(&FLOCKER_VOLUME_SOURCE)),
        f(16, "downwardAPI", Message(&DOWNWARD_API_VOLUME_SOURCE)),
        f(17, "fc", Message(&FC_VOLUME_SOURCE)),
        f(18, "azureFile", Message(&AZURE_FILE_VOLUME_SOURCE)),
        f(19, "configMap", Message(&CONFIG_MAP_VOLUME_SOURCE)),
        f(
            20,
            "vsphereVolume",
            Message(&VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE),
        ),
        f(21, "quobyte", Message(&QUOBYTE_VOLUME_SOURCE)),
        f(22, "azureDisk", Message(&AZURE_DISK_VOLUME_SOURCE)),
        f(
            23,
            "photonPersistentDisk",
            Message(&PHOTON_PERSISTENT_DISK_VOLUME_SOURCE),
        ),
        f(24, "portworxVolume", Message(&PORTWORX_VOLUME_SOURCE)),
        f(25, "scaleIO", Message(&SCALE_IO_VOLUME_SOURCE)),
        f(26, "projected", Message(&PROJECTED_VOLUME_SOURCE)),
        f(27, "storageos", Message(&STORAGE_OS_VOLUME_SOURCE)),
        f(28, "csi", Message(&CSI_VOLUME_SOURCE)),
        f(29, "ephemeral", Message(&EPHEMERAL_VOLUME_SOURCE)),
        f(30, "image", Message(&IMAGE_VOLUME_SOURCE)),
    ],
};
/// `HostPathVolumeSource` (`api.core.v1`).
pub static HOST_PATH_VOLUME_SOURCE: Msg = Msg {
    name: "HostPathVolumeSource",
    fields: &[f(1, "path", Str), f(2, "type", Str)],
};
/// `EmptyDirVolumeSource` (`api.core.v1`).
pub static EMPTY_DIR_VOLUME_SOURCE: Msg = Msg {
    name: "EmptyDirVolumeSource",
    fields: &[f(1, "medium", Str), f(2, "sizeLimit", Quantity)],
};
/// `GcePersistentDiskVolumeSource` (`api.core.v1`).
pub static GCE_PERSISTENT_DISK_VOLUME_SOURCE: Msg = Msg {
    name: "GcePersistentDiskVolumeSource",
    fields: &[
        f(1, "pdName", Str),
        f(2, "fsType", Str),
        f(3, "partition", Int),
        f(4, "readOnly", Bool),
    ],
};
/// `AwsElasticBlockStoreVolumeSource` (`api.core.v1`).
pub static AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: Msg = Msg {
    name: "AwsElasticBlockStoreVolumeSource",
    fields: &[
        f(1, "volumeID", Str),
        f(2, "fsType", Str),
        f(3, "partition", Int),
        f(4, "readOnly", Bool),
    ],
};
/// `GitRepoVolumeSource` (`api.core.v1`).
pub static GIT_REPO_VOLUME_SOURCE: Msg = Msg {
    name: "GitRepoVolumeSource",
    fields: &[
        f(1, "repository", Str),
        f(2, "revision", Str),
        f(3, "directory", Str),
    ],
};
/// `SecretVolumeSource` (`api.core.v1`).
pub static SECRET_VOLUME_SOURCE: Msg = Msg {
    name: "SecretVolumeSource",
    fields: &[
        f(1, "secretName", Str),
        f(2, "items", Message(&KEY_TO_PATH)).rep(),
        f(3, "defaultMode", Int).keep(),
        f(4, "optional", Bool).keep(),
    ],
};
/// `KeyToPath` (`api.core.v1`).
pub static KEY_TO_PATH: Msg = Msg {
    name: "KeyToPath",
    fields: &[
        f(1, "key", Str),
        f(2, "path", Str),
        f(3, "mode", Int).keep(),
    ],
};
/// `NfsVolumeSource` (`api.core.v1`).
pub static NFS_VOLUME_SOURCE: Msg = Msg {
    name: "NfsVolumeSource",
    fields: &[
        f(1, "server", Str),
        f(2, "path", Str),
        f(3, "readOnly", Bool),
    ],
};
/// `IscsiVolumeSource` (`api.core.v1`).
pub static ISCSI_VOLUME_SOURCE: Msg = Msg {
    name: "IscsiVolumeSource",
    fields: &[
        f(1, "targetPortal", Str),
        f(2, "iqn", Str),
        f(3, "lun", Int).keep(),
        f(4, "iscsiInterface", Str),
        f(5, "fsType", Str),
        f(6, "readOnly", Bool),
        f(7, "portals", Str).rep(),
        f(8, "chapAuthDiscovery", Bool),
        f(10, "secretRef", Message(&LOCAL_OBJECT_REFERENCE)),
        f(11, "chapAuthSession", Bool),
        f(12, "initiatorName", Str),
    ],
};
/// `LocalObjectReference` (`api.core.v1`).
pub static LOCAL_OBJECT_REFERENCE: Msg = Msg {
    name: "LocalObjectReference",
    fields: &[f(1, "name", Str)],
};
/// `GlusterfsVolumeSource` (`api.core.v1`).
pub static GLUSTERFS_VOLUME_SOURCE: Msg = Msg {
    name: "GlusterfsVolumeSource",
    fields: &[
        f(1, "endpoints", Str),
        f(2, "path", Str),
        f(3, "readOnly", Bool),
    ],
};
/// `PersistentVolumeClaimVolumeSource` (`api.core.v1`).
pub static PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: Msg = Msg {
    name: "PersistentVolumeClaimVolumeSource",
    fields: &[f(1, "claimName", Str), f(2, "readOnly", Bool)],
};
/// `RbdVolumeSource` (`api.core.v1`).
pub static RBD_VOLUME_SOURCE: Msg = Msg {
    name: "RbdVolumeSource",
    fields: &[
        f(1, "monitors", Str).rep(),
        f(2, "image", Str),
        f(3, "fsType", Str),
        f(4, "pool", Str),
        f(5, "user", Str),
        f(6, "keyring", Str),
        f(7, "secretRef", Message(&LOCAL_OBJECT_REFERENCE)),
        f(8, "readOnly", Bool),
    ],
};
/// `FlexVolumeSource` (`api.core.v1`).
pub static FLEX_VOLUME_SOURCE: Msg = Msg {
    name: "FlexVolumeSource",
    fields: &[
        f(1, "driver", Str),
        f(2, "fsType", Str),
        f(3, "secretRef", Message(&LOCAL_OBJECT_REFERENCE)),
        f(4, "readOnly", Bool),
        f(5, "options", MapStr),
    ],
};
/// `CinderVolumeSource` (`api.core.v1`).
pub static CINDER_VOLUME_SOURCE: Msg = Msg {
    name: "CinderVolumeSource",
    fields: &[
        f(1, "volumeID", Str),
        f(2, "fsType", Str),
        f(3, "readOnly", Bool),
        f(4, "secretRef", Message(&LOCAL_OBJECT_REFERENCE)),
    ],
};
/// `CephFsVolumeSource` (`api.core.v1`).
pub static CEPH_FS_VOLUME_SOURCE: Msg = Msg {
    name: "CephFsVolumeSource",
    fields: &[
        f(1, "monitors", Str).rep(),
        f(2, "path", Str),
        f(3, "user", Str),
        f(4, "secretFile", Str),
        f(5, "secretRef", Message(&LOCAL_OBJECT_REFERENCE)),
        f(6, "readOnly", Bool),
    ],
};
/// `FlockerVolumeSource` (`api.core.v1`).
pub static FLOCKER_VOLUME_SOURCE: Msg = Msg {
    name: "FlockerVolumeSource",
    fields: &[f(1, "datasetName", Str), f(2, "datasetUUID", Str)],
};
/// `DownwardAPIVolumeSource` (`api.core.v1`).
pub static DOWNWARD_API_VOLUME_SOURCE: Msg = Msg {
    name: "DownwardAPIVolumeSource",
    fields: &[
        f(1, "items", Message(&DOWNWARD_API_VOLUME_FILE)).rep(),
        f(2, "defaultMode", Int).keep(),
    ],
};
/// `DownwardAPIVolumeFile` (`api.core.v1`).
pub static DOWNWARD_API_VOLUME_FILE: Msg = Msg {
    name: "DownwardAPIVolumeFile",
    fields: &[
        f(1, "path", Str),
        f(2, "fieldRef", Message(&OBJECT_FIELD_SELECTOR)),
        f(3, "resourceFieldRef", Message(&RESOURCE_FIELD_SELECTOR)),
        f(4, "mode", Int).keep(),
    ],
};
/// `ObjectFieldSelector` (`api.core.v1`).
pub static OBJECT_FIELD_SELECTOR: Msg = Msg {
    name: "ObjectFieldSelector",
    fields: &[f(1, "apiVersion", Str), f(2, "fieldPath", Str)],
};
/// `ResourceFieldSelector` (`api.core.v1`).
pub static RESOURCE_FIELD_SELECTOR: Msg = Msg {
    name: "ResourceFieldSelector",
    fields: &[
        f(1, "containerName", Str),
        f(2, "resource", Str),
        f(3, "divisor", Quantity),
    ],
};
/// `FcVolumeSource` (`api.core.v1`).
pub static FC_VOLUME_SOURCE: Msg = Msg {
    name: "FcVolumeSource",
    fields: &[
        f(1, "targetWWNs", Str).rep(),
        f(2, "lun", Int).keep(),
        f(3, "fsType", Str),
        f(4, "readOnly", Bool),
        f(5, "wwids", Str).rep(),
    ],
};
/// `AzureFileVolumeSource` (`api.core.v1`).
pub static AZURE_FILE_VOLUME_SOURCE: Msg = Msg {
    name: "AzureFileVolumeSource",
    fields: &[
        f(1, "secretName", Str),
        f(2, "shareName", Str),
        f(3, "readOnly", Bool),
    ],
};
/// `ConfigMapVolumeSource` (`api.core.v1`).
pub static CONFIG_MAP_VOLUME_SOURCE: Msg = Msg {
    name: "ConfigMapVolumeSource",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "items", Message(&KEY_TO_PATH)).rep(),
        f(3, "defaultMode", Int).keep(),
        f(4, "optional", Bool).keep(),
    ],
};
/// `VsphereVirtualDiskVolumeSource` (`api.core.v1`).
pub static VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: Msg = Msg {
    name: "VsphereVirtualDiskVolumeSource",
    fields: &[
        f(1, "volumePath", Str),
        f(2, "fsType", Str),
        f(3, "storagePolicyName", Str),
        f(4, "storagePolicyID", Str),
    ],
};
/// `QuobyteVolumeSource` (`api.core.v1`).
pub static QUOBYTE_VOLUME_SOURCE: Msg = Msg {
    name: "QuobyteVolumeSource",
    fields: &[
        f(1, "registry", Str),
        f(2, "volume", Str),
        f(3, "readOnly", Bool),
        f(4, "user", Str),
        f(5, "group", Str),
        f(6, "tenant", Str),
    ],
};
/// `AzureDiskVolumeSource` (`api.core.v1`).
pub static AZURE_DISK_VOLUME_SOURCE: Msg = Msg {
    name: "AzureDiskVolumeSource",
    fields: &[
        f(1, "diskName", Str),
        f(2, "diskURI", Str),
        f(3, "cachingMode", Str),
        f(4, "fsType", Str),
        f(5, "readOnly", Bool).keep(),
        f(6, "kind", Str),
    ],
};
/// `PhotonPersistentDiskVolumeSource` (`api.core.v1`).
pub static PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: Msg = Msg {
    name: "PhotonPersistentDiskVolumeSource",
    fields: &[f(1, "pdID", Str), f(2, "fsType", Str)],
};
/// `PortworxVolumeSource` (`api.core.v1`).
pub static PORTWORX_VOLUME_SOURCE: Msg = Msg {
    name: "PortworxVolumeSource",
    fields: &[
        f(1, "volumeID", Str),
        f(2, "fsType", Str),
        f(3, "readOnly", Bool),
    ],
};
/// `ScaleIoVolumeSource` (`api.core.v1`).
pub static SCALE_IO_VOLUME_SOURCE: Msg = Msg {
    name: "ScaleIoVolumeSource",
    fields: &[
        f(1, "gateway", Str),
        f(2, "system", Str),
        f(3, "secretRef", Message(&LOCAL_OBJECT_REFERENCE)),
        f(4, "sslEnabled", Bool),
        f(5, "protectionDomain", Str),
        f(6, "storagePool", Str),
        f(7, "storageMode", Str),
        f(8, "volumeName", Str),
        f(9, "fsType", Str),
        f(10, "readOnly", Bool),
    ],
};
/// `ProjectedVolumeSource` (`api.core.v1`).
pub static PROJECTED_VOLUME_SOURCE: Msg = Msg {
    name: "ProjectedVolumeSource",
    fields: &[
        f(1, "sources", Message(&VOLUME_PROJECTION)).rep(),
        f(2, "defaultMode", Int).keep(),
    ],
};
/// `VolumeProjection` (`api.core.v1`).
pub static VOLUME_PROJECTION: Msg = Msg {
    name: "VolumeProjection",
    fields: &[
        f(1, "secret", Message(&SECRET_PROJECTION)),
        f(2, "downwardAPI", Message(&DOWNWARD_API_PROJECTION)),
        f(3, "configMap", Message(&CONFIG_MAP_PROJECTION)),
        f(
            4,
            "serviceAccountToken",
            Message(&SERVICE_ACCOUNT_TOKEN_PROJECTION),
        ),
        f(
            5,
            "clusterTrustBundle",
            Message(&CLUSTER_TRUST_BUNDLE_PROJECTION),
        ),
    ],
};
/// `SecretProjection` (`api.core.v1`).
pub static SECRET_PROJECTION: Msg = Msg {
    name: "SecretProjection",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "items", Message(&KEY_TO_PATH)).rep(),
        f(4, "optional", Bool).keep(),
    ],
};
/// `DownwardAPIProjection` (`api.core.v1`).
pub static DOWNWARD_API_PROJECTION: Msg = Msg {
    name: "DownwardAPIProjection",
    fields: &[f(1, "items", Message(&DOWNWARD_API_VOLUME_FILE)).rep()],
};
/// `ConfigMapProjection` (`api.core.v1`).
pub static CONFIG_MAP_PROJECTION: Msg = Msg {
    name: "ConfigMapProjection",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "items", Message(&KEY_TO_PATH)).rep(),
        f(4, "optional", Bool).keep(),
    ],
};
/// `ServiceAccountTokenProjection` (`api.core.v1`).
pub static SERVICE_ACCOUNT_TOKEN_PROJECTION: Msg = Msg {
    name: "ServiceAccountTokenProjection",
    fields: &[
        f(1, "audience", Str),
        f(2, "expirationSeconds", Int).keep(),
        f(3, "path", Str),
    ],
};
/// `ClusterTrustBundleProjection` (`api.core.v1`).
pub static CLUSTER_TRUST_BUNDLE_PROJECTION: Msg = Msg {
    name: "ClusterTrustBundleProjection",
    fields: &[
        f(1, "name", Str),
        f(2, "signerName", Str),
        f(3, "labelSelector", Message(&LABEL_SELECTOR)),
        f(4, "path", Str),
        f(5, "optional", Bool).keep(),
    ],
};
/// `StorageOsVolumeSource` (`api.core.v1`).
pub static STORAGE_OS_VOLUME_SOURCE: Msg = Msg {
    name: "StorageOsVolumeSource",
    fields: &[
        f(1, "volumeName", Str),
        f(2, "volumeNamespace", Str),
        f(3, "fsType", Str),
        f(4, "readOnly", Bool),
        f(5, "secretRef", Message(&LOCAL_OBJECT_REFERENCE)),
    ],
};
/// `CSIVolumeSource` (`api.core.v1`).
pub static CSI_VOLUME_SOURCE: Msg = Msg {
    name: "CSIVolumeSource",
    fields: &[
        f(1, "driver", Str),
        f(2, "readOnly", Bool).keep(),
        f(3, "fsType", Str),
        f(4, "volumeAttributes", MapStr),
        f(5, "nodePublishSecretRef", Message(&LOCAL_OBJECT_REFERENCE)),
    ],
};
/// `EphemeralVolumeSource` (`api.core.v1`).
pub static EPHEMERAL_VOLUME_SOURCE: Msg = Msg {
    name: "EphemeralVolumeSource",
    fields: &[f(
        1,
        "volumeClaimTemplate",
        Message(&PERSISTENT_VOLUME_CLAIM_TEMPLATE),
    )],
};
/// `PersistentVolumeClaimTemplate` (`api.core.v1`).
pub static PERSISTENT_VOLUME_CLAIM_TEMPLATE: Msg = Msg {
    name: "PersistentVolumeClaimTemplate",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&PERSISTENT_VOLUME_CLAIM_SPEC)),
    ],
};
/// `PersistentVolumeClaimSpec` (`api.core.v1`).
pub static PERSISTENT_VOLUME_CLAIM_SPEC: Msg = Msg {
    name: "PersistentVolumeClaimSpec",
    fields: &[
        f(1, "accessModes", Str).rep(),
        f(2, "resources", Message(&VOLUME_RESOURCE_REQUIREMENTS)),
        f(3, "volumeName", Str),
        f(4, "selector", Message(&LABEL_SELECTOR)),
        f(5, "storageClassName", Str).keep(),
        f(6, "volumeMode", Str),
        f(7, "dataSource", Message(&TYPED_LOCAL_OBJECT_REFERENCE)),
        f(8, "dataSourceRef", Message(&TYPED_OBJECT_REFERENCE)),
        f(9, "volumeAttributesClassName", Str),
    ],
};
/// `VolumeResourceRequirements` (`api.core.v1`).
pub static VOLUME_RESOURCE_REQUIREMENTS: Msg = Msg {
    name: "VolumeResourceRequirements",
    fields: &[f(1, "limits", MapQuantity), f(2, "requests", MapQuantity)],
};
/// `TypedLocalObjectReference` (`api.core.v1`).
pub static TYPED_LOCAL_OBJECT_REFERENCE: Msg = Msg {
    name: "TypedLocalObjectReference",
    fields: &[f(1, "apiGroup", Str), f(2, "kind", Str), f(3, "name", Str)],
};
/// `TypedObjectReference` (`api.core.v1`).
pub static TYPED_OBJECT_REFERENCE: Msg = Msg {
    name: "TypedObjectReference",
    fields: &[
        f(1, "apiGroup", Str),
        f(2, "kind", Str),
        f(3, "name", Str),
        f(4, "namespace", Str),
    ],
};
/// `ImageVolumeSource` (`api.core.v1`).
pub static IMAGE_VOLUME_SOURCE: Msg = Msg {
    name: "ImageVolumeSource",
    fields: &[f(1, "reference", Str), f(2, "pullPolicy", Str)],
};
/// `Container` (`api.core.v1`).
pub static CONTAINER: Msg = Msg {
    name: "Container",
    fields: &[
        f(1, "name", Str),
        f(2, "image", Str),
        f(3, "command", Str).rep(),
        f(4, "args", Str).rep(),
        f(5, "workingDir", Str),
        f(6, "ports", Message(&CONTAINER_PORT)).rep(),
        f(7, "env", Message(&ENV_VAR)).rep(),
        f(8, "resources", Message(&RESOURCE_REQUIREMENTS)),
        f(9, "volumeMounts", Message(&VOLUME_MOUNT)).rep(),
        f(10, "livenessProbe", Message(&PROBE)),
        f(11, "readinessProbe", Message(&PROBE)),
        f(12, "lifecycle", Message(&LIFECYCLE)),
        f(13, "terminationMessagePath", Str),
        f(14, "imagePullPolicy", Str),
        f(15, "securityContext", Message(&SECURITY_CONTEXT)),
        f(16, "stdin", Bool),
        f(17, "stdinOnce", Bool),
        f(18, "tty", Bool),
        f(19, "envFrom", Message(&ENV_FROM_SOURCE)).rep(),
        f(20, "terminationMessagePolicy", Str),
        f(21, "volumeDevices", Message(&VOLUME_DEVICE)).rep(),
        f(22, "startupProbe", Message(&PROBE)),
        f(23, "resizePolicy", Message(&CONTAINER_RESIZE_POLICY)).rep(),
        f(24, "restartPolicy", Str),
    ],
};
/// `ContainerPort` (`api.core.v1`).
pub static CONTAINER_PORT: Msg = Msg {
    name: "ContainerPort",
    fields: &[
        f(1, "name", Str),
        f(2, "hostPort", Int),
        f(3, "containerPort", Int).keep(),
        f(4, "protocol", Str),
        f(5, "hostIP", Str),
    ],
};
/// `EnvVar` (`api.core.v1`).
pub static ENV_VAR: Msg = Msg {
    name: "EnvVar",
    fields: &[
        f(1, "name", Str),
        f(2, "value", Str),
        f(3, "valueFrom", Message(&ENV_VAR_SOURCE)),
    ],
};
/// `EnvVarSource` (`api.core.v1`).
pub static ENV_VAR_SOURCE: Msg = Msg {
    name: "EnvVarSource",
    fields: &[
        f(1, "fieldRef", Message(&OBJECT_FIELD_SELECTOR)),
        f(2, "resourceFieldRef", Message(&RESOURCE_FIELD_SELECTOR)),
        f(3, "configMapKeyRef", Message(&CONFIG_MAP_KEY_SELECTOR)),
        f(4, "secretKeyRef", Message(&SECRET_KEY_SELECTOR)),
    ],
};
/// `ConfigMapKeySelector` (`api.core.v1`).
pub static CONFIG_MAP_KEY_SELECTOR: Msg = Msg {
    name: "ConfigMapKeySelector",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "key", Str),
        f(3, "optional", Bool).keep(),
    ],
};
/// `SecretKeySelector` (`api.core.v1`).
pub static SECRET_KEY_SELECTOR: Msg = Msg {
    name: "SecretKeySelector",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "key", Str),
        f(3, "optional", Bool).keep(),
    ],
};
/// `ResourceRequirements` (`api.core.v1`).
pub static RESOURCE_REQUIREMENTS: Msg = Msg {
    name: "ResourceRequirements",
    fields: &[
        f(1, "limits", MapQuantity),
        f(2, "requests", MapQuantity),
        f(3, "claims", Message(&RESOURCE_CLAIM)).rep(),
    ],
};
/// `ResourceClaim` (`api.core.v1`).
pub static RESOURCE_CLAIM: Msg = Msg {
    name: "ResourceClaim",
    fields: &[f(1, "name", Str), f(2, "request", Str)],
};
/// `VolumeMount` (`api.core.v1`).
pub static VOLUME_MOUNT: Msg = Msg {
    name: "VolumeMount",
    fields: &[
        f(1, "name", Str),
        f(2, "readOnly", Bool),
        f(3, "mountPath", Str),
        f(4, "subPath", Str),
        f(5, "mountPropagation", Str),
        f(6, "subPathExpr", Str),
        f(7, "recursiveReadOnly", Str),
    ],
};
/// `Probe` (`api.core.v1`).
pub static PROBE: Msg = Msg {
    name: "Probe",
    fields: &[
        f(1, "", Inline(&PROBE_HANDLER)),
        f(2, "initialDelaySeconds", Int),
        f(3, "timeoutSeconds", Int),
        f(4, "periodSeconds", Int),
        f(5, "successThreshold", Int),
        f(6, "failureThreshold", Int),
        f(7, "terminationGracePeriodSeconds", Int).keep(),
    ],
};
/// `ProbeHandler` (`api.core.v1`).
pub static PROBE_HANDLER: Msg = Msg {
    name: "ProbeHandler",
    fields: &[
        f(1, "exec", Message(&EXEC_ACTION)),
        f(2, "httpGet", Message(&HTTP_GET_ACTION)),
        f(3, "tcpSocket", Message(&TCP_SOCKET_ACTION)),
        f(4, "grpc", Message(&GRPC_ACTION)),
    ],
};
/// `ExecAction` (`api.core.v1`).
pub static EXEC_ACTION: Msg = Msg {
    name: "ExecAction",
    fields: &[f(1, "command", Str).rep()],
};
/// `HttpGetAction` (`api.core.v1`).
pub static HTTP_GET_ACTION: Msg = Msg {
    name: "HttpGetAction",
    fields: &[
        f(1, "path", Str),
        f(2, "port", IntOrStr),
        f(3, "host", Str),
        f(4, "scheme", Str),
        f(5, "httpHeaders", Message(&HTTP_HEADER)).rep(),
    ],
};
/// `HttpHeader` (`api.core.v1`).
pub static HTTP_HEADER: Msg = Msg {
    name: "HttpHeader",
    fields: &[f(1, "name", Str), f(2, "value", Str)],
};
/// `TcpSocketAction` (`api.core.v1`).
pub static TCP_SOCKET_ACTION: Msg = Msg {
    name: "TcpSocketAction",
    fields: &[f(1, "port", IntOrStr), f(2, "host", Str)],
};
/// `GrpcAction` (`api.core.v1`).
pub static GRPC_ACTION: Msg = Msg {
    name: "GrpcAction",
    fields: &[f(1, "port", Int).keep(), f(2, "service", Str)],
};
/// `Lifecycle` (`api.core.v1`).
pub static LIFECYCLE: Msg = Msg {
    name: "Lifecycle",
    fields: &[
        f(1, "postStart", Message(&LIFECYCLE_HANDLER)),
        f(2, "preStop", Message(&LIFECYCLE_HANDLER)),
        f(3, "stopSignal", Str),
    ],
};
/// `LifecycleHandler` (`api.core.v1`).
pub static LIFECYCLE_HANDLER: Msg = Msg {
    name: "LifecycleHandler",
    fields: &[
        f(1, "exec", Message(&EXEC_ACTION)),
        f(2, "httpGet", Message(&HTTP_GET_ACTION)),
        f(3, "tcpSocket", Message(&TCP_SOCKET_ACTION)),
        f(4, "sleep", Message(&SLEEP_ACTION)),
    ],
};
/// `SleepAction` (`api.core.v1`).
pub static SLEEP_ACTION: Msg = Msg {
    name: "SleepAction",
    fields: &[f(1, "seconds", Int).keep()],
};
/// `SecurityContext` (`api.core.v1`).
pub static SECURITY_CONTEXT: Msg = Msg {
    name: "SecurityContext",
    fields: &[
        f(1, "capabilities", Message(&CAPABILITIES)),
        f(2, "privileged", Bool).keep(),
        f(3, "seLinuxOptions", Message(&SE_LINUX_OPTIONS)),
        f(4, "runAsUser", Int).keep(),
        f(5, "runAsNonRoot", Bool).keep(),
        f(6, "readOnlyRootFilesystem", Bool).keep(),
        f(7, "allowPrivilegeEscalation", Bool).keep(),
        f(8, "runAsGroup", Int).keep(),
        f(9, "procMount", Str),
        f(
            10,
            "windowsOptions",
            Message(&WINDOWS_SECURITY_CONTEXT_OPTIONS),
        ),
        f(11, "seccompProfile", Message(&SECCOMP_PROFILE)),
        f(12, "appArmorProfile", Message(&APP_ARMOR_PROFILE)),
    ],
};
/// `Capabilities` (`api.core.v1`).
pub static CAPABILITIES: Msg = Msg {
    name: "Capabilities",
    fields: &[f(1, "add", Str).rep(), f(2, "drop", Str).rep()],
};
/// `SeLinuxOptions` (`api.core.v1`).
pub static SE_LINUX_OPTIONS: Msg = Msg {
    name: "SeLinuxOptions",
    fields: &[
        f(1, "user", Str),
        f(2, "role", Str),
        f(3, "type", Str),
        f(4, "level", Str),
    ],
};
/// `WindowsSecurityContextOptions` (`api.core.v1`).
pub static WINDOWS_SECURITY_CONTEXT_OPTIONS: Msg = Msg {
    name: "WindowsSecurityContextOptions",
    fields: &[
        f(1, "gmsaCredentialSpecName", Str),
        f(2, "gmsaCredentialSpec", Str),
        f(3, "runAsUserName", Str),
        f(4, "hostProcess", Bool).keep(),
    ],
};
/// `SeccompProfile` (`api.core.v1`).
pub static SECCOMP_PROFILE: Msg = Msg {
    name: "SeccompProfile",
    fields: &[f(1, "type", Str), f(2, "localhostProfile", Str)],
};
/// `AppArmorProfile` (`api.core.v1`).
pub static APP_ARMOR_PROFILE: Msg = Msg {
    name: "AppArmorProfile",
    fields: &[f(1, "type", Str), f(2, "localhostProfile", Str)],
};
/// `EnvFromSource` (`api.core.v1`).
pub static ENV_FROM_SOURCE: Msg = Msg {
    name: "EnvFromSource",
    fields: &[
        f(1, "prefix", Str),
        f(2, "configMapRef", Message(&CONFIG_MAP_ENV_SOURCE)),
        f(3, "secretRef", Message(&SECRET_ENV_SOURCE)),
    ],
};
/// `ConfigMapEnvSource` (`api.core.v1`).
pub static CONFIG_MAP_ENV_SOURCE: Msg = Msg {
    name: "ConfigMapEnvSource",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "optional", Bool).keep(),
    ],
};
/// `SecretEnvSource` (`api.core.v1`).
pub static SECRET_ENV_SOURCE: Msg = Msg {
    name: "SecretEnvSource",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "optional", Bool).keep(),
    ],
};
/// `VolumeDevice` (`api.core.v1`).
pub static VOLUME_DEVICE: Msg = Msg {
    name: "VolumeDevice",
    fields: &[f(1, "name", Str), f(2, "devicePath", Str)],
};
/// `ContainerResizePolicy` (`api.core.v1`).
pub static CONTAINER_RESIZE_POLICY: Msg = Msg {
    name: "ContainerResizePolicy",
    fields: &[f(1, "resourceName", Str), f(2, "restartPolicy", Str)],
};
/// `PodSecurityContext` (`api.core.v1`).
pub static POD_SECURITY_CONTEXT: Msg = Msg {
    name: "PodSecurityContext",
    fields: &[
        f(1, "seLinuxOptions", Message(&SE_LINUX_OPTIONS)),
        f(2, "runAsUser", Int).keep(),
        f(3, "runAsNonRoot", Bool).keep(),
        f(4, "supplementalGroups", Int).rep(),
        f(5, "fsGroup", Int).keep(),
        f(6, "runAsGroup", Int).keep(),
        f(7, "sysctls", Message(&SYSCTL)).rep(),
        f(
            8,
            "windowsOptions",
            Message(&WINDOWS_SECURITY_CONTEXT_OPTIONS),
        ),
        f(9, "fsGroupChangePolicy", Str),
        f(10, "seccompProfile", Message(&SECCOMP_PROFILE)),
        f(11, "appArmorProfile", Message(&APP_ARMOR_PROFILE)),
        f(12, "supplementalGroupsPolicy", Str),
        f(13, "seLinuxChangePolicy", Str),
    ],
};
/// `Sysctl` (`api.core.v1`).
pub static SYSCTL: Msg = Msg {
    name: "Sysctl",
    fields: &[f(1, "name", Str), f(2, "value", Str)],
};
/// `Affinity` (`api.core.v1`).
pub static AFFINITY: Msg = Msg {
    name: "Affinity",
    fields: &[
        f(1, "nodeAffinity", Message(&NODE_AFFINITY)),
        f(2, "podAffinity", Message(&POD_AFFINITY)),
        f(3, "podAntiAffinity", Message(&POD_ANTI_AFFINITY)),
    ],
};
/// `NodeAffinity` (`api.core.v1`).
pub static NODE_AFFINITY: Msg = Msg {
    name: "NodeAffinity",
    fields: &[
        f(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Message(&NODE_SELECTOR),
        ),
        f(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Message(&PREFERRED_SCHEDULING_TERM),
        )
        .rep(),
    ],
};
/// `NodeSelector` (`api.core.v1`).
pub static NODE_SELECTOR: Msg = Msg {
    name: "NodeSelector",
    fields: &[f(1, "nodeSelectorTerms", Message(&NODE_SELECTOR_TERM)).rep()],
};
/// `NodeSelectorTerm` (`api.core.v1`).
pub static NODE_SELECTOR_TERM: Msg = Msg {
    name: "NodeSelectorTerm",
    fields: &[
        f(1, "matchExpressions", Message(&NODE_SELECTOR_REQUIREMENT)).rep(),
        f(2, "matchFields", Message(&NODE_SELECTOR_REQUIREMENT)).rep(),
    ],
};
/// `NodeSelectorRequirement` (`api.core.v1`).
pub static NODE_SELECTOR_REQUIREMENT: Msg = Msg {
    name: "NodeSelectorRequirement",
    fields: &[
        f(1, "key", Str),
        f(2, "operator", Str),
        f(3, "values", Str).rep(),
    ],
};
/// `PreferredSchedulingTerm` (`api.core.v1`).
pub static PREFERRED_SCHEDULING_TERM: Msg = Msg {
    name: "PreferredSchedulingTerm",
    fields: &[
        f(1, "weight", Int),
        f(2, "preference", Message(&NODE_SELECTOR_TERM)),
    ],
};
/// `PodAffinity` (`api.core.v1`).
pub static POD_AFFINITY: Msg = Msg {
    name: "PodAffinity",
    fields: &[
        f(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Message(&POD_AFFINITY_TERM),
        )
        .rep(),
        f(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Message(&WEIGHTED_POD_AFFINITY_TERM),
        )
        .rep(),
    ],
};
/// `PodAffinityTerm` (`api.core.v1`).
pub static POD_AFFINITY_TERM: Msg = Msg {
    name: "PodAffinityTerm",
    fields: &[
        f(1, "labelSelector", Message(&LABEL_SELECTOR)),
        f(2, "namespaces", Str).rep(),
        f(3, "topologyKey", Str),
        f(4, "namespaceSelector", Message(&LABEL_SELECTOR)),
        f(5, "matchLabelKeys", Str).rep(),
        f(6, "mismatchLabelKeys", Str).rep(),
    ],
};
/// `WeightedPodAffinityTerm` (`api.core.v1`).
pub static WEIGHTED_POD_AFFINITY_TERM: Msg = Msg {
    name: "WeightedPodAffinityTerm",
    fields: &[
        f(1, "weight", Int),
        f(2, "podAffinityTerm", Message(&POD_AFFINITY_TERM)),
    ],
};
/// `PodAntiAffinity` (`api.core.v1`).
pub static POD_ANTI_AFFINITY: Msg = Msg {
    name: "PodAntiAffinity",
    fields: &[
        f(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Message(&POD_AFFINITY_TERM),
        )
        .rep(),
        f(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Message(&WEIGHTED_POD_AFFINITY_TERM),
        )
        .rep(),
    ],
};
/// `Toleration` (`api.core.v1`).
pub static TOLERATION: Msg = Msg {
    name: "Toleration",
    fields: &[
        f(1, "key", Str),
        f(2, "operator", Str),
        f(3, "value", Str),
        f(4, "effect", Str),
        f(5, "tolerationSeconds", Int).keep(),
    ],
};
/// `HostAlias` (`api.core.v1`).
pub static HOST_ALIAS: Msg = Msg {
    name: "HostAlias",
    fields: &[f(1, "ip", Str), f(2, "hostnames", Str).rep()],
};
/// `PodDnsConfig` (`api.core.v1`).
pub static POD_DNS_CONFIG: Msg = Msg {
    name: "PodDnsConfig",
    fields: &[
        f(1, "nameservers", Str).rep(),
        f(2, "searches", Str).rep(),
        f(3, "options", Message(&POD_DNS_CONFIG_OPTION)).rep(),
    ],
};
/// `PodDnsConfigOption` (`api.core.v1`).
pub static POD_DNS_CONFIG_OPTION: Msg = Msg {
    name: "PodDnsConfigOption",
    fields: &[f(1, "name", Str), f(2, "value", Str)],
};
/// `PodReadinessGate` (`api.core.v1`).
pub static POD_READINESS_GATE: Msg = Msg {
    name: "PodReadinessGate",
    fields: &[f(1, "conditionType", Str)],
};
/// `TopologySpreadConstraint` (`api.core.v1`).
pub static TOPOLOGY_SPREAD_CONSTRAINT: Msg = Msg {
    name: "TopologySpreadConstraint",
    fields: &[
        f(1, "maxSkew", Int).keep(),
        f(2, "topologyKey", Str),
        f(3, "whenUnsatisfiable", Str),
        f(4, "labelSelector", Message(&LABEL_SELECTOR)),
        f(5, "minDomains", Int).keep(),
        f(6, "nodeAffinityPolicy", Str),
        f(7, "nodeTaintsPolicy", Str),
        f(8, "matchLabelKeys", Str).rep(),
    ],
};
/// `EphemeralContainer` (`api.core.v1`).
pub static EPHEMERAL_CONTAINER: Msg = Msg {
    name: "EphemeralContainer",
    fields: &[
        f(1, "", Inline(&EPHEMERAL_CONTAINER_COMMON)),
        f(2, "targetContainerName", Str),
    ],
};
/// `EphemeralContainerCommon` (`api.core.v1`).
pub static EPHEMERAL_CONTAINER_COMMON: Msg = Msg {
    name: "EphemeralContainerCommon",
    fields: &[
        f(1, "name", Str),
        f(2, "image", Str),
        f(3, "command", Str).rep(),
        f(4, "args", Str).rep(),
        f(5, "workingDir", Str),
        f(6, "ports", Message(&CONTAINER_PORT)).rep(),
        f(7, "env", Message(&ENV_VAR)).rep(),
        f(8, "resources", Message(&RESOURCE_REQUIREMENTS)),
        f(9, "volumeMounts", Message(&VOLUME_MOUNT)).rep(),
        f(10, "livenessProbe", Message(&PROBE)),
        f(11, "readinessProbe", Message(&PROBE)),
        f(12, "lifecycle", Message(&LIFECYCLE)),
        f(13, "terminationMessagePath", Str),
        f(14, "imagePullPolicy", Str),
        f(15, "securityContext", Message(&SECURITY_CONTEXT)),
        f(16, "stdin", Bool),
        f(17, "stdinOnce", Bool),
        f(18, "tty", Bool),
        f(19, "envFrom", Message(&ENV_FROM_SOURCE)).rep(),
        f(20, "terminationMessagePolicy", Str),
        f(21, "volumeDevices", Message(&VOLUME_DEVICE)).rep(),
        f(22, "startupProbe", Message(&PROBE)),
        f(23, "resizePolicy", Message(&CONTAINER_RESIZE_POLICY)).rep(),
        f(24, "restartPolicy", Str),
    ],
};
/// `PodOs` (`api.core.v1`).
pub static POD_OS: Msg = Msg {
    name: "PodOs",
    fields: &[f(1, "name", Str)],
};
/// `PodSchedulingGate` (`api.core.v1`).
pub static POD_SCHEDULING_GATE: Msg = Msg {
    name: "PodSchedulingGate",
    fields: &[f(1, "name", Str)],
};
/// `PodResourceClaim` (`api.core.v1`).
pub static POD_RESOURCE_CLAIM: Msg = Msg {
    name: "PodResourceClaim",
    fields: &[
        f(1, "name", Str),
        f(3, "resourceClaimName", Str),
        f(4, "resourceClaimTemplateName", Str),
    ],
};
/// `DeploymentStrategy` (`api.apps.v1`).
pub static DEPLOYMENT_STRATEGY: Msg = Msg {
    name: "DeploymentStrategy",
    fields: &[
        f(1, "type", Str),
        f(2, "rollingUpdate", Message(&ROLLING_UPDATE_DEPLOYMENT)),
    ],
};
/// `RollingUpdateDeployment` (`api.apps.v1`).
pub static ROLLING_UPDATE_DEPLOYMENT: Msg = Msg {
    name: "RollingUpdateDeployment",
    fields: &[f(1, "maxUnavailable", IntOrStr), f(2, "maxSurge", IntOrStr)],
};
/// `DeploymentStatus` (`api.apps.v1`).
pub static DEPLOYMENT_STATUS: Msg = Msg {
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
pub static DEPLOYMENT_CONDITION: Msg = Msg {
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
pub static REPLICA_SET: Msg = Msg {
    name: "ReplicaSet",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&REPLICA_SET_SPEC)),
        f(3, "status", Message(&REPLICA_SET_STATUS)),
    ],
};
/// `ReplicaSetSpec` (`api.apps.v1`).
pub static REPLICA_SET_SPEC: Msg = Msg {
    name: "ReplicaSetSpec",
    fields: &[
        f(1, "replicas", Int).keep(),
        f(2, "selector", Message(&LABEL_SELECTOR)),
        f(3, "template", Message(&POD_TEMPLATE_SPEC)),
        f(4, "minReadySeconds", Int),
    ],
};
/// `ReplicaSetStatus` (`api.apps.v1`).
pub static REPLICA_SET_STATUS: Msg = Msg {
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
pub static REPLICA_SET_CONDITION: Msg = Msg {
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
pub static STATEFUL_SET: Msg = Msg {
    name: "StatefulSet",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&STATEFUL_SET_SPEC)),
        f(3, "status", Message(&STATEFUL_SET_STATUS)),
    ],
};
/// `StatefulSetSpec` (`api.apps.v1`).
pub static STATEFUL_SET_SPEC: Msg = Msg {
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
pub static PERSISTENT_VOLUME_CLAIM: Msg = Msg {
    name: "PersistentVolumeClaim",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&PERSISTENT_VOLUME_CLAIM_SPEC)),
        f(3, "status", Message(&PERSISTENT_VOLUME_CLAIM_STATUS)),
    ],
};
/// `PersistentVolumeClaimStatus` (`api.core.v1`).
pub static PERSISTENT_VOLUME_CLAIM_STATUS: Msg = Msg {
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
pub static PERSISTENT_VOLUME_CLAIM_CONDITION: Msg = Msg {
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
pub static MODIFY_VOLUME_STATUS: Msg = Msg {
    name: "ModifyVolumeStatus",
    fields: &[
        f(1, "targetVolumeAttributesClassName", Str),
        f(2, "status", Str),
    ],
};
/// `StatefulSetUpdateStrategy` (`api.apps.v1`).
pub static STATEFUL_SET_UPDATE_STRATEGY: Msg = Msg {
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
pub static ROLLING_UPDATE_STATEFUL_SET_STRATEGY: Msg = Msg {
    name: "RollingUpdateStatefulSetStrategy",
    fields: &[
        f(1, "partition", Int).keep(),
        f(2, "maxUnavailable", IntOrStr),
    ],
};
/// `StatefulSetPersistentVolumeClaimRetentionPolicy` (`api.apps.v1`).
pub static STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY: Msg = Msg {
    name: "StatefulSetPersistentVolumeClaimRetentionPolicy",
    fields: &[f(1, "whenDeleted", Str), f(2, "whenScaled", Str)],
};
/// `StatefulSetOrdinals` (`api.apps.v1`).
pub static STATEFUL_SET_ORDINALS: Msg = Msg {
    name: "StatefulSetOrdinals",
    fields: &[f(1, "start", Int)],
};
/// `StatefulSetStatus` (`api.apps.v1`).
pub static STATEFUL_SET_STATUS: Msg = Msg {
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
pub static STATEFUL_SET_CONDITION: Msg = Msg {
    name: "StatefulSetCondition",
    fields: &[
        f(1, "type", Str),
        f(2, "status", Str),
        f(3, "lastTransitionTime", Time),
        f(4, "reason", Str),
        f(5, "message", Str),
    ],
};
/// `Pod` (`api.core.v1`).
pub static POD: Msg = Msg {
    name: "Pod",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&POD_SPEC)),
        f(3, "status", Message(&POD_STATUS)),
    ],
};
/// `PodStatus` (`api.core.v1`).
pub static POD_STATUS: Msg = Msg {
    name: "PodStatus",
    fields: &[
        f(1, "phase", Str),
        f(2, "conditions", Message(&POD_CONDITION)).rep(),
        f(3, "message", Str),
        f(4, "reason", Str),
        f(5, "hostIP", Str),
        f(6, "podIP", Str),
        f(7, "startTime", Time),
        f(8, "containerStatuses", Message(&CONTAINER_STATUS)).rep(),
        f(9, "qosClass", Str),
        f(10, "initContainerStatuses", Message(&CONTAINER_STATUS)).rep(),
        f(11, "nominatedNodeName", Str),
        f(12, "podIPs", Message(&POD_IP)).rep(),
        f(13, "ephemeralContainerStatuses", Message(&CONTAINER_STATUS)).rep(),
        f(14, "resize", Str),
        f(
            15,
            "resourceClaimStatuses",
            Message(&POD_RESOURCE_CLAIM_STATUS),
        )
        .rep(),
        f(16, "hostIPs", Message(&HOST_IP)).rep(),
        f(17, "observedGeneration", Int),
    ],
};
/// `PodCondition` (`api.core.v1`).
pub static POD_CONDITION: Msg = Msg {
    name: "PodCondition",
    fields: &[
        f(1, "type", Str),
        f(2, "status", Str),
        f(3, "lastProbeTime", Time),
        f(4, "lastTransitionTime", Time),
        f(5, "reason", Str),
        f(6, "message", Str),
        f(7, "observedGeneration", Int),
    ],
};
/// `ContainerStatus` (`api.core.v1`).
pub static CONTAINER_STATUS: Msg = Msg {
    name: "ContainerStatus",
    fields: &[
        f(1, "name", Str),
        f(2, "state", Message(&CONTAINER_STATE)),
        f(3, "lastState", Message(&CONTAINER_STATE)),
        f(4, "ready", Bool).keep(),
        f(5, "restartCount", Int).keep(),
        f(6, "image", Str),
        f(7, "imageID", Str),
        f(8, "containerID", Str),
        f(9, "started", Bool).keep(),
        f(10, "allocatedResources", MapQuantity),
        f(11, "resources", Message(&RESOURCE_REQUIREMENTS)),
        f(12, "volumeMounts", Message(&VOLUME_MOUNT_STATUS)).rep(),
        f(13, "user", Message(&CONTAINER_USER)),
        f(14, "allocatedResourcesStatus", Message(&RESOURCE_STATUS)).rep(),
        f(15, "stopSignal", Str),
    ],
};
/// `ContainerState` (`api.core.v1`).
pub static CONTAINER_STATE: Msg = Msg {
    name: "ContainerState",
    fields: &[
        f(1, "waiting", Message(&CONTAINER_STATE_WAITING)),
        f(2, "running", Message(&CONTAINER_STATE_RUNNING)),
        f(3, "terminated", Message(&CONTAINER_STATE_TERMINATED)),
    ],
};
/// `ContainerStateWaiting` (`api.core.v1`).
pub static CONTAINER_STATE_WAITING: Msg = Msg {
    name: "ContainerStateWaiting",
    fields: &[f(1, "reason", Str), f(2, "message", Str)],
};
/// `ContainerStateRunning` (`api.core.v1`).
pub static CONTAINER_STATE_RUNNING: Msg = Msg {
    name: "ContainerStateRunning",
    fields: &[f(1, "startedAt", Time)],
};
/// `ContainerStateTerminated` (`api.core.v1`).
pub static CONTAINER_STATE_TERMINATED: Msg = Msg {
    name: "ContainerStateTerminated",
    fields: &[
        f(1, "exitCode", Int).keep(),
        f(2, "signal", Int),
        f(3, "reason", Str),
        f(4, "message", Str),
        f(5, "startedAt", Time),
        f(6, "finishedAt", Time),
        f(7, "containerID", Str),
    ],
};
/// `VolumeMountStatus` (`api.core.v1`).
pub static VOLUME_MOUNT_STATUS: Msg = Msg {
    name: "VolumeMountStatus",
    fields: &[
        f(1, "name", Str),
        f(2, "mountPath", Str),
        f(3, "readOnly", Bool),
        f(4, "recursiveReadOnly", Str),
    ],
};
/// `ContainerUser` (`api.core.v1`).
pub static CONTAINER_USER: Msg = Msg {
    name: "ContainerUser",
    fields: &[f(1, "linux", Message(&LINUX_CONTAINER_USER))],
};
/// `LinuxContainerUser` (`api.core.v1`).
pub static LINUX_CONTAINER_USER: Msg = Msg {
    name: "LinuxContainerUser",
    fields: &[
        f(1, "uid", Int).keep(),
        f(2, "gid", Int).keep(),
        f(3, "supplementalGroups", Int).rep(),
    ],
};
/// `ResourceStatus` (`api.core.v1`).
pub static RESOURCE_STATUS: Msg = Msg {
    name: "ResourceStatus",
    fields: &[
        f(1, "name", Str),
        f(2, "resources", Message(&RESOURCE_HEALTH)).rep(),
    ],
};
/// `ResourceHealth` (`api.core.v1`).
pub static RESOURCE_HEALTH: Msg = Msg {
    name: "ResourceHealth",
    fields: &[f(1, "resourceID", Str), f(2, "health", Str)],
};
/// `PodIp` (`api.core.v1`).
pub static POD_IP: Msg = Msg {
    name: "PodIp",
    fields: &[f(1, "ip", Str)],
};
/// `PodResourceClaimStatus` (`api.core.v1`).
pub static POD_RESOURCE_CLAIM_STATUS: Msg = Msg {
    name: "PodResourceClaimStatus",
    fields: &[f(1, "name", Str), f(2, "resourceClaimName", Str)],
};
/// `HostIp` (`api.core.v1`).
pub static HOST_IP: Msg = Msg {
    name: "HostIp",
    fields: &[f(1, "ip", Str)],
};
/// `Service` (`api.core.v1`).
pub static SERVICE: Msg = Msg {
    name: "Service",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&SERVICE_SPEC)),
        f(3, "status", Message(&SERVICE_STATUS)),
    ],
};
/// `ServiceSpec` (`api.core.v1`).
pub static SERVICE_SPEC: Msg = Msg {
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
pub static SERVICE_PORT: Msg = Msg {
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
pub static SESSION_AFFINITY_CONFIG: Msg = Msg {
    name: "SessionAffinityConfig",
    fields: &[f(1, "clientIP", Message(&CLIENT_IP_CONFIG))],
};
/// `ClientIpConfig` (`api.core.v1`).
pub static CLIENT_IP_CONFIG: Msg = Msg {
    name: "ClientIpConfig",
    fields: &[f(1, "timeoutSeconds", Int).keep()],
};
/// `ServiceStatus` (`api.core.v1`).
pub static SERVICE_STATUS: Msg = Msg {
    name: "ServiceStatus",
    fields: &[
        f(1, "loadBalancer", Message(&LOAD_BALANCER_STATUS)),
        f(2, "conditions", Message(&CONDITION)).rep(),
    ],
};
/// `LoadBalancerStatus` (`api.core.v1`).
pub static LOAD_BALANCER_STATUS: Msg = Msg {
    name: "LoadBalancerStatus",
    fields: &[f(1, "ingress", Message(&LOAD_BALANCER_INGRESS)).rep()],
};
/// `LoadBalancerIngress` (`api.core.v1`).
pub static LOAD_BALANCER_INGRESS: Msg = Msg {
    name: "LoadBalancerIngress",
    fields: &[
        f(1, "ip", Str),
        f(2, "hostname", Str),
        f(3, "ipMode", Str),
        f(4, "ports", Message(&PORT_STATUS)).rep(),
    ],
};
/// `PortStatus` (`api.core.v1`).
pub static PORT_STATUS: Msg = Msg {
    name: "PortStatus",
    fields: &[
        f(1, "port", Int).keep(),
        f(2, "protocol", Str),
        f(3, "error", Str),
    ],
};
/// `Condition` (`apimachinery.pkg.apis.meta.v1`).
pub static CONDITION: Msg = Msg {
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
pub static NAMESPACE: Msg = Msg {
    name: "Namespace",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&NAMESPACE_SPEC)),
        f(3, "status", Message(&NAMESPACE_STATUS)),
    ],
};
/// `NamespaceSpec` (`api.core.v1`).
pub static NAMESPACE_SPEC: Msg = Msg {
    name: "NamespaceSpec",
    fields: &[f(1, "finalizers", Str).rep()],
};
/// `NamespaceStatus` (`api.core.v1`).
pub static NAMESPACE_STATUS: Msg = Msg {
    name: "NamespaceStatus",
    fields: &[
        f(1, "phase", Str),
        f(2, "conditions", Message(&NAMESPACE_CONDITION)).rep(),
    ],
};
/// `NamespaceCondition` (`api.core.v1`).
pub static NAMESPACE_CONDITION: Msg = Msg {
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
pub static CONFIG_MAP: Msg = Msg {
    name: "ConfigMap",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "data", MapStr),
        f(3, "binaryData", MapBytes),
        f(4, "immutable", Bool).keep(),
    ],
};
/// `Secret` (`api.core.v1`).
pub static SECRET: Msg = Msg {
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
pub static SERVICE_ACCOUNT: Msg = Msg {
    name: "ServiceAccount",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "secrets", Message(&OBJECT_REFERENCE)).rep(),
        f(3, "imagePullSecrets", Message(&LOCAL_OBJECT_REFERENCE)).rep(),
        f(4, "automountServiceAccountToken", Bool).keep(),
    ],
};
/// `ObjectReference` (`api.core.v1`).
pub static OBJECT_REFERENCE: Msg = Msg {
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
