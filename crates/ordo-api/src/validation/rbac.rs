//! `rbac.authorization.k8s.io/v1` validation (upstream `pkg/apis/rbac/validation`): names are
//! path segments, rules need verbs and either resources with API groups or non-resource URLs,
//! bindings reference a Role or ClusterRole of the RBAC group, subjects are User, Group or
//! ServiceAccount, and a binding's roleRef never changes.

use super::meta::{validate_label_selector, validate_object_meta, validate_object_meta_update};
use super::names::NameRule;
use super::util::*;
use crate::status::Cause;
use serde_json::Value;

/// The RBAC API group.
const GROUP: &str = "rbac.authorization.k8s.io";

/// `path.IsValidPathSegmentName`, the rule of RBAC object names.
pub(crate) fn path_segment(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if name == "." || name == ".." {
        out.push(format!("may not be '{name}'"));
        return out;
    }
    for c in ['/', '%'] {
        if name.contains(c) {
            out.push(format!("may not contain '{c}'"));
        }
    }
    out
}

/// `ValidateRole` (`namespaced`) or `ValidateClusterRole`.
pub(crate) fn validate_role(obj: &Value, namespaced: bool) -> Errs {
    let mut errs = validate_object_meta(obj, Some(namespaced), NameRule::PathSegment);
    for (i, rule) in arr(obj, "rules").iter().enumerate() {
        errs.extend(validate_policy_rule(rule, namespaced, &index("rules", i)));
    }
    if let Some(agg) = present(obj, "aggregationRule") {
        let path = "aggregationRule.clusterRoleSelectors";
        let selectors = arr(agg, "clusterRoleSelectors");
        if selectors.is_empty() {
            errs.push(Cause::required(
                path,
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        for (i, s) in selectors.iter().enumerate() {
            errs.extend(validate_label_selector(Some(s), &index(path, i)));
        }
    }
    errs
}

/// `ValidatePolicyRule`.
fn validate_policy_rule(rule: &Value, namespaced: bool, path: &str) -> Errs {
    let mut errs = Errs::new();
    if arr(rule, "verbs").is_empty() {
        errs.push(Cause::required(
            child(path, "verbs"),
            "verbs must contain at least one value",
        ));
    }
    if !arr(rule, "nonResourceURLs").is_empty() {
        let urls = go_strings(rule.get("nonResourceURLs"));
        if namespaced {
            errs.push(Cause::invalid(
                child(path, "nonResourceURLs"),
                &urls,
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if ["apiGroups", "resources", "resourceNames"]
            .iter()
            .any(|k| !arr(rule, k).is_empty())
        {
            errs.push(Cause::invalid(
                child(path, "nonResourceURLs"),
                &urls,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return errs;
    }
    if arr(rule, "apiGroups").is_empty() {
        errs.push(Cause::required(
            child(path, "apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if arr(rule, "resources").is_empty() {
        errs.push(Cause::required(
            child(path, "resources"),
            "resource rules must supply at least one resource",
        ));
    }
    errs
}

/// `ValidateRoleBinding` (`namespaced`) or `ValidateClusterRoleBinding`.
pub(crate) fn validate_binding(obj: &Value, namespaced: bool) -> Errs {
    let mut errs = validate_object_meta(obj, Some(namespaced), NameRule::PathSegment);
    let empty = Value::Null;
    let role_ref = obj.get("roleRef").unwrap_or(&empty);
    let group = se(role_ref, "apiGroup");
    if group != GROUP {
        errs.push(Cause::not_supported("roleRef.apiGroup", group, &[GROUP]));
    }
    let kind = se(role_ref, "kind");
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&kind) {
        errs.push(Cause::not_supported("roleRef.kind", kind, kinds));
    }
    let name = se(role_ref, "name");
    if name.is_empty() {
        errs.push(Cause::required("roleRef.name", ""));
    }
    for m in path_segment(name) {
        errs.push(invalid_str("roleRef.name", name, &m));
    }
    for (i, s) in arr(obj, "subjects").iter().enumerate() {
        errs.extend(validate_subject(s, namespaced, &index("subjects", i)));
    }
    errs
}

/// `ValidateRoleBindingSubject`.
fn validate_subject(s: &Value, namespaced: bool, path: &str) -> Errs {
    let mut errs = Errs::new();
    let name = se(s, "name");
    if name.is_empty() {
        errs.push(Cause::required(child(path, "name"), ""));
    }
    let group = se(s, "apiGroup");
    match se(s, "kind") {
        "ServiceAccount" => {
            if !name.is_empty() {
                for m in NameRule::Subdomain.check(name, false) {
                    errs.push(invalid_str(child(path, "name"), name, &m));
                }
            }
            if !group.is_empty() {
                errs.push(Cause::not_supported(child(path, "apiGroup"), group, &[""]));
            }
            if !namespaced && se(s, "namespace").is_empty() {
                errs.push(Cause::required(child(path, "namespace"), ""));
            }
        }
        "User" | "Group" if group != GROUP => {
            errs.push(Cause::not_supported(
                child(path, "apiGroup"),
                group,
                &[GROUP],
            ));
        }
        "User" | "Group" => {}
        kind => errs.push(Cause::not_supported(
            child(path, "kind"),
            kind,
            &["ServiceAccount", "User", "Group"],
        )),
    }
    errs
}

/// `ValidateRoleBindingUpdate`/`ValidateClusterRoleBindingUpdate`: the create rules, the
/// metadata rules and an unchanged roleRef.
pub(crate) fn validate_binding_update(new: &Value, old: &Value, namespaced: bool) -> Errs {
    let mut errs = validate_binding(new, namespaced);
    errs.extend(validate_object_meta_update(new, old));
    if new.get("roleRef") != old.get("roleRef") {
        let r = new.get("roleRef").cloned().unwrap_or_default();
        errs.push(Cause::invalid(
            "roleRef",
            format!(
                "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
                q(se(&r, "apiGroup")),
                q(se(&r, "kind")),
                q(se(&r, "name"))
            ),
            "cannot change roleRef",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(errs: &Errs) -> Vec<String> {
        errs.iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn rules_need_verbs_and_targets() {
        let role = json!({"metadata": {"name": "r", "namespace": "d"},
            "rules": [{"verbs": [], "resources": ["pods"]}, {"verbs": ["get"], "nonResourceURLs": ["/x"]}]});
        assert_eq!(
            messages(&validate_role(&role, true)),
            vec![
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[1].nonResourceURLs: Invalid value: []string{\"/x\"}: namespaced rules cannot apply to non-resource URLs",
            ]
        );
        let cr = json!({"metadata": {"name": "a/b"}, "rules": [{"verbs": ["get"], "nonResourceURLs": ["/x"]}]});
        assert_eq!(
            messages(&validate_role(&cr, false)),
            vec!["metadata.name: Invalid value: \"a/b\": may not contain '/'"]
        );
    }

    #[test]
    fn bindings() {
        let b = json!({"metadata": {"name": "b"},
            "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "app"}, {"kind": "Robot", "name": "x"}]});
        assert_eq!(
            messages(&validate_binding(&b, false)),
            vec![
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "subjects[0].namespace: Required value",
                "subjects[1].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
            ]
        );
        let mut new = b.clone();
        new["roleRef"]["name"] = json!("other");
        assert!(messages(&validate_binding_update(&new, &b, true))
            .iter()
            .any(|m| m.ends_with("cannot change roleRef")));
    }
}
