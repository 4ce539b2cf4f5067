//! One pod's life on the node, kubelet-style: accept it (address, sandbox), then loop —
//! notice containers that exited, run the probes that are due, start or restart containers
//! as [`lifecycle::plan`] says, write the status when it changed — and sleep until the pod
//! changes, a container exits, or a probe or back-off is due.

use super::{host_network, Agent, Exit, PodDoc};
use crate::image_manager;
use crate::lifecycle::{self, Record, RestartPolicy, State, Step};
use crate::probes::{self, Kind, Prober};
use crate::runtime::ContainerState;
use crate::status;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use serde_json::json;
use std::borrow::Cow;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

mod containers;
mod evict;
mod post_start;

use containers::{container, old_status};

/// How long `ErrImagePull` shows before it turns into `ImagePullBackOff`.
const PULL_ERROR_SHOWN: Duration = Duration::from_secs(1);

/// What the worker knows about its pod.
struct PodRun {
    uid: String,
    policy: RestartPolicy,
    /// Init containers first, then app containers, as [`container`] numbers them.
    records: Vec<Record>,
    /// The probes of each record's current instance.
    probers: Vec<Vec<Prober>>,
    ip: Option<Ipv4Addr>,
    sandbox_ready: bool,
    start_time: Time,
    /// A digest of the last status written (to write only changes).
    written: Option<u64>,
    /// When a waiting reason is to be refreshed (ErrImagePull → ImagePullBackOff).
    refresh_at: Option<Instant>,
}

impl PodRun {
    fn new(pod: &Pod) -> PodRun {
        let spec = pod.spec.as_ref();
        let inits = spec
            .and_then(|s| s.init_containers.as_deref())
            .unwrap_or_default();
        let apps = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
        let app_reason = if inits.is_empty() {
            "ContainerCreating"
        } else {
            "PodInitializing"
        };
        let mut records = Vec::with_capacity(inits.len() + apps.len());
        for c in inits {
            records.push(Record::new(c, true, "PodInitializing"));
        }
        for c in apps {
            records.push(Record::new(c, false, app_reason));
        }
        for e in crate::ephemeral::of(pod) {
            records.push(Record::ephemeral(&crate::ephemeral::as_container(e)));
        }
        // Restart counts survive the agent: take them from the status written before.
        for r in &mut records {
            if let Some(cs) = old_status(pod, r) {
                r.restart_count = cs.restart_count;
            }
        }
        let n = records.len();
        PodRun {
            uid: pod.uid().unwrap_or_default(),
            policy: RestartPolicy::of(pod),
            records,
            probers: vec![Vec::new(); n],
            ip: None,
            sandbox_ready: false,
            start_time: pod
                .status
                .as_ref()
                .and_then(|s| s.start_time.clone())
                .unwrap_or_else(status::now),
            written: None,
            refresh_at: None,
        }
    }

    fn status(&self, pod: &Pod, host_ip: &str) -> k8s_openapi::api::core::v1::PodStatus {
        let pod_ip = self
            .ip
            .map(|ip| ip.to_string())
            .or_else(|| self.sandbox_ready.then(|| host_ip.to_string()));
        let at = status::Placement {
            host_ip,
            pod_ip: pod_ip.as_deref(),
            start_time: &self.start_time,
            sandbox_ready: self.sandbox_ready,
        };
        status::of_records(pod, &at, &self.records, self.policy, &status::now())
    }

    /// The earliest instant something is due: a probe of a running container, the end of a
    /// back-off, a waiting reason to refresh.
    fn next_due(&self, backoffs: &[Instant]) -> Option<Instant> {
        let probes = self.records.iter().zip(&self.probers).flat_map(|(r, ps)| {
            ps.iter()
                .filter(move |p| r.running() && (p.kind == Kind::Startup) != r.started)
                .map(|p| p.next)
        });
        probes
            .chain(backoffs.iter().copied())
            .chain(self.refresh_at)
            .min()
    }
}

