//! Which container of the pod a record stands for, the status an earlier agent wrote for
//! it, and the records of ephemeral containers added while the pod runs.

use super::PodRun;
use crate::lifecycle::Record;
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};
use std::borrow::Cow;

impl PodRun {
    /// Adds a record for each ephemeral container added to the pod since the last round.
    pub(super) fn add_ephemeral(&mut self, pod: &Pod) {
        for e in crate::ephemeral::of(pod) {
            if !self.records.iter().any(|r| r.ephemeral && r.name == e.name) {
                let c = crate::ephemeral::as_container(e);
                self.records.push(Record::ephemeral(&c));
                self.probers.push(Vec::new());
            }
        }
    }
}

/// The container of record `r`, the pod's `i`-th: init containers first, then app containers
/// by index (the order of [`PodRun::records`]), then ephemeral ones by name (a patch may
/// reorder them); read from the latest version of the pod rather than copied per worker, an
/// ephemeral container in its [`Container`] form.
pub(super) fn container<'a>(pod: &'a Pod, i: usize, r: &Record) -> Option<Cow<'a, Container>> {
    if r.ephemeral {
        let e = crate::ephemeral::named(pod, &r.name)?;
        return Some(Cow::Owned(crate::ephemeral::as_container(e)));
    }
    let spec = pod.spec.as_ref()?;
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    match inits.get(i) {
        Some(c) => Some(Cow::Borrowed(c)),
        None => spec.containers.get(i - inits.len()).map(Cow::Borrowed),
    }
}

/// The container's entry in the status the pod had (written by an earlier agent).
pub(super) fn old_status<'a>(pod: &'a Pod, r: &Record) -> Option<&'a ContainerStatus> {
    let s = pod.status.as_ref()?;
    let list = if r.init {
        s.init_container_statuses.as_ref()
    } else if r.ephemeral {
        s.ephemeral_container_statuses.as_ref()
    } else {
        s.container_statuses.as_ref()
    };
    list?.iter().find(|c| c.name == r.name)
}
