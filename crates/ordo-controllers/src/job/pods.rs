//! What the Job controller knows about single pods: the pods it creates (Indexed or not),
//! their completion index, their terminal state and finish time, and which rule of a
//! `podFailurePolicy` a failed pod matches. No I/O.

use crate::ownership::controller_ref;
use k8s_openapi::api::batch::v1::{Job, PodFailurePolicyRule};
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use std::collections::BTreeSet;

/// The finalizer that keeps a Job's pods until the controller has counted them.
pub const JOB_TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// The annotation (and label) with an Indexed Job pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// The environment variable with the completion index in every container of an Indexed pod.
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// Whether the Job runs in Indexed completion mode.
pub fn is_indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

/// A pod's completion index from its annotation (upstream `getCompletionIndex`).
pub fn completion_index(pod: &Pod) -> Option<i32> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(COMPLETION_INDEX)?
        .parse()
        .ok()
        .filter(|i| *i >= 0)
}

/// `Some(true)` for a Succeeded pod, `Some(false)` for a Failed one, `None` otherwise.
pub fn terminal(pod: &Pod) -> Option<bool> {
    match pod.status.as_ref()?.phase.as_deref()? {
        "Succeeded" => Some(true),
        "Failed" => Some(false),
        _ => None,
    }
}

/// Whether the pod carries the job-tracking finalizer.
pub fn has_tracking_finalizer(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == JOB_TRACKING_FINALIZER))
}

/// When the pod finished: the latest container termination, else `now` (upstream
/// `getFinishedTime`).
pub fn finish_time(pod: &Pod, now: Timestamp) -> Timestamp {
    pod.status
        .as_ref()
        .into_iter()
        .flat_map(|s| {
            s.container_statuses
                .iter()
                .flatten()
                .chain(s.init_container_statuses.iter().flatten())
        })
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .map(|t| t.0)
        .max()
        .unwrap_or(now)
}

/// Parses `completedIndexes` (`"1,3-5"`).
pub fn parse_indexes(s: &str) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) {
                    out.extend(a..=b);
                }
            }
            None => {
                if let Ok(i) = part.parse() {
                    out.insert(i);
                }
            }
        }
    }
    out
}

/// Formats indexes as upstream's `orderedIntervals.String()`: `"1,3-5"`.
pub fn format_indexes(set: &BTreeSet<i32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

/// The pod the Job creates (upstream `podTemplate` plus `addCompletionIndexEnvVariables`,
/// the index annotation and label, and the `<job>-<index>` hostname for Indexed Jobs).
pub fn new_pod(job: &Job, index: Option<i32>) -> Pod {
    let name = job.metadata.name.clone().unwrap_or_default();
    let tmpl = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let tm = tmpl.metadata.unwrap_or_default();
    let mut spec = tmpl.spec.unwrap_or_default();
    let (mut labels, mut annotations) = (tm.labels, tm.annotations);
    let mut finalizers = tm.finalizers.unwrap_or_default();
    finalizers.push(JOB_TRACKING_FINALIZER.to_string());
    let generate_name = match index {
        Some(i) => {
            let ix = i.to_string();
            annotations
                .get_or_insert_with(Default::default)
                .insert(COMPLETION_INDEX.into(), ix.clone());
            labels
                .get_or_insert_with(Default::default)
                .insert(COMPLETION_INDEX.into(), ix);
            if spec.hostname.as_deref().unwrap_or("").is_empty() {
                spec.hostname = Some(format!("{name}-{i}"));
            }
            for c in spec
                .containers
                .iter_mut()
                .chain(spec.init_containers.iter_mut().flatten())
            {
                let env = c.env.get_or_insert_with(Vec::new);
                if !env.iter().any(|e| e.name == COMPLETION_INDEX_ENV) {
                    env.push(EnvVar {
                        name: COMPLETION_INDEX_ENV.into(),
                        value: None,
                        value_from: Some(EnvVarSource {
                            field_ref: Some(ObjectFieldSelector {
                                api_version: None,
                                field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
                            }),
                            ..Default::default()
                        }),
                    });
                }
            }
            format!("{name}-{i}-")
        }
        None => format!("{name}-"),
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: job.metadata.namespace.clone(),
            labels,
            annotations,
            finalizers: Some(finalizers),
            owner_references: Some(vec![controller_ref("batch/v1", "Job", &job.metadata)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// What a matching `podFailurePolicy` rule says about a failed pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyAction {
    /// Fail the whole Job with this message.
    FailJob(String),
    /// Do not count the failure against `backoffLimit`.
    Ignore,
    /// Count the failure (the default).
    Count,
}

/// The first rule of the Job's `podFailurePolicy` that the failed `pod` matches (upstream
/// `matchPodFailurePolicy`), with upstream's message for `FailJob`.
pub fn match_failure_policy(job: &Job, pod: &Pod) -> Option<PolicyAction> {
    let rules = &job.spec.as_ref()?.pod_failure_policy.as_ref()?.rules;
    let (ns, name) = (
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.name.as_deref().unwrap_or(""),
    );
    for (i, rule) in rules.iter().enumerate() {
        let what = if let Some((container, code)) = matches_exit_codes(rule, pod) {
            format!("Container {container} for pod {ns}/{name} failed with exit code {code}")
        } else if let Some(cond) = matches_conditions(rule, pod) {
            format!("Pod {ns}/{name} has condition {cond}")
        } else {
            continue;
        };
        return Some(match rule.action.as_str() {
            "FailJob" => {
                PolicyAction::FailJob(format!("{what} matching FailJob rule at index {i}"))
            }
            "Ignore" => PolicyAction::Ignore,
            _ => PolicyAction::Count,
        });
    }
    None
}

fn matches_exit_codes(rule: &PodFailurePolicyRule, pod: &Pod) -> Option<(String, i32)> {
    let req = rule.on_exit_codes.as_ref()?;
    let status = pod.status.as_ref()?;
    status
        .container_statuses
        .iter()
        .flatten()
        .chain(status.init_container_statuses.iter().flatten())
        .filter(|c| {
            req.container_name
                .as_deref()
                .is_none_or(|n| n.is_empty() || n == c.name)
        })
        .find_map(|c| {
            let code = c.state.as_ref()?.terminated.as_ref()?.exit_code;
            let listed = req.values.contains(&code);
            let hit = code != 0
                && match req.operator.as_str() {
                    "In" => listed,
                    "NotIn" => !listed,
                    _ => false,
                };
            hit.then(|| (c.name.clone(), code))
        })
}

fn matches_conditions(rule: &PodFailurePolicyRule, pod: &Pod) -> Option<String> {
    let conds = pod.status.as_ref()?.conditions.as_ref()?;
    let patterns = rule.on_pod_conditions.as_deref().unwrap_or_default();
    conds.iter().find_map(|c| {
        patterns
            .iter()
            .any(|p| c.type_ == p.type_ && c.status == p.status)
            .then(|| c.type_.clone())
    })
}
