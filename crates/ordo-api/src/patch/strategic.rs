//! The strategic merge patch engine (`k8s.io/apimachinery/pkg/util/strategicpatch`,
//! `StrategicMergePatch` with `MergeParallelList` and `IgnoreUnmatchedNulls`).
//!
//! Deliberate differences from upstream, all of which upstream's typed decoding hides anyway:
//! content that is inserted rather than merged (new keys, appended list elements,
//! `$patch: replace` maps and lists) is "cleaned" by merging it into an empty value, so
//! `null` values and directives never end up in the stored object; `$patch: delete` on a
//! nested map removes the key instead of leaving `{}`; `$patch: merge` is accepted as an
//! explicit no-op.

use super::schema::{FieldMeta, Schema};
use serde_json::{Map, Value};
use std::collections::HashSet;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER_PREFIX: &str = "$setElementOrder/";
const DELETE_PRIMITIVE_PREFIX: &str = "$deleteFromPrimitiveList/";

type Result<T> = std::result::Result<T, String>;

/// Merges `patch` into `original`. `Ok(None)` means the map is deleted (`$patch: delete`).
pub(super) fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    schema: Schema,
) -> Result<Option<Map<String, Value>>> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        let mut rest = patch.clone();
        rest.shift_remove(DIRECTIVE);
        return match directive.as_str() {
            Some("replace") => merge_map(Map::new(), &rest, schema),
            Some("delete") => Ok(None),
            Some("merge") => merge_map(original, &rest, schema),
            _ => Err(bad_patch_type(directive, patch)),
        };
    }

    apply_retain_keys(&mut original, patch)?;
    let handled = apply_set_element_order(&mut original, patch, schema)?;

    for (k, patch_value) in patch {
        if k == RETAIN_KEYS || k.starts_with(SET_ORDER_PREFIX) || handled.contains(k.as_str()) {
            continue;
        }
        if let Some(field) = k.strip_prefix(DELETE_PRIMITIVE_PREFIX) {
            if let (Some(Value::Array(list)), Value::Array(remove)) =
                (original.get_mut(field), patch_value)
            {
                list.retain(|v| !remove.iter().any(|r| json_eq(v, r)));
            }
            continue;
        }
        if patch_value.is_null() {
            original.shift_remove(k);
            continue;
        }
        let (sub, meta) = schema.field(k);
        let current = original.get_mut(k).map(std::mem::take);
        match merge_value(current, patch_value, sub, meta)? {
            Some(v) => {
                original.insert(k.clone(), v);
            }
            None => {
                original.shift_remove(k);
            }
        }
    }
    Ok(Some(original))
}

/// Merges one field value. `None` means the field is removed.
fn merge_value(
    current: Option<Value>,
    patch: &Value,
    schema: Schema,
    meta: FieldMeta,
) -> Result<Option<Value>> {
    Ok(match (current, patch) {
        (Some(Value::Object(o)), Value::Object(p)) => merge_map(o, p, schema)?.map(Value::Object),
        (Some(Value::Array(o)), Value::Array(p)) => {
            Some(Value::Array(merge_list(o, p, schema, meta)?))
        }
        // Absent or of another type: take the patch value, cleaned of nulls and directives.
        (_, Value::Object(p)) => merge_map(Map::new(), p, schema)?.map(Value::Object),
        (_, Value::Array(p)) => Some(Value::Array(merge_list(Vec::new(), p, schema, meta)?)),
        (_, scalar) => Some(scalar.clone()),
    })
}

/// `$retainKeys`: drop every key of `original` not listed (the merge then proceeds).
fn apply_retain_keys(original: &mut Map<String, Value>, patch: &Map<String, Value>) -> Result<()> {
    let Some(retain) = patch.get(RETAIN_KEYS) else {
        return Ok(());
    };
    let bad = || "invalid patch format of retainKeys".to_string();
    let keys: Vec<&str> = retain
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_str().ok_or_else(bad))
        .collect::<Result<_>>()?;
    // Every field the patch sets must be retained.
    for (k, v) in patch {
        let directive = k == RETAIN_KEYS
            || k.starts_with(SET_ORDER_PREFIX)
            || k.starts_with(DELETE_PRIMITIVE_PREFIX);
        if !v.is_null() && !directive && !keys.contains(&k.as_str()) {
            return Err(bad());
        }
    }
    original.retain(|k, _| keys.contains(&k.as_str()));
    Ok(())
}

