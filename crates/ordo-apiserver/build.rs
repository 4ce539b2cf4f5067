//! Generates the protobuf schema the codec in `src/protobuf/` runs on, from the sources of the
//! `k8s-pb` crate (kube-rs's prost bindings of every Kubernetes `generated.proto`): each prost
//! message becomes a table of (field number, wire type, JSON name, nested message). JSON names,
//! required fields and inlined Go structs come from `k8s-openapi` (the serde names of the same
//! Go types), falling back to lowerCamelCase of the prost field name for types k8s-openapi lacks.
//! Nothing here is written per kind: every message k8s-pb has is in the output.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where the sources of a dependency are: `cargo metadata`, else the registry's source cache.
fn crate_dir(name: &str, env: &str) -> PathBuf {
    if let Ok(d) = std::env::var(env) {
        return PathBuf::from(d);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--offline", "--format-version", "1"])
        .output();
    if let Ok(out) = out {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) {
            for p in v["packages"].as_array().into_iter().flatten() {
                if p["name"] == name {
                    let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
                    return manifest.parent().expect("manifest dir").to_path_buf();
                }
            }
        }
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    for reg in std::fs::read_dir(home.join("registry/src"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let mut found: Vec<PathBuf> = std::fs::read_dir(reg.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{name}-")))
            })
            .collect();
        found.sort();
        if let Some(p) = found.pop() {
            return p;
        }
    }
    panic!("cannot find the sources of {name}; set {env}");
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `api/core/v1/mod.rs` → `api::core::v1`; `api/core/v1/pod.rs` → `api::core::v1`.
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).expect("under root");
    let mut parts: Vec<String> = rel
        .parent()
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let stem = rel.file_stem().unwrap().to_string_lossy().into_owned();
    if parts.is_empty() && stem != "lib" && stem != "mod" {
        parts.push(stem);
    }
    parts.join("::")
}

/// What k8s-openapi says of one struct: its serde field names and which fields are required.
#[derive(Default)]
struct OpenApiStruct {
    /// snake_case field → JSON name.
    json: HashMap<String, String>,
    /// snake_case fields that are not `Option` (required in the API).
    required: Vec<String>,
}

fn openapi_structs(dir: &Path) -> (HashMap<String, OpenApiStruct>, HashMap<String, String>) {
    let mut files = Vec::new();
    rs_files(dir, &mut files);
    let mut structs = HashMap::new();
    let mut global: HashMap<String, Option<String>> = HashMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let module = module_of(dir, &f);
        let Some(name) = text
            .lines()
            .find_map(|l| l.strip_prefix("pub struct "))
            .and_then(|l| l.split([' ', '<', '{']).next())
        else {
            continue;
        };
        let mut s = OpenApiStruct::default();
        let mut in_struct = false;
        for line in text.lines() {
            if line.starts_with("pub struct ") {
                in_struct = true;
                continue;
            }
            if in_struct && line.starts_with('}') {
                in_struct = false;
            }
            if in_struct {
                if let Some(rest) = line.trim().strip_prefix("pub ") {
                    if let Some((field, ty)) = rest.split_once(": ") {
                        if !ty.starts_with("Option<") {
                            s.required.push(field.trim_end_matches('_').to_string());
                        }
                    }
                }
            }
            let t = line.trim();
            if let (Some(q), Some(k)) = (t.strip_prefix('"'), t.find("=> Field::Key_")) {
                if let Some(j) = q.split('"').next() {
                    let snake = t[k + "=> Field::Key_".len()..]
                        .trim_end_matches(',')
                        .trim_end_matches('_')
                        .to_string();
                    s.json.insert(snake.clone(), j.to_string());
                    let e = global.entry(snake).or_insert_with(|| Some(j.to_string()));
                    if e.as_deref() != Some(j) {
                        *e = None;
                    }
                }
            }
        }
        structs.insert(format!("{module}::{name}"), s);
    }
    let global = global
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    (structs, global)
}

fn lower_camel(snake: &str) -> String {
    let mut out = String::new();
    for (i, part) in snake.split('_').enumerate() {
        if i == 0 {
            out.push_str(part);
        } else {
            let mut c = part.chars();
            if let Some(f) = c.next() {
                out.extend(f.to_uppercase());
                out.push_str(c.as_str());
            }
        }
    }
    out
}

/// One prost field, as parsed.
struct PbField {
    snake: String,
    number: u32,
    /// `string`, `int32`, `message`, `btree_map`...
    ty: String,
    /// For `btree_map`: the value type (`string`, `bytes`, `message`).
    map_value: String,
    repeated: bool,
    /// The resolved path of the message type (`api::core::v1::PodSpec`), for messages and maps
    /// of messages.
    message: Option<String>,
}

fn type_path(ty: &syn::Type) -> Option<&syn::Path> {
    match ty {
        syn::Type::Path(p) => Some(&p.path),
        _ => None,
    }
}

