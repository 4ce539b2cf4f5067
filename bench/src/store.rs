//! The same store workload on the SQLite and etcd engines: bulk create, GET and PATCH
//! (read + compare-and-swap update) by concurrent clients, and a full LIST.

use crate::server::{loadavg, ms, pct, result};
use anyhow::{bail, Context, Result};
use ordo_store::{EtcdStore, SqliteStore, Store, StoreError};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An etcd on loopback in a temporary directory, killed when dropped.
pub struct Etcd {
    child: Child,
    _dir: tempfile::TempDir,
    pub url: String,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `/usr/bin/etcd` (or `$ORDO_ETCD_BIN`) on loopback ports.
pub fn start_etcd() -> Result<Etcd> {
    let bin = std::env::var("ORDO_ETCD_BIN").unwrap_or_else(|_| "/usr/bin/etcd".into());
    let dir = tempfile::Builder::new()
        .prefix("ordo-bench-etcd.")
        .tempdir()?;
    let url = format!("http://127.0.0.1:{}", free_port()?);
    let peer = format!("http://127.0.0.1:{}", free_port()?);
    let mut cmd = Command::new(&bin);
    for (name, _) in std::env::vars() {
        if name.starts_with("ETCD_") {
            cmd.env_remove(name);
        }
    }
    let child = cmd
        .arg("--name=default")
        .arg(format!("--data-dir={}", dir.path().join("data").display()))
        .arg(format!("--listen-client-urls={url}"))
        .arg(format!("--advertise-client-urls={url}"))
        .arg(format!("--listen-peer-urls={peer}"))
        .arg(format!("--initial-advertise-peer-urls={peer}"))
        .arg(format!("--initial-cluster=default={peer}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {bin}"))?;
    Ok(Etcd {
        child,
        _dir: dir,
        url,
    })
}

async fn connect_etcd(url: &str, prefix: &str) -> Result<EtcdStore> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match EtcdStore::connect(&[url.to_string()], prefix).await {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() > deadline => bail!("etcd did not answer: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn key(i: usize) -> String {
    format!("/registry/pods/ns/p{i:05}")
}

/// Runs the workload on `engine` ("sqlite" or "etcd") for each size in `sizes`.
pub async fn run(
    engine: &str,
    sizes: &[usize],
    clients: usize,
    ops: usize,
    value_bytes: usize,
) -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("ordo-bench-store.")
        .tempdir()?;
    let _etcd;
    let store: Arc<dyn Store> = match engine {
        "sqlite" => Arc::new(SqliteStore::open(dir.path().join("db.sqlite"))?),
        "etcd" => {
            let e = start_etcd()?;
            let s = connect_etcd(&e.url, "/bench/").await?;
            _etcd = e;
            Arc::new(s)
        }
        other => bail!("unknown engine {other}"),
    };
    let value = vec![b'x'; value_bytes];
    let mut have = 0;
    // A watcher as the API server would hold one: every write is also fanned out.
    let _watch = store
        .watch("/registry/pods/", store.current_revision().await?)
        .await?;
    for &n in sizes {
        let started = Instant::now();
        let mut lat = Vec::new();
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let (s, v) = (store.clone(), value.clone());
                let range: Vec<usize> = (have + c..n).step_by(clients).collect();
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(range.len());
                    for i in range {
                        let t = Instant::now();
                        s.create(&key(i), v.clone()).await?;
                        lat.push(t.elapsed());
                    }
                    Ok::<_, StoreError>(lat)
                })
            })
            .collect();
        for t in tasks {
            lat.extend(t.await??);
        }
        let load = started.elapsed();
        lat.sort();
        let created = n - have;
        have = n;
        result(
            "store",
            &[
                ("engine", engine.into()),
                ("op", "create".into()),
                ("objects", n.to_string()),
                (
                    "per_s",
                    format!("{:.0}", created as f64 / load.as_secs_f64()),
                ),
                ("p50_ms", ms(pct(&lat, 0.5))),
                ("p99_ms", ms(pct(&lat, 0.99))),
                ("loadavg", loadavg()),
            ],
        );
        for patch in [false, true] {
            let started = Instant::now();
            let tasks: Vec<_> = (0..clients)
                .map(|c| {
                    let (s, v) = (store.clone(), value.clone());
                    tokio::spawn(async move {
                        let mut lat = Vec::with_capacity(ops);
                        for i in 0..ops {
                            let k = key((i * 7919 + c * 104_729) % n);
                            let t = Instant::now();
                            let kv = s
                                .get(&k)
                                .await?
                                .ok_or_else(|| StoreError::NotFound(k.clone()))?;
                            if patch {
                                match s.update(&k, v.clone(), kv.mod_revision).await {
                                    Ok(_) | Err(StoreError::Conflict { .. }) => {}
                                    Err(e) => return Err(e),
                                }
                            }
                            lat.push(t.elapsed());
                        }
                        Ok(lat)
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
                "store",
                &[
                    ("engine", engine.into()),
                    ("op", if patch { "get+update" } else { "get" }.into()),
                    ("objects", n.to_string()),
                    (
                        "per_s",
                        format!("{:.0}", all.len() as f64 / elapsed.as_secs_f64()),
                    ),
                    ("p50_ms", ms(pct(&all, 0.5))),
                    ("p99_ms", ms(pct(&all, 0.99))),
                    ("loadavg", loadavg()),
                ],
            );
        }
        let t = Instant::now();
        let page = store.list("/registry/pods/", None, 0).await?;
        if page.items.len() != n {
            bail!("listed {} keys, expected {n}", page.items.len());
        }
        result(
            "store",
            &[
                ("engine", engine.into()),
                ("op", "list".into()),
                ("objects", n.to_string()),
                ("ms", ms(t.elapsed())),
            ],
        );
    }
    Ok(())
}
