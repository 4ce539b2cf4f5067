//! The ServiceAccount token authenticator (kube-apiserver's `serviceaccount` JWT authenticator
//! with its validators): the signature, the times and audiences, then that the ServiceAccount,
//! and the pod, Secret or node the token is bound to, still exist with the uids of the claims.
//! Legacy tokens must still be in their Secret.

use super::tokens::{split_username, Claims, Ref, TokenError};
use super::{UserInfo, AUTHENTICATED};
use crate::ApiServer;
use ordo_api::resources::{self, ResourceInfo};
use serde_json::Value;
use std::collections::BTreeMap;

/// The extra key naming the pod a token is bound to.
pub const EXTRA_POD_NAME: &str = "authentication.kubernetes.io/pod-name";
/// The extra key holding the uid of the pod a token is bound to.
pub const EXTRA_POD_UID: &str = "authentication.kubernetes.io/pod-uid";
/// The extra key naming the node of the token.
pub const EXTRA_NODE_NAME: &str = "authentication.kubernetes.io/node-name";
/// The extra key holding the uid of the node of the token.
pub const EXTRA_NODE_UID: &str = "authentication.kubernetes.io/node-uid";
/// The extra key identifying the credential (`JTI=<jti>`).
pub const EXTRA_CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";

/// The user of a ServiceAccount (`system:serviceaccount:NS:NAME`, upstream's groups).
pub fn service_account_user(ns: &str, name: &str, uid: &str) -> UserInfo {
    UserInfo {
        name: format!("system:serviceaccount:{ns}:{name}"),
        uid: uid.to_string(),
        groups: vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{ns}"),
            AUTHENTICATED.into(),
        ],
        extra: BTreeMap::new(),
    }
}

fn info(plural: &str) -> &'static ResourceInfo {
    resources::find("", "v1", plural).expect("core resource is served")
}

fn uid_of(v: &Value) -> &str {
    v.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn deleted_before_leeway(v: &Value, now: i64) -> bool {
    v.pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t.timestamp() < now - super::tokens::LEEWAY_SECONDS)
}

impl ApiServer {
    /// The API server's audiences: its issuer (upstream's default `--api-audiences`).
    pub(crate) fn api_audiences(&self) -> Vec<String> {
        vec![super::tokens::ISSUER.to_string()]
    }

