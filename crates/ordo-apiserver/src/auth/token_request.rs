//! `POST serviceaccounts/NAME/token` (TokenRequest, what `kubectl create token` and the kubelet
//! call) and the legacy token Secrets upstream's tokens controller fills in.

use super::tokens::{Claims, KubernetesClaim, Ref, ISSUER};
use crate::ApiServer;
use ordo_api::status::{ApiError, Cause};
use serde_json::{json, Value};

/// Shortest validity a TokenRequest may ask for (upstream's `MinTokenAgeSec`).
pub const MIN_EXPIRATION_SECONDS: i64 = 10 * 60;
/// Longest validity a TokenRequest may ask for.
pub const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
/// Validity when the request says none.
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 60 * 60;
/// The validity the kubelet's default projection asks for; such pod-bound tokens for the API
/// server's audiences are extended to [`EXTENDED_EXPIRATION_SECONDS`] with a `warnafter`.
pub const WARN_ONLY_EXPIRATION_SECONDS: i64 = 60 * 60 + 7;
/// The extended validity of kubelet default tokens (one year).
pub const EXTENDED_EXPIRATION_SECONDS: i64 = 24 * 365 * 60 * 60;

/// The type of legacy token Secrets.
pub const SA_TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";
/// The annotation naming a token Secret's ServiceAccount.
pub const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
/// The annotation holding a token Secret's ServiceAccount uid.
pub const SA_UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";

