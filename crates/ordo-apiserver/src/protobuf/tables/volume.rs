//! Volumes and their sources.

use crate::protobuf::schema::{f, Kind::*, Msg};

use super::*;

/// `Volume` (`api.core.v1`).
pub(crate) static VOLUME: Msg = Msg {
    name: "Volume",
    fields: &[f(1, "name", Str), f(2, "", Inline(&VOLUME_SOURCE))],
};
/// `VolumeSource` (`api.core.v1`).
pub(crate) static VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static HOST_PATH_VOLUME_SOURCE: Msg = Msg {
    name: "HostPathVolumeSource",
    fields: &[f(1, "path", Str), f(2, "type", Str)],
};
/// `EmptyDirVolumeSource` (`api.core.v1`).
pub(crate) static EMPTY_DIR_VOLUME_SOURCE: Msg = Msg {
    name: "EmptyDirVolumeSource",
    fields: &[f(1, "medium", Str), f(2, "sizeLimit", Quantity)],
};
/// `GcePersistentDiskVolumeSource` (`api.core.v1`).
pub(crate) static GCE_PERSISTENT_DISK_VOLUME_SOURCE: Msg = Msg {
    name: "GcePersistentDiskVolumeSource",
    fields: &[
        f(1, "pdName", Str),
        f(2, "fsType", Str),
        f(3, "partition", Int),
        f(4, "readOnly", Bool),
    ],
};
/// `AwsElasticBlockStoreVolumeSource` (`api.core.v1`).
pub(crate) static AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: Msg = Msg {
    name: "AwsElasticBlockStoreVolumeSource",
    fields: &[
        f(1, "volumeID", Str),
        f(2, "fsType", Str),
        f(3, "partition", Int),
        f(4, "readOnly", Bool),
    ],
};
/// `GitRepoVolumeSource` (`api.core.v1`).
pub(crate) static GIT_REPO_VOLUME_SOURCE: Msg = Msg {
    name: "GitRepoVolumeSource",
    fields: &[
        f(1, "repository", Str),
        f(2, "revision", Str),
        f(3, "directory", Str),
    ],
};
/// `SecretVolumeSource` (`api.core.v1`).
pub(crate) static SECRET_VOLUME_SOURCE: Msg = Msg {
    name: "SecretVolumeSource",
    fields: &[
        f(1, "secretName", Str),
        f(2, "items", Message(&KEY_TO_PATH)).rep(),
        f(3, "defaultMode", Int).keep(),
        f(4, "optional", Bool).keep(),
    ],
};
/// `KeyToPath` (`api.core.v1`).
pub(crate) static KEY_TO_PATH: Msg = Msg {
    name: "KeyToPath",
    fields: &[
        f(1, "key", Str),
        f(2, "path", Str),
        f(3, "mode", Int).keep(),
    ],
};
/// `NfsVolumeSource` (`api.core.v1`).
pub(crate) static NFS_VOLUME_SOURCE: Msg = Msg {
    name: "NfsVolumeSource",
    fields: &[
        f(1, "server", Str),
        f(2, "path", Str),
        f(3, "readOnly", Bool),
    ],
};
/// `IscsiVolumeSource` (`api.core.v1`).
pub(crate) static ISCSI_VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static LOCAL_OBJECT_REFERENCE: Msg = Msg {
    name: "LocalObjectReference",
    fields: &[f(1, "name", Str)],
};
/// `GlusterfsVolumeSource` (`api.core.v1`).
pub(crate) static GLUSTERFS_VOLUME_SOURCE: Msg = Msg {
    name: "GlusterfsVolumeSource",
    fields: &[
        f(1, "endpoints", Str),
        f(2, "path", Str),
        f(3, "readOnly", Bool),
    ],
};
/// `PersistentVolumeClaimVolumeSource` (`api.core.v1`).
pub(crate) static PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: Msg = Msg {
    name: "PersistentVolumeClaimVolumeSource",
    fields: &[f(1, "claimName", Str), f(2, "readOnly", Bool)],
};
/// `RbdVolumeSource` (`api.core.v1`).
pub(crate) static RBD_VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static FLEX_VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static CINDER_VOLUME_SOURCE: Msg = Msg {
    name: "CinderVolumeSource",
    fields: &[
        f(1, "volumeID", Str),
        f(2, "fsType", Str),
        f(3, "readOnly", Bool),
        f(4, "secretRef", Message(&LOCAL_OBJECT_REFERENCE)),
    ],
};
/// `CephFsVolumeSource` (`api.core.v1`).
pub(crate) static CEPH_FS_VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static FLOCKER_VOLUME_SOURCE: Msg = Msg {
    name: "FlockerVolumeSource",
    fields: &[f(1, "datasetName", Str), f(2, "datasetUUID", Str)],
};
/// `DownwardAPIVolumeSource` (`api.core.v1`).
pub(crate) static DOWNWARD_API_VOLUME_SOURCE: Msg = Msg {
    name: "DownwardAPIVolumeSource",
    fields: &[
        f(1, "items", Message(&DOWNWARD_API_VOLUME_FILE)).rep(),
        f(2, "defaultMode", Int).keep(),
    ],
};
/// `DownwardAPIVolumeFile` (`api.core.v1`).
pub(crate) static DOWNWARD_API_VOLUME_FILE: Msg = Msg {
    name: "DownwardAPIVolumeFile",
    fields: &[
        f(1, "path", Str),
        f(2, "fieldRef", Message(&OBJECT_FIELD_SELECTOR)),
        f(3, "resourceFieldRef", Message(&RESOURCE_FIELD_SELECTOR)),
        f(4, "mode", Int).keep(),
    ],
};
/// `ObjectFieldSelector` (`api.core.v1`).
pub(crate) static OBJECT_FIELD_SELECTOR: Msg = Msg {
    name: "ObjectFieldSelector",
    fields: &[f(1, "apiVersion", Str), f(2, "fieldPath", Str)],
};
/// `ResourceFieldSelector` (`api.core.v1`).
pub(crate) static RESOURCE_FIELD_SELECTOR: Msg = Msg {
    name: "ResourceFieldSelector",
    fields: &[
        f(1, "containerName", Str),
        f(2, "resource", Str),
        f(3, "divisor", Quantity),
    ],
};
/// `FcVolumeSource` (`api.core.v1`).
pub(crate) static FC_VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static AZURE_FILE_VOLUME_SOURCE: Msg = Msg {
    name: "AzureFileVolumeSource",
    fields: &[
        f(1, "secretName", Str),
        f(2, "shareName", Str),
        f(3, "readOnly", Bool),
    ],
};
/// `ConfigMapVolumeSource` (`api.core.v1`).
pub(crate) static CONFIG_MAP_VOLUME_SOURCE: Msg = Msg {
    name: "ConfigMapVolumeSource",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "items", Message(&KEY_TO_PATH)).rep(),
        f(3, "defaultMode", Int).keep(),
        f(4, "optional", Bool).keep(),
    ],
};
/// `VsphereVirtualDiskVolumeSource` (`api.core.v1`).
pub(crate) static VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: Msg = Msg {
    name: "VsphereVirtualDiskVolumeSource",
    fields: &[
        f(1, "volumePath", Str),
        f(2, "fsType", Str),
        f(3, "storagePolicyName", Str),
        f(4, "storagePolicyID", Str),
    ],
};
/// `QuobyteVolumeSource` (`api.core.v1`).
pub(crate) static QUOBYTE_VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static AZURE_DISK_VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: Msg = Msg {
    name: "PhotonPersistentDiskVolumeSource",
    fields: &[f(1, "pdID", Str), f(2, "fsType", Str)],
};
/// `PortworxVolumeSource` (`api.core.v1`).
pub(crate) static PORTWORX_VOLUME_SOURCE: Msg = Msg {
    name: "PortworxVolumeSource",
    fields: &[
        f(1, "volumeID", Str),
        f(2, "fsType", Str),
        f(3, "readOnly", Bool),
    ],
};
/// `ScaleIoVolumeSource` (`api.core.v1`).
pub(crate) static SCALE_IO_VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static PROJECTED_VOLUME_SOURCE: Msg = Msg {
    name: "ProjectedVolumeSource",
    fields: &[
        f(1, "sources", Message(&VOLUME_PROJECTION)).rep(),
        f(2, "defaultMode", Int).keep(),
    ],
};
/// `VolumeProjection` (`api.core.v1`).
pub(crate) static VOLUME_PROJECTION: Msg = Msg {
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
pub(crate) static SECRET_PROJECTION: Msg = Msg {
    name: "SecretProjection",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "items", Message(&KEY_TO_PATH)).rep(),
        f(4, "optional", Bool).keep(),
    ],
};
/// `DownwardAPIProjection` (`api.core.v1`).
pub(crate) static DOWNWARD_API_PROJECTION: Msg = Msg {
    name: "DownwardAPIProjection",
    fields: &[f(1, "items", Message(&DOWNWARD_API_VOLUME_FILE)).rep()],
};
/// `ConfigMapProjection` (`api.core.v1`).
pub(crate) static CONFIG_MAP_PROJECTION: Msg = Msg {
    name: "ConfigMapProjection",
    // The same fields as SECRET_PROJECTION.
    fields: SECRET_PROJECTION.fields,
};
/// `ServiceAccountTokenProjection` (`api.core.v1`).
pub(crate) static SERVICE_ACCOUNT_TOKEN_PROJECTION: Msg = Msg {
    name: "ServiceAccountTokenProjection",
    fields: &[
        f(1, "audience", Str),
        f(2, "expirationSeconds", Int).keep(),
        f(3, "path", Str),
    ],
};
/// `ClusterTrustBundleProjection` (`api.core.v1`).
pub(crate) static CLUSTER_TRUST_BUNDLE_PROJECTION: Msg = Msg {
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
pub(crate) static STORAGE_OS_VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static CSI_VOLUME_SOURCE: Msg = Msg {
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
pub(crate) static EPHEMERAL_VOLUME_SOURCE: Msg = Msg {
    name: "EphemeralVolumeSource",
    fields: &[f(
        1,
        "volumeClaimTemplate",
        Message(&PERSISTENT_VOLUME_CLAIM_TEMPLATE),
    )],
};
/// `PersistentVolumeClaimTemplate` (`api.core.v1`).
pub(crate) static PERSISTENT_VOLUME_CLAIM_TEMPLATE: Msg = Msg {
    name: "PersistentVolumeClaimTemplate",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&PERSISTENT_VOLUME_CLAIM_SPEC)),
    ],
};
/// `PersistentVolumeClaimSpec` (`api.core.v1`).
pub(crate) static PERSISTENT_VOLUME_CLAIM_SPEC: Msg = Msg {
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
pub(crate) static VOLUME_RESOURCE_REQUIREMENTS: Msg = Msg {
    name: "VolumeResourceRequirements",
    fields: &[f(1, "limits", MapQuantity), f(2, "requests", MapQuantity)],
};
/// `TypedLocalObjectReference` (`api.core.v1`).
pub(crate) static TYPED_LOCAL_OBJECT_REFERENCE: Msg = Msg {
    name: "TypedLocalObjectReference",
    fields: &[f(1, "apiGroup", Str), f(2, "kind", Str), f(3, "name", Str)],
};
/// `TypedObjectReference` (`api.core.v1`).
pub(crate) static TYPED_OBJECT_REFERENCE: Msg = Msg {
    name: "TypedObjectReference",
    fields: &[
        f(1, "apiGroup", Str),
        f(2, "kind", Str),
        f(3, "name", Str),
        f(4, "namespace", Str),
    ],
};
/// `ImageVolumeSource` (`api.core.v1`).
pub(crate) static IMAGE_VOLUME_SOURCE: Msg = Msg {
    name: "ImageVolumeSource",
    fields: &[f(1, "reference", Str), f(2, "pullPolicy", Str)],
};
