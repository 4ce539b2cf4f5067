//! Registry credentials from image pull secrets, as the kubelet's `credentialprovider` package
//! builds and searches them: a [`Keyring`] of docker config entries (`kubernetes.io/dockerconfigjson`
//! Secrets hold `{"auths": {...}}`, legacy `kubernetes.io/dockercfg` ones the map itself), looked
//! up by an image's repository.
//!
//! Matching follows upstream's `URLsMatch`: a key is `host[:port][/path]` (an `http://` or
//! `https://` prefix and a `/v1/` or `/v2/` path are dropped); it matches an image whose host has
//! as many dot-separated parts, each matching the key's part as a glob (`*`, `?`), whose port is
//! the same and whose path starts with the key's path. Keys are tried most specific first
//! (reverse lexical order), and an image on Docker Hub (`docker.io/...`) with no matching key
//! falls back to the credentials of `index.docker.io` (the `https://index.docker.io/v1/` key the
//! docker CLI writes; ordo also accepts `registry-1.docker.io` there).

use anyhow::Context;
use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// The secret type holding `.dockerconfigjson`.
pub const DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
/// The legacy secret type holding `.dockercfg`.
pub const DOCKERCFG: &str = "kubernetes.io/dockercfg";

/// The host of Docker Hub's credentials in docker config files.
const DEFAULT_REGISTRY_HOST: &str = "index.docker.io";

/// A user name and password for one registry (`RegistryAuth::Basic`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The user name.
    pub username: String,
    /// The password (or token).
    pub password: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({:?}, <redacted>)", self.username)
    }
}

/// One entry of a docker config (`auths.<registry>`).
#[derive(Deserialize, Default)]
struct Entry {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    auth: String,
}

impl Entry {
    /// Upstream's `DockerConfigEntry.UnmarshalJSON`: `auth` (base64 `user:password`) wins over
    /// the separate fields.
    fn credential(self) -> anyhow::Result<Credential> {
        if self.auth.is_empty() {
            return Ok(Credential {
                username: self.username,
                password: self.password,
            });
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(self.auth.trim())
            .context("decoding auth field")?;
        let text = String::from_utf8(raw).context("decoding auth field")?;
        let (user, pass) = text.split_once(':').ok_or_else(|| {
            anyhow::anyhow!(
                "unable to parse auth field, must be formatted as base64(username:password)"
            )
        })?;
        Ok(Credential {
            username: user.into(),
            password: pass.into(),
        })
    }
}

/// The entries of a docker config: `{"auths": {...}}` (`.dockerconfigjson`), or with `legacy`
/// the bare map (`.dockercfg`).
pub fn parse_docker_config(data: &[u8], legacy: bool) -> anyhow::Result<Vec<(String, Credential)>> {
    #[derive(Deserialize)]
    struct Json {
        #[serde(default)]
        auths: BTreeMap<String, Entry>,
    }
    let entries: BTreeMap<String, Entry> = if legacy {
        serde_json::from_slice(data).context("parsing .dockercfg")?
    } else {
        serde_json::from_slice::<Json>(data)
            .context("parsing .dockerconfigjson")?
            .auths
    };
    entries
        .into_iter()
        .map(|(k, e)| Ok((k, e.credential()?)))
        .collect()
}

/// Credentials by registry key, searched as the kubelet's `BasicDockerKeyring`.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    /// Keys, most specific first.
    index: Vec<String>,
    creds: HashMap<String, Vec<Credential>>,
}