/// The innermost non-wrapper path of a field type (`Option<Box<T>>` → `T`; maps → the value).
fn inner_path(ty: &syn::Type) -> Option<syn::Path> {
    let path = type_path(ty)?;
    let last = path.segments.last()?;
    let wrapper = matches!(
        last.ident.to_string().as_str(),
        "Option" | "Vec" | "Box" | "BTreeMap" | "HashMap"
    );
    if wrapper {
        if let syn::PathArguments::AngleBracketed(a) = &last.arguments {
            let t = a.args.iter().rev().find_map(|g| match g {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })?;
            return inner_path(t);
        }
    }
    Some(path.clone())
}

fn resolve(module: &str, path: &syn::Path) -> String {
    let mut parts: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(String::from).collect()
    };
    for seg in &path.segments {
        match seg.ident.to_string().as_str() {
            "super" => {
                parts.pop();
            }
            "crate" => parts.clear(),
            "self" => {}
            s => parts.push(s.to_string()),
        }
    }
    parts.join("::")
}

fn parse_prost_attr(attr: &syn::Attribute) -> Option<(String, String, bool, u32)> {
    if !attr.path().is_ident("prost") {
        return None;
    }
    let syn::Meta::List(list) = &attr.meta else {
        return None;
    };
    let text = list.tokens.to_string();
    let (mut ty, mut map_value, mut repeated, mut number) =
        (String::new(), String::new(), false, 0);
    for part in text.split(',').map(str::trim) {
        if let Some(t) = part.strip_prefix("tag =") {
            number = t.trim().trim_matches('"').parse().ok()?;
        } else if let Some(m) = part.strip_prefix("btree_map =") {
            ty = "btree_map".into();
            let _ = m;
        } else if part.starts_with("bytes =") {
            ty = "bytes".into();
        } else if part == "repeated" {
            repeated = true;
        } else if ty == "btree_map" && map_value.is_empty() && !part.contains('=') {
            map_value = part.trim_matches('"').trim().to_string();
        } else if ty.is_empty() && !part.contains('=') && part != "optional" && part != "required" {
            ty = part.to_string();
        }
    }
    Some((ty, map_value, repeated, number))
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ORDO_K8S_PB_DIR");
    println!("cargo:rerun-if-env-changed=ORDO_K8S_OPENAPI_DIR");
    let pb = crate_dir("k8s-pb", "ORDO_K8S_PB_DIR").join("src");
    let openapi = crate_dir("k8s-openapi", "ORDO_K8S_OPENAPI_DIR").join("src/v1_33");
    let (structs, global) = openapi_structs(&openapi);

    let mut files = Vec::new();
    rs_files(&pb, &mut files);
    files.sort();
    // path → fields, in file order.
    let mut messages: BTreeMap<String, Vec<PbField>> = BTreeMap::new();
    // module → apiVersion, from the crate's `Resource` impls.
    let mut api_versions: HashMap<String, String> = HashMap::new();
    for f in &files {
        let module = module_of(&pb, f);
        let file = syn::parse_file(&std::fs::read_to_string(f).expect("read")).expect("parse");
        for item in file.items {
            match item {
                syn::Item::Struct(s) => {
                    let mut fields = Vec::new();
                    for field in &s.fields {
                        let Some((ty, map_value, repeated, number)) =
                            field.attrs.iter().find_map(parse_prost_attr)
                        else {
                            continue;
                        };
                        let snake = field
                            .ident
                            .as_ref()
                            .map(|i| i.to_string().trim_start_matches("r#").to_string())
                            .unwrap_or_default();
                        let message = (ty == "message" || map_value == "message")
                            .then(|| inner_path(&field.ty).map(|p| resolve(&module, &p)))
                            .flatten();
                        fields.push(PbField {
                            snake,
                            number,
                            ty,
                            map_value,
                            repeated,
                            message,
                        });
                    }
                    if !fields.is_empty() || s.attrs.iter().any(|a| a.path().is_ident("derive")) {
                        messages.insert(format!("{module}::{}", s.ident), fields);
                    }
                }
                syn::Item::Impl(i) => {
                    let is_resource = i
                        .trait_
                        .as_ref()
                        .and_then(|(_, p, _)| p.segments.last())
                        .is_some_and(|s| s.ident == "Resource");
                    if !is_resource {
                        continue;
                    }
                    for it in &i.items {
                        if let syn::ImplItem::Const(c) = it {
                            if c.ident == "API_VERSION" {
                                if let syn::Expr::Lit(l) = &c.expr {
                                    if let syn::Lit::Str(s) = &l.lit {
                                        api_versions.insert(module.clone(), s.value());
                                    }
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    let index: HashMap<&String, usize> = messages.keys().enumerate().map(|(i, k)| (k, i)).collect();
    let mut out = String::new();
    out.push_str(
        "// Generated by build.rs from the k8s-pb and k8s-openapi sources. Do not edit.\n\n",
    );
    out.push_str("/// Every protobuf message of k8s-pb, by index.\n");
    out.push_str("pub(crate) static MESSAGES: &[Msg] = &[\n");
    for (path, fields) in &messages {
        let (module, name) = path.rsplit_once("::").unwrap_or(("", path));
        let api = structs.get(path);
        let _ = writeln!(out, "    Msg {{ path: {path:?}, name: {name:?}, fields: &[");
        let _ = module;
        for f in fields {
            // k8s-pb's snake_case is not always k8s-openapi's (`non_resource_ur_ls`): match
            // case- and underscore-insensitively too.
            let norm = f.snake.replace('_', "").to_lowercase();
            let by_norm = |m: &HashMap<String, String>| {
                m.values().find(|j| j.to_lowercase() == norm).cloned()
            };
            let json = api
                .and_then(|s| s.json.get(&f.snake).cloned().or_else(|| by_norm(&s.json)))
                .or_else(|| global.get(&f.snake).cloned())
                .or_else(|| by_norm(&global))
                .unwrap_or_else(|| lower_camel(&f.snake));
            let required = api.is_some_and(|s| s.required.contains(&f.snake));
            // A message field k8s-openapi's struct lacks is a Go struct embedded inline.
            // (and whose message's fields are the struct's own).
            let inline = f.ty == "message"
                && !f.repeated
                && api.is_some_and(|s| {
                    !s.json.contains_key(&f.snake)
                        && by_norm(&s.json).is_none()
                        && f.message
                            .as_ref()
                            .and_then(|m| messages.get(m))
                            .is_some_and(|inner| {
                                inner.iter().any(|nf| s.json.contains_key(&nf.snake))
                            })
                });
            let msg_index = |m: &Option<String>| {
                m.as_ref()
                    .and_then(|m| index.get(m))
                    .copied()
                    .unwrap_or_else(|| panic!("{path}.{}: unknown message {m:?}", f.snake))
            };
            let ty = match (f.ty.as_str(), f.map_value.as_str()) {
                ("string", _) => "Ty::Str".to_string(),
                ("int32", _) => "Ty::Int32".to_string(),
                ("int64", _) => "Ty::Int64".to_string(),
                ("bool", _) => "Ty::Bool".to_string(),
                ("bytes", _) => "Ty::Bytes".to_string(),
                ("double", _) => "Ty::Double".to_string(),
                ("message", _) => format!("Ty::Message({})", msg_index(&f.message)),
                ("btree_map", "string") => "Ty::MapStr".to_string(),
                ("btree_map", "bytes") => "Ty::MapBytes".to_string(),
                ("btree_map", "message") => format!("Ty::MapMessage({})", msg_index(&f.message)),
                (t, v) => panic!("{path}.{}: unsupported prost type {t} {v}", f.snake),
            };
            let _ = writeln!(
                out,
                "        Field {{ number: {}, json: {json:?}, ty: {ty}, repeated: {}, required: {required}, inline: {inline} }},",
                f.number, f.repeated
            );
        }
        out.push_str("    ] },\n");
    }
    out.push_str("];\n\n");
    // Every message of a module with a known apiVersion is a root, by (apiVersion, kind).
    let mut roots: Vec<(String, String, usize)> = Vec::new();
    for (path, i) in &index {
        let (module, name) = path.rsplit_once("::").unwrap_or(("", path));
        if let Some(v) = api_versions.get(module) {
            roots.push((v.clone(), name.to_string(), *i));
        }
    }
    // Modules without `Resource` impls (metrics, meta) take their group from their path.
    for path in messages.keys() {
        let (module, name) = path.rsplit_once("::").unwrap_or(("", path));
        if api_versions.contains_key(module) {
            continue;
        }
        let parts: Vec<&str> = module.split("::").collect();
        let Some((version, group_dir)) =
            parts.split_last().and_then(|(v, r)| Some((*v, *r.last()?)))
        else {
            continue;
        };
        let group = match group_dir {
            "metrics" => "metrics.k8s.io".to_string(),
            "custom_metrics" => "custom.metrics.k8s.io".to_string(),
            "external_metrics" => "external.metrics.k8s.io".to_string(),
            "meta" => "meta.k8s.io".to_string(),
            g => match api_versions.iter().find(|(m, _)| {
                m.rsplit_once("::")
                    .is_some_and(|(p, _)| p.ends_with(&format!("::{g}")))
            }) {
                Some((_, v)) => v
                    .rsplit_once('/')
                    .map(|(g, _)| g.to_string())
                    .unwrap_or_default(),
                None => continue,
            },
        };
        let v = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        roots.push((v, name.to_string(), index[path]));
    }
    roots.sort();
    roots.dedup();
    out.push_str("/// Top-level messages by (apiVersion, kind).\n");
    out.push_str("pub(crate) static ROOTS: &[(&str, &str, usize)] = &[\n");
    for (v, k, i) in &roots {
        let _ = writeln!(out, "    ({v:?}, {k:?}, {i}),");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("k8s_pb_schema.rs");
    std::fs::write(dest, out).expect("write the generated schema");
}
