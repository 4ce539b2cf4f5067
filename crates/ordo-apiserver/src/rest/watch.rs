//! WATCH: chunked JSON lines from a store watch, selector-filtered, as Tables when asked, with
//! bookmarks, initial events and `410 Expired` for compacted revisions; the [`LineCache`]
//! shares encoded lines between watchers without selectors.

use super::list::{matches, selectors};
use super::{object_from_kv, store_error};
use crate::meta::{meta_str, Query};
use crate::router::{stream_response, Target};
use crate::table::{to_table, with_type};
use crate::ApiServer;
use axum::response::Response;
use futures::StreamExt;
use ordo_api::resources::ResourceInfo;
use ordo_api::selector::{FieldSelector, LabelSelector};
use ordo_api::status::ApiError;
use ordo_store::{Revision, StoreError, WatchEvent};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

impl ApiServer {
    /// `GET` of a collection with `watch=true`.
    pub(crate) async fn watch(
        self: &Arc<Self>,
        t: &Target,
        q: &Query,
        table: bool,
        proto: bool,
    ) -> Result<Response, ApiError> {
        let proto = proto && !table;
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
            rv.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?
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
            if proto {
                let ty = ev["type"].as_str().unwrap_or_default();
                match crate::protobuf::watch_frame(ty, &ev["object"]) {
                    Ok(frame) => return bytes::Bytes::from(frame),
                    Err(e) => tracing::warn!(error = %e, "cannot encode a watch event as protobuf"),
                }
            }
            let mut b = serde_json::to_vec(&ev).unwrap_or_default();
            b.push(b'\n');
            bytes::Bytes::from(b)
        };
        let mut first = true;
        let mut stream = match stream {
            Ok(s) => s,
            Err(StoreError::Compacted {
                requested,
                compacted,
            }) => {
                let e = ApiError::gone(format!(
                    "too old resource version: {requested} ({compacted})"
                ));
                let line = encode(
                    json!({"type": "ERROR", "object": e.to_status()}),
                    &mut first,
                );
                let _ = tx.send(Ok(line)).await;
                drop(tx);
                return Ok(stream_response(
                    axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
                    proto,
                ));
            }
            Err(e) => return Err(store_error(info, "", e)),
        };
        // Watchers without selectors and Tables all send the same line for a change: the
        // first one encodes it, the others reuse it.
        let shared =
            (!table && !proto && label.is_empty() && field.is_empty()).then(|| self.clone());
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
                        let mut line = || translate(&ev, &label, &field).map(|out| encode(out, &mut first));
                        let line = match &shared {
                            Some(server) => server.watch_lines.get_or_insert(line_key(info_c, &ev), line),
                            None => line(),
                        };
                        if let Some(line) = line {
                            if tx.send(Ok(line)).await.is_err() { return; }
                        }
                    }
                }
            }
        });
        Ok(stream_response(
            axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
            proto,
        ))
    }
}

/// Encoded watch lines of recent changes, shared by the watchers that have no selectors and
/// want JSON: a change fanned out to N such watchers is decoded and encoded once, not N times.
#[derive(Default)]
pub(crate) struct LineCache {
    lines: std::sync::Mutex<(HashMap<LineKey, bytes::Bytes>, VecDeque<LineKey>)>,
}

/// (revision, resource, kind of change): a revision names one write of one key, so this
/// determines the line of an unfiltered watcher.
type LineKey = (Revision, usize, u8);

/// Lines kept: enough for watchers that are up to this many changes apart.
const LINE_CACHE: usize = 1024;

fn line_key(info: &'static ResourceInfo, ev: &WatchEvent) -> LineKey {
    let change = match ev {
        WatchEvent::Put { prev: None, .. } => 0,
        WatchEvent::Put { prev: Some(_), .. } => 1,
        WatchEvent::Delete { .. } => 2,
    };
    (ev.revision(), info as *const ResourceInfo as usize, change)
}

