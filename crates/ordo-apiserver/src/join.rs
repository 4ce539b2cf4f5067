//! Joining nodes the way kubeadm does: a bootstrap token (a `bootstrap.kubernetes.io/token`
//! Secret in `kube-system`, upstream's bootstrap token authenticator), the `cluster-info`
//! ConfigMap in `kube-public` that an agent reads anonymously and checks against the CA
//! hash it was given, and the bindings that let the token's holder ask for a node client
//! certificate, which the certificate controllers approve and sign. The agent then talks as
//! `system:node:NAME` in `system:nodes`.

use crate::auth::tokens::TokenError;
use crate::auth::{UserInfo, AUTHENTICATED};
use crate::meta::Query;
use crate::router::Target;
use crate::ApiServer;
use anyhow::{Context, Result};
use ordo_api::resources::{self, ResourceInfo};
use serde_json::{json, Value};
use std::path::Path;

/// The type of bootstrap token Secrets.
pub const TOKEN_SECRET_TYPE: &str = "bootstrap.kubernetes.io/token";
/// The group of every bootstrap token's user.
pub const BOOTSTRAPPERS: &str = "system:bootstrappers";
/// The extra group of the token `ordo server` makes (kubeadm's is
/// `system:bootstrappers:kubeadm:default-node-token`).
pub const NODE_TOKEN_GROUP: &str = "system:bootstrappers:ordo:default-node-token";
/// The namespace and name of the ConfigMap joining agents read anonymously.
pub const CLUSTER_INFO: (&str, &str) = ("kube-public", "cluster-info");

/// A bootstrap token, `ID.SECRET` (`[a-z0-9]{6}.[a-z0-9]{16}`).
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// The public part, the Secret's name suffix.
    pub id: String,
    /// The secret part.
    pub secret: String,
}

impl std::fmt::Display for JoinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.id, self.secret)
    }
}

impl std::fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JoinToken({}.<redacted>)", self.id)
    }
}

fn token_chars(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl JoinToken {
    /// Parses `ID.SECRET`; `None` when the text is not a bootstrap token.
    pub fn parse(s: &str) -> Option<JoinToken> {
        let (id, secret) = s.split_once('.')?;
        (token_chars(id, 6) && token_chars(secret, 16)).then(|| JoinToken {
            id: id.into(),
            secret: secret.into(),
        })
    }

    /// A new random token.
    pub fn generate() -> JoinToken {
        use rand::Rng;
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rng();
        let mut pick = |n: usize| -> String {
            (0..n)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect()
        };
        JoinToken {
            id: pick(6),
            secret: pick(16),
        }
    }

    /// The token kept in `data_dir/pki/join-token`, made at the first start.
    pub fn load_or_create(data_dir: &Path) -> Result<JoinToken> {
        let path = data_dir.join("pki").join("join-token");
        if let Ok(text) = std::fs::read_to_string(&path) {
            return JoinToken::parse(text.trim()).with_context(|| {
                format!(
                    "{} does not hold a join token; delete it to make a new one",
                    path.display()
                )
            });
        }
        let token = JoinToken::generate();
        crate::pki::write_private(&path, &format!("{token}\n"))?;
        Ok(token)
    }

    /// The name of its Secret in `kube-system`.
    pub fn secret_name(&self) -> String {
        format!("bootstrap-token-{}", self.id)
    }
}

/// kubeadm's CA pin: `sha256:` and the hex SHA-256 of the CA certificate's
/// SubjectPublicKeyInfo.
pub fn ca_cert_hash(ca_cert_pem: &str) -> Result<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(ca_cert_pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("reading the CA certificate: {e}"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&pem.contents)
        .map_err(|e| anyhow::anyhow!("parsing the CA certificate: {e}"))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.tbs_certificate.subject_pki.raw);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("sha256:{hex}"))
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn data_str(secret: &Value, key: &str) -> Option<String> {
    use base64::Engine;
    let v = secret.pointer(&format!("/data/{key}"))?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(v).ok()?;
    String::from_utf8(bytes).ok()
}

