//! Server-side printing: objects to `meta.k8s.io/v1` Tables.

use crate::meta::Query;
use ordo_api::printers;
use ordo_api::resources::ResourceInfo;
use serde_json::{json, Value};

/// A Table of `objs`; `includeObject` decides what `rows[].object` carries (PartialObjectMetadata
/// by default, the full object with `Object`, nothing with `None`).
pub(crate) fn to_table(
    info: &ResourceInfo,
    objs: &[Value],
    q: &Query,
    rv: &str,
    with_columns: bool,
) -> Value {
    let now = chrono::Utc::now();
    let include = q.get("includeObject").unwrap_or("Metadata");
    let rows: Vec<Value> = objs
        .iter()
        .map(|o| table_row(info, o, include, now))
        .collect();
    let mut t = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "rows": rows});
    if with_columns {
        t["columnDefinitions"] = json!(columns(info));
    }
    t
}

/// One Table row of `o`; `include` is the `includeObject` parameter (`Metadata` by default).
pub(crate) fn table_row(
    info: &ResourceInfo,
    o: &Value,
    include: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    let mut row = json!({"cells": cells(info, o, now)});
    match include {
        "None" => {}
        "Object" => row["object"] = with_type(info, o),
        _ => {
            row["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata").cloned().unwrap_or(json!({})),
            })
        }
    }
    row
}

/// The object with `kind` and `apiVersion` set.
pub(crate) fn with_type(info: &ResourceInfo, o: &Value) -> Value {
    with_type_owned(info, o.clone())
}

/// [`with_type`] without copying the object.
pub(crate) fn with_type_owned(info: &ResourceInfo, mut o: Value) -> Value {
    if let Some(m) = o.as_object_mut() {
        m.insert("kind".into(), json!(info.kind));
        m.insert("apiVersion".into(), json!(info.api_version()));
    }
    o
}

/// The Table columns of a resource: its CRD's printer columns for a custom resource,
/// else the built-in printer's.
pub(crate) fn columns(info: &ResourceInfo) -> Vec<Value> {
    match ordo_api::crd::by_info(info) {
        Some(cr) => ordo_api::crd::columns(&cr),
        None => printers::columns(info.kind),
    }
}

/// The cells of one row, matching [`columns`].
pub(crate) fn cells(
    info: &ResourceInfo,
    o: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Value> {
    match ordo_api::crd::by_info(info) {
        Some(cr) => ordo_api::crd::cells(&cr, o, now),
        None => printers::cells(info.kind, o, now),
    }
}

/// The kind of a list of `info`'s objects (a CRD's `listKind`, else `<Kind>List`).
pub(crate) fn list_kind(info: &ResourceInfo) -> String {
    match ordo_api::crd::by_info(info) {
        Some(cr) => cr.list_kind.clone(),
        None => format!("{}List", info.kind),
    }
}
