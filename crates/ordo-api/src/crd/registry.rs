//! The custom resources served now: one entry per served version of every established CRD,
//! consulted by [`crate::resources::find`] and friends beside the static table. Entries are
//! replaced whole when a CRD changes; their `ResourceInfo`s are interned (leaked once per
//! distinct shape) so that the rest of the server keeps its `&'static ResourceInfo`s.

use crate::resources::ResourceInfo;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

/// JSON paths of a CRD's `scale` subresource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    /// `specReplicasPath`, e.g. `.spec.replicas`.
    pub spec_replicas: String,
    /// `statusReplicasPath`, e.g. `.status.replicas`.
    pub status_replicas: String,
    /// `labelSelectorPath`, e.g. `.status.selector`.
    pub label_selector: Option<String>,
}

/// One served version of a custom resource.
#[derive(Debug, Clone)]
pub struct CustomResource {
    /// Its row of discovery (interned).
    pub info: &'static ResourceInfo,
    /// The version objects are stored in.
    pub storage: &'static ResourceInfo,
    /// The CRD's name (`<plural>.<group>`).
    pub crd: String,
    /// `openAPIV3Schema` of this version, if any.
    pub schema: Option<Value>,
    /// `additionalPrinterColumns` of this version.
    pub columns: Vec<Value>,
    /// The `scale` subresource's paths, when it has one.
    pub scale: Option<ScalePaths>,
    /// `listKind`.
    pub list_kind: String,
    /// `selectableFields` of this version, as field selector labels (`spec.color`).
    pub selectable_fields: Vec<String>,
}

#[derive(Default)]
struct Registry {
    by_crd: BTreeMap<String, Vec<Arc<CustomResource>>>,
    generation: u64,
}

static REGISTRY: RwLock<Option<Registry>> = RwLock::new(None);
static INTERNED: Mutex<Vec<&'static ResourceInfo>> = Mutex::new(Vec::new());

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn leak_list(v: &[String]) -> &'static [&'static str] {
    Box::leak(
        v.iter()
            .map(|s| leak(s))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

/// The interned `ResourceInfo` equal to `want`'s fields.
#[allow(clippy::too_many_arguments)]
fn intern(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    singular: &str,
    short: &[String],
    cats: &[String],
    namespaced: bool,
    status: bool,
    scale: bool,
) -> &'static ResourceInfo {
    let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
    let same = |r: &&&'static ResourceInfo| {
        r.group == group
            && r.version == version
            && r.kind == kind
            && r.plural == plural
            && r.singular == singular
            && r.short_names
                .iter()
                .copied()
                .eq(short.iter().map(String::as_str))
            && r.categories
                .iter()
                .copied()
                .eq(cats.iter().map(String::as_str))
            && r.namespaced == namespaced
            && r.status == status
            && r.scale == scale
    };
    if let Some(r) = interned.iter().find(same) {
        return r;
    }
    let r: &'static ResourceInfo = Box::leak(Box::new(ResourceInfo {
        group: leak(group),
        version: leak(version),
        kind: leak(kind),
        plural: leak(plural),
        singular: leak(singular),
        short_names: leak_list(short),
        categories: leak_list(cats),
        namespaced,
        status,
        scale,
        generation: true,
    }));
    interned.push(r);
    r
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The entries an established CRD defines (its served versions).
fn entries(crd: &Value) -> Vec<Arc<CustomResource>> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let names = &spec["names"];
    let plural = names["plural"].as_str().unwrap_or_default();
    let kind = names["kind"].as_str().unwrap_or_default();
    let singular = names["singular"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_ascii_lowercase());
    let list_kind = names["listKind"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{kind}List"));
    let short = strings(names.get("shortNames"));
    let cats = strings(names.get("categories"));
    let namespaced = spec["scope"] != "Cluster";
    let crd_name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let make = |v: &Value| {
        let subs = v.get("subresources");
        intern(
            group,
            v["name"].as_str().unwrap_or_default(),
            kind,
            plural,
            &singular,
            &short,
            &cats,
            namespaced,
            subs.and_then(|s| s.get("status")).is_some(),
            subs.and_then(|s| s.get("scale")).is_some(),
        )
    };
    let Some(storage) = versions.iter().find(|v| v["storage"] == true).map(make) else {
        return Vec::new();
    };
    let mut out: Vec<Arc<CustomResource>> = versions
        .iter()
        .filter(|v| v["served"] == true)
        .map(|v| {
            let scale = v.pointer("/subresources/scale").map(|s| ScalePaths {
                spec_replicas: s["specReplicasPath"].as_str().unwrap_or("").to_string(),
                status_replicas: s["statusReplicasPath"].as_str().unwrap_or("").to_string(),
                label_selector: s["labelSelectorPath"].as_str().map(str::to_string),
            });
            Arc::new(CustomResource {
                info: make(v),
                storage,
                crd: crd_name.clone(),
                schema: v.pointer("/schema/openAPIV3Schema").cloned().map(|mut s| {
                    // `spec.preserveUnknownFields: true` (from v1beta1): nothing is pruned.
                    if spec["preserveUnknownFields"] == true {
                        s["x-kubernetes-preserve-unknown-fields"] = Value::Bool(true);
                    }
                    s
                }),
                columns: v
                    .get("additionalPrinterColumns")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                scale,
                list_kind: list_kind.clone(),
                selectable_fields: v
                    .get("selectableFields")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["jsonPath"].as_str())
                    .map(|p| p.trim_start_matches('.').to_string())
                    .collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| version_order(a.info.version, b.info.version));
    out
}

/// Kubernetes' version priority: GA before beta before alpha, higher numbers first, then
/// other names alphabetically (upstream `version.CompareKubeAwareVersionStrings`).
pub(crate) fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(v: &str) -> (u8, i64, i64, String) {
        let parse = || -> Option<(u8, i64, i64)> {
            let rest = v.strip_prefix('v')?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let major: i64 = digits.parse().ok()?;
            let tail = &rest[digits.len()..];
            if tail.is_empty() {
                return Some((0, -major, 0));
            }
            let (level, n) = if let Some(n) = tail.strip_prefix("beta") {
                (1, n)
            } else {
                (2, tail.strip_prefix("alpha")?)
            };
            Some((level, -major, -n.parse::<i64>().ok()?))
        };
        match parse() {
            Some((l, m, n)) => (l, m, n, String::new()),
            None => (3, 0, 0, v.to_string()),
        }
    }
    key(a).cmp(&key(b))
}

fn with<R>(f: impl FnOnce(&Registry) -> R) -> R {
    let guard = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    match guard.as_ref() {
        Some(r) => f(r),
        None => f(&Registry::default()),
    }
}

/// Serves the resources of an established CRD (replacing what it served before).
pub fn install(crd: &Value) {
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let new = entries(crd);
    let mut guard = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    let reg = guard.get_or_insert_with(Registry::default);
    let changed = reg.by_crd.get(&name).is_none_or(|old| {
        old.len() != new.len()
            || old.iter().zip(&new).any(|(a, b)| {
                !std::ptr::eq(a.info, b.info)
                    || a.schema != b.schema
                    || a.columns != b.columns
                    || a.scale != b.scale
                    || a.selectable_fields != b.selectable_fields
            })
    });
    reg.by_crd.insert(name, new);
    if changed {
        reg.generation += 1;
    }
}

/// Stops serving the resources of the CRD `name`.
pub fn uninstall(name: &str) {
    let mut guard = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    let reg = guard.get_or_insert_with(Registry::default);
    if reg.by_crd.remove(name).is_some() {
        reg.generation += 1;
    }
}

/// Counts changes of what is served (discovery's ETag follows it).
pub fn generation() -> u64 {
    with(|r| r.generation)
}

/// The custom resource of a group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<Arc<CustomResource>> {
    with(|r| {
        r.by_crd
            .values()
            .flatten()
            .find(|c| c.info.group == group && c.info.version == version && c.info.plural == plural)
            .cloned()
    })
}

