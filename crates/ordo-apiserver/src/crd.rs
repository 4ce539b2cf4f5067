//! CustomResourceDefinitions in the API server: what a write of a CRD or of a custom object
//! goes through (`prepare_*`), and the controllers apiextensions-apiserver runs, done here
//! after each write of a CRD and at start: the naming controller (`NamesAccepted`,
//! `acceptedNames`), the establishing controller (`Established`, then the resources are
//! served: `ordo_api::crd` registry) and the finalizer controller (a deleted CRD is
//! `Terminating` until its objects are deleted, then it goes and its resources with it).

use crate::meta::{meta_mut, now_rfc3339, Query};
use crate::router::Target;
use crate::ApiServer;
use ordo_api::crd::{self, CustomResource, CLEANUP_FINALIZER, GROUP};
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::status::{ApiError, Cause};
use serde_json::{json, Value};
use std::sync::Arc;

/// The CRD resource.
pub(crate) fn crd_info() -> &'static ResourceInfo {
    resources::find(GROUP, "v1", "customresourcedefinitions").expect("CRDs are served")
}

/// Whether `info` is the CRD resource.
pub(crate) fn is_crd(info: &ResourceInfo) -> bool {
    info.group == GROUP && info.plural == "customresourcedefinitions"
}

/// The storage version a CRD names.
fn storage_version(crd: &Value) -> Option<String> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v["storage"] == true)?["name"]
        .as_str()
        .map(str::to_string)
}

/// A new CRD (upstream `PrepareForCreate` + defaults + validation): status reset to its
/// stored version.
pub(crate) fn prepare_crd_create(obj: &mut Value) -> Vec<Cause> {
    crd::apply_crd_defaults(obj);
    let stored: Vec<String> = storage_version(obj).into_iter().collect();
    obj["status"] = json!({"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": stored});
    crd::validate_crd(obj)
}

/// An update of a CRD: defaults, generation on spec changes, stored versions kept growing.
pub(crate) fn prepare_crd_update(new: &mut Value, old: &Value, status_only: bool) -> Vec<Cause> {
    crd::apply_crd_defaults(new);
    if !status_only {
        if let Some(v) = storage_version(new) {
            let stored = new["status"]["storedVersions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !stored.contains(&json!(v)) {
                let mut s = stored;
                s.push(json!(v));
                new["status"]["storedVersions"] = json!(s);
            }
        }
    }
    crd::validate_crd_update(new, old)
}

/// A new custom object: apiVersion/kind, no status with a status subresource, generation 1,
/// then pruning, defaulting and validation against the version's schema.
pub(crate) fn prepare_custom_create(cr: &CustomResource, obj: &mut Value) -> Vec<Cause> {
    if cr.info.status {
        if let Some(o) = obj.as_object_mut() {
            o.shift_remove("status");
        }
    }
    meta_mut(obj).insert("generation".into(), json!(1));
    let mut errs = ordo_api::validation::validate_custom_meta(obj, cr.info.namespaced);
    if let Some(schema) = &cr.schema {
        errs.extend(crd::schema::prepare(schema, obj, None));
    }
    errs
}

/// An update of a custom object (`status_write` for the status subresource): generation
/// bumped when anything but metadata (and status, with a status subresource) changed.
pub(crate) fn prepare_custom_update(
    cr: &CustomResource,
    new: &mut Value,
    old: &Value,
    status_write: bool,
) -> Vec<Cause> {
    let mut errs = ordo_api::validation::validate_custom_meta_update(new, old);
    if let Some(schema) = &cr.schema {
        errs.extend(crd::schema::prepare(schema, new, Some(old)));
    }
    if !status_write {
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("metadata");
                if cr.info.status {
                    o.shift_remove("status");
                }
            }
            v
        };
        if strip(new) != strip(old) {
            let g = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                + 1;
            meta_mut(new).insert("generation".into(), json!(g));
        }
    }
    errs
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": now_rfc3339()})
}

/// `conditions` with `c` set, keeping the transition time when the status is unchanged.
fn set_condition(conditions: &mut Vec<Value>, c: Value) {
    match conditions.iter_mut().find(|x| x["type"] == c["type"]) {
        Some(x) => {
            let same = x["status"] == c["status"];
            let t = x["lastTransitionTime"].clone();
            *x = c;
            if same {
                x["lastTransitionTime"] = t;
            }
        }
        None => conditions.push(c),
    }
}

