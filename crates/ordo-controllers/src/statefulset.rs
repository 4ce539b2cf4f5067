//! The StatefulSet controller, a client of the API like upstream's `statefulset-controller`.
//!
//! Layout: [`identity`] (names, labels, pod/claim construction, pod health), [`revision`]
//! (ControllerRevisions: data, hash, choice, pruning), [`claims`] (retention-policy ownerRefs),
//! [`status`], [`plan`] (the pure sync: observed state in, ordered writes and status out) and
//! [`controller`] (the kube-runtime shell that reads, executes and records events).

pub mod adopt;
pub mod claims;
pub mod controller;
pub mod identity;
pub mod plan;
pub mod revision;
pub mod status;

#[cfg(test)]
mod tests;

/// Runs this controller until an unrecoverable error, on the shared caches.
pub async fn run(caches: ordo_client::Caches) -> anyhow::Result<()> {
    controller::run(caches.client().clone(), &caches).await
}
