//! The LimitRanger admission plugin's decisions (upstream `plugin/pkg/admission/limitranger`),
//! free of I/O: default requests and limits of containers, and the min, max and
//! limit-to-request ratio checks of `Container`, `Pod` and `PersistentVolumeClaim` items.

use crate::quantity::Quantity;
use crate::quota::{list_from_json, pod_requests_limits, ResourceList};
use serde_json::{json, Value};

/// The annotation LimitRanger writes on pods it defaulted.
pub const ANNOTATION: &str = "kubernetes.io/limit-ranger";

fn items<'a>(lr: &'a Value, ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    lr.pointer("/spec/limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |i| i["type"].as_str() == Some(ty))
}

/// `PodMutateLimitFunc` for one LimitRange: containers without a request or limit of a
/// resource get the `Container` item's `defaultRequest` or `default`, and the pod is annotated
/// with what was set.
pub fn default_pod(lr: &Value, pod: &mut Value) {
    let (mut limits, mut requests) = (serde_json::Map::new(), serde_json::Map::new());
    for item in items(lr, "Container") {
        if let Some(d) = item["default"].as_object() {
            limits.extend(d.clone());
        }
        if let Some(d) = item["defaultRequest"].as_object() {
            requests.extend(d.clone());
        }
    }
    let mut notes: Vec<String> = Vec::new();
    for (key, prefix) in [
        ("containers", "container"),
        ("initContainers", "init container"),
    ] {
        let Some(cs) = pod["spec"][key].as_array_mut() else {
            continue;
        };
        for c in cs {
            let name = c["name"].as_str().unwrap_or("").to_string();
            if !c["resources"].is_object() {
                c["resources"] = json!({});
            }
            let res = &mut c["resources"];
            let mut set = |field: &str, defaults: &serde_json::Map<String, Value>| {
                if !res[field].is_object() {
                    res[field] = json!({});
                }
                let mut names = Vec::new();
                for (k, v) in defaults {
                    if res[field].get(k).is_none() {
                        res[field][k] = v.clone();
                        names.push(k.clone());
                    }
                }
                names.sort();
                names
            };
            let set_limits = set("limits", &limits);
            let set_requests = set("requests", &requests);
            for f in ["limits", "requests"] {
                if res[f].as_object().is_some_and(|m| m.is_empty()) {
                    res.as_object_mut().map(|o| o.remove(f));
                }
            }
            if !set_requests.is_empty() {
                notes.push(format!(
                    "{} request for {prefix} {name}",
                    set_requests.join(", ")
                ));
            }
            if !set_limits.is_empty() {
                notes.push(format!(
                    "{} limit for {prefix} {name}",
                    set_limits.join(", ")
                ));
            }
        }
    }
    if !notes.is_empty() {
        if !pod["metadata"]["annotations"].is_object() {
            pod["metadata"]["annotations"] = json!({});
        }
        pod["metadata"]["annotations"][ANNOTATION] =
            json!(format!("LimitRanger plugin set: {}", notes.join("; ")));
    }
}

fn q(l: &ResourceList, k: &str) -> Option<Quantity> {
    l.get(k).copied()
}

/// `minConstraint`.
fn min_constraint(
    ty: &str,
    res: &str,
    enforced: Quantity,
    req: &ResourceList,
    lim: &ResourceList,
) -> Option<String> {
    let Some(r) = q(req, res) else {
        return Some(format!(
            "minimum {res} usage per {ty} is {enforced}.  No request is specified"
        ));
    };
    if r.nanos < enforced.nanos {
        return Some(format!(
            "minimum {res} usage per {ty} is {enforced}, but request is {r}"
        ));
    }
    match q(lim, res) {
        Some(l) if l.nanos < enforced.nanos => Some(format!(
            "minimum {res} usage per {ty} is {enforced}, but limit is {l}"
        )),
        _ => None,
    }
}

