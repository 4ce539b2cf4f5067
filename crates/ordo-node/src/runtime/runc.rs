//! The runc runtime: real containers. Per pod a sandbox directory `DATA/pods/<uid>/` (the
//! pod's hosts/hostname/resolv.conf, container logs `<name>.log`, volumes under `volumes/`
//! (`volumes.rs`), one OCI bundle per container under `containers/<name>/` with an
//! overlayfs root over the image layers) and a network
//! namespace from [`crate::network`]. runc keeps its state under `DATA/runc`; ordo is the
//! child subreaper of the container processes, so it collects their exit codes itself.
//!
//! After a restart, [`Runtime::adopt`] takes running containers back from `runc state`.

mod attach;
mod bundle;
mod cgroup;
mod console;
mod cpu;
mod detached;
mod files;
mod joined;
pub mod log_shim;
pub mod pause;
mod process;
mod rootfs;
pub mod security;
pub mod service_env;
mod stats;
mod stdio;
pub mod stdio_shim;
mod storage;
mod volumes;

pub use attach::{AttachTarget, ExitWait, TtyExec};
pub use stdio::{Chunk, ContainerIo};

pub use files::Dns;
use files::{read_json, write_json};
pub use volumes::tokens::{
    set_refresh_after_percent as set_token_refresh_after_percent, DEFAULT_REFRESH_AFTER_PERCENT,
};

use super::{ContainerExit, ContainerState, ImageInfo, PulledImage, Runtime, StartedContainer};
use crate::image::credentials::Credential;
use crate::image::{self, ImageStore};
use crate::network::{self, NetworkConfig, PodNetwork};
use anyhow::Context;
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use process::{ExitCell, Runc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the runc runtime is set up.
#[derive(Clone, Debug)]
pub struct RuncConfig {
    /// The node's data directory (images, pods, runc state).
    pub data_dir: PathBuf,
    /// The runc binary.
    pub runc: PathBuf,
    /// Pod network bridge (`ordo0`).
    pub bridge: String,
    /// Cluster DNS settings written into pods' `resolv.conf`.
    pub dns: Dns,
    /// The address pods see as the node's (`status.hostIP`).
    pub host_ip: String,
    /// Registries pulled from over plain HTTP.
    pub registries: image::registry::RegistryConfig,
    /// A service proxy (nftables) translates the service CIDR on this node.
    pub service_proxy: bool,
    /// ordo's binary, run as containers' log and stdio shims and as pods' process namespace
    /// holders (None: logs and stdio held by threads and tasks of this process).
    pub log_shim: Option<PathBuf>,
}

impl RuncConfig {
    /// The defaults for `data_dir`: runc from PATH, bridge `ordo0`, cluster DNS 10.96.0.10,
    /// no log shim.
    pub fn new(data_dir: &Path, bridge: &str) -> RuncConfig {
        RuncConfig {
            data_dir: data_dir.into(),
            runc: "runc".into(),
            bridge: bridge.into(),
            dns: Dns::default(),
            host_ip: crate::node::HOST_IP.into(),
            registries: Default::default(),
            service_proxy: false,
            log_shim: None,
        }
    }
}

/// What survives a restart about a pod (`pod.json`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct PodMeta {
    ip: Option<Ipv4Addr>,
    netns: Option<PathBuf>,
    hostname: String,
    /// The pod's volumes resolved to host paths.
    #[serde(default)]
    volumes: std::collections::BTreeMap<String, volumes::HostVolume>,
    /// The init of the pod's shared process namespace (`shareProcessNamespace`).
    #[serde(default)]
    pause: Option<i32>,
}

/// What survives a restart about a container (`containers/<name>/meta.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ContainerMeta {
    name: String,
    id: String,
    pid: i32,
    started_at: Option<Time>,
    stop_signal: String,
}

struct Ctr {
    meta: Mutex<ContainerMeta>,
    exit: ExitCell,
    dir: PathBuf,
    /// The socket of a `stdin`/`tty` container's stdio shim (None: output goes to the log).
    stdio: Option<PathBuf>,
}