impl Agent {
    /// Drives the pod the watch channel holds, from acceptance until it is gone.
    pub(super) async fn drive(
        &self,
        rx: &mut watch::Receiver<PodDoc>,
        wake: &Arc<Notify>,
        evict: &super::Eviction,
    ) -> Exit {
        // Boxed, as every step that holds a copy of the pod or a request: a worker spends
        // its life waiting, and its task is as large as the largest step inlined in it (and
        // any argument it was given), for 20,000 pods at once.
        match Box::pin(self.start(rx)).await {
            Ok(Some(mut run)) => {
                if let Some(exit) = self.live(rx, wake, evict, &mut run).await {
                    return exit;
                }
            }
            Ok(None) => {}
            Err(exit) => return exit,
        }
        self.until_deleted(rx).await
    }

    /// Accepts the pod (or adopts it if its containers kept running): the run to drive, or
    /// None when it is not to run (terminal, being deleted, or deleted while being accepted).
    async fn start(&self, rx: &mut watch::Receiver<PodDoc>) -> Result<Option<PodRun>, Exit> {
        let pod = rx.borrow().pod();
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        let terminal = phase.as_deref().is_some_and(lifecycle::is_terminal);
        if pod.metadata.deletion_timestamp.is_some() || terminal {
            return Ok(None);
        }
        let uid = pod.uid().unwrap_or_default();
        if let Some(msg) = crate::runtime::runc::security::forbidden_sysctl(&pod) {
            self.reject(&pod, crate::runtime::runc::security::SYSCTL_FORBIDDEN, msg)
                .await;
            return Ok(None);
        }
        let wanted = super::host_ports::of(&pod);
        if !self.host_ports.lock().unwrap().claim(&uid, wanted) {
            let msg = super::host_ports::MESSAGE.to_string();
            self.reject(&pod, super::host_ports::REASON, msg).await;
            return Ok(None);
        }
        let mut run = PodRun::new(&pod);
        let adopted = phase.as_deref() == Some("Running") && self.rt.adopt(&pod).await;
        if adopted {
            self.adopted(&pod, &mut run).await;
        } else {
            let accept = self.accept_with_retry(&pod, &mut run);
            tokio::pin!(accept);
            loop {
                tokio::select! {
                    () = &mut accept => break,
                    changed = rx.changed() => {
                        if changed.is_err() {
                            return Err(Exit::Gone);
                        }
                        if rx.borrow().deleting() {
                            break;
                        }
                    }
                }
            }
        }
        Ok(run.sandbox_ready.then_some(run))
    }

    /// The kubelet's `rejectPod`: the pod fails, its containers never start; the event says
    /// `message`, the status `Pod was rejected: <message>`.
    async fn reject(&self, pod: &Pod, reason: &str, message: String) {
        self.events.pod(pod, "Warning", reason, message.clone());
        let msg = format!("Pod was rejected: {message}");
        let st = json!({"status": {"phase": "Failed", "reason": reason, "message": msg}});
        if let Err(e) = self.write_status(pod, st).await {
            tracing::warn!("rejecting pod {}: {e:#}", pod.name_any());
        }
    }

