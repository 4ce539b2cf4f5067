//! `PUT` of an object, its `status`, a pod's `ephemeralcontainers` or a namespace's `finalize`, and [`ApiServer::write_update`]:
//! the update rules every write of an existing object goes through (PUT, PATCH, scale).

use super::{store_error, to_bytes};
use crate::meta::{meta_mut, meta_str, Query};
use crate::router::Target;
use crate::{admission, ApiServer};
use axum::http::StatusCode;
use ordo_api::status::ApiError;
use ordo_api::{defaults, validation};
use ordo_store::Revision;
use serde_json::{json, Map, Value};

/// Whether two objects are equal apart from `metadata.resourceVersion`, compared as maps
/// (key order aside, as `Value`'s equality), without copying them.
fn same_but_rv(a: &Value, b: &Value) -> bool {
    /// Equal maps, leaving out `skip` (and whole `metadata` objects, compared by the caller).
    fn same_map(a: &Map<String, Value>, b: &Map<String, Value>, skip: Option<&str>) -> bool {
        let kept = |k: &String| Some(k.as_str()) != skip;
        a.keys().filter(|k| kept(k)).count() == b.keys().filter(|k| kept(k)).count()
            && a.iter().filter(|(k, _)| kept(k)).all(|(k, va)| {
                match (va.as_object(), b.get(k).and_then(Value::as_object)) {
                    (Some(ma), Some(mb)) if skip.is_none() && k == "metadata" => {
                        same_map(ma, mb, Some("resourceVersion"))
                    }
                    _ => b.get(k) == Some(va),
                }
            })
    }
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => same_map(a, b, None),
        _ => a == b,
    }
}

