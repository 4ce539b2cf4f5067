//! The Node authorizer and the NodeRestriction admission plugin (upstream
//! `plugin/pkg/auth/authorizer/node`, `plugin/pkg/admission/noderestriction`): a node
//! (`system:node:NAME` in `system:nodes`) reads only the Secrets, ConfigMaps, claims, volumes
//! and ServiceAccount tokens of the pods bound to it, and changes only its own Node, its Lease
//! and the pods bound to it.

use super::rbac::index::State;
use super::rbac::policy::node_rules;
use super::{Attributes, UserInfo};
use ordo_api::status::ApiError;
use serde_json::Value;
use std::sync::OnceLock;

/// The group of nodes.
pub const NODES: &str = "system:nodes";
/// The prefix of node user names.
pub const NODE_PREFIX: &str = "system:node:";

/// The node a user is (upstream `NodeIdentity`): `Some("")` for a node of unknown name.
pub fn node_of(user: &UserInfo) -> Option<&str> {
    if !user.groups.iter().any(|g| g == NODES) {
        return None;
    }
    Some(user.name.strip_prefix(NODE_PREFIX).unwrap_or(""))
}

/// The Node authorizer's decision: `Ok(())` allows, `Err(reason)` has no opinion (the next
/// authorizer decides; the reason ends the 403 if none allows).
pub fn authorize(st: &State, node: &str, attrs: &Attributes) -> Result<(), String> {
    if node.is_empty() {
        return Err(format!("unknown node for user {:?}", attrs.user.name));
    }
    if attrs.resource_request && attrs.api_group.is_empty() {
        match attrs.resource.as_str() {
            "secrets" | "configmaps" => return read_namespaced(st, node, attrs),
            "persistentvolumeclaims" if attrs.subresource == "status" => {
                return status_update(st, node, attrs)
            }
            "persistentvolumeclaims" | "persistentvolumes" => return get(st, node, attrs),
            "serviceaccounts" => return create_token(st, node, attrs),
            _ => {}
        }
    }
    if attrs.resource_request
        && attrs.api_group == "coordination.k8s.io"
        && attrs.resource == "leases"
    {
        return lease(node, attrs);
    }
    static RULES: OnceLock<Vec<super::rbac::rules::Rule>> = OnceLock::new();
    if RULES
        .get_or_init(node_rules)
        .iter()
        .any(|r| r.allows(attrs))
    {
        return Ok(());
    }
    Err(String::new())
}

fn read_namespaced(st: &State, node: &str, attrs: &Attributes) -> Result<(), String> {
    if !matches!(attrs.verb.as_str(), "get" | "list" | "watch") {
        return Err("can only read resources of this type".into());
    }
    if !attrs.subresource.is_empty() {
        return Err("cannot read subresource".into());
    }
    if attrs.namespace.is_empty() {
        return Err("can only read namespaced object of this type".into());
    }
    related(st, node, attrs)
}

fn get(st: &State, node: &str, attrs: &Attributes) -> Result<(), String> {
    if attrs.verb != "get" {
        return Err("can only get individual resources of this type".into());
    }
    if !attrs.subresource.is_empty() {
        return Err("cannot get subresource".into());
    }
    related(st, node, attrs)
}

fn status_update(st: &State, node: &str, attrs: &Attributes) -> Result<(), String> {
    if !matches!(attrs.verb.as_str(), "update" | "patch") {
        return Err("can only get, update and patch".into());
    }
    related(st, node, attrs)
}

fn create_token(st: &State, node: &str, attrs: &Attributes) -> Result<(), String> {
    if attrs.verb != "create" || attrs.subresource != "token" {
        return Err("can only create tokens for individual service accounts".into());
    }
    related(st, node, attrs)
}

fn lease(node: &str, attrs: &Attributes) -> Result<(), String> {
    if !matches!(
        attrs.verb.as_str(),
        "get" | "create" | "update" | "patch" | "delete"
    ) {
        return Err("can only get, create, update, patch, or delete a node lease".into());
    }
    if attrs.namespace != "kube-node-lease" {
        return Err("can only access leases in the \"kube-node-lease\" system namespace".into());
    }
    if attrs.verb != "create" && attrs.name != node {
        return Err("can only access node lease with the same name as the requesting node".into());
    }
    Ok(())
}

