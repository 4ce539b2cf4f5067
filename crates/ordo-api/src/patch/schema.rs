//! Patch metadata for strategic merge patch: which lists merge, and by which key.
//!
//! This mirrors the `patchStrategy` / `patchMergeKey` struct tags of the upstream
//! `k8s.io/api` types for the fields ordo cares about. The schema is a tiny type graph:
//! each [`Schema`] node knows the node type and [`FieldMeta`] of its children. Anything
//! not described is [`Schema::Any`]: maps merge, lists replace.

/// How a list field is patched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldMeta {
    /// `patchStrategy:"merge"`; otherwise the list is replaced whole.
    pub merge: bool,
    /// `patchMergeKey`; `None` for merged primitive lists (set union).
    pub key: Option<&'static str>,
}

const REPLACE: FieldMeta = FieldMeta {
    merge: false,
    key: None,
};
const UNION: FieldMeta = FieldMeta {
    merge: true,
    key: None,
};

const fn by(key: &'static str) -> FieldMeta {
    FieldMeta {
        merge: true,
        key: Some(key),
    }
}

/// Kinds whose top-level object has a known shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RootKind {
    Pod,
    /// Objects whose `spec.template` is a `PodTemplateSpec` (StatefulSet, Deployment, ...).
    Workload,
    CronJob,
    PodTemplate,
    Service,
    Node,
    Other,
}

impl RootKind {
    pub(crate) fn of(kind: &str) -> Self {
        match kind {
            "Pod" => Self::Pod,
            "StatefulSet"
            | "Deployment"
            | "ReplicaSet"
            | "DaemonSet"
            | "Job"
            | "ReplicationController" => Self::Workload,
            "CronJob" => Self::CronJob,
            "PodTemplate" => Self::PodTemplate,
            "Service" => Self::Service,
            "Node" => Self::Node,
            _ => Self::Other,
        }
    }
}

/// A node of the patch schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Schema {
    /// Unknown shape: maps merge, lists replace.
    Any,
    /// A top-level object of the given kind.
    Root(RootKind),
    ObjectMeta,
    PodTemplateSpec,
    PodSpec,
    Container,
    /// A spec holding a pod `template` (StatefulSet, Deployment, ReplicaSet, DaemonSet, Job).
    WorkloadSpec,
    CronJobSpec,
    JobTemplateSpec,
    ServiceSpec,
    NodeSpec,
    PodStatus,
    NodeStatus,
    /// Any other `status`: `conditions` merge by `type`.
    Status,
}