/// Processes every `$setElementOrder/<field>` of a merge list: merges the field's patch list
/// and orders the result (`$setElementOrder` > patch order > live order). Returns the
/// fields that are done.
fn apply_set_element_order<'p>(
    original: &mut Map<String, Value>,
    patch: &'p Map<String, Value>,
    schema: Schema,
) -> Result<HashSet<&'p str>> {
    let mut handled = HashSet::new();
    for (k, order) in patch {
        let Some(field) = k.strip_prefix(SET_ORDER_PREFIX) else {
            continue;
        };
        let order = order
            .as_array()
            .ok_or("invalid patch format of setElementOrder list")?;
        let (sub, meta) = schema.field(field);
        let patch_list = match patch.get(field) {
            None => None,
            Some(Value::Array(list)) => Some(list),
            // `null` or another type: the main loop deals with the field; ordering is moot.
            Some(_) => continue,
        };
        if !meta.merge {
            continue; // a replaced list is already in patch order
        }
        if let Some(list) = patch_list {
            validate_order(list, order, meta.key)?;
        }
        let live = match original.get(field) {
            Some(Value::Array(list)) => Some(list.clone()),
            _ => None,
        };
        let merged = match (&live, patch_list) {
            (None, None) => continue,
            (Some(live), None) => live.clone(),
            (live, Some(list)) => merge_list(live.clone().unwrap_or_default(), list, sub, meta)?,
        };
        let live = live.unwrap_or_default();
        let (listed, server_only) = partition(merged, order, meta.key);
        let ordered = normalize_order(listed, server_only, order, &live, meta.key);
        original.insert(field.to_string(), Value::Array(ordered));
        handled.insert(field);
    }
    Ok(handled)
}

/// Upstream's check that the patch list is a subsequence of the `$setElementOrder` list.
fn validate_order(list: &[Value], order: &[Value], key: Option<&str>) -> Result<()> {
    let items: Vec<&Value> = list.iter().filter(|v| !has_directive(v)).collect();
    let mut i = 0;
    for o in order {
        if i < items.len() && same_item(items[i], o, key) {
            i += 1;
        }
    }
    if i < items.len() {
        return Err(format!(
            "The order in patch list:\n{}\n doesn't match $setElementOrder list:\n{}\n",
            Value::Array(list.to_vec()),
            Value::Array(order.to_vec())
        ));
    }
    Ok(())
}

