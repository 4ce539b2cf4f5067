//! Admission `ServiceAccount` (upstream `plugin/pkg/admission/serviceaccount`): a pod must name
//! a ServiceAccount that exists, and one created without `imagePullSecrets` gets its
//! ServiceAccount's. The `default` ServiceAccount of a namespace is created with the namespace
//! (`ensure_default_service_account`), so a pod created right after its namespace is admitted.

use crate::meta::{meta_str, Query};
use crate::rest::{object_from_kv, store_error};
use crate::router::Target;
use crate::ApiServer;
use ordo_api::resources;
use ordo_api::status::ApiError;
use rand::Rng;
use serde_json::{json, Value};
use std::time::Duration;

/// The ServiceAccount a pod gets when it names none.
const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// Mirror pods (static pods of a kubelet) are exempt, as upstream.
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

impl ApiServer {
    /// Admission `ServiceAccount` on pod creation: refuses a pod whose ServiceAccount does not
    /// exist with upstream's 403 (`pods "p" is forbidden: error looking up service account
    /// ns/sa: serviceaccount "sa" not found`), and copies the ServiceAccount's
    /// `imagePullSecrets` into a pod that has none (the kubelet reads only the pod's).
    pub(crate) async fn admit_service_account(
        &self,
        ns: &str,
        pod: &mut Value,
    ) -> Result<(), ApiError> {
        if pod
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(MIRROR_POD_ANNOTATION))
            .is_some()
        {
            return Ok(());
        }
        let sa_name = pod
            .pointer("/spec/serviceAccountName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_SERVICE_ACCOUNT)
            .to_string();
        let Some(sa) = self.find_service_account(ns, &sa_name).await? else {
            let name = meta_str(pod, "name").unwrap_or("Unknown");
            tracing::debug!(
                ns,
                pod = name,
                sa = sa_name,
                "refused: no such ServiceAccount"
            );
            return Err(ApiError::forbidden_object(
                "",
                "pods",
                name,
                &format!(
                    "error looking up service account {ns}/{sa_name}: serviceaccount \"{sa_name}\" not found"
                ),
            ));
        };
        let has_own = pod
            .pointer("/spec/imagePullSecrets")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if has_own {
            return Ok(());
        }
        let secrets: Vec<Value> = sa
            .get("imagePullSecrets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| json!({"name": r.get("name").cloned().unwrap_or(json!(""))}))
            .collect();
        if !secrets.is_empty() {
            pod["spec"]["imagePullSecrets"] = json!(secrets);
        }
        Ok(())
    }

    /// The ServiceAccount `ns/name`, or `None`. As upstream, the `default` one is looked up
    /// ten times, 100 to 200 ms apart, since a controller may still be creating it.
    async fn find_service_account(&self, ns: &str, name: &str) -> Result<Option<Value>, ApiError> {
        let info =
            resources::find("", "v1", "serviceaccounts").expect("serviceaccounts are served");
        let attempts = if name == DEFAULT_SERVICE_ACCOUNT {
            10
        } else {
            1
        };
        let interval = Duration::from_millis(rand::rng().random_range(100..200));
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(interval).await;
            }
            let kv = self
                .store
                .get(&info.key(Some(ns), name))
                .await
                .map_err(|e| store_error(info, name, e))?;
            if let Some(kv) = kv {
                return object_from_kv(&kv).map(Some);
            }
        }
        Ok(None)
    }

    /// Creates the `default` ServiceAccount of a new namespace (kept afterwards by the namespace
    /// controller, as upstream's service-account controller does). Upstream creates it
    /// asynchronously; doing it here lets a pod be created right after its namespace, also with
    /// `--api-only`, where no controller runs.
    pub(crate) async fn ensure_default_service_account(&self, ns: &str) -> Result<(), ApiError> {
        let info =
            resources::find("", "v1", "serviceaccounts").expect("serviceaccounts are served");
        let t = Target {
            info,
            ns: Some(ns.to_string()),
            name: None,
            sub: None,
        };
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": DEFAULT_SERVICE_ACCOUNT, "namespace": ns}});
        match Box::pin(self.create(&t, sa, &Query::default())).await {
            Ok(_) => Ok(()),
            Err(e) if e.code == 409 => Ok(()),
            Err(e) => Err(e),
        }
    }
}
