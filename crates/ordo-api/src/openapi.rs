//! OpenAPI v3 documents: one per group-version, with component schemas from k8s-openapi
//! (what `kubectl explain` reads) and the PATCH operations declaring `fieldValidation`
//! (what `kubectl apply` checks before it trusts the server to validate).

use crate::resources::{ResourceInfo, RESOURCES};
use schemars::{generate::SchemaSettings, JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

/// The group-versions served, as OpenAPI v3 path keys (`api/v1`, `apis/apps/v1`).
pub fn group_versions() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in RESOURCES {
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

fn schemas_for(gv: &str) -> (Map<String, Value>, Vec<(String, &'static ResourceInfo)>) {
    use k8s_openapi::api::{
        apps::v1 as apps, coordination::v1 as coord, core::v1 as core, discovery::v1 as disc,
        events::v1 as events, storage::v1 as storage,
    };
    let mut g = SchemaSettings::openapi3().into_generator();
    let mut names = Vec::new();
    for info in RESOURCES
        .iter()
        .filter(|r| r.gv_path().trim_start_matches('/') == gv)
    {
        match (info.group, info.kind) {
            ("", "Binding") => add::<core::Binding>(&mut g, &mut names, info),
            ("", "ConfigMap") => add::<core::ConfigMap>(&mut g, &mut names, info),
            ("", "Endpoints") => add::<core::Endpoints>(&mut g, &mut names, info),
            ("", "Event") => add::<core::Event>(&mut g, &mut names, info),
            ("", "Namespace") => add::<core::Namespace>(&mut g, &mut names, info),
            ("", "Node") => add::<core::Node>(&mut g, &mut names, info),
            ("", "PersistentVolumeClaim") => {
                add::<core::PersistentVolumeClaim>(&mut g, &mut names, info)
            }
            ("", "PersistentVolume") => add::<core::PersistentVolume>(&mut g, &mut names, info),
            ("", "Pod") => add::<core::Pod>(&mut g, &mut names, info),
            ("", "Secret") => add::<core::Secret>(&mut g, &mut names, info),
            ("", "ServiceAccount") => add::<core::ServiceAccount>(&mut g, &mut names, info),
            ("", "Service") => add::<core::Service>(&mut g, &mut names, info),
            ("apps", "ControllerRevision") => {
                add::<apps::ControllerRevision>(&mut g, &mut names, info)
            }
            ("apps", "Deployment") => add::<apps::Deployment>(&mut g, &mut names, info),
            ("apps", "ReplicaSet") => add::<apps::ReplicaSet>(&mut g, &mut names, info),
            ("apps", "StatefulSet") => add::<apps::StatefulSet>(&mut g, &mut names, info),
            ("coordination.k8s.io", "Lease") => add::<coord::Lease>(&mut g, &mut names, info),
            ("discovery.k8s.io", "EndpointSlice") => {
                add::<disc::EndpointSlice>(&mut g, &mut names, info)
            }
            ("events.k8s.io", "Event") => add::<events::Event>(&mut g, &mut names, info),
            ("storage.k8s.io", "StorageClass") => {
                add::<storage::StorageClass>(&mut g, &mut names, info)
            }
            _ => {}
        }
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
