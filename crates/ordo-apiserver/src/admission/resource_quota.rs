//! Admission `ResourceQuota` (upstream `plugin/pkg/admission/resourcequota`): a request that
//! would take a namespace past one of its quotas is refused with upstream's 403
//! (`exceeded quota: NAME, requested: ..., used: ..., limited: ...`). The decision is
//! `ordo_api::quota::check_request`; this module gives it the quotas and what is in use.
//!
//! Upstream charges `status.used` in admission and lets the controller correct it, which lets
//! concurrent requests slip past a quota while the controller's view lags. ordo decides on the
//! store instead: a request some quota constrains takes a lock, measures what the namespace's
//! objects of its kind use right now (from the store), and holds the lock until its own write
//! is done (the guard returned), so two requests never spend the same room. The resource quota
//! controller keeps `status.used` current for `kubectl describe quota`.

use crate::rest::{object_from_kv, store_error};
use crate::ApiServer;
use ordo_api::quota::{calculate_used, check_request, list_from_json, list_to_json, Evaluator};
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::status::ApiError;
use serde_json::Value;
use tokio::sync::MutexGuard;

fn quotas_info() -> &'static ResourceInfo {
    resources::find("", "v1", "resourcequotas").expect("ResourceQuotas are served")
}

impl ApiServer {
    async fn list_values(&self, info: &ResourceInfo, ns: &str) -> Result<Vec<Value>, ApiError> {
        let page = self
            .store
            .list(&info.ns_prefix(Some(ns)), None, 0)
            .await
            .map_err(|e| store_error(info, "", e))?;
        page.items.iter().map(object_from_kv).collect()
    }

    /// Admits a create (`old` None) or update of `obj` against the quotas of namespace `ns`,
    /// or refuses it. When a quota constrains it, the returned guard must be held until the
    /// object is written (or the write failed).
    pub(crate) async fn admit_resource_quota(
        &self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        obj: &Value,
        old: Option<&Value>,
    ) -> Result<Option<MutexGuard<'_, ()>>, ApiError> {
        if resources::is_review(info) {
            return Ok(None);
        }
        let ev = Evaluator::for_resource(info.group, info.plural);
        if old.is_some() && !ev.handles_update() {
            return Ok(None);
        }
        let forbidden = |why: String| {
            ApiError::forbidden(format!(
                "{} \"{name}\" is forbidden: {why}",
                info.qualified()
            ))
        };
        // Most requests concern no quota: decided without the lock.
        let quotas = self.list_values(quotas_info(), ns).await?;
        if quotas.is_empty()
            || matches!(check_request(&quotas, &ev, obj, old), Ok(c) if c.is_empty())
        {
            return Ok(None);
        }
        let guard = self.quota_lock.lock().await;
        let mut quotas = self.list_values(quotas_info(), ns).await?;
        let objects = self.list_values(info, ns).await?;
        for q in quotas.iter_mut() {
            // What this kind's objects use now, over what the controller last reported.
            let measured = calculate_used(q, |g, p| {
                (g == info.group && p == info.plural).then(|| objects.iter().collect())
            });
            let mut used = list_from_json(q.pointer("/status/used"));
            if q.pointer("/status/used").is_some() {
                used.extend(measured);
                q["status"]["used"] = list_to_json(&used);
            }
        }
        check_request(&quotas, &ev, obj, old).map_err(forbidden)?;
        Ok(Some(guard))
    }
}
