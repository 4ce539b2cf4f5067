//! `autoscaling/v1` HorizontalPodAutoscaler (what `kubectl autoscale` sends).

use super::super::schema::{f, Kind::*, Msg};
use super::OBJECT_META;

/// `HorizontalPodAutoscaler` (`api.autoscaling.v1`).
pub(crate) static HPA_V1: Msg = Msg {
    name: "HorizontalPodAutoscaler",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&HPA_V1_SPEC)),
        f(3, "status", Message(&HPA_V1_STATUS)),
    ],
};
/// `HorizontalPodAutoscalerSpec` (`api.autoscaling.v1`).
pub(crate) static HPA_V1_SPEC: Msg = Msg {
    name: "HorizontalPodAutoscalerSpec",
    fields: &[
        f(
            1,
            "scaleTargetRef",
            Message(&CROSS_VERSION_OBJECT_REFERENCE),
        ),
        f(2, "minReplicas", Int).keep(),
        f(3, "maxReplicas", Int).keep(),
        f(4, "targetCPUUtilizationPercentage", Int).keep(),
    ],
};
/// `CrossVersionObjectReference` (`api.autoscaling.v1`).
pub(crate) static CROSS_VERSION_OBJECT_REFERENCE: Msg = Msg {
    name: "CrossVersionObjectReference",
    fields: &[
        f(1, "kind", Str),
        f(2, "name", Str),
        f(3, "apiVersion", Str),
    ],
};
/// `HorizontalPodAutoscalerStatus` (`api.autoscaling.v1`).
pub(crate) static HPA_V1_STATUS: Msg = Msg {
    name: "HorizontalPodAutoscalerStatus",
    fields: &[
        f(1, "observedGeneration", Int).keep(),
        f(2, "lastScaleTime", Time),
        f(3, "currentReplicas", Int).keep(),
        f(4, "desiredReplicas", Int).keep(),
        f(5, "currentCPUUtilizationPercentage", Int).keep(),
    ],
};
