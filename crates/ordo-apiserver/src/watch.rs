//! LIST (with selectors, limit and continue) and WATCH (chunked JSON lines, bookmarks,
//! Tables, `410 Expired` for compacted revisions).

use crate::meta::{meta_str, Query};
use crate::rest::{object_from_kv, store_error};
use crate::router::{json_response, stream_response, Target};
use crate::table::{to_table, with_type};
use crate::ApiServer;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use futures::StreamExt;
use ordo_api::resources::ResourceInfo;
use ordo_api::selector::{field_value, FieldSelector, LabelSelector};
use ordo_api::status::ApiError;
use ordo_store::{Revision, StoreError, WatchEvent};
use serde_json::{json, Value};
use std::sync::Arc;

/// Whether `obj` passes both selectors.
pub(crate) fn matches(obj: &Value, label: &LabelSelector, field: &FieldSelector) -> bool {
    if !label.is_empty() && !label.matches(obj.pointer("/metadata/labels").unwrap_or(&Value::Null)) {
        return false;
    }
    field.is_empty() || field.matches(|f| field_value(obj, f))
}

/// Field selector labels upstream supports per kind (plus `metadata.name`/`metadata.namespace`).
fn field_supported(info: &ResourceInfo, field: &str) -> bool {
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match (info.group, info.kind) {
        ("", "Pod") => matches!(
            field,
            "spec.nodeName" | "spec.restartPolicy" | "spec.schedulerName" | "spec.serviceAccountName" | "spec.hostNetwork" | "status.phase" | "status.podIP" | "status.podIPs" | "status.nominatedNodeName"
        ),
        (_, "Event") => field.starts_with("involvedObject.") || field.starts_with("regarding.") || matches!(field, "reason" | "reportingComponent" | "source" | "type" | "reportingController"),
        ("", "Secret") => field == "type",
        ("", "Namespace") => field == "status.phase",
        ("", "Node") => field == "spec.unschedulable",
        ("apps", "ReplicaSet") => field == "status.replicas",
        _ => false,
    }
}

fn selectors(t: &Target, q: &Query) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let label = LabelSelector::parse(q.get("labelSelector").unwrap_or("")).map_err(ApiError::bad_request)?;
    let field = FieldSelector::parse(q.get("fieldSelector").unwrap_or("")).map_err(ApiError::bad_request)?;
    for (f, _, _) in field.requirements() {
        if !field_supported(t.info, f) {
            return Err(ApiError::bad_request(format!("field label not supported: {f}")));
        }
    }
    Ok((label, field))
}

/// A `metadata.name=X` requirement, which lets a list read one key.
fn single_name(field: &FieldSelector) -> Option<String> {
    field.requirements().find(|(f, eq, _)| *f == "metadata.name" && *eq).map(|(_, _, v)| v.to_string())
}

