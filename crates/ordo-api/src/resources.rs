//! The resources ordo serves: names, scope, subresources, and typed decoding through k8s-openapi.

use serde_json::Value;

/// Static description of one served resource (one row of discovery).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group, `""` for the core group.
    pub group: &'static str,
    /// API version within the group, e.g. `v1`.
    pub version: &'static str,
    /// Kind of its objects, e.g. `StatefulSet`.
    pub kind: &'static str,
    /// Plural resource name used in URLs.
    pub plural: &'static str,
    /// Singular resource name, e.g. `statefulset` (discovery's `singularName`).
    pub singular: &'static str,
    /// Short names kubectl accepts, e.g. `sts` (discovery's `shortNames`).
    pub short_names: &'static [&'static str],
    /// Categories it belongs to, e.g. `all` for `kubectl get all` (discovery's `categories`).
    pub categories: &'static [&'static str],
    /// Its objects live in a namespace (false for cluster-scoped resources like nodes).
    pub namespaced: bool,
    /// Has a `status` subresource (status writes kept apart from spec writes).
    pub status: bool,
    /// Has a `scale` subresource (autoscaling/v1 Scale).
    pub scale: bool,
    /// `metadata.generation` is maintained (bumped on spec changes).
    pub generation: bool,
}

impl ResourceInfo {
    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// `statefulsets.apps` or `pods`.
    pub fn qualified(&self) -> String {
        crate::status::qualified(self.plural, self.group)
    }
    /// Storage key prefix of all objects of this resource (trailing slash).
    pub fn key_prefix(&self) -> String {
        format!("/registry/{}/", self.qualified())
    }
    /// Storage key prefix of the objects in one namespace, or of all of them if `ns` is None.
    pub fn ns_prefix(&self, ns: Option<&str>) -> String {
        match ns {
            Some(ns) if self.namespaced => format!("{}{}/", self.key_prefix(), ns),
            _ => self.key_prefix(),
        }
    }
    /// Storage key of one object.
    pub fn key(&self, ns: Option<&str>, name: &str) -> String {
        format!("{}{}", self.ns_prefix(ns), name)
    }
    /// The URL path prefix of the group-version (`/api/v1`, `/apis/apps/v1`).
    pub fn gv_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

macro_rules! res {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, [$($short:expr),*], [$($cat:expr),*], ns=$ns:expr, status=$st:expr, scale=$sc:expr, gen=$gen:expr) => {
        ResourceInfo { group: $group, version: $version, kind: $kind, plural: $plural, singular: $singular,
            short_names: &[$($short),*], categories: &[$($cat),*], namespaced: $ns, status: $st, scale: $sc, generation: $gen }
    };
}

/// Every resource ordo serves, in discovery order.
pub static RESOURCES: &[ResourceInfo] = &[
    res!(
        "",
        "v1",
        "Binding",
        "bindings",
        "binding",
        [],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        "configmap",
        ["cm"],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "Endpoints",
        "endpoints",
        "endpoints",
        ["ep"],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "Event",
        "events",
        "event",
        ["ev"],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        ["ns"],
        [],
        ns = false,
        status = true,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "Node",
        "nodes",
        "node",
        ["no"],
        [],
        ns = false,
        status = true,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        ["pvc"],
        [],
        ns = true,
        status = true,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        "persistentvolume",
        ["pv"],
        [],
        ns = false,
        status = true,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "Pod",
        "pods",
        "pod",
        ["po"],
        ["all"],
        ns = true,
        status = true,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "LimitRange",
        "limitranges",
        "limitrange",
        ["limits"],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        "replicationcontroller",
        ["rc"],
        ["all"],
        ns = true,
        status = true,
        scale = true,
        gen = true
    ),
    res!(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        "resourcequota",
        ["quota"],
        [],
        ns = true,
        status = true,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "Secret",
        "secrets",
        "secret",
        [],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        ["sa"],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "",
        "v1",
        "Service",
        "services",
        "service",
        ["svc"],
        ["all"],
        ns = true,
        status = true,
        scale = false,
        gen = false
    ),
    res!(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        [],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        ["ds"],
        ["all"],
        ns = true,
        status = true,
        scale = false,
        gen = true
    ),
    res!(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        ["deploy"],
        ["all"],
        ns = true,
        status = true,
        scale = true,
        gen = true
    ),
    res!(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        ["rs"],
        ["all"],
        ns = true,
        status = true,
        scale = true,
        gen = true
    ),
    res!(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        ["sts"],
        ["all"],
        ns = true,
        status = true,
        scale = true,
        gen = true
    ),
    res!(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        "cronjob",
        ["cj"],
        ["all"],
        ns = true,
        status = true,
        scale = false,
        gen = true
    ),
    res!(
        "batch",
        "v1",
        "Job",
        "jobs",
        "job",
        [],
        ["all"],
        ns = true,
        status = true,
        scale = false,
        gen = true
    ),
    res!(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        "certificatesigningrequest",
        ["csr"],
        [],
        ns = false,
        status = true,
        scale = false,
        gen = false
    ),
    res!(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        "lease",
        [],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        [],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        "event",
        ["ev"],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        "networkpolicy",
        ["netpol"],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = true
    ),
    res!(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        ["pdb"],
        [],
        ns = true,
        status = true,
        scale = false,
        gen = true
    ),
    res!(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        "priorityclass",
        ["pc"],
        [],
        ns = false,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        "storageclass",
        ["sc"],
        [],
        ns = false,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        "selfsubjectreview",
        [],
        [],
        ns = false,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        "tokenreviews",
        "tokenreview",
        [],
        [],
        ns = false,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        "localsubjectaccessreview",
        [],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        [],
        [],
        ns = false,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        [],
        [],
        ns = false,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        "subjectaccessreview",
        [],
        [],
        ns = false,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        ["hpa"],
        ["all"],
        ns = true,
        status = true,
        scale = false,
        gen = true
    ),
    res!(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        ["hpa"],
        ["all"],
        ns = true,
        status = true,
        scale = false,
        gen = true
    ),
    res!(
        "metrics.k8s.io",
        "v1beta1",
        "NodeMetrics",
        "nodes",
        "",
        [],
        [],
        ns = false,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "metrics.k8s.io",
        "v1beta1",
        "PodMetrics",
        "pods",
        "",
        [],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        [],
        [],
        ns = false,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        [],
        [],
        ns = false,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        [],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        "role",
        [],
        [],
        ns = true,
        status = false,
        scale = false,
        gen = false
    ),
    res!(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        ["crd", "crds"],
        ["api-extensions"],
        ns = false,
        status = true,
        scale = false,
        gen = true
    ),
];

