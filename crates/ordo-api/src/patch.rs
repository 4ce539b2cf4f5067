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

/// Most operations a JSON patch may hold (upstream's `maxJSONPatchOperations`).
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// Most bytes the `copy` operations of one JSON patch may add to the document (upstream's
/// `JSONPatchMaxCopyBytes`, the size of the largest request body): without it, a few dozen
/// copies of the whole document onto itself grow it past any memory.
pub const MAX_JSON_PATCH_COPY_BYTES: usize = 3 * 1024 * 1024;

/// Applies a JSON patch (RFC 6902, a list of operations) to `original`.
pub fn json_patch(original: &Value, patch: &Value) -> Result<Value, String> {
    let ops: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(|e| format!("invalid JSON patch: {e}"))?;
    let mut doc = original.clone();
    let mut copied = 0usize;
    for (i, op) in ops.0.iter().enumerate() {
        if let json_patch::PatchOperation::Copy(c) = op {
            let size = doc
                .pointer(c.from.as_str())
                .map(json_size)
                .unwrap_or_default();
            copied = copied.saturating_add(size);
            if copied > MAX_JSON_PATCH_COPY_BYTES {
                return Err(format!("Unable to complete the copy, the accumulated size increase of copy is {copied}, exceeding the limit {MAX_JSON_PATCH_COPY_BYTES}"));
            }
        }
        // `doc` is a copy thrown away on error: no undo log is needed.
        json_patch::patch_unsafe(&mut doc, std::slice::from_ref(op)).map_err(|mut e| {
            e.operation = i;
            format!("the JSON patch failed: {e}")
        })?;
    }
    Ok(doc)
}

/// The length of `v` encoded as compact JSON, without encoding it.
fn json_size(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(b) => 4 + usize::from(!b),
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.len().saturating_sub(1) + a.iter().map(json_size).sum::<usize>(),
        Value::Object(m) => {
            2 + m.len().saturating_sub(1)
                + m.iter()
                    .map(|(k, v)| k.len() + 3 + json_size(v))
                    .sum::<usize>()
        }
    }
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
