//! `batch/v1` Job (what `kubectl create job` sends).

use super::super::schema::{f, Kind::*, Msg};
use super::{LABEL_SELECTOR, OBJECT_META, POD_TEMPLATE_SPEC};

/// `Job` (`api.batch.v1`).
pub(crate) static JOB: Msg = Msg {
    name: "Job",
    fields: &[
        f(1, "metadata", Message(&OBJECT_META)),
        f(2, "spec", Message(&JOB_SPEC)),
        f(3, "status", Message(&JOB_STATUS)),
    ],
};
/// `JobSpec` (`api.batch.v1`); its pointer fields keep their zero values.
pub(crate) static JOB_SPEC: Msg = Msg {
    name: "JobSpec",
    fields: &[
        f(1, "parallelism", Int).keep(),
        f(2, "completions", Int).keep(),
        f(3, "activeDeadlineSeconds", Int).keep(),
        f(4, "selector", Message(&LABEL_SELECTOR)),
        f(5, "manualSelector", Bool).keep(),
        f(6, "template", Message(&POD_TEMPLATE_SPEC)),
        f(7, "backoffLimit", Int).keep(),
        f(8, "ttlSecondsAfterFinished", Int).keep(),
        f(9, "completionMode", Str).keep(),
        f(10, "suspend", Bool).keep(),
        f(11, "podFailurePolicy", Message(&POD_FAILURE_POLICY)),
        f(12, "backoffLimitPerIndex", Int).keep(),
        f(13, "maxFailedIndexes", Int).keep(),
        f(14, "podReplacementPolicy", Str).keep(),
        f(15, "managedBy", Str).keep(),
        f(16, "successPolicy", Message(&SUCCESS_POLICY)),
    ],
};
/// `PodFailurePolicy` (`api.batch.v1`).
pub(crate) static POD_FAILURE_POLICY: Msg = Msg {
    name: "PodFailurePolicy",
    fields: &[f(1, "rules", Message(&POD_FAILURE_POLICY_RULE)).rep()],
};
/// `PodFailurePolicyRule` (`api.batch.v1`).
pub(crate) static POD_FAILURE_POLICY_RULE: Msg = Msg {
    name: "PodFailurePolicyRule",
    fields: &[
        f(1, "action", Str),
        f(2, "onExitCodes", Message(&ON_EXIT_CODES)),
        f(3, "onPodConditions", Message(&ON_POD_CONDITIONS)).rep(),
    ],
};
/// `PodFailurePolicyOnExitCodesRequirement` (`api.batch.v1`).
pub(crate) static ON_EXIT_CODES: Msg = Msg {
    name: "PodFailurePolicyOnExitCodesRequirement",
    fields: &[
        f(1, "containerName", Str).keep(),
        f(2, "operator", Str),
        f(3, "values", Int).rep(),
    ],
};
/// `PodFailurePolicyOnPodConditionsPattern` (`api.batch.v1`).
pub(crate) static ON_POD_CONDITIONS: Msg = Msg {
    name: "PodFailurePolicyOnPodConditionsPattern",
    fields: &[f(1, "type", Str), f(2, "status", Str)],
};
/// `SuccessPolicy` (`api.batch.v1`).
pub(crate) static SUCCESS_POLICY: Msg = Msg {
    name: "SuccessPolicy",
    fields: &[f(1, "rules", Message(&SUCCESS_POLICY_RULE)).rep()],
};
/// `SuccessPolicyRule` (`api.batch.v1`).
pub(crate) static SUCCESS_POLICY_RULE: Msg = Msg {
    name: "SuccessPolicyRule",
    fields: &[
        f(1, "succeededIndexes", Str).keep(),
        f(2, "succeededCount", Int).keep(),
    ],
};
/// `JobStatus` (`api.batch.v1`).
pub(crate) static JOB_STATUS: Msg = Msg {
    name: "JobStatus",
    fields: &[
        f(1, "conditions", Message(&JOB_CONDITION)).rep(),
        f(2, "startTime", Time),
        f(3, "completionTime", Time),
        f(4, "active", Int),
        f(5, "succeeded", Int),
        f(6, "failed", Int),
        f(7, "completedIndexes", Str),
        f(
            8,
            "uncountedTerminatedPods",
            Message(&UNCOUNTED_TERMINATED_PODS),
        ),
        f(9, "ready", Int).keep(),
        f(10, "failedIndexes", Str).keep(),
        f(11, "terminating", Int).keep(),
    ],
};
/// `JobCondition` (`api.batch.v1`).
pub(crate) static JOB_CONDITION: Msg = Msg {
    name: "JobCondition",
    fields: &[
        f(1, "type", Str),
        f(2, "status", Str),
        f(3, "lastProbeTime", Time),
        f(4, "lastTransitionTime", Time),
        f(5, "reason", Str),
        f(6, "message", Str),
    ],
};
/// `UncountedTerminatedPods` (`api.batch.v1`).
pub(crate) static UNCOUNTED_TERMINATED_PODS: Msg = Msg {
    name: "UncountedTerminatedPods",
    fields: &[f(1, "succeeded", Str).rep(), f(2, "failed", Str).rep()],
};
