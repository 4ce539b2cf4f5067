//! Garbage collector: deletes objects whose owners are gone (background), deletes
//! dependents before their owner (`foregroundDeletion` finalizer) or orphans them
//! (`orphan` finalizer), for every listable/watchable kind discovery reports. It keeps a
//! reflector per kind, and after any change rescans the whole graph; decisions are made
//! by [`graph::decide`].

pub mod graph;

use crate::objects::is_not_found;
use futures::StreamExt;
use graph::{Action, Node, Policy};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions,
    PropagationPolicy,
};
use kube::discovery::{verbs, Discovery, Scope};
use kube::runtime::reflector::{self, store::Writer, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// A served kind: its API resource, scope, and cache.
struct Kind {
    pub ar: ApiResource,
    pub namespaced: bool,
    pub store: Store<DynamicObject>,
}

/// The kinds discovery reports that can be listed, watched, patched and deleted.
pub(crate) async fn discover(client: &Client) -> Vec<(ApiResource, bool)> {
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

/// The API of one object of `ar`.
pub(crate) fn api_for(
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

/// Shortest rest between two passes (changes arriving meanwhile are batched into one pass).
const MIN_PAUSE: Duration = Duration::from_millis(50);
/// Longest rest between two passes.
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// Rest after a pass, as a multiple of the time the pass took.
const PAUSE_PER_PASS: u32 = 9;

/// The StatefulSet annotation that opts a set out of ordered deletion (value `"false"`).
pub const ORDERED_DELETION_ANNOTATION: &str = "ordo.dev/ordered-deletion";

/// Runs the garbage collector.
pub async fn run(client: Client) -> anyhow::Result<()> {
    let notify = Arc::new(Notify::new());
    let mut kinds = Vec::new();
    for (ar, namespaced) in discover(&client).await {
        if ignored(&ar) {
            continue;
        }
        let writer = Writer::new(ar.clone());
        let store = writer.as_reader();
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let n = notify.clone();
        let statefulsets = ar.kind == "StatefulSet" && ar.group == "apps";
        tokio::spawn(
            reflector::reflector(
                writer,
                watcher(api, watcher::Config::default())
                    .default_backoff()
                    .modify(move |o| strip(o, statefulsets)),
            )
            .for_each(move |_| {
                n.notify_one();
                futures::future::ready(())
            }),
        );
        kinds.push(Kind {
            ar,
            namespaced,
            store,
        });
    }
    for k in &kinds {
        if tokio::time::timeout(Duration::from_secs(30), k.store.wait_until_ready())
            .await
            .is_err()
        {
            tracing::warn!(
                "garbage collector: {} cache not ready after 30s",
                k.ar.plural
            );
        }
    }
    let mut pause = MIN_PAUSE;
    // uids of OrderedReady StatefulSets seen, kept after they are gone until their pods are.
    let mut ordered = HashSet::new();
    loop {
        let _ = tokio::time::timeout(Duration::from_secs(5), notify.notified()).await;
        tokio::time::sleep(pause).await;
        // A pass looks at every object; while objects keep changing, passes would follow each
        // other back to back (tens of ms each at 20,000 pods). Rest for several times as long
        // as the pass computed (its requests aside), so the collector takes at most about a
        // tenth of a core.
        let computed = scan(&client, &kinds, &mut ordered).await;
        pause = (computed * PAUSE_PER_PASS).clamp(MIN_PAUSE, MAX_PAUSE);
    }
}

/// Kinds the collector does not follow, as upstream's `DefaultIgnoredResources`: Events
/// (core and `events.k8s.io`), the most numerous objects (several per pod).
fn ignored(ar: &ApiResource) -> bool {
    ar.plural == "events" && (ar.group.is_empty() || ar.group == "events.k8s.io")
}

/// Keeps only what the collector reads (identity, owners, finalizers, deletion, and whether a
/// StatefulSet deletes its pods in order): the caches of every kind would otherwise hold every
/// object in full.
fn strip(o: &mut DynamicObject, statefulsets: bool) {
    let ordered = statefulsets && deletes_in_order(o);
    o.data = if ordered {
        serde_json::json!({ "ordered": true })
    } else {
        serde_json::Value::Null
    };
    let m = &mut o.metadata;
    m.managed_fields = None;
    m.annotations = None;
    m.labels = None;
}

/// Whether a StatefulSet's pods are deleted in order when it is: `OrderedReady` (the default)
/// and not opted out with `ordo.dev/ordered-deletion: "false"`.
fn deletes_in_order(set: &DynamicObject) -> bool {
    let policy = set.data["spec"]["podManagementPolicy"]
        .as_str()
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
fn set_ordinal(o: &DynamicObject) -> Option<i32> {
    let r = o
        .metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true) && r.kind == "StatefulSet")?;
    let name = o.metadata.name.as_deref()?;
    name.strip_prefix(&r.name)?.strip_prefix('-')?.parse().ok()
}

fn snapshot(kinds: &[Kind], ordered: &mut HashSet<String>) -> Vec<Node> {
    let mut nodes = Vec::new();
    for (ri, k) in kinds.iter().enumerate() {
        let pods = k.ar.kind == "Pod" && k.ar.group.is_empty();
        let sets = k.ar.kind == "StatefulSet" && k.ar.group == "apps";
        for o in k.store.state() {
            let m = &o.metadata;
            if sets && o.data["ordered"] == true {
                ordered.insert(m.uid.clone().unwrap_or_default());
            }
            nodes.push(Node {
                resource: ri,
                namespace: m.namespace.clone(),
                name: m.name.clone().unwrap_or_default(),
                uid: m.uid.clone().unwrap_or_default(),
                owners: m.owner_references.clone().unwrap_or_default(),
                finalizers: m.finalizers.clone().unwrap_or_default(),
                deleting: m.deletion_timestamp.is_some(),
                resource_version: m.resource_version.clone(),
                ordinal: if pods { set_ordinal(&o) } else { None },
            });
        }
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
async fn scan(client: &Client, kinds: &[Kind], ordered: &mut HashSet<String>) -> Duration {
    let began = std::time::Instant::now();
    let nodes = snapshot(kinds, ordered);
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
