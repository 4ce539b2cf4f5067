//! v1 ResourceQuota, LimitRange and ReplicationController (what `kubectl create quota` and
//! typed clients send).

use super::super::schema::{f, Kind::*, Msg};
use super::{OBJECT_META, POD_TEMPLATE_SPEC};

/// `ResourceQuota` (`api.core.v1`).
pub(crate) static RESOURCE_QUOTA: Msg = Msg {
    name: "ResourceQuota",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&RESOURCE_QUOTA_SPEC)),
        f(3, "status", Message(&RESOURCE_QUOTA_STATUS)),
    ],
};
/// `ResourceQuotaSpec` (`api.core.v1`).
pub(crate) static RESOURCE_QUOTA_SPEC: Msg = Msg {
    name: "ResourceQuotaSpec",
    fields: &[
        f(1, "hard", MapQuantity),
        f(2, "scopes", Str).rep(),
        f(3, "scopeSelector", Message(&SCOPE_SELECTOR)),
    ],
};
/// `ScopeSelector` (`api.core.v1`).
pub(crate) static SCOPE_SELECTOR: Msg = Msg {
    name: "ScopeSelector",
    fields: &[f(
        1,
        "matchExpressions",
        Message(&SCOPED_RESOURCE_SELECTOR_REQUIREMENT),
    )
    .rep()],
};
/// `ScopedResourceSelectorRequirement` (`api.core.v1`).
pub(crate) static SCOPED_RESOURCE_SELECTOR_REQUIREMENT: Msg = Msg {
    name: "ScopedResourceSelectorRequirement",
    fields: &[
        f(1, "scopeName", Str),
        f(2, "operator", Str),
        f(3, "values", Str).rep(),
    ],
};
/// `ResourceQuotaStatus` (`api.core.v1`).
pub(crate) static RESOURCE_QUOTA_STATUS: Msg = Msg {
    name: "ResourceQuotaStatus",
    fields: &[f(1, "hard", MapQuantity), f(2, "used", MapQuantity)],
};
/// `LimitRange` (`api.core.v1`).
pub(crate) static LIMIT_RANGE: Msg = Msg {
    name: "LimitRange",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&LIMIT_RANGE_SPEC)),
    ],
};
/// `LimitRangeSpec` (`api.core.v1`).
pub(crate) static LIMIT_RANGE_SPEC: Msg = Msg {
    name: "LimitRangeSpec",
    fields: &[f(1, "limits", Message(&LIMIT_RANGE_ITEM)).rep()],
};
/// `LimitRangeItem` (`api.core.v1`).
pub(crate) static LIMIT_RANGE_ITEM: Msg = Msg {
    name: "LimitRangeItem",
    fields: &[
        f(1, "type", Str),
        f(2, "max", MapQuantity),
        f(3, "min", MapQuantity),
        f(4, "default", MapQuantity),
        f(5, "defaultRequest", MapQuantity),
        f(6, "maxLimitRequestRatio", MapQuantity),
    ],
};
/// `ReplicationController` (`api.core.v1`).
pub(crate) static REPLICATION_CONTROLLER: Msg = Msg {
    name: "ReplicationController",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&REPLICATION_CONTROLLER_SPEC)),
        f(3, "status", Message(&REPLICATION_CONTROLLER_STATUS)),
    ],
};
/// `ReplicationControllerSpec` (`api.core.v1`).
pub(crate) static REPLICATION_CONTROLLER_SPEC: Msg = Msg {
    name: "ReplicationControllerSpec",
    fields: &[
        f(1, "replicas", Int).keep(),
        f(2, "selector", MapStr),
        f(3, "template", Message(&POD_TEMPLATE_SPEC)),
        f(4, "minReadySeconds", Int),
    ],
};
/// `ReplicationControllerStatus` (`api.core.v1`).
pub(crate) static REPLICATION_CONTROLLER_STATUS: Msg = Msg {
    name: "ReplicationControllerStatus",
    fields: &[
        f(1, "replicas", Int).keep(),
        f(2, "fullyLabeledReplicas", Int),
        f(3, "observedGeneration", Int),
        f(4, "readyReplicas", Int),
        f(5, "availableReplicas", Int),
        f(6, "conditions", Message(&REPLICATION_CONTROLLER_CONDITION)).rep(),
    ],
};
/// `ReplicationControllerCondition` (`api.core.v1`).
pub(crate) static REPLICATION_CONTROLLER_CONDITION: Msg = Msg {
    name: "ReplicationControllerCondition",
    fields: &[
        f(1, "type", Str),
        f(2, "status", Str),
        f(3, "lastTransitionTime", Time),
        f(4, "reason", Str),
        f(5, "message", Str),
    ],
};
