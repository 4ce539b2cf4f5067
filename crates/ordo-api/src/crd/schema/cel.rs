//! `x-kubernetes-validations`: CEL rules on schema nodes, evaluated with the `cel` crate
//! with `self` bound to the node's value (and `oldSelf` to the previous value on updates;
//! transition rules, which use it, are skipped on create), with upstream's messages:
//! `message`, `messageExpression`, else `failed rule: <rule>`, at `fieldPath` with `reason`.

use crate::status::Cause;
use crate::validation::go_quote;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A JSON value as a CEL value (integers as `int`, as upstream's unstructured values are).
fn to_cel(v: &Value) -> cel::Value {
    match v {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(a) => cel::Value::List(Arc::new(a.iter().map(to_cel).collect())),
        Value::Object(m) => {
            let map: HashMap<String, cel::Value> =
                m.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            cel::Value::from(map)
        }
    }
}

/// Whether a rule is a transition rule (it reads `oldSelf`).
fn is_transition(rule: &str) -> bool {
    rule.contains("oldSelf")
}

/// The compile error of a rule, if it does not compile.
pub(crate) fn compile_error(rule: &str) -> Option<String> {
    cel::Program::compile(rule).err().map(|e| e.to_string())
}

/// Evaluates every rule of `schema` over `obj` (`old`: the object before an update).
pub fn validate_rules(schema: &Value, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    node(schema, obj, old, "", &mut errs);
    errs
}

fn child(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_string()
    } else {
        format!("{path}.{k}")
    }
}

fn eval(rule: &str, v: &Value, old: Option<&Value>) -> Result<cel::Value, String> {
    let program = cel::Program::compile(rule).map_err(|e| e.to_string())?;
    let mut ctx = cel::Context::default();
    ctx.add_variable_from_value("self", to_cel(v));
    if let Some(o) = old {
        ctx.add_variable_from_value("oldSelf", to_cel(o));
    }
    program.execute(&ctx).map_err(|e| e.to_string())
}

fn node(s: &Value, v: &Value, old: Option<&Value>, path: &str, errs: &mut Vec<Cause>) {
    if v.is_null() {
        return;
    }
    for r in s
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let rule = r["rule"].as_str().unwrap_or("");
        if rule.is_empty() || (is_transition(rule) && old.is_none()) {
            continue;
        }
        let ty = s["type"].as_str().unwrap_or("object");
        let field = match r["fieldPath"].as_str().filter(|p| !p.is_empty()) {
            Some(p) if p.starts_with('.') => format!("{path}{p}"),
            Some(p) => child(path, p),
            None => path.to_string(),
        };
        let message = match eval(rule, v, old) {
            Ok(cel::Value::Bool(true)) => continue,
            Ok(cel::Value::Bool(false)) => {
                let from_expr =
                    r["messageExpression"]
                        .as_str()
                        .and_then(|m| match eval(m, v, old) {
                            Ok(cel::Value::String(s)) if !s.trim().is_empty() => {
                                Some(s.trim().to_string())
                            }
                            _ => None,
                        });
                from_expr
                    .or_else(|| {
                        r["message"]
                            .as_str()
                            .filter(|m| !m.trim().is_empty())
                            .map(|m| m.trim().to_string())
                    })
                    .unwrap_or_else(|| format!("failed rule: {}", rule.replace('\n', " ")))
            }
            Ok(other) => format!("rule did not evaluate to a boolean: {other:?}"),
            Err(e) => {
                errs.push(Cause::invalid(
                    field,
                    go_quote(ty),
                    &format!("rule evaluation error: {e}"),
                ));
                continue;
            }
        };
        errs.push(match r["reason"].as_str() {
            Some("FieldValueForbidden") => Cause::forbidden(field, &message),
            Some("FieldValueRequired") => Cause::required(field, &message),
            Some("FieldValueDuplicate") => Cause {
                reason: "FieldValueDuplicate",
                field,
                message: format!("Duplicate value: {}: {message}", go_quote(ty)),
            },
            _ => Cause::invalid(field, go_quote(ty), &message),
        });
    }
    match v {
        Value::Object(m) => {
            for (k, cv) in m {
                if let Some(ps) = super::property(s, k) {
                    let o = old.and_then(|o| o.get(k));
                    node(ps, cv, o, &child(path, k), errs);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.get("items").filter(|i| i.is_object()) {
                for (i, e) in a.iter().enumerate() {
                    node(items, e, None, &format!("{path}[{i}]"), errs);
                }
            }
        }
        _ => {}
    }
}