/// `maxConstraint`.
fn max_constraint(
    ty: &str,
    res: &str,
    enforced: Quantity,
    req: &ResourceList,
    lim: &ResourceList,
) -> Option<String> {
    let Some(l) = q(lim, res) else {
        return Some(format!(
            "maximum {res} usage per {ty} is {enforced}.  No limit is specified"
        ));
    };
    if l.nanos > enforced.nanos {
        return Some(format!(
            "maximum {res} usage per {ty} is {enforced}, but limit is {l}"
        ));
    }
    match q(req, res) {
        Some(r) if r.nanos > enforced.nanos => Some(format!(
            "maximum {res} usage per {ty} is {enforced}, but request is {r}"
        )),
        _ => None,
    }
}

/// `limitRequestRatioConstraint`.
fn ratio_constraint(
    ty: &str,
    res: &str,
    enforced: Quantity,
    req: &ResourceList,
    lim: &ResourceList,
) -> Option<String> {
    let r = q(req, res).filter(|r| r.nanos != 0);
    let l = q(lim, res).filter(|l| l.nanos != 0);
    let Some(r) = r else {
        return Some(format!("{res} max limit to request ratio per {ty} is {enforced}, but no request is specified or request is 0"));
    };
    let Some(l) = l else {
        return Some(format!("{res} max limit to request ratio per {ty} is {enforced}, but no limit is specified or limit is 0"));
    };
    let observed = l.nanos as f64 / r.nanos as f64;
    if observed * 1e9 > enforced.nanos as f64 {
        return Some(format!(
            "{res} max limit to request ratio per {ty} is {enforced}, but provided ratio is {observed:.6}"
        ));
    }
    None
}

fn check_item(
    item: &Value,
    ty: &str,
    req: &ResourceList,
    lim: &ResourceList,
    errs: &mut Vec<String>,
) {
    for (k, v) in list_from_json(item.get("min")) {
        errs.extend(min_constraint(ty, &k, v, req, lim));
    }
    for (k, v) in list_from_json(item.get("max")) {
        errs.extend(max_constraint(ty, &k, v, req, lim));
    }
    for (k, v) in list_from_json(item.get("maxLimitRequestRatio")) {
        errs.extend(ratio_constraint(ty, &k, v, req, lim));
    }
}

/// `utilerrors.NewAggregate(...).Error()`: one message, or `[a, b]`.
fn aggregate(errs: Vec<String>) -> Result<(), String> {
    match errs.len() {
        0 => Ok(()),
        1 => Err(errs.into_iter().next().unwrap_or_default()),
        _ => Err(format!("[{}]", errs.join(", "))),
    }
}

/// `PodValidateLimitFunc` for one LimitRange.
pub fn validate_pod(lr: &Value, pod: &Value) -> Result<(), String> {
    let mut errs = Vec::new();
    for item in lr
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match item["type"].as_str() {
            Some("Container") => {
                for key in ["containers", "initContainers"] {
                    for c in pod["spec"][key].as_array().into_iter().flatten() {
                        let req = list_from_json(c.pointer("/resources/requests"));
                        let lim = list_from_json(c.pointer("/resources/limits"));
                        check_item(item, "Container", &req, &lim, &mut errs);
                    }
                }
            }
            Some("Pod") => {
                let (req, lim) = pod_requests_limits(pod);
                check_item(item, "Pod", &req, &lim, &mut errs);
            }
            _ => {}
        }
    }
    aggregate(errs)
}

/// `PersistentVolumeClaimValidateLimitFunc` for one LimitRange.
pub fn validate_claim(lr: &Value, pvc: &Value) -> Result<(), String> {
    let mut errs = Vec::new();
    let req = list_from_json(pvc.pointer("/spec/resources/requests"));
    for item in items(lr, "PersistentVolumeClaim") {
        for (k, v) in list_from_json(item.get("min")) {
            errs.extend(min_constraint(
                "PersistentVolumeClaim",
                &k,
                v,
                &req,
                &ResourceList::new(),
            ));
        }
        for (k, v) in list_from_json(item.get("max")) {
            match q(&req, &k) {
                None => errs.push(format!(
                    "maximum {k} usage per PersistentVolumeClaim is {v}.  No request is specified"
                )),
                Some(r) if r.nanos > v.nanos => errs.push(format!(
                    "maximum {k} usage per PersistentVolumeClaim is {v}, but request is {r}"
                )),
                _ => {}
            }
        }
    }
    aggregate(errs)
}