impl ApiServer {
    /// `PUT` of an object, its `status` or (namespaces) `finalize`.
    pub(crate) async fn update(
        &self,
        t: &Target,
        body: Value,
        q: &Query,
    ) -> Result<(StatusCode, Value), ApiError> {
        let info = t.info;
        let name = t.name.clone().unwrap_or_default();
        let mut obj = self.decode_body(info, body, q)?;
        if let Some(n) = meta_str(&obj, "name") {
            if n != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
        }
        meta_mut(&mut obj).insert("name".into(), json!(name));
        let precondition: Option<Revision> = meta_str(&obj, "resourceVersion")
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap_or(-1));
        let (old, rev) = self.read(info, t.ns(), &name).await?;
        if let Some(p) = precondition {
            if p != rev {
                return Err(ApiError::modified(info.group, info.plural, &name));
            }
        }
        let v = self.write_update(t, &old, rev, obj, q).await?;
        Ok((StatusCode::OK, v))
    }

    /// Applies the rules of an update (`sub` = None, `status` or `finalize`) and writes it
    /// if anything changed. `rev` is the revision `old` was read at.
    pub(crate) async fn write_update(
        &self,
        t: &Target,
        old: &Value,
        rev: Revision,
        mut new: Value,
        q: &Query,
    ) -> Result<Value, ApiError> {
        let info = t.info;
        let name = meta_str(old, "name").unwrap_or_default().to_string();
        let csr = info.kind == "CertificateSigningRequest";
        if csr {
            crate::certificates::prepare_update(t.sub.as_deref(), &mut new, old);
        }
        match t.sub.as_deref() {
            _ if csr => {}
            Some("status") => {
                let status = new.get("status").cloned();
                new = old.clone();
                match status {
                    Some(s) => new["status"] = s,
                    None => {
                        new.as_object_mut().map(|o| o.remove("status"));
                    }
                }
            }
            Some("finalize") => {
                let fin = new.pointer("/spec/finalizers").cloned();
                new = old.clone();
                new["spec"]["finalizers"] = fin.unwrap_or(json!([]));
            }
            Some("ephemeralcontainers") => {
                // `dropNonEphemeralContainerUpdates`: only the ephemeral containers change.
                let ephemeral = new.pointer("/spec/ephemeralContainers").cloned();
                new = old.clone();
                match ephemeral {
                    Some(e) if !e.is_null() => new["spec"]["ephemeralContainers"] = e,
                    _ => {
                        new["spec"]
                            .as_object_mut()
                            .map(|o| o.remove("ephemeralContainers"));
                    }
                }
            }
            _ => {
                if info.status {
                    match old.get("status") {
                        Some(s) => new["status"] = s.clone(),
                        None => {
                            new.as_object_mut().map(|o| o.remove("status"));
                        }
                    }
                }
            }
        }
        // Metadata the client cannot change.
        {
            let om = old.get("metadata");
            let m = meta_mut(&mut new);
            for k in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "namespace",
                "generation",
            ] {
                match om.and_then(|om| om.get(k)) {
                    Some(v) => m.insert(k.into(), v.clone()),
                    None => m.remove(k),
                };
            }
            m.remove("managedFields");
            m.remove("resourceVersion");
        }
        let custom = ordo_api::crd::by_info(info);
        let crd = crate::crd::is_crd(info);
        if custom.is_some() || crd {
            let status_write = t.sub.as_deref() == Some("status");
            let causes = match &custom {
                Some(cr) => crate::crd::prepare_custom_update(cr, &mut new, old, status_write),
                None => crate::crd::prepare_crd_update(&mut new, old, status_write),
            };
            if crd && !status_write && old.get("spec") != new.get("spec") {
                let g = old
                    .pointer("/metadata/generation")
                    .and_then(|g| g.as_i64())
                    .unwrap_or(0)
                    + 1;
                meta_mut(&mut new).insert("generation".into(), json!(g));
            }
            if !causes.is_empty() {
                return Err(ApiError::invalid(info.group, info.kind, &name, &causes));
            }
        } else {
            defaults::apply_defaults(info.kind, &mut new);
        }
        if t.sub.as_deref() == Some("ephemeralcontainers") {
            let causes = validation::validate_ephemeral_containers_update(&new, old);
            if !causes.is_empty() {
                return Err(ApiError::invalid(info.group, info.kind, &name, &causes));
            }
        }
        if t.sub.is_none() && custom.is_none() && !crd {
            if info.generation && old.get("spec") != new.get("spec") {
                let g = old
                    .pointer("/metadata/generation")
                    .and_then(|g| g.as_i64())
                    .unwrap_or(0)
                    + 1;
                meta_mut(&mut new).insert("generation".into(), json!(g));
            }
            if info.kind == "Service" && info.group.is_empty() {
                admission::prepare_service_update(&mut new, old);
            }
            if info.kind == "DaemonSet" && info.group == "apps" {
                admission::prepare_daemonset_update(&mut new, old);
            }
            let causes = validation::validate_update(info.kind, &new, old);
            if !causes.is_empty() {
                return Err(ApiError::invalid(info.group, info.kind, &name, &causes));
            }
            if info.kind == "PersistentVolumeClaim" && info.group.is_empty() {
                self.admit_claim_resize(&new, old).await?;
            }
            if info.kind == "Service" {
                self.allocate_service(&mut new, Some(old)).await?;
            }
        }
        if csr && t.sub.is_some() {
            let causes = validation::validate_update(info.kind, &new, old);
            if !causes.is_empty() {
                return Err(ApiError::invalid(info.group, info.kind, &name, &causes));
            }
            crate::certificates::admit_update(self, t.sub.as_deref(), &name, &new, old)?;
        }
        if same_but_rv(&new, old) {
            return Ok(old.clone());
        }
        crate::auth::admit_write(
            self,
            info,
            t.sub.as_deref(),
            t.ns().unwrap_or(""),
            &name,
            Some(&new),
            Some(old),
        )?;
        // Held until the object is written: see `admission/resource_quota.rs`.
        let mut _quota_guard = None;
        if let (None, Some(ns)) = (t.sub.as_deref(), t.ns()) {
            if info.kind == "PersistentVolumeClaim" && info.group.is_empty() {
                self.admit_limit_range_checks(info, ns, &name, &new).await?;
            }
            _quota_guard = self
                .admit_resource_quota(info, ns, &name, &new, Some(old))
                .await?;
        }
        if q.get("dryRun") == Some("All") {
            return Ok(new);
        }
        let key = info.key(t.ns(), &name);
        let finalized = new.pointer("/metadata/deletionTimestamp").is_some()
            && new
                .pointer("/metadata/finalizers")
                .and_then(|f| f.as_array())
                .is_none_or(|a| a.is_empty())
            && !(info.kind == "Pod"
                && new
                    .pointer("/metadata/deletionGracePeriodSeconds")
                    .and_then(|g| g.as_i64())
                    .unwrap_or(0)
                    > 0)
            && !(info.kind == "Namespace"
                && new
                    .pointer("/spec/finalizers")
                    .and_then(|f| f.as_array())
                    .is_some_and(|a| !a.is_empty()));
        if finalized {
            let (_, del_rev) = self
                .store
                .delete(&key, Some(rev))
                .await
                .map_err(|e| store_error(info, &name, e))?;
            self.on_deleted(info, &new).await;
            meta_mut(&mut new).insert("resourceVersion".into(), json!(del_rev.to_string()));
            return Ok(new);
        }
        let kv = self
            .store
            .update(&key, to_bytes(&new)?, rev)
            .await
            .map_err(|e| store_error(info, &name, e))?;
        if info.kind == "Service" {
            self.release_service(old, Some(&new)).await;
        }
        meta_mut(&mut new).insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::same_but_rv;
    use serde_json::json;

    #[test]
    fn same_but_rv_ignores_only_the_resource_version() {
        let a = json!({"kind": "Pod", "metadata": {"name": "p", "resourceVersion": "1"},
                       "spec": {"x": 1}});
        let b = json!({"spec": {"x": 1}, "kind": "Pod",
                       "metadata": {"resourceVersion": "7", "name": "p"}});
        assert!(same_but_rv(&a, &b));
        let no_rv = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}});
        assert!(same_but_rv(&a, &no_rv) && same_but_rv(&no_rv, &a));
        let other = json!({"kind": "Pod", "metadata": {"name": "q", "resourceVersion": "1"},
                           "spec": {"x": 1}});
        assert!(!same_but_rv(&a, &other));
        let more = json!({"kind": "Pod", "metadata": {"name": "p", "labels": {}},
                          "spec": {"x": 1}});
        assert!(!same_but_rv(&a, &more) && !same_but_rv(&more, &a));
        let spec = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 2}});
        assert!(!same_but_rv(&a, &spec));
        let no_meta = json!({"kind": "Pod", "spec": {"x": 1}});
        assert!(!same_but_rv(&a, &no_meta) && !same_but_rv(&no_meta, &a));
        // A resourceVersion elsewhere still counts.
        let deep = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1, "resourceVersion": "1"}});
        assert!(!same_but_rv(&no_rv, &deep));
    }
}
