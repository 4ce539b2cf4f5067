//! The kubelet's per-pod decisions, as pure functions over what the agent knows about each
//! container ([`Record`]): which container to start next (init containers in order, each to
//! completion, then the app containers), when a container that exited is restarted
//! (`restartPolicy`, exponential back-off of 10 s doubling to 5 min, reset after 10 min of
//! quiet), and the pod's phase (upstream's `getPhase`).
//!
//! No I/O and no clock: the caller passes `now`.

use crate::runtime::ContainerExit;
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::time::{Duration, Instant};

/// The first wait before restarting a container that crashed again (upstream: 10 s).
pub const BACKOFF_INITIAL: Duration = Duration::from_secs(10);
/// The longest wait (upstream `MaxContainerBackOff`: 5 min).
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// A container's state as `containerStatuses[].state` reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// Not running: not started yet, or waiting to be restarted (`state.waiting`).
    Waiting {
        /// Why it waits: `ContainerCreating`, `PodInitializing`, `CrashLoopBackOff`,
        /// `ErrImagePull`...
        reason: String,
        /// Details of the reason (the back-off or pull error), if any.
        message: Option<String>,
    },
    /// Started and not yet exited (`state.running`).
    Running {
        /// `<runtime>://<id>`, as `containerStatuses[].containerID` shows it.
        container_id: String,
        /// When the runtime started it (`startedAt`).
        started_at: Time,
    },
    /// Exited and not (yet) restarted (`state.terminated`).
    Terminated(ContainerExit),
}

/// The pod's `restartPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Restart every container that exits, whatever its exit code.
    Always,
    /// Restart only containers that exit with a non-zero code.
    OnFailure,
    /// Never restart a container that exited.
    Never,
}

impl RestartPolicy {
    /// The pod's policy (`Always` when unset, as defaulting does).
    pub fn of(pod: &Pod) -> RestartPolicy {
        match pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) {
            Some("Never") => RestartPolicy::Never,
            Some("OnFailure") => RestartPolicy::OnFailure,
            _ => RestartPolicy::Always,
        }
    }

    /// Whether a container that ended with `exit_code` is started again.
    pub fn restarts(self, exit_code: i32) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => exit_code != 0,
            RestartPolicy::Never => false,
        }
    }
}

/// What the agent knows about one container of a pod it runs.
#[derive(Clone, Debug)]
pub struct Record {
    /// The container's name in the pod spec.
    pub name: String,
    /// The image as the pod spec names it.
    pub image: String,
    /// The image's `imageID` once it is present (empty until then).
    pub image_id: String,
    /// An init container (`spec.initContainers`).
    pub init: bool,
    /// An init container with `restartPolicy: Always` (a sidecar): it keeps running.
    pub sidecar: bool,
    /// An ephemeral container (`spec.ephemeralContainers`): started once, never restarted,
    /// never ready, not part of the pod's phase or readiness.
    pub ephemeral: bool,
    /// The current instance's state.
    pub state: State,
    /// The previous instance's end (`lastState.terminated`).
    pub last: Option<ContainerExit>,
    /// How many times the container has been restarted (`restartCount`).
    pub restart_count: i32,
    /// The readiness verdict (true once running when there is no readiness probe).
    pub ready: bool,
    /// The startup verdict (true once running when there is no startup probe).
    pub started: bool,
    /// Last (re)start or failed attempt and the back-off that applies after it.
    pub backoff: Option<(Instant, Duration)>,
}

impl Record {
    /// A container not started yet, waiting with `reason`.
    pub fn new(c: &Container, init: bool, reason: &str) -> Record {
        Record {
            name: c.name.clone(),
            image: c.image.clone().unwrap_or_default(),
            image_id: String::new(),
            init,
            sidecar: init && c.restart_policy.as_deref() == Some("Always"),
            ephemeral: false,
            state: State::Waiting {
                reason: reason.into(),
                message: None,
            },
            last: None,
            restart_count: 0,
            ready: false,
            started: false,
            backoff: None,
        }
    }

    /// An ephemeral container not started yet (`ContainerCreating`); `c` is its
    /// [`crate::ephemeral::as_container`] form.
    pub fn ephemeral(c: &Container) -> Record {
        Record {
            ephemeral: true,
            ..Record::new(c, false, "ContainerCreating")
        }
    }

