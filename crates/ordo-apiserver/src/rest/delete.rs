//! DELETE of one object and of a collection: preconditions, graceful pod deletion,
//! finalizers and the propagation policy the garbage collector acts on.

use super::{store_error, to_bytes};
use crate::meta::{meta_mut, meta_str, now_rfc3339, rfc3339_in, Query};
use crate::router::Target;
use crate::ApiServer;
use axum::http::StatusCode;
use ordo_api::resources;
use ordo_api::selector::{FieldSelector, LabelSelector};
use ordo_api::status::ApiError;
use ordo_store::StoreError;
use serde_json::{json, Value};

/// DeleteOptions from the body and the query.
struct DeleteOptions {
    grace: Option<i64>,
    propagation: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    dry_run: bool,
}

fn options(q: &Query, body: Value) -> Result<DeleteOptions, ApiError> {
    let body = if body.is_null() {
        json!({})
    } else {
        resources::decode_delete_options(body).map_err(ApiError::bad_request)?
    };
    let grace = q
        .get("gracePeriodSeconds")
        .and_then(|g| g.parse().ok())
        .or_else(|| body.get("gracePeriodSeconds").and_then(|g| g.as_i64()));
    let mut propagation = q.get("propagationPolicy").map(str::to_string).or_else(|| {
        body.get("propagationPolicy")
            .and_then(|p| p.as_str())
            .map(str::to_string)
    });
    let orphan = q
        .get("orphanDependents")
        .map(|o| o == "true")
        .or_else(|| body.get("orphanDependents").and_then(|o| o.as_bool()));
    if propagation.is_none() {
        if let Some(o) = orphan {
            propagation = Some(if o { "Orphan" } else { "Background" }.to_string());
        }
    }
    if let Some(p) = &propagation {
        if !matches!(p.as_str(), "Orphan" | "Background" | "Foreground") {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                &[ordo_api::status::Cause::not_supported(
                    "propagationPolicy",
                    p,
                    &["Foreground", "Background", "Orphan"],
                )],
            ));
        }
    }
    let dry = q.get("dryRun") == Some("All")
        || body
            .get("dryRun")
            .and_then(|d| d.as_array())
            .is_some_and(|a| a.iter().any(|x| x == "All"));
    Ok(DeleteOptions {
        grace,
        propagation,
        uid: body
            .pointer("/preconditions/uid")
            .and_then(|u| u.as_str())
            .map(str::to_string),
        resource_version: body
            .pointer("/preconditions/resourceVersion")
            .and_then(|u| u.as_str())
            .map(str::to_string),
        dry_run: dry,
    })
}

impl ApiServer {
    /// `DELETE` of one object.
    pub(crate) async fn delete(
        &self,
        t: &Target,
        q: &Query,
        body: Value,
    ) -> Result<(StatusCode, Value), ApiError> {
        let opts = options(q, body)?;
        let name = t.name.clone().unwrap_or_default();
        self.delete_one(t, &name, &opts).await
    }

