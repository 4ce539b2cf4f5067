//! EndpointSlice controller (with the legacy Endpoints controller folded in): for every
//! Service with a selector, keeps `EndpointSlice`s (labels `kubernetes.io/service-name`,
//! `endpointslice.kubernetes.io/managed-by`, controller reference to the Service) and an
//! `Endpoints` object listing the selected pods' addresses and resolved ports. The
//! `kubernetes` Service in `default` gets the API server's address. Decisions live in
//! [`logic`]; this module only does I/O.
//!
//! Each reconcile reads the Service's pods from the shared pod cache
//! ([`crate::runtime::Caches`]; a later pod change triggers another sync, so a cache that is a
//! moment behind only delays an update) and lists its slices fresh from the API, so a slice just
//! created is never created twice.

pub mod logic;

use crate::replicaset::util::Error;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, ResourceExt};
use logic::{SliceAction, SliceContent, CONTROLLER_NAME, MANAGED_BY, SERVICE_NAME};
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `(namespace, name)`.
type Key = (String, String);

struct Ctx {
    client: Client,
    pods: Arc<crate::runtime::Shared<Pod>>,
    /// Pod → the Services whose endpoints hold it, so a pod relabelled out of a Service
    /// still wakes that Service.
    members: Mutex<HashMap<Key, BTreeSet<String>>>,
}

/// Runs the EndpointSlice/Endpoints controller until the watch streams end.
pub async fn run(client: Client, caches: &crate::runtime::Caches) -> anyhow::Result<()> {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        pods: caches.pods.clone(),
        members: Mutex::new(HashMap::new()),
    });
    tokio::spawn(clean_up_deleted_services(client.clone()));
    let controller = Controller::new(
        Api::<Service>::all(client.clone()),
        watcher::Config::default(),
    );
    let services = controller.store();
    let map_ctx = ctx.clone();
    let slices_cfg = watcher::Config::default().labels(&format!("{MANAGED_BY}={CONTROLLER_NAME}"));
    let controller = controller
        .watches_stream(caches.pods.stream(), move |pod: Pod| {
            services_of(&services, &map_ctx, &pod)
        })
        .watches(
            Api::<EndpointSlice>::all(client),
            slices_cfg,
            |es: EndpointSlice| {
                let ns = es.namespace().unwrap_or_default();
                es.labels()
                    .get(SERVICE_NAME)
                    .map(|s| ObjectRef::new(s).within(&ns))
            },
        );
    ctx.pods.ready().await;
    controller
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("endpointslice controller: {e}");
            }
        })
        .await;
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

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    if svc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let (subsets, slices) = if ns == "default" && name == "kubernetes" {
        let Some(ip) = apiserver_ip(&ctx.client).await else {
            tracing::debug!("no usable address for the kubernetes endpoints");
            return Ok(Action::requeue(Duration::from_secs(30)));
        };
        let Some((subsets, slice)) = logic::apiserver_endpoints(&svc, ip) else {
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
        let pods = ctx.pods.in_namespace(&ns);
        let mut refs: Vec<&Pod> = pods
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| logic::selects(&svc, p))
            .collect();
        // In name order, as a LIST returns them, so the slices do not change with the cache's.
        refs.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        remember_members(&ctx, &ns, &name, &refs);
        (
            logic::endpoint_subsets(&svc, &refs),
            logic::desired_slices(&svc, &refs),
        )
    };
    sync_slices(&ctx.client, &svc, slices).await?;
    sync_endpoints(&ctx.client, &svc, subsets).await?;
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
    client: &Client,
    svc: &Service,
    desired: Vec<SliceContent>,
) -> Result<(), Error> {
    let ns = svc.namespace().unwrap_or_default();
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), &ns);
    let lp = ListParams::default().labels(&format!(
        "{SERVICE_NAME}={},{MANAGED_BY}={CONTROLLER_NAME}",
        svc.name_any()
    ));
    let existing = api.list(&lp).await?.items;
    let is_apiserver = ns == "default" && svc.name_any() == "kubernetes";
    for action in logic::plan_slices(svc, &existing, desired) {
        match action {
            SliceAction::Create(mut es) => {
                if is_apiserver {
                    es.metadata.generate_name = None;
                    es.metadata.name = Some("kubernetes".into());
                }
                api.create(&PostParams::default(), &es).await?;
            }
            SliceAction::Update(es) => {
                api.replace(&es.name_any(), &PostParams::default(), &es)
                    .await?;
            }
            SliceAction::Delete(n) => match api.delete(&n, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            },
        }
    }
    Ok(())
}

async fn sync_endpoints(
    client: &Client,
    svc: &Service,
    subsets: Vec<k8s_openapi::api::core::v1::EndpointSubset>,
) -> Result<(), Error> {
    let api: Api<Endpoints> = Api::namespaced(client.clone(), &svc.namespace().unwrap_or_default());
    let want = logic::endpoints(svc, subsets);
    match api.get_opt(&svc.name_any()).await? {
        None => {
            api.create(&PostParams::default(), &want).await?;
        }
        Some(cur)
            if cur.subsets.clone().filter(|s| !s.is_empty()) != want.subsets
                || cur.metadata.labels != want.metadata.labels =>
        {
            let mut up = cur;
            up.subsets = want.subsets;
            up.metadata.labels = want.metadata.labels;
            api.replace(&svc.name_any(), &PostParams::default(), &up)
                .await?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// The address written for the `kubernetes` Service: the node's InternalIP when it is not
/// loopback, else the host's first non-loopback IPv4 address (the API refuses loopback
/// addresses in endpoints).
async fn apiserver_ip(client: &Client) -> Option<Ipv4Addr> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .ok()?;
    let internal = nodes
        .items
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
async fn clean_up_deleted_services(client: Client) {
    let mut events = watcher(
        Api::<Service>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .boxed();
    while let Some(ev) = events.next().await {
        let Ok(watcher::Event::Delete(svc)) = ev else {
            continue;
        };
        let ns = svc.namespace().unwrap_or_default();
        let name = svc.name_any();
        // Recreated meanwhile: its endpoints are the new Service's.
        if Api::<Service>::namespaced(client.clone(), &ns)
            .get_opt(&name)
            .await
            .ok()
            .flatten()
            .is_some()
        {
            continue;
        }
        let ep: Api<Endpoints> = Api::namespaced(client.clone(), &ns);
        let _ = ep.delete(&name, &DeleteParams::default()).await;
        let es: Api<EndpointSlice> = Api::namespaced(client.clone(), &ns);
        let lp = ListParams::default().labels(&format!(
            "{SERVICE_NAME}={name},{MANAGED_BY}={CONTROLLER_NAME}"
        ));
        let _ = es.delete_collection(&DeleteParams::default(), &lp).await;
    }
}

#[cfg(test)]
mod tests;
