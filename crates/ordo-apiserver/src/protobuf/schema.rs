//! The shape of the schema table ([`super::tables`]): messages, their fields and how each field's
//! value turns into JSON.

use super::tables;

/// How a field is encoded on the wire and written in JSON.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// `string` → JSON string.
    Str,
    /// `int32`/`int64` (varint, two's complement) → JSON number.
    Int,
    /// `bool` → JSON boolean.
    Bool,
    /// `bytes` → base64 JSON string.
    Bytes,
    /// A nested message → JSON object.
    Message(&'static Msg),
    /// A Go struct embedded with `json:",inline"`: its fields go into the enclosing object.
    Inline(&'static Msg),
    /// `map<string, string>` → JSON object of strings.
    MapStr,
    /// `map<string, bytes>` → JSON object of base64 strings.
    MapBytes,
    /// `map<string, Quantity>` → JSON object of quantity strings.
    MapQuantity,
    /// `IntOrString {type, intVal, strVal}` → JSON number or string.
    IntOrStr,
    /// `Quantity {string}` → JSON string.
    Quantity,
    /// `Time {seconds, nanos}` → RFC 3339 string, `null` when zero.
    Time,
    /// `RawExtension`/`FieldsV1 {raw}` holding JSON → that JSON value.
    Raw,
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    /// The protobuf field number.
    pub(crate) number: u64,
    /// The JSON name (empty for [`Kind::Inline`]).
    pub(crate) name: &'static str,
    /// How the value is decoded.
    pub(crate) kind: Kind,
    /// `repeated`: a JSON array.
    pub(crate) repeated: bool,
    /// Keep a zero scalar (`0`, `false`, `""`) instead of dropping it: the Go field is a pointer
    /// or has no `omitempty`.
    pub(crate) keep: bool,
}

/// A field of `kind` named `name` with number `number`.
pub(crate) const fn f(number: u64, name: &'static str, kind: Kind) -> Field {
    Field {
        number,
        name,
        kind,
        repeated: false,
        keep: false,
    }
}

impl Field {
    /// The field is `repeated`.
    pub(crate) const fn rep(mut self) -> Self {
        self.repeated = true;
        self
    }

    /// The field's zero value is meaningful and kept in JSON.
    pub(crate) const fn keep(mut self) -> Self {
        self.keep = true;
        self
    }
}

/// A protobuf message: its Go type name (for error messages) and its fields.
#[derive(Debug)]
pub(crate) struct Msg {
    /// The upstream type name, e.g. `PodSpec`.
    pub(crate) name: &'static str,
    /// Every field ordo decodes.
    pub(crate) fields: &'static [Field],
}

impl Msg {
    /// The field numbered `number`, if the table has it.
    pub(crate) fn field(&self, number: u64) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.number == number)
    }
}

/// The top-level kinds whose protobuf bodies are decoded, by (apiVersion, kind).
pub(crate) static ROOTS: &[(&str, &str, &Msg)] = &[
    ("v1", "ConfigMap", &tables::CONFIG_MAP),
    ("v1", "Namespace", &tables::NAMESPACE),
    (
        "v1",
        "PersistentVolumeClaim",
        &tables::PERSISTENT_VOLUME_CLAIM,
    ),
    ("v1", "LimitRange", &tables::LIMIT_RANGE),
    ("v1", "Pod", &tables::POD),
    (
        "v1",
        "ReplicationController",
        &tables::REPLICATION_CONTROLLER,
    ),
    ("v1", "ResourceQuota", &tables::RESOURCE_QUOTA),
    ("v1", "Secret", &tables::SECRET),
    ("v1", "Service", &tables::SERVICE),
    ("v1", "ServiceAccount", &tables::SERVICE_ACCOUNT),
    ("apps/v1", "Deployment", &tables::DEPLOYMENT),
    ("apps/v1", "ReplicaSet", &tables::REPLICA_SET),
    ("apps/v1", "StatefulSet", &tables::STATEFUL_SET),
    ("autoscaling/v1", "HorizontalPodAutoscaler", &tables::HPA_V1),
    ("batch/v1", "CronJob", &tables::CRON_JOB),
    ("batch/v1", "Job", &tables::JOB),
    (
        "policy/v1",
        "PodDisruptionBudget",
        &tables::POD_DISRUPTION_BUDGET,
    ),
    ("policy/v1", "Eviction", &tables::EVICTION),
    (
        "scheduling.k8s.io/v1",
        "PriorityClass",
        &tables::PRIORITY_CLASS,
    ),
    ("v1", "DeleteOptions", &tables::DELETE_OPTIONS),
    ("meta.k8s.io/v1", "DeleteOptions", &tables::DELETE_OPTIONS),
    (
        "authorization.k8s.io/v1",
        "LocalSubjectAccessReview",
        &tables::SUBJECT_ACCESS_REVIEW,
    ),
    (
        "authorization.k8s.io/v1",
        "SelfSubjectAccessReview",
        &tables::SELF_SUBJECT_ACCESS_REVIEW,
    ),
    (
        "authorization.k8s.io/v1",
        "SelfSubjectRulesReview",
        &tables::SELF_SUBJECT_RULES_REVIEW,
    ),
    (
        "authorization.k8s.io/v1",
        "SubjectAccessReview",
        &tables::SUBJECT_ACCESS_REVIEW,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        &tables::CLUSTER_ROLE,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        &tables::CLUSTER_ROLE_BINDING,
    ),
    ("rbac.authorization.k8s.io/v1", "Role", &tables::ROLE),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        &tables::ROLE_BINDING,
    ),
    (
        "authentication.k8s.io/v1",
        "TokenRequest",
        &tables::TOKEN_REQUEST,
    ),
    (
        "authentication.k8s.io/v1",
        "TokenReview",
        &tables::TOKEN_REVIEW,
    ),
    (
        "authentication.k8s.io/v1",
        "SelfSubjectReview",
        &tables::SELF_SUBJECT_REVIEW,
    ),
    (
        "certificates.k8s.io/v1",
        "CertificateSigningRequest",
        &tables::CERTIFICATE_SIGNING_REQUEST,
    ),
];

/// The message of a top-level kind.
pub(crate) fn root(api_version: &str, kind: &str) -> Option<&'static Msg> {
    ROOTS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
        .map(|(_, _, m)| *m)
}