    async fn delete_one(
        &self,
        t: &Target,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<(StatusCode, Value), ApiError> {
        let info = t.info;
        let key = info.key(t.ns(), name);
        for _ in 0..8 {
            let (old, rev) = self.read(info, t.ns(), name).await?;
            crate::auth::admit_write(
                self,
                info,
                None,
                t.ns().unwrap_or(""),
                name,
                None,
                Some(&old),
            )?;
            if let Some(uid) = &opts.uid {
                let cur = meta_str(&old, "uid").unwrap_or("");
                if uid != cur {
                    return Err(ApiError::conflict(info.group, info.plural, name, &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {cur}")));
                }
            }
            if let Some(rv) = &opts.resource_version {
                if *rv != rev.to_string() {
                    return Err(ApiError::conflict(info.group, info.plural, name, &format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {rev}")));
                }
            }
            let mut new = old.clone();
            let mut keep = false;
            // Finalizers asked for by the propagation policy.
            let mut finalizers: Vec<Value> = old
                .pointer("/metadata/finalizers")
                .and_then(|f| f.as_array())
                .cloned()
                .unwrap_or_default();
            match opts.propagation.as_deref() {
                Some("Orphan") if !finalizers.contains(&json!("orphan")) => {
                    finalizers.push(json!("orphan"))
                }
                Some("Foreground") if !finalizers.contains(&json!("foregroundDeletion")) => {
                    finalizers.push(json!("foregroundDeletion"))
                }
                _ => {}
            }
            if crate::crd::is_crd(info) {
                // Upstream's CRD storage: a deleted CRD waits for its objects to go.
                let f = json!(ordo_api::crd::CLEANUP_FINALIZER);
                if !finalizers.contains(&f) && old.pointer("/metadata/deletionTimestamp").is_none()
                {
                    finalizers.push(f);
                }
                if new.pointer("/metadata/deletionTimestamp").is_none() {
                    let mut conditions = new["status"]["conditions"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    conditions.retain(|c| c["type"] != "Terminating");
                    conditions.push(json!({"type": "Terminating", "status": "True",
                        "reason": "InstanceDeletionPending",
                        "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
                        "lastTransitionTime": now_rfc3339()}));
                    new["status"]["conditions"] = json!(conditions);
                }
            }
            if !finalizers.is_empty() {
                meta_mut(&mut new).insert("finalizers".into(), json!(finalizers));
                keep = true;
            }
            if info.kind == "Namespace" && info.group.is_empty() {
                new["status"]["phase"] = json!("Terminating");
                keep = true;
            }
            if info.kind == "Pod" && info.group.is_empty() {
                let scheduled = old
                    .pointer("/spec/nodeName")
                    .and_then(|n| n.as_str())
                    .is_some_and(|n| !n.is_empty());
                let terminal = matches!(
                    old.pointer("/status/phase").and_then(|p| p.as_str()),
                    Some("Succeeded") | Some("Failed")
                );
                let default_grace = old
                    .pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(|g| g.as_i64())
                    .unwrap_or(30);
                let grace = if !scheduled || terminal {
                    0
                } else {
                    opts.grace.unwrap_or(default_grace).max(0)
                };
                let current = old
                    .pointer("/metadata/deletionGracePeriodSeconds")
                    .and_then(|g| g.as_i64());
                if grace > 0 || current.is_some_and(|c| c > 0 && grace > 0) {
                    let g = current.map(|c| c.min(grace)).unwrap_or(grace);
                    meta_mut(&mut new).insert("deletionGracePeriodSeconds".into(), json!(g));
                    if current != Some(g) {
                        meta_mut(&mut new).insert("deletionTimestamp".into(), json!(rfc3339_in(g)));
                    }
                    keep = true;
                } else if current.is_some() {
                    meta_mut(&mut new).insert("deletionGracePeriodSeconds".into(), json!(0));
                }
            }
            if keep {
                if new.pointer("/metadata/deletionTimestamp").is_none() {
                    meta_mut(&mut new).insert("deletionTimestamp".into(), json!(now_rfc3339()));
                    let g = new
                        .pointer("/metadata/deletionGracePeriodSeconds")
                        .and_then(|g| g.as_i64())
                        .unwrap_or(0);
                    meta_mut(&mut new).insert("deletionGracePeriodSeconds".into(), json!(g));
                }
                if new == old {
                    return Ok((StatusCode::OK, old));
                }
                if opts.dry_run {
                    return Ok((StatusCode::OK, new));
                }
                match self.store.update(&key, to_bytes(&new)?, rev).await {
                    Ok(kv) => {
                        meta_mut(&mut new)
                            .insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
                        return Ok((StatusCode::OK, new));
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => return Err(store_error(info, name, e)),
                }
            }
            if opts.dry_run {
                return Ok((StatusCode::OK, old));
            }
            match self.store.delete(&key, Some(rev)).await {
                Ok(_) => {
                    self.on_deleted(info, &old).await;
                    return Ok((StatusCode::OK, old));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(info, name, e)),
            }
        }
        Err(ApiError::modified(info.group, info.plural, name))
    }

    /// `DELETE` of a collection (with label and field selectors).
    pub(crate) async fn delete_collection(
        &self,
        t: &Target,
        q: &Query,
        body: Value,
    ) -> Result<Value, ApiError> {
        let opts = options(q, body)?;
        let label = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))
            .map_err(ApiError::bad_request)?;
        let field = FieldSelector::parse(q.get("fieldSelector").unwrap_or(""))
            .map_err(ApiError::bad_request)?;
        let page = self
            .store
            .list(&t.info.ns_prefix(t.ns()), None, 0)
            .await
            .map_err(|e| store_error(t.info, "", e))?;
        let mut deleted = Vec::new();
        for kv in page.items {
            let obj = super::object_from_kv(&kv)?;
            if !super::matches(&obj, &label, &field) {
                continue;
            }
            let name = meta_str(&obj, "name").unwrap_or("").to_string();
            let target = Target {
                ns: meta_str(&obj, "namespace").map(str::to_string),
                ..t.clone()
            };
            match self.delete_one(&target, &name, &opts).await {
                Ok((_, v)) => deleted.push(crate::table::with_type(t.info, &v)),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(
            json!({"kind": crate::table::list_kind(t.info), "apiVersion": t.info.api_version(), "metadata": {"resourceVersion": page.revision.to_string()}, "items": deleted}),
        )
    }
}
