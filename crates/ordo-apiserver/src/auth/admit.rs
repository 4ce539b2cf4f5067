//! Admission that depends on who writes: RBAC escalation prevention for roles and bindings, and
//! NodeRestriction for nodes. Called by every create, update and deletion.

use super::rbac::{escalation, rules::Rule, rules_for};
use super::{decide, node, request_user, Attributes, UserInfo, MASTERS};
use crate::ApiServer;
use ordo_api::resources::ResourceInfo;
use ordo_api::status::ApiError;
use serde_json::Value;

const RBAC: &str = "rbac.authorization.k8s.io";

/// Admits a write of `info` (`sub`resource) named `name` in `ns` by the request's user: `new`
/// is absent for deletions, `old` for creations.
pub fn admit_write(
    server: &ApiServer,
    info: &ResourceInfo,
    sub: Option<&str>,
    ns: &str,
    name: &str,
    new: Option<&Value>,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let Some(user) = request_user() else {
        return Ok(());
    };
    if let Some(node) = node::node_of(&user) {
        if info.group.is_empty() {
            node::admit(node, info.plural, sub, name, new, old)?;
        }
    }
    if info.group != RBAC || user.groups.iter().any(|g| g == MASTERS) {
        return Ok(());
    }
    let Some(new) = new else {
        return Ok(());
    };
    match info.kind {
        "Role" | "ClusterRole" => {
            if old.is_some_and(|o| o.get("rules") == new.get("rules")) {
                return Ok(());
            }
            let escalate = check(server, &user, "escalate", info.plural, ns, name);
            if escalate {
                return Ok(());
            }
            let wanted = Rule::parse_all(new.get("rules"));
            confirm_no_escalation(server, &user, info, ns, name, &wanted)
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            if old.is_some_and(|o| {
                o.get("subjects") == new.get("subjects") && o.get("roleRef") == new.get("roleRef")
            }) {
                return Ok(());
            }
            let kind = new
                .pointer("/roleRef/kind")
                .and_then(Value::as_str)
                .unwrap_or("");
            let role = new
                .pointer("/roleRef/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let plural = if kind == "Role" {
                "roles"
            } else {
                "clusterroles"
            };
            if check(server, &user, "bind", plural, ns, role) {
                return Ok(());
            }
            let rules = server
                .authz
                .read(|st| st.role_rules(kind, ns, role))
                .ok_or_else(|| ApiError::not_found(RBAC, plural, role))?;
            confirm_no_escalation(server, &user, info, ns, name, &rules)
        }
        _ => Ok(()),
    }
}

/// Whether `user` may `verb` the RBAC `resource` named `name` (`escalate`, `bind`).
fn check(
    server: &ApiServer,
    user: &UserInfo,
    verb: &str,
    resource: &str,
    ns: &str,
    name: &str,
) -> bool {
    let attrs = Attributes {
        user: user.clone(),
        verb: verb.into(),
        resource_request: true,
        api_group: RBAC.into(),
        api_version: "v1".into(),
        resource: resource.into(),
        namespace: ns.into(),
        name: name.into(),
        ..Default::default()
    };
    decide(server, &attrs).is_ok()
}

/// Upstream's `ConfirmNoEscalation`: 403 listing the rules `user` does not hold in `ns`.
fn confirm_no_escalation(
    server: &ApiServer,
    user: &UserInfo,
    info: &ResourceInfo,
    ns: &str,
    name: &str,
    wanted: &[Rule],
) -> Result<(), ApiError> {
    let held = server.authz.read(|st| rules_for(st, user, ns));
    let missing = escalation::missing(&held, wanted);
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "{} \"{name}\" is forbidden: {}",
        info.qualified(),
        escalation::message(user, &missing)
    )))
}