    /// An app container (neither init nor ephemeral).
    pub fn app(&self) -> bool {
        !self.init && !self.ephemeral
    }

    /// Whether the container runs now.
    pub fn running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// How this container instance ended, or, while it waits to be restarted, how the last one did.
    pub fn ended(&self) -> Option<&ContainerExit> {
        match &self.state {
            State::Terminated(x) => Some(x),
            State::Waiting { .. } => self.last.as_ref(),
            State::Running { .. } => None,
        }
    }

    /// Whether this init container is done (exited 0; a sidecar once it runs and started).
    pub fn init_done(&self) -> bool {
        if self.sidecar {
            return self.running() && self.started;
        }
        matches!(&self.state, State::Terminated(x) if x.exit_code == 0)
    }

    /// When a start may be tried again: None now, else the end of the back-off.
    pub fn backoff_until(&self, now: Instant) -> Option<Instant> {
        let (t, d) = self.backoff?;
        (now < t + d).then_some(t + d)
    }

    /// Notes a restart (or a failed start attempt) at `now`: the next back-off doubles, or
    /// starts at [`BACKOFF_INITIAL`] after a quiet period of twice the maximum.
    pub fn note_attempt(&mut self, now: Instant) {
        let next = match self.backoff {
            Some((t, d)) if now.saturating_duration_since(t) <= BACKOFF_MAX * 2 => {
                (d * 2).clamp(BACKOFF_INITIAL, BACKOFF_MAX)
            }
            _ => BACKOFF_INITIAL,
        };
        self.backoff = Some((now, next));
    }
}

/// What to do next for one container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Start (or restart) the container at this index now.
    Start(usize),
    /// It is to be restarted, but not before this instant (CrashLoopBackOff).
    BackOff(usize, Instant),
}

/// The next steps for a pod's containers (init containers first, one at a time). Ephemeral
/// containers start whatever the others do (even before initialization is complete, as the
/// kubelet's `computePodActions`), once: one that ran is never restarted, whatever the policy.
pub fn plan(records: &[Record], policy: RestartPolicy, now: Instant) -> Vec<Step> {
    let gate = |i: usize| match records[i].backoff_until(now) {
        Some(t) => Step::BackOff(i, t),
        None => Step::Start(i),
    };
    let mut steps: Vec<Step> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ephemeral && matches!(r.state, State::Waiting { .. }))
        .filter(|(_, r)| r.last.is_none())
        .map(|(i, _)| gate(i))
        .collect();
    for (i, r) in records.iter().enumerate().filter(|(_, r)| r.init) {
        if r.init_done() {
            continue;
        }
        match &r.state {
            State::Running { .. } => {}
            State::Waiting { .. } if r.last.is_none() => steps.push(gate(i)),
            _ => {
                let code = r.ended().map(|x| x.exit_code).unwrap_or(1);
                // Failed init containers restart unless the pod never restarts anything;
                // a sidecar restarts whatever the pod's policy.
                if r.sidecar || policy != RestartPolicy::Never || code == 0 {
                    steps.push(gate(i));
                }
            }
        }
        return steps;
    }
    for (i, r) in records.iter().enumerate().filter(|(_, r)| r.app()) {
        match r.ended() {
            None if !r.running() => steps.push(gate(i)),
            None => {}
            Some(x) if policy.restarts(x.exit_code) => steps.push(gate(i)),
            Some(_) => {}
        }
    }
    steps
}

/// Whether every init container is done.
pub fn initialized(records: &[Record]) -> bool {
    records.iter().filter(|r| r.init).all(|r| r.init_done())
}

