//! Who a request comes from and whether it may do what it asks: upstream's authentication
//! (`user.Info`) and authorization (`authorizer.Attributes`, a decision) seams.
//!
//! [`authenticate`] turns a request's credentials into a [`UserInfo`]; [`authorize`] decides
//! on the [`Attributes`] of the request. The router calls both before any handler runs and
//! hands the user on to handlers that need it (reviews, impersonation, audit) as a request
//! extension.

mod admit;
pub mod automount;
mod impersonate;
pub mod node;
pub mod rbac;
mod review;
pub mod reviews;
pub mod serviceaccount;
pub mod token_request;
pub mod tokens;
pub mod x509;
pub use admit::admit_write;
pub use impersonate::impersonate;

use crate::ApiServer;
use axum::http::{header, Extensions, HeaderMap, Method};
use ordo_api::status::ApiError;
use std::collections::BTreeMap;

tokio::task_local! {
    /// The user of the request being served (absent for the server's own writes).
    pub static REQUEST_USER: UserInfo;
}

/// The user of the request being served, `None` for the server's own work.
pub fn request_user() -> Option<UserInfo> {
    REQUEST_USER.try_with(Clone::clone).ok()
}

/// The group every authenticated user is in.
pub const AUTHENTICATED: &str = "system:authenticated";
/// The group that may do anything (upstream's `system:masters`).
pub const MASTERS: &str = "system:masters";
/// The user name of requests without credentials.
pub const ANONYMOUS: &str = "system:anonymous";
/// The group of requests without credentials.
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// The name of the user behind the admin token.
pub const ADMIN_USER: &str = "kubernetes-admin";

/// An authenticated user (upstream's `user.Info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// User name, e.g. `system:serviceaccount:default:app`.
    pub name: String,
    /// Unique id, empty when the authenticator has none.
    pub uid: String,
    /// Groups the user is in, `system:authenticated` included.
    pub groups: Vec<String>,
    /// Extra attributes (e.g. the pod a ServiceAccount token is bound to).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// The user of a request without credentials (upstream's anonymous authenticator).
    pub fn anonymous() -> UserInfo {
        UserInfo {
            name: ANONYMOUS.into(),
            uid: String::new(),
            groups: vec![UNAUTHENTICATED.into()],
            extra: BTreeMap::new(),
        }
    }

    /// The user of the admin token: in `system:masters`.
    pub fn admin() -> UserInfo {
        UserInfo {
            name: ADMIN_USER.into(),
            uid: String::new(),
            groups: vec![MASTERS.into(), AUTHENTICATED.into()],
            extra: BTreeMap::new(),
        }
    }
}

/// What a request asks to do (upstream's `authorizer.Attributes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// Who asks.
    pub user: UserInfo,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, or for
    /// a non-resource request the lower-case HTTP method.
    pub verb: String,
    /// True for requests about an API resource, false for paths like `/version` or `/apis`.
    pub resource_request: bool,
    /// API group (`""` for the core group).
    pub api_group: String,
    /// API version.
    pub api_version: String,
    /// Resource (plural), e.g. `pods`.
    pub resource: String,
    /// Subresource, e.g. `status`, `log`; empty when none.
    pub subresource: String,
    /// Namespace, empty for cluster-scoped requests.
    pub namespace: String,
    /// Object name, empty for collection requests.
    pub name: String,
    /// Request path (what non-resource rules match).
    pub path: String,
}

