//! `metrics.k8s.io/v1beta1`: NodeMetrics and PodMetrics, what metrics-server serves as an
//! aggregated API upstream. ordo does metrics-server's work itself: every resolution period
//! (`--metric-resolution`, 15 s) it scrapes each Node's agent at `/metrics/resource` (found
//! like the pod proxy finds it, through `status.daemonEndpoints`), keeps the last two scrapes,
//! and serves CPU as the rate between them and memory as the latest working set. `sample.rs`
//! parses a scrape and computes the rates.

mod sample;

use crate::meta::{meta_str, Query};
use crate::router::{json_response, Target};
use crate::ApiServer;
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use ordo_api::resources;
use ordo_api::selector::{FieldSelector, LabelSelector};
use ordo_api::status::ApiError;
use sample::{cpu_quantity, memory_quantity, rate, Scrape, Usage};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The last two scrapes of each node.
#[derive(Default)]
pub(crate) struct Samples {
    nodes: Mutex<HashMap<String, (Option<Scrape>, Scrape)>>,
}

impl Samples {
    fn record(&self, node: &str, s: Scrape) {
        let mut nodes = self.nodes.lock().unwrap();
        let prev = nodes.remove(node).map(|(_, cur)| cur);
        nodes.insert(node.to_string(), (prev, s));
    }

    fn forget_except(&self, keep: &[String]) {
        self.nodes.lock().unwrap().retain(|n, _| keep.contains(n));
    }

    /// The usage of a node over its last two scrapes.
    fn node(&self, node: &str) -> Option<Usage> {
        let nodes = self.nodes.lock().unwrap();
        let (prev, cur) = nodes.get(node)?;
        rate(prev.as_ref()?.node.as_ref()?, cur.node.as_ref()?)
    }

    /// The usage of each container of pod `ns/name` (any node), in the order of the scrape;
    /// None unless every container the last scrape saw has a rate.
    fn pod(&self, ns: &str, name: &str) -> Option<Vec<(String, Usage)>> {
        let nodes = self.nodes.lock().unwrap();
        for (prev, cur) in nodes.values() {
            let mut out: Vec<(String, Usage)> = Vec::new();
            let mut seen = false;
            for ((cns, pod, container), p) in &cur.containers {
                if cns != ns || pod != name {
                    continue;
                }
                seen = true;
                let key = (cns.clone(), pod.clone(), container.clone());
                let before = prev.as_ref().and_then(|s| s.containers.get(&key))?;
                out.push((container.clone(), rate(before, p)?));
            }
            if seen {
                out.sort_by(|a, b| a.0.cmp(&b.0));
                return Some(out);
            }
        }
        None
    }
}

