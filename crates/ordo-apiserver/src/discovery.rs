//! API discovery: aggregated (apidiscovery.k8s.io/v2) and legacy documents, and `/version`.

use ordo_api::resources::{self, ResourceInfo};
use serde_json::{json, Value};

/// The content type kubectl requires to use aggregated discovery.
pub(crate) const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn verbs(r: &ResourceInfo) -> Vec<&'static str> {
    if resources::is_create_only(r) || resources::is_review(r) {
        vec!["create"]
    } else if resources::is_read_only(r) {
        vec!["get", "list"]
    } else {
        VERBS.to_vec()
    }
}

fn subresources(
    r: &ResourceInfo,
) -> Vec<(
    &'static str,
    String,
    String,
    &'static str,
    Vec<&'static str>,
)> {
    let mut out = Vec::new();
    let gv = r.api_version();
    let _ = &gv;
    if r.scale {
        out.push((
            "scale",
            "autoscaling".to_string(),
            "v1".to_string(),
            "Scale",
            vec!["get", "patch", "update"],
        ));
    }
    if r.status {
        out.push((
            "status",
            r.group.to_string(),
            r.version.to_string(),
            r.kind,
            vec!["get", "patch", "update"],
        ));
    }
    if r.plural == "pods" {
        out.push((
            "attach",
            String::new(),
            "v1".into(),
            "PodAttachOptions",
            vec!["create", "get"],
        ));
        out.push((
            "binding",
            String::new(),
            "v1".into(),
            "Binding",
            vec!["create"],
        ));
        out.push((
            "ephemeralcontainers",
            String::new(),
            "v1".into(),
            "Pod",
            vec!["get", "patch", "update"],
        ));
        out.push((
            "eviction",
            "policy".into(),
            "v1".into(),
            "Eviction",
            vec!["create"],
        ));
        out.push((
            "exec",
            String::new(),
            "v1".into(),
            "PodExecOptions",
            vec!["create", "get"],
        ));
        out.push(("log", String::new(), "v1".into(), "Pod", vec!["get"]));
    }
    if r.plural == "serviceaccounts" {
        out.push((
            "token",
            "authentication.k8s.io".into(),
            "v1".into(),
            "TokenRequest",
            vec!["create"],
        ));
    }
    if r.plural == "namespaces" {
        out.push((
            "finalize",
            String::new(),
            "v1".into(),
            "Namespace",
            vec!["update"],
        ));
    }
    out
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let subs: Vec<Value> = subresources(r)
        .into_iter()
        .map(|(name, g, v, kind, verbs)| {
            json!({"subresource": name, "responseKind": {"group": g, "version": v, "kind": kind}, "verbs": verbs})
        })
        .collect();
    let mut v = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": verbs(r),
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        v["categories"] = json!(r.categories);
    }
    if !subs.is_empty() {
        v["subresources"] = json!(subs);
    }
    v
}

fn aggregated_group(group: &str) -> Value {
    let versions: Vec<Value> = resources::versions(group)
        .into_iter()
        .map(|v| {
            let resources: Vec<Value> = resources::all()
                .into_iter()
                .filter(|r| r.group == group && r.version == v)
                .map(aggregated_resource)
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let mut item = json!({"versions": versions});
    item["metadata"] = if group.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": group, "creationTimestamp": null})
    };
    item
}

/// Aggregated discovery for `/api` (core) or `/apis` (named groups).
pub(crate) fn aggregated(core: bool) -> Value {
    let items: Vec<Value> = resources::groups()
        .into_iter()
        .filter(|g| g.is_empty() == core)
        .map(aggregated_group)
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// Legacy `/api` document.
pub(crate) fn legacy_api(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

fn group_entry(g: &str) -> Value {
    let gvs: Vec<Value> = resources::versions(g)
        .into_iter()
        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let preferred = gvs.first().cloned().unwrap_or(Value::Null);
    json!({"name": g, "versions": gvs, "preferredVersion": preferred})
}

/// Legacy `/apis` document.
pub(crate) fn legacy_apis() -> Value {
    let groups: Vec<Value> = resources::groups()
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(group_entry)
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// Legacy `/apis/<group>` document.
pub(crate) fn legacy_group(group: &str) -> Option<Value> {
    if group.is_empty() || !resources::groups().contains(&group) {
        return None;
    }
    let mut v = group_entry(group);
    v["kind"] = json!("APIGroup");
    v["apiVersion"] = json!("v1");
    Some(v)
}

/// Legacy `APIResourceList` of one group-version.
pub(crate) fn legacy_resources(group: &str, version: &str) -> Option<Value> {
    let list: Vec<&ResourceInfo> = resources::all()
        .into_iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if list.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for r in list {
        let mut v = json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind, "verbs": verbs(r)});
        if !r.short_names.is_empty() {
            v["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            v["categories"] = json!(r.categories);
        }
        resources.push(v);
        for (name, g, ver, kind, verbs) in subresources(r) {
            let mut s = json!({"name": format!("{}/{name}", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": kind, "verbs": verbs});
            if g != r.group {
                s["group"] = json!(g);
                s["version"] = json!(ver);
            }
            resources.push(s);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// `/version`: Kubernetes 1.33, so the kubectl dispatcher runs kubectl 1.33.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-ordo",
        "gitCommit": env!("CARGO_PKG_VERSION"),
        "gitTreeState": "clean",
        "buildDate": "2026-11-25T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": "linux/amd64",
    })
}

/// The ETag of a discovery document (upstream sends one with aggregated discovery, and
/// answers 304 to a matching `If-None-Match`), so caches see a new CRD's resources at once.
pub(crate) fn etag(body: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    format!("\"{:016X}\"", h.finish())
}