impl ApiServer {
    /// Reads all objects under the target's prefix that pass the selectors, paged.
    async fn collect(&self, t: &Target, q: &Query, label: &LabelSelector, field: &FieldSelector) -> Result<(Vec<Value>, Revision, Option<String>), ApiError> {
        let info = t.info;
        let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(0);
        let (mut start, token_rev) = match q.get("continue").filter(|c| !c.is_empty()) {
            Some(c) => {
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).map_err(|_| ApiError::bad_request("continue key is not valid"))?;
                let v: Value = serde_json::from_slice(&raw).map_err(|_| ApiError::bad_request("continue key is not valid"))?;
                (v["start"].as_str().map(str::to_string), v["rv"].as_i64())
            }
            None => (None, None),
        };
        let prefix = info.ns_prefix(t.ns());
        if let (Some(name), None) = (single_name(field), &start) {
            if t.ns().is_some() || !info.namespaced {
                // The revision is read first: a watch from it then replays anything that changed
                // after the get (at worst twice), never misses it.
                let rev = self.store.current_revision().await.map_err(|e| store_error(info, &name, e))?;
                let kv = self.store.get(&info.key(t.ns(), &name)).await.map_err(|e| store_error(info, &name, e))?;
                let items = match kv {
                    Some(kv) => {
                        let o = object_from_kv(&kv)?;
                        if matches(&o, label, field) { vec![o] } else { vec![] }
                    }
                    None => vec![],
                };
                return Ok((items, rev, None));
            }
        }
        let mut items = Vec::new();
        let mut revision = None;
        loop {
            let want = if limit == 0 { 0 } else { (limit - items.len()).max(if label.is_empty() && field.is_empty() { 1 } else { 100 }) };
            let page = self.store.list(&prefix, start.as_deref(), want).await.map_err(|e| store_error(info, "", e))?;
            revision.get_or_insert(page.revision);
            let mut last_key = None;
            for kv in &page.items {
                last_key = Some(kv.key.clone());
                let o = object_from_kv(kv)?;
                if matches(&o, label, field) {
                    items.push(o);
                    if limit > 0 && items.len() == limit {
                        break;
                    }
                }
            }
            let more = page.more || last_key.as_ref() != page.items.last().map(|kv| &kv.key);
            if limit > 0 && items.len() >= limit && more {
                let rv = token_rev.unwrap_or(revision.unwrap_or(0));
                let token = json!({"rv": rv, "start": last_key});
                let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string());
                return Ok((items, rv, Some(token)));
            }
            if !page.more {
                break;
            }
            start = last_key;
        }
        Ok((items, token_rev.unwrap_or(revision.unwrap_or(0)), None))
    }

    /// `GET` of a collection.
    pub(crate) async fn list(&self, t: &Target, q: &Query, table: bool) -> Result<Response, ApiError> {
        let (label, field) = selectors(t, q)?;
        if let Some(rv) = q.get("resourceVersion").filter(|r| !r.is_empty() && *r != "0") {
            let want: Revision = rv.parse().map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?;
            self.wait_for_revision(want).await?;
            if q.get("resourceVersionMatch") == Some("Exact") && want != self.store.current_revision().await.unwrap_or(0) {
                return Err(ApiError::gone(format!("too old resource version: {want}; ordo lists only at the current revision")));
            }
        }
        let (items, rev, cont) = self.collect(t, q, &label, &field).await?;
        if table {
            let mut v = to_table(t.info, &items, q, &rev.to_string(), true);
            if let Some(c) = cont {
                v["metadata"]["continue"] = json!(c);
            }
            return Ok(json_response(StatusCode::OK, &v));
        }
        let items: Vec<Value> = items.iter().map(|o| with_type(t.info, o)).collect();
        let mut meta = json!({"resourceVersion": rev.to_string()});
        if let Some(c) = cont {
            meta["continue"] = json!(c);
        }
        let list = json!({"kind": format!("{}List", t.info.kind), "apiVersion": t.info.api_version(), "metadata": meta, "items": items});
        Ok(json_response(StatusCode::OK, &list))
    }

    /// Waits up to 3 s for the store to reach `want` (upstream: "Too large resource version").
    async fn wait_for_revision(&self, want: Revision) -> Result<(), ApiError> {
        for _ in 0..30 {
            let cur = self.store.current_revision().await.map_err(|e| ApiError::internal(e.to_string()))?;
            if cur >= want {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(ApiError { code: 504, reason: "Timeout", message: format!("Too large resource version: {want}"), details: Some(json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1})) })
    }

    /// `GET` of a collection with `watch=true`.
    pub(crate) async fn watch(self: &Arc<Self>, t: &Target, q: &Query, table: bool) -> Result<Response, ApiError> {
        let (label, field) = selectors(t, q)?;
        let info = t.info;
        let rv = q.get("resourceVersion").unwrap_or("").to_string();
        let send_initial = q.flag("sendInitialEvents");
        let bookmarks = q.flag("allowWatchBookmarks");
        let timeout = q
            .get("timeoutSeconds")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| 1800 + rand::random::<u64>() % 1800);
        let mut lines: Vec<Value> = Vec::new();
        let start: Revision = if rv.is_empty() || rv == "0" || send_initial {
            let (items, rev, _) = self.collect(t, &Query::default(), &label, &field).await?;
            for o in items {
                lines.push(json!({"type": "ADDED", "object": o}));
            }
            if send_initial {
                lines.push(json!({"type": "BOOKMARK", "object": {"kind": info.kind, "apiVersion": info.api_version(), "metadata": {"resourceVersion": rev.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}}}));
            }
            rev
        } else {
            rv.parse().map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(256);
        let stream = self.store.watch(&info.ns_prefix(t.ns()), start).await;
        let info_c: &'static ResourceInfo = info;
        let q = q.clone();
        let encode = move |ev: Value, first: &mut bool| -> bytes::Bytes {
            let ev = if table && ev["type"] != "ERROR" && ev["type"] != "BOOKMARK" {
                let obj = ev["object"].clone();
                let rv = meta_str(&obj, "resourceVersion").unwrap_or("").to_string();
                let t = to_table(info_c, &[obj], &q, &rv, *first);
                *first = false;
                json!({"type": ev["type"], "object": t})
            } else if ev["type"] == "ERROR" || ev["type"] == "BOOKMARK" {
                ev
            } else {
                json!({"type": ev["type"], "object": with_type(info_c, &ev["object"])})
            };
            let mut b = serde_json::to_vec(&ev).unwrap_or_default();
            b.push(b'\n');
            bytes::Bytes::from(b)
        };
        let mut first = true;
        let mut stream = match stream {
            Ok(s) => s,
            Err(StoreError::Compacted { requested, compacted }) => {
                let e = ApiError::gone(format!("too old resource version: {requested} ({compacted})"));
                let line = encode(json!({"type": "ERROR", "object": e.to_status()}), &mut first);
                let _ = tx.send(Ok(line)).await;
                drop(tx);
                return Ok(stream_response(axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))));
            }
            Err(e) => return Err(store_error(info, "", e)),
        };
        tokio::spawn(async move {
            for l in lines {
                if tx.send(Ok(encode(l, &mut first))).await.is_err() {
                    return;
                }
            }
            let deadline = tokio::time::sleep(std::time::Duration::from_secs(timeout));
            tokio::pin!(deadline);
            let mut bookmark = tokio::time::interval(std::time::Duration::from_secs(60));
            bookmark.tick().await;
            let mut last = start;
            loop {
                tokio::select! {
                    _ = &mut deadline => return,
                    _ = tx.closed() => return,
                    _ = bookmark.tick() => {
                        if bookmarks && !table {
                            let ev = json!({"type": "BOOKMARK", "object": {"kind": info_c.kind, "apiVersion": info_c.api_version(), "metadata": {"resourceVersion": last.to_string()}}});
                            if tx.send(Ok(encode(ev, &mut first))).await.is_err() { return; }
                        }
                    }
                    item = stream.next() => {
                        let Some(item) = item else { return };
                        let ev = match item {
                            Ok(ev) => ev,
                            Err(e) => {
                                let status = match e {
                                    StoreError::Compacted { requested, compacted } => ApiError::gone(format!("too old resource version: {requested} ({compacted})")),
                                    other => ApiError::internal(other.to_string()),
                                };
                                let _ = tx.send(Ok(encode(json!({"type": "ERROR", "object": status.to_status()}), &mut first))).await;
                                return;
                            }
                        };
                        last = ev.revision();
                        if let Some(out) = translate(&ev, &label, &field) {
                            if tx.send(Ok(encode(out, &mut first))).await.is_err() { return; }
                        }
                    }
                }
            }
        });
        Ok(stream_response(axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }
}

