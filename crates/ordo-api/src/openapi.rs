//! OpenAPI v3 documents: one per group-version, with component schemas from k8s-openapi
//! (what `kubectl explain` reads) and the PATCH operations declaring `fieldValidation`
//! (what `kubectl apply` checks before it trusts the server to validate).

use crate::resources::{ResourceInfo, RESOURCES};
use schemars::{generate::SchemaSettings, JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

/// The group-versions served, as OpenAPI v3 path keys (`api/v1`, `apis/apps/v1`).
pub fn group_versions() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in RESOURCES.iter().chain(crate::crd::infos()) {
        let key = r.gv_path().trim_start_matches('/').to_string();
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

fn add<T: JsonSchema>(
    g: &mut SchemaGenerator,
    names: &mut Vec<(String, &'static ResourceInfo)>,
    info: &'static ResourceInfo,
) {
    g.subschema_for::<T>();
    names.push((T::schema_name().into_owned(), info));
}

macro_rules! add_schema {
    ($info:expr, $gen:expr, $names:expr ; { $( ($g:expr, $k:expr) => $t:ty ),* $(,)? }) => {
        match ($info.group, $info.kind) {
            $( ($g, $k) => add::<$t>($gen, $names, $info), )*
            _ => {}
        }
    };
}

/// Whether `gv` is served by custom resources only.
pub fn is_custom(gv: &str) -> bool {
    RESOURCES
        .iter()
        .all(|r| r.gv_path().trim_start_matches('/') != gv)
}

/// The component name upstream gives a custom kind: the group reversed, the version, the
/// kind (`com.example.v1.Widget`).
fn custom_schema_name(info: &ResourceInfo) -> String {
    let mut parts: Vec<&str> = info.group.split('.').collect();
    parts.reverse();
    format!("{}.{}.{}", parts.join("."), info.version, info.kind)
}

/// The schemas of a group-version served by CRDs: each kind's `openAPIV3Schema` with
/// `apiVersion`, `kind` and `metadata` (ObjectMeta) declared.
fn custom_schemas_for(gv: &str) -> (Map<String, Value>, Vec<(String, &'static ResourceInfo)>) {
    let mut g = SchemaSettings::openapi3().into_generator();
    g.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>();
    let mut schemas = g.take_definitions(true);
    let mut names = Vec::new();
    for info in crate::crd::infos()
        .into_iter()
        .filter(|r| r.gv_path().trim_start_matches('/') == gv)
    {
        let Some(cr) = crate::crd::find(info.group, info.version, info.plural) else {
            continue;
        };
        let mut schema = cr
            .schema
            .clone()
            .unwrap_or(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
        if !schema["properties"].is_object() {
            schema["properties"] = json!({});
        }
        let props = &mut schema["properties"];
        props["apiVersion"] = json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"});
        props["kind"] = json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"});
        props["metadata"] = json!({"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"});
        let name = custom_schema_name(info);
        schemas.insert(name.clone(), schema);
        names.push((name, info));
    }
    (schemas, names)
}

fn schemas_for(gv: &str) -> (Map<String, Value>, Vec<(String, &'static ResourceInfo)>) {
    if is_custom(gv) {
        return custom_schemas_for(gv);
    }
    let mut g = SchemaSettings::openapi3().into_generator();
    let mut names = Vec::new();
    for info in RESOURCES
        .iter()
        .filter(|r| r.gv_path().trim_start_matches('/') == gv)
    {
        if (info.group, info.version) == ("autoscaling", "v1") {
            // The typed kinds are the stored versions; v1 has its own schema.
            add::<k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler>(
                &mut g, &mut names, info,
            );
            continue;
        }
        crate::resources::with_typed_kinds!(add_schema!(info, &mut g, &mut names));
    }
    if gv == "apis/apps/v1" {
        // Scale is served by the apps resources' scale subresource.
        g.subschema_for::<k8s_openapi::api::autoscaling::v1::Scale>();
    }
    (g.take_definitions(true), names)
}

/// The `/openapi/v3` root: one entry per group-version with a URL whose hash changes with content.
pub fn root(hash: impl Fn(&str) -> String) -> Value {
    let mut paths = Map::new();
    for gv in group_versions() {
        let url = format!("/openapi/v3/{gv}?hash={}", hash(&gv));
        paths.insert(gv, json!({ "serverRelativeURL": url }));
    }
    json!({ "paths": paths })
}

/// The OpenAPI v3 document of one group-version (`api/v1`, `apis/apps/v1`), or None.
pub fn document(gv: &str) -> Option<Value> {
    if !group_versions().iter().any(|g| g == gv) {
        return None;
    }
    let (mut schemas, names) = schemas_for(gv);
    let mut paths = Map::new();
    for (schema_name, info) in &names {
        let gvk = json!({"group": info.group, "version": info.version, "kind": info.kind});
        if let Some(Value::Object(s)) = schemas.get_mut(schema_name) {
            s.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([gvk.clone()]),
            );
        }
        let reference = json!({"$ref": format!("#/components/schemas/{schema_name}")});
        let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}});
        let query = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
        let base = if info.namespaced {
            format!(
                "{}/namespaces/{{namespace}}/{}",
                info.gv_path(),
                info.plural
            )
        } else {
            format!("{}/{}", info.gv_path(), info.plural)
        };
        let op = |action: &str, params: Vec<Value>| {
            json!({
                "operationId": format!("{action}{}", info.kind),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": params,
                "responses": ok,
            })
        };
        let write_params = || {
            vec![
                query("dryRun"),
                query("fieldManager"),
                query("fieldValidation"),
            ]
        };
        paths.insert(
            base.clone(),
            json!({
                "get": op("list", vec![query("labelSelector"), query("fieldSelector"), query("limit"), query("continue"), query("watch")]),
                "post": op("post", write_params()),
            }),
        );
        let mut patch_params = write_params();
        patch_params.push(query("force"));
        paths.insert(
            format!("{base}/{{name}}"),
            json!({
                "get": op("get", vec![]),
                "put": op("put", write_params()),
                "patch": op("patch", patch_params),
                "delete": op("delete", vec![query("dryRun"), query("gracePeriodSeconds"), query("propagationPolicy")]),
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_document_declares_field_validation_on_patch() {
        let doc = document("apis/apps/v1").unwrap();
        let p = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}"]["patch"];
        assert_eq!(p["x-kubernetes-group-version-kind"]["kind"], "StatefulSet");
        assert!(p["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["name"] == "fieldValidation"));
        let s = &doc["components"]["schemas"]["io.k8s.api.apps.v1.StatefulSet"];
        assert_eq!(
            s["x-kubernetes-group-version-kind"][0]["kind"],
            "StatefulSet"
        );
        assert!(doc["components"]["schemas"]["io.k8s.api.apps.v1.StatefulSetSpec"].is_object());
    }

    #[test]
    fn root_lists_every_group_version() {
        let r = root(|_| "X".into());
        assert_eq!(
            r["paths"]["api/v1"]["serverRelativeURL"],
            "/openapi/v3/api/v1?hash=X"
        );
        assert!(r["paths"]["apis/storage.k8s.io/v1"].is_object());
        assert!(document("apis/nope/v1").is_none());
    }
}