/// The preferred served version of a group's kind.
pub fn find_kind(group: &str, kind: &str) -> Option<Arc<CustomResource>> {
    with(|r| {
        r.by_crd
            .values()
            .flatten()
            .find(|c| c.info.group == group && c.info.kind == kind)
            .cloned()
    })
}

/// The custom resource `info` is a row of, if it is one.
pub fn by_info(info: &ResourceInfo) -> Option<Arc<CustomResource>> {
    find(info.group, info.version, info.plural).filter(|c| std::ptr::eq(c.info, info))
}

/// Every served custom resource version, grouped by CRD, preferred version first.
pub fn infos() -> Vec<&'static ResourceInfo> {
    with(|r| r.by_crd.values().flatten().map(|c| c.info).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_are_ordered_as_upstream() {
        let mut v = vec![
            "v1alpha1", "foo", "v1", "v2beta1", "v1beta2", "v2", "v1beta1",
        ];
        v.sort_by(|a, b| version_order(a, b));
        assert_eq!(
            v,
            ["v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"]
        );
    }

    #[test]
    fn install_serves_each_served_version() {
        let crd = json!({"metadata": {"name": "gadgets.reg.example.com"}, "spec": {
            "group": "reg.example.com", "scope": "Namespaced",
            "names": {"plural": "gadgets", "kind": "Gadget", "shortNames": ["gd"]},
            "versions": [
                {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
                {"name": "v2", "served": true, "storage": false},
                {"name": "v0", "served": false, "storage": false}]}});
        install(&crd);
        let v1 = find("reg.example.com", "v1", "gadgets").unwrap();
        assert!(v1.info.status && v1.info.namespaced);
        assert_eq!(v1.info.singular, "gadget");
        assert_eq!(v1.list_kind, "GadgetList");
        let v2 = find("reg.example.com", "v2", "gadgets").unwrap();
        assert!(std::ptr::eq(v2.storage, v1.info));
        assert!(find("reg.example.com", "v0", "gadgets").is_none());
        assert_eq!(
            find_kind("reg.example.com", "Gadget").unwrap().info.version,
            "v2"
        );
        let g = generation();
        install(&crd);
        assert_eq!(
            generation(),
            g,
            "an unchanged CRD does not change discovery"
        );
        uninstall("gadgets.reg.example.com");
        assert!(find("reg.example.com", "v1", "gadgets").is_none());
    }
}
