//! The service proxy of an ordo node (the part of kube-proxy's nftables mode ordo needs):
//! watches Services and EndpointSlices through the Kubernetes API and keeps one nftables
//! table equal to [`ruleset::ruleset`] of what it saw. Every sync replaces the table in one
//! `nft -f -` transaction; [`clean_up`] deletes it.
//!
//! Changes arriving within a few milliseconds are folded into one sync, and the table is
//! re-applied every minute even when nothing changed (someone may have flushed it).

pub mod model;
pub mod ruleset;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource};
use model::{ServiceInfo, SliceInfo};
use ruleset::RulesetConfig;
use std::collections::HashMap;
use std::fmt::Debug;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;

/// How the proxy of one node is set up.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub ruleset: RulesetConfig,
    /// The `nft` binary.
    pub nft: PathBuf,
}

impl ProxyConfig {
    /// The table `ip <bridge>` for the pod bridge `bridge` and the service range
    /// `service_cidr` (`10.96.0.0/12`); bridged traffic is masqueraded when the kernel does
    /// not pass it through the IP hooks (see [`RulesetConfig::masquerade_bridge`]).
    pub fn new(
        bridge: &str,
        service_cidr: &str,
        apiserver_loopback: Option<SocketAddrV4>,
        served_locally: Vec<Ipv4Addr>,
    ) -> anyhow::Result<ProxyConfig> {
        let (net, len) = service_cidr
            .split_once('/')
            .and_then(|(n, l)| Some((n.parse::<Ipv4Addr>().ok()?, l.parse::<u8>().ok()?)))
            .filter(|(_, l)| *l <= 32)
            .with_context(|| format!("service CIDR {service_cidr:?}: expected A.B.C.D/N"))?;
        let bridged = std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables")
            .map(|v| v.trim() == "1")
            .unwrap_or(false);
        Ok(ProxyConfig {
            ruleset: RulesetConfig {
                table: bridge.into(),
                service_cidr: (net, len),
                bridge: bridge.into(),
                masquerade_bridge: !bridged,
                apiserver_loopback,
                served_locally,
            },
            nft: "nft".into(),
        })
    }

    fn route_localnet(&self) -> PathBuf {
        PathBuf::from(format!(
            "/proc/sys/net/ipv4/conf/{}/route_localnet",
            self.ruleset.bridge
        ))
    }
}

type Map<T> = Arc<Mutex<HashMap<String, T>>>;

fn key<K: Resource>(o: &K) -> String {
    let m = o.meta();
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or("")
    )
}

/// Mirrors `api` into `map` (through `slim`), pinging `changed` on every change and counting
/// itself in `synced` once its first list is complete.
async fn follow<K, T>(
    api: Api<K>,
    slim: fn(&K) -> Option<T>,
    map: Map<T>,
    changed: Arc<Notify>,
    synced: Arc<AtomicUsize>,
) where
    K: Resource + Clone + Debug + k8s_openapi::serde::de::DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    let mut pending: Option<HashMap<String, T>> = None;
    let mut counted = false;
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    loop {
        let ev = match events.try_next().await {
            Ok(Some(ev)) => ev,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("service proxy watch: {e}");
                continue;
            }
        };
        match ev {
            watcher::Event::Init => pending = Some(HashMap::new()),
            watcher::Event::InitApply(o) => {
                if let (Some(p), Some(v)) = (pending.as_mut(), slim(&o)) {
                    p.insert(key(&o), v);
                }
            }
            watcher::Event::InitDone => {
                if let Some(p) = pending.take() {
                    *map.lock().expect("proxy map") = p;
                }
                if !counted {
                    counted = true;
                    synced.fetch_add(1, Ordering::SeqCst);
                }
                changed.notify_one();
            }
            watcher::Event::Apply(o) => {
                let mut m = map.lock().expect("proxy map");
                match slim(&o) {
                    Some(v) => m.insert(key(&o), v),
                    None => m.remove(&key(&o)),
                };
                drop(m);
                changed.notify_one();
            }
            watcher::Event::Delete(o) => {
                map.lock().expect("proxy map").remove(&key(&o));
                changed.notify_one();
            }
        }
    }
}

