//! Policy rules and upstream's matching (`rbac.RuleAllows` and the `*Matches` helpers), and
//! the rules' compact text (`rbacv1helpers.CompactString`) used in escalation messages.

use super::super::Attributes;
use serde::{Deserialize, Serialize};

/// One `PolicyRule`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Verbs, `*` for all.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// API groups, `*` for all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    /// Resources (`pods`, `pods/log`, `*`, `*/scale`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Object names; empty for all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    /// Non-resource paths, a trailing `*` matching any suffix.
    #[serde(
        default,
        rename = "nonResourceURLs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl Rule {
    /// A resource rule.
    pub fn resource(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Rule {
        Rule {
            verbs: strings(verbs),
            api_groups: strings(groups),
            resources: strings(resources),
            ..Default::default()
        }
    }

    /// A non-resource rule.
    pub fn urls(verbs: &[&str], urls: &[&str]) -> Rule {
        Rule {
            verbs: strings(verbs),
            non_resource_urls: strings(urls),
            ..Default::default()
        }
    }

    /// The same rule limited to `names`.
    pub fn named(mut self, names: &[&str]) -> Rule {
        self.resource_names = strings(names);
        self
    }

    /// Rules of a `rules` JSON array (invalid entries skipped).
    pub fn parse_all(v: Option<&serde_json::Value>) -> Vec<Rule> {
        v.and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|r| serde_json::from_value(r.clone()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether this rule allows `attrs` (upstream `RuleAllows`).
    pub fn allows(&self, attrs: &Attributes) -> bool {
        if !self.verb_matches(&attrs.verb) {
            return false;
        }
        if !attrs.resource_request {
            return self.url_matches(&attrs.path);
        }
        let combined = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        self.group_matches(&attrs.api_group)
            && self.resource_matches(&combined, &attrs.subresource)
            && self.name_matches(&attrs.name)
    }

    fn verb_matches(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == verb)
    }

    fn group_matches(&self, group: &str) -> bool {
        self.api_groups.iter().any(|g| g == "*" || g == group)
    }

    fn resource_matches(&self, combined: &str, sub: &str) -> bool {
        self.resources.iter().any(|r| {
            r == "*"
                || r == combined
                || (!sub.is_empty()
                    && r.len() == sub.len() + 2
                    && r.starts_with("*/")
                    && r.ends_with(sub))
        })
    }

    fn name_matches(&self, name: &str) -> bool {
        self.resource_names.is_empty() || self.resource_names.iter().any(|n| n == name)
    }

    fn url_matches(&self, path: &str) -> bool {
        self.non_resource_urls.iter().any(|u| {
            u == "*" || u == path || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*')))
        })
    }

    /// Upstream's `CompactString`: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`.
    pub fn compact_string(&self) -> String {
        let mut parts = Vec::new();
        for (label, v) in [
            ("APIGroups", &self.api_groups),
            ("Resources", &self.resources),
            ("NonResourceURLs", &self.non_resource_urls),
            ("ResourceNames", &self.resource_names),
            ("Verbs", &self.verbs),
        ] {
            if !v.is_empty() {
                parts.push(format!("{label}:{}", go_quoted_list(v)));
            }
        }
        format!("{{{}}}", parts.join(", "))
    }
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub fn go_quoted_list(v: &[String]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|s| ordo_api::validation::go_quote(s))
        .collect();
    format!("[{}]", items.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            name: name.into(),
            namespace: "default".into(),
            ..Default::default()
        }
    }

    #[test]
    fn resource_rules_match_as_upstream() {
        let r = Rule::resource(&["get", "list"], &[""], &["pods", "pods/log"]);
        assert!(r.allows(&req("get", "", "pods", "", "p")));
        assert!(r.allows(&req("get", "", "pods", "log", "p")));
        assert!(!r.allows(&req("get", "", "pods", "exec", "p")));
        assert!(!r.allows(&req("delete", "", "pods", "", "p")));
        assert!(!r.allows(&req("get", "apps", "pods", "", "p")));
        let star = Rule::resource(&["*"], &["*"], &["*"]);
        assert!(star.allows(&req("escalate", "x.io", "things", "status", "")));
        let sub = Rule::resource(&["get"], &["apps"], &["*/scale"]);
        assert!(sub.allows(&req("get", "apps", "statefulsets", "scale", "web")));
        assert!(!sub.allows(&req("get", "apps", "statefulsets", "", "web")));
        let named = Rule::resource(&["get"], &[""], &["configmaps"]).named(&["a"]);
        assert!(named.allows(&req("get", "", "configmaps", "", "a")));
        assert!(!named.allows(&req("get", "", "configmaps", "", "b")));
        assert!(!named.allows(&req("list", "", "configmaps", "", "")));
    }

    #[test]
    fn url_rules_match_prefixes() {
        let r = Rule::urls(&["get"], &["/healthz", "/apis/*"]);
        let at = |p: &str| Attributes {
            verb: "get".into(),
            path: p.into(),
            ..Default::default()
        };
        assert!(r.allows(&at("/healthz")));
        assert!(!r.allows(&at("/healthz/ping")));
        assert!(r.allows(&at("/apis/apps/v1")));
        assert!(!r.allows(&at("/api")));
    }

    #[test]
    fn compact_strings() {
        let r = Rule::resource(&["get"], &[""], &["pods"]);
        assert_eq!(
            r.compact_string(),
            "{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"get\"]}"
        );
        let u = Rule::urls(&["get", "post"], &["/x"]);
        assert_eq!(
            u.compact_string(),
            "{NonResourceURLs:[\"/x\"], Verbs:[\"get\" \"post\"]}"
        );
    }
}
