//! DNS query packets into the cluster DNS's answer function.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ordo_api::k8s_openapi::api::core::v1::{Pod, Service};
use ordo_api::k8s_openapi::api::discovery::v1::EndpointSlice;
use ordo_dns::answer::respond;
use ordo_dns::proto::op::Message;
use ordo_dns::zone::{pod_entry, service_entry, slice_entry, Zone};
use serde_json::json;
use std::sync::OnceLock;

const DOMAIN: &str = "cluster.local";

fn zone() -> &'static Zone {
    static Z: OnceLock<Zone> = OnceLock::new();
    Z.get_or_init(|| {
        let svcs: Vec<Service> = serde_json::from_value(json!([
            {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"clusterIP": "10.96.3.4",
             "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
            {"metadata": {"name": "nginx", "namespace": "shop"}, "spec": {"clusterIP": "None",
             "ports": [{"name": "web", "port": 80}]}},
            {"metadata": {"name": "ext", "namespace": "shop"},
             "spec": {"type": "ExternalName", "externalName": "example.org."}}
        ]))
        .unwrap();
        let slices: Vec<EndpointSlice> = serde_json::from_value(json!([
            {"metadata": {"name": "nginx-1", "namespace": "shop",
              "labels": {"kubernetes.io/service-name": "nginx"}},
             "addressType": "IPv4",
             "endpoints": [{"addresses": ["10.244.0.5"], "hostname": "web-0",
                            "conditions": {"ready": true}}],
             "ports": [{"name": "web", "port": 8080, "protocol": "TCP"}]}
        ]))
        .unwrap();
        let pods: Vec<Pod> = serde_json::from_value(json!([
            {"metadata": {"name": "p", "namespace": "shop"},
             "status": {"phase": "Running", "podIP": "10.244.0.5"}}
        ]))
        .unwrap();
        let s: Vec<_> = svcs.iter().filter_map(service_entry).collect();
        let e: Vec<_> = slices.iter().filter_map(slice_entry).collect();
        let p: Vec<_> = pods.iter().filter_map(pod_entry).collect();
        Zone::build(DOMAIN, &s, &e, &p)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(req) = Message::from_vec(data) else {
        return;
    };
    if let Some(resp) = respond(zone(), DOMAIN, 1, &req) {
        let _ = resp.to_vec();
    }
});
