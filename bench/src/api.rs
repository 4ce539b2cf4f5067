//! Benchmarks of a whole `ordo server` over HTTPS: start-up, memory, GET/PATCH latency,
//! Table LISTs, StatefulSets on the simulated runtime and watch fan-out.

use crate::server::{create_pods, loadavg, ms, pct, result, Client, Server};
use anyhow::{bail, Result};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SIM: &[&str] = &["--runtime", "sim", "--sim-start-delay-ms", "0"];
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// Cold start (fresh data dir: PKI generated) and warm start (same dir again) to `/readyz`.
pub async fn startup(ordo: &Path, runs: usize) -> Result<()> {
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (mut s, t) = Server::start(ordo, None, SIM).await?;
        cold.push(t);
        s.stop();
        let dir = std::mem::replace(&mut s.dir, tempfile::tempdir()?);
        drop(s);
        let (_s, t) = Server::start(ordo, Some(dir), SIM).await?;
        warm.push(t);
    }
    cold.sort();
    warm.sort();
    result(
        "startup",
        &[
            ("runs", runs.to_string()),
            ("cold_p50_ms", ms(pct(&cold, 0.5))),
            ("cold_max_ms", ms(pct(&cold, 1.0))),
            ("warm_p50_ms", ms(pct(&warm, 0.5))),
            ("load", loadavg()),
        ],
    );
    Ok(())
}

/// RSS of a full server (controllers, scheduler, agent) with no pods, after it settles.
pub async fn idle_rss(ordo: &Path, settle: Duration, runtime: &str) -> Result<()> {
    let args: Vec<&str> = if runtime == "sim" {
        SIM.to_vec()
    } else {
        vec!["--runtime", runtime, "--bridge", "obench0"]
    };
    crate::server::evict_from_page_cache(ordo)?;
    let (s, _) = Server::start(ordo, None, &args).await?;
    tokio::time::sleep(settle).await;
    let c = s.client()?;
    let nodes = c.get("/api/v1/nodes").await?;
    let n = nodes["items"].as_array().map_or(0, Vec::len);
    result(
        "idle-rss",
        &[
            ("runtime", runtime.into()),
            ("settle_s", settle.as_secs().to_string()),
            ("nodes", n.to_string()),
            ("rss_mib", format!("{:.1}", s.rss_mib()?)),
            ("anon_mib", format!("{:.1}", s.status_mib("RssAnon")?)),
            ("file_mib", format!("{:.1}", s.status_mib("RssFile")?)),
        ],
    );
    Ok(())
}

