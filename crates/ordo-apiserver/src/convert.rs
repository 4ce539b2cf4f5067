//! Requests on a version other than the one a kind is stored in (autoscaling/v1
//! HorizontalPodAutoscalers, stored as autoscaling/v2): bodies are decoded in their version
//! and converted to the stored one, the request is served on the stored version, and objects
//! in the answer are converted back (`ordo_api::conversion`). Watches stream the stored
//! version.

use crate::meta::{parse_body, Query};
use crate::router::{too_large, Target};
use crate::ApiServer;
use crate::MAX_BODY_BYTES;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method};
use axum::response::Response;
use ordo_api::conversion;
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::status::ApiError;
use serde_json::{json, Value};
use std::sync::Arc;

/// `obj` of `info`'s version in the stored version.
pub(crate) fn to_stored(info: &ResourceInfo, obj: &Value) -> Value {
    match (info.group, info.version, info.kind) {
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => conversion::hpa_v1_to_v2(obj),
        // Custom resources: the `None` conversion strategy rewrites apiVersion only.
        _ if ordo_api::crd::by_info(info).is_some() => {
            with_api_version(obj, resources::storage_info(info).api_version())
        }
        _ => obj.clone(),
    }
}

/// `obj` with `apiVersion` set (when it is an object).
fn with_api_version(obj: &Value, api_version: String) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.insert("apiVersion".into(), json!(api_version));
    }
    o
}

/// A stored object in `info`'s version.
pub(crate) fn from_stored(info: &ResourceInfo, obj: &Value) -> Value {
    match (info.group, info.version, info.kind) {
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => conversion::hpa_v2_to_v1(obj),
        _ if ordo_api::crd::by_info(info).is_some() => with_api_version(obj, info.api_version()),
        _ => obj.clone(),
    }
}

/// Serves `req` on `target` (a version that is not the stored one) through `dispatch`, which
/// serves requests on a target of the stored version.
pub(crate) async fn serve_converted<F, Fut>(
    server: &Arc<ApiServer>,
    req: Request,
    target: Target,
    query: &Query,
    dispatch: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Request, Target) -> Fut,
    Fut: std::future::Future<Output = Result<Response, ApiError>>,
{
    let info = target.info;
    let stored = resources::storage_info(info);
    let (mut parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| too_large())?;
    let mut new_target = Target {
        info: stored,
        ..target.clone()
    };
    let body = if matches!(parts.method, Method::POST | Method::PUT) && target.sub.is_none() {
        let ct = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string();
        let obj = parse_body(&ct, &body)?;
        if obj.is_null() {
            body
        } else {
            let decoded = server.decode_body(info, obj, query)?;
            parts.headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            serde_json::to_vec(&to_stored(info, &decoded))
                .unwrap_or_default()
                .into()
        }
    } else {
        if parts.method == Method::PATCH {
            // The patch applies to the object in the request's version (`rest/patch.rs`).
            new_target = target;
        }
        body
    };
    let watch = query.flag("watch");
    let resp = dispatch(Request::from_parts(parts, Body::from(body)), new_target).await?;
    if watch || !resp.status().is_success() {
        return Ok(resp);
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(Response::from_parts(parts, Body::from(bytes)));
    };
    let stored_av = stored.api_version();
    if v["apiVersion"] == json!(stored_av) && v["kind"] == json!(stored.kind) {
        v = from_stored(info, &v);
    } else if v["kind"] == json!(crate::table::list_kind(stored)) {
        v["apiVersion"] = json!(info.api_version());
        if let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
            for i in items.iter_mut() {
                let mut typed = i.clone();
                typed["apiVersion"] = json!(stored_av);
                typed["kind"] = json!(stored.kind);
                let mut c = from_stored(info, &typed);
                if i.get("kind").is_none() {
                    if let Some(m) = c.as_object_mut() {
                        m.remove("kind");
                        m.remove("apiVersion");
                    }
                }
                *i = c;
            }
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Response::from_parts(
        parts,
        Body::from(serde_json::to_vec(&v).unwrap_or_default()),
    ))
}
