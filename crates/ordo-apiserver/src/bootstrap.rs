//! Objects every cluster has: the four system namespaces (each with its `default`
//! ServiceAccount), the `kubernetes` Service and the default `local-path` StorageClass.

use crate::meta::{now_rfc3339, Query};
use crate::router::Target;
use crate::ApiServer;
use ordo_api::resources;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

/// Creates what is missing; existing objects are left as they are.
pub(crate) async fn ensure_defaults(
    server: &Arc<ApiServer>,
    advertise: SocketAddr,
) -> anyhow::Result<()> {
    let ns_info = resources::find("", "v1", "namespaces").expect("namespaces");
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        if server.store.get(&ns_info.key(None, ns)).await?.is_some() {
            // A store from before the namespace's `default` ServiceAccount was created with it.
            server
                .ensure_default_service_account(ns)
                .await
                .map_err(|e| anyhow::anyhow!("creating the default ServiceAccount of {ns}: {e}"))?;
            continue;
        }
        let t = Target {
            info: ns_info,
            ns: None,
            name: None,
            sub: None,
        };
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}});
        if let Err(e) = server.create(&t, obj, &Query::default()).await {
            if e.code != 409 {
                anyhow::bail!("creating namespace {ns}: {e}");
            }
        }
    }
    server.ensure_system_priority_classes().await?;
    let svc_info = resources::find("", "v1", "services").expect("services");
    if server
        .store
        .get(&svc_info.key(Some("default"), "kubernetes"))
        .await?
        .is_none()
    {
        let ip = server.service_cidr.nth(1).to_string();
        let t = Target {
            info: svc_info,
            ns: Some("default".into()),
            name: None,
            sub: None,
        };
        let obj = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": ip, "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": advertise.port()}], "sessionAffinity": "None", "type": "ClusterIP"}
        });
        if let Err(e) = server.create(&t, obj, &Query::default()).await {
            if e.code != 409 {
                anyhow::bail!("creating the kubernetes Service: {e}");
            }
        }
    }
    let sc_info =
        resources::find("storage.k8s.io", "v1", "storageclasses").expect("storageclasses");
    if server
        .store
        .get(&sc_info.key(None, "local-path"))
        .await?
        .is_none()
    {
        let t = Target {
            info: sc_info,
            ns: None,
            name: None,
            sub: None,
        };
        let obj = json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "local-path", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true
        });
        if let Err(e) = server.create(&t, obj, &Query::default()).await {
            if e.code != 409 {
                anyhow::bail!("creating the local-path StorageClass: {e}");
            }
        }
    }
    tracing::debug!(at = %now_rfc3339(), "system objects present");
    Ok(())
}
