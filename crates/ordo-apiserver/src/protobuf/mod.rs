//! Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`) for every kind k8s-pb
//! knows: request bodies (what kubectl's typed-client commands send: `kubectl create <anything>`,
//! `kubectl drain`'s evictions) are decoded into the JSON the rest of the server works on, and
//! responses are encoded from that JSON for clients that ask for protobuf.
//!
//! A body is the magic `k8s\0` and a `runtime.Unknown {typeMeta, raw}` wrapping the object's
//! message. The codec is generic: it walks a schema that `build.rs` generates from the sources of
//! the `k8s-pb` crate (kube-rs's prost bindings of every upstream `generated.proto`), naming fields
//! as k8s-openapi's serde does (the Go `json` tags). Design choice: k8s-pb ships prost structs but
//! neither a file descriptor set nor serde, so the two ways to reach JSON were (a) converting each
//! prost struct to and from its k8s-openapi twin — hand-written code for hundreds of types — or
//! (b) a descriptor-driven codec; (b) is taken, with the descriptors read from k8s-pb's generated
//! code at build time, so no kind needs code of its own and a new kind works once k8s-pb has it.
//!
//! The few messages whose JSON is not an object of their fields are handled by type (see
//! [`schema::Special`]): `IntOrString` (number or string), `Quantity` (string), `Time` and
//! `MicroTime` (RFC 3339), `Duration`, `RawExtension`/`FieldsV1` (embedded JSON, or an embedded
//! protobuf object), and `{items}` string-list wrappers. Go structs embedded inline (a `Volume`'s
//! `VolumeSource`, a `Probe`'s handler) are found by comparing with k8s-openapi's fields. Zero
//! scalars are dropped as Go's `omitempty` drops them, except in required fields and the Go
//! pointer fields of [`schema::POINTER_ZEROS`] (`replicas: 0`, `suspend: false` stay).

mod decode;
mod encode;
mod schema;
mod wire;

use serde_json::{Map, Value};
use wire::{fields, put_bytes, text, Wire};

/// The first bytes of every protobuf-encoded object.
pub(crate) const MAGIC: &[u8] = b"k8s\0";

/// The media type of protobuf objects.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Decodes a protobuf body (magic, `Unknown`, object) into the JSON object it stands for.
pub(crate) fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the Kubernetes protobuf magic number")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    let mut encoding = String::new();
    for (n, f) in fields(rest)? {
        match (n, f) {
            (1, Wire::Bytes(tm)) => {
                for (n, f) in fields(tm)? {
                    match (n, f) {
                        (1, Wire::Bytes(x)) => api_version = text(x)?,
                        (2, Wire::Bytes(x)) => kind = text(x)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(x)) => raw = x,
            (3, Wire::Bytes(x)) => encoding = text(x)?,
            _ => {}
        }
    }
    if !encoding.is_empty() {
        return Err(format!(
            "protobuf bodies with content encoding {encoding:?} are not supported"
        ));
    }
    let msg = schema::root(&api_version, &kind).ok_or_else(|| {
        format!(
            "no protobuf message is known for {api_version} {kind}; send JSON, e.g. with kubectl apply -f or kubectl create -f"
        )
    })?;
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String(api_version.clone()));
    obj.insert("kind".into(), Value::String(kind.clone()));
    decode::decode_message(msg, raw, &mut obj, "").map_err(|e| {
        format!("cannot decode the protobuf body of {api_version} {kind}: {e}; send JSON, e.g. with kubectl apply -f or kubectl create -f")
    })?;
    Ok(Value::Object(obj))
}

/// Encodes a JSON object (with `apiVersion` and `kind`) as protobuf: magic, `Unknown`, object.
/// Errors when its kind has no protobuf message (tables, custom resources) or the JSON does not
/// fit the message; the caller then answers in JSON.
pub(crate) fn encode(obj: &Value) -> Result<Vec<u8>, String> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    // CustomResourceDefinitions' JSONSchemaProps use `...OrArray`/`...OrBool` unions whose JSON
    // is not their fields': they stay JSON.
    let msg = schema::root(api_version, kind)
        .filter(|_| !api_version.starts_with("apiextensions.k8s.io/"))
        .ok_or_else(|| format!("no protobuf message is known for {api_version} {kind}"))?;
    let map = obj.as_object().ok_or("not an object")?;
    let mut raw = Vec::new();
    encode::encode_object(msg, map, &mut raw, "")?;
    let mut type_meta = Vec::new();
    put_bytes(&mut type_meta, 1, api_version.as_bytes());
    put_bytes(&mut type_meta, 2, kind.as_bytes());
    let mut out = MAGIC.to_vec();
    put_bytes(&mut out, 1, &type_meta);
    put_bytes(&mut out, 2, &raw);
    put_bytes(&mut out, 3, b"");
    put_bytes(&mut out, 4, b"");
    Ok(out)
}

/// One frame of a protobuf watch stream (`;stream=watch`): a 4-byte big-endian length and a
/// `WatchEvent {type, object: RawExtension{raw: encoded object}}` without magic or `Unknown`, as
/// upstream's length-delimited framer writes it.
pub(crate) fn watch_frame(event_type: &str, object: &Value) -> Result<Vec<u8>, String> {
    let inner = encode(object)?;
    let mut raw_ext = Vec::new();
    put_bytes(&mut raw_ext, 1, &inner);
    let mut ev = Vec::new();
    put_bytes(&mut ev, 1, event_type.as_bytes());
    put_bytes(&mut ev, 2, &raw_ext);
    let mut out = (ev.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&ev);
    Ok(out)
}

/// What an `Accept` header asks for, by the first media range ordo can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accept {
    /// JSON (or anything: `*/*`, YAML, tables).
    Json,
    /// Protobuf, with JSON acceptable as a fallback.
    Protobuf,
    /// Protobuf only: a kind without protobuf gets 406 Not Acceptable.
    ProtobufOnly,
}

/// Reads an `Accept` header the way upstream's negotiation does: the first acceptable media range
/// wins; `as=Table` and other conversions are JSON.
pub(crate) fn accept(header: &str) -> Accept {
    let ranges: Vec<&str> = header.split(',').map(str::trim).collect();
    let is_proto = |r: &str| r.starts_with(MEDIA_TYPE) && !r.contains("as=");
    let is_other = |r: &str| {
        let media = r.split(';').next().unwrap_or("").trim();
        matches!(
            media,
            "application/json" | "application/yaml" | "*/*" | "application/*"
        )
    };
    match ranges.iter().position(|r| is_proto(r)) {
        Some(p) if ranges[..p].iter().any(|r| is_other(r)) => Accept::Json,
        Some(p) if ranges[p + 1..].iter().any(|r| is_other(r)) => Accept::Protobuf,
        Some(_) => Accept::ProtobufOnly,
        None => Accept::Json,
    }
}

#[cfg(test)]
mod roundtrip;
#[cfg(test)]
mod tests;