#[derive(Default)]
struct PodState {
    meta: PodMeta,
    containers: Vec<Arc<Ctr>>,
}

/// Runs pods as runc containers.
pub struct RuncRuntime {
    cfg: RuncConfig,
    runc: Runc,
    version: String,
    images: Arc<ImageStore>,
    net: PodNetwork,
    pods: Mutex<HashMap<String, PodState>>,
    /// Carries a pod's UID when one of its containers exits.
    exits: tokio::sync::broadcast::Sender<String>,
    /// Reads claims, volumes, config maps and secrets for pod volumes.
    client: Option<kube::Client>,
    /// Keeps configMap, secret, downwardAPI and projected volumes fresh (with a client).
    refresher: Option<Arc<volumes::refresh::Refresher>>,
    /// The shared Service cache, for the containers' Service environment variables.
    services: Option<Arc<ordo_client::Shared<k8s_openapi::api::core::v1::Service>>>,
}

fn uid_of(pod: &Pod) -> String {
    pod.uid().unwrap_or_default()
}

impl RuncRuntime {
    /// Checks runc, makes ordo the child subreaper, opens the image store and imports the
    /// archives waiting in `DATA/images/import`.
    pub async fn new(cfg: RuncConfig) -> anyhow::Result<RuncRuntime> {
        let runc = Runc {
            bin: cfg.runc.clone(),
            root: cfg.data_dir.join("runc"),
            log_shim: cfg.log_shim.clone(),
        };
        let version = runc.version().await?;
        nix::sys::prctl::set_child_subreaper(true).context("prctl(PR_SET_CHILD_SUBREAPER)")?;
        // A container made but never started was being set up when the agent died (between
        // `runc create` and `runc start`, perhaps before its meta.json was written): nothing
        // adopts it (only running, started containers are), and its `runc init` would wait for
        // ever in its cgroup. Found by the SIGKILL fault runs (tests/faults_runc.rs).
        for id in runc.list_in("created").await {
            tracing::info!("removing container {id}, created but never started before a restart");
            if let Err(e) = runc.delete(&id).await {
                tracing::warn!("{e:#}");
            }
        }
        for d in ["pods", "runc", "network"] {
            std::fs::create_dir_all(cfg.data_dir.join(d))?;
        }
        let images = Arc::new(ImageStore::open(&cfg.data_dir)?);
        let imp = images.clone();
        match tokio::task::spawn_blocking(move || imp.import_folder()).await? {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "imported {n} image archives from {}",
                images.import_dir().display()
            ),
            Err(e) => tracing::warn!("importing images: {e:#}"),
        }
        let mut net_cfg = NetworkConfig::new(&cfg.bridge, &cfg.data_dir.join("network"));
        net_cfg.cluster_dns = Some(cfg.dns.nameserver);
        net_cfg.service_proxy = cfg.service_proxy;
        let net = PodNetwork::new(net_cfg);
        Ok(RuncRuntime {
            cfg,
            runc,
            version,
            images,
            net,
            pods: Mutex::new(HashMap::new()),
            exits: tokio::sync::broadcast::channel(1024).0,
            client: None,
            refresher: None,
            services: None,
        })
    }

    /// Gives the runtime the process's shared caches (and their API client), needed for
    /// `persistentVolumeClaim`, `configMap` and `secret` volumes, and to refresh them while
    /// pods run.
    pub fn with_caches(mut self, caches: ordo_client::Caches) -> RuncRuntime {
        self.client = Some(caches.client().clone());
        self.services = Some(caches.get());
        self.refresher = Some(volumes::refresh::Refresher::new(caches, &self.cfg.data_dir));
        self
    }

    /// The image store.
    pub fn images(&self) -> &Arc<ImageStore> {
        &self.images
    }

    /// The pod network.
    pub fn network(&self) -> &PodNetwork {
        &self.net
    }

    fn pod_dir(&self, uid: &str) -> PathBuf {
        self.cfg.data_dir.join("pods").join(uid)
    }

    /// The log file of a container (CRI records of its stdout and stderr).
    pub fn log_path(&self, uid: &str, container: &str) -> PathBuf {
        self.pod_dir(uid).join(format!("{container}.log"))
    }

    /// The log file of a container's previous instance (`kubectl logs --previous`).
    pub fn previous_log_path(&self, uid: &str, container: &str) -> PathBuf {
        self.pod_dir(uid).join(format!("{container}.previous.log"))
    }

    /// Deletes a container's runc state and unmounts its root; keeps nothing of its bundle.
    async fn discard_container(&self, dir: &Path) {
        if let Some(m) = read_json::<ContainerMeta>(&dir.join("meta.json")) {
            if process::alive(m.pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(m.pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            if let Err(e) = self.runc.delete(&m.id).await {
                tracing::warn!("{e:#}");
            }
        }
        let rootfs = dir.join("rootfs");
        if network::netns::is_mounted(&rootfs) {
            if let Err(e) = nix::mount::umount2(&rootfs, nix::mount::MntFlags::MNT_DETACH) {
                tracing::warn!("unmounting {}: {e}", rootfs.display());
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// What a container's exit watcher calls: tells the agent which pod changed.
    fn exit_notifier(&self, uid: &str) -> impl FnOnce() + Send + 'static {
        let (tx, uid) = (self.exits.clone(), uid.to_string());
        move || {
            let _ = tx.send(uid);
        }
    }

    /// The running containers of a pod (all, or the one named).
    fn containers_of(&self, uid: &str, name: Option<&str>) -> Vec<Arc<Ctr>> {
        self.pods
            .lock()
            .unwrap()
            .get(uid)
            .map(|p| {
                p.containers
                    .iter()
                    .filter(|c| name.is_none_or(|n| c.meta.lock().unwrap().name == n))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Signals the running ones of `ctrs` with their stop signal, KILLs them after `grace`,
    /// deletes their runc state and reports how they ended.
    async fn stop_containers(
        &self,
        ctrs: Vec<Arc<Ctr>>,
        grace: Duration,
    ) -> anyhow::Result<Vec<ContainerExit>> {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        use std::str::FromStr;
        let running: Vec<Arc<Ctr>> = ctrs
            .into_iter()
            .filter(|c| c.exit.lock().unwrap().is_none())
            .collect();
        for c in &running {
            let m = c.meta.lock().unwrap().clone();
            let sig = if grace.is_zero() {
                Signal::SIGKILL
            } else {
                Signal::from_str(&m.stop_signal).unwrap_or(Signal::SIGTERM)
            };
            let _ = kill(Pid::from_raw(m.pid), sig);
        }
        let deadline = Instant::now() + grace;
        let mut killed = grace.is_zero();
        loop {
            if running.iter().all(|c| c.exit.lock().unwrap().is_some()) {
                break;
            }
            if !killed && Instant::now() >= deadline {
                for c in running.iter().filter(|c| c.exit.lock().unwrap().is_none()) {
                    let _ = kill(Pid::from_raw(c.meta.lock().unwrap().pid), Signal::SIGKILL);
                }
                killed = true;
            }
            if killed && Instant::now() >= deadline + Duration::from_secs(10) {
                anyhow::bail!("containers did not exit after SIGKILL");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut exits = Vec::new();
        for c in &running {
            let id = c.meta.lock().unwrap().id.clone();
            if let Err(e) = self.runc.delete(&id).await {
                tracing::warn!("{e:#}");
            }
            exits.extend(RuncRuntime::exit_of(c));
        }
        Ok(exits)
    }

    /// The init of the pod's shared process namespace, started unless it runs already; None
    /// when the pod does not share one.
    fn pid_namespace(&self, pod: &Pod, dir: &Path) -> anyhow::Result<Option<i32>> {
        let shared = pod.spec.as_ref().and_then(|s| s.share_process_namespace);
        if !shared.unwrap_or(false) {
            return Ok(None);
        }
        let old = read_json::<PodMeta>(&dir.join("pod.json")).and_then(|m| m.pause);
        if let Some(pid) = old.filter(|p| pause::running(*p, dir)) {
            return Ok(Some(pid));
        }
        let exe = self.cfg.log_shim.as_deref().ok_or_else(|| {
            anyhow::anyhow!("shareProcessNamespace needs ordo's binary to hold the namespace")
        })?;
        pause::start(exe, dir).map(Some)
    }

    fn exit_of(c: &Ctr) -> Option<ContainerExit> {
        let x = c.exit.lock().unwrap().clone()?;
        let m = c.meta.lock().unwrap().clone();
        let code = x.code.unwrap_or(0);
        // As containerd: an OOM kill in the container's cgroup names the exit, whatever its code.
        let reason = match x.code {
            _ if x.oom_killed => "OOMKilled",
            Some(0) => "Completed",
            Some(_) => "Error",
            None => "Unknown",
        };
        Some(ContainerExit {
            name: m.name,
            container_id: format!("runc://{}", m.id),
            exit_code: code,
            reason: reason.into(),
            started_at: m.started_at,
            finished_at: x.at,
        })
    }
}

#[async_trait::async_trait]
impl Runtime for RuncRuntime {
    fn version(&self) -> String {
        format!("runc://{}", self.version)
    }

    fn starts_instantly(&self) -> bool {
        false
    }

    async fn prepare_sandbox(&self, pod: &Pod, ip: Option<Ipv4Addr>) -> anyhow::Result<()> {
        let uid = uid_of(pod);
        anyhow::ensure!(!uid.is_empty(), "pod has no UID");
        let dir = self.pod_dir(&uid);
        std::fs::create_dir_all(dir.join("containers"))?;
        let volumes = volumes::prepare(pod, &dir, self.client.as_ref()).await?;
        let host_network = pod
            .spec
            .as_ref()
            .and_then(|s| s.host_network)
            .unwrap_or(false);
        let netns = match ip.filter(|_| !host_network) {
            Some(ip) => Some(
                self.net
                    .setup(&uid, ip)
                    .await
                    .context("setting up the pod network")?,
            ),
            None => None,
        };
        let hostname = if host_network {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .unwrap_or_default()
                .trim()
                .to_string()
        } else {
            files::hostname(pod)
        };
        let hosts = if host_network {
            std::fs::read_to_string("/etc/hosts").unwrap_or_default()
        } else {
            files::hosts(pod, ip, &self.cfg.dns.domain)
        };
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        std::fs::write(dir.join("hosts"), hosts)?;
        std::fs::write(dir.join("hostname"), format!("{hostname}\n"))?;
        std::fs::write(
            dir.join("resolv.conf"),
            files::resolv_conf(pod, &self.cfg.dns, &host_resolv),
        )?;
        let meta = PodMeta {
            ip: ip.filter(|_| !host_network),
            netns,
            hostname,
            volumes,
            pause: self.pid_namespace(pod, &dir)?,
        };
        write_json(&dir.join("pod.json"), &meta)?;
        self.pods.lock().unwrap().entry(uid).or_default().meta = meta;
        if let Some(r) = &self.refresher {
            r.register(pod, &dir);
        }
        Ok(())
    }

    async fn ensure_image(&self, image: &str) -> anyhow::Result<Option<ImageInfo>> {
        let store = self.images.clone();
        let name = image.to_string();
        let found = tokio::task::spawn_blocking(move || store.resolve(&name)).await??;
        Ok(found.map(|img| ImageInfo {
            image_id: img.image_id,
            already_present: true,
        }))
    }

    async fn pull_image(
        &self,
        image: &str,
        auth: Option<&Credential>,
    ) -> anyhow::Result<PulledImage> {
        let pulled = self.images.pull(image, &self.cfg.registries, auth).await?;
        Ok(PulledImage {
            info: ImageInfo {
                image_id: pulled.image_id,
                already_present: false,
            },
            size: pulled.size,
        })
    }

    async fn create_container(
        &self,
        pod: &Pod,
        c: &Container,
        _image: &ImageInfo,
    ) -> anyhow::Result<String> {
        let uid = uid_of(pod);
        let meta = self
            .pods
            .lock()
            .unwrap()
            .get(&uid)
            .map(|p| p.meta.clone())
            .ok_or_else(|| anyhow::anyhow!("pod {uid} has no sandbox"))?;
        let reference = c.image.clone().unwrap_or_default();
        let store = self.images.clone();
        let img = tokio::task::spawn_blocking(move || store.resolve(&reference))
            .await??
            .ok_or_else(|| image::ImageNotPresent {
                image: c.image.clone().unwrap_or_default(),
            })?;
        let image_user = img.config.as_ref().and_then(|i| i.user().clone());
        security::verify_run_as_non_root(pod, c, image_user.as_deref())?;
        let pdir = self.pod_dir(&uid);
        let dir = pdir.join("containers").join(&c.name);
        // A container of this name from an earlier attempt goes first.
        let old = {
            let mut pods = self.pods.lock().unwrap();
            let st = pods.entry(uid.clone()).or_default();
            let old = st
                .containers
                .iter()
                .position(|x| x.meta.lock().unwrap().name == c.name);
            old.map(|i| st.containers.remove(i))
        };
        if old.is_some() || dir.exists() {
            self.discard_container(&dir).await;
            // A restart: the last instance's log becomes the previous one.
            let log = self.log_path(&uid, &c.name);
            if log.exists() {
                std::fs::rename(&log, self.previous_log_path(&uid, &c.name))?;
            }
        }
        let layers = img.layers.clone();
        let d = dir.clone();
        let rootfs = tokio::task::spawn_blocking(move || rootfs::make(&d, &layers)).await??;
        let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
        let group = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            .to_string();
        let id = super::digest(&["runc", &uid, &c.name, &nanos]);
        let user = bundle::user(pod, c, image_user.as_deref(), &passwd, &group)?;
        let service_env = match &self.services {
            Some(cache) => service_env::for_pod(pod, &service_env::services(cache, pod).await),
            None => Vec::new(),
        };
        let joined = self.joined_namespaces(pod, c)?;
        let input = bundle::BundleInput {
            pod,
            container: c,
            image: img.config.as_ref(),
            rootfs: rootfs.clone(),
            netns: meta.netns.clone(),
            pid_ns: joined.pid.or(meta.pause.map(pause::namespace_of)),
            ipc_ns: joined.ipc,
            uts_ns: joined.uts,
            hostname: meta.hostname.clone(),
            pod_ip: meta.ip,
            host_ip: self.cfg.host_ip.clone(),
            service_env,
            hosts: pdir.join("hosts"),
            hostname_file: pdir.join("hostname"),
            resolv_conf: pdir.join("resolv.conf"),
            cgroups_path: cgroup::path_of(&id),
            user,
            groups: security::additional_gids(pod, user.0, user.1, &passwd, &group),
            devices: match security::privileged(c) {
                true => security::host_devices(),
                false => Vec::new(),
            },
        };
        let mut spec = bundle::spec(&input)?;
        let mut mounts = spec.mounts().clone().unwrap_or_default();
        mounts.extend(volumes::mounts(c, &meta.volumes)?);
        spec.set_mounts(Some(mounts));
        spec.save(dir.join("config.json"))
            .context("writing config.json")?;
        let log = self.log_path(&uid, &c.name);
        let io = process::CreateIo::of(c);
        let (pid, stdio) = self.runc.create(&id, &dir, &log, io).await?;
        let stop_signal = img
            .config
            .as_ref()
            .and_then(|i| i.stop_signal().clone())
            .unwrap_or_else(|| "SIGTERM".into());
        let cm = ContainerMeta {
            name: c.name.clone(),
            id: id.clone(),
            pid,
            started_at: None,
            stop_signal,
        };
        write_json(&dir.join("meta.json"), &cm)?;
        let ctr = Arc::new(Ctr {
            meta: Mutex::new(cm),
            exit: process::watch(
                pid,
                Some(&cgroup::path_of(&id)),
                stdio.as_ref().map(|_| dir.join(stdio_shim::EXIT_FILE)),
                self.exit_notifier(&uid),
            ),
            dir,
            stdio,
        });
        self.pods
            .lock()
            .unwrap()
            .entry(uid)
            .or_default()
            .containers
            .push(ctr);
        Ok(id)
    }

    async fn start_container(
        &self,
        pod: &Pod,
        container_id: &str,
    ) -> anyhow::Result<StartedContainer> {
        let uid = uid_of(pod);
        let ctr = self.pods.lock().unwrap().get(&uid).and_then(|p| {
            p.containers
                .iter()
                .find(|c| c.meta.lock().unwrap().id == container_id)
                .cloned()
        });
        let ctr = ctr.ok_or_else(|| anyhow::anyhow!("container {container_id} not found"))?;
        if let Some(t) = ctr.meta.lock().unwrap().started_at.clone() {
            return Ok(StartedContainer {
                container_id: format!("runc://{container_id}"),
                started_at: t,
            });
        }
        self.runc.start(container_id).await?;
        let now = crate::status::now();
        let m = {
            let mut m = ctr.meta.lock().unwrap();
            m.started_at = Some(now.clone());
            m.clone()
        };
        write_json(&ctr.dir.join("meta.json"), &m)?;
        Ok(StartedContainer {
            container_id: format!("runc://{container_id}"),
            started_at: now,
        })
    }

    async fn stop_pod(&self, uid: &str, grace: Duration) -> anyhow::Result<Vec<ContainerExit>> {
        let ctrs = self.containers_of(uid, None);
        self.stop_containers(ctrs, grace)
            .await
            .with_context(|| format!("stopping pod {uid}"))
    }

    async fn remove_pod(&self, uid: &str) -> anyhow::Result<()> {
        let _ = self.stop_pod(uid, Duration::ZERO).await;
        let dir = self.pod_dir(uid);
        if let Ok(rd) = std::fs::read_dir(dir.join("containers")) {
            for e in rd.filter_map(|e| e.ok()) {
                self.discard_container(&e.path()).await;
            }
        }
        let meta = self
            .pods
            .lock()
            .unwrap()
            .remove(uid)
            .map(|p| p.meta)
            .or_else(|| read_json::<PodMeta>(&dir.join("pod.json")));
        if meta.as_ref().map(|m| m.netns.is_some()).unwrap_or(false)
            || self.net.pods().iter().any(|u| u == uid)
        {
            self.net.teardown(uid).await?;
        }
        if let Some(pid) = meta.as_ref().and_then(|m| m.pause) {
            pause::stop(pid, &dir);
        }
        if let Some(r) = &self.refresher {
            r.unregister(uid).await;
        }
        volumes::cleanup(&dir)?;
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("removing {}", dir.display())))
            }
        }
        if self.list_pods().await.is_empty() {
            cgroup::remove_parents();
        }
        Ok(())
    }

    async fn pod_status(&self, uid: &str) -> Option<Vec<(String, ContainerState)>> {
        let pods = self.pods.lock().unwrap();
        let p = pods.get(uid)?;
        Some(
            p.containers
                .iter()
                .filter_map(|c| match RuncRuntime::exit_of(c) {
                    Some(x) => Some((x.name.clone(), ContainerState::Exited(x))),
                    None => {
                        let m = c.meta.lock().unwrap();
                        let started_at = m.started_at.clone()?;
                        Some((
                            m.name.clone(),
                            ContainerState::Running(StartedContainer {
                                container_id: format!("runc://{}", m.id),
                                started_at,
                            }),
                        ))
                    }
                })
                .collect(),
        )
    }

    async fn adopt(&self, pod: &Pod) -> bool {
        let uid = uid_of(pod);
        let dir = self.pod_dir(&uid);
        let Some(meta) = read_json::<PodMeta>(&dir.join("pod.json")) else {
            return false;
        };
        let mut ctrs = Vec::new();
        let mut wanted: Vec<String> = pod
            .spec
            .as_ref()
            .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        wanted.extend(crate::ephemeral::of(pod).iter().map(|e| e.name.clone()));
        for name in &wanted {
            let cdir = dir.join("containers").join(name);
            let Some(mut m) = read_json::<ContainerMeta>(&cdir.join("meta.json")) else {
                continue;
            };
            match self.runc.state(&m.id).await {
                Some(s) if s.status == "running" && m.started_at.is_some() => {
                    m.pid = s.pid;
                    // A `stdin`/`tty` container's stdio shim, if it still serves.
                    let stdio = Some(cdir.join(stdio_shim::SOCKET)).filter(|p| p.exists());
                    ctrs.push(Arc::new(Ctr {
                        exit: process::watch(
                            m.pid,
                            Some(&cgroup::path_of(&m.id)),
                            stdio.as_ref().map(|_| cdir.join(stdio_shim::EXIT_FILE)),
                            self.exit_notifier(&uid),
                        ),
                        meta: Mutex::new(m),
                        dir: cdir,
                        stdio,
                    }));
                }
                // Exited while ordo was away: the agent starts it again (as a restart).
                _ => {}
            }
        }
        let sandbox_gone = meta
            .netns
            .as_ref()
            .map(|n| !network::netns::is_mounted(n))
            .unwrap_or(false);
        if ctrs.is_empty() || sandbox_gone {
            tracing::info!("pod {uid}: its containers are gone; starting it again");
            let _ = self.remove_pod(&uid).await;
            return false;
        }
        self.pods.lock().unwrap().insert(
            uid,
            PodState {
                meta,
                containers: ctrs,
            },
        );
        if let Some(r) = &self.refresher {
            r.register(pod, &dir);
        }
        true
    }

    fn runs_probes(&self) -> bool {
        true
    }

    async fn exec_sync(
        &self,
        uid: &str,
        container: &str,
        argv: &[String],
        timeout: Duration,
    ) -> anyhow::Result<(i32, String)> {
        let id = self
            .containers_of(uid, Some(container))
            .first()
            .map(|c| c.meta.lock().unwrap().id.clone())
            .ok_or_else(|| anyhow::anyhow!("container {container} is not running"))?;
        let mut cmd = self.exec_command(&id, argv);
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().context("running runc exec")?;
        match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(out) => {
                let out = out.context("waiting for runc exec")?;
                let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&out.stderr));
                Ok((out.status.code().unwrap_or(-1), text))
            }
            Err(_) => anyhow::bail!(
                "command {argv:?} timed out after {}s",
                timeout.as_secs_f64()
            ),
        }
    }

    async fn stop_container(
        &self,
        uid: &str,
        container: &str,
        grace: Duration,
    ) -> anyhow::Result<Option<ContainerExit>> {
        let ctrs = self.containers_of(uid, Some(container));
        Ok(self.stop_containers(ctrs, grace).await?.into_iter().next())
    }

    fn subscribe_exits(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.exits.subscribe()
    }

    async fn local_storage(&self, pod: &Pod) -> Option<crate::eviction::PodUsage> {
        let dir = self.pod_dir(&pod.metadata.uid.clone()?);
        let pod = pod.clone();
        tokio::task::spawn_blocking(move || storage::pod_usage(&dir, &pod))
            .await
            .ok()
    }

    async fn container_stats(&self, pod: &Pod) -> Vec<crate::metrics::ContainerStats> {
        self.stats_of(&uid_of(pod))
    }

    async fn list_pods(&self) -> Vec<String> {
        let mut out: Vec<String> = self.pods.lock().unwrap().keys().cloned().collect();
        if let Ok(rd) = std::fs::read_dir(self.cfg.data_dir.join("pods")) {
            out.extend(
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str().map(str::to_string)),
            );
        }
        out.extend(self.net.pods());
        out.sort();
        out.dedup();
        out
    }
}