/// The pod's phase (upstream kubelet `getPhase`).
pub fn phase(records: &[Record], policy: RestartPolicy) -> &'static str {
    let mut init_failed = false;
    let mut init_pending = false;
    for r in records.iter().filter(|r| r.init && !r.sidecar) {
        if r.init_done() {
            continue;
        }
        match r.ended() {
            Some(x) if x.exit_code != 0 => init_failed = true,
            _ => init_pending = true,
        }
    }
    if init_failed && policy == RestartPolicy::Never {
        return "Failed";
    }
    if init_failed || init_pending {
        return "Pending";
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for r in records.iter().filter(|r| r.app()) {
        match &r.state {
            State::Running { .. } => running += 1,
            State::Terminated(x) => {
                stopped += 1;
                if x.exit_code == 0 {
                    succeeded += 1;
                }
            }
            State::Waiting { .. } => match &r.last {
                Some(x) => {
                    stopped += 1;
                    if x.exit_code == 0 {
                        succeeded += 1;
                    }
                }
                None => waiting += 1,
            },
        }
    }
    if waiting > 0 {
        "Pending"
    } else if running > 0 {
        "Running"
    } else if stopped > 0 {
        match policy {
            RestartPolicy::Always => "Running",
            _ if stopped == succeeded => "Succeeded",
            RestartPolicy::Never => "Failed",
            RestartPolicy::OnFailure => "Running",
        }
    } else {
        "Pending"
    }
}

/// Whether the pod has reached a phase it never leaves.
pub fn is_terminal(phase: &str) -> bool {
    phase == "Succeeded" || phase == "Failed"
}

/// The pod as the kubelet names it in messages (`format.Pod`): `name_namespace(uid)`.
pub fn format_pod(pod: &Pod) -> String {
    let m = &pod.metadata;
    format!(
        "{}_{}({})",
        m.name.as_deref().unwrap_or_default(),
        m.namespace.as_deref().unwrap_or("default"),
        m.uid.as_deref().unwrap_or_default()
    )
}

/// The message of a container waiting in CrashLoopBackOff, as the kubelet writes it.
pub fn crash_loop_message(delay: Duration, container: &str, pod: &Pod) -> String {
    format!(
        "back-off {} restarting failed container={container} pod={}",
        crate::lifecycle::go_duration(delay),
        format_pod(pod)
    )
}

