//! Admission `LimitRanger` (upstream `plugin/pkg/admission/limitranger`): a new pod's
//! containers get the default requests and limits of their namespace's LimitRanges (mutating
//! phase), and pods and claims outside a range's min, max or limit-to-request ratio are
//! refused with upstream's 403 (validating phase, before `ResourceQuota`). The decisions are
//! in `ordo_api::limit_range`.

use crate::rest::{object_from_kv, store_error};
use crate::ApiServer;
use ordo_api::limit_range;
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::status::ApiError;
use serde_json::Value;

fn info() -> &'static ResourceInfo {
    resources::find("", "v1", "limitranges").expect("LimitRanges are served")
}

/// The kinds LimitRanger looks at: pods (on create) and claims.
fn handled(info: &ResourceInfo) -> bool {
    info.group.is_empty() && matches!(info.kind, "Pod" | "PersistentVolumeClaim")
}

impl ApiServer {
    async fn limit_ranges(&self, ns: &str) -> Result<Vec<Value>, ApiError> {
        let page = self
            .store
            .list(&info().ns_prefix(Some(ns)), None, 0)
            .await
            .map_err(|e| store_error(info(), "", e))?;
        page.items.iter().map(object_from_kv).collect()
    }

    /// The mutating half: defaults a new pod's container resources.
    pub(crate) async fn admit_limit_range_defaults(
        &self,
        info: &ResourceInfo,
        ns: &str,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        if !(info.group.is_empty() && info.kind == "Pod") {
            return Ok(());
        }
        let ranges = self.limit_ranges(ns).await?;
        if ranges.is_empty() {
            return Ok(());
        }
        for lr in &ranges {
            limit_range::default_pod(lr, obj);
        }
        // The QoS class follows the defaulted resources (upstream computes it afterwards).
        obj["status"]["qosClass"] = Value::from(crate::admission::qos_class(obj));
        Ok(())
    }

    /// The validating half: refuses pods and claims outside the ranges.
    pub(crate) async fn admit_limit_range_checks(
        &self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        obj: &Value,
    ) -> Result<(), ApiError> {
        if !handled(info) {
            return Ok(());
        }
        for lr in self.limit_ranges(ns).await? {
            let checked = if info.kind == "Pod" {
                limit_range::validate_pod(&lr, obj)
            } else {
                limit_range::validate_claim(&lr, obj)
            };
            checked.map_err(|why| {
                ApiError::forbidden(format!(
                    "{} \"{name}\" is forbidden: {why}",
                    info.qualified()
                ))
            })?;
        }
        Ok(())
    }
}
