//! The write verbs and GET: create, get, update, patch, scale, binding.

use crate::meta::{meta_mut, meta_str, now_rfc3339, random_suffix, Query};
use crate::router::{json_response, Target};
use crate::{alloc, ApiServer};
use axum::http::StatusCode;
use axum::response::Response;
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::selector::LabelSelector;
use ordo_api::status::ApiError;
use ordo_api::{defaults, patch, validation};
use ordo_store::{KeyValue, Revision, StoreError};
use serde_json::{json, Map, Value};

/// Maps a store error on one object to the API error upstream returns.
pub(crate) fn store_error(info: &ResourceInfo, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::AlreadyExists(_) => ApiError::already_exists(info.group, info.plural, name),
        StoreError::NotFound(_) => ApiError::not_found(info.group, info.plural, name),
        StoreError::Conflict { .. } => ApiError::modified(info.group, info.plural, name),
        StoreError::Compacted { .. } => {
            ApiError::gone("The resourceVersion for the provided watch is too old.")
        }
        StoreError::Unavailable(m) => ApiError::unavailable(m),
    }
}

/// The object stored under a key, with `resourceVersion` set from the store revision.
pub(crate) fn object_from_kv(kv: &KeyValue) -> Result<Value, ApiError> {
    let mut v: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("corrupt object {}: {e}", kv.key)))?;
    meta_mut(&mut v).insert(
        "resourceVersion".into(),
        Value::String(kv.mod_revision.to_string()),
    );
    Ok(v)
}

/// Serialised form of an object for the store (without `resourceVersion`).
pub(crate) fn to_bytes(obj: &Value) -> Vec<u8> {
    let mut o = obj.clone();
    meta_mut(&mut o).remove("resourceVersion");
    serde_json::to_vec(&o).unwrap_or_default()
}

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

/// `fieldValidation`: how unknown fields are treated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    fn from_query(q: &Query) -> Result<Self, ApiError> {
        match q.get("fieldValidation") {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(o) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {o}"
            ))),
        }
    }
}

impl ApiServer {
    /// Reads one object; 404 if it does not exist.
    pub(crate) async fn read(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
    ) -> Result<(Value, Revision), ApiError> {
        match self
            .store
            .get(&info.key(ns, name))
            .await
            .map_err(|e| store_error(info, name, e))?
        {
            Some(kv) => Ok((object_from_kv(&kv)?, kv.mod_revision)),
            None => Err(ApiError::not_found(info.group, info.plural, name)),
        }
    }

