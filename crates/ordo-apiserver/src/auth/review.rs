//! `authorization.k8s.io/v1` reviews: SubjectAccessReview, LocalSubjectAccessReview,
//! SelfSubjectAccessReview (is this allowed?) and SelfSubjectRulesReview (what is allowed in a
//! namespace?), answered from the authorizers and never stored.

use super::{decide, rbac, Attributes, UserInfo};
use crate::router::Target;
use crate::ApiServer;
use ordo_api::status::{ApiError, Cause};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn s(v: &Value, ptr: &str) -> String {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The user a (Local)SubjectAccessReview asks about.
fn spec_user(spec: &Value) -> UserInfo {
    let strings = |k: &str| -> Vec<String> {
        spec.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut extra = BTreeMap::new();
    for (k, v) in spec
        .get("extra")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let vals = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        extra.insert(k.clone(), vals);
    }
    UserInfo {
        name: s(spec, "/user"),
        uid: s(spec, "/uid"),
        groups: strings("groups"),
        extra,
    }
}

/// The attributes a review's spec describes.
fn spec_attributes(kind: &str, spec: &Value, user: UserInfo) -> Result<Attributes, ApiError> {
    let res = spec.get("resourceAttributes").filter(|v| !v.is_null());
    let non = spec.get("nonResourceAttributes").filter(|v| !v.is_null());
    match (res, non) {
        (Some(r), None) => Ok(Attributes {
            user,
            verb: s(r, "/verb"),
            resource_request: true,
            api_group: s(r, "/group"),
            api_version: s(r, "/version"),
            resource: s(r, "/resource"),
            subresource: s(r, "/subresource"),
            namespace: s(r, "/namespace"),
            name: s(r, "/name"),
            path: String::new(),
        }),
        (None, Some(n)) => Ok(Attributes {
            user,
            verb: s(n, "/verb"),
            path: s(n, "/path"),
            ..Default::default()
        }),
        (Some(_), Some(_)) => Err(invalid(
            kind,
            Cause::invalid(
                "spec.nonResourceAttributes",
                "\"\"",
                "cannot be specified in combination with resourceAttributes",
            ),
        )),
        (None, None) => Err(invalid(
            kind,
            Cause::required(
                "spec.resourceAttributes",
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ),
        )),
    }
}

fn invalid(kind: &str, cause: Cause) -> ApiError {
    ApiError::invalid("authorization.k8s.io", kind, "", &[cause])
}

impl ApiServer {
    /// Answers a review `body` POSTed by `user` to `t`: the review with its `status`.
    pub(crate) fn review(
        &self,
        t: &Target,
        mut body: Value,
        user: &UserInfo,
    ) -> Result<Value, ApiError> {
        let kind = t.info.kind;
        let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
        let status = match kind {
            "SelfSubjectRulesReview" => {
                let ns = s(&spec, "/namespace");
                self.rules_review(user, &ns)
            }
            _ => {
                let subject = match kind {
                    "SelfSubjectAccessReview" => user.clone(),
                    _ => {
                        let u = spec_user(&spec);
                        if u.name.is_empty() && u.groups.is_empty() {
                            return Err(invalid(
                                kind,
                                Cause::invalid(
                                    "spec.user",
                                    "\"\"",
                                    "at least one of user or group must be specified",
                                ),
                            ));
                        }
                        u
                    }
                };
                let mut attrs = spec_attributes(kind, &spec, subject)?;
                if kind == "LocalSubjectAccessReview" {
                    let ns = t.ns.clone().unwrap_or_default();
                    if attrs.namespace != ns {
                        return Err(invalid(
                            kind,
                            Cause::invalid(
                                "spec.resourceAttributes.namespace",
                                format!("{:?}", attrs.namespace),
                                "must match metadata.namespace",
                            ),
                        ));
                    }
                    attrs.namespace = ns;
                }
                match decide(self, &attrs) {
                    Ok(reason) => json!({"allowed": true, "reason": reason}),
                    Err(reason) => json!({"allowed": false, "reason": reason}),
                }
            }
        };
        let meta = body
            .get("metadata")
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        body["metadata"] = meta;
        body["metadata"]["creationTimestamp"] = Value::Null;
        body["status"] = strip_empty(status);
        Ok(body)
    }

    /// A SelfSubjectRulesReview's status: the user's rules in `ns`.
    fn rules_review(&self, user: &UserInfo, ns: &str) -> Value {
        let rules = self.authz.read(|st| rbac::rules_for(st, user, ns));
        let mut resource_rules = Vec::new();
        let mut non_resource_rules = Vec::new();
        for r in rules {
            if !r.non_resource_urls.is_empty() {
                non_resource_rules
                    .push(json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}));
            } else {
                let mut v =
                    json!({"verbs": r.verbs, "apiGroups": r.api_groups, "resources": r.resources});
                if !r.resource_names.is_empty() {
                    v["resourceNames"] = json!(r.resource_names);
                }
                resource_rules.push(v);
            }
        }
        json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false})
    }
}

/// Drops an empty `reason` (upstream's `omitempty`).
fn strip_empty(mut status: Value) -> Value {
    if status.get("reason") == Some(&json!("")) {
        status.as_object_mut().map(|o| o.remove("reason"));
    }
    status
}