/// Every resource served now: the static table, then the custom resources of established
/// CustomResourceDefinitions (`crate::crd`).
pub fn all() -> Vec<&'static ResourceInfo> {
    let mut out: Vec<&'static ResourceInfo> = RESOURCES.iter().collect();
    out.extend(crate::crd::infos());
    out
}

/// The API groups served, in discovery order (`""` first).
pub fn groups() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in all() {
        if !out.contains(&r.group) {
            out.push(r.group);
        }
    }
    out
}

/// The versions of an API group, the preferred (first listed) first.
pub fn versions(group: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in all().into_iter().filter(|r| r.group == group) {
        if !out.contains(&r.version) {
            out.push(r.version);
        }
    }
    if RESOURCES.iter().all(|r| r.group != group) {
        out.sort_by(|a, b| crate::crd::registry_version_order(a, b));
    }
    out
}

/// Looks a resource up by group, version and plural name.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
        .or_else(|| crate::crd::find(group, version, plural).map(|c| c.info))
}

/// Looks a resource up by group and kind.
pub fn find_kind(group: &str, kind: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.kind == kind)
        .or_else(|| crate::crd::find_kind(group, kind).map(|c| c.info))
}

/// Whether objects of this resource can be stored (bindings are a create-only verb on pods).
pub fn is_stored(r: &ResourceInfo) -> bool {
    !is_create_only(r) && !is_review(r) && !is_read_only(r)
}

/// Resources that are only read (`get`, `list`), computed by the server and never stored:
/// `metrics.k8s.io` NodeMetrics and PodMetrics.
pub fn is_read_only(r: &ResourceInfo) -> bool {
    r.group == "metrics.k8s.io"
}

/// The version objects of a multi-version group are stored in (the group's preferred one):
/// the `ResourceInfo` requests of `r`'s kind are converted to and from.
pub fn storage_info(r: &ResourceInfo) -> &'static ResourceInfo {
    if let Some(s) = RESOURCES
        .iter()
        .find(|s| s.group == r.group && s.kind == r.kind)
    {
        return s;
    }
    match crate::crd::find(r.group, r.version, r.plural) {
        Some(c) => c.storage,
        // A custom resource whose CRD went away while a request was under way.
        None => Box::leak(Box::new(*r)),
    }
}

/// Resources whose only verb is `create`: the answer is computed, nothing is stored (pod
/// bindings, token and self-subject reviews; access reviews are [`is_review`]).
pub fn is_create_only(r: &ResourceInfo) -> bool {
    matches!(
        (r.group, r.plural),
        ("", "bindings")
            | (
                "authentication.k8s.io",
                "tokenreviews" | "selfsubjectreviews"
            )
    )
}

/// Whether this is a create-only review (`authorization.k8s.io` access reviews): answered, never
/// stored.
pub fn is_review(r: &ResourceInfo) -> bool {
    r.group == "authorization.k8s.io"
}

