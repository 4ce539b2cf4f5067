//! Validation of a custom object against its structural schema, with kube-openapi's
//! messages (`<path> in body must be of type integer: "string"`, `should match '...'`,
//! `should be greater than or equal to 1`...) turned into field causes as
//! apiextensions-apiserver's `kubeOpenAPIResultToFieldErrors` does (`Required value`,
//! `Unsupported value`, `Too long`, `Too many`, `Invalid value`), plus the
//! `x-kubernetes-list-type` rules (`Duplicate value`) and embedded resources' `apiVersion`
//! and `kind`.

use super::{embedded, formats, int_or_string, property};
use crate::status::Cause;
use crate::validation::go_quote;
use serde_json::{Map, Value};

/// The causes of `obj` not matching `schema` (empty when it matches).
pub fn validate(schema: &Value, obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if let (Some(m), Some(_)) = (obj.as_object(), schema.get("properties")) {
        // At the root, apiVersion, kind and metadata are the server's business.
        let mut root = schema.clone();
        if let Some(p) = root.get_mut("properties").and_then(Value::as_object_mut) {
            for k in ["apiVersion", "kind", "metadata"] {
                p.remove(k);
            }
        }
        let mut o = m.clone();
        for k in ["apiVersion", "kind", "metadata"] {
            o.remove(k);
        }
        node(&root, &Value::Object(o), "", &mut errs);
    } else {
        node(schema, obj, "", &mut errs);
    }
    errs
}

/// The causes of `v` not matching `schema`, field paths starting at `path` (the defaults of a
/// CRD's schema are validated so).
pub(crate) fn validate_at(schema: &Value, v: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    node(schema, v, path, &mut errs);
    errs
}

fn child(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_string()
    } else {
        format!("{path}.{k}")
    }
}

/// The JSON type name kube-openapi reports for a value.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go's `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e6
/// (strconv's `'g'` with precision -1).
pub(crate) fn go_float(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return format!("{f}");
    }
    let exp = f.abs().log10().floor() as i32;
    if (-4..6).contains(&exp) {
        return format!("{f}");
    }
    let e = format!("{f:e}");
    let (m, x) = e.split_once('e').unwrap_or((&e, "0"));
    let x: i32 = x.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if x < 0 { '-' } else { '+' }, x.abs())
}

/// A bad value as `field.Error` prints it.
fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => go_quote(s),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => go_float(n.as_f64().unwrap_or(0.0)),
        },
        Value::Bool(b) => b.to_string(),
        other => go_raw(other),
    }
}

/// `%#v` of an unstructured value, as Go prints it.
fn go_raw(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", go_quote(k), go_raw_elem(v)))
                .collect();
            format!("map[string]interface {{}}{{{}}}", parts.join(", "))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(go_raw_elem).collect();
            format!("[]interface {{}}{{{}}}", parts.join(", "))
        }
        other => go_value(other),
    }
}

fn go_raw_elem(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Number(n) if n.is_i64() => format!("{}", n),
        Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
        Value::Null => "interface {}(nil)".into(),
        other => go_raw(other),
    }
}

fn invalid(errs: &mut Vec<Cause>, path: &str, v: &Value, detail: String) {
    errs.push(Cause::invalid(path, go_value(v), &detail));
}

fn type_invalid(errs: &mut Vec<Cause>, path: &str, bad: &str, detail: String) {
    errs.push(Cause {
        reason: "FieldValueTypeInvalid",
        field: path.to_string(),
        message: format!("Invalid value: {}: {detail}", go_quote(bad)),
    });
}

fn type_matches(want: &str, v: &Value) -> bool {
    match want {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => true,
    }
}

fn node(s: &Value, v: &Value, path: &str, errs: &mut Vec<Cause>) {
    if v.is_null() {
        if s["nullable"] == true {
            return;
        }
        if let Some(t) = s["type"].as_str() {
            type_invalid(
                errs,
                path,
                "null",
                format!("{path} in body must be of type {t}: \"null\""),
            );
        }
        return;
    }
    if int_or_string(s) {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            let t = type_name(v);
            type_invalid(
                errs,
                path,
                t,
                format!("{path} in body must be of type integer,string: \"{t}\""),
            );
            return;
        }
    } else if let Some(t) = s["type"].as_str() {
        if !type_matches(t, v) {
            let actual = type_name(v);
            type_invalid(
                errs,
                path,
                actual,
                format!("{path} in body must be of type {t}: \"{actual}\""),
            );
            return;
        }
    }
    if let Some(en) = s.get("enum").and_then(Value::as_array) {
        if !en.contains(v) {
            let supported: Vec<String> = en
                .iter()
                .map(|e| match e {
                    Value::String(s) => go_quote(s),
                    other => go_quote(&other.to_string()),
                })
                .collect();
            errs.push(Cause {
                reason: "FieldValueNotSupported",
                field: path.to_string(),
                message: format!(
                    "Unsupported value: {}: supported values: {}",
                    go_value(v),
                    supported.join(", ")
                ),
            });
        }
    }
    match v {
        Value::String(st) => string(s, st, v, path, errs),
        Value::Number(n) => number(s, n.as_f64().unwrap_or(0.0), v, path, errs),
        Value::Array(a) => array(s, a, v, path, errs),
        Value::Object(m) => object(s, m, path, errs),
        _ => {}
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for sub in all {
            node(sub, v, path, errs);
        }
    }
}

