//! The thin I/O shell: a kube-runtime `Controller` over StatefulSets, triggered by their pods,
//! ControllerRevisions and claims (the shared streams of [`ordo_client::cache::Caches`]). Each sync
//! reads the set, pods, claims and revisions from the shared caches (no request), plans, writes,
//! records status, then waits until the caches show its writes, so the next sync never acts on
//! an older view (no duplicate creates or deletes).

use super::plan::{self, Action, Input, RevisionRef};
use super::revision::{self, UpdateChoice};
use super::{adopt, identity, status};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action as Next, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use ordo_client::cache::{Caches, Shared};
use ordo_client::events::{EventType, Recorder};
use ordo_client::objects::is_not_found;
use ordo_client::Writes;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Component name on Events.
pub const COMPONENT: &str = "statefulset-controller";

struct Ctx {
    client: Client,
    recorder: Recorder,
    pods: Arc<Shared<Pod>>,
    claims: Arc<Shared<PersistentVolumeClaim>>,
    revisions: Arc<Shared<ControllerRevision>>,
    sets: Arc<Shared<StatefulSet>>,
}

/// A failed sync; retried after a short delay.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Sync(String),
}

/// Runs the controller until the shared streams end.
pub async fn run(client: Client, caches: &Caches) -> anyhow::Result<()> {
    let sets = caches.get::<StatefulSet>();
    let controller = Controller::for_stream(sets.stream(), sets.store());
    let (pod_sets, claim_sets) = (sets.store(), sets.store());
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), COMPONENT),
        client,
        pods: caches.get::<Pod>(),
        claims: caches.get::<PersistentVolumeClaim>(),
        revisions: caches.get::<ControllerRevision>(),
        sets,
    });
    tokio::join!(
        ctx.pods.ready(),
        ctx.claims.ready(),
        ctx.revisions.ready(),
        ctx.sets.ready()
    );
    controller
        .owns_stream(caches.get::<ControllerRevision>().stream())
        .watches_stream(caches.get::<Pod>().stream(), move |pod: Pod| {
            sets_for(
                &pod_sets,
                &pod.metadata,
                identity::parent_and_ordinal(&pod.name_any()).map(|(p, _)| p.to_string()),
            )
        })
        .watches_stream(
            caches.get::<PersistentVolumeClaim>().stream(),
            move |pvc: PersistentVolumeClaim| sets_for(&claim_sets, &pvc.metadata, None),
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("statefulset controller: {e}");
            }
        })
        .await;
    Ok(())
}

/// The sets an object's change concerns: its StatefulSet controller, else (orphans) every set
/// in its namespace whose selector matches (and, for pods, whose name is the pod's parent).
fn sets_for(
    sets: &Store<StatefulSet>,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    parent: Option<String>,
) -> Vec<ObjectRef<StatefulSet>> {
    let ns = meta.namespace.clone().unwrap_or_default();
    if let Some(r) = identity::controller_of(meta) {
        return match (r.kind.as_str(), r.api_version.starts_with("apps/")) {
            ("StatefulSet", true) => vec![ObjectRef::new(&r.name).within(&ns)],
            ("Pod", _) => {
                // A claim owned by a pod (whenScaled=Delete): its set is in the claim's name.
                sets.state()
                    .iter()
                    .filter(|s| {
                        s.namespace().as_deref() == Some(&ns)
                            && r.name.starts_with(&format!("{}-", s.name_any()))
                    })
                    .map(|s| ObjectRef::from_obj(s.as_ref()))
                    .collect()
            }
            _ => Vec::new(),
        };
    }
    sets.state()
        .iter()
        .filter(|s| s.namespace().as_deref() == Some(&ns))
        .filter(|s| parent.as_ref().is_none_or(|p| *p == s.name_any()))
        .filter(|s| adopt::labels_match(adopt::selector(s), meta))
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}

fn error_policy(set: Arc<StatefulSet>, err: &Error, _ctx: Arc<Ctx>) -> Next {
    tracing::info!(
        "syncing StatefulSet {}/{}: {err}",
        set.namespace().unwrap_or_default(),
        set.name_any()
    );
    Next::requeue(Duration::from_secs(2))
}

