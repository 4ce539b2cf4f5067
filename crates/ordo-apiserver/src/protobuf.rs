//! Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), which
//! kubectl's typed-client commands send (`kubectl create namespace|configmap|secret|serviceaccount`).
//! Decoded here for those simple kinds only, into the JSON the rest of the server works on; other
//! kinds get a 415 that says to use `kubectl apply -f` or `create -f`.

use base64::Engine;
use serde_json::{json, Map, Value};

const MAGIC: &[u8] = b"k8s\0";

/// One field of a protobuf message.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint too long".into())
}

/// The fields of a message, in wire order.
fn fields(buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let (number, wire) = (key >> 3, key & 7);
        let field = match wire {
            0 => Field::Varint(varint(buf, &mut pos)?),
            1 | 5 => {
                pos += if wire == 1 { 8 } else { 4 };
                Field::Fixed
            }
            2 => {
                let len = varint(buf, &mut pos)? as usize;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or("truncated field")?;
                let b = &buf[pos..end];
                pos = end;
                Field::Bytes(b)
            }
            w => return Err(format!("unsupported wire type {w}")),
        };
        out.push((number, field));
    }
    Ok(out)
}

fn text(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "invalid UTF-8 in a string field".to_string())
}

/// A `map<string, V>` entry: (key, raw value bytes).
fn map_entry(b: &[u8]) -> Result<(String, Vec<u8>), String> {
    let (mut k, mut v) = (String::new(), Vec::new());
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => k = text(x)?,
            (2, Field::Bytes(x)) => v = x.to_vec(),
            _ => {}
        }
    }
    Ok((k, v))
}

fn insert_map_entry(obj: &mut Value, field: &str, b: &[u8], base64: bool) -> Result<(), String> {
    let (k, v) = map_entry(b)?;
    let v = if base64 {
        base64::engine::general_purpose::STANDARD.encode(v)
    } else {
        text(&v)?
    };
    if !obj.get(field).is_some_and(Value::is_object) {
        obj[field] = json!({});
    }
    obj[field][k] = Value::String(v);
    Ok(())
}

/// The parts of ObjectMeta a client sets on create.
fn object_meta(b: &[u8]) -> Result<Value, String> {
    let mut m = json!({});
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => m["name"] = Value::String(text(x)?),
            (2, Field::Bytes(x)) => m["generateName"] = Value::String(text(x)?),
            (3, Field::Bytes(x)) => m["namespace"] = Value::String(text(x)?),
            (6, Field::Bytes(x)) => m["resourceVersion"] = Value::String(text(x)?),
            (11, Field::Bytes(x)) => insert_map_entry(&mut m, "labels", x, false)?,
            (12, Field::Bytes(x)) => insert_map_entry(&mut m, "annotations", x, false)?,
            (14, Field::Bytes(x)) => {
                if !m.get("finalizers").is_some_and(Value::is_array) {
                    m["finalizers"] = json!([]);
                }
                m["finalizers"]
                    .as_array_mut()
                    .expect("array")
                    .push(Value::String(text(x)?));
            }
            _ => {}
        }
    }
    Ok(m)
}

/// Decodes a protobuf request body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the Kubernetes protobuf magic number")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, f) in fields(rest)? {
        match (n, f) {
            (1, Field::Bytes(tm)) => {
                for (n, f) in fields(tm)? {
                    match (n, f) {
                        (1, Field::Bytes(x)) => api_version = text(x)?,
                        (2, Field::Bytes(x)) => kind = text(x)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String(api_version.clone()));
    obj.insert("kind".into(), Value::String(kind.clone()));
    let mut obj = Value::Object(obj);
    let supported = matches!(
        (api_version.as_str(), kind.as_str()),
        (
            "v1",
            "Namespace" | "ConfigMap" | "Secret" | "ServiceAccount"
        )
    );
    if !supported {
        return Err(format!("protobuf bodies are decoded for v1 Namespace, ConfigMap, Secret and ServiceAccount only (got {api_version} {kind}); send JSON, e.g. with kubectl apply -f or kubectl create -f"));
    }
    for (n, f) in fields(raw)? {
        match (kind.as_str(), n, f) {
            (_, 1, Field::Bytes(x)) => obj["metadata"] = object_meta(x)?,
            ("Namespace", 2, Field::Bytes(x)) => {
                let mut fin = Vec::new();
                for (n, f) in fields(x)? {
                    if let (1, Field::Bytes(s)) = (n, f) {
                        fin.push(Value::String(text(s)?));
                    }
                }
                obj["spec"] = json!({"finalizers": fin});
            }
            ("ConfigMap", 2, Field::Bytes(x)) => insert_map_entry(&mut obj, "data", x, false)?,
            ("ConfigMap", 3, Field::Bytes(x)) => insert_map_entry(&mut obj, "binaryData", x, true)?,
            ("ConfigMap", 4, Field::Varint(v)) | ("Secret", 5, Field::Varint(v)) => {
                obj["immutable"] = Value::Bool(v != 0)
            }
            ("Secret", 2, Field::Bytes(x)) => insert_map_entry(&mut obj, "data", x, true)?,
            ("Secret", 3, Field::Bytes(x)) => obj["type"] = Value::String(text(x)?),
            ("Secret", 4, Field::Bytes(x)) => insert_map_entry(&mut obj, "stringData", x, false)?,
            ("ServiceAccount", 4, Field::Varint(v)) => {
                obj["automountServiceAccountToken"] = Value::Bool(v != 0)
            }
            _ => {}
        }
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len_field(n: u64, b: &[u8]) -> Vec<u8> {
        let mut out = vec![(n << 3 | 2) as u8, b.len() as u8];
        out.extend_from_slice(b);
        out
    }

    #[test]
    fn decodes_a_configmap() {
        let meta = [
            len_field(1, b"cm"),
            len_field(11, &[len_field(1, b"a"), len_field(2, b"b")].concat()),
        ]
        .concat();
        let raw = [
            len_field(1, &meta),
            len_field(2, &[len_field(1, b"k"), len_field(2, b"v")].concat()),
            vec![4 << 3, 1],
        ]
        .concat();
        let tm = [len_field(1, b"v1"), len_field(2, b"ConfigMap")].concat();
        let body = [MAGIC.to_vec(), len_field(1, &tm), len_field(2, &raw)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": {"a": "b"}}, "data": {"k": "v"}, "immutable": true})
        );
    }

    #[test]
    fn refuses_other_kinds_and_garbage() {
        let tm = [len_field(1, b"apps/v1"), len_field(2, b"Deployment")].concat();
        let body = [MAGIC.to_vec(), len_field(1, &tm)].concat();
        assert!(decode(&body).unwrap_err().contains("kubectl apply -f"));
        assert!(decode(b"nope").is_err());
        assert!(decode(&[MAGIC.to_vec(), vec![0x0a, 0x50]].concat()).is_err());
    }
}
