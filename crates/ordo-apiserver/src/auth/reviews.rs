//! `authentication.k8s.io/v1` TokenReview (is this token valid, and whose is it?) and
//! SelfSubjectReview (who am I? — `kubectl auth whoami`).

use super::tokens::TokenError;
use super::UserInfo;
use crate::ApiServer;
use ordo_api::status::ApiError;
use serde_json::{json, Map, Value};

/// A user as the `authentication.k8s.io/v1` `UserInfo` type writes it.
pub fn user_info_json(u: &UserInfo) -> Value {
    let mut v = Map::new();
    v.insert("username".into(), json!(u.name));
    if !u.uid.is_empty() {
        v.insert("uid".into(), json!(u.uid));
    }
    if !u.groups.is_empty() {
        v.insert("groups".into(), json!(u.groups));
    }
    if !u.extra.is_empty() {
        v.insert("extra".into(), json!(u.extra));
    }
    Value::Object(v)
}

fn created_now(mut obj: Value, kind: &str) -> Value {
    obj["kind"] = json!(kind);
    obj["apiVersion"] = json!("authentication.k8s.io/v1");
    let meta = crate::meta::meta_mut(&mut obj);
    meta.insert(
        "creationTimestamp".into(),
        json!(crate::meta::now_rfc3339()),
    );
    obj
}

impl ApiServer {
    /// `POST /apis/authentication.k8s.io/v1/tokenreviews`.
    pub(crate) async fn token_review(&self, body: Value) -> Result<Value, ApiError> {
        let review: k8s_openapi::api::authentication::v1::TokenReview =
            serde_json::from_value(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "TokenReview in version \"v1\" cannot be handled as a TokenReview: {e}"
                ))
            })?;
        let token = review.spec.token.clone().unwrap_or_default();
        if token.is_empty() {
            return Err(ApiError::bad_request(
                "token is required for TokenReview in authentication",
            ));
        }
        let requested = review.spec.audiences.clone().unwrap_or_default();
        let audiences = if requested.is_empty() {
            self.api_audiences()
        } else {
            requested.clone()
        };
        let mut out = serde_json::to_value(&review).unwrap_or_else(|_| json!({}));
        out["status"] = match self.authenticate_token(&token, &audiences).await {
            Ok(user) => {
                // The audiences the token is valid for among those asked.
                let auds: Vec<String> = if self.is_admin_token(&token) {
                    audiences.clone()
                } else {
                    self.signer
                        .verify(&token)
                        .map(|c| {
                            if c.is_legacy() {
                                audiences.clone()
                            } else {
                                c.aud
                                    .into_iter()
                                    .filter(|a| audiences.contains(a))
                                    .collect()
                            }
                        })
                        .unwrap_or_default()
                };
                json!({"authenticated": true, "user": user_info_json(&user), "audiences": auds})
            }
            Err(e) => {
                let msg = match e {
                    TokenError::NotOurs => {
                        "[invalid bearer token, Token has been invalidated]".to_string()
                    }
                    e => format!("[invalid bearer token, {e}]"),
                };
                json!({"user": {}, "error": msg})
            }
        };
        Ok(created_now(out, "TokenReview"))
    }

    /// `POST /apis/authentication.k8s.io/v1/selfsubjectreviews`: the requesting user.
    pub(crate) fn self_subject_review(&self, user: &UserInfo) -> Value {
        created_now(
            json!({"metadata": {}, "status": {"userInfo": user_info_json(user)}}),
            "SelfSubjectReview",
        )
    }
}
