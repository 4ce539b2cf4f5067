//! NetworkPolicy validation (upstream `ValidateNetworkPolicy`, `pkg/apis/networking/validation`).

use super::meta;
use super::names::{self, NameRule};
use super::util::{arr, as_int, child, index, invalid_str, not_supported_fmt, q, se, Errs};
use crate::status::Cause;
use serde_json::Value;
use std::net::IpAddr;

/// `ValidateNetworkPolicy`: object meta, then the spec.
pub(crate) fn validate_network_policy(np: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(np, Some(true), NameRule::Subdomain);
    errs.extend(validate_spec(
        np.get("spec").unwrap_or(&Value::Null),
        "spec",
    ));
    errs
}

/// `ValidateNetworkPolicyUpdate`: everything may change but the metadata rules.
pub(crate) fn validate_network_policy_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    errs.extend(validate_spec(
        new.get("spec").unwrap_or(&Value::Null),
        "spec",
    ));
    errs
}

fn validate_spec(spec: &Value, path: &str) -> Errs {
    let mut errs =
        meta::validate_label_selector(spec.get("podSelector"), &child(path, "podSelector"));
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in arr(spec, dir).iter().enumerate() {
            let rp = index(&child(path, dir), i);
            for (j, port) in arr(rule, "ports").iter().enumerate() {
                errs.extend(validate_port(port, &index(&child(&rp, "ports"), j)));
            }
            for (j, peer) in arr(rule, peers).iter().enumerate() {
                errs.extend(validate_peer(peer, &index(&child(&rp, peers), j)));
            }
        }
    }
    let types = arr(spec, "policyTypes");
    let types_path = child(path, "policyTypes");
    if types.len() > 2 {
        let shown: Vec<String> = types
            .iter()
            .map(|t| t.as_str().unwrap_or("").to_string())
            .collect();
        errs.push(Cause::invalid(
            types_path,
            format!("&[{}]", shown.join(" ")),
            "may not specify more than two policyTypes",
        ));
        return errs;
    }
    for (i, t) in types.iter().enumerate() {
        let t = t.as_str().unwrap_or("");
        if !matches!(t, "Ingress" | "Egress") {
            errs.push(not_supported_fmt(
                index(&types_path, i),
                &q(t),
                &["Ingress", "Egress"],
            ));
        }
    }
    errs
}

/// `ValidateNetworkPolicyPort`.
fn validate_port(port: &Value, path: &str) -> Errs {
    let mut errs = Errs::new();
    if let Some(p) = port.get("protocol").and_then(Value::as_str) {
        if !matches!(p, "TCP" | "UDP" | "SCTP") {
            errs.push(not_supported_fmt(
                child(path, "protocol"),
                &q(p),
                &["TCP", "UDP", "SCTP"],
            ));
        }
    }
    let end = port.get("endPort").and_then(as_int);
    match port.get("port").filter(|v| !v.is_null()) {
        Some(Value::String(name)) => {
            if let Some(end) = end {
                errs.push(Cause::invalid(
                    child(path, "endPort"),
                    end,
                    "may not be specified when `port` is non-numeric",
                ));
            }
            for m in names::port_name(name) {
                errs.push(invalid_str(child(path, "port"), name, &m));
            }
        }
        Some(p) => {
            let p = as_int(p).unwrap_or(0);
            for m in names::port_num(p) {
                errs.push(Cause::invalid(child(path, "port"), p, &m));
            }
            if let Some(end) = end {
                if end < p {
                    errs.push(Cause::invalid(
                        child(path, "endPort"),
                        p,
                        "must be greater than or equal to `port`",
                    ));
                }
                for m in names::port_num(end) {
                    errs.push(Cause::invalid(child(path, "endPort"), end, &m));
                }
            }
        }
        None => {
            if let Some(end) = end {
                errs.push(Cause::invalid(
                    child(path, "endPort"),
                    end,
                    "may not be specified when `port` is not specified",
                ));
            }
        }
    }
    errs
}

