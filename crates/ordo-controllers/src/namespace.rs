//! Namespace controller: empties a namespace being deleted (every namespaced kind
//! discovery reports), waits until its content is gone, then removes the `kubernetes`
//! finalizer through `namespaces/<ns>/finalize` so that the API server deletes it. Also
//! (the service-account controller's job) keeps a `default` ServiceAccount in every
//! Active namespace.
//!
//! It reads namespaces, ServiceAccounts and each kind's content from the shared caches (the
//! garbage collector's: no kind is cached twice). Events, which nothing else caches, are
//! listed when a namespace is emptied, as upstream does for every kind; and every kind is
//! listed once more right before the namespace is finalized (a cache may lag behind the last
//! objects created before the deletion).

use crate::ownership::Error;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{
    Api, ApiResource, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use ordo_client::cache::MetadataCache;
use ordo_client::kinds::{api_for, discover};
use ordo_client::objects::{api_message, is_not_found};
use ordo_client::{Caches, Shared};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The finalizer the namespace controller owns (in `spec.finalizers`).
pub const FINALIZER: &str = "kubernetes";

struct Ctx {
    client: Client,
    namespaces: Arc<Shared<Namespace>>,
    accounts: Arc<Shared<ServiceAccount>>,
    /// Each namespaced kind, with its shared cache (`None`: listed when needed).
    kinds: Vec<(ApiResource, Option<Arc<dyn MetadataCache>>)>,
}

/// What to do with a namespace, from its state (pure).
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Active: make sure the `default` ServiceAccount exists.
    EnsureServiceAccount,
    /// Terminating with our finalizer: delete the content, finalize once empty.
    Empty,
    /// Terminating without our finalizer, or nothing to do.
    Nothing,
}

/// Decides from the namespace's deletion state and finalizers.
pub fn decide(ns: &Namespace) -> Decision {
    if ns.metadata.deletion_timestamp.is_some() {
        let ours = ns
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_some_and(|f| f.iter().any(|x| x == FINALIZER));
        return if ours {
            Decision::Empty
        } else {
            Decision::Nothing
        };
    }
    match ns.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Terminating") => Decision::Nothing,
        _ => Decision::EnsureServiceAccount,
    }
}

/// The kinds of `ctx`, plus the namespaced kinds discovery reports now that were not served
/// when the controller started (custom resources), listed when needed.
async fn with_custom_kinds(ctx: &Ctx) -> Vec<(ApiResource, Option<Arc<dyn MetadataCache>>)> {
    let mut kinds = ctx.kinds.clone();
    for (ar, namespaced) in discover(&ctx.client).await {
        let known = kinds
            .iter()
            .any(|(k, _)| k.group == ar.group && k.version == ar.version && k.plural == ar.plural);
        if namespaced && !known {
            kinds.push((ar, None));
        }
    }
    kinds
}

/// Runs the namespace controller.
pub async fn run(caches: Caches) -> anyhow::Result<()> {
    let client = caches.client().clone();
    let kinds = discover(&client)
        .await
        .into_iter()
        .filter(|(_, namespaced)| *namespaced)
        .map(|(ar, _)| {
            let cache = (!ordo_client::kinds::is_event(&ar)).then(|| caches.metadata(&ar));
            (ar, cache)
        })
        .collect();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        namespaces: caches.get::<Namespace>(),
        accounts: caches.get::<ServiceAccount>(),
        kinds,
    });
    ctx.namespaces.ready().await;
    ctx.accounts.ready().await;
    Controller::for_stream(ctx.namespaces.stream(), ctx.namespaces.store())
        .watches_stream(ctx.accounts.stream(), |sa: ServiceAccount| {
            (sa.name_any() == "default")
                .then(|| ObjectRef::new(&sa.namespace().unwrap_or_default()))
        })
        .run(
            reconcile,
            |_, e: &Error, _| {
                tracing::debug!("namespace sync failed: {e:#}");
                Action::requeue(Duration::from_secs(1))
            },
            ctx,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("namespace controller: {e}");
            }
        })
        .await;
    Ok(())
}

