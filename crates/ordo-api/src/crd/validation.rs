//! Defaulting and validation of CustomResourceDefinitions themselves (upstream
//! `apiextensions/v1` defaults and `ValidateCustomResourceDefinition`), with upstream's
//! messages for the usual mistakes: the name, the names, the scope, the storage version and
//! schemas that are not structural.

use crate::status::Cause;
use crate::validation::{dns1035_label_errors, dns1123_subdomain_errors, go_quote};
use serde_json::{json, Value};

/// Upstream's v1 defaults: `singular`, `listKind`, the `None` conversion strategy.
pub fn apply_crd_defaults(crd: &mut Value) {
    let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if names
            .get("singular")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            names.insert("singular".into(), json!(kind.to_ascii_lowercase()));
        }
        if names
            .get("listKind")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
            && !kind.is_empty()
        {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
    if spec.get("conversion").is_none_or(Value::is_null) {
        spec.insert("conversion".into(), json!({"strategy": "None"}));
    }
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

/// `ValidateCustomResourceDefinition` on create.
pub fn validate_crd(crd: &Value) -> Vec<Cause> {
    let mut errs = crate::validation::validate_custom_meta(crd, false);
    let name = s(crd, "/metadata/name");
    let group = s(crd, "/spec/group");
    let plural = s(crd, "/spec/names/plural");
    if !name.is_empty() && name != format!("{plural}.{group}") {
        errs.push(Cause::invalid(
            "metadata.name",
            go_quote(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if group.is_empty() {
        errs.push(Cause::required("spec.group", ""));
    } else if !dns1123_subdomain_errors(group).is_empty() {
        errs.push(Cause::invalid(
            "spec.group",
            go_quote(group),
            &dns1123_subdomain_errors(group).join(","),
        ));
    } else if group.split('.').count() < 2 {
        errs.push(Cause::invalid(
            "spec.group",
            go_quote(group),
            "should be a domain with at least one dot",
        ));
    }
    match s(crd, "/spec/scope") {
        "Cluster" | "Namespaced" => {}
        "" => errs.push(Cause::required("spec.scope", "")),
        other => errs.push(Cause::not_supported(
            "spec.scope",
            other,
            &["Cluster", "Namespaced"],
        )),
    }
    errs.extend(names(&crd["spec"]["names"], "spec.names"));
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        errs.push(Cause::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    } else {
        let storage = versions.iter().filter(|v| v["storage"] == true).count();
        if storage != 1 {
            errs.push(Cause::invalid(
                "spec.versions",
                go_versions(&versions),
                "must have exactly one version marked as storage version",
            ));
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let path = format!("spec.versions[{i}]");
        let vn = v["name"].as_str().unwrap_or("");
        if vn.is_empty() {
            errs.push(Cause::required(format!("{path}.name"), ""));
        } else if !dns1035_label_errors(vn).is_empty() {
            errs.push(Cause::invalid(
                format!("{path}.name"),
                go_quote(vn),
                &dns1035_label_errors(vn).join(","),
            ));
        } else if seen.contains(&vn) {
            errs.push(Cause::invalid(
                "spec.versions",
                go_versions(&versions),
                "must contain unique version names",
            ));
        }
        seen.push(vn);
        match v.pointer("/schema/openAPIV3Schema") {
            Some(schema) => structural(
                schema,
                &format!("{path}.schema.openAPIV3Schema"),
                true,
                &mut errs,
            ),
            None => errs.push(Cause::required(
                format!("{path}.schema.openAPIV3Schema"),
                "schemas are required",
            )),
        }
        for (j, c) in v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let cp = format!("{path}.additionalPrinterColumns[{j}]");
            if c["name"].as_str().is_none_or(str::is_empty) {
                errs.push(Cause::required(format!("{cp}.name"), ""));
            }
            match c["type"].as_str().unwrap_or("") {
                "integer" | "number" | "string" | "boolean" | "date" => {}
                "" => errs.push(Cause::required(format!("{cp}.type"), "")),
                t => errs.push(Cause::not_supported(
                    format!("{cp}.type"),
                    t,
                    &["integer", "number", "string", "boolean", "date"],
                )),
            }
            let jp = c["jsonPath"].as_str().unwrap_or("");
            if jp.is_empty() {
                errs.push(Cause::required(format!("{cp}.jsonPath"), ""));
            } else if !super::jsonpath::is_valid(jp) {
                errs.push(Cause::invalid(
                    format!("{cp}.jsonPath"),
                    go_quote(jp),
                    "must be a simple json path",
                ));
            }
        }
    }
    errs
}

/// Go's `%#v` of the versions, shortened as kubectl users see the start of it.
fn go_versions(versions: &[Value]) -> String {
    let parts: Vec<String> = versions
        .iter()
        .map(|v| {
            format!(
                "apiextensions.CustomResourceDefinitionVersion{{Name:{}, Served:{}, Storage:{}, ...}}",
                go_quote(v["name"].as_str().unwrap_or("")),
                v["served"] == true,
                v["storage"] == true
            )
        })
        .collect();
    format!(
        "[]apiextensions.CustomResourceDefinitionVersion{{{}}}",
        parts.join(", ")
    )
}

/// `ValidateCustomResourceDefinitionNames`.
fn names(n: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let dns = |errs: &mut Vec<Cause>, field: String, v: &str| {
        let e = dns1035_label_errors(v);
        if !e.is_empty() {
            errs.push(Cause::invalid(field, go_quote(v), &e.join(",")));
        }
    };
    let plural = s(n, "/plural");
    if plural.is_empty() {
        errs.push(Cause::required(format!("{path}.plural"), ""));
    } else {
        dns(&mut errs, format!("{path}.plural"), plural);
    }
    let singular = s(n, "/singular");
    if !singular.is_empty() {
        dns(&mut errs, format!("{path}.singular"), singular);
    }
    let kind = s(n, "/kind");
    if kind.is_empty() {
        errs.push(Cause::required(format!("{path}.kind"), ""));
    } else {
        let e = dns1035_label_errors(&kind.to_ascii_lowercase());
        if !e.is_empty() {
            errs.push(Cause::invalid(
                format!("{path}.kind"),
                go_quote(kind),
                &format!(
                    "may have mixed case, but should otherwise match: {}",
                    e.join(",")
                ),
            ));
        }
    }
    let list_kind = s(n, "/listKind");
    if list_kind.is_empty() {
        errs.push(Cause::required(format!("{path}.listKind"), ""));
    } else if !kind.is_empty() && list_kind == kind {
        errs.push(Cause::invalid(
            format!("{path}.listKind"),
            go_quote(list_kind),
            "kind and listKind may not be the same",
        ));
    }
    for (i, sn) in n
        .get("shortNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        dns(
            &mut errs,
            format!("{path}.shortNames[{i}]"),
            sn.as_str().unwrap_or(""),
        );
    }
    errs
}

/// The structural-schema rules most often broken: every specified field has a `type`
/// (unless `x-kubernetes-int-or-string` or `x-kubernetes-preserve-unknown-fields`), and the
/// root is an object.
fn structural(s: &Value, path: &str, root: bool, errs: &mut Vec<Cause>) {
    let typed = s
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    if !typed
        && s["x-kubernetes-int-or-string"] != true
        && s["x-kubernetes-preserve-unknown-fields"] != true
    {
        errs.push(Cause::required(
            format!("{path}.type"),
            "must not be empty for specified object fields",
        ));
    }
    if root && typed && s["type"] != "object" {
        errs.push(Cause::invalid(
            format!("{path}.type"),
            go_quote(s["type"].as_str().unwrap_or("")),
            "must be object at the root",
        ));
    }
    if let Some(d) = s.get("default") {
        // Defaults must match the schema they are declared in.
        let mut node = s.clone();
        if let Some(o) = node.as_object_mut() {
            o.remove("default");
        }
        errs.extend(super::schema::validate_at(
            &node,
            d,
            &format!("{path}.default"),
        ));
    }
    for (i, r) in s
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let rule = r["rule"].as_str().unwrap_or("");
        if let Some(e) = super::schema::compile_error(rule) {
            errs.push(Cause::invalid(
                format!("{path}.x-kubernetes-validations[{i}].rule"),
                go_quote(rule),
                &format!("compilation failed: {e}"),
            ));
        }
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            if root && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            structural(p, &format!("{path}.properties[{k}]"), false, errs);
        }
    }
    if let Some(items) = s.get("items").filter(|i| i.is_object()) {
        structural(items, &format!("{path}.items"), false, errs);
    }
    if let Some(ap) = s.get("additionalProperties").filter(|i| i.is_object()) {
        structural(ap, &format!("{path}.additionalProperties"), false, errs);
    }
}

/// `ValidateCustomResourceDefinitionUpdate`: the create rules, the object-meta update
/// rules and an immutable group.
pub fn validate_crd_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = crate::validation::validate_custom_meta_update(new, old);
    errs.extend(
        validate_crd(new)
            .into_iter()
            .filter(|c| !c.field.starts_with("metadata.")),
    );
    let (ng, og) = (s(new, "/spec/group"), s(old, "/spec/group"));
    if ng != og {
        errs.push(Cause::invalid(
            "spec.group",
            go_quote(ng),
            "field is immutable",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({"metadata": {"name": "widgets.example.com"}, "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"x": {"type": "string"}}}}}}}]}})
    }

    fn msgs(mut c: Value) -> Vec<String> {
        apply_crd_defaults(&mut c);
        validate_crd(&c)
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn a_good_crd_is_valid_and_defaulted() {
        let mut c = crd();
        apply_crd_defaults(&mut c);
        assert_eq!(c["spec"]["names"]["singular"], "widget");
        assert_eq!(c["spec"]["names"]["listKind"], "WidgetList");
        assert!(msgs(crd()).is_empty(), "{:?}", msgs(crd()));
    }

    #[test]
    fn common_mistakes_read_as_upstream() {
        let mut c = crd();
        c["metadata"]["name"] = json!("widget.example.com");
        assert_eq!(
            msgs(c),
            ["metadata.name: Invalid value: \"widget.example.com\": must be spec.names.plural+\".\"+spec.group"]
        );
        let mut c = crd();
        c["spec"]["versions"][0]
            .as_object_mut()
            .unwrap()
            .remove("schema");
        assert_eq!(
            msgs(c),
            ["spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"]
        );
        let mut c = crd();
        c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            ["x"]["default"] = json!(1);
        assert_eq!(
            msgs(c),
            ["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[x].default: Invalid value: \"integer\": spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[x].default in body must be of type string: \"integer\""]
        );
        let mut c = crd();
        c["spec"]["scope"] = json!("Global");
        assert_eq!(
            msgs(c),
            ["spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\""]
        );
        let mut c = crd();
        c["spec"]["versions"][0]["storage"] = json!(false);
        let m = msgs(c);
        assert!(m.len() == 1 && m[0].starts_with("spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion{"), "{m:?}");
        assert!(m[0].ends_with(": must have exactly one version marked as storage version"));
        let mut c = crd();
        c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            ["x"] = json!({});
        assert_eq!(
            msgs(c),
            ["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[x].type: Required value: must not be empty for specified object fields"]
        );
    }
}
