//! The namespaces an ephemeral container joins. Upstream runs it in the pod's sandbox (its
//! network, IPC and UTS namespaces) and, with `targetContainerName`, in the target's process
//! namespace (the CRI's `NamespaceMode_TARGET`). ordo's containers have no sandbox holding
//! IPC and UTS namespaces, so an ephemeral container joins those of its target, or of the
//! pod's first running app container; the network namespace is the pod's, as for any container.

use super::{Ctr, RuncRuntime};
use k8s_openapi::api::core::v1::{Container, Pod};
use std::path::PathBuf;
use std::sync::Arc;

/// Namespaces to join instead of new ones (None: a new one, or the pod's shared one).
#[derive(Debug, Default)]
pub(super) struct Joined {
    /// Process namespace (the target's).
    pub pid: Option<PathBuf>,
    /// IPC namespace.
    pub ipc: Option<PathBuf>,
    /// UTS namespace.
    pub uts: Option<PathBuf>,
}

/// A namespace of a running process.
fn ns_of(pid: i32, kind: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/{kind}"))
}

impl RuncRuntime {
    /// The namespaces container `c` of `pod` joins: none for regular and init containers.
    /// Fails for an ephemeral container whose target does not run.
    pub(super) fn joined_namespaces(&self, pod: &Pod, c: &Container) -> anyhow::Result<Joined> {
        if crate::ephemeral::named(pod, &c.name).is_none() {
            return Ok(Joined::default());
        }
        let uid = super::uid_of(pod);
        let running: Vec<Arc<Ctr>> = self
            .containers_of(&uid, None)
            .into_iter()
            .filter(|x| x.exit.lock().unwrap().is_none())
            .collect();
        let pid_of = |name: &str| {
            running.iter().find_map(|x| {
                let m = x.meta.lock().unwrap();
                (m.name == name && m.started_at.is_some()).then_some(m.pid)
            })
        };
        let target = crate::ephemeral::target(pod, &c.name);
        let holder = match target {
            Some(t) => Some(pid_of(t).ok_or_else(|| {
                anyhow::anyhow!(
                    "target container {t:?} of ephemeral container {:?} is not running",
                    c.name
                )
            })?),
            None => pod
                .spec
                .as_ref()
                .into_iter()
                .flat_map(|s| s.containers.iter())
                .find_map(|app| pid_of(&app.name)),
        };
        Ok(match holder {
            Some(pid) => Joined {
                pid: target.map(|_| ns_of(pid, "pid")),
                ipc: Some(ns_of(pid, "ipc")),
                uts: Some(ns_of(pid, "uts")),
            },
            None => Joined::default(),
        })
    }
}
