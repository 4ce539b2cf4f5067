//! Escalation prevention (upstream `pkg/registry/rbac/validation`): a user may only create or
//! update a role holding rules it holds itself, and only bind a role whose rules it holds,
//! unless it has `escalate` on the role or `bind` on the referenced role.

use super::rules::{go_quoted_list, Rule};
use crate::auth::UserInfo;

/// The rules of `servant` that `owner` does not cover (upstream `Covers`), broken down to one
/// verb, group, resource and name each, then compacted (`CompactRules`).
pub fn missing(owner: &[Rule], servant: &[Rule]) -> Vec<Rule> {
    let uncovered: Vec<Rule> = servant
        .iter()
        .flat_map(breakdown)
        .filter(|s| !owner.iter().any(|o| covers(o, s)))
        .collect();
    compact(uncovered)
}

/// Upstream's `BreakdownRule`.
fn breakdown(rule: &Rule) -> Vec<Rule> {
    let mut out = Vec::new();
    for g in &rule.api_groups {
        for res in &rule.resources {
            let names: Vec<Option<&String>> = if rule.resource_names.is_empty() {
                vec![None]
            } else {
                rule.resource_names.iter().map(Some).collect()
            };
            for n in names {
                for v in &rule.verbs {
                    out.push(Rule {
                        verbs: vec![v.clone()],
                        api_groups: vec![g.clone()],
                        resources: vec![res.clone()],
                        resource_names: n.into_iter().cloned().collect(),
                        non_resource_urls: Vec::new(),
                    });
                }
            }
        }
    }
    for u in &rule.non_resource_urls {
        for v in &rule.verbs {
            out.push(Rule::urls(&[v], &[u]));
        }
    }
    out
}

fn has(set: &[String], x: &str) -> bool {
    set.iter().any(|s| s == x)
}

/// Upstream's `ruleCovers` for one broken-down rule.
fn covers(owner: &Rule, s: &Rule) -> bool {
    let verbs = has(&owner.verbs, "*") || s.verbs.iter().all(|v| has(&owner.verbs, v));
    if !verbs {
        return false;
    }
    if !s.non_resource_urls.is_empty() {
        return s.non_resource_urls.iter().all(|u| {
            owner.non_resource_urls.iter().any(|o| {
                o == "*" || o == u || (o.ends_with('*') && u.starts_with(o.trim_end_matches('*')))
            })
        });
    }
    let groups =
        has(&owner.api_groups, "*") || s.api_groups.iter().all(|g| has(&owner.api_groups, g));
    let resources = has(&owner.resources, "*")
        || s.resources.iter().all(|r| {
            has(&owner.resources, r)
                || r.split_once('/')
                    .is_some_and(|(_, sub)| has(&owner.resources, &format!("*/{sub}")))
        });
    let names = owner.resource_names.is_empty()
        || (!s.resource_names.is_empty()
            && s.resource_names
                .iter()
                .all(|n| has(&owner.resource_names, n)));
    groups && resources && names
}

/// Upstream's `CompactRules`: simple rules (one group, one resource, no names) on the same
/// group and resource are merged into one with all their verbs.
fn compact(rules: Vec<Rule>) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    for r in rules {
        let simple = r.api_groups.len() == 1
            && r.resources.len() == 1
            && r.resource_names.is_empty()
            && r.non_resource_urls.is_empty();
        if simple {
            if let Some(existing) = out.iter_mut().find(|e| {
                e.resource_names.is_empty()
                    && e.non_resource_urls.is_empty()
                    && e.api_groups == r.api_groups
                    && e.resources == r.resources
            }) {
                for v in r.verbs {
                    if !existing.verbs.contains(&v) {
                        existing.verbs.push(v);
                    }
                }
                continue;
            }
        }
        out.push(r);
    }
    out
}

/// Upstream's message for rules not held, e.g. `user "bob" (groups=["system:authenticated"]) is
/// attempting to grant RBAC permissions not currently held:` and one compact rule a line.
pub fn message(user: &UserInfo, missing: &[Rule]) -> String {
    let mut lines: Vec<String> = missing.iter().map(Rule::compact_string).collect();
    lines.sort();
    lines.dedup();
    format!(
        "user {} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        ordo_api::validation::go_quote(&user.name),
        go_quoted_list(&user.groups),
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_rules_are_not_missing() {
        let owner = vec![
            Rule::resource(&["get", "list"], &[""], &["pods", "*/status"]),
            Rule::resource(&["get"], &[""], &["configmaps"]).named(&["a"]),
        ];
        let ok = vec![
            Rule::resource(&["get"], &[""], &["pods", "pods/status"]),
            Rule::resource(&["get"], &[""], &["configmaps"]).named(&["a"]),
        ];
        assert!(missing(&owner, &ok).is_empty());
        let more = vec![
            Rule::resource(&["get", "delete", "update"], &[""], &["pods"]),
            Rule::resource(&["get"], &[""], &["configmaps"]),
        ];
        let m = missing(&owner, &more);
        let user = UserInfo {
            name: "bob".into(),
            groups: vec!["system:authenticated".into()],
            ..Default::default()
        };
        assert_eq!(
            message(&user, &m),
            "user \"bob\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n\
             {APIGroups:[\"\"], Resources:[\"configmaps\"], Verbs:[\"get\"]}\n\
             {APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\" \"update\"]}"
        );
        let star = vec![
            Rule::resource(&["*"], &["*"], &["*"]),
            Rule::urls(&["*"], &["*"]),
        ];
        assert!(missing(&star, &more).is_empty());
    }
}
