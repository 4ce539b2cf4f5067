//! What the kubelet projects into `configMap`, `secret`, `downwardAPI` and `projected`
//! volumes, as a pure function of the pod, the objects it reads and the node's allocatable
//! resources: [`payload`] returns the volume's files (relative path → bytes and mode). The
//! caller gathers the objects ([`Objects`]) and writes the payload with the atomic writer.

use super::super::bundle;
use k8s_openapi::api::core::v1::{
    ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, ResourceFieldSelector, Secret,
    ServiceAccountTokenProjection, Volume,
};
use std::collections::BTreeMap;

/// The mode of projected files when neither the item nor `defaultMode` says (0644).
pub const DEFAULT_MODE: i32 = 0o644;

/// One file of a projected volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProjection {
    pub data: Vec<u8>,
    /// Permission bits (`mode & 0o7777` is applied).
    pub mode: u32,
}

/// The files of a volume by relative path (`key`, `sub/dir/file`).
pub type Payload = BTreeMap<String, FileProjection>;

/// The config maps and secrets a pod's volumes read, by name, all in the pod's namespace.
/// An object that is absent here does not exist.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    pub config_maps: BTreeMap<String, ConfigMap>,
    pub secrets: BTreeMap<String, Secret>,
}

/// What `limits.*` resolve to for a container without limits: the node's allocatable resources
/// (as the kubelet does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeAllocatable {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub ephemeral_storage_bytes: i64,
}

impl NodeAllocatable {
    /// This machine: its CPUs, `MemTotal`, and the size of the filesystem holding `dir`.
    pub fn probe(dir: &std::path::Path) -> NodeAllocatable {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1);
        let mem_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            })
            .unwrap_or(0);
        let disk = nix::sys::statvfs::statvfs(dir)
            .map(|s| s.blocks() as i64 * s.fragment_size() as i64)
            .unwrap_or(0);
        NodeAllocatable {
            cpu_millis: cpus * 1000,
            memory_bytes: mem_kib * 1024,
            ephemeral_storage_bytes: disk,
        }
    }
}

/// Whether the volume is written by the atomic writer (and refreshed while the pod runs).
pub fn is_projected(v: &Volume) -> bool {
    v.config_map.is_some()
        || v.secret.is_some()
        || v.downward_api.is_some()
        || v.projected.is_some()
}

/// Whether the kubelet puts the volume on a tmpfs (secrets and projected volumes never touch
/// the disk).
pub fn on_tmpfs(v: &Volume) -> bool {
    v.secret.is_some() || v.projected.is_some()
}

/// The names of the config maps and of the secrets the volume reads.
pub fn references(v: &Volume) -> (Vec<String>, Vec<String>) {
    let (mut cms, mut secrets) = (Vec::new(), Vec::new());
    if let Some(cm) = &v.config_map {
        cms.push(cm.name.clone());
    }
    if let Some(s) = &v.secret {
        secrets.push(s.secret_name.clone().unwrap_or_default());
    }
    for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
        if let Some(cm) = &src.config_map {
            cms.push(cm.name.clone());
        }
        if let Some(s) = &src.secret {
            secrets.push(s.name.clone());
        }
    }
    (cms, secrets)
}

/// Whether the volume shows the pod's labels or annotations (which change while it runs).
pub fn reads_pod_metadata(v: &Volume) -> bool {
    let items = v
        .downward_api
        .iter()
        .flat_map(|d| d.items.iter().flatten())
        .chain(
            v.projected
                .iter()
                .flat_map(|p| p.sources.iter().flatten())
                .flat_map(|s| s.downward_api.iter())
                .flat_map(|d| d.items.iter().flatten()),
        );
    let mut items = items;
    items.any(|i| {
        i.field_ref
            .as_ref()
            .map(|f| f.field_path.starts_with("metadata."))
            .unwrap_or(false)
    })
}