    /// An object of the core group, `None` when it does not exist.
    pub(crate) async fn core_object(
        &self,
        plural: &str,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, TokenError> {
        match self.read(info(plural), ns, name).await {
            Ok((v, _)) => Ok(Some(v)),
            Err(e) if e.code == 404 => Ok(None),
            Err(e) => Err(TokenError::Invalid(e.message)),
        }
    }

    /// Authenticates a ServiceAccount token for `audiences`: `Err(NotOurs)` when the token is
    /// not a ServiceAccount JWT of this server, another error when it is but is not valid.
    pub(crate) async fn authenticate_service_account(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<UserInfo, TokenError> {
        let claims = self.signer.verify(token)?;
        let now = chrono::Utc::now().timestamp();
        claims.validate(now, audiences)?;
        if claims.is_legacy() {
            return self.validate_legacy(token, &claims).await;
        }
        let k = claims.kubernetes.as_ref().ok_or_else(|| {
            TokenError::Invalid("service account token has no kubernetes.io claim".into())
        })?;
        let ns = k.namespace.as_str();
        let sa_name = k.serviceaccount.name.as_str();
        if split_username(&claims.sub) != Some((ns, sa_name)) {
            return Err(TokenError::Invalid(
                "service account token claims do not match its subject".into(),
            ));
        }
        self.check_service_account(ns, sa_name, &k.serviceaccount.uid, now)
            .await?;
        let mut user = service_account_user(ns, sa_name, &k.serviceaccount.uid);
        if let Some(s) = &k.secret {
            self.check_bound("secrets", Some(ns), s, "secret", now)
                .await?;
        }
        if let Some(p) = &k.pod {
            self.check_bound("pods", Some(ns), p, "pod", now).await?;
            user.extra
                .insert(EXTRA_POD_NAME.into(), vec![p.name.clone()]);
            user.extra.insert(EXTRA_POD_UID.into(), vec![p.uid.clone()]);
        }
        if let Some(n) = &k.node {
            // A token bound to a node directly must have it still; the node of a bound pod is
            // only reported.
            if k.pod.is_none() {
                self.check_bound("nodes", None, n, "node", now).await?;
            }
            user.extra
                .insert(EXTRA_NODE_NAME.into(), vec![n.name.clone()]);
            if !n.uid.is_empty() {
                user.extra
                    .insert(EXTRA_NODE_UID.into(), vec![n.uid.clone()]);
            }
        }
        if let Some(jti) = claims.jti.as_deref().filter(|j| !j.is_empty()) {
            user.extra
                .insert(EXTRA_CREDENTIAL_ID.into(), vec![format!("JTI={jti}")]);
        }
        Ok(user)
    }

    /// The ServiceAccount of a token must exist, not be deleted for longer than the leeway,
    /// and have the uid of the claim.
    async fn check_service_account(
        &self,
        ns: &str,
        name: &str,
        uid: &str,
        now: i64,
    ) -> Result<(), TokenError> {
        let sa = self
            .core_object("serviceaccounts", Some(ns), name)
            .await?
            .ok_or_else(|| TokenError::Invalid(format!("serviceaccounts \"{name}\" not found")))?;
        if deleted_before_leeway(&sa, now) {
            return Err(TokenError::Invalid(format!(
                "service account {ns}/{name} has been deleted"
            )));
        }
        if uid_of(&sa) != uid {
            return Err(TokenError::Invalid(format!(
                "service account UID ({}) does not match claim ({uid})",
                uid_of(&sa)
            )));
        }
        Ok(())
    }

    /// The object a token is bound to (`what`: `secret`, `pod`, `node`) must exist, not be
    /// deleted for longer than the leeway, and have the uid of the claim.
    async fn check_bound(
        &self,
        plural: &str,
        ns: Option<&str>,
        r: &Ref,
        what: &str,
        now: i64,
    ) -> Result<(), TokenError> {
        let invalidated =
            || TokenError::Invalid("service account token has been invalidated".into());
        let obj = self
            .core_object(plural, ns, &r.name)
            .await?
            .ok_or_else(invalidated)?;
        if deleted_before_leeway(&obj, now) {
            return Err(invalidated());
        }
        if !r.uid.is_empty() && uid_of(&obj) != r.uid {
            return Err(TokenError::Invalid(format!(
                "{what} UID ({}) does not match service account {what} ref claim ({})",
                uid_of(&obj),
                r.uid
            )));
        }
        Ok(())
    }

    /// A legacy token is valid while its Secret holds it and its ServiceAccount is the same.
    async fn validate_legacy(&self, token: &str, c: &Claims) -> Result<UserInfo, TokenError> {
        let (Some(ns), Some(secret_name), Some(sa_name), Some(sa_uid)) = (
            c.legacy_namespace.as_deref(),
            c.legacy_secret_name.as_deref(),
            c.legacy_sa_name.as_deref(),
            c.legacy_sa_uid.as_deref(),
        ) else {
            return Err(TokenError::Invalid(
                "service account token is missing claims".into(),
            ));
        };
        let secret = self
            .core_object("secrets", Some(ns), secret_name)
            .await?
            .ok_or_else(|| TokenError::Invalid(format!("secrets \"{secret_name}\" not found")))?;
        if secret.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(TokenError::Invalid(format!(
                "token {secret_name} is deleted and awaiting removal"
            )));
        }
        let stored = secret
            .pointer("/data/token")
            .and_then(Value::as_str)
            .and_then(|b| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(b).ok()
            })
            .unwrap_or_default();
        if stored != token.as_bytes() {
            return Err(TokenError::Invalid(format!(
                "token does not match secret {ns}/{secret_name}"
            )));
        }
        let now = chrono::Utc::now().timestamp();
        self.check_service_account(ns, sa_name, sa_uid, now).await?;
        Ok(service_account_user(ns, sa_name, sa_uid))
    }
}