async fn reconcile(obj: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    let Some(ns) = ctx.namespaces.get("", &obj.name_any()) else {
        return Ok(Action::await_change());
    };
    let name = ns.name_any();
    match decide(&ns) {
        Decision::Nothing => Ok(Action::await_change()),
        Decision::EnsureServiceAccount => {
            let sa_api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &name);
            if ctx.accounts.get(&name, "default").is_none() {
                let sa = ServiceAccount {
                    metadata: ObjectMeta {
                        name: Some("default".into()),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                match sa_api.create(&PostParams::default(), &sa).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 409 || s.code == 403 => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(Action::requeue(Duration::from_secs(300)))
        }
        Decision::Empty => {
            let bg = DeleteParams {
                propagation_policy: Some(PropagationPolicy::Background),
                ..Default::default()
            };
            let mut content = Content::default();
            let kinds = with_custom_kinds(&ctx).await;
            for (ar, cache) in &kinds {
                let kapi = api_for(&ctx.client, ar, true, Some(&name));
                // (name, being deleted, finalizers) of each object in the namespace.
                let mut live = Vec::new();
                let mut add = |m: &ObjectMeta| {
                    if m.namespace.as_deref() == Some(name.as_str()) {
                        let fins = m.finalizers.clone().unwrap_or_default();
                        let name = m.name.clone().unwrap_or_default();
                        live.push((name, m.deletion_timestamp.is_some(), fins));
                    }
                };
                match cache {
                    Some(cache) => cache.each(&mut add),
                    None => match kapi.list_metadata(&ListParams::default()).await {
                        Ok(list) => list.items.iter().for_each(|o| add(&o.metadata)),
                        Err(e) => content.failures.push(api_message(&e)),
                    },
                }
                for (obj, _, _) in live.iter().filter(|(_, deleting, _)| !deleting) {
                    match kapi.delete(obj, &bg).await {
                        Ok(_) => {}
                        Err(e) if is_not_found(&e) => {}
                        Err(e) => {
                            let msg = api_message(&e);
                            tracing::debug!("deleting {} {name}/{obj}: {msg}", ar.kind);
                            content.failures.push(msg);
                        }
                    }
                }
                // What is left: being deleted, or held by finalizers.
                content.add(
                    &format!("{}.{}", ar.plural, ar.group),
                    live.iter().map(|o| o.2.as_slice()),
                );
            }
            if content.total() == 0 && content.failures.is_empty() {
                // The caches may lag behind objects created just before the deletion: the
                // namespace is finalized only once the API itself shows it empty.
                for (ar, _) in &kinds {
                    let kapi = api_for(&ctx.client, ar, true, Some(&name));
                    match kapi.list_metadata(&ListParams::default()).await {
                        Ok(list) => content.add(
                            &format!("{}.{}", ar.plural, ar.group),
                            list.items
                                .iter()
                                .map(|o| o.metadata.finalizers.as_deref().unwrap_or_default()),
                        ),
                        Err(e) => content.failures.push(api_message(&e)),
                    }
                }
            }
            let conditions = conditions(
                &content,
                ns.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_deref())
                    .unwrap_or_default(),
            );
            if let Some(conds) = conditions {
                let patch = serde_json::json!({"status": {"conditions": conds}});
                if let Err(e) = api
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    tracing::debug!("namespace {name} conditions: {e}");
                }
            }
            if content.total() > 0 || !content.failures.is_empty() {
                return Ok(Action::requeue(Duration::from_millis(500)));
            }
            let mut fin = Namespace::clone(&ns);
            if let Some(spec) = fin.spec.as_mut() {
                spec.finalizers = Some(
                    spec.finalizers
                        .take()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|f| f != FINALIZER)
                        .collect(),
                );
            }
            match api
                .replace_subresource("finalize", &name, &PostParams::default(), &fin)
                .await
            {
                Ok(_) => Ok(Action::await_change()),
                Err(e) if is_not_found(&e) => Ok(Action::await_change()),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// What is left in a terminating namespace.
#[derive(Default, Debug)]
pub struct Content {
    /// `<resource>.<group>` → objects remaining.
    pub remaining: BTreeMap<String, usize>,
    /// finalizer → objects carrying it.
    pub finalizers: BTreeMap<String, usize>,
    /// Deletion errors.
    pub failures: Vec<String>,
}

impl Content {
    /// Counts the objects left of one resource, given the finalizers of each.
    fn add<'a>(&mut self, resource: &str, items: impl Iterator<Item = &'a [String]>) {
        for fins in items {
            *self.remaining.entry(resource.to_string()).or_default() += 1;
            for f in fins {
                *self.finalizers.entry(f.clone()).or_default() += 1;
            }
        }
    }
    fn total(&self) -> usize {
        self.remaining.values().sum()
    }
}

/// The namespace deletion conditions upstream reports (`NamespaceContentRemaining`,
/// `NamespaceFinalizersRemaining`, ...), or None if `current` already says the same.
pub fn conditions(
    content: &Content,
    current: &[NamespaceCondition],
) -> Option<Vec<NamespaceCondition>> {
    let cond = |ty: &str, status: bool, reason: &str, message: String| NamespaceCondition {
        type_: ty.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_transition_time: Some(Time(Timestamp::now())),
    };
    let list = |m: &BTreeMap<String, usize>, f: &dyn Fn(&String, &usize) -> String| {
        m.iter()
            .map(|(k, v)| f(k, v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut want = vec![
        cond(
            "NamespaceDeletionDiscoveryFailure",
            false,
            "ResourcesDiscovered",
            "All resources successfully discovered".into(),
        ),
        cond(
            "NamespaceDeletionGroupVersionParsingFailure",
            false,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed".into(),
        ),
        if content.failures.is_empty() {
            cond(
                "NamespaceDeletionContentFailure",
                false,
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization".into(),
            )
        } else {
            cond(
                "NamespaceDeletionContentFailure",
                true,
                "ContentDeletionFailed",
                format!(
                    "Failed to delete all resource types, {} remaining: {}",
                    content.failures.len(),
                    content.failures.join(", ")
                ),
            )
        },
    ];
    want.push(if content.remaining.is_empty() {
        cond(
            "NamespaceContentRemaining",
            false,
            "ContentRemoved",
            "All content successfully removed".into(),
        )
    } else {
        cond(
            "NamespaceContentRemaining",
            true,
            "SomeResourcesRemain",
            format!(
                "Some resources are remaining: {}",
                list(&content.remaining, &|k, v| format!(
                    "{k} has {v} resource instances"
                ))
            ),
        )
    });
    want.push(if content.finalizers.is_empty() {
        cond(
            "NamespaceFinalizersRemaining",
            false,
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished".into(),
        )
    } else {
        cond(
            "NamespaceFinalizersRemaining",
            true,
            "SomeFinalizersRemain",
            format!(
                "Some content in the namespace has finalizers remaining: {}",
                list(&content.finalizers, &|k, v| format!(
                    "{k} in {v} resource instances"
                ))
            ),
        )
    });
    let same = |a: &NamespaceCondition, b: &NamespaceCondition| {
        a.type_ == b.type_ && a.status == b.status && a.reason == b.reason && a.message == b.message
    };
    let mut changed = false;
    for w in want.iter_mut() {
        match current.iter().find(|c| c.type_ == w.type_) {
            Some(c) if same(c, w) => *w = c.clone(),
            _ => changed = true,
        }
    }
    changed.then_some(want)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NamespaceSpec, NamespaceStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[test]
    fn decisions() {
        let mut ns = Namespace {
            status: Some(NamespaceStatus {
                phase: Some("Active".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(decide(&ns), Decision::EnsureServiceAccount);
        ns.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::now()));
        ns.spec = Some(NamespaceSpec {
            finalizers: Some(vec![FINALIZER.into()]),
        });
        assert_eq!(decide(&ns), Decision::Empty);
        ns.spec = Some(NamespaceSpec {
            finalizers: Some(vec![]),
        });
        assert_eq!(decide(&ns), Decision::Nothing);
    }

    #[test]
    fn termination_conditions() {
        let mut content = Content::default();
        let hold = vec!["example.com/hold".to_string()];
        content.add("configmaps.", [hold.as_slice()].into_iter());
        content.add("pods.", std::iter::empty());
        let conds = conditions(&content, &[]).expect("new conditions");
        let msg = |ty: &str| {
            conds
                .iter()
                .find(|c| c.type_ == ty)
                .unwrap()
                .message
                .clone()
                .unwrap()
        };
        assert_eq!(
            msg("NamespaceContentRemaining"),
            "Some resources are remaining: configmaps. has 1 resource instances"
        );
        assert_eq!(
            msg("NamespaceFinalizersRemaining"),
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        );
        assert!(
            conditions(&content, &conds).is_none(),
            "unchanged conditions are not rewritten"
        );
        let done = conditions(&Content::default(), &conds).unwrap();
        assert!(done.iter().all(|c| c.status == "False"));
    }
}
