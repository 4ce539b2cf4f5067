//! Garbage collector: deletes objects whose owners are gone (background), deletes
//! dependents before their owner (`foregroundDeletion` finalizer) or orphans them
//! (`orphan` finalizer), for every listable/watchable kind discovery reports. It reads every
//! kind's shared cache as metadata ([`ordo_client::Caches::metadata`]: the pods it sees are the
//! controllers' own pod cache), and after any change rescans the whole graph, paced by
//! [`ordo_client::pacing::Pacer`]; decisions are made by [`graph::decide`].

pub mod graph;

use graph::{Action, Node, Policy};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{ApiResource, DeleteParams, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::Client;
use ordo_client::cache::MetadataCache;
use ordo_client::kinds::{api_for, discover};
use ordo_client::objects::is_not_found;
use ordo_client::pacing::Pacer;
use ordo_client::{Caches, Shared};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// A served kind: its API resource, scope, and cache.
struct Kind {
    ar: ApiResource,
    namespaced: bool,
    cache: Arc<dyn MetadataCache>,
}

/// Shortest rest between two passes (changes arriving meanwhile are batched into one pass).
const MIN_PAUSE: Duration = Duration::from_millis(50);
/// Longest rest between two passes.
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// Rest after a pass, as a multiple of the time the pass took.
const PAUSE_PER_PASS: u32 = 9;

/// The StatefulSet annotation that opts a set out of ordered deletion (value `"false"`).
pub const ORDERED_DELETION_ANNOTATION: &str = "ordo.dev/ordered-deletion";

/// Runs the garbage collector.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let mut pacer = Pacer::new(
        Arc::new(Notify::new()),
        MIN_PAUSE,
        MAX_PAUSE,
        PAUSE_PER_PASS,
    )
    .with_idle(Duration::from_secs(5));
    let mut kinds = Vec::new();
    add_new_kinds(&caches, &client, &pacer, &mut kinds).await;
    // Custom resources come and go with their CRDs: discovery is read again when the CRDs
    // change (upstream's collector resyncs its monitors from discovery). The CRDs are one of
    // the kinds followed, so their metadata cache already wakes the collector.
    let mut crds_seen = crd_versions(&kinds);
    let sets = caches.get::<StatefulSet>();
    for k in &kinds {
        if tokio::time::timeout(Duration::from_secs(30), k.cache.ready())
            .await
            .is_err()
        {
            tracing::warn!(
                "garbage collector: {} cache not ready after 30s",
                k.ar.plural
            );
        }
    }
    // uids of OrderedReady StatefulSets seen, kept after they are gone until their pods are.
    let mut ordered = HashSet::new();
    loop {
        pacer.next().await;
        let now = crd_versions(&kinds);
        if now != crds_seen {
            crds_seen = now;
            add_new_kinds(&caches, &client, &pacer, &mut kinds).await;
        }
        // A pass looks at every object; while objects keep changing, passes would follow each
        // other back to back (tens of ms each at 20,000 pods). Rest for several times as long
        // as the pass computed (its requests aside), so the collector takes at most about a
        // tenth of a core.
        let computed = scan(&client, &kinds, &sets, &mut ordered).await;
        pacer.passed(computed);
    }
}

/// Names and resource versions of the CRDs (empty when CRDs are not served).
fn crd_versions(kinds: &[Kind]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(k) = kinds.iter().find(|k| {
        k.ar.group == "apiextensions.k8s.io" && k.ar.plural == "customresourcedefinitions"
    }) {
        k.cache.each(&mut |m: &ObjectMeta| {
            out.push((
                m.name.clone().unwrap_or_default(),
                m.resource_version.clone().unwrap_or_default(),
            ))
        });
    }
    out.sort();
    out
}

/// Adds the kinds discovery reports that are not followed yet.
async fn add_new_kinds(caches: &Caches, client: &Client, pacer: &Pacer, kinds: &mut Vec<Kind>) {
    for (ar, namespaced) in discover(client).await {
        if ordo_client::kinds::is_event(&ar)
            || kinds.iter().any(|k| {
                k.ar.group == ar.group && k.ar.version == ar.version && k.ar.plural == ar.plural
            })
        {
            continue;
        }
        let cache = caches.metadata(&ar);
        cache.on_change(pacer.notify());
        kinds.push(Kind {
            ar,
            namespaced,
            cache,
        });
    }
}

/// Whether a StatefulSet's pods are deleted in order when it is: `OrderedReady` (the default)
/// and not opted out with `ordo.dev/ordered-deletion: "false"`.
fn deletes_in_order(set: &StatefulSet) -> bool {
    let policy = set
        .spec
        .as_ref()
        .and_then(|s| s.pod_management_policy.as_deref())
        .unwrap_or("OrderedReady");
    let opted_out = set
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ORDERED_DELETION_ANNOTATION))
        .is_some_and(|v| v == "false");
    policy == "OrderedReady" && !opted_out
}

