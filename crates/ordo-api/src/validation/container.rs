//! Container validation: names, images, ports, env, mounts, resources, probes, lifecycle.

use super::names;
use super::quantity::{self, Quantity};
use super::util::*;
use crate::status::Cause;
use serde_json::Value;
use std::collections::BTreeSet;

const QUANTITY_RE: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const ENV_FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const DOWNWARD_LABELS: [&str; 14] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const RESOURCE_FIELDS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// `validateContainerCommon`: rules shared by regular, init and ephemeral containers.
pub(crate) fn validate_common(c: &Value, volumes: &BTreeSet<String>, path: &str) -> Errs {
    let mut errs = Errs::new();
    let name = se(c, "name");
    if name.is_empty() {
        errs.push(Cause::required(child(path, "name"), ""));
    } else {
        for m in names::dns1123_label(name) {
            errs.push(invalid_str(child(path, "name"), name, &m));
        }
    }
    if se(c, "image").is_empty() {
        errs.push(Cause::required(child(path, "image"), ""));
    }
    match se(c, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(Cause::required(child(path, "terminationMessagePolicy"), "")),
        other => errs.push(Cause::not_supported(
            child(path, "terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    errs.extend(validate_ports(arr(c, "ports"), &child(path, "ports")));
    errs.extend(validate_env(arr(c, "env"), &child(path, "env")));
    errs.extend(validate_env_from(
        arr(c, "envFrom"),
        &child(path, "envFrom"),
    ));
    errs.extend(validate_mounts(c, volumes, path));
    match se(c, "imagePullPolicy") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(Cause::required(child(path, "imagePullPolicy"), "")),
        other => errs.push(Cause::not_supported(
            child(path, "imagePullPolicy"),
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    if let Some(r) = present(c, "resources") {
        errs.extend(validate_resources(r, &child(path, "resources")));
    }
    if let Some(sc) = present(c, "securityContext") {
        errs.extend(validate_ids(sc, &child(path, "securityContext")));
    }
    errs
}

/// `runAsUser`/`runAsGroup`/`fsGroup` ranges of a (pod or container) security context.
pub(crate) fn validate_ids(sc: &Value, path: &str) -> Errs {
    let mut errs = Errs::new();
    for k in ["runAsUser", "runAsGroup", "fsGroup"] {
        if let Some(v) = int(sc, k) {
            if !(0..=2147483647).contains(&v) {
                errs.push(Cause::invalid(
                    child(path, k),
                    v,
                    &names::inclusive_range_error(0, 2147483647),
                ));
            }
        }
    }
    errs
}

fn validate_ports(ports: &[Value], path: &str) -> Errs {
    let mut errs = Errs::new();
    let mut seen = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let ip = index(path, i);
        let name = se(p, "name");
        if !name.is_empty() {
            let msgs = names::port_name(name);
            if !msgs.is_empty() {
                for m in msgs {
                    errs.push(invalid_str(child(&ip, "name"), name, &m));
                }
            } else if !seen.insert(name.to_string()) {
                errs.push(Cause::duplicate(child(&ip, "name"), q(name)));
            }
        }
        let cp = int(p, "containerPort").unwrap_or(0);
        if cp == 0 {
            errs.push(Cause::required(child(&ip, "containerPort"), ""));
        } else {
            for m in names::port_num(cp) {
                errs.push(Cause::invalid(child(&ip, "containerPort"), cp, &m));
            }
        }
        let hp = int(p, "hostPort").unwrap_or(0);
        if hp != 0 {
            for m in names::port_num(hp) {
                errs.push(Cause::invalid(child(&ip, "hostPort"), hp, &m));
            }
        }
        errs.extend(validate_protocol(p, &ip));
    }
    errs
}

/// `protocol` required and one of TCP/UDP/SCTP.
pub(crate) fn validate_protocol(p: &Value, path: &str) -> Errs {
    match se(p, "protocol") {
        "" => vec![Cause::required(child(path, "protocol"), "")],
        "TCP" | "UDP" | "SCTP" => vec![],
        other => vec![Cause::not_supported(
            child(path, "protocol"),
            other,
            &["SCTP", "TCP", "UDP"],
        )],
    }
}

fn validate_env(vars: &[Value], path: &str) -> Errs {
    let mut errs = Errs::new();
    for (i, ev) in vars.iter().enumerate() {
        let ip = index(path, i);
        let name = se(ev, "name");
        if name.is_empty() {
            errs.push(Cause::required(child(&ip, "name"), ""));
        } else {
            for m in names::env_var_name(name) {
                errs.push(invalid_str(child(&ip, "name"), name, &m));
            }
        }
        if let Some(vf) = present(ev, "valueFrom") {
            errs.extend(validate_value_from(
                vf,
                !se(ev, "value").is_empty(),
                &child(&ip, "valueFrom"),
            ));
        }
    }
    errs
}

fn validate_value_from(vf: &Value, has_value: bool, path: &str) -> Errs {
    let mut errs = Errs::new();
    let mut n = 0;
    if let Some(fr) = present(vf, "fieldRef") {
        n += 1;
        errs.extend(validate_field_ref(
            fr,
            &ENV_FIELD_PATHS,
            &child(path, "fieldRef"),
        ));
    }
    if let Some(rr) = present(vf, "resourceFieldRef") {
        n += 1;
        errs.extend(validate_resource_field_ref(
            rr,
            false,
            &child(path, "resourceFieldRef"),
        ));
    }
    for k in ["configMapKeyRef", "secretKeyRef"] {
        if let Some(r) = present(vf, k) {
            n += 1;
            let p = child(path, k);
            let name = se(r, "name");
            for m in names::dns1123_subdomain(name) {
                errs.push(invalid_str(child(&p, "name"), name, &m));
            }
            let key = se(r, "key");
            if key.is_empty() {
                errs.push(Cause::required(child(&p, "key"), ""));
            } else {
                for m in names::config_map_key(key) {
                    errs.push(invalid_str(child(&p, "key"), key, &m));
                }
            }
        }
    }
    if n == 0 {
        errs.push(invalid_str(
            path,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ));
    } else if has_value {
        errs.push(invalid_str(
            path,
            "",
            "may not be specified when `value` is not empty",
        ));
    } else if n > 1 {
        errs.push(invalid_str(
            path,
            "",
            "may not have more than one field specified at a time",
        ));
    }
    errs
}

/// `validateObjectFieldSelector` (downward API field references).
pub(crate) fn validate_field_ref(fr: &Value, allowed: &[&str], path: &str) -> Errs {
    let mut errs = Errs::new();
    let (api, fp) = (se(fr, "apiVersion"), se(fr, "fieldPath"));
    if api.is_empty() {
        return vec![Cause::required(child(path, "apiVersion"), "")];
    }
    if fp.is_empty() {
        return vec![Cause::required(child(path, "fieldPath"), "")];
    }
    let subscripted = fp.strip_suffix("']").and_then(|p| p.split_once("['"));
    let conv_err = if api != "v1" {
        Some(format!("unsupported pod version: {api}"))
    } else if let Some((base, _)) = subscripted {
        (!matches!(base, "metadata.annotations" | "metadata.labels"))
            .then(|| format!("field label does not support subscript: {fp}"))
    } else {
        (!DOWNWARD_LABELS.contains(&fp)).then(|| format!("field label not supported: {fp}"))
    };
    if let Some(e) = conv_err {
        errs.push(invalid_str(
            child(path, "fieldPath"),
            fp,
            &format!("error converting fieldPath: {e}"),
        ));
        return errs;
    }
    match subscripted {
        Some(("metadata.annotations", sub)) => {
            for m in names::qualified_name(&sub.to_lowercase()) {
                errs.push(invalid_str(path, &sub.to_lowercase(), &m));
            }
        }
        Some((_, sub)) => {
            for m in names::qualified_name(sub) {
                errs.push(invalid_str(path, sub, &m));
            }
        }
        None if !allowed.contains(&fp) => {
            let mut sorted = allowed.to_vec();
            sorted.sort();
            errs.push(Cause::not_supported(child(path, "fieldPath"), fp, &sorted));
        }
        None => {}
    }
    errs
}

/// `validateContainerResourceFieldSelector`.
pub(crate) fn validate_resource_field_ref(rr: &Value, volume: bool, path: &str) -> Errs {
    let res = se(rr, "resource");
    if volume && se(rr, "containerName").is_empty() {
        return vec![Cause::required(child(path, "containerName"), "")];
    }
    if res.is_empty() {
        return vec![Cause::required(child(path, "resource"), "")];
    }
    let hugepages = res.starts_with("requests.hugepages-") || res.starts_with("limits.hugepages-");
    if !RESOURCE_FIELDS.contains(&res) && !hugepages {
        return vec![Cause::not_supported(
            child(path, "resource"),
            res,
            &RESOURCE_FIELDS,
        )];
    }
    vec![]
}

fn validate_env_from(sources: &[Value], path: &str) -> Errs {
    let mut errs = Errs::new();
    for (i, ev) in sources.iter().enumerate() {
        let ip = index(path, i);
        let prefix = se(ev, "prefix");
        if !prefix.is_empty() {
            for m in names::env_var_name(prefix) {
                errs.push(invalid_str(child(&ip, "prefix"), prefix, &m));
            }
        }
        let mut n = 0;
        for k in ["configMapRef", "secretRef"] {
            if let Some(r) = present(ev, k) {
                n += 1;
                let name = se(r, "name");
                let p = child(&child(&ip, k), "name");
                if name.is_empty() {
                    errs.push(Cause::required(p, ""));
                } else {
                    for m in names::NameRule::Subdomain.check(name, true) {
                        errs.push(invalid_str(&p, name, &m));
                    }
                }
            }
        }
        if n == 0 {
            errs.push(invalid_str(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if n > 1 {
            errs.push(invalid_str(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
    errs
}

/// `validateLocalDescendingPath`: relative and without `..`.
pub(crate) fn local_descending_path(p: &str, path: &str) -> Errs {
    let mut errs = Errs::new();
    if p.starts_with('/') {
        errs.push(invalid_str(path, p, "must be a relative path"));
    }
    if p.split('/').any(|x| x == "..") {
        errs.push(invalid_str(path, p, "must not contain '..'"));
    }
    errs
}

fn validate_mounts(c: &Value, volumes: &BTreeSet<String>, cpath: &str) -> Errs {
    let mut errs = Errs::new();
    let path = &child(cpath, "volumeMounts");
    let devices: Vec<(&str, &str)> = arr(c, "volumeDevices")
        .iter()
        .map(|d| (se(d, "name"), se(d, "devicePath")))
        .collect();
    let mut mount_points = BTreeSet::new();
    for (i, m) in arr(c, "volumeMounts").iter().enumerate() {
        let ip = index(path, i);
        let (name, mp) = (se(m, "name"), se(m, "mountPath"));
        if name.is_empty() {
            errs.push(Cause::required(child(&ip, "name"), ""));
        }
        if !volumes.contains(name) {
            errs.push(not_found(child(&ip, "name"), name));
        }
        if mp.is_empty() {
            errs.push(Cause::required(child(&ip, "mountPath"), ""));
        }
        if !mount_points.insert(mp.to_string()) {
            errs.push(invalid_str(child(&ip, "mountPath"), mp, "must be unique"));
        }
        if devices.iter().any(|(n, _)| *n == name) {
            errs.push(invalid_str(
                child(&ip, "name"),
                name,
                "must not already exist in volumeDevices",
            ));
        }
        if devices.iter().any(|(_, p)| *p == mp) {
            errs.push(invalid_str(
                child(&ip, "mountPath"),
                mp,
                "must not already exist as a path in volumeDevices",
            ));
        }
        let (sub, sub_expr) = (se(m, "subPath"), se(m, "subPathExpr"));
        if !sub.is_empty() {
            errs.extend(local_descending_path(sub, &child(path, "subPath")));
        }
        if !sub_expr.is_empty() {
            if !sub.is_empty() {
                errs.push(invalid_str(
                    child(&ip, "subPathExpr"),
                    sub_expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            errs.extend(local_descending_path(sub_expr, &child(path, "subPathExpr")));
        }
        if let Some(mode) = s(m, "mountPropagation") {
            if !matches!(mode, "None" | "HostToContainer" | "Bidirectional") {
                errs.push(Cause::not_supported(
                    child(path, "mountPropagation"),
                    mode,
                    &["Bidirectional", "HostToContainer", "None"],
                ));
            }
        }
    }
    for (i, (name, dp)) in devices.iter().enumerate() {
        let ip = index(&child(cpath, "volumeDevices"), i);
        if name.is_empty() {
            errs.push(Cause::required(child(&ip, "name"), ""));
        } else if !volumes.contains(*name) {
            errs.push(not_found(child(&ip, "name"), name));
        }
        if dp.is_empty() {
            errs.push(Cause::required(child(&ip, "devicePath"), ""));
        }
    }
    errs
}

fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !name.starts_with("hugepages-")
}

fn validate_resource_name(name: &str, path: &str) -> Errs {
    let msgs = names::qualified_name(name);
    if !msgs.is_empty() {
        return msgs.iter().map(|m| invalid_str(path, name, m)).collect();
    }
    if !name.contains('/') {
        let standard = matches!(
            name,
            "cpu" | "memory" | "ephemeral-storage" | "storage" | "pods" | "services"
        ) || name.starts_with("hugepages-")
            || name.starts_with("requests.")
            || name.starts_with("limits.");
        if !standard {
            return vec![invalid_str(
                path,
                name,
                "must be a standard resource type or fully qualified",
            )];
        }
        if !(matches!(name, "cpu" | "memory" | "ephemeral-storage")
            || name.starts_with("hugepages-"))
        {
            return vec![invalid_str(
                path,
                name,
                "must be a standard resource for containers",
            )];
        }
    }
    vec![]
}

/// `ValidateContainerResourceRequirements`: names, non-negative values, requests ≤ limits.
pub(crate) fn validate_resources(r: &Value, path: &str) -> Errs {
    let mut errs = Errs::new();
    let (lim_path, req_path) = (child(path, "limits"), child(path, "requests"));
    let parse = |errs: &mut Errs, v: &Value, p: &str| -> Option<Quantity> {
        let q = quantity::parse_json(v);
        match q {
            None => errs.push(invalid_str(
                p,
                &v.as_str().map(str::to_string).unwrap_or(v.to_string()),
                QUANTITY_RE,
            )),
            Some(q) if q.nanos < 0 => errs.push(invalid_str(
                p,
                &q.canonical(),
                "must be greater than or equal to 0",
            )),
            _ => {}
        }
        q
    };
    let limits = obj(r, "limits");
    let mut keys: Vec<&String> = limits.map(|l| l.keys().collect()).unwrap_or_default();
    keys.sort();
    for k in keys {
        let p = key(&lim_path, k);
        errs.extend(validate_resource_name(k, &p));
        parse(&mut errs, &limits.unwrap()[k], &p);
    }
    let requests = obj(r, "requests");
    let mut keys: Vec<&String> = requests.map(|l| l.keys().collect()).unwrap_or_default();
    keys.sort();
    for k in keys {
        let p = key(&req_path, k);
        errs.extend(validate_resource_name(k, &p));
        let rq = parse(&mut errs, &requests.unwrap()[k], &p);
        match (
            rq,
            limits.and_then(|l| l.get(k)).and_then(quantity::parse_json),
        ) {
            (Some(rq), Some(lq)) => {
                if rq.nanos != lq.nanos && !overcommit_allowed(k) {
                    let d = format!("must be equal to {k} limit of {}", lq.canonical());
                    errs.push(invalid_str(&req_path, &rq.canonical(), &d));
                } else if rq.nanos > lq.nanos {
                    let d = format!(
                        "must be less than or equal to {k} limit of {}",
                        lq.canonical()
                    );
                    errs.push(invalid_str(&req_path, &rq.canonical(), &d));
                }
            }
            (_, None) if !overcommit_allowed(k) => errs.push(Cause::required(
                &lim_path,
                "Limit must be set for non overcommitable resources",
            )),
            _ => {}
        }
    }
    errs
}

/// `ValidatePortNumOrName` for an `IntOrString` port.
pub(crate) fn port_num_or_name(v: Option<&Value>, path: &str) -> Errs {
    match v {
        Some(Value::String(name)) => names::port_name(name)
            .iter()
            .map(|m| invalid_str(path, name, m))
            .collect(),
        Some(n) => {
            let n = as_int(n).unwrap_or(0);
            names::port_num(n)
                .iter()
                .map(|m| Cause::invalid(path, n, m))
                .collect()
        }
        None => names::port_num(0)
            .iter()
            .map(|m| Cause::invalid(path, 0, m))
            .collect(),
    }
}

/// `validateHandler` of a probe or lifecycle handler.
fn validate_handler(h: &Value, grace: Option<i64>, lifecycle: bool, path: &str) -> Errs {
    let mut errs = Errs::new();
    let mut n = 0;
    let kinds: &[&str] = if lifecycle {
        &["exec", "httpGet", "tcpSocket", "sleep"]
    } else {
        &["exec", "httpGet", "tcpSocket", "grpc"]
    };
    for k in kinds {
        let Some(a) = present(h, k) else { continue };
        let p = child(path, k);
        if n > 0 {
            errs.push(Cause::forbidden(
                p,
                "may not specify more than 1 handler type",
            ));
            continue;
        }
        n += 1;
        match *k {
            "exec" if arr(a, "command").is_empty() => {
                errs.push(Cause::required(child(&p, "command"), ""))
            }
            "httpGet" => {
                if se(a, "path").is_empty() {
                    errs.push(Cause::required(child(&p, "path"), ""));
                }
                errs.extend(port_num_or_name(a.get("port"), &child(&p, "port")));
                let scheme = se(a, "scheme");
                if !matches!(scheme, "HTTP" | "HTTPS") {
                    errs.push(Cause::not_supported(
                        child(&p, "scheme"),
                        scheme,
                        &["HTTP", "HTTPS"],
                    ));
                }
            }
            "tcpSocket" => errs.extend(port_num_or_name(a.get("port"), &child(&p, "port"))),
            "grpc" => {
                let port = int(a, "port").unwrap_or(0);
                errs.extend(port_num_or_name(
                    Some(&Value::from(port)),
                    &child(&p, "port"),
                ));
            }
            "sleep" => {
                let secs = int(a, "seconds").unwrap_or(0);
                if let Some(g) = grace {
                    if secs < 0 || secs > g {
                        let d = format!("must be non-negative and less than terminationGracePeriodSeconds ({g})");
                        errs.push(Cause::invalid(p, secs, &d));
                    }
                }
            }
            _ => {}
        }
    }
    if n == 0 {
        errs.push(Cause::required(path, "must specify a handler type"));
    }
    errs
}

fn validate_probe(p: &Value, grace: Option<i64>, kind: &str, path: &str) -> Errs {
    let mut errs = validate_handler(p, grace, false, path);
    for k in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        nonneg(&mut errs, child(path, k), int(p, k).unwrap_or(0));
    }
    if let Some(t) = int(p, "terminationGracePeriodSeconds") {
        if t <= 0 {
            errs.push(Cause::invalid(
                child(path, "terminationGracePeriodSeconds"),
                t,
                "must be greater than 0",
            ));
        }
        if kind == "readinessProbe" {
            errs.push(Cause::invalid(
                child(path, "terminationGracePeriodSeconds"),
                t,
                "must not be set for readinessProbes",
            ));
        }
    }
    if kind != "readinessProbe" {
        let st = int(p, "successThreshold").unwrap_or(0);
        if st != 1 {
            errs.push(Cause::invalid(
                child(path, "successThreshold"),
                st,
                "must be 1",
            ));
        }
    }
    errs
}

/// Lifecycle hooks and probes of a regular (or restartable init) container.
pub(crate) fn validate_probes_and_lifecycle(c: &Value, grace: Option<i64>, path: &str) -> Errs {
    let mut errs = Errs::new();
    if let Some(l) = present(c, "lifecycle") {
        for k in ["postStart", "preStop"] {
            if let Some(h) = present(l, k) {
                errs.extend(validate_handler(
                    h,
                    grace,
                    true,
                    &child(&child(path, "lifecycle"), k),
                ));
            }
        }
    }
    for k in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = present(c, k) {
            errs.extend(validate_probe(p, grace, k, &child(path, k)));
        }
    }
    errs
}

/// Host ports must not collide across `containers` (`protocol/hostIP/port`).
pub(crate) fn host_port_conflicts(containers: &[Value], path: &str) -> Errs {
    let mut errs = Errs::new();
    let mut seen = BTreeSet::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, p) in arr(c, "ports").iter().enumerate() {
            let hp = int(p, "hostPort").unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let k = format!("{}/{}/{hp}", se(p, "protocol"), se(p, "hostIP"));
            if !seen.insert(k.clone()) {
                let f = child(&index(&child(&index(path, ci), "ports"), pi), "hostPort");
                errs.push(Cause::duplicate(f, q(&k)));
            }
        }
    }
    errs
}
