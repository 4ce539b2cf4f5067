//! Field paths, JSON accessors, extra `Cause` constructors, Go `%#v`-style value
//! formatting (upstream prints bad values that way) and semantic equality.

use crate::status::Cause;
use serde_json::{Map, Value};

/// A list of validation causes.
pub(crate) type Errs = Vec<Cause>;

/// `path.child` (`child("", "spec")` is `spec`).
pub(crate) fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// `path[i]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// `path[key]` (upstream `Path.Key`).
pub(crate) fn key(path: &str, k: &str) -> String {
    format!("{path}[{k}]")
}

/// `Not found: <value>` (upstream `field.NotFound`).
pub(crate) fn not_found(field: impl Into<String>, value: &str) -> Cause {
    Cause {
        reason: "FieldValueNotFound",
        field: field.into(),
        message: format!("Not found: {}", q(value)),
    }
}

/// `Too long: may not be more than N bytes` (upstream `field.TooLong`).
pub(crate) fn too_long(field: impl Into<String>, max: usize) -> Cause {
    Cause {
        reason: "FieldValueTooLong",
        field: field.into(),
        message: format!("Too long: may not be more than {max} bytes"),
    }
}

/// `Too many: N: must have at most M items` (upstream `field.TooMany`).
pub(crate) fn too_many(field: impl Into<String>, actual: usize, max: usize) -> Cause {
    Cause {
        reason: "FieldValueTooMany",
        field: field.into(),
        message: format!("Too many: {actual}: must have at most {max} items"),
    }
}

/// `Invalid value: "<s>": <detail>` for a string value.
pub(crate) fn invalid_str(field: impl Into<String>, s: &str, detail: &str) -> Cause {
    Cause::invalid(field, q(s), detail)
}

/// `Unsupported value: <formatted>: supported values: ...` for non-string values.
pub(crate) fn not_supported_fmt(
    field: impl Into<String>,
    formatted: &str,
    supported: &[&str],
) -> Cause {
    let list: Vec<String> = supported.iter().map(|s| q(s)).collect();
    Cause {
        reason: "FieldValueNotSupported",
        field: field.into(),
        message: format!(
            "Unsupported value: {formatted}: supported values: {}",
            list.join(", ")
        ),
    }
}

/// `Invalid value: <v>: must be greater than or equal to 0` when `v < 0`.
pub(crate) fn nonneg(errs: &mut Errs, field: impl Into<String>, v: i64) {
    if v < 0 {
        errs.push(Cause::invalid(
            field,
            v,
            "must be greater than or equal to 0",
        ));
    }
}

/// `Invalid value: "<new>": field is immutable` when a string field changed.
pub(crate) fn immutable_str(errs: &mut Errs, field: &str, new: &str, old: &str) {
    if new != old {
        errs.push(invalid_str(field, new, "field is immutable"));
    }
}

/// String at `v[k]`.
pub(crate) fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// String at `v[k]`, empty when absent.
pub(crate) fn se<'a>(v: &'a Value, k: &str) -> &'a str {
    s(v, k).unwrap_or("")
}

/// Integer at `v[k]` (integral floats accepted).
pub(crate) fn int(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(as_int)
}

/// A JSON number as an integer.
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

/// Array at `v[k]`, empty when absent.
pub(crate) fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Object at `v[k]`.
pub(crate) fn obj<'a>(v: &'a Value, k: &str) -> Option<&'a Map<String, Value>> {
    v.get(k).and_then(Value::as_object)
}

/// `v[k]` unless absent or null.
pub(crate) fn present<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    v.get(k).filter(|x| !x.is_null())
}