/// The verb upstream's request-info resolver gives a resource request.
pub fn resource_verb(method: &Method, has_name: bool, watch: bool) -> &'static str {
    match (method.as_str(), has_name) {
        ("GET" | "HEAD", _) if watch => "watch",
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

/// Authenticates a request, as kube-apiserver's union of authenticators: a verified client
/// certificate (its user is in the request's extensions, put there per connection), then the
/// bearer token (the admin token, then ServiceAccount tokens). `Ok(None)` when the request
/// carries no credentials (anonymous), 401 when the credentials it carries are not valid.
pub async fn authenticate(
    server: &ApiServer,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<Option<UserInfo>, ApiError> {
    if let Some(x509::ClientCertUser(user)) = extensions.get::<x509::ClientCertUser>() {
        return Ok(Some(user.clone()));
    }
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let Some(token) = v.strip_prefix("Bearer ").map(str::trim) else {
        return Err(ApiError::unauthorized());
    };
    match server
        .authenticate_token(token, &server.api_audiences())
        .await
    {
        Ok(user) => Ok(Some(user)),
        Err(e) => {
            tracing::debug!("a bearer token was refused: {e}");
            Err(ApiError::unauthorized())
        }
    }
}

impl ApiServer {
    /// Whether `token` is the admin token.
    pub(crate) fn is_admin_token(&self, token: &str) -> bool {
        constant_time_eq(token.as_bytes(), self.token.as_bytes())
    }

    /// The user of a bearer token valid for `audiences` (the admin token is valid for the API
    /// server's own audiences only).
    pub(crate) async fn authenticate_token(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<UserInfo, tokens::TokenError> {
        if self.is_admin_token(token) {
            if audiences.iter().any(|a| self.api_audiences().contains(a)) {
                return Ok(UserInfo::admin());
            }
            return Err(tokens::TokenError::Audience {
                token: self.api_audiences(),
                target: audiences.to_vec(),
            });
        }
        if let Some(user) = self.authenticate_bootstrap_token(token).await {
            return user;
        }
        self.authenticate_service_account(token, audiences).await
    }
}

/// Decides whether `attrs` is allowed: `Err` is the 403 to send.
///
/// The authorizers run in upstream's order: `system:masters` (the privileged group), the Node
/// authorizer, RBAC.
pub fn authorize(server: &ApiServer, attrs: &Attributes) -> Result<(), ApiError> {
    decide(server, attrs)
        .map(|_| ())
        .map_err(|reason| forbidden(attrs, &reason))
}

/// The decision on `attrs`: `Ok(reason)` allows, `Err(reason)` denies (reasons of the
/// authorizers that had no opinion, joined as upstream's union authorizer joins them).
pub fn decide(server: &ApiServer, attrs: &Attributes) -> Result<String, String> {
    if attrs.user.groups.iter().any(|g| g == MASTERS) {
        return Ok(String::new());
    }
    server.authz.read(|st| {
        let mut reasons = Vec::new();
        if let Some(node) = node::node_of(&attrs.user) {
            match node::authorize(st, node, attrs) {
                Ok(()) => return Ok(String::new()),
                Err(r) if !r.is_empty() => reasons.push(r),
                Err(_) => {}
            }
        }
        match rbac::allows(st, attrs) {
            Some(reason) => Ok(reason),
            None => Err(reasons.join(", ")),
        }
    })
}

/// Upstream's 403 for a denied request, e.g. `pods is forbidden: User "x" cannot list
/// resource "pods" in API group "" in the namespace "default"`, with `reason` appended.
pub fn forbidden(attrs: &Attributes, reason: &str) -> ApiError {
    let user = &attrs.user.name;
    let mut msg = if !attrs.resource_request {
        format!(
            "forbidden: User \"{user}\" cannot {} path \"{}\"",
            attrs.verb, attrs.path
        )
    } else {
        let resource = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        let qualified = ordo_api::status::qualified(&attrs.resource, &attrs.api_group);
        let what = if attrs.name.is_empty() {
            qualified
        } else {
            format!("{qualified} \"{}\"", attrs.name)
        };
        let scope = if attrs.namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{}\"", attrs.namespace)
        };
        format!(
            "{what} is forbidden: User \"{user}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
            attrs.verb, attrs.api_group
        )
    };
    if !reason.is_empty() {
        msg.push_str(": ");
        msg.push_str(reason);
    }
    ApiError::forbidden(msg)
}

/// Compares two byte strings in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(verb: &str, resource: &str, ns: &str, name: &str) -> Attributes {
        Attributes {
            user: UserInfo {
                name: "system:serviceaccount:default:app".into(),
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
    fn forbidden_texts_are_upstreams() {
        assert_eq!(
            forbidden(&attrs("list", "pods", "default", ""), "").message,
            "pods is forbidden: User \"system:serviceaccount:default:app\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        );
        let mut a = attrs("get", "nodes", "", "n1");
        a.user.name = "bob".into();
        assert_eq!(
            forbidden(&a, "").message,
            "nodes \"n1\" is forbidden: User \"bob\" cannot get resource \"nodes\" in API group \"\" at the cluster scope"
        );
        let mut a = attrs("get", "statefulsets", "ns", "web");
        a.api_group = "apps".into();
        a.subresource = "scale".into();
        assert_eq!(
            forbidden(&a, "").message,
            "statefulsets.apps \"web\" is forbidden: User \"system:serviceaccount:default:app\" cannot get resource \"statefulsets/scale\" in API group \"apps\" in the namespace \"ns\""
        );
        let a = Attributes {
            user: UserInfo {
                name: "system:anonymous".into(),
                ..Default::default()
            },
            verb: "get".into(),
            path: "/apis".into(),
            ..Default::default()
        };
        assert_eq!(
            forbidden(&a, "").message,
            "forbidden: User \"system:anonymous\" cannot get path \"/apis\""
        );
    }

    #[test]
    fn verbs() {
        assert_eq!(resource_verb(&Method::GET, false, true), "watch");
        assert_eq!(resource_verb(&Method::GET, true, false), "get");
        assert_eq!(
            resource_verb(&Method::DELETE, false, false),
            "deletecollection"
        );
    }
}
