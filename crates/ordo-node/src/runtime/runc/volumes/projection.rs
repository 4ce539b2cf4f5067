//! What the kubelet projects into `configMap`, `secret`, `downwardAPI` and `projected`
//! volumes, as a pure function of the pod, the objects it reads and the node's allocatable
//! resources: [`payload`] returns the volume's files (relative path → bytes and mode). The
//! caller gathers the objects ([`Objects`]) and writes the payload with the atomic writer.

use super::super::bundle;
use k8s_openapi::api::core::v1::{
    ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, ResourceFieldSelector, Secret, Volume,
};
pub use ordo_api::validation::go_quote;
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

/// The config maps and secrets a pod's volumes read, by name, all in the pod's namespace, and
/// the ServiceAccount tokens its projections show, by [`super::tokens::token_key`]. An object
/// that is absent here does not exist.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    pub config_maps: BTreeMap<String, ConfigMap>,
    pub secrets: BTreeMap<String, Secret>,
    pub tokens: BTreeMap<String, Vec<u8>>,
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
    let cm_files = |out: &mut Payload,
                    name: &str,
                    items: Option<&[KeyToPath]>,
                    optional: Option<bool>,
                    mode| {
        let data = objects.config_maps.get(name).map(config_map_data);
        object_files(
            out,
            "configmap",
            name,
            data,
            items,
            optional.unwrap_or(false),
            mode,
        )
    };
    let secret_files = |out: &mut Payload,
                        name: &str,
                        items: Option<&[KeyToPath]>,
                        optional: Option<bool>,
                        mode| {
        let data = objects.secrets.get(name).map(secret_data);
        object_files(
            out,
            "secret",
            name,
            data,
            items,
            optional.unwrap_or(false),
            mode,
        )
    };
    let downward_files = |out: &mut Payload, items: &Option<Vec<DownwardAPIVolumeFile>>, mode| {
        downward_files(out, pod, items.as_deref().unwrap_or_default(), mode, node)
    };
    if let Some(cm) = &v.config_map {
        let mode = cm.default_mode.unwrap_or(DEFAULT_MODE);
        cm_files(&mut out, &cm.name, cm.items.as_deref(), cm.optional, mode)?;
    } else if let Some(s) = &v.secret {
        let mode = s.default_mode.unwrap_or(DEFAULT_MODE);
        let name = s.secret_name.as_deref().unwrap_or_default();
        secret_files(&mut out, name, s.items.as_deref(), s.optional, mode)?;
    } else if let Some(d) = &v.downward_api {
        downward_files(&mut out, &d.items, d.default_mode.unwrap_or(DEFAULT_MODE))?;
    } else if let Some(p) = &v.projected {
        let mode = p.default_mode.unwrap_or(DEFAULT_MODE);
        for src in p.sources.iter().flatten() {
            if let Some(cm) = &src.config_map {
                cm_files(&mut out, &cm.name, cm.items.as_deref(), cm.optional, mode)?;
            }
            if let Some(s) = &src.secret {
                secret_files(&mut out, &s.name, s.items.as_deref(), s.optional, mode)?;
            }
            if let Some(d) = &src.downward_api {
                downward_files(&mut out, &d.items, mode)?;
            }
            if let Some(t) = &src.service_account_token {
                let token = objects
                    .tokens
                    .get(&super::tokens::token_key(t))
                    .ok_or_else(|| {
                        anyhow::anyhow!("failed to fetch token: no token was issued for the pod")
                    })?;
                insert(&mut out, &t.path, token.clone(), mode)?;
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

/// Every key of a config map (`data` and `binaryData`) with its bytes.
fn config_map_data(m: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let text = m
        .data
        .iter()
        .flatten()
        .map(|(k, s)| (k.clone(), s.clone().into_bytes()));
    let binary = m
        .binary_data
        .iter()
        .flatten()
        .map(|(k, b)| (k.clone(), b.0.clone()));
    text.chain(binary).collect()
}

/// Every key of a secret (`data`, and `stringData` if a client sent it unconverted).
fn secret_data(s: &Secret) -> BTreeMap<String, Vec<u8>> {
    let data = s
        .data
        .iter()
        .flatten()
        .map(|(k, b)| (k.clone(), b.0.clone()));
    let text = s
        .string_data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()));
    data.chain(text).collect()
}

/// The files of a config map or secret (`kind` `name`), None if it does not exist.
fn object_files(
    out: &mut Payload,
    kind: &str,
    name: &str,
    data: Option<BTreeMap<String, Vec<u8>>>,
    items: Option<&[KeyToPath]>,
    optional: bool,
    mode: i32,
) -> anyhow::Result<()> {
    let Some(data) = data else {
        anyhow::ensure!(optional, "{kind} {name:?} not found");
        return Ok(());
    };
    key_files(
        out,
        &format!("{kind} {name:?}"),
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

#[cfg(test)]
#[path = "projection_tests.rs"]
mod tests;
