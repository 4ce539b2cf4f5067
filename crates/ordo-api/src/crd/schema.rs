//! Structural schemas of custom resources (`openAPIV3Schema`): what the API server does to a
//! custom object before storing it, in upstream's order: unknown fields are pruned
//! (`prune`), defaults filled in (`defaults`), then the object is validated (`validate`) with
//! kube-openapi's messages turned into field causes as apiextensions-apiserver does.

mod cel;
mod defaults;
mod formats;
mod prune;
mod validate;

#[cfg(test)]
mod tests;

pub(crate) use self::cel::compile_error;
pub use self::cel::validate_rules;
pub use defaults::apply_defaults;
pub use prune::prune;
pub use validate::validate;
pub(crate) use validate::validate_at;

use serde_json::Value;

/// `x-kubernetes-preserve-unknown-fields: true`.
pub(crate) fn preserves(s: &Value) -> bool {
    s["x-kubernetes-preserve-unknown-fields"] == true
}

/// `x-kubernetes-embedded-resource: true`.
pub(crate) fn embedded(s: &Value) -> bool {
    s["x-kubernetes-embedded-resource"] == true
}

/// `x-kubernetes-int-or-string: true`.
pub(crate) fn int_or_string(s: &Value) -> bool {
    s["x-kubernetes-int-or-string"] == true
}

/// The schema of the property `k` of an object schema: from `properties`, else
/// `additionalProperties` when it is a schema.
pub(crate) fn property<'a>(s: &'a Value, k: &str) -> Option<&'a Value> {
    s.get("properties")
        .and_then(|p| p.get(k))
        .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
}

/// Prunes, defaults and validates a custom object against its version's schema, then
/// evaluates its CEL rules (when the schema holds; `old` is the object before an update);
/// returns the validation causes (empty when valid). `obj` is changed in place.
pub fn prepare(schema: &Value, obj: &mut Value, old: Option<&Value>) -> Vec<crate::status::Cause> {
    let _ = prune(schema, obj);
    apply_defaults(schema, obj);
    let errs = validate(schema, obj);
    if !errs.is_empty() {
        return errs;
    }
    validate_rules(schema, obj, old)
}
