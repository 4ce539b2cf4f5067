//! The I/O of the volume controllers: the shared caches feed [`World`] snapshots; after any
//! change (and every few seconds) the steps [`plan`] decides are run against the API server
//! and the volumes directory.

use super::protection::pod_uses_claim;
use super::{plan, provision, Action, Object, Source, World, PROVISIONER};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::Client;
use ordo_client::events::{EventType, Recorder};
use ordo_client::objects::{api_message, is_not_found};
use ordo_client::pacing::Pacer;
use ordo_client::{Caches, View};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Events that repeat while a claim waits are recorded at most this often.
const REPEAT_EVERY: Duration = Duration::from_secs(15);
/// A full pass runs at least this often.
const RESYNC: Duration = Duration::from_secs(5);
/// Rest after a change before the pass (changes meanwhile are folded into it).
const PAUSE: Duration = Duration::from_millis(30);
/// Steps (each about one claim or volume) run concurrently at most.
const CONCURRENCY: usize = 16;
/// Event recorders per component.
const RECORDERS: usize = 4;

/// Whether a pod mounts a volume of any kind (a pod's volumes never change).
fn has_claims(p: &Pod) -> bool {
    p.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vs| !vs.is_empty())
}

struct Io {
    client: Client,
    volumes_dir: PathBuf,
    /// A few recorders per component (each records one event at a time), picked by object.
    recorders: HashMap<Source, Vec<Recorder>>,
    /// (object uid, reason) → when last recorded.
    recorded: Mutex<HashMap<(String, &'static str), Instant>>,
}

/// Runs the binder, the local-path provisioner (directories in `volumes_dir`), the
/// protection controllers and expansion until the process ends.
pub async fn run(caches: Caches, volumes_dir: PathBuf) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let notify = Arc::new(Notify::new());
    let claims = caches.get::<PersistentVolumeClaim>();
    let volumes = caches.get::<PersistentVolume>();
    let classes = caches.get::<StorageClass>();
    let nodes = caches.get::<Node>();
    let sets = caches.get::<StatefulSet>();
    let all_pods = caches.get::<Pod>();
    tokio::join!(
        claims.ready(),
        volumes.ready(),
        classes.ready(),
        nodes.ready(),
        sets.ready(),
        all_pods.ready()
    );
    claims.on_change(notify.clone());
    volumes.on_change(notify.clone());
    classes.on_change(notify.clone());
    nodes.on_change(notify.clone());
    sets.on_change(notify.clone());
    // Only pods with volumes matter here: with 20,000 pods and none using a claim, the view
    // stays empty and pod changes wake nothing.
    let pods = View::new(&all_pods, has_claims, notify.clone());
    let source = |s: &str| {
        (0..RECORDERS)
            .map(|_| Recorder::new(client.clone(), s))
            .collect()
    };
    let io = Io {
        client: client.clone(),
        volumes_dir,
        recorders: HashMap::from([
            (Source::Binder, source("persistentvolume-controller")),
            (Source::Provisioner, source(&format!("{PROVISIONER}_ordo"))),
            (
                Source::Resizer,
                source(&format!("external-resizer {PROVISIONER}")),
            ),
            (Source::Expander, source("volume_expand")),
        ]),
        recorded: Mutex::new(HashMap::new()),
    };
    // A pass after every change (a burst folded into one) and at least every RESYNC.
    let mut pacer = Pacer::new(notify, PAUSE, PAUSE, 1).with_idle(RESYNC);
    loop {
        let world = World {
            claims: claims.state(),
            volumes: volumes.state(),
            classes: classes.state(),
            pods: pods.state(),
            nodes: nodes.state(),
            sets: sets.state(),
            volumes_dir: io.volumes_dir.clone(),
        };
        futures::stream::iter(plan(&world))
            .for_each_concurrent(CONCURRENCY, |step| async {
                for action in step {
                    if let Err(e) = io.run(action).await {
                        tracing::debug!("volume controller: {e:#}");
                        break;
                    }
                }
            })
            .await;
        pacer.next().await;
    }
}

/// A merge patch of `body`, pinned to `rv` when known.
fn pinned(mut body: Value, rv: &Option<String>) -> Value {
    if let Some(rv) = rv {
        body["metadata"]["resourceVersion"] = json!(rv);
    }
    body
}

