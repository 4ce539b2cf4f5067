//! Root CA publisher (kube-controller-manager's `root-ca-cert-publisher`): keeps a ConfigMap
//! `kube-root-ca.crt` with the cluster CA (`ca.crt`) in every Active namespace, which the
//! ServiceAccount token volumes of pods project as `ca.crt`. A changed or deleted ConfigMap is
//! put back.

use crate::ownership::Error;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::ResourceExt;
use ordo_client::{Caches, Shared};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The name of the ConfigMap holding the cluster CA in every namespace.
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";
/// The annotation upstream puts on it.
const DESCRIPTION: &str = "kubernetes.io/description";
const DESCRIPTION_TEXT: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

struct Ctx {
    caches: Caches,
    namespaces: Arc<Shared<Namespace>>,
    config_maps: Arc<Shared<ConfigMap>>,
    ca: String,
}

/// The ConfigMap as it should be.
fn wanted(ca: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(ROOT_CA_CONFIG_MAP.into()),
            annotations: Some(BTreeMap::from([(
                DESCRIPTION.to_string(),
                DESCRIPTION_TEXT.to_string(),
            )])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("ca.crt".to_string(), ca.to_string())])),
        ..Default::default()
    }
}

/// Runs the publisher of `ca` (PEM).
pub async fn run(caches: Caches, ca: String) -> anyhow::Result<()> {
    let ctx = Arc::new(Ctx {
        namespaces: caches.get::<Namespace>(),
        config_maps: caches.get::<ConfigMap>(),
        caches,
        ca,
    });
    ctx.namespaces.ready().await;
    ctx.config_maps.ready().await;
    Controller::for_stream(ctx.namespaces.stream(), ctx.namespaces.store())
        .watches_stream(ctx.config_maps.stream(), |cm: ConfigMap| {
            (cm.name_any() == ROOT_CA_CONFIG_MAP)
                .then(|| ObjectRef::new(&cm.namespace().unwrap_or_default()))
        })
        .run(
            reconcile,
            |_, e: &Error, _| {
                tracing::debug!("root CA publishing failed: {e:#}");
                Action::requeue(Duration::from_secs(1))
            },
            ctx,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("root CA publisher: {e}");
            }
        })
        .await;
    Ok(())
}

async fn reconcile(obj: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let name = obj.name_any();
    let Some(ns) = ctx.namespaces.get("", &name) else {
        return Ok(Action::await_change());
    };
    if ns.metadata.deletion_timestamp.is_some()
        || ns.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating")
    {
        return Ok(Action::await_change());
    }
    let api: Api<ConfigMap> = Api::namespaced(ctx.caches.client().clone(), &name);
    let want = wanted(&ctx.ca);
    match ctx.config_maps.get(&name, ROOT_CA_CONFIG_MAP) {
        None => match api.create(&PostParams::default(), &want).await {
            Ok(_) => {}
            // Already there (the cache lags), or the namespace is terminating.
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 403 => {}
            Err(e) => return Err(e.into()),
        },
        Some(cm) if cm.data != want.data => {
            let mut fixed = (*cm).clone();
            fixed.data = want.data;
            api.replace(ROOT_CA_CONFIG_MAP, &PostParams::default(), &fixed)
                .await?;
        }
        Some(_) => {}
    }
    Ok(Action::await_change())
}