impl Keyring {
    /// The keyring of a pod's pull secrets, in the pod's order. Secrets of other types, or
    /// without their key, add nothing; a config that does not parse is an error (the kubelet
    /// fails the pull).
    pub fn from_secrets<'a>(
        secrets: impl IntoIterator<Item = &'a Secret>,
    ) -> anyhow::Result<Keyring> {
        let mut k = Keyring::default();
        for s in secrets {
            let data = |key: &str| s.data.as_ref().and_then(|d| d.get(key)).map(|b| &b.0[..]);
            let name = s.metadata.name.as_deref().unwrap_or_default();
            let entries = match (
                s.type_.as_deref(),
                data(".dockerconfigjson"),
                data(".dockercfg"),
            ) {
                (Some(DOCKER_CONFIG_JSON), Some(d), _) => parse_docker_config(d, false),
                (Some(DOCKERCFG), _, Some(d)) => parse_docker_config(d, true),
                _ => continue,
            };
            k.add(entries.with_context(|| format!("image pull secret {name:?}"))?);
        }
        Ok(k)
    }

    /// Adds a config's entries (upstream's `BasicDockerKeyring.Add`).
    pub fn add(&mut self, entries: Vec<(String, Credential)>) {
        for (loc, cred) in entries {
            let Some(key) = registry_key(&loc) else {
                tracing::warn!("ignoring docker config entry {loc:?}: not a registry address");
                continue;
            };
            self.creds.entry(key.clone()).or_default().push(cred);
            if !self.index.contains(&key) {
                self.index.push(key);
            }
        }
        self.index.sort_by(|a, b| b.cmp(a));
    }

    /// True when the keyring holds no credentials.
    pub fn is_empty(&self) -> bool {
        self.creds.is_empty()
    }

    /// The credentials to try for `repository` (`host/path`, no tag: `127.0.0.1:5000/app`,
    /// `docker.io/library/busybox`), in order; empty when none match (pull anonymously).
    pub fn lookup(&self, repository: &str) -> Vec<Credential> {
        let mut out = Vec::new();
        for k in &self.index {
            if urls_match(k, repository) {
                out.extend(self.creds[k].iter().cloned());
            }
        }
        if out.is_empty() && is_default_registry(repository) {
            for host in [DEFAULT_REGISTRY_HOST, "registry-1.docker.io"] {
                if let Some(c) = self.creds.get(host) {
                    out.extend(c.iter().cloned());
                }
            }
        }
        out
    }
}

/// A config entry's key: `host[:port]` plus a path other than `/`, with the scheme and a
/// leading `/v1/` or `/v2/` dropped. None when it has no host.
fn registry_key(loc: &str) -> Option<String> {
    let rest = loc
        .strip_prefix("https://")
        .or_else(|| loc.strip_prefix("http://"))
        .unwrap_or(loc);
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if host.is_empty() {
        return None;
    }
    let path = match path.get(..4) {
        Some("/v1/" | "/v2/") => &path[3..],
        _ => path,
    };
    Some(match path {
        "" | "/" => host.to_string(),
        p => format!("{host}{p}"),
    })
}

/// Splits `host[:port]/path` into (host parts, port, path).
fn split(url: &str) -> (Vec<&str>, &str, &str) {
    let (authority, path) = match url.find('/') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, p),
        _ => (authority, ""),
    };
    (host.split('.').collect(), port, path)
}

/// Upstream's `URLsMatch` of a key against a repository (both without scheme).
fn urls_match(key: &str, target: &str) -> bool {
    let (kparts, kport, kpath) = split(key);
    let (tparts, tport, tpath) = split(target);
    kport == tport
        && kparts.len() == tparts.len()
        && tpath.starts_with(kpath)
        && kparts
            .iter()
            .zip(&tparts)
            .all(|(k, t)| glob(k.as_bytes(), t.as_bytes()))
}

/// `filepath.Match` for one host part: `*` any run, `?` one character, the rest literal.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    match pat.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((c, rest)) => s
            .split_first()
            .is_some_and(|(d, tail)| c == d && glob(rest, tail)),
    }
}

/// Upstream's `isDefaultRegistryMatch`: an image pulled from Docker Hub.
fn is_default_registry(image: &str) -> bool {
    let Some((first, _)) = image.split_once('/') else {
        return !image.is_empty();
    };
    if first.is_empty() {
        return false;
    }
    matches!(first, "docker.io" | "index.docker.io") || !first.contains(['.', ':'])
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
