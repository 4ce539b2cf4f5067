//! LIST: label and field selectors, `limit` and `continue`, `resourceVersion` semantics, and
//! each object encoded as soon as it is read (as JSON or as a Table row).

use super::{object_from_kv, store_error};
use crate::meta::Query;
use crate::router::{json_bytes_response, Target};
use crate::table::{table_row, with_type_owned};
use crate::ApiServer;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use ordo_api::resources::ResourceInfo;
use ordo_api::selector::{field_value, FieldSelector, LabelSelector};
use ordo_api::status::ApiError;
use ordo_store::Revision;
use serde_json::{json, Value};

/// Whether `obj` passes both selectors.
pub(crate) fn matches(obj: &Value, label: &LabelSelector, field: &FieldSelector) -> bool {
    if !label.is_empty() && !label.matches(obj.pointer("/metadata/labels").unwrap_or(&Value::Null))
    {
        return false;
    }
    field.is_empty() || field.matches(|f| field_value(obj, f))
}

/// Field selector labels upstream supports per kind (plus `metadata.name`/`metadata.namespace`).
fn field_supported(info: &ResourceInfo, field: &str) -> bool {
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    if let Some(cr) = ordo_api::crd::by_info(info) {
        // A CRD's `selectableFields`.
        return cr.selectable_fields.iter().any(|f| f == field);
    }
    match (info.group, info.kind) {
        ("", "Pod") => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "spec.hostNetwork"
                | "status.phase"
                | "status.podIP"
                | "status.podIPs"
                | "status.nominatedNodeName"
        ),
        (_, "Event") => {
            field.starts_with("involvedObject.")
                || field.starts_with("regarding.")
                || matches!(
                    field,
                    "reason" | "reportingComponent" | "source" | "type" | "reportingController"
                )
        }
        ("", "Secret") => field == "type",
        ("", "Namespace") => field == "status.phase",
        ("", "Node") => field == "spec.unschedulable",
        ("apps", "ReplicaSet") => field == "status.replicas",
        _ => false,
    }
}

pub(super) fn selectors(t: &Target, q: &Query) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let label = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let field = FieldSelector::parse(q.get("fieldSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    for (f, _, _) in field.requirements() {
        if !field_supported(t.info, f) {
            return Err(ApiError::bad_request(format!(
                "field label not supported: {f}"
            )));
        }
    }
    Ok((label, field))
}

/// A `metadata.name=X` requirement, which lets a list read one key.
fn single_name(field: &FieldSelector) -> Option<String> {
    field
        .requirements()
        .find(|(f, eq, _)| *f == "metadata.name" && *eq)
        .map(|(_, _, v)| v.to_string())
}

impl ApiServer {
    /// Reads all objects under the target's prefix that pass the selectors, paged.
    pub(super) async fn collect(
        &self,
        t: &Target,
        q: &Query,
        label: &LabelSelector,
        field: &FieldSelector,
    ) -> Result<(Vec<Value>, Revision, Option<String>), ApiError> {
        let mut items = Vec::new();
        let (_, rev, cont) = self
            .collect_each(t, q, label, field, &mut |o| items.push(o))
            .await?;
        Ok((items, rev, cont))
    }

