//! The `postStart` hook of a container that just started, as the kubelet runs it: the pod
//! worker waits for it (the next container starts after it); when it fails, the event
//! `FailedPostStartHook` ("PostStartHook failed": the message stays out of events), the
//! container is killed (event `Killing` "FailedPostStartHook") and waits, reason
//! `PostStartHookError` with the hook's message, for its restart as `restartPolicy` says (or
//! stays terminated when it is not to be restarted).

use super::{Agent, PodRun};
use crate::hooks;
use crate::lifecycle::State;
use crate::probes;
use crate::runtime::ContainerState;
use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Pod};
use std::time::{Duration, Instant};

impl Agent {
    /// Runs container `i`'s `postStart` hook `h`; on failure kills the container.
    pub(super) async fn post_start(
        &self,
        pod: &Pod,
        run: &mut PodRun,
        i: usize,
        c: &Container,
        h: &LifecycleHandler,
    ) {
        let ip = run
            .ip
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| self.host_ip.clone());
        let target = probes::Target {
            runtime: self.rt.as_ref(),
            pod_uid: &run.uid,
            pod_ip: &ip,
            container: c,
        };
        let Err(msg) = hooks::run(h, pod, &target, hooks::POST_START_TIMEOUT).await else {
            return;
        };
        tracing::warn!("{msg}");
        let init = run.records[i].init;
        let (warn, normal) = ("Warning", "Normal");
        let events = &self.events;
        events.container(
            pod,
            init,
            &c.name,
            warn,
            "FailedPostStartHook",
            "PostStartHook failed".into(),
        );
        events.container(
            pod,
            init,
            &c.name,
            normal,
            "Killing",
            "FailedPostStartHook".into(),
        );
        let grace = pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(30)
            .max(0) as u64;
        let stopped = self
            .rt
            .stop_container(&run.uid, &c.name, Duration::from_secs(grace))
            .await;
        let exit = match stopped {
            Ok(Some(x)) => Some(x),
            // It ended by itself meanwhile: how, the runtime knows.
            Ok(None) => {
                let id = match &run.records[i].state {
                    State::Running { container_id, .. } => container_id.clone(),
                    _ => String::new(),
                };
                let states = self.rt.pod_status(&run.uid).await.unwrap_or_default();
                states.into_iter().find_map(|(n, s)| match s {
                    ContainerState::Exited(x) if n == c.name && x.container_id == id => Some(x),
                    _ => None,
                })
            }
            Err(e) => {
                tracing::warn!("stopping container {}: {e:#}", c.name);
                None
            }
        };
        let r = &mut run.records[i];
        match exit {
            // Not to be restarted (restartPolicy): it stays terminated, as upstream shows it.
            Some(x) if !run.policy.restarts(x.exit_code) => r.state = State::Terminated(x),
            exit => {
                if exit.is_some() {
                    r.last = exit;
                }
                r.state = State::Waiting {
                    reason: "PostStartHookError".into(),
                    message: Some(msg),
                };
            }
        }
        (r.ready, r.started) = (false, false);
        if r.backoff.is_none() {
            r.note_attempt(Instant::now());
        }
        run.probers[i].clear();
    }
}
