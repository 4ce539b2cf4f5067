//! `SetDefaults_Pod`, `SetDefaults_PodSpec` and the container/volume/probe defaults that
//! upstream applies to every PodSpec (also inside workload templates).

use super::{default_str, default_val, each, ensure_obj};
use serde_json::{json, Value};

/// `SetDefaults_Pod` + PodSpec defaults (`spec.priority` is the Priority admission's, in the
/// API server).
pub(super) fn pod(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    pod_spec(spec);
    default_val(spec, "enableServiceLinks", json!(true));
    let host_network = spec
        .get("hostNetwork")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for list in ["containers", "initContainers"] {
        each(spec, list, |c| {
            requests_from_limits(c);
            if host_network {
                each(c, "ports", |p| {
                    if p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0 {
                        if let Some(cp) = p.get("containerPort").cloned() {
                            p["hostPort"] = cp;
                        }
                    }
                });
            }
        });
    }
}

/// Requests default to limits for resources with a limit but no request (Pods only).
fn requests_from_limits(c: &mut Value) {
    let Some(limits) = c
        .pointer("/resources/limits")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let resources = ensure_obj(c, "resources");
    let requests = ensure_obj(resources, "requests");
    for (k, v) in limits {
        default_val(requests, &k, v);
    }
}

/// `SetDefaults_PodSpec` and everything nested in a PodSpec.
pub(super) fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default_val(spec, "securityContext", json!({}));
    default_val(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");
    each(spec, "volumes", volume);
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        each(spec, list, container);
    }
}

/// `imagePullPolicy` from the tag: `Always` for `:latest` or no tag/digest, else `IfNotPresent`.
pub(crate) fn pull_policy(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or("");
    let (repo_last, tag) = match last.split_once(':') {
        Some((r, t)) => (r, Some(t)),
        None => (last, None),
    };
    let repo = &name[..name.len() - last.len() + repo_last.len()];
    let path = repo
        .split_once('/')
        .map(|(host, rest)| {
            if host.contains(['.', ':']) || host == "localhost" {
                rest
            } else {
                repo
            }
        })
        .unwrap_or(repo);
    let parse_error = image.is_empty()
        || image.chars().any(char::is_whitespace)
        || path.chars().any(|c| c.is_ascii_uppercase());
    match tag {
        _ if parse_error => "IfNotPresent",
        Some("latest") => "Always",
        Some(_) => "IfNotPresent",
        None if digest.is_some() => "IfNotPresent",
        None => "Always",
    }
}

/// `SetDefaults_Container` plus ports, env field refs, probes and lifecycle handlers.
fn container(c: &mut Value) {
    if !c.is_object() {
        return;
    }
    let policy = pull_policy(c.get("image").and_then(Value::as_str).unwrap_or(""));
    default_str(c, "imagePullPolicy", policy);
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    each(c, "ports", |p| default_str(p, "protocol", "TCP"));
    each(c, "env", |e| {
        if let Some(fr) = e
            .pointer_mut("/valueFrom/fieldRef")
            .filter(|f| f.is_object())
        {
            default_str(fr, "apiVersion", "v1");
        }
    });
    for k in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(k).filter(|p| p.is_object()) {
            probe(p);
        }
    }
    for k in ["postStart", "preStop"] {
        if let Some(h) = c
            .pointer_mut(&format!("/lifecycle/{k}"))
            .filter(|h| h.is_object())
        {
            handler(h);
        }
    }
}

/// `SetDefaults_Probe` and its handler.
fn probe(p: &mut Value) {
    for (k, v) in [
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ] {
        if p.get(k).and_then(Value::as_i64).unwrap_or(0) == 0 {
            p[k] = json!(v);
        }
    }
    handler(p);
    if let Some(g) = p.get_mut("grpc").filter(|g| g.is_object()) {
        default_val(g, "service", json!(""));
    }
}

/// `SetDefaults_HTTPGetAction`.
fn handler(h: &mut Value) {
    if let Some(g) = h.get_mut("httpGet").filter(|g| g.is_object()) {
        default_str(g, "path", "/");
        default_str(g, "scheme", "HTTP");
    }
}

const VOLUME_SOURCES: [&str; 30] = [
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// `SetDefaults_Volume` and the per-source defaults (modes 0644, token expiry 1h, ...).
fn volume(v: &mut Value) {
    if !v.is_object() {
        return;
    }
    if VOLUME_SOURCES
        .iter()
        .all(|k| v.get(*k).is_none_or(Value::is_null))
    {
        v["emptyDir"] = json!({});
    }
    for k in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(src) = v.get_mut(k).filter(|s| s.is_object()) {
            default_val(src, "defaultMode", json!(420));
        }
    }
    if let Some(d) = v.get_mut("downwardAPI").filter(|s| s.is_object()) {
        each(d, "items", downward_item);
    }
    if let Some(p) = v.get_mut("projected").filter(|s| s.is_object()) {
        each(p, "sources", |s| {
            if let Some(t) = s.get_mut("serviceAccountToken").filter(|t| t.is_object()) {
                default_val(t, "expirationSeconds", json!(3600));
            }
            if let Some(d) = s.get_mut("downwardAPI").filter(|d| d.is_object()) {
                each(d, "items", downward_item);
            }
        });
    }
    if let Some(h) = v.get_mut("hostPath").filter(|s| s.is_object()) {
        default_val(h, "type", json!(""));
    }
    if let Some(spec) = v
        .pointer_mut("/ephemeral/volumeClaimTemplate/spec")
        .filter(|s| s.is_object())
    {
        default_val(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(i) = v.get_mut("iscsi").filter(|s| s.is_object()) {
        default_str(i, "iscsiInterface", "default");
    }
    if let Some(r) = v.get_mut("rbd").filter(|s| s.is_object()) {
        default_str(r, "pool", "rbd");
        default_str(r, "user", "admin");
        default_str(r, "keyring", "/etc/ceph/keyring");
    }
    if let Some(a) = v.get_mut("azureDisk").filter(|s| s.is_object()) {
        default_val(a, "cachingMode", json!("ReadWrite"));
        default_val(a, "fsType", json!("ext4"));
        default_val(a, "readOnly", json!(false));
        default_val(a, "kind", json!("Shared"));
    }
    if let Some(s) = v.get_mut("scaleIO").filter(|s| s.is_object()) {
        default_str(s, "storageMode", "ThinProvisioned");
        default_str(s, "fsType", "xfs");
    }
}

fn downward_item(item: &mut Value) {
    if let Some(fr) = item.get_mut("fieldRef").filter(|f| f.is_object()) {
        default_str(fr, "apiVersion", "v1");
    }
}