    /// [`Self::collect`] handing each object to `sink` as it is decoded, so that a large list
    /// is never held as decoded objects all at once. Returns how many objects were handed over.
    async fn collect_each(
        &self,
        t: &Target,
        q: &Query,
        label: &LabelSelector,
        field: &FieldSelector,
        sink: &mut (dyn FnMut(Value) + Send),
    ) -> Result<(usize, Revision, Option<String>), ApiError> {
        let info = t.info;
        let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(0);
        let (mut start, token_rev) = match q.get("continue").filter(|c| !c.is_empty()) {
            Some(c) => parse_continue(c)?,
            None => (None, None),
        };
        let prefix = info.ns_prefix(t.ns());
        if let (Some(name), None) = (single_name(field), &start) {
            if t.ns().is_some() || !info.namespaced {
                // The revision is read first: a watch from it then replays anything that changed
                // after the get (at worst twice), never misses it.
                let rev = self
                    .store
                    .current_revision()
                    .await
                    .map_err(|e| store_error(info, &name, e))?;
                let kv = self
                    .store
                    .get(&info.key(t.ns(), &name))
                    .await
                    .map_err(|e| store_error(info, &name, e))?;
                let mut n = 0;
                if let Some(kv) = kv {
                    let o = object_from_kv(&kv)?;
                    if matches(&o, label, field) {
                        sink(o);
                        n = 1;
                    }
                }
                return Ok((n, rev, None));
            }
        }
        let mut count = 0;
        let mut revision = None;
        loop {
            let want = if limit == 0 {
                0
            } else {
                (limit - count).max(if label.is_empty() && field.is_empty() {
                    1
                } else {
                    100
                })
            };
            let page = self
                .store
                .list(&prefix, start.as_deref(), want)
                .await
                .map_err(|e| store_error(info, "", e))?;
            revision.get_or_insert(page.revision);
            let mut last_key = None;
            for kv in &page.items {
                last_key = Some(kv.key.clone());
                let o = object_from_kv(kv)?;
                if matches(&o, label, field) {
                    sink(o);
                    count += 1;
                    if limit > 0 && count == limit {
                        break;
                    }
                }
            }
            let more = page.more || last_key.as_ref() != page.items.last().map(|kv| &kv.key);
            if limit > 0 && count >= limit && more {
                let rv = token_rev.unwrap_or(revision.unwrap_or(0));
                let token = json!({"rv": rv, "start": last_key});
                let token =
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string());
                return Ok((count, rv, Some(token)));
            }
            if !page.more {
                break;
            }
            start = last_key;
        }
        Ok((count, token_rev.unwrap_or(revision.unwrap_or(0)), None))
    }

    /// `GET` of a collection.
    pub(crate) async fn list(
        &self,
        t: &Target,
        q: &Query,
        table: bool,
    ) -> Result<Response, ApiError> {
        let (label, field) = selectors(t, q)?;
        if let Some(rv) = q
            .get("resourceVersion")
            .filter(|r| !r.is_empty() && *r != "0")
        {
            let want: Revision = rv
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?;
            self.wait_for_revision(want).await?;
            if q.get("resourceVersionMatch") == Some("Exact")
                && want != self.store.current_revision().await.unwrap_or(0)
            {
                return Err(ApiError::gone(format!(
                    "too old resource version: {want}; ordo lists only at the current revision"
                )));
            }
        }
        // Each object is encoded as soon as it is decoded (and then dropped): the response is
        // written piecewise, in the same shape and key order as the whole-document encoding.
        let (info, now, include) = (
            t.info,
            chrono::Utc::now(),
            q.get("includeObject").unwrap_or("Metadata"),
        );
        let mut body = Vec::new();
        let mut sink = |o: Value| {
            if !body.is_empty() {
                body.push(b',');
            }
            let v = if table {
                table_row(info, &o, include, now)
            } else {
                with_type_owned(info, o)
            };
            let _ = serde_json::to_writer(&mut body, &v);
        };
        let (_, rev, cont) = self.collect_each(t, q, &label, &field, &mut sink).await?;
        let mut meta = json!({"resourceVersion": rev.to_string()});
        if let Some(c) = cont {
            meta["continue"] = json!(c);
        }
        let head = if table {
            json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta})
        } else {
            json!({"kind": crate::table::list_kind(info), "apiVersion": info.api_version(), "metadata": meta})
        };
        let mut out = serde_json::to_vec(&head).unwrap_or_default();
        out.pop(); // the closing brace
        out.reserve(body.len() + 64);
        out.extend_from_slice(if table {
            b",\"rows\":["
        } else {
            b",\"items\":["
        });
        out.extend_from_slice(&body);
        drop(body);
        out.push(b']');
        if table {
            out.extend_from_slice(b",\"columnDefinitions\":");
            let _ = serde_json::to_writer(&mut out, &crate::table::columns(info));
        }
        out.push(b'}');
        Ok(json_bytes_response(StatusCode::OK, out))
    }

    /// Waits up to 3 s for the store to reach `want` (upstream: "Too large resource version").
    async fn wait_for_revision(&self, want: Revision) -> Result<(), ApiError> {
        for _ in 0..30 {
            let cur = self
                .store
                .current_revision()
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?;
            if cur >= want {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(ApiError {
            code: 504,
            reason: "Timeout",
            message: format!("Too large resource version: {want}"),
            details: Some(
                json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}),
            ),
        })
    }
}

/// The start key and revision of a `continue` token (base64url of `{"start", "rv"}`).
pub(crate) fn parse_continue(c: &str) -> Result<(Option<String>, Option<i64>), ApiError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| ApiError::bad_request("continue key is not valid"))?;
    let v: Value = serde_json::from_slice(&raw)
        .map_err(|_| ApiError::bad_request("continue key is not valid"))?;
    Ok((v["start"].as_str().map(str::to_string), v["rv"].as_i64()))
}
