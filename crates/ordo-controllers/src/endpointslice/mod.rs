//! EndpointSlice controller (with the legacy Endpoints controller folded in): for every
//! Service with a selector, keeps `EndpointSlice`s (labels `kubernetes.io/service-name`,
//! `endpointslice.kubernetes.io/managed-by`, controller reference to the Service) and an
//! `Endpoints` object listing the selected pods' addresses and resolved ports. The
//! `kubernetes` Service in `default` gets the API server's address. Decisions live in
//! [`logic`]; this module only does I/O.
//!
//! Each reconcile reads the Service, its pods, its slices and its Endpoints from the shared
//! caches ([`ordo_client::Caches`]; a later change triggers another sync, so a cache that is a
//! moment behind only delays an update) and, before it ends, waits until the caches show its
//! own writes ([`ordo_client::Writes`]), so a slice just created is never created twice.

pub mod logic;

use crate::ownership::Error;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use logic::{SliceAction, SliceContent, CONTROLLER_NAME, MANAGED_BY, SERVICE_NAME};
use ordo_client::{Caches, Change, Shared, Writes};
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `(namespace, name)`.
type Key = (String, String);

struct Ctx {
    client: Client,
    pods: Arc<Shared<Pod>>,
    services: Arc<Shared<Service>>,
    slices: Arc<Shared<EndpointSlice>>,
    endpoints: Arc<Shared<Endpoints>>,
    nodes: Arc<Shared<Node>>,
    /// Pod → the Services whose endpoints hold it, so a pod relabelled out of a Service
    /// still wakes that Service.
    members: Mutex<HashMap<Key, BTreeSet<String>>>,
}

/// Runs the EndpointSlice/Endpoints controller until the watch streams end.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        pods: caches.get::<Pod>(),
        services: caches.get::<Service>(),
        slices: caches.get::<EndpointSlice>(),
        endpoints: caches.get::<Endpoints>(),
        nodes: caches.get::<Node>(),
        members: Mutex::new(HashMap::new()),
    });
    tokio::join!(
        ctx.pods.ready(),
        ctx.services.ready(),
        ctx.slices.ready(),
        ctx.endpoints.ready(),
        ctx.nodes.ready()
    );
    // Joined, not spawned: dropping the controller (its leader lease lost) stops it too.
    let clean_up = clean_up_deleted_services(ctx.clone());
    let services = ctx.services.store();
    let map_ctx = ctx.clone();
    let controller = Controller::for_stream(ctx.services.stream(), ctx.services.store())
        .watches_stream(ctx.pods.stream(), move |pod: Pod| {
            services_of(&services, &map_ctx, &pod)
        })
        .watches_stream(ctx.slices.stream(), |es: EndpointSlice| {
            let ns = es.namespace().unwrap_or_default();
            service_of_slice(&es).map(|s| ObjectRef::new(s).within(&ns))
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("endpointslice controller: {e}");
            }
        });
    tokio::join!(controller, clean_up);
    Ok(())
}

/// The Services to sync when `pod` changes: those selecting it now and those listing it.
fn services_of(services: &Store<Service>, ctx: &Ctx, pod: &Pod) -> Vec<ObjectRef<Service>> {
    let ns = pod.namespace().unwrap_or_default();
    let mut names: BTreeSet<String> = services
        .state()
        .iter()
        .filter(|s| logic::selects(s, pod))
        .map(|s| s.name_any())
        .collect();
    if let Some(m) = ctx
        .members
        .lock()
        .expect("members")
        .get(&(ns.clone(), pod.name_any()))
    {
        names.extend(m.iter().cloned());
    }
    names
        .into_iter()
        .map(|n| ObjectRef::new(&n).within(&ns))
        .collect()
}

fn error_policy(_svc: Arc<Service>, e: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!("endpointslice sync failed: {e:#}");
    Action::requeue(Duration::from_millis(200))
}

async fn reconcile(obj: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    // The newest cached copy (the trigger may be older).
    let Some(svc) = ctx.services.get(&ns, &name) else {
        return Ok(Action::await_change());
    };
    let writes = Writes::default();
    let result = sync(&ctx, &ns, &name, &svc, &writes).await;
    writes.settle(&format!("service {ns}/{name}")).await;
    result
}

/// One sync of `svc`'s slices and Endpoints; notes its writes.
async fn sync(
    ctx: &Ctx,
    ns: &str,
    name: &str,
    svc: &Service,
    writes: &Writes,
) -> Result<Action, Error> {
    if svc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let (subsets, slices) = if ns == "default" && name == "kubernetes" {
        let Some(ip) = apiserver_ip(&ctx.nodes) else {
            tracing::debug!("no usable address for the kubernetes endpoints");
            return Ok(Action::requeue(Duration::from_secs(30)));
        };
        let Some((subsets, slice)) = logic::apiserver_endpoints(svc, ip) else {
            return Ok(Action::await_change());
        };
        (subsets, vec![slice])
    } else if svc
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .is_none_or(|s| s.is_empty())
    {
        // Without a selector the endpoints are the user's to write.
        return Ok(Action::await_change());
    } else {
        let pods = ctx.pods.in_namespace(ns);
        let mut refs: Vec<&Pod> = pods
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| logic::selects(svc, p))
            .collect();
        // In name order, as a LIST returns them, so the slices do not change with the cache's.
        refs.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        remember_members(ctx, ns, name, &refs);
        (
            logic::endpoint_subsets(svc, &refs),
            logic::desired_slices(svc, &refs),
        )
    };
    sync_slices(ctx, svc, slices, writes).await?;
    sync_endpoints(ctx, svc, subsets, writes).await?;
    Ok(Action::requeue(Duration::from_secs(300)))
}

