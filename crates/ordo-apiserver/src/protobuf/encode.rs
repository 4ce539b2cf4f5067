//! JSON → protobuf, walking the generated schema. Fields are written in field-number order and
//! map entries by key, as Go's generated marshallers write them.

use super::schema::{message, Msg, Special, Ty};
use super::wire::{put_bytes, put_key, put_varint};
use base64::Engine;
use serde_json::Value;

/// Parses a Go duration string (`1h2m3.5s`, `300ms`) into nanoseconds.
fn parse_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += n * scale;
    }
    let total = if neg { -total } else { total };
    Some(total as i64)
}

fn int_of(v: &Value, path: &str) -> Result<i64, String> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| format!("{path}: expected an integer, got {v}"))
}

fn str_of<'a>(v: &'a Value, path: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{path}: expected a string, got {v}"))
}

/// Writes a scalar field.
fn scalar(out: &mut Vec<u8>, number: u32, ty: Ty, v: &Value, path: &str) -> Result<(), String> {
    match ty {
        Ty::Str => put_bytes(out, number, str_of(v, path)?.as_bytes()),
        Ty::Bytes => {
            let b = base64::engine::general_purpose::STANDARD
                .decode(str_of(v, path)?)
                .map_err(|e| format!("{path}: not base64: {e}"))?;
            put_bytes(out, number, &b)
        }
        Ty::Int32 | Ty::Int64 => {
            put_key(out, number, 0);
            put_varint(out, int_of(v, path)? as u64);
        }
        Ty::Bool => {
            let b = v
                .as_bool()
                .ok_or_else(|| format!("{path}: expected a boolean, got {v}"))?;
            put_key(out, number, 0);
            put_varint(out, b as u64);
        }
        Ty::Double => {
            let f = v
                .as_f64()
                .ok_or_else(|| format!("{path}: expected a number, got {v}"))?;
            put_key(out, number, 1);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Ty::Message(_) | Ty::MapStr | Ty::MapBytes | Ty::MapMessage(_) => {
            unreachable!("not a scalar")
        }
    }
    Ok(())
}

/// Seconds and nanoseconds of an RFC 3339 time.
fn time(out: &mut Vec<u8>, v: &Value, path: &str) -> Result<(), String> {
    let t = chrono::DateTime::parse_from_rfc3339(str_of(v, path)?)
        .map_err(|e| format!("{path}: not an RFC 3339 time: {e}"))?;
    put_key(out, 1, 0);
    put_varint(out, t.timestamp() as u64);
    if t.timestamp_subsec_nanos() != 0 {
        put_key(out, 2, 0);
        put_varint(out, u64::from(t.timestamp_subsec_nanos()));
    }
    Ok(())
}

/// The payload of a message of index `index` holding `v`.
pub(crate) fn message_bytes(index: usize, v: &Value, path: &str) -> Result<Vec<u8>, String> {
    let m = message(index);
    let mut out = Vec::new();
    match m.special() {
        Special::None => {
            let obj = v
                .as_object()
                .ok_or_else(|| format!("{path}: expected an object for {}, got {v}", m.name))?;
            encode_object(m, obj, &mut out, path)?;
        }
        Special::IntOrString => match v {
            Value::String(s) => {
                put_key(&mut out, 1, 0);
                put_varint(&mut out, 1);
                put_key(&mut out, 2, 0);
                put_varint(&mut out, 0);
                put_bytes(&mut out, 3, s.as_bytes());
            }
            _ => {
                put_key(&mut out, 1, 0);
                put_varint(&mut out, 0);
                put_key(&mut out, 2, 0);
                put_varint(&mut out, int_of(v, path)? as u64);
                put_bytes(&mut out, 3, b"");
            }
        },
        Special::Quantity => {
            let s = match v {
                Value::Number(n) => n.to_string(),
                _ => str_of(v, path)?.to_string(),
            };
            put_bytes(&mut out, 1, s.as_bytes());
        }
        Special::Time | Special::MicroTime => time(&mut out, v, path)?,
        Special::Duration => {
            let n = parse_duration(str_of(v, path)?)
                .ok_or_else(|| format!("{path}: not a duration: {v}"))?;
            put_key(&mut out, 1, 0);
            put_varint(&mut out, n as u64);
        }
        Special::Raw => {
            let raw = serde_json::to_vec(v).map_err(|e| format!("{path}: {e}"))?;
            put_bytes(&mut out, 1, &raw);
        }
        Special::StringList => {
            for s in v
                .as_array()
                .ok_or_else(|| format!("{path}: expected an array, got {v}"))?
            {
                put_bytes(&mut out, 1, str_of(s, path)?.as_bytes());
            }
        }
    }
    Ok(out)
}

/// Writes the fields of `msg` found in `obj`. JSON keys the message has no field for (`apiVersion`
/// and `kind` of the top level, fields newer than the schema) are left out.
pub(crate) fn encode_object(
    msg: &Msg,
    obj: &serde_json::Map<String, Value>,
    out: &mut Vec<u8>,
    path: &str,
) -> Result<(), String> {
    let mut fields: Vec<_> = msg.fields.iter().collect();
    fields.sort_by_key(|f| f.number);
    for f in fields {
        if let (Ty::Message(i), true) = (f.ty, f.inline) {
            // An embedded Go struct: its fields are this object's.
            let mut b = Vec::new();
            encode_object(message(i), obj, &mut b, path)?;
            if !b.is_empty() {
                put_bytes(out, f.number, &b);
            }
            continue;
        }
        let Some(v) = obj.get(f.json).filter(|v| !v.is_null()) else {
            continue;
        };
        let at = if path.is_empty() {
            f.json.to_string()
        } else {
            format!("{path}.{}", f.json)
        };
        match f.ty {
            Ty::Message(i) if f.repeated => {
                for item in v
                    .as_array()
                    .ok_or_else(|| format!("{at}: expected an array"))?
                {
                    put_bytes(out, f.number, &message_bytes(i, item, &at)?);
                }
            }
            Ty::Message(i) => put_bytes(out, f.number, &message_bytes(i, v, &at)?),
            Ty::MapStr | Ty::MapBytes | Ty::MapMessage(_) => {
                let map = v
                    .as_object()
                    .ok_or_else(|| format!("{at}: expected an object"))?;
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                for k in keys {
                    let mut entry = Vec::new();
                    put_bytes(&mut entry, 1, k.as_bytes());
                    let val = &map[k];
                    match f.ty {
                        Ty::MapStr => scalar(&mut entry, 2, Ty::Str, val, &at)?,
                        Ty::MapBytes => scalar(&mut entry, 2, Ty::Bytes, val, &at)?,
                        Ty::MapMessage(i) => put_bytes(&mut entry, 2, &message_bytes(i, val, &at)?),
                        _ => unreachable!("maps only"),
                    }
                    put_bytes(out, f.number, &entry);
                }
            }
            ty if f.repeated => {
                for item in v
                    .as_array()
                    .ok_or_else(|| format!("{at}: expected an array"))?
                {
                    scalar(out, f.number, ty, item, &at)?;
                }
            }
            ty => scalar(out, f.number, ty, v, &at)?,
        }
    }
    Ok(())
}
