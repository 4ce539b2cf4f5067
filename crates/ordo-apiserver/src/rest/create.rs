//! `POST` to a collection: namespace and name (`generateName`), the metadata the server
//! owns, defaulting, admission, validation, then the store.

use super::{store_error, to_bytes};
use crate::meta::{meta_mut, meta_str, now_rfc3339, random_suffix, Query};
use crate::router::Target;
use crate::{admission, ApiServer};
use axum::http::StatusCode;
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::status::ApiError;
use ordo_api::{defaults, validation};
use serde_json::{json, Value};

impl ApiServer {
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
        let custom = ordo_api::crd::by_info(info);
        if let Some(cr) = &custom {
            self.check_crd_not_terminating(cr).await?;
        }
        let causes = if let Some(cr) = &custom {
            crate::crd::prepare_custom_create(cr, &mut obj)
        } else if crate::crd::is_crd(info) {
            crate::crd::prepare_crd_create(&mut obj)
        } else {
            self.prepare_builtin_create(info, ns.as_deref(), &name, &mut obj)
                .await?
        };
        if !causes.is_empty() {
            return Err(ApiError::invalid(info.group, info.kind, &name, &causes));
        }
        if info.kind == "CertificateSigningRequest" && custom.is_none() {
            crate::certificates::admit_create(&obj, &name)?;
        }
        crate::auth::admit_write(
            self,
            info,
            None,
            ns.as_deref().unwrap_or(""),
            &name,
            Some(&obj),
            None,
        )?;
        // Held until the object is written: see `admission/resource_quota.rs`.
        let mut _quota_guard = None;
        if let Some(ns) = &ns {
            self.admit_limit_range_checks(info, ns, &name, &obj).await?;
            _quota_guard = self
                .admit_resource_quota(info, ns, &name, &obj, None)
                .await?;
        }
        if info.kind == "Service" {
            self.allocate_service(&mut obj, None).await?;
        }
        if q.get("dryRun") == Some("All") {
            return Ok((StatusCode::CREATED, obj));
        }
        let key = info.key(ns.as_deref(), &name);
        match self.store.create(&key, to_bytes(&obj)?).await {
            Ok(kv) => {
                meta_mut(&mut obj)
                    .insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
                if info.kind == "Namespace" && info.group.is_empty() {
                    self.ensure_default_service_account(&name).await?;
                }
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

    /// Defaulting, the built-in admission steps before validation, and validation of a new
    /// object of a built-in kind.
    async fn prepare_builtin_create(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        obj: &mut Value,
    ) -> Result<Vec<ordo_api::status::Cause>, ApiError> {
        let name = name.to_string();
        defaults::apply_defaults(info.kind, obj);
        admission::prepare_create(info, obj);
        if info.kind == "PersistentVolumeClaim" && info.group.is_empty() {
            self.admit_default_storage_class(obj).await?;
        }
        if let (Some(ns), "Pod", "") = (ns, info.kind, info.group) {
            self.admit_limit_range_defaults(info, ns, obj).await?;
            self.admit_service_account(ns, obj).await?;
            self.admit_service_account_token(ns, obj).await?;
            self.admit_pod_priority(&name, obj).await?;
        }
        if info.kind == "PriorityClass" {
            self.admit_priority_class(obj).await?;
        }
        if info.kind == "CertificateSigningRequest" {
            crate::certificates::prepare_create(obj);
        }
        if let (Some(ns), "Secret", "") = (ns, info.kind, info.group) {
            self.fill_legacy_token_secret(ns, obj).await?;
        }
        Ok(validation::validate_create(info.kind, obj))
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
}
