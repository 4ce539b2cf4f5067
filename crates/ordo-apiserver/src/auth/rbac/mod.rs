//! The RBAC authorizer (upstream `plugin/pkg/auth/authorizer/rbac`): a request is allowed when a
//! rule of a role bound to its user or one of its groups allows it, through a
//! ClusterRoleBinding anywhere or a RoleBinding in the request's namespace.

pub mod escalation;
pub mod index;
pub mod policy;
pub mod rules;

use super::{Attributes, UserInfo};
use index::{Binding, State, Subject};
use rules::Rule;

/// The subjects a user matches: its name and each of its groups.
fn subjects_of(user: &UserInfo) -> Vec<Subject> {
    let mut out = vec![Subject::User(user.name.clone())];
    out.extend(user.groups.iter().map(|g| Subject::Group(g.clone())));
    out
}

/// Upstream's description of where a rule came from, e.g. `ClusterRoleBinding "cluster-admin"
/// of ClusterRole "cluster-admin" to Group "system:masters"`.
fn describe(b: &Binding, subject: &str) -> String {
    if b.namespace.is_empty() {
        format!(
            "ClusterRoleBinding {:?} of {} {:?} to {subject}",
            b.name, b.role_kind, b.role_name
        )
    } else {
        format!(
            "RoleBinding {:?} of {} {:?} to {subject}",
            format!("{}/{}", b.name, b.namespace),
            b.role_kind,
            b.role_name
        )
    }
}

/// Calls `visit` with every rule that applies to `user` in `ns` (cluster-wide bindings
/// first) and where it came from, until `visit` returns false.
pub fn visit_rules(
    st: &State,
    user: &UserInfo,
    ns: &str,
    mut visit: impl FnMut(&Rule, &dyn Fn() -> String) -> bool,
) {
    let subjects = subjects_of(user);
    let mut seen = std::collections::BTreeSet::new();
    for sub in &subjects {
        for name in st.cluster_by_subject.get(sub).into_iter().flatten() {
            if !seen.insert(("", name.as_str())) {
                continue;
            }
            let Some(b) = st.cluster_bindings.get(name) else {
                continue;
            };
            if !visit_binding(st, b, sub, &mut visit) {
                return;
            }
        }
    }
    if ns.is_empty() {
        return;
    }
    for sub in &subjects {
        for name in st
            .by_subject
            .get(&(ns.to_string(), sub.clone()))
            .into_iter()
            .flatten()
        {
            if !seen.insert((ns, name.as_str())) {
                continue;
            }
            let Some(b) = st.bindings.get(&(ns.to_string(), name.clone())) else {
                continue;
            };
            if !visit_binding(st, b, sub, &mut visit) {
                return;
            }
        }
    }
}

fn visit_binding(
    st: &State,
    b: &Binding,
    sub: &Subject,
    visit: &mut impl FnMut(&Rule, &dyn Fn() -> String) -> bool,
) -> bool {
    let Some(rules) = st.role_rules(&b.role_kind, &b.namespace, &b.role_name) else {
        return true;
    };
    let subject = b
        .subjects
        .iter()
        .find(|(s, _)| s == sub)
        .map(|(_, d)| d.clone())
        .unwrap_or_default();
    let source = || describe(b, &subject);
    rules.iter().all(|r| visit(r, &source))
}

/// Whether RBAC allows `attrs`: `Some(reason)` (`RBAC: allowed by ...`) when it does.
pub fn allows(st: &State, attrs: &Attributes) -> Option<String> {
    let mut reason = None;
    visit_rules(st, &attrs.user, &attrs.namespace, |rule, source| {
        if rule.allows(attrs) {
            reason = Some(format!("RBAC: allowed by {}", source()));
            false
        } else {
            true
        }
    });
    reason
}

/// Every rule that applies to `user` in `ns` (upstream `RulesFor`).
pub fn rules_for(st: &State, user: &UserInfo, ns: &str) -> Vec<Rule> {
    let mut out = Vec::new();
    visit_rules(st, user, ns, |rule, _| {
        out.push(rule.clone());
        true
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use index::RoleEntry;
    use std::sync::Arc;

    fn state() -> State {
        let mut st = State::default();
        st.cluster_roles.insert(
            "view".into(),
            RoleEntry {
                rules: Arc::new(vec![Rule::resource(&["get", "list"], &[""], &["pods"])]),
                ..Default::default()
            },
        );
        let b = Binding {
            name: "rb".into(),
            namespace: "team".into(),
            role_kind: "ClusterRole".into(),
            role_name: "view".into(),
            subjects: vec![(Subject::User("bob".into()), "User \"bob\"".into())],
        };
        st.by_subject
            .entry(("team".into(), Subject::User("bob".into())))
            .or_default()
            .insert("rb".into());
        st.bindings.insert(("team".into(), "rb".into()), b);
        st
    }

    fn attrs(user: &str, verb: &str, ns: &str) -> Attributes {
        Attributes {
            user: UserInfo {
                name: user.into(),
                groups: vec!["system:authenticated".into()],
                ..Default::default()
            },
            verb: verb.into(),
            resource_request: true,
            resource: "pods".into(),
            namespace: ns.into(),
            ..Default::default()
        }
    }

    #[test]
    fn role_bindings_grant_in_their_namespace_only() {
        let st = state();
        assert_eq!(
            allows(&st, &attrs("bob", "list", "team")).as_deref(),
            Some(
                "RBAC: allowed by RoleBinding \"rb/team\" of ClusterRole \"view\" to User \"bob\""
            )
        );
        assert!(allows(&st, &attrs("bob", "list", "other")).is_none());
        assert!(allows(&st, &attrs("bob", "delete", "team")).is_none());
        assert!(allows(&st, &attrs("amy", "list", "team")).is_none());
        assert_eq!(rules_for(&st, &attrs("bob", "", "").user, "team").len(), 1);
    }
}
