//! The ServiceAccount tokens of `serviceAccountToken` projections, as the kubelet's token
//! manager gets them: a TokenRequest bound to the pod (`serviceaccounts/NAME/token`), kept in
//! a cache and requested again once 80 % of its lifetime has passed or it is 24 hours old
//! (the percentage can be lowered for tests that watch a rotation: [`set_refresh_after_percent`]).
//! The refresher ([`super::refresh::Refresher`]) asks [`TokenManager::needs_refresh`] about its
//! pods periodically and rewrites their volumes with the new tokens.

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount, ServiceAccountTokenProjection, Volume};
use kube::api::{Api, PostParams};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{LazyLock, Mutex};

/// A token older than this is refreshed whatever its lifetime (the kubelet's `maxTTL`).
pub const MAX_TTL_SECONDS: i64 = 24 * 3600;
/// The validity asked when the projection says none (the API's default).
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;

/// The share of a token's lifetime after which the kubelet requests a new one.
pub const DEFAULT_REFRESH_AFTER_PERCENT: u8 = 80;

static REFRESH_AFTER_PERCENT: AtomicI64 = AtomicI64::new(DEFAULT_REFRESH_AFTER_PERCENT as i64);

/// Makes this process refresh tokens after `percent` (1-100) of their lifetime instead of
/// 80 %; only the tests that watch a running pod read a rotated token lower it (the API's
/// shortest token lives 10 minutes).
pub fn set_refresh_after_percent(percent: u8) {
    REFRESH_AFTER_PERCENT.store(i64::from(percent.clamp(1, 100)), Ordering::Relaxed);
}

/// Whether a token issued for `ttl` seconds that expires at `exp` must be requested again at
/// `now` (seconds): after 80 % of its lifetime (see [`set_refresh_after_percent`]), or once it
/// is [`MAX_TTL_SECONDS`] old.
pub fn requires_refresh(now: i64, exp: i64, ttl: i64) -> bool {
    requires_refresh_after(now, exp, ttl, REFRESH_AFTER_PERCENT.load(Ordering::Relaxed))
}

/// [`requires_refresh`] with the share of the lifetime given.
fn requires_refresh_after(now: i64, exp: i64, ttl: i64, percent: i64) -> bool {
    let iat = exp - ttl;
    now >= iat + MAX_TTL_SECONDS || now >= exp - ttl * (100 - percent) / 100
}

/// The key of a projection's token in [`super::projection::Objects::tokens`].
pub fn token_key(t: &ServiceAccountTokenProjection) -> String {
    format!(
        "{}|{}",
        t.audience.as_deref().unwrap_or(""),
        t.expiration_seconds.unwrap_or(DEFAULT_EXPIRATION_SECONDS)
    )
}

/// The `serviceAccountToken` sources of a volume.
pub fn token_sources(v: &Volume) -> impl Iterator<Item = &ServiceAccountTokenProjection> {
    v.projected
        .iter()
        .flat_map(|p| p.sources.iter().flatten())
        .filter_map(|s| s.service_account_token.as_ref())
}

#[derive(Clone)]
struct Cached {
    token: String,
    /// The status's expiration timestamp, seconds since the epoch.
    exp: i64,
    /// The lifetime asked for.
    ttl: i64,
}

/// Tokens by pod uid and [`token_key`].
#[derive(Default)]
pub struct TokenManager {
    cache: Mutex<HashMap<String, BTreeMap<String, Cached>>>,
}