/// A store change as the watch event a selector-filtered watcher sees, if any.
fn translate(ev: &WatchEvent, label: &LabelSelector, field: &FieldSelector) -> Option<Value> {
    match ev {
        WatchEvent::Put { kv, prev } => {
            let cur = object_from_kv(kv).ok()?;
            let cur_ok = matches(&cur, label, field);
            let old = prev.as_ref().and_then(|p| object_from_kv(p).ok());
            let old_ok = old.as_ref().is_some_and(|o| matches(o, label, field));
            match (old.is_some(), old_ok, cur_ok) {
                (false, _, true) | (true, false, true) => Some(json!({"type": "ADDED", "object": cur})),
                (true, true, true) => Some(json!({"type": "MODIFIED", "object": cur})),
                (true, true, false) => {
                    let mut o = old.unwrap_or_default();
                    crate::meta::meta_mut(&mut o).insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
                    Some(json!({"type": "DELETED", "object": o}))
                }
                _ => None,
            }
        }
        WatchEvent::Delete { prev, revision } => {
            let mut o = object_from_kv(prev).ok()?;
            if !matches(&o, label, field) {
                return None;
            }
            crate::meta::meta_mut(&mut o).insert("resourceVersion".into(), json!(revision.to_string()));
            Some(json!({"type": "DELETED", "object": o}))
        }
    }
}
