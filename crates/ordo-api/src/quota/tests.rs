use super::*;
use serde_json::json;

fn quota(name: &str, hard: Value, used: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": {"hard": hard.clone()}, "status": {"hard": hard, "used": used}})
}

fn pod(name: &str, cpu: Option<&str>) -> Value {
    let res = match cpu {
        Some(c) => {
            json!({"requests": {"cpu": c, "memory": "64Mi"}, "limits": {"cpu": c, "memory": "64Mi"}})
        }
        None => json!({}),
    };
    json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": "i", "resources": res}]}})
}

#[test]
fn pods_are_charged_and_refused_beyond_the_quota() {
    let q = quota(
        "compute",
        json!({"pods": "2", "requests.cpu": "1"}),
        json!({"pods": "1", "requests.cpu": "500m"}),
    );
    let charges = check_request(
        std::slice::from_ref(&q),
        &Evaluator::Pod,
        &pod("a", Some("250m")),
        None,
    )
    .unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(
        list_to_json(&charges[0].1),
        json!({"pods": "2", "requests.cpu": "750m"})
    );
    let err = check_request(
        std::slice::from_ref(&q),
        &Evaluator::Pod,
        &pod("b", Some("600m")),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err,
        "exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1"
    );
    let err = check_request(&[q], &Evaluator::Pod, &pod("c", None), None).unwrap_err();
    assert_eq!(
        err,
        "failed quota: compute: must specify requests.cpu for: app"
    );
}

#[test]
fn missing_limits_are_named_per_resource() {
    let q = quota(
        "q",
        json!({"limits.cpu": "2", "limits.memory": "1Gi"}),
        json!({"limits.cpu": "0", "limits.memory": "0"}),
    );
    let p = json!({"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "b", "resources": {"limits": {"memory": "10Mi"}}},
        {"name": "a"}]}});
    assert_eq!(
        check_request(&[q], &Evaluator::Pod, &p, None).unwrap_err(),
        "failed quota: q: must specify limits.cpu for: a,b; limits.memory for: a"
    );
}

#[test]
fn quotas_without_status_are_unknown_or_ignored() {
    let q = json!({"metadata": {"name": "q"}, "status": {"hard": {"pods": "1", "cpu": "1"}}});
    assert_eq!(
        check_request(&[q], &Evaluator::Pod, &pod("a", Some("1")), None).unwrap_err(),
        "status unknown for quota: q, resources: cpu,pods"
    );
    let fresh = json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "1"}}});
    assert!(
        check_request(&[fresh], &Evaluator::Pod, &pod("a", None), None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn services_claims_and_counts() {
    let q = quota(
        "objects",
        json!({"services.nodeports": "1", "requests.storage": "1Gi", "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1", "count/deployments.apps": "1", "configmaps": "1"}),
        json!({"services.nodeports": "0", "requests.storage": "0", "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "0", "count/deployments.apps": "1", "configmaps": "0"}),
    );
    let svc = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}});
    let svc_ev = Evaluator::for_resource("", "services");
    assert_eq!(
        check_request(std::slice::from_ref(&q), &svc_ev, &svc, None).unwrap_err(),
        "exceeded quota: objects, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1"
    );
    // An update that turns a ClusterIP Service into a NodePort one is charged the difference.
    let old = json!({"metadata": {"name": "s", "resourceVersion": "3"}, "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}});
    let new =
        json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}});
    let c = check_request(std::slice::from_ref(&q), &svc_ev, &new, Some(&old)).unwrap();
    assert_eq!(c[0].1["services.nodeports"].canonical(), "1");

    let claim = json!({"metadata": {"name": "c"}, "spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "2Gi"}}}});
    assert_eq!(
        check_request(std::slice::from_ref(&q), &Evaluator::Claim, &claim, None).unwrap_err(),
        "exceeded quota: objects, requested: requests.storage=2Gi, used: requests.storage=0, limited: requests.storage=1Gi"
    );
    let deploy = Evaluator::for_resource("apps", "deployments");
    assert_eq!(
        check_request(std::slice::from_ref(&q), &deploy, &json!({"metadata": {"name": "d"}}), None).unwrap_err(),
        "exceeded quota: objects, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1"
    );
    let cm = Evaluator::for_resource("", "configmaps");
    let c = check_request(&[q], &cm, &json!({"metadata": {"name": "x"}}), None).unwrap();
    assert_eq!(c[0].1["configmaps"].canonical(), "1");
}

#[test]
fn scopes_select_pods() {
    let mut q = quota("be", json!({"pods": "1"}), json!({"pods": "1"}));
    q["spec"]["scopes"] = json!(["BestEffort"]);
    // A pod with requests is not in the BestEffort scope: not charged.
    assert!(check_request(
        std::slice::from_ref(&q),
        &Evaluator::Pod,
        &pod("a", Some("1")),
        None
    )
    .unwrap()
    .is_empty());
    assert!(check_request(
        std::slice::from_ref(&q),
        &Evaluator::Pod,
        &pod("b", None),
        None
    )
    .is_err());
    // Scoped quotas never apply to other kinds.
    let cm = Evaluator::for_resource("", "configmaps");
    assert!(!cm.matches(&q, &json!({})));

    let mut pc = quota("high", json!({"pods": "0"}), json!({"pods": "0"}));
    pc["spec"]["scopeSelector"] = json!({"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]});
    let mut high = pod("h", None);
    high["spec"]["priorityClassName"] = json!("high");
    assert!(check_request(&[pc.clone()], &Evaluator::Pod, &high, None).is_err());
    assert!(check_request(&[pc], &Evaluator::Pod, &pod("l", None), None)
        .unwrap()
        .is_empty());
}

#[test]
fn the_controller_sums_what_the_quota_tracks() {
    let q = json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "10", "requests.memory": "1Gi", "services": "5", "count/jobs.batch": "2"}}});
    let pods = [
        pod("a", Some("100m")),
        pod("b", Some("100m")),
        json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"memory": "1Gi"}}}]}, "status": {"phase": "Succeeded"}}),
    ];
    let used = calculate_used(&q, |g, p| match (g, p) {
        ("", "pods") => Some(pods.iter().collect()),
        ("", "services") => Some(vec![]),
        _ => None,
    });
    assert_eq!(
        list_to_json(&used),
        json!({"pods": "2", "requests.memory": "128Mi", "services": "0"})
    );
}