/// The files of a configMap, secret, downwardAPI or projected volume; `Ok(None)` for other
/// volume types. A missing object or key that is not `optional` is an error.
pub fn payload(
    pod: &Pod,
    v: &Volume,
    objects: &Objects,
    node: &NodeAllocatable,
) -> anyhow::Result<Option<Payload>> {
    let mut out = Payload::new();
    if let Some(cm) = &v.config_map {
        let mode = cm.default_mode.unwrap_or(DEFAULT_MODE);
        let optional = cm.optional.unwrap_or(false);
        config_map_files(
            &mut out,
            objects,
            &cm.name,
            cm.items.as_deref(),
            optional,
            mode,
        )?;
    } else if let Some(s) = &v.secret {
        let mode = s.default_mode.unwrap_or(DEFAULT_MODE);
        let name = s.secret_name.clone().unwrap_or_default();
        let optional = s.optional.unwrap_or(false);
        secret_files(&mut out, objects, &name, s.items.as_deref(), optional, mode)?;
    } else if let Some(d) = &v.downward_api {
        let mode = d.default_mode.unwrap_or(DEFAULT_MODE);
        downward_files(
            &mut out,
            pod,
            d.items.as_deref().unwrap_or_default(),
            mode,
            node,
        )?;
    } else if let Some(p) = &v.projected {
        let mode = p.default_mode.unwrap_or(DEFAULT_MODE);
        for src in p.sources.iter().flatten() {
            if let Some(cm) = &src.config_map {
                let optional = cm.optional.unwrap_or(false);
                config_map_files(
                    &mut out,
                    objects,
                    &cm.name,
                    cm.items.as_deref(),
                    optional,
                    mode,
                )?;
            }
            if let Some(s) = &src.secret {
                let optional = s.optional.unwrap_or(false);
                secret_files(
                    &mut out,
                    objects,
                    &s.name,
                    s.items.as_deref(),
                    optional,
                    mode,
                )?;
            }
            if let Some(d) = &src.downward_api {
                downward_files(
                    &mut out,
                    pod,
                    d.items.as_deref().unwrap_or_default(),
                    mode,
                    node,
                )?;
            }
            if let Some(t) = &src.service_account_token {
                insert(&mut out, &t.path, service_account_token(pod, t), mode)?;
            }
            if src.cluster_trust_bundle.is_some() {
                anyhow::bail!("clusterTrustBundle projections are not supported");
            }
        }
    } else {
        return Ok(None);
    }
    Ok(Some(out))
}

fn insert(out: &mut Payload, path: &str, data: Vec<u8>, mode: i32) -> anyhow::Result<()> {
    super::relative(path)?;
    anyhow::ensure!(
        !path.starts_with(".."),
        "path {path:?} must not start with '..'"
    );
    out.insert(
        path.to_string(),
        FileProjection {
            data,
            mode: mode as u32 & 0o7777,
        },
    );
    Ok(())
}

/// `data` as files: every key, or the `items` (key → path, mode).
fn key_files(
    out: &mut Payload,
    what: &str,
    data: BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    optional: bool,
    default_mode: i32,
) -> anyhow::Result<()> {
    match items {
        None => {
            for (k, b) in data {
                insert(out, &k, b, default_mode)?;
            }
        }
        Some(items) => {
            for i in items {
                match data.get(&i.key) {
                    Some(b) => insert(out, &i.path, b.clone(), i.mode.unwrap_or(default_mode))?,
                    None if optional => {}
                    None => anyhow::bail!("{what} references non-existent key {:?}", i.key),
                }
            }
        }
    }
    Ok(())
}

fn config_map_files(
    out: &mut Payload,
    objects: &Objects,
    name: &str,
    items: Option<&[KeyToPath]>,
    optional: bool,
    mode: i32,
) -> anyhow::Result<()> {
    let Some(m) = objects.config_maps.get(name) else {
        anyhow::ensure!(optional, "configmap {name:?} not found");
        return Ok(());
    };
    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, s) in m.data.clone().unwrap_or_default() {
        data.insert(k, s.into_bytes());
    }
    for (k, b) in m.binary_data.clone().unwrap_or_default() {
        data.insert(k, b.0);
    }
    key_files(
        out,
        &format!("configmap {name:?}"),
        data,
        items,
        optional,
        mode,
    )
}

fn secret_files(
    out: &mut Payload,
    objects: &Objects,
    name: &str,
    items: Option<&[KeyToPath]>,
    optional: bool,
    mode: i32,
) -> anyhow::Result<()> {
    let Some(s) = objects.secrets.get(name) else {
        anyhow::ensure!(optional, "secret {name:?} not found");
        return Ok(());
    };
    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, b) in s.data.clone().unwrap_or_default() {
        data.insert(k, b.0);
    }
    for (k, v) in s.string_data.clone().unwrap_or_default() {
        data.insert(k, v.into_bytes());
    }
    key_files(
        out,
        &format!("secret {name:?}"),
        data,
        items,
        optional,
        mode,
    )
}

fn downward_files(
    out: &mut Payload,
    pod: &Pod,
    items: &[DownwardAPIVolumeFile],
    default_mode: i32,
    node: &NodeAllocatable,
) -> anyhow::Result<()> {
    for i in items {
        let value = if let Some(f) = &i.field_ref {
            field(pod, &f.field_path)?
        } else if let Some(r) = &i.resource_field_ref {
            resource(pod, r, node)?
        } else {
            anyhow::bail!(
                "downwardAPI item {:?} has neither fieldRef nor resourceFieldRef",
                i.path
            )
        };
        insert(
            out,
            &i.path,
            value.into_bytes(),
            i.mode.unwrap_or(default_mode),
        )?;
    }
    Ok(())
}

