//! PodSpec and everything under it but volumes: containers, probes, security contexts,
//! affinity; and PodStatus.

use crate::protobuf::schema::{f, Kind::*, Msg};

use super::*;

/// `PodSpec` (`api.core.v1`).
pub(crate) static POD_SPEC: Msg = Msg {
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
/// `Container` (`api.core.v1`).
pub(crate) static CONTAINER: Msg = Msg {
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
pub(crate) static CONTAINER_PORT: Msg = Msg {
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
pub(crate) static ENV_VAR: Msg = Msg {
    name: "EnvVar",
    fields: &[
        f(1, "name", Str),
        f(2, "value", Str),
        f(3, "valueFrom", Message(&ENV_VAR_SOURCE)),
    ],
};
/// `EnvVarSource` (`api.core.v1`).
pub(crate) static ENV_VAR_SOURCE: Msg = Msg {
    name: "EnvVarSource",
    fields: &[
        f(1, "fieldRef", Message(&OBJECT_FIELD_SELECTOR)),
        f(2, "resourceFieldRef", Message(&RESOURCE_FIELD_SELECTOR)),
        f(3, "configMapKeyRef", Message(&CONFIG_MAP_KEY_SELECTOR)),
        f(4, "secretKeyRef", Message(&SECRET_KEY_SELECTOR)),
    ],
};
/// `ConfigMapKeySelector` (`api.core.v1`).
pub(crate) static CONFIG_MAP_KEY_SELECTOR: Msg = Msg {
    name: "ConfigMapKeySelector",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "key", Str),
        f(3, "optional", Bool).keep(),
    ],
};
/// `SecretKeySelector` (`api.core.v1`).
pub(crate) static SECRET_KEY_SELECTOR: Msg = Msg {
    name: "SecretKeySelector",
    // The same fields as CONFIG_MAP_KEY_SELECTOR.
    fields: CONFIG_MAP_KEY_SELECTOR.fields,
};
/// `ResourceRequirements` (`api.core.v1`).
pub(crate) static RESOURCE_REQUIREMENTS: Msg = Msg {
    name: "ResourceRequirements",
    fields: &[
        f(1, "limits", MapQuantity),
        f(2, "requests", MapQuantity),
        f(3, "claims", Message(&RESOURCE_CLAIM)).rep(),
    ],
};
/// `ResourceClaim` (`api.core.v1`).
pub(crate) static RESOURCE_CLAIM: Msg = Msg {
    name: "ResourceClaim",
    fields: &[f(1, "name", Str), f(2, "request", Str)],
};
/// `VolumeMount` (`api.core.v1`).
pub(crate) static VOLUME_MOUNT: Msg = Msg {
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
pub(crate) static PROBE: Msg = Msg {
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
pub(crate) static PROBE_HANDLER: Msg = Msg {
    name: "ProbeHandler",
    fields: &[
        f(1, "exec", Message(&EXEC_ACTION)),
        f(2, "httpGet", Message(&HTTP_GET_ACTION)),
        f(3, "tcpSocket", Message(&TCP_SOCKET_ACTION)),
        f(4, "grpc", Message(&GRPC_ACTION)),
    ],
};
/// `ExecAction` (`api.core.v1`).
pub(crate) static EXEC_ACTION: Msg = Msg {
    name: "ExecAction",
    fields: &[f(1, "command", Str).rep()],
};
/// `HttpGetAction` (`api.core.v1`).
pub(crate) static HTTP_GET_ACTION: Msg = Msg {
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
pub(crate) static HTTP_HEADER: Msg = Msg {
    name: "HttpHeader",
    fields: &[f(1, "name", Str), f(2, "value", Str)],
};
/// `TcpSocketAction` (`api.core.v1`).
pub(crate) static TCP_SOCKET_ACTION: Msg = Msg {
    name: "TcpSocketAction",
    fields: &[f(1, "port", IntOrStr), f(2, "host", Str)],
};
/// `GrpcAction` (`api.core.v1`).
pub(crate) static GRPC_ACTION: Msg = Msg {
    name: "GrpcAction",
    fields: &[f(1, "port", Int).keep(), f(2, "service", Str)],
};
/// `Lifecycle` (`api.core.v1`).
pub(crate) static LIFECYCLE: Msg = Msg {
    name: "Lifecycle",
    fields: &[
        f(1, "postStart", Message(&LIFECYCLE_HANDLER)),
        f(2, "preStop", Message(&LIFECYCLE_HANDLER)),
        f(3, "stopSignal", Str),
    ],
};
/// `LifecycleHandler` (`api.core.v1`).
pub(crate) static LIFECYCLE_HANDLER: Msg = Msg {
    name: "LifecycleHandler",
    fields: &[
        f(1, "exec", Message(&EXEC_ACTION)),
        f(2, "httpGet", Message(&HTTP_GET_ACTION)),
        f(3, "tcpSocket", Message(&TCP_SOCKET_ACTION)),
        f(4, "sleep", Message(&SLEEP_ACTION)),
    ],
};
/// `SleepAction` (`api.core.v1`).
pub(crate) static SLEEP_ACTION: Msg = Msg {
    name: "SleepAction",
    fields: &[f(1, "seconds", Int).keep()],
};
/// `SecurityContext` (`api.core.v1`).
pub(crate) static SECURITY_CONTEXT: Msg = Msg {
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
pub(crate) static CAPABILITIES: Msg = Msg {
    name: "Capabilities",
    fields: &[f(1, "add", Str).rep(), f(2, "drop", Str).rep()],
};
/// `SeLinuxOptions` (`api.core.v1`).
pub(crate) static SE_LINUX_OPTIONS: Msg = Msg {
    name: "SeLinuxOptions",
    fields: &[
        f(1, "user", Str),
        f(2, "role", Str),
        f(3, "type", Str),
        f(4, "level", Str),
    ],
};
/// `WindowsSecurityContextOptions` (`api.core.v1`).
pub(crate) static WINDOWS_SECURITY_CONTEXT_OPTIONS: Msg = Msg {
    name: "WindowsSecurityContextOptions",
    fields: &[
        f(1, "gmsaCredentialSpecName", Str),
        f(2, "gmsaCredentialSpec", Str),
        f(3, "runAsUserName", Str),
        f(4, "hostProcess", Bool).keep(),
    ],
};
/// `SeccompProfile` (`api.core.v1`).
pub(crate) static SECCOMP_PROFILE: Msg = Msg {
    name: "SeccompProfile",
    fields: &[f(1, "type", Str), f(2, "localhostProfile", Str)],
};
/// `AppArmorProfile` (`api.core.v1`).
pub(crate) static APP_ARMOR_PROFILE: Msg = Msg {
    name: "AppArmorProfile",
    // The same fields as SECCOMP_PROFILE.
    fields: SECCOMP_PROFILE.fields,
};
/// `EnvFromSource` (`api.core.v1`).
pub(crate) static ENV_FROM_SOURCE: Msg = Msg {
    name: "EnvFromSource",
    fields: &[
        f(1, "prefix", Str),
        f(2, "configMapRef", Message(&CONFIG_MAP_ENV_SOURCE)),
        f(3, "secretRef", Message(&SECRET_ENV_SOURCE)),
    ],
};
/// `ConfigMapEnvSource` (`api.core.v1`).
pub(crate) static CONFIG_MAP_ENV_SOURCE: Msg = Msg {
    name: "ConfigMapEnvSource",
    fields: &[
        f(1, "", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "optional", Bool).keep(),
    ],
};
/// `SecretEnvSource` (`api.core.v1`).
pub(crate) static SECRET_ENV_SOURCE: Msg = Msg {
    name: "SecretEnvSource",
    // The same fields as CONFIG_MAP_ENV_SOURCE.
    fields: CONFIG_MAP_ENV_SOURCE.fields,
};
/// `VolumeDevice` (`api.core.v1`).
pub(crate) static VOLUME_DEVICE: Msg = Msg {
    name: "VolumeDevice",
    fields: &[f(1, "name", Str), f(2, "devicePath", Str)],
};
/// `ContainerResizePolicy` (`api.core.v1`).
pub(crate) static CONTAINER_RESIZE_POLICY: Msg = Msg {
    name: "ContainerResizePolicy",
    fields: &[f(1, "resourceName", Str), f(2, "restartPolicy", Str)],
};
/// `PodSecurityContext` (`api.core.v1`).
pub(crate) static POD_SECURITY_CONTEXT: Msg = Msg {
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
pub(crate) static SYSCTL: Msg = Msg {
    name: "Sysctl",
    // The same fields as HTTP_HEADER.
    fields: HTTP_HEADER.fields,
};
/// `Affinity` (`api.core.v1`).
pub(crate) static AFFINITY: Msg = Msg {
    name: "Affinity",
    fields: &[
        f(1, "nodeAffinity", Message(&NODE_AFFINITY)),
        f(2, "podAffinity", Message(&POD_AFFINITY)),
        f(3, "podAntiAffinity", Message(&POD_ANTI_AFFINITY)),
    ],
};
/// `NodeAffinity` (`api.core.v1`).
pub(crate) static NODE_AFFINITY: Msg = Msg {
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
pub(crate) static NODE_SELECTOR: Msg = Msg {
    name: "NodeSelector",
    fields: &[f(1, "nodeSelectorTerms", Message(&NODE_SELECTOR_TERM)).rep()],
};
/// `NodeSelectorTerm` (`api.core.v1`).
pub(crate) static NODE_SELECTOR_TERM: Msg = Msg {
    name: "NodeSelectorTerm",
    fields: &[
        f(1, "matchExpressions", Message(&NODE_SELECTOR_REQUIREMENT)).rep(),
        f(2, "matchFields", Message(&NODE_SELECTOR_REQUIREMENT)).rep(),
    ],
};
/// `NodeSelectorRequirement` (`api.core.v1`).
pub(crate) static NODE_SELECTOR_REQUIREMENT: Msg = Msg {
    name: "NodeSelectorRequirement",
    // The same fields as LABEL_SELECTOR_REQUIREMENT.
    fields: LABEL_SELECTOR_REQUIREMENT.fields,
};
/// `PreferredSchedulingTerm` (`api.core.v1`).
pub(crate) static PREFERRED_SCHEDULING_TERM: Msg = Msg {
    name: "PreferredSchedulingTerm",
    fields: &[
        f(1, "weight", Int),
        f(2, "preference", Message(&NODE_SELECTOR_TERM)),
    ],
};
/// `PodAffinity` (`api.core.v1`).
pub(crate) static POD_AFFINITY: Msg = Msg {
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
pub(crate) static POD_AFFINITY_TERM: Msg = Msg {
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
pub(crate) static WEIGHTED_POD_AFFINITY_TERM: Msg = Msg {
    name: "WeightedPodAffinityTerm",
    fields: &[
        f(1, "weight", Int),
        f(2, "podAffinityTerm", Message(&POD_AFFINITY_TERM)),
    ],
};
/// `PodAntiAffinity` (`api.core.v1`).
pub(crate) static POD_ANTI_AFFINITY: Msg = Msg {
    name: "PodAntiAffinity",
    // The same fields as POD_AFFINITY.
    fields: POD_AFFINITY.fields,
};
/// `Toleration` (`api.core.v1`).
pub(crate) static TOLERATION: Msg = Msg {
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
pub(crate) static HOST_ALIAS: Msg = Msg {
    name: "HostAlias",
    fields: &[f(1, "ip", Str), f(2, "hostnames", Str).rep()],
};
/// `PodDnsConfig` (`api.core.v1`).
pub(crate) static POD_DNS_CONFIG: Msg = Msg {
    name: "PodDnsConfig",
    fields: &[
        f(1, "nameservers", Str).rep(),
        f(2, "searches", Str).rep(),
        f(3, "options", Message(&POD_DNS_CONFIG_OPTION)).rep(),
    ],
};
/// `PodDnsConfigOption` (`api.core.v1`).
pub(crate) static POD_DNS_CONFIG_OPTION: Msg = Msg {
    name: "PodDnsConfigOption",
    // The same fields as HTTP_HEADER.
    fields: HTTP_HEADER.fields,
};
/// `PodReadinessGate` (`api.core.v1`).
pub(crate) static POD_READINESS_GATE: Msg = Msg {
    name: "PodReadinessGate",
    fields: &[f(1, "conditionType", Str)],
};
/// `TopologySpreadConstraint` (`api.core.v1`).
pub(crate) static TOPOLOGY_SPREAD_CONSTRAINT: Msg = Msg {
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
pub(crate) static EPHEMERAL_CONTAINER: Msg = Msg {
    name: "EphemeralContainer",
    fields: &[
        f(1, "", Inline(&EPHEMERAL_CONTAINER_COMMON)),
        f(2, "targetContainerName", Str),
    ],
};
/// `EphemeralContainerCommon` (`api.core.v1`).
pub(crate) static EPHEMERAL_CONTAINER_COMMON: Msg = Msg {
    name: "EphemeralContainerCommon",
    // The same fields as CONTAINER.
    fields: CONTAINER.fields,
};
/// `PodOs` (`api.core.v1`).
pub(crate) static POD_OS: Msg = Msg {
    name: "PodOs",
    // The same fields as LOCAL_OBJECT_REFERENCE.
    fields: LOCAL_OBJECT_REFERENCE.fields,
};
/// `PodSchedulingGate` (`api.core.v1`).
pub(crate) static POD_SCHEDULING_GATE: Msg = Msg {
    name: "PodSchedulingGate",
    // The same fields as LOCAL_OBJECT_REFERENCE.
    fields: LOCAL_OBJECT_REFERENCE.fields,
};
/// `PodResourceClaim` (`api.core.v1`).
pub(crate) static POD_RESOURCE_CLAIM: Msg = Msg {
    name: "PodResourceClaim",
    fields: &[
        f(1, "name", Str),
        f(3, "resourceClaimName", Str),
        f(4, "resourceClaimTemplateName", Str),
    ],
};
/// `PodStatus` (`api.core.v1`).
pub(crate) static POD_STATUS: Msg = Msg {
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
pub(crate) static POD_CONDITION: Msg = Msg {
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
pub(crate) static CONTAINER_STATUS: Msg = Msg {
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
pub(crate) static CONTAINER_STATE: Msg = Msg {
    name: "ContainerState",
    fields: &[
        f(1, "waiting", Message(&CONTAINER_STATE_WAITING)),
        f(2, "running", Message(&CONTAINER_STATE_RUNNING)),
        f(3, "terminated", Message(&CONTAINER_STATE_TERMINATED)),
    ],
};
/// `ContainerStateWaiting` (`api.core.v1`).
pub(crate) static CONTAINER_STATE_WAITING: Msg = Msg {
    name: "ContainerStateWaiting",
    fields: &[f(1, "reason", Str), f(2, "message", Str)],
};
/// `ContainerStateRunning` (`api.core.v1`).
pub(crate) static CONTAINER_STATE_RUNNING: Msg = Msg {
    name: "ContainerStateRunning",
    fields: &[f(1, "startedAt", Time)],
};
/// `ContainerStateTerminated` (`api.core.v1`).
pub(crate) static CONTAINER_STATE_TERMINATED: Msg = Msg {
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
pub(crate) static VOLUME_MOUNT_STATUS: Msg = Msg {
    name: "VolumeMountStatus",
    fields: &[
        f(1, "name", Str),
        f(2, "mountPath", Str),
        f(3, "readOnly", Bool),
        f(4, "recursiveReadOnly", Str),
    ],
};
/// `ContainerUser` (`api.core.v1`).
pub(crate) static CONTAINER_USER: Msg = Msg {
    name: "ContainerUser",
    fields: &[f(1, "linux", Message(&LINUX_CONTAINER_USER))],
};
/// `LinuxContainerUser` (`api.core.v1`).
pub(crate) static LINUX_CONTAINER_USER: Msg = Msg {
    name: "LinuxContainerUser",
    fields: &[
        f(1, "uid", Int).keep(),
        f(2, "gid", Int).keep(),
        f(3, "supplementalGroups", Int).rep(),
    ],
};
/// `ResourceStatus` (`api.core.v1`).
pub(crate) static RESOURCE_STATUS: Msg = Msg {
    name: "ResourceStatus",
    fields: &[
        f(1, "name", Str),
        f(2, "resources", Message(&RESOURCE_HEALTH)).rep(),
    ],
};
/// `ResourceHealth` (`api.core.v1`).
pub(crate) static RESOURCE_HEALTH: Msg = Msg {
    name: "ResourceHealth",
    fields: &[f(1, "resourceID", Str), f(2, "health", Str)],
};
/// `PodIp` (`api.core.v1`).
pub(crate) static POD_IP: Msg = Msg {
    name: "PodIp",
    fields: &[f(1, "ip", Str)],
};
/// `PodResourceClaimStatus` (`api.core.v1`).
pub(crate) static POD_RESOURCE_CLAIM_STATUS: Msg = Msg {
    name: "PodResourceClaimStatus",
    fields: &[f(1, "name", Str), f(2, "resourceClaimName", Str)],
};
/// `HostIp` (`api.core.v1`).
pub(crate) static HOST_IP: Msg = Msg {
    name: "HostIp",
    // The same fields as POD_IP.
    fields: POD_IP.fields,
};
