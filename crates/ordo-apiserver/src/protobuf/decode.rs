//! Protobuf → JSON, walking the generated schema.

use super::schema::{message, Field as Spec, Msg, Special, Ty, POINTER_ZEROS};
use super::wire::{fields, text, varint, Wire};
use base64::Engine;
use serde_json::{Map, Value};

/// `path.name`, for error messages.
fn join(path: &str, name: &str) -> String {
    match (path.is_empty(), name.is_empty()) {
        (_, true) => path.to_string(),
        (true, false) => name.to_string(),
        (false, false) => format!("{path}.{name}"),
    }
}

/// A scalar value.
fn scalar(ty: Ty, w: &Wire<'_>, path: &str) -> Result<Value, String> {
    Ok(match (ty, w) {
        (Ty::Int32, Wire::Varint(v)) => Value::from(*v as i64 as i32),
        (Ty::Int64, Wire::Varint(v)) => Value::from(*v as i64),
        (Ty::Bool, Wire::Varint(v)) => Value::Bool(*v != 0),
        (Ty::Double, Wire::Fixed64(v)) => serde_json::Number::from_f64(f64::from_bits(*v))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        (Ty::Str, Wire::Bytes(b)) => Value::String(text(b).map_err(|e| format!("{path}: {e}"))?),
        (Ty::Bytes, Wire::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        _ => return Err(format!("{path}: unexpected wire type for {ty:?}")),
    })
}

/// Whether `v` is the zero value Go's `omitempty` leaves out.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Formats Unix seconds and nanoseconds as RFC 3339, with `digits` fractional digits.
fn time(secs: i64, nanos: i64, micro: bool, path: &str) -> Result<Value, String> {
    if secs == 0 && nanos == 0 {
        return Ok(Value::Null);
    }
    let t = chrono::DateTime::from_timestamp(secs, nanos.clamp(0, 999_999_999) as u32)
        .ok_or_else(|| format!("{path}: time out of range"))?;
    let fmt = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Ok(Value::String(t.format(fmt).to_string()))
}

/// Go's `time.Duration.String()`.
pub(crate) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n < 1_000_000_000 {
        let (v, unit) = if n < 1_000 {
            (n as f64, "ns")
        } else if n < 1_000_000 {
            (n as f64 / 1e3, "µs")
        } else {
            (n as f64 / 1e6, "ms")
        };
        return format!("{sign}{v}{unit}");
    }
    let (h, rest) = (n / 3_600_000_000_000, n % 3_600_000_000_000);
    let (m, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let secs = rest as f64 / 1e9;
    let mut out = sign.to_string();
    if h > 0 {
        out.push_str(&format!("{h}h{m}m"));
    } else if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{secs}s"));
    out
}

/// The JSON value of a message with a custom JSON form.
fn special(kind: Special, b: &[u8], path: &str) -> Result<Value, String> {
    let fs = fields(b)?;
    let int = |n: u32| {
        fs.iter().find_map(|(k, w)| match (k, w) {
            (k, Wire::Varint(v)) if *k == n => Some(*v as i64),
            _ => None,
        })
    };
    let bytes = |n: u32| {
        fs.iter().rev().find_map(|(k, w)| match (k, w) {
            (k, Wire::Bytes(b)) if *k == n => Some(*b),
            _ => None,
        })
    };
    Ok(match kind {
        Special::IntOrString => {
            if int(1) == Some(1) {
                Value::String(text(bytes(3).unwrap_or_default())?)
            } else {
                Value::from(int(2).unwrap_or(0) as i32)
            }
        }
        Special::Quantity => {
            let s = text(bytes(1).unwrap_or_default())?;
            Value::String(if s.is_empty() { "0".into() } else { s })
        }
        Special::Time | Special::MicroTime => time(
            int(1).unwrap_or(0),
            int(2).unwrap_or(0),
            kind == Special::MicroTime,
            path,
        )?,
        Special::Duration => Value::String(go_duration(int(1).unwrap_or(0))),
        Special::Raw => {
            let raw = bytes(1).unwrap_or_default();
            if raw.is_empty() {
                Value::Null
            } else if raw.starts_with(super::MAGIC) {
                super::decode(raw)?
            } else {
                serde_json::from_slice(raw)
                    .map_err(|e| format!("{path}: the raw object is not JSON: {e}"))?
            }
        }
        Special::StringList => Value::Array(
            fs.iter()
                .filter_map(|(k, w)| match (k, w) {
                    (1, Wire::Bytes(b)) => Some(text(b).map(Value::String)),
                    _ => None,
                })
                .collect::<Result<_, _>>()?,
        ),
        Special::None => unreachable!("plain messages are objects"),
    })
}

/// The JSON value of a message field's payload.
fn message_value(index: usize, b: &[u8], path: &str) -> Result<Value, String> {
    let m = message(index);
    match m.special() {
        Special::None => {
            let mut obj = Map::new();
            decode_message(m, b, &mut obj, path)?;
            Ok(Value::Object(obj))
        }
        s => special(s, b, path),
    }
}

/// One `map<string, V>` entry into `obj[spec.json]`.
fn map_entry(
    obj: &mut Map<String, Value>,
    spec: &Spec,
    b: &[u8],
    path: &str,
) -> Result<(), String> {
    let (mut key, mut val) = (String::new(), None);
    for (n, w) in fields(b)? {
        match (n, &w) {
            (1, Wire::Bytes(x)) => key = text(x)?,
            (2, _) => {
                val = Some(match spec.ty {
                    Ty::MapStr => scalar(Ty::Str, &w, path)?,
                    Ty::MapBytes => scalar(Ty::Bytes, &w, path)?,
                    Ty::MapMessage(i) => match &w {
                        Wire::Bytes(x) => message_value(i, x, path)?,
                        _ => return Err(format!("{path}: malformed map entry")),
                    },
                    _ => unreachable!("maps only"),
                })
            }
            _ => return Err(format!("{path}: malformed map entry")),
        }
    }
    let val = match (val, spec.ty) {
        (Some(v), _) => v,
        (None, Ty::MapMessage(i)) => message_value(i, &[], path)?,
        (None, _) => Value::String(String::new()),
    };
    let map = obj
        .entry(spec.json)
        .or_insert_with(|| Value::Object(Map::new()));
    if !map.is_object() {
        *map = Value::Object(Map::new());
    }
    map.as_object_mut().expect("object").insert(key, val);
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

/// Most messages nested in one another (embedded objects included): deeper bodies are refused
/// rather than recursing without bound.
pub(crate) const MAX_DEPTH: usize = 100;

thread_local! {
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One level of message nesting, left when dropped.
struct Level;

impl Level {
    fn enter(path: &str) -> Result<Level, String> {
        let d = DEPTH.with(|d| d.get()) + 1;
        if d > MAX_DEPTH {
            let at = if path.is_empty() {
                "the top level"
            } else {
                path
            };
            return Err(format!(
                "the object is nested more than {MAX_DEPTH} levels deep (at {at})"
            ));
        }
        DEPTH.with(|c| c.set(d));
        Ok(Level)
    }
}

impl Drop for Level {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

/// Decodes the message `msg` from `buf` into `obj`; `path` is the JSON path of `obj`, for errors.
/// Fields the schema does not have are refused, naming the message and path.
pub(crate) fn decode_message(
    msg: &Msg,
    buf: &[u8],
    obj: &mut Map<String, Value>,
    path: &str,
) -> Result<(), String> {
    let _level = Level::enter(path)?;
    for (n, w) in fields(buf)? {
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
        let at = join(path, spec.json);
        match (spec.ty, &w) {
            (Ty::Message(i), Wire::Bytes(b)) if spec.inline => {
                decode_message(message(i), b, obj, path)?
            }
            (Ty::Message(i), Wire::Bytes(b)) if spec.repeated => {
                push(obj, spec.json, message_value(i, b, &at)?)
            }
            (Ty::Message(i), Wire::Bytes(b)) => {
                let v = message_value(i, b, &at)?;
                // A repeated occurrence of a message merges into the first.
                let merge = matches!(
                    (obj.get(spec.json), &v),
                    (Some(Value::Object(_)), Value::Object(_))
                );
                match (obj.get_mut(spec.json), v) {
                    (Some(Value::Object(old)), Value::Object(new)) if merge => old.extend(new),
                    (_, v) => {
                        obj.insert(spec.json.to_string(), v);
                    }
                }
            }
            (Ty::MapStr | Ty::MapBytes | Ty::MapMessage(_), Wire::Bytes(b)) => {
                map_entry(obj, spec, b, &at)?
            }
            (Ty::Message(_) | Ty::MapStr | Ty::MapBytes | Ty::MapMessage(_), _) => {
                return Err(format!("{at}: expected a length-delimited field"))
            }
            (Ty::Int32 | Ty::Int64 | Ty::Bool, Wire::Bytes(b)) if spec.repeated => {
                // A packed repeated scalar.
                let mut pos = 0;
                while pos < b.len() {
                    let v = varint(b, &mut pos)?;
                    push(obj, spec.json, scalar(spec.ty, &Wire::Varint(v), &at)?);
                }
            }
            (ty, w) => {
                let v = scalar(ty, w, &at)?;
                if spec.repeated {
                    push(obj, spec.json, v);
                } else if spec.required || POINTER_ZEROS.contains(&spec.json) || !is_zero(&v) {
                    obj.insert(spec.json.to_string(), v);
                }
            }
        }
    }
    Ok(())
}
