//! Namespace, Node, ConfigMap, Secret, ServiceAccount, Event and Lease validation.

use super::meta;
use super::names::{self, NameRule};
use super::util::*;
use crate::status::Cause;
use serde_json::Value;

const MAX_SECRET_SIZE: usize = 1024 * 1024;
const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";

/// `ValidateNamespace`: DNS-1123 label name, valid spec finalizers.
pub(crate) fn validate_namespace(ns: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(ns, Some(false), NameRule::Label);
    for f in arr(ns.get("spec").unwrap_or(&Value::Null), "finalizers") {
        let f = f.as_str().unwrap_or("");
        for m in names::qualified_name(f) {
            errs.push(invalid_str("spec.finalizers", f, &m));
        }
        if !f.contains('/') && !["kubernetes", "orphan", "foregroundDeletion"].contains(&f) {
            errs.push(invalid_str(
                "spec.finalizers",
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errs
}

fn validate_taints(node: &Value) -> Errs {
    let mut errs = Errs::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, t) in arr(node.get("spec").unwrap_or(&Value::Null), "taints")
        .iter()
        .enumerate()
    {
        // Upstream builds this path from `metadata`.
        let p = index("metadata.taints", i);
        let (k, v, eff) = (se(t, "key"), se(t, "value"), se(t, "effect"));
        errs.extend(meta::validate_label_name(k, &child(&p, "key")));
        let msgs = names::label_value(v);
        if !msgs.is_empty() {
            errs.push(invalid_str(child(&p, "value"), v, &msgs.join(";")));
        }
        match eff {
            "" => errs.push(Cause::required(child(&p, "effect"), "")),
            "NoSchedule" | "PreferNoSchedule" | "NoExecute" => {}
            other => errs.push(Cause::not_supported(
                child(&p, "effect"),
                other,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            )),
        }
        if seen.contains(&(k.to_string(), eff.to_string())) {
            let dup = format!(
                "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:(*v1.Time)(nil)}}",
                q(k),
                q(v),
                q(eff)
            );
            let mut c = Cause::duplicate(&p, dup);
            c.message
                .push_str(": taints must be unique by key and effect pair");
            errs.push(c);
            continue;
        }
        seen.push((k.to_string(), eff.to_string()));
    }
    errs
}

fn valid_cidr(c: &str) -> bool {
    c.split_once('/').is_some_and(|(ip, bits)| {
        let max = if ip.contains(':') { 128 } else { 32 };
        names::is_ip(ip) && bits.parse::<u8>().is_ok_and(|b| b <= max)
    })
}

/// `ValidateNode`.
pub(crate) fn validate_node(node: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(node, Some(false), NameRule::Subdomain);
    errs.extend(validate_taints(node));
    let spec = node.get("spec").unwrap_or(&Value::Null);
    for (i, c) in arr(spec, "podCIDRs").iter().enumerate() {
        let c = c.as_str().unwrap_or("");
        if !valid_cidr(c) {
            errs.push(invalid_str(
                index("spec.podCIDRs", i),
                c,
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ));
        }
    }
    errs
}

/// `ValidateNodeUpdate`: `podCIDRs` and `providerID` are immutable once set.
pub(crate) fn validate_node_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_taints(new));
    let null = Value::Null;
    let (ns, os) = (
        new.get("spec").unwrap_or(&null),
        old.get("spec").unwrap_or(&null),
    );
    if !arr(os, "podCIDRs").is_empty() && arr(os, "podCIDRs") != arr(ns, "podCIDRs") {
        errs.push(Cause::forbidden(
            "spec.podCIDRs",
            "node updates may not change podCIDR except from \"\" to valid",
        ));
    }
    let old_pid = se(os, "providerID");
    if !old_pid.is_empty() && old_pid != se(ns, "providerID") {
        errs.push(Cause::forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    errs
}

fn validate_data_keys(data: Option<&Value>, path: &str, errs: &mut Errs) -> usize {
    let mut size = 0;
    for (k, v) in string_map(data) {
        for m in names::config_map_key(&k) {
            errs.push(invalid_str(key(path, &k), &k, &m));
        }
        size += v.len();
    }
    size
}

/// `ValidateConfigMap`.
pub(crate) fn validate_config_map(cm: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(cm, Some(true), NameRule::Subdomain);
    let mut size = 0;
    for (k, v) in string_map(cm.get("data")) {
        for m in names::config_map_key(&k) {
            errs.push(invalid_str(key("data", &k), &k, &m));
        }
        if obj(cm, "binaryData").is_some_and(|b| b.contains_key(&k)) {
            errs.push(invalid_str(
                key("data", &k),
                &k,
                "duplicate of key present in binaryData",
            ));
        }
        size += v.len();
    }
    size += validate_data_keys(cm.get("binaryData"), "binaryData", &mut errs) * 3 / 4;
    if size > MAX_SECRET_SIZE {
        errs.push(too_long("", MAX_SECRET_SIZE));
    }
    errs
}

fn immutable_data(new: &Value, old: &Value, keys: &[&str], errs: &mut Errs) {
    if !flag(old, "immutable") {
        return;
    }
    if !flag(new, "immutable") {
        errs.push(Cause::forbidden("immutable", IMMUTABLE_SET));
    }
    for k in keys {
        if !sem_eq(new.get(*k), old.get(*k)) {
            errs.push(Cause::forbidden(*k, IMMUTABLE_SET));
        }
    }
}

/// `ValidateConfigMapUpdate`.
pub(crate) fn validate_config_map_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    immutable_data(new, old, &["data", "binaryData"], &mut errs);
    errs.extend(validate_config_map(new));
    errs
}

/// `ValidateSecret` (`stringData` keys count as `data` keys, as after conversion).
pub(crate) fn validate_secret(secret: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(secret, Some(true), NameRule::Subdomain);
    let mut size = validate_data_keys(secret.get("data"), "data", &mut errs) * 3 / 4;
    size += validate_data_keys(secret.get("stringData"), "data", &mut errs);
    if size > MAX_SECRET_SIZE {
        errs.push(too_long("data", MAX_SECRET_SIZE));
    }
    let has = |k: &str| {
        obj(secret, "data").is_some_and(|d| d.contains_key(k))
            || obj(secret, "stringData").is_some_and(|d| d.contains_key(k))
    };
    let need = |errs: &mut Errs, k: &str| {
        if !has(k) {
            errs.push(Cause::required(key("data", k), ""));
        }
    };
    match se(secret, "type") {
        "kubernetes.io/service-account-token" => {
            let sa = secret
                .pointer("/metadata/annotations/kubernetes.io~1service-account.name")
                .and_then(Value::as_str);
            if sa.is_none_or(str::is_empty) {
                errs.push(Cause::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => need(&mut errs, ".dockercfg"),
        "kubernetes.io/dockerconfigjson" => need(&mut errs, ".dockerconfigjson"),
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errs.push(Cause::required("data[username]", ""));
            errs.push(Cause::required("data[password]", ""));
        }
        "kubernetes.io/ssh-auth" => need(&mut errs, "ssh-privatekey"),
        "kubernetes.io/tls" => {
            need(&mut errs, "tls.crt");
            need(&mut errs, "tls.key");
        }
        _ => {}
    }
    errs
}

/// `ValidateSecretUpdate`: the type is immutable, and so is the data of immutable secrets.
pub(crate) fn validate_secret_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    immutable_str(&mut errs, "type", se(new, "type"), se(old, "type"));
    immutable_data(new, old, &["data"], &mut errs);
    errs.extend(validate_secret(new));
    errs
}

/// `ValidateEvent` (core/v1 rules).
pub(crate) fn validate_event(ev: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(ev, Some(true), NameRule::Subdomain);
    let ns = ev
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let involved_ns = ev
        .pointer("/involvedObject/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mismatch = || {
        invalid_str(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        )
    };
    if present(ev, "eventTime").is_none() {
        if involved_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                errs.push(mismatch());
            }
        } else if ns != involved_ns {
            errs.push(mismatch());
        }
    } else {
        if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(mismatch());
        }
        let rc = se(ev, "reportingComponent");
        if rc.is_empty() {
            errs.push(Cause::required("reportingComponent", ""));
        }
        for m in names::qualified_name(rc) {
            errs.push(invalid_str("reportingComponent", rc, &m));
        }
        for k in ["reportingInstance", "action", "reason"] {
            if se(ev, k).is_empty() {
                errs.push(Cause::required(k, ""));
            }
        }
    }
    errs
}

/// `ValidateLease`.
pub(crate) fn validate_lease(lease: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(lease, Some(true), NameRule::Subdomain);
    let spec = lease.get("spec").unwrap_or(&Value::Null);
    if let Some(d) = int(spec, "leaseDurationSeconds") {
        if d <= 0 {
            errs.push(Cause::invalid(
                "spec.leaseDurationSeconds",
                d,
                "must be greater than 0",
            ));
        }
    }
    if let Some(t) = int(spec, "leaseTransitions") {
        nonneg(&mut errs, "spec.leaseTransitions", t);
    }
    errs
}