/// Checks that `nft` runs (before anything else starts), with the fix in the error.
pub async fn check_nft(cfg: &ProxyConfig) -> anyhow::Result<String> {
    let out = tokio::process::Command::new(&cfg.nft)
        .arg("--version")
        .output()
        .await
        .with_context(|| {
            format!(
                "running {} (install the Debian package nftables, or use --service-proxy none)",
                cfg.nft.display()
            )
        })?;
    anyhow::ensure!(
        out.status.success(),
        "{} --version failed",
        cfg.nft.display()
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs `script` through `nft -f -` (one transaction).
pub async fn apply(cfg: &ProxyConfig, script: &str) -> anyhow::Result<()> {
    let mut child = tokio::process::Command::new(&cfg.nft)
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("running {}", cfg.nft.display()))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(script.as_bytes()).await?;
    drop(stdin);
    let out = child.wait_with_output().await?;
    anyhow::ensure!(
        out.status.success(),
        "nft -f failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// Sets `route_localnet=1` on the bridge when it exists (it comes and goes with the pods;
/// the pod network sets it when it creates the bridge, this covers a bridge adopted after a
/// restart).
fn ensure_route_localnet(cfg: &ProxyConfig) {
    let knob = cfg.route_localnet();
    if let Ok(v) = std::fs::read_to_string(&knob) {
        if v.trim() != "1" {
            if let Err(e) = std::fs::write(&knob, "1") {
                tracing::warn!("setting {}: {e}", knob.display());
            }
        }
    }
}

/// Deletes the table and puts the bridge's `route_localnet` back to 0 (the kernel's value
/// for a new link): without the table's guard rule, pods must not reach the host's loopback.
pub async fn clean_up(cfg: &ProxyConfig) -> anyhow::Result<()> {
    let knob = cfg.route_localnet();
    if knob.exists() {
        let _ = std::fs::write(&knob, "0");
    }
    apply(cfg, &ruleset::delete_script(&cfg.ruleset.table))
        .await
        .with_context(|| format!("deleting nftables table ip {}", cfg.ruleset.table))
}

/// Watches the cluster and keeps the table current, for ever.
pub async fn run(client: Client, cfg: ProxyConfig) -> anyhow::Result<()> {
    let services: Map<ServiceInfo> = Default::default();
    let slices: Map<SliceInfo> = Default::default();
    let changed = Arc::new(Notify::new());
    let synced = Arc::new(AtomicUsize::new(0));
    let watches = [
        tokio::spawn(follow(
            Api::<Service>::all(client.clone()),
            model::service_info,
            services.clone(),
            changed.clone(),
            synced.clone(),
        )),
        tokio::spawn(follow(
            Api::<EndpointSlice>::all(client),
            model::slice_info,
            slices.clone(),
            changed.clone(),
            synced.clone(),
        )),
    ];
    let _abort = AbortOnDrop(watches);
    let mut last = String::new();
    let mut last_applied = Instant::now();
    let mut first = true;
    loop {
        let wait = if first || last.is_empty() {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(60)
        };
        let forced = tokio::time::timeout(wait, changed.notified())
            .await
            .is_err();
        if synced.load(Ordering::SeqCst) < 2 {
            continue;
        }
        // Fold a burst of changes into one sync.
        tokio::time::sleep(Duration::from_millis(10)).await;
        let (svcs, sls): (Vec<ServiceInfo>, Vec<SliceInfo>) = (
            services
                .lock()
                .expect("proxy map")
                .values()
                .cloned()
                .collect(),
            slices
                .lock()
                .expect("proxy map")
                .values()
                .cloned()
                .collect(),
        );
        let script = ruleset::ruleset(&cfg.ruleset, &svcs, &sls);
        ensure_route_localnet(&cfg);
        if script == last && !forced && last_applied.elapsed() < Duration::from_secs(60) {
            continue;
        }
        let t = Instant::now();
        match apply(&cfg, &script).await {
            Ok(()) => {
                let ms = t.elapsed().as_secs_f64() * 1e3;
                if first {
                    tracing::info!(
                        services = svcs.len(),
                        slices = sls.len(),
                        "service proxy: table ip {} in place ({ms:.1} ms)",
                        cfg.ruleset.table
                    );
                    first = false;
                } else {
                    tracing::debug!(services = svcs.len(), "service proxy synced in {ms:.1} ms");
                }
                last = script;
                last_applied = Instant::now();
            }
            Err(e) => {
                tracing::warn!("service proxy: {e:#}");
                last.clear();
                tokio::time::sleep(Duration::from_secs(1)).await;
                changed.notify_one();
            }
        }
    }
}

struct AbortOnDrop<const N: usize>([tokio::task::JoinHandle<()>; N]);

impl<const N: usize> Drop for AbortOnDrop<N> {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests;
