//! Pod status as the kubelet reports it, built by pure functions from the pod and what the
//! agent knows about its containers: Pending/ContainerCreating first, then from the
//! containers' [`Record`]s (running, waiting in back-off, terminated).

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::lifecycle::{self, Record, RestartPolicy, State};
use crate::runtime::ContainerExit;

/// The current time as an API timestamp.
pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// The order upstream's kubelet writes its conditions in (what `kubectl describe` prints).
const OWN: [&str; 5] = [
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
];

/// A condition whose `lastTransitionTime` is kept from `old` when the status did not change.
fn condition(
    old: Option<&PodStatus>,
    ty: &str,
    ok: bool,
    reason: Option<&str>,
    message: Option<String>,
    now: &Time,
) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let prev = old
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == ty));
    let since = prev
        .filter(|p| p.status == status)
        .and_then(|p| p.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    PodCondition {
        type_: ty.into(),
        status: status.into(),
        reason: reason.map(str::to_string),
        message,
        last_transition_time: Some(since),
        last_probe_time: None,
        ..Default::default()
    }
}

/// Conditions in upstream order, then any condition owned by someone else (readiness gates,
/// DisruptionTarget...) unchanged.
fn conditions(
    pod: &Pod,
    sandbox: bool,
    initialized: bool,
    containers_ready: bool,
    now: &Time,
) -> Vec<PodCondition> {
    let old = pod.status.as_ref();
    let spec = pod.spec.as_ref();
    let names = |init: bool| -> Vec<String> {
        let cs = if init {
            spec.and_then(|s| s.init_containers.as_ref())
        } else {
            spec.map(|s| &s.containers)
        };
        cs.into_iter().flatten().map(|c| c.name.clone()).collect()
    };
    let mut out = vec![condition(
        old,
        "PodReadyToStartContainers",
        sandbox,
        None,
        None,
        now,
    )];
    out.push(if initialized {
        condition(old, "Initialized", true, None, None, now)
    } else {
        condition(
            old,
            "Initialized",
            false,
            Some("ContainersNotInitialized"),
            Some(format!(
                "containers with incomplete status: [{}]",
                names(true).join(" ")
            )),
            now,
        )
    });
    let unready = format!(
        "containers with unready status: [{}]",
        names(false).join(" ")
    );
    // Readiness gates: Ready also needs each gate's condition True.
    let gates: Vec<String> = spec
        .and_then(|s| s.readiness_gates.as_ref())
        .into_iter()
        .flatten()
        .map(|g| g.condition_type.clone())
        .collect();
    let missing_gate = gates.iter().find(|g| {
        !old.and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| &c.type_ == *g && c.status == "True")
    });
    out.push(match (containers_ready, missing_gate) {
        (true, None) => condition(old, "Ready", true, None, None, now),
        (true, Some(g)) => condition(
            old,
            "Ready",
            false,
            Some("ReadinessGatesNotReady"),
            Some(format!(
                "corresponding condition of pod readiness gate \"{g}\" does not exist."
            )),
            now,
        ),
        (false, _) => condition(
            old,
            "Ready",
            false,
            Some("ContainersNotReady"),
            Some(unready.clone()),
            now,
        ),
    });
    out.push(if containers_ready {
        condition(old, "ContainersReady", true, None, None, now)
    } else {
        condition(
            old,
            "ContainersReady",
            false,
            Some("ContainersNotReady"),
            Some(unready),
            now,
        )
    });
    let scheduled = old
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "True")
        })
        .cloned();
    out.push(scheduled.unwrap_or_else(|| condition(None, "PodScheduled", true, None, None, now)));
    for c in old
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        if !OWN.contains(&c.type_.as_str()) {
            out.push(c.clone());
        }
    }
    out
}

fn waiting(name: &str, image: &str, reason: &str) -> ContainerStatus {
    ContainerStatus {
        name: name.into(),
        image: image.into(),
        image_id: String::new(),
        ready: false,
        restart_count: 0,
        started: Some(false),
        state: Some(ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.into()),
                message: None,
            }),
            ..Default::default()
        }),
        last_state: Some(ContainerState::default()),
        ..Default::default()
    }
}

fn addresses(status: &mut PodStatus, host_ip: &str) {
    status.host_ip = Some(host_ip.into());
    status.host_ips = Some(vec![HostIP { ip: host_ip.into() }]);
}

fn base(pod: &Pod, phase: &str, host_ip: &str, start_time: &Time) -> PodStatus {
    let old = pod.status.as_ref();
    let mut s = PodStatus {
        phase: Some(phase.into()),
        qos_class: old.and_then(|s| s.qos_class.clone()),
        start_time: Some(start_time.clone()),
        ..Default::default()
    };
    addresses(&mut s, host_ip);
    s
}

