//! The REST verbs, one module each: [`get`] (one object), [`list`], [`watch`], [`create`],
//! [`update`] (PUT and the update rules every write goes through), [`patch`], [`delete`],
//! [`scale`] and [`binding`]. What the verbs share is here: the store's objects to and from
//! JSON, store errors as API errors, reading one object and decoding a request body.
//! What the server changes or refuses in an object before storing it is in
//! [`crate::admission`].

mod binding;
mod create;
mod delete;
mod eviction;
mod get;
mod list;
mod patch;
mod scale;
mod update;
mod watch;

pub(crate) use list::{matches, parse_continue};
pub(crate) use patch::{apply_patch, parse_patch};
pub(crate) use watch::LineCache;

use crate::meta::{meta_mut, Query};
use crate::ApiServer;
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::status::ApiError;
use ordo_store::{KeyValue, Revision, StoreError};
use serde_json::{json, Value};

/// Maps a store error on one object to the API error upstream returns.
pub(crate) fn store_error(info: &ResourceInfo, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::AlreadyExists(_) => ApiError::already_exists(info.group, info.plural, name),
        StoreError::NotFound(_) => ApiError::not_found(info.group, info.plural, name),
        StoreError::Conflict { .. } => ApiError::modified(info.group, info.plural, name),
        StoreError::Compacted { .. } => {
            ApiError::gone("The resourceVersion for the provided watch is too old.")
        }
        StoreError::Unavailable(m) => ApiError::unavailable(m),
    }
}

/// The object stored under a key, with `resourceVersion` set from the store revision.
pub(crate) fn object_from_kv(kv: &KeyValue) -> Result<Value, ApiError> {
    let mut v: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("corrupt object {}: {e}", kv.key)))?;
    meta_mut(&mut v).insert(
        "resourceVersion".into(),
        Value::String(kv.mod_revision.to_string()),
    );
    Ok(v)
}

/// Largest object stored, in bytes of its stored form: etcd's default request limit
/// (`--max-request-bytes`, 1.5 MiB), which bounds objects in a Kubernetes cluster.
pub(crate) const MAX_OBJECT_BYTES: usize = 1536 * 1024;

/// Serialised form of an object for the store (without `resourceVersion`); an object larger
/// than [`MAX_OBJECT_BYTES`] is refused as etcd refuses it (kube-apiserver passes etcd's
/// message on in a 500 Status).
pub(crate) fn to_bytes(obj: &Value) -> Result<Vec<u8>, ApiError> {
    let mut o = obj.clone();
    meta_mut(&mut o).remove("resourceVersion");
    let bytes = serde_json::to_vec(&o).unwrap_or_default();
    if bytes.len() > MAX_OBJECT_BYTES {
        return Err(ApiError {
            code: 500,
            reason: "",
            message: "etcdserver: request is too large".into(),
            details: None,
        });
    }
    Ok(bytes)
}

/// `fieldValidation`: how unknown fields are treated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    fn from_query(q: &Query) -> Result<Self, ApiError> {
        match q.get("fieldValidation") {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(o) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {o}"
            ))),
        }
    }
}

impl ApiServer {
    /// Reads one object; 404 if it does not exist.
    pub(crate) async fn read(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
    ) -> Result<(Value, Revision), ApiError> {
        match self
            .store
            .get(&info.key(ns, name))
            .await
            .map_err(|e| store_error(info, name, e))?
        {
            Some(kv) => {
                let mut obj = object_from_kv(&kv)?;
                if ordo_api::crd::by_info(info).is_some() {
                    // A custom object stored by an earlier storage version reads as this one
                    // (the `None` conversion strategy).
                    if let Some(o) = obj.as_object_mut() {
                        o.insert("apiVersion".into(), json!(info.api_version()));
                    }
                }
                Ok((obj, kv.mod_revision))
            }
            None => Err(ApiError::not_found(info.group, info.plural, name)),
        }
    }

    /// Decodes a body through the typed schema, checks kind/apiVersion and unknown fields.
    pub(crate) fn decode_body(
        &self,
        info: &ResourceInfo,
        obj: Value,
        q: &Query,
    ) -> Result<Value, ApiError> {
        decode_object(info, obj, q)
    }
}

/// Decodes a body through the typed schema, checks kind/apiVersion and unknown fields
/// (what [`ApiServer::decode_body`] does; free of the server's state).
pub(crate) fn decode_object(
    info: &ResourceInfo,
    mut obj: Value,
    q: &Query,
) -> Result<Value, ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(format!(
            "the body of the request was not a {} object",
            info.kind
        )));
    }
    let kind_ok = obj
        .get("kind")
        .and_then(|k| k.as_str())
        .is_none_or(|k| k == info.kind);
    let av_ok = obj
        .get("apiVersion")
        .and_then(|k| k.as_str())
        .is_none_or(|a| a == info.api_version());
    if !kind_ok || !av_ok {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({}) does not match the expected API version ({})",
            obj.get("apiVersion").and_then(|a| a.as_str()).unwrap_or(""),
            info.api_version()
        )));
    }
    obj["kind"] = json!(info.kind);
    obj["apiVersion"] = json!(info.api_version());
    let mode = FieldValidation::from_query(q)?;
    let mut decoded = resources::decode(info, obj).map_err(ApiError::bad_request)?;
    if let Some(schema) = ordo_api::crd::by_info(info).and_then(|c| c.schema.clone()) {
        // Custom objects: the fields the schema does not declare are pruned.
        decoded.unknown_fields = ordo_api::crd::schema::prune(&schema, &mut decoded.object);
    }
    if mode == FieldValidation::Strict && !decoded.unknown_fields.is_empty() {
        let list: Vec<String> = decoded
            .unknown_fields
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        return Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            list.join(", ")
        )));
    }
    if mode == FieldValidation::Warn {
        for f in &decoded.unknown_fields {
            tracing::info!(kind = info.kind, "unknown field \"{f}\" dropped");
        }
    }
    Ok(decoded.object)
}

#[cfg(test)]
mod size_tests {
    use super::*;

    #[test]
    fn objects_over_1_5_mib_are_refused_as_etcd_refuses_them() {
        let obj = |n: usize| json!({"metadata": {"name": "a", "resourceVersion": "7"}, "data": {"k": "x".repeat(n)}});
        let ok = to_bytes(&obj(MAX_OBJECT_BYTES - 100)).unwrap();
        assert!(ok.len() <= MAX_OBJECT_BYTES);
        assert!(!String::from_utf8(ok).unwrap().contains("resourceVersion"));
        let e = to_bytes(&obj(MAX_OBJECT_BYTES)).unwrap_err();
        assert_eq!((e.code, e.reason), (500, ""));
        assert_eq!(e.message, "etcdserver: request is too large");
        assert!(e.to_status().get("reason").is_none());
    }
}
