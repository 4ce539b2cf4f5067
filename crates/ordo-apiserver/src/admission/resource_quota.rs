//! Admission `ResourceQuota` (upstream `plugin/pkg/admission/resourcequota`): a request that
//! would take a namespace past one of its quotas is refused with upstream's 403
//! (`exceeded quota: NAME, requested: ..., used: ..., limited: ...`), and an admitted one is
//! charged to the quotas' `status.used` before the object is written, as upstream does. The
//! decision is `ordo_api::quota::check_request`; this module reads the quotas and writes the
//! charges. Charges are made one request at a time (a lock) and each quota is written with
//! compare-on-revision, so concurrent requests never overspend a quota, also against the
//! resource quota controller's status writes.

use crate::rest::{object_from_kv, store_error, to_bytes};
use crate::ApiServer;
use ordo_api::quota::{check_request, list_to_json, Evaluator};
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::status::ApiError;
use ordo_store::{KeyValue, StoreError};
use serde_json::Value;
use std::collections::HashSet;

fn quotas_info() -> &'static ResourceInfo {
    resources::find("", "v1", "resourcequotas").expect("ResourceQuotas are served")
}

impl ApiServer {
    /// Charges a create (`old` None) or update of `obj` to the quotas of namespace `ns`, or
    /// refuses it. `dry_run` checks without charging.
    pub(crate) async fn admit_resource_quota(
        &self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        obj: &Value,
        old: Option<&Value>,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        if resources::is_review(info) {
            return Ok(());
        }
        let ev = Evaluator::for_resource(info.group, info.plural);
        if old.is_some() && !ev.handles_update() {
            return Ok(());
        }
        let qi = quotas_info();
        let forbidden = |why: String| {
            ApiError::forbidden(format!(
                "{} \"{name}\" is forbidden: {why}",
                info.qualified()
            ))
        };
        let read = |charged: &HashSet<String>| {
            let charged = charged.clone();
            async move {
                let page = self
                    .store
                    .list(&qi.ns_prefix(Some(ns)), None, 0)
                    .await
                    .map_err(|e| store_error(qi, "", e))?;
                let kvs: Vec<KeyValue> = page
                    .items
                    .into_iter()
                    .filter(|kv| !charged.contains(&kv.key))
                    .collect();
                let quotas: Vec<Value> = kvs.iter().map(object_from_kv).collect::<Result<_, _>>()?;
                Ok::<_, ApiError>((kvs, quotas))
            }
        };
        // Most requests concern no quota: decided without the lock.
        let (_, quotas) = read(&HashSet::new()).await?;
        if quotas.is_empty() {
            return Ok(());
        }
        let charges = check_request(&quotas, &ev, obj, old).map_err(forbidden)?;
        if dry_run || charges.is_empty() {
            return Ok(());
        }
        let _serial = self.quota_lock.lock().await;
        // Quotas already charged when a later one conflicted (not charged twice on retry).
        let mut charged: HashSet<String> = HashSet::new();
        for _attempt in 0..10 {
            let (kvs, quotas) = read(&charged).await?;
            let charges = check_request(&quotas, &ev, obj, old).map_err(forbidden)?;
            let mut conflict = false;
            for (i, used) in charges {
                let mut q = quotas[i].clone();
                q["status"]["used"] = list_to_json(&used);
                match self
                    .store
                    .update(&kvs[i].key, to_bytes(&q), kvs[i].mod_revision)
                    .await
                {
                    Ok(_) => {
                        charged.insert(kvs[i].key.clone());
                    }
                    Err(StoreError::Conflict { .. }) => {
                        conflict = true;
                        break;
                    }
                    Err(e) => return Err(store_error(qi, "", e)),
                }
            }
            if !conflict {
                return Ok(());
            }
        }
        Err(ApiError::internal(format!(
            "{} \"{name}\" could not be charged to its namespace's quotas: too many conflicts",
            info.qualified()
        )))
    }
}
