//! The service proxy of an ordo node (the part of kube-proxy's nftables mode ordo needs):
//! reads Services and EndpointSlices from the process's shared caches
//! ([`ordo_client::Caches`]) and keeps one nftables table equal to [`ruleset::ruleset`] of what it saw. Every sync replaces
//! the table in one `nft -f -` transaction; [`clean_up`] deletes it.
//!
//! Changes arriving within a few milliseconds are folded into one sync, and the table is
//! re-applied every minute even when nothing changed (someone may have flushed it).

pub mod model;
pub mod policy;
pub mod ruleset;

use anyhow::Context;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use model::{ServiceInfo, SliceInfo};
use ordo_client::pacing::Pacer;
use ordo_client::Caches;
use ruleset::RulesetConfig;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;

/// How the proxy of one node is set up.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// What the nftables table is built with (name, service range, bridge).
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

/// The NetworkPolicy part of the table; `""` (no policy chains at all) while there are no
/// policies, so that pod changes cost nothing then.
fn policy_part(
    policies: &ordo_client::Shared<NetworkPolicy>,
    pods: &ordo_client::Shared<Pod>,
    namespaces: &ordo_client::Shared<Namespace>,
) -> String {
    let policies = policies.state();
    if policies.is_empty() {
        return String::new();
    }
    policy::policy_rules(&policies, &pods.state(), &namespaces.state())
}

/// Watches the cluster (Services, EndpointSlices, and for NetworkPolicies the policies, pods
/// and namespaces: the caches must hold every pod, not one node's) and keeps the table
/// current, for ever.
pub async fn run(caches: Caches, cfg: ProxyConfig) -> anyhow::Result<()> {
    let changed = Arc::new(Notify::new());
    let services = caches.get::<Service>();
    let slices = caches.get::<EndpointSlice>();
    let policies = caches.get::<NetworkPolicy>();
    let pods = caches.get::<Pod>();
    let namespaces = caches.get::<Namespace>();
    services.on_change(changed.clone());
    slices.on_change(changed.clone());
    policies.on_change(changed.clone());
    pods.on_change(changed.clone());
    namespaces.on_change(changed.clone());
    services.ready().await;
    slices.ready().await;
    policies.ready().await;
    pods.ready().await;
    namespaces.ready().await;
    let mut last = String::new();
    let mut last_applied = Instant::now();
    let mut first = true;
    // A burst of changes is folded into one sync; the table is re-applied after a minute
    // without changes (someone may have flushed it).
    let fold = Duration::from_millis(10);
    let mut pacer = Pacer::new(changed, fold, fold, 1).with_idle(Duration::from_secs(60));
    loop {
        let forced = if first || last.is_empty() {
            false
        } else {
            !pacer.next().await
        };
        let svcs: Vec<ServiceInfo> = services
            .state()
            .iter()
            .filter_map(|s| model::service_info(s))
            .collect();
        let sls: Vec<SliceInfo> = slices
            .state()
            .iter()
            .filter_map(|s| model::slice_info(s))
            .collect();
        let policy = policy_part(&policies, &pods, &namespaces);
        let script = ruleset::ruleset(&cfg.ruleset, &svcs, &sls, &policy);
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
            }
        }
    }
}

#[cfg(test)]
mod tests;
