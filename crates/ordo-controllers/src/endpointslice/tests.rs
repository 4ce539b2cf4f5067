//! Unit tests of the EndpointSlice/Endpoints decisions.

use super::logic::*;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

fn svc(extra: serde_json::Value) -> Service {
    let mut v = json!({"metadata": {"name": "nginx", "namespace": "shop", "uid": "svc-uid", "labels": {"app": "nginx"}},
        "spec": {"clusterIP": "None", "selector": {"app": "nginx"}, "ports": [{"name": "web", "port": 80, "protocol": "TCP", "targetPort": "http"}]}});
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap()
}

fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn pod(name: &str, ip: &str, ready: bool) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "labels": {"app": "nginx"}},
        "spec": {"hostname": name, "subdomain": "nginx", "nodeName": "n1",
                 "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
    }))
    .unwrap()
}

#[test]
fn slices_hold_pods_with_resolved_ports_hostnames_and_conditions() {
    let s = svc(json!({}));
    let (a, b) = (
        pod("web-0", "10.244.0.6", true),
        pod("web-1", "10.244.0.5", false),
    );
    let other: Pod = serde_json::from_value(json!({"metadata": {"name": "x", "namespace": "shop", "labels": {"app": "other"}}, "status": {"podIP": "10.244.0.9"}})).unwrap();
    let out = desired_slices(&s, &[&a, &b, &other]);
    assert_eq!(out.len(), 1);
    let c = &out[0];
    assert_eq!(c.ports[0].port, Some(8080));
    assert_eq!(c.ports[0].name.as_deref(), Some("web"));
    // Sorted by address; hostname from spec.hostname because subdomain == service name.
    assert_eq!(c.endpoints[0].addresses, ["10.244.0.5"]);
    assert_eq!(c.endpoints[0].hostname.as_deref(), Some("web-1"));
    assert_eq!(
        c.endpoints[0].conditions.as_ref().unwrap().ready,
        Some(false)
    );
    assert_eq!(
        c.endpoints[1].conditions.as_ref().unwrap().ready,
        Some(true)
    );
    assert_eq!(
        c.endpoints[1].target_ref.as_ref().unwrap().name.as_deref(),
        Some("web-0")
    );
    assert_eq!(c.endpoints[1].node_name.as_deref(), Some("n1"));
    // publishNotReadyAddresses: every endpoint is ready.
    let p = svc(json!({"spec": {"publishNotReadyAddresses": true}}));
    assert!(desired_slices(&p, &[&a, &b])[0].endpoints.iter().all(|e| e
        .conditions
        .as_ref()
        .unwrap()
        .ready
        == Some(true)));
    // No pods: one placeholder.
    assert_eq!(desired_slices(&s, &[]), vec![SliceContent::default()]);
}

#[test]
fn hostname_only_for_matching_subdomain() {
    let other = svc(json!({"metadata": {"name": "other"}, "spec": {"selector": {"app": "nginx"}}}));
    assert_eq!(
        hostname_for(&pod("web-0", "10.244.0.5", true), &other),
        None
    );
    assert_eq!(
        hostname_for(&pod("web-0", "10.244.0.5", true), &svc(json!({}))).as_deref(),
        Some("web-0")
    );
}

#[test]
fn terminal_loopback_and_terminating_pods() {
    let s = svc(json!({}));
    let mut done = pod("a", "10.244.0.5", false);
    done.status.as_mut().unwrap().phase = Some("Succeeded".into());
    let host = pod("b", "127.0.0.1", true);
    assert!(desired_slices(&s, &[&done, &host])[0].endpoints.is_empty());
    let mut term = pod("c", "10.244.0.7", true);
    term.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    let e = &desired_slices(&s, &[&term])[0].endpoints[0];
    let c = e.conditions.as_ref().unwrap();
    assert_eq!(
        (c.ready, c.serving, c.terminating),
        (Some(false), Some(true), Some(true))
    );
    // The legacy Endpoints leave terminating pods out.
    assert!(endpoint_subsets(&s, &[&term]).is_empty());
}