/// `ValidateNetworkPolicyPeer`: one of podSelector/namespaceSelector (or both), or ipBlock.
fn validate_peer(peer: &Value, path: &str) -> Errs {
    let mut errs = Errs::new();
    let mut n = 0;
    for k in ["podSelector", "namespaceSelector"] {
        if let Some(sel) = peer.get(k).filter(|v| !v.is_null()) {
            n += 1;
            errs.extend(meta::validate_label_selector(Some(sel), &child(path, k)));
        }
    }
    let block = peer.get("ipBlock").filter(|v| !v.is_null());
    if let Some(b) = block {
        n += 1;
        errs.extend(validate_ip_block(b, &child(path, "ipBlock")));
    }
    if n == 0 {
        errs.push(Cause::required(path, "must specify a peer"));
    } else if n > 1 && block.is_some() {
        errs.push(Cause::forbidden(
            path,
            "may not specify both ipBlock and another peer",
        ));
    }
    errs
}

const CIDR_MSG: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

/// A CIDR's network address and prefix length.
fn parse_cidr(c: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = c.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

/// Whether `ip` lies in `net/bits`.
fn contains((net, bits): (IpAddr, u8), ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// `ValidateIPBlock`: a valid `cidr`; every `except` a strict subset of it.
fn validate_ip_block(b: &Value, path: &str) -> Errs {
    let mut errs = Errs::new();
    let cidr = se(b, "cidr");
    if cidr.is_empty() {
        errs.push(Cause::required(child(path, "cidr"), ""));
        return errs;
    }
    let Some(net) = parse_cidr(cidr) else {
        errs.push(invalid_str(child(path, "cidr"), cidr, CIDR_MSG));
        return errs;
    };
    for (i, e) in arr(b, "except").iter().enumerate() {
        let e = e.as_str().unwrap_or("");
        let p = index(&child(path, "except"), i);
        match parse_cidr(e) {
            None => errs.push(invalid_str(p, e, CIDR_MSG)),
            Some(ex) if !contains(net, ex.0) || net.1 >= ex.1 => {
                errs.push(invalid_str(p, e, "must be a strict subset of `cidr`"))
            }
            Some(_) => {}
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn np(spec: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec})
    }

    fn messages(spec: Value) -> Vec<String> {
        validate_network_policy(&np(spec))
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn accepts_upstream_examples() {
        assert!(messages(json!({"podSelector": {}})).is_empty());
        assert!(messages(json!({
            "podSelector": {"matchLabels": {"role": "db"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [
                {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
                {"namespaceSelector": {"matchLabels": {"project": "myproject"}}},
                {"podSelector": {"matchLabels": {"role": "frontend"}}},
                {"namespaceSelector": {}, "podSelector": {"matchLabels": {"a": "b"}}}
            ], "ports": [{"protocol": "TCP", "port": 6379}]}],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}],
                        "ports": [{"protocol": "TCP", "port": 32000, "endPort": 32768},
                                  {"port": "http"}]}]
        }))
        .is_empty());
    }

    #[test]
    fn refuses_with_upstream_texts() {
        let m = messages(json!({
            "podSelector": {},
            "policyTypes": ["Ingress", "Sideways"],
            "ingress": [{"from": [{}, {"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}],
                         "ports": [{"protocol": "ICMP", "port": 0},
                                   {"port": "http", "endPort": 90},
                                   {"port": 100, "endPort": 90},
                                   {"endPort": 5}]}],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/33"}},
                               {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24", "10.0.0.0/16"]}}]}]
        }));
        let want = [
            "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
            "spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ingress[0].ports[1].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
            "spec.ingress[0].ports[2].endPort: Invalid value: 100: must be greater than or equal to `port`",
            "spec.ingress[0].ports[3].endPort: Invalid value: 5: may not be specified when `port` is not specified",
            "spec.ingress[0].from[0]: Required value: must specify a peer",
            "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
            "spec.egress[0].to[0].ipBlock.cidr: Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            "spec.egress[0].to[1].ipBlock.except[0]: Invalid value: \"10.1.0.0/24\": must be a strict subset of `cidr`",
            "spec.egress[0].to[1].ipBlock.except[1]: Invalid value: \"10.0.0.0/16\": must be a strict subset of `cidr`",
            "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
        ];
        assert_eq!(m, want);
    }
}
