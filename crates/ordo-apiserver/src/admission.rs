//! What the server does to an object between decoding and storing it, besides defaulting and
//! validation: upstream's strategies (`PrepareForCreate`, the Service's `PrepareForUpdate`)
//! and admission plugins (Service ClusterIP and NodePort allocation, `DefaultStorageClass`,
//! `PersistentVolumeClaimResize`, `StorageObjectInUseProtection`, the image pull secrets of
//! `ServiceAccount`, `LimitRanger` in `admission/limit_ranger.rs` and `ResourceQuota` in
//! `admission/resource_quota.rs`), and what is released when an object goes.

mod default_tolerations;
mod limit_ranger;
mod resource_quota;
mod service_account;

use crate::meta::{meta_mut, meta_str};
use crate::rest::{object_from_kv, store_error};
use crate::{alloc, ApiServer};
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::status::ApiError;
use serde_json::{json, Value};

impl ApiServer {
    /// Allocates the ClusterIP (on create) and missing NodePorts of a Service.
    pub(crate) async fn allocate_service(
        &self,
        svc: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
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
                        invalid_service(
                            &owner,
                            "spec.clusterIPs[0]",
                            format!("\"{ip}\""),
                            "must be a valid IP address",
                        )
                    })?;
                    let name = meta_str(svc, "name").unwrap_or("");
                    let ips = format!("[]string{{\"{ip}\"}}");
                    if !self.service_cidr.contains(parsed) {
                        return Err(invalid_service(
                            name,
                            "spec.clusterIPs",
                            ips,
                            "failed to allocate IP: the provided IP is not in the valid range",
                        ));
                    }
                    if !alloc::claim_ip(self.store.as_ref(), parsed, &owner).await? {
                        return Err(invalid_service(
                            name,
                            "spec.clusterIPs",
                            ips,
                            "failed to allocate IP: provided IP is already allocated",
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
                                return Err(invalid_service(
                                    meta_str(svc, "name").unwrap_or(""),
                                    "spec.ports[0].nodePort",
                                    n,
                                    "provided port is already allocated",
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
    pub(crate) async fn release_service(&self, old: &Value, new: Option<&Value>) {
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
    pub(crate) async fn admit_default_storage_class(
        &self,
        pvc: &mut Value,
    ) -> Result<(), ApiError> {
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
    pub(crate) async fn admit_claim_resize(
        &self,
        new: &Value,
        old: &Value,
    ) -> Result<(), ApiError> {
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
}

/// 422 Invalid for Service `name` whose `field` holds the refused `value`.
fn invalid_service(
    name: &str,
    field: &str,
    value: impl std::fmt::Display,
    detail: &str,
) -> ApiError {
    ApiError::invalid(
        "",
        "Service",
        name,
        &[ordo_api::status::Cause::invalid(field, value, detail)],
    )
}

/// Fields the server sets on create beyond defaulting (upstream `PrepareForCreate`).
pub(crate) fn prepare_create(info: &ResourceInfo, obj: &mut Value) {
    match (info.group, info.kind) {
        ("apps", "DaemonSet") => {
            obj["status"] = json!({"currentNumberScheduled": 0, "numberMisscheduled": 0,
                "desiredNumberScheduled": 0, "numberReady": 0});
            set_template_generation(obj, 1);
        }
        ("apps", _) if info.status => {
            obj["status"] = json!({});
            if info.kind != "Deployment" {
                obj["status"]["replicas"] = json!(0);
            }
        }
        ("", "Pod") => {
            default_tolerations::add_default_tolerations(obj);
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
        ("autoscaling", "HorizontalPodAutoscaler") => {
            obj["status"] = json!({"desiredReplicas": 0});
        }
        ("batch", "CronJob") => obj["status"] = json!({}),
        ("batch", "Job") => {
            obj["status"] = json!({});
            ordo_api::defaults::generate_job_selector(obj);
        }
        ("", "Namespace") => obj["status"] = json!({"phase": "Active"}),
        ("", "Service") => obj["status"] = json!({"loadBalancer": {}}),
        ("", "ReplicationController") => obj["status"] = json!({"replicas": 0}),
        ("", "ResourceQuota") => {
            obj.as_object_mut().map(|o| o.remove("status"));
        }
        _ => {}
    }
}

/// The annotation apps/v1 carries a DaemonSet's `spec.templateGeneration` in (upstream's
/// conversion); pods get it as their `pod-template-generation` label.
pub(crate) const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

fn set_template_generation(obj: &mut Value, generation: i64) {
    let m = meta_mut(obj);
    let annotations = m.entry("annotations").or_insert_with(|| json!({}));
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations[TEMPLATE_GENERATION] = json!(generation.to_string());
}

/// A DaemonSet's `PrepareForUpdate`: the template generation is the stored one, plus one when
/// the pod template changed.
pub(crate) fn prepare_daemonset_update(new: &mut Value, old: &Value) {
    let stored = old
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(TEMPLATE_GENERATION))
        .and_then(Value::as_str)
        .and_then(|g| g.parse::<i64>().ok())
        .unwrap_or(1);
    let changed = new.pointer("/spec/template") != old.pointer("/spec/template");
    set_template_generation(new, stored + i64::from(changed));
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
pub(crate) fn prepare_service_update(new: &mut Value, old: &Value) {
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
pub(crate) fn qos_class(pod: &Value) -> &'static str {
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
