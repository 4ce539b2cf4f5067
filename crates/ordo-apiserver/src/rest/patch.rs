//! `PATCH` of an object or of its `status` or `scale`: JSON patch, merge patch, strategic
//! merge patch and server-side apply (which creates missing objects), retried on conflicts.

use super::scale::scale_of;
use crate::meta::{meta_mut, Query};
use crate::router::Target;
use crate::ApiServer;
use axum::http::StatusCode;
use ordo_api::patch;
use ordo_api::status::ApiError;
use serde_json::{json, Value};

impl ApiServer {
    /// `PATCH` of an object or a subresource; retried on conflicts unless the patch pins a
    /// resourceVersion.
    pub(crate) async fn patch(
        &self,
        t: &Target,
        content_type: &str,
        body: &[u8],
        q: &Query,
    ) -> Result<(StatusCode, Value), ApiError> {
        let info = t.info;
        // A patch in another version than the stored one applies to the object in its version.
        let stored = ordo_api::resources::storage_info(info);
        let converted = !std::ptr::eq(stored, info);
        let name = t.name.clone().unwrap_or_default();
        let ct = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let patch_doc = parse_patch(&ct, body)?;
        if ct == "application/strategic-merge-patch+json" && ordo_api::crd::by_info(info).is_some()
        {
            // Custom resources have no patch strategies (upstream refuses this media type).
            return Err(ApiError {
                code: 415,
                reason: "UnsupportedMediaType",
                message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into(),
                details: None,
            });
        }
        let pinned = patch_doc
            .pointer("/metadata/resourceVersion")
            .and_then(|v| v.as_str())
            .map(|s| s.to_string());
        for _ in 0..8 {
            let (old, rev) = match self.read(info, t.ns(), &name).await {
                Ok(x) => x,
                Err(e)
                    if e.code == 404 && ct == "application/apply-patch+yaml" && t.sub.is_none() =>
                {
                    // Server-side apply creates missing objects.
                    let mut obj = patch_doc.clone();
                    meta_mut(&mut obj).insert("name".into(), json!(name));
                    if converted {
                        let t = Target {
                            info: stored,
                            ..t.clone()
                        };
                        return self
                            .create(&t, crate::convert::to_stored(info, &obj), q)
                            .await;
                    }
                    return self.create(t, obj, q).await;
                }
                Err(e) => return Err(e),
            };
            if let Some(p) = &pinned {
                if *p != rev.to_string() {
                    return Err(ApiError::modified(info.group, info.plural, &name));
                }
            }
            let base = if t.sub.as_deref() == Some("scale") {
                scale_of(info, &old)?
            } else if converted {
                crate::convert::from_stored(info, &old)
            } else {
                old.clone()
            };
            let kind = if t.sub.as_deref() == Some("scale") {
                "Scale"
            } else {
                info.kind
            };
            let patched = apply_patch(&ct, kind, &base, &patch_doc)?;
            let new = if t.sub.as_deref() == Some("scale") {
                let replicas = patched
                    .pointer("/spec/replicas")
                    .cloned()
                    .unwrap_or(json!(0));
                let mut n = old.clone();
                super::scale::set_replicas(info, &mut n, replicas);
                n
            } else if converted {
                self.decode_body(stored, crate::convert::to_stored(info, &patched), q)?
            } else {
                self.decode_body(info, patched, q)?
            };
            let write_target = if t.sub.as_deref() == Some("scale") {
                Target {
                    sub: None,
                    ..t.clone()
                }
            } else {
                Target {
                    info: stored,
                    ..t.clone()
                }
            };
            match self.write_update(&write_target, &old, rev, new, q).await {
                Ok(v) if t.sub.as_deref() == Some("scale") => {
                    return Ok((StatusCode::OK, scale_of(info, &v)?))
                }
                Ok(v) => return Ok((StatusCode::OK, v)),
                Err(e) if e.code == 409 && e.reason == "Conflict" && pinned.is_none() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::modified(info.group, info.plural, &name))
    }
}

/// Decodes a patch body of media type `ct` (without parameters).
pub(crate) fn parse_patch(ct: &str, body: &[u8]) -> Result<Value, ApiError> {
    match ct {
        "application/apply-patch+yaml" => crate::meta::parse_body("yaml", body),
        "application/json-patch+json"
        | "application/merge-patch+json"
        | "application/strategic-merge-patch+json" => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}"))),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// Applies a decoded patch of media type `ct` to `base`, an object of `kind`.
pub(crate) fn apply_patch(
    ct: &str,
    kind: &str,
    base: &Value,
    patch_doc: &Value,
) -> Result<Value, ApiError> {
    match ct {
        "application/json-patch+json" => {
            let ops = patch_doc.as_array().map_or(0, Vec::len);
            if ops > patch::MAX_JSON_PATCH_OPERATIONS {
                return Err(ApiError::too_large(format!(
                    "Request entity too large: The allowed maximum operations in a JSON patch is {}, got {ops}",
                    patch::MAX_JSON_PATCH_OPERATIONS
                )));
            }
            patch::json_patch(base, patch_doc).map_err(|e| ApiError::invalid_patch(&e))
        }
        "application/merge-patch+json" => Ok(patch::json_merge_patch(base, patch_doc)),
        _ => patch::strategic_merge_patch(kind, base, patch_doc)
            .map_err(|e| ApiError::invalid_patch(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_patches_hold_at_most_10000_operations() {
        let op = json!({"op": "test", "path": "/a", "value": 1});
        let ct = "application/json-patch+json";
        let ok = Value::Array(vec![op.clone(); 10_000]);
        assert_eq!(
            apply_patch(ct, "Pod", &json!({"a": 1}), &ok).unwrap(),
            json!({"a": 1})
        );
        let big = Value::Array(vec![op; 10_001]);
        let e = apply_patch(ct, "Pod", &json!({"a": 1}), &big).unwrap_err();
        assert_eq!((e.code, e.reason), (413, "RequestEntityTooLarge"));
        assert_eq!(
            e.message,
            "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
        );
    }
}