/// Upstream's `bootstrapGroupPattern`.
fn valid_extra_group(g: &str) -> bool {
    let Some(rest) = g.strip_prefix("system:bootstrappers:") else {
        return false;
    };
    !rest.is_empty()
        && rest.len() <= 256
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'-')
        && rest
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The user of a bootstrap token held by `secret` (upstream
/// `plugin/pkg/auth/authenticator/token/bootstrap`): why not, when it is not valid.
pub(crate) fn user_of_secret(
    token: &JoinToken,
    secret: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<UserInfo, String> {
    if secret.pointer("/metadata/deletionTimestamp").is_some() {
        return Err(format!("secret {} is being deleted", token.secret_name()));
    }
    if secret.get("type").and_then(Value::as_str) != Some(TOKEN_SECRET_TYPE) {
        return Err(format!("secret {} has the wrong type", token.secret_name()));
    }
    let held = data_str(secret, "token-secret").unwrap_or_default();
    if !crate::auth::constant_time_eq(held.as_bytes(), token.secret.as_bytes()) {
        return Err("the token's secret does not match".into());
    }
    if data_str(secret, "token-id").as_deref() != Some(token.id.as_str()) {
        return Err("the token id does not match its secret".into());
    }
    if let Some(exp) = data_str(secret, "expiration") {
        match chrono::DateTime::parse_from_rfc3339(&exp) {
            Ok(t) if t < now => return Err(format!("token {} has expired", token.id)),
            Ok(_) => {}
            Err(_) => return Err(format!("token {} has a bad expiration", token.id)),
        }
    }
    if data_str(secret, "usage-bootstrap-authentication").as_deref() != Some("true") {
        return Err(format!("token {} is not for authentication", token.id));
    }
    let mut groups = vec![BOOTSTRAPPERS.to_string()];
    for g in data_str(secret, "auth-extra-groups")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        if !valid_extra_group(g) {
            return Err(format!(
                "token {} has an invalid extra group {g:?}",
                token.id
            ));
        }
        if !groups.iter().any(|have| have == g) {
            groups.push(g.to_string());
        }
    }
    groups.push(AUTHENTICATED.into());
    Ok(UserInfo {
        name: format!("system:bootstrap:{}", token.id),
        uid: String::new(),
        groups,
        extra: Default::default(),
    })
}

fn target(info: &'static ResourceInfo, ns: Option<&str>) -> Target {
    Target {
        info,
        ns: ns.map(str::to_string),
        name: None,
        sub: None,
    }
}

fn info(group: &str, plural: &str) -> &'static ResourceInfo {
    resources::find(group, "v1", plural).expect("a served resource")
}

impl ApiServer {
    /// The user of `token` when it is a bootstrap token: `None` when it is not one (another
    /// authenticator may know it).
    pub(crate) async fn authenticate_bootstrap_token(
        &self,
        token: &str,
    ) -> Option<Result<UserInfo, TokenError>> {
        let token = JoinToken::parse(token)?;
        let secret = match self
            .read(
                info("", "secrets"),
                Some("kube-system"),
                &token.secret_name(),
            )
            .await
        {
            Ok((v, _)) => v,
            Err(e) if e.code == 404 => {
                return Some(Err(TokenError::Invalid(format!(
                    "no bootstrap token secret {}",
                    token.secret_name()
                ))))
            }
            Err(e) => return Some(Err(TokenError::Invalid(e.message))),
        };
        Some(user_of_secret(&token, &secret, chrono::Utc::now()).map_err(TokenError::Invalid))
    }

    async fn create_unless_present(
        &self,
        info: &'static ResourceInfo,
        ns: Option<&str>,
        obj: Value,
    ) -> Result<()> {
        match self.create(&target(info, ns), obj, &Query::default()).await {
            Ok((_, v)) => {
                // The components starting next are authorized by what is created here.
                if info.group == "rbac.authorization.k8s.io" {
                    let name = v
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let rev = v
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .and_then(|r| r.parse().ok());
                    self.authz
                        .settle(info.plural, ns.unwrap_or(""), name, rev)
                        .await;
                }
                Ok(())
            }
            Err(e) if e.code == 409 => Ok(()),
            Err(e) => anyhow::bail!("creating a {}: {}", info.kind, e.message),
        }
    }