fn string(s: &Value, st: &str, v: &Value, path: &str, errs: &mut Vec<Cause>) {
    let len = st.chars().count() as u64;
    if let Some(max) = s["maxLength"].as_u64() {
        if len > max {
            errs.push(Cause {
                reason: "FieldValueTooLong",
                field: path.to_string(),
                message: format!(
                    "Too long: may not be more than {max} {}",
                    if max == 1 { "byte" } else { "bytes" }
                ),
            });
        }
    }
    if let Some(min) = s["minLength"].as_u64() {
        if len < min {
            invalid(
                errs,
                path,
                v,
                format!("{path} in body should be at least {min} chars long"),
            );
        }
    }
    if let Some(p) = s["pattern"].as_str() {
        if let Ok(re) = regex::Regex::new(p) {
            if !re.is_match(st) {
                invalid(errs, path, v, format!("{path} in body should match '{p}'"));
            }
        }
    }
    if let Some(f) = s["format"].as_str() {
        if !int_or_string(s) && !formats::valid(f, st) {
            type_invalid(
                errs,
                path,
                st,
                format!("{path} in body must be of type {f}: {}", go_quote(st)),
            );
        }
    }
}

fn number(s: &Value, f: f64, v: &Value, path: &str, errs: &mut Vec<Cause>) {
    if let Some(max) = s["maximum"].as_f64() {
        if s["exclusiveMaximum"] == true {
            if f >= max {
                let m = go_float(max);
                invalid(
                    errs,
                    path,
                    v,
                    format!("{path} in body should be less than {m}"),
                );
            }
        } else if f > max {
            let m = go_float(max);
            invalid(
                errs,
                path,
                v,
                format!("{path} in body should be less than or equal to {m}"),
            );
        }
    }
    if let Some(min) = s["minimum"].as_f64() {
        if s["exclusiveMinimum"] == true {
            if f <= min {
                let m = go_float(min);
                invalid(
                    errs,
                    path,
                    v,
                    format!("{path} in body should be greater than {m}"),
                );
            }
        } else if f < min {
            let m = go_float(min);
            invalid(
                errs,
                path,
                v,
                format!("{path} in body should be greater than or equal to {m}"),
            );
        }
    }
    if let Some(m) = s["multipleOf"].as_f64().filter(|m| *m > 0.0) {
        let q = f / m;
        if (q - q.round()).abs() > 1e-9 {
            let ms = go_float(m);
            invalid(
                errs,
                path,
                v,
                format!("{path} in body should be a multiple of {ms}"),
            );
        }
    }
    if s["format"] == "int32" && (f < i32::MIN as f64 || f > i32::MAX as f64) {
        type_invalid(
            errs,
            path,
            &go_value(v),
            format!("{path} in body must be of type int32: \"{}\"", go_value(v)),
        );
    }
}

fn array(s: &Value, a: &[Value], v: &Value, path: &str, errs: &mut Vec<Cause>) {
    let _ = v;
    let n = a.len() as u64;
    if let Some(max) = s["maxItems"].as_u64() {
        if n > max {
            errs.push(Cause {
                reason: "FieldValueTooMany",
                field: path.to_string(),
                message: format!("Too many: {n}: must have at most {max} items"),
            });
        }
    }
    if let Some(min) = s["minItems"].as_u64() {
        if n < min {
            errs.push(Cause::invalid(
                path,
                n,
                &format!("{path} in body should have at least {min} items"),
            ));
        }
    }
    if let Some(items) = s.get("items").filter(|i| i.is_object()) {
        for (i, e) in a.iter().enumerate() {
            node(items, e, &format!("{path}[{i}]"), errs);
        }
    }
    match s["x-kubernetes-list-type"].as_str() {
        Some("set") => {
            for (i, e) in a.iter().enumerate() {
                if a[..i].contains(e) {
                    errs.push(Cause::duplicate(format!("{path}[{i}]"), go_value(e)));
                }
            }
        }
        Some("map") => {
            let keys: Vec<&str> = s["x-kubernetes-list-map-keys"]
                .as_array()
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let key_of = |e: &Value| -> Value {
                let mut m = Map::new();
                for k in &keys {
                    if let Some(x) = e.get(*k) {
                        m.insert(k.to_string(), x.clone());
                    }
                }
                Value::Object(m)
            };
            for (i, e) in a.iter().enumerate() {
                let k = key_of(e);
                if a[..i].iter().any(|p| key_of(p) == k) {
                    errs.push(Cause::duplicate(format!("{path}[{i}]"), go_raw(&k)));
                }
            }
        }
        _ => {}
    }
}

fn object(s: &Value, m: &Map<String, Value>, path: &str, errs: &mut Vec<Cause>) {
    if let Some(req) = s.get("required").and_then(Value::as_array) {
        for r in req.iter().filter_map(Value::as_str) {
            if !m.contains_key(r) {
                errs.push(Cause::required(child(path, r), ""));
            }
        }
    }
    if embedded(s) {
        for k in ["apiVersion", "kind"] {
            if m.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
                errs.push(Cause::required(child(path, k), ""));
            }
        }
    }
    let n = m.len() as u64;
    if let Some(max) = s["maxProperties"].as_u64() {
        if n > max {
            errs.push(Cause {
                reason: "FieldValueTooMany",
                field: path.to_string(),
                message: format!("Too many: {n}: must have at most {max} items"),
            });
        }
    }
    if let Some(min) = s["minProperties"].as_u64() {
        if n < min {
            errs.push(Cause::invalid(
                path,
                n,
                &format!("{path} in body should have at least {min} properties"),
            ));
        }
    }
    for (k, v) in m {
        if embedded(s) && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(ps) = property(s, k) {
            node(ps, v, &child(path, k), errs);
        }
    }
}