/// A pod field a downwardAPI volume may show: `metadata.name|namespace|uid`,
/// `metadata.labels|annotations` (all, one `key="value"` a line) or one of them
/// (`metadata.labels['key']`).
pub fn field(pod: &Pod, path: &str) -> anyhow::Result<String> {
    let m = &pod.metadata;
    match path {
        "metadata.labels" => Ok(format_map(m.labels.as_ref())),
        "metadata.annotations" => Ok(format_map(m.annotations.as_ref())),
        p if p.starts_with("metadata.") => bundle::field_value(pod, p, None, "")
            .ok_or_else(|| anyhow::anyhow!("unsupported fieldPath {p:?}")),
        p => anyhow::bail!("fieldPath {p:?} is not supported in downwardAPI volumes"),
    }
}

/// The kubelet's `fieldpath.FormatMap`: `key="value"` lines sorted by key, the value quoted
/// as Go's `%q` does, no trailing newline.
pub fn format_map(m: Option<&BTreeMap<String, String>>) -> String {
    m.into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Go's `strconv.Quote`: a double-quoted string with Go escapes for `"`, `\` and
/// non-printable characters.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"))
                } else {
                    out.push_str(&format!("\\U{n:08x}"))
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A container's resource as a downwardAPI file shows it: `ceil(value / divisor)`; limits
/// not set are the node's allocatable resources, requests not set are the limits when those
/// are set (API defaulting), else 0.
pub fn resource(
    pod: &Pod,
    r: &ResourceFieldSelector,
    node: &NodeAllocatable,
) -> anyhow::Result<String> {
    let spec = pod.spec.as_ref();
    let name = r.container_name.as_deref().unwrap_or_default();
    let c = spec
        .into_iter()
        .flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        })
        .find(|c| c.name == name)
        .ok_or_else(|| anyhow::anyhow!("container {name:?} not found in the pod"))?;
    let res = c.resources.clone().unwrap_or_default();
    let limits = res.limits.unwrap_or_default();
    let requests = res.requests.unwrap_or_default();
    let (kind, key) = r
        .resource
        .split_once('.')
        .ok_or_else(|| anyhow::anyhow!("unsupported resource {:?}", r.resource))?;
    let set = match kind {
        "limits" => limits.get(key),
        "requests" => requests.get(key).or_else(|| limits.get(key)),
        _ => anyhow::bail!("unsupported resource {:?}", r.resource),
    };
    let divisor = r.divisor.as_ref().map(|q| q.0.as_str()).unwrap_or("1");
    let ceil_div = |v: i64, d: i64| -> anyhow::Result<String> {
        anyhow::ensure!(d > 0, "divisor {divisor:?} must be positive");
        Ok(((v as f64) / (d as f64)).ceil().to_string())
    };
    match key {
        "cpu" => {
            let v = match set {
                Some(q) => bundle::parse_millicpu(&q.0)
                    .ok_or_else(|| anyhow::anyhow!("bad quantity {:?}", q.0))?,
                None if kind == "limits" => node.cpu_millis,
                None => 0,
            };
            let d = bundle::parse_millicpu(divisor)
                .ok_or_else(|| anyhow::anyhow!("bad divisor {divisor:?}"))?;
            ceil_div(v, d)
        }
        "memory" | "ephemeral-storage" => {
            let v = match set {
                Some(q) => bundle::parse_bytes(&q.0)
                    .ok_or_else(|| anyhow::anyhow!("bad quantity {:?}", q.0))?,
                None if kind == "limits" && key == "memory" => node.memory_bytes,
                None if kind == "limits" => node.ephemeral_storage_bytes,
                None => 0,
            };
            let d = bundle::parse_bytes(divisor)
                .ok_or_else(|| anyhow::anyhow!("bad divisor {divisor:?}"))?;
            ceil_div(v, d)
        }
        _ => anyhow::bail!("unsupported resource {:?}", r.resource),
    }
}

/// The `serviceAccountToken` projection: a JWT with the claims the kube-apiserver would put in
/// a bound service account token (issuer `ordo`, subject
/// `system:serviceaccount:<ns>:<sa>`, the audience, the pod), **unsigned**. ordo's API
/// server authenticates its admin token only, so the API does not accept this token; it is
/// there for programs that read or parse the file.
pub fn service_account_token(pod: &Pod, t: &ServiceAccountTokenProjection) -> Vec<u8> {
    use base64::Engine;
    let m = &pod.metadata;
    let ns = m.namespace.clone().unwrap_or_else(|| "default".into());
    let sa = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_else(|| "default".into());
    let iat = m
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .unwrap_or(0);
    let exp = iat + t.expiration_seconds.unwrap_or(3607);
    let claims = serde_json::json!({
        "iss": "ordo",
        "sub": format!("system:serviceaccount:{ns}:{sa}"),
        "aud": [t.audience.clone().unwrap_or_else(|| "https://kubernetes.default.svc".into())],
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "kubernetes.io": {
            "namespace": ns,
            "pod": {"name": m.name.clone().unwrap_or_default(), "uid": m.uid.clone().unwrap_or_default()},
            "serviceaccount": {"name": sa},
        },
    });
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", b64.encode(claims.to_string())).into_bytes()
}

#[cfg(test)]
#[path = "projection_tests.rs"]
mod tests;
