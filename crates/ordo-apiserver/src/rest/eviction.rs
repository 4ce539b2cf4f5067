//! `POST pods/NAME/eviction` (upstream `pkg/registry/core/pod/storage/eviction.go`): deletes a
//! pod unless that would break its PodDisruptionBudget, in which case it answers 429 as
//! kube-apiserver does. An allowed eviction takes one disruption from the budget's status and
//! records the pod in `status.disruptedPods` before deleting it, so that the disruption
//! controller does not count it as healthy meanwhile.

use super::{object_from_kv, store_error, to_bytes};
use crate::meta::Query;
use crate::router::Target;
use crate::ApiServer;
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::selector::LabelSelector;
use ordo_api::status::ApiError;
use ordo_store::StoreError;
use serde_json::{json, Value};

/// The cause type upstream puts in a refused eviction (`policyv1.DisruptionBudgetCause`).
const DISRUPTION_BUDGET_CAUSE: &str = "DisruptionBudget";

/// Upstream's limit on `status.disruptedPods` before evictions are refused.
const MAX_DISRUPTED_POD_SIZE: usize = 2000;

fn pdb_info() -> &'static ResourceInfo {
    resources::find("policy", "v1", "poddisruptionbudgets")
        .expect("PodDisruptionBudgets are served")
}

fn too_many_requests(cause: String, retry_after: i64) -> ApiError {
    let mut details = json!({
        "causes": [{"reason": DISRUPTION_BUDGET_CAUSE, "message": cause}]
    });
    if retry_after > 0 {
        details["retryAfterSeconds"] = json!(retry_after);
    }
    ApiError {
        code: 429,
        reason: "TooManyRequests",
        message: "Cannot evict pod as it would violate the pod's disruption budget.".into(),
        details: Some(details),
    }
}

