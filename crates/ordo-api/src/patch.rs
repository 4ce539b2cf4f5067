//! Kubernetes patch types over `serde_json::Value`:
//! strategic merge patch (`application/strategic-merge-patch+json`),
//! JSON merge patch (`application/merge-patch+json`, RFC 7386) and
//! JSON patch (`application/json-patch+json`, RFC 6902).
//!
//! Errors are human-readable messages meant for a 400/422 `Status`.

mod schema;
mod strategic;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

/// Applies a strategic merge patch to `original`, an object of Kind `kind`.
///
/// Follows upstream `strategicpatch` semantics: maps merge recursively and `null` deletes a
/// key; lists with a merge strategy merge element-wise by their merge key (e.g. `containers`
/// by `name`, container `ports` by `containerPort`, Service `ports` by `port`, `conditions`
/// by `type`, `ownerReferences` by `uid`), merged primitive lists (`finalizers`) are unioned,
/// and every other list is replaced. The directives `$patch` (`replace`, `delete`, `merge`),
/// `$setElementOrder/<field>`, `$retainKeys` and `$deleteFromPrimitiveList/<field>` are
/// honoured. `original` is not modified.
pub fn strategic_merge_patch(kind: &str, original: &Value, patch: &Value) -> Result<Value, String> {
    let Value::Object(patch) = patch else {
        return Err(format!(
            "strategic merge patch must be a JSON object, got {}",
            type_name(patch)
        ));
    };
    let original = match original {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        other => {
            return Err(format!(
                "cannot apply a strategic merge patch to {}",
                type_name(other)
            ))
        }
    };
    let root = schema::Schema::Root(schema::RootKind::of(kind));
    let merged = strategic::merge_map(original, patch, root)?;
    Ok(Value::Object(merged.unwrap_or_default()))
}

/// Applies a JSON merge patch (RFC 7386): objects merge recursively, `null` removes a
/// member, anything else replaces the target.
pub fn json_merge_patch(original: &Value, patch: &Value) -> Value {
    let mut doc = original.clone();
    merge_into(&mut doc, patch);
    doc
}

fn merge_into(doc: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *doc = patch.clone();
        return;
    };
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let Value::Object(target) = doc else {
        unreachable!("doc was just made an object")
    };
    for (k, v) in patch {
        if v.is_null() {
            target.shift_remove(k);
        } else {
            merge_into(target.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Applies a JSON patch (RFC 6902, a list of operations) to `original`.
pub fn json_patch(original: &Value, patch: &Value) -> Result<Value, String> {
    let ops: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(|e| format!("invalid JSON patch: {e}"))?;
    let mut doc = original.clone();
    json_patch::patch(&mut doc, &ops).map_err(|e| format!("the JSON patch failed: {e}"))?;
    Ok(doc)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