/// Whether a pod bound to `node` uses the object (the graph's path from the object to the node).
fn related(st: &State, node: &str, attrs: &Attributes) -> Result<(), String> {
    if attrs.name.is_empty() {
        return Err("No Object name found".into());
    }
    let found = if attrs.resource == "persistentvolumes" {
        st.pods
            .iter()
            .filter(|(_, p)| p.node == node)
            .any(|((ns, _), p)| {
                p.refs.iter().any(|(res, claim)| {
                    *res == "persistentvolumeclaims"
                        && st.claims.get(&(ns.clone(), claim.clone())) == Some(&attrs.name)
                })
            })
    } else {
        st.pods
            .iter()
            .filter(|((ns, _), p)| p.node == node && *ns == attrs.namespace)
            .any(|(_, p)| {
                p.refs
                    .iter()
                    .any(|(res, n)| *res == attrs.resource && *n == attrs.name)
            })
    };
    if found {
        Ok(())
    } else {
        Err(format!(
            "no relationship found between node '{node}' and this object"
        ))
    }
}

/// NodeRestriction: what a node may write. `old` is the stored object for updates and
/// deletions.
pub fn admit(
    node: &str,
    resource: &str,
    sub: Option<&str>,
    name: &str,
    new: Option<&Value>,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    fn node_name_of(v: Option<&Value>) -> Option<&str> {
        v.and_then(|v| v.pointer("/spec/nodeName"))
            .and_then(Value::as_str)
    }
    let refuse = |msg: String| {
        Err(ApiError::forbidden(format!(
            "{resource} \"{name}\" is forbidden: {msg}"
        )))
    };
    match (resource, sub) {
        ("pods", None) if old.is_none() => {
            let mirror = new
                .and_then(|p| p.pointer("/metadata/annotations/kubernetes.io~1config.mirror"))
                .is_some();
            if !mirror {
                return refuse(format!("pod does not have \"kubernetes.io/config.mirror\" annotation, node \"{node}\" can only create mirror pods"));
            }
            if node_name_of(new) != Some(node) {
                return refuse(format!(
                    "node \"{node}\" can only create pods with spec.nodeName set to itself"
                ));
            }
        }
        ("pods", None) if new.is_none() && node_name_of(old) != Some(node) => {
            return refuse(format!(
                "node \"{node}\" can only delete pods with spec.nodeName set to itself"
            ));
        }
        ("pods", Some("status")) if node_name_of(old) != Some(node) => {
            return refuse(format!(
                "node \"{node}\" can only update pod status for pods with spec.nodeName set to itself"
            ));
        }
        ("nodes", _) if name != node => {
            return refuse(format!(
                "node \"{node}\" is not allowed to modify node \"{name}\""
            ));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::rbac::index::pod_refs;
    use serde_json::json;

    fn attrs(verb: &str, resource: &str, ns: &str, name: &str) -> Attributes {
        Attributes {
            user: UserInfo {
                name: "system:node:n1".into(),
                groups: vec![NODES.into()],
                ..Default::default()
            },
            verb: verb.into(),
            resource_request: true,
            resource: resource.into(),
            namespace: ns.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn nodes_read_only_what_their_pods_use() {
        let mut st = State::default();
        st.pods.insert(
            ("d".into(), "p".into()),
            pod_refs(&json!({"spec": {"nodeName": "n1", "volumes": [
                {"name": "s", "secret": {"secretName": "mine"}},
                {"name": "c", "persistentVolumeClaim": {"claimName": "data"}}]}})),
        );
        st.claims.insert(("d".into(), "data".into()), "pv-1".into());
        assert_eq!(node_of(&attrs("get", "", "", "").user), Some("n1"));
        assert!(authorize(&st, "n1", &attrs("get", "secrets", "d", "mine")).is_ok());
        assert_eq!(
            authorize(&st, "n1", &attrs("get", "secrets", "d", "other")).unwrap_err(),
            "no relationship found between node 'n1' and this object"
        );
        assert!(authorize(&st, "n2", &attrs("get", "secrets", "d", "mine")).is_err());
        assert!(authorize(&st, "n1", &attrs("get", "persistentvolumes", "", "pv-1")).is_ok());
        assert!(authorize(&st, "n1", &attrs("get", "persistentvolumes", "", "pv-2")).is_err());
        assert!(authorize(&st, "n1", &attrs("list", "pods", "d", "")).is_ok());
        assert!(authorize(&st, "n1", &attrs("delete", "services", "d", "x")).is_err());
    }

    #[test]
    fn node_restriction() {
        let pod = json!({"spec": {"nodeName": "n2"}});
        let e = admit("n1", "pods", Some("status"), "p", Some(&pod), Some(&pod)).unwrap_err();
        assert_eq!(e.message, "pods \"p\" is forbidden: node \"n1\" can only update pod status for pods with spec.nodeName set to itself");
        let e = admit("n1", "nodes", None, "n2", Some(&pod), Some(&pod)).unwrap_err();
        assert_eq!(
            e.message,
            "nodes \"n2\" is forbidden: node \"n1\" is not allowed to modify node \"n2\""
        );
        assert!(admit("n1", "nodes", Some("status"), "n1", Some(&pod), Some(&pod)).is_ok());
    }
}