fn pdb_forbidden(name: &str, why: &str) -> ApiError {
    ApiError::forbidden(format!(
        "poddisruptionbudget.policy \"{name}\" is forbidden: {why}"
    ))
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Terminal, pending and terminating pods are deleted without asking their budget.
fn can_ignore_pdb(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed" | "Pending")
        || pod
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|v| !v.is_null())
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn status_int(pdb: &Value, k: &str) -> i64 {
    pdb.pointer(&format!("/status/{k}"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Whether a budget's selector selects `pod` (policy/v1: an absent selector selects nothing,
/// an empty one every pod of the namespace).
fn selects(pdb: &Value, pod: &Value) -> bool {
    let Some(sel) = pdb.pointer("/spec/selector").filter(|s| !s.is_null()) else {
        return false;
    };
    LabelSelector::from_label_selector(sel)
        .is_ok_and(|s| s.matches(pod.pointer("/metadata/labels").unwrap_or(&Value::Null)))
}

/// What an eviction does once the budget has been consulted.
enum Verdict {
    /// Delete the pod.
    Delete,
    /// Write this budget (one disruption fewer) at this revision, then delete the pod.
    Decrement(Value, i64),
}

impl ApiServer {
    /// `POST pods/NAME/eviction` with a `policy/v1` (or `v1beta1`) Eviction.
    pub(crate) async fn evict(&self, t: &Target, body: Value) -> Result<Value, ApiError> {
        let name = t.name.clone().unwrap_or_default();
        if let Some(n) = body.pointer("/metadata/name").and_then(Value::as_str) {
            if n != name {
                return Err(ApiError::bad_request(
                    "name in URL does not match name in Eviction object",
                ));
            }
        }
        let options = body.get("deleteOptions").cloned().unwrap_or(Value::Null);
        let dry_run = options
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|d| !d.is_empty());
        let pod_target = Target {
            sub: None,
            ..t.clone()
        };
        for _ in 0..5 {
            let (pod, _) = self.read(t.info, t.ns(), &name).await?;
            match self.consult_budget(t, &pod, dry_run).await? {
                Verdict::Delete => {}
                Verdict::Decrement(pdb, rev) => {
                    if !dry_run {
                        let info = pdb_info();
                        let pdb_name = pdb["metadata"]["name"].as_str().unwrap_or_default();
                        match self
                            .store
                            .update(&info.key(t.ns(), pdb_name), to_bytes(&pdb)?, rev)
                            .await
                        {
                            Ok(_) => {}
                            // The budget changed meanwhile: consult it again.
                            Err(StoreError::Conflict { .. }) => continue,
                            Err(e) => return Err(store_error(info, pdb_name, e)),
                        }
                    }
                }
            }
            let mut q = Query::parse(None);
            if dry_run {
                q = Query::parse(Some("dryRun=All"));
            }
            self.delete(&pod_target, &q, options).await?;
            return Ok(json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Success", "code": 201
            }));
        }
        Err(ApiError::modified("policy", "poddisruptionbudgets", &name))
    }

    /// Upstream's decision for one pod: delete it, refuse (the error), or take a disruption.
    async fn consult_budget(
        &self,
        t: &Target,
        pod: &Value,
        dry_run: bool,
    ) -> Result<Verdict, ApiError> {
        if can_ignore_pdb(pod) {
            return Ok(Verdict::Delete);
        }
        let info = pdb_info();
        let page = self
            .store
            .list(&info.ns_prefix(t.ns()), None, 0)
            .await
            .map_err(|e| store_error(info, "", e))?;
        let mut budgets = Vec::new();
        for kv in &page.items {
            let pdb = object_from_kv(kv)?;
            if selects(&pdb, pod) {
                budgets.push((pdb, kv.mod_revision));
            }
        }
        let (mut pdb, rev) = match budgets.len() {
            0 => return Ok(Verdict::Delete),
            1 => budgets.pop().expect("one budget"),
            _ => {
                return Err(ApiError::internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ))
            }
        };
        let pdb_name = pdb["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // An unready pod does not count as healthy: evicting it takes nothing from the budget
        // when the budget is met anyway (IfHealthyBudget, the default) or always (AlwaysAllow).
        if !is_ready(pod) {
            let policy = pdb
                .pointer("/spec/unhealthyPodEvictionPolicy")
                .and_then(Value::as_str)
                .unwrap_or("IfHealthyBudget");
            let desired = status_int(&pdb, "desiredHealthy");
            if policy == "AlwaysAllow"
                || (status_int(&pdb, "currentHealthy") >= desired && desired > 0)
            {
                return Ok(Verdict::Delete);
            }
        }
        let generation = pdb
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if status_int(&pdb, "observedGeneration") < generation {
            return Err(too_many_requests(
                format!("The disruption budget {pdb_name} is still being processed by the server."),
                10,
            ));
        }
        let allowed = status_int(&pdb, "disruptionsAllowed");
        if allowed < 0 {
            return Err(pdb_forbidden(
                &pdb_name,
                "pdb disruptions allowed is negative",
            ));
        }
        let disrupted = pdb
            .pointer("/status/disruptedPods")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
        if disrupted > MAX_DISRUPTED_POD_SIZE {
            return Err(pdb_forbidden(
                &pdb_name,
                "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
            ));
        }
        if allowed == 0 {
            return Err(too_many_requests(
                format!(
                    "The disruption budget {pdb_name} needs {} healthy pods and has {} currently",
                    status_int(&pdb, "desiredHealthy"),
                    status_int(&pdb, "currentHealthy")
                ),
                0,
            ));
        }
        let status = pdb
            .as_object_mut()
            .expect("a budget is an object")
            .entry("status")
            .or_insert_with(|| json!({}));
        status["disruptionsAllowed"] = json!(allowed - 1);
        if allowed - 1 == 0 {
            set_disruption_allowed(status, false);
        }
        if !dry_run {
            let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
            if !status["disruptedPods"].is_object() {
                status["disruptedPods"] = json!({});
            }
            status["disruptedPods"][pod_name] = json!(crate::meta::now_rfc3339());
        }
        Ok(Verdict::Decrement(pdb, rev))
    }
}

/// Upstream's `UpdateDisruptionAllowedCondition`, for the eviction that spends the last
/// disruption.
fn set_disruption_allowed(status: &mut Value, allowed: bool) {
    let observed = status
        .get("observedGeneration")
        .cloned()
        .unwrap_or(json!(0));
    let (value, reason) = if allowed {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    let mut conds: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let now = crate::meta::now_rfc3339();
    match conds.iter_mut().find(|c| c["type"] == "DisruptionAllowed") {
        Some(c) => {
            if c["status"] != value {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!(value);
            c["reason"] = json!(reason);
            c["observedGeneration"] = observed;
        }
        None => conds.push(json!({
            "type": "DisruptionAllowed", "status": value, "reason": reason, "message": "",
            "observedGeneration": observed, "lastTransitionTime": now
        })),
    }
    status["conditions"] = json!(conds);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_selection_and_pod_state() {
        let pod = json!({"metadata": {"name": "web-0", "labels": {"app": "web"}},
                         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(selects(
            &json!({"spec": {"selector": {"matchLabels": {"app": "web"}}}}),
            &pod
        ));
        assert!(selects(&json!({"spec": {"selector": {}}}), &pod));
        assert!(!selects(&json!({"spec": {}}), &pod));
        assert!(!selects(
            &json!({"spec": {"selector": {"matchLabels": {"app": "db"}}}}),
            &pod
        ));
        assert!(is_ready(&pod) && !can_ignore_pdb(&pod));
        assert!(can_ignore_pdb(&json!({"status": {"phase": "Pending"}})));
        assert!(can_ignore_pdb(
            &json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Running"}})
        ));
    }

    #[test]
    fn refusals_read_as_upstreams() {
        let e = too_many_requests(
            "The disruption budget web needs 2 healthy pods and has 2 currently".into(),
            0,
        );
        let s = e.to_status();
        assert_eq!(s["code"], 429);
        assert_eq!(s["reason"], "TooManyRequests");
        assert_eq!(
            s["message"],
            "Cannot evict pod as it would violate the pod's disruption budget."
        );
        assert_eq!(s["details"]["causes"][0]["reason"], "DisruptionBudget");
        let mut status = json!({"observedGeneration": 3});
        set_disruption_allowed(&mut status, false);
        assert_eq!(status["conditions"][0]["reason"], "InsufficientPods");
        assert_eq!(status["conditions"][0]["observedGeneration"], 3);
    }
}