/// Merges a patch list into a live list according to the field's strategy.
fn merge_list(
    original: Vec<Value>,
    patch: &[Value],
    schema: Schema,
    meta: FieldMeta,
) -> Result<Vec<Value>> {
    if !meta.merge {
        return Ok(patch.to_vec());
    }
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let all = || original.iter().chain(patch);
    if all().any(Value::is_array) {
        return Err("lists of lists are not supported".into());
    }
    let maps = all().filter(|v| v.is_object()).count();
    if maps == 0 {
        // Primitive list: set union, then ordered.
        let mut merged: Vec<Value> = Vec::new();
        for v in all() {
            if !merged.iter().any(|m| json_eq(m, v)) {
                merged.push(v.clone());
            }
        }
        let (in_patch, server_only) = partition(merged, patch, None);
        return Ok(normalize_order(
            in_patch,
            server_only,
            patch,
            &original,
            None,
        ));
    }
    if maps != original.len() + patch.len() {
        return Err(format!(
            "list element types are not identical: {}",
            Value::Array(all().cloned().collect())
        ));
    }
    let Some(key) = meta.key else {
        return Err("cannot merge lists without merge key".into());
    };

    // Special elements: `$patch: delete` removes by key, `$patch: replace` replaces the list.
    let mut live = original;
    let mut plain: Vec<&Map<String, Value>> = Vec::new();
    let mut replace = false;
    for p in patch {
        let pm = p.as_object().expect("checked above");
        let Some(directive) = pm.get(DIRECTIVE) else {
            plain.push(pm);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let kv = pm.get(key).ok_or_else(|| no_merge_key(pm, key))?;
                live.retain(|o| !o.get(key).is_some_and(|v| json_eq(v, kv)));
            }
            Some("replace") => replace = true,
            Some("merge") if pm.len() > 1 => plain.push(pm),
            Some("merge") => {}
            _ => return Err(bad_patch_type(directive, pm)),
        }
    }
    if replace {
        let mut list = Vec::with_capacity(plain.len());
        for pm in plain {
            if let Some(m) = merge_map(Map::new(), pm, schema)? {
                list.push(Value::Object(m));
            }
        }
        return Ok(list);
    }

    let live_order = live.clone();
    let mut merged = live;
    for pm in &plain {
        let kv = pm.get(key).ok_or_else(|| no_merge_key(pm, key))?;
        let found = merged
            .iter()
            .position(|o| o.get(key).is_some_and(|v| json_eq(v, kv)));
        match found {
            Some(i) => {
                let Value::Object(o) = std::mem::take(&mut merged[i]) else {
                    unreachable!("checked above")
                };
                match merge_map(o, pm, schema)? {
                    Some(m) => merged[i] = Value::Object(m),
                    None => {
                        merged.remove(i);
                    }
                }
            }
            None => {
                if let Some(m) = merge_map(Map::new(), pm, schema)? {
                    merged.push(Value::Object(m));
                }
            }
        }
    }
    let patch_order: Vec<Value> = plain.iter().map(|m| Value::Object((*m).clone())).collect();
    let (in_patch, server_only) = partition(merged, &patch_order, Some(key));
    Ok(normalize_order(
        in_patch,
        server_only,
        &patch_order,
        &live_order,
        Some(key),
    ))
}

/// Splits `items` into those present in `by` (by merge key, or by value) and the rest.
fn partition(items: Vec<Value>, by: &[Value], key: Option<&str>) -> (Vec<Value>, Vec<Value>) {
    items
        .into_iter()
        .partition(|v| index_of(by, v, key).is_some())
}

/// Upstream's `normalizeElementOrder`: sorts `in_patch` by `patch_order` and `server_only`
/// by `server_order`, then interleaves them, preferring patch items unless the live order
/// puts a server-only item first.
fn normalize_order(
    mut in_patch: Vec<Value>,
    mut server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let rank = |order: &[Value], v: &Value| index_of(order, v, key).unwrap_or(usize::MAX);
    in_patch.sort_by_key(|v| rank(patch_order, v));
    server_only.sort_by_key(|v| rank(server_order, v));

    let mut out = Vec::with_capacity(in_patch.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = in_patch.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (
                    index_of(server_order, l, key),
                    index_of(server_order, r, key),
                ) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// Position of `item` in `list`, comparing merge key values (maps) or whole values.
fn index_of(list: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    list.iter().position(|v| same_item(v, item, key))
}

fn same_item(a: &Value, b: &Value, key: Option<&str>) -> bool {
    match key {
        Some(k) => match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => json_eq(x, y),
            _ => false,
        },
        None => json_eq(a, b),
    }
}

/// Equality that treats `80` and `80.0` alike.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn has_directive(v: &Value) -> bool {
    v.get(DIRECTIVE).is_some()
}

fn no_merge_key(m: &Map<String, Value>, key: &str) -> String {
    format!(
        "map: {} does not contain declared merge key: {key}",
        Value::Object(m.clone())
    )
}

fn bad_patch_type(directive: &Value, m: &Map<String, Value>) -> String {
    let t = directive
        .as_str()
        .map_or_else(|| directive.to_string(), str::to_string);
    format!(
        "unknown patch type: {t} in map: {}",
        Value::Object(m.clone())
    )
}
