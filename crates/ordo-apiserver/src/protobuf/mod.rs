//! Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), which
//! kubectl's typed-client commands send (`kubectl create deployment|service|namespace|configmap|
//! secret|serviceaccount`). The body is the magic `k8s\0` and a `runtime.Unknown` wrapping the
//! object's message; it is decoded here, driven by the schema table in [`tables`], into the JSON
//! the rest of the server works on (defaulting and validation then run as for a JSON body).
//! Kinds outside the table, and fields the table does not know, are refused with a message naming
//! them rather than decoded into a different object.

mod schema;
mod tables;

use base64::Engine;
use schema::{Field as Spec, Kind, Msg};
use serde_json::{Map, Value};

const MAGIC: &[u8] = b"k8s\0";

/// One field of a protobuf message, as read from the wire.
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

/// `path.name`, for messages.
fn join(path: &str, name: &str) -> String {
    match (path.is_empty(), name.is_empty()) {
        (_, true) => path.to_string(),
        (true, false) => name.to_string(),
        (false, false) => format!("{path}.{name}"),
    }
}

/// The fields of a small fixed message (`IntOrString`, `Time`...) as (number, varint or bytes);
/// any other field number is an error naming the message.
fn small<'a>(
    b: &'a [u8],
    name: &str,
    known: &[u64],
    path: &str,
) -> Result<Vec<(u64, Field<'a>)>, String> {
    let fs = fields(b)?;
    if let Some((n, _)) = fs.iter().find(|(n, _)| !known.contains(n)) {
        return Err(format!(
            "field {n} of the protobuf message {name} (at {path}) is not one ordo decodes"
        ));
    }
    Ok(fs)
}

/// The value of a field of one of the special message kinds, or of a scalar kind.
fn value(kind: Kind, field: &Field<'_>, path: &str) -> Result<Value, String> {
    let b = match (kind, field) {
        (Kind::Int, Field::Varint(v)) => return Ok(Value::from(*v as i64)),
        (Kind::Bool, Field::Varint(v)) => return Ok(Value::Bool(*v != 0)),
        (Kind::Int | Kind::Bool, _) => return Err(format!("{path}: expected a varint")),
        (_, Field::Bytes(b)) => *b,
        _ => return Err(format!("{path}: expected a length-delimited field")),
    };
    Ok(match kind {
        Kind::Str => Value::String(text(b).map_err(|e| format!("{path}: {e}"))?),
        Kind::Bytes => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Kind::IntOrStr => {
            let (mut ty, mut int, mut s) = (0, 0, String::new());
            for (n, f) in small(b, "IntOrString", &[1, 2, 3], path)? {
                match (n, f) {
                    (1, Field::Varint(v)) => ty = v,
                    (2, Field::Varint(v)) => int = v as i64 as i32,
                    (3, Field::Bytes(x)) => s = text(x)?,
                    _ => return Err(format!("{path}: malformed IntOrString")),
                }
            }
            if ty == 1 {
                Value::String(s)
            } else {
                Value::from(int)
            }
        }
        Kind::Quantity => {
            let mut s = String::new();
            for (_, f) in small(b, "Quantity", &[1], path)? {
                match f {
                    Field::Bytes(x) => s = text(x)?,
                    _ => return Err(format!("{path}: malformed Quantity")),
                }
            }
            Value::String(if s.is_empty() { "0".into() } else { s })
        }
        Kind::Time => {
            let (mut secs, mut nanos) = (0i64, 0u32);
            for (n, f) in small(b, "Time", &[1, 2], path)? {
                match (n, f) {
                    (1, Field::Varint(v)) => secs = v as i64,
                    (2, Field::Varint(v)) => nanos = v as u32,
                    _ => return Err(format!("{path}: malformed Time")),
                }
            }
            if secs == 0 && nanos == 0 {
                Value::Null
            } else {
                let t = chrono::DateTime::from_timestamp(secs, nanos)
                    .ok_or_else(|| format!("{path}: time out of range"))?;
                Value::String(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            }
        }
        Kind::Raw => {
            let mut raw: &[u8] = &[];
            for (_, f) in small(b, "RawExtension", &[1], path)? {
                match f {
                    Field::Bytes(x) => raw = x,
                    _ => return Err(format!("{path}: malformed RawExtension")),
                }
            }
            if raw.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(raw)
                    .map_err(|e| format!("{path}: the raw object is not JSON: {e}"))?
            }
        }
        Kind::Int
        | Kind::Bool
        | Kind::Message(_)
        | Kind::Inline(_)
        | Kind::MapStr
        | Kind::MapBytes
        | Kind::MapQuantity => unreachable!("handled by the caller"),
    })
}

