//! `rbac.authorization.k8s.io/v1` messages: what `kubectl create role|clusterrole|rolebinding|
//! clusterrolebinding` send.

use super::super::schema::{f, Field, Kind::*, Msg};
use super::{LABEL_SELECTOR, OBJECT_META};

/// `Role` (`api.rbac.v1`).
pub(crate) static ROLE: Msg = Msg {
    name: "Role",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "rules", Message(&POLICY_RULE)).rep(),
    ],
};
/// `ClusterRole` (`api.rbac.v1`).
pub(crate) static CLUSTER_ROLE: Msg = Msg {
    name: "ClusterRole",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "rules", Message(&POLICY_RULE)).rep(),
        f(3, "aggregationRule", Message(&AGGREGATION_RULE)),
    ],
};
/// `PolicyRule` (`api.rbac.v1`).
pub(crate) static POLICY_RULE: Msg = Msg {
    name: "PolicyRule",
    fields: &[
        f(1, "verbs", Str).rep(),
        f(2, "apiGroups", Str).rep(),
        f(3, "resources", Str).rep(),
        f(4, "resourceNames", Str).rep(),
        f(5, "nonResourceURLs", Str).rep(),
    ],
};
/// `AggregationRule` (`api.rbac.v1`).
pub(crate) static AGGREGATION_RULE: Msg = Msg {
    name: "AggregationRule",
    fields: &[f(1, "clusterRoleSelectors", Message(&LABEL_SELECTOR)).rep()],
};
/// The fields of both binding kinds.
const BINDING_FIELDS: &[Field] = &[
    f(1, "metadata", Message(&OBJECT_META)),
    f(2, "subjects", Message(&SUBJECT)).rep(),
    f(3, "roleRef", Message(&ROLE_REF)),
];
/// `RoleBinding` (`api.rbac.v1`).
pub(crate) static ROLE_BINDING: Msg = Msg {
    name: "RoleBinding",
    fields: BINDING_FIELDS,
};
/// `ClusterRoleBinding` (`api.rbac.v1`).
pub(crate) static CLUSTER_ROLE_BINDING: Msg = Msg {
    name: "ClusterRoleBinding",
    fields: BINDING_FIELDS,
};
/// `Subject` (`api.rbac.v1`).
pub(crate) static SUBJECT: Msg = Msg {
    name: "Subject",
    fields: &[
        f(1, "kind", Str),
        f(2, "apiGroup", Str),
        f(3, "name", Str),
        f(4, "namespace", Str),
    ],
};
/// `RoleRef` (`api.rbac.v1`).
pub(crate) static ROLE_REF: Msg = Msg {
    name: "RoleRef",
    fields: &[f(1, "apiGroup", Str), f(2, "kind", Str), f(3, "name", Str)],
};