/// The status right after the agent accepted the pod: Pending, containers `ContainerCreating`
/// (or `PodInitializing` behind init containers).
pub fn creating(pod: &Pod, host_ip: &str, start_time: &Time, now: &Time) -> PodStatus {
    let spec = pod.spec.clone().unwrap_or_default();
    let inits = spec.init_containers.unwrap_or_default();
    let mut s = base(pod, "Pending", host_ip, start_time);
    s.conditions = Some(conditions(pod, false, inits.is_empty(), false, now));
    let app_reason = if inits.is_empty() {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };
    if !inits.is_empty() {
        s.init_container_statuses = Some(
            inits
                .iter()
                .map(|c| waiting(&c.name, c.image.as_deref().unwrap_or(""), "PodInitializing"))
                .collect(),
        );
    }
    s.container_statuses = Some(
        spec.containers
            .iter()
            .map(|c| waiting(&c.name, c.image.as_deref().unwrap_or(""), app_reason))
            .collect(),
    );
    s
}

/// Where the pod runs, for [`of_records`].
pub struct Placement<'a> {
    /// The node's address (`status.hostIP`).
    pub host_ip: &'a str,
    /// None until the sandbox has its address.
    pub pod_ip: Option<&'a str>,
    /// When the agent accepted the pod (`status.startTime`).
    pub start_time: &'a Time,
    /// Whether the sandbox (network, volumes) is ready (`PodReadyToStartContainers`).
    pub sandbox_ready: bool,
}

fn terminated(x: &ContainerExit) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code: x.exit_code,
        reason: Some(x.reason.clone()),
        container_id: Some(x.container_id.clone()).filter(|c| !c.is_empty()),
        started_at: x.started_at.clone(),
        finished_at: Some(x.finished_at.clone()),
        ..Default::default()
    }
}