impl Io {
    async fn event(
        &self,
        target: k8s_openapi::api::core::v1::ObjectReference,
        source: Source,
        ty: EventType,
        reason: &'static str,
        message: &str,
    ) {
        if matches!(
            reason,
            "WaitForFirstConsumer"
                | "ExternalProvisioning"
                | "FailedBinding"
                | "ProvisioningFailed"
        ) {
            let key = (target.uid.clone().unwrap_or_default(), reason);
            let mut recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
            if recorded
                .get(&key)
                .is_some_and(|t| t.elapsed() < REPEAT_EVERY)
            {
                return;
            }
            if recorded.len() > 4096 {
                recorded.clear();
            }
            recorded.insert(key, Instant::now());
        }
        let pool = &self.recorders[&source];
        let uid = target.uid.clone().unwrap_or_default();
        let i = uid
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        pool[i % pool.len()]
            .record_ref(target, ty, reason, message)
            .await;
    }

    async fn run(&self, action: Action) -> anyhow::Result<()> {
        let pp = PatchParams::default();
        let pvs: Api<PersistentVolume> = Api::all(self.client.clone());
        let client = self.client.clone();
        let pvcs =
            move |ns: &str| -> Api<PersistentVolumeClaim> { Api::namespaced(client.clone(), ns) };
        match action {
            Action::Event {
                target,
                source,
                ty,
                reason,
                message,
            } => self.event(target, source, ty, reason, &message).await,
            Action::AnnotateClaim {
                namespace,
                name,
                rv,
                annotations,
            } => {
                let body = pinned(json!({"metadata": {"annotations": annotations}}), &rv);
                pvcs(&namespace)
                    .patch(&name, &pp, &Patch::Merge(&body))
                    .await?;
            }
            Action::Provision { volume, claim } => {
                let name = volume.metadata.name.clone().unwrap_or_default();
                if let Some(path) = super::host_path(&volume) {
                    provision::create_dir(&path)
                        .map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
                }
                match pvs.create(&PostParams::default(), &volume).await {
                    Ok(_) => {
                        let ns = claim.namespace.clone().unwrap_or_default();
                        let msg = format!(
                            "External provisioner is provisioning volume for claim \"{ns}/{}\"",
                            claim.name.clone().unwrap_or_default()
                        );
                        self.event(
                            claim.clone(),
                            Source::Provisioner,
                            EventType::Normal,
                            "Provisioning",
                            &msg,
                        )
                        .await;
                        let msg = format!("Successfully provisioned volume {name}");
                        self.event(
                            claim,
                            Source::Provisioner,
                            EventType::Normal,
                            "ProvisioningSucceeded",
                            &msg,
                        )
                        .await;
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => {
                        let msg = format!(
                            "failed to provision volume with StorageClass: {}",
                            api_message(&e)
                        );
                        self.event(
                            claim,
                            Source::Provisioner,
                            EventType::Warning,
                            "ProvisioningFailed",
                            &msg,
                        )
                        .await;
                        return Err(e.into());
                    }
                }
            }
            Action::BindVolume {
                name,
                rv,
                claim,
                by_controller,
            } => {
                let mut body = json!({"spec": {"claimRef": claim}});
                if by_controller {
                    body["metadata"] =
                        json!({"annotations": {super::ANN_BOUND_BY_CONTROLLER: "yes"}});
                }
                pvs.patch(&name, &pp, &Patch::Merge(&pinned(body, &rv)))
                    .await?;
            }
            Action::BindClaim {
                namespace,
                name,
                rv,
                volume,
                by_controller,
            } => {
                let mut anns = serde_json::Map::new();
                anns.insert(super::ANN_BIND_COMPLETED.into(), json!("yes"));
                if by_controller {
                    anns.insert(super::ANN_BOUND_BY_CONTROLLER.into(), json!("yes"));
                }
                let body =
                    json!({"metadata": {"annotations": anns}, "spec": {"volumeName": volume}});
                pvcs(&namespace)
                    .patch(&name, &pp, &Patch::Merge(&pinned(body, &rv)))
                    .await?;
            }
            Action::ClaimPhase {
                namespace,
                name,
                phase,
                capacity,
                access_modes,
            } => {
                let mut status = json!({"phase": phase});
                if let Some(c) = capacity {
                    status["capacity"] = json!(c);
                }
                if let Some(m) = access_modes {
                    status["accessModes"] = json!(m);
                }
                pvcs(&namespace)
                    .patch_status(&name, &pp, &Patch::Merge(&json!({"status": status})))
                    .await?;
            }
            Action::VolumePhase {
                name,
                phase,
                message,
            } => {
                let now = k8s_openapi::jiff::Timestamp::now().to_string();
                let status =
                    json!({"phase": phase, "message": message, "lastPhaseTransitionTime": now});
                pvs.patch_status(&name, &pp, &Patch::Merge(&json!({"status": status})))
                    .await?;
            }
            Action::Reclaim { name, claim, path } => self.reclaim(&name, claim, path).await?,
            Action::Finalizer {
                object,
                name,
                rv,
                finalizer,
                add,
            } => self.finalizer(object, &name, rv, finalizer, add).await?,
            Action::ResizeVolume { name, size } => {
                pvs.patch(
                    &name,
                    &pp,
                    &Patch::Merge(&json!({"spec": {"capacity": {"storage": size}}})),
                )
                .await?;
            }
            Action::ClaimResized {
                namespace,
                name,
                size,
            } => {
                let status = json!({"capacity": {"storage": size}, "allocatedResources": {"storage": size}, "conditions": null, "allocatedResourceStatuses": null});
                pvcs(&namespace)
                    .patch_status(&name, &pp, &Patch::Merge(&json!({"status": status})))
                    .await?;
            }
            Action::GrowClaim {
                namespace,
                name,
                size,
                set,
            } => {
                let body = json!({"spec": {"resources": {"requests": {"storage": size}}}});
                if let Err(e) = pvcs(&namespace)
                    .patch(&name, &pp, &Patch::Merge(&body))
                    .await
                {
                    let msg = format!(
                        "error expanding claim {name} to {}: {}",
                        size.0,
                        api_message(&e)
                    );
                    self.event(
                        set,
                        Source::Expander,
                        EventType::Warning,
                        "VolumeResizeFailed",
                        &msg,
                    )
                    .await;
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// Reclaim policy Delete: the claim must really be gone (checked live), then the data
    /// and the volume go.
    async fn reclaim(
        &self,
        name: &str,
        claim: k8s_openapi::api::core::v1::ObjectReference,
        path: Option<PathBuf>,
    ) -> anyhow::Result<()> {
        let ns = claim.namespace.clone().unwrap_or_default();
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &ns);
        if let Some(c) = api
            .get_opt(claim.name.as_deref().unwrap_or_default())
            .await?
        {
            if c.metadata.uid == claim.uid {
                return Ok(());
            }
        }
        if let Some(p) = path {
            if let Err(e) = provision::remove_dir(&p, &self.volumes_dir) {
                let pvs: Api<PersistentVolume> = Api::all(self.client.clone());
                if let Some(pv) = pvs.get_opt(name).await? {
                    // As upstream: the volume goes Failed, and stays until an admin acts.
                    let msg = format!("failed to delete volume {name}: {e}");
                    let status = json!({"status": {"phase": "Failed", "message": msg}});
                    pvs.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
                        .await?;
                    let target = super::reference("PersistentVolume", "v1", &pv.metadata);
                    self.event(
                        target,
                        Source::Provisioner,
                        EventType::Warning,
                        "VolumeFailedDelete",
                        &msg,
                    )
                    .await;
                }
                anyhow::bail!("deleting {}: {e}", p.display());
            }
        }
        let pvs: Api<PersistentVolume> = Api::all(self.client.clone());
        match pvs.delete(name, &DeleteParams::default()).await {
            Err(e) if !is_not_found(&e) => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Adds or removes a protection finalizer; removal from a claim is re-checked against a
    /// live list of its namespace's pods.
    async fn finalizer(
        &self,
        object: Object,
        name: &str,
        rv: Option<String>,
        finalizer: &str,
        add: bool,
    ) -> anyhow::Result<()> {
        let edit = |current: Option<Vec<String>>| -> Vec<String> {
            let mut f: Vec<String> = current
                .unwrap_or_default()
                .into_iter()
                .filter(|x| x != finalizer)
                .collect();
            if add {
                f.push(finalizer.to_string());
            }
            f
        };
        let pp = PatchParams::default();
        match object {
            Object::Claim { namespace } => {
                let api: Api<PersistentVolumeClaim> =
                    Api::namespaced(self.client.clone(), &namespace);
                let Some(pvc) = api.get_opt(name).await? else {
                    return Ok(());
                };
                if pvc.metadata.resource_version != rv {
                    return Ok(());
                }
                if !add {
                    let pods: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
                    if pods
                        .list(&ListParams::default())
                        .await?
                        .items
                        .iter()
                        .any(|p| pod_uses_claim(p, &pvc))
                    {
                        return Ok(());
                    }
                }
                let body = pinned(
                    json!({"metadata": {"finalizers": edit(pvc.metadata.finalizers.clone())}}),
                    &rv,
                );
                api.patch(name, &pp, &Patch::Merge(&body)).await?;
            }
            Object::Volume => {
                let api: Api<PersistentVolume> = Api::all(self.client.clone());
                let Some(pv) = api.get_opt(name).await? else {
                    return Ok(());
                };
                if pv.metadata.resource_version != rv {
                    return Ok(());
                }
                let body = pinned(
                    json!({"metadata": {"finalizers": edit(pv.metadata.finalizers.clone())}}),
                    &rv,
                );
                api.patch(name, &pp, &Patch::Merge(&body)).await?;
            }
        }
        Ok(())
    }
}