impl LineCache {
    /// The cached line for `key`, or `make()` (cached when it is `Some`).
    fn get_or_insert(
        &self,
        key: LineKey,
        make: impl FnOnce() -> Option<bytes::Bytes>,
    ) -> Option<bytes::Bytes> {
        if let Some(line) = self
            .lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .get(&key)
        {
            return Some(line.clone());
        }
        let line = make()?;
        let mut guard = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        if map.insert(key, line.clone()).is_none() {
            order.push_back(key);
            while order.len() > LINE_CACHE {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
        Some(line)
    }
}

/// A store change as the watch event a selector-filtered watcher sees, if any.
fn translate(ev: &WatchEvent, label: &LabelSelector, field: &FieldSelector) -> Option<Value> {
    match ev {
        WatchEvent::Put { kv, prev } if label.is_empty() && field.is_empty() => {
            // Everything matches: the previous value only tells ADDED from MODIFIED.
            let cur = object_from_kv(kv).ok()?;
            Some(json!({"type": if prev.is_some() { "MODIFIED" } else { "ADDED" }, "object": cur}))
        }
        WatchEvent::Put { kv, prev } => {
            let cur = object_from_kv(kv).ok()?;
            let cur_ok = matches(&cur, label, field);
            let old = prev.as_ref().and_then(|p| object_from_kv(p).ok());
            let old_ok = old.as_ref().is_some_and(|o| matches(o, label, field));
            match (old.is_some(), old_ok, cur_ok) {
                (false, _, true) | (true, false, true) => {
                    Some(json!({"type": "ADDED", "object": cur}))
                }
                (true, true, true) => Some(json!({"type": "MODIFIED", "object": cur})),
                (true, true, false) => {
                    let mut o = old.unwrap_or_default();
                    crate::meta::meta_mut(&mut o)
                        .insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
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
            crate::meta::meta_mut(&mut o)
                .insert("resourceVersion".into(), json!(revision.to_string()));
            Some(json!({"type": "DELETED", "object": o}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_cache_encodes_once_and_evicts_oldest() {
        let cache = LineCache::default();
        let mut made = 0;
        for _ in 0..3 {
            let line = cache.get_or_insert((1, 7, 0), || {
                made += 1;
                Some(bytes::Bytes::from_static(b"a\n"))
            });
            assert_eq!(line.as_deref(), Some(&b"a\n"[..]));
        }
        assert_eq!(made, 1);
        // Nothing is cached for a change that has no line.
        assert_eq!(cache.get_or_insert((2, 7, 0), || None), None);
        for rev in 3..3 + LINE_CACHE as i64 {
            cache.get_or_insert((rev, 7, 0), || Some(bytes::Bytes::new()));
        }
        assert_eq!(cache.lines.lock().unwrap().0.len(), LINE_CACHE);
        let again = cache.get_or_insert((1, 7, 0), || Some(bytes::Bytes::from_static(b"b\n")));
        assert_eq!(
            again.as_deref(),
            Some(&b"b\n"[..]),
            "the oldest line was evicted"
        );
    }

    #[test]
    fn unfiltered_translation_skips_the_previous_value() {
        let kv = |rev, value: &[u8]| ordo_store::KeyValue {
            key: "/registry/pods/d/a".into(),
            value: value.to_vec(),
            create_revision: 1,
            mod_revision: rev,
        };
        let (label, field) = (LabelSelector::default(), FieldSelector::default());
        // A corrupt previous value does not matter when nothing is filtered.
        let ev = WatchEvent::Put {
            kv: kv(2, br#"{"metadata":{"name":"a"}}"#),
            prev: Some(kv(1, b"not json")),
        };
        let out = translate(&ev, &label, &field).unwrap();
        assert_eq!(out["type"], "MODIFIED");
        assert_eq!(out["object"]["metadata"]["resourceVersion"], "2");
        let ev = WatchEvent::Put {
            kv: kv(3, br#"{"metadata":{"name":"a"}}"#),
            prev: None,
        };
        assert_eq!(translate(&ev, &label, &field).unwrap()["type"], "ADDED");
    }
}
