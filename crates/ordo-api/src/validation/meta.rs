//! `ObjectMeta`, labels, annotations, finalizers, owner references and label selectors.

use super::names::{self, NameRule};
use super::util::*;
use crate::status::Cause;
use serde_json::Value;

const TOTAL_ANNOTATION_SIZE: usize = 256 * 1024;
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// Whether `metadata.namespace` must be set (`Some(true)`), must be empty (`Some(false)`)
/// or is not checked (`None`, unknown kinds).
pub(crate) type Scope = Option<bool>;

/// `ValidateLabels`: keys are qualified names, values label values.
pub(crate) fn validate_labels(labels: Option<&Value>, path: &str) -> Errs {
    let mut errs = Errs::new();
    for (k, v) in string_map(labels) {
        errs.extend(validate_label_name(&k, path));
        for m in names::label_value(&v) {
            errs.push(invalid_str(path, &v, &m));
        }
    }
    errs
}

/// `ValidateLabelName`.
pub(crate) fn validate_label_name(k: &str, path: &str) -> Errs {
    names::qualified_name(k)
        .iter()
        .map(|m| invalid_str(path, k, m))
        .collect()
}

/// `ValidateAnnotations`: lower-cased keys are qualified names; total size ≤ 256 KiB.
pub(crate) fn validate_annotations(annotations: Option<&Value>, path: &str) -> Errs {
    let mut errs = Errs::new();
    let mut total = 0;
    for (k, v) in string_map(annotations) {
        for m in names::qualified_name(&k.to_lowercase()) {
            errs.push(invalid_str(path, &k, &m));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE {
        errs.push(too_long(path, TOTAL_ANNOTATION_SIZE));
    }
    errs
}

fn validate_finalizers(meta: &Value, path: &str) -> Errs {
    let mut errs = Errs::new();
    let fins: Vec<&str> = arr(meta, "finalizers")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for f in &fins {
        for m in names::qualified_name(f) {
            errs.push(invalid_str(path, f, &m));
        }
    }
    if fins.contains(&"orphan") && fins.contains(&"foregroundDeletion") {
        let list: Vec<String> = fins.iter().map(|f| q(f)).collect();
        errs.push(Cause::invalid(
            path,
            format!("[]string{{{}}}", list.join(", ")),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs.extend(kube_finalizer_names(&fins, path));
    errs
}

/// Core's `validateKubeFinalizerName` for every finalizer (`finalizers[i]`).
fn kube_finalizer_names(fins: &[&str], path: &str) -> Errs {
    let mut errs = Errs::new();
    for (i, f) in fins.iter().enumerate() {
        if !f.contains('/') && !STANDARD_FINALIZERS.contains(f) {
            errs.push(invalid_str(
                index(path, i),
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errs
}

fn validate_owner_references(meta: &Value, path: &str) -> Errs {
    let mut errs = Errs::new();
    let refs = arr(meta, "ownerReferences");
    let mut controller: Option<String> = None;
    for r in refs {
        if se(r, "apiVersion").is_empty() {
            errs.push(invalid_str(
                child(path, "apiVersion"),
                "",
                "version must not be empty",
            ));
        }
        if se(r, "kind").is_empty() {
            errs.push(invalid_str(
                child(path, "kind"),
                "",
                "kind must not be empty",
            ));
        }
        if se(r, "name").is_empty() {
            errs.push(invalid_str(
                child(path, "name"),
                "",
                "name must not be empty",
            ));
        }
        if se(r, "uid").is_empty() {
            errs.push(invalid_str(child(path, "uid"), "", "uid must not be empty"));
        }
        if flag(r, "controller") {
            let this = format!("{}/{}", se(r, "kind"), se(r, "name"));
            match &controller {
                Some(first) => errs.push(Cause::invalid(
                    path,
                    "[]v1.OwnerReference{...}",
                    &format!("Only one reference can have Controller set to true. Found \"true\" in references for {first} and {this}"),
                )),
                None => controller = Some(this),
            }
        }
    }
    errs
}

/// `ValidateObjectMeta` of `obj.metadata` on create.
pub(crate) fn validate_object_meta(obj: &Value, scope: Scope, rule: NameRule) -> Errs {
    let empty = Value::Null;
    let meta = obj.get("metadata").unwrap_or(&empty);
    let path = "metadata";
    let mut errs = Errs::new();
    let generate = se(meta, "generateName");
    if !generate.is_empty() {
        for m in rule.check(generate, true) {
            errs.push(invalid_str(child(path, "generateName"), generate, &m));
        }
    }
    let name = se(meta, "name");
    if name.is_empty() {
        errs.push(Cause::required(
            child(path, "name"),
            "name or generateName is required",
        ));
    } else {
        for m in rule.check(name, false) {
            errs.push(invalid_str(child(path, "name"), name, &m));
        }
    }
    let ns = se(meta, "namespace");
    match scope {
        Some(true) if ns.is_empty() => errs.push(Cause::required(child(path, "namespace"), "")),
        Some(true) => {
            for m in NameRule::Label.check(ns, false) {
                errs.push(invalid_str(child(path, "namespace"), ns, &m));
            }
        }
        Some(false) if !ns.is_empty() => errs.push(Cause::forbidden(
            child(path, "namespace"),
            "not allowed on this type",
        )),
        _ => {}
    }
    if let Some(g) = int(meta, "generation") {
        nonneg(&mut errs, child(path, "generation"), g);
    }
    errs.extend(validate_labels(meta.get("labels"), &child(path, "labels")));
    errs.extend(validate_annotations(
        meta.get("annotations"),
        &child(path, "annotations"),
    ));
    errs.extend(validate_owner_references(
        meta,
        &child(path, "ownerReferences"),
    ));
    errs.extend(validate_finalizers(meta, &child(path, "finalizers")));
    errs
}

/// `ValidateObjectMetaUpdate`: identity fields unchanged, labels/annotations valid.
///
/// `resourceVersion`, `uid` and `creationTimestamp` are only compared when the new object
/// carries them (the server fills them from the stored object, as upstream's
/// `BeforeUpdate` does).
pub(crate) fn validate_object_meta_update(new: &Value, old: &Value) -> Errs {
    let empty = Value::Null;
    let nm = new.get("metadata").unwrap_or(&empty);
    let om = old.get("metadata").unwrap_or(&empty);
    let path = "metadata";
    let mut errs = Errs::new();
    if present(om, "deletionTimestamp").is_some() {
        let old_f: Vec<&str> = arr(om, "finalizers")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut extra: Vec<&str> = arr(nm, "finalizers")
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            let list: Vec<String> = extra.iter().map(|f| q(f)).collect();
            errs.push(Cause::forbidden(
                child(path, "finalizers"),
                &format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    list.join(", ")
                ),
            ));
        }
    }
    if let (Some(n), Some(o)) = (int(nm, "generation"), int(om, "generation")) {
        if n < o {
            errs.push(Cause::invalid(
                child(path, "generation"),
                n,
                "must not be decremented",
            ));
        }
    }
    immutable_str(
        &mut errs,
        &child(path, "name"),
        se(nm, "name"),
        se(om, "name"),
    );
    immutable_str(
        &mut errs,
        &child(path, "namespace"),
        se(nm, "namespace"),
        se(om, "namespace"),
    );
    if let (Some(n), Some(o)) = (s(nm, "uid"), s(om, "uid")) {
        immutable_str(&mut errs, &child(path, "uid"), n, o);
    }
    for k in ["creationTimestamp", "deletionTimestamp"] {
        if let (Some(n), Some(o)) = (s(nm, k), s(om, k)) {
            if n != o {
                errs.push(Cause::invalid(
                    child(path, k),
                    go_time(n),
                    "field is immutable",
                ));
            }
        }
    }
    errs.extend(validate_labels(nm.get("labels"), &child(path, "labels")));
    errs.extend(validate_annotations(
        nm.get("annotations"),
        &child(path, "annotations"),
    ));
    errs.extend(validate_owner_references(
        nm,
        &child(path, "ownerReferences"),
    ));
    let fins: Vec<&str> = arr(nm, "finalizers")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    errs.extend(kube_finalizer_names(&fins, &child(path, "finalizers")));
    errs
}

/// `ValidateLabelSelector` (strict label values).
pub(crate) fn validate_label_selector(sel: Option<&Value>, path: &str) -> Errs {
    let mut errs = Errs::new();
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return errs;
    };
    errs.extend(validate_labels(
        sel.get("matchLabels"),
        &child(path, "matchLabels"),
    ));
    for (i, e) in arr(sel, "matchExpressions").iter().enumerate() {
        let p = index(&child(path, "matchExpressions"), i);
        let values = arr(e, "values");
        match se(e, "operator") {
            "In" | "NotIn" if values.is_empty() => errs.push(Cause::required(
                child(&p, "values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "In" | "NotIn" => {}
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(Cause::forbidden(
                child(&p, "values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "Exists" | "DoesNotExist" => {}
            op => errs.push(invalid_str(
                child(&p, "operator"),
                op,
                "not a valid selector operator",
            )),
        }
        errs.extend(validate_label_name(se(e, "key"), &child(&p, "key")));
        for (j, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            for m in names::label_value(v) {
                errs.push(invalid_str(index(&child(&p, "values"), j), v, &m));
            }
        }
    }
    errs
}

/// Whether a selector selects nothing-in-particular (`{}` ⇒ everything).
pub(crate) fn selector_is_empty(sel: &Value) -> bool {
    obj(sel, "matchLabels").is_none_or(|m| m.is_empty()) && arr(sel, "matchExpressions").is_empty()
}

/// Whether `sel` matches `labels` (`metav1.LabelSelectorAsSelector(sel).Matches(labels)`),
/// through the one matcher of [`crate::selector`]; a selector that does not parse matches
/// nothing.
pub(crate) fn selector_matches(sel: &Value, labels: Option<&Value>) -> bool {
    crate::selector::LabelSelector::from_label_selector(sel)
        .is_ok_and(|s| s.matches(labels.unwrap_or(&Value::Null)))
}