    /// Creates what joining needs: the token's Secret, `cluster-info` (kept pointing at
    /// `server_url` with this CA), its anonymous read, and the bootstrap bindings.
    pub async fn ensure_join(&self, token: &JoinToken, server_url: &str) -> Result<()> {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret", "type": TOKEN_SECRET_TYPE,
            "metadata": {"name": token.secret_name(), "namespace": "kube-system"},
            "data": {
                "description": b64("The join token of ordo server: ordo agent --join-token exchanges it for a node credential."),
                "token-id": b64(&token.id),
                "token-secret": b64(&token.secret),
                "usage-bootstrap-authentication": b64("true"),
                "usage-bootstrap-signing": b64("true"),
                "auth-extra-groups": b64(NODE_TOKEN_GROUP),
            }
        });
        self.create_unless_present(info("", "secrets"), Some("kube-system"), secret)
            .await?;
        self.ensure_cluster_info(server_url).await?;
        let rbac = "rbac.authorization.k8s.io";
        let role_ref =
            |kind: &str, name: &str| json!({"apiGroup": rbac, "kind": kind, "name": name});
        let (ns, name) = CLUSTER_INFO;
        self.create_unless_present(
            info(rbac, "roles"),
            Some(ns),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "ordo:bootstrap-signer-clusterinfo", "namespace": ns},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [name], "verbs": ["get"]}]
            }),
        )
        .await?;
        self.create_unless_present(
            info(rbac, "rolebindings"),
            Some(ns),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "ordo:bootstrap-signer-clusterinfo", "namespace": ns},
                "roleRef": role_ref("Role", "ordo:bootstrap-signer-clusterinfo"),
                "subjects": [{"apiGroup": rbac, "kind": "User", "name": "system:anonymous"}]
            }),
        )
        .await?;
        let bindings = [
            (
                "ordo:kubelet-bootstrap",
                "system:node-bootstrapper",
                NODE_TOKEN_GROUP,
            ),
            (
                "ordo:node-autoapprove-bootstrap",
                "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
                NODE_TOKEN_GROUP,
            ),
            (
                "ordo:node-autoapprove-certificate-rotation",
                "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
                crate::auth::node::NODES,
            ),
        ];
        let subject =
            |kind: &str, name: &str| json!({"apiGroup": rbac, "kind": kind, "name": name});
        let mut all: Vec<(&str, &str, Vec<Value>)> = bindings
            .iter()
            .map(|(b, r, g)| (*b, *r, vec![subject("Group", g)]))
            .collect();
        // ordo's own components (`ordo server` gives each a certificate of its own): the
        // controllers run in one process as the controller manager, with the rights of all
        // upstream's per-controller roles together; the service proxy of every node reads
        // what it translates and the NetworkPolicies it enforces.
        all.push((
            "ordo:kube-controller-manager",
            "cluster-admin",
            vec![subject("User", "system:kube-controller-manager")],
        ));
        all.push((
            "ordo:node-proxier",
            "system:node-proxier",
            vec![subject("Group", crate::auth::node::NODES)],
        ));
        all.push((
            "ordo:network-policy-reader",
            "ordo:network-policy-reader",
            vec![
                subject("User", "system:kube-proxy"),
                subject("Group", crate::auth::node::NODES),
            ],
        ));
        self.create_unless_present(
            info(rbac, "clusterroles"),
            None,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "ordo:network-policy-reader"},
                "rules": [
                    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["get", "list", "watch"]},
                    {"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}
                ]
            }),
        )
        .await?;
        for (binding, role, subjects) in all {
            self.create_unless_present(
                info(rbac, "clusterrolebindings"),
                None,
                json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": binding},
                    "roleRef": role_ref("ClusterRole", role),
                    "subjects": subjects
                }),
            )
            .await?;
        }
        Ok(())
    }

    /// `kube-public/cluster-info`: a kubeconfig with the server and the CA, no credentials.
    /// Fails when the store already holds a cluster whose CA (in `cluster-info`) is not this
    /// server's: a further server on a shared store (etcd) must start with a copy of the first
    /// one's `DATA/pki`, or it would replace the CA that agents pin and sign ServiceAccount
    /// tokens the others refuse.
    pub async fn check_cluster_ca(&self) -> Result<()> {
        let (ns, name) = CLUSTER_INFO;
        let theirs = match self.read(info("", "configmaps"), Some(ns), name).await {
            Ok((cm, _)) => cm
                .pointer("/data/kubeconfig")
                .and_then(Value::as_str)
                .and_then(|k| {
                    k.lines()
                        .find_map(|l| l.trim().strip_prefix("certificate-authority-data:"))
                        .map(|v| v.trim().to_string())
                }),
            Err(e) if e.code == 404 => None,
            Err(e) => anyhow::bail!("reading cluster-info: {}", e.message),
        };
        match theirs {
            Some(ca) if ca != b64(&self.ca_cert_pem) => anyhow::bail!(
                "the store holds a cluster with another CA: copy DATA/pki (ca.crt, ca.key, sa.key, token, join-token) of one of its servers into this server's data directory before starting it"
            ),
            _ => Ok(()),
        }
    }

    async fn ensure_cluster_info(&self, server_url: &str) -> Result<()> {
        let (ns, name) = CLUSTER_INFO;
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: {server_url}\n    certificate-authority-data: {}\ncontexts: null\ncurrent-context: \"\"\npreferences: {{}}\nusers: null\n",
            b64(&self.ca_cert_pem)
        );
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns},
            "data": {"kubeconfig": kubeconfig}
        });
        let cms = info("", "configmaps");
        match self.read(cms, Some(ns), name).await {
            Ok((old, _)) if old.pointer("/data/kubeconfig") == cm.pointer("/data/kubeconfig") => {
                Ok(())
            }
            Ok((old, rev)) => {
                let mut new = old.clone();
                new["data"] = cm["data"].clone();
                let t = Target {
                    name: Some(name.into()),
                    ..target(cms, Some(ns))
                };
                self.write_update(&t, &old, rev, new, &Query::default())
                    .await
                    .map_err(|e| anyhow::anyhow!("updating cluster-info: {}", e.message))?;
                Ok(())
            }
            Err(e) if e.code == 404 => self.create_unless_present(cms, Some(ns), cm).await,
            Err(e) => anyhow::bail!("reading cluster-info: {}", e.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(token: &JoinToken, extra: &[(&str, &str)]) -> Value {
        let mut data = serde_json::Map::new();
        data.insert("token-id".into(), json!(b64(&token.id)));
        data.insert("token-secret".into(), json!(b64(&token.secret)));
        data.insert("usage-bootstrap-authentication".into(), json!(b64("true")));
        data.insert("auth-extra-groups".into(), json!(b64(NODE_TOKEN_GROUP)));
        for (k, v) in extra {
            data.insert(k.to_string(), json!(b64(v)));
        }
        json!({"type": TOKEN_SECRET_TYPE, "metadata": {"name": token.secret_name()}, "data": data})
    }

    #[test]
    fn tokens_parse_as_upstream_formats_them() {
        let t = JoinToken::parse("abcdef.0123456789abcdef").unwrap();
        assert_eq!(
            (t.id.as_str(), t.secret_name().as_str()),
            ("abcdef", "bootstrap-token-abcdef")
        );
        for bad in [
            "abcdef",
            "ABCDEF.0123456789abcdef",
            "abcde.0123456789abcdef",
            "abcdef.0123456789abcde",
            "eyJhbGciOi.x.y",
        ] {
            assert!(JoinToken::parse(bad).is_none(), "{bad}");
        }
        let g = JoinToken::generate();
        assert_eq!(JoinToken::parse(&g.to_string()), Some(g.clone()));
        assert!(!format!("{g:?}").contains(&g.secret));
    }

    #[test]
    fn a_valid_token_is_a_bootstrapper() {
        let t = JoinToken::parse("abcdef.0123456789abcdef").unwrap();
        let now = chrono::Utc::now();
        let u = user_of_secret(&t, &secret(&t, &[]), now).unwrap();
        assert_eq!(u.name, "system:bootstrap:abcdef");
        assert_eq!(u.groups, [BOOTSTRAPPERS, NODE_TOKEN_GROUP, AUTHENTICATED]);
    }

    #[test]
    fn invalid_tokens_are_refused() {
        let t = JoinToken::parse("abcdef.0123456789abcdef").unwrap();
        let now = chrono::Utc::now();
        let wrong = JoinToken::parse("abcdef.ffffffffffffffff").unwrap();
        assert!(user_of_secret(&wrong, &secret(&t, &[]), now).is_err());
        let expired = secret(&t, &[("expiration", "2020-01-01T00:00:00Z")]);
        assert!(user_of_secret(&t, &expired, now)
            .unwrap_err()
            .contains("expired"));
        let not_auth = secret(&t, &[("usage-bootstrap-authentication", "false")]);
        assert!(user_of_secret(&t, &not_auth, now).is_err());
        let bad_group = secret(&t, &[("auth-extra-groups", "system:masters")]);
        assert!(user_of_secret(&t, &bad_group, now).is_err());
        let mut other_type = secret(&t, &[]);
        other_type["type"] = json!("Opaque");
        assert!(user_of_secret(&t, &other_type, now).is_err());
        let mut deleting = secret(&t, &[]);
        deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert!(user_of_secret(&t, &deleting, now).is_err());
    }
}
