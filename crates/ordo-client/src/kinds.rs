//! The kinds the API server serves, for readers that handle every kind alike (the garbage
//! collector, the namespace controller).

use kube::api::{Api, ApiResource, DynamicObject};
use kube::discovery::{verbs, Discovery, Scope};
use kube::Client;
use std::time::Duration;

/// The kinds discovery reports that can be listed, watched, patched and deleted, each with
/// whether it is namespaced. Retries every second until discovery answers.
pub async fn discover(client: &Client) -> Vec<(ApiResource, bool)> {
    loop {
        match Discovery::new(client.clone()).run().await {
            Ok(d) => {
                let mut out = Vec::new();
                for g in d.groups() {
                    for (ar, caps) in g.recommended_resources() {
                        if [verbs::LIST, verbs::WATCH, verbs::DELETE, verbs::PATCH]
                            .iter()
                            .all(|v| caps.supports_operation(v))
                        {
                            out.push((ar, caps.scope == Scope::Namespaced));
                        }
                    }
                }
                return out;
            }
            Err(e) => {
                tracing::debug!("discovery failed: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The API of `ar` in namespace `ns` (all namespaces for cluster-scoped kinds or `None`).
pub fn api_for(
    client: &Client,
    ar: &ApiResource,
    namespaced: bool,
    ns: Option<&str>,
) -> Api<DynamicObject> {
    match ns {
        Some(ns) if namespaced => Api::namespaced_with(client.clone(), ns, ar),
        _ => Api::all_with(client.clone(), ar),
    }
}

/// Whether `ar` is an Event kind (core or `events.k8s.io`): the most numerous objects (several
/// per pod), which upstream's garbage collector ignores (`DefaultIgnoredResources`) and which
/// no ordo reader caches.
pub fn is_event(ar: &ApiResource) -> bool {
    ar.plural == "events" && (ar.group.is_empty() || ar.group == "events.k8s.io")
}