/// GET and merge-PATCH of single pods by `clients` concurrent HTTPS clients (one connection
/// each) against an API-only server holding `objects` pods.
pub async fn get_patch(ordo: &Path, objects: usize, clients: usize, ops: usize) -> Result<()> {
    let (s, _) = Server::start(ordo, None, &["--api-only"]).await?;
    let load = create_pods(&s.client()?, "p", objects, 16, true).await?;
    for verb in ["GET", "PATCH"] {
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|w| {
                let c = s.client();
                tokio::spawn(async move {
                    let c = c?;
                    let mut lat = Vec::with_capacity(ops);
                    for i in 0..ops {
                        let name = format!("p-{:05}", (i * 7919 + w * 104_729) % objects);
                        let path = format!("/api/v1/namespaces/default/pods/{name}");
                        let t = Instant::now();
                        let r = if verb == "GET" {
                            c.req(reqwest::Method::GET, &path).send().await?
                        } else {
                            let body =
                                json!({"metadata": {"annotations": {"bench": format!("{w}-{i}")}}});
                            c.req(reqwest::Method::PATCH, &path)
                                .header("Content-Type", "application/merge-patch+json")
                                .body(body.to_string())
                                .send()
                                .await?
                        };
                        let code = r.status();
                        r.bytes().await?;
                        lat.push(t.elapsed());
                        if !code.is_success() {
                            bail!("{verb} {path}: {code}");
                        }
                    }
                    Ok::<_, anyhow::Error>(lat)
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await??);
        }
        let elapsed = started.elapsed();
        all.sort();
        result(
            "get-patch",
            &[
                ("verb", verb.into()),
                ("objects", objects.to_string()),
                ("clients", clients.to_string()),
                ("ops", all.len().to_string()),
                (
                    "per_s",
                    format!("{:.0}", all.len() as f64 / elapsed.as_secs_f64()),
                ),
                ("p50_ms", ms(pct(&all, 0.5))),
                ("p99_ms", ms(pct(&all, 0.99))),
                ("max_ms", ms(pct(&all, 1.0))),
                ("load_s", format!("{:.1}", load.as_secs_f64())),
                ("loadavg", loadavg()),
            ],
        );
    }
    Ok(())
}

/// LIST of all pods as a Table (what `kubectl get pods -A` asks for) and as JSON, best and
/// median of `runs`, for each size in `sizes` (pods added incrementally to one server).
pub async fn list(ordo: &Path, sizes: &[usize], runs: usize) -> Result<()> {
    let (s, _) = Server::start(ordo, None, &["--api-only"]).await?;
    let c = s.client()?;
    let mut have = 0;
    for &n in sizes {
        // Names continue where the last size ended: `p-<i>` for i in have..n.
        let started = Instant::now();
        let mut results = futures::stream::iter(have..n)
            .map(|i| {
                let c = c.clone();
                async move {
                    c.post(
                        "/api/v1/namespaces/default/pods",
                        &crate::server::pod(&format!("p-{i:05}"), true),
                    )
                    .await
                }
            })
            .buffer_unordered(16);
        while let Some(r) = results.next().await {
            r?;
        }
        let load = started.elapsed();
        let added = n - have;
        have = n;
        for (kind, accept) in [("table", TABLE), ("json", "application/json")] {
            let mut times = Vec::new();
            let mut bytes = 0;
            for _ in 0..runs {
                let t = Instant::now();
                let r = c
                    .req(reqwest::Method::GET, "/api/v1/pods?limit=0")
                    .header("Accept", accept)
                    .send()
                    .await?;
                let body = r.bytes().await?;
                times.push(t.elapsed());
                bytes = body.len();
                let v: Value = serde_json::from_slice(&body)?;
                let got = v["rows"]
                    .as_array()
                    .or(v["items"].as_array())
                    .map_or(0, Vec::len);
                if got != n {
                    bail!("listed {got} pods, expected {n}");
                }
            }
            times.sort();
            result(
                "list",
                &[
                    ("as", kind.into()),
                    ("pods", n.to_string()),
                    ("best_ms", ms(times[0])),
                    ("p50_ms", ms(pct(&times, 0.5))),
                    ("bytes", bytes.to_string()),
                    ("rss_mib", format!("{:.1}", s.rss_mib()?)),
                    (
                        "create_per_s",
                        format!("{:.0}", added as f64 / load.as_secs_f64().max(1e-9)),
                    ),
                    ("loadavg", loadavg()),
                ],
            );
        }
    }
    Ok(())
}

/// Counts pods that are not yet Running (a field-selected scan, paged server-side).
async fn pending(c: &Client) -> Result<usize> {
    let v = c
        .get("/api/v1/pods?fieldSelector=status.phase!%3DRunning")
        .await?;
    Ok(v["items"].as_array().map_or(0, Vec::len))
}

/// RSS of a full server on the simulated runtime as it runs 1k, 10k, 20k.. pods (bound to the
/// node directly, so the scheduler is not what is measured).
pub async fn rss_pods(ordo: &Path, sizes: &[usize]) -> Result<()> {
    crate::server::evict_from_page_cache(ordo)?;
    let (s, _) = Server::start(ordo, None, SIM).await?;
    let c = s.client()?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    result(
        "rss-pods",
        &[
            ("pods", "0".into()),
            ("rss_mib", format!("{:.1}", s.rss_mib()?)),
        ],
    );
    let mut have = 0;
    for &n in sizes {
        let (started, cpu0) = (Instant::now(), s.cpu_s()?);
        let mut results = futures::stream::iter(have..n)
            .map(|i| {
                let c = c.clone();
                async move {
                    c.post(
                        "/api/v1/namespaces/default/pods",
                        &crate::server::pod(&format!("p-{i:05}"), true),
                    )
                    .await
                }
            })
            .buffer_unordered(16);
        while let Some(r) = results.next().await {
            r?;
        }
        let created = started.elapsed();
        have = n;
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let p = pending(&c).await?;
            if p == 0 {
                break;
            }
            if Instant::now() > deadline {
                bail!("{p} pods still not Running");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let (running, cpu) = (started.elapsed(), s.cpu_s()? - cpu0);
        tokio::time::sleep(Duration::from_secs(3)).await;
        result(
            "rss-pods",
            &[
                ("pods", n.to_string()),
                ("rss_mib", format!("{:.1}", s.rss_mib()?)),
                ("created_s", format!("{:.1}", created.as_secs_f64())),
                ("all_running_s", format!("{:.1}", running.as_secs_f64())),
                ("server_cpu_s", format!("{cpu:.1}")),
                ("loadavg", loadavg()),
            ],
        );
    }
    Ok(())
}

/// The manifest of a set of sim pods.
fn sim_set(name: &str, replicas: usize, policy: &str) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name}, "spec": {
        "serviceName": "web", "replicas": replicas, "podManagementPolicy": policy,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25.4"}]}}}})
}

/// Polls `readyReplicas` of set `name` until it is `replicas` (300 s at most).
async fn wait_set_ready(c: &crate::server::Client, name: &str, replicas: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let v = c
            .get(&format!(
                "/apis/apps/v1/namespaces/default/statefulsets/{name}"
            ))
            .await?;
        if v["status"]["readyReplicas"].as_u64().unwrap_or(0) as usize == replicas {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{name}: not all {replicas} ready after 300 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A headless Service and a StatefulSet of `replicas` sim pods; time until `readyReplicas`.
/// With `beside` > 0, another set of that many pods is Running in the namespace first.
pub async fn statefulset(ordo: &Path, replicas: usize, policy: &str, beside: usize) -> Result<()> {
    let (s, _) = Server::start(ordo, None, SIM).await?;
    let c = s.client()?;
    c.post("/api/v1/namespaces/default/services", &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]}})).await?;
    // Let the controllers and the agent finish starting (node registered), as a user would.
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.get("/api/v1/nodes").await?["items"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        if Instant::now() > deadline {
            bail!("node did not register");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if beside > 0 {
        c.post(
            "/apis/apps/v1/namespaces/default/statefulsets",
            &sim_set("other", beside, "Parallel"),
        )
        .await?;
        wait_set_ready(&c, "other", beside).await?;
    }
    let sts = sim_set("web", replicas, policy);
    let (started, cpu0) = (Instant::now(), s.cpu_s()?);
    c.post("/apis/apps/v1/namespaces/default/statefulsets", &sts)
        .await?;
    let (mut first_ready, mut created_all) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let v = c
            .get("/apis/apps/v1/namespaces/default/statefulsets/web")
            .await?;
        let ready = v["status"]["readyReplicas"].as_u64().unwrap_or(0) as usize;
        let current = v["status"]["replicas"].as_u64().unwrap_or(0) as usize;
        if ready > 0 && first_ready.is_none() {
            first_ready = Some(started.elapsed());
        }
        if current == replicas && created_all.is_none() {
            created_all = Some(started.elapsed());
        }
        if ready == replicas {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {ready}/{replicas} ready after 300 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (all, cpu) = (started.elapsed(), s.cpu_s()? - cpu0);
    let f = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.3}", d.as_secs_f64()));
    result(
        "statefulset",
        &[
            ("policy", policy.into()),
            ("replicas", replicas.to_string()),
            ("beside", beside.to_string()),
            ("all_ready_s", format!("{:.3}", all.as_secs_f64())),
            ("first_ready_s", f(first_ready)),
            ("all_created_s", f(created_all)),
            ("server_cpu_s", format!("{cpu:.2}")),
            ("rss_mib", format!("{:.1}", s.rss_mib()?)),
            ("loadavg", loadavg()),
        ],
    );
    Ok(())
}

/// One watch event as far as the benchmark reads it.
#[derive(serde::Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    object: EventObject,
}
#[derive(serde::Deserialize)]
struct EventObject {
    metadata: Option<Meta>,
}
#[derive(serde::Deserialize)]
struct Meta {
    name: Option<String>,
}

