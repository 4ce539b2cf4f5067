//! The kubelet's admission check on host ports: a pod that asks for a `hostPort` another pod on
//! this node already holds (same protocol, overlapping host IP) is rejected, phase Failed with
//! reason `NodePorts`, as upstream's kubelet does for pods bound to it directly (`nodeName`
//! set, no scheduler).

use std::collections::HashMap;

/// The reason and message (after `Pod was rejected: `) upstream's kubelet gives a rejected pod (`rejectPod` with the
/// `NodePorts` predicate's failure).
pub const REASON: &str = "NodePorts";
pub const MESSAGE: &str =
    "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports";

pub use ordo_api::host_ports::{of, HostPort};

/// The host ports held on this node, by pod UID.
#[derive(Default)]
pub struct HostPorts(HashMap<String, Vec<HostPort>>);

impl HostPorts {
    /// Takes the pod's host ports for it; false (taking nothing) if another pod holds one.
    pub fn claim(&mut self, uid: &str, wanted: Vec<HostPort>) -> bool {
        if wanted.is_empty() {
            return true;
        }
        let held = self
            .0
            .iter()
            .filter(|(u, _)| *u != uid)
            .flat_map(|(_, ps)| ps);
        let taken = ordo_api::host_ports::any_conflict(&wanted, held);
        if !taken {
            self.0.insert(uid.to_string(), wanted);
        }
        !taken
    }

    /// Frees what the pod held.
    pub fn release(&mut self, uid: &str) {
        self.0.remove(uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn pod(ports: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "ports": ports}]}
        }))
        .unwrap()
    }

    #[test]
    fn a_taken_host_port_is_refused_until_released() {
        let web = of(&pod(serde_json::json!([
            {"containerPort": 80},
            {"containerPort": 21017, "hostPort": 21017}
        ])));
        assert_eq!(web.len(), 1);
        let mut held = HostPorts::default();
        assert!(held.claim("a", web.clone()));
        assert!(
            held.claim("a", web.clone()),
            "a pod does not conflict with itself"
        );
        assert!(!held.claim("b", web.clone()));
        // Another protocol, or another specific address than a specific one, is free.
        let udp = of(&pod(
            serde_json::json!([{"containerPort": 1, "hostPort": 21017, "protocol": "UDP"}]),
        ));
        assert!(held.claim("c", udp));
        let specific = |ip: &str| {
            of(&pod(
                serde_json::json!([{"containerPort": 1, "hostPort": 8080, "hostIP": ip}]),
            ))
        };
        assert!(held.claim("d", specific("127.0.0.1")));
        assert!(held.claim("e", specific("127.0.0.2")));
        assert!(!held.claim("f", specific("127.0.0.1")));
        // 0.0.0.0 overlaps every address.
        assert!(!held.claim(
            "g",
            of(&pod(
                serde_json::json!([{"containerPort": 1, "hostPort": 8080}])
            ))
        ));
        held.release("a");
        assert!(held.claim("b", web));
        assert!(held.claim("h", Vec::new()));
    }
}