/// The ordinal of a pod controlled by a StatefulSet and named `<set>-<n>`.
fn set_ordinal(m: &ObjectMeta) -> Option<i32> {
    let r = m
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true) && r.kind == "StatefulSet")?;
    let name = m.name.as_deref()?;
    name.strip_prefix(&r.name)?.strip_prefix('-')?.parse().ok()
}

fn snapshot(
    kinds: &[Kind],
    sets: &Shared<StatefulSet>,
    ordered: &mut HashSet<String>,
) -> Vec<Node> {
    for set in sets.state() {
        if deletes_in_order(&set) {
            ordered.insert(set.metadata.uid.clone().unwrap_or_default());
        }
    }
    let mut nodes = Vec::new();
    for (ri, k) in kinds.iter().enumerate() {
        let pods = k.ar.kind == "Pod" && k.ar.group.is_empty();
        k.cache.each(&mut |m| {
            nodes.push(Node {
                resource: ri,
                namespace: m.namespace.clone(),
                name: m.name.clone().unwrap_or_default(),
                uid: m.uid.clone().unwrap_or_default(),
                owners: m.owner_references.clone().unwrap_or_default(),
                finalizers: m.finalizers.clone().unwrap_or_default(),
                deleting: m.deletion_timestamp.is_some(),
                resource_version: m.resource_version.clone(),
                ordinal: if pods { set_ordinal(m) } else { None },
            })
        });
    }
    // Forget sets that are gone and have no dependents left.
    let live: HashSet<&str> = nodes
        .iter()
        .flat_map(|n| {
            n.owners
                .iter()
                .map(|r| r.uid.as_str())
                .chain([n.uid.as_str()])
        })
        .collect();
    ordered.retain(|uid| live.contains(uid.as_str()));
    nodes
}

/// Whether the owner `r` of an object in `ns` is really gone (live GET, uid compared).
async fn owner_absent(
    client: &Client,
    kinds: &[Kind],
    ns: Option<&str>,
    r: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
) -> bool {
    let Some(k) = kinds
        .iter()
        .find(|k| k.ar.api_version == r.api_version && k.ar.kind == r.kind)
    else {
        return false;
    };
    match api_for(client, &k.ar, k.namespaced, ns)
        .get_opt(&r.name)
        .await
    {
        Ok(None) => true,
        Ok(Some(o)) => o.metadata.uid.as_deref() != Some(r.uid.as_str()),
        Err(_) => false,
    }
}

/// One pass over every object; returns the time spent computing (not waiting for requests).
async fn scan(
    client: &Client,
    kinds: &[Kind],
    sets: &Shared<StatefulSet>,
    ordered: &mut HashSet<String>,
) -> Duration {
    let began = std::time::Instant::now();
    let nodes = snapshot(kinds, sets, ordered);
    let mut computed = began.elapsed();
    let mut absent = HashSet::new();
    for (dep, r) in graph::unknown_owners(&nodes) {
        if owner_absent(client, kinds, nodes[dep].namespace.as_deref(), &r).await {
            absent.insert(r.uid.clone());
        }
    }
    let began = std::time::Instant::now();
    let actions = graph::order_deletions(&nodes, graph::decide(&nodes, &absent), ordered);
    computed += began.elapsed();
    for action in actions {
        let n = match &action {
            Action::RemoveOwners { node, .. }
            | Action::Delete { node, .. }
            | Action::RemoveFinalizer { node, .. } => &nodes[*node],
        };
        let k = &kinds[n.resource];
        let api = api_for(client, &k.ar, k.namespaced, n.namespace.as_deref());
        let what = format!(
            "{} {}/{}",
            k.ar.kind,
            n.namespace.as_deref().unwrap_or(""),
            n.name
        );
        let res = match &action {
            Action::RemoveOwners { uids, .. } => {
                let refs: Vec<_> = n.owners.iter().filter(|r| !uids.contains(&r.uid)).collect();
                let refs = if refs.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::json!(refs)
                };
                let patch = serde_json::json!({"metadata": {"ownerReferences": refs, "resourceVersion": n.resource_version}});
                api.patch(&n.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ())
            }
            Action::RemoveFinalizer { finalizer, .. } => {
                let fins: Vec<&String> = n
                    .finalizers
                    .iter()
                    .filter(|f| f.as_str() != *finalizer)
                    .collect();
                let fins = if fins.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::json!(fins)
                };
                let patch = serde_json::json!({"metadata": {"finalizers": fins, "resourceVersion": n.resource_version}});
                api.patch(&n.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ())
            }
            Action::Delete { policy, .. } => {
                let dp = DeleteParams {
                    propagation_policy: Some(match policy {
                        Policy::Background => PropagationPolicy::Background,
                        Policy::Foreground => PropagationPolicy::Foreground,
                        Policy::Orphan => PropagationPolicy::Orphan,
                    }),
                    preconditions: Some(Preconditions {
                        uid: Some(n.uid.clone()),
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                tracing::debug!("garbage collector: deleting {what} ({policy:?})");
                api.delete(&n.name, &dp).await.map(|_| ())
            }
        };
        match res {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => tracing::debug!("garbage collector: {action:?} on {what}: {e}"),
        }
    }
    computed
}