    /// Decodes a body through the typed schema, checks kind/apiVersion and unknown fields.
    fn decode_body(
        &self,
        info: &ResourceInfo,
        mut obj: Value,
        q: &Query,
    ) -> Result<Value, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(format!(
                "the body of the request was not a {} object",
                info.kind
            )));
        }
        let kind_ok = obj
            .get("kind")
            .and_then(|k| k.as_str())
            .is_none_or(|k| k == info.kind);
        let av_ok = obj
            .get("apiVersion")
            .and_then(|k| k.as_str())
            .is_none_or(|a| a == info.api_version());
        if !kind_ok || !av_ok {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({}) does not match the expected API version ({})",
                obj.get("apiVersion").and_then(|a| a.as_str()).unwrap_or(""),
                info.api_version()
            )));
        }
        obj["kind"] = json!(info.kind);
        obj["apiVersion"] = json!(info.api_version());
        let mode = FieldValidation::from_query(q)?;
        let decoded = resources::decode(info, obj).map_err(ApiError::bad_request)?;
        if mode == FieldValidation::Strict && !decoded.unknown_fields.is_empty() {
            let list: Vec<String> = decoded
                .unknown_fields
                .iter()
                .map(|f| format!("unknown field \"{f}\""))
                .collect();
            return Err(ApiError::bad_request(format!(
                "strict decoding error: {}",
                list.join(", ")
            )));
        }
        if mode == FieldValidation::Warn {
            for f in &decoded.unknown_fields {
                tracing::info!(kind = info.kind, "unknown field \"{f}\" dropped");
            }
        }
        Ok(decoded.object)
    }

    /// `GET` of one object (or its Table).
    pub(crate) async fn get(
        &self,
        t: &Target,
        q: &Query,
        table: bool,
    ) -> Result<Response, ApiError> {
        let name = t.name.as_deref().unwrap_or_default();
        let (obj, rev) = self.read(t.info, t.ns(), name).await?;
        if table {
            let v = crate::table::to_table(
                t.info,
                std::slice::from_ref(&obj),
                q,
                &rev.to_string(),
                true,
            );
            return Ok(json_response(StatusCode::OK, &v));
        }
        Ok(json_response(StatusCode::OK, &obj))
    }

    /// `POST` to a collection.
    pub(crate) async fn create(
        &self,
        t: &Target,
        body: Value,
        q: &Query,
    ) -> Result<(StatusCode, Value), ApiError> {
        let info = t.info;
        let mut obj = self.decode_body(info, body, q)?;
        let ns = if info.namespaced {
            let url_ns = t.ns.clone().unwrap_or_else(|| "default".into());
            match meta_str(&obj, "namespace") {
                Some(n) if !n.is_empty() && n != url_ns => {
                    return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
                }
                _ => {}
            }
            meta_mut(&mut obj).insert("namespace".into(), json!(url_ns));
            Some(url_ns)
        } else {
            meta_mut(&mut obj).remove("namespace");
            None
        };
        if meta_str(&obj, "name").is_none_or(str::is_empty) {
            if let Some(gen) = meta_str(&obj, "generateName").filter(|g| !g.is_empty()) {
                let name = format!("{gen}{}", random_suffix(5));
                meta_mut(&mut obj).insert("name".into(), json!(name));
            }
        }
        let name = meta_str(&obj, "name").unwrap_or("").to_string();
        if let Some(ns) = &ns {
            self.check_namespace_open(info, ns, &name).await?;
        }
        {
            let m = meta_mut(&mut obj);
            m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
            m.insert("creationTimestamp".into(), json!(now_rfc3339()));
            m.remove("resourceVersion");
            m.remove("deletionTimestamp");
            m.remove("deletionGracePeriodSeconds");
            m.remove("managedFields");
            m.remove("selfLink");
            if info.generation {
                m.insert("generation".into(), json!(1));
            } else {
                m.remove("generation");
            }
        }
        defaults::apply_defaults(info.kind, &mut obj);
        prepare_create(info, &mut obj);
        if info.kind == "PersistentVolumeClaim" && info.group.is_empty() {
            self.admit_default_storage_class(&mut obj).await?;
        }
        let causes = validation::validate_create(info.kind, &obj);
        if !causes.is_empty() {
            return Err(ApiError::invalid(info.group, info.kind, &name, &causes));
        }
        if info.kind == "Service" {
            self.allocate_service(&mut obj, None).await?;
        }
        if q.get("dryRun") == Some("All") {
            return Ok((StatusCode::CREATED, obj));
        }
        let key = info.key(ns.as_deref(), &name);
        match self.store.create(&key, to_bytes(&obj)).await {
            Ok(kv) => {
                meta_mut(&mut obj)
                    .insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
                Ok((StatusCode::CREATED, obj))
            }
            Err(e) => {
                if info.kind == "Service" {
                    self.release_service(&obj, None).await;
                }
                Err(store_error(info, &name, e))
            }
        }
    }

    async fn check_namespace_open(
        &self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let ns_info = resources::find("", "v1", "namespaces").expect("namespaces are served");
        let (nso, _) = self.read(ns_info, None, ns).await?;
        if nso.pointer("/metadata/deletionTimestamp").is_some()
            || nso.pointer("/status/phase") == Some(&json!("Terminating"))
        {
            return Err(ApiError::forbidden(format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                info.qualified()
            )));
        }
        Ok(())
    }

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
        match t.sub.as_deref() {
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
        defaults::apply_defaults(info.kind, &mut new);
        if t.sub.is_none() {
            if info.generation && old.get("spec") != new.get("spec") {
                let g = old
                    .pointer("/metadata/generation")
                    .and_then(|g| g.as_i64())
                    .unwrap_or(0)
                    + 1;
                meta_mut(&mut new).insert("generation".into(), json!(g));
            }
            if info.kind == "Service" && info.group.is_empty() {
                prepare_service_update(&mut new, old);
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
        if same_but_rv(&new, old) {
            return Ok(old.clone());
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
            .update(&key, to_bytes(&new), rev)
            .await
            .map_err(|e| store_error(info, &name, e))?;
        if info.kind == "Service" {
            self.release_service(old, Some(&new)).await;
        }
        meta_mut(&mut new).insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
        Ok(new)
    }

    /// `PATCH` of an object or a subresource; retried on conflicts unless the patch pins a
    /// resourceVersion.
    pub(crate) async fn patch(
        &self,
        t: &Target,
        content_type: &str,
        body: &[u8],
        q: &Query,
    ) -> Result<(StatusCode, Value), ApiError> {
        let info = t.info;
        let name = t.name.clone().unwrap_or_default();
        let ct = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let patch_doc: Value = match ct.as_str() {
            "application/apply-patch+yaml" => crate::meta::parse_body("yaml", body)?,
            "application/json-patch+json"
            | "application/merge-patch+json"
            | "application/strategic-merge-patch+json" => serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?,
            other => return Err(ApiError::unsupported_media_type(other)),
        };
        let pinned = patch_doc
            .pointer("/metadata/resourceVersion")
            .and_then(|v| v.as_str())
            .map(|s| s.to_string());
        for _ in 0..8 {
            let (old, rev) = match self.read(info, t.ns(), &name).await {
                Ok(x) => x,
                Err(e)
                    if e.code == 404 && ct == "application/apply-patch+yaml" && t.sub.is_none() =>
                {
                    // Server-side apply creates missing objects.
                    let mut obj = patch_doc.clone();
                    meta_mut(&mut obj).insert("name".into(), json!(name));
                    return self.create(t, obj, q).await;
                }
                Err(e) => return Err(e),
            };
            if let Some(p) = &pinned {
                if *p != rev.to_string() {
                    return Err(ApiError::modified(info.group, info.plural, &name));
                }
            }
            let base = if t.sub.as_deref() == Some("scale") {
                scale_of(info, &old)?
            } else {
                old.clone()
            };
            let kind = if t.sub.as_deref() == Some("scale") {
                "Scale"
            } else {
                info.kind
            };
            let patched = match ct.as_str() {
                "application/json-patch+json" => {
                    patch::json_patch(&base, &patch_doc).map_err(|e| ApiError::invalid_patch(&e))?
                }
                "application/merge-patch+json" => patch::json_merge_patch(&base, &patch_doc),
                _ => patch::strategic_merge_patch(kind, &base, &patch_doc)
                    .map_err(|e| ApiError::invalid_patch(&e))?,
            };
            let new = if t.sub.as_deref() == Some("scale") {
                let replicas = patched
                    .pointer("/spec/replicas")
                    .cloned()
                    .unwrap_or(json!(0));
                let mut n = old.clone();
                n["spec"]["replicas"] = replicas;
                n
            } else {
                self.decode_body(info, patched, q)?
            };
            let write_target = if t.sub.as_deref() == Some("scale") {
                Target {
                    sub: None,
                    ..t.clone()
                }
            } else {
                t.clone()
            };
            match self.write_update(&write_target, &old, rev, new, q).await {
                Ok(v) if t.sub.as_deref() == Some("scale") => {
                    return Ok((StatusCode::OK, scale_of(info, &v)?))
                }
                Ok(v) => return Ok((StatusCode::OK, v)),
                Err(e) if e.code == 409 && e.reason == "Conflict" && pinned.is_none() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::modified(info.group, info.plural, &name))
    }

    /// `GET .../scale`.
    pub(crate) async fn get_scale(&self, t: &Target) -> Result<Value, ApiError> {
        let (obj, _) = self
            .read(t.info, t.ns(), t.name.as_deref().unwrap_or_default())
            .await?;
        scale_of(t.info, &obj)
    }

    /// `PUT .../scale`.
    pub(crate) async fn update_scale(
        &self,
        t: &Target,
        body: Value,
        q: &Query,
    ) -> Result<Value, ApiError> {
        let name = t.name.clone().unwrap_or_default();
        let scale = resources::decode_scale(body).map_err(ApiError::bad_request)?;
        let (old, rev) = self.read(t.info, t.ns(), &name).await?;
        if let Some(p) = scale
            .pointer("/metadata/resourceVersion")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
        {
            if p != rev.to_string() {
                return Err(ApiError::modified(t.info.group, t.info.plural, &name));
            }
        }
        let replicas = scale
            .pointer("/spec/replicas")
            .and_then(|r| r.as_i64())
            .unwrap_or(0);
        if replicas < 0 {
            return Err(ApiError::invalid(
                "autoscaling",
                "Scale",
                &name,
                &[ordo_api::status::Cause::invalid(
                    "spec.replicas",
                    replicas,
                    "must be greater than or equal to 0",
                )],
            ));
        }
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(replicas);
        let v = self
            .write_update(
                &Target {
                    sub: None,
                    ..t.clone()
                },
                &old,
                rev,
                new,
                q,
            )
            .await?;
        scale_of(t.info, &v)
    }

    /// `POST pods/NAME/binding`: the scheduler assigns a pod to a node.
    pub(crate) async fn bind(&self, t: &Target, body: Value) -> Result<Value, ApiError> {
        let name = t.name.clone().unwrap_or_default();
        let node = body
            .pointer("/target/name")
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .to_string();
        if node.is_empty() {
            return Err(ApiError::invalid(
                "",
                "Binding",
                &name,
                &[ordo_api::status::Cause::required("target.name", "")],
            ));
        }
        for _ in 0..5 {
            let (old, rev) = self.read(t.info, t.ns(), &name).await?;
            if let Some(cur) = old
                .pointer("/spec/nodeName")
                .and_then(|n| n.as_str())
                .filter(|n| !n.is_empty())
            {
                return Err(ApiError::conflict(
                    "",
                    "pods",
                    &name,
                    &format!("pod {name} is already assigned to node \"{cur}\""),
                ));
            }
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Err(ApiError::conflict(
                    "",
                    "pods",
                    &name,
                    "pod is being deleted, cannot be assigned to a host",
                ));
            }
            let mut new = old.clone();
            new["spec"]["nodeName"] = json!(node);
            let cond = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339()});
            let conds = new["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut conds: Vec<Value> = conds
                .into_iter()
                .filter(|c| c["type"] != "PodScheduled")
                .collect();
            conds.insert(0, cond);
            new["status"]["conditions"] = json!(conds);
            let key = t.info.key(t.ns(), &name);
            match self.store.update(&key, to_bytes(&new), rev).await {
                Ok(_) => {
                    return Ok(
                        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                    )
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(t.info, &name, e)),
            }
        }
        Err(ApiError::modified("", "pods", &name))
    }

    /// Allocates the ClusterIP (on create) and missing NodePorts of a Service.
    async fn allocate_service(&self, svc: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
        let owner = format!(
            "{}/{}",
            meta_str(svc, "namespace").unwrap_or(""),
            meta_str(svc, "name").unwrap_or("")
        );
        let ty = svc
            .pointer("/spec/type")
            .and_then(|t| t.as_str())
            .unwrap_or("ClusterIP")
            .to_string();
        if old.is_none() && ty != "ExternalName" {
            let requested = svc
                .pointer("/spec/clusterIP")
                .and_then(|c| c.as_str())
                .unwrap_or("")
                .to_string();
            let ip = match requested.as_str() {
                "" => alloc::allocate_ip(self.store.as_ref(), &self.service_cidr, &owner)
                    .await?
                    .to_string(),
                "None" => "None".to_string(),
                ip => {
                    let parsed: std::net::Ipv4Addr = ip.parse().map_err(|_| {
                        ApiError::invalid(
                            "",
                            "Service",
                            &owner,
                            &[ordo_api::status::Cause::invalid(
                                "spec.clusterIPs[0]",
                                format!("\"{ip}\""),
                                "must be a valid IP address",
                            )],
                        )
                    })?;
                    if !self.service_cidr.contains(parsed) {
                        return Err(ApiError::invalid(
                            "",
                            "Service",
                            meta_str(svc, "name").unwrap_or(""),
                            &[ordo_api::status::Cause::invalid(
                                "spec.clusterIPs",
                                format!("[]string{{\"{ip}\"}}"),
                                "failed to allocate IP: the provided IP is not in the valid range",
                            )],
                        ));
                    }
                    if !alloc::claim_ip(self.store.as_ref(), parsed, &owner).await? {
                        return Err(ApiError::invalid(
                            "",
                            "Service",
                            meta_str(svc, "name").unwrap_or(""),
                            &[ordo_api::status::Cause::invalid(
                                "spec.clusterIPs",
                                format!("[]string{{\"{ip}\"}}"),
                                "failed to allocate IP: provided IP is already allocated",
                            )],
                        ));
                    }
                    ip.to_string()
                }
            };
            svc["spec"]["clusterIP"] = json!(ip);
            svc["spec"]["clusterIPs"] = json!([ip]);
        }
        if ty == "NodePort" || ty == "LoadBalancer" {
            let old_ports: Vec<Value> = old
                .and_then(|o| o.pointer("/spec/ports"))
                .and_then(|p| p.as_array())
                .cloned()
                .unwrap_or_default();
            if let Some(ports) = svc
                .pointer_mut("/spec/ports")
                .and_then(|p| p.as_array_mut())
            {
                for p in ports.iter_mut() {
                    let has = p
                        .get("nodePort")
                        .and_then(|n| n.as_u64())
                        .filter(|n| *n > 0);
                    let port_no = p.get("port").cloned();
                    let previous = old_ports
                        .iter()
                        .find(|o| o.get("port") == port_no.as_ref())
                        .and_then(|o| o.get("nodePort"))
                        .and_then(|n| n.as_u64());
                    match (has, previous) {
                        (Some(n), Some(prev)) if n == prev => {}
                        (Some(n), _) => {
                            if !alloc::claim_port(self.store.as_ref(), n as u32, &owner).await? {
                                return Err(ApiError::invalid(
                                    "",
                                    "Service",
                                    meta_str(svc, "name").unwrap_or(""),
                                    &[ordo_api::status::Cause::invalid(
                                        "spec.ports[0].nodePort",
                                        n,
                                        "provided port is already allocated",
                                    )],
                                ));
                            }
                        }
                        (None, Some(prev)) => p["nodePort"] = json!(prev),
                        (None, None) => {
                            p["nodePort"] =
                                json!(alloc::allocate_port(self.store.as_ref(), &owner).await?)
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Releases what `old` held that `new` (None: deleted) no longer holds.
    async fn release_service(&self, old: &Value, new: Option<&Value>) {
        let ports = |v: Option<&Value>| -> Vec<u64> {
            v.and_then(|v| v.pointer("/spec/ports"))
                .and_then(|p| p.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.get("nodePort").and_then(|n| n.as_u64()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let keep = ports(new);
        for p in ports(Some(old)) {
            if !keep.contains(&p) {
                alloc::release_port(self.store.as_ref(), p).await;
            }
        }
        if new.is_none() {
            if let Some(ip) = old
                .pointer("/spec/clusterIP")
                .and_then(|c| c.as_str())
                .filter(|c| !c.is_empty() && *c != "None")
            {
                alloc::release_ip(self.store.as_ref(), ip).await;
            }
        }
    }

    /// Storage classes in the store.
    async fn storage_classes(&self) -> Result<Vec<Value>, ApiError> {
        let info = resources::find("storage.k8s.io", "v1", "storageclasses")
            .expect("storageclasses are served");
        let page = self
            .store
            .list(&info.ns_prefix(None), None, 0)
            .await
            .map_err(|e| store_error(info, "", e))?;
        page.items.iter().map(object_from_kv).collect()
    }

    /// Admission `DefaultStorageClass`: a claim without a class gets the default one (the
    /// newest if several are marked default).
    async fn admit_default_storage_class(&self, pvc: &mut Value) -> Result<(), ApiError> {
        if pvc.pointer("/spec/storageClassName").is_some()
            || pvc
                .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
                .is_some()
        {
            return Ok(());
        }
        let is_default = |sc: &&Value| {
            let a = |k: &str| {
                sc.pointer(&format!("/metadata/annotations/{}", k.replace('/', "~1")))
                    .and_then(Value::as_str)
                    == Some("true")
            };
            a("storageclass.kubernetes.io/is-default-class")
                || a("storageclass.beta.kubernetes.io/is-default-class")
        };
        let classes = self.storage_classes().await?;
        let newest = classes.iter().filter(is_default).max_by_key(|sc| {
            (
                meta_str(sc, "creationTimestamp").unwrap_or("").to_string(),
                meta_str(sc, "name").unwrap_or("").to_string(),
            )
        });
        if let Some(name) = newest.and_then(|sc| meta_str(sc, "name")) {
            pvc["spec"]["storageClassName"] = json!(name);
        }
        Ok(())
    }

    /// Admission `PersistentVolumeClaimResize`: a claim may grow only if its class allows
    /// volume expansion.
    async fn admit_claim_resize(&self, new: &Value, old: &Value) -> Result<(), ApiError> {
        let size = |v: &Value| {
            v.pointer("/spec/resources/requests/storage")
                .and_then(Value::as_str)
                .and_then(quantity_value)
        };
        let (Some(n), Some(o)) = (size(new), size(old)) else {
            return Ok(());
        };
        if n <= o {
            return Ok(());
        }
        let name = meta_str(new, "name").unwrap_or("");
        if old.pointer("/status/phase").and_then(Value::as_str) != Some("Bound") {
            return Err(ApiError::forbidden(format!("persistentvolumeclaims \"{name}\" is forbidden: Only bound persistent volume claims can be expanded")));
        }
        let class = |v: &Value| {
            v.pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
                .or_else(|| v.pointer("/spec/storageClassName"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (nc, oc) = (class(new), class(old));
        let allowed = !nc.is_empty()
            && !oc.is_empty()
            && nc == oc
            && self.storage_classes().await?.iter().any(|sc| {
                meta_str(sc, "name") == Some(nc.as_str())
                    && sc.get("allowVolumeExpansion") == Some(&json!(true))
            });
        if allowed {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "persistentvolumeclaims \"{name}\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
        )))
    }

    /// Cleanup after an object is gone from the store.
    pub(crate) async fn on_deleted(&self, info: &ResourceInfo, obj: &Value) {
        if info.kind == "Service" && info.group.is_empty() {
            self.release_service(obj, None).await;
        }
    }

    /// The hash in `/openapi/v3` URLs: changes with the binary.
    pub(crate) fn openapi_hash(&self, gv: &str) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (
            gv,
            env!("CARGO_PKG_VERSION"),
            ordo_api::resources::RESOURCES.len(),
        )
            .hash(&mut h);
        format!("{:016X}", h.finish())
    }

    /// The OpenAPI v3 document of a group-version, built once.
    pub(crate) fn openapi_document(&self, gv: &str) -> Option<std::sync::Arc<Vec<u8>>> {
        let mut cache = self.openapi_cache.lock().ok()?;
        if let Some(d) = cache.get(gv) {
            return Some(d.clone());
        }
        let doc = ordo_api::openapi::document(gv)?;
        let bytes = std::sync::Arc::new(serde_json::to_vec(&doc).ok()?);
        cache.insert(gv.to_string(), bytes.clone());
        Some(bytes)
    }
}

/// Fields the server sets on create beyond defaulting (upstream `PrepareForCreate`).
fn prepare_create(info: &ResourceInfo, obj: &mut Value) {
    match (info.group, info.kind) {
        ("apps", _) if info.status => {
            obj["status"] = json!({});
            if info.kind != "Deployment" {
                obj["status"]["replicas"] = json!(0);
            }
        }
        ("", "Pod") => {
            let qos = qos_class(obj);
            obj["status"] = json!({"phase": "Pending", "qosClass": qos});
            if obj.pointer("/spec/serviceAccountName").is_none() {
                obj["spec"]["serviceAccountName"] = json!("default");
                obj["spec"]["serviceAccount"] = json!("default");
            }
        }
        ("", "PersistentVolumeClaim") => {
            obj["status"] = json!({"phase": "Pending"});
            add_finalizer(obj, "kubernetes.io/pvc-protection");
        }
        ("", "PersistentVolume") => {
            obj["status"] = json!({"phase": "Pending"});
            add_finalizer(obj, "kubernetes.io/pv-protection");
        }
        ("", "Namespace") => obj["status"] = json!({"phase": "Active"}),
        ("", "Service") => obj["status"] = json!({"loadBalancer": {}}),
        _ => {}
    }
}

fn quantity_value(q: &str) -> Option<f64> {
    ordo_api::quantity::value(q)
}

/// Admission `StorageObjectInUseProtection`: the protection finalizer of claims and volumes.
fn add_finalizer(obj: &mut Value, finalizer: &str) {
    let m = meta_mut(obj);
    let list = m.entry("finalizers").or_insert_with(|| json!([]));
    if let Some(a) = list
        .as_array_mut()
        .filter(|a| !a.contains(&json!(finalizer)))
    {
        a.push(json!(finalizer));
    }
}

/// Upstream's Service `PrepareForUpdate`: a PUT that omits the ClusterIP keeps it, and fields
/// of the old type (node ports, traffic policies) go when the type no longer has them.
fn prepare_service_update(new: &mut Value, old: &Value) {
    let spec = |v: &Value, f: &str| v.pointer(&format!("/spec/{f}")).cloned();
    if spec(new, "clusterIP")
        .and_then(|c| c.as_str().map(str::is_empty))
        .unwrap_or(true)
    {
        if let Some(ip) = spec(old, "clusterIP") {
            new["spec"]["clusterIP"] = ip;
        }
        if let Some(ips) = spec(old, "clusterIPs") {
            new["spec"]["clusterIPs"] = ips;
        }
    }
    let ty = spec(new, "type")
        .and_then(|t| t.as_str().map(str::to_string))
        .unwrap_or_else(|| "ClusterIP".into());
    if ty == "ClusterIP" || ty == "ExternalName" {
        if let Some(ports) = new
            .pointer_mut("/spec/ports")
            .and_then(|p| p.as_array_mut())
        {
            for p in ports {
                if let Some(o) = p.as_object_mut() {
                    o.remove("nodePort");
                }
            }
        }
        if let Some(s) = new.get_mut("spec").and_then(|s| s.as_object_mut()) {
            s.remove("externalTrafficPolicy");
            s.remove("healthCheckNodePort");
        }
    }
}

/// The pod's QoS class from its containers' requests and limits.
fn qos_class(pod: &Value) -> &'static str {
    let containers = pod
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let mut any = false;
    let mut guaranteed = !containers.is_empty();
    for c in &containers {
        let req = c.pointer("/resources/requests").and_then(|r| r.as_object());
        let lim = c.pointer("/resources/limits").and_then(|r| r.as_object());
        if req.is_some_and(|r| !r.is_empty()) || lim.is_some_and(|l| !l.is_empty()) {
            any = true;
        }
        for res in ["cpu", "memory"] {
            let l = lim.and_then(|l| l.get(res));
            let r = req.and_then(|r| r.get(res)).or(l);
            if l.is_none() || r != l {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// The autoscaling/v1 Scale of a workload.
pub(crate) fn scale_of(_info: &ResourceInfo, obj: &Value) -> Result<Value, ApiError> {
    let sel = obj.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    let selector = LabelSelector::from_label_selector(&sel)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let m = obj.get("metadata").cloned().unwrap_or(json!({}));
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"), "namespace": m.get("namespace"), "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"), "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector},
    }))
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
