//! `policy/v1` PodDisruptionBudget and Eviction, `meta/v1` DeleteOptions and
//! `scheduling.k8s.io/v1` PriorityClass (what `kubectl create poddisruptionbudget|priorityclass`,
//! `kubectl drain` and typed deletes send).

use super::super::schema::{f, Kind::*, Msg};
use super::{CONDITION, LABEL_SELECTOR, OBJECT_META};

/// `PodDisruptionBudget` (`api.policy.v1`).
pub(crate) static POD_DISRUPTION_BUDGET: Msg = Msg {
    name: "PodDisruptionBudget",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&POD_DISRUPTION_BUDGET_SPEC)),
        f(3, "status", Message(&POD_DISRUPTION_BUDGET_STATUS)),
    ],
};
/// `PodDisruptionBudgetStatus` (`api.policy.v1`), without `disruptedPods` (a map of times only
/// the API server itself writes).
pub(crate) static POD_DISRUPTION_BUDGET_STATUS: Msg = Msg {
    name: "PodDisruptionBudgetStatus",
    fields: &[
        f(1, "observedGeneration", Int),
        f(3, "disruptionsAllowed", Int).keep(),
        f(4, "currentHealthy", Int).keep(),
        f(5, "desiredHealthy", Int).keep(),
        f(6, "expectedPods", Int).keep(),
        f(7, "conditions", Message(&CONDITION)).rep(),
    ],
};
/// `PodDisruptionBudgetSpec` (`api.policy.v1`).
pub(crate) static POD_DISRUPTION_BUDGET_SPEC: Msg = Msg {
    name: "PodDisruptionBudgetSpec",
    fields: &[
        f(1, "minAvailable", IntOrStr),
        f(2, "selector", Message(&LABEL_SELECTOR)),
        f(3, "maxUnavailable", IntOrStr),
        f(4, "unhealthyPodEvictionPolicy", Str),
    ],
};
/// `Eviction` (`api.policy.v1`).
pub(crate) static EVICTION: Msg = Msg {
    name: "Eviction",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "deleteOptions", Message(&DELETE_OPTIONS)),
    ],
};
/// `DeleteOptions` (`apimachinery.pkg.apis.meta.v1`).
pub(crate) static DELETE_OPTIONS: Msg = Msg {
    name: "DeleteOptions",
    fields: &[
        f(1, "gracePeriodSeconds", Int).keep(),
        f(2, "preconditions", Message(&PRECONDITIONS)),
        f(3, "orphanDependents", Bool).keep(),
        f(4, "propagationPolicy", Str),
        f(5, "dryRun", Str).rep(),
        f(6, "ignoreStoreReadErrorWithClusterBreakingPotential", Bool).keep(),
    ],
};
/// `Preconditions` (`apimachinery.pkg.apis.meta.v1`).
pub(crate) static PRECONDITIONS: Msg = Msg {
    name: "Preconditions",
    fields: &[f(1, "uid", Str), f(2, "resourceVersion", Str)],
};
/// `PriorityClass` (`api.scheduling.v1`), for `kubectl create priorityclass`.
pub(crate) static PRIORITY_CLASS: Msg = Msg {
    name: "PriorityClass",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "value", Int).keep(),
        f(3, "globalDefault", Bool),
        f(4, "description", Str),
        f(5, "preemptionPolicy", Str),
    ],
};