/// The first name of `crd` another CRD of the group has accepted, if any.
fn name_conflict(crd: &Value, others: &[Value]) -> Option<String> {
    let group = &crd["spec"]["group"];
    let names = &crd["spec"]["names"];
    let mine: Vec<&str> = [&names["plural"], &names["singular"]]
        .into_iter()
        .filter_map(Value::as_str)
        .chain(
            names["shortNames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str),
        )
        .filter(|s| !s.is_empty())
        .collect();
    for o in others {
        if o["spec"]["group"] != *group || o["metadata"]["name"] == crd["metadata"]["name"] {
            continue;
        }
        let a = &o["status"]["acceptedNames"];
        let theirs: Vec<&str> = [&a["plural"], &a["singular"]]
            .into_iter()
            .filter_map(Value::as_str)
            .chain(
                a["shortNames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            )
            .collect();
        if let Some(n) = mine.iter().find(|n| theirs.contains(n)) {
            return Some(format!("\"{n}\" is already in use"));
        }
        if a["kind"] == names["kind"] || a["listKind"] == names["listKind"] {
            return Some(format!(
                "\"{}\" is already in use",
                names["kind"].as_str().unwrap_or("")
            ));
        }
    }
    None
}

impl ApiServer {
    /// Upstream refuses new objects of a CRD being deleted.
    pub(crate) async fn check_crd_not_terminating(
        &self,
        cr: &CustomResource,
    ) -> Result<(), ApiError> {
        let (crd, _) = self.read(crd_info(), None, &cr.crd).await?;
        if crd.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(ApiError::method_not_allowed(
                "create not allowed while custom resource definition is terminating",
            ));
        }
        Ok(())
    }

    /// Installs the CRDs found in the store (at start) and resumes the cleanup of deleted ones.
    pub(crate) async fn prime_crds(self: &Arc<Self>) -> anyhow::Result<()> {
        let page = self.store.list(&crd_info().key_prefix(), None, 0).await?;
        for kv in page.items {
            let obj = crate::rest::object_from_kv(&kv).map_err(|e| anyhow::anyhow!("{e}"))?;
            let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
            self.crd_changed(&name, obj.pointer("/metadata/deletionTimestamp").is_some())
                .await;
        }
        Ok(())
    }

    /// Runs the CRD controllers for `name` after a write of it: at once, or (for a deleted
    /// CRD, whose objects may take a while to go) in the background.
    pub(crate) async fn crd_changed(self: &Arc<Self>, name: &str, background: bool) {
        let server = self.clone();
        let name = name.to_string();
        if background {
            tokio::spawn(async move { server.reconcile_crd(&name).await });
        } else {
            server.reconcile_crd(&name).await;
        }
    }

    async fn reconcile_crd(self: &Arc<Self>, name: &str) {
        for attempt in 0..600 {
            match self.reconcile_crd_once(name).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => tracing::warn!(crd = name, "reconciling: {e}"),
            }
            let wait = if attempt < 10 { 100 } else { 1000 };
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        }
    }

    /// One pass; `Ok(true)` when done, `Ok(false)` to come back (conflicts, objects left).
    async fn reconcile_crd_once(self: &Arc<Self>, name: &str) -> Result<bool, ApiError> {
        let _guard = self.crd_lock.lock().await;
        let info = crd_info();
        let (crd, rev) = match self.read(info, None, name).await {
            Ok(x) => x,
            Err(e) if e.code == 404 => {
                crd::uninstall(name);
                return Ok(true);
            }
            Err(e) => return Err(e),
        };
        if crd.pointer("/metadata/deletionTimestamp").is_some() {
            return self.finalize_crd(name, crd, rev).await;
        }
        let page = self
            .store
            .list(&info.key_prefix(), None, 0)
            .await
            .map_err(|e| crate::rest::store_error(info, name, e))?;
        let others: Vec<Value> = page
            .items
            .iter()
            .filter_map(|kv| crate::rest::object_from_kv(kv).ok())
            .collect();
        let mut new = crd.clone();
        let mut conditions = crd["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let established = match name_conflict(&crd, &others) {
            Some(msg) => {
                set_condition(
                    &mut conditions,
                    condition("NamesAccepted", "False", "NameConflict", &msg),
                );
                set_condition(
                    &mut conditions,
                    condition(
                        "Established",
                        "False",
                        "NotAccepted",
                        "not all names are accepted",
                    ),
                );
                false
            }
            None => {
                new["status"]["acceptedNames"] = crd["spec"]["names"].clone();
                set_condition(
                    &mut conditions,
                    condition("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                );
                set_condition(
                    &mut conditions,
                    condition(
                        "Established",
                        "True",
                        "InitialNamesAccepted",
                        "the initial names have been accepted",
                    ),
                );
                true
            }
        };
        new["status"]["conditions"] = json!(conditions);
        // Served before `Established` is written: whoever sees the condition (or the CRD
        // change) and reads discovery finds the resources.
        if established {
            crd::install(&new);
        } else {
            crd::uninstall(name);
        }
        if new != crd {
            match self
                .store
                .update(&info.key(None, name), crate::rest::to_bytes(&new)?, rev)
                .await
            {
                Ok(_) => {}
                Err(ordo_store::StoreError::Conflict { .. }) => return Ok(false),
                Err(e) => return Err(crate::rest::store_error(info, name, e)),
            }
        }
        Ok(true)
    }

    /// The finalizer controller: `Terminating`, every object deleted, then the finalizer
    /// removed (which deletes the CRD) and the resources no longer served.
    async fn finalize_crd(
        self: &Arc<Self>,
        name: &str,
        mut crd: Value,
        rev: i64,
    ) -> Result<bool, ApiError> {
        let info = crd_info();
        let has_finalizer = crd["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.contains(&json!(CLEANUP_FINALIZER)));
        if !has_finalizer {
            crd::uninstall(name);
            return Ok(true);
        }
        let mut conditions = crd["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        set_condition(
            &mut conditions,
            condition(
                "Terminating",
                "True",
                "InstanceDeletionInProgress",
                "CustomResource deletion is in progress",
            ),
        );
        let mut rev = rev;
        if crd["status"]["conditions"] != json!(conditions) {
            crd["status"]["conditions"] = json!(conditions.clone());
            match self
                .store
                .update(&info.key(None, name), crate::rest::to_bytes(&crd)?, rev)
                .await
            {
                Ok(kv) => rev = kv.mod_revision,
                Err(ordo_store::StoreError::Conflict { .. }) => return Ok(false),
                Err(e) => return Err(crate::rest::store_error(info, name, e)),
            }
        }
        // Objects are stored under one prefix whatever their version.
        let group = crd["spec"]["group"].as_str().unwrap_or("").to_string();
        let plural = crd["spec"]["names"]["plural"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let version = storage_version(&crd).unwrap_or_default();
        let left = match resources::find(&group, &version, &plural) {
            Some(obj_info) => {
                let page = self
                    .store
                    .list(&obj_info.key_prefix(), None, 0)
                    .await
                    .map_err(|e| crate::rest::store_error(obj_info, name, e))?;
                let left = page.items.len();
                for kv in page.items {
                    let o = crate::rest::object_from_kv(&kv)?;
                    if o.pointer("/metadata/deletionTimestamp").is_some() {
                        continue;
                    }
                    let t = Target {
                        info: obj_info,
                        ns: o["metadata"]["namespace"].as_str().map(str::to_string),
                        name: o["metadata"]["name"].as_str().map(str::to_string),
                        sub: None,
                    };
                    if let Err(e) = self.delete(&t, &Query::default(), Value::Null).await {
                        if e.code != 404 {
                            tracing::warn!(crd = name, "deleting a custom object: {e}");
                        }
                    }
                }
                left
            }
            None => 0,
        };
        if left > 0 {
            return Ok(false);
        }
        set_condition(
            &mut conditions,
            condition(
                "Terminating",
                "True",
                "InstanceDeletionCompleted",
                "removed all instances",
            ),
        );
        crd["status"]["conditions"] = json!(conditions);
        let fins: Vec<Value> = crd["metadata"]["finalizers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| **f != json!(CLEANUP_FINALIZER))
            .cloned()
            .collect();
        crd["metadata"]["finalizers"] = json!(fins);
        let key = info.key(None, name);
        let result = if fins.is_empty() {
            self.store.delete(&key, Some(rev)).await.map(|_| ())
        } else {
            self.store
                .update(&key, crate::rest::to_bytes(&crd)?, rev)
                .await
                .map(|_| ())
        };
        match result {
            Ok(()) => {}
            Err(ordo_store::StoreError::Conflict { .. }) => return Ok(false),
            Err(e) => return Err(crate::rest::store_error(info, name, e)),
        }
        crd::uninstall(name);
        Ok(fins.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_use_in_the_group_conflict() {
        let a = json!({"metadata": {"name": "widgets.x.io"}, "spec": {"group": "x.io",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]}}});
        let b = json!({"metadata": {"name": "gadgets.x.io"}, "spec": {"group": "x.io"},
            "status": {"acceptedNames": {"plural": "gadgets", "kind": "Gadget", "shortNames": ["wd"]}}});
        assert_eq!(
            name_conflict(&a, std::slice::from_ref(&b)).as_deref(),
            Some("\"wd\" is already in use")
        );
        let mut c = b;
        c["spec"]["group"] = json!("y.io");
        assert_eq!(name_conflict(&a, &[c]), None);
    }
}