/// One `containerStatuses[]` entry from what the agent knows about the container.
pub fn container_status(r: &Record) -> ContainerStatus {
    let state = match &r.state {
        State::Waiting { reason, message } => ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.clone()),
                message: message.clone(),
            }),
            ..Default::default()
        },
        State::Running { started_at, .. } => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: Some(started_at.clone()),
            }),
            ..Default::default()
        },
        State::Terminated(x) => ContainerState {
            terminated: Some(terminated(x)),
            ..Default::default()
        },
    };
    let container_id = match &r.state {
        State::Running { container_id, .. } => Some(container_id.clone()),
        State::Terminated(x) => Some(x.container_id.clone()),
        State::Waiting { .. } => r.last.as_ref().map(|x| x.container_id.clone()),
    }
    .filter(|c| !c.is_empty());
    let running = r.running();
    let ready = if r.ephemeral {
        false
    } else if r.init && !r.sidecar {
        r.init_done()
    } else {
        running && r.started && r.ready
    };
    ContainerStatus {
        name: r.name.clone(),
        image: r.image.clone(),
        image_id: r.image_id.clone(),
        container_id,
        ready,
        restart_count: r.restart_count,
        started: Some(running && r.started),
        state: Some(state),
        last_state: Some(ContainerState {
            terminated: r.last.as_ref().map(terminated),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The pod's status from its containers' records: phase (upstream `getPhase`), conditions,
/// addresses, init, app and ephemeral container statuses.
pub fn of_records(
    pod: &Pod,
    at: &Placement,
    records: &[Record],
    policy: RestartPolicy,
    now: &Time,
) -> PodStatus {
    let phase = lifecycle::phase(records, policy);
    let mut s = base(pod, phase, at.host_ip, at.start_time);
    if let Some(ip) = at.pod_ip {
        s.pod_ip = Some(ip.into());
        s.pod_ips = Some(vec![PodIP { ip: ip.into() }]);
    }
    let apps: Vec<&Record> = records.iter().filter(|r| r.app()).collect();
    let containers_ready =
        lifecycle::initialized(records) && apps.iter().all(|r| r.running() && r.started && r.ready);
    s.conditions = Some(conditions(
        pod,
        at.sandbox_ready && !lifecycle::is_terminal(phase),
        lifecycle::initialized(records),
        containers_ready && !lifecycle::is_terminal(phase),
        now,
    ));
    let inits: Vec<ContainerStatus> = records
        .iter()
        .filter(|r| r.init)
        .map(container_status)
        .collect();
    if !inits.is_empty() {
        s.init_container_statuses = Some(inits);
    }
    s.container_statuses = Some(apps.into_iter().map(container_status).collect());
    let ephemeral: Vec<ContainerStatus> = records
        .iter()
        .filter(|r| r.ephemeral)
        .map(container_status)
        .collect();
    if !ephemeral.is_empty() {
        s.ephemeral_container_statuses = Some(ephemeral);
    }
    s
}

/// The status of a deleted pod once its containers are stopped (`exits`): upstream's kubelet
/// moves such a pod to a terminal phase before it leaves the API, Succeeded if every container
/// exited 0, else Failed, with its containers terminated and not ready. Only seen while
/// finalizers keep the pod.
pub fn stopped(pod: &Pod, exits: &[ContainerExit], now: &Time) -> PodStatus {
    let mut s = pod.status.clone().unwrap_or_default();
    // Succeeded only if every container ran and exited 0 (upstream's `getPhase` for a terminal
    // pod); a pod already terminal (rejected, finished) keeps its phase.
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let succeeded = containers
        .iter()
        .all(|c| exits.iter().any(|x| x.name == c.name && x.exit_code == 0));
    if !s.phase.as_deref().is_some_and(lifecycle::is_terminal) {
        s.phase = Some(if succeeded { "Succeeded" } else { "Failed" }.into());
    }
    let statuses = s.container_statuses.iter_mut().flatten();
    for cs in statuses.chain(s.ephemeral_container_statuses.iter_mut().flatten()) {
        if let Some(x) = exits.iter().find(|x| x.name == cs.name) {
            cs.state = Some(ContainerState {
                terminated: Some(terminated(x)),
                ..Default::default()
            });
        }
        cs.ready = false;
        cs.started = Some(false);
    }
    s.conditions = Some(conditions(pod, false, true, false, now));
    s
}

/// Whether the pod's status says Running and Ready with an IP (nothing left to do after a restart).
pub fn is_running_ready(pod: &Pod) -> bool {
    let Some(s) = pod.status.as_ref() else {
        return false;
    };
    s.phase.as_deref() == Some("Running")
        && s.pod_ip.as_deref().is_some_and(|ip| !ip.is_empty())
        && s.conditions
            .as_ref()
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The pod IP recorded in the status, if any.
pub fn recorded_ip(pod: &Pod) -> Option<std::net::Ipv4Addr> {
    pod.status.as_ref()?.pod_ip.as_deref()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    fn pod(init: bool) -> Pod {
        let c = |n: &str| Container {
            name: n.into(),
            image: Some("nginx:1.25.4".into()),
            ..Default::default()
        };
        Pod {
            spec: Some(PodSpec {
                containers: vec![c("nginx-container")],
                init_containers: init.then(|| vec![c("init")]),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some("Pending".into()),
                qos_class: Some("BestEffort".into()),
                conditions: Some(vec![PodCondition {
                    type_: "PodScheduled".into(),
                    status: "True".into(),
                    last_transition_time: Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn cond<'a>(s: &'a PodStatus, ty: &str) -> &'a PodCondition {
        s.conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == ty)
            .unwrap()
    }

    #[test]
    fn creating_is_pending_with_container_creating() {
        let t = now();
        let s = creating(&pod(false), "127.0.0.1", &t, &t);
        assert_eq!(s.phase.as_deref(), Some("Pending"));
        assert_eq!(s.qos_class.as_deref(), Some("BestEffort"));
        assert_eq!(s.host_ip.as_deref(), Some("127.0.0.1"));
        assert!(s.pod_ip.is_none());
        let types: Vec<_> = s
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| (c.type_.as_str(), c.status.as_str()))
            .collect();
        assert_eq!(
            types,
            [
                ("PodReadyToStartContainers", "False"),
                ("Initialized", "True"),
                ("Ready", "False"),
                ("ContainersReady", "False"),
                ("PodScheduled", "True")
            ]
        );
        assert_eq!(
            cond(&s, "Ready").message.as_deref(),
            Some("containers with unready status: [nginx-container]")
        );
        // PodScheduled is kept as the binding wrote it.
        assert_eq!(
            cond(&s, "PodScheduled").last_transition_time,
            Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH))
        );
        let cs = &s.container_statuses.as_ref().unwrap()[0];
        assert_eq!(
            cs.state
                .as_ref()
                .unwrap()
                .waiting
                .as_ref()
                .unwrap()
                .reason
                .as_deref(),
            Some("ContainerCreating")
        );
        assert!(!cs.ready);
    }

    #[test]
    fn running_is_ready_with_ip_and_keeps_transition_times() {
        let t0 = now();
        let mut p = pod(true);
        let creating = creating(&p, "127.0.0.1", &t0, &t0);
        assert_eq!(cond(&creating, "Initialized").status, "False");
        p.status = Some(creating);
        let t1 = Time(t0.0 + k8s_openapi::jiff::SignedDuration::from_secs(5));
        let spec = p.spec.clone().unwrap();
        let mut init = Record::new(&spec.init_containers.as_ref().unwrap()[0], true, "x");
        init.state = State::Terminated(ContainerExit {
            name: "init".into(),
            container_id: "sim://init".into(),
            exit_code: 0,
            reason: "Completed".into(),
            started_at: Some(t1.clone()),
            finished_at: t1.clone(),
        });
        let mut app = Record::new(&spec.containers[0], false, "x");
        app.state = State::Running {
            container_id: "sim://nginx-container".into(),
            started_at: t1.clone(),
        };
        app.image_id = "sim://sha256:x".into();
        (app.ready, app.started) = (true, true);
        let at = Placement {
            host_ip: "127.0.0.1",
            pod_ip: Some("10.244.0.2"),
            start_time: &t0,
            sandbox_ready: true,
        };
        let s = of_records(&p, &at, &[init, app], RestartPolicy::Always, &t1);
        assert_eq!(s.phase.as_deref(), Some("Running"));
        assert_eq!(s.pod_ip.as_deref(), Some("10.244.0.2"));
        assert_eq!(s.pod_ips.as_ref().unwrap()[0].ip, "10.244.0.2");
        assert_eq!(s.start_time, Some(t0.clone()));
        for ty in [
            "Ready",
            "ContainersReady",
            "Initialized",
            "PodReadyToStartContainers",
        ] {
            assert_eq!(cond(&s, ty).status, "True", "{ty}");
            assert_eq!(cond(&s, ty).last_transition_time, Some(t1.clone()), "{ty}");
        }
        let cs = &s.container_statuses.as_ref().unwrap()[0];
        assert!(cs.ready && cs.started == Some(true));
        assert_eq!(cs.container_id.as_deref(), Some("sim://nginx-container"));
        assert_eq!(
            cs.state
                .as_ref()
                .unwrap()
                .running
                .as_ref()
                .unwrap()
                .started_at,
            Some(t1.clone())
        );
        let init = &s.init_container_statuses.as_ref().unwrap()[0];
        assert_eq!(
            init.state
                .as_ref()
                .unwrap()
                .terminated
                .as_ref()
                .unwrap()
                .reason
                .as_deref(),
            Some("Completed")
        );
        let mut p2 = p.clone();
        p2.status = Some(s);
        assert!(is_running_ready(&p2));
        assert_eq!(recorded_ip(&p2), Some("10.244.0.2".parse().unwrap()));
    }

    #[test]
    fn readiness_gates_hold_ready_back() {
        let mut p = pod(false);
        p.spec.as_mut().unwrap().readiness_gates =
            Some(vec![k8s_openapi::api::core::v1::PodReadinessGate {
                condition_type: "example.com/lb".into(),
            }]);
        let t = now();
        let at = Placement {
            host_ip: "127.0.0.1",
            pod_ip: Some("10.244.0.2"),
            start_time: &t,
            sandbox_ready: true,
        };
        let s = of_records(&p, &at, &[], RestartPolicy::Always, &t);
        assert_eq!(cond(&s, "Ready").status, "False");
        assert_eq!(
            cond(&s, "Ready").reason.as_deref(),
            Some("ReadinessGatesNotReady")
        );
        assert_eq!(cond(&s, "ContainersReady").status, "True");
    }

    #[test]
    fn a_stopped_pod_is_terminal_and_not_ready() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-0"},
            "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [
                {"name": "a", "image": "x", "imageID": "", "ready": true, "restartCount": 0,
                 "state": {"running": {"startedAt": "2026-01-02T03:04:05Z"}}},
                {"name": "b", "image": "x", "imageID": "", "ready": true, "restartCount": 0,
                 "state": {"running": {"startedAt": "2026-01-02T03:04:05Z"}}}]}
        }))
        .unwrap();
        let exit = |name: &str, code: i32| ContainerExit {
            name: name.into(),
            container_id: format!("sim://{name}"),
            exit_code: code,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            started_at: None,
            finished_at: now(),
        };
        let st = stopped(&pod, &[exit("a", 0), exit("b", 0)], &now());
        assert_eq!(st.phase.as_deref(), Some("Succeeded"));
        let cs = st.container_statuses.unwrap();
        assert!(cs.iter().all(|c| !c.ready));
        assert_eq!(
            cs[1]
                .state
                .as_ref()
                .unwrap()
                .terminated
                .as_ref()
                .unwrap()
                .exit_code,
            0
        );
        let ready = st
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(ready.status, "False");
        let st = stopped(&pod, &[exit("a", 0), exit("b", 1)], &now());
        assert_eq!(st.phase.as_deref(), Some("Failed"));
        // A container that never ran: Failed; a pod already Failed stays so.
        let st = stopped(&pod, &[exit("a", 0)], &now());
        assert_eq!(st.phase.as_deref(), Some("Failed"));
        let mut rejected = pod.clone();
        rejected.status.as_mut().unwrap().phase = Some("Failed".into());
        let st = stopped(&rejected, &[], &now());
        assert_eq!(st.phase.as_deref(), Some("Failed"));
    }
}