/// `watchers` pod watches on an API-only server while `changes` pods are created; every
/// watcher must see every change. Latency: watcher receipt − the write request's start.
pub async fn watch_fanout(
    ordo: &Path,
    watchers: usize,
    changes: usize,
    writers: usize,
) -> Result<()> {
    let (s, _) = Server::start(ordo, None, &["--api-only"]).await?;
    let c = s.client()?;
    let rv = c.get("/api/v1/namespaces/default/pods").await?["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .to_string();
    let mut streams = Vec::new();
    for _ in 0..watchers {
        let wc = s.client()?;
        let r = wc
            .req(
                reqwest::Method::GET,
                &format!("/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}"),
            )
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("watch: {}", r.status());
        }
        streams.push(r);
    }
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Default::default();
    let readers: Vec<_> = streams
        .into_iter()
        .map(|r| {
            tokio::spawn(async move {
                let mut seen: Vec<(String, Instant)> = Vec::with_capacity(changes);
                let mut buf: Vec<u8> = Vec::new();
                let mut body = r.bytes_stream();
                while seen.len() < changes {
                    let Ok(Some(chunk)) =
                        tokio::time::timeout(Duration::from_secs(60), body.next()).await
                    else {
                        break;
                    };
                    let at = Instant::now();
                    buf.extend_from_slice(&chunk?);
                    while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=nl).collect();
                        let ev: Event = serde_json::from_slice(&line)?;
                        if ev.kind == "ADDED" {
                            seen.push((
                                ev.object.metadata.and_then(|m| m.name).unwrap_or_default(),
                                at,
                            ));
                        }
                    }
                }
                Ok::<_, anyhow::Error>(seen)
            })
        })
        .collect();
    let started = Instant::now();
    let mut writes = Vec::new();
    let mut results = futures::stream::iter(0..changes)
        .map(|i| {
            let (c, sent) = (c.clone(), sent.clone());
            async move {
                let name = format!("w-{i:05}");
                let t = Instant::now();
                sent.lock().unwrap().insert(name.clone(), t);
                c.post(
                    "/api/v1/namespaces/default/pods",
                    &crate::server::pod(&name, true),
                )
                .await?;
                Ok::<_, anyhow::Error>(t.elapsed())
            }
        })
        .buffer_unordered(writers);
    while let Some(r) = results.next().await {
        writes.push(r?);
    }
    let write_time = started.elapsed();
    let mut lat = Vec::with_capacity(watchers * changes);
    let mut lost = 0;
    for r in readers {
        let seen = r.await??;
        lost += changes.saturating_sub(seen.len());
        let sent = sent.lock().unwrap();
        for (name, at) in seen {
            if let Some(t) = sent.get(&name) {
                lat.push(at.saturating_duration_since(*t));
            }
        }
    }
    let all_delivered = started.elapsed();
    lat.sort();
    writes.sort();
    result(
        "watch-fanout",
        &[
            ("watchers", watchers.to_string()),
            ("changes", changes.to_string()),
            ("events_lost", lost.to_string()),
            ("delivered", lat.len().to_string()),
            ("p50_ms", ms(pct(&lat, 0.5))),
            ("p99_ms", ms(pct(&lat, 0.99))),
            ("max_ms", ms(pct(&lat, 1.0))),
            ("write_p99_ms", ms(pct(&writes, 0.99))),
            ("writes_s", format!("{:.2}", write_time.as_secs_f64())),
            (
                "all_delivered_s",
                format!("{:.2}", all_delivered.as_secs_f64()),
            ),
            ("loadavg", loadavg()),
        ],
    );
    Ok(())
}