    /// Runs the pod's containers until the pod is being deleted (None) or gone.
    async fn live(
        &self,
        rx: &mut watch::Receiver<PodDoc>,
        wake: &Arc<Notify>,
        evict: &super::Eviction,
        run: &mut PodRun,
    ) -> Option<Exit> {
        loop {
            // The copy of the pod lives only while the round runs, not while the worker waits.
            let next = {
                let pod = rx.borrow_and_update().pod();
                if pod.metadata.deletion_timestamp.is_some() {
                    return None;
                }
                let eviction = evict.lock().unwrap().take();
                if let Some(message) = eviction {
                    Box::pin(self.evict(&pod, message)).await;
                    return None;
                }
                Box::pin(self.sync(&pod, run)).await
            };
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        return Some(Exit::Gone);
                    }
                }
                () = wake.notified() => {}
                () = sleep_until(next) => {}
            }
        }
    }

    /// Waits for the pod's deletion: stops it once it is marked, returns once it is gone.
    async fn until_deleted(&self, rx: &mut watch::Receiver<PodDoc>) -> Exit {
        loop {
            if rx.borrow().deleting() {
                let pod = rx.borrow().pod();
                let uid = pod.uid().unwrap_or_default();
                Box::pin(async move { self.terminate(&pod).await }).await;
                // A stopped pod's host ports are free for the next one.
                self.host_ports.lock().unwrap().release(&uid);
                // Wait for the watch to confirm the deletion; try again if it does not come.
                let gone = async { while rx.changed().await.is_ok() {} };
                match tokio::time::timeout(Duration::from_secs(10), gone).await {
                    Ok(()) => return Exit::Gone,
                    Err(_) => continue,
                }
            }
            if rx.changed().await.is_err() {
                return Exit::Gone;
            }
        }
    }

    /// Takes over a pod whose containers kept running while the agent was away.
    async fn adopted(&self, pod: &Pod, run: &mut PodRun) {
        run.ip = status::recorded_ip(pod);
        run.sandbox_ready = true;
        let states = self.rt.pod_status(&run.uid).await.unwrap_or_default();
        let now = Instant::now();
        let probes_run = self.rt.runs_probes();
        for (i, r) in run.records.iter_mut().enumerate() {
            let old = old_status(pod, r).cloned().unwrap_or_default();
            r.image_id = old.image_id.clone();
            r.last = old
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .map(|t| exit_from(&r.name, t));
            if r.init {
                // Adopted pods are Running: their init containers are done.
                r.state = match old.state.as_ref().and_then(|s| s.terminated.as_ref()) {
                    Some(t) => State::Terminated(exit_from(&r.name, t)),
                    None => State::Terminated(exit_from(&r.name, &Default::default())),
                };
                continue;
            }
            let ended = old.state.as_ref().and_then(|s| s.terminated.as_ref());
            if let Some(t) = ended.filter(|_| r.ephemeral) {
                // An ephemeral container that ended stays so (it is never restarted).
                r.state = State::Terminated(exit_from(&r.name, t));
                continue;
            }
            if let Some((_, ContainerState::Running(c))) = states.iter().find(|(n, _)| *n == r.name)
            {
                r.state = State::Running {
                    container_id: c.container_id.clone(),
                    started_at: c.started_at.clone(),
                };
                r.started = old.started.unwrap_or(true);
                r.ready = old.ready;
                if let Some(c) = container(pod, i, r).filter(|_| probes_run) {
                    run.probers[i] = probes::probers(&c, now);
                }
            } else if let Some(id) = old.container_id.clone() {
                // It ended while the agent was away; how is unknown (the kubelet's words).
                r.state = State::Terminated(crate::runtime::ContainerExit {
                    name: r.name.clone(),
                    container_id: id,
                    exit_code: 137,
                    reason: "ContainerStatusUnknown".into(),
                    started_at: None,
                    finished_at: status::now(),
                });
            }
        }
    }

    /// Accepts the pod (address, sandbox), retrying with back-off until it works.
    async fn accept_with_retry(&self, pod: &Pod, run: &mut PodRun) {
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.accept(pod, run).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(
                        "starting pod {}/{}: {e:#}",
                        pod.namespace().unwrap_or_default(),
                        pod.name_any()
                    );
                    match mount_failure(&e) {
                        Some(msg) => self.events.pod(pod, "Warning", "FailedMount", msg),
                        None => self.events.pod(
                            pod,
                            "Warning",
                            "FailedCreatePodSandBox",
                            format!("Failed to create pod sandbox: {e:#}"),
                        ),
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Address and sandbox; `ContainerCreating` is shown meanwhile (unless the runtime
    /// starts pods instantly, when the first status written is the running one).
    async fn accept(&self, pod: &Pod, run: &mut PodRun) -> anyhow::Result<()> {
        let uid = run.uid.clone();
        run.ip = if host_network(pod) {
            None
        } else {
            Some(self.ipam.lock().unwrap().allocate(&uid).ok_or_else(|| {
                anyhow::anyhow!("no free address in the pod CIDR of node {}", self.node)
            })?)
        };
        if !self.rt.starts_instantly() && run.written.is_none() {
            let st = status::creating(pod, &self.host_ip, &run.start_time, &status::now());
            self.write_status(pod, json!({ "status": st })).await?;
            run.written = Some(digest(&st));
        }
        self.rt.prepare_sandbox(pod, run.ip).await?;
        run.sandbox_ready = true;
        Ok(())
    }

    /// One round: exits, probes, starts, status. Returns when the next round is due.
    async fn sync(&self, pod: &Pod, run: &mut PodRun) -> Option<Instant> {
        run.add_ephemeral(pod);
        self.note_exits(run).await;
        if self.rt.runs_probes() {
            self.run_due_probes(pod, run).await;
        }
        let now = Instant::now();
        let mut backoffs = Vec::new();
        if run.refresh_at.is_some_and(|t| t <= now) {
            run.refresh_at = None;
        }
        for step in lifecycle::plan(&run.records, run.policy, now) {
            match step {
                Step::Start(i) => self.start_container(pod, run, i).await,
                Step::BackOff(i, until) => {
                    self.show_backoff(pod, run, i);
                    backoffs.push(until);
                }
            }
        }
        // The runtime may impose readiness (the simulated runtime's annotation); the pod
        // changing re-runs the round, so removing the annotation makes it ready again.
        if let Some(ready) = self.rt.ready_override(pod) {
            for r in run.records.iter_mut().filter(|r| r.app() || r.sidecar) {
                r.ready = ready && r.running();
            }
        }
        // A start that just failed waits for its back-off.
        let now = Instant::now();
        backoffs.extend(run.records.iter().filter_map(|r| r.backoff_until(now)));
        let st = run.status(pod, &self.host_ip);
        let d = digest(&st);
        if run.written != Some(d) {
            match self.write_status(pod, json!({ "status": st })).await {
                Ok(_) => run.written = Some(d),
                Err(e) => {
                    tracing::warn!("{e:#}");
                    backoffs.push(Instant::now() + Duration::from_secs(1));
                }
            }
        }
        run.next_due(&backoffs)
    }

    /// Records the containers that exited since the last round.
    async fn note_exits(&self, run: &mut PodRun) {
        let Some(states) = self.rt.pod_status(&run.uid).await else {
            return;
        };
        for (i, r) in run.records.iter_mut().enumerate() {
            let State::Running { container_id, .. } = &r.state else {
                continue;
            };
            let exited = states.iter().find_map(|(n, s)| match s {
                ContainerState::Exited(x) if *n == r.name && x.container_id == *container_id => {
                    Some(x.clone())
                }
                _ => None,
            });
            if let Some(x) = exited {
                r.state = State::Terminated(x);
                (r.ready, r.started) = (false, false);
                run.probers[i].clear();
            }
        }
    }

    /// Runs every probe that is due; acts on verdicts (ready, started, restart).
    async fn run_due_probes(&self, pod: &Pod, run: &mut PodRun) {
        let ip = run
            .ip
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| self.host_ip.clone());
        for i in 0..run.records.len() {
            let Some(c) = container(pod, i, &run.records[i]) else {
                continue;
            };
            let mut kill: Option<Kind> = None;
            for p in &mut run.probers[i] {
                let r = &run.records[i];
                let now = Instant::now();
                // Startup runs until it succeeds; the others only after it.
                if !r.running() || p.next > now || (p.kind == Kind::Startup) == r.started {
                    continue;
                }
                let target = probes::Target {
                    runtime: self.rt.as_ref(),
                    pod_uid: &run.uid,
                    pod_ip: &ip,
                    container: &c,
                };
                let result = probes::run(&p.probe, p.timeout(), &target).await;
                if let Err(msg) = &result {
                    self.events.container(
                        pod,
                        run.records[i].init,
                        &c.name,
                        "Warning",
                        "Unhealthy",
                        format!("{} probe failed: {}", p.kind.title(), msg.trim_end()),
                    );
                }
                let r = &mut run.records[i];
                match (p.kind, p.record(result.is_ok(), Instant::now())) {
                    (Kind::Startup, Some(true)) => r.started = true,
                    (Kind::Readiness, Some(v)) => r.ready = v,
                    (kind, Some(false)) if kind != Kind::Readiness => kill = Some(kind),
                    _ => {}
                }
                if kill.is_some() {
                    break;
                }
            }
            if let Some(kind) = kill {
                self.restart_unhealthy(pod, run, i, kind).await;
            }
        }
    }

    /// Kills a container whose liveness or startup probe failed; the plan restarts it.
    async fn restart_unhealthy(&self, pod: &Pod, run: &mut PodRun, i: usize, kind: Kind) {
        let Some(c) = container(pod, i, &run.records[i]) else {
            return;
        };
        self.events.container(
            pod,
            run.records[i].init,
            &c.name,
            "Normal",
            "Killing",
            format!(
                "Container {} failed {} probe, will be restarted",
                c.name,
                kind.title().to_lowercase()
            ),
        );
        let grace = run.probers[i]
            .iter()
            .find(|p| p.kind == kind)
            .and_then(|p| p.probe.termination_grace_period_seconds)
            .or_else(|| {
                pod.spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds)
            })
            .unwrap_or(30)
            .max(0) as u64;
        match self
            .rt
            .stop_container(&run.uid, &c.name, Duration::from_secs(grace))
            .await
        {
            Ok(Some(x)) => {
                let r = &mut run.records[i];
                r.state = State::Terminated(x);
                (r.ready, r.started) = (false, false);
                run.probers[i].clear();
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("stopping container {}: {e:#}", c.name),
        }
    }

    /// While a container waits out its back-off: `CrashLoopBackOff` (or `ImagePullBackOff`)
    /// with upstream's message, and one `BackOff` event per wait.
    fn show_backoff(&self, pod: &Pod, run: &mut PodRun, i: usize) {
        let r = &mut run.records[i];
        let delay = r.backoff.map(|(_, d)| d).unwrap_or_default();
        let reason = match &r.state {
            State::Terminated(x) => {
                r.last = Some(x.clone());
                None
            }
            State::Waiting { reason, .. } => Some(reason.clone()),
            State::Running { .. } => return,
        };
        match reason.as_deref() {
            // A container killed for its failed postStart hook waits in CrashLoopBackOff too.
            None | Some("PostStartHookError") => {
                r.state = State::Waiting {
                    reason: "CrashLoopBackOff".into(),
                    message: Some(lifecycle::crash_loop_message(delay, &r.name, pod)),
                };
                self.events.container(
                    pod,
                    r.init,
                    &r.name,
                    "Warning",
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {} in pod {}_{}({})",
                        r.name,
                        pod.name_any(),
                        pod.namespace().unwrap_or_default(),
                        run.uid
                    ),
                );
            }
            Some("ErrImagePull") if run.refresh_at.is_none() => {
                let error = match &r.state {
                    State::Waiting { message, .. } => message.clone().unwrap_or_default(),
                    _ => String::new(),
                };
                r.state = State::Waiting {
                    reason: "ImagePullBackOff".into(),
                    message: Some(format!(
                        "Back-off pulling image \"{}\": ErrImagePull: {error}",
                        r.image
                    )),
                };
                self.events.container(
                    pod,
                    r.init,
                    &r.name,
                    "Normal",
                    "BackOff",
                    format!("Back-off pulling image \"{}\"", r.image),
                );
                self.events.container(
                    pod,
                    r.init,
                    &r.name,
                    "Warning",
                    "Failed",
                    "Error: ImagePullBackOff".into(),
                );
            }
            _ => {}
        }
    }

    /// The kubelet's `Failed` event for a container that could not be created or started.
    fn container_failed(&self, pod: &Pod, init: bool, name: &str, e: &anyhow::Error) {
        self.events.container(
            pod,
            init,
            name,
            "Warning",
            "Failed",
            format!("Error: {e:#}"),
        );
    }

    /// Image, create, start for one container, with the kubelet's events. A failure leaves
    /// the container waiting with the kubelet's reason, in back-off.
    async fn start_container(&self, pod: &Pod, run: &mut PodRun, i: usize) {
        let Some(c) = container(pod, i, &run.records[i]).map(Cow::into_owned) else {
            return;
        };
        let now = Instant::now();
        let restarting = run.records[i].ended().is_some();
        if restarting {
            let r = &mut run.records[i];
            if let State::Terminated(x) = &r.state {
                r.last = Some(x.clone());
            }
            r.note_attempt(now);
        }
        let init = run.records[i].init;
        let fail = |run: &mut PodRun, reason: &str, message: String| {
            let r = &mut run.records[i];
            r.state = State::Waiting {
                reason: reason.into(),
                message: Some(message),
            };
            if !restarting {
                r.note_attempt(Instant::now());
            }
        };
        let secrets = self.pull_secrets(pod).await;
        let pulled = image_manager::ensure_image_exists(
            self.rt.as_ref(),
            &self.events,
            pod,
            &c,
            init,
            &secrets,
        )
        .await;
        let info = match pulled {
            Ok(info) => info,
            Err(e) => {
                let (reason, msg) = match image_manager::pull_error_in(&e) {
                    Some(p) => (p.failure.reason(), p.message),
                    None => ("ErrImagePull", format!("{e:#}")),
                };
                self.events.container(
                    pod,
                    init,
                    &c.name,
                    "Warning",
                    "Failed",
                    format!("Error: {reason}"),
                );
                fail(run, reason, msg);
                run.refresh_at = Some(Instant::now() + PULL_ERROR_SHOWN);
                return;
            }
        };
        let id = match self.rt.create_container(pod, &c, &info).await {
            Ok(id) => id,
            Err(e) => {
                self.container_failed(pod, init, &c.name, &e);
                // A configuration the kubelet refuses (runAsNonRoot...) has its own reason.
                let reason = match e.downcast_ref::<crate::runtime::runc::security::ConfigError>() {
                    Some(_) => "CreateContainerConfigError",
                    None => "CreateContainerError",
                };
                fail(run, reason, format!("{e:#}"));
                return;
            }
        };
        self.events.container(
            pod,
            init,
            &c.name,
            "Normal",
            "Created",
            format!("Created container: {}", c.name),
        );
        let started = match self.rt.start_container(pod, &id).await {
            Ok(s) => s,
            Err(e) => {
                self.container_failed(pod, init, &c.name, &e);
                fail(run, "RunContainerError", format!("{e:#}"));
                return;
            }
        };
        self.events.container(
            pod,
            init,
            &c.name,
            "Normal",
            "Started",
            format!("Started container {}", c.name),
        );
        let probes_run = self.rt.runs_probes();
        let r = &mut run.records[i];
        r.image_id = info.image_id;
        r.state = State::Running {
            container_id: started.container_id,
            started_at: started.started_at,
        };
        if restarting {
            r.restart_count += 1;
        } else {
            r.backoff = None;
        }
        r.started = !(probes_run && c.startup_probe.is_some());
        r.ready = !(probes_run && c.readiness_probe.is_some());
        run.probers[i] = if probes_run {
            probes::probers(&c, Instant::now())
        } else {
            Vec::new()
        };
        let hook = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref());
        if let Some(h) = hook.filter(|_| probes_run) {
            self.post_start(pod, run, i, &c, h).await;
        }
    }
}