/// Static validation of a TokenRequest (upstream's `ValidateTokenRequest`).
pub fn validate_expiration(seconds: i64) -> Vec<Cause> {
    let field = "spec.expirationSeconds";
    if seconds < MIN_EXPIRATION_SECONDS {
        vec![Cause::invalid(
            field,
            seconds,
            "may not specify a duration less than 10 minutes",
        )]
    } else if seconds > MAX_EXPIRATION_SECONDS {
        vec![Cause::invalid(
            field,
            seconds,
            "may not specify a duration larger than 2^32 seconds",
        )]
    } else {
        Vec::new()
    }
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn uid(v: &Value) -> String {
    v.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn text<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

impl ApiServer {
    async fn must_get(
        &self,
        plural: &str,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let info = ordo_api::resources::find("", "v1", plural).expect("core resource is served");
        Ok(self.read(info, ns, name).await?.0)
    }

    /// `POST /api/v1/namespaces/NS/serviceaccounts/NAME/token`.
    pub(crate) async fn create_token(
        &self,
        ns: &str,
        sa_name: &str,
        mut body: Value,
    ) -> Result<Value, ApiError> {
        // The status is the server's to fill (kubectl sends it empty).
        if let Some(o) = body.as_object_mut() {
            o.remove("status");
        }
        let mut req: k8s_openapi::api::authentication::v1::TokenRequest =
            serde_json::from_value(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "TokenRequest in version \"v1\" cannot be handled as a TokenRequest: {e}"
                ))
            })?;
        let sa = self.must_get("serviceaccounts", Some(ns), sa_name).await?;
        if req.spec.audiences.is_empty() {
            req.spec.audiences = self.api_audiences();
        }
        let requested = req
            .spec
            .expiration_seconds
            .unwrap_or(DEFAULT_EXPIRATION_SECONDS);
        req.spec.expiration_seconds = Some(requested);
        let causes = validate_expiration(requested);
        if !causes.is_empty() {
            return Err(ApiError::invalid(
                "authentication.k8s.io",
                "TokenRequest",
                "",
                &causes,
            ));
        }
        let mut claim = KubernetesClaim {
            namespace: ns.to_string(),
            serviceaccount: Ref {
                name: sa_name.to_string(),
                uid: uid(&sa),
            },
            ..Default::default()
        };
        if let Some(r) = &req.spec.bound_object_ref {
            let kind = r.kind.as_deref().unwrap_or("");
            let api_version = r.api_version.as_deref().unwrap_or("");
            let name = r.name.as_deref().unwrap_or("");
            let core = api_version.is_empty() || api_version == "v1";
            let found = match (core, kind) {
                (true, "Pod") => {
                    let pod = self.must_get("pods", Some(ns), name).await?;
                    if text(&pod, "/spec/serviceAccountName") != sa_name {
                        return Err(ApiError::bad_request(format!("cannot bind token for serviceaccount \"{sa_name}\" to pod running with different serviceaccount name.")));
                    }
                    let node = text(&pod, "/spec/nodeName");
                    if !node.is_empty() {
                        let node_uid = match self.must_get("nodes", None, node).await {
                            Ok(n) => uid(&n),
                            Err(e) if e.code == 404 => String::new(),
                            Err(e) => return Err(e),
                        };
                        claim.node = Some(Ref {
                            name: node.to_string(),
                            uid: node_uid,
                        });
                    }
                    claim.pod = Some(Ref {
                        name: name.to_string(),
                        uid: uid(&pod),
                    });
                    uid(&pod)
                }
                (true, "Node") => {
                    let node = self.must_get("nodes", None, name).await?;
                    claim.node = Some(Ref {
                        name: name.to_string(),
                        uid: uid(&node),
                    });
                    uid(&node)
                }
                (true, "Secret") => {
                    let secret = self.must_get("secrets", Some(ns), name).await?;
                    claim.secret = Some(Ref {
                        name: name.to_string(),
                        uid: uid(&secret),
                    });
                    uid(&secret)
                }
                _ => {
                    let (group, version) = match api_version.split_once('/') {
                        Some((g, v)) => (g, v),
                        None => ("", api_version),
                    };
                    return Err(ApiError::bad_request(format!(
                        "cannot bind token to object of type {group}/{version}, Kind={kind}"
                    )));
                }
            };
            let want = r.uid.as_deref().unwrap_or("");
            if !want.is_empty() && want != found {
                return Err(ApiError::conflict("", kind, name, &format!("the UID in the bound object reference ({want}) does not match the UID in record. The object might have been deleted and then recreated")));
            }
        }
        let now = chrono::Utc::now().timestamp();
        let mut exp = requested;
        if claim.pod.is_some()
            && requested == WARN_ONLY_EXPIRATION_SECONDS
            && req
                .spec
                .audiences
                .iter()
                .all(|a| self.api_audiences().contains(a))
        {
            claim.warnafter = Some(now + requested);
            exp = EXTENDED_EXPIRATION_SECONDS;
        }
        let claims = Claims {
            iss: ISSUER.into(),
            sub: format!("system:serviceaccount:{ns}:{sa_name}"),
            aud: req.spec.audiences.clone(),
            exp: Some(now + exp),
            iat: Some(now),
            nbf: Some(now),
            jti: Some(uuid::Uuid::new_v4().to_string()),
            kubernetes: Some(claim),
            ..Default::default()
        };
        let token = self.signer.sign(&claims);
        let mut out = serde_json::to_value(&req).unwrap_or_else(|_| json!({}));
        out["kind"] = json!("TokenRequest");
        out["apiVersion"] = json!("authentication.k8s.io/v1");
        let meta = crate::meta::meta_mut(&mut out);
        meta.entry("name").or_insert(json!(sa_name));
        meta.entry("namespace").or_insert(json!(ns));
        meta.insert("creationTimestamp".into(), json!(rfc3339(now)));
        out["status"] = json!({"token": token, "expirationTimestamp": rfc3339(now + requested)});
        tracing::debug!(namespace = ns, serviceaccount = sa_name, "issued a token");
        Ok(out)
    }

    /// Upstream's tokens controller, at creation: a `kubernetes.io/service-account-token` Secret
    /// naming an existing ServiceAccount gets the ServiceAccount's uid annotation and `token`,
    /// `ca.crt` and `namespace` data (a legacy token that does not expire). A Secret naming no
    /// existing ServiceAccount is stored unfilled.
    pub(crate) async fn fill_legacy_token_secret(
        &self,
        ns: &str,
        secret: &mut Value,
    ) -> Result<(), ApiError> {
        if text(secret, "/type") != SA_TOKEN_SECRET_TYPE {
            return Ok(());
        }
        let sa_name = secret
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(SA_NAME_ANNOTATION))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if sa_name.is_empty() {
            return Ok(());
        }
        let sa = match self.must_get("serviceaccounts", Some(ns), &sa_name).await {
            Ok(sa) => sa,
            Err(e) if e.code == 404 => return Ok(()),
            Err(e) => return Err(e),
        };
        let sa_uid = uid(&sa);
        let want_uid = secret
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(SA_UID_ANNOTATION))
            .and_then(Value::as_str)
            .unwrap_or("");
        if !want_uid.is_empty() && want_uid != sa_uid {
            return Ok(());
        }
        let name = text(secret, "/metadata/name").to_string();
        let token = self
            .signer
            .sign(&Claims::legacy(ns, &sa_name, &sa_uid, &name));
        use base64::Engine;
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        secret["metadata"]["annotations"][SA_UID_ANNOTATION] = json!(sa_uid);
        if !secret.get("data").is_some_and(Value::is_object) {
            secret["data"] = json!({});
        }
        let data = &mut secret["data"];
        data["token"] = json!(b64(token.as_bytes()));
        data["ca.crt"] = json!(b64(self.ca_cert_pem.as_bytes()));
        data["namespace"] = json!(b64(ns.as_bytes()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_limits_are_upstreams() {
        assert!(validate_expiration(600).is_empty());
        assert!(validate_expiration(MAX_EXPIRATION_SECONDS).is_empty());
        let e = ApiError::invalid(
            "authentication.k8s.io",
            "TokenRequest",
            "",
            &validate_expiration(60),
        );
        assert_eq!(
            e.message,
            "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"
        );
        let c = validate_expiration(MAX_EXPIRATION_SECONDS + 1);
        assert_eq!(
            c[0].message,
            "Invalid value: 4294967297: may not specify a duration larger than 2^32 seconds"
        );
    }
}