/// A duration as Go prints it for whole seconds: `10s`, `1m20s`, `5m0s`.
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str) -> Container {
        Container {
            name: name.into(),
            image: Some("busybox:1.28".into()),
            ..Default::default()
        }
    }

    fn exit(code: i32) -> ContainerExit {
        ContainerExit {
            name: "x".into(),
            container_id: "runc://x".into(),
            exit_code: code,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            started_at: None,
            finished_at: crate::status::now(),
        }
    }

    fn running() -> State {
        State::Running {
            container_id: "runc://x".into(),
            started_at: crate::status::now(),
        }
    }

    #[test]
    fn init_containers_run_one_at_a_time_before_the_apps() {
        let now = Instant::now();
        let mut rs = vec![
            Record::new(&c("init-a"), true, "PodInitializing"),
            Record::new(&c("init-b"), true, "PodInitializing"),
            Record::new(&c("app"), false, "PodInitializing"),
        ];
        assert_eq!(plan(&rs, RestartPolicy::Always, now), [Step::Start(0)]);
        rs[0].state = running();
        assert!(plan(&rs, RestartPolicy::Always, now).is_empty());
        assert_eq!(phase(&rs, RestartPolicy::Always), "Pending");
        rs[0].state = State::Terminated(exit(0));
        assert_eq!(plan(&rs, RestartPolicy::Always, now), [Step::Start(1)]);
        rs[1].state = State::Terminated(exit(0));
        assert!(initialized(&rs));
        assert_eq!(plan(&rs, RestartPolicy::Always, now), [Step::Start(2)]);
        rs[2].state = running();
        assert_eq!(phase(&rs, RestartPolicy::Always), "Running");
        assert!(plan(&rs, RestartPolicy::Always, now).is_empty());
    }

    #[test]
    fn a_failed_init_container_fails_the_pod_only_under_never() {
        let now = Instant::now();
        let mut rs = vec![
            Record::new(&c("init"), true, "PodInitializing"),
            Record::new(&c("app"), false, "PodInitializing"),
        ];
        rs[0].state = State::Terminated(exit(1));
        assert!(plan(&rs, RestartPolicy::Never, now).is_empty());
        assert_eq!(phase(&rs, RestartPolicy::Never), "Failed");
        assert_eq!(plan(&rs, RestartPolicy::OnFailure, now), [Step::Start(0)]);
        assert_eq!(phase(&rs, RestartPolicy::OnFailure), "Pending");
    }

    #[test]
    fn restart_policy_decides_what_restarts() {
        let now = Instant::now();
        let mut rs = vec![Record::new(&c("app"), false, "ContainerCreating")];
        rs[0].state = State::Terminated(exit(0));
        assert_eq!(plan(&rs, RestartPolicy::Always, now), [Step::Start(0)]);
        assert!(plan(&rs, RestartPolicy::OnFailure, now).is_empty());
        assert_eq!(phase(&rs, RestartPolicy::OnFailure), "Succeeded");
        assert_eq!(phase(&rs, RestartPolicy::Never), "Succeeded");
        assert_eq!(phase(&rs, RestartPolicy::Always), "Running");
        rs[0].state = State::Terminated(exit(2));
        assert_eq!(plan(&rs, RestartPolicy::OnFailure, now), [Step::Start(0)]);
        assert!(plan(&rs, RestartPolicy::Never, now).is_empty());
        assert_eq!(phase(&rs, RestartPolicy::Never), "Failed");
        assert_eq!(phase(&rs, RestartPolicy::OnFailure), "Running");
    }

    #[test]
    fn a_pod_with_one_container_still_running_is_running() {
        let mut rs = vec![
            Record::new(&c("a"), false, "ContainerCreating"),
            Record::new(&c("b"), false, "ContainerCreating"),
        ];
        rs[0].state = State::Terminated(exit(1));
        rs[1].state = running();
        assert_eq!(phase(&rs, RestartPolicy::Never), "Running");
        rs[1].state = State::Waiting {
            reason: "ContainerCreating".into(),
            message: None,
        };
        assert_eq!(phase(&rs, RestartPolicy::Never), "Pending");
    }

    #[test]
    fn back_off_doubles_from_ten_seconds_to_five_minutes() {
        let t0 = Instant::now();
        let mut r = Record::new(&c("app"), false, "ContainerCreating");
        r.state = State::Terminated(exit(1));
        // The first restart is immediate.
        assert_eq!(
            plan(std::slice::from_ref(&r), RestartPolicy::Always, t0),
            [Step::Start(0)]
        );
        r.note_attempt(t0);
        assert_eq!(r.backoff, Some((t0, BACKOFF_INITIAL)));
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(
            plan(std::slice::from_ref(&r), RestartPolicy::Always, t1),
            [Step::BackOff(0, t0 + BACKOFF_INITIAL)]
        );
        let t2 = t0 + BACKOFF_INITIAL;
        assert_eq!(
            plan(std::slice::from_ref(&r), RestartPolicy::Always, t2),
            [Step::Start(0)]
        );
        r.note_attempt(t2);
        assert_eq!(r.backoff, Some((t2, Duration::from_secs(20))));
        let mut t = t2;
        for _ in 0..10 {
            t += Duration::from_secs(1);
            r.note_attempt(t);
        }
        assert_eq!(r.backoff.unwrap().1, BACKOFF_MAX);
        // After ten quiet minutes the back-off starts over.
        let later = t + Duration::from_secs(601);
        r.note_attempt(later);
        assert_eq!(r.backoff, Some((later, BACKOFF_INITIAL)));
    }

    #[test]
    fn ephemeral_containers_start_once_and_do_not_count_for_the_phase() {
        let now = Instant::now();
        let mut init = Record::new(&c("init"), true, "PodInitializing");
        let mut app = Record::new(&c("app"), false, "PodInitializing");
        let mut debug = Record::ephemeral(&c("debugger"));
        // Started even while an init container runs.
        init.state = running();
        let records = vec![init.clone(), app.clone(), debug.clone()];
        assert_eq!(
            plan(&records, RestartPolicy::Always, now),
            vec![Step::Start(2)]
        );
        init.state = State::Terminated(exit(0));
        app.state = running();
        debug.state = State::Terminated(exit(1));
        let records = vec![init, app, debug];
        // Never restarted, whatever the policy; the pod runs on.
        assert_eq!(plan(&records, RestartPolicy::Always, now), vec![]);
        assert_eq!(phase(&records, RestartPolicy::Never), "Running");
    }

    #[test]
    fn crash_loop_message_is_upstreams() {
        let pod = Pod {
            metadata: kube::api::ObjectMeta {
                name: Some("web-0".into()),
                namespace: Some("default".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            crash_loop_message(Duration::from_secs(20), "nginx", &pod),
            "back-off 20s restarting failed container=nginx pod=web-0_default(u1)"
        );
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
    }
}
