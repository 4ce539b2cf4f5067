//! Resource quota accounting, free of I/O: the evaluators of upstream `pkg/quota/v1/evaluator/core`
//! (what a pod, Service, PersistentVolumeClaim or any other object costs), quota scopes, the
//! admission decision of `plugin/pkg/admission/resourcequota` (`CheckRequest`) and the usage the
//! resource quota controller reports.

use crate::quantity::{parse_json, Quantity};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

#[cfg(test)]
mod tests;

/// A `ResourceList`, sorted by name as upstream prints it.
pub type ResourceList = BTreeMap<String, Quantity>;

/// A JSON `ResourceList` (name → quantity string) as a [`ResourceList`]; malformed values are
/// skipped.
pub fn list_from_json(v: Option<&Value>) -> ResourceList {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| parse_json(v).map(|q| (k.clone(), q)))
                .collect()
        })
        .unwrap_or_default()
}

/// A [`ResourceList`] as JSON (canonical quantity strings).
pub fn list_to_json(l: &ResourceList) -> Value {
    Value::Object(
        l.iter()
            .map(|(k, q)| (k.clone(), json!(q.canonical())))
            .collect(),
    )
}

/// `prettyPrint`: `a=1,b=2Gi`.
pub fn pretty(l: &ResourceList) -> String {
    l.iter()
        .map(|(k, q)| format!("{k}={q}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn add_lists(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = a.clone();
    for (k, q) in b {
        let sum = out.get(k).map(|o| o.add(q)).unwrap_or(*q);
        out.insert(k.clone(), sum);
    }
    out
}

fn mask(l: &ResourceList, names: &BTreeSet<String>) -> ResourceList {
    l.iter()
        .filter(|(k, _)| names.contains(*k))
        .map(|(k, q)| (k.clone(), *q))
        .collect()
}

const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

/// The compute resources of pods a quota may constrain (upstream `podResources`).
const POD_RESOURCES: &[&str] = &[
    "count/pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "pods",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// Resources that make every container state its request or limit (`validationSet`).
const POD_VALIDATION_SET: &[&str] = &[
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];

/// Which evaluator measures objects of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evaluator {
    /// `pods`.
    Pod,
    /// `services`.
    Service,
    /// `persistentvolumeclaims`.
    Claim,
    /// Any other resource: its object count (`count/<plural>[.<group>]`, and the legacy name
    /// for configmaps, secrets, replicationcontrollers and resourcequotas).
    Count {
        /// `count/<plural>[.<group>]`.
        name: String,
        /// The legacy quota name (`secrets`), if the resource has one.
        legacy: Option<String>,
    },
}

/// One quota scope requirement (`spec.scopes` entries become `Exists` requirements).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeRequirement {
    /// `Terminating`, `NotTerminating`, `BestEffort`, `NotBestEffort`, `PriorityClass`...
    pub scope: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    /// Values of `In`/`NotIn`.
    pub values: Vec<String>,
}

/// `getScopeSelectorsFromQuota`: the quota's scopes and scope selector requirements.
pub fn quota_scopes(quota: &Value) -> Vec<ScopeRequirement> {
    let mut out = Vec::new();
    for s in quota
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        out.push(ScopeRequirement {
            scope: s.to_string(),
            operator: "Exists".into(),
            values: vec![],
        });
    }
    for r in quota
        .pointer("/spec/scopeSelector/matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push(ScopeRequirement {
            scope: r["scopeName"].as_str().unwrap_or("").to_string(),
            operator: r["operator"].as_str().unwrap_or("").to_string(),
            values: r["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        });
    }
    out
}

impl Evaluator {
    /// The evaluator of resource `plural` in `group`.
    pub fn for_resource(group: &str, plural: &str) -> Evaluator {
        match (group, plural) {
            ("", "pods") => Evaluator::Pod,
            ("", "services") => Evaluator::Service,
            ("", "persistentvolumeclaims") => Evaluator::Claim,
            _ => {
                let name = if group.is_empty() {
                    format!("count/{plural}")
                } else {
                    format!("count/{plural}.{group}")
                };
                let legacy = (group.is_empty()
                    && matches!(
                        plural,
                        "configmaps" | "secrets" | "replicationcontrollers" | "resourcequotas"
                    ))
                .then(|| plural.to_string());
                Evaluator::Count { name, legacy }
            }
        }
    }

    /// The (group, plural) of the resource whose `count/...` quota name this is.
    pub fn for_count_name(name: &str) -> Option<(String, String)> {
        let rest = name.strip_prefix("count/")?;
        Some(match rest.split_once('.') {
            Some((plural, group)) => (group.to_string(), plural.to_string()),
            None => (String::new(), rest.to_string()),
        })
    }

    /// `MatchingResources`: which of `names` this evaluator measures.
    pub fn matching_resources<'a>(
        &self,
        names: impl IntoIterator<Item = &'a String>,
    ) -> Vec<String> {
        names
            .into_iter()
            .filter(|n| self.measures(n))
            .cloned()
            .collect()
    }

    fn measures(&self, n: &str) -> bool {
        match self {
            Evaluator::Pod => {
                POD_RESOURCES.contains(&n)
                    || n.starts_with("hugepages-")
                    || n.starts_with("requests.hugepages-")
                    || (n.starts_with("requests.") && n.contains('/'))
            }
            Evaluator::Service => matches!(
                n,
                "services" | "services.nodeports" | "services.loadbalancers" | "count/services"
            ),
            Evaluator::Claim => {
                matches!(
                    n,
                    "persistentvolumeclaims" | "requests.storage" | "count/persistentvolumeclaims"
                ) || n
                    .split_once(STORAGE_CLASS_SUFFIX)
                    .is_some_and(|(_, r)| r == "persistentvolumeclaims" || r == "requests.storage")
            }
            Evaluator::Count { name, legacy } => n == name || legacy.as_deref() == Some(n),
        }
    }

    /// Whether an update changes what the object costs, so that admission must look at it
    /// (`Handles`): Services (their type and ports) and claims (their requested size).
    pub fn handles_update(&self) -> bool {
        matches!(self, Evaluator::Service | Evaluator::Claim)
    }

    /// `Usage`: what `obj` costs.
    pub fn usage(&self, obj: &Value) -> ResourceList {
        let one = Quantity::from_int(1);
        let mut out = ResourceList::new();
        match self {
            Evaluator::Pod => {
                out.insert("count/pods".into(), one);
                if !pod_counts(obj) {
                    return out;
                }
                let (req, lim) = pod_requests_limits(obj);
                out = add_lists(&out, &pod_compute_usage(&req, &lim));
            }
            Evaluator::Service => {
                out.insert("count/services".into(), one);
                out.insert("services".into(), one);
                let ports = obj
                    .pointer("/spec/ports")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                match obj.pointer("/spec/type").and_then(Value::as_str) {
                    Some("NodePort") => {
                        out.insert(
                            "services.nodeports".into(),
                            Quantity::from_int(ports.len() as i64),
                        );
                    }
                    Some("LoadBalancer") => {
                        let n = if obj.pointer("/spec/allocateLoadBalancerNodePorts")
                            == Some(&json!(false))
                        {
                            ports
                                .iter()
                                .filter(|p| p["nodePort"].as_i64().unwrap_or(0) > 0)
                                .count()
                        } else {
                            ports.len()
                        };
                        out.insert("services.nodeports".into(), Quantity::from_int(n as i64));
                        out.insert("services.loadbalancers".into(), one);
                    }
                    _ => {}
                }
            }
            Evaluator::Claim => {
                out.insert("count/persistentvolumeclaims".into(), one);
                out.insert("persistentvolumeclaims".into(), one);
                let class = obj
                    .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
                    .or_else(|| obj.pointer("/spec/storageClassName"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !class.is_empty() {
                    out.insert(
                        format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"),
                        one,
                    );
                }
                let requested = obj
                    .pointer("/spec/resources/requests/storage")
                    .and_then(parse_json);
                let allocated = obj
                    .pointer("/status/allocatedResources/storage")
                    .and_then(parse_json);
                let storage = match (requested, allocated) {
                    (Some(r), Some(a)) if a.nanos > r.nanos => Some(a),
                    (Some(r), _) => Some(r),
                    (None, a) => a,
                };
                if let Some(s) = storage {
                    out.insert("requests.storage".into(), s);
                    if !class.is_empty() {
                        out.insert(format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"), s);
                    }
                }
            }
            Evaluator::Count { name, legacy } => {
                out.insert(name.clone(), one);
                if let Some(l) = legacy {
                    out.insert(l.clone(), one);
                }
            }
        }
        out
    }

    /// Whether `obj` is in the scope `req` (only pods are in any scope).
    pub fn matches_scope(&self, req: &ScopeRequirement, obj: &Value) -> bool {
        if *self != Evaluator::Pod {
            return false;
        }
        let spec = &obj["spec"];
        let terminating = spec["activeDeadlineSeconds"]
            .as_i64()
            .is_some_and(|d| d >= 0);
        match req.scope.as_str() {
            "Terminating" => terminating,
            "NotTerminating" => !terminating,
            "BestEffort" => is_best_effort(obj),
            "NotBestEffort" => !is_best_effort(obj),
            "PriorityClass" => {
                let class = spec["priorityClassName"].as_str().unwrap_or("");
                match req.operator.as_str() {
                    "Exists" => !class.is_empty(),
                    "DoesNotExist" => class.is_empty(),
                    "In" => !class.is_empty() && req.values.iter().any(|v| v == class),
                    "NotIn" => class.is_empty() || !req.values.iter().any(|v| v == class),
                    _ => false,
                }
            }
            "CrossNamespacePodAffinity" => {
                let terms = |kind: &str| -> bool {
                    let a = &spec["affinity"][kind];
                    ["requiredDuringSchedulingIgnoredDuringExecution"]
                        .iter()
                        .flat_map(|k| a[*k].as_array().into_iter().flatten())
                        .chain(
                            a["preferredDuringSchedulingIgnoredDuringExecution"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|w| &w["podAffinityTerm"]),
                        )
                        .any(|t| {
                            t.get("namespaceSelector").is_some_and(|s| !s.is_null())
                                || t["namespaces"].as_array().is_some_and(|n| !n.is_empty())
                        })
                };
                terms("podAffinity") || terms("podAntiAffinity")
            }
            _ => false,
        }
    }

    /// `Matches`: the quota constrains something this evaluator measures and `obj` is in all
    /// of its scopes.
    pub fn matches(&self, quota: &Value, obj: &Value) -> bool {
        let hard = list_from_json(quota.pointer("/status/hard"));
        !self.matching_resources(hard.keys()).is_empty()
            && quota_scopes(quota)
                .iter()
                .all(|s| self.matches_scope(s, obj))
    }

    /// `Constraints`: a pod must state, in every container, the cpu and memory requests or
    /// limits a quota constrains (`must specify limits.cpu for: app; ...`).
    pub fn constraints(&self, required: &[String], obj: &Value) -> Result<(), String> {
        if *self != Evaluator::Pod {
            return Ok(());
        }
        let required: BTreeSet<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|r| POD_VALIDATION_SET.contains(r))
            .collect();
        let mut missing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for key in ["containers", "initContainers"] {
            for c in obj["spec"][key].as_array().into_iter().flatten() {
                let usage = pod_compute_usage(
                    &list_from_json(c.pointer("/resources/requests")),
                    &list_from_json(c.pointer("/resources/limits")),
                );
                for r in &required {
                    if !usage.contains_key(*r) {
                        missing
                            .entry(r.to_string())
                            .or_default()
                            .insert(c["name"].as_str().unwrap_or("").to_string());
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let parts: Vec<String> = missing
            .iter()
            .map(|(r, names)| {
                format!(
                    "{r} for: {}",
                    names.iter().cloned().collect::<Vec<_>>().join(",")
                )
            })
            .collect();
        Err(format!("must specify {}", parts.join("; ")))
    }
}

/// `QuotaV1Pod`: a pod's compute resources count until it ends.
fn pod_counts(pod: &Value) -> bool {
    !matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    )
}

/// `qos.GetPodQOS(pod) == BestEffort`: no container requests or limits cpu or memory.
fn is_best_effort(pod: &Value) -> bool {
    ["containers", "initContainers"].iter().all(|key| {
        pod["spec"][key].as_array().into_iter().flatten().all(|c| {
            ["requests", "limits"].iter().all(|k| {
                let l = list_from_json(c.pointer(&format!("/resources/{k}")));
                ["cpu", "memory"]
                    .iter()
                    .all(|r| l.get(*r).is_none_or(|q| q.nanos == 0))
            })
        })
    })
}

/// The pod's effective requests and limits (`resourcehelper.PodRequests`/`PodLimits`): the
/// sum over its containers, at least the largest init container, plus the overhead.
pub fn pod_requests_limits(pod: &Value) -> (ResourceList, ResourceList) {
    let of = |kind: &str| {
        let mut sum = ResourceList::new();
        for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
            sum = add_lists(
                &sum,
                &list_from_json(c.pointer(&format!("/resources/{kind}"))),
            );
        }
        for c in pod["spec"]["initContainers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for (k, q) in list_from_json(c.pointer(&format!("/resources/{kind}"))) {
                if sum.get(&k).is_none_or(|s| s.nanos < q.nanos) {
                    sum.insert(k, q);
                }
            }
        }
        add_lists(&sum, &list_from_json(pod.pointer("/spec/overhead")))
    };
    (of("requests"), of("limits"))
}

/// `podComputeUsageHelper`.
fn pod_compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("pods".into(), Quantity::from_int(1));
    for r in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(r) {
            out.insert(r.into(), *q);
            out.insert(format!("requests.{r}"), *q);
        }
        if let Some(q) = limits.get(r) {
            out.insert(format!("limits.{r}"), *q);
        }
    }
    for (k, q) in requests {
        if k.starts_with("hugepages-") {
            out.insert(k.clone(), *q);
            out.insert(format!("requests.{k}"), *q);
        } else if k.contains('/') && !k.starts_with("kubernetes.io/") && !k.starts_with("requests.")
        {
            out.insert(format!("requests.{k}"), *q);
        }
    }
    out
}

/// The outcome of [`check_request`]: the new `status.used` of each quota the request is
/// charged to, by index in the slice given.
pub type Charges = Vec<(usize, ResourceList)>;

/// `CheckRequest`: whether a create (`old` None) or update of `obj` fits the namespace's
/// `quotas`, and what it costs each of them. The error is upstream's message, to follow
/// `<resource> "<name>" is forbidden: `.
pub fn check_request(
    quotas: &[Value],
    ev: &Evaluator,
    obj: &Value,
    old: Option<&Value>,
) -> Result<Charges, String> {
    if old.is_some() && !ev.handles_update() {
        return Ok(vec![]);
    }
    let mut interesting = Vec::new();
    for (i, q) in quotas.iter().enumerate() {
        if !ev.matches(q, obj) {
            continue;
        }
        let name = q
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let hard = list_from_json(q.pointer("/status/hard"));
        let restricted = ev.matching_resources(hard.keys());
        ev.constraints(&restricted, obj)
            .map_err(|e| format!("failed quota: {name}: {e}"))?;
        let used = list_from_json(q.pointer("/status/used"));
        if restricted.iter().any(|r| !used.contains_key(r)) {
            let mut names: Vec<&str> = restricted.iter().map(String::as_str).collect();
            names.sort();
            return Err(format!(
                "status unknown for quota: {name}, resources: {}",
                names.join(",")
            ));
        }
        interesting.push(i);
    }
    if interesting.is_empty() {
        return Ok(vec![]);
    }
    let mut delta = ev.usage(obj);
    let negative: Vec<&str> = delta
        .iter()
        .filter(|(_, q)| q.nanos < 0)
        .map(|(k, _)| k.as_str())
        .collect();
    if !negative.is_empty() {
        return Err(format!(
            "quota usage is negative for resource(s): {}",
            negative.join(",")
        ));
    }
    if let Some(old) = old {
        let prev = ev.usage(old);
        for (k, q) in delta.iter_mut() {
            if let Some(p) = prev.get(k) {
                let d = q.sub(p);
                *q = if d.nanos < 0 { Quantity::ZERO } else { d };
            }
        }
    }
    delta.retain(|_, q| q.nanos != 0);
    if delta.is_empty() {
        return Ok(vec![]);
    }
    let mut charges = Vec::new();
    for i in interesting {
        let q = &quotas[i];
        let name = q
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let hard = list_from_json(q.pointer("/status/hard"));
        let used = list_from_json(q.pointer("/status/used"));
        let hard_names: BTreeSet<String> = hard.keys().cloned().collect();
        let requested = mask(&delta, &hard_names);
        let new_used = add_lists(&used, &requested);
        let exceeded: BTreeSet<String> = requested
            .keys()
            .filter(|k| new_used[*k].nanos > hard[*k].nanos)
            .cloned()
            .collect();
        if !exceeded.is_empty() {
            return Err(format!(
                "exceeded quota: {name}, requested: {}, used: {}, limited: {}",
                pretty(&mask(&requested, &exceeded)),
                pretty(&mask(&used, &exceeded)),
                pretty(&mask(&hard, &exceeded)),
            ));
        }
        charges.push((i, new_used));
    }
    Ok(charges)
}

/// The evaluators a quota's hard limits involve: the fixed core ones and one per `count/...`.
pub fn evaluators_for(hard: &ResourceList) -> Vec<(String, String, Evaluator)> {
    let mut out: Vec<(String, String, Evaluator)> = [
        ("", "pods"),
        ("", "services"),
        ("", "persistentvolumeclaims"),
        ("", "configmaps"),
        ("", "secrets"),
        ("", "replicationcontrollers"),
        ("", "resourcequotas"),
    ]
    .iter()
    .map(|(g, p)| (g.to_string(), p.to_string(), Evaluator::for_resource(g, p)))
    .collect();
    for k in hard.keys() {
        if let Some((g, p)) = Evaluator::for_count_name(k) {
            if !out.iter().any(|(og, op, _)| *og == g && *op == p) {
                let ev = Evaluator::for_resource(&g, &p);
                out.push((g, p, ev));
            }
        }
    }
    out.retain(|(_, _, ev)| !ev.matching_resources(hard.keys()).is_empty());
    out
}

/// The resource quota controller's `CalculateUsage`: `status.used` of `quota` (hard limits
/// taken from `spec.hard`) over the namespace's objects, which `objects` gives by (group,
/// plural) — `None` when the controller cannot see that resource (its usage is then left
/// out).
pub fn calculate_used<'a>(
    quota: &Value,
    objects: impl Fn(&str, &str) -> Option<Vec<&'a Value>>,
) -> ResourceList {
    let hard = list_from_json(quota.pointer("/spec/hard"));
    let hard_names: BTreeSet<String> = hard.keys().cloned().collect();
    let scopes = quota_scopes(quota);
    let mut used = ResourceList::new();
    for (g, p, ev) in evaluators_for(&hard) {
        let Some(objs) = objects(&g, &p) else {
            continue;
        };
        for r in ev.matching_resources(hard.keys()) {
            used.insert(r, Quantity::ZERO);
        }
        for o in objs {
            if scopes.iter().all(|s| ev.matches_scope(s, o)) {
                used = add_lists(&used, &mask(&ev.usage(o), &hard_names));
            }
        }
    }
    used
}