/// The result of decoding a request body through the typed k8s-openapi struct.
pub struct Decoded {
    /// The object as the typed struct re-encodes it (unknown fields dropped).
    pub object: Value,
    /// Paths of fields the schema does not declare (e.g. `spec.foo`).
    pub unknown_fields: Vec<String>,
}

/// Calls the macro `$m` with `$args` and, after a `;`, the one list of served kinds and their
/// k8s-openapi types: `{ ("group", "Kind") => Type, ... }`. Decoding and OpenAPI both use it.
macro_rules! with_typed_kinds {
    ($m:ident ! ( $($args:tt)* )) => {
        $m!( $($args)* ; {
            ("", "Binding") => k8s_openapi::api::core::v1::Binding,
            ("", "ConfigMap") => k8s_openapi::api::core::v1::ConfigMap,
            ("", "Endpoints") => k8s_openapi::api::core::v1::Endpoints,
            ("", "Event") => k8s_openapi::api::core::v1::Event,
            ("", "Namespace") => k8s_openapi::api::core::v1::Namespace,
            ("", "Node") => k8s_openapi::api::core::v1::Node,
            ("", "PersistentVolumeClaim") => k8s_openapi::api::core::v1::PersistentVolumeClaim,
            ("", "PersistentVolume") => k8s_openapi::api::core::v1::PersistentVolume,
            ("", "Pod") => k8s_openapi::api::core::v1::Pod,
            ("", "LimitRange") => k8s_openapi::api::core::v1::LimitRange,
            ("", "ReplicationController") => k8s_openapi::api::core::v1::ReplicationController,
            ("", "ResourceQuota") => k8s_openapi::api::core::v1::ResourceQuota,
            ("", "Secret") => k8s_openapi::api::core::v1::Secret,
            ("", "ServiceAccount") => k8s_openapi::api::core::v1::ServiceAccount,
            ("", "Service") => k8s_openapi::api::core::v1::Service,
            ("apps", "ControllerRevision") => k8s_openapi::api::apps::v1::ControllerRevision,
            ("apps", "DaemonSet") => k8s_openapi::api::apps::v1::DaemonSet,
            ("apps", "Deployment") => k8s_openapi::api::apps::v1::Deployment,
            ("apps", "ReplicaSet") => k8s_openapi::api::apps::v1::ReplicaSet,
            ("apps", "StatefulSet") => k8s_openapi::api::apps::v1::StatefulSet,
            ("autoscaling", "HorizontalPodAutoscaler") => k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
            ("batch", "CronJob") => k8s_openapi::api::batch::v1::CronJob,
            ("batch", "Job") => k8s_openapi::api::batch::v1::Job,
            ("certificates.k8s.io", "CertificateSigningRequest") => k8s_openapi::api::certificates::v1::CertificateSigningRequest,
            ("coordination.k8s.io", "Lease") => k8s_openapi::api::coordination::v1::Lease,
            ("discovery.k8s.io", "EndpointSlice") => k8s_openapi::api::discovery::v1::EndpointSlice,
            ("events.k8s.io", "Event") => k8s_openapi::api::events::v1::Event,
            ("networking.k8s.io", "NetworkPolicy") => k8s_openapi::api::networking::v1::NetworkPolicy,
            ("policy", "PodDisruptionBudget") => k8s_openapi::api::policy::v1::PodDisruptionBudget,
            ("scheduling.k8s.io", "PriorityClass") => k8s_openapi::api::scheduling::v1::PriorityClass,
            ("storage.k8s.io", "StorageClass") => k8s_openapi::api::storage::v1::StorageClass,
            ("authentication.k8s.io", "SelfSubjectReview") => k8s_openapi::api::authentication::v1::SelfSubjectReview,
            ("authentication.k8s.io", "TokenReview") => k8s_openapi::api::authentication::v1::TokenReview,
            ("authorization.k8s.io", "LocalSubjectAccessReview") => k8s_openapi::api::authorization::v1::LocalSubjectAccessReview,
            ("authorization.k8s.io", "SelfSubjectAccessReview") => k8s_openapi::api::authorization::v1::SelfSubjectAccessReview,
            ("authorization.k8s.io", "SelfSubjectRulesReview") => k8s_openapi::api::authorization::v1::SelfSubjectRulesReview,
            ("authorization.k8s.io", "SubjectAccessReview") => k8s_openapi::api::authorization::v1::SubjectAccessReview,
            ("rbac.authorization.k8s.io", "ClusterRoleBinding") => k8s_openapi::api::rbac::v1::ClusterRoleBinding,
            ("rbac.authorization.k8s.io", "ClusterRole") => k8s_openapi::api::rbac::v1::ClusterRole,
            ("rbac.authorization.k8s.io", "RoleBinding") => k8s_openapi::api::rbac::v1::RoleBinding,
            ("rbac.authorization.k8s.io", "Role") => k8s_openapi::api::rbac::v1::Role,
            ("apiextensions.k8s.io", "CustomResourceDefinition") => k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        })
    };
}
pub(crate) use with_typed_kinds;

