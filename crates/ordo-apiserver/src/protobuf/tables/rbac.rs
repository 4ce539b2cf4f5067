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

// `authorization.k8s.io/v1` reviews (what `kubectl auth can-i` sends).

/// `SelfSubjectAccessReview` (`api.authorization.v1`).
pub(crate) static SELF_SUBJECT_ACCESS_REVIEW: Msg = Msg {
    name: "SelfSubjectAccessReview",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&SELF_SUBJECT_ACCESS_REVIEW_SPEC)),
        f(3, "status", Message(&SUBJECT_ACCESS_REVIEW_STATUS)),
    ],
};
/// `SelfSubjectAccessReviewSpec` (`api.authorization.v1`).
pub(crate) static SELF_SUBJECT_ACCESS_REVIEW_SPEC: Msg = Msg {
    name: "SelfSubjectAccessReviewSpec",
    fields: &[
        f(1, "resourceAttributes", Message(&RESOURCE_ATTRIBUTES)),
        f(
            2,
            "nonResourceAttributes",
            Message(&NON_RESOURCE_ATTRIBUTES),
        ),
    ],
};
/// `SubjectAccessReview` and `LocalSubjectAccessReview` (`api.authorization.v1`).
pub(crate) static SUBJECT_ACCESS_REVIEW: Msg = Msg {
    name: "SubjectAccessReview",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&SUBJECT_ACCESS_REVIEW_SPEC)),
        f(3, "status", Message(&SUBJECT_ACCESS_REVIEW_STATUS)),
    ],
};
/// `SubjectAccessReviewSpec` (`api.authorization.v1`; `extra` is not decoded).
pub(crate) static SUBJECT_ACCESS_REVIEW_SPEC: Msg = Msg {
    name: "SubjectAccessReviewSpec",
    fields: &[
        f(1, "resourceAttributes", Message(&RESOURCE_ATTRIBUTES)),
        f(
            2,
            "nonResourceAttributes",
            Message(&NON_RESOURCE_ATTRIBUTES),
        ),
        f(3, "user", Str),
        f(4, "groups", Str).rep(),
        f(6, "uid", Str),
    ],
};
/// `ResourceAttributes` (`api.authorization.v1`; selectors are not decoded).
pub(crate) static RESOURCE_ATTRIBUTES: Msg = Msg {
    name: "ResourceAttributes",
    fields: &[
        f(1, "namespace", Str),
        f(2, "verb", Str),
        f(3, "group", Str),
        f(4, "version", Str),
        f(5, "resource", Str),
        f(6, "subresource", Str),
        f(7, "name", Str),
    ],
};
/// `NonResourceAttributes` (`api.authorization.v1`).
pub(crate) static NON_RESOURCE_ATTRIBUTES: Msg = Msg {
    name: "NonResourceAttributes",
    fields: &[f(1, "path", Str), f(2, "verb", Str)],
};
/// `SubjectAccessReviewStatus` (`api.authorization.v1`).
pub(crate) static SUBJECT_ACCESS_REVIEW_STATUS: Msg = Msg {
    name: "SubjectAccessReviewStatus",
    fields: &[
        f(1, "allowed", Bool).keep(),
        f(2, "reason", Str),
        f(3, "evaluationError", Str),
        f(4, "denied", Bool),
    ],
};
/// `SelfSubjectRulesReview` (`api.authorization.v1`).
pub(crate) static SELF_SUBJECT_RULES_REVIEW: Msg = Msg {
    name: "SelfSubjectRulesReview",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&SELF_SUBJECT_RULES_REVIEW_SPEC)),
        f(3, "status", Message(&SUBJECT_RULES_REVIEW_STATUS)),
    ],
};
/// `SelfSubjectRulesReviewSpec` (`api.authorization.v1`).
pub(crate) static SELF_SUBJECT_RULES_REVIEW_SPEC: Msg = Msg {
    name: "SelfSubjectRulesReviewSpec",
    fields: &[f(1, "namespace", Str)],
};
/// `SubjectRulesReviewStatus` (`api.authorization.v1`; the rules are answers, never sent).
pub(crate) static SUBJECT_RULES_REVIEW_STATUS: Msg = Msg {
    name: "SubjectRulesReviewStatus",
    fields: &[
        f(3, "incomplete", Bool).keep(),
        f(4, "evaluationError", Str),
    ],
};