fn remember_members(ctx: &Ctx, ns: &str, svc: &str, pods: &[&Pod]) {
    let now: BTreeSet<String> = pods.iter().map(|p| p.name_any()).collect();
    let mut m = ctx.members.lock().expect("members");
    m.retain(|(pns, pod), svcs| {
        if pns == ns && !now.contains(pod) {
            svcs.remove(svc);
        }
        !svcs.is_empty()
    });
    for p in now {
        m.entry((ns.to_string(), p))
            .or_default()
            .insert(svc.to_string());
    }
}

async fn sync_slices(
    ctx: &Ctx,
    svc: &Service,
    desired: Vec<SliceContent>,
    writes: &Writes,
) -> Result<(), Error> {
    let ns = svc.namespace().unwrap_or_default();
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &ns);
    let svc_name = svc.name_any();
    let mut existing: Vec<EndpointSlice> = ctx
        .slices
        .in_namespace(&ns)
        .iter()
        .filter(|es| service_of_slice(es) == Some(svc_name.as_str()))
        .map(|es| EndpointSlice::clone(es))
        .collect();
    // In name order, as a LIST returns them.
    existing.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let is_apiserver = ns == "default" && svc.name_any() == "kubernetes";
    for action in logic::plan_slices(svc, &existing, desired) {
        match action {
            SliceAction::Create(mut es) => {
                if is_apiserver {
                    es.metadata.generate_name = None;
                    es.metadata.name = Some("kubernetes".into());
                }
                let created = api.create(&PostParams::default(), &es).await?;
                writes.wrote(&ctx.slices, &created);
            }
            SliceAction::Update(es) => {
                let written = api
                    .replace(&es.name_any(), &PostParams::default(), &es)
                    .await?;
                writes.wrote(&ctx.slices, &written);
            }
            SliceAction::Delete(n) => match api.delete(&n, &DeleteParams::default()).await {
                Ok(_) => writes.deleted(&ctx.slices, &ns, &n, None),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            },
        }
    }
    Ok(())
}

async fn sync_endpoints(
    ctx: &Ctx,
    svc: &Service,
    subsets: Vec<k8s_openapi::api::core::v1::EndpointSubset>,
    writes: &Writes,
) -> Result<(), Error> {
    let ns = svc.namespace().unwrap_or_default();
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &ns);
    let want = logic::endpoints(svc, subsets);
    let current = ctx
        .endpoints
        .get(&ns, &svc.name_any())
        .map(|e| Endpoints::clone(&e));
    match current {
        None => {
            let created = api.create(&PostParams::default(), &want).await?;
            writes.wrote(&ctx.endpoints, &created);
        }
        Some(cur)
            if cur.subsets.clone().filter(|s| !s.is_empty()) != want.subsets
                || cur.metadata.labels != want.metadata.labels
                || over_capacity(&cur) != over_capacity(&want) =>
        {
            let mut up = cur;
            let annotations = up.metadata.annotations.get_or_insert_with(Default::default);
            match over_capacity(&want) {
                Some(v) => annotations.insert(logic::OVER_CAPACITY.to_string(), v.to_string()),
                None => annotations.remove(logic::OVER_CAPACITY),
            };
            up.subsets = want.subsets;
            up.metadata.labels = want.metadata.labels;
            let written = api
                .replace(&svc.name_any(), &PostParams::default(), &up)
                .await?;
            writes.wrote(&ctx.endpoints, &written);
        }
        Some(_) => {}
    }
    Ok(())
}

/// The Service a slice belongs to, if this controller manages it.
fn service_of_slice(es: &EndpointSlice) -> Option<&str> {
    let l = es.labels();
    (l.get(MANAGED_BY).map(String::as_str) == Some(CONTROLLER_NAME))
        .then(|| l.get(SERVICE_NAME).map(String::as_str))
        .flatten()
}

/// The `endpoints.kubernetes.io/over-capacity` annotation of an Endpoints object.
fn over_capacity(ep: &Endpoints) -> Option<&str> {
    ep.metadata
        .annotations
        .as_ref()?
        .get(logic::OVER_CAPACITY)
        .map(String::as_str)
}

/// The address written for the `kubernetes` Service: the node's InternalIP when it is not
/// loopback, else the host's first non-loopback IPv4 address (the API refuses loopback
/// addresses in endpoints).
fn apiserver_ip(nodes: &Shared<Node>) -> Option<Ipv4Addr> {
    let internal = nodes
        .state()
        .iter()
        .flat_map(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.addresses.clone())
                .unwrap_or_default()
        })
        .filter(|a| a.type_ == "InternalIP")
        .filter_map(|a| a.address.parse::<Ipv4Addr>().ok())
        .find(|ip| !ip.is_loopback());
    internal.or_else(|| logic::host_ipv4(&std::fs::read_to_string("/proc/net/fib_trie").ok()?))
}

/// Deletes the Endpoints and slices of deleted Services (slices also carry an owner
/// reference for the garbage collector; Endpoints, as upstream, do not).
async fn clean_up_deleted_services(ctx: Arc<Ctx>) {
    let mut changes = Box::pin(ctx.services.changes());
    while let Some(change) = changes.next().await {
        let Change::Delete(svc) = change else {
            continue;
        };
        let ns = svc.namespace().unwrap_or_default();
        let name = svc.name_any();
        // Recreated meanwhile: its endpoints are the new Service's.
        if ctx.services.get(&ns, &name).is_some() {
            continue;
        }
        let ep: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &ns);
        let _ = ep.delete(&name, &DeleteParams::default()).await;
        let es: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &ns);
        for slice in ctx.slices.in_namespace(&ns) {
            if service_of_slice(&slice) == Some(name.as_str()) {
                let _ = es.delete(&slice.name_any(), &DeleteParams::default()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests;