/// A container exit rebuilt from a status entry.
fn exit_from(
    name: &str,
    t: &k8s_openapi::api::core::v1::ContainerStateTerminated,
) -> crate::runtime::ContainerExit {
    crate::runtime::ContainerExit {
        name: name.into(),
        container_id: t.container_id.clone().unwrap_or_default(),
        exit_code: t.exit_code,
        reason: t.reason.clone().unwrap_or_else(|| "Completed".into()),
        started_at: t.started_at.clone(),
        finished_at: t.finished_at.clone().unwrap_or_else(status::now),
    }
}

/// A volume that could not be set up, as the kubelet's `FailedMount` event says it:
/// `MountVolume.SetUp failed for volume "cfg" : configmap "cfg" not found`.
fn mount_failure(e: &anyhow::Error) -> Option<String> {
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    let i = chain.iter().position(|c| c.starts_with("MountVolume."))?;
    Some(format!("{} : {}", chain[i], chain[i + 1..].join(": ")))
}

/// A digest of a status as JSON (what decides whether it changed).
fn digest(st: &k8s_openapi::api::core::v1::PodStatus) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_vec(st).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Sleeps until `t`, or forever.
async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mount_failures_read_like_the_kubelets() {
        let e = anyhow::anyhow!("configmap \"cfg\" not found")
            .context("MountVolume.SetUp failed for volume \"cfg\"")
            .context("preparing the sandbox");
        assert_eq!(
            super::mount_failure(&e).as_deref(),
            Some("MountVolume.SetUp failed for volume \"cfg\" : configmap \"cfg\" not found")
        );
        assert_eq!(super::mount_failure(&anyhow::anyhow!("no")), None);
    }
}