impl Schema {
    /// The schema and patch metadata of field `key` of a map of this schema.
    pub(crate) fn field(self, key: &str) -> (Schema, FieldMeta) {
        use Schema::*;
        let any = |meta| (Any, meta);
        match (self, key) {
            (Root(_), "metadata") => (ObjectMeta, REPLACE),
            (Root(RootKind::Pod), "spec") => (PodSpec, REPLACE),
            (Root(RootKind::Workload), "spec") => (WorkloadSpec, REPLACE),
            (Root(RootKind::CronJob), "spec") => (CronJobSpec, REPLACE),
            (Root(RootKind::Service), "spec") => (ServiceSpec, REPLACE),
            (Root(RootKind::Node), "spec") => (NodeSpec, REPLACE),
            (Root(RootKind::PodTemplate), "template") => (PodTemplateSpec, REPLACE),
            (Root(RootKind::Pod), "status") => (PodStatus, REPLACE),
            (Root(RootKind::Node), "status") => (NodeStatus, REPLACE),
            (Root(_), "status") => (Status, REPLACE),

            (ObjectMeta, "finalizers") => any(UNION),
            (ObjectMeta, "ownerReferences") => any(by("uid")),

            (PodTemplateSpec | JobTemplateSpec, "metadata") => (ObjectMeta, REPLACE),
            (PodTemplateSpec, "spec") => (PodSpec, REPLACE),
            (JobTemplateSpec, "spec") => (WorkloadSpec, REPLACE),
            (WorkloadSpec, "template") => (PodTemplateSpec, REPLACE),
            (CronJobSpec, "jobTemplate") => (JobTemplateSpec, REPLACE),

            (PodSpec, "containers" | "initContainers" | "ephemeralContainers") => {
                (Container, by("name"))
            }
            (PodSpec, "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates") => {
                any(by("name"))
            }
            (PodSpec, "hostAliases") => any(by("ip")),
            (PodSpec, "topologySpreadConstraints") => any(by("topologyKey")),

            (Container, "env") => any(by("name")),
            (Container, "ports") => any(by("containerPort")),
            (Container, "volumeMounts") => any(by("mountPath")),
            (Container, "volumeDevices") => any(by("devicePath")),
            (Container, "resizePolicy") => any(by("resourceName")),

            (ServiceSpec, "ports") => any(by("port")),
            (NodeSpec, "podCIDRs") => any(UNION),

            (PodStatus | NodeStatus | Status, "conditions") => any(by("type")),
            (PodStatus, "podIPs" | "hostIPs") => any(by("ip")),
            (NodeStatus, "addresses") => any(by("type")),

            _ => any(REPLACE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(kind: &str, path: &[&str]) -> (Schema, FieldMeta) {
        let mut cur = (Schema::Root(RootKind::of(kind)), REPLACE);
        for p in path {
            cur = cur.0.field(p);
        }
        cur
    }

    #[test]
    fn pod_spec_is_found_at_every_template_path() {
        let cases: &[(&str, &[&str])] = &[
            ("Pod", &["spec", "containers"]),
            ("StatefulSet", &["spec", "template", "spec", "containers"]),
            (
                "Deployment",
                &["spec", "template", "spec", "initContainers"],
            ),
            ("ReplicaSet", &["spec", "template", "spec", "containers"]),
            ("DaemonSet", &["spec", "template", "spec", "containers"]),
            ("Job", &["spec", "template", "spec", "containers"]),
            (
                "CronJob",
                &[
                    "spec",
                    "jobTemplate",
                    "spec",
                    "template",
                    "spec",
                    "containers",
                ],
            ),
            ("PodTemplate", &["template", "spec", "ephemeralContainers"]),
        ];
        for (kind, path) in cases {
            assert_eq!(
                walk(kind, path),
                (Schema::Container, by("name")),
                "{kind} {path:?}"
            );
        }
    }

    #[test]
    fn merge_keys() {
        assert_eq!(walk("Pod", &["spec", "containers", "env"]).1, by("name"));
        assert_eq!(
            walk("Pod", &["spec", "containers", "ports"]).1,
            by("containerPort")
        );
        assert_eq!(walk("Service", &["spec", "ports"]).1, by("port"));
        assert_eq!(walk("Pod", &["spec", "ports"]).1, REPLACE);
        assert_eq!(walk("Node", &["status", "addresses"]).1, by("type"));
        assert_eq!(walk("Node", &["status", "images"]).1, REPLACE);
        assert_eq!(
            walk("PersistentVolumeClaim", &["status", "conditions"]).1,
            by("type")
        );
        assert_eq!(walk("Pod", &["status", "containerStatuses"]).1, REPLACE);
        assert_eq!(walk("Pod", &["spec", "tolerations"]).1, REPLACE);
        assert_eq!(
            walk("StatefulSet", &["spec", "volumeClaimTemplates"]).1,
            REPLACE
        );
        assert_eq!(walk("ConfigMap", &["metadata", "finalizers"]).1, UNION);
        assert_eq!(
            walk(
                "Deployment",
                &["spec", "template", "metadata", "ownerReferences"]
            )
            .1,
            by("uid")
        );
        assert_eq!(walk("ConfigMap", &["data", "containers"]).1, REPLACE);
    }
}
