//! Service, Endpoints and EndpointSlice validation.

use super::container::{port_num_or_name, validate_protocol};
use super::meta;
use super::names::{self, NameRule};
use super::util::*;
use crate::status::Cause;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;

const NODE_PORT_RANGE: (i64, i64) = (30000, 32767);

fn is_headless(svc: &Value) -> bool {
    let ips = arr(svc, "clusterIPs");
    ips.len() == 1 && ips[0].as_str() == Some("None")
}

/// `ValidateNonSpecialIP`.
pub(crate) fn non_special_ip(ip: &str, path: &str) -> Errs {
    let parsed: Option<IpAddr> = if names::is_ip(ip) {
        ip.parse().ok().or_else(|| {
            let octets: Vec<u8> = ip.split('.').filter_map(|p| p.parse().ok()).collect();
            (octets.len() == 4).then(|| IpAddr::from([octets[0], octets[1], octets[2], octets[3]]))
        })
    } else {
        None
    };
    let Some(addr) = parsed else {
        return vec![invalid_str(path, ip, "must be a valid IP address")];
    };
    let mut errs = Errs::new();
    let (unspecified, loopback, ll_unicast, ll_multicast) = match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            (
                a.is_unspecified(),
                a.is_loopback(),
                o[0] == 169 && o[1] == 254,
                o[0] == 224 && o[1] == 0 && o[2] == 0,
            )
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            (
                a.is_unspecified(),
                a.is_loopback(),
                (s[0] & 0xffc0) == 0xfe80,
                (s[0] & 0xff0f) == 0xff02,
            )
        }
    };
    if unspecified {
        errs.push(invalid_str(
            path,
            ip,
            &format!("may not be unspecified ({ip})"),
        ));
    }
    if loopback {
        errs.push(invalid_str(
            path,
            ip,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    if ll_unicast {
        errs.push(invalid_str(
            path,
            ip,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    if ll_multicast {
        errs.push(invalid_str(
            path,
            ip,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
    errs
}

fn validate_service_port(
    p: &Value,
    require_name: bool,
    names_seen: &mut BTreeSet<String>,
    path: &str,
) -> Errs {
    let mut errs = Errs::new();
    let name = se(p, "name");
    if require_name && name.is_empty() {
        errs.push(Cause::required(child(path, "name"), ""));
    } else if !name.is_empty() {
        for m in names::dns1123_label(name) {
            errs.push(invalid_str(child(path, "name"), name, &m));
        }
        if !names_seen.insert(name.to_string()) {
            errs.push(Cause::duplicate(child(path, "name"), q(name)));
        }
    }
    let port = int(p, "port").unwrap_or(0);
    for m in names::port_num(port) {
        errs.push(Cause::invalid(child(path, "port"), port, &m));
    }
    errs.extend(validate_protocol(p, path));
    errs.extend(port_num_or_name(
        p.get("targetPort"),
        &child(path, "targetPort"),
    ));
    if let Some(ap) = s(p, "appProtocol") {
        for m in names::qualified_name(ap) {
            errs.push(invalid_str(child(path, "appProtocol"), ap, &m));
        }
    }
    errs
}

fn validate_cluster_ips(spec: &Value) -> Errs {
    let mut errs = Errs::new();
    if se(spec, "type") == "ExternalName" {
        return errs;
    }
    let ips: Vec<&str> = arr(spec, "clusterIPs")
        .iter()
        .map(|v| v.as_str().unwrap_or(""))
        .collect();
    let ips_fmt = go_strings(spec.get("clusterIPs"));
    let cip = se(spec, "clusterIP");
    if !cip.is_empty() {
        if ips.is_empty() {
            errs.push(Cause::required("spec.clusterIPs", ""));
        } else if ips[0] != cip {
            errs.push(Cause::invalid(
                "spec.clusterIPs",
                &ips_fmt,
                "first value must match `clusterIP`",
            ));
        }
    } else if !ips.is_empty() {
        errs.push(Cause::invalid(
            "spec.clusterIPs",
            &ips_fmt,
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, f) in arr(spec, "ipFamilies").iter().enumerate() {
        let f = f.as_str().unwrap_or("");
        let p = index("spec.ipFamilies", i);
        if !matches!(f, "IPv4" | "IPv6") {
            errs.push(Cause::not_supported(&p, f, &["IPv4", "IPv6"]));
        }
        if !seen.insert(f) {
            errs.push(Cause::duplicate(&p, q(f)));
        }
    }
    if let Some(pol) = s(spec, "ipFamilyPolicy") {
        if !matches!(pol, "SingleStack" | "PreferDualStack" | "RequireDualStack") {
            errs.push(Cause::not_supported(
                "spec.ipFamilyPolicy",
                pol,
                &["PreferDualStack", "RequireDualStack", "SingleStack"],
            ));
        }
    }
    let mut bad = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && *ip == "None" {
            if ips.len() > 1 {
                bad = true;
                errs.push(Cause::invalid(
                    "spec.clusterIPs",
                    &ips_fmt,
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        if !names::is_ip(ip) {
            bad = true;
            errs.push(invalid_str(
                index("spec.clusterIPs", i),
                ip,
                names::INVALID_IP,
            ));
        }
    }
    if ips.len() > 2 {
        errs.push(Cause::invalid(
            "spec.clusterIPs",
            &ips_fmt,
            "may only hold up to 2 values",
        ));
    }
    if bad {
        return errs;
    }
    if ips.len() > 1 && ips[0].contains(':') == ips[1].contains(':') {
        errs.push(Cause::invalid(
            "spec.clusterIPs",
            &ips_fmt,
            "may specify no more than one IP for each IP family",
        ));
    }
    if !is_headless(spec) {
        for (i, f) in arr(spec, "ipFamilies").iter().enumerate().take(ips.len()) {
            let v6 = ips[i].contains(':');
            match f.as_str() {
                Some("IPv4") if v6 => errs.push(invalid_str(
                    index("spec.clusterIPs", i),
                    ips[i],
                    &format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                )),
                Some("IPv6") if !v6 => errs.push(invalid_str(
                    index("spec.clusterIPs", i),
                    ips[i],
                    &format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                )),
                _ => {}
            }
        }
    }
    errs
}

/// `ValidateService` plus the node-port range check of the port allocator.
pub(crate) fn validate_service(svc: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(svc, Some(true), NameRule::Dns1035);
    let spec = svc.get("spec").unwrap_or(&Value::Null);
    let ty = se(spec, "type");
    let ports = arr(spec, "ports");
    let headless = is_headless(spec);
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.push(Cause::required("spec.ports", ""));
    }
    match ty {
        "LoadBalancer" | "NodePort" if headless => errs.push(invalid_str(
            "spec.clusterIPs[0]",
            "None",
            &format!("may not be set to 'None' for {ty} services"),
        )),
        "ExternalName" => {
            for k in ["clusterIPs", "ipFamilies"] {
                if !arr(spec, k).is_empty() {
                    errs.push(Cause::forbidden(
                        child("spec", k),
                        "may not be set for ExternalName services",
                    ));
                }
            }
            if present(spec, "ipFamilyPolicy").is_some() {
                errs.push(Cause::forbidden(
                    "spec.ipFamilyPolicy",
                    "may not be set for ExternalName services",
                ));
            }
            let cname = se(spec, "externalName").trim_end_matches('.');
            if cname.is_empty() {
                errs.push(Cause::required("spec.externalName", ""));
            } else {
                for m in names::dns1123_subdomain(cname) {
                    errs.push(invalid_str("spec.externalName", cname, &m));
                }
            }
        }
        _ => {}
    }
    let mut seen = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        errs.extend(validate_service_port(
            p,
            ports.len() > 1,
            &mut seen,
            &index("spec.ports", i),
        ));
    }
    if present(spec, "selector").is_some() {
        errs.extend(meta::validate_labels(spec.get("selector"), "spec.selector"));
    }
    match se(spec, "sessionAffinity") {
        "" => errs.push(Cause::required("spec.sessionAffinity", "")),
        "None" if present(spec, "sessionAffinityConfig").is_some() => errs.push(Cause::forbidden(
            "spec.sessionAffinityConfig",
            "must not be set when session affinity is None",
        )),
        "None" => {}
        "ClientIP" => {
            let t = spec
                .pointer("/sessionAffinityConfig/clientIP/timeoutSeconds")
                .and_then(as_int);
            match t {
                None => errs.push(Cause::required(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    "when session affinity type is ClientIP",
                )),
                Some(t) if t <= 0 || t > 86400 => errs.push(Cause::invalid(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    t,
                    "must be greater than 0 and less than 86400",
                )),
                _ => {}
            }
        }
        other => errs.push(Cause::not_supported(
            "spec.sessionAffinity",
            other,
            &["ClientIP", "None"],
        )),
    }
    errs.extend(validate_cluster_ips(spec));
    for (i, ip) in arr(spec, "externalIPs").iter().enumerate() {
        let (ip, p) = (ip.as_str().unwrap_or(""), index("spec.externalIPs", i));
        if !names::is_ip(ip) {
            errs.push(invalid_str(&p, ip, names::INVALID_IP));
        } else {
            errs.extend(non_special_ip(ip, &p));
        }
    }
    match ty {
        "" => errs.push(Cause::required("spec.type", "")),
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName" => {}
        other => errs.push(Cause::not_supported(
            "spec.type",
            other,
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        )),
    }
    let mut node_ports = BTreeSet::new();
    let mut port_keys = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = index("spec.ports", i);
        let np = int(p, "nodePort").unwrap_or(0);
        if np != 0 {
            if ty == "ClusterIP" {
                errs.push(Cause::forbidden(
                    child(&pp, "nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            } else if matches!(ty, "NodePort" | "LoadBalancer")
                && !(NODE_PORT_RANGE.0..=NODE_PORT_RANGE.1).contains(&np)
            {
                errs.push(Cause::invalid(
                    child(&pp, "nodePort"),
                    np,
                    "provided port is not in the valid range. The range of valid ports is 30000-32767",
                ));
            }
            if !node_ports.insert((se(p, "protocol").to_string(), np)) {
                errs.push(Cause::duplicate(child(&pp, "nodePort"), np));
            }
        }
        let (proto, port) = (se(p, "protocol"), int(p, "port").unwrap_or(0));
        if !port_keys.insert((proto.to_string(), port)) {
            let v = format!(
                "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                q(proto)
            );
            errs.push(Cause::duplicate(&pp, v));
        }
    }
    if !arr(spec, "loadBalancerSourceRanges").is_empty() && ty != "LoadBalancer" {
        errs.push(Cause::forbidden(
            "spec.LoadBalancerSourceRanges",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if present(spec, "allocateLoadBalancerNodePorts").is_some() && ty != "LoadBalancer" {
        errs.push(Cause::forbidden(
            "spec.allocateLoadBalancerNodePorts",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if ty == "LoadBalancer" && present(spec, "allocateLoadBalancerNodePorts").is_none() {
        errs.push(Cause::required("allocateLoadBalancerNodePorts", ""));
    }
    if ty != "LoadBalancer" && present(spec, "loadBalancerClass").is_some() {
        errs.push(Cause::forbidden(
            "spec.loadBalancerClass",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    let externally = matches!(ty, "LoadBalancer" | "NodePort")
        || (ty == "ClusterIP" && !arr(spec, "externalIPs").is_empty());
    let etp = se(spec, "externalTrafficPolicy");
    if !externally && !etp.is_empty() {
        errs.push(invalid_str(
            "spec.externalTrafficPolicy",
            etp,
            "may only be set for externally-accessible services",
        ));
    } else if externally {
        match etp {
            "" => errs.push(Cause::required("spec.externalTrafficPolicy", "")),
            "Cluster" | "Local" => {}
            other => errs.push(Cause::not_supported(
                "spec.externalTrafficPolicy",
                other,
                &["Cluster", "Local"],
            )),
        }
    }
    let hc = int(spec, "healthCheckNodePort").unwrap_or(0);
    if !(ty == "LoadBalancer" && etp == "Local") && hc != 0 {
        errs.push(Cause::invalid(
            "spec.healthCheckNodePort",
            hc,
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        ));
    }
    match s(spec, "internalTrafficPolicy") {
        None if matches!(ty, "ClusterIP" | "NodePort" | "LoadBalancer") => {
            errs.push(Cause::required("spec.internalTrafficPolicy", ""))
        }
        Some(p) if !matches!(p, "Cluster" | "Local") => errs.push(Cause::not_supported(
            "spec.internalTrafficPolicy",
            p,
            &["Cluster", "Local"],
        )),
        _ => {}
    }
    if let Some(td) = s(spec, "trafficDistribution") {
        if td != "PreferClose" {
            errs.push(Cause::not_supported(
                "spec.trafficDistribution",
                td,
                &["PreferClose"],
            ));
        }
    }
    errs
}

/// Upstream's `patchAllocatedValues` + `normalizeClusterIPs` on a copy of the new Service:
/// unspecified cluster IPs, node ports and health-check port keep their old values.
fn patch_allocated(new: &Value, old: &Value) -> Value {
    let mut n = new.clone();
    let (os, ty_old) = (
        old.get("spec").cloned().unwrap_or(Value::Null),
        old.pointer("/spec/type").and_then(Value::as_str),
    );
    let ty_new = n
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(ns) = n.get_mut("spec").and_then(Value::as_object_mut) else {
        return n;
    };
    if ty_old != Some("ExternalName") && ty_new.as_deref() != Some("ExternalName") {
        let empty = |v: Option<&Value>| {
            v.is_none_or(|v| {
                v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(|a| a.is_empty())
            })
        };
        if empty(ns.get("clusterIP")) {
            if let Some(v) = present(&os, "clusterIP") {
                ns.insert("clusterIP".into(), v.clone());
            }
        }
        if empty(ns.get("clusterIPs")) {
            if let Some(v) = present(&os, "clusterIPs") {
                if ns.get("clusterIP") == os.get("clusterIP") {
                    ns.insert("clusterIPs".into(), v.clone());
                }
            }
        }
        if ns.get("clusterIP") != os.get("clusterIP")
            && ns.get("clusterIPs") == os.get("clusterIPs")
        {
            if let Some(ip) = ns
                .get("clusterIP")
                .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
                .cloned()
            {
                ns.insert("clusterIPs".into(), Value::Array(vec![ip]));
            }
        }
    }
    let keeps_node_ports = matches!(
        ns.get("type").and_then(Value::as_str),
        Some("NodePort") | Some("LoadBalancer")
    );
    if let Some(ports) = ns
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .filter(|_| keeps_node_ports)
    {
        for p in ports.iter_mut() {
            if int(p, "nodePort").unwrap_or(0) == 0 {
                let prev = arr(&os, "ports")
                    .iter()
                    .find(|o| o.get("port") == p.get("port"))
                    .and_then(|o| present(o, "nodePort"));
                if let (Some(prev), Some(pm)) = (prev, p.as_object_mut()) {
                    pm.insert("nodePort".into(), prev.clone());
                }
            }
        }
    }
    if int(&Value::Object(ns.clone()), "healthCheckNodePort").unwrap_or(0) == 0 {
        if let Some(h) = present(&os, "healthCheckNodePort") {
            ns.insert("healthCheckNodePort".into(), h.clone());
        }
    }
    n
}

/// `ValidateServiceUpdate`: cluster IPs, IP families and the load-balancer class may not change.
pub(crate) fn validate_service_update(new: &Value, old: &Value) -> Errs {
    let new = &patch_allocated(new, old);
    let mut errs = meta::validate_object_meta_update(new, old);
    let null = Value::Null;
    let (ns, os) = (
        new.get("spec").unwrap_or(&null),
        old.get("spec").unwrap_or(&null),
    );
    let ext = se(ns, "type") == "ExternalName" || se(os, "type") == "ExternalName";
    let (nh, oh) = (is_headless(ns), is_headless(os));
    let (ni, oi): (Vec<&str>, Vec<&str>) = (
        arr(ns, "clusterIPs")
            .iter()
            .map(|v| v.as_str().unwrap_or(""))
            .collect(),
        arr(os, "clusterIPs")
            .iter()
            .map(|v| v.as_str().unwrap_or(""))
            .collect(),
    );
    let ips_fmt = go_strings(ns.get("clusterIPs"));
    if !(ext || nh && oh) {
        if ni.len() == oi.len() {
            for i in 0..oi.len() {
                if oi[i] != ni[i] {
                    errs.push(Cause::invalid(
                        index("spec.clusterIPs", i),
                        &ips_fmt,
                        "may not change once set",
                    ));
                }
            }
        } else if oi.len() > ni.len() {
            if ni.is_empty() {
                errs.push(Cause::invalid(
                    "spec.clusterIPs[0]",
                    &ips_fmt,
                    "primary clusterIP can not be unset",
                ));
            } else if ni[0] != oi[0] {
                errs.push(Cause::invalid(
                    "spec.clusterIPs[0]",
                    &ips_fmt,
                    "may not change once set",
                ));
            }
            if ni.len() == 1 && s(ns, "ipFamilyPolicy") != Some("SingleStack") {
                let v = s(ns, "ipFamilyPolicy").map(q).unwrap_or("null".into());
                errs.push(Cause::invalid(
                    "spec.ipFamilyPolicy",
                    v,
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                ));
            }
        } else if !oi.is_empty() && ni[0] != oi[0] {
            errs.push(Cause::invalid(
                "spec.clusterIPs[0]",
                &ips_fmt,
                "may not change once set",
            ));
        }
    }
    let (nf, of) = (arr(ns, "ipFamilies"), arr(os, "ipFamilies"));
    if !ext && nh == oh && !nh && !nf.is_empty() {
        let fam_fmt = go_strings(ns.get("ipFamilies"));
        if nf.len() == of.len() && nf != of {
            errs.push(Cause::invalid(
                "spec.ipFamilies[0]",
                fam_fmt,
                "may not change once set",
            ));
        } else if nf.len() != of.len() && !of.is_empty() && nf[0] != of[0] {
            errs.push(Cause::invalid(
                "spec.ipFamilies[0]",
                &ips_fmt,
                "may not change once set",
            ));
        }
    }
    if se(ns, "type") == "LoadBalancer"
        && se(os, "type") == "LoadBalancer"
        && ns.get("loadBalancerClass") != os.get("loadBalancerClass")
    {
        let v = s(ns, "loadBalancerClass").map(q).unwrap_or("null".into());
        errs.push(Cause::invalid(
            "spec.loadBalancerClass",
            v,
            "may not change once set",
        ));
    }
    let needs_hc =
        |sp: &Value| se(sp, "type") == "LoadBalancer" && se(sp, "externalTrafficPolicy") == "Local";
    if needs_hc(ns)
        && needs_hc(os)
        && int(ns, "healthCheckNodePort") != int(os, "healthCheckNodePort")
    {
        errs.push(Cause::forbidden(
            "spec.healthCheckNodePort",
            "field is immutable",
        ));
    }
    errs.extend(validate_service(new));
    errs
}

fn validate_endpoint_port(p: &Value, require_name: bool, path: &str) -> Errs {
    let mut errs = Errs::new();
    let name = se(p, "name");
    if require_name && name.is_empty() {
        errs.push(Cause::required(child(path, "name"), ""));
    } else if !name.is_empty() {
        for m in names::dns1123_label(name) {
            errs.push(invalid_str(child(path, "name"), name, &m));
        }
    }
    let port = int(p, "port").unwrap_or(0);
    for m in names::port_num(port) {
        errs.push(Cause::invalid(child(path, "port"), port, &m));
    }
    errs.extend(validate_protocol(p, path));
    if let Some(ap) = s(p, "appProtocol") {
        for m in names::qualified_name(ap) {
            errs.push(invalid_str(child(path, "appProtocol"), ap, &m));
        }
    }
    errs
}

/// `ValidateEndpoints`.
pub(crate) fn validate_endpoints(ep: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(ep, Some(true), NameRule::Subdomain);
    for (i, ss) in arr(ep, "subsets").iter().enumerate() {
        let p = index("subsets", i);
        if arr(ss, "addresses").is_empty() && arr(ss, "notReadyAddresses").is_empty() {
            errs.push(Cause::required(
                &p,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for k in ["addresses", "notReadyAddresses"] {
            for (j, a) in arr(ss, k).iter().enumerate() {
                let ap = index(&child(&p, k), j);
                let ip = se(a, "ip");
                if !names::is_ip(ip) {
                    errs.push(invalid_str(child(&ap, "ip"), ip, names::INVALID_IP));
                }
                let hn = se(a, "hostname");
                if !hn.is_empty() {
                    for m in names::dns1123_label(hn) {
                        errs.push(invalid_str(child(&ap, "hostname"), hn, &m));
                    }
                }
                if let Some(nn) = s(a, "nodeName") {
                    for m in names::dns1123_subdomain(nn) {
                        errs.push(invalid_str(child(&ap, "nodeName"), nn, &m));
                    }
                }
                errs.extend(non_special_ip(ip, &child(&ap, "ip")));
            }
        }
        let ports = arr(ss, "ports");
        for (j, pt) in ports.iter().enumerate() {
            errs.extend(validate_endpoint_port(
                pt,
                ports.len() > 1,
                &index(&child(&p, "ports"), j),
            ));
        }
    }
    errs
}

/// `ValidateEndpointSlice`.
pub(crate) fn validate_endpoint_slice(es: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(es, Some(true), NameRule::Subdomain);
    let at = se(es, "addressType");
    match at {
        "" => errs.push(Cause::required("addressType", "")),
        "IPv4" | "IPv6" | "FQDN" => {}
        other => errs.push(Cause::not_supported(
            "addressType",
            other,
            &["FQDN", "IPv4", "IPv6"],
        )),
    }
    let eps = arr(es, "endpoints");
    if eps.len() > 1000 {
        errs.push(too_many("endpoints", eps.len(), 1000));
    } else {
        for (i, e) in eps.iter().enumerate() {
            let p = index("endpoints", i);
            let ap = child(&p, "addresses");
            let addrs = arr(e, "addresses");
            if addrs.is_empty() {
                errs.push(Cause::required(&ap, "must contain at least 1 address"));
            } else if addrs.len() > 100 {
                errs.push(too_many(&ap, addrs.len(), 100));
            }
            for (j, a) in addrs.iter().enumerate() {
                let (a, aj) = (a.as_str().unwrap_or(""), index(&ap, j));
                match at {
                    "IPv4" | "IPv6" => {
                        let ok = names::is_ip(a) && (a.contains(':') == (at == "IPv6"));
                        if !ok {
                            errs.push(invalid_str(
                                &aj,
                                a,
                                &format!("must be a valid {at} address"),
                            ));
                        }
                        errs.extend(non_special_ip(a, &aj));
                    }
                    "FQDN" => {
                        for m in names::dns1123_subdomain(a) {
                            errs.push(invalid_str(&aj, a, &m));
                        }
                    }
                    _ => {}
                }
            }
            if let Some(nn) = s(e, "nodeName") {
                for m in names::dns1123_subdomain(nn) {
                    errs.push(invalid_str(child(&p, "nodeName"), nn, &m));
                }
            }
            if let Some(hn) = s(e, "hostname") {
                for m in names::dns1123_label(hn) {
                    errs.push(invalid_str(child(&p, "hostname"), hn, &m));
                }
            }
        }
    }
    let ports = arr(es, "ports");
    if ports.len() > 20000 {
        errs.push(too_many("ports", ports.len(), 20000));
        return errs;
    }
    let mut seen = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = index("ports", i);
        let name = se(p, "name");
        if !name.is_empty() {
            for m in names::dns1123_label(name) {
                errs.push(invalid_str(child(&pp, "name"), name, &m));
            }
        }
        if !seen.insert(name) {
            errs.push(Cause::duplicate(child(&pp, "name"), q(name)));
        }
        errs.extend(validate_protocol(p, &pp));
        if let Some(ap) = s(p, "appProtocol") {
            for m in names::qualified_name(ap) {
                errs.push(invalid_str(child(&pp, "appProtocol"), ap, &m));
            }
        }
    }
    errs
}
