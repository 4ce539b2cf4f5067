//! The protobuf schema, generated at build time (`build.rs`) from k8s-pb's prost messages, and
//! the handful of apimachinery messages whose JSON form is not an object of their fields.

/// How a field is encoded on the wire.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ty {
    /// `string`.
    Str,
    /// `int32` (varint, sign-extended).
    Int32,
    /// `int64` (varint).
    Int64,
    /// `bool`.
    Bool,
    /// `bytes`, base64 in JSON.
    Bytes,
    /// `double` (fixed 64 bits).
    Double,
    /// A nested message, by index in [`MESSAGES`].
    Message(usize),
    /// `map<string, string>`.
    MapStr,
    /// `map<string, bytes>`.
    MapBytes,
    /// `map<string, Message>`.
    MapMessage(usize),
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    /// The protobuf field number.
    pub(crate) number: u32,
    /// The JSON name (the Go `json` tag).
    pub(crate) json: &'static str,
    /// The wire type.
    pub(crate) ty: Ty,
    /// `repeated`: a JSON array.
    pub(crate) repeated: bool,
    /// Required in the API (not `Option` in k8s-openapi): a zero value stays in JSON.
    pub(crate) required: bool,
    /// A Go struct embedded with `json:",inline"`: its fields live in the enclosing object.
    pub(crate) inline: bool,
}

/// A protobuf message.
#[derive(Debug)]
pub(crate) struct Msg {
    /// The k8s-pb path, e.g. `api::core::v1::PodSpec`.
    pub(crate) path: &'static str,
    /// The Go type name, e.g. `PodSpec`.
    pub(crate) name: &'static str,
    /// Its fields, in declaration order.
    pub(crate) fields: &'static [Field],
}

include!(concat!(env!("OUT_DIR"), "/k8s_pb_schema.rs"));

/// Messages whose JSON form is not an object of their fields (custom Go marshallers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    /// A plain message.
    None,
    /// `IntOrString {type, intVal, strVal}` → number or string.
    IntOrString,
    /// `Quantity {string}` → string.
    Quantity,
    /// `Time {seconds, nanos}` → RFC 3339 with seconds, `null` when zero.
    Time,
    /// `MicroTime {seconds, nanos}` → RFC 3339 with microseconds.
    MicroTime,
    /// `Duration {duration}` (nanoseconds) → Go duration string.
    Duration,
    /// `RawExtension`, `FieldsV1`, apiextensions `JSON` `{raw}` → the JSON value they hold.
    Raw,
    /// A `{repeated string items}` wrapper (`ExtraValue`, `Verbs`) → array of strings.
    StringList,
}

impl Msg {
    /// How this message is written in JSON.
    pub(crate) fn special(&self) -> Special {
        match self.path {
            "apimachinery::pkg::util::intstr::IntOrString" => Special::IntOrString,
            "apimachinery::pkg::api::resource::Quantity" => Special::Quantity,
            "apimachinery::pkg::apis::meta::v1::Time" => Special::Time,
            "apimachinery::pkg::apis::meta::v1::MicroTime" => Special::MicroTime,
            "apimachinery::pkg::apis::meta::v1::Duration" => Special::Duration,
            "apimachinery::pkg::runtime::RawExtension"
            | "apimachinery::pkg::apis::meta::v1::FieldsV1"
            | "apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON" => Special::Raw,
            _ if self.fields.len() == 1
                && self.fields[0].json == "items"
                && self.fields[0].repeated
                && matches!(self.fields[0].ty, Ty::Str) =>
            {
                Special::StringList
            }
            _ => Special::None,
        }
    }

    /// The field numbered `number`.
    pub(crate) fn field(&self, number: u32) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.number == number)
    }
}

/// The message at `index`.
pub(crate) fn message(index: usize) -> &'static Msg {
    &MESSAGES[index]
}

/// The message of a top-level object by (apiVersion, kind). Options and other
/// `meta.k8s.io` messages (`DeleteOptions`, `Status`, `WatchEvent`) are accepted under any
/// group-version, as upstream registers them in every group.
pub(crate) fn root(api_version: &str, kind: &str) -> Option<&'static Msg> {
    let find = |v: &str| {
        ROOTS
            .iter()
            .find(|(rv, k, _)| *rv == v && *k == kind)
            .map(|(_, _, i)| message(*i))
    };
    find(api_version).or_else(|| {
        matches!(
            kind,
            "DeleteOptions"
                | "Status"
                | "WatchEvent"
                | "ListOptions"
                | "GetOptions"
                | "CreateOptions"
                | "UpdateOptions"
                | "PatchOptions"
        )
        .then(|| find("meta.k8s.io/v1"))
        .flatten()
    })
}

/// JSON names of optional fields that are Go pointers: their zero value (`0`, `false`, `""`)
/// means something and stays in JSON when decoded. Every other optional zero scalar is dropped,
/// as Go's `omitempty` drops it (k8s-pb keeps no pointer-ness, so this list is the one piece of
/// per-field knowledge the codec has; a field missing here only loses an explicit zero).
pub(crate) const POINTER_ZEROS: &[&str] = &[
    "activeDeadlineSeconds",
    "allocateLoadBalancerNodePorts",
    "allowPrivilegeEscalation",
    "automountServiceAccountToken",
    "backoffLimit",
    "backoffLimitPerIndex",
    "blockOwnerDeletion",
    "collisionCount",
    "completionMode",
    "completions",
    "containerName",
    "controller",
    "defaultMode",
    "deletionGracePeriodSeconds",
    "enableServiceLinks",
    "expectedPods",
    "expirationSeconds",
    "failedIndexes",
    "failedJobsHistoryLimit",
    "fsGroup",
    "gracePeriodSeconds",
    "hostProcess",
    "hostUsers",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "immutable",
    "lun",
    "managedBy",
    "manualSelector",
    "maxFailedIndexes",
    "minDomains",
    "minReplicas",
    "mode",
    "optional",
    "orphanDependents",
    "parallelism",
    "partition",
    "podReplacementPolicy",
    "priority",
    "privileged",
    "progressDeadlineSeconds",
    "readOnlyRootFilesystem",
    "ready",
    "replicas",
    "revisionHistoryLimit",
    "runAsGroup",
    "runAsNonRoot",
    "runAsUser",
    "setHostnameAsFQDN",
    "shareProcessNamespace",
    "started",
    "startingDeadlineSeconds",
    "storageClassName",
    "succeededCount",
    "succeededIndexes",
    "successfulJobsHistoryLimit",
    "suspend",
    "targetCPUUtilizationPercentage",
    "terminating",
    "terminatingReplicas",
    "terminationGracePeriodSeconds",
    "timeoutSeconds",
    "timeZone",
    "tolerationSeconds",
    "ttlSecondsAfterFinished",
];
