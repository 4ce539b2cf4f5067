//! The `scale` subresource: `GET` and `PUT` of the autoscaling/v1 Scale of a workload
//! (`PATCH` is in [`super::patch`]).

use crate::meta::Query;
use crate::router::Target;
use crate::ApiServer;
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::selector::LabelSelector;
use ordo_api::status::ApiError;
use serde_json::{json, Value};

impl ApiServer {
    /// `GET .../scale`.
    pub(crate) async fn get_scale(&self, t: &Target) -> Result<Value, ApiError> {
        let (obj, _) = self
            .read(t.info, t.ns(), t.name.as_deref().unwrap_or_default())
            .await?;
        scale_of(t.info, &obj)
    }

    /// `PUT .../scale`.
    pub(crate) async fn update_scale(
        &self,
        t: &Target,
        body: Value,
        q: &Query,
    ) -> Result<Value, ApiError> {
        let name = t.name.clone().unwrap_or_default();
        let scale = resources::decode_scale(body).map_err(ApiError::bad_request)?;
        let (old, rev) = self.read(t.info, t.ns(), &name).await?;
        if let Some(p) = scale
            .pointer("/metadata/resourceVersion")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
        {
            if p != rev.to_string() {
                return Err(ApiError::modified(t.info.group, t.info.plural, &name));
            }
        }
        let replicas = scale
            .pointer("/spec/replicas")
            .and_then(|r| r.as_i64())
            .unwrap_or(0);
        if replicas < 0 {
            return Err(ApiError::invalid(
                "autoscaling",
                "Scale",
                &name,
                &[ordo_api::status::Cause::invalid(
                    "spec.replicas",
                    replicas,
                    "must be greater than or equal to 0",
                )],
            ));
        }
        let mut new = old.clone();
        set_replicas(t.info, &mut new, json!(replicas));
        let v = self
            .write_update(
                &Target {
                    sub: None,
                    ..t.clone()
                },
                &old,
                rev,
                new,
                q,
            )
            .await?;
        scale_of(t.info, &v)
    }
}

/// Sets the replicas a Scale writes: `spec.replicas`, or a custom resource's
/// `specReplicasPath` (a dotted path of fields).
pub(crate) fn set_replicas(info: &ResourceInfo, obj: &mut Value, replicas: Value) {
    let path = ordo_api::crd::by_info(info)
        .and_then(|c| c.scale.clone())
        .map(|s| s.spec_replicas)
        .unwrap_or_else(|| ".spec.replicas".into());
    let mut cur = obj;
    let fields: Vec<&str> = path.trim_start_matches('.').split('.').collect();
    for (i, f) in fields.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        if i + 1 == fields.len() {
            cur[*f] = replicas;
            return;
        }
        cur = &mut cur[*f];
    }
}

/// The autoscaling/v1 Scale of a custom resource with a `scale` subresource.
fn custom_scale_of(paths: &ordo_api::crd::ScalePaths, obj: &Value) -> Value {
    let m = obj.get("metadata").cloned().unwrap_or(json!({}));
    let get = |p: &str| ordo_api::crd::jsonpath(obj, p).cloned();
    let mut status = json!({"replicas": get(&paths.status_replicas).unwrap_or(json!(0))});
    if let Some(sel) = paths.label_selector.as_deref().and_then(get) {
        status["selector"] = sel;
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"), "namespace": m.get("namespace"), "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"), "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": {"replicas": get(&paths.spec_replicas).unwrap_or(json!(0))},
        "status": status,
    })
}

/// The autoscaling/v1 Scale of a workload.
pub(crate) fn scale_of(info: &ResourceInfo, obj: &Value) -> Result<Value, ApiError> {
    if let Some(paths) = ordo_api::crd::by_info(info).and_then(|c| c.scale.clone()) {
        return Ok(custom_scale_of(&paths, obj));
    }
    let mut sel = obj.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    if info.kind == "ReplicationController" {
        // The v1 selector is a plain label map.
        sel = json!({ "matchLabels": sel });
    }
    let selector = LabelSelector::from_label_selector(&sel)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let m = obj.get("metadata").cloned().unwrap_or(json!({}));
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"), "namespace": m.get("namespace"), "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"), "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector},
    }))
}