/// Bool at `v[k]`, false when absent.
pub(crate) fn flag(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// Sorted `(key, value)` string pairs of a `map[string]string`.
pub(crate) fn string_map(v: Option<&Value>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Go `%q`.
pub(crate) fn q(s: &str) -> String {
    go_quote(s)
}

/// Go's `strconv.Quote` (`%q`): a double-quoted string with Go escapes for `"`, `\` and
/// non-printable characters (the kubelet's downwardAPI label files use it too).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"))
                } else {
                    out.push_str(&format!("\\U{n:08x}"))
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go `%#v` of a `map[string]string` (keys sorted).
pub(crate) fn go_map(v: Option<&Value>) -> String {
    match v.and_then(Value::as_object) {
        None => "map[string]string(nil)".to_string(),
        Some(_) => {
            let parts: Vec<String> = string_map(v)
                .iter()
                .map(|(k, v)| format!("{}:{}", q(k), q(v)))
                .collect();
            format!("map[string]string{{{}}}", parts.join(", "))
        }
    }
}

/// Go `%#v` of a `[]string`.
pub(crate) fn go_strings(v: Option<&Value>) -> String {
    match v.and_then(Value::as_array) {
        None => "[]string(nil)".to_string(),
        Some(a) => {
            let parts: Vec<String> = a.iter().map(|x| q(x.as_str().unwrap_or(""))).collect();
            format!("[]string{{{}}}", parts.join(", "))
        }
    }
}

/// Go `%#v` of a `metav1.LabelSelector`.
pub(crate) fn go_selector(v: Option<&Value>) -> String {
    let empty = Value::Null;
    let v = v.unwrap_or(&empty);
    let exprs = match v.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(a) => {
            let parts: Vec<String> = a
                .iter()
                .map(|e| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        q(se(e, "key")),
                        q(se(e, "operator")),
                        go_strings(e.get("values"))
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", parts.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_map(v.get("matchLabels"))
    )
}

/// Go `%#v` of an `intstr.IntOrString` value.
pub(crate) fn go_intstr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}", q(s)),
        other => format!(
            "intstr.IntOrString{{Type:0, IntVal:{}, StrVal:\"\"}}",
            as_int(other).unwrap_or(0)
        ),
    }
}

/// Go `time.Time.String()` of an RFC 3339 timestamp (`2024-01-02 00:00:00 +0000 UTC`).
pub(crate) fn go_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S +0000 UTC")
                .to_string()
        })
        .unwrap_or_else(|_| q(rfc3339))
}

/// A value with nulls, empty arrays/objects removed and integral floats made integers, so
/// that two objects compare like upstream's `apiequality.Semantic.DeepEqual`.
pub(crate) fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let n = normalize(x);
                if !is_empty(&n) {
                    out.insert(k.clone(), n);
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Number(_) => as_int(v).map(Value::from).unwrap_or_else(|| v.clone()),
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// Semantic equality of two optional values (absent ≡ null ≡ empty).
pub(crate) fn sem_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    let na = a.map(normalize).unwrap_or(Value::Null);
    let nb = b.map(normalize).unwrap_or(Value::Null);
    let na = if is_empty(&na) { Value::Null } else { na };
    let nb = if is_empty(&nb) { Value::Null } else { nb };
    na == nb
}

/// A short diff of two objects' top-level fields, in the spirit of upstream's `cmp.Diff`
/// (`-` old, `+` new; Go field names).
pub(crate) fn spec_diff(type_name: &str, old: Option<&Value>, new: Option<&Value>) -> String {
    let empty = Map::new();
    let o = old.and_then(Value::as_object).unwrap_or(&empty);
    let n = new.and_then(Value::as_object).unwrap_or(&empty);
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = format!("  {type_name}{{\n");
    for k in keys {
        if sem_eq(o.get(k), n.get(k)) {
            continue;
        }
        let go_name = {
            let mut c = k.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        };
        if let Some(v) = o.get(k) {
            out.push_str(&format!("- \t{go_name}: {},\n", normalize(v)));
        }
        if let Some(v) = n.get(k) {
            out.push_str(&format!("+ \t{go_name}: {},\n", normalize(v)));
        }
    }
    out.push_str("  }\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_formatting() {
        assert_eq!(
            go_map(Some(&json!({"c": "d", "a": "b"}))),
            r#"map[string]string{"a":"b", "c":"d"}"#
        );
        assert_eq!(go_map(None), "map[string]string(nil)");
        assert_eq!(
            go_selector(Some(&json!({"matchLabels": {"app": "x"}}))),
            r#"v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"#
        );
        assert_eq!(
            go_intstr(&json!(0)),
            r#"intstr.IntOrString{Type:0, IntVal:0, StrVal:""}"#
        );
        assert_eq!(
            go_intstr(&json!("5%")),
            r#"intstr.IntOrString{Type:1, IntVal:0, StrVal:"5%"}"#
        );
        assert_eq!(q("a\"b\n"), r#""a\"b\n""#);
    }

    #[test]
    fn semantic_equality() {
        assert!(sem_eq(
            Some(&json!({"a": null, "b": [], "c": 1.0})),
            Some(&json!({"c": 1}))
        ));
        assert!(sem_eq(None, Some(&json!({}))));
        assert!(!sem_eq(Some(&json!({"a": 1})), Some(&json!({"a": 2}))));
    }
}