/// `SetDefaults_LimitRangeItem`: a `Container` item's `default` falls back to `max`, its
/// `defaultRequest` to `default`, then to `min`.
pub fn default_item(item: &mut Value) {
    if item["type"].as_str() != Some("Container") {
        return;
    }
    for f in ["default", "defaultRequest"] {
        if !item[f].is_object() {
            item[f] = json!({});
        }
    }
    let fill = |item: &mut Value, to: &str, from: &str| {
        if let Some(src) = item[from].as_object().cloned() {
            for (k, v) in src {
                if item[to].get(&k).is_none() {
                    item[to][k] = v;
                }
            }
        }
    };
    fill(item, "default", "max");
    fill(item, "defaultRequest", "default");
    fill(item, "defaultRequest", "min");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range() -> Value {
        let mut lr = json!({"spec": {"limits": [
            {"type": "Container", "max": {"cpu": "1", "memory": "1Gi"}, "min": {"cpu": "100m"},
             "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "200m"}},
            {"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"}, "min": {"storage": "1Gi"}}
        ]}});
        for i in lr["spec"]["limits"].as_array_mut().unwrap() {
            default_item(i);
        }
        lr
    }

    #[test]
    fn item_defaults_follow_max_and_default() {
        let lr = range();
        assert_eq!(
            lr["spec"]["limits"][0]["default"],
            json!({"cpu": "500m", "memory": "1Gi"})
        );
        assert_eq!(
            lr["spec"]["limits"][0]["defaultRequest"],
            json!({"cpu": "200m", "memory": "1Gi"})
        );
        assert!(lr["spec"]["limits"][1].get("default").is_none());
    }

    #[test]
    fn containers_get_defaults_and_an_annotation() {
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "app", "image": "i"},
            {"name": "side", "image": "i", "resources": {"limits": {"cpu": "300m"}, "requests": {"cpu": "300m"}}}
        ]}});
        default_pod(&range(), &mut pod);
        assert_eq!(
            pod["spec"]["containers"][0]["resources"],
            json!({"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "200m", "memory": "1Gi"}})
        );
        assert_eq!(
            pod["spec"]["containers"][1]["resources"]["limits"]["memory"],
            "1Gi"
        );
        assert_eq!(
            pod["metadata"]["annotations"][ANNOTATION],
            "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app; memory request for container side; memory limit for container side"
        );
        assert_eq!(validate_pod(&range(), &pod), Ok(()));
    }

    #[test]
    fn min_and_max_are_enforced_with_upstream_texts() {
        let pod = |cpu: &str| {
            json!({"spec": {"containers": [{"name": "c", "resources": {
                "limits": {"cpu": cpu, "memory": "1Gi"}, "requests": {"cpu": cpu, "memory": "1Gi"}}}]}})
        };
        assert_eq!(
            validate_pod(&range(), &pod("2")),
            Err("maximum cpu usage per Container is 1, but limit is 2".to_string())
        );
        assert_eq!(
            validate_pod(&range(), &pod("50m")),
            Err("minimum cpu usage per Container is 100m, but request is 50m".to_string())
        );
        let lr = json!({"spec": {"limits": [{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]}});
        let p = json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "250m"}}}]}});
        assert_eq!(
            validate_pod(&lr, &p),
            Err(
                "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000"
                    .to_string()
            )
        );
        let lr = json!({"spec": {"limits": [{"type": "Pod", "max": {"cpu": "1"}}]}});
        let p = json!({"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "600m"}}},
            {"name": "b", "resources": {"limits": {"cpu": "600m"}}}]}});
        assert_eq!(
            validate_pod(&lr, &p),
            Err("maximum cpu usage per Pod is 1, but limit is 1200m".to_string())
        );
    }

    #[test]
    fn claims_are_held_between_min_and_max() {
        let pvc = |s: &str| json!({"spec": {"resources": {"requests": {"storage": s}}}});
        assert_eq!(validate_claim(&range(), &pvc("1Gi")), Ok(()));
        assert_eq!(
            validate_claim(&range(), &pvc("5Gi")),
            Err(
                "maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi"
                    .to_string()
            )
        );
        assert_eq!(
            validate_claim(&range(), &pvc("500Mi")),
            Err(
                "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"
                    .to_string()
            )
        );
    }
}
