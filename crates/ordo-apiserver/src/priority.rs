//! The Priority admission plugin (upstream `plugin/pkg/admission/priority`): a new pod's
//! `priorityClassName` is resolved to `spec.priority` and `spec.preemptionPolicy` (the global
//! default class, or 0, when it names none), and at most one PriorityClass may be the global
//! default. The system classes are created at start.

use crate::meta::Query;
use crate::rest::object_from_kv;
use crate::router::Target;
use crate::ApiServer;
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::status::ApiError;
use serde_json::{json, Value};

fn info() -> &'static ResourceInfo {
    resources::find("scheduling.k8s.io", "v1", "priorityclasses")
        .expect("PriorityClasses are served")
}

impl ApiServer {
    async fn priority_classes(&self) -> Result<Vec<Value>, ApiError> {
        let page = self
            .store
            .list(&info().key_prefix(), None, 0)
            .await
            .map_err(|e| crate::rest::store_error(info(), "", e))?;
        page.items.iter().map(object_from_kv).collect()
    }

    /// Sets a new pod's priority from its class, refusing as upstream does.
    pub(crate) async fn admit_pod_priority(
        &self,
        name: &str,
        pod: &mut Value,
    ) -> Result<(), ApiError> {
        let forbidden =
            |why: String| ApiError::forbidden(format!("pods \"{name}\" is forbidden: {why}"));
        let class = pod
            .pointer("/spec/priorityClassName")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        let classes = self.priority_classes().await?;
        let (class_name, priority, policy) = match &class {
            Some(c) => {
                let pc = classes
                    .iter()
                    .find(|pc| pc.pointer("/metadata/name").and_then(Value::as_str) == Some(c))
                    .ok_or_else(|| {
                        forbidden(format!("no PriorityClass with name {c} was found"))
                    })?;
                (
                    Some(c.clone()),
                    pc["value"].as_i64().unwrap_or(0),
                    pc.get("preemptionPolicy").cloned(),
                )
            }
            None => {
                // The default class with the lowest value, as upstream picks among several.
                let default = classes
                    .iter()
                    .filter(|pc| pc["globalDefault"].as_bool() == Some(true))
                    .min_by_key(|pc| pc["value"].as_i64().unwrap_or(0));
                match default {
                    Some(pc) => (
                        pc.pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        pc["value"].as_i64().unwrap_or(0),
                        pc.get("preemptionPolicy").cloned(),
                    ),
                    None => (None, 0, Some(json!("PreemptLowerPriority"))),
                }
            }
        };
        let spec = &mut pod["spec"];
        if let Some(given) = spec.get("priority").and_then(Value::as_i64) {
            if given != priority {
                return Err(forbidden(format!("the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name")));
            }
        }
        spec["priority"] = json!(priority);
        if let Some(name) = class_name {
            spec["priorityClassName"] = json!(name);
        }
        if let Some(policy) = policy.filter(|p| p.is_string()) {
            if let Some(given) = spec.get("preemptionPolicy").filter(|p| !p.is_null()) {
                if *given != policy {
                    return Err(forbidden(format!(
                        "the string value of PreemptionPolicy ({}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
                        given.as_str().unwrap_or(""),
                        policy.as_str().unwrap_or("")
                    )));
                }
            }
            spec["preemptionPolicy"] = policy;
        }
        Ok(())
    }

    /// Refuses a second global default class (upstream's `PriorityClass` admission).
    pub(crate) async fn admit_priority_class(&self, pc: &Value) -> Result<(), ApiError> {
        if pc["globalDefault"].as_bool() != Some(true) {
            return Ok(());
        }
        let name = pc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        for other in self.priority_classes().await? {
            let other_name = other
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            if other_name != name && other["globalDefault"].as_bool() == Some(true) {
                return Err(ApiError::forbidden(format!(
                    "priorityclasses.scheduling.k8s.io \"{name}\" is forbidden: PriorityClass {other_name} is already marked as default. Only one default can exist"
                )));
            }
        }
        Ok(())
    }

    /// Creates the system classes (`system-node-critical`, `system-cluster-critical`).
    pub(crate) async fn ensure_system_priority_classes(&self) -> anyhow::Result<()> {
        for (name, value, description) in ordo_api::validation::SYSTEM_PRIORITY_CLASSES {
            if self.store.get(&info().key(None, name)).await?.is_some() {
                continue;
            }
            let t = Target {
                info: info(),
                ns: None,
                name: None,
                sub: None,
            };
            let obj = json!({
                "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": name}, "value": value, "description": description
            });
            if let Err(e) = self.create(&t, obj, &Query::default()).await {
                if e.code != 409 {
                    anyhow::bail!("creating PriorityClass {name}: {e}");
                }
            }
        }
        Ok(())
    }
}
