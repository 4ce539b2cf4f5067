//! ServiceAccount tokens as kube-apiserver signs them: JWTs with the bound claims
//! (`kubernetes.io` {namespace, serviceaccount, pod, node}) or, for legacy token Secrets, the
//! legacy claims, signed with the service account key (ES256, a P-256 key generated at first
//! start and kept as `DIR/pki/sa.key`), and the OIDC discovery documents that publish the key.
//!
//! This module is pure: signing, signature and time checks. Whether the ServiceAccount, pod,
//! node or Secret a token names still exists is checked by `serviceaccount.rs`.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The issuer of bound tokens (kube-apiserver's `--service-account-issuer` as kubeadm sets it).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// The issuer of legacy (Secret-based) tokens.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";
/// Clock skew tolerated on `exp` and `nbf` (go-jose's `DefaultLeeway`).
pub const LEEWAY_SECONDS: i64 = 60;

/// Why a token is not a valid ServiceAccount token; the texts are upstream's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not a JWT of one of our issuers: another authenticator may know it.
    NotOurs,
    /// The signature does not verify with the service account key.
    BadSignature,
    /// `exp` is past.
    Expired,
    /// `nbf` or `iat` is in the future.
    NotYetValid,
    /// None of the token's audiences is one the server accepts.
    Audience {
        /// The token's audiences.
        token: Vec<String>,
        /// The audiences accepted.
        target: Vec<String>,
    },
    /// The claims are malformed or a bound object is gone or was replaced.
    Invalid(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::NotOurs => f.write_str("not a service account token"),
            TokenError::BadSignature => f.write_str("invalid signature"),
            TokenError::Expired => f.write_str("service account token has expired"),
            TokenError::NotYetValid => f.write_str("service account token is not valid yet"),
            TokenError::Audience { token, target } => write!(
                f,
                "token audiences {} is invalid for the target audiences {}",
                go_list(token),
                go_list(target)
            ),
            TokenError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TokenError {}

/// A string list as Go's `%q` prints a `[]string`: `["a" "b"]`.
fn go_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(" "))
}

/// A reference to an object in the `kubernetes.io` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ref {
    /// Object name.
    pub name: String,
    /// Object uid.
    #[serde(default)]
    pub uid: String,
}

/// The private `kubernetes.io` claim of bound tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesClaim {
    /// The ServiceAccount's namespace.
    pub namespace: String,
    /// The ServiceAccount.
    pub serviceaccount: Ref,
    /// The pod the token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Ref>,
    /// The Secret the token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Ref>,
    /// The node the token is bound to, or the node of its pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<Ref>,
    /// Seconds since the epoch after which the kubelet-requested, extended token is stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnafter: Option<i64>,
}

/// The claims of a ServiceAccount token, bound or legacy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// `system:serviceaccount:NS:NAME`.
    pub sub: String,
    /// Audiences (bound tokens only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch (bound tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Unique id of the token (the credential id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Bound tokens: what the token is bound to.
    #[serde(
        rename = "kubernetes.io",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kubernetes: Option<KubernetesClaim>,
    /// Legacy tokens: the namespace.
    #[serde(
        rename = "kubernetes.io/serviceaccount/namespace",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub legacy_namespace: Option<String>,
    /// Legacy tokens: the Secret holding the token.
    #[serde(
        rename = "kubernetes.io/serviceaccount/secret.name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub legacy_secret_name: Option<String>,
    /// Legacy tokens: the ServiceAccount's name.
    #[serde(
        rename = "kubernetes.io/serviceaccount/service-account.name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub legacy_sa_name: Option<String>,
    /// Legacy tokens: the ServiceAccount's uid.
    #[serde(
        rename = "kubernetes.io/serviceaccount/service-account.uid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub legacy_sa_uid: Option<String>,
}

impl Claims {
    /// The legacy claims of a token Secret (`legacy.go`'s `LegacyClaims`).
    pub fn legacy(ns: &str, sa: &str, sa_uid: &str, secret: &str) -> Claims {
        Claims {
            iss: LEGACY_ISSUER.into(),
            sub: format!("system:serviceaccount:{ns}:{sa}"),
            legacy_namespace: Some(ns.into()),
            legacy_secret_name: Some(secret.into()),
            legacy_sa_name: Some(sa.into()),
            legacy_sa_uid: Some(sa_uid.into()),
            ..Default::default()
        }
    }