async fn reconcile(obj: Arc<StatefulSet>, ctx: Arc<Ctx>) -> Result<Next, Error> {
    let ns = obj.namespace().unwrap_or_default();
    // The newest cached copy (the trigger may be older).
    let Some(set) = ctx.sets.get(&ns, &obj.name_any()) else {
        return Ok(Next::await_change());
    };
    let sync = Sync {
        ctx: &ctx,
        ns: &ns,
        set: StatefulSet::clone(&set),
        writes: Writes::default(),
    };
    let result = sync.run().await;
    let name = obj.name_any();
    sync.writes
        .settle(&format!("statefulset {ns}/{name}"))
        .await;
    result
}

/// One sync of one set.
struct Sync<'a> {
    ctx: &'a Ctx,
    ns: &'a str,
    set: StatefulSet,
    /// Its writes so far.
    writes: Writes,
}

impl Sync<'_> {
    fn api<K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>>(
        &self,
    ) -> Api<K> {
        Api::namespaced(self.ctx.client.clone(), self.ns)
    }

    async fn run(&self) -> Result<Next, Error> {
        let set = &self.set;
        let pods = self.claim_pods().await?;
        let mut revisions = self.claim_revisions().await?;
        revision::sort_revisions(&mut revisions);
        // Only the set's own claims (`<template>-<set>-<ordinal>`) are copied.
        let prefixes: Vec<String> = set
            .spec
            .iter()
            .flat_map(|s| s.volume_claim_templates.iter().flatten())
            .map(|t| identity::claim_name(t.metadata.name.as_deref().unwrap_or_default(), set, 0))
            // `<template>-<set>-0` without its ordinal.
            .map(|name| name.strip_suffix('0').unwrap_or(&name).to_string())
            .collect();
        let claims: BTreeMap<String, PersistentVolumeClaim> = self
            .ctx
            .claims
            .in_namespace(self.ns)
            .into_iter()
            .filter(|c| {
                prefixes
                    .iter()
                    .any(|p| c.name_any().starts_with(p.as_str()))
            })
            .map(|c| (c.name_any(), PersistentVolumeClaim::clone(&c)))
            .collect();

        let mut collision_count = set
            .status
            .as_ref()
            .and_then(|s| s.collision_count)
            .unwrap_or(0);
        let deleting = set.metadata.deletion_timestamp.is_some();
        // A set being deleted gets no new revision (nor pods or claims): the garbage collector
        // is removing its revisions, and re-creating them would keep a foreground deletion
        // waiting for ever. Its status still follows its pods.
        let update = if deleting {
            revision::latest_equal(set, &revisions, collision_count)
        } else {
            Some(
                self.update_revision(&mut revisions, &mut collision_count)
                    .await?,
            )
        };
        let find = |name: Option<&str>| {
            revisions
                .iter()
                .find(|r| name.is_some() && r.metadata.name.as_deref() == name)
                .cloned()
        };
        let status = set.status.clone().unwrap_or_default();
        let update = update.or_else(|| find(status.update_revision.as_deref()));
        let current = find(status.current_revision.as_deref()).or_else(|| update.clone());
        let own_template = revision::set_template(set);
        let template_of = |r: &Option<ControllerRevision>| {
            r.as_ref()
                .map(revision::revision_template)
                .unwrap_or_else(|| Some(own_template.clone()))
        };
        let name_of = |r: &Option<ControllerRevision>, recorded: &Option<String>| {
            r.as_ref()
                .and_then(|r| r.metadata.name.clone())
                .or_else(|| recorded.clone())
                .unwrap_or_default()
        };
        let update_name = name_of(&update, &status.update_revision);
        let current_name = name_of(&current, &status.current_revision);
        if !deleting {
            if let Some(cause) = revision::change_cause_refresh(set, &revisions, &update_name) {
                self.set_change_cause(&update_name, &cause).await;
            }
        }

        let (Some(update_tpl), Some(current_tpl)) = (template_of(&update), template_of(&current))
        else {
            return Err(Error::Sync(format!(
                "revision {update_name} or {current_name} has unreadable data"
            )));
        };
        let created_ms = |r: &Option<ControllerRevision>| {
            r.as_ref()
                .and_then(|r| r.metadata.creation_timestamp.as_ref())
                .map(|t| t.0.as_millisecond())
        };
        let now_ms = k8s_openapi::jiff::Timestamp::now().as_millisecond();
        let input = Input {
            set,
            pods: &pods,
            claims: &claims,
            current: RevisionRef {
                name: &current_name,
                template: &current_tpl,
                created_ms: created_ms(&current),
            },
            update: RevisionRef {
                name: &update_name,
                template: &update_tpl,
                created_ms: created_ms(&update),
            },
            collision_count,
            now_ms,
        };
        let planned = plan::plan(&input);
        let (done, outcome) = self.execute(planned.actions.clone()).await;

        // Written even when a write failed, as upstream does (`performUpdate`).
        let new_status = planned.status_after(done);
        if status::differs(set, &new_status) {
            let patch = status::patch(&new_status);
            let written = self
                .api::<StatefulSet>()
                .patch_status(
                    &set.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await?;
            self.writes.wrote(&self.ctx.sets, &written);
        }
        if !deleting {
            for name in
                revision::revisions_to_prune(set, &pods, &revisions, &current_name, &update_name)
            {
                match self
                    .api::<ControllerRevision>()
                    .delete(&name, &DeleteParams::default())
                    .await
                {
                    Ok(_) => self
                        .writes
                        .deleted(&self.ctx.revisions, self.ns, &name, None),
                    Err(kube::Error::Api(s)) if s.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        outcome?;
        Ok(match planned.recheck_at_ms {
            Some(at) => Next::requeue(Duration::from_millis(
                (at - now_ms).clamp(10, 3_600_000) as u64 + 20,
            )),
            None => Next::requeue(Duration::from_secs(300)),
        })
    }

    /// Pods the set owns after adoption and release (`getPodsForStatefulSet`).
    async fn claim_pods(&self) -> Result<Vec<Pod>, Error> {
        let set = &self.set;
        let api = self.api::<Pod>();
        let selector = adopt::selector(set);
        let mut owned = Vec::new();
        // Decided on the shared copies; only the set's own pods are copied.
        for pod in self.ctx.pods.in_namespace(self.ns) {
            let matches =
                adopt::labels_match(selector, &pod.metadata) && identity::is_member_of(set, &pod);
            match adopt::decide(set, &pod.metadata, matches) {
                adopt::Claim::Keep => owned.push(Pod::clone(&pod)),
                adopt::Claim::Adopt => match adopt::apply(&api, set, pod.as_ref(), true).await {
                    Ok(p) => {
                        self.writes.wrote(&self.ctx.pods, &p);
                        owned.push(p)
                    }
                    Err(kube::Error::Api(s)) if s.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                },
                adopt::Claim::Release => match adopt::apply(&api, set, pod.as_ref(), false).await {
                    Ok(p) => self.writes.wrote(&self.ctx.pods, &p),
                    Err(kube::Error::Api(s)) if s.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                },
                adopt::Claim::Ignore => {}
            }
        }
        Ok(owned)
    }

    /// Revisions the set controls, orphans matching its selector adopted.
    async fn claim_revisions(&self) -> Result<Vec<ControllerRevision>, Error> {
        let set = &self.set;
        let api = self.api::<ControllerRevision>();
        let selector = adopt::selector(set);
        let mut owned = Vec::new();
        for cr in self.ctx.revisions.in_namespace(self.ns) {
            let matches = adopt::labels_match(selector, &cr.metadata);
            match adopt::decide(set, &cr.metadata, matches) {
                // Revisions are never released upstream: keep ours even if labels drifted.
                adopt::Claim::Keep | adopt::Claim::Release => {
                    owned.push(ControllerRevision::clone(&cr))
                }
                adopt::Claim::Adopt => match adopt::apply(&api, set, cr.as_ref(), true).await {
                    Ok(c) => {
                        self.writes.wrote(&self.ctx.revisions, &c);
                        owned.push(c)
                    }
                    Err(kube::Error::Api(s)) if s.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                },
                adopt::Claim::Ignore => {}
            }
        }
        Ok(owned)
    }

    /// `getStatefulSetRevisions`: reuse, bump (rollback) or create the update revision.
    async fn update_revision(
        &self,
        revisions: &mut Vec<ControllerRevision>,
        collision_count: &mut i32,
    ) -> Result<ControllerRevision, Error> {
        let set = &self.set;
        let api = self.api::<ControllerRevision>();
        match revision::choose_update(set, revisions, *collision_count) {
            UpdateChoice::Latest(name) => Ok(revisions
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(&name))
                .cloned()
                .unwrap_or_default()),
            UpdateChoice::Bump { name, revision: n } => {
                let patch = serde_json::json!({ "revision": n });
                let cr = api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
                self.writes.wrote(&self.ctx.revisions, &cr);
                if let Some(r) = revisions
                    .iter_mut()
                    .find(|r| r.metadata.name.as_deref() == Some(&name))
                {
                    r.revision = n;
                }
                revision::sort_revisions(revisions);
                Ok(cr)
            }
            UpdateChoice::Create(mut cr) => loop {
                match api.create(&PostParams::default(), &cr).await {
                    Ok(created) => {
                        self.writes.wrote(&self.ctx.revisions, &created);
                        revisions.push(created.clone());
                        return Ok(created);
                    }
                    Err(kube::Error::Api(s)) if s.is_already_exists() => {
                        let name = cr.metadata.name.clone().unwrap_or_default();
                        let existing = api.get(&name).await?;
                        if revision::equal_revision(&existing, &cr) {
                            return Ok(existing);
                        }
                        *collision_count += 1;
                        *cr = revision::new_revision(set, cr.revision, *collision_count);
                    }
                    Err(e) => return Err(e.into()),
                }
            },
        }
    }

    /// ordo's deviation: the update revision takes a change-cause set after it was created.
    async fn set_change_cause(&self, name: &str, cause: &str) {
        let patch =
            serde_json::json!({"metadata": {"annotations": {revision::CHANGE_CAUSE: cause}}});
        match self
            .api::<ControllerRevision>()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(cr) => self.writes.wrote(&self.ctx.revisions, &cr),
            Err(e) => tracing::debug!("recording change-cause on {name}: {e}"),
        }
    }

    async fn event(&self, ty: EventType, reason: &str, message: String) {
        self.ctx
            .recorder
            .record(&self.set, ty, reason, &message)
            .await;
    }

    /// Executes actions in order, stopping at the first failure (events as upstream). Returns
    /// how many rolling-update deletions were done (succeeded or found the pod gone), and the
    /// first failure.
    async fn execute(&self, actions: Vec<Action>) -> (i32, Result<(), Error>) {
        let mut done = 0;
        let result = self.execute_counting(actions, &mut done).await;
        (done, result)
    }

    async fn execute_counting(&self, actions: Vec<Action>, done: &mut i32) -> Result<(), Error> {
        let set_name = self.set.name_any();
        let mut iter = actions.into_iter().peekable();
        while let Some(action) = iter.next() {
            match action {
                Action::CreateClaim { claim, pod } => {
                    let claim_name = claim.name_any();
                    match self
                        .api::<PersistentVolumeClaim>()
                        .create(&PostParams::default(), &claim)
                        .await
                    {
                        Ok(c) => {
                            self.writes.wrote(&self.ctx.claims, &c);
                            let msg = format!("create Claim {claim_name} Pod {pod} in StatefulSet {set_name} success");
                            self.event(EventType::Normal, "SuccessfulCreate", msg).await;
                        }
                        Err(kube::Error::Api(s)) if s.is_already_exists() => {}
                        Err(e) => {
                            let err = err_text(&e);
                            let msg = format!("create Claim {claim_name} for Pod {pod} in StatefulSet {set_name} failed error: {err}");
                            self.event(EventType::Warning, "FailedCreate", msg).await;
                            if matches!(iter.peek(), Some(Action::CreatePod(p)) if p.name_any() == pod)
                            {
                                let msg = format!("create Pod {pod} in StatefulSet {set_name} failed error: failed to create PVC {claim_name}: {err}");
                                self.event(EventType::Warning, "FailedCreate", msg).await;
                            }
                            return Err(e.into());
                        }
                    }
                }
                Action::CreatePod(first) => {
                    // Consecutive creations (Parallel pods, or claims already made) go out
                    // together, up to 32 at a time; results are handled in order.
                    let mut batch = vec![first];
                    while batch.len() < 32 && matches!(iter.peek(), Some(Action::CreatePod(_))) {
                        if let Some(Action::CreatePod(p)) = iter.next() {
                            batch.push(p);
                        }
                    }
                    let api = self.api::<Pod>();
                    let pp = PostParams::default();
                    let results =
                        futures::future::join_all(batch.iter().map(|p| api.create(&pp, p))).await;
                    let mut failure = None;
                    for (pod, result) in batch.iter().zip(results) {
                        let name = pod.name_any();
                        match result {
                            Ok(p) => {
                                self.writes.wrote(&self.ctx.pods, &p);
                                self.event(
                                    EventType::Normal,
                                    "SuccessfulCreate",
                                    format!(
                                        "create Pod {name} in StatefulSet {set_name} successful"
                                    ),
                                )
                                .await
                            }
                            // A pod of that name exists but is not ours (e.g. just released): retry soon.
                            Err(kube::Error::Api(s)) if s.is_already_exists() => {
                                failure.get_or_insert(Error::Sync(format!(
                                    "pod {name} already exists"
                                )));
                            }
                            Err(e) => {
                                let msg = format!(
                                    "create Pod {name} in StatefulSet {set_name} failed error: {}",
                                    err_text(&e)
                                );
                                self.event(EventType::Warning, "FailedCreate", msg).await;
                                failure.get_or_insert(e.into());
                            }
                        }
                    }
                    if let Some(e) = failure {
                        return Err(e);
                    }
                }
                Action::ClaimTerminating { pod, claim } => {
                    let msg = format!("create Pod {pod} in StatefulSet {set_name} failed error: pvc {claim} is being deleted");
                    self.event(EventType::Warning, "FailedCreate", msg).await;
                    return Err(Error::Sync(format!("pvc {claim} is being deleted")));
                }
                Action::DeletePod { name, for_update } => match self
                    .api::<Pod>()
                    .delete(&name, &DeleteParams::default())
                    .await
                {
                    Ok(_) => {
                        *done += i32::from(for_update);
                        self.writes.deleted(&self.ctx.pods, self.ns, &name, None);
                        self.event(
                            EventType::Normal,
                            "SuccessfulDelete",
                            format!("delete Pod {name} in StatefulSet {set_name} successful"),
                        )
                        .await
                    }
                    // Upstream records the failure and goes on (the pod is gone either way).
                    Err(e @ kube::Error::Api(_)) if is_not_found(&e) => {
                        *done += i32::from(for_update);
                        let msg = format!(
                            "delete Pod {name} in StatefulSet {set_name} failed error: {}",
                            err_text(&e)
                        );
                        self.event(EventType::Warning, "FailedDelete", msg).await;
                    }
                    Err(e) => {
                        let msg = format!(
                            "delete Pod {name} in StatefulSet {set_name} failed error: {}",
                            err_text(&e)
                        );
                        self.event(EventType::Warning, "FailedDelete", msg).await;
                        return Err(e.into());
                    }
                },
                Action::UpdatePod(pod) => {
                    let name = pod.name_any();
                    match self
                        .api::<Pod>()
                        .replace(&name, &PostParams::default(), &pod)
                        .await
                    {
                        Ok(p) => {
                            self.writes.wrote(&self.ctx.pods, &p);
                            self.event(
                                EventType::Normal,
                                "SuccessfulUpdate",
                                format!("update Pod {name} in StatefulSet {set_name} successful"),
                            )
                            .await
                        }
                        Err(e) => {
                            let msg = format!(
                                "update Pod {name} in StatefulSet {set_name} failed error: {}",
                                err_text(&e)
                            );
                            self.event(EventType::Warning, "FailedUpdate", msg).await;
                            return Err(e.into());
                        }
                    }
                }
                Action::SetClaimOwners { claim, pod } => {
                    let name = claim.name_any();
                    match self
                        .api::<PersistentVolumeClaim>()
                        .replace(&name, &PostParams::default(), &claim)
                        .await
                    {
                        Ok(c) => self.writes.wrote(&self.ctx.claims, &c),
                        Err(e) => {
                            return Err(Error::Sync(format!(
                            "Could not update claim {name} for {pod} delete policy ownerRefs: {}",
                            err_text(&e)
                        )))
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The message of an API error as client-go prints it (the Status message).
fn err_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if !s.message.is_empty() => s.message.clone(),
        other => other.to_string(),
    }
}