/// Whether `v` is the zero value Go's `omitempty` leaves out.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Adds one `map<string, V>` entry to the object at `obj[name]`.
fn map_entry(
    obj: &mut Map<String, Value>,
    spec: &Spec,
    b: &[u8],
    path: &str,
) -> Result<(), String> {
    let (mut key, mut val) = (String::new(), Value::Null);
    for (n, f) in small(b, "map entry", &[1, 2], path)? {
        match (n, f) {
            (1, Field::Bytes(x)) => key = text(x)?,
            (2, f) => {
                let kind = match spec.kind {
                    Kind::MapStr => Kind::Str,
                    Kind::MapBytes => Kind::Bytes,
                    _ => Kind::Quantity,
                };
                val = value(kind, &f, path)?;
            }
            _ => return Err(format!("{path}: malformed map entry")),
        }
    }
    if val.is_null() {
        val = match spec.kind {
            Kind::MapQuantity => Value::String("0".into()),
            _ => Value::String(String::new()),
        };
    }
    let map = obj
        .entry(spec.name)
        .or_insert_with(|| Value::Object(Map::new()));
    if !map.is_object() {
        *map = Value::Object(Map::new());
    }
    map.as_object_mut().expect("object").insert(key, val);
    Ok(())
}

/// Decodes the message `msg` from `buf` into `obj`. `path` is the JSON path of `obj`, for errors.
fn decode_message(
    msg: &Msg,
    buf: &[u8],
    obj: &mut Map<String, Value>,
    path: &str,
) -> Result<(), String> {
    for (n, field) in fields(buf)? {
        let spec = msg.field(n).ok_or_else(|| {
            format!(
                "field {n} of the protobuf message {} (at {}) is not one ordo decodes",
                msg.name,
                if path.is_empty() {
                    "the top level"
                } else {
                    path
                }
            )
        })?;
        let at = join(path, spec.name);
        match (spec.kind, &field) {
            (Kind::Inline(m), Field::Bytes(b)) => decode_message(m, b, obj, path)?,
            (Kind::Message(m), Field::Bytes(b)) if spec.repeated => {
                let mut item = Map::new();
                decode_message(m, b, &mut item, &at)?;
                push(obj, spec.name, Value::Object(item));
            }
            (Kind::Message(m), Field::Bytes(b)) => {
                let slot = obj
                    .entry(spec.name)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                decode_message(m, b, slot.as_object_mut().expect("object"), &at)?;
            }
            (Kind::MapStr | Kind::MapBytes | Kind::MapQuantity, Field::Bytes(b)) => {
                map_entry(obj, spec, b, &at)?
            }
            (Kind::Inline(_) | Kind::Message(_) | Kind::MapStr, _)
            | (Kind::MapBytes | Kind::MapQuantity, _) => {
                return Err(format!("{at}: expected a length-delimited field"))
            }
            (Kind::Int | Kind::Bool, Field::Bytes(b)) if spec.repeated => {
                // A packed repeated scalar.
                let mut pos = 0;
                while pos < b.len() {
                    let v = varint(b, &mut pos)?;
                    push(obj, spec.name, value(spec.kind, &Field::Varint(v), &at)?);
                }
            }
            (kind, field) => {
                let v = value(kind, field, &at)?;
                // Special messages (IntOrString, Quantity, Time...) are Go structs: always kept.
                let scalar = matches!(kind, Kind::Str | Kind::Int | Kind::Bool | Kind::Bytes);
                if spec.repeated {
                    push(obj, spec.name, v);
                } else if spec.keep || !scalar || !is_zero(&v) {
                    obj.insert(spec.name.to_string(), v);
                }
            }
        }
    }
    Ok(())
}

/// Appends `v` to the array at `obj[name]`.
fn push(obj: &mut Map<String, Value>, name: &str, v: Value) {
    let arr = obj.entry(name).or_insert_with(|| Value::Array(Vec::new()));
    if !arr.is_array() {
        *arr = Value::Array(Vec::new());
    }
    arr.as_array_mut().expect("array").push(v);
}

/// Decodes a protobuf request body into the JSON object it stands for.
pub(crate) fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the Kubernetes protobuf magic number")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    let mut encoding = String::new();
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
            (3, Field::Bytes(x)) => encoding = text(x)?,
            _ => {}
        }
    }
    if !encoding.is_empty() {
        return Err(format!(
            "protobuf bodies with content encoding {encoding:?} are not supported"
        ));
    }
    let msg = schema::root(&api_version, &kind).ok_or_else(|| {
        let known: Vec<String> = schema::ROOTS
            .iter()
            .map(|(v, k, _)| format!("{v} {k}"))
            .collect();
        format!(
            "protobuf bodies are decoded for {} only (got {api_version} {kind}); send JSON, e.g. with kubectl apply -f or kubectl create -f",
            known.join(", ")
        )
    })?;
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String(api_version.clone()));
    obj.insert("kind".into(), Value::String(kind.clone()));
    decode_message(msg, raw, &mut obj, "").map_err(|e| {
        format!("cannot decode the protobuf body of {api_version} {kind}: {e}; send JSON, e.g. with kubectl apply -f or kubectl create -f")
    })?;
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests;