macro_rules! typed_roundtrip {
    ($group:expr, $kind:expr, $v:expr ; { $( ($g:expr, $k:expr) => $t:ty ),* $(,)? }) => {
        match ($group, $kind) {
            $( ($g, $k) => serde_json::from_value::<$t>($v).and_then(serde_json::to_value), )*
            _ => Ok($v),
        }
    };
}

/// Decodes `obj` as the typed object of `info` and encodes it again: this drops fields the
/// schema does not know (reported in `unknown_fields`) and rejects wrong types with the
/// message upstream prints (`<Kind> in version "v1" cannot be handled as a <Kind>: ...`).
pub fn decode(info: &ResourceInfo, obj: Value) -> Result<Decoded, String> {
    let original = obj.clone();
    let typed = if (info.group, info.version, info.kind)
        == ("autoscaling", "v1", "HorizontalPodAutoscaler")
    {
        // The typed kinds are the stored versions; v1 is decoded as itself.
        serde_json::from_value::<k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler>(obj)
            .and_then(serde_json::to_value)
    } else {
        with_typed_kinds!(typed_roundtrip!(info.group, info.kind, obj))
    }
    .map_err(|e| {
        format!(
            "{} in version \"{}\" cannot be handled as a {}: {e}",
            info.kind, info.version, info.kind
        )
    })?;
    let mut unknown_fields = Vec::new();
    find_unknown(&original, &typed, "", &mut unknown_fields);
    Ok(Decoded {
        object: typed,
        unknown_fields,
    })
}

/// Decodes an `autoscaling/v1` Scale.
pub fn decode_scale(obj: Value) -> Result<Value, String> {
    serde_json::from_value::<k8s_openapi::api::autoscaling::v1::Scale>(obj)
        .and_then(serde_json::to_value)
        .map_err(|e| format!("Scale in version \"v1\" cannot be handled as a Scale: {e}"))
}

/// Decodes a `meta.k8s.io/v1` DeleteOptions body.
pub fn decode_delete_options(obj: Value) -> Result<Value, String> {
    serde_json::from_value::<k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions>(obj)
        .and_then(serde_json::to_value)
        .map_err(|e| {
            format!("DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions: {e}")
        })
}

/// Fields present (and not null) in `original` but absent after the typed round trip.
/// Free-form maps (labels, annotations, data...) survive the round trip, so they never show up.
fn find_unknown(original: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (original, typed) {
        (Value::Object(o), Value::Object(t)) => {
            for (k, v) in o {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match t.get(k) {
                    Some(tv) => find_unknown(v, tv, &p, out),
                    None if !v.is_null() && !is_empty_container(v) => out.push(p),
                    None => {}
                }
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            for (i, (ov, tv)) in o.iter().zip(t.iter()).enumerate() {
                find_unknown(ov, tv, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn is_empty_container(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty()) || matches!(v, Value::Array(a) if a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_found_and_dropped() {
        let info = find("apps", "v1", "statefulsets").unwrap();
        let d = decode(
            info,
            json!({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"w","labels":{"x":"y"}},
                   "spec":{"replicas":1,"foo":1,"selector":{"matchLabels":{"a":"b"}},
                           "template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"c","image":"i","bar":true}]}}}}),
        )
        .unwrap();
        assert_eq!(
            d.unknown_fields,
            vec!["spec.foo", "spec.template.spec.containers[0].bar"]
        );
        assert!(d.object["spec"].get("foo").is_none());
        assert_eq!(d.object["metadata"]["labels"]["x"], "y");
    }

    #[test]
    fn wrong_types_are_rejected() {
        let info = find("apps", "v1", "statefulsets").unwrap();
        let err = decode(
            info,
            json!({"metadata":{"name":"w"},"spec":{"replicas":"three"}}),
        )
        .err()
        .unwrap();
        assert!(
            err.starts_with("StatefulSet in version \"v1\" cannot be handled as a StatefulSet:"),
            "{err}"
        );
    }

    #[test]
    fn keys_and_lookup() {
        let sts = find_kind("apps", "StatefulSet").unwrap();
        assert_eq!(
            sts.key(Some("default"), "web"),
            "/registry/statefulsets.apps/default/web"
        );
        let ns = find("", "v1", "namespaces").unwrap();
        assert_eq!(ns.key(Some("x"), "default"), "/registry/namespaces/default");
        assert_eq!(groups()[0], "");
    }
}
