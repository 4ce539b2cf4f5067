//! `POST pods/NAME/binding`: the scheduler assigns a pod to a node.

use super::{store_error, to_bytes};
use crate::meta::now_rfc3339;
use crate::router::Target;
use crate::ApiServer;
use ordo_api::status::ApiError;
use ordo_store::StoreError;
use serde_json::{json, Value};

impl ApiServer {
    /// `POST pods/NAME/binding`: the scheduler assigns a pod to a node.
    pub(crate) async fn bind(&self, t: &Target, body: Value) -> Result<Value, ApiError> {
        let name = t.name.clone().unwrap_or_default();
        let node = body
            .pointer("/target/name")
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .to_string();
        if node.is_empty() {
            return Err(ApiError::invalid(
                "",
                "Binding",
                &name,
                &[ordo_api::status::Cause::required("target.name", "")],
            ));
        }
        for _ in 0..5 {
            let (old, rev) = self.read(t.info, t.ns(), &name).await?;
            if let Some(cur) = old
                .pointer("/spec/nodeName")
                .and_then(|n| n.as_str())
                .filter(|n| !n.is_empty())
            {
                return Err(ApiError::conflict(
                    "",
                    "pods",
                    &name,
                    &format!("pod {name} is already assigned to node \"{cur}\""),
                ));
            }
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Err(ApiError::conflict(
                    "",
                    "pods",
                    &name,
                    "pod is being deleted, cannot be assigned to a host",
                ));
            }
            let mut new = old.clone();
            new["spec"]["nodeName"] = json!(node);
            let cond = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339()});
            let conds = new["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut conds: Vec<Value> = conds
                .into_iter()
                .filter(|c| c["type"] != "PodScheduled")
                .collect();
            conds.insert(0, cond);
            new["status"]["conditions"] = json!(conds);
            let key = t.info.key(t.ns(), &name);
            match self.store.update(&key, to_bytes(&new)?, rev).await {
                Ok(_) => {
                    return Ok(
                        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                    )
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(t.info, &name, e)),
            }
        }
        Err(ApiError::modified("", "pods", &name))
    }
}