    /// Whether these are the claims of a legacy token.
    pub fn is_legacy(&self) -> bool {
        self.iss == LEGACY_ISSUER
    }

    /// Checks `exp`, `nbf` and `iat` against `now` with [`LEEWAY_SECONDS`], then that one of
    /// the token's audiences is in `audiences` (legacy tokens have neither times nor audiences).
    pub fn validate(&self, now: i64, audiences: &[String]) -> Result<(), TokenError> {
        if self.is_legacy() {
            return Ok(());
        }
        let Some(exp) = self.exp else {
            return Err(TokenError::Invalid(
                "service account token has no expiry".into(),
            ));
        };
        if now > exp + LEEWAY_SECONDS {
            return Err(TokenError::Expired);
        }
        if self.nbf.is_some_and(|n| now + LEEWAY_SECONDS < n)
            || self.iat.is_some_and(|i| now + LEEWAY_SECONDS < i)
        {
            return Err(TokenError::NotYetValid);
        }
        if !self.aud.iter().any(|a| audiences.contains(a)) {
            return Err(TokenError::Audience {
                token: self.aud.clone(),
                target: audiences.to_vec(),
            });
        }
        Ok(())
    }
}

/// The service account signing key.
pub struct Signer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    x: String,
    y: String,
}

impl Signer {
    /// The signer of a PKCS#8 PEM P-256 key (as `rcgen::KeyPair::serialize_pem` writes it).
    pub fn from_pem(pem: &str) -> anyhow::Result<Signer> {
        use rcgen::PublicKeyData;
        let key = rcgen::KeyPair::from_pem(pem)?;
        anyhow::ensure!(
            key.algorithm() == &rcgen::PKCS_ECDSA_P256_SHA256,
            "the service account key must be an ECDSA P-256 key"
        );
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let point = key.public_key_raw();
        anyhow::ensure!(
            point.len() == 65 && point[0] == 4,
            "unexpected P-256 public key encoding"
        );
        let (x, y) = (b64.encode(&point[1..33]), b64.encode(&point[33..]));
        let digest = ring::digest::digest(&ring::digest::SHA256, &key.subject_public_key_info());
        Ok(Signer {
            encoding: EncodingKey::from_ec_der(&key.serialize_der()),
            decoding: DecodingKey::from_ec_components(&x, &y)?,
            kid: b64.encode(digest.as_ref()),
            x,
            y,
        })
    }

    /// A new P-256 key as PKCS#8 PEM.
    pub fn generate_pem() -> anyhow::Result<String> {
        Ok(rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?.serialize_pem())
    }

    /// The key id (base64url SHA-256 of the public key's DER, as upstream computes it).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` (header `{"alg":"ES256","kid":...}`).
    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = None;
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signing with a valid key")
    }

    /// The claims of `token` if it is a JWT of one of our issuers with a valid signature; times,
    /// audiences and bound objects are not checked here.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(TokenError::NotOurs);
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = b64
            .decode(parts[1].trim_end_matches('='))
            .map_err(|_| TokenError::NotOurs)?;
        let unverified: Claims =
            serde_json::from_slice(&payload).map_err(|_| TokenError::NotOurs)?;
        if unverified.iss != ISSUER && unverified.iss != LEGACY_ISSUER {
            return Err(TokenError::NotOurs);
        }
        let mut v = Validation::new(Algorithm::ES256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Invalid(format!("invalid token: {e}")),
            })
    }

    /// `/openid/v1/jwks`: the public key as a JSON Web Key Set.
    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "use": "sig",
            "kty": "EC",
            "kid": self.kid,
            "crv": "P-256",
            "alg": "ES256",
            "x": self.x,
            "y": self.y,
        }]})
    }
}

/// `/.well-known/openid-configuration` as kube-apiserver serves it; the key set is at
/// `https://<external address>/openid/v1/jwks`.
pub fn openid_configuration(external: &str) -> Value {
    json!({
        "issuer": ISSUER,
        "jwks_uri": format!("https://{external}/openid/v1/jwks"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    })
}

/// Splits `system:serviceaccount:NS:NAME` into (NS, NAME).
pub fn split_username(sub: &str) -> Option<(&str, &str)> {
    let rest = sub.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    (!ns.is_empty() && !name.is_empty() && !name.contains(':')).then_some((ns, name))
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