#[test]
fn many_endpoints_are_cut_into_slices() {
    let s = svc(json!({}));
    let pods: Vec<Pod> = (0..250)
        .map(|i| {
            pod(
                &format!("p{i}"),
                &format!("10.244.{}.{}", i / 200, i % 200 + 2),
                true,
            )
        })
        .collect();
    let refs: Vec<&Pod> = pods.iter().collect();
    let out = desired_slices(&s, &refs);
    assert_eq!(
        out.iter().map(|c| c.endpoints.len()).collect::<Vec<_>>(),
        [100, 100, 50]
    );
}

fn existing(name: &str, c: &SliceContent, s: &Service) -> EndpointSlice {
    let mut es = new_slice(s, c);
    es.metadata.name = Some(name.into());
    es.metadata.resource_version = Some("7".into());
    es
}

#[test]
fn plan_keeps_reuses_creates_and_deletes() {
    let s = svc(json!({}));
    let (a, b) = (
        pod("web-0", "10.244.0.5", true),
        pod("web-1", "10.244.0.6", true),
    );
    let want = desired_slices(&s, &[&a, &b]);
    // Already right: nothing to do.
    assert!(plan_slices(&s, &[existing("nginx-aaaaa", &want[0], &s)], want.clone()).is_empty());
    // Stale content: the slice is updated in place.
    let old = desired_slices(&s, &[&a]);
    let acts = plan_slices(&s, &[existing("nginx-aaaaa", &old[0], &s)], want.clone());
    match &acts[..] {
        [SliceAction::Update(es)] => {
            assert_eq!(es.metadata.name.as_deref(), Some("nginx-aaaaa"));
            assert_eq!(es.metadata.resource_version.as_deref(), Some("7"));
            assert_eq!(es.endpoints.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    // None yet: created, with labels and owner.
    match &plan_slices(&s, &[], want.clone())[..] {
        [SliceAction::Create(es)] => {
            let l = es.metadata.labels.as_ref().unwrap();
            assert_eq!(l[SERVICE_NAME], "nginx");
            assert_eq!(l[MANAGED_BY], CONTROLLER_NAME);
            assert_eq!(l[HEADLESS], "");
            assert_eq!(l["app"], "nginx");
            let o = &es.metadata.owner_references.as_ref().unwrap()[0];
            assert_eq!(
                (o.kind.as_str(), o.uid.as_str(), o.controller),
                ("Service", "svc-uid", Some(true))
            );
            assert_eq!(es.metadata.generate_name.as_deref(), Some("nginx-"));
        }
        other => panic!("{other:?}"),
    }
    // One too many, and one owned by an older Service of the same name: both deleted.
    let mut foreign = existing("nginx-zzzzz", &want[0], &s);
    foreign.metadata.owner_references.as_mut().unwrap()[0].uid = "old".into();
    let acts = plan_slices(
        &s,
        &[
            existing("nginx-aaaaa", &want[0], &s),
            existing("nginx-bbbbb", &old[0], &s),
            foreign,
        ],
        want,
    );
    assert_eq!(
        acts,
        [
            SliceAction::Delete("nginx-zzzzz".into()),
            SliceAction::Delete("nginx-bbbbb".into())
        ]
    );
}

#[test]
fn endpoints_subsets_split_ready_and_not_ready() {
    let s = svc(json!({}));
    let (a, b) = (
        pod("web-0", "10.244.0.5", true),
        pod("web-1", "10.244.0.6", false),
    );
    let subsets = endpoint_subsets(&s, &[&b, &a]);
    assert_eq!(subsets.len(), 1);
    let ss = &subsets[0];
    assert_eq!(ss.addresses.as_ref().unwrap()[0].ip, "10.244.0.5");
    assert_eq!(
        ss.addresses.as_ref().unwrap()[0].hostname.as_deref(),
        Some("web-0")
    );
    assert_eq!(ss.not_ready_addresses.as_ref().unwrap()[0].ip, "10.244.0.6");
    assert_eq!(ss.ports.as_ref().unwrap()[0].port, 8080);
    let p = svc(json!({"spec": {"publishNotReadyAddresses": true}}));
    let ss = &endpoint_subsets(&p, &[&b, &a])[0];
    assert_eq!(ss.addresses.as_ref().unwrap().len(), 2);
    assert!(ss.not_ready_addresses.is_none());
    // A port the pod does not have leaves the pod out.
    let missing =
        svc(json!({"spec": {"ports": [{"name": "web", "port": 80, "targetPort": "nope"}]}}));
    assert!(endpoint_subsets(&missing, &[&a]).is_empty());
    // Numeric and absent targetPorts.
    let num = svc(
        json!({"spec": {"ports": [{"name": "a", "port": 80, "targetPort": 9000}, {"name": "b", "port": 81}]}}),
    );
    let ports: Vec<i32> = endpoint_subsets(&num, &[&a])[0]
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| p.port)
        .collect();
    assert_eq!(ports, [9000, 81]);
    assert_eq!(endpoints(&s, vec![]).metadata.labels.unwrap()[HEADLESS], "");
}

#[test]
fn apiserver_endpoints_and_host_address() {
    let k: Service = serde_json::from_value(json!({"metadata": {"name": "kubernetes", "namespace": "default"},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}})).unwrap();
    let (subsets, slice) = apiserver_endpoints(&k, "192.0.2.2".parse().unwrap()).unwrap();
    assert_eq!(subsets[0].ports.as_ref().unwrap()[0].port, 6443);
    assert_eq!(subsets[0].addresses.as_ref().unwrap()[0].ip, "192.0.2.2");
    assert_eq!(slice.ports[0].port, Some(6443));
    let fib = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 127.0.0.1\n        /32 host LOCAL\n     |-- 192.0.2.2\n        /32 host LOCAL\n     |-- 192.0.2.255\n        /32 link BROADCAST\n";
    assert_eq!(host_ipv4(fib), Some("192.0.2.2".parse().unwrap()));
    assert_eq!(host_ipv4("|-- 127.0.0.1\n   /32 host LOCAL\n"), None);
}

#[test]
fn endpoints_over_capacity_are_truncated_as_upstream() {
    use k8s_openapi::api::core::v1::{EndpointAddress, EndpointSubset};
    let addrs = |n: usize, base: usize| -> Option<Vec<EndpointAddress>> {
        Some(
            (0..n)
                .map(|i| EndpointAddress {
                    ip: format!("10.244.{}.{}", (base + i) / 250, (base + i) % 250),
                    ..Default::default()
                })
                .collect(),
        )
    };
    let subset = |ready: usize, not_ready: usize, base: usize| EndpointSubset {
        addresses: addrs(ready, base),
        not_ready_addresses: addrs(not_ready, base + ready),
        ports: None,
    };
    let len = |a: &Option<Vec<EndpointAddress>>| a.as_ref().map_or(0, Vec::len);
    // At capacity: nothing changes, no annotation.
    let mut at = vec![subset(600, 400, 0)];
    assert!(!truncate(&mut at, MAX_ENDPOINTS));
    let s = svc(json!({}));
    assert!(endpoints(&s, at.clone()).metadata.annotations.is_none());
    // Ready ones fit: all kept, the not-ready ones share what is left in proportion
    // (rounded up, the last subset gets the rest).
    let mut some = vec![subset(500, 300, 0), subset(300, 100, 1000)];
    assert!(truncate(&mut some, MAX_ENDPOINTS));
    assert_eq!(
        (len(&some[0].addresses), len(&some[0].not_ready_addresses)),
        (500, 150)
    );
    assert_eq!(
        (len(&some[1].addresses), len(&some[1].not_ready_addresses)),
        (300, 50)
    );
    // Too many ready ones: shared in proportion, every not-ready one dropped.
    let mut many = vec![subset(1500, 10, 0), subset(500, 0, 2000)];
    assert!(truncate(&mut many, MAX_ENDPOINTS));
    assert_eq!(
        (len(&many[0].addresses), len(&many[0].not_ready_addresses)),
        (750, 0)
    );
    assert_eq!(len(&many[1].addresses), 250);
    let ep = endpoints(&s, vec![subset(1200, 0, 0)]);
    assert_eq!(ep.metadata.annotations.unwrap()[OVER_CAPACITY], "truncated");
    assert_eq!(len(&ep.subsets.unwrap()[0].addresses), MAX_ENDPOINTS);
}