/// Scrapes every node's agent each `resolution` until the server stops.
pub(crate) async fn scrape_loop(server: Arc<ApiServer>, resolution: Duration) {
    let mut tick = tokio::time::interval(resolution.max(Duration::from_millis(200)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let nodes_info = resources::find("", "v1", "nodes").expect("nodes are served");
    loop {
        tick.tick().await;
        let Ok(page) = server.store.list(&nodes_info.key_prefix(), None, 0).await else {
            continue;
        };
        let nodes: Vec<Value> = page
            .items
            .iter()
            .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
            .collect();
        let names: Vec<String> = nodes
            .iter()
            .filter_map(|n| meta_str(n, "name").map(str::to_string))
            .collect();
        server.resource_metrics.forget_except(&names);
        let scrapes = nodes.iter().filter_map(|n| {
            let name = meta_str(n, "name")?.to_string();
            let (addr, port) = crate::proxy::kubelet_endpoint(n)?;
            let token = server.token.clone();
            Some(async move {
                let got =
                    tokio::time::timeout(Duration::from_secs(5), fetch(&addr, port, &token)).await;
                (name, got)
            })
        });
        for (name, got) in futures::future::join_all(scrapes).await {
            match got {
                Ok(Ok(text)) => server.resource_metrics.record(&name, sample::parse(&text)),
                Ok(Err(e)) => tracing::debug!(node = %name, "scraping resource metrics: {e}"),
                Err(_) => tracing::debug!(node = %name, "scraping resource metrics timed out"),
            }
        }
    }
}

/// GET `/metrics/resource` from an agent.
async fn fetch(addr: &str, port: u16, token: &str) -> anyhow::Result<String> {
    let stream = tokio::net::TcpStream::connect((addr, port)).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = hyper::Request::builder()
        .uri("/metrics/resource")
        .header(header::HOST, format!("{addr}:{port}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())?;
    let resp = sender.send_request(req).await?;
    anyhow::ensure!(resp.status().is_success(), "status {}", resp.status());
    let body = axum::body::to_bytes(Body::new(resp.into_body()), 64 << 20).await?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn window(ms: i64) -> String {
    let secs = ms as f64 / 1000.0;
    if secs.fract() == 0.0 {
        format!("{}s", secs as i64)
    } else {
        format!("{}s", (secs * 1000.0).round() / 1000.0)
    }
}

fn usage(u: &Usage) -> Value {
    json!({"cpu": cpu_quantity(u.nanocores), "memory": memory_quantity(u.memory)})
}

/// The metadata metrics-server gives a metrics object: the object's name, namespace, labels
/// and a creation time of now.
fn metadata(obj: &Value) -> Value {
    let mut m = json!({
        "name": meta_str(obj, "name").unwrap_or(""),
        "creationTimestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if let Some(ns) = meta_str(obj, "namespace") {
        m["namespace"] = json!(ns);
    }
    if let Some(l) = obj.pointer("/metadata/labels").filter(|l| l.is_object()) {
        m["labels"] = l.clone();
    }
    m
}

impl ApiServer {
    fn node_metrics(&self, node: &Value) -> Option<Value> {
        let u = self.resource_metrics.node(meta_str(node, "name")?)?;
        Some(json!({
            "kind": "NodeMetrics",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": metadata(node),
            "timestamp": rfc3339(u.timestamp_ms),
            "window": window(u.window_ms),
            "usage": usage(&u),
        }))
    }

    fn pod_metrics(&self, pod: &Value) -> Option<Value> {
        let cs = self
            .resource_metrics
            .pod(meta_str(pod, "namespace")?, meta_str(pod, "name")?)?;
        let first = cs.first()?.1;
        let containers: Vec<Value> = cs
            .iter()
            .map(|(name, u)| json!({"name": name, "usage": usage(u)}))
            .collect();
        Some(json!({
            "kind": "PodMetrics",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": metadata(pod),
            "timestamp": rfc3339(first.timestamp_ms),
            "window": window(first.window_ms),
            "containers": containers,
        }))
    }

    /// GET of `nodes` or `pods` in `metrics.k8s.io`: one object or a list (label selectors and
    /// `metadata.name` field selectors apply to the Node or Pod the metrics are of).
    pub(crate) async fn serve_resource_metrics(
        &self,
        t: &Target,
        q: &Query,
        wants_table: bool,
    ) -> Result<Response, ApiError> {
        let pods = t.info.plural == "pods";
        let source = resources::find("", "v1", if pods { "pods" } else { "nodes" })
            .expect("pods and nodes are served");
        let metrics_of = |o: &Value| {
            if pods {
                self.pod_metrics(o)
            } else {
                self.node_metrics(o)
            }
        };
        if let Some(name) = &t.name {
            let not_found = || {
                let shown = match t.ns() {
                    Some(ns) if pods => format!("{ns}/{name}"),
                    _ => name.clone(),
                };
                let plural = if pods { "podmetrics" } else { "nodemetrics" };
                ApiError::not_found("metrics.k8s.io", plural, &shown)
            };
            let (obj, _) = self
                .read(source, t.ns(), name)
                .await
                .map_err(|_| not_found())?;
            let m = metrics_of(&obj).ok_or_else(not_found)?;
            return Ok(self.metrics_response(t, vec![m], wants_table, false));
        }
        let label = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))
            .map_err(ApiError::bad_request)?;
        let field = FieldSelector::parse(q.get("fieldSelector").unwrap_or(""))
            .map_err(ApiError::bad_request)?;
        let page = self
            .store
            .list(&source.ns_prefix(t.ns()), None, 0)
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        let items: Vec<Value> = page
            .items
            .iter()
            .filter_map(|kv| serde_json::from_slice::<Value>(&kv.value).ok())
            .filter(|o| crate::rest::matches(o, &label, &field))
            .filter_map(|o| metrics_of(&o))
            .collect();
        Ok(self.metrics_response(t, items, wants_table, true))
    }

    fn metrics_response(
        &self,
        t: &Target,
        items: Vec<Value>,
        wants_table: bool,
        list: bool,
    ) -> Response {
        if wants_table {
            let table = crate::table::to_table(t.info, &items, &Query::parse(None), "", true);
            return json_response(StatusCode::OK, &table);
        }
        if !list {
            return json_response(StatusCode::OK, &items[0]);
        }
        let kind = format!("{}List", t.info.kind);
        json_response(
            StatusCode::OK,
            &json!({"kind": kind, "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}),
        )
    }
}