/// The node agent's token manager (one per process, as the kubelet's).
pub fn manager() -> &'static TokenManager {
    static MANAGER: LazyLock<TokenManager> = LazyLock::new(TokenManager::default);
    &MANAGER
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl TokenManager {
    /// The tokens the projections of `pod`'s volume `v` need, by [`token_key`]: cached ones
    /// while fresh, new ones from the API otherwise.
    pub async fn tokens_for(
        &self,
        client: &kube::Client,
        pod: &Pod,
        v: &Volume,
    ) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        let mut out = BTreeMap::new();
        for t in token_sources(v) {
            let key = token_key(t);
            if out.contains_key(&key) {
                continue;
            }
            let token = self.token(client, pod, t, &key).await?;
            out.insert(key, token.into_bytes());
        }
        Ok(out)
    }

    async fn token(
        &self,
        client: &kube::Client,
        pod: &Pod,
        t: &ServiceAccountTokenProjection,
        key: &str,
    ) -> anyhow::Result<String> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if let Some(c) = self.cached(&uid, key) {
            if !requires_refresh(now(), c.exp, c.ttl) {
                return Ok(c.token);
            }
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let sa = pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".into());
        let ttl = t.expiration_seconds.unwrap_or(DEFAULT_EXPIRATION_SECONDS);
        let req = TokenRequest {
            spec: TokenRequestSpec {
                audiences: t
                    .audience
                    .iter()
                    .filter(|a| !a.is_empty())
                    .cloned()
                    .collect(),
                expiration_seconds: Some(ttl),
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Pod".into()),
                    name: pod.metadata.name.clone(),
                    uid: Some(uid.clone()),
                }),
            },
            ..Default::default()
        };
        let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
        let got: TokenRequest = api
            .create_subresource("token", &sa, &PostParams::default(), &req)
            .await
            .map_err(|e| anyhow::anyhow!("failed to fetch token: {e}"))?;
        let status = got
            .status
            .ok_or_else(|| anyhow::anyhow!("failed to fetch token: the answer has no status"))?;
        let exp = status.expiration_timestamp.0.as_second();
        tracing::debug!(
            "pod {ns}/{}: new token for service account {sa}, expires at {exp}",
            pod.metadata.name.as_deref().unwrap_or_default()
        );
        let c = Cached {
            token: status.token,
            exp,
            ttl,
        };
        self.cache
            .lock()
            .unwrap()
            .entry(uid)
            .or_default()
            .insert(key.to_string(), c.clone());
        Ok(c.token)
    }

    fn cached(&self, uid: &str, key: &str) -> Option<Cached> {
        self.cache.lock().unwrap().get(uid)?.get(key).cloned()
    }

    /// Whether a cached token of the pod must be requested again now.
    pub fn needs_refresh(&self, uid: &str) -> bool {
        let now = now();
        self.cache
            .lock()
            .unwrap()
            .get(uid)
            .is_some_and(|m| m.values().any(|c| requires_refresh(now, c.exp, c.ttl)))
    }

    /// Drops the pod's tokens (it is gone from the node).
    pub fn forget(&self, uid: &str) {
        self.cache.lock().unwrap().remove(uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_at_80_percent_of_the_lifetime_or_after_a_day() {
        let at80 = |now, exp, ttl| requires_refresh_after(now, exp, ttl, 80);
        let iat = 1_000_000;
        let (ttl, exp) = (3600, iat + 3600);
        assert!(!at80(iat, exp, ttl));
        assert!(!at80(iat + 2879, exp, ttl));
        assert!(at80(iat + 2880, exp, ttl));
        assert!(at80(exp + 1, exp, ttl));
        // A token of 10 minutes: after 8.
        assert!(!at80(iat + 479, iat + 600, 600));
        assert!(at80(iat + 480, iat + 600, 600));
        // A token of a week: after a day, not 80 % of a week.
        let week = 7 * 24 * 3600;
        assert!(!at80(iat + MAX_TTL_SECONDS - 1, iat + week, week));
        assert!(at80(iat + MAX_TTL_SECONDS, iat + week, week));
        // The lowered share of the rotation tests: a token of 10 minutes after 12 s.
        assert!(!requires_refresh_after(iat + 11, iat + 600, 600, 2));
        assert!(requires_refresh_after(iat + 12, iat + 600, 600, 2));
    }

    #[test]
    fn tokens_are_keyed_by_audience_and_lifetime() {
        let t = ServiceAccountTokenProjection {
            audience: Some("vault".into()),
            expiration_seconds: Some(600),
            path: "t".into(),
        };
        assert_eq!(token_key(&t), "vault|600");
        let d = ServiceAccountTokenProjection {
            path: "t".into(),
            ..Default::default()
        };
        assert_eq!(token_key(&d), "|3600");
    }

    #[test]
    fn needs_refresh_follows_the_cache() {
        let m = TokenManager::default();
        assert!(!m.needs_refresh("u"));
        let fresh = Cached {
            token: "a".into(),
            exp: now() + 3600,
            ttl: 3600,
        };
        let stale = Cached {
            token: "b".into(),
            exp: now() + 60,
            ttl: 3600,
        };
        m.cache
            .lock()
            .unwrap()
            .entry("u".into())
            .or_default()
            .insert("x".into(), fresh);
        assert!(!m.needs_refresh("u"));
        m.cache
            .lock()
            .unwrap()
            .entry("u".into())
            .or_default()
            .insert("y".into(), stale);
        assert!(m.needs_refresh("u"));
        m.forget("u");
        assert!(!m.needs_refresh("u"));
    }
}
